#!/usr/bin/env node
// The `zerobuffer` command (see main.ts; `zerobuffer --help`).
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));

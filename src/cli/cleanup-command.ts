// `zerobuffer cleanup [names..]`: removes rings whose reader and writer are
// both dead; live rings are listed and left alone.
import { ZeroBufferError } from '../errors.js';
import { listRings, removeStaleRing } from '../rings.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import { say, type CliIo } from './io.js';
import type { CleanupArgs } from './parse-args.js';

export async function cleanupCommand(args: CleanupArgs, io: CliIo): Promise<ExitCode> {
  const wanted = args.names.length > 0 ? new Set(args.names) : undefined;
  let rings;
  try {
    rings = listRings().filter((r) => wanted === undefined || wanted.has(r.name));
  } catch (e) {
    if (!(e instanceof ZeroBufferError)) throw e;
    say(io.stderr, `zerobuffer cleanup: cannot list rings: ${e.message} (${e.code})`);
    return EXIT.ring;
  }
  const removed: string[] = [];
  const live: string[] = [];
  const failed: { name: string; error: string; code: string }[] = [];
  for (const r of rings) {
    if (!r.stale) {
      live.push(r.name);
      continue;
    }
    if (args.dryRun) {
      removed.push(r.name);
      continue;
    }
    try {
      removeStaleRing(r.name);
      removed.push(r.name);
    } catch (e) {
      if (!(e instanceof ZeroBufferError)) throw e;
      failed.push({ name: r.name, error: e.message, code: e.code });
    }
  }
  const missing = wanted === undefined ? [] : [...wanted].filter((n) => !rings.some((r) => r.name === n));
  if (args.json) {
    say(io.stdout, JSON.stringify({ dryRun: args.dryRun, removed, live, failed, missing }));
  } else {
    for (const n of removed) say(io.stdout, `${args.dryRun ? 'would remove' : 'removed'} ${n}`);
    for (const n of live) say(io.stdout, `live (kept) ${n}`);
    for (const n of missing) say(io.stdout, `not found ${n}`);
    for (const f of failed) say(io.stderr, `zerobuffer cleanup: ${f.name}: ${f.error} (${f.code})`);
    if (rings.length === 0 && missing.length === 0) say(io.stdout, 'no rings found');
  }
  return failed.length > 0 ? EXIT.ring : EXIT.ok;
}

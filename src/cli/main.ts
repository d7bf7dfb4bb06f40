// The CLI runner: parse, dispatch to a command, map failures to exit codes.
// SIGINT/SIGTERM/SIGHUP abort io.signal: the commands stop gracefully.
import { EXIT, type ExitCode } from './exit-codes.js';
import { say, type CliIo } from './io.js';
import { cleanupCommand } from './cleanup-command.js';
import { filterCommand } from './filter-command.js';
import { ingestCommand } from './ingest-command.js';
import { inspectCommand } from './inspect-command.js';
import { parseArgs } from './parse-args.js';
import { pluginPathCommand } from './plugin-path-command.js';
import { runCommand } from './run-command.js';
import { serveCommand } from './serve-command.js';
import { watchCommand } from './watch-command.js';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Runs the command line; resolves with the exit status. */
export async function main(argv: readonly string[], io?: Partial<CliIo>): Promise<ExitCode> {
  const stdout = io?.stdout ?? process.stdout;
  const stderr = io?.stderr ?? process.stderr;
  const parsed = await parseArgs(argv);
  if (parsed.kind === 'help') {
    say(stdout, parsed.text);
    return EXIT.ok;
  }
  if (parsed.kind === 'usage') {
    if (parsed.help) say(stderr, parsed.help);
    say(stderr, `\nzerobuffer: ${parsed.message}`);
    return EXIT.usage;
  }
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  if (io?.signal === undefined) for (const s of SIGNALS) process.on(s, onSignal);
  const full: CliIo = { stdout, stderr, signal: io?.signal ?? controller.signal };
  try {
    switch (parsed.kind) {
      case 'run':
        return await runCommand(parsed.args, full);
      case 'filter':
        return await filterCommand(parsed.args, full);
      case 'watch':
        return await watchCommand(parsed.args, full);
      case 'ingest':
        return await ingestCommand(parsed.args, full);
      case 'serve':
        return await serveCommand(parsed.args, full);
      case 'inspect':
        return await inspectCommand(parsed.args, full);
      case 'cleanup':
        return await cleanupCommand(parsed.args, full);
      case 'plugin-path':
        return await pluginPathCommand(full);
      default:
        return EXIT.usage;
    }
  } catch (e) {
    say(stderr, `zerobuffer: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return EXIT.internal;
  } finally {
    for (const s of SIGNALS) process.off(s, onSignal);
  }
}

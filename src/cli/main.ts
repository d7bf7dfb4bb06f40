// The CLI runner: parse, dispatch to a command, map failures to exit codes.
// signal (bin.ts aborts it on SIGINT/SIGTERM/SIGHUP) stops the commands
// gracefully.
import { EXIT, type ExitCode } from './exit-codes.js';
import { say, type CliIo } from './io.js';
import { cleanupCommand } from './cleanup-command.js';
import { filterCommand } from './filter-command.js';
import { ingestCommand } from './ingest-command.js';
import { inspectCommand } from './inspect-command.js';
import { parseArgs, type ParsedArgs } from './parse-args.js';
import { pluginPathCommand } from './plugin-path-command.js';
import { runCommand } from './run-command.js';
import { serveCommand } from './serve-command.js';
import { watchCommand } from './watch-command.js';

/** Runs the command line; resolves with the exit status. */
export async function main(argv: readonly string[], signal: AbortSignal): Promise<ExitCode> {
  const { stdout, stderr } = process;
  const parsed = await parseArgs(argv);
  // Stopped before a command started (a Ctrl-C while the modules loaded):
  // nothing to stop or clean up, so the status of any stop and nothing else.
  // A command handed an aborted signal would not see it: 'abort' has fired.
  await signalsDispatched();
  if (signal.aborted) return EXIT.ok;
  if (parsed.kind === 'help') {
    say(stdout, parsed.text);
    return EXIT.ok;
  }
  if (parsed.kind === 'usage') {
    say(stderr, `zerobuffer: ${parsed.message}`);
    say(stderr, parsed.help);
    return EXIT.usage;
  }
  // Our stdout closed under us (`| head`): nothing more can be said, so the
  // command stops as on Ctrl-C, where an unheard EPIPE would end the
  // process with a stack trace (and rings left behind). Any other write
  // error (a full disk) stops it too, as a failure.
  const stopped = new AbortController();
  const stop = (): void => stopped.abort();
  let outError: NodeJS.ErrnoException | undefined;
  signal.addEventListener('abort', stop, { once: true });
  stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') outError ??= e;
    stop();
  });
  const full: CliIo = { stdout, stderr, signal: stopped.signal };
  const status = await command(parsed, full);
  await new Promise((resolve) => setImmediate(resolve)); // a failed last write reports on a later tick
  if (outError === undefined) return status;
  say(stderr, `zerobuffer: cannot write to stdout: ${outError.message}`);
  return EXIT.internal;
}

async function command(parsed: Exclude<ParsedArgs, { kind: 'help' | 'usage' }>, full: CliIo): Promise<ExitCode> {
  const { stderr } = full;
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
  }
}

/**
 * Resolves once the event loop has polled after this call: a signal that
 * came during synchronous work (loading modules, parsing) reaches its
 * listener only there. One turn may be the one whose poll is already over.
 */
function signalsDispatched(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

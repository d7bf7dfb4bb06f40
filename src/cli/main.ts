// The CLI runner: parse, dispatch to a command, map failures to exit codes.
// signal (bin.ts aborts it on SIGINT/SIGTERM/SIGHUP) stops the commands
// gracefully. The help, --version, plugin-path and a usage error need no
// addon; any other command loads it (its module, and its parse when the
// command line names a ring), and rejects with EADDON when none loads.
import { addon } from './addon.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import { say, type CliIo } from './io.js';
import { parseArgs, type ParsedArgs } from './parse-args.js';

type Command = Exclude<ParsedArgs, { kind: 'help' | 'usage' }>;

/** Runs the command line; resolves with the exit status. */
export async function main(argv: readonly string[], signal: AbortSignal): Promise<ExitCode> {
  const { stdout, stderr } = process;
  const parsed = await parseArgs(argv);
  const run = parsed.kind === 'help' || parsed.kind === 'usage' ? undefined : await loadCommand(parsed);
  // Stopped before a command started (a Ctrl-C while the modules loaded):
  // nothing to stop or clean up, so the status of any stop, and (run and
  // filter with --json) the summary a program reading the lines relies on.
  // A command handed an aborted signal would not see it: 'abort' has fired.
  await signalsDispatched();
  const stoppedBeforeStart = signal.aborted;
  // Our stdout or stderr closed under us (`| head`, `2>&1 | head`, a terminal hung up): nothing
  // more can be said, so the command stops as on Ctrl-C, where an unheard
  // EPIPE would end the process with a stack trace (and rings left behind),
  // and its status stands (a failure's too). Any other write error (a full
  // disk) stops it too, as a failure, the help's too: said on stderr for
  // stdout's; for stderr's there is nowhere left to say it.
  const stopped = new AbortController();
  const stop = (): void => stopped.abort();
  // EIO from a terminal: it was hung up (its window closed), as good as closed
  const closed = (e: NodeJS.ErrnoException, stream: NodeJS.WriteStream): boolean =>
    e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED' || (e.code === 'EIO' && stream.isTTY);
  let outError: NodeJS.ErrnoException | undefined;
  let errFailed = false;
  signal.addEventListener('abort', stop, { once: true });
  stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (!closed(e, stdout)) outError ??= e;
    stop();
  });
  stderr.on('error', (e: NodeJS.ErrnoException) => {
    if (!closed(e, stderr)) errFailed = true;
    stop();
  });
  const told = async (status: ExitCode): Promise<ExitCode> => {
    await new Promise((resolve) => setImmediate(resolve)); // a failed last write reports on a later tick
    if (outError !== undefined) say(stderr, `zerobuffer: cannot write to stdout: ${outError.message}`);
    return outError === undefined && !errFailed ? status : EXIT.internal;
  };
  if (stoppedBeforeStart) {
    if (parsed.kind === 'run') (await import('./run-command.js')).stoppedBeforeStart(parsed.args, { stdout, stderr });
    if (parsed.kind === 'filter') (await import('./filter-command.js')).stoppedBeforeStart(parsed.args, { stdout });
    return told(EXIT.ok);
  }
  if (parsed.kind === 'help') {
    // every command would fail: said as a warning (the help names the core's defaults it cannot show)
    if (addon.error !== undefined) say(stderr, addon.error instanceof Error ? addon.error.message : String(addon.error));
    say(stdout, parsed.text);
    return told(EXIT.ok);
  }
  if (parsed.kind === 'usage') {
    say(stderr, `zerobuffer: ${parsed.message}`);
    say(stderr, parsed.help);
    return EXIT.usage;
  }
  const full: CliIo = { stdout, stderr, signal: stopped.signal };
  return told(await command(run!, full));
}

/** The command, its module loaded now (the commands need the addon). */
async function loadCommand(parsed: Command): Promise<(io: CliIo) => Promise<ExitCode>> {
  switch (parsed.kind) {
    case 'run':
      return (await import('./run-command.js')).runCommand.bind(undefined, parsed.args);
    case 'filter':
      return (await import('./filter-command.js')).filterCommand.bind(undefined, parsed.args);
    case 'watch':
      return (await import('./watch-command.js')).watchCommand.bind(undefined, parsed.args);
    case 'ingest':
      return (await import('./ingest-command.js')).ingestCommand.bind(undefined, parsed.args);
    case 'serve':
      return (await import('./serve-command.js')).serveCommand.bind(undefined, parsed.args);
    case 'inspect':
      return (await import('./inspect-command.js')).inspectCommand.bind(undefined, parsed.args);
    case 'cleanup':
      return (await import('./cleanup-command.js')).cleanupCommand.bind(undefined, parsed.args);
    case 'plugin-path':
      return (await import('./plugin-path-command.js')).pluginPathCommand;
  }
}

async function command(run: (io: CliIo) => Promise<ExitCode>, full: CliIo): Promise<ExitCode> {
  try {
    return await run(full);
  } catch (e) {
    say(full.stderr, `zerobuffer: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
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

#!/usr/bin/env node
// The `zerobuffer` command (see main.ts; `zerobuffer --help`).
// SIGINT/SIGTERM/SIGHUP stop the command gracefully (status 0). They are
// listened for before main.js loads: its imports and the command's (yargs,
// execa, the addon) take about half a second, and a Ctrl-C in them must stop
// the command as a later one does, not kill the process. The same listener
// serves the whole run, so no signal falls between two of them or reaches
// two; once the command is over it ends the process at once, with the
// command's status. An addon that does not load, or of another version, fails a command
// (EADDON): one line, not a stack; --help, --version, plugin-path and a
// usage error need none.
import fs from 'node:fs';
import tty from 'node:tty';
import { EXIT, type ExitCode } from './exit-codes.js';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/** How long a stop after Ctrl-C goes on before it says so, and that a second one kills (ms). */
const STOPPING_NOTE_MS = 1000;
const stop = new AbortController();
/** child-guard.js once loaded (with main.js, which starts children through it): none before. */
let children: typeof import('../runner/child-guard.js') | undefined;
/** Cancels the "stopping…" note's timer. */
let cancelStoppingNote: (() => void) | undefined;
let interrupted = false;
let over = false;
// Once the command is over, its status stands: a stop signal while its
// output is flushed ends the process with it (not by the signal, status
// 143), and process.exit() runs the exit handlers (cleanup.ts, child-guard.ts)
// for anything still open. The listener stays: without it a signal there
// would have its default effect.
// A SIGINT while a stop is under way (a second Ctrl-C) kills the children's
// groups and ends the process at once, status 0 as a stop's; the exit
// handlers still remove our rings. Only SIGINT: SIGTERM and SIGHUP come
// again without anyone asking (a parent's death signal comes once for each
// of its dying threads), and must not cut the stop short. Nor a SIGINT
// within SAME_INTERRUPT_MS of the first: the same interrupt sent twice, as
// GNU timeout does (to its child, then to the child's process group), not
// a person pressing Ctrl-C again.
const SAME_INTERRUPT_MS = 200;
let stoppedAt = 0;
const onStop = (signal: NodeJS.Signals): void => {
  if (over) process.exit();
  if (stop.signal.aborted) {
    if (signal !== 'SIGINT' || performance.now() - stoppedAt < SAME_INTERRUPT_MS) return;
    children?.killAllGroups();
    process.exitCode = EXIT.ok;
    process.exit();
  }
  interrupted = signal === 'SIGINT';
  stoppedAt = performance.now();
  stop.abort();
  if (children !== undefined) noteStopping();
};
for (const s of STOP_SIGNALS) process.on(s, onStop);

// A terminal hung up under us (its window closed: SIGHUP, then EIO on it).
// At exit Node 20 puts back the modes of each of fds 0-2 that was a
// terminal at its start, and aborts when that fails (nodejs/node#51519): a
// core dump, status 134 or 139, instead of the stop's status. It skips an
// fd that now refers to another file: /dev/null goes in the place of each
// that is no terminal any more (what is still written there is lost, as it
// was on the hung-up terminal; a file opened later cannot take the number).
const terminals = [0, 1, 2].filter((fd) => tty.isatty(fd));
process.on('exit', () => {
  for (const fd of terminals) {
    if (tty.isatty(fd)) continue;
    try {
      fs.closeSync(fd);
    } catch {
      continue; // closed already: Node skips it too
    }
    const opened = fs.openSync('/dev/null', 'r+'); // the lowest free number: fd, unless a thread took it in between
    if (opened !== fd) fs.closeSync(opened);
  }
});

/** After a Ctrl-C, says on stderr that the stop goes on once it takes more than a moment (not while main.js loads: no child to wait for). */
function noteStopping(): void {
  if (interrupted) {
    cancelStoppingNote = children!.scheduleTimer(() => process.stderr.write('zerobuffer: stopping… (Ctrl-C again to kill now)\n'),
      STOPPING_NOTE_MS, { unref: true });
  }
}

// Job control. The children run in sessions of their own (child-guard.ts),
// where the terminal's Ctrl-Z (SIGTSTP) does not reach them: a pipeline
// went on writing into a ring nobody read and failed once it stayed full.
// So a SIGTSTP stops their groups (SIGSTOP), then this process, by the
// default action put back for the time of it; kill() returns once we are
// continued (fg, bg), and the groups are continued after us (run's reader,
// filter's server, runs again by then). In an orphaned process group, where the kernel
// discards a SIGTSTP that would stop us, it returns at once and they go on
// at once. A SIGSTOP to this process cannot be caught: its children go on.
// The time stopped does not count for a stop's schedule (SIGTERM, SIGKILL)
// nor for the "stopping…" note: their timers are moved on by it, before the
// children are continued.
const onSuspend = (): void => {
  children?.signalAllGroups('SIGSTOP');
  const stoppedAt = performance.now();
  process.off('SIGTSTP', onSuspend);
  process.kill(process.pid, 'SIGTSTP');
  process.on('SIGTSTP', onSuspend);
  children?.postponeTimers(performance.now() - stoppedAt);
  children?.signalAllGroups('SIGCONT');
};
process.on('SIGTSTP', onSuspend);

const argv = process.argv.slice(2);
process.exitCode = await Promise.all([import('./main.js'), import('../runner/child-guard.js')]).then(([{ main }, guard]) => {
  children = guard;
  if (stop.signal.aborted) noteStopping();
  return main(argv, stop.signal);
}).catch(cannotStart);
over = true;
cancelStoppingNote?.();
// A filter's script may have left timers, sockets or workers running, which
// would keep the process for ever: it ends once its output is written.
await Promise.all([process.stdout, process.stderr].map((stream) => new Promise((done) => stream.write('', done))));
process.exit();

/**
 * The command could not run. No addon loads, or one of another version
 * (EADDON: its message says why and how to build it): one line, status 1.
 * Anything else is a bug: its stack, status 1.
 */
function cannotStart(e: unknown): ExitCode {
  if ((e as { code?: unknown } | undefined)?.code === 'EADDON') process.stderr.write(`${(e as Error).message}\n`); // it starts with "zerobuffer: "
  else process.stderr.write(`zerobuffer: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  return EXIT.internal;
}

// Rings must not outlive their process: open readers and writers are closed
// on exit, and on a signal that ends it (SIGINT, SIGTERM, SIGHUP, ...; one
// that nothing else listens for), whose default action then still runs.
// signal-exit does the listening: every library cleaning up on signals its
// way shares one listener, which re-raises once they are all done. Our own
// listener beside it deadlocked: each left the re-raise to the other, and
// the first SIGINT only closed the rings under a program that went on.
//
// signal-exit stops listening before it calls us, and the default action is
// back from then on, so the same signal arriving before the rings are
// unlinked would end the process with the rings still there. It does
// arrive: a parent's death signal (setpriv --pdeathsig) comes again each
// time the child is handed to another of the dying parent's threads. So
// while rings are open a SignalHold (signal-hold.cc) keeps the handler of
// the signals signal-exit listens for, released once the rings are closed.
// It is not a listener: signal-exit's count of listeners, which decides
// whether it acts, is unchanged.
//
// Signals the process ignores (Node starts with SIGXFSZ ignored, so that a
// write past RLIMIT_FSIZE fails with EFBIG) are not held: libuv puts back
// SIG_DFL, not the disposition it found, when its last handle of a signal
// stops, so holding SIGXFSZ then releasing it made it fatal from then on.
// The hold is made before signal-exit loads, while the disposition is still
// the process's own. signal-exit itself listens for SIGXFSZ while loaded (a
// SIGXFSZ then runs the cleanup and ends the process), and unloading it
// leaves SIG_DFL the same way: after the first ring closes, SIGXFSZ is
// fatal because of signal-exit, whatever the hold does.
//
// Rings of worker_threads: a worker hears no signal. The main thread's
// cleanup unlinks them too (unlinkRings: every open ring of the process,
// left working for the worker that still reads it, as the process ends),
// so a signal that ends the process removes a worker's rings when the main
// thread has rings of its own open. When it has none (or never loaded
// zerobuffer) they stay until the next reader's sweep: nothing of ours
// listens then, and a handler elsewhere (another thread) cannot tell a
// main thread that shuts down gracefully (a process.once listener, gone
// before it runs) from one that does not listen at all.
//
// A reader or writer dropped without close() is closed once garbage
// collected, with a warning naming its ring, as Node closes a FileHandle:
// its ring would otherwise stay until the process exits, its name taken
// (EEXIST) and its peer waiting for it. So what this module holds is the
// handle's closer (its native side, what closing needs), never the handle:
// a strong hold here kept every reader and writer reachable for ever (nor a
// WeakRef to it: each one kept a closed reader's memory for several more
// collections). At exit the closers close the rings; the handles' own state
// stays as it was, for the exit listeners that run after ours only, whose
// close() is then harmless.
import { constants } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { onExit } from 'signal-exit';
import { signals } from 'signal-exit/signals';
import { native } from './native.js';

/** What closes a handle's ring without the handle (so it keeps nothing of the handle reachable). */
export interface Closer {
  closeSync(): void;
}

/** The open handles' closers. */
const open = new Set<Closer>();
const dropped = new FinalizationRegistry<{ closer: Closer; what: string }>(({ closer, what }) => {
  if (!open.has(closer)) return;
  let failed = '';
  try {
    closer.closeSync();
  } catch (e) {
    failed = ` (closing failed: ${e instanceof Error ? e.message : String(e)})`; // told, not thrown: no caller to catch it
  }
  forget(closer);
  process.emitWarning(`Closing the ${what} on garbage collection: it was dropped without close() ` +
    `(close it, or in TypeScript declare it with \`await using\`)${failed}`, { code: 'ZEROBUFFER_UNCLOSED' });
});
let removeHandler: (() => void) | undefined;
let hold: { release(): void } | undefined;

/** The signals signal-exit listens for, by number (SIGIOT is SIGABRT, SIGPOLL is SIGIO). */
const heldSignals = new Map<number, NodeJS.Signals>();
for (const name of signals) {
  const signum = constants.signals[name as NodeJS.Signals];
  if (signum !== undefined && !heldSignals.has(signum)) heldSignals.set(signum, name as NodeJS.Signals);
}

function closeAll(): void {
  for (const closer of [...open]) {
    try {
      closer.closeSync();
    } catch {
      // exiting: nothing more to do
    }
  }
  open.clear();
  // The process ends: the workers' rings go too (a worker's own exit leaves the others alone).
  if (isMainThread) native.unlinkRings();
  releaseHold();
}

function releaseHold(): void {
  hold?.release();
  hold = undefined;
}

// A held signal that no listener hears (someone unloaded signal-exit) would
// otherwise be swallowed: it ends the process as its default action would.
function onHeldSignal(signum: number): void {
  const name = heldSignals.get(signum);
  if (name === undefined || process.listenerCount(name) > 0) return;
  closeAll();
  process.kill(process.pid, name);
}

/**
 * Registers a handle for `closer` to close at exit, or once the handle is
 * collected without close(), with a warning naming it (`what`: "reader of
 * ring \"NAME\""). The returned function unregisters it.
 */
export function closeAtExit(handle: object, closer: Closer, what: string): () => void {
  // Workers get no signals, and a worker's loop must end with no handles
  // open. The hold first: it skips the signals the process ignores (above).
  if (isMainThread) hold ??= new native.SignalHold([...heldSignals.keys()], onHeldSignal);
  removeHandler ??= onExit(closeAll);
  open.add(closer);
  dropped.register(handle, { closer, what }, closer);
  return () => {
    dropped.unregister(closer);
    forget(closer);
  };
}

function forget(closer: Closer): void {
  if (open.delete(closer) && open.size === 0) {
    removeHandler?.();
    removeHandler = undefined;
    releaseHold();
  }
}

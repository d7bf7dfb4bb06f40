// Rings must not outlive their process: open readers and writers are closed
// on exit, and on a signal that ends it (SIGINT, SIGTERM, SIGHUP, ...; one
// that nothing else listens for), whose default action then still runs.
// signal-exit does the listening: every library cleaning up on signals its
// way shares one listener, which re-raises once they are all done. Our own
// listener beside it deadlocked: each left the re-raise to the other, and
// the first SIGINT only closed the rings under a program that went on.
import { onExit } from 'signal-exit';

const open = new Set<{ closeSync(): void }>();
let removeHandler: (() => void) | undefined;

function closeAll(_code: number | null | undefined, signal: NodeJS.Signals | null): void {
  // signal-exit stops listening before it calls us and raises the signal
  // again after us, so the same signal arriving meanwhile would kill the
  // process with rings not yet unlinked. It does arrive: a parent's death
  // signal (setpriv --pdeathsig) comes again each time the child is handed
  // to another of the dying parent's threads. Repeats are absorbed while
  // the rings close; one that lands while signal-exit removes its own
  // listeners, before it calls us, still ends the process first (rarer:
  // the ring then waits for the next sweep).
  const absorb = (): void => {};
  if (signal) process.on(signal, absorb);
  try {
    for (const handle of [...open]) {
      try {
        handle.closeSync();
      } catch {
        // exiting: nothing more to do
      }
    }
    open.clear();
  } finally {
    if (signal) process.removeListener(signal, absorb);
  }
}

/** Registers a handle to close at exit; the returned function unregisters it. */
export function closeAtExit(handle: { closeSync(): void }): () => void {
  removeHandler ??= onExit(closeAll);
  open.add(handle);
  return () => {
    if (open.delete(handle) && open.size === 0) {
      removeHandler?.();
      removeHandler = undefined;
    }
  };
}

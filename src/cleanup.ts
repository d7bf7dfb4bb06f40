// Rings must not outlive their process: open readers and writers are closed
// on exit, and on SIGINT/SIGTERM/SIGHUP (after which the signal's default
// action runs, unless someone else listens for it).
const open = new Set<{ closeSync(): void }>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function closeAll(): void {
  for (const handle of [...open]) {
    try {
      handle.closeSync();
    } catch {
      // exiting: nothing more to do
    }
  }
  open.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  closeAll();
  uninstall();
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function install(): void {
  process.on('exit', closeAll);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstall(): void {
  process.off('exit', closeAll);
  for (const s of SIGNALS) process.off(s, onSignal);
}

/** Registers a handle to close at exit; the returned function unregisters it. */
export function closeAtExit(handle: { closeSync(): void }): () => void {
  if (open.size === 0) install();
  open.add(handle);
  return () => {
    if (open.delete(handle) && open.size === 0) uninstall();
  };
}

// Bounded and abortable waits.

/**
 * Runs a native wait that an AbortSignal can end: abort calls cancel(), the
 * wait rejects with signal.reason, and the listener is removed either way.
 */
export async function abortable<T>(signal: AbortSignal | undefined, wait: () => Promise<T>, cancel: () => void): Promise<T> {
  if (signal === undefined) return wait();
  signal.throwIfAborted();
  const stopListening = onAbort(signal, cancel);
  try {
    return await wait();
  } catch (e) {
    if (signal.aborted) throw signal.reason;
    throw e;
  } finally {
    stopListening();
  }
}

/**
 * Waits for p (its rejection ignored), at most ms. The timer is cleared
 * when p settles first, so it never keeps the process alive after the wait.
 */
export async function settledWithin(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => {}), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

/**
 * Calls fn when signal aborts, or at once when it has aborted already (its
 * 'abort' has fired then, so a listener would never run). Returns a remover
 * that takes the listener off; call it when the wait is over, as the signal
 * may outlive it. Each call registers its own listener, even for the same fn.
 */
export function onAbort(signal: AbortSignal, fn: () => void): () => void {
  if (signal.aborted) {
    fn();
    return () => {};
  }
  const listener = (): void => fn();
  signal.addEventListener('abort', listener, { once: true });
  return () => signal.removeEventListener('abort', listener);
}

// Runs a native wait that an AbortSignal can end: abort calls cancel(), the
// wait rejects with signal.reason, and the listener is removed either way.
export async function abortable<T>(signal: AbortSignal | undefined, wait: () => Promise<T>, cancel: () => void): Promise<T> {
  if (signal === undefined) return wait();
  signal.throwIfAborted();
  const onAbort = (): void => cancel();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await wait();
  } catch (e) {
    if (signal.aborted) throw signal.reason;
    throw e;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

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
 * The calls of one reader or writer that may wait in the addon, which takes
 * one wait at a time: a call made while another waits (or is queued) runs
 * after it, in call order, within its own timeout and signal.
 */
export class WaitQueue {
  /** Settles once every call queued so far is over (meaningful while #pending > 0). */
  #tail: Promise<unknown> | undefined;
  /** Calls whose promise has not settled yet (waiting in the addon or queued). */
  #pending = 0;
  /** Calls' waits for the peer going on (waitsForPeer()). */
  #peerWaits = 0;
  /** Queued looks that give up once a call before them waits for the peer; undefined: looks are not told apart. */
  readonly #looks: Set<() => void> | undefined;

  /**
   * peerWaitsTold: the calls' work tells its waits for the peer (a writer's
   * frame) through waitsForPeer(), and may do other work that takes time (a
   * turn of the event loop). A look (timeoutMs 0) queued behind such work
   * then looks once its turn comes: what it would get is not held back by a
   * peer. It gives up as soon as a call before it waits for the peer, as
   * nothing is ready for it then. Otherwise a queued look times out.
   */
  constructor(peerWaitsTold = false) {
    this.#looks = peerWaitsTold ? new Set() : undefined;
  }

  /**
   * A call waits in the addon or is queued. It turns false before the code
   * awaiting the last call's promise runs: a call made then runs at once.
   */
  get busy(): boolean {
    return this.#pending > 0;
  }

  /**
   * work(ms left of timeoutMs) at once when nothing waits, else after the
   * calls before it (TimeoutError from `timedOut` when the time runs out
   * first, or for a look once one of them waits for the peer; signal.reason
   * on abort). A work that finishes at once (not a promise, or `waiting()`
   * false once it started) costs no queueing.
   */
  run<T>(work: (timeoutMs: number) => T | Promise<T>, timeoutMs: number, signal: AbortSignal | undefined,
    timedOut: () => Error, waiting?: () => boolean): T | Promise<T> {
    const before = this.#pending > 0 ? this.#tail : undefined;
    let result: T | Promise<T>;
    if (before === undefined) {
      result = work(timeoutMs);
      if (!(result instanceof Promise) || waiting?.() === false) return result;
    } else {
      const look = timeoutMs === 0 && this.#looks !== undefined && this.#peerWaits === 0;
      const deadline = performance.now() + timeoutMs;
      result = settledBefore(before, look ? Infinity : timeoutMs, signal, look ? this.#looks : undefined).then((settled) => {
        signal?.throwIfAborted();
        const left = deadline - performance.now();
        if (!settled || (left <= 0 && !look)) throw timedOut();
        return work(Math.max(0, left));
      });
    }
    // A call that gave up while queued (timeout, abort) settles before the
    // one it queued behind: the next call waits for both.
    this.#tail = before === undefined ? result : Promise.allSettled([before, result]);
    this.#pending++;
    // attached before the caller awaits result, so it runs first
    const settle = (): void => {
      if (--this.#pending === 0) this.#tail = undefined;
    };
    result.then(settle, settle);
    return result;
  }

  /** A call's work waits for the peer until `wait` settles: the looks queued behind it give up. */
  waitsForPeer<T>(wait: Promise<T>): Promise<T> {
    for (const giveUp of this.#looks ?? []) giveUp();
    this.#peerWaits++;
    const over = (): void => {
      this.#peerWaits--;
    };
    wait.then(over, over);
    return wait;
  }
}

function noop(): void {}

/**
 * Whether p settled (never rejects) before ms passed (Infinity: no limit),
 * signal aborted, or a function put in `giveUps` was called.
 */
async function settledBefore(p: Promise<unknown>, ms: number, signal: AbortSignal | undefined,
  giveUps?: Set<() => void>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  let stopListening = noop;
  let giveUp = noop;
  const settled = await new Promise<boolean>((resolve) => {
    p.then(() => resolve(true), () => resolve(true));
    if (Number.isFinite(ms)) timer = setTimeout(() => resolve(false), Math.min(Math.ceil(ms), 2 ** 31 - 1));
    if (signal !== undefined) stopListening = onAbort(signal, () => resolve(false));
    giveUp = () => resolve(false);
    giveUps?.add(giveUp);
  });
  clearTimeout(timer);
  stopListening();
  giveUps?.delete(giveUp);
  return settled;
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

/** An abort listener and its signal, to take it off once its owner is gone. */
interface Listening {
  signal: AbortSignal;
  listener: () => void;
}
/** Owners dropped while they listened (a loop left without return()): once one is collected, its listener leaves the signal. */
const droppedOwners = new FinalizationRegistry<Listening>(({ signal, listener }) => signal.removeEventListener('abort', listener));

/** What cancel() is called on. */
interface Cancellable {
  cancel(): void;
}

/**
 * An abort listener that holds its owner weakly, or strongly while `strong`
 * is set. A class out here rather than a closure: one made where the owner
 * is made (inside a generator, or a method whose closures hold the owner's
 * state) keeps every variable of that scope alive, and a long-lived signal
 * would keep them all.
 */
class WeakListener {
  readonly ref: WeakRef<Cancellable>;
  strong: Cancellable | undefined;
  readonly listener = (): void => (this.strong ?? this.ref.deref())?.cancel();

  constructor(owner: Cancellable) {
    this.ref = new WeakRef(owner);
  }
}

/** The listener of onAbortWeakly(): take it off, or hold its owner strongly for a while. */
export interface WeakAbortListener {
  /** Takes the listener off the signal (owner's work is over). */
  stop(): void;
  /**
   * true: the listener holds owner strongly, false: weakly again. For a
   * wait that may depend on the abort alone to end: a wait on something
   * that cannot make progress by itself (an async generator waiting on an
   * event emitter no one else holds) is unreachable, and so is everything
   * awaiting it (the consumer's loop), so GC would collect the lot and the
   * abort would no longer end the loop. The price: an owner dropped during
   * such a wait stays until the signal aborts or is collected itself.
   */
  holdStrongly(strong: boolean): void;
}

/**
 * Calls owner.cancel() when signal aborts (at once when it has aborted
 * already), holding owner weakly: for what the signal may outlive and its
 * user may drop without ending it (an iterator left without return()).
 * Once owner is collected, the listener leaves the signal; when owner's work
 * ends, call stop(). Nothing the signal holds may hold owner: keep what this
 * returns with owner, not in what outlives it.
 */
export function onAbortWeakly(signal: AbortSignal, owner: Cancellable): WeakAbortListener {
  if (signal.aborted) {
    owner.cancel();
    return { stop: () => {}, holdStrongly: () => {} };
  }
  const weak = new WeakListener(owner);
  const listener = weak.listener;
  signal.addEventListener('abort', listener, { once: true });
  droppedOwners.register(owner, { signal, listener }, owner);
  return {
    stop: () => {
      weak.strong = undefined;
      droppedOwners.unregister(owner);
      signal.removeEventListener('abort', listener);
    },
    holdStrongly: (strong) => {
      weak.strong = strong ? owner : undefined;
    },
  };
}

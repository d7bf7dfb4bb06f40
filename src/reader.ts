// The reading side: creates a ring, hands out frames as zero-copy views,
// ends at end of stream, and unlinks the ring on close or exit. Frames come
// from the addon in batches (every frame ready when it looks, in one hop);
// next() hands them out one at a time.
import { abortable, onAbortWeakly, WaitQueue, type WeakAbortListener } from './abort.js';
import { closeAtExit, type Closer } from './cleanup.js';
import { fromNative, RingError, TimeoutError, wrapNative, WriterGoneError, ZeroBufferError } from './errors.js';
import { capsAttribute } from './frame-attributes.js';
import { Frame } from './frame.js';
import { frameSizeRule } from './frame-size.js';
import { parseMetadata, type Metadata } from './metadata.js';
import { native, type NativeReader, type RingBand, type WaitPath } from './native.js';
import {
  nativeTimeout, READER_OPTIONS, refuseUnknownOptions, validateMode, validateName, validateOptions, validateSignal, validateSize,
  validateTimeout, WAIT_OPTIONS,
  type ReaderOptions, type WaitOptions,
} from './options.js';

export interface ReaderStats {
  name: string;
  /** Frames handed out by this reader. */
  frames: number;
  /** Payload ring in use, percent. */
  utilisationPercent: number;
  /** Its band: healthy below 80 %, degraded to 95 %, critical above (the core's). */
  band: RingBand;
  /** Bytes of the ring's metadata block, as created (the size asked for, rounded up to 64; 0: none). */
  metadataSize: number;
  /** Bytes of the payload ring, as created (the size asked for, rounded up to 64). */
  payloadSize: number;
  payloadFreeBytes: number;
  writePos: number;
  readPos: number;
  writtenCount: number;
  readCount: number;
  /**
   * Frames written and not read yet, found from the frame headers (the
   * counts above drift one apart per small tail a writer counts and the
   * reader skips: docs/PROTOCOL.md §6).
   */
  framesUnread: number;
  writerPid: number;
  writerAlive: boolean;
  readerPid: number;
  readerAlive: boolean;
  /**
   * Frames handed out that still hold ring space: zero-copy views neither
   * released nor garbage-collected yet. Copied frames hold none and are not
   * counted; nor is the batch not handed out yet (see `batched`). The
   * ring's framesHeld (writer.stats(), inspectRing()) counts all frames
   * whose room is not back, those released behind a held one too.
   */
  heldFrames: number;
  /** Frames taken from the ring into this reader's batch (read, by the ring's counts) and not handed out yet. */
  batched: number;
}

/** A frame header's time, or undefined for "none" (-1 from the addon). */
function orNone(v: number): number | undefined {
  return v >= 0 ? v : undefined;
}

/** Frames one hop from the addon can bring. */
const BATCH = 64;
/**
 * How long (ms) reads may go on handing out frames that are already there,
 * each in a microtask, before one of them lets the event loop turn (timers,
 * I/O, signals): a backlog of frames would otherwise keep it from turning
 * until the backlog is gone.
 */
const TURN_MS = 10;
/** A promise settled after the event loop turned once. */
const loopTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
/** What async generators inherit ([Symbol.asyncIterator] and, where the runtime has it, [Symbol.asyncDispose]). */
const AsyncIteratorPrototype: object = Object.getPrototypeOf(Object.getPrototypeOf(async function* () {}).prototype);
const F = native.frameFields;
/** frames()'s end, shared by every loop: consumers only read a result, and frozen, none can change it for another. */
const DONE: IteratorReturnResult<void> = Object.freeze({ value: undefined, done: true });

/**
 * Closes a reader's native side, giving back the frames of its batch not
 * handed out (a view of the batch is set to undefined as it is handed out):
 * closeSync()'s work, and cleanup.ts's at exit or for a reader collected
 * unclosed, so it must not reference the reader.
 */
class ReaderCloser implements Closer {
  constructor(readonly native: NativeReader, readonly fields: Float64Array, readonly views: (ArrayBuffer | undefined)[]) {}

  closeSync(): void {
    for (let i = 0; i < this.views.length; i++) {
      const view = this.views[i];
      if (view === undefined) continue;
      this.native.release(this.fields[i * F.count + F.lease]!, view);
      this.views[i] = undefined;
    }
    this.native.close();
  }
}

export class ZeroBufferReader implements AsyncDisposable {
  readonly name: string;
  /** The reads' timeoutMs (ms; Infinity: no limit, also when -1 was given). */
  readonly timeoutMs: number;
  readonly #native: NativeReader;
  readonly #closer: ReaderCloser;
  readonly #unregister: () => void;
  /** The batch: the addon fills them, next() hands out [#next, #taken). */
  readonly #fields: Float64Array;
  readonly #views: (ArrayBuffer | undefined)[];
  #taken = 0;
  #next = 0;
  #metadata?: Metadata;
  /** The metadata with the caps of the last frame that carried its own (capsAttribute). */
  #framesCaps?: { caps: string; metadata: Metadata };
  #frames = 0;
  /** #frames at the last end of a stream: none came since when it is still #frames. */
  #framesAtEnd = 0;
  #closed = false;
  /**
   * frames() releases the frames of a batch as it goes: their bytes go back
   * together, when the batch is done or the event loop turns (a waiting
   * writer is woken once, not per frame).
   */
  #releaseLater = false;
  #givingBack = false;
  /**
   * When the event loop last ran one of our reads (a wait that resolved, or
   * a turn let through); 0: a wait just resolved, the clock is read at the
   * next #turnDue() (off the frame's way to the caller).
   */
  #turnedAt = 0;
  /**
   * Reads' waits in the addon (next() and frames() loops) and their turns of
   * the event loop: one at a time, in call order. A look (timeoutMs 0)
   * queued behind a turn looks once its turn comes.
   */
  readonly #reads = new WaitQueue(true);
  /** Created with metadataSize 0: no metadata ever comes. */
  readonly #noMetadataBlock: boolean;

  private constructor(nativeReader: NativeReader, fields: Float64Array, views: (ArrayBuffer | undefined)[],
    timeoutMs: number, noMetadataBlock: boolean) {
    this.#native = nativeReader;
    this.#noMetadataBlock = noMetadataBlock;
    this.#fields = fields;
    this.#views = views;
    this.name = nativeReader.name;
    this.timeoutMs = timeoutMs;
    this.#closer = new ReaderCloser(nativeReader, fields, views);
    this.#unregister = closeAtExit(this, this.#closer, `reader of ring "${this.name}"`);
  }

  /** Creates the ring as its reader (the name defaults to a fresh UUID). */
  static async create(options: ReaderOptions): Promise<ZeroBufferReader> {
    if (typeof options !== 'object' || options === null)
      throw new TypeError(`options must be an object, received ${options === null ? 'null' : typeof options}`);
    refuseUnknownOptions(options, READER_OPTIONS);
    const name = validateName(options.name);
    // 0: no metadata block, as peers make rings of raw bytes (a writer with metadata cannot use it)
    const metadataSize = validateSize('metadataSize', options.metadataSize, 0);
    const payloadSize = validateSize('payloadSize', options.payloadSize, 1);
    const timeoutMs = validateTimeout('timeoutMs', options.timeoutMs, Infinity);
    const mode = validateMode(options.mode);
    const fields = new Float64Array(F.count * BATCH);
    const views: (ArrayBuffer | undefined)[] = [];
    const wanted: WaitPath = process.env.ZEROBUFFER_NO_URING === '1' ? 'thread'
      : process.env.ZEROBUFFER_URING_SIGNAL === '1' ? 'io_uring-signal' : 'io_uring';
    const r = wrapNative(() => new native.Reader(name, metadataSize, payloadSize, mode, fields, views, wanted));
    return new ZeroBufferReader(r, fields, views, timeoutMs, metadataSize === 0);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Where a read sleeps while no frame is there: `'io_uring'` (the event loop
   * itself waits on the ring's semaphore, Linux 6.7 and later: one wake-up
   * less per frame; the writer's post wakes it through an eventfd),
   * `'io_uring-signal'` (the same, woken by task work signalled to the loop:
   * a second epoll_wait per frame; where the kernel refuses the eventfd way
   * or signals the eventfd late, or ZEROBUFFER_URING_SIGNAL=1) or `'thread'`
   * (the reader's wait thread: where io_uring is refused, or
   * ZEROBUFFER_NO_URING=1).
   */
  get waitPath(): WaitPath {
    return this.#native.waitPath;
  }

  /**
   * Frames are views over the ring (false: the copying fallback, where each
   * frame's bytes are copied out, frame.copied, and it holds no ring room:
   * ZEROBUFFER_FORCE_COPY=1 in this thread's process.env when the addon
   * loaded (a worker's is its own, its `env` option), or a runtime that
   * refuses external ArrayBuffers, such as Electron's V8 sandbox).
   */
  get zeroCopy(): boolean {
    return native.zeroCopy;
  }

  /**
   * The metadata, once a writer has written it (undefined before). Throws
   * RingError EMSGSIZE, as next() does, once a writer whose metadata did not
   * fit the block left its note there instead (docs/PROTOCOL.md §9.5), and
   * ProtocolError EPROTO, as every read does then, while the block does not
   * add up (its length prefix or written count).
   */
  get metadata(): Metadata | undefined {
    if (this.#metadata === undefined && !this.#closed) {
      const bytes = wrapNative(() => this.#native.metadata());
      if (bytes.byteLength > 0) this.#metadata = parseMetadata(new Uint8Array(bytes));
    }
    return this.#metadata;
  }

  /**
   * Waits until a writer has written the metadata (polls every 5 ms);
   * WriterGoneError (EWRITERDEAD) when a writer died before it wrote any,
   * RingError (EMSGSIZE, the block size it needed) when its metadata did not
   * fit the ring's block and it left, or at once when the ring has no
   * metadata block (metadataSize 0: no metadata ever comes);
   * ZeroBufferError (ESTATE) when the reader is closed, before or during
   * the wait.
   */
  async waitForMetadata(options?: WaitOptions): Promise<Metadata> {
    options = validateOptions(options, WAIT_OPTIONS);
    const signal = validateSignal(options.signal);
    const timeoutMs = validateTimeout('timeoutMs', options.timeoutMs, this.timeoutMs);
    if (this.#closed) throw new ZeroBufferError(`ring "${this.name}" is closed`, { code: 'ESTATE' });
    if (this.#noMetadataBlock)
      throw new RingError(`ring "${this.name}" has no metadata block (metadataSize 0): no writer can write metadata ` +
        'into it; create the ring with a metadataSize for the writer\'s metadata (zerosink\'s caps: 4096)', { code: 'EMSGSIZE' });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      signal?.throwIfAborted();
      if (this.#closed) throw new ZeroBufferError(`ring "${this.name}" is closed`, { code: 'ESTATE' });
      const m = this.metadata;
      if (m !== undefined) return m;
      // a writer that died before it wrote any: metadata comes from the next writer only
      const s = wrapNative(() => this.#native.health());
      if (s.writerPid !== 0 && !s.writerAlive)
        throw new WriterGoneError(`ring "${this.name}": its writer (pid ${s.writerPid}) died before it wrote the metadata`,
          { code: 'EWRITERDEAD' });
      if (Date.now() >= deadline)
        throw new TimeoutError(`ring "${this.name}": no metadata within ${timeoutMs} ms`, { code: 'ETIMEDOUT' });
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, 5);
        function done(): void {
          signal?.removeEventListener('abort', done);
          clearTimeout(t);
          resolve();
        }
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  }

  /**
   * The next frame, or null at end of stream (the writer detached and every
   * frame was read) or once the reader is closed. Throws TimeoutError,
   * WriterGoneError, ProtocolError, RingError EMSGSIZE (a writer's metadata
   * did not fit, or a stream ended without a frame because its raw video
   * caps can never fit the ring); rejects with signal.reason on abort.
   * The caller releases the frame (frames() does it for you): its `data` is
   * valid until then. Calls made while another read waits for a frame (a
   * next() or a frames() loop) get the frames after it, in call order, each
   * within its own timeout and signal. One with timeoutMs 0 queued behind
   * reads that do not wait for a writer (a turn of the event loop) looks
   * once they are done; once one of them waits for a writer, nothing is
   * ready for it: TimeoutError.
   */
  async next(options?: WaitOptions): Promise<Frame | null> {
    options = validateOptions(options, WAIT_OPTIONS);
    const signal = validateSignal(options.signal);
    const timeoutMs = validateTimeout('timeoutMs', options.timeoutMs, this.timeoutMs);
    signal?.throwIfAborted();
    let ready: boolean | Promise<boolean>;
    try {
      ready = this.#ready(1, timeoutMs, signal, (waitMs) =>
        abortable(signal, () => this.#native.wait(nativeTimeout(waitMs), 1), () => this.#native.cancel()));
      if (ready instanceof Promise) ready = await ready;
    } catch (e) {
      return this.#endOf(e, timeoutMs);
    }
    return ready ? this.#handOut() : null;
  }

  /**
   * A frame in the batch for one read (next(), or a step of a frames()
   * loop), in call order with the reader's other reads: true when the
   * caller may take #handOut() now (nothing runs before it does),
   * false at the end of the stream or once closed. A frame of the batch
   * first, else up to `max` frames the ring has ready, else `wait(ms)`, the
   * addon's wait for them; a read made while another waits (or is queued)
   * runs after it, within its own timeout and signal.
   */
  #ready(max: number, timeoutMs: number, signal: AbortSignal | undefined,
    wait: (waitMs: number) => Promise<number | null>): boolean | Promise<boolean> {
    if (this.#closed) return false;
    const busy = this.#reads.busy;
    // due for frames of the batch too: a frames() loop hands out up to BATCH of them before it takes more
    const turn = !busy && this.#turnDue();
    if (!busy && !turn && this.#next < this.#taken) return true;
    // A turn of the event loop is part of the read: reads made meanwhile queue behind it, and so keep their order.
    const work = turn
      ? (waitMs: number) => loopTurn().then(() => {
        signal?.throwIfAborted();
        return this.#fill(max, waitMs, wait);
      })
      : (waitMs: number) => this.#fill(max, waitMs, wait);
    return this.#reads.run(work, timeoutMs, signal,
      () => new TimeoutError(`ring "${this.name}": no frame within ${timeoutMs} ms (reads before it were waiting)`,
        { code: 'ETIMEDOUT' }));
  }

  /** #ready()'s work once the reads before it are over: the batch, the ring, or the addon's wait. */
  #fill(max: number, waitMs: number, wait: (waitMs: number) => Promise<number | null>): boolean | Promise<boolean> {
    if (this.#closed) return false;
    if (this.#next < this.#taken) return true; // what the read before this one took and left
    const taken = this.#native.take(max);
    if (taken !== 0) return this.#startBatch(taken);
    // Promise.resolve: the addon's promise may come from another realm (jest's vm), where instanceof Promise is false
    return this.#reads.waitsForPeer(Promise.resolve(wait(waitMs))).then((t) => {
      this.#turnedAt = 0;
      return this.#startBatch(t);
    });
  }

  /** Reads have handed out ready frames for TURN_MS without the event loop turning (then it turns, and the clock restarts). */
  #turnDue(): boolean {
    const now = performance.now();
    if (this.#turnedAt === 0) this.#turnedAt = now;
    if (now - this.#turnedAt <= TURN_MS) return false;
    this.#turnedAt = now;
    return true;
  }

  /**
   * A read's error: null for the end of the stream (EOF), else thrown as a
   * ZeroBufferError. With timeoutMs 0 the addon looks without waiting and
   * answers EAGAIN when no frame is ready: the timeout the option promises.
   */
  #endOf(e: unknown, timeoutMs: number): null {
    const err = fromNative(e);
    if (err instanceof ZeroBufferError && err.code === 'EOF') {
      if (this.#frames === this.#framesAtEnd) this.#checkFramesFit(err);
      this.#framesAtEnd = this.#frames;
      return null;
    }
    if (timeoutMs === 0 && err instanceof ZeroBufferError && err.code === 'EAGAIN')
      throw new TimeoutError(`ring "${this.name}": no frame within 0 ms`, { code: 'ETIMEDOUT', cause: err });
    throw err;
  }

  /**
   * A stream that ended without a frame because none of its raw video caps
   * can ever fit the ring: its writer was refused its first frame
   * (EMSGSIZE) and left. Thrown as RingError EMSGSIZE naming the payload
   * size needed, as the writer's error does, instead of an end of stream.
   * With the frame header declared too, as zerosrc judges it once the
   * writer left without a frame: its first frame had the metadata's caps,
   * and the header's bytes go with it.
   */
  #checkFramesFit(eof: ZeroBufferError): void {
    const metadata = this.metadata;
    const rule = metadata?.capsString !== undefined ? frameSizeRule(metadata.capsString) : undefined;
    if (rule?.kind !== 'video') return;
    const header = metadata?.frameHeader === true ? native.frameHeaderSize : 0;
    const largest = wrapNative(() => this.#native.maxFrameSize());
    if (rule.size + header <= largest) return;
    throw new RingError(`ring "${this.name}": frames of ${rule.size} bytes (${rule.format} ${rule.width}x${rule.height})` +
      `${header > 0 ? ` and the frame header's ${header}` : ''} can never fit it (largest frame: ${largest} bytes), so its ` +
      `writer left without one; create the ring with a payloadSize of at least ${native.payloadSizeFor(rule.size, 1, header > 0)}`,
    { code: 'EMSGSIZE', cause: eof });
  }

  /** The addon took `taken` frames into the batch; false at the end (null: closed). */
  #startBatch(taken: number | null): boolean {
    if (taken === null || this.#closed) return false;
    this.#taken = taken;
    this.#next = 0;
    return true;
  }

  /**
   * The batch's next frame, as a Frame (its view leaves the batch). The
   * metadata is read first: when it throws (a block that does not add up)
   * the frame stays in the batch, so every read throws it again and none
   * is lost, until the block is right.
   */
  #handOut(): Frame {
    const metadata = this.#metadata ?? this.metadata;
    const i = this.#next++;
    const x = this.#fields;
    const o = i * F.count;
    const buffer = this.#views[i]!;
    this.#views[i] = undefined;
    const header = x[o + F.hasHeader] === 1;
    const attrsSize = x[o + F.attrsSize]!;
    // a copy: frame.attributes may be read after release
    const attributeBytes = attrsSize > 0 ? new Uint8Array(buffer, 0, attrsSize).slice() : undefined;
    this.#frames++;
    return new Frame(this, {
      ticket: x[o + F.lease]!,
      sequence: x[o + F.sequence]!,
      data: attrsSize > 0 ? new Uint8Array(buffer, attrsSize) : new Uint8Array(buffer),
      copied: x[o + F.copied] === 1,
      arrivalNs: x[o + F.arrivalNs]!,
      pts: header ? orNone(x[o + F.pts]!) : undefined,
      dts: header ? orNone(x[o + F.dts]!) : undefined,
      duration: header ? orNone(x[o + F.duration]!) : undefined,
      commitNs: header ? x[o + F.commitNs] : undefined,
      flags: header ? x[o + F.flags] : undefined,
      zbFlags: header ? x[o + F.zbFlags] : undefined,
      inPlace: header && (x[o + F.zbFlags]! & native.extInPlace) !== 0,
      attributeBytes,
      metadata: attributeBytes === undefined ? metadata : this.#metadataOf(attributeBytes),
    });
  }

  /**
   * The metadata as of a frame with attributes: the ring's, with the
   * frame's own caps when it carries them (a writer whose caps changed after
   * the metadata was written once, zerosink or zerofilter
   * frame-header=true, or a later zerosink with other caps), so that
   * frame.caps, videoInfo and image() describe that frame.
   */
  #metadataOf(attributeBytes: Uint8Array): Metadata | undefined {
    const ring = this.metadata;
    const caps = capsAttribute(attributeBytes);
    if (caps === undefined || ring?.json === undefined) return ring;
    if (this.#framesCaps?.caps !== caps) {
      const json = JSON.stringify({ ...ring.json, caps });
      this.#framesCaps = { caps, metadata: parseMetadata(new TextEncoder().encode(json), 'the frame\'s caps (its header\'s caps attribute)') };
    }
    return this.#framesCaps.metadata;
  }

  /**
   * Iterates frames until end of stream, close() or abort (which end the
   * loop quietly: no error, unlike Node's own iterators, which throw an
   * AbortError; check signal.aborted after the loop). Each frame is
   * released when the loop moves on, unless frame.retain() was called.
   * When several frames are ready, one hop to the addon takes them all
   * (next() takes one at a time). The loop's reads queue with the reader's
   * other reads (next() calls, other loops) in call order, each frame going
   * to one of them: the frames a loop took in a batch go to the reads
   * queued behind it first.
   */
  frames(options?: WaitOptions): AsyncGenerator<Frame, void, undefined> {
    // Hand-written rather than an async generator: a frame already in the
    // batch costs one resolved promise, not the generator's request queue
    // and awaits (1 KiB frames written beforehand, then read: 2.1-2.6 µs a
    // frame instead of 2.9-3.1). It keeps a generator's behaviour: the options
    // are read on the first next(), one read runs at a time (a next() made
    // meanwhile waits for it), return() and throw() end it, and the frame
    // the loop holds is released when the loop moves on or ends. Its reads
    // go through #ready() like next()'s; one abort listener for the whole
    // loop ends its wait in the addon (cancel() does nothing while the loop
    // is queued, or another read waits there: the queue's own listener ends
    // a queued read).
    // A loop dropped without return() is undone once collected: the
    // listener holds it weakly (onAbortWeakly: a closure made in here would
    // keep every variable of this call, the loop, its frame and the reader,
    // for as long as the signal lived) and leaves the signal then. The frame
    // it handed out last is not released then: the caller may still hold it
    // (`const { value } = await reader.frames().next()`, then awaits), and
    // its bytes stay valid until the caller releases it, or goes back when
    // it is collected too (its view's finalizer ends the lease), as a frame
    // of next() does.
    let signal: AbortSignal | undefined;
    let timeoutMs = 0;
    let started = false;
    let finished = false;
    let current: Frame | null = null; // the frame handed out last
    let listening: WeakAbortListener | undefined;
    let reading: Promise<IteratorResult<Frame, void>> | null = null;
    let waiting = false; // this loop's wait is the one in the addon (another read of this reader may wait instead)
    const owner = {
      cancel: (): void => {
        if (waiting) this.#native.cancel();
      },
    };
    // `waiting` ends in readied() or failed(), the next code of the loop to run once the wait is over
    const wait = (waitMs: number): Promise<number | null> => {
      waiting = true;
      return this.#native.wait(nativeTimeout(waitMs), BATCH);
    };
    const finish = (): IteratorResult<Frame, void> => {
      if (!finished) {
        finished = true;
        listening?.stop();
        if (current !== null && !current.retained) current.release();
        current = null;
        if (!this.#closed) this.#native.giveBack();
      }
      return DONE;
    };
    const moveOn = (): void => {
      const frame = current;
      current = null;
      if (frame === null || frame.retained) return;
      this.#releaseLater = this.#next < this.#taken; // given back with the rest of the batch
      frame.release();
      this.#releaseLater = false;
    };
    const handOut = (): IteratorResult<Frame, void> => {
      let frame: Frame;
      try {
        frame = this.#handOut();
      } catch (e) {
        finish(); // an error ends the loop, as the read's own errors do
        throw e;
      }
      current = frame;
      return { value: frame, done: false };
    };
    // The error that ended the read: the end of the stream or an abort end the loop quietly.
    const ended = (e: unknown): IteratorResult<Frame, void> => {
      try {
        if (!signal?.aborted) this.#endOf(e, timeoutMs);
      } finally {
        finish();
      }
      return DONE;
    };
    const readied = (ready: boolean): IteratorResult<Frame, void> => {
      reading = null;
      waiting = false;
      return ready ? handOut() : finish();
    };
    const failed = (e: unknown): IteratorResult<Frame, void> => {
      reading = null;
      waiting = false;
      return ended(e);
    };
    const step = (): IteratorResult<Frame, void> | Promise<IteratorResult<Frame, void>> => {
      moveOn();
      if (finished || signal?.aborted || this.#closed) return finish();
      let ready: boolean | Promise<boolean>;
      try {
        ready = this.#ready(BATCH, timeoutMs, signal, wait);
      } catch (e) {
        return ended(e);
      }
      if (!(ready instanceof Promise)) return ready ? handOut() : finish();
      reading = ready.then(readied, failed);
      return reading;
    };
    const afterRead = <T>(then: () => Promise<T>): Promise<T> => reading!.then(then, then);
    const loop: AsyncGenerator<Frame, void, undefined> = Object.setPrototypeOf({
      next: (): Promise<IteratorResult<Frame, void>> => {
        if (reading !== null) return afterRead(loop.next);
        if (finished) return Promise.resolve(DONE);
        try {
          if (!started) {
            started = true;
            const given = validateOptions(options, WAIT_OPTIONS);
            signal = validateSignal(given.signal);
            timeoutMs = validateTimeout('timeoutMs', given.timeoutMs, this.timeoutMs);
            if (signal !== undefined) listening = onAbortWeakly(signal, owner);
          }
          return Promise.resolve(step());
        } catch (e) {
          finish();
          return Promise.reject(e);
        }
      },
      return: (value?: void | PromiseLike<void>): Promise<IteratorResult<Frame, void>> => {
        if (reading !== null) return afterRead(() => loop.return(value));
        return Promise.resolve(finish());
      },
      throw: (e: unknown): Promise<IteratorResult<Frame, void>> => {
        if (reading !== null) return afterRead(() => loop.throw(e));
        finish();
        return Promise.reject(e);
      },
    }, AsyncIteratorPrototype);
    return loop;
  }

  /**
   * Gives a frame back and empties its view (Frame.release() calls this).
   * @internal use frame.release()
   */
  releaseFrame(ticket: number, buffer: ArrayBuffer): void {
    this.#native.release(ticket, buffer, this.#releaseLater);
    // A loop that awaits between frames gives the bytes back as it waits.
    if (this.#releaseLater && !this.#givingBack) {
      this.#givingBack = true;
      setImmediate(() => {
        this.#givingBack = false;
        if (!this.#closed) this.#native.giveBack();
      });
    }
  }

  /** Health snapshot of the ring. */
  stats(): ReaderStats {
    if (this.#closed) throw new ZeroBufferError(`ring "${this.name}" is closed`, { code: 'ESTATE' });
    const h = wrapNative(() => this.#native.health());
    return {
      name: this.name,
      frames: this.#frames,
      utilisationPercent: h.utilisationPercent,
      band: h.band,
      metadataSize: h.metadataSize,
      payloadSize: h.payloadSize,
      payloadFreeBytes: h.payloadFreeBytes,
      writePos: h.writePos,
      readPos: h.readPos,
      writtenCount: h.writtenCount,
      readCount: h.readCount,
      framesUnread: h.framesUnread,
      writerPid: h.writerPid,
      writerAlive: h.writerAlive,
      readerPid: h.readerPid,
      readerAlive: h.readerAlive,
      heldFrames: this.#native.heldViews() - this.#batchedRingViews(),
      batched: this.#taken - this.#next,
    };
  }

  /**
   * Frames written and not handed out yet (in the batch taken from the ring,
   * or still in the ring) that start a writer's stream (sequence 1: a writer
   * counts from 1 per connection). While one does, the frames handed out
   * before it were written by a writer that has left since, whatever the
   * ring's writer pid says now (a duplex server tells its clients apart
   * with it). The ring's part is left out when it cannot be read.
   * @internal the duplex server's
   */
  streamStartsAhead(): number {
    if (this.#closed) return 0;
    let starts = 0;
    for (let i = this.#next; i < this.#taken; i++) if (this.#fields[i * F.count + F.sequence] === 1) starts++;
    try {
      return starts + this.#native.unreadStreamStarts();
    } catch {
      return starts; // the ring's part unknown: what the batch shows
    }
  }

  /** Ring views in the batch not handed out yet: the addon counts them held. */
  #batchedRingViews(): number {
    let views = 0;
    for (let i = this.#next; i < this.#taken; i++) if (this.#fields[i * F.count + F.copied] !== 1) views++;
    return views;
  }

  /**
   * Ring views the addon holds (for leak checks): those handed out and
   * neither released nor garbage-collected, and the batch not handed out yet.
   * @internal stats().heldFrames counts the frames handed out and held
   */
  heldViews(): number {
    return this.#native.heldViews();
  }

  /**
   * Closes now: a pending read resolves null and the ring is unlinked (the
   * writer sees the reader gone). Frames you still hold stay readable until
   * you release them; their memory is never unmapped under native code that
   * may still read it. A reader dropped without close is closed once garbage
   * collected (a pending read, or a frame not released, keeps it), with a
   * process warning naming its ring; until then its ring stays.
   */
  closeSync(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#next = this.#taken; // the closer gives back the frames taken and never handed out
    this.#closer.closeSync();
    this.#unregister();
  }

  /** Closes the reader (see closeSync); idempotent. */
  async close(): Promise<void> {
    this.closeSync();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

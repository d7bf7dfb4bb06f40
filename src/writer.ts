// The writing side: connects to a reader's ring, writes the metadata once,
// then frames (copied in, or filled in place through reserve/commit).
import { types } from 'node:util';
import { abortable, onAbort, WaitQueue } from './abort.js';
import { capsEqual } from './caps.js';
import { closeAtExit, type Closer } from './cleanup.js';
import { FrameSizeError, fromNative, ReaderGoneError, RingError, TimeoutError, wrapNative, ZeroBufferError } from './errors.js';
import { checkFrameCaps, encodeAttributes, type FrameAttributes } from './frame-attributes.js';
import type { PlainUint8Array } from './frame.js';
import { frameSizeMismatch, frameSizeRule, type FrameSizeRule } from './frame-size.js';
import { isDetached } from './option-checks.js';
import { parseMetadata } from './metadata.js';
import {
  native, type NativeFrameHeader, type NativeHealth, type NativeReservation, type NativeWriter,
} from './native.js';
import {
  checkBytes, fail, failArgument, nativeTimeout, optionNames, validateBoolean, validateName, validateOptions, validateSignal, validateTimeout,
  WAIT_OPTIONS, WRITER_OPTIONS, type WaitOptions, type WriterOptions,
} from './options.js';

/** Metadata as an object: JSON with at least the caps string. */
export interface MetadataObject {
  caps: string;
  [key: string]: unknown;
}

/** A writer's stats(): its ring's health snapshot, as inspectRing() gives it without the name. */
export type WriterStats = NativeHealth;

export interface WriteOptions extends WaitOptions {
  /** Buffer timestamps in ns (frame header only). */
  pts?: number;
  dts?: number;
  duration?: number;
  /** GstBufferFlags (frame header only). */
  flags?: number;
  /**
   * The header's zerobuffer flags, read back as frame.zbFlags (frame header
   * only): ZB_EXT_IN_PLACE marks a duplex answer in place (docs/PROTOCOL.md
   * §9.4; ZeroBufferDuplexServer sends them, write nothing else there).
   */
  zbFlags?: number;
  /**
   * Per-frame attributes, read back as frame.attributes (frame header only).
   * "caps" is reserved for the frame's own caps, where its format differs
   * from the metadata's (readers describe the frame by them): it must be
   * fixed caps, else TypeError.
   */
  attributes?: FrameAttributes;
}

/**
 * Writers whose reader checks the frame sizes itself and answers for them:
 * a duplex server's, whose wrong-sized answer zerofilter fails as that
 * request's (docs/DUPLEX.md), serving going on. Not exported by the package.
 */
export const sizesLeftToReader = new WeakSet<ZeroBufferWriter>();

/** How often a connect that waits for its ring looks again (ms): zerosink's CONNECT_RETRY_MS. */
const CONNECT_RETRY_MS = 20;

const WRITE_OPTIONS = [
  ...WAIT_OPTIONS, ...optionNames<Omit<WriteOptions, keyof WaitOptions>>({
    pts: true, dts: true, duration: true, flags: true, zbFlags: true, attributes: true,
  }),
];

/**
 * A writer's native side and its open reservation, whose view empties as at
 * cancel when it closes (the ring is unmapped after close): closeSync()'s
 * work, and cleanup.ts's at exit or for a writer collected unclosed, so it
 * must not reference the writer.
 */
class WriterCloser implements Closer {
  reservation?: NativeReservation;

  constructor(readonly native: NativeWriter) {}

  closeSync(): void {
    if (this.reservation !== undefined) this.native.cancelReservation(this.reservation.buffer);
    this.reservation = undefined;
    this.native.close();
  }
}

export class ZeroBufferWriter implements AsyncDisposable {
  readonly name: string;
  /** The writes' timeoutMs (ms; Infinity: no limit, also when -1 was given). */
  readonly timeoutMs: number;
  readonly #native: NativeWriter;
  /** Holds the open reservation too. */
  readonly #closer: WriterCloser;
  readonly #unregister: () => void;
  readonly #wantHeader: boolean;
  #frameHeader = false;
  /** The sizes frames of the metadata's caps have, when they are raw. */
  #streamFrames: FrameSizeRule | undefined;
  /** The same for the open reservation's caps, which commit() checks its size against. */
  #reservedFrames: FrameSizeRule | undefined;
  #closed = false;
  /** Writes' and reservations' waits in the addon: one at a time, in call order. */
  readonly #waits = new WaitQueue();

  private constructor(w: NativeWriter, options: { timeoutMs: number; frameHeader: boolean }) {
    this.#native = w;
    this.name = w.name;
    this.timeoutMs = options.timeoutMs;
    this.#wantHeader = options.frameHeader;
    this.#closer = new WriterCloser(w);
    this.#unregister = closeAtExit(this, this.#closer, `writer of ring "${this.name}"`);
  }

  /**
   * Connects to the ring NAME. Its reader must be alive, else RingError
   * ENOENT (no such ring, or its reader is still creating it) or
   * ReaderGoneError EREADERGONE (a stale ring): at once, or once
   * connectTimeoutMs has passed without a reader making it ready.
   */
  static async connect(name: string, options?: WriterOptions): Promise<ZeroBufferWriter> {
    if (name === undefined) fail('name', 'a ring name', name);
    validateName(name);
    options = validateOptions(options, WRITER_OPTIONS);
    const timeoutMs = validateTimeout('timeoutMs', options.timeoutMs, 5000);
    const frameHeader = validateBoolean('frameHeader', options.frameHeader, false);
    const connectTimeoutMs = validateTimeout('connectTimeoutMs', options.connectTimeoutMs, 0);
    const signal = validateSignal(options.signal);
    signal?.throwIfAborted();
    if (connectTimeoutMs > 0)
      return connectWhenThere(name, { timeoutMs, frameHeader, connectTimeoutMs, intervalMs: CONNECT_RETRY_MS, signal });
    const w = wrapNative(() => new native.Writer(name));
    return new ZeroBufferWriter(w, { timeoutMs, frameHeader });
  }

  /** Frames carry the 48-byte header (declared by the metadata). */
  get frameHeader(): boolean {
    return this.#frameHeader;
  }

  /**
   * reserve() hands out views over the ring (false: the copying fallback,
   * as reader.zeroCopy says, where it hands out a scratch buffer that
   * commit() copies in).
   */
  get zeroCopy(): boolean {
    return native.zeroCopy;
  }

  /**
   * Largest frame this ring can ever hold: bytes of data, the frame header
   * taken off when frames carry it (connected with frameHeader: true, from
   * the start; else once setMetadata() wrote metadata that declares it).
   * A frame's attributes take their encoded size of it too.
   */
  get maxFrameSize(): number {
    return this.#native.maxFrameSize - (this.#wantHeader || this.#frameHeader ? native.frameHeaderSize : 0);
  }

  /**
   * Writes the metadata once: raw bytes or text as given, or an object that
   * becomes {"type":"gstreamer-sink", ...object} JSON (plus the frame header
   * declaration when the writer was connected with frameHeader: true), whose
   * caps must be fixed caps (one type/subtype structure without lists or
   * ranges, as a frame's "caps" attribute), raw ones describing a frame as
   * zerosrc takes them (video/x-raw: format, width, height), else
   * TypeError. A
   * writer connected with frameHeader: true refuses (EINVAL) raw bytes or
   * text that do not declare the header themselves: its frames would go
   * without one, their pts and attributes lost. A closed writer throws
   * ESTATE ("closed") first. Metadata an earlier writer left in the ring
   * stays: bytes or text must be the same bytes, an object the same stream
   * (caps equal by meaning, the same "zerobuffer" declarations; other keys,
   * such as zerosink's element_name and version, may differ), else
   * EMETADATA.
   */
  setMetadata(metadata: string | Uint8Array | MetadataObject): void {
    this.#checkOpen(); // a closed writer says so (ESTATE), not what its metadata lacks
    let bytes: Uint8Array;
    if (typeof metadata === 'string') bytes = new TextEncoder().encode(metadata);
    // the addon takes bytes of an ArrayBuffer only (not a SharedArrayBuffer's), as write() does; types.* know other realms'
    else if (types.isUint8Array(metadata)) bytes = types.isArrayBuffer(metadata.buffer) ? metadata : new Uint8Array(metadata);
    else if (typeof metadata === 'object' && metadata !== null && typeof metadata.caps === 'string') {
      checkFrameCaps(metadata.caps, 'metadata "caps" is the stream\'s caps (zerosrc and readers take it as the frames\' format)',
        'zerosrc refuses them (EMETADATA)');
      bytes = new TextEncoder().encode(JSON.stringify({ type: 'gstreamer-sink', ...metadata }));
      if (this.#wantHeader) bytes = wrapNative(() => native.declareFrameHeader(bytes));
      bytes = this.#sameStreamMetadata(bytes) ?? bytes;
    } else {
      failArgument('metadata', 'a string, a Uint8Array or an object with a "caps" string', metadata);
    }
    const frameHeader = parseMetadata(bytes).frameHeader;
    if (this.#wantHeader && !frameHeader)
      throw new ZeroBufferError(`writer of ring "${this.name}" was connected with frameHeader: true, and this metadata ` +
        `(a ${typeof metadata === 'string' ? 'string' : 'Uint8Array'}) does not declare the frame header: pass object metadata, ` +
        'setMetadata({ caps }), which declares it, or JSON that declares it itself ("zerobuffer": {"frame_header": 1})', { code: 'EINVAL' });
    wrapNative(() => this.#native.setMetadata(bytes));
    this.#frameHeader = frameHeader;
    const caps = parseMetadata(bytes).capsString;
    this.#streamFrames = caps === undefined ? undefined : frameSizeRule(caps);
  }

  /**
   * The metadata an earlier writer left in the ring when it describes the
   * stream of OURS (object metadata) as zerosink judges it: caps equal by
   * meaning and the same per-frame header and in-place declarations. The
   * core compares bytes: given the ring's own, it keeps them and still
   * checks this writer's state.
   */
  #sameStreamMetadata(ours: Uint8Array): Uint8Array | undefined {
    const theirs = wrapNative(() => this.#native.metadata());
    if (theirs.byteLength === 0) return undefined;
    const [a, b] = [parseMetadata(theirs), parseMetadata(ours)];
    if (a.caps === undefined || b.caps === undefined || !capsEqual(a.caps, b.caps)) return undefined;
    try {
      const same = native.metadataFrameHeader(theirs) === native.metadataFrameHeader(ours) &&
        native.metadataInPlace(theirs) === native.metadataInPlace(ours);
      return same ? theirs : undefined;
    } catch {
      return undefined; // an unreadable declaration: the core refuses the bytes
    }
  }

  /**
   * Copies one frame into the ring, waiting up to timeoutMs for room (a
   * write that has to wait copies the bytes first: their buffer may be
   * transferred or changed meanwhile). Writes made while one waits for room
   * follow it, in call order, each within its own timeout. Resolves once the
   * frame is committed and published (the reader can take it); rejects with
   * ESTATE while a reservation of this writer is open (frames are published
   * in reservation order: commit or cancel it first). A frame that is no
   * frame of its caps (the "caps" attribute, else the metadata's) is
   * refused with FrameSizeError (EFRAMESIZE), nothing written: raw video
   * (a format RAW_FORMATS describes, in system memory) has the size of
   * GStreamer's default layout, raw audio whole sample frames; zerosrc
   * would stop at it for good. Other caps take any size.
   */
  async write(data: Uint8Array, options?: WriteOptions): Promise<void> {
    checkBytes('data', data);
    options = validateOptions(options, WRITE_OPTIONS);
    const signal = validateSignal(options.signal);
    const timeoutMs = validateTimeout('timeoutMs', options.timeoutMs, this.timeoutMs);
    this.#checkOpen();
    const header = this.#header(options);
    this.#checkFrameSize(data.byteLength, this.#framesOf(options));
    const frame = { size: data.byteLength, header };
    // the addon takes bytes of an ArrayBuffer only (not a SharedArrayBuffer's)
    let bytes = types.isArrayBuffer(data.buffer) ? data : new Uint8Array(data);
    // a write queued behind another copies the bytes now, as a write that waits in the addon does
    if (this.#waits.busy && bytes === data) bytes = data.slice();
    try {
      await this.#waits.run((waitMs) => {
        this.#checkOpen();
        return abortable(signal, () => this.#native.write(bytes, nativeTimeout(waitMs), header), () => this.#native.cancel());
      }, timeoutMs, signal, () => this.#queuedTimeout(timeoutMs), this.#addonWaits);
    } catch (e) {
      throw this.#waitError(e, timeoutMs, frame);
    }
  }

  /**
   * A write's or reservation's error as this package's class. With timeoutMs
   * 0 the addon does not wait and answers EAGAIN for a full ring: that is the
   * timeout the option promises, a TimeoutError. A frame too large for the
   * ring (EMSGSIZE) with a frame header says the size asked and the header's
   * share: the core's size counts both.
   */
  #waitError(e: unknown, timeoutMs: number, frame: { size: number; header?: Partial<NativeFrameHeader> }): unknown {
    const err = fromNative(e);
    if (!(err instanceof ZeroBufferError)) return err;
    if (timeoutMs === 0 && err.code === 'EAGAIN')
      return new TimeoutError(`${err.message}; no room within 0 ms`, { code: 'ETIMEDOUT', cause: err });
    if (err.code !== 'EMSGSIZE' || frame.header === undefined) return err;
    const attributes = frame.header.attributes?.byteLength ?? 0;
    const headerBytes = native.frameHeaderSize + attributes;
    const fits = Math.max(0, this.#native.maxFrameSize - headerBytes);
    return new RingError(`${frame.size} bytes and the frame header's ${headerBytes}` +
      `${attributes > 0 ? ` (${native.frameHeaderSize} + ${attributes} of attributes)` : ''} make a frame of ` +
      `${frame.size + headerBytes} bytes; at most ${fits} bytes fit beside this header: ${err.message}`,
    { code: err.code, errno: err.errno, cause: err });
  }

  /**
   * The sizes a frame written with these options may have: those of its own
   * caps (the "caps" attribute), else of the metadata's, as zerosrc reads
   * them.
   */
  #framesOf(options: WriteOptions): FrameSizeRule | undefined {
    if (sizesLeftToReader.has(this)) return undefined;
    const caps = options.attributes?.['caps'];
    return typeof caps === 'string' ? frameSizeRule(caps) : this.#streamFrames;
  }

  /** A frame of `size` bytes that is no frame of its caps: zerosrc would stop at it for good (EPROTO). */
  #checkFrameSize(size: number, frames: FrameSizeRule | undefined): void {
    const mismatch = frameSizeMismatch(frames, size);
    if (mismatch !== undefined)
      throw new FrameSizeError(`writer of ring "${this.name}": ${mismatch}; its reader would refuse the frame ` +
        '(zerosrc: EPROTO) and stop; nothing was written', { code: 'EFRAMESIZE' });
  }

  /** The addon waits for room for a write or reservation (one written at once leaves nothing to queue behind). */
  readonly #addonWaits = (): boolean => !this.#closed && this.#native.waiting;

  /** A write or reservation whose time ran out while the ones before it waited. */
  #queuedTimeout(timeoutMs: number): TimeoutError {
    return new TimeoutError(`writer of ring "${this.name}": no room within ${timeoutMs} ms (writes before it were waiting)`,
      { code: 'ETIMEDOUT' });
  }

  /** The frame header of a write or reservation, when frames carry one. */
  #header(options: WriteOptions): Partial<NativeFrameHeader> | undefined {
    for (const key of ['pts', 'dts', 'duration'] as const) {
      const v = options[key];
      // beyond 2^53 as exact as a double gets (a frame's pts passed on, e.g. a clock's epoch time)
      if (v !== undefined && !(Number.isInteger(v) && v >= 0 && v < 2 ** 64)) fail(key, 'a time in ns: an integer from 0 to 2^64', v);
    }
    for (const key of ['flags', 'zbFlags'] as const) {
      const v = options[key];
      if (v !== undefined && !(Number.isInteger(v) && v >= 0 && v <= 0xffffffff)) fail(key, 'an integer of 32 bits (0 to 0xffffffff)', v);
    }
    if (this.#wantHeader && !this.#frameHeader)
      throw new ZeroBufferError('the writer was connected with frameHeader: true: call setMetadata({ caps }), which declares the ' +
        'header, before writing (a frame without it would fail its reader)', { code: 'ESTATE' });
    if (!this.#frameHeader) {
      // said rather than dropped: the reader would get none of them
      const given = (['pts', 'dts', 'duration', 'flags', 'zbFlags', 'attributes'] as const).filter((key) => options[key] !== undefined);
      if (given.length > 0)
        throw new ZeroBufferError(`${given.length === 1 ? 'option' : 'options'} ${given.map((key) => `"${key}"`).join(', ')} ` +
          `travel${given.length === 1 ? 's' : ''} in the frame header: connect with frameHeader: true`, { code: 'ESTATE' });
      return undefined;
    }
    const header: Partial<NativeFrameHeader> = {
      pts: options.pts, dts: options.dts, duration: options.duration, flags: options.flags, zbFlags: options.zbFlags,
    };
    if (options.attributes !== undefined) header.attributes = encodeAttributes(options.attributes);
    return header;
  }

  /**
   * Reserves room for a frame of `size` bytes and returns it to be filled in
   * place (zero copy; with zeroCopy false, a scratch buffer that commit()
   * copies in); commit() publishes it, cancelReservation() drops it.
   * The view empties at commit/cancel. When frames carry a header, it goes
   * before the view with the options' fields, stamped at commit. One at a
   * time: until it is committed or cancelled (the writer holds it, its view
   * dropped or not: cancel it when the fill fails), reserve() and write()
   * reject with ESTATE. A size that is no frame of its caps is refused as
   * write() refuses it (EFRAMESIZE).
   */
  async reserve(size: number, options?: WriteOptions): Promise<PlainUint8Array> {
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size <= 0) failArgument('size', 'an integer > 0', size);
    options = validateOptions(options, WRITE_OPTIONS);
    const signal = validateSignal(options.signal);
    const timeoutMs = validateTimeout('timeoutMs', options.timeoutMs, this.timeoutMs);
    this.#checkOpen();
    const header = this.#header(options);
    const frames = this.#framesOf(options);
    this.#checkFrameSize(size, frames);
    try {
      this.#closer.reservation = await this.#waits.run((waitMs) => {
        this.#checkOpen();
        return abortable(signal, () => this.#native.reserve(size, nativeTimeout(waitMs), header), () => this.#native.cancel());
      }, timeoutMs, signal, () => this.#queuedTimeout(timeoutMs), this.#addonWaits);
      this.#reservedFrames = frames;
      return new Uint8Array(this.#closer.reservation.buffer);
    } catch (e) {
      throw this.#waitError(e, timeoutMs, { size, header });
    }
  }

  /**
   * Publishes the first `size` bytes of the reservation (all of it by
   * default): at least 1, or 0 when frames carry the header (an empty frame
   * with its header, as write() of no bytes sends). A view whose buffer was
   * transferred away (a postMessage transfer list; only the copying
   * fallback's scratch buffer can be) throws EDETACHED: nothing is
   * published and the reservation is cancelled. A size that is no frame
   * of the reservation's caps (as write() checks them) throws
   * FrameSizeError (EFRAMESIZE): nothing is published, it stays open.
   */
  commit(size?: number): void {
    const least = this.#frameHeader ? 0 : 1;
    if (size !== undefined && !(typeof size === 'number' && Number.isSafeInteger(size) && size >= least))
      failArgument('size', `an integer >= ${least}${least === 1 ? ' (a frame without the frame header has 1 byte or more)' : ''}`, size);
    this.#checkOpen();
    const r = this.#closer.reservation;
    if (r === undefined) throw new ZeroBufferError('commit: no reservation is open', { code: 'ESTATE' });
    if (isDetached(r.buffer)) {
      // its bytes are in another thread now: an empty frame would be published in their stead
      this.cancelReservation();
      throw new ZeroBufferError(`commit: the reservation's buffer was transferred away (a postMessage transfer list): ` +
        'its bytes are not here; the reservation is cancelled, nothing was published (post a copy of the bytes instead)',
      { code: 'EDETACHED' });
    }
    // it stays open, as for a bad size; one past the reservation is the addon's EINVAL
    if (size !== undefined && size <= r.buffer.byteLength) this.#checkFrameSize(size, this.#reservedFrames);
    try {
      wrapNative(() => this.#native.commit(size ?? r.buffer.byteLength, r.buffer, r.copied));
    } catch (e) {
      // a bad size leaves it open; else it was ended (ReaderGoneError: dropped, nothing published)
      if ((e as { code?: string }).code !== 'EINVAL') this.#closer.reservation = undefined;
      throw e;
    }
    this.#closer.reservation = undefined;
  }

  cancelReservation(): void {
    if (!this.#closed) this.#native.cancelReservation(this.#closer.reservation?.buffer);
    this.#closer.reservation = undefined;
  }

  /** The ring's health snapshot (its OIEB: sizes, positions, counts, pids and liveness, utilisation band). */
  stats(): WriterStats {
    this.#checkOpen();
    return wrapNative(() => this.#native.health());
  }

  #checkOpen(): void {
    if (this.#closed) throw new ZeroBufferError(`writer of ring "${this.name}" is closed`, { code: 'ESTATE' });
  }

  /**
   * Detaches now: the reader sees end of stream after the frames written. A
   * writer dropped without close is closed once garbage collected (a pending
   * write keeps it), with a process warning naming its ring; until then its
   * reader sees it attached.
   */
  closeSync(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closer.closeSync();
    this.#unregister();
  }

  async close(): Promise<void> {
    this.closeSync();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** A connect's last refusal (ringNotReady), saying how long the connect waited, by the name of its `option`. */
function waitedFor(e: ZeroBufferError, connectTimeoutMs: number, option: string): ZeroBufferError {
  const message = `${e.message} (${connectTimeoutMs === 0 ? `no wait: ${option} is 0` : `waited ${connectTimeoutMs} ms: ${option}`})`;
  const options = { code: e.code, errno: e.errno, cause: e };
  return e instanceof ReaderGoneError ? new ReaderGoneError(message, options) : new RingError(message, options);
}

/**
 * Whether a connect was refused because the ring is not there yet (ENOENT:
 * not created, or still being created) or has no live reader (EREADERGONE:
 * a stale ring whose reader is starting again, or one between its close and
 * its unlink): what zerosink waits out.
 */
export function ringNotReady(e: unknown): boolean {
  const code = (e as { code?: string } | undefined)?.code;
  return code === 'ENOENT' || code === 'EREADERGONE';
}

/** How long whenRingReady waits: connectTimeoutMs (Infinity: no limit), looking every intervalMs; option names the wait in its error. */
export interface RingWait {
  connectTimeoutMs: number;
  intervalMs: number;
  signal?: AbortSignal;
  option?: string;
}

/**
 * Connects as writer to `name`, waiting as zerosink does while the ring is
 * not ready (ringNotReady): looks every `intervalMs` for up to
 * `connectTimeoutMs` (Infinity: no limit), then throws the last refusal,
 * saying how long it waited (naming `option`, the caller's name for the
 * wait: connectTimeoutMs by default); other errors end it at once, and an
 * abort rejects with signal.reason at once.
 */
export async function connectWhenThere(name: string, options: Omit<WriterOptions, 'connectTimeoutMs' | 'signal'> & RingWait): Promise<ZeroBufferWriter> {
  const { connectTimeoutMs, intervalMs, signal, option, ...writerOptions } = options;
  return whenRingReady(() => ZeroBufferWriter.connect(name, writerOptions), { connectTimeoutMs, intervalMs, signal, option });
}

/** attempt()'s result once it stops failing with ringNotReady, waiting as connectWhenThere does. */
export async function whenRingReady<T>(attempt: () => T | Promise<T>, wait: RingWait): Promise<T> {
  const { connectTimeoutMs, intervalMs, signal, option = 'connectTimeoutMs' } = wait;
  const deadline = Date.now() + connectTimeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    try {
      return await attempt();
    } catch (e) {
      if (!ringNotReady(e)) throw e;
      if (Date.now() >= deadline) throw waitedFor(e as ZeroBufferError, connectTimeoutMs, option);
    }
    let timer: NodeJS.Timeout | undefined;
    let stopListening = (): void => {};
    await new Promise<void>((resolve) => {
      timer = setTimeout(resolve, intervalMs);
      if (signal !== undefined) stopListening = onAbort(signal, resolve);
    });
    clearTimeout(timer);
    stopListening();
  }
}

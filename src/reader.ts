// The reading side: creates a ring, hands out frames as zero-copy views,
// ends at end of stream, and unlinks the ring on close or exit.
import { abortable } from './abort.js';
import { closeAtExit } from './cleanup.js';
import { fromNative, TimeoutError, wrapNative, ZeroBufferError } from './errors.js';
import { Frame, type FrameOwner } from './frame.js';
import { parseMetadata, type Metadata } from './metadata.js';
import { native, type NativeFrame, type NativeReader } from './native.js';
import {
  nativeTimeout, validateMode, validateName, validateSignal, validateSize, validateTimeout,
  type ReaderOptions, type WaitOptions,
} from './options.js';

export interface ReaderStats {
  name: string;
  /** Frames handed out by this reader. */
  frames: number;
  /** Payload ring in use, percent. */
  utilisationPercent: number;
  payloadSize: number;
  payloadFreeBytes: number;
  writePos: number;
  readPos: number;
  writtenCount: number;
  readCount: number;
  writerPid: number;
  writerAlive: boolean;
  readerPid: number;
  readerAlive: boolean;
  /** Frames handed out and neither released nor garbage-collected yet. */
  heldFrames: number;
}

export class ZeroBufferReader implements FrameOwner, AsyncDisposable {
  readonly name: string;
  readonly timeoutMs: number;
  readonly #native: NativeReader;
  readonly #unregister: () => void;
  #metadata?: Metadata;
  #frames = 0;
  #closed = false;

  private constructor(nativeReader: NativeReader, timeoutMs: number) {
    this.#native = nativeReader;
    this.name = nativeReader.name;
    this.timeoutMs = timeoutMs;
    this.#unregister = closeAtExit(this);
  }

  /** Creates the ring as its reader (the name defaults to a fresh UUID). */
  static async create(options: ReaderOptions): Promise<ZeroBufferReader> {
    if (typeof options !== 'object' || options === null)
      throw new TypeError(`options must be an object, received ${options === null ? 'null' : typeof options}`);
    const name = validateName(options.name);
    const metadataSize = validateSize('metadataSize', options.metadataSize, 0);
    const payloadSize = validateSize('payloadSize', options.payloadSize, 1);
    const timeoutMs = validateTimeout('timeoutMs', options.timeoutMs, Infinity);
    const mode = validateMode(options.mode);
    const r = wrapNative(() => new native.Reader(name, metadataSize, payloadSize, mode));
    return new ZeroBufferReader(r, timeoutMs);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The metadata, once a writer has written it (undefined before). */
  get metadata(): Metadata | undefined {
    if (this.#metadata === undefined && !this.#closed) {
      const bytes = wrapNative(() => this.#native.metadata());
      if (bytes.byteLength > 0) this.#metadata = parseMetadata(new Uint8Array(bytes));
    }
    return this.#metadata;
  }

  #loadMetadata(): Metadata | undefined {
    return this.metadata;
  }

  /** Waits until a writer has written the metadata (polls every 5 ms). */
  async waitForMetadata(options: WaitOptions = {}): Promise<Metadata> {
    const signal = validateSignal(options.signal);
    const timeoutMs = validateTimeout('timeoutMs', options.timeoutMs, this.timeoutMs);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      signal?.throwIfAborted();
      if (this.#closed) throw new ZeroBufferError(`ring "${this.name}" is closed`, { code: 'ESTATE' });
      const m = this.metadata;
      if (m !== undefined) return m;
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
   * WriterGoneError, ProtocolError; rejects with signal.reason on abort.
   * The caller releases the frame (frames() does it for you).
   */
  async next(options: WaitOptions = {}): Promise<Frame | null> {
    const signal = validateSignal(options.signal);
    const timeoutMs = validateTimeout('timeoutMs', options.timeoutMs, this.timeoutMs);
    if (this.#closed) return null;
    const headerKnown = this.metadata !== undefined;
    let raw: NativeFrame | null;
    try {
      raw = await abortable(signal, () => this.#native.next(nativeTimeout(timeoutMs), this.#metadata?.frameHeader ?? false),
        () => this.#native.cancel());
    } catch (e) {
      const err = fromNative(e);
      if (err instanceof ZeroBufferError && err.code === 'EOF') return null;
      throw err;
    }
    if (raw === null) return null;
    let data = new Uint8Array(raw.buffer);
    let header = raw;
    // Metadata that arrived with this frame may declare the frame header.
    if (!headerKnown && this.#loadMetadata()?.frameHeader) {
      try {
        header = { ...raw, ...this.#native.frameHeader(raw.ticket) };
        data = data.subarray(native.frameHeaderSize + (header.attributes?.byteLength ?? 0));
      } catch (e) {
        this.releaseFrame(raw.ticket);
        throw fromNative(e);
      }
    }
    this.#frames++;
    return new Frame(this, {
      ticket: raw.ticket,
      sequence: raw.sequence,
      data,
      copied: raw.copied,
      arrivalNs: raw.arrivalNs,
      pts: header.pts,
      dts: header.dts,
      duration: header.duration,
      commitNs: header.commitNs,
      flags: header.flags,
      attributeBytes: header.attributes,
      metadata: this.#metadata,
    });
  }

  /**
   * Iterates frames until end of stream, close() or abort (which end the
   * loop quietly). Each frame is released when the loop moves on, unless
   * frame.retain() was called.
   */
  async *frames(options: WaitOptions = {}): AsyncGenerator<Frame, void, undefined> {
    const signal = validateSignal(options.signal);
    validateTimeout('timeoutMs', options.timeoutMs, this.timeoutMs);
    let current: Frame | null = null;
    try {
      for (;;) {
        if (signal?.aborted) return;
        try {
          current = await this.next(options);
        } catch (e) {
          if (signal?.aborted) return;
          throw e;
        }
        if (current === null) return;
        yield current;
        if (!current.retained) current.release();
        current = null;
      }
    } finally {
      if (current !== null && !current.retained) current.release();
    }
  }

  /** Gives a frame back (Frame.release() calls this). */
  releaseFrame(ticket: number): void {
    if (!this.#closed) this.#native.release(ticket);
  }

  /** Health snapshot of the ring. */
  stats(): ReaderStats {
    if (this.#closed) throw new ZeroBufferError(`ring "${this.name}" is closed`, { code: 'ESTATE' });
    const h = wrapNative(() => this.#native.health());
    return {
      name: this.name,
      frames: this.#frames,
      utilisationPercent: h.utilisationPercent,
      payloadSize: h.payloadSize,
      payloadFreeBytes: h.payloadFreeBytes,
      writePos: h.writePos,
      readPos: h.readPos,
      writtenCount: h.writtenCount,
      readCount: h.readCount,
      writerPid: h.writerPid,
      writerAlive: h.writerAlive,
      readerPid: h.readerPid,
      readerAlive: h.readerAlive,
      heldFrames: this.#native.heldViews(),
    };
  }

  /** Views not yet released or collected (for leak checks). */
  heldViews(): number {
    return this.#closed ? 0 : this.#native.heldViews();
  }

  /** Closes now: a pending read resolves null, views empty, the ring is unlinked. */
  closeSync(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#native.close();
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

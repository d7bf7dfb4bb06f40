// One frame read from a ring: a zero-copy view over the ring until it is
// released (then the view reads as empty), timestamps from the optional
// frame header, and the stream's video info.
import type { Caps } from './caps.js';
import { ZeroBufferError } from './errors.js';
import { decodeAttributes } from './frame-attributes.js';
import { frameImage, type Image } from './image.js';
import { imageMetaOf, type ImageMeta } from './image-meta.js';
import type { Metadata } from './metadata.js';
import { isDetached } from './option-checks.js';
import type { VideoInfo } from './video-info.js';

/**
 * A Uint8Array over an ArrayBuffer, never a SharedArrayBuffer (what copy()
 * and frame.data are): Uint8Array<ArrayBuffer> from TypeScript 5.7 on, so
 * that its buffer goes in a postMessage transfer list, a Blob or an
 * ArrayBuffer; the plain Uint8Array before, where it is not generic (spelt
 * Uint8Array<ArrayBuffer>, it would not compile there).
 */
export type PlainUint8Array = ReturnType<Uint8Array['slice']>;

/**
 * What a frame needs from its reader (kept small for tests). Not exported
 * from the package: frames come from a reader (next(), frames()).
 */
export interface FrameOwner {
  releaseFrame(ticket: number, buffer: ArrayBuffer): void;
}

/** What a frame is made of. Not exported from the package: frames come from a reader (next(), frames()). */
export interface FrameInit {
  ticket: number;
  sequence: number;
  data: PlainUint8Array;
  copied: boolean;
  arrivalNs: number;
  pts?: number;
  dts?: number;
  duration?: number;
  commitNs?: number;
  flags?: number;
  zbFlags?: number;
  /** zbFlags has ZB_EXT_IN_PLACE (the reader tells, with the core's constant). */
  inPlace?: boolean;
  /** The frame header's attribute bytes (JSON), when it has some. */
  attributeBytes?: Uint8Array;
  metadata?: Metadata;
}

/**
 * A frame read from a ring: a reader's next() and frames() make them (the class is exported for its type and instanceof).
 * Its bytes are private: postMessage(frame) and structuredClone(frame) copy its fields, not its bytes; post frame.copy().
 */
export class Frame implements Disposable {
  /** 1, 2, 3 ... per writer connection. */
  readonly sequence: number;
  /** Buffer PTS / DTS / duration in nanoseconds, when the writer sent them. */
  readonly pts?: number;
  readonly dts?: number;
  readonly duration?: number;
  /** GstBufferFlags, when the writer sent a frame header. */
  readonly flags?: number;
  /**
   * The frame header's zerobuffer flags (docs/PROTOCOL.md §9.1), when the
   * writer sent a frame header: bit 0 is ZB_EXT_IN_PLACE (see inPlace).
   */
  readonly zbFlags?: number;
  /**
   * A duplex response that answers its request in place (ZB_EXT_IN_PLACE,
   * docs/PROTOCOL.md §9.4): it has no bytes of its own; the answer is the
   * request's bytes as the server left them in the request ring, which only
   * a client that keeps its requests' bytes (zerofilter) can read.
   */
  readonly inPlace: boolean;
  /** Writer's CLOCK_MONOTONIC at commit (ns), when it sent a frame header. */
  readonly commitNs?: number;
  /** Our CLOCK_MONOTONIC when the frame was taken from the ring (ns). */
  readonly arrivalNs: number;
  /** The bytes were copied out of the ring (no external buffers allowed). */
  readonly copied: boolean;
  /** The ring's metadata as of this frame. */
  readonly metadata?: Metadata;
  /** Its reader until released: a frame held keeps its reader (and ring) alive, one released does not. */
  #owner: FrameOwner | undefined;
  readonly #ticket: number;
  /** undefined once released: the empty array `data` then returns is made when it is read */
  #data: PlainUint8Array | undefined;
  readonly #attributeBytes?: Uint8Array;
  #attributes?: Record<string, unknown>;
  #released = false;
  #retained = false;

  /**
   * Not for users: frames come from a reader (next(), frames()). It stays
   * in the .d.ts (stripped, the class would seem to have a public
   * constructor without arguments), with types the package does not
   * export, so `new Frame()` does not compile.
   */
  constructor(owner: FrameOwner, init: FrameInit) {
    this.#owner = owner;
    this.#ticket = init.ticket;
    this.#data = init.data;
    this.sequence = init.sequence;
    this.copied = init.copied;
    this.arrivalNs = init.arrivalNs;
    this.metadata = init.metadata;
    if (init.pts !== undefined) this.pts = init.pts;
    if (init.dts !== undefined) this.dts = init.dts;
    if (init.duration !== undefined) this.duration = init.duration;
    if (init.flags !== undefined) this.flags = init.flags;
    if (init.zbFlags !== undefined) this.zbFlags = init.zbFlags;
    this.inPlace = init.inPlace ?? false;
    if (init.commitNs !== undefined) this.commitNs = init.commitNs;
    this.#attributeBytes = init.attributeBytes;
  }

  /**
   * The frame's bytes: a view over the ring, valid until release(), an
   * empty array after it (the writer may reuse the bytes at once; a view
   * taken before release is detached then). Code that reads
   * them later, asynchronously, must keep the frame until it is done:
   * native calls that take the bytes and return before reading them
   * (zlib, fs.write, crypto, worker postMessage) need `frame.retain()`
   * until their callback, then `release()`, or get `frame.copy()`.
   * In frames() a frame is released when the loop moves on.
   * With ZEROBUFFER_DEBUG=1 released bytes are overwritten (0xDB), so such
   * a mistake shows as garbage instead of as a plausible other frame (not
   * in a duplex request ring that takes answers in place: the client reads
   * its answer from those bytes).
   */
  get data(): PlainUint8Array {
    // an empty array, not the view whose buffer the release detached (slice() and friends throw on
    // that); one each, as a shared one could be detached for all by a transfer
    return this.#data ??= new Uint8Array(0);
  }
  /** Bytes of the frame (0 once released, or once data.buffer was transferred). */
  get size(): number {
    return this.#data?.byteLength ?? 0;
  }
  get released(): boolean {
    return this.#released;
  }
  get retained(): boolean {
    return this.#retained;
  }
  get caps(): Caps | undefined {
    return this.metadata?.caps;
  }
  get videoInfo(): VideoInfo | undefined {
    return this.metadata?.videoInfo;
  }
  /**
   * Per-frame attributes the writer sent in the frame header (e.g. the img=
   * attributes of `zerobuffer ingest`), or undefined. Throws ProtocolError
   * when they are not a JSON object.
   */
  get attributes(): Record<string, unknown> | undefined {
    if (this.#attributeBytes === undefined) return undefined;
    this.#attributes ??= decodeAttributes(this.#attributeBytes, this.sequence);
    return this.#attributes;
  }
  /** commit → arrival in ns, when the writer sent a frame header. */
  get latencyNs(): number | undefined {
    return this.commitNs === undefined ? undefined : this.arrivalNs - this.commitNs;
  }

  /**
   * Keeps the frame (and its data) past the iteration step that produced
   * it; release() it later. The reader gives room back in ring order, so a
   * frame kept holds the room of every frame written after it too: kept
   * while later frames are released, it stops the writer once the ring has
   * gone round (its write times out). Keep copy() of a frame needed for
   * long, or make the ring large enough for the frames written meanwhile.
   * Throws a ZeroBufferError (ERELEASED) once released: there is nothing left to keep.
   */
  retain(): this {
    if (this.#released)
      throw new ZeroBufferError(`frame ${this.sequence} was released: its bytes are gone (retain() before release())`, { code: 'ERELEASED' });
    this.#retained = true;
    return this;
  }

  /** Gives the bytes back to the writer; the view becomes empty. Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#owner!.releaseFrame(this.#ticket, this.#data!.buffer as ArrayBuffer);
    this.#owner = undefined;
    this.#data = undefined; // most frames are not read after release: no empty array for them
  }

  /** The picture: size, channels, stride, the bytes (see toRGB for packed RGB). */
  image(): Image<PlainUint8Array> {
    return frameImage(this);
  }

  /** width, height, timestamp_ms (+ its source), camera_id, color_space: what vision platforms pass with an image. */
  get imageMeta(): ImageMeta {
    return imageMetaOf(this);
  }

  /**
   * A copy of the bytes that outlives release(); throws a ZeroBufferError
   * ERELEASED once released, EDETACHED once data.buffer was transferred.
   */
  copy(): PlainUint8Array {
    return this.bytes('copy()').slice();
  }

  /**
   * @internal The bytes, for copy() and image(): an error, not an empty
   * array, when they are gone (released, or transferred by postMessage).
   */
  bytes(use: string): PlainUint8Array {
    if (this.#released)
      throw new ZeroBufferError(`frame ${this.sequence} was released: its bytes are gone (${use} before release())`, { code: 'ERELEASED' });
    const data = this.#data!;
    // only an empty view can be a transferred one: a frame with bytes costs one comparison
    if (data.byteLength === 0 && isDetached(data.buffer)) {
      throw new ZeroBufferError(`frame ${this.sequence}'s bytes were transferred away (its data.buffer was in a postMessage ` +
        `transfer list): ${use} has none; post frame.copy() instead`, { code: 'EDETACHED' });
    }
    return data;
  }

  [Symbol.dispose](): void {
    this.release();
  }
}

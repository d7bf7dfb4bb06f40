// An img= stream into a ring: each message becomes one frame (GRAY16_BE, the
// wire's byte order, as is, rows padded to GStreamer's stride at odd widths;
// GRAY16_LE swapped), its attributes the frame's
// attributes (with img.encoding: 'latin1' when the header is not UTF-8),
// its `timestamp` the frame's PTS (relative to the first; its arrival when it has none: see streamClock). The ring belongs to its reader (zerosrc, a Node reader): the
// writer connects to it at the first image (parsed and checked), waiting for it like zerosink does.
import { onAbort } from '../abort.js';
import { MAX_ATTRIBUTE_BYTES } from '../frame-attributes.js';
import { received } from '../option-checks.js';
import { fail, optionNames, refuseUnknownOptions, validateName, validateTimeout } from '../options.js';
import { connectWhenThere, type ZeroBufferWriter } from '../writer.js';
import { ENCODING_ATTRIBUTE, ImgStreamError, RESERVED_ATTRIBUTES, setAttribute, type ImgMessage } from './message.js';
import { IMG_PARSER_OPTIONS, parseImgMessages, type ImgParserOptions } from './parse.js';

export interface IngestOptions extends ImgParserOptions {
  /** The ring to write into (created by its reader). */
  name: string;
  /** Frame format in the ring. @default 'GRAY16_BE' (the bytes as they arrive) */
  format?: 'GRAY16_BE' | 'GRAY16_LE';
  /** Written into the metadata as "camera_id". */
  cameraId?: string;
  /**
   * How long to wait, from the first image on, for the ring to exist with a
   * live reader (ms; a stale one is waited on): 0 fails at once, -1 or
   * Infinity waits without limit.
   * @default 10000
   */
  connectTimeoutMs?: number;
  /** How long one frame may wait for room in the ring (ms; -1 or Infinity: no limit). @default 5000 */
  timeoutMs?: number;
  /**
   * Aborting stops after the frame being written, or at once while the
   * stream sends nothing (a Node stream is then destroyed, as leaving a
   * for-await loop over it does); the writer detaches cleanly and the
   * frames written so far are the result. While it waits for the ring to
   * appear, an abort rejects with signal.reason.
   */
  signal?: AbortSignal;
  /** Called after each frame is written. */
  onFrame?: (info: { frames: number; width: number; height: number }) => void;
  /**
   * Told once per stream for each reserved attribute name renamed (see
   * RESERVED_ATTRIBUTES). @default process.emitWarning
   */
  onWarning?: (message: string) => void;
}

/** The attributes with reserved names renamed; `renamed` gets each renaming. */
function withoutReserved(attributes: Record<string, string>, renamed: (from: string, to: string) => void): Record<string, string> {
  if (!RESERVED_ATTRIBUTES.some((k) => Object.hasOwn(attributes, k))) return attributes;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(attributes)) {
    if (!RESERVED_ATTRIBUTES.includes(k)) {
      setAttribute(out, k, v);
      continue;
    }
    let to = `img.${k}`;
    for (let n = 2; Object.hasOwn(attributes, to) || Object.hasOwn(out, to); n++) to = `img.${k}.${n}`;
    setAttribute(out, to, v);
    renamed(k, to);
  }
  return out;
}

const INGEST_OPTIONS = [
  ...IMG_PARSER_OPTIONS, ...optionNames<Omit<IngestOptions, keyof ImgParserOptions>>({
    name: true, format: true, cameraId: true, connectTimeoutMs: true, timeoutMs: true, signal: true, onFrame: true, onWarning: true,
  }),
];

export interface IngestResult {
  frames: number;
  width?: number;
  height?: number;
}

// timestamp={2024-04-25T12:34:56.789}: a date and time, any number of
// fraction digits (cut to nanoseconds), optionally Z or ±HH:MM (without one,
// the difference of two timestamps is what counts, so their zone does not
// matter).
const TIMESTAMP = /^\{(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?\}$/;

/** Nanoseconds since 1970 of an img= `timestamp` attribute, or undefined when it is absent or not a date. */
function imgTimestampNs(value: string | undefined): bigint | undefined {
  const m = value === undefined ? null : TIMESTAMP.exec(value);
  if (m === null) return undefined;
  const ms = Date.parse(`${m[1]}${m[3] ?? 'Z'}`);
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').slice(0, 9).padEnd(9, '0'));
}

/**
 * The PTS of each image, on one timeline that starts at 0 with the first
 * image: the camera's time since then, by its `timestamp`, so that zerosrc
 * (which stamps the first frame with its arrival and keeps the writer's
 * spacing) replays the camera's pacing. An image whose timestamp is missing,
 * not a date, before the PTS already given, or 2^64 ns (584 years) or more
 * on (beyond the header's PTS) is stamped by its arrival: the previous PTS
 * plus the monotonic time since the previous image came. Counted from the
 * previous image, not the first: a camera's clock and ours drift apart, and
 * the next stamped image must not look as if it went back. The first image
 * with a timestamp sets where the camera's time falls on the timeline.
 */
function streamClock(): (attributes: Record<string, string>) => number {
  let cameraAtZero: bigint | undefined;
  let last: { pts: bigint; arrival: bigint } | undefined;
  return (attributes) => {
    const arrival = process.hrtime.bigint();
    let pts = last === undefined ? 0n : last.pts + (arrival - last.arrival);
    const t = imgTimestampNs(attributes.timestamp);
    if (t !== undefined) {
      cameraAtZero ??= t - pts;
      const own = t - cameraAtZero;
      // as a double, as the header takes it: 2^64 - 1 rounds up to 2^64
      if ((last === undefined || own >= last.pts) && Number(own) < 2 ** 64) pts = own;
    }
    last = { pts, arrival };
    return Number(pts);
  };
}

/** Bytes of the attributes as JSON, as the frame header carries them (escapes grow them: a control byte takes 6). */
function jsonSize(attributes: Record<string, string>): number {
  return Buffer.byteLength(JSON.stringify(attributes), 'utf8');
}

/**
 * The frame of a big-endian u16[height, width] image in `format`: the bytes
 * as they are when GRAY16_BE rows need no padding; else rows `stride` apart,
 * GStreamer's GRAY16 stride (rows padded to 4 bytes: an odd width has 2
 * bytes of padding after each row), swapped for GRAY16_LE.
 */
function frameOf(be: Uint8Array, width: number, height: number, format: 'GRAY16_BE' | 'GRAY16_LE'): Uint8Array {
  const row = width * 2;
  const stride = (row + 3) & ~3;
  if (format === 'GRAY16_BE' && stride === row) return be;
  const frame = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const src = be.subarray(y * row, y * row + row);
    if (format === 'GRAY16_BE') frame.set(src, y * stride);
    else for (let i = 0, o = y * stride; i < row; i += 2, o += 2) [frame[o], frame[o + 1]] = [src[i + 1]!, src[i]!];
  }
  return frame;
}

/**
 * Writes the img= messages of `stream` into the ring `options.name` until the
 * stream ends (the writer then detaches: the reader sees end of stream). It
 * connects at the first image, once parsed and checked: a stream that ends
 * or fails before one never touches the ring (its reader waits on).
 * Throws ImgStreamError for bad input (frames before it stay in the ring),
 * and ZeroBufferError subclasses for ring trouble.
 */
export async function ingestImg(stream: AsyncIterable<Uint8Array | string>, options: IngestOptions): Promise<IngestResult> {
  return ingestImgAs(stream, options, 'connectTimeoutMs');
}

/**
 * ingestImg, whose error after the wait for the ring names the wait
 * `connectOption` (the CLI's --connect-timeout).
 */
export async function ingestImgAs(stream: AsyncIterable<Uint8Array | string>, options: IngestOptions,
  connectOption: string): Promise<IngestResult> {
  if (typeof options !== 'object' || options === null) fail('options', 'an object', options);
  refuseUnknownOptions(options, INGEST_OPTIONS);
  validateName(options.name);
  const format = options.format ?? 'GRAY16_BE';
  if (format !== 'GRAY16_BE' && format !== 'GRAY16_LE') throw new TypeError(`format must be GRAY16_BE or GRAY16_LE, received ${received(format)}`);
  const connectTimeoutMs = validateTimeout('connectTimeoutMs', options.connectTimeoutMs, 10000);
  // checked before the first image: write() would refuse it only after the ring was found
  const timeoutMs = validateTimeout('timeoutMs', options.timeoutMs, 5000);
  // connected at the first image, once it is parsed and checked: a writer that
  // came and left without metadata leaves no trace a waiting reader is sure to see
  let writer: ZeroBufferWriter | undefined;
  const result: IngestResult = { frames: 0 };
  const ptsOf = streamClock();
  const warn = options.onWarning ?? ((message: string) => process.emitWarning(message));
  const warned = new Set<string>();
  const messages = parseImgMessages(stream, { maxPixelBytes: options.maxPixelBytes, maxHeaderBytes: options.maxHeaderBytes });
  let reading: Promise<IteratorResult<ImgMessage, void>> | undefined;
  try {
    for (;;) {
      reading = messages.next();
      const next = await untilAborted(reading, options.signal);
      if (next === undefined) { // aborted while the stream sent nothing: leave the read to its stream
        reading.catch(() => {});
        void messages.return().catch(() => {});
        (stream as { destroy?: () => void }).destroy?.();
        break;
      }
      reading = undefined;
      if (next.done) break;
      const m = next.value;
      const pts = ptsOf(m.attributes); // at its arrival
      if (result.width !== undefined && (m.width !== result.width || m.height !== result.height)) {
        throw new ImgStreamError(
          `image ${result.frames + 1} is u16[${m.height},${m.width}], but the ring's caps say ${result.height}x${result.width} ` +
            '(a ring keeps its caps; start a new ring for the new size)', 'shape', m.offset);
      }
      for (const name of m.repeated ?? []) {
        if (warned.has(`repeated ${name}`)) continue;
        warned.add(`repeated ${name}`);
        warn(`image ${result.frames + 1}: attribute "${name}" is given more than once: its last value is kept (said once per name)`);
      }
      const attributes = withoutReserved(m.attributes, (from, to) => {
        if (warned.has(from)) return;
        warned.add(from);
        warn(`image ${result.frames + 1}: attribute "${from}" is reserved (readers take it as the frame's own, not the image's): ` +
          `sent as "${to}" (so are later ones)`);
      });
      if (m.encoding === 'latin1') setAttribute(attributes, ENCODING_ATTRIBUTE, 'latin1');
      const size = jsonSize(attributes);
      if (((size + 7) & ~7) > MAX_ATTRIBUTE_BYTES) // padded to 8 in the header
        throw new ImgStreamError(`image ${result.frames + 1}: its attributes take ${size} bytes as JSON, ` +
          `more than the ${MAX_ATTRIBUTE_BYTES} a frame header holds`, 'header', m.offset);
      if (writer === undefined) {
        writer = await connectWhenThere(options.name, {
          frameHeader: true, connectTimeoutMs, intervalMs: 20, signal: options.signal, option: connectOption,
        });
        writer.setMetadata({
          caps: `video/x-raw, format=(string)${format}, width=(int)${m.width}, height=(int)${m.height}, framerate=(fraction)0/1`,
          ...(options.cameraId === undefined ? {} : { camera_id: options.cameraId }),
        });
        [result.width, result.height] = [m.width, m.height];
      }
      await writer.write(frameOf(m.pixels, m.width, m.height, format), {
        attributes, pts, timeoutMs, signal: options.signal,
      });
      result.frames++;
      options.onFrame?.({ frames: result.frames, width: m.width, height: m.height });
      if (options.signal?.aborted) break;
    }
  } finally {
    if (reading === undefined) await messages.return();
    await writer?.close();
  }
  return result;
}

/** p's result, or undefined once signal aborts first (p goes on: the caller handles its end). */
async function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T | undefined> {
  if (signal === undefined) return p;
  let stopListening = (): void => {};
  try {
    return await new Promise<T | undefined>((resolve, reject) => {
      p.then(resolve, reject);
      stopListening = onAbort(signal, () => resolve(undefined));
    });
  } finally {
    stopListening();
  }
}

// Per-frame attributes (an image id, a capture time, ...): a JSON object
// carried in the frame header after its fixed 48 bytes (zb_frame_ext attrs),
// padded with spaces to a multiple of 8 so the picture after it stays
// aligned. Only frames with the frame header carry them.
import { checkFixedCaps, checkRawCapsFields } from './caps-checks.js';
import { parseCaps } from './caps.js';
import { ProtocolError } from './errors.js';
import { received } from './option-checks.js';
import { RAW_FORMATS, undescribedVideoInfo, VideoInfoError, videoInfoFromCaps } from './video-info.js';

/**
 * A frame's attributes. The key "caps" is reserved: readers (zerosrc, the
 * Node reader) take it as that frame's own caps, where its format differs
 * from the ring's metadata, so it must be fixed caps (one structure, a
 * type/subtype media type, no lists or ranges).
 */
export type FrameAttributes = Record<string, string | number | boolean | null>;

/** Largest encoding the header can hold (ZB_EXT_MAX_ATTRS_SIZE, rounded down to 8). */
export const MAX_ATTRIBUTE_BYTES = 65480;

export function encodeAttributes(attributes: FrameAttributes): Uint8Array {
  if (typeof attributes !== 'object' || attributes === null || Array.isArray(attributes))
    throw new TypeError(`attributes must be an object of strings, numbers and booleans, received ${received(attributes)}`);
  for (const [k, v] of Object.entries(attributes))
    if (v !== null && !['string', 'number', 'boolean'].includes(typeof v))
      throw new TypeError(`attribute ${JSON.stringify(k)} must be a string, number, boolean or null, received ${typeof v}`);
  if (Object.hasOwn(attributes, 'caps'))
    checkFixedCaps(attributes['caps'], 'attribute "caps" is the frame\'s own caps (readers take it as the frame\'s format)');
  const json = Buffer.from(JSON.stringify(attributes), 'utf8');
  const padded = (json.length + 7) & ~7;
  if (padded > MAX_ATTRIBUTE_BYTES)
    throw new TypeError(`attributes take ${json.length} bytes as JSON; a frame header holds at most ${MAX_ATTRIBUTE_BYTES}`);
  const out = new Uint8Array(padded).fill(0x20);
  out.set(json);
  return out;
}

export { checkFixedCaps };

/**
 * Caps that elements push downstream as the frames' format (a duplex
 * server's outputCaps, which zerofilter takes): fixed (checkFixedCaps), and
 * raw caps with what describes a frame (video/x-raw: format, width and
 * height, as videoInfoFromCaps takes them, whatever the caps features, as
 * GStreamer's parser ignores them, but interlace-mode=alternate needs
 * format:Interlaced; a format the API does not
 * describe needs positive width and height; audio/x-raw: format, rate,
 * channels, layout, and channel-mask for more than 2 channels, of values
 * GStreamer takes: checkRawCapsFields), else the
 * reader that takes them fails on them: a TypeError that starts with `what`
 * and ends with `outcome` (zerofilter's refusal by default; zerosrc's for a
 * writer's metadata, a duplex server's for a client's requests).
 */
export function checkFrameCaps(value: unknown, what: string, outcome = 'zerofilter refuses them (EMETADATA)'): void {
  checkRawCapsFields(value, what, outcome);
  const caps = parseCaps(value as string);
  const s = caps.structures[0]!;
  const refuse = (why: string): never => {
    throw new TypeError(`${what}: the raw caps ${JSON.stringify(value)?.slice(0, 200)} ${why}; ${outcome}`);
  };
  if (s.mediaType !== 'video/x-raw') return;
  // one field a buffer: gst_video_info_from_caps takes it with the format:Interlaced feature only (then zerosrc
  // takes frames of any size, and the rest is checked as for other frames)
  const alternate = s.fields['interlace-mode']?.value === 'alternate';
  if (alternate && !s.features.includes('format:Interlaced'))
    refuse('describe no frame: interlace-mode=alternate (one field a buffer) needs the format:Interlaced caps feature, ' +
      'without which GStreamer cannot describe its frames');
  const fields = { ...s.fields };
  if (alternate) delete fields['interlace-mode'];
  try {
    // GStreamer's parser (gst_video_info_from_caps) ignores caps features but format:Interlaced: (memory:NVMM) NV12 is sized as NV12
    videoInfoFromCaps({ ...caps, structures: [{ ...s, features: [], fields }] });
  } catch (e) {
    if (!(e instanceof VideoInfoError)) throw e;
    const format = s.fields['format']!.value;
    // a format GStreamer may know that the API does not describe: sized, it is taken
    if (typeof format !== 'string' || (RAW_FORMATS as readonly string[]).includes(format)) refuse(`describe no frame: ${e.message}`);
    const info = undescribedVideoInfo(caps, e.message);
    if (info?.width === undefined || info.height === undefined)
      refuse('describe no frame: width and height must be fixed positive integers');
  }
}

/** The attribute object of a frame; ProtocolError when its bytes are not a JSON object. */
export function decodeAttributes(bytes: Uint8Array, sequence: number): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (e) {
    value = e;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Error)
    throw new ProtocolError(`frame ${sequence}: its ${bytes.byteLength} attribute bytes are not a JSON object`, {
      code: 'EPROTO', cause: value instanceof Error ? value : undefined,
    });
  return value as Record<string, unknown>;
}

const CAPS_KEY = new TextEncoder().encode('"caps"');

/**
 * The "caps" attribute (zerofilter frame-header=true after the input caps
 * changed: the frame's caps, where the ring's metadata has the first ones),
 * or undefined when there is none (or the attributes are not JSON: then
 * frame.attributes reports it).
 */
export function capsAttribute(bytes: Uint8Array): string | undefined {
  if (Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf(CAPS_KEY) < 0) return undefined;
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(bytes));
    const caps = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)['caps'] : undefined;
    return typeof caps === 'string' ? caps : undefined;
  } catch {
    return undefined;
  }
}

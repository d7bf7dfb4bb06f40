// Per-frame attributes (an image id, a capture time, ...): a JSON object
// carried in the frame header after its fixed 48 bytes (zb_frame_ext attrs),
// padded with spaces to a multiple of 8 so the picture after it stays
// aligned. Only frames with the frame header carry them.
import { ProtocolError } from './errors.js';

export type FrameAttributes = Record<string, string | number | boolean | null>;

/** Largest encoding the header can hold (ZB_EXT_MAX_ATTRS_SIZE, rounded down to 8). */
export const MAX_ATTRIBUTE_BYTES = 65480;

export function encodeAttributes(attributes: FrameAttributes): Uint8Array {
  if (typeof attributes !== 'object' || attributes === null || Array.isArray(attributes))
    throw new TypeError(`attributes must be an object of strings, numbers and booleans, received ${JSON.stringify(attributes)}`);
  for (const [k, v] of Object.entries(attributes))
    if (v !== null && !['string', 'number', 'boolean'].includes(typeof v))
      throw new TypeError(`attribute ${JSON.stringify(k)} must be a string, number, boolean or null, received ${typeof v}`);
  const json = Buffer.from(JSON.stringify(attributes), 'utf8');
  const padded = (json.length + 7) & ~7;
  if (padded > MAX_ATTRIBUTE_BYTES)
    throw new TypeError(`attributes take ${json.length} bytes as JSON; a frame header holds at most ${MAX_ATTRIBUTE_BYTES}`);
  const out = new Uint8Array(padded).fill(0x20);
  out.set(json);
  return out;
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

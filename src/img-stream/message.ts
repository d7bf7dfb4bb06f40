// The 16-bit `img=` wire format of scientific camera servers, one image per
// message:
//   img=<SOH>u16[HEIGHT,WIDTH] key=value …<STX><HEIGHT×WIDTH×2 bytes><ETX>\n
// SOH 0x01, STX 0x02, ETX 0x03. Pixels are row-major, each pixel's two bytes
// swapped from the little-endian order of the machine that made them: big
// endian, which is GStreamer's GRAY16_BE. Attribute values are tokens without
// spaces, or {…} (e.g. timestamp={2024-04-25T12:34:56.789}); spaces are
// ASCII's (space, tab, CR, LF, VT, FF), so a Latin-1 header's 0xA0 is a byte
// of its value.
import { ZeroBufferError } from '../errors.js';

export const SOH = 0x01;
export const STX = 0x02;
export const ETX = 0x03;
export const LF = 0x0a;
export const PREFIX = 'img=';

export interface ImgMessage {
  height: number;
  width: number;
  /** Attributes in the order sent; braced values keep their braces. A name sent again keeps its last value. */
  attributes: Record<string, string>;
  /** The names sent more than once (in attributes with their last value), when any; ingest warns of each. */
  repeated?: string[];
  /** height × width × 2 bytes, big endian (GRAY16_BE); a view of the input when it arrived in one chunk. */
  pixels: Uint8Array;
  /** Byte offset in the stream where the message begins (its "img="). */
  offset: number;
  /**
   * How the header's bytes were read: 'utf-8' when they are valid UTF-8,
   * else 'latin1', one character per byte (U+0000–U+00FF: 0xB5 is "µ"), so
   * that no byte is lost and formatImgMessage(…, { encoding: 'latin1' })
   * writes them back as they came.
   */
  encoding: ImgEncoding;
}

export type ImgEncoding = 'utf-8' | 'latin1';

/**
 * The frame attribute ingest adds, "latin1", to an image whose header is
 * not UTF-8 (ImgMessage.encoding): serve then writes the header back in
 * Latin-1, byte for byte.
 */
export const ENCODING_ATTRIBUTE = 'img.encoding';

/**
 * Frame attribute names that are the frame's own, not an image's: `caps`
 * (zerosink and zerofilter write it after their caps changed; zerosrc and
 * the Node reader read it as the frame's caps) and ENCODING_ATTRIBUTE. An
 * img= attribute of such a name is renamed by ingest `img.NAME` (with a
 * warning); serve writes none of them as an attribute.
 */
export const RESERVED_ATTRIBUTES: readonly string[] = ['caps', ENCODING_ATTRIBUTE];

export type ImgStreamProblem = 'shape' | 'header' | 'short-read' | 'etx' | 'size';

/** A stream that is not (or stops being) `img=` messages; `problem` says how, `offset` where. */
export class ImgStreamError extends ZeroBufferError {
  readonly problem: ImgStreamProblem;
  /** Byte offset in the stream where the problem was seen. */
  readonly offset: number;
  constructor(message: string, problem: ImgStreamProblem, offset: number) {
    super(`${message} (img= stream, byte ${offset})`, { code: 'EIMGSTREAM' });
    this.problem = problem;
    this.offset = offset;
  }
}

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** What an img= attribute's name may be (a regular expression's source). */
export const ATTRIBUTE_NAME = KEY.source;

/** True when `key` can be an img= attribute's name. */
export function isAttributeName(key: string): boolean {
  return KEY.test(key);
}

/**
 * Sets record[key] as an own property, whatever the key: an attribute named
 * `__proto__` is kept as one (plain assignment would set the prototype and
 * lose it).
 */
export function setAttribute<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}
const VALUE = /^(\{[^{}]*\}|[^ \t\n\v\f\r{}]+)$/;

/** Throws a TypeError unless `key=value` would be read back as it is. */
export function checkAttribute(key: string, value: string): void {
  if (!KEY.test(key)) throw new TypeError(`img= attribute name ${JSON.stringify(key)} must match ${KEY.source}`);
  if (!VALUE.test(value) || /[\x00-\x1f]/.test(value))
    throw new TypeError(`img= attribute ${key}: value ${JSON.stringify(value)} must be a token without spaces or {…}`);
}

// formatImgMessage: a frame (GRAY16_BE as is, GRAY16_LE swapped) or 16-bit
// pixels → one `img=` message.
import type { Frame } from '../frame.js';
import { sourceImage, type Image } from '../image.js';
import { optionNames, received, validateOptions } from '../option-checks.js';
import { checkAttribute, ETX, LF, PREFIX, SOH, STX, type ImgEncoding } from './message.js';

export interface ImgPixels {
  width: number;
  height: number;
  /** width × height × 2 bytes, rows packed. */
  data: Uint8Array;
  /** Byte order of `data`. @default 'BE' */
  byteOrder?: 'BE' | 'LE';
}

type Attributes = Record<string, string | number>;

export interface ImgFormatOptions {
  /**
   * How the header's characters become bytes: UTF-8, or Latin-1 (one byte
   * each, U+0000–U+00FF only: the bytes a header read as 'latin1' came
   * with, ImgMessage.encoding). @default 'utf-8'
   */
  encoding?: ImgEncoding;
}

const IMG_FORMAT_OPTIONS = optionNames<ImgFormatOptions>({ encoding: true });

function header(height: number, width: number, attributes: Attributes, encoding: ImgEncoding): Uint8Array {
  if (encoding !== 'utf-8' && encoding !== 'latin1') throw new TypeError(`img= header encoding must be utf-8 or latin1, received ${received(encoding)}`);
  const parts = Object.entries(attributes).map(([k, v]) => {
    const value = String(v);
    checkAttribute(k, value);
    if (encoding === 'latin1' && /[^\x00-\xff]/.test(value))
      throw new TypeError(`img= attribute ${k}: value ${JSON.stringify(value)} has characters beyond Latin-1 (U+00FF): it cannot be written as latin1`);
    return ` ${k}=${value}`;
  });
  const [soh, stx] = [String.fromCharCode(SOH), String.fromCharCode(STX)];
  return Buffer.from(`${PREFIX}${soh}u16[${height},${width}]${parts.join('')}${stx}`, encoding === 'utf-8' ? 'utf8' : 'latin1');
}

function pixelsOf(source: Frame | Image | ImgPixels): { width: number; height: number; be: Uint8Array } {
  let width: number, height: number, data: Uint8Array, order: 'BE' | 'LE', stride: number;
  if ('release' in source || 'planes' in source) {
    const img = sourceImage(source, 'formatImgParts');
    if (img.format !== 'GRAY16_BE' && img.format !== 'GRAY16_LE')
      throw new TypeError(`img= messages carry GRAY16 pictures; this one is ${img.format}`);
    ({ width, height, data, stride } = img);
    order = img.format === 'GRAY16_BE' ? 'BE' : 'LE';
  } else {
    ({ width, height, data } = source);
    order = source.byteOrder ?? 'BE';
    stride = width * 2;
  }
  const row = width * 2;
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width <= 0 || height <= 0)
    throw new TypeError(`img= pictures need a positive width and height, received ${width}x${height}`);
  // an Image's stride is the caller's: NaN passed the size check below and
  // sent zeros, a short one sent rows that overlap
  if (!Number.isSafeInteger(stride) || stride < row)
    throw new TypeError(`${width}x${height} 16-bit pixels need rows of at least ${row} bytes, received a stride of ${stride}`);
  if (data.byteLength < stride * (height - 1) + row)
    throw new TypeError(`${width}x${height} 16-bit pixels need ${row * height} bytes, received ${data.byteLength}`);
  if (order === 'BE' && stride === row) return { width, height, be: data.subarray(0, row * height) };
  const be = new Uint8Array(row * height);
  for (let y = 0; y < height; y++) {
    const src = data.subarray(y * stride, y * stride + row);
    const dst = be.subarray(y * row, (y + 1) * row);
    if (order === 'BE') dst.set(src);
    else for (let i = 0; i < row; i += 2) [dst[i], dst[i + 1]] = [src[i + 1]!, src[i]!];
  }
  return { width, height, be };
}

/**
 * The message as three pieces (header, pixels, trailer) so a writer can send
 * them without copying the pixels: `pixels` is the frame's own bytes for
 * unpadded GRAY16_BE (keep the frame until they are written).
 */
export function formatImgParts(
  source: Frame | Image | ImgPixels, attributes: Attributes = {}, given?: ImgFormatOptions,
): [Uint8Array, Uint8Array, Uint8Array] {
  const options = validateOptions(given, IMG_FORMAT_OPTIONS);
  const { width, height, be } = pixelsOf(source);
  return [header(height, width, attributes, options.encoding ?? 'utf-8'), be, Uint8Array.of(ETX, LF)];
}

/** One `img=` message: `img=<SOH>u16[H,W] k=v…<STX>` + big-endian pixels + `<ETX>\n`. */
export function formatImgMessage(source: Frame | Image | ImgPixels, attributes: Attributes = {}, options?: ImgFormatOptions): Uint8Array {
  return Buffer.concat(formatImgParts(source, attributes, options));
}

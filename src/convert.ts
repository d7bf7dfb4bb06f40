// Frames to the pictures vision code expects: packed 8-bit RGB (H×W×3),
// RGBA (H×W×4) or gray (H×W), no row padding. Pixels are computed by the
// addon (native/addon/convert.c) as GStreamer 1.22's videoconvert computes
// them; a frame that already is in the wanted layout is handed over as is
// (copied into the caller's `out` when one is given).
import { types } from 'node:util';
import { grayColorimetry, yuvColorimetry } from './colorimetry.js';
import { MetadataError } from './errors.js';
import type { Frame } from './frame.js';
import { isGray, isYuv, sourceImage, type Image } from './image.js';
import { native } from './native.js';
import { optionNames, validateOptions } from './options.js';
import { RAW_FORMATS, type RawFormat } from './video-info.js';

/** The raw formats toRGB, toRGBA and toGray convert: all of them. */
export const TO_RGB_FORMATS: readonly RawFormat[] = RAW_FORMATS;

type Target = 'RGB' | 'RGBA' | 'GRAY8';
const CHANNELS: Record<Target, 1 | 3 | 4> = { RGB: 3, RGBA: 4, GRAY8: 1 };

function result(img: Image, target: Target, data: Uint8Array): Image {
  const stride = img.width * CHANNELS[target];
  return {
    width: img.width, height: img.height, channels: CHANNELS[target], format: target, stride, bitsPerSample: 8,
    planes: [{ offset: 0, stride, height: img.height }], data, encoded: false,
    ...(img.sequence === undefined ? {} : { sequence: img.sequence }),
  };
}

// The frame's bytes already are the packed picture asked for.
function asIs(img: Image, target: Target): Uint8Array | undefined {
  const bytes = img.width * img.height * CHANNELS[target];
  const plane0 = img.planes[0];
  if (plane0 === undefined || plane0.offset !== 0 || plane0.stride !== img.width * CHANNELS[target]) return undefined;
  const same = img.format === target || (target === 'GRAY8' && isYuv(img.format) && img.format !== 'YUY2' && img.format !== 'UYVY');
  return same && img.data.byteLength >= bytes ? img.data.subarray(0, bytes) : undefined;
}

export interface ConvertOptions {
  /**
   * Write the pixels here (at least width × height × channels bytes; the
   * result's data is a view of it) instead of a new buffer per frame: saves
   * the allocation and its page faults in a loop. Filled also when the
   * frame already is the picture asked for (a copy, which the frame's
   * release does not empty).
   */
  out?: Uint8Array;
}

const CONVERT_OPTIONS = optionNames<ConvertOptions>({ out: true });

function convert(source: Frame | Image, target: Target, given: ConvertOptions | undefined): Image {
  const options = validateOptions(given, CONVERT_OPTIONS);
  const img = sourceImage(source, { RGB: 'toRGB', RGBA: 'toRGBA', GRAY8: 'toGray' }[target]);
  if (img.encoded)
    throw new MetadataError(
      `${img.sequence === undefined ? 'image' : `frame ${img.sequence}`}: ${img.mimeType} frames are encoded; ` +
        'decode them with decodeImage()',
      { code: 'EFORMAT' },
    );
  const bytes = img.width * img.height * CHANNELS[target];
  if (options.out !== undefined && (!types.isUint8Array(options.out) || options.out.byteLength < bytes))
    throw new TypeError(`out must be a Uint8Array of at least ${bytes} bytes for ${img.width}x${img.height} ${target}`);
  const view = asIs(img, target);
  // a caller who gave out wants the pixels there (a view of the ring dies at release): one copy
  if (view !== undefined && options.out === undefined) return result(img, target, view);
  const out = options.out?.subarray(0, bytes) ?? new Uint8Array(bytes);
  if (view !== undefined) {
    out.set(view);
    return result(img, target, out);
  }
  const c = isYuv(img.format) ? (img.colorimetry ?? yuvColorimetry(undefined, img.height))
    : isGray(img.format) ? (img.colorimetry ?? grayColorimetry(undefined)) : undefined;
  native.convert(img.data, {
    format: img.format as RawFormat, width: img.width, height: img.height,
    offsets: img.planes.map((p) => p.offset), strides: img.planes.map((p) => p.stride),
    ...(c === undefined ? {} : { kr: c.kr, kb: c.kb, fullRange: c.range === 'full', hCosited: c.hCosited, vCosited: c.vCosited }),
    interlacedCaps: img.interlaceMode !== undefined, interlacedFrame: img.interlaced === true,
  }, out, img.width * CHANNELS[target], CHANNELS[target]);
  return result(img, target, out);
}

/**
 * Packed 8-bit RGB, height × width × 3, of a frame (or of frame.image()),
 * as videoconvert would make it: YUV with the caps' colorimetry (of
 * interlaced frames, 4:2:0 chroma by field), gray stretched when its
 * colorimetry says limited range, 16-bit gray rounded to 8 bits, alpha
 * dropped. No copy when the frame already is
 * packed RGB and no `out` is given. Throws MetadataError for encoded frames (see decodeImage),
 * FrameSizeError when the frame's size does not match its caps, and a
 * TypeError (code EINVAL) for an image whose own colorimetry's kr and kb
 * make no usable matrix (1 - kr - kb near 0).
 */
export function toRGB(source: Frame | Image, options?: ConvertOptions): Image {
  return convert(source, 'RGB', options);
}

/** Like toRGB with a fourth byte: the frame's alpha, or 255. */
export function toRGBA(source: Frame | Image, options?: ConvertOptions): Image {
  return convert(source, 'RGBA', options);
}

/**
 * 8-bit gray, height × width: GRAY8 as is, GRAY16 rounded to 8 bits, BT.601
 * luma of RGB, and of YUV the luma samples as stored (what OpenCV's
 * YUV2GRAY gives: no range expansion). No copy for GRAY8 and for the Y plane
 * of I420/YV12/NV12/NV21 when its rows are not padded, unless `out` is given.
 */
export function toGray(source: Frame | Image, options?: ConvertOptions): Image {
  return convert(source, 'GRAY8', options);
}

// Encoded frames (image/jpeg, image/png) to packed 8-bit RGB through sharp
// (libvips with libjpeg-turbo/mozjpeg and libpng, prebuilt from the npm
// registry), loaded on first use. Raw frames go through toRGB, so
// decodeImage() gives RGB for any frame. Bad bytes are an ImageDecodeError
// naming the frame, never a zero image. encodePng keeps GRAY16 16-bit, 16-bit
// PNG frames as they came, and writes the 16-bit RGB formats with alpha
// (ARGB64 & co., which nothing else here takes) as 16-bit RGBA.
import { toRGB } from './convert.js';
import { FrameSizeError, ImageDecodeError, ZeroBufferError } from './errors.js';
import type { Frame } from './frame.js';
import { sourceImage, type Image } from './image.js';
import { RGBA64_FORMATS } from './video-info.js';

type Sharp = (typeof import('sharp'))['default'];
let loading: Promise<Sharp> | undefined;

/**
 * sharp, loaded once; a clear error when it is not installed (an optional
 * dependency: `npm install --omit=optional` leaves it out) or has no
 * libvips for this platform. Not exported: its type would make the
 * declarations need sharp.
 */
function loadSharp(): Promise<Sharp> {
  loading ??= import('sharp').then(
    (m) => m.default,
    (e: unknown) => {
      loading = undefined;
      throw new ZeroBufferError(
        `decoding and PNG encoding need the "sharp" package and its prebuilt libvips for ${process.platform}-${process.arch} ` +
          `(an optional dependency: npm install sharp): ${(e as Error).message}`,
        { code: 'ENODECODER', cause: e },
      );
    },
  );
  return loading!;
}

/** Why PNG and JPEG work cannot be done here (sharp missing), or undefined: for checks before anything starts. */
export async function decoderProblem(): Promise<string | undefined> {
  try {
    await loadSharp();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

function describe(img: Image): string {
  return `${img.sequence === undefined ? 'image' : `frame ${img.sequence}`} (${img.mimeType}, ${img.data.byteLength} bytes)`;
}

const JPEG_SIGNATURE = [0xff, 0xd8, 0xff];

/** The media type whose signature the bytes start with: image/jpeg, image/png, or undefined. */
function encodedTypeOf(bytes: Uint8Array): 'image/jpeg' | 'image/png' | undefined {
  const starts = (signature: number[]): boolean => bytes.byteLength >= signature.length && signature.every((b, i) => bytes[i] === b);
  return starts(JPEG_SIGNATURE) ? 'image/jpeg' : starts(PNG_SIGNATURE) ? 'image/png' : undefined;
}

function hex(bytes: Uint8Array): string {
  return bytes.byteLength === 0 ? 'no bytes' : Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/**
 * Packed 8-bit RGB (height × width × 3) of any frame, in bytes of its own
 * (read or copied before the first await, so the frame may be released once
 * this is called): encoded frames are decoded (a 16-bit PNG's samples keep
 * their high byte, libvips's cut, where toRGB rounds GRAY16; a JPEG's EXIF
 * orientation is not applied, as jpegdec does not), raw frames converted by
 * toRGB (packed RGB copied, where toRGB gives the frame's bytes). Throws ImageDecodeError (code 'EDECODE')
 * for corrupt or truncated data, for bytes that are not the JPEG or PNG its
 * caps say (by their signature), and for a picture whose size is not the
 * one its caps give.
 */
export async function decodeImage(source: Frame | Image): Promise<Image> {
  const img = sourceImage(source, 'decodeImage');
  if (!img.encoded) {
    // a promise of a view that the frame's release empties is a trap: packed RGB, which toRGB leaves in place, is copied
    const rgb = toRGB(img);
    return rgb.data.buffer === img.data.buffer ? { ...rgb, data: rgb.data.slice() } : rgb;
  }
  const bytes = Buffer.from(img.data); // a copy, made before the first await: the frame may be released meanwhile
  const what = describe(img);
  const fail = (message: string, cause?: unknown): ImageDecodeError =>
    new ImageDecodeError(`${what}: ${message}`, { code: 'EDECODE', cause, sequence: img.sequence });
  // without sharp nothing decodes, whatever the bytes: that is the first thing to say
  const sharp = await loadSharp();
  // sharp decodes whatever the bytes are: the caps' media type is checked here
  const actual = encodedTypeOf(bytes);
  if (actual !== img.mimeType)
    throw fail(actual === undefined
      ? `the bytes do not start as ${img.mimeType} does (${hex(bytes.subarray(0, 8))})`
      : `the bytes are ${actual}, but its caps say ${img.mimeType}`);
  let decoded: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    decoded = await sharp(bytes, { failOn: 'warning' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw fail(`cannot decode: ${(e as Error).message.split('\n')[0]}`, e);
  }
  const { width, height, channels } = decoded.info;
  if (channels !== 3) throw fail(`decodes to ${channels} channels, not RGB`);
  if ((img.width > 0 && img.width !== width) || (img.height > 0 && img.height !== height))
    throw fail(`decodes to ${width}x${height}, but its caps say ${img.width}x${img.height}`);
  const stride = width * 3;
  const data = new Uint8Array(decoded.data.buffer, decoded.data.byteOffset, decoded.data.byteLength);
  return {
    width, height, channels: 3, format: 'RGB', stride, bitsPerSample: 8, planes: [{ offset: 0, stride, height }], data,
    encoded: false, ...(img.sequence === undefined ? {} : { sequence: img.sequence }),
  };
}

/**
 * The samples of a GRAY16 picture as numbers (a Uint16Array in this host's
 * order, rows unpadded), read in the frame's byte order: what sharp takes
 * as 16-bit raw input (it tells the depth by the array's type).
 */
function gray16Samples(img: Image): Uint16Array {
  const { width, height } = img;
  const { offset, stride } = img.planes[0] ?? { offset: 0, stride: 0 };
  const row = width * 2;
  // Doubles: a caller's stride up to 2^53 makes the end large, never wrongly small; NaN fails every test.
  if (!(Number.isSafeInteger(offset) && offset >= 0 && stride >= row && offset + stride * (height - 1) + row <= img.data.byteLength))
    throw Object.assign(new TypeError(
      `encodePng: plane 0 (offset ${offset}, stride ${stride}, ${height} rows) does not fit in the ${img.data.byteLength} source bytes`,
    ), { code: 'EINVAL' });
  const bytes = new DataView(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  const littleEndian = img.format === 'GRAY16_LE';
  const samples = new Uint16Array(width * height);
  for (let y = 0, i = 0; y < height; y++)
    for (let x = 0, at = offset + y * stride; x < width; x++, at += 2) samples[i++] = bytes.getUint16(at, littleEndian);
  return samples;
}

/**
 * The samples of a frame in one of RGBA64_FORMATS as R, G, B, A numbers (a
 * Uint16Array in this host's order), or undefined for any other source
 * (which sourceImage takes or refuses). Such frames have no image(): their
 * layout is read from the caps here. A frame of another size than its caps
 * give is a FrameSizeError, as frame.image() makes it.
 */
function rgba64Samples(source: Frame | Image): { samples: Uint16Array; width: number; height: number } | undefined {
  if (typeof source !== 'object' || source === null || !('release' in source) || source.released) return undefined;
  const info = source.metadata?.videoInfo;
  const format = info?.mediaType === 'video/x-raw' ? info.format : undefined;
  const layout = format !== undefined && Object.hasOwn(RGBA64_FORMATS, format) ? RGBA64_FORMATS[format] : undefined;
  const { width, height } = info ?? {};
  if (layout === undefined || width === undefined || height === undefined) return undefined;
  if (source.size !== width * height * 8)
    throw new FrameSizeError(
      `frame ${source.sequence} has ${source.size} bytes, but ${format} ${width}x${height} ` +
        `frames have ${width * height * 8} (caps "${source.metadata?.capsString}")`,
      { code: 'EFRAMESIZE' },
    );
  const data = source.data;
  const bytes = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const samples = new Uint16Array(width * height * 4);
  for (let at = 0, i = 0; i < samples.length; at += 8)
    for (const word of layout.rgba) samples[i++] = bytes.getUint16(at + word * 2, layout.littleEndian);
  return { samples, width, height };
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const PNG_COLORS: Record<number, PngColor> = { 0: 'gray', 2: 'RGB', 3: 'palette', 4: 'gray+alpha', 6: 'RGBA' };

export type PngColor = 'gray' | 'RGB' | 'palette' | 'gray+alpha' | 'RGBA';

/**
 * The bit depth and color type a PNG file's header (IHDR) says, or
 * undefined when the bytes do not start as a PNG file does.
 */
export function pngHeader(bytes: Uint8Array): { bitDepth: number; color: PngColor } | undefined {
  if (bytes.byteLength < 26 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) return undefined;
  if (String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') return undefined;
  const color = PNG_COLORS[bytes[25]!];
  return color === undefined ? undefined : { bitDepth: bytes[24]!, color };
}

/**
 * PNG file bytes of a frame's picture (any format decodeImage takes):
 * 8-bit RGB, except GRAY16_LE and GRAY16_BE, which give a 16-bit gray PNG
 * holding the samples exactly as stored (no range stretch, nothing rounded),
 * PNG frames of 16-bit samples, which are their own bytes (decoded first,
 * so a corrupt one or one of another size than its caps say is an
 * ImageDecodeError as with decodeImage): every sample, and alpha, as sent;
 * and frames of the 16-bit RGB formats with alpha (RGBA64_FORMATS: ARGB64,
 * RGBA64_LE, ...; a Frame, as they have no image()), which give a 16-bit
 * RGBA PNG of their samples as stored. Bytes that are not the JPEG or PNG
 * their caps say are an ImageDecodeError, as with decodeImage.
 */
export async function encodePng(source: Frame | Image): Promise<{ png: Buffer; width: number; height: number }> {
  const rgba64 = rgba64Samples(source); // a copy, made before the first await: the frame may be released meanwhile
  if (rgba64 !== undefined) {
    const { samples, width, height } = rgba64;
    const sharp = await loadSharp();
    const png = await sharp(samples, { raw: { width, height, channels: 4 } }).toColourspace('rgb16').png().toBuffer();
    return { png, width, height };
  }
  const img = sourceImage(source, 'encodePng');
  if (img.encoded && img.format === 'PNG' && pngHeader(img.data)?.bitDepth === 16) {
    const png = Buffer.from(img.data); // a copy, made before the first await: the frame may be released meanwhile
    const { width, height } = await decodeImage({ ...img, data: png });
    return { png, width, height };
  }
  if (img.format === 'GRAY16_LE' || img.format === 'GRAY16_BE') {
    const samples = gray16Samples(img); // a copy, made before the first await: the frame may be released meanwhile
    const sharp = await loadSharp();
    const png = await sharp(samples, { raw: { width: img.width, height: img.height, channels: 1 } }).toColourspace('grey16').png().toBuffer();
    return { png, width: img.width, height: img.height };
  }
  const rgb = await decodeImage(img);
  const sharp = await loadSharp();
  const png = await sharp(rgb.data, { raw: { width: rgb.width, height: rgb.height, channels: 3 } }).png().toBuffer();
  return { png, width: rgb.width, height: rgb.height };
}

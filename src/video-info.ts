// Raw video layout from caps: planes, strides, offsets and frame size as
// GStreamer's gst_video_info_set_format() lays out a frame by default
// (rows rounded up to 4 bytes, chroma of odd sizes rounded up).
import os from 'node:os';
import { isFraction, type Caps, type CapsStructure, type Fraction } from './caps.js';
import { ZeroBufferError } from './errors.js';
import { native } from './native.js';

export const RAW_FORMATS = [
  'RGB', 'BGR', 'RGBA', 'BGRA', 'RGBx', 'BGRx', 'xRGB', 'xBGR', 'ARGB', 'ABGR', 'GRAY8', 'GRAY16_LE', 'GRAY16_BE',
  'I420', 'YV12', 'NV12', 'NV21', 'YUY2', 'UYVY',
] as const;
export type RawFormat = (typeof RAW_FORMATS)[number];

/**
 * The 16-bit RGB formats with alpha of GStreamer 1.22 (pngdec makes ARGB64
 * of 16-bit RGB and RGBA PNG files): not described (no image(), no toRGB),
 * but encodePng and --snapshot write them as 16-bit RGBA PNGs. Of each:
 * which of a pixel's four 16-bit words are R, G, B and A, and their byte
 * order (ARGB64's is the host's). Rows are width × 8 bytes, never padded.
 */
export const RGBA64_FORMATS: Readonly<Record<string, { rgba: readonly [number, number, number, number]; littleEndian: boolean }>> = {
  ARGB64: { rgba: [1, 2, 3, 0], littleEndian: os.endianness() === 'LE' },
  ARGB64_LE: { rgba: [1, 2, 3, 0], littleEndian: true },
  ARGB64_BE: { rgba: [1, 2, 3, 0], littleEndian: false },
  RGBA64_LE: { rgba: [0, 1, 2, 3], littleEndian: true },
  RGBA64_BE: { rgba: [0, 1, 2, 3], littleEndian: false },
  BGRA64_LE: { rgba: [2, 1, 0, 3], littleEndian: true },
  BGRA64_BE: { rgba: [2, 1, 0, 3], littleEndian: false },
  ABGR64_LE: { rgba: [3, 2, 1, 0], littleEndian: true },
  ABGR64_BE: { rgba: [3, 2, 1, 0], littleEndian: false },
};

export interface PlaneInfo {
  offset: number;
  stride: number;
  /** Rows in this plane. */
  height: number;
}

export interface VideoInfo {
  mediaType: string;
  /**
   * Raw format, or undefined for image/jpeg and image/png. A format the API
   * does not describe keeps its caps name (e.g. 'ABGR64_LE'), with `described` false.
   */
  format?: RawFormat | (string & {});
  width?: number;
  height?: number;
  framerate?: Fraction;
  pixelAspectRatio?: Fraction;
  /** Raw video: the planes; empty for encoded images. */
  planes: PlaneInfo[];
  /** Raw video: bytes per row of plane 0 (strides[i] for all planes). */
  strides: number[];
  offsets: number[];
  /** Raw video: bytes of one frame; undefined for encoded images. */
  size?: number;
  /** True for encoded images (image/jpeg, image/png): frames are encoded bytes. */
  encoded: boolean;
  /**
   * The API describes these caps (a raw format of RAW_FORMATS, image/jpeg
   * or image/png). When false, only mediaType, format, width, height and
   * framerate are filled in, and `reason` says "<FORMAT> not described".
   */
  described: boolean;
  reason?: string;
}

// Arithmetic, not bit operations: those cut to 32 bits, and a width near
// 2^31 times 4 bytes per pixel is past that.
const up2 = (n: number): number => Math.ceil(n / 2) * 2;
const up4 = (n: number): number => Math.ceil(n / 4) * 4;

/** GStreamer's int: caps widths and heights, and its strides, fit in it. */
const INT_MAX = 2147483647;

/** Planes of a raw format at width × height. */
export function planesFor(format: RawFormat, width: number, height: number, interlaced = false): { planes: PlaneInfo[]; size: number } {
  const one = (stride: number): { planes: PlaneInfo[]; size: number } => ({
    planes: [{ offset: 0, stride, height }],
    size: stride * height,
  });
  switch (format) {
    case 'RGB':
    case 'BGR':
      return one(up4(width * 3));
    case 'RGBA':
    case 'BGRA':
    case 'RGBx':
    case 'BGRx':
    case 'xRGB':
    case 'xBGR':
    case 'ARGB':
    case 'ABGR':
      return one(width * 4);
    case 'GRAY8':
      return one(up4(width));
    case 'GRAY16_LE':
    case 'GRAY16_BE':
      return one(up4(width * 2));
    case 'YUY2':
    case 'UYVY':
      return one(up4(up2(width) * 2));
    case 'I420':
    case 'YV12': { // YV12: the same planes, V before U
      const s0 = up4(width);
      const s1 = up4(up2(width) / 2);
      const ch = chromaRows(height, interlaced);
      const o1 = s0 * up2(height);
      const o2 = o1 + s1 * ch;
      return {
        planes: [
          { offset: 0, stride: s0, height },
          { offset: o1, stride: s1, height: ch },
          { offset: o2, stride: s1, height: ch },
        ],
        size: o2 + s1 * ch,
      };
    }
    case 'NV12':
    case 'NV21': {
      const s0 = up4(width);
      const o1 = s0 * up2(height);
      const ch = chromaRows(height, interlaced);
      return {
        planes: [
          { offset: 0, stride: s0, height },
          { offset: o1, stride: s0, height: ch },
        ],
        size: o1 + s0 * ch,
      };
    }
  }
}

/**
 * Chroma rows of a 4:2:0 frame. Interlaced, GStreamer gives both fields as
 * many (an even count): 34 rows have 18, not 17 (gst_video_info_fill_planes).
 */
function chromaRows(height: number, interlaced: boolean): number {
  const rows = up2(height) / 2;
  return interlaced ? up2(rows) : rows;
}

/** Caps the API cannot lay out as a picture (code ECAPS): another media type, a format it does not describe, fields not fixed, sizes out of range. */
export class VideoInfoError extends ZeroBufferError {
  constructor(message: string) {
    super(message, { code: 'ECAPS' });
  }
}

function positiveInt(caps: Caps, name: string, required: boolean): number | undefined {
  const v = caps.structures[0]?.fields[name]?.value;
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0 || v > INT_MAX) {
    const found = String(v);
    throw new VideoInfoError(
      `caps field "${name}" must be a fixed positive integer (at most ${INT_MAX}), found ` +
        JSON.stringify(found.length > 40 ? `${found.slice(0, 40)}...` : found),
    );
  }
  return v;
}

/**
 * The layout, when GStreamer could lay it out (strides within its int) and a
 * ring could ever hold such a frame: absurd sizes from another process's caps
 * are an error, not a negative or inexact byte count.
 */
function checkedPlanes(format: RawFormat, width: number, height: number, interlaced: boolean): { planes: PlaneInfo[]; size: number } {
  const layout = planesFor(format, width, height, interlaced);
  const stride = Math.max(...layout.planes.map((p) => p.stride));
  if (stride > INT_MAX)
    throw new VideoInfoError(`${format} ${width}x${height}: rows of ${stride} bytes are over GStreamer's ${INT_MAX}`);
  if (layout.size > native.maxPayloadSize)
    throw new VideoInfoError(
      `${format} ${width}x${height}: frames of ${(layout.size / 2 ** 30).toFixed(1)} GiB are over the ` +
        `${native.maxPayloadSize / 2 ** 30} GiB a ring can hold`,
    );
  return layout;
}

/** Video info of fixed caps (video/x-raw in a supported format, image/jpeg or image/png). */
export function videoInfoFromCaps(caps: Caps): VideoInfo {
  const s = caps.structures[0];
  if (s === undefined) throw new VideoInfoError('caps have no structure (ANY or EMPTY)');
  const framerate = s.fields['framerate']?.value;
  const par = s.fields['pixel-aspect-ratio']?.value;
  const common = {
    mediaType: s.mediaType,
    framerate: isFraction(framerate) ? framerate : undefined,
    pixelAspectRatio: isFraction(par) ? par : undefined,
  };
  if (s.mediaType === 'image/jpeg' || s.mediaType === 'image/png') {
    return {
      ...common,
      width: positiveInt(caps, 'width', false),
      height: positiveInt(caps, 'height', false),
      planes: [],
      strides: [],
      offsets: [],
      encoded: true,
      described: true,
    };
  }
  if (s.mediaType !== 'video/x-raw')
    throw new VideoInfoError(`media type "${s.mediaType}" is not supported (video/x-raw, image/jpeg or image/png)`);
  if (s.features.length > 0 && !s.features.every((f) => f === 'memory:SystemMemory'))
    throw new VideoInfoError(`caps features ${s.features.join(', ')} are not system memory`);
  const format = s.fields['format']?.value;
  if (typeof format !== 'string') throw new VideoInfoError('caps field "format" must be a fixed string');
  if (!(RAW_FORMATS as readonly string[]).includes(format))
    throw new VideoInfoError(`raw format "${format}" is not supported (one of ${RAW_FORMATS.join(', ')})`);
  const width = positiveInt(caps, 'width', true)!;
  const height = positiveInt(caps, 'height', true)!;
  // GStreamer lays out every interlace-mode but progressive (and one it does
  // not know, which it takes for progressive) as interlaced; alternate frames
  // are single fields
  const interlaceMode = s.fields['interlace-mode']?.value;
  if (interlaceMode === 'alternate')
    throw new VideoInfoError('interlace-mode=alternate (one field a buffer) is not supported');
  const interlaced = interlaceMode === 'interleaved' || interlaceMode === 'mixed' || interlaceMode === 'fields';
  const { planes, size } = checkedPlanes(format as RawFormat, width, height, interlaced);
  return {
    ...common,
    format: format as RawFormat,
    width,
    height,
    planes,
    strides: planes.map((p) => p.stride),
    offsets: planes.map((p) => p.offset),
    size,
    encoded: false,
    described: true,
  };
}

const integer = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);

/**
 * How messages name frames the API does not describe: a raw format by its
 * name ("ABGR64_LE"), another media type's format with its type ("rggb
 * (video/x-bayer)"), else the media type.
 */
export function undescribedName(s: CapsStructure): string {
  const format = s.fields['format']?.value;
  if (typeof format !== 'string') return s.mediaType;
  return s.mediaType === 'video/x-raw' ? format : `${format} (${s.mediaType})`;
}

/**
 * What a pipeline ends with to give RGB frames of this media type:
 * videoconvert for raw video, bayer2rgb before it for Bayer (videoconvert
 * cannot take it, nor can decodebin), a decoder before it for anything else;
 * undefined for audio, which no element makes a picture of.
 */
export function toRgbTail(mediaType: string): string | undefined {
  if (mediaType.startsWith('audio/')) return undefined;
  const before = mediaType === 'video/x-raw' ? '' : mediaType === 'video/x-bayer' ? 'bayer2rgb ! ' : 'decodebin ! ';
  return `! ${before}videoconvert ! video/x-raw,format=RGB`;
}

/**
 * What caps the API does not describe still tell (media type, format name,
 * size, framerate), with `reason`: "<FORMAT> not described" (with the media
 * type when it is not video/x-raw) and how to get a described format. `why`
 * is videoInfoFromCaps's complaint.
 */
export function undescribedVideoInfo(caps: Caps, why: string): VideoInfo | undefined {
  const s = caps.structures[0];
  if (s === undefined) return undefined;
  const format = s.fields['format']?.value;
  const framerate = s.fields['framerate']?.value;
  const name = undescribedName(s);
  const unknownFormat = s.mediaType === 'video/x-raw' && typeof format === 'string' && !(RAW_FORMATS as readonly string[]).includes(format);
  const unknownType = s.mediaType !== 'video/x-raw' && s.mediaType !== 'image/jpeg' && s.mediaType !== 'image/png';
  const tail = toRgbTail(s.mediaType);
  const reason = unknownFormat || unknownType
    ? `${name} not described (described: video/x-raw in ${RAW_FORMATS.join(', ')}, image/jpeg and image/png` +
      `${tail === undefined ? '' : `; convert with ${tail}`})`
    : `${name} not described: ${why}`;
  return {
    mediaType: s.mediaType,
    format: typeof format === 'string' ? format : undefined,
    width: integer(s.fields['width']?.value),
    height: integer(s.fields['height']?.value),
    framerate: isFraction(framerate) ? framerate : undefined,
    planes: [],
    strides: [],
    offsets: [],
    encoded: false,
    described: false,
    reason,
  };
}

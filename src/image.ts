// Pictures from frames: frame.image() describes the bytes (no copy); the
// conversions (convert.ts) and decoding (decode.ts) start from it. A frame
// whose size does not match its caps, or a stream without usable caps, is an
// error, never a silent all-zero image.
import { types } from 'node:util';
import { grayColorimetry, yuvColorimetry, type Colorimetry } from './colorimetry.js';
import { FrameSizeError, MetadataError } from './errors.js';
import type { Frame, PlainUint8Array } from './frame.js';
import type { PlaneInfo, RawFormat, VideoInfo } from './video-info.js';

/**
 * A picture's layout and bytes. Data is PlainUint8Array (over an ArrayBuffer)
 * for frame.image(); toRGB() and friends also take Images callers made, whose
 * bytes may be over a SharedArrayBuffer.
 */
export interface Image<Data extends Uint8Array = Uint8Array> {
  width: number;
  height: number;
  /**
   * Interleaved channels of plane 0 (RGB 3, RGBA 4, GRAY 1, YUY2 2); for
   * encoded frames 3, what decodeImage gives (the caps do not say the file's).
   */
  channels: number;
  /** Raw format name, or 'JPEG' / 'PNG' for encoded frames. */
  format: RawFormat | 'JPEG' | 'PNG';
  /** Bytes per row of plane 0; 0 for encoded frames. */
  stride: number;
  /**
   * Bits per channel sample (8 or 16); for encoded frames 8, what
   * decodeImage gives, also of a 16-bit PNG (the caps do not say the file's depth).
   */
  bitsPerSample: number;
  planes: PlaneInfo[];
  /** The bytes (the frame's view: valid until the frame is released). */
  data: Data;
  /** True for encoded frames; `mimeType` says how. */
  encoded: boolean;
  mimeType?: string;
  /** YUV and gray formats: how the samples become RGB (from the caps, else GStreamer's defaults). */
  colorimetry?: Colorimetry;
  /**
   * Raw video whose caps' `interlace-mode` is not progressive. videoconvert
   * then takes its generic path for every frame (I420/YV12 chroma is
   * interpolated, as NV12's always is).
   */
  interlaceMode?: 'interleaved' | 'mixed' | 'fields';
  /**
   * With interlaceMode: the rows alternate between two fields, so 4:2:0
   * chroma rows belong to fields. Always for interleaved (and fields); for
   * mixed, when the frame header's buffer flags say INTERLACED (without a
   * frame header the frame counts as progressive, as videoconvert takes a
   * buffer without that flag).
   */
  interlaced?: boolean;
  /** The frame's sequence number, for error messages. */
  sequence?: number;
}

const CHANNELS: Record<RawFormat, number> = {
  RGB: 3, BGR: 3, RGBA: 4, BGRA: 4, RGBx: 4, BGRx: 4, xRGB: 4, xBGR: 4, ARGB: 4, ABGR: 4, GRAY8: 1, GRAY16_LE: 1,
  GRAY16_BE: 1, I420: 1, YV12: 1, NV12: 1, NV21: 1, YUY2: 2, UYVY: 2,
};
const YUV = new Set<RawFormat>(['I420', 'YV12', 'NV12', 'NV21', 'YUY2', 'UYVY']);
const GRAY = new Set<RawFormat>(['GRAY8', 'GRAY16_LE', 'GRAY16_BE']);
const INTERLACE_MODES = new Set(['interleaved', 'mixed', 'fields']);
/** GST_VIDEO_BUFFER_FLAG_INTERLACED (GST_BUFFER_FLAG_LAST << 0): a frame of a mixed stream that is interlaced. */
const BUFFER_FLAG_INTERLACED = 1 << 20;

/** The format is YUV (its samples need a colorimetry to become RGB). */
export function isYuv(format: Image['format']): boolean {
  return YUV.has(format as RawFormat);
}

/** The format is gray (its range decides how it becomes RGB). */
export function isGray(format: Image['format']): boolean {
  return GRAY.has(format as RawFormat);
}

/** The described video info of a frame's caps; throws (ENOCAPS, or the metadata's problem) when there is none. */
export function infoOf(frame: Frame): VideoInfo {
  const m = frame.metadata;
  if (m === undefined)
    throw new MetadataError(`frame ${frame.sequence}: the ring has no metadata, so its picture format is unknown`, {
      code: 'ENOCAPS',
    });
  if (m.videoInfo === undefined || !m.videoInfo.described)
    throw m.problem ?? new MetadataError(`frame ${frame.sequence}: metadata has no usable caps`, { code: 'ENOCAPS' });
  return m.videoInfo;
}

/**
 * The picture of what a caller passed as a Frame or an Image (frame.image()):
 * a TypeError naming `fn` for anything else, not a failure deep inside.
 */
export function sourceImage(source: Frame | Image, fn: string): Image {
  if (typeof source === 'object' && source !== null) {
    if ('release' in source) return frameImage(source);
    if (types.isUint8Array(source.data) && Array.isArray(source.planes) && Number.isInteger(source.width) &&
      Number.isInteger(source.height)) return source;
  }
  throw new TypeError(`${fn}: expected a Frame or an Image (frame.image()), got ${described(source)}`);
}

function described(value: unknown): string {
  if (value === null || typeof value !== 'object') return String(value);
  if (ArrayBuffer.isView(value) || Array.isArray(value)) return `a ${value.constructor.name}`;
  const keys = Object.keys(value);
  return `an object with keys ${keys.slice(0, 8).join(', ') || '(none)'}${keys.length > 8 ? ', ...' : ''}`;
}

/** Describes a frame's picture; throws when caps are missing or the size is wrong. */
export function frameImage(frame: Frame): Image<PlainUint8Array> {
  const data = frame.bytes('image()');
  const info = infoOf(frame);
  if (info.encoded) {
    return {
      width: info.width ?? 0,
      height: info.height ?? 0,
      channels: 3,
      format: info.mediaType === 'image/png' ? 'PNG' : 'JPEG',
      stride: 0,
      bitsPerSample: 8,
      planes: [],
      data,
      encoded: true,
      mimeType: info.mediaType,
      sequence: frame.sequence,
    };
  }
  const format = info.format as RawFormat;
  if (frame.size !== info.size)
    throw new FrameSizeError(
      `frame ${frame.sequence} has ${frame.size} bytes, but ${format} ${info.width}x${info.height} ` +
        `frames have ${info.size} (caps "${frame.metadata?.capsString}")`,
      { code: 'EFRAMESIZE' },
    );
  return {
    width: info.width!,
    height: info.height!,
    channels: CHANNELS[format],
    format,
    stride: info.strides[0]!,
    bitsPerSample: format.startsWith('GRAY16') ? 16 : 8,
    planes: info.planes,
    data,
    encoded: false,
    ...(YUV.has(format) ? { colorimetry: yuvColorimetry(frame.caps, info.height!) } : {}),
    ...(GRAY.has(format) ? { colorimetry: grayColorimetry(frame.caps) } : {}),
    ...interlacingOf(frame),
    sequence: frame.sequence,
  };
}

// What GStreamer 1.22 makes of the caps' interlace-mode (an unknown one is
// progressive) and, for mixed, of the buffer's INTERLACED flag (gst_video_frame_map).
function interlacingOf(frame: Frame): Pick<Image, 'interlaceMode' | 'interlaced'> {
  const mode = frame.caps?.structures[0]?.fields['interlace-mode']?.value;
  if (typeof mode !== 'string' || !INTERLACE_MODES.has(mode)) return {};
  return {
    interlaceMode: mode as Image['interlaceMode'] & string,
    interlaced: mode !== 'mixed' || ((frame.flags ?? 0) & BUFFER_FLAG_INTERLACED) !== 0,
  };
}

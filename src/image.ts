// Pictures from frames: frame.image() describes the bytes (no copy), toRGB()
// gives packed 8-bit RGB (H×W×3) — the frame's own bytes when they already
// are packed RGB. A frame whose size does not match its caps, or a stream
// without usable caps, is an error, never a silent all-zero image.
import { FrameSizeError, MetadataError } from './errors.js';
import type { Frame } from './frame.js';
import type { PlaneInfo, RawFormat, VideoInfo } from './video-info.js';

export interface Image {
  width: number;
  height: number;
  /** Interleaved channels of plane 0 (RGB 3, RGBA 4, GRAY 1, YUY2 2). */
  channels: number;
  /** Raw format name, or 'JPEG' for encoded frames. */
  format: RawFormat | 'JPEG';
  /** Bytes per row of plane 0; 0 for encoded frames. */
  stride: number;
  /** Bits per channel sample (8 or 16). */
  bitsPerSample: number;
  planes: PlaneInfo[];
  /** The bytes (the frame's view: valid until the frame is released). */
  data: Uint8Array;
  /** True for encoded frames; `mimeType` says how. */
  encoded: boolean;
  mimeType?: string;
}

const CHANNELS: Record<RawFormat, number> = {
  RGB: 3, BGR: 3, RGBA: 4, BGRA: 4, RGBx: 4, BGRx: 4, GRAY8: 1, GRAY16_LE: 1, GRAY16_BE: 1, I420: 1, NV12: 1, YUY2: 2,
};

function infoOf(frame: Frame): VideoInfo {
  const m = frame.metadata;
  if (m === undefined)
    throw new MetadataError(`frame ${frame.sequence}: the ring has no metadata, so its picture format is unknown`, {
      code: 'ENOCAPS',
    });
  if (m.videoInfo === undefined || !m.videoInfo.described)
    throw m.problem ?? new MetadataError(`frame ${frame.sequence}: metadata has no usable caps`, { code: 'ENOCAPS' });
  return m.videoInfo;
}

/** Describes a frame's picture; throws when caps are missing or the size is wrong. */
export function frameImage(frame: Frame): Image {
  if (frame.released)
    throw new FrameSizeError(`frame ${frame.sequence} was released: its bytes are gone`, { code: 'ERELEASED' });
  const info = infoOf(frame);
  if (info.encoded) {
    return {
      width: info.width ?? 0,
      height: info.height ?? 0,
      channels: 3,
      format: 'JPEG',
      stride: 0,
      bitsPerSample: 8,
      planes: [],
      data: frame.data,
      encoded: true,
      mimeType: info.mediaType,
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
    data: frame.data,
    encoded: false,
  };
}

// Byte offsets of R, G, B within a pixel, and the pixel size.
const RGB_LAYOUT: Partial<Record<RawFormat, [number, number, number, number]>> = {
  RGB: [0, 1, 2, 3],
  BGR: [2, 1, 0, 3],
  RGBA: [0, 1, 2, 4],
  RGBx: [0, 1, 2, 4],
  BGRA: [2, 1, 0, 4],
  BGRx: [2, 1, 0, 4],
};

/** The raw formats toRGB converts. */
export const TO_RGB_FORMATS: readonly RawFormat[] = [...(Object.keys(RGB_LAYOUT) as RawFormat[]), 'GRAY8', 'GRAY16_LE', 'GRAY16_BE'];

/**
 * Packed 8-bit RGB (height × width × 3, no row padding) of a frame (or of an
 * Image from frame.image()). No copy when the frame already is packed RGB.
 * GRAY16 is scaled to 8 bits (the high byte), in the format's byte order.
 */
export function toRGB(source: Frame | Image): Image {
  const img = 'release' in source ? frameImage(source) : source;
  if (img.encoded)
    throw new MetadataError(`${img.mimeType} frames are encoded; decode them first (frame.data is the file)`, {
      code: 'EFORMAT',
    });
  const { width, height, stride, data } = img;
  const rowBytes = width * 3;
  const out = (bytes: Uint8Array): Image => ({
    width, height, channels: 3, format: 'RGB', stride: rowBytes, bitsPerSample: 8,
    planes: [{ offset: 0, stride: rowBytes, height }], data: bytes, encoded: false,
  });
  if (img.format === 'RGB' && stride === rowBytes) return out(data.subarray(0, rowBytes * height));
  const rgb = new Uint8Array(rowBytes * height);
  const layout = RGB_LAYOUT[img.format as RawFormat];
  if (layout !== undefined) {
    const [r, g, b, px] = layout;
    for (let y = 0; y < height; y++) {
      let i = y * stride;
      let o = y * rowBytes;
      for (let x = 0; x < width; x++, i += px, o += 3) {
        rgb[o] = data[i + r]!;
        rgb[o + 1] = data[i + g]!;
        rgb[o + 2] = data[i + b]!;
      }
    }
    return out(rgb);
  }
  let bytesPerPixel: number;
  let high: number; // offset of the byte kept
  switch (img.format) {
    case 'GRAY8':
      [bytesPerPixel, high] = [1, 0];
      break;
    case 'GRAY16_LE':
      [bytesPerPixel, high] = [2, 1];
      break;
    case 'GRAY16_BE':
      [bytesPerPixel, high] = [2, 0];
      break;
    default:
      throw new MetadataError(`toRGB does not convert ${img.format}; use frame.image() and its planes`, {
        code: 'EFORMAT',
      });
  }
  for (let y = 0; y < height; y++) {
    let i = y * stride + high;
    let o = y * rowBytes;
    for (let x = 0; x < width; x++, i += bytesPerPixel, o += 3) {
      const v = data[i]!;
      rgb[o] = v;
      rgb[o + 1] = v;
      rgb[o + 2] = v;
    }
  }
  return out(rgb);
}

// The sizes a frame of raw caps can have as zerosrc takes them
// (gstzerobuffer.c's zerobuffer_frame_size_fits): raw video in system
// memory one size, GStreamer's default layout; raw audio whole sample
// frames. A writer refuses other sizes before the ring: zerosrc would stop
// at such a frame for good.
import { parseCaps, type CapsStructure } from './caps.js';
import { audioSampleBytes } from './caps-checks.js';
import { RGBA64_FORMATS, videoInfoFromCaps } from './video-info.js';

/**
 * Raw video formats the API does not describe whose frames it can still size: one plane of 8 bytes a
 * pixel (16 bits a channel), rows never padded, interlaced or not (GstVideoInfo of GStreamer 1.22 gives
 * ARGB64 3x5 and AYUV64 3x5 120 bytes).
 */
const EIGHT_BYTE_PIXEL_FORMATS: readonly string[] = [...Object.keys(RGBA64_FORMATS), 'AYUV64'];

/** GStreamer's int: caps widths and heights fit in it. */
const INT_MAX = 2147483647;

/**
 * The size of a frame of raw video in one of EIGHT_BYTE_PIXEL_FORMATS, or undefined. interlace-mode=alternate
 * (a field a buffer) is not sized: GStreamer describes it only with the format:Interlaced caps feature,
 * whose frames zerosrc takes at any size.
 */
function eightBytePixelFrame(s: CapsStructure): FrameSizeRule | undefined {
  const format = s.fields['format']?.value;
  const width = s.fields['width']?.value;
  const height = s.fields['height']?.value;
  const dimension = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= INT_MAX;
  if (typeof format !== 'string' || !EIGHT_BYTE_PIXEL_FORMATS.includes(format) || !dimension(width) || !dimension(height) ||
    width * 8 > INT_MAX || s.fields['interlace-mode']?.value === 'alternate')
    return undefined;
  return { kind: 'video', format, width, height, size: width * 8 * height };
}

/** What sizes frames of some caps have: one size (raw video) or a multiple of a sample frame (raw audio). */
export type FrameSizeRule =
  | { kind: 'video'; format: string; width: number; height: number; size: number }
  | { kind: 'audio'; format: string; channels: number; sampleFrame: number };

/**
 * The rule for frames of `caps`, or undefined when zerosrc takes frames of
 * any size: other media types, caps features other than system memory,
 * caps it cannot read; and raw video formats this package can neither lay
 * out (video-info.ts's RAW_FORMATS) nor size (EIGHT_BYTE_PIXEL_FORMATS),
 * whose frames zerosrc still checks (GstVideoInfo): I420_10LE, v210, P010
 * and the like.
 */
export function frameSizeRule(caps: string): FrameSizeRule | undefined {
  let parsed;
  try {
    parsed = parseCaps(caps);
  } catch {
    return undefined;
  }
  const s = parsed.structures[0];
  if (parsed.any || parsed.structures.length !== 1 || s === undefined) return undefined;
  if (s.mediaType === 'video/x-raw') {
    try {
      const info = videoInfoFromCaps(parsed);
      return { kind: 'video', format: info.format!, width: info.width!, height: info.height!, size: info.size! };
    } catch {
      return s.features.every((f) => f === 'memory:SystemMemory') ? eightBytePixelFrame(s) : undefined;
    }
  }
  if (s.mediaType !== 'audio/x-raw' || !s.features.every((f) => f === 'memory:SystemMemory')) return undefined;
  const format = s.fields['format']?.value;
  const channels = s.fields['channels']?.value;
  const bytes = typeof format === 'string' ? audioSampleBytes(format) : undefined;
  if (bytes === undefined || typeof channels !== 'number' || !Number.isInteger(channels) || channels < 1) return undefined;
  return { kind: 'audio', format: format as string, channels, sampleFrame: bytes * channels };
}

/**
 * Why a frame of `size` bytes is not a frame of its caps, in zerosink's
 * words for the buffers it refuses (EFRAMESIZE), or undefined when it is.
 */
export function frameSizeMismatch(rule: FrameSizeRule | undefined, size: number): string | undefined {
  if (rule?.kind === 'video' && size !== rule.size)
    return `a frame of ${size} bytes is not a frame of its caps: ${rule.format} ${rule.width}x${rule.height} frames have ` +
      `${rule.size} bytes (a raw video frame is laid out as GStreamer lays it out by default: rows rounded up to 4 bytes, no padding)`;
  if (rule?.kind === 'audio' && size % rule.sampleFrame !== 0)
    return `a frame of ${size} bytes is not raw audio of its caps: ${rule.format} audio of ${rule.channels} ` +
      `channel${rule.channels === 1 ? '' : 's'} comes in whole sample frames of ${rule.sampleFrame} bytes`;
  return undefined;
}

// The sizes a frame of raw caps can have as zerosrc takes them
// (gstzerobuffer.c's zerobuffer_frame_size_fits): raw video in system
// memory one size, GStreamer's default layout; raw audio whole sample
// frames. A writer refuses other sizes before the ring: zerosrc would stop
// at such a frame for good.
import { parseCaps } from './caps.js';
import { audioSampleBytes } from './caps-checks.js';
import { videoInfoFromCaps } from './video-info.js';

/** What sizes frames of some caps have: one size (raw video) or a multiple of a sample frame (raw audio). */
export type FrameSizeRule =
  | { kind: 'video'; format: string; width: number; height: number; size: number }
  | { kind: 'audio'; format: string; channels: number; sampleFrame: number };

/**
 * The rule for frames of `caps`, or undefined when zerosrc takes frames of
 * any size: other media types, caps features other than system memory,
 * caps it cannot read, and raw video formats this package does not
 * describe (video-info.ts's RAW_FORMATS lays out the others).
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
      return undefined;
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

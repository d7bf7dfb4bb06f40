// Ring sizes for a source: from the caps filter at its end when it says
// enough (3 frames of that size plus headers), else room for 3 frames of
// 1920×1080 with 4 bytes per pixel.
import { parseCaps, type Caps } from '../caps.js';
import { videoInfoFromCaps } from '../video-info.js';

export const DEFAULT_METADATA_SIZE = 4096;
/** Frames the ring holds by default. */
export const RING_FRAMES = 3;
/** Per frame: the ring's 16-byte header and our optional 48-byte frame header. */
const FRAME_OVERHEAD = 16 + 48;
const FALLBACK_FRAME = 1920 * 1080 * 4;

const align64 = (n: number): number => Math.ceil(n / 64) * 64;

/** The source's last caps filter (e.g. video/x-raw,format=RGB), parsed; undefined when none or unparsable. */
export function capsFromSource(words: readonly string[]): Caps | undefined {
  const elements = words.join(' ').split('!').map((e) => e.trim());
  for (let i = elements.length - 1; i >= 0; i--) {
    const element = elements[i]!;
    if (!/^[a-z]+\/[a-z0-9.+-]+(\s*,|$)/i.test(element)) continue;
    try {
      return parseCaps(element);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Bytes of one frame as the source's last caps filter describes it, or undefined. */
export function frameSizeFromSource(words: readonly string[]): number | undefined {
  const caps = capsFromSource(words);
  if (caps === undefined) return undefined;
  try {
    return videoInfoFromCaps(caps).size;
  } catch {
    return undefined;
  }
}

export interface RingSizes {
  metadataSize: number;
  payloadSize: number;
  /** Where payloadSize came from. */
  from: 'caps' | 'default';
}

export function defaultSizes(words: readonly string[]): RingSizes {
  const frame = frameSizeFromSource(words);
  const from = frame === undefined ? 'default' : 'caps';
  return {
    metadataSize: DEFAULT_METADATA_SIZE,
    payloadSize: align64(RING_FRAMES * ((frame ?? FALLBACK_FRAME) + FRAME_OVERHEAD)),
    from,
  };
}

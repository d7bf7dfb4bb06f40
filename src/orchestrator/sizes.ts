// Ring sizes for a source: for the frames the caps filter at its end
// describes when it says enough, else the readers' fallback, by the core's
// rule (zb_default_payload_size: 2 to 4 frames, as many as fit in 32 MiB,
// up to 64 of small frames, with room for the per-frame header; 3
// frames of 1080p RGB when the frame size is unknown).
import { parseCaps, type Caps } from '../caps.js';
import { native } from '../native.js';
import { videoInfoFromCaps } from '../video-info.js';

export const DEFAULT_METADATA_SIZE = 4096;

/** Elements that pass their input's caps on unchanged (videorate: the frame rate only, not a frame's bytes). */
const CAPS_KEEPING = new Set(['queue', 'queue2', 'identity', 'videorate', 'valve', 'clocksync', 'progressreport']);

/**
 * The caps filter the source ends with (e.g. video/x-raw,format=RGB), parsed: its last element, or one
 * that only elements keeping caps follow (queue, identity, videorate, ...); undefined when none, when a
 * converter or decoder comes after it (its output is not known here: bayer2rgb, vp8dec, videoconvert),
 * or unparsable.
 */
export function capsFromSource(words: readonly string[]): Caps | undefined {
  const elements = words.join(' ').split('!').map((e) => e.trim());
  for (let i = elements.length - 1; i >= 0; i--) {
    const element = elements[i]!;
    if (!/^[a-z]+\/[a-z0-9.+-]+(\s*,|$)/i.test(element)) {
      if (!CAPS_KEEPING.has(element.split(/\s/, 1)[0]!)) return undefined;
      continue;
    }
    try {
      return parseCaps(element);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Bytes of one frame as the caps filter the source ends with describes it, or undefined. */
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
  /** Frames of the caps' size the ring holds (from: 'caps'). */
  frames?: number;
}

/**
 * A duplex server's request ring for the source's frames with `depth` requests waiting (zerofilter's
 * depth), by the core's rule for either ring of a channel (zb_duplex_payload_size: the frames in flight,
 * at least depth + 3, for in-place answers held downstream); the readers' fallback when the caps do not say.
 */
export function duplexSizes(words: readonly string[], depth: number = native.duplexDefaultDepth): RingSizes {
  const frame = frameSizeFromSource(words);
  const payloadSize = frame === undefined ? 0 : native.duplexPayloadSize(frame, depth);
  if (payloadSize === 0)
    return { metadataSize: DEFAULT_METADATA_SIZE, payloadSize: native.defaultPayloadSize(0), from: 'default' };
  return { metadataSize: DEFAULT_METADATA_SIZE, payloadSize, from: 'caps' };
}

export function defaultSizes(words: readonly string[]): RingSizes {
  const frame = frameSizeFromSource(words);
  if (frame === undefined || native.defaultPayloadSize(frame) === 0)
    return { metadataSize: DEFAULT_METADATA_SIZE, payloadSize: native.defaultPayloadSize(0), from: 'default' };
  return {
    metadataSize: DEFAULT_METADATA_SIZE,
    payloadSize: native.defaultPayloadSize(frame),
    from: 'caps',
    frames: native.defaultFramesInFlight(frame),
  };
}

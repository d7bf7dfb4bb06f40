// Ring sizes for a source: for the frames the caps filter at its end
// describes when it says enough, else the readers' fallback, by the core's
// rule (zb_default_payload_size: 2 to 4 frames, as many as fit in 32 MiB,
// up to 64 of small frames, with room for the per-frame header; raw audio,
// zb_default_payload_size_for_rate: 1 s of it, at least 64 KiB; 3 frames
// of 1080p RGB when the caps do not say).
import { parseCaps, type Caps } from '../caps.js';
import { audioBytesPerSecond } from '../caps-checks.js';
import { native } from '../native.js';
import { fail, validateSize } from '../options.js';
import { pipelineElements, splitPipeline } from '../runner/pipeline-tokens.js';
import { videoInfoFromCaps } from '../video-info.js';

/** The core's default (ZB_DEFAULT_METADATA_SIZE), as zerosrc's: room for caps with stream headers. */
export const DEFAULT_METADATA_SIZE: number = native.defaultMetadataSize;

/**
 * Elements that pass their input's caps on unchanged (videorate: the frame rate only, not a frame's bytes;
 * capsfilter without caps).
 */
const CAPS_KEEPING = new Set(['capsfilter', 'queue', 'queue2', 'identity', 'videorate', 'valve', 'clocksync', 'progressreport']);

/** A value as gst-launch hands it on (gst_parse_unescape): each `\` outside double quotes dropped, the character after it kept. */
function unescape(text: string): string {
  let out = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && !quoted) {
      i++;
      if (i === text.length) break;
    } else if (text[i] === '"' && (!quoted || text[i - 1] !== '\\')) quoted = !quoted;
    out += text[i];
  }
  return out;
}

/** Caps shorthand, as gst-launch takes it between two `!`: `video/x-raw,format=RGB` or `video/x-raw(memory:SystemMemory),...`. */
const CAPS_SHORTHAND = /^[a-z]+\/[a-z0-9.+-]+(\(|\s*,|$)/i;
/** capsfilter's caps property: its value unquoted, with escapes, or in double quotes (gst_parse_element_set strips those). */
const CAPS_PROPERTY = /(?:^|\s)caps\s*=\s*((?:\\.|"(?:\\.|[^"\\])*"|[^\s"\\])+)/;

/**
 * The caps text of an element of a description that filters caps: caps shorthand, or capsfilter with
 * its caps property (capsfilter without it keeps its input's caps); undefined for any other element.
 */
function filterCaps(element: string): string | undefined {
  if (CAPS_SHORTHAND.test(element)) return unescape(element);
  if (element.split(/\s/, 1)[0] !== 'capsfilter') return undefined;
  const value = CAPS_PROPERTY.exec(element)?.[1];
  if (value === undefined) return undefined;
  return unescape(value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value);
}

/** The source's caps filters from its end: each one's caps text, and whether only elements keeping caps follow it. */
function* capsFiltersFromEnd(words: readonly string[]): Generator<{ text: string; atEnd: boolean }> {
  const elements = pipelineElements(words);
  let atEnd = true;
  for (let i = elements.length - 1; i >= 0; i--) {
    const text = filterCaps(elements[i]!);
    if (text !== undefined) yield { text, atEnd };
    else atEnd &&= CAPS_KEEPING.has(elements[i]!.split(/\s/, 1)[0]!);
  }
}

/**
 * The source's last caps filter (e.g. video/x-raw,format=RGB, or capsfilter caps=...), parsed, and
 * whether the source ends with it: only elements keeping caps follow it (queue, identity, videorate, ...),
 * not a converter or decoder (bayer2rgb, vp8dec, videoconvert), whose output is not known here.
 * Undefined when none or unparsable.
 */
function lastCapsFilter(words: readonly string[]): { caps: Caps; atEnd: boolean } | undefined {
  for (const { text, atEnd } of capsFiltersFromEnd(words)) {
    try {
      return { caps: parseCaps(text), atEnd };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The caps filter the source ends with (see lastCapsFilter), or undefined: the caps of the frames it writes. */
export function capsFromSource(words: readonly string[]): Caps | undefined {
  const found = lastCapsFilter(words);
  return found?.atEnd ? found.caps : undefined;
}

/**
 * Bytes of one frame (raw video) or of one second (raw audio: `size` undefined) as the source's last caps
 * filter that gives either describes it, or undefined; `atEnd` false when a converter follows it (its frames
 * may be of another size: a converter in passthrough keeps it). A filter after it that gives no size
 * (`capsfilter caps=video/x-raw`, ANY, a format alone) narrows the caps and keeps the frames' size unless a
 * converter comes between.
 */
function frameOfSource(words: readonly string[]): { size?: number; bytesPerSecond?: number; atEnd: boolean } | undefined {
  for (const { text, atEnd } of capsFiltersFromEnd(words)) {
    try {
      const caps = parseCaps(text);
      const bytesPerSecond = caps.structures.length === 1 ? audioBytesPerSecond(caps.structures[0]!) : undefined;
      if (bytesPerSecond !== undefined) return { bytesPerSecond, atEnd };
      const size = videoInfoFromCaps(caps).size;
      if (size !== undefined) return { size, atEnd };
    } catch {
      // caps that give no frame size: the filters before it may
    }
  }
  return undefined;
}

/** A source's words: its description split as the CLI splits it, or its words as given; else a TypeError. */
function sourceWordsOf(source: unknown): readonly string[] {
  if (typeof source === 'string') return splitPipeline(source);
  if (Array.isArray(source) && source.every((w) => typeof w === 'string')) return source as string[];
  return fail('source', 'a pipeline description (string or string[])', source);
}

export interface RingSizes {
  metadataSize: number;
  payloadSize: number;
  /** Where payloadSize came from. */
  from: 'caps' | 'default';
  /** Frames of the caps' size the ring holds (from: 'caps', raw video). */
  frames?: number;
}

/**
 * A duplex server's request ring for the source's frames with `depth` requests waiting (zerofilter's
 * depth), by the core's rule for either ring of a channel (zb_duplex_payload_size: the frames in flight,
 * at least depth + 3, for in-place answers held downstream); raw audio, whose buffers are of any length,
 * as zerofilter sizes its response ring for it: depth + 3 buffers of up to 1 s each, at least 64 KiB
 * (zb_duplex_payload_size_for_rate); the readers' fallback when the caps do not say. `source`: a pipeline description (split as the CLI splits
 * it) or its words. TypeErrors name a bad `source` or `depth` (an integer >= 1).
 */
export function duplexSizes(source: string | readonly string[], depth: number = native.duplexDefaultDepth): RingSizes {
  validateSize('depth', depth, 1);
  const frame = frameOfSource(sourceWordsOf(source));
  const payloadSize = frame === undefined ? 0 : frame.size !== undefined
    ? native.duplexPayloadSize(frame.size, depth)
    : native.duplexPayloadSizeForRate(frame.bytesPerSecond!, depth);
  const fallback = native.defaultPayloadSize(0);
  if (payloadSize === 0 || !frame!.atEnd)
    return { metadataSize: DEFAULT_METADATA_SIZE, payloadSize: Math.max(fallback, payloadSize), from: 'default' };
  return { metadataSize: DEFAULT_METADATA_SIZE, payloadSize, from: 'caps' };
}

/**
 * The caps' frames in flight (raw audio: 1 s of it, at least 64 KiB, as zerosrc sizes it) when the source
 * ends with its caps filter; else the fallback, or (a converter after the filter, in passthrough when the
 * sink takes that format) the caps' frames if larger. `source` as for duplexSizes.
 */
export function defaultSizes(source: string | readonly string[]): RingSizes {
  const frame = frameOfSource(sourceWordsOf(source));
  const payloadSize = frame === undefined ? 0 : frame.size !== undefined
    ? native.defaultPayloadSize(frame.size)
    : native.defaultPayloadSizeForRate(frame.bytesPerSecond!);
  const fallback = native.defaultPayloadSize(0);
  if (payloadSize === 0 || !frame!.atEnd)
    return { metadataSize: DEFAULT_METADATA_SIZE, payloadSize: Math.max(fallback, payloadSize), from: 'default' };
  if (frame!.size === undefined) return { metadataSize: DEFAULT_METADATA_SIZE, payloadSize, from: 'caps' };
  return {
    metadataSize: DEFAULT_METADATA_SIZE,
    payloadSize,
    from: 'caps',
    frames: native.defaultFramesInFlight(frame!.size),
  };
}

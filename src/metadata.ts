// The ring's metadata: raw bytes, the JSON object (existing readers cut
// before the first '{' and after the last '}'), its caps and video info,
// and our extensions (the per-frame header).
import { checkRawCapsFields } from './caps-checks.js';
import { parseCaps, type Caps } from './caps.js';
import { formatStacks, MetadataError } from './errors.js';
import { native } from './native.js';
import { undescribedVideoInfo, videoInfoFromCaps, type VideoInfo } from './video-info.js';

export interface Metadata {
  /** The metadata content as written (without the length prefix). */
  bytes: Uint8Array;
  /** The content as UTF-8 text. */
  text: string;
  /** The JSON object, or undefined when the content is not JSON. */
  json?: Record<string, unknown>;
  /** The caps string of the "caps" key. */
  capsString?: string;
  caps?: Caps;
  /**
   * Video layout of the caps; for caps the API does not describe,
   * `described` is false and `reason` says so. Undefined only without caps.
   */
  videoInfo?: VideoInfo;
  /** Frames start with the 48-byte header ("zerobuffer": {"frame_header": 1}). */
  frameHeader: boolean;
  /**
   * Why caps or video info are missing, thrown by helpers that need them
   * (for audio caps: that they are no picture).
   */
  problem?: MetadataError;
}

/**
 * The problem stays with the metadata for the reader's life, and it is made
 * while the first frame is read, often inside a frames() loop: its stack is
 * formatted at once (formatStacks), or it kept the loop's closures and so a
 * dropped loop's last frame.
 */
function problem(message: string, cause?: unknown): MetadataError {
  return formatStacks(new MetadataError(message, { code: 'ENOCAPS', cause }));
}

/**
 * The metadata comes from another process: its JSON object is parsed only
 * when at most this long and this deeply nested (the plugin's limits), so
 * nothing downstream meets a value nested thousands deep.
 */
export const METADATA_JSON_MAX_LENGTH = 1 << 20;
export const METADATA_JSON_MAX_DEPTH = 64;

/** Deepest nesting of objects and arrays in JSON text (strings skipped). */
function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) deepest = Math.max(deepest, ++depth);
    else if ((c === 0x7d || c === 0x5d) && depth > 0) depth--;
  }
  return deepest;
}

/**
 * Decodes metadata bytes; never throws (see `problem`). capsOrigin names the
 * caps in a problem's message: the ring's metadata's, or a frame's own.
 */
export function parseMetadata(bytes: Uint8Array, capsOrigin = 'metadata caps'): Metadata {
  const text = new TextDecoder().decode(bytes);
  const m: Metadata = { bytes, text, frameHeader: false };
  const first = text.indexOf('{');
  const last = text.lastIndexOf('}');
  if (first < 0 || last < first) {
    m.problem = problem(`metadata is not JSON (${bytes.length} bytes: ${JSON.stringify(text.slice(0, 60))}); no caps`);
    return m;
  }
  const object = text.slice(first, last + 1);
  if (object.length > METADATA_JSON_MAX_LENGTH) {
    m.problem = problem(`metadata JSON of ${object.length} characters is over the ${METADATA_JSON_MAX_LENGTH} parsed; no caps`);
    return m;
  }
  const depth = jsonDepth(object);
  if (depth > METADATA_JSON_MAX_DEPTH) {
    m.problem = problem(`metadata JSON nests ${depth} levels deep, over the ${METADATA_JSON_MAX_DEPTH} parsed; no caps`);
    return m;
  }
  try {
    const json: unknown = JSON.parse(object);
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('not a JSON object');
    m.json = json as Record<string, unknown>;
  } catch (e) {
    m.problem = problem(`metadata is not a JSON object: ${(e as Error).message}`, e);
    return m;
  }
  try {
    m.frameHeader = native.metadataFrameHeader(bytes) === 1; // the core's convention, as the readers see it
  } catch {
    m.frameHeader = false; // an unreadable declaration: the reader reports each frame
  }
  const capsString = m.json['caps'];
  if (typeof capsString !== 'string') {
    m.problem = problem('metadata has no "caps" string: the writer did not describe its frames');
    return m;
  }
  m.capsString = capsString;
  try {
    m.caps = parseCaps(capsString);
    m.videoInfo = videoInfoFromCaps(m.caps);
  } catch (e) {
    if (m.caps !== undefined) m.videoInfo = undescribedVideoInfo(m.caps, (e as Error).message);
    m.problem = problem(capsProblem(capsString, m.caps, m.videoInfo?.reason ?? (e as Error).message, capsOrigin), e);
  }
  return m;
}

/**
 * Why caps have no described video info (`reason`): audio is no picture
 * rather than unusable caps, unless zerosrc refuses its raw caps too.
 */
function capsProblem(capsString: string, caps: Caps | undefined, reason: string, origin: string): string {
  const s = caps?.structures[0];
  if (s === undefined || !s.mediaType.startsWith('audio/')) return `${origin} are not usable: ${reason}`;
  if (s.mediaType === 'audio/x-raw') {
    try {
      checkRawCapsFields(capsString, `${origin} are not usable`, 'zerosrc refuses them');
    } catch (refused) {
      return (refused as Error).message;
    }
  }
  const format = s.fields['format']?.value;
  return `${origin} are audio (${typeof format === 'string' ? `${format} ${s.mediaType}` : s.mediaType}), not video: ` +
    'their frames have no picture (frame.image(), toRGB() and the like take video/x-raw and image/jpeg and image/png)';
}

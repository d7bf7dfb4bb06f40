// Checks of caps strings that need no addon: the CLI's argument parsing
// runs them before anything loads it (`plugin-path` must work beside an
// addon built for another version).
import { parseCaps, type CapsValue } from './caps.js';
import { received } from './option-checks.js';

/** A value that is one value (a list or a range is a choice of several; an array is fixed if its values are). */
function fixedValue(v: CapsValue): boolean {
  if (typeof v !== 'object' || v === null) return true;
  if ('list' in v || 'min' in v) return false;
  if ('array' in v) return v.array.every(fixedValue);
  return true; // a fraction
}

/**
 * Caps that readers take as frames' format (the "caps" attribute, the
 * metadata's caps), refused when readers could not use them: a TypeError
 * that starts with `what`.
 */
export function checkFixedCaps(value: unknown, what: string): void {
  const refuse = (why: string): never => {
    throw new TypeError(`${what}: it must be fixed caps such as "video/x-raw,format=RGB,width=2,height=2", ` +
      `received ${typeof value === 'string' ? JSON.stringify(value).slice(0, 200) : received(value)}: ${why}`);
  };
  if (typeof value !== 'string') return refuse('not a string');
  let caps;
  try {
    caps = parseCaps(value);
  } catch (e) {
    return refuse((e as Error).message);
  }
  if (caps.any) return refuse('ANY is no format');
  if (caps.structures.length !== 1) return refuse(`${caps.structures.length} structures, not one`);
  const s = caps.structures[0]!;
  if (!/^[^/\s]+\/[^/\s]+$/.test(s.mediaType)) return refuse(`its media type "${s.mediaType}" is not of the form type/subtype`);
  const open = Object.entries(s.fields).filter(([, f]) => !fixedValue(f.value)).map(([k]) => k);
  if (open.length > 0) return refuse(`${open.join(', ')} ${open.length === 1 ? 'is' : 'are'} not fixed (a list or a range)`);
}

/** The fields GStreamer needs to describe raw frames (gst_video_info_from_caps, gst_audio_info_from_caps), as zerosrc and zerofilter check them. */
const RAW_FIELDS: Readonly<Record<string, readonly string[]>> = {
  'video/x-raw': ['format', 'width', 'height'],
  'audio/x-raw': ['format', 'rate', 'channels', 'layout'],
};

/**
 * checkFixedCaps, and raw caps with the fields GStreamer needs to describe
 * their frames (RAW_FIELDS; raw audio of more than 2 channels also their
 * channel-mask, as gst_audio_info_from_caps positions only mono and stereo
 * itself), else a TypeError that starts with `what` and ends with `outcome`.
 */
export function checkRawCapsFields(value: unknown, what: string, outcome: string): void {
  checkFixedCaps(value, what);
  const s = parseCaps(value as string).structures[0]!;
  const missing = (RAW_FIELDS[s.mediaType] ?? []).filter((f) => s.fields[f] === undefined);
  const channels = s.fields['channels']?.value;
  const unpositioned = missing.length === 0 && s.mediaType === 'audio/x-raw' &&
    (typeof channels === 'number' || typeof channels === 'bigint') &&
    channels > 2 && s.fields['channel-mask'] === undefined;
  if (unpositioned) missing.push('channel-mask');
  if (missing.length > 0)
    throw new TypeError(`${what}: the raw caps ${JSON.stringify(value)?.slice(0, 200)} lack ${missing.join(', ')}, ` +
      `which GStreamer needs to describe their frames${unpositioned ?
        ' (the positions of more than 2 channels; channel-mask=(bitmask)0 for none)' : ''}; ${outcome}`);
}

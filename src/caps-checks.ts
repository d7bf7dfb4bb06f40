// Checks of caps strings that need no addon: the CLI's argument parsing
// runs them before anything loads it (`plugin-path` must work beside an
// addon built for another version).
import { parseCaps, type CapsField, type CapsStructure, type CapsValue } from './caps.js';
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
 * The sample formats of GStreamer 1.22's gst_audio_format_from_string (UNKNOWN is refused, ENCODED taken),
 * each with the bytes a sample takes (GST_AUDIO_FORMAT_INFO_WIDTH / 8: S24_32 in 4, S20 and S18 packed in
 * 3; ENCODED none).
 */
const AUDIO_SAMPLE_BYTES: Readonly<Record<string, number>> = {
  S8: 1, U8: 1, S16LE: 2, S16BE: 2, U16LE: 2, U16BE: 2, S24_32LE: 4, S24_32BE: 4, U24_32LE: 4, U24_32BE: 4,
  S32LE: 4, S32BE: 4, U32LE: 4, U32BE: 4, S24LE: 3, S24BE: 3, U24LE: 3, U24BE: 3, S20LE: 3, S20BE: 3, U20LE: 3,
  U20BE: 3, S18LE: 3, S18BE: 3, U18LE: 3, U18BE: 3, F32LE: 4, F32BE: 4, F64LE: 8, F64BE: 8, ENCODED: 0,
};
const AUDIO_FORMATS: readonly string[] = Object.keys(AUDIO_SAMPLE_BYTES);

const AUDIO_LAYOUTS: readonly string[] = ['interleaved', 'non-interleaved'];

/** A field as gst_structure_get_int takes it: of type int (gint), in its range. */
function gint(field: CapsField): number | undefined {
  const { type, value } = field;
  return (type === 'int' || type === 'gint') && typeof value === 'number' && Number.isInteger(value) &&
    value >= -2147483648 && value <= 2147483647 ? value : undefined;
}

/** Bytes of one sample of a raw audio format (AUDIO_SAMPLE_BYTES); undefined for ENCODED and unknown names. */
export function audioSampleBytes(format: string): number | undefined {
  const bytes = Object.hasOwn(AUDIO_SAMPLE_BYTES, format) ? AUDIO_SAMPLE_BYTES[format]! : 0;
  return bytes > 0 ? bytes : undefined;
}

/**
 * Bytes a second of raw audio whose format, rate and channels are fixed (rate × channels × bytes per
 * sample, planar or interleaved alike), as zerosrc reckons them to size its ring; undefined when the caps
 * do not say (not raw audio, a range or list, an encoded or unknown format).
 */
export function audioBytesPerSecond(s: CapsStructure): number | undefined {
  if (s.mediaType !== 'audio/x-raw') return undefined;
  const { format, rate, channels } = s.fields;
  const bytes = format?.type === 'string' && typeof format.value === 'string' ? audioSampleBytes(format.value) : undefined;
  const hz = rate && gint(rate);
  const count = channels && gint(channels);
  return hz && hz > 0 && count && count > 0 && bytes !== undefined ? hz * count * bytes : undefined;
}

/** How a field is written in caps: name=(type)value. */
function shown(name: string, field: CapsField): string {
  const value = typeof field.value === 'object' ? JSON.stringify(field.value) : String(field.value);
  return `${name}=(${field.type})${value}`;
}

/**
 * What of raw audio caps that have RAW_FIELDS gst_audio_info_from_caps
 * refuses, as zerosrc refuses it too (gstzerobuffer.c's
 * zerobuffer_raw_caps_unusable, which also refuses 0 channels or fewer),
 * or undefined. A missing channel-mask is the caller's to name.
 */
function audioFieldsRefused(s: CapsStructure): string | undefined {
  const { format, layout, rate, channels } = s.fields as Record<string, CapsField>;
  if (format!.type !== 'string' || !(AUDIO_FORMATS as readonly CapsValue[]).includes(format!.value))
    return `have ${shown('format', format!)}, not a raw audio format GStreamer knows (${AUDIO_FORMATS.join(', ')})`;
  if (layout!.type !== 'string' || !AUDIO_LAYOUTS.includes(layout!.value as string))
    return `have ${shown('layout', layout!)}: raw audio is laid out interleaved or non-interleaved`;
  if (gint(rate!) === undefined) return `have ${shown('rate', rate!)}, not an int`;
  const count = gint(channels!);
  if (count === undefined) return `have ${shown('channels', channels!)}, not an int`;
  if (count < 1) return `have ${shown('channels', channels!)}: raw audio has 1 channel or more`;
  const mask = s.fields['channel-mask'];
  if (mask !== undefined && mask.type !== 'bitmask') return `have ${shown('channel-mask', mask)}, not a bitmask`;
  return undefined;
}

/**
 * checkFixedCaps, and raw caps with the fields GStreamer needs to describe
 * their frames (RAW_FIELDS; raw audio of more than 2 channels also their
 * channel-mask, as gst_audio_info_from_caps positions only mono and stereo
 * itself; raw audio's fields of the values and types it takes:
 * audioFieldsRefused), else a TypeError that starts with `what` and ends
 * with `outcome`.
 */
export function checkRawCapsFields(value: unknown, what: string, outcome: string): void {
  checkFixedCaps(value, what);
  const s = parseCaps(value as string).structures[0]!;
  const missing = (RAW_FIELDS[s.mediaType] ?? []).filter((f) => s.fields[f] === undefined);
  const refused = missing.length === 0 && s.mediaType === 'audio/x-raw' ? audioFieldsRefused(s) : undefined;
  if (refused !== undefined)
    throw new TypeError(`${what}: the raw caps ${JSON.stringify(value)?.slice(0, 200)} ${refused}; ${outcome}`);
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

// How YUV samples become RGB: the matrix, the range and where the chroma
// samples sit, read from the caps' `colorimetry` and `chroma-site` fields the
// way GStreamer 1.22 reads them (gst_video_info_from_caps), defaults included:
// without `colorimetry`, frames taller than 576 rows are BT.709 with
// horizontally cosited chroma ("mpeg2"), others BT.601 with centred chroma
// ("jpeg"), both limited range, whatever `chroma-site` says, and the same
// with a `colorimetry` GStreamer finds invalid for YUV (an unknown or RGB
// matrix); with a valid one but without `chroma-site`, chroma is centred.
import type { Caps } from './caps.js';

export type ColorMatrix = 'bt601' | 'bt709' | 'bt2020' | 'smpte240m' | 'fcc';

export interface Colorimetry {
  matrix: ColorMatrix;
  /** Luma coefficients of the matrix (Y = kr·R + (1 − kr − kb)·G + kb·B). */
  kr: number;
  kb: number;
  /** limited: Y 16–235, chroma 16–240; full: 0–255 (also what GStreamer makes of an unknown range). */
  range: 'limited' | 'full';
  /** Chroma samples sit on even columns / even rows (else between two). */
  hCosited: boolean;
  vCosited: boolean;
  /** 'caps' when the caps carry `colorimetry`, 'default' otherwise. */
  source: 'caps' | 'default';
}

const K: Record<ColorMatrix, [number, number]> = {
  bt601: [0.299, 0.114],
  bt709: [0.2126, 0.0722],
  bt2020: [0.2627, 0.0593],
  smpte240m: [0.212, 0.087],
  fcc: [0.3, 0.11],
};

// GstVideoColorMatrix values as "range:matrix:transfer:primaries" spells them.
const MATRIX_CODES: Record<string, ColorMatrix> = { '2': 'fcc', '3': 'bt709', '4': 'bt601', '5': 'smpte240m', '6': 'bt2020' };

const NAMED: Record<string, { matrix: ColorMatrix; range: 'limited' | 'full' }> = {
  bt601: { matrix: 'bt601', range: 'limited' },
  bt709: { matrix: 'bt709', range: 'limited' },
  smpte240m: { matrix: 'smpte240m', range: 'limited' },
  bt2020: { matrix: 'bt2020', range: 'limited' },
  'bt2020-10': { matrix: 'bt2020', range: 'limited' },
  'bt2100-pq': { matrix: 'bt2020', range: 'limited' },
  'bt2100-hlg': { matrix: 'bt2020', range: 'limited' },
};

function parseColorimetry(text: string): { matrix: ColorMatrix; range: 'limited' | 'full' } | undefined {
  const named = NAMED[text];
  if (named !== undefined) return named;
  const m = /^(\d+):(\d+):(\d+):(\d+)$/.exec(text);
  const matrix = m === null ? undefined : MATRIX_CODES[m[2]!];
  // An unknown (0) or RGB (1) matrix on YUV samples is invalid to GStreamer, which then takes the defaults
  // for all of it, range and chroma siting included (validate_colorimetry). A range other than 16-235 (2),
  // unknown (0) included, is full: gst_video_color_range_offsets takes any other value as 0-255.
  if (matrix === undefined) return undefined;
  return { range: Number(m![1]) === 2 ? 'limited' : 'full', matrix };
}

function parseChromaSite(text: string | undefined): { hCosited: boolean; vCosited: boolean } {
  switch (text) {
    case 'mpeg2':
      return { hCosited: true, vCosited: false };
    case 'dv':
    case 'cosited':
      return { hCosited: true, vCosited: true };
    case undefined:
    case 'jpeg':
    case 'none':
      return { hCosited: false, vCosited: false };
    default: {
      const flags = text.split('+');
      return { hCosited: flags.includes('h-cosited'), vCosited: flags.includes('v-cosited') };
    }
  }
}

/**
 * The colorimetry of gray frames described by `caps`, as GStreamer 1.22
 * reads it: without a usable `colorimetry`, BT.601 full range (gray's
 * default). Only the range matters: videoconvert stretches limited-range
 * gray to RGB as it does YUV luma.
 */
export function grayColorimetry(caps: Caps | undefined): Colorimetry {
  const text = caps?.structures[0]?.fields['colorimetry']?.value;
  // An RGB matrix is invalid for gray, as for YUV (validate_colorimetry). An unknown one is valid to GStreamer,
  // which then leaves the samples out of its YUV → RGB matrix (red = the luma, green and blue 128): not
  // reproduced, such gray takes the defaults here too.
  const parsed = typeof text === 'string' ? parseColorimetry(text) : undefined;
  const matrix = parsed?.matrix ?? 'bt601';
  const [kr, kb] = K[matrix];
  return {
    matrix, kr, kb, range: parsed?.range ?? 'full', hCosited: false, vCosited: false,
    source: parsed === undefined ? 'default' : 'caps',
  };
}

/** The colorimetry of YUV frames of `height` rows described by `caps`. */
export function yuvColorimetry(caps: Caps | undefined, height: number): Colorimetry {
  const fields = caps?.structures[0]?.fields;
  const text = fields?.['colorimetry']?.value;
  const site = fields?.['chroma-site']?.value;
  const parsed = typeof text === 'string' ? parseColorimetry(text) : undefined;
  const hd = height > 576;
  const matrix = parsed?.matrix ?? (hd ? 'bt709' : 'bt601');
  const [kr, kb] = K[matrix];
  return {
    matrix,
    kr,
    kb,
    range: parsed?.range ?? 'limited',
    ...(parsed === undefined ? { hCosited: hd, vCosited: false } : parseChromaSite(typeof site === 'string' ? site : undefined)),
    source: parsed === undefined ? 'default' : 'caps',
  };
}

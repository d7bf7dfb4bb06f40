// A frame → a PNG file: any raw format through toRGB, JPEG and PNG frames
// decoded, encoded by sharp (decode.ts). Caps that can be neither are
// refused as early as they are known: from the pipeline's last caps filter
// before anything starts, else from the ring's caps at the first frame.
import fs from 'node:fs/promises';
import type { Caps } from '../caps.js';
import { TO_RGB_FORMATS } from '../convert.js';
import { encodePng } from '../decode.js';
import type { Frame } from '../frame.js';

const DECODED = ['image/jpeg', 'image/png'];

/** Why a stream with these caps cannot be snapshotted (naming the fix), or undefined when it can or cannot be told yet. */
export function snapshotProblem(caps: Caps | undefined): string | undefined {
  const s = caps?.structures[0];
  if (s === undefined || DECODED.includes(s.mediaType)) return undefined;
  const format = s.fields['format']?.value;
  let what = s.mediaType;
  let decode = 'decodebin ! ';
  if (s.mediaType === 'video/x-raw') {
    if (typeof format !== 'string') return undefined; // not fixed: negotiation decides
    if ((TO_RGB_FORMATS as readonly string[]).includes(format)) return undefined;
    what = format;
    decode = '';
  }
  return `--snapshot writes PNG files from ${TO_RGB_FORMATS.join(', ')}, JPEG and PNG frames, and this stream has ${what} frames: ` +
    `end the pipeline with "! ${decode}videoconvert ! video/x-raw,format=RGB"`;
}

/** Encodes the frame (before it is released) and writes it; resolves with its size. */
export async function writeSnapshot(frame: Frame, file: string): Promise<{ width: number; height: number }> {
  const { png, width, height } = await encodePng(frame);
  await fs.writeFile(file, png);
  return { width, height };
}

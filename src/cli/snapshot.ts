// A frame → a PNG file (pngjs: pure JS), through toRGB, which converts every
// raw format. A stream in another format is refused as early as it is known:
// from the pipeline's last caps filter before anything starts, else from the
// ring's caps at the first frame.
import fs from 'node:fs/promises';
import { PNG } from 'pngjs';
import type { Caps } from '../caps.js';
import { TO_RGB_FORMATS, toRGB } from '../convert.js';
import type { Frame } from '../frame.js';

/** Why a stream with these caps cannot be snapshotted (naming the fix), or undefined when it can or cannot be told yet. */
export function snapshotProblem(caps: Caps | undefined): string | undefined {
  const s = caps?.structures[0];
  if (s === undefined) return undefined;
  const format = s.fields['format']?.value;
  let what = s.mediaType;
  let decode = s.mediaType === 'image/jpeg' ? 'jpegdec ! ' : 'decodebin ! ';
  if (s.mediaType === 'video/x-raw') {
    if (typeof format !== 'string') return undefined; // not fixed: negotiation decides
    if ((TO_RGB_FORMATS as readonly string[]).includes(format)) return undefined;
    what = format;
    decode = '';
  }
  return `--snapshot writes PNG files from ${TO_RGB_FORMATS.join(', ')} frames, and this stream has ${what} frames: ` +
    `end the pipeline with "! ${decode}videoconvert ! video/x-raw,format=RGB"`;
}

/** Encodes the frame (before it is released) and writes it; resolves with its size. */
export async function writeSnapshot(frame: Frame, file: string): Promise<{ width: number; height: number }> {
  const rgb = toRGB(frame);
  const png = new PNG({ width: rgb.width, height: rgb.height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.from(rgb.data.buffer, rgb.data.byteOffset, rgb.data.byteLength);
  const bytes = PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
  await fs.writeFile(file, bytes);
  return { width: rgb.width, height: rgb.height };
}

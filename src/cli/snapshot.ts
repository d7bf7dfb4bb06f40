// A frame → a PNG file (pngjs: pure JS), through toRGB for the formats it
// knows; 16-bit gray is reduced to 8 bits by toRGB.
import fs from 'node:fs/promises';
import { PNG } from 'pngjs';
import type { Frame } from '../frame.js';
import { toRGB } from '../image.js';

/** Encodes the frame (before it is released) and writes it; resolves with its size. */
export async function writeSnapshot(frame: Frame, file: string): Promise<{ width: number; height: number }> {
  const rgb = toRGB(frame);
  const png = new PNG({ width: rgb.width, height: rgb.height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.from(rgb.data.buffer, rgb.data.byteOffset, rgb.data.byteLength);
  const bytes = PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
  await fs.writeFile(file, bytes);
  return { width: rgb.width, height: rgb.height };
}

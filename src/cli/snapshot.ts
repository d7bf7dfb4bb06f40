// A frame → a PNG file: any raw format through toRGB (GRAY16 kept 16-bit
// gray; ARGB64 & co., 16-bit RGBA), JPEG and PNG frames decoded (16-bit PNG
// frames written as they came), encoded by sharp (decode.ts encodePng). Caps that can be neither are
// refused as early as they are known: from the caps filter the pipeline
// ends with before anything starts, else from the ring's caps at the first
// frame. A file that cannot be written, or a missing sharp, is refused
// before anything starts too.
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import type { Caps } from '../caps.js';
import { TO_RGB_FORMATS } from '../convert.js';
import { decoderProblem, encodePng, pngHeader, type PngColor } from '../decode.js';
import type { Frame } from '../frame.js';
import { RGBA64_FORMATS, toRgbTail, undescribedName } from '../video-info.js';

const DECODED = ['image/jpeg', 'image/png'];

/** Why a stream with these caps cannot be snapshotted (naming the fix), or undefined when it can or cannot be told yet. */
export function snapshotProblem(caps: Caps | undefined): string | undefined {
  const s = caps?.structures[0];
  if (s === undefined || DECODED.includes(s.mediaType)) return undefined;
  if (s.mediaType === 'video/x-raw') {
    const format = s.fields['format']?.value;
    if (typeof format !== 'string') return undefined; // not fixed: negotiation decides
    if ((TO_RGB_FORMATS as readonly string[]).includes(format) || Object.hasOwn(RGBA64_FORMATS, format)) return undefined;
  }
  const tail = toRgbTail(s.mediaType);
  return `--snapshot writes PNG files from ${[...TO_RGB_FORMATS, ...Object.keys(RGBA64_FORMATS)].join(', ')}, JPEG and PNG frames, ` +
    `and this stream has ${undescribedName(s)} frames` +
    (tail === undefined ? '' : `: end the pipeline with "${tail}"`);
}

/**
 * Why `file` cannot be written (its directory missing or read-only, or a
 * directory itself), or undefined, said as `what` (e.g. "--snapshot x.png"):
 * told before anything starts rather than after the first frame.
 */
export async function fileProblem(what: string, file: string): Promise<string | undefined> {
  try {
    if ((await fs.stat(file)).isDirectory()) return `${what} is a directory`;
    await fs.access(file, constants.W_OK);
    return undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') return `${what} cannot be written (${code})`;
  }
  const dir = path.dirname(file);
  const why = await directoryProblem(dir);
  return why === undefined ? undefined : `${what} cannot be written: ${why}`;
}

/** Why no PNG can be encoded here (sharp, an optional dependency, is missing), or undefined. */
export async function snapshotEncoderProblem(): Promise<string | undefined> {
  const why = await decoderProblem();
  return why === undefined ? undefined : `--snapshot cannot write PNG files: ${why}`;
}

/**
 * Why --snapshot's file cannot be written, or is named for another format
 * than the PNG it would get (x.jpg), or undefined. Only a file's name says
 * a format: a device, a pipe or a link to one (/dev/stdout, /dev/fd/N,
 * >(...)) has none.
 */
export async function snapshotFileProblem(file: string): Promise<string | undefined> {
  return await fileProblem(`--snapshot ${file}`, file)
    ?? (/\.png$/i.test(file) || !(await fileOrNone(file)) ? undefined
      : `--snapshot ${file} is not named .png: a snapshot is a PNG file, give a name ending in .png`);
}

/** The path itself (a link not followed) is a regular file or does not exist yet (it will be one). */
async function fileOrNone(file: string): Promise<boolean> {
  try {
    return (await fs.lstat(file)).isFile();
  } catch {
    return true;
  }
}

/** Why no file can be created in `dir`, or undefined. */
async function directoryProblem(dir: string): Promise<string | undefined> {
  try {
    if (!(await fs.stat(dir)).isDirectory()) return `${dir} is not a directory`;
    await fs.access(dir, constants.W_OK | constants.X_OK);
    return undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return `directory ${dir} does not exist`;
    if (code === 'ENOTDIR') return `${dir} is not a directory`;
    return `no file can be created in ${dir} (${code})`;
  }
}

/** The snapshot was encoded but the file could not be written: the user's path, not a bug. */
export class SnapshotFileError extends Error {}

/** What writeSnapshot wrote: the picture's size, and the PNG's bit depth and color type (from its header). */
export interface SnapshotWritten {
  width: number;
  height: number;
  bitDepth: number;
  color: PngColor;
}

/** Encodes the frame (before it is released) and writes it: to `stdout` as it is open (isStdout), else to the file. */
export async function writeSnapshot(frame: Frame, file: string, stdout?: Writable): Promise<SnapshotWritten> {
  const { png, width, height } = await encodePng(frame);
  const header = pngHeader(png)!; // sharp's output, or a frame's own bytes that encodePng took for a PNG by this header
  try {
    if (stdout === undefined) await fs.writeFile(file, png);
    else await new Promise<void>((resolve, reject) => stdout.write(png, (e) => (e ? reject(e) : resolve())));
  } catch (e) {
    throw new SnapshotFileError(`cannot write ${file}: ${(e as Error).message}`, { cause: e });
  }
  return { width, height, ...header };
}

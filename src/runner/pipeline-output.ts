// What gst-launch prints, read for the runner: when the pipeline plays, and
// gst-launch's own words when it fails (kept for the error message).
import type { Readable } from 'node:stream';

/** gst-launch printed this when the pipeline reached PLAYING. */
export function isPlayingLine(line: string): boolean {
  return line.startsWith('Setting pipeline to PLAYING');
}

/** gst-launch refused the description itself (it never ran). */
export function isRejection(line: string): boolean {
  return /^WARNING: erroneous pipeline/.test(line) || /^ERROR: pipeline could not be constructed/.test(line);
}

/** Keeps the last lines printed, and the error lines among them. */
export class OutputTail {
  readonly #limit: number;
  #lines: string[] = [];
  #errors: string[] = [];
  #debugNext = false;
  rejected = false;

  constructor(limit = 60) {
    this.#limit = limit;
  }

  add(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > this.#limit) this.#lines.shift();
    if (isRejection(line)) this.rejected = true;
    if (this.#debugNext) {
      this.#errors.push(`  ${line.trim()}`);
      this.#debugNext = false;
    } else if (/^(ERROR|WARNING: erroneous|setpriv:)/.test(line)) {
      this.#errors.push(line);
    } else if (line.startsWith('Additional debug info:') && this.#errors.length > 0) {
      this.#debugNext = true;
    }
    if (this.#errors.length > 12) this.#errors.shift();
  }

  /** The error lines gst-launch printed (empty when none). */
  get errors(): string {
    return this.#errors.join('\n');
  }

  get text(): string {
    return this.#lines.join('\n');
  }

  reset(): void {
    this.#lines = [];
    this.#errors = [];
    this.#debugNext = false;
    this.rejected = false;
  }
}

/** Longest line kept from gst-launch's output (characters); the rest of a longer line is cut. */
export const MAX_OUTPUT_LINE = 4096;

/**
 * Calls onLine for each line of a text stream (LF, CRLF or CR, like
 * readline), cutting each line at max characters so that output without
 * line ends cannot grow without bound. Resolves when the stream is over.
 */
export function eachLine(stream: Readable, onLine: (line: string) => void, max = MAX_OUTPUT_LINE): Promise<void> {
  stream.setEncoding('utf8');
  let pending = '';
  let cut = 0;
  let skipLF = false;
  const emit = (): void => {
    onLine(cut > 0 ? `${pending}… (${cut} more characters cut)` : pending);
    pending = '';
    cut = 0;
  };
  const add = (s: string): void => {
    const room = max - pending.length;
    if (s.length <= room) pending += s;
    else {
      pending += s.slice(0, room);
      cut += s.length - room;
    }
  };
  stream.on('data', (chunk: string) => {
    let i = skipLF && chunk.startsWith('\n') ? 1 : 0;
    skipLF = false;
    const re = /\r\n|\r|\n/g;
    re.lastIndex = i;
    for (let m = re.exec(chunk); m !== null; m = re.exec(chunk)) {
      add(chunk.slice(i, m.index));
      emit();
      i = m.index + m[0].length;
      if (m[0] === '\r' && i === chunk.length) skipLF = true;
    }
    add(chunk.slice(i));
  });
  return new Promise((resolve) => {
    let over = false;
    const end = (): void => {
      if (over) return;
      over = true;
      if (pending.length > 0 || cut > 0) emit();
      resolve();
    };
    stream.once('end', end);
    stream.once('close', end);
    stream.once('error', end);
  });
}

// Where the commands write: process streams by default, replaceable in tests.
import { closeSync, constants, fstatSync, openSync, statSync } from 'node:fs';
import { Writable } from 'node:stream';
import { isatty } from 'node:tty';

export interface CliIo {
  stdout: Writable & { isTTY?: boolean; columns?: number };
  /** A terminal or not, as stdout: run's stats go here when its --snapshot takes stdout. */
  stderr: Writable & { isTTY?: boolean; columns?: number };
  /** Aborted on SIGINT/SIGTERM/SIGHUP (the commands stop gracefully). */
  signal: AbortSignal;
}

/**
 * The output path names this process's stdout: "-", or a path to the file
 * fd 1 has open (/dev/stdout, /proc/self/fd/1, the file it was redirected
 * to). Opening it again would truncate it, and what the command says on
 * stdout would go into it too. Not a device other than a terminal: every
 * /dev/null is one file, and a command run with >/dev/null may still
 * write its output to /dev/null.
 */
export function isStdout(file: string): boolean {
  if (file === '-') return true;
  try {
    const [named, out] = [statSync(file), fstatSync(1)];
    return named.dev === out.dev && named.ino === out.ino && (!named.isCharacterDevice() || isatty(1));
  } catch {
    return false;
  }
}

/**
 * The path names a terminal (/dev/tty, /dev/pts/N), whatever stdout is.
 * Only a character device is opened to tell (without becoming its
 * controlling terminal): the command would open it to write anyway.
 */
export function isTerminal(file: string): boolean {
  try {
    if (!statSync(file).isCharacterDevice()) return false;
    const fd = openSync(file, constants.O_WRONLY | constants.O_NOCTTY | constants.O_NONBLOCK);
    try {
      return isatty(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

export function say(stream: Writable, text: string): void {
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
}

/**
 * text cut to a terminal `columns` wide, "…" at the cut: one column is kept
 * free (a line that fills the last column leaves the cursor waiting to wrap).
 * Unknown width: whole.
 */
export function fitLine(text: string, columns: number | undefined): string {
  if (columns === undefined || columns < 2) return text;
  const chars = [...text];
  return chars.length < columns ? text : `${chars.slice(0, columns - 2).join('')}…`;
}

/**
 * The live stats on a terminal: one line rewritten in place, cut to the
 * terminal's width (a line that wrapped would leave its first rows behind
 * at every rewrite) and redrawn when the terminal is resized ('resize',
 * SIGWINCH). A terminal that narrows under the line re-wraps it (tmux, VTE,
 * kitty, iTerm2 reflow their lines): the rows it now takes are cleared,
 * from its first, before it is drawn again at the new width. (A terminal
 * that cuts its lines instead, xterm, loses the row above to that clear.)
 * Not on a terminal (`--no-json` into a pipe or a file), each text is a
 * line of its own, without the terminal's codes.
 */
export class LiveLine {
  readonly #out: CliIo['stdout'];
  /** The stream is a terminal: the line is rewritten in place. */
  readonly #terminal: boolean;
  /** The latest text, whole. */
  #text?: string;
  /** Columns of the line on the screen now (0: none of ours). */
  #shown = 0;
  readonly #onResize = (): void => {
    if (this.#text !== undefined) this.#draw(this.#text);
  };

  constructor(out: CliIo['stdout']) {
    this.#out = out;
    this.#terminal = out.isTTY === true;
    if (this.#terminal) out.on('resize', this.#onResize);
  }

  /** Shows text in place of the line (not on a terminal: on a line of its own). */
  update(text: string): void {
    if (!this.#terminal) return say(this.#out, text);
    this.#text = text;
    this.#draw(text);
  }

  /** A message on another stream (stderr) while the line is up: the line goes, the message goes above, the line comes back under it. */
  above(stream: Writable, text: string): void {
    if (this.#shown > 0) this.#out.write(this.#erase());
    this.#shown = 0;
    say(stream, text);
    if (this.#text !== undefined) this.#draw(this.#text);
  }

  /**
   * A stream for a writer that wants one (the protocol lines, a script's
   * console): each write goes to `stream` as above() does. Its writes are
   * done once handed on (a closed `stream` is the command's to hear).
   */
  aboveStream(stream: Writable): Writable {
    return new Writable({
      decodeStrings: false,
      write: (chunk: string | Buffer, _encoding, done) => {
        this.above(stream, chunk.toString());
        done();
      },
    });
  }

  /** The last line, whole (nothing rewrites it), and resizes no longer followed. */
  end(text: string): void {
    if (!this.#terminal) return say(this.#out, text);
    this.#out.off('resize', this.#onResize);
    this.#out.write(`${this.#erase()}${text}\n`);
    this.#shown = 0;
    this.#text = undefined;
  }

  #draw(text: string): void {
    const fitted = fitLine(text, this.#out.columns);
    this.#out.write(`${this.#erase()}${fitted}`);
    this.#shown = [...fitted].length;
  }

  /** Back to the start of our line (its first row, when a narrower terminal wrapped it; the cursor is at its end) and clear it. */
  #erase(): string {
    const columns = this.#out.columns;
    const rows = columns !== undefined && columns > 0 ? Math.max(1, Math.ceil(this.#shown / columns)) : 1;
    return rows > 1 ? `\r\x1b[${rows - 1}A\x1b[J` : '\r\x1b[2K';
  }
}

// Bytes → lines, for stdout read from another process: lines split across
// chunks, LF or CRLF, a last line without a line end, and lines longer than
// a limit (a log line is passed on in pieces, unchanged; a protocol line is
// dropped with a warning). With partialLogs, a line that cannot be protocol
// (its first non-blank byte is there and is no single '>') is passed on as
// its bytes come, without waiting for its end: a progress display's "\r"
// updates and a prompt waiting for input show at once (watch's pass-through).
// A line that may still become protocol is held until its end, so a protocol
// line is always read whole. There carriage returns followed by a byte other
// than CR and LF start the line again, as on a terminal: the line so far is
// passed on (or, protocol past the limit, dropped), and what follows may be
// protocol ("working 50%\r> {...}").
// Bytes are kept as read, so logs pass through byte for byte even when they
// are not UTF-8.
import { optionNames, validateOptions } from '../option-checks.js';

export interface RawLine {
  /** The line's bytes, without the line end ("\n" or "\r\n"). */
  bytes: Uint8Array;
  /** The bytes as read, line end included. */
  raw: Uint8Array;
  /**
   * 'line': a whole line; 'fragment': a piece of a log line passed on before
   * its end (overlong, or no protocol by its first bytes: pass it on, do
   * not parse it); 'overlong': a protocol line past the limit, dropped
   * (bytes hold its first part).
   */
  kind: 'line' | 'fragment' | 'overlong';
  /** A fragment that does not end its line: the next fragment goes on with it. */
  partial?: boolean;
}

const LF = 0x0a;
const CR = 0x0d;
const MARK = 0x3e; // '>'

const isBlank = (b: number): boolean => b === 0x20 || b === 0x09 || b === 0x0b || b === 0x0c || b === CR;

/** The first non-blank byte is '>', not followed by another (isProtocolLine). */
function startsAsProtocol(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    if (isBlank(bytes[i]!)) continue;
    return bytes[i] === MARK && bytes[i + 1] !== MARK;
  }
  return false;
}

/**
 * Where a piece passed on before its line's end is cut: before a UTF-8
 * character whose bytes are not all there yet, and before a last CR (the LF
 * of a CRLF may follow), so that the pieces' texts join into the line's and
 * a CRLF goes whole into the last piece.
 */
function passableLength(bytes: Uint8Array): number {
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === CR) end--;
  // the last character's first byte (not 10xxxxxx), at most 3 bytes back
  for (let i = end - 1; i >= 0 && i >= end - 3; i--) {
    const b = bytes[i]!;
    if ((b & 0xc0) === 0x80) continue;
    const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return i + length > end ? i : end;
  }
  return end;
}

/**
 * The index after the first CR at or after from that a byte other than CR
 * and LF follows in chunk: where the line starts again; -1 if none. (A CR
 * run ends at its last CR; a CR before LF is a CRLF.)
 */
function restartAfter(chunk: Uint8Array, from: number): number {
  for (let cr = chunk.indexOf(CR, from); cr >= 0 && cr + 1 < chunk.length; cr = chunk.indexOf(CR, cr + 1)) {
    const next = chunk[cr + 1];
    if (next !== CR && next !== LF) return cr + 1;
  }
  return -1;
}

function withoutLineEnd(raw: Uint8Array): Uint8Array {
  let end = raw.length;
  if (end > 0 && raw[end - 1] === LF) end--;
  if (end > 0 && raw[end - 1] === CR) end--;
  return raw.subarray(0, end);
}

export interface LineSplitterOptions {
  /**
   * Pass a log line on in pieces as its bytes come (fragments, partial), not
   * at its end: for output shown as it comes (a progress display's "\r"
   * updates, a prompt). Without it a log line comes whole, but for pieces of
   * one longer than maxLineBytes.
   * @default false
   */
  partialLogs?: boolean;
}

const LINE_SPLITTER_OPTIONS = optionNames<LineSplitterOptions>({ partialLogs: true });

export class LineSplitter {
  readonly maxLineBytes: number;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  /** Inside a log line passed on before its end (pass its pieces on), or an overlong protocol line (drop it). */
  #mode: 'normal' | 'pass' | 'drop' = 'normal';
  /**
   * How the line held starts: blanks only, blanks and one '>' (either may
   * still become a protocol line), or decided: a protocol line ('>' and
   * another byte) or a log line (another byte first, or '>>'). Told as the
   * bytes come, not by reading the held line again at each chunk.
   */
  #start: 'blank' | 'mark' | 'protocol' | 'log' = 'blank';

  /** With partialLogs, the last chunk ended in a CR: the next byte tells a line end (LF) or more CRs from a new start. */
  #crEnded = false;

  /** A log line goes on in pieces as its bytes come (see LineSplitterOptions). */
  readonly partialLogs: boolean;

  constructor(maxLineBytes: number, options?: LineSplitterOptions) {
    options = validateOptions(options, LINE_SPLITTER_OPTIONS);
    this.maxLineBytes = maxLineBytes;
    this.partialLogs = options.partialLogs === true;
  }

  #take(): Uint8Array {
    const all = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending, this.#pendingBytes);
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#start = 'blank';
    return all;
  }

  #hold(piece: Uint8Array): void {
    this.#pending.push(piece);
    this.#pendingBytes += piece.length;
    for (let i = 0; i < piece.length && (this.#start === 'blank' || this.#start === 'mark'); i++) {
      const b = piece[i]!;
      if (this.#start === 'mark') this.#start = b === MARK ? 'log' : 'protocol';
      else if (b === MARK) this.#start = 'mark';
      else if (!isBlank(b)) this.#start = 'log';
    }
  }

  #overlong(raw: Uint8Array, terminated: boolean, out: RawLine[]): void {
    if (startsAsProtocol(raw)) {
      out.push({ kind: 'overlong', bytes: raw.subarray(0, 256), raw });
      this.#mode = terminated ? 'normal' : 'drop';
    } else {
      out.push({ kind: 'fragment', bytes: withoutLineEnd(raw), raw, partial: !terminated });
      this.#mode = terminated ? 'normal' : 'pass';
    }
  }

  /**
   * With partialLogs, CRs (held last) followed by a byte other than CR and
   * LF: the line starts again. What is held goes on as a log piece (past the
   * limit, as an overlong line: a protocol one is dropped), unless it is
   * blanks only that start the line, which lead the new start; those of a
   * log line passed on go on with it, however the bytes came. A line being
   * dropped ends there.
   */
  #restart(out: RawLine[]): void {
    if (this.#mode === 'normal' && this.#pendingBytes - 1 > this.maxLineBytes) this.#overlong(this.#take(), false, out);
    else if (this.#start !== 'blank' || this.#mode === 'pass') {
      const raw = this.#take();
      out.push({ kind: 'fragment', bytes: raw, raw, partial: true });
    }
    this.#mode = 'normal';
  }

  /** Lines completed by this chunk, and with partialLogs the start of one that cannot be protocol (a fragment, partial). */
  push(chunk: Uint8Array): RawLine[] {
    const out: RawLine[] = [];
    if (chunk.length === 0) return out;
    const restarts = this.partialLogs;
    if (this.#crEnded && chunk[0] !== LF && chunk[0] !== CR) this.#restart(out);
    this.#crEnded = false;
    let start = 0;
    let restartAt = restarts ? restartAfter(chunk, 0) : -1;
    while (start < chunk.length) {
      const nl = chunk.indexOf(LF, start);
      let end = nl < 0 ? chunk.length : nl + 1;
      if (restartAt >= 0 && restartAt <= start) restartAt = restartAfter(chunk, start);
      // CRs inside the piece with a byte other than CR and LF after them end the piece: the line starts again there
      const restart = restartAt >= 0 && restartAt < end;
      if (restart) end = restartAt;
      // Copied: the caller may reuse its chunk.
      const piece = Uint8Array.prototype.slice.call(chunk, start, end);
      start = end;
      const terminated = !restart && nl >= 0;
      if (this.#mode === 'drop') {
        if (terminated || restart) this.#mode = 'normal';
        continue;
      }
      this.#hold(piece);
      if (restart) {
        this.#restart(out);
        continue;
      }
      if (this.#mode === 'pass') {
        // unterminated, it goes on at the chunk's end, below
        if (terminated) {
          const raw = this.#take();
          out.push({ kind: 'fragment', bytes: withoutLineEnd(raw), raw });
          this.#mode = 'normal';
        }
        continue;
      }
      if (terminated) {
        const raw = this.#take();
        const bytes = withoutLineEnd(raw);
        if (bytes.length > this.maxLineBytes) this.#overlong(raw, true, out);
        else out.push({ kind: 'line', bytes, raw });
      } else if (this.#pendingBytes - (piece[piece.length - 1] === CR ? 1 : 0) > this.maxLineBytes) {
        // (a last CR may be the start of the line end: not counted until a byte other than LF follows)
        this.#overlong(this.#take(), false, out);
      }
    }
    if (this.#pendingBytes > 0 && (this.#mode === 'pass' || (this.partialLogs && this.#mode === 'normal' && this.#start === 'log'))) {
      const pending = this.#take();
      const length = passableLength(pending);
      if (length > 0) {
        const piece = pending.subarray(0, length);
        out.push({ kind: 'fragment', bytes: piece, raw: piece, partial: true });
        this.#mode = 'pass';
      }
      if (length < pending.length) {
        // held back (a CR, a character's first bytes): the line is a log line all the same
        this.#pending = [pending.subarray(length)];
        this.#pendingBytes = pending.length - length;
        this.#start = 'log';
      }
    }
    this.#crEnded = restarts && chunk[chunk.length - 1] === CR;
    return out;
  }

  /** At end of input: the last line when it had no line end. */
  end(): RawLine[] {
    const passing = this.#mode === 'pass';
    this.#mode = 'normal';
    this.#crEnded = false;
    const raw = this.#take();
    // the input ended inside a log line passed on: its last piece (what was held back, or nothing) ends it
    if (passing) return [{ kind: 'fragment', bytes: raw, raw }];
    if (raw.length === 0) return [];
    return [{ kind: 'line', bytes: withoutLineEnd(raw), raw }];
  }
}

// Bytes → lines, for stdout read from another process: lines split across
// chunks, LF or CRLF, a last line without a line end, and lines longer than
// a limit (a log line is passed on in pieces, unchanged; a protocol line is
// dropped with a warning). A carriage return followed by a byte other than
// CR and LF starts the line again, as on a terminal: past the limit, what
// precedes the line's last one goes on by its own start (a log line's piece,
// or an overlong protocol line, dropped) and what follows is held as a line
// start of its own, so an announcement after progress updates is found
// however long they ran ("working 50%\r> {...}"), never holding more than
// the limit. Blanks alone after a CR, up to the line end, start nothing:
// they end the line before. Within the limit a line is held whole, CRs
// included, which may be JSON whitespace in an announcement (parseLine
// judges it); past it, a line is not cut inside an announcement's JSON
// while that fits. With partialLogs, a line that cannot be protocol (its
// first non-blank byte is there and is no single '>') is passed on as its
// bytes come, without waiting for its end, up to a CR that starts it again:
// a progress display's "\r" updates and a prompt waiting for input show at
// once (watch's pass-through). A line that may still become protocol is
// held until its end (or the limit), so a protocol line is always read
// whole; a CR starts it again but in an announcement's JSON (from a '>',
// blanks and '{': a JSON-RPC notification is an object), so "> 50%\r"
// progress passes on at each update.
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
   * (bytes hold its first part). Past the limit, a line's text before a CR
   * that starts it again goes on as one of those two by its own start.
   */
  kind: 'line' | 'fragment' | 'overlong';
  /** A fragment that does not end its line: the next fragment goes on with it. */
  partial?: boolean;
}

const LF = 0x0a;
const CR = 0x0d;
const MARK = 0x3e; // '>'

const isBlank = (b: number): boolean => b === 0x20 || b === 0x09 || b === 0x0b || b === 0x0c || b === CR;

/**
 * How a line starts: blanks only, blanks and one '>', then blanks other
 * than CR (any of those may still become a protocol line), or decided: an
 * object ('>', such blanks, '{': an announcement, whose JSON may hold raw
 * CRs), another protocol line ('>' and another byte: a CR in it starts the
 * line again, as parseLine has it) or a log line (another byte first, or
 * '>>').
 */
type Start = 'blank' | 'mark' | 'markBlank' | 'object' | 'protocol' | 'log';

const OPEN_BRACE = 0x7b; // '{'

/** How a line that started as start goes on with bytes (a line end decides nothing). */
function startWith(start: Start, bytes: Uint8Array): Start {
  for (let i = 0; i < bytes.length && (start === 'blank' || start === 'mark' || start === 'markBlank'); i++) {
    const b = bytes[i]!;
    if (b === LF) break;
    if (start === 'blank') {
      if (b === MARK) start = 'mark';
      else if (!isBlank(b)) start = 'log';
    } else if (b === OPEN_BRACE) start = 'object';
    else if (b !== CR && isBlank(b)) start = 'markBlank';
    else start = start === 'mark' && b === MARK ? 'log' : 'protocol';
  }
  return start;
}

const mayBeProtocol = (start: Start): boolean => start !== 'blank' && start !== 'log';
const decided = (start: Start): boolean => start === 'object' || start === 'protocol';

/**
 * How a line's text cut off at a CR that starts it again counts: 'object'
 * when the last of its starts that is protocol is an announcement's (one
 * cut short, maybe: dropped with a warning), 'blank' for blanks only, else
 * 'log' (text a terminal overwrote, which parseLine takes for output too).
 * Its starts are told as #hold tells them as the bytes come.
 */
function headStart(head: Uint8Array): Start {
  let start: Start = 'blank';
  let object = false;
  for (let from = 0; from < head.length;) {
    const end = head.indexOf(CR, from) + 1 || head.length;
    const segment = startWith('blank', head.subarray(from, end));
    if (segment !== 'blank') start = 'log';
    if (decided(segment)) object = segment === 'object';
    from = end;
  }
  return object ? 'object' : start;
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
   * updates, a prompt), up to a "\r" that starts the line again. Without
   * it a log line comes whole, but for pieces of one longer than
   * maxLineBytes.
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
  /** How the line held starts; told as the bytes come, not by reading the held line again at each chunk. */
  #start: Start = 'blank';
  /** Where the line held started again last (after a CR followed by more): 0 if it did not. */
  #restartAt = 0;
  /** The last of those with a byte other than a blank after it, where the line is cut past the limit; 0 if none. */
  #textRestartAt = 0;
  /** How the text after #restartAt starts. */
  #segment: Start = 'blank';
  /**
   * Where the last start that is protocol starts, when it is an
   * announcement's (its JSON may hold raw CRs: held through them, and past
   * the limit not cut inside it while it fits); -1 if none.
   */
  #objectAt = -1;
  /**
   * The line's text before a CR that started it again went on already:
   * dropped (an overlong protocol line) or passed on (a log line's piece).
   * Blanks alone after it, up to the line end, are no line of their own: they
   * end that one. Cleared by a byte other than a blank.
   */
  #before: 'dropped' | 'passed' | undefined;
  /** The last chunk ended in a CR: the next byte tells a line end (LF) or more CRs from a new start. */
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
    this.#restartAt = 0;
    this.#textRestartAt = 0;
    this.#segment = 'blank';
    this.#objectAt = -1;
    return all;
  }

  #hold(piece: Uint8Array): void {
    if (piece.length === 0) return;
    this.#pending.push(piece);
    this.#pendingBytes += piece.length;
    this.#start = startWith(this.#start, piece);
    if (this.#start !== 'blank') this.#before = undefined;
    if (this.#textRestartAt !== this.#restartAt && piece.some((b) => b !== LF && !isBlank(b))) this.#textRestartAt = this.#restartAt;
    const segment = this.#segment;
    this.#segment = startWith(segment, piece);
    // a later protocol start overwrites an earlier announcement's text
    if (!decided(segment) && decided(this.#segment)) this.#objectAt = this.#segment === 'object' ? this.#restartAt : -1;
  }

  /** The held byte k bytes before the last. */
  #heldByteBack(k: number): number | undefined {
    for (let i = this.#pending.length - 1; i >= 0; i--) {
      const piece = this.#pending[i]!;
      if (k < piece.length) return piece[piece.length - 1 - k];
      k -= piece.length;
    }
    return undefined;
  }

  /** How many more bytes (other than CR and LF, which may not count) the held line takes within the limit. */
  #lineRoom(): number {
    return Math.max(0, this.maxLineBytes - this.#pendingBytes);
  }

  /**
   * The held line's length without its line end, or without a last CR (a
   * CRLF's start, or a restart's: not counted, as a line end is not).
   */
  #heldLineBytes(): number {
    let length = this.#pendingBytes;
    if (this.#heldByteBack(0) === LF) length--;
    if (this.#heldByteBack(this.#pendingBytes - length) === CR) length--;
    return length;
  }

  /**
   * A line's text that ends at a CR starting the line again (what precedes
   * the restart past the limit, an overlong line, a log line's piece): by its
   * start, dropped as an overlong protocol line (a warning) or passed on as a
   * log line's piece; blanks after a text gone on go as that went.
   */
  #endBeforeRestart(text: Uint8Array, start: Start, out: RawLine[]): void {
    if (start === 'blank' && this.#before === 'dropped') return;
    if (mayBeProtocol(start)) {
      out.push({ kind: 'overlong', bytes: text.subarray(0, 256), raw: text });
      this.#before = 'dropped';
    } else {
      out.push({ kind: 'fragment', bytes: text, raw: text, partial: true });
      this.#before = 'passed';
    }
  }

  /**
   * The line held is past the limit: only its text after its last restart
   * with text after it may still be protocol (blanks after a CR, up to the
   * line end, start nothing). What precedes ends there (#endBeforeRestart);
   * the rest is held as a line start of its own. Still past the limit with
   * blanks only after a later restart, the rest cannot be protocol either:
   * it ends at that restart too, and the blanks wait for what follows.
   */
  #cutAtRestart(out: RawLine[]): void {
    // an announcement's raw CRs are no cut: before it, while it fits
    if (this.#objectAt > 0) this.#cutAt(this.#objectAt, out);
    if (this.#heldLineBytes() > this.maxLineBytes) this.#cutAt(this.#textRestartAt, out);
    if (this.#heldLineBytes() > this.maxLineBytes) this.#cutAt(this.#restartAt, out);
  }

  #cutAt(at: number, out: RawLine[]): void {
    if (at === 0) return;
    const restartAt = this.#restartAt;
    const textRestartAt = this.#textRestartAt;
    const segment = this.#segment;
    const objectAt = this.#objectAt;
    const all = this.#take();
    const head = all.subarray(0, at);
    this.#endBeforeRestart(head, headStart(head), out);
    this.#hold(all.subarray(at));
    // the rest's restarts (at is one: those from it on are the rest's) and its last start's
    this.#restartAt = restartAt - at;
    this.#textRestartAt = Math.max(0, textRestartAt - at);
    this.#segment = segment;
    this.#objectAt = objectAt < at ? -1 : objectAt - at;
  }

  /** A CR (held last) followed by a byte other than CR and LF: the line starts again after it. */
  #restart(out: RawLine[]): void {
    if (this.#mode === 'drop') {
      this.#mode = 'normal';
      this.#before = 'dropped';
      return;
    }
    if (this.#mode === 'normal' && this.#heldLineBytes() > this.maxLineBytes) {
      this.#cutAtRestart(out);
      if (this.#heldLineBytes() > this.maxLineBytes) {
        const start = this.#start;
        this.#endBeforeRestart(this.#take(), start, out);
      }
    }
    if (this.#mode === 'pass' || (this.partialLogs && this.#start !== 'blank' && this.#objectAt < 0)) {
      // a log line passed on as it comes, or a '>' line that is no announcement (such as "> 50%\r" progress): a
      // terminal shows it until here, what follows may be protocol
      this.#mode = 'normal';
      this.#endBeforeRestart(this.#take(), 'log', out);
      return;
    }
    // held on through the CR: within the limit it may be JSON whitespace in an announcement
    this.#restartAt = this.#pendingBytes;
    this.#segment = 'blank';
  }

  /** The line held is complete (its line end held last). */
  #lineEnd(out: RawLine[]): void {
    if (this.#heldLineBytes() > this.maxLineBytes) this.#cutAtRestart(out);
    const start = this.#start;
    const raw = this.#take();
    const before = this.#before;
    this.#before = undefined;
    const bytes = withoutLineEnd(raw);
    if (start === 'blank' && before !== undefined) {
      // blanks alone after a text gone on: that line's end
      if (before === 'passed') out.push({ kind: 'fragment', bytes, raw });
    } else if (bytes.length <= this.maxLineBytes) out.push({ kind: 'line', bytes, raw });
    else if (mayBeProtocol(start)) out.push({ kind: 'overlong', bytes: raw.subarray(0, 256), raw });
    else out.push({ kind: 'fragment', bytes, raw });
  }

  /**
   * The line held goes on and is past the limit: cut at its last restart
   * (#cutAtRestart); the rest, past the limit on its own, is judged by its
   * start: dropped up to its end or next restart (a warning), or passed on as
   * its bytes come.
   */
  #overflow(out: RawLine[]): void {
    this.#cutAtRestart(out);
    if (this.#heldLineBytes() <= this.maxLineBytes) return;
    this.#before = undefined;
    if (mayBeProtocol(this.#start)) {
      const raw = this.#take();
      out.push({ kind: 'overlong', bytes: raw.subarray(0, 256), raw });
      this.#mode = 'drop';
    } else {
      // passed on at the chunk's end, but for a last CR or a character's first bytes
      this.#mode = 'pass';
    }
  }

  /** Lines completed by this chunk, pieces of lines past the limit, and with partialLogs the start of one that cannot be protocol (a fragment, partial). */
  push(chunk: Uint8Array): RawLine[] {
    const out: RawLine[] = [];
    if (chunk.length === 0) return out;
    if (this.#crEnded && chunk[0] !== LF && chunk[0] !== CR) this.#restart(out);
    this.#crEnded = false;
    let start = 0;
    let restartAt = restartAfter(chunk, 0);
    while (start < chunk.length) {
      const nl = chunk.indexOf(LF, start);
      let end = nl < 0 ? chunk.length : nl + 1;
      if (restartAt >= 0 && restartAt <= start) restartAt = restartAfter(chunk, start);
      // CRs inside the piece with a byte other than CR and LF after them end the piece: the line starts again there
      const restart = restartAt >= 0 && restartAt < end;
      if (restart) end = restartAt;
      // Copied: the caller may reuse its chunk.
      let piece = Uint8Array.prototype.slice.call(chunk, start, end);
      start = end;
      const terminated = !restart && nl >= 0;
      // A line that passes the limit inside the piece is cut where it passes it, as when its bytes come one at a
      // time: its last restart then is the one before that byte. (Within a piece CRs are only its last bytes.)
      for (let fits = this.#lineRoom(); this.#mode === 'normal' && fits < piece.length && piece[fits] !== CR && piece[fits] !== LF;
        fits = this.#lineRoom()) {
        this.#hold(piece.subarray(0, fits + 1));
        piece = piece.subarray(fits + 1);
        this.#overflow(out);
      }
      if (this.#mode === 'drop') {
        if (restart) this.#restart(out);
        else if (terminated) {
          this.#mode = 'normal';
          this.#before = undefined;
        }
        continue;
      }
      this.#hold(piece);
      if (restart) this.#restart(out);
      else if (this.#mode === 'pass') {
        // unterminated, it goes on at the chunk's end, below
        if (terminated) {
          const raw = this.#take();
          out.push({ kind: 'fragment', bytes: withoutLineEnd(raw), raw });
          this.#mode = 'normal';
          this.#before = undefined;
        }
      } else if (terminated) this.#lineEnd(out);
      // (a last CR may be the start of the line end: not counted until a byte other than LF follows)
      else if (this.#heldLineBytes() > this.maxLineBytes) this.#overflow(out);
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
    this.#crEnded = chunk[chunk.length - 1] === CR;
    return out;
  }

  /** At end of input: the last line when it had no line end. */
  end(): RawLine[] {
    const passing = this.#mode === 'pass';
    const before = this.#before;
    const start = this.#start;
    this.#mode = 'normal';
    this.#crEnded = false;
    this.#before = undefined;
    const raw = this.#take();
    // the input ended inside a log line passed on: its last piece (what was held back, or nothing) ends it
    if (passing) return [{ kind: 'fragment', bytes: raw, raw }];
    if (raw.length === 0) return [];
    // blanks alone after a text gone on: that line's end
    if (start === 'blank' && before !== undefined) return before === 'passed' ? [{ kind: 'fragment', bytes: raw, raw }] : [];
    return [{ kind: 'line', bytes: withoutLineEnd(raw), raw }];
  }
}

// Bytes → lines, for stdout read from another process: lines split across
// chunks, LF or CRLF, a last line without a line end, and lines longer than
// a limit (a log line is passed on in pieces, unchanged; a protocol line is
// dropped with a warning). Bytes are kept as read, so logs pass through
// byte for byte even when they are not UTF-8.

export interface RawLine {
  /** The line's bytes, without the line end ("\n" or "\r\n"). */
  bytes: Uint8Array;
  /** The bytes as read, line end included. */
  raw: Uint8Array;
  /**
   * 'line': a whole line; 'fragment': a piece of an overlong log line (pass
   * it on, do not parse it); 'overlong': a protocol line past the limit,
   * dropped (bytes hold its first part).
   */
  kind: 'line' | 'fragment' | 'overlong';
  /** A fragment that does not end its line: the next fragment goes on with it. */
  partial?: boolean;
}

const LF = 0x0a;
const CR = 0x0d;
const MARK = 0x3e; // '>'

/** The first non-blank byte is '>', not followed by another (isProtocolLine). */
function startsAsProtocol(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x20 || b === 0x09 || b === 0x0b || b === 0x0c || b === CR) continue;
    return b === MARK && bytes[i + 1] !== MARK;
  }
  return false;
}

function withoutLineEnd(raw: Uint8Array): Uint8Array {
  let end = raw.length;
  if (end > 0 && raw[end - 1] === LF) end--;
  if (end > 0 && raw[end - 1] === CR) end--;
  return raw.subarray(0, end);
}

export class LineSplitter {
  readonly maxLineBytes: number;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  /** Inside an overlong line: pass its log pieces on, or drop the protocol line. */
  #mode: 'normal' | 'pass' | 'drop' = 'normal';

  constructor(maxLineBytes: number) {
    this.maxLineBytes = maxLineBytes;
  }

  #take(): Uint8Array {
    const all = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending, this.#pendingBytes);
    this.#pending = [];
    this.#pendingBytes = 0;
    return all;
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

  /** Lines completed by this chunk. */
  push(chunk: Uint8Array): RawLine[] {
    const out: RawLine[] = [];
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(LF, start);
      const end = nl < 0 ? chunk.length : nl + 1;
      // Copied: the caller may reuse its chunk.
      const piece = Uint8Array.prototype.slice.call(chunk, start, end);
      start = end;
      const terminated = nl >= 0;
      if (this.#mode === 'drop') {
        if (terminated) this.#mode = 'normal';
        continue;
      }
      if (this.#mode === 'pass') {
        out.push({ kind: 'fragment', bytes: withoutLineEnd(piece), raw: piece, partial: !terminated });
        if (terminated) this.#mode = 'normal';
        continue;
      }
      this.#pending.push(piece);
      this.#pendingBytes += piece.length;
      if (terminated) {
        const raw = this.#take();
        const bytes = withoutLineEnd(raw);
        if (bytes.length > this.maxLineBytes) this.#overlong(raw, true, out);
        else out.push({ kind: 'line', bytes, raw });
      } else if (this.#pendingBytes > this.maxLineBytes) {
        this.#overlong(this.#take(), false, out);
      }
    }
    return out;
  }

  /** At end of input: the last line when it had no line end. */
  end(): RawLine[] {
    const passing = this.#mode === 'pass';
    this.#mode = 'normal';
    // the input ended inside an overlong log line: its last piece, empty, ends it
    if (passing) return [{ kind: 'fragment', bytes: new Uint8Array(0), raw: new Uint8Array(0) }];
    if (this.#pendingBytes === 0) return [];
    const raw = this.#take();
    return [{ kind: 'line', bytes: withoutLineEnd(raw), raw }];
  }
}

// Bytes → `img=` messages, incrementally: messages split across chunks in
// any way, several in one chunk, CR/LF between them. Pixels that arrive in
// one chunk are handed out as a view of it (no copy). Errors: a bad shape, a
// header that is not one, a stream that ends inside a message (short read), a
// missing ETX after the pixels, a picture over the size limit.
import { isUtf8 } from 'node:buffer';
import { optionNames, validateOptions } from '../option-checks.js';
import { ETX, ImgStreamError, PREFIX, setAttribute, SOH, STX, type ImgEncoding, type ImgMessage } from './message.js';

export interface ImgParserOptions {
  /** Largest picture accepted, in bytes of pixels. @default 1 GiB */
  maxPixelBytes?: number;
  /** Longest header (between SOH and STX). @default 65536 */
  maxHeaderBytes?: number;
}

const MAGIC = Uint8Array.from([...PREFIX].map((c) => c.charCodeAt(0)).concat(SOH));
const SHAPE = /^u16\[(\d{1,9}),(\d{1,9})\]/;
const ATTRIBUTE = /[ \t\n\v\f\r]+([A-Za-z_][A-Za-z0-9_.-]*)=(\{[^{}]*\}|[^ \t\n\v\f\r{}]+)/y;

export const IMG_PARSER_OPTIONS = optionNames<ImgParserOptions>({ maxPixelBytes: true, maxHeaderBytes: true });

type State = 'magic' | 'header' | 'pixels' | 'etx';

export class ImgParser {
  readonly maxPixelBytes: number;
  readonly maxHeaderBytes: number;
  #state: State = 'magic';
  #offset = 0; // bytes consumed so far
  #magic = 0; // bytes of MAGIC matched
  #start = 0; // offset of the current message's "img="
  #header: number[] = [];
  #shape?: Omit<ImgMessage, 'pixels' | 'offset'>;
  #pixels?: Uint8Array;
  #filled = 0;
  #fault?: ImgStreamError; // met after whole messages of the same chunk: thrown at the next call

  constructor(options?: ImgParserOptions) {
    options = validateOptions(options, IMG_PARSER_OPTIONS);
    this.maxPixelBytes = options.maxPixelBytes ?? 1 << 30;
    this.maxHeaderBytes = options.maxHeaderBytes ?? 65536;
  }

  /** True between messages (a stream may end here). */
  get idle(): boolean {
    return this.#state === 'magic' && this.#magic === 0;
  }

  /**
   * Parses what `chunk` completes; throws ImgStreamError on bad input. The
   * messages that came whole before a fault in the same chunk are returned
   * first, and the fault is thrown by the next call (push or end).
   */
  push(chunk: Uint8Array): ImgMessage[] {
    if (this.#fault !== undefined) throw this.#fault;
    const out: ImgMessage[] = [];
    try {
      this.#parse(chunk, out);
    } catch (e) {
      if (out.length === 0 || !(e instanceof ImgStreamError)) throw e;
      this.#fault = e;
    }
    return out;
  }

  #parse(chunk: Uint8Array, out: ImgMessage[]): void {
    let i = 0;
    while (i < chunk.length) {
      switch (this.#state) {
        case 'magic': {
          const b = chunk[i]!;
          if (this.#magic === 0 && (b === 0x0a || b === 0x0d)) break; // line ends between messages
          if (b !== MAGIC[this.#magic])
            throw new ImgStreamError(`expected "img=" and SOH, found byte 0x${b.toString(16).padStart(2, '0')}`, 'header', this.#offset + i);
          if (this.#magic === 0) this.#start = this.#offset + i;
          if (++this.#magic === MAGIC.length) {
            this.#state = 'header';
            this.#header = [];
          }
          break;
        }
        case 'header': {
          const stx = chunk.indexOf(STX, i);
          const end = stx < 0 ? chunk.length : stx;
          if (this.#header.length + (end - i) > this.maxHeaderBytes)
            throw new ImgStreamError(`header longer than ${this.maxHeaderBytes} bytes without STX`, 'header', this.#offset + i);
          for (let k = i; k < end; k++) this.#header.push(chunk[k]!);
          i = end;
          if (stx < 0) continue;
          this.#readHeader(this.#offset + stx);
          this.#state = 'pixels';
          break;
        }
        case 'pixels': {
          const size = this.#shape!.height * this.#shape!.width * 2;
          const take = Math.min(size - this.#filled, chunk.length - i);
          if (this.#filled === 0 && take === size) {
            this.#pixels = chunk.subarray(i, i + size);
          } else {
            this.#pixels ??= new Uint8Array(size);
            this.#pixels.set(chunk.subarray(i, i + take), this.#filled);
          }
          this.#filled += take;
          i += take;
          if (this.#filled === size) this.#state = 'etx';
          continue;
        }
        case 'etx': {
          if (chunk[i] !== ETX)
            throw new ImgStreamError(
              `missing ETX after ${this.#shape!.height}x${this.#shape!.width} pixels (found 0x${chunk[i]!.toString(16).padStart(2, '0')}): ` +
                'the header\'s shape does not match the pixels sent', 'etx', this.#offset + i);
          out.push({ ...this.#shape!, pixels: this.#pixels!, offset: this.#start });
          this.#shape = undefined;
          this.#pixels = undefined;
          this.#filled = 0;
          this.#magic = 0;
          this.#state = 'magic';
          break;
        }
      }
      i++;
    }
    this.#offset += chunk.length;
  }

  /** The stream ended: throws a fault push() kept back, or a short-read error when it ended inside a message. */
  end(): void {
    if (this.#fault !== undefined) throw this.#fault;
    if (this.idle) return;
    const where = this.#state === 'pixels'
      ? `after ${this.#filled} of ${this.#shape!.height * this.#shape!.width * 2} pixel bytes`
      : this.#state === 'etx' ? 'before the ETX' : 'inside a header';
    throw new ImgStreamError(`the stream ended ${where}`, 'short-read', this.#offset);
  }

  #readHeader(at: number): void {
    // not UTF-8 (a Latin-1 "µs"): read byte for byte, not as U+FFFD
    const bytes = Buffer.from(this.#header);
    const encoding: ImgEncoding = isUtf8(bytes) ? 'utf-8' : 'latin1';
    const text = bytes.toString(encoding === 'utf-8' ? 'utf8' : 'latin1');
    const shape = SHAPE.exec(text);
    if (shape === null)
      throw new ImgStreamError(`bad shape ${JSON.stringify(text.split(/\s/)[0])}: expected u16[HEIGHT,WIDTH]`, 'shape', at);
    const height = Number(shape[1]);
    const width = Number(shape[2]);
    if (height === 0 || width === 0) throw new ImgStreamError(`bad shape u16[${height},${width}]: empty picture`, 'shape', at);
    if (height * width * 2 > this.maxPixelBytes)
      throw new ImgStreamError(`picture u16[${height},${width}] is larger than ${this.maxPixelBytes} bytes`, 'size', at);
    const attributes: Record<string, string> = {};
    const repeated = new Set<string>();
    let pos = shape[0].length;
    ATTRIBUTE.lastIndex = pos;
    for (let m = ATTRIBUTE.exec(text); m !== null; m = ATTRIBUTE.exec(text)) {
      if (Object.hasOwn(attributes, m[1]!)) repeated.add(m[1]!);
      setAttribute(attributes, m[1]!, m[2]!); // own, also __proto__
      pos = ATTRIBUTE.lastIndex;
    }
    if (!/^[ \t\n\v\f\r]*$/.test(text.slice(pos)))
      throw new ImgStreamError(`bad attributes ${JSON.stringify(text.slice(pos, pos + 60))}: expected key=value or key={…}`, 'header', at);
    this.#shape = { height, width, attributes, encoding, ...(repeated.size > 0 ? { repeated: [...repeated] } : {}) };
  }
}

/**
 * The `img=` messages of a byte stream (a socket, a file stream, stdin, any
 * async iterable of chunks), as they complete. Throws ImgStreamError for bad
 * input, including a stream that ends inside a message.
 */
export async function* parseImgMessages(
  stream: AsyncIterable<Uint8Array | string>, options?: ImgParserOptions,
): AsyncGenerator<ImgMessage, void, undefined> {
  const parser = new ImgParser(options);
  for await (const chunk of stream) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
    yield* parser.push(bytes);
  }
  parser.end();
}

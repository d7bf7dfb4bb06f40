// A stream of another process's stdout → typed events: logs (bytes as
// read), messages and warnings. A bad line never ends the stream.
import { onAbortWeakly, type WeakAbortListener } from '../abort.js';
import { optionNames, validateBoolean, validateOptions, validateSignal, validateSize } from '../options.js';
import { LineSplitter, type RawLine } from './line-splitter.js';
import { parseLine, shorten, type LineEvent } from './parse-line.js';

export interface ReadLinesOptions {
  /**
   * Longest line accepted, in bytes. Longer log lines are passed on in
   * pieces (LogEvent.partial); longer protocol lines are dropped with a
   * warning. A longer line's text after its last "\r" (with text after it)
   * is judged as a line start of its own, so an announcement after progress
   * updates is read however long they ran; no more than this is held.
   * @default 65536
   */
  maxLineBytes?: number;
  /**
   * Log lines go on in pieces as their bytes come (LogEvent.partial), not
   * at their end, once their first bytes show they are no protocol line:
   * for output shown as it comes, such as a progress display's "\r"
   * updates or a prompt (`watch` passes its command's output so). Protocol
   * lines still come whole: a line that may still be one (blanks, or a '>'
   * so far, also after a "\r" that starts it again) is held until its end,
   * maxLineBytes or a "\r" that starts it again ("> 50%\r" progress passes
   * on there); from a '>' and '{' on (an announcement's JSON) its "\r"s are
   * held too (they may be JSON whitespace).
   * @default false
   */
  partialLogs?: boolean;
  /** Ends the iteration (quietly) when aborted. */
  signal?: AbortSignal;
}

export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

const READ_LINES_OPTIONS = optionNames<ReadLinesOptions>({ maxLineBytes: true, partialLogs: true, signal: true });

const strict = new TextDecoder('utf-8', { fatal: true });
const lossy = new TextDecoder('utf-8');

/** The event for one line from the splitter. */
export function toEvent(line: RawLine, maxLineBytes: number): LineEvent {
  if (line.kind === 'fragment')
    return { type: 'log', text: lossy.decode(line.bytes), raw: line.raw, ...(line.partial === true ? { partial: true } : {}) };
  if (line.kind === 'overlong')
    return {
      type: 'warning',
      reason: `protocol line longer than the limit of ${maxLineBytes} bytes, ignored`,
      line: shorten(lossy.decode(line.bytes)),
      raw: line.raw,
    };
  let text: string;
  try {
    text = strict.decode(line.bytes);
  } catch {
    const event = parseLine(lossy.decode(line.bytes), line.raw);
    if (event.type === 'log') return event;
    return { type: 'warning', reason: 'protocol line is not valid UTF-8', line: shorten(lossy.decode(line.bytes)), raw: line.raw };
  }
  return parseLine(text, line.raw);
}

type Chunk = Uint8Array | string;
const END: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * The source's reads, which an abort ends at once (the source's own next()
 * is left to settle). Between reads its abort listener holds it weakly
 * (onAbortWeakly): a closure made inside readLines() would keep the
 * iterator, and through it its source, for as long as the signal lived, and
 * an iterator dropped at a yield is then collected with its source. While a
 * read is in flight the listener holds it strongly: a source that cannot
 * make progress by itself (an async generator waiting on an event emitter
 * no one else holds) is unreachable, and with it the loop awaiting it, so GC
 * would collect them all and the abort would no longer end the loop. So an
 * iterator dropped with a read in flight stays until the read ends, the
 * signal aborts or the signal is collected. A read raced against one
 * promise that lives as long as the iteration would leave a reaction on it
 * per chunk.
 */
class SourceReads {
  readonly #iterator: AsyncIterator<Chunk>;
  readonly #listening: WeakAbortListener;
  /** Ends the read in flight. */
  #wake: ((r: IteratorResult<Chunk>) => void) | undefined;
  #cancelled = false;

  constructor(iterator: AsyncIterator<Chunk>, signal: AbortSignal) {
    this.#iterator = iterator;
    this.#listening = onAbortWeakly(signal, this);
  }

  next(): Promise<IteratorResult<Chunk>> {
    if (this.#cancelled) return Promise.resolve(END);
    this.#listening.holdStrongly(true);
    return new Promise((resolve, reject) => {
      this.#wake = resolve;
      this.#iterator.next().then((r) => {
        this.#readOver();
        resolve(r);
      }, (e: unknown) => {
        this.#readOver();
        reject(e);
      });
    });
  }

  #readOver(): void {
    this.#wake = undefined;
    this.#listening.holdStrongly(false);
  }

  cancel(): void {
    this.#cancelled = true;
    this.#wake?.(END);
    this.#readOver();
  }

  /** The iteration is over: the listener leaves the signal. */
  stop(): void {
    this.#listening.stop();
  }
}

/** Events from the chunks of a byte (or text) stream, such as a child's stdout. */
export async function* readLines(
  source: AsyncIterable<Uint8Array | string>,
  options?: ReadLinesOptions,
): AsyncGenerator<LineEvent, void, undefined> {
  options = validateOptions(options, READ_LINES_OPTIONS);
  const signal = validateSignal(options.signal);
  const max = options.maxLineBytes === undefined ? DEFAULT_MAX_LINE_BYTES : validateSize('maxLineBytes', options.maxLineBytes, 1);
  const splitter = new LineSplitter(max, { partialLogs: validateBoolean('partialLogs', options.partialLogs, false) });
  const iterator = source[Symbol.asyncIterator]();
  // (an aborted signal: no reads to cancel, the loop ends at once)
  const reads = signal === undefined || signal.aborted ? undefined : new SourceReads(iterator, signal);
  try {
    for (;;) {
      if (signal?.aborted) return;
      const next = reads === undefined ? await iterator.next() : await reads.next();
      if (signal?.aborted) return;
      if (next.done) break;
      const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
      for (const line of splitter.push(chunk)) yield toEvent(line, splitter.maxLineBytes);
    }
    for (const line of splitter.end()) yield toEvent(line, splitter.maxLineBytes);
  } finally {
    reads?.stop();
    // After an abort a next() may still be pending, and an async generator
    // queues return() behind it: do not wait for it then.
    const closing = iterator.return?.();
    if (signal?.aborted) closing?.catch(() => {});
    else await closing;
  }
}

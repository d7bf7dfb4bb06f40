// A stream of another process's stdout → typed events: logs (bytes as
// read), messages and warnings. A bad line never ends the stream.
import { validateSignal, validateSize } from '../options.js';
import { LineSplitter, type RawLine } from './line-splitter.js';
import { parseLine, shorten, type LineEvent } from './parse-line.js';

export interface ReadLinesOptions {
  /**
   * Longest line accepted, in bytes. Longer log lines are passed on in
   * pieces; longer protocol lines are dropped with a warning.
   * @default 65536
   */
  maxLineBytes?: number;
  /** Ends the iteration (quietly) when aborted. */
  signal?: AbortSignal;
}

export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

const strict = new TextDecoder('utf-8', { fatal: true });
const lossy = new TextDecoder('utf-8');

/** The event for one line from the splitter. */
export function toEvent(line: RawLine): LineEvent {
  if (line.kind === 'fragment') return { type: 'log', text: lossy.decode(line.bytes), raw: line.raw };
  if (line.kind === 'overlong')
    return {
      type: 'warning',
      reason: `protocol line longer than the limit (${line.raw.length} bytes or more), ignored`,
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

/** Events from the chunks of a byte (or text) stream, such as a child's stdout. */
export async function* readLines(
  source: AsyncIterable<Uint8Array | string>,
  options: ReadLinesOptions = {},
): AsyncGenerator<LineEvent, void, undefined> {
  const signal = validateSignal(options.signal);
  const max = options.maxLineBytes === undefined ? DEFAULT_MAX_LINE_BYTES : validateSize('maxLineBytes', options.maxLineBytes, 1);
  const splitter = new LineSplitter(max);
  const iterator = source[Symbol.asyncIterator]();
  let aborted: Promise<IteratorResult<Uint8Array | string>> | undefined;
  let onAbort: (() => void) | undefined;
  if (signal !== undefined) {
    aborted = new Promise((resolve) => {
      onAbort = () => resolve({ done: true, value: undefined });
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
  try {
    for (;;) {
      if (signal?.aborted) return;
      const next = aborted === undefined ? await iterator.next() : await Promise.race([iterator.next(), aborted]);
      if (signal?.aborted) return;
      if (next.done) break;
      const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
      for (const line of splitter.push(chunk)) yield toEvent(line);
    }
    for (const line of splitter.end()) yield toEvent(line);
  } finally {
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
    // After an abort a next() may still be pending, and an async generator
    // queues return() behind it: do not wait for it then.
    const closing = iterator.return?.();
    if (signal?.aborted) closing?.catch(() => {});
    else await closing;
  }
}

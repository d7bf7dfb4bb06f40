// What gst-launch prints, read for the runner: when the pipeline plays,
// gst-launch's own words when it fails (kept for the error message), and
// what zerosink says for supervisors: the kind of its error and its frame
// count (gst-plugin/README.md, "Errors a supervisor can classify").
import type { Readable } from 'node:stream';
import type { ElementError } from '../errors.js';

/** gst-launch printed this when the pipeline reached PLAYING. */
export function isPlayingLine(line: string): boolean {
  return line.startsWith('Setting pipeline to PLAYING');
}

/** An element posted an error (gst-launch prints it from the posting thread, then quits its main loop). */
export function isElementErrorLine(line: string): boolean {
  return line.startsWith('ERROR: from element ');
}

/** gst-launch left its main loop and is shutting the pipeline down. */
export function isShutdownLine(line: string): boolean {
  return line.startsWith('Setting pipeline to NULL');
}

/** gst-launch refused the description itself (it never ran). */
export function isRejection(line: string): boolean {
  return /^WARNING: erroneous pipeline/.test(line) || /^ERROR: pipeline could not be constructed/.test(line);
}

/**
 * GLib's warning for a property value out of its range (e.g. zerofilter
 * depth=0): gst-launch prints it and runs with the property's default, where
 * a value it cannot parse (depth=banana) is "erroneous pipeline".
 */
const REFUSED_VALUE = /GLib-GObject-WARNING \*\*: (?:[0-9:.]+: )?(value "(.*)" of type '[^']+' is invalid or out of range for property '([^']+)' of type '[^']+')$/;

/** A property value gst-launch refused with GLib's warning only: what it said, the value and the property. */
export interface RefusedValue {
  warning: string;
  value: string;
  property: string;
}

/** The warning of a property value refused (REFUSED_VALUE), else undefined. */
export function refusedValue(line: string): RefusedValue | undefined {
  const m = REFUSED_VALUE.exec(line);
  return m === null ? undefined : { warning: m[1]!, value: m[2]!, property: m[3]! };
}

/**
 * An element's path as gst-launch prints it (`/GstPipeline:pipeline0/GstQueue:my q`): its names as the
 * description gave them, spaces and all, so it ends at the first ": " (one in a name cannot be told apart).
 */
export const ELEMENT_PATH = String.raw`\/.*?`;
const ERROR_LINE = new RegExp(`^ERROR: from element (${ELEMENT_PATH}): (.*)$`);
const WARNING_LINE = new RegExp(`^WARNING: from element (${ELEMENT_PATH}): (.*)$`);
const KIND_LINE = /^zerobuffer-error=([A-Z0-9_]+) \((permanent|transient)\)$/;
// zerosink's count, or zerofilter's: its requests are the frames it wrote into NAME_request.
const STATS_LINE = /^zerobuffer-stats frames-written=(\d+)\b|^zerofilter-stats\b.*?\brequests=(\d+)\b/;
/** Debug lines kept per error (zerobuffer's are one or two). */
const MAX_DEBUG_LINES = 8;

type Block = { kind: 'error' | 'warning'; element: string; message: string; stage: 'header' | 'location' | 'debug'; debug: string[] };

/** An element's warning as gst-launch printed it: the element goes on (zerofilter on-error=pass, a repeat dropped). */
export interface ElementWarning {
  /** The element's path, e.g. /GstPipeline:pipeline0/GstZeroFilter:zerofilter. */
  element: string;
  /** The element's message (what follows "WARNING: from element …: "). */
  message: string;
  /** The first line of its debug text: details or what to do (empty when none). */
  hint: string;
}

/**
 * Keeps the last lines printed, gst-launch's error lines among them, the
 * first classified error of zerosink/zerosrc, and zerosink's (or zerofilter's) frame count;
 * hands each element's warning to onWarning.
 * Lines of stdout and stderr are told apart (`from`) because an error block
 * spans several stderr lines that stdout lines may come between.
 */
export class OutputTail {
  readonly #limit: number;
  readonly #onWarning: (warning: ElementWarning) => void;
  #lines: string[] = [];
  #errors: string[] = [];
  #blocks = new Map<string, Block>();
  /** end() was called: a line added later is no part of this run's output (until reset()). */
  #over = false;
  rejected = false;
  /** The first property value gst-launch refused with a warning only (see refusedValue). */
  refused?: RefusedValue;
  /** The first classified error of this run (the cause; later ones follow from it). */
  elementError?: ElementError;
  /** Frames zerosink (or zerofilter: requests) said it wrote (its INFO before EOS or error), if it said so. */
  framesWritten?: number;

  constructor(limit = 60, onWarning: (warning: ElementWarning) => void = () => {}) {
    this.#limit = limit;
    this.#onWarning = onWarning;
  }

  add(line: string, from = 'stderr'): void {
    if (this.#over) return;
    this.#lines.push(line);
    if (this.#lines.length > this.#limit) this.#lines.shift();
    if (isRejection(line)) this.rejected = true;
    const refused = refusedValue(line);
    if (refused !== undefined) {
      this.refused ??= refused;
      this.#keepError(`WARNING: ${refused.warning}`);
    }
    const stats = STATS_LINE.exec(line);
    if (stats !== null) this.framesWritten = Number(stats[1] ?? stats[2]);
    const block = this.#blocks.get(from);
    const error = ERROR_LINE.exec(line);
    const warning = WARNING_LINE.exec(line);
    if (error !== null || /^(ERROR|WARNING|INFO)[: ]/.test(line)) {
      this.#endBlock(from);
      if (error !== null) this.#blocks.set(from, { kind: 'error', element: error[1]!, message: error[2]!, stage: 'header', debug: [] });
      if (warning !== null) this.#blocks.set(from, { kind: 'warning', element: warning[1]!, message: warning[2]!, stage: 'header', debug: [] });
      if (/^(ERROR|WARNING: erroneous)/.test(line)) this.#keepError(line);
    } else if (block !== undefined) {
      this.#blockLine(from, block, line);
    }
  }

  #blockLine(from: string, block: Block, line: string): void {
    if (block.stage === 'header') {
      if (line === 'Additional debug info:') block.stage = 'location';
      else this.#endBlock(from);
      return;
    }
    if (block.stage === 'location') {
      // "file(line): function (): element:" when debug text follows; without the colon GStreamer
      // had none (gst_element_message_full): the next line is not the block's
      if (line.endsWith(':')) block.stage = 'debug';
      else this.#endBlock(from);
      return;
    }
    if (block.kind === 'warning') {
      block.debug.push(line);
      this.#endBlock(from);
      return;
    }
    const kind = KIND_LINE.exec(line);
    if (kind !== null) {
      this.#blocks.delete(from);
      this.elementError ??= {
        name: kind[1]!, permanent: kind[2] === 'permanent', message: block.message,
        hint: block.debug.join('\n'), element: block.element,
      };
      return;
    }
    if (STATS_LINE.test(line)) return; // zerosink's count in its error: not part of the hint
    if (block.debug.length === 0) this.#keepError(`  ${line.trim()}`);
    if (block.debug.length < MAX_DEBUG_LINES) block.debug.push(line);
    else this.#blocks.delete(from);
  }

  /** Ends the block of `from`, if any: a warning is told with what came of its debug text. */
  #endBlock(from: string): void {
    const block = this.#blocks.get(from);
    this.#blocks.delete(from);
    if (block?.kind === 'warning') this.#onWarning({ element: block.element, message: block.message, hint: block.debug[0]?.trim() ?? '' });
  }

  /** The output is over: a warning still open (no debug text came) is told; lines added later are ignored until reset(). */
  end(): void {
    for (const from of [...this.#blocks.keys()]) this.#endBlock(from);
    this.#over = true;
  }

  #keepError(line: string): void {
    this.#errors.push(line);
    if (this.#errors.length > 12) this.#errors.shift();
  }

  /** The error lines gst-launch printed, each with the first line of its debug text (empty when none). */
  get errors(): string {
    return this.#errors.join('\n');
  }

  get text(): string {
    return this.#lines.join('\n');
  }

  reset(): void {
    this.#lines = [];
    this.#errors = [];
    this.#blocks.clear();
    this.#over = false;
    this.rejected = false;
    this.refused = undefined;
    this.elementError = undefined;
    this.framesWritten = undefined;
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

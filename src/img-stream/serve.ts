// A ring's frames out as an img= stream: each GRAY16 frame becomes one
// message with the frame's attributes (not the reserved ones, which are the
// frame's own). Unpadded GRAY16_BE frames are written
// from the ring itself (no copy); each frame is held until the bytes are
// handed to the sink.
import { finished, type Writable } from 'node:stream';
import { onAbort } from '../abort.js';
import type { Frame } from '../frame.js';
import { optionNames, validateOptions, validateSignal } from '../options.js';
import { formatImgParts } from './format.js';
import { describeValue } from '../line-protocol/describe.js';
import {
  ATTRIBUTE_NAME, checkAttribute, ENCODING_ATTRIBUTE, isAttributeName, RESERVED_ATTRIBUTES, setAttribute, type ImgEncoding,
} from './message.js';

export interface ServeOptions {
  /** Stop after this many frames. */
  frames?: number;
  /** Called after each frame is written. */
  onFrame?: (frames: number) => void;
  /**
   * Ends a wait for the sink (one that stopped reading never takes the
   * bytes): serveImg rejects with signal.reason, and the frame whose bytes
   * the sink may still hold stays held until they leave or the sink is
   * destroyed (destroy a sink that will never drain: any Writable, also one
   * whose _write never calls back; its 'close' or 'error' lets the frame
   * go). Give the frames their own signal to end the wait for a frame.
   */
  signal?: AbortSignal;
  /**
   * Told once per attribute name left out (one img= cannot carry: a
   * foreign writer's) or whose value lost braces or control characters
   * (img= has no way to write them), once for frames whose attributes are
   * not JSON, and
   * once for an img.encoding other than "latin1" or with values Latin-1
   * cannot hold (the header then goes out as UTF-8).
   * @default process.emitWarning
   */
  onWarning?: (message: string) => void;
}

// Attribute values as img= tokens: as they are when they can be, else
// {braced}, without the braces and control characters inside, told once
// per name. What img= cannot carry (a foreign writer's) is left out, told
// once per name: a name img= cannot have ("a b"), a value nested too deep
// to write as text, attributes that are not a JSON object. Reserved names
// are the frame's, not the image's: `caps` (zerosink's after its caps
// changed: the shape says the size) is left out; img.encoding "latin1"
// (ingest's, for a header that was not UTF-8) makes the header Latin-1 again.
function attributesOf(frame: Frame, warnOnce: (key: string, message: string) => void): { attributes: Record<string, string>; encoding: ImgEncoding } {
  const out: Record<string, string> = {};
  let attributes: Record<string, unknown>;
  try {
    attributes = frame.attributes ?? {};
  } catch (e) {
    warnOnce('', `${(e as Error).message}: sent without attributes (so are later frames like it)`);
    return { attributes: out, encoding: 'utf-8' };
  }
  for (const [k, v] of Object.entries(attributes)) {
    if (RESERVED_ATTRIBUTES.includes(k)) continue;
    if (!isAttributeName(k)) {
      warnOnce(k, `frame ${frame.sequence}: attribute name ${describeValue(k)} is none img= can carry (${ATTRIBUTE_NAME}): left out (in later frames too)`);
      continue;
    }
    let value: string;
    try {
      value = typeof v === 'string' ? v : JSON.stringify(v);
    } catch { // nested deeper than JSON.stringify's stack goes
      warnOnce(k, `frame ${frame.sequence}: attribute ${k}: its value (${describeValue(v)}) is nested too deep to write as text: left out (in later frames too)`);
      continue;
    }
    try {
      checkAttribute(k, value);
    } catch {
      const kept = value.replace(/[{}\x00-\x1f]/g, '');
      if (kept.length !== value.length)
        warnOnce(k, `frame ${frame.sequence}: attribute ${k}: its value ${describeValue(value)} has braces or control characters, ` +
          'which img= cannot carry: sent without them (in later frames too)');
      value = `{${kept}}`;
      checkAttribute(k, value);
    }
    setAttribute(out, k, value);
  }
  const marker = Object.hasOwn(attributes, ENCODING_ATTRIBUTE) ? attributes[ENCODING_ATTRIBUTE] : undefined;
  if (marker === undefined) return { attributes: out, encoding: 'utf-8' };
  if (marker === 'latin1' && Object.values(out).every((v) => !/[^\x00-\xff]/.test(v))) return { attributes: out, encoding: 'latin1' };
  warnOnce(ENCODING_ATTRIBUTE, `frame ${frame.sequence}: attribute ${ENCODING_ATTRIBUTE} is ${describeValue(marker)}, ` +
    `${marker === 'latin1' ? 'but a value has characters beyond Latin-1' : 'not "latin1"'}: the header is sent as UTF-8 (in later frames too)`);
  return { attributes: out, encoding: 'utf-8' };
}

function write(sink: Writable, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    sink.write(bytes, (e) => (e ? reject(e) : resolve()));
  });
}

/**
 * Settles once the writes settle or the sink is destroyed, closed or
 * errored: a destroyed sink never calls back the write it was given
 * (its _write may never have called back: a custom Writable stalled for
 * good), only those it had queued, so its 'close' says its bytes are let go.
 */
function letGo(done: Promise<void>[], sink: Writable): Promise<void> {
  return new Promise((resolve) => {
    const stopWatching = finished(sink, { readable: false }, () => resolve());
    void Promise.allSettled(done).then(() => {
      stopWatching();
      resolve();
    });
  });
}

/**
 * Waits for a frame's writes; on abort rejects with signal.reason at once,
 * keeping the frame (whose bytes the sink may still hold) until they settle
 * or the sink is destroyed.
 */
async function written(done: Promise<void>[], sink: Writable, frame: Frame, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) {
    await Promise.all(done);
    return;
  }
  let stopListening = (): void => {};
  try {
    await new Promise<void>((resolve, reject) => {
      Promise.all(done).then(() => resolve(), reject);
      stopListening = onAbort(signal, () => reject(signal.reason));
    });
  } catch (e) {
    if (signal.aborted && !frame.retained) {
      frame.retain();
      void letGo(done, sink).then(() => frame.release());
    }
    throw e;
  } finally {
    stopListening();
  }
}

const SERVE_OPTIONS = optionNames<ServeOptions>({ frames: true, onFrame: true, signal: true, onWarning: true });

/** Writes frames to `sink` as img= messages until they end; resolves with the count. */
export async function serveImg(frames: AsyncIterable<Frame>, sink: Writable, options?: ServeOptions): Promise<number> {
  options = validateOptions(options, SERVE_OPTIONS);
  const signal = validateSignal(options.signal);
  signal?.throwIfAborted();
  let n = 0;
  const warned = new Set<string>();
  const warn = options.onWarning ?? ((message: string) => process.emitWarning(message));
  const warnOnce = (key: string, message: string): void => {
    if (warned.has(key)) return;
    warned.add(key);
    warn(message);
  };
  for await (const frame of frames) {
    const { attributes, encoding } = attributesOf(frame, warnOnce);
    const parts = formatImgParts(frame, attributes, { encoding });
    // all three queued, then wait for the last: the pixels have left the ring by then
    const done = parts.map((p) => write(sink, p));
    await written(done, sink, frame, signal);
    n++;
    options.onFrame?.(n);
    if (options.frames !== undefined && n >= options.frames) break;
  }
  return n;
}

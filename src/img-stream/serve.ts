// A ring's frames out as an img= stream: each GRAY16 frame becomes one
// message with the frame's attributes. Unpadded GRAY16_BE frames are written
// from the ring itself (no copy); each frame is held until the bytes are
// handed to the sink.
import type { Writable } from 'node:stream';
import type { Frame } from '../frame.js';
import { formatImgParts } from './format.js';
import { checkAttribute } from './message.js';

export interface ServeOptions {
  /** Stop after this many frames. */
  frames?: number;
  /** Called after each frame is written. */
  onFrame?: (frames: number) => void;
}

// Attribute values as img= tokens: as they are when they can be, else {braced}.
function attributesOf(frame: Frame): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(frame.attributes ?? {})) {
    let value = typeof v === 'string' ? v : JSON.stringify(v);
    try {
      checkAttribute(k, value);
    } catch {
      value = `{${value.replace(/[{}\x00-\x1f]/g, '')}}`;
      checkAttribute(k, value);
    }
    out[k] = value;
  }
  return out;
}

function write(sink: Writable, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    sink.write(bytes, (e) => (e ? reject(e) : resolve()));
  });
}

/** Writes frames to `sink` as img= messages until they end; resolves with the count. */
export async function serveImg(frames: AsyncIterable<Frame>, sink: Writable, options: ServeOptions = {}): Promise<number> {
  let n = 0;
  for await (const frame of frames) {
    const parts = formatImgParts(frame, attributesOf(frame));
    // all three queued, then wait for the last: the pixels have left the ring by then
    const done = parts.map((p) => write(sink, p));
    await Promise.all(done);
    n++;
    options.onFrame?.(n);
    if (options.frames !== undefined && n >= options.frames) break;
  }
  return n;
}

// One reader, several consumers at once: next() calls and frames() loops
// share one queue of reads, so none is refused (ESTATE "a read is already
// pending") and each frame goes to exactly one of them, in call order, each
// read within its own timeout and signal.
import { jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { Frame, ZeroBufferReader, ZeroBufferWriter } from '../../src/index.js';
import { sleep } from './helpers.js';

jest.setTimeout(30000);

const prefix = `nd-shared-${process.pid}-`;

async function pair(tag: string) {
  const reader = await ZeroBufferReader.create({ name: `${prefix}${tag}-${randomUUID().slice(0, 8)}`, metadataSize: 1024, payloadSize: 4096 });
  const writer = await ZeroBufferWriter.connect(reader.name);
  return { reader, writer };
}

const byte = (r: IteratorResult<Frame, void> | Frame | null): number | undefined =>
  r === null ? undefined : r instanceof Frame ? r.data[0] : r.done ? undefined : r.value.data[0];

afterAll(() => {
  expect(fs.readdirSync('/dev/shm').filter((n) => n.includes(prefix))).toEqual([]);
});

test('a frames() loop and next() calls waiting at the same time get the frames in call order', async () => {
  const { reader, writer } = await pair('mixed');
  try {
    const loop = reader.frames({ timeoutMs: 5000 });
    const first = loop.next(); // waits in the addon
    const second = reader.next({ timeoutMs: 5000 }); // queued behind it: was ESTATE
    const third = reader.next({ timeoutMs: 5000 });
    await sleep(100);
    for (let i = 1; i <= 3; i++) await writer.write(new Uint8Array([i]));
    const [a, b, c] = await Promise.all([first, second, third]);
    expect([byte(a), byte(b), byte(c)]).toEqual([1, 2, 3]);
    b!.release();
    c!.release();
    // a burst taken in one batch by the loop: a next() queued behind the loop's wait gets the frame after the loop's
    const fourth = loop.next();
    const fifth = reader.next({ timeoutMs: 5000 });
    await sleep(50);
    for (let i = 4; i <= 7; i++) await writer.write(new Uint8Array([i]));
    expect([byte(await fourth), byte(await fifth)]).toEqual([4, 5]);
    (await fifth)!.release();
    expect(byte(await loop.next())).toBe(6);
    const seventh = (await reader.next())!;
    expect(byte(seventh)).toBe(7);
    await loop.return();
    seventh.release();
    expect(reader.stats()).toMatchObject({ heldFrames: 0, batched: 0 });
  } finally {
    await writer.close();
    await reader.close();
  }
});

test('two frames() loops and next() share the frames, each read within its own timeout and signal', async () => {
  const { reader, writer } = await pair('loops');
  try {
    const aborted = new AbortController();
    const loopA = reader.frames({ timeoutMs: 5000 });
    const loopB = reader.frames({ timeoutMs: 5000 });
    const late = reader.frames({ timeoutMs: 50 });
    const quiet = reader.frames({ signal: aborted.signal });
    const reads = [loopA.next(), loopB.next(), late.next(), quiet.next(), reader.next({ timeoutMs: 5000 })];
    aborted.abort(new Error('not wanted'));
    const settled = Promise.allSettled(reads);
    await sleep(200);
    for (let i = 1; i <= 3; i++) await writer.write(new Uint8Array([i]));
    const [a, b, l, q, n] = await settled;
    expect(a).toMatchObject({ status: 'fulfilled', value: { done: false } });
    expect(b).toMatchObject({ status: 'fulfilled', value: { done: false } });
    expect([a, b].map((r) => r.status === 'fulfilled' && byte(r.value))).toEqual([1, 2]);
    expect(l).toMatchObject({ status: 'rejected', reason: { code: 'ETIMEDOUT', message: expect.stringContaining('within 50 ms') } });
    expect(q).toEqual({ status: 'fulfilled', value: { done: true, value: undefined } }); // an abort ends a loop quietly
    expect(n.status === 'fulfilled' && byte(n.value as Frame)).toBe(3);
    if (n.status === 'fulfilled') (n.value as Frame).release();
    // both loops go on, alternating, and end at end of stream
    const nextA = loopA.next();
    const nextB = loopB.next();
    await writer.write(new Uint8Array([4]));
    await writer.write(new Uint8Array([5]));
    expect([byte(await nextA), byte(await nextB)]).toEqual([4, 5]);
    // the end of the stream ends the read that meets it (the next waits for a next writer), close() the others
    await writer.close();
    const endA = loopA.next();
    const endB = loopB.next();
    expect(await endA).toEqual({ done: true, value: undefined });
    expect(reader.stats().heldFrames).toBe(0);
    await reader.close();
    expect(await endB).toEqual({ done: true, value: undefined });
  } finally {
    await writer.close();
    await reader.close();
  }
});

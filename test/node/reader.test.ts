// The reader's lifecycle in one process: waits off the JS thread, close and
// abort during a wait, views that empty at release, retained frames, frame
// headers, end of stream, typed errors, the copying fallback.
import { jest } from '@jest/globals';
import { getEventListeners } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import {
  MetadataError, ProtocolError, ReaderGoneError, RingError, TimeoutError, WriterGoneError, ZeroBufferError,
  ZeroBufferReader, ZeroBufferWriter, type Frame,
} from '../../src/index.js';
import { native } from '../../src/native.js';
import { killIfRunning, leftovers, peerPath, repoRoot, ringName, run, sleep } from './helpers.js';

jest.setTimeout(30000);

const GRAY_CAPS = 'video/x-raw, format=(string)GRAY8, width=(int)4, height=(int)2, framerate=(fraction)30/1';

async function pair(tag: string, payloadSize = 4096, frameHeader = false) {
  const reader = await ZeroBufferReader.create({ name: ringName(tag), metadataSize: 1024, payloadSize });
  const writer = await ZeroBufferWriter.connect(reader.name, { frameHeader });
  return { reader, writer };
}

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

test.each(['frames', 'next'] as const)('the event loop turns while %s() drains a backlog of ready frames', async (way) => {
  const count = 6000;
  const { reader, writer } = await pair(`backlog-${way}`, count * 32);
  try {
    for (let i = 0; i < count; i++) await writer.write(new Uint8Array([i & 0xff, i >> 8]));
    let ticks = 0;
    const timer = setInterval(() => ticks++, 2);
    const work = (): void => { // 50 µs of work a frame: the drain takes 300 ms or more
      const end = process.hrtime.bigint() + 50_000n;
      while (process.hrtime.bigint() < end);
    };
    let seen = 0;
    const started = Date.now();
    try {
      if (way === 'frames') {
        for await (const f of reader.frames({ timeoutMs: 2000 })) {
          expect(f.data[0]! | (f.data[1]! << 8)).toBe(seen++);
          work();
          if (seen === count) break;
        }
      } else {
        while (seen < count) {
          const f = (await reader.next({ timeoutMs: 2000 }))!;
          expect(f.data[0]! | (f.data[1]! << 8)).toBe(seen++);
          f.release();
          work();
        }
      }
    } finally {
      clearInterval(timer);
    }
    expect(seen).toBe(count);
    // a timer every 2 ms; the loop turns at least every 10 ms of hand-outs
    expect(ticks).toBeGreaterThanOrEqual(Math.floor((Date.now() - started) / 40));
    expect(ticks).toBeGreaterThan(5);
  } finally {
    await writer.close();
    await reader.close();
  }
});

test('a frames() loop with 2 ms of work a frame lets a timer run while it hands out the frames of a batch', async () => {
  // 320 frames, taken 64 to a batch: the loop ran a batch's 128 ms without a turn, a timer saw ~6 turns in 640 ms
  const count = 320;
  const { reader, writer } = await pair('batch-turns', 1 << 20);
  try {
    for (let i = 0; i < count; i++) await writer.write(new Uint8Array(200).fill(i & 0xff));
    await writer.close();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    let seen = 0;
    try {
      for await (const f of reader.frames({ timeoutMs: 5000 })) {
        expect(f.data[199]).toBe(seen++ & 0xff);
        const end = performance.now() + 2; // the loop lasts 640 ms or more
        while (performance.now() < end);
      }
    } finally {
      clearInterval(timer);
    }
    expect(seen).toBe(count);
    // a turn every 10 ms of hand-outs: some 60 in 640 ms, of which a third is enough to tell
    expect(ticks).toBeGreaterThanOrEqual(20);
  } finally {
    await reader.close();
  }
});

test('next() calls made together resolve in order, also when one of them lets the event loop turn first', async () => {
  const { reader, writer } = await pair('turn-order', 4096);
  try {
    for (let i = 0; i < 5; i++) await writer.write(new Uint8Array([i]));
    (await reader.next())!.release(); // the reader's turn clock starts at its first read
    const end = Date.now() + 15; // the loop has not turned for a reader's read in over 10 ms
    while (Date.now() < end);
    const frames = await Promise.all([reader.next(), reader.next(), reader.next(), reader.next()]);
    expect(frames.map((f) => f!.data[0])).toEqual([1, 2, 3, 4]);
    for (const f of frames) f!.release();
  } finally {
    await writer.close();
    await reader.close();
  }
});

test('next({ timeoutMs: 0 }) calls made together get the ready frames when the first lets the event loop turn', async () => {
  const { reader, writer } = await pair('turn-look', 4096);
  try {
    for (let i = 0; i < 6; i++) await writer.write(new Uint8Array([i]));
    (await reader.next({ timeoutMs: 0 }))!.release(); // the reader's turn clock starts
    const end = performance.now() + 15; // reads handed out frames for over 10 ms without a turn: the next one turns
    while (performance.now() < end);
    const reads = await Promise.allSettled([1, 2, 3, 4].map(() => reader.next({ timeoutMs: 0 })));
    expect(reads.map((r) => r.status === 'fulfilled' ? r.value!.data[0] : (r.reason as Error).message)).toEqual([1, 2, 3, 4]);
    for (const r of reads) if (r.status === 'fulfilled') r.value!.release();
    // a frames() loop's look queued behind a turn gets a frame too
    await writer.write(new Uint8Array([6]));
    const loop = reader.frames({ timeoutMs: 0 });
    const end2 = performance.now() + 15;
    while (performance.now() < end2);
    const [a, b] = await Promise.all([reader.next({ timeoutMs: 0 }), loop.next()]);
    expect([a!.data[0], b.done ? 'done' : b.value.data[0]]).toEqual([5, 6]);
    a!.release();
    // a look queued behind a read that turns the loop and then waits for a writer finds nothing: it gives up meanwhile
    const end3 = performance.now() + 15;
    while (performance.now() < end3);
    const waiting = reader.next({ timeoutMs: 10000 });
    const look = await reader.next({ timeoutMs: 0 }).then(() => 'a frame', (e: unknown) => e);
    expect(look).toMatchObject({ code: 'ETIMEDOUT', message: expect.stringContaining('within 0 ms') });
    await writer.write(new Uint8Array([7]));
    const c = (await waiting)!;
    expect(c.data[0]).toBe(7);
    c.release();
    await loop.return();
  } finally {
    await writer.close();
    await reader.close();
  }
});

test('next() calls made while one waits for a frame get the next frames in call order, each within its own timeout and signal', async () => {
  const { reader, writer } = await pair('wait-order', 4096);
  try {
    const aborted = new AbortController();
    const reads = [reader.next({ timeoutMs: 2000 }), reader.next({ timeoutMs: 2000 }), reader.next({ timeoutMs: 50 }),
      reader.next({ signal: aborted.signal }), reader.next({ timeoutMs: 2000 })];
    aborted.abort(new Error('not wanted'));
    const settled = Promise.allSettled(reads);
    await sleep(200);
    for (let i = 1; i <= 3; i++) await writer.write(new Uint8Array([i]));
    const [a, b, late, abortedRead, c] = await settled;
    expect([a, b, c].map((r) => r.status === 'fulfilled' ? r.value!.data[0] : r.reason)).toEqual([1, 2, 3]);
    expect(late).toMatchObject({ status: 'rejected', reason: { code: 'ETIMEDOUT', message: expect.stringContaining('within 50 ms') } });
    expect(abortedRead).toMatchObject({ status: 'rejected', reason: { message: 'not wanted' } });
    for (const r of [a, b, c]) if (r.status === 'fulfilled') r.value!.release();
  } finally {
    await writer.close();
    await reader.close();
  }
});

test('writes made while one waits for room follow it in call order, each with the bytes it was given', async () => {
  const { reader, writer } = await pair('write-order', 256);
  try {
    const bytes = new Uint8Array(100);
    const writes = [1, 2, 3, 4].map((i) => writer.write(bytes.fill(i)));
    const late = writer.write(bytes.fill(9), { timeoutMs: 30 });
    bytes.fill(0);
    await expect(late).rejects.toMatchObject({ code: 'ETIMEDOUT', message: expect.stringContaining('within 30 ms') });
    const seen: number[] = [];
    for (let i = 0; i < 4; i++) {
      const f = (await reader.next({ timeoutMs: 2000 }))!;
      expect(new Set(f.data)).toEqual(new Set([f.data[0]]));
      seen.push(f.data[0]!);
      f.release();
    }
    await Promise.all(writes);
    expect(seen).toEqual([1, 2, 3, 4]);
  } finally {
    await writer.close();
    await reader.close();
  }
});

test('the event loop keeps ticking while a read waits', async () => {
  const { reader, writer } = await pair('tick');
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  try {
    const pending = reader.next({ timeoutMs: 5000 });
    await sleep(300);
    expect(ticks).toBeGreaterThanOrEqual(10);
    await writer.write(new Uint8Array([1, 2, 3]));
    const frame = await pending;
    expect(Array.from(frame!.data)).toEqual([1, 2, 3]);
    frame!.release();
  } finally {
    clearInterval(timer);
    await writer.close();
    await reader.close();
  }
});

test('close() during a pending read resolves it promptly with null', async () => {
  const reader = await ZeroBufferReader.create({ name: ringName('close'), metadataSize: 64, payloadSize: 1024 });
  const pending = reader.next(); // waits forever
  await sleep(50);
  const t0 = Date.now();
  await reader.close();
  await expect(pending).resolves.toBeNull();
  expect(Date.now() - t0).toBeLessThan(500);
  expect(await reader.next()).toBeNull();
});

test('an AbortSignal ends iteration; next() rejects with signal.reason', async () => {
  const { reader, writer } = await pair('abort');
  try {
    const ac = new AbortController();
    await writer.write(new Uint8Array([7]));
    const seen: number[] = [];
    setTimeout(() => ac.abort(new Error('stop')), 100);
    const t0 = Date.now();
    for await (const f of reader.frames({ signal: ac.signal })) seen.push(f.sequence);
    expect(seen).toEqual([1]);
    expect(Date.now() - t0).toBeLessThan(2000);

    const ac2 = new AbortController();
    const p = reader.next({ signal: ac2.signal });
    const reason = new Error('aborted by test');
    ac2.abort(reason);
    await expect(p).rejects.toBe(reason);
    // the reader still works after a cancelled wait
    await writer.write(new Uint8Array([8]));
    const f = await reader.next({ timeoutMs: 2000 });
    expect(f?.sequence).toBe(2);
    f?.release();
  } finally {
    await writer.close();
    await reader.close();
  }
});

test('a stale view reads as empty after release, frame.data is an empty array that slice() and friends take, copy() says it is too late; a retained frame keeps its bytes', async () => {
  const { reader, writer } = await pair('stale', 1024);
  try {
    await writer.write(new Uint8Array(100).fill(0xaa));
    const first = (await reader.next({ timeoutMs: 2000 }))!;
    const view = first.data;
    expect(view.byteLength).toBe(100);
    first.release();
    expect(view.byteLength).toBe(0);
    expect(first.data.byteLength).toBe(0);
    expect([first.data.slice().length, first.data.subarray(0).length, new Uint8Array(first.data).length, structuredClone(first.data).length])
      .toEqual([0, 0, 0, 0]);
    expect(() => first.copy()).toThrow(expect.objectContaining({ name: 'ZeroBufferError', code: 'ERELEASED', message: expect.stringMatching(/^frame 1 was released/) }));
    first.release(); // idempotent

    // Retain frame 2 inside a loop, then let newer frames pass through.
    await writer.write(new Uint8Array(100).fill(0xbb));
    let kept: Frame | undefined;
    for await (const f of reader.frames({ timeoutMs: 2000 })) {
      kept = f.retain();
      break;
    }
    expect(kept!.sequence).toBe(2);
    let written = 0;
    for (let i = 0; i < 50; i++) {
      try {
        await writer.write(new Uint8Array(100).fill(i), { timeoutMs: 0 });
        written++;
      } catch (e) {
        expect((e as TimeoutError).code).toBe('ETIMEDOUT'); // the ring is full up to frame 2
        break;
      }
      const f = (await reader.next({ timeoutMs: 2000 }))!;
      expect(f.data[0]).toBe(i);
      f.release();
    }
    expect(written).toBeGreaterThan(5);
    expect(kept!.data.every((b) => b === 0xbb)).toBe(true);
    const copy = kept!.copy();
    kept!.release();
    expect(kept!.data.byteLength).toBe(0);
    expect(copy.every((b) => b === 0xbb)).toBe(true);
  } finally {
    await writer.close();
    await reader.close();
  }
});

test('using / Symbol.dispose releases a frame', async () => {
  const { reader, writer } = await pair('dispose');
  try {
    await writer.write(new Uint8Array([1, 2]));
    let view: Uint8Array;
    {
      using frame = (await reader.next({ timeoutMs: 2000 }))!;
      view = frame.data;
      expect(view.byteLength).toBe(2);
    }
    expect(view.byteLength).toBe(0);
    expect(reader.heldViews()).toBe(0);
  } finally {
    await writer.close();
    await reader.close();
  }
});

test('frames() behaves as an async generator: reads in order, options on the first next(), return() and throw() end it', async () => {
  const { reader, writer } = await pair('loop', 4096);
  try {
    const bad = reader.frames({ timeoutMs: -2 }); // read on the first next(), as a generator's body would
    await expect(bad.next()).rejects.toThrow('option "timeoutMs" must be a number of milliseconds');
    expect(await bad.next()).toEqual({ value: undefined, done: true });

    // Two reads asked for at once, before any frame exists: served one after the other.
    const loop = reader.frames({ timeoutMs: 2000 });
    const both = Promise.all([loop.next(), loop.next()]);
    await sleep(50);
    await writer.write(new Uint8Array([1]));
    await writer.write(new Uint8Array([2]));
    const [a, b] = await both;
    expect([a.value!.sequence, b.value!.sequence]).toEqual([1, 2]);
    expect(a.value!.released).toBe(true); // released when the loop moved on
    expect(Array.from(b.value!.data)).toEqual([2]);
    // return() while a read is pending: it ends the loop once that read is done.
    const third = loop.next();
    const ended = loop.return();
    await writer.write(new Uint8Array([3]));
    expect((await third).value!.sequence).toBe(3);
    expect(await ended).toEqual({ value: undefined, done: true });
    expect(b.value!.released).toBe(true);
    expect(reader.heldViews()).toBe(0);
    expect(await loop.next()).toEqual({ value: undefined, done: true });

    await writer.write(new Uint8Array([4]));
    const thrown = reader.frames({ timeoutMs: 2000 });
    const fourth = (await thrown.next()).value!;
    await expect(thrown.throw(new Error('stop here'))).rejects.toThrow('stop here');
    expect(fourth.released).toBe(true);
    expect(await thrown.next()).toEqual({ value: undefined, done: true });
    expect(thrown[Symbol.asyncIterator]()).toBe(thrown);
  } finally {
    await writer.close();
    await reader.close();
  }
});

test('frame headers carry timestamps and flags; metadata may arrive after the read started', async () => {
  const reader = await ZeroBufferReader.create({ name: ringName('hdr'), metadataSize: 1024, payloadSize: 8192 });
  try {
    const pending = reader.next({ timeoutMs: 5000 }); // before any metadata
    const writer = await ZeroBufferWriter.connect(reader.name, { frameHeader: true });
    writer.setMetadata({ caps: GRAY_CAPS });
    expect(writer.frameHeader).toBe(true);
    await writer.write(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), { pts: 33_000_000, duration: 33_333_333, flags: 64 });
    const f1 = (await pending)!;
    expect(Array.from(f1.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(f1.pts).toBe(33_000_000);
    expect(f1.dts).toBeUndefined();
    expect(f1.duration).toBe(33_333_333);
    expect(f1.flags).toBe(64);
    expect(f1.latencyNs).toBeGreaterThanOrEqual(0);
    expect(f1.latencyNs).toBeLessThan(5e9);
    f1.release();
    await writer.write(new Uint8Array(8).fill(9), { pts: 66_000_000 });
    const f2 = (await reader.next({ timeoutMs: 2000 }))!;
    expect(f2.pts).toBe(66_000_000);
    expect(f2.size).toBe(8);
    expect(f2.image().width).toBe(4);
    expect(reader.metadata?.json?.['zerobuffer']).toEqual({ frame_header: 1 });
    f2.release();
    await writer.close();
  } finally {
    await reader.close();
  }
});

test('end of stream ends the iteration; reads time out with TimeoutError', async () => {
  const { reader, writer } = await pair('eos');
  try {
    writer.setMetadata({ caps: GRAY_CAPS });
    for (let i = 0; i < 5; i++) await writer.write(new Uint8Array(8).fill(i));
    await writer.close();
    const seqs: number[] = [];
    for await (const f of reader.frames({ timeoutMs: 2000 })) seqs.push(f.sequence);
    expect(seqs).toEqual([1, 2, 3, 4, 5]);
    const err = await reader.next({ timeoutMs: 50 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).code).toBe('ETIMEDOUT');
    expect((err as TimeoutError).timedOut).toBe(true);
  } finally {
    await reader.close();
  }
});

test('timeoutMs 0 looks without waiting: nothing ready is a TimeoutError for reads, writes and reservations', async () => {
  const { reader, writer } = await pair('t0', 1024);
  const fixed = await ZeroBufferReader.create({ name: ringName('t0-default'), metadataSize: 64, payloadSize: 1024, timeoutMs: 0 });
  const expectTimeout = async (what: string, p: Promise<unknown>): Promise<TimeoutError> => {
    const err = await p.then(() => new Error(`${what} resolved`), (e: unknown) => e);
    expect({ what, err }).toEqual({ what, err: expect.any(TimeoutError) });
    expect((err as TimeoutError).code).toBe('ETIMEDOUT');
    expect((err as TimeoutError).timedOut).toBe(true);
    expect((err as TimeoutError).message).toMatch(/within 0 ms/);
    return err as TimeoutError;
  };
  try {
    await expectTimeout('next({ timeoutMs: 0 })', reader.next({ timeoutMs: 0 }));
    await expectTimeout('frames({ timeoutMs: 0 })', reader.frames({ timeoutMs: 0 }).next());
    await expectTimeout('next() of a reader created with timeoutMs: 0', fixed.next());
    await expectTimeout('frames() of a reader created with timeoutMs: 0', fixed.frames().next());
    // a frame that is ready is still read
    await writer.write(new Uint8Array([7]), { timeoutMs: 0 });
    const frame = (await reader.next({ timeoutMs: 0 }))!;
    expect(Array.from(frame.data)).toEqual([7]);
    frame.release();
    // fill the ring, then a write and a reservation without room
    let written = 0;
    for (;;) {
      const err = await writer.write(new Uint8Array(100), { timeoutMs: 0 }).then(() => null, (e: unknown) => e);
      if (err !== null) {
        expect((err as TimeoutError).message).toMatch(/is full.*no room within 0 ms/);
        break;
      }
      expect(++written).toBeLessThan(20);
    }
    await expectTimeout('write({ timeoutMs: 0 }) on a full ring', writer.write(new Uint8Array(100), { timeoutMs: 0 }));
    await expectTimeout('reserve({ timeoutMs: 0 }) on a full ring', writer.reserve(100, { timeoutMs: 0 }));
    // a look without waiting still sees the end of the stream once every frame was read
    await writer.close();
    for (let i = 0; i < written; i++) (await reader.next({ timeoutMs: 0 }))!.release();
    expect(await reader.next({ timeoutMs: 0 })).toBeNull();
  } finally {
    await writer.close();
    await reader.close();
    await fixed.close();
  }
});

test('a writer that dies is a WriterGoneError', async () => {
  const reader = await ZeroBufferReader.create({ name: ringName('dead'), metadataSize: 64, payloadSize: 4096 });
  const child = run(peerPath, ['write', reader.name, '--frames', '1000000', '--min', '100', '--max', '100']);
  try {
    const first = (await reader.next({ timeoutMs: 5000 }))!;
    first.release();
    child.proc.kill('SIGKILL');
    await child.exit();
    let err: unknown;
    for (let i = 0; i < 100 && err === undefined; i++) {
      try {
        const f = await reader.next({ timeoutMs: 5000 });
        f?.release();
      } catch (e) {
        err = e;
      }
    }
    expect(err).toBeInstanceOf(WriterGoneError);
    expect((err as WriterGoneError).code).toBe('EWRITERDEAD');
    expect((err as WriterGoneError).writerDied).toBe(true);
  } finally {
    await reader.close();
  }
});

test('zerosink whose metadata does not fit: waitForMetadata() and reader.metadata reject with the EMSGSIZE next() gives, not the note as metadata', async () => {
  // 64 bytes: room for the writer's note, not for zerosink's caps JSON
  const reader = await ZeroBufferReader.create({ name: ringName('meta-small'), metadataSize: 64, payloadSize: 1 << 20 });
  try {
    const gst = run('gst-launch-1.0', ['-q', 'videotestsrc', 'num-buffers=3', '!', 'zerosink', `buffer-name=${reader.name}`],
      { GST_PLUGIN_PATH: path.join(repoRoot, 'builddir', 'gst-plugin') });
    expect(await gst.exit(20000)).toBe(1);
    const waited: unknown = await reader.waitForMetadata({ timeoutMs: 5000 }).then((m) => m.text, (e) => e);
    expect(waited).toBeInstanceOf(RingError);
    expect(waited).toMatchObject({ code: 'EMSGSIZE', message: expect.stringMatching(/gave up: its metadata needs a metadata block of \d+ bytes, this ring's is 64/) });
    let got: unknown;
    try {
      got = reader.metadata?.text;
    } catch (e) {
      got = e;
    }
    expect(got).toMatchObject({ code: 'EMSGSIZE', message: (waited as Error).message });
    const read: unknown = await reader.next({ timeoutMs: 5000 }).catch((e) => e);
    expect(read).toMatchObject({ code: 'EMSGSIZE', message: (waited as Error).message });
  } finally {
    await reader.close();
  }
});

test('a writer whose raw video frames can never fit the ring leaves without one: next() and frames() reject with EMSGSIZE naming its payload size, not an end', async () => {
  const reader = await ZeroBufferReader.create({ name: ringName('frames-big'), metadataSize: 4096, payloadSize: 65536 });
  try {
    const writer = await ZeroBufferWriter.connect(reader.name);
    writer.setMetadata({ caps: 'video/x-raw,format=RGB,width=320,height=240,framerate=30/1' });
    const refused = await writer.write(new Uint8Array(320 * 240 * 3)).catch((e) => e);
    expect(refused).toMatchObject({ code: 'EMSGSIZE' });
    const needed = /payload size of at least (\d+)/.exec((refused as Error).message)?.[1];
    expect(needed).toBe(String(native.payloadSizeFor(320 * 240 * 3, 1, false)));
    await writer.close();
    const message = new RegExp(`frames of 230400 bytes \\(RGB 320x240\\) can never fit it \\(largest frame: 65520 bytes\\).*` +
      `payloadSize of at least ${needed}$`);
    const read: unknown = await reader.next({ timeoutMs: 5000 }).catch((e) => e);
    expect(read).toBeInstanceOf(RingError);
    expect(read).toMatchObject({ code: 'EMSGSIZE', message: expect.stringMatching(message) });
    // the ring's next writer has the same caps (metadata is written once): the same answer; it stays long
    // enough for the waiting reader to see it come (one that comes and goes unseen writes nothing new)
    const looped = (async () => {
      for await (const frame of reader.frames({ timeoutMs: 5000 })) void frame;
    })().catch((e) => e);
    await sleep(200);
    const writer2 = await ZeroBufferWriter.connect(reader.name);
    await sleep(300);
    await writer2.close();
    expect(await looped).toMatchObject({ code: 'EMSGSIZE', message: expect.stringMatching(message) });
  } finally {
    await reader.close();
  }
});

test('with the frame header declared ("zerobuffer": {"frame_header": 1}), a writer whose raw video frames can never fit the ring leaves without one: next() rejects with EMSGSIZE counting the header', async () => {
  const reader = await ZeroBufferReader.create({ name: ringName('frames-big-header'), metadataSize: 4096, payloadSize: 65536 });
  try {
    const writer = await ZeroBufferWriter.connect(reader.name);
    writer.setMetadata('{"type":"gstreamer-sink","caps":"video/x-raw,format=RGB,width=320,height=240,framerate=30/1",' +
      '"zerobuffer":{"frame_header":1}}');
    const refused = await writer.write(new Uint8Array(320 * 240 * 3)).catch((e) => e);
    expect(refused).toMatchObject({ code: 'EMSGSIZE' });
    const needed = /payload size of at least (\d+)/.exec((refused as Error).message)?.[1];
    expect(needed).toBe(String(native.payloadSizeFor(320 * 240 * 3, 1, true)));
    await writer.close();
    const read: unknown = await reader.next({ timeoutMs: 5000 }).catch((e) => e);
    expect(read).toBeInstanceOf(RingError);
    expect(read).toMatchObject({ code: 'EMSGSIZE', message: expect.stringMatching(new RegExp(
      `frames of 230400 bytes \\(RGB 320x240\\) and the frame header's ${native.frameHeaderSize} can never fit it ` +
      `\\(largest frame: 65520 bytes\\).*payloadSize of at least ${needed}$`)) });
  } finally {
    await reader.close();
  }
});

test('null options are TypeErrors saying so (they read properties of null), and an object is "an object"', async () => {
  const { reader, writer } = await pair('null-options');
  try {
    writer.setMetadata('x');
    const nullOptions = new TypeError('options must be an object (or left out), received null');
    await expect(reader.next(null as never)).rejects.toThrow(nullOptions);
    await expect(reader.frames(null as never).next()).rejects.toThrow(nullOptions);
    await expect(reader.waitForMetadata(null as never)).rejects.toThrow(nullOptions);
    await expect(writer.write(new Uint8Array(1), null as never)).rejects.toThrow(nullOptions);
    await expect(writer.reserve(1, null as never)).rejects.toThrow(nullOptions);
    await expect(ZeroBufferWriter.connect(reader.name, null as never)).rejects.toThrow(nullOptions);
    await expect(reader.next(5 as never)).rejects.toThrow(new TypeError('options must be an object (or left out), received 5'));
    await expect(reader.next({ signal: {} as never })).rejects.toThrow(
      new TypeError('option "signal" must be an AbortSignal, received an object'));
    // nothing was taken or written by the refused calls
    await writer.write(new Uint8Array([7]), undefined);
    const f = await reader.next({ timeoutMs: 2000 });
    expect(f?.data).toEqual(new Uint8Array([7]));
    f?.release();
  } finally {
    await writer.close();
    await reader.close();
  }
});

test('options and ring errors are typed', async () => {
  await expect(ZeroBufferReader.create({ metadataSize: -1, payloadSize: 10 })).rejects.toThrow(
    'option "metadataSize" must be an integer >= 0, received -1');
  // (before: "must be an integer >= 1", which 2^53 is)
  await expect(ZeroBufferReader.create({ metadataSize: 0, payloadSize: 2 ** 53 })).rejects.toThrow(
    'option "payloadSize" must be an integer from 1 to 2^53 - 1, received 9007199254740992');
  // no metadata block, as peers make rings of raw bytes: no metadata ever comes, so waitForMetadata() says so at
  // once (it waited for ever: a 0-byte block has no room for a writer's note that its metadata did not fit)
  const bare = await ZeroBufferReader.create({ metadataSize: 0, payloadSize: 64 });
  await expect(bare.waitForMetadata()).rejects.toMatchObject({
    code: 'EMSGSIZE', message: expect.stringMatching(/has no metadata block \(metadataSize 0\): no writer can write metadata/),
  });
  await bare.close();
  // closed is closed, block or no block (EMSGSIZE came first)
  await expect(bare.waitForMetadata()).rejects.toMatchObject({ code: 'ESTATE', message: expect.stringMatching(/is closed/) });
  await expect(ZeroBufferReader.create({ name: 'a/b', metadataSize: 64, payloadSize: 10 })).rejects.toThrow(TypeError);
  await expect(ZeroBufferReader.create({ metadataSize: 64, payloadSize: 10, timeoutMs: -5 })).rejects.toThrow(
    /option "timeoutMs" must be .* received -5/);
  // the core's check, the same for zerosrc: a mode that shuts the owner out would hide a live ring from its own sweeps
  for (const mode of [0o066, 0o200, 0o400]) {
    await expect(ZeroBufferReader.create({ name: ringName('mode'), metadataSize: 64, payloadSize: 64, mode })).rejects.toMatchObject({
      code: 'EINVAL', message: expect.stringMatching(/mode 0[0-7]{3} does not let the owner read and write \(the mode option needs 0600 in it/),
    });
  }
  const reader = await ZeroBufferReader.create({ name: ringName('dup'), metadataSize: 64, payloadSize: 1024 });
  try {
    const dup = await ZeroBufferReader.create({ name: reader.name, metadataSize: 64, payloadSize: 1024 }).catch((e) => e);
    expect(dup).toBeInstanceOf(RingError);
    expect(dup.code).toBe('EEXIST');
    const w = await ZeroBufferWriter.connect(reader.name);
    const big = await w.write(new Uint8Array(5000)).catch((e) => e);
    expect(big.code).toBe('EMSGSIZE');
    expect(big.message).toContain('can never fit');
    await w.close();
  } finally {
    await reader.close();
  }
  const missing = await ZeroBufferWriter.connect(ringName('missing')).catch((e) => e);
  expect(missing).toBeInstanceOf(RingError);
  expect(missing.code).toBe('ENOENT');
  expect(new ProtocolError('x', { code: 'ESEQUENCE' }).sequenceError).toBe(true);
});

test('metadata without caps and frames of the wrong size are clear errors', async () => {
  const { reader, writer } = await pair('nocaps');
  try {
    writer.setMetadata('{"type":"custom"}');
    await writer.write(new Uint8Array(8));
    const f = (await reader.next({ timeoutMs: 2000 }))!;
    expect(() => f.image()).toThrow(MetadataError);
    expect(() => f.image()).toThrow(/no "caps"/);
    f.release();
  } finally {
    await writer.close();
    await reader.close();
  }
  // the addon's writer, which checks no sizes (a ZeroBufferWriter refuses such a frame): a peer's frame
  const badsize = await ZeroBufferReader.create({ name: ringName('badsize'), metadataSize: 1024, payloadSize: 4096 });
  const peer = new native.Writer(badsize.name);
  try {
    peer.setMetadata(new TextEncoder().encode(JSON.stringify({ caps: GRAY_CAPS })));
    await peer.write(new Uint8Array(7), 2000);
    const f = (await badsize.next({ timeoutMs: 2000 }))!;
    let err: unknown;
    try {
      f.image();
    } catch (e) {
      err = e;
    }
    expect((err as MetadataError).code).toBe('EFRAMESIZE');
    expect((err as Error).message).toContain('has 7 bytes, but GRAY8 4x2 frames have 8');
    f.release();
  } finally {
    peer.close();
    await badsize.close();
  }
});

test('setMetadata after the writer\'s first frame is refused (ESTATE); a commit after the reader closed is a ReaderGoneError that drops the reservation', async () => {
  const { reader, writer } = await pair('late');
  const error = (f: () => void): unknown => {
    try {
      f();
    } catch (e) {
      return e;
    }
    return undefined;
  };
  try {
    await writer.write(new Uint8Array(8));
    const late = error(() => writer.setMetadata({ caps: GRAY_CAPS }));
    expect(late).toBeInstanceOf(ZeroBufferError);
    expect(late).toMatchObject({ code: 'ESTATE', message: expect.stringContaining('metadata goes before the first frame') });
    expect(reader.metadata).toBeUndefined();
    const view = await writer.reserve(8);
    await reader.close();
    const gone = error(() => writer.commit());
    expect(gone).toBeInstanceOf(ReaderGoneError);
    expect(view.byteLength).toBe(0); // the view went with the reservation
    expect(error(() => writer.commit())).toMatchObject({ code: 'ESTATE', message: expect.stringContaining('no reservation is open') });
  } finally {
    await writer.close();
    await reader.close();
  }
});

test('empty metadata (a length of 0, 8 bytes written: a peer writer\'s set_metadata(x, 0)) is none to the reader; the writer refuses to write over it', async () => {
  const { reader, writer } = await pair('tlmeta0', 1024);
  try {
    const fd = fs.openSync(path.join('/dev/shm', reader.name), 'r+');
    const field = (v: bigint): Buffer => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(v);
      return b;
    };
    fs.writeSync(fd, field(0n), 0, 8, 128); // the length prefix
    fs.writeSync(fd, field(1024n - 8n), 0, 8, 0x10); // metadata_free_bytes
    fs.writeSync(fd, field(8n), 0, 8, 0x18); // metadata_written_bytes
    fs.closeSync(fd);
    expect(() => writer.setMetadata('{"caps":"video/x-raw"}')).toThrow(expect.objectContaining({ code: 'EMETADATA', message: expect.stringContaining('empty metadata') }));
    await writer.write(new Uint8Array(8));
    const f = (await reader.next({ timeoutMs: 2000 }))!;
    expect(f.sequence).toBe(1);
    f.release();
    expect(reader.metadata).toBeUndefined();
  } finally {
    await writer.close();
    await reader.close();
  }
});

/** Writes a metadata length prefix (the metadata block starts at 128 with it), as a hostile process would. */
function writeMetadataPrefix(ring: string, length: bigint): void {
  const fd = fs.openSync(path.join('/dev/shm', ring), 'r+');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(length);
  fs.writeSync(fd, prefix, 0, 8, 128);
  fs.closeSync(fd);
}

test('corrupt metadata fails each read with a ProtocolError; the frames wait in the reader until it adds up, none lost', async () => {
  const { reader, writer } = await pair('badmeta', 1024);
  try {
    const waiting = reader.next({ timeoutMs: 5000 }); // waits in the addon: the frame is taken as it comes
    const metadata = JSON.stringify({ caps: GRAY_CAPS });
    writer.setMetadata(metadata);
    writeMetadataPrefix(reader.name, 1n << 63n);
    for (let i = 1; i <= 3; i++) await writer.write(new Uint8Array(8).fill(i));
    await expect(waiting).rejects.toMatchObject({ code: 'EPROTO', message: expect.stringContaining('length prefix') });
    for (const read of [() => reader.next({ timeoutMs: 2000 }), () => reader.frames({ timeoutMs: 2000 }).next(),
      () => reader.next({ timeoutMs: 2000 })])
      await expect(read()).rejects.toMatchObject({ code: 'EPROTO', message: expect.stringContaining('length prefix') });
    const s = reader.stats();
    expect(s.frames).toBe(0);
    expect(s.batched + s.framesUnread).toBe(3); // taken into the batch or still in the ring: none handed out, none dropped
    writeMetadataPrefix(reader.name, BigInt(metadata.length));
    for (let i = 1; i <= 3; i++) {
      const f = (await reader.next({ timeoutMs: 2000 }))!;
      expect([f.sequence, [...f.data]]).toEqual([i, new Array(8).fill(i)]);
      expect(f.metadata?.capsString).toBe(GRAY_CAPS);
      f.release();
    }
    await writer.close();
    expect(await reader.next({ timeoutMs: 2000 })).toBeNull();
  } finally {
    await writer.close();
    await reader.close();
  }
});

test('corrupt metadata from a writer that died: the reads keep failing with it, not "every frame it committed was read"', async () => {
  const reader = await ZeroBufferReader.create({ name: ringName('badmetadead'), metadataSize: 1024, payloadSize: 1024 });
  const metadata = JSON.stringify({ caps: GRAY_CAPS });
  const child = run(process.execPath, ['--input-type=module', '-e', `
    import { ZeroBufferWriter } from ${JSON.stringify(path.join(repoRoot, 'dist', 'index.js'))};
    const w = await ZeroBufferWriter.connect(process.argv[1], { timeoutMs: 5000 });
    w.setMetadata(process.argv[2]);
    for (let i = 1; i <= 2; i++) await w.write(new Uint8Array(8).fill(i));
    console.log('wrote');
    setInterval(() => {}, 1000);`, reader.name, metadata]);
  try {
    await child.line(/^wrote$/);
    writeMetadataPrefix(reader.name, 10000n);
    child.proc.kill('SIGKILL');
    await child.exit();
    for (let i = 0; i < 3; i++)
      await expect(reader.next({ timeoutMs: 2000 })).rejects.toMatchObject({ code: 'EPROTO',
        message: expect.stringContaining('metadata length prefix 10000') });
    writeMetadataPrefix(reader.name, BigInt(metadata.length));
    for (let i = 1; i <= 2; i++) {
      const f = (await reader.next({ timeoutMs: 2000 }))!;
      expect([f.sequence, [...f.data]]).toEqual([i, new Array(8).fill(i)]);
      f.release();
    }
    await expect(reader.next({ timeoutMs: 2000 })).rejects.toMatchObject({ code: 'EWRITERDEAD' }); // true now
  } finally {
    killIfRunning(child);
    await reader.close();
  }
});

test('stats() reports the ring', async () => {
  const { reader, writer } = await pair('stats', 1024);
  try {
    await writer.write(new Uint8Array(100));
    const f = (await reader.next({ timeoutMs: 2000 }))!;
    const s = reader.stats();
    expect(s).toMatchObject({ name: reader.name, frames: 1, heldFrames: 1, writerAlive: true, readerAlive: true,
      readerPid: process.pid, writerPid: process.pid, payloadSize: 1024 });
    expect(s.utilisationPercent).toBeCloseTo((116 / 1024) * 100);
    f.release();
    expect(reader.stats().heldFrames).toBe(0);
  } finally {
    await writer.close();
    await reader.close();
  }
});

// Two counts, not one under two names: the reader's heldFrames counts the
// views it handed out and that are not released; the ring's framesHeld (the
// writer's stats(), inspectRing) the frames whose room is not back, and room
// goes back in ring order.
test('reader.stats().heldFrames counts views not released, writer.stats().framesHeld frames whose room is not back', async () => {
  const { reader, writer } = await pair('heldcounts', 1024);
  try {
    await writer.write(new Uint8Array(100).fill(1));
    await writer.write(new Uint8Array(100).fill(2));
    const first = (await reader.next({ timeoutMs: 2000 }))!;
    const second = (await reader.next({ timeoutMs: 2000 }))!;
    second.release(); // behind the first, which is kept: its room is not back either
    const held = reader.zeroCopy ? 1 : 0;
    expect([reader.stats().heldFrames, writer.stats().framesHeld]).toEqual([held, 2 * held]);
    first.release();
    expect([reader.stats().heldFrames, writer.stats().framesHeld]).toEqual([0, 0]);
  } finally {
    await writer.close();
    await reader.close();
  }
});

test('stats().framesUnread goes by the frames, not the counts our writer moves apart at small tails', async () => {
  // 1000-byte frames in a 1024-byte ring: each leaves an 8-byte tail our
  // writer wraps past, zeroed and counted (PROTOCOL §6), our reader skips it
  const { reader, writer } = await pair('unread', 1024);
  try {
    for (let i = 0; i < 3; i++) {
      await writer.write(new Uint8Array(1000).fill(i + 1));
      const f = (await reader.next({ timeoutMs: 2000 }))!;
      expect(f.data[999]).toBe(i + 1);
      f.release();
    }
    await writer.write(new Uint8Array(1000));
    let s = reader.stats();
    expect(s.writtenCount - s.readCount).toBe(4); // 3 tails counted, 1 frame unread
    expect(s.framesUnread).toBe(1);
    (await reader.next({ timeoutMs: 2000 }))!.release();
    s = reader.stats();
    expect(s.writtenCount).toBeGreaterThan(s.readCount);
    expect(s.framesUnread).toBe(0);
  } finally {
    await writer.close();
    await reader.close();
  }
});

test.each([
  ['1', 'v8'],
  ['0', 'v8'],
  ['0', 'napi'],
])('ZEROBUFFER_FORCE_COPY=%s, %s views: released views empty, GC returns forgotten frames', async (copy, views) => {
  // Node's V8 has no sandbox: zero-copy views are V8 backing stores
  // (ring-view.cc); the napi path (Electron, another Node's ABI) is forced.
  const script = path.join(repoRoot, 'test', 'node', 'fixtures', 'copy-mode.mjs');
  const child = run(process.execPath, ['--expose-gc', script, ringName('copy')],
    { ZEROBUFFER_FORCE_COPY: copy, ZEROBUFFER_RING_VIEWS: views });
  const code = await child.exit();
  expect(child.stderr).toBe('');
  expect(code).toBe(0);
  const result = JSON.parse(child.stdout.join(''));
  expect(result).toEqual({ forceCopy: copy === '1', ringViews: views, copied: copy === '1', bytes: [1, 2, 3],
    heldFrames: copy === '1' ? 0 : 1, afterRelease: 0, afterGcFrames: 40, heldAfterGc: true });
});

/** Signals a fixture that printed "ready" with its ring open, then checks
 *  that the signal's default action ended it and the ring is gone. */
async function expectSignalUnlinksRing(fixture: string, name: string, signal: NodeJS.Signals, args: string[]) {
  const child = run(process.execPath, [path.join(repoRoot, 'test', 'node', 'fixtures', fixture), name, ...args]);
  await child.line(/^ready /);
  expect(fs.existsSync(`/dev/shm/${name}`)).toBe(true);
  child.proc.kill(signal);
  await child.exit();
  expect(child.stderr).toBe('');
  expect(child.proc.signalCode).toBe(signal); // the default action still ran
  expect(fs.readdirSync('/dev/shm').filter((n) => n.includes(name))).toEqual([]);
}

// hold-ring.mjs unload-signal-exit: someone unloaded signal-exit (its
// exported unload()) while the ring was open, so no listener hears the
// signal; the ring's own hold of it still unlinks the ring and ends the
// process by the signal.
test.each([
  ['SIGTERM', 'listening'], ['SIGINT', 'listening'], ['SIGTERM', 'unload-signal-exit'],
] as const)('a process that gets %s while reading unlinks its ring (signal-exit %s)', async (signal, mode) => {
  await expectSignalUnlinksRing('hold-ring.mjs', ringName('signal'), signal, [mode]);
});

// A child under `setpriv --pdeathsig` gets its parent's
// death signal once per thread of the dying parent. Before, a repeat killed
// it with the ring still there: while the first one's cleanup ran, or
// earlier, once signal-exit had stopped listening and before it called ours.
test.each([
  ['SIGTERM', 'during-close'], ['SIGINT', 'during-close'], ['SIGTERM', 'before-close'], ['SIGINT', 'before-close'],
] as const)('%s again %s: the ring is still unlinked', async (signal, when) => {
  await expectSignalUnlinksRing('repeat-signal-reader.mjs', ringName('repeat'), signal, [signal, when]);
});

// Started in the background by a script (`cmd &`: SIGINT ignored at start),
// waiting for its writer, with a signal-exit user loaded first: before, both
// cleanups left the default action to the other, so the first SIGINT only
// closed the ring under the waiting program and it went on (the second
// ended it).
test.each(['SIGINT', 'SIGTERM'] as const)('one %s ends a waiting reader that SIGINT-ignoring shell started, beside a signal-exit user; the ring is gone', async (signal) => {
  const name = ringName('ign');
  const fixture = path.join(repoRoot, 'test', 'node', 'fixtures', 'wait-for-writer.mjs');
  const child = run('/bin/bash', ['-c', 'trap "" INT; exec "$0" "$@"', process.execPath, fixture, name]);
  await child.line(/^waiting /);
  expect(fs.readFileSync(`/proc/${child.proc.pid}/cmdline`, 'utf8')).toContain('wait-for-writer.mjs'); // bash exec'd node
  expect(fs.existsSync(`/dev/shm/${name}`)).toBe(true);
  child.proc.kill(signal);
  const started = Date.now();
  await child.exit(3000);
  expect(Date.now() - started).toBeLessThan(3000);
  expect(child.proc.signalCode).toBe(signal); // ended by the signal's default action
  expect(child.stdout.filter((l) => l.startsWith('wait ended'))).toEqual([]); // not left running with a closed ring
  expect(fs.readdirSync('/dev/shm').filter((n) => n.includes(name))).toEqual([]);
});

// A reader gives room back in ring order: the first frame kept holds the
// room of the 4096-byte frames released after it. The writer's timeout said
// "the reader is not releasing frames" (it released all but one) and "needs
// 7936" for a 4096-byte frame without saying 3824 of it is the tail skipped
// at the ring's end.
test('a reader that keeps its first frame and releases the later ones: the writer\'s timeout says room goes back in ring order, and what the bytes it needs are', async () => {
  const { reader, writer } = await pair('keep-first', 65536);
  try {
    await writer.write(new Uint8Array(16));
    const kept = (await reader.next({ timeoutMs: 2000 }))!.retain();
    let written = 0;
    let error: unknown;
    try {
      for (; written < 16; written++) {
        await writer.write(new Uint8Array(4096), { timeoutMs: 300 });
        (await reader.next({ timeoutMs: 2000 }))!.release();
      }
    } catch (e) {
      error = e;
    }
    expect(written).toBe(15); // 32 + 15 × 4112 bytes: the 16th goes to 0, past a 3824-byte tail
    expect(error).toMatchObject({
      code: 'ETIMEDOUT',
      message: expect.stringContaining('stayed full for 300 ms (3824 bytes free, the frame needs 7936: 4112 for it (16 + 4096) + ' +
        "the 3824 left at the ring's end, skipped to place it at 0): the reader has not given the room back (it has not read the " +
        'frames, or keeps one: a reader gives room back in ring order, so the oldest frame it has not released holds the room of ' +
        'every frame after it, released or not)'),
    });
    kept.release();
    await writer.write(new Uint8Array(4096), { timeoutMs: 2000 });
  } finally {
    await writer.close();
    await reader.close();
  }
});

// Before, write() reserved behind an open reservation (one whose fill threw,
// say) and resolved, but the core publishes in reservation order: nothing
// reached the reader until that reservation's commit, and a ring's worth of
// writes later a timeout blamed the reader (then "the reader is not releasing frames").
test('write() refuses (ESTATE) while a reservation of its writer is open, queued behind it or not; a write that resolved is a frame the reader can take', async () => {
  const { reader, writer } = await pair('write-open', 2 * 1088);
  const open = { code: 'ESTATE', message: expect.stringContaining('a reservation is open; commit or cancel it first') };
  const outcome = (p: Promise<unknown>): Promise<unknown> => p.then(() => 'resolved', (e: unknown) => e);
  try {
    await writer.write(new Uint8Array(1024).fill(1));
    const abandoned = await writer.reserve(1024); // its fill threw: neither committed nor cancelled
    expect(await outcome(writer.write(new Uint8Array(8).fill(2)))).toMatchObject(open);
    expect(await outcome(writer.write(new Uint8Array(8).fill(2), { timeoutMs: 0 }))).toMatchObject(open);
    expect(await outcome(writer.reserve(8))).toMatchObject(open);
    writer.cancelReservation();
    expect(abandoned.byteLength).toBe(0);
    // the ring full: a reservation waits for room, and a write queued behind it finds it open
    await writer.write(new Uint8Array(1024).fill(3));
    const reserving = writer.reserve(1024, { timeoutMs: 5000 });
    const queued = outcome(writer.write(new Uint8Array(8).fill(4), { timeoutMs: 5000 }));
    for (const want of [1, 3]) {
      const f = (await reader.next({ timeoutMs: 1000 }))!;
      expect(f.data[0]).toBe(want);
      f.release();
    }
    const slot = await reserving;
    expect(await queued).toMatchObject(open);
    slot.fill(5);
    writer.commit();
    await writer.write(new Uint8Array(8).fill(6));
    // what resolved is published: the reader takes it without waiting
    for (const want of [5, 6]) {
      const f = (await reader.next({ timeoutMs: 0 }))!;
      expect(f.data[0]).toBe(want);
      f.release();
    }
  } finally {
    await writer.close();
    await reader.close();
  }
});

test('a reservation\'s view empties at close (the ring is unmapped after it); a write that waits writes the bytes as they were at write()', async () => {
  const { reader, writer } = await pair('close-view', 4096);
  const view = await writer.reserve(100);
  await writer.close();
  expect(view.byteLength).toBe(0); // was still 100 bytes over unmapped memory: writing to it killed node
  await reader.close();

  const p = await pair('wait-copy', 2 * 1088);
  try {
    await p.writer.write(new Uint8Array(1024).fill(1), { timeoutMs: 0 });
    await p.writer.write(new Uint8Array(1024).fill(1), { timeoutMs: 0 }); // the ring is full
    const data = new Uint8Array(1024).fill(2);
    const waiting = p.writer.write(data, { timeoutMs: 5000 });
    // its buffer moves away (transfer) and is written over while the write waits for room
    const moved = structuredClone(data.buffer, { transfer: [data.buffer] });
    new Uint8Array(moved).fill(9);
    for (let i = 0; i < 2; i++) (await p.reader.next({ timeoutMs: 1000 }))!.release();
    await waiting;
    const f = (await p.reader.next({ timeoutMs: 1000 }))!;
    expect(new Set(f.data)).toEqual(new Set([2]));
    f.release();
  } finally {
    await p.writer.close();
    await p.reader.close();
  }
});

test('an aborted frames() loop ends only its own wait, not another read of the reader', async () => {
  const { reader, writer } = await pair('abort-own', 4096);
  try {
    await writer.write(new Uint8Array([1]));
    const stop = new AbortController();
    const loop = reader.frames({ signal: stop.signal });
    expect((await loop.next()).value!.data[0]).toBe(1); // the loop holds a frame, it does not wait
    const other = reader.next({ timeoutMs: 500 }).catch((e: unknown) => e);
    await sleep(50);
    stop.abort();
    expect(await other).toMatchObject({ code: 'ETIMEDOUT' }); // was ECANCELED at the abort
    await loop.return(undefined);
  } finally {
    await writer.close();
    await reader.close();
  }
});

test('writer options: header fields are checked (TypeError naming them), and refused without the frame header; frameHeader: true refuses a write before setMetadata; a SharedArrayBuffer\'s bytes are written', async () => {
  const { reader, writer } = await pair('wopts', 4096, true);
  try {
    await expect(writer.write(new Uint8Array([1]))).rejects.toMatchObject({ code: 'ESTATE', message: expect.stringMatching(/setMetadata/) });
    writer.setMetadata({ caps: 'application/octet-stream' }); // frames of any size
    for (const [key, value] of [['pts', -5], ['pts', Number.NaN], ['pts', 1.5], ['dts', 2 ** 64], ['duration', -2], ['flags', 2 ** 40], ['flags', -1], ['zbFlags', 0.5]] as const)
      await expect(writer.write(new Uint8Array([1]), { [key]: value })).rejects.toThrow(new RegExp(`option "${key}" must be`));
    const shared = new Uint8Array(new SharedArrayBuffer(3));
    shared.set([7, 8, 9]);
    await writer.write(shared, { pts: 5 });
    const f = (await reader.next({ timeoutMs: 1000 }))!;
    expect([Array.from(f.data), f.pts]).toEqual([[7, 8, 9], 5]);
    f.release();
  } finally {
    await writer.close();
    await reader.close();
  }
  const plain = await pair('wopts-plain', 4096);
  try {
    await expect(plain.writer.write(new Uint8Array([1]), { pts: 5 }))
      .rejects.toMatchObject({ code: 'ESTATE', message: 'option "pts" travels in the frame header: connect with frameHeader: true' });
    await expect(plain.writer.reserve(1, { dts: 1, attributes: { a: 1 } }))
      .rejects.toMatchObject({ code: 'ESTATE', message: expect.stringMatching(/^options "dts", "attributes" travel in the frame header/) });
    await plain.writer.reserve(4);
    for (const size of [-1, 1.5, '2', 0])
      expect(() => plain.writer.commit(size as number)).toThrow(new TypeError(
        `argument "size" must be an integer >= 1 (a frame without the frame header has 1 byte or more), received ${JSON.stringify(size)}`));
    plain.writer.cancelReservation();
  } finally {
    await plain.writer.close();
    await plain.reader.close();
  }
});

test('setMetadata takes a Uint8Array over a SharedArrayBuffer as write() does (it threw a bare "Invalid argument")', async () => {
  const { reader, writer } = await pair('sab-meta');
  try {
    const shared = new Uint8Array(new SharedArrayBuffer(2));
    shared.set([0x7b, 0x7d]); // {}
    writer.setMetadata(shared);
    expect(reader.metadata?.text).toBe('{}');
  } finally {
    await writer.close();
    await reader.close();
  }
});

test('writer with the frame header: maxFrameSize is what a frame may hold from connect on; too large a frame says the size asked and the header\'s share; commit(0) as its check says', async () => {
  const { reader, writer } = await pair('max-header', 4096, true);
  try {
    const max = writer.maxFrameSize; // taken before setMetadata (it was 48 bytes more then)
    writer.setMetadata({ caps: 'application/x-test' });
    expect(writer.maxFrameSize).toBe(max);
    (await writer.reserve(max)).fill(3);
    writer.commit();
    const f = (await reader.next({ timeoutMs: 1000 }))!;
    expect([f.size, f.data[max - 1]]).toEqual([max, 3]);
    f.release();
    const over: unknown = await writer.reserve(max + 1).catch((e) => e);
    expect(over).toBeInstanceOf(RingError);
    expect(over).toMatchObject({ code: 'EMSGSIZE', message: expect.stringMatching(new RegExp(
      `^${max + 1} bytes and the frame header's 48 make a frame of ${max + 49} bytes; at most ${max} bytes fit beside this header: ` +
      `a frame of ${max + 49} bytes can never fit ring`)) });
    const withAttributes: unknown = await writer.write(new Uint8Array(max), { attributes: { a: 1 } }).catch((e) => e);
    expect(withAttributes).toMatchObject({ code: 'EMSGSIZE', message: expect.stringMatching(new RegExp(
      `^${max} bytes and the frame header's 56 \\(48 \\+ 8 of attributes\\) make a frame of ${max + 56} bytes; at most ${max - 8} bytes fit`)) });
    // with the header a frame may have no bytes: commit(0) publishes one, as write() of none does
    await writer.reserve(4, { pts: 9 });
    writer.commit(0);
    const empty = (await reader.next({ timeoutMs: 1000 }))!;
    expect([empty.size, empty.pts]).toEqual([0, 9]);
    empty.release();
  } finally {
    await writer.close();
    await reader.close();
  }
});

test('waitForMetadata reports a writer that died before it wrote the metadata', async () => {
  const reader = await ZeroBufferReader.create({ name: ringName('meta-dead'), metadataSize: 1024, payloadSize: 4096 });
  try {
    const child = run(process.execPath, ['--input-type=module', '-e',
      `const { ZeroBufferWriter } = await import(${JSON.stringify(path.join(repoRoot, 'dist', 'index.js'))});` +
      `await ZeroBufferWriter.connect(${JSON.stringify(reader.name)}); process.kill(process.pid, 'SIGKILL');`]);
    await child.exit(10000);
    await expect(reader.waitForMetadata({ timeoutMs: 5000 })).rejects.toMatchObject({ code: 'EWRITERDEAD' });
  } finally {
    await reader.close();
  }
});

test('a frames({ signal }) loop left by break releases its frame and takes its listener off the signal', async () => {
  const { reader, writer } = await pair('loop-break', 4096);
  try {
    const shutdown = new AbortController();
    for (let i = 0; i < 3; i++) await writer.write(new Uint8Array([i + 1]));
    const seen: Frame[] = [];
    for await (const f of reader.frames({ signal: shutdown.signal, timeoutMs: 2000 })) {
      seen.push(f);
      expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(1);
      if (seen.length === 2) break;
    }
    expect(seen.map((f) => f.released)).toEqual([true, true]);
    expect(seen[1]!.data.byteLength).toBe(0); // the view emptied at release
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(0);
    expect(reader.stats().heldFrames).toBe(0);
    const rest = (await reader.next({ timeoutMs: 2000 }))!; // the third is still there for the next read
    expect(rest.data[0]).toBe(3);
    rest.release();
  } finally {
    await writer.close();
    await reader.close();
  }
});

// Loops dropped without return() (the consumer stopped pulling): before,
// each kept its listener on the signal, and through it the loop, its frame
// and the reader, for as long as the signal lived. A frame the caller still
// holds is not released with its collected loop (before, its data emptied:
// keptAfterGc []); it goes back once released, or collected itself.
test('frames({ signal }) loops dropped after a frame each leave no listener on a long-lived signal and give their frames back once collected, but not a frame the caller still holds', async () => {
  const child = run(process.execPath, ['--expose-gc', path.join(repoRoot, 'test', 'node', 'fixtures', 'dropped-loops.mjs'),
    ringName('dropped'), '20']);
  const code = await child.exit();
  expect(child.stderr).toBe('');
  expect(code).toBe(0);
  expect(JSON.parse(child.stdout.join(''))).toEqual({
    seen: Array.from({ length: 20 }, (_, i) => i), // each loop had its own frame
    listenersAfterGc: 0, framesAfterGc: 0, ringFreeAfterGc: true,
    keptAfterGc: [42, 43], keptHeld: 1, keptReleased: 0,
    liveListeners: 1, liveEnd: { done: true }, listenersAtEnd: 0,
  });
});

// Before, the exit-time cleanup held every reader and writer: none dropped
// unclosed was ever collected, its ring staying until the process ended
// (creating the name again: EEXIST; the dropped writer's reader timed out
// instead of ending its stream).
test('readers and writers dropped without close() are closed once collected, with a warning naming the ring; a frame held keeps its reader until released', async () => {
  const name = ringName('dropped-handle');
  const child = run(process.execPath, ['--expose-gc', path.join(repoRoot, 'test', 'node', 'fixtures', 'dropped-handles.mjs'), name]);
  const code = await child.exit();
  expect(code).toBe(0);
  const closed = (what: string, ring: string): string =>
    `Closing the ${what} of ring "${ring}" on garbage collection: it was dropped without close() (close it, or in TypeScript declare it with \`await using\`)`;
  expect(JSON.parse(child.stdout.join(''))).toEqual({
    readerFiles: [name, `${name}.lock`, `sem.sem-r-${name}`, `sem.sem-w-${name}`].sort(),
    readerCollected: true, readerFilesAfterGc: [], createdAgain: true,
    writerCollected: true, readerNextAfterWriterGc: null, writerConnectedAgain: true,
    heldKeepsReader: true, heldBytes: [1, 2, 3], releasedCollected: true, heldFilesAfterGc: [],
    warnings: [closed('reader', name), closed('writer', name), closed('reader', `${name}-held`)].map((text) => `ZEROBUFFER_UNCLOSED: ${text}`),
  });
  expect(child.stderr).toContain(closed('reader', name)); // printed as Node prints its own warnings
}, 30000);

// A loop dropped after the first frame while the caps were ones the API
// does not describe as video (audio, encoded, ABGR64_LE, none): the
// metadata's problem (a MetadataError, kept for the reader's life) was made
// inside that loop, and its unformatted stack kept the loop's closures and
// so its frame: the writer stalled with the ring full (then "its reader holds
// 31 frames"), the loop reading 31 of 300.
test.each([
  ['audio/x-raw', 'audiotestsrc num-buffers=300'],
  ['ABGR64_LE (not described)', 'videotestsrc num-buffers=300 ! video/x-raw,format=ABGR64_LE,width=16,height=16'],
])('a frames() loop dropped after its first frame gives it back once collected with %s caps: the writer finishes', async (_, source) => {
  const child = run(process.execPath, ['--expose-gc', path.join(repoRoot, 'test', 'node', 'fixtures', 'dropped-peek-loop.mjs'),
    ringName('peek'), ...source.split(' ')], { GST_PLUGIN_PATH: path.join(repoRoot, 'builddir', 'gst-plugin') });
  const code = await child.exit(60000);
  expect(child.stderr).toBe('');
  expect(code).toBe(0);
  expect(JSON.parse(child.stdout.join(''))).toEqual({ frames: 300, problem: 'ENOCAPS', gstExit: 0, errors: [] });
}, 70000);

test('setMetadata on a closed frameHeader writer says it is closed (ESTATE), whatever the metadata', async () => {
  const reader = await ZeroBufferReader.create({ name: `cl${process.pid}-closed-${Date.now()}`, metadataSize: 1024, payloadSize: 4096 });
  const writer = await ZeroBufferWriter.connect(reader.name, { frameHeader: true });
  await writer.close();
  try {
    for (const metadata of ['{"caps":"video/x-raw"}', new Uint8Array(4), { caps: GRAY_CAPS }]) {
      expect(() => writer.setMetadata(metadata)).toThrow(expect.objectContaining({ code: 'ESTATE', message: expect.stringMatching(/is closed/) }));
    }
  } finally {
    await reader.close();
  }
});

// Raw audio caps zerosink writes are valid caps: the metadata's problem
// (thrown by frame.image()) says they are no picture, not that they are
// unusable; audio caps zerosrc refuses are named as zerosrc names them.
test('metadata of raw audio from zerosink: problem says the caps are audio, not video, and frame.image() throws it', async () => {
  const reader = await ZeroBufferReader.create({ name: ringName('audio-problem'), metadataSize: 4096, payloadSize: 1 << 16 });
  const gst = run('gst-launch-1.0', ['audiotestsrc', 'num-buffers=1', 'samplesperbuffer=100', '!',
    'audio/x-raw,format=S16LE,rate=8000,channels=2,layout=interleaved', '!', 'zerosink', `buffer-name=${reader.name}`],
  { GST_PLUGIN_PATH: path.join(repoRoot, 'builddir', 'gst-plugin') });
  try {
    const frame = await reader.next({ timeoutMs: 10000 });
    expect(frame?.size).toBe(400);
    const said = 'metadata caps are audio (S16LE audio/x-raw), not video: their frames have no picture ' +
      '(frame.image(), toRGB() and the like take video/x-raw and image/jpeg and image/png)';
    expect(reader.metadata?.problem).toMatchObject({ code: 'ENOCAPS', message: said });
    expect(() => frame!.image()).toThrow(said);
    frame!.release();
    expect(await reader.next({ timeoutMs: 10000 })).toBeNull();
    expect(await gst.exit(20000)).toBe(0);
  } finally {
    killIfRunning(gst);
    await reader.close();
  }
});

test('a frame whose own caps (its header\'s caps attribute) are audio or unusable: frame.image() names the frame\'s caps, not the metadata\'s', async () => {
  // (before: "metadata caps are audio ...", though the ring's metadata caps were GRAY8 video)
  const { reader, writer } = await pair('frame-caps-problem', 4096, true);
  try {
    writer.setMetadata({ caps: GRAY_CAPS });
    await writer.write(new Uint8Array(6), { attributes: { caps: 'audio/x-raw,format=S16LE,rate=8000,channels=1,layout=interleaved' } });
    await writer.write(new Uint8Array(7), { attributes: { caps: 'application/x-foo' } });
    const audio = (await reader.next({ timeoutMs: 10000 }))!;
    expect(() => audio.image()).toThrow(/^the frame's caps \(its header's caps attribute\) are audio \(S16LE audio\/x-raw\), not video/);
    audio.release();
    const other = (await reader.next({ timeoutMs: 10000 }))!;
    expect(() => other.image()).toThrow(/^the frame's caps \(its header's caps attribute\) are not usable: application\/x-foo/);
    other.release();
    expect(reader.metadata?.problem).toBeUndefined();
  } finally {
    await writer.close();
    await reader.close();
  }
});

test('metadata of raw audio caps zerosrc refuses (0 channels): problem names the field as zerosrc refuses it', async () => {
  const { reader, writer } = await pair('audio-refused');
  try {
    const caps = 'audio/x-raw,format=S16LE,rate=8000,channels=0,channel-mask=(bitmask)0,layout=interleaved';
    writer.setMetadata(JSON.stringify({ caps }));
    await writer.write(new Uint8Array(4));
    (await reader.next({ timeoutMs: 10000 }))!.release();
    expect(reader.metadata?.problem).toMatchObject({
      code: 'ENOCAPS',
      message: `metadata caps are not usable: the raw caps "${caps}" have channels=(int)0: raw audio has 1 channel or more; zerosrc refuses them`,
    });
  } finally {
    await writer.close();
    await reader.close();
  }
});

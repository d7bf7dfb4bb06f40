// How long frame.data is valid (issue 12, part 4), and frames in batches:
// - until release(); async native consumers retain() until their callback;
// - close() never unmaps what native code may still read (zlib.deflateRaw
//   + closeSync used to segfault);
// - with ZEROBUFFER_DEBUG=1 released bytes are poisoned, so a consumer that
//   reads them late sees garbage, not a plausible other frame;
// - frames() takes every ready frame in one hop; next() takes one;
// - a reader, writer or frame cloned (postMessage) is a plain object of its fields.
import fs from 'node:fs';
import path from 'node:path';
import { ZeroBufferReader, ZeroBufferWriter } from '../../src/index.js';
import { leftovers, repoRoot, ringName, run } from './helpers.js';

const fixture = (name: string): string => path.join(repoRoot, 'test', 'node', 'fixtures', name);

async function child(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Record<string, unknown>> {
  const c = run(process.execPath, [fixture(script), ...args], env);
  const code = await c.exit(60000);
  expect(c.stderr).toBe('');
  expect(code).toBe(0);
  return JSON.parse(c.stdout.join('')) as Record<string, unknown>;
}

afterAll(() => expect(leftovers()).toEqual([]));

test('zlib.deflateRaw(frame.data) then closeSync() in the loop: no crash, the callback runs', async () => {
  for (const debug of ['0', '1'])
    expect(await child('async-native.mjs', [ringName('deflate-close'), 'close'], { ZEROBUFFER_DEBUG: debug }))
      .toMatchObject({ done: true, frames: 1 });
});

test('ZEROBUFFER_DEBUG=1: bytes released while zlib still reads them come out as poison', async () => {
  const r = await child('async-native.mjs', [ringName('deflate-misuse'), 'misuse'], { ZEROBUFFER_DEBUG: '1' });
  expect(r.frames).toBe(12);
  expect(r.poisoned).toBeGreaterThan(0);
  expect(r.intact as number).toBeLessThan(12); // a late reader may also see the writer's next frame there
});

test('retain() until the callback keeps the bytes for async native code', async () => {
  expect(await child('async-native.mjs', [ringName('deflate-retain'), 'retain'], { ZEROBUFFER_DEBUG: '1' }))
    .toMatchObject({ frames: 12, intact: 12, poisoned: 0 });
});

test('ZEROBUFFER_DEBUG=1 overwrites a frame in the ring when it is released; without it the bytes stay', async () => {
  expect(await child('poison-ring.mjs', [ringName('poison')], { ZEROBUFFER_DEBUG: '1' }))
    .toEqual({ before: [1, 2, 3], after: [0xdb] });
  const plain = await child('poison-ring.mjs', [ringName('nopoison')], { ZEROBUFFER_DEBUG: '0' });
  expect((plain.after as number[]).length).toBe(100);
});

test('a frame held at close stays readable until it is released', async () => {
  const reader = await ZeroBufferReader.create({ name: ringName('held-close'), metadataSize: 64, payloadSize: 4096 });
  const writer = await ZeroBufferWriter.connect(reader.name);
  await writer.write(new Uint8Array(300).fill(0x5a));
  const frame = (await reader.next({ timeoutMs: 2000 }))!;
  const view = frame.data;
  await reader.close();
  expect(leftovers().filter((n) => n.endsWith(reader.name))).toEqual([]); // unlinked at once
  expect(view.byteLength).toBe(300);
  expect(view.every((b) => b === 0x5a)).toBe(true);
  expect(reader.heldViews()).toBe(1);
  frame.release();
  expect(view.byteLength).toBe(0);
  expect(reader.heldViews()).toBe(0);
  await writer.close();
});

test('a frame buffer moved away by a transfer outlives release, close and the grace: no fault; collected, its range goes', async () => {
  // same thread (structuredClone) and from a worker that ends: the stolen buffer reads zeros and takes
  // writes after another reader's create and close reaped the ranges whose (shortened) grace was over
  // (exit 139 before); the 64 MiB range is unmapped once the buffer is collected
  for (const mode of ['same-thread', 'worker']) {
    const c = run(process.execPath, ['--expose-gc', fixture('stale-view.mjs'), ringName(`stale-${mode}`), mode]);
    const code = await c.exit(60000);
    expect({ mode, code, stderr: c.stderr }).toEqual({ mode, code: 0, stderr: '' });
    const r = JSON.parse(c.stdout.join('')) as Record<string, unknown>;
    // (a write faults by design where the kernel refuses uncharged writable zero pages)
    const readOnly = fs.readFileSync('/proc/sys/vm/overcommit_memory', 'utf8').trim() === '2';
    expect(r).toMatchObject({ views: 'v8', first: 0, bytes: 4096, sum: 0, wrote: readOnly ? 'not tried' : 1 });
    expect(r.freedMib).toBeGreaterThanOrEqual(60);
  }
});

test('structuredClone (postMessage\'s copy) of a reader, a writer and a frame: plain objects of their fields, no bytes nor methods; the originals work on', async () => {
  const reader = await ZeroBufferReader.create({ name: ringName('clone'), metadataSize: 64, payloadSize: 1 << 16 });
  const writer = await ZeroBufferWriter.connect(reader.name);
  try {
    await writer.write(new Uint8Array([1, 2, 3]));
    const frame = (await reader.next({ timeoutMs: 2000 }))!;
    const clones = [reader, writer, frame].map((o) => structuredClone(o) as unknown as Record<string, unknown>);
    expect(clones.map((c) => Object.getPrototypeOf(c))).toEqual([Object.prototype, Object.prototype, Object.prototype]);
    expect(clones.slice(0, 2)).toEqual([{ name: reader.name, timeoutMs: reader.timeoutMs }, { name: writer.name, timeoutMs: writer.timeoutMs }]);
    expect(clones[2]).toMatchObject({ sequence: 1, copied: frame.copied });
    expect(clones[2]!['data']).toBeUndefined();
    expect(Array.from(frame.data)).toEqual([1, 2, 3]);
    frame.release();
    await writer.write(new Uint8Array([4]));
    const next = (await reader.next({ timeoutMs: 2000 }))!;
    expect([next.sequence, Array.from(next.data)]).toEqual([2, [4]]);
    next.release();
  } finally {
    await writer.close();
    await reader.close();
  }
});

test('frames() takes every ready frame in one hop, next() one at a time, close() gives back the rest', async () => {
  const reader = await ZeroBufferReader.create({ name: ringName('batch'), metadataSize: 64, payloadSize: 1 << 16 });
  const writer = await ZeroBufferWriter.connect(reader.name);
  try {
    for (let i = 0; i < 20; i++) await writer.write(new Uint8Array(100).fill(i));
    const one = (await reader.next({ timeoutMs: 2000 }))!;
    expect(reader.stats().readCount).toBe(1);
    one.release();
    const seen: number[] = [];
    for await (const f of reader.frames({ timeoutMs: 2000 })) {
      if (seen.length === 0) expect(reader.stats().readCount).toBe(20); // the other 19 in one batch
      seen.push(f.data[0]!);
      expect(f.sequence).toBe(seen.length + 1);
      if (seen.length === 10) break;
    }
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(reader.heldViews()).toBe(9); // taken, not handed out yet
    expect(reader.stats()).toMatchObject({ heldFrames: 0, batched: 9 }); // none handed out is held
    const eleventh = (await reader.next({ timeoutMs: 2000 }))!;
    expect(eleventh.data[0]).toBe(11);
    eleventh.release();
    reader.closeSync();
    expect(reader.heldViews()).toBe(0);
  } finally {
    await writer.close();
    await reader.close();
  }
});

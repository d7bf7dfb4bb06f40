// Frames between processes: a Node writer in a child process → the reader
// here (thousands of random sizes, wraps), and C (zb-peer) ↔ Node both ways.
import { jest } from '@jest/globals';
import fs from 'node:fs';
import { ZeroBufferReader, ZeroBufferWriter } from '../../src/index.js';
import { native } from '../../src/native.js';
import { FNV_START, fnv1a, leftovers, makeFrame, nodeWriterPath, peerPath, ringName, run } from './helpers.js';

jest.setTimeout(60000);

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

async function readAll(reader: ZeroBufferReader, frames: number, seed: number, min: number, max: number) {
  let hash = FNV_START;
  let count = 0;
  let wraps = 0;
  let lastPos = 0;
  for await (const frame of reader.frames({ timeoutMs: 10000 })) {
    count++;
    expect(frame.sequence).toBe(count);
    const want = makeFrame(seed, count, min, max);
    expect(frame.size).toBe(want.length);
    if (Buffer.compare(Buffer.from(frame.data), Buffer.from(want)) !== 0)
      throw new Error(`frame ${count}: content differs`);
    hash = fnv1a(hash, frame.data);
    const pos = reader.stats().readPos;
    if (pos < lastPos) wraps++;
    lastPos = pos;
  }
  expect(count).toBe(frames);
  return { hash: hash.toString(16).padStart(8, '0'), wraps };
}

test('a Node writer in another process: thousands of random-size frames, byte-exact, wrapping', async () => {
  const name = ringName('node2node');
  const reader = await ZeroBufferReader.create({ name, metadataSize: 1024, payloadSize: 64 * 1024 });
  const frames = 3000;
  const child = run(process.execPath, [nodeWriterPath, name, String(frames), '11', '1', '9000', '{"caps":"application/octet-stream"}']);
  try {
    const { hash, wraps } = await readAll(reader, frames, 11, 1, 9000);
    expect(await child.exit()).toBe(0);
    expect(child.stdout.join('\n')).toContain(`wrote ${frames} fnv1a=${hash}`);
    expect(wraps).toBeGreaterThan(50);
    expect(reader.metadata?.capsString).toBe('application/octet-stream');
  } finally {
    child.proc.kill();
    await reader.close();
  }
});

// Missing zb-peer is a failure, not a skip: npm test builds it.
const peerTest = (title: string, fn: () => Promise<void>): void =>
  test(title, async () => {
    if (!fs.existsSync(peerPath)) throw new Error(`zb-peer not built (${peerPath}); run bash scripts/build.sh`);
    await fn();
  });

peerTest('C writer (zb-peer) → Node reader', async () => {
  const name = ringName('c2node');
  const reader = await ZeroBufferReader.create({ name, metadataSize: 512, payloadSize: 20000 });
  const child = run(peerPath, ['write', name, '--frames', '2000', '--seed', '5', '--min', '1', '--max', '5000',
    '--metadata', '{"caps":"video/x-raw, format=(string)GRAY8, width=(int)4, height=(int)4"}']);
  try {
    const { hash } = await readAll(reader, 2000, 5, 1, 5000);
    expect(await child.exit()).toBe(0);
    expect(child.stdout.join('\n')).toContain(`wrote 2000 fnv1a=${hash}`);
    expect(reader.metadata?.videoInfo?.format).toBe('GRAY8');
  } finally {
    child.proc.kill();
    await reader.close();
  }
});

peerTest('Node writer → C reader (zb-peer)', async () => {
  const name = ringName('node2c');
  const child = run(peerPath, ['read', name, '--frames', '2000', '--seed', '9', '--min', '1', '--max', '3000',
    '--payload-size', '16384']);
  try {
    await child.line(/^ready /);
    const writer = await ZeroBufferWriter.connect(name);
    let hash = FNV_START;
    for (let seq = 1; seq <= 2000; seq++) {
      const f = makeFrame(9, seq, 1, 3000);
      await writer.write(f);
      hash = fnv1a(hash, f);
    }
    await writer.close();
    expect(await child.exit()).toBe(0);
    expect(child.stdout.join('\n')).toContain(`read 2000 fnv1a=${hash.toString(16).padStart(8, '0')} `);
  } finally {
    child.proc.kill();
  }
});

test('reserve/commit with a frame header: the header goes before the view, stamped at commit; a shorter commit', async () => {
  const name = ringName('reservehdr');
  await using reader = await ZeroBufferReader.create({ name, metadataSize: 1024, payloadSize: 1 << 16 });
  await using writer = await ZeroBufferWriter.connect(name, { frameHeader: true });
  writer.setMetadata({ caps: 'application/octet-stream' });
  for (let i = 1; i <= 20; i++) {
    const want = makeFrame(4, i, 1, 1000);
    const slot = await writer.reserve(want.length + 10, { pts: i * 40, duration: 40, flags: i, timeoutMs: 5000 });
    slot.set(want);
    const before = native.nowNs(); // after the reservation: the header's commit time is later
    writer.commit(want.length);
    const frame = (await reader.next({ timeoutMs: 5000 }))!;
    expect([frame.sequence, frame.pts, frame.dts, frame.duration, frame.flags, frame.zbFlags]).toEqual([i, i * 40, undefined, 40, i, 0]);
    expect(Buffer.from(frame.data).equals(Buffer.from(want))).toBe(true);
    expect(frame.commitNs).toBeGreaterThanOrEqual(before);
    frame.release();
  }
  const slot = await writer.reserve(8);
  expect(() => writer.commit(9)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  writer.cancelReservation();
  expect(slot.byteLength).toBe(0);
});

test('zero-copy reserve/commit from Node reaches a reader byte-exact', async () => {
  const name = ringName('reserve');
  const reader = await ZeroBufferReader.create({ name, metadataSize: 64, payloadSize: 4096 });
  const writer = await ZeroBufferWriter.connect(name);
  try {
    for (let i = 1; i <= 200; i++) {
      const want = makeFrame(3, i, 1, 1500);
      const slot = await writer.reserve(want.length, { timeoutMs: 5000 });
      slot.set(want);
      writer.commit();
      expect(slot.byteLength).toBe(0); // the view empties at commit
      const frame = await reader.next({ timeoutMs: 5000 });
      expect(frame?.sequence).toBe(i);
      expect(Buffer.from(frame!.data).equals(Buffer.from(want))).toBe(true);
      frame!.release();
    }
  } finally {
    await writer.close();
    await reader.close();
  }
});

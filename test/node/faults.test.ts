// Faults on the Node side, with real processes: the reader of a Node writer
// is SIGKILLed (the writer fails within its timeout with ReaderGoneError, and
// the next reader of that name sweeps the leftovers), and 200 writer
// restarts — C and Node writers, a third of them SIGKILLed mid-stream —
// against one long-lived Node reader.
import { jest } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import { ReaderGoneError, WriterGoneError, ZeroBufferReader, ZeroBufferWriter } from '../../src/index.js';
import { killIfRunning, leftovers, makeFrame, nodeWriterPath, peerPath, repoRoot, ringName, run, sleep } from './helpers.js';

jest.setTimeout(90000);

const idleReader = path.join(repoRoot, 'test', 'node', 'fixtures', 'idle-reader.mjs');

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

test('the reader of a Node writer is SIGKILLed: the blocked write fails within its timeout with ReaderGoneError; the next reader of that name sweeps the leftovers and works', async () => {
  const name = ringName('reader-killed');
  // idle-reader.mjs creates a 1 KiB ring and never reads: the writer fills it and blocks.
  const holder = run('node', [idleReader, name]);
  let writer: ZeroBufferWriter | undefined;
  try {
    await holder.line(/^ready /);
    const timeoutMs = 4000;
    writer = await ZeroBufferWriter.connect(name, { timeoutMs });
    const frame = new Uint8Array(200).fill(7);
    for (let i = 0; i < 4; i++) await writer.write(frame);
    const blocked = writer.write(frame).then(() => undefined, (e: unknown) => e);
    await sleep(200);
    const killedAt = Date.now();
    holder.proc.kill('SIGKILL');
    await holder.exit();
    const err = await blocked;
    const elapsed = Date.now() - killedAt;
    expect(err).toBeInstanceOf(ReaderGoneError);
    expect((err as ReaderGoneError).code).toBe('EREADERGONE');
    expect((err as ReaderGoneError).readerGone).toBe(true);
    expect((err as ReaderGoneError).timedOut).toBe(false);
    expect((err as Error).message).toContain(name);
    expect((err as Error).message).toMatch(/died/);
    expect(elapsed).toBeLessThan(timeoutMs);
    // Every later write says the same, at once.
    const t0 = Date.now();
    await expect(writer.write(frame)).rejects.toThrow(ReaderGoneError);
    expect(Date.now() - t0).toBeLessThan(1000);
    // The dead reader left its segment behind (not stale yet: our writer is
    // attached). Once the writer detaches, a full sweep (at most every 10 s)
    // may remove it; the next reader of this name does so at the latest, and works.
    expect(fs.existsSync(`/dev/shm/${name}`)).toBe(true);
    writer.closeSync();
    writer = undefined;
    const reader = await ZeroBufferReader.create({ name, metadataSize: 64, payloadSize: 4096 });
    try {
      const next = await ZeroBufferWriter.connect(name, { timeoutMs: 2000 });
      await next.write(new Uint8Array([1, 2, 3]));
      await next.close();
      const f = (await reader.next({ timeoutMs: 5000 }))!;
      expect(f.sequence).toBe(1);
      expect(Array.from(f.data)).toEqual([1, 2, 3]);
      f.release();
      expect(await reader.next({ timeoutMs: 5000 })).toBeNull();
    } finally {
      await reader.close();
    }
    expect(fs.existsSync(`/dev/shm/${name}`)).toBe(false);
  } finally {
    writer?.closeSync();
    killIfRunning(holder);
  }
});

test('200 writer restarts against one long-lived Node reader: every frame of every writer once, in order, byte-exact; SIGKILLed writers end with WriterGoneError', async () => {
  const reader = await ZeroBufferReader.create({ name: ringName('restarts'), metadataSize: 64, payloadSize: 64 * 1024 });
  const WRITERS = 200;
  let frames = 0;
  let killed = 0;
  let nodeWriters = 0;
  try {
    for (let i = 1; i <= WRITERS; i++) {
      const seed = 1000 + i;
      const [min, max] = i % 7 === 0 ? [1, 1] : [1 + (i % 5) * 300, 2000 + (i % 11) * 900];
      const kill = i % 3 === 0; // SIGKILLed after `killAfter` frames were read
      const n = kill ? 1_000_000 : 5 + (i % 40);
      const killAfter = 1 + (i % 17);
      // Every 10th writer is a Node writer (dist/, slower to start), the rest zb-peer.
      const node = i % 10 === 5;
      if (node) nodeWriters++;
      const child = node
        ? run('node', [nodeWriterPath, reader.name, String(n), String(seed), String(min), String(max)])
        : run(peerPath, ['write', reader.name, '--frames', String(n), '--seed', String(seed),
          '--min', String(min), '--max', String(max)]);
      let seq = 0;
      let end: 'eof' | 'gone' | undefined;
      try {
        while (end === undefined) {
          let f;
          try {
            f = await reader.next({ timeoutMs: 10000 });
          } catch (e) {
            if (!(e instanceof WriterGoneError) || !kill) throw e;
            end = 'gone';
            break;
          }
          if (f === null) {
            end = 'eof';
            break;
          }
          seq++;
          if (f.sequence !== seq) throw new Error(`writer ${i}: frame ${seq} arrived with sequence ${f.sequence}`);
          const want = makeFrame(seed, seq, min, max);
          if (f.size !== want.length || Buffer.compare(Buffer.from(f.data), Buffer.from(want)) !== 0)
            throw new Error(`writer ${i}: frame ${seq}: ${f.size} bytes, expected ${want.length}, or content differs`);
          f.release();
          if (kill && seq === killAfter) child.proc.kill('SIGKILL');
        }
      } catch (e) {
        child.proc.kill('SIGKILL');
        await child.exit();
        throw e;
      }
      const code = await child.exit();
      if (kill) {
        expect(end).toBe('gone');
        expect(seq).toBeGreaterThanOrEqual(killAfter);
        killed++;
      } else {
        if (end !== 'eof' || seq !== n || code !== 0)
          throw new Error(`writer ${i}: ${seq} of ${n} frames, end ${end}, exit ${code}; stderr: ${child.stderr}`);
      }
      frames += seq;
    }
    expect(killed).toBe(66);
    expect(nodeWriters).toBe(20);
    expect(reader.stats().readerAlive).toBe(true);
    expect(reader.heldViews()).toBe(0);
  } finally {
    await reader.close();
  }
  expect(frames).toBeGreaterThan(4000);
});

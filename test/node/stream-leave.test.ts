// Leaving a startStream frames() loop early (break) closes the stream, as
// Node's own stream iterators destroy theirs: gst-launch gets its EOS and
// exits at once (it used to run on until zerosink gave up on the full
// ring, 5 s later, keeping a process with nothing else to do alive), the
// ring goes; closeOnReturn: false keeps the pipeline for a later loop. The
// loop is left once that closing is done: the name is free right after it
// (a reader created then failed with EEXIST while the closing ran on in the
// background). And close() no longer waits for ever on a stop-stream line
// nobody takes.
import { jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { startStream, ZeroBufferReader } from '../../src/index.js';
import { repoRoot, run, sleep } from './helpers.js';

jest.setTimeout(30000);

const prefix = `nd-leave-${process.pid}-`;
const ringName = (): string => `${prefix}${randomUUID().slice(0, 8)}`;
const LIVE = 'videotestsrc is-live=true ! video/x-raw,format=GRAY8,width=64,height=48,framerate=30/1';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

afterAll(() => {
  expect(fs.readdirSync('/dev/shm').filter((n) => n.includes(prefix))).toEqual([]);
});

test('startStream resolves with gst-launch running: stream.pipeline.pid is its pid (it was undefined while the plugin was looked up)', async () => {
  const stream = await startStream({ name: ringName(), source: LIVE });
  try {
    const pid = stream.pipeline.pid;
    expect(typeof pid).toBe('number');
    expect(alive(pid!)).toBe(true);
    // sh execs gst-launch-1.0 under the same pid once its death guard is there: either command line names it
    expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toContain('gst-launch-1.0');
    expect(stream.stats().pipelinePid).toBe(pid);
  } finally {
    await stream.close();
  }
});

test('break out of frames() stops the pipeline within moments and removes the ring, without close()', async () => {
  const stream = await startStream({ name: ringName(), source: LIVE });
  let n = 0;
  for await (const _frame of stream.frames()) if (++n === 3) break;
  const left = performance.now();
  const exit = await stream.pipeline.done;
  expect(performance.now() - left).toBeLessThan(2000);
  expect(exit).toMatchObject({ stopped: true, exitCode: 0, error: undefined });
  await expect(stream.close()).resolves.toBe(exit); // the closing the break started
  expect(stream.reader.closed).toBe(true);
});

test('after break out of frames() the ring and gst-launch are gone: a reader under the same name is created right after the loop', async () => {
  const name = ringName();
  const stream = await startStream({ name, source: LIVE });
  const pid = stream.pipeline.pid!;
  let n = 0;
  for await (const _frame of stream.frames()) if (++n === 3) break;
  expect(alive(pid)).toBe(false);
  expect(fs.existsSync(`/dev/shm/${name}`)).toBe(false);
  const reader = await ZeroBufferReader.create({ name, metadataSize: 4096, payloadSize: 1 << 16 });
  await reader.close();
  expect(await stream.close()).toMatchObject({ stopped: true, exitCode: 0 });
});

test('after an exception in the body of frames() the name is free: a stream under the same name starts right after the loop', async () => {
  const name = ringName();
  const stream = await startStream({ name, source: LIVE });
  let n = 0;
  await expect((async () => {
    for await (const _frame of stream.frames()) if (++n === 3) throw new Error('body failed');
  })()).rejects.toThrow('body failed');
  const again = await startStream({ name, source: LIVE });
  try {
    for await (const frame of again.frames()) {
      expect(frame.size).toBe(64 * 48);
      break;
    }
  } finally {
    await again.close();
  }
  expect(await stream.close()).toMatchObject({ stopped: true, exitCode: 0 });
});

test('a process that leaves the loop and has nothing else to do exits promptly, its gst-launch gone', async () => {
  const child = run(process.execPath, [path.join(repoRoot, 'test', 'node', 'fixtures', 'leave-loop.mjs'), ringName()]);
  const gstPid = Number((await child.line(/^pid \d+$/)).split(' ')[1]);
  await child.line(/^break$/);
  const left = performance.now();
  expect(await child.exit(10000)).toBe(0);
  expect(performance.now() - left).toBeLessThan(2000);
  expect(alive(gstPid)).toBe(false);
});

test('closeOnReturn: false keeps the pipeline running for a later loop', async () => {
  const stream = await startStream({ name: ringName(), source: LIVE });
  try {
    let n = 0;
    for await (const _frame of stream.frames({ closeOnReturn: false })) if (++n === 2) break;
    await sleep(300);
    expect(stream.pipeline.state).toBe('playing');
    n = 0;
    for await (const _frame of stream.frames()) if (++n === 2) break;
    expect(n).toBe(2);
  } finally {
    await stream.close();
  }
  await expect(stream.frames({ closeOnReturn: 1 as unknown as boolean }).next()).rejects.toThrow(/option "closeOnReturn" must be a boolean, received 1/);
});

test('close() waits 2 s at most for the stop-stream line when the announce stream stopped taking bytes', async () => {
  const lines: string[] = [];
  const announceTo = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString());
      if (lines.length === 1) callback(); // the start-stream line; the stop-stream line is never taken
    },
  });
  const stream = await startStream({ name: ringName(), source: LIVE, announce: announceTo });
  const closing = performance.now();
  const exit = await stream.close();
  expect(performance.now() - closing).toBeLessThan(4000);
  expect(exit).toMatchObject({ stopped: true });
  expect(lines.map((l) => JSON.parse(l.slice(2)).method)).toEqual(['start-stream', 'stop-stream']);
});

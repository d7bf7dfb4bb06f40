// The signal option of PipelineRunner, watch() and startStream(), with real
// gst-launch pipelines, real rings and a real watched command: a signal that
// has aborted already (or aborts while startStream is still setting up)
// stops or rejects at once and leaves no process and no ring behind; and
// once the object is over its 'abort' listener is gone, so that a signal
// shared by many of them (an app's shutdown) does not keep them alive.
import { jest } from '@jest/globals';
import { getEventListeners } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { startStream, watch, ZeroBufferReader } from '../../src/index.js';
import { PipelineRunner } from '../../src/runner/pipeline-runner.js';
import { leftovers, processesWith, repoRoot, ringName, until, within } from './helpers.js';

jest.setTimeout(30000);

const watchReader = path.join(repoRoot, 'test', 'node', 'fixtures', 'watch-reader.mjs');
const CAPS = 'video/x-raw,format=RGB,width=64,height=48,framerate=60/1';
const LIVE = `videotestsrc is-live=true ! ${CAPS}`;
const FINITE = `videotestsrc num-buffers=5 ! ${CAPS}`;

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

function aborted(): AbortSignal {
  const c = new AbortController();
  c.abort(new Error('shut down'));
  return c.signal;
}

const listeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;

/** A Writable that keeps what it is given, as text. */
function sink(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(Buffer.from(chunk));
      cb();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString() };
}

describe('PipelineRunner', () => {
  test('a signal aborted already: start() runs nothing, done resolves stopped at once, no listener stays', async () => {
    const name = ringName('runner-aborted');
    const signal = aborted();
    const runner = new PipelineRunner({ source: LIVE, name, signal }).start();
    const exit = await within('done', runner.done, 1000);
    expect(exit).toEqual({ stopped: true, restarts: 0, outOfRestarts: false });
    expect(runner.pid).toBeUndefined();
    expect(processesWith(name)).toEqual([]);
    expect(listeners(signal)).toBe(0);
  });

  test('aborted between the constructor and start(): start() does not throw and runs nothing', async () => {
    const name = ringName('runner-abort-before-start');
    const c = new AbortController();
    const runner = new PipelineRunner({ source: LIVE, name, signal: c.signal });
    c.abort();
    expect(() => runner.start()).not.toThrow();
    expect(await within('done', runner.done, 1000)).toMatchObject({ stopped: true });
    expect(runner.pid).toBeUndefined();
    expect(processesWith(name)).toEqual([]);
    expect(listeners(c.signal)).toBe(0);
  });

  test('after the pipeline ended by itself, its listener is off the signal', async () => {
    const name = ringName('runner-ends');
    const c = new AbortController();
    const reader = await ZeroBufferReader.create({ name, metadataSize: 4096, payloadSize: 3 * (64 * 48 * 3 + 64) });
    try {
      const runner = new PipelineRunner({ source: FINITE, name, signal: c.signal });
      expect(listeners(c.signal)).toBe(1);
      runner.start();
      let frames = 0;
      for await (const frame of reader.frames({ timeoutMs: 15000 })) {
        frames++;
        frame.release();
      }
      expect(frames).toBe(5);
      const exit = await within('done', runner.done, 5000);
      expect(exit).toMatchObject({ exitCode: 0, stopped: false });
      expect(listeners(c.signal)).toBe(0);
    } finally {
      await reader.close();
    }
  });
});

describe('watch()', () => {
  test('a signal aborted already: the command never runs, done resolves stopped at once, no listener stays', async () => {
    const name = ringName('watch-aborted');
    const signal = aborted();
    const out = sink();
    const watcher = watch({
      command: [process.execPath, watchReader, name, '1', '100000000'], pipeline: LIVE, stdout: out.stream, signal,
    });
    try {
      const result = await within('done', watcher.done, 1000);
      expect(result).toEqual({ outOfRestarts: false, failedWhileStopping: false, stopped: true, rings: [] });
      expect(watcher.pid).toBeUndefined();
      expect(processesWith(name)).toEqual([]);
      expect(leftovers().filter((n) => n.includes(name))).toEqual([]);
      expect(out.text()).toBe('');
      expect(listeners(signal)).toBe(0);
    } finally {
      await watcher.stop();
    }
  });

  test('after the command exited by itself, its listener is off the signal', async () => {
    const name = ringName('watch-ends');
    const c = new AbortController();
    const watcher = watch({
      command: [process.execPath, watchReader, name, '1', '5'], pipeline: LIVE, stdout: sink().stream, signal: c.signal,
    });
    try {
      expect(listeners(c.signal)).toBe(1);
      const result = await within('done', watcher.done, 20000);
      expect(result).toMatchObject({ exitCode: 0, stopped: false });
      expect(listeners(c.signal)).toBe(0);
    } finally {
      await watcher.stop();
    }
  });
});

describe('startStream()', () => {
  test('a signal aborted already rejects with its reason; nothing is created', async () => {
    const name = ringName('stream-aborted');
    const signal = aborted();
    await expect(startStream({ source: LIVE, name, signal })).rejects.toBe(signal.reason);
    expect(leftovers().filter((n) => n.includes(name))).toEqual([]);
    expect(processesWith(name)).toEqual([]);
    expect(listeners(signal)).toBe(0);
  });

  test.each([false, true])('aborted while the ring is created (announce: %s): rejects with the reason, removes the ring, starts no gst-launch, announces nothing', async (announce) => {
    const name = ringName('stream-abort-creating');
    const c = new AbortController();
    const out = sink();
    const starting = startStream({ source: LIVE, name, signal: c.signal, announce: announce && out.stream });
    const reason = new Error('shut down while starting');
    c.abort(reason);
    const outcome = await within('startStream', starting.then((s) => s, (e: unknown) => e), 5000);
    if (outcome !== reason) await (outcome as { close: () => Promise<unknown> }).close?.();
    expect(outcome).toBe(reason);
    expect(leftovers().filter((n) => n.includes(name))).toEqual([]);
    expect(processesWith(name)).toEqual([]);
    expect(out.text()).toBe('');
    expect(listeners(c.signal)).toBe(0);
  });

  test('aborted while the start-stream line is being written: stop-stream follows it, the ring is removed', async () => {
    const name = ringName('stream-abort-announcing');
    const c = new AbortController();
    const chunks: string[] = [];
    let writing: (() => void) | undefined;
    const slow = new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk.toString());
        if (chunks.length === 1) writing = cb; // the start-stream line, held until the test lets it go
        else cb();
      },
    });
    const starting = startStream({ source: LIVE, name, signal: c.signal, announce: slow }).then((s) => s, (e: unknown) => e);
    await until('the start-stream write', () => writing !== undefined);
    const reason = new Error('shut down while announcing');
    c.abort(reason);
    writing!();
    const outcome = await within('startStream', starting, 5000);
    if (outcome !== reason) await (outcome as { close: () => Promise<unknown> }).close?.();
    expect(outcome).toBe(reason);
    const lines = chunks.map((l) => JSON.parse(l.slice(2)) as { method: string; params: unknown[] });
    expect(lines.map((l) => [l.method, l.params[0]])).toEqual([['start-stream', name], ['stop-stream', name]]);
    expect(leftovers().filter((n) => n.includes(name))).toEqual([]);
    expect(processesWith(name)).toEqual([]);
    expect(listeners(c.signal)).toBe(0);
  });

  test('after close(), its listener is off the signal', async () => {
    const name = ringName('stream-ends');
    const c = new AbortController();
    const stream = await startStream({ source: FINITE, name, signal: c.signal });
    let frames = 0;
    try {
      expect(listeners(c.signal)).toBe(1);
      for await (const frame of stream.frames({ timeoutMs: 15000 })) {
        frames++;
        frame.release();
      }
    } finally {
      await stream.close();
    }
    expect(frames).toBe(5);
    expect(listeners(c.signal)).toBe(0);
    expect(leftovers().filter((n) => n.includes(name))).toEqual([]);
  });
});

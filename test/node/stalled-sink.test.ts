// A sink that stops taking bytes (an img= client that connected and never
// reads) no longer holds serveImg, or `zerobuffer serve`, for ever: its
// signal ends the wait, and the frame whose bytes the sink may still hold
// stays held until they leave or the sink is destroyed (a custom Writable
// whose _write never calls back kept it for ever before: a destroyed sink
// never calls that write back); serve destroys such a sink a second after
// it was stopped (it hung on SIGINT before, until SIGKILL).
import { jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { serveImg, ZeroBufferReader, ZeroBufferWriter } from '../../src/index.js';
import { native } from '../../src/native.js';
import { repoRoot, run, sleep } from './helpers.js';

jest.setTimeout(30000);

const prefix = `nd-stall-${process.pid}-`;
const ringName = (): string => `${prefix}${randomUUID().slice(0, 8)}`;

afterAll(() => {
  expect(fs.readdirSync('/dev/shm').filter((n) => n.includes(prefix))).toEqual([]);
});

test('serveImg({ signal }): an abort ends the wait for a sink that takes nothing; the frame is held until the sink lets its bytes go', async () => {
  const reader = await ZeroBufferReader.create({ name: ringName(), metadataSize: 1024, payloadSize: 1 << 16 });
  const writer = await ZeroBufferWriter.connect(reader.name);
  const stalled: (() => void)[] = [];
  let stall = true;
  const sink = new Writable({
    write(_chunk, _encoding, callback) {
      if (stall) stalled.push(callback);
      else callback();
    },
  });
  try {
    writer.setMetadata({ caps: 'video/x-raw, format=(string)GRAY16_BE, width=(int)4, height=(int)2, framerate=(fraction)0/1' });
    await writer.write(new Uint8Array(16).fill(7));
    const stop = new AbortController();
    const serving = serveImg(reader.frames({ timeoutMs: 5000 }), sink, { signal: stop.signal });
    await sleep(100);
    expect(stalled.length).toBe(1); // the sink holds the first part, the others are queued
    stop.abort(new Error('stopped'));
    await expect(serving).rejects.toThrow('stopped');
    // its pixels are still queued in the sink: not released under it (a copy, ZEROBUFFER_FORCE_COPY=1, holds no ring space)
    expect(reader.stats().heldFrames).toBe(native.forceCopy ? 0 : 1);
    stall = false;
    for (const callback of stalled.splice(0)) callback();
    await sleep(50);
    expect(reader.stats().heldFrames).toBe(0);
    const noFrames = (async function* (): AsyncGenerator<never> {})();
    await expect(serveImg(noFrames, sink, { signal: stop.signal })).rejects.toThrow('stopped'); // aborted already
  } finally {
    await writer.close();
    await reader.close();
  }
});

test('zerobuffer serve stops on SIGINT within moments while its TCP client reads nothing', async () => {
  const name = ringName();
  const serve = run(process.execPath, [path.join(repoRoot, 'dist', 'cli', 'bin.js'), 'serve', 'img', 'tcp:0', '--name', name,
    '--pipeline', 'videotestsrc ! video/x-raw,format=GRAY16_BE,width=640,height=480']);
  let socket: net.Socket | undefined;
  try {
    const end = Date.now() + 10000;
    let port: string | undefined;
    while ((port = /listening on tcp 127\.0\.0\.1:(\d+)/.exec(serve.stderr)?.[1]) === undefined && Date.now() < end) await sleep(20);
    socket = net.connect({ host: '127.0.0.1', port: Number(port) });
    socket.pause(); // never reads: serve's writes stop once the socket's buffers are full
    socket.on('error', () => {});
    await sleep(1500);
    const stopped = performance.now();
    serve.proc.kill('SIGINT');
    expect(await serve.exit(10000)).toBe(0);
    expect(performance.now() - stopped).toBeLessThan(3000);
    expect(serve.stderr).toMatch(/images served/);
  } finally {
    socket?.destroy();
    if (serve.proc.exitCode === null && serve.proc.signalCode === null) serve.proc.kill('SIGKILL');
  }
});

test('serveImg({ signal }): the frame held after an abort goes back once the sink is destroyed, also a Writable whose _write never calls back', async () => {
  const reader = await ZeroBufferReader.create({ name: ringName(), metadataSize: 1024, payloadSize: 1 << 16 });
  const writer = await ZeroBufferWriter.connect(reader.name);
  let taken = 0;
  const sink = new Writable({
    write() {
      taken++; // never calls back: a destroyed sink never calls this write back either
    },
  });
  try {
    writer.setMetadata({ caps: 'video/x-raw, format=(string)GRAY16_BE, width=(int)4, height=(int)2, framerate=(fraction)0/1' });
    await writer.write(new Uint8Array(16).fill(7));
    const stop = new AbortController();
    const serving = serveImg(reader.frames({ timeoutMs: 5000 }), sink, { signal: stop.signal });
    await sleep(100);
    expect(taken).toBe(1);
    stop.abort(new Error('stopped'));
    await expect(serving).rejects.toThrow('stopped');
    expect(reader.stats().heldFrames).toBe(native.forceCopy ? 0 : 1);
    sink.destroy();
    await sleep(50);
    expect(reader.stats().heldFrames).toBe(0);
  } finally {
    await writer.close();
    await reader.close();
  }
});

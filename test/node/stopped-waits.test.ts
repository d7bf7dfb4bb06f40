// Timed waits do not count time their process was stopped (SIGSTOP;
// Ctrl-Z stops a whole job, the peer with it), as the core writer's wait
// for room did not: zerosink's wait for a reader to create its ring
// (connect-timeout), zerosrc's wait for a frame (timeout) and a Node
// reader's next({ timeoutMs }) went on after a stop longer than their
// timeout and failed at SIGCONT, before the peer, continued too, had time
// to act.
import { jest } from '@jest/globals';
import path from 'node:path';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { ZeroBufferReader, ZeroBufferWriter } from '../../src/index.js';
import { killIfRunning, leftovers, repoRoot, ringName, run, sleep, until, type Child } from './helpers.js';

jest.setTimeout(30000);

const stoppedReader = path.join(repoRoot, 'test', 'node', 'fixtures', 'stopped-reader.mjs');
const gstEnv = { GST_PLUGIN_PATH: path.join(repoRoot, 'builddir', 'gst-plugin'), GST_DEBUG: 'zerosink:4,zerosrc:4', GST_DEBUG_NO_COLOR: '1' };
const caps = 'video/x-raw,format=GRAY8,width=64,height=48,framerate=30/1';

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

/** Stops the child for ms, then continues it. */
async function stopFor(child: Child, ms: number): Promise<void> {
  child.proc.kill('SIGSTOP');
  await sleep(ms);
  child.proc.kill('SIGCONT');
}

test('zerosink stopped for 2.5 s while it waits up to 1.5 s for its ring: a reader created 0.3 s after SIGCONT gets every frame, exit 0', async () => {
  const name = ringName('stopsink');
  let gst: Child | undefined;
  let reader: ZeroBufferReader | undefined;
  try {
    gst = run('gst-launch-1.0', ['-q', 'videotestsrc', 'num-buffers=3', 'pattern=ball', '!', caps, '!',
      'zerosink', `buffer-name=${name}`, 'connect-timeout=1500'], gstEnv);
    await until('zerosink waiting for the ring', () => gst!.stderr.includes('waiting up to 1500 ms for a reader'));
    await stopFor(gst, 2500);
    await sleep(300);
    reader = await ZeroBufferReader.create({ name, metadataSize: 4096, payloadSize: 1 << 16 });
    const sequences: number[] = [];
    for (let frame = await reader.next({ timeoutMs: 5000 }); frame !== null; frame = await reader.next({ timeoutMs: 5000 })) {
      expect(frame.data.length).toBe(64 * 48);
      sequences.push(frame.sequence);
      frame.release();
    }
    // before: "No reader created ring … within 1500 ms" at SIGCONT, exit 1
    expect(sequences).toEqual([1, 2, 3]);
    expect(await gst.exit()).toBe(0);
  } finally {
    killIfRunning(gst);
    await reader?.close();
  }
});

test('zerosrc stopped for 2.5 s while it waits up to 1.5 s for a frame: frames written 0.3 s after SIGCONT arrive, byte for byte, exit 0', async () => {
  const name = ringName('stopsrc');
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'zb-stopsrc-')), 'out.raw');
  let gst: Child | undefined;
  let writer: ZeroBufferWriter | undefined;
  try {
    gst = run('gst-launch-1.0', ['-q', 'zerosrc', `buffer-name=${name}`, 'timeout=1500', '!', 'filesink', 'buffer-mode=unbuffered', `location=${out}`], gstEnv);
    await until('zerosrc created its ring', () => gst!.stderr.includes(`created ring ${name}:`));
    writer = await ZeroBufferWriter.connect(name);
    writer.setMetadata({ caps });
    const frames = [1, 2, 3].map((n) => Buffer.alloc(64 * 48, n));
    await writer.write(frames[0]!);
    await until('the first frame written out', () => fs.existsSync(out) && fs.statSync(out).size === 64 * 48);
    await sleep(100); // zerosrc in its wait for the next
    await stopFor(gst, 2500);
    await sleep(300);
    await writer.write(frames[1]!);
    await writer.write(frames[2]!);
    await writer.close();
    // before: "No frame arrived on ring … within 1500 ms" at SIGCONT, exit 1
    expect(await gst.exit()).toBe(0);
    const hash = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
    expect(hash(fs.readFileSync(out))).toBe(hash(Buffer.concat(frames)));
  } finally {
    killIfRunning(gst);
    await writer?.close();
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  }
});

test.each([
  ['on the event loop', {}],
  ['on its wait thread', { ZEROBUFFER_NO_URING: '1' }],
])('a Node reader stopped for 2.5 s while it waits %s up to 1.5 s for a frame gets one written 0.3 s after SIGCONT', async (_label, env) => {
  const name = ringName('stopnode');
  const reader = run(process.execPath, [stoppedReader, name], env);
  let writer: ZeroBufferWriter | undefined;
  try {
    await reader.line(/^ready /);
    await sleep(200); // in its wait
    writer = await ZeroBufferWriter.connect(name);
    await stopFor(reader, 2500);
    await sleep(300);
    // (a reader that gave up first closed its ring: its own line says why)
    const written = await writer.write(Buffer.alloc(100, 7)).then(() => 'written', (e: unknown) => `write failed: ${(e as Error).message}`);
    // before: "error ETIMEDOUT ring …: no frame within 1500 ms" at SIGCONT
    expect([await reader.line(/^(frame|error) /), written]).toEqual(['frame 1 100', 'written']);
    expect(await reader.exit()).toBe(0);
  } finally {
    killIfRunning(reader);
    await writer?.close();
  }
});

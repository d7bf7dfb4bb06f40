// A reordered stream (x265enc's B-frames: PTS not monotonic) whose writer
// sends PTS only (a Node writer relaying zerosink's frames without their
// DTS) into `zerosrc ! h265parse ! mp4mux`: zerosrc leaves the DTS unknown,
// as an RTP depayloader does, instead of taking the PTS, which goes back
// (mp4mux: "decreasing DTS value" and samples of no duration). Skipped
// without x265enc, h265parse or mp4mux.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jest } from '@jest/globals';
import { ZeroBufferReader, ZeroBufferWriter } from '../../src/index.js';
import { killIfRunning, leftovers, repoRoot, ringName, run, type Child } from './helpers.js';

jest.setTimeout(60000);

const gstEnv = { GST_PLUGIN_PATH: path.join(repoRoot, 'builddir', 'gst-plugin') };
const FRAMES = 30;
const have = (element: string): boolean => spawnSync('gst-inspect-1.0', [element], { env: { ...process.env, ...gstEnv } }).status === 0;
const encoders = ['x265enc', 'h265parse', 'mp4mux'].every(have);

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

(encoders ? test : test.skip)('PTS-only B-frames: zerosrc gives them no DTS, so none goes back for mp4mux to refuse', async () => {
  const relayed = ringName('ptsin');
  const out = ringName('ptsout');
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'zbjest-')), 'out.mp4');
  const reader = await ZeroBufferReader.create({ name: relayed, metadataSize: 4096, payloadSize: 8 << 20 });
  let sink: Child | undefined;
  let source: Child | undefined;
  try {
    sink = run('gst-launch-1.0', ['-e', '-v', 'zerosrc', `buffer-name=${out}`, 'announce=true', '!', 'identity', 'silent=false', '!',
      'h265parse', '!', 'mp4mux', '!', 'filesink', `location=${file}`], { ...gstEnv, GST_DEBUG: 'qtmux:1', GST_DEBUG_NO_COLOR: '1' });
    await sink.line(/start-stream/);
    source = run('gst-launch-1.0', ['-q', '-e', 'videotestsrc', `num-buffers=${FRAMES}`, '!', 'video/x-raw,width=320,height=240,framerate=30/1', '!',
      'x265enc', 'option-string=bframes=3:b-adapt=0', 'speed-preset=ultrafast', '!', 'h265parse', '!',
      'zerosink', `buffer-name=${relayed}`, 'frame-header=true'], gstEnv);
    const metadata = await reader.waitForMetadata({ timeoutMs: 20000 });
    const writer = await ZeroBufferWriter.connect(out, { timeoutMs: 5000, frameHeader: true });
    writer.setMetadata({ caps: metadata.capsString! });
    const pts: number[] = [];
    for await (const frame of reader.frames({ timeoutMs: 20000 })) {
      expect(frame.dts).toBeDefined(); // zerosink sends x265enc's DTS: dropped here
      pts.push(frame.pts!);
      await writer.write(frame.data, { pts: frame.pts, duration: frame.duration, flags: frame.flags });
    }
    await writer.close();
    expect(await source.exit()).toBe(0);
    expect(await sink.exit()).toBe(0);
    expect(pts).toHaveLength(FRAMES);
    expect(pts.some((p, i) => i > 0 && p < pts[i - 1]!)).toBe(true); // reordered
    expect(sink.stderr).not.toMatch(/decreasing DTS/);
    // what zerosrc pushed: every PTS, no DTS
    const pushed = sink.stdout.filter((l) => l.includes('identity0:sink') && l.includes('chain'));
    expect(pushed).toHaveLength(FRAMES);
    for (const l of pushed) expect(l).toMatch(/dts: none, pts: \d/);
    expect(fs.statSync(file).size).toBeGreaterThan(0);
  } finally {
    killIfRunning(source);
    killIfRunning(sink);
    await reader.close();
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
});

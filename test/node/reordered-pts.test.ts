// A reordered stream (x265enc's B-frames: PTS not monotonic) whose writer
// sends PTS only (a Node writer relaying zerosink's frames without their
// DTS) into zerosrc, then a muxer:
// - `zerosrc ! h265parse ! mp4mux`: zerosrc leaves the DTS unknown, as an
//   RTP depayloader does, instead of taking the PTS, which goes back
//   (mp4mux: "decreasing DTS value" and samples of no duration); mp4mux
//   then stores the frames in the wrong order without a word, so zerosrc
//   warns once, naming the remedies;
// - the README's recipe, `h265parse ! video/x-h265,stream-format=hvc1 !
//   h265timestamper ! mp4mux`: qtdemux gives every frame back in decode
//   order with the writer's composition offsets.
// Skipped without x265enc, h265parse or mp4mux (the second also without
// h265timestamper or qtdemux).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jest } from '@jest/globals';
import { ZeroBufferReader, ZeroBufferWriter } from '../../src/index.js';
import { gstLaunch, killIfRunning, leftovers, repoRoot, ringName, run, type Child } from './helpers.js';

jest.setTimeout(60000);

const gstEnv = { GST_PLUGIN_PATH: path.join(repoRoot, 'builddir', 'gst-plugin') };
const FRAMES = 30;
const FRAME_NS = 1e9 / 30;
const have = (element: string): boolean => spawnSync('gst-inspect-1.0', [element], { env: { ...process.env, ...gstEnv } }).status === 0;
const encoders = ['x265enc', 'h265parse', 'mp4mux'].every(have);
const timestamper = encoders && ['h265timestamper', 'qtdemux'].every(have);
const WARNING = /WARNING: from element \S*zerosrc0: The writer sends frames without a DTS whose PTS go back/;

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

interface Relayed {
  sink: Child;
  /** The writer's PTS (ns) in decode order, as relayed without DTS. */
  pts: number[];
  file: string;
}

// x265enc (3 B-frames, fixed placement) → zerosink → a Node relay that
// drops the DTS → zerosrc ! identity ! MUX ! filesink; resolves when both
// pipelines ended by themselves. The caller removes path.dirname(file).
async function relay(mux: string[]): Promise<Relayed> {
  const relayed = ringName('ptsin');
  const out = ringName('ptsout');
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'zbjest-')), 'out.mp4');
  const reader = await ZeroBufferReader.create({ name: relayed, metadataSize: 4096, payloadSize: 8 << 20 });
  let sink: Child | undefined;
  let source: Child | undefined;
  try {
    sink = run('gst-launch-1.0', ['-e', '-v', 'zerosrc', `buffer-name=${out}`, 'announce=true', '!', 'identity', 'silent=false', '!',
      ...mux, '!', 'filesink', `location=${file}`], { ...gstEnv, GST_DEBUG: 'qtmux:1', GST_DEBUG_NO_COLOR: '1' });
    await sink.line(/start-stream/);
    source = run('gst-launch-1.0', ['-q', '-e', 'videotestsrc', `num-buffers=${FRAMES}`, '!', 'video/x-raw,width=320,height=240,framerate=30/1', '!',
      'x265enc', 'option-string=bframes=3:b-adapt=0', 'speed-preset=ultrafast', '!', 'h265parse', '!',
      'zerosink', `buffer-name=${relayed}`, 'frame-header=true'], gstEnv);
    const metadata = await reader.waitForMetadata({ timeoutMs: 20000 });
    const writer = await ZeroBufferWriter.connect(out, { timeoutMs: 5000, frameHeader: true });
    writer.setMetadata({ caps: metadata.capsString! });
    // All read first, then written at once: an encoder slower than real time (a loaded host) would put the
    // writer's PTS behind its commits, and zerosrc then moves its time base forward, as it should, leaving a
    // gap in the DTS that is no fault of the recipe's (every run under CPU load failed so).
    const frames: { data: Uint8Array; pts: number; duration?: number; flags?: number }[] = [];
    for await (const frame of reader.frames({ timeoutMs: 20000 })) {
      expect(frame.dts).toBeDefined(); // zerosink sends x265enc's DTS: dropped here
      // (a copy: the frame is a view of the ring, released at the next one)
      frames.push({ data: Uint8Array.from(frame.data), pts: frame.pts!, duration: frame.duration, flags: frame.flags });
    }
    const pts = frames.map((f) => f.pts);
    for (const f of frames) await writer.write(f.data, { pts: f.pts, duration: f.duration, flags: f.flags });
    await writer.close();
    expect(await source.exit()).toBe(0);
    expect(await sink.exit()).toBe(0);
    expect(pts).toHaveLength(FRAMES);
    expect(pts.some((p, i) => i > 0 && p < pts[i - 1]!)).toBe(true); // reordered
    // what zerosrc pushed: every PTS, no DTS
    const pushed = sink.stdout.filter((l) => l.includes('identity0:sink') && l.includes('chain'));
    expect(pushed).toHaveLength(FRAMES);
    for (const l of pushed) expect(l).toMatch(/dts: none, pts: \d/);
    expect(fs.statSync(file).size).toBeGreaterThan(0);
    return { sink, pts, file };
  } catch (e) {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
    throw e;
  } finally {
    killIfRunning(source);
    killIfRunning(sink);
    await reader.close();
  }
}

const ns = (t: string): number => {
  const [h, m, s] = t.split(':');
  return Math.round((Number(h) * 3600 + Number(m) * 60 + Number(s)) * 1e9);
};

(encoders ? test : test.skip)('PTS-only B-frames: zerosrc gives them no DTS, so none goes back for mp4mux to refuse, and warns once', async () => {
  const { sink, file } = await relay(['h265parse', '!', 'mp4mux']);
  try {
    expect(sink.stderr).not.toMatch(/decreasing DTS/);
    // mp4mux stores them in the wrong order without a word: zerosrc says it
    const output = `${sink.stdout.join('\n')}\n${sink.stderr}`;
    expect(output).toMatch(WARNING);
    expect(output).toMatch(/send their DTS/);
    expect(output.match(new RegExp(WARNING.source, 'g'))).toHaveLength(1);
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
});

(timestamper ? test : test.skip)('PTS-only B-frames through the README recipe: the MP4 holds them in decode order with their composition offsets', async () => {
  const { pts, file } = await relay(['h265parse', '!', 'video/x-h265,stream-format=hvc1', '!', 'h265timestamper', '!', 'mp4mux']);
  try {
    const demux = await gstLaunch(['-v', 'filesrc', `location=${file}`, '!', 'qtdemux', '!', 'fakesink', 'silent=false', 'sync=false'], gstEnv, 20000);
    const samples = demux.stdout.filter((l) => l.includes('chain   ***')).map((l) => {
      const m = /dts: ([0-9:.]+), pts: ([0-9:.]+)/.exec(l);
      expect(m).not.toBeNull();
      return { dts: ns(m![1]!), pts: ns(m![2]!) };
    });
    expect(samples).toHaveLength(FRAMES);
    // decode order: DTS one frame apart, each PTS at or after its DTS
    samples.forEach((s, i) => {
      if (i > 0) expect(Math.abs(s.dts - samples[i - 1]!.dts - FRAME_NS)).toBeLessThan(1e6);
      expect(s.pts).toBeGreaterThanOrEqual(s.dts);
    });
    // the samples in the writer's order, each with its own PTS: the same
    // offsets from the first frame shown (MP4's timescale rounds)
    const first = Math.min(...pts);
    const firstOut = Math.min(...samples.map((s) => s.pts));
    samples.forEach((s, i) => {
      expect(Math.abs(s.pts - firstOut - (pts[i]! - first))).toBeLessThan(1e6);
    });
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
});

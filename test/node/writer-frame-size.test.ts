// A Node writer refuses a frame that is no frame of its caps (EFRAMESIZE,
// nothing written, the writer usable), as zerosink refuses such a buffer
// before the ring: raw video of another size than GStreamer's default
// layout, raw audio of part of a sample frame. It used to write it, and
// zerosrc then stopped for good at it ("Frame 6 of ring ... has 100 bytes,
// but GRAY8 16x16 frames have 256 bytes", "Internal data stream error"),
// the writer learning it only later as EREADERGONE.
import path from 'node:path';
import { FrameSizeError, ZeroBufferDuplexServer, ZeroBufferWriter, type FrameAttributes } from '../../src/index.js';
import { killIfRunning, leftovers, repoRoot, ringName, run, type Child } from './helpers.js';

const gstEnv = { GST_PLUGIN_PATH: path.join(repoRoot, 'builddir', 'gst-plugin') };
const GRAY8 = 'video/x-raw,format=GRAY8,width=16,height=16,framerate=30/1';
const STEREO = 'audio/x-raw,format=S16LE,rate=48000,channels=2,layout=interleaved';

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

/** A zerosrc ! fakesink that prints each buffer it takes (its size on a "chain" line). */
function zerosrc(name: string): Child {
  return run('gst-launch-1.0', ['-v', 'zerosrc', `buffer-name=${name}`, '!', 'fakesink', 'silent=false'], gstEnv);
}

/** The sizes of the buffers fakesink took, in order. */
function chainSizes(gst: Child): number[] {
  return gst.stdout.flatMap((l) => [...l.matchAll(/chain[^(]*\(fakesink0:sink\) \((\d+) bytes/g)].map((m) => Number(m[1])));
}

async function refused(p: Promise<unknown> | (() => unknown), message: string): Promise<void> {
  const e = await (typeof p === 'function' ? Promise.resolve().then(p) : p).then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(FrameSizeError);
  expect(e).toMatchObject({ code: 'EFRAMESIZE' });
  expect((e as Error).message).toContain(message);
}

test.each([false, true])('raw video (frameHeader %s): write, reserve and commit refuse a frame of another size, nothing written; zerosrc takes the rest', async (frameHeader) => {
  const name = ringName('wfsize');
  const gst = zerosrc(name);
  let writer: ZeroBufferWriter | undefined;
  try {
    writer = await ZeroBufferWriter.connect(name, { connectTimeoutMs: 10000, frameHeader });
    writer.setMetadata({ caps: GRAY8 });
    const wrong = 'a frame of 100 bytes is not a frame of its caps: GRAY8 16x16 frames have 256 bytes';
    await writer.write(new Uint8Array(256).fill(1));
    await refused(writer.write(new Uint8Array(100)), `writer of ring "${name}": ${wrong}`);
    await refused(writer.reserve(100), wrong);
    const view = await writer.reserve(256);
    view.fill(2);
    await refused(() => writer!.commit(100), wrong);
    writer.commit(); // still open after the refused size
    await writer.write(new Uint8Array(256).fill(3));
    await writer.close();
    expect(await gst.exit(20000)).toBe(0);
    expect(gst.stderr).toBe('');
    expect(chainSizes(gst)).toEqual([256, 256, 256]);
  } finally {
    killIfRunning(gst);
    await writer?.close();
  }
}, 30000);

test('a frame\'s own caps (the "caps" attribute) decide its size, the metadata\'s those of frames without them', async () => {
  const name = ringName('wfattr');
  const gst = zerosrc(name);
  let writer: ZeroBufferWriter | undefined;
  try {
    writer = await ZeroBufferWriter.connect(name, { connectTimeoutMs: 10000, frameHeader: true });
    writer.setMetadata({ caps: GRAY8 });
    const small: FrameAttributes = { caps: 'video/x-raw,format=GRAY8,width=8,height=8,framerate=30/1' };
    await refused(writer.write(new Uint8Array(256), { attributes: small }),
      'a frame of 256 bytes is not a frame of its caps: GRAY8 8x8 frames have 64 bytes');
    await refused(writer.reserve(256, { attributes: small }), 'GRAY8 8x8 frames have 64 bytes');
    await writer.write(new Uint8Array(64), { attributes: small });
    await refused(writer.write(new Uint8Array(64)), 'a frame of 64 bytes is not a frame of its caps: GRAY8 16x16 frames have 256 bytes');
    await writer.write(new Uint8Array(256));
    await writer.close();
    expect(await gst.exit(20000)).toBe(0);
    expect(gst.stderr).toBe('');
    expect(chainSizes(gst)).toEqual([64, 256]);
  } finally {
    killIfRunning(gst);
    await writer?.close();
  }
}, 30000);

// Formats the API does not lay out (no image()) but can size: 8 bytes a
// pixel, rows never padded, as GstVideoInfo gives them. They were written at
// any size, and zerosrc stopped for good at the first wrong one.
test.each(['RGBA64_LE', 'ARGB64', 'ABGR64_BE', 'AYUV64'])('raw video of 16 bits a channel (%s) is size-checked as zerosrc checks it', async (format) => {
  const name = ringName('wf64');
  const gst = zerosrc(name);
  let writer: ZeroBufferWriter | undefined;
  try {
    writer = await ZeroBufferWriter.connect(name, { connectTimeoutMs: 10000 });
    writer.setMetadata({ caps: `video/x-raw,format=${format},width=5,height=3,framerate=30/1,interlace-mode=interleaved` });
    await refused(writer.write(new Uint8Array(100)),
      `a frame of 100 bytes is not a frame of its caps: ${format} 5x3 frames have 120 bytes`);
    await writer.write(new Uint8Array(120).fill(7));
    await writer.close();
    expect(await gst.exit(20000)).toBe(0);
    expect(gst.stderr).toBe('');
    expect(chainSizes(gst)).toEqual([120]);
  } finally {
    killIfRunning(gst);
    await writer?.close();
  }
}, 30000);

test('raw audio: a frame of part of a sample frame is refused in zerosink\'s words; whole sample frames pass', async () => {
  const name = ringName('wfaudio');
  const gst = zerosrc(name);
  let writer: ZeroBufferWriter | undefined;
  try {
    writer = await ZeroBufferWriter.connect(name, { connectTimeoutMs: 10000 });
    writer.setMetadata({ caps: STEREO });
    await refused(writer.write(new Uint8Array(6)),
      'a frame of 6 bytes is not raw audio of its caps: S16LE audio of 2 channels comes in whole sample frames of 4 bytes');
    await refused(writer.reserve(10), 'a frame of 10 bytes is not raw audio of its caps');
    await writer.write(new Uint8Array(8));
    await writer.write(new Uint8Array(4 * 480));
    await writer.close();
    expect(await gst.exit(20000)).toBe(0);
    expect(gst.stderr).toBe('');
    expect(chainSizes(gst)).toEqual([8, 4 * 480]);
  } finally {
    killIfRunning(gst);
    await writer?.close();
  }
}, 30000);

test.each(['image/jpeg,width=16,height=16,framerate=30/1', 'video/x-h264,stream-format=byte-stream,alignment=au'])(
  'encoded caps (%s) take frames of any size', async (caps) => {
    const name = ringName('wfenc');
    const gst = zerosrc(name);
    let writer: ZeroBufferWriter | undefined;
    try {
      writer = await ZeroBufferWriter.connect(name, { connectTimeoutMs: 10000 });
      writer.setMetadata({ caps });
      for (const size of [100, 7, 256]) await writer.write(new Uint8Array(size));
      await writer.close();
      expect(await gst.exit(20000)).toBe(0);
      expect(chainSizes(gst)).toEqual([100, 7, 256]);
    } finally {
      killIfRunning(gst);
      await writer?.close();
    }
  }, 30000);

// zerofilter checks a duplex server's answers itself and fails that
// request, naming it (docs/DUPLEX.md): the server's writer leaves the size
// to it rather than ending serve() with its own refusal.
test('a duplex server\'s answer of another size than its outputCaps reaches zerofilter, which names the request', async () => {
  const channel = ringName('wfduplex');
  const server = await ZeroBufferDuplexServer.create({ name: channel, outputCaps: 'video/x-raw,format=GRAY8,width=4,height=2,framerate=30/1' });
  const serving = server.serve(() => new Uint8Array(7)).catch((e: unknown) => e);
  const gst = run('gst-launch-1.0', ['videotestsrc', 'num-buffers=1', '!', 'video/x-raw,format=GRAY8,width=4,height=2,framerate=30/1', '!',
    'zerofilter', `channel=${channel}`, '!', 'fakesink'], gstEnv);
  try {
    expect(await gst.exit(30000)).toBe(1);
    expect(gst.stderr).toContain('The duplex server answered request 1 with 7 bytes, but GRAY8 4x2 frames (the output caps) have 8 bytes');
  } finally {
    killIfRunning(gst);
    await server.close();
    expect(await serving).not.toBeInstanceOf(FrameSizeError);
  }
}, 60000);

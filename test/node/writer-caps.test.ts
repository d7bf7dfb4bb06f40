// A Node reader that stays up across writers: the next zerosink with
// frame-header=true may have other caps than the ring's metadata (written
// once, by the first writer). Its frames carry their caps in the frame
// header, and frame.caps / frame.videoInfo follow each frame's own
// (docs/GUARANTEES.md, "the next writer may have other caps"). A Node
// writer that follows another writer is judged by the meaning of the
// metadata there, as zerosink judges it: the same caps and declarations.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { capsField, ZeroBufferReader, ZeroBufferWriter } from '../../src/index.js';
import { killIfRunning, leftovers, repoRoot, ringName, run, type Child } from './helpers.js';

const gstEnv = { GST_PLUGIN_PATH: path.join(repoRoot, 'builddir', 'gst-plugin') };

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

test('writers one after the other at 64x48, 32x24 and 64x48 again: each frame has its writer\'s caps and size', async () => {
  const name = ringName('wcaps');
  const reader = await ZeroBufferReader.create({ name, metadataSize: 4096, payloadSize: 1 << 20 });
  let writer: Child | undefined;
  try {
    for (const [width, height, frames] of [[64, 48, 2], [32, 24, 3], [64, 48, 1]] as const) {
      writer = run('gst-launch-1.0', ['-q', 'videotestsrc', `num-buffers=${frames}`, '!',
        `video/x-raw,format=GRAY8,width=${width},height=${height},framerate=30/1`, '!',
        'zerosink', `buffer-name=${name}`, 'frame-header=true'], gstEnv);
      for (let i = 0; i < frames; i++) {
        const frame = await reader.next({ timeoutMs: 10000 });
        expect(frame).not.toBeNull();
        expect([capsField(frame!.caps!, 'width'), capsField(frame!.caps!, 'height')]).toEqual([width, height]);
        expect([frame!.videoInfo?.width, frame!.videoInfo?.height]).toEqual([width, height]);
        expect(frame!.size).toBe(width * height);
        frame!.release();
      }
      expect(await reader.next({ timeoutMs: 10000 })).toBeNull(); // this writer's end of stream
      expect(await writer.exit(20000)).toBe(0);
    }
    // the ring's metadata is still the first writer's
    expect(capsField(reader.metadata!.caps!, 'width')).toBe(64);
  } finally {
    killIfRunning(writer);
    await reader.close();
  }
}, 60000);

test('a Node writer follows a zerosink with its caps: the ring keeps the zerosink\'s metadata (element name, version), its frames come through', async () => {
  const name = ringName('wfollow');
  const reader = await ZeroBufferReader.create({ name, metadataSize: 4096, payloadSize: 1 << 16 });
  let gst: Child | undefined;
  let writer: ZeroBufferWriter | undefined;
  try {
    gst = run('gst-launch-1.0', ['-q', 'videotestsrc', 'num-buffers=2', '!',
      'video/x-raw,format=GRAY8,width=4,height=2,framerate=30/1', '!', 'zerosink', `buffer-name=${name}`], gstEnv);
    for (let i = 0; i < 2; i++) (await reader.next({ timeoutMs: 10000 }))!.release();
    expect(await reader.next({ timeoutMs: 10000 })).toBeNull();
    expect(await gst.exit(20000)).toBe(0);
    const before = reader.metadata!;
    expect(before.json).toMatchObject({ element_name: 'zerosink0' });

    writer = await ZeroBufferWriter.connect(name);
    writer.setMetadata({ caps: before.capsString! });
    await writer.write(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
    const f = (await reader.next({ timeoutMs: 5000 }))!;
    expect([f.sequence, [...f.data]]).toEqual([1, [1, 2, 3, 4, 5, 6, 7, 8]]);
    f.release();
    expect(Buffer.from(reader.metadata!.bytes).equals(Buffer.from(before.bytes))).toBe(true);
    await writer.close();
    expect(await reader.next({ timeoutMs: 5000 })).toBeNull();
  } finally {
    killIfRunning(gst);
    await writer?.close();
    await reader.close();
  }
}, 60000);

test('setMetadata({ caps }) over an earlier writer\'s metadata: the same caps however spelled and the same declarations pass, other caps, another frame header declaration and other bytes do not', async () => {
  const name = ringName('wmeaning');
  const reader = await ZeroBufferReader.create({ name, metadataSize: 4096, payloadSize: 1 << 16 });
  const first = JSON.stringify({ element_name: 'zerosink7', version: 'GStreamer 1.22.0', type: 'gstreamer-sink',
    caps: 'video/x-raw, format=(string)GRAY8, width=(int)4, height=(int)2, framerate=(fraction)30/1' });
  const follow = async (then: (w: ZeroBufferWriter) => void, frameHeader = false): Promise<void> => {
    const w = await ZeroBufferWriter.connect(name, { frameHeader });
    try {
      then(w);
    } finally {
      await w.close();
    }
  };
  try {
    await follow((w) => w.setMetadata(first));
    const refused = { code: 'EMETADATA', message: expect.stringContaining('already holds other metadata') };
    await follow((w) => expect(() => w.setMetadata({ caps: 'video/x-raw,width=4,height=2,framerate=60/2,format=GRAY8' })).not.toThrow());
    await follow((w) => expect(() => w.setMetadata({ caps: 'video/x-raw,width=8,height=2,framerate=30/1,format=GRAY8' })).toThrow(expect.objectContaining(refused)));
    // GStreamer reads 010 as octal 8 and 0x4 as hex 4: alike spelled is not alike meant (010 was taken for 10)
    await follow((w) => expect(() => w.setMetadata({ caps: 'video/x-raw,width=0x4,height=02,framerate=30/1,format=GRAY8' })).not.toThrow());
    await follow((w) => expect(() => w.setMetadata({ caps: 'video/x-raw,width=04,height=010,framerate=30/1,format=GRAY8' })).toThrow(expect.objectContaining(refused)));
    await follow((w) => expect(() => w.setMetadata({ caps: 'video/x-raw,width=4,height=2,framerate=30/1,format=GRAY8,interlace-mode=progressive' })).toThrow(expect.objectContaining(refused)));
    await follow((w) => expect(() => w.setMetadata({ caps: 'video/x-raw,width=4,height=2,framerate=30/1,format=GRAY8' })).toThrow(expect.objectContaining(refused)), true);
    // bytes or text are compared as bytes
    await follow((w) => expect(() => w.setMetadata(first.replace('zerosink7', 'zerosink8'))).toThrow(expect.objectContaining(refused)));
    await follow((w) => expect(() => w.setMetadata(first)).not.toThrow());
    expect(reader.metadata!.text).toBe(first);
  } finally {
    await reader.close();
  }
});

// gst_audio_info_from_caps positions mono and stereo itself: more channels
// need a channel-mask (0: unpositioned), else zerosrc refuses the caps.
const SIX_CHANNELS = 'audio/x-raw,format=S16LE,rate=48000,channels=6,layout=interleaved';

test('raw audio of more than 2 channels needs a channel-mask: setMetadata refuses it without one, naming it, as zerosrc\'s caps property does', async () => {
  const reader = await ZeroBufferReader.create({ name: ringName('wmask'), metadataSize: 4096, payloadSize: 1 << 16 });
  const writer = await ZeroBufferWriter.connect(reader.name);
  try {
    expect(() => writer.setMetadata({ caps: SIX_CHANNELS })).toThrow(TypeError);
    expect(() => writer.setMetadata({ caps: SIX_CHANNELS })).toThrow('metadata "caps" is the stream\'s caps (zerosrc and ' +
      `readers take it as the frames' format): the raw caps "${SIX_CHANNELS}" lack channel-mask, which GStreamer needs to ` +
      'describe their frames (the positions of more than 2 channels; channel-mask=(bitmask)0 for none); zerosrc refuses them');
    expect(reader.metadata).toBeUndefined();
  } finally {
    await writer.close();
    await reader.close();
  }
  const gst = run('gst-launch-1.0', ['zerosrc', `buffer-name=${ringName('wmask-prop')}`, `caps=${SIX_CHANNELS}`, '!', 'fakesink'], gstEnv);
  expect(await gst.exit(20000)).not.toBe(0);
  expect(gst.stderr).toContain('The caps property of zerosrc cannot describe the frames: the raw caps audio/x-raw, ' +
    'format=(string)S16LE, rate=(int)48000, channels=(int)6, layout=(string)interleaved lack channel-mask, which ' +
    'GStreamer needs to describe their frames (the positions of more than 2 channels; channel-mask=(bitmask)0 for none)');
  expect(gst.stderr).toContain('give raw video its format, width and height (raw audio its format, rate, channels and layout, ' +
    'and a channel-mask for more than 2 channels)');
}, 30000);

// A channel-mask of more bits than channels: GStreamer 1.22 positions the
// channels by its lowest bits (0x7 for 2: front left and right), with no
// warning, as audiotestsrc ! audioconvert does without a ring between;
// setMetadata and zerosrc both take it.
test.each([
  [`${SIX_CHANNELS},channel-mask=(bitmask)0x3f`, 6],
  [`${SIX_CHANNELS},channel-mask=(bitmask)0`, 6],
  ['audio/x-raw,format=S16LE,rate=48000,channels=2,layout=interleaved', 2],
  ['audio/x-raw,format=S16LE,rate=48000,channels=2,layout=interleaved,channel-mask=(bitmask)0x7', 2],
] as const)('raw audio caps setMetadata takes, zerosrc reads: %s', async (caps, channels) => {
  const name = ringName('wmask-read');
  const gst = run('gst-launch-1.0', ['zerosrc', `buffer-name=${name}`, '!', 'fakesink'], gstEnv);
  let writer: ZeroBufferWriter | undefined;
  try {
    writer = await ZeroBufferWriter.connect(name, { connectTimeoutMs: 10000 });
    writer.setMetadata({ caps });
    await writer.write(new Uint8Array(channels * 2 * 480));
    await writer.close();
    expect(await gst.exit(20000)).toBe(0);
    expect(gst.stderr).toBe('');
  } finally {
    killIfRunning(gst);
    await writer?.close();
  }
}, 30000);

// interlace-mode=alternate (one field a buffer): GStreamer describes it
// with the format:Interlaced caps feature only. setMetadata took it without
// in a format the API does not describe (zerosrc then failed: EMETADATA),
// and refused it with the feature in one it describes (zerosrc takes it).
test.each(['I420', 'RGBA64_LE'])('interlace-mode=alternate in %s: setMetadata refuses it without format:Interlaced, as zerosrc does, and takes it with', async (format) => {
  const fields = `format=${format},width=8,height=6,framerate=30/1,interlace-mode=alternate`;
  const reader = await ZeroBufferReader.create({ name: ringName('walt'), metadataSize: 4096, payloadSize: 1 << 16 });
  const writer = await ZeroBufferWriter.connect(reader.name);
  try {
    expect(() => writer.setMetadata({ caps: `video/x-raw,${fields}` })).toThrow(TypeError);
    expect(() => writer.setMetadata({ caps: `video/x-raw,${fields}` })).toThrow(`the raw caps "video/x-raw,${fields}" describe no ` +
      'frame: interlace-mode=alternate (one field a buffer) needs the format:Interlaced caps feature, without which GStreamer ' +
      'cannot describe its frames; zerosrc refuses them (EMETADATA)');
    expect(reader.metadata).toBeUndefined();
  } finally {
    await writer.close();
    await reader.close();
  }
  const refused = run('gst-launch-1.0', ['zerosrc', `buffer-name=${ringName('walt-prop')}`, `caps=video/x-raw,${fields}`, '!', 'fakesink'], gstEnv);
  expect(await refused.exit(20000)).toBe(255);
  expect(refused.stderr).toContain('The caps property of zerosrc cannot describe the frames');

  const name = ringName('walt-read');
  const gst = run('gst-launch-1.0', ['-v', 'zerosrc', `buffer-name=${name}`, '!', 'fakesink', 'silent=false'], gstEnv);
  let interlaced: ZeroBufferWriter | undefined;
  try {
    interlaced = await ZeroBufferWriter.connect(name, { connectTimeoutMs: 10000 });
    interlaced.setMetadata({ caps: `video/x-raw(format:Interlaced),${fields}` });
    await interlaced.write(new Uint8Array(48)); // a field: frames of any size under caps features (zerosrc's check too)
    await interlaced.close();
    expect(await gst.exit(20000)).toBe(0);
    expect(gst.stderr).toBe('');
    expect(gst.stdout.join('\n')).toMatch(/chain[^(]*\(fakesink0:sink\) \(48 bytes/);
  } finally {
    killIfRunning(gst);
    await interlaced?.close();
  }
}, 30000);

// zerosink refuses a raw audio buffer that is not whole sample frames
// before the ring (EFRAMESIZE), where zerosrc would stop at the frame
// (EPROTO): the reader gets the whole frames before it, then the end.
test('zerosink refuses a raw audio buffer of part of a sample frame, naming its size and the sample frame\'s; the frames before it arrive', async () => {
  const name = ringName('wpart');
  const file = path.join(os.tmpdir(), `${name}.raw`);
  fs.writeFileSync(file, Uint8Array.from({ length: 11 }, (_, i) => i + 1)); // blocks of 4, 4 and 3 bytes
  const reader = await ZeroBufferReader.create({ name, metadataSize: 4096, payloadSize: 1 << 16 });
  const gst = run('gst-launch-1.0', ['filesrc', `location=${file}`, 'blocksize=4', '!',
    'audio/x-raw,format=S16LE,rate=48000,channels=2,layout=interleaved', '!', 'zerosink', `buffer-name=${name}`], gstEnv);
  try {
    for (const bytes of [[1, 2, 3, 4], [5, 6, 7, 8]]) {
      const frame = await reader.next({ timeoutMs: 10000 });
      expect(frame === null ? null : [...frame.data]).toEqual(bytes);
      frame?.release();
    }
    expect(await reader.next({ timeoutMs: 10000 })).toBeNull();
    expect(await gst.exit(20000)).toBe(1);
    expect(gst.stderr).toContain('ERROR: from element /GstPipeline:pipeline0/GstZeroSink:zerosink0: A buffer of 3 bytes is ' +
      'not raw audio of its caps: S16LE audio of 2 channels comes in whole sample frames of 4 bytes');
    expect(gst.stderr).toContain('its reader would refuse the frame (zerosrc: EPROTO)');
    expect(gst.stderr).toContain('zerobuffer-error=EFRAMESIZE (permanent)');
  } finally {
    killIfRunning(gst);
    await reader.close();
    fs.rmSync(file, { force: true });
  }
}, 30000);

// GStreamer 1.22 takes raw audio of 0 channels or fewer when a channel-mask
// is given (frames of 0 bytes; fewer crashed zerosrc: SIGSEGV, then
// gst-launch spinning): zerosrc refuses them as it refuses other raw caps
// GStreamer cannot describe.
test.each(['channels=0,channel-mask=(bitmask)0', 'channels=-1,channel-mask=(bitmask)0', 'channels=0'])(
  'zerosrc\'s caps property refuses raw audio with %s: no count of channels', async (fields) => {
    const gst = run('gst-launch-1.0', ['zerosrc', `buffer-name=${ringName('wnone')}`,
      `caps=audio/x-raw,format=S16LE,rate=48000,layout=interleaved,${fields}`, '!', 'fakesink'], gstEnv);
    expect(await gst.exit(20000)).toBe(255);
    expect(gst.stderr).toMatch(/The caps property of zerosrc cannot describe the frames: the raw caps audio\/x-raw, .* have channels=-?[01]: raw audio has 1 channel or more/);
  }, 30000);

// Raw audio caps with every field, of values gst_audio_info_from_caps
// refuses (or 0 channels or fewer): setMetadata refuses them, naming the
// field and its value, as zerosrc's caps property refuses them.
const STEREO = { format: 'S16LE', rate: '48000', channels: '2', layout: 'interleaved' };
test.each([
  [{ channels: '0,channel-mask=(bitmask)0' }, 'channels=(int)0: raw audio has 1 channel or more'],
  [{ channels: '-1,channel-mask=(bitmask)0' }, 'channels=(int)-1: raw audio has 1 channel or more'],
  [{ channels: '2.5' }, 'channels=(double)2.5, not an int'],
  [{ channels: '(string)2' }, 'channels=(string)2, not an int'],
  [{ channels: '(uint)2' }, 'channels=(uint)2, not an int'],
  [{ format: 'S17LE' }, 'format=(string)S17LE, not a raw audio format GStreamer knows (S8, U8, S16LE, '],
  [{ format: 'UNKNOWN' }, 'format=(string)UNKNOWN, not a raw audio format GStreamer knows'],
  [{ format: '(int)3' }, 'format=(int)3, not a raw audio format GStreamer knows'],
  [{ layout: 'planar' }, 'layout=(string)planar: raw audio is laid out interleaved or non-interleaved'],
  [{ rate: '(string)fast' }, 'rate=(string)fast, not an int'],
  [{ channels: '3,channel-mask=(int)7' }, 'channel-mask=(int)7, not a bitmask'],
])('raw audio caps with %j: setMetadata refuses them, naming the field, as zerosrc does', async (fields, why) => {
  const caps = 'audio/x-raw,' + Object.entries({ ...STEREO, ...fields }).map(([k, v]) => `${k}=${v}`).join(',');
  const reader = await ZeroBufferReader.create({ name: ringName('wfield'), metadataSize: 4096, payloadSize: 1 << 16 });
  const writer = await ZeroBufferWriter.connect(reader.name);
  try {
    expect(() => writer.setMetadata({ caps })).toThrow(TypeError);
    expect(() => writer.setMetadata({ caps })).toThrow('metadata "caps" is the stream\'s caps (zerosrc and readers take ' +
      `it as the frames' format): the raw caps "${caps}" have ${why}`);
    expect(reader.metadata).toBeUndefined();
  } finally {
    await writer.close();
    await reader.close();
  }
  const gst = run('gst-launch-1.0', ['zerosrc', `buffer-name=${ringName('wfield-prop')}`, `caps=${caps}`, '!', 'fakesink'], gstEnv);
  expect(await gst.exit(20000)).toBe(255);
  expect(gst.stderr).toContain('The caps property of zerosrc cannot describe the frames');
}, 30000);

// Every sample format GStreamer's audio elements take (audioconvert's pad
// template) in either layout: setMetadata takes it, and zerosrc reads it.
test('raw audio caps of every format audioconvert takes, interleaved or not: setMetadata takes them, zerosrc too', async () => {
  const inspect = run('gst-inspect-1.0', ['audioconvert']);
  expect(await inspect.exit(20000)).toBe(0);
  const formats = [...inspect.stdout.join('').match(/format: \{([^}]*)\}/)![1]!.matchAll(/\(string\)(\w+)/g)].map((m) => m[1]!);
  expect(formats).toContain('F32LE');
  for (const format of formats) {
    for (const layout of ['interleaved', 'non-interleaved']) {
      const caps = `audio/x-raw,format=${format},rate=8000,channels=2,layout=${layout}`;
      const name = ringName('wformat');
      const gst = run('gst-launch-1.0', ['zerosrc', `buffer-name=${name}`, 'timeout=10000', '!', 'fakesink'], gstEnv);
      let writer: ZeroBufferWriter | undefined;
      try {
        writer = await ZeroBufferWriter.connect(name, { connectTimeoutMs: 10000 });
        writer.setMetadata({ caps });
        await writer.write(new Uint8Array(48 * 8)); // whole sample frames of any format: 2 channels of 1, 2, 3, 4 or 8 bytes
        await writer.close();
        expect([caps, await gst.exit(20000), gst.stderr]).toEqual([caps, 0, '']);
      } finally {
        killIfRunning(gst);
        await writer?.close();
      }
    }
  }
}, 120000);

// zerosrc refuses raw video whose frames can never fit its ring; frames that
// carry their own caps (the frame header) may be of other caps than the
// metadata's, even the first writer's: judged only once the writer left
// without a frame (it refused them, with a permanent EMSGSIZE, when its wait
// for the first frame looked after the metadata came and before a frame did).
test('zerosrc takes frames whose own caps fit although the metadata\'s caps would not, whenever they come; and fails with EMSGSIZE when the writer leaves without one', async () => {
  const big = 'video/x-raw,format=RGBA,width=1920,height=1080,framerate=30/1';
  const gray = 'video/x-raw,format=GRAY8,width=640,height=480,framerate=30/1';
  for (const frames of [3, 0]) {
    const name = ringName(`wfit-${frames}`);
    const gst = run('gst-launch-1.0', ['-v', 'zerosrc', `buffer-name=${name}`, 'payload-size=2000000', '!', 'fakesink', 'silent=false'], gstEnv);
    let writer: ZeroBufferWriter | undefined;
    try {
      writer = await ZeroBufferWriter.connect(name, { connectTimeoutMs: 10000, frameHeader: true });
      writer.setMetadata({ caps: big });
      await new Promise((resolve) => setTimeout(resolve, 400)); // past zerosrc's next look without a frame
      for (let i = 0; i < frames; i++) await writer.write(new Uint8Array(640 * 480).fill(i), { attributes: { caps: gray } });
      await writer.close();
      if (frames > 0) {
        expect([await gst.exit(20000), gst.stderr]).toEqual([0, '']);
        expect(gst.stdout.filter((l) => /chain[^(]*\(fakesink0:sink\) \(307200 bytes/.test(l))).toHaveLength(frames);
      } else {
        expect(await gst.exit(20000)).toBe(1);
        expect(gst.stderr).toContain(`Frames of 8294448 bytes can never fit ring ${name} (largest frame: 1999984 bytes)`);
      }
    } finally {
      killIfRunning(gst);
      await writer?.close();
    }
  }
}, 60000);

// Ring sizes from the caps a source ends with, in every form gst-launch
// takes them: the `type/subtype,...` shorthand, capsfilter's caps property
// (unquoted, or in double quotes with spaces) and caps with features. A 4K
// source written with capsfilter gets the same ring as in shorthand, so a
// real `zerobuffer run` of it carries its frames. A `!` inside a property's
// value is no link, as for gst-launch's own lexer, and the command line run
// prints gives a shell back the words gst-launch got.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStream } from '../../src/index.js';
import { capsFromSource, defaultSizes, duplexSizes } from '../../src/orchestrator/sizes.js';
import { sourceWords, splitPipeline } from '../../src/runner/pipeline-tokens.js';
import { gstLaunch, leftovers, repoRoot, ringName, run } from './helpers.js';

const bin = path.join(repoRoot, 'dist', 'cli', 'bin.js');
const gstEnv = { GST_PLUGIN_PATH: path.join(repoRoot, 'builddir', 'gst-plugin') };

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

const UHD_FRAME = 3840 * 2160 * 4;
/** Two 4K BGRx frames, each with its 64 bytes of room for the per-frame header. */
const UHD_RING = 2 * (UHD_FRAME + 64);
const SHORTHAND = 'videotestsrc ! video/x-raw,format=BGRx,width=3840,height=2160';
const FORMS = [
  'videotestsrc ! capsfilter caps=video/x-raw,format=BGRx,width=3840,height=2160',
  'videotestsrc ! capsfilter caps="video/x-raw, format=BGRx, width=3840, height=2160"',
  'videotestsrc ! capsfilter name=cf caps="video/x-raw,format=(string)BGRx,width=(int)3840,height=(int)2160" ! queue',
  'videotestsrc ! video/x-raw(memory:SystemMemory),format=BGRx,width=3840,height=2160',
  'videotestsrc ! capsfilter caps=video/x-raw(memory:SystemMemory),format=BGRx,width=3840,height=2160',
];

test('capsfilter caps=... (unquoted, double-quoted with spaces) and caps with features size the ring as the shorthand does', () => {
  expect(defaultSizes(splitPipeline(SHORTHAND))).toEqual({ metadataSize: 65536, payloadSize: UHD_RING, from: 'caps', frames: 2 });
  for (const form of FORMS) {
    expect([form, defaultSizes(splitPipeline(form))]).toEqual([form, defaultSizes(splitPipeline(SHORTHAND))]);
    expect([form, duplexSizes(splitPipeline(form), 2)]).toEqual([form, duplexSizes(splitPipeline(SHORTHAND), 2)]);
    expect(capsFromSource(splitPipeline(form))?.structures[0]?.fields['width']?.value).toBe(3840);
  }
  // The words as gst-launch gets them from a shell: the quotes kept in the word, its spaces not escaped
  expect(defaultSizes(['videotestsrc', '!', 'capsfilter', 'caps="video/x-raw, format=BGRx, width=3840, height=2160"']).payloadSize).toBe(UHD_RING);
  expect(defaultSizes(['videotestsrc', '!', 'capsfilter', 'caps=video/x-raw, format=BGRx, width=3840, height=2160']).payloadSize).toBe(UHD_RING);
});

test('a capsfilter that says nothing of the frame size, or is followed by a converter, leaves the fallback', () => {
  const fallback = defaultSizes(['v4l2src']);
  expect(fallback).toEqual({ metadataSize: 65536, payloadSize: 3 * (1920 * 1080 * 3 + 64), from: 'default' });
  for (const form of [
    'videotestsrc ! capsfilter', // caps ANY: it keeps its input's
    'videotestsrc ! capsfilter caps=video/x-raw,format=BGRx', // no width or height
    'videotestsrc ! capsfilter caps=video/x-raw(memory:DMABuf),format=BGRx,width=320,height=240', // not system memory
  ]) expect([form, defaultSizes(splitPipeline(form))]).toEqual([form, fallback]);
  // a converter after it: the larger of the fallback and the caps' frames, not 'caps'
  expect(defaultSizes(splitPipeline(`${FORMS[0]!} ! videoconvert`))).toEqual({ metadataSize: 65536, payloadSize: UHD_RING, from: 'default' });
  // a capsfilter without caps after the caps keeps them at the end
  expect(defaultSizes(splitPipeline(`${SHORTHAND} ! capsfilter ! queue`)).from).toBe('caps');
});

test('a caps filter that gives no frame size after one that does keeps its frames\' size (ANY, no width or height, features alone)', () => {
  const uhdRgb = 'videotestsrc ! video/x-raw,format=RGB,width=3840,height=2160';
  const sized = defaultSizes(uhdRgb);
  expect(sized.from).toBe('caps');
  for (const tail of ['capsfilter caps=video/x-raw', 'capsfilter caps=ANY', 'capsfilter caps="video/x-raw(memory:SystemMemory)"', 'video/x-raw ! queue'])
    expect([tail, defaultSizes(`${uhdRgb} ! ${tail}`)]).toEqual([tail, sized]);
  // a converter before the last filter: at least the earlier caps' frames (before 7d5a146's fix: the 1080p fallback, too small for 4K)
  expect(defaultSizes(`${uhdRgb} ! videoconvert ! capsfilter caps=video/x-raw,format=RGBA`)).toEqual({ ...sized, from: 'default', frames: undefined });
});

test('a pipeline description is sized as its words are; a bad source or depth is a TypeError naming it', () => {
  // (before: duplexSizes('videotestsrc ! ...') threw "words.join is not a function")
  expect(duplexSizes(FORMS[1]!)).toEqual(duplexSizes(splitPipeline(FORMS[1]!)));
  expect(defaultSizes(FORMS[1]!)).toEqual({ metadataSize: 65536, payloadSize: UHD_RING, from: 'caps', frames: 2 });
  for (const bad of [null, 42, [1, 2], { source: SHORTHAND }]) {
    for (const sizes of [duplexSizes, defaultSizes]) {
      expect(() => sizes(bad as unknown as string)).toThrow(TypeError);
      expect(() => sizes(bad as unknown as string)).toThrow('option "source" must be a pipeline description (string or string[])');
    }
  }
  for (const depth of [0, -1, 2.5, '4']) {
    expect(() => duplexSizes(SHORTHAND, depth as number)).toThrow(TypeError);
    expect(() => duplexSizes(SHORTHAND, depth as number)).toThrow(/option "depth" must be an integer >= 1/);
  }
});

test.each([
  ['unquoted', 'videotestsrc num-buffers=3 ! capsfilter caps=video/x-raw,format=BGRx,width=3840,height=2160'],
  ['quoted, with features', 'videotestsrc num-buffers=3 ! capsfilter caps="video/x-raw(memory:SystemMemory), format=BGRx, width=3840, height=2160"'],
])('zerobuffer run of a 4K capsfilter source (%s) gets the shorthand\'s ring and carries its frames', async (_form, pipeline) => {
  const name = ringName('size');
  const cli = run(process.execPath, [bin, 'run', pipeline, '--no-json', '--name', name], gstEnv);
  expect(await cli.exit(60000)).toBe(0);
  expect(cli.stderr).toContain(`ring ${name} (${UHD_RING} bytes)`);
  expect(cli.stdout.join('\n')).toMatch(/(?<![0-9])3 frames /);
}, 90000);

test('a `!` in a property\'s value (quoted, or in a word with no space) is no link: the caps filter before it still sizes the ring', () => {
  const qvga = 'videotestsrc ! video/x-raw,format=RGB,width=320,height=240';
  const sized = defaultSizes(qvga);
  expect(sized.from).toBe('caps');
  for (const tail of [
    'identity name="a ! b"', // one shell word for gst-launch: name=a\ !\ b
    'identity name=a!b',
    // names as gst-launch's lexer reads them (GST_DEBUG=GST_PIPELINE:5 shows ASSIGNMENT: ...=a!b): `::` of a
    // child proxy's property, `:`, and a first character that is `_` or a digit
    // (before: split at the `!`, "b" taken for an element that does not keep caps)
    'identity x::y=a!b',
    'identity x:y=a!b',
    'identity _x=a!b',
    'identity 9x%_-=a!b',
  ]) expect([tail, defaultSizes(`${qvga} ! ${tail}`)]).toEqual([tail, sized]);
  // the words as given, quotes kept: gst-launch reads the quoted value whole, spaces and all
  expect(defaultSizes([...splitPipeline(qvga), '!', 'identity', 'name="a ! b"'])).toEqual(sized);
  // (before: split at every `!`, "b" was an element that does not keep caps, and the 1080p fallback came)
  // in caps a field is no property: `format=RGB!identity` ends the caps there, as for gst-launch
  expect(defaultSizes(['videotestsrc', '!', 'video/x-raw,', 'width=320,height=240,format=RGB!identity'])).toEqual(sized);
  // the same split tells a pipeline that ends in zerosink (refused: run adds it) from a value that ends so (before: refused too)
  expect(sourceWords('source', 'videotestsrc ! textoverlay text="a ! zerosink"')).toHaveLength(4);
  expect(sourceWords('source', 'videotestsrc ! identity x::y=a!zerosink')).toHaveLength(4);
  expect(() => sourceWords('source', 'videotestsrc ! identity ! zerosink')).toThrow(/already ends in zerosink/);
});

test.each([
  // before: the 1080p fallback (18662592 bytes): "b" was taken for an element that does not keep caps
  ['a caps-keeping element with a `!` in its value', 'video/x-raw,format=RGB,width=64,height=48 ! identity name="a ! b"', 64 * (64 * 48 * 3 + 64), ''],
  // before: the text's caps taken for the last filter, a ring of 8x8 GRAY8 frames: EMSGSIZE, status 3
  // (textoverlay may change what the filter gave: the fallback, raised to the filter's frames, and the line says so)
  ['overlay text that reads as caps after its `!`', 'video/x-raw,format=BGRx,width=3840,height=2160 ! textoverlay text="a !video/x-raw,format=GRAY8,width=8,height=8"', UHD_RING,
    ', the default raised to the caps filter\'s frames: the caps at the source\'s end give no frame size; --payload-size N to change'],
])('zerobuffer run sizes the ring by the caps filter, not by a `!` in a property\'s value (%s), and carries the frames', async (_case, tail, bytes, note) => {
  const name = ringName('bang');
  const cli = run(process.execPath, [bin, 'run', `videotestsrc num-buffers=3 ! ${tail}`, '--no-json', '--name', name], gstEnv);
  expect(await cli.exit(60000)).toBe(0);
  expect(cli.stderr).toContain(`ring ${name} (${bytes} bytes${note})`);
  expect(cli.stdout.join('\n')).toMatch(/(?<![0-9])3 frames /);
  // the command line it prints gives a shell back the same words (it printed `name=a ! b` bare)
  const printed = / ← gst-launch-1\.0 (.*)$/m.exec(cli.stderr)![1]!;
  const words = execFileSync('sh', ['-c', `printf '%s\\0' ${printed}`], { encoding: 'utf8' }).split('\0').slice(0, -1);
  expect(words).toEqual(expect.arrayContaining(splitPipeline(tail).filter((w) => /^(name|text)=/.test(w))));
}, 90000);

const AUDIO_48K = 'audiotestsrc num-buffers=50 ! audio/x-raw,format=S16LE,rate=48000,channels=2';

test('raw audio caps size the ring by time: a buffer of 1 s, at least 64 KiB, the fallback when they do not say', () => {
  // before: 3 frames of 1080p RGB for any audio, 100 s of 48 kHz stereo S16
  const fallback = defaultSizes('audiotestsrc').payloadSize;
  const audio = (caps: string): number => defaultSizes(`audiotestsrc ! ${caps}`).payloadSize;
  expect(defaultSizes(AUDIO_48K)).toEqual({ metadataSize: 65536, payloadSize: 192064, from: 'caps' });
  expect(audio('audio/x-raw,format=S16LE,rate=44100,channels=2')).toBe(176512); // 176400 and its entry's 64 bytes, rounded up to 64
  expect(audio('audio/x-raw,format=F64LE,rate=192000,channels=8,layout=non-interleaved')).toBe(192000 * 8 * 8 + 64);
  expect(audio('capsfilter caps="audio/x-raw, format=(string)S24LE, rate=(int)96000, channels=(int)2"')).toBe(576064);
  expect(audio('audio/x-raw,format=S24_32LE,rate=96000,channels=2')).toBe(768064);
  expect(audio('audio/x-raw,format=U8,rate=8000,channels=1')).toBe(65536);
  for (const caps of ['audio/x-raw,format=S16LE,rate=[8000,48000],channels=2', 'audio/x-raw,format=S16LE,channels=2',
    'audio/x-raw,format=ENCODED,rate=48000,channels=2', 'audio/x-raw,format=S16LE,rate=48000,channels=2 ! audioconvert'])
    expect([caps, defaultSizes(`audiotestsrc ! ${caps}`)]).toEqual([caps, { metadataSize: 65536, payloadSize: fallback, from: 'default' }]);
});

test('a duplex channel of raw audio is sized by time as zerofilter sizes its response ring: depth + 3 buffers of up to 1 s', () => {
  // before: the readers' fallback, 3 frames of 1080p RGB (18662592 bytes) for any audio; then 1 s of it
  // whatever the depth (192064 bytes), which held depth + 3 buffers only of up to 1 / (depth + 3) s
  const fallback = duplexSizes('audiotestsrc').payloadSize;
  expect(duplexSizes(AUDIO_48K)).toEqual({ metadataSize: 65536, payloadSize: 5 * 192064, from: 'caps' });
  expect(duplexSizes(AUDIO_48K, 8).payloadSize).toBe(11 * 192064);
  expect(duplexSizes('audiotestsrc ! audio/x-raw,format=U8,rate=8000,channels=1').payloadSize).toBe(65536);
  expect(duplexSizes(`${AUDIO_48K} ! audioconvert`)).toEqual({ metadataSize: 65536, payloadSize: fallback, from: 'default' });
});

test('startStream of raw audio reads a 1 s ring and gets every buffer byte-exact', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-ring-sizes-'));
  let expected: Buffer;
  try {
    const file = path.join(dir, 'audio.raw');
    await gstLaunch(['-q', ...splitPipeline(`${AUDIO_48K} ! filesink location=${file}`)]);
    expected = fs.readFileSync(file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  expect(expected.length).toBe(50 * 1024 * 4);
  const stream = await startStream({ source: AUDIO_48K, name: ringName('audio'), sinkProperties: { sync: false } });
  const sizes: number[] = [];
  const chunks: Buffer[] = [];
  for await (const frame of stream.frames()) {
    sizes.push(frame.data.length);
    chunks.push(Buffer.from(frame.data));
  }
  const payloadSize = stream.reader.stats().payloadSize;
  await stream.close();
  expect(stream.error).toBeUndefined();
  expect(payloadSize).toBe(192064);
  expect(sizes).toEqual(new Array(50).fill(1024 * 4));
  expect(Buffer.concat(chunks).equals(expected)).toBe(true);
}, 60000);

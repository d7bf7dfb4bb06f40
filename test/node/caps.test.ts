// The caps parser on strings GStreamer 1.22 printed (gst-launch-1.0 -v and
// GST_DEBUG caps logs), the video layout against real buffer sizes, and
// metadata decoding.
import {
  CapsParseError, MetadataError, parseCaps, parseMetadata, planesFor, VideoInfoError, videoInfoFromCaps, ZeroBufferError,
  type RawFormat,
} from '../../src/index.js';

// gst-launch-1.0 -v videotestsrc num-buffers=1 ! video/x-raw,format=I420,width=321,height=241 ! fakesink
const I420 = 'video/x-raw, format=(string)I420, width=(int)321, height=(int)241, framerate=(fraction)30/1, ' +
  'multiview-mode=(string)mono, pixel-aspect-ratio=(fraction)1/1, interlace-mode=(string)progressive';
// ... videotestsrc ! jpegenc ! fakesink
const JPEG = 'image/jpeg, sof-marker=(int)0, width=(int)320, height=(int)240, pixel-aspect-ratio=(fraction)1/1, ' +
  'framerate=(fraction)30/1, interlace-mode=(string)progressive, colorimetry=(string)bt601, chroma-site=(string)jpeg, ' +
  'multiview-mode=(string)mono, multiview-flags=(GstVideoMultiviewFlagsSet)0:ffffffff:/right-view-first/left-flipped/' +
  'left-flopped/right-flipped/right-flopped/half-aspect/mixed-mono';
// ... audiotestsrc ! fakesink
const AUDIO = 'audio/x-raw, format=(string)S16LE, layout=(string)interleaved, rate=(int)44100, channels=(int)1';
// ... 'video/x-raw(memory:SystemMemory),format=RGBA,...,big=(guint64)18446744073709551615,arr=(int)<1,2,3>' ! fakesink
const ODD = 'video/x-raw, format=(string)RGBA, width=(int)8, height=(int)2, framerate=(fraction)30/1, ' +
  'multiview-mode=(string)mono, flag=(boolean)true, ratio=(double)1.5, big=(guint64)18446744073709551615, neg=(int)-3, ' +
  'arr=(int)< 1, 2, 3 >, pixel-aspect-ratio=(fraction)1/1, interlace-mode=(string)progressive';
// GST_DEBUG=GST_CAPS:6: a template (lists, ranges, fraction ranges, two structures)
const TEMPLATE = 'video/x-raw, format=(string){ RGBx, BGRx, GRAY16_LE, GRAY16_BE, GRAY8 }, width=(int)[ 1, 2147483647 ], ' +
  'height=(int)[ 1, 2147483647 ], framerate=(fraction)[ 0/1, 2147483647/1 ], multiview-mode=(string){ mono, left, right }; ' +
  'video/x-bayer, format=(string){ bggr, rggb, grbg, gbrg }, width=(int)[ 1, 2147483647 ], height=(int)[ 1, 2147483647 ], ' +
  'framerate=(fraction)[ 0/1, 2147483647/1 ], multiview-mode=(string){ mono, left, right }';
// Caps features, an escaped string (gst_value_serialize quoting: \" \\ and octal bytes), a step range.
const FEATURES = 'video/x-raw(memory:DMABuf, meta:GstVideoOverlayComposition), format=(string)NV12, width=(int)64, ' +
  'height=(int)64, note=(string)"a b\\"c\\\\d;e,\\303\\251", step=(int)[ 2, 100, 2 ], v=(float)0.25, bm=(bitmask)0x0000000000000003';

test.each([
  ['I420', I420, 'video/x-raw', { format: 'I420', width: 321, height: 241, framerate: { numerator: 30, denominator: 1 } }],
  ['JPEG', JPEG, 'image/jpeg', { 'sof-marker': 0, width: 320, colorimetry: 'bt601',
    'multiview-flags': '0:ffffffff:/right-view-first/left-flipped/left-flopped/right-flipped/right-flopped/half-aspect/mixed-mono' }],
  ['audio', AUDIO, 'audio/x-raw', { format: 'S16LE', rate: 44100, channels: 1 }],
  ['odd', ODD, 'video/x-raw', { flag: true, ratio: 1.5, big: 18446744073709551615n, neg: -3, arr: { array: [1, 2, 3] } }],
  ['template', TEMPLATE, 'video/x-raw', {
    format: { list: ['RGBx', 'BGRx', 'GRAY16_LE', 'GRAY16_BE', 'GRAY8'] },
    width: { min: 1, max: 2147483647 },
    framerate: { min: { numerator: 0, denominator: 1 }, max: { numerator: 2147483647, denominator: 1 } },
  }],
  ['features + escapes', FEATURES, 'video/x-raw', { note: 'a b"c\\d;e,é', step: { min: 2, max: 100, step: 2 }, v: 0.25,
    bm: '0x0000000000000003' }],
])('parses %s caps', (_, text, mediaType, values) => {
  const caps = parseCaps(text);
  const s = caps.structures[0]!;
  expect(s.mediaType).toBe(mediaType);
  for (const [k, v] of Object.entries(values)) expect(s.fields[k]?.value).toEqual(v);
});

test('types, features and several structures are kept', () => {
  const t = parseCaps(TEMPLATE);
  expect(t.structures.map((s) => s.mediaType)).toEqual(['video/x-raw', 'video/x-bayer']);
  expect(t.structures[0]!.fields['framerate']!.type).toBe('fraction');
  expect(t.structures[1]!.fields['format']!.value).toEqual({ list: ['bggr', 'rggb', 'grbg', 'gbrg'] });
  const f = parseCaps(FEATURES).structures[0]!;
  expect(f.features).toEqual(['memory:DMABuf', 'meta:GstVideoOverlayComposition']);
  expect(f.fields['bm']!.type).toBe('bitmask');
  expect(parseCaps('ANY')).toEqual({ any: true, structures: [] });
  expect(parseCaps('EMPTY').structures).toEqual([]);
  // untyped values are inferred like gst_value_deserialize does
  expect(parseCaps('video/x-raw, width=320, framerate=25/1, name=cam, x=0.5').structures[0]!.fields).toEqual({
    width: { type: 'int', value: 320 },
    framerate: { type: 'fraction', value: { numerator: 25, denominator: 1 } },
    name: { type: 'string', value: 'cam' },
    x: { type: 'double', value: 0.5 },
  });
});

test('integers are read as GStreamer reads them (strtoll, base 0): a leading 0 is octal, 0x hex; width=010 is 8', () => {
  // gst-launch-1.0 -v videotestsrc ! video/x-raw,format=GRAY8,width=010,height=0x10 ! fakesink: width=(int)8, height=(int)16
  expect(parseCaps('video/x-raw, width=010, height=0x10, a=(int)-0x10, b=(int)-010, c=08, d=0, e=(int)0').structures[0]!.fields).toEqual({
    width: { type: 'int', value: 8 },
    height: { type: 'int', value: 16 },
    a: { type: 'int', value: -16 },
    b: { type: 'int', value: -8 },
    c: { type: 'double', value: 8 }, // no octal integer: gst_value_deserialize goes on to double
    d: { type: 'int', value: 0 },
    e: { type: 'int', value: 0 },
  });
});

test.each([
  ['video/x-raw, width=(int)abc', /"abc" is not an integer at position 27/],
  ['video/x-raw, width=(int)08', /"08" is not an integer/], // gst-launch: could not parse caps
  ['video/x-raw, format=(string)"open', /unterminated string/],
  ['video/x-raw, format={ RGB, BGR', /expected '}'/],
  ['video/x-raw, =1', /expected a field name/],
])('rejects %s', (text, message) => {
  expect(() => parseCaps(text)).toThrow(CapsParseError);
  expect(() => parseCaps(text)).toThrow(message);
});

// Both extended Error, although ZeroBufferError is the base of every error
// the package throws: instanceof ZeroBufferError was false for them.
test('CapsParseError and VideoInfoError are ZeroBufferErrors with code ECAPS, as is the cause of a metadata problem', () => {
  const thrown = (f: () => unknown): unknown => {
    try {
      f();
    } catch (e) {
      return e;
    }
    return undefined;
  };
  const parse = thrown(() => parseCaps('video/x-raw, width=(int)abc'));
  expect(parse).toBeInstanceOf(CapsParseError);
  expect(parse).toBeInstanceOf(ZeroBufferError);
  expect(parse).toMatchObject({ name: 'CapsParseError', code: 'ECAPS', position: 27, timedOut: false, isCanceled: false });
  const layout = thrown(() => videoInfoFromCaps(parseCaps('audio/x-raw, rate=(int)8000')));
  expect(layout).toBeInstanceOf(VideoInfoError);
  expect(layout).toBeInstanceOf(ZeroBufferError);
  expect(layout).toMatchObject({ name: 'VideoInfoError', code: 'ECAPS', message: expect.stringContaining('audio/x-raw') });
  const problem = parseMetadata(new TextEncoder().encode('{"caps":"audio/x-raw, rate=(int)8000"}')).problem;
  expect(problem).toBeInstanceOf(MetadataError);
  expect(problem?.cause).toBeInstanceOf(ZeroBufferError);
});

// Buffer sizes printed by fakesink for videotestsrc at 321x241 (GStreamer 1.22).
test.each<[RawFormat, number]>([
  ['RGB', 232324], ['BGR', 232324], ['RGBA', 309444], ['BGRx', 309444], ['GRAY8', 78084], ['GRAY16_LE', 155204],
  ['I420', 118096], ['NV12', 117612], ['YUY2', 155204], ['xRGB', 309444], ['ABGR', 309444], ['YV12', 118096],
  ['NV21', 117612], ['UYVY', 155204],
])('%s 321x241 frames have GStreamer\'s size', (format, size) => {
  expect(planesFor(format, 321, 241).size).toBe(size);
});

// The same, interlace-mode=interleaved: both fields get as many chroma rows
// (GStreamer 1.22's sizes; 34 rows were taken for 17 chroma rows, not 18).
test.each<[RawFormat, number, number]>([
  ['I420', 33, 16920], ['I420', 34, 16920], ['I420', 241, 118424], ['YV12', 34, 16920],
  ['NV12', 33, 16848], ['NV12', 34, 16848], ['NV21', 241, 117936], ['YUY2', 34, 21896],
])('%s 321x%d interlaced frames have GStreamer\'s size', (format, height, size) => {
  expect(planesFor(format, 321, height, true).size).toBe(size);
  const caps = parseCaps(`video/x-raw, format=(string)${format}, width=(int)321, height=(int)${height}, interlace-mode=(string)interleaved`);
  expect(videoInfoFromCaps(caps).size).toBe(size);
});

test('interlace-mode=alternate (a field a buffer) is not described, and says why', () => {
  const caps = parseCaps('video/x-raw, format=(string)I420, width=(int)64, height=(int)48, interlace-mode=(string)alternate');
  expect(() => videoInfoFromCaps(caps)).toThrow(/interlace-mode=alternate/);
});

test('video info of fixed caps', () => {
  const i420 = videoInfoFromCaps(parseCaps(I420));
  expect(i420).toMatchObject({ format: 'I420', width: 321, height: 241, strides: [324, 164, 164], offsets: [0, 78408, 98252],
    size: 118096, encoded: false, pixelAspectRatio: { numerator: 1, denominator: 1 } });
  const nv12 = videoInfoFromCaps(parseCaps('video/x-raw, format=(string)NV12, width=(int)33, height=(int)17'));
  expect(nv12.planes).toEqual([{ offset: 0, stride: 36, height: 17 }, { offset: 648, stride: 36, height: 9 }]);
  expect(videoInfoFromCaps(parseCaps(JPEG))).toMatchObject({ mediaType: 'image/jpeg', width: 320, height: 240, encoded: true });
  expect(() => videoInfoFromCaps(parseCaps(TEMPLATE))).toThrow(/"format" must be a fixed string/);
  expect(() => videoInfoFromCaps(parseCaps(AUDIO))).toThrow(/audio\/x-raw" is not supported/);
  expect(() => videoInfoFromCaps(parseCaps('video/x-raw, format=(string)P010_10LE, width=(int)2, height=(int)2'))).toThrow(
    /"P010_10LE" is not supported/);
  expect(() => videoInfoFromCaps(parseCaps('video/x-raw(memory:DMABuf), format=(string)NV12, width=(int)2, height=(int)2')))
    .toThrow(/not system memory/);
});

test('metadata: the convention of GStreamer integrations, and what is wrong with bad metadata', () => {
  const text = `{"type":"gstreamer-sink","version":"GStreamer 1.22.0","caps":${JSON.stringify(I420)},"element_name":"zerosink0"}`;
  const m = parseMetadata(new TextEncoder().encode(`junk${text}\0\0`));
  expect(m.capsString).toBe(I420);
  expect(m.videoInfo?.size).toBe(118096);
  expect(m.frameHeader).toBe(false);
  expect(m.problem).toBeUndefined();
  expect(parseMetadata(new TextEncoder().encode('{"caps":"video/x-raw","zerobuffer":{"frame_header":1}}')).frameHeader).toBe(true);
  expect(parseMetadata(new TextEncoder().encode('{"type":"x"}')).problem?.message).toMatch(/no "caps" string/);
  expect(parseMetadata(new TextEncoder().encode('{nope}')).problem?.message).toMatch(/not a JSON object/);
  expect(parseMetadata(new TextEncoder().encode('{"caps":"video/x-raw, width=(int)[ 1, 2 ]"}')).problem?.code).toBe('ENOCAPS');
});

test('metadata: caps the API does not describe give a videoInfo that says "<FORMAT> not described"', () => {
  const meta = (caps: string) => parseMetadata(new TextEncoder().encode(JSON.stringify({ caps })));
  const abgr = meta('video/x-raw, format=(string)ABGR64_LE, width=(int)320, height=(int)240, framerate=(fraction)30/1');
  expect(abgr.videoInfo).toMatchObject({ mediaType: 'video/x-raw', format: 'ABGR64_LE', width: 320, height: 240,
    framerate: { numerator: 30, denominator: 1 }, described: false, planes: [] });
  expect(abgr.videoInfo?.size).toBeUndefined();
  expect(abgr.videoInfo?.reason).toMatch(/^ABGR64_LE not described \(described: video\/x-raw in RGB, BGR, .*, image\/jpeg and image\/png; convert with ! videoconvert ! video\/x-raw,format=RGB\)$/);
  expect(abgr.problem?.message).toMatch(/ABGR64_LE not described/);
  // another media type's format is named with its type, and the conversion is one that takes it: bayer2rgb for
  // Bayer (videoconvert cannot link to it, decodebin has no decoder for it), a decoder for encoded video, none for audio
  const audio = meta(AUDIO).videoInfo;
  expect(audio).toMatchObject({ mediaType: 'audio/x-raw', described: false, reason: expect.stringMatching(/^S16LE \(audio\/x-raw\) not described/) });
  expect(audio?.reason).not.toMatch(/convert with/);
  expect(meta('video/x-bayer, format=(string)rggb, width=(int)64, height=(int)48').videoInfo?.reason)
    .toMatch(/^rggb \(video\/x-bayer\) not described \(.*; convert with ! bayer2rgb ! videoconvert ! video\/x-raw,format=RGB\)$/);
  expect(meta('video/x-h264, width=(int)8').videoInfo?.reason)
    .toMatch(/^video\/x-h264 not described \(.*; convert with ! decodebin ! videoconvert ! video\/x-raw,format=RGB\)$/);
  expect(meta('video/x-raw, format=(string)RGB, width=(int)[ 1, 2 ], height=(int)2').videoInfo?.reason)
    .toMatch(/^RGB not described: caps field "width" must be a fixed positive integer/);
  expect(meta(I420).videoInfo).toMatchObject({ format: 'I420', described: true });
  expect(meta(I420).videoInfo?.reason).toBeUndefined();
});

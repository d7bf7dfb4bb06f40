// What another process writes into a ring's metadata reaches the TS parsers
// only within bounds: the caps string (length, nesting), the metadata JSON
// (length, nesting) and the video layout of its caps (absurd sizes). Each
// violation is the parser's own typed error with a short message, never a
// RangeError from a blown stack or a negative byte count.
import {
  CapsParseError, Frame, MetadataError, VideoInfoError, parseCaps, parseMetadata, videoInfoFromCaps,
} from '../../src/index.js';
import { CAPS_MAX_DEPTH, CAPS_MAX_LENGTH } from '../../src/caps.js';
import { METADATA_JSON_MAX_DEPTH } from '../../src/metadata.js';

const nested = (levels: number): string => `video/x-raw, a=(int)${'{'.repeat(levels)}1${'}'.repeat(levels)}`;
const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

test('caps nested deeper than the limit are a CapsParseError with a short message; at the limit they parse', () => {
  expect(parseCaps(nested(CAPS_MAX_DEPTH)).structures).toHaveLength(1);
  for (const levels of [CAPS_MAX_DEPTH + 1, 32000]) {
    let err: unknown;
    try {
      parseCaps(nested(levels));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CapsParseError);
    expect((err as Error).message).toMatch(/^values nest more than 32 levels deep at position \d+ of caps "video\/x-raw, a=\(int\)\{+/);
    if (levels > 1000) expect((err as Error).message).toMatch(/\.\.\." \(\d+ characters\)$/);
    expect((err as Error).message.length).toBeLessThan(400);
  }
  // ranges and arrays count too
  expect(() => parseCaps(`video/x-raw, a=(int)${'<'.repeat(40)}1${'>'.repeat(40)}`)).toThrow(/nest more than 32/);
  expect(() => parseCaps(`video/x-raw, a=(int)${'[ '.repeat(40)}`)).toThrow(/nest more than 32/);
});

test('caps longer than the limit are refused before parsing; control characters are escaped in messages', () => {
  const long = `video/x-raw, note=(string)"${'x'.repeat(CAPS_MAX_LENGTH)}"`;
  expect(() => parseCaps(long)).toThrow(CapsParseError);
  expect(() => parseCaps(long)).toThrow(/caps of 65564 characters are over the 65536 parsed/);
  let message = '';
  try {
    parseCaps('video/x-raw, a=\u0001\u001b[31m(');
  } catch (e) {
    message = (e as Error).message;
  }
  expect(message).toContain('\\x01\\x1b[31m');
  expect(message).not.toMatch(/[\x00-\x1f]/);
});

test("the issue's metadata (32,000 nested '{' in 64 KiB) and JSON nested 300,000 deep are MetadataErrors saying why", () => {
  const caps = parseMetadata(encode(JSON.stringify({ caps: nested(32000) })));
  expect(caps.problem).toBeInstanceOf(MetadataError);
  expect(caps.problem?.code).toBe('ENOCAPS');
  expect(caps.problem?.message).toMatch(/^metadata caps are not usable: values nest more than 32 levels deep/);
  expect(caps.problem?.cause).toBeInstanceOf(CapsParseError);
  expect(caps.problem!.message.length).toBeLessThan(500);

  const deep = parseMetadata(encode(`{"caps":"video/x-raw","x":${'['.repeat(300000)}${']'.repeat(300000)}}`));
  expect(deep.json).toBeUndefined();
  expect(deep.problem?.message).toBe(`metadata JSON nests 300001 levels deep, over the ${METADATA_JSON_MAX_DEPTH} parsed; no caps`);
  // brackets inside strings do not count
  const quoted = parseMetadata(encode(JSON.stringify({ caps: 'video/x-raw, format=(string)GRAY8, width=(int)2, height=(int)2', s: '['.repeat(1000) })));
  expect(quoted.problem).toBeUndefined();

  const big = parseMetadata(encode(`{"caps":"video/x-raw","pad":"${'x'.repeat(1 << 20)}"}`));
  expect(big.problem?.message).toMatch(/^metadata JSON of 10486\d\d characters is over the 1048576 parsed/);
});

test('absurd video sizes are VideoInfoErrors, not overflowed byte counts', () => {
  const raw = (format: string, w: number | string, h: number | string): string =>
    `video/x-raw, format=(string)${format}, width=(int)${w}, height=(int)${h}`;
  expect(() => videoInfoFromCaps(parseCaps(raw('RGB', 700000000, 2147483647)))).toThrow(
    /^RGB 700000000x2147483647: frames of 4199999998\.0 GiB are over the 16 GiB a ring can hold$/);
  expect(() => videoInfoFromCaps(parseCaps(raw('RGB', 2147483647, 2147483647)))).toThrow(
    /^RGB 2147483647x2147483647: rows of 6442450944 bytes are over GStreamer's 2147483647$/);
  expect(() => videoInfoFromCaps(parseCaps(raw('BGRx', 1000000000, 1)))).toThrow(
    /^BGRx 1000000000x1: rows of 4000000000 bytes are over GStreamer's 2147483647$/);
  expect(() => videoInfoFromCaps(parseCaps(raw('I420', 4294967296, 2)))).toThrow(VideoInfoError);
  expect(() => videoInfoFromCaps(parseCaps(raw('I420', 4294967296, 2)))).toThrow(
    /width" must be a fixed positive integer \(at most 2147483647\), found "4294967296"/);
  // the largest frames that fit still get exact layouts
  const info = videoInfoFromCaps(parseCaps(raw('I420', 65535, 65535)));
  expect(info.size).toBe(65536 * 65536 + 2 * 32768 * 32768);
  expect(info.strides).toEqual([65536, 32768, 32768]);

  // what frame.image() said before: "frames have -4611686016279904000 bytes"
  const frame = new Frame({ releaseFrame: () => undefined }, {
    ticket: 1, sequence: 1, data: new Uint8Array(16), copied: true, arrivalNs: 0,
    metadata: parseMetadata(encode(JSON.stringify({ caps: raw('RGBx', 536870911, 2147483647) }))),
  });
  let err: unknown;
  try {
    frame.image();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(MetadataError);
  expect((err as Error).message).toMatch(/GiB are over the 16 GiB a ring can hold/);
  expect((err as Error).message).not.toMatch(/-\d/);
});

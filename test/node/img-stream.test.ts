// The `img=` wire format: what formatImgMessage writes parses back to the
// same pictures and attributes however the bytes are cut into chunks; bad
// shapes, short reads and a missing ETX are ImgStreamErrors with the byte
// offset; any bytes at all give messages or that error, never a crash.
import fc from 'fast-check';
import { Readable } from 'node:stream';
import {
  formatImgMessage, formatImgParts, Frame, ImgParser, ImgStreamError, parseImgMessages, parseMetadata, type ImgMessage,
} from '../../src/index.js';

const RUNS = { numRuns: 300 };

const attributes = fc.dictionary(
  fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,12}$/),
  fc.oneof(fc.stringMatching(/^[^\s{}\x00-\x1f]{1,16}$/), fc.stringMatching(/^\{[^{}\x00-\x1f]{0,20}\}$/)),
  { maxKeys: 4 },
);
const picture = fc.record({ height: fc.integer({ min: 1, max: 6 }), width: fc.integer({ min: 1, max: 6 }), attributes })
  .chain((p) => fc.uint8Array({ minLength: p.height * p.width * 2, maxLength: p.height * p.width * 2 }).map((data) => ({ ...p, data })));

/** Cuts bytes at the given fractions into chunks. */
function cut(bytes: Uint8Array, points: number[]): Uint8Array[] {
  const at = [...new Set(points.map((p) => Math.floor(p * bytes.length)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...at, bytes.length]) {
    if (p > prev) chunks.push(bytes.slice(prev, p));
    prev = Math.max(prev, p);
  }
  return chunks;
}

async function parseAll(chunks: Uint8Array[]): Promise<ImgMessage[]> {
  const out: ImgMessage[] = [];
  for await (const m of parseImgMessages(Readable.from(chunks))) out.push(m);
  return out;
}

test('round trip: formatted messages parse back, however the stream is chunked', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(picture, { minLength: 1, maxLength: 4 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
      async (pictures, points) => {
        const messages = pictures.map((p) => formatImgMessage({ width: p.width, height: p.height, data: p.data }, p.attributes));
        const starts = messages.map((_, i) => messages.slice(0, i).reduce((sum, m) => sum + m.length, 0));
        const got = await parseAll(cut(Buffer.concat(messages), points));
        expect(got.map((m) => ({ height: m.height, width: m.width, attributes: m.attributes, data: Array.from(m.pixels), offset: m.offset })))
          .toEqual(pictures.map((p, i) => ({ height: p.height, width: p.width, attributes: p.attributes, data: Array.from(p.data), offset: starts[i] })));
      }),
    RUNS,
  );
});

test('a stream cut anywhere inside a message is a short read naming the offset', async () => {
  await fc.assert(
    fc.asyncProperty(picture, fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), async (p, f) => {
      const whole = formatImgMessage({ width: p.width, height: p.height, data: p.data }, p.attributes);
      // keep at least one byte, lose at least the ETX (a missing final LF is fine)
      const cutAt = Math.min(1 + Math.floor(f * (whole.length - 2)), whole.length - 2);
      const err = await parseAll([whole.slice(0, cutAt)]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ImgStreamError);
      expect(err).toMatchObject({ problem: 'short-read', offset: cutAt, code: 'EIMGSTREAM' });
    }),
    RUNS,
  );
});

test('any bytes give messages or an ImgStreamError, never another exception', async () => {
  const img = (s: string) => fc.constant(Buffer.from(s, 'latin1'));
  const piece = fc.oneof(fc.uint8Array({ maxLength: 20 }), img('img=\x01'), img('u16[1,2]'), img(' a=b'), img('\x02'), img('\x03\n'));
  await fc.assert(
    fc.asyncProperty(fc.array(piece, { maxLength: 12 }), async (pieces) => {
      const err = await parseAll(pieces.map((p) => Uint8Array.from(p))).then(() => undefined, (e: unknown) => e);
      if (err !== undefined) expect(err).toBeInstanceOf(ImgStreamError);
    }),
    { numRuns: 2000 },
  );
});

test.each([
  ['img=\x01u8[2,2]\x02', 'shape', /bad shape "u8\[2,2\]": expected u16\[HEIGHT,WIDTH\]/],
  ['img=\x01u16[0,4]\x02', 'shape', /bad shape u16\[0,4\]: empty picture/],
  ['img=\x01u16[2,x]\x02', 'shape', /bad shape/],
  ['img=\x01u16[1,1] a=b c\x02', 'header', /bad attributes " c"/],
  ['IMG=\x01', 'header', /expected "img=" and SOH, found byte 0x49 \(img= stream, byte 0\)/],
  ['img=\x01u16[1,1]\x02\x00\x01\x00\x03\n', 'etx', /missing ETX after 1x1 pixels \(found 0x00\).*byte 16\)$/],
  ['img=\x01u16[100000,100000]\x02', 'size', /larger than/],
])('%j is a %s error', async (text, problem, message) => {
  const err = await parseAll([Buffer.from(text, 'latin1')]).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ImgStreamError);
  expect(err).toMatchObject({ problem });
  expect((err as Error).message).toMatch(message);
});

test('a name sent twice keeps its last value and is named in repeated; a header without one has no repeated', async () => {
  const enc = (t: string) => Buffer.from(t, 'latin1');
  const [twice, once] = await parseAll([enc('img=\x01u16[1,1] k=v n=1 k={w x}\x02ab\x03\nimg=\x01u16[1,1] k=v\x02ab\x03\n')]);
  expect(twice).toMatchObject({ attributes: { k: '{w x}', n: '1' }, repeated: ['k'] });
  expect(once!.attributes).toEqual({ k: 'v' });
  expect(once).not.toHaveProperty('repeated');
});

test('the wire bytes of one message, as documented', () => {
  const bytes = formatImgMessage({ width: 2, height: 1, data: Uint8Array.of(0x12, 0x34, 0xab, 0xcd) },
    { imageId: 1, timestamp: '{2024-04-25T12:34:56.789}' });
  expect(Buffer.from(bytes).toString('latin1')).toBe(
    'img=\x01u16[1,2] imageId=1 timestamp={2024-04-25T12:34:56.789}\x02\x12\x34\xab\xcd\x03\n');
  expect(() => formatImgMessage({ width: 1, height: 1, data: new Uint8Array(2) }, { 'bad key': 1 })).toThrow(TypeError);
  expect(() => formatImgMessage({ width: 1, height: 1, data: new Uint8Array(2) }, { k: 'two words' })).toThrow(/token without spaces/);
  expect(() => formatImgMessage({ width: 2, height: 2, data: new Uint8Array(6) })).toThrow(/need 8 bytes/);
});

test('GRAY16_BE frames go out as they are (no copy); GRAY16_LE frames are swapped; other formats are refused', () => {
  const frame = (format: string, data: number[], w: number) => new Frame({ releaseFrame: () => {} }, {
    ticket: 1, sequence: 1, data: Uint8Array.from(data), copied: true, arrivalNs: 0,
    metadata: parseMetadata(new TextEncoder().encode(JSON.stringify({ caps: `video/x-raw, format=(string)${format}, width=(int)${w}, height=(int)1` }))),
  });
  const be = frame('GRAY16_BE', [1, 2, 3, 4], 2);
  expect(formatImgParts(be)[1].buffer).toBe(be.data.buffer);
  const le = formatImgParts(frame('GRAY16_LE', [2, 1, 4, 3], 2))[1];
  expect(Array.from(le)).toEqual([1, 2, 3, 4]);
  // width 1: rows padded to 4 bytes, the padding is not sent
  expect(Array.from(formatImgParts(frame('GRAY16_BE', [1, 2, 0, 0], 1))[1])).toEqual([1, 2]);
  expect(() => formatImgParts(frame('GRAY8', [1, 2, 3, 4], 4))).toThrow(/carry GRAY16 pictures; this one is GRAY8/);
  // an Image whose stride is no row length is refused (NaN sent zeros, a short one overlapping rows)
  const img = be.image();
  for (const stride of [NaN, 2, -4, 4.5])
    expect(() => formatImgParts({ ...img, stride })).toThrow(`2x1 16-bit pixels need rows of at least 4 bytes, received a stride of ${stride}`);
  expect(() => formatImgParts({ ...img, height: 4097, stride: 2 ** 52 })).toThrow(/need 16388 bytes, received 4/);
});

test('a fault after whole messages in the same chunk: those messages come first, the fault at the next call', async () => {
  const good = formatImgMessage({ width: 2, height: 1, data: new Uint8Array(4).fill(7) });
  const bytes = Buffer.concat([good, Buffer.from('junk')]);
  const parser = new ImgParser();
  expect(parser.push(bytes).map((m) => m.width)).toEqual([2]);
  expect(() => parser.end()).toThrow(`expected "img=" and SOH, found byte 0x6a (img= stream, byte ${good.length})`);
  expect(() => parser.push(new Uint8Array(0))).toThrow(/found byte 0x6a/);
  // through the stream reader too: the image, then the error
  const got: number[] = [];
  await expect((async () => { for await (const m of parseImgMessages(Readable.from([bytes]))) got.push(m.width); })()).rejects.toThrow(/found byte 0x6a/);
  expect(got).toEqual([2]);
});

test('pixels that arrive in one chunk are a view of it', () => {
  const bytes = formatImgMessage({ width: 2, height: 2, data: new Uint8Array(8).fill(7) });
  const [m] = new ImgParser().push(bytes);
  expect(m!.pixels.buffer).toBe(bytes.buffer);
});

test('a header that is not UTF-8 is read as Latin-1, one character per byte, and formats back to the same bytes', async () => {
  // a camera's Latin-1 µ (0xB5) and no-break space (0xA0, part of a token: spaces are ASCII's);
  // read as UTF-8 they became U+FFFD, and ingest → serve was no longer byte-exact
  const latin1 = Buffer.from('img=\x01u16[1,1] unit=\xb5s n=1\xa0000 t={a b}\x02\x12\x34\x03\n', 'latin1');
  const [m] = await parseAll([latin1]);
  expect(m).toMatchObject({ encoding: 'latin1', attributes: { unit: 'µs', n: '1\u00a0000', t: '{a b}' } });
  expect(Buffer.from(formatImgMessage({ width: 1, height: 1, data: m!.pixels }, m!.attributes, { encoding: 'latin1' })).equals(latin1)).toBe(true);
  // valid UTF-8 is read as UTF-8 (the same µ, two bytes) and written back so by default
  const utf8 = Buffer.from('img=\x01u16[1,1] unit=µs\x02\x12\x34\x03\n', 'utf8');
  const [u] = await parseAll([utf8]);
  expect(u).toMatchObject({ encoding: 'utf-8', attributes: { unit: 'µs' } });
  expect(Buffer.from(formatImgMessage({ width: 1, height: 1, data: u!.pixels }, u!.attributes)).equals(utf8)).toBe(true);
  expect(() => formatImgMessage({ width: 1, height: 1, data: u!.pixels }, { unit: '€' }, { encoding: 'latin1' }))
    .toThrow(/img= attribute unit: value "€" has characters beyond Latin-1 \(U\+00FF\): it cannot be written as latin1/);
});

// Per-frame attributes in the frame header: written with write({ attributes }),
// read back as frame.attributes (also copied out of the ring), the picture
// after them byte-exact and 8-byte aligned; refused without a frame header
// or past the header's size.
import { jest } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ZeroBufferReader, ZeroBufferWriter } from '../../src/index.js';
import { leftovers, repoRoot, ringName } from './helpers.js';

jest.setTimeout(30000);

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

const CAPS = 'video/x-raw, format=(string)GRAY16_BE, width=(int)2, height=(int)2, framerate=(fraction)0/1';

test('attributes travel with their frame; frames without them have none', async () => {
  await using reader = await ZeroBufferReader.create({ name: ringName('attrs'), metadataSize: 1024, payloadSize: 8192 });
  await using writer = await ZeroBufferWriter.connect(reader.name, { frameHeader: true });
  writer.setMetadata({ caps: CAPS });
  const pixels = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
  await writer.write(pixels, { pts: 5, attributes: { imageId: '1', timestamp: '{2024-04-25T12:34:56.789}', exposure: 0.5 } });
  await writer.write(pixels, { pts: 6 });
  const a = (await reader.next({ timeoutMs: 1000 }))!;
  expect(a.attributes).toEqual({ imageId: '1', timestamp: '{2024-04-25T12:34:56.789}', exposure: 0.5 });
  expect(Array.from(a.data)).toEqual(Array.from(pixels));
  expect(a.data.byteOffset % 8).toBe(0);
  expect(a.pts).toBe(5);
  a.release();
  const b = (await reader.next({ timeoutMs: 1000 }))!;
  expect(b.attributes).toBeUndefined();
  expect(Array.from(b.data)).toEqual(Array.from(pixels));
  b.release();
});

test('a writer connected with frameHeader: true refuses metadata text or bytes that do not declare the header; JSON that does is taken', async () => {
  await using reader = await ZeroBufferReader.create({ name: ringName('attrs-text'), metadataSize: 1024, payloadSize: 8192 });
  await using writer = await ZeroBufferWriter.connect(reader.name, { frameHeader: true });
  // before any metadata: the attributes' message names what is missing, not the connect option it has
  await expect(writer.write(new Uint8Array(8), { attributes: { a: '1' } }))
    .rejects.toMatchObject({ code: 'ESTATE', message: expect.stringMatching(/call setMetadata\(\{ caps \}\), which declares the header, before writing/) });
  for (const metadata of [CAPS, new TextEncoder().encode(CAPS), JSON.stringify({ caps: CAPS })]) {
    let refused: unknown;
    try {
      writer.setMetadata(metadata);
    } catch (e) {
      refused = e;
    }
    expect({ metadata, refused }).toEqual({ metadata, refused: expect.objectContaining({
      code: 'EINVAL',
      message: expect.stringMatching(/connected with frameHeader: true, and this metadata \(a (string|Uint8Array)\) does not declare the frame header: pass object metadata, setMetadata\(\{ caps \}\)/),
    }) });
  }
  expect(reader.metadata).toBeUndefined(); // none of it was written
  writer.setMetadata(JSON.stringify({ zerobuffer: { frame_header: 1 }, caps: CAPS }));
  expect(writer.frameHeader).toBe(true);
  await writer.write(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), { pts: 7, attributes: { k: 'v' } });
  const f = (await reader.next({ timeoutMs: 1000 }))!;
  expect([f.pts, f.attributes, Array.from(f.data)]).toEqual([7, { k: 'v' }, [1, 2, 3, 4, 5, 6, 7, 8]]);
  f.release();
});

test('the copying fallback carries them too', () => {
  const script = `
    import { ZeroBufferReader, ZeroBufferWriter } from ${JSON.stringify(path.join(repoRoot, 'dist', 'index.js'))};
    const reader = await ZeroBufferReader.create({ name: ${JSON.stringify(ringName('attrs-copy'))}, metadataSize: 1024, payloadSize: 8192 });
    const writer = await ZeroBufferWriter.connect(reader.name, { frameHeader: true });
    writer.setMetadata({ caps: 'video/x-raw, format=(string)GRAY8, width=(int)4, height=(int)1' });
    await writer.write(Uint8Array.of(9, 8, 7, 6), { attributes: { k: 'v' } });
    const f = await reader.next({ timeoutMs: 1000 });
    console.log(JSON.stringify({ copied: f.copied, attributes: f.attributes, data: Array.from(f.data) }));
    f.release(); await writer.close(); await reader.close();`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ZEROBUFFER_FORCE_COPY: '1' }, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(JSON.parse(r.stdout)).toEqual({ copied: true, attributes: { k: 'v' }, data: [9, 8, 7, 6] });
});

test('refused without a frame header, past the header size, or when not plain values', async () => {
  await using reader = await ZeroBufferReader.create({ name: ringName('attrs-plain'), metadataSize: 1024, payloadSize: 8192 });
  await using plain = await ZeroBufferWriter.connect(reader.name);
  plain.setMetadata({ caps: CAPS });
  await expect(plain.write(new Uint8Array(8), { attributes: { a: '1' } })).rejects.toThrow(/frameHeader: true/);
  await using headed = await ZeroBufferReader.create({ name: ringName('attrs-bad'), metadataSize: 1024, payloadSize: 1 << 20 });
  await using writer = await ZeroBufferWriter.connect(headed.name, { frameHeader: true });
  writer.setMetadata({ caps: CAPS });
  await expect(writer.write(new Uint8Array(8), { attributes: { big: 'x'.repeat(70000) } })).rejects.toThrow(/holds at most 65480/);
  await expect(writer.write(new Uint8Array(8), { attributes: { o: {} as never } })).rejects.toThrow(TypeError);
});

test('setMetadata({ caps }) takes fixed caps only, raw ones describing a frame (as zerosrc takes them): other caps are a TypeError and no metadata is written', async () => {
  await using reader = await ZeroBufferReader.create({ name: ringName('meta-caps'), metadataSize: 1024, payloadSize: 8192 });
  await using writer = await ZeroBufferWriter.connect(reader.name);
  for (const [caps, why] of [
    ['this is not caps', /received "this is not caps": .*/],
    ['video/x-raw, format=(string){ RGB, BGR }, width=(int)2, height=(int)2', /: format is not fixed \(a list or a range\)/],
    ['video/x-raw,format=GRAY8', /lack width, height, which GStreamer needs to describe their frames; zerosrc refuses them/],
    ['video/x-raw(memory:DMABuf),format=NV12', /lack width, height, which GStreamer/],
    ['video/x-raw(memory:NVMM),format=NV12,width=0,height=2', /describe no frame: caps field "width" must be a fixed positive integer/],
  ] as const) {
    expect(() => writer.setMetadata({ caps })).toThrow(TypeError);
    expect(() => writer.setMetadata({ caps })).toThrow(/^metadata "caps" is the stream's caps \(zerosrc and readers take it as the frames' format\): /);
    expect(() => writer.setMetadata({ caps })).toThrow(why);
  }
  expect(reader.metadata).toBeUndefined();
  writer.setMetadata({ caps: CAPS });
  expect(reader.metadata?.capsString).toBe(CAPS);
});

test('setMetadata({ caps }) takes sized raw caps whatever their caps features, as zerosrc does (GStreamer\'s parser ignores them)', async () => {
  for (const caps of ['video/x-raw(meta:GstVideoOverlayComposition),format=RGB,width=2,height=2',
    'video/x-raw(memory:NVMM),format=NV12,width=64,height=48', 'video/x-raw(memory:DMABuf),format=NV12,width=64,height=48']) {
    await using reader = await ZeroBufferReader.create({ name: ringName('meta-features'), metadataSize: 1024, payloadSize: 8192 });
    await using writer = await ZeroBufferWriter.connect(reader.name);
    writer.setMetadata({ caps });
    expect(reader.metadata?.capsString).toBe(caps);
  }
});

test('a "caps" attribute is the frame\'s own caps: fixed caps are taken and describe the frame, anything else is a TypeError and nothing is written', async () => {
  await using reader = await ZeroBufferReader.create({ name: ringName('attrs-caps'), metadataSize: 1024, payloadSize: 8192 });
  await using writer = await ZeroBufferWriter.connect(reader.name, { frameHeader: true });
  writer.setMetadata({ caps: 'video/x-raw, format=(string)GRAY8, width=(int)4, height=(int)4, framerate=(fraction)0/1' });
  const refusals: [unknown, RegExp][] = [
    ['my-own-tag', /received "my-own-tag": its media type "my-own-tag" is not of the form type\/subtype/],
    ['video/x-raw, format=(string){ RGB, BGR }, width=(int)2, height=(int)2', /: format is not fixed \(a list or a range\)/],
    ['video/x-raw, format=RGB, width=[ 1, 4 ], height=[ 1, 4 ]', /: width, height are not fixed/],
    ['video/x-raw, format=RGB, width=2, height=2; video/x-raw, format=BGR, width=2, height=2', /: 2 structures, not one/],
    ['ANY', /: ANY is no format/],
    ['', /: 0 structures, not one/],
    ['video/x-raw, width=(int)2, format=(string)"RGB', /received .*: .*at position/],
    [5, /received 5: not a string/],
    [true, /received a boolean \(true\): not a string/],
  ];
  for (const [caps, why] of refusals) {
    for (const call of [
      () => writer.write(new Uint8Array(12), { attributes: { caps: caps as string } }),
      () => writer.reserve(12, { attributes: { caps: caps as string } }),
    ]) {
      const err: unknown = await call().then(() => 'taken', (e) => e);
      expect({ caps, err }).toEqual({ caps, err: expect.any(TypeError) });
      expect((err as Error).message).toMatch(/^attribute "caps" is the frame's own caps \(readers take it as the frame's format\): it must be fixed caps/);
      expect((err as Error).message).toMatch(why);
    }
  }
  await expect(reader.next({ timeoutMs: 0 })).rejects.toMatchObject({ code: 'ETIMEDOUT' }); // none of them was written
  const rgb = 'video/x-raw, format=(string)RGB, width=(int)2, height=(int)2, framerate=(fraction)0/1';
  await writer.write(Uint8Array.from({ length: 16 }, (_, i) => i), { attributes: { caps: rgb, id: 'a' } });
  const f = (await reader.next({ timeoutMs: 1000 }))!;
  expect([f.attributes, f.videoInfo?.format, f.videoInfo?.width, f.size]).toEqual([{ caps: rgb, id: 'a' }, 'RGB', 2, 16]);
  f.release();
});

test('a header value of another type says its type: 0n is "a bigint (0n)", not the 0 an integer check seems to refuse', async () => {
  await using reader = await ZeroBufferReader.create({ name: ringName('types'), metadataSize: 1024, payloadSize: 8192 });
  await using writer = await ZeroBufferWriter.connect(reader.name, { frameHeader: true });
  writer.setMetadata({ caps: CAPS });
  const pixels = new Uint8Array(8);
  await expect(writer.write(pixels, { pts: 0n as never })).rejects.toThrow(
    new TypeError('option "pts" must be a time in ns: an integer from 0 to 2^64, received a bigint (0n)'));
  await expect(writer.write(pixels, { flags: true as never })).rejects.toThrow(
    new TypeError('option "flags" must be an integer of 32 bits (0 to 0xffffffff), received a boolean (true)'));
  await expect(writer.write(pixels, { duration: 2.5 })).rejects.toThrow(/, received 2\.5$/);
  // these printed the value as JSON, which throws "Do not know how to serialize a BigInt"
  await expect(writer.write(pixels, { attributes: 5n as never })).rejects.toThrow(
    new TypeError('attributes must be an object of strings, numbers and booleans, received a bigint (5n)'));
  expect(reader.stats().framesUnread).toBe(0); // none of them was written
});

// decodeImage: JPEG and PNG frames made by GStreamer's encoders, decoded by
// sharp and compared with GStreamer's own decoders on the same bytes; JPEG
// frames through a real ring; corrupt, truncated and mis-sized pictures are
// ImageDecodeErrors naming the frame, and so are bytes of the other type
// than the caps say; an EXIF orientation is not applied, CMYK
// becomes sRGB; raw frames come back as toRGB gives them;
// encodePng writes GRAY16 as 16-bit gray, every sample as stored, a 16-bit
// PNG frame as it came, and ARGB64 & co. as 16-bit RGBA.
import { jest } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import {
  decodeImage, encodePng, Frame, ImageDecodeError, parseMetadata, startStream, toRGB, ZeroBufferReader, ZeroBufferWriter, type PlainUint8Array,
} from '../../src/index.js';
import { gstLaunch, leftovers, readPng, ringName } from './helpers.js';

jest.setTimeout(60000);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-decode-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function frameOf(caps: string, data: Uint8Array, sequence = 3): Frame {
  return new Frame({ releaseFrame: () => {} }, {
    // bytes over an ArrayBuffer, as the reader's are
    ticket: 1, sequence, data: data as PlainUint8Array, copied: true, arrivalNs: 0,
    metadata: parseMetadata(new TextEncoder().encode(JSON.stringify({ caps }))),
  });
}

/** One encoded picture of videotestsrc, and GStreamer's own decode of it as packed RGB. */
async function encoded(encoder: 'jpegenc' | 'pngenc', decoder: 'jpegdec' | 'pngdec', w: number, h: number) {
  const file = path.join(dir, `${encoder}-${w}x${h}`);
  await gstLaunch(['-q', 'videotestsrc', 'num-buffers=1', 'pattern=smpte', '!', `video/x-raw,width=${w},height=${h}`,
    '!', encoder, '!', 'filesink', `location=${file}`]);
  await gstLaunch(['-q', 'filesrc', `location=${file}`, '!', decoder, '!', 'videoconvert', '!',
    'video/x-raw,format=RGB', '!', 'filesink', `location=${file}.rgb`]);
  return { bytes: new Uint8Array(fs.readFileSync(file)), rgb: fs.readFileSync(`${file}.rgb`) };
}

/** Mean |a − b| and the share of samples within ±4. */
function compare(a: Uint8Array, b: Uint8Array): { mean: number; within4: number } {
  let sum = 0;
  let near = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    sum += d;
    if (d <= 4) near++;
  }
  return { mean: sum / a.length, within4: near / a.length };
}

test('a JPEG frame decodes to the RGB picture jpegdec makes (same size, same content)', async () => {
  const { bytes, rgb } = await encoded('jpegenc', 'jpegdec', 320, 240);
  const img = await decodeImage(frameOf('image/jpeg, width=(int)320, height=(int)240', bytes));
  expect(img).toMatchObject({ width: 320, height: 240, channels: 3, stride: 960, format: 'RGB', encoded: false, sequence: 3 });
  expect(img.data.length).toBe(rgb.length); // 960 is a multiple of 4: no padding on either side
  // libjpeg turns YCbCr into RGB itself, upsampling chroma smoothly; jpegdec
  // hands I420 to videoconvert, which takes the nearest chroma sample and
  // its fixed-point matrix: the two differ by a level or two, more at the
  // edges of the colour bars.
  const { mean, within4 } = compare(img.data, rgb);
  expect(mean).toBeLessThan(2.5);
  expect(within4).toBeGreaterThan(0.95);
});

test('a PNG frame decodes to exactly the pixels pngdec gives', async () => {
  const { bytes, rgb } = await encoded('pngenc', 'pngdec', 64, 48);
  const img = await decodeImage(frameOf('image/png, width=(int)64, height=(int)48', bytes));
  expect(img).toMatchObject({ width: 64, height: 48, format: 'RGB' });
  expect(Buffer.from(img.data).equals(rgb)).toBe(true);
});

test('corrupt, truncated and mis-sized JPEGs are ImageDecodeErrors naming the frame', async () => {
  const { bytes } = await encoded('jpegenc', 'jpegdec', 320, 240);
  const caps = 'image/jpeg, width=(int)320, height=(int)240';
  const truncated = decodeImage(frameOf(caps, bytes.slice(0, bytes.length >> 1), 41));
  await expect(truncated).rejects.toThrow(ImageDecodeError);
  await expect(truncated).rejects.toMatchObject({ code: 'EDECODE', sequence: 41 });
  await expect(truncated).rejects.toThrow(/^frame 41 \(image\/jpeg, \d+ bytes\): cannot decode: .*premature end/);
  const corrupt = bytes.slice();
  for (let i = 600; i < 4000; i++) corrupt[i]! ^= 0x5a;
  await expect(decodeImage(frameOf(caps, corrupt, 42))).rejects.toThrow(/^frame 42 .*cannot decode: .*Corrupt JPEG/);
  await expect(decodeImage(frameOf(caps, new TextEncoder().encode('not a picture'), 43)))
    .rejects.toThrow('frame 43 (image/jpeg, 13 bytes): the bytes do not start as image/jpeg does (6e 6f 74 20 61 20 70 69)');
  await expect(decodeImage(frameOf('image/jpeg, width=(int)640, height=(int)480', bytes, 44)))
    .rejects.toThrow('frame 44 (image/jpeg, ' + bytes.length + ' bytes): decodes to 320x240, but its caps say 640x480');
});

test('PNG bytes under image/jpeg caps, and JPEG bytes under image/png caps, are EDECODE naming both types', async () => {
  const jpeg = await encoded('jpegenc', 'jpegdec', 32, 24);
  const png = await encoded('pngenc', 'pngdec', 32, 24);
  const asJpeg = decodeImage(frameOf('image/jpeg, width=(int)32, height=(int)24', png.bytes, 51));
  await expect(asJpeg).rejects.toThrow(ImageDecodeError);
  await expect(asJpeg).rejects.toMatchObject({
    code: 'EDECODE', sequence: 51, message: `frame 51 (image/jpeg, ${png.bytes.length} bytes): the bytes are image/png, but its caps say image/jpeg`,
  });
  await expect(decodeImage(frameOf('image/png, width=(int)32, height=(int)24', jpeg.bytes, 52))).rejects.toMatchObject({
    code: 'EDECODE', sequence: 52, message: `frame 52 (image/png, ${jpeg.bytes.length} bytes): the bytes are image/jpeg, but its caps say image/png`,
  });
  // encodePng checks them too
  await expect(encodePng(frameOf('image/jpeg, width=(int)32, height=(int)24', png.bytes, 53))).rejects.toMatchObject({ code: 'EDECODE', sequence: 53 });
});

test('raw frames come back as toRGB gives them; encodePng writes any frame', async () => {
  const raw = frameOf('video/x-raw, format=(string)BGRx, width=(int)2, height=(int)1', Uint8Array.from([1, 2, 3, 0, 4, 5, 6, 0]));
  expect(Array.from((await decodeImage(raw)).data)).toEqual(Array.from(toRGB(raw).data));
  const { png, width, height } = await encodePng(raw);
  const back = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  expect([width, height, back.info.channels]).toEqual([2, 1, 3]);
  expect(Array.from(back.data)).toEqual([3, 2, 1, 6, 5, 4]);
});

test('encodePng of GRAY16 (LE and BE, padded rows; a frame or its image) is a 16-bit gray PNG of the samples as stored', async () => {
  const values = [0, 1, 255, 256, 0x1234, 0xfffe, 0xffff, 0x8000, 0xff00, 7]; // 5x2: rows of 10 bytes padded to 12
  for (const format of ['GRAY16_LE', 'GRAY16_BE'] as const) {
    const bytes = Buffer.alloc(24, 0xee);
    values.forEach((v, i) => (format === 'GRAY16_LE' ? bytes.writeUInt16LE : bytes.writeUInt16BE).call(bytes, v, Math.floor(i / 5) * 12 + (i % 5) * 2));
    // a limited-range colorimetry stretches toRGB's gray, not these samples
    const frame = frameOf(`video/x-raw, format=(string)${format}, width=(int)5, height=(int)2, colorimetry=(string)bt601`, new Uint8Array(bytes));
    expect(frame.image().colorimetry?.range).toBe('limited');
    for (const source of [frame, frame.image()]) {
      const { png, width, height } = await encodePng(source);
      expect([width, height]).toEqual([5, 2]);
      expect({ format, ...readPng(png) }).toEqual({ format, width: 5, height: 2, bitDepth: 16, colourType: 0, samples: values });
    }
  }
  // an image whose rows do not fit its bytes: an error, not a read past them
  const short = { ...frameOf('video/x-raw, format=(string)GRAY16_LE, width=(int)5, height=(int)2', new Uint8Array(24)).image(), data: new Uint8Array(20) };
  await expect(encodePng(short)).rejects.toThrow(expect.objectContaining({
    name: 'TypeError', code: 'EINVAL', message: 'encodePng: plane 0 (offset 0, stride 12, 2 rows) does not fit in the 20 source bytes',
  }));
});

test('a 16-bit PNG frame (pngenc of GRAY16_BE): image() and decodeImage give 8 bits, encodePng its own bytes with every 16-bit sample', async () => {
  const values = [0, 1, 255, 256, 0x12ff, 0x1380, 0xfffe, 0xffff, 0x8000, 0x7fff]; // 5x2: rows of 10 bytes padded to 12
  const raw = Buffer.alloc(24, 0xee);
  values.forEach((v, i) => raw.writeUInt16BE(v, Math.floor(i / 5) * 12 + (i % 5) * 2));
  fs.writeFileSync(path.join(dir, 'gray16.raw'), raw);
  await gstLaunch(['-q', 'filesrc', `location=${path.join(dir, 'gray16.raw')}`, '!', 'video/x-raw,format=GRAY16_BE,width=5,height=2,framerate=30/1',
    '!', 'pngenc', '!', 'filesink', `location=${path.join(dir, 'gray16.png')}`]);
  const bytes = new Uint8Array(fs.readFileSync(path.join(dir, 'gray16.png')));
  expect(readPng(Buffer.from(bytes))).toMatchObject({ bitDepth: 16, colourType: 0, samples: values });
  const frame = frameOf('image/png, width=(int)5, height=(int)2', bytes, 7);
  // the caps carry no bit depth: image() describes what decodeImage gives
  expect(frame.image()).toMatchObject({ format: 'PNG', encoded: true, channels: 3, bitsPerSample: 8 });
  const rgb = await decodeImage(frame);
  expect(rgb).toMatchObject({ format: 'RGB', width: 5, height: 2, channels: 3, bitsPerSample: 8 });
  expect(Array.from(rgb.data)).toEqual(values.flatMap((v) => [v >> 8, v >> 8, v >> 8])); // libvips keeps the high byte
  const { png, width, height } = await encodePng(frame);
  expect([width, height]).toEqual([5, 2]);
  // before: an 8-bit RGB PNG of those high bytes
  expect(png.equals(bytes)).toBe(true);
  // checked as decodeImage checks: cut short, or of another size than the caps say
  await expect(encodePng(frameOf('image/png, width=(int)5, height=(int)2', bytes.slice(0, bytes.length - 20), 8)))
    .rejects.toMatchObject({ code: 'EDECODE', message: expect.stringMatching(/^frame 8 \(image\/png, \d+ bytes\): cannot decode: /) });
  await expect(encodePng(frameOf('image/png, width=(int)6, height=(int)2', bytes, 9)))
    .rejects.toThrow(`frame 9 (image/png, ${bytes.length} bytes): decodes to 5x2, but its caps say 6x2`);
});

test('encodePng of a 16-bit RGB frame with alpha (BGRA64_LE here) is a 16-bit RGBA PNG; such frames have no image(), saying which do', async () => {
  const rgba = Array.from({ length: 5 * 2 * 4 }, (_, i) => (i * 4099 + 0x0102) & 0xffff); // R, G, B, A of 5x2 pixels
  const bytes = Buffer.alloc(80);
  rgba.forEach((v, i) => bytes.writeUInt16LE(v, (i - (i % 4)) * 2 + [2, 1, 0, 3][i % 4]! * 2)); // stored B, G, R, A
  const frame = frameOf('video/x-raw, format=(string)BGRA64_LE, width=(int)5, height=(int)2', new Uint8Array(bytes), 5);
  expect(() => frame.image()).toThrow(expect.objectContaining({ code: 'ENOCAPS', message: expect.stringMatching(/BGRA64_LE not described \(described: video\/x-raw in RGB, /) }));
  const { png, width, height } = await encodePng(frame);
  expect([width, height]).toEqual([5, 2]);
  // before: the same ENOCAPS
  expect(readPng(png)).toEqual({ width: 5, height: 2, bitDepth: 16, colourType: 6, samples: rgba });
  await expect(encodePng(frameOf('video/x-raw, format=(string)RGBA64_BE, width=(int)5, height=(int)3', new Uint8Array(bytes), 6)))
    .rejects.toMatchObject({ code: 'EFRAMESIZE', message: expect.stringMatching(/^frame 6 has 80 bytes, but RGBA64_BE 5x3 frames have 120 \(caps /) });
});

/** Largest |a − b| over all samples. */
function maxDiff(a: Uint8Array, b: Uint8Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

test('a JPEG decodes as stored: its EXIF orientation is not applied, as jpegdec does not, so the size is the caps\' one', async () => {
  // 4x2, left half red, right half blue, tagged "turn 90° clockwise to show" (orientation 6)
  const stored = Buffer.alloc(4 * 2 * 3);
  for (let i = 0; i < 8; i++) stored[i * 3 + (i % 4 < 2 ? 0 : 2)] = 255;
  const jpeg = await sharp(stored, { raw: { width: 4, height: 2, channels: 3 } }).jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toBuffer();
  expect((await sharp(jpeg).metadata()).orientation).toBe(6);
  const file = path.join(dir, 'orientation-6.jpg');
  fs.writeFileSync(file, jpeg);
  await gstLaunch(['-q', 'filesrc', `location=${file}`, '!', 'jpegdec', '!', 'videoconvert', '!', 'video/x-raw,format=RGB', '!',
    'filesink', `location=${file}.rgb`]);
  const jpegdec = fs.readFileSync(`${file}.rgb`); // rows of 12 bytes: no padding
  const img = await decodeImage(frameOf('image/jpeg, width=(int)4, height=(int)2', new Uint8Array(jpeg)));
  expect([img.width, img.height]).toEqual([4, 2]);
  expect(maxDiff(img.data, stored)).toBeLessThanOrEqual(8);
  expect(maxDiff(img.data, jpegdec)).toBeLessThanOrEqual(12);
});

test('a CMYK JPEG (GStreamer 1.22\'s jpegdec refuses those) decodes to sRGB near the picture it was made of', async () => {
  // colors inside a print profile's gamut (saturated ones are clipped on the way to CMYK)
  const colors = [[180, 90, 100], [100, 150, 110], [110, 120, 170], [128, 128, 128], [200, 190, 120], [150, 110, 90], [210, 210, 210], [70, 70, 70]];
  const rgb = Buffer.from(colors.flatMap((c) => Array.from({ length: 8 }, () => c)).flat()); // 8x8, a row of each color
  const cmyk = await sharp(rgb, { raw: { width: 8, height: 8, channels: 3 } }).toColourspace('cmyk').jpeg({ quality: 100 }).toBuffer();
  expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
  const img = await decodeImage(frameOf('image/jpeg, width=(int)8, height=(int)8', new Uint8Array(cmyk)));
  expect(img).toMatchObject({ format: 'RGB', width: 8, height: 8, channels: 3 });
  // through a CMYK profile and back (grays come back ~10 darker): near, not exact; an inverted (Adobe) CMYK
  // read wrongly, or the channels misplaced, would be off by far more
  expect(compare(img.data, rgb).mean).toBeLessThan(12);
  expect(maxDiff(img.data, rgb)).toBeLessThan(32);
});

test('JPEG frames from a real pipeline (jpegenc ! zerosink) decode while the frame is held', async () => {
  const stream = await startStream({
    source: 'videotestsrc num-buffers=3 pattern=ball ! video/x-raw,width=160,height=120 ! jpegenc', name: ringName('jpeg'),
    payloadSize: 1 << 20,
  });
  const sizes: string[] = [];
  for await (const frame of stream.frames({ timeoutMs: 20000 })) {
    const img = await decodeImage(frame);
    sizes.push(`${img.width}x${img.height}x${img.channels}`);
  }
  await stream.close();
  expect(sizes).toEqual(['160x120x3', '160x120x3', '160x120x3']);
  expect(leftovers()).toEqual([]);
});

test('encodePng and decodeImage of a frame released right after the call use its bytes as they were (RGB, GRAY8, JPEG)', async () => {
  const { bytes: jpeg } = await encoded('jpegenc', 'jpegdec', 32, 24);
  const cases = [
    { caps: 'video/x-raw,format=RGB,width=32,height=24', bytes: new Uint8Array(32 * 24 * 3).map((_, i) => i % 251) },
    { caps: 'video/x-raw,format=GRAY8,width=32,height=24', bytes: new Uint8Array(32 * 24).map((_, i) => i % 253) },
    { caps: 'image/jpeg,width=32,height=24', bytes: jpeg },
  ];
  for (const { caps, bytes } of cases) {
    const reader = await ZeroBufferReader.create({ name: ringName('released'), metadataSize: 4096, payloadSize: 1 << 16 });
    const writer = await ZeroBufferWriter.connect(reader.name);
    await writer.setMetadata({ caps });
    await writer.write(bytes);
    const kept = (await reader.next())!.copy(); // what the picture should be made of
    const expected = Array.from(caps.startsWith('image/') ? (await decodeImage(frameOf(caps, kept))).data : toRGB(frameOf(caps, kept)).data);
    for (const call of ['encodePng', 'decodeImage'] as const) {
      await writer.write(bytes);
      const frame = (await reader.next())!;
      const made = call === 'encodePng' ? encodePng(frame) : decodeImage(frame);
      frame.release(); // e.g. a frames() loop moving on: the writer may reuse the room at once
      await writer.write(new Uint8Array(bytes.length).fill(0xee));
      const result = await made;
      const pixels = 'png' in result ? (await sharp(result.png).raw().toBuffer()) : result.data;
      expect([caps, call, Array.from(pixels)]).toEqual([caps, call, expected]);
      await reader.next().then((f) => f!.release());
    }
    await writer.close();
    await reader.close();
  }
  expect(leftovers()).toEqual([]);
});

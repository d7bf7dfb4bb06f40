// frame.image() and toRGB() per format against known pixel values, with
// padded (strided) rows and both GRAY16 byte orders.
import { Frame, FrameSizeError, parseMetadata, toRGB, type RawFormat } from '../../src/index.js';

let released = 0;
const owner = { releaseFrame: () => void released++ };

function frame(format: RawFormat | 'jpeg', width: number, height: number, bytes: number[]): Frame {
  const caps = format === 'jpeg'
    ? `image/jpeg, width=(int)${width}, height=(int)${height}`
    : `video/x-raw, format=(string)${format}, width=(int)${width}, height=(int)${height}, framerate=(fraction)30/1`;
  return new Frame(owner, {
    ticket: 1, sequence: 1, data: Uint8Array.from(bytes), copied: true, arrivalNs: 0,
    metadata: parseMetadata(new TextEncoder().encode(JSON.stringify({ caps }))),
  });
}

// 2x2 pictures: red, green / blue, white. Rows padded to 4 bytes where GStreamer pads them.
const RGB_2x2 = [255, 0, 0, 0, 255, 0, 0, 0, 0, 0, 255, 255, 255, 255, 0, 0];
const WANT = [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255];

test.each<[RawFormat, number[]]>([
  ['RGB', [255, 0, 0, 0, 255, 0, /*pad*/ 0, 0, 0, 0, 255, 255, 255, 255, /*pad*/ 0, 0]],
  ['BGR', [0, 0, 255, 0, 255, 0, 0, 0, 255, 0, 0, 255, 255, 255, 0, 0]],
  ['RGBA', [255, 0, 0, 9, 0, 255, 0, 9, 0, 0, 255, 9, 255, 255, 255, 9]],
  ['RGBx', [255, 0, 0, 0, 0, 255, 0, 0, 0, 0, 255, 0, 255, 255, 255, 0]],
  ['BGRA', [0, 0, 255, 9, 0, 255, 0, 9, 255, 0, 0, 9, 255, 255, 255, 9]],
  ['BGRx', [0, 0, 255, 0, 0, 255, 0, 0, 255, 0, 0, 0, 255, 255, 255, 0]],
])('%s 2x2 to RGB', (format, bytes) => {
  const f = frame(format, 2, 2, bytes);
  const img = f.image();
  expect(img.stride).toBe(format.length === 3 ? 8 : 8);
  expect(img.channels).toBe(format.length === 3 ? 3 : 4);
  expect(Array.from(toRGB(f).data)).toEqual(WANT);
});

test('packed RGB without padding is handed over without a copy', () => {
  // 4x1 RGB: 12 bytes per row, already a multiple of 4
  const f = frame('RGB', 4, 1, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  const rgb = toRGB(f);
  expect(rgb.data.buffer).toBe(f.data.buffer);
  expect(rgb).toMatchObject({ width: 4, height: 1, channels: 3, stride: 12, format: 'RGB' });
  expect(toRGB(frame('RGB', 2, 2, RGB_2x2)).data.buffer).not.toBe(undefined);
});

test('GRAY8 with padded rows (3x2: stride 4)', () => {
  const f = frame('GRAY8', 3, 2, [10, 20, 30, 99, 40, 50, 60, 99]);
  expect(f.image()).toMatchObject({ width: 3, height: 2, channels: 1, stride: 4, bitsPerSample: 8 });
  expect(Array.from(toRGB(f).data)).toEqual([10, 10, 10, 20, 20, 20, 30, 30, 30, 40, 40, 40, 50, 50, 50, 60, 60, 60]);
});

test('GRAY16 is rounded to 8 bits in either byte order (stride 4 for width 1)', () => {
  // width 1: 2 bytes per pixel, rows padded to 4
  const le = frame('GRAY16_LE', 1, 2, [0x34, 0x12, 0, 0, 0xff, 0xab, 0, 0]);
  expect(le.image()).toMatchObject({ stride: 4, bitsPerSample: 16 });
  expect(Array.from(toRGB(le).data)).toEqual([0x12, 0x12, 0x12, 0xab, 0xab, 0xab]);
  const be = frame('GRAY16_BE', 1, 2, [0x12, 0x34, 0, 0, 0xab, 0xff, 0, 0]);
  expect(Array.from(toRGB(be).data)).toEqual([0x12, 0x12, 0x12, 0xab, 0xab, 0xab]);
});

test('planar and YUV formats describe their planes and colorimetry; toRGB converts them', () => {
  const i420 = frame('I420', 2, 2, [128, 128, 0, 0, 128, 128, 0, 0, 128, 0, 0, 0, 128, 0, 0, 0]);
  expect(i420.image().planes).toEqual([
    { offset: 0, stride: 4, height: 2 }, { offset: 8, stride: 4, height: 1 }, { offset: 12, stride: 4, height: 1 }]);
  expect(i420.image().colorimetry).toMatchObject({ matrix: 'bt601', range: 'limited' });
  expect(Array.from(toRGB(i420).data)).toEqual(new Array(12).fill(128));
  const yuy2 = frame('YUY2', 2, 1, [1, 2, 3, 4]);
  expect(yuy2.image()).toMatchObject({ channels: 2, stride: 4 });
});

test('JPEG frames are handed over as encoded bytes with their mime type', () => {
  const f = frame('jpeg', 320, 240, [0xff, 0xd8, 0xff, 0xd9]);
  const img = f.image();
  expect(img).toMatchObject({ encoded: true, mimeType: 'image/jpeg', format: 'JPEG', width: 320, height: 240 });
  expect(Array.from(img.data)).toEqual([0xff, 0xd8, 0xff, 0xd9]);
  expect(() => toRGB(f)).toThrow(/encoded/);
});

test('a size mismatch is an error, never an all-zero image', () => {
  const f = frame('RGB', 2, 2, RGB_2x2.slice(0, 15));
  expect(() => f.image()).toThrow(FrameSizeError);
  expect(() => toRGB(f)).toThrow('has 15 bytes, but RGB 2x2 frames have 16');
  f.release();
  expect(released).toBe(1);
  expect(() => f.image()).toThrow(/released/);
});

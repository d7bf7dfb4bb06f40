test('{ out } is filled also when the frame already is the picture asked for (RGBA, GRAY8, I420\'s Y), through a ring: out keeps the pixels after release', async () => {
  const [w, h] = [8, 4];
  const cases = [
    { caps: capsFor('RGBA', w, h), convert: toRGBA, size: w * h * 4, bytes: randomBytes(w * h * 4, 5) },
    { caps: capsFor('GRAY8', w, h), convert: toGray, size: w * h, bytes: randomBytes(w * h, 6) },
    { caps: capsFor('I420', w, h), convert: toGray, size: w * h, bytes: randomBytes(planesFor('I420', w, h).size, 7) },
  ];
  for (const { caps, convert, size, bytes } of cases) {
    const reader = await ZeroBufferReader.create({ name: ringName('out'), metadataSize: 4096, payloadSize: 1 << 16 });
    const writer = await ZeroBufferWriter.connect(reader.name);
    try {
      writer.setMetadata({ caps });
      await writer.write(bytes);
      const frame = (await reader.next())!;
      const out = new Uint8Array(size + 5).fill(0xee);
      const picture = convert(frame, { out });
      // before: a view of the ring, out left as it was
      expect(picture.data.buffer).toBe(out.buffer);
      frame.release();
      await writer.write(new Uint8Array(bytes.length)); // the writer may reuse the room at once
      await reader.next().then((f) => f!.release());
      expect([caps, Array.from(out)]).toEqual([caps, [...bytes.subarray(0, size), 0xee, 0xee, 0xee, 0xee, 0xee]]);
      // too small an out is refused here too
      await writer.write(bytes);
      const next = (await reader.next())!;
      expect(() => convert(next, { out: new Uint8Array(size - 1) })).toThrow(`out must be a Uint8Array of at least ${size} bytes`);
      next.release();
    } finally {
      await writer.close();
      await reader.close();
    }
  }
});

// toRGB / toRGBA / toGray against GStreamer's own videoconvert on the same
// bytes: random frames (every byte value, out-of-range YUV included) of every
// raw format, odd and HD sizes, with and without colorimetry and chroma-site
// in the caps. Every pixel must be within ±2 of what videoconvert makes; the
// largest difference seen is asserted too, so a drift shows.
import { jest } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  decodeImage, encodePng, Frame, parseMetadata, planesFor, type PlainUint8Array, RAW_FORMATS, toGray, toRGB, toRGBA, yuvColorimetry, parseCaps,
  ZeroBufferReader, ZeroBufferWriter, type RawFormat,
} from '../../src/index.js';
import { gstLaunch, killIfRunning, repoRoot, ringName, run, type Child } from './helpers.js';

jest.setTimeout(120000);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-convert-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

// xorshift32: the same frames on every run.
function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function frameOf(caps: string, data: Uint8Array): Frame {
  return new Frame({ releaseFrame: () => {} }, {
    // bytes over an ArrayBuffer, as the reader's are
    ticket: 1, sequence: 7, data: data as PlainUint8Array, copied: true, arrivalNs: 0,
    metadata: parseMetadata(new TextEncoder().encode(JSON.stringify({ caps }))),
  });
}

let files = 0;
/** videoconvert's output (rows as GStreamer pads them) for `data` described by `caps`. */
async function videoconvert(caps: string, data: Uint8Array, out: 'RGB' | 'RGBA' | 'GRAY8'): Promise<Buffer> {
  const n = files++;
  const input = path.join(dir, `in-${n}.raw`);
  const output = path.join(dir, `out-${n}.raw`);
  fs.writeFileSync(input, data);
  await gstLaunch(['-q', 'filesrc', `location=${input}`, `blocksize=${data.length}`, '!', caps.replace(/\(\w+\)/g, ''),
    '!', 'videoconvert', '!', `video/x-raw,format=${out}`, '!', 'filesink', `location=${output}`]);
  return fs.readFileSync(output);
}

/** Largest |ours − theirs| over the picture (theirs has GStreamer's row padding). */
function maxDiff(ours: Uint8Array, theirs: Buffer, width: number, height: number, channels: number): number {
  const row = width * channels;
  const theirStride = (row + 3) & ~3;
  expect(theirs.length).toBe(theirStride * height);
  let max = 0;
  for (let y = 0; y < height; y++) {
    for (let i = 0; i < row; i++) max = Math.max(max, Math.abs(ours[y * row + i]! - theirs[y * theirStride + i]!));
  }
  return max;
}

function capsFor(format: RawFormat, width: number, height: number, extra = ''): string {
  return `video/x-raw, format=(string)${format}, width=(int)${width}, height=(int)${height}, framerate=(fraction)1/1${extra}`;
}

// Exact where we reproduce videoconvert's arithmetic; GRAY16 differs by
// videoconvert's dithering (±1).
const EXPECTED_MAX: Partial<Record<RawFormat, number>> = { GRAY16_LE: 1, GRAY16_BE: 1 };

test.each(RAW_FORMATS.map((f) => [f]))('%s 67x35 random frame → RGB as videoconvert makes it', async (format) => {
  const [w, h] = [67, 35];
  const data = randomBytes(planesFor(format, w, h).size, 1000 + RAW_FORMATS.indexOf(format));
  const caps = capsFor(format, w, h);
  const theirs = await videoconvert(caps, data, 'RGB');
  const ours = toRGB(frameOf(caps, data));
  expect(ours).toMatchObject({ width: w, height: h, channels: 3, stride: w * 3, format: 'RGB', sequence: 7 });
  const max = maxDiff(ours.data, theirs, w, h, 3);
  expect(max).toBeLessThanOrEqual(2);
  expect(max).toBe(EXPECTED_MAX[format] ?? 0);
});

// Colorimetry in the caps (matrix, range) and chroma siting; without
// colorimetry, or with one whose matrix is invalid for YUV, GStreamer's
// defaults by frame height (BT.709 and cosited chroma above 576 rows) win
// over chroma-site.
test.each<[RawFormat, number, number, string]>([
  ['I420', 64, 48, ', colorimetry=(string)bt709'],
  ['I420', 64, 48, ', colorimetry=(string)bt2020'],
  ['I420', 64, 48, ', colorimetry=(string)1:4:16:4'],
  ['YV12', 64, 48, ', colorimetry=(string)1:3:5:1'],
  ['I420', 320, 720, ''],
  ['NV12', 320, 720, ''],
  ['NV12', 320, 720, ', chroma-site=(string)jpeg'],
  ['NV12', 64, 48, ', colorimetry=(string)bt709, chroma-site=(string)mpeg2'],
  ['NV12', 64, 48, ', colorimetry=(string)bt601, chroma-site=(string)dv'],
  ['NV21', 64, 48, ', colorimetry=(string)1:6:13:7'],
  ['YUY2', 320, 577, ''],
  ['UYVY', 64, 48, ', colorimetry=(string)bt2020, chroma-site=(string)mpeg2'],
  // a matrix GStreamer finds invalid for YUV (RGB, unknown): all its defaults, range and siting too
  ['I420', 64, 48, ', colorimetry=(string)1:1:0:0'],
  ['NV12', 64, 48, ', colorimetry=(string)1:0:0:0, chroma-site=(string)mpeg2'],
  ['NV12', 320, 720, ', colorimetry=(string)2:0:0:0'],
  // an unknown range (0) is full: gst_video_color_range_offsets (they were taken as limited: max 17 and 18)
  ['NV12', 64, 48, ', colorimetry=(string)0:4:0:0'],
  ['I420', 64, 48, ', colorimetry=(string)0:3:5:1'],
])('%s %dx%d%s → RGB as videoconvert makes it', async (format, w, h, extra) => {
  const data = randomBytes(planesFor(format, w, h).size, w * h);
  const caps = capsFor(format, w, h, extra);
  const theirs = await videoconvert(caps, data, 'RGB');
  expect(maxDiff(toRGB(frameOf(caps, data)).data, theirs, w, h, 3)).toBe(0);
});

// Interlaced 4:2:0 (interlace-mode=interleaved): luma row y takes the chroma
// of its field, row (y / 4) * 2 + y % 2, blended within the field as
// video-chroma.c does (5:3, 7:1, 1:7, 3:5), and videoconvert takes its
// generic path for I420/YV12 too; odd sizes (the chroma rows at the bottom
// are clamped before they are split into fields), chroma siting
// (vertically cosited: no blend), HD (cosited by default). mixed without
// the INTERLACED buffer flag (filesrc sets none): progressive frames, but
// still no I420 fast path. These took progressive chroma rows (max 255 on
// random bytes; 154 on videotestsrc's bars through `interlace`).
test.each<[RawFormat, number, number, string, 'RGB' | 'RGBA']>([
  ['I420', 67, 35, ', interlace-mode=(string)interleaved', 'RGB'],
  ['NV12', 67, 35, ', interlace-mode=(string)interleaved', 'RGB'],
  ['YV12', 67, 35, ', interlace-mode=(string)interleaved, chroma-site=(string)mpeg2', 'RGBA'],
  ['NV21', 33, 19, ', interlace-mode=(string)interleaved, chroma-site=(string)dv', 'RGB'],
  ['I420', 320, 723, ', interlace-mode=(string)interleaved', 'RGB'],
  ['I420', 67, 35, ', interlace-mode=(string)mixed', 'RGB'],
  ['NV12', 67, 35, ', interlace-mode=(string)mixed', 'RGBA'],
  // 4n + 1 and 4n + 2 rows: GStreamer gives both fields as many chroma rows
  // (34 rows: 18, not 17), so the frame is larger (a FrameSizeError before)
  ['I420', 64, 34, ', interlace-mode=(string)interleaved', 'RGB'],
  ['YV12', 67, 33, ', interlace-mode=(string)interleaved', 'RGB'],
  ['NV12', 66, 37, ', interlace-mode=(string)interleaved', 'RGB'],
  ['NV21', 33, 486, ', interlace-mode=(string)interleaved', 'RGBA'],
  ['I420', 64, 34, ', interlace-mode=(string)mixed', 'RGB'],
])('%s %dx%d%s → %s as videoconvert makes it', async (format, w, h, extra, out) => {
  const data = randomBytes(planesFor(format, w, h, true).size, w * h + 1);
  const caps = capsFor(format, w, h, extra);
  const theirs = await videoconvert(caps, data, out);
  const ours = (out === 'RGB' ? toRGB : toRGBA)(frameOf(caps, data));
  expect(maxDiff(ours.data, theirs, w, h, out === 'RGB' ? 3 : 4)).toBe(0);
});

// A real interlaced stream whose frames say which they are: `interlace`
// with the 2:3 pattern makes interlace-mode=mixed, two of every five frames
// flagged INTERLACED. One pipeline tees the same buffers into zerosink
// (frame-header=true carries the buffer flags) and into videoconvert.
test('mixed interlacing through a ring: the frames the buffer flags call interlaced convert by field, as videoconvert converts them', async () => {
  const [w, h, frames] = [67, 35, 4];
  const size = planesFor('I420', w, h).size;
  const input = path.join(dir, 'mixed.raw');
  const output = path.join(dir, 'mixed.rgb');
  fs.writeFileSync(input, randomBytes(size * frames, 99));
  const name = ringName('mixed');
  const reader = await ZeroBufferReader.create({ name, metadataSize: 4096, payloadSize: 1 << 20 });
  let gst: Child | undefined;
  try {
    gst = run('gst-launch-1.0', ['-q', 'filesrc', `location=${input}`, '!',
      'rawvideoparse', 'format=i420', `width=${w}`, `height=${h}`, 'framerate=24/1', '!', 'interlace', 'field-pattern=2:3', '!', 'tee', 'name=t',
      't.', '!', 'queue', '!', 'zerosink', `buffer-name=${name}`, 'frame-header=true',
      't.', '!', 'queue', '!', 'videoconvert', '!', 'video/x-raw,format=RGB', '!', 'filesink', `location=${output}`],
    { GST_PLUGIN_PATH: path.join(repoRoot, 'builddir', 'gst-plugin') });
    const interlaced: (boolean | undefined)[] = [];
    const ours: Uint8Array[] = [];
    for await (const frame of reader.frames({ timeoutMs: 20000 })) {
      const img = frame.image();
      expect(img.interlaceMode).toBe('mixed');
      expect(img.interlaced).toBe(((frame.flags ?? 0) & (1 << 20)) !== 0); // GST_VIDEO_BUFFER_FLAG_INTERLACED
      interlaced.push(img.interlaced);
      ours.push(toRGB(img).data.slice());
      frame.release();
    }
    expect(await gst.exit()).toBe(0);
    expect(interlaced).toEqual([false, false, true, true, false]);
    const theirs = fs.readFileSync(output);
    const picture = ((w * 3 + 3) & ~3) * h;
    expect(theirs.length).toBe(picture * ours.length);
    expect(ours.map((o, i) => maxDiff(o, theirs.subarray(i * picture, (i + 1) * picture), w, h, 3))).toEqual([0, 0, 0, 0, 0]);
  } finally {
    killIfRunning(gst);
    await reader.close();
  }
});

// Gray of limited range (a colorimetry with a matrix GStreamer takes for
// gray and range 16-235) is stretched to RGB as YUV luma is; gray stays as
// it is; without colorimetry, or with an unknown range or an RGB matrix
// (invalid), full range. GRAY16 is within ±1 (videoconvert dithers).
// Limited gray was copied (max 18).
test.each<[RawFormat, string, 'RGB' | 'GRAY8', number]>([
  ['GRAY8', ', colorimetry=(string)2:4:0:0', 'RGB', 0],
  ['GRAY8', ', colorimetry=(string)bt709', 'RGB', 0],
  ['GRAY8', ', colorimetry=(string)0:4:0:0', 'RGB', 0],
  ['GRAY8', ', colorimetry=(string)2:1:0:0', 'RGB', 0],
  ['GRAY16_LE', ', colorimetry=(string)2:4:0:0', 'RGB', 1],
  ['GRAY16_BE', ', colorimetry=(string)bt601', 'RGB', 1],
  ['GRAY16_LE', ', colorimetry=(string)2:4:0:0', 'GRAY8', 1],
])('%s%s → %s as videoconvert makes it', async (format, extra, out, expected) => {
  const [w, h] = [33, 7];
  const data = randomBytes(planesFor(format, w, h).size, 31);
  const caps = capsFor(format, w, h, extra);
  const theirs = await videoconvert(caps, data, out);
  const ours = (out === 'RGB' ? toRGB : toGray)(frameOf(caps, data));
  expect(maxDiff(ours.data, theirs, w, h, out === 'RGB' ? 3 : 1)).toBe(expected);
});

// Alpha is the source's, else 255. videoconvert copies the padding byte of
// BGRx into alpha; with padding 0xff the two agree.
test.each<[RawFormat]>([['I420'], ['NV12'], ['ARGB'], ['BGRx'], ['GRAY8']])('%s → RGBA as videoconvert makes it', async (format) => {
  const [w, h] = [33, 17];
  const data = randomBytes(planesFor(format, w, h).size, 77);
  if (format === 'BGRx') for (let i = 3; i < data.length; i += 4) data[i] = 0xff;
  const caps = capsFor(format, w, h);
  const theirs = await videoconvert(caps, data, 'RGBA');
  const ours = toRGBA(frameOf(caps, data));
  expect(ours).toMatchObject({ channels: 4, stride: w * 4, format: 'RGBA' });
  expect(maxDiff(ours.data, theirs, w, h, 4)).toBe(0);
  if (format === 'BGRx') expect(toRGBA(frameOf(caps, data.map((v, i) => (i % 4 === 3 ? 7 : v)))).data[3]).toBe(255);
});

test('toGray: BT.601 luma of RGB within ±2 of videoconvert; YUV luma as stored (videoconvert copies it at SD sizes)', async () => {
  const [w, h] = [33, 17];
  for (const format of ['RGB', 'BGRA', 'I420', 'NV12'] as const) {
    const data = randomBytes(planesFor(format, w, h).size, 5);
    const caps = capsFor(format, w, h);
    const theirs = await videoconvert(caps, data, 'GRAY8');
    const ours = toGray(frameOf(caps, data));
    expect(ours).toMatchObject({ channels: 1, stride: w, format: 'GRAY8' });
    expect(maxDiff(ours.data, theirs, w, h, 1)).toBeLessThanOrEqual(format === 'I420' ? 0 : 2);
  }
});

test('anything but a Frame or an Image is a TypeError naming the function', async () => {
  expect(() => toRGB({} as never)).toThrow(new TypeError('toRGB: expected a Frame or an Image (frame.image()), got an object with keys (none)'));
  expect(() => toGray(null as never)).toThrow(/^toGray: expected a Frame or an Image \(frame.image\(\)\), got null$/);
  await expect(encodePng(new Uint8Array(10) as never)).rejects.toThrow(/^encodePng: expected a Frame or an Image \(frame.image\(\)\), got a Uint8Array$/);
  await expect(decodeImage({ data: new Uint8Array(3) } as never)).rejects.toThrow(/^decodeImage: .*got an object with keys data$/);
});

test('no copy when the frame already is the picture asked for', () => {
  const rgb = frameOf(capsFor('RGB', 4, 2), randomBytes(24, 3));
  expect(toRGB(rgb).data.buffer).toBe(rgb.data.buffer);
  const rgba = frameOf(capsFor('RGBA', 3, 2), randomBytes(24, 3));
  expect(toRGBA(rgba).data.buffer).toBe(rgba.data.buffer);
  const i420 = frameOf(capsFor('I420', 8, 4), randomBytes(planesFor('I420', 8, 4).size, 3));
  const gray = toGray(i420);
  expect(gray.data.buffer).toBe(i420.data.buffer);
  expect(Array.from(gray.data)).toEqual(Array.from(i420.data.subarray(0, 32)));
  // { out }: the pixels land in the caller's buffer
  const nv12 = frameOf(capsFor('NV12', 4, 2), randomBytes(planesFor('NV12', 4, 2).size, 3));
  const out = new Uint8Array(64);
  const into = toRGB(nv12, { out });
  expect(into.data.buffer).toBe(out.buffer);
  expect(Array.from(into.data)).toEqual(Array.from(toRGB(nv12).data));
  expect(() => toRGB(nv12, { out: new Uint8Array(23) })).toThrow(/at least 24 bytes/);
  // padded rows (width 3: stride 12 for RGB) are repacked
  const padded = frameOf(capsFor('RGB', 3, 2), randomBytes(24, 4));
  expect(toRGB(padded).data.buffer).not.toBe(padded.data.buffer);
});

test('the colorimetry GStreamer 1.22 would use', () => {
  const c = (caps: string, h: number) => yuvColorimetry(parseCaps(caps), h);
  expect(c('video/x-raw', 480)).toMatchObject({ matrix: 'bt601', range: 'limited', hCosited: false, source: 'default' });
  expect(c('video/x-raw, chroma-site=jpeg', 1080)).toMatchObject({ matrix: 'bt709', hCosited: true, vCosited: false });
  expect(c('video/x-raw, colorimetry=bt709', 1080)).toMatchObject({ matrix: 'bt709', hCosited: false, source: 'caps' });
  expect(c('video/x-raw, colorimetry=1:6:13:7, chroma-site=dv', 100)).toMatchObject(
    { matrix: 'bt2020', kr: 0.2627, range: 'full', hCosited: true, vCosited: true });
  expect(c('video/x-raw, colorimetry=nonsense, chroma-site=mpeg2', 100)).toMatchObject({ matrix: 'bt601', hCosited: false });
  expect(c('video/x-raw, colorimetry=0:4:0:0', 100)).toMatchObject({ matrix: 'bt601', range: 'full', source: 'caps' });
  const gray = (caps: string) => frameOf(capsFor('GRAY8', 4, 2, caps), new Uint8Array(8)).image().colorimetry;
  expect(gray('')).toMatchObject({ range: 'full', source: 'default' });
  expect(gray(', colorimetry=(string)bt709')).toMatchObject({ matrix: 'bt709', range: 'limited', source: 'caps' });
  expect(gray(', colorimetry=(string)1:1:0:0')).toMatchObject({ range: 'full', source: 'default' });
  expect(toRGB(frameOf(capsFor('NV12', 2, 2), new Uint8Array(12))).data.length).toBe(12);
});

test('a frame shorter than its caps say is an error, not a zero image', () => {
  const f = frameOf(capsFor('I420', 8, 4), new Uint8Array(40));
  expect(() => toRGB(f)).toThrow('frame 7 has 40 bytes, but I420 8x4 frames have 48');
  expect(() => toGray(f)).toThrow(expect.objectContaining({ code: 'EFRAMESIZE' }));
});

test('a colorimetry whose matrix overflows 16 bits is an error, not a read past the tables', () => {
  // 1 - kr - kb near 0 makes the green coefficients explode (kr 0.5, kb 0.4999 crashed the process)
  const img = frameOf(capsFor('I420', 64, 48), randomBytes(planesFor('I420', 64, 48).size, 5)).image();
  for (const kb of [0.4999, 0.49999999]) {
    const bad = { ...img, colorimetry: { ...img.colorimetry!, kr: 0.5, kb } };
    expect(() => toRGB(bad)).toThrow(expect.objectContaining({
      code: 'EINVAL', message: expect.stringContaining('leave too little green (1 - kr - kb'),
    }));
    expect(() => toRGBA(bad)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  }
  // an unusual matrix that still fits converts
  expect(toRGB({ ...img, colorimetry: { ...img.colorimetry!, kr: 0.4, kb: 0.4 } }).data.length).toBe(64 * 48 * 3);
});

test('a stride or destination stride whose rows pass 2^64 bytes is an error, not a read of wild memory', () => {
  // (rows - 1) * stride wrapped past 2^64 in the addon's bounds check, which
  // then passed: a segmentation fault. In a child, so a regression kills it, not jest.
  const dist = (f: string) => JSON.stringify(path.join(repoRoot, 'dist', f));
  const script = `
    const { toRGB, toRGBA, toGray, encodePng } = await import(${dist('index.js')});
    const { native } = await import(${dist('native.js')});
    const out = [];
    const attempt = async (what, fn) => {
      try { await fn(); out.push({ what, converted: true }); }
      catch (e) { out.push({ what, name: e.name, code: e.code, message: e.message }); }
    };
    const huge = 2 ** 52;
    const gray = { width: 1, height: 4097, channels: 1, format: 'GRAY8', stride: huge, bitsPerSample: 8,
      planes: [{ offset: 0, stride: huge, height: 4097 }], data: new Uint8Array(16), encoded: false };
    const i420 = { width: 2, height: 8194, channels: 1, format: 'I420', stride: 2, bitsPerSample: 8,
      planes: [{ offset: 0, stride: 2, height: 8194 }, { offset: 16388, stride: huge, height: 4097 },
        { offset: 16388, stride: 1, height: 4097 }], data: new Uint8Array(16388 + 8194), encoded: false };
    await attempt('toRGB', () => toRGB(gray));
    await attempt('toRGBA', () => toRGBA(gray));
    await attempt('toGray', () => toGray(gray));
    await attempt('encodePng', () => encodePng(gray));
    await attempt('toRGB I420 chroma', () => toRGB(i420));
    await attempt('dstStride', () => native.convert(new Uint8Array(4097), { format: 'GRAY8', width: 1, height: 4097,
      offsets: [0], strides: [1] }, new Uint8Array(16), huge, 1));
    console.log(JSON.stringify(out));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60000 });
  expect({ signal: child.signal, status: child.status, stderr: child.stderr }).toEqual({ signal: null, status: 0, stderr: '' });
  const results = JSON.parse(child.stdout) as { what: string; name?: string; code?: string; message?: string }[];
  expect(results.map((r) => r.what)).toEqual(['toRGB', 'toRGBA', 'toGray', 'encodePng', 'toRGB I420 chroma', 'dstStride']);
  for (const r of results.slice(0, 3))
    expect(r).toMatchObject({ name: 'TypeError', code: 'EINVAL',
      message: 'convert: plane 0 (offset 0, stride 4503599627370496, 4097 rows) does not fit in the 16 source bytes' });
  expect(results[3]).toMatchObject({ code: 'EINVAL', message: expect.stringContaining('does not fit in the 16 source bytes') });
  expect(results[4]).toMatchObject({ name: 'TypeError', code: 'EINVAL', message: expect.stringContaining('plane 1 (offset 16388, stride 4503599627370496') });
  expect(results[5]).toMatchObject({ name: 'TypeError', code: 'EINVAL', message: 'convert: the destination is too small' });
});

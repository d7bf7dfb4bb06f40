// Pixel conversion in this Node process, one 1080p frame at a time: toRGB
// (the addon's C kernel, native/addon/convert.c) against the same work in
// plain JS and, where sharp can take the input (interleaved bytes only: no
// planar YUV), against sharp/libvips; and JPEG decoding through
// decodeImage (sharp). Frames are made here; the figure is ms per frame.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { median, summary } from './stats.mjs';

const W = 1920;
const H = 1080;

export const CASES = [
  { id: 'i420-c', frame: '1080p I420 → RGB', method: 'toRGB (addon, C), into a reused buffer', format: 'I420' },
  { id: 'i420-c-new', frame: '1080p I420 → RGB', method: 'toRGB (addon, C), a new buffer per frame', format: 'I420' },
  { id: 'i420-js', frame: '1080p I420 → RGB', method: 'the same arithmetic in JS', format: 'I420' },
  { id: 'nv12-c', frame: '1080p NV12 → RGB', method: 'toRGB (addon, C; chroma upsampled), reused buffer', format: 'NV12' },
  { id: 'yuy2-c', frame: '1080p YUY2 → RGB', method: 'toRGB (addon, C; chroma upsampled), reused buffer', format: 'YUY2' },
  { id: 'bgrx-c', frame: '1080p BGRx → RGB', method: 'toRGB (addon, C), reused buffer', format: 'BGRx' },
  { id: 'bgrx-js', frame: '1080p BGRx → RGB', method: 'per-pixel JS loop (the earlier toRGB)', format: 'BGRx' },
  { id: 'bgrx-sharp', frame: '1080p BGRx → RGB', method: 'sharp: recomb + removeAlpha', format: 'BGRx' },
  { id: 'jpeg-sharp', frame: '1080p JPEG (q90) → RGB', method: 'decodeImage (sharp)', format: 'JPEG' },
];

async function load(repo) {
  const api = await import(pathToFileURL(path.join(repo, 'dist', 'index.js')).href);
  const { default: sharp } = await import('sharp');
  return { api, sharp };
}

// Deterministic bytes with some structure (a gradient plus noise).
function bytes(n, seed) {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = ((i % 1920) >> 3) + ((x >>> 24) & 31);
  }
  return out;
}

function image(api, format) {
  const { planes, size } = api.planesFor(format, W, H);
  const img = { width: W, height: H, format, channels: 1, stride: planes[0].stride, bitsPerSample: 8, planes, data: bytes(size, 7), encoded: false };
  if (format.length === 4 && format !== 'I420' && format !== 'NV12' && format !== 'YUY2') img.channels = 4;
  if (['I420', 'NV12', 'YUY2'].includes(format)) img.colorimetry = api.yuvColorimetry(undefined, H);
  return img;
}

// videoconvert's kernel as plain JS (tables per sample value, as in convert.c).
function i420js(img) {
  const c = img.colorimetry;
  const ys = 255 / 219, cs = 255 / 224, kg = 1 - c.kr - c.kb;
  const p = [ys, cs * 2 * (1 - c.kr), cs * 2 * (1 - c.kb), -cs * 2 * (1 - c.kb) * c.kb / kg, -cs * 2 * (1 - c.kr) * c.kr / kg]
    .map((v) => Math.round(v * 256));
  const t = p.map((k) => Int16Array.from({ length: 256 }, (_, v) => Math.floor((((v - 128) * 256 + (v ^ 0x80)) * k) / 65536)));
  const clamp = Uint8Array.from({ length: 2048 }, (_, i) => Math.min(127, Math.max(-128, i - 1024)) + 128);
  const out = new Uint8Array(W * H * 3);
  const [y0, u0, v0] = img.planes;
  const d = img.data;
  for (let y = 0; y < H; y++) {
    let o = y * W * 3;
    for (let x = 0; x < W; x++, o += 3) {
      const u = d[u0.offset + (y >> 1) * u0.stride + (x >> 1)];
      const v = d[v0.offset + (y >> 1) * v0.stride + (x >> 1)];
      const yy = t[0][d[y0.offset + y * y0.stride + x]] + 1024;
      out[o] = clamp[yy + t[1][v]];
      out[o + 1] = clamp[yy + t[3][u] + t[4][v]];
      out[o + 2] = clamp[yy + t[2][u]];
    }
  }
  return out;
}

function bgrxJs(img) {
  const out = new Uint8Array(W * H * 3);
  const d = img.data;
  for (let y = 0; y < H; y++) {
    let i = y * img.stride;
    let o = y * W * 3;
    for (let x = 0; x < W; x++, i += 4, o += 3) {
      out[o] = d[i + 2];
      out[o + 1] = d[i + 1];
      out[o + 2] = d[i];
    }
  }
  return out;
}

/** Per case: a function converting one frame (sync or async). */
async function prepare(repo) {
  const { api, sharp } = await load(repo);
  const imgs = Object.fromEntries(['I420', 'NV12', 'YUY2', 'BGRx'].map((f) => [f, image(api, f)]));
  const jpegBytes = await sharp(Buffer.from(bytes(W * H * 3, 3)), { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
  const jpeg = { width: W, height: H, format: 'JPEG', channels: 3, stride: 0, bitsPerSample: 8, planes: [], data: new Uint8Array(jpegBytes), encoded: true, mimeType: 'image/jpeg' };
  const swap = [[0, 0, 1], [0, 1, 0], [1, 0, 0]];
  const out = new Uint8Array(W * H * 3);
  return {
    'i420-c': () => api.toRGB(imgs.I420, { out }),
    'i420-c-new': () => api.toRGB(imgs.I420),
    'i420-js': () => i420js(imgs.I420),
    'nv12-c': () => api.toRGB(imgs.NV12, { out }),
    'yuy2-c': () => api.toRGB(imgs.YUY2, { out }),
    'bgrx-c': () => api.toRGB(imgs.BGRx, { out }),
    'bgrx-js': () => bgrxJs(imgs.BGRx),
    'bgrx-sharp': () => sharp(imgs.BGRx.data, { raw: { width: W, height: H, channels: 4 } }).removeAlpha().recomb(swap).raw().toBuffer(),
    'jpeg-sharp': () => api.decodeImage(jpeg),
  };
}

let prepared;

/** One round of one case: the median ms per frame over `n` frames (after warm-up frames). */
export async function measure(ctx, c, quick) {
  prepared ??= await prepare(ctx.repo);
  const fn = prepared[c.id];
  const n = quick ? 2 : (c.id.endsWith('-js') ? 15 : 60);
  for (let i = 0; i < (quick ? 1 : 3); i++) await fn();
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { ms: median(times), min: Math.min(...times) };
}

export function convertTable(results) {
  const f = (v, d) => (Number.isFinite(v) ? v.toFixed(d) : '–');
  const rows = CASES.map((c) => {
    const cell = results[c.id];
    const s = summary(cell.runs.map((r) => r.ms));
    const best = Math.min(...cell.runs.map((r) => r.min));
    const err = cell.errors.length ? `${cell.errors.length} failed: ${cell.errors[0].slice(0, 80)}` : '';
    return [c.frame, c.method, f(s.median, 2), f(best, 2), f(1000 / s.median, 0), s.n > 1 ? `${f(((s.max - s.min) / s.median) * 100, 0)}%` : '–', err];
  });
  return { head: ['frame', 'method', 'ms/frame (median)', 'fastest frame ms', 'frames/s', 'spread', 'errors'], rows };
}

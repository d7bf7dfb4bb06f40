// zerobuffer ingest / serve end to end: a camera server written here (TCP)
// and a recorded stream file feed `ingest`; the images cross rings, zerosrc
// and zerosink, and come back out of `serve` to a TCP client (or into a
// 16-bit `run --snapshot`). Pixels are byte-exact everywhere; attributes
// survive the rings (not GStreamer).
import { jest } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { EXIT } from '../../src/cli/exit-codes.js';
import { formatImgMessage, ingestImg, inspectRing, parseImgMessages, ZeroBufferReader, type ImgMessage } from '../../src/index.js';
import { gstLaunch, leftovers, readPng, repoRoot, ringName, run, runOnTerminal, sleep, type Child } from './helpers.js';

jest.setTimeout(60000);

const bin = path.join(repoRoot, 'dist', 'cli', 'bin.js');
const gstEnv = { GST_PLUGIN_PATH: path.join(repoRoot, 'builddir', 'gst-plugin') };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-img-'));
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  expect(leftovers()).toEqual([]);
});

const [W, H] = [64, 48];
const images = Array.from({ length: 5 }, (_, i) => ({
  pixels: new Uint8Array(randomBytes(W * H * 2)),
  attributes: { imageId: String(i + 1), timestamp: `{2024-04-25T12:34:56.${String(100 + i)}}` },
}));
const wire = Buffer.concat(images.map((m) => formatImgMessage({ width: W, height: H, data: m.pixels }, m.attributes)));
const allPixels = Buffer.concat(images.map((m) => m.pixels));
const recording = path.join(dir, 'camera.img');
fs.writeFileSync(recording, wire);

/** A camera server: sends `bytes` to each client in 1000-byte pieces, then closes. */
async function cameraServer(bytes: Uint8Array): Promise<{ port: number; close: () => void }> {
  const server = net.createServer(async (socket) => {
    for (let i = 0; i < bytes.length; i += 1000) {
      socket.write(bytes.subarray(i, i + 1000));
      await sleep(1);
    }
    socket.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

async function until<T>(what: string, fn: () => T | undefined | null, ms = 15000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== null) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Connects to serve's port (read from its stderr) and collects everything until it closes. */
async function client(serve: Child): Promise<{ received: Promise<Buffer> }> {
  const address = await until('serve to listen', () => /listening on tcp 127\.0\.0\.1:(\d+)/.exec(serve.stderr)?.[1]);
  const socket = net.connect({ host: '127.0.0.1', port: Number(address) });
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  // wrapped: an async function returning a bare promise would wait for it
  return { received: new Promise((resolve, reject) => socket.on('end', () => resolve(Buffer.concat(chunks))).on('error', reject)) };
}

async function parsed(bytes: Buffer): Promise<ImgMessage[]> {
  const out: ImgMessage[] = [];
  for await (const m of parseImgMessages(Readable.from([bytes]))) out.push(m);
  return out;
}

test('a camera server on TCP → ingest → zerosrc: the pixels come out of zerosrc byte-exact as GRAY16_BE', async () => {
  const camera = await cameraServer(wire);
  const name = ringName('img-src');
  const out = path.join(dir, 'zerosrc.raw');
  const gst = run('gst-launch-1.0', ['-e', '-v', 'zerosrc', `buffer-name=${name}`, '!', 'filesink', `location=${out}`], gstEnv);
  const ingest = run(process.execPath, [bin, 'ingest', 'img', `tcp:127.0.0.1:${camera.port}`, '--name', name, '--camera-id', 'lab-1']);
  expect(await ingest.exit()).toBe(EXIT.ok);
  expect(ingest.stderr).toContain(`5 images of 64x48 into ring ${name}`);
  expect(await gst.exit()).toBe(0);
  camera.close();
  expect(fs.readFileSync(out).equals(allPixels)).toBe(true);
  expect(gst.stdout.join('\n')).toMatch(/zerosrc.*caps = video\/x-raw, format=\(string\)GRAY16_BE, width=\(int\)64, height=\(int\)48/);
});

test('and back: a recorded stream → ingest → ring → serve → TCP client, byte for byte, attributes included', async () => {
  const name = ringName('img-back');
  const serve = run(process.execPath, [bin, 'serve', 'img', 'tcp:0', '--name', name, '--payload-size', String(1 << 20)]);
  const { received } = await client(serve);
  const ingest = run(process.execPath, [bin, 'ingest', 'img', recording, '--name', name]);
  expect(await ingest.exit()).toBe(EXIT.ok);
  expect((await received).equals(wire)).toBe(true);
  expect(await serve.exit()).toBe(EXIT.ok);
  expect(serve.stderr).toContain('5 images served');
});

test('through GStreamer both ways: ingest (GRAY16_LE) → zerosrc ! zerosink → serve: the same pixels on the wire', async () => {
  const upstream = ringName('img-up');
  const serve = run(process.execPath, [bin, 'serve', 'img', 'tcp:0', '--pipeline', `zerosrc buffer-name=${upstream}`,
    '--payload-size', String(1 << 20)], gstEnv);
  const { received } = await client(serve);
  const ingest = run(process.execPath, [bin, 'ingest', 'img', recording, '--name', upstream, '--format', 'GRAY16_LE']);
  expect(await ingest.exit()).toBe(EXIT.ok);
  const messages = await parsed(await received);
  expect(await serve.exit()).toBe(EXIT.ok);
  expect(messages.map((m) => [m.height, m.width])).toEqual(images.map(() => [H, W]));
  expect(Buffer.concat(messages.map((m) => m.pixels)).equals(allPixels)).toBe(true);
  expect(messages[0]!.attributes).toEqual({}); // GStreamer buffers do not carry them
});

test.each(['GRAY16_BE', 'GRAY16_LE'])('an odd width (5x3), %s: ingest pads each row to GStreamer\'s stride; zerosrc ! videoconvert takes the frames, and serve gives the pixels back unpadded', async (format) => {
  const odd = Array.from({ length: 3 }, () => ({ width: 5, height: 3, data: new Uint8Array(randomBytes(5 * 3 * 2)) }));
  const oddFile = path.join(dir, `odd-${format}.img`);
  fs.writeFileSync(oddFile, Buffer.concat(odd.map((m) => formatImgMessage(m, {}))));
  const upstream = ringName('img-odd');
  // videoconvert to the other byte order and back: it refuses frames whose size the caps do not give
  const other = format === 'GRAY16_BE' ? 'GRAY16_LE' : 'GRAY16_BE';
  const serve = run(process.execPath, [bin, 'serve', 'img', 'tcp:0', '--pipeline',
    `zerosrc buffer-name=${upstream} ! videoconvert ! video/x-raw,format=${other} ! videoconvert ! video/x-raw,format=${format}`,
    '--payload-size', String(1 << 16)], gstEnv);
  const { received } = await client(serve);
  const ingest = run(process.execPath, [bin, 'ingest', 'img', oddFile, '--name', upstream, '--format', format]);
  expect(await ingest.exit()).toBe(EXIT.ok);
  const messages = await parsed(await received);
  expect(await serve.exit()).toBe(EXIT.ok);
  expect(serve.stderr).not.toMatch(/WARN|not implemented/i);
  expect(messages.map((m) => Buffer.from(m.pixels).toString('hex'))).toEqual(odd.map((m) => Buffer.from(m.data).toString('hex')));
});

test.each(['GRAY16_BE', 'GRAY16_LE'])('run "zerosrc ..." --snapshot of an ingested 5x3 image (%s) is a 16-bit gray PNG of the sent samples, every one exact', async (format) => {
  const image = { width: 5, height: 3, data: new Uint8Array(randomBytes(5 * 3 * 2)) };
  const file = path.join(dir, `snap-${format}.img`);
  fs.writeFileSync(file, formatImgMessage(image, {}));
  const upstream = ringName('img-snap');
  const png = path.join(dir, `snap-${format}.png`);
  const snap = run(process.execPath, [bin, 'run', `zerosrc buffer-name=${upstream}`, '--name', ringName('img-snapped'), '--frames', '1',
    '--snapshot', png, '--json'], gstEnv);
  const ingest = run(process.execPath, [bin, 'ingest', 'img', file, '--name', upstream, '--format', format]);
  expect(await ingest.exit()).toBe(EXIT.ok);
  expect(await snap.exit()).toBe(EXIT.ok);
  // before: an 8-bit RGB PNG (depth 8, colour type 2) of each sample's high byte
  const sent = Array.from({ length: 15 }, (_, i) => Buffer.from(image.data).readUInt16BE(i * 2)); // img= is big-endian
  expect(readPng(fs.readFileSync(png))).toEqual({ width: 5, height: 3, bitDepth: 16, colourType: 0, samples: sent });
});

test('frame attributes reach a Node reader; a picture of another size ends the ingest, the ones before it stay', async () => {
  const reader = await ZeroBufferReader.create({ name: ringName('img-size'), metadataSize: 4096, payloadSize: 1 << 20 });
  const other = formatImgMessage({ width: 8, height: 8, data: new Uint8Array(128) }, { imageId: '3' });
  const file = path.join(dir, 'resized.img');
  fs.writeFileSync(file, Buffer.concat([wire.subarray(0, wire.length * 2 / 5), other]));
  const ingest = run(process.execPath, [bin, 'ingest', 'img', file, '--name', reader.name]);
  const got: unknown[] = [];
  for await (const f of reader.frames({ timeoutMs: 15000 })) got.push({ attributes: f.attributes, same: Buffer.from(f.data).equals(images[got.length]!.pixels) });
  expect(await ingest.exit()).toBe(EXIT.stream);
  expect(ingest.stderr).toMatch(/image 3 is u16\[8,8\], but the ring's caps say 48x64.*the 2 images before it are in ring/);
  expect(ingest.stderr).toContain(`(img= stream, byte ${wire.length * 2 / 5})`); // where image 3 begins
  expect(got).toEqual(images.slice(0, 2).map((m) => ({ attributes: m.attributes, same: true })));
  await reader.close();
});

test('timestamp= becomes the PTS, relative to the first image; one missing, not a date or going back gets its arrival on the same timeline', async () => {
  const reader = await ZeroBufferReader.create({ name: ringName('img-pts'), metadataSize: 4096, payloadSize: 1 << 20 });
  const stamps = ['{2024-04-25T23:59:59.9}', '{2024-04-26T00:00:00.000000123}', undefined, '{yesterday}',
    '{2024-04-25T23:59:59.5}', '{2024-04-26T02:00:01+02:00}'];
  const bytes = Buffer.concat(stamps.map((t, i) => formatImgMessage({ width: 2, height: 1, data: new Uint8Array(4).fill(i) },
    t === undefined ? {} : { timestamp: t })));
  const done = ingestImg(Readable.from([bytes]), { name: reader.name });
  const pts: (number | undefined)[] = [];
  const meta: [number, string][] = [];
  for await (const f of reader.frames({ timeoutMs: 15000 })) {
    pts.push(f.pts);
    meta.push([f.imageMeta.timestamp_ms, f.imageMeta.timestamp_source]);
  }
  expect(await done).toMatchObject({ frames: 6 });
  // before: no PTS for images 3-5, and imageMeta gave their CLOCK_MONOTONIC commit times, hours from the others
  const [first, second, ...rest] = pts as number[];
  expect([first, second, rest[3]]).toEqual([0, 100_000_123, 1_100_000_000]);
  // 3-5: the previous PTS plus the time since the previous image came (a local stream: well under 0.5 s in all)
  expect(rest.slice(0, 3).every((p, i) => Number.isInteger(p) && p > (i === 0 ? second! : rest[i - 1]!))).toBe(true);
  expect(rest[2]! - second!).toBeLessThan(500_000_000);
  expect(meta.map(([ms, source]) => [ms * 1e6, source])).toEqual(pts.map((p) => [expect.closeTo(p!, -1), 'pts']));
  await reader.close();
});

test('a stream whose first images have no timestamp: PTS 0 at the first, and the first stamped one is placed at its arrival, the camera\'s time from there', async () => {
  const reader = await ZeroBufferReader.create({ name: ringName('img-pts-late'), metadataSize: 4096, payloadSize: 1 << 20 });
  const stamps = [undefined, '{2024-04-26T00:00:00}', '{2024-04-26T00:00:00.250}', '{2024-04-26T00:00:00.100}', '{2024-04-26T00:00:00.500}'];
  const bytes = Buffer.concat(stamps.map((t, i) => formatImgMessage({ width: 2, height: 1, data: new Uint8Array(4).fill(i) },
    t === undefined ? {} : { timestamp: t })));
  const done = ingestImg(Readable.from([bytes]), { name: reader.name });
  const pts: number[] = [];
  for await (const f of reader.frames({ timeoutMs: 15000 })) pts.push(f.pts!);
  expect(await done).toMatchObject({ frames: 5 });
  const at = pts[1]!; // the second image's arrival: after the first, well under 0.25 s on
  expect(at).toBeGreaterThan(0);
  expect(at).toBeLessThan(250_000_000);
  expect(pts[0]).toBe(0);
  expect(pts[2]).toBe(at + 250_000_000);
  expect(pts[3]).toBeGreaterThan(pts[2]!); // went back: its arrival, after the one before
  expect(pts[3]).toBeLessThan(at + 500_000_000);
  expect(pts[4]).toBe(at + 500_000_000);
  await reader.close();
});

test('an image 2^64 - 1 ns (584 years) after the first, a PTS the header cannot take as a double, is stamped by its arrival', async () => {
  const reader = await ZeroBufferReader.create({ name: ringName('img-pts-far'), metadataSize: 4096, payloadSize: 1 << 20 });
  const stamps = ['{1970-01-01T00:00:00Z}', '{2554-07-21T23:34:33.709551615Z}', '{1970-01-01T00:00:01Z}'];
  const bytes = Buffer.concat(stamps.map((t, i) => formatImgMessage({ width: 2, height: 1, data: new Uint8Array(4).fill(i) }, { timestamp: t })));
  const done = ingestImg(Readable.from([bytes]), { name: reader.name });
  const pts: number[] = [];
  for await (const f of reader.frames({ timeoutMs: 15000 })) pts.push(f.pts!);
  expect(await done).toMatchObject({ frames: 3 });
  expect(pts[0]).toBe(0);
  expect(pts[1]).toBeGreaterThan(0);
  expect(pts[1]).toBeLessThan(500_000_000);
  expect(pts[2]).toBe(1_000_000_000);
  await reader.close();
});

test('timestamp= with more than 9 fraction digits (as the README allows any number) gives a PTS, cut to nanoseconds', async () => {
  const reader = await ZeroBufferReader.create({ name: ringName('img-pts12'), metadataSize: 4096, payloadSize: 1 << 20 });
  const stamps = ['{2024-04-25T12:34:56.100000000000}', '{2024-04-25T12:34:56.200000000999Z}', '{2024-04-25T12:34:57.3000000009999999}'];
  const bytes = Buffer.concat(stamps.map((t) => formatImgMessage({ width: 2, height: 1, data: new Uint8Array(4) }, { timestamp: t })));
  const done = ingestImg(Readable.from([bytes]), { name: reader.name });
  const pts: (number | undefined)[] = [];
  for await (const f of reader.frames({ timeoutMs: 15000 })) pts.push(f.pts);
  expect(await done).toMatchObject({ frames: 3 });
  expect(pts).toEqual([0, 100_000_000, 1_200_000_000]);
  await reader.close();
});

test('a header that is not UTF-8 (a Latin-1 µ): a Node reader sees it read as Latin-1, marked img.encoding; ingest → ring → serve gives the same bytes back', async () => {
  const latin1 = Buffer.concat([
    Buffer.from('img=\x01u16[1,2] unit=\xb5s note={caf\xe9 1\xa0000}\x02\x00\x01\x00\x02\x03\n', 'latin1'),
    formatImgMessage({ width: 2, height: 1, data: Uint8Array.of(0, 3, 0, 4) }, { unit: 'µs' }), // valid UTF-8 next to it
  ]);
  const file = path.join(dir, 'latin1.img');
  fs.writeFileSync(file, latin1);
  const reader = await ZeroBufferReader.create({ name: ringName('img-l1'), metadataSize: 4096, payloadSize: 1 << 20 });
  const ingest = run(process.execPath, [bin, 'ingest', 'img', file, '--name', reader.name]);
  const attributes: unknown[] = [];
  for await (const f of reader.frames({ timeoutMs: 15000 })) attributes.push(f.attributes);
  await reader.close();
  expect(await ingest.exit()).toBe(EXIT.ok);
  expect(attributes).toEqual([{ unit: 'µs', note: '{café 1\u00a0000}', 'img.encoding': 'latin1' }, { unit: 'µs' }]);
  // and back out: before, each byte that was not UTF-8 came back as EF BF BD (U+FFFD)
  const name = ringName('img-l1back');
  const out = path.join(dir, 'latin1-out.img');
  const serve = run(process.execPath, [bin, 'serve', 'img', out, '--name', name]);
  await until('serve to wait for a writer', () => /is waiting for a writer/.exec(serve.stderr));
  const again = run(process.execPath, [bin, 'ingest', 'img', file, '--name', name]);
  expect(await again.exit()).toBe(EXIT.ok);
  expect(await serve.exit()).toBe(EXIT.ok);
  expect(serve.stderr).not.toMatch(/warning/);
  expect(fs.readFileSync(out).toString('hex')).toBe(latin1.toString('hex'));
});

test('serve leaves out zerosink\'s own caps attribute (sent after its caps changed): PNGs of two sizes give two images without it', async () => {
  for (const [i, w, h] of [[0, 4, 4], [1, 5, 3]] as const) {
    await gstLaunch(['-q', 'videotestsrc', 'num-buffers=1', '!', `video/x-raw,format=GRAY16_BE,width=${w},height=${h}`,
      '!', 'pngenc', '!', 'filesink', `location=${path.join(dir, `g${i}.png`)}`], {}, 20000);
  }
  const out = path.join(dir, 'caps-change.img');
  const serve = run(process.execPath, [bin, 'serve', 'img', out, '--name', ringName('img-capsattr'), '--sink-property', 'frame-header=true',
    '--fast', '--pipeline', `multifilesrc location=${path.join(dir, 'g%d.png')} stop-index=1 caps=image/png,framerate=1/1 ! pngdec`], gstEnv);
  expect(await serve.exit()).toBe(EXIT.ok);
  const messages = await parsed(fs.readFileSync(out));
  expect(messages.map((m) => [m.height, m.width])).toEqual([[4, 4], [3, 5]]);
  // before, the second carried caps={video/x-raw, format=(string)GRAY16_BE, width=(int)5, ...}
  expect(messages.map((m) => m.attributes)).toEqual([{}, {}]);
});

test('a stale ring (its reader killed) is waited on until a new reader creates it again, as zerosink does', async () => {
  // Before, ingest took the dead reader (EREADERGONE) for good and failed at once.
  const name = ringName('img-stale');
  const dead = run(process.execPath, ['--input-type=module', '-e',
    `const { ZeroBufferReader } = await import(${JSON.stringify(path.join(repoRoot, 'dist', 'index.js'))});` +
    `await ZeroBufferReader.create({ name: ${JSON.stringify(name)}, metadataSize: 4096, payloadSize: 65536 });` +
    'console.log("ready"); setInterval(() => {}, 1000);']);
  await dead.line(/^ready$/);
  dead.proc.kill('SIGKILL');
  await dead.exit();
  const bytes = Buffer.concat([1, 2, 3].map((i) => formatImgMessage({ width: 2, height: 1, data: new Uint8Array(4).fill(i) }, {})));
  const done = ingestImg(Readable.from([bytes]), { name, connectTimeoutMs: 10000 });
  await sleep(300); // ingest finds the stale ring meanwhile
  const reader = await ZeroBufferReader.create({ name, metadataSize: 4096, payloadSize: 65536 }); // sweeps it
  const first: number[] = [];
  for await (const f of reader.frames({ timeoutMs: 10000 })) first.push(f.data[0]!);
  expect(await done).toMatchObject({ frames: 3 });
  expect(first).toEqual([1, 2, 3]);
  await reader.close();
});

test('bad input and missing peers: exit codes and messages that say what is wrong', async () => {
  const bad = path.join(dir, 'bad.img');
  fs.writeFileSync(bad, 'img=\x01u8[2,2]\x02');
  const reader = await ZeroBufferReader.create({ name: ringName('img-bad'), metadataSize: 4096, payloadSize: 65536 });
  const shape = run(process.execPath, [bin, 'ingest', 'img', bad, '--name', reader.name]);
  expect(await shape.exit()).toBe(EXIT.stream);
  expect(shape.stderr).toContain('bad shape "u8[2,2]": expected u16[HEIGHT,WIDTH]');
  await reader.close();
  const noRing = run(process.execPath, [bin, 'ingest', 'img', recording, '--name', ringName('img-none'), '--connect-timeout', '200']);
  expect(await noRing.exit()).toBe(EXIT.ring);
  expect(noRing.stderr).toMatch(/ENOENT.*the ring's reader creates it/);
  // the wait is named as the CLI user gave it, and no wait is not "waited 0 ms: connectTimeoutMs"
  expect(noRing.stderr).toMatch(/\(waited 200 ms: --connect-timeout\)/);
  const noWait = run(process.execPath, [bin, 'ingest', 'img', recording, '--name', ringName('img-none'), '--connect-timeout', '0']);
  expect(await noWait.exit()).toBe(EXIT.ring);
  expect(noWait.stderr).toMatch(/\(no wait: --connect-timeout is 0\)/);
  const closed = await cameraServer(wire);
  closed.close();
  await sleep(50);
  const refused = run(process.execPath, [bin, 'ingest', 'img', `tcp:127.0.0.1:${closed.port}`, '--name', 'x']);
  expect(await refused.exit()).toBe(EXIT.stream);
  expect(refused.stderr).toMatch(/cannot open tcp:127\.0\.0\.1:\d+: connect ECONNREFUSED/);
  // a port in use: said with what to do (it was Node's "listen EADDRINUSE" alone)
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const inUse = run(process.execPath, [bin, 'serve', 'img', `tcp:${(taken.address() as net.AddressInfo).port}`, '--name', ringName('img-port')]);
  expect(await inUse.exit()).toBe(EXIT.stream);
  taken.close();
  expect(inUse.stderr).toMatch(/listen EADDRINUSE: .*: another program listens on that port; give another, or tcp:0 for a free one/);
  const usage = run(process.execPath, [bin, 'ingest', 'jpeg', recording, '--name', 'x']);
  expect(await usage.exit()).toBe(EXIT.usage);
  const notGray = run(process.execPath, [bin, 'serve', 'img', '-', '--frames', '1', '--pipeline',
    'videotestsrc num-buffers=1 ! video/x-raw,format=GRAY8,width=8,height=8']);
  expect(await notGray.exit()).toBe(EXIT.stream);
  expect(notGray.stderr).toContain('img= messages carry GRAY16 pictures; this one is GRAY8');
  // and serve --help says so under status 6 (it said only "its connection or file failed")
  const help = spawnSync(process.execPath, [bin, 'serve', '--help'], { encoding: 'utf8' });
  expect(help.stdout.replace(/\s+/g, ' ')).toMatch(/ 6 a frame img= cannot carry \(not GRAY16: img= messages are 16-bit gray\), or its connection or file failed/);
});

test('an empty input names a ring all the same: none there after --connect-timeout is a ring error (status 4, not "0 images" and success); one created meanwhile is found, untouched (status 0), also by --connect-timeout -1 (no limit)', async () => {
  const missing = ringName('img-empty');
  const started = Date.now();
  const none = run(process.execPath, [bin, 'ingest', 'img', '/dev/null', '--name', missing, '--connect-timeout', '300']);
  expect(await none.exit()).toBe(EXIT.ring);
  expect(Date.now() - started).toBeGreaterThanOrEqual(300); // waited as the first image would have
  expect(none.stderr).toMatch(new RegExp(`^zerobuffer ingest: /dev/null had no image, and ring ${missing}: no ring named "${missing}" .*` +
    '\\(waited 300 ms: --connect-timeout\\) \\(ENOENT\\) \\(the ring\'s reader creates it'));
  expect(none.stderr).not.toContain('0 images into ring');

  for (const timeout of ['10000', '-1']) {
    const name = ringName('img-empty');
    const later = run(process.execPath, [bin, 'ingest', 'img', '/dev/null', '--name', name, '--connect-timeout', timeout]);
    await sleep(300);
    const reader = await ZeroBufferReader.create({ name, metadataSize: 4096, payloadSize: 65536 });
    try {
      expect({ timeout, status: await later.exit() }).toEqual({ timeout, status: EXIT.ok });
      expect(later.stderr).toBe(`zerobuffer ingest: 0 images into ring ${name}\n`);
      expect(reader.stats()).toMatchObject({ writerPid: 0, writtenCount: 0 }); // no writer ever came
    } finally {
      await reader.close();
    }
  }
});

test('an ingest that fails before its first image (a bad first header; an empty input) leaves the ring untouched: serve waits on and takes the next ingest\'s images', async () => {
  const name = ringName('img-nofirst');
  const out = path.join(dir, 'after-failed.img');
  const serve = run(process.execPath, [bin, 'serve', 'img', out, '--name', name, '--payload-size', String(1 << 20)]);
  await until('serve to wait for a writer', () => serve.stderr.includes('is waiting for a writer') || undefined);
  const bad = path.join(dir, 'bad-first.img');
  fs.writeFileSync(bad, Buffer.concat([Buffer.from('img=\x01u16[3,5,2]\x02'), Buffer.alloc(60), Buffer.from('\x03\n')]));
  // the input comes a second late, so a writer connected at once is attached while serve waits: it saw it leave, as end of stream
  const late = (file: string): Child =>
    run('bash', ['-c', '{ sleep 1; cat "$0"; } | "$1" "$2" ingest img - --name "$3"', file, process.execPath, bin, name]);
  const badIngest = late(bad);
  expect(await badIngest.exit()).toBe(EXIT.stream);
  expect(badIngest.stderr).toContain('bad shape "u16[3,5,2]"');
  const emptyIngest = late('/dev/null');
  expect(await emptyIngest.exit()).toBe(EXIT.ok);
  const good = run(process.execPath, [bin, 'ingest', 'img', recording, '--name', name]);
  expect(await good.exit()).toBe(EXIT.ok);
  // before: serve ended at the failed ingest's leaving, "0 images served", and the good ingest found no ring
  expect(await serve.exit()).toBe(EXIT.ok);
  expect(serve.stderr).toContain('5 images served');
  expect(fs.readFileSync(out).equals(wire)).toBe(true);
});

test('serve img - --announce is a usage error (the protocol lines went into the img= stream on stdout, which then did not parse); to a file, the stream parses and stdout has the lines', async () => {
  const name = ringName('serve-an');
  const pipeline = ['--pipeline', 'videotestsrc num-buffers=1 ! video/x-raw,format=GRAY16_BE,width=8,height=4'];
  for (const extra of [pipeline, []]) {
    const r = spawnSync(process.execPath, [bin, 'serve', 'img', '-', '--announce', '--name', name, '--frames', '1', ...extra],
      { env: { ...process.env, ...gstEnv }, timeout: 20000 });
    expect({ extra, status: r.status, stdout: r.stdout.length }).toEqual({ extra, status: EXIT.usage, stdout: 0 });
    expect(r.stderr.toString()).toBe('zerobuffer: --announce prints to stdout, which serve img - sends the img= stream to: ' +
      'give a tcp: or file target, or leave --announce out\nRun "zerobuffer serve --help" for the options.\n');
  }
  const file = path.join(dir, 'announced.img');
  const r = spawnSync(process.execPath, [bin, 'serve', 'img', file, '--announce', '--name', name, '--frames', '1', ...pipeline],
    { env: { ...process.env, ...gstEnv }, encoding: 'utf8', timeout: 20000 });
  expect(r.status).toBe(EXIT.ok);
  expect((await parsed(fs.readFileSync(file))).map((m) => [m.width, m.height])).toEqual([[8, 4]]);
  expect(r.stdout.split('\n').map((l) => /"method":"([a-z-]+)","params":\["([^"]+)"/.exec(l)?.slice(1))).toEqual([
    ['start-stream', name], ['stop-stream', name], undefined]);
  expect(leftovers().filter((n) => n.includes(name))).toEqual([]);
});

test('serve --announce, with a writer of its own or --pipeline, gives the sizes of the ring as created (rounded up to 64), not those asked for', async () => {
  for (const extra of [[], ['--pipeline', 'videotestsrc is-live=true ! video/x-raw,format=GRAY16_BE,width=8,height=4,framerate=30/1']]) {
    const name = ringName('serve-sizes');
    const child = run(process.execPath, [bin, 'serve', 'img', path.join(dir, `${name}.img`), '--announce', '--name', name,
      '--metadata-size', '1000', '--payload-size', '100000', ...extra], gstEnv);
    try {
      const line = await child.line(/"method":"start-stream"/, 20000);
      const ring = inspectRing(name);
      expect([ring.metadataSize, ring.payloadSize]).toEqual([1024, 100032]);
      expect({ extra, line }).toEqual({ extra, line: `> {"jsonrpc":"2.0","method":"start-stream","params":["${name}",${ring.metadataSize},${ring.payloadSize}]}` });
    } finally {
      child.proc.kill('SIGINT');
      expect(await child.exit()).toBe(EXIT.ok);
    }
  }
});

test('serve to a path naming its own stdout (the file stdout is redirected to) is serve img -: --announce refused, and without it the stream is written as stdout has it open, not emptied again; - on a terminal is refused; /dev/null with stdout on /dev/null is a file', async () => {
  const name = ringName('serve-out');
  const file = path.join(dir, 'stdout.img');
  const serveInto = (extra: string[]): ReturnType<typeof spawnSync> => {
    const out = fs.openSync(file, 'w');
    try {
      return spawnSync(process.execPath, [bin, 'serve', 'img', file, '--name', name, '--frames', '2', ...extra, '--pipeline',
        'videotestsrc num-buffers=2 ! video/x-raw,format=GRAY16_BE,width=8,height=4'],
      { env: { ...process.env, ...gstEnv }, stdio: ['ignore', out, 'pipe'], timeout: 20000 });
    } finally {
      fs.closeSync(out);
    }
  };
  const announced = serveInto(['--announce']);
  expect(announced.status).toBe(EXIT.usage);
  expect(announced.stderr.toString()).toContain(`--announce prints to stdout, and ${file} is where stdout goes: give serve img another file`);
  const plain = serveInto([]);
  expect(plain.status).toBe(EXIT.ok);
  expect((await parsed(fs.readFileSync(file))).map((m) => [m.width, m.height])).toEqual([[8, 4], [8, 4]]);
  const tty = runOnTerminal(process.execPath, [bin, 'serve', 'img', '-', '--name', name, '--frames', '1', '--pipeline',
    'videotestsrc num-buffers=1 ! video/x-raw,format=GRAY16_BE,width=8,height=4'], gstEnv);
  expect(await tty.exit()).toBe(EXIT.usage);
  expect(tty.stdout.join('\n')).toContain('the img= stream is binary, and stdout is a terminal');
  // every /dev/null is one file: a command run with >/dev/null may still serve into /dev/null, announced
  const intoNull = spawnSync(process.execPath, [bin, 'serve', 'img', '/dev/null', '--announce', '--name', name, '--frames', '1', '--pipeline',
    'videotestsrc num-buffers=1 ! video/x-raw,format=GRAY16_BE,width=8,height=4'], { env: { ...process.env, ...gstEnv }, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20000 });
  expect({ status: intoNull.status, stderr: intoNull.stderr.toString() }).toEqual({ status: EXIT.ok, stderr: expect.stringContaining('1 image served') });
  expect(leftovers().filter((n) => n.includes(name))).toEqual([]);
});

test('serve to a terminal is a usage error with the help line, as every other: stdout (-) on one, and one named by its path (/dev/tty) while stdout is redirected', async () => {
  const name = ringName('serve-tty');
  const words = [process.execPath, bin, 'serve', 'img', '/dev/tty', '--name', name, '--frames', '1', '--pipeline',
    'videotestsrc num-buffers=1 ! video/x-raw,format=GRAY16_BE,width=8,height=4'].map((w) => `'${w}'`).join(' ');
  // (before: the binary img= stream went onto the terminal, status 0)
  const named = run('script', ['-qefc', `${words} >/dev/null`, '/dev/null'], gstEnv);
  expect(await named.exit()).toBe(EXIT.usage);
  expect(named.stdout.map((l) => l.replace(/\r$/, ''))).toEqual([
    'zerobuffer serve: the img= stream is binary, and /dev/tty is a terminal: give a tcp: target, a file, or - with stdout redirected (> FILE, | a reader)',
    'Run "zerobuffer serve --help" for the options.',
  ]);
  // (before: without the help line)
  const stdout = runOnTerminal(process.execPath, [bin, 'serve', 'img', '-', '--name', name, '--frames', '1', '--pipeline',
    'videotestsrc num-buffers=1 ! video/x-raw,format=GRAY16_BE,width=8,height=4'], gstEnv);
  expect(await stdout.exit()).toBe(EXIT.usage);
  expect(stdout.stdout.map((l) => l.replace(/\r$/, ''))).toEqual([
    'zerobuffer serve: the img= stream is binary, and stdout is a terminal: redirect it (> FILE, | a reader) or give a tcp: or file target',
    'Run "zerobuffer serve --help" for the options.',
  ]);
  expect(leftovers().filter((n) => n.includes(name))).toEqual([]);
});

test('serve --announce without --pipeline says stop-stream too once its ring is gone (it printed start-stream only), as with --pipeline', async () => {
  const name = ringName('serve-an2');
  const file = path.join(dir, 'announced2.img');
  const serve = run(process.execPath, [bin, 'serve', 'img', file, '--announce', '--name', name, '--frames', '1'], gstEnv);
  await serve.line(/"method":"start-stream"/);
  const writer = run('gst-launch-1.0', ['-q', 'videotestsrc', 'num-buffers=1', '!', 'video/x-raw,format=GRAY16_BE,width=8,height=4', '!', 'zerosink', `buffer-name=${name}`], gstEnv);
  expect(await serve.exit()).toBe(EXIT.ok);
  await writer.exit();
  expect(serve.stdout.map((l) => /"method":"([a-z-]+)","params":\["([^"]+)"/.exec(l)?.slice(1) ?? l)).toEqual([
    ['start-stream', name], ['stop-stream', name]]);
  expect((await parsed(fs.readFileSync(file))).map((m) => [m.width, m.height])).toEqual([[8, 4]]);
  expect(leftovers().filter((n) => n.includes(name))).toEqual([]);
});

test('serve into an existing file: frames img= cannot carry leave it as it was (status 6); a stream with no image empties it (status 0)', async () => {
  const file = path.join(dir, 'kept.img');
  fs.writeFileSync(file, 'an earlier recording');
  const rgb = run(process.execPath, [bin, 'serve', 'img', file, '--name', ringName('servekeep'), '--fast', '--pipeline',
    'videotestsrc num-buffers=2 ! video/x-raw,format=RGB,width=8,height=8'], gstEnv);
  expect(await rgb.exit()).toBe(EXIT.stream);
  expect(rgb.stderr).toContain('img= messages carry GRAY16 pictures; this one is RGB');
  expect(fs.readFileSync(file, 'utf8')).toBe('an earlier recording'); // before: empty
  const none = run(process.execPath, [bin, 'serve', 'img', file, '--name', ringName('servenone'), '--fast', '--pipeline',
    'videotestsrc num-buffers=0 ! video/x-raw,format=GRAY16_LE,width=8,height=8'], gstEnv);
  expect(await none.exit()).toBe(EXIT.ok);
  expect(fs.readFileSync(file, 'utf8')).toBe('');
});

test('serve into a file that cannot be written says so before it creates the ring', () => {
  const name = ringName('servenf');
  const r = spawnSync(process.execPath, [bin, 'serve', 'img', '/nonexistent/dir/x.img', '--name', name], { encoding: 'utf8' });
  expect(r.status).toBe(EXIT.stream);
  expect(r.stderr).toMatch(/x\.img cannot be written: directory \/nonexistent\/dir does not exist/);
  expect(r.stderr).not.toMatch(/waiting for a writer/);
});

test.each([{ extra: [] }, { extra: ['--pipeline', 'videotestsrc ! video/x-raw,format=GRAY16_BE,width=8,height=8'] }])('serve on tcp stopped before a client came says so, not that the client went away ($extra)', async ({ extra }) => {
  const name = ringName('servetcp');
  const child = run(process.execPath, [bin, 'serve', 'img', 'tcp:0', '--name', name, ...extra], gstEnv);
  try {
    const end = Date.now() + 10000;
    while (!child.stderr.includes('listening on tcp')) {
      if (Date.now() > end) throw new Error(`serve did not listen; stderr: ${child.stderr}`);
      await sleep(25);
    }
    child.proc.kill('SIGINT');
    expect(await child.exit(5000)).toBe(EXIT.ok);
    expect(child.stderr).toMatch(/0 images served \(stopped before a client came\)/);
  } finally {
    child.proc.kill('SIGKILL');
  }
});

test('serve on tcp with --pipeline starts it once its client is there: a client that comes late still gets every frame', async () => {
  // Started at once, the pipeline would fill this small ring at once, nobody
  // reading it, and zerosink would give up 500 ms later (exit 3, the late
  // client given nothing).
  const name = `sv-late-${randomUUID().slice(0, 8)}`;
  const serve = run(process.execPath, [bin, 'serve', 'img', 'tcp:0', '--name', name, '--frames', '5', '--payload-size', '20000',
    '--sink-property', 'timeout=500', '--pipeline', `videotestsrc ! video/x-raw,format=GRAY16_BE,width=${W},height=${H}`], gstEnv);
  try {
    await until('serve to listen', () => /listening on tcp/.exec(serve.stderr));
    await sleep(3000);
    const before = inspectRing(name); // the ring is there (created before listening), no pipeline writing yet
    const { received } = await client(serve);
    const messages = await parsed(await received);
    expect(await serve.exit()).toBe(EXIT.ok);
    expect(messages.map((m) => [m.height, m.width])).toEqual(images.map(() => [H, W]));
    expect(serve.stderr).toContain('5 images served');
    expect(before).toMatchObject({ writerPid: 0, writtenCount: 0 });
    expect(fs.readdirSync('/dev/shm').filter((n) => n.includes(name))).toEqual([]);
  } finally {
    serve.proc.kill('SIGKILL');
  }
});

test('serve on tcp with --pipeline, its ring name owned by a live reader: status 4 at once (EEXIST), before it listens', async () => {
  const name = `s2-taken-${randomUUID().slice(0, 8)}`;
  const owner = await ZeroBufferReader.create({ name, metadataSize: 64, payloadSize: 1024 });
  const serve = run(process.execPath, [bin, 'serve', 'img', 'tcp:0', '--name', name,
    '--pipeline', `videotestsrc num-buffers=5 ! video/x-raw,format=GRAY16_BE,width=${W},height=${H}`], gstEnv);
  try {
    // no client ever connects: before, it listened and waited for one
    expect(await serve.exit(10000)).toBe(EXIT.ring);
    expect(serve.stderr).toMatch(/zerobuffer serve: cannot create the ring: .*\(EEXIST\)/);
    expect(serve.stderr).not.toMatch(/listening on tcp/);
    expect(inspectRing(name).readerPid).toBe(process.pid); // the owner's ring is left alone
  } finally {
    serve.proc.kill('SIGKILL');
    await owner.close();
  }
  expect(fs.readdirSync('/dev/shm').filter((n) => n.includes(name))).toEqual([]);
});

test.each(['SIGINT', 'SIGTERM'] as const)('serve started by a script (SIGINT ignored at start), waiting for a writer: one %s ends it, status 0, the ring is gone', async (signal) => {
  const name = ringName('servesig');
  const child = run('/bin/bash', ['-c', 'trap "" INT; exec "$0" "$@"', process.execPath, bin, 'serve', 'img', path.join(dir, `${name}.img`), '--name', name]);
  try {
    const end = Date.now() + 10000;
    while (!child.stderr.includes('is waiting for a writer')) {
      if (Date.now() > end) throw new Error(`serve did not wait for a writer; stderr: ${child.stderr}`);
      await sleep(25);
    }
    expect(fs.existsSync(`/dev/shm/${name}`)).toBe(true);
    child.proc.kill(signal);
    const started = Date.now();
    expect(await child.exit(3000)).toBe(EXIT.ok);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(child.stderr).toMatch(/0 images served/);
    expect(fs.readdirSync('/dev/shm').filter((n) => n.includes(name))).toEqual([]);
  } finally {
    child.proc.kill('SIGKILL');
  }
});

test.each(['reset', 'closed'] as const)('serve on tcp: a client that goes away (%s) mid-stream ends the serve, status 0, "the client went away", not an unhandled socket error', async (how) => {
  const name = ringName('servegone');
  const serve = run(process.execPath, [bin, 'serve', 'img', 'tcp:0', '--name', name,
    '--pipeline', `videotestsrc ! video/x-raw,format=GRAY16_LE,width=${W},height=${H}`], gstEnv);
  try {
    const port = await until('serve to listen', () => /listening on tcp 127\.0\.0\.1:(\d+)/.exec(serve.stderr)?.[1]);
    const socket = net.connect({ host: '127.0.0.1', port: Number(port) });
    socket.on('error', () => {});
    let received = 0;
    await new Promise<void>((resolve) => socket.on('data', (d: Buffer) => {
      received += d.length;
      if (received < 3 * W * H * 2) return;
      socket.pause(); // serve's later bytes stay unread: a reset (RST) is what the kernel sends for them
      if (how === 'reset') socket.resetAndDestroy();
      else socket.destroy();
      resolve();
    }));
    expect(await serve.exit(10000)).toBe(EXIT.ok);
    // the bytes the client took hold two whole images and part of a third, whose writes began once the second's
    // were done: at least two were served before it went (counted as they go: 0 on the old code)
    const served = Number(/zerobuffer serve: (\d+) images? served \(the client went away\)\n$/.exec(serve.stderr)?.[1]);
    expect(served).toBeGreaterThanOrEqual(2);
    expect(serve.stderr).not.toMatch(/Unhandled|ECONNRESET|EPIPE/);
    expect(fs.readdirSync('/dev/shm').filter((n) => n.includes(name))).toEqual([]);
  } finally {
    serve.proc.kill('SIGKILL');
  }
});

test('serve into stdout that its reader stops taking (| (head -c 60000; sleep 2)): the count says the images it took, not 0', async () => {
  const name = ringName('servehead');
  const taken = path.join(dir, `${name}.img`);
  // the sleep keeps the pipe open, full, after head went: serve is stopped waiting for it (the sleep's end closes it)
  const child = run('/bin/bash', ['-c', '"$0" "$1" serve img - --name "$2" --pipeline "$3" | (head -c 60000 > "$4"; sleep 2); exit "${PIPESTATUS[0]}"',
    process.execPath, bin, name, `videotestsrc ! video/x-raw,format=GRAY16_LE,width=${W},height=${H}`, taken], gstEnv);
  expect(await child.exit(20000)).toBe(EXIT.ok);
  const begun = fs.readFileSync(taken).toString('latin1').split('img=\x01').length - 1;
  expect(begun).toBeGreaterThanOrEqual(5);
  const served = Number(/zerobuffer serve: (\d+) images? served\n$/.exec(child.stderr)?.[1]);
  expect(served).toBeGreaterThanOrEqual(begun - 1); // the last one begun may be cut
  expect(fs.readdirSync('/dev/shm').filter((n) => n.includes(name))).toEqual([]);
});

test('serve on tcp with --pipeline --announce: start-stream comes once the client is there and the pipeline starts (as its help says), stop-stream at the end', async () => {
  const name = ringName('serveann');
  const serve = run(process.execPath, [bin, 'serve', 'img', 'tcp:0', '--name', name, '--announce', '--frames', '3',
    '--pipeline', `videotestsrc ! video/x-raw,format=GRAY16_LE,width=${W},height=${H}`], gstEnv);
  try {
    await until('serve to listen', () => /listening on tcp/.exec(serve.stderr));
    await sleep(1000);
    expect(serve.stdout).toEqual([]); // the ring exists, nobody reads it yet
    const { received } = await client(serve);
    expect(await parsed(await received)).toHaveLength(3);
    expect(await serve.exit()).toBe(EXIT.ok);
    expect(serve.stdout.map((l) => /"method":"([a-z-]+)","params":\["([^"]+)"/.exec(l)?.slice(1))).toEqual([['start-stream', name], ['stop-stream', name]]);
  } finally {
    serve.proc.kill('SIGKILL');
  }
});

test.each(['reset', 'closed'] as const)('serve on tcp: a client that goes away (%s) while serve waits for a frame (no writer yet) ends the serve, status 0, "the client went away"', async (how) => {
  const name = ringName('servewait');
  const serve = run(process.execPath, [bin, 'serve', 'img', 'tcp:0', '--name', name], gstEnv);
  try {
    const port = await until('serve to listen', () => /listening on tcp 127\.0\.0\.1:(\d+)/.exec(serve.stderr)?.[1]);
    const socket = net.connect({ host: '127.0.0.1', port: Number(port) });
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    await until('serve to wait for a writer', () => serve.stderr.includes('is waiting for a writer'));
    if (how === 'reset') socket.resetAndDestroy();
    else socket.destroy();
    expect(await serve.exit(10000)).toBe(EXIT.ok);
    expect(serve.stderr).toMatch(/zerobuffer serve: 0 images served \(the client went away\)\n$/);
    expect(fs.readdirSync('/dev/shm').filter((n) => n.includes(name))).toEqual([]);
  } finally {
    serve.proc.kill('SIGKILL');
  }
});

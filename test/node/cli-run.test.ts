// `zerobuffer run` end to end with the real plugin and gst-launch:
// byte-exact frames (hash vs the same videotestsrc stream through
// filesink), a PNG snapshot of the right size (16-bit gray for GRAY16,
// 16-bit RGBA for ARGB64 & co., every sample exact), --json lines, and gst-launch's own message for a
// pipeline it rejects.
import { jest } from '@jest/globals';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { EXIT } from '../../src/cli/exit-codes.js';
import { ZEROSINK_PROPERTIES } from '../../src/cli/pipeline-failure.js';
import { inspectRing, ZeroBufferReader } from '../../src/index.js';
import { eosFailingGstLaunchDir, eosIgnoringGstLaunchDir, gstLaunch, leftovers, processesWith, readPng, repoRoot, ringName, run, runOnTerminal, sleep } from './helpers.js';

jest.setTimeout(60000);

const bin = path.join(repoRoot, 'dist', 'cli', 'bin.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-cli-run-'));
const SOURCE = 'videotestsrc num-buffers=40 pattern=smpte ! video/x-raw,format=RGB,width=64,height=48,framerate=30/1';

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
  expect(leftovers()).toEqual([]);
});

function jsonLines(lines: string[]): Record<string, unknown>[] {
  return lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('N frames arrive byte-exact, the snapshot decodes to the caps size, --json parses, --announce prints the lines', async () => {
  const ref = path.join(tmp, 'ref.raw');
  await gstLaunch(['-q', ...SOURCE.split(' '), '!', 'filesink', `location=${ref}`], {}, 20000);
  const want = createHash('sha256').update(fs.readFileSync(ref)).digest('hex');
  const png = path.join(tmp, 'snap.png');
  const name = ringName('run');
  const child = run(process.execPath, [bin, 'run', SOURCE, '--name', name, '--json', '--hash', '--announce', '--snapshot', png,
    '--sink-property', 'sync=false', '--interval', '0.2']);
  expect(await child.exit()).toBe(EXIT.ok);
  const lines = jsonLines(child.stdout);
  const summary = lines.find((l) => l['type'] === 'summary')!;
  expect(summary).toMatchObject({ frames: 40, bytes: 40 * 64 * 48 * 3, sha256: want, name, snapshot: { file: png, width: 64, height: 48, bitDepth: 8, color: 'RGB' } });
  expect(String(summary['caps'])).toContain('width=(int)64');
  // every state of gst-launch, in order, the first with its pid (startStream resolves after 'starting')
  const states = lines.filter((l) => l['type'] === 'pipeline');
  expect(states.map((l) => l['state'])).toEqual(['starting', 'playing', 'exited']);
  expect(typeof states[0]!['pid']).toBe('number');
  expect(states[2]).toMatchObject({ exitCode: 0 });
  const image = await sharp(png).metadata();
  expect([image.width, image.height, image.format, image.channels]).toEqual([64, 48, 'png', 3]);
  const announced = child.stdout.filter((l) => l.startsWith('> '));
  expect(announced).toEqual([
    `> {"jsonrpc":"2.0","method":"start-stream","params":["${name}",65536,${64 * (64 * 48 * 3 + 64)}]}`, // 64 frames of the caps (small frames)
    `> {"jsonrpc":"2.0","method":"stop-stream","params":["${name}"]}`,
  ]);
});

test('--announce gives the sizes of the ring as created (the core rounds them up to 64), not those asked for: a writer checks its frames against them', async () => {
  const name = ringName('run-sizes');
  const child = run(process.execPath, [bin, 'run', 'videotestsrc is-live=true ! video/x-raw,format=GRAY8,width=16,height=16,framerate=30/1',
    '--name', name, '--json', '--announce', '--metadata-size', '1000', '--payload-size', '100000']);
  try {
    const line = await child.line(/"method":"start-stream"/, 20000);
    const ring = inspectRing(name);
    expect([ring.metadataSize, ring.payloadSize]).toEqual([1024, 100032]); // what the test is about: sizes the core rounded
    expect(line).toBe(`> {"jsonrpc":"2.0","method":"start-stream","params":["${name}",${ring.metadataSize},${ring.payloadSize}]}`);
  } finally {
    child.proc.kill('SIGINT');
    expect(await child.exit()).toBe(EXIT.ok);
  }
});

test('a --snapshot file that cannot be written, or not named .png, is a usage error, told before anything starts', async () => {
  for (const [file, why] of [
    [path.join(tmp, 'no-such-dir', 'x.png'), /directory \S+no-such-dir does not exist/],
    [tmp, /is a directory/],
    // named for another format than the PNG it would get (it was written, a PNG named .jpg)
    [path.join(tmp, 'x.jpg'), /x\.jpg is not named \.png: a snapshot is a PNG file, give a name ending in \.png\n$/],
  ] as const) {
    const name = ringName('snapdir');
    const child = run(process.execPath, [bin, 'run', SOURCE, '--name', name, '--json', '--fast', '--snapshot', file]);
    expect({ file, exit: await child.exit() }).toEqual({ file, exit: EXIT.usage });
    expect(child.stderr).toContain(`zerobuffer run: --snapshot ${file} `);
    expect(child.stderr).toMatch(why);
    expect(jsonLines(child.stdout)).toEqual([]); // no ring, no pipeline
  }
  // a directory root may write in by its permission bits, whose files the kernel refuses: the write
  // after the first frame fails (as root), or the check before (as anyone else); a usage error either way
  const child = run(process.execPath, [bin, 'run', SOURCE, '--name', ringName('snapproc'), '--json', '--fast', '--snapshot', '/proc/zb-snapshot.png']);
  expect(await child.exit()).toBe(EXIT.usage);
  expect(child.stderr).toMatch(/--snapshot \/proc\/zb-snapshot.png cannot be written|no snapshot: cannot write \/proc\/zb-snapshot.png/);
});

test('--snapshot /dev/fd/3 (a link, as /dev/stdout and >(...) are) takes it whatever its name: only a file\'s name must end in .png', async () => {
  const file = path.join(tmp, 'fd3.out');
  const fd3 = fs.openSync(file, 'w');
  try {
    const r = spawnSync(process.execPath, [bin, 'run', SOURCE, '--name', ringName('snapfd'), '--json', '--fast', '--frames', '1', '--snapshot', '/dev/fd/3'],
      { stdio: ['ignore', 'pipe', 'pipe', fd3], encoding: 'utf8', timeout: 30000 });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: EXIT.ok, stderr: '' });
  } finally {
    fs.closeSync(fd3);
  }
  expect(fs.readFileSync(file).subarray(1, 4).toString()).toBe('PNG');
});

test.each([
  ['/dev/stdout, stdout a file', '/dev/stdout', 'file'],
  ['-, stdout a pipe', '-', 'pipe'],
] as const)('--snapshot %s: stdout holds the PNG alone, the JSON lines go to stderr', async (_, target, stdout) => {
  const file = path.join(tmp, `stdout-${stdout}.out`);
  const fd = stdout === 'file' ? fs.openSync(file, 'w') : 'pipe';
  let r;
  try {
    r = spawnSync(process.execPath, [bin, 'run', SOURCE, '--name', ringName('snapout'), '--fast', '--frames', '1', '--snapshot', target],
      { stdio: ['ignore', fd, 'pipe'], timeout: 30000 });
  } finally {
    if (typeof fd === 'number') fs.closeSync(fd);
  }
  expect(r.status).toBe(EXIT.ok);
  // before: the JSON lines in stdout too, the PNG written over the first of them (a file) or between them (a pipe)
  const png = stdout === 'file' ? fs.readFileSync(file) : r.stdout;
  const image = await sharp(png).metadata();
  expect([image.width, image.height, image.format]).toEqual([64, 48, 'png']);
  expect(png.length).toBe(image.size);
  const summary = jsonLines(r.stderr.toString().split('\n')).find((l) => l['type'] === 'summary');
  expect(summary).toMatchObject({ snapshot: { file: target, width: 64, height: 48 } });
});

test('--snapshot - is refused on a terminal and with --announce (status 2); a stdout closed before the PNG goes in is a quiet stop (status 0)', async () => {
  const announce = spawnSync(process.execPath, [bin, 'run', SOURCE, '--name', ringName('snapann'), '--frames', '1', '--snapshot', '-', '--announce'],
    { encoding: 'utf8', timeout: 30000 });
  expect(announce.status).toBe(EXIT.usage);
  expect(announce.stderr).toContain('--announce prints to stdout, which --snapshot - sends the PNG to');
  const tty = runOnTerminal(process.execPath, [bin, 'run', SOURCE, '--name', ringName('snaptty'), '--frames', '1', '--snapshot', '-']);
  expect(await tty.exit()).toBe(EXIT.usage);
  expect(tty.stdout.join('\n')).toContain("writes the PNG's bytes to stdout, a terminal");
  // the pipe's reader closes its end at once: the PNG's write is EPIPE (before: "no snapshot: cannot write -: write EPIPE", status 2)
  const closed = spawnSync('bash', ['-c', '"$0" "$@" | { exec 0<&-; sleep 2; }; exit ${PIPESTATUS[0]}', process.execPath, bin, 'run', SOURCE,
    '--name', ringName('snapcut'), '--fast', '--frames', '1', '--snapshot', '-'], { encoding: 'utf8', timeout: 30000 });
  expect({ status: closed.status, stderr: closed.stderr }).toEqual({ status: EXIT.ok, stderr: expect.not.stringContaining('no snapshot') });
});

test('--snapshot - into a pipe or socket whose reader quits after a PNG that fit in: a quiet stop soon after, status 0 (it read frames on until stopped: nothing is written after the PNG to tell)', async () => {
  const ENDLESS = 'videotestsrc pattern=smpte ! video/x-raw,format=RGB,width=64,height=48,framerate=30/1';
  // a pipe (| head -c 100): timeout's SIGINT, 15 s on, is the stop the old code waited for (status 124)
  const started = Date.now();
  const piped = spawnSync('bash', ['-c', 'timeout -s INT 15 "$0" "$@" | head -c 100 > /dev/null; exit ${PIPESTATUS[0]}', process.execPath, bin, 'run', ENDLESS,
    '--name', ringName('snaphead'), '--snapshot', '-'], { encoding: 'utf8', timeout: 30000 });
  expect({ status: piped.status, stderr: piped.stderr }).toEqual({ status: EXIT.ok, stderr: expect.not.stringContaining('no snapshot') });
  expect(Date.now() - started).toBeLessThan(12000);
  expect(JSON.parse(piped.stderr.trim().split('\n').at(-1)!)).toMatchObject({ type: 'summary', snapshot: { file: '-', width: 64, height: 48 } });
  // a socket (a parent's stdio pipe) closed by its reader once the PNG came
  const child = spawn(process.execPath, [bin, 'run', ENDLESS, '--name', ringName('snapsock'), '--snapshot', '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.once('data', () => child.stdout.destroy());
  let stoppedBySigint = false;
  const stop = setTimeout(() => {
    stoppedBySigint = true;
    child.kill('SIGINT');
  }, 15000);
  const status = await new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  clearTimeout(stop);
  expect({ status, stoppedBySigint, stderr }).toEqual({ status: EXIT.ok, stoppedBySigint: false, stderr: expect.not.stringContaining('no snapshot') });
}, 60000);

test('--snapshot skips a frame it cannot make a picture of (a corrupt first JPEG, as webcams send) and takes the next, even with --frames 1', async () => {
  const good = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 30, b: 90 } } }).jpeg().toBuffer();
  fs.writeFileSync(path.join(tmp, 'cam0.jpg'), good.subarray(0, good.length >> 1)); // cut short
  fs.writeFileSync(path.join(tmp, 'cam1.jpg'), good);
  const png = path.join(tmp, 'cam.png');
  const child = run(process.execPath, [bin, 'run', `multifilesrc location=${path.join(tmp, 'cam%d.jpg')} stop-index=1 caps=image/jpeg,width=64,height=48,framerate=30/1`,
    '--name', ringName('snapskip'), '--frames', '1', '--snapshot', png, '--json', '--fast']);
  // before: "no snapshot: frame 1 (image/jpeg, ...): cannot decode: ...", status 1, "unexpected error (a bug)"
  expect(await child.exit()).toBe(EXIT.ok);
  expect(child.stderr).toMatch(/--snapshot: frame 1 \(image\/jpeg, \d+ bytes\): cannot decode: .*: skipped, trying the next \(up to 10 frames in all\)/);
  expect(jsonLines(child.stdout).find((l) => l['type'] === 'summary')).toMatchObject({ frames: 2, snapshot: { width: 64, height: 48 } });
  expect((await sharp(png).metadata()).width).toBe(64);
});

test('--snapshot with no frame it can make a picture of (a corrupt JPEG, the only frame): status 3 (pipeline failure), saying why', async () => {
  const file = path.join(tmp, 'bad.jpg');
  const good = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 0, g: 0, b: 0 } } }).jpeg().toBuffer();
  fs.writeFileSync(file, good.subarray(0, good.length >> 1));
  const png = path.join(tmp, 'never-jpg.png');
  const child = run(process.execPath, [bin, 'run', `filesrc location=${file} ! image/jpeg,width=64,height=48,framerate=30/1`,
    '--name', ringName('snapbad'), '--snapshot', png, '--json', '--fast']);
  // before: status 1, "unexpected error (a bug)"
  expect(await child.exit()).toBe(EXIT.pipeline);
  expect(child.stderr).toMatch(/no snapshot: the one frame that came could not be made a picture \(the last: frame 1 \(image\/jpeg, \d+ bytes\): cannot decode: /);
  expect(child.stderr).toMatch(/is the pipeline's output what its caps say\?/);
  expect(fs.existsSync(png)).toBe(false);
});

test('--snapshot of raw frames of another size than their caps say: zerosink refuses the first before the ring (EFRAMESIZE), status 3, no PNG', async () => {
  const file = path.join(tmp, 'bad.raw');
  fs.writeFileSync(file, Buffer.alloc(12000));
  const png = path.join(tmp, 'never-raw.png');
  const child = run(process.execPath, [bin, 'run', `filesrc location=${file} blocksize=1000 ! video/x-raw,format=I420,width=320,height=240,framerate=30/1`,
    '--name', ringName('snapbad'), '--snapshot', png, '--json', '--fast']);
  expect(await child.exit()).toBe(EXIT.pipeline);
  expect(child.stderr).toMatch(/failed for good \(EFRAMESIZE, permanent\); zerosink said:\nA buffer of 1000 bytes is not a frame of its caps: I420 320x240 frames have 115200 bytes/);
  expect(fs.existsSync(png)).toBe(false);
});

test('--snapshot of video/x-bayer names the media type and what converts it (bayer2rgb; decodebin has no decoder for it), and that fix works', async () => {
  const bayer = 'videotestsrc num-buffers=2 ! video/x-bayer,format=rggb,width=64,height=48';
  const png = path.join(tmp, 'bayer.png');
  const refused = run(process.execPath, [bin, 'run', bayer, '--snapshot', png, '--json']);
  expect(await refused.exit()).toBe(EXIT.usage);
  // before: "... has video/x-bayer frames: end the pipeline with "! decodebin ! videoconvert ! video/x-raw,format=RGB""
  const fix = /this stream has rggb \(video\/x-bayer\) frames: end the pipeline with "(! bayer2rgb ! videoconvert ! video\/x-raw,format=RGB)"/;
  expect(refused.stderr).toMatch(fix);
  const fixed = run(process.execPath, [bin, 'run', `${bayer} ${fix.exec(refused.stderr)![1]}`, '--name', ringName('snapbayer'), '--snapshot', png, '--json', '--fast']);
  expect(await fixed.exit()).toBe(EXIT.ok);
  expect((await sharp(png).metadata()).width).toBe(64);
});

// Thermal and depth cameras: every bit of a 16-bit sample matters.
const GRAY16 = [0, 1, 255, 256, 257, 0x1234, 0xfffe, 0xffff, 0x8000, 0x00ff, 0xff00, 42, 65000, 12345, 7];

test.each(['GRAY16_LE', 'GRAY16_BE'] as const)('--snapshot of %s frames is a 16-bit gray PNG holding every sample exactly (rows padded to 4 bytes in the ring)', async (format) => {
  // 5x3: rows of 10 bytes padded to 12 (0xee, which must not show); two frames, the first is the snapshot
  const frames = [GRAY16, [...GRAY16].reverse()];
  const raw = Buffer.alloc(2 * 12 * 3, 0xee);
  frames.forEach((values, f) => values.forEach((v, i) => {
    const at = f * 36 + Math.floor(i / 5) * 12 + (i % 5) * 2;
    if (format === 'GRAY16_LE') raw.writeUInt16LE(v, at);
    else raw.writeUInt16BE(v, at);
  }));
  const file = path.join(tmp, `${format}.raw`);
  fs.writeFileSync(file, raw);
  const png = path.join(tmp, `${format}.png`);
  const child = run(process.execPath, [bin, 'run', `filesrc location=${file} blocksize=36 ! video/x-raw,format=${format},width=5,height=3,framerate=30/1`,
    '--name', ringName('snap16'), '--snapshot', png, '--json', '--fast']);
  expect(await child.exit()).toBe(EXIT.ok);
  // before: the snapshot field had no bitDepth nor color
  expect(jsonLines(child.stdout).find((l) => l['type'] === 'summary')).toMatchObject({ frames: 2, snapshot: { width: 5, height: 3, bitDepth: 16, color: 'gray' } });
  // before: an 8-bit RGB PNG (depth 8, colour type 2), each sample rounded to its high byte
  expect(readPng(fs.readFileSync(png))).toEqual({ width: 5, height: 3, bitDepth: 16, colourType: 0, samples: GRAY16 });
});

// 16-bit PNG frames: pngenc makes them of GRAY16_BE only; RGB and RGBA ones come as files (pngparse).
const RGB16 = GRAY16.flatMap((v, i) => [v, 0xffff - v, (v * 7 + i * 4099) & 0xffff]);
const RGBA16 = GRAY16.flatMap((v, i) => [0xffff - v, v, (v * 13 + i * 257) & 0xffff, (i * 4369 + 1) & 0xffff]);

/** A 5x3 16-bit PNG file of these samples (channels per pixel: 3 or 4). */
async function png16(samples: number[], channels: 3 | 4): Promise<Buffer> {
  return sharp(Uint16Array.from(samples), { raw: { width: 5, height: 3, channels } }).toColourspace('rgb16').png().toBuffer();
}

test.each([
  ['gray, from pngenc', 'GRAY16_BE', 0, 'gray', GRAY16],
  ['RGB, from a file', 'rgb16.png', 2, 'RGB', RGB16],
  ['RGBA, from a file', 'rgba16.png', 6, 'RGBA', RGBA16],
] as const)('--snapshot of 16-bit PNG frames (%s) keeps every 16-bit sample', async (_, input, colourType, color, samples) => {
  let source: string;
  if (input === 'GRAY16_BE') {
    const raw = Buffer.alloc(2 * 36, 0xee); // two frames of 5x3, rows of 10 bytes padded to 12; the first is the snapshot
    [GRAY16, [...GRAY16].reverse()].forEach((values, f) => values.forEach((v, i) => raw.writeUInt16BE(v, f * 36 + Math.floor(i / 5) * 12 + (i % 5) * 2)));
    const file = path.join(tmp, 'png16-gray.raw');
    fs.writeFileSync(file, raw);
    source = `filesrc location=${file} blocksize=36 ! video/x-raw,format=GRAY16_BE,width=5,height=3,framerate=30/1 ! pngenc`;
  } else {
    const file = path.join(tmp, input);
    fs.writeFileSync(file, await png16([...samples], colourType === 2 ? 3 : 4));
    source = `filesrc location=${file} ! pngparse`;
  }
  const png = path.join(tmp, `snap-${input}.png`);
  const child = run(process.execPath, [bin, 'run', source, '--name', ringName('snappng16'), '--snapshot', png, '--json', '--fast']);
  expect(await child.exit()).toBe(EXIT.ok);
  expect(jsonLines(child.stdout).find((l) => l['type'] === 'summary')).toMatchObject({ snapshot: { width: 5, height: 3, bitDepth: 16, color } });
  // before: an 8-bit RGB PNG (depth 8, colour type 2), each sample cut to its high byte, alpha dropped
  expect(readPng(fs.readFileSync(png))).toEqual({ width: 5, height: 3, bitDepth: 16, colourType, samples });
});

// 16-bit RGB with alpha as raw video: pngdec makes ARGB64 (host order) of 16-bit PNG files,
// videoconvert the other byte and channel orders. Made here from RGBA64_BE bytes of known samples.
const RGBA64_FORMATS = ['ARGB64', 'ARGB64_LE', 'ARGB64_BE', 'RGBA64_LE', 'RGBA64_BE', 'BGRA64_LE', 'BGRA64_BE', 'ABGR64_LE', 'ABGR64_BE'];

test.each(RGBA64_FORMATS)('--snapshot of %s frames is a 16-bit RGBA PNG of every sample (videoconvert\'s byte and channel order)', async (format) => {
  const raw = Buffer.alloc(2 * 120); // two frames of 5x3x8 bytes (rows are never padded); the first is the snapshot
  [RGBA16, [...RGBA16].reverse()].forEach((values, f) => values.forEach((v, i) => raw.writeUInt16BE(v, f * 120 + i * 2)));
  const file = path.join(tmp, 'rgba64-be.raw');
  fs.writeFileSync(file, raw);
  const png = path.join(tmp, `snap-${format}.png`);
  const child = run(process.execPath, [bin, 'run',
    `filesrc location=${file} blocksize=120 ! video/x-raw,format=RGBA64_BE,width=5,height=3,framerate=30/1 ! videoconvert ! video/x-raw,format=${format}`,
    '--name', ringName('snaprgba64'), '--snapshot', png, '--json', '--fast']);
  // before: status 2, "--snapshot writes PNG files from RGB, ... and this stream has ARGB64 frames"
  expect(await child.exit()).toBe(EXIT.ok);
  expect(jsonLines(child.stdout).find((l) => l['type'] === 'summary')).toMatchObject({ frames: 2, snapshot: { width: 5, height: 3, bitDepth: 16, color: 'RGBA' } });
  expect(readPng(fs.readFileSync(png))).toEqual({ width: 5, height: 3, bitDepth: 16, colourType: 6, samples: RGBA16 });
});

test('--snapshot of pngdec\'s frames of a 16-bit RGBA PNG file (ARGB64) is a 16-bit RGBA PNG of the samples pngdec gives', async () => {
  const file = path.join(tmp, 'pngdec-rgba16.png');
  fs.writeFileSync(file, await png16(RGBA16, 4));
  // GStreamer 1.22.0's pngdec puts every sample one place late (the first is 0): what it gives, not
  // the file's samples, is what the snapshot must hold
  const decoded = path.join(tmp, 'pngdec-rgba16.raw');
  await gstLaunch(['-q', 'filesrc', `location=${file}`, '!', 'pngdec', '!', 'filesink', `location=${decoded}`]);
  const argb = fs.readFileSync(decoded);
  const words = Array.from({ length: argb.length / 2 }, (_, i) => (os.endianness() === 'LE' ? argb.readUInt16LE(i * 2) : argb.readUInt16BE(i * 2)));
  const samples = words.flatMap((_, i) => (i % 4 === 0 ? [words[i + 1]!, words[i + 2]!, words[i + 3]!, words[i]!] : []));
  const png = path.join(tmp, 'snap-pngdec.png');
  const child = run(process.execPath, [bin, 'run', `filesrc location=${file} ! pngdec`, '--name', ringName('snappngdec'), '--snapshot', png, '--no-json', '--fast']);
  // before: status 2, "... and this stream has ARGB64 frames: end the pipeline with ..."
  expect(await child.exit()).toBe(EXIT.ok);
  expect(child.stderr).toContain(`zerobuffer: wrote ${png} (5x3, 16-bit RGBA)`);
  expect(readPng(fs.readFileSync(png))).toEqual({ width: 5, height: 3, bitDepth: 16, colourType: 6, samples });
  // its red, green and blue samples are the file's, one pixel late in alpha
  expect(samples.filter((_, i) => i % 4 !== 3)).toEqual(RGBA16.filter((_, i) => i % 4 !== 3));
});

test('--snapshot skips a corrupt 16-bit PNG frame as it does a corrupt JPEG, and writes the next', async () => {
  const good = await png16(RGB16, 3);
  fs.writeFileSync(path.join(tmp, 'png16-0.png'), good.subarray(0, good.length - 20)); // cut short: IDAT and IEND lost
  fs.writeFileSync(path.join(tmp, 'png16-1.png'), good);
  const png = path.join(tmp, 'snap-png16-skip.png');
  const child = run(process.execPath, [bin, 'run', `multifilesrc location=${path.join(tmp, 'png16-%d.png')} stop-index=1 caps=image/png,width=5,height=3,framerate=30/1`,
    '--name', ringName('snappng16bad'), '--snapshot', png, '--json', '--fast']);
  expect(await child.exit()).toBe(EXIT.ok);
  expect(child.stderr).toMatch(/--snapshot: frame 1 \(image\/png, \d+ bytes\): cannot decode: .*: skipped, trying the next/);
  expect(readPng(fs.readFileSync(png))).toEqual({ width: 5, height: 3, bitDepth: 16, colourType: 2, samples: RGB16 });
});

test('--snapshot of 8-bit frames (GRAY8 here) is still an 8-bit RGB PNG; without --json the summary line says so', async () => {
  const values = [0, 1, 2, 127, 128, 200, 254, 255, 3, 4, 5, 6, 7, 8, 9];
  const raw = Buffer.alloc(8 * 3, 0xee); // rows of 5 bytes padded to 8
  values.forEach((v, i) => raw.writeUInt8(v, Math.floor(i / 5) * 8 + (i % 5)));
  const file = path.join(tmp, 'gray8.raw');
  fs.writeFileSync(file, raw);
  const png = path.join(tmp, 'gray8.png');
  const child = run(process.execPath, [bin, 'run', `filesrc location=${file} blocksize=24 ! video/x-raw,format=GRAY8,width=5,height=3,framerate=30/1`,
    '--name', ringName('snap8'), '--snapshot', png, '--no-json', '--fast']);
  expect(await child.exit()).toBe(EXIT.ok);
  // before: "(5x3)"
  expect(child.stderr).toContain(`zerobuffer: wrote ${png} (5x3, 8-bit RGB)`);
  const help = spawnSync(process.execPath, [bin, 'run', '--help'], { encoding: 'utf8', timeout: 20000 });
  expect(help.stdout.replace(/\s+/g, ' ')).toContain('"snapshot": {"file", "width", "height", "bitDepth" (8 or 16), "color" (gray, RGB, gray+alpha or RGBA)}');
  expect(readPng(fs.readFileSync(png))).toEqual({ width: 5, height: 3, bitDepth: 8, colourType: 2, samples: values.flatMap((v) => [v, v, v]) });
});

test('the summary\'s ring utilisation is the ring\'s as the loop left it, before the stop drains it', async () => {
  // 40 frames written at once (sync=false) while the first becomes the snapshot: 39 unread, each with the protocol's
  // 16-byte frame header, in a ring of 64 frames with room for the 64-byte per-frame header: 60.6 %
  const child = run(process.execPath, [bin, 'run', 'videotestsrc num-buffers=40 pattern=ball ! video/x-raw,format=RGB,width=64,height=48',
    '--name', ringName('util'), '--frames', '1', '--snapshot', path.join(tmp, 'util.png'), '--json', '--sink-property', 'sync=false']);
  expect(await child.exit()).toBe(EXIT.ok);
  // before: sampled once close() had begun draining: one frame fewer (59.1 %)
  expect(jsonLines(child.stdout).find((l) => l['type'] === 'summary')).toMatchObject({ frames: 1, ringUtilisationPercent: 60.6 });
});

test('--frames stops a live source early; the ring and gst-launch are gone afterwards', async () => {
  const name = ringName('frames');
  const child = run(process.execPath, [bin, 'run', '--name', name, '--frames', '10', '--json',
    'videotestsrc is-live=true ! video/x-raw,format=GRAY8,width=32,height=32,framerate=60/1']);
  expect(await child.exit()).toBe(EXIT.ok);
  const summary = jsonLines(child.stdout).find((l) => l['type'] === 'summary')!;
  expect(summary['frames']).toBe(10);
  const pids = jsonLines(child.stdout).filter((l) => l['type'] === 'pipeline' && l['pid'] !== null).map((l) => l['pid'] as number);
  expect(pids.length).toBeGreaterThan(0);
  for (const pid of new Set(pids)) expect(() => process.kill(pid, 0)).toThrow();
  expect(fs.existsSync(`/dev/shm/${name}`)).toBe(false);
});

test('SIGTERM after SIGTERM, every millisecond until it exits, to a run whose gst-launch is kept frozen (SIGSTOP): killed after 5 s, the summary, status 0, its ring and gst-launch gone', async () => {
  const name = ringName('termspam');
  const child = run(process.execPath, [bin, 'run', '--name', name, '--json',
    'videotestsrc is-live=true ! video/x-raw,format=GRAY8,width=32,height=32,framerate=60/1']);
  let gst: number | undefined;
  try {
    gst = (JSON.parse(await child.line(/"state":"playing"/, 20000)) as { pid: number }).pid;
    process.kill(gst, 'SIGSTOP');
    const exited = child.exit(30000);
    // every stage of the stop gets some, the end of the command too (there,
    // before: no listener any more, the process died of it, status 143);
    // gst-launch is stopped again each time, as the stop sends it SIGCONT
    // after its SIGINT (a stopped process then handles it)
    while (child.proc.exitCode === null && child.proc.signalCode === null) {
      child.proc.kill('SIGTERM');
      try {
        process.kill(gst, 'SIGSTOP');
      } catch {
        // killed: gone
      }
      await sleep(1);
    }
    expect(await exited).toBe(EXIT.ok);
    expect(jsonLines(child.stdout).find((l) => l['type'] === 'summary')).toMatchObject({ name, pipeline: 'exited' });
    expect(child.stderr).toContain('gst-launch did not stop within 5 s of its EOS: zerobuffer killed it with SIGKILL');
    expect(() => process.kill(gst!, 0)).toThrow();
    expect(fs.existsSync(`/dev/shm/${name}`)).toBe(false);
  } finally {
    child.proc.kill('SIGKILL');
    for (const p of processesWith(name)) process.kill(Number(p.split(' ')[0]), 'SIGKILL'); // a failed run's frozen gst-launch
  }
});

test('run whose stdout closes (| head): it stops cleanly, status 0, its ring and gst-launch gone', async () => {
  const name = ringName('epipe');
  const child = run(process.execPath, [bin, 'run', '--name', name, '--json',
    'videotestsrc is-live=true ! video/x-raw,format=GRAY8,width=32,height=32,framerate=60/1']);
  try {
    await child.line(/"state":"playing"/, 20000);
    child.proc.stdout!.destroy(); // as head does after its lines
    expect(await child.exit(20000)).toBe(EXIT.ok);
    expect(child.stderr).not.toMatch(/EPIPE|unexpected error/);
    expect(fs.existsSync(`/dev/shm/${name}`)).toBe(false);
  } finally {
    child.proc.kill('SIGKILL');
  }
});

test('run whose stderr closes too (2>&1 | head -1) as its pipeline fails: the failure\'s status 3, not an unhandled EPIPE (status 1)', async () => {
  const name = ringName('epipe2');
  // head takes the first JSON line and goes; the failure is then said into the closed pipe
  const child = run('/bin/bash', ['-c', '"$0" "$1" run videotestsrcc --name "$2" 2>&1 | head -1; exit "${PIPESTATUS[0]}"', process.execPath, bin, name]);
  expect(await child.exit(20000)).toBe(EXIT.pipeline);
  expect(child.stdout).toEqual([expect.stringMatching(/^\{"type":"pipeline","state":"starting"/)]);
  expect(fs.existsSync(`/dev/shm/${name}`)).toBe(false);
});

test('run --announce on a terminal: the stop-stream line, written as the run stops, goes above the stats line, not glued onto it', async () => {
  const name = ringName('ttyannounce');
  const child = runOnTerminal(process.execPath, [bin, 'run', '--announce', '--duration', '1.5', '--interval', '0.1', '--name', name,
    'videotestsrc is-live=true ! video/x-raw,format=GRAY8,width=32,height=32,framerate=30/1']);
  expect(await child.exit(20000)).toBe(EXIT.ok);
  expect(child.stdout.some((l) => /\d+ frames {2}[\d.]+ fps/.test(l))).toBe(true); // the stats line was up
  const protocol = child.stdout.filter((l) => l.includes('"jsonrpc"'));
  expect(protocol).toEqual([
    expect.stringMatching(/^> \{"jsonrpc":"2\.0","method":"start-stream","params":\[/),
    // the stats line cleared first: the line starts where it started
    expect.stringMatching(/(?:^|\r\x1b\[2K)> \{"jsonrpc":"2\.0","method":"stop-stream","params":\["[^"]+"\]\}\r$/),
  ]);
  expect(fs.existsSync(`/dev/shm/${name}`)).toBe(false);
});

test('run whose reader pauses until zerosink\'s timeout: the hint names --sink-property timeout and policy, the options that set them, not the bare properties', async () => {
  const name = ringName('fullhint');
  const child = run(process.execPath, [bin, 'run', '--json', '--name', name, '--sink-property', 'timeout=300', '--payload-size', '20000',
    'videotestsrc ! video/x-raw,format=GRAY8,width=64,height=48']);
  try {
    await child.line(/"state":"playing"/, 20000);
    child.proc.kill('SIGSTOP'); // the ring (6 frames) stays full
    await sleep(2000);
    child.proc.kill('SIGCONT');
    expect(await child.exit(20000)).toBe(EXIT.pipeline);
    expect(child.stderr).toMatch(/stayed full for 300 ms.*: the reader has not given the room back \(.*, released or not\); raise --sink-property timeout=MS \(-1 waits forever\) or use --sink-property policy=drop\n/);
    expect(child.stderr).not.toMatch(/use policy=drop/);
  } finally {
    child.proc.kill('SIGKILL');
  }
});

test('run whose own zerosink (in the pipeline, not the appended one) fails: its hint keeps the element\'s words, --sink-property does not reach it', async () => {
  const name = ringName('ownsink');
  const other = ringName('ownsinkother'); // never created
  const child = run(process.execPath, [bin, 'run', '--json', '--name', name, '--frames', '1000',
    `videotestsrc ! video/x-raw,format=GRAY8,width=64,height=48 ! tee name=t ! queue ! zerosink buffer-name=${other} connect-timeout=300 t. ! queue`]);
  expect(await child.exit(20000)).toBe(EXIT.pipeline);
  expect(child.stderr).toMatch(/zerobuffer run: pipeline into \S+ failed for good \(ENOENT, permanent\); zerosink0 said:\n/);
  expect(child.stderr).toMatch(/; or raise connect-timeout\n/);
  expect(child.stderr).not.toMatch(/--sink-property|was announced but never created/);
});

test('an stdout that cannot be written (a full disk) is a failure, said on stderr', () => {
  const full = fs.openSync('/dev/full', 'w');
  try {
    // the help and --version too: they are written before any command runs
    for (const args of [['cleanup', '--json', '--dry-run'], ['--help'], ['--version'], ['run', '--help']]) {
      const r = spawnSync(process.execPath, [bin, ...args], { stdio: ['ignore', full, 'pipe'], encoding: 'utf8' });
      expect({ args, status: r.status }).toEqual({ args, status: EXIT.internal });
      expect(r.stderr).toMatch(/^zerobuffer: cannot write to stdout: ENOSPC[^\n]*\n$/);
    }
  } finally {
    fs.closeSync(full);
  }
});

test('an stderr that cannot be written (a full disk) is a failure too, not a clean stop as a closed one (EPIPE) is', () => {
  const full = fs.openSync('/dev/full', 'w');
  try {
    // watch of a command that announces nothing: status 0, its lines on stderr only
    const r = spawnSync(process.execPath, [bin, 'watch', '--pipeline', 'videotestsrc', '--', 'true'], { stdio: ['ignore', 'pipe', full], encoding: 'utf8' });
    expect(r.status).toBe(EXIT.internal);
    expect(r.stdout).toBe('');
  } finally {
    fs.closeSync(full);
  }
});

test('a pipeline gst-launch rejects: its own message, exit status "pipeline failure"', async () => {
  const child = run(process.execPath, [bin, 'run', '--name', ringName('bad'), 'videotestsrc ! no-such-element-xyz']);
  expect(await child.exit()).toBe(EXIT.pipeline);
  expect(child.stderr).toContain('no element "no-such-element-xyz"');
  expect(child.stderr).toMatch(/gst-inspect-1.0/);
});

test('a number option given a word: one line naming the option and the value as typed, the hint, exit 2, nothing started', async () => {
  for (const [argv, line] of [
    [['run', '--frames', 'abc'], '--frames expects a whole number of 1 or more, got "abc"'],
    [['run', '--interval=-1'], '--interval expects a number of seconds such as 2 or 0.5 (at least 0.05, at most 2147483), got "-1"'],
    [['serve', 'img', '-', '--payload-size', '1.5'], '--payload-size expects a size in bytes (a whole number of 1 or more), got "1.5"'],
  ] as const) {
    const child = run(process.execPath, [bin, ...argv]);
    expect({ argv, exit: await child.exit() }).toEqual({ argv, exit: EXIT.usage });
    expect(child.stderr).toBe(`zerobuffer: ${line}\nRun "zerobuffer ${argv[0]} --help" for the options.\n`);
    expect(child.stdout).toEqual([]);
  }
});

test('an option given twice, a word that is not one of its choices, a bad property or kind, a misplaced or missing positional, --max-restarts that restarts nothing: one line, the hint, exit 2, nothing started', async () => {
  for (const [argv, line] of [
    [['run', '--name', 'zbe-a', '--name', 'zbe-b', '--frames', '1'], '--name was given 2 times ("zbe-a", "zbe-b"): give it once'],
    [['run', '--snapshot', 'a.png', '--snapshot=b.png', '--frames', '1'], '--snapshot was given 2 times ("a.png", "b.png"): give it once'],
    [['filter', 'videotestsrc', 'fakesink', '--script', 'x.mjs', '--on-error', 'bogus'], '--on-error expects one of pass, stop, got "bogus"'],
    [['ingest', 'img', '-', '--name', 'zbe-x', '--format', 'RGB'], '--format expects one of GRAY16_BE, GRAY16_LE, got "RGB"'],
    [['run', '--sink-property', 'nonsense', '--frames', '1'], '--sink-property expects name=value, e.g. policy=drop, got "nonsense"'],
    [['serve', 'png', '-'], '<kind> expects img, got "png"'],
    [['run', '--json=yes', '--frames', '1'], '--json expects no value (or =true, =false), got "yes"'],
    [['inspect', '--name', 'zbe-x'], 'Unknown option: --name (<name> goes without dashes: zerobuffer inspect <name>)'],
    [['run', '--frames', '1', '--', 'zbe-x'], 'run takes nothing after "--" (only watch, inspect and cleanup do): zerobuffer run [pipeline..]'],
    [['filter', 'videotestsrc', '--script', 'x.mjs'], 'filter needs <sink>: zerobuffer filter <source> <sink>'],
    // a restart budget for a command that restarts nothing: refused, not ignored
    [['run', '--max-restarts', '3', '--frames', '1'], '--max-restarts 3: run restarts nothing without --restart'],
    [['run', '--maxRestarts=0', '--frames', '1'], '--max-restarts 0: run restarts nothing without --restart'],
    [['watch', '--pipeline', 'videotestsrc', '--no-restart', '--max-restarts=3', '--', 'true'], '--max-restarts 3: it contradicts --no-restart'],
  ] as const) {
    const child = run(process.execPath, [bin, ...argv]);
    expect({ argv, exit: await child.exit() }).toEqual({ argv, exit: EXIT.usage });
    expect(child.stderr).toBe(`zerobuffer: ${line}\nRun "zerobuffer ${argv[0]} --help" for the options.\n`);
    expect(child.stdout).toEqual([]);
  }
});

test('a misspelt command or option names the nearest one; watch\'s command without "--" is told where it goes: one line, exit 2, nothing started', async () => {
  // before: "Unknown argument: runn", "Unknown arguments: inspekt, x", "Unknown option: --frame", "Unknown arguments: node, rd.mjs"
  for (const [argv, line, help] of [
    [['runn'], 'Unknown argument: runn (did you mean run?)', 'zerobuffer'],
    [['inspekt', 'x'], 'Unknown argument: inspekt (did you mean inspect?)', 'zerobuffer'],
    [['run', '--frame', '3'], 'Unknown option: --frame (did you mean --frames?)', 'zerobuffer run'],
    [['run', '--jsno', '--frames', '1'], 'Unknown option: --jsno (did you mean --json?)', 'zerobuffer run'],
    [['run', '--frame', '3', '--jsno'], 'Unknown options: --frame (did you mean --frames?), --jsno (did you mean --json?)', 'zerobuffer run'],
    [['run', '--no-hsah'], 'Unknown option: --no-hsah (did you mean --no-hash?)', 'zerobuffer run'],
    [['watch', '--pipeline', 'videotestsrc', 'node', 'rd.mjs'],
      'Unknown arguments: node, rd.mjs (the command goes after "--": zerobuffer watch --pipeline "..." -- node rd.mjs)', 'zerobuffer watch'],
    // nothing near enough: no guess
    [['frobnicate'], 'Unknown argument: frobnicate', 'zerobuffer'],
    [['run', '--bogus'], 'Unknown option: --bogus', 'zerobuffer run'],
  ] as const) {
    const child = run(process.execPath, [bin, ...argv]);
    expect({ argv, exit: await child.exit() }).toEqual({ argv, exit: EXIT.usage });
    expect(child.stderr).toBe(`zerobuffer: ${line}\nRun "${help} --help" for the ${help === 'zerobuffer' ? 'commands' : 'options'}.\n`);
    expect(child.stdout).toEqual([]);
  }
});

test('-h is --help and -v, -V are --version, alone or after a command: status 0 (before: "Unknown option: -h", exit 2)', async () => {
  const version = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
  for (const [argv, first] of [
    [['-h'], 'zerobuffer <command> [options]'], [['run', '-h'], 'zerobuffer run [pipeline..]'], [['-v'], version], [['-V'], version],
  ] as const) {
    const child = run(process.execPath, [bin, ...argv]);
    expect({ argv, exit: await child.exit(), first: child.stdout[0] }).toEqual({ argv, exit: EXIT.ok, first });
  }
});

test('run --json --announce: the protocol lines on stdout, start-stream first and stop-stream before the summary, every other line JSON (a consumer skips those beginning with ">"), as --help says', async () => {
  const name = ringName('announce-json');
  const child = run(process.execPath, [bin, 'run', SOURCE, '--name', name, '--json', '--announce', '--frames', '5']);
  expect(await child.exit()).toBe(EXIT.ok);
  const protocol = child.stdout.filter((l) => l.startsWith('>'));
  expect(protocol.map((l) => (JSON.parse(l.slice(1)) as { method: string }).method)).toEqual(['start-stream', 'stop-stream']);
  expect(child.stdout[0]).toBe(protocol[0]);
  expect(child.stdout.slice(-2)).toEqual([protocol[1], expect.stringMatching(/^\{"type":"summary"/)]);
  for (const l of child.stdout.filter((l) => !l.startsWith('>'))) expect(() => JSON.parse(l) as unknown).not.toThrow();
  // before: --help said nothing of the JSON lines (jq failed on the first line)
  const help = run(process.execPath, [bin, 'run', '--help']);
  expect(await help.exit()).toBe(EXIT.ok);
  expect(help.stdout.join(' ').replace(/\s+/g, ' ')).toContain('a JSON consumer skips lines that begin with ">"');
});

test('--sink-property with a name zerosink does not have (polcy=drop): a usage error naming the nearest one it has, exit 2, no ring left (before: "gst-launch rejected the pipeline … Check the pipeline syntax", exit 3)', async () => {
  const name = ringName('polcy');
  for (const [property, said] of [
    ['polcy=drop', '--sink-property polcy=drop: zerosink has no property "polcy" (did you mean policy?) (gst-inspect-1.0 zerosink lists them)'],
    ['frame_headr=true', '--sink-property frame-headr=true: zerosink has no property "frame-headr" (did you mean frame-header?) (gst-inspect-1.0 zerosink lists them)'],
    ['zzzzzz=1', '--sink-property zzzzzz=1: zerosink has no property "zzzzzz" (gst-inspect-1.0 zerosink lists them)'],
  ] as const) {
    const child = run(process.execPath, [bin, 'run', SOURCE, '--name', name, '--json', '--frames', '5', '--sink-property', property]);
    expect({ property, exit: await child.exit() }).toEqual({ property, exit: EXIT.usage });
    expect(child.stderr).toBe(`zerobuffer run: ${said}\n`);
    expect(leftovers().filter((n) => n.includes(name))).toEqual([]);
  }
});

test('serve and watch with --sink-property polcy=drop: the usage error run gives, naming policy, exit 2 (before: a pipeline failure, exit 3)', async () => {
  const name = ringName('polcy');
  const said = '--sink-property polcy=drop: zerosink has no property "polcy" (did you mean policy?) (gst-inspect-1.0 zerosink lists them)';
  const serve = run(process.execPath, [bin, 'serve', 'img', '-', '--name', name, '--frames', '1', '--pipeline', SOURCE, '--sink-property', 'polcy=drop']);
  expect(await serve.exit(30000)).toBe(EXIT.usage);
  expect(serve.stderr).toBe(`zerobuffer serve: ${said}\n`);
  // the command announces a ring (never created: gst-launch refuses the property before zerosink looks for it)
  const announce = `> ${JSON.stringify({ jsonrpc: '2.0', method: 'start-stream', params: [name, 4096, 100000] })}`;
  const watch = run(process.execPath, [bin, 'watch', '--pipeline', SOURCE, '--sink-property', 'polcy=drop', '--', 'sh', '-c', `echo '${announce}'; exec sleep 30`]);
  expect(await watch.exit(30000)).toBe(EXIT.usage);
  expect(watch.stderr).toContain(`\nzerobuffer watch: ${said}\n`);
  expect(watch.stderr).not.toMatch(/rejected/);
  expect(leftovers().filter((n) => n.includes(name))).toEqual([]);
});

test('the zerosink properties a misspelt --sink-property is matched against are those gst-inspect-1.0 lists', () => {
  const inspect = spawnSync('gst-inspect-1.0', ['zerosink'], { env: { ...process.env, GST_PLUGIN_PATH: path.join(repoRoot, 'builddir', 'gst-plugin') }, encoding: 'utf8' });
  const listed = inspect.stdout.slice(inspect.stdout.indexOf('Element Properties:')).split('\n').flatMap((l) => /^ {2}([a-z][\w-]*) +: /.exec(l)?.[1] ?? []);
  expect([...ZEROSINK_PROPERTIES].sort()).toEqual(listed.sort());
});

test('--sink-property buffer_name=X (GLib reads it as buffer-name) is refused as buffer-name is: exit 2, no ring, no gst-launch (run went on into a ring zerosink never found: exit 3)', async () => {
  const name = ringName('bn');
  const other = ringName('bn-other');
  for (const argv of [
    ['run', SOURCE, '--name', name, '--frames', '5', '--sink-property', `buffer_name=${other}`, '--sink-property', 'connect-timeout=1000'],
    ['serve', 'img', '-', '--name', name, '--frames', '1', '--pipeline', SOURCE, '--sink-property', `buffer_name=${other}`],
    ['watch', '--pipeline', SOURCE, '--sink-property', `buffer_name=${other}`, '--', 'sleep', '5'],
  ]) {
    const child = run(process.execPath, [bin, ...argv]);
    expect({ argv, exit: await child.exit() }).toEqual({ argv, exit: EXIT.usage });
    expect(child.stderr).toBe('zerobuffer: --sink-property buffer_name (GStreamer reads it as buffer-name) is set by zerobuffer: ' +
      `the ring run creates (name it with --name) or the one watch is told of\nRun "zerobuffer ${argv[0]} --help" for the options.\n`);
    expect(child.stdout).toEqual([]);
  }
  expect(processesWith(other)).toEqual([]);
  expect(leftovers().filter((n) => n.includes(name) || n.includes(other))).toEqual([]);
});

test('a bad ring name is a usage error; a ring name that is taken is a ring error, with --json a JSON error line on stdout', async () => {
  const bad = run(process.execPath, [bin, 'run', '--name', 'a/b', '--frames', '1']);
  expect(await bad.exit()).toBe(EXIT.usage);
  expect(bad.stderr).toMatch(/name/);
  const name = ringName('taken');
  const reader = await ZeroBufferReader.create({ name, metadataSize: 64, payloadSize: 1024 });
  try {
    const taken = run(process.execPath, [bin, 'run', '--name', name, '--frames', '1']);
    expect(await taken.exit()).toBe(EXIT.ring);
    expect(taken.stderr).toMatch(/cannot create the ring.*EEXIST/);
    // JSON (stdout no terminal): the failure as a JSON line too, as inspect --json tells its own (before: nothing on stdout)
    expect(taken.stdout.map((l) => JSON.parse(l) as unknown)).toEqual([
      { type: 'error', name, error: expect.stringMatching(/^cannot create the ring: /) as unknown, code: 'EEXIST' }]);
    const text = run(process.execPath, [bin, 'run', '--name', name, '--frames', '1', '--no-json']);
    expect({ exit: await text.exit(), stdout: text.stdout }).toEqual({ exit: EXIT.ring, stdout: [] });
  } finally {
    await reader.close();
  }
});

// The contract's names reach zerosink whole: gst-launch joins its arguments into one description,
// so a name with a space, a quote or a backslash must be one value there (docs/PROTOCOL.md §1).
test('a ring named with a space and a colon, end to end through gst-launch', async () => {
  for (const shape of ['nm cam:1 ', 'nm "q" a\\b ü ']) {
    const name = `${shape}${ringName('sp')}`;
    const child = run(process.execPath, [bin, 'run', SOURCE, '--name', name, '--json', '--hash', '--sink-property', 'sync=false']);
    expect({ name, exit: await child.exit(), stderr: child.stderr }).toEqual({ name, exit: EXIT.ok, stderr: '' });
    const summary = jsonLines(child.stdout).find((l) => l['type'] === 'summary')!;
    expect(summary).toMatchObject({ frames: 40, bytes: 40 * 64 * 48 * 3, name });
    expect(leftovers()).toEqual([]);
  }
});

/** A word for sh -c. */
const sh = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`;

test('on a terminal (a pty, through script) the live line fits its width, and when the terminal narrows it is drawn again at the new width, the rows it wrapped onto cleared', async () => {
  const source = 'videotestsrc is-live=true ! video/x-raw,format=GRAY8,width=32,height=32,framerate=30/1';
  const command = `stty cols 120 rows 20; exec ${sh(process.execPath)} ${sh(bin)} run --name ${ringName('pty')} --interval 0.05 ${sh(source)}`;
  const script = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const waiters: (() => void)[] = [];
  script.stdout.setEncoding('utf8');
  script.stdout.on('data', (d: string) => {
    out += d;
    for (const w of waiters.splice(0)) w();
  });
  const exited = new Promise<number | null>((resolve) => script.on('exit', (code) => resolve(code)));
  /** Resolves once the output from `from` on matches re (bounded: rejects after 15 s). */
  const seen = (re: RegExp, from: number): Promise<number> => new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${re} in ...${JSON.stringify(out.slice(from).slice(-1000))}`)), 15000);
    const check = (): void => {
      const m = re.exec(out.slice(from));
      if (m !== null) {
        clearTimeout(t);
        resolve(from + m.index + m[0].length);
      } else waiters.push(check);
    };
    check();
  });
  let cli: number | undefined;
  try {
    await seen(/\r\x1b\[2K\d+ frames[^\r]*\r\x1b\[2K/, 0); // a live line drawn (and the next one begun)
    // the CLI: script's child (sh exec'd it); the pty it writes to
    const children = fs.readFileSync(`/proc/${script.pid}/task/${script.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    cli = children.find((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(bin));
    expect(cli).toBeDefined();
    const tty = fs.readlinkSync(`/proc/${cli}/fd/1`);
    expect(tty).toMatch(/^\/dev\/pts\/\d+$/);
    const before = out.length;
    execFileSync('stty', ['-F', tty, 'cols', '40']); // SIGWINCH to the CLI
    // the line (over 80 columns at 120) now takes 3 rows: back up to its first, clear, draw it again
    const redrawn = await seen(/\r\x1b\[\d+A\x1b\[J/, before);
    await seen(/\r\x1b\[2K[^\r]*\r\x1b\[2K/, redrawn); // and an update after it
    process.kill(cli!, 'SIGINT');
    expect(await exited).toBe(0);
  } finally {
    // a failed wait: stopped as by Ctrl-C (its ring removed), killed if that does not do
    if (cli !== undefined && script.exitCode === null) {
      process.kill(cli, 'SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10000))]);
      if (script.exitCode === null) process.kill(cli, 'SIGKILL');
    }
    script.stdin.end();
  }
  const draws = (text: string): string[] => text.split(/\r\x1b\[(?:2K|\d+A\x1b\[J)/).slice(1);
  const resized = out.search(/\r\x1b\[\d+A\x1b\[J/);
  const [wide, narrow] = [out.slice(0, resized), out.slice(resized)];
  // at 120 columns the lines are whole; at 40 every one is cut to 39, ending in …, but the last: whole, on its own line
  for (const line of draws(wide)) expect({ line, fits: [...line].length < 120 && !line.endsWith('…') }).toEqual({ line, fits: true });
  const last = draws(narrow).at(-1)!;
  for (const line of draws(narrow).slice(0, -1).filter((l) => l !== '')) expect({ line, length: [...line].length, cut: line.endsWith('…') }).toEqual({ line, length: 39, cut: true });
  expect(last).toMatch(/^\d+ frames .* pipeline \w+\r\n$/);
  expect(leftovers()).toEqual([]);
});

test('run whose gst-launch ignores the EOS at the stop: killed with SIGKILL after 5 s, and said (status 0, the stop was asked for)', async () => {
  const dir = eosIgnoringGstLaunchDir(); // first on the PATH
  const child = run(process.execPath, [bin, 'run', SOURCE, '--name', ringName('eosignored'), '--duration', '1s', '--no-json'],
    { PATH: `${dir}:${process.env['PATH']}` });
  try {
    expect(await child.exit(30000)).toBe(EXIT.ok);
    expect(child.stderr).toContain('zerobuffer run: gst-launch did not stop within 5 s of its EOS: zerobuffer killed it with SIGKILL\n');
  } finally {
    child.proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('run whose pipeline fails during the stop (an element\'s error at its EOS, gst-launch status 1): status 3, the error told, the summary\'s lastError the same', async () => {
  // (before: status 0 while --json's summary said lastError EPIPELINE; gst-launch itself exits 1)
  const dir = eosFailingGstLaunchDir(); // first on the PATH
  const name = ringName('stoperror');
  const child = run(process.execPath, [bin, 'run', SOURCE, '--name', name, '--duration', '1s', '--json'], { PATH: `${dir}:${process.env['PATH']}` });
  try {
    expect(await child.exit(30000)).toBe(EXIT.pipeline);
    expect(child.stderr).toContain(`zerobuffer run: pipeline into ${name} failed while it stopped (its EOS); gst-launch said:\n` +
      'gst-launch exited with status 1:\nERROR: from element /GstPipeline:pipeline0/GstQueue:queue0: failed at EOS\n  the hint\n');
    expect(jsonLines(child.stdout).find((l) => l['type'] === 'summary')).toMatchObject({ lastError: 'EPIPELINE' });
    expect(leftovers().filter((f) => f.includes(name))).toEqual([]);
  } finally {
    child.proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('run whose frames or metadata do not fit its ring: zerosink\'s message, then which option sizes the ring (status 3)', async () => {
  const source = 'videotestsrc num-buffers=3 ! video/x-raw,format=BGRx,width=640,height=480';
  const frames = run(process.execPath, [bin, 'run', source, '--name', ringName('toosmall'), '--payload-size', '1000000', '--fast', '--json']);
  expect(await frames.exit(30000)).toBe(EXIT.pipeline);
  expect(frames.stderr).toContain('a frame of 1228800 bytes can never fit');
  expect(frames.stderr).toMatch(/zerobuffer run: ring \S*toosmall\S* is this command's \(1000000 payload bytes: --payload-size\); give --payload-size N with N of at least the size zerosink names\n/);
  const metadata = run(process.execPath, [bin, 'run', source, '--name', ringName('metasmall'), '--metadata-size', '16', '--fast', '--json']);
  expect(await metadata.exit(30000)).toBe(EXIT.pipeline);
  expect(metadata.stderr).toMatch(/zerobuffer run: ring \S*metasmall\S* is this command's \(its metadata block: --metadata-size\); give --metadata-size N/);
});

test.each([
  ['an encoded (VP8) source: the fallback, said so', 'videotestsrc num-buffers=5 ! video/x-raw,width=64,height=48 ! vp8enc ! video/x-vp8,width=64,height=48', [],
    '(18662592 bytes, the default: the caps at the source\'s end give no frame size; --payload-size N to change) ←'],
  ['raw video: sized for its caps, the line unchanged', SOURCE, [], '(593920 bytes) ←'],
  ['an encoded source with --payload-size: the size given, the line unchanged', 'videotestsrc num-buffers=5 ! video/x-raw,width=64,height=48 ! vp8enc ! video/x-vp8',
    ['--payload-size', '1048576'], '(1048576 bytes) ←'],
])('run\'s first line for %s', async (_case, source, extra, sized) => {
  // (before: "(18662592 bytes) ←" for the encoded source too, nothing saying why a 64x48 stream got 18 MB; filter said it)
  const name = ringName('clirunsize');
  const child = run(process.execPath, [bin, 'run', source, '--name', name, '--no-json', '--fast', ...extra]);
  expect(await child.exit(30000)).toBe(0);
  expect(child.stderr.split('\n')[0]).toBe(`zerobuffer: ring ${name} ${sized} gst-launch-1.0 -e --no-fault ${source} ! zerosink buffer-name=${name} sync=false name=zerosink`);
});

test.each([['--json'], ['--no-json']])('run %s: an element\'s warning (zerosink: VP8 delta units without frame-header) is told, not hidden', async (mode) => {
  // (before: gst-launch's "WARNING: from element" lines were dropped by every command)
  const child = run(process.execPath, [bin, 'run', 'videotestsrc num-buffers=10 ! video/x-raw,width=64,height=48 ! vp8enc ! video/x-vp8',
    '--name', ringName('clirunwarn'), mode]);
  expect(await child.exit(30000)).toBe(0);
  const element = '/GstPipeline:pipeline0/GstZeroSink:zerosink';
  if (mode === '--json') {
    expect(jsonLines(child.stdout).filter((l) => l['type'] === 'warning')).toEqual([{
      type: 'warning', element, message: expect.stringMatching(/^The stream has delta units, but frame-header is off/), hint: expect.any(String),
    }]);
  } else {
    expect(child.stderr).toMatch(new RegExp(`^zerobuffer run: WARNING: from element ${element}: The stream has delta units, but frame-header is off`, 'm'));
  }
  // its hint in run's words (before: "Set frame-header=true", a property run takes as --sink-property)
  const said = mode === '--json' ? child.stdout.join('\n') : child.stderr;
  expect(said).toContain('Set --sink-property frame-header=true when the reader is zerosrc');
  expect(said).not.toMatch(/Set frame-header/);
});

test.each([['--json'], ['--no-json']])('run %s: videorate repeating pool buffers: zerosink\'s warning says how to keep every repeat, in run\'s words', async (mode) => {
  // (before: a repeat dropped, and nothing said that --sink-property zero-copy=false keeps them all)
  const child = run(process.execPath, [bin, 'run', 'videotestsrc num-buffers=20 pattern=ball ! video/x-raw,format=RGB,width=160,height=120,framerate=10/1 ! ' +
    'videorate ! video/x-raw,framerate=30/1', '--name', ringName('clirunrepeat'), '--fast', mode]);
  expect(await child.exit(30000)).toBe(0);
  const said = mode === '--json' ? jsonLines(child.stdout).filter((l) => l['type'] === 'warning').map((l) => l['message']).join('\n') : child.stderr;
  expect(said).toMatch(/Upstream pushes buffers more than once \(as videorate does when it repeats frames\): frames are copied from now on.*; set --sink-property zero-copy=false to copy frames from the start, which keeps every repeat/);
  expect(said).not.toMatch(/set zero-copy=false/);
});

test('run: a zerosink of the pipeline itself (a tee\'s) that warns of delta units is told to be set in the pipeline, not by --sink-property (the appended one\'s)', async () => {
  const side = ringName('clirunteewarn');
  const reader = await ZeroBufferReader.create({ name: side, metadataSize: 4096, payloadSize: 1 << 20 });
  try {
    const child = run(process.execPath, [bin, 'run', `videotestsrc num-buffers=10 ! video/x-raw,width=64,height=48 ! vp8enc ! video/x-vp8 ! tee name=t ! queue ! zerosink buffer-name=${side} t. ! queue`,
      '--name', ringName('clirunwarn'), '--no-json']);
    expect(await child.exit(30000)).toBe(0);
    expect(child.stderr).toContain('zerobuffer run: WARNING: from element /GstPipeline:pipeline0/GstZeroSink:zerosink0: The stream has delta units');
    expect(child.stderr).toContain("Set frame-header=true on this zerosink in your pipeline (--sink-property sets the appended zerosink's properties only) when the reader is zerosrc");
    expect(child.stderr).toContain('Set --sink-property frame-header=true when the reader is zerosrc'); // the appended zerosink's own
  } finally {
    await reader.close();
  }
});

// What a new user meets in the first hour, each once: a consumer slower
// than its pipeline gets every frame, and a pipeline that writes none ends
// the loop; an unconstrained source negotiates a format the API describes; one it does not describe
// says so; --snapshot of a stream it can neither convert nor decode fails at once naming the
// fix; a pipeline ending in zerosink is refused with the reason; watch warns
// about a stop-stream for a ring never started and passes '>>' lines on;
// --fast is sync=false; plugin-path prints the plugin's directory.
import { jest } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXIT } from '../../src/cli/exit-codes.js';
import { startStream, type Frame } from '../../src/index.js';
import { leftovers, repoRoot, ringName, run } from './helpers.js';

jest.setTimeout(60000);

const bin = path.join(repoRoot, 'dist', 'cli', 'bin.js');

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

function jsonLines(lines: string[]): Record<string, unknown>[] {
  return lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The frames of `source ! zerosink` (3 of them), read through startStream. */
async function framesOf(source: string): Promise<{ frames: number; first: Frame['videoInfo']; image: unknown }> {
  const stream = await startStream({ source, name: ringName('first'), sinkProperties: { sync: false } });
  let frames = 0;
  let first: Frame['videoInfo'];
  let image: unknown;
  for await (const frame of stream.frames()) {
    if (frames++ === 0) {
      first = frame.videoInfo;
      try {
        image = frame.image();
      } catch (e) {
        image = e;
      }
    }
  }
  await stream.close();
  return { frames, first, image };
}

test('a consumer slower than its pipeline gets every frame, also those taken into its batch before gst-launch exited', async () => {
  // The pipeline writes its 10 frames at once and exits while the loop still works through them.
  // Before, the stream took a clean exit with every frame read (into the batch) for "no writer
  // ever came" and ended the loop: the consumer got 1 frame of 10.
  const stream = await startStream({
    source: 'videotestsrc num-buffers=10 ! video/x-raw,format=RGB,width=16,height=16', name: ringName('slow'), sinkProperties: { sync: false },
  });
  const sequences: number[] = [];
  for await (const frame of stream.frames()) {
    sequences.push(frame.sequence);
    await new Promise((r) => setTimeout(r, sequences.length === 1 ? 30 : 100));
  }
  await stream.close();
  expect(sequences).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  expect(stream.error).toBeUndefined();
});

test('a pipeline that ends without writing a frame: frames() ends quietly once gst-launch exited', async () => {
  const stream = await startStream({ source: 'videotestsrc num-buffers=0 ! video/x-raw,format=RGB,width=16,height=16', name: ringName('none') });
  let frames = 0;
  for await (const _frame of stream.frames()) frames++;
  await stream.close();
  expect(frames).toBe(0);
  expect(stream.error).toBeUndefined();
});

test('an unconstrained videotestsrc negotiates RGB with zerosink, not ABGR64_LE', async () => {
  const { frames, first, image } = await framesOf('videotestsrc num-buffers=3');
  expect(frames).toBe(3);
  expect(first).toMatchObject({ format: 'RGB', width: 320, height: 240, size: 320 * 240 * 3, described: true });
  expect(image).toMatchObject({ format: 'RGB', width: 320, height: 240, channels: 3 });
});

test('zerosink still takes any caps; videoInfo of an undescribed format names it "not described"', async () => {
  const { frames, first, image } = await framesOf('videotestsrc num-buffers=3 ! video/x-raw,format=ABGR64_LE,width=16,height=8');
  expect(frames).toBe(3);
  expect(first).toMatchObject({ mediaType: 'video/x-raw', format: 'ABGR64_LE', width: 16, height: 8, described: false });
  expect(first?.reason).toMatch(/^ABGR64_LE not described \(described: video\/x-raw in RGB, .*videoconvert/);
  expect((image as Error).message).toMatch(/ABGR64_LE not described/);
  expect((image as { code: string }).code).toBe('ENOCAPS');
});

test('an unconstrained encoder output negotiates image/jpeg', async () => {
  const { first } = await framesOf('videotestsrc num-buffers=3 ! jpegenc');
  expect(first).toMatchObject({ mediaType: 'image/jpeg', encoded: true, described: true });
});

test('--snapshot of a caps filter it cannot convert fails before anything starts, naming the fix', async () => {
  const child = run(process.execPath, [bin, 'run', 'videotestsrc ! video/x-raw,format=v210', '--snapshot', '/nonexistent/x.png', '--json']);
  expect(await child.exit()).toBe(EXIT.usage);
  expect(child.stderr).toMatch(/--snapshot writes PNG files from RGB, .*, JPEG and PNG frames, and this stream has v210 frames: end the pipeline with "! videoconvert ! video\/x-raw,format=RGB"/);
  expect(jsonLines(child.stdout)).toEqual([]); // no ring, no pipeline
});

test('--snapshot of a stream whose caps show up with the first frame stops at that frame', async () => {
  // a file that could be written: the caps are what is refused
  const png = path.join(os.tmpdir(), `zb-first-hour-${process.pid}.png`);
  const child = run(process.execPath, [bin, 'run', 'videotestsrc num-buffers=200 ! jpegenc ! multipartmux', '--snapshot', png,
    '--json', '--fast', '--name', ringName('snapmux')]);
  expect(await child.exit()).toBe(EXIT.usage);
  expect(child.stderr).toMatch(/this stream has multipart\/x-mixed-replace frames: end the pipeline with "! decodebin ! videoconvert ! video\/x-raw,format=RGB"/);
  expect(jsonLines(child.stdout).find((l) => l['type'] === 'summary')).toMatchObject({ frames: 1 });
  expect(fs.existsSync(png)).toBe(false);
});

test('--snapshot judges the caps filter the pipeline ends with, not one a converter follows (bayer2rgb makes RGBx of video/x-bayer)', async () => {
  const png = path.join(os.tmpdir(), `zb-first-hour-bayer-${process.pid}.png`);
  try {
    const child = run(process.execPath, [bin, 'run', 'videotestsrc num-buffers=3 ! video/x-raw,width=64,height=48 ! rgb2bayer ! ' +
      'video/x-bayer,format=rggb ! bayer2rgb', '--snapshot', png, '--json', '--fast', '--name', ringName('snapbayer')]);
    expect(await child.exit()).toBe(EXIT.ok);
    const bytes = fs.readFileSync(png);
    expect([bytes.readUInt32BE(16), bytes.readUInt32BE(20)]).toEqual([64, 48]); // the IHDR's width and height
  } finally {
    fs.rmSync(png, { force: true });
  }
});

test.each([
  ['run', ['videotestsrc ! zerosink sync=false']],
  ['run', ['videotestsrc', '!', 'zerosink']],
  ['watch', ['--pipeline', 'videotestsrc!zerosink', '--', process.execPath, '-e', 'process.exit(7)']],
  // serve adds it too: the refusal once named "run and watch" only, to serve's user
  ['serve', ['img', path.join(os.tmpdir(), 'zb-never-written.img'), '--pipeline', 'videotestsrc ! video/x-raw,format=GRAY16_LE ! zerosink']],
  ['serve', ['img', 'tcp:127.0.0.1:0', '--pipeline', 'videotestsrc ! video/x-raw,format=GRAY16_LE ! zerosink']],
])('%s with a pipeline ending in zerosink says zerosink is added to it', async (command, args) => {
  const child = run(process.execPath, [bin, command, ...args]);
  expect(await child.exit()).toBe(EXIT.usage);
  expect(child.stderr).toMatch(new RegExp(`^zerobuffer ${command}: the pipeline already ends in zerosink, but "! zerosink buffer-name=<ring>" is added to it:`));
  expect(child.stderr).not.toMatch(/run and watch/);
  expect(child.stderr).toMatch(/--sink-property name=value/);
});

test('watch: a stop-stream for a ring never started is a warning; ">>" lines are output', async () => {
  const script = [
    'console.log(">> a quoted line");',
    'console.log("  >>>>>>> merge marker");',
    'console.log(\'> {"jsonrpc":"2.0","method":"stop-stream","params":["never-started"]}\');',
    'console.log("done");',
  ].join('\n');
  const child = run(process.execPath, [bin, 'watch', '--pipeline', 'videotestsrc', '--', process.execPath, '-e', script]);
  expect(await child.exit()).toBe(EXIT.ok);
  expect(child.stdout).toEqual(['>> a quoted line', '  >>>>>>> merge marker', 'done']);
  expect(child.stderr).toMatch(/ignored protocol line: stop-stream for ring "never-started", which no start-stream announced: ignored/);
});

test('--fast gives zerosink sync=false', async () => {
  const name = ringName('fast');
  const child = run(process.execPath, [bin, 'run', 'videotestsrc num-buffers=300 ! video/x-raw,format=GRAY8,width=16,height=16,framerate=30/1',
    '--fast', '--no-json', '--name', name]);
  expect(await child.exit(30000)).toBe(EXIT.ok);
  expect(child.stderr).toContain(`zerosink buffer-name=${name} sync=false`);
});

test('plugin-path prints the directory of the checkout\'s plugin', async () => {
  const child = run(process.execPath, [bin, 'plugin-path']);
  expect(await child.exit()).toBe(EXIT.ok);
  expect(child.stdout).toEqual([path.join(repoRoot, 'builddir', 'gst-plugin')]);
  expect(fs.existsSync(path.join(child.stdout[0]!, 'libgstzerobuffer.so'))).toBe(true);
});

// frame.imageMeta: sizes from the caps, the timestamp and where it came from
// (PTS, commit time, arrival), the camera id zerosink writes, the colour space
// in the vision platforms' words; a real pipeline with camera-id.
import { jest } from '@jest/globals';
import type { FrameInit } from '../../src/frame.js';
import { Frame, parseMetadata, startStream } from '../../src/index.js';
import { leftovers, ringName } from './helpers.js';

jest.setTimeout(30000);

function frame(caps: string, size: number, extra: Partial<FrameInit> = {}, json: Record<string, unknown> = {}): Frame {
  return new Frame({ releaseFrame: () => {} }, {
    ticket: 1, sequence: 1, data: new Uint8Array(size), copied: true, arrivalNs: 5_000_000,
    metadata: parseMetadata(new TextEncoder().encode(JSON.stringify({ caps, ...json }))), ...extra,
  });
}
const raw = (format: string, w: number, h: number) =>
  `video/x-raw, format=(string)${format}, width=(int)${w}, height=(int)${h}`;

test('timestamp_ms: PTS, else commit time, else arrival; camera_id from the metadata', () => {
  expect(frame(raw('RGB', 4, 1), 12, { pts: 33_366_666, commitNs: 9e9 }, { camera_id: 'dock-3' }).imageMeta).toEqual({
    width: 4, height: 1, timestamp_ms: 33.366666, timestamp_source: 'pts', camera_id: 'dock-3', color_space: 'RGB', format: 'RGB',
  });
  expect(frame(raw('RGB', 4, 1), 12, { commitNs: 7_250_000 }).imageMeta).toMatchObject(
    { timestamp_ms: 7.25, timestamp_source: 'commit', camera_id: null });
  expect(frame(raw('RGB', 4, 1), 12).imageMeta).toMatchObject({ timestamp_ms: 5, timestamp_source: 'arrival' });
});

test.each([
  ['BGRx', 'BGR'], ['xBGR', 'BGR'], ['ABGR', 'BGR'], ['BGR', 'BGR'], ['RGBA', 'RGB'], ['ARGB', 'RGB'],
  ['GRAY8', 'GRAY'], ['GRAY16_BE', 'GRAY'], ['I420', 'YUV'], ['UYVY', 'YUV'],
])('%s frames are color_space %s', (format, space) => {
  const size = parseMetadata(new TextEncoder().encode(JSON.stringify({ caps: raw(format, 4, 2) }))).videoInfo!.size!;
  expect(frame(raw(format, 4, 2), size).imageMeta).toMatchObject({ width: 4, height: 2, color_space: space, format });
});

test('JPEG frames: the size the caps give, RGB once decoded; a frame of the wrong size throws', () => {
  expect(frame('image/jpeg, width=(int)320, height=(int)240', 100).imageMeta)
    .toMatchObject({ width: 320, height: 240, color_space: 'RGB', format: 'JPEG' });
  expect(() => frame(raw('RGB', 4, 1), 11).imageMeta).toThrow(expect.objectContaining({ code: 'EFRAMESIZE' }));
});

test('a released frame keeps its imageMeta (image() throws ERELEASED)', () => {
  const f = frame(raw('BGRx', 4, 1), 16, { pts: 2_000_000 }, { camera_id: 'gate' });
  f.release();
  expect(f.imageMeta).toEqual({
    width: 4, height: 1, timestamp_ms: 2, timestamp_source: 'pts', camera_id: 'gate', color_space: 'BGR', format: 'BGRx',
  });
  expect(() => f.image()).toThrow(expect.objectContaining({ name: 'ZeroBufferError', code: 'ERELEASED' }));
});

test('zerosink camera-id reaches frame.imageMeta through a real ring, with PTS from the frame header', async () => {
  const stream = await startStream({
    source: 'videotestsrc num-buffers=3 ! video/x-raw,format=BGRx,width=32,height=24,framerate=30/1',
    name: ringName('meta'), sinkProperties: { 'camera-id': 'dock-3', 'frame-header': true },
  });
  const metas = [];
  for await (const f of stream.frames({ timeoutMs: 20000 })) metas.push(f.imageMeta);
  await stream.close();
  expect(metas.map((m) => m.timestamp_ms)).toEqual([0, 1000 / 30, 2000 / 30].map((v) => expect.closeTo(v, 4)));
  expect(metas[0]).toMatchObject({ width: 32, height: 24, camera_id: 'dock-3', color_space: 'BGR', timestamp_source: 'pts' });
  expect(leftovers()).toEqual([]);
});

// A Node reader that stays up across writers: the next zerosink with
// frame-header=true may have other caps than the ring's metadata (written
// once, by the first writer). Its frames carry their caps in the frame
// header, and frame.caps / frame.videoInfo follow each frame's own
// (docs/GUARANTEES.md, "the next writer may have other caps").
import path from 'node:path';
import { capsField, ZeroBufferReader } from '../../src/index.js';
import { killIfRunning, leftovers, repoRoot, ringName, run, type Child } from './helpers.js';

const gstEnv = { GST_PLUGIN_PATH: path.join(repoRoot, 'builddir', 'gst-plugin') };

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

test('writers one after the other at 64x48, 32x24 and 64x48 again: each frame has its writer\'s caps and size', async () => {
  const name = ringName('wcaps');
  const reader = await ZeroBufferReader.create({ name, metadataSize: 4096, payloadSize: 1 << 20 });
  let writer: Child | undefined;
  try {
    for (const [width, height, frames] of [[64, 48, 2], [32, 24, 3], [64, 48, 1]] as const) {
      writer = run('gst-launch-1.0', ['-q', 'videotestsrc', `num-buffers=${frames}`, '!',
        `video/x-raw,format=GRAY8,width=${width},height=${height},framerate=30/1`, '!',
        'zerosink', `buffer-name=${name}`, 'frame-header=true'], gstEnv);
      for (let i = 0; i < frames; i++) {
        const frame = await reader.next({ timeoutMs: 10000 });
        expect(frame).not.toBeNull();
        expect([capsField(frame!.caps!, 'width'), capsField(frame!.caps!, 'height')]).toEqual([width, height]);
        expect([frame!.videoInfo?.width, frame!.videoInfo?.height]).toEqual([width, height]);
        expect(frame!.size).toBe(width * height);
        frame!.release();
      }
      expect(await reader.next({ timeoutMs: 10000 })).toBeNull(); // this writer's end of stream
      expect(await writer.exit(20000)).toBe(0);
    }
    // the ring's metadata is still the first writer's
    expect(capsField(reader.metadata!.caps!, 'width')).toBe(64);
  } finally {
    killIfRunning(writer);
    await reader.close();
  }
}, 60000);

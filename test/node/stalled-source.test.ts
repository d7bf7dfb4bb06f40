// ingestImg({ signal }) stops at the abort also while its source sends
// nothing (a camera connection gone quiet): it waited for the next chunk
// before. The writer detaches cleanly after the frames written so far and
// a Node stream source is destroyed, as leaving a for-await over it does.
import { jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { PassThrough } from 'node:stream';
import { ingestImg, ZeroBufferReader } from '../../src/index.js';
import { sleep } from './helpers.js';

jest.setTimeout(30000);

const prefix = `nd-quiet-${process.pid}-`;

afterAll(() => {
  expect(fs.readdirSync('/dev/shm').filter((n) => n.includes(prefix))).toEqual([]);
});

const message = (pixels: number[]): Buffer =>
  Buffer.concat([Buffer.from('img=\x01u16[1,2] a=b\x02', 'latin1'), Buffer.from(pixels), Buffer.from('\x03\n', 'latin1')]);

test('an abort ends ingestImg while its source sends nothing; the frames before it are in the ring, then the end of the stream', async () => {
  const reader = await ZeroBufferReader.create({ name: `${prefix}${randomUUID().slice(0, 8)}`, metadataSize: 4096, payloadSize: 1 << 16 });
  const source = new PassThrough();
  try {
    const stop = new AbortController();
    const ingesting = ingestImg(source, { name: reader.name, signal: stop.signal });
    source.write(message([1, 2, 3, 4]));
    const first = await reader.next({ timeoutMs: 5000 });
    expect(Array.from(first!.data)).toEqual([1, 2, 3, 4]);
    first!.release();
    await sleep(100); // the source goes quiet
    const stopped = performance.now();
    stop.abort();
    await expect(ingesting).resolves.toMatchObject({ frames: 1, width: 2, height: 1 });
    expect(performance.now() - stopped).toBeLessThan(1000);
    expect(source.destroyed).toBe(true);
    await expect(reader.next({ timeoutMs: 5000 })).resolves.toBeNull(); // the writer detached
  } finally {
    source.destroy();
    await reader.close();
  }
});

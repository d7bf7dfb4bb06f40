// watch() over a reader that serves its ring again and again (a long-running
// service): its re-creations are no restarts.
import { jest } from '@jest/globals';
import path from 'node:path';
import { Writable } from 'node:stream';
import { watch } from '../../src/index.js';
import type { PipelineStateEvent } from '../../src/runner/pipeline-runner.js';
import { leftovers, processesWith, repoRoot, ringName, within } from './helpers.js';

jest.setTimeout(30000);

const fixtures = path.join(repoRoot, 'test', 'node', 'fixtures');
const recyclingReader = path.join(fixtures, 'watch-recycling-reader.mjs');

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

test('a reader that closes its ring, says stop-stream and creates the ring again while watch has not read that stop-stream yet: a re-creation, no restart counted, no error', async () => {
  // Before, the old pipeline's EREADERGONE was handled first and, the new ring's reader alive, counted as a restart:
  // 0.7 % of a long run's cycles, until after 10 the watch stopped the service as one that "keeps dying" (exit 3).
  // Here watch's output stalls 150 ms on the "hold" line before each stop-stream, so that every cycle meets it;
  // with maxRestarts 0 the first such count ended the watch.
  const name = ringName('recycle-held');
  const out = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _encoding, callback) {
      if (String(chunk).startsWith('hold')) setTimeout(callback, 150);
      else callback();
    },
  });
  const watcher = watch({
    command: [process.execPath, recyclingReader, name, '6', '5', '--hold'],
    pipeline: 'videotestsrc ! video/x-raw,format=RGB,width=64,height=48,framerate=100/1',
    stdout: out, restart: { maxRestarts: 0 },
  });
  const restarting: PipelineStateEvent[] = [];
  watcher.on('state', (_ring, e) => {
    if (e.state === 'restarting') restarting.push(e);
  });
  const result = await within('the recycling reader under watch', watcher.done, 25000);
  expect(result.pipelineError).toBeUndefined();
  expect(result).toMatchObject({ exitCode: 0, outOfRestarts: false });
  expect(result.rings).toHaveLength(1);
  expect(result.rings[0]).toMatchObject({ name, restarts: 0, framesWrittenExact: true });
  expect(result.rings[0]!.lastError).toBeUndefined();
  // every death met the ring created again (the stop-stream behind the stalled output): none counted
  expect(restarting.length).toBeGreaterThan(0);
  expect(restarting.filter((e) => e.recreated !== true)).toEqual([]);
  expect(processesWith(name)).toEqual([]);
});

// watch() over a reader that serves its ring again and again (a long-running
// service): its re-creations are no restarts, and the watch keeps totals of
// the pipelines it started, not the pipelines themselves.
import { jest } from '@jest/globals';
import path from 'node:path';
import { Writable } from 'node:stream';
import { watch, type WatchOptions } from '../../src/index.js';
import type { PipelineStateEvent } from '../../src/runner/pipeline-runner.js';
import { leftovers, processesWith, repoRoot, ringName, run, within } from './helpers.js';

jest.setTimeout(30000);

const fixtures = path.join(repoRoot, 'test', 'node', 'fixtures');
const recyclingReader = path.join(fixtures, 'watch-recycling-reader.mjs');

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

/**
 * watch() over a recycling reader whose output stalls 150 ms on the "hold" line before each stop-stream, so that
 * every cycle's pipeline dies of its reader's going while the ring is there again: each must be a re-creation.
 */
async function heldRecycling(tag: string, restart: WatchOptions['restart']): Promise<void> {
  const name = ringName(tag);
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
    stdout: out, restart,
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
}

test('a reader that closes its ring, says stop-stream and creates the ring again while watch has not read that stop-stream yet: a re-creation, no restart counted, no error', async () => {
  // Before, the old pipeline's EREADERGONE was handled first and, the new ring's reader alive, counted as a restart:
  // 0.7 % of a long run's cycles, until after 10 the watch stopped the service as one that "keeps dying" (exit 3).
  // With maxRestarts 0 the first such count ended the watch.
  await heldRecycling('recycle-held', { maxRestarts: 0 });
});

test('without restarts (restart: false, --no-restart) as well: a ring created again is gone into, no restart, no error (the death was fatal: exit 3 at the first cycle that met it)', async () => {
  await heldRecycling('recycle-held-norestart', false);
});

test('watch keeps no pipeline runner once its pipeline is over: 30 pipelines started one after another, none alive after garbage collection', async () => {
  // Before, every runner (with its 60-line output tail) stayed in the watch's history for its life:
  // ~6 KB of heap per pipeline start, 75 → 115 MB RSS over 1500 cycles of a long-running reader.
  const name = ringName('retained');
  const child = run(process.execPath, ['--expose-gc', path.join(fixtures, 'watch-retained-runners.mjs'), name, '30']);
  expect(await child.exit(25000)).toBe(0);
  const report = JSON.parse(child.stdout.at(-1)!) as { exitCode: number; started: number; alive: number; rings: number };
  expect(report).toEqual({ exitCode: 0, started: 30, alive: 0, rings: 1 });
  expect(processesWith(name)).toEqual([]);
});

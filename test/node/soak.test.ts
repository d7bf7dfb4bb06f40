// The CI version of the soak run (scripts/soak/soak.mjs, docs/SOAK.md):
// two minutes of random-size frames through a Node reader and a zerosrc
// reader, writer restarts (some SIGKILLed) and reader restarts, every frame
// checked; memory (RSS; for the Node reader after GC also the V8 heap and
// external memory) flat over the last half, fds flat, and no addon object
// left after the run.
import { jest } from '@jest/globals';
import path from 'node:path';
import { leftovers, repoRoot, run, runPrefix } from './helpers.js';

const MINUTES = 2;
jest.setTimeout((MINUTES * 60 + 120) * 1000);

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

test(`soak, ${MINUTES} minutes: no error, every frame byte-exact, writer and reader restarts, memory and fds flat`, async () => {
  const child = run(process.execPath, ['--expose-gc', path.join(repoRoot, 'scripts', 'soak', 'soak.mjs'),
    '--minutes', String(MINUTES), '--json', '--prefix', `${runPrefix}soak-`]);
  const code = await child.exit((MINUTES * 60 + 90) * 1000);
  const report = JSON.parse(child.stdout.at(-1) ?? 'null');
  // The report in the test log, as the long run prints it.
  console.log(child.stdout.slice(0, -1).join('\n'));
  expect(report.errors).toEqual([]);
  expect(code).toBe(0);
  expect(report.ok).toBe(true);
  expect(report.node.frames).toBeGreaterThan(10000);
  expect(report.node.killed).toBeGreaterThan(5);
  expect(report.node.readerRestarts).toBeGreaterThan(0);
  expect(report.gst.frames).toBeGreaterThan(10000);
  expect(report.gst.killed).toBeGreaterThan(5);
  for (const p of [report.node.process, report.gst.process]) {
    expect(p.flat.checked).toBe(true);
    expect(p.flat.problems).toEqual([]);
  }
  expect(Object.keys(report.node.process.flat.growth)).toEqual(['rssKiB', 'heapUsedKiB', 'externalKiB', 'mallocInUseKiB']);
  const { malloc, ...live } = report.node.live;
  expect(malloc.inUseBytes).toBeGreaterThan(0);
  expect(Object.values(live).every((v) => v === 0)).toBe(true);
  expect(Object.keys(live)).toHaveLength(8);
});

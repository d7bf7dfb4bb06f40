// The CI version of the soak run (scripts/soak/soak.mjs, docs/SOAK.md):
// two minutes of random-size frames through a Node reader and a zerosrc
// reader, writer restarts (some SIGKILLed) and reader restarts, every frame
// checked, RSS and fds of both long-lived readers flat after the warm-up.
import { jest } from '@jest/globals';
import path from 'node:path';
import { leftovers, repoRoot, run, runPrefix } from './helpers.js';

const MINUTES = 2;
jest.setTimeout((MINUTES * 60 + 120) * 1000);

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

test(`soak, ${MINUTES} minutes: no error, every frame byte-exact, writer and reader restarts, RSS and fds flat`, async () => {
  const child = run(process.execPath, [path.join(repoRoot, 'scripts', 'soak', 'soak.mjs'),
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
});

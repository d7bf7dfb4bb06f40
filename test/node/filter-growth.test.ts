// The short version of the duplex growth check (scripts/soak/filter-growth.mjs;
// docs/DUPLEX.md has the 10-minute run): 40 s of zerofilter against a Node
// server inverting every frame, RSS and fds of both processes flat after the
// warm-up, every frame answered.
import path from 'node:path';
import { leftovers, repoRoot, run, runPrefix } from './helpers.js';

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

test('zerofilter ⇄ Node server for 40 s: RSS and fds flat, every frame answered', async () => {
  const child = run(process.execPath, [path.join(repoRoot, 'scripts', 'soak', 'filter-growth.mjs'),
    '--minutes', '0.67', '--json', '--prefix', `${runPrefix}growth-`]);
  const code = await child.exit(100000);
  const report = JSON.parse(child.stdout.at(-1) ?? 'null');
  console.log(JSON.stringify(report));
  expect(report.errors).toEqual([]);
  expect(report.server.problems).toEqual([]);
  expect(report.gst.problems).toEqual([]);
  expect(report.server.checked && report.gst.checked).toBe(true);
  expect(report.responses).toBe(report.requests);
  expect(report.responses).toBeGreaterThan(1000);
  expect(code).toBe(0);
}, 120000);

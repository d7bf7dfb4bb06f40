// SMOKE TEST OF THE BENCHMARK (not a performance test): runs
// `npm run bench -- --quick` (scripts/bench/bench.mjs: one round, tiny frame
// counts) so the benchmark cannot rot, and checks that every table row is
// there with positive numbers. It asserts no speed: the targets of issues 6
// and 13 are judged in docs/BENCHMARKS.md from a full run. Needs the build
// (dist/, builddir/gst-plugin) and a C compiler; takes about a minute on an idle
// 2-core machine, longer while other builds share it (hence the loose budget).
import { jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './helpers.js';

jest.setTimeout(240000);

interface Table { head: string[]; rows: string[][] }
interface Run { fps: number; round: number; block?: number; slot?: number }
interface Results {
  seconds: number;
  video: Record<string, Record<string, { runs: Run[] }>>;
  tables: { video: { res: { id: string }; table: Table }[]; sweep: Table; latency: Table; convert: Table; targets: Table; duplex: Table };
}

let results: Results;
let output = '';

beforeAll(async () => {
  const json = path.join(os.tmpdir(), `zb-bench-smoke-${process.pid}.json`);
  const code = await new Promise<number>((resolve) => {
    const child = execFile(process.execPath, [path.join(repoRoot, 'scripts', 'bench', 'bench.mjs'), '--quick', '--json', json],
      { cwd: repoRoot, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
        output = `${stdout}\n${stderr}`;
        resolve(err ? Number(err.code ?? 1) : 0);
      });
    child.stdin?.end();
  });
  if (code !== 0) throw new Error(`bench --quick exited with ${code}:\n${output.slice(-4000)}`);
  results = JSON.parse(fs.readFileSync(json, 'utf8')) as Results;
  fs.rmSync(json, { force: true });
});

/** The numbers of the named columns in a row, all of which must be > 0. */
function positives(table: Table, row: string[], columns: string[]): number[] {
  return columns.map((c) => {
    const cell = row[table.head.indexOf(c)]!;
    return Number.parseFloat(cell);
  });
}

test('the quick mode stays within its budget', () => {
  expect(results.seconds).toBeLessThan(150);
});

test('throughput: every method at every resolution has frames/s, GB/s and CPU per frame', () => {
  expect(results.tables.video.map((v) => v.res.id)).toEqual(['480p', '1080p', '4k']);
  for (const { table } of results.tables.video) {
    const ids = table.rows.map((r) => r[0]);
    for (const prefix of ['1.', '2.', '3.', '4.', '4b.', '5.']) expect(ids.some((id) => id!.startsWith(prefix))).toBe(true);
    for (const row of table.rows) {
      expect(row[table.head.indexOf('errors')]).toBe('');
      for (const v of positives(table, row, ['frames/s', 'GB/s'])) expect(v).toBeGreaterThan(0);
      if (!row[0]!.includes('zerobuffer run')) {
        expect(Number.parseFloat(row[table.head.indexOf('CPU ms/frame producer')]!)).toBeGreaterThan(0);
      }
    }
  }
});

test('size sweep: every size has memcpy, ring, pipe and socket figures', () => {
  const t = results.tables.sweep;
  expect(t.rows.map((r) => r[0])).toEqual(['1 KiB', '4 KiB', '16 KiB', '64 KiB', '256 KiB', '1 MiB', '4 MiB', '16 MiB', '32 MiB']);
  for (const row of t.rows) {
    expect(row[t.head.indexOf('errors')]).toBe('');
    for (const v of positives(t, row, ['memcpy GB/s', 'ring GB/s', 'ring frames/s', 'pipe GB/s', 'uds GB/s'])) expect(v).toBeGreaterThan(0);
  }
});

test('pixel conversion: every case has a time per frame', () => {
  const t = results.tables.convert;
  expect(t.rows.length).toBeGreaterThanOrEqual(8);
  for (const row of t.rows) {
    expect(row[t.head.indexOf('errors')]).toBe('');
    expect(Number.parseFloat(row[t.head.indexOf('ms/frame (median)')]!)).toBeGreaterThan(0);
  }
  expect(t.rows.map((r) => r[0])).toContain('1080p I420 → RGB');
});

test('latency: C and Node readers, ring and socket, three sizes, steady and flat out', () => {
  const t = results.tables.latency;
  expect(t.rows).toHaveLength(3 * 2 * 4);
  for (const row of t.rows) {
    expect(row[t.head.indexOf('errors')]).toBe('');
    for (const v of positives(t, row, ['samples', 'reader frames/s', 'p50 µs', 'p99 µs', 'max µs'])) expect(v).toBeGreaterThan(0);
  }
});

test('video at 1080p and 4K: rows 4 and 5 ran between runs of the ceiling and of 2b–2d, and their targets are paired by round', () => {
  for (const res of ['1080p', '4k']) {
    const cells = results.video[res]!;
    expect([cells['zero-gst']!.runs[0]!.slot, cells['zero-node']!.runs[0]!.slot].sort()).toEqual([0, 1]);
    for (const ref of ['ceiling', 'shm-pool', 'shm-pool3', 'shm-pool2']) expect(cells[ref]!.runs.map((r) => r.block)).toEqual([0, 1, 2]);
    expect(cells.shm!.runs.map((r) => r.block)).toEqual([undefined]);
  }
  const rows = results.tables.targets.rows.filter((row) => /^4K BGRx|^(1080p|4k): zerosink → Node ≥ shmsink/.test(row[0]!));
  expect(rows).toHaveLength(4);
  for (const row of rows) expect(row[1]).toMatch(/paired by round: [\d.]+× 2b, [\d.]+× 2c, [\d.]+× 2d/);
  expect(results.tables.targets.rows.find((row) => row[0]!.includes('≥ 95% of the one-process ceiling'))![1]).toMatch(/^\d+% paired by round/);
});

test('targets are all evaluated', () => {
  expect(results.tables.targets.rows.length).toBeGreaterThanOrEqual(16);
  for (const row of results.tables.targets.rows) expect(row[2]).toMatch(/^(met|missed)/);
});

test('duplex round trip: the zerosink → Node reference, zerofilter (in place if declared, and copied), the shm relays and the by-hand pipe relay at 480p have frames/s, zerofilter its round trip and its share of the reference', () => {
  const t = results.tables.duplex;
  expect(t.rows.map((r) => r[1])).toEqual(['reference: zerosink → Node frame API alone (same frames, same round)',
    'zerofilter ⇄ Node echo server (return frame: in place if declared)',
    'zerofilter ⇄ Node echo server, inPlace: false (copied)',
    'shmsink → shmsrc ! shmsink → shmsrc (GStreamer relay), pool of 4', 'same, pool of 2', 'fdsink → Node → fdsrc (by hand)']);
  for (const row of t.rows) expect(Number.parseFloat(row[t.head.indexOf('frames/s')]!)).toBeGreaterThan(0);
  for (const row of t.rows.slice(1, 3)) {
    expect(Number.parseFloat(row[t.head.indexOf('p50 ms')]!)).toBeGreaterThan(0);
    expect(Number.parseFloat(row[t.head.indexOf('of the reference (paired)')]!)).toBeGreaterThan(0);
  }
  expect(t.rows[2]![t.head.indexOf('answers in place')]).toBe('0 %');
});

test('--help prints the options and runs nothing; an unknown option or a bad --rounds is refused with them', async () => {
  const bench = (args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [path.join(repoRoot, 'scripts', 'bench', 'bench.mjs'), ...args], { cwd: repoRoot },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }));
  });
  const help = await bench(['--help']);
  expect(help).toMatchObject({ code: 0, stderr: '' });
  expect(help.stdout).toMatch(/^usage: npm run bench/);
  expect(help.stdout).toContain('--only ID,ID');
  const unknown = await bench(['--bogus']);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toMatch(/^bench: Unknown option '--bogus'[\s\S]*usage: npm run bench/);
  const rounds = await bench(['--rounds', 'two']);
  expect(rounds.code).toBe(2);
  expect(rounds.stderr).toContain('--rounds: a whole number from 1 expected, got two');
});

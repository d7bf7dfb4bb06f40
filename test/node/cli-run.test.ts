// `zerobuffer run` end to end with the real plugin and gst-launch:
// byte-exact frames (hash vs the same videotestsrc stream through
// filesink), a PNG snapshot of the right size, --json lines, and
// gst-launch's own message for a pipeline it rejects.
import { jest } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { EXIT } from '../../src/cli/exit-codes.js';
import { ZeroBufferReader } from '../../src/index.js';
import { leftovers, repoRoot, ringName, run } from './helpers.js';

jest.setTimeout(60000);

const bin = path.join(repoRoot, 'dist', 'cli', 'bin.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-cli-run-'));
const SOURCE = 'videotestsrc num-buffers=40 pattern=smpte ! video/x-raw,format=RGB,width=64,height=48,framerate=30/1';

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
  expect(leftovers()).toEqual([]);
});

function jsonLines(lines: string[]): Record<string, unknown>[] {
  return lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('N frames arrive byte-exact, the snapshot decodes to the caps size, --json parses, --announce prints the lines', async () => {
  const ref = path.join(tmp, 'ref.raw');
  execFileSync('gst-launch-1.0', ['-q', ...SOURCE.split(' '), '!', 'filesink', `location=${ref}`], { timeout: 20000 });
  const want = createHash('sha256').update(fs.readFileSync(ref)).digest('hex');
  const png = path.join(tmp, 'snap.png');
  const name = ringName('run');
  const child = run(process.execPath, [bin, 'run', SOURCE, '--name', name, '--json', '--hash', '--announce', '--snapshot', png,
    '--sink-property', 'sync=false', '--interval', '0.2']);
  expect(await child.exit()).toBe(EXIT.ok);
  const lines = jsonLines(child.stdout);
  const summary = lines.find((l) => l['type'] === 'summary')!;
  expect(summary).toMatchObject({ frames: 40, bytes: 40 * 64 * 48 * 3, sha256: want, name, snapshot: { width: 64, height: 48 } });
  expect(String(summary['caps'])).toContain('width=(int)64');
  expect(lines.some((l) => l['type'] === 'pipeline' && l['state'] === 'exited' && l['exitCode'] === 0)).toBe(true);
  const image = await sharp(png).metadata();
  expect([image.width, image.height, image.format, image.channels]).toEqual([64, 48, 'png', 3]);
  const announced = child.stdout.filter((l) => l.startsWith('> '));
  expect(announced).toEqual([
    `> {"jsonrpc":"2.0","method":"start-stream","params":["${name}",65536,${64 * (64 * 48 * 3 + 64)}]}`, // 64 frames of the caps (small frames)
    `> {"jsonrpc":"2.0","method":"stop-stream","params":["${name}"]}`,
  ]);
});

test('a --snapshot file that cannot be written is a usage error, told before anything starts', async () => {
  for (const [file, why] of [
    [path.join(tmp, 'no-such-dir', 'x.png'), /directory \S+no-such-dir does not exist/],
    [tmp, /is a directory/],
  ] as const) {
    const name = ringName('snapdir');
    const child = run(process.execPath, [bin, 'run', SOURCE, '--name', name, '--json', '--fast', '--snapshot', file]);
    expect({ file, exit: await child.exit() }).toEqual({ file, exit: EXIT.usage });
    expect(child.stderr).toContain(`zerobuffer run: --snapshot ${file} `);
    expect(child.stderr).toMatch(why);
    expect(jsonLines(child.stdout)).toEqual([]); // no ring, no pipeline
  }
  // a directory root may write in by its permission bits, whose files the kernel refuses: the write
  // after the first frame fails (as root), or the check before (as anyone else); a usage error either way
  const child = run(process.execPath, [bin, 'run', SOURCE, '--name', ringName('snapproc'), '--json', '--fast', '--snapshot', '/proc/zb-snapshot.png']);
  expect(await child.exit()).toBe(EXIT.usage);
  expect(child.stderr).toMatch(/--snapshot \/proc\/zb-snapshot.png cannot be written|no snapshot: cannot write \/proc\/zb-snapshot.png/);
});

test('--frames stops a live source early; the ring and gst-launch are gone afterwards', async () => {
  const name = ringName('frames');
  const child = run(process.execPath, [bin, 'run', '--name', name, '--frames', '10', '--json',
    'videotestsrc is-live=true ! video/x-raw,format=GRAY8,width=32,height=32,framerate=60/1']);
  expect(await child.exit()).toBe(EXIT.ok);
  const summary = jsonLines(child.stdout).find((l) => l['type'] === 'summary')!;
  expect(summary['frames']).toBe(10);
  const pids = jsonLines(child.stdout).filter((l) => l['type'] === 'pipeline' && l['pid'] !== null).map((l) => l['pid'] as number);
  expect(pids.length).toBeGreaterThan(0);
  for (const pid of new Set(pids)) expect(() => process.kill(pid, 0)).toThrow();
  expect(fs.existsSync(`/dev/shm/${name}`)).toBe(false);
});

test('run whose stdout closes (| head): it stops cleanly, status 0, its ring and gst-launch gone', async () => {
  const name = ringName('epipe');
  const child = run(process.execPath, [bin, 'run', '--name', name, '--json',
    'videotestsrc is-live=true ! video/x-raw,format=GRAY8,width=32,height=32,framerate=60/1']);
  try {
    await child.line(/"state":"playing"/, 20000);
    child.proc.stdout!.destroy(); // as head does after its lines
    expect(await child.exit(20000)).toBe(EXIT.ok);
    expect(child.stderr).not.toMatch(/EPIPE|unexpected error/);
    expect(fs.existsSync(`/dev/shm/${name}`)).toBe(false);
  } finally {
    child.proc.kill('SIGKILL');
  }
});

test('an stdout that cannot be written (a full disk) is a failure, said on stderr', () => {
  const full = fs.openSync('/dev/full', 'w');
  try {
    const r = spawnSync(process.execPath, [bin, 'cleanup', '--json', '--dry-run'], { stdio: ['ignore', full, 'pipe'], encoding: 'utf8' });
    expect(r.status).toBe(EXIT.internal);
    expect(r.stderr).toMatch(/cannot write to stdout: ENOSPC/);
  } finally {
    fs.closeSync(full);
  }
});

test('a pipeline gst-launch rejects: its own message, exit status "pipeline failure"', async () => {
  const child = run(process.execPath, [bin, 'run', '--name', ringName('bad'), 'videotestsrc ! no-such-element-xyz']);
  expect(await child.exit()).toBe(EXIT.pipeline);
  expect(child.stderr).toContain('no element "no-such-element-xyz"');
  expect(child.stderr).toMatch(/gst-inspect-1.0/);
});

test('a number option given a word: one line naming the option and the value as typed, the hint, exit 2, nothing started', async () => {
  for (const [argv, line] of [
    [['run', '--frames', 'abc'], '--frames expects a whole number of 1 or more, got "abc"'],
    [['run', '--interval=-1'], '--interval expects a number of seconds such as 2 or 0.5 (above 0, at most 2147483), got "-1"'],
    [['serve', 'img', '-', '--payload-size', '1.5'], '--payload-size expects a size in bytes (a whole number of 1 or more), got "1.5"'],
  ] as const) {
    const child = run(process.execPath, [bin, ...argv]);
    expect({ argv, exit: await child.exit() }).toEqual({ argv, exit: EXIT.usage });
    expect(child.stderr).toBe(`zerobuffer: ${line}\nRun "zerobuffer ${argv[0]} --help" for the options.\n`);
    expect(child.stdout).toEqual([]);
  }
});

test('a bad ring name is a usage error; a ring name that is taken is a ring error', async () => {
  const bad = run(process.execPath, [bin, 'run', '--name', 'a/b', '--frames', '1']);
  expect(await bad.exit()).toBe(EXIT.usage);
  expect(bad.stderr).toMatch(/name/);
  const name = ringName('taken');
  const reader = await ZeroBufferReader.create({ name, metadataSize: 64, payloadSize: 1024 });
  try {
    const taken = run(process.execPath, [bin, 'run', '--name', name, '--frames', '1']);
    expect(await taken.exit()).toBe(EXIT.ring);
    expect(taken.stderr).toMatch(/cannot create the ring.*EEXIST/);
  } finally {
    await reader.close();
  }
});

// --mode of the commands that create a ring (run, serve, filter): the
// ring's permission bits, octal as chmod takes them, on its segment,
// semaphores and lock file; a bad value is a usage error (status 2), told
// before any ring is made, one without 0600 in it by the core's refusal.
import { jest } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXIT } from '../../src/cli/exit-codes.js';
import { inspectRing } from '../../src/index.js';
import { killIfRunning, leftovers, repoRoot, ringName, run, type Child } from './helpers.js';

jest.setTimeout(60000);

const bin = path.join(repoRoot, 'dist', 'cli', 'bin.js');
const gstEnv = { GST_PLUGIN_PATH: path.join(repoRoot, 'builddir', 'gst-plugin') };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-cli-mode-'));
const LIVE = 'videotestsrc is-live=true ! video/x-raw,format=GRAY8,width=16,height=16,framerate=30/1';

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  expect(leftovers()).toEqual([]);
});

const modeOf = (file: string): number => fs.statSync(file).mode & 0o777;

/** The permission bits of a ring's segment, semaphores and lock file, by file. */
function ringModes(ring: string): Record<string, number> {
  const files = [`/dev/shm/${ring}`, `/dev/shm/sem.sem-w-${ring}`, `/dev/shm/sem.sem-r-${ring}`, `/tmp/zerobuffer/${ring}.lock`];
  return Object.fromEntries(files.map((f) => [f, modeOf(f)]));
}

/** Whether the ring is made: its reader's pid is the last thing the core writes, after the semaphores. */
function made(ring: string): boolean {
  try {
    return inspectRing(ring).readerPid !== 0;
  } catch {
    return false; // not there yet, or still being created
  }
}

/** Waits for the ring to be made while child runs. */
async function ringMade(ring: string, child: Child): Promise<void> {
  const end = Date.now() + 15000;
  while (!made(ring)) {
    if (child.proc.exitCode !== null || Date.now() > end) throw new Error(`no ring ${ring}; stderr: ${child.stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function expectModes(ring: string, child: Child, mode: number): Promise<void> {
  try {
    await ringMade(ring, child);
    const modes = ringModes(ring);
    expect(modes).toEqual(Object.fromEntries(Object.keys(modes).map((f) => [f, mode])));
  } finally {
    child.proc.kill('SIGINT');
    expect(await child.exit()).toBe(EXIT.ok);
  }
}

test.each([['0660', 0o660], ['640', 0o640]])('run --mode %s: the ring\'s segment, semaphores and lock file get it', async (given, mode) => {
  const name = ringName('mode');
  const child = run(process.execPath, [bin, 'run', LIVE, '--name', name, '--mode', given, '--json'], gstEnv);
  await expectModes(name, child, mode);
});

test('run without --mode: 0600', async () => {
  const name = ringName('mode');
  await expectModes(name, run(process.execPath, [bin, 'run', LIVE, '--name', name, '--json'], gstEnv), 0o600);
});

test('serve --mode 0666: the ring it waits on for a writer', async () => {
  const name = ringName('mode');
  const child = run(process.execPath, [bin, 'serve', 'img', path.join(dir, `${name}.img`), '--name', name, '--mode', '0666']);
  await expectModes(name, child, 0o666);
});

test('serve --mode 0660 --pipeline to a file: the ring its pipeline writes', async () => {
  const name = ringName('mode');
  const child = run(process.execPath, [bin, 'serve', 'img', path.join(dir, `${name}p.img`), '--name', name, '--mode', '0660',
    '--pipeline', 'videotestsrc is-live=true ! video/x-raw,format=GRAY16_LE,width=16,height=16,framerate=30/1'], gstEnv);
  await expectModes(name, child, 0o660);
});

test('filter --mode 0660: the request ring it creates (the response ring is zerofilter\'s own mode=)', async () => {
  const name = ringName('mode');
  const script = path.join(dir, 'same.mjs');
  fs.writeFileSync(script, 'export default (frame) => frame;\n');
  const child = run(process.execPath, [bin, 'filter', LIVE, 'fakesink', '--script', script, '--name', name, '--mode', '0660', '--json'], gstEnv);
  try {
    await ringMade(`${name}_response`, child); // zerofilter connected: the request ring was there before it
    expect(ringModes(`${name}_request`)).toEqual(Object.fromEntries(Object.keys(ringModes(`${name}_request`)).map((f) => [f, 0o660])));
    expect(modeOf(`/dev/shm/${name}_response`)).toBe(0o600);
  } finally {
    child.proc.kill('SIGINT');
    expect(await child.exit()).toBe(EXIT.ok);
    killIfRunning(child);
  }
});

test.each([
  ['run', (name: string, mode: string) => ['run', LIVE, '--name', name, '--mode', mode]],
  ['serve', (name: string, mode: string) => ['serve', 'img', path.join(dir, `${name}.img`), '--name', name, '--mode', mode]],
  ['filter', (name: string, mode: string) => ['filter', LIVE, 'fakesink', '--script', path.join(dir, 'same.mjs'), '--name', name, '--mode', mode]],
] as const)('%s: a --mode that is not octal permission bits, or keeps the owner from reading and writing, is a usage error, no ring made', async (command, argv) => {
  fs.writeFileSync(path.join(dir, 'same.mjs'), 'export default (frame) => frame;\n');
  for (const [mode, message] of [
    ['rw-rw----', /--mode expects permission bits in octal as chmod takes them, from 0001 to 0777 \(such as 0660 or 660\), got "rw-rw----"/],
    ['0o660', /--mode expects permission bits in octal .*, got "0o660"/],
    ['0680', /--mode expects permission bits in octal .*, got "0680"/],
    ['1777', /--mode expects permission bits in octal .*, got "1777"/],
    ['0', /--mode expects permission bits in octal .*, got "0"/],
    // the core's rule: its sweeps open the lock file, writers the segment, as the owner
    ['0066', new RegExp(`^zerobuffer ${command}: --mode 0066: .*mode 0066 does not let the owner read and write \\(the mode option needs 0600 in it`, 'm')],
    ['440', /--mode 0440: .*mode 0440 does not let the owner read and write/],
  ] as const) {
    const name = ringName('badmode');
    const child = run(process.execPath, [bin, ...argv(name, mode)], gstEnv);
    expect({ mode, exit: await child.exit() }).toEqual({ mode, exit: EXIT.usage });
    expect(child.stderr).toMatch(message);
    expect(leftovers().filter((f) => f.includes(name))).toEqual([]);
  }
});

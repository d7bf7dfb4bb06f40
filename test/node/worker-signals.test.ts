// Rings that a worker_thread made, when a signal ends the process: a worker
// hears no signal, yet when the main thread has a ring of its own open (its
// cleanup unlinks every ring of the process) nothing of them may stay in
// /dev/shm (segment, semaphores) or /tmp/zerobuffer (lock file); and the
// process still ends by the signal. Without a ring of the main thread's
// they stay until the next sweep (README, "Not promised").
import fs from 'node:fs';
import path from 'node:path';
import { killIfRunning, repoRoot, ringName, run, type Child } from './helpers.js';

const fixture = path.join(repoRoot, 'test', 'node', 'fixtures', 'worker-rings.mjs');

/** Files of the rings whose names start with `name`. */
function ringFiles(name: string): string[] {
  const shm = fs.readdirSync('/dev/shm').filter((n) => n.includes(name));
  const locks = fs.existsSync('/tmp/zerobuffer') ? fs.readdirSync('/tmp/zerobuffer').filter((n) => n.includes(name)) : [];
  return [...shm, ...locks.map((n) => `lock ${n}`)];
}

/** Each ring of `rings` has its segment, both semaphores and its lock file. */
function expectRings(name: string, rings: string[]): void {
  const files = ringFiles(name);
  for (const r of rings)
    expect(files).toEqual(expect.arrayContaining([`${name}-${r}`, `sem.sem-w-${name}-${r}`, `sem.sem-r-${name}-${r}`, `lock ${name}-${r}.lock`]));
}

let child: Child | undefined;
afterEach(() => killIfRunning(child));

test.each(['SIGINT', 'SIGTERM'] as const)('%s: a worker\'s rings (one waiting, one holding a frame) are gone with the main thread\'s, and the process ended by the signal', async (signal) => {
  const name = ringName('wsig');
  child = run(process.execPath, [fixture, name, 'main-reader']);
  expect(await child.line(/^ready /)).toBe(`ready ${name} 7`);
  expectRings(name, ['wait', 'held', 'main']);
  child.proc.kill(signal);
  await child.exit();
  expect(child.stderr).toBe('');
  expect(child.proc.signalCode).toBe(signal); // the default action still ran
  expect(ringFiles(name)).toEqual([]);
});

// The main thread's own SIGINT listener decides: the process goes on, and
// so do the rings, the worker's and its own. SIGTERM, which it does not
// hear, then ends it.
test('a SIGINT the main thread listens for leaves the worker\'s rings alone; a SIGTERM it does not removes them', async () => {
  const name = ringName('wsigl');
  child = run(process.execPath, [fixture, name, 'sigint-listener']);
  await child.line(/^ready /);
  child.proc.kill('SIGINT');
  await child.line(/^heard SIGINT$/);
  expectRings(name, ['wait', 'held', 'main']);
  expect(child.proc.exitCode).toBe(null);
  child.proc.kill('SIGTERM');
  await child.exit();
  expect(child.stderr).toBe('');
  expect(child.proc.signalCode).toBe('SIGTERM');
  expect(ringFiles(name)).toEqual([]);
});

// Node starts with SIGXFSZ ignored (a write past RLIMIT_FSIZE fails with
// EFBIG). The hold of the main thread's signals (SignalHold) skips it: libuv
// leaves SIG_DFL when its last handle of a signal stops, so holding it then
// releasing it made it fatal. (signal-exit, which listens for it while rings
// are open, leaves it fatal the same way once it unloads: not tested here.)
test('a signal the process ignores (SIGXFSZ) is still ignored after a SignalHold of it is released', async () => {
  child = run(process.execPath, [path.join(repoRoot, 'test', 'node', 'fixtures', 'held-ignored-signal.mjs')]);
  expect(await child.exit()).toBe(0);
  expect(child.proc.signalCode).toBe(null); // not SIGXFSZ
  expect(await child.line(/^alive$/)).toBe('alive');
  expect(child.stderr).toBe('');
});

// Helpers of the soak run: zb-peer's frame generator, child processes with
// bounded waits, and samples of a process's RSS and open file descriptors.
import { spawn } from 'node:child_process';
import fs from 'node:fs';

export { makeFrame } from '../../test/peer/frame-content.mjs';

/** A deterministic PRNG (xorshift32) for the run's choices. */
export function prng(seed) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    return x;
  };
  return {
    int: (lo, hi) => lo + (next() % (hi - lo + 1)),
    chance: (p) => next() / 2 ** 32 < p,
    pick: (list) => list[next() % list.length],
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Spawns a child; stdout lines go to onLine, stderr is kept (last 4 KiB). */
export function start(cmd, args, { env, onLine } = {}) {
  const proc = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const child = { proc, stderr: '', status: undefined };
  child.done = new Promise((resolve) => {
    proc.once('close', (code, signal) => {
      child.status = signal ? `signal ${signal}` : code;
      resolve(child.status);
    });
    proc.once('error', (e) => {
      child.stderr += String(e);
      child.status = 'spawn error';
      resolve(child.status);
    });
  });
  let buf = '';
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      onLine?.(line);
    }
  });
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => (child.stderr = (child.stderr + d).slice(-4096)));
  return child;
}

export function alive(child) {
  return child.status === undefined;
}

/** Waits for the child to end (SIGKILL after ms); resolves with its status. */
export async function finish(child, ms) {
  const t = setTimeout(() => child.proc.kill('SIGKILL'), ms);
  try {
    return await child.done;
  } finally {
    clearTimeout(t);
  }
}

/** RSS (KiB), open fds, and those of them that are rings (shm or lock files). */
export function sample(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  let fds = 0;
  let ringFds = 0;
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    fds++;
    try {
      const target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (target.startsWith('/dev/shm/') || target.startsWith('/tmp/zerobuffer/')) ringFds++;
    } catch {
      // closed meanwhile
    }
  }
  return { rssKiB, fds, ringFds };
}

/**
 * Whether a series of samples is flat after the warm-up: the median RSS of
 * the last five samples is at most `rssSlackKiB` (or 20 %) above the median
 * of the first five after the warm-up, and the fd counts of the last five
 * at most `fdSlack` above the highest of the first five (ring fds: not above).
 */
export function flatness(samples, warmupMs, { rssSlackKiB = 16384, fdSlack = 6 } = {}) {
  const t0 = samples[0]?.t ?? 0;
  const after = samples.filter((s) => s.t - t0 >= warmupMs);
  if (after.length < 10) return { ok: true, checked: false, reason: `only ${after.length} samples after the warm-up` };
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const first = after.slice(0, 5);
  const last = after.slice(-5);
  const rssFirst = median(first.map((s) => s.rssKiB));
  const rssLast = median(last.map((s) => s.rssKiB));
  const fdFirst = Math.max(...first.map((s) => s.fds));
  const fdLast = Math.max(...last.map((s) => s.fds));
  const ringFirst = Math.max(...first.map((s) => s.ringFds));
  const ringLast = Math.max(...last.map((s) => s.ringFds));
  const problems = [];
  if (rssLast - rssFirst > Math.max(rssSlackKiB, rssFirst * 0.2))
    problems.push(`RSS grew from ${rssFirst} KiB to ${rssLast} KiB`);
  if (fdLast > fdFirst + fdSlack) problems.push(`open fds grew from ${fdFirst} to ${fdLast}`);
  if (ringLast > ringFirst) problems.push(`ring fds grew from ${ringFirst} to ${ringLast}`);
  return { ok: problems.length === 0, checked: true, rssFirst, rssLast, fdFirst, fdLast, problems };
}

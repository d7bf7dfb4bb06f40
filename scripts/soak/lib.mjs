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

/**
 * RSS (KiB) and its parts (anonymous: heaps and stacks; file: code and
 * other mapped files; shmem: the rings mapped), the address space (KiB),
 * open fds, and those of them that are rings (shm or lock files).
 */
export function sample(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  const rssKiB = kib('VmRSS');
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
  return { rssKiB, rssAnonKiB: kib('RssAnon'), rssFileKiB: kib('RssFile'), rssShmemKiB: kib('RssShmem'),
    vmSizeKiB: kib('VmSize'), fds, ringFds };
}

/** Least-squares slope of `key` over time, times the span: the trend's growth across the series. */
export function trendGrowth(series, key) {
  const n = series.length;
  const mt = series.reduce((a, s) => a + s.t, 0) / n;
  const mv = series.reduce((a, s) => a + s[key], 0) / n;
  let num = 0;
  let den = 0;
  for (const s of series) {
    num += (s.t - mt) * (s[key] - mv);
    den += (s.t - mt) ** 2;
  }
  return den === 0 ? 0 : (num / den) * (series.at(-1).t - series[0].t);
}

/**
 * Whether a process's memory and fds are flat over the judged window (the
 * samples from `fromMs` after the first, by default the last half of the
 * run). Memory is judged on its trend — least-squares growth across the
 * window — so that garbage collection's and the allocators' ups and downs
 * do not count, only a steady climb:
 *   RSS            at most max(rssSlackKiB, 20 % of its median);
 *   V8 heap used   at most heapSlackKiB (sampled after a full GC: live objects);
 *   external       at most externalSlackKiB (idem: memory held by live JS objects);
 *   malloc in use  at most mallocSlackKiB (idem: every native allocation alive).
 * Open fds of the last five samples at most `fdSlack` above the highest of
 * the window's first five (child processes' pipes come and go); ring fds
 * not above at all.
 */
export function flatness(samples, fromMs,
  { rssSlackKiB = 16384, heapSlackKiB = 2048, externalSlackKiB = 4096, mallocSlackKiB = 4096, fdSlack = 6 } = {}) {
  const t0 = samples[0]?.t ?? 0;
  const win = samples.filter((s) => s.t - t0 >= fromMs);
  if (win.length < 10) return { ok: true, checked: false, reason: `only ${win.length} samples in the judged window` };
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const first = win.slice(0, 5);
  const last = win.slice(-5);
  const rssMedian = median(win.map((s) => s.rssKiB));
  const growth = { rssKiB: Math.round(trendGrowth(win, 'rssKiB')) };
  const bound = { rssKiB: Math.round(Math.max(rssSlackKiB, rssMedian * 0.2)) };
  if (win[0].heapUsedKiB !== undefined) {
    growth.heapUsedKiB = Math.round(trendGrowth(win, 'heapUsedKiB'));
    growth.externalKiB = Math.round(trendGrowth(win, 'externalKiB'));
    growth.mallocInUseKiB = Math.round(trendGrowth(win, 'mallocInUseKiB'));
    bound.heapUsedKiB = heapSlackKiB;
    bound.externalKiB = externalSlackKiB;
    bound.mallocInUseKiB = mallocSlackKiB;
  }
  const fdFirst = Math.max(...first.map((s) => s.fds));
  const fdLast = Math.max(...last.map((s) => s.fds));
  const ringFirst = Math.max(...first.map((s) => s.ringFds));
  const ringLast = Math.max(...last.map((s) => s.ringFds));
  const problems = [];
  const names = { rssKiB: 'RSS', heapUsedKiB: 'V8 heap used after GC', externalKiB: 'external memory after GC',
    mallocInUseKiB: 'malloc in use after GC' };
  for (const k of Object.keys(growth))
    if (growth[k] > bound[k]) problems.push(`${names[k]} grew by ${growth[k]} KiB over the window (at most ${bound[k]})`);
  if (fdLast > fdFirst + fdSlack) problems.push(`open fds grew from ${fdFirst} to ${fdLast}`);
  if (ringLast > ringFirst) problems.push(`ring fds grew from ${ringFirst} to ${ringLast}`);
  return {
    ok: problems.length === 0, checked: true, fromS: Math.round((win[0].t - t0) / 1000), samples: win.length,
    rssMedianKiB: rssMedian, growth, bound, fdFirst, fdLast, problems,
  };
}

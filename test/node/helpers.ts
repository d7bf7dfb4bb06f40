// Shared by the jest suites: names that belong to this run, the frame
// generator zb-peer uses, child processes with bounded waits, and the check
// that a suite leaves nothing in /dev/shm.
import os from 'node:os';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { rescueLostQuit } from './gst-launch-rescue.mjs';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const peerPath = path.join(repoRoot, 'builddir', 'test', 'zb-peer');
export const vectorsDir = path.join(repoRoot, 'test', 'vectors');
export const nodeWriterPath = path.join(repoRoot, 'test', 'node', 'fixtures', 'writer.mjs');

/** Every ring a suite makes starts with this (per jest worker). */
export const runPrefix = `zbjest-${process.pid}-`;
export function ringName(tag: string): string {
  return `${runPrefix}${tag}-${randomUUID().slice(0, 8)}`;
}

/** /dev/shm entries (segments and semaphores) of this run. */
export function leftovers(): string[] {
  return fs.readdirSync('/dev/shm').filter((n) => n.includes(runPrefix));
}

/** zb-peer's generator (size and bytes per seed/seq) and its FNV-1a hash. */
export { fnv1a, fnv1aSize, makeEdgeFrame, makeFrame } from '../peer/frame-content.mjs';
export const FNV_START = 2166136261;

/**
 * A fresh directory holding a gst-launch-1.0 that says it plays and ignores
 * SIGINT (so the EOS), as a stuck pipeline would: put it first on the PATH,
 * remove it when done.
 */
export function eosIgnoringGstLaunchDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-fake-gst-'));
  fs.writeFileSync(path.join(dir, 'gst-launch-1.0'),
    "#!/bin/bash\ntrap '' INT\necho 'Setting pipeline to PLAYING ...'\nwhile :; do sleep 0.05; done\n", { mode: 0o755 });
  return dir;
}

/**
 * Like eosIgnoringGstLaunchDir, but its gst-launch-1.0 fails at the SIGINT
 * (the EOS): an element's error as gst-launch prints it (queue0, "failed at
 * EOS", its hint "the hint"), then status 1.
 */
export function eosFailingGstLaunchDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-fake-gst-'));
  fs.writeFileSync(path.join(dir, 'gst-launch-1.0'), [
    '#!/bin/bash',
    "trap 'echo \"ERROR: from element /GstPipeline:pipeline0/GstQueue:queue0: failed at EOS\" >&2; echo \"Additional debug info:\" >&2; " +
      "echo \"gstqueue.c(1): f (): /GstPipeline:pipeline0/GstQueue:queue0:\" >&2; echo \"the hint\" >&2; exit 1' INT",
    "echo 'Setting pipeline to PLAYING ...'",
    'while :; do sleep 0.05; done',
  ].join('\n'), { mode: 0o755 });
  return dir;
}

/**
 * A fresh directory holding a gst-launch-1.0 (put it first on the PATH) that runs the real one, then, deaf to SIGINT
 * (the stop's EOS), runs the shell lines `after` and exits with the real one's status: a gst-launch slow to exit once
 * its pipeline ended (its error printed, its rings closed).
 */
function afterRealGstLaunchDir(after: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-fake-gst-'));
  const real = execFileSync('sh', ['-c', 'command -v gst-launch-1.0']).toString().trim();
  fs.writeFileSync(path.join(dir, 'gst-launch-1.0'),
    `#!/bin/bash\n${real} "$@"\nstatus=$?\ntrap '' INT\n${after}\nexit $status\n`, { mode: 0o755 });
  return dir;
}

/** afterRealGstLaunchDir: its gst-launch-1.0 exits a second after the real one, whatever the stop. */
export function slowExitGstLaunchDir(): string {
  return afterRealGstLaunchDir('sleep 1');
}

/**
 * afterRealGstLaunchDir: a gst-launch-1.0 that fails before its command's stop comes, and exits after it: once the
 * real one has exited (its error printed), the command that started it (its parent) gets a Ctrl-C (SIGINT) 0.3 s
 * later, time enough to have read that error, and the wrapper exits a second after that. The race of a Ctrl-C right
 * after a pipeline's failure, made certain.
 */
export function ctrlCAfterFailureGstLaunchDir(): string {
  return afterRealGstLaunchDir('sleep 0.3\nkill -INT $PPID\nsleep 1');
}

export interface Child {
  proc: ChildProcess;
  stdout: string[];
  stderr: string;
  /** Resolves with the first stdout line matching re (rejects after ms, or
   * as soon as stdout ends without it: a child that failed is not waited for). */
  line(re: RegExp, ms?: number): Promise<string>;
  /** Resolves with the exit code once stdout and stderr are read to their end, or 2 s after the exit when
   * something the child started keeps them open (kills the child and rejects after ms). */
  exit(ms?: number): Promise<number>;
}

/** Kills a child that is still running (a test's cleanup; undefined: never started). */
export function killIfRunning(child: Child | undefined): void {
  if (child !== undefined && child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGKILL');
}

/** How long after a lost quit, and after its forced EOS (-e), gst-launch is rescued (gst-launch-rescue.mjs). */
export { FORCED_EOS_MS, LOST_QUIT_MS } from './gst-launch-rescue.mjs';

export interface RunOptions {
  /** cmd runs gst-launch-1.0, itself or through a wrapper (env, setpriv, runuser, sh -c, script): rescue that
   * gst-launch from a lost quit (rescueLostQuit). Default: whether cmd is gst-launch-1.0. */
  gstLaunch?: boolean;
}

export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, options: RunOptions = {}): Child {
  const proc = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  // 'close': the child has exited and its stdout and stderr are read to their end
  const outputRead = new Promise<void>((resolve) => proc.once('close', () => resolve()));
  const child: Child = {
    proc,
    stdout: [],
    stderr: '',
    line(re, ms = 10000) {
      return new Promise((resolve, reject) => {
        const found = child.stdout.find((l) => re.test(l));
        if (found !== undefined) return resolve(found);
        const fail = (why: string): void => {
          clearTimeout(t);
          proc.stdout!.off('line', onLine);
          proc.stdout!.off('end', onEnd);
          reject(new Error(`no line matching ${re} ${why}; stderr: ${child.stderr}`));
        };
        const t = setTimeout(() => fail(`within ${ms} ms`), ms);
        const onLine = (l: string): void => {
          if (re.test(l)) {
            clearTimeout(t);
            proc.stdout!.off('line', onLine);
            proc.stdout!.off('end', onEnd);
            resolve(l);
          }
        };
        // stderr may still be arriving when stdout ends: give it a moment.
        const onEnd = (): void => void setTimeout(() => fail(`before ${path.basename(cmd)} closed its stdout`), 100);
        if (proc.stdout!.readableEnded) return onEnd();
        proc.stdout!.on('line', onLine);
        proc.stdout!.once('end', onEnd);
      });
    },
    async exit(ms = 20000) {
      const code = await new Promise<number>((resolve, reject) => {
        if (proc.exitCode !== null) return resolve(proc.exitCode);
        // Killed by a signal before we asked: 'exit' has already fired.
        if (proc.signalCode !== null) return resolve(128 + (os.constants.signals[proc.signalCode] ?? 0));
        const t = setTimeout(() => {
          proc.kill('SIGKILL');
          reject(new Error(`${cmd} did not exit within ${ms} ms; stderr: ${child.stderr}`));
        }, ms);
        proc.once('exit', (code, signal) => {
          clearTimeout(t);
          resolve(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1));
        });
      });
      // 'exit' may come before the last output is read (a loaded host): what the child wrote is asserted on next
      await settledWithin(outputRead, 2000);
      return code;
    },
  };
  let buf = '';
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      child.stdout.push(l);
      proc.stdout!.emit('line', l);
    }
  });
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (d: string) => (child.stderr += d));
  if (options.gstLaunch ?? path.basename(cmd) === 'gst-launch-1.0') rescueLostQuit(proc);
  return child;
}

/**
 * gst-launch-1.0 with args through run() (so a lost quit is rescued), waited
 * for up to ms (then killed): its Child once it exited 0; any other status
 * throws, naming it and what gst-launch wrote to stderr.
 */
export async function gstLaunch(args: string[], env: NodeJS.ProcessEnv = {}, ms = 30000): Promise<Child> {
  const gst = run('gst-launch-1.0', args, env);
  const status = await gst.exit(ms);
  if (status !== 0) throw new Error(`gst-launch-1.0 ${args.join(' ')} exited ${status}; stderr: ${gst.stderr}`);
  return gst;
}

/**
 * cmd run on a terminal of its own (a pty from util-linux script, 0 columns:
 * the width unknown): its stdout and stderr are that terminal, read back as
 * the child's stdout, each line ending in the terminal's \r. The status is cmd's.
 */
export function runOnTerminal(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, options: RunOptions = {}): Child {
  const words = [cmd, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  return run('script', ['-qefc', words, '/dev/null'], env, { gstLaunch: path.basename(cmd) === 'gst-launch-1.0', ...options });
}

/** Resolves after ms. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Waits for `promise`, at most `ms` (then resolves all the same; a rejection
 * within them is thrown). The timer is cleared once it settles: a pending
 * one would keep jest from exiting after the last test.
 */
export async function settledWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([promise, new Promise<void>((r) => { timer = setTimeout(r, ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

/** Our live processes (not zombies, not this one) whose command line contains marker. */
export function processesWith(marker: string): string[] {
  const found: string[] = [];
  const uid = process.getuid?.();
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    if (Number(pid) === process.pid) continue;
    try {
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      if (/State:\s+Z/.test(status)) continue;
      if (uid !== undefined && Number(/Uid:\s+(\d+)/.exec(status)?.[1]) !== uid) continue;
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(marker)) found.push(`${pid} ${cmd}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Resolves once check() holds (looked at every 25 ms); throws naming what after ms. */
export async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** p, or a rejection naming what once ms pass first (the timer is cleared when p settles). */
export function within<T>(what: string, p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms))),
  ]);
}

/**
 * A non-interlaced PNG parsed here (zlib and the five row filters), not by
 * the encoder under test: its IHDR and its samples, 16-bit ones read
 * big-endian as PNG stores them.
 */
export function readPng(png: Buffer): { width: number; height: number; bitDepth: number; colourType: number; samples: number[] } {
  if (png.toString('latin1', 1, 4) !== 'PNG') throw new Error('not a PNG');
  let ihdr: Buffer | undefined;
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length;) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const body = png.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') ihdr = body;
    if (type === 'IDAT') idat.push(body);
    at += 12 + length;
  }
  if (ihdr === undefined || ihdr[12] !== 0) throw new Error('no IHDR, or an interlaced PNG');
  const [width, height, bitDepth, colourType] = [ihdr.readUInt32BE(0), ihdr.readUInt32BE(4), ihdr[8]!, ihdr[9]!];
  const channels = ({ 0: 1, 2: 3, 4: 2, 6: 4 } as Record<number, number>)[colourType];
  if (channels === undefined || (bitDepth !== 8 && bitDepth !== 16)) throw new Error(`colour type ${colourType}, depth ${bitDepth}: not read here`);
  const bpp = channels * bitDepth / 8;
  const rowBytes = width * bpp;
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const rows = Buffer.alloc(rowBytes * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (rowBytes + 1)]!;
    const line = raw.subarray(y * (rowBytes + 1) + 1, (y + 1) * (rowBytes + 1));
    for (let x = 0; x < rowBytes; x++) {
      const a = x >= bpp ? rows[y * rowBytes + x - bpp]! : 0;
      const b = y > 0 ? rows[(y - 1) * rowBytes + x]! : 0;
      const c = x >= bpp && y > 0 ? rows[(y - 1) * rowBytes + x - bpp]! : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const predictor = [0, a, b, (a + b) >> 1, paeth][filter];
      if (predictor === undefined) throw new Error(`row ${y}: filter ${filter}`);
      rows[y * rowBytes + x] = (line[x]! + predictor) & 0xff;
    }
  }
  const samples: number[] = [];
  for (let i = 0; i < rows.length; i += bitDepth / 8) samples.push(bitDepth === 16 ? rows.readUInt16BE(i) : rows[i]!);
  return { width, height, bitDepth, colourType, samples };
}

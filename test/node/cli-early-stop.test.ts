// A stop signal that comes while the zerobuffer command is still loading its
// modules (yargs, execa, the addon: about half a second) ends it as a stop
// does, status 0: no command runs, nothing is left in /dev/shm, and nothing
// is printed but run --json's summary (off a terminal --json is the default),
// which says no pipeline ran: a program reading the lines gets the one it
// relies on (it once got none at all, status 0). Node's own startup, before the program's
// first line, is not covered (nothing there can listen yet: Node's default
// ends the process), so each signal is sent once /proc shows the child's
// JavaScript running.
import { jest } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXIT } from '../../src/cli/exit-codes.js';
import { killIfRunning, leftovers, repoRoot, ringName, run, sleep, type Child } from './helpers.js';

jest.setTimeout(60000);

const bin = path.join(repoRoot, 'dist', 'cli', 'bin.js');
const LIVE = 'videotestsrc is-live=true ! video/x-raw,width=64,height=48';

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

/** Polls the child's /proc entry until ready() holds (throws after ms, or if it exited first). */
async function until(child: Child, what: string, ready: (proc: string) => boolean, ms = 10000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) throw new Error(`exited before ${what}; stderr: ${child.stderr}`);
    if (ready(`/proc/${child.proc.pid}`)) return;
    if (Date.now() > end) throw new Error(`not ${what} within ${ms} ms`);
    await sleep(1);
  }
}

/** Whether the process has a handler for SIGHUP (SigCgt): Node has none of its own, the CLI listens for it. */
function listensForSighup(proc: string): boolean {
  const caught = /^SigCgt:\s*([0-9a-f]+)$/m.exec(fs.readFileSync(`${proc}/status`, 'utf8'));
  return caught !== null && (BigInt(`0x${caught[1]}`) & (1n << BigInt(os.constants.signals.SIGHUP - 1))) !== 0n;
}

/** Whether the addon is loaded: main.js's modules are being loaded, its commands not started yet. */
function addonLoaded(proc: string): boolean {
  return fs.readFileSync(`${proc}/maps`, 'utf8').includes('zerobuffer.node');
}

function startRun(name: string, ...options: string[]): Child {
  return run(process.execPath, [bin, 'run', '--name', name, LIVE, ...options]);
}

/** run --json's summary of a run stopped before it started. */
function notStartedSummary(name: string | null): string {
  return JSON.stringify({
    type: 'summary', name, frames: 0, bytes: 0, fps: 0, bytesPerSecond: 0, drops: 0, ringUtilisationPercent: 0, ringBand: 'healthy',
    latencyMs: null, pipeline: 'idle', restarts: 0, writerRestarts: 0, elapsedMs: 0, caps: null, lastError: null, lastErrorPermanent: null,
  });
}

test.each([['SIGINT', 3], ['SIGTERM', 1], ['SIGHUP', 1]] as const)(
  '%s as soon as the CLI listens (before its imports), %i run(s): status 0, its --json summary (no pipeline ran) and nothing else, no ring', async (signal, runs) => {
    for (let i = 0; i < runs; i++) {
      const name = ringName(`listens${i}`);
      const child = startRun(name);
      try {
        await until(child, 'listening for SIGHUP', listensForSighup);
        child.proc.kill(signal);
        expect({ run: i, status: await child.exit(), stdout: child.stdout, stderr: child.stderr })
          .toEqual({ run: i, status: EXIT.ok, stdout: [notStartedSummary(name)], stderr: '' });
        expect(fs.readdirSync('/dev/shm').filter((n) => n.includes(name))).toEqual([]);
      } finally {
        killIfRunning(child);
      }
    }
  });

test('SIGINT while the modules load (the addon just mapped, about 0.1 s before main() starts), five runs: status 0, its --json summary (no pipeline ran) and nothing else, no ring', async () => {
  for (let i = 0; i < 5; i++) {
    const name = ringName(`loading${i}`);
    const child = startRun(name);
    try {
      await until(child, 'loading the addon', addonLoaded);
      child.proc.kill('SIGINT');
      expect({ run: i, status: await child.exit(), stdout: child.stdout, stderr: child.stderr })
        .toEqual({ run: i, status: EXIT.ok, stdout: [notStartedSummary(name)], stderr: '' });
      expect(fs.readdirSync('/dev/shm').filter((n) => n.includes(name))).toEqual([]);
    } finally {
      killIfRunning(child);
    }
  }
});

test.each([
  ['--json', [`--name=${ringName('jsonstop')}`, '--json'], true],
  ['--json, no --name', ['--json'], true],
  ['--no-json', [`--name=${ringName('plainstop')}`, '--no-json'], false],
] as const)('SIGINT while the modules load, run %s: status 0, its summary line as JSON only', async (_, options, json) => {
  const child = run(process.execPath, [bin, 'run', LIVE, ...options]);
  try {
    await until(child, 'loading the addon', addonLoaded);
    child.proc.kill('SIGINT');
    const name = options.find((o) => o.startsWith('--name='))?.slice('--name='.length) ?? null;
    expect({ status: await child.exit(), stdout: child.stdout, stderr: child.stderr })
      .toEqual({ status: EXIT.ok, stdout: json ? [notStartedSummary(name)] : [], stderr: '' });
  } finally {
    killIfRunning(child);
  }
});

test('SIGINT while the modules load, filter --json --frames 5: status 0, its summary line (no request, zerofilter null)', async () => {
  const child = run(process.execPath, [bin, 'filter', LIVE, '--script', path.join(repoRoot, 'test', 'node', 'fixtures', 'invert-filter.mjs'),
    'fakesink', '--json', '--frames', '5']);
  try {
    await until(child, 'loading the addon', addonLoaded);
    child.proc.kill('SIGINT');
    expect({ status: await child.exit(), stdout: child.stdout, stderr: child.stderr }).toEqual({
      status: EXIT.ok, stderr: '', stdout: [JSON.stringify({
        type: 'summary', name: null, elapsedMs: 0, requests: 0, responses: 0, errors: 0, passed: 0, inPlace: 0, copied: 0, dropped: 0,
        serviceP50Ms: 0, serviceP99Ms: 0, drained: 0, zerofilter: null,
      })],
    });
  } finally {
    killIfRunning(child);
  }
});

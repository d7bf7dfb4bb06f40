// The CLI under job control, as in a terminal: Ctrl-Z (SIGTSTP) suspends it
// with its children, which run in sessions of their own where the terminal's
// signals do not reach them, and continuing it continues them.
import { jest } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EXIT } from '../../src/cli/exit-codes.js';
import { leftovers, processesWith, repoRoot, ringName, run, until, type Child } from './helpers.js';

jest.setTimeout(60000);

const bin = path.join(repoRoot, 'dist', 'cli', 'bin.js');
const echoFilter = path.join(repoRoot, 'test', 'node', 'fixtures', 'echo-filter.mjs');

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

/** A process's state letter (/proc/PID/stat): T when stopped. */
function state(pid: number): string {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]!;
}

/**
 * The CLI as a shell with job control starts it: leader of a process group
 * of its own, whose parent (here: this process) is in another group of the
 * same session. A group without such a parent is orphaned, and the kernel
 * would discard the SIGTSTP that stops the CLI.
 */
function runAsJob(args: string[]): Child {
  return run('perl', ['-e', 'setpgrp(0, 0); exec @ARGV or die', process.execPath, bin, ...args]);
}

/** Our live processes but the CLI whose command line mentions the ring: its children. */
function childrenFor(name: string, cli: Child): string[] {
  return processesWith(name).filter((p) => Number(p.split(' ')[0]) !== cli.proc.pid);
}

/** A failed test's cleanup: the CLI and its children killed, their rings removed. */
function killAll(name: string, cli: Child): void {
  cli.proc.kill('SIGKILL');
  for (const p of processesWith(name)) process.kill(Number(p.split(' ')[0]), 'SIGKILL');
  for (const entry of fs.readdirSync('/dev/shm').filter((n) => n.includes(name))) fs.rmSync(`/dev/shm/${entry}`, { force: true });
}

function jsonLines(lines: string[]): Record<string, unknown>[] {
  return lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Ctrl-Z to the job, a wait past the pipelines' 5 s timeouts with the CLI and gst-launch stopped, then fg (SIGCONT to the job's group). */
async function suspendAndContinue(cli: number, gst: number): Promise<void> {
  process.kill(cli, 'SIGTSTP');
  await until('the CLI and its gst-launch to stop', () => state(cli) === 'T' && state(gst) === 'T', 5000);
  await sleep(6000);
  expect({ cli: state(cli), gst: state(gst) }).toEqual({ cli: 'T', gst: 'T' });
  process.kill(-cli, 'SIGCONT');
}

test('run suspended by SIGTSTP (Ctrl-Z): its gst-launch is stopped too, and after 6 s (past the 5 s a full ring is waited on) SIGCONT resumes both: the run goes on and ends at --duration, status 0', async () => {
  const name = ringName('tstp-run');
  const child = runAsJob(['run', '--name', name, '--json', '--duration', '12s',
    'videotestsrc is-live=true ! video/x-raw,format=RGB,width=640,height=480']);
  try {
    const gst = (JSON.parse(await child.line(/"state":"playing"/, 20000)) as { pid: number }).pid;
    await child.line(/"type":"stats"/, 10000);
    await suspendAndContinue(child.proc.pid!, gst);
    const framesAtResume = Math.max(0, ...jsonLines(child.stdout).map((l) => (l['type'] === 'stats' ? l['frames'] as number : 0)));
    expect(await child.exit(30000)).toBe(EXIT.ok);
    const summary = jsonLines(child.stdout).find((l) => l['type'] === 'summary');
    expect(summary).toMatchObject({ name, pipeline: 'exited', restarts: 0, lastError: null });
    expect(summary!['frames'] as number).toBeGreaterThan(framesAtResume + 30);
    expect(child.stderr).toBe('');
    expect(fs.existsSync(`/dev/shm/${name}`)).toBe(false);
  } finally {
    killAll(name, child);
  }
});

test('filter suspended by SIGTSTP (Ctrl-Z): its gst-launch is stopped too, and after 6 s (past the 5 s a request is waited on) SIGCONT resumes both: every frame is answered, status 0', async () => {
  const name = ringName('tstp-filter');
  const child = runAsJob(['filter', '--name', name, '--json', '--frames', '300', '--script', echoFilter,
    'videotestsrc is-live=true ! video/x-raw,format=RGB,width=640,height=480', 'fakesink']);
  try {
    await child.line(/"type":"stats".*"responses":[1-9]/, 20000);
    const children = childrenFor(name, child);
    expect(children).toHaveLength(1); // gst-launch
    await suspendAndContinue(child.proc.pid!, Number(children[0]!.split(' ')[0]));
    expect(await child.exit(30000)).toBe(EXIT.ok);
    expect(jsonLines(child.stdout).find((l) => l['type'] === 'summary')).toMatchObject({ name, responses: 300, errors: 0 });
    expect(fs.readdirSync('/dev/shm').filter((n) => n.includes(name))).toEqual([]);
  } finally {
    killAll(name, child);
  }
});

// The CLI under job control, as in a terminal: Ctrl-Z (SIGTSTP) suspends it
// with its children, which run in sessions of their own where the terminal's
// signals do not reach them, and continuing it continues them; a second
// Ctrl-C kills them and ends the CLI at once.
import { jest } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EXIT } from '../../src/cli/exit-codes.js';
import os from 'node:os';
import { leftovers, processesWith, repoRoot, ringName, run, until, type Child } from './helpers.js';

jest.setTimeout(60000);

const bin = path.join(repoRoot, 'dist', 'cli', 'bin.js');
const echoFilter = path.join(repoRoot, 'test', 'node', 'fixtures', 'echo-filter.mjs');
const holdFrameFilter = path.join(repoRoot, 'test', 'node', 'fixtures', 'hold-frame-filter.mjs');

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

/** A process's state letter (/proc/PID/stat): T when stopped, Z a zombie, X when gone. */
function state(pid: number): string {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 'X';
  }
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]!;
}

/**
 * The CLI as a shell with job control starts it: leader of a process group
 * of its own, whose parent (here: this process) is in another group of the
 * same session. A group without such a parent is orphaned, and the kernel
 * would discard the SIGTSTP that stops the CLI.
 */
function runAsJob(args: string[], env: NodeJS.ProcessEnv = {}): Child {
  return run('perl', ['-e', 'setpgrp(0, 0); exec @ARGV or die', process.execPath, bin, ...args], env);
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

test('run suspended by SIGTSTP (Ctrl-Z): its gst-launch is stopped too, and after 6 s (past the 5 s a full ring is waited on) SIGCONT resumes both: the run goes on and ends at --duration counted without the 6 s, status 0', async () => {
  const name = ringName('tstp-run');
  const started = performance.now();
  const child = runAsJob(['run', '--name', name, '--json', '--duration', '12s',
    'videotestsrc is-live=true ! video/x-raw,format=RGB,width=640,height=480']);
  try {
    const gst = (JSON.parse(await child.line(/"state":"playing"/, 20000)) as { pid: number }).pid;
    await child.line(/"type":"stats"/, 10000);
    await suspendAndContinue(child.proc.pid!, gst);
    const framesAtResume = Math.max(0, ...jsonLines(child.stdout).map((l) => (l['type'] === 'stats' ? l['frames'] as number : 0)));
    expect(await child.exit(30000)).toBe(EXIT.ok);
    // 12 s running + 6 s stopped (before: at 12 s, the time stopped counted)
    expect(performance.now() - started).toBeGreaterThan(17500);
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

test('filter suspended by SIGTSTP while zerofilter waits for an answer (the script takes 2 s over frame 20): 6 s later SIGCONT, and the time stopped does not count against zerofilter\'s 5 s timeout: every frame is answered, status 0', async () => {
  const name = ringName('tstp-held');
  const child = runAsJob(['filter', '--name', name, '--json', '--frames', '60', '--script', holdFrameFilter,
    'videotestsrc is-live=true ! video/x-raw,format=GRAY8,width=32,height=32,framerate=10/1', 'fakesink']);
  try {
    await until('frame 20 held', () => child.stderr.includes('holding frame 20\n'), 20000);
    const children = childrenFor(name, child);
    expect(children).toHaveLength(1); // gst-launch
    await suspendAndContinue(child.proc.pid!, Number(children[0]!.split(' ')[0]));
    expect(await child.exit(30000)).toBe(EXIT.ok);
    // before, at SIGCONT: "The duplex server did not answer request 20 within 5000 ms", status 3
    expect(child.stderr).toBe('holding frame 20\n');
    expect(jsonLines(child.stdout).find((l) => l['type'] === 'summary')).toMatchObject({ name, responses: 60, errors: 0 });
    expect(fs.readdirSync('/dev/shm').filter((n) => n.includes(name))).toEqual([]);
  } finally {
    killAll(name, child);
  }
});

test('a SIGINT that comes twice within a moment (GNU timeout sends it to the CLI, then to its process group) is one interrupt: run stops as at one Ctrl-C, with its exited and summary lines, status 0', async () => {
  // (before: the second was taken for a second Ctrl-C, which kills at once: no exited line, no summary; 2 runs of 3 under timeout)
  const name = ringName('int-twice');
  const child = run(process.execPath, [bin, 'run', '--name', name, '--json', 'videotestsrc is-live=true ! video/x-raw,format=GRAY8,width=32,height=32']);
  try {
    await child.line(/"state":"playing"/, 20000);
    child.proc.kill('SIGINT');
    await sleep(10);
    child.proc.kill('SIGINT');
    expect([await child.exit(20000), child.stderr]).toEqual([EXIT.ok, '']);
    const lines = jsonLines(child.stdout);
    expect(lines.find((l) => l['type'] === 'pipeline' && l['state'] === 'exited')).toBeDefined();
    expect(lines.find((l) => l['type'] === 'summary')).toMatchObject({ name });
    expect(fs.existsSync(`/dev/shm/${name}`)).toBe(false);
  } finally {
    killAll(name, child);
  }
});

test('a second Ctrl-C while run waits for a stuck pipeline\'s EOS: the first says it is stopping, the second kills gst-launch and ends the run at once (no 5 s wait for the SIGKILL), status 0, no ring left', async () => {
  const name = ringName('twice-run');
  // 20 s per buffer: the EOS waits behind it, and the stop would end with a SIGKILL after 5 s
  const child = run(process.execPath, [bin, 'run', '--name', name, '--json',
    'videotestsrc is-live=true ! video/x-raw,format=GRAY8,width=32,height=32 ! identity sleep-time=20000000']);
  try {
    await child.line(/"state":"playing"/, 20000);
    expect(childrenFor(name, child)).toHaveLength(1); // gst-launch
    child.proc.kill('SIGINT');
    await until('the stopping note', () => child.stderr.includes('zerobuffer: stopping… (Ctrl-C again to kill now)\n'), 4000);
    child.proc.kill('SIGINT');
    expect(await child.exit(20000)).toBe(EXIT.ok);
    expect(child.stderr).not.toContain('did not stop within 5 s');
    expect(childrenFor(name, child)).toEqual([]); // (a zombie at most: the CLI did not wait for it)
    expect(fs.existsSync(`/dev/shm/${name}`)).toBe(false);
  } finally {
    killAll(name, child);
  }
});

test('a second Ctrl-C while watch waits for a command that ignores SIGINT and SIGTERM: the first says it is stopping, the second kills the command\'s group and the pipeline and ends watch at once, not at the stop\'s SIGKILL 6 s on, status 0', async () => {
  const name = ringName('twice-watch');
  const announce = `> ${JSON.stringify({ jsonrpc: '2.0', method: 'start-stream', params: [name, 4096, 65536] })}`;
  const child = run(process.execPath, [bin, 'watch', '--pipeline', 'videotestsrc is-live=true ! video/x-raw,format=GRAY8,width=32,height=32', '--',
    'bash', '-c', `trap '' INT TERM; echo '${announce}'; while :; do sleep 0.1; done`]);
  try {
    await until('the pipeline to play', () => /playing \(pid \d+\)/.test(child.stderr), 20000);
    expect(childrenFor(name, child).length).toBeGreaterThanOrEqual(2); // the command and gst-launch
    child.proc.kill('SIGINT');
    await until('the stopping note', () => child.stderr.includes('zerobuffer: stopping… (Ctrl-C again to kill now)\n'), 4000);
    child.proc.kill('SIGINT');
    const killedAt = Date.now();
    expect(await child.exit(20000)).toBe(EXIT.ok);
    // well before the SIGKILL that ends the stop otherwise (6 s after the first Ctrl-C)
    expect(Date.now() - killedAt).toBeLessThan(3000);
    expect(childrenFor(name, child)).toEqual([]);
  } finally {
    killAll(name, child);
  }
});

test('run suspended by SIGTSTP (Ctrl-Z), then SIGKILLed (kill -9 %1): its stopped gst-launch is continued with its death signal (SIGTERM) and ends', async () => {
  const name = ringName('tstp-kill');
  const child = runAsJob(['run', '--name', name, '--json',
    'videotestsrc is-live=true ! video/x-raw,format=GRAY8,width=32,height=32']);
  try {
    const gst = (JSON.parse(await child.line(/"state":"playing"/, 20000)) as { pid: number }).pid;
    const cli = child.proc.pid!;
    process.kill(cli, 'SIGTSTP');
    await until('the CLI and its gst-launch to stop', () => state(cli) === 'T' && state(gst) === 'T', 5000);
    process.kill(cli, 'SIGKILL');
    // before: gst-launch stayed stopped (T) for ever, its SIGTERM pending
    await until('gst-launch to end', () => ['Z', 'X'].includes(state(gst)), 5000);
  } finally {
    killAll(name, child);
  }
});

test('Ctrl-Z during a stop whose gst-launch takes 3 s over its EOS: 6 s stopped do not count against the 5 s it is given, and after SIGCONT the run ends cleanly, no SIGKILL', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-slow-eos-gst-'));
  // 30 sleeps of 0.1 s, each begun after the last: 3 s of time running, however long it was stopped
  fs.writeFileSync(path.join(dir, 'gst-launch-1.0'), "#!/bin/bash\ntrap 'for i in $(seq 30); do sleep 0.1; done; exit 0' INT\n" +
    "echo 'Setting pipeline to PLAYING ...'\nwhile :; do sleep 0.05; done\n", { mode: 0o755 });
  const name = ringName('tstp-stop');
  const child = runAsJob(['run', '--name', name, '--json', 'videotestsrc'], { PATH: `${dir}:${process.env['PATH']}` });
  try {
    const gst = (JSON.parse(await child.line(/"state":"playing"/, 20000)) as { pid: number }).pid;
    const cli = child.proc.pid!;
    process.kill(cli, 'SIGINT');
    await sleep(500);
    process.kill(cli, 'SIGTSTP');
    await until('the CLI and its gst-launch to stop', () => state(cli) === 'T' && state(gst) === 'T', 5000);
    await sleep(6000);
    process.kill(-cli, 'SIGCONT');
    expect(await child.exit(20000)).toBe(EXIT.ok);
    // before, at SIGCONT: "gst-launch did not stop within 5 s of its EOS: zerobuffer killed it with SIGKILL"
    expect(child.stderr).not.toContain('SIGKILL');
    expect(jsonLines(child.stdout).find((l) => l['type'] === 'summary')).toMatchObject({ name, lastError: null });
  } finally {
    killAll(name, child);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('Ctrl-Z while gst-launch takes 3 s over its teardown after an error: 6 s stopped do not count against the 5 s its teardown is given, and after SIGCONT the run fails with that error, not a SIGKILL', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-slow-teardown-gst-'));
  const nullPrinted = path.join(dir, 'null-printed');
  // 30 sleeps of 0.1 s, each begun after the last: 3 s of time running, however long it was stopped
  fs.writeFileSync(path.join(dir, 'gst-launch-1.0'), "#!/bin/bash\necho 'Setting pipeline to PLAYING ...'\n" +
    "echo 'ERROR: from element /GstPipeline:pipeline0/GstVideoTestSrc:videotestsrc0: Internal data stream error.' >&2\n" +
    `echo 'Setting pipeline to NULL ...'\ntouch ${nullPrinted}\nfor i in $(seq 30); do sleep 0.1; done\nexit 1\n`, { mode: 0o755 });
  const name = ringName('tstp-teardown');
  const child = runAsJob(['run', '--name', name, '--json', 'videotestsrc'], { PATH: `${dir}:${process.env['PATH']}` });
  try {
    const gst = (JSON.parse(await child.line(/"state":"starting"/, 20000)) as { pid: number }).pid;
    const cli = child.proc.pid!;
    await until('the shutdown line', () => fs.existsSync(nullPrinted), 10000);
    await sleep(300); // (read by the CLI: its teardown watch armed)
    await suspendAndContinue(cli, gst);
    expect(await child.exit(20000)).toBe(EXIT.pipeline);
    // before, at SIGCONT: "gst-launch hung in its teardown after an error (...) and zerobuffer killed it with SIGKILL"
    expect(child.stderr).not.toContain('SIGKILL');
    expect(child.stderr).toContain('Internal data stream error.');
  } finally {
    killAll(name, child);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('watch suspended by SIGTSTP (Ctrl-Z), then SIGKILLed (kill -9 %1): its stopped command is continued with its SIGINT and cleans up', async () => {
  const name = ringName('tstp-kill-watch');
  const marker = `/dev/shm/${name}-marker`;
  const announce = `> ${JSON.stringify({ jsonrpc: '2.0', method: 'start-stream', params: [name, 4096, 65536] })}`;
  const child = runAsJob(['watch', '--pipeline', 'videotestsrc is-live=true ! video/x-raw,format=GRAY8,width=32,height=32', '--',
    'bash', '-c', `touch ${marker}; trap 'rm -f ${marker}; exit 0' INT; echo '${announce}'; while :; do sleep 0.1; done`]);
  try {
    await until('the pipeline to play', () => /playing \(pid \d+\)/.test(child.stderr), 20000);
    const cli = child.proc.pid!;
    process.kill(cli, 'SIGTSTP');
    await until('the CLI to stop', () => state(cli) === 'T', 5000);
    process.kill(cli, 'SIGKILL');
    // before: the command stayed stopped for ever, its SIGINT pending
    await until('the command to clean up', () => !fs.existsSync(marker), 5000);
  } finally {
    killAll(name, child);
    fs.rmSync(marker, { force: true });
  }
});

test.each([
  ['stdout and stderr on it', false],
  ['only stdin on it (--json > file)', true],
] as const)('its terminal hung up (the window closed: SIGHUP, then EIO on the terminal), %s: run stops gracefully, status 0, no crash at exit, no ring left', async (_, json) => {
  const name = ringName(json ? 'hup-json' : 'hup-tty');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-hup-'));
  const [out, err] = [path.join(dir, 'out'), path.join(dir, 'err')];
  // the stats on stdout (a file) or the ring's line on stderr: the run is under way
  const [waitFile, waitText] = json ? [out, '"type":"stats"'] : [err, `zerobuffer: ring ${name}`];
  const hangUp = run('python3', [path.join(repoRoot, 'test', 'node', 'fixtures', 'hang-up.py'), ...(json ? ['--stdout', out] : []), '--stderr', err,
    '--wait-file', waitFile, '--wait-text', waitText, '--timeout', '40', '--', process.execPath, bin, 'run', '--name', name, ...(json ? ['--json'] : [])]);
  try {
    expect(await hangUp.exit(50000)).toBe(0);
    const stderr = fs.readFileSync(err, 'utf8');
    // before: "signal 11" or "signal 6", stderr "cannot write to stdout: write EIO" and node::ResetStdio()'s "Assertion failed"
    expect({ status: hangUp.stdout, stderr }).toEqual({ status: ['exit 0'], stderr: expect.not.stringMatching(/Assertion failed|cannot write|EIO/) as unknown });
    if (json) expect(fs.readFileSync(out, 'utf8')).toContain(`"type":"summary","name":"${name}"`);
    expect(leftovers().filter((n) => n.includes(name))).toEqual([]);
  } finally {
    hangUp.proc.kill('SIGKILL');
    for (const p of processesWith(name)) process.kill(Number(p.split(' ')[0]), 'SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// `zerobuffer watch` end to end: a Node reader in a child process announces
// its ring among log lines, the pipeline starts into it, killing the
// pipeline restarts it, the child's exit stops everything, and nothing is
// left running — also when watch itself is SIGKILLed.
import { jest } from '@jest/globals';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXIT } from '../../src/cli/exit-codes.js';
import { removeStaleRing } from '../../src/index.js';
import { eosFailingGstLaunchDir, eosIgnoringGstLaunchDir, leftovers, repoRoot, ringName, run, until } from './helpers.js';

jest.setTimeout(60000);

const bin = path.join(repoRoot, 'dist', 'cli', 'bin.js');
const fixture = path.join(repoRoot, 'test', 'node', 'fixtures', 'watch-reader.mjs');
const SOURCE = 'videotestsrc is-live=true ! video/x-raw,format=RGB,width=64,height=48,framerate=60/1';

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Processes whose command line mentions the ring (the process table, via /proc). */
function processesFor(name: string): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const state = /State:\s+(\w)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      if (cmd.includes(name) && state !== 'Z') found.push(`${pid} ${cmd}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function gstPids(stderr: string): number[] {
  return [...stderr.matchAll(/playing \(pid (\d+)\)/g)].map((m) => Number(m[1]));
}

test('start-stream among logs starts the pipeline; a killed pipeline restarts; the reader exiting stops everything', async () => {
  const name = ringName('watch');
  const child = run(process.execPath, [bin, 'watch', '--pipeline', SOURCE, '--', process.execPath, fixture, name, '2', '30']);
  try {
    await child.line(/^got 30 frames of generation 1$/, 20000);
    // Logs pass through unchanged; protocol lines do not.
    expect(child.stdout).toContain('log: a line that is not protocol > even with a mark inside');
    expect(child.stdout.some((l) => l.includes('start-stream'))).toBe(false);
    expect(child.stderr).toMatch(/ignored protocol line: unknown method "bogus"/);
    const [first] = gstPids(child.stderr);
    expect(first).toBeDefined();
    process.kill(first!, 'SIGKILL');
    await child.line(/^got 30 frames of generation 2$/, 20000);
    expect(await child.exit(20000)).toBe(EXIT.ok);
    expect(child.stdout).toContain('reader done');
    const pids = gstPids(child.stderr);
    expect(pids.length).toBe(2);
    // A kill is not classified by zerosink: transient, restarted; the killed run never told its frame count.
    // The last error is the kill, or EREADERGONE when zerosink saw the reader close before watch stopped it.
    expect(child.stderr).toMatch(/died \(gst-launch was killed by SIGKILL\); restart 1 in \d+ ms/);
    expect(child.stderr).toMatch(new RegExp(`ring ${name}: at least (\\d+) frames written, 1 restart, ` +
      'last error: (EPIPELINE \\(gst-launch was killed by SIGKILL\\)|EREADERGONE \\(transient\\))'));
    expect(Number(new RegExp(`at least (\\d+) frames written`).exec(child.stderr)![1])).toBeGreaterThanOrEqual(30);
    for (const pid of pids) expect(alive(pid)).toBe(false);
    expect(processesFor(name)).toEqual([]);
  } finally {
    child.proc.kill('SIGKILL');
  }
});

test('stop-stream from the reader stops its pipeline cleanly', async () => {
  const name = ringName('stop');
  const child = run(process.execPath, [bin, 'watch', '--pipeline', SOURCE, '--', process.execPath, fixture, name, '1', '10', '--stop-stream']);
  try {
    await child.line(/^got 10 frames of generation 1$/, 20000);
    const [pid] = gstPids(child.stderr);
    await until('the pipeline to stop after stop-stream', () => !alive(pid!), 8000);
    expect(child.stderr).toMatch(/stop-stream/);
    expect(await child.exit(20000)).toBe(EXIT.ok);
  } finally {
    child.proc.kill('SIGKILL');
  }
});

test('a reader that says stop-stream and closes its ring at once: a clean stop, no error, every time', async () => {
  // Before, zerosink could see the ring closed while its stop (SIGINT, EOS)
  // was under way and the summary said "last error: EREADERGONE" (1 run in 4).
  const once = async (i: number): Promise<void> => {
    const name = ringName(`stopclose${i}`);
    const child = run(process.execPath, [bin, 'watch', '--pipeline', SOURCE, '--', process.execPath, fixture, name, '1', '10', '--stop-stream-close']);
    try {
      expect(await child.exit(15000)).toBe(EXIT.ok);
      expect(child.stdout).toContain('reader done');
      expect(child.stderr).toMatch(/stop-stream/);
      expect(child.stderr).not.toMatch(/EREADERGONE/);
      expect(child.stderr).toMatch(new RegExp(`ring ${name}: \\d+ frames written, 0 restarts, last error: none`));
    } finally {
      child.proc.kill('SIGKILL');
    }
  };
  for (let i = 0; i < 12; i += 2) await Promise.all([once(i), once(i + 1)]);
}, 40000);

test('a reader that says stop-stream, then creates and announces the same ring again at once: a new pipeline writes into it', async () => {
  // Before, the start-stream came while the first pipeline was still stopping (EOS, exit) and
  // was ignored ("already has a pipeline"): the new ring never got a writer.
  const name = ringName('stopstart');
  const child = run(process.execPath, [bin, 'watch', '--pipeline', SOURCE, '--', process.execPath, fixture, name, '1', '10', '--stop-start']);
  try {
    expect(await child.exit(30000)).toBe(EXIT.ok);
    expect(child.stdout).toContain('got 10 frames of the ring created again');
    expect(child.stderr).not.toMatch(/already has a pipeline/);
    expect(gstPids(child.stderr)).toHaveLength(2);
  } finally {
    child.proc.kill('SIGKILL');
  }
});

test('stop-stream, start-stream, stop-stream at once: the last stop-stream wins, no pipeline starts after it', async () => {
  // Before, the start queued behind the first stop ran after it whatever came next.
  const name = ringName('stopstartstop');
  const child = run(process.execPath, [bin, 'watch', '--pipeline', SOURCE, '--', process.execPath, fixture, name, '1', '10', '--stop-start-stop']);
  try {
    expect(await child.exit(30000)).toBe(EXIT.ok);
    expect(child.stdout).toContain('no writer after the last stop-stream');
    expect(gstPids(child.stderr)).toHaveLength(1);
  } finally {
    child.proc.kill('SIGKILL');
  }
});

test('a reader that creates its ring again and announces it (no stop-stream): a new pipeline each time, not a restart of the old one', async () => {
  // Before, the start-stream was ignored ("already has a pipeline") and the old pipeline's
  // EREADERGONE was counted against --max-restarts (with --no-restart: fatal at once).
  const name = ringName('recreate');
  // (The old pipeline may also die of its ring's end before the announcement is read: then it is
  // restarted into the new ring, and the announcement is a duplicate; either way the stream goes on.)
  const child = run(process.execPath, [bin, 'watch', '--pipeline', SOURCE, '--', process.execPath, fixture, name, '1', '10', '--recreate']);
  try {
    expect(await child.exit(40000)).toBe(EXIT.ok);
    expect(child.stdout).toContain('got 10 frames of re-creation 1');
    expect(child.stdout).toContain('got 10 frames of re-creation 2');
    expect(child.stderr).not.toMatch(/already has a pipeline/);
  } finally {
    child.proc.kill('SIGKILL');
  }
});

test('a reader that creates its ring again twice within the 250 ms restart delay (at once, or once its pipeline died of the loss): one pipeline, into the newest ring, nothing hangs', async () => {
  const once = async (flag: string, i: number): Promise<void> => {
    const name = ringName(`twicefast${i}`);
    const child = run(process.execPath, [bin, 'watch', '--pipeline', SOURCE, '--', process.execPath, fixture, name, '1', '30', flag]);
    try {
      expect(await child.exit(30000)).toBe(EXIT.ok);
      expect(child.stdout).toContain('got 30 frames of the newest ring in sequence');
      expect(child.stdout).toContain('pipelines feeding the ring: 1');
      // the first and the one into the newest ring (a restart, or a new pipeline): none for the ring between
      expect(gstPids(child.stderr)).toHaveLength(2);
      expect(processesFor(name)).toEqual([]);
    } finally {
      child.proc.kill('SIGKILL');
    }
  };
  for (const flag of ['--recreate-twice-fast', '--recreate-twice-in-restart']) for (let i = 0; i < 2; i++) await once(flag, i);
}, 120000);

/**
 * watch-reader-back.mjs under watch: reader 1 is SIGKILLed, reader 2 creates the ring again and announces it only once
 * a frame came. It gets its 60 frames; `pipelines` gst-launch runs in all served it; its announcement was a duplicate.
 */
async function readerComesBack(tag: string, pipelines: number, { watchArgs = [], fixtureArgs = [] }: { watchArgs?: string[]; fixtureArgs?: string[] } = {}): Promise<string> {
  const name = ringName(tag);
  const readerBack = path.join(repoRoot, 'test', 'node', 'fixtures', 'watch-reader-back.mjs');
  const child = run(process.execPath, [bin, 'watch', ...watchArgs, '--pipeline', SOURCE, '--', process.execPath, readerBack, name, '60', ...fixtureArgs]);
  try {
    const status = await child.exit(30000);
    expect(child.stdout).toContain('reader 2 fed before its announcement');
    expect(child.stdout).toContain('reader 2 got 60 frames');
    expect(status).toBe(EXIT.ok);
    expect(gstPids(child.stderr)).toHaveLength(pipelines);
    expect(child.stderr).toMatch(new RegExp(`ignored protocol line: start-stream for ring "${name}", which has a pipeline already`));
    expect(processesFor(name)).toEqual([]);
    return child.stderr;
  } finally {
    child.proc.kill('SIGKILL');
  }
}

test('a reader killed and started again, which announces its ring once the pipeline restarted into it feeds it: the restarted pipeline serves it on, the announcement is a duplicate', async () => {
  // Before, the announcement was taken for a ring created again since the first run started:
  // the restarted pipeline was stopped, its EOS ended reader 2's stream.
  // (the first run and its restart into the ring created again, no third; a re-creation, not counted as a restart)
  const stderr = await readerComesBack('readerback', 2);
  expect(stderr).toMatch(/ended \(EREADERGONE, transient[^)]*\); its ring was created again: into it in \d+ ms \(not counted as a restart\)/);
  expect(stderr).toMatch(/: \d+ frames written, 0 restarts, last error: none/);
});

test('a reader that creates its ring again while the restarted pipeline is still connecting, then announces it once fed: a duplicate, the restarted pipeline serves it on', async () => {
  // Before, watch took the ring the restart was spawned for: the announcement of the newer one
  // stopped the pipeline feeding it ("reader 2: end of stream after 1 frames"), a third started.
  await readerComesBack('backconnecting', 2, { fixtureArgs: ['--recreate-while-connecting'] });
});

test('with on-reader-lost=wait, a reader killed and started again that announces its ring once fed: the pipeline, never restarted, serves it on', async () => {
  // Before, watch kept the dead ring as the pipeline's: the announcement stopped it
  // ("reader 2: end of stream after 1 frames"), a second pipeline started.
  await readerComesBack('backwait', 1, { watchArgs: ['--sink-property', 'on-reader-lost=wait'] });
});

test('a reader SIGKILLed (its ring left in /dev/shm) and a new one that creates the ring again and announces it at once, or after the pipeline ended: frames flow to the new reader, in sequence', async () => {
  // With on-reader-lost=wait the announcement replaced the pipeline still on the dead ring: its EOS went into the
  // new ring ("reader 2: end of stream after 0 frames", status 5), as zerosink connects at an EOS to tell a reader.
  const readerBack = path.join(repoRoot, 'test', 'node', 'fixtures', 'watch-reader-back.mjs');
  const once = async (i: number, delayMs: number, wait: boolean): Promise<void> => {
    const name = ringName(`killed${i}`);
    const child = run(process.execPath, [bin, 'watch', ...(wait ? ['--sink-property', 'on-reader-lost=wait'] : []), '--pipeline', SOURCE, '--',
      process.execPath, readerBack, name, '60', '--announce-at-once', String(delayMs)]);
    try {
      const status = await child.exit(30000);
      expect(child.stdout).toContain('reader 1 left its ring');
      expect(child.stdout).toContain('reader 2 got 60 frames in sequence');
      expect(status).toBe(EXIT.ok);
      // the pipeline that waits for a reader serves the new ring itself; the other is restarted, or started anew
      if (wait) expect(gstPids(child.stderr)).toHaveLength(1);
      else expect(gstPids(child.stderr)).toHaveLength(2);
      expect(processesFor(name)).toEqual([]);
    } finally {
      child.proc.kill('SIGKILL');
    }
  };
  // 0 ms: announced before the pipeline saw reader 1 die; 1000 ms: after it ended (its reader gone 500 ms)
  for (const wait of [false, true]) for (const delayMs of [0, 1000]) await once(wait ? 2 : 0, delayMs, wait);
  // the race of the EOS with the move to the new ring: several times
  for (let i = 0; i < 4; i++) await once(10 + i, 0, true);
}, 120000);

test('the same start-stream again while its pipeline runs: told once, as ignored (ring, why), not as a start-stream taken', async () => {
  const name = ringName('twice');
  const child = run(process.execPath, [bin, 'watch', '--pipeline', SOURCE, '--', process.execPath, fixture, name, '1', '10', '--announce-twice']);
  try {
    expect(await child.exit(30000)).toBe(EXIT.ok);
    expect(child.stdout).toContain('got 10 frames of generation 1');
    const lines = child.stderr.split('\n');
    // the first is taken: "start-stream NAME", then its pipeline plays
    expect(lines.filter((l) => l === `zerobuffer watch: start-stream ${name}`)).toHaveLength(1);
    const [pid] = gstPids(child.stderr);
    expect(gstPids(child.stderr)).toHaveLength(1);
    // the second: one line saying it was ignored, which ring and why, with the line as given
    const ignored = lines.filter((l) => l.includes(name) && l.includes('ignored'));
    expect(ignored).toEqual([expect.stringMatching(new RegExp(
      `^zerobuffer watch: ignored protocol line: start-stream for ring "${name}", which has a pipeline already \\((pid ${pid}|starting)\\): ignored: > \\{"jsonrpc"`))]);
    expect(child.stderr).not.toMatch(/already has a pipeline/);
  } finally {
    child.proc.kill('SIGKILL');
  }
});

// The argv of a watch whose command is the Node module SCRIPT.
function watchScriptArgs(script: string): string[] {
  return [bin, 'watch', '--pipeline', SOURCE, '--', process.execPath, '--input-type=module', '-e', script];
}

// CHILD's stdout and stderr, gathered as they come (byte by byte, not by lines).
function gathered(child: ChildProcess): { out: string; err: string } {
  const output = { out: '', err: '' };
  child.stdout!.on('data', (d: Buffer) => (output.out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output.err += d.toString()));
  return output;
}

// A watch whose command creates ring NAME of PAYLOADSIZE, runs ANNOUNCE's script lines (`w`
// writes to stdout), reads 5 frames and says so: the watch ends with status 0, having passed
// PROGRESS on to stdout when given, and served the ring as announced (the announcement taken
// for no output).
async function expectReaderServed(name: string, payloadSize: number, announce: string[], progress?: string): Promise<void> {
  const script = [
    `import { ZeroBufferReader } from ${JSON.stringify(path.join(repoRoot, 'dist', 'index.js'))};`,
    "const w = (t) => new Promise((r) => process.stdout.write(t, r));",
    `const reader = await ZeroBufferReader.create({ name: ${JSON.stringify(name)}, metadataSize: 4096, payloadSize: ${payloadSize} });`,
    ...announce,
    "for (let i = 0; i < 5; i++) { const f = await reader.next({ timeoutMs: 15000 }); if (f === null) break; f.release(); }",
    "await w('got 5 frames\\n');",
    'reader.close();',
  ].join('\n');
  const child = run(process.execPath, watchScriptArgs(script));
  try {
    await child.line(/got 5 frames$/, 20000);
    expect(await child.exit(20000)).toBe(EXIT.ok);
    if (progress !== undefined) expect(child.stdout.join('\n')).toContain(progress);
    expect(child.stdout.some((l) => l.includes('start-stream'))).toBe(false);
    expect(child.stderr).not.toMatch(/no ring was announced/);
    expect(child.stderr).toMatch(new RegExp(`ring ${name}: (at least )?\\d+ frames written`));
  } finally {
    child.proc.kill('SIGKILL');
  }
}

test('output without a line end passes on before it: a progress display\'s "\\r" updates, then a prompt shows before the command has its answer (it was held until the line end: the prompt never showed)', async () => {
  // the command's stdin is watch's: the answer is written only once the prompt was seen
  const script = [
    "const w = (t) => new Promise((r) => process.stdout.write(t, r));",
    "for (const n of [1, 2, 3]) await w(`\\rframes ${n}`);",
    "await w('\\nPress Enter: ');",
    "process.stdin.once('data', (d) => { process.stdout.write(`got ${String(d).trim()}\\n`); process.exit(0); });",
  ].join('\n');
  const child = spawn(process.execPath, watchScriptArgs(script), { stdio: ['pipe', 'pipe', 'pipe'] });
  const output = gathered(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await until('the prompt to show before its line end', () => output.out.endsWith('Press Enter: '), 15000);
    expect(output.out).toBe('\rframes 1\rframes 2\rframes 3\nPress Enter: ');
    child.stdin.end('yes\n');
    expect(await exited).toBe(EXIT.ok);
    expect(output.out).toBe('\rframes 1\rframes 2\rframes 3\nPress Enter: got yes\n');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  expect(output.err).toMatch(/no ring was announced/);
});

test('">" progress updates pass through to stdout (they were held to the line end, then taken for one protocol line: a warning on stderr)', async () => {
  const script = [
    "const w = (t) => new Promise((r) => process.stdout.write(t, r));",
    "for (const n of [1, 2]) await w(`> step ${n}\\r`);",
    "await w('> done\\n');",
  ].join('\n');
  const child = spawn(process.execPath, watchScriptArgs(script), { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = gathered(child);
  try {
    expect(await new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))).toBe(EXIT.ok);
    expect(output.out).toBe('> step 1\r> step 2\r');
    // the line's last start alone is judged: no JSON
    expect(output.err).toMatch(/ignored protocol line: protocol line is not JSON.*: > done$/m);
    expect(output.err).not.toMatch(/step/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('an announcement after "\\r" progress updates on the same line is served (it was taken for output: "no ring was announced"); the progress passes on', async () => {
  const name = ringName('crannounce');
  const payloadSize = 3 * (64 * 48 * 3 + 64);
  await expectReaderServed(name, payloadSize, [
    "for (const n of [1, 2]) { await w(`progress ${n}\\r`); await new Promise((r) => setTimeout(r, 50)); }",
    `await w('> ' + JSON.stringify({ jsonrpc: '2.0', method: 'start-stream', params: [${JSON.stringify(name)}, 4096, ${payloadSize}] }) + '\\n');`,
  ], 'progress 1\rprogress 2\r');
});

test('an announcement whose JSON has raw "\\r" as whitespace is served (the "\\r" was taken for a restart of the line: output, "no ring was announced")', async () => {
  const name = ringName('crjson');
  const payloadSize = 3 * (64 * 48 * 3 + 64);
  await expectReaderServed(name, payloadSize, [
    `await w('> {"jsonrpc":"2.0",\\r"method":"start-stream",\\r"params":[' + ${JSON.stringify(JSON.stringify(name))} + ',4096,${payloadSize}]}\\n');`,
  ]);
});

test('watch whose stdout closes (| head): it stops cleanly, status 0, the reader and its ring gone', async () => {
  const name = ringName('epipe');
  const child = run(process.execPath, [bin, 'watch', '--pipeline', SOURCE, '--', process.execPath, fixture, name, '1', '1000000']);
  try {
    await child.line(/^log: after the announcement/, 20000);
    child.proc.stdout!.destroy(); // as head does after its lines
    expect(await child.exit(20000)).toBe(EXIT.ok);
    expect(child.stderr).not.toMatch(/EPIPE|Unhandled/);
    await until('the ring to go', () => !fs.existsSync(`/dev/shm/${name}`), 10000);
  } finally {
    child.proc.kill('SIGKILL');
  }
});

test('watch whose stdout and stderr close (2>&1 | head -3): it stops cleanly, status 0, the reader and its ring gone', async () => {
  const name = ringName('epipe2');
  // head goes after the reader's first lines; watch then says more (the pipeline playing, the summary) into the closed pipe
  const child = run('/bin/bash', ['-c', '"$0" "$1" watch --pipeline "$2" -- "$0" "$3" "$4" 1 1000000 2>&1 | head -3; exit "${PIPESTATUS[0]}"',
    process.execPath, bin, SOURCE, fixture, name]);
  try {
    expect(await child.exit(20000)).toBe(EXIT.ok);
    expect(child.stdout).toHaveLength(3);
    await until('the ring to go', () => !fs.existsSync(`/dev/shm/${name}`), 10000);
  } finally {
    child.proc.kill('SIGKILL');
  }
});

test('watch: a bad --filter-sink is a usage error before anything starts; a command that cannot start says why', async () => {
  const bad = run(process.execPath, [bin, 'watch', '--pipeline', SOURCE, '--filter-sink', 'fakesink "', '--', process.execPath, '-e', '']);
  expect(await bad.exit(20000)).toBe(EXIT.usage);
  expect(bad.stderr).toMatch(/unclosed " quote/);
  // (sh, which runs the command once its death guard is there, would start and exit 127: told as the command's own status)
  // before: "no ring was announced (the command printed no start-stream line)" first, and no hint
  for (const [command, hint] of [['/nonexistent/zb-reader', 'no such file'], ['zb-no-such-reader', 'not found on the PATH']]) {
    const missing = run(process.execPath, [bin, 'watch', '--pipeline', SOURCE, '--', command]);
    expect(await missing.exit(20000)).toBe(EXIT.command);
    expect(missing.stderr).toBe(`zerobuffer watch: ${command} could not be started: spawn ${command} ENOENT (${hint})\n`);
  }
});

test('watch SIGKILLed: the reader and gst-launch die with it (no orphans), the ring is removed', async () => {
  const name = ringName('orphan');
  const child = run(process.execPath, [bin, 'watch', '--pipeline', SOURCE, '--', process.execPath, fixture, name, '1', '1000000']);
  try {
    await child.line(/^got 1000000|^generation 1$/, 20000);
    const readerPid = Number(/reader pid (\d+)/.exec(child.stdout.join('\n'))?.[1]);
    const [gstPid] = gstPids(child.stderr);
    expect(alive(readerPid) && alive(gstPid!)).toBe(true);
    child.proc.kill('SIGKILL');
    await until('the children to die with their parent', () => !alive(readerPid) && !alive(gstPid!), 8000);
    await until('the ring to be removed', () => !fs.existsSync(`/dev/shm/${name}`), 5000);
    expect(processesFor(name)).toEqual([]);
  } finally {
    child.proc.kill('SIGKILL');
  }
});

test('watch SIGKILLed while its command is gst-launch with zerosrc: the command gets SIGINT once and zerosrc removes its ring', async () => {
  const name = ringName('orphan-gstcmd');
  // none of the user's: watch gives its command the plugin path its pipelines get
  const env = { GST_PLUGIN_PATH: undefined, GST_PLUGIN_PATH_1_0: undefined };
  const child = run(process.execPath, [bin, 'watch', '--pipeline', SOURCE, '--', 'gst-launch-1.0', 'zerosrc', `buffer-name=${name}`,
    'payload-size=65536', 'metadata-size=4096', 'announce=true', 'eos-on-writer-exit=false', '!', 'fakesink'], env);
  try {
    await until('the pipeline to play', () => gstPids(child.stderr).length === 1, 20000);
    const commandPids = processesFor(name).map((p) => Number(p.split(' ')[0])).filter((pid) => pid !== child.proc.pid);
    expect(fs.existsSync(`/dev/shm/${name}`)).toBe(true);
    child.proc.kill('SIGKILL');
    await until('the command and the pipeline to die with watch', () => commandPids.every((pid) => !alive(pid)), 8000);
    // Gone at once, not left to the next reader's sweep: SIGTERM killed gst-launch without cleanup, and
    // so did SIGPIPE, one time in four, from its "handling interrupt." into the dead watch's pipe, and a
    // second SIGINT, one time in five, from the kernel's --pdeathsig, which came for each of watch's threads.
    expect(fs.existsSync(`/dev/shm/${name}`)).toBe(false);
    expect(leftovers().filter((f) => f.includes(name))).toEqual([]);
  } finally {
    child.proc.kill('SIGKILL');
  }
});

test('watch SIGKILLed while a shell command runs gst-launch with zerosrc in the background: the whole group gets SIGINT, each zerosrc removes its ring', async () => {
  const names = [ringName('orphan-bg-a'), ringName('orphan-bg-b')];
  // none of the user's: watch gives its command the plugin path its pipelines get
  const env = { GST_PLUGIN_PATH: undefined, GST_PLUGIN_PATH_1_0: undefined };
  // (their stdout not into the dead watch's pipe: SIGPIPE is theirs, the command is not gst-launch)
  const script = names.map((n) => `gst-launch-1.0 zerosrc buffer-name=${n} payload-size=65536 metadata-size=4096 ! fakesink >/dev/null &`)
    .join(' ') + ' wait';
  const child = run(process.execPath, [bin, 'watch', '--pipeline', SOURCE, '--', 'bash', '-c', script], env);
  try {
    await until('both rings', () => names.every((n) => fs.existsSync(`/dev/shm/${n}`)), 20000);
    child.proc.kill('SIGKILL');
    // (the kernel's death signal reached the shell alone: both ran on with their rings)
    await until('both gst-launch to end', () => names.every((n) => processesFor(n).length === 0), 10000);
    for (const n of names) expect(leftovers().filter((f) => f.includes(n))).toEqual([]);
  } finally {
    child.proc.kill('SIGKILL');
    for (const n of names) for (const p of processesFor(n)) process.kill(Number(p.split(' ')[0]), 'SIGKILL');
    for (const f of leftovers().filter((f) => names.some((n) => f.includes(n)))) fs.rmSync(`/dev/shm/${f}`, { force: true });
  }
});

test('watch SIGKILLed while it stops its command: the command got its SIGINT from the stop and gets no second one', async () => {
  const name = ringName('stop-then-kill');
  const marks = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'zb-marks-')), 'signals');
  // a command that takes its time to clean up on SIGINT, as gst-launch -e draining its EOS does
  const script = `trap 'echo INT >> "$1"' INT; echo ready; while :; do sleep 0.05; done`;
  const child = run(process.execPath, [bin, 'watch', '--pipeline', SOURCE, '--', 'bash', '-c', script, name, marks]);
  try {
    await child.line(/^ready$/, 20000);
    const [commandPid] = processesFor(marks).map((p) => Number(p.split(' ')[0])).filter((pid) => pid !== child.proc.pid);
    child.proc.kill('SIGINT');
    await until('the SIGINT of the stop', () => fs.existsSync(marks), 5000);
    child.proc.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 1000));
    // (the guard stayed armed during the stop: a second SIGINT when watch died)
    expect(fs.readFileSync(marks, 'utf8')).toBe('INT\n');
    process.kill(commandPid!, 'SIGKILL');
  } finally {
    child.proc.kill('SIGKILL');
    for (const p of processesFor(marks)) process.kill(Number(p.split(' ')[0]), 'SIGKILL');
    fs.rmSync(path.dirname(marks), { recursive: true, force: true });
  }
});

/** Waits for the process to be gone, by pid: the marks it leaves say which signals it had. */
async function stubbornCommandAfterWatchDies(interruptFirst: boolean): Promise<{ marks: string; termAfterMs: number }> {
  const marks = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fxw-marks-')), 'signals');
  // ignores SIGINT (says it got it) and SIGTERM (says so too), as a command that outlasts both: only SIGKILL ends it
  const script = `trap 'echo INT >> "$1"' INT; trap 'echo TERM >> "$1"' TERM; echo ready; while :; do sleep 0.05; done`;
  const child = run(process.execPath, [bin, 'watch', '--pipeline', SOURCE, '--', 'bash', '-c', script, 'fxw-stubborn', marks]);
  let commandPid: number | undefined;
  try {
    await child.line(/^ready$/, 20000);
    [commandPid] = processesFor(marks).map((p) => Number(p.split(' ')[0])).filter((pid) => pid !== child.proc.pid);
    if (interruptFirst) {
      child.proc.kill('SIGINT');
      await until('the SIGINT of the stop', () => fs.existsSync(marks), 5000);
    }
    child.proc.kill('SIGKILL');
    const killedAt = Date.now();
    await until('the SIGTERM', () => fs.existsSync(marks) && fs.readFileSync(marks, 'utf8').includes('TERM'), 15000);
    const termAfterMs = Date.now() - killedAt;
    // SIGKILL 1 s after the SIGTERM
    await until('the command to be killed', () => !alive(commandPid!), 10000);
    return { marks: fs.readFileSync(marks, 'utf8'), termAfterMs };
  } finally {
    child.proc.kill('SIGKILL');
    if (commandPid !== undefined && alive(commandPid)) process.kill(commandPid, 'SIGKILL');
    fs.rmSync(path.dirname(marks), { recursive: true, force: true });
  }
}

test('watch SIGKILLed while its command outlasts SIGINT: the guard goes on as a stop would, SIGTERM after 5 s, then SIGKILL (it ran on for ever)', async () => {
  const { marks, termAfterMs } = await stubbornCommandAfterWatchDies(false);
  expect(marks).toBe('INT\nTERM\n');
  expect(termAfterMs).toBeGreaterThanOrEqual(4500);
});

test('watch SIGKILLed while it stops a command that outlasts its SIGINT: no second SIGINT, and SIGTERM, then SIGKILL, still come (it ran on for ever)', async () => {
  const { marks, termAfterMs } = await stubbornCommandAfterWatchDies(true);
  expect(marks).toBe('INT\nTERM\n');
  // timed from watch's death, never sooner than the stop's own schedule
  expect(termAfterMs).toBeGreaterThanOrEqual(4500);
});

test('a reader SIGKILLed while its pipeline plays: "its reader is gone (EREADERGONE)", not that it closed its ring (it closed nothing)', async () => {
  const name = `fxw-${ringName('reader-killed')}`;
  const reader = `import { ZeroBufferReader } from ${JSON.stringify(path.join(repoRoot, 'dist', 'index.js'))};
    const [name] = process.argv.slice(1);
    const r = await ZeroBufferReader.create({ name, metadataSize: 4096, payloadSize: 65536 });
    console.log('> ' + JSON.stringify({ jsonrpc: '2.0', method: 'start-stream', params: [name, 4096, 65536] }));
    let n = 0;
    for await (const f of r.frames()) if (++n >= 10) break;
    process.kill(process.pid, 'SIGKILL');`;
  // the shell outlives its reader: the pipeline ends of EREADERGONE while the command runs
  const child = run(process.execPath, [bin, 'watch', '--pipeline', SOURCE, '--', 'sh', '-c', '"$0" --input-type=module -e "$1" "$2"; sleep 1',
    process.execPath, reader, name]);
  try {
    expect(await child.exit(20000)).toBe(EXIT.ok);
    expect(child.stderr).toContain(`zerobuffer watch: pipeline into ${name} ended: its reader is gone (EREADERGONE)\n`);
    expect(child.stderr).not.toContain('closed its ring');
    expect(processesFor(name)).toEqual([]);
  } finally {
    child.proc.kill('SIGKILL');
    // what the killed reader left
    for (const f of leftovers().filter((f) => f.includes(name))) fs.rmSync(`/dev/shm/${f}`, { force: true });
  }
});

test('a command that is not gst-launch keeps its own SIGPIPE (its shell pipelines end as ever; SIGPIPE is ignored for gst-launch alone)', async () => {
  const pipeIgnored = (out: string[]): boolean => (BigInt(`0x${/SigIgn:\s*([0-9a-f]+)/.exec(out.join('\n'))![1]}`) & (1n << 12n)) !== 0n;
  const shell = run(process.execPath, [bin, 'watch', '--pipeline', SOURCE, '--', 'sh', '-c', 'grep SigIgn /proc/self/status']);
  expect(await shell.exit(20000)).toBe(EXIT.ok);
  expect(pipeIgnored(shell.stdout)).toBe(false);
  const yes = run(process.execPath, [bin, 'watch', '--pipeline', SOURCE, '--', 'sh', '-c', 'yes | head -c 2 >/dev/null; echo done']);
  expect(await yes.exit(20000)).toBe(EXIT.ok);
  expect(yes.stdout).toContain('done');
  expect(yes.stderr).not.toMatch(/Broken pipe/);
});

test('runs ended by another element\'s error never tell zerosink\'s count: the summary says it is unknown, not "at least 0"', async () => {
  const name = ringName('uncounted');
  const child = run(process.execPath, [bin, 'watch', '--max-restarts', '1', '--pipeline', `${SOURCE} ! identity error-after=10`,
    '--', process.execPath, fixture, name, '9', '1000']);
  try {
    expect(await child.exit(30000)).toBe(EXIT.pipeline);
    expect(child.stderr).toContain(`pipeline into ${name} keeps dying`);
    expect(child.stderr).toMatch(new RegExp(`ring ${name}: an unknown number of frames written, 1 restart, last error: `));
    expect(child.stderr).not.toMatch(/at least 0 frames/);
  } finally {
    child.proc.kill('SIGKILL');
  }
});

test('with --no-restart, a gst-launch SIGKILLed while its reader reads stops the watch: status 3 (pipeline failure), as --help says', async () => {
  const name = ringName('norestartkill');
  const child = run(process.execPath, [bin, 'watch', '--no-restart', '--pipeline', SOURCE, '--', process.execPath, fixture, name, '2', '30']);
  try {
    await child.line(/^got 30 frames of generation 1$/, 20000);
    const [pid] = gstPids(child.stderr);
    process.kill(pid!, 'SIGKILL');
    expect(await child.exit(20000)).toBe(EXIT.pipeline);
    expect(child.stderr).toMatch(/pipeline into .* failed and was not restarted; gst-launch said:\ngst-launch was killed by SIGKILL/);
    expect(child.stderr).toMatch(new RegExp(`ring ${name}: .*, 0 restarts, last error: EPIPELINE \\(gst-launch was killed by SIGKILL\\)`));
    expect(child.stderr).toMatch(/^zerobuffer watch: stopped \S*node$/m);
    expect(gstPids(child.stderr)).toHaveLength(1);
    expect(processesFor(name)).toEqual([]);
  } finally {
    child.proc.kill('SIGKILL');
  }
});

test('a pipeline gst-launch rejects stops the reader; exit status "pipeline failure"', async () => {
  const name = ringName('reject');
  const child = run(process.execPath, [bin, 'watch', '--pipeline', 'videotestsrc ! no-such-element-xyz', '--', process.execPath, fixture, name, '1', '10']);
  try {
    expect(await child.exit(20000)).toBe(EXIT.pipeline);
    expect(child.stderr).toContain('no element "no-such-element-xyz"');
    expect(processesFor(name)).toEqual([]);
  } finally {
    child.proc.kill('SIGKILL');
  }
});

test('watch stopped by Ctrl-C while its command is gst-launch with zerosrc: the command gets SIGINT, as in a terminal, and zerosrc removes its ring', async () => {
  const name = ringName('hcl2-gstcmd');
  const env = { GST_PLUGIN_PATH: path.join(repoRoot, 'builddir', 'gst-plugin') };
  // eos-on-writer-exit=false: the pipeline's EOS does not end zerosrc, so only the stop of the command can.
  const child = run(process.execPath, [bin, 'watch', '--pipeline', SOURCE, '--', 'gst-launch-1.0', 'zerosrc', `buffer-name=${name}`,
    'payload-size=65536', 'metadata-size=4096', 'announce=true', 'eos-on-writer-exit=false', '!', 'fakesink'], env);
  try {
    await until('the pipeline to play', () => gstPids(child.stderr).length === 1, 20000);
    expect(fs.existsSync(`/dev/shm/${name}`)).toBe(true);
    child.proc.kill('SIGINT');
    expect(await child.exit(20000)).toBe(EXIT.ok);
    // Killed by SIGTERM, gst-launch left the ring to the next reader's sweep.
    expect(fs.existsSync(`/dev/shm/${name}`)).toBe(false);
    expect(processesFor(name)).toEqual([]);
  } finally {
    child.proc.kill('SIGKILL');
  }
});

test('watch stopped by Ctrl-C while a shell command runs readers in the background: the shell goes at once, its readers still get their time (SIGTERM only after 5 s), finish and remove their rings', async () => {
  const names = [ringName('bg-a'), ringName('bg-b')];
  const graceful = path.join(repoRoot, 'test', 'node', 'fixtures', 'graceful-reader.mjs');
  const env = { GST_PLUGIN_PATH: path.join(repoRoot, 'builddir', 'gst-plugin') };
  const script = names.map((n) => `"$0" "$1" ${n} &`).join(' ') + ' wait';
  const child = run(process.execPath, [bin, 'watch', '--pipeline', SOURCE, '--', 'bash', '-c', script, process.execPath, graceful], env);
  try {
    await until('both pipelines to play', () => gstPids(child.stderr).length === 2, 20000);
    child.proc.kill('SIGINT');
    expect(await child.exit(20000)).toBe(EXIT.ok);
    expect(child.stderr).not.toContain('did not exit within');
    // each reader's last words, passed on, and its ring removed by its own close()
    expect(child.stdout.filter((l) => / read \d+ closing$/.test(l)).map((l) => l.split(' ')[0]).sort()).toEqual([...names].sort());
    for (const n of names) expect(leftovers().filter((f) => f.includes(n))).toEqual([]);
    for (const n of names) expect(processesFor(n)).toEqual([]);
  } finally {
    child.proc.kill('SIGKILL');
    // what readers killed before their close() left (the suite's own check then tells of this test alone)
    await until('the readers to be gone', () => names.every((n) => processesFor(n).length === 0), 10000).catch(() => undefined);
    for (const f of leftovers().filter((f) => names.some((n) => f.includes(n)))) fs.rmSync(`/dev/shm/${f}`, { force: true });
  }
});

test('a command that exits by itself, leaving a reader in the background: the pipeline gets its EOS first, then the reader its SIGINT; it finishes and removes its ring', async () => {
  const name = ringName('leftover-reader');
  const graceful = path.join(repoRoot, 'test', 'node', 'fixtures', 'graceful-reader.mjs');
  const child = run(process.execPath, [bin, 'watch', '--pipeline', SOURCE, '--', 'bash', '-c', `"$0" "$1" ${name} & sleep 2`, process.execPath, graceful]);
  try {
    expect(await child.exit(20000)).toBe(EXIT.ok);
    // before: SIGKILLed at the shell's exit (no last words, its ring left); then SIGINT before the EOS (the pipeline "ended: the reader closed its ring")
    expect(child.stdout.filter((l) => / read \d+ closing$/.test(l))).toEqual([expect.stringMatching(new RegExp(`^${name} read [1-9]\\d* closing$`))]);
    expect(child.stderr).not.toMatch(/ended: the reader closed its ring|did not exit within/);
    expect(leftovers().filter((f) => f.includes(name))).toEqual([]);
    expect(processesFor(name)).toEqual([]);
  } finally {
    child.proc.kill('SIGKILL');
  }
});

test('a command that exits while a process it started in a session of its own keeps its stdout open: watch ends at the exit, with what the command printed before it', async () => {
  // (a duration of its own: the detached sleep is found by it, and killed, below)
  const held = `30.${Math.floor(Math.random() * 1e6)}`;
  const started = Date.now();
  const child = run(process.execPath, [bin, 'watch', '--pipeline', SOURCE, '--', 'sh', '-c', `setsid sleep ${held} & echo bye; exit 0`]);
  try {
    // before: watch ran until the sleep closed the pipe, 30 s
    expect(await child.exit(15000)).toBe(EXIT.ok);
    expect(Date.now() - started).toBeLessThan(15000);
    expect(child.stdout).toContain('bye');
    expect(child.stderr).toContain('no ring was announced');
  } finally {
    child.proc.kill('SIGKILL');
    for (const p of processesFor(`sleep ${held}`)) process.kill(Number(p.split(' ')[0]), 'SIGKILL');
  }
});

test('a command that prints much and exits while a slow consumer of watch\'s stdout is behind: all it printed passes on; its start-stream, read after the exit, is ignored, and the summary says so', async () => {
  const name = `fxd-${ringName('late')}`;
  const line = `> ${JSON.stringify({ jsonrpc: '2.0', method: 'start-stream', params: [name, 4096, 65536] })}`;
  // Reads fast up to line 150000, then 4 KiB every 50 ms: the command exits with watch hundreds of KiB behind it.
  const reader = [
    "const fs = require('node:fs');",
    'const buf = Buffer.alloc(4096);',
    "let lines = 0, bytes = 0, tail = '';",
    'for (let n; (n = fs.readSync(0, buf)) > 0;) {',
    '  const text = buf.toString("latin1", 0, n);',
    '  bytes += n;',
    '  lines += text.split("\\n").length - 1;',
    '  tail = (tail + text).slice(-20);',
    '  if (lines > 150000) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);',
    '}',
    'console.log(`lines ${lines} bytes ${bytes} last ${JSON.stringify(tail.split("\\n").at(-2))}`);',
  ].join('\n');
  const script = 'set -o pipefail; "$0" "$1" watch --pipeline "$2" -- sh -c \'seq 1 200000; echo "$0"; exit 0\' "$3" | "$0" -e "$4"';
  const child = run('bash', ['-c', script, process.execPath, bin, SOURCE, line, reader]);
  try {
    // before: watch read on for 1 s after the exit, then threw the rest away (about 30000 lines lost)
    expect(await child.exit(50000)).toBe(EXIT.ok);
    let bytes = 0;
    for (let i = 1; i <= 200000; i++) bytes += String(i).length + 1;
    expect(child.stdout).toEqual([`lines 200000 bytes ${bytes} last "200000"`]);
    expect(child.stderr).toContain(`zerobuffer watch: ignored protocol line: start-stream for ring "${name}" after the command exited: ignored: ${line}\n`);
    // before: "no ring was announced (the command printed no start-stream line)"
    expect(child.stderr).toContain(`zerobuffer watch: no ring announcement was read before the command exited (that of ring "${name}" was read after it: ignored)\n`);
    expect(child.stderr).not.toMatch(/printed no start-stream line|playing \(pid/);
  } finally {
    child.proc.kill('SIGKILL');
  }
});

test('a start-stream printed after the command exited (by what it left running, while that is stopped) starts no pipeline: ignored, and said so', async () => {
  const name = `fxw-${ringName('after-exit')}`;
  const line = `> ${JSON.stringify({ jsonrpc: '2.0', method: 'start-stream', params: [name, 4096, 65536] })}`;
  // in the command's group, ignoring the SIGINT of the stop that starts at the exit (set before the fork, which the
  // exit may otherwise beat): it announces while being stopped
  const script = 'trap "" INT; (sleep 0.5; echo "$0"; sleep 30) & exit 0';
  const child = run(process.execPath, [bin, 'watch', '--pipeline', SOURCE, '--', 'sh', '-c', script, line]);
  try {
    // before: its pipeline started and failed (no such ring): status 3
    expect(await child.exit(20000)).toBe(EXIT.ok);
    expect(child.stderr).toContain(`zerobuffer watch: ignored protocol line: start-stream for ring "${name}" after the command exited: ignored: ${line}\n`);
    expect(child.stderr).not.toMatch(/playing \(pid/);
    expect(child.stderr).toContain('did not exit within 5 s of its SIGINT: zerobuffer sent its process group SIGTERM');
    expect(processesFor(name)).toEqual([]);
  } finally {
    child.proc.kill('SIGKILL');
  }
});

test('watch stopped by Ctrl-C while its command ignores SIGINT: SIGTERM to its group after 5 s, and the text output says so (still status 0)', async () => {
  const child = run(process.execPath, [bin, 'watch', '--pipeline', SOURCE, '--', 'bash', '-c', "trap '' INT; echo ready; while :; do sleep 0.05; done"]);
  try {
    await child.line(/^ready$/, 20000);
    child.proc.kill('SIGINT');
    expect(await child.exit(20000)).toBe(EXIT.ok);
    expect(child.stderr).toContain('zerobuffer watch: bash (or what it started) did not exit within 5 s of its SIGINT: ' +
      'zerobuffer sent its process group SIGTERM\n');
  } finally {
    child.proc.kill('SIGKILL');
  }
});

test('watch stopped while its gst-launch ignores the EOS: killed with SIGKILL after 5 s, and the text output says so (still status 0); a pipeline that stops says nothing of it', async () => {
  const name = ringName('eos-ignored');
  const dir = eosIgnoringGstLaunchDir(); // first on the PATH
  const announce = `> ${JSON.stringify({ jsonrpc: '2.0', method: 'start-stream', params: [name, 4096, 65536] })}`;
  const child = run(process.execPath, [bin, 'watch', '--pipeline', SOURCE, '--', 'bash', '-c', `echo '${announce}'; exec sleep 30`],
    { PATH: `${dir}:${process.env['PATH']}` });
  try {
    await until('the pipeline to play', () => gstPids(child.stderr).length === 1, 20000);
    child.proc.kill('SIGINT');
    expect(await child.exit(20000)).toBe(EXIT.ok);
    expect(child.stderr).toContain(`zerobuffer watch: pipeline into ${name}: gst-launch did not stop within 5 s of its EOS: zerobuffer killed it with SIGKILL\n`);
  } finally {
    child.proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
  // the real one stops at its EOS: no such line
  const real = run(process.execPath, [bin, 'watch', '--pipeline', SOURCE, '--', process.execPath, fixture, `${name}-real`, '1', '1000000']);
  try {
    await real.line(/^got 1000000|^generation 1$/, 20000);
    real.proc.kill('SIGINT');
    expect(await real.exit(20000)).toBe(EXIT.ok);
    expect(real.stderr).not.toContain('did not stop');
  } finally {
    real.proc.kill('SIGKILL');
  }
});

test('the restart budget counts failures in a row: a pipeline that dies after every 5 s run is restarted each time with --max-restarts 1; one that dies at once still "keeps dying", exit 3', async () => {
  // Before, the budget lasted the ring's whole life: the second death, however long after the first, stopped the
  // service as one that "keeps dying" (exit 3), as rare transient deaths over weeks did with the default 10.
  const name = ringName('healthyruns');
  // 330 frames at 60 fps: each run plays 5.5 s, then identity fails it (a transient failure)
  const child = run(process.execPath, [bin, 'watch', '--max-restarts', '1', '--pipeline', `${SOURCE} ! identity error-after=330`,
    '--', process.execPath, fixture, name, '3', '20']);
  try {
    expect(await child.exit(40000)).toBe(EXIT.ok);
    expect(child.stdout).toContain('got 20 frames of generation 3');
    // the delay is back to 250 ms after each run that stayed up
    expect(child.stderr).toMatch(new RegExp(`pipeline into ${name} died \\(.*\\); restart 1 in 250 ms`));
    expect(child.stderr).toMatch(new RegExp(`pipeline into ${name} died \\(.*\\); restart 2 \\(1 in a row\\) in 250 ms`));
    expect(child.stderr).not.toMatch(/keeps dying/);
    expect(child.stderr).toMatch(new RegExp(`ring ${name}: at least \\d+ frames written, 2 restarts, last error: `));
  } finally {
    child.proc.kill('SIGKILL');
  }
  // the same, dying after 10 frames: out of restarts at its second death
  const dying = ringName('dyingruns');
  const quick = run(process.execPath, [bin, 'watch', '--max-restarts', '1', '--pipeline', `${SOURCE} ! identity error-after=10`,
    '--', process.execPath, fixture, dying, '3', '20']);
  try {
    expect(await quick.exit(20000)).toBe(EXIT.pipeline);
    expect(quick.stderr).toContain(`pipeline into ${dying} keeps dying: it failed again after 1 restart in a row (--max-restarts)`);
  } finally {
    quick.proc.kill('SIGKILL');
  }
}, 70000);

test('a pipeline killed by the reader of ANOTHER ring (a tee\'s second zerosink) is restarted with backoff and counted, and "keeps dying" at the budget: its served ring was not created again (it was taken for a re-creation: restarted for ever, uncounted)', async () => {
  const name = ringName('served');
  const side = ringName('side');
  // the side ring's reader closes it every 1.5 s and creates it again: each time the pipeline's zerosink0 fails
  const sideReader = run(process.execPath, [path.join(repoRoot, 'test', 'node', 'fixtures', 'side-reader.mjs'), side, '1500']);
  let child: ReturnType<typeof run> | undefined;
  try {
    await sideReader.line(/^created$/, 10000);
    const pipeline = `${SOURCE} ! tee name=t ! queue ! zerosink buffer-name=${side} connect-timeout=3000 t. ! queue`;
    child = run(process.execPath, [bin, 'watch', '--max-restarts', '2', '--pipeline', pipeline, '--', process.execPath, fixture, name, '1000', '10']);
    expect(await child.exit(30000)).toBe(EXIT.pipeline);
    const gone = `EREADERGONE, transient: The reader of ring ${side} is gone`;
    expect(child.stderr).toContain(`pipeline into ${name} died (${gone}); restart 1 in 250 ms`);
    expect(child.stderr).toContain(`pipeline into ${name} died (${gone}); restart 2 in 500 ms`);
    expect(child.stderr).not.toMatch(/created again/);
    expect(child.stderr).toContain(`pipeline into ${name} keeps dying: it failed again after 2 restarts in a row (--max-restarts)`);
    expect(child.stderr).toMatch(new RegExp(`ring ${name}: \\d+ frames written, 2 restarts, last error: EREADERGONE \\(transient\\)`));
  } finally {
    child?.proc.kill('SIGKILL');
    sideReader.proc.kill('SIGKILL');
    await sideReader.exit(10000).catch(() => undefined);
    try {
      removeStaleRing(side); // a SIGKILLed reader cannot unlink it
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'ENOENT') throw e;
    }
  }
  expect(leftovers().filter((n) => n.includes(name) || n.includes(side))).toEqual([]);
}, 60000);

test('watch whose pipeline fails during the stop of a Ctrl-C (an element\'s error at its EOS, gst-launch status 1): status 3, the error told, as run', async () => {
  // (before: status 0, the error only in the ring's summary line, as run was before ad30af2)
  const dir = eosFailingGstLaunchDir(); // first on the PATH
  const name = ringName('watchstoperror');
  // the command announces a ring (never created: the fake gst-launch does not look for it)
  const announce = `> ${JSON.stringify({ jsonrpc: '2.0', method: 'start-stream', params: [name, 4096, 100000] })}`;
  const child = run(process.execPath, [bin, 'watch', '--pipeline', SOURCE, '--', 'sh', '-c', `echo '${announce}'; exec sleep 30`],
    { PATH: `${dir}:${process.env['PATH']}` });
  try {
    await until('the pipeline playing', () => child.stderr.includes(`pipeline into ${name} playing`), 20000);
    child.proc.kill('SIGINT');
    expect(await child.exit(30000)).toBe(EXIT.pipeline);
    expect(child.stderr).toContain(`zerobuffer watch: pipeline into ${name} failed while it stopped (its EOS); gst-launch said:\n` +
      'gst-launch exited with status 1:\nERROR: from element /GstPipeline:pipeline0/GstQueue:queue0: failed at EOS\n  the hint\n');
    expect(child.stderr).toMatch(new RegExp(`ring ${name}: .*last error: EPIPELINE`));
    expect(child.stderr).not.toMatch(/zerobuffer watch: stopped sh/); // the Ctrl-C stopped it, not the failure
    expect(child.stderr.split('failed while it stopped')).toHaveLength(2); // told once
  } finally {
    child.proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('watch whose pipeline fails during the stop its reader\'s stop-stream asked for: the error told as it comes, the command goes on, status 3 at its exit', async () => {
  // (before: nothing told and status 0, "the reader's affair"; a reader that exited right after its stop-stream got
  // status 3 when its exit came before the pipeline's end, 0 after)
  const dir = eosFailingGstLaunchDir(); // first on the PATH; the command's flag files too
  const name = ringName('watchstopstream');
  const line = (method: string): string => `> ${JSON.stringify({ jsonrpc: '2.0', method, params: method === 'stop-stream' ? [name] : [name, 4096, 100000] })}`;
  const command = `echo '${line('start-stream')}'; until [ -e ${dir}/stop ]; do sleep 0.05; done; ` +
    `echo '${line('stop-stream')}'; until [ -e ${dir}/exit ]; do sleep 0.05; done`;
  const child = run(process.execPath, [bin, 'watch', '--pipeline', SOURCE, '--', 'sh', '-c', command], { PATH: `${dir}:${process.env['PATH']}` });
  try {
    await until('the pipeline playing', () => child.stderr.includes(`pipeline into ${name} playing`), 20000);
    fs.writeFileSync(path.join(dir, 'stop'), '');
    const told = `zerobuffer watch: pipeline into ${name} failed while it stopped (its EOS); gst-launch said:\n` +
      'gst-launch exited with status 1:\nERROR: from element /GstPipeline:pipeline0/GstQueue:queue0: failed at EOS\n  the hint\n';
    await until('the failure told', () => child.stderr.includes(told), 20000);
    expect(child.proc.exitCode).toBe(null); // the failure did not stop the command
    fs.writeFileSync(path.join(dir, 'exit'), '');
    expect(await child.exit(30000)).toBe(EXIT.pipeline);
    expect(child.stderr.split(told)).toHaveLength(2); // told once
    expect(child.stderr).toMatch(new RegExp(`ring ${name}: .*last error: EPIPELINE`));
    expect(child.stderr).not.toMatch(/zerobuffer watch: stopped sh/);
  } finally {
    child.proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a pipeline failure that ends the watch after the command exited by itself: "<command> had exited by itself (status N)", not "stopped <command>"; status 3', async () => {
  // (before: "zerobuffer watch: stopped sh", as though watch had stopped it)
  // Ordered by files, not time: ring "hold" plays and, at its stop's SIGINT, tells the command, which then exits 7; its
  // gst-launch ends only once the command is gone, so the watch, stopping its pipelines before the command, finds the
  // command gone. Ring "fails" is announced once "hold" plays, and its gst-launch fails at once, permanently: the
  // failure that ends the watch.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-watch-self-exit-'));
  const hold = ringName('selfexit-hold');
  const fails = ringName('selfexit-fails');
  fs.writeFileSync(path.join(dir, 'gst-launch-1.0'), [
    '#!/bin/bash',
    `case "$*" in *buffer-name=${fails}*)`,
    '  echo "ERROR: from element /GstPipeline:pipeline0/GstZeroSink:zerosink: the ring is gone for good" >&2',
    '  echo "Additional debug info:" >&2',
    '  echo "../gst-plugin/gstzerosink.c(1): f (): /GstPipeline:pipeline0/GstZeroSink:zerosink:" >&2',
    '  echo "the hint" >&2',
    '  echo "zerobuffer-error=ENOENT (permanent)" >&2',
    '  exit 1;;',
    'esac',
    `trap 'touch ${dir}/hold-stopping' INT`,
    "echo 'Setting pipeline to PLAYING ...'",
    `touch ${dir}/hold-playing`,
    `while kill -0 "$(cat ${dir}/command.pid)" 2>/dev/null; do sleep 0.05; done`,
  ].join('\n'), { mode: 0o755 });
  const line = (name: string): string => `> ${JSON.stringify({ jsonrpc: '2.0', method: 'start-stream', params: [name, 4096, 100000] })}`;
  const command = `echo $$ > ${dir}/command.pid; echo '${line(hold)}'; until [ -e ${dir}/hold-playing ]; do sleep 0.05; done; ` +
    `echo '${line(fails)}'; until [ -e ${dir}/hold-stopping ]; do sleep 0.05; done; exit 7`;
  const child = run(process.execPath, [bin, 'watch', '--pipeline', SOURCE, '--', 'sh', '-c', command], { PATH: `${dir}:${process.env['PATH']}` });
  try {
    expect([await child.exit(30000), child.stderr]).toEqual([EXIT.pipeline, child.stderr]);
    expect(child.stderr).toContain(`zerobuffer watch: ring ${fails} does not exist: it was announced but never created`);
    expect(child.stderr).toMatch(/^zerobuffer watch: sh had exited by itself \(status 7\)$/m);
    expect(child.stderr).not.toMatch(/zerobuffer watch: stopped sh/);
  } finally {
    child.proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

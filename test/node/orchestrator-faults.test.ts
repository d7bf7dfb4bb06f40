// Orchestrator faults (issue 7): a gst-launch that hangs (ignores SIGINT),
// hangs after printing an element's error (gst-launch 1.22 loses its quit:
// issue 17) or floods stderr, a pipeline that keeps dying, and a watched
// command that dies or prints garbage. Each case is bounded in time and
// ends with no process of ours left whose command line holds the case's
// marker, and nothing of this run in /dev/shm.
// The fake gst-launch programs are written into a temp dir at test time and
// passed as `gstLaunch`. Also startStream given a word no process argument
// can hold (a null byte), and with a gst-inspect-1.0 that hangs on the PATH,
// each in a Node process of its own (an unhandled rejection shows there).
// And a watched ring with a corrupt entry whose reader lives: still restarted.
// And a shouldRestart that resolves later: a stop() meanwhile starts nothing.
import { jest } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import {
  COMMAND_KILL_AFTER_TERM_MS, inspectRing, removeStaleRing, startStream, watch, ZeroBufferReader, type StartStreamOptions, type WarningEvent, type Watcher,
  type WatchOptions,
} from '../../src/index.js';
import type { PipelineOptions, PipelineStateEvent } from '../../src/runner/pipeline-runner.js';
import { HUNG_AFTER_ERROR_MS, PipelineRunner } from '../../src/runner/pipeline-runner.js';
import { leftovers, processesWith, repoRoot, ringName, run, sleep, until, within } from './helpers.js';

jest.setTimeout(20000);

const watchReader = path.join(repoRoot, 'test', 'node', 'fixtures', 'watch-reader.mjs');
const garbageReader = path.join(repoRoot, 'test', 'node', 'fixtures', 'garbage-reader.mjs');
const SOURCE = 'videotestsrc is-live=true ! video/x-raw,format=RGB,width=64,height=48,framerate=60/1';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-orch-faults-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
  expect(leftovers()).toEqual([]);
});

/** Writes an executable script into the temp dir; its path (and so its cmdline) holds marker. */
function script(marker: string, body: string, interpreter = '/bin/bash'): string {
  const file = path.join(tmp, `fake-gst-${marker}`);
  fs.writeFileSync(file, `#!${interpreter}\n${body}\n`, { mode: 0o755 });
  return file;
}

/** A Writable that keeps what it is given. */
function sink(): { stream: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(Buffer.from(chunk));
      cb();
    },
  });
  return { stream, bytes: () => Buffer.concat(chunks) };
}

test('gst-launch hangs (ignores SIGINT, with a grandchild): close() SIGKILLs the group within stopTimeoutMs + margin; the ring is removed; nothing left', async () => {
  const name = ringName('hang');
  const marker = name;
  // The grandchild carries the marker in its argv[0]; both ignore SIGINT.
  const fake = script(marker, [
    "trap '' INT",
    'echo "Setting pipeline to PAUSED ..."',
    'echo "Setting pipeline to PLAYING ..."',
    `(exec -a "${marker}-grandchild" sleep 60) &`,
    'while :; do sleep 0.05; done',
  ].join('\n'));
  const stopTimeoutMs = 600;
  const stream = await startStream({ source: 'fakesrc', name, gstLaunch: fake, stopTimeoutMs, payloadSize: 4096 });
  const states: PipelineStateEvent[] = [];
  stream.on('state', (e) => states.push(e));
  try {
    await until('the fake pipeline to play', () => stream.pipeline.state === 'playing');
    states.length = 0;
    await until('the grandchild', () => processesWith(`${marker}-grandchild`).length === 1);
    expect(fs.existsSync(`/dev/shm/${name}`)).toBe(true);
    const t0 = Date.now();
    const exit = await within('close()', stream.close(), stopTimeoutMs + 3000);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(stopTimeoutMs - 50);
    expect(took).toBeLessThan(stopTimeoutMs + 1500);
    expect(exit).toMatchObject({ stopped: true, signal: 'SIGKILL', killedAfterEosMs: stopTimeoutMs });
    expect(exit.error).toBeUndefined();
    expect(states.map((s) => s.state)).toEqual(['stopping', 'exited']);
    expect(states.at(-1)).toMatchObject({ state: 'exited', signal: 'SIGKILL', exitCode: undefined });
    expect(processesWith(marker)).toEqual([]);
    expect(fs.existsSync(`/dev/shm/${name}`)).toBe(false);
  } finally {
    await stream.pipeline.kill();
    await stream.close();
  }
});

test('gst-launch hangs while still starting (never says PLAYING): stop() is just as bounded', async () => {
  const name = ringName('hang-start');
  const fake = script(name, "trap '' INT TERM\necho 'signals ignored'\nwhile :; do sleep 0.05; done");
  const runner = new PipelineRunner({ source: 'fakesrc', name, gstLaunch: fake, stopTimeoutMs: 300 });
  const states: PipelineStateEvent[] = [];
  runner.on('state', (e) => states.push(e));
  let ready = false;
  runner.on('output', (l) => (ready ||= l === 'signals ignored'));
  runner.start();
  // Its trap is set (a SIGINT before that would end it at once).
  await until('the fake to ignore SIGINT', () => ready);
  expect(runner.state).toBe('starting');
  const t0 = Date.now();
  const exit = await within('stop()', runner.stop(), 3000);
  expect(Date.now() - t0).toBeLessThan(300 + 1500);
  expect(exit).toMatchObject({ stopped: true, signal: 'SIGKILL', killedAfterEosMs: 300 });
  expect(states.at(-1)).toMatchObject({ state: 'exited', signal: 'SIGKILL' });
  expect(processesWith(name)).toEqual([]);
});

test.each([Infinity, -1])('stopTimeoutMs: %p is no limit: stop() waits for a gst-launch that takes its time over the EOS, no SIGKILL (setTimeout took Infinity as 1 ms; -1 was a TypeError)', async (stopTimeoutMs) => {
  const name = ringName('stop-nolimit');
  const fake = script(name, "trap 'sleep 1; exit 0' INT\necho 'slow to stop'\nwhile :; do sleep 0.05; done");
  const runner = new PipelineRunner({ source: 'fakesrc', name, gstLaunch: fake, stopTimeoutMs });
  let ready = false;
  runner.on('output', (l) => (ready ||= l === 'slow to stop'));
  runner.start();
  await until('the fake to trap SIGINT', () => ready);
  const t0 = Date.now();
  const exit = await within('stop()', runner.stop(), 10000);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
  expect(exit).toMatchObject({ stopped: true, exitCode: 0 });
  expect(exit.signal).toBeUndefined();
  expect(exit.killedAfterEosMs).toBeUndefined();
  expect(processesWith(name)).toEqual([]);
});

/** A fake gst-launch that prints an element error as gst-launch 1.22 does when its quit is lost (issue 17), then waits forever. */
function hungAfterError(name: string, kind: string): string {
  return script(name, [
    "trap '' INT TERM",
    'echo "Setting pipeline to PAUSED ..."',
    `echo "ERROR: from element /GstPipeline:pipeline0/GstZeroSink:zerosink0: zerosink's message for ${kind}" >&2`,
    'echo "Additional debug info:" >&2',
    'echo "../gst-plugin/gstzerosink.c(1): f (): /GstPipeline:pipeline0/GstZeroSink:zerosink0:" >&2',
    'echo "the hint" >&2',
    `echo "zerobuffer-error=${kind}" >&2`,
    'echo "ERROR: pipeline doesn\'t want to preroll." >&2',
    'echo "Pipeline is PREROLLING ..."',
    'while :; do sleep 0.05; done',
  ].join('\n'));
}

test('gst-launch prints an element error but never leaves its main loop: killed after HUNG_AFTER_ERROR_MS; permanent: not restarted', async () => {
  const name = ringName('hung-error');
  const runner = new PipelineRunner({ source: 'fakesrc', name, gstLaunch: hungAfterError(name, 'EMSGSIZE (permanent)'), restart: true });
  const t0 = Date.now();
  runner.start();
  const exit = await within('the hung pipeline', runner.done, 5000);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(HUNG_AFTER_ERROR_MS);
  // (before: no killedAfterErrorMs, the kill told only in the message)
  expect(exit).toMatchObject({ stopped: false, signal: 'SIGKILL', restarts: 0, outOfRestarts: false, killedAfterErrorMs: HUNG_AFTER_ERROR_MS });
  expect(exit.error).toMatchObject({ code: 'EMSGSIZE', permanent: true, message: "zerosink's message for EMSGSIZE (permanent)\n  the hint" });
  expect(processesWith(name)).toEqual([]);
});

test('gst-launch hangs after another element\'s error (not one zerosink classified): the message says zerobuffer killed it, with which signal', async () => {
  const name = ringName('hung-other');
  const fake = script(name, [
    "trap '' INT TERM",
    'echo "ERROR: from element /GstPipeline:pipeline0/GstVideoTestSrc:videotestsrc0: Internal data stream error." >&2',
    'while :; do sleep 0.05; done',
  ].join('\n'));
  const runner = new PipelineRunner({ source: 'fakesrc', name, gstLaunch: fake });
  runner.start();
  const exit = await within('the hung pipeline', runner.done, 5000);
  expect(exit).toMatchObject({ stopped: false, signal: 'SIGKILL', killedAfterErrorMs: HUNG_AFTER_ERROR_MS });
  expect(exit.killedAfterEosMs).toBeUndefined();
  expect(exit.error).toMatchObject({ code: 'EPIPELINE' });
  expect(exit.error!.message).toBe('gst-launch hung after an error and zerobuffer killed it with SIGKILL:\n' +
    'ERROR: from element /GstPipeline:pipeline0/GstVideoTestSrc:videotestsrc0: Internal data stream error.');
  expect(processesWith(name)).toEqual([]);
});

test('gst-launch slow over its teardown after an error, its shutdown line read before the error: not hung, its failure is the element\'s, with its status', async () => {
  // (before: the error read after "Setting pipeline to NULL" armed the watch for a lost quit, which nothing cleared:
  // SIGKILLed 0.5 s later, "hung after an error")
  const name = ringName('slow-teardown');
  const missing = '/nonexistent/zb-slow-teardown.raw';
  // the real gst-launch, its stdout passed on as printed, its stderr (the error) held until it has exited and passed on
  // 0.3 s after that, then 1.5 s of teardown (> HUNG_AFTER_ERROR_MS) before its status
  const wrapper = script(name, [
    'exec 3>&1',
    'said=$(gst-launch-1.0 "$@" 2>&1 1>&3)',
    'status=$?',
    'sleep 0.3',
    'printf \'%s\\n\' "$said" >&2',
    'sleep 1.5',
    'exit $status',
  ].join('\n'));
  const runner = new PipelineRunner({ source: `filesrc location=${missing}`, name, gstLaunch: wrapper });
  const order: string[] = [];
  runner.on('output', (l) => {
    if (l.startsWith('Setting pipeline to NULL') || l.startsWith('ERROR: from element')) order.push(l);
  });
  runner.start();
  const exit = await within('the pipeline slow over its teardown', runner.done, 10000);
  expect(order[0]).toBe('Setting pipeline to NULL ...');
  expect(exit).toMatchObject({ stopped: false, exitCode: 255 });
  expect(exit.signal).toBeUndefined();
  expect(exit.killedAfterErrorMs).toBeUndefined();
  expect(exit.error).toMatchObject({ code: 'EPIPELINE' });
  expect(exit.error!.message.split('\n').slice(0, 3)).toEqual(['gst-launch exited with status 255:',
    'ERROR: from element /GstPipeline:pipeline0/GstFileSrc:filesrc0: Resource not found.', `  No such file "${missing}"`]);
  expect(processesWith(name)).toEqual([]);
});

test('gst-launch whose teardown never ends after an error (its shutdown line printed): killed as hung in its teardown after stopTimeoutMs', async () => {
  // (before: the shutdown line disarmed the watch for a lost quit and nothing took its place: the run was waited for
  // for ever, ended only by a stop's SIGKILL)
  const name = ringName('hung-teardown');
  const missing = '/nonexistent/zb-hung-teardown.raw';
  // the real gst-launch (its error, then "Setting pipeline to NULL ...", then its exit), then a teardown that never ends
  const wrapper = script(name, ['gst-launch-1.0 "$@"', "trap '' INT TERM", 'while :; do sleep 0.05; done'].join('\n'));
  const stopTimeoutMs = 1000;
  const runner = new PipelineRunner({ source: `filesrc location=${missing}`, name, gstLaunch: wrapper, stopTimeoutMs });
  runner.start();
  const exit = await within('the pipeline hung in its teardown', runner.done, 10000).finally(() => runner.kill());
  expect(exit).toMatchObject({ stopped: false, signal: 'SIGKILL', killedInTeardownMs: stopTimeoutMs });
  expect(exit.killedAfterErrorMs).toBeUndefined();
  expect(exit.killedAfterEosMs).toBeUndefined();
  expect(exit.error).toMatchObject({ code: 'EPIPELINE' });
  expect(exit.error!.message.split('\n').slice(0, 3)).toEqual([
    'gst-launch hung in its teardown after an error (not exited 1 s after "Setting pipeline to NULL") and zerobuffer killed it with SIGKILL:',
    'ERROR: from element /GstPipeline:pipeline0/GstFileSrc:filesrc0: Resource not found.', `  No such file "${missing}"`]);
  expect(processesWith(name)).toEqual([]);
});

test('a transient error is restarted with a doubling delay until the budget is used up: outOfRestarts', async () => {
  const name = ringName('hung-transient');
  const runner = new PipelineRunner({
    source: 'fakesrc', name, gstLaunch: hungAfterError(name, 'EREADERGONE (transient)'),
    restart: { maxRestarts: 2, initialDelayMs: 50 },
  });
  const delays: number[] = [];
  runner.on('state', (e) => {
    if (e.state === 'restarting') delays.push(e.delayMs!);
  });
  runner.start();
  const exit = await within('the pipeline that keeps dying', runner.done, 10000);
  expect(delays).toEqual([50, 100]);
  expect(exit).toMatchObject({ restarts: 2, outOfRestarts: true });
  expect(exit.error).toMatchObject({ code: 'EREADERGONE', permanent: false });
  expect(runner.lastError?.code).toBe('EREADERGONE');
  expect(processesWith(name)).toEqual([]);
});

test('shouldRestart resolving later: true restarts after it; a stop() while it is awaited ends the runner and starts nothing', async () => {
  const name = ringName('late-verdict');
  let asked = 0;
  const runner = new PipelineRunner({
    source: 'fakesrc', name, gstLaunch: hungAfterError(name, 'EREADERGONE (transient)'), restart: { initialDelayMs: 50 },
    shouldRestart: async () => {
      // the second death: stopped while its verdict is awaited
      if (++asked === 2) void runner.stop();
      await sleep(100);
      return true;
    },
  });
  const states: string[] = [];
  runner.on('state', (e) => states.push(e.state));
  runner.start();
  const exit = await within('the runner stopped while shouldRestart was awaited', runner.done, 10000);
  expect(asked).toBe(2);
  expect(exit).toMatchObject({ stopped: true, restarts: 1 });
  await sleep(300);
  expect(states.filter((s) => s === 'starting')).toHaveLength(2);
  expect(states.filter((s) => s === 'restarting')).toHaveLength(1);
  expect(processesWith(name)).toEqual([]);
});

test('a reader that holds every frame: frames() ends with zerosink\'s reason, not a quiet end of stream', async () => {
  const stream = await startStream({
    source: 'videotestsrc num-buffers=30 ! video/x-raw,format=GRAY8,width=64,height=48',
    name: ringName('holds'), payloadSize: 4 * (64 * 48 + 16), sinkProperties: { timeout: 300 },
  });
  const held = [];
  let error: unknown;
  try {
    for await (const frame of stream.frames({ timeoutMs: 10000 })) held.push(frame.retain());
  } catch (e) {
    error = e;
  } finally {
    for (const f of held) f.release();
    await stream.close();
  }
  expect(held.length).toBe(4);
  expect((error as Error).message).toContain('its reader has read the 4 frames in it and given the room of none back');
});

test('startStream with restart: each restarted pipeline\'s frames reach frames() (sequence 1 again) until the budget is used up, then its PipelineError', async () => {
  const stream = await startStream({
    source: 'videotestsrc ! video/x-raw,format=GRAY8,width=64,height=48,framerate=1000/1 ! identity error-after=10',
    name: ringName('restart-error'), restart: { maxRestarts: 2, initialDelayMs: 50 },
  });
  const sequences: number[] = [];
  let error: unknown;
  try {
    for await (const frame of stream.frames({ timeoutMs: 10000 })) sequences.push(frame.sequence);
  } catch (e) {
    error = e;
  } finally {
    await stream.close();
  }
  const run = Array.from({ length: 9 }, (_, i) => i + 1);
  expect(sequences).toEqual([...run, ...run, ...run]);
  expect(error).toMatchObject({ name: 'PipelineError', code: 'EPIPELINE' });
  expect((error as Error).message).toContain('Failed after iterations as requested');
  expect(stream.pipeline.restarts).toBe(2);
});

test('startStream with restart: a SIGKILLed gst-launch is restarted and frames() goes on with the new writer\'s frames', async () => {
  const stream = await startStream({ source: SOURCE, name: ringName('restart-kill'), restart: { initialDelayMs: 50 } });
  const sequences: number[] = [];
  let killed = false;
  try {
    for await (const frame of stream.frames({ timeoutMs: 10000 })) {
      sequences.push(frame.sequence);
      if (sequences.length === 20 && !killed) {
        killed = true;
        process.kill(stream.pipeline.pid!, 'SIGKILL');
      }
      if (sequences.lastIndexOf(1) > 0 && sequences.length - sequences.lastIndexOf(1) >= 10) break;
    }
  } finally {
    await stream.close();
  }
  const restartAt = sequences.lastIndexOf(1);
  expect(restartAt).toBeGreaterThanOrEqual(20);
  expect(sequences.slice(0, restartAt)).toEqual(Array.from({ length: restartAt }, (_, i) => i + 1));
  expect(sequences.slice(restartAt)).toEqual(Array.from({ length: sequences.length - restartAt }, (_, i) => i + 1));
  expect(stream.pipeline.restarts).toBe(1);
});

test('startStream with restart: a slow consumer still reading the killed writer\'s frames when the new writer takes over ends with the stream', async () => {
  // The reader takes the new writer's sequence 1 without an end between; frames() once took the
  // restart counted before as still to come, and waited for ever after the last frame.
  const stream = await startStream({
    source: 'videotestsrc num-buffers=30 is-live=true ! video/x-raw,format=GRAY8,width=64,height=48,framerate=30/1',
    name: ringName('restart-slow'), restart: { initialDelayMs: 50 },
  });
  const sequences: number[] = [];
  try {
    await within('frames() to end', (async () => {
      for await (const frame of stream.frames({ timeoutMs: 10000 })) {
        sequences.push(frame.sequence);
        if (sequences.length === 3) process.kill(stream.pipeline.pid!, 'SIGKILL');
        await sleep(80);
      }
    })(), 20000);
  } finally {
    await stream.close();
  }
  expect(sequences.slice(-30)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  expect(stream.pipeline.restarts).toBe(1);
});

/**
 * A gst-launch that fails as the real one does (its error, its exit), then, deaf to the stop's SIGINT, exits with its
 * status once the file stopCame exists (the test writes it when its stop came): on its way out until then, whatever
 * the load (a SIGINT that comes before the real one's exit may end it, by that signal).
 */
function exitsOnceStopCame(marker: string, stopCame: string): string {
  return script(marker, [
    'gst-launch-1.0 "$@"', 'status=$?', "trap '' INT", `while [ ! -e ${stopCame} ]; do sleep 0.05; done`, 'exit $status',
  ].join('\n'));
}

test('a runner stopped by a listener of its element\'s error line, gst-launch on its way out: failedBeforeStop, the error the run\'s own', async () => {
  // (before: the line was handed out before the runner took note of it: that stop found no failure printed, and
  // was told as one during the stop)
  const name = ringName('stop-on-error-line');
  const stopCame = path.join(tmp, `${name}.stop-came`);
  const runner = new PipelineRunner({ source: 'filesrc location=/nonexistent/zb-stop-on-error-line.raw', name, gstLaunch: exitsOnceStopCame(name, stopCame) });
  runner.on('output', (l) => {
    if (!l.startsWith('ERROR: from element')) return;
    void runner.stop();
    fs.writeFileSync(stopCame, '');
  });
  runner.start();
  const exit = await within('the stopped pipeline', runner.done, 10000).finally(() => fs.writeFileSync(stopCame, ''));
  expect(exit).toMatchObject({ stopped: true, failedBeforeStop: true });
  expect(exit.error).toMatchObject({ code: 'EPIPELINE', permanent: false });
  expect(processesWith(name)).toEqual([]);
});

test('a runner stopped while a transient failure\'s restart waits its delay: failedBeforeStop, the error the run\'s own (as while gst-launch is on its way out)', async () => {
  // (before: a clean stop with no error, where a stop a moment earlier, gst-launch still exiting, gave the failure)
  const name = ringName('stop-in-restart-delay');
  const runner = new PipelineRunner({ source: 'filesrc location=/nonexistent/zb-stop-in-restart-delay.raw', name, restart: { initialDelayMs: 60000 } });
  runner.on('state', (e) => {
    if (e.state === 'restarting') void runner.stop();
  });
  runner.start();
  const exit = await within('the runner stopped in its restart delay', runner.done, 10000);
  expect(exit).toMatchObject({ stopped: true, failedBeforeStop: true, restarts: 1 });
  expect(exit.error).toMatchObject({ code: 'EPIPELINE', permanent: false });
  expect(exit.error!.message).toContain('ERROR: from element /GstPipeline:pipeline0/GstFileSrc:filesrc0: Resource not found.');
  expect(runner.lastError).toBe(exit.error);
  expect(processesWith(name)).toEqual([]);
});

test('startStream closed (its signal) right after its pipeline failed, gst-launch still on its way out: stream.error is that failure and frames() throws it, as run fails with it', async () => {
  // (before: the stop made it no failure: frames() ended quietly, stream.error undefined, where run says "failed
  // before its stop came", status 3)
  const name = ringName('stream-failed-before-stop');
  const missing = '/nonexistent/zb-stream-failed-before-stop.raw';
  const stopCame = path.join(tmp, `${name}.stop-came`);
  const wrapper = exitsOnceStopCame(name, stopCame);
  const stop = new AbortController();
  const stream = await startStream({ source: `filesrc location=${missing}`, name, gstLaunch: wrapper, payloadSize: 1 << 16, signal: stop.signal });
  stream.on('output', (l) => {
    if (!l.startsWith('ERROR: from element') || stop.signal.aborted) return;
    stop.abort(); // close(): the pipeline's stop, while gst-launch runs
    fs.writeFileSync(stopCame, '');
  });
  let frames = 0;
  const thrown = await within('frames() to end', (async () => {
    for await (const frame of stream.frames()) {
      frames++;
      frame.release();
    }
  })().then(() => undefined, (e: unknown) => e), 10000).finally(() => fs.writeFileSync(stopCame, ''));
  const exit = await stream.close();
  expect(frames).toBe(0);
  expect(exit).toMatchObject({ stopped: true, failedBeforeStop: true });
  expect(stream.error).toMatchObject({ code: 'EPIPELINE', permanent: false });
  // (its hint may be lost: the stop's SIGINT can end the real gst-launch before it printed it)
  expect(stream.error!.message).toContain('ERROR: from element /GstPipeline:pipeline0/GstFileSrc:filesrc0: Resource not found.');
  expect(thrown).toBe(stream.error);
  expect(exit.error).toBe(stream.error);
  expect(processesWith(name)).toEqual([]);
});

const FLOOD_MB = 50;

test(`gst-launch floods stderr (${FLOOD_MB} MB of lines) then exits 3: reported with its status, memory and the kept output bounded`, async () => {
  const name = ringName('flood');
  // 1 KiB lines, written as fast as the pipe takes them, then an ERROR line and exit 3.
  const fake = script(name, [
    "const line = 'x'.repeat(1023) + '\\n';",
    'const chunk = Buffer.from(line.repeat(1024));',
    `let left = ${FLOOD_MB};`,
    "process.stderr.write('Setting pipeline to PLAYING ...\\n');",
    'const more = () => {',
    '  while (left > 0) { left--; if (!process.stderr.write(chunk)) return process.stderr.once("drain", more); }',
    "  process.stderr.write('ERROR: from element /GstPipeline:pipeline0/GstFakeSrc:fakesrc0: flooded.\\n', () => process.exit(3));",
    '};',
    'more();',
  ].join('\n'), process.execPath);
  const runner = new PipelineRunner({ source: 'fakesrc', name, gstLaunch: fake, stopTimeoutMs: 500 });
  let lines = 0;
  runner.on('output', () => lines++);
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const t0 = Date.now();
  runner.start();
  const exit = await within('the flooding pipeline', runner.done, 15000).finally(() => clearInterval(sampler));
  const took = Date.now() - t0;
  peak = Math.max(peak, process.memoryUsage().rss);
  expect(lines).toBeGreaterThanOrEqual(FLOOD_MB * 1024);
  expect(exit).toMatchObject({ exitCode: 3, stopped: false });
  expect(exit.error?.message).toMatch(/^gst-launch exited with status 3:\nERROR: from element .*flooded\./);
  expect(exit.error!.message.length).toBeLessThan(16 * 1024);
  expect(runner.output.length).toBeLessThan(512 * 1024);
  expect((peak - rss0) / 2 ** 20).toBeLessThan(100);
  expect(took).toBeLessThan(12000);
  expect(processesWith(name)).toEqual([]);
});

test('gst-launch floods stderr with one endless line and ignores SIGINT: stop() still ends it within bounds, the kept output is bounded', async () => {
  const name = ringName('flood-line');
  // No line end ever: one ever-growing line (as a wedged debug dump would be).
  const fake = script(name, [
    "process.on('SIGINT', () => {});",
    "process.stderr.write('Setting pipeline to PLAYING ...\\n');",
    "const chunk = Buffer.alloc(1 << 20, 0x79);",
    'const more = () => { while (process.stderr.write(chunk)); process.stderr.once("drain", more); };',
    'more();',
  ].join('\n'), process.execPath);
  const runner = new PipelineRunner({ source: 'fakesrc', name, gstLaunch: fake, stopTimeoutMs: 300 });
  let longest = 0;
  runner.on('output', (l) => (longest = Math.max(longest, l.length)));
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  try {
    runner.start();
    await until('playing', () => runner.state === 'playing');
    await sleep(1500); // let it pour
    const t0 = Date.now();
    const exit = await within('stop()', runner.stop(), 5000);
    expect(Date.now() - t0).toBeLessThan(300 + 1500);
    expect(exit).toMatchObject({ stopped: true, signal: 'SIGKILL' });
    // The endless line comes out once, cut (gst-launch's tail keeps 60 lines).
    expect(runner.output).toMatch(/^Setting pipeline to PLAYING \.\.\.\ny+… \(\d+ more characters cut\)$/);
    expect(longest).toBeLessThan(8 * 1024);
    expect(runner.output.length).toBeLessThan(16 * 1024);
    expect((Math.max(peak, process.memoryUsage().rss) - rss0) / 2 ** 20).toBeLessThan(100);
    expect(processesWith(name)).toEqual([]);
  } finally {
    clearInterval(sampler);
    await runner.kill();
  }
});

test('the watched command is SIGKILLed while its pipeline plays: watch stops the pipeline and ends; no gst-launch left; the ring goes (swept if the command left it)', async () => {
  const name = ringName('cmd-killed');
  const out = sink();
  const watcher = watch({
    command: [process.execPath, watchReader, name, '1', '100000000'], pipeline: SOURCE,
    stdout: out.stream, stopTimeoutMs: 1000,
  });
  const states: PipelineStateEvent[] = [];
  watcher.on('state', (_n, e) => states.push(e));
  try {
    await until('the pipeline to play', () => states.some((s) => s.state === 'playing'), 10000);
    await until('frames to flow', () => out.bytes().includes('generation 1'), 5000);
    const gstPid = states.find((s) => s.state === 'playing')!.pid!;
    expect(processesWith(name).some((p) => p.startsWith(`${gstPid} `))).toBe(true);
    process.kill(watcher.pid!, 'SIGKILL');
    const t0 = Date.now();
    const result = await within('watch', watcher.done, 5000);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(result).toMatchObject({ signal: 'SIGKILL', exitCode: undefined, stopped: false });
    expect(result.pipelineError).toBeUndefined();
    expect(states.at(-1)?.state).toBe('exited');
    expect(states.filter((s) => s.state === 'restarting')).toEqual([]);
    expect(watcher.streams).toEqual([]);
    await until('no process of this ring', () => processesWith(name).length === 0, 2000);
    // A SIGKILLed reader cannot remove its ring: whatever it left is stale and swept.
    if (leftovers().some((n) => n.includes(name))) removeStaleRing(name);
    expect(leftovers().filter((n) => n.includes(name))).toEqual([]);
  } finally {
    await watcher.stop();
  }
});

// The core refuses the health of a ring with a corrupt unread entry (EPROTO); its reader lives on. watch
// took that for a reader gone: the killed pipeline was not restarted, nor reported, and the watch went on
// with no pipeline into the ring of a live reader.
test('a ring with a corrupt entry, its reader alive: a killed pipeline is still restarted (the reader is what matters)', async () => {
  const name = ringName('corrupt');
  const metadataSize = 4096;
  // the command: a reader that reads nothing, so the entry at payload offset 0 stays unread
  const command = script(name, `(async () => {
  const { ZeroBufferReader } = await import(${JSON.stringify(path.join(repoRoot, 'dist', 'index.js'))});
  const reader = await ZeroBufferReader.create({ name: ${JSON.stringify(name)}, metadataSize: ${metadataSize}, payloadSize: 65536 });
  console.log('> ' + JSON.stringify({ jsonrpc: '2.0', method: 'start-stream', params: [reader.name, ${metadataSize}, 65536] }));
  setInterval(() => {}, 1000);
})();`, process.execPath);
  const out = sink();
  const watcher = watch({ command: [command], pipeline: SOURCE, stdout: out.stream, stopTimeoutMs: 1000 });
  const states: PipelineStateEvent[] = [];
  watcher.on('state', (_n, e) => states.push(e));
  try {
    await until('the pipeline to play', () => states.some((s) => s.state === 'playing'), 10000);
    await until('a frame in the ring', () => inspectRing(name).writtenCount > 0, 5000);
    const fd = fs.openSync(`/dev/shm/${name}`, 'r+');
    const size = Buffer.alloc(8);
    size.writeBigUInt64LE(1n << 40n);
    fs.writeSync(fd, size, 0, 8, 128 + metadataSize); // the first frame header's size: after the OIEB and the metadata block
    fs.closeSync(fd);
    expect(() => inspectRing(name)).toThrow(expect.objectContaining({ code: 'EPROTO' }));
    process.kill(states.find((s) => s.state === 'playing')!.pid!, 'SIGKILL');
    // restarted, and the new pipeline plays into the reader's ring (before: it ended there, not restarted, no failure)
    await until('the restarted pipeline to play', () => states.filter((s) => s.state === 'playing').length === 2, 10000);
    expect(states.map((s) => s.state)).toEqual(['starting', 'playing', 'exited', 'restarting', 'starting', 'playing']);
    expect(watcher.streams).toEqual([name]);
  } finally {
    await watcher.stop();
  }
});

test.each([
  ['handles SIGINT: it ends by it at once', "trap 'echo got INT; exit 4' INT", ['got INT'], 4, 0],
  ['ignores SIGINT: SIGTERM after stopTimeoutMs', "trap 'echo got INT' INT; trap 'echo got TERM; exit 5' TERM", ['got INT', 'got TERM'], 5, 1],
  ['ignores SIGINT and SIGTERM: SIGKILL COMMAND_KILL_AFTER_TERM_MS later', "trap '' INT TERM", [], undefined, 2],
] as const)('watch stopped while its command %s (SIGINT first, as Ctrl-C)', async (_what, traps, said, exitCode, step) => {
  const marker = ringName('hcl2-stopcmd');
  const out = sink();
  const stopTimeoutMs = 400;
  const command = script(marker, `${traps}\necho ready\nwhile :; do sleep 0.05; done`);
  const watcher = watch({ command: [command], pipeline: SOURCE, stdout: out.stream, stopTimeoutMs });
  try {
    await until('the command to set its traps', () => out.bytes().includes('ready'));
    const t0 = Date.now();
    const result = await within('stop()', watcher.stop(), 5000);
    const took = Date.now() - t0;
    expect(out.bytes().toString().split('\n').filter((l) => l.startsWith('got '))).toEqual(said);
    expect(result).toMatchObject({ stopped: true, exitCode, signal: step === 2 ? 'SIGKILL' : undefined });
    expect(result.commandKilledWith).toEqual([undefined, ['SIGTERM'], ['SIGTERM', 'SIGKILL']][step]);
    const due = [0, stopTimeoutMs, stopTimeoutMs + COMMAND_KILL_AFTER_TERM_MS][step]!;
    expect(took).toBeGreaterThanOrEqual(due - 50);
    expect(took).toBeLessThan(due + 1000);
    expect(processesWith(marker)).toEqual([]);
  } finally {
    await watcher.stop();
  }
});

test.each([Infinity, -1])('watch with stopTimeoutMs %p: a command slow over its SIGINT gets no SIGTERM nor SIGKILL (-1 was a TypeError)', async (stopTimeoutMs) => {
  const marker = ringName('hcl2-nolimit');
  const out = sink();
  // past a SIGTERM at once (then SIGKILL COMMAND_KILL_AFTER_TERM_MS later), which -1 taken as a number of ms would send
  const command = script(marker, "trap 'echo got INT; sleep 1.5; exit 4' INT; trap 'echo got TERM; exit 5' TERM\necho ready\nwhile :; do sleep 0.05; done");
  const watcher = watch({ command: [command], pipeline: SOURCE, stdout: out.stream, stopTimeoutMs });
  try {
    await until('the command to set its traps', () => out.bytes().includes('ready'));
    const t0 = Date.now();
    const result = await within('stop()', watcher.stop(), 10000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
    expect(out.bytes().toString().split('\n').filter((l) => l.startsWith('got '))).toEqual(['got INT']);
    expect(result).toMatchObject({ stopped: true, exitCode: 4, signal: undefined, commandKilledWith: undefined });
    expect(processesWith(marker)).toEqual([]);
  } finally {
    await watcher.stop();
  }
});

test('watch stopped while its command is stopped (SIGSTOP): SIGCONT after its SIGINT, it ends by its handler (it got SIGKILL only, its cleanup never ran)', async () => {
  const marker = ringName('stopped-cmd');
  const out = sink();
  const command = script(marker, "trap 'echo got INT; exit 4' INT\necho ready\nkill -STOP $$\nwhile :; do sleep 0.05; done");
  const watcher = watch({ command: [command], pipeline: SOURCE, stdout: out.stream, stopTimeoutMs: 400 });
  const state = (): string | undefined => {
    try {
      const stat = fs.readFileSync(`/proc/${watcher.pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    } catch {
      return undefined;
    }
  };
  try {
    await until('the command to stop itself', () => state() === 'T');
    const result = await within('stop()', watcher.stop(), 5000);
    expect(out.bytes().toString().split('\n').filter((l) => l.startsWith('got '))).toEqual(['got INT']);
    expect(result).toMatchObject({ stopped: true, exitCode: 4, signal: undefined, commandKilledWith: undefined });
    expect(processesWith(marker)).toEqual([]);
  } finally {
    await watcher.stop();
  }
});

/**
 * A script that says "ready", then loops until SIGTERM (saying "got TERM"):
 * started by a non-interactive shell with "&", it has SIGINT ignored.
 */
function termOnlyScript(marker: string): string {
  return script(marker, "trap 'echo got TERM; exit 5' TERM\necho ready\nwhile :; do sleep 0.05; done");
}

test('watch stopped while its command, a shell, dies of SIGINT at once but what it started in the background outlasts it: SIGTERM after stopTimeoutMs still comes, for the whole group', async () => {
  const marker = ringName('bgterm');
  const out = sink();
  const stopTimeoutMs = 400;
  const background = termOnlyScript(marker);
  const watcher = watch({ command: ['bash', '-c', '"$0" & wait', background], pipeline: SOURCE, stdout: out.stream, stopTimeoutMs });
  try {
    await until('the background command to set its trap', () => out.bytes().includes('ready'));
    const t0 = Date.now();
    const result = await within('stop()', watcher.stop(), 5000);
    const took = Date.now() - t0;
    expect(result.stopped).toBe(true);
    expect(result.commandKilledWith).toEqual(['SIGTERM']);
    expect(out.bytes().toString().split('\n')).toContain('got TERM');
    expect(took).toBeGreaterThanOrEqual(stopTimeoutMs - 50);
    expect(took).toBeLessThan(stopTimeoutMs + 1000);
    expect(processesWith(marker)).toEqual([]);
  } finally {
    await watcher.stop();
  }
});

test('watch stopped on a busy event loop (a loaded host) while what its command started in the background outlasts it: the last words it writes as it ends are passed on', async () => {
  const marker = ringName('bgbusy');
  const out = sink();
  const background = termOnlyScript(marker);
  const watcher = watch({ command: ['bash', '-c', '"$0" & wait', background], pipeline: SOURCE, stdout: out.stream, stopTimeoutMs: 200 });
  // The event loop kept busy 60 ms at a time, between its reads of pipes and its timers: the background ends
  // meanwhile, and the watch's timer that looks for what is left of the group runs before the pipe is read next
  // (before: "got TERM" was lost, as it once was on a loaded CI host).
  let busy = true;
  const keepBusy = (): void => {
    for (const until = performance.now() + 60; performance.now() < until;);
    if (busy) setImmediate(keepBusy);
  };
  try {
    await until('the background command to set its trap', () => out.bytes().includes('ready'));
    setImmediate(keepBusy);
    const result = await within('stop()', watcher.stop(), 5000);
    busy = false;
    expect(result.commandKilledWith).toEqual(['SIGTERM']);
    expect(out.bytes().toString()).toBe('ready\ngot TERM\n');
    expect(processesWith(marker)).toEqual([]);
  } finally {
    busy = false;
    await watcher.stop();
  }
});

test('the watched command exits by itself, leaving what it started in the background running: that is stopped as the command would be (SIGTERM after stopTimeoutMs), not killed at once, and the result says so', async () => {
  const marker = ringName('leftover');
  const out = sink();
  const stopTimeoutMs = 400;
  const background = termOnlyScript(marker);
  const watcher = watch({ command: ['bash', '-c', '"$0" & sleep 0.3', background], pipeline: SOURCE, stdout: out.stream, stopTimeoutMs });
  try {
    const result = await within('the watch', watcher.done, 5000);
    expect(result).toMatchObject({ stopped: false, exitCode: 0, commandKilledWith: ['SIGTERM'] });
    expect(out.bytes().toString().split('\n')).toEqual(['ready', 'got TERM', '']);
    expect(processesWith(marker)).toEqual([]);
  } finally {
    await watcher.stop();
  }
});

test('the watched command prints garbage around a valid start-stream: the pipeline starts, every bad protocol line is a warning, log bytes pass through unchanged', async () => {
  const name = ringName('garbage');
  const expectedFile = path.join(tmp, `${name}.expected`);
  const out = sink();
  const watcher = watch({
    command: [process.execPath, garbageReader, name, '30', expectedFile], pipeline: SOURCE,
    stdout: out.stream, stopTimeoutMs: 1000,
  });
  const warnings: WarningEvent[] = [];
  const messages: unknown[] = [];
  const states: PipelineStateEvent[] = [];
  watcher.on('warning', (w) => warnings.push(w));
  watcher.on('message', (m) => messages.push(m));
  watcher.on('state', (_n, e) => states.push(e));
  try {
    const result = await within('watch', watcher.done, 15000);
    expect(result).toMatchObject({ exitCode: 0, stopped: false });
    expect(result.pipelineError).toBeUndefined();
    expect(messages).toEqual([{ method: 'start-stream', name, metadataSize: 4096, payloadSize: 3 * (64 * 48 * 3 + 64) }]);
    expect(states.some((s) => s.state === 'playing')).toBe(true);
    // 9 bad '>' lines, 1 with invalid UTF-8, 1 past the limit.
    expect(warnings.length).toBe(11);
    expect(warnings.some((w) => /not valid UTF-8/.test(w.reason))).toBe(true);
    expect(warnings.some((w) => /longer than the limit/.test(w.reason))).toBe(true);
    for (const w of warnings) expect(w.line.length).toBeLessThan(400);
    const expected = fs.readFileSync(expectedFile);
    const got = out.bytes();
    expect(got.length).toBe(expected.length);
    expect(got.equals(expected)).toBe(true);
    expect(got.includes(Buffer.from('start-stream'))).toBe(false);
    await until('no process of this ring', () => processesWith(name).length === 0, 3000);
    expect(leftovers().filter((n) => n.includes(name))).toEqual([]);
  } finally {
    await watcher.stop();
  }
});

/**
 * Runs body in a Node process of its own over dist/ (startStream and watch in scope),
 * where an unhandled rejection is seen as such: it prints "unhandled" and its
 * message and exits 3. Resolves with its status and stdout lines.
 */
async function apiChild(body: string, env: NodeJS.ProcessEnv = {}, ms = 10000): Promise<{ status: number | null; stdout: string[] }> {
  const child = run(process.execPath, ['--input-type=module', '-e', [
    `const { startStream, watch } = await import(${JSON.stringify(path.join(repoRoot, 'dist', 'index.js'))});`,
    "process.on('unhandledRejection', (e) => { console.log(`unhandled ${e?.message ?? e}`); process.exit(3); });",
    body,
    'process.exit(0);',
  ].join('\n')], env);
  const status = await child.exit(ms);
  return { status, stdout: child.stdout };
}

test('startStream with a word execa refuses (a null byte in the source, a sink property, gstLaunch): rejects with a TypeError naming the option, no unhandled rejection, no ring left', async () => {
  const name = `hcli-nul-${process.pid}`;
  const { status, stdout } = await apiChild([
    `for (const options of [{ source: ['videotestsrc', 'pattern=a\\0b'] }, { source: 'videotestsrc', sinkProperties: { 'camera-id': 'a\\0b' } },`,
    "  { source: 'videotestsrc', gstLaunch: 'gst-launch-1.0\\0' }]) {",
    `  try { await startStream({ ...options, name: ${JSON.stringify(name)}, payloadSize: 4096 }); console.log('resolved'); }`,
    '  catch (e) { console.log(`rejected ${e.name}: ${e.message}`); }',
    '}',
  ].join('\n'));
  expect({ status, stdout }).toEqual({
    status: 0,
    stdout: [
      'rejected TypeError: option "source" must be a pipeline description without null bytes, received "pattern=a\\u0000b"',
      'rejected TypeError: option "sinkProperties" must be names and values without null bytes, received "camera-id=a\\u0000b"',
      'rejected TypeError: option "gstLaunch" must be a program (its name or path) without null bytes, received "gst-launch-1.0\\u0000"',
    ],
  });
  expect(fs.readdirSync('/dev/shm').filter((n) => n.includes(name))).toEqual([]);
});

test('startStream runs no gst-inspect-1.0 before gst-launch (it asked one whether the plugin was installed, which a hanging one held up to 20 s): it resolves with gst-launch running; the ring goes at close', async () => {
  const name = `hcli-inspect-${process.pid}`;
  const bin = path.join(tmp, `${name}-bin`);
  fs.mkdirSync(bin);
  const mark = path.join(tmp, `${name}-ran`);
  fs.writeFileSync(path.join(bin, 'gst-inspect-1.0'), `#!/bin/bash\ntouch '${mark}'\nexec sleep 60\n`, { mode: 0o755 });
  const { status, stdout } = await apiChild([
    `const stream = await startStream({ source: 'videotestsrc', name: ${JSON.stringify(name)}, payloadSize: 4096 });`,
    "console.log(typeof stream.pipeline.pid === 'number' ? 'resolved with a pid' : 'resolved without a pid');",
    'await stream.close();',
    `console.log((await import('node:fs')).readdirSync('/dev/shm').filter((n) => n.includes(${JSON.stringify(name)})).join(' ') || 'no ring');`,
  ].join('\n'), { PATH: `${bin}:${process.env['PATH']}` }, 30000);
  expect({ status, stdout }).toEqual({ status: 0, stdout: ['resolved with a pid', 'no ring'] });
  expect(fs.existsSync(mark)).toBe(false);
  await until('the fake gst-inspect to go', () => processesWith(bin).length === 0);
}, 40000);

test('watch with a null byte in its command, sinkProperties or gstLaunch: a TypeError at once, its command not run (it was, and the first start-stream an unhandled rejection)', async () => {
  const marker = `hcli-watch-nul-${process.pid}`;
  const cases: [Partial<WatchOptions>, RegExp][] = [
    [{ sinkProperties: { 'camera-id': 'a\0b' } }, /^option "sinkProperties" must be names and values without null bytes, received "camera-id=a\\u0000b"$/],
    [{ gstLaunch: 'gst-launch-1.0\0' }, /^option "gstLaunch" must be a program \(its name or path\) without null bytes/],
    // execa's own error before (its text, and after the command's spawn was tried)
    [{ command: ['/bin/sh', '-c', 'sleep 5', marker, 'a\0b'] }, /^option "command" must be a non-empty array of strings without null bytes/],
  ];
  for (const [bad, refused] of cases) {
    let watcher: Watcher | undefined;
    try {
      expect(() => (watcher = watch({ command: ['/bin/sh', '-c', 'sleep 5', marker], pipeline: 'videotestsrc', ...bad }))).toThrow(refused);
      expect(processesWith(marker)).toEqual([]);
    } finally {
      await watcher?.stop();
    }
  }
});

test('sinkProperties setting buffer-name (or buffer_name, the same to GLib): startStream rejects and watch throws, a TypeError, before any ring or process (it went to gst-launch after the ring\'s own, and zerosink waited for a ring nobody created)', async () => {
  const name = ringName('bn');
  const other = ringName('bn-other');
  for (const key of ['buffer-name', 'buffer_name']) {
    const spelled = key === 'buffer-name' ? '' : ' (given as "buffer_name")';
    await expect(startStream({ source: SOURCE, name, sinkProperties: { [key]: other, 'connect-timeout': 1000 } })).rejects.toThrow(
      new TypeError(`option "sinkProperties" must not set buffer-name${spelled}: zerosink writes into the ring the stream reads (give its name as "name")`));
    let watcher: Watcher | undefined;
    try {
      expect(() => (watcher = watch({ command: ['/bin/sh', '-c', 'sleep 5', name], pipeline: SOURCE, sinkProperties: { [key]: other } }))).toThrow(
        new TypeError(`option "sinkProperties" must not set buffer-name${spelled}: zerosink writes into the ring each start-stream names`));
    } finally {
      await watcher?.stop();
    }
  }
  expect(processesWith(name)).toEqual([]);
  expect(processesWith(other)).toEqual([]);
  expect(leftovers().filter((n) => n.includes(name) || n.includes(other))).toEqual([]);
});

test('PipelineRunner used directly refuses sinkProperties setting its ring (buffer-name, buffer_name) or, for a filter pipeline, its channel: a TypeError, as startStream and watch do (it took them: gst-launch got the property twice, and the element waited for a ring nobody created)', () => {
  const name = ringName('rbn');
  const cases: [Partial<PipelineOptions>, string][] = [
    [{ sinkProperties: { 'buffer-name': 'x' } }, 'option "sinkProperties" must not set buffer-name: zerosink writes into the ring named by option "name"'],
    [{ sinkProperties: { policy: 'drop', buffer_name: 'x' } },
      'option "sinkProperties" must not set buffer-name (given as "buffer_name"): zerosink writes into the ring named by option "name"'],
    [{ sink: 'fakesink', sinkProperties: { channel: 'x' } }, 'option "sinkProperties" must not set channel: zerofilter joins the channel named by option "name"'],
  ];
  for (const [bad, message] of cases) expect(() => new PipelineRunner({ source: SOURCE, name, ...bad })).toThrow(new TypeError(message));
  // each element's own: zerofilter has no buffer-name (gst-launch says so), which is no ring of the runner's
  expect(new PipelineRunner({ source: SOURCE, name, sink: 'fakesink', sinkProperties: { 'buffer-name': 'x' } }).args)
    .toEqual(expect.arrayContaining([`channel=${name}`, 'buffer-name=x']));
});

test('a sinkProperties entry whose value is undefined (as spreading options leaves it) is not given: not refused, not in gst-launch\'s arguments, no default overridden (PipelineRunner, startStream, watch)', async () => {
  const name = ringName('undef');
  // before: refused as setting the ring ("must not set buffer-name"), and watch's connect-timeout lost
  const runner = new PipelineRunner({ source: SOURCE, name, sinkProperties: { 'buffer-name': undefined, buffer_name: undefined, policy: 'drop' } });
  expect(runner.args.slice(-4)).toEqual(['zerosink', `buffer-name=${name}`, 'policy=drop', 'name=zerosink']);
  expect(new PipelineRunner({ source: SOURCE, name, sink: 'fakesink', sinkProperties: { channel: undefined } }).args.join(' ')).not.toContain('undefined');
  const stream = await startStream({ source: SOURCE, name, sinkProperties: { 'buffer-name': undefined } });
  try {
    for await (const frame of stream.frames({ timeoutMs: 10000 })) {
      expect(frame.data.length).toBe(64 * 48 * 3);
      break;
    }
  } finally {
    await stream.close();
  }
  const watched = ringName('undef-watch');
  const states: PipelineStateEvent[] = [];
  const watcher = watch({
    command: [process.execPath, watchReader, watched, '1', '100000000'], pipeline: SOURCE, stdout: sink().stream,
    sinkProperties: { 'buffer-name': undefined, 'connect-timeout': undefined },
  });
  watcher.on('state', (_n, e) => states.push(e));
  try {
    await until('the pipeline to play', () => states.some((s) => s.state === 'playing'), 10000);
    const gstPid = states.find((s) => s.state === 'playing')!.pid!;
    const argv = fs.readFileSync(`/proc/${gstPid}/cmdline`, 'utf8').split('\0');
    expect(argv.filter((a) => a.startsWith('connect-timeout=') || a.startsWith('buffer-name='))).toEqual([`buffer-name=${watched}`, 'connect-timeout=2000']);
  } finally {
    await watcher.stop();
  }
  expect(processesWith(name)).toEqual([]);
  expect(processesWith(watched)).toEqual([]);
});

test('pluginPath, gstLaunch or env it cannot take (pluginPath 5, env values not strings): a TypeError naming the option from PipelineRunner, watch (its command not run) and startStream (no ring, no start-stream line), before anything runs (pluginPath 5 went into gst-launch\'s plugin path as "5")', async () => {
  const name = ringName('ropt');
  const directory = /^option "pluginPath" must be a directory \(or a ':' list of them\) without null bytes, received /;
  const runnerCases: [Record<string, unknown>, RegExp][] = [
    [{ pluginPath: 5 }, new RegExp(`${directory.source}5$`)],
    [{ pluginPath: '' }, new RegExp(`${directory.source}""$`)],
    [{ pluginPath: 'a\0b' }, directory],
    [{ gstLaunch: '' }, /^option "gstLaunch" must be a program \(its name or path\) without null bytes, received ""$/],
    [{ env: 'ZB_X=1' }, /^option "env" must be an object of variable names to string values, received "ZB_X=1"$/],
    [{ env: ['ZB_X=1'] }, /^option "env" must be an object of variable names to string values, received an array$/],
    [{ env: { ZB_X: 5 } }, /^option "env.ZB_X" must be a string without null bytes, received 5$/],
    [{ env: { ZB_X: 'a\0b' } }, /^option "env.ZB_X" must be a string without null bytes/],
    [{ env: { 'ZB_X=1': 'y' } }, /^option "env" must be an object whose variable names are not empty and have no "=" or null bytes, received "ZB_X=1"$/],
  ];
  for (const [bad, refused] of runnerCases)
    expect(() => new PipelineRunner({ source: SOURCE, name, ...bad } as PipelineOptions)).toThrow(refused);
  const ran = path.join(tmp, 'ropt-ran');
  for (const bad of [{ pluginPath: 5 }, { pluginPath: '' }, { gstLaunch: '' }]) {
    let watcher: Watcher | undefined;
    try {
      expect(() => (watcher = watch({ command: ['/bin/sh', '-c', `touch ${ran}`], pipeline: SOURCE, ...bad } as WatchOptions)))
        .toThrow(/^option "(pluginPath|gstLaunch)" must be /);
    } finally {
      await watcher?.stop();
    }
  }
  const out = sink();
  await expect(startStream({ source: SOURCE, name, pluginPath: 5 as unknown as string, announce: out.stream })).rejects.toThrow(new RegExp(`${directory.source}5$`));
  expect(fs.existsSync(ran)).toBe(false);
  expect(out.bytes().toString()).toBe('');
  expect(leftovers().filter((n) => n.includes(name))).toEqual([]);
  expect(processesWith(name)).toEqual([]);
});

test('watch with maxLineBytes, stdout or stopTimeoutMs it cannot take: a TypeError at once, its command not run (it was run, and the first read or start-stream was an unhandled rejection: the process died, or the watch "succeeded" having passed nothing on)', async () => {
  const marker = `hcli-watch-opts-${process.pid}`;
  const start = '> {"jsonrpc":"2.0","method":"start-stream","params":["horch-none",4096,65536]}';
  const { status, stdout } = await apiChild([
    `for (const bad of [{ maxLineBytes: 0 }, { maxLineBytes: 'x' }, { stdout: 5 }, { stdout: {} }, { stopTimeoutMs: 'x' }, { stopTimeoutMs: -2 }]) {`,
    `  try { const w = watch({ command: ['/bin/sh', '-c', ${JSON.stringify(`echo '${start}'; echo ran; sleep 1`)}, ${JSON.stringify(marker)}],`,
    "    pipeline: 'videotestsrc', ...bad }); console.log(`returned, then ${JSON.stringify(await w.done)}`); }",
    '  catch (e) { console.log(`threw ${e.name}: ${e.message}`); }',
    '}',
  ].join('\n'), {}, 20000);
  expect({ status, stdout }).toEqual({
    status: 0,
    stdout: [
      'threw TypeError: option "maxLineBytes" must be an integer >= 1, received 0',
      'threw TypeError: option "maxLineBytes" must be an integer >= 1, received "x"',
      'threw TypeError: option "stdout" must be a writable stream, received 5',
      'threw TypeError: option "stdout" must be a writable stream, received an object',
      'threw TypeError: option "stopTimeoutMs" must be a number of milliseconds >= 0, or -1 or Infinity (no limit), received "x"',
      'threw TypeError: option "stopTimeoutMs" must be a number of milliseconds >= 0, or -1 or Infinity (no limit), received -2',
    ],
  });
  expect(processesWith(marker)).toEqual([]);
});

test('startStream given a reader: the pipeline writes into its ring, announced with its name and size, and close() removes it; given a name or payloadSize too, it rejects (TypeError) and closes the reader', async () => {
  const name = ringName('given');
  const fake = script(name, ['echo "Setting pipeline to PAUSED ..."', 'echo "Setting pipeline to PLAYING ..."', 'while :; do sleep 0.05; done'].join('\n'));
  const reader = await ZeroBufferReader.create({ name, metadataSize: 1024, payloadSize: 8192 });
  const out = sink();
  const stream = await startStream({ source: 'fakesrc', reader, gstLaunch: fake, stopTimeoutMs: 600, metadataSize: 1024, announce: out.stream });
  let closedByStream = false;
  try {
    expect(stream.reader).toBe(reader);
    expect(stream.name).toBe(name);
  } finally {
    await stream.close(); // also when the reader was not taken (before: a ring of its own, a fake left looping)
    closedByStream = reader.closed;
    await reader.close();
  }
  expect(closedByStream).toBe(true);
  expect(out.bytes().toString()).toContain(`"method":"start-stream","params":["${name}",1024,8192]`);
  for (const extra of [{ name }, { payloadSize: 4096 }]) {
    const again = await ZeroBufferReader.create({ name, metadataSize: 64, payloadSize: 1024 });
    await expect(startStream({ source: 'fakesrc', reader: again, gstLaunch: fake, ...extra })).rejects.toThrow(TypeError);
    expect(again.closed).toBe(true);
  }
  expect(leftovers().filter((n) => n.includes(name))).toEqual([]);
});

test('startStream given a reader of a ring without metadata (metadataSize 0): announced with its honest 0, and zerosink, a writer with metadata, then fails with EMSGSIZE, not announce with a TypeError', async () => {
  const name = ringName('meta0');
  const reader = await ZeroBufferReader.create({ name, metadataSize: 0, payloadSize: 8192 });
  const out = sink();
  const stream = await startStream({ source: SOURCE, reader, announce: out.stream });
  try {
    const failed = await stream.frames().next().then(() => undefined, (e: unknown) => e);
    expect(failed).toMatchObject({ code: 'EMSGSIZE', permanent: true, message: expect.stringContaining(`Could not write the metadata of ring ${name}`) });
  } finally {
    await stream.close();
  }
  expect(out.bytes().toString().split('\n')).toEqual([
    `> {"jsonrpc":"2.0","method":"start-stream","params":["${name}",0,8192]}`,
    `> {"jsonrpc":"2.0","method":"stop-stream","params":["${name}"]}`,
    '',
  ]);
  expect(leftovers().filter((n) => n.includes(name))).toEqual([]);
});

test('a gstLaunch path that does not exist or cannot be run: its PipelineError says so (a path is not looked up on the PATH); startStream resolves with no pid, the error a moment later', async () => {
  const notExecutable = path.join(tmp, 'fake-gst-not-executable');
  fs.writeFileSync(notExecutable, '#!/bin/sh\n', { mode: 0o644 });
  for (const [gstLaunch, why] of [
    [path.join(tmp, 'no-such-gst'), `${path.join(tmp, 'no-such-gst')} does not exist (a path is run as given, not looked up on the PATH)`],
    // the error's text holds the path: only its code, at the end, says why
    [path.join(tmp, 'EACCES', 'gst'), `${path.join(tmp, 'EACCES', 'gst')} does not exist (a path is run as given, not looked up on the PATH)`],
    [notExecutable, `${notExecutable} is not executable (a directory, or a file without this user's execute permission)`],
  ] as const) {
    const stream = await startStream({ source: SOURCE, name: ringName('spawn-failed'), gstLaunch });
    expect([stream.pipeline.pid, stream.pipeline.state, stream.error]).toEqual([undefined, 'starting', undefined]);
    const failed = await stream.frames().next().then(() => undefined, (e: unknown) => e);
    expect(failed).toMatchObject({ code: 'EPIPELINE', permanent: true, message: expect.stringContaining(`${gstLaunch} could not be started: `) });
    expect((failed as Error).message.split('\n').at(-1)).toBe(why);
    expect(stream.error).toBe(failed);
    await stream.close();
  }
});

test('startStream refuses an option of the pipeline it cannot take (stopTimeoutMs, restart, announce, sinkProperties) before the ring: no start-stream line, no stop-stream, nothing in /dev/shm (stopTimeoutMs and restart were refused after both lines went out)', async () => {
  const name = ringName('late-opt');
  const cases: [Partial<StartStreamOptions>, string][] = [
    [{ stopTimeoutMs: -5 }, 'option "stopTimeoutMs" must be a number of milliseconds >= 0, or -1 or Infinity (no limit), received -5'],
    [{ restart: { maxRestarts: -1 } }, 'option "restart.maxRestarts" must be an integer >= 0 (Infinity: no limit), received -1'],
    [{ restart: 'yes' as never }, 'option "restart" must be a boolean or { maxRestarts, initialDelayMs, maxDelayMs }, received "yes"'],
    [{ sinkProperties: 5 as never }, 'option "sinkProperties" must be an object of property names to values, received 5'],
    [{ sinkProperties: { policy: {} } as never }, 'option "sinkProperties.policy" must be a string, number or boolean, received an object'],
  ];
  for (const [bad, message] of cases) {
    const out = sink();
    await expect(startStream({ source: SOURCE, name, payloadSize: 4096, announce: out.stream, ...bad })).rejects.toThrow(new TypeError(message));
    expect({ bad, announced: out.bytes().toString() }).toEqual({ bad, announced: '' });
    expect(leftovers().filter((n) => n.includes(name))).toEqual([]);
  }
  // announce itself: it was written to at once ("stream.write is not a function"), once the ring existed
  await expect(startStream({ source: SOURCE, name, payloadSize: 4096, announce: 5 as never }))
    .rejects.toThrow(new TypeError('option "announce" must be a boolean or a writable stream, received 5'));
  expect(leftovers().filter((n) => n.includes(name))).toEqual([]);
  expect(processesWith(name)).toEqual([]);
});

test('a filter pipeline\'s not-linked: permanent (not restarted) from zerofilter or an element of the sink pipeline, by the name gst-launch gives it; transient from the source\'s (a queue there is queue0, the sink\'s queue1)', async () => {
  const name = ringName('notlinked');
  const notLinked = (element: string): string => script(`${name}-${element.replace(/\W/g, '_')}`, [
    `echo "ERROR: from element /GstPipeline:pipeline0/${element}: Internal data stream error." >&2`,
    'echo "Additional debug info:" >&2',
    `echo "../plugins/elements/gstqueue.c(992): gst_queue_handle_sink_event (): /GstPipeline:pipeline0/${element}:" >&2`,
    'echo "streaming stopped, reason not-linked (-1)" >&2',
    'exit 1',
  ].join('\n'));
  const cases: [string, boolean][] = [
    ['GstQueue:queue0', false], // the source's
    ['GstQueue:queue1', true], // before: restarted as transient (gst-launch's "--filter-sink queue" at EOS)
    ['GstCapsFilter:capsfilter1', true], // the sink's caps
    ['GstZeroFilter:zerofilter', true],
    ['GstTee:t', true], // named
    ['GstQueue:my q', true], // named with a space (before: its path read up to the space, transient)
    ['GstBin:bin0/GstQueue:queue1', false], // inside a bin: not one of the description's
  ];
  for (const [element, permanent] of cases) {
    const runner = new PipelineRunner({
      source: 'videotestsrc ! queue ! video/x-raw', name, sink: 'queue ! video/x-raw ! tee name=t ! queue name="my q" ! fakesink', gstLaunch: notLinked(element),
      restart: { maxRestarts: 1, initialDelayMs: 0 },
    });
    runner.start();
    const exit = await within('the pipeline', runner.done, 10000);
    expect({ element, permanent: exit.error?.permanent, restarts: exit.restarts }).toEqual({ element, permanent, restarts: permanent ? 0 : 1 });
  }
  expect(processesWith(name)).toEqual([]);
});

// `zerobuffer filter` end to end (a Node script answering zerofilter in a
// real gst-launch-1.0; the answers checked byte for byte against a
// reference), its line for a pipeline that stalls (SIGSTOP) or dies
// (SIGKILL) mid-stream, and `zerobuffer watch` starting a filter pipeline
// for a C duplex server that announces its channel with a start-duplex line.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ZeroBufferReader } from '../../src/index.js';
import {
  type Child, eosIgnoringGstLaunchDir, leftovers, processesWith, repoRoot, ringName, run, runOnTerminal, sleep, slowExitGstLaunchDir, until,
} from './helpers.js';

const bin = path.join(repoRoot, 'dist', 'cli', 'bin.js');
const gstEnv = { GST_PLUGIN_PATH: path.join(repoRoot, 'builddir', 'gst-plugin') };
const duplexServerPath = path.join(repoRoot, 'builddir', 'test', 'zb-duplex-server');
const SRC = 'videotestsrc num-buffers=25 pattern=ball ! video/x-raw,format=RGB,width=160,height=120,framerate=30/1';

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

const sha = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex');

const fixture = (file: string): string => path.join(repoRoot, 'test', 'node', 'fixtures', file);

/**
 * Runs `zerobuffer filter <src> --script <script> filesink` (+ args); the command, after checking that it exited 0 and that
 * every byte of the source's `bytes` came back inverted.
 */
async function invertedThroughFilter(src: string, script: string, bytes: number, args: string[]): Promise<Child> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-clif-'));
  try {
    const input = path.join(dir, 'in.raw');
    const output = path.join(dir, 'out.raw');
    const ref = run('gst-launch-1.0', ['-q', ...src.split(' '), '!', 'filesink', `location=${input}`], gstEnv);
    expect(await ref.exit(20000)).toBe(0);
    const cli = run(process.execPath, [bin, 'filter', src, '--script', fixture(script), `filesink location=${output}`, ...args], gstEnv);
    expect([await cli.exit(40000), cli.stderr]).toEqual([0, cli.stderr]); // its stderr shown when it failed
    const want = fs.readFileSync(input).map((v) => 255 - v);
    expect(want.length).toBe(bytes);
    expect(sha(fs.readFileSync(output))).toBe(sha(want));
    return cli;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `zerobuffer filter SRC --script <script> filesink` (+ extra); its JSON summary, after checking that every byte came back inverted. */
async function invertingFilter(script: string, extra: string[] = []): Promise<Record<string, unknown> & { inPlace: number; copied: number }> {
  const cli = await invertedThroughFilter(SRC, script, 25 * 160 * 120 * 3, ['--json', '--name', ringName('clif'), ...extra]);
  return JSON.parse(cli.stdout.find((l) => l.includes('"summary"'))!);
}

test('zerobuffer filter: the script inverts every frame; JSON stats and a summary with zerofilter\'s counts', async () => {
  const summary = await invertingFilter('invert-filter.mjs');
  expect(summary).toMatchObject({ requests: 25, responses: 25, errors: 0, inPlace: 0, copied: 25, zerofilter: { responses: 25, 'frames-passed': 0 } });
  expect(summary['requestToResponseP50Ms']).toBeGreaterThan(0);
}, 90000);

test('zerobuffer filter: a script that leaves a timer running does not keep the command once the stream ended', async () => {
  const cli = run(process.execPath, [bin, 'filter', SRC, '--script', fixture('lingering-filter.mjs'),
    'fakesink', '--json', '--name', ringName('clif')], gstEnv);
  expect(await cli.exit(40000)).toBe(0);
  expect(JSON.parse(cli.stdout.find((l) => l.includes('"summary"'))!)).toMatchObject({ requests: 25, responses: 25 });
}, 60000);

test('zerobuffer filter: a script that fails says where, once, with its stack; later failures by their message', async () => {
  const script = fixture('failing-filter.mjs');
  const cli = run(process.execPath, [bin, 'filter', SRC, '--script', script, 'fakesink', '--json', '--name', ringName('clif')], gstEnv);
  expect(await cli.exit(40000)).toBe(3); // --on-error pass: the frames went on unchanged, but nothing was filtered
  expect(cli.stderr).toMatch(/the script failed on every request \(25\): nothing was filtered/);
  const errors = cli.stdout.filter((l) => l.includes('"handlerError"')).map((l) => JSON.parse(l) as { message: string; stack?: string });
  expect(errors.length).toBe(25);
  expect(errors[0]!.message).toMatch(/undefinedTransform is not defined/);
  expect(errors[0]!.stack).toContain('failing-filter.mjs:4');
  expect(errors.slice(1).every((e) => e.stack === undefined)).toBe(true);
}, 60000);

test.each([[[]], [['--no-in-place']]])('zerobuffer filter %j: a script that draws on frame.data and returns the frame', async (extra) => {
  const summary = await invertingFilter('invert-in-place-filter.mjs', extra);
  expect(summary.inPlace + summary.copied).toBe(25);
  // in place only when zerofilter takes it (the inplace zerofilter), never with --no-in-place
  if (extra.length > 0) expect(summary.inPlace).toBe(0);
}, 90000);

test('zerobuffer filter sizes the request ring for the source\'s caps: 2560x1440 BGRx frames all answered in place, none copied out', async () => {
  // 3 of these frames are 44 MB: the fallback ring (3 × 1080p RGB) holds one, and the one fakesink keeps
  // would have to be copied out of it for every next request
  const src = 'videotestsrc num-buffers=6 pattern=ball ! video/x-raw,format=BGRx,width=2560,height=1440,framerate=30/1';
  const cli = run(process.execPath, [bin, 'filter', src, '--script', fixture('echo-filter.mjs'),
    'fakesink', '--json', '--name', ringName('clif')], gstEnv);
  expect(await cli.exit(60000)).toBe(0);
  const summary = JSON.parse(cli.stdout.find((l) => l.includes('"summary"'))!);
  expect(summary).toMatchObject({ responses: 6, inPlace: 6, copied: 0, zerofilter: { responses: 6, 'responses-in-place': 6, 'in-place-copied': 0 } });
}, 90000);

/**
 * Runs `zerobuffer filter <src> --script invert-in-place-filter.mjs filesink` (+ extra); its stderr, after checking that every
 * byte of the source's `bytes` came back inverted.
 */
async function invertedAudio(src: string, bytes: number, extra: string[] = []): Promise<string> {
  const cli = await invertedThroughFilter(src, 'invert-in-place-filter.mjs', bytes, ['--no-json', '--name', ringName('clifa'), ...extra]);
  return cli.stderr;
}

test('zerobuffer filter of raw audio: the request ring sized by time (depth + 3 buffers of up to 1 s, as zerofilter\'s response ring), every byte answered through the channel', async () => {
  // before: the request ring was the readers' fallback for any audio, 3 frames of 1080p RGB (18662592 bytes)
  const stderr = await invertedAudio('audiotestsrc num-buffers=50 ! audio/x-raw,format=S16LE,rate=48000,channels=2', 50 * 1024 * 4);
  expect(stderr).toContain('(requests: 960320 bytes)'); // 5 × 192064
}, 90000);

test.each([[['--sink-property', 'depth=2']], [['--sink-property', 'depth=4', '--no-in-place']]])(
  'zerobuffer filter %j of raw audio in buffers of 1.5 s: both rings hold them, every byte answered', async (extra) => {
    // before: each ring was a second of audio (192064 bytes): an answer in place held the 288048-byte request in
    // the request ring, which could not take it; an answer by copy could not fit the response ring (EMSGSIZE)
    const stderr = await invertedAudio('audiotestsrc num-buffers=6 samplesperbuffer=72000 ! audio/x-raw,format=S16LE,rate=48000,channels=2',
      6 * 72000 * 4, extra);
    expect(stderr).toContain(`(requests: ${extra[1] === 'depth=2' ? 5 * 192064 : 7 * 192064} bytes)`);
  }, 90000);

test('zerobuffer filter of an encoded stream (VP8): the request ring is the readers\' fallback, as zerosrc\'s and zerofilter\'s response ring for such caps, its line says why; every frame answered', async () => {
  // (before: the same 18662592 bytes for a 64x48 stream, and nothing said of why: encoded caps give no frame size)
  const src = 'videotestsrc num-buffers=10 ! video/x-raw,width=64,height=48 ! vp8enc ! video/x-vp8,width=64,height=48';
  const cli = run(process.execPath, [bin, 'filter', src, '--script', fixture('echo-filter.mjs'),
    'fakesink', '--no-json', '--name', ringName('clifv')], gstEnv);
  expect(await cli.exit(40000)).toBe(0);
  expect(cli.stderr).toContain('(requests: 18662592 bytes, the default: the caps at the source\'s end give no frame size; --payload-size N to change)');
  expect(cli.stderr).toMatch(/\nzerofilter: 10 answers, 0 passed, 0 dropped/);
}, 60000);

test('zerobuffer filter whose sink pipeline ends in no sink element (videoconvert): status 3, a line saying the answers go nowhere and what to end it with', async () => {
  // (before: only gst-launch's "streaming stopped, reason not-linked", and the --json summary's "zerofilter": null)
  const cli = run(process.execPath, [bin, 'filter', SRC, '--script', fixture('echo-filter.mjs'),
    'queue ! videoconvert', '--json', '--name', ringName('clifnl')], gstEnv);
  expect(await cli.exit(40000)).toBe(3);
  expect(cli.stderr).toContain('reason not-linked');
  expect(cli.stderr).toContain('\nzerobuffer filter: the sink pipeline ("queue ! videoconvert") sends the answers nowhere (not-linked): it must end in a sink element, ' +
    'which filter does not append: e.g. "videoconvert ! autovideosink", or fakesink to drop them\n');
  expect(JSON.parse(cli.stdout.find((l) => l.includes('"summary"'))!)).toMatchObject({ zerofilter: null });
}, 60000);

test.each([[1, '0'], [7, '1']])('zerobuffer filter --frames %i (COUNT_FILTER_RESERVE=%s): the script is handed exactly that many frames, the summary counts that many answers, the pipeline ends at EOS', async (n, reserve) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-clifn-'));
  try {
    const output = path.join(dir, 'out.gray');
    const cli = run(process.execPath, [bin, 'filter', 'videotestsrc pattern=ball ! video/x-raw,format=RGB,width=64,height=48',
      '--script', fixture('count-filter.mjs'), `filesink location=${output}`, '--frames', String(n), '--json',
      '--name', ringName('clifn')], { ...gstEnv, COUNT_FILTER_RESERVE: reserve });
    expect(await cli.exit(40000)).toBe(0);
    const calls = cli.stderr.split('\n').filter((l) => l.startsWith('count-filter: '));
    expect(calls).toEqual(Array.from({ length: n }, (_, i) => `count-filter: ${i + 1}`));
    const summary = JSON.parse(cli.stdout.find((l) => l.includes('"summary"'))!) as Record<string, unknown> & { drained: number };
    expect(summary).toMatchObject({ requests: n, responses: n, errors: 0, dropped: 0 });
    // the requests in flight after the N-th got the N-th answer again, so zerofilter reached EOS
    // (its counts are printed then) with every request answered, and the sink got only the script's answers
    const { drained } = summary;
    expect(drained).toBeGreaterThanOrEqual(0);
    expect(summary['zerofilter']).toMatchObject({ requests: n + drained, responses: n + drained, 'frames-dropped': 0 });
    const frameSize = 64 * 48;
    const out = fs.readFileSync(output);
    expect(out.length).toBe((n + drained) * frameSize);
    const nth = out.subarray((n - 1) * frameSize, n * frameSize);
    for (let i = n; i < n + drained; i++) expect(out.subarray(i * frameSize, (i + 1) * frameSize).equals(nth)).toBe(true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 60000);

/** The pid of the gst-launch-1.0 whose zerofilter uses `channel` (waits up to 10 s for it). */
async function filterPipelinePid(channel: string): Promise<number> {
  const deadline = Date.now() + 10000;
  for (;;) {
    for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      let words: string[];
      try {
        words = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      } catch {
        continue; // gone meanwhile
      }
      if (path.basename(words[0] ?? '') === 'gst-launch-1.0' && words.includes(`channel=${channel}`)) return Number(pid);
    }
    if (Date.now() > deadline) throw new Error(`no gst-launch-1.0 with channel=${channel}`);
    await sleep(50);
  }
}

test.each([
  ['stopped (SIGSTOP) with answers due, then resumed', 'stall'],
  ['killed (SIGKILL) mid-stream', 'kill'],
] as const)('zerobuffer filter: a pipeline %s gets one stderr line: its pid, why, what was dropped', async (_label, how) => {
  // depth 4 and a response ring of one answer: a stopped pipeline leaves answers without room
  const name = ringName('clifgone');
  const cli = run(process.execPath, [bin, 'filter', 'videotestsrc num-buffers=100000 ! video/x-raw,format=RGB,width=160,height=120',
    '--script', fixture('invert-filter.mjs'), 'fakesink', '--json', '--name', name,
    '--sink-property', 'depth=4', '--sink-property', 'payload-size=60000'], gstEnv);
  let pid = 0;
  try {
    pid = await filterPipelinePid(name);
    await cli.line(/"type":"stats".*"responses":[1-9]/, 10000);
    if (how === 'stall') {
      process.kill(pid, 'SIGSTOP');
      await cli.line(/"type":"clientGone"/, 15000); // the server's timeout: 5 s
      process.kill(pid, 'SIGCONT'); // zerofilter finds its responses ended: never an answer to another request
    } else {
      process.kill(pid, 'SIGKILL');
    }
    expect(await cli.exit(30000)).toBe(3);
  } finally {
    if (pid !== 0 && cli.proc.exitCode === null) process.kill(pid, 'SIGKILL');
  }
  const lines = cli.stderr.split('\n').filter((l) => l.includes('zerobuffer filter: client pid'));
  const events = cli.stdout.filter((l) => l.includes('"clientGone"')).map((l) => JSON.parse(l));
  const summary = JSON.parse(cli.stdout.find((l) => l.includes('"summary"'))!);
  expect(lines).toHaveLength(1);
  expect(events).toHaveLength(1);
  expect(summary.requests).toBe(summary.responses + summary.dropped);
  if (how === 'stall') {
    expect(events[0]).toMatchObject({ pid, reason: 'stalled', sequence: summary.responses + 1 });
    expect(events[0].message).toContain(`client ${pid} stalled: the answer to its request ${summary.responses + 1} found no room in ${name}_response`);
    expect(lines[0]).toBe(`zerobuffer filter: client pid ${pid} stopped reading its answers (one found no room in its response ring within the timeout): ` +
      `its ring is let go, it gets no further answer [stalled]; its request ${summary.responses + 1} and any later ones dropped (not answered)`);
    expect(summary.dropped).toBeGreaterThan(0);
    expect(cli.stderr).toMatch(/stopped answering/); // zerofilter's own error, once resumed
    // its counts come with its error (no EOS after it)
    expect(summary.zerofilter).toMatchObject({ responses: summary.responses });
  } else {
    expect(leftovers().filter((f) => f.includes(name))).toEqual([]); // the killed zerofilter's response ring went with the command
    expect(['readerGone', 'writerDied']).toContain(events[0].reason);
    expect(lines[0]).toMatch(new RegExp(`^zerobuffer filter: client pid ${pid} (went while an answer was due|died writing requests).* \\[${events[0].reason}\\]; ` +
      (events[0].reason === 'writerDied' ? 'none of its requests dropped$' : `its request ${events[0].sequence} and any later ones dropped \\(not answered\\)$`)));
  }
}, 90000);

test('zerobuffer filter stopped while a slow script answers: gst-launch is killed at the stop\'s deadline, and its response ring goes with the command, not with the next sweep', async () => {
  const name = ringName('clifslow');
  // (zerofilter's timeout past the stop's deadline: its error would come first, below)
  const cli = run(process.execPath, [bin, 'filter', 'videotestsrc is-live=true ! video/x-raw,format=RGB,width=160,height=120,framerate=30/1',
    '--script', fixture('slow-filter.mjs'), 'fakesink', '--json', '--interval', '0.2', '--name', name,
    '--sink-property', 'timeout=20000'], gstEnv);
  await cli.line(/"type":"stats".*"requests":[1-9]/, 20000);
  cli.proc.kill('SIGINT');
  expect(await cli.exit(30000)).toBe(0);
  expect(cli.stderr).toContain('zerobuffer filter: gst-launch did not stop within 5 s of its EOS: zerobuffer killed it with SIGKILL\n');
  expect(leftovers().filter((f) => f.includes(name))).toEqual([]);
}, 60000);

test('zerobuffer filter stopped while a script slower than zerofilter\'s timeout answers: zerofilter\'s error is told, status 3, gst-launch ended soon after it (a hung one killed 0.5 s after it, not 5 s after the EOS)', async () => {
  // (before: the error gst-launch printed was dropped, the hung gst-launch was SIGKILLed 5 s after its EOS, status 0)
  const name = ringName('clifslowerr');
  const cli = run(process.execPath, [bin, 'filter', 'videotestsrc is-live=true ! video/x-raw,format=RGB,width=160,height=120,framerate=30/1',
    '--script', fixture('slow-filter.mjs'), 'fakesink', '--json', '--interval', '0.2', '--name', name, '--sink-property', 'timeout=3000'], gstEnv);
  await cli.line(/"type":"stats".*"requests":[1-9]/, 20000);
  await sleep(1500); // the error comes 1.5 s into the stop, the stop's SIGKILL would 5 s into it
  const stopped = Date.now();
  cli.proc.kill('SIGINT');
  expect(await cli.exit(30000)).toBe(3);
  expect(Date.now() - stopped).toBeLessThan(4500); // the error 1.5 s into the stop, then the server's 1 s to see the client gone
  expect(cli.stderr).toMatch(/failed \(ETIMEDOUT, transient\).*zerofilter said:\nThe duplex server did not answer request 1 within 3000 ms/);
  expect(cli.stderr).not.toContain('did not stop within');
  expect(leftovers().filter((f) => f.includes(name))).toEqual([]);
}, 60000);

const SMALL = 'videotestsrc num-buffers=20 pattern=ball ! video/x-raw,format=RGB,width=64,height=48,framerate=30/1';

test('zerobuffer filter --on-error stop: a script that fails on the first request ends the command at once, gst-launch not killed', async () => {
  // (before: in most runs the EOS zerobuffer sent to the still prerolling pipeline hung gst-launch until it was
  // SIGKILLed 5 s later; three runs, so that the old code fails here all but rarely)
  for (let i = 0; i < 3; i++) {
    const name = ringName('clifstop1');
    const cli = run(process.execPath, [bin, 'filter', SMALL, '--script', fixture('failing-filter.mjs'), 'fakesink', '--on-error', 'stop',
      '--json', '--name', name], gstEnv);
    await cli.line(/"handlerError"/, 20000);
    const failed = Date.now();
    expect(await cli.exit(20000)).toBe(3);
    expect(Date.now() - failed).toBeLessThan(3000);
    expect(cli.stderr).toContain('zerobuffer filter: the script failed: the duplex handler failed on request 1: undefinedTransform is not defined');
    expect(cli.stderr).not.toContain('did not stop within');
    expect(cli.stderr).not.toContain('SIGKILL');
    expect(leftovers().filter((f) => f.includes(name))).toEqual([]);
  }
}, 90000);

test('zerobuffer filter --on-error stop: a pipeline still prerolling a second after the script failed is killed at once, not sent an EOS it cannot take', async () => {
  // zerofilter passes frames once the server is gone (its on-error=pass), but the valve's branch never
  // prerolls: the pipeline neither fails nor plays.
  // (before: the EOS hung gst-launch -e until zerobuffer SIGKILLed it 5 s later, told as the stop's deadline)
  const name = ringName('clifstop2');
  const cli = run(process.execPath, [bin, 'filter', SMALL, '--script', fixture('failing-filter.mjs'), 'fakesink  videotestsrc ! valve drop=true ! fakesink',
    '--on-error', 'stop', '--sink-property', 'on-error=pass', '--json', '--name', name], gstEnv);
  await cli.line(/"handlerError"/, 20000);
  const failed = Date.now();
  expect(await cli.exit(20000)).toBe(3);
  // the kill comes a second after the failure; the EOS's stop took over 6 s
  expect(Date.now() - failed).toBeLessThan(4500);
  expect(cli.stderr).toBe('zerobuffer filter: the script failed: the duplex handler failed on request 1: undefinedTransform is not defined\n');
  expect(processesWith(name)).toEqual([]);
  expect(leftovers().filter((f) => f.includes(name))).toEqual([]);
}, 60000);

test('zerobuffer filter with output caps: a script that fails stops it (the default there), no frame passes under caps it does not have; --on-error pass is refused', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-clifgray-'));
  try {
    const input = path.join(dir, 'in.raw');
    const output = path.join(dir, 'out.gray');
    const ref = run('gst-launch-1.0', ['-q', ...SMALL.split(' '), '!', 'filesink', `location=${input}`], gstEnv);
    expect(await ref.exit(20000)).toBe(0);
    const cli = run(process.execPath, [bin, 'filter', SMALL, '--script', fixture('gray-failing-filter.mjs'), `filesink location=${output}`,
      '--json', '--name', ringName('clifgray')], gstEnv);
    expect(await cli.exit(40000)).toBe(3);
    // (before: the frame passed in place under GRAY8 caps, zerofilter failed with EPROTO, and a line said the client went)
    expect(cli.stderr).toContain('zerobuffer filter: the script failed: the duplex handler failed on request 5: bad frame 5');
    expect(cli.stderr).not.toMatch(/EPROTO|client pid/);
    expect(JSON.parse(cli.stdout.find((l) => l.includes('"summary"'))!)).toMatchObject({ responses: 4, errors: 1, passed: 0 });
    // what reached the sink: the script's GRAY8 answers only, each the red channel of its frame
    const frame = 64 * 48;
    const rgb = fs.readFileSync(input);
    const gray = fs.readFileSync(output);
    expect(gray.length % frame).toBe(0);
    expect(gray.length / frame).toBeLessThanOrEqual(4);
    for (let i = 0; i < gray.length; i++) expect(gray[i]).toBe(rgb[i * 3]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  for (const [extra, from] of [[[], 'the outputCaps'], [['--output-caps', 'video/x-raw,format=GRAY8,width=64,height=48'], '--output-caps']] as const) {
    const script = fixture(extra.length === 0 ? 'gray-failing-filter.mjs' : 'echo-filter.mjs');
    const pass = run(process.execPath, [bin, 'filter', SMALL, '--script', script, 'fakesink', '--on-error', 'pass', ...extra,
      '--name', ringName('clifgray')], gstEnv);
    expect(await pass.exit(20000)).toBe(2);
    expect(pass.stderr).toContain('zerobuffer filter: --on-error pass answers a frame the script failed on with the frame itself, which is ' +
      `not of the output caps (${from}`);
    expect(pass.stderr).toContain('leave --on-error out (stop is the default with output caps) or give --on-error stop');
  }
}, 90000);

test('zerobuffer filter: a pipeline that fails of its own with answers due: its stderr line says it went as it failed, and its error follows', async () => {
  // GRAY8 answers into a sink that takes RGB only: zerofilter fails with not-negotiated at its first answer,
  // while the script (200 ms an answer) makes the next one
  const cli = run(process.execPath, [bin, 'filter', SMALL, '--script', fixture('count-filter.mjs'), 'video/x-raw,format=RGB ! fakesink',
    '--json', '--name', ringName('clifneg')], { ...gstEnv, COUNT_FILTER_DELAY_MS: '200' });
  expect(await cli.exit(40000)).toBe(3);
  const events = cli.stdout.filter((l) => l.includes('"clientGone"')).map((l) => JSON.parse(l));
  expect(events).toHaveLength(1);
  const lines = cli.stderr.split('\n');
  const gone = lines.findIndex((l) => l.startsWith('zerobuffer filter: client pid'));
  // (before: "went while an answer was due (its response ring's reader closed or died)", as if it had left on its own)
  expect(lines[gone]).toBe(`zerobuffer filter: client pid ${events[0].pid} went as its pipeline failed (the error below) [${events[0].reason}]; ` +
    `its request ${events[0].sequence} and any later ones dropped (not answered)`);
  expect(lines.findIndex((l) => /^zerobuffer filter: pipeline into \S+ failed/.test(l))).toBeGreaterThan(gone);
  expect(cli.stderr).toContain('not-negotiated');
}, 60000);

test('zerobuffer filter: an answer that can never fit zerofilter\'s response ring is the server\'s failure, not the script\'s, and names --sink-property payload-size', async () => {
  const cli = run(process.execPath, [bin, 'filter', SMALL, '--script', fixture('echo-filter.mjs'), 'fakesink', '--no-in-place',
    '--sink-property', 'payload-size=1000', '--json', '--name', ringName('clifresp')], gstEnv);
  expect(await cli.exit(40000)).toBe(3);
  expect(cli.stderr).not.toContain('the script failed');
  expect(cli.stderr).toMatch(/zerobuffer filter: the duplex server could not answer \(the script did not fail\): a frame of 9216 bytes can never fit ring "[^"]+_response"/);
  expect(cli.stderr).toContain("zerobuffer filter: zerofilter's response ring holds the answers: --sink-property payload-size=1000 sized it; " +
    'give --sink-property payload-size=N with N of at least the size named above');
}, 60000);

test('zerobuffer filter: frames that can never fit the request ring: zerofilter\'s message, then that --payload-size sizes that ring', async () => {
  const name = ringName('clifreq');
  const cli = run(process.execPath, [bin, 'filter', SMALL, '--script', fixture('echo-filter.mjs'), 'fakesink', '--payload-size', '4096',
    '--json', '--name', name], gstEnv);
  expect(await cli.exit(40000)).toBe(3);
  expect(cli.stderr).toMatch(new RegExp(`zerofilter said:\nCould not send a request: A frame of 9264 bytes can never fit ring ${name}_request `));
  expect(cli.stderr).toMatch(/EMSGSIZE/);
  expect(cli.stderr).toContain(`zerobuffer filter: ${name}_request, the request ring, is this command's: 4096 payload bytes (--payload-size); ` +
    'give --payload-size N with N of at least the size zerofilter names');
  // (its server's reader sees zerofilter leave without a request: not the server's failure, nor the response ring's)
  expect(cli.stderr).not.toContain('could not answer');
  expect(cli.stderr).not.toContain('response ring');
}, 60000);

test('zerobuffer filter: frames that can never fit the request ring under --sink-property on-error=pass: zerofilter\'s warning, the stream passed through, status 0, not the server\'s failure', async () => {
  const name = ringName('clifreqpass');
  const cli = run(process.execPath, [bin, 'filter', SMALL, '--script', fixture('echo-filter.mjs'), 'fakesink', '--payload-size', '4096',
    '--sink-property', 'on-error=pass', '--json', '--name', name], gstEnv);
  expect([await cli.exit(40000), cli.stderr]).toEqual([0, '']);
  const lines = cli.stdout.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(lines.filter((l) => l['type'] === 'warning')).toEqual([expect.objectContaining({
    message: expect.stringMatching(new RegExp(`^Could not send a request: A frame of 9264 bytes can never fit ring ${name}_request .*; ` +
      'passing buffers through unprocessed$')),
  })]);
  expect(lines.find((l) => l['type'] === 'summary')).toMatchObject({ requests: 0, responses: 0, zerofilter: { 'frames-passed': 20 } });
}, 60000);

test('zerobuffer filter: frames that can never fit a request ring of the default size (the source ends with caps without a size): the hint says the default sized it', async () => {
  // (before: "sized for the source's caps", which gave no size)
  const name = ringName('clifreqdef');
  const cli = run(process.execPath, [bin, 'filter', 'videotestsrc num-buffers=2 ! video/x-raw,width=3840,height=2160 ! videoconvert ! video/x-raw,format=RGB',
    '--script', fixture('echo-filter.mjs'), 'fakesink', '--json', '--name', name], gstEnv);
  expect(await cli.exit(40000)).toBe(3);
  expect(cli.stderr).toMatch(/EMSGSIZE/);
  expect(cli.stderr).toMatch(new RegExp(`zerobuffer filter: ${name}_request, the request ring, is this command's: \\d+ payload bytes \\(the default size, ` +
    '3 frames of 1080p RGB or more: the source does not end with caps that give the frame size\\); give --payload-size N'));
}, 60000);

test('zerobuffer filter: caps that grow beyond the response ring zerofilter sized for its first caps: its EMSGSIZE, then that its payload-size sizes that ring', async () => {
  // (before: the request ring's hint, --payload-size, which this command had made large enough; in place, the
  // script's reserve fails naming the response ring instead, and zerofilter passes that request through)
  const name = ringName('clifgrow');
  const rgb = (w: number, h: number) => `videotestsrc num-buffers=2 ! video/x-raw,format=RGB,width=${w},height=${h},framerate=30/1 ! c.`;
  const cli = run(process.execPath, [bin, 'filter', `${rgb(160, 120)} ${rgb(1920, 1080)} concat name=c`, '--script', fixture('invert-filter.mjs'),
    'fakesink', '--payload-size', '20000000', '--sink-property', 'in-place=false', '--json', '--name', name], gstEnv);
  expect(await cli.exit(40000)).toBe(3);
  expect(cli.stderr).toMatch(/zerofilter said:\nThe response ring cannot hold an answer to the new caps' frames: RGB 1920x1080 frames of 6220800 bytes need payload-size=6220864 or more/);
  expect(cli.stderr).toContain("zerobuffer filter: zerofilter's response ring holds the answers: zerofilter sized it for its input caps (and depth); " +
    'give --sink-property payload-size=N with N of at least the size named above');
  expect(cli.stderr).not.toContain('the request ring, is this command');
}, 60000);

test('zerobuffer filter: a --sink-property value gst-launch refuses with a warning only (depth=0, out of range) stops it, as a value it cannot parse does', async () => {
  const cli = run(process.execPath, [bin, 'filter', SMALL, '--script', fixture('echo-filter.mjs'), 'fakesink', '--sink-property', 'depth=0',
    '--json', '--name', ringName('clifdepth')], gstEnv);
  expect(await cli.exit(40000)).toBe(3); // (before: 0, run with depth's default)
  expect(cli.stderr).toMatch(/zerobuffer filter: gst-launch rejected the pipeline for \S+: gst-launch refused the value "0" of property 'depth' and would have run with its default instead/);
  expect(cli.stderr).toContain("WARNING: value \"0\" of type 'guint' is invalid or out of range for property 'depth' of type 'guint'");
  // killed before a request of its was read or its response ring found, it was no client (before, at times: "client pid 0 died writing requests")
  expect(cli.stderr).not.toContain('client pid 0 ');
  const banana = run(process.execPath, [bin, 'filter', SMALL, '--script', fixture('echo-filter.mjs'), 'fakesink', '--sink-property', 'depth=banana',
    '--json', '--name', ringName('clifdepth')], gstEnv);
  expect(await banana.exit(40000)).toBe(3);
  expect(banana.stderr).toMatch(/gst-launch rejected the pipeline/);
  // a number beyond guint's range is gst-launch's to refuse too (before: "unexpected error", a TypeError of the ring sizing, status 1)
  const huge = run(process.execPath, [bin, 'filter', SMALL, '--script', fixture('echo-filter.mjs'), 'fakesink', '--sink-property', 'depth=99999999999999999999',
    '--json', '--name', ringName('clifdepth')], gstEnv);
  expect(await huge.exit(40000)).toBe(3);
  expect(huge.stderr).toMatch(/gst-launch rejected the pipeline/);
  expect(huge.stderr).not.toContain('unexpected error');
}, 60000);

/**
 * `zerobuffer filter` of a live source through the real gst-launch-1.0 run by a bash script of that name:
 * SCRIPT, given `real` (the real one's path), `ring` (zerofilter's response ring's file) and
 * `until_client_found` (a loop that ends once that ring is mapped by two processes, gst-launch and the
 * server: the client found). Resolves with the CLI's exit status, its clientGone events and stderr lines.
 */
async function filterThroughScript(tag: string, script: string, args: string[]): Promise<{ status: number | null; events: { pid: number; reason: string }[]; lines: string[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `zb-${tag}-`));
  try {
    const real = execFileSync('sh', ['-c', 'command -v gst-launch-1.0']).toString().trim();
    fs.writeFileSync(path.join(dir, 'gst-launch-1.0'), '#!/bin/bash\n' + `real='${real}'\n` +
      'for a in "$@"; do case $a in channel=*) ring=/dev/shm/${a#channel=}_response;; esac; done\n' +
      'until_client_found() { for i in $(seq 1000); do [ "$(grep -l -F "$ring" /proc/[0-9]*/maps 2>/dev/null | wc -l)" -ge 2 ] && break; sleep 0.01; done; }\n' +
      script, { mode: 0o755 });
    const cli = run(process.execPath, [bin, 'filter', 'videotestsrc is-live=true ! video/x-raw,format=RGB,width=64,height=48',
      '--script', fixture('invert-filter.mjs'), 'fakesink', ...args, '--json', '--name', ringName(tag)],
    { ...gstEnv, PATH: `${dir}:${process.env['PATH']}` });
    const status = await cli.exit(40000);
    const events = cli.stdout.filter((l) => l.includes('"clientGone"')).map((l) => JSON.parse(l) as { pid: number; reason: string });
    return { status, events, lines: cli.stderr.split('\n') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('zerobuffer filter: a pipeline zerobuffer killed for a refused value once its client was found: the line says it went as its pipeline failed, then the refusal', async () => {
  // gst-launch's stderr (GLib's warning of the refused value) held back until the client is found: zerobuffer
  // kills it within 1 s of playing (a live source)
  const { status, events, lines } = await filterThroughScript('clifkill',
    'exec 3>&2\n"$real" "$@" 2> >(until_client_found; exec cat >&3)\n', ['--sink-property', 'depth=0']);
  expect(status).toBe(3);
  expect(events).toHaveLength(1);
  expect(events[0]!.pid).toBeGreaterThan(0);
  const gone = lines.findIndex((l) => l.startsWith('zerobuffer filter: client pid'));
  // (before: "died writing requests" or "went while an answer was due", as if it had gone on its own)
  expect(lines[gone]).toMatch(new RegExp(`^zerobuffer filter: client pid ${events[0]!.pid} went as its pipeline failed \\(the error below\\) \\[${events[0]!.reason}\\]; `));
  const refused = lines.findIndex((l) => l.includes('gst-launch refused the value "0" of property \'depth\''));
  expect(refused).toBeGreaterThan(gone);
}, 60000);

test('zerobuffer filter: a pipeline zerobuffer killed as hung after another element\'s error once its client was found: the line says zerobuffer killed it and why, then the error', async () => {
  // once the client is found, the script prints another element's error as gst-launch does and waits, as a
  // gst-launch whose quit was lost; zerobuffer kills the group 500 ms later
  const { status, events, lines } = await filterThroughScript('clifhung', '"$real" "$@" &\nuntil_client_found\n' +
    'echo "ERROR: from element /GstPipeline:pipeline0/GstVideoTestSrc:videotestsrc0: Internal data stream error." >&2\nwait\n', []);
  expect(status).toBe(3);
  expect(events).toHaveLength(1);
  expect(events[0]!.pid).toBeGreaterThan(0);
  const gone = lines.findIndex((l) => l.startsWith('zerobuffer filter: client pid'));
  // (before: "died writing requests" or "went while an answer was due", as if it had gone on its own)
  expect(lines[gone]).toMatch(new RegExp(`^zerobuffer filter: client pid ${events[0]!.pid} went as zerobuffer killed its pipeline with SIGKILL, ` +
    `hung 500 ms after an error \\(below\\) \\[${events[0]!.reason}\\]; `));
  expect(lines.slice(gone + 1)).toEqual(expect.arrayContaining([
    'gst-launch hung after an error and zerobuffer killed it with SIGKILL:',
    'ERROR: from element /GstPipeline:pipeline0/GstVideoTestSrc:videotestsrc0: Internal data stream error.',
  ]));
}, 60000);

test('zerobuffer filter: usage errors', async () => {
  const cli = run(process.execPath, [bin, 'filter', SRC, 'fakesink'], gstEnv);
  expect(await cli.exit(20000)).toBe(2);
  expect(cli.stderr).toMatch(/--script/);
  const bad = run(process.execPath, [bin, 'filter', SRC, '--script', '/nonexistent.mjs', 'fakesink'], gstEnv);
  expect(await bad.exit(20000)).toBe(2);
  expect(bad.stderr).toMatch(/cannot load/);
  const long = run(process.execPath, [bin, 'filter', SRC, '--script', '/nonexistent.mjs', '--name', 'a'.repeat(240), 'fakesink'], gstEnv);
  expect(await long.exit(20000)).toBe(2);
  expect(long.stderr).toContain(`--name: channel name "${'a'.repeat(64)}..." is too long: at most 236 bytes, so that "NAME_response" fits a ring name`);
  // output caps zerofilter would refuse (EMETADATA) once the pipeline runs are refused before it starts
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-filter-caps-'));
  try {
    const script = path.join(dir, 'unsized.mjs');
    fs.writeFileSync(script, "export const outputCaps = 'video/x-raw,format=GRAY8';\nexport default (frame) => frame.data.slice(0, 1);\n");
    const unsized = run(process.execPath, [bin, 'filter', SRC, '--script', script, 'fakesink'], gstEnv);
    expect(await unsized.exit(20000)).toBe(2);
    expect(unsized.stderr).toContain(`cannot load ${script}: ${script}: its outputCaps export: the raw caps ` +
      '"video/x-raw,format=GRAY8" lack width, height, which GStreamer needs to describe their frames');
    // sizes are judged by the command (the argument parsing does not load the addon)
    const zero = run(process.execPath, [bin, 'filter', SRC, '--script', fixture('invert-filter.mjs'), '--output-caps', 'video/x-raw,format=GRAY8,width=0,height=2', 'fakesink'], gstEnv);
    expect(await zero.exit(20000)).toBe(2);
    expect(zero.stderr).toMatch(/^zerobuffer filter: --output-caps: the raw caps "video\/x-raw,format=GRAY8,width=0,height=2" describe no frame: /m);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const twice = run(process.execPath, [bin, 'filter', `${SRC} ! zerofilter channel=x`, '--script',
    fixture('invert-filter.mjs'), 'fakesink'], gstEnv);
  expect(await twice.exit(20000)).toBe(2);
  expect(twice.stderr).toMatch(/the source already ends in zerofilter, but a filter pipeline gets "! zerofilter channel=<name>" added/);
  // (before: run's reason, "zerobuffer run and watch add "! zerosink ..." themselves", and its --sink-property, here zerofilter's)
  const intoRing = run(process.execPath, [bin, 'filter', `${SRC} ! zerosink buffer-name=x`, '--script',
    fixture('invert-filter.mjs'), 'fakesink'], gstEnv);
  expect(await intoRing.exit(20000)).toBe(2);
  expect(intoRing.stderr).toMatch(/^zerobuffer filter: the source ends in zerosink, which has no output for the "! zerofilter channel=<name>" a filter pipeline gets added: end it before zerosink/m);
}, 60000);

test('zerobuffer filter: a script that does not load is told where: its syntax error\'s line, or the frames of its code that threw', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-filter-load-'));
  const load = async (file: string, source: string): Promise<string> => {
    fs.writeFileSync(path.join(dir, file), source);
    const cli = run(process.execPath, [bin, 'filter', SRC, '--script', path.join(dir, file), 'fakesink'], gstEnv);
    expect(await cli.exit(20000)).toBe(2);
    return cli.stderr;
  };
  try {
    // Node's import says "Unexpected token '}'" and no more
    expect(await load('syn3.mjs', 'export default (f) => {\n  return f\n}\n}\n'))
      .toBe(`zerobuffer filter: cannot load ${dir}/syn3.mjs: Unexpected token '}'\n${dir}/syn3.mjs:4\n}\n^\n`);
    // a .js file that names no module type (no package.json): `node --check FILE` finds nothing there
    expect(await load('syn.js', 'export default (f) => f +\n')).toBe(`zerobuffer filter: cannot load ${dir}/syn.js: Unexpected end of input\n${dir}/syn.js:2\n`);
    const top = await load('top.mjs', 'function init() {\n  throw new Error("missing model file")\n}\ninit()\nexport default (f) => f\n');
    expect(top).toMatch(new RegExp(`^zerobuffer filter: cannot load ${dir}/top.mjs: missing model file\n    at init \\(file://${dir}/top.mjs:2:9\\)\n    at file://${dir}/top.mjs:4:1\n$`));
    // zerobuffer's own refusal: its message, no frames of zerobuffer's code
    expect(await load('none.mjs', 'export const x = 1\n')).toBe(`zerobuffer filter: cannot load ${dir}/none.mjs: ${dir}/none.mjs must export a default function (frame, reply) => bytes | frame | void\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 60000);

test('zerobuffer filter: a script whose imports do not load is told where: the syntax error\'s file and line in the module it imports', async () => {
  // (its real path: Node names the modules the script imports by theirs)
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'zb-filter-imports-')));
  fs.mkdirSync(path.join(dir, 'lib'));
  const write = (file: string, source: string): void => fs.writeFileSync(path.join(dir, file), source);
  const load = async (file: string, source?: string): Promise<string> => {
    if (source !== undefined) write(file, source);
    const cli = run(process.execPath, [bin, 'filter', SRC, '--script', path.join(dir, file), 'fakesink'], gstEnv);
    expect([await cli.exit(20000), cli.stderr]).toEqual([2, cli.stderr]);
    return cli.stderr;
  };
  try {
    write('lib/broken.mjs', 'export default (f) => {\n  return f\n}\n}\n');
    write('lib/end.js', 'export default (f) => f +\n');
    write('lib/good.mjs', `import fs from 'node:fs';\nfs.appendFileSync(${JSON.stringify(path.join(dir, 'ran'))}, 'good ');\nexport default (f) => f;\n`);
    write('lib/side.cjs', `require('node:fs').appendFileSync(${JSON.stringify(path.join(dir, 'ran'))}, 'side ');\n`);
    write('lib/throws.cjs', 'module.exports = (f) => f;\nthrow new Error("no model file")\n');
    // (before: "Unexpected token '}'" and no more: Node's import of an ES module names no place)
    expect(await load('imports-broken.mjs', "import './lib/side.cjs';\nimport g from './lib/good.mjs';\nimport b from './lib/broken.mjs';\nexport default (f) => b(g(f));\n"))
      .toBe(`zerobuffer filter: cannot load ${dir}/imports-broken.mjs: Unexpected token '}'\n${dir}/lib/broken.mjs:4\n}\n^\n`);
    // The script by a directory that is a symbolic link: the module by that name too (before: by its real path)
    fs.symlinkSync(dir, path.join(dir, 'via'));
    expect(await load('via/imports-broken.mjs'))
      .toBe(`zerobuffer filter: cannot load ${dir}/via/imports-broken.mjs: Unexpected token '}'\n${dir}/via/lib/broken.mjs:4\n}\n^\n`);
    expect(await load('imports-end.mjs', "export { default } from './lib/end.js';\n"))
      .toBe(`zerobuffer filter: cannot load ${dir}/imports-end.mjs: Unexpected end of input\n${dir}/lib/end.js:2\n`);
    // A name the module does not export: the import's line in the script (before: that and the stack of zerobuffer's own code)
    expect(await load('imports-missing.mjs', "import g from './lib/good.mjs';\nimport { nope } from './lib/good.mjs';\nexport default g;\n"))
      .toBe(`zerobuffer filter: cannot load ${dir}/imports-missing.mjs: The requested module './lib/good.mjs' does not provide an export named 'nope'\n` +
        `${dir}/imports-missing.mjs:2\nimport { nope } from './lib/good.mjs';\n         ^^^^\n`);
    // None of the modules ran, there or in the look for the place (a CommonJS one neither: Node parses the whole graph
    // before it runs any of it)
    expect(fs.existsSync(path.join(dir, 'ran'))).toBe(false);
    // A CommonJS module that throws as it loads: its frame (before: the same line, then Node's own report of the error,
    // unhandled, status 1)
    expect(await load('imports-throwing.mjs', "export { default } from './lib/throws.cjs';\n"))
      .toBe(`zerobuffer filter: cannot load ${dir}/imports-throwing.mjs: no model file\n    at Object.<anonymous> (${dir}/lib/throws.cjs:2:7)\n`);
    // A promise the script rejected, unhandled, before it threw as it loaded: told too, as one rejected as it runs
    // (before: its load error alone)
    const rejecting = await load('rejecting.mjs', "Promise.reject(new Error('real one'));\nthrow new Error('load fails sync');\n");
    expect(rejecting).toMatch(new RegExp(`^zerobuffer filter: cannot load ${dir}/rejecting.mjs: load fails sync\n    at file://${dir}/rejecting.mjs:2:7\n` +
      'zerobuffer filter: the script failed outside a request \\(an uncaught exception, from a timer or a promise nothing awaits\\): ' +
      `Error: real one\n    at file://${dir}/rejecting.mjs:1:16\n`));
    // One imported with import() as the script runs: its message alone (no link reaches it); the script ran once
    expect(await load('imports-later.mjs', "import g from './lib/good.mjs';\nconst b = await import('./lib/broken.mjs');\nexport default (f) => b.default(g(f));\n"))
      .toBe(`zerobuffer filter: cannot load ${dir}/imports-later.mjs: Unexpected token '}'\n`);
    expect(fs.readFileSync(path.join(dir, 'ran'), 'utf8')).toBe('good ');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 60000);

test('zerobuffer filter: a script whose imports do not load is told where with preloads in NODE_OPTIONS: after a line one prints; ' +
  'the message alone, in time, when one keeps the look for the place from ending', async () => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'zb-filter-preload-')));
  const write = (file: string, source: string): string => {
    fs.writeFileSync(path.join(dir, file), source);
    return path.join(dir, file);
  };
  const load = async (nodeOptions: string): Promise<string> => {
    const cli = run(process.execPath, [bin, 'filter', SRC, '--script', path.join(dir, 'imports-broken.mjs'), 'fakesink'],
      { ...gstEnv, NODE_OPTIONS: nodeOptions });
    // (before, with the keeping preload: no end at all)
    expect([await cli.exit(20000), cli.stderr]).toEqual([2, cli.stderr]);
    return cli.stderr;
  };
  try {
    write('broken.mjs', 'export default (f) => {\n  return f\n}\n}\n');
    write('imports-broken.mjs', "export { default } from './broken.mjs';\n");
    // (in the command and in the look for the place alike)
    const says = write('says.cjs', "process.stderr.write('a preload says hello\\n');\n");
    // (only in the look for the place, a node --eval: it hears the error that would end it, ignores SIGTERM and stays)
    const keeps = write('keeps.cjs', "if (process.execArgv.includes('--eval')) {\n  process.on('uncaughtException', () => {});\n" +
      "  process.on('SIGTERM', () => {});\n  setInterval(() => {}, 1000);\n}\n");
    // (before: the message alone, the place not found after the child's first line)
    expect(await load(`--require ${says}`))
      .toBe(`a preload says hello\nzerobuffer filter: cannot load ${dir}/imports-broken.mjs: Unexpected token '}'\n${dir}/broken.mjs:4\n}\n^\n`);
    expect(await load(`--require ${keeps}`)).toBe(`zerobuffer filter: cannot load ${dir}/imports-broken.mjs: Unexpected token '}'\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 60000);

test('zerobuffer watch: a start-duplex line gets "<pipeline> ! zerofilter channel=NAME ! <filter-sink>"', async () => {
  const name = ringName('wdx');
  const cli = run(process.execPath, [bin, 'watch', '--pipeline', SRC, '--filter-sink', 'fakesink', '--',
    duplexServerPath, name, '--mode', 'invert', '--announce', '1'], gstEnv);
  expect(await cli.exit(40000)).toBe(0);
  expect(cli.stdout.join('\n')).toMatch(new RegExp(`^ready ${name}$`, 'm'));
  expect(cli.stdout.join('\n')).toMatch(/^served 25 fnv1a=/m);
  expect(cli.stdout.join('\n')).not.toMatch(/start-duplex/); // protocol lines are not passed through
  expect(cli.stderr).toContain(`zerobuffer watch: ring ${name}: 25 frames written, 0 restarts, last error: none`); // zerofilter's requests
}, 60000);

test('zerobuffer watch --filter-sink ending in no sink element (videoconvert): a permanent failure (status 3, no restart), and a line, once, saying the answers go nowhere and what to end it with, as filter says', async () => {
  // (before: "died (gst-launch exited with status 1: Internal data stream error.); restart 1", or zerofilter's "reason
  // not-linked" when it failed while stopping, nothing naming --filter-sink; which of the two, and the status, 3 or 0,
  // depended on whether the server, whose response ring went, exited before the pipeline was restarted)
  const name = ringName('wdxnl');
  const cli = run(process.execPath, [bin, 'watch', '--pipeline', SRC, '--filter-sink', 'queue ! videoconvert', '--',
    duplexServerPath, name, '--mode', 'invert', '--announce', '1'], gstEnv);
  try {
    expect([await cli.exit(40000), cli.stderr]).toEqual([3, cli.stderr]);
    expect(cli.stderr).toContain(`zerobuffer watch: pipeline into ${name} failed for good (EPIPELINE, permanent); gst-launch said:\n`);
    expect(cli.stderr).toMatch(new RegExp(`zerobuffer watch: ring ${name}: [^\n]*, 0 restarts, last error: EPIPELINE `));
    const hint = 'zerobuffer watch: the --filter-sink pipeline ("queue ! videoconvert") sends the answers nowhere (not-linked): ' +
      'it must end in a sink element, which watch does not append: e.g. "videoconvert ! autovideosink", or fakesink to drop them\n';
    expect(cli.stderr.split(hint)).toHaveLength(2);
    // the server, stopped by watch's SIGINT as the pipeline failed (or gone by itself first, its response ring closed:
    // the next test makes that order certain), removed its ring and lock file (before: left them)
    expect(cli.stderr).toMatch(/^zerobuffer watch: (stopped \S+|\S+ had exited by itself \(status \d+\))$/m);
    expect(serverLeftovers(name)).toEqual([[], [], false]);
  } finally {
    removeServerLeftovers(name);
  }
}, 60000);

test('zerobuffer watch --filter-sink ending in no sink element whose server exits before gst-launch does: still the failure that ends the watch, and the server said to have exited by itself, with its status', async () => {
  // The server exits as the failing gst-launch closes its response ring, and the watch stops the pipeline at that exit:
  // after gst-launch's error, before its exit. (before: taken for an error during that stop, told as it came, no
  // "stopped" line; the check above failed so whenever the server's exit came first; then "stopped", as though watch
  // had stopped the server)
  // (first on the PATH: gst-launch exits a second after its error, its rings closed, deaf to the SIGINT)
  const dir = slowExitGstLaunchDir();
  const name = ringName('wdxlate');
  const cli = run(process.execPath, [bin, 'watch', '--pipeline', SRC, '--filter-sink', 'queue ! videoconvert', '--',
    duplexServerPath, name, '--mode', 'invert', '--announce', '1'], { ...gstEnv, PATH: `${dir}:${process.env['PATH']}` });
  try {
    expect([await cli.exit(40000), cli.stderr]).toEqual([3, cli.stderr]);
    expect(cli.stderr).toContain(`zerobuffer watch: pipeline into ${name} failed for good (EPIPELINE, permanent); gst-launch said:\n`);
    expect(cli.stderr).toMatch(/^zerobuffer watch: \S*zb-duplex-server had exited by itself \(status \d+\)$/m);
    expect(cli.stderr).not.toContain('zerobuffer watch: stopped ');
  } finally {
    removeServerLeftovers(name);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 60000);

test('zerobuffer watch --filter-sink "queue" with a source that ends at once: the queue\'s own not-linked (at EOS, before zerofilter had one) is permanent too: status 3, no restart', async () => {
  // (before: "died (gst-launch exited with status 1: Internal data stream error.); restart 1 in 250 ms", status 0)
  const name = ringName('wdxnlq');
  const one = SRC.replace('num-buffers=25', 'num-buffers=1');
  const cli = run(process.execPath, [bin, 'watch', '--pipeline', one, '--filter-sink', 'queue', '--',
    duplexServerPath, name, '--mode', 'invert', '--announce', '1'], gstEnv);
  try {
    expect([await cli.exit(40000), cli.stderr]).toEqual([3, cli.stderr]);
    expect(cli.stderr).toContain(`zerobuffer watch: pipeline into ${name} failed for good (EPIPELINE, permanent); gst-launch said:\n`);
    expect(cli.stderr).toMatch(/^ERROR: from element \/GstPipeline:pipeline0\/Gst(Queue:queue0|ZeroFilter:zerofilter): Internal data stream error\.$/m);
    expect(cli.stderr).not.toContain('restart 1');
    // gst-launch exits 1 by itself, or, when the server's exit (its client gone) brings the watch's stop first, dies
    // of that SIGINT in its teardown (its handler is gone by then): a race of the two processes (once in the CI)
    expect(cli.stderr).toMatch(new RegExp(`zerobuffer watch: ring ${name}: [^\n]*, 0 restarts, last error: EPIPELINE \\(permanent: gst-launch (exited with status 1|was killed by SIGINT)\\)\n`));
    expect(cli.stderr).toContain('zerobuffer watch: the --filter-sink pipeline ("queue") sends the answers nowhere (not-linked)');
  } finally {
    removeServerLeftovers(name);
  }
}, 60000);

test('zerobuffer watch --filter-sink whose element named with a space ("my q") has the not-linked: permanent too, found by its whole path: status 3, no restart, the hint', async () => {
  // (before: its path, /GstPipeline:pipeline0/GstQueue:my q, was read up to the space: not the sink pipeline's element,
  // so "died ...; restart 1", status 0)
  const name = ringName('wdxnlsp');
  const one = SRC.replace('num-buffers=25', 'num-buffers=1');
  // (the queue holds the one answer below its threshold until EOS, then has the not-linked itself: never zerofilter)
  const sink = 'queue name="my q" min-threshold-buffers=2';
  const cli = run(process.execPath, [bin, 'watch', '--pipeline', one, '--filter-sink', sink, '--',
    duplexServerPath, name, '--mode', 'invert', '--announce', '1'], gstEnv);
  try {
    expect([await cli.exit(40000), cli.stderr]).toEqual([3, cli.stderr]);
    expect(cli.stderr).toMatch(/^ERROR: from element \/GstPipeline:pipeline0\/GstQueue:my q: Internal data stream error\.$/m);
    expect(cli.stderr).toContain(`zerobuffer watch: pipeline into ${name} failed for good (EPIPELINE, permanent); gst-launch said:\n`);
    expect(cli.stderr).not.toContain('restart 1');
    expect(cli.stderr).toContain(`zerobuffer watch: the --filter-sink pipeline ("${sink}") sends the answers nowhere (not-linked)`);
  } finally {
    removeServerLeftovers(name);
  }
}, 60000);

/** What a duplex server of channel NAME left: its processes, its shm files, whether its request ring's lock file is there. */
function serverLeftovers(name: string): [string[], string[], boolean] {
  return [processesWith(name), leftovers().filter((f) => f.includes(name)), fs.existsSync(`/tmp/zerobuffer/${name}_request.lock`)];
}

/** Kills and removes what serverLeftovers finds, so a failed test leaves nothing to the next. */
function removeServerLeftovers(name: string): void {
  for (const p of processesWith(name)) process.kill(Number(p.split(' ')[0]), 'SIGKILL');
  for (const f of leftovers().filter((f) => f.includes(name))) fs.rmSync(`/dev/shm/${f}`, { force: true });
  fs.rmSync(`/tmp/zerobuffer/${name}_request.lock`, { force: true });
}

/** SRC's frames, every byte inverted: what a filter that inverts passes on. */
function invertedSource(): Uint8Array {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-clif-'));
  try {
    const input = path.join(dir, 'in.raw');
    execFileSync('gst-launch-1.0', ['-q', ...SRC.split(' '), '!', 'filesink', `location=${input}`], { env: { ...process.env, ...gstEnv }, timeout: 20000 });
    return fs.readFileSync(input).map((v) => 255 - v);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The bytes of every frame left in the reader's ring, whose writer is gone. */
async function readAll(reader: ZeroBufferReader): Promise<Buffer> {
  const frames: Buffer[] = [];
  for (let frame = await reader.next({ timeoutMs: 5000 }); frame !== null; frame = await reader.next({ timeoutMs: 5000 })) {
    frames.push(Buffer.from(frame.data));
    frame.release();
  }
  return Buffer.concat(frames);
}

test.each([
  ['filter', (name: string, script: string) => ['filter', SRC, '--script', script, `videoconvert ! zerosink buffer-name=${name}`, '--json']],
  ['watch', (name: string) => ['watch', '--pipeline', SRC, '--filter-sink', `videoconvert ! zerosink buffer-name=${name}`, '--',
    duplexServerPath, ringName('wdxsink'), '--mode', 'invert', '--announce', '1']],
])('zerobuffer %s: a sink pipeline ending in zerosink passes the filtered frames into another reader\'s ring', async (_command, args) => {
  // (before: refused as a source ending in zerosink, "zerobuffer run and watch add "! zerosink ..." themselves", status 2;
  // nothing is appended after the sink)
  const name = ringName('clisinkring');
  const reader = await ZeroBufferReader.create({ name, metadataSize: 4096, payloadSize: 4 << 20 }); // the whole stream: read after the exit
  try {
    const cli = run(process.execPath, [bin, ...args(name, fixture('invert-filter.mjs'))], gstEnv);
    const status = await cli.exit(40000);
    expect(cli.stderr).not.toMatch(/already ends in zerosink/);
    expect(status).toBe(0);
    const got = await readAll(reader);
    expect(got.length).toBe(25 * 160 * 120 * 3);
    expect(sha(got)).toBe(sha(invertedSource()));
  } finally {
    await reader.close();
  }
}, 60000);

test('zerobuffer watch: the hint of a start-duplex pipeline\'s zerofilter, which --sink-property does not reach, keeps its own words', async () => {
  const name = ringName('wdxslow');
  const cli = run(process.execPath, [bin, 'watch', '--pipeline', SRC, '--max-restarts', '0', '--',
    duplexServerPath, name, '--delay-ms', '6000', '--announce', '1'], gstEnv);
  try {
    expect(await cli.exit(40000)).toBe(3);
    expect(cli.stderr).toMatch(/; zerofilter said:\nThe duplex server did not answer request 1 within 5000 ms.*\n {2}raise timeout \(-1 waits forever\), or use on-error=pass /);
    expect(cli.stderr).not.toMatch(/--sink-property/);
    // the server, stopped by watch's SIGINT in its 6 s sleep (or ended by itself after it), left no ring or lock file
    expect(serverLeftovers(name)).toEqual([[], [], false]);
  } finally {
    removeServerLeftovers(name);
  }
}, 60000);

test('zerobuffer filter stopped while its gst-launch ignores the EOS: killed with SIGKILL after 5 s, and said (status 0, the stop was asked for)', async () => {
  const dir = eosIgnoringGstLaunchDir(); // first on the PATH
  const cli = run(process.execPath, [bin, 'filter', SMALL, '--script', fixture('echo-filter.mjs'), 'fakesink', '--name', ringName('clifeos')],
    { ...gstEnv, PATH: `${dir}:${process.env['PATH']}` });
  try {
    await until('the fake gst-launch to run', () => processesWith(dir).length > 0, 20000);
    await sleep(300); // past its trap
    cli.proc.kill('SIGINT');
    expect(await cli.exit(30000)).toBe(0);
    expect(cli.stderr).toContain('zerobuffer filter: gst-launch did not stop within 5 s of its EOS: zerobuffer killed it with SIGKILL\n');
  } finally {
    cli.proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 60000);

test('zerobuffer filter on a terminal, its gst-launch killed after ignoring the EOS: that line goes above the stats line, not glued onto it', async () => {
  const dir = eosIgnoringGstLaunchDir(); // first on the PATH
  const name = ringName('clittyeos');
  const cli = runOnTerminal(process.execPath, [bin, 'filter', SMALL, '--script', fixture('echo-filter.mjs'), 'fakesink', '--name', name, '--interval', '0.1'],
    { ...gstEnv, PATH: `${dir}:${process.env['PATH']}` });
  try {
    await until('the fake gst-launch to run', () => processesWith(dir).length > 0, 20000);
    await sleep(500); // past its trap, the stats line up
    const command = processesWith(name).filter((p) => p.includes(`${process.execPath} ${bin} `)); // not script's
    expect(command).toHaveLength(1);
    process.kill(Number(command[0]!.split(' ')[0]), 'SIGINT');
    expect(await cli.exit(30000)).toBe(0);
    expect(cli.stdout.some((l) => /\d+ frames {2}[\d.]+ fps/.test(l))).toBe(true);
    const killed = cli.stdout.filter((l) => l.includes('did not stop within'));
    expect(killed).toEqual([expect.stringMatching(/(?:^|\r\x1b\[2K)zerobuffer filter: gst-launch did not stop within 5 s of its EOS: zerobuffer killed it with SIGKILL\r$/)]);
  } finally {
    cli.proc.kill('SIGKILL');
    for (const p of processesWith(name)) process.kill(Number(p.split(' ')[0]), 'SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 60000);

test('zerobuffer filter whose script does not answer in zerofilter\'s timeout: the hint names --sink-property on-error=pass, zerofilter\'s property, not the command\'s --on-error', async () => {
  const cli = run(process.execPath, [bin, 'filter', SMALL, '--script', fixture('slow-filter.mjs'), 'fakesink', '--json', '--name', ringName('clihung'),
    '--sink-property', 'timeout=500'], gstEnv);
  expect(await cli.exit(30000)).toBe(3);
  expect(cli.stderr).toMatch(/did not answer request 1 within 500 ms.*\n {2}raise --sink-property timeout=MS \(-1 waits forever\), or use --sink-property on-error=pass \(pass buffers/);
  expect(cli.stderr).not.toMatch(/use on-error=pass/);
}, 60000);

test.each([['--json'], ['--no-json']])('zerobuffer filter %s whose script answers late under on-error=pass: zerofilter\'s warning is told (the stream went on unfiltered), exit 0', async (mode) => {
  // (before: nothing but the counts told that the stream had become a pass-through)
  const cli = run(process.execPath, [bin, 'filter', SMALL, '--script', fixture('late-filter.mjs'), 'fakesink', mode, '--name', ringName('cliwarn'),
    '--sink-property', 'on-error=pass', '--sink-property', 'timeout=500'], gstEnv);
  expect(await cli.exit(30000)).toBe(0);
  const message = 'The duplex server did not answer request 5 within 500 ms (2 requests waiting); passing buffers through unprocessed';
  if (mode === '--json') {
    const warnings = cli.stdout.filter((l) => l.includes('"type":"warning"')).map((l) => JSON.parse(l) as unknown);
    // its hint in filter's words, as its error's (before: "raise timeout", a property filter takes as --sink-property)
    expect(warnings).toEqual([{
      type: 'warning', element: '/GstPipeline:pipeline0/GstZeroFilter:zerofilter', message, hint: 'raise --sink-property timeout=MS (-1 waits forever)',
    }]);
  } else {
    expect(cli.stderr).toContain(`zerobuffer filter: WARNING: from element /GstPipeline:pipeline0/GstZeroFilter:zerofilter: ${message}\n` +
      '  raise --sink-property timeout=MS (-1 waits forever)\n');
  }
});

test.each([['--json'], ['--no-json']])('zerobuffer filter %s: a zerosink of the sink pipeline warns of delta units without frame-header: the hint says to set it on that zerosink, which --sink-property (zerofilter\'s) does not reach', async (mode) => {
  // (before: "Set frame-header=true", which filter's --sink-property would have set on zerofilter, where it is set already)
  const name = ringName('clisinkwarn');
  const reader = await ZeroBufferReader.create({ name, metadataSize: 4096, payloadSize: 1 << 20 });
  try {
    const cli = run(process.execPath, [bin, 'filter', 'videotestsrc num-buffers=10 ! video/x-raw,width=64,height=48 ! vp8enc ! video/x-vp8',
      '--script', fixture('echo-filter.mjs'), `tee name=t ! queue ! zerosink buffer-name=${name} t. ! queue ! fakesink`, mode], gstEnv);
    expect(await cli.exit(30000)).toBe(0);
    const hint = "Set frame-header=true on this zerosink in your pipeline (--sink-property sets zerofilter's properties only) when the reader is zerosrc";
    const element = '/GstPipeline:pipeline0/GstZeroSink:zerosink0';
    if (mode === '--json') {
      const warnings = cli.stdout.filter((l) => l.includes('"type":"warning"')).map((l) => JSON.parse(l) as Record<string, string>);
      expect(warnings).toEqual([{ type: 'warning', element, message: expect.stringContaining(hint), hint: 'a DELTA_UNIT buffer written without the per-frame header' }]);
    } else {
      expect(cli.stderr).toMatch(new RegExp(`^zerobuffer filter: WARNING: from element ${element}: The stream has delta units, but frame-header is off`, 'm'));
      expect(cli.stderr).toContain(hint);
    }
    expect([...cli.stdout, cli.stderr].join('\n')).not.toMatch(/Set frame-header=true when/);
  } finally {
    await reader.close();
  }
}, 60000);

test('zerobuffer filter: videorate repeating pool buffers: zerofilter\'s warning says how to keep every repeat, in filter\'s words', async () => {
  // (before: a repeat dropped, and nothing said that --sink-property max-buffers=0 keeps them all)
  const cli = run(process.execPath, [bin, 'filter', 'videotestsrc num-buffers=12 pattern=ball ! video/x-raw,format=RGB,width=64,height=48,framerate=10/1 ! ' +
    'videorate ! video/x-raw,framerate=30/1', '--script', fixture('echo-filter.mjs'), 'fakesink', '--no-json', '--name', ringName('clifilterrepeat')], gstEnv);
  expect(await cli.exit(30000)).toBe(0);
  expect(cli.stderr).toMatch(/zerobuffer filter: WARNING: from element \/GstPipeline:pipeline0\/GstZeroFilter:zerofilter: Upstream pushes buffers more than once .*; set --sink-property max-buffers=0 to copy requests from the start, which keeps every repeat/);
  expect(cli.stderr).not.toMatch(/set max-buffers=0/);
}, 60000);

test('zerobuffer filter: a script that throws in a timer (outside a request) fails the command with its stack, status 3, a summary, no ring left', async () => {
  // (before: the process died of the uncaught exception, Node's raw stack, status 1, no summary, zerofilter's response ring left behind)
  const name = ringName('cliuncaught');
  const cli = run(process.execPath, [bin, 'filter', 'videotestsrc is-live=true ! video/x-raw,format=RGB,width=64,height=48,framerate=30/1',
    '--script', fixture('timer-throwing-filter.mjs'), 'fakesink', '--json', '--name', name], gstEnv);
  expect(await cli.exit(30000)).toBe(3);
  expect(cli.stderr).toMatch(/zerobuffer filter: the script failed outside a request \(an uncaught exception, from a timer or a promise nothing awaits\): Error: timer-throwing-filter: thrown in a timer\n\s+at .*timer-throwing-filter\.mjs:4/);
  expect(cli.stdout.some((l) => l.includes('"type":"summary"'))).toBe(true);
  expect(leftovers().filter((f) => f.includes(name))).toEqual([]);
}, 60000);

/** /dev/shm and /tmp/zerobuffer entries of the channel name (its rings' segments, semaphores and locks). */
function channelLeftovers(name: string): string[] {
  const locks = fs.existsSync('/tmp/zerobuffer') ? fs.readdirSync('/tmp/zerobuffer') : [];
  return [...leftovers(), ...locks].filter((f) => f.includes(name));
}

const LIVE_SMALL = 'videotestsrc is-live=true ! video/x-raw,format=RGB,width=64,height=48,framerate=30/1';

test('zerobuffer filter: a script that calls process.exit(7) ends the command with status 3, said on stderr; zerofilter\'s response ring and its lock are removed', async () => {
  // (before: status 7, not a word, NAME_response and its semaphores left in /dev/shm, its lock in /tmp/zerobuffer)
  const name = ringName('cliexit');
  const cli = run(process.execPath, [bin, 'filter', LIVE_SMALL, '--script', fixture('exiting-filter.mjs'), 'fakesink', '--json', '--name', name], gstEnv);
  expect(await cli.exit(30000)).toBe(3);
  expect(cli.stderr).toContain('zerobuffer filter: the script ended the process (process.exit(7)) while the command ran: ' +
    'its pipeline killed, the channel\'s rings removed, status 3');
  expect(channelLeftovers(name)).toEqual([]);
  expect(processesWith(name)).toEqual([]);
}, 60000);

test('zerobuffer filter: an uncaught exception whose stack names only zerobuffer\'s dist/ is the CLI\'s own: an internal error, status 1, not blamed on the script; no ring left', async () => {
  // (before: "the script failed outside a request", status 3)
  const name = ringName('cliown');
  const cli = run(process.execPath, [bin, 'filter', LIVE_SMALL, '--script', fixture('own-throwing-filter.mjs'), 'fakesink', '--json', '--name', name], gstEnv);
  expect(await cli.exit(30000)).toBe(1);
  expect(cli.stderr).toMatch(/zerobuffer filter: internal error \(a bug of zerobuffer, not the script's: an uncaught exception in its own code\): TypeError: own-throwing-filter: a bug in the CLI\n\s+at Timeout\.show \(.*dist\/cli\/filter-command\.js:1:1\)/);
  expect(cli.stderr).not.toContain('the script failed');
  expect(cli.stdout.some((l) => l.includes('"type":"summary"'))).toBe(true);
  expect(channelLeftovers(name)).toEqual([]);
}, 60000);

test('zerobuffer filter: uncaught exceptions after the first, while the command ends, are counted, not dropped unsaid (before: dropped, not a word)', async () => {
  const name = ringName('cliinterval');
  const cli = run(process.execPath, [bin, 'filter', LIVE_SMALL, '--script', fixture('timers-throwing-filter.mjs'), 'fakesink', '--json', '--name', name], gstEnv);
  expect(await cli.exit(30000)).toBe(3);
  expect(cli.stderr).toMatch(/the script failed outside a request \(an uncaught exception, from a timer or a promise nothing awaits\): Error: timers-throwing-filter: thrown 1\n/);
  expect(cli.stderr).toContain('\nzerobuffer filter: 2 more uncaught exceptions while the command ended (not shown)\n');
  expect(cli.stderr).not.toContain('thrown 2');
  expect(channelLeftovers(name)).toEqual([]);
}, 60000);

test('zerobuffer filter: a script writing past the global console (node:console, a Worker, process.stdout.write) writes to stderr too, and has every console method (timeStamp)', async () => {
  const cli = run(process.execPath, [bin, 'filter', SMALL, '--script', fixture('stdout-writing-filter.mjs'), 'fakesink', '--json', '--name', ringName('clistdout')], gstEnv);
  expect(await cli.exit(30000)).toBe(0);
  expect(cli.stdout.length).toBeGreaterThan(0);
  for (const line of cli.stdout) expect(() => JSON.parse(line)).not.toThrow();
  for (const from of ['node:console', 'worker', 'process.stdout.write']) expect(cli.stderr).toContain(`stdout-writing-filter: ${from}\n`);
}, 60000);

test('zerobuffer filter: the script\'s console (log, info, debug, warn, error) goes to stderr; --json\'s stdout stays JSON lines only', async () => {
  const cli = run(process.execPath, [bin, 'filter', SRC, '--script', fixture('logging-filter.mjs'),
    'fakesink', '--json', '--name', ringName('clilog')], gstEnv);
  expect(await cli.exit(40000)).toBe(0);
  expect(cli.stdout.filter((l) => { try { JSON.parse(l); return false; } catch { return true; } })).toEqual([]);
  expect(cli.stdout.some((l) => l.includes('"summary"'))).toBe(true);
  expect(cli.stderr).toContain('logging-filter: loaded\n');
  for (const method of ['log', 'info', 'debug', 'warn', 'error']) for (const n of [10, 20]) expect(cli.stderr).toContain(`logging-filter: ${method} ${n}\n`);
}, 60000);

test('zerobuffer filter on a terminal: the script\'s logs go above the live stats line, each on a line of its own, not glued onto it', async () => {
  const live = 'videotestsrc is-live=true num-buffers=25 ! video/x-raw,format=RGB,width=160,height=120,framerate=30/1';
  const cli = runOnTerminal(process.execPath, [bin, 'filter', live, '--script', fixture('logging-filter.mjs'),
    'fakesink', '--interval', '0.05', '--name', ringName('clitty')], gstEnv);
  expect(await cli.exit(40000)).toBe(0);
  const logs = cli.stdout.filter((l) => l.includes('logging-filter: '));
  expect(logs).toHaveLength(11);
  expect(cli.stdout.some((l) => /\d+ frames {2}[\d.]+ fps/.test(l))).toBe(true); // the stats line was up
  // the line's text is cleared (\r, erase) before each log, which starts where that line started
  for (const l of logs) expect(l).toMatch(/(?:^|\r\x1b\[2K)logging-filter: [a-z]+(?: \d+)?\r$/);
}, 60000);

// The live stats line on a terminal: rewritten in place, never wider than
// the terminal (a wrapped line cannot be rewritten, so it would scroll), and
// redrawn when the terminal is resized: the rows a narrower terminal wrapped
// it onto are cleared, not left behind as fragments. Not on a terminal
// (`--no-json` into a pipe), plain lines without the terminal's codes.
import path from 'node:path';
import { Writable } from 'node:stream';
import { fitLine, LiveLine } from '../../src/cli/io.js';
import { statsLine } from '../../src/cli/stats-line.js';
import { leftovers, repoRoot, ringName, run } from './helpers.js';

type Terminal = Writable & { isTTY?: boolean; columns?: number; written: string[] };

/** A stream that records what is written: a terminal `columns` wide (unknown: undefined), or with isTTY false a pipe. */
function terminal(columns: number | undefined, isTTY = true): Terminal {
  const written: string[] = [];
  const out = new Writable({ write(chunk: Buffer, _enc, done) { written.push(chunk.toString()); done(); } });
  return Object.assign(out, { isTTY, columns, written });
}

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

/** A resize as Node reports one: columns changed, then 'resize'. */
function resize(out: Terminal, columns: number): void {
  out.columns = columns;
  out.emit('resize');
}

const LINE = '114 frames  30.0 fps  27.6 MB/s  drops 0  ring 0% healthy  latency 0.16 ms  pipeline playing';
const CLEAR = '\r\x1b[2K';

test('statsLine: the pipeline\'s restarts in the singular for one ("1 restarts" before), none said for none', () => {
  const stats = {
    name: 'x', frames: 114, bytes: 0, fps: 30, bytesPerSecond: 27.6e6, drops: 0, writerRestarts: 0, elapsedMs: 0, latencyMs: 0.16,
    pipeline: 'exited', restarts: 0, payloadSize: 0, ringUtilisationPercent: 0, ringBand: 'healthy', writerPid: 1, writerAlive: true,
  } as const;
  expect(statsLine(stats)).toMatch(/ {2}pipeline exited$/);
  expect(statsLine({ ...stats, restarts: 1 })).toMatch(/ {2}pipeline exited \(1 restart\)$/);
  expect(statsLine({ ...stats, restarts: 2 })).toMatch(/ {2}pipeline exited \(2 restarts\)$/);
});

test('fitLine: a line as wide as the terminal or wider is cut to one column less, ending in …; one that fits, or an unknown width, is whole', () => {
  expect(fitLine(LINE, 80)).toBe(`${LINE.slice(0, 78)}…`);
  expect([...fitLine(LINE, 80)].length).toBe(79);
  expect(fitLine(LINE, LINE.length)).toBe(`${LINE.slice(0, LINE.length - 2)}…`); // the cursor would wait past the last column
  for (const columns of [LINE.length + 1, 200, undefined]) expect(fitLine(LINE, columns)).toBe(LINE);
  expect([...fitLine(LINE, 20)].length).toBe(19);
});

test('LiveLine: each update clears the line and writes the text cut to the width', () => {
  const out = terminal(80);
  const live = new LiveLine(out);
  live.update(LINE);
  live.update('short');
  expect(out.written).toEqual([`${CLEAR}${LINE.slice(0, 78)}…`, `${CLEAR}short`]);
  const unknown = terminal(undefined);
  new LiveLine(unknown).update(LINE);
  expect(unknown.written).toEqual([`${CLEAR}${LINE}`]);
});

test('LiveLine: a terminal that narrows under the line: the rows it wrapped onto are cleared from its first, and it is drawn again at the new width', () => {
  const out = terminal(120);
  const live = new LiveLine(out);
  live.update(LINE); // 95 columns, whole
  resize(out, 40); // re-wrapped onto 3 rows (40 + 40 + 15), the cursor at its end
  expect(out.written.at(-1)).toBe(`\r\x1b[2A\x1b[J${LINE.slice(0, 38)}…`);
  resize(out, 30); // 39 columns now take 2 rows
  expect(out.written.at(-1)).toBe(`\r\x1b[1A\x1b[J${LINE.slice(0, 28)}…`);
  resize(out, 29); // 29 columns exactly: one row, the cursor waits at its end
  expect(out.written.at(-1)).toBe(`${CLEAR}${LINE.slice(0, 27)}…`);
  resize(out, 200); // wider: one row, the line whole again
  expect(out.written.at(-1)).toBe(`${CLEAR}${LINE}`);
  // the next update clears one row: what is shown fits
  live.update('next');
  expect(out.written.at(-1)).toBe(`${CLEAR}next`);
  // before any text, a resize draws nothing
  const idle = terminal(80);
  new LiveLine(idle);
  resize(idle, 20);
  expect(idle.written).toEqual([]);
});

test('LiveLine: a message goes above the line, which comes back under it; the end writes the last line whole and stops following resizes', () => {
  const out = terminal(40);
  const err = terminal(40);
  const live = new LiveLine(out);
  live.above(err, 'before any line'); // nothing to clear
  expect(out.written).toEqual([]);
  live.update(LINE);
  live.above(err, 'zerobuffer: pipeline died (x); restart 1 in 250 ms');
  expect(err.written).toEqual(['before any line\n', 'zerobuffer: pipeline died (x); restart 1 in 250 ms\n']);
  expect(out.written.slice(1)).toEqual([CLEAR, `${CLEAR}${LINE.slice(0, 38)}…`]);
  live.end(LINE);
  expect(out.written.at(-1)).toBe(`${CLEAR}${LINE}\n`);
  const count = out.written.length;
  resize(out, 20);
  expect(out.written.length).toBe(count);
  expect(out.listenerCount('resize')).toBe(0);
});

test('LiveLine.aboveStream: each write goes above the line, as above() does (the protocol lines, a filter script\'s console)', async () => {
  const out = terminal(200);
  const live = new LiveLine(out);
  live.update(LINE);
  const protocol = live.aboveStream(out);
  await new Promise<void>((resolve) => protocol.write('> {"jsonrpc":"2.0","method":"stop-stream","params":["x"]}\n', () => resolve()));
  expect(out.written.slice(1)).toEqual([CLEAR, '> {"jsonrpc":"2.0","method":"stop-stream","params":["x"]}\n', `${CLEAR}${LINE}`]);
});

test('LiveLine not on a terminal: each text on a line of its own, whole, no terminal codes; messages go to their stream', () => {
  const out = terminal(undefined, false);
  const err = terminal(undefined, false);
  const live = new LiveLine(out);
  live.update(LINE);
  live.above(err, 'zerobuffer: pipeline died (x); restart 1 in 250 ms');
  live.update('short');
  live.end('last');
  // (before: '\r\x1b[2K' before each, the line not ended, the last line again after each message)
  expect(out.written).toEqual([`${LINE}\n`, 'short\n', 'last\n']);
  expect(err.written).toEqual(['zerobuffer: pipeline died (x); restart 1 in 250 ms\n']);
  expect(out.listenerCount('resize')).toBe(0);
});

test('zerobuffer run --no-json into a pipe: its stats are plain lines, the last one the summary\'s count', async () => {
  const cli = run(process.execPath, [path.join(repoRoot, 'dist', 'cli', 'bin.js'), 'run',
    'videotestsrc num-buffers=30 ! video/x-raw,format=RGB,width=64,height=48', '--no-json', '--interval', '0.1', '--name', ringName('plain')],
  { GST_PLUGIN_PATH: path.join(repoRoot, 'builddir', 'gst-plugin') });
  expect(await cli.exit(30000)).toBe(0);
  expect(cli.stdout.length).toBeGreaterThan(0);
  expect(cli.stdout.filter((l) => /[\r\x1b]/.test(l))).toEqual([]);
  expect(cli.stdout.at(-1)).toMatch(/^30 frames {2}/);
}, 60000);

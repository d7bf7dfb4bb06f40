// The live stats line on a terminal: rewritten in place, never wider than
// the terminal (a wrapped line cannot be rewritten, so it would scroll).
import { Writable } from 'node:stream';
import { rewriteLine } from '../../src/cli/io.js';

function terminal(columns: number | undefined): Writable & { columns?: number; written: string[] } {
  const written: string[] = [];
  const out = new Writable({ write(chunk: Buffer, _enc, done) { written.push(chunk.toString()); done(); } });
  return Object.assign(out, { columns, written });
}

const LINE = '114 frames  30.0 fps  27.6 MB/s  drops 0  ring 0% healthy  latency 0.16 ms  pipeline playing';

test('a line wider than the terminal is cut to one column less than its width, ending in …', () => {
  const out = terminal(80);
  rewriteLine(out, LINE);
  expect(out.written).toEqual([`\r\x1b[2K${LINE.slice(0, 78)}…`]);
  expect([...out.written[0]!.slice('\r\x1b[2K'.length)].length).toBe(79);
});

test('a line that fits, or a stream whose width is unknown, is written whole', () => {
  for (const columns of [LINE.length + 1, 200, undefined]) {
    const out = terminal(columns);
    rewriteLine(out, LINE);
    expect(out.written).toEqual([`\r\x1b[2K${LINE}`]);
  }
  const exact = terminal(LINE.length); // the cursor would sit past the last column: cut too
  rewriteLine(exact, LINE);
  expect(exact.written[0]!.endsWith('…')).toBe(true);
});

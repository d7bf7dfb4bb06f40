// The line protocol: formatter, the parser's table of valid, invalid and
// hostile lines, and the byte-level reader (chunks, CRLF, long lines,
// partial last line, non-UTF-8).
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { announce, formatMessage } from '../../src/line-protocol/format.js';
import { LineSplitter } from '../../src/line-protocol/line-splitter.js';
import { parseLine, type LineEvent } from '../../src/line-protocol/parse-line.js';
import { DEFAULT_MAX_LINE_BYTES, readLines, toEvent } from '../../src/line-protocol/read-lines.js';
import { inspectRing } from '../../src/index.js';
import { repoRoot, ringName, run } from './helpers.js';

const start = (params: unknown, extra: Record<string, unknown> = {}): string =>
  `> ${JSON.stringify({ jsonrpc: '2.0', method: 'start-stream', params, ...extra })}`;

describe('parseLine', () => {
  const valid: [string, string, unknown][] = [
    ['positional', start(['cam0', 4096, 1 << 20]), { method: 'start-stream', name: 'cam0', metadataSize: 4096, payloadSize: 1 << 20 }],
    ['named', start({ name: 'cam0', metadataSize: 64, payloadSize: 128 }), { method: 'start-stream', name: 'cam0', metadataSize: 64, payloadSize: 128 }],
    ['leading blanks', `  \t${start(['a', 1, 1])}`, { method: 'start-stream', name: 'a', metadataSize: 1, payloadSize: 1 }],
    ['leading CR, VT, FF', `\r\v\f${start(['a', 1, 1])}`, { method: 'start-stream', name: 'a', metadataSize: 1, payloadSize: 1 }],
    ['no space after >', `>${start(['a', 1, 1]).slice(2)}`, { method: 'start-stream', name: 'a', metadataSize: 1, payloadSize: 1 }],
    ['stop-stream', '> {"jsonrpc":"2.0","method":"stop-stream","params":["cam0"]}', { method: 'stop-stream', name: 'cam0' }],
    ['stop-stream named', '> {"jsonrpc":"2.0","method":"stop-stream","params":{"name":"cam0"}}', { method: 'stop-stream', name: 'cam0' }],
    // a ring without metadata (a peer's of raw bytes, or made with metadataSize 0) is announced with its honest 0
    ['metadata size 0', start(['raw', 0, 64]), { method: 'start-stream', name: 'raw', metadataSize: 0, payloadSize: 64 }],
    ['metadata size 0, named', start({ name: 'raw', metadataSize: 0, payloadSize: 64 }), { method: 'start-stream', name: 'raw', metadataSize: 0, payloadSize: 64 }],
    ['max sizes', start(['x', 64 << 20, 16 * 2 ** 30]), { method: 'start-stream', name: 'x', metadataSize: 64 << 20, payloadSize: 16 * 2 ** 30 }],
    // a carriage return starts the line again, as on a terminal: a progress display's updates before the announcement
    ['after progress and CR', `progress 1\rprogress 2\r${start(['a', 1, 1])}`, { method: 'start-stream', name: 'a', metadataSize: 1, payloadSize: 1 }],
    ['after >> and CR', `>> quoted\r  ${start(['a', 1, 1])}`, { method: 'start-stream', name: 'a', metadataSize: 1, payloadSize: 1 }],
    ['trailing CR', `${start(['a', 1, 1])}\r`, { method: 'start-stream', name: 'a', metadataSize: 1, payloadSize: 1 }],
    ['after a run of CRs, and CRs after', `x\r\r${start(['a', 1, 1])}\r\r`, { method: 'start-stream', name: 'a', metadataSize: 1, payloadSize: 1 }],
    ['two announcements, the first overwritten', `${start(['a', 1, 1])}\r${start(['b', 1, 1])}`, { method: 'start-stream', name: 'b', metadataSize: 1, payloadSize: 1 }],
    // a CR is also JSON whitespace: the text from a mark to the line end that parses is the message
    ['CRs as JSON whitespace', '> {"jsonrpc":"2.0",\r"method":"start-stream",\r"params":["a",1,1]}\r', { method: 'start-stream', name: 'a', metadataSize: 1, payloadSize: 1 }],
    ['CRs as JSON whitespace, after progress and CR', 'working 50%\r> {"jsonrpc":"2.0",\r\r"method":"start-stream","params":\r["a",1,1]}', { method: 'start-stream', name: 'a', metadataSize: 1, payloadSize: 1 }],
    // CRs and blanks before the line end start nothing
    ['CR and blanks after', `${start(['a', 1, 1])}\r \t`, { method: 'start-stream', name: 'a', metadataSize: 1, payloadSize: 1 }],
  ];
  test.each(valid)('valid: %s', (_, line, message) => {
    const e = parseLine(line);
    expect(e.type).toBe('message');
    expect(e.type === 'message' && e.message).toEqual(message);
  });

  const logs: [string, string][] = [
    ['plain log', 'starting up'],
    ['empty', ''],
    ['mark not first', 'value > 3'],
    ['json without mark', '{"jsonrpc":"2.0","method":"start-stream","params":["a",1,1]}'],
    ['blanks only', '   \t '],
    ['double mark: a quote', '>> quoted text'],
    ['double mark before protocol JSON', `>${start(['a', 1, 1])}`],
    ['indented merge marker', '  >>>>>>> branch'],
    // blanks are ASCII's, as the line splitter's (a Unicode one made a line protocol here, a log line there past 64 KiB)
    ['NBSP before the mark', '\u00a0> not json'],
    ['ideographic space before the mark', `\u3000${start(['a', 1, 1])}`],
    ['BOM before the mark', '\ufeff> x'],
    // what follows the last carriage return counts: the announcement was overwritten
    ['protocol then CR and text', `${start(['a', 1, 1])}\rworking 50%`],
    ['progress after CR', 'x\r>> y\rworking'],
    ['JSON with a CR in it, then CR and text', '> {"a":\r1}\rworking'],
  ];
  test.each(logs)('log: %s', (_, line) => {
    expect(parseLine(line)).toEqual({ type: 'log', text: line, raw: new Uint8Array(0) });
  });

  const invalid: [string, string, RegExp][] = [
    ['bad JSON', '> {"jsonrpc":"2.0",', /not JSON/],
    ['bad JSON, then CR and blanks', '> {"jsonrpc":"2.0",\r  ', /not JSON/],
    ['CR as JSON whitespace, bad name', '> {"jsonrpc":"2.0",\r"method":"start-stream","params":["a/b",1,1]}', /invalid ring name/],
    ['mark only', '>', /not JSON/],
    ['array', '> [1,2,3]', /notification object/],
    ['string', '> "start-stream"', /notification object/],
    ['wrong version', start(['a', 1, 1], { jsonrpc: '1.0' }), /"jsonrpc" must be "2.0"/],
    ['no version', '> {"method":"start-stream","params":["a",1,1]}', /"jsonrpc" must be "2.0"/],
    ['unknown method', '> {"jsonrpc":"2.0","method":"rm-rf","params":["a"]}', /unknown method "rm-rf"/],
    ['no method', '> {"jsonrpc":"2.0","params":["a"]}', /unknown method/],
    ['too few params', start(['a', 1]), /received 2 value/],
    ['too many params', start(['a', 1, 1, 1]), /received 4 value/],
    ['params not array/object', start('a'), /params of start-stream/],
    ['no params', '> {"jsonrpc":"2.0","method":"start-stream"}', /params of start-stream/],
    ['negative size', start(['a', -1, 1]), /metadataSize must be a whole number of 0 or more/],
    ['zero payload size', start(['a', 1, 0]), /payloadSize must be a positive integer, received 0/],
    ['zero payload size, no metadata', start(['a', 0, 0]), /payloadSize must be a positive integer, received 0/],
    ['fractional size', start(['a', 1.5, 1]), /metadataSize must be a whole number of 0 or more/],
    ['string size', start(['a', '64', 1]), /metadataSize must be a whole number of 0 or more/],
    ['huge payload', start(['a', 1, 2 ** 40]), /above the limit/],
    ['huge metadata', start(['a', 2 ** 30, 1]), /above the limit/],
    ['unsafe integer', start(['a', 1, 2 ** 60]), /positive integer/],
    ['name with slash', start(['../etc/passwd', 1, 1]), /invalid ring name/],
    ['name with slash 2', start(['a/b', 1, 1]), /invalid ring name/],
    ['empty name', start(['', 1, 1]), /invalid ring name/],
    ['dotdot name', start(['..', 1, 1]), /invalid ring name/],
    ['NUL in name', start(['a\u0000b', 1, 1]), /invalid ring name/],
    ['name too long', start(['n'.repeat(300), 1, 1]), /invalid ring name/],
    ['name of 60,000 characters', start(['n'.repeat(60000), 1, 1]), /invalid ring name "n{80}…"/],
    ['name not a string', start([42, 1, 1]), /name must be a string/],
    ['named, name missing (a typo)', start({ ring: 'cam0', metadataSize: 64, payloadSize: 128 }), /name must be a string, received nothing/],
    ['named missing key', start({ name: 'a', metadataSize: 1 }), /payloadSize must be a positive integer/],
    ['stop without name', '> {"jsonrpc":"2.0","method":"stop-stream","params":[]}', /received 0 value/],
    ['prototype key', '> {"jsonrpc":"2.0","method":"stop-stream","params":{"__proto__":{"name":"a"}}}', /name must be a string/],
    // A value nested 5,000 deep (a 10 KB line, under the 64 KiB limit) overflowed JSON.stringify's stack when described
    ['deep jsonrpc', `> {"jsonrpc":${'['.repeat(5000)}${']'.repeat(5000)}}`, /"jsonrpc" must be "2.0", received an array of 1 value$/],
    ['deep method', `> {"jsonrpc":"2.0","method":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`, /unknown method an object \(/],
    ['deep name', `> {"jsonrpc":"2.0","method":"start-stream","params":[${'['.repeat(5000)}${']'.repeat(5000)},1,1]}`, /name must be a string, received an array of 1 value$/],
    ['deep size', `> {"jsonrpc":"2.0","method":"start-stream","params":["a",${'['.repeat(5000)}${']'.repeat(5000)},1]}`, /metadataSize must be a whole number of 0 or more, received an array/],
    ['long string size', start(['a', 'x'.repeat(60000), 1]), /received "x{80}"… \(60000 characters\)$/],
    // the core's words alone (they said "invalid duplex channel name: channel name ...")
    ['duplex channel name too long', `> ${JSON.stringify({ jsonrpc: '2.0', method: 'start-duplex', params: ['c'.repeat(237)] })}`,
      /^start-duplex: channel name "c+\.\.\." is too long: at most 236 bytes, so that "NAME_response" fits a ring name$/],
  ];
  test.each(invalid)('warning: %s', (_, line, reason) => {
    const e = parseLine(line);
    expect(e.type).toBe('warning');
    expect(e.type === 'warning' && e.reason).toMatch(reason);
    expect(e.type === 'warning' && e.line.length).toBeLessThanOrEqual(260);
    expect(e.type === 'warning' && e.reason.length).toBeLessThanOrEqual(300);
    // Only a string no ring can have as its name is ENAME (an orchestrator takes it as a failure); the rest,
    // a name missing or not a string too, are mere warnings.
    const enamed = /invalid ring name/.test(String(reason));
    expect(e.type === 'warning' && e.code).toBe(enamed ? 'ENAME' : undefined);
    if (enamed && e.type === 'warning') expect(e.message?.method).toBe(line.includes('stop-stream') ? 'stop-stream' : 'start-stream');
  });
});

describe('formatMessage and announce', () => {
  test('start-stream and stop-stream lines parse back', () => {
    const line = formatMessage({ method: 'start-stream', name: 'cam0', metadataSize: 4096, payloadSize: 1 << 20 });
    expect(line).toBe('> {"jsonrpc":"2.0","method":"start-stream","params":["cam0",4096,1048576]}\n');
    const back = parseLine(line.trimEnd());
    expect(back.type === 'message' && back.message.name).toBe('cam0');
    expect(formatMessage({ method: 'stop-stream', name: 'cam0' })).toBe('> {"jsonrpc":"2.0","method":"stop-stream","params":["cam0"]}\n');
  });
  test('a ring without metadata: metadata size 0 is formatted and parses back', () => {
    const line = formatMessage({ method: 'start-stream', name: 'raw', metadataSize: 0, payloadSize: 64 });
    expect(line).toBe('> {"jsonrpc":"2.0","method":"start-stream","params":["raw",0,64]}\n');
    const back = parseLine(line.trimEnd());
    expect(back.type === 'message' && back.message).toEqual({ method: 'start-stream', name: 'raw', metadataSize: 0, payloadSize: 64 });
  });
  test('invalid messages are TypeErrors', () => {
    expect(() => formatMessage({ method: 'start-stream', name: 'a/b', metadataSize: 1, payloadSize: 1 })).toThrow(TypeError);
    expect(() => formatMessage({ method: 'start-stream', name: 'a', metadataSize: 0, payloadSize: 0 })).toThrow(/payloadSize must be a positive integer/);
    expect(() => formatMessage({ method: 'start-stream', name: 'a', metadataSize: 5n as never, payloadSize: 1 }))
      .toThrow(/metadataSize must be a whole number of 0 or more, received a bigint \(5n\)/); // not "received 5"
  });
  test('announce writes one line in one write, then resolves', async () => {
    const writes: string[] = [];
    const stream = new Writable({ write(chunk, _enc, cb) { writes.push(String(chunk)); setTimeout(cb, 5); } });
    await announce({ method: 'stop-stream', name: 'cam0' }, { stream });
    expect(writes).toEqual(['> {"jsonrpc":"2.0","method":"stop-stream","params":["cam0"]}\n']);
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(announce({ method: 'stop-stream', name: 'x' }, { stream, signal: ac.signal })).rejects.toThrow('stop');
  });
});

async function collect(chunks: (string | Uint8Array)[], maxLineBytes?: number): Promise<LineEvent[]> {
  const out: LineEvent[] = [];
  for await (const e of readLines(Readable.from(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : Buffer.from(c)))), { maxLineBytes }))
    out.push(e);
  return out;
}
const rawOf = (events: LineEvent[]): Buffer => Buffer.concat(events.map((e) => e.raw));

/** The events with each log line's pieces (partial) joined: a log's text, or the event's type and name. */
function joined(events: LineEvent[]): string[] {
  const out: string[] = [];
  let line: string | undefined;
  for (const e of events) {
    if (e.type === 'log') {
      line = (line ?? '') + e.text;
      if (e.partial === true) continue;
      out.push(`log ${line}`);
      line = undefined;
    } else {
      expect(line).toBeUndefined(); // no event inside a log line's pieces
      out.push(e.type === 'message' ? `message ${e.message.name}` : `warning ${e.reason}`);
    }
  }
  expect(line).toBeUndefined();
  return out;
}

describe('readLines', () => {
  const announceLine = '> {"jsonrpc":"2.0","method":"start-stream","params":["cam0",4096,65536]}';

  test('a protocol line split across chunks, among logs, with CRLF', async () => {
    const text = `log one\r\n${announceLine}\r\nlog two\n`;
    const chunks = [text.slice(0, 3), text.slice(3, 30), text.slice(30, 31), text.slice(31)];
    const events = await collect(chunks);
    expect(joined(events)).toEqual(['log log one', 'message cam0', 'log log two']);
    expect(rawOf(events).toString()).toBe(text);
  });

  test('a partial last line at EOF is still read', async () => {
    const events = await collect(['log\n', announceLine]);
    expect(events.map((e) => e.type)).toEqual(['log', 'message']);
    const cut = await collect(['log\n', announceLine.slice(0, 30)]);
    expect(cut.map((e) => e.type)).toEqual(['log', 'warning']);
  });

  test('a long log line passes through in pieces, byte for byte; a long protocol line is dropped with a warning', async () => {
    const long = `${'x'.repeat(5000)}\n>> ${'z'.repeat(5000)}`;
    const text = `${long}\n> ${'y'.repeat(5000)}\n${announceLine}\n`;
    const chunks: string[] = [];
    for (let i = 0; i < text.length; i += 700) chunks.push(text.slice(i, i + 700));
    const events = await collect(chunks, 1024);
    const logs = events.filter((e) => e.type === 'log');
    expect(Buffer.concat(logs.map((e) => e.raw)).toString()).toBe(`${long}\n`);
    const warnings = events.filter((e) => e.type === 'warning');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.type === 'warning' && warnings[0]!.reason).toBe('protocol line longer than the limit of 1024 bytes, ignored');
    expect(events.filter((e) => e.type === 'message')).toHaveLength(1);
  });

  test('the pieces of a long log line say which go on (partial), so their texts join into the line', async () => {
    for (const chunks of [['x'.repeat(3000), '\nlast'], ['x'.repeat(3000), 'x', '\r\nlast'], [`${'x'.repeat(3000)}\n`, 'last\n'],
      [`${'x'.repeat(3000)}\nlast`], [`${'x'.repeat(3000)}\n`, 'last', 'x'.repeat(3000)]]) {
      const logs = (await collect(chunks, 1024)).filter((e) => e.type === 'log');
      const lines: string[] = [];
      let line = '';
      for (const e of logs) {
        line += e.text;
        if (e.partial !== true) {
          lines.push(line);
          line = '';
        }
      }
      expect(line).toBe('');
      expect(lines).toEqual(chunks.join('').replace(/\n$/, '').split(/\r?\n/));
    }
  });

  test('non-UTF-8: logs pass unchanged, a protocol line is a warning', async () => {
    const bad = Buffer.from([0xff, 0xfe, 0x41, 0x0a]);
    const badProto = Buffer.concat([Buffer.from('> {"jsonrpc":"2.0","method":"stop-stream","params":["\xff"]}'.replace('\xff', '')), Buffer.from([0xc3, 0x28, 0x0a])]);
    const events = await collect([bad, badProto, `${announceLine}\n`]);
    expect(events.map((e) => e.type)).toEqual(['log', 'warning', 'message']);
    expect(Buffer.from(events[0]!.raw)).toEqual(bad);
    expect(events[1]!.type === 'warning' && events[1]!.reason).toMatch(/UTF-8/);
  });

  test('many hostile lines never end the stream', async () => {
    const hostile = ['>', '> null', '> {"jsonrpc":"2.0","method":"start-stream","params":["a/b",1,1]}', '\u0000\u0001', '>>>>', '> {"a":'.repeat(1000)];
    const events = await collect([`${hostile.join('\n')}\n${announceLine}\n`]);
    expect(events.at(-1)!.type).toBe('message');
    expect(events.filter((e) => e.type === 'warning').length).toBe(4); // '>>>>' is output
  });

  test('a signal aborted already ends the iteration at once, and the source is returned', async () => {
    let returned = false;
    const source: AsyncIterable<string> = {
      [Symbol.asyncIterator]: () => ({
        next: async () => ({ done: false, value: 'log\n' }),
        return: async () => {
          returned = true;
          return { done: true, value: undefined };
        },
      }),
    };
    const ac = new AbortController();
    ac.abort();
    const seen: string[] = [];
    for await (const e of readLines(source, { signal: ac.signal })) seen.push(e.type);
    expect(seen).toEqual([]);
    expect(returned).toBe(true);
  });

  test('an abort ends the iteration even while the source is silent', async () => {
    const source = new Readable({ read() {} });
    source.push('log\n');
    const ac = new AbortController();
    const seen: string[] = [];
    const done = (async () => {
      for await (const e of readLines(source, { signal: ac.signal })) seen.push(e.type);
    })();
    setTimeout(() => ac.abort(), 50);
    await done;
    expect(seen).toEqual(['log']);
    source.destroy();
  });

  // Iterators dropped without return() (the consumer stopped pulling): before,
  // each kept its listener on the signal for as long as the signal lived, and
  // one waiting for its source's next chunk its source too (20 listeners and
  // 10 sources held after GC); a long iteration on a signal grew by ~350
  // bytes a chunk (each read raced against one promise of the iteration).
  // Those dropped with a read in flight stay until the abort: the listener
  // holds the read, or an awaited loop on a source only the abort can end
  // would be collected and never end (abort.test.ts).
  test('iterators dropped at a line on a long-lived signal leave no listener and let their sources go once collected, those dropped in a read once it aborts; a long one keeps nothing per chunk', async () => {
    const child = run(process.execPath, ['--expose-gc', path.join(repoRoot, 'test', 'node', 'fixtures', 'dropped-line-iterators.mjs'), '20']);
    const code = await child.exit();
    expect(child.stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(child.stdout.join(''))).toEqual({
      seen: Array.from({ length: 20 }, () => 'first'),
      listenersAfterGc: 10, sourcesCollected: 10,
      liveFirst: 'first', liveListeners: 11, liveEnd: { done: true }, listenersAtEnd: 0, sourcesCollectedAfterAbort: true,
      manyEvents: 200000, heapGrowthUnder10MB: true,
    });
  });

  test('readLines gives a log line split across chunks whole by default, in pieces as they come with partialLogs', async () => {
    const chunks = ['\rframes 1', '\rframes 2\nPress', ' Enter: ', 'y\n'];
    const texts = async (partialLogs?: boolean): Promise<string[]> => {
      const out: string[] = [];
      for await (const e of readLines(Readable.from(chunks.map((c) => Buffer.from(c))), { partialLogs }))
        out.push(e.type === 'log' ? `${e.text}${e.partial === true ? ' …' : ''}` : e.type);
      return out;
    };
    expect(await texts()).toEqual(['\rframes 1\rframes 2', 'Press Enter: y']);
    // (a CR followed by more starts the line again: the log line's CR is its piece, "frames 2" might have been protocol)
    expect(await texts(true)).toEqual(['\rframes 1 …', '\r …', 'frames 2', 'Press …', ' Enter:  …', 'y']);
  });

  test('readLines with partialLogs: an announcement after "\\r" progress on the same line is a message, however the bytes come; the progress passes on', async () => {
    const bytes = Buffer.from(`progress 1\rprogress 2\r${announceLine}\r\nworking 50%\r>> q\rdone\n`);
    for (const size of [1, 3, 7, bytes.length]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
      const logs: string[] = [];
      const messages: unknown[] = [];
      for await (const e of readLines(Readable.from(chunks), { partialLogs: true })) {
        if (e.type === 'log') logs.push(e.text);
        else if (e.type === 'message') messages.push(e.message);
        else throw new Error(`warning: ${e.reason}`);
      }
      expect(messages).toEqual([{ method: 'start-stream', name: 'cam0', metadataSize: 4096, payloadSize: 65536 }]);
      expect(logs.join('')).toBe('progress 1\rprogress 2\rworking 50%\r>> q\rdone');
    }
  });

  test('readLines with partialLogs: a run of "\\r" starts the line again at its last one, CRs before the line end start nothing, and a protocol line dropped as too long ends at a "\\r"', async () => {
    const bytes = Buffer.from(`x\r\r${announceLine}\r\r\n> ${'y'.repeat(200)}\r${announceLine}\n`);
    for (const size of [1, 2, 3, 7, bytes.length]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
      const events: string[] = [];
      for await (const e of readLines(Readable.from(chunks), { partialLogs: true, maxLineBytes: 128 })) {
        // the pieces of the output joined
        if (e.type === 'log' && events.at(-1)?.startsWith('log ') === true) events[events.length - 1] += e.text;
        else events.push(e.type === 'log' ? `log ${e.text}` : e.type === 'message' ? e.message.name : e.reason);
      }
      expect(events).toEqual(['log x\r\r', 'cam0', 'protocol line longer than the limit of 128 bytes, ignored', 'cam0']);
    }
  });

  /** The events of bytes cut into chunks of size: a log's text (each piece), a message's name, a warning's reason. */
  async function eventsOf(bytes: Buffer, size: number, options: { partialLogs?: boolean; maxLineBytes?: number }): Promise<string[]> {
    const chunks: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
    const events: string[] = [];
    for await (const e of readLines(Readable.from(chunks), options))
      events.push(e.type === 'log' ? `log ${e.text}` : e.type === 'message' ? `message ${e.message.name}` : `warning ${e.reason}`);
    return events;
  }

  // ~80 s of a progress display at 800 B/s, past the 64 KiB limit: it was judged by its first bytes, so by default
  // the whole line passed on as output (or, starting with '>', was dropped) and the announcement after its last
  // "\r" was lost, which watch (partialLogs) served
  test.each([false, true])('readLines (partialLogs %s): an announcement after "\\r" progress updates longer than maxLineBytes is a message; the progress passes on', async (partialLogs) => {
    let progress = '';
    for (let n = 0; progress.length <= DEFAULT_MAX_LINE_BYTES + 4096; n++) progress += `frame ${n} of 99999, 12.5 MB/s\r`;
    const bytes = Buffer.from(`${progress}${announceLine}\ndone\n`);
    for (const size of [997, 4096, 65536, bytes.length]) {
      const events = await eventsOf(bytes, size, { partialLogs });
      expect(events.filter((e) => !e.startsWith('log '))).toEqual(['message cam0']);
      expect(events.at(-1)).toBe('log done');
      // the progress before the last cut went on as output, byte for byte
      const logs = events.slice(0, events.indexOf('message cam0')).map((e) => e.slice(4)).join('');
      expect(progress.startsWith(logs)).toBe(true);
      expect(logs.length).toBeGreaterThan(progress.length - DEFAULT_MAX_LINE_BYTES);
    }
  });

  test.each([false, true])('readLines (partialLogs %s): past the limit, a line starting as protocol is dropped up to its last "\\r", and the text after it is a line start of its own', async (partialLogs) => {
    const long = `> ${'y'.repeat(200)}\r`;
    const cases: [string, string[]][] = [
      [`${long}${announceLine}\n`, ['warning protocol line longer than the limit of 128 bytes, ignored', 'message cam0']],
      // the progress after the dropped head passes on; CR and blanks before the line end end the dropped line
      [`${long}${'working\r'.repeat(40)}${announceLine}\n${long}  \n`,
        ['warning protocol line longer than the limit of 128 bytes, ignored', 'log working\r', 'message cam0',
          'warning protocol line longer than the limit of 128 bytes, ignored']],
    ];
    for (const [text, expected] of cases) {
      for (const size of [1, 3, 7, 64, text.length]) {
        const events = (await eventsOf(Buffer.from(text), size, { partialLogs, maxLineBytes: 128 }))
          // a log's pieces joined
          .reduce<string[]>((out, e) => (e.startsWith('log ') && out.at(-1)?.startsWith('log ') === true ? [...out.slice(0, -1), out.at(-1)! + e.slice(4)] : [...out, e]), []);
        // (by default the last updates before the announcement are its line's start, not output: those since the last cut at the limit)
        expect(events.map((e) => e.replace(/^log (working\r)+$/, 'log working\r'))).toEqual(expected);
      }
    }
  });

  test.each([false, true])('readLines (partialLogs %s): raw CRs as JSON whitespace in an announcement, after progress too: a message (they were taken for a "\\r" starting the line again: output)', async (partialLogs) => {
    const bytes = Buffer.from('> {"jsonrpc":"2.0",\r"method":"start-stream",\r"params":["cam0",4096,65536]}\r\n' +
      'working 1\rworking 2\r> {"jsonrpc":"2.0","method":"stop-stream",\r"params":["cam0"]}\n');
    for (const size of [1, 2, 5, bytes.length]) {
      const events = await eventsOf(bytes, size, { partialLogs });
      expect(events.filter((e) => !e.startsWith('log '))).toEqual(['message cam0', 'message cam0']);
      // the progress passes on with partialLogs; by default it is the message line's start
      expect(events.filter((e) => e.startsWith('log ')).map((e) => e.slice(4)).join('')).toBe(partialLogs ? 'working 1\rworking 2\r' : '');
    }
  });

  // f2207f7 held a '>' line through its CRs with partialLogs (they may be JSON whitespace): '>'-prefixed progress was
  // held to its line end and went with it as one warning (watch writes those to stderr), or past the limit was dropped
  test('readLines with partialLogs: ">" progress that is no JSON object passes on at each "\\r" as it comes; only the text at the line end is judged', () => {
    const s = new LineSplitter(DEFAULT_MAX_LINE_BYTES, { partialLogs: true });
    const seen = ['> step 1\r', '> step 2\r', '> step 3\r', '> done\n'].map((chunk) => s.push(Buffer.from(chunk))
      .map((l) => toEvent(l, s.maxLineBytes)).map((e) => (e.type === 'log' ? `log ${e.text}` : e.type === 'warning' ? 'warning' : 'message')));
    // (a chunk's last CR may be a CRLF's start: its piece goes on with the next byte)
    expect(seen).toEqual([[], ['log > step 1\r'], ['log > step 2\r'], ['log > step 3\r', 'warning']]);
  });

  test.each(['> p 1%\r', '  > building [=====>  ] 50%\r', '>\r'])('readLines with partialLogs: 200 KB of %j progress passes on whole, no warning', async (update) => {
    const bytes = Buffer.from(`${update.repeat(Math.ceil(200_000 / update.length))}done\n`);
    const events = await eventsOf(bytes, 4096, { partialLogs: true });
    expect(events.filter((e) => !e.startsWith('log '))).toEqual([]);
    expect(events.map((e) => e.slice(4)).join('')).toBe(bytes.toString().slice(0, -1));
  });

  // The limit crossed after the raw CR inside an announcement's JSON: by default the line was cut at that CR, and the
  // announcement lost (with partialLogs the progress had gone on before, so it fitted)
  test.each([false, true])('readLines (partialLogs %s): past the limit, a line is not cut inside an announcement whose JSON has a raw "\\r"', async (partialLogs) => {
    const announcement = '> {"jsonrpc":"2.0",\r"method":"stop-stream","params":["cam0"]}\r\n';
    for (let n = 180; n <= 205; n++) {
      const events = await eventsOf(Buffer.from(`${'p 1%\r'.repeat(n)}${announcement}`), 64, { partialLogs, maxLineBytes: 1000 });
      expect(events.filter((e) => !e.startsWith('log '))).toEqual(['message cam0']);
    }
  });

  // A cut's head was judged by its first bytes: with partialLogs, held from a '>', it was dropped as an overlong
  // protocol line; by default, held from an "a", it passed on; parseLine says output
  test.each([false, true])('readLines (partialLogs %s): past the limit, the text before the cut is judged by its last protocol start, as parseLine does', async (partialLogs) => {
    for (const head of ['axyz\r>xyz\r>>a>\r', 'a\r> {xyz\r> x\r']) {
      const text = `${head}> {"a":1}\n`;
      // (followed by a start of text, as at the cut)
      expect(parseLine(`${head}x`).type).toBe('log');
      for (const size of [1, 3, text.length]) {
        const events = (await eventsOf(Buffer.from(text), size, { partialLogs, maxLineBytes: 20 }))
          .reduce<string[]>((out, e) => (e.startsWith('log ') && out.at(-1)?.startsWith('log ') === true ? [...out.slice(0, -1), out.at(-1)! + e.slice(4)] : [...out, e]), []);
        expect(events).toEqual([`log ${head}`, 'warning "jsonrpc" must be "2.0", received nothing']);
      }
    }
  });

  test('LineSplitter holds no more than maxLineBytes of a line that goes on without a line end (progress updates pass on as they come, by default too), and finds the announcement after its last "\\r"', () => {
    for (const partialLogs of [false, true]) {
      const s = new LineSplitter(1024, { partialLogs });
      let pushed = 0;
      let passed = 0;
      for (let n = 0; n < 2000; n++) {
        const chunk = Buffer.from(`progress ${n}\r`);
        pushed += chunk.length;
        for (const l of s.push(chunk)) {
          expect(l.kind).toBe('fragment');
          passed += l.raw.length;
        }
        expect(pushed - passed).toBeLessThanOrEqual(1024 + 1);
      }
      const last = [...s.push(Buffer.from(`${announceLine}\n`)), ...s.end()];
      expect(last.at(-1)!.kind).toBe('line');
      expect(parseLine(Buffer.from(last.at(-1)!.bytes).toString()).type).toBe('message');
    }
  });

  test('LineSplitter keeps lines split anywhere: by default each line comes whole', () => {
    const s = new LineSplitter(100);
    const bytes = Buffer.from('ab\ncd\r\nef');
    const lines = [...bytes].flatMap((b) => s.push(Uint8Array.of(b)));
    lines.push(...s.end());
    expect(lines.map((l) => `${l.kind} ${Buffer.from(l.bytes).toString()}`)).toEqual(['line ab', 'line cd', 'line ef']);
  });

  test('LineSplitter: a protocol line of exactly the limit is taken also when its CR and LF come in separate writes (the held CR counted against the limit: dropped as overlong)', () => {
    const head = '> {"jsonrpc":"2.0","method":"stop-stream","params":["x"]}';
    const line = head + ' '.repeat(DEFAULT_MAX_LINE_BYTES - head.length);
    const kinds = (writes: string[]): string[] => {
      const s = new LineSplitter(DEFAULT_MAX_LINE_BYTES);
      const lines = writes.flatMap((w) => s.push(Buffer.from(w)));
      lines.push(...s.end());
      return lines.map((l) => `${l.kind} ${l.bytes.length}`);
    };
    expect(kinds([`${line}\r\n`])).toEqual([`line ${DEFAULT_MAX_LINE_BYTES}`]);
    expect(kinds([`${line}\r`, '\n'])).toEqual([`line ${DEFAULT_MAX_LINE_BYTES}`]);
    expect(kinds([line, '\r', '\n'])).toEqual([`line ${DEFAULT_MAX_LINE_BYTES}`]);
    // one byte more is overlong however it comes, and so is a CR inside the line
    expect(kinds([`${line} \r`, '\n'])).toEqual(['overlong 256']);
    expect(kinds([`${line}\r`, ' \n'])).toEqual(['overlong 256']);
  });

  test('LineSplitter with partialLogs fed a byte at a time: a protocol line comes whole, a log line in pieces as its bytes come, which join into it', () => {
    const s = new LineSplitter(100, { partialLogs: true });
    const bytes = Buffer.from(`ab\ncd\r\n  >> q\n${announceLine}\r\nef`);
    const lines = [...bytes].flatMap((b) => s.push(Uint8Array.of(b)));
    lines.push(...s.end());
    expect(Buffer.concat(lines.map((l) => l.raw)).equals(bytes)).toBe(true);
    const whole: string[] = [];
    let line = '';
    for (const l of lines) {
      line += Buffer.from(l.bytes).toString();
      if (l.partial === true) continue;
      whole.push(`${l.kind} ${line}`);
      line = '';
    }
    expect(whole).toEqual(['fragment ab', 'fragment cd', 'fragment   >> q', `line ${announceLine}`, 'fragment ef']);
  });

  test('with partialLogs a log line goes on as its bytes come, not at its line end (a progress display, a prompt); one that may still be protocol is held', () => {
    const s = new LineSplitter(1024, { partialLogs: true });
    const push = (text: string | number[]): string[] =>
      s.push(typeof text === 'string' ? Buffer.from(text) : Uint8Array.from(text)).map((l) => `${l.kind}${l.partial === true ? ' partial' : ''} ${JSON.stringify(Buffer.from(l.raw).toString())}`);
    expect(push('\rframes 1')).toEqual(['fragment partial "\\rframes 1"']);
    expect(push('\rframes 2')).toEqual(['fragment partial "\\r"', 'fragment partial "frames 2"']);
    expect(push('\nPress Enter: ')).toEqual(['fragment "\\n"', 'fragment partial "Press Enter: "']);
    expect(push('y\n')).toEqual(['fragment "y\\n"']);
    // blanks alone, or a single '>' so far, may still be a protocol line: held until decided
    expect(push('  ')).toEqual([]);
    expect(push('>')).toEqual([]);
    expect(push('> {')).toEqual(['fragment partial "  >> {"']); // '>>': output
    expect(push('}\n')).toEqual(['fragment "}\\n"']);
    expect(push(' > {"jsonrpc"')).toEqual([]);
    expect(push(':1}\n')).toEqual(['line " > {\\"jsonrpc\\":1}\\n"']);
    // a character's first bytes and a last CR wait for the rest: the pieces' texts join, a CRLF stays whole
    expect(push([0x61, 0xe2, 0x82])).toEqual(['fragment partial "a"']);
    expect(push([0xac, 0x0d])).toEqual(['fragment partial "€"']);
    expect(push('\n')).toEqual(['fragment "\\r\\n"']);
    expect(push('end\r')).toEqual(['fragment partial "end"']);
    expect(s.end().map((l) => `${l.kind} ${JSON.stringify(Buffer.from(l.raw).toString())}`)).toEqual(['fragment "\\r"']);
  });
});

// zerosrc announced the sizes it asked for: 1000 and 100000 for a ring of
// 1024 and 100032 bytes.
test('zerosrc announce=true gives the sizes of its ring as created (the core rounds them up to 64), as zerobuffer run does', async () => {
  const name = ringName('zerosrc-sizes');
  const env = { GST_PLUGIN_PATH: path.join(repoRoot, 'builddir', 'gst-plugin') };
  const child = run('gst-launch-1.0', ['zerosrc', `buffer-name=${name}`, 'metadata-size=1000', 'payload-size=100000',
    'announce=true', '!', 'fakesink'], env);
  try {
    const line = await child.line(/"method":"start-stream"/, 20000);
    const ring = inspectRing(name);
    expect([ring.metadataSize, ring.payloadSize]).toEqual([1024, 100032]);
    expect(line).toBe(`> {"jsonrpc":"2.0","method":"start-stream","params":["${name}",${ring.metadataSize},${ring.payloadSize}]}`);
    // zerosrc announces while gst-launch sets PAUSED, before gst-launch has a SIGINT handler (it installs one
    // in its main loop, which prints the clock): a SIGINT before then kills it, status 130, the ring left
    await child.line(/New clock/, 20000);
  } finally {
    child.proc.kill('SIGINT');
    expect(await child.exit()).toBe(0);
  }
}, 30000);

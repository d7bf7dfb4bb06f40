// Property tests (fast-check) over the two parsers that read another
// process's text: the line protocol and GStreamer caps strings. Whatever the
// input, they answer with an event, a value or their own typed error —
// never a crash — and what the formatter writes parses back to itself.
import fc from 'fast-check';
import { CapsParseError, parseCaps } from '../../src/caps.js';
import { formatMessage } from '../../src/line-protocol/format.js';
import { LineSplitter } from '../../src/line-protocol/line-splitter.js';
import type { StreamMessage } from '../../src/line-protocol/messages.js';
import { isProtocolLine, parseLine } from '../../src/line-protocol/parse-line.js';
import { toEvent } from '../../src/line-protocol/read-lines.js';

const RUNS = { numRuns: 2000 };

// Names the core accepts (docs/PROTOCOL.md §1): any characters but '/' and control
// characters, no "..", not ".", not starting with "sem.sem-w-" or "sem.sem-r-".
const ringName = fc
  .string({ minLength: 1, maxLength: 40, unit: 'grapheme' })
  .filter((n) => !/[/\u0000-\u001f\u007f]/.test(n) && !n.includes('..') && n !== '.' &&
    !/^sem\.sem-[wr]-/.test(n) && Buffer.byteLength(n) <= 245);
// Within the core's limits (64 MiB of metadata, 16 GiB of payload); metadata 0 is a ring without metadata.
const size = fc.integer({ min: 1, max: 64 << 20 });
const metadataSize = fc.integer({ min: 0, max: 64 << 20 });
const message: fc.Arbitrary<StreamMessage> = fc.oneof(
  fc.record({ method: fc.constant('start-stream' as const), name: ringName, metadataSize, payloadSize: size }),
  fc.record({ method: fc.constant('stop-stream' as const), name: ringName }),
);

// JSON values of any shape, for params and for whole messages.
const anyJson = fc.jsonValue({ maxDepth: 3 });

describe('line protocol', () => {
  test('what formatMessage writes parses back to the same message', () => {
    fc.assert(
      fc.property(message, (m) => {
        const event = parseLine(formatMessage(m).replace(/\n$/, ''));
        expect(event).toMatchObject({ type: 'message', message: m });
      }),
      RUNS,
    );
  });

  test('a message after any text and a carriage return (a progress display) parses as the message', () => {
    fc.assert(
      fc.property(fc.string().map((t) => t.replace(/[\r\n]/g, '')), message, (progress, m) => {
        expect(parseLine(`${progress}\r${formatMessage(m).replace(/\n$/, '')}`)).toMatchObject({ type: 'message', message: m });
      }),
      RUNS,
    );
  });

  test('a message whose JSON has raw carriage returns (and other JSON whitespace) between its tokens, after progress and a CR or not, parses as the message', () => {
    const whitespace = fc.string({ unit: fc.constantFrom(' ', '\t', '\r'), minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(fc.option(fc.string().map((t) => t.replace(/[\r\n]/g, ''))), message, fc.array(whitespace, { minLength: 1 }), (progress, m, gaps) => {
        // pretty-printed: a line end between tokens, each replaced by a gap (CRs in it, at least one)
        const json = JSON.stringify(JSON.parse(formatMessage(m).slice(2)), null, 1).split('\n')
          .reduce((text, part, i) => text + (i === 0 ? '' : `${gaps[i % gaps.length]!}\r`) + part, '');
        const line = `${progress === null ? '' : `${progress}\r`}> ${json}`;
        expect(parseLine(line)).toMatchObject({ type: 'message', message: m });
        expect(isProtocolLine(line)).toBe(true);
      }),
      RUNS,
    );
  });

  // The rule, as docs/PROTOCOL.md says it: a start (the line's, or after a CR) whose first non-blank character is a
  // single '>' makes the line protocol when what follows it parses as a JSON object (CRs in it are whitespace), or
  // when no CR with text after it follows (what a terminal shows last: a bad line is then a warning)
  const protocolByTheRule = (line: string): boolean =>
    [0, ...[...line.matchAll(/\r/g)].map((m) => m.index + 1)].some((start) => {
      const shown = line.slice(start).replace(/^[ \t\r\v\f]+/, '');
      if (!shown.startsWith('>') || shown.startsWith('>>')) return false;
      const rest = shown.slice(1);
      if (!/\r[ \t\r\v\f]*[^ \t\r\v\f]/.test(rest)) return true;
      if (!/^[ \t\v\f]*\{/.test(rest)) return false;
      try {
        JSON.parse(rest);
        return true;
      } catch {
        return false;
      }
    });

  test('any line is a log line, a message or a warning, never an exception; protocol (message or warning) by the rule, as isProtocolLine says', () => {
    // Starts (blanks, a mark or not, then JSON, JSON with CRs for its line ends, or text) joined by CRs, blanks and CRs after
    const blanks = fc.string({ unit: fc.constantFrom(' ', '\t', '\r'), maxLength: 3 });
    const body = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? ''),
      fc.tuple(fc.jsonValue({ maxDepth: 2 }), blanks).map(([v, gap]) => (JSON.stringify(v, null, 1) ?? '').replace(/\n/g, `${gap}\r`)),
      fc.string({ maxLength: 12 }).map((t) => t.replace(/\n/g, '')),
    );
    const start = fc.tuple(blanks, fc.constantFrom('', '>', '> ', '>>'), body).map((parts) => parts.join(''));
    const crLine = fc.tuple(fc.array(start, { minLength: 1, maxLength: 4 }), fc.constantFrom('\r', '\r\r'), blanks)
      .map(([starts, cr, end]) => starts.join(cr) + end);
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string().map((s) => `> ${s}`), crLine), (line) => {
        const event = parseLine(line);
        expect(['log', 'message', 'warning']).toContain(event.type);
        const protocol = protocolByTheRule(line);
        expect(isProtocolLine(line)).toBe(protocol);
        if (!protocol) expect(event).toEqual({ type: 'log', text: line, raw: new Uint8Array(0) });
        else expect(event.type).not.toBe('log');
      }),
      { numRuns: 5000 },
    );
  });

  test('protocol lines with arbitrary JSON are messages only when valid, else warnings with a reason', () => {
    const envelope = fc.record(
      {
        jsonrpc: fc.oneof(fc.constant('2.0'), anyJson),
        method: fc.oneof(fc.constantFrom('start-stream', 'stop-stream'), anyJson),
        params: fc.oneof(
          fc.tuple(fc.oneof(ringName, anyJson), fc.oneof(size, anyJson), fc.oneof(size, anyJson)),
          anyJson,
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(envelope, (body) => {
        const event = parseLine(`> ${JSON.stringify(body)}`);
        if (event.type === 'warning') expect(event.reason.length).toBeGreaterThan(0);
        else expect(event.type).toBe('message');
      }),
      RUNS,
    );
  });

  test.each([false, true])('however a byte stream is cut into chunks, the lines are the same (a log line\'s pieces joined), a protocol line comes whole, and no byte is lost (partialLogs %s)', (partialLogs) => {
    const stream = fc.uint8Array({ maxLength: 600 }).map((bytes) =>
      // plenty of line ends, CRs and '>' so that all paths are taken
      bytes.map((b) => [0x0a, 0x0d, 0x3e, 0x20][b % 8] ?? b));
    fc.assert(
      fc.property(stream, fc.array(fc.nat({ max: 600 }), { maxLength: 12 }), (bytes, cuts) => {
        /** Each line: its pieces (partial) joined, as "protocol", "log" or "overlong", and its bytes. */
        const split = (chunks: Uint8Array[]): { raw: Buffer; lines: string[] } => {
          const splitter = new LineSplitter(64, { partialLogs });
          const pieces = [...chunks.flatMap((c) => splitter.push(c)), ...splitter.end()];
          const lines: string[] = [];
          let held: Uint8Array[] = [];
          for (const piece of pieces) {
            held.push(piece.raw);
            if (piece.partial === true) continue;
            const whole = held.length === 1 && piece.kind === 'line' && isProtocolLine(Buffer.from(piece.bytes).toString('latin1'));
            const what = piece.kind === 'overlong' ? 'overlong' : whole ? 'protocol' : 'log';
            lines.push(`${what} ${Buffer.concat(held).toString('hex')}`);
            held = [];
          }
          expect(held).toEqual([]);
          return { raw: Buffer.concat(pieces.map((p) => p.raw)), lines };
        };
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const chunks = [0, ...points, bytes.length].slice(1).map((end, i, ends) => bytes.subarray(i ? ends[i - 1] : 0, end));
        const whole = split([bytes]);
        const cut = split(chunks);
        expect(cut.raw).toEqual(Buffer.from(bytes));
        expect(cut.lines).toEqual(whole.lines);
      }),
      RUNS,
    );
  });
});

describe('line protocol past the limit', () => {
  // Lines of pieces (progress, blanks, JSON, marks, announcements) around carriage returns, often longer than the limit.
  const LIMIT = 256;
  const piece = fc.oneof(
    fc.constantFrom('\r', '\r\r', '\r  ', '> ', '>>', ' ', 'frame 12 of 99, 3.2 MB/s', '{"jsonrpc":"2.0",', '"method":"start-stream",',
      '"params":["a",1,1]}', '> {"jsonrpc":"2.0","method":"stop-stream","params":["b"]}', '> p 50%\r', '  > [==>  ] 50%\r', '>\r',
      '> [1,\r2]', '> {"jsonrpc":"2.0",\r"method":"stop-stream",\r"params":["c"]}\r'),
    fc.string({ maxLength: 40 }).map((t) => t.replace(/\n/g, '')),
  );
  const lineText = fc.array(piece, { maxLength: 40 }).map((parts) => parts.join(''));

  /** The events of the chunks: a log line's pieces joined (up to a piece not partial, or another event), a message's name, a warning's reason. */
  function events(chunks: Uint8Array[], partialLogs: boolean): string[] {
    const splitter = new LineSplitter(LIMIT, { partialLogs });
    const out: string[] = [];
    let log: string | undefined;
    for (const line of [...chunks.flatMap((c) => splitter.push(c)), ...splitter.end()]) {
      const e = toEvent(line, LIMIT);
      if (e.type === 'log') {
        log = (log ?? '') + e.text;
        if (e.partial === true) continue;
      }
      if (log !== undefined) out.push(`log ${JSON.stringify(log)}`);
      log = undefined;
      if (e.type !== 'log') out.push(e.type === 'message' ? `message ${e.message.name}` : `warning ${e.reason}`);
    }
    if (log !== undefined) out.push(`log ${JSON.stringify(log)}`);
    return out;
  }
  const cutAt = (bytes: Uint8Array, cuts: number[]): Uint8Array[] => {
    const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
    return [0, ...points, bytes.length].slice(1).map((end, i, ends) => bytes.subarray(i ? ends[i - 1] : 0, end));
  };

  test.each([false, true])('an announcement after a line\'s last carriage return is found whatever precedes it, however long and however the bytes are cut (partialLogs %s)', (partialLogs) => {
    fc.assert(
      fc.property(lineText, message.filter((m) => Buffer.byteLength(formatMessage(m)) <= LIMIT), fc.array(fc.nat(), { maxLength: 12 }), (before, m, cuts) => {
        const bytes = Buffer.from(`${before}\r${formatMessage(m)}`);
        const seen = events(cutAt(bytes, cuts), partialLogs);
        expect(seen.filter((e) => e.startsWith('message '))).toEqual([`message ${m.name}`]);
        expect(seen.at(-1)).toBe(`message ${m.name}`);
      }),
      RUNS,
    );
  });

  // Where the modes differ, by design: with partialLogs, text before a line's last start (progress) goes on as output
  // at each CR that starts the line again, but in an announcement's JSON; by default it is the start of the line that
  // parseLine judges, so it is in a message's line, or a warning's ('> 50%\r> done': one warning, where partialLogs
  // passes "> 50%\r" on and warns of "> done"). Past the limit the modes cut at other bytes (by default more is
  // held), so an overlong line's warning may differ. Messages never differ, nor, when neither mode warns, the bytes.
  test('partialLogs or not, the messages are the same; when neither warns, the output with partialLogs is the default\'s and the text before a message\'s last start', () => {
    /** Log and message events as read: ["log", raw] or ["message NAME", raw] (or a warning). */
    const read = (chunks: Uint8Array[], partialLogs: boolean): [string, string][] => {
      const splitter = new LineSplitter(LIMIT, { partialLogs });
      return [...chunks.flatMap((c) => splitter.push(c)), ...splitter.end()].map((l) => toEvent(l, LIMIT))
        .map((e) => [e.type === 'message' ? `message ${e.message.name}` : e.type, Buffer.from(e.raw).toString()]);
    };
    // also progress updates of any length up to twice the limit, then an announcement with raw CRs in its JSON
    const progressThenAnnouncement = fc.tuple(fc.constantFrom('p 1%\r', '> p 1%\r', '  > [=>] 9%\r', 'frame 12 of 99\r'), fc.nat({ max: 100 }))
      .map(([update, n]) => `${update.repeat(n)}> {"jsonrpc":"2.0",\r"method":"stop-stream",\r"params":["c"]}\r`);
    fc.assert(
      fc.property(fc.array(fc.oneof(lineText, progressThenAnnouncement), { maxLength: 4 }), fc.array(fc.nat(), { maxLength: 12 }), (lines, cuts) => {
        const bytes = Buffer.from(lines.join('\n'));
        const whole = read([bytes], false);
        const partial = read(cutAt(bytes, cuts), true);
        const messages = (seen: [string, string][]): [string, string][] => seen.filter(([what]) => what.startsWith('message '));
        expect(messages(partial).map(([what]) => what)).toEqual(messages(whole).map(([what]) => what));
        if (whole.some(([what]) => what === 'warning') || partial.some(([what]) => what === 'warning')) return;
        expect(partial.map(([, raw]) => raw).join('')).toBe(bytes.toString());
        expect(whole.map(([, raw]) => raw).join('')).toBe(bytes.toString());
        // a message's line with partialLogs is the end of the default's: what precedes it went on as output
        messages(partial).forEach(([, raw], i) => expect(messages(whole)[i]![1].endsWith(raw)).toBe(true));
      }),
      RUNS,
    );
  });

  test.each([false, true])('lines past the limit with carriage returns give the same events however the bytes are cut (partialLogs %s)', (partialLogs) => {
    fc.assert(
      fc.property(fc.array(lineText, { maxLength: 4 }), fc.array(fc.nat(), { maxLength: 12 }), (lines, cuts) => {
        const bytes = Buffer.from(lines.join('\n'));
        expect(events(cutAt(bytes, cuts), partialLogs)).toEqual(events([bytes], partialLogs));
      }),
      RUNS,
    );
  });
});

describe('caps parser', () => {
  test('any text parses or fails with CapsParseError, nothing else', () => {
    const capsLike = fc.array(
      fc.oneof(fc.constantFrom('video/x-raw', ', ', '=', '(int)', '(string)', '(fraction)', '{ ', ' }', '[ ', ' ]',
        '< ', ' >', '"', '\\', ';', '/', '30/1', '-1', 'I420', ' '), fc.string({ maxLength: 4 })),
      { maxLength: 30 },
    ).map((parts) => parts.join(''));
    fc.assert(
      fc.property(fc.oneof(fc.string(), capsLike), (text) => {
        try {
          parseCaps(text);
        } catch (e) {
          expect(e).toBeInstanceOf(CapsParseError);
        }
      }),
      RUNS,
    );
  });

  test('caps written the way gst_caps_to_string prints them parse back to their values', () => {
    const fieldName = fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/);
    const value = fc.oneof(
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((v) => ({ text: `(int)${v}`, value: v })),
      fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,10}$/).map((v) => ({ text: `(string)${v}`, value: v })),
      fc.tuple(fc.integer({ min: 0, max: 240000 }), fc.integer({ min: 1, max: 1001 }))
        .map(([n, d]) => ({ text: `(fraction)${n}/${d}`, value: { numerator: n, denominator: d } })),
      fc.boolean().map((v) => ({ text: `(boolean)${v}`, value: v })),
    );
    const structure = fc.tuple(
      fc.constantFrom('video/x-raw', 'image/jpeg', 'audio/x-raw'),
      fc.uniqueArray(fc.tuple(fieldName, value), { selector: ([k]) => k, maxLength: 6 }),
    );
    fc.assert(
      fc.property(structure, ([mediaType, fields]) => {
        const text = [mediaType, ...fields.map(([k, v]) => `${k}=${v.text}`)].join(', ');
        const caps = parseCaps(text);
        expect(caps.structures).toHaveLength(1);
        expect(caps.structures[0]!.mediaType).toBe(mediaType);
        for (const [k, v] of fields) expect(caps.structures[0]!.fields[k]!.value).toEqual(v.value);
      }),
      RUNS,
    );
  });
});

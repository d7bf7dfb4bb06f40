// Hostile and odd input at the CLI's edges, end to end: a protocol line
// nested deep, img= streams whose timestamps or attributes the frame header
// cannot carry as they are, a foreign writer's attributes that img= cannot
// carry, a peer announcing many rings. Each is told clearly and loses
// nothing else: never a stack trace, never "unexpected error".
import { jest } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXIT } from '../../src/cli/exit-codes.js';
import { parseImgMessages, ZeroBufferReader, type ImgMessage } from '../../src/index.js';
import { native, type NativeWriter } from '../../src/native.js';
import { repoRoot, run, sleep } from './helpers.js';

jest.setTimeout(60000);

const bin = path.join(repoRoot, 'dist', 'cli', 'bin.js');
const gstEnv = { GST_PLUGIN_PATH: path.join(repoRoot, 'builddir', 'gst-plugin') };
const prefix = `cl${process.pid}-`;
const clName = (tag: string): string => `${prefix}${tag}-${randomUUID().slice(0, 8)}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-cl-'));

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  expect(fs.readdirSync('/dev/shm').filter((n) => n.includes(prefix))).toEqual([]);
});

/** A command for watch: a node script printing `lines` one by one, flushed. */
function printer(lines: string[], pauseMs = 100): string[] {
  const script = `const lines = ${JSON.stringify(lines)};
    (async () => { for (const l of lines) { process.stdout.write(l + '\\n'); await new Promise((r) => setTimeout(r, ${pauseMs})); } })();`;
  return [process.execPath, '-e', script];
}

test('watch: a protocol line nested 5,000 deep (10 KB) is a warning, and so is one whose name is nested so deep (no string: a malformed line), never a stack trace', async () => {
  const deep = `> {"jsonrpc":${'['.repeat(5000)}${']'.repeat(5000)}}`;
  const child = run(process.execPath, [bin, 'watch', '--pipeline', 'videotestsrc', '--',
    ...printer(['hello before', deep, `> {"jsonrpc":"2.0","method":"start-stream","params":[${'['.repeat(5000)}${']'.repeat(5000)},1,1]}`,
      'after 0', 'after 1'])], gstEnv);
  expect(await child.exit()).toBe(EXIT.ok);
  expect(child.stdout).toEqual(['hello before', 'after 0', 'after 1']);
  expect(child.stderr).toMatch(/ignored protocol line: "jsonrpc" must be "2.0", received an array of 1 value/);
  expect(child.stderr).toMatch(/name must be a string, received an array of 1 value/);
  expect(child.stderr).not.toMatch(/RangeError|Maximum call stack|unexpected error|\n\s+at /);
});

test('watch: a bad line nested deep among logs ends nothing: every later line passes, status 0', async () => {
  const child = run(process.execPath, [bin, 'watch', '--pipeline', 'videotestsrc', '--',
    ...printer(['hello before', `> {"jsonrpc":"2.0","method":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`, 'after 0', 'after 1', 'after 2'])], gstEnv);
  expect(await child.exit()).toBe(EXIT.ok);
  expect(child.stdout).toEqual(['hello before', 'after 0', 'after 1', 'after 2']);
  expect(child.stderr).toMatch(/ignored protocol line: unknown method an object \(expected/);
  expect(child.stderr).not.toMatch(/RangeError|Maximum call stack|unexpected error/);
});

test('watch: a line whose first non-blank is ">" after a Unicode blank (NBSP, U+3000) is output, short or over 64 KiB alike (short, it was swallowed as a bad protocol line)', async () => {
  const lines = ['\u00a0> not json', `\u00a0> ${'y'.repeat(70000)}`, '\u3000> {"jsonrpc":"2.0","method":"start-stream","params":["x",1,1]}', 'after'];
  const child = run(process.execPath, [bin, 'watch', '--pipeline', 'videotestsrc', '--', ...printer(lines, 20)], gstEnv);
  expect(await child.exit()).toBe(EXIT.ok);
  expect(child.stdout).toEqual(lines);
  expect(child.stderr).not.toMatch(/ignored protocol line/);
});

test('watch: a refused name of 60,000 characters is shown cut, not whole', async () => {
  const child = run(process.execPath, [bin, 'watch', '--pipeline', 'videotestsrc', '--',
    ...printer([`> {"jsonrpc":"2.0","method":"start-stream","params":["${'n'.repeat(60000)}",4096,65536]}`, 'after'])], gstEnv);
  expect(await child.exit()).toBe(EXIT.pipeline);
  expect(child.stderr).toMatch(/invalid ring name "n{80}…"/);
  expect(child.stderr.length).toBeLessThan(5000);
});

/** One img= message of h×w zero pixels with the header's attribute text `attrs` (raw bytes, as a camera sends them). */
function img(h: number, w: number, attrs = ''): Buffer {
  return Buffer.concat([Buffer.from(`img=\x01u16[${h},${w}]`), Buffer.from(attrs, 'latin1'), Buffer.from('\x02'),
    Buffer.alloc(h * w * 2), Buffer.from('\x03\n')]);
}

/** Runs `zerobuffer ingest img FILE` (the bytes written to a file) into a new ring; its frames as a Node reader got them. */
async function ingest(bytes: Buffer, tag: string): Promise<{ code: number; stderr: string; frames: { pts?: number; attributes?: Record<string, unknown>; format?: string }[] }> {
  const reader = await ZeroBufferReader.create({ name: clName(tag), metadataSize: 4096, payloadSize: 1 << 20 });
  const file = path.join(dir, `${tag}.img`);
  fs.writeFileSync(file, bytes);
  const child = run(process.execPath, [bin, 'ingest', 'img', file, '--name', reader.name]);
  const frames: { pts?: number; attributes?: Record<string, unknown>; format?: string }[] = [];
  try {
    for await (const f of reader.frames({ timeoutMs: 15000 })) frames.push({ pts: f.pts, attributes: f.attributes, format: f.videoInfo?.format });
  } finally {
    await reader.close();
  }
  return { code: await child.exit(), stderr: child.stderr, frames };
}

test('ingest: timestamps 2^64 ns or more apart (year 1000, then 9999): the one out of reach is stamped by its arrival, as one going back; status 0', async () => {
  const r = await ingest(Buffer.concat([img(2, 2, ' timestamp={1000-01-01T00:00:00Z}'),
    img(2, 2, ' timestamp={9999-12-31T23:59:59.999999999Z}'), img(2, 2, ' timestamp={1000-01-01T00:00:01Z}')]), 'ts');
  expect(r.stderr).not.toMatch(/unexpected error|TypeError|\n\s+at /);
  expect(r.code).toBe(EXIT.ok);
  // the second: the first's PTS plus the time between their arrivals (well under the third's second)
  const pts = r.frames.map((f) => f.pts);
  expect({ first: pts[0], third: pts[2] }).toEqual({ first: 0, third: 1_000_000_000 });
  expect(pts[1]).toBeGreaterThanOrEqual(0);
  expect(pts[1]).toBeLessThan(1_000_000_000);
});

test.each([
  ['a value of 65,500 bytes', ' a=' + 'x'.repeat(65500), /attributes take 65508 bytes as JSON, more than the 65480 a frame header holds/],
  ['12,000 control bytes, escaped 6-fold in JSON', ` a={${'\x07'.repeat(12000)}}`, /attributes take 72010 bytes as JSON, more than the 65480/],
])('ingest: attributes the frame header cannot hold (%s) are a bad stream (status 6), the images before it stay', async (_, attrs, said) => {
  const first = img(2, 2, ' n=1');
  const r = await ingest(Buffer.concat([first, img(2, 2, attrs), img(2, 2, ' n=3')]), 'big');
  expect(r.stderr).not.toMatch(/unexpected error|TypeError|\n\s+at /);
  expect(r.code).toBe(EXIT.stream);
  expect(r.stderr).toMatch(said);
  expect(r.stderr).toContain(`(img= stream, byte ${first.length})`); // where image 2 begins
  expect(r.stderr).toMatch(/image 2: .*the image before it is in ring/);
  expect(r.frames.map((f) => f.attributes)).toEqual([{ n: '1' }]);
});

test('ingest: a stream bad before its first image says no image was written (status 6), not that images are in the ring', async () => {
  const file = path.join(dir, 'garbage.img');
  fs.writeFileSync(file, 'garbage');
  const child = run(process.execPath, [bin, 'ingest', 'img', file, '--name', clName('no-ring')]);
  expect(await child.exit()).toBe(EXIT.stream);
  expect(child.stderr).toMatch(/expected "img=".*found byte 0x67.*; no image was written\n$/);
});

test('ingest: an attribute named caps (reserved: the frame\'s own caps) is renamed img.caps with one warning; the frames stay GRAY16 as the ring says', async () => {
  const rgb = 'video/x-raw,format=(string)RGB,width=(int)1,height=(int)1,framerate=(fraction)0/1';
  const r = await ingest(Buffer.concat([img(2, 2, ` caps=${rgb}`), img(2, 2, ` caps=${rgb} img.caps=mine`), img(2, 2)]), 'caps');
  expect(r.code).toBe(EXIT.ok);
  expect(r.frames.map((f) => f.format)).toEqual(['GRAY16_BE', 'GRAY16_BE', 'GRAY16_BE']);
  expect(r.frames.map((f) => f.attributes)).toEqual([{ 'img.caps': rgb }, { 'img.caps.2': rgb, 'img.caps': 'mine' }, {}]);
  expect(r.stderr.match(/warning: image 1: attribute "caps" is reserved .*: sent as "img.caps"/g)).toHaveLength(1);
});

test('ingest: an attribute name given twice in a header keeps its last value, with one warning per name', async () => {
  const r = await ingest(Buffer.concat([img(2, 2, ' k=v n=1 k=w k=x'), img(2, 2, ' k=1 k=2 n=2 n=3')]), 'twice');
  expect(r.code).toBe(EXIT.ok);
  expect(r.frames.map((f) => f.attributes)).toEqual([{ k: 'x', n: '1' }, { k: '2', n: '3' }]);
  expect(r.stderr.match(/warning: image \d: attribute "\w" is given more than once: its last value is kept/g))
    .toEqual(['warning: image 1: attribute "k" is given more than once: its last value is kept',
      'warning: image 2: attribute "n" is given more than once: its last value is kept']);
});

test('ingest: an attribute named __proto__ is kept as it came, with the others', async () => {
  const r = await ingest(img(2, 2, ' __proto__=x b=1 constructor=y'), 'proto');
  expect(r.code).toBe(EXIT.ok);
  expect(r.frames).toHaveLength(1);
  expect(Object.entries(r.frames[0]!.attributes!)).toEqual([['__proto__', 'x'], ['b', '1'], ['constructor', 'y']]);
});

/** A native writer on the ring `serve` makes, once it has made it. */
async function writerOnceServed(name: string, serve: ReturnType<typeof run>): Promise<NativeWriter> {
  let w: NativeWriter | undefined;
  for (const end = Date.now() + 10000; w === undefined && Date.now() < end; await sleep(20)) {
    try {
      w = new native.Writer(name);
    } catch {
      // not created yet
    }
  }
  if (w === undefined) throw new Error(`serve made no ring "${name}" within 10 s: ${serve.stderr}`);
  return w;
}

/**
 * `serve img OUT` on a new ring, and a native writer on it (once serve has
 * made it) with zerosink's metadata for 2×2 GRAY16_BE frames with headers.
 */
async function serveImgFile(name: string, out: string): Promise<{ serve: ReturnType<typeof run>; w: NativeWriter }> {
  const serve = run(process.execPath, [bin, 'serve', 'img', out, '--name', name]);
  const w = await writerOnceServed(name, serve);
  const caps = 'video/x-raw, format=(string)GRAY16_BE, width=(int)2, height=(int)2, framerate=(fraction)0/1';
  w.setMetadata(native.declareFrameHeader(Buffer.from(JSON.stringify({ type: 'gstreamer-sink', caps }))));
  return { serve, w };
}

// A writer that breaks the protocol, its frames written while serve is
// stopped (SIGSTOP) so that the bytes it finds are already the bad ones: a
// frame of another size than its caps, one out of sequence, one whose size
// runs past the ring. Serve ends as run does for a ring error: status 4,
// the error named, the image before it served.
test.each([
  { code: 'EFRAMESIZE', message: 'frame 2 has 7 bytes, but GRAY16_BE 2x2 frames have 8' },
  { code: 'ESEQUENCE', message: 'expected frame 2, got 9' },
  { code: 'EPROTO', message: 'claims 1099511627776 bytes' },
])('serve: a writer that breaks the protocol ($code) ends it with status 4, a ring error naming it; the image before it is served', async ({ code, message }) => {
  const name = clName(`serve-bad-${code}`);
  const out = path.join(dir, `served-${code}.img`);
  const serve = run(process.execPath, [bin, 'serve', 'img', out, '--name', name]);
  const w = await writerOnceServed(name, serve);
  serve.proc.kill('SIGSTOP');
  try {
    w.setMetadata(Buffer.from(JSON.stringify({ caps: 'video/x-raw, format=(string)GRAY16_BE, width=(int)2, height=(int)2, framerate=(fraction)0/1' })));
    await w.write(new Uint8Array(8).fill(1), 3000);
    const second = native.healthByName(name).writePos;
    await w.write(new Uint8Array(code === 'EFRAMESIZE' ? 7 : 8).fill(2), 3000);
    if (code !== 'EFRAMESIZE') { // its frame header, after the OIEB and the metadata block: size, then sequence
      const field = Buffer.alloc(8);
      field.writeBigUInt64LE(code === 'ESEQUENCE' ? 9n : 1n << 40n);
      const fd = fs.openSync(`/dev/shm/${name}`, 'r+');
      fs.writeSync(fd, field, 0, 8, 128 + native.healthByName(name).metadataSize + second + (code === 'ESEQUENCE' ? 8 : 0));
      fs.closeSync(fd);
    }
  } finally {
    serve.proc.kill('SIGCONT');
  }
  const status = await serve.exit();
  w.close();
  expect(status).toBe(EXIT.ring);
  expect(serve.stderr).toContain(`zerobuffer serve: ring ${name}: `);
  expect(serve.stderr).toMatch(new RegExp(`${message.replace(/[()]/g, '\\$&')}.*\\(${code}\\)`));
  const got: ImgMessage[] = [];
  for await (const m of parseImgMessages(fs.createReadStream(out))) got.push(m);
  expect(got.map((m) => [...m.pixels])).toEqual([[1, 1, 1, 1, 1, 1, 1, 1]]);
});

test('serve: img.encoding "latin1" writes the header in Latin-1; one it cannot honour (a value beyond U+00FF, another encoding) sends UTF-8, told once', async () => {
  const name = clName('serve-l1');
  const out = path.join(dir, 'served-latin1.img');
  const { serve, w } = await serveImgFile(name, out);
  const attrs = (o: object): Uint8Array => {
    const text = Buffer.from(JSON.stringify(o));
    return Buffer.concat([text, Buffer.alloc(((text.length + 7) & ~7) - text.length, ' ')]);
  };
  for (const a of [{ 'img.encoding': 'latin1', unit: '€' }, { 'img.encoding': 'utf-16', unit: 'µs' }, { unit: 'µs', 'img.encoding': 'latin1' }])
    await w.write(new Uint8Array(8).fill(7), 3000, { attributes: attrs(a) });
  w.close();
  expect(await serve.exit()).toBe(EXIT.ok);
  expect(serve.stderr.match(/warning: frame 1: attribute img.encoding is "latin1", but a value has characters beyond Latin-1: the header is sent as UTF-8/g)).toHaveLength(1);
  expect(serve.stderr).not.toMatch(/frame [23]:/); // told once
  const bytes = fs.readFileSync(out);
  const headers = [...bytes.toString('latin1').matchAll(/\x01(u16[^\x02]*)\x02/g)].map((m) => Buffer.from(m[1]!, 'latin1'));
  expect(headers.map((h) => h.toString('hex'))).toEqual([
    Buffer.from('u16[2,2] unit=€', 'utf8'), Buffer.from('u16[2,2] unit=µs', 'utf8'), Buffer.from('u16[2,2] unit=µs', 'latin1'),
  ].map((h) => h.toString('hex')));
});

test('serve: a foreign writer\'s attributes img= cannot carry (a name "a b", a value nested 5,000 deep, bytes that are not JSON) are left out with one warning each; every frame is served, status 0', async () => {
  const name = clName('serve');
  const out = path.join(dir, 'served.img');
  const { serve, w } = await serveImgFile(name, out);
  const attrs = (text: string): Uint8Array => Buffer.from(text.padEnd((text.length + 7) & ~7, ' '));
  const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
  for (const text of ['{"n":1,"a b":"x"}', `{"n":2,"deep":${deep}}`, 'not JSON', `{"n":4,"a b":"y","deep":${deep}}`])
    await w.write(new Uint8Array(8).fill(7), 3000, { attributes: attrs(text) });
  w.close();
  expect(await serve.exit()).toBe(EXIT.ok);
  expect(serve.stderr).not.toMatch(/unexpected error|RangeError|\n\s+at /);
  expect(serve.stderr).toMatch(/4 images served/);
  expect(serve.stderr.match(/warning: frame 1: attribute name "a b" is none img= can carry/g)).toHaveLength(1);
  expect(serve.stderr.match(/warning: frame 2: attribute deep: its value \(an array of 1 value\) is nested too deep/g)).toHaveLength(1);
  expect(serve.stderr.match(/warning: frame 3: its 8 attribute bytes are not a JSON object: sent without attributes/g)).toHaveLength(1);
  const got: ImgMessage[] = [];
  for await (const m of parseImgMessages(fs.createReadStream(out))) got.push(m);
  expect(got.map((m) => ({ ...m.attributes }))).toEqual([{ n: '1' }, { n: '2' }, {}, { n: '4' }]);
  expect(got.every((m) => Buffer.from(m.pixels).equals(Buffer.alloc(8, 7)))).toBe(true);
});

test('serve: a value with braces or control characters (a Node writer\'s) goes out braced without them, told once per name; a value with spaces goes out braced, as it is', async () => {
  const name = clName('serve-br');
  const out = path.join(dir, 'served-braces.img');
  const { serve, w } = await serveImgFile(name, out);
  const attrs = (o: object): Uint8Array => {
    const text = Buffer.from(JSON.stringify(o));
    return Buffer.concat([text, Buffer.alloc(((text.length + 7) & ~7) - text.length, ' ')]);
  };
  for (const a of [{ set: 'a{b}c', tab: 'x\ty', say: 'p q' }, { set: '{d}', tab: 'z\u0001', say: 'r s' }])
    await w.write(new Uint8Array(8).fill(7), 3000, { attributes: attrs(a) });
  w.close();
  expect(await serve.exit()).toBe(EXIT.ok);
  expect(serve.stderr.match(/warning: frame 1: attribute set: its value "a\{b\}c" has braces or control characters, which img= cannot carry: sent without them/g)).toHaveLength(1);
  expect(serve.stderr.match(/warning: frame 1: attribute tab: its value "x\\ty" has braces or control characters/g)).toHaveLength(1);
  expect(serve.stderr).not.toMatch(/frame 2:|attribute say/); // once per name; spaces are carried
  const got: ImgMessage[] = [];
  for await (const m of parseImgMessages(fs.createReadStream(out))) got.push(m);
  expect(got.map((m) => ({ ...m.attributes }))).toEqual([
    { set: '{abc}', tab: '{xy}', say: '{p q}' }, { set: '{d}', tab: '{z}', say: '{r s}' },
  ]);
});

test('watch: a command announcing more rings than --max-pipelines gets that many pipelines; the announcements beyond are ignored with a warning each', async () => {
  const names = Array.from({ length: 5 }, (_, i) => clName(`many${i}`));
  const child = run(process.execPath, [bin, 'watch', '--max-pipelines', '2', '--pipeline', 'videotestsrc', '--',
    ...printer([...names.map((n) => `> {"jsonrpc":"2.0","method":"start-stream","params":["${n}",4096,1048576]}`), 'done'], 50)], gstEnv);
  // the command exits 0 after 300 ms, before zerosink's 2 s connect-timeout for rings no reader created
  expect(await child.exit()).toBe(EXIT.ok);
  expect(child.stderr.match(/zerobuffer watch: start-stream \S+/g)).toEqual(names.slice(0, 2).map((n) => `zerobuffer watch: start-stream ${n}`));
  for (const n of names.slice(2))
    expect(child.stderr).toContain(`ignored protocol line: start-stream for ring "${n}": 2 pipelines run already, the most at once`);
  expect(child.stderr).not.toMatch(/unexpected error/);
});

test('watch: --max-pipelines takes a whole number of 1 or more; the help names it and its default, 64', () => {
  const bad = spawnSync(process.execPath, [bin, 'watch', '--max-pipelines', '0', '--pipeline', 'videotestsrc', '--', 'true'], { encoding: 'utf8' });
  expect(bad.status).toBe(EXIT.usage);
  expect(bad.stderr).toMatch(/--max-pipelines expects a whole number of 1 or more, got "0"/);
  const help = spawnSync(process.execPath, [bin, 'watch', '--help'], { encoding: 'utf8' });
  expect(help.stdout).toMatch(/--max-pipelines[^\n]*\n?[^\n]*default: 64/);
});

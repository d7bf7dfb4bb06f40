// In-place answers (docs/PROTOCOL.md §9.4) from ZeroBufferDuplexServer: a
// client emulated with the Node writer and reader (its request ring's
// metadata declares "in_place" through the core) gets header-only responses
// flagged ZB_EXT_IN_PLACE, with its requests' timestamps, and finds the
// handler's drawing in its request ring (/dev/shm, searched for the bytes:
// no ring arithmetic here); bytes, reply.reserve() and a copied request
// (the copying fallback, in a child process) are ordinary answers after the
// frame header; inPlace:false or a client without the declaration get what
// they got before (no header, copies); a returning client is asked again;
// zerofilter in a real gst-launch-1.0 gets its frames back exact, in place
// when it declares in_place.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  ZeroBufferDuplexClient, ZeroBufferDuplexServer, ZeroBufferReader, ZeroBufferWriter, duplexRingNames,
  type DuplexHandler, type Frame,
} from '../../src/index.js';
import { native } from '../../src/native.js';
import { leftovers, repoRoot, ringName, run, settledWithin } from './helpers.js';

const SIZE = 4096;
const encode = (s: string): Uint8Array => new TextEncoder().encode(s);
const inverted = (b: Uint8Array): Uint8Array => b.map((v) => 255 - v);
/** Request metadata as zerofilter writes it: caps, the frame header and (when asked) in-place answers declared by the core. */
function requestMetadata(options: { inPlace: boolean; frameHeader: boolean }): Uint8Array {
  let bytes = encode(JSON.stringify({ type: 'gstreamer-sink', caps: 'application/octet-stream' }));
  if (options.frameHeader) bytes = native.declareFrameHeader(bytes);
  if (options.inPlace) bytes = native.declareInPlace(bytes);
  return bytes;
}

/** A duplex client made of a writer (requests) and a reader (responses), as zerofilter is. */
class EmulatedClient {
  private constructor(readonly requests: ZeroBufferWriter, readonly responses: ZeroBufferReader) {}

  static async connect(channel: string, metadata: Uint8Array): Promise<EmulatedClient> {
    const rings = duplexRingNames(channel);
    const requests = await ZeroBufferWriter.connect(rings.request);
    requests.setMetadata(metadata); // before the response ring exists, as zerofilter does
    const responses = await ZeroBufferReader.create({ name: rings.response, metadataSize: 4096, payloadSize: 1 << 20, timeoutMs: 5000 });
    return new EmulatedClient(requests, responses);
  }

  /** Sends the requests (with a frame header when the metadata declares one), then takes their responses. */
  async roundTrips(requests: Uint8Array[], first = 1): Promise<Frame[]> {
    const responses: Frame[] = [];
    for (const [i, data] of requests.entries()) {
      const n = first + i;
      await this.requests.write(data, this.requests.frameHeader ? { pts: n * 1000, dts: n * 1000 - 1, duration: 33, flags: n } : {});
      responses.push((await this.responses.next())!);
    }
    return responses;
  }

  close(): void {
    this.requests.closeSync();
    this.responses.closeSync();
  }
}

/** The bytes of a ring's shared memory segment now. */
const segment = (ring: string): Buffer => fs.readFileSync(`/dev/shm/${ring}`);

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

test('a client that declares in_place: answers are the header alone (ZB_EXT_IN_PLACE) and the drawing is in its request ring', async () => {
  const channel = ringName('ip');
  const server = await ZeroBufferDuplexServer.create({ name: channel });
  const clients: { inPlace: boolean }[] = [];
  server.on('client', (_ring: string, info: { inPlace: boolean }) => clients.push(info));
  const serving = server.serve((frame) => {
    const d = frame.data; // the request where it lies in the ring: draw on it
    for (let i = 0; i < d.length; i++) d[i] = 255 - d[i]!;
    return frame;
  });
  const client = await EmulatedClient.connect(channel, requestMetadata({ inPlace: true, frameHeader: true }));
  const requests = Array.from({ length: 8 }, () => new Uint8Array(randomBytes(SIZE)));
  const responses = await client.roundTrips(requests.map((r) => r.slice()));
  const ring = segment(server.requestRing);
  for (const [i, res] of responses.entries()) {
    const n = i + 1;
    expect(res.sequence).toBe(n);
    expect(res.inPlace).toBe(true);
    expect(res.zbFlags).toBe(native.extInPlace);
    expect(res.size).toBe(0); // no bytes of its own
    expect([res.pts, res.dts, res.duration, res.flags]).toEqual([n * 1000, n * 1000 - 1, 33, n]);
    // the answer is the request's bytes as the handler left them
    expect(ring.indexOf(Buffer.from(inverted(requests[i]!)))).toBeGreaterThan(0);
    expect(ring.indexOf(Buffer.from(requests[i]!))).toBe(-1);
    res.release();
  }
  expect(client.responses.metadata?.frameHeader).toBe(true);
  expect(client.responses.metadata?.json).toMatchObject({ type: 'zerobuffer-duplex-server' });
  expect(clients).toEqual([{ inPlace: true }]);
  client.close();
  await serving;
  expect(server.stats()).toMatchObject({ requests: 8, responses: 8, inPlace: 8, copied: 0 });
  await server.close();
}, 30000);

test('in place or not, per answer: bytes, reply.reserve() and a handler error under pass', async () => {
  const channel = ringName('ipmix');
  const server = await ZeroBufferDuplexServer.create({ name: channel, onError: 'pass' });
  const serving = server.serve((async (frame, reply) => {
    switch (frame.sequence % 4) {
      case 1: return frame; // unchanged: in place
      case 2: return inverted(frame.data); // new bytes: copied, after the header
      case 3: { // filled in the response ring, after the header
        const out = await reply.reserve(frame.size + 1);
        out.set(frame.data);
        out[frame.size] = 7;
        return undefined;
      }
      default: throw new Error('boom'); // passed through: in place
    }
  }) as DuplexHandler);
  // requests without a frame header of their own: the answers' header fields are "none"
  const client = await EmulatedClient.connect(channel, requestMetadata({ inPlace: true, frameHeader: false }));
  const requests = Array.from({ length: 8 }, () => new Uint8Array(randomBytes(SIZE)));
  const responses = await client.roundTrips(requests);
  for (const [i, res] of responses.entries()) {
    const kind = (i + 1) % 4;
    expect([res.pts, res.dts, res.duration, res.flags]).toEqual([undefined, undefined, undefined, 0]);
    expect(res.inPlace).toBe(kind === 1 || kind === 0);
    if (kind === 2) expect(Buffer.from(res.data).equals(Buffer.from(inverted(requests[i]!)))).toBe(true);
    if (kind === 3) expect(Buffer.from(res.data).equals(Buffer.concat([requests[i]!, Uint8Array.of(7)]))).toBe(true);
    if (res.inPlace) expect([res.size, res.zbFlags]).toEqual([0, native.extInPlace]);
    else expect(res.zbFlags).toBe(0);
    res.release();
  }
  client.close();
  await serving;
  expect(server.stats()).toMatchObject({ responses: 8, inPlace: 4, copied: 4, errors: 2, passed: 2 });
  await server.close();
}, 30000);

test.each([
  ['the server has inPlace: false', true, false],
  ['the client does not declare in_place', false, true],
])('%s: no frame header is declared and every answer is a copy, byte for byte', async (_label, declare, inPlace) => {
  const channel = ringName('ipoff');
  const server = await ZeroBufferDuplexServer.create({ name: channel, inPlace });
  const serving = server.serve((frame) => {
    const d = frame.data;
    for (let i = 0; i < d.length; i++) d[i] = 255 - d[i]!;
    return frame;
  });
  const client = await EmulatedClient.connect(channel, requestMetadata({ inPlace: declare, frameHeader: true }));
  const requests = Array.from({ length: 5 }, () => new Uint8Array(randomBytes(SIZE)));
  const responses = await client.roundTrips(requests);
  for (const [i, res] of responses.entries()) {
    expect(res.inPlace).toBe(false);
    expect(res.zbFlags).toBeUndefined(); // no frame header at all
    expect(Buffer.from(res.data).equals(Buffer.from(inverted(requests[i]!)))).toBe(true);
    res.release();
  }
  expect(client.responses.metadata?.frameHeader).toBe(false);
  client.close();
  await serving;
  expect(server.stats()).toMatchObject({ responses: 5, inPlace: 0, copied: 5 });
  await server.close();
}, 30000);

test('ZeroBufferDuplexClient does not declare in_place: its answers are copies', async () => {
  const channel = ringName('ipnode');
  const server = await ZeroBufferDuplexServer.create({ name: channel });
  const serving = server.serve((frame) => frame);
  const client = await ZeroBufferDuplexClient.connect({ name: channel, metadata: { caps: 'application/octet-stream' } });
  const req = new Uint8Array(randomBytes(SIZE));
  const res = await client.request(req);
  expect(res.inPlace).toBe(false);
  expect(Buffer.from(res.data).equals(Buffer.from(req))).toBe(true);
  res.release();
  await client.close();
  await serving;
  expect(server.stats()).toMatchObject({ inPlace: 0, copied: 1 });
  await server.close();
}, 30000);

test('a returning client is asked again: in place on each new response ring, whether serve() returned in between or not', async () => {
  const channel = ringName('ipback');
  const server = await ZeroBufferDuplexServer.create({ name: channel });
  const seen: { inPlace: boolean }[] = [];
  server.on('client', (_ring: string, info: { inPlace: boolean }) => seen.push(info));
  let stopped = false;
  const serving = (async () => {
    while (!stopped) await server.serve((frame) => frame);
  })();
  const metadata = requestMetadata({ inPlace: true, frameHeader: true });
  for (let cycle = 0; cycle < 4; cycle++) {
    const client = await EmulatedClient.connect(channel, metadata); // the same metadata: a ring's is written once
    const responses = await client.roundTrips(Array.from({ length: 3 }, () => new Uint8Array(randomBytes(256))));
    expect(responses.map((r) => [r.sequence, r.inPlace])).toEqual([[1, true], [2, true], [3, true]]);
    for (const r of responses) r.release();
    expect(client.responses.metadata?.frameHeader).toBe(true);
    client.close();
    if (cycle === 1) await new Promise((r) => setTimeout(r, 300)); // the server sees this one leave
  }
  stopped = true;
  await server.close();
  await serving;
  expect(seen.length).toBeGreaterThanOrEqual(4);
  expect(seen.every((c) => c.inPlace)).toBe(true);
  expect(server.stats()).toMatchObject({ responses: 12, inPlace: 12, copied: 0 });
}, 30000);

test('the copying fallback (ZEROBUFFER_FORCE_COPY=1): a drawing on a copied request is answered by copy, exactly', () => {
  // The server runs in a child whose addon copies every request out of the ring (and gives the
  // ring's bytes back at once): its drawing is only in the copy, so it cannot answer in place.
  const channel = ringName('ipcopy');
  const dist = JSON.stringify(path.join(repoRoot, 'dist', 'index.js'));
  const script = `
    import { ZeroBufferDuplexServer, ZeroBufferReader, ZeroBufferWriter, duplexRingNames } from ${dist};
    import { native } from ${JSON.stringify(path.join(repoRoot, 'dist', 'native.js'))};
    const server = await ZeroBufferDuplexServer.create({ name: ${JSON.stringify(channel)} });
    const copied = [];
    const serving = server.serve((frame) => {
      copied.push(frame.copied);
      for (let i = 0; i < frame.data.length; i++) frame.data[i] = 255 - frame.data[i];
      return frame;
    });
    const rings = duplexRingNames(${JSON.stringify(channel)});
    const requests = await ZeroBufferWriter.connect(rings.request);
    requests.setMetadata(native.declareInPlace(native.declareFrameHeader(new TextEncoder().encode('{"caps":"application/octet-stream"}'))));
    const responses = await ZeroBufferReader.create({ name: rings.response, metadataSize: 4096, payloadSize: 1 << 20 });
    const out = [];
    for (let n = 1; n <= 3; n++) {
      await requests.write(new Uint8Array(1000).fill(n), { pts: n });
      const r = await responses.next({ timeoutMs: 5000 });
      out.push({ inPlace: r.inPlace, zbFlags: r.zbFlags, pts: r.pts, ok: r.data.length === 1000 && r.data.every((v) => v === 255 - n) });
      r.release();
    }
    requests.closeSync(); responses.closeSync();
    await serving;
    const { inPlace, copied: copies } = server.stats();
    await server.close();
    console.log(JSON.stringify({ out, copied, inPlace, copies }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script],
    { env: { ...process.env, ZEROBUFFER_FORCE_COPY: '1' }, encoding: 'utf8', timeout: 20000 });
  expect(r.stderr).toBe('');
  expect(JSON.parse(r.stdout)).toEqual({
    out: [1, 2, 3].map((n) => ({ inPlace: false, zbFlags: 0, pts: n, ok: true })),
    copied: [true, true, true], inPlace: 0, copies: 3,
  });
}, 30000);

const gstEnv = { GST_PLUGIN_PATH: path.join(repoRoot, 'builddir', 'gst-plugin') };
const sha = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex');

/** zerofilter has the in-place property (so it declares in_place unless told not to). */
function zerofilterDeclaresInPlace(): boolean {
  const r = spawnSync('gst-inspect-1.0', ['zerofilter'], { env: { ...process.env, ...gstEnv }, encoding: 'utf8' });
  expect(r.status).toBe(0);
  return /^\s+in-place\s+:/m.test(r.stdout);
}

test.each([
  ['echo (the frame unchanged)', false],
  ['invert drawn on the request in place', true],
])('zerofilter ⇄ Node server, %s: frame-exact, in place when zerofilter declares it', async (_label, draw) => {
  const N = 20;
  const channel = ringName('ipgst');
  const server = await ZeroBufferDuplexServer.create({ name: channel });
  const clients: { inPlace: boolean }[] = [];
  server.on('client', (_ring: string, info: { inPlace: boolean }) => clients.push(info));
  const expected: string[] = [];
  const serving = server.serve((frame) => {
    if (draw) {
      const d = frame.data;
      for (let i = 0; i < d.length; i++) d[i] = 255 - d[i]!;
    }
    expected.push(sha(frame.data));
    return frame;
  });
  const gst = run('gst-launch-1.0', ['-q', ...`videotestsrc num-buffers=${N} pattern=ball ! video/x-raw,format=RGB,width=320,height=240,framerate=30/1 ! zerofilter channel=${channel} ! checksumsink`.split(' ')], gstEnv);
  expect(await gst.exit(30000)).toBe(0);
  await settledWithin(serving, 3000);
  await server.close();
  const out = gst.stdout.map((l) => /^\d+:\d\d:\d\d\.\d+ ([0-9a-f]{40})$/.exec(l)?.[1]).filter((h) => h !== undefined);
  expect(out).toEqual(expected);
  expect(new Set(expected).size).toBeGreaterThan(1);
  // one client, taken once: after its end of stream its response ring (still there a moment) is not its any more
  expect(clients).toHaveLength(1);
  // Tightened once zerofilter declares in_place: then every answer must go in place.
  if (zerofilterDeclaresInPlace()) expect(clients[0]!.inPlace).toBe(true);
  expect(server.stats()).toMatchObject({ responses: N, inPlace: clients[0]!.inPlace ? N : 0, copied: clients[0]!.inPlace ? 0 : N });
}, 60000);

test('zerofilter comes back (three pipelines in turn, one serve() loop): each is asked again and served, frame-exact', async () => {
  // The previous pipeline's response ring may still be there when the next one starts: the server
  // takes each pipeline's own (the one its process reads), once.
  const N = 10;
  const channel = ringName('ipgst3');
  const server = await ZeroBufferDuplexServer.create({ name: channel });
  const clients: { inPlace: boolean }[] = [];
  server.on('client', (_ring: string, info: { inPlace: boolean }) => clients.push(info));
  let stopped = false;
  let failure: unknown;
  const serving = (async () => {
    while (!stopped) await server.serve((frame) => frame);
  })().catch((e: unknown) => { failure = e; });
  for (let i = 0; i < 3; i++) {
    const gst = run('gst-launch-1.0', ['-q', ...`videotestsrc num-buffers=${N} pattern=ball ! video/x-raw,format=RGB,width=64,height=48 ! tee name=t ! queue ! checksumsink t. ! queue ! zerofilter channel=${channel} timeout=5000 ! checksumsink`.split(' ')], gstEnv);
    expect(await gst.exit(30000)).toBe(0);
    // the two checksumsinks print the same hashes (input and output), each in order: every hash twice
    const hashes = gst.stdout.map((l) => /^\d+:\d\d:\d\d\.\d+ ([0-9a-f]{40})$/.exec(l)?.[1]).filter((h) => h !== undefined);
    expect(hashes).toHaveLength(2 * N);
    const counts = new Map<string, number>();
    for (const h of hashes) counts.set(h, (counts.get(h) ?? 0) + 1);
    expect([...counts.values()].every((c) => c % 2 === 0)).toBe(true);
  }
  stopped = true;
  await server.close();
  await serving;
  expect(failure).toBeUndefined();
  expect(clients).toHaveLength(3);
  if (zerofilterDeclaresInPlace()) expect(clients.every((c) => c.inPlace)).toBe(true);
  expect(server.stats()).toMatchObject({ requests: 3 * N, responses: 3 * N });
}, 90000);

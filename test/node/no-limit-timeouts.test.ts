// One meaning for "no time limit" across the API's timeout options: -1 and
// Infinity both wait without limit (as zerosink's timeout=-1 and
// connect-timeout=-1), and anything else that is not a number of
// milliseconds >= 0 is a TypeError naming the option in the same words for
// every one. Before, -1 was a TypeError for the reads' and writes'
// timeoutMs, the duplex server's and client's timeoutMs, ingestImg's
// timeoutMs and stopTimeoutMs, while connectTimeoutMs took it. A restart's
// delays are no timeouts: they must end, and Infinity (which setTimeout
// fires after 1 ms) is refused.
import { jest } from '@jest/globals';
import fs from 'node:fs';
import {
  duplexRingNames, formatImgMessage, ingestImg, ZeroBufferDuplexClient, ZeroBufferDuplexServer, ZeroBufferReader, ZeroBufferWriter,
} from '../../src/index.js';
import { PipelineRunner } from '../../src/runner/pipeline-runner.js';
import { leftovers, ringName, sleep } from './helpers.js';

jest.setTimeout(30000);

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

/** What every timeout option's TypeError says it takes. */
const TIMEOUT_VALUES = 'a number of milliseconds >= 0, or -1 or Infinity (no limit)';

/** A signal that ends a wait the test expects to end by itself, so that a wait that does not fails the test rather than hanging it. */
const bounded = (): AbortSignal => AbortSignal.timeout(10000);

/** Whether promise is still pending after ms. */
async function pendingAfter(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  promise.then(() => (settled = true), () => (settled = true));
  await sleep(ms);
  return !settled;
}

/** The error promise rejects with (undefined if it resolves). */
const rejection = (promise: Promise<unknown>): Promise<unknown> => promise.then(() => undefined, (e: unknown) => e);

test('reads: timeoutMs -1 waits without limit, as Infinity (it was a TypeError): next(), frames(), waitForMetadata(), the reader\'s own; an abort ends it', async () => {
  const name = ringName('nolimit-read');
  await using reader = await ZeroBufferReader.create({ name, metadataSize: 256, payloadSize: 4096, timeoutMs: -1 });
  expect(reader.timeoutMs).toBe(Infinity);
  const writer = await ZeroBufferWriter.connect(name);
  try {
    const metadata = reader.waitForMetadata({ timeoutMs: -1, signal: bounded() });
    expect(await pendingAfter(metadata, 200)).toBe(true);
    writer.setMetadata('later');
    expect((await metadata).text).toBe('later');

    const reads: [string, () => Promise<number | undefined>][] = [
      ['next({ timeoutMs: -1 })', async () => {
        using frame = await reader.next({ timeoutMs: -1, signal: bounded() });
        return frame?.data[0];
      }],
      ['frames({ timeoutMs: -1 })', async () => {
        for await (const frame of reader.frames({ timeoutMs: -1, signal: bounded() })) return frame.data[0];
        return undefined;
      }],
      ['next() with the reader\'s timeoutMs -1', async () => {
        using frame = await reader.next({ signal: bounded() });
        return frame?.data[0];
      }],
    ];
    for (const [i, [read, call]] of reads.entries()) {
      const got = call();
      expect({ read, pending: await pendingAfter(got, 200) }).toEqual({ read, pending: true });
      await writer.write(new Uint8Array([i + 1]));
      expect({ read, got: await got }).toEqual({ read, got: i + 1 });
    }

    const stop = new AbortController();
    const waiting = reader.next({ timeoutMs: -1, signal: stop.signal });
    expect(await pendingAfter(waiting, 200)).toBe(true);
    const reason = new Error('enough');
    stop.abort(reason);
    await expect(waiting).rejects.toBe(reason);
  } finally {
    await writer.close();
  }
});

test('writes: timeoutMs -1 waits for room without limit, as Infinity (it was a TypeError): write(), reserve(), the writer\'s own', async () => {
  const name = ringName('nolimit-write');
  await using reader = await ZeroBufferReader.create({ name, metadataSize: 256, payloadSize: 4096 });
  const writer = await ZeroBufferWriter.connect(name, { timeoutMs: -1 });
  expect(writer.timeoutMs).toBe(Infinity);
  try {
    // 3000 bytes (3016 with their length): a second one finds room only once the first is released
    const frame = (byte: number): Uint8Array => new Uint8Array(3000).fill(byte);
    await writer.write(frame(1));
    const writes: [string, () => Promise<void>][] = [
      ['write({ timeoutMs: -1 })', () => writer.write(frame(2), { timeoutMs: -1, signal: bounded() })],
      ['reserve({ timeoutMs: -1 })', async () => {
        (await writer.reserve(3000, { timeoutMs: -1, signal: bounded() })).fill(3);
        writer.commit();
      }],
      ['write() with the writer\'s timeoutMs -1', () => writer.write(frame(4), { signal: bounded() })],
    ];
    for (const [i, [write, call]] of writes.entries()) {
      const written = call();
      expect({ write, pending: await pendingAfter(written, 200) }).toEqual({ write, pending: true });
      const before = (await reader.next({ timeoutMs: 1000 }))!;
      expect(before.data[0]).toBe(i + 1);
      before.release();
      await written;
    }
    using last = await reader.next({ timeoutMs: 1000 });
    expect(last?.data[2999]).toBe(4);
  } finally {
    await writer.close();
  }
});

test('a duplex client\'s timeoutMs -1 and its request()\'s wait for a slow answer without limit (it was a TypeError)', async () => {
  const channel = ringName('nolimit-dx');
  const server = await ZeroBufferDuplexServer.create({ name: channel });
  const serving = server.serve(async (frame) => {
    await sleep(300);
    return frame.data.map((v) => v + 1);
  });
  const client = await ZeroBufferDuplexClient.connect({ name: channel, timeoutMs: -1 });
  try {
    for (const options of [{ timeoutMs: -1, signal: bounded() }, { signal: bounded() }]) {
      const t0 = performance.now();
      using answer = await client.request(new Uint8Array([1, 2]), options);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(250);
      expect([...answer.data]).toEqual([2, 3]);
    }
  } finally {
    await client.close();
    await serving;
    await server.close();
  }
});

test('a duplex server\'s timeoutMs -1: an answer waits for room as long as its client reads none, not dropped as stalled (it was a TypeError)', async () => {
  const channel = ringName('nolimit-dxs');
  const server = await ZeroBufferDuplexServer.create({ name: channel, timeoutMs: -1 });
  const gone: unknown[] = [];
  server.on('clientGone', (e) => gone.push(e));
  const serving = server.serve((frame) => frame.data.slice());
  // the client by hand, as zerofilter is: its response ring holds 3 answers of 1024 bytes
  const rings = duplexRingNames(channel);
  const requests = await ZeroBufferWriter.connect(rings.request);
  requests.setMetadata(JSON.stringify({ type: 'gstreamer-sink', caps: 'application/octet-stream' }));
  const responses = await ZeroBufferReader.create({ name: rings.response, metadataSize: 4096, payloadSize: 4096 });
  try {
    for (let i = 1; i <= 6; i++) await requests.write(new Uint8Array(1024).fill(i));
    await sleep(1500); // longer than a 1000 ms timeoutMs, which drops it (duplex.test.ts)
    expect(server.stats().responses).toBeLessThan(6);
    for (let i = 1; i <= 6; i++) {
      using answer = await responses.next({ timeoutMs: 5000 });
      expect({ i, sequence: answer?.sequence, byte: answer?.data[1023] }).toEqual({ i, sequence: i, byte: i });
    }
    expect(gone).toEqual([]);
  } finally {
    requests.closeSync();
    await serving;
    responses.closeSync();
    await server.close();
  }
});

test('ingestImg: timeoutMs -1 waits for room without limit (it was a TypeError, and only at the first write, after the ring was found); a bad one is refused before any wait', async () => {
  const name = ringName('nolimit-ingest');
  const image = (byte: number): Uint8Array => formatImgMessage({ width: 32, height: 32, data: new Uint8Array(2048).fill(byte) });
  await using reader = await ZeroBufferReader.create({ name, metadataSize: 4096, payloadSize: 4096 });
  // two images of 2048 bytes do not fit together: the second waits until the first is released
  const ingesting = ingestImg((async function* () {
    yield image(1);
    yield image(2);
  })(), { name, timeoutMs: -1, signal: bounded() });
  const first = (await reader.next({ timeoutMs: 5000 }))!;
  expect(await pendingAfter(ingesting, 300)).toBe(true);
  first.release();
  expect(await ingesting).toMatchObject({ frames: 2 });
  using second = await reader.next({ timeoutMs: 1000 });
  expect(second?.data[0]).toBe(2);

  // no ring, and a connect wait without limit: refused at once (it waited for the ring, forever)
  const stop = new AbortController();
  setTimeout(() => stop.abort(new Error('waited for the ring')), 1000).unref();
  const refused = await rejection(ingestImg((async function* () {
    yield image(1);
  })(), { name: ringName('nolimit-none'), connectTimeoutMs: -1, timeoutMs: -2, signal: stop.signal }));
  expect(refused).toBeInstanceOf(TypeError);
  expect((refused as Error).message).toBe(`option "timeoutMs" must be ${TIMEOUT_VALUES}, received -2`);
});

test('every timeout option refuses other negatives, NaN and non-numbers in the same words', async () => {
  const name = ringName('nolimit-bad');
  await using reader = await ZeroBufferReader.create({ name, metadataSize: 256, payloadSize: 4096 });
  const writer = await ZeroBufferWriter.connect(name);
  const channel = ringName('nolimit-bad-dx');
  const server = await ZeroBufferDuplexServer.create({ name: channel });
  const serving = server.serve((frame) => frame.data.slice());
  const client = await ZeroBufferDuplexClient.connect({ name: channel });
  const never = ringName('nolimit-never');
  const runner = (stopTimeoutMs: unknown): PipelineRunner => new PipelineRunner({ source: 'fakesrc', name, stopTimeoutMs: stopTimeoutMs as number });
  const calls: [string, string, (v: unknown) => unknown][] = [
    ['ZeroBufferReader.create', 'timeoutMs', (v) => ZeroBufferReader.create({ metadataSize: 64, payloadSize: 64, timeoutMs: v as number })],
    ['reader.next', 'timeoutMs', (v) => reader.next({ timeoutMs: v as number })],
    ['reader.frames', 'timeoutMs', (v) => reader.frames({ timeoutMs: v as number }).next()],
    ['reader.waitForMetadata', 'timeoutMs', (v) => reader.waitForMetadata({ timeoutMs: v as number })],
    ['ZeroBufferWriter.connect', 'timeoutMs', (v) => ZeroBufferWriter.connect(name, { timeoutMs: v as number })],
    ['ZeroBufferWriter.connect', 'connectTimeoutMs', (v) => ZeroBufferWriter.connect(name, { connectTimeoutMs: v as number })],
    ['writer.write', 'timeoutMs', (v) => writer.write(new Uint8Array(1), { timeoutMs: v as number })],
    ['writer.reserve', 'timeoutMs', (v) => writer.reserve(1, { timeoutMs: v as number })],
    ['ZeroBufferDuplexServer.create', 'timeoutMs', (v) => ZeroBufferDuplexServer.create({ name: never, timeoutMs: v as number })],
    ['ZeroBufferDuplexClient.connect', 'timeoutMs', (v) => ZeroBufferDuplexClient.connect({ name: channel, timeoutMs: v as number })],
    ['client.request', 'timeoutMs', (v) => client.request(new Uint8Array(1), { timeoutMs: v as number })],
    ['new PipelineRunner', 'stopTimeoutMs', runner],
  ];
  try {
    for (const [call, option, make] of calls) {
      for (const bad of [-2, -0.5, NaN, -Infinity, '5', null]) {
        let refused: unknown;
        try {
          refused = await rejection(Promise.resolve(make(bad)));
        } catch (e) {
          refused = e;
        }
        expect({ call, bad, refused: String(refused) }).toEqual({
          call, bad, refused: `TypeError: option "${option}" must be ${TIMEOUT_VALUES}, received ${typeof bad === 'string' ? `"${bad}"` : String(bad)}`,
        });
      }
    }
    // the server refused its timeoutMs once its request ring existed, and left it there, its reader open
    expect(fs.existsSync(`/dev/shm/${duplexRingNames(never).request}`)).toBe(false);
  } finally {
    await client.close();
    await server.close(); // its reader may not have looked since the client's close (a wait slice): close() ends serve() either way
    await serving;
    await writer.close();
  }
});

test('a restart\'s delays must end: -1, Infinity and past 2^31 - 1 ms are refused (Infinity was taken, and setTimeout fired it after 1 ms)', () => {
  const runner = (restart: object): PipelineRunner => new PipelineRunner({ source: 'fakesrc', name: ringName('nolimit-delay'), restart });
  for (const option of ['initialDelayMs', 'maxDelayMs']) {
    for (const bad of [-1, Infinity, 2 ** 31, NaN, '5']) {
      expect(() => runner({ [option]: bad })).toThrow(new TypeError(
        `option "restart.${option}" must be a number of milliseconds from 0 to 2147483647 (2^31 - 1), received ${typeof bad === 'string' ? `"${bad}"` : String(bad)}`));
    }
    expect(() => runner({ [option]: 0 })).not.toThrow();
    expect(() => runner({ [option]: 2 ** 31 - 1 })).not.toThrow();
  }
});

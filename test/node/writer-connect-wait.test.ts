// ZeroBufferWriter.connect's connectTimeoutMs: a producer started before its
// consumer waits for the ring, as zerosink's connect-timeout does: while
// there is none (ENOENT) and while it is a stale ring whose reader died
// (EREADERGONE), until a reader creates it anew. Without it, connect fails
// at once, as before.
import { jest } from '@jest/globals';
import path from 'node:path';
import { formatImgMessage, ingestImg, ReaderGoneError, RingError, ZeroBufferDuplexClient, ZeroBufferReader, ZeroBufferWriter } from '../../src/index.js';
import { killIfRunning, leftovers, repoRoot, ringName, run, sleep } from './helpers.js';

jest.setTimeout(30000);

const idleReader = path.join(repoRoot, 'test', 'node', 'fixtures', 'idle-reader.mjs');

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

/** Creates the reader of `name` after `ms`. */
const readerLater = (name: string, ms: number): Promise<ZeroBufferReader> =>
  sleep(ms).then(() => ZeroBufferReader.create({ name, metadataSize: 64, payloadSize: 4096 }));

test('no ring: connect fails at once by default, and with connectTimeoutMs waits for the reader that creates it', async () => {
  const name = ringName('connect-wait');
  const t0 = Date.now();
  await expect(ZeroBufferWriter.connect(name)).rejects.toMatchObject({ code: 'ENOENT' });
  expect(Date.now() - t0).toBeLessThan(500);
  const late = readerLater(name, 300);
  const writer = await ZeroBufferWriter.connect(name, { connectTimeoutMs: 5000 });
  await using reader = await late;
  await writer.write(new Uint8Array([1, 2, 3]));
  await writer.close();
  using frame = await reader.next({ timeoutMs: 1000 });
  expect(frame?.data).toEqual(new Uint8Array([1, 2, 3]));
});

test('no reader within connectTimeoutMs: ENOENT after the wait, saying how long it waited', async () => {
  const name = ringName('connect-wait-none');
  const t0 = Date.now();
  const err: unknown = await ZeroBufferWriter.connect(name, { connectTimeoutMs: 300 }).catch((e: unknown) => e);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
  expect(err).toBeInstanceOf(RingError);
  expect(err).toMatchObject({ code: 'ENOENT', message: expect.stringMatching(/no ring named .* \(waited 300 ms: connectTimeoutMs\)$/) });
});

test('a stale ring whose reader died: EREADERGONE at once by default, and with connectTimeoutMs the next reader\'s ring', async () => {
  const name = ringName('connect-wait-stale');
  const holder = run('node', [idleReader, name]);
  try {
    await holder.line(/^ready /);
    holder.proc.kill('SIGKILL');
    await holder.exit();
  } finally {
    killIfRunning(holder);
  }
  await expect(ZeroBufferWriter.connect(name)).rejects.toBeInstanceOf(ReaderGoneError);
  const late = readerLater(name, 300);
  const writer = await ZeroBufferWriter.connect(name, { connectTimeoutMs: 5000 });
  await using reader = await late;
  await writer.write(new Uint8Array([9]));
  await writer.close();
  using frame = await reader.next({ timeoutMs: 1000 });
  expect(frame?.data).toEqual(new Uint8Array([9]));
});

test('connectTimeoutMs -1 waits without limit until its signal aborts; bad values are TypeErrors', async () => {
  const name = ringName('connect-wait-abort');
  const reason = new Error('gave up');
  const controller = new AbortController();
  setTimeout(() => controller.abort(reason), 300);
  const t0 = Date.now();
  await expect(ZeroBufferWriter.connect(name, { connectTimeoutMs: -1, signal: controller.signal })).rejects.toBe(reason);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
  await expect(ZeroBufferWriter.connect(name, { connectTimeoutMs: -2 }))
    .rejects.toThrow(new TypeError('option "connectTimeoutMs" must be a number of milliseconds >= 0, or -1 or Infinity (no limit), received -2'));
  await expect(ZeroBufferWriter.connect(name, { signal: 'no' as never })).rejects.toThrow(/option "signal" must be an AbortSignal/);
});

test('connectTimeoutMs means the same to ZeroBufferWriter.connect, ingestImg and ZeroBufferDuplexClient.connect: 0 at once, -1 no limit, anything else not a wait a TypeError', async () => {
  // one image: ingestImg connects at its first image (an input with none never touches the ring)
  const oneImage = (): AsyncGenerator<Uint8Array> => (async function* () {
    yield formatImgMessage({ width: 2, height: 2, data: new Uint8Array(8) });
  })();
  const connects: [string, (connectTimeoutMs: unknown, signal?: AbortSignal) => Promise<unknown>][] = [
    ['writer', (connectTimeoutMs, signal) => ZeroBufferWriter.connect(ringName('cto-writer'), { connectTimeoutMs: connectTimeoutMs as number, signal })],
    ['ingestImg', (connectTimeoutMs, signal) => ingestImg(oneImage(), { name: ringName('cto-ingest'), connectTimeoutMs: connectTimeoutMs as number, signal })],
    ['duplex client', (connectTimeoutMs, signal) =>
      ZeroBufferDuplexClient.connect({ name: ringName('cto-client'), connectTimeoutMs: connectTimeoutMs as number, signal })],
  ];
  for (const [who, connect] of connects) {
    // -1: no limit, as Infinity (ingestImg failed at once, the client refused it)
    const reason = new Error(`${who} gave up`);
    const controller = new AbortController();
    setTimeout(() => controller.abort(reason), 300);
    const t0 = Date.now();
    await expect(connect(-1, controller.signal)).rejects.toBe(reason);
    expect({ who, waited: Date.now() - t0 >= 250 }).toEqual({ who, waited: true });
    // 0: at once, without claiming a wait
    const err = await connect(0).catch((e: unknown) => e);
    expect({ who, err }).toEqual({ who, err: expect.objectContaining({ code: 'ENOENT' }) });
    expect((err as Error).message).not.toMatch(/waited/);
    // NaN, other negatives, non-numbers: refused before any wait (ingestImg waited forever on NaN and '5')
    for (const bad of [NaN, -2, '5']) {
      const refused = await connect(bad).catch((e: unknown) => e);
      expect({ who, bad, refused }).toEqual({ who, bad, refused: expect.any(TypeError) });
      expect((refused as Error).message).toMatch(/^option "connectTimeoutMs" must be a number of milliseconds >= 0, or -1 or Infinity \(no limit\), received /);
    }
  }
});

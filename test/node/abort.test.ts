// onAbort runs a stop whether or not the signal has fired already, and
// openSink takes its 'abort' listener off again: a signal that outlives the
// wait (the CLI's, for the whole command) must not collect listeners.
import { getEventListeners } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { onAbort } from '../../src/abort.js';
import { openSink } from '../../src/cli/endpoint.js';
import { repoRoot, ringName, run } from './helpers.js';

test('onAbort on a signal that has fired already calls fn at once, exactly once', () => {
  const c = new AbortController();
  c.abort();
  let calls = 0;
  const remove = onAbort(c.signal, () => calls++);
  expect(calls).toBe(1);
  expect(getEventListeners(c.signal, 'abort')).toHaveLength(0);
  remove();
  c.signal.dispatchEvent(new Event('abort'));
  expect(calls).toBe(1);
});

test('onAbort calls fn once when the signal aborts later, and leaves no listener', () => {
  const c = new AbortController();
  let calls = 0;
  onAbort(c.signal, () => calls++);
  expect(calls).toBe(0);
  expect(getEventListeners(c.signal, 'abort')).toHaveLength(1);
  c.abort();
  c.abort(); // a second abort does not fire again
  expect(calls).toBe(1);
  expect(getEventListeners(c.signal, 'abort')).toHaveLength(0);
});

test("onAbort's remover takes the listener off: fn never runs", () => {
  const c = new AbortController();
  let calls = 0;
  const remove = onAbort(c.signal, () => calls++);
  remove();
  expect(getEventListeners(c.signal, 'abort')).toHaveLength(0);
  c.abort();
  expect(calls).toBe(0);
});

test('two onAbort calls with the same fn are two registrations: removing one keeps the other', () => {
  const c = new AbortController();
  let calls = 0;
  const fn = (): void => void calls++;
  const removeFirst = onAbort(c.signal, fn);
  onAbort(c.signal, fn);
  removeFirst();
  c.abort();
  expect(calls).toBe(1);
});

/** Starts openSink on tcp 127.0.0.1, an ephemeral port; resolves with the sink promise and the address. */
async function listeningSink(signal: AbortSignal): Promise<{ sink: Promise<unknown>; port: number }> {
  let announce!: (address: string) => void;
  const announced = new Promise<string>((r) => (announce = r));
  const sink = openSink({ kind: 'tcp', host: '127.0.0.1', port: 0 }, new PassThrough(), announce, signal);
  sink.catch(() => {}); // awaited by the test; this only keeps an early rejection from counting as unhandled
  const address = await Promise.race([announced, sink.then(() => { throw new Error('openSink settled before it listened'); })]);
  return { sink, port: Number(address.split(':').pop()) };
}

test("openSink takes its 'abort' listener off once a client connected", async () => {
  const c = new AbortController();
  const { sink, port } = await listeningSink(c.signal);
  expect(getEventListeners(c.signal, 'abort')).toHaveLength(1); // waiting for the client
  const client = net.connect({ host: '127.0.0.1', port });
  try {
    const socket = (await sink) as net.Socket;
    expect(getEventListeners(c.signal, 'abort')).toHaveLength(0);
    socket.destroy();
  } finally {
    client.destroy();
  }
});

test('openSink rejects with the reason of a stop while it waits for a client, and keeps no listener', async () => {
  const c = new AbortController();
  const { sink } = await listeningSink(c.signal);
  const reason = new Error('stopped');
  c.abort(reason);
  await expect(sink).rejects.toBe(reason);
  expect(getEventListeners(c.signal, 'abort')).toHaveLength(0);
});

test('openSink handed a signal that has fired already rejects with its reason at once', async () => {
  const c = new AbortController();
  const reason = new Error('stopped before it listened');
  c.abort(reason);
  const sink = openSink({ kind: 'tcp', host: '127.0.0.1', port: 0 }, new PassThrough(), () => {}, c.signal);
  await expect(sink).rejects.toBe(reason);
  expect(getEventListeners(c.signal, 'abort')).toHaveLength(0);
});

// An awaited loop on a source that cannot make progress by itself (an async
// generator waiting on an event emitter no one else holds) is unreachable
// but for the abort listener: before, that held it weakly, GC collected the
// loop, and the abort no longer ended it ({ lines: false }). A frames()
// loop waiting for a frame is held by the addon's pending promise, on
// either wait path.
test.each([['io_uring or the next path down', {}], ['the thread wait', { ZEROBUFFER_NO_URING: '1' }]] as const)(
  'an awaited readLines() loop whose source cannot progress, and a frames() loop, still end at an abort after GC (%s)', async (_, env) => {
    const child = run(process.execPath, ['--expose-gc', path.join(repoRoot, 'test', 'node', 'fixtures', 'unreferenced-loops.mjs'),
      ringName('unref')], env);
    const code = await child.exit();
    expect(child.stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(child.stdout.join(''))).toEqual({ lines: true, frames: true, sourceCollectedBeforeAbort: false });
  });

// The duplex client's waits each have their own timeout and signal: connect()
// takes a signal (it waited out connectTimeoutMs, Infinity included, whatever
// happened), request() takes { signal, timeoutMs }; and the answer to a
// request given up on is thrown away when it comes late, so the next
// request gets its own answer (it got the late one before).
import { jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { duplexRingNames, ZeroBufferDuplexClient, ZeroBufferReader, ZeroBufferWriter } from '../../src/index.js';
import { sleep } from './helpers.js';

jest.setTimeout(30000);

const prefix = `nd-dup-${process.pid}-`;
const channelName = (): string => `${prefix}${randomUUID().slice(0, 8)}`;

afterAll(() => {
  expect(fs.readdirSync('/dev/shm').filter((n) => n.includes(prefix))).toEqual([]);
});

test('connect({ signal }) ends the wait for a server that is not there', async () => {
  const stop = new AbortController();
  const connecting = ZeroBufferDuplexClient.connect({ name: channelName(), connectTimeoutMs: Infinity, signal: stop.signal });
  await sleep(150);
  const stopped = performance.now();
  stop.abort(new Error('no server'));
  await expect(connecting).rejects.toThrow('no server');
  expect(performance.now() - stopped).toBeLessThan(500);
});

test('request() with its own signal and timeout; a late answer to a request given up on is thrown away', async () => {
  const channel = channelName();
  const rings = duplexRingNames(channel);
  // the server's side by hand: it reads the requests and answers when the test says
  const requests = await ZeroBufferReader.create({ name: rings.request, metadataSize: 1024, payloadSize: 1 << 16 });
  const client = await ZeroBufferDuplexClient.connect({ name: channel, timeoutMs: 20000, payloadSize: 1 << 16 });
  const answers = await ZeroBufferWriter.connect(rings.response);
  try {
    const stop = new AbortController();
    const aborted = client.request(new Uint8Array([1]), { signal: stop.signal });
    await sleep(150);
    stop.abort(new Error('not wanted'));
    await expect(aborted).rejects.toThrow('not wanted');
    const started = performance.now();
    await expect(client.request(new Uint8Array([2]), { timeoutMs: 200 })).rejects.toMatchObject({ code: 'ETIMEDOUT', message: expect.stringContaining('within 200 ms') });
    expect(performance.now() - started).toBeLessThan(1500); // not the client's 20 s
    for (let i = 1; i <= 2; i++) {
      const r = (await requests.next({ timeoutMs: 1000 }))!;
      expect(r.data[0]).toBe(i);
      r.release();
    }
    // the answers to both come late, then the third request's own
    await answers.write(new Uint8Array([101]));
    await answers.write(new Uint8Array([102]));
    const third = client.request(new Uint8Array([3]), { timeoutMs: 5000 });
    const r3 = (await requests.next({ timeoutMs: 1000 }))!;
    expect(r3.data[0]).toBe(3);
    r3.release();
    await answers.write(new Uint8Array([103]));
    const answer = await third;
    expect([answer.sequence, answer.data[0]]).toEqual([3, 103]);
    answer.release();
  } finally {
    await answers.close();
    await client.close();
    await requests.close();
  }
});

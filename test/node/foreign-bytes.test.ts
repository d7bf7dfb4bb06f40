// Bytes the API is handed that are not plain ones of this realm: a
// Uint8Array of a vm context (which instanceof refuses, although it is one),
// a buffer transferred away (detached: 0 bytes, which the core refuses as an
// empty frame, EINVAL, not saying why), and a frame whose data.buffer was in
// a postMessage transfer list (copy() and image() have nothing to read).
import { MessageChannel } from 'node:worker_threads';
import vm from 'node:vm';
import { ZeroBufferDuplexClient, ZeroBufferDuplexServer, ZeroBufferReader, ZeroBufferWriter, toRGB } from '../../src/index.js';
import { leftovers, ringName } from './helpers.js';

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

/** A Uint8Array made in another realm: what a vm context or a sandboxing test runner hands out. */
const foreign = (bytes: readonly number[]): Uint8Array => vm.runInNewContext(`new Uint8Array(${JSON.stringify(bytes)})`) as Uint8Array;

/** A Uint8Array whose buffer was transferred away. */
function detached(): Uint8Array {
  const bytes = new Uint8Array(8);
  structuredClone(bytes.buffer, { transfer: [bytes.buffer] });
  return bytes;
}

test('a Uint8Array of another realm is written, is metadata, is a toRGB out buffer, a request and a handler\'s answer', async () => {
  expect(foreign([1]) instanceof Uint8Array).toBe(false);
  const reader = await ZeroBufferReader.create({ name: ringName('realm'), metadataSize: 1024, payloadSize: 4096 });
  const writer = await ZeroBufferWriter.connect(reader.name);
  try {
    writer.setMetadata(foreign([...Buffer.from('{"caps":"video/x-raw,format=GRAY8,width=2,height=2"}')]));
    await writer.write(foreign([7, 9, 0, 0, 8, 6, 0, 0])); // rows of 4 bytes
    using frame = (await reader.next({ timeoutMs: 2000 }))!;
    expect([...frame.data]).toEqual([7, 9, 0, 0, 8, 6, 0, 0]);
    expect(frame.videoInfo?.format).toBe('GRAY8');
    const out = foreign(new Array(12).fill(0));
    expect(toRGB(frame, { out }).data.buffer).toBe(out.buffer);
    expect([...out]).toEqual([7, 7, 7, 9, 9, 9, 8, 8, 8, 6, 6, 6]);
  } finally {
    await writer.close();
    await reader.close();
  }

  const channel = ringName('realm-dx');
  const server = await ZeroBufferDuplexServer.create({ name: channel });
  const serving = server.serve((request) => foreign([...request.data].map((v) => v + 1)));
  const client = await ZeroBufferDuplexClient.connect({ name: channel });
  try {
    using answer = await client.request(foreign([1, 2, 3]));
    expect([...answer.data]).toEqual([2, 3, 4]);
    expect(server.stats().errors).toBe(0);
  } finally {
    await client.close();
    await serving;
    await server.close();
  }
});

test('write() and request() of a transferred (detached) buffer are TypeErrors saying so, not an empty frame', async () => {
  const detachedError = { name: 'TypeError', message: expect.stringMatching(/^argument "data" is a Uint8Array whose buffer was detached: transferred/) };
  const reader = await ZeroBufferReader.create({ name: ringName('detached'), metadataSize: 0, payloadSize: 4096 });
  const writer = await ZeroBufferWriter.connect(reader.name);
  try {
    await expect(writer.write(detached())).rejects.toMatchObject(detachedError);
    // an empty array that was never transferred is still the core's empty frame
    await expect(writer.write(new Uint8Array(0))).rejects.toMatchObject({ code: 'EINVAL' });
  } finally {
    await writer.close();
    await reader.close();
  }
  const channel = ringName('detached-dx');
  const server = await ZeroBufferDuplexServer.create({ name: channel });
  const serving = server.serve((request) => request);
  const client = await ZeroBufferDuplexClient.connect({ name: channel });
  try {
    await expect(client.request(detached())).rejects.toMatchObject(detachedError);
    using answer = await client.request(new Uint8Array([5])); // refused before it was sent: the client goes on
    expect(answer.sequence).toBe(1);
  } finally {
    await client.close();
    await serving;
    await server.close();
  }
});

test('a frame whose data.buffer was transferred: copy() and image() throw EDETACHED; a frame of 0 bytes still copies; retain() after release() throws ERELEASED', async () => {
  const reader = await ZeroBufferReader.create({ name: ringName('moved'), metadataSize: 1024, payloadSize: 4096 });
  const writer = await ZeroBufferWriter.connect(reader.name, { frameHeader: true });
  const { port1, port2 } = new MessageChannel();
  try {
    writer.setMetadata({ caps: 'video/x-raw,format=GRAY8,width=2,height=1' });
    await writer.write(new Uint8Array([1, 2, 0, 0])); // rows of 4 bytes
    // an empty frame, sent with its header: no raw video frame, so under caps of its own
    await writer.write(new Uint8Array(0), { attributes: { caps: 'application/octet-stream' } });
    const moved = (await reader.next({ timeoutMs: 2000 }))!;
    port1.postMessage(moved.data, [moved.data.buffer]);
    expect([moved.released, moved.size]).toEqual([false, 0]);
    const detachedError = (use: string) => expect.objectContaining({
      name: 'ZeroBufferError', code: 'EDETACHED', message: `frame 1's bytes were transferred away (its data.buffer was in a ` +
        `postMessage transfer list): ${use} has none; post frame.copy() instead`,
    });
    expect(() => moved.copy()).toThrow(detachedError('copy()'));
    expect(() => moved.image()).toThrow(detachedError('image()'));
    moved.release();

    const empty = (await reader.next({ timeoutMs: 2000 }))!;
    expect(empty.copy()).toEqual(new Uint8Array(0));
    empty.release();
    expect(() => empty.retain()).toThrow(expect.objectContaining({
      name: 'ZeroBufferError', code: 'ERELEASED', message: 'frame 2 was released: its bytes are gone (retain() before release())',
    }));
    expect(empty.retained).toBe(false);
  } finally {
    port1.close();
    port2.close();
    await writer.close();
    await reader.close();
  }
});

// DataView and ArrayBuffer are not options: write(new DataView(...)) said
// 'option "data" must be a Uint8Array, received an object'.
test('write() and request() of bytes that are not a Uint8Array name the argument and what they got, with the Uint8Array over them', async () => {
  const reader = await ZeroBufferReader.create({ name: ringName('notbytes'), metadataSize: 0, payloadSize: 4096 });
  const writer = await ZeroBufferWriter.connect(reader.name);
  const view = 'pass new Uint8Array(data.buffer, data.byteOffset, data.byteLength) for its bytes';
  const cases: [unknown, string][] = [
    [new DataView(new ArrayBuffer(8)), `argument "data" must be a Uint8Array, received a DataView: ${view}`],
    [new Uint16Array(4), `argument "data" must be a Uint8Array, received a Uint16Array: ${view}`],
    [new Int16Array(4), `argument "data" must be a Uint8Array, received an Int16Array: ${view}`],
    [new SharedArrayBuffer(8), 'argument "data" must be a Uint8Array, received a SharedArrayBuffer: pass new Uint8Array(data) for its bytes'],
    [new ArrayBuffer(8), 'argument "data" must be a Uint8Array, received an ArrayBuffer: pass new Uint8Array(data) for its bytes'],
    ['text', 'argument "data" must be a Uint8Array, received "text"'],
  ];
  try {
    for (const [data, message] of cases)
      await expect(writer.write(data as Uint8Array)).rejects.toMatchObject({ name: 'TypeError', message });
  } finally {
    await writer.close();
    await reader.close();
  }
  const channel = ringName('notbytes-dx');
  const server = await ZeroBufferDuplexServer.create({ name: channel });
  const serving = server.serve((request) => request);
  const client = await ZeroBufferDuplexClient.connect({ name: channel });
  try {
    await expect(client.request(new DataView(new ArrayBuffer(8)) as unknown as Uint8Array))
      .rejects.toMatchObject({ name: 'TypeError', message: cases[0]![1] });
  } finally {
    await client.close();
    await server.close(); // serve() waits on for a client that never sent a request
    await serving;
  }
});

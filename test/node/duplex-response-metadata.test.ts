// The metadata ZeroBufferDuplexServer writes into the client's response
// ring: the peers' servers write none, and a peer client (C++) may create the
// response ring with no metadata block at all. The type tag
// {"type":"zerobuffer-duplex-server"} goes only where it fits; a client
// whose ring has no room for it is served all the same. What the server
// needs (outputCaps) goes without the tag when only that fits, and when it
// does not fit at all serve() fails saying so.
import {
  ZeroBufferDuplexServer, ZeroBufferReader, ZeroBufferWriter, duplexRingNames,
} from '../../src/index.js';
import { leftovers, ringName, settledWithin, sleep } from './helpers.js';

/** What a promise settled with within ms (its rejection too), or 'pending'. */
const within = (p: Promise<unknown>, ms: number): Promise<unknown> =>
  Promise.race([p.then((v) => ({ resolved: v }), (e: unknown) => ({ rejected: e })), sleep(ms).then(() => 'pending')]);

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

/** A client as a peer's is: a writer of NAME_request, and NAME_response made with metadataSize bytes. */
async function peerLikeClient(channel: string, metadataSize: number): Promise<{ requests: ZeroBufferWriter; responses: ZeroBufferReader }> {
  const rings = duplexRingNames(channel);
  const requests = await ZeroBufferWriter.connect(rings.request);
  const responses = await ZeroBufferReader.create({ name: rings.response, metadataSize, payloadSize: 1 << 16, timeoutMs: 5000 });
  return { requests, responses };
}

const inverted = (b: Uint8Array): Uint8Array => b.map((v) => 255 - v);

test('a response ring with a metadata block of 0 bytes is served, with no metadata written', async () => {
  const channel = ringName('nm-md0');
  const server = await ZeroBufferDuplexServer.create({ name: channel });
  const serving = server.serve((frame) => inverted(frame.data));
  const client = await peerLikeClient(channel, 0);
  try {
    for (let n = 1; n <= 3; n++) {
      const request = new Uint8Array(100).fill(n);
      await client.requests.write(request);
      const response = await client.responses.next();
      expect(response).not.toBeNull();
      expect(response!.sequence).toBe(n);
      expect(Buffer.from(response!.data).equals(Buffer.from(inverted(request)))).toBe(true);
      response!.release();
    }
    expect(client.responses.metadata).toBeUndefined(); // none written
  } finally {
    client.requests.closeSync();
    // the end of the client's stream ends serve()
    expect(await within(serving, 5000)).toEqual({ resolved: undefined });
    client.responses.closeSync();
    await server.close();
  }
});

test('outputCaps with room for the caps alone: written without the type tag', async () => {
  const channel = ringName('nm-md64');
  const outputCaps = 'video/x-raw,format=GRAY8,width=16,height=8'; // {"caps":...}: 53 bytes, tagged: 89; the block: 64
  const server = await ZeroBufferDuplexServer.create({ name: channel, outputCaps });
  const serving = server.serve((frame) => frame.data.slice());
  const client = await peerLikeClient(channel, 64);
  try {
    await client.requests.write(new Uint8Array(128).fill(7));
    const response = await client.responses.next();
    expect(response!.size).toBe(128);
    response!.release();
    expect(client.responses.metadata?.json).toEqual({ caps: outputCaps });
  } finally {
    client.requests.closeSync();
    await settledWithin(serving, 5000);
    client.responses.closeSync();
    await server.close();
  }
});

test('outputCaps with no room at all: serve() fails with EMSGSIZE, saying the server needs it for outputCaps', async () => {
  const channel = ringName('nm-mdcaps');
  const server = await ZeroBufferDuplexServer.create({ name: channel, outputCaps: 'video/x-raw,format=GRAY8,width=16,height=8' });
  const serving = server.serve((frame) => frame.data.slice());
  const client = await peerLikeClient(channel, 0);
  try {
    await client.requests.write(new Uint8Array(16));
    const settled = await within(serving, 5000) as { rejected?: { code?: string; message?: string } };
    expect(settled.rejected).toMatchObject({ code: 'EMSGSIZE' });
    expect(settled.rejected?.message).toMatch(/does not fit ring ".*_response".*the server needs it for outputCaps/);
  } finally {
    client.requests.closeSync();
    client.responses.closeSync();
    await server.close();
  }
});

// ZeroBufferDuplexServer's serve() and create() refusing what would pair an
// answer with the wrong request, with a Node client in this process: a
// second serve() while one runs (ESTATE at once; two loops took requests in
// turns, each answer going out in the other's place), outputCaps with
// onError 'pass' (a TypeError at create(): the request's bytes are not of
// those caps), and close() while the handler makes an answer (serve()
// resolves, as close() while idle does; it rejected with the response
// writer's ESTATE).
import { ZeroBufferDuplexClient, ZeroBufferDuplexServer } from '../../src/index.js';
import { leftovers, ringName, sleep, within } from './helpers.js';

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

const xor = (data: Uint8Array): Uint8Array => data.map((v) => v ^ 0x5a);

test('a second serve() while one runs rejects with ESTATE at once; the first answers every request with its own answer; serve() again once it is over', async () => {
  const server = await ZeroBufferDuplexServer.create({ name: ringName('dxtwo') });
  try {
    // answers that take turns being slow: two loops would have answered out of order
    const first = server.serve(async (frame) => {
      await sleep(frame.sequence % 2 === 1 ? 30 : 1);
      return xor(frame.data);
    });
    const second = server.serve((frame) => frame.data.slice());
    await expect(within('the second serve()', second, 2000)).rejects.toMatchObject({
      code: 'ESTATE', message: expect.stringContaining('serve() is already running; one serve() at a time'),
    });
    for (const round of [1, 2]) {
      const serving = round === 1 ? first : server.serve(async (frame) => xor(frame.data));
      const client = await ZeroBufferDuplexClient.connect({ name: server.name });
      for (let i = 1; i <= 6; i++) {
        const request = Uint8Array.from({ length: 200 }, (_, k) => (k * i + round) & 255);
        const response = await client.request(request, { timeoutMs: 5000 });
        expect(Buffer.from(response.data).equals(Buffer.from(xor(request)))).toBe(true);
        response.release();
      }
      await client.close();
      await within(`serve() of round ${round}`, serving, 5000); // resolves at the client's end of stream
    }
    expect(server.stats()).toMatchObject({ requests: 12, responses: 12, dropped: 0 });
  } finally {
    await server.close();
  }
}, 30000);

test("outputCaps with onError 'pass' is refused at create() (a TypeError; no ring made): the request's bytes are not of those caps", async () => {
  const name = ringName('dxcaps');
  await expect(ZeroBufferDuplexServer.create({ name, outputCaps: 'video/x-raw,format=GRAY8,width=64,height=48', onError: 'pass' }))
    .rejects.toThrow(new TypeError("onError 'pass' answers a request the handler failed on with the request's own bytes, which are " +
      'not of outputCaps (video/x-raw,format=GRAY8,width=64,height=48): zerofilter would fail on them, or push them under caps they ' +
      "do not have. With outputCaps, use onError 'stop' (the default), or catch in the handler and return an answer of those caps"));
  expect(leftovers().filter((f) => f.includes(name))).toEqual([]);
  // 'stop' (given, or by default) with outputCaps, and 'pass' without, are taken
  for (const options of [{ outputCaps: 'video/x-raw,format=GRAY8,width=64,height=48', onError: 'stop' as const },
    { outputCaps: 'video/x-raw,format=GRAY8,width=64,height=48' },
    { onError: 'pass' as const }]) {
    const server = await ZeroBufferDuplexServer.create({ name, ...options });
    await server.close();
  }
});

test('outputCaps that zerofilter cannot take are a TypeError naming outputCaps at create() (no ring made): not caps, not fixed, raw caps that describe no frame', async () => {
  const name = ringName('dxbadcaps');
  const refused: [unknown, RegExp][] = [
    [42, /^option "outputCaps" must be a caps string, received 42$/],
    ['banana,,', /^outputCaps .*: it must be fixed caps .*received "banana,,": /],
    ['video/x-raw,format=GRAY8,width=[1,100],height=48', /^outputCaps .*: it must be fixed caps .*: width is not fixed \(a list or a range\)$/],
    ['video/x-raw,format={RGB,GRAY8},width=64,height=48', /: format is not fixed/],
    ['video/x-raw,format=GRAY8', /^outputCaps .*: the raw caps "video\/x-raw,format=GRAY8" lack width, height, which GStreamer needs to describe their frames; zerofilter refuses them \(EMETADATA\)$/],
    ['video/x-raw,width=64,height=48', /lack format, which GStreamer/],
    ['video/x-raw,format=GRAY8,width=0,height=48', /describe no frame: caps field "width" must be a fixed positive integer/],
    ['video/x-raw,format=NV16,width=64,height=-2', /describe no frame: width and height must be fixed positive integers; zerofilter/],
    ['audio/x-raw,format=S16LE,rate=48000', /lack channels, layout/],
    ['video/x-raw(memory:NVMM),format=NV12', /lack width, height, which GStreamer/],
  ];
  for (const [outputCaps, message] of refused) {
    // a server made all the same is closed (a ring left open would keep jest from ending)
    const created = await ZeroBufferDuplexServer.create({ name, outputCaps: outputCaps as string })
      .then(async (server) => server.close().then(() => `created with ${String(outputCaps)}`), (e: unknown) => e);
    expect(created).toBeInstanceOf(TypeError);
    expect((created as TypeError).message).toMatch(message);
  }
  expect(leftovers().filter((f) => f.includes(name))).toEqual([]);
  // frames described, by the API or (a format it does not describe, sized) by GStreamer; encoded ones need no size
  for (const outputCaps of ['video/x-raw,format=GRAY8,width=64,height=48,framerate=30/1', 'video/x-raw,format=NV16,width=64,height=48',
    'image/jpeg', 'audio/x-raw,format=S16LE,rate=48000,channels=2,layout=interleaved',
    // GStreamer's parser ignores caps features: zerofilter takes these
    'video/x-raw(memory:NVMM),format=NV12,width=64,height=48', 'video/x-raw(meta:GstVideoOverlayComposition),format=RGB,width=2,height=2']) {
    const server = await ZeroBufferDuplexServer.create({ name, outputCaps });
    await server.close();
  }
});

test("a client's request caps that describe no frame are refused naming the duplex server, its reader (not zerosrc)", async () => {
  const server = await ZeroBufferDuplexServer.create({ name: ringName('dxreqcaps') });
  try {
    const connected = await ZeroBufferDuplexClient.connect({ name: server.name, metadata: { caps: 'video/x-raw,format=RGB' } })
      .then(async (client) => client.close().then(() => 'connected'), (e: unknown) => e);
    expect(connected).toBeInstanceOf(TypeError);
    expect((connected as TypeError).message).toBe('metadata "caps" is the requests\' caps (the duplex server takes it as their format): ' +
      'the raw caps "video/x-raw,format=RGB" lack width, height, which GStreamer needs to describe their frames; ' +
      'the duplex server could not describe the requests (frame.videoInfo, frame.image(): ENOCAPS)');
  } finally {
    await server.close();
  }
});

test('close() while the handler makes an answer ends serve() as close() while idle does: it resolves; the request is dropped', async () => {
  const server = await ZeroBufferDuplexServer.create({ name: ringName('dxclose') });
  let entered!: () => void;
  const inHandler = new Promise<void>((resolve) => (entered = resolve));
  const serving = server.serve(async (frame) => {
    entered();
    await sleep(300);
    return frame;
  });
  const client = await ZeroBufferDuplexClient.connect({ name: server.name });
  try {
    const request = client.request(new Uint8Array(64).fill(7), { timeoutMs: 5000 }).catch((e: unknown) => e);
    await inHandler;
    await server.close();
    await expect(within('serve() after close()', serving, 3000)).resolves.toBeUndefined();
    expect(server.stats()).toMatchObject({ requests: 1, responses: 0, dropped: 1 });
    // the client is told the server ended its responses, its request unanswered
    expect(await request).toMatchObject({ code: 'EOF', message: expect.stringContaining('with request 1 unanswered') });
  } finally {
    await client.close();
  }
}, 20000);

test('a loop that calls serve() again ends at close(): while (!server.closed) ends cleanly, a call on a closed server rejects with ESTATE, close() settles', async () => {
  // the loop of the docs: serves two clients, then ends when the server closes (serve() resolves, closed is true)
  const server = await ZeroBufferDuplexServer.create({ name: ringName('dxloop') });
  let calls = 0;
  const loop = (async () => {
    while (!server.closed) {
      // a call on a closed server that resolved at once would spin: bounded, so the old code fails here and does not hang
      if (++calls > 20) throw new Error(`serve() called ${calls} times`);
      await server.serve(async (frame) => xor(frame.data));
    }
  })();
  for (let round = 1; round <= 2; round++) {
    const client = await ZeroBufferDuplexClient.connect({ name: server.name });
    const response = await client.request(new Uint8Array(32).fill(round), { timeoutMs: 5000 });
    expect(Array.from(response.data)).toEqual(Array.from(xor(new Uint8Array(32).fill(round))));
    response.release();
    await client.close();
  }
  await sleep(200); // the loop waits in a serve() for the next client
  await within('close() while the loop runs', server.close(), 3000);
  await within('the loop after close()', loop, 3000);
  expect(server.closed).toBe(true);
  expect(calls).toBeLessThanOrEqual(4);

  // a loop that does not test closed: its next call rejects with ESTATE, where it resolved at once (millions of
  // times a second, the event loop starved: close() never settled)
  const other = await ZeroBufferDuplexServer.create({ name: ringName('dxspin') });
  let spins = 0;
  const naive = (async () => {
    for (;;) {
      if (++spins > 20) throw new Error(`serve() called ${spins} times`);
      await other.serve((frame) => frame);
    }
  })();
  setTimeout(() => void other.close(), 200);
  await expect(within('the loop without closed', naive, 3000)).rejects.toMatchObject({
    code: 'ESTATE', message: expect.stringContaining('serve() on a closed server'),
  });
  expect(spins).toBe(2);
  await within('close() after the loop', other.close(), 3000);
}, 30000);

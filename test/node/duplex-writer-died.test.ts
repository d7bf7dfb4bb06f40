// A duplex server whose request ring's writer dies before writing a
// request (a pipeline zerobuffer killed as it started, its zerofilter
// connected): with no response ring of its found, nothing was asked of the
// server and there is no client to name, so no 'clientGone' (it was
// emitted with pid 0); with its response ring found, the event names that
// client's pid. serve() resolves either way and the next client is served.
// One that closes cleanly without a request, having stayed connected over a
// wait slice, ends serve() too; one that came and went between two looks of
// the request reader leaves no trace (docs/DUPLEX.md), pinned with the
// server stopped meanwhile.
import path from 'node:path';
import { WriterGoneError, ZeroBufferDuplexServer, type DuplexClientGone, type DuplexHandler } from '../../src/index.js';
import { type Child, fnv1a, FNV_START, killIfRunning, leftovers, makeFrame, repoRoot, ringName, run, within } from './helpers.js';

const duplexClientPath = path.join(repoRoot, 'test', 'node', 'fixtures', 'duplex-client.mjs');
const serveLoopPath = path.join(repoRoot, 'test', 'node', 'fixtures', 'duplex-serve-loop.mjs');

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

/** The hash duplex-client.mjs prints for FRAMES answers (each its request XOR 0x5a) of SEED. */
function xorHash(seed: number, frames: number): string {
  let h = FNV_START;
  for (let seq = 1; seq <= frames; seq++) h = fnv1a(h, makeFrame(seed, seq, 1, 4096).map((v) => v ^ 0x5a));
  return h.toString(16).padStart(8, '0');
}

/** Each request answered XOR 0x5a, as xorHash expects. */
const xorAnswer: DuplexHandler = (frame) => frame.data.map((v) => v ^ 0x5a);

/** A server whose 'clientGone' events gather in gone, and a duplex-client.mjs of ARGS connected to it and serving. */
async function serveOneClient(ringPrefix: string, args: string[]) {
  const server = await ZeroBufferDuplexServer.create({ name: ringName(ringPrefix) });
  const gone: DuplexClientGone[] = [];
  server.on('clientGone', (g: DuplexClientGone) => gone.push(g));
  const found = new Promise<void>((resolve) => server.once('client', () => resolve()));
  const client = run(process.execPath, [duplexClientPath, server.name, ...args]);
  const serving = server.serve(xorAnswer);
  serving.catch(() => undefined); // awaited by the test; a failed step before must not leave it unhandled
  return { server, gone, found, client, serving };
}

/** The next client (5 requests of seed 2) is answered right and ends its serve(). */
async function expectNextClientAnswered(server: ZeroBufferDuplexServer): Promise<void> {
  const next = server.serve(xorAnswer);
  const b = run(process.execPath, [duplexClientPath, server.name, '5', '2']);
  try {
    expect(await b.exit(20000)).toBe(0);
    expect(b.stdout).toEqual([`answered 5 fnv1a=${xorHash(2, 5)}`]);
    await within('serve() at the next client\'s end', next, 5000);
  } finally {
    killIfRunning(b);
  }
}

test.each([
  ['before its response ring was found: no clientGone', false],
  ['after its response ring was found: clientGone names its pid', true],
] as const)('a request writer killed (SIGKILL) before its first request, %s; serve() resolves, the next client is answered', async (_label, withRing) => {
  const { server, gone, found, client: a, serving } = await serveOneClient('dxdied', ['0', '1', 'hold', ...(withRing ? ['ring'] : [])]);
  try {
    expect(await a.line(/^(connected|failed.*)$/, 15000)).toBe('connected');
    if (withRing) await within('the server finding its response ring', found, 5000);
    a.proc.kill('SIGKILL');
    await a.exit(5000).catch(() => undefined);
    expect(a.proc.signalCode).toBe('SIGKILL');
    await within('serve() after the writer died', serving, 5000);
    expect(gone).toEqual(withRing ? [{ pid: a.proc.pid, reason: 'writerDied', error: expect.any(WriterGoneError) }] : []);
    expect(server.stats()).toMatchObject({ requests: 0, responses: 0, dropped: 0 });
    await expectNextClientAnswered(server);
    expect(gone).toHaveLength(withRing ? 1 : 0);
  } finally {
    killIfRunning(a);
    await server.close();
  }
}, 60000);

test('a client (a process) that closes without a request after 1 s ends serve() within 2 s of its exit, no clientGone; the next client is answered', async () => {
  const { server, gone, client: a, serving } = await serveOneClient('dxidle', ['0', '1', 'idle', '1000']);
  try {
    expect(await a.line(/^(connected|failed.*)$/, 15000)).toBe('connected');
    expect(await a.exit(10000)).toBe(0);
    expect(a.stdout).toEqual(['connected', 'closed']);
    await within('serve() after the client closed', serving, 2000);
    expect(gone).toEqual([]);
    expect(server.stats()).toMatchObject({ requests: 0, responses: 0, dropped: 0 });
    await expectNextClientAnswered(server);
    expect(gone).toEqual([]);
  } finally {
    killIfRunning(a);
    await server.close();
  }
}, 60000);

test('a client (a process) that connects and closes without a request between two looks of the server leaves no trace: no client event, serve() goes on, and the same call serves the next client', async () => {
  // Pins docs/DUPLEX.md's limit, made certain here by stopping the server (SIGSTOP) while that client comes and goes:
  // the only field of the request ring it writes is writer_pid, claimed and cleared (the metadata is written once per
  // ring, its response ring is removed at its close), so no look of the server after it can tell that it came.
  const name = ringName('dxunseen');
  const server = run(process.execPath, [serveLoopPath, name]);
  const clients: Child[] = [];
  const client = (...args: string[]): Child => {
    const c = run(process.execPath, [duplexClientPath, name, ...args]);
    clients.push(c);
    return c;
  };
  try {
    await server.line(/^ready$/, 15000);
    const a = client('5', '1');
    expect(await a.exit(20000)).toBe(0);
    expect(a.stdout).toEqual([`answered 5 fnv1a=${xorHash(1, 5)}`]);
    await server.line(/^resolved requests=5$/, 5000); // the end of a's stream, seen
    server.proc.kill('SIGSTOP');
    try {
      const b = client('0', '1', 'idle', '0');
      expect(await b.exit(20000)).toBe(0);
      expect(b.stdout).toEqual(['connected', 'closed']);
    } finally {
      server.proc.kill('SIGCONT');
    }
    const c = client('5', '2');
    expect(await c.exit(20000)).toBe(0);
    expect(c.stdout).toEqual([`answered 5 fnv1a=${xorHash(2, 5)}`]);
    await server.line(/^resolved requests=10$/, 5000);
    server.proc.kill('SIGTERM');
    expect(await server.exit(10000)).toBe(0);
    // b: no 'client', no 'clientGone', no serve() of its own
    expect(server.stdout).toEqual(['ready', 'client', 'resolved requests=5', 'client', 'resolved requests=10', 'closed']);
  } finally {
    for (const c of clients) killIfRunning(c);
    server.proc.kill('SIGCONT');
    killIfRunning(server);
  }
}, 60000);

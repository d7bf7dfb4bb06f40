// A duplex server's mode: its request ring's permission bits, which let a
// client of another user connect (the client's mode opens its response
// ring, for the server to answer). A client denied the request ring is told
// so (EACCES, and that the server's mode is what to give), not that there
// is no server. The other user is nobody: that part needs root.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ZeroBufferDuplexServer, ZeroBufferReader } from '../../src/index.js';
import { killIfRunning, leftovers, repoRoot, ringName, run, settledWithin, type Child, type RunOptions } from './helpers.js';

const NOBODY = 'nobody';
const isRoot = process.getuid?.() === 0;

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

const modeOf = (file: string): number => fs.statSync(file).mode & 0o777;

test("the server's mode is its request ring's (segment and lock file); 0600 without; refused as a reader's mode is", async () => {
  const shared = await ZeroBufferDuplexServer.create({ name: ringName('dmode'), mode: 0o666 });
  const own = await ZeroBufferDuplexServer.create({ name: ringName('dmode') });
  try {
    expect(modeOf(`/dev/shm/${shared.requestRing}`)).toBe(0o666);
    expect(modeOf(`/tmp/zerobuffer/${shared.requestRing}.lock`)).toBe(0o666);
    expect(modeOf(`/dev/shm/${own.requestRing}`)).toBe(0o600);
    expect(modeOf(`/tmp/zerobuffer/${own.requestRing}.lock`)).toBe(0o600);
  } finally {
    await shared.close();
    await own.close();
  }
  for (const mode of [0, 0o1000, 1.5, '0666']) {
    const byReader: unknown = await ZeroBufferReader.create({ name: ringName('dmode'), metadataSize: 64, payloadSize: 4096, mode: mode as number }).catch((e) => e);
    const byServer: unknown = await ZeroBufferDuplexServer.create({ name: ringName('dmode'), mode: mode as number }).catch((e) => e);
    expect(byReader).toBeInstanceOf(TypeError);
    expect(byServer).toBeInstanceOf(TypeError);
    expect((byServer as Error).message).toBe((byReader as Error).message);
  }
});

describe('a client of another user', () => {
  let registry: string;
  beforeAll(() => {
    // nobody's gst-launch keeps its plugin registry here, its HOME (it has no home of its own)
    registry = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-dmode-'));
    fs.chmodSync(registry, 0o777);
  });
  afterAll(() => fs.rmSync(registry, { recursive: true, force: true }));

  // setpriv and env exec cmd (runuser would stay its parent): the child is cmd itself, so that a kill reaches it
  const asNobody = (cmd: string, args: string[], options?: RunOptions): Child => run('setpriv', [`--reuid=${NOBODY}`,
    `--regid=${execFileSync('id', ['-g', NOBODY], { encoding: 'utf8' }).trim()}`, '--clear-groups', 'env', `HOME=${registry}`,
    `GST_PLUGIN_PATH=${path.join(repoRoot, 'builddir', 'gst-plugin')}`, `GST_REGISTRY=${path.join(registry, 'registry.bin')}`, cmd, ...args], {}, options);
  const zerofilter = (channel: string): Child => asNobody('gst-launch-1.0', ['-q', ...`videotestsrc num-buffers=5 ! video/x-raw,format=RGB,width=64,height=48 ! zerofilter channel=${channel} mode=0666 timeout=5000 ! fakesink`.split(' ')], { gstLaunch: true });
  // its response ring 0666, for the server (another user) to answer
  const nodeClient = (channel: string): Child => asNobody('node', ['--input-type=module', '-e', `
    import { ZeroBufferDuplexClient } from ${JSON.stringify(path.join(repoRoot, 'dist', 'index.js'))};
    try {
      const client = await ZeroBufferDuplexClient.connect({ name: ${JSON.stringify(channel)}, mode: 0o666, connectTimeoutMs: 0 });
      const answer = await client.request(new Uint8Array([1, 2, 3]));
      console.log('answered ' + Array.from(answer.data).join(','));
      await client.close();
    } catch (e) {
      console.log('failed: ' + e.code + ' ' + e.message);
      process.exitCode = 1;
    }`]);

  async function serving(mode: number | undefined, body: (channel: string, server: ZeroBufferDuplexServer) => Promise<void>): Promise<void> {
    const channel = ringName('dmode');
    const server = await ZeroBufferDuplexServer.create({ name: channel, ...(mode === undefined ? {} : { mode }) });
    const served = server.serve((frame) => frame.data.map((b) => b ^ 0x5a)).catch((e: unknown) => e);
    try {
      await body(channel, server);
    } finally {
      await server.close();
      await settledWithin(served, 3000);
    }
  }

  test('denied the request ring of a server created without a mode: zerofilter and the Node client say permission denied and what to do', async () => {
    if (!isRoot) {
      console.warn('skipped: a client of another user needs root');
      return;
    }
    let gst: Child | undefined;
    let client: Child | undefined;
    await serving(undefined, async (channel) => {
      try {
        gst = zerofilter(channel);
        expect(await gst.exit()).not.toBe(0);
        expect(gst.stderr).toContain(`Permission denied on the duplex server's request ring: Could not connect to ring ${channel}_request`);
        expect(gst.stderr).toContain('the duplex server must be created with a mode that gives this user access (Node: ZeroBufferDuplexServer.create({ mode: 0o666 })');
        expect(gst.stderr).toContain('zerobuffer-error=EACCES (permanent)');
        expect(gst.stderr).not.toContain('No duplex server');
        client = nodeClient(channel);
        expect(await client.exit()).toBe(1);
        const failed = client.stdout.join('\n');
        expect(failed).toContain(`failed: EACCES Permission denied on the duplex server's request ring ${channel}_request: the server must be created ` +
          'with a mode that gives this user access (ZeroBufferDuplexServer.create({ mode: 0o666 })');
        expect(failed).toContain('does not let this user (uid 65534) write it');
      } finally {
        killIfRunning(gst);
        killIfRunning(client);
      }
    });
  }, 60000);

  test('served by a server created with mode 0o666: zerofilter and the Node client get their answers', async () => {
    if (!isRoot) {
      console.warn('skipped: a client of another user needs root');
      return;
    }
    let gst: Child | undefined;
    let client: Child | undefined;
    try {
      await serving(0o666, async (channel, server) => {
        gst = zerofilter(channel);
        expect(await gst.exit()).toBe(0);
        expect(server.stats().responses).toBe(5);
      });
      await serving(0o666, async (channel) => {
        client = nodeClient(channel);
        expect([await client.exit(), client.stdout, client.stderr]).toEqual([0, [`answered ${[1 ^ 0x5a, 2 ^ 0x5a, 3 ^ 0x5a].join(',')}`], '']);
      });
    } finally {
      killIfRunning(gst);
      killIfRunning(client);
    }
  }, 60000);
});

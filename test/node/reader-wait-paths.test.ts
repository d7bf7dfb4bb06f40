// Every place a read can sleep behaves the same: the event loop itself on
// the ring's semaphore (io_uring FUTEX_WAIT), woken through an eventfd
// (DEFER_TASKRUN) or by signalled task work (forced here with
// ZEROBUFFER_URING_SIGNAL=1), and the reader's wait thread (the fallback,
// forced with ZEROBUFFER_NO_URING=1). Real writer processes: frames
// byte-exact, each woken by the writer's post, a writer killed during a wait,
// timeouts, close and abort during a wait, the process exiting on its own, a
// worker ended during a wait or while frames flow, the process exiting while
// workers stream.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { jest } from '@jest/globals';
import { TimeoutError, WriterGoneError, ZeroBufferReader } from '../../src/index.js';
import { FNV_START, fnv1a, leftovers, makeFrame, nodeWriterPath, repoRoot, ringName, run, sleep } from './helpers.js';

jest.setTimeout(30000);

const dist = path.join(repoRoot, 'dist', 'index.js');

// io_uring's FUTEX_WAIT came with Linux 6.7; a sysctl may turn io_uring off,
// and a seccomp filter (containers) may refuse it: then either path is right.
function uringExpected(): boolean | undefined {
  const [major = 0, minor = 0] = os.release().split('.').map(Number);
  const read = (file: string, fallback: string): string => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch {
      return fallback; // no io_uring_disabled sysctl before Linux 6.6: io_uring is on
    }
  };
  if (!(major > 6 || (major === 6 && minor >= 7)) || read('/proc/sys/kernel/io_uring_disabled', '0').trim() !== '0')
    return false;
  return /^Seccomp:\s*0$/m.test(read('/proc/self/status', '')) ? true : undefined;
}

type Wait = 'io_uring' | 'io_uring-signal' | 'thread';

// The path a reader asked for `wait` must use. The eventfd way needs Linux
// 6.1, so where FUTEX_WAIT works the kernel takes it, but the addon leaves
// it for signalled task work where the kernel signals the eventfd late
// (some builds do: the wake test below tells).
function expectedPaths(wait: Wait): string[] {
  const uring = uringExpected();
  if (wait === 'thread' || uring === false) return ['thread'];
  if (wait === 'io_uring') return uring ? ['io_uring', 'io_uring-signal'] : ['io_uring', 'io_uring-signal', 'thread'];
  return uring ? [wait] : [wait, 'thread'];
}

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

describe.each(['io_uring', 'io_uring-signal', 'thread'] as const)('reads that sleep on the %s path', (wait) => {
  const env = {
    ZEROBUFFER_NO_URING: wait === 'thread' ? '1' : '0',
    ZEROBUFFER_URING_SIGNAL: wait === 'io_uring-signal' ? '1' : '0',
  };
  const saved = { ZEROBUFFER_NO_URING: process.env.ZEROBUFFER_NO_URING,
    ZEROBUFFER_URING_SIGNAL: process.env.ZEROBUFFER_URING_SIGNAL };
  const setEnv = (values: Record<string, string | undefined>): void => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  beforeEach(() => setEnv(env));
  afterEach(() => setEnv(saved));

  const create = (tag: string, payloadSize = 64 * 1024) =>
    ZeroBufferReader.create({ name: ringName(`${wait}-${tag}`), metadataSize: 256, payloadSize });

  test('it is the path used (io_uring on this kernel unless forced otherwise)', async () => {
    const reader = await create('path');
    try {
      expect(expectedPaths(wait)).toContain(reader.waitPath);
    } finally {
      await reader.close();
    }
  });

  test("the writer's post wakes the sleeping reader, not its liveness timer", async () => {
    // Frames 20 ms apart into an idle process: a wake that went missing
    // would leave each frame to the timer 50 ms after the previous post,
    // about 30 ms late, and an eventfd the kernel signals late about
    // 13-16 ms after the post; woken by the post it takes well under a
    // millisecond, a few at a load of 13 on 2 cores: the bound sits between.
    // The first frames are left out: under load the reader's first reads in
    // a fresh jest process stalled 50-100 ms (frames 2-6 queued behind them).
    const reader = await create('wake');
    const script = `import { ZeroBufferWriter } from ${JSON.stringify(dist)};
      const w = await ZeroBufferWriter.connect(${JSON.stringify(reader.name)}, { frameHeader: true });
      w.setMetadata({ caps: 'application/x-test' });
      for (let i = 1; i <= 16; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        await w.write(new Uint8Array([i]));
      }
      await w.close();`;
    const child = run(process.execPath, ['--input-type=module', '-e', script], env);
    try {
      const late: number[] = [];
      for (let i = 1; i <= 16; i++) {
        const f = (await reader.next({ timeoutMs: 10000 }))!;
        expect(f.data[0]).toBe(i);
        if (i > 4) late.push(f.latencyNs! / 1e6);
        f.release();
      }
      expect(await child.exit()).toBe(0);
      late.sort((a, b) => a - b);
      expect(late[6]).toBeLessThan(10); // ms, the median
    } finally {
      await reader.close();
    }
  });

  test('frames from a writer process arrive byte-exact, one wake-up at a time and in batches', async () => {
    const reader = await create('frames');
    const frames = 400;
    const child = run(process.execPath, [nodeWriterPath, reader.name, String(frames), '5', '1', '3000'], env);
    try {
      let hash = FNV_START;
      let count = 0;
      // next() sleeps whenever the writer is behind; frames() takes batches.
      for (; count < frames / 2; ) {
        const f = (await reader.next({ timeoutMs: 10000 }))!;
        count++;
        expect(f.sequence).toBe(count);
        expect(Buffer.compare(Buffer.from(f.data), Buffer.from(makeFrame(5, count, 1, 3000)))).toBe(0);
        hash = fnv1a(hash, f.data);
        f.release();
      }
      for await (const f of reader.frames({ timeoutMs: 10000 })) {
        count++;
        expect(f.sequence).toBe(count);
        hash = fnv1a(hash, f.data);
      }
      expect(count).toBe(frames);
      expect(await child.exit()).toBe(0);
      expect(child.stdout.join('\n')).toContain(`wrote ${frames} fnv1a=${hash.toString(16).padStart(8, '0')}`);
    } finally {
      await reader.close();
    }
  });

  test('a writer killed during a wait ends it with WriterGoneError', async () => {
    const reader = await create('dead');
    const script = `import { ZeroBufferWriter } from ${JSON.stringify(dist)};
      const w = await ZeroBufferWriter.connect(${JSON.stringify(reader.name)});
      await w.write(new Uint8Array([42]));
      console.log('wrote');
      setInterval(() => {}, 1000);`;
    const child = run(process.execPath, ['--input-type=module', '-e', script], env);
    try {
      const f = (await reader.next({ timeoutMs: 10000 }))!;
      expect(Array.from(f.data)).toEqual([42]);
      f.release();
      await child.line(/^wrote$/);
      const pending = reader.next({ timeoutMs: 10000 }).catch((e: unknown) => e);
      await sleep(100); // asleep, the writer alive
      child.proc.kill('SIGKILL');
      await child.exit();
      const err = await pending;
      expect(err).toBeInstanceOf(WriterGoneError);
      expect((err as WriterGoneError).code).toBe('EWRITERDEAD');
      expect((err as Error).message).toMatch(/the writer \(pid \d+\) died without detaching/);
    } finally {
      child.proc.kill('SIGKILL');
      await reader.close();
    }
  });

  test('a wait times out with the same error, not before its time', async () => {
    const reader = await create('timeout');
    try {
      const t0 = Date.now();
      const err = await reader.next({ timeoutMs: 120 }).catch((e: unknown) => e);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(115);
      expect(err).toBeInstanceOf(TimeoutError);
      expect((err as TimeoutError).code).toBe('ETIMEDOUT');
      expect((err as Error).message).toContain(`ring "${reader.name}": no frame within 120 ms`);
    } finally {
      await reader.close();
    }
  });

  test('close() and abort during a wait settle it as before, and the reader reads on after an abort', async () => {
    const reader = await create('close');
    let child: ReturnType<typeof run> | undefined;
    try {
      const ac = new AbortController();
      const aborted = reader.next({ signal: ac.signal });
      await sleep(50);
      const reason = new Error('stop');
      ac.abort(reason);
      await expect(aborted).rejects.toBe(reason);
      // the writer only now: under load its first frame came before the abort (the wait then resolved)
      child = run(process.execPath, [nodeWriterPath, reader.name, '1', '3', '10', '10'], env);
      const f = (await reader.next({ timeoutMs: 10000 }))!;
      expect(f.sequence).toBe(1);
      f.release();
      expect(await child.exit()).toBe(0);
      await expect(reader.next({ timeoutMs: 5000 })).resolves.toBeNull(); // the writer detached: end of stream
      const pending = reader.next();
      await sleep(50);
      await reader.close();
      await expect(pending).resolves.toBeNull();
      await expect(reader.next()).resolves.toBeNull();
    } finally {
      await reader.close();
    }
  });

  // A worker ended while frames flowed aborted the whole process
  // ("terminate called after throwing an instance of 'Napi::Error'"), its
  // rings left in /dev/shm: once JS could not run, settling a batch threw
  // and so did rejecting the promise with that error, out of the libuv or
  // thread-safe function's callback; a release() or write() called from JS
  // threw a C++ exception where its error could not be thrown into JS.
  // Repeated: one round or process aborted from 2 to 8 times in 10.
  const fixture = path.join(repoRoot, 'test', 'node', 'fixtures', 'worker-pending-reads.mjs');

  test('terminate() while frames flow, 20 times with the reader in the worker, 20 with the writer: no abort, the peer sees the end, no ring left', async () => {
    const child = run(process.execPath, [fixture, ringName(`${wait}-flow`), 'flowing', '20'], env);
    const code = await child.exit(60000);
    expect(child.stderr).toBe('');
    expect(child.stdout).toEqual([
      'terminate, reader in the worker: codes 1 writer EREADERGONE left 0',
      'terminate, writer in the worker: codes 1 reader end',
    ]);
    expect(code).toBe(0);
  }, 70000);

  test('process.exit() while a reader worker and a writer worker stream, 8 processes: exit 0, no abort, the ring unlinked', async () => {
    for (let i = 0; i < 8; i++) {
      const name = ringName(`${wait}-exit`);
      const child = run(process.execPath, [fixture, name, 'exit'], env);
      const code = await child.exit(15000);
      expect(child.stderr).toBe('');
      expect(code).toBe(0);
      expect(fs.readdirSync('/dev/shm').filter((n) => n.includes(name))).toEqual([]);
    }
  }, 70000);

  // The worker that alone loaded the addon ended holding a ring view: Node
  // unloaded the addon with the worker's environment, then the worker's
  // heap freed the view through the addon's code (SIGSEGV, every time; in
  // the test above when the reader worker's heap went after the writer
  // worker's environment: 1 run in 185 under load).
  test('terminate() of the one worker that loaded the addon, a ring view held: no crash, the ring unlinked', async () => {
    const name = ringName(`${wait}-held`);
    const child = run(process.execPath, [fixture, name, 'held'], env);
    const code = await child.exit(15000);
    expect(child.stderr).toBe('');
    expect(child.stdout).toEqual(['held: code 1']);
    expect(code).toBe(0);
    expect(fs.readdirSync('/dev/shm').filter((n) => n.includes(name))).toEqual([]);
  });

  test('an idle reader does not keep the process alive; a worker ended during a wait cleans up', async () => {
    const name = ringName(`${wait}-idle`);
    // After its reads the script returns without closing anything: the
    // process must still exit (the exit hook unlinks the rings). A worker
    // whose reader sleeps is terminated first.
    const script = `import { ZeroBufferReader, ZeroBufferWriter } from ${JSON.stringify(dist)};
      import { Worker } from 'node:worker_threads';
      const r = await ZeroBufferReader.create({ name: ${JSON.stringify(name)}, metadataSize: 64, payloadSize: 4096 });
      const w = await ZeroBufferWriter.connect(r.name);
      setTimeout(() => w.write(new Uint8Array([1])), 20);
      const f = await r.next({ timeoutMs: 5000 });
      f.release();
      await w.close();
      const worker = new Worker(\`const { parentPort } = require('node:worker_threads');
        import(\${JSON.stringify(${JSON.stringify(pathToFileURL(dist).href)})}).then(async ({ ZeroBufferReader }) => {
          const r = await ZeroBufferReader.create({ name: ${JSON.stringify(name + '-w')}, metadataSize: 64, payloadSize: 4096 });
          parentPort.postMessage(r.waitPath);
          await r.next();
        });\`, { eval: true, execArgv: [] });
      const path = await new Promise((resolve) => worker.once('message', resolve));
      await new Promise((resolve) => setTimeout(resolve, 50));
      await worker.terminate();
      console.log('done', r.waitPath, path);`;
    const child = run(process.execPath, ['--input-type=module', '-e', script], env);
    const code = await child.exit(15000);
    expect(child.stderr).toBe('');
    expect(code).toBe(0);
    expect(child.stdout).toHaveLength(1);
    const [done, main, worker] = child.stdout[0]!.split(' ');
    expect(done).toBe('done');
    expect(expectedPaths(wait)).toContain(main);
    expect(worker).toBe(main);
  });
});

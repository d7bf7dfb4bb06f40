// The copying fallback (ZEROBUFFER_FORCE_COPY=1, or where the runtime
// refuses external ArrayBuffers): what differs from zero-copy mode, each
// case run in a child whose addon loads in the mode asked.
import path from 'node:path';
import { leftovers, repoRoot, ringName, run } from './helpers.js';

const fixture = (name: string): string => path.join(repoRoot, 'test', 'node', 'fixtures', name);

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

async function runFixture(name: string, copy: string): Promise<unknown> {
  const child = run(process.execPath, [fixture(name), ringName('copymode')], { ZEROBUFFER_FORCE_COPY: copy });
  const code = await child.exit();
  expect({ code, stderr: child.stderr }).toEqual({ code: 0, stderr: '' });
  return JSON.parse(child.stdout.join(''));
}

test.each(['0', '1'])('ZEROBUFFER_FORCE_COPY=%s: commit() of a reservation whose buffer was transferred away (it moves in copy mode) throws EDETACHED, publishes nothing and cancels it', async (copy) => {
  const result = await runFixture('reserve-transfer.mjs', copy);
  if (copy === '1') {
    // the scratch buffer moved: its bytes are gone, nothing is published, the writer is free again
    expect(result).toEqual({
      steps: [{ left: 0, commit: 'EDETACHED' }, { left: 0, commit: 'EDETACHED' }, { commit: 'ESTATE', cancel: 'ok' }],
      frames: [{ size: 1, first: 1 }],
    });
  } else {
    // Node clones a view over the ring instead of moving it: the view and its bytes stay
    expect(result).toEqual({
      steps: [{ left: 24, commit: 'ok' }, { left: 24, commit: 'ok' }, { commit: 'ESTATE', cancel: 'ok' }],
      frames: [{ size: 24, first: 8 }, { size: 24, first: 8 }, { size: 1, first: 1 }],
    });
  }
}, 30000);

test.each(['0', '1'])("ZEROBUFFER_FORCE_COPY=%s: a duplex handler that transferred reply.reserve()'s buffer away (it moves in copy mode) failed: onError 'pass' passes the request through", async (copy) => {
  const result = await runFixture('duplex-reserve-transfer.mjs', copy);
  const moved = copy === '1';
  expect(result).toEqual({
    answers: [11, moved ? 20 : 21, 31],
    errors: moved ? [{ sequence: 2, message: expect.stringMatching(/transferred the buffer of reply\.reserve\(\) away/) }] : [],
    responses: 3, errorCount: moved ? 1 : 0, passed: moved ? 1 : 0, copied: 3,
  });
}, 30000);

test.each(['0', '1'])('ZEROBUFFER_FORCE_COPY=%s: reader.zeroCopy and writer.zeroCopy tell the mode before the first frame', async (copy) => {
  const copies = copy === '1';
  expect(await runFixture('zero-copy-mode.mjs', copy)).toEqual({
    reader: !copies, writer: !copies, copied: copies, heldFrames: copies ? 0 : 1,
  });
}, 30000);

// The addon read its modes with getenv, the process's C environment: a
// worker's own process.env (its `env` option) went unheard, frames were
// views ({ reader: true, writer: true, copied: false, heldFrames: 1 }) and
// released bytes stayed, while ZEROBUFFER_NO_URING, which the JS side reads
// there, was honoured.
test("a worker_thread's env option sets ZEROBUFFER_FORCE_COPY and ZEROBUFFER_DEBUG for its addon, where the process has neither", async () => {
  const inWorker = async (name: string, variable: string): Promise<unknown> => {
    const child = run(process.execPath, [fixture('worker-env.mjs'), name, ringName('workerenv'), `${variable}=1`],
      { ZEROBUFFER_FORCE_COPY: '0', ZEROBUFFER_DEBUG: '0' });
    const code = await child.exit();
    expect({ code, stderr: child.stderr }).toEqual({ code: 0, stderr: '' });
    return JSON.parse(child.stdout.join(''));
  };
  expect(await inWorker('zero-copy-mode.mjs', 'ZEROBUFFER_FORCE_COPY'))
    .toEqual({ reader: false, writer: false, copied: true, heldFrames: 0 });
  expect(await inWorker('poison-ring.mjs', 'ZEROBUFFER_DEBUG')).toEqual({ before: [1, 2, 3], after: [0xdb] });
}, 30000);

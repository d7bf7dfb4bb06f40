// reader.test.ts once more with every read sleeping on the reader's wait
// thread (ZEROBUFFER_NO_URING=1), the fallback where io_uring is refused;
// reader.test.ts itself runs on the event-loop path where the kernel has it.
import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { repoRoot, ringName, run } from './helpers.js';

process.env.ZEROBUFFER_NO_URING = '1';
await import('./reader.test.js');

describe('wait thread: workers ending with reads pending', () => {
  // (reader.test.ts checks that nothing is left in /dev/shm after all.)
  // A worker ending while its reads waited on the thread aborted the whole
  // process: terminate() with 2+ pending reads (the wait thread called the
  // thread-safe function after Node had freed it), process.exit() in the
  // worker (the callback threw a C++ exception once JS could not run); a
  // writer's pending write likewise.
  test('terminate() with 1, 2 and 5 pending reads, process.exit(), a natural end, a pending write: no abort, nothing left', async () => {
    const fixture = path.join(repoRoot, 'test', 'node', 'fixtures', 'worker-pending-reads.mjs');
    const child = run(process.execPath, [fixture, ringName('wt-end')], { ZEROBUFFER_NO_URING: '1' });
    const code = await child.exit(30000);
    expect(child.stderr).toBe('');
    expect(child.stdout).toEqual([
      'terminate 1 pending: thread code 1',
      'terminate 2 pending: thread code 1',
      'terminate 5 pending: thread code 1',
      'exit 2 pending: thread code 3',
      'natural: thread code 0',
      'terminate, a write pending: thread code 1',
      'threadSafeFunctions 0',
    ]);
    expect(code).toBe(0);
  }, 40000);
});

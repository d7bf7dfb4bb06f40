// Churn leaves nothing behind: 500 writers one after another and 50 reader
// close/re-create cycles (frames released, dropped for GC, held over a
// close) in one process (fixtures/churn.mjs), then, after GC, the addon's
// live objects are back to none and the V8 heap, external memory and
// ArrayBuffers back within a small bound of where they were after a warm-up.
// A reader, writer, lease table or thread-safe function kept per cycle
// shows in the counts; a reader's JS side kept (its batch buffers: 6 KiB)
// in the ArrayBuffers.
import path from 'node:path';
import { leftovers, repoRoot, ringName, run } from './helpers.js';

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

interface Snapshot {
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  live: Record<string, number>;
}

test('500 writers and 50 reader close/re-create cycles: no addon object left, heap and external memory back', async () => {
  const child = run(process.execPath, ['--expose-gc', path.join(repoRoot, 'test', 'node', 'fixtures', 'churn.mjs'),
    ringName('churn')]);
  const code = await child.exit(120000);
  expect(child.stderr).toBe('');
  expect(code).toBe(0);
  const { warm, churned, closed } = JSON.parse(child.stdout.join('')) as Record<string, Snapshot>;
  const none = { readerObjects: 0, writerObjects: 0, readerSessions: 0, writerSessions: 0, leaseTables: 0,
    views: 0, heldLeases: 0, threadSafeFunctions: 0 };
  const oneReader = { ...none, readerObjects: 1, readerSessions: 1, leaseTables: 1, threadSafeFunctions: 1 };
  expect(warm!.live).toEqual(oneReader);
  expect(churned!.live).toEqual(oneReader);
  expect(closed!.live).toEqual(none);
  expect(churned!.heapUsed - warm!.heapUsed).toBeLessThan(512 * 1024);
  expect(churned!.external - warm!.external).toBeLessThan(128 * 1024);
  expect(churned!.arrayBuffers - warm!.arrayBuffers).toBeLessThan(32 * 1024);
}, 150000);

// Property test (fast-check) of the ring name space through the Node API: for
// any two names A and B, where A is B with the prefixes and suffixes that once
// made two rings share a file ("sem.sem-w-" + B is ring B's write semaphore),
// either A is refused before any file is touched, or both rings live side by
// side, each with its own four files, each passing its own frames, and
// closing one leaves the other whole. The files are those docs/PROTOCOL.md §1 names
// (the test's oracle); the C suite core-namespace observes them instead.
import fc from 'fast-check';
import fs from 'node:fs';
import { ZeroBufferReader, ZeroBufferWriter, inspectRing, listRings } from '../../src/index.js';
import { parseLine } from '../../src/line-protocol/parse-line.js';
import { formatMessage } from '../../src/line-protocol/format.js';
import { leftovers, ringName } from './helpers.js';

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

const filesOf = (name: string): string[] => [
  `/dev/shm/${name}`,
  `/dev/shm/sem.sem-w-${name}`,
  `/dev/shm/sem.sem-r-${name}`,
  `/tmp/zerobuffer/${name}.lock`,
];
const exist = (name: string): boolean[] => filesOf(name).map((f) => fs.existsSync(f));

const PREFIXES = ['sem.', 'sem.sem-w-', 'sem.sem-r-', 'sem-w-', 'sem-r-', 'sem.sem.', 'x.', '.', ' ', 'ü:'];
const SUFFIXES = ['.lock', '.', '-w', '.lock.lock'];
// A prefix, a suffix, or both, around the base name.
const affixes = fc.oneof(
  fc.tuple(fc.constantFrom(...PREFIXES), fc.constant('')),
  fc.tuple(fc.constant(''), fc.constantFrom(...SUFFIXES)),
  fc.tuple(fc.constantFrom(...PREFIXES), fc.constantFrom(...SUFFIXES)),
);

async function passes(reader: ZeroBufferReader, bytes: Uint8Array): Promise<void> {
  const writer = await ZeroBufferWriter.connect(reader.name, { timeoutMs: 2000 });
  try {
    await writer.write(bytes);
  } finally {
    await writer.close();
  }
  const f = await reader.next({ timeoutMs: 5000 });
  expect(f).not.toBeNull();
  expect(Buffer.from(f!.data).equals(Buffer.from(bytes))).toBe(true);
  f!.release();
  expect(await reader.next({ timeoutMs: 5000 })).toBeNull(); // end of stream
}

// The contract's names (docs/PROTOCOL.md §1): a peer's ring may be called "cam:1", "a b" or "Kamera-ü".
test('names with a space, a colon and UTF-8 work end to end; ENAME only for what the contract refuses, control characters and lone surrogates', async () => {
  for (const shape of ['nm cam:1 ', 'nm@host+x=y ', 'nm Kamera-ü € 😀 ', '.nm "q" \\ ']) {
    const name = `${shape}${ringName('sp')}`;
    const reader = await ZeroBufferReader.create({ name, metadataSize: 64, payloadSize: 1024 });
    try {
      expect(reader.name).toBe(name);
      expect(exist(name)).toEqual([true, true, true, true]);
      expect(inspectRing(name).name).toBe(name);
      expect(listRings().map((r) => r.name)).toContain(name);
      await passes(reader, new Uint8Array([1, 2, 3]));
      // the announcement line carries it whole
      expect(parseLine(formatMessage({ method: 'start-stream', name, metadataSize: 64, payloadSize: 1024 }).trimEnd()))
        .toMatchObject({ type: 'message', message: { name } });
    } finally {
      await reader.close();
    }
    expect(exist(name)).toEqual([false, false, false, false]);
  }
  for (const [name, reason] of [
    ['', /empty/], ['a/b', /contains '\/'/], ['x..y', /contains "\.\."/], ['.', /\/dev\/shm itself/],
    ['nm\tx', /control character 0x09/], ['nm\nx', /control character 0x0a/], ['nm\u007fx', /0x7f/],
    ['nm\u0000x', /NUL/], ['sem.sem-w-nm', /semaphore of ring "nm"/], ['ü'.repeat(123), /too long/],
    // their UTF-8 would be U+FFFD's: another ring than the one the string names
    ['nm\ud83dx', /lone surrogate at index 2/], ['nm\ude00', /lone surrogate at index 2/],
  ] as const) {
    await expect(ZeroBufferReader.create({ name, metadataSize: 64, payloadSize: 1024 }))
      .rejects.toMatchObject({ code: 'ENAME', message: expect.stringMatching(reason) });
  }
  expect(exist('nm\ufffdx')).toEqual([false, false, false, false]);
  await expect(ZeroBufferWriter.connect('nm\ud83d', { timeoutMs: 100 })).rejects.toMatchObject({ code: 'ENAME' });
  expect(parseLine('> {"jsonrpc":"2.0","method":"start-stream","params":["nm\\ud83d",64,1024]}'))
    .toMatchObject({ type: 'warning', code: 'ENAME', reason: expect.stringMatching(/lone surrogate/) });
  // 245 bytes is the limit, not 245 characters: 122 × 'ü' and one byte more
  const wide = `${'ü'.repeat(122)}a`;
  const reader = await ZeroBufferReader.create({ name: wide, metadataSize: 64, payloadSize: 1024 });
  await reader.close();
});

test('no two rings share a file: a derived name is refused untouched, or both rings live side by side', async () => {
  await fc.assert(
    fc.asyncProperty(
      affixes,
      fc.boolean(),
      fc.uint8Array({ minLength: 1, maxLength: 64 }),
      async ([prefix, suffix], derivedFirst, bytes) => {
        const base = ringName('ns');
        const derived = `${prefix}${base}${suffix}`;
        let accepted = true;
        try {
          await ZeroBufferReader.create({ name: derived, metadataSize: 64, payloadSize: 256 }).then((r) => r.close());
        } catch (e) {
          accepted = false;
          expect((e as { code?: string }).code).toBe('ENAME');
          expect(prefix.startsWith('sem.')).toBe(true);
        }
        if (!accepted) {
          expect(exist(derived)).toEqual([false, false, false, false]);
          return;
        }
        expect(filesOf(base).some((f) => filesOf(derived).includes(f))).toBe(false);
        const order = derivedFirst ? [derived, base] : [base, derived];
        const first = await ZeroBufferReader.create({ name: order[0]!, metadataSize: 64, payloadSize: 256 });
        const second = await ZeroBufferReader.create({ name: order[1]!, metadataSize: 64, payloadSize: 256 });
        try {
          expect(exist(order[0]!)).toEqual([true, true, true, true]);
          expect(exist(order[1]!)).toEqual([true, true, true, true]);
          await passes(first, bytes);
          await passes(second, bytes.map((b) => b ^ 0xff));
          await first.close();
          expect(exist(order[0]!)).toEqual([false, false, false, false]);
          expect(exist(order[1]!)).toEqual([true, true, true, true]);
          await passes(second, bytes);
        } finally {
          await first.close();
          await second.close();
        }
        expect(exist(order[1]!)).toEqual([false, false, false, false]);
      },
    ),
    {
      numRuns: 60,
      // The two collisions of issue 12, in both orders.
      examples: [
        [['sem.sem-w-', ''], true, new Uint8Array([1, 2, 3])],
        [['sem.sem-w-', ''], false, new Uint8Array([4, 5, 6])],
        [['sem.sem-r-', ''], false, new Uint8Array([7])],
      ],
    },
  );
});

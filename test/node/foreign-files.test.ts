// Files under a ring's name that are not ours to remove: another user's file
// in /dev/shm, or a file of ours that is not a ZeroBuffer ring. Creating the
// ring is refused with an error that names the file, its owner and what to
// do (not "File exists", not "a live reader"), and the file is left alone.
import fs from 'node:fs';
import { RingError, ZeroBufferReader, removeStaleRing } from '../../src/index.js';
import { leftovers, ringName } from './helpers.js';

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

test("another user's file in /dev/shm under the ring's name: EACCES naming its owner and what to do; the file stays", async () => {
  if (!isRoot) {
    console.warn("skipped: making another user's file needs root");
    return;
  }
  const name = ringName('foreign');
  const file = `/dev/shm/${name}`;
  fs.writeFileSync(file, 'their data', { mode: 0o600 });
  fs.chownSync(file, NOBODY, NOBODY);
  try {
    const err: unknown = await ZeroBufferReader.create({ name, metadataSize: 64, payloadSize: 4096 }).catch((e) => e);
    expect(err).toBeInstanceOf(RingError);
    expect((err as RingError).code).toBe('EACCES');
    expect((err as Error).message).toContain(`${file} belongs to user nobody (uid ${NOBODY})`);
    expect((err as Error).message).toMatch(/Pick another name, or ask that user to close or remove it/);
    expect((err as Error).message).not.toMatch(/live reader|File exists/);
    expect(fs.readFileSync(file, 'utf8')).toBe('their data');
    expect(fs.existsSync(`/tmp/zerobuffer/${name}.lock`)).toBe(false);
    expect(() => removeStaleRing(name)).toThrow(/belongs to user nobody/);
    expect(fs.existsSync(file)).toBe(true);
  } finally {
    fs.rmSync(file, { force: true });
  }
});

test('a file of ours that is not a ring under the name: EPROTO with the reason, the file stays', async () => {
  const name = ringName('notaring');
  const file = `/dev/shm/${name}`;
  fs.writeFileSync(file, 'x'.repeat(4096), { mode: 0o600 });
  try {
    const err: unknown = await ZeroBufferReader.create({ name, metadataSize: 64, payloadSize: 4096 }).catch((e) => e);
    expect((err as RingError).code).toBe('EPROTO');
    expect((err as Error).message).toContain(`${file} exists and is not a ZeroBuffer ring`);
    expect((err as Error).message).toContain('not ours to remove');
    expect(fs.readFileSync(file, 'utf8')).toBe('x'.repeat(4096));
  } finally {
    fs.rmSync(file, { force: true });
  }
  // Once it is gone, the name works.
  const reader = await ZeroBufferReader.create({ name, metadataSize: 64, payloadSize: 4096 });
  await reader.close();
});

// `zerobuffer inspect` and `zerobuffer cleanup` on a live ring and on the
// leftovers of a SIGKILLed reader.
import { jest } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import { EXIT } from '../../src/cli/exit-codes.js';
import { BANDS, ringBand, ZeroBufferDuplexServer, ZeroBufferReader, ZeroBufferWriter } from '../../src/index.js';
import { listRings } from '../../src/rings.js';
import { leftovers, repoRoot, ringName, run } from './helpers.js';

jest.setTimeout(30000);

const bin = path.join(repoRoot, 'dist', 'cli', 'bin.js');
const holdRing = path.join(repoRoot, 'test', 'node', 'fixtures', 'hold-ring.mjs');

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

const files = (name: string): boolean[] =>
  [`/dev/shm/${name}`, `/dev/shm/sem.sem-w-${name}`, `/dev/shm/sem.sem-r-${name}`, `/tmp/zerobuffer/${name}.lock`].map((f) => fs.existsSync(f));

test('a live ring: inspect shows its health, cleanup keeps it', async () => {
  const name = ringName('live');
  const reader = await ZeroBufferReader.create({ name, metadataSize: 256, payloadSize: 4096 });
  const writer = await ZeroBufferWriter.connect(name);
  try {
    writer.setMetadata('{"caps":"application/octet-stream"}');
    await writer.write(new Uint8Array(3400)); // 3416 of 4096 bytes: 83 %
    const json = run(process.execPath, [bin, 'inspect', name, '--json']);
    expect(await json.exit()).toBe(EXIT.ok);
    const h = JSON.parse(json.stdout.join('\n')) as Record<string, unknown>;
    expect(h).toMatchObject({ name, payloadSize: 4096, readerPid: process.pid, readerAlive: true, writerPid: process.pid, writerAlive: true, writtenCount: 1, band: 'degraded' });
    const text = run(process.execPath, [bin, 'inspect', name]);
    expect(await text.exit()).toBe(EXIT.ok);
    expect(text.stdout.join('\n')).toMatch(/utilisation: 83\.4% \(degraded\)[\s\S]*backlog: +1 unread, 0 read, not given back\nreader: +\d+ \(alive\)/);
    await writer.write(new Uint8Array(500)); // 3932: 96 %
    const full = run(process.execPath, [bin, 'inspect', name]);
    expect(await full.exit()).toBe(EXIT.ok);
    expect(full.stdout.join('\n')).toMatch(/utilisation: 96\.0% \(critical\)/);
    expect(reader.stats()).toMatchObject({ band: 'critical' });
    const cleanup = run(process.execPath, [bin, 'cleanup', name, '--json']);
    expect(await cleanup.exit()).toBe(EXIT.ok);
    expect(JSON.parse(cleanup.stdout.join('\n'))).toMatchObject({ removed: [], live: [name] });
    expect(files(name)).toEqual([true, true, true, true]);
  } finally {
    await writer.close();
    await reader.close();
  }
  const gone = run(process.execPath, [bin, 'inspect', name]);
  expect(await gone.exit()).toBe(EXIT.ring);
  expect(gone.stderr).toMatch(/ENOENT/);
});

test("the bands are the protocol's (one definition, in the core): healthy < 80 %, degraded 80..95 %, critical > 95 %", () => {
  expect(BANDS).toEqual({ degraded: 80, critical: 95 });
  expect([0, 79.9, 80, 90, 95, 95.01, 100].map(ringBand)).toEqual(
    ['healthy', 'healthy', 'degraded', 'degraded', 'degraded', 'critical', 'critical']);
});

// Any create of the same user may sweep a stale ring at any moment (at most
// every 10 s; other tests on the machine create rings too). As root, the
// leftovers are made by user nobody, whose ring root's sweeps never remove,
// and the commands run as nobody; otherwise they race with the user's sweeps
// (as they do with sweeps by older builds of the core, which removed anyone's).
const NOBODY = 65534;
const asNobody = process.getuid?.() === 0 ? ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'] : [];
const runAs = (args: string[]) => (asNobody.length > 0 ? run(asNobody[0]!, [...asNobody.slice(1), process.execPath, ...args]) : run(process.execPath, args));

test('leftovers of a SIGKILLed reader: inspect says dead, cleanup --dry-run lists them, cleanup removes them', async () => {
  const name = ringName('stale');
  const holder = runAs([holdRing, name]);
  await holder.line(/^ready /);
  holder.proc.kill('SIGKILL');
  await holder.exit();
  expect(files(name)).toEqual([true, true, true, true]);
  expect(listRings().find((r) => r.name === name)).toMatchObject({ stale: true, readerAlive: false });

  const inspect = runAs([bin, 'inspect', name]);
  expect(await inspect.exit()).toBe(EXIT.ok);
  expect(inspect.stdout.join('\n')).toMatch(/reader: +\d+ \(dead\)/);

  const dry = runAs([bin, 'cleanup', name, '--dry-run']);
  expect(await dry.exit()).toBe(EXIT.ok);
  expect(dry.stdout).toEqual([`would remove ${name}`]);
  expect(files(name)).toEqual([true, true, true, true]);

  if (asNobody.length > 0) {
    // root does not remove another user's ring: it says whose it is
    const refused = run(process.execPath, [bin, 'cleanup', name, '--json']);
    expect(await refused.exit()).toBe(EXIT.ring);
    expect(JSON.parse(refused.stdout.join('\n'))).toMatchObject({ removed: [], failed: [{ name, code: 'EACCES' }] });
    expect(refused.stdout.join('\n')).toMatch(/belongs to user nobody \(uid 65534\)/);
    expect(files(name)).toEqual([true, true, true, true]);
  }

  const clean = runAs([bin, 'cleanup', name, 'never-existed-ring', '--json']);
  expect(await clean.exit()).toBe(EXIT.ok);
  expect(JSON.parse(clean.stdout.join('\n'))).toMatchObject({ removed: [name], live: [], missing: ['never-existed-ring'] });
  expect(files(name)).toEqual([false, false, false, false]);
});

// The commands the sweep prints to paste name the ring as a shell reads it:
// a name with a space quoted, one starting with '-' after `--` (else the CLI
// takes it for an option), as the core's own advice does.
test('a sweep\'s advice for an unclaimed empty segment quotes its name, after -- when it starts with -', async () => {
  const odd = `-${ringName('odd')} x`;
  fs.writeFileSync(`/dev/shm/${odd}`, '', { mode: 0o600 });
  if (asNobody.length > 0) fs.chownSync(`/dev/shm/${odd}`, NOBODY, NOBODY);
  try {
    const sweep = runAs([bin, 'cleanup', '--dry-run']);
    expect([EXIT.ok, EXIT.ring]).toContain(await sweep.exit());
    expect(sweep.stdout).toContain(`unclaimed (kept) ${odd}: /dev/shm/${odd} is empty and no lock file or semaphore says it is a ring's; ` +
      `if it is (its reader died creating it), zerobuffer cleanup -- '${odd}' removes it`);
  } finally {
    fs.rmSync(`/dev/shm/${odd}`, { force: true });
  }
});

// A reader killed between creating its segment and sizing it leaves an empty
// /dev/shm/NAME (and its lock file, which nobody holds then; or none, when it
// went too). The core judges it by the lock file, as a writer and a reader of
// the name do: no live reader holds it, so it is a leftover. As root the
// files are user nobody's and the commands run as nobody (root's sweeps
// leave them alone).
test('an empty segment no reader holds: inspect calls it a leftover (JSON with --json), cleanup NAME removes it, a sweep names it and keeps it', async () => {
  const bare = ringName('empty');
  const locked = ringName('empty-lock');
  const lockFile = `/tmp/zerobuffer/${locked}.lock`;
  if (!fs.existsSync('/tmp/zerobuffer')) {
    fs.mkdirSync('/tmp/zerobuffer');
    fs.chmodSync('/tmp/zerobuffer', 0o1777); // shared, as the core makes it
  }
  fs.writeFileSync(`/dev/shm/${bare}`, '', { mode: 0o600 });
  fs.writeFileSync(`/dev/shm/${locked}`, '', { mode: 0o600 });
  fs.writeFileSync(lockFile, '', { mode: 0o600 }); // a reader's, which nobody holds
  if (asNobody.length > 0) for (const f of [`/dev/shm/${bare}`, `/dev/shm/${locked}`, lockFile]) fs.chownSync(f, NOBODY, NOBODY);
  try {
    for (const name of [bare, locked]) {
      const text = runAs([bin, 'inspect', name]);
      expect(await text.exit()).toBe(EXIT.ring);
      expect(text.stderr).toMatch(/left half-created: \S+ is empty and no reader holds/);
      expect(text.stderr).toContain(`zerobuffer cleanup ${name}`);
      expect(text.stderr).not.toMatch(/still being created/);
      const json = runAs([bin, 'inspect', name, '--json']);
      expect(await json.exit()).toBe(EXIT.ring);
      expect(JSON.parse(json.stdout.join('\n'))).toMatchObject({ name, code: 'EREADERGONE', error: expect.stringMatching(/left half-created/) });
    }

    const dry = runAs([bin, 'cleanup', '--dry-run', bare]);
    expect(await dry.exit()).toBe(EXIT.ok);
    expect(dry.stdout).toEqual([`would remove ${bare}`]);
    // a sweep of every ring: the one a lock file claims goes, the bare one is only named
    // (other rings on the machine may be refused: a file under a name that is not a ring, status 4;
    // other users' rings are skipped, status 0)
    const sweep = runAs([bin, 'cleanup', '--dry-run', '--json']);
    expect([EXIT.ok, EXIT.ring]).toContain(await sweep.exit());
    // (a dry run's list is "wouldRemove": it listed them as "removed")
    const swept = JSON.parse(sweep.stdout.join('\n')) as { removed?: string[]; wouldRemove: string[]; unclaimed: string[]; failed: { name: string }[] };
    expect(swept.removed).toBeUndefined();
    expect(swept.wouldRemove).toContain(locked);
    expect(swept.wouldRemove).not.toContain(bare);
    expect(swept.unclaimed).toContain(bare);
    expect(swept.failed.map((f) => f.name)).not.toContain(bare);
    const sweepText = runAs([bin, 'cleanup', '--dry-run']);
    expect([EXIT.ok, EXIT.ring]).toContain(await sweepText.exit());
    expect(sweepText.stdout).toContain(`unclaimed (kept) ${bare}: /dev/shm/${bare} is empty and no lock file or semaphore says it is a ring's; if it is (its reader died creating it), zerobuffer cleanup ${bare} removes it`);
    expect(fs.existsSync(`/dev/shm/${bare}`)).toBe(true);
    expect(fs.existsSync(`/tmp/zerobuffer/${bare}.lock`)).toBe(false); // none left by the dry runs

    const clean = runAs([bin, 'cleanup', bare, locked, '--json']);
    expect(await clean.exit()).toBe(EXIT.ok);
    const done = JSON.parse(clean.stdout.join('\n')) as { removed: string[]; missing: string[] };
    expect(done.removed.sort()).toEqual([bare, locked].sort());
    expect(done.missing).toEqual([]);
    expect(files(bare)).toEqual([false, false, false, false]);
    expect(files(locked)).toEqual([false, false, false, false]);
  } finally {
    for (const f of [`/dev/shm/${bare}`, `/dev/shm/${locked}`, lockFile, `/tmp/zerobuffer/${bare}.lock`]) fs.rmSync(f, { force: true });
  }
});

// The other unready case: a zero header that no lock file of a dead reader
// explains is not a ring being created, and not ours: inspect says so, as a
// reader refusing the name would, and cleanup NAME refuses it with the same
// reason (it said "not found", status 0); the file stays.
// Another user's live ring, seen by a user who may not read its files (0600):
// nothing tells whether it lives, so it is not stale (it was: "no segment,
// reader dead"), a sweep of every ring skips it (status 0, saying so; it
// said EACCES, status 4), cleanup NAME still refuses it (EACCES, 4) and
// inspect names its owner. As root: the ring is nobody's, the looker uid
// 65533 (no passwd entry needed).
test("another user's live ring we may not read: not stale, a sweep skips it (status 0), cleanup NAME says EACCES (4), inspect names its owner", async () => {
  if (asNobody.length === 0) {
    console.warn("skipped: another user's ring and a third user need root");
    return;
  }
  const name = ringName('foreign-live');
  const holder = runAs([holdRing, name]);
  await holder.line(/^ready /);
  const asOther = ['--reuid=65533', '--regid=65533', '--clear-groups', process.execPath];
  const other = (args: string[]) => run('setpriv', [...asOther, ...args]);
  try {
    const list = other(['--input-type=module', '-e',
      `import { listRings } from ${JSON.stringify(path.join(repoRoot, 'dist', 'rings.js'))}; ` +
      `console.log(JSON.stringify(listRings().find((r) => r.name === ${JSON.stringify(name)})));`]);
    expect(await list.exit()).toBe(0);
    expect(JSON.parse(list.stdout.join('\n'))).toMatchObject({ hasSegment: true, hasLock: true, accessDenied: true, stale: false });
    expect(listRings().find((r) => r.name === name)).toMatchObject({ readerAlive: true, accessDenied: false, stale: false });

    const sweep = other([bin, 'cleanup', '--json']);
    expect(await sweep.exit()).toBe(EXIT.ok);
    const swept = JSON.parse(sweep.stdout.join('\n')) as { skipped: string[]; removed: string[]; failed: unknown[] };
    expect(swept.skipped).toContain(name);
    expect(swept.removed).not.toContain(name);
    expect(swept.failed).toEqual([]);
    const dry = other([bin, 'cleanup', '--dry-run']);
    expect(await dry.exit()).toBe(EXIT.ok);
    expect(dry.stdout.join('\n')).toMatch(new RegExp(`^skipped \\d+ rings? \\(EACCES: another user's, not ours to remove.*\\b${name}\\b`, 'm'));
    expect(files(name)).toEqual([true, true, true, true]);

    const named = other([bin, 'cleanup', name, '--json']);
    expect(await named.exit()).toBe(EXIT.ring);
    expect(JSON.parse(named.stdout.join('\n'))).toMatchObject({ removed: [], live: [], failed: [{ name, code: 'EACCES' }] });
    const inspect = other([bin, 'inspect', name]);
    expect(await inspect.exit()).toBe(EXIT.ring);
    expect(inspect.stderr).toContain(`/dev/shm/${name} belongs to user nobody (uid ${NOBODY})`);
    const json = other([bin, 'inspect', name, '--json']);
    expect(await json.exit()).toBe(EXIT.ring);
    expect(JSON.parse(json.stdout.join('\n'))).toMatchObject({ name, code: 'EACCES', error: expect.stringContaining('belongs to user nobody') });
    expect(files(name)).toEqual([true, true, true, true]);
  } finally {
    holder.proc.kill('SIGTERM');
    await holder.exit();
  }
  expect(files(name)).toEqual([false, false, false, false]);
});

// Our own ring whose lock file we may not open (mode 0200, which an older
// version's create allowed): a sweep skips it, but not as "of other users"
// (it said so). As root the ring is nobody's, and so is the sweep.
test('our ring whose lock file shuts us out: a sweep skips it, not as "of other users"', async () => {
  if (asNobody.length === 0) {
    console.warn('skipped: a lock file that shuts its owner out needs another user (root reads it)');
    return;
  }
  const name = ringName('shut-out');
  const lock = `/tmp/zerobuffer/${name}.lock`;
  fs.mkdirSync('/tmp/zerobuffer', { recursive: true, mode: 0o1777 });
  fs.writeFileSync(lock, '', { mode: 0o200 });
  fs.chownSync(lock, NOBODY, NOBODY);
  try {
    const dry = runAs([bin, 'cleanup', '--dry-run']);
    expect(await dry.exit()).toBe(EXIT.ok);
    const line = dry.stdout.find((l) => l.startsWith('skipped '));
    expect(line).toMatch(new RegExp(`ours with a lock file whose mode shuts us out.*\\b${name}\\b`));
    expect(line).not.toMatch(/of other users/);
    expect(fs.existsSync(lock)).toBe(true);
  } finally {
    fs.rmSync(lock, { force: true });
  }
});

// A semaphore file alone in /dev/shm (any user can make one under any ring's
// name: a file, a link, a directory) made every user's sweep fail (status 4,
// "no ring named ... (ENOENT)"), and its owner could not remove it by name. A
// sweep of another user skips it (status 0), its owner's cleanup NAME removes
// it, a directory is no ring (not found, status 0). As root the files are
// nobody's, the sweep runs as uid 65533 (no ring of its own to remove).
test("a semaphore file alone: another user's sweep skips it (status 0), its owner's cleanup NAME removes it; a directory is not found", async () => {
  if (asNobody.length === 0) {
    console.warn('skipped: files of another user need root');
    return;
  }
  const stray = ringName('stray-sem');
  const dir = ringName('stray-dir');
  const semFile = `/dev/shm/sem.sem-w-${stray}`;
  const semDir = `/dev/shm/sem.sem-w-${dir}`;
  fs.writeFileSync(semFile, '');
  fs.chownSync(semFile, NOBODY, NOBODY);
  fs.mkdirSync(semDir);
  fs.chownSync(semDir, NOBODY, NOBODY);
  const other = (args: string[]) => run('setpriv', ['--reuid=65533', '--regid=65533', '--clear-groups', process.execPath, ...args]);
  try {
    const sweep = other([bin, 'cleanup', '--json']);
    expect(await sweep.exit()).toBe(EXIT.ok);
    const swept = JSON.parse(sweep.stdout.join('\n')) as { skipped: string[]; failed: { name: string }[] };
    expect(swept.skipped).toContain(stray);
    expect(swept.skipped).not.toContain(dir);
    expect(swept.failed.filter((f) => [stray, dir].includes(f.name))).toEqual([]);
    expect(fs.existsSync(semFile)).toBe(true);

    const named = runAs([bin, 'cleanup', stray, dir, '--json']);
    expect(await named.exit()).toBe(EXIT.ok);
    expect(JSON.parse(named.stdout.join('\n'))).toMatchObject({ removed: [stray], failed: [], missing: [dir] });
    expect(fs.existsSync(semFile)).toBe(false);
    expect(fs.existsSync(semDir)).toBe(true);
  } finally {
    fs.rmSync(semFile, { force: true });
    fs.rmdirSync(semDir);
  }
});

// A duplex channel whose rings are another user's, which we may not read:
// whether its server or client runs is unknown, as for a single such ring
// (it was told live: its rings are never stale).
test("cleanup CH of another user's channel we may not read says live or not is unknown (live: null in --json)", async () => {
  if (asNobody.length === 0) {
    console.warn("skipped: another user's ring and a third user need root");
    return;
  }
  const channel = ringName('foreign-chan');
  const [request, response] = [`${channel}_request`, `${channel}_response`];
  const holder = runAs([holdRing, request]);
  await holder.line(/^ready /);
  holder.proc.kill('SIGKILL'); // dead: nobody's leftovers
  await holder.exit();
  const other = (args: string[]) => run('setpriv', ['--reuid=65533', '--regid=65533', '--clear-groups', process.execPath, ...args]);
  try {
    const text = other([bin, 'cleanup', channel, '--dry-run']);
    expect(await text.exit()).toBe(EXIT.ok);
    expect(text.stdout).toEqual([`not found ${channel}: a duplex channel, whose rings are ${request} and ${response} ` +
      `(live or not: unknown, another user's rings, which we may not read; zerobuffer cleanup ${request} ${response} says whose)`]);
    const json = other([bin, 'cleanup', channel, '--json']);
    expect(await json.exit()).toBe(EXIT.ok);
    expect(JSON.parse(json.stdout[0]!)).toMatchObject({ missing: [channel], channels: [{ name: channel, rings: [request, response], live: null }] });
    const whose = other([bin, 'cleanup', request, response]);
    expect(await whose.exit()).toBe(EXIT.ring);
    expect(whose.stderr).toContain('belongs to user nobody');
  } finally {
    const clean = runAs([bin, 'cleanup', request]);
    expect(await clean.exit()).toBe(EXIT.ok);
  }
  expect(files(request)).toEqual([false, false, false, false]);
});

test('a zero header no lock file explains: inspect and cleanup NAME say it is not ours to remove, and keep it', async () => {
  const name = ringName('zeros');
  const file = `/dev/shm/${name}`;
  fs.writeFileSync(file, Buffer.alloc(4096), { mode: 0o600 });
  try {
    const inspect = run(process.execPath, [bin, 'inspect', name]);
    expect(await inspect.exit()).toBe(EXIT.ring);
    expect(inspect.stderr).toMatch(/all-zero header.*not ours to remove.*\(EPROTO\)/);
    expect(inspect.stdout).toEqual([]); // no fields of a segment that is no ring
    const dry = run(process.execPath, [bin, 'cleanup', '--dry-run', name, '--json']);
    expect(await dry.exit()).toBe(EXIT.ring);
    expect(JSON.parse(dry.stdout.join('\n'))).toEqual({ dryRun: true, wouldRemove: [], live: [], missing: [], channels: [], unclaimed: [], skipped: [], failed: [{ name, code: 'EPROTO', error: expect.any(String) }] });
    const clean = run(process.execPath, [bin, 'cleanup', name]);
    expect(await clean.exit()).toBe(EXIT.ring);
    expect(clean.stderr).toMatch(/exists and is not a ZeroBuffer ring \(its header is all zero\), so it is not ours to remove/);
    expect(fs.readFileSync(file)).toEqual(Buffer.alloc(4096));
    expect(fs.existsSync(`/tmp/zerobuffer/${name}.lock`)).toBe(false);
  } finally {
    fs.rmSync(file, { force: true });
  }
});

// The core refuses a ring whose unread entry its reader will refuse (a frame
// size past the ring, written by another process); inspect still shows the
// OIEB's fields it read first, then the error, which sets the status.
test('a ring with a corrupt entry: inspect shows its sizes, positions, counts and pids, then the EPROTO, status 4; --json too', async () => {
  const name = ringName('badentry');
  const reader = await ZeroBufferReader.create({ name, metadataSize: 256, payloadSize: 4096 });
  const writer = await ZeroBufferWriter.connect(name);
  try {
    writer.setMetadata('{"caps":"application/octet-stream"}');
    await writer.write(new Uint8Array(64));
    const second = reader.stats().writePos;
    await writer.write(new Uint8Array(64));
    const { writePos, payloadFreeBytes } = reader.stats();
    const fd = fs.openSync(`/dev/shm/${name}`, 'r+');
    const size = Buffer.alloc(8);
    size.writeBigUInt64LE(1n << 40n);
    fs.writeSync(fd, size, 0, 8, 128 + 256 + second); // the frame header's size: after the OIEB and the metadata block
    fs.closeSync(fd);

    const text = run(process.execPath, [bin, 'inspect', name]);
    expect(await text.exit()).toBe(EXIT.ring);
    expect(text.stdout).toEqual([
      `ring:        ${name} (protocol 1.0.0)`,
      'metadata:    43 of 256 bytes written',
      `payload:     4096 bytes, ${payloadFreeBytes} free`,
      `positions:   write ${writePos}, read 0`,
      'counts:      written 2, read 0 (wrap markers included; small tails: writer only)',
      `reader:      ${process.pid} (alive)`,
      `writer:      ${process.pid} (alive)`,
    ]);
    expect(text.stderr).toMatch(new RegExp(`frame header at offset ${second} claims 1099511627776 bytes.*\\(EPROTO\\)`));

    const json = run(process.execPath, [bin, 'inspect', name, '--json']);
    expect(await json.exit()).toBe(EXIT.ring);
    const h = JSON.parse(json.stdout.join('\n')) as Record<string, unknown>;
    expect(h).toMatchObject({ name, payloadSize: 4096, payloadFreeBytes, writePos, readPos: 0, writtenCount: 2, readCount: 0,
      readerPid: process.pid, readerAlive: true, writerPid: process.pid, writerAlive: true, code: 'EPROTO',
      error: expect.stringContaining('claims 1099511627776 bytes') });
    expect(h).not.toHaveProperty('band');
  } finally {
    await writer.close();
    await reader.close();
  }
});

test('inspect and cleanup given a duplex channel\'s name (no ring has it): they name its two rings, NAME_request and NAME_response, and cleanup whether they are live', async () => {
  const channel = ringName('chan');
  const server = await ZeroBufferDuplexServer.create({ name: channel, payloadSize: 4096 }); // its request ring; zerofilter would make the response ring
  try {
    const rings = `its rings are ${channel}_request and ${channel}_response`;
    const inspect = run(process.execPath, [bin, 'inspect', channel]);
    expect(await inspect.exit()).toBe(EXIT.ring);
    expect(inspect.stderr).toBe(`zerobuffer inspect: ${channel} is a duplex channel, not a ring: ${rings} (zerobuffer inspect ${channel}_request)\n`);
    const json = run(process.execPath, [bin, 'inspect', channel, '--json']);
    expect(await json.exit()).toBe(EXIT.ring);
    expect(JSON.parse(json.stdout[0]!)).toEqual({ name: channel, error: expect.stringContaining(rings), code: 'ENOENT' });
    const cleanup = run(process.execPath, [bin, 'cleanup', channel]);
    expect(await cleanup.exit()).toBe(EXIT.ok);
    // live: a cleanup of its rings would only list them as live
    expect(cleanup.stdout).toEqual([`not found ${channel}: a duplex channel, whose rings are ${channel}_request and ${channel}_response ` +
      '(live: its server or client still runs)']);
    const cleanupJson = run(process.execPath, [bin, 'cleanup', channel, '--json']);
    expect(await cleanupJson.exit()).toBe(EXIT.ok);
    expect(JSON.parse(cleanupJson.stdout[0]!)).toMatchObject({ missing: [channel],
      channels: [{ name: channel, rings: [`${channel}_request`, `${channel}_response`], live: true }] });
    // a channel whose server died: the cleanup that removes its rings (and it does)
    const dead = ringName('deadchan');
    const holder = run(process.execPath, [holdRing, `${dead}_request`]);
    await holder.line(/^ready /);
    holder.proc.kill('SIGKILL');
    await holder.exit();
    const told = run(process.execPath, [bin, 'cleanup', dead]);
    expect(await told.exit()).toBe(EXIT.ok);
    expect(told.stdout).toEqual([`not found ${dead}: a duplex channel, whose rings are ${dead}_request and ${dead}_response ` +
      `(zerobuffer cleanup ${dead}_request ${dead}_response removes them)`]);
    const removed = run(process.execPath, [bin, 'cleanup', `${dead}_request`, `${dead}_response`]);
    expect(await removed.exit()).toBe(EXIT.ok);
    expect(removed.stdout).toEqual([`removed ${dead}_request`, `not found ${dead}_response`]);
    // a name nothing has is told as before
    const none = run(process.execPath, [bin, 'cleanup', `${channel}x`]);
    expect(await none.exit()).toBe(EXIT.ok);
    expect(none.stdout).toEqual([`not found ${channel}x`]);
  } finally {
    await server.close();
  }
});

test('a ring whose name begins with "-": inspect and cleanup take it after "--", and say so when it is given without', async () => {
  const name = `-${ringName('dash')}`;
  const reader = await ZeroBufferReader.create({ name, metadataSize: 256, payloadSize: 4096 });
  try {
    // before: "inspect takes nothing after "--"", status 2
    const inspect = run(process.execPath, [bin, 'inspect', '--json', '--', name]);
    expect(await inspect.exit()).toBe(EXIT.ok);
    expect(JSON.parse(inspect.stdout.join('\n'))).toMatchObject({ name, readerAlive: true });
    const cleanup = run(process.execPath, [bin, 'cleanup', '--json', '--', name]);
    expect(await cleanup.exit()).toBe(EXIT.ok);
    expect(JSON.parse(cleanup.stdout.join('\n'))).toMatchObject({ removed: [], live: [name] });
    // before: "inspect needs <name>", as if none was given
    const bare = run(process.execPath, [bin, 'inspect', name]);
    expect(await bare.exit()).toBe(EXIT.usage);
    expect(bare.stderr).toContain(`(a ring name that begins with "-" goes after "--": zerobuffer inspect -- ${name})`);
  } finally {
    reader.close();
  }
});

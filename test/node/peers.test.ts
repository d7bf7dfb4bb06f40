// The other implementations, emulated (zb-peer write-cpp / write-python /
// read-cpp, test/peer/emulated.h, docs/PROTOCOL.md §7, "Peer quirks"), against
// the Node reader, the Node writer and zerosrc, as fast-check properties:
// random rings of 4 KiB..1 MiB, frame sizes up to half the ring, chosen so
// that frames end exactly at the end of the ring, leave 1..15-byte tails and
// wrap. Every frame must arrive once, in order, byte-exact (and hash as the
// other side counted), with no error and no stall, and every run must have
// hit exact ends, small tails and markers (and, from the Python-like
// writer, wraps it counted without a marker).
import { jest } from '@jest/globals';
import fc from 'fast-check';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ZeroBufferReader, ZeroBufferWriter } from '../../src/index.js';
import { FNV_START, fnv1aSize, leftovers, makeEdgeFrame, peerPath, repoRoot, ringName, run } from './helpers.js';

jest.setTimeout(240000);

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

if (!fs.existsSync(peerPath)) throw new Error(`zb-peer not built (${peerPath}); run bash scripts/build.sh`);

interface PeerLine {
  frames: number;
  fnv1a: string;
  sizes: string;
  markers: number;
  small_tails: number;
  exact_ends: number;
  phantoms: number;
  waits: number;
}

/** zb-peer's "wrote|read N fnv1a=... sizes=... markers=..." line. */
function peerLine(lines: string[], verb: 'wrote' | 'read'): PeerLine {
  const line = lines.find((l) => l.startsWith(`${verb} `));
  if (line === undefined) throw new Error(`no "${verb}" line in ${JSON.stringify(lines)}`);
  const field = (k: string): string => line.match(new RegExp(`\\b${k}=([0-9a-f]+)`))?.[1] ?? '';
  return {
    frames: Number(line.split(' ')[1]),
    fnv1a: field('fnv1a'),
    sizes: field('sizes'),
    markers: Number(field('markers')),
    small_tails: Number(field('small_tails')),
    exact_ends: Number(field('exact_ends')),
    phantoms: Number(field('phantoms')),
    waits: Number(field('waits')),
  };
}

const hex = (h: number): string => h.toString(16).padStart(8, '0');

/** A ring of 4 KiB..1 MiB (log-uniform), a multiple of 64. */
const ringArb = fc
  .record({ shift: fc.integer({ min: 12, max: 19 }), frac: fc.integer({ min: 0, max: 63 }) })
  .map(({ shift, frac }) => (1 << shift) + Math.floor(((1 << shift) * frac) / 64 / 64) * 64);

/** Frames for a run: hundreds of laps, at most ~24 MiB. */
function framesFor(max: number): number {
  return Math.min(3000, Math.max(600, Math.floor((24 << 20) / (max / 2 + 16))));
}

/** Frames plus header within half the ring: with bigger ones the peers' own
 * writers can wait for room that never comes. */
const peerMax = (ring: number): number => ring / 2 - 32;

/**
 * Reads `frames` frames with the Node reader and has zb-peer check each
 * (sequence, size, every byte: tight loops in JS are slow under jest).
 */
async function readChecked(reader: ZeroBufferReader, frames: number, seed: number, max: number, edge: boolean) {
  const checker = spawn(peerPath, ['check', '--frames', String(frames), '--seed', String(seed), '--min', '1',
    '--max', String(max), '--sizes', edge ? 'edge' : 'uniform'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  checker.stdout.on('data', (d: Buffer) => (out += d));
  checker.stderr.on('data', (d: Buffer) => (err += d));
  const exited = new Promise<number>((resolve) => checker.on('close', (code) => resolve(code ?? 1)));
  checker.stdin.on('error', () => undefined); // it exits at the first bad frame
  try {
    let count = 0;
    for await (const frame of reader.frames({ timeoutMs: 10000 })) {
      const header = Buffer.alloc(16);
      header.writeBigUInt64LE(BigInt(frame.sequence), 0);
      header.writeBigUInt64LE(BigInt(frame.size), 8);
      checker.stdin.write(header);
      checker.stdin.write(Buffer.from(frame.data)); // a copy: the frame goes back now
      count++;
    }
    checker.stdin.end();
    const code = await exited;
    if (code !== 0) throw new Error(`zb-peer check: ${err.trim()} (exit ${code})`);
    const m = out.match(/^checked (\d+) fnv1a=([0-9a-f]+) sizes=([0-9a-f]+)/);
    if (m === null) throw new Error(`zb-peer check printed ${JSON.stringify(out)}`);
    return { count, hash: m[2], sizes: m[3] };
  } finally {
    checker.kill('SIGKILL');
  }
}

async function emulatedWriterIntoNode(kind: 'write-cpp' | 'write-python', ring: number, max: number, frames: number, seed: number, edge: boolean) {
  const name = ringName('peer2node');
  const reader = await ZeroBufferReader.create({ name, metadataSize: 256, payloadSize: ring });
  const child = run(peerPath, [kind, name, '--frames', String(frames), '--seed', String(seed), '--min', '1',
    '--max', String(max), '--sizes', edge ? 'edge' : 'uniform', '--timeout', '5000']);
  try {
    const got = await readChecked(reader, frames, seed, max, edge);
    await child.line(/^wrote /);
    expect(await child.exit()).toBe(0);
    const wrote = peerLine(child.stdout, 'wrote');
    expect(got).toEqual({ count: frames, hash: wrote.fnv1a, sizes: wrote.sizes });
    return wrote;
  } catch (e) {
    throw new Error(`${kind}, ring ${ring}, sizes 1..${max}, ${frames} frames, seed ${seed}: ${(e as Error).message}; writer: ${child.stderr}`);
  } finally {
    child.proc.kill('SIGKILL');
    await reader.close();
  }
}

test('the C++- and Python-like writers into the Node reader: every frame, every quirk', async () => {
  const seen = { markers: 0, small_tails: 0, exact_ends: 0, phantoms: 0 };
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom<'write-cpp' | 'write-python'>('write-cpp', 'write-python'),
      ringArb,
      fc.boolean(),
      fc.integer({ min: 1, max: 0x7fffffff }),
      async (kind, ring, smallFrames, seed) => {
        const max = smallFrames ? ring / 8 : peerMax(ring);
        const wrote = await emulatedWriterIntoNode(kind, ring, max, framesFor(max), seed, true);
        expect(wrote.markers).toBeGreaterThan(0);
        expect(wrote.small_tails).toBeGreaterThan(0);
        expect(wrote.exact_ends).toBeGreaterThan(0);
        if (kind === 'write-python') expect(wrote.phantoms).toBeGreaterThan(0);
        for (const k of Object.keys(seen) as (keyof typeof seen)[]) seen[k] += wrote[k];
      },
    ),
    { numRuns: 6 },
  );
  console.log(`emulated writers → Node reader, 6 runs: ${JSON.stringify(seen)}`);
});

test('issue 10: the Python-like writer, sizes 1..5000 into a 64 KiB ring, 20000 frames, into the Node reader', async () => {
  const wrote = await emulatedWriterIntoNode('write-python', 65536, 5000, 20000, 314, false);
  expect(wrote.frames).toBe(20000);
  // It waited on the full ring (only on sem-r, one look per post) and went
  // on each time frames() gave a batch back with one post.
  expect(wrote.waits).toBeGreaterThan(0);
});

test('the Node writer into the C++-like reader: markers where they must be, no small tail, one post per frame', async () => {
  const seen = { markers: 0, exact_ends: 0 };
  await fc.assert(
    fc.asyncProperty(ringArb, fc.constantFrom(0, 1), fc.integer({ min: 1, max: 0x7fffffff }), async (ring, hold, seed) => {
      // holding one frame, the reader needs room for it, a tail and the next
      const max = hold ? ring / 4 - 32 : peerMax(ring);
      const frames = framesFor(max);
      const name = ringName('node2peer');
      const child = run(peerPath, ['read-cpp', name, '--frames', String(frames), '--seed', String(seed),
        '--max', String(max), '--metadata-size', '256', '--payload-size', String(ring), '--hold', String(hold),
        '--timeout', '5000']);
      try {
        await child.line(/^ready /);
        const writer = await ZeroBufferWriter.connect(name);
        let sizes = FNV_START; // the reader checks every byte itself
        try {
          for (let seq = 1; seq <= frames; seq++) {
            const h = writer.stats();
            const frame = makeEdgeFrame(seed, seq, 1, max, h.payloadSize, h.writePos);
            await writer.write(frame, { timeoutMs: 10000 });
            sizes = fnv1aSize(sizes, frame.length);
          }
        } finally {
          await writer.close();
        }
        await child.line(/^read /);
        expect(await child.exit()).toBe(0);
        const read = peerLine(child.stdout, 'read');
        expect(read).toMatchObject({ frames, sizes: hex(sizes), small_tails: 0 });
        expect(read.markers).toBeGreaterThan(0);
        expect(read.exact_ends).toBeGreaterThan(0);
        seen.markers += read.markers;
        seen.exact_ends += read.exact_ends;
      } catch (e) {
        throw new Error(`ring ${ring}, sizes 1..${max}, hold ${hold}, seed ${seed}: ${(e as Error).message}; reader: ${child.stderr}`);
      } finally {
        child.proc.kill('SIGKILL');
        await child.exit().catch(() => undefined);
      }
    }),
    { numRuns: 4 },
  );
  console.log(`Node writer → C++-like reader, 4 runs: ${JSON.stringify(seen)}`);
});

test('the C++- and Python-like writers into zerosrc ! filesink (which holds 64 KiB of buffers): the file is what they wrote', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-peers-'));
  const env = { GST_PLUGIN_PATH: path.join(repoRoot, 'builddir', 'gst-plugin') };
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<'write-cpp' | 'write-python'>('write-cpp', 'write-python'),
        fc.integer({ min: 4096, max: 65536 }).map((n) => Math.floor(n / 64) * 64),
        fc.integer({ min: 1, max: 0x7fffffff }),
        async (kind, ring, seed) => {
          const name = ringName('peer2src');
          const out = path.join(tmp, `${name}.bin`);
          const max = peerMax(ring);
          const frames = 3000;
          const gst = run('gst-launch-1.0', ['-e', 'zerosrc', `buffer-name=${name}`, `payload-size=${ring}`,
            'metadata-size=1024', 'announce=true', '!', 'filesink', `location=${out}`], env);
          try {
            await gst.line(/"start-stream"/, 20000);
            const writer = run(peerPath, [kind, name, '--frames', String(frames), '--seed', String(seed), '--max',
              String(max), '--sizes', 'edge', '--timeout', '5000', '--metadata', '{"caps":"application/octet-stream"}']);
            await writer.line(/^wrote /, 60000);
            expect(await writer.exit(60000)).toBe(0);
            expect(await gst.exit(20000)).toBe(0);
            const wrote = peerLine(writer.stdout, 'wrote');
            const hashed = run(peerPath, ['fnv', out]);
            await hashed.line(/^fnv1a=/);
            expect(hashed.stdout[0]).toBe(`fnv1a=${wrote.fnv1a}`);
            expect(wrote.markers * wrote.small_tails * wrote.exact_ends).toBeGreaterThan(0);
          } catch (e) {
            throw new Error(`${kind}, ring ${ring}, seed ${seed}: ${(e as Error).message}; gst-launch: ${gst.stderr}`);
          } finally {
            gst.proc.kill('SIGKILL');
            fs.rmSync(out, { force: true });
          }
        },
      ),
      // The example: a frame larger than any before while filesink held the
      // rest, once waited for good (zerosrc copied out only when room was tight).
      { numRuns: 4, examples: [['write-python', 52928, 10627]] },
    );
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

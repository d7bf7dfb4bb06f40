// Throughput of real video pipelines: the same videotestsrc source through
// each way of getting frames from one process to another, plus the ceiling
// (no second process at all). Every consumer touches every page.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lastJson, readReport, start, waitForPath } from './proc.mjs';

export const RESOLUTIONS = [
  { id: '480p', label: '640x480 RGB', format: 'RGB', width: 640, height: 480, bpp: 3 },
  { id: '1080p', label: '1920x1080 RGB', format: 'RGB', width: 1920, height: 1080, bpp: 3 },
  { id: '4k', label: '3840x2160 BGRx', format: 'BGRx', width: 3840, height: 2160, bpp: 4 },
];

/** Frames per run: half a second (4K: 1.5 s, its spreads ran 21-36 % at 150 frames) of the fastest method, seconds of the pipe. */
export function framesFor(res, quick) {
  const full = { '480p': 3000, '1080p': 800, '4k': 300 }[res.id];
  return quick ? Math.max(10, Math.round(full / 20)) : full;
}

export const frameSize = (res) => res.width * res.height * res.bpp;
export const caps = (res) => `video/x-raw,format=${res.format},width=${res.width},height=${res.height},framerate=30/1`;
// A cheap pattern, not live: the source runs as fast as downstream takes frames.
export const source = (res, n) => `videotestsrc pattern=black is-live=false num-buffers=${n} ! ${caps(res)}`;
export const tmp = (tag) => path.join(os.tmpdir(), `zbbench-${tag}-${randomUUID().slice(0, 8)}`);

/** gst-run with a report file; resolves with the report (throws on failure). */
export async function gst(ctx, args, what) {
  const report = tmp('report');
  const child = start(ctx.gstRun, ['--report', report, ...args], { timeoutMs: ctx.timeoutMs, env: ctx.env });
  const r = await child.done;
  const rep = readReport(report, `${what}: exit ${r.code} ${r.stderr}`);
  if (r.code !== 0 && !rep.error) rep.error = `exit ${r.code}: ${r.stderr.trim().slice(-300)}`;
  return rep;
}

export function check(what, rep, n) {
  if (rep.error) throw new Error(`${what}: ${rep.error}`);
  if (rep.frames !== n) throw new Error(`${what}: ${rep.frames} frames of ${n}`);
  return rep;
}

async function ceiling(ctx, res, n) {
  const one = check('ceiling', await gst(ctx, ['--touch', `${source(res, n)} ! fakesink name=sink sync=false`], 'ceiling'), n);
  return { consumer: one, producer: null };
}

/**
 * shmsink → shmsrc with the rings' memory budget: shm-size = 4 frames + 4096
 * (shmsink aligns each block, 7 bytes each). shmsink serves and shmsrc
 * connects, so the producer starts first and the consumer once the socket
 * exists; `wait-for-connection=true` holds the first frame until then, and at
 * EOS it also makes shmsink wait until the consumer has released every frame,
 * so the producer exits only after the consumer has read them all. shmsrc
 * gets no EOS over the socket: `num-buffers=N` ends it.
 *
 * Without poolMax (row 2): `identity drop-allocation` before shmsink, so upstream
 * writes into its own buffers and shmsink copies each frame once into its
 * area, waiting for space there: back-pressure, always finishes.
 *
 * poolMax (rows 2b–2d, zero copy): videotestsrc writes into shmsink's area.
 * shmsink offers upstream its allocator but no pool, so videotestsrc's own
 * pool has no limit. Left alone, once the consumer is 4 frames behind, the
 * pool's 5th buffer comes from system memory (the area is full), render waits
 * for area space to copy it, and none ever frees: the pool keeps the area's
 * blocks until it stops. Both sides stall, and the consumer said "Failed to
 * read from shmsrc" when the stalled producer was killed at the timeout (every
 * round, every size on the 2-vCPU EPYC). So `gst-run --pool-max N` adds to
 * shmsink's answer a pool of at most N buffers from its allocator, as an
 * application can: videotestsrc then waits for a frame to come back, which is
 * shmsink's zero-copy mode with back-pressure. N is measured at 4 (the whole
 * area), 3 and 2: GstBufferPool hands its buffers out in turn, so N is the
 * producer's working set, and the best N depends on the frame size (fewer
 * for frames that do not fit the cache N times, more for small frames, where
 * 2 serialises producer and consumer). The targets take the best of them.
 * gst-run counts the frames that arrive in shmsink's memory ("zero-copy /
 * copied"); a copied one fails the row.
 */
function shm(poolMax) {
  return async (ctx, res, n) => {
    const sock = tmp('shm');
    const producer = shmProducer(ctx, res, n, sock, poolMax);
    try {
      await waitForPath(sock, ctx.timeoutMs);
      // shmsrc has no caps of its own: a capsfilter after it gives them by hand.
      const consumer = await gst(ctx, ['--touch',
        `shmsrc socket-path=${sock} is-live=false num-buffers=${n} ! capsfilter caps=${caps(res)} ! fakesink name=sink sync=false`], 'shmsrc');
      return { consumer: check('shmsrc', consumer, n), producer: await producer.done };
    } finally {
      producer.kill();
    }
  };
}

/**
 * `source ! shmsink socket-path=SOCK` with 4 frames of area in a gst-run:
 * with poolMax, in the zero-copy mode described above; without, one copy in.
 * Returns { done: promise of the checked report, kill() }. Also the duplex
 * bench's shm round trip.
 */
export function shmProducer(ctx, res, n, sock, poolMax) {
  const report = tmp('report');
  const child = start(ctx.gstRun, ['--report', report, ...(poolMax ? ['--pool-max', String(poolMax)] : []),
    `${source(res, n)} ! ${poolMax ? '' : 'identity drop-allocation=true ! '}shmsink name=sink socket-path=${sock} ` +
    `shm-size=${4 * frameSize(res) + 4096} wait-for-connection=true sync=false`],
  { timeoutMs: ctx.timeoutMs, env: ctx.env });
  const done = child.done.then((r) => {
    const rep = check('shmsink', readReport(report, `shmsink: exit ${r.code} ${r.stderr}`), n);
    if (poolMax && rep['frames-copied'] !== 0) {
      throw new Error(`shmsink: ${rep['frames-copied']} of ${n} frames not in its area (copied), not zero copy`);
    }
    return rep;
  });
  done.catch(() => {}); // awaited by the caller; no unhandled rejection if it fails first
  return {
    done,
    kill: () => {
      child.kill('SIGKILL');
      fs.rmSync(sock, { force: true });
    },
  };
}

/**
 * zerosink → zerosrc; `between` goes before zerosink. zerosrc sizes its ring
 * itself from the caps right after it, as users write it (the core's rule:
 * 4 frames at 480p and 1080p, 2 at 4K; never more than shmsink's 4).
 */
function zeroGst(between = '') {
  return async (ctx, res, n) => {
    const name = `zbbench-${randomUUID().slice(0, 8)}`;
    const consumer = gst(ctx, ['--touch',
      `zerosrc buffer-name=${name} ! ${caps(res)} ! fakesink name=sink sync=false`], 'zerosrc');
    // zerosink waits (connect-timeout) for zerosrc to create the ring.
    const producer = gst(ctx, [`${source(res, n)}${between} ! zerosink name=sink buffer-name=${name} sync=false`],
      'zerosink');
    return { consumer: check('zerosrc', await consumer, n), producer: check('zerosink', await producer, n) };
  };
}

/** A Node consumer (scripts/bench/peers/video-consumer.mjs) that starts its producer. */
export function nodeConsumer(mode) {
  return async (ctx, res, n) => {
    const cfg = { mode, frameSize: frameSize(res), frames: n, source: source(res, n), gstRun: ctx.gstRun,
      repo: ctx.repo, timeoutMs: ctx.timeoutMs };
    const r = await start(process.execPath, [path.join(ctx.benchDir, 'peers', 'video-consumer.mjs'), JSON.stringify(cfg)],
      { timeoutMs: ctx.timeoutMs, env: ctx.env }).done;
    if (r.code !== 0) throw new Error(`Node ${mode} consumer: exit ${r.code}\n${r.stderr.trim().slice(-1500)}`);
    const out = lastJson(r.stdout, `Node ${mode} consumer`);
    return { consumer: check(`Node ${mode} consumer`, out.consumer, n), producer: check(`${mode} producer`, out.producer, n) };
  };
}

/**
 * `zerobuffer run` (the CLI, dist/cli/bin.js) as the consumer: it starts the
 * producer itself and only counts frames (it has no page-touching mode;
 * --hash would SHA-256 every byte, another workload). frames/s come from its
 * JSON stats lines (every 0.1 s): first line with frames to the last one.
 * CPU and RSS are not measured for this row (the CLI owns the processes).
 */
async function zeroRun(ctx, res, n) {
  const bin = path.join(ctx.repo, 'dist', 'cli', 'bin.js');
  // No --payload-size: run sizes the ring from the source's caps filter.
  const r = await start(process.execPath, [bin, 'run', source(res, n), '--json', '--interval', '0.1',
    '--sink-property', 'sync=false',
    '--plugin-path', path.join(ctx.repo, 'builddir', 'gst-plugin')], { timeoutMs: ctx.timeoutMs, env: ctx.env }).done;
  if (r.code !== 0) throw new Error(`zerobuffer run: exit ${r.code}: ${r.stderr.trim().slice(-500)}`);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const stats = lines.filter((l) => l.type === 'stats' && l.frames > 0);
  const summary = lines.find((l) => l.type === 'summary');
  const a = stats[0];
  const b = stats[stats.length - 1];
  const fps = stats.length >= 2 && b.frames > a.frames ? ((b.frames - a.frames) * 1000) / (b.elapsedMs - a.elapsedMs) : summary.fps;
  const consumer = { frames: summary.frames, fps, cpuPerFrame: NaN, hwmKb: NaN, error: '' };
  return { consumer: check('zerobuffer run', consumer, n), producer: { frames: n, cpuPerFrame: NaN, hwmKb: NaN } };
}

/** The CLI is another engineer's work in progress: its row exists once it is built. */
export const hasZerobufferRun = (repo) => fs.existsSync(path.join(repo, 'dist', 'cli', 'bin.js'));

export const METHODS = [
  { id: 'ceiling', label: '1. ceiling: source → fakesink, one process', run: ceiling },
  { id: 'shm', label: '2. shmsink → shmsrc → fakesink (one copy in)', run: shm() },
  { id: 'shm-pool', label: '2b. same, zero copy: upstream writes into shmsink\'s area, pool of 4', run: shm(4) },
  { id: 'shm-pool3', label: '2c. same, zero copy, pool of 3', run: shm(3) },
  { id: 'shm-pool2', label: '2d. same, zero copy, pool of 2', run: shm(2) },
  { id: 'pipe', label: '3. fdsink → pipe → Node (stdout)', run: nodeConsumer('pipe') },
  { id: 'zero-gst', label: '4. zerosink → zerosrc → fakesink', run: zeroGst() },
  { id: 'zero-queue', label: '4b. same, upstream keeps 2 buffers (queue max-size-buffers=2)',
    run: zeroGst(' ! queue max-size-buffers=2') },
  { id: 'zero-node', label: '5. zerosink → Node frame API', run: nodeConsumer('ring') },
  { id: 'zero-run', label: '5b. same through `zerobuffer run` (counts, no touch)', run: zeroRun, needsCli: true },
];

/**
 * The rows the targets compare at a resolution and their references. In each round the compared rows run
 * between runs of every reference (refs, A, refs, B, refs) and the targets take each one's ratio to the
 * reference runs just before and after it (stats.mjs pairedRatio): on a shared host that swings up to 2×
 * between rows seconds apart (docs/BENCHMARKS.md), a median of one row against the median of another
 * compares different moments. shmsink's one-copy row (2) is left out: it is far below its zero-copy rows.
 */
export const PAIRED = {
  '1080p': { refs: ['ceiling', 'shm-pool', 'shm-pool3', 'shm-pool2'], rows: ['zero-gst', 'zero-node'] },
  '4k': { refs: ['ceiling', 'shm-pool', 'shm-pool3', 'shm-pool2'], rows: ['zero-gst', 'zero-node'] },
};

/** One measurement: { fps, gbps, cpu per frame each side, peak RSS each side, counters }. */
export async function measure(ctx, method, res, quick) {
  const { consumer, producer } = await method.run(ctx, res, framesFor(res, quick));
  return {
    fps: consumer.fps,
    gbps: (consumer.fps * frameSize(res)) / 1e9,
    prodCpu: producer ? producer.cpuPerFrame : consumer.cpuPerFrame,
    consCpu: producer ? consumer.cpuPerFrame : NaN, // the ceiling has one process: all in "producer"
    prodRss: producer ? producer.hwmKb : consumer.hwmKb,
    consRss: producer ? consumer.hwmKb : NaN,
    zeroCopy: producer?.['frames-zero-copy'],
    copied: producer?.['frames-copied'],
  };
}

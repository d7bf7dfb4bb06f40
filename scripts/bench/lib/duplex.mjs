// The duplex round trip (issue 15): every frame of a videotestsrc leaves the
// pipeline, goes through another process that answers it unchanged, and comes
// back, at 480p, 1080p and 4K. frames/s are counted where the frames come
// back, and every frame must arrive (frame count). The zerofilter and shm
// rows have 4 frames of shared memory each way; the middle process copies
// each frame once, except in the in-place row.
// - Run length: issue 15's target is a ratio of two rows, and at the video
//   section's counts (800 frames at 1080p, a quarter second) one round's
//   ratio ran from 66 to 107 % as the host moved under it. So these rows run
//   steady-state counts (STEADY_FRAMES, a second or more each), the pipe row
//   excepted (50× slower: the video section's count), and the ratio pairs
//   each round's zerofilter with that round's reference, run just before and
//   just after it (bench.mjs).
// - reference: zerosink → Node frame API alone (video.mjs row 5, the Node
//   consumer touching one byte per page), the same frames in the same round.
// - zerofilter ⇄ ZeroBufferDuplexServer (peers/duplex-echo.mjs, `return
//   frame`), 4 frames each way; zerofilter writes its requests zero-copy
//   (its pool), with frame-header=true as `zerobuffer filter` runs it (every
//   request slot then starts 64-byte aligned; without it, at 4K one of the
//   slots sits 16 bytes past videotestsrc's buffer in a page, where glibc's
//   memcpy on AMD copies 4× slower: scripts/bench/notes.md). Two rows: the server as it comes (an in-place answer, a
//   48-byte header and no copy, when zerofilter declares in_place:
//   docs/PROTOCOL.md §9.4; else a copy), and with inPlace: false (one copy
//   from the request ring into the response ring). The server's own count
//   of answers in place is shown. frames/s at zerofilter (named "sink" for
//   gst-run); its stats carry the round trip p50/p99, request commit to
//   response.
// - shm round trip, GStreamer only, three processes: `source ! shmsink S1`
//   in shmsink's zero-copy mode (video.mjs shmProducer: 4 frames of area, a
//   pool of 4 or of 2 buffers, as rows 2b and 2d there), a relay `shmsrc S1 !
//   shmsink S2` (copies each frame once into S2's 4-frame area, as the echo
//   server does) and `shmsrc S2 ! fakesink`, started in that order (each
//   shmsrc needs its shmsink's socket). Issue 15's named fallback; no
//   round-trip timing (shm carries none).
// - by hand through pipes: fdsink → pipe → Node (peers/pipe-relay.mjs) →
//   pipe → fdsrc ! rawvideoparse ! fakesink, a Node filter built from
//   GStreamer's stdout and stdin (no round-trip timing either).
// Not measured: appsink → Node → appsrc, which issue 15 names first. The
// binding on npm that has appsink/appsrc (gstreamer-superficial 1.7.4, nan)
// builds here in seconds, but npm leaves its install script (node-gyp rebuild) unrun until
// allowed by hand, its appsrc push ignores the flow return, and each frame
// is copied twice inside it (Nan::CopyBuffer on pull, gst_buffer_fill on
// push) and hops through libuv's thread pool: a row would measure that
// binding. The shm rows stand for it instead (issue 15's fallback).
// Nobody touches the pages (each row copies every byte once anyway).
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { lastJson, readReport, start, waitForPath } from './proc.mjs';
import { cellError, pairedRatio } from './stats.mjs';
import { RESOLUTIONS, caps, check, frameSize, framesFor, gst, nodeConsumer, shmProducer, source, tmp } from './video.mjs';

export { RESOLUTIONS };
export const METHODS = [
  { id: 'zero-node', label: 'reference: zerosink → Node frame API alone (same frames, same round)', reference: true },
  { id: 'zerofilter', label: 'zerofilter ⇄ Node echo server (return frame: in place if declared)', inPlace: true },
  { id: 'zerofilter-copy', label: 'zerofilter ⇄ Node echo server, inPlace: false (copied)', inPlace: false },
  { id: 'shm', label: 'shmsink → shmsrc ! shmsink → shmsrc (GStreamer relay), pool of 4', poolMax: 4 },
  { id: 'shm2', label: 'same, pool of 2', poolMax: 2 },
  { id: 'pipe', label: 'fdsink → Node → fdsrc (by hand)' },
];

async function zerofilter(ctx, res, n, inPlace) {
  const name = `zbbench-dx-${randomUUID().slice(0, 8)}`;
  const size = frameSize(res);
  const server = start(process.execPath, [path.join(ctx.benchDir, 'peers', 'duplex-echo.mjs'),
    JSON.stringify({ repo: ctx.repo, name, payloadSize: 4 * (size + 128), inPlace })], { timeoutMs: ctx.timeoutMs, env: ctx.env });
  const report = path.join(ctx.tmpDir ?? '/tmp', `zbbench-dx-${randomUUID().slice(0, 8)}.json`);
  const client = start(ctx.gstRun, ['--report', report,
    `${source(res, n)} ! zerofilter name=sink channel=${name} connect-timeout=10000 payload-size=${4 * (size + 128)} frame-header=true ! fakesink sync=false`],
  { timeoutMs: ctx.timeoutMs, env: ctx.env });
  const c = await client.done;
  // The server ends with zerofilter's requests; after a zerofilter that failed, perhaps before it
  // connected, it gets 3 s to end by itself, then is stopped (and not blamed).
  let stoppedByUs = false;
  const stopper = c.code === 0 ? undefined : setTimeout(() => { stoppedByUs = true; server.kill('SIGTERM'); }, 3000);
  const s = await server.done;
  clearTimeout(stopper);
  // a server that failed by itself is the likelier cause of zerofilter's error: named first
  const serverError = s.code !== 0 && !stoppedByUs ? `duplex-echo: exit ${s.code} ${s.stderr.slice(-300)}; ` : '';
  const rep = readReport(report, `${serverError}zerofilter: exit ${c.code} ${c.stderr}`);
  if (c.code !== 0 || rep.error) throw new Error(`${serverError}zerofilter: exit ${c.code} ${rep.error ?? ''} ${c.stderr.slice(-300)}`);
  if (serverError) throw new Error(serverError);
  if (rep.frames !== n || rep.responses !== n) throw new Error(`zerofilter: ${rep.frames} frames in, ${rep.responses} answered of ${n}`);
  const stats = lastJson(s.stdout, `duplex-echo: no stats in ${s.stdout.slice(-300)}`);
  if (!inPlace && stats.inPlace !== 0) throw new Error(`duplex-echo inPlace: false answered ${stats.inPlace} in place`);
  return {
    fps: rep.fps, p50Ms: rep['round-trip-p50-us'] / 1000, p99Ms: rep['round-trip-p99-us'] / 1000, zeroCopy: rep['requests-zero-copy'],
    inPlacePercent: (100 * stats.inPlace) / n,
  };
}

async function shmRoundTrip(ctx, res, n, poolMax) {
  const [s1, s2] = [tmp('dx-shm1'), tmp('dx-shm2')];
  const producer = shmProducer(ctx, res, n, s1, poolMax);
  let relay;
  try {
    await waitForPath(s1, ctx.timeoutMs);
    const relayReport = tmp('report');
    relay = start(ctx.gstRun, ['--report', relayReport, `shmsrc socket-path=${s1} is-live=false num-buffers=${n} ! ` +
      `shmsink name=sink socket-path=${s2} shm-size=${4 * frameSize(res) + 4096} wait-for-connection=true sync=false`],
    { timeoutMs: ctx.timeoutMs, env: ctx.env });
    await waitForPath(s2, ctx.timeoutMs);
    const consumer = check('shm round trip: shmsrc', await gst(ctx,
      [`shmsrc socket-path=${s2} is-live=false num-buffers=${n} ! capsfilter caps=${caps(res)} ! fakesink name=sink sync=false`],
      'shm round trip: shmsrc'), n);
    const r = await relay.done;
    check('shm relay', readReport(relayReport, `shm relay: exit ${r.code} ${r.stderr}`), n);
    const prod = await producer.done;
    return { fps: consumer.fps, p50Ms: NaN, p99Ms: NaN, zeroCopy: prod['frames-zero-copy'] };
  } finally {
    producer.kill();
    relay?.kill('SIGKILL');
    fs.rmSync(s2, { force: true });
  }
}

async function pipe(ctx, res, n) {
  const consumer = `fdsrc fd=0 ! rawvideoparse format=${res.format.toLowerCase()} width=${res.width} height=${res.height} ` +
    'framerate=30/1 ! fakesink name=sink sync=false';
  const r = await start(process.execPath, [path.join(ctx.benchDir, 'peers', 'pipe-relay.mjs'), JSON.stringify({
    gstRun: ctx.gstRun, source: source(res, n), consumer, frameSize: frameSize(res), timeoutMs: ctx.timeoutMs,
  })], { timeoutMs: ctx.timeoutMs + 5000, env: ctx.env }).done;
  const out = lastJson(r.stdout, `pipe relay: exit ${r.code} ${r.stderr.slice(-300)}`);
  if (out.code !== 0 || out.report.frames !== n) throw new Error(`pipe relay: exit ${out.code}, ${out.report.frames} of ${n} frames`);
  return { fps: out.report.fps, p50Ms: NaN, p99Ms: NaN };
}

/** Frames per run of every row but the pipe: a second or more of each (the quick run keeps the video section's). */
const STEADY_FRAMES = { '480p': 12000, '1080p': 4000, '4k': 600 };
export const framesOf = (method, res, quick) => (quick || method.id === 'pipe' ? framesFor(res, quick) : STEADY_FRAMES[res.id]);

/** One measurement of a method at a resolution. */
export async function measure(ctx, method, res, quick) {
  const n = framesOf(method, res, quick);
  if (method.reference) return { fps: (await nodeConsumer('ring')(ctx, res, n)).consumer.fps, p50Ms: NaN, p99Ms: NaN };
  if (method.poolMax) return shmRoundTrip(ctx, res, n, method.poolMax);
  return method.inPlace !== undefined ? zerofilter(ctx, res, n, method.inPlace) : pipe(ctx, res, n);
}

const med = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length ? s[s.length >> 1] : NaN;
};
const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');

/** A zerofilter row's frames/s as a percentage of the reference's, paired by round (the reference brackets it). */
export const pairedShare = (cell, reference) => 100 * pairedRatio(cell, reference);

/**
 * Rows: resolution, method, frames per run, frames/s, round trip p50/p99 (medians over rounds), the answers the
 * Node server sent in place, the zerofilter rows' share of the reference's frames/s (pairedShare), and the runs
 * that failed (each row's figures are of the others).
 */
export function duplexTable(cells, quick) {
  const rows = [];
  for (const res of RESOLUTIONS.filter((x) => Object.values(cells[x.id]).some((c) => c.runs.length || c.errors.length))) {
    for (const m of METHODS) {
      const c = cells[res.id][m.id];
      const fps = med(c.runs.map((r) => r.fps));
      const zf = m.inPlace !== undefined;
      rows.push([res.label, m.label, String(framesOf(m, res, quick)), f(fps),
        f(med(c.runs.map((r) => r.p50Ms)), 2), f(med(c.runs.map((r) => r.p99Ms)), 2),
        zf && c.runs.length ? `${f(med(c.runs.map((r) => r.inPlacePercent)), 0)} %` : '–',
        zf && Number.isFinite(pairedShare(c, cells[res.id]['zero-node'])) ? `${f(pairedShare(c, cells[res.id]['zero-node']), 0)} %` : '–',
        cellError(c)]);
    }
  }
  return { head: ['video', 'round trip through another process', 'frames per run', 'frames/s', 'p50 ms', 'p99 ms', 'answers in place',
    'of the reference (paired)', 'errors'], rows };
}

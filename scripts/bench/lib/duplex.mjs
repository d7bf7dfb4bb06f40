// The duplex round trip (issue 15): every frame of a videotestsrc leaves the
// pipeline, goes through a Node process that answers it unchanged, and comes
// back, at 480p, 1080p and 4K:
// - zerofilter ⇄ ZeroBufferDuplexServer (peers/duplex-echo.mjs, `return
//   frame`: one copy from the request ring into the response ring); frames/s
//   at zerofilter (named "sink" for gst-run: its stats carry the round trip
//   p50/p99, request commit to response);
// - by hand: fdsink → pipe → Node (peers/pipe-relay.mjs) → pipe → fdsrc !
//   rawvideoparse ! fakesink, what a Node filter built from GStreamer's
//   stdout and stdin does (no round-trip timing: the pipe carries none).
// Nobody touches the pages (both sides copy every byte once anyway).
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { lastJson, readReport, start } from './proc.mjs';
import { RESOLUTIONS, frameSize, framesFor } from './video.mjs';

export { RESOLUTIONS };
export const METHODS = [
  { id: 'zerofilter', label: 'zerofilter ⇄ Node echo server' },
  { id: 'pipe', label: 'fdsink → Node → fdsrc (by hand)' },
];

const caps = (res) => `video/x-raw,format=${res.format},width=${res.width},height=${res.height},framerate=30/1`;
const source = (res, n) => `videotestsrc pattern=black is-live=false num-buffers=${n} ! ${caps(res)}`;

async function zerofilter(ctx, res, n) {
  const name = `zbbench-dx-${randomUUID().slice(0, 8)}`;
  const size = frameSize(res);
  const server = start(process.execPath, [path.join(ctx.benchDir, 'peers', 'duplex-echo.mjs'),
    JSON.stringify({ repo: ctx.repo, name, payloadSize: 4 * (size + 128) })], { timeoutMs: ctx.timeoutMs, env: ctx.env });
  const report = path.join(ctx.tmpDir ?? '/tmp', `zbbench-dx-${randomUUID().slice(0, 8)}.json`);
  const client = start(ctx.gstRun, ['--report', report,
    `${source(res, n)} ! zerofilter name=sink channel=${name} connect-timeout=10000 payload-size=${4 * (size + 128)} ! fakesink sync=false`],
  { timeoutMs: ctx.timeoutMs, env: ctx.env });
  const c = await client.done;
  const rep = readReport(report, `zerofilter: exit ${c.code} ${c.stderr}`);
  const s = await server.done;
  if (c.code !== 0 || rep.error) throw new Error(`zerofilter: exit ${c.code} ${rep.error ?? ''} ${c.stderr.slice(-300)}`);
  if (s.code !== 0) throw new Error(`duplex-echo: exit ${s.code} ${s.stderr.slice(-300)}`);
  if (rep.frames !== n || rep.responses !== n) throw new Error(`zerofilter: ${rep.frames} frames in, ${rep.responses} answered of ${n}`);
  return { fps: rep.fps, p50Ms: rep['round-trip-p50-us'] / 1000, p99Ms: rep['round-trip-p99-us'] / 1000, zeroCopy: rep['requests-zero-copy'] };
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

/** One measurement of a method at a resolution. */
export async function measure(ctx, method, res, quick) {
  const n = framesFor(res, quick);
  return method.id === 'zerofilter' ? zerofilter(ctx, res, n) : pipe(ctx, res, n);
}

const med = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length ? s[s.length >> 1] : NaN;
};
const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');

/** Rows: resolution, method, frames/s, round trip p50/p99 (medians over rounds), and zerosink → Node frames/s for scale. */
export function duplexTable(cells, video) {
  const rows = [];
  for (const res of RESOLUTIONS.filter((x) => Object.values(cells[x.id]).some((c) => c.runs.length || c.errors.length))) {
    const alone = med((video[res.id]?.['zero-node']?.runs ?? []).map((r) => r.fps));
    for (const m of METHODS) {
      const c = cells[res.id][m.id];
      const fps = med(c.runs.map((r) => r.fps));
      rows.push([res.label, m.label, c.errors.length && !c.runs.length ? `failed: ${c.errors[0].slice(0, 60)}` : f(fps),
        f(med(c.runs.map((r) => r.p50Ms)), 2), f(med(c.runs.map((r) => r.p99Ms)), 2),
        m.id === 'zerofilter' && Number.isFinite(alone) ? `${f((100 * fps) / alone, 0)} %` : '–']);
    }
  }
  return { head: ['video', 'round trip through Node', 'frames/s', 'p50 ms', 'p99 ms', 'of zerosink → Node'], rows };
}

// Tables (plain text for the terminal, Markdown for docs/BENCHMARKS.md) and
// the targets of issues 6, 13 and 15 checked against the medians, or against
// ratios paired by round where the run has them (video.PAIRED).
import { pairedShare } from './duplex.mjs';
import { cellError, pairedRatio, spreadPercent, summary } from './stats.mjs';

const f = (v, d = 0) => (Number.isFinite(v) ? v.toFixed(d) : '–');
const fps = (v) => (Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v.toFixed(1)) : '–');
const ms = (v) => (Number.isFinite(v) ? (v * 1e3).toFixed(3) : '–');
const mb = (kb) => (Number.isFinite(kb) ? (kb / 1024).toFixed(0) : '–');
const pct = (v) => (Number.isFinite(v) ? `${v.toFixed(0)}%` : '–');

/** Median and spread of one field over a cell's rounds. */
export function stat(cell, key) {
  return summary((cell?.runs ?? []).map((r) => r[key]));
}
const med = (cell, key) => stat(cell, key).median;

/** A table: { head: [...], rows: [[...]] } as Markdown. */
export function markdown({ head, rows }) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/** The same table aligned for a terminal. */
export function text({ head, rows }) {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => String(c).padEnd(w[i])).join('  ');
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}

export function videoTable(results, res, methods, memcpyGbps) {
  const rows = methods.map((m) => {
    const c = results[m.id];
    const s = stat(c, 'fps');
    const counters = c?.runs?.[0]?.zeroCopy !== undefined ? `${c.runs[0].zeroCopy} / ${c.runs[0].copied}` : '';
    return [m.label, fps(s.median), pct(spreadPercent(s)), f(med(c, 'gbps'), 2), pct((med(c, 'gbps') / memcpyGbps) * 100),
      ms(med(c, 'prodCpu')), ms(med(c, 'consCpu')), `${mb(med(c, 'prodRss'))} / ${mb(med(c, 'consRss'))}`,
      counters, cellError(c)];
  });
  return {
    head: ['method', 'frames/s', 'spread', 'GB/s', 'of memcpy', 'CPU ms/frame producer', 'CPU ms/frame consumer',
      'peak RSS MB prod / cons', 'zero-copy / copied', 'errors'],
    rows,
  };
}

export function sweepTable(sweep, sizes, label) {
  const rows = sizes.map((size) => {
    const c = sweep[size];
    const g = (t) => med(c[t], 'gbps');
    return [label(size), f(med(c.memcpy, 'gbps'), 1), f(g('ring'), 2), fps(med(c.ring, 'fps')), pct(spreadPercent(stat(c.ring, 'gbps'))),
      f(g('pipe'), 2), f(g('uds'), 2), `${f(g('ring') / g('pipe'), 1)}×`, pct((g('ring') / med(c.memcpy, 'gbps')) * 100),
      ['ring', 'pipe', 'uds'].map((t) => f(med(c[t], 'consCpu') * 1e6, 1)).join(' / '),
      ['ring', 'pipe', 'uds'].map((t) => f(med(c[t], 'prodCpu') * 1e6, 1)).join(' / '),
      ['ring', 'pipe', 'uds'].map((t) => mb(med(c[t], 'consRss'))).join(' / '),
      ['ring', 'pipe', 'uds', 'memcpy'].map((t) => cellError(c[t])).filter(Boolean).join('; ')];
  });
  return {
    head: ['frame', 'memcpy GB/s', 'ring GB/s', 'ring frames/s', 'ring spread', 'pipe GB/s', 'uds GB/s', 'ring ÷ pipe',
      'ring of memcpy', 'reader CPU µs/frame ring / pipe / uds', 'writer CPU µs/frame ring / pipe / uds',
      'reader peak RSS MB ring / pipe / uds', 'errors'],
    rows,
  };
}

export function latencyTable(latency, cases) {
  const rows = [];
  for (const c of cases) {
    for (const mode of ['steady', 'flat']) {
      for (const [key, cell] of Object.entries(latency[c.id][mode])) {
        const s = cell.summary;
        rows.push([c.label, mode === 'steady' ? `${c.rate} Hz` : 'flat out', key, s ? s.n : 0, fps(s?.fps), f(s?.p50, 1),
          f(s?.p99, 1), f(s?.p999, 1), f(s?.max, 1),
          Number.isFinite(s?.nativeP50) ? `${f(s.nativeP50, 1)} / ${f(s.nativeP99, 1)}` : '', cellError(cell)]);
      }
    }
  }
  return {
    head: ['frame', 'rate', 'reader · transport', 'samples', 'reader frames/s', 'p50 µs', 'p99 µs', 'p99.9 µs', 'max µs',
      'Node addon thread p50 / p99 µs', 'errors'],
    rows,
  };
}

/** shmsink's zero-copy rows (2b–2d: pools of 4, 3, 2 buffers in the same 4-frame area). */
const SHM_ZERO_COPY = [['shm-pool', '2b', 4], ['shm-pool3', '2c', 3], ['shm-pool2', '2d', 2]];

/** The best median frames/s of shmsink's zero-copy rows at res: { fps, row, pool } (row '' and fps -Infinity if none ran). */
function bestShmZeroCopy(v, res) {
  return SHM_ZERO_COPY.map(([id, row, pool]) => ({ fps: v(id, res), row, pool }))
    .filter((x) => Number.isFinite(x.fps)).reduce((a, b) => (b.fps > a.fps ? b : a), { fps: -Infinity, row: '', pool: 0 });
}
const shmZeroCopyText = (b) => (b.row ? `${fps(b.fps)} (${b.row}, pool of ${b.pool}: the best zero-copy row)` : '– (zero copy not measured)');

/**
 * Row id at res against each of shmsink's zero-copy rows, paired by round: [{ row, ratio }], or null when
 * some zero-copy row with a figure has no paired ratio (a run without brackets, or an older saved run).
 */
function pairedZeroCopy(r, res, id) {
  const ran = SHM_ZERO_COPY.filter(([ref]) => r.video[res]?.[ref]?.runs.length);
  const ratios = ran.map(([ref, row]) => ({ row, ratio: pairedRatio(r.video[res]?.[id], r.video[res][ref]) }));
  return ratios.length && ratios.every((x) => Number.isFinite(x.ratio)) ? ratios : null;
}
const pairedText = (ratios) => `paired by round: ${ratios.map((x) => `${f(x.ratio, 2)}× ${x.row}`).join(', ')}`;

/**
 * Row id at res against shmsink's zero-copy rows: each of them paired by round when the run has it, else the
 * best median. { zc: the best median row, paired: ratios or null, met, missed: the verdict's text when not met }.
 */
function againstZeroCopy(r, res, id, v) {
  const zc = bestShmZeroCopy(v, res);
  const paired = pairedZeroCopy(r, res, id);
  if (paired) {
    const low = Math.min(...paired.map((x) => x.ratio));
    return { zc, paired, met: low >= 1, missed: `missed: ${f(low, 2)}× a zero-copy row, paired` };
  }
  const z = v(id, res);
  return { zc, paired, met: z >= zc.fps, missed: `missed by ${pct((1 - z / zc.fps) * 100)} of the best zero-copy figure` };
}

/** zero-gst's share of the ceiling at res in percent: paired by round when the run has it, else of the medians. */
function ceilingShare(r, res, v) {
  const paired = pairedRatio(r.video[res]?.['zero-gst'], r.video[res]?.ceiling) * 100;
  const medians = (v('zero-gst', res) / v('ceiling', res)) * 100;
  return Number.isFinite(paired)
    ? { share: paired, text: `${pct(paired)} paired by round (medians ${fps(v('zero-gst', res))} vs ${fps(v('ceiling', res))} = ${pct(medians)})` }
    : { share: medians, text: `${fps(v('zero-gst', res))} vs ${fps(v('ceiling', res))} = ${pct(medians)}` };
}

/** Issue 6's and issue 13's targets, each { target, measured, verdict }. */
export function targets(r) {
  const out = [];
  const v = (id, res) => med(r.video[res]?.[id], 'fps');
  for (const res of ['1080p', '4k']) {
    const node = v('zero-node', res);
    const shm = v('shm', res);
    const { zc, paired, met, missed } = againstZeroCopy(r, res, 'zero-node', v);
    out.push({
      target: `${res}: zerosink → Node ≥ shmsink → shmsrc (frames/s)`,
      measured: `${fps(node)} vs ${fps(shm)} (one copy in), ${shmZeroCopyText(zc)}${paired ? `; ${pairedText(paired)}` : ''}`,
      verdict: !(node >= shm) ? `missed by ${pct((1 - node / shm) * 100)} of the one-copy figure` : met ? 'met' : missed,
    });
    const pipe = v('pipe', res);
    out.push({
      target: `${res}: zerosink → Node ≥ 3× the pipe`,
      measured: `${fps(node)} vs ${fps(pipe)} = ${f(node / pipe, 1)}×`,
      verdict: node >= 3 * pipe ? 'met' : `missed: ${f(node / pipe, 2)}× of 3×`,
    });
  }
  const share1080 = ceilingShare(r, '1080p', v);
  const zc = r.video['1080p']?.['zero-gst']?.runs?.[0];
  out.push({
    target: '1080p: zerosink → zerosrc → fakesink ≥ 90% of the ceiling (zero-copy pool)',
    measured: `${share1080.text}; pool counters zero-copy/copied ${zc?.zeroCopy}/${zc?.copied}`,
    verdict: share1080.share >= 90 ? 'met' : `missed by ${f(90 - share1080.share, 0)} points`,
  });
  // Consumer copies: what the ring reader spends on a 32 MiB frame next to
  // what one memcpy of it costs; a copying reader pays at least that.
  const big = r.sweep[r.sizes[r.sizes.length - 1]];
  const copyS = r.sizes[r.sizes.length - 1] / (med(big.memcpy, 'gbps') * 1e9);
  const ringCons = med(big.ring, 'consCpu');
  const pipeCons = med(big.pipe, 'consCpu');
  out.push({
    target: 'consumer side: zero copies in C (CPU per frame flat next to a copy)',
    measured: `C ring reader ${f(ringCons * 1e6, 0)} µs per 32 MiB frame (page touching) vs one memcpy ${f(copyS * 1e6, 0)} µs, pipe reader ${f(pipeCons * 1e6, 0)} µs`,
    verdict: ringCons < 0.5 * copyS ? 'met' : 'missed',
  });
  const n480 = med(r.video['480p']?.['zero-node'], 'consCpu');
  const n4k = med(r.video['4k']?.['zero-node'], 'consCpu');
  const copy4k = (3840 * 2160 * 4) / (r.memcpyVideo['4k'] * 1e9);
  out.push({
    target: 'consumer side: zero copies in Node',
    measured: `Node consumer ${ms(n480)} ms/frame at 480p, ${ms(n4k)} ms at 4K (36× the bytes); one memcpy of a 4K frame ${ms(copy4k)} ms`,
    verdict: n4k < 0.5 * copy4k ? 'met' : 'missed',
  });
  out.push({
    target: 'producer side: zero copies when upstream honours the allocation query (counters)',
    measured: ['480p', '1080p', '4k'].map((res) => {
      const run = r.video[res]?.['zero-gst']?.runs?.[0];
      return `${res}: ${run?.zeroCopy} zero-copy / ${run?.copied} copied`;
    }).join('; '),
    verdict: ['480p', '1080p', '4k'].every((res) => r.video[res]?.['zero-gst']?.runs?.every((x) => x.copied === 0 && x.zeroCopy > 0)) ? 'met' : 'missed',
  });
  for (const [reader, limit] of [['C', 50], ['Node', 150]]) {
    const s = r.latency['1k'].steady[`${reader} · ring`]?.summary;
    out.push({
      target: `latency, 1 KiB at 1 kHz, ${reader} reader: p50 ≤ ${limit} µs, p99 ≤ 1 ms`,
      measured: `p50 ${f(s?.p50, 1)} µs, p99 ${f(s?.p99, 1)} µs (p99.9 ${f(s?.p999, 1)}, max ${f(s?.max, 1)})`,
      verdict: s?.p50 <= limit && s?.p99 <= 1000 ? 'met'
        : `missed: ${[s?.p50 > limit ? `p50 ${f(s.p50 / limit, 1)}× the target` : '', s?.p99 > 1000 ? `p99 ${f(s.p99 / 1000, 1)}× the target` : ''].filter(Boolean).join(', ')}`,
    });
  }
  const i420 = stat(r.convert?.['i420-c'], 'ms');
  out.push({
    target: 'pixels: 1080p I420 → RGB (toRGB) < 5 ms per frame',
    measured: `${f(i420.median, 2)} ms (the same arithmetic in JS: ${f(stat(r.convert?.['i420-js'], 'ms').median, 1)} ms)`,
    verdict: i420.median < 5 ? 'met' : `missed: ${f(i420.median / 5, 2)}× the target`,
  });
  out.push(...handleTargets(r, v, share1080));
  out.push(filterTarget(r));
  return { head: ['target', 'measured (medians)', 'verdict'], rows: out.map((t) => [t.target, t.measured, t.verdict]) };
}

/** Issue 13: batches to Node, frames in flight by frame size, a deeper pool. share1080: ceilingShare at 1080p. */
function handleTargets(r, v, share1080) {
  const out = [];
  const lat = (mode, key) => r.latency['1k']?.[mode]?.[`${key}`]?.summary;
  const ringS = lat('steady', 'Node · ring');
  const udsS = lat('steady', 'Node · uds');
  out.push({
    target: '1 KiB at 1 kHz: Node ring reader p50 ≤ Node Unix-socket reader p50 (same run)',
    measured: `p50 ${f(ringS?.p50, 1)} vs ${f(udsS?.p50, 1)} µs`,
    verdict: ringS?.p50 <= udsS?.p50 ? 'met' : `missed: ${f(ringS?.p50 / udsS?.p50, 1)}× the socket's`,
  });
  const ringF = lat('flat', 'Node · ring');
  const udsF = lat('flat', 'Node · uds');
  out.push({
    target: '1 KiB flat out: Node ring reader frames/s ≥ the Unix-socket reader\'s, p50 < 1 ms',
    measured: `${fps(ringF?.fps)} vs ${fps(udsF?.fps)} frames/s; p50 ${f(ringF?.p50, 1)} µs (socket ${f(udsF?.p50, 1)} µs)`,
    verdict: ringF?.fps >= udsF?.fps && ringF?.p50 < 1000 ? 'met'
      : `missed: ${[!(ringF?.fps >= udsF?.fps) ? `${pct((ringF?.fps / udsF?.fps) * 100)} of the socket's frames/s` : '',
        !(ringF?.p50 < 1000) ? `p50 ${f(ringF?.p50 / 1000, 1)} ms` : ''].filter(Boolean).join(', ')}`,
  });
  for (const id of ['zero-gst', 'zero-node']) {
    const { zc, paired, met, missed } = againstZeroCopy(r, '4k', id, v);
    out.push({
      target: `4K BGRx, at most 4 frames of memory on each side: ${id === 'zero-gst' ? 'zerosink → zerosrc' : 'zerosink → Node'} ≥ shmsink → shmsrc zero copy (each of 2b–2d)`,
      measured: `${fps(v(id, '4k'))} vs ${shmZeroCopyText(zc)} frames/s${paired ? `; ${pairedText(paired)}` : ''}`,
      verdict: !zc.row ? 'missed: shmsink\'s zero-copy rows have no figure' : met ? 'met' : missed,
    });
  }
  out.push({
    target: '1080p: zerosink → zerosrc ≥ 95% of the one-process ceiling',
    measured: share1080.text,
    verdict: share1080.share >= 95 ? 'met' : `missed by ${f(95 - share1080.share, 0)} points`,
  });
  const runs = ['480p', '1080p', '4k'].flatMap((res) => r.video[res]?.['zero-queue']?.runs ?? []);
  out.push({
    target: 'upstream keeps 2 buffers (queue max-size-buffers=2 ! zerosink): fully zero copy by the pool counters',
    measured: ['480p', '1080p', '4k'].map((res) => {
      const run = r.video[res]?.['zero-queue']?.runs?.[0];
      return `${res}: ${run?.zeroCopy} zero-copy / ${run?.copied} copied`;
    }).join('; '),
    verdict: runs.length > 0 && runs.every((x) => x.copied === 0 && x.zeroCopy > 0) ? 'met' : 'missed',
  });
  return out;
}

/** Issue 15 at 1080p: the in-place echo's share of zerosink → Node alone, paired by round (duplex.mjs). */
function filterTarget(r) {
  const cells = r.duplex?.['1080p'];
  const share = cells ? pairedShare(cells.zerofilter, cells['zero-node']) : NaN;
  const p50 = stat(cells?.zerofilter, 'p50Ms').median;
  return {
    target: '1080p: zerofilter ⇄ Node echo server ≥ 90% of zerosink → Node alone (paired by round), round trip p50 < 1 ms',
    measured: `${pct(share)} (${fps(stat(cells?.zerofilter, 'fps').median)} vs ${fps(stat(cells?.['zero-node'], 'fps').median)} frames/s), p50 ${f(p50, 2)} ms`,
    verdict: share >= 90 && p50 < 1 ? 'met'
      : `missed: ${[!(share >= 90) ? `${pct(share)} of the reference` : '', !(p50 < 1) ? `p50 ${f(p50, 2)} ms` : ''].filter(Boolean).join(', ')}`,
  };
}

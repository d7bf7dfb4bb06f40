#!/usr/bin/env node
// `npm run bench` — zerobuffer against what users would pick instead, in one
// invocation: every comparison alternates within each round (at 1080p and 4K
// the compared rows run between runs of their references), medians and
// spreads over rounds, frames really produced and really received (every
// consumer touches every page). Prints the tables; a full run also writes
// docs/BENCHMARKS.md and docs/benchmarks.png. Options: USAGE below
// (`npm run bench -- --help`).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildHelpers } from './lib/c-build.mjs';
import * as conv from './lib/convert.mjs';
import * as duplex from './lib/duplex.mjs';
import * as lat from './lib/latency.mjs';
import { describeMachine } from './lib/machine.mjs';
import { run } from './lib/proc.mjs';
import { latencyTable, sweepTable, targets, text, videoTable } from './lib/report.mjs';
import * as sweep from './lib/sweep.mjs';
import * as video from './lib/video.mjs';
import { writeDocs } from './lib/write-docs.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(benchDir, '..', '..');
const USAGE = `usage: npm run bench [-- OPTIONS]

  (none)          full run: 5 rounds, about 20 minutes on 2 cores; writes docs/BENCHMARKS.md
                  and docs/benchmarks.png
  --quick         smoke run: 1 round, tiny counts, about a minute; duplex at 480p only; no docs
  --rounds N      rounds (default 5, 1 with --quick; latency pools at most 3)
  --json FILE     all results, for tests and --render
  --no-docs       leave docs/ alone
  --render FILE   rewrite the docs from a saved --json run (e.g. after editing notes.md)
  --only ID,ID    run only these parts, and write no docs. IDs: sections (video, duplex,
                  sweep, convert, latency); video rows by id (ceiling, shm, shm-pool, shm-pool3,
                  shm-pool2, pipe, zero-gst, zero-queue, zero-node, zero-run: the video section
                  with those rows only); duplex rows as duplex:ID (duplex:zero-node, the reference
                  the zerofilter rows' share needs, duplex:zerofilter, duplex:zerofilter-copy,
                  duplex:shm, duplex:shm2, duplex:pipe); resolutions (480p, 1080p, 4k: video and
                  duplex at those only; given alone, video and duplex run).
                  E.g. --only shm-pool,shm-pool2,zero-gst,4k
  -h, --help      this text
`;

function parseOptions() {
  try {
    const { values } = parseArgs({
      options: {
        quick: { type: 'boolean' }, rounds: { type: 'string' }, json: { type: 'string' },
        'no-docs': { type: 'boolean' }, render: { type: 'string' }, only: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    const rounds = values.rounds === undefined ? (values.quick ? 1 : 5) : Number(values.rounds);
    if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds: a whole number from 1 expected, got ${values.rounds}`);
    return { ...values, rounds };
  } catch (e) {
    process.stderr.write(`bench: ${e.message}\n\n${USAGE}`);
    process.exit(2);
  }
}

const options = parseOptions();
if (options.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const quick = options.quick === true;
const rounds = options.rounds;
const latRounds = Math.min(rounds, 3); // latency runs are paced: 3 rounds pooled are plenty
const started = Date.now();
const log = (msg) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${msg}\n`);

const SECTIONS = ['video', 'duplex', 'sweep', 'convert', 'latency'];

/** What --only selects: sections, video and duplex rows, resolutions (everything without it). */
function selection(only) {
  const all = { sections: new Set(SECTIONS), video: video.METHODS, duplex: duplex.METHODS, res: video.RESOLUTIONS };
  if (!only) return all;
  const ids = only.split(',').map((x) => x.trim()).filter(Boolean);
  const duplexId = (m) => `duplex:${m.id}`;
  const known = [...SECTIONS, ...video.METHODS.map((m) => m.id), ...duplex.METHODS.map(duplexId), ...video.RESOLUTIONS.map((x) => x.id)];
  const unknown = ids.filter((id) => !known.includes(id));
  if (unknown.length) throw Object.assign(new Error(`--only: unknown ${unknown.join(', ')} (known: ${known.join(', ')})`), { usage: true });
  const videoRows = video.METHODS.filter((m) => ids.includes(m.id));
  const duplexRows = duplex.METHODS.filter((m) => ids.includes(duplexId(m)));
  const res = video.RESOLUTIONS.filter((x) => ids.includes(x.id));
  const sections = new Set(ids.filter((id) => SECTIONS.includes(id)));
  if (videoRows.length) sections.add('video');
  if (duplexRows.length) sections.add('duplex');
  if (!sections.size && res.length) ['video', 'duplex'].forEach((x) => sections.add(x));
  return {
    sections,
    video: videoRows.length ? videoRows : video.METHODS,
    duplex: duplexRows.length ? duplexRows : duplex.METHODS,
    res: res.length ? res : video.RESOLUTIONS,
  };
}

/** Rotates a list by `round`, so no contender always goes first. */
const rotate = (list, round) => list.map((_, i) => list[(i + round) % list.length]);

/** Runs fn, files its result or error in cell (errors become table cells, not a crash). */
async function record(cell, what, fn) {
  try {
    cell.runs.push(await fn());
  } catch (e) {
    cell.errors.push(String(e.message ?? e).split('\n')[0]);
    log(`FAILED ${what}: ${e.message}`);
  }
}
const newCell = () => ({ runs: [], errors: [] });

async function main() {
  if (options.render) {
    const saved = JSON.parse(fs.readFileSync(options.render, 'utf8'));
    const ids = new Set(saved.tables.video[0].table.rows.map((row) => row[0]));
    await writeDocs(repo, saved, saved.tables, video.METHODS.filter((m) => ids.has(m.label)));
    log('wrote docs/BENCHMARKS.md and docs/benchmarks.png from the saved run');
    return;
  }
  const sel = selection(options.only);
  for (const need of ['dist/index.js', 'builddir/gst-plugin']) {
    if (!fs.existsSync(path.join(repo, need))) throw new Error(`${need} is missing: run \`bash scripts/build.sh\` first`);
  }
  const { zbBench, gstRun } = await buildHelpers(repo);
  const gstPath = [path.join(repo, 'builddir', 'gst-plugin'), process.env.GST_PLUGIN_PATH].filter(Boolean).join(':');
  const env = { GST_PLUGIN_PATH: gstPath };
  process.env.GST_PLUGIN_PATH = gstPath; // the Node peers' gst children too
  const ctx = { repo, benchDir, zbBench, gstRun, env, timeoutMs: quick ? 30000 : 60000 };
  await run('gst-inspect-1.0', ['zerosink'], { env }); // registry update outside the measurements

  const hasRun = video.hasZerobufferRun(repo);
  const r = {
    quick, rounds, machine: describeMachine(), date: new Date().toISOString(), sizes: sweep.SIZES,
    zerobufferRun: hasRun ? 'measured (dist/cli/bin.js)' : 'absent when this ran (no dist/cli/bin.js); that row is left out',
    video: {}, memcpyVideo: {}, sweep: {}, latency: {}, duplex: {}, convert: Object.fromEntries(conv.CASES.map((c) => [c.id, newCell()])),
  };
  const memcpyVideo = {};
  for (const res of video.RESOLUTIONS) {
    r.video[res.id] = Object.fromEntries(video.METHODS.map((m) => [m.id, newCell()]));
    memcpyVideo[res.id] = newCell();
  }
  for (const res of duplex.RESOLUTIONS) r.duplex[res.id] = Object.fromEntries(duplex.METHODS.map((m) => [m.id, newCell()]));
  for (const size of sweep.SIZES) {
    r.sweep[size] = Object.fromEntries([...sweep.TRANSPORTS, 'memcpy'].map((t) => [t, newCell()]));
  }
  for (const c of lat.CASES) {
    r.latency[c.id] = {};
    for (const mode of ['steady', 'flat']) {
      r.latency[c.id][mode] = {};
      for (const reader of lat.READERS) for (const t of lat.TRANSPORTS) r.latency[c.id][mode][`${reader} · ${t}`] = newCell();
    }
  }

  const methods = sel.video.filter((m) => !(m.needsCli && !hasRun));
  const videoRes = sel.sections.has('video') ? sel.res : [];
  // the quick run keeps duplex to 480p (the larger frames cost it seconds each) unless --only names sizes
  const duplexRes = !sel.sections.has('duplex') ? []
    : sel.res.filter((x) => !quick || options.only || x.id === '480p');
  for (let round = 0; round < rounds; round++) {
    for (const res of videoRes) {
      log(`round ${round + 1}/${rounds}: video ${res.label}`);
      await record(memcpyVideo[res.id], 'memcpy', () => sweep.measureMemcpy(ctx, video.frameSize(res), quick));
      const measured = (m, slot) => record(r.video[res.id][m.id], `${m.id} ${res.id}`,
        async () => ({ ...await video.measure(ctx, m, res, quick), round, ...slot }));
      // The compared rows run between runs of their references (video.PAIRED), when both are selected.
      const pair = video.PAIRED[res.id];
      const refs = methods.filter((m) => pair?.refs.includes(m.id));
      const compared = refs.length ? methods.filter((m) => pair.rows.includes(m.id)) : [];
      const bracketed = compared.length ? [...refs, ...compared] : [];
      for (const m of rotate(methods.filter((m) => !bracketed.includes(m)), round)) await measured(m, {});
      const order = rotate(compared, round);
      for (let block = 0; bracketed.length && block <= order.length; block++) {
        for (const m of rotate(refs, round + block)) await measured(m, { block });
        if (block < order.length) await measured(order[block], { slot: block });
      }
    }
    for (const res of duplexRes) {
      log(`round ${round + 1}/${rounds}: duplex round trip ${res.label}`);
      const cells = r.duplex[res.id];
      const measured = (m) => record(cells[m.id], `duplex ${m.id} ${res.id}`, async () => ({ ...await duplex.measure(ctx, m, res, quick), round }));
      const reference = sel.duplex.find((m) => m.reference);
      const rest = sel.duplex.filter((m) => !m.reference);
      // The reference brackets the in-place row (before and after it), so their ratio sees the same host.
      const bracketed = reference && rest.some((m) => m.id === 'zerofilter');
      if (reference && !bracketed) await measured(reference);
      for (const m of rotate(rest, round)) {
        if (bracketed && m.id === 'zerofilter') await measured(reference);
        await measured(m);
        if (bracketed && m.id === 'zerofilter') await measured(reference);
      }
    }
    if (sel.sections.has('sweep')) log(`round ${round + 1}/${rounds}: size sweep`);
    for (const size of sel.sections.has('sweep') ? sweep.SIZES : []) {
      await record(r.sweep[size].memcpy, `memcpy ${size}`, () => sweep.measureMemcpy(ctx, size, quick));
      for (const t of rotate(sweep.TRANSPORTS, round)) {
        await record(r.sweep[size][t], `${t} ${size}`, () => sweep.measurePair(ctx, t, size, quick));
      }
    }
    if (sel.sections.has('convert')) log(`round ${round + 1}/${rounds}: pixel conversion`);
    for (const c of sel.sections.has('convert') ? conv.CASES : []) await record(r.convert[c.id], `convert ${c.id}`, () => conv.measure(ctx, c, quick));
    if (round < latRounds && sel.sections.has('latency')) {
      log(`round ${round + 1}/${latRounds}: latency`);
      const combos = lat.READERS.flatMap((reader) => lat.TRANSPORTS.map((t) => [reader, t]));
      for (const c of lat.CASES) {
        for (const steady of [true, false]) {
          for (const [reader, t] of rotate(combos, round)) {
            const cell = r.latency[c.id][steady ? 'steady' : 'flat'][`${reader} · ${t}`];
            await record(cell, `latency ${reader} ${t} ${c.id}`, () => lat.measureRun(ctx, reader, t, c, steady, quick));
          }
        }
      }
    }
  }
  for (const c of lat.CASES) {
    for (const mode of ['steady', 'flat']) {
      for (const cell of Object.values(r.latency[c.id][mode])) cell.summary = cell.runs.length ? lat.summarize(cell.runs) : null;
    }
  }
  for (const res of video.RESOLUTIONS) {
    const g = memcpyVideo[res.id].runs.map((x) => x.gbps).sort((a, b) => a - b);
    r.memcpyVideo[res.id] = g[g.length >> 1];
  }
  r.seconds = (Date.now() - started) / 1000;

  const tables = {
    video: video.RESOLUTIONS.map((res) => ({ res, table: videoTable(r.video[res.id], res, methods, r.memcpyVideo[res.id]) })),
    sweep: sweepTable(r.sweep, sweep.SIZES, sweep.sizeLabel),
    latency: latencyTable(r.latency, lat.CASES),
    convert: conv.convertTable(r.convert),
    duplex: duplex.duplexTable(r.duplex, quick),
    targets: targets(r),
  };
  for (const { res, table } of tables.video.filter((t) => videoRes.includes(t.res))) {
    console.log(`\nThroughput, ${res.label}, ${video.framesFor(res, quick)} frames per run (memcpy of one frame: ${r.memcpyVideo[res.id]?.toFixed(1)} GB/s)\n${text(table)}`);
  }
  const shown = (section, title, table) => sel.sections.has(section) && console.log(`\n${title}\n${text(table)}`);
  shown('duplex', 'Round trip through another process (zerofilter, issue 15)', tables.duplex);
  shown('sweep', 'Frame-size sweep (C writer → C reader)', tables.sweep);
  shown('latency', `Latency, writer commit → reader has the frame (${lat.WARMUP} warm-up frames per run dropped)`, tables.latency);
  shown('convert', 'Pixel conversion, one 1080p frame in this Node process', tables.convert);
  // a partial run shows the targets it has the numbers for
  const judged = options.only ? { ...tables.targets, rows: tables.targets.rows.filter((row) => !/–|undefined/.test(row[1])) } : tables.targets;
  console.log(`\nTargets${options.only ? ' (those this partial run measured)' : ''}\n${text(judged)}`);
  console.log(`\nzerobuffer run: ${r.zerobufferRun}. ${rounds} round(s), ${r.seconds.toFixed(0)} s.`);

  if (options.json) fs.writeFileSync(options.json, JSON.stringify({ ...r, tables }, null, 1));
  if (!quick && !options['no-docs'] && !options.only) {
    // Kept so the docs can be re-rendered (--render) after notes.md changes.
    fs.writeFileSync(path.join(repo, 'builddir-bench', 'last-run.json'), JSON.stringify({ ...r, tables }));
    await writeDocs(repo, r, tables, methods);
    log('wrote docs/BENCHMARKS.md and docs/benchmarks.png');
  }
  // Failures are in the tables; the exit status says whether any required cell failed.
  const required = [
    ...Object.values(r.video).flatMap((cells) => Object.values(cells)),
    ...Object.values(r.sweep).flatMap((cells) => Object.values(cells)),
    ...Object.values(r.latency).flatMap((modes) => Object.values(modes).flatMap((cells) => Object.values(cells))),
    ...Object.values(r.convert),
    ...Object.values(r.duplex).flatMap((cells) => [cells.zerofilter, cells['zerofilter-copy']])
      .filter((c) => !quick || c.runs.length || c.errors.length),
  ];
  if (required.some((c) => c.errors.length)) process.exitCode = 1;
}

main().catch((e) => {
  console.error(`bench: ${e.usage ? e.message : e.stack ?? e}`);
  process.exitCode = 1;
});

#!/usr/bin/env node
// Soak run: frames of random sizes through two rings for --minutes, with
// writer restarts (a share of them SIGKILLed mid-stream) and reader restarts,
// every frame checked byte for byte, and the RSS and open fds of the
// long-lived processes sampled and required flat over the last half.
//
//   node --expose-gc scripts/soak/soak.mjs [--minutes 60] [--seed S] [--fps 400]
//       [--kill 0.3] [--reader-restart 0.08] [--no-gst] [--prefix P] [--json]
//
// Lane "node": this process is the reader (ZeroBufferReader from dist/);
//   writers one after another: zb-peer (C), node-writer.mjs (Node) and
//   gst-launch-1.0 videotestsrc ! zerosink. Some writers are SIGKILLed after
//   a random number of frames; now and then the reader closes the ring under
//   a running writer (which must fail with EREADERGONE) and creates it again.
// Lane "gst": a long-lived gst-launch-1.0 zerosrc eos-on-writer-exit=false
//   ! identity ! checksumsink; zb-peer writers one after another, some
//   SIGKILLed after a random time; the SHA-1 of every buffer must be the
//   writers' frames in order.
// Long-lived processes sampled: this one (Node reader; after a full GC, with
// the V8 heap, external memory and the addon's live objects) and the zerosrc
// gst-launch; their memory trend over the last half of the run must be flat
// (lib.mjs flatness), and no addon object may be left after the run. Exit
// status 0 when no error and all that holds, else 1. Needs --expose-gc.
// The report goes to stdout at the end (with --json, one JSON line last).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { inspectRing, removeStaleRing, WriterGoneError, ZeroBufferReader } from '../../dist/index.js';
import { native } from '../../dist/native.js';
import { alive, finish, flatness, makeFrame, prng, sample, sleep, start } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const peer = path.join(root, 'builddir', 'test', 'zb-peer');
const pluginDir = path.join(root, 'builddir', 'gst-plugin');
const nodeWriter = path.join(here, 'node-writer.mjs');

// ------------------------------------------------------------ options
const OPTIONS = {
  minutes: { value: 60, help: 'length of the run' },
  seed: { value: Date.now() % 1e9, help: 'seed of every random choice (printed in the report)' },
  fps: { value: 400, help: 'frames per second per lane at most (0: as fast as it goes)' },
  kill: { value: 0.3, help: 'share of writers SIGKILLed mid-stream' },
  'reader-restart': { value: 0.08, help: 'share of node-lane writers under which the reader closes and re-creates the ring' },
  'sample-seconds': { value: 0, help: 'seconds between RSS/fd samples (0: the run / 120, 1..30)' },
  warmup: { value: 0.5, help: 'share of the run (at least 20 s) before the judged window, in which memory and fds must be flat' },
  gst: { value: true, help: 'run the gst lane and gst writers (--no-gst: without)' },
  prefix: { value: `zbsoak-${process.pid}-`, help: 'prefix of the ring names' },
  json: { value: false, help: 'print the report as JSON as the last line too' },
  samples: { value: '', help: 'write every sample to this file, one JSON line each' },
  'heap-snapshots': { value: '', help: 'write V8 heap snapshots of the soak process at the start and the end into this directory (adds ~40 MiB of RSS that malloc keeps)' },
};

function parseArgs(argv) {
  const o = Object.fromEntries(Object.entries(OPTIONS).map(([k, v]) => [k, v.value]));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      console.log('usage: node scripts/soak/soak.mjs [options]');
      for (const [k, v] of Object.entries(OPTIONS)) console.log(`  --${k.padEnd(16)} ${v.help} (default ${v.value})`);
      process.exit(0);
    }
    const m = /^--(no-)?([a-z-]+)$/.exec(a);
    if (!m || !(m[2] in OPTIONS)) throw new TypeError(`unknown option ${a} (--help lists them)`);
    const key = m[2];
    if (typeof OPTIONS[key].value === 'boolean') o[key] = !m[1];
    else if (typeof OPTIONS[key].value === 'string') o[key] = argv[++i];
    else {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v < 0) throw new TypeError(`--${key} must be a number >= 0, received ${argv[i]}`);
      o[key] = v;
    }
  }
  return o;
}

const opt = parseArgs(process.argv.slice(2));
// Memory is sampled after a full collection, so that what is judged is what
// is still alive, not where the collector happened to be.
if (typeof globalThis.gc !== 'function') {
  console.error('soak: run it as "node --expose-gc scripts/soak/soak.mjs" (npm run soak does)');
  process.exit(2);
}
const rnd = prng(opt.seed);
const runMs = opt.minutes * 60000;
const t0 = Date.now();
const deadline = t0 + runMs;
const sampleMs = 1000 * (opt['sample-seconds'] || Math.min(30, Math.max(1, runMs / 1000 / 120)));
const warmupMs = Math.max(20000, runMs * opt.warmup);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'zbsoak-'));
const gstEnv = { GST_PLUGIN_PATH: pluginDir, GST_REGISTRY_1_0: path.join(tmp, 'registry.bin') };
const children = new Set();
let stopping = false;

const stats = {
  node: { frames: 0, bytes: 0, writers: 0, killed: 0, readerRestarts: 0, byKind: {} },
  gst: { frames: 0, bytes: 0, writers: 0, killed: 0 },
  errors: [], // the first 100
  errorCount: 0,
};

function error(lane, text) {
  if (++stats.errorCount > 100) return;
  stats.errors.push(`${((Date.now() - t0) / 1000).toFixed(1)} s ${lane}: ${text}`);
  console.error(`soak: ${lane}: ${text}`);
}

function track(child) {
  children.add(child);
  child.done.then(() => children.delete(child));
  return child;
}

function log(text) {
  if (!opt.json) console.log(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(5)} s] ${text}`);
}

// Paces a lane at opt.fps frames per second (a token bucket of 1 s).
function pacer() {
  let budget = opt.fps;
  let last = Date.now();
  return async () => {
    if (opt.fps === 0) return;
    for (;;) {
      const now = Date.now();
      budget = Math.min(opt.fps, budget + ((now - last) * opt.fps) / 1000);
      last = now;
      if (budget >= 1) {
        budget--;
        return;
      }
      await sleep(Math.ceil(1000 / opt.fps));
    }
  };
}

// ------------------------------------------------------------ lane "node"
// One writer at a time; the reader checks its frames against what that
// writer sends, and learns its end from end of stream (null) or
// WriterGoneError.
async function nodeLane() {
  const name = `${opt.prefix}node`;
  const pace = pacer();
  let width = 0;
  let height = 0;
  let reader;
  async function createReader() {
    reader = await ZeroBufferReader.create({ name, metadataSize: 4096, payloadSize: 1 << 20 });
    // zerosink writes the caps into the metadata once per ring: one size per ring.
    width = 4 * rnd.int(2, 80);
    height = rnd.int(2, 120);
  }
  await createReader();
  try {
    while (Date.now() < deadline && !stopping) {
      const kinds = opt.gst ? ['peer', 'peer', 'peer', 'node', 'gst'] : ['peer', 'peer', 'peer', 'node'];
      const kind = rnd.pick(kinds);
      const seed = rnd.int(1, 1e9);
      const min = rnd.int(1, 2048);
      const max = min + rnd.int(0, rnd.chance(0.3) ? 256 * 1024 : 32 * 1024);
      const kill = rnd.chance(opt.kill);
      const restart = !kill && rnd.chance(opt['reader-restart']);
      const stopAt = kill || restart ? rnd.int(1, 300) : 0; // frames read before the SIGKILL / restart
      const n = kill || restart ? 10_000_000 : rnd.int(10, 600);
      const color = rnd.int(0, 0xffffff);
      let child;
      let expected; // (seq) => Uint8Array
      if (kind === 'peer') {
        child = start(peer, ['write', name, '--frames', String(n), '--seed', String(seed),
          '--min', String(min), '--max', String(max), '--timeout', '20000']);
        expected = (seq) => makeFrame(seed, seq, min, max);
      } else if (kind === 'node') {
        child = start(process.execPath, [nodeWriter, name, String(n), String(seed), String(min), String(max)]);
        expected = (seq) => makeFrame(seed, seq, min, max);
      } else {
        const frame = new Uint8Array(width * height * 3);
        for (let i = 0; i < frame.length; i += 3) frame.set([color >> 16, (color >> 8) & 0xff, color & 0xff], i);
        child = start('gst-launch-1.0', ['-q', 'videotestsrc', `num-buffers=${n > 1e6 ? -1 : n}`, 'pattern=solid-color',
          `foreground-color=${0xff000000 + color}`, '!', `video/x-raw,format=RGB,width=${width},height=${height},framerate=1000/1`,
          '!', 'zerosink', `buffer-name=${name}`, 'sync=false', `zero-copy=${rnd.chance(0.5)}`, 'timeout=20000'], { env: gstEnv });
        expected = () => frame;
      }
      track(child);
      stats.node.writers++;
      stats.node.byKind[kind] = (stats.node.byKind[kind] ?? 0) + 1;
      let seq = 0;
      let end;
      try {
        for (;;) {
          let f;
          try {
            f = await reader.next({ timeoutMs: 20000 });
          } catch (e) {
            if (e instanceof WriterGoneError) {
              end = 'gone';
              break;
            }
            throw e;
          }
          if (f === null) {
            end = 'eof';
            break;
          }
          seq++;
          const want = expected(seq);
          const got = Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength);
          if (f.sequence !== seq) throw new Error(`${kind} writer: frame ${seq} arrived with sequence ${f.sequence}`);
          if (f.size !== want.length || got.compare(want) !== 0)
            throw new Error(`${kind} writer: frame ${seq}: ${f.size} bytes, expected ${want.length}${f.size === want.length ? ', content differs' : ''}`);
          stats.node.frames++;
          stats.node.bytes += f.size;
          f.release();
          if (seq === stopAt) {
            if (kill) child.proc.kill('SIGKILL');
            else break; // reader restart below, the writer still running
          }
          await pace();
        }
        if (restart) {
          // Close under a running writer: it must fail with EREADERGONE; then the same name again.
          await reader.close();
          const status = await finish(child, 20000);
          // zb-peer and node-writer name the error code; gst-launch prints the element's message.
          const told = kind === 'gst' || /EREADERGONE/.test(child.stderr);
          if (status === 0 || !told)
            error('node', `${kind} writer after the reader closed: status ${status}, stderr: ${child.stderr.trim().slice(-300)}`);
          await createReader();
          stats.node.readerRestarts++;
          continue;
        }
        const status = await finish(child, 20000);
        if (kill) {
          stats.node.killed++;
          if (end !== 'gone') error('node', `SIGKILLed ${kind} writer ended with ${end}, not WriterGoneError`);
          if (seq < stopAt) error('node', `SIGKILLed ${kind} writer: ${seq} frames, at least ${stopAt} expected`);
        } else if (end !== 'eof' || seq !== n || status !== 0) {
          error('node', `${kind} writer: ${seq} of ${n} frames, end ${end}, status ${status}: ${child.stderr.trim().slice(-300)}`);
        }
      } catch (e) {
        error('node', String(e?.message ?? e));
        child.proc.kill('SIGKILL');
        await finish(child, 5000);
        // Start over with a fresh ring.
        await reader.close();
        await createReader();
      }
    }
  } finally {
    await reader.close();
  }
}

// ------------------------------------------------------------- lane "gst"
let gstReader;

async function gstLane() {
  const name = `${opt.prefix}gst`;
  const writers = []; // { seed, min, max, n, killed, exited }
  let w = 0; // writer whose frames arrive now
  let s = 0; // its frames received
  const sha = (i, seq) => crypto.createHash('sha1').update(makeFrame(writers[i].seed, seq, writers[i].min, writers[i].max)).digest('hex');
  let expectNext = null; // cached sha of (w, s + 1)
  function onHash(hash) {
    if (writers.length === 0) return error('gst', 'a buffer before any writer');
    expectNext ??= sha(w, s + 1);
    if (hash === expectNext) {
      s++;
      expectNext = null;
    } else {
      // The next writer's first frame: only once this one is over.
      const cur = writers[w];
      const over = cur.exited && (cur.killed || s === cur.n);
      if (over && w + 1 < writers.length && hash === sha(w + 1, 1)) {
        w++;
        s = 1;
        expectNext = null;
      } else {
        return error('gst', `buffer after writer ${w + 1} frame ${s}: checksum is not the next frame`);
      }
    }
    const d = writers[w];
    stats.gst.frames++;
    stats.gst.bytes += makeFrameSize(d, s);
  }
  // Sizes only for the byte count (cheap: the first draw of the generator).
  function makeFrameSize(d, seq) {
    let x = (Math.imul(d.seed >>> 0, 2654435761) ^ Math.imul(seq >>> 0, 40503) ^ 0x9e3779b9) >>> 0;
    if (x === 0) x = 1;
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    return d.min + (x % (d.max - d.min + 1));
  }

  const sleepUs = opt.fps > 0 ? Math.round(1e6 / opt.fps) : 0;
  let announced;
  const ready = new Promise((resolve) => (announced = resolve));
  gstReader = track(start('gst-launch-1.0', ['-e', 'zerosrc', `buffer-name=${name}`, 'eos-on-writer-exit=false',
    'caps=application/octet-stream', 'payload-size=1048576', 'timeout=-1', 'announce=true', '!',
    'identity', `sleep-time=${sleepUs}`, '!', 'checksumsink'], {
    env: gstEnv,
    onLine: (line) => {
      if (line.includes('"start-stream"')) announced();
      const m = /^\d+:\d\d:\d\d\.\d+ ([0-9a-f]{40})$/.exec(line);
      if (m) onHash(m[1]);
    },
  }));
  const up = await Promise.race([ready.then(() => true), sleep(30000).then(() => false), gstReader.done.then(() => false)]);
  if (!up) {
    error('gst', `zerosrc did not announce its ring: ${gstReader.stderr.trim().slice(-300)}`);
    return;
  }
  while (Date.now() < deadline && !stopping) {
    if (!alive(gstReader)) return error('gst', `zerosrc exited (${gstReader.status}): ${gstReader.stderr.trim().slice(-300)}`);
    const d = { seed: rnd.int(1, 1e9), min: rnd.int(1, 2048), killed: rnd.chance(opt.kill), exited: false };
    d.max = d.min + rnd.int(0, rnd.chance(0.3) ? 256 * 1024 : 32 * 1024);
    d.n = d.killed ? 10_000_000 : rnd.int(10, 600);
    writers.push(d);
    const child = track(start(peer, ['write', name, '--frames', String(d.n), '--seed', String(d.seed),
      '--min', String(d.min), '--max', String(d.max), '--timeout', '20000']));
    stats.gst.writers++;
    let status;
    if (d.killed) {
      await Promise.race([sleep(rnd.int(20, 1500)), child.done]);
      child.proc.kill('SIGKILL');
      status = await finish(child, 5000);
      stats.gst.killed++;
    } else {
      status = await finish(child, 20000 + (d.n * 1000) / Math.max(opt.fps, 1));
      if (status !== 0) error('gst', `writer ${writers.length}: status ${status}: ${child.stderr.trim().slice(-300)}`);
    }
    d.exited = true;
    // Wait (bounded) until zerosrc has taken every frame and knows the writer is gone.
    const until = Date.now() + 30000;
    for (;;) {
      let h;
      try {
        h = inspectRing(name);
      } catch {
        break; // zerosrc gone: reported above on the next turn
      }
      const drained = h.readCount === h.writtenCount && !h.writerAlive && (d.killed || (w === writers.length - 1 && s === d.n));
      if (drained) break;
      if (Date.now() > until) {
        error('gst', `writer ${writers.length}: not drained after 30 s (writer ${w + 1} frame ${s})`);
        break;
      }
      await sleep(50);
    }
    await sleep(100); // zerosrc reports the dead writer before the next connects
  }
}

// ---------------------------------------------------------------- samples
const samples = { node: [], gst: [] };
const samplesFile = opt.samples ? fs.openSync(opt.samples, 'w') : null;
// The soak process after a full GC: its RSS and parts (lib.mjs sample), the
// V8 heap, memory outside it held by JS objects (external, of which
// ArrayBuffers), malloc's bytes in use and free (all of the process's native
// allocations: V8's, Node's, the addon's), the rings mapped, and the addon's
// live native objects.
function nodeSample(t) {
  globalThis.gc();
  const m = process.memoryUsage();
  const kib = (b) => Math.round(b / 1024);
  const maps = fs.readFileSync('/proc/self/maps', 'utf8');
  const live = native.liveCounts();
  return {
    t, ...sample(process.pid), heapUsedKiB: kib(m.heapUsed), heapTotalKiB: kib(m.heapTotal),
    externalKiB: kib(m.external), arrayBuffersKiB: kib(m.arrayBuffers),
    mallocInUseKiB: kib(live.malloc.inUseBytes + live.malloc.mmapBytes), mallocFreeKiB: kib(live.malloc.freeBytes),
    shmMaps: maps.split('\n').filter((l) => l.includes('/dev/shm/')).length, live,
  };
}

function takeSamples() {
  const t = Date.now();
  try {
    samples.node.push(nodeSample(t));
    if (samplesFile) fs.writeSync(samplesFile, `${JSON.stringify({ process: 'node', ...samples.node.at(-1) })}\n`);
    if (gstReader && alive(gstReader)) {
      samples.gst.push({ t, ...sample(gstReader.proc.pid) });
      if (samplesFile) fs.writeSync(samplesFile, `${JSON.stringify({ process: 'gst', ...samples.gst.at(-1) })}\n`);
    }
  } catch {
    // the gst reader exited between the checks
  }
}

// The addon's live objects once the collector and the finalizers it queued
// have run.
async function settledLiveCounts() {
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await new Promise((r) => setImmediate(r));
  }
  const { malloc, ...objects } = native.liveCounts();
  const left = Object.entries(objects).filter(([, v]) => v !== 0).map(([k, v]) => `${k} ${v}`);
  if (left.length > 0) error('node', `addon objects left after the reader closed: ${left.join(', ')}`);
  return { ...objects, malloc };
}

// V8's heap figures (KiB), and a heap snapshot with --heap-snapshots.
function heapState(label) {
  globalThis.gc();
  const h = v8.getHeapStatistics();
  const snapshot = opt['heap-snapshots'] ? v8.writeHeapSnapshot(path.join(opt['heap-snapshots'], `soak-${label}.heapsnapshot`)) : undefined;
  return {
    totalHeapKiB: Math.round(h.total_heap_size / 1024), usedHeapKiB: Math.round(h.used_heap_size / 1024),
    mallocedKiB: Math.round(h.malloced_memory / 1024), externalKiB: Math.round(h.external_memory / 1024),
    nativeContexts: h.number_of_native_contexts, detachedContexts: h.number_of_detached_contexts, snapshot,
  };
}

// ----------------------------------------------------------------- report
const BREAKDOWN = ['rssAnonKiB', 'rssFileKiB', 'rssShmemKiB', 'vmSizeKiB', 'heapUsedKiB', 'heapTotalKiB', 'externalKiB',
  'arrayBuffersKiB', 'mallocInUseKiB', 'mallocFreeKiB', 'shmMaps'];

function summary(series) {
  if (series.length === 0) return null;
  const pick = (k) => ({ first: series[0][k], last: series.at(-1)[k], max: Math.max(...series.map((s) => s[k])) });
  const breakdown = Object.fromEntries(BREAKDOWN.filter((k) => series[0][k] !== undefined).map((k) => [k, pick(k)]));
  return { samples: series.length, rssKiB: pick('rssKiB'), fds: pick('fds'), ringFds: pick('ringFds'), ...breakdown,
    flat: flatness(series, warmupMs) };
}

function report(heap, live) {
  const r = {
    ok: false,
    seed: opt.seed,
    minutes: Number(((Date.now() - t0) / 60000).toFixed(2)),
    node: { ...stats.node, process: summary(samples.node), heap: heap, live: live },
    gst: opt.gst ? { ...stats.gst, process: summary(samples.gst) } : null,
    errorCount: stats.errorCount,
    errors: stats.errors,
  };
  const flat = [r.node.process, r.gst?.process].filter(Boolean).every((p) => p.flat.ok);
  r.ok = stats.errorCount === 0 && flat;
  const mib = (k) => (k / 1024).toFixed(1);
  const lines = [`soak report (seed ${r.seed}, ${r.minutes} min): ${r.ok ? 'OK' : 'FAILED'}`];
  for (const [lane, s] of [['node', r.node], ['gst', r.gst]]) {
    if (!s) continue;
    lines.push(`  lane ${lane}: ${s.frames} frames, ${mib(s.bytes / 1024)} MiB, ${s.writers} writers (${s.killed} SIGKILLed` +
      `${lane === 'node' ? `, ${s.readerRestarts} reader restarts; ${JSON.stringify(s.byKind)}` : ''})`);
    const p = s.process;
    if (p)
      lines.push(`    ${lane === 'node' ? 'soak process (Node reader)' : 'gst-launch zerosrc'}: ${p.samples} samples; ` +
        `RSS first/last/max ${mib(p.rssKiB.first)}/${mib(p.rssKiB.last)}/${mib(p.rssKiB.max)} MiB; ` +
        `fds ${p.fds.first}/${p.fds.last}/${p.fds.max}; ring fds ${p.ringFds.first}/${p.ringFds.last}/${p.ringFds.max}; ` +
        (p.flat.checked ? `from ${p.flat.fromS} s on (${p.flat.samples} samples): trend ` +
          Object.keys(p.flat.growth).map((k) => `${{ rssKiB: 'RSS', heapUsedKiB: 'heap used', externalKiB: 'external', mallocInUseKiB: 'malloc in use' }[k]} ` +
            `${p.flat.growth[k] >= 0 ? '+' : ''}${mib(p.flat.growth[k])} MiB (at most +${mib(p.flat.bound[k])})`).join(', ') +
          `, RSS median ${mib(p.flat.rssMedianKiB)} MiB, fds ${p.flat.fdFirst} -> ${p.flat.fdLast}: ` +
          (p.flat.ok ? 'flat' : `NOT flat: ${p.flat.problems.join('; ')}`) : `flatness not checked: ${p.flat.reason}`));
    if (p?.heapUsedKiB) {
      const fl = (k) => `${mib(p[k].first)}/${mib(p[k].last)}/${mib(p[k].max)}`;
      lines.push(`      after GC, first/last/max MiB: RSS anon ${fl('rssAnonKiB')}, file ${fl('rssFileKiB')}, shmem ${fl('rssShmemKiB')}; ` +
        `V8 heap used ${fl('heapUsedKiB')} of ${fl('heapTotalKiB')}; external ${fl('externalKiB')} (ArrayBuffers ${fl('arrayBuffersKiB')}); ` +
        `malloc in use ${fl('mallocInUseKiB')}, free in its arenas ${fl('mallocFreeKiB')}`);
      lines.push(`      V8 heap start -> end: used ${mib(s.heap.start.usedHeapKiB)} -> ${mib(s.heap.end.usedHeapKiB)} MiB, ` +
        `total ${mib(s.heap.start.totalHeapKiB)} -> ${mib(s.heap.end.totalHeapKiB)} MiB, external ${mib(s.heap.start.externalKiB)} -> ` +
        `${mib(s.heap.end.externalKiB)} MiB; address space ${mib(p.vmSizeKiB.first)} -> ${mib(p.vmSizeKiB.last)} MiB`);
      const { malloc, ...objects } = s.live;
      lines.push(`      addon objects live after the run: ${Object.entries(objects).map(([k, v]) => `${k} ${v}`).join(', ')}; ` +
        `malloc in use ${mib((malloc.inUseBytes + malloc.mmapBytes) / 1024)} MiB, free in its arenas ${mib(malloc.freeBytes / 1024)} MiB`);
    }
  }
  lines.push(`  errors: ${r.errorCount}`);
  for (const e of r.errors.slice(0, 20)) lines.push(`    ${e}`);
  console.log(lines.join('\n'));
  if (opt.json) console.log(JSON.stringify(r));
  return r;
}

// ------------------------------------------------------------------- main
async function cleanup() {
  stopping = true;
  for (const c of children) if (c !== gstReader && alive(c)) c.proc.kill('SIGKILL');
  if (gstReader && alive(gstReader)) {
    gstReader.proc.kill('SIGINT'); // -e: EOS, the ring is closed and unlinked
    if ((await finish(gstReader, 5000)) !== 0) error('gst', `zerosrc did not stop cleanly on SIGINT (${gstReader.status})`);
  }
  await Promise.all([...children].map((c) => finish(c, 5000)));
  for (const lane of ['node', 'gst']) {
    try {
      removeStaleRing(`${opt.prefix}${lane}`);
      error(lane, 'the ring was left behind (removed now)');
    } catch {
      // ENOENT: nothing left, as it should be
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}

// A listener stays, so that the readers' exit handler (cleanup.ts) closes
// them without re-raising the signal: the run stops early and reports. A
// second signal ends it at once.
for (const sig of ['SIGINT', 'SIGTERM'])
  process.on(sig, () => {
    if (stopping) process.exit(1);
    error('soak', `${sig}: stopping early`);
    stopping = true;
  });

log(`soak: ${opt.minutes} min, seed ${opt.seed}, ${opt.fps || 'unlimited'} fps per lane, samples every ${sampleMs / 1000} s, judged from ${warmupMs / 1000} s on`);
const heap = { start: heapState('start') };
takeSamples();
const sampler = setInterval(() => {
  takeSamples();
  const n = samples.node.at(-1);
  if (samples.node.length % Math.max(1, Math.round(60000 / sampleMs)) === 0)
    log(`node ${stats.node.frames} frames, ${stats.node.writers} writers, RSS ${n.rssKiB} KiB (anon ${n.rssAnonKiB}, ` +
      `heap ${n.heapUsedKiB}/${n.heapTotalKiB}, external ${n.externalKiB}), ${n.fds} fds; ` +
      `gst ${stats.gst.frames} frames, ${stats.gst.writers} writers; ${stats.errors.length} errors`);
}, sampleMs);
try {
  await Promise.all([
    nodeLane().catch((e) => error('node', `lane stopped: ${e?.stack ?? e}`)),
    opt.gst ? gstLane().catch((e) => error('gst', `lane stopped: ${e?.stack ?? e}`)) : null,
  ]);
  takeSamples();
} finally {
  clearInterval(sampler);
  await cleanup();
}
const live = await settledLiveCounts();
heap.end = heapState('end');
if (samplesFile) fs.closeSync(samplesFile);
process.exitCode = report(heap, live).ok ? 0 : 1;

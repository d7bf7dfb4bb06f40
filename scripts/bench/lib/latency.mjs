// One-way latency, writer commit -> reader has the frame, on one
// CLOCK_MONOTONIC: the writer stamps commit_ns into the core's 48-byte frame
// header; the C reader (zb-bench pair) or the Node reader
// (peers/latency-reader.mjs) subtracts it from its own clock. Same writer,
// same frames, over the ring and over a Unix domain socket. Rings are the
// size readers pick by default for the frame (zb_default_payload_size), so
// a flat-out writer queues what it would in real use.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { lastJson, run } from './proc.mjs';
import { latencySummary } from './stats.mjs';

export const CASES = [
  { id: '1k', label: '1 KiB', size: 1024, rate: 1000 },
  { id: '64k', label: '64 KiB', size: 64 * 1024, rate: 1000 },
  { id: '1080p', label: '1080p RGB (6.2 MB)', size: 1920 * 1080 * 3, rate: 60 },
];
export const READERS = ['C', 'Node'];
export const TRANSPORTS = ['ring', 'uds'];
/** The first frames pay for start-up (JIT, first page faults): not latency. */
export const WARMUP = 10;

/**
 * Frames per run and round: steady runs at `rate`, flat-out runs as fast as possible. Flat out, 1 KiB
 * frames run 100,000 a run (a quarter second or more here; zb-bench prints the samples of at most that
 * many): 20,000 went by in 60 ms, most of it the JIT and the first page faults of either reader, and the
 * two readers' frames/s swung by 2× from run to run.
 */
export function framesFor(c, steady, quick) {
  if (steady) return c.rate >= 1000 ? (quick ? 150 : 2000) : (quick ? 25 : 240);
  if (quick) return c.size > 1 << 20 ? 30 : 2000;
  return c.size > 1 << 20 ? 300 : c.size <= 4096 ? 100000 : 20000;
}

/** Samples (ns) of one run, warm-up dropped, plus each side's CPU per frame. */
export async function measureRun(ctx, reader, transport, c, steady, quick) {
  const frames = framesFor(c, steady, quick);
  const rate = steady ? c.rate : 0;
  const { native } = await import(pathToFileURL(path.join(ctx.repo, 'dist', 'native.js')).href);
  const ringBytes = native.defaultPayloadSize(c.size);
  let out;
  if (reader === 'C') {
    const args = ['pair', transport, String(c.size), '--frames', String(frames), '--ring-bytes', String(ringBytes)];
    if (rate) args.push('--rate', String(rate));
    out = lastJson((await run(ctx.zbBench, args, { timeoutMs: ctx.timeoutMs })).stdout, 'zb-bench pair');
  } else {
    const cfg = { transport, size: c.size, frames, rate, ringBytes, zbBench: ctx.zbBench, repo: ctx.repo,
      timeoutMs: ctx.timeoutMs };
    const r = await run(process.execPath, [path.join(ctx.benchDir, 'peers', 'latency-reader.mjs'), JSON.stringify(cfg)],
      { timeoutMs: ctx.timeoutMs });
    out = lastJson(r.stdout, 'Node latency reader');
  }
  for (const side of ['writer', 'reader']) {
    if (out[side].error) throw new Error(`${reader} ${transport} ${c.id}: ${side}: ${out[side].error}`);
  }
  if (out.reader.frames !== frames || !out.samples) throw new Error(`${reader} ${transport} ${c.id}: ${out.reader.frames} frames of ${frames}`);
  return { samples: out.samples.slice(WARMUP), nativeSamples: (out.nativeSamples ?? []).slice(WARMUP),
    consCpu: out.reader.cpuPerFrame, fps: out.reader.fps };
}

/** Pools the rounds' samples into percentiles (µs). */
export function summarize(runs) {
  const all = runs.flatMap((r) => r.samples);
  const s = latencySummary(all);
  const nat = runs.flatMap((r) => r.nativeSamples);
  const n = nat.length ? latencySummary(nat) : null;
  const us = (x) => x / 1000;
  const fps = runs.map((r) => r.fps).filter(Number.isFinite).sort((a, b) => a - b);
  return { n: s.n, p50: us(s.p50), p99: us(s.p99), p999: us(s.p999), max: us(s.max),
    nativeP50: n ? us(n.p50) : NaN, nativeP99: n ? us(n.p99) : NaN, fps: fps.length ? fps[fps.length >> 1] : NaN };
}

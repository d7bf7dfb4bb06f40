// A Node process consuming a GStreamer producer's frames, the two ways a Node
// user can: "ring" (zerosink into the zerobuffer frame API) or "pipe"
// (fdsink fd=1 into the child's stdout, frames reassembled by size). It
// starts the producer itself, as a Node application would, touches every page
// of every frame, and prints one JSON line: its own window, CPU and peak RSS,
// and the producer's report.
//
//   node video-consumer.mjs '{"mode":"ring|pipe","frameSize":N,"frames":N,
//     "source":"videotestsrc ... ! caps","gstRun":PATH,"repo":PATH}'
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { readReport, start } from '../lib/proc.mjs';
import { cpuSeconds, nowNs, peakRssKb, touch } from '../lib/touch.mjs';

const cfg = JSON.parse(process.argv[2]);
const report = path.join(os.tmpdir(), `zbbench-prod-${process.pid}.json`);
const win = { frames: 0, firstNs: 0, lastNs: 0, cpuFirst: 0, sink: 0 };

/** Bookkeeping for one received frame (after it was touched). */
function got(bytes) {
  win.sink += touch(bytes);
  const t = nowNs();
  if (win.frames === 0) {
    win.firstNs = t;
    win.cpuFirst = cpuSeconds();
  }
  win.frames++;
  win.lastNs = t;
}

async function viaRing() {
  const { ZeroBufferReader, defaultSizes } = await import(pathToFileURL(path.join(cfg.repo, 'dist', 'index.js')).href);
  // The ring startStream and `zerobuffer run` would create for this source.
  const { metadataSize, payloadSize } = defaultSizes(cfg.source.split(' '));
  const reader = await ZeroBufferReader.create({ name: `zbbench-${randomUUID().slice(0, 8)}`, metadataSize, payloadSize });
  const producer = start(cfg.gstRun, ['--report', report,
    `${cfg.source} ! zerosink name=sink buffer-name=${reader.name} sync=false`], { timeoutMs: cfg.timeoutMs });
  try {
    for await (const frame of reader.frames({ timeoutMs: cfg.timeoutMs })) {
      if (frame.size !== cfg.frameSize) throw new Error(`frame ${frame.sequence}: ${frame.size} bytes`);
      got(frame.data);
    }
  } finally {
    await reader.close();
  }
  return producer;
}

async function viaPipe() {
  const producer = start(cfg.gstRun, ['--report', report,
    `${cfg.source} ! fdsink name=sink fd=1 sync=false`], { timeoutMs: cfg.timeoutMs, rawStdout: true });
  // What a Node user writes: collect 'data' chunks until a frame is complete.
  // One preallocated frame buffer (no Buffer.concat garbage): the kindest
  // version of this approach, so the comparison is fair to the pipe.
  const frame = Buffer.allocUnsafe(cfg.frameSize);
  let filled = 0;
  await new Promise((resolve, reject) => {
    producer.stdout.on('data', (chunk) => {
      let off = 0;
      while (off < chunk.length) {
        const n = Math.min(chunk.length - off, cfg.frameSize - filled);
        chunk.copy(frame, filled, off, off + n);
        filled += n;
        off += n;
        if (filled === cfg.frameSize) {
          got(frame);
          filled = 0;
        }
      }
    });
    producer.stdout.on('end', resolve);
    producer.stdout.on('error', reject);
  });
  return producer;
}

const producer = cfg.mode === 'ring' ? await viaRing() : await viaPipe();
const cpu = cpuSeconds() - win.cpuFirst;
const exit = await producer.done;
const prod = readReport(report, `producer (${cfg.mode}): exit ${exit.code} ${exit.stderr}`);
const secs = (win.lastNs - win.firstNs) / 1e9;
console.log(JSON.stringify({
  consumer: {
    frames: win.frames, seconds: secs, fps: secs > 0 ? (win.frames - 1) / secs : 0,
    cpuPerFrame: win.frames > 1 ? cpu / (win.frames - 1) : 0, hwmKb: peakRssKb(), error: '',
  },
  producer: prod,
}));

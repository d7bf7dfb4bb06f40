// The Node reader of the latency runs: receives frames from zb-bench's writer
// through the ring (the zerobuffer frame API) or a Unix domain socket, and
// measures commit -> "the JS loop has the frame" on CLOCK_MONOTONIC: the
// writer stamps commit_ns in the 48-byte frame header just before it commits
// (ring) or writes (socket); we read process.hrtime.bigint() when the frame
// reaches our code. For the ring we also keep the addon's own arrival time
// (taken where the addon takes the frame: on the event loop when it sleeps
// through io_uring, on its wait thread with ZEROBUFFER_NO_URING=1) to show
// what the way to JS costs.
//
//   node latency-reader.mjs '{"transport":"ring|uds","size":N,"frames":N,
//     "seconds":S,"rate":HZ,"ringBytes":N,"zbBench":PATH,"repo":PATH,"timeoutMs":MS}'
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { lastJson, start } from '../lib/proc.mjs';
import { cpuSeconds, nowNs, peakRssKb, touch } from '../lib/touch.mjs';

const cfg = JSON.parse(process.argv[2]);
const HDR = 48; // ZB_EXT_HEADER_SIZE; commit_ns is the u64 at offset 32
const js = [];
const native = [];
const win = { frames: 0, firstNs: 0, lastNs: 0, cpuFirst: 0, sink: 0 };

function writerArgs(target) {
  const args = ['write', cfg.transport, target, String(cfg.size)];
  if (cfg.frames) args.push('--frames', String(cfg.frames));
  else args.push('--seconds', String(cfg.seconds));
  if (cfg.rate) args.push('--rate', String(cfg.rate));
  return args;
}

/** One frame that reached JS: latency, content check, touch. */
function got(now, commitNs, bytes, seq) {
  js.push(now - commitNs);
  if (bytes[0] !== (seq & 0xff)) throw new Error(`frame ${seq}: wrong content ${bytes[0]}`);
  win.sink += touch(bytes);
  if (win.frames === 0) {
    win.firstNs = now;
    win.cpuFirst = cpuSeconds();
  }
  win.frames++;
  win.lastNs = now;
}

async function viaRing() {
  const { ZeroBufferReader } = await import(pathToFileURL(path.join(cfg.repo, 'dist', 'index.js')).href);
  const reader = await ZeroBufferReader.create({
    name: `zbbench-${randomUUID().slice(0, 8)}`, metadataSize: 4096, payloadSize: cfg.ringBytes, // as zb-bench pair
  });
  const writer = start(cfg.zbBench, writerArgs(reader.name), { timeoutMs: cfg.timeoutMs });
  try {
    for await (const frame of reader.frames({ timeoutMs: cfg.timeoutMs })) {
      const now = nowNs();
      if (frame.commitNs === undefined) throw new Error('no frame header: the metadata did not declare it');
      native.push(frame.latencyNs);
      got(now, frame.commitNs, frame.data, frame.sequence);
    }
  } finally {
    await reader.close();
  }
  return writer;
}

async function viaSocket() {
  const sock = path.join(os.tmpdir(), `zbbench-${process.pid}.sock`);
  fs.rmSync(sock, { force: true });
  const server = net.createServer();
  await new Promise((resolve) => server.listen(sock, resolve));
  const writer = start(cfg.zbBench, writerArgs(sock), { timeoutMs: cfg.timeoutMs });
  const frame = Buffer.allocUnsafe(HDR + cfg.size);
  let filled = 0;
  let seq = 0;
  await new Promise((resolve, reject) => {
    server.on('connection', (c) => {
      c.on('data', (chunk) => {
        let off = 0;
        while (off < chunk.length) {
          const n = Math.min(chunk.length - off, frame.length - filled);
          chunk.copy(frame, filled, off, off + n);
          filled += n;
          off += n;
          if (filled === frame.length) {
            const now = nowNs();
            got(now, Number(frame.readBigUInt64LE(32)), frame.subarray(HDR), ++seq);
            filled = 0;
          }
        }
      });
      c.on('end', resolve);
      c.on('error', reject);
    });
  });
  server.close();
  fs.rmSync(sock, { force: true });
  return writer;
}

const writer = cfg.transport === 'ring' ? await viaRing() : await viaSocket();
const cpu = cpuSeconds() - win.cpuFirst;
const exit = await writer.done;
if (exit.code !== 0) throw new Error(`zb-bench writer: exit ${exit.code}: ${exit.stderr}`);
const secs = (win.lastNs - win.firstNs) / 1e9;
console.log(JSON.stringify({
  transport: cfg.transport,
  size: cfg.size,
  reader: {
    frames: win.frames, seconds: secs, fps: secs > 0 ? (win.frames - 1) / secs : 0,
    cpuPerFrame: win.frames > 1 ? cpu / (win.frames - 1) : 0, hwmKb: peakRssKb(), error: '',
  },
  writer: lastJson(exit.stderr, 'zb-bench writer').writer,
  samples: js,
  nativeSamples: native,
}));

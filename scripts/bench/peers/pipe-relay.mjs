// The by-hand round trip of the duplex bench: a producer's frames come into
// this Node process through a pipe (fdsink fd=1), each is written back out,
// unchanged, into a consumer's stdin (fdsrc ! rawvideoparse ! fakesink):
// what a Node filter built from appsink and appsrc-like pipes does. Prints
// the consumer's gst-run report as one JSON line.
//
//   node pipe-relay.mjs '{"gstRun":PATH,"source":"...","consumer":"...","frameSize":N,"timeoutMs":N}'
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';

const cfg = JSON.parse(process.argv[2]);
const report = path.join(os.tmpdir(), `zbbench-relay-${process.pid}.json`);
const consumer = spawn(cfg.gstRun, ['--report', report, cfg.consumer], { stdio: ['pipe', 'ignore', 'inherit'] });
const producer = spawn('gst-launch-1.0', ['-q', ...cfg.source.split(' '), '!', 'fdsink', 'fd=1'], { stdio: ['ignore', 'pipe', 'inherit'] });
const timer = setTimeout(() => {
  producer.kill('SIGKILL');
  consumer.kill('SIGTERM');
}, cfg.timeoutMs);
// frame by frame, as a filter would hand each one on
let pending = [];
let size = 0;
producer.stdout.on('data', (chunk) => {
  pending.push(chunk);
  size += chunk.length;
  while (size >= cfg.frameSize) {
    const all = Buffer.concat(pending, size);
    const frame = all.subarray(0, cfg.frameSize);
    if (!consumer.stdin.write(frame)) producer.stdout.pause();
    const rest = all.subarray(cfg.frameSize);
    pending = rest.length ? [rest] : [];
    size = rest.length;
  }
});
consumer.stdin.on('drain', () => producer.stdout.resume());
producer.stdout.on('end', () => consumer.stdin.end());
const code = await new Promise((resolve) => consumer.on('close', resolve));
clearTimeout(timer);
console.log(JSON.stringify({ code, report: JSON.parse(fs.readFileSync(report, 'utf8')) }));
fs.rmSync(report, { force: true });

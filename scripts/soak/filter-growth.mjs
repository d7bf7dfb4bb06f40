#!/usr/bin/env node
// Growth check of the duplex channel: one gst-launch-1.0 videotestsrc !
// zerofilter ! fakesink against a ZeroBufferDuplexServer in this process
// (inverting every frame through reply.reserve) for --minutes, the RSS and
// open fds of both processes sampled every second and required flat after
// the warm-up (scripts/soak/lib.mjs flatness: RSS within 16 MiB or 20 %,
// fds within 6, ring fds not above). Then EOS: every frame answered, none
// passed or dropped, no handler error.
//
//   node scripts/soak/filter-growth.mjs [--minutes 10] [--fps 200] [--json]
//
// Exit status 0 when all holds, else 1. The report goes to stdout (with
// --json, one JSON line).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ZeroBufferDuplexServer } from '../../dist/index.js';
import { finish, flatness, sample, sleep, start } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const pluginDir = path.join(here, '..', '..', 'builddir', 'gst-plugin');

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
if (args.includes('--help')) {
  console.log('node scripts/soak/filter-growth.mjs [--minutes 10] [--fps 200] [--json]');
  process.exit(0);
}
const minutes = opt('minutes', 10);
const fps = opt('fps', 200);
const json = args.includes('--json');
const prefix = (() => {
  const i = args.indexOf('--prefix');
  return i >= 0 ? args[i + 1] : 'zb-growth-';
})();
const durationMs = minutes * 60000;
const warmupMs = Math.min(60000, Math.max(5000, durationMs * 0.2));

const channel = `${prefix}${process.pid}`;
const server = await ZeroBufferDuplexServer.create({ name: channel });
const errors = [];
server.on('handlerError', (e) => errors.push(e.message));
const serving = server.serve(async (frame, reply) => {
  const out = await reply.reserve(frame.data.length);
  for (let i = 0; i < out.length; i++) out[i] = 255 - frame.data[i];
}).catch((e) => errors.push(`serve: ${e.message}`));

const gst = start('gst-launch-1.0', ['-e', 'videotestsrc', 'is-live=true', 'pattern=ball', '!',
  `video/x-raw,format=RGB,width=320,height=240,framerate=${fps}/1`, '!', 'zerofilter', `channel=${channel}`, 'depth=2', '!',
  'fakesink'], { env: { GST_PLUGIN_PATH: pluginDir } });

const samples = { server: [], gst: [] };
const t0 = Date.now();
while (Date.now() - t0 < durationMs && gst.status === undefined) {
  await sleep(1000);
  const t = Date.now();
  samples.server.push({ t, ...sample(process.pid) });
  try {
    samples.gst.push({ t, ...sample(gst.proc.pid) });
  } catch {
    break; // exited
  }
}
const live = gst.status === undefined;
gst.proc.kill('SIGINT');
const status = await finish(gst, 10000);
await Promise.race([serving, sleep(3000)]);
const stats = server.stats();
await server.close();

const report = {
  minutes, fps, channel, gstStatus: status, stillRunningAtEnd: live, errors,
  responses: stats.responses, requests: stats.requests, handlerErrors: stats.errors,
  serviceP50Ms: stats.serviceP50Ms, serviceP99Ms: stats.serviceP99Ms,
  server: flatness(samples.server, warmupMs), gst: flatness(samples.gst, warmupMs),
};
report.ok = live && status === 0 && errors.length === 0 && stats.responses === stats.requests && stats.responses > 0 &&
  report.server.ok && report.gst.ok && report.server.checked && report.gst.checked;
if (json) console.log(JSON.stringify(report));
else console.log(JSON.stringify(report, null, 2));
process.exit(report.ok ? 0 : 1);

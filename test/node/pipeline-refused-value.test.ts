// A property value gst-launch refuses with GLib's warning only (out of the
// property's range: zerosink connect-timeout=-5, videotestsrc
// num-buffers=-5) and then runs without: the runner stops the run at once
// and fails it as rejected (EPIPELINE_REJECTED, permanent, never restarted),
// quoting the warning; `zerobuffer run --sink-property` exits 3 saying so,
// as for a value gst-launch cannot parse. Before, the pipeline ran with the
// property's default and nothing told it (exit 0). Only while the pipeline
// starts: gst-launch sets the description's values before it plays, and a
// warning a playing pipeline prints later ends nothing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PipelineRunner } from '../../src/runner/pipeline-runner.js';
import { OutputTail, refusedValue } from '../../src/runner/pipeline-output.js';
import { leftovers, repoRoot, ringName, run } from './helpers.js';

const bin = path.join(repoRoot, 'dist', 'cli', 'bin.js');
const pluginPath = path.join(repoRoot, 'builddir', 'gst-plugin');

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

test("GLib's warning for a value out of range is read as a refused value, with or without its prefix and time", () => {
  const warning = "value \"0\" of type 'guint' is invalid or out of range for property 'depth' of type 'guint'";
  for (const line of [`(gst-launch-1.0:4242): GLib-GObject-WARNING **: 12:13:14.567: ${warning}`, `GLib-GObject-WARNING **: ${warning}`]) {
    expect(refusedValue(line)).toEqual({ warning, value: '0', property: 'depth' });
    const tail = new OutputTail();
    tail.add('');
    tail.add(line);
    expect(tail.refused).toEqual({ warning, value: '0', property: 'depth' });
    expect(tail.errors).toBe(`WARNING: ${warning}`);
  }
  expect(refusedValue('WARNING: erroneous pipeline: could not set property "depth" in element "zerofilter0" to "banana"')).toBeUndefined();
});

test.each([
  ['a sink property', { source: 'videotestsrc num-buffers=30', sinkProperties: { 'connect-timeout': '-5' } }, '-5', 'connect-timeout'],
  ['a property in the source', { source: 'videotestsrc num-buffers=-5' }, '-5', 'num-buffers'],
])('%s out of range: the run is stopped at once and fails as rejected, not restarted', async (_label, options, value, property) => {
  const runner = new PipelineRunner({ name: ringName('refused'), pluginPath, restart: true, ...options });
  runner.start();
  const exit = await runner.done;
  expect(exit.restarts).toBe(0);
  expect(exit.error).toMatchObject({ code: 'EPIPELINE_REJECTED', rejected: true, permanent: true });
  expect(exit.error!.message).toMatch(new RegExp(`^gst-launch refused the value "${value}" of property '${property}' and would have run ` +
    "with its default instead, so zerobuffer killed it with SIGKILL \\(gst-inspect-1.0 <element> lists each property's range\\):\\n" +
    `WARNING: value "${value}" of type '\\w+' is invalid or out of range for property '${property}'`));
}, 30000);

test('zerobuffer run --sink-property with a value out of range: status 3, "gst-launch rejected the pipeline", the warning quoted', async () => {
  const cli = run(process.execPath, [bin, 'run', 'videotestsrc num-buffers=30 ! video/x-raw,format=GRAY8,width=64,height=48',
    '--name', ringName('refusedrun'), '--sink-property', 'connect-timeout=-5', '--json'], { GST_PLUGIN_PATH: pluginPath });
  expect(await cli.exit(30000)).toBe(3); // (before: 0)
  expect(cli.stderr).toMatch(/zerobuffer run: gst-launch rejected the pipeline for \S+: gst-launch refused the value "-5" of property 'connect-timeout'/);
}, 40000);

test('the same warning once the pipeline has played for over a second (an element\'s own setting) ends nothing: the run goes on and ends as it would', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-refused-'));
  const fake = path.join(dir, 'gst-launch-late-warning');
  fs.writeFileSync(fake, ['#!/bin/sh', 'echo "Setting pipeline to PAUSED ..."', 'echo "Setting pipeline to PLAYING ..."', 'sleep 1.5',
    "echo \"(gst-launch-1.0:1): GLib-GObject-WARNING **: value \\\"0\\\" of type 'guint' is invalid or out of range for property 'depth' of type 'guint'\" >&2",
    'sleep 0.5', 'echo "Got EOS from element \\"pipeline0\\"."', 'exit 0'].join('\n') + '\n', { mode: 0o755 });
  try {
    const runner = new PipelineRunner({ name: ringName('late-refused'), source: 'fakesrc', gstLaunch: fake });
    const lines: string[] = [];
    runner.on('output', (l: string) => lines.push(l));
    runner.start();
    const exit = await runner.done;
    expect(lines.some((l) => l.includes('GLib-GObject-WARNING'))).toBe(true);
    expect(exit.error).toBeUndefined();
    expect(exit).toMatchObject({ exitCode: 0 });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 30000);

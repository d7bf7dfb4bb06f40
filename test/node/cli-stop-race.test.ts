// A pipeline that failed right before the command's stop came (Ctrl-C just after the failure, gst-launch not yet
// exited): the failure is the run's own, told and with the status it has without the stop, not one during the stop
// (its EOS). Each race made certain by a gst-launch-1.0 first on the PATH that Ctrl-Cs its command once the real one
// failed, then outlives the stop by a second (ctrlCAfterFailureGstLaunchDir).
import { jest } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import { EXIT } from '../../src/cli/exit-codes.js';
import { ctrlCAfterFailureGstLaunchDir, killIfRunning, leftovers, repoRoot, ringName, run, type Child } from './helpers.js';

jest.setTimeout(60000);

const bin = path.join(repoRoot, 'dist', 'cli', 'bin.js');
const fixture = (file: string): string => path.join(repoRoot, 'test', 'node', 'fixtures', file);
// fails as it starts, before zerosink (or zerofilter) ever connects: the reader is still waiting at the Ctrl-C
const MISSING = '/nonexistent/zb-stop-race.raw';
const FAILING = `filesrc location=${MISSING}`;
const SAID = `gst-launch said:\ngst-launch exited with status 255:\nERROR: from element /GstPipeline:pipeline0/GstFileSrc:filesrc0: Resource not found.\n  No such file "${MISSING}"\n`;

let dir: string;
let child: Child | undefined;

beforeEach(() => {
  dir = ctrlCAfterFailureGstLaunchDir();
});

afterEach(() => {
  killIfRunning(child);
  child = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

/** The zerobuffer command with the wrapper first on the PATH. */
function cli(args: string[]): Child {
  return run(process.execPath, [bin, ...args], { PATH: `${dir}:${process.env['PATH']}` });
}

test('run whose pipeline failed before the Ctrl-C: its own failure ("failed before its stop came"), status 3, not one while it stopped', async () => {
  // (before: "failed while it stopped (its EOS)", as if the stop's EOS had failed it)
  const name = ringName('racerun');
  child = cli(['run', FAILING, '--name', name, '--no-json']);
  expect([await child.exit(30000), child.stderr]).toEqual([EXIT.pipeline, child.stderr]);
  expect(child.stderr).toContain(`zerobuffer run: pipeline into ${name} failed before its stop came (not restarted); ${SAID}`);
  expect(child.stderr).not.toContain('while it stopped');
});

test('filter whose pipeline failed before the Ctrl-C: its own failure ("failed before its stop came"), status 3, not one while it stopped', async () => {
  // (before: "failed while it stopped (its EOS)")
  const name = ringName('racefilter');
  child = cli(['filter', FAILING, '--script', fixture('invert-filter.mjs'), 'fakesink', '--name', name, '--no-json']);
  expect([await child.exit(30000), child.stderr]).toEqual([EXIT.pipeline, child.stderr]);
  expect(child.stderr).toContain(`zerobuffer filter: pipeline into ${name} failed before its stop came (not restarted); ${SAID}`);
  expect(child.stderr).not.toContain('while it stopped');
});

test('serve whose pipeline failed before the Ctrl-C: the pipeline\'s failure, status 3 (not a quiet stop)', async () => {
  // (before: "0 images served", status 0: a failure at the stop is none of serve's, and this one was taken for such)
  child = cli(['serve', 'img', path.join(dir, 'out.img'), '--pipeline', FAILING, '--name', ringName('raceserve')]);
  expect([await child.exit(30000), child.stderr]).toEqual([EXIT.pipeline, child.stderr]);
  expect(child.stderr).toContain(`zerobuffer serve: 0 images served\nzerobuffer serve: the pipeline failed. ${SAID.replace(/^gst-launch said:\n/, '')}`);
});

test('watch whose pipeline failed before the Ctrl-C: told as its own failure ("failed before its stop came"), status 3', async () => {
  // (before: "failed while it stopped (its EOS)")
  const name = ringName('racewatch');
  child = cli(['watch', '--pipeline', FAILING, '--', process.execPath, fixture('watch-reader.mjs'), name, '1', '10']);
  expect([await child.exit(30000), child.stderr]).toEqual([EXIT.pipeline, child.stderr]);
  expect(child.stderr).toContain(`zerobuffer watch: pipeline into ${name} failed before its stop came (not restarted); ${SAID}`);
  expect(child.stderr).not.toContain('while it stopped');
});

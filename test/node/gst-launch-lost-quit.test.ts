// gst-launch 1.22 loses the quit of an element's error posted before its
// main thread runs the main loop, and then waits for ever (helpers'
// LOST_QUIT_MS). Seen in CI on a loaded host: duplex-mode's zerofilter,
// denied at its first caps, printed its error and did not exit within 20 s.
// Here the main thread is made late into its loop (late-main-loop.c,
// preloaded), and zerofilter, with no server and connect-timeout=0, fails at
// its first caps: a child of run() still exits, with gst-launch's status 1,
// once the SIGINT ends the loop.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LOST_QUIT_MS, leftovers, repoRoot, ringName, run } from './helpers.js';

const gstEnv = { GST_PLUGIN_PATH: path.join(repoRoot, 'builddir', 'gst-plugin') };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-lost-quit-'));

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
  expect(leftovers()).toEqual([]);
});

test('gst-launch whose main loop starts after zerofilter\'s error at its first caps: it exits 1 with the error, not hangs', async () => {
  const late = path.join(tmp, 'late-main-loop.so');
  execFileSync('cc', ['-shared', '-fPIC', '-o', late, path.join(repoRoot, 'test', 'node', 'fixtures', 'late-main-loop.c'), '-ldl']);
  const channel = ringName('lostquit');
  const t0 = Date.now();
  const gst = run('gst-launch-1.0', ['-q', ...`videotestsrc num-buffers=5 ! video/x-raw,format=RGB,width=64,height=48 ! zerofilter channel=${channel} connect-timeout=0 ! fakesink`.split(' ')],
    { ...gstEnv, LD_PRELOAD: late, LATE_MAIN_LOOP_MS: '1000' });
  expect(await gst.exit(15000)).toBe(1);
  // it did not leave its loop by itself: the SIGINT did
  expect(Date.now() - t0).toBeGreaterThanOrEqual(LOST_QUIT_MS);
  expect(gst.stderr).toContain(`No duplex server on the channel: No reader created ring ${channel}_request within 0 ms`);
  expect(gst.stderr).toContain("ERROR: pipeline doesn't want to preroll.");
}, 30000);

// `zerobuffer filter` end to end (a Node script answering zerofilter in a
// real gst-launch-1.0; the answers checked byte for byte against a
// reference), and `zerobuffer watch` starting a filter pipeline for a C
// duplex server that announces its channel with a start-duplex line.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { leftovers, repoRoot, ringName, run } from './helpers.js';

const bin = path.join(repoRoot, 'dist', 'cli', 'bin.js');
const gstEnv = { GST_PLUGIN_PATH: path.join(repoRoot, 'builddir', 'gst-plugin') };
const duplexServerPath = path.join(repoRoot, 'builddir', 'test', 'zb-duplex-server');
const SRC = 'videotestsrc num-buffers=25 pattern=ball ! video/x-raw,format=RGB,width=160,height=120,framerate=30/1';

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

const sha = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex');

/** Runs `zerobuffer filter SRC --script <fixture> filesink` (+ extra); its JSON summary, after checking that every byte came back inverted. */
async function invertingFilter(fixture: string, extra: string[] = []): Promise<Record<string, unknown> & { inPlace: number; copied: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-clif-'));
  try {
    const input = path.join(dir, 'in.raw');
    const output = path.join(dir, 'out.raw');
    const ref = run('gst-launch-1.0', ['-q', ...SRC.split(' '), '!', 'filesink', `location=${input}`], gstEnv);
    expect(await ref.exit(20000)).toBe(0);
    const cli = run(process.execPath, [bin, 'filter', SRC, '--script', path.join(repoRoot, 'test', 'node', 'fixtures', fixture),
      `filesink location=${output}`, '--json', '--name', ringName('clif'), ...extra], gstEnv);
    expect(await cli.exit(40000)).toBe(0);
    const want = fs.readFileSync(input).map((v) => 255 - v);
    expect(want.length).toBe(25 * 160 * 120 * 3);
    expect(sha(fs.readFileSync(output))).toBe(sha(want));
    return JSON.parse(cli.stdout.find((l) => l.includes('"summary"'))!);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('zerobuffer filter: the script inverts every frame; JSON stats and a summary with zerofilter\'s counts', async () => {
  const summary = await invertingFilter('invert-filter.mjs');
  expect(summary).toMatchObject({ requests: 25, responses: 25, errors: 0, inPlace: 0, copied: 25, zerofilter: { responses: 25, 'frames-passed': 0 } });
  expect(summary['requestToResponseP50Ms']).toBeGreaterThan(0);
}, 90000);

test.each([[[]], [['--no-in-place']]])('zerobuffer filter %j: a script that draws on frame.data and returns the frame', async (extra) => {
  const summary = await invertingFilter('invert-in-place-filter.mjs', extra);
  expect(summary.inPlace + summary.copied).toBe(25);
  // in place only when zerofilter takes it (the inplace zerofilter), never with --no-in-place
  if (extra.length > 0) expect(summary.inPlace).toBe(0);
}, 90000);

test('zerobuffer filter sizes the request ring for the source\'s caps: 2560x1440 BGRx frames all answered in place, none copied out', async () => {
  // 3 of these frames are 44 MB: the fallback ring (3 × 1080p RGB) holds one, and the one fakesink keeps
  // would have to be copied out of it for every next request
  const src = 'videotestsrc num-buffers=6 pattern=ball ! video/x-raw,format=BGRx,width=2560,height=1440,framerate=30/1';
  const cli = run(process.execPath, [bin, 'filter', src, '--script', path.join(repoRoot, 'test', 'node', 'fixtures', 'echo-filter.mjs'),
    'fakesink', '--json', '--name', ringName('clif')], gstEnv);
  expect(await cli.exit(60000)).toBe(0);
  const summary = JSON.parse(cli.stdout.find((l) => l.includes('"summary"'))!);
  expect(summary).toMatchObject({ responses: 6, inPlace: 6, copied: 0, zerofilter: { responses: 6, 'responses-in-place': 6, 'in-place-copied': 0 } });
}, 90000);

test('zerobuffer filter: usage errors', async () => {
  const cli = run(process.execPath, [bin, 'filter', SRC, 'fakesink'], gstEnv);
  expect(await cli.exit(20000)).toBe(2);
  expect(cli.stderr).toMatch(/--script/);
  const bad = run(process.execPath, [bin, 'filter', SRC, '--script', '/nonexistent.mjs', 'fakesink'], gstEnv);
  expect(await bad.exit(20000)).toBe(2);
  expect(bad.stderr).toMatch(/cannot load/);
});

test('zerobuffer watch: a start-duplex line gets "<pipeline> ! zerofilter channel=NAME ! <filter-sink>"', async () => {
  const name = ringName('wdx');
  const cli = run(process.execPath, [bin, 'watch', '--pipeline', SRC, '--filter-sink', 'fakesink', '--',
    duplexServerPath, name, '--mode', 'invert', '--announce', '1'], gstEnv);
  expect(await cli.exit(40000)).toBe(0);
  expect(cli.stdout.join('\n')).toMatch(new RegExp(`^ready ${name}$`, 'm'));
  expect(cli.stdout.join('\n')).toMatch(/^served 25 fnv1a=/m);
  expect(cli.stdout.join('\n')).not.toMatch(/start-duplex/); // protocol lines are not passed through
  expect(cli.stderr).toContain(`zerobuffer watch: ring ${name}: 25 frames written, 0 restarts, last error: none`); // zerofilter's requests
}, 60000);

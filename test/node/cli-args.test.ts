// The CLI's argument table and parser, without spawning anything.
import fs from 'node:fs';
import path from 'node:path';
import { COMMANDS, DEMO_PIPELINE } from '../../src/cli/arguments.js';
import { EXIT } from '../../src/cli/exit-codes.js';
import { parseArgs } from '../../src/cli/parse-args.js';
import { parseDuration } from '../../src/cli/duration.js';
import { splitPipeline } from '../../src/runner/pipeline-tokens.js';
import { defaultSizes, duplexSizes } from '../../src/orchestrator/sizes.js';
import { repoRoot } from './helpers.js';

test('the table has the eight commands, each with help text and examples', () => {
  expect(Object.keys(COMMANDS).sort()).toEqual(['cleanup', 'filter', 'ingest', 'inspect', 'plugin-path', 'run', 'serve', 'watch']);
  for (const spec of Object.values(COMMANDS)) {
    expect(spec.describe.length).toBeGreaterThan(10);
    expect(spec.examples.length).toBeGreaterThan(0);
    for (const o of Object.values(spec.options)) expect(o.describe.length).toBeGreaterThan(5);
  }
  expect(new Set(Object.values(EXIT)).size).toBe(Object.values(EXIT).length);
});

test.each(['run', 'filter', 'watch', 'ingest', 'serve', 'inspect', 'cleanup', 'plugin-path'])('%s --help lists its options and the exit codes', async (cmd) => {
  const r = await parseArgs([cmd, '--help']);
  expect(r.kind).toBe('help');
  const text = r.kind === 'help' ? r.text : '';
  for (const o of Object.keys(COMMANDS[cmd as keyof typeof COMMANDS].options)) expect(text).toContain(`--${o}`);
  expect(text).toContain('Exit status:');
  expect(text).toContain(`${EXIT.pipeline}  pipeline failure`);
});

test('--version prints the package.json version, alone or after a command', async () => {
  const { version } = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  expect(version).toMatch(/^\d+\.\d+\.\d+/);
  expect(await parseArgs(['--version'])).toEqual({ kind: 'help', text: version });
  expect(await parseArgs(['run', '--version'])).toEqual({ kind: 'help', text: version });
});

test('run: words or one description, limits, sink properties', async () => {
  expect(await parseArgs(['run'])).toMatchObject({ kind: 'run', args: { pipeline: undefined, announce: false, intervalMs: 1000 } });
  expect(await parseArgs(['run', 'videotestsrc ! video/x-raw,width=8', '--frames', '5', '--duration', '1.5s', '--json', '--sink-property', 'policy=drop']))
    .toMatchObject({ kind: 'run', args: { pipeline: ['videotestsrc ! video/x-raw,width=8'], frames: 5, durationMs: 1500, json: true, sinkProperties: { policy: 'drop' } } });
  expect(await parseArgs(['run', 'videotestsrc', '!', 'fakesink'])).toMatchObject({ args: { pipeline: ['videotestsrc', '!', 'fakesink'] } });
  expect(await parseArgs(['run', '--camera-id', 'dock-3'])).toMatchObject({ args: { cameraId: 'dock-3' } });
  // a lone "-" is a value like any other (yargs reads it as '' unless it is mapped through)
  expect(await parseArgs(['run', '--camera-id', '-'])).toMatchObject({ args: { cameraId: '-' } });
  expect(await parseArgs(['ingest', 'img', '-', '--name', 'cam', '--camera-id', '-'])).toMatchObject({ args: { sourceText: '-', cameraId: '-' } });
});

test('--fast is zerosink sync=false, for run and watch', async () => {
  expect(await parseArgs(['run', '--fast', '--sink-property', 'policy=drop']))
    .toMatchObject({ kind: 'run', args: { sinkProperties: { policy: 'drop', sync: 'false' } } });
  expect(await parseArgs(['watch', '--fast', '--pipeline', 'videotestsrc', '--', 'node']))
    .toMatchObject({ kind: 'watch', args: { sinkProperties: { sync: 'false' } } });
  expect(await parseArgs(['run'])).toMatchObject({ kind: 'run', args: { sinkProperties: {} } });
  expect(await parseArgs(['plugin-path'])).toEqual({ kind: 'plugin-path' });
});

test('ingest and serve: endpoints, "-" for stdin / stdout, usage errors', async () => {
  expect(await parseArgs(['ingest', 'img', 'tcp:cam.local:9000', '--name', 'cam0'])).toMatchObject({ kind: 'ingest',
    args: { source: { kind: 'tcp', host: 'cam.local', port: 9000 }, name: 'cam0', format: 'GRAY16_BE', connectTimeoutMs: 10000 } });
  expect(await parseArgs(['ingest', 'img', '-', '--name', 'cam0', '--format', 'GRAY16_LE']))
    .toMatchObject({ args: { source: { kind: 'stdio' }, sourceText: '-', format: 'GRAY16_LE' } });
  expect(await parseArgs(['serve', 'img', 'tcp:9000', '--pipeline', 'zerosrc buffer-name=cam0']))
    .toMatchObject({ kind: 'serve', args: { target: { kind: 'tcp', port: 9000 }, pipeline: ['zerosrc buffer-name=cam0'] } });
  expect(await parseArgs(['serve', 'img', '-'])).toMatchObject({ args: { target: { kind: 'stdio' } } });
  expect(await parseArgs(['serve', 'img', 'out.img'])).toMatchObject({ args: { target: { kind: 'file', path: 'out.img' } } });
  expect(await parseArgs(['ingest', 'img', 'x.img'])).toMatchObject({ kind: 'usage', message: expect.stringContaining('--name RING') });
  expect(await parseArgs(['ingest', 'img', 'tcp:9000', '--name', 'a'])).toMatchObject({ kind: 'usage', message: expect.stringContaining('tcp:HOST:PORT') });
  expect(await parseArgs(['ingest', 'png', 'x', '--name', 'a'])).toMatchObject({ kind: 'usage' });
  expect(await parseArgs(['ingest', 'img', 'x', '--name', 'a', '--format', 'RGB'])).toMatchObject({ kind: 'usage' });
});

test('usage errors name what is wrong', async () => {
  const cases: [string[], RegExp][] = [
    [['run', '--frames', '0'], /--frames must be a positive integer/],
    [['run', '--frames', 'x'], /--frames/],
    [['run', '--duration', 'soon'], /--duration/],
    [['run', '--sink-property', 'nonsense'], /name=value/],
    [['run', '--sink-property', 'buffer-name=x'], /set by zerobuffer/],
    [['run', '--fast', '--sink-property', 'sync=true'], /--fast sets sync=false; it contradicts --sink-property sync=true/],
    [['plugin-path', 'extra'], /Unknown argument/],
    [['watch', '--', 'node'], /--pipeline/],
    [['watch', '--pipeline', 'videotestsrc'], /after "--"/],
    [['inspect'], /Not enough/],
    [['frobnicate'], /Unknown/],
    [[], /Name a command/],
    [['run', '--bogus'], /^Unknown option: --bogus$/],
    [['watch', '--pipeline', 'v', '--max-restarts', '-2', '--', 'x'], /--max-restarts must be an integer >= 0, or -1/],
    [['run', '--max-restarts', '1.5'], /--max-restarts must be an integer/],
    [['run', '--name', 'bad/x'], /--name: ring name "bad\/x" contains '\/'/],
    [['serve', 'img', '-', '--name', 'sem.sem-w-x'], /--name: ring name "sem.sem-w-x"/],
    [['ingest', 'img', 'in.img', '--name', 'bad/x'], /--name: ring name "bad\/x"/],
    [['filter', 'videotestsrc', 'fakesink', '--script', 'x.mjs', '--name', 'bad/x'], /--name: ring name "bad\/x"/],
    [['filter', 'videotestsrc', 'fakesink', '--script', 'x.mjs', '--name', 'a'.repeat(237)], /--name: .*response ring/],
    [['cleanup', 'ok-name', 'bad/x'], /cleanup: ring name "bad\/x"/],
    [['filter', 'videotestsrc', 'fakesink', '--script', 'x.mjs', '--output-caps', 'not caps at all'], /--output-caps: expected ','/],
  ];
  for (const [argv, re] of cases) {
    const r = await parseArgs(argv);
    expect(r.kind).toBe('usage');
    expect(r.kind === 'usage' && r.message).toMatch(re);
  }
});

test('every option that takes a value is a usage error without one, naming it', async () => {
  // a valid command line per command; the option under test goes at its end (before watch's "--")
  const valid: Record<string, [string[], string[]]> = {
    run: [['run'], []],
    filter: [['filter', 'videotestsrc', 'fakesink', '--script', 'x.mjs'], []],
    watch: [['watch', '--pipeline', 'videotestsrc'], ['--', 'node']],
    ingest: [['ingest', 'img', 'x.img', '--name', 'cam0'], []],
    serve: [['serve', 'img', 'out.img'], []],
    inspect: [['inspect', 'cam0'], []],
    cleanup: [['cleanup'], []],
    'plugin-path': [['plugin-path'], []],
  };
  let checked = 0;
  for (const [command, spec] of Object.entries(COMMANDS)) {
    const [head, tail] = valid[command]!;
    expect({ argv: [...head, ...tail], kind: (await parseArgs([...head, ...tail])).kind }).toEqual({ argv: [...head, ...tail], kind: command });
    for (const [option, os] of Object.entries(spec.options)) {
      if (os.type === 'boolean') continue;
      for (const given of [[`--${option}`], [`--${option}=`]]) {
        const argv = [...head, ...given, ...tail];
        const r = await parseArgs(argv);
        expect({ argv, r }).toEqual({ argv, r: expect.objectContaining({ kind: 'usage', message: `--${option} needs a value` }) });
        checked++;
      }
    }
  }
  expect(checked).toBeGreaterThan(30);
  // the review's cases: a following option is not a value
  for (const argv of [['run', '--frames', '--json'], ['run', '--payload-size', '--json'], ['run', '--duration', '--json'],
    ['run', 'videotestsrc', '--camera-id'], ['serve', 'img', 'out.img', '--frames'], ['run', '--interval', '--json']])
    expect(await parseArgs(argv)).toMatchObject({ kind: 'usage', message: expect.stringMatching(/^--[a-z-]+ needs a value$/) });
  // a negative number is a value
  expect(await parseArgs(['run', '--max-restarts', '-1'])).toMatchObject({ kind: 'run', args: { maxRestarts: Infinity } });
  expect(await parseArgs(['serve', 'img', '-', '--frames', '2'])).toMatchObject({ kind: 'serve', args: { target: { kind: 'stdio' }, frames: 2 } });
});

test('watch takes the command after "--" as strings', async () => {
  expect(await parseArgs(['watch', '--pipeline', 'videotestsrc', '--no-restart', '--', 'node', 'r.mjs', '0.50', '--flag']))
    .toEqual({ kind: 'watch', args: { pipeline: 'videotestsrc', filterSink: 'fakesink', command: ['node', 'r.mjs', '0.50', '--flag'], restart: false, maxRestarts: 10, pluginPath: undefined, sinkProperties: {} } });
});

test('--max-restarts: a count, -1 for no limit', async () => {
  const watch = await parseArgs(['watch', '--pipeline', 'v', '--max-restarts', '3', '--', 'x']);
  expect(watch.kind === 'watch' && watch.args.maxRestarts).toBe(3);
  const run = await parseArgs(['run', '--restart', '--max-restarts', '-1']);
  expect(run.kind === 'run' && run.args.maxRestarts).toBe(Infinity);
});

test('cleanup and inspect', async () => {
  expect(await parseArgs(['cleanup', 'a', 'b', '--dry-run'])).toEqual({ kind: 'cleanup', args: { names: ['a', 'b'], dryRun: true, json: false } });
  expect(await parseArgs(['inspect', 'cam0', '--json'])).toEqual({ kind: 'inspect', args: { name: 'cam0', json: true } });
});

test('durations, pipeline words and default sizes', () => {
  expect([parseDuration('10'), parseDuration('500ms'), parseDuration('2m'), parseDuration('0'), parseDuration('x')]).toEqual([10000, 500, 120000, undefined, undefined]);
  expect(splitPipeline(`videotestsrc ! textoverlay text="a b" font-desc='Sans 8' ! x\\ y`)).toEqual(['videotestsrc', '!', 'textoverlay', 'text=a b', 'font-desc=Sans 8', '!', 'x y']);
  expect(() => splitPipeline('a "b')).toThrow(TypeError);
  // 640×480 RGB: 4 frames (4 × 0.9 MB fit the cache), each with room for both headers
  expect(defaultSizes(splitPipeline(DEMO_PIPELINE))).toEqual({ metadataSize: 65536, payloadSize: 4 * (640 * 480 * 3 + 64), from: 'caps', frames: 4 });
  // 4K BGRx: 2 frames; unknown: 3 frames of 1080p RGB
  expect(defaultSizes(['videotestsrc', '!', 'video/x-raw,format=BGRx,width=3840,height=2160'])).toMatchObject({ payloadSize: 2 * (3840 * 2160 * 4 + 64), frames: 2 });
  expect(defaultSizes(['v4l2src']).payloadSize).toBe(3 * (1920 * 1080 * 3 + 64));
  // only elements that keep caps may follow the caps filter: a converter's or decoder's output is not known
  expect(defaultSizes(splitPipeline('videotestsrc ! video/x-raw,format=GRAY8,width=32,height=32 ! queue ! videorate')))
    .toMatchObject({ from: 'caps', frames: 64 });
  for (const tail of ['bayer2rgb', 'videoconvert', 'vp8dec', 'queue ! videoscale'])
    expect(defaultSizes(splitPipeline(`videotestsrc ! video/x-raw,format=GRAY8,width=32,height=32 ! ${tail}`)).from).toBe('default');
  // ...but when the caps' frames are larger than the fallback's, they are its floor (a converter in passthrough keeps them)
  const uhd = 'videotestsrc ! video/x-raw,format=RGB,width=3840,height=2160';
  expect(defaultSizes(splitPipeline(`${uhd} ! videoconvert`))).toMatchObject({ from: 'default', payloadSize: defaultSizes(splitPipeline(uhd)).payloadSize });
  expect(duplexSizes(splitPipeline(`${uhd} ! videoconvert`)).payloadSize).toBe(duplexSizes(splitPipeline(uhd)).payloadSize);
  expect(defaultSizes(['v4l2src']).from).toBe('default');
  // a duplex request ring: the frames in flight, at least zerofilter's depth (default 2) + 3
  expect(duplexSizes(splitPipeline(DEMO_PIPELINE))).toEqual({ metadataSize: 65536, payloadSize: 5 * (640 * 480 * 3 + 64), from: 'caps' });
  expect(duplexSizes(['videotestsrc', '!', 'video/x-raw,format=BGRx,width=3840,height=2160'], 4).payloadSize).toBe(7 * (3840 * 2160 * 4 + 64));
  expect(duplexSizes(['videotestsrc', '!', 'video/x-raw,format=GRAY8,width=32,height=32']).payloadSize).toBe(64 * (32 * 32 + 64));
  expect(duplexSizes(['v4l2src'])).toEqual(defaultSizes(['v4l2src']));
});

test('filter: source, sink, --script and zerofilter properties', async () => {
  expect(await parseArgs(['filter', 'videotestsrc', 'fakesink', '--script', 'x.mjs', '--sink-property', 'depth=4']))
    .toMatchObject({ kind: 'filter', args: { source: 'videotestsrc', sink: 'fakesink', script: 'x.mjs', onError: 'pass', inPlace: true, sinkProperties: { depth: '4' } } });
  expect(await parseArgs(['filter', 'a', 'b', '--script', 'x.mjs', '--no-in-place'])).toMatchObject({ kind: 'filter', args: { inPlace: false } });
  expect(await parseArgs(['filter', 'videotestsrc', 'fakesink'])).toMatchObject({ kind: 'usage', message: expect.stringMatching(/--script/) });
  expect(await parseArgs(['filter', 'a', 'b', '--script', 'x.mjs', '--on-error', 'maybe'])).toMatchObject({ kind: 'usage' });
  expect(await parseArgs(['filter', 'a', 'b', '--script', 'x.mjs', '--sink-property', 'channel=x'])).toMatchObject({ kind: 'usage' });
});

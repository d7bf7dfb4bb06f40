// The CLI's argument table and parser, without spawning anything.
import fs from 'node:fs';
import path from 'node:path';
import { COMMANDS, DEMO_PIPELINE } from '../../src/cli/arguments.js';
import { EXIT, EXIT_TEXTS } from '../../src/cli/exit-codes.js';
import { parseArgs } from '../../src/cli/parse-args.js';
import { parseDuration } from '../../src/cli/duration.js';
import { gstPropertyWord, gstValue, splitPipeline } from '../../src/runner/pipeline-tokens.js';
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
  // its own statuses only, one item each, continuation lines indented under the text
  const table = text.slice(text.indexOf('Exit status:')).split('\n').slice(1);
  const own = Object.keys(COMMANDS[cmd as keyof typeof COMMANDS].exitCodes).map(Number);
  expect(table.filter((l) => /^ {2}\d {2}\S/.test(l)).map((l) => Number(l.trim()[0]))).toEqual(own);
  for (const line of table) expect(line).toMatch(/^ {2}\d {2}\S| {5}\S/);
  expect(own).toEqual(expect.arrayContaining([EXIT.ok, EXIT.internal, EXIT.usage]));
  expect(own.includes(EXIT.pipeline)).toBe(!['ingest', 'inspect', 'cleanup', 'plugin-path'].includes(cmd));
  expect(own.includes(EXIT.command)).toBe(cmd === 'watch');
  expect(own.includes(EXIT.stream)).toBe(cmd === 'ingest' || cmd === 'serve');
});

test('every command that can end with status 4 tells it in its own words; filter --help says its --name default', async () => {
  for (const [cmd, spec] of Object.entries(COMMANDS)) {
    const own = (spec.exitCodes as Partial<Record<number, string>>)[EXIT.ring];
    if (own !== undefined) expect([cmd, own]).not.toEqual([cmd, EXIT_TEXTS[EXIT.ring]]);
  }
  const r = await parseArgs(['filter', '--help']);
  const text = (r.kind === 'help' ? r.text : '').replace(/\s+/g, ' ');
  expect(text).toContain("4 ring error (cannot create the channel's request ring: the name is taken, /dev/shm is full, ...)");
  // filter-command.ts: zb-filter- and the first 8 characters of a random UUID
  expect(text).toContain('Channel name (default: zb-filter-<8 hex digits>, the first 8 of a random UUID)');
});

test('--help names every exit status; watch --help shows its command after "--"', async () => {
  const r = await parseArgs(['--help']);
  const text = r.kind === 'help' ? r.text : '';
  for (const code of Object.values(EXIT)) expect(text).toMatch(new RegExp(`^ {2}${code} {2}\\S`, 'm'));
  const watch = await parseArgs(['watch', '--help']);
  expect(watch.kind === 'help' ? watch.text : '').toMatch(/^zerobuffer watch \[options\] -- <command> \[args\.\.\]\n\nRun a reader command/);
  // status 3 for a gst-launch SIGKILLed under --no-restart (cli-watch.test.ts), which the help did not say
  const watchText = (watch.kind === 'help' ? watch.text : '').replace(/\s+/g, ' ');
  expect(watchText).toContain('or with --no-restart it died while its reader waited: a transient error, or a gst-launch killed (also by SIGKILL) or crashed');
  expect(text.replace(/\s+/g, ' ')).toContain('it died without a restart while its reader waited (watch --no-restart: also a gst-launch SIGKILLed)');
});

test('--announce says both lines it prints (run, serve), and that serve takes it only with a target other than -', async () => {
  for (const command of ['run', 'serve']) {
    const r = await parseArgs([command, '--help']);
    const text = (r.kind === 'help' ? r.text : '').replace(/\s+/g, ' ');
    expect(text).toMatch(/--announce Print the start-stream line \("> \{jsonrpc\.\.\.\}"\) (to stdout )?once the ring exists( \([^)]*\))?, and the stop-stream line once it is gone/);
  }
  const serve = await parseArgs(['serve', '--help']);
  expect((serve.kind === 'help' ? serve.text : '').replace(/\s+/g, ' ')).toContain('(not with target -: stdout carries the img= stream)');
  // with tcp: and --pipeline it came only with the client, which the help did not say (cli-img checks when it comes)
  expect((serve.kind === 'help' ? serve.text : '').replace(/\s+/g, ' ')).toContain('once the ring exists (with tcp: and --pipeline, once the client is there and the pipeline starts');
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
    [['run', '--frames', '0'], /^--frames expects a whole number of 1 or more, got "0"$/],
    [['run', '--frames', 'x'], /^--frames expects a whole number of 1 or more, got "x"$/],
    [['run', '--duration', 'soon'], /^--duration expects a time above 0 such as 10s, 500ms, 2m or 1h \(a bare number is seconds\), got "soon"$/],
    [['run', '--sink-property', 'nonsense'], /name=value/],
    [['run', '--sink-property', 'buffer-name=x'], /set by zerobuffer/],
    [['watch', '--pipeline', 'videotestsrc', '--sink-property', 'buffer-name=x', '--', 'node'],
      /^--sink-property buffer-name is set by zerobuffer: the ring run creates \(name it with --name\) or the one watch is told of$/],
    [['run', '--fast', '--sink-property', 'sync=true'], /--fast sets sync=false; it contradicts --sink-property sync=true/],
    [['plugin-path', 'extra'], /Unknown argument/],
    [['watch', '--', 'node'], /--pipeline/],
    [['watch', '--pipeline', 'videotestsrc'], /after "--"/],
    [['inspect'], /^inspect needs <name>: zerobuffer inspect <name>$/],
    [['frobnicate'], /^Unknown argument: frobnicate$/],
    // before: the commands' help, status 0
    [['frobnicate', '--help'], /^Unknown argument: frobnicate$/],
    [[], /Name a command/],
    [['run', '--bogus'], /^Unknown option: --bogus$/],
    [['run', '-x'], /^Unknown option: -x$/],
    [['run', '--no-bogus-thing=1'], /^Unknown option: --no-bogus-thing$/],
    [['inspect', 'a', 'b'], /^Unknown argument: b$/],
    [['watch', '--pipeline', 'v', '--max-restarts', '-2', '--', 'x'], /^--max-restarts expects a whole number of 0 or more, or -1 for no limit, got "-2"$/],
    [['run', '--max-restarts', '1.5'], /^--max-restarts expects a whole number of 0 or more, or -1 for no limit, got "1.5"$/],
    [['run', '--name', 'bad/x'], /--name: ring name "bad\/x" contains '\/'/],
    [['serve', 'img', '-', '--name', 'sem.sem-w-x'], /--name: ring name "sem.sem-w-x"/],
    [['ingest', 'img', 'in.img', '--name', 'bad/x'], /--name: ring name "bad\/x"/],
    [['filter', 'videotestsrc', 'fakesink', '--script', 'x.mjs', '--name', 'bad/x'], /--name: ring name "bad\/x"/],
    [['filter', 'videotestsrc', 'fakesink', '--script', 'x.mjs', '--name', 'a'.repeat(237)], /^--name: channel name "a{64}\.\.\." is too long: at most 236 bytes, so that "NAME_response" fits a ring name$/],
    [['cleanup', 'ok-name', 'bad/x'], /cleanup: ring name "bad\/x"/],
    [['filter', 'videotestsrc', 'fakesink', '--script', 'x.mjs', '--output-caps', 'not caps at all'], /^--output-caps: it must be fixed caps .*: expected ','/],
    [['filter', 'videotestsrc', 'fakesink', '--script', 'x.mjs', '--output-caps', 'video/x-raw,format=GRAY8,width=[1,9],height=2'],
      /^--output-caps: it must be fixed caps .*: width is not fixed/],
    [['filter', 'videotestsrc', 'fakesink', '--script', 'x.mjs', '--output-caps', 'video/x-raw,format=GRAY8'],
      /^--output-caps: the raw caps "video\/x-raw,format=GRAY8" lack width, height, which GStreamer needs to describe their frames; zerofilter refuses them \(EMETADATA\)$/],
    [['filter', 'audiotestsrc', 'fakesink', '--script', 'x.mjs', '--output-caps', 'audio/x-raw,format=S16LE,rate=8000,channels=0,layout=interleaved'],
      /^--output-caps: the raw caps "audio\/x-raw,format=S16LE,rate=8000,channels=0,layout=interleaved" have channels=\(int\)0: raw audio has 1 channel or more; zerofilter refuses them \(EMETADATA\)$/],
  ];
  for (const [argv, re] of cases) {
    const r = await parseArgs(argv);
    expect(r.kind).toBe('usage');
    expect(r.kind === 'usage' && r.message).toMatch(re);
  }
});

// a valid command line per command; an option under test goes at its end (before watch's "--")
const VALID: Record<string, [string[], string[]]> = {
  run: [['run'], []],
  filter: [['filter', 'videotestsrc', 'fakesink', '--script', 'x.mjs'], []],
  watch: [['watch', '--pipeline', 'videotestsrc'], ['--', 'node']],
  ingest: [['ingest', 'img', 'x.img', '--name', 'cam0'], []],
  serve: [['serve', 'img', 'out.img'], []],
  inspect: [['inspect', 'cam0'], []],
  cleanup: [['cleanup'], []],
  'plugin-path': [['plugin-path'], []],
};

/** What each number option (and --duration) expects, by the kind of number. */
const EXPECTS: Record<string, string> = {
  frames: 'a whole number of 1 or more',
  'metadata-size': 'a size in bytes (a whole number of 1 or more)',
  'payload-size': 'a size in bytes (a whole number of 1 or more)',
  'max-restarts': 'a whole number of 0 or more, or -1 for no limit',
  'max-pipelines': 'a whole number of 1 or more',
  'connect-timeout': 'milliseconds (a whole number of 0 or more, or -1 for no limit)',
  interval: 'a number of seconds such as 2 or 0.5 (at least 0.05, at most 2147483)',
  duration: 'a time above 0 such as 10s, 500ms, 2m or 1h (a bare number is seconds)',
};

test('a number option given something else names the option and the value as typed (never NaN), for every command', async () => {
  let checked = 0;
  for (const [command, spec] of Object.entries(COMMANDS)) {
    const [head, tail] = VALID[command]!;
    for (const [option, os] of Object.entries(spec.options)) {
      if (os.type !== 'number' && option !== 'duration') continue;
      expect({ option, known: Object.hasOwn(EXPECTS, option) }).toEqual({ option, known: true });
      for (const given of ['abc', '', '1e3', '0x10', '12abc', 'NaN', 'Infinity']) {
        for (const words of [[`--${option}`, given], [`--${option}=${given}`]]) {
          if (words.length === 1 && given === '') continue; // "--frames=": needs a value (above)
          const argv = [...head, ...words, ...tail];
          const r = await parseArgs(argv);
          expect({ argv, r }).toEqual({
            argv, r: { kind: 'usage', message: `--${option} expects ${EXPECTS[option]}, got ${JSON.stringify(given)}`, help: `Run "zerobuffer ${command} --help" for the options.` },
          });
          checked++;
        }
      }
    }
  }
  expect(checked).toBeGreaterThan(100);
});

test('number options: the range of each kind, its edges, and its help still says [number]', async () => {
  const value = async (argv: string[], key: string): Promise<unknown> => {
    const r = await parseArgs(argv);
    if (r.kind === 'usage') return r.message;
    if (!('args' in r)) throw new Error(`${argv.join(' ')}: parsed as ${r.kind}, which has no options`);
    return Reflect.get(r.args, key); // the options of any command, by name
  };
  const refused = (option: string, given: string): string => `--${option} expects ${EXPECTS[option]}, got ${JSON.stringify(given)}`;
  // counts: 1 or more, whole
  for (const [cmd, head] of [['run', ['run']], ['serve', ['serve', 'img', '-']], ['filter', VALID['filter']![0]]] as const) {
    expect(await value([...head, '--frames', '1'], 'frames')).toBe(1);
    expect(await value([...head, '--frames', ' 007 '], 'frames')).toBe(7);
    for (const bad of ['0', '-3', '1.5', '5.0', '+5']) expect({ cmd, bad, r: await value([...head, '--frames', bad], 'frames') }).toEqual({ cmd, bad, r: refused('frames', bad) });
  }
  // sizes: bytes, no suffixes (none is read: "1k" is not 1000 nor 1024)
  for (const option of ['metadata-size', 'payload-size']) {
    const key = option === 'metadata-size' ? 'metadataSize' : 'payloadSize';
    expect(await value(['run', `--${option}`, '4096'], key)).toBe(4096);
    for (const bad of ['0', '-1', '2.5', '1k', '4MiB']) expect(await value(['run', `--${option}`, bad], key)).toBe(refused(option, bad));
  }
  expect(await value(['filter', 'a', 'b', '--script', 'x.mjs', '--payload-size', '-8'], 'payloadSize')).toBe(refused('payload-size', '-8'));
  // --max-restarts: 0 or more, -1 for no limit
  expect(await value(['run', '--restart', '--max-restarts', '0'], 'maxRestarts')).toBe(0);
  expect(await value(['run', '--restart', '--max-restarts', '-1'], 'maxRestarts')).toBe(Infinity);
  expect(await value(['run'], 'maxRestarts')).toBe(10);
  for (const bad of ['-2', '1.5', '-1.0', 'x']) expect(await value(['run', '--max-restarts', bad], 'maxRestarts')).toBe(refused('max-restarts', bad));
  // --connect-timeout: milliseconds, 0 or more, -1 for no limit (as ingestImg's connectTimeoutMs and zerosink's connect-timeout)
  const ingest = VALID['ingest']![0];
  expect(await value([...ingest, '--connect-timeout', '0'], 'connectTimeoutMs')).toBe(0);
  expect(await value([...ingest, '--connect-timeout', '-1'], 'connectTimeoutMs')).toBe(Infinity);
  expect(await value([...ingest, '--connect-timeout=-1'], 'connectTimeoutMs')).toBe(Infinity);
  expect(await value(ingest, 'connectTimeoutMs')).toBe(10000);
  for (const bad of ['-2', '-1.0', '1.5', '2s']) expect(await value([...ingest, '--connect-timeout', bad], 'connectTimeoutMs')).toBe(refused('connect-timeout', bad));
  // --interval: seconds from 0.05, fractions too; at most what a timer holds (a longer one would fire at once, every ms)
  expect(await value(['run', '--interval', '0.5'], 'intervalMs')).toBe(500);
  expect(await value(['run', '--interval', '0.05'], 'intervalMs')).toBe(50);
  expect(await value(['run', '--interval', '.25'], 'intervalMs')).toBe(250);
  expect(await value(['run', '--interval', '2147483'], 'intervalMs')).toBe(2147483000);
  expect(await value(['run'], 'intervalMs')).toBe(1000);
  // 0.0001 and 0.049: before, taken (0.0001 flooded stdout with 10000 stats lines a second)
  for (const bad of ['0', '-1', '0.0', '0.0001', '0.049', '2147484', 'fast'])
    for (const head of [['run'], VALID['filter']![0]]) expect(await value([...head, '--interval', bad], 'intervalMs')).toBe(refused('interval', bad));
  // --duration: the same bound
  expect(await value(['run', '--duration', '596h'], 'durationMs')).toBe(596 * 3600000);
  expect(await value(['run', '--duration', '597h'], 'durationMs')).toBe('--duration expects a time of at most 596h (about 24 days), got "597h"');
  expect(await value(['run', '--duration', '0'], 'durationMs')).toBe(refused('duration', '0'));
  // given twice: refused, both values shown
  expect(await value(['run', '--frames', '5', '--frames', '6'], 'frames')).toBe('--frames was given 2 times ("5", "6"): give it once');
  // the help is unchanged: number options are labelled [number]
  const help = await parseArgs(['run', '--help']);
  expect(help.kind === 'help' && help.text).toMatch(/--frames\s+Stop after N frames\s+\[number\]/);
  expect(help.kind === 'help' && help.text).toMatch(/--interval[^\n]*\[number\] \[default: 1\]/);
});

test('every option that takes a value is a usage error without one, naming it', async () => {
  const valid = VALID;
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
  expect(await parseArgs(['run', '--restart', '--max-restarts', '-1'])).toMatchObject({ kind: 'run', args: { maxRestarts: Infinity } });
  expect(await parseArgs(['serve', 'img', '-', '--frames', '2'])).toMatchObject({ kind: 'serve', args: { target: { kind: 'stdio' }, frames: 2 } });
});

test('watch takes the command after "--" as strings', async () => {
  expect(await parseArgs(['watch', '--pipeline', 'videotestsrc', '--no-restart', '--', 'node', 'r.mjs', '0.50', '--flag']))
    .toEqual({ kind: 'watch', args: { pipeline: 'videotestsrc', filterSink: 'fakesink', command: ['node', 'r.mjs', '0.50', '--flag'], restart: false, maxRestarts: 10, maxPipelines: 64, pluginPath: undefined, sinkProperties: {} } });
});

test('--max-restarts: a count, -1 for no limit', async () => {
  const watch = await parseArgs(['watch', '--pipeline', 'v', '--max-restarts', '3', '--', 'x']);
  expect(watch.kind === 'watch' && watch.args.maxRestarts).toBe(3);
  const run = await parseArgs(['run', '--restart', '--max-restarts', '-1']);
  expect(run.kind === 'run' && run.args.maxRestarts).toBe(Infinity);
  // at its default it is not given: no restarts, no error
  expect(await parseArgs(['run', '--frames', '1'])).toMatchObject({ kind: 'run', args: { restart: false, maxRestarts: 10 } });
  expect(await parseArgs(['watch', '--pipeline', 'v', '--no-restart', '--', 'x'])).toMatchObject({ kind: 'watch', args: { restart: false, maxRestarts: 10 } });
});

test('cleanup and inspect', async () => {
  expect(await parseArgs(['cleanup', 'a', 'b', '--dry-run'])).toEqual({ kind: 'cleanup', args: { names: ['a', 'b'], dryRun: true, json: false } });
  expect(await parseArgs(['inspect', 'cam0', '--json'])).toEqual({ kind: 'inspect', args: { name: 'cam0', json: true } });
  // a usage error named as cleanup's is (it was the core's 'option "name": ...', told by the command)
  expect(await parseArgs(['inspect', 'a/b', '--json'])).toMatchObject({ kind: 'usage', message: expect.stringMatching(/^inspect: ring name "a\/b" contains '\/'/) });
});

test('durations, pipeline words and default sizes', () => {
  expect([parseDuration('10'), parseDuration('500ms'), parseDuration('2m'), parseDuration('0'), parseDuration('x')]).toEqual([10000, 500, 120000, undefined, undefined]);
  expect(splitPipeline(`videotestsrc ! textoverlay text="a b" font-desc='Sans 8' ! x\\ y`)).toEqual(['videotestsrc', '!', 'textoverlay', 'text=a b', 'font-desc=Sans 8', '!', 'x y']);
  expect(() => splitPipeline('a "b')).toThrow(TypeError);
  // a ring name as one gst-launch property value: quoted unless plain
  expect(['cam0', 'a.b-c_d', 'nm cam:1', 'a"b c', 'x\\y', 'ü'].map(gstValue))
    .toEqual(['cam0', 'a.b-c_d', '"nm cam:1"', '"a\\"b c"', '"x\\\\y"', '"ü"']);
  // and in the commands the hints print: a shell word whose value gst-launch reads back whole
  expect(['cam0', "it's a b"].map((n) => gstPropertyWord('buffer-name', n))).toEqual(['buffer-name=cam0', `'buffer-name="it'\\''s a b"'`]);
  for (const name of ['nm cam:1', `a"b 'c' \\d`]) {
    const [word] = splitPipeline(gstPropertyWord('buffer-name', name)); // what a shell hands over
    expect(word).toBe(`buffer-name=${gstValue(name)}`);
  }
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
    .toMatchObject({ kind: 'filter', args: { source: 'videotestsrc', sink: 'fakesink', script: 'x.mjs', onError: undefined, inPlace: true, sinkProperties: { depth: '4' } } });
  // --on-error left out: the command picks it once it knows whether the answers have output caps
  expect(await parseArgs(['filter', 'a', 'b', '--script', 'x.mjs', '--on-error', 'pass'])).toMatchObject({ kind: 'filter', args: { onError: 'pass' } });
  expect(await parseArgs(['filter', 'a', 'b', '--script', 'x.mjs', '--no-in-place'])).toMatchObject({ kind: 'filter', args: { inPlace: false } });
  expect(await parseArgs(['filter', 'videotestsrc', 'fakesink'])).toMatchObject({ kind: 'usage', message: expect.stringMatching(/--script/) });
  expect(await parseArgs(['filter', 'a', 'b', '--script', 'x.mjs', '--on-error', 'maybe'])).toMatchObject({ kind: 'usage' });
  expect(await parseArgs(['filter', 'a', 'b', '--script', 'x.mjs', '--sink-property', 'channel=x'])).toMatchObject({ kind: 'usage' });
});

const HINT = (command: string): string => `Run "zerobuffer ${command} --help" for the options.`;

test('an option that takes one value, given twice (or more), is refused naming it and every value as typed, for every command', async () => {
  let checked = 0;
  for (const [command, spec] of Object.entries(COMMANDS)) {
    const [head, tail] = VALID[command]!;
    for (const [option, os] of Object.entries(spec.options) as [string, { type: string; repeatable?: boolean }][]) {
      if (os.type === 'boolean' || os.repeatable === true) continue;
      for (const [words, values] of [
        [[`--${option}`, 'a', `--${option}`, 'b'], '"a", "b"'],
        [[`--${option}=a`, `--${option}`, 'a'], '"a", "a"'],
        [[`--${option}`, '1', `--${option}=2`, `--${option}`, '-'], '"1", "2", "-"'],
      ] as const) {
        const argv = [...head, ...words, ...tail];
        // the valid line may give it already (filter --script, ingest --name, watch --pipeline): its value comes first
        const at = head.indexOf(`--${option}`);
        const all = (at < 0 ? values : `${JSON.stringify(head[at + 1])}, ${values}`);
        const n = all.split(', ').length;
        expect({ argv, r: await parseArgs(argv) }).toEqual({
          argv, r: { kind: 'usage', message: `--${option} was given ${n} times (${all}): give it once`, help: HINT(command) },
        });
        checked++;
      }
    }
  }
  expect(checked).toBeGreaterThan(60);
  // the review's cases: a ring name was refused as "a,b", a second --snapshot went on as a list, a second --pipeline was "watch needs --pipeline"
  expect(await parseArgs(['run', '--name', 'a', '--name', 'b'])).toMatchObject({ message: '--name was given 2 times ("a", "b"): give it once' });
  expect(await parseArgs(['run', '--snapshot', 'a.png', '--snapshot', 'b.png'])).toMatchObject({ message: '--snapshot was given 2 times ("a.png", "b.png"): give it once' });
  expect(await parseArgs(['watch', '--pipeline', 'a', '--pipeline', 'b', '--', 'x'])).toMatchObject({ message: '--pipeline was given 2 times ("a", "b"): give it once' });
});

test('--sink-property repeats, one name=value each time (the words after it are the pipeline, the source or the sink)', async () => {
  expect(await parseArgs(['run', '--sink-property', 'policy=drop', '--sink-property=frame-header=true']))
    .toMatchObject({ kind: 'run', args: { pipeline: undefined, sinkProperties: { policy: 'drop', 'frame-header': 'true' } } });
  expect(await parseArgs(['run', '--sink-property', 'policy=drop', 'videotestsrc', 'pattern=ball']))
    .toMatchObject({ kind: 'run', args: { pipeline: ['videotestsrc', 'pattern=ball'], sinkProperties: { policy: 'drop' } } });
  expect(await parseArgs(['filter', '--sink-property', 'depth=4', 'videotestsrc', 'fakesink', '--script', 'x.mjs', '--sink-property', 'policy=drop']))
    .toMatchObject({ kind: 'filter', args: { source: 'videotestsrc', sink: 'fakesink', sinkProperties: { depth: '4', policy: 'drop' } } });
  expect(await parseArgs(['serve', 'img', '--sink-property', 'policy=drop', 'out.img']))
    .toMatchObject({ kind: 'serve', args: { target: { kind: 'file', path: 'out.img' }, sinkProperties: { policy: 'drop' } } });
  expect(await parseArgs(['watch', '--pipeline', 'v', '--sink-property', 'a=1', '--sink-property', 'b=2', '--', 'node']))
    .toMatchObject({ kind: 'watch', args: { command: ['node'], sinkProperties: { a: '1', b: '2' } } });
  // the same name twice: the last one, as zerosink itself would take it
  expect(await parseArgs(['run', '--sink-property', 'policy=drop', '--sink-property', 'policy=block'])).toMatchObject({ args: { sinkProperties: { policy: 'block' } } });
});

test('a switch given twice is the last one; a switch given a value other than true or false is refused', async () => {
  let checked = 0;
  for (const [command, spec] of Object.entries(COMMANDS)) {
    const [head, tail] = VALID[command]!;
    for (const [option, os] of Object.entries(spec.options)) {
      if (os.type !== 'boolean') continue;
      const kinds = async (words: string[]): Promise<string> => (await parseArgs([...head, ...words, ...tail])).kind;
      for (const words of [[`--${option}`, `--${option}`], [`--no-${option}`, `--${option}`], [`--${option}=false`, `--${option}=true`], [`--${option}`, `--no-${option}`]])
        expect({ words, kind: await kinds(words) }).toEqual({ words, kind: command });
      for (const given of ['yes', '1', 'no', 'TRUE']) {
        const argv = [...head, `--${option}=${given}`, ...tail];
        expect({ argv, r: await parseArgs(argv) }).toEqual({
          argv, r: { kind: 'usage', message: `--${option} expects no value (or =true, =false), got ${JSON.stringify(given)}`, help: HINT(command) },
        });
      }
      checked++;
    }
  }
  expect(checked).toBeGreaterThan(10);
  // "--no-json=true": yargs said "Unknown arguments: --no-json, noJson"
  expect(await parseArgs(['run', '--no-json=true'])).toEqual({ kind: 'usage', message: '--no-json expects no value, got "true"', help: HINT('run') });
  expect(await parseArgs([...VALID['filter']![0], '--no-in-place=false'])).toEqual({ kind: 'usage', message: '--no-in-place expects no value, got "false"', help: HINT('filter') });
  expect(await parseArgs(['run', '--json', '--no-json'])).toMatchObject({ kind: 'run', args: { json: false } });
  expect(await parseArgs(['run', '--no-json', '--json'])).toMatchObject({ kind: 'run', args: { json: true } });
  expect(await parseArgs(['run', '--announce', '--announce'])).toMatchObject({ kind: 'run', args: { announce: true } });
  expect(await parseArgs(['filter', 'a', 'b', '--script', 'x.mjs', '--in-place', '--no-in-place'])).toMatchObject({ kind: 'filter', args: { inPlace: false } });
  expect(await parseArgs(['watch', '--pipeline', 'v', '--no-restart', '--restart', '--', 'x'])).toMatchObject({ kind: 'watch', args: { restart: true } });
});

test('a value of a few words, a property, the kind of stream: one line naming it, the value as typed and what it takes', async () => {
  const filter = VALID['filter']![0];
  const ingest = VALID['ingest']![0];
  for (const [argv, message] of [
    [[...filter, '--on-error', 'bogus'], '--on-error expects one of pass, stop, got "bogus"'],
    [[...filter, '--on-error=Stop'], '--on-error expects one of pass, stop, got "Stop"'],
    [[...filter, '--on-error', '-'], '--on-error expects one of pass, stop, got "-"'],
    [[...ingest, '--format', 'RGB'], '--format expects one of GRAY16_BE, GRAY16_LE, got "RGB"'],
    [[...ingest, '--format=gray16_le'], '--format expects one of GRAY16_BE, GRAY16_LE, got "gray16_le"'],
    [['run', '--sink-property', 'nonsense'], '--sink-property expects name=value, e.g. policy=drop, got "nonsense"'],
    [['watch', '--pipeline', 'v', '--sink-property', '=x', '--', 'node'], '--sink-property expects name=value, e.g. policy=drop, got "=x"'],
    [[...filter, '--sink-property', '4'], '--sink-property expects name=value, e.g. policy=drop, got "4"'],
    [['serve', 'img', '-', '--sink-property', 'a=1', '--sink-property', 'b'], '--sink-property expects name=value, e.g. policy=drop, got "b"'],
    [['ingest', 'png', 'x.img', '--name', 'cam0'], '<kind> expects img, got "png"'],
    [['ingest', 'IMG', '-', '--name', 'cam0'], '<kind> expects img, got "IMG"'],
    [['serve', 'jpeg', 'out.img'], '<kind> expects img, got "jpeg"'],
    [['serve', '-', 'out.img'], '<kind> expects img, got "-"'],
  ] as const) {
    expect({ argv, r: await parseArgs(argv) }).toEqual({ argv, r: { kind: 'usage', message, help: HINT(argv[0]) } });
  }
  expect(await parseArgs([...filter, '--on-error', 'stop'])).toMatchObject({ kind: 'filter', args: { onError: 'stop' } });
});

test('a positional given as an option, or missing: one line naming it and where it goes', async () => {
  for (const [argv, message] of [
    // yargs took these as the positional's key: the value was lost ("inspect cam0 --name x" inspected cam0) or counted as no positional
    [['inspect', 'cam0', '--name', 'other'], 'Unknown option: --name (<name> goes without dashes: zerobuffer inspect <name>)'],
    [['inspect', '--name', 'cam0'], 'Unknown option: --name (<name> goes without dashes: zerobuffer inspect <name>)'],
    [['ingest', 'img', 'x.img', '--kind', 'img', '--name', 'cam0'], 'Unknown option: --kind (<kind> goes without dashes: zerobuffer ingest <kind> <source>)'],
    [['ingest', 'img', 'x.img', '--source=y.img', '--name', 'cam0'], 'Unknown option: --source (<source> goes without dashes: zerobuffer ingest <kind> <source>)'],
    [['serve', 'img', 'out.img', '--target', 'tcp:9000'], 'Unknown option: --target (<target> goes without dashes: zerobuffer serve <kind> <target>)'],
    [['filter', 'a', 'b', '--script', 'x.mjs', '--sink', 'fakesink'], 'Unknown option: --sink (<sink> goes without dashes: zerobuffer filter <source> <sink>)'],
    [['run', 'videotestsrc', '--pipeline', 'v4l2src'], 'Unknown option: --pipeline ([pipeline..] goes without dashes: zerobuffer run [pipeline..])'],
    [['run', '--no-pipeline'], 'Unknown option: --no-pipeline ([pipeline..] goes without dashes: zerobuffer run [pipeline..])'],
    [['cleanup', 'a', '--names', 'b'], 'Unknown option: --names ([names..] goes without dashes: zerobuffer cleanup [names..])'],
    // missing: which, and the command line (yargs: "Not enough non-option arguments: got 1, need at least 2")
    [['inspect'], 'inspect needs <name>: zerobuffer inspect <name>'],
    [['filter', 'videotestsrc', '--script', 'x.mjs'], 'filter needs <sink>: zerobuffer filter <source> <sink>'],
    [['filter'], 'filter needs <source> and <sink>: zerobuffer filter <source> <sink>'],
    [['ingest', 'img', '--name', 'cam0'], 'ingest needs <source>: zerobuffer ingest <kind> <source>'],
    [['serve'], 'serve needs <kind> and <target>: zerobuffer serve <kind> <target>'],
  ] as const) {
    expect({ argv, r: await parseArgs(argv) }).toEqual({ argv, r: { kind: 'usage', message, help: HINT(argv[0]) } });
  }
  // watch's and serve's --pipeline are options; the reader command's own options are its own
  expect(await parseArgs(['serve', 'img', '-', '--pipeline', 'zerosrc buffer-name=cam0'])).toMatchObject({ kind: 'serve', args: { pipeline: ['zerosrc buffer-name=cam0'] } });
  expect(await parseArgs(['watch', '--pipeline', 'v', '--', 'node', 'r.mjs', '--name', 'x'])).toMatchObject({ kind: 'watch', args: { command: ['node', 'r.mjs', '--name', 'x'] } });
  // words after "--" are watch's command, and inspect's and cleanup's names (one may begin with "-");
  // other commands lost them ("run -- v4l2src" ran the demo)
  for (const [argv, usage] of [
    [['run', '--', 'v4l2src'], 'run [pipeline..]'],
    [['filter', 'a', '--', 'b'], 'filter <source> <sink>'], [['serve', 'img', '-', '--'], 'serve <kind> <target>'],
  ] as const)
    expect({ argv, r: await parseArgs(argv) }).toEqual({
      argv, r: { kind: 'usage', message: `${argv[0]} takes nothing after "--" (only watch, inspect and cleanup do): zerobuffer ${usage}`, help: HINT(argv[0]) },
    });
  expect(await parseArgs(['cleanup', '--dry-run', '--', '-a', '--json', '-'])).toEqual({ kind: 'cleanup', args: { names: ['-a', '--json', '-'], dryRun: true, json: false } });
  expect(await parseArgs(['inspect', '--json', '--', '-cam0'])).toEqual({ kind: 'inspect', args: { name: '-cam0', json: true } });
  expect(await parseArgs(['inspect', '-cam0'])).toMatchObject({ kind: 'usage', message: 'inspect needs <name>: zerobuffer inspect <name> (a ring name that begins with "-" goes after "--": zerobuffer inspect -- -cam0)' });
});

test.each([
  // yargs' dot notation made {x: 5} of these, told as "[object Object]"
  [['run', '--frames.x', '5'], 'Unknown option: --frames.x'],
  [['run', '--name.x', 'fz'], 'Unknown option: --name.x'],
  [['watch', '--pipeline.a', 'x', '--pipeline', 'videotestsrc', '--', 'true'], 'Unknown option: --pipeline.a'],
  // an empty word is told as "--camera-id=" is, not passed on to gst-launch (no element "camera-id")
  [['run', '--camera-id', ''], '--camera-id needs a value'],
  [['ingest', 'img', '-', '--name', 'a', '--camera-id', ''], '--camera-id needs a value'],
  [['run', '--sink-property', 'camera-id='], '--sink-property camera-id= needs a value (name=value, e.g. policy=drop)'],
  [['run', '--name', ''], '--name needs a value'],
  // a bracket that is not an IPv6 host's: a usage error, not getaddrinfo after the ring was made
  [['serve', 'img', 'tcp:[::1'], '"tcp:[::1" is not tcp:[HOST:]PORT (an IPv6 HOST in brackets: tcp:[::1]:9000)'],
  [['serve', 'img', 'tcp:[::1]x:9000'], '"tcp:[::1]x:9000" is not tcp:[HOST:]PORT (an IPv6 HOST in brackets: tcp:[::1]:9000)'],
  [['serve', 'img', 'tcp:[nohost]:9000'], '"tcp:[nohost]:9000" is not tcp:[HOST:]PORT (an IPv6 HOST in brackets: tcp:[::1]:9000)'],
  [['ingest', 'img', 'tcp:[::1:9000', '--name', 'a'], '"tcp:[::1:9000" is not tcp:HOST:PORT (an IPv6 HOST in brackets: tcp:[::1]:9000)'],
])('usage error: %j', async (argv, message) => {
  expect(await parseArgs(argv)).toMatchObject({ kind: 'usage', message });
});

test('an IPv6 host in brackets is the address without them', async () => {
  expect(await parseArgs(['serve', 'img', 'tcp:[::1]:9000'])).toMatchObject({ kind: 'serve', args: { target: { kind: 'tcp', host: '::1', port: 9000 } } });
  expect(await parseArgs(['ingest', 'img', 'tcp:[::1]:9000', '--name', 'a'])).toMatchObject({ kind: 'ingest', args: { source: { kind: 'tcp', host: '::1', port: 9000 } } });
});

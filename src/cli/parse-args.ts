// The argument table → a yargs parser → a plain result: help text, a usage
// error, or a command with checked values. Never exits, never prints. The
// help needs no addon, nor does a command line that names no ring or is
// wrong otherwise; the ring names it gives are checked by the core's rules,
// through it (EADDON when none loads), once the rest of it is.
import fs from 'node:fs';
import path from 'node:path';
import yargs, { type Argv } from 'yargs';
import { packageRoot } from '../runner/plugin-path.js';
import { COMMANDS, type CommandName, type CommandSpec, type OptionSpec } from './arguments.js';
import { parseDuration } from './duration.js';
import { parseEndpoint, type Endpoint } from './endpoint.js';
import { exitCodesHelp } from './exit-codes.js';
import { isStdout } from './io.js';
import { closest } from './nearest.js';
import { checkRawCapsFields } from '../caps-checks.js';
import { glibPropertyName, RING_PROPERTY } from '../runner/sink-properties.js';

export interface RunArgs {
  pipeline?: string[];
  frames?: number;
  durationMs?: number;
  json?: boolean;
  snapshot?: string;
  announce: boolean;
  hash: boolean;
  restart: boolean;
  /** Infinity: no limit. */
  maxRestarts: number;
  intervalMs: number;
  cameraId?: string;
  name?: string;
  metadataSize?: number;
  payloadSize?: number;
  /** --mode: the ring's permission bits. */
  mode?: number;
  pluginPath?: string;
  sinkProperties: Record<string, string>;
}

export interface FilterArgs {
  source: string;
  sink: string;
  script: string;
  outputCaps?: string;
  /** As given; left out: stop when the answers have output caps (the script's or --output-caps), else pass. */
  onError?: 'pass' | 'stop';
  /** Answers in place when zerofilter takes them (--no-in-place: false). */
  inPlace: boolean;
  frames?: number;
  json?: boolean;
  intervalMs: number;
  name?: string;
  payloadSize?: number;
  /** --mode: the request ring's permission bits. */
  mode?: number;
  pluginPath?: string;
  sinkProperties: Record<string, string>;
}

export interface WatchArgs {
  pipeline: string;
  /** What follows zerofilter for a start-duplex line. */
  filterSink: string;
  command: string[];
  restart: boolean;
  /** Infinity: no limit. */
  maxRestarts: number;
  maxPipelines: number;
  pluginPath?: string;
  sinkProperties: Record<string, string>;
}

export interface IngestArgs {
  source: Endpoint;
  sourceText: string;
  name: string;
  format: 'GRAY16_BE' | 'GRAY16_LE';
  cameraId?: string;
  /** ms; Infinity: no limit (--connect-timeout -1). */
  connectTimeoutMs: number;
}

export interface ServeArgs {
  target: Endpoint;
  pipeline?: string[];
  frames?: number;
  announce: boolean;
  name?: string;
  metadataSize?: number;
  payloadSize?: number;
  /** --mode: the ring's permission bits. */
  mode?: number;
  pluginPath?: string;
  sinkProperties: Record<string, string>;
}

export interface InspectArgs {
  name: string;
  json: boolean;
}

export interface CleanupArgs {
  names: string[];
  dryRun: boolean;
  json: boolean;
}

export type ParsedArgs =
  | { kind: 'help'; text: string }
  | { kind: 'usage'; message: string; help: string }
  | { kind: 'run'; args: RunArgs }
  | { kind: 'watch'; args: WatchArgs }
  | { kind: 'filter'; args: FilterArgs }
  | { kind: 'ingest'; args: IngestArgs }
  | { kind: 'serve'; args: ServeArgs }
  | { kind: 'inspect'; args: InspectArgs }
  | { kind: 'cleanup'; args: CleanupArgs }
  | { kind: 'plugin-path' };

class UsageError extends Error {}

/** The line after a usage error: where the command's options (or the commands) are told. */
export function helpLine(command: string | undefined): string {
  return command !== undefined ? `Run "zerobuffer ${command} --help" for the options.` : 'Run "zerobuffer --help" for the commands.';
}

/** This package's version, for --version. */
const VERSION = (JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;

/**
 * numbersAsText: number options reach us as typed (yargs would turn "abc"
 * into NaN, and the message could not show what was given); their help
 * still says [number] (the help comes from a parser without it).
 */
function addCommand(y: Argv, spec: CommandSpec, numbersAsText: boolean): Argv {
  return y.command(spec.command, spec.describe, (b: Argv) => {
    for (const [p, ps] of Object.entries(spec.positionals)) b.positional(p, { type: ps.type, array: ps.array, describe: ps.describe });
    // requiresArg: without it yargs reads "--frames --json" as no --frames at all (a number option
    // becomes undefined, a string ''), or as the default when the option has one
    for (const [o, os] of Object.entries(spec.options))
      b.option(o, {
        type: os.type === 'number' && numbersAsText ? 'string' : os.type, describe: os.describe, default: os.default, alias: os.alias,
        // a repeatable option takes one word each time (an array alone takes every word up to the next option: the pipeline too)
        array: os.repeatable, nargs: os.repeatable === true ? 1 : undefined, requiresArg: os.type !== 'boolean',
      });
    for (const [cmd, text] of spec.examples) b.example(cmd, text);
    if (spec.usage !== undefined) b.usage(`${spec.usage}\n\n${spec.describe}`);
    return b.epilog([spec.notes, exitCodesHelp(helpWidth(), spec.exitCodes)].filter(Boolean).join('\n\n'));
  });
}

/** The width --help wraps to (the exit status tables are wrapped to it beforehand). */
const helpWidth = (): number => Math.min(100, process.stdout.columns || 100);

function parser(numbersAsText: boolean): Argv {
  let y = yargs()
    .scriptName('zerobuffer')
    .usage('$0 <command> [options]\n\nMoves video frames between processes through shared memory (ZeroBuffer v1.0 rings).')
    // 'dot-notation': false: "--frames.x 5" is an unknown option, not {x: 5} (no option has a dot in its name)
    .parserConfiguration({ 'populate--': true, 'parse-positional-numbers': false, 'dot-notation': false })
    .demandCommand(1, 'Name a command: run, filter, watch, ingest, serve, inspect, cleanup or plugin-path')
    .strict()
    .help()
    .alias('h', 'help')
    .version(VERSION)
    .alias('version', ['v', 'V'])
    .wrap(helpWidth())
    .exitProcess(false)
    .updateStrings({ 'Not enough arguments following: %s': '--%s needs a value' })
    .epilog(exitCodesHelp(helpWidth()));
  for (const spec of Object.values(COMMANDS)) y = addCommand(y, spec, numbersAsText);
  return y;
}

/** A ring's name as given (channel: a duplex channel's, for NAME_request and NAME_response); what: how a usage error names it. */
interface GivenName {
  name: string;
  channel: boolean;
  what: string;
}

/** A ring's name, noted in names for checkRingNames. */
function ringName(names: GivenName[], v: unknown, { channel = false, what = '--name' } = {}): string | undefined {
  if (v === undefined) return undefined;
  names.push({ name: String(v), channel, what });
  return String(v);
}

/**
 * The names by the core's rules (options.ts, duplex.ts). Their modules load
 * the addon: imported only now, so that a command line that gives no name,
 * or is wrong otherwise, needs none.
 */
async function checkRingNames(names: readonly GivenName[]): Promise<void> {
  for (const { name, channel, what } of names) {
    const check = channel ? (await import('../duplex.js')).duplexRingNames : (await import('../options.js')).validateName;
    try {
      check(name);
    } catch (e) {
      throw new UsageError(`${what}: ${(e as Error).message.replace(/^option "name": /, '')}`);
    }
  }
}

/**
 * --output-caps: caps zerofilter takes (fixed; raw ones with the fields of a
 * frame), told now rather than when the pipeline runs; the filter command
 * checks the sizes too, with the addon this parsing must not load.
 */
function capsOption(option: string, v: unknown): string | undefined {
  if (v === undefined) return undefined;
  try {
    checkRawCapsFields(String(v), `--${option}`, 'zerofilter refuses them (EMETADATA)');
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return String(v);
}

/**
 * --plugin-path: added to gst-launch's plugin path (after the user's), so
 * a directory (or a ':' list of them), each one there, told now rather than
 * by gst-launch's 'no element "zerosink"'. One without the plugin file is
 * taken: GStreamer looks in its subdirectories too (builddir), and one on
 * the user's path or in GStreamer's own directories still counts.
 */
function pluginPath(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  const dirs = String(v).split(path.delimiter).filter((d) => d !== '');
  if (dirs.length === 0) throw expects('plugin-path', 'a directory', v);
  for (const dir of dirs) {
    let problem: string | undefined;
    try {
      if (!fs.statSync(dir).isDirectory()) problem = 'is not a directory';
    } catch (e) {
      problem = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read: ${(e as Error).message}`;
    }
    if (problem !== undefined) {
      throw new UsageError(`--plugin-path: ${JSON.stringify(dir)} ${problem} (give the directory holding libgstzerobuffer.so; zerobuffer plugin-path prints this package's)`);
    }
  }
  return String(v);
}

/** A number option's value as typed (its default comes as a number); given once (givenOnce). */
type Typed = string | number | undefined;

/** option: "--frames", or a positional as "<kind>". */
function expects(option: string, what: string, text: unknown): UsageError {
  return new UsageError(`${option.startsWith('<') ? option : `--${option}`} expects ${what}, got ${JSON.stringify(String(text))}`);
}

/** A value that must be one of a few words (--on-error, --format, the kind of stream). */
function oneOf<T extends string>(option: string, v: unknown, choices: readonly T[]): T {
  if (!(choices as readonly unknown[]).includes(v)) throw expects(option, choices.length === 1 ? choices[0]! : `one of ${choices.join(', ')}`, v);
  return v as T;
}

/**
 * An option that takes one value, given more than once ("--name a --name b",
 * "--frames 5 --frames 6"): refused, both values shown, rather than one of
 * them picked or all of them joined ("a,b"). Repeatable options (--sink-property)
 * are lists; a switch given twice (--json --no-json) is the last one's.
 */
function givenOnce(spec: CommandSpec, a: Raw): void {
  for (const [option, os] of Object.entries(spec.options as Record<string, OptionSpec>)) {
    const v = a[option];
    if (os.type !== 'boolean' && os.repeatable !== true && Array.isArray(v))
      throw new UsageError(`--${option} was given ${v.length} times (${v.map((x) => JSON.stringify(String(x))).join(', ')}): give it once`);
  }
}

/** A whole number of at least min, digits only (no 1e3, 0x10, 5.0); what: how the message names it. */
function wholeNumber(option: string, v: unknown, min: number, what: string): number | undefined {
  const t = v as Typed;
  if (t === undefined || typeof t === 'number') return t;
  const n = /^\s*-?[0-9]+\s*$/.test(t) ? Number(t) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw expects(option, what, t);
  return n;
}

/** --frames: a count of frames (or answers, images). */
function count(option: string, v: unknown): number | undefined {
  return wholeNumber(option, v, 1, 'a whole number of 1 or more');
}

/** --metadata-size, --payload-size: bytes. */
function bytes(option: string, v: unknown): number | undefined {
  return wholeNumber(option, v, 1, 'a size in bytes (a whole number of 1 or more)');
}

/**
 * --mode: permission bits in octal, with or without the leading 0, as chmod
 * takes them (0660, 660); rwx bits only, as a reader's mode. That the owner
 * keeps read and write is the core's rule: it refuses the ring (EINVAL),
 * which the commands tell as a usage error (modeRefused).
 */
function mode(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const t = String(v);
  const n = /^[0-7]{1,4}$/.test(t) ? parseInt(t, 8) : NaN;
  if (!(n >= 1 && n <= 0o777))
    throw expects('mode', 'permission bits in octal as chmod takes them, from 0001 to 0777 (such as 0660 or 660)', t);
  return n;
}

/**
 * The core's refusal of a --mode given (EINVAL: one that does not let the
 * owner read and write), as a usage error's message; undefined for any
 * other failure (the sizes and the name are refused otherwise).
 */
export function modeRefused(e: unknown, given: number | undefined): string | undefined {
  if (given === undefined || (e as { code?: unknown } | undefined)?.code !== 'EINVAL') return undefined;
  return `--mode ${given.toString(8).padStart(4, '0')}: ${(e as Error).message}`;
}

function maxRestarts(v: unknown): number {
  const n = wholeNumber('max-restarts', v, -1, 'a whole number of 0 or more, or -1 for no limit')!;
  return n === -1 ? Infinity : n;
}

/**
 * --max-restarts, refused when given (given: on the command line, not its
 * default) to a command that restarts nothing (restarting false; why: the
 * message's end), rather than ignored.
 */
function restartBudget(a: Raw, given: boolean, restarting: boolean, why: string): number {
  const budget = maxRestarts(a['max-restarts']);
  if (given && !restarting) throw new UsageError(`--max-restarts ${String(a['max-restarts'])}: ${why}`);
  return budget;
}

/** The longest timer Node keeps (ms); a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The shortest --interval (s): 20 stats lines a second; a shorter one floods stdout (0.0001: 10000 lines a second) and shows no more. */
const MIN_INTERVAL_S = 0.05;

/** --interval: seconds, fractions too. */
function seconds(option: string, v: unknown): number {
  const what = `a number of seconds such as 2 or 0.5 (at least ${MIN_INTERVAL_S}, at most ${Math.floor(MAX_TIMER_MS / 1000)})`;
  const t = v as Exclude<Typed, undefined>;
  if (typeof t === 'number') return t;
  const n = /^\s*([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*$/.test(t) ? Number(t) : NaN;
  if (!(n >= MIN_INTERVAL_S && n * 1000 <= MAX_TIMER_MS)) throw expects(option, what, t);
  return n;
}

/** --duration: 10s, 500ms, 2m, 1h or bare seconds, in ms. */
function duration(v: unknown): number | undefined {
  const t = v as Typed;
  if (t === undefined) return undefined;
  const ms = parseDuration(String(t));
  if (ms === undefined) throw expects('duration', 'a time above 0 such as 10s, 500ms, 2m or 1h (a bare number is seconds)', t);
  if (ms > MAX_TIMER_MS) throw expects('duration', `a time of at most ${Math.floor(MAX_TIMER_MS / 3600000)}h (about 24 days)`, t);
  return ms;
}

/** --sink-property name=value (repeatable), and --fast as sync=false. */
function sinkProperties(a: Raw): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of ((a['sink-property'] as unknown[] | undefined) ?? []).filter((i) => i !== undefined)) {
    const m = /^([A-Za-z][\w-]*)=(.*)$/s.exec(String(item));
    if (m === null) throw expects('sink-property', 'name=value, e.g. policy=drop', item);
    // gst-launch would take "name=" with the next word as its value, or fail (no element "name")
    if (m[2] === '') throw new UsageError(`--sink-property ${m[1]}= needs a value (name=value, e.g. policy=drop)`);
    // as GLib reads it (buffer_name is buffer-name), so that none of zerobuffer's own gets past the checks below
    const property = glibPropertyName(m[1]!);
    if (property === RING_PROPERTY) {
      const spelled = property === m[1] ? '' : ` (GStreamer reads it as ${RING_PROPERTY})`;
      throw new UsageError(`--sink-property ${m[1]}${spelled} is set by zerobuffer: the ring run creates (name it with --name) or the one watch is told of`);
    }
    out[property] = m[2]!;
  }
  if (a['fast'] === true) {
    if (out['sync'] !== undefined) throw new UsageError(`--fast sets sync=false; it contradicts --sink-property sync=${out['sync']}`);
    out['sync'] = 'false';
  }
  return out;
}

type Raw = Record<string, unknown> & { _: (string | number)[] };

function endpoint(text: string, listen: boolean): Endpoint {
  try {
    return parseEndpoint(text, listen);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/**
 * The options typed on the command line (words before "--"), by name:
 * "--max-restarts 3", "--max-restarts=3" and yargs' "--maxRestarts" alike;
 * not those at their defaults.
 */
function typedOptions(words: readonly string[]): Set<string> {
  const kebab = (w: string): string => w.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  return new Set(words.flatMap((w) => /^--([^=]+)/.exec(w)?.[1] ?? []).map(kebab));
}

/**
 * The command with its values checked; the ring names it gives go to given,
 * unchecked. typed: the options typed (typedOptions).
 */
function toCommand(command: CommandName, a: Raw, given: GivenName[], typed: Set<string>): ParsedArgs {
  switch (command) {
    case 'run': {
      const durationMs = duration(a['duration']);
      const interval = seconds('interval', a['interval']);
      const pipeline = (a['pipeline'] as unknown[] | undefined)?.map(String);
      return {
        kind: 'run',
        args: {
          pipeline: pipeline !== undefined && pipeline.length > 0 ? pipeline : undefined,
          frames: count('frames', a['frames']),
          durationMs,
          json: a['json'] as boolean | undefined,
          snapshot: a['snapshot'] as string | undefined,
          announce: a['announce'] === true,
          hash: a['hash'] === true,
          restart: a['restart'] === true,
          maxRestarts: restartBudget(a, typed.has('max-restarts'), a['restart'] === true, 'run restarts nothing without --restart'),
          intervalMs: interval * 1000,
          cameraId: a['camera-id'] as string | undefined,
          name: ringName(given, a['name']),
          metadataSize: bytes('metadata-size', a['metadata-size']),
          payloadSize: bytes('payload-size', a['payload-size']),
          mode: mode(a['mode']),
          pluginPath: pluginPath(a['plugin-path']),
          sinkProperties: sinkProperties(a),
        },
      };
    }
    case 'filter': {
      if (typeof a['script'] !== 'string' || a['script'] === '') throw new UsageError('filter needs --script ./handler.mjs');
      const onError = a['on-error'] === undefined ? undefined : oneOf('on-error', a['on-error'], ['pass', 'stop']);
      const interval = seconds('interval', a['interval']);
      const properties = sinkProperties(a);
      if (properties['channel'] !== undefined) throw new UsageError('--sink-property channel is set by zerobuffer (use --name)');
      return {
        kind: 'filter',
        args: {
          source: String(a['source']), sink: String(a['sink']), script: a['script'], outputCaps: capsOption('output-caps', a['output-caps']),
          onError, inPlace: a['in-place'] !== false, frames: count('frames', a['frames']), json: a['json'] as boolean | undefined, intervalMs: interval * 1000,
          name: ringName(given, a['name'], { channel: true }), payloadSize: bytes('payload-size', a['payload-size']), mode: mode(a['mode']),
          pluginPath: pluginPath(a['plugin-path']), sinkProperties: properties,
        },
      };
    }
    case 'watch': {
      const rest = ((a['--'] as unknown[] | undefined) ?? []).map(String);
      if (typeof a['pipeline'] !== 'string' || a['pipeline'].trim() === '')
        throw new UsageError('watch needs --pipeline "<source pipeline>"');
      if (rest.length === 0) throw new UsageError('watch needs the reader command after "--", e.g. -- node reader.mjs');
      return {
        kind: 'watch',
        args: {
          pipeline: a['pipeline'], filterSink: typeof a['filter-sink'] === 'string' ? a['filter-sink'] : 'fakesink', command: rest, restart: a['restart'] !== false,
          maxRestarts: restartBudget(a, typed.has('max-restarts'), a['restart'] !== false, 'it contradicts --no-restart'),
          maxPipelines: count('max-pipelines', a['max-pipelines'])!,
          pluginPath: pluginPath(a['plugin-path']), sinkProperties: sinkProperties(a),
        },
      };
    }
    case 'ingest': {
      oneOf('<kind>', a['kind'], ['img']);
      if (typeof a['name'] !== 'string' || a['name'] === '') throw new UsageError('ingest needs --name RING (the ring its reader created)');
      const format = oneOf('format', a['format'], ['GRAY16_BE', 'GRAY16_LE']);
      const timeout = wholeNumber('connect-timeout', a['connect-timeout'], -1, 'milliseconds (a whole number of 0 or more, or -1 for no limit)')!;
      return {
        kind: 'ingest',
        args: {
          source: endpoint(String(a['source']), false), sourceText: String(a['source']), name: ringName(given, a['name'])!, format,
          cameraId: a['camera-id'] as string | undefined, connectTimeoutMs: timeout === -1 ? Infinity : timeout,
        },
      };
    }
    case 'serve': {
      oneOf('<kind>', a['kind'], ['img']);
      const pipeline = a['pipeline'];
      const named = endpoint(String(a['target']), true);
      // a path to the file fd 1 has open (/dev/stdout, where stdout was redirected) is stdout: opening it would truncate it
      const target: Endpoint = named.kind === 'file' && isStdout(named.path) ? { kind: 'stdio' } : named;
      // the protocol lines would go into the img= stream, which no reader of either could then parse
      if (a['announce'] === true && target.kind === 'stdio')
        throw new UsageError(named.kind === 'stdio'
          ? '--announce prints to stdout, which serve img - sends the img= stream to: give a tcp: or file target, or leave --announce out'
          : `--announce prints to stdout, and ${String(a['target'])} is where stdout goes: give serve img another file or a tcp: target, or leave --announce out`);
      return {
        kind: 'serve',
        args: {
          target,
          pipeline: typeof pipeline === 'string' && pipeline.trim() !== '' ? [pipeline] : undefined,
          frames: count('frames', a['frames']),
          announce: a['announce'] === true,
          name: ringName(given, a['name']),
          metadataSize: bytes('metadata-size', a['metadata-size']),
          payloadSize: bytes('payload-size', a['payload-size']),
          mode: mode(a['mode']),
          pluginPath: pluginPath(a['plugin-path']),
          sinkProperties: sinkProperties(a),
        },
      };
    }
    case 'inspect':
      return { kind: 'inspect', args: { name: ringName(given, a['name'], { what: 'inspect' })!, json: a['json'] === true } };
    case 'cleanup':
      return {
        kind: 'cleanup',
        args: { names: ((a['names'] as unknown[] | undefined) ?? []).map((n) => ringName(given, n, { what: 'cleanup' })!), dryRun: a['dry-run'] === true, json: a['json'] === true },
      };
    case 'plugin-path':
      return { kind: 'plugin-path' };
  }
}

// yargs reads a lone "-" (stdin / stdout for ingest and serve, or any
// option's value) as an empty string, and a word after "--" that begins
// with "-" as an option: a word to be taken as it is goes through with this
// in front, and is itself again in what yargs returns.
const LITERAL = '\u0000';
const unliteral = (v: unknown): unknown => (typeof v === 'string' && v.startsWith(LITERAL) ? v.slice(1) : Array.isArray(v) ? v.map(unliteral) : v);

/** The commands whose names may follow "--" (the usual way to give one that begins with "-"). */
const NAMES_AFTER_END: readonly string[] = ['inspect', 'cleanup'];

/** Parses argv (without node and the script). */
export async function parseArgs(argv: readonly string[]): Promise<ParsedArgs> {
  let end = argv.indexOf('--');
  // options: the words that may be options (before "--")
  const options = end < 0 ? argv : argv.slice(0, end);
  let words = argv.map((w, i) => (w === '-' && (end < 0 || i < end) ? LITERAL + w : w));
  if (end >= 0 && NAMES_AFTER_END.includes(options.find((w) => !w.startsWith('-')) ?? '')) {
    words = [...words.slice(0, end), ...argv.slice(end + 1).map((w) => LITERAL + w)];
    end = -1;
  }
  const parse = (numbersAsText: boolean): Promise<[Error | undefined, Raw, string]> =>
    new Promise((resolve) => parser(numbersAsText).parse(words, {}, (err: Error | undefined, raw: unknown, output: string) => resolve([err, raw as Raw, output])));
  const [err, raw, output] = await parse(true);
  const a = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, unliteral(v)])) as Raw;
  if (err) {
    const command = a._[0] !== undefined && Object.hasOwn(COMMANDS, String(a._[0])) ? String(a._[0]) as CommandName : undefined;
    const first = a._[0];
    if (command === undefined && first !== undefined) return unknownCommand(String(first));
    let message = withDashes(err.message.replaceAll(LITERAL, ''), argv);
    if (command !== undefined) {
      message = withSuggestions(message, COMMANDS[command]);
      if (command === 'watch' && end < 0) message += watchCommandHint(message);
      // "inspect --name cam0": the positional given as an option is what is wrong, not the missing positional;
      // "--no-json=true": the value, not an unknown option
      try {
        positionalWords(command, options, end);
        optionWords(COMMANDS[command], options);
      } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        message = e.message;
      }
      message = missingPositionals(message, command) + dashNameHint(command, options);
    }
    return {
      kind: 'usage', message,
      help: helpLine(command),
    };
  }
  // "snapshot --help": yargs prints the commands' help, for a word that is no command, as without --help
  const first = a._[0];
  if (first !== undefined && !Object.hasOwn(COMMANDS, String(first))) return unknownCommand(String(first));
  // again, for the help text: number options labelled [number]
  if (a['help'] === true || output) return { kind: 'help', text: (await parse(false))[2] };
  const command = String(a._[0]) as CommandName;
  try {
    positionalWords(command, options, end);
    optionWords(COMMANDS[command], options);
    givenOnce(COMMANDS[command], a);
    const names: GivenName[] = [];
    const parsed = toCommand(command, a, names, typedOptions(options));
    emptyValues(COMMANDS[command], a); // after toCommand: an option it checks (--duration) says what it expects
    await checkRingNames(names);
    return parsed;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    return { kind: 'usage', message: e.message, help: helpLine(command) };
  }
}

/**
 * What yargs lets through in "--option=value" words: "--frames=" or
 * "--camera-id=" (yargs reads the empty value as 0 or '', which some options
 * would take as given), and a switch given a value other than true or false
 * ("--json=yes": yargs reads it as false).
 */
function optionWords(spec: CommandSpec, words: readonly string[]): void {
  const options: Record<string, OptionSpec> = spec.options;
  for (const word of words) {
    const m = /^--([^=]+)=(.*)$/s.exec(word);
    if (m === null) continue;
    const [, option, value] = m as unknown as [string, string, string];
    const negated = /^no-(.+)$/.exec(option)?.[1];
    if (negated !== undefined && !Object.hasOwn(options, option) && options[negated]?.type === 'boolean') throw expects(option, 'no value', value);
    if (!Object.hasOwn(options, option)) continue;
    if (options[option]!.type !== 'boolean') {
      if (value === '') throw new UsageError(`--${option} needs a value`);
    } else if (value !== 'true' && value !== 'false') throw expects(option, 'no value (or =true, =false)', value);
  }
}

/**
 * A text option given an empty word ("--camera-id ''"): told as "--camera-id="
 * is (optionWords), rather than passed on (to gst-launch, where it fails).
 */
function emptyValues(spec: CommandSpec, a: Raw): void {
  const options: Record<string, OptionSpec> = spec.options;
  for (const [option, os] of Object.entries(options)) {
    if (os.type !== 'string') continue;
    const v = a[option];
    if (v === '' || (Array.isArray(v) && v.includes(''))) throw new UsageError(`--${option} needs a value`);
  }
}

/**
 * A positional given as an option ("inspect cam0 --name x", "ingest --kind img",
 * "run a --pipeline b"): yargs takes it as the positional's key, where it was
 * lost, or counted as no positional at all. Words after "--" (end >= 0) are
 * watch's command; any other command lost them ("cleanup -- a" was every ring)
 * but inspect and cleanup, whose names they are (parseArgs: end is then -1).
 */
function positionalWords(command: CommandName, options: readonly string[], end: number): void {
  const spec: CommandSpec = COMMANDS[command];
  if (end >= 0 && command !== 'watch')
    throw new UsageError(`${command} takes nothing after "--" (only watch, inspect and cleanup do): zerobuffer ${spec.command}`);
  for (const word of options) {
    const m = /^--((?:no-)?([^=]+))/.exec(word);
    if (m !== null && Object.hasOwn(spec.positionals, m[2]!) && !Object.hasOwn(spec.options, m[2]!))
      throw new UsageError(`Unknown option: --${m[1]} (${positionalText(spec, m[2]!)} goes without dashes: zerobuffer ${spec.command})`);
  }
}

/**
 * A word that is no option of inspect or cleanup (options: the words before
 * "--") may be a ring name that begins with "-": how to give one.
 */
function dashNameHint(command: CommandName, options: readonly string[]): string {
  if (!NAMES_AFTER_END.includes(command)) return '';
  const known = [...Object.keys(COMMANDS[command].options), ...Object.keys(COMMANDS[command].positionals), 'help', 'version'];
  const word = options.find((w) => /^-./.test(w) && !known.includes(w.replace(/^--?(no-)?|=.*$/gs, '')));
  return word === undefined ? '' : ` (a ring name that begins with "-" goes after "--": zerobuffer ${command} -- ${word})`;
}

/** How the command line names a positional: <kind>, [pipeline..]. */
function positionalText(spec: CommandSpec, name: string): string {
  return spec.command.split(' ').find((w) => w.replace(/^[<[]|(\.\.)?[>\]]$/g, '') === name) ?? name;
}

/** yargs' "Not enough non-option arguments: got 1, need at least 2" → "filter needs <sink>: zerobuffer filter <source> <sink>". */
function missingPositionals(message: string, command: CommandName): string {
  const m = /^Not enough non-option arguments: got (\d+), need at least (\d+)$/.exec(message);
  if (m === null) return message;
  const spec: CommandSpec = COMMANDS[command];
  const missing = Object.keys(spec.positionals).slice(Number(m[1]), Number(m[2])).map((p) => positionalText(spec, p));
  return `${command} needs ${missing.join(' and ')}: zerobuffer ${spec.command}`;
}

/** yargs names an unknown option without its dashes ("Unknown argument: bogus"): put them back where it was one. */
function withDashes(message: string, argv: readonly string[]): string {
  const m = /^Unknown arguments?: (.*)$/.exec(message);
  if (m === null) return message;
  const named = m[1]!.split(', ');
  // it names a word with dashes inside twice, the second time camelCased ("--no-json=x": "no-json, noJson")
  const camel = (w: string): string => w.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
  const words = named.filter((w) => !named.some((v) => v !== w && camel(v) === w)).map((w) =>
    argv.some((a) => a === `--${w}` || a.startsWith(`--${w}=`)) ? `--${w}`
    // "--no-bogus": yargs names it "bogus"
    : argv.some((a) => a === `--no-${w}` || a.startsWith(`--no-${w}=`)) ? `--no-${w}`
    : w.length === 1 && argv.some((a) => /^-[^-]/.test(a) && a.includes(w)) ? `-${w}` : w);
  return `Unknown ${words.every((w) => w.startsWith('-')) ? 'option' : 'argument'}${words.length > 1 ? 's' : ''}: ${words.join(', ')}`;
}

/** A first word that is no command ("runn", "inspekt x"): the words after it do not matter yet. */
function unknownCommand(word: string): ParsedArgs {
  const near = closest(word, Object.keys(COMMANDS));
  return { kind: 'usage', message: `Unknown argument: ${word}${near === undefined ? '' : ` (did you mean ${near}?)`}`, help: helpLine(undefined) };
}

/** "Unknown option: --frame" → "Unknown option: --frame (did you mean --frames?)", each word by the command's options. */
function withSuggestions(message: string, spec: CommandSpec): string {
  const m = /^(Unknown (?:option|argument)s?: )(.*)$/.exec(message);
  if (m === null) return message;
  const options: Record<string, OptionSpec> = spec.options;
  const names = [...Object.keys(options), 'help', 'version',
    ...Object.entries(options).filter(([, os]) => os.type === 'boolean').map(([o]) => `no-${o}`)];
  return m[1]! + m[2]!.split(', ').map((w) => {
    // not "--frames.x": no option has a dot in its name (parseArgs), and no slip makes one
    const near = w.startsWith('--') && !w.includes('.') ? closest(w.slice(2), names) : undefined;
    return near === undefined ? w : `${w} (did you mean --${near}?)`;
  }).join(', ');
}

/** watch's command given without "--" before it: yargs names its words as unknown arguments. */
function watchCommandHint(message: string): string {
  const words = /^Unknown arguments?: (.*)$/.exec(message)?.[1]?.split(', ').filter((w) => !w.startsWith('-'));
  return words === undefined || words.length === 0 ? '' : ` (the command goes after "--": zerobuffer watch --pipeline "..." -- ${words.join(' ')})`;
}


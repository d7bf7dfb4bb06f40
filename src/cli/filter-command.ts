// `zerobuffer filter "<source>" --script ./x.mjs "<sink>"`: a duplex server
// here answering with the script's default export, and
// `gst-launch-1.0 <source> ! zerofilter channel=NAME ! <sink>` supervised,
// with live stats.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { types } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  duplexRingNames, DuplexHandlerError, ZeroBufferDuplexServer, type DuplexClientGone, type DuplexHandler, type DuplexServerStats,
} from '../duplex.js';
import { checkFrameCaps } from '../frame-attributes.js';
import { PipelineError, RingError, ZeroBufferError } from '../errors.js';
import { duplexSizes, type RingSizes } from '../orchestrator/sizes.js';
import { removeStaleRing } from '../rings.js';
import { killAllGroups } from '../runner/child-guard.js';
import { killedAfterEosText, PipelineRunner, type PipelineStateEvent } from '../runner/pipeline-runner.js';
import { shellCommand } from '../runner/pipeline-tokens.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import { LiveLine, say, type CliIo } from './io.js';
import { modeRefused, type FilterArgs } from './parse-args.js';
import { failureText, sinkNotLinkedHint, stopOf, warningJson, warningText } from './pipeline-failure.js';
import { defaultSizeNote } from './ring-size-note.js';

interface Script {
  handler: DuplexHandler;
  outputCaps?: string;
}

async function loadScript(file: string): Promise<Script> {
  const mod = (await import(pathToFileURL(path.resolve(file)).href)) as { default?: unknown; outputCaps?: unknown };
  if (typeof mod.default !== 'function')
    throw new TypeError(`${file} must export a default function (frame, reply) => bytes | frame | void`);
  if (mod.outputCaps !== undefined && typeof mod.outputCaps !== 'string')
    throw new TypeError(`${file}: its outputCaps export must be a caps string`);
  if (mod.outputCaps !== undefined) checkFrameCaps(mod.outputCaps, `${file}: its outputCaps export`);
  return { handler: mod.default as DuplexHandler, outputCaps: mod.outputCaps as string | undefined };
}

/** How long syntaxErrorPlace's child may take to find where a syntax error is (ms): then it is killed (SIGKILL). */
const SYNTAX_CHECK_MS = 5000;
/** How long the child's stderr may stay open after it exited (a process it started holds it) (ms). */
const SYNTAX_CHECK_STDERR_MS = 200;
/** How much of the child's stderr is kept: the place comes in its first lines. */
const SYNTAX_CHECK_STDERR_BYTES = 64 * 1024;
/** How many lines Node prints between a place's "file:line" and "SyntaxError: " (the line, a caret, blank ones). */
const PLACE_LINES = 5;

/**
 * Why the script did not load, said where it is: for a syntax error, the
 * place Node knows (file:line, the line and a caret) in the script or a
 * module it imports; else the frames of the script (and of the modules it
 * imports) where its own code threw. A failure of zerobuffer's own checks
 * (no default export) is its message alone.
 */
async function loadErrorText(file: string, e: unknown): Promise<string> {
  if (!(e instanceof Error)) return String(e);
  const frames = (e.stack ?? '').split('\n').filter((frame) => {
    const file = frameFile(frame);
    return file !== undefined && !file.startsWith('node:') && !isOwnFile(file);
  });
  if (e instanceof SyntaxError) {
    // A CommonJS file's and a link error's (an import of a name not exported) have their place
    // before the name; an ES module's, raised as Node imports it, has none. One that no loader
    // raised (JSON.parse as the script ran) has frames of the script instead.
    const place = (await placeBefore(e.stack ?? '', e.message, file)) ?? (frames.length === 0 ? await syntaxErrorPlace(file, e.message) : undefined);
    if (place !== undefined) return `${e.message}\n${place}`;
  }
  return [e.message, ...frames].join('\n');
}

/**
 * The place Node gives before "SyntaxError: <message>" in `text` (a
 * SyntaxError's stack, or what Node prints of one that ends the process,
 * maybe after other lines): "file:line", the line and a caret, as far as
 * Node gives them; the script under its name as given, another module by
 * its path (one in the script's directory under that directory's name as
 * given: Node names an imported module by its real path). None when no
 * such line comes within a few lines before it.
 */
async function placeBefore(text: string, message: string, file: string): Promise<string | undefined> {
  // "/x.cjs:4\n}\n^\n\nSyntaxError: ...", "file:///x.mjs:2\n\n\n\nSyntaxError: ..." (the end of the input)
  const error = `${text}\n`.indexOf(`\nSyntaxError: ${message}\n`);
  if (error < 0) return undefined;
  const lines = text.slice(0, error).split('\n').slice(-PLACE_LINES);
  let at = lines.length - 1;
  while (at >= 0 && !/^(?:file:\/\/)?\/.*:\d+$/.test(lines[at]!)) at--;
  if (at < 0) return undefined;
  const [, url, line] = /^(.*):(\d+)$/.exec(lines[at]!)!;
  const where = url!.startsWith('file://') ? fileURLToPath(url!) : url!;
  const script = path.resolve(file);
  const realScript = await fs.realpath(script).catch(() => script);
  const realDir = path.dirname(realScript);
  const shown = where === script || where === realScript ? file
    : where.startsWith(realDir + path.sep) ? path.join(path.dirname(script), path.relative(realDir, where))
    : where;
  let last = lines.length;
  while (last > at + 1 && lines[last - 1] === '') last--;
  return [`${shown}:${line}`, ...lines.slice(at + 1, last)].join('\n');
}

/**
 * Where the syntax error `message`, which an ES module's import raised with
 * no place, is: in the script or in a module it imports (placeBefore). Node
 * keeps that place from JavaScript and prints it only when the error ends
 * the process, so a child Node imports the script (with NODE_OPTIONS, as the
 * command: a loader given there resolves for it too; not with the command's
 * own node options) beside an import that can never link: every module the
 * script imports is found and parsed, and none runs (a link error stops it
 * before any evaluation). None when the child ends on another error (one in
 * a module imported with import() as the script runs, which no link
 * reaches) or cannot tell in time (a preload of NODE_OPTIONS that keeps it).
 */
async function syntaxErrorPlace(file: string, message: string): Promise<string | undefined> {
  const neverLinks = `import ${JSON.stringify(pathToFileURL(path.resolve(file)).href)}; import { stopBeforeEvaluation } from 'data:text/javascript,';`;
  // (no debugger: it would wait on the command's port, or take another)
  const nodeOptions = (process.env['NODE_OPTIONS'] ?? '').replace(/(^|\s)--inspect\S*/g, '$1');
  // (no warnings: a loader's of NODE_OPTIONS would come before the place)
  const check = spawn(process.execPath, ['--no-warnings', '--input-type=module', '--eval', neverLinks],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS: nodeOptions } });
  let stderr = '';
  check.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    if (stderr.length < SYNTAX_CHECK_STDERR_BYTES) stderr += chunk.slice(0, SYNTAX_CHECK_STDERR_BYTES - stderr.length);
  });
  await new Promise<void>((resolve) => {
    const timers: NodeJS.Timeout[] = [];
    const done = (): void => {
      for (const t of timers) clearTimeout(t);
      resolve();
    };
    timers.push(setTimeout(done, SYNTAX_CHECK_MS));
    check.on('error', done);
    check.on('close', done);
    // (its stderr read to the end, or held by a process it started)
    check.on('exit', () => timers.push(setTimeout(done, SYNTAX_CHECK_STDERR_MS)));
  });
  // (one that traps SIGTERM and keeps running, a preload's doing)
  check.kill('SIGKILL');
  check.stderr.destroy();
  return await placeBefore(stderr, message, file);
}

/** zerofilter's counts from its EOS message (gst-launch prints the line). */
function elementStats(output: string): Record<string, number> | undefined {
  const line = output.split('\n').reverse().find((l) => l.startsWith('zerofilter-stats '));
  if (line === undefined) return undefined;
  return Object.fromEntries(line.split(' ').slice(1).map((kv) => kv.split('=')).map(([k, v]) => [k!, Number(v)]));
}

function statsText(s: DuplexServerStats, fps: number): string {
  const ms = (v: number | undefined): string => (v === undefined ? '-' : `${v.toFixed(2)} ms`);
  return [
    `${s.responses} frames`, `${fps.toFixed(1)} fps`, `service p50 ${ms(s.serviceP50Ms)} p99 ${ms(s.serviceP99Ms)}`,
    `round trip p50 ${ms(s.requestToResponseP50Ms)} p99 ${ms(s.requestToResponseP99Ms)}`,
    `in place ${s.inPlace} copied ${s.copied}`, `errors ${s.errors}`,
  ].join('  ');
}

const CLIENT_GONE: Record<DuplexClientGone['reason'], string> = {
  readerGone: 'went while an answer was due (its response ring\'s reader closed or died)',
  writerDied: 'died writing requests',
  leftBeforeRing: 'left before its response ring was found',
  stalled: 'stopped reading its answers (one found no room in its response ring within the timeout): ' +
    'its ring is let go, it gets no further answer',
};

/**
 * A 'clientGone' event for people: who, why, and which requests go
 * unanswered. pipelineEnd: why the client went, when its pipeline's end
 * (told below this line) says it better than the event's reason.
 */
function clientGoneText(g: DuplexClientGone, pipelineEnd?: string): string {
  const dropped = g.sequence === undefined ? 'none of its requests dropped'
    : `its request ${g.sequence} and any later ones dropped (not answered)`;
  const why = pipelineEnd ?? CLIENT_GONE[g.reason];
  return `zerobuffer filter: client pid ${g.pid} ${why} [${g.reason}]; ${dropped}`;
}

/** An answer too large for zerofilter's response ring: zerofilter creates it, its payload-size sizes it. */
function responseRingHint(sinkProperties: Record<string, string>): string {
  const given = sinkProperties['payload-size'];
  return `\nzerobuffer filter: zerofilter's response ring holds the answers: ${given !== undefined ? `--sink-property payload-size=${given} sized it` :
    'zerofilter sized it for its input caps (and depth)'}; give --sink-property payload-size=N with N of at least the size named above`;
}

/**
 * zerofilter's EMSGSIZE is about the request ring, which this command
 * creates: --payload-size sizes it (zerofilter's message speaks of "the
 * reader", the server that creates it).
 */
function requestRingHint(name: string, payloadSize: number, sizedBy: '--payload-size' | RingSizes['from']): string {
  const how = sizedBy === '--payload-size' ? sizedBy : sizedBy === 'caps' ? "sized for the source's caps"
    : 'the default size, 3 frames of 1080p RGB or more: the source does not end with caps that give the frame size';
  return `zerobuffer filter: ${duplexRingNames(name).request}, the request ring, is this command's: ${payloadSize} payload bytes ` +
    `(${how}); give --payload-size N with N of at least the size zerofilter names`;
}

/**
 * serve() rejected as its request ring's reader found that zerofilter's
 * requests (by the caps in its metadata, and their frame header), or its
 * metadata, can never fit that ring: a RingError EMSGSIZE (the server's
 * answers too large for the response ring are EMSGSIZE too, not RingErrors).
 * zerofilter's write was refused first, and it left.
 */
function requestRingRefused(e: unknown): boolean {
  return e instanceof RingError && e.code === 'EMSGSIZE';
}

/**
 * A stream for the command's own lines while the script's writes to
 * `stream` go elsewhere (routed): it writes with the stream's own write; a
 * terminal's size and resizes are the stream's. Write errors are the
 * stream's, heard by main.
 */
function kept(stream: NodeJS.WriteStream): { kept: CliIo['stdout']; release: () => void } {
  const write = stream.write.bind(stream);
  const own: CliIo['stdout'] = new Writable({
    decodeStrings: false,
    write: (chunk: string | Buffer, _encoding, done) => {
      write(chunk);
      done();
    },
  });
  own.isTTY = stream.isTTY;
  Object.defineProperty(own, 'columns', { get: () => stream.columns });
  const resized = (): boolean => own.emit('resize');
  stream.on('resize', resized);
  return { kept: own, release: () => void stream.off('resize', resized) };
}

/**
 * Sends whatever is written to `stream` (process.stdout: the script's
 * console, node:console's, a Worker's, a write of its own) to `to` until
 * the undo returned is called. The console stays the real one, every
 * method of it.
 */
function routed(stream: NodeJS.WriteStream, to: Writable): () => void {
  const write = stream.write;
  stream.write = ((...args: unknown[]) => (to.write as (...a: unknown[]) => boolean)(...args)) as typeof stream.write;
  return () => {
    stream.write = write;
  };
}

/**
 * A filter stopped before it started (a stop signal while the command
 * loaded): no script loaded, no channel, no pipeline. With --json its summary
 * says so all the same (no request, zerofilter null, name null unless --name
 * gave it), as run's does; without --json nothing is said.
 */
export function stoppedBeforeStart(args: FilterArgs, io: Pick<CliIo, 'stdout'>): void {
  if (!(args.json ?? io.stdout.isTTY !== true)) return;
  const none: DuplexServerStats = { requests: 0, responses: 0, errors: 0, passed: 0, inPlace: 0, copied: 0, dropped: 0, serviceP50Ms: 0, serviceP99Ms: 0 };
  say(io.stdout, JSON.stringify({
    type: 'summary', name: args.name ?? null, elapsedMs: 0, ...none, ...(args.frames === undefined ? {} : { drained: 0 }), zerofilter: null,
  }));
}

export async function filterCommand(args: FilterArgs, io: CliIo): Promise<ExitCode> {
  const json = args.json ?? io.stdout.isTTY !== true;
  // The script's stdout goes to stderr: stdout is the command's own (its JSON
  // lines, or the stats line, which a log would break). Its stderr too goes
  // above the stats line when one is up. The command writes its own lines
  // with the streams' own writes.
  const out = io.stdout === process.stdout ? kept(process.stdout) : undefined;
  const err = !json && io.stderr === process.stderr ? kept(process.stderr) : undefined;
  const stdout = out?.kept ?? io.stdout;
  const stderr = err?.kept ?? io.stderr;
  const live = json ? undefined : new LiveLine(stdout);
  const scriptOut = live?.aboveStream(stderr) ?? stderr;
  // before the script loads: its top level writes too
  const undo = [routed(process.stdout, scriptOut), ...(live === undefined ? [] : [routed(process.stderr, scriptOut)])];
  try {
    return await filterWith(args, { ...io, stdout, stderr }, json, live);
  } finally {
    for (const u of undo) u();
    out?.release();
    err?.release();
  }
}

/** The package's compiled code (dist/): frames there are the CLI's own. */
const distDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Whether an uncaught exception is the CLI's own (a bug of zerobuffer) rather
 * than the script's: every file its stack names is in dist/ or Node's own.
 * One naming the script, a module it imports, or no file at all (a value
 * thrown that is no Error) is the script's.
 */
function isOwnException(e: unknown): boolean {
  if (!(e instanceof Error) || typeof e.stack !== 'string') return false;
  const files = e.stack.split('\n').slice(1).map(frameFile)
    .filter((file): file is string => file !== undefined && !file.startsWith('node:'));
  return files.length > 0 && files.every(isOwnFile);
}

/** The file a stack frame ("    at f (file:///x.mjs:2:9)") names: a URL, a path or node:…; none for another line. */
function frameFile(frame: string): string | undefined {
  return /^\s+at (?:.*\()?((?:file:\/\/|\/|node:)[^()]*?)(?::\d+:\d+)?\)?$/.exec(frame)?.[1];
}

/** Whether a stack frame's file is the package's compiled code. */
function isOwnFile(file: string): boolean {
  return (file.startsWith('file://') ? fileURLToPath(file) : file).startsWith(distDir + path.sep);
}

/**
 * Uncaught exceptions heard while the command runs: the script's, thrown
 * outside its calls (in a timer, a promise nothing awaits), which Node's
 * default ended the process with (a raw stack, no summary, zerofilter's
 * response ring left behind), and the CLI's own (isOwnException). The first
 * of each kind is kept; onCrash: what the command does at the first one.
 */
class Uncaught {
  script?: unknown;
  own?: unknown;
  /** Heard after the first: counted, not shown. */
  later = 0;
  onCrash = (): void => {};
  /** Not heard: Node's own rejection with the error that failed the script's load, which is told already. */
  loadError?: unknown;
  readonly heard = (e: unknown): void => {
    if (this.loadError !== undefined && e === this.loadError) return;
    const value = e ?? new Error(String(e));
    const first = this.script === undefined && this.own === undefined;
    const own = isOwnException(value);
    if (own && this.own === undefined) this.own = value;
    else if (!own && this.script === undefined) this.script = value;
    else this.later++;
    if (first) this.onCrash();
  };
}

/** What the command says of the uncaught exceptions heard (the CLI's own first), if any. */
function uncaughtText(uncaught: Uncaught): string | undefined {
  const more = uncaught.later === 0 ? '' : `\nzerobuffer filter: ${uncaught.later} more uncaught exception${uncaught.later === 1 ? '' : 's'} while the command ended (not shown)`;
  const stack = (e: unknown): string => (e instanceof Error ? (e.stack ?? e.message) : String(e));
  if (uncaught.own !== undefined) {
    return `zerobuffer filter: internal error (a bug of zerobuffer, not the script's: an uncaught exception in its own code): ${stack(uncaught.own)}` +
      `${uncaught.script === undefined ? '' : `\nzerobuffer filter: the script too failed outside a request: ${stack(uncaught.script)}`}${more}`;
  }
  if (uncaught.script !== undefined) {
    return 'zerobuffer filter: the script failed outside a request (an uncaught exception, from a timer or a promise nothing awaits): ' +
      `${stack(uncaught.script)}${more}`;
  }
  return undefined;
}

/**
 * The process ends while the command runs: the script called process.exit()
 * (or a second Ctrl-C, bin.ts). Nothing asynchronous runs any more: the
 * channel's rings go here, synchronously. onExit is set once there is a
 * channel.
 */
class ProcessEnd {
  onExit?: (code: number) => void;
  readonly heard = (code: number): void => this.onExit?.(code);
}

async function filterWith(args: FilterArgs, io: CliIo, json: boolean, live: LiveLine | undefined): Promise<ExitCode> {
  const uncaught = new Uncaught();
  const end = new ProcessEnd();
  process.on('uncaughtException', uncaught.heard);
  process.on('unhandledRejection', uncaught.heard);
  process.on('exit', end.heard);
  try {
    return await filterRun(args, io, json, live, uncaught, end);
  } finally {
    process.off('uncaughtException', uncaught.heard);
    process.off('unhandledRejection', uncaught.heard);
    process.off('exit', end.heard);
  }
}

/** How long the process's end waits for its killed gst-launch to die before it removes zerofilter's response ring (ms). */
const KILLED_DEATH_MS = 1000;

/**
 * Removes zerofilter's response ring once its gst-launch, killed, is dead
 * (until then the ring is live: EBUSY), waiting synchronously: the process
 * is ending. Any other failure (ENOENT: zerofilter removed it) leaves it be.
 */
function removeResponseRingSync(name: string): void {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + KILLED_DEATH_MS;
  for (;;) {
    try {
      removeStaleRing(duplexRingNames(name).response);
      return;
    } catch (e) {
      if ((e as { code?: string }).code !== 'EBUSY' || Date.now() > deadline) return;
      Atomics.wait(pause, 0, 0, 10);
    }
  }
}

async function filterRun(args: FilterArgs, io: CliIo, json: boolean, live: LiveLine | undefined, uncaught: Uncaught, end: ProcessEnd): Promise<ExitCode> {
  let script: Script;
  try {
    script = await loadScript(args.script);
  } catch (e) {
    // Node 20 also rejects a promise of its own with the error of a CommonJS module the script
    // imports, unhandled: heard by the listeners here (and left out), it does not end the process
    // once they are gone. Any other (a promise the script rejected as it loaded) is told.
    uncaught.loadError = e;
    await new Promise((resolve) => setImmediate(resolve));
    say(io.stderr, `zerobuffer filter: cannot load ${args.script}: ${await loadErrorText(args.script, e)}`);
    const crash = uncaughtText(uncaught);
    if (crash !== undefined) say(io.stderr, crash);
    return uncaught.own !== undefined ? EXIT.internal : EXIT.usage;
  }
  if (args.outputCaps !== undefined) {
    try {
      checkFrameCaps(args.outputCaps, '--output-caps');
    } catch (e) {
      say(io.stderr, `zerobuffer filter: ${(e as Error).message}`);
      return EXIT.usage;
    }
  }
  const outputCaps = args.outputCaps ?? script.outputCaps;
  // A frame the script failed on cannot pass as it is when the answers have other caps than the input
  if (args.onError === 'pass' && outputCaps !== undefined) {
    say(io.stderr, `zerobuffer filter: --on-error pass answers a frame the script failed on with the frame itself, which is not of the ` +
      `output caps (${args.outputCaps !== undefined ? '--output-caps' : `the outputCaps ${args.script} exports`}: ${outputCaps}): ` +
      'leave --on-error out (stop is the default with output caps) or give --on-error stop; a script that must go on catches its errors ' +
      'and returns an answer of those caps');
    return EXIT.usage;
  }
  const onError = args.onError ?? (outputCaps === undefined ? 'pass' : 'stop');
  const name = args.name ?? `zb-filter-${randomUUID().slice(0, 8)}`;
  // zerofilter's depth as given, else its default: the request ring also holds the answered requests
  // downstream keeps (in-place answers), so it is sized for the source's frames like zerofilter's
  // response ring
  // (a value out of guint's range is not: gst-launch refuses it, as it does any value it cannot take)
  const givenDepth = /^[1-9][0-9]*$/.test(args.sinkProperties['depth'] ?? '') ? Number(args.sinkProperties['depth']) : undefined;
  const depth = givenDepth !== undefined && givenDepth <= 0xffffffff ? givenDepth : undefined;
  const sizes = args.payloadSize === undefined ? duplexSizes(args.source, depth) : undefined;
  const payloadSize = args.payloadSize ?? sizes!.payloadSize;
  let server: ZeroBufferDuplexServer;
  try {
    server = await ZeroBufferDuplexServer.create({
      name, payloadSize, outputCaps, onError,
      inPlace: args.inPlace, mode: args.mode,
    });
  } catch (e) {
    const refused = modeRefused(e, args.mode);
    if (refused !== undefined) {
      say(io.stderr, `zerobuffer filter: ${refused}`);
      return EXIT.usage;
    }
    if (e instanceof ZeroBufferError) {
      say(io.stderr, `zerobuffer filter: cannot create the channel ${name}: ${e.message} (${e.code})`);
      return EXIT.ring;
    }
    throw e;
  }
  // the first failure with its stack (where in the script), later ones by their message
  let stackTold = false;
  server.on('handlerError', (e: DuplexHandlerError) => {
    const stack = !stackTold && e.cause instanceof Error ? e.cause.stack : undefined;
    stackTold = true;
    if (json) say(io.stdout, JSON.stringify({ type: 'handlerError', sequence: e.sequence, message: e.message, ...(stack === undefined ? {} : { stack }) }));
    else live!.above(io.stderr, `zerobuffer filter: ${e.message}${stack === undefined ? '' : `\n${stack}`}`);
  });
  // A pipeline that stalled is told at once (it lives on); one that went is told once gst-launch's
  // end says whether it failed, which is then why it went
  const gone: DuplexClientGone[] = [];
  server.on('clientGone', (g: DuplexClientGone) => {
    if (json) say(io.stdout, JSON.stringify({ type: 'clientGone', pid: g.pid, reason: g.reason, sequence: g.sequence ?? null, message: g.error?.message ?? null }));
    if (g.reason !== 'stalled') gone.push(g);
    else if (live === undefined) say(io.stderr, clientGoneText(g));
    else live.above(io.stderr, clientGoneText(g));
  });
  // The process ends under the command (the script's process.exit(), bin.ts's second Ctrl-C): gst-launch
  // is killed at exit (child-guard) and zerofilter's response ring, whose reader it is, would stay
  end.onExit = (code) => {
    server.closeSync();
    killAllGroups();
    removeResponseRingSync(name);
    if (io.signal.aborted) return; // a stop was asked: bin.ts's second Ctrl-C ends the process so, with a stop's status
    const text = `zerobuffer filter: the script ended the process (process.exit(${code})) while the command ran: ` +
      `its pipeline killed, the channel's rings removed, status ${EXIT.pipeline}`;
    if (live === undefined) say(io.stderr, text);
    else live.above(io.stderr, text);
    process.exitCode = EXIT.pipeline;
  };
  let runner: PipelineRunner;
  try {
    runner = new PipelineRunner({
      source: args.source, sink: args.sink, name, pluginPath: args.pluginPath,
      // the requests carry the frame header: the round trip is measured here
      sinkProperties: { 'frame-header': 'true', ...args.sinkProperties },
      signal: io.signal,
    });
  } catch (e) {
    await server.close();
    if (e instanceof TypeError) {
      say(io.stderr, `zerobuffer filter: ${e.message}`);
      return EXIT.usage;
    }
    throw e;
  }
  // (zerofilter's on-error=pass makes its failures warnings: the stream goes on unfiltered)
  runner.on('elementWarning', (w) => {
    if (json) say(io.stdout, warningJson(w, 'zerofilter'));
    else live!.above(io.stderr, `zerobuffer filter: ${warningText(w, 'zerofilter')}`);
  });
  if (!json) say(io.stderr, `zerobuffer: channel ${name} (requests: ${payloadSize} bytes${defaultSizeNote(sizes)}) ⇄ gst-launch-1.0 ${shellCommand(runner.args)}`);

  const limit = args.frames;
  // --frames N: the script answers N requests, then the pipeline is stopped (EOS). zerofilter
  // reaches EOS only once every request in flight is answered: those after the N-th get the N-th
  // answer again (of the output caps, and no frame the script did not see goes downstream), not
  // handed to the script and not counted in the stats, which stay those of the N answers.
  let handled = 0;
  let drained = 0;
  let lastAnswer: Uint8Array | undefined;
  let atLimit: DuplexServerStats | undefined;
  const stats = (): DuplexServerStats => atLimit ?? server.stats();
  const started = Date.now();
  let last = { t: started, n: 0 };
  const show = (): void => {
    const s = stats();
    const now = Date.now();
    const fps = ((s.responses - last.n) * 1000) / Math.max(1, now - last.t);
    last = { t: now, n: s.responses };
    if (json) say(io.stdout, JSON.stringify({ type: 'stats', name, fps: Number(fps.toFixed(2)), ...s }));
    else live!.update(statsText(s, fps));
  };
  const ticker = setInterval(show, args.intervalMs);
  let failure: unknown;
  const serving = server.serve(async (frame, reply) => {
    if (limit !== undefined && handled >= limit) {
      // the N answers went out before this request (serve() answers one at a time); it is not one of them
      if (atLimit === undefined) {
        const s = server.stats();
        atLimit = { ...s, requests: s.requests - 1 };
      }
      drained++;
      // no N-th answer of the script's: its handler failed and, under --on-error pass, that request passed unchanged
      return lastAnswer ?? frame;
    }
    if (++handled !== limit) return script.handler(frame, reply);
    void runner.stop();
    let reserved: Uint8Array | undefined;
    const answer = await script.handler(frame, { ...reply, reserve: async (size) => (reserved = await reply.reserve(size)) });
    // copied before the server sends it (a reservation empties at its commit); the server sends
    // a reservation rather than what the handler returned
    lastAnswer = (reserved ?? (types.isUint8Array(answer) ? answer : answer === frame ? frame.data : undefined))?.slice();
    return answer;
  }).catch((e: unknown) => {
    // zerofilter's own failure, which it told first naming the size (its error, told below with the request
    // ring's hint; with on-error=pass, its warning: the stream passed through), seen again once it left: not the server's
    if (requestRingRefused(e)) return;
    failure = e;
    // no answer comes any more: zerofilter, waiting for one, sees the server gone rather than waiting out its timeout
    server.closeSync();
    stopOncePlaying();
  });
  // The EOS of a stop (SIGINT) only once the pipeline plays: gst-launch -e sends it from its main
  // loop, blocking on the source's streaming thread, which a sink still prerolling holds (zerofilter's
  // EOS after its error, or frames it passes): gst-launch would hang until killed. zerofilter's
  // error ends gst-launch by itself; what prerolls without the script plays, then stops; a pipeline
  // that does neither within a second is killed (SIGKILL) as it is: an EOS would hang it just the same.
  const stopOncePlaying = (): void => {
    if (runner.state !== 'starting') {
      void runner.stop();
      return;
    }
    const settle = (): void => {
      clearTimeout(late);
      runner.off('state', playing);
    };
    const playing = (e: PipelineStateEvent): void => {
      if (e.state !== 'playing') return;
      settle();
      void runner.stop();
    };
    const late = setTimeout(() => {
      settle();
      void runner.kill();
    }, 1000);
    runner.on('state', playing);
    void runner.done.then(settle);
  };
  // as a failure under --on-error stop: what the script (or the CLI, after its own bug) does after it is unknown
  uncaught.onCrash = () => {
    server.closeSync();
    stopOncePlaying();
  };
  if (uncaught.script !== undefined || uncaught.own !== undefined) uncaught.onCrash(); // (its top level's promise, while the channel was made)
  runner.start();
  const exit = await runner.done;
  if (exit.killedAfterEosMs !== undefined) {
    const text = `zerobuffer filter: ${killedAfterEosText(exit.killedAfterEosMs)}`;
    if (live === undefined) say(io.stderr, text);
    else live.above(io.stderr, text); // the stats line is still up
  }
  // the filter's end of stream ends serve(), and so does a pipeline that died once
  // connected ('clientGone'); one that died before it connected leaves it waiting
  await Promise.race([serving, new Promise((r) => setTimeout(r, 1000))]);
  clearInterval(ticker);
  // gst-launch failed (an element's error, also during a stop, its own exit status, or a property value
  // it refused, for which zerobuffer killed it; not killed by another's signal, nor a stop's SIGKILL
  // without an error), or zerobuffer killed it as hung after an error: told below
  const failedOrHung = failure === undefined && uncaught.script === undefined && uncaught.own === undefined && exit.error !== undefined;
  const pipelineEnd = !failedOrHung ? undefined
    : exit.killedAfterErrorMs !== undefined ? `went as zerobuffer killed its pipeline with SIGKILL, hung ${exit.killedAfterErrorMs} ms after an error (below)`
    : exit.killedInTeardownMs !== undefined ? 'went as zerobuffer killed its pipeline with SIGKILL, hung in its teardown after an error (below)'
    : exit.error!.element !== undefined || exit.exitCode !== undefined || exit.error!.rejected ? 'went as its pipeline failed (the error below)'
    : undefined;
  for (const g of gone) {
    if (live === undefined) say(io.stderr, clientGoneText(g, pipelineEnd));
    else live.above(io.stderr, clientGoneText(g, pipelineEnd));
  }
  const s = stats();
  await server.close();
  // a handler call still running ends with the server: its exceptions are still heard (filterWith) until then
  await Promise.race([serving, new Promise((r) => setTimeout(r, 1000))]);
  // A pipeline killed at the stop's deadline (a slow script's answers still due) left zerofilter's
  // response ring: ours to remove rather than the next sweep's.
  try {
    removeStaleRing(duplexRingNames(name).response);
  } catch {
    // none left (ENOENT): zerofilter removed it, as it does at every clean end
    // (EBUSY, a live one, is not ours to remove)
  }
  const element = elementStats(runner.output);
  const summary = {
    type: 'summary', name, elapsedMs: Date.now() - started, ...s, ...(limit === undefined ? {} : { drained }), zerofilter: element ?? null,
  };
  if (json) say(io.stdout, JSON.stringify(summary));
  else {
    live!.end(statsText(s, (s.responses * 1000) / Math.max(1, Date.now() - started)));
    if (drained > 0) say(io.stderr, `zerobuffer filter: --frames ${limit} reached; ${drained} later frames got answer ${limit} again while the pipeline stopped`);
    if (element !== undefined)
      say(io.stderr, `zerofilter: ${element['responses']} answers, ${element['frames-passed']} passed, ${element['frames-dropped']} dropped, ` +
        `round trip p50 ${(element['round-trip-p50-us']! / 1000).toFixed(2)} ms p99 ${(element['round-trip-p99-us']! / 1000).toFixed(2)} ms`);
  }
  const crash = uncaughtText(uncaught);
  if (crash !== undefined) {
    say(io.stderr, crash);
    return uncaught.own !== undefined ? EXIT.internal : EXIT.pipeline;
  }
  if (failure instanceof DuplexHandlerError) {
    say(io.stderr, `zerobuffer filter: the script failed: ${failure.message}`);
    return EXIT.pipeline;
  }
  if (failure !== undefined) {
    // the server's own failure (its write into zerofilter's response ring, a protocol error): not the script's
    say(io.stderr, `zerobuffer filter: the duplex server could not answer (the script did not fail): ${(failure as Error).message}` +
      `${(failure as { code?: string }).code === 'EMSGSIZE' ? responseRingHint(args.sinkProperties) : ''}`);
    return EXIT.pipeline;
  }
  // (also after a stop: zerofilter's error while its EOS waited for a slow script's answer is the run's, status 3;
  // one printed before the stop came is told as the run's own, stopOf)
  if (exit.error instanceof PipelineError) {
    say(io.stderr, `zerobuffer filter: ${failureText(exit.error, { ring: name, outOfRestarts: exit.outOfRestarts, restarts: exit.restarts, pluginPath: args.pluginPath, sinkPropertyTo: 'zerofilter', stop: stopOf(exit) })}`);
    // (not for its metadata: the request ring's metadata block is the default size, and no option changes it)
    // (its response ring, which it sized for its first caps, when its caps grow: payload-size sizes that one)
    if (exit.error.code === 'EMSGSIZE' && exit.error.element !== undefined && !/metadata/.test(exit.error.element.message)) {
      say(io.stderr, /^The response ring /.test(exit.error.element.message) ? responseRingHint(args.sinkProperties).trimStart()
        : requestRingHint(name, payloadSize, sizes?.from ?? '--payload-size'));
    }
    const notLinked = sinkNotLinkedHint(exit.error, args.sink, 'filter');
    if (notLinked !== undefined) say(io.stderr, `zerobuffer filter: ${notLinked}`);
    return EXIT.pipeline;
  }
  // --on-error pass keeps a stream going past a failing frame; a script that failed on every one filtered nothing
  if (s.requests > 0 && s.errors === s.requests) {
    say(io.stderr, `zerobuffer filter: the script failed on every request (${s.errors}): nothing was filtered`);
    return EXIT.pipeline;
  }
  return EXIT.ok;
}

// watch(): runs a reader written in any language, passes its output on,
// and starts `<pipeline> ! zerosink` into every ring it announces; its
// stop-stream or its exit stops the pipeline. A pipeline that fails for good
// (a permanent error, or out of restarts) stops the command too.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { onAbort, settledWithin } from '../abort.js';
import { PipelineError } from '../errors.js';
import { describeValue, SHOWN_CHARACTERS } from '../line-protocol/describe.js';
import { readLines } from '../line-protocol/read-lines.js';
import type { StartDuplexMessage, StartStreamMessage } from '../line-protocol/messages.js';
import { duplexRingNames } from '../duplex.js';
import type { WarningEvent } from '../line-protocol/parse-line.js';
import { native } from '../native.js';
import { listRings } from '../rings.js';
import { fail, isWritableStream, optionNames, refuseUnknownOptions, validateSignal, validateSize, validateTimeout } from '../options.js';
import { DEFAULT_MAX_PIPELINES } from './max-pipelines.js';
import { givenProperties, glibPropertyName, RING_PROPERTY, refuseRingProperty } from '../runner/sink-properties.js';
export { DEFAULT_MAX_PIPELINES } from './max-pipelines.js';
import { interruptGroup, spawnGuarded, type Escalation, type GroupInterrupt } from '../runner/child-guard.js';
import { resolvePluginPath } from '../runner/plugin-path.js';
import { pipelineWords, sourceWords } from '../runner/pipeline-tokens.js';
import type { ElementWarning } from '../runner/pipeline-output.js';
import {
  DEFAULT_STOP_TIMEOUT_MS, isAppendedElement, PipelineRunner, validateLaunch, validateRestart, type PipelineExit, type PipelineStateEvent,
  type RestartOptions,
} from '../runner/pipeline-runner.js';

export interface WatchOptions {
  /** The reader to run: program and arguments (no shell). */
  command: readonly string[];
  /** The source pipeline started into each announced ring. */
  pipeline: string | readonly string[];
  /**
   * Restart a pipeline that dies of a transient error while its reader
   * lives, within the budget (RestartOptions.maxRestarts, default 10) of
   * restarts in a row per ring: pipelines started into it again (a
   * stop-stream, then a start-stream) go on with the count, and a run that
   * stays up 5 s starts it again. A pipeline that ended because its reader
   * went away, into a ring created again, goes into the new ring, not
   * counted as a restart (with restart false too).
   * @default true
   */
  restart?: boolean | RestartOptions;
  /**
   * Extra zerosink properties. connect-timeout defaults to
   * ANNOUNCED_RING_CONNECT_TIMEOUT_MS: an announced ring exists already.
   * buffer-name (or buffer_name, the same to GLib) is refused (a TypeError):
   * it is the announced ring's. A property whose value is undefined is not
   * given (connect-timeout keeps that default).
   */
  sinkProperties?: Record<string, string | number | boolean | undefined>;
  /**
   * What follows zerofilter for a start-duplex line: the pipeline is then
   * `<pipeline> ! zerofilter channel=NAME ! <filterSink>` (sinkProperties
   * are not zerofilter's). Nothing is appended after it: it may end in a
   * zerosink of its own.
   * @default 'fakesink'
   */
  filterSink?: string | readonly string[];
  /** @default 'gst-launch-1.0' */
  gstLaunch?: string;
  /**
   * Directory of the zerobuffer plugin (see PipelineOptions.pluginPath),
   * for the pipelines and the command alike: the command runs with the
   * plugin path they get, so that a `gst-launch-1.0 ... zerosrc` command
   * finds the plugin they use.
   */
  pluginPath?: string;
  /**
   * How long a stop waits for each pipeline's EOS before SIGKILL, and for
   * the command to exit after its SIGINT before SIGTERM (SIGKILL follows
   * COMMAND_KILL_AFTER_TERM_MS later; a process SIGKILLed leaves the same
   * schedule to the command's guard) (ms; -1 or Infinity: no limit, no SIGTERM nor SIGKILL).
   * @default 5000
   */
  stopTimeoutMs?: number;
  /**
   * Where the command's other output (its log lines, unchanged) goes.
   * @default process.stdout
   */
  stdout?: Writable;
  /** Longest protocol line accepted (bytes). @default 65536 */
  maxLineBytes?: number;
  /**
   * The most pipelines running at once (a buggy command announcing ring
   * after ring would fork a gst-launch for each): a start-stream or
   * start-duplex for another ring beyond it is a warning, ignored.
   * @default DEFAULT_MAX_PIPELINES (64)
   */
  maxPipelines?: number;
  /**
   * Aborting stops the pipelines and the command. One aborted already runs
   * nothing: done resolves at once with stopped: true.
   */
  signal?: AbortSignal;
}

const WATCH_OPTIONS = optionNames<WatchOptions>({
  command: true, pipeline: true, restart: true, sinkProperties: true, filterSink: true, gstLaunch: true, pluginPath: true,
  stopTimeoutMs: true, stdout: true, maxLineBytes: true, maxPipelines: true, signal: true,
});

/** What happened to one announced ring, over every pipeline started into it. */
export interface RingSummary {
  name: string;
  /** Frames zerosink wrote into the ring (a lower bound when framesWrittenExact is false: a run was killed before it told). */
  framesWritten: number;
  framesWrittenExact: boolean;
  restarts: number;
  /** The latest failure of a pipeline into it, also when a restart followed. */
  lastError?: PipelineError;
}

export interface WatchResult {
  /** The command's exit status (undefined when a signal ended it, or it never ran: the signal had aborted already). */
  exitCode?: number;
  signal?: string;
  /**
   * The failure that ended the watch (the command was stopped, unless it
   * had exited by itself first: commandStopped): a permanent
   * error (zerosink's, or gst-launch rejected the pipeline), a pipeline that
   * kept dying (outOfRestarts), or one that died without restart while its
   * reader lived. Or, when failedWhileStopping, the first error of a pipeline
   * during a stop (its EOS: a stop-stream's, or the watch's end), as run fails then.
   */
  pipelineError?: PipelineError;
  /** The ring of pipelineError. */
  failedRing?: string;
  /** pipelineError is the last of a pipeline that used up its restarts. */
  outOfRestarts: boolean;
  /**
   * pipelineError came while a pipeline was being stopped (a stop-stream,
   * stop(), the signal, or the command's exit): it did not end the watch.
   */
  failedWhileStopping: boolean;
  /** stop() or the signal ended the watch (also our stdout closed: a consumer that went, `| head`). */
  stopped: boolean;
  /**
   * The watch stopped the command: its SIGINT went to the command while it
   * ran (stop(), the signal, or a failure that ended the watch). Left out
   * when the command exited by itself first (exitCode, signal): also after
   * a failure that ended the watch, which then stopped only what the
   * command left running.
   */
  commandStopped?: true;
  /** Why the command could not be started (no exit status, no signal). */
  spawnError?: string;
  /**
   * The command's process group outlived the stop's SIGINT by stopTimeoutMs:
   * the signals it got then (SIGTERM, and SIGKILL when it outlived that too).
   */
  commandKilledWith?: NodeJS.Signals[];
  /** Every ring announced, in the order of their first announcement. */
  rings: RingSummary[];
  /**
   * The rings named by start-stream and start-duplex lines read after the
   * command exited (ignored: no pipeline starts then; in rings only when
   * announced before too); undefined when none.
   */
  announcedAfterExit?: string[];
}

/**
 * zerosink's connect-timeout for announced rings (ms), unless the caller
 * sets one: the reader creates its ring before it announces it, so a ring
 * still missing after this long was never created (zerosink's permanent
 * ENOENT), and the watch need not wait zerosink's default 10 s to say so.
 */
export const ANNOUNCED_RING_CONNECT_TIMEOUT_MS = 2000;

/** How long a stopped command that outlives its SIGINT may handle its SIGTERM before SIGKILL (ms). */
export const COMMAND_KILL_AFTER_TERM_MS = 1000;

/**
 * Once the command has exited and its group is stopped, how long its output
 * pipe must stay idle (nothing read while the reading waits for it) for the
 * reading to end (ms): what the group wrote is in the pipe already.
 */
const OUTPUT_QUIET_MS = 100;

/** How long a pipeline that died with no reader at its ring waits for one to come back before it ends (ms; readerBack). */
const READER_BACK_MS = 500;
const READER_POLL_MS = 20;

export interface WatchEvents {
  /**
   * A start-stream, start-duplex or stop-stream line acted on. One for a
   * ring whose pipeline runs already is a warning instead.
   */
  message: [StartStreamMessage | StartDuplexMessage | { method: 'stop-stream'; name: string }];
  /** A protocol line that was ignored, and why. */
  warning: [WarningEvent];
  /** A pipeline's state. */
  state: [string, PipelineStateEvent];
  /**
   * A pipeline is over for good (stopped, ended, or failed); fatal: its
   * failure ends the watch (it is WatchResult.pipelineError).
   */
  ended: [string, PipelineExit, boolean];
  /** A line gst-launch printed. */
  output: [string, string];
  /** An element's warning in a pipeline (its ring's name). */
  elementWarning: [string, ElementWarning];
  /** The command started (its pid). */
  spawn: [number];
}

type Command = ReturnType<typeof spawnGuarded>;

export class Watcher extends EventEmitter<WatchEvents> {
  readonly #options: WatchOptions;
  readonly #source: string[];
  /** The start-stream pipelines' zerosink has on-reader-lost=wait: it writes into whichever ring of its name has a reader. */
  readonly #sinkWaitsForReader: boolean;
  readonly #pipelines = new Map<string, PipelineRunner>();
  /**
   * Stops under way, by ring: a start-stream for that name meanwhile (a
   * reader that closed its ring and created it again) starts its pipeline
   * once the old one has exited.
   */
  readonly #stopping = new Map<string, Promise<void>>();
  /** The last start-stream (or start-duplex) of each ring, until a stop-stream for it: what a deferred start checks. */
  readonly #announced = new Map<string, StartStreamMessage | StartDuplexMessage>();
  /**
   * Every ring a start-stream named (so that a stop-stream for another is
   * reported): what its pipelines did, or why none could start. Totals, not
   * the runners, which (with their output) would be kept for the watch's life.
   */
  readonly #history = new Map<string, RingRecord>();
  /** options.stopTimeoutMs, -1 as Infinity. */
  readonly #stopTimeoutMs: number;
  /** The command; never started when the signal had aborted already. */
  readonly #child?: Command;
  #stopped = false;
  /** The stop of the command's process group (stop()). */
  #interrupt?: GroupInterrupt;
  /** The stop's SIGINT went to the command while it ran (WatchResult.commandStopped). */
  #commandStopped = false;
  /** The stop of what the command left running, from its exit (#stopLeftovers). */
  #leftoversStopped?: Promise<void>;
  /** The command exited (or was killed): no pipeline starts any more. */
  #commandEnded = false;
  /** The failure that ends the watch. */
  #failure?: { name: string; error: PipelineError; outOfRestarts: boolean };
  /** The first element's error during a pipeline's stop: the watch's failure unless #failure ends it. */
  #failedStopping?: { name: string; error: PipelineError };
  /** WatchResult.announcedAfterExit. */
  readonly #announcedAfterExit = new Set<string>();
  /** Resolves when the command has exited and every pipeline is stopped. */
  readonly done: Promise<WatchResult>;

  /** Not for users: use watch() (declared, so `new Watcher()` does not compile). */
  constructor(options: WatchOptions) {
    super();
    if (typeof options !== 'object' || options === null) fail('options', 'an object', options);
    refuseUnknownOptions(options, WATCH_OPTIONS);
    if (!Array.isArray(options.command) || options.command.length === 0
      || !options.command.every((w) => typeof w === 'string' && !w.includes('\0')))
      fail('command', 'a non-empty array of strings without null bytes (program and arguments)', options.command);
    this.#source = sourceWords('pipeline', options.pipeline);
    // checked now, not at the first start-stream or start-duplex (where it would end the watch)
    if (options.filterSink !== undefined) pipelineWords('filterSink', options.filterSink);
    validateLaunch(options);
    refuseRingProperty(options.sinkProperties, RING_PROPERTY, 'zerosink writes into the ring each start-stream names');
    validateRestart(options.restart ?? true);
    if (options.maxPipelines !== undefined && !(Number.isSafeInteger(options.maxPipelines) && options.maxPipelines >= 1))
      fail('maxPipelines', 'a whole number of 1 or more', options.maxPipelines);
    // checked before the command runs: readLines would refuse maxLineBytes at the first read, the runner stopTimeoutMs
    // at the first start-stream, both then unhandled rejections with the command running unread
    if (options.maxLineBytes !== undefined) validateSize('maxLineBytes', options.maxLineBytes, 1);
    this.#stopTimeoutMs = validateTimeout('stopTimeoutMs', options.stopTimeoutMs, DEFAULT_STOP_TIMEOUT_MS);
    const out: unknown = options.stdout;
    if (out !== undefined && !isWritableStream(out))
      fail('stdout', 'a writable stream', out);
    const signal = validateSignal(options.signal);
    this.#options = options;
    this.#sinkWaitsForReader = Object.entries(givenProperties(options.sinkProperties ?? {}))
      .some(([k, v]) => glibPropertyName(k) === 'on-reader-lost' && (v === 'wait' || String(v) === '1'));
    if (signal?.aborted) {
      // Stopped before it began: the command is not run at all.
      this.#stopped = true;
      this.done = Promise.resolve({ outOfRestarts: false, failedWhileStopping: false, stopped: true, rings: [] });
      return;
    }
    const [file, ...args] = options.command;
    // The pipelines' plugin path: a gst-launch command with zerosrc finds the plugin they use.
    const pluginPath = resolvePluginPath({ pluginPath: options.pluginPath });
    const env = pluginPath === undefined ? {} : { env: { [pluginPath.variable]: pluginPath.value } };
    // SIGINT if watch dies, as when it stops the command: a gst-launch with zerosrc then removes its ring; then
    // SIGTERM and SIGKILL at a stop's times for a group still there
    // (SIGPIPE ignored for it alone: Node and Python ignore it themselves, and any other command keeps its own)
    const child = spawnGuarded(file!, args, { stdin: 'inherit', stdout: 'pipe', stderr: 'inherit', reject: false, buffer: false, ...env },
      { deathSignal: 'SIGINT', deathEscalation: this.#escalation(), ignoreSigpipe: path.basename(file!).startsWith('gst-launch'), leftovers: 'keep' });
    this.#child = child;
    const pid = child.pid;
    if (pid !== undefined) {
      child.once('exit', () => {
        this.#commandEnded = true;
        this.#leftoversStopped = this.#stopLeftovers(pid);
      });
      queueMicrotask(() => this.emit('spawn', pid));
    }
    this.done = this.#run(child);
    if (signal !== undefined) {
      // The signal may outlive many watches (an app's shutdown): the listener goes with the watch.
      const stopListening = onAbort(signal, () => void this.stop());
      void this.done.then(stopListening, stopListening);
    }
  }

  /** The command's pid (undefined when it could not start, or the signal had aborted before). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Rings with a pipeline running (or restarting). */
  get streams(): string[] {
    return [...this.#pipelines.keys()];
  }

  pipeline(name: string): PipelineRunner | undefined {
    return this.#pipelines.get(name);
  }

  async #run(child: Command): Promise<WatchResult> {
    const out = this.#options.stdout ?? process.stdout;
    // Our stdout closed (a consumer that went: `| head`): nothing more to pass on, so the watch stops.
    let outClosed = false;
    const onOutError = (): void => {
      outClosed = true;
      void this.stop();
    };
    out.on('error', onOutError);
    const stopReading = new AbortController();
    // Since when the reading has waited for the command's output; undefined while it passes on what it read, which a
    // slow consumer of our stdout can make long: that time is no pause of the command's output.
    let waitingSince: number | undefined = performance.now();
    let readingOver = false;
    const reading = (async () => {
      const lines = readLines(child.stdout!, { maxLineBytes: this.#options.maxLineBytes, partialLogs: true, signal: stopReading.signal });
      for await (const event of lines) {
        waitingSince = undefined;
        if (event.type === 'log') {
          if (!outClosed && !out.write(event.raw))
            await new Promise<void>((resolve) => {
              const done = (): void => {
                out.off('drain', done);
                out.off('error', done);
                resolve();
              };
              out.on('drain', done);
              out.on('error', done);
            });
        } else if (event.type === 'warning') {
          if (event.code === 'ENAME' && event.message?.method === 'start-stream') this.#refuse(event.message.name, event.reason);
          else this.emit('warning', event);
        } else if (event.message.method !== 'stop-stream' && this.#commandEnded) {
          // what the command left running is being stopped: no pipeline starts for it
          this.#announcedAfterExit.add(event.message.name);
          this.emit('warning', {
            type: 'warning', line: event.line, raw: event.raw,
            reason: `${event.message.method} for ring "${event.message.name}" after the command exited: ignored`,
          });
        } else if (event.message.method === 'stop-stream' && !this.#history.has(event.message.name)) {
          this.emit('warning', {
            type: 'warning', reason: `stop-stream for ring "${event.message.name}", which no start-stream announced: ignored`,
            line: event.line, raw: event.raw,
          });
        } else if (event.message.method !== 'stop-stream' && this.#running(event.message) !== undefined) {
          // told once, as ignored: not also as a message, which would read as taken
          const runner = this.#running(event.message)!;
          this.emit('warning', {
            type: 'warning', line: event.line, raw: event.raw,
            reason: `${event.message.method} for ring "${event.message.name}", which has a pipeline already ` +
              `(${runner.pid !== undefined ? `pid ${runner.pid}` : runner.state}): ignored`,
          });
        } else if (event.message.method !== 'stop-stream' && !this.#pipelines.has(event.message.name)
          && this.#pipelines.size >= (this.#options.maxPipelines ?? DEFAULT_MAX_PIPELINES)) {
          this.emit('warning', {
            type: 'warning', line: event.line, raw: event.raw,
            reason: `${event.message.method} for ring "${event.message.name}": ${this.#pipelines.size} pipelines run already, ` +
              'the most at once (maxPipelines, --max-pipelines): ignored',
          });
        } else {
          this.emit('message', event.message);
          if (event.message.method !== 'stop-stream') {
            this.#announced.set(event.message.name, event.message);
            this.#start(event.message);
          } else {
            this.#announced.delete(event.message.name);
            void this.#stopPipeline(event.message.name);
          }
        }
        waitingSince = performance.now();
      }
    })();
    const over = (): void => {
      readingOver = true;
    };
    void reading.then(over, over);
    // The command's exit ends it, not the end of its stdout, which a process it started in a session of its own may keep open
    // (execa's promise waits for that): spawn failures settle the promise with no exit.
    await Promise.race([child, new Promise((resolve) => child.once('exit', resolve))]);
    this.#commandEnded = true;
    await this.#leftoversStopped;
    const killedWith = this.#interrupt?.sent.filter((s) => s !== 'SIGINT') ?? [];
    // Output still there (written before the exit, or by the group while it was stopped) is all read, however long
    // passing it on takes: reading ends once the pipe has been idle for OUTPUT_QUIET_MS, as a process out of the
    // group may hold it open for ever.
    for (;;) {
      // through an I/O poll before each look, the first too: a timer found the group empty, and what its last
      // process wrote before it exited may not be read yet (lost on a loaded host); a timer that fires late would
      // likewise find data that came meanwhile not read yet, and take the pipe for idle
      await new Promise((resolve) => setImmediate(resolve));
      if (readingOver) break;
      const idleMs = waitingSince === undefined ? 0 : performance.now() - waitingSince;
      if (idleMs >= OUTPUT_QUIET_MS) break;
      await settledWithin(reading, OUTPUT_QUIET_MS - idleMs);
    }
    stopReading.abort();
    child.stdout?.destroy();
    const result = await child;
    await Promise.all([...this.#pipelines.keys()].map((n) => this.#stopPipeline(n)));
    out.off('error', onOutError);
    const spawnFailed = result.exitCode === undefined && result.signal === undefined && result.failed;
    return {
      exitCode: result.exitCode,
      signal: result.signal ?? undefined,
      spawnError: spawnFailed ? ((result.cause as Error | undefined)?.message ?? result.shortMessage) : undefined,
      commandKilledWith: killedWith.length > 0 ? killedWith : undefined,
      pipelineError: (this.#failure ?? this.#failedStopping)?.error,
      failedRing: (this.#failure ?? this.#failedStopping)?.name,
      outOfRestarts: this.#failure?.outOfRestarts ?? false,
      failedWhileStopping: this.#failure === undefined && this.#failedStopping !== undefined,
      stopped: this.#stopped,
      ...(this.#commandStopped ? { commandStopped: true as const } : {}),
      rings: this.summary(),
      announcedAfterExit: this.#announcedAfterExit.size > 0 ? [...this.#announcedAfterExit] : undefined,
    };
  }

  /** What happened to each announced ring so far. */
  summary(): RingSummary[] {
    return [...this.#history].map(([name, record]) => {
      const live = record.live;
      return {
        name,
        framesWritten: record.framesWritten + (live?.framesWritten ?? 0),
        framesWrittenExact: record.framesWrittenExact && (live?.framesWrittenExact ?? true),
        restarts: record.restarts + (live?.restarts ?? 0),
        lastError: record.refused ?? live?.lastError ?? record.lastError,
      };
    });
  }

  /** A start-stream for a ring no writer can open (a name the core refuses): a permanent failure. */
  #refuse(name: string, reason: string): void {
    if (this.#stopped || this.#failure !== undefined) return;
    // the name as read, unless it is too long to show (a 64 KiB line's)
    const shown = name.length <= SHOWN_CHARACTERS ? name : describeValue(name);
    const error = new PipelineError(reason, { code: 'ENAME', permanent: true });
    const record = this.#history.get(shown) ?? newRecord();
    record.refused = error;
    this.#history.set(shown, record);
    this.#failure = { name: shown, error, outOfRestarts: false };
    void this.stop();
  }

  #start(message: StartStreamMessage | StartDuplexMessage): void {
    const record = this.#history.get(message.name) ?? newRecord();
    this.#history.set(message.name, record);
    // once the command has ended its pipelines are being stopped: none may start after
    if (this.#stopped || this.#commandEnded) return;
    const stopping = this.#stopping.get(message.name);
    if (stopping !== undefined) {
      // started once the old pipeline has exited, unless a stop-stream came since
      void stopping.then(() => {
        if (this.#announced.get(message.name) === message) this.#start(message);
      });
      return;
    }
    const name = message.name;
    const duplex = message.method === 'start-duplex';
    // the ring whose reader the pipeline serves: a duplex server reads NAME_request
    const served = duplex ? duplexRingNames(name).request : name;
    const running = this.#pipelines.get(name);
    if (running !== undefined) {
      if (this.#running(message) === undefined) {
        // the reader created its ring again: the old pipeline's ring is gone, a new one starts
        void this.#stopPipeline(name);
        this.#start(message);
        return;
      }
      // (a duplicate is told as a warning before it gets here; this is a start deferred behind a stop)
      this.emit('warning', { type: 'warning', reason: `${message.method} for ring "${name}", which has a pipeline already: ignored`, line: '', raw: new Uint8Array(0) });
      return;
    }
    // the segment of the ring the run is started into (the ring it writes into, unless that is created again meanwhile)
    let runInode: number | undefined;
    const runner = new PipelineRunner({
      source: this.#source, name, restart: this.#restartOption(), restartsInARow: record.restartsInARow,
      sink: duplex ? (this.#options.filterSink ?? 'fakesink') : undefined,
      sinkProperties: duplex
        ? { 'connect-timeout': ANNOUNCED_RING_CONNECT_TIMEOUT_MS }
        : { 'connect-timeout': ANNOUNCED_RING_CONNECT_TIMEOUT_MS, ...givenProperties(this.#options.sinkProperties ?? {}) },
      gstLaunch: this.#options.gstLaunch, pluginPath: this.#options.pluginPath, stopTimeoutMs: this.#stopTimeoutMs,
      shouldRestart: (error) => {
        const serving = () => !this.#stopped && this.#child?.exitCode === null;
        if (!serving()) return false;
        // A run that ended because the served ring's reader went (EREADERGONE from the appended element, not from
        // another zerosink of the source), whose ring is now another segment than the one the run wrote into, met a
        // re-creation, not a failure. Its reader's stop-stream, written before the ring was created again, may
        // still be in the pipe: the restart's delay gives the reading time to stop the runner first.
        const servedReaderWent = error.code === 'EREADERGONE' && error.element !== undefined &&
          isAppendedElement(error.element.element, duplex ? 'zerofilter' : 'zerosink');
        const verdict = (back: boolean) =>
          (back && servedReaderWent && segmentInode(served) !== runInode ? 'recreated' : back);
        return readerAlive(served) ? verdict(true) : readerBack(served, serving).then(verdict);
      },
    });
    this.#pipelines.set(name, runner);
    record.live = runner;
    runner.on('state', (e) => {
      if (e.state === 'starting') runInode = segmentInode(served);
      this.emit('state', name, e);
    });
    runner.on('output', (l) => this.emit('output', name, l));
    runner.on('elementWarning', (w) => this.emit('elementWarning', name, w));
    void runner.done.then((exit) => {
      if (this.#pipelines.get(name) === runner) this.#pipelines.delete(name);
      foldRunner(record, runner);
      // Fatal: it can never write into this ring (permanent), keeps dying,
      // or died for good while the reader waits for it. A permanent failure
      // before its stop is one too: the stop may well be its effect (a duplex
      // server that exits as the failing gst-launch closes its response ring).
      const ownFailure = !exit.stopped || (exit.failedBeforeStop === true && exit.error?.permanent === true);
      const fatal = exit.error !== undefined && ownFailure && !this.#stopped && this.#failure === undefined &&
        (exit.error.permanent || exit.outOfRestarts || (this.#child?.exitCode === null && readerAlive(served)));
      if (fatal) this.#failure = { name, error: exit.error!, outOfRestarts: exit.outOfRestarts };
      // An element's error during a stop's EOS (a stop's SIGKILL without one, or the reader gone, is none: the
      // runner) fails the watch too, as it fails run, whichever stop it was: the watch's end, or a stop-stream's,
      // which its reader may well send right before it exits (the watch's end would then be a matter of timing)
      else if (exit.error !== undefined && exit.stopped) this.#failedStopping ??= { name, error: exit.error };
      this.emit('ended', name, exit, fatal);
      if (fatal) void this.stop();
    });
    runner.start();
  }

  /**
   * The pipeline a start-stream (or start-duplex) would duplicate: one
   * running into the same ring, not being stopped (a start then waits for
   * the stop). Which ring its gst-launch writes is decided now, not when it
   * was spawned: a restart goes into a ring its reader created again after
   * that. A start-stream pipeline whose zerosink has on-reader-lost=wait is
   * never replaced: it goes into the new ring itself.
   */
  #running(message: StartStreamMessage | StartDuplexMessage): PipelineRunner | undefined {
    if (this.#stopped || this.#commandEnded || this.#stopping.has(message.name)) return undefined;
    const runner = this.#pipelines.get(message.name);
    if (runner === undefined) return undefined;
    // zerosink with on-reader-lost=wait moves over to the new ring by itself, and its EOS, were it stopped, would
    // go there too (it connects at an EOS to tell a reader): it ended the new reader's stream before it had a frame
    if (message.method === 'start-stream' && this.#sinkWaitsForReader) return runner;
    const served = message.method === 'start-duplex' ? duplexRingNames(message.name).request : message.name;
    return runner.pid !== undefined && writesOldRing(runner.pid, served) ? undefined : runner;
  }

  /** The restart option of each pipeline (the count in a row its ring's earlier ones left is RingRecord.restartsInARow). */
  #restartOption(): boolean | RestartOptions {
    return validateRestart(this.#options.restart ?? true) ?? false;
  }

  async #stopPipeline(name: string): Promise<void> {
    const runner = this.#pipelines.get(name);
    if (runner === undefined) return;
    const stopped = runner.stop().then(() => {
      if (this.#pipelines.get(name) === runner) this.#pipelines.delete(name);
      if (this.#stopping.get(name) === stopped) this.#stopping.delete(name);
    });
    this.#stopping.set(name, stopped);
    await stopped;
  }

  /**
   * Stops every pipeline (EOS), then the command as Ctrl-C in its terminal
   * would: SIGINT to its process group (a gst-launch with zerosrc removes
   * its ring, a Python reader gets KeyboardInterrupt; SIGTERM kills either
   * without cleanup), SIGTERM after stopTimeoutMs, SIGKILL
   * COMMAND_KILL_AFTER_TERM_MS later (SIGCONT after the SIGINT and the
   * SIGTERM: a stopped command handles them), for all its group: also once the
   * command is gone (a shell that dies of SIGINT while what it started in
   * the background cleans up). Resolves with the result once the group is
   * empty, or got its SIGKILL.
   */
  async stop(): Promise<WatchResult> {
    if (!this.#stopped) {
      this.#stopped = true;
      await Promise.all([...this.#pipelines.keys()].map((n) => this.#stopPipeline(n)));
      const pid = this.#child?.pid;
      if (pid !== undefined && this.#child?.exitCode === null && this.#interrupt === undefined) {
        // (a command killed by a signal has no exitCode either: gone all the same)
        this.#commandStopped = !this.#commandEnded;
        this.#interruptCommand(pid);
      }
    }
    return this.done;
  }

  /**
   * Once the command has exited: what it started and left running is stopped
   * as stop() stops the command, the pipelines first (EOS into rings whose
   * readers are still there), then SIGINT and the later signals (a reader in
   * the background still closes its ring), not killed at once; a stop's
   * schedule already running goes on for them. Resolves once the group is empty.
   */
  async #stopLeftovers(pid: number): Promise<void> {
    if (this.#interrupt === undefined) {
      await Promise.all([...this.#pipelines.keys()].map((n) => this.#stopPipeline(n)));
      if (this.#interrupt === undefined) this.#interruptCommand(pid);
    }
    await this.#interrupt!.over;
  }

  /** SIGINT to the command's group, SIGTERM after stopTimeoutMs, SIGKILL COMMAND_KILL_AFTER_TERM_MS later. */
  #interruptCommand(pid: number): void {
    this.#interrupt = interruptGroup(pid, this.#escalation());
  }

  /** What follows the command's SIGINT for a group still there: SIGTERM after stopTimeoutMs, SIGKILL COMMAND_KILL_AFTER_TERM_MS later. */
  #escalation(): Escalation {
    return [['SIGTERM', this.#stopTimeoutMs], ['SIGKILL', this.#stopTimeoutMs + COMMAND_KILL_AFTER_TERM_MS]];
  }
}

/** What the pipelines into one ring did, for summary(): the sums over those that ended, and the one running. */
interface RingRecord {
  framesWritten: number;
  framesWrittenExact: boolean;
  restarts: number;
  /** The last ended pipeline's restarts in a row: the next one goes on with the count. */
  restartsInARow: number;
  lastError?: PipelineError;
  /** Why no pipeline could start (a name no writer can open). */
  refused?: PipelineError;
  /** The pipeline running (or restarting, or stopping) into it. */
  live?: PipelineRunner;
}

function newRecord(): RingRecord {
  return { framesWritten: 0, framesWrittenExact: true, restarts: 0, restartsInARow: 0 };
}

/** Adds what a pipeline that is over did to its ring's record, which then keeps no reference to it. */
function foldRunner(record: RingRecord, runner: PipelineRunner): void {
  record.framesWritten += runner.framesWritten;
  record.framesWrittenExact &&= runner.framesWrittenExact;
  record.restarts += runner.restarts;
  record.restartsInARow = runner.restartsInARow;
  record.lastError = runner.lastError ?? record.lastError;
  if (record.live === runner) record.live = undefined;
}

/** The inode of ring NAME's segment (/dev/shm/NAME), which tells a ring created again from the one before; undefined if none. */
function segmentInode(name: string): number | undefined {
  try {
    return fs.statSync(`/dev/shm/${name}`).ino;
  } catch {
    return undefined;
  }
}

/**
 * Whether process PID writes a ring NAME that was created again since: it
 * maps a /dev/shm/NAME segment that is not the file there now (unlinked, or
 * "(deleted)"), and is not the writer of the ring there now (it may still
 * map the old one as it moves over). A process that maps none of NAME is
 * still connecting (or between runs): it attaches to the ring there now.
 */
function writesOldRing(pid: number, name: string): boolean {
  let maps: string;
  try {
    maps = fs.readFileSync(`/proc/${pid}/maps`, 'utf8');
  } catch {
    return false; // exited: a restart connects to the ring there now
  }
  const current = segmentInode(name);
  const file = `/dev/shm/${name}`;
  // "address perms offset dev inode path": the path is the rest of the line (a ring name may hold spaces)
  const old = maps.split('\n').some((line) => {
    const m = /^\S+ \S+ \S+ \S+ (\d+) +(.*)$/.exec(line);
    return m !== null && (m[2] === file || m[2] === `${file} (deleted)`) && Number(m[1]) !== current;
  });
  if (!old) return false;
  try {
    return native.healthByName(name).writerPid !== pid;
  } catch {
    return true;
  }
}

/**
 * Whether ring NAME's reader lives. A ring whose entries the core refuses
 * (EPROTO: a corrupt unread entry) still has its reader: then its lock
 * file tells, as listRings() judges it.
 */
function readerAlive(name: string): boolean {
  try {
    return native.healthByName(name).readerAlive;
  } catch (e) {
    if ((e as { code?: unknown }).code !== 'EPROTO') return false;
    try {
      return listRings().some((r) => r.name === name && r.readerAlive);
    } catch {
      return false;
    }
  }
}

/**
 * Whether ring NAME's reader is back within READER_BACK_MS, looked for every
 * READER_POLL_MS while serving() holds: a reader that closes its ring and at
 * once creates it again (no new announcement) has none for a moment, and a
 * pipeline that died then is restarted, not ended as if its reader were gone.
 */
async function readerBack(name: string, serving: () => boolean): Promise<boolean> {
  for (const until = Date.now() + READER_BACK_MS; Date.now() < until;) {
    await sleep(READER_POLL_MS);
    if (!serving()) return false;
    if (readerAlive(name)) return true;
  }
  return false;
}

/**
 * Runs the command and serves its start-stream lines (see Watcher). Throws
 * a TypeError for an option it cannot take, before the command runs.
 */
export function watch(options: WatchOptions): Watcher {
  return new Watcher(options);
}

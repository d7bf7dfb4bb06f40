// Supervises one `gst-launch-1.0 -e --no-fault <source> ! zerosink buffer-name=NAME`:
// state events, graceful stop (SIGINT → EOS, bounded wait, SIGKILL),
// optional restart with capped backoff and a budget, only after transient
// failures (zerosink says which are permanent), and no orphans (see
// child-guard.ts).
import { EventEmitter } from 'node:events';
import { onAbort, settledWithin } from '../abort.js';
import { PipelineError, type ElementError } from '../errors.js';
import { fail, optionNames, refuseUnknownOptions, validateDelay, validateName, validateSignal, validateTimeout } from '../options.js';
import { interruptGroup, killGroup, scheduleTimer, spawnGuarded, type GroupInterrupt } from './child-guard.js';
import { ELEMENT_PATH, OutputTail, eachLine, isElementErrorLine, isPlayingLine, isShutdownLine, type ElementWarning } from './pipeline-output.js';
import { elementNames, endsIn, gstValue, pipelineElements, pipelineWords, propertyWords, sourceWords } from './pipeline-tokens.js';
import { findPluginFiles, pluginLoadFailure, pluginPathVariable, resolvePluginPath } from './plugin-path.js';
import { DEFAULT_MAX_RESTARTS } from './restart-budget.js';
import { CHANNEL_PROPERTY, RING_PROPERTY, refuseRingProperty } from './sink-properties.js';

export type PipelineState = 'starting' | 'playing' | 'stopping' | 'restarting' | 'exited';

export interface PipelineStateEvent {
  state: PipelineState;
  /** gst-launch's pid (starting, playing, stopping, exited). */
  pid?: number;
  /** exited: gst-launch's exit status, or undefined when a signal ended it. */
  exitCode?: number;
  /** exited: the signal that ended it. */
  signal?: string;
  /** exited: the error, when it did not end cleanly; restarting: the failure being retried. */
  error?: PipelineError;
  /** restarting: how long until the next start, in ms. */
  delayMs?: number;
  /**
   * restarting: the run ended because its reader went away, and shouldRestart
   * found the ring created again: a restart into the new ring, not counted
   * (restarts is unchanged) and not backed off (delayMs is initialDelayMs).
   */
  recreated?: boolean;
  /** Restarts so far. */
  restarts: number;
  /** Restarts in a row so far: what the budget (maxRestarts) counts. */
  restartsInARow: number;
}

export interface RestartOptions {
  /**
   * The budget: restarts allowed in a row (Infinity: no limit). A run that
   * stays up 5 s (playing) was no part of a crash loop: the count starts
   * again after it, so rare deaths spread over a long life never use the
   * budget up. When it is used up the pipeline is reported as one that
   * keeps dying (PipelineExit.outOfRestarts).
   * @default 10
   */
  maxRestarts?: number;
  /**
   * First delay before a restart (ms, 0 to 2^31 - 1); doubles each time,
   * back to this after a run that stayed up 5 s. @default 250
   */
  initialDelayMs?: number;
  /** The cap of the delay (ms, 0 to 2^31 - 1). @default 5000 */
  maxDelayMs?: number;
}

export interface PipelineOptions {
  /** The source part of the pipeline (words of a gst-launch description, or the description as one string). */
  source: string | readonly string[];
  /** The ring zerosink writes into. */
  name: string;
  /**
   * Extra zerosink properties, e.g. { policy: 'drop' } (zerofilter's with
   * `sink`). buffer-name (zerofilter's channel), in any spelling GLib reads
   * as it (buffer_name), is refused (a TypeError): it is `name`. A
   * property whose value is undefined is not given. The element is named
   * `zerosink` (`zerofilter`) unless a `name` is given here.
   */
  sinkProperties?: Record<string, string | number | boolean | undefined>;
  /**
   * A filter pipeline instead: `<source> ! zerofilter channel=NAME ! <sink>`,
   * NAME being a duplex channel whose server created NAME_request. Nothing
   * is appended after it: it may end in a zerosink of its own.
   */
  sink?: string | readonly string[];
  /**
   * The gst-launch program.
   * @default 'gst-launch-1.0'
   */
  gstLaunch?: string;
  /**
   * Directory of the zerobuffer plugin (or a ':' list), added to the
   * user's GST_PLUGIN_PATH (GST_PLUGIN_PATH_1_0 when that is set), which
   * comes first.
   * @default this package's own plugin (resolvePluginPath); GStreamer's own directories when it has none
   */
  pluginPath?: string;
  /**
   * Start again when gst-launch fails without stop(), with a doubling
   * delay, but only after a transient failure: not when gst-launch rejected
   * the description or zerosink reported a permanent error (a frame that can
   * never fit, no ring, other caps than the ring's, a bad name, permission
   * denied), nor after a not-linked of zerofilter or of its sink pipeline's
   * elements in a filter pipeline (`sink`: see sinkNotLinked). Failures that zerosink did not classify (another
   * element's error, a crash) count as transient.
   * @default false
   */
  restart?: boolean | RestartOptions;
  /**
   * Asked before each restart, with the failure; false ends supervision
   * (e.g. the reader is gone); 'recreated' (for a run that ended because
   * its reader went away, whose ring a new reader created again) restarts
   * it into the new ring after initialDelayMs (not doubled), not counted as
   * a restart, its error not lastError. Without restart it is asked too,
   * after an EREADERGONE only, where 'recreated' alone goes on (250 ms later). It may resolve later (a promise; rejected counts as false):
   * nothing restarts once stop() or kill() came meanwhile.
   */
  shouldRestart?: (error: PipelineError) => boolean | 'recreated' | Promise<boolean | 'recreated'>;
  /**
   * Restarts in a row made before this runner, by earlier pipelines into
   * the same ring (a supervisor's, as watch()'s): they count against
   * restart.maxRestarts until a run stays up 5 s.
   * @default 0
   */
  restartsInARow?: number;
  /**
   * How long stop() waits for EOS before SIGKILL (ms; -1 or Infinity: no limit).
   * @default 5000
   */
  stopTimeoutMs?: number;
  /** Extra environment variables for gst-launch (string values). */
  env?: Record<string, string>;
  /** Aborting stops the pipeline (like stop()). */
  signal?: AbortSignal;
}

const RESTART_OPTIONS = optionNames<RestartOptions>({ maxRestarts: true, initialDelayMs: true, maxDelayMs: true });
const PIPELINE_OPTIONS = optionNames<PipelineOptions>({
  source: true, name: true, sinkProperties: true, sink: true, gstLaunch: true, pluginPath: true, restart: true,
  shouldRestart: true, restartsInARow: true, stopTimeoutMs: true, env: true, signal: true,
});

export interface PipelineExit {
  exitCode?: number;
  signal?: string;
  /** stop() (or the signal) asked for the end. */
  stopped: boolean;
  /**
   * Stopped, but the run had failed already when stop() came: its element's
   * error was printed (gst-launch on its way out), or gst-launch had exited
   * (also while its restart waited its delay; not for EREADERGONE).
   * error is the run's own then, not the stop's (a stop that the failure
   * itself brought about, such as a duplex server's exit when zerofilter
   * closed its response ring, came too late to be its cause).
   */
  failedBeforeStop?: true;
  /**
   * The last run failed: zerosink's (or gst-launch's) words are in error.message.
   * Not after stop() when it ended by a signal (and printed no element's
   * error before) or because its reader is gone (EREADERGONE).
   */
  error?: PipelineError;
  restarts: number;
  /** The last run failed transiently but the restart budget (maxRestarts) was used up: the pipeline keeps dying. */
  outOfRestarts: boolean;
  /**
   * stop() (or the signal) sent EOS, gst-launch did not end within
   * stopTimeoutMs and zerobuffer killed it with SIGKILL: the timeout (ms). A
   * clean end all the same (no error), but its last frames may be lost.
   */
  killedAfterEosMs?: number;
  /**
   * The last run printed an element's error and had not left its main loop
   * this long after (ms: HUNG_AFTER_ERROR_MS), so zerobuffer killed it with
   * SIGKILL as hung; error.message says so too.
   */
  killedAfterErrorMs?: number;
  /**
   * The last run printed an element's error and left its main loop
   * ("Setting pipeline to NULL ..."), but its teardown had not ended this
   * long after (ms: stopTimeoutMs, the time a stop gives it; never with no
   * limit), so zerobuffer killed it with SIGKILL as hung in its teardown;
   * error.message says so too.
   */
  killedInTeardownMs?: number;
}

/**
 * sinkProperties, gstLaunch, pluginPath and env as a process can be given
 * them: strings (sinkProperties' values also numbers and booleans, made
 * strings), without null bytes. execa would throw as the pipeline starts,
 * after startStream() or watch() returned: an unhandled rejection; a value
 * of another type would be made a string, and gst-launch run with it
 * (pluginPath 5: a plugin path without the plugin; sinkProperties 5: none).
 */
export function validateLaunch(options: Pick<PipelineOptions, 'sinkProperties' | 'gstLaunch' | 'pluginPath' | 'env'>): void {
  const properties: unknown = options.sinkProperties;
  if (properties !== undefined && (typeof properties !== 'object' || properties === null || Array.isArray(properties)))
    fail('sinkProperties', 'an object of property names to values', properties);
  for (const [property, value] of Object.entries(properties ?? {})) {
    if (value !== undefined && typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean')
      fail(`sinkProperties.${property}`, 'a string, number or boolean', value);
  }
  const withNull = propertyWords(options.sinkProperties ?? {}).find((w) => w.includes('\0'));
  if (withNull !== undefined) fail('sinkProperties', 'names and values without null bytes', withNull);
  const program: unknown = options.gstLaunch;
  if (program !== undefined && (typeof program !== 'string' || program === '' || program.includes('\0')))
    fail('gstLaunch', 'a program (its name or path) without null bytes', program);
  const pluginPath: unknown = options.pluginPath;
  if (pluginPath !== undefined && (typeof pluginPath !== 'string' || pluginPath === '' || pluginPath.includes('\0')))
    fail('pluginPath', "a directory (or a ':' list of them) without null bytes", pluginPath);
  const env: unknown = options.env;
  if (env === undefined) return;
  if (typeof env !== 'object' || env === null || Array.isArray(env)) fail('env', 'an object of variable names to string values', env);
  for (const [variable, value] of Object.entries(env)) {
    if (variable === '' || variable.includes('=') || variable.includes('\0'))
      fail('env', 'an object whose variable names are not empty and have no "=" or null bytes', variable);
    if (typeof value !== 'string' || value.includes('\0')) fail(`env.${variable}`, 'a string without null bytes', value);
  }
}

export function validateRestart(value: unknown): Required<RestartOptions> | undefined {
  if (value === undefined || value === false) return undefined;
  const o: RestartOptions = value === true ? {} : (value as RestartOptions);
  if (typeof o !== 'object' || o === null) fail('restart', 'a boolean or { maxRestarts, initialDelayMs, maxDelayMs }', value);
  refuseUnknownOptions(o, RESTART_OPTIONS, 'restart.');
  const max = o.maxRestarts ?? DEFAULT_MAX_RESTARTS;
  if (typeof max !== 'number' || !(Number.isSafeInteger(max) || max === Infinity) || max < 0)
    fail('restart.maxRestarts', 'an integer >= 0 (Infinity: no limit)', max);
  return {
    maxRestarts: max,
    initialDelayMs: validateDelay('restart.initialDelayMs', o.initialDelayMs, 250),
    maxDelayMs: validateDelay('restart.maxDelayMs', o.maxDelayMs, 5000),
  };
}

/** What the CLI says of a run stop() killed (PipelineExit.killedAfterEosMs). */
export function killedAfterEosText(ms: number): string {
  return `gst-launch did not stop within ${ms / 1000} s of its EOS: zerobuffer killed it with SIGKILL`;
}

/**
 * How long stop() waits for the EOS before SIGKILL, unless stopTimeoutMs is given (ms); watch() waits as long for its
 * command's group after the SIGINT.
 */
export const DEFAULT_STOP_TIMEOUT_MS = 5000;

/** A run that stayed up this long (playing) resets the restart delay and the count of restarts in a row (ms). */
const STABLE_MS = 5000;

/**
 * How long gst-launch may take, after printing an element's error, to leave
 * its main loop ("Setting pipeline to NULL ...") before it is taken as hung
 * and killed (ms). gst-launch 1.22 quits its main loop from the thread that
 * posts the error; when that happens before the loop runs (an error during
 * preroll, e.g. zerosink's "can never fit"), the quit is lost and it would
 * wait forever.
 */
export const HUNG_AFTER_ERROR_MS = 500;

/**
 * How long after the pipeline went PLAYING a property value gst-launch
 * refused with a warning only still ends the run (ms). gst-launch sets the
 * description's values as it parses it, before it plays; the window covers
 * stdout's PLAYING line overtaking stderr's warning. A later one (a child a
 * bin makes while playing, an element's own setting) stays in the output
 * and ends nothing.
 */
const REFUSED_VALUE_WINDOW_MS = 1000;

/**
 * The element path (ElementError.element) is that of the zerosink or
 * zerofilter a PipelineRunner appended itself (named after its factory),
 * not one of the source's own.
 */
export function isAppendedElement(path: string, element: 'zerosink' | 'zerofilter'): boolean {
  const own = element === 'zerosink' ? 'GstZeroSink:zerosink' : 'GstZeroFilter:zerofilter';
  return new RegExp(`^/GstPipeline:[^/]+/${own}$`).test(path);
}

/** The paths of the elements gst-launch's output says stopped streaming for want of a link ("reason not-linked"). */
export function notLinkedElements(output: string): string[] {
  const notLinked = new RegExp(`^ERROR: from element (${ELEMENT_PATH}): Internal data stream error\\.\\n\\s*streaming stopped, reason not-linked\\b`, 'gm');
  return [...output.matchAll(notLinked)].map((m) => m[1]!);
}

/**
 * A not-linked (notLinkedElements) of zerofilter or an element after it (`filterElements`: their names,
 * elementNames), a child of the pipeline itself: the sink pipeline sends zerofilter's answers into an output linked
 * to nothing (it ends in no sink element; at EOS a queue there says so, else zerofilter). Permanent: gst-launch links
 * the description's pads as it parses it (a decodebin's later pads in pad-added, before data flows through them), so
 * the same description fails the same way every run. A not-linked of the source's elements is not taken so (a
 * uridecodebin whose pads gst-launch links in whichever order they come), nor of an element inside a bin.
 */
export function sinkNotLinked(output: string, filterElements: ReadonlySet<string>): boolean {
  return notLinkedElements(output).some((path) => {
    const child = /^\/GstPipeline:[^/]+\/[^/:]+:([^/]+)$/.exec(path);
    return child !== null && filterElements.has(child[1]!);
  });
}

export class PipelineRunner extends EventEmitter<{ state: [PipelineStateEvent]; output: [string]; elementWarning: [ElementWarning] }> {
  readonly name: string;
  readonly args: readonly string[];
  readonly #options: PipelineOptions;
  readonly #restart?: Required<RestartOptions>;
  readonly #stopTimeoutMs: number;
  /** A filter pipeline's: the names of zerofilter and the elements after it (sinkNotLinked). */
  readonly #filterElements?: ReadonlySet<string>;
  /** An element's warning (gst-launch's "WARNING: from element"): the element went on, maybe degraded (zerofilter on-error=pass). */
  readonly #tail = new OutputTail(60, (w) => this.emit('elementWarning', w));
  #child?: ReturnType<typeof spawnGuarded>;
  #state: PipelineState | 'idle' = 'idle';
  #started = false;
  #stopping = false;
  #restarts = 0;
  /** Restarts since the last run that stayed up STABLE_MS (or since the start): what the budget counts. */
  #restartsInARow = 0;
  #delay = 0;
  #timer?: NodeJS.Timeout;
  /** stop()'s signals to the running gst-launch's group: SIGINT (EOS), SIGKILL after stopTimeoutMs. */
  #stopInterrupt?: GroupInterrupt;
  /** The watch for a run hung after an element's error: before it left its main loop, then in its teardown. */
  #cancelHungWatch?: () => void;
  /** Why this run was killed as hung (#killRun). */
  #killedHung?: 'afterError' | 'inTeardown';
  /** This run printed an element's error. */
  #errorPrinted = false;
  /** stop() came once the run had failed already (PipelineExit.failedBeforeStop). */
  #failedBeforeStop = false;
  /** restarting: ends the runner as a stop before the next start does (#restartOrEnd). */
  #endRestartWait?: () => void;
  /** This run was killed for a property value gst-launch refused with a warning only (OutputTail.refused). */
  #killedRefused = false;
  #playingSince = 0;
  #framesWritten = 0;
  #framesWrittenExact = true;
  #lastError?: PipelineError;
  #finish!: (exit: PipelineExit) => void;
  /** Resolves when the pipeline is over for good (stopped, or failed without restart). */
  readonly done: Promise<PipelineExit>;

  constructor(options: PipelineOptions) {
    super();
    if (typeof options !== 'object' || options === null) fail('options', 'an object', options);
    refuseUnknownOptions(options, PIPELINE_OPTIONS);
    const source = options.sink === undefined ? sourceWords('source', options.source) : pipelineWords('source', options.source);
    if (options.sink !== undefined && endsIn(source, 'zerofilter'))
      throw new TypeError(
        'the source already ends in zerofilter, but a filter pipeline gets "! zerofilter channel=<name>" added: ' +
          "end it before zerofilter and give zerofilter's properties with --sink-property name=value (sinkProperties in the API)",
      );
    // (run's reason, that zerosink is appended, would be wrong here, and so would its --sink-property, zerofilter's)
    if (options.sink !== undefined && endsIn(source, 'zerosink'))
      throw new TypeError(
        'the source ends in zerosink, which has no output for the "! zerofilter channel=<name>" a filter pipeline gets added: ' +
          'end it before zerosink (a zerosink of your own goes at the end of the sink pipeline, or of a tee\'s branch)',
      );
    if (options.name === undefined) fail('name', 'a ring name', undefined);
    this.name = validateName(options.name);
    validateLaunch(options);
    if (options.sink === undefined) refuseRingProperty(options.sinkProperties, RING_PROPERTY, 'zerosink writes into the ring named by option "name"');
    else refuseRingProperty(options.sinkProperties, CHANNEL_PROPERTY, 'zerofilter joins the channel named by option "name"');
    this.#restart = validateRestart(options.restart);
    const inARow: unknown = options.restartsInARow ?? 0;
    if (!(Number.isSafeInteger(inARow) && (inARow as number) >= 0)) fail('restartsInARow', 'a whole number of 0 or more', inARow);
    this.#restartsInARow = inARow as number;
    this.#stopTimeoutMs = validateTimeout('stopTimeoutMs', options.stopTimeoutMs, DEFAULT_STOP_TIMEOUT_MS);
    validateSignal(options.signal);
    this.#options = options;
    this.#delay = this.#restart?.initialDelayMs ?? 0;
    // Named after its factory: GStreamer's own names have a number (zerosink0), so no element
    // of the source takes this one, and its errors are told from theirs (isAppendedElement).
    // A name among the properties is the user's, and stays.
    const element = options.sink === undefined ? 'zerosink' : 'zerofilter';
    const properties = propertyWords({ ...options.sinkProperties, name: options.sinkProperties?.['name'] ?? element });
    // --no-fault: gst-launch's own SIGSEGV (and SIGQUIT) handler does not end
    // it but spins, waiting for a debugger, forever: a crashed run must die of
    // its signal, to be told and restarted.
    const launch = ['-e', '--no-fault', ...source, '!'];
    if (options.sink === undefined) this.args = [...launch, element, `buffer-name=${gstValue(this.name)}`, ...properties];
    else {
      const filter = [element, `channel=${gstValue(this.name)}`, ...properties, '!', ...pipelineWords('sink', options.sink)];
      this.args = [...launch, ...filter];
      // named as gst-launch names them: counted over the whole description
      this.#filterElements = new Set(elementNames([...source, '!', ...filter]).slice(pipelineElements(source).length));
    }
    this.done = new Promise((resolve) => (this.#finish = resolve));
    if (options.signal !== undefined) {
      // An aborted signal stops the runner before it starts; the listener
      // goes once it is over, as the signal may outlive many runners.
      const stopListening = onAbort(options.signal, () => void this.stop());
      void this.done.then(stopListening);
    }
  }

  get state(): PipelineState | 'idle' {
    return this.#state;
  }
  /** The running gst-launch's pid: from its 'starting' event to its exit. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }
  get restarts(): number {
    return this.#restarts;
  }
  /** Restarts since the last run that stayed up 5 s, with restartsInARow given: what the budget (maxRestarts) counts. */
  get restartsInARow(): number {
    return this.#restartsInARow;
  }
  /** The last lines gst-launch printed. */
  get output(): string {
    return this.#tail.text;
  }
  /** Frames zerosink wrote into the ring, over every run (see framesWrittenExact). */
  get framesWritten(): number {
    return this.#framesWritten;
  }
  /** False when a run that had played ended without zerosink telling its count (killed): framesWritten is then a lower bound. */
  get framesWrittenExact(): boolean {
    return this.#framesWrittenExact;
  }
  /** The failure of the latest run that failed, also when it was restarted since. */
  get lastError(): PipelineError | undefined {
    return this.#lastError;
  }

  #emit(event: Omit<PipelineStateEvent, 'restarts' | 'restartsInARow'>): void {
    if (event.state !== 'exited' || this.#state !== 'exited') this.#state = event.state;
    this.emit('state', { ...event, restarts: this.#restarts, restartsInARow: this.#restartsInARow });
  }

  /**
   * Starts gst-launch (once; restarts are the runner's business). A runner
   * stopped before it started (stop(), or its signal) stays stopped.
   */
  start(): this {
    if (this.#started) throw new Error(`pipeline for "${this.name}" was already started`);
    this.#started = true;
    if (this.#stopping) return this;
    void this.#launch();
    return this;
  }

  async #launch(): Promise<void> {
    this.#tail.reset();
    this.#state = 'starting';
    const env: Record<string, string> = { ...this.#options.env };
    const pluginPath = resolvePluginPath({ pluginPath: this.#options.pluginPath, env: { ...process.env, ...env } });
    if (pluginPath !== undefined) env[pluginPath.variable] = pluginPath.value;
    const launchEnv = { ...process.env, ...env };
    // where gst-launch looks besides GStreamer's own directories: the user's path, then ours
    const gstPluginPath = launchEnv[pluginPathVariable(launchEnv)];
    const child = spawnGuarded(this.#options.gstLaunch ?? 'gst-launch-1.0', this.args, {
      env, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', reject: false, buffer: false,
    });
    this.#child = child;
    this.#emit({ state: 'starting', pid: child.pid });
    this.#killedHung = undefined;
    this.#killedRefused = false;
    this.#errorPrinted = false;
    /** This run printed its shutdown line (isShutdownLine): it left its main loop, no watch for a lost quit. */
    let leftMainLoop = false;
    // After both an element's error and the shutdown line (read in either order), the teardown gets as long as a
    // stop gives gst-launch: one that never ends (a wedged element's state change) was else waited for for ever.
    // Both watches run on scheduleTimer: the time this process spends stopped (Ctrl-Z stops gst-launch with it) does
    // not count.
    const watchTeardown = (): void => {
      this.#cancelHungWatch?.();
      // (no limit, or one longer than setTimeout takes, which would fire at once: no watch)
      this.#cancelHungWatch = this.#stopTimeoutMs > 2 ** 31 - 1 ? undefined
        : scheduleTimer(() => this.#killRun(child.pid, 'inTeardown'), this.#stopTimeoutMs);
    };
    const onLine = (line: string, from: string): void => {
      this.#tail.add(line, from);
      // Taken note of before the line is handed out: a listener that stops the runner on the error finds it printed
      // (PipelineExit.failedBeforeStop). Also while stopping: an error during the stop (zerofilter's timeout while its
      // EOS waits) loses the quit just the same.
      if (isElementErrorLine(line)) {
        const first = !this.#errorPrinted;
        this.#errorPrinted = true;
        // two pipes keep no order between them: the shutdown line (stdout) may be read before the error (stderr)
        // printed ahead of it, and a watch for a lost quit armed then killed a gst-launch slow over its teardown as hung
        if (leftMainLoop) {
          if (first) watchTeardown();
        } else if (this.#cancelHungWatch === undefined) {
          this.#cancelHungWatch = scheduleTimer(() => this.#killRun(child.pid, 'afterError'), HUNG_AFTER_ERROR_MS);
        }
      } else if (isShutdownLine(line) && !leftMainLoop) {
        leftMainLoop = true;
        if (this.#errorPrinted) watchTeardown();
        else {
          this.#cancelHungWatch?.();
          this.#cancelHungWatch = undefined;
        }
      }
      this.emit('output', line);
      if (this.#tail.refused !== undefined && !this.#killedRefused && !this.#playedFor(REFUSED_VALUE_WINDOW_MS))
        this.#killRun(child.pid, 'refused');
      if (isPlayingLine(line) && this.#state === 'starting') {
        this.#playingSince = Date.now();
        this.#emit({ state: 'playing', pid: child.pid });
      }
    };
    // Lines are cut at MAX_OUTPUT_LINE: a flood without line ends must not grow without bound.
    const closed = [child.stdout!, child.stderr!].map((s, i) => eachLine(s, (l) => onLine(l, i === 0 ? 'stdout' : 'stderr')));
    const result = await child;
    await settledWithin(Promise.all(closed), 500);
    this.#tail.end();
    const loadFailure = await this.#pluginLoadFailure(gstPluginPath);
    this.#exited(result.exitCode, result.signal ?? undefined, result.failed && result.exitCode === undefined && !result.signal ? result.message : undefined, loadFailure);
  }

  /**
   * gst-launch found none of our elements although plugin files are on its
   * plugin path (the user's directories, or ours): why GStreamer cannot load
   * them (pluginLoadFailure), which gst-launch does not say.
   */
  async #pluginLoadFailure(gstPluginPath: string | undefined): Promise<string | undefined> {
    if (!this.#tail.rejected || gstPluginPath === undefined || !/no element "zero(?:sink|src|filter)"/.test(this.#tail.errors)) return undefined;
    return pluginLoadFailure(findPluginFiles(gstPluginPath));
  }

  /** Whether this run has been playing for ms or more. */
  #playedFor(ms: number): boolean {
    return this.#playingSince > 0 && Date.now() - this.#playingSince >= ms;
  }

  /**
   * SIGKILLs the run's process group and marks why: afterError, gst-launch
   * printed an element's error but did not leave its main loop
   * (HUNG_AFTER_ERROR_MS); inTeardown, it left it after such an error, but
   * its teardown did not end (stopTimeoutMs);
   * refused, gst-launch refused a property value with GLib's warning only
   * and runs with the property's default (a value it cannot parse is refused
   * as "erroneous pipeline"): the description as given cannot run, so the
   * run ends at once and fails as rejected (#failure), never restarted.
   */
  #killRun(pid: number | undefined, why: 'afterError' | 'inTeardown' | 'refused'): void {
    if ((this.#stopping && why === 'refused') || pid === undefined || this.#child?.pid !== pid) return;
    if (why === 'refused') this.#killedRefused = true;
    else this.#killedHung = why;
    killGroup(pid, 'SIGKILL');
  }

  #exited(exitCode: number | undefined, signal: string | undefined, spawnError: string | undefined, pluginLoadFailure: string | undefined): void {
    const pid = this.#child?.pid;
    this.#child = undefined;
    clearTimeout(this.#timer);
    this.#cancelHungWatch?.();
    this.#cancelHungWatch = undefined;
    if (this.#tail.framesWritten !== undefined) this.#framesWritten += this.#tail.framesWritten;
    else if (this.#playingSince > 0) this.#framesWrittenExact = false;
    // A run that stayed up was no part of a crash loop: the budget counts failures in a row since the last one (as
    // systemd's start limit and pm2's min_uptime do), so a service with rare transient deaths over weeks is not ended.
    if (this.#playedFor(STABLE_MS)) {
      this.#restartsInARow = 0;
      this.#delay = this.#restart?.initialDelayMs ?? 0;
    }
    // Once stop() asked for the end, a reader that closed its ring meanwhile
    // (it said stop-stream and went; close() closing ours) only ended the run
    // sooner: zerosink's EREADERGONE then is no failure. A run the stop's
    // SIGKILL ended is clean, unless an element's error came first (then it
    // was killed as hung, or its EOS could not pass): that error is the run's.
    const readerWent = this.#tail.elementError?.name === 'EREADERGONE';
    const clean = !this.#killedRefused && (exitCode === 0 ||
      (this.#stopping && (readerWent || (signal !== undefined && !this.#errorPrinted))));
    const error = clean ? undefined : this.#failure(exitCode, signal, spawnError, pluginLoadFailure);
    const errorBefore = this.#lastError;
    if (error !== undefined) this.#lastError = error;
    this.#emit({ state: 'exited', pid, exitCode, signal, error });
    const exit: PipelineExit = { exitCode, signal, stopped: this.#stopping, error, restarts: this.#restarts, outOfRestarts: false };
    if (error !== undefined && this.#stopping && this.#failedBeforeStop) exit.failedBeforeStop = true;
    if (signal === 'SIGKILL' && this.#stopInterrupt?.sent.includes('SIGKILL') === true) exit.killedAfterEosMs = this.#stopTimeoutMs;
    else if (signal === 'SIGKILL' && this.#killedHung === 'afterError') exit.killedAfterErrorMs = HUNG_AFTER_ERROR_MS;
    else if (signal === 'SIGKILL' && this.#killedHung === 'inTeardown') exit.killedInTeardownMs = this.#stopTimeoutMs;
    // Without restarts a run its reader's going ended is still asked about: a ring created again is no restart.
    if (this.#stopping || error === undefined || error.permanent || (this.#restart === undefined && error.code !== 'EREADERGONE')) {
      this.#end(exit);
      return;
    }
    const budget = this.#restart ?? validateRestart(true)!;
    // only false refuses (as before a promise was allowed); a promise is awaited
    const verdict: unknown = this.#options.shouldRestart?.(error);
    if (!(verdict instanceof Promise)) this.#restartOrEnd(exit, error, errorBefore, budget, verdict === 'recreated' ? verdict : verdict !== false);
    else {
      void verdict.catch(() => false).then((restart) => {
        if (this.#stopping) {
          // a stop() (or kill()) while the verdict was awaited ends it: it found no run to stop; as for a stop before
          // the exit, a reader that closed its ring meanwhile (its stop-stream was still on its way) only ended the run sooner
          const readerWent = error.code === 'EREADERGONE';
          if (readerWent) this.#lastError = errorBefore;
          this.#end({ ...exit, stopped: true, ...(readerWent ? { error: undefined } : { failedBeforeStop: true }) });
        } else this.#restartOrEnd(exit, error, errorBefore, budget, restart === 'recreated' ? restart : restart !== false);
      });
    }
  }

  /**
   * After a transient failure: a restart after the backoff delay, unless refused, out of restarts in a row or
   * without restarts. A ring created again ('recreated') is no failure: restarted into it after initialDelayMs
   * (restarts or not), not counted, its error not the last.
   */
  #restartOrEnd(exit: PipelineExit, error: PipelineError, errorBefore: PipelineError | undefined, budget: Required<RestartOptions>,
    restart: boolean | 'recreated'): void {
    if (restart === false || (this.#restart === undefined && restart !== 'recreated')) {
      this.#end(exit);
      return;
    }
    const recreated = restart === 'recreated';
    if (!recreated && this.#restartsInARow >= budget.maxRestarts) {
      this.#end({ ...exit, outOfRestarts: true });
      return;
    }
    let delayMs = budget.initialDelayMs;
    if (recreated) this.#lastError = errorBefore;
    else {
      delayMs = this.#delay;
      this.#delay = Math.min(this.#delay * 2, budget.maxDelayMs);
      this.#restarts++;
      this.#restartsInARow++;
    }
    this.#playingSince = 0;
    // A stop before the next start finds the run failed as one while gst-launch was on its way out does: the failure is
    // the run's (failedBeforeStop); a reader's going only ended the run sooner, a ring created again is no failure.
    const readerWent = error.code === 'EREADERGONE';
    this.#endRestartWait = () => {
      if (readerWent) this.#lastError = errorBefore;
      const stopped = { ...exit, stopped: true, restarts: this.#restarts };
      this.#end(readerWent ? { ...stopped, error: undefined } : { ...stopped, failedBeforeStop: true as const });
    };
    // armed before the event: a stop() from one of its listeners ends the wait (#end clears the timer)
    this.#timer = setTimeout(() => {
      this.#endRestartWait = undefined;
      void this.#launch();
    }, delayMs);
    this.#emit({ state: 'restarting', delayMs, error, ...(recreated ? { recreated } : {}) });
  }

  /** The error of a run that did not end cleanly: zerosink's classified error when it posted one, else gst-launch's words. */
  #failure(exitCode: number | undefined, signal: string | undefined, spawnError: string | undefined, pluginLoadFailure: string | undefined): PipelineError {
    if (spawnError !== undefined) {
      // Never ran (no status, no signal): restarting cannot help. Not on the
      // PATH is what a user who has Node but not GStreamer's tools meets first;
      // a path (with a slash) is not looked up there: that file is missing.
      const command = this.#options.gstLaunch ?? 'gst-launch-1.0';
      // the code ends the text ("spawn COMMAND ENOENT"): the command and its words before it may hold anything
      const code = /\b(E[A-Z]+)$/.exec(spawnError)?.[1];
      const why = code === 'EACCES' ? `\n${command} is not executable (a directory, or a file without this user's execute permission)`
        : code !== 'ENOENT' ? ''
          : command.includes('/') ? `\n${command} does not exist (a path is run as given, not looked up on the PATH)`
            : `\n${command} is not on the PATH: zerobuffer runs GStreamer's command-line tools, which npm does not install ` +
              '(Debian, Ubuntu: apt install gstreamer1.0-tools gstreamer1.0-plugins-base; README, "Installing")';
      return new PipelineError(`${command} could not be started: ${spawnError}${why}`,
        { output: '', code: 'EPIPELINE', permanent: true, spawnError });
    }
    const refused = this.#tail.refused;
    if (this.#killedRefused && refused !== undefined) {
      return new PipelineError(`gst-launch refused the value ${JSON.stringify(refused.value)} of property '${refused.property}' ` +
        `and would have run with its default instead, so zerobuffer killed it with SIGKILL (gst-inspect-1.0 <element> lists each property's range):\n` +
        `WARNING: ${refused.warning}`, { exitCode, signal, output: this.#tail.text, code: 'EPIPELINE_REJECTED', rejected: true });
    }
    const how = exitCode !== undefined ? `exited with status ${exitCode}`
      : this.#killedHung === 'afterError' ? 'hung after an error and zerobuffer killed it with SIGKILL'
        : this.#killedHung === 'inTeardown' ? `hung in its teardown after an error (not exited ${this.#stopTimeoutMs / 1000} s after ` +
          '"Setting pipeline to NULL") and zerobuffer killed it with SIGKILL'
          : `was killed by ${signal}`;
    const options = { exitCode, signal, output: this.#tail.text };
    const element: ElementError | undefined = this.#tail.elementError;
    if (element !== undefined) {
      const hint = element.hint === '' ? '' : `\n${element.hint.split('\n').map((l) => `  ${l}`).join('\n')}`;
      return new PipelineError(`${element.message}${hint}`, {
        ...options, code: element.name, permanent: element.permanent, element,
      });
    }
    const said = this.#tail.errors || spawnError || this.#tail.text.split('\n').slice(-5).join('\n');
    return new PipelineError(`gst-launch ${how}${said ? `:\n${said}` : ''}${pluginLoadFailure === undefined ? '' : `\n${pluginLoadFailure}`}`, {
      ...options, code: this.#tail.rejected ? 'EPIPELINE_REJECTED' : 'EPIPELINE', rejected: this.#tail.rejected, pluginLoadFailure,
      permanent: this.#filterElements !== undefined && sinkNotLinked(this.#tail.errors, this.#filterElements),
    });
  }

  #end(exit: PipelineExit): void {
    clearTimeout(this.#timer);
    this.#state = 'exited';
    this.#finish(exit);
  }

  /**
   * Stops gracefully: SIGINT to its process group (gst-launch -e sends EOS,
   * so the reader sees a clean end of stream), then SIGKILL to it after
   * stopTimeoutMs. Resolves when it is over; idempotent.
   */
  async stop(): Promise<PipelineExit> {
    if (!this.#stopping) {
      this.#stopping = true;
      const child = this.#child;
      if (this.#state === 'idle') {
        this.#end({ stopped: true, restarts: 0, outOfRestarts: false });
      } else if (child === undefined) {
        if (this.#state === 'restarting') this.#endRestartWait?.();
      } else {
        this.#failedBeforeStop = this.#errorPrinted || child.exitCode !== null || child.signalCode !== null;
        this.#emit({ state: 'stopping', pid: child.pid });
        // (no pid: it could not be started, and its end is on its way)
        if (child.pid !== undefined) this.#stopInterrupt = interruptGroup(child.pid, [['SIGKILL', this.#stopTimeoutMs]]);
      }
    }
    return this.done;
  }

  /** Kills the whole group at once (no EOS); resolves when it is over. */
  async kill(): Promise<PipelineExit> {
    this.#stopping = true;
    const pid = this.#child?.pid;
    if (pid !== undefined) {
      killGroup(pid, 'SIGKILL');
    } else if (this.#state === 'restarting') {
      this.#endRestartWait?.();
    } else if (this.#state !== 'starting') {
      this.#end({ stopped: true, restarts: this.#restarts, outOfRestarts: false });
    }
    return this.done;
  }
}

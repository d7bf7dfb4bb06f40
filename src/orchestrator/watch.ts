// watch(): runs a reader written in any language, passes its output on,
// and starts `<pipeline> ! zerosink` into every ring it announces; its
// stop-stream or its exit stops the pipeline.
import { EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';
import type { PipelineError } from '../errors.js';
import { readLines } from '../line-protocol/read-lines.js';
import type { StartStreamMessage } from '../line-protocol/messages.js';
import type { WarningEvent } from '../line-protocol/parse-line.js';
import { native } from '../native.js';
import { fail, validateSignal } from '../options.js';
import { killGroup, spawnGuarded } from '../runner/child-guard.js';
import { sourceWords } from '../runner/pipeline-tokens.js';
import { PipelineRunner, type PipelineStateEvent, type RestartOptions } from '../runner/pipeline-runner.js';

export interface WatchOptions {
  /** The reader to run: program and arguments (no shell). */
  command: readonly string[];
  /** The source pipeline started into each announced ring. */
  pipeline: string | readonly string[];
  /**
   * Restart a pipeline that dies while its reader lives.
   * @default true
   */
  restart?: boolean | RestartOptions;
  /** Extra zerosink properties. */
  sinkProperties?: Record<string, string | number | boolean | undefined>;
  /** @default 'gst-launch-1.0' */
  gstLaunch?: string;
  /** Directory of the zerobuffer plugin (see PipelineOptions.pluginPath). */
  pluginPath?: string;
  /**
   * How long a stop waits for EOS, and for the command to exit after SIGTERM, before SIGKILL (ms).
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
  /** Aborting stops the pipelines and the command. */
  signal?: AbortSignal;
}

export interface WatchResult {
  /** The command's exit status (undefined when a signal ended it). */
  exitCode?: number;
  signal?: string;
  /** A pipeline that failed for good (rejected by gst-launch, or out of restarts). */
  pipelineError?: PipelineError;
  /** stop() or the signal ended the watch. */
  stopped: boolean;
}

export interface WatchEvents {
  /** A valid start-stream / stop-stream line. */
  message: [StartStreamMessage | { method: 'stop-stream'; name: string }];
  /** A protocol line that was ignored, and why. */
  warning: [WarningEvent];
  /** A pipeline's state. */
  state: [string, PipelineStateEvent];
  /** A line gst-launch printed. */
  output: [string, string];
  /** The command started (its pid). */
  spawn: [number];
}

export class Watcher extends EventEmitter<WatchEvents> {
  readonly #options: WatchOptions;
  readonly #source: string[];
  readonly #pipelines = new Map<string, PipelineRunner>();
  /** Every ring a start-stream named, so that a stop-stream for another is reported. */
  readonly #announced = new Set<string>();
  readonly #child: ReturnType<typeof spawnGuarded>;
  #stopped = false;
  #pipelineError?: PipelineError;
  /** Resolves when the command has exited and every pipeline is stopped. */
  readonly done: Promise<WatchResult>;

  /** @internal use watch() */
  constructor(options: WatchOptions) {
    super();
    if (typeof options !== 'object' || options === null) fail('options', 'an object', options);
    if (!Array.isArray(options.command) || options.command.length === 0 || !options.command.every((w) => typeof w === 'string'))
      fail('command', 'a non-empty array of strings (program and arguments)', options.command);
    this.#source = sourceWords('pipeline', options.pipeline);
    const signal = validateSignal(options.signal);
    this.#options = options;
    const [file, ...args] = options.command;
    this.#child = spawnGuarded(file!, args, { stdin: 'inherit', stdout: 'pipe', stderr: 'inherit', reject: false, buffer: false });
    if (this.#child.pid !== undefined) queueMicrotask(() => this.emit('spawn', this.#child.pid!));
    signal?.addEventListener('abort', () => void this.stop(), { once: true });
    this.done = this.#run();
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Rings with a pipeline running (or restarting). */
  get streams(): string[] {
    return [...this.#pipelines.keys()];
  }

  pipeline(name: string): PipelineRunner | undefined {
    return this.#pipelines.get(name);
  }

  async #run(): Promise<WatchResult> {
    const out = this.#options.stdout ?? process.stdout;
    const reading = (async () => {
      for await (const event of readLines(this.#child.stdout!, { maxLineBytes: this.#options.maxLineBytes })) {
        if (event.type === 'log') {
          if (!out.write(event.raw)) await new Promise((r) => out.once('drain', r));
        } else if (event.type === 'warning') {
          this.emit('warning', event);
        } else if (event.message.method === 'stop-stream' && !this.#announced.has(event.message.name)) {
          this.emit('warning', {
            type: 'warning', reason: `stop-stream for ring "${event.message.name}", which no start-stream announced: ignored`,
            line: event.line, raw: event.raw,
          });
        } else {
          this.emit('message', event.message);
          if (event.message.method === 'start-stream') this.#start(event.message);
          else void this.#stopPipeline(event.message.name);
        }
      }
    })();
    const result = await this.#child;
    await Promise.race([reading.catch(() => {}), new Promise((r) => setTimeout(r, 1000))]);
    await Promise.all([...this.#pipelines.keys()].map((n) => this.#stopPipeline(n)));
    return {
      exitCode: result.exitCode,
      signal: result.signal ?? undefined,
      pipelineError: this.#pipelineError,
      stopped: this.#stopped,
    };
  }

  #start(message: StartStreamMessage): void {
    this.#announced.add(message.name);
    if (this.#stopped) return;
    if (this.#pipelines.has(message.name)) {
      this.emit('warning', { type: 'warning', reason: `ring "${message.name}" already has a pipeline: start-stream ignored`, line: '', raw: new Uint8Array(0) });
      return;
    }
    const name = message.name;
    const runner = new PipelineRunner({
      source: this.#source, name, restart: this.#options.restart ?? true, sinkProperties: this.#options.sinkProperties,
      gstLaunch: this.#options.gstLaunch, pluginPath: this.#options.pluginPath, stopTimeoutMs: this.#options.stopTimeoutMs,
      shouldRestart: () => !this.#stopped && this.#child.exitCode === null && readerAlive(name),
    });
    this.#pipelines.set(name, runner);
    runner.on('state', (e) => this.emit('state', name, e));
    runner.on('output', (l) => this.emit('output', name, l));
    void runner.done.then((exit) => {
      if (this.#pipelines.get(name) === runner) this.#pipelines.delete(name);
      if (exit.error !== undefined && !exit.stopped && !this.#stopped && this.#child.exitCode === null) {
        // It can never write into this ring: the reader would wait forever.
        if (exit.error.rejected || readerAlive(name)) {
          this.#pipelineError ??= exit.error;
          void this.stop();
        }
      }
    });
    runner.start();
  }

  async #stopPipeline(name: string): Promise<void> {
    const runner = this.#pipelines.get(name);
    if (runner === undefined) return;
    await runner.stop();
    if (this.#pipelines.get(name) === runner) this.#pipelines.delete(name);
  }

  /**
   * Stops every pipeline (EOS), then the command (SIGTERM to its process
   * group, SIGKILL after stopTimeoutMs). Resolves with the result.
   */
  async stop(): Promise<WatchResult> {
    if (!this.#stopped) {
      this.#stopped = true;
      await Promise.all([...this.#pipelines.keys()].map((n) => this.#stopPipeline(n)));
      const pid = this.#child.pid;
      if (pid !== undefined && this.#child.exitCode === null) {
        killGroup(pid, 'SIGTERM');
        const t = setTimeout(() => killGroup(pid, 'SIGKILL'), this.#options.stopTimeoutMs ?? 5000);
        void this.done.finally(() => clearTimeout(t));
      }
    }
    return this.done;
  }
}

function readerAlive(name: string): boolean {
  try {
    return native.healthByName(name).readerAlive;
  } catch {
    return false;
  }
}

/** Runs the command and serves its start-stream lines (see Watcher). */
export function watch(options: WatchOptions): Watcher {
  return new Watcher(options);
}

// startStream(): a reader created here, a gst-launch pipeline writing into
// it, and one object to consume frames, watch state and close it all.
import { EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';
import { onAbort } from '../abort.js';
import { PipelineError, WriterGoneError, ZeroBufferError } from '../errors.js';
import type { Frame } from '../frame.js';
import { announce, formatMessage } from '../line-protocol/format.js';
import {
  fail, isWritableStream, optionNames, refuseUnknownOptions, validateName, validateOptions, validateSignal, validateSize, WAIT_OPTIONS,
  type WaitOptions,
} from '../options.js';
import { ZeroBufferReader } from '../reader.js';
import { sourceWords } from '../runner/pipeline-tokens.js';
import type { ElementWarning } from '../runner/pipeline-output.js';
import {
  PipelineRunner, type PipelineExit, type PipelineStateEvent, type RestartOptions,
} from '../runner/pipeline-runner.js';
import { RING_PROPERTY, refuseRingProperty } from '../runner/sink-properties.js';
import { defaultSizes } from './sizes.js';
import { FrameMeter, ringBand, type FrameCounters, type RingBand } from './stream-stats.js';

/** How long frames() waits, at end of stream, for gst-launch to exit and say whether it failed. */
const END_GRACE_MS = 2000;
/**
 * How long close() (and a startStream() that failed) waits for the
 * stop-stream line to be flushed: a stream that stopped taking bytes (a
 * peer that reads nothing) must not hold the close for ever.
 */
const STOP_LINE_MS = 2000;

/** Announces stop-stream; gives up (the line may still go out) after STOP_LINE_MS or on an error. */
export async function announceStop(name: string, stream: Writable | undefined): Promise<void> {
  if (stream === undefined) return;
  const giveUp = new AbortController();
  const timer = setTimeout(() => giveUp.abort(), STOP_LINE_MS);
  try {
    await announce({ method: 'stop-stream', name }, { stream, signal: giveUp.signal });
  } catch {
    // not flushed in time, or the stream failed: the ring is gone all the same
  } finally {
    clearTimeout(timer);
  }
}

export interface StartStreamOptions {
  /** The source pipeline (gst-launch syntax) that zerosink is appended to. */
  source: string | readonly string[];
  /**
   * A ring created beforehand (ZeroBufferReader.create()) for the pipeline
   * to write into, instead of one created here: its name and /dev/shm
   * problems are then known before the pipeline is due (serve creates its
   * ring before it listens, and starts the pipeline once its client came).
   * The stream owns it: close() closes it, and so does a startStream() that
   * rejects. `name`, `payloadSize` and `mode` must then be left out (a TypeError):
   * the ring has them, and so does the start-stream line (`metadataSize`
   * is then unused).
   */
  reader?: ZeroBufferReader;
  /**
   * Ring name.
   * @default `zb-${crypto.randomUUID()}`
   */
  name?: string;
  /**
   * Bytes of the metadata block.
   * @default 65536 (ZB_DEFAULT_METADATA_SIZE: room for caps with stream headers)
   */
  metadataSize?: number;
  /**
   * Bytes of the payload ring.
   * @default frames of the size the caps filter the source ends with describes (plus headers), as many as the
   * core's rule picks (zb_default_frames_in_flight: 2 to 4, as many as fit in 32 MiB, up to 64 of small frames),
   * else 3 × 1920×1080 RGB
   */
  payloadSize?: number;
  /**
   * Permission bits of the ring created here (as ZeroBufferReader.create()'s
   * `mode`: 0o660 lets the file group's users write to it); left out with
   * `reader` (a TypeError): that ring has its own.
   * @default 0o600
   */
  mode?: number;
  /**
   * Print the start-stream line (to stdout, or to the given stream) once the ring exists, with the ring's
   * sizes as created (rounded up to 64 by the core).
   * @default false
   */
  announce?: boolean | Writable;
  /**
   * Restart the pipeline when it dies (see PipelineOptions.restart).
   * @default false
   */
  restart?: boolean | RestartOptions;
  /**
   * Extra zerosink properties. buffer-name (also spelled buffer_name, which
   * GLib reads as the same) is refused (a TypeError): it is the ring's. A
   * property whose value is undefined is not given.
   */
  sinkProperties?: Record<string, string | number | boolean | undefined>;
  /** @default 'gst-launch-1.0' */
  gstLaunch?: string;
  /** Directory of the zerobuffer plugin (see PipelineOptions.pluginPath). */
  pluginPath?: string;
  /**
   * How long close() waits for the pipeline's EOS before killing it (ms;
   * -1 or Infinity: no limit).
   * @default 5000
   */
  stopTimeoutMs?: number;
  /**
   * Aborting closes the stream. Aborted before startStream() resolved (also
   * while it creates the ring or announces it), it rejects with
   * signal.reason at once and leaves no ring and no gst-launch behind; a
   * start-stream line already handed to the stream is followed by
   * stop-stream.
   */
  signal?: AbortSignal;
}

export interface StreamFramesOptions extends WaitOptions {
  /**
   * Leaving the loop before it ended (`break`, `return`, an exception in
   * its body: the iterator's return() or throw()) closes the stream, as
   * Node's own stream iterators destroy their stream
   * (`readable.iterator({ destroyOnReturn })`), and the loop is left once
   * that closing is done (for-await awaits the iterator's return()): the
   * pipeline got its EOS and exited, the ring is gone, and its name can be
   * used again right after the loop. The wait is close()'s: up to
   * stopTimeoutMs for the EOS (then SIGKILL), 2 s at most for the
   * stop-stream line. close() returns that same closing (its error, if
   * any: leaving the loop does not throw it). false: the pipeline runs on (a later frames() loop takes
   * the frames after), until close().
   * @default true
   */
  closeOnReturn?: boolean;
}

const START_STREAM_OPTIONS = optionNames<StartStreamOptions>({
  source: true, reader: true, name: true, metadataSize: true, payloadSize: true, mode: true, announce: true, restart: true,
  sinkProperties: true, gstLaunch: true, pluginPath: true, stopTimeoutMs: true, signal: true,
});
const STREAM_FRAMES_OPTIONS = [...WAIT_OPTIONS, ...optionNames<Omit<StreamFramesOptions, keyof WaitOptions>>({ closeOnReturn: true })];

export interface StreamStats extends FrameCounters {
  name: string;
  pipeline: PipelineStateEvent['state'] | 'idle';
  pipelinePid?: number;
  restarts: number;
  payloadSize: number;
  ringUtilisationPercent: number;
  ringBand: RingBand;
  writerPid: number;
  writerAlive: boolean;
}

export class Stream extends EventEmitter<{ state: [PipelineStateEvent]; output: [string]; elementWarning: [ElementWarning] }> implements AsyncDisposable {
  readonly name: string;
  readonly reader: ZeroBufferReader;
  readonly pipeline: PipelineRunner;
  readonly meter = new FrameMeter();
  /** Aborted with a PipelineError when the pipeline failed for good, or quietly when it ended with nothing left to read. */
  readonly #ended = new AbortController();
  #consuming = false;
  /** frames() ended at end of stream: zerosink detached after EOS, gst-launch is exiting by itself. */
  #endOfStream = false;
  #closing?: Promise<PipelineExit>;
  readonly #announceTo?: Writable;
  /** Takes the signal's listener off: a signal may outlive many streams. */
  readonly #stopListening: () => void;

  /** Not for users: use startStream() (declared, so `new Stream()` does not compile). */
  constructor(reader: ZeroBufferReader, pipeline: PipelineRunner, announceTo?: Writable, signal?: AbortSignal) {
    super();
    this.#announceTo = announceTo;
    this.#stopListening = signal === undefined ? () => {} : onAbort(signal, () => void this.close());
    this.name = reader.name;
    this.reader = reader;
    this.pipeline = pipeline;
    pipeline.on('state', (e) => this.emit('state', e));
    pipeline.on('output', (l) => this.emit('output', l));
    pipeline.on('elementWarning', (w) => this.emit('elementWarning', w));
    void pipeline.done.then((exit) => this.#pipelineDone(exit));
  }

  #pipelineDone(exit: PipelineExit): void {
    // A failure printed before the stop came (close() or the signal, gst-launch on its way out or its restart
    // waiting its delay) is the pipeline's own, not the stop's: run and filter fail with it too ("failed before its stop came", status 3).
    if (exit.error !== undefined && (!exit.stopped || exit.failedBeforeStop === true)) {
      this.#ended.abort(exit.error);
      return;
    }
    // A clean end: the reader sees end of stream by itself after the frames
    // of a writer it saw; one it never saw (it wrote nothing and detached
    // between the reader's looks) leaves nothing to wait for, once every
    // frame written was handed out (not only taken into the reader's batch:
    // the ring has none unread, the loop may not have had the batch yet).
    // Not by the counts: they drift apart at small tails (PROTOCOL §6).
    if (this.reader.closed) return;
    const s = this.reader.stats();
    if (s.writerPid === 0 && s.framesUnread === 0 && s.batched === 0) this.#ended.abort();
  }

  /**
   * The pipeline's failure, when it failed for good: also one it printed
   * before the stream's stop (close() or the signal) came, while gst-launch
   * was still on its way out or its restart waited its delay
   * (PipelineExit.failedBeforeStop), as `zerobuffer run` fails with it; not an element's error during the stop's EOS (close()
   * returns that one, in its PipelineExit).
   */
  get error(): PipelineError | undefined {
    const r: unknown = this.#ended.signal.reason;
    return r instanceof PipelineError ? r : undefined;
  }

  /**
   * Frames until end of stream, close() or abort (which ends the loop
   * quietly, as reader.frames() does). Throws the PipelineError
   * (gst-launch's own message) when the pipeline fails for good, also when
   * its zerosink gave up and detached first (the reader then sees the end
   * of the stream): the error says why, e.g. "its reader has read the 4
   * frames in it and given the room of none back", and when the stream was
   * closed (close() or the signal) right after the pipeline failed (see error).
   * With `restart`, a writer that detached or died is followed by the
   * restarted pipeline's: the loop goes on with its frames. Leaving the
   * loop early closes the stream, and the loop is left once it is closed
   * (see closeOnReturn); the loop's end (end of stream, abort, failure)
   * leaves that to close().
   */
  async *frames(options?: StreamFramesOptions): AsyncGenerator<Frame, void, undefined> {
    options = validateOptions(options, STREAM_FRAMES_OPTIONS);
    const signal = validateSignal(options.signal);
    const closeOnReturn = options.closeOnReturn ?? true;
    if (typeof closeOnReturn !== 'boolean') fail('closeOnReturn', 'a boolean', closeOnReturn);
    const combined = signal === undefined ? this.#ended.signal : AbortSignal.any([signal, this.#ended.signal]);
    const { closeOnReturn: _, ...readOptions } = options;
    let handedOut = false; // suspended at `yield`: a return() or throw() now comes from the consumer
    this.#consuming = true;
    try {
      for (;;) {
        let restarts = this.pipeline.restarts;
        let writerDied: ZeroBufferError | undefined;
        try {
          for await (const frame of this.reader.frames({ ...readOptions, signal: combined })) {
            // a restarted writer the reader took over from the old one without an end between
            if (frame.sequence === 1) restarts = this.pipeline.restarts;
            this.meter.add(frame);
            handedOut = true;
            yield frame;
            handedOut = false;
          }
        } catch (e) {
          // its death, or its note that its metadata did not fit the ring
          // (EMSGSIZE): gst-launch's exit follows, and says more
          const writerEnded = e instanceof WriterGoneError || (e instanceof ZeroBufferError && e.code === 'EMSGSIZE');
          if (!writerEnded || combined.aborted) throw e;
          writerDied = e;
        }
        if (combined.aborted) break;
        this.#endOfStream = true;
        // A writer that failed detaches (or dies) before gst-launch exits:
        // wait for the exit (briefly) to tell an end from a failure, and a
        // failure from one the runner restarts.
        if (await this.#restartFollows(restarts)) {
          this.#endOfStream = false;
          continue;
        }
        if (writerDied !== undefined && this.error === undefined) throw writerDied;
        break;
      }
    } finally {
      this.#consuming = false;
      // Awaited (for-await awaits return()): once the loop is left, the ring
      // and gst-launch are gone and the name can be used again. close()
      // bounds the wait, and a later close() hands out its end or error.
      if (handedOut && closeOnReturn) await this.close().catch(() => {});
    }
    const error = this.error;
    if (error !== undefined && !(signal?.aborted ?? false)) throw error;
  }

  /**
   * After the writer's end: true when the runner restarts the pipeline (it
   * did since `restarts` was read, or does when gst-launch exits within
   * END_GRACE_MS); false when it is over for good or still running then.
   */
  #restartFollows(restarts: number): Promise<boolean> {
    if (this.pipeline.restarts > restarts) return Promise.resolve(true);
    return new Promise((resolve) => {
      const onState = (e: PipelineStateEvent): void => {
        if (e.state === 'restarting') settle(true);
      };
      const timer = setTimeout(() => settle(false), END_GRACE_MS).unref();
      const settle = (restarting: boolean): void => {
        clearTimeout(timer);
        this.pipeline.off('state', onState);
        resolve(restarting);
      };
      this.pipeline.on('state', onState);
      void this.pipeline.done.then(() => settle(false));
    });
  }

  stats(): StreamStats {
    const c = this.meter.counters();
    const r = this.reader.closed ? undefined : this.reader.stats();
    const utilisation = r?.utilisationPercent ?? 0;
    const band = r?.band ?? ringBand(utilisation);
    return {
      ...c,
      name: this.name,
      pipeline: this.pipeline.state,
      pipelinePid: this.pipeline.pid,
      restarts: this.pipeline.restarts,
      payloadSize: r?.payloadSize ?? 0,
      ringUtilisationPercent: utilisation,
      ringBand: band,
      writerPid: r?.writerPid ?? 0,
      writerAlive: r?.writerAlive ?? false,
    };
  }

  /**
   * Stops the pipeline (EOS, then SIGKILL after stopTimeoutMs) while
   * draining the ring so that EOS can reach zerosink, then closes the reader
   * (the ring is removed), then prints the stop-stream line when the stream
   * was announced (waiting 2 s at most for it to be flushed). Call it after the frames() loop ended (leaving it early
   * closes already; this then returns that closing), or use `await using`.
   */
  close(): Promise<PipelineExit> {
    this.#closing ??= (async () => {
      this.#stopListening();
      // After EOS gst-launch exits 0 by itself within moments: a SIGINT then
      // would only cut its shutdown short.
      if (this.#endOfStream) await Promise.race([this.pipeline.done, new Promise((r) => setTimeout(r, 2000).unref())]);
      const stopping = this.pipeline.stop();
      if (!this.#consuming && !this.reader.closed) {
        const drain = new AbortController();
        void stopping.then(() => drain.abort());
        try {
          for await (const frame of this.reader.frames({ signal: drain.signal, timeoutMs: 200 })) frame.release();
        } catch {
          // timeouts or a dead writer while stopping: keep waiting for the pipeline
        }
      }
      const exit = await stopping;
      await this.reader.close();
      await announceStop(this.name, this.#announceTo);
      return exit;
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Creates the ring (or takes options.reader), announces it when asked, and starts the pipeline into
 * it; resolves once gst-launch is spawned (stream.pipeline.pid is its pid; its
 * 'starting' state event came before: a listener added then hears 'playing'
 * on). One that could not be started has no pid, and its PipelineError comes
 * a moment later, with the spawn's error: stream.error, frames() throws it.
 * Rejects with signal.reason when the signal aborts first (see StartStreamOptions.signal),
 * and with a TypeError for an option it cannot take (one with a null byte
 * among the pipeline's words: none can be a process argument), before the
 * ring is created or announced.
 */
export async function startStream(options: StartStreamOptions): Promise<Stream> {
  if (typeof options !== 'object' || options === null) fail('options', 'an object', options);
  refuseUnknownOptions(options, START_STREAM_OPTIONS);
  const given: unknown = options.reader;
  if (given === undefined) return start(options, undefined);
  if (!(given instanceof ZeroBufferReader) || given.closed) fail('reader', 'an open ZeroBufferReader', given);
  try {
    return await start(options, given);
  } catch (e) {
    await given.close(); // it is the stream's: a start that failed leaves no ring behind
    throw e;
  }
}

async function start(options: StartStreamOptions, given: ZeroBufferReader | undefined): Promise<Stream> {
  if (given !== undefined && options.name !== undefined) fail('name', 'left out with reader (the ring has its name)', options.name);
  if (given !== undefined && options.payloadSize !== undefined) fail('payloadSize', 'left out with reader (the ring has its size)', options.payloadSize);
  if (given !== undefined && options.mode !== undefined) fail('mode', 'left out with reader (the ring has its mode)', options.mode);
  const signal = validateSignal(options.signal);
  const source = sourceWords('source', options.source);
  refuseRingProperty(options.sinkProperties, RING_PROPERTY, 'zerosink writes into the ring the stream reads (give its name as "name")');
  const announceOption: unknown = options.announce;
  if (announceOption !== undefined && typeof announceOption !== 'boolean' && !isWritableStream(announceOption))
    fail('announce', 'a boolean or a writable stream', announceOption);
  const announceTo = options.announce === true ? process.stdout : options.announce || undefined;
  const sizes = defaultSizes(source);
  const metadataSize = options.metadataSize === undefined ? sizes.metadataSize : validateSize('metadataSize', options.metadataSize, 1);
  const payloadSize = options.payloadSize === undefined ? sizes.payloadSize : validateSize('payloadSize', options.payloadSize, 1);
  // Made before the ring is created (and announced): the runner checks every option of its own (restart,
  // stopTimeoutMs, gstLaunch, ...), and one it refused would otherwise leave a start-stream line behind.
  let reader: ZeroBufferReader | undefined = given;
  const pipeline = new PipelineRunner({
    source, name: given?.name ?? validateName(options.name), sinkProperties: options.sinkProperties, gstLaunch: options.gstLaunch,
    pluginPath: options.pluginPath, restart: options.restart, stopTimeoutMs: options.stopTimeoutMs,
    shouldRestart: () => reader?.closed === false,
  });
  let announced = false;
  let stream: Stream;
  try {
    signal?.throwIfAborted();
    reader ??= await ZeroBufferReader.create({ name: pipeline.name, metadataSize, payloadSize, mode: options.mode });
  } catch (e) {
    void pipeline.stop(); // never started: it ends at once
    throw e;
  }
  try {
    signal?.throwIfAborted();
    if (announceTo !== undefined) {
      // the ring's sizes as the core made them (rounded up), not those asked for: a writer checks its frames against them
      const ring = reader.stats();
      const message = { method: 'start-stream', name: reader.name, metadataSize: ring.metadataSize, payloadSize: ring.payloadSize } as const;
      // a message announce() refuses throws here, before any line went out (no stop-stream for it then)
      formatMessage(message);
      // Set before the wait: an abort ends the wait, not the write, so the line may go out all the same.
      announced = true;
      await announce(message, { stream: announceTo, signal });
      signal?.throwIfAborted();
    }
    stream = new Stream(reader, pipeline, announceTo, signal);
    pipeline.start();
  } catch (e) {
    void pipeline.stop();
    await reader.close();
    // Whoever acted on the start-stream line learns that the ring is gone.
    if (announced) await announceStop(reader.name, announceTo);
    throw e;
  }
  return stream; // gst-launch is spawned (pipeline.start())
}

// `zerobuffer run`: startStream() with the user's (or the demo) pipeline,
// frames consumed here, live stats, --frames / --duration / --snapshot.
import { createHash } from 'node:crypto';
import { onAbort } from '../abort.js';
import type { Caps } from '../caps.js';
import { FrameSizeError, ImageDecodeError, PipelineError, ZeroBufferError } from '../errors.js';
import { native } from '../native.js';
import { capsFromSource, defaultSizes } from '../orchestrator/sizes.js';
import { startStream, type Stream, type StreamStats } from '../orchestrator/start-stream.js';
import { ringBand } from '../orchestrator/stream-stats.js';
import { scheduleTimer } from '../runner/child-guard.js';
import { killedAfterEosText, type PipelineStateEvent } from '../runner/pipeline-runner.js';
import { shellCommand, splitPipeline } from '../runner/pipeline-tokens.js';
import { DEMO_FRAMES_OFF_TTY, DEMO_PIPELINE, SNAPSHOT_TRIES } from './arguments.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import { isStdout, LiveLine, say, type CliIo } from './io.js';
import { modeRefused, type RunArgs } from './parse-args.js';
import { briefFailure, failureText, pluginMissing, restartCount, stopOf, unknownSinkProperty, warningJson, warningText } from './pipeline-failure.js';
import { defaultSizeNote } from './ring-size-note.js';
import { snapshotEncoderProblem, snapshotFileProblem, snapshotProblem, SnapshotFileError, writeSnapshot, type SnapshotWritten } from './snapshot.js';
import { statsJson, statsLine } from './stats-line.js';

/**
 * zerosink's EMSGSIZE is about the ring this command creates (its frames, or
 * its metadata, did not fit): which option sizes it, and how it was sized.
 */
function ringSizeHint(name: string, payloadSize: number, metadata: boolean, args: RunArgs): string {
  return metadata
    ? `zerobuffer run: ring ${name} is this command's (its metadata block: ${args.metadataSize !== undefined ? '--metadata-size' : 'the default size'}); ` +
      'give --metadata-size N with N of at least the size zerosink names'
    : `zerobuffer run: ring ${name} is this command's (${payloadSize} payload bytes: ` +
      `${args.payloadSize !== undefined ? '--payload-size' : 'sized for the caps the pipeline ends with, or 3 frames of 1080p RGB without them'}); ` +
      'give --payload-size N with N of at least the size zerosink names';
}

/** The source words: one argument is a whole description, several are words already. */
function sourceOf(args: RunArgs): string | string[] {
  if (args.pipeline === undefined) return DEMO_PIPELINE;
  return args.pipeline.length === 1 ? args.pipeline[0]! : args.pipeline;
}

/** The caps filter the source ends with, if any (a bad description is startStream's to report). */
function lastCaps(source: string | string[]): Caps | undefined {
  try {
    return capsFromSource(typeof source === 'string' ? splitPipeline(source) : source);
  } catch {
    return undefined;
  }
}

/** Why --snapshot cannot take stdout: a terminal, or --announce's lines, which a watching process reads there. */
function stdoutSnapshotProblem(args: RunArgs, io: CliIo): string | undefined {
  if (io.stdout.isTTY === true)
    return `--snapshot ${args.snapshot} writes the PNG's bytes to stdout, a terminal: redirect it (> FILE.png, | a viewer) or give a file`;
  if (args.announce)
    return `--announce prints to stdout, which --snapshot ${args.snapshot} sends the PNG to: give --snapshot a file, or leave --announce out`;
  return undefined;
}

/** How often a run whose PNG went to stdout looks whether the program reading it has quit. */
const STDOUT_READER_CHECK_MS = 100;

/**
 * Calls onGone once the pipe or socket `stdout` writes into has no reader
 * left: after the PNG nothing more is written to it, so no write can tell
 * (`| head -c 100` after a PNG that fit the pipe). Returns the stop.
 */
function whenStdoutReaderGone(stdout: CliIo['stdout'], onGone: () => void): () => void {
  const fd = (stdout as { fd?: unknown }).fd;
  if (typeof fd !== 'number') return () => {};
  const timer = setInterval(() => {
    if (!native.readerGone(fd)) return;
    clearInterval(timer);
    onGone();
  }, STDOUT_READER_CHECK_MS);
  return () => clearInterval(timer);
}

/** Where the stats go, and whether as JSON lines. */
function statsOutput(args: RunArgs, io: Pick<CliIo, 'stdout' | 'stderr'>): { out: CliIo['stdout']; json: boolean } {
  // A snapshot to stdout has it to itself: the stats go to stderr (as a terminal's or not); --announce is refused then
  const out = args.snapshot !== undefined && isStdout(args.snapshot) ? io.stderr : io.stdout;
  return { out, json: args.json ?? out.isTTY !== true };
}

/**
 * A run stopped before it started (a stop signal while the command loaded):
 * no ring, no pipeline, no frame. With --json its summary says so all the
 * same (pipeline "idle", name null unless --name gave it), the one line a
 * program reading them relies on; without --json nothing is said.
 */
export function stoppedBeforeStart(args: RunArgs, io: Pick<CliIo, 'stdout' | 'stderr'>): void {
  const { out, json } = statsOutput(args, io);
  if (!json) return;
  const none: StreamStats = {
    name: args.name ?? '', frames: 0, bytes: 0, fps: 0, bytesPerSecond: 0, drops: 0, writerRestarts: 0, elapsedMs: 0,
    pipeline: 'idle', restarts: 0, payloadSize: 0, ringUtilisationPercent: 0, ringBand: ringBand(0), writerPid: 0, writerAlive: false,
  };
  say(out, statsJson('summary', none, { name: args.name ?? null, caps: null, lastError: null, lastErrorPermanent: null }));
}

export async function runCommand(args: RunArgs, io: CliIo): Promise<ExitCode> {
  const snapshotToStdout = args.snapshot !== undefined && isStdout(args.snapshot);
  const { out, json } = statsOutput(args, io);
  const tty = out.isTTY === true;
  const demo = args.pipeline === undefined;
  const frameLimit = args.frames ?? (demo && !tty && args.durationMs === undefined ? DEMO_FRAMES_OFF_TTY : undefined);
  const source = sourceOf(args);
  const refused = args.snapshot === undefined ? undefined
    : snapshotProblem(lastCaps(source)) ?? (snapshotToStdout ? stdoutSnapshotProblem(args, io) : await snapshotFileProblem(args.snapshot))
      ?? await snapshotEncoderProblem();
  if (refused !== undefined) {
    say(io.stderr, `zerobuffer run: ${refused}`);
    return EXIT.usage;
  }
  // made before the stream: its stop-stream line comes in close(), while the stats line is up, and goes above it
  const live = json ? undefined : new LiveLine(out);
  const stop = new AbortController();
  // A signal that came before this line still stops the run (onAbort).
  const stopListening = onAbort(io.signal, () => stop.abort());
  let stream: Stream;
  try {
    stream = await startStream({
      source, name: args.name, metadataSize: args.metadataSize, payloadSize: args.payloadSize, mode: args.mode,
      announce: args.announce ? (live?.aboveStream(io.stdout) ?? io.stdout) : false, restart: args.restart && { maxRestarts: args.maxRestarts }, pluginPath: args.pluginPath,
      // The demo's frames carry the per-frame header: its stats then show
      // latency and drops (our reader understands it; a user's pipeline
      // keeps raw frames unless asked).
      sinkProperties: {
        ...(demo ? { 'frame-header': 'true' } : {}),
        ...(args.cameraId === undefined ? {} : { 'camera-id': args.cameraId }),
        ...args.sinkProperties,
      },
    });
  } catch (e) {
    stopListening();
    if (e instanceof TypeError) {
      say(io.stderr, `zerobuffer run: ${e.message}`);
      return EXIT.usage;
    }
    const refused = modeRefused(e, args.mode);
    if (refused !== undefined) {
      say(io.stderr, `zerobuffer run: ${refused}`);
      return EXIT.usage;
    }
    if (e instanceof ZeroBufferError) {
      say(io.stderr, `zerobuffer run: cannot create the ring: ${e.message} (${e.code})`);
      // --json: the failure as JSON too, as inspect --json tells its own (the consumer reads no summary)
      if (json) say(out, JSON.stringify({ type: 'error', name: args.name ?? null, error: `cannot create the ring: ${e.message}`, code: e.code }));
      return EXIT.ring;
    }
    throw e;
  }
  const { payloadSize } = stream.reader.stats();
  if (!json) {
    // the sizes startStream gave the ring (it took the source already: it does not throw here)
    const sizes = args.payloadSize === undefined ? defaultSizes(source) : undefined;
    say(io.stderr, `zerobuffer: ring ${stream.name} (${payloadSize} bytes${defaultSizeNote(sizes)}) ← gst-launch-1.0 ${shellCommand(stream.pipeline.args)}`);
    if (demo) say(io.stderr, 'zerobuffer: demo pipeline; Ctrl-C stops it (or give your own: zerobuffer run "<pipeline>")');
  }
  const pipelineLine = (e: PipelineStateEvent): void => say(out, JSON.stringify({
    type: 'pipeline', state: e.state, pid: e.pid ?? null, exitCode: e.exitCode ?? null, signal: e.signal ?? null, restarts: e.restarts,
    error: e.error?.code ?? null, permanent: e.error?.permanent ?? null,
  }));
  // startStream resolved once gst-launch was started: its 'starting' event came before this listener
  if (json && stream.pipeline.state === 'starting') pipelineLine({ state: 'starting', pid: stream.pipeline.pid, restarts: 0, restartsInARow: 0 });
  stream.on('state', (e) => {
    if (json) {
      pipelineLine(e);
    } else if (e.state === 'restarting') {
      live!.above(io.stderr, `zerobuffer: pipeline died (${briefFailure(e.error)}); ${restartCount(e)} in ${e.delayMs} ms`);
    }
  });
  stream.on('elementWarning', (w) => {
    if (json) say(out, warningJson(w, 'zerosink'));
    else live!.above(io.stderr, `zerobuffer run: ${warningText(w, 'zerosink')}`);
  });
  // (time suspended by Ctrl-Z does not count: the stream did not run)
  const cancelTimer = args.durationMs === undefined ? undefined : scheduleTimer(() => stop.abort(), args.durationMs);
  const hash = args.hash ? createHash('sha256') : undefined;
  let snapshot: ({ file: string } & SnapshotWritten) | undefined;
  let snapshotError: unknown;
  let snapshotRefused: string | undefined;
  let badFrames = 0; // skipped by --snapshot
  let lastBadFrame: Error | undefined;
  const show = (): void => {
    const s = stream.stats();
    if (json) say(out, statsJson('stats', s));
    else live!.update(statsLine(s));
  };
  const ticker = setInterval(show, args.intervalMs);
  let stopWatchingStdout = (): void => {};
  let failure: unknown;
  try {
    // closeOnReturn false: leaving the loop does not close yet, so the summary's ring figures below are the
    // ring's as the loop left it, before close() drains it for the pipeline's EOS
    for await (const frame of stream.frames({ signal: stop.signal, closeOnReturn: false })) {
      hash?.update(frame.data);
      if (args.snapshot !== undefined && snapshot === undefined) {
        // The first frame: its caps decide; a failed snapshot ends the run at once.
        snapshotRefused = snapshotProblem(frame.metadata?.caps);
        if (snapshotRefused !== undefined) break;
        try {
          snapshot = { file: args.snapshot, ...(await writeSnapshot(frame, args.snapshot, snapshotToStdout ? io.stdout : undefined)) };
          // its reader quitting is a stop, as a write into the closed pipe is (EPIPE, below): status 0
          if (snapshotToStdout) stopWatchingStdout = whenStdoutReaderGone(io.stdout, () => stop.abort());
        } catch (e) {
          if (!(e instanceof ImageDecodeError || e instanceof FrameSizeError)) {
            snapshotError = e;
            break;
          }
          lastBadFrame = e;
          if (++badFrames === SNAPSHOT_TRIES) break;
          if (badFrames === 1) {
            const text = `zerobuffer run: --snapshot: ${e.message}: skipped, trying the next (up to ${SNAPSHOT_TRIES} frames in all)`;
            if (live === undefined) say(io.stderr, text);
            else live.above(io.stderr, text);
          }
        }
      }
      // --frames ends the run once the snapshot is written (or given up)
      const snapshotDue = args.snapshot !== undefined && snapshot === undefined;
      if (frameLimit !== undefined && !snapshotDue && stream.meter.counters().frames >= frameLimit) break;
    }
  } catch (e) {
    failure = e;
  } finally {
    clearInterval(ticker);
    stopWatchingStdout();
    cancelTimer?.();
    stopListening();
  }
  const before = stream.stats();
  const exit = await stream.close();
  const final = { ...before, pipeline: stream.pipeline.state };
  const lastError = stream.pipeline.lastError;
  const extra: Record<string, unknown> = {
    caps: stream.reader.metadata?.capsString ?? null, lastError: lastError?.code ?? null, lastErrorPermanent: lastError?.permanent ?? null,
  };
  if (hash !== undefined) extra['sha256'] = hash.digest('hex');
  if (snapshot !== undefined) extra['snapshot'] = snapshot;
  if (json) say(out, statsJson('summary', final, extra));
  else {
    live!.end(statsLine(final));
    if (snapshot !== undefined) say(io.stderr, `zerobuffer: wrote ${snapshot.file} (${snapshot.width}x${snapshot.height}, ${snapshot.bitDepth}-bit ${snapshot.color})`);
    if (extra['sha256'] !== undefined) say(io.stderr, `zerobuffer: sha256 ${String(extra['sha256'])}`);
  }
  if (exit.killedAfterEosMs !== undefined) say(io.stderr, `zerobuffer run: ${killedAfterEosText(exit.killedAfterEosMs)}`);
  // An element's error during the stop (its EOS) fails the run too, as gst-launch's own status 1 says, and as the
  // summary's lastError shows it (a stop's SIGKILL without an error, or zerosink's reader gone, is none: the runner);
  // one printed before the stop came (Ctrl-C right after it) is told as the run's own (stopOf), not the stop's
  const error = failure ?? exit.error;
  const misspelt = unknownSinkProperty(error, args.sinkProperties);
  if (misspelt !== undefined) {
    say(io.stderr, `zerobuffer run: ${misspelt}`);
    return EXIT.usage;
  }
  if (error instanceof PipelineError) {
    say(io.stderr, `zerobuffer run: ${failureText(error, { ring: stream.name, outOfRestarts: exit.outOfRestarts, restarts: stream.pipeline.restartsInARow, pluginPath: args.pluginPath, sinkPropertyTo: 'zerosink', stop: stopOf(exit) })}`);
    if (error.pluginLoadFailure !== undefined || pluginMissing(error, args.pluginPath) !== '') {
      // the message says where the plugin is missing, or what to install
    } else if (error.code === 'EMSGSIZE' && error.element !== undefined) {
      say(io.stderr, ringSizeHint(stream.name, payloadSize, /metadata/.test(error.element.message), args));
    } else if (error.rejected) say(io.stderr, 'Check the pipeline syntax and that its elements are installed (gst-inspect-1.0 <element>).');
    else if (error.element === undefined && error.spawnError === undefined) say(io.stderr, 'Run the same pipeline with gst-launch-1.0 -v, or GST_DEBUG="zero*:5", to see more.');
    return EXIT.pipeline;
  }
  if (error instanceof ZeroBufferError) {
    say(io.stderr, `zerobuffer run: ring ${stream.name}: ${error.message} (${error.code})`);
    return EXIT.ring;
  }
  if (error !== undefined) throw error;
  if (snapshotRefused !== undefined) {
    say(io.stderr, `zerobuffer run: ${snapshotRefused}`);
    return EXIT.usage;
  }
  // stdout closed while the PNG went into it (`| head -c 100`): the consumer has what it wanted, a quiet stop
  const code = ((snapshotError as Error | undefined)?.cause as NodeJS.ErrnoException | undefined)?.code;
  if (snapshotToStdout && (code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED')) return EXIT.ok;
  if (snapshotError !== undefined) {
    say(io.stderr, `zerobuffer run: no snapshot: ${(snapshotError as Error).message}`);
    return snapshotError instanceof SnapshotFileError ? EXIT.usage : EXIT.internal;
  }
  if (lastBadFrame !== undefined && snapshot === undefined) {
    const which = badFrames === SNAPSHOT_TRIES ? `the first ${badFrames} frames` : badFrames === 1 ? 'the one frame that came' : `all ${badFrames} frames that came`;
    say(io.stderr, `zerobuffer run: no snapshot: ${which} could not be made a picture (the last: ${lastBadFrame.message}); ` +
      'is the pipeline\'s output what its caps say?');
    return EXIT.pipeline;
  }
  if (args.snapshot !== undefined && snapshot === undefined) {
    say(io.stderr, 'zerobuffer run: no snapshot: no frame arrived');
    return EXIT.pipeline;
  }
  return EXIT.ok;
}

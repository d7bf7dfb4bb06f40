// `zerobuffer serve img TARGET`: a ring's GRAY16 frames out as an img=
// stream to one TCP client (tcp:[HOST:]PORT, listening on 127.0.0.1 unless a
// host is given), a file or stdout. The ring is created here; its writer is
// --pipeline (gst-launch ... ! zerosink), or any writer told its name
// (zerosink buffer-name=NAME, zerobuffer ingest img ... --name NAME). With
// tcp:, the ring is created before listening and --pipeline starts once the
// client is there.
import type { Writable } from 'node:stream';
import { onAbort, settledWithin } from '../abort.js';
import { PipelineError, ZeroBufferError } from '../errors.js';
import type { Frame } from '../frame.js';
import { serveImg } from '../img-stream/serve.js';
import { announce } from '../line-protocol/format.js';
import { defaultSizes } from '../orchestrator/sizes.js';
import { announceStop, startStream, type Stream } from '../orchestrator/start-stream.js';
import type { PipelineExit } from '../runner/pipeline-runner.js';
import { ZeroBufferReader } from '../reader.js';
import { gstPropertyWord, shellWord, sourceWords } from '../runner/pipeline-tokens.js';
import { LateFile, openSink } from './endpoint.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import { isTerminal, say, type CliIo } from './io.js';
import { inCommandWords, unknownSinkProperty } from './pipeline-failure.js';
import { helpLine, modeRefused, type ServeArgs } from './parse-args.js';
import { fileProblem } from './snapshot.js';

const GONE = new Set(['EPIPE', 'ECONNRESET', 'ERR_STREAM_DESTROYED']);

/** How long a stopped serve still gives its sink to take what it was given, before destroying it. */
const FLUSH_AFTER_STOP_MS = 1000;

/**
 * Ends the sink once its data is flushed; once the command is stopped,
 * waits FLUSH_AFTER_STOP_MS at most, then destroys it: a client that
 * stopped reading would hold it, and the command, for ever.
 */
async function endSink(sink: Writable, signal: AbortSignal): Promise<void> {
  const ended = new Promise<void>((resolve) => sink.end(() => resolve()));
  let stopListening = (): void => {};
  await Promise.race([ended, new Promise<void>((resolve) => (stopListening = onAbort(signal, resolve)))]);
  stopListening();
  await settledWithin(ended, FLUSH_AFTER_STOP_MS);
  if (!sink.writableFinished) sink.destroy();
}

export async function serveCommand(args: ServeArgs, io: CliIo): Promise<ExitCode> {
  let stream: Stream | undefined;
  let reader: ZeroBufferReader;
  const terminal = args.target.kind === 'stdio' ? (io.stdout.isTTY === true ? 'stdout' : undefined)
    : args.target.kind === 'file' && isTerminal(args.target.path) ? args.target.path : undefined;
  if (terminal !== undefined) {
    say(io.stderr, `zerobuffer serve: the img= stream is binary, and ${terminal} is a terminal: ${terminal === 'stdout'
      ? 'redirect it (> FILE, | a reader) or give a tcp: or file target' : 'give a tcp: target, a file, or - with stdout redirected (> FILE, | a reader)'}`);
    say(io.stderr, helpLine('serve'));
    return EXIT.usage;
  }
  // an output file that cannot be written, told before the ring exists
  const unwritable = args.target.kind === 'file' ? await fileProblem(args.target.path, args.target.path) : undefined;
  if (unwritable !== undefined) {
    say(io.stderr, `zerobuffer serve: ${unwritable}`);
    return EXIT.stream;
  }
  let sink: Writable | undefined;
  let failure: unknown;
  let frames = 0;
  const listening = (address: string): void => say(io.stderr, `zerobuffer serve: listening on tcp ${address} for one client`);
  // With a client to wait for, the pipeline starts once it is there: started
  // before, nobody would read the ring, and the pipeline would fill it and
  // fail (zerosink's timeout) or a live source would stall, while a late
  // client got nothing. Its ring is created first all the same: a name
  // taken (a live reader owns it) or /dev/shm refusing is told at once
  // (status 4), not to a client after it came. A writer of its own (no
  // --pipeline) is the user's to start.
  let ring: ZeroBufferReader | undefined;
  try {
    if (args.pipeline !== undefined) {
      const source = args.pipeline.length === 1 ? args.pipeline[0]! : args.pipeline;
      if (args.target.kind === 'tcp') {
        const sizes = defaultSizes(sourceWords('source', source));
        ring = await ZeroBufferReader.create({
          name: args.name, metadataSize: args.metadataSize ?? sizes.metadataSize, payloadSize: args.payloadSize ?? sizes.payloadSize, mode: args.mode,
        });
        try {
          sink = await openSink(args.target, io.stdout, listening, io.signal);
        } catch (e) {
          await ring.close();
          return served(e, 0, sink, undefined, undefined, args.sinkProperties, io);
        }
      }
      // given the ring, startStream owns it: it closes it when it fails
      stream = await startStream({
        source, reader: ring, name: ring === undefined ? args.name : undefined, metadataSize: args.metadataSize,
        payloadSize: ring === undefined ? args.payloadSize : undefined, mode: ring === undefined ? args.mode : undefined, announce: args.announce ? io.stdout : false,
        pluginPath: args.pluginPath, sinkProperties: args.sinkProperties,
      });
      reader = stream.reader;
    } else {
      const sizes = defaultSizes([]);
      reader = await ZeroBufferReader.create({
        name: args.name, metadataSize: args.metadataSize ?? sizes.metadataSize, payloadSize: args.payloadSize ?? sizes.payloadSize, mode: args.mode,
      });
      if (args.announce) {
        const { metadataSize, payloadSize } = reader.stats(); // as created (rounded up), as startStream announces
        await announce({ method: 'start-stream', name: reader.name, metadataSize, payloadSize }, { stream: io.stdout });
      }
      say(io.stderr, `zerobuffer serve: ring ${reader.name} is waiting for a writer (zerosink ${gstPropertyWord('buffer-name', reader.name)}, ` +
        `or zerobuffer ingest img SOURCE --name ${shellWord(reader.name)})`);
    }
  } catch (e) {
    if (sink !== undefined && sink !== io.stdout) sink.destroy(); // the client waited for a pipeline that did not start
    if (io.signal.aborted) return served(undefined, 0, sink, undefined, undefined, args.sinkProperties, io); // stopped while the pipeline started
    const refused = modeRefused(e, args.mode);
    if (e instanceof TypeError || refused !== undefined) {
      say(io.stderr, `zerobuffer serve: ${refused ?? (e as Error).message}`);
      return EXIT.usage;
    }
    if (e instanceof ZeroBufferError) {
      say(io.stderr, `zerobuffer serve: cannot create the ring: ${e.message} (${e.code})`);
      return EXIT.ring;
    }
    throw e;
  }
  // A TCP client that goes (a reset, a close) is heard at once, also while
  // serve waits for a frame, where no write would fail to tell it.
  const clientLeft = new AbortController();
  try {
    sink ??= await openSink(args.target, io.stdout, listening, io.signal);
    if (args.target.kind === 'tcp') {
      const left = (): void => clientLeft.abort();
      if (sink.destroyed) left();
      sink.once('close', left).once('error', left);
    }
    const signal = AbortSignal.any([io.signal, clientLeft.signal]);
    const source: AsyncIterable<Frame> = stream !== undefined ? stream.frames({ signal }) : reader.frames({ signal });
    // counted as they go: a sink that fails (its client went away) ends serveImg with its error, not its count
    await serveImg(source, sink, {
      frames: args.frames, signal, onFrame: (n) => (frames = n),
      onWarning: (message) => say(io.stderr, `zerobuffer serve: warning: ${message}`),
    });
  } catch (e) {
    failure = e;
  }
  const clientGone = clientLeft.signal.aborted; // before endSink, whose own close is no client leaving
  // a failure before the first image leaves an existing file as it was (an end would create it empty)
  if (sink instanceof LateFile && !sink.opened && failure !== undefined && !io.signal.aborted) sink.destroy();
  else if (sink !== undefined && sink !== io.stdout) await endSink(sink, io.signal);
  let exit: PipelineExit | undefined;
  if (stream !== undefined) exit = await stream.close(); // with its stop-stream line, when announced
  else {
    await reader.close();
    // as a stream does: whoever acted on the start-stream line learns that the ring is gone
    if (args.announce) await announceStop(reader.name, io.stdout);
  }
  return served(failure, frames, sink, exit, reader.name, args.sinkProperties, io, clientGone);
}

/**
 * The end of a serve: what it says and its status, after a failure or none (sinkProperties: --sink-property's;
 * clientGone: its TCP client closed or reset).
 */
function served(failure: unknown, frames: number, sink: Writable | undefined, exit: PipelineExit | undefined, ring: string | undefined,
  sinkProperties: Record<string, string>, io: CliIo, clientGone = false): ExitCode {
  // An element's error during the stop (its EOS) fails no serve; one printed before the stop came (a Ctrl-C, the
  // client's going, --frames right after it) is the pipeline's own failure (PipelineExit.failedBeforeStop)
  const pipelineFailure = exit?.stopped === true && exit.failedBeforeStop !== true ? undefined : exit?.error;
  // a misspelt --sink-property is the command line's fault, as run tells it
  const misspelt = unknownSinkProperty(failure, sinkProperties) ?? unknownSinkProperty(pipelineFailure, sinkProperties);
  if (misspelt !== undefined) {
    say(io.stderr, `zerobuffer serve: ${misspelt}`);
    return EXIT.usage;
  }
  const code = (failure as { code?: unknown } | undefined)?.code;
  const goneCode = typeof code === 'string' && GONE.has(code);
  if (failure === undefined || io.signal.aborted || goneCode || clientGone) {
    const gone = goneCode || clientGone ? ' (the client went away)' : '';
    say(io.stderr, `zerobuffer serve: ${frames} ${frames === 1 ? 'image' : 'images'} served${io.signal.aborted && sink === undefined ? ' (stopped before a client came)' : gone}`);
    if (pipelineFailure !== undefined) {
      say(io.stderr, `zerobuffer serve: the pipeline failed. ${inCommandWords(pipelineFailure, 'zerosink')}`);
      return EXIT.pipeline;
    }
    return EXIT.ok;
  }
  if (failure instanceof PipelineError) {
    say(io.stderr, `zerobuffer serve: the pipeline failed. ${inCommandWords(failure, 'zerosink')}`);
    return EXIT.pipeline;
  }
  if (failure instanceof TypeError) { // a frame img= cannot carry
    say(io.stderr, `zerobuffer serve: ring ${ring}: ${failure.message}`);
    return EXIT.stream;
  }
  if (failure instanceof ZeroBufferError) {
    say(io.stderr, `zerobuffer serve: ring ${ring}: ${failure.message} (${failure.code})`);
    return EXIT.ring;
  }
  if (failure instanceof Error && typeof code === 'string') {
    const hint = code === 'EADDRINUSE' ? ': another program listens on that port; give another, or tcp:0 for a free one (the port is told)' : '';
    say(io.stderr, `zerobuffer serve: ${failure.message}${hint}`);
    return EXIT.stream;
  }
  throw failure;
}

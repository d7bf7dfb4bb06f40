// `zerobuffer serve img TARGET`: a ring's GRAY16 frames out as an img=
// stream to one TCP client (tcp:[HOST:]PORT, listening on 127.0.0.1 unless a
// host is given), a file or stdout. The ring is created here; its writer is
// --pipeline (gst-launch ... ! zerosink), or any writer told its name
// (zerosink buffer-name=NAME, zerobuffer ingest img ... --name NAME).
import type { Writable } from 'node:stream';
import { onAbort, settledWithin } from '../abort.js';
import { PipelineError, ZeroBufferError } from '../errors.js';
import type { Frame } from '../frame.js';
import { serveImg } from '../img-stream/serve.js';
import { announce } from '../line-protocol/format.js';
import { defaultSizes } from '../orchestrator/sizes.js';
import { startStream, type Stream } from '../orchestrator/start-stream.js';
import { ZeroBufferReader } from '../reader.js';
import { gstPropertyWord, shellWord } from '../runner/pipeline-tokens.js';
import { openSink } from './endpoint.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import { say, type CliIo } from './io.js';
import type { ServeArgs } from './parse-args.js';
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
  // an output file that cannot be written, told before the ring exists
  const unwritable = args.target.kind === 'file' ? await fileProblem(args.target.path, args.target.path) : undefined;
  if (unwritable !== undefined) {
    say(io.stderr, `zerobuffer serve: ${unwritable}`);
    return EXIT.stream;
  }
  try {
    if (args.pipeline !== undefined) {
      stream = await startStream({
        source: args.pipeline.length === 1 ? args.pipeline[0]! : args.pipeline, name: args.name, metadataSize: args.metadataSize,
        payloadSize: args.payloadSize, announce: args.announce ? io.stdout : false, pluginPath: args.pluginPath,
        sinkProperties: args.sinkProperties,
      });
      reader = stream.reader;
    } else {
      const sizes = defaultSizes([]);
      reader = await ZeroBufferReader.create({
        name: args.name, metadataSize: args.metadataSize ?? sizes.metadataSize, payloadSize: args.payloadSize ?? sizes.payloadSize,
      });
      if (args.announce) await announce({ method: 'start-stream', name: reader.name, metadataSize: args.metadataSize ?? sizes.metadataSize,
        payloadSize: reader.stats().payloadSize }, { stream: io.stdout });
      say(io.stderr, `zerobuffer serve: ring ${reader.name} is waiting for a writer (zerosink ${gstPropertyWord('buffer-name', reader.name)}, ` +
        `or zerobuffer ingest img SOURCE --name ${shellWord(reader.name)})`);
    }
  } catch (e) {
    if (e instanceof TypeError) {
      say(io.stderr, `zerobuffer serve: ${e.message}`);
      return EXIT.usage;
    }
    if (e instanceof ZeroBufferError) {
      say(io.stderr, `zerobuffer serve: cannot create the ring: ${e.message} (${e.code})`);
      return EXIT.ring;
    }
    throw e;
  }
  let sink: Writable | undefined;
  let failure: unknown;
  let frames = 0;
  try {
    sink = await openSink(args.target, io.stdout, (address) => say(io.stderr, `zerobuffer serve: listening on tcp ${address} for one client`), io.signal);
    const source: AsyncIterable<Frame> = stream !== undefined ? stream.frames({ signal: io.signal }) : reader.frames({ signal: io.signal });
    frames = await serveImg(source, sink, {
      frames: args.frames, signal: io.signal, onWarning: (message) => say(io.stderr, `zerobuffer serve: warning: ${message}`),
    });
  } catch (e) {
    failure = e;
  }
  if (sink !== undefined && sink !== io.stdout) await endSink(sink, io.signal);
  const exit = stream !== undefined ? await stream.close() : (await reader.close(), undefined);
  const code = (failure as { code?: unknown } | undefined)?.code;
  if (failure === undefined || io.signal.aborted || (typeof code === 'string' && GONE.has(code))) {
    const gone = typeof code === 'string' && GONE.has(code) ? ' (the client went away)' : '';
    say(io.stderr, `zerobuffer serve: ${frames} images served${io.signal.aborted && sink === undefined ? ' (stopped before a client came)' : gone}`);
    if (exit?.error !== undefined && !exit.stopped) {
      say(io.stderr, `zerobuffer serve: the pipeline failed. ${exit.error.message}`);
      return EXIT.pipeline;
    }
    return EXIT.ok;
  }
  if (failure instanceof PipelineError) {
    say(io.stderr, `zerobuffer serve: the pipeline failed. ${failure.message}`);
    return EXIT.pipeline;
  }
  if (failure instanceof TypeError) { // a frame img= cannot carry
    say(io.stderr, `zerobuffer serve: ring ${reader.name}: ${failure.message}`);
    return EXIT.stream;
  }
  if (failure instanceof ZeroBufferError) {
    say(io.stderr, `zerobuffer serve: ring ${reader.name}: ${failure.message} (${failure.code})`);
    return EXIT.ring;
  }
  if (failure instanceof Error && typeof code === 'string') {
    say(io.stderr, `zerobuffer serve: ${failure.message}`);
    return EXIT.stream;
  }
  throw failure;
}

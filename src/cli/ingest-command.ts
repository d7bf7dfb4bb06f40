// `zerobuffer ingest img SOURCE --name RING`: an img= stream (tcp:HOST:PORT,
// a file, stdin) into a ring its reader created (zerosrc, zerobuffer serve,
// a Node reader), one frame per image.
import type { Readable } from 'node:stream';
import { onAbort } from '../abort.js';
import { ReaderGoneError, ZeroBufferError } from '../errors.js';
import { ingestImgAs } from '../img-stream/ingest.js';
import { ImgStreamError } from '../img-stream/message.js';
import { inspectRing } from '../rings.js';
import { gstPropertyWord, shellWord } from '../runner/pipeline-tokens.js';
import { whenRingReady } from '../writer.js';
import { openSource } from './endpoint.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import { say, type CliIo } from './io.js';
import type { IngestArgs } from './parse-args.js';

/**
 * An input without an image connected to no ring: its ring is looked for as
 * the first image's connect would have (up to --connect-timeout for it to
 * exist with a live reader), read-only, leaving it untouched. A ring that is
 * not there fails the ingest as it does one with images.
 */
async function ringThere(args: IngestArgs, signal: AbortSignal): Promise<void> {
  await whenRingReady(() => {
    const ring = inspectRing(args.name);
    if (!ring.readerAlive) {
      throw new ReaderGoneError(`reader of ring "${args.name}" is gone: ${ring.readerPid === 0 ? 'it closed the ring' : `process ${ring.readerPid} is not alive`}`,
        { code: 'EREADERGONE' });
    }
  }, { connectTimeoutMs: args.connectTimeoutMs, intervalMs: 20, signal, option: '--connect-timeout' });
}

export async function ingestCommand(args: IngestArgs, io: CliIo): Promise<ExitCode> {
  let source: Readable;
  try {
    source = await openSource(args.source);
  } catch (e) {
    say(io.stderr, `zerobuffer ingest: cannot open ${args.sourceText}: ${(e as Error).message}`);
    return EXIT.stream;
  }
  // A stop while the source opened has fired already: it ends the read at once.
  const removeStop = onAbort(io.signal, () => void source.destroy());
  let written = 0;
  let imageless = false; // the input ended without an image
  try {
    const r = await ingestImgAs(source, {
      name: args.name, format: args.format, cameraId: args.cameraId, connectTimeoutMs: args.connectTimeoutMs, signal: io.signal,
      onFrame: ({ frames }) => { written = frames; },
      onWarning: (message) => say(io.stderr, `zerobuffer ingest: warning: ${message}`),
    }, '--connect-timeout');
    imageless = r.frames === 0 && !io.signal.aborted;
    if (imageless) await ringThere(args, io.signal);
    say(io.stderr, `zerobuffer ingest: ${r.frames} images${r.width === undefined ? '' : ` of ${r.width}x${r.height}`} into ring ${args.name}`);
    return EXIT.ok;
  } catch (e) {
    if (io.signal.aborted) {
      say(io.stderr, 'zerobuffer ingest: stopped');
      return EXIT.ok;
    }
    if (e instanceof ImgStreamError) {
      // a stream bad before its first image never touched the ring
      const kept = written === 0 ? 'no image was written'
        : written === 1 ? `the image before it is in ring ${args.name}` : `the ${written} images before it are in ring ${args.name}`;
      say(io.stderr, `zerobuffer ingest: ${args.sourceText}: ${e.message}; ${kept}`);
      return EXIT.stream;
    }
    if (e instanceof ZeroBufferError) {
      const hint = e.code === 'ENOENT'
        ? ` (the ring's reader creates it: e.g. gst-launch-1.0 zerosrc ${gstPropertyWord('buffer-name', args.name)} ! ..., ` +
          `or zerobuffer serve img tcp:PORT --name ${shellWord(args.name)})`
        : '';
      const input = imageless ? `${args.sourceText} had no image, and ` : '';
      say(io.stderr, `zerobuffer ingest: ${input}ring ${args.name}: ${e.message} (${e.code})${hint}`);
      return EXIT.ring;
    }
    if (e instanceof Error && 'code' in e && typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) {
      say(io.stderr, `zerobuffer ingest: ${args.sourceText}: ${e.message}`); // the connection failed
      return EXIT.stream;
    }
    throw e;
  } finally {
    removeStop();
    source.destroy();
  }
}

// `zerobuffer ingest img SOURCE --name RING`: an img= stream (tcp:HOST:PORT,
// a file, stdin) into a ring its reader created (zerosrc, zerobuffer serve,
// a Node reader), one frame per image.
import type { Readable } from 'node:stream';
import { onAbort } from '../abort.js';
import { ZeroBufferError } from '../errors.js';
import { ingestImgAs } from '../img-stream/ingest.js';
import { ImgStreamError } from '../img-stream/message.js';
import { gstPropertyWord, shellWord } from '../runner/pipeline-tokens.js';
import { openSource } from './endpoint.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import { say, type CliIo } from './io.js';
import type { IngestArgs } from './parse-args.js';

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
  try {
    const r = await ingestImgAs(source, {
      name: args.name, format: args.format, cameraId: args.cameraId, connectTimeoutMs: args.connectTimeoutMs, signal: io.signal,
      onFrame: ({ frames }) => { written = frames; },
      onWarning: (message) => say(io.stderr, `zerobuffer ingest: warning: ${message}`),
    }, '--connect-timeout');
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
      say(io.stderr, `zerobuffer ingest: ring ${args.name}: ${e.message} (${e.code})${hint}`);
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

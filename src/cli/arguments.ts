// The command line as data: commands, positionals and options with their
// help. parse-args.ts turns it into a yargs parser; tests read it as is.
// Nothing here needs the addon: the core's values in the help come from it
// when it loads, else the help names them.
import { DEFAULT_MAX_PIPELINES } from '../orchestrator/max-pipelines.js';
import { DEFAULT_MAX_RESTARTS } from '../runner/restart-budget.js';
import { addon } from './addon.js';
import { EXIT, EXIT_TEXTS, type ExitCode } from './exit-codes.js';

export interface OptionSpec {
  type: 'string' | 'number' | 'boolean';
  describe: string;
  default?: string | number | boolean;
  alias?: string;
  /** Given as often as wanted, one value each time (the others: once). */
  repeatable?: boolean;
}

export interface PositionalSpec {
  type: 'string';
  describe: string;
  array?: boolean;
}

export interface CommandSpec {
  /** yargs command string: name and positionals. */
  command: string;
  /** The usage line of its --help when the command string cannot say it all (watch's command after "--"). */
  usage?: string;
  describe: string;
  positionals: Record<string, PositionalSpec>;
  options: Record<string, OptionSpec>;
  examples: [string, string][];
  /** Extra help text (before the exit codes). */
  notes?: string;
  /** The statuses it can end with, as its --help tells them (exits()). */
  exitCodes: Partial<Record<ExitCode, string>>;
}

const USAGE = 'usage error (bad option or argument, e.g. an option that takes a value given twice or an invalid ring name)';
const USAGE_PLUGIN_PATH = 'usage error (bad option or argument, e.g. an option that takes a value given twice, an invalid ring name or a --plugin-path that does not exist)';

/** The statuses given, with EXIT_TEXTS' wording unless told otherwise; 1 and 2 (any command's) always. */
function exits(codes: ExitCode[], own: Partial<Record<ExitCode, string>> = {}): Partial<Record<ExitCode, string>> {
  const texts: Partial<Record<ExitCode, string>> = {};
  for (const code of [...new Set([EXIT.ok, EXIT.internal, EXIT.usage, ...codes])].sort((a, b) => a - b))
    texts[code] = own[code] ?? EXIT_TEXTS[code];
  return texts;
}

export const DEMO_PIPELINE =
  'videotestsrc is-live=true pattern=ball ! video/x-raw,format=RGB,width=640,height=480,framerate=30/1';
/** Frames the demo stops after when stdout is not a terminal (and no --frames/--duration). */
export const DEMO_FRAMES_OFF_TTY = 150;
/**
 * Frames run --snapshot tries before it gives up: one that cannot be made a
 * picture (a corrupt JPEG: a webcam's first is often cut short) is skipped.
 * A raw frame of another size than its caps say never reaches it: zerosink
 * refuses it (EFRAMESIZE).
 */
export const SNAPSHOT_TRIES = 10;

/** --mode: the permission bits of a ring the command creates (what: which ring, for the help). */
function modeOption(what: string): OptionSpec {
  return {
    type: 'string',
    describe: `Permission bits of ${what} (its shared memory, semaphores and lock file), in octal as chmod takes them: 0660 or 660 lets the file group's users in ` +
      '(a writer of another user in it), 0666 everyone; default 0600, this user only. The owner must keep read and write (0600 in it): another mode, ' +
      'or one that is not octal digits, is a usage error (status 2)',
  };
}

/** The readers' fallback ring (3 frames of 1080p RGB): its bytes from the core when the addon loads. */
const FALLBACK_SIZE = `3 × 1920×1080 RGB${addon.native === undefined ? '' : ` (${addon.native.defaultPayloadSize(0)} bytes)`}`;

const ringOptions: Record<string, OptionSpec> = {
  name: { type: 'string', describe: 'Ring name (default: zb-<uuid>)' },
  mode: modeOption('the ring'),
  'metadata-size': { type: 'number', describe: `Metadata block size in bytes (default: ${addon.native?.defaultMetadataSize ?? "the core's ZB_DEFAULT_METADATA_SIZE"})` },
  'payload-size': {
    type: 'number',
    describe: 'Payload ring size in bytes (default: frames of the size the caps at the end of the pipeline describe, ' +
      '2 to 4 of them, as many as fit in 32 MiB (up to 64 of small frames), with room for the frame header; raw audio: 1 s of it, ' +
      `at least 64 KiB; else, encoded caps too (their frames have no set size), ${FALLBACK_SIZE}, as zerosrc sizes its ring)`,
  },
};

const pipelineOptions: Record<string, OptionSpec> = {
  'plugin-path': {
    type: 'string',
    describe: 'Directory holding libgstzerobuffer.so, or one above it (it must exist), instead of this package\'s own plugin (the default: see plugin-path; GStreamer\'s own directories where the package has none); $GST_PLUGIN_PATH comes first (or $GST_PLUGIN_PATH_1_0, when set)',
  },
  'sink-property': {
    type: 'string', repeatable: true,
    describe: 'Extra zerosink property as name=value (repeatable), e.g. policy=drop (not buffer-name, nor buffer_name, which GStreamer reads as the same: the ring is zerobuffer\'s); a value gst-launch refuses, also one out of range (which it only warns about), stops the pipeline (status 3); a name zerosink does not have is a usage error (status 2) naming the nearest it has',
  },
  fast: {
    type: 'boolean',
    describe: 'As fast as the pipeline can go: zerosink sync=false (by default it plays at the caps\' framerate, like every sink)',
  },
};

/** The utilisation bands by their thresholds: the core's numbers when the addon loads, else their names. */
function bandsText(): string {
  const bands = addon.native?.healthBands;
  const [degraded, critical] = bands === undefined
    ? ["the core's ZB_BAND_DEGRADED_PERCENT", 'ZB_BAND_CRITICAL_PERCENT'] : [`${bands.degraded} %`, `${bands.critical} %`];
  return `healthy below ${degraded}, degraded from ${degraded} to ${critical}, critical above ${critical}`;
}

export const COMMANDS = {
  run: {
    command: 'run [pipeline..]',
    describe: 'Run a source pipeline into a ring and consume its frames here, with live stats',
    positionals: {
      pipeline: { type: 'string', array: true, describe: 'Source pipeline in gst-launch syntax (zerosink is appended); default: a videotestsrc demo' },
    },
    options: {
      frames: { type: 'number', describe: 'Stop after N frames' },
      duration: { type: 'string', describe: 'Stop after this long running (time suspended by Ctrl-Z does not count): 10s, 500ms, 2m, 1h (a bare number is seconds; at most 596h)' },
      json: { type: 'boolean', describe: 'Stats as JSON lines (the default when stdout is not a terminal)' },
      snapshot: {
        type: 'string',
        describe: 'Write the first frame as a PNG image to this file, whose name ends in .png (a device, a pipe or a link, /dev/fd/3, takes any; - or /dev/stdout: stdout, which then holds the PNG alone: the stats, JSON or not, go to stderr; refused on a terminal and with --announce; the run goes on after the PNG until --frames, --duration or a stop, or until the program reading stdout quits (| head -c 100): a quiet stop, status 0) (any raw format, JPEG or PNG frames; needs sharp, an optional dependency): 8-bit RGB, ' +
          'but GRAY16_LE/GRAY16_BE frames give a 16-bit gray PNG with every sample exact, ARGB64 (pngdec of a 16-bit PNG file; GStreamer 1.22.0 pngdec shifts its samples: leave such files encoded), ARGB64_LE/BE, ' +
          'RGBA64_LE/BE, BGRA64_LE/BE and ABGR64_LE/BE frames a 16-bit RGBA PNG of their samples, and 16-bit PNG frames are written as they came. ' +
          `A frame that cannot be made a picture (a corrupt JPEG, as a webcam's first often is) is skipped, up to ${SNAPSHOT_TRIES} frames (then exit 3); a raw frame of another size than its caps say is zerosink's permanent EFRAMESIZE error before the ring (exit 3, no PNG); --frames does not end the run before the snapshot is written. ` +
          'The summary says what was written: "snapshot": {"file", "width", "height", "bitDepth" (8 or 16), "color" (gray, RGB, gray+alpha or RGBA)}',
      },
      announce: {
        type: 'boolean',
        describe: 'Print the start-stream line ("> {jsonrpc...}") to stdout once the ring exists, and the stop-stream line once it is gone: the line protocol a supervisor ' +
          '(zerobuffer watch) reads. With --json they are among the JSON lines (start-stream first, stop-stream before the summary): a JSON consumer skips lines that begin with ">" (grep -v "^>" | jq)',
      },
      hash: { type: 'boolean', describe: 'Add a SHA-256 of all frame bytes, in order, to the summary' },
      restart: { type: 'boolean', describe: 'Restart the pipeline with backoff when it dies of a transient error (never after a permanent one)' },
      'max-restarts': { type: 'number', describe: 'With --restart (without it, a usage error): restarts allowed in a row (-1: no limit; a run that stays up 5 s starts the count again); used up, the pipeline "keeps dying" (exit 3)', default: DEFAULT_MAX_RESTARTS },
      'camera-id': { type: 'string', describe: 'Camera id written into the ring metadata (zerosink camera-id; frame.imageMeta.camera_id)' },
      interval: { type: 'number', describe: 'Seconds between stats updates (0.05 or more)', default: 1 },
      ...ringOptions,
      ...pipelineOptions,
    },
    examples: [
      ['$0 run', `the demo: ${DEMO_PIPELINE} ! zerosink frame-header=true`],
      ['$0 run "v4l2src ! videoconvert ! video/x-raw,format=RGB" --snapshot cam.png --frames 1', 'one picture from a camera'],
      ['$0 run "videotestsrc num-buffers=300 ! video/x-raw,format=I420,width=1280,height=720" --json', 'stats as JSON lines'],
      ['$0 run "videotestsrc num-buffers=1000 ! video/x-raw,format=RGB" --fast', 'as fast as possible (sync=false)'],
    ],
    notes: `zerobuffer appends "! zerosink buffer-name=<ring>" itself: the pipeline ends before it. zerosink syncs to the clock like every sink, so a non-live source plays at its caps' framerate; --fast (sync=false) runs it flat out. Without a pipeline the demo runs until Ctrl-C on a terminal; when stdout is not a terminal it stops after ${DEMO_FRAMES_OFF_TTY} frames (5 s) unless --frames or --duration is given. An element's warning (gst-launch's "WARNING: from element ...") goes to stderr with the first line of its debug text (--json: a {"type":"warning"} line).`,
    exitCodes: exits([EXIT.pipeline, EXIT.ring], {
      [EXIT.pipeline]: 'pipeline failure: gst-launch rejected it, zerosink reported a permanent error (frame too large for the ring, a raw frame of another size than its caps (EFRAMESIZE), ' +
        `no such ring, caps mismatch, bad name, permission denied), it kept dying (--max-restarts), or an element failed during the stop (Ctrl-C, --frames, --duration: "failed while it stopped", as gst-launch -e itself then exits 1; --json\'s summary: lastError) or before it came (gst-launch on its way out, or --restart waiting its delay: "failed before its stop came", the run\'s own failure, not the stop\'s); --snapshot: no frame came, or none of the first ${SNAPSHOT_TRIES} could be made a picture (a corrupt JPEG)`,
      [EXIT.ring]: 'ring error (cannot create the ring: the name is taken, /dev/shm is full, ...; or its writer broke the protocol: a frame out of sequence, ESEQUENCE, a corrupt segment, EPROTO)',
    }),
  },
  filter: {
    command: 'filter <source> <sink>',
    describe: 'Run <source> ! zerofilter ! <sink> with a Node script answering every frame (a duplex channel), with live stats',
    positionals: {
      source: { type: 'string', describe: 'Source pipeline in gst-launch syntax (zerofilter follows it)' },
      sink: { type: 'string', describe: 'Sink pipeline in gst-launch syntax (it follows zerofilter; nothing is appended after it: it ends in a sink element, e.g. fakesink or a zerosink of its own, into a ring its reader created; one whose output goes nowhere fails with gst-launch\'s not-linked, exit 3, said so)' },
    },
    options: {
      script: { type: 'string', describe: 'ES module whose default export answers each frame: (frame, reply) => bytes | frame | void (required)' },
      'output-caps': { type: 'string', describe: 'Caps of the answers when they differ from the input (the script may also export outputCaps)' },
      'on-error': {
        type: 'string',
        describe: 'When the script throws: pass (answer with the frame as it is: unchanged, unless the script drew on frame.data before it threw) or stop. ' +
          'Default: pass, but stop with output caps (--output-caps, or the script\'s outputCaps export), where pass is refused: the frame is not of those caps',
      },
      'in-place': {
        type: 'boolean', default: true,
        describe: 'Answer a frame the script returns (unchanged, or drawn on in frame.data) in place when zerofilter takes it: its request\'s bytes go downstream, nothing is copied (--no-in-place: copy every answer)',
      },
      frames: {
        type: 'number',
        describe: 'Stop after N answers: the script answers N frames, then the pipeline is stopped (EOS); the frames still in flight get the N-th answer again, not handed to the script nor counted ("drained" in the summary)',
      },
      json: { type: 'boolean', describe: 'Stats as JSON lines (the default when stdout is not a terminal)' },
      interval: { type: 'number', describe: 'Seconds between stats updates (0.05 or more)', default: 1 },
      name: { type: 'string', describe: 'Channel name (default: zb-filter-<8 hex digits>, the first 8 of a random UUID)' },
      mode: modeOption('the channel\'s request ring, NAME_request, which this command creates (the response ring is zerofilter\'s: --sink-property mode=0660)'),
      'payload-size': {
        type: 'number',
        describe: 'Request ring payload bytes (default: for the frame size the caps filter the source ends with describes, zerofilter\'s depth + 3 frames or more, as its response ring; raw audio: depth + 3 buffers of up to 1 s, at least 64 KiB, as zerofilter sizes its response ring; ' +
          `else, encoded caps too (their frames have no set size), ${FALLBACK_SIZE}, as zerofilter sizes its response ring then)`,
      },
      'plugin-path': pipelineOptions['plugin-path'],
      'sink-property': { type: 'string', repeatable: true, describe: 'Extra zerofilter property as name=value (repeatable), e.g. depth=4 or policy=drop; a value gst-launch refuses, also one out of range (which it only warns about), stops the pipeline (status 3)' },
    },
    examples: [
      ['$0 filter "videotestsrc ! video/x-raw,format=RGB" --script ./invert.mjs "videoconvert ! autovideosink"', 'a Node filter between two pipelines'],
      ['$0 filter "videotestsrc num-buffers=300 ! video/x-raw,format=RGB" --script ./mask.mjs --output-caps "video/x-raw,format=GRAY8,width=320,height=240" "fakesink" --json', 'RGB in, GRAY8 out'],
    ],
    notes: 'The script\'s default export gets each frame (frame.data, frame.metadata.caps, frame.image()) and a reply: return new bytes, return the frame itself, or fill await reply.reserve(size) in place. Answers go out in frame order. What the script writes to stdout (its console, node:console\'s, a Worker\'s, process.stdout.write) goes to stderr, above the live stats line: stdout is the command\'s (the stats, the --json lines). Stats: answers/s, the service time p50/p99 (request arrival to answer), the round trip p50/p99 (request commit to answer commit: zerofilter frame-header=true is set) and how many answers went in place (no copy) and by copy. A pipeline that dies with answers due, or stops reading them for 5 s (the answer waiting is dropped and the pipeline gets none again: it fails once it resumes), is told on stderr in one line: its pid, why (a pipeline that failed: as its pipeline failed, the error below), the first request dropped (with --json also a {"type":"clientGone"} line). zerofilter\'s warnings go to stderr (--json: {"type":"warning"} lines), their property hints in --sink-property words (raise --sink-property timeout=MS): with --sink-property on-error=pass a server that fails or answers late is one, and the stream goes on passed through, unfiltered; a zerosink\'s (one in the source or sink pipeline) says to set frame-header=true on it there, which --sink-property does not reach. At the end zerofilter\'s own counts (round trips, passed, dropped) are printed.',
    exitCodes: exits([EXIT.pipeline, EXIT.ring], {
      [EXIT.ok]: 'success (the stream ended, --frames reached, or stopped with Ctrl-C and no element failed during the stop or just before it)',
      [EXIT.usage]: `${USAGE_PLUGIN_PATH}; --on-error pass with output caps`,
      [EXIT.pipeline]: 'pipeline failure: gst-launch rejected it, an element reported a permanent error (or any error during a Ctrl-C\'s stop: zerofilter\'s timeout while a slow script answered; or just before it came: "failed before its stop came"), the script failed under --on-error stop or on every request, or threw outside a request (an uncaught exception, e.g. in a timer: told with its stack; later ones counted), or ended the process itself (process.exit(N), whatever N: its pipeline killed, the rings removed), or the server could not write an answer',
      [EXIT.internal]: `${EXIT_TEXTS[EXIT.internal]}; also an uncaught exception whose stack names only zerobuffer's own files (a bug of zerobuffer, not the script's)`,
      // filter meets a ring error only creating the request ring (filter-command.ts); the server's later failures are status 3
      [EXIT.ring]: 'ring error (cannot create the channel\'s request ring: the name is taken, /dev/shm is full, ...)',
    }),
  },
  watch: {
    command: 'watch',
    usage: '$0 watch [options] -- <command> [args..]',
    describe: 'Run a reader command; start the pipeline into every ring it announces with a start-stream line',
    positionals: {},
    options: {
      pipeline: { type: 'string', describe: 'Source pipeline in gst-launch syntax (required; zerosink is appended, or zerofilter for a start-duplex)' },
      'filter-sink': { type: 'string', describe: 'What follows zerofilter when the command announces a duplex channel (start-duplex); default: fakesink; nothing is appended after it: it ends in a sink element, e.g. fakesink or a zerosink of its own; one whose output goes nowhere fails with gst-launch\'s not-linked, said so: a permanent error, not restarted (exit 3)' },
      restart: {
        type: 'boolean', default: true,
        describe: 'Restart a pipeline that dies of a transient error while its reader lives, a gst-launch killed (SIGKILL too) or crashed as well (--no-restart: do not: such a death stops the watch, exit 3; a pipeline whose reader created its ring again still goes into the new ring, no restart); a permanent error stops the watch (exit 3)',
      },
      'max-restarts': { type: 'number', describe: 'Restarts allowed in a row per announced ring (-1: no limit; with --no-restart, a usage error): a run that stays up 5 s starts the count again, and a pipeline whose reader went and created its ring again goes into the new ring uncounted; used up, the pipeline "keeps dying" (exit 3)', default: DEFAULT_MAX_RESTARTS },
      'max-pipelines': { type: 'number', describe: 'Pipelines running at once, at most; an announcement of another ring beyond it is ignored with a warning', default: DEFAULT_MAX_PIPELINES },
      ...pipelineOptions,
    },
    examples: [
      ['$0 watch --pipeline "videotestsrc ! video/x-raw,format=RGB,width=320,height=240" -- node reader.mjs', 'feed a reader that announces its ring (README: zerobuffer watch)'],
    ],
    notes: 'The command goes after "--". Its output passes through unchanged except lines whose first non-blank character is ">" (after the last "\\r" with text after it, which starts the line again as on a terminal: "working 50%\\r> {...}", however long the line; a "\\r" inside the JSON object is whitespace; ">" progress such as "> 50%\\r" passes through): those are the line protocol (start-stream, stop-stream, start-duplex: a duplex server asking for "<pipeline> ! zerofilter channel=NAME ! <--filter-sink>"). Ignored protocol lines are reported on stderr, and so is a pipeline element\'s warning (gst-launch\'s "WARNING: from element ...") (a start-stream whose ring name, a string, is invalid is a failure: exit 3). Ctrl-C or the command\'s exit stops everything: the pipelines by EOS, the command as Ctrl-C in its terminal would (SIGINT to its process group, whatever the command: a gst-launch with zerosrc then removes its ring; SIGTERM after 5 s, SIGKILL 1 s later, each said on stderr; SIGCONT after the SIGINT and the SIGTERM, so that a stopped command handles them; a second Ctrl-C: SIGKILL to all at once). After the command\'s exit no pipeline starts (an announcement read then is ignored, and said so), and its output is read while its group is being stopped, then until its pipe has been idle for 100 ms: all it wrote passes on, however slowly watch\'s own output is read, and a process it started with setsid that keeps the output open does not keep watch running. A pipeline that fails for good (a permanent zerosink error, out of restarts, or with --no-restart any death while its reader lives, a gst-launch SIGKILLed too) is reported once and stops the command too (exit 3; "stopped <command>", or "<command> had exited by itself (status N)" when it was gone before the stop reached it); one whose element fails during its stop (its EOS, also a stop-stream\'s) is told as it comes, and the watch ends with exit 3 (not stopping the command for it). zerosink waits 2 s for an announced ring (--sink-property connect-timeout=MS to change). At the end one line per announced ring: frames written, restarts, last error.',
    exitCodes: exits([EXIT.pipeline, EXIT.command], {
      [EXIT.ok]: 'success: the command exited 0, or Ctrl-C stopped everything (and no element failed during a pipeline\'s stop or just before it)',
      [EXIT.usage]: USAGE_PLUGIN_PATH,
      [EXIT.pipeline]: 'pipeline failure: gst-launch rejected it, zerosink reported a permanent error (also: the announced ring does not exist, or its name is invalid), ' +
        'it kept dying (--max-restarts), or with --no-restart it died while its reader waited: a transient error, or a gst-launch killed (also by SIGKILL) or crashed ' +
        '(not one zerobuffer itself SIGKILLed when its stop\'s EOS went unanswered for 5 s: that changes no status), ' +
        'or an element failed during a pipeline\'s stop (a stop-stream, Ctrl-C, or the command\'s exit: "failed while it stopped (its EOS)", told as it comes, ' +
        'as is a transient failure printed before that stop came (gst-launch on its way out, or its restart waiting its delay), "failed before its stop came", ' +
        'as gst-launch -e itself then exits 1; a stop-stream\'s does not stop the command: the status is the watch\'s at its end)',
      [EXIT.command]: 'the command failed (exited non-zero, was killed, or could not be started: not found on the PATH, ...; no pipeline failed)',
    }),
  },
  ingest: {
    command: 'ingest <kind> <source>',
    describe: 'Write an img= image stream (tcp:HOST:PORT, a file or -) into a ring its reader created, one frame per image',
    positionals: {
      kind: { type: 'string', describe: 'Stream format: img (16-bit img=<SOH>u16[H,W] k=v…<STX>pixels<ETX>)' },
      source: { type: 'string', describe: 'tcp:HOST:PORT (connect to the camera server; an IPv6 HOST in brackets: tcp:[::1]:9000), a file, or - (stdin)' },
    },
    options: {
      name: { type: 'string', describe: 'Ring to write into (required; created by its reader)' },
      format: { type: 'string', describe: 'Frame format in the ring: GRAY16_BE (the bytes as sent) or GRAY16_LE (swapped)', default: 'GRAY16_BE' },
      'camera-id': { type: 'string', describe: 'Camera id written into the ring metadata' },
      'connect-timeout': { type: 'number', describe: 'Milliseconds to wait, from the first image on (or from the end of an input without one), for the ring to exist with a live reader (a stale one is waited on, as zerosink does; -1: no limit)', default: 10000 },
    },
    examples: [
      ['$0 ingest img tcp:camera.local:9000 --name cam0', 'a camera server into ring cam0 (e.g. gst-launch-1.0 zerosrc buffer-name=cam0 ! ...)'],
      ['$0 ingest img recording.img --name cam0', 'a recorded stream'],
    ],
    notes: 'Frames carry the 48-byte frame header with the image\'s attributes (frame.attributes in Node; zerosrc skips them); a header that is not UTF-8 is read as Latin-1, one character per byte, and marked img.encoding=latin1 (serve writes it back byte for byte); timestamp={…} (any number of fraction digits, cut to ns) becomes the PTS, counted from the first image\'s; an image without a usable one (missing, not a date, going back) is stamped by its arrival: the previous PTS plus the time since the previous image came. The caps are GRAY16_BE (or GRAY16_LE) at the first image\'s size; an image of another size ends the ingest. It connects to the ring at its first image: an input that is empty or fails before one leaves the ring untouched (its reader waits on). An empty input still names a ring: it is looked for (read-only) as the first image would have been, and none there after --connect-timeout is a ring error (status 4), as with images.',
    exitCodes: exits([EXIT.ring, EXIT.stream], {
      [EXIT.ok]: 'success: the img= stream ended (an empty one: into a ring that is there), or Ctrl-C stopped it',
      [EXIT.usage]: USAGE,
      [EXIT.ring]: 'ring error (no ring under --name: its reader creates it)',
      [EXIT.stream]: 'bad img= stream, or its connection or file failed',
    }),
  },
  serve: {
    command: 'serve <kind> <target>',
    describe: 'Create a ring and send its GRAY16 frames as an img= stream to one TCP client, a file or stdout',
    positionals: {
      kind: { type: 'string', describe: 'Stream format: img' },
      target: { type: 'string', describe: 'tcp:[HOST:]PORT (listen, 127.0.0.1 unless HOST is given, an IPv6 one in brackets: tcp:[::1]:9000; port 0 picks one), a file (emptied at the first image, or at the end when none came: a serve that fails before it leaves an existing file as it was), or - (stdout, not a terminal; a path to what stdout has open, such as /dev/stdout, counts as -); not a terminal named by its path (/dev/tty): the stream is binary' },
    },
    options: {
      pipeline: { type: 'string', describe: 'Source pipeline writing into the ring (zerosink is appended; with tcp: the ring is created at once, the pipeline starts once the client is connected); else wait for any writer' },
      frames: { type: 'number', describe: 'Stop after N images' },
      announce: { type: 'boolean', describe: 'Print the start-stream line ("> {jsonrpc...}") to stdout once the ring exists (with tcp: and --pipeline, once the client is there and the pipeline starts, as the ring is then first read), and the stop-stream line once it is gone (not with target -: stdout carries the img= stream)' },
      ...ringOptions,
      ...pipelineOptions,
    },
    examples: [
      ['$0 serve img tcp:9000 --pipeline "zerosrc buffer-name=cam0"', 'ring cam0 back out to a client on port 9000; zerosrc creates cam0 once the client is connected, so start zerobuffer ingest ... --name cam0 then (or give it a larger --connect-timeout MS)'],
      ['$0 serve img out.img --name cam1', 'record what a writer puts into ring cam1'],
    ],
    notes: 'Frames keep their attributes (key=value; a value that is no token goes out {braced}, without braces or control characters inside, with a warning when it loses some), a Latin-1 header (img.encoding=latin1, from ingest) byte for byte; frames from GStreamer have none (zerosink\'s caps attribute, after a caps change, is not sent: the shape says the size). GRAY16_LE frames are swapped to the wire\'s order. Ctrl-C stops it: a client or file is given 1 s more for what was sent, then dropped (a client that stopped reading would hold it for ever).',
    exitCodes: exits([EXIT.pipeline, EXIT.ring, EXIT.stream], {
      [EXIT.ok]: 'success (the stream ended, --frames reached, stopped with Ctrl-C, or output closed: | head, 2>&1 | head)',
      [EXIT.usage]: `${USAGE_PLUGIN_PATH}; a target that is a terminal (-, /dev/tty)`,
      [EXIT.pipeline]: 'pipeline failure (--pipeline): gst-launch rejected it, or an element failed (zerosink\'s error, or another\'s), also just before a stop came (Ctrl-C, --frames, the client\'s going; not during the stop\'s EOS)',
      [EXIT.ring]: 'ring error (cannot create the ring: the name is taken, /dev/shm is full, ...; or its writer broke the protocol: a frame out of sequence, ESEQUENCE, a corrupt segment, EPROTO, a frame of another size than its caps, EFRAMESIZE)',
      [EXIT.stream]: 'a frame img= cannot carry (not GRAY16: img= messages are 16-bit gray), or its connection or file failed',
    }),
  },
  inspect: {
    command: 'inspect <name>',
    describe: 'Show the health of a ring: sizes, utilisation band, counts, reader/writer pids',
    positionals: { name: { type: 'string', describe: 'Ring name (as in /dev/shm/NAME; one that begins with "-" goes after "--": inspect -- -x)' } },
    options: { json: { type: 'boolean', describe: 'Print JSON' } },
    examples: [['$0 inspect cam0', 'one ring']],
    notes: `Utilisation bands (the protocol's capacity guidance): ${bandsText()} (frames are about to be lost). A segment not ready (empty, or a zero header) is judged by its lock file: still being created while a live reader holds it (ENOENT, try again), else a leftover that cleanup NAME removes (EREADERGONE), or not a ring of ours (EPROTO). A ring with an unread entry its reader will refuse (EPROTO: a frame size past the ring): the fields read (sizes, positions, counts, pids) on stdout, then the error, status 4. With --json a failure is JSON too ({"name", "error", "code"} on stdout, with those fields when read; status 4). A duplex channel\'s name is no ring: its rings NAME_request and NAME_response are named instead.`,
    exitCodes: exits([EXIT.ring], { [EXIT.ok]: 'success', [EXIT.usage]: USAGE, [EXIT.ring]: "ring error (no such ring, another user's we may not read (EACCES, naming its owner), not a ring of ours, or one whose OIEB or entries are wrong: what could be read is printed first)" }),
  },
  cleanup: {
    command: 'cleanup [names..]',
    describe: 'Remove stale rings (reader and writer dead) from /dev/shm and /tmp/zerobuffer',
    positionals: { names: { type: 'string', array: true, describe: 'Only these rings (default: every ring found; names that begin with "-" go after "--": cleanup -- -x)' } },
    options: {
      'dry-run': { type: 'boolean', describe: 'List what would be removed (and what would be refused), remove nothing' },
      json: { type: 'boolean', describe: 'Print JSON: {"dryRun", "removed" (with --dry-run "wouldRemove" instead), "live", "failed", "missing", "channels" (a name not found that is a duplex channel\'s: {"name", "rings", "live"}, live null when unknown: another user\'s rings we may not read), "unclaimed", "skipped" (rings a sweep left alone: other users\', and ours whose lock file we may not open)}' },
    },
    examples: [['$0 cleanup --dry-run', 'what would be removed']],
    notes: 'A name given is removed as a reader creating it would: also an empty /dev/shm/NAME of yours that no live reader holds, with or without a lock file. Without names, the rings a lock file or semaphores claim; an empty /dev/shm file that nothing claims is listed as unclaimed and kept (it may be another program\'s): name it to remove it. A file under a name that is not a ring, or another user\'s, is refused with the reason (status 4); a sweep without names skips other users\' rings instead (EACCES: not ours to remove; one we may not read cannot even be judged live or dead), and ours whose lock file\'s mode shuts us out (its reader may live), says how many and which, status 0.',
    exitCodes: exits([EXIT.ring], {
      [EXIT.ok]: 'success (a name with nothing under it is listed as not found)',
      [EXIT.usage]: USAGE,
      [EXIT.ring]: "ring error (a ring that cannot be removed: another user's named, or a file under the name that is not a ring)",
    }),
  },
  'plugin-path': {
    command: 'plugin-path',
    describe: 'Print the directory of the GStreamer plugin this package carries (for GST_PLUGIN_PATH)',
    positionals: {},
    options: {},
    examples: [['export GST_PLUGIN_PATH=$($0 plugin-path)', 'let your own gst-launch-1.0 lines find zerosink and zerosrc']],
    notes: 'The package\'s own build (builddir/gst-plugin: a checkout\'s, or one built with meson in the installed package), else the prebuilt plugin of the npm package (prebuilds/<platform>-<arch>/gstreamer-1.0). Exits 1 when there is neither (no prebuilt plugin for this platform: build it in the package with meson), saying which plugin GStreamer finds as it is, if any.',
    exitCodes: exits([], {
      [EXIT.ok]: 'success: the directory is printed',
      [EXIT.usage]: 'usage error (an argument or an option it does not take)',
      [EXIT.internal]: 'no plugin found (not built, and no prebuilt one for this platform), or an unexpected error',
    }),
  },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;

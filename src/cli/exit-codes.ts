// Exit statuses of the zerobuffer command, one per kind of failure, so
// scripts can tell them apart. --help prints them (exitCodesHelp).
export const EXIT = {
  /** Done: the stream ended, the limit was reached, or the user stopped it. */
  ok: 0,
  /** Something unexpected (a bug): the message has the details. Also a native addon that does not load, or of another version (EADDON, bin.ts), for a command that needs it (all but plugin-path). */
  internal: 1,
  /** Bad command line (an option without its value, a --snapshot file that cannot be written or not named .png): see --help. */
  usage: 2,
  /**
   * The pipeline failed for good (the message is printed once): gst-launch
   * rejected it, zerosink reported a permanent error (a frame that can never
   * fit, no such ring, other caps than the ring's, a bad name, permission
   * denied), it kept dying (--max-restarts used up), it died without a
   * restart while its reader waited, an element failed during run's,
   * filter's or a watch pipeline's stop, filter's script failed under
   * --on-error stop or on every request, or run --snapshot got no frame it
   * could make a picture of.
   */
  pipeline: 3,
  /**
   * A ring could not be created, found or removed (name taken, no such ring,
   * /dev/shm full, ...), or the writer of a ring run or serve reads broke the
   * protocol (ESEQUENCE, EPROTO; serve: EFRAMESIZE, a frame its caps refuse).
   */
  ring: 4,
  /** watch: the command exited with a non-zero status or was killed (and no pipeline failed). */
  command: 5,
  /** ingest / serve: the img= stream is malformed, serve got a frame img= cannot carry (not GRAY16), or its connection or file failed. */
  stream: 6,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** What each status means, one item each (a command's own wording may replace one: CommandSpec.exitCodes). */
export const EXIT_TEXTS: Record<ExitCode, string> = {
  [EXIT.ok]: 'success (stream ended, --frames/--duration reached, stopped with Ctrl-C (a second Ctrl-C kills the children at once; run, filter, watch: no element failed during the stop), or output closed: | head, 2>&1 | head)',
  [EXIT.internal]: 'unexpected error, stdout or stderr cannot be written (a full disk), or the native addon does not load or was built for another version (build it: the message says how; plugin-path needs none)',
  [EXIT.usage]: 'usage error (bad option or argument, e.g. an option that takes a value given twice, an invalid ring name, a --plugin-path that does not exist or a --snapshot file that cannot be written or is not named .png)',
  [EXIT.pipeline]: 'pipeline failure: gst-launch rejected it, zerosink reported a permanent error (frame too large for the ring, no such ring, caps mismatch, bad name, permission denied; watch: a --filter-sink that sends the answers of zerofilter nowhere, not-linked), it kept dying (--max-restarts), it died without a restart while its reader waited (watch --no-restart: also a gst-launch SIGKILLed), (run, filter, watch) an element failed during the stop, (filter) the script failed under --on-error stop or on every request, or (run --snapshot) no frame came that could be made a picture',
  [EXIT.ring]: 'ring error (cannot create, find or remove a ring; inspect: a ring whose OIEB or entries are wrong; run, serve: its writer broke the protocol)',
  [EXIT.command]: 'watch: the watched command failed (exited non-zero, was killed, or could not be started; no pipeline failed)',
  [EXIT.stream]: 'ingest / serve: bad img= stream, a frame img= cannot carry (serve: not GRAY16), or its connection or file failed',
};

/**
 * The "Exit status:" table of --help: the statuses given (every one by
 * default), each wrapped to width with its continuation lines indented
 * under its text, so that yargs, wrapping at the same width, leaves it be.
 */
export function exitCodesHelp(width: number, texts: Partial<Record<ExitCode, string>> = EXIT_TEXTS): string {
  const lines = ['Exit status:'];
  for (const [code, text] of Object.entries(texts)) {
    const indent = ' '.repeat(`  ${code}  `.length);
    let line = `  ${code} `;
    let words = 0; // on this line
    for (const word of text.split(' ')) {
      if (words > 0 && line.length + 1 + word.length > width) {
        lines.push(line);
        line = indent.slice(0, -1);
        words = 0;
      }
      line += ` ${word}`;
      words++;
    }
    lines.push(line);
  }
  return lines.join('\n');
}

// Exit statuses of the zerobuffer command, one per kind of failure, so
// scripts can tell them apart. --help prints this table.
export const EXIT = {
  /** Done: the stream ended, the limit was reached, or the user stopped it. */
  ok: 0,
  /** Something unexpected (a bug): the message has the details. */
  internal: 1,
  /** Bad command line: see --help. */
  usage: 2,
  /** gst-launch rejected the pipeline or it failed (its own message is printed). */
  pipeline: 3,
  /** A ring could not be created, found or removed (name taken, no such ring, /dev/shm full, ...). */
  ring: 4,
  /** watch: the command exited with a non-zero status or was killed. */
  command: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = [
  'Exit status:',
  `  ${EXIT.ok}  success (stream ended, --frames/--duration reached, or stopped with Ctrl-C)`,
  `  ${EXIT.internal}  unexpected error`,
  `  ${EXIT.usage}  usage error (bad option or argument)`,
  `  ${EXIT.pipeline}  pipeline failure (gst-launch rejected it or it failed)`,
  `  ${EXIT.ring}  ring error (cannot create, find or remove a ring)`,
  `  ${EXIT.command}  watch: the watched command failed`,
].join('\n');

// Where the commands write: process streams by default, replaceable in tests.
import type { Writable } from 'node:stream';

export interface CliIo {
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable;
  /** Aborted on SIGINT/SIGTERM/SIGHUP (the commands stop gracefully). */
  signal: AbortSignal;
}

export function say(stream: Writable, text: string): void {
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
}

/**
 * Rewrites the terminal's current line (the live stats) with text, cut to
 * the terminal's width: a line that wrapped would leave its first rows
 * behind at every rewrite, so the stats would scroll instead of updating.
 */
export function rewriteLine(stdout: CliIo['stdout'], text: string): void {
  const width = stdout.columns;
  const fitted = width !== undefined && width > 1 && text.length >= width ? `${text.slice(0, width - 2)}…` : text;
  stdout.write(`\r\x1b[2K${fitted}`);
}

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

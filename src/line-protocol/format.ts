// The writing side of the line protocol: one line per message, written in
// one write and flushed before the promise resolves.
import type { Writable } from 'node:stream';
import { onAbort } from '../abort.js';
import { optionNames, validateOptions, validateSignal } from '../options.js';
import type { StreamMessage } from './messages.js';
import { checkMessage } from './validate.js';

/** The line for a message (with its '\n'); throws TypeError when the message is invalid. */
export function formatMessage(message: StreamMessage): string {
  const problem = checkMessage(message);
  if (problem !== undefined) throw new TypeError(`${message?.method ?? 'message'}: ${problem}`);
  const params = message.method === 'start-stream'
    ? [message.name, message.metadataSize, message.payloadSize]
    : [message.name];
  return `> ${JSON.stringify({ jsonrpc: '2.0', method: message.method, params })}\n`;
}

export interface AnnounceOptions {
  /**
   * Where the line goes.
   * @default process.stdout
   */
  stream?: Writable;
  /** Rejects with signal.reason when aborted before the line was flushed. */
  signal?: AbortSignal;
}

const ANNOUNCE_OPTIONS = optionNames<AnnounceOptions>({ stream: true, signal: true });

/** Writes the message's line in one write and resolves once it is flushed. */
export async function announce(message: StreamMessage, options?: AnnounceOptions): Promise<void> {
  options = validateOptions(options, ANNOUNCE_OPTIONS);
  const signal = validateSignal(options.signal);
  const stream = options.stream ?? process.stdout;
  const line = formatMessage(message);
  signal?.throwIfAborted();
  await new Promise<void>((resolve, reject) => {
    const stopListening = signal === undefined ? undefined : onAbort(signal, () => reject(signal.reason));
    stream.write(line, (error) => {
      stopListening?.();
      if (error) reject(error);
      else resolve();
    });
  });
}

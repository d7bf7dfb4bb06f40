// Checks of a message's fields; the ring-name rules are the protocol core's
// (asked through the addon, never copied here).
import { native } from '../native.js';
import { describeValue } from './describe.js';
import { METHODS, type StreamMessage } from './messages.js';

function checkSize(what: string, value: unknown, min: 0 | 1, max: number): string | undefined {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min)
    return `${what} must be ${min === 0 ? 'a whole number of 0 or more' : 'a positive integer'}, received ${describeValue(value)}`;
  if (value > max) return `${what} ${value} is above the limit of ${max} bytes`;
  return undefined;
}

/** Why a ring name is invalid, or undefined when it is valid. */
export function checkName(name: unknown): string | undefined {
  if (typeof name !== 'string') return `name must be a string, received ${describeValue(name)}`;
  try {
    native.validateName(name);
    return undefined;
  } catch (e) {
    return `invalid ring name ${JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name)}: ${(e as Error).message}`;
  }
}

/** Why a message is invalid, or undefined when it is valid. */
export function checkMessage(message: StreamMessage): string | undefined {
  if (typeof message !== 'object' || message === null) return 'message must be an object';
  if (!(METHODS as readonly string[]).includes(message.method))
    return `unknown method ${describeValue(message.method)} (expected ${METHODS.join(' or ')})`;
  const bad = checkName(message.name);
  if (bad !== undefined) return bad;
  if (message.method === 'start-duplex') {
    try {
      native.duplexRingNames(message.name);
    } catch (e) {
      return (e as Error).message; // the core names the channel and why
    }
  }
  if (message.method === 'start-stream') {
    // metadata size 0: a ring without metadata (a peer's ring of raw bytes, or one made with metadataSize 0)
    return checkSize('metadataSize', message.metadataSize, 0, native.maxMetadataSize) ??
      checkSize('payloadSize', message.payloadSize, 1, native.maxPayloadSize);
  }
  return undefined;
}

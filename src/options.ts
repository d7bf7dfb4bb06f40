// Options of readers and writers, with one validator per option: a bad
// value is a TypeError naming the option, what it expects and what it got.
import { randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';
import { types } from 'node:util';
import { fromNative } from './errors.js';
import { native } from './native.js';
import { isDetached, optionNames, received } from './option-checks.js';

export { optionNames, refuseUnknownOptions, validateOptions } from './option-checks.js';

export interface ReaderOptions {
  /**
   * Ring name: /dev/shm/NAME; 1..245 bytes (UTF-8), any characters but '/'
   * and control characters, no '..', not '.', not starting with
   * 'sem.sem-w-' or 'sem.sem-r-' (the core's zb_validate_name).
   * @default `zb-${crypto.randomUUID()}`
   */
  name?: string;
  /**
   * Bytes for the metadata block (rounded up to 64): a writer whose metadata
   * does not fit leaves its note there, which the reader reports (EMSGSIZE),
   * docs/PROTOCOL.md §9.5. 0: no metadata block, a ring of raw bytes as
   * peers make them (a writer cannot set metadata in it).
   */
  metadataSize: number;
  /** Bytes for the payload ring (rounded up to 64); each frame takes 16 more than its size. */
  payloadSize: number;
  /**
   * How long one read waits for a frame before it throws TimeoutError (ms;
   * 0: only a frame already there; -1 or Infinity: no limit).
   * @default Infinity
   */
  timeoutMs?: number;
  /**
   * Permission bits of the segment, semaphores and lock file; they must include 0o600 (the core refuses
   * others, EINVAL).
   * @default 0o600
   */
  mode?: number;
}

export interface WriterOptions {
  /**
   * How long connect() waits for a reader to make the ring ready (ms): while
   * there is none (ENOENT), its reader is still creating it, or it is a
   * stale ring whose reader died or closed it (EREADERGONE), until a reader
   * creates it anew, as zerosink's connect-timeout. 0: fail at once; -1 or
   * Infinity: no limit. The error after the wait says how long it waited.
   * @default 0
   */
  connectTimeoutMs?: number;
  /** Ends connect()'s wait for the ring (connectTimeoutMs): connect() rejects with signal.reason. */
  signal?: AbortSignal;
  /**
   * How long one write waits for room before it throws TimeoutError (ms;
   * 0: only room already there; -1 or Infinity: no limit).
   * @default 5000
   */
  timeoutMs?: number;
  /**
   * Send the 48-byte frame header (timestamps, flags, commit time) with every
   * frame, declared in the metadata as "zerobuffer": {"frame_header": 1}.
   * Only with object metadata (setMetadata({ caps })), or raw metadata that
   * declares it itself: setMetadata refuses other metadata (EINVAL). Peers'
   * readers do not understand it.
   * @default false
   */
  frameHeader?: boolean;
}

/** Per-call options of reads and writes. */
export interface WaitOptions {
  /**
   * Ends the wait: next(), waitForMetadata(), write() and reserve() reject
   * with signal.reason; a frames() loop ends quietly instead (done, no
   * error, unlike Node's own iterators, which throw an AbortError): check
   * signal.aborted after the loop.
   */
  signal?: AbortSignal;
  /** Overrides the reader's or writer's timeoutMs for this call (ms; 0: no wait; -1 or Infinity: no limit). */
  timeoutMs?: number;
}

export function fail(option: string, expected: string, value: unknown): never {
  throw new TypeError(`option "${option}" must be ${expected}, received ${received(value)}`);
}

/** Something a line can be written to: an object with write() and on(), as a Writable has (duck-typed: any realm's). */
export function isWritableStream(value: unknown): value is Writable {
  return typeof value === 'object' && value !== null && typeof (value as Writable).write === 'function' && typeof (value as Writable).on === 'function';
}

/** fail() for a method's own argument (write()'s data, reserve()'s size), which is no option. */
export function failArgument(argument: string, expected: string, value: unknown): never {
  throw new TypeError(`argument "${argument}" must be ${expected}, received ${received(value)}`);
}

/**
 * Bytes to send, the `argument` of write() or request(): a Uint8Array or
 * Buffer of any realm (instanceof refuses a vm context's), whose buffer is
 * still there: a transferred one would reach the core as a frame of 0
 * bytes (EINVAL). Other views and ArrayBuffers are named, with the
 * Uint8Array over their bytes.
 */
export function checkBytes(argument: string, value: unknown): asserts value is Uint8Array {
  if (!types.isUint8Array(value)) {
    const kind = Object.prototype.toString.call(value).slice(8, -1); // DataView, Uint16Array, ArrayBuffer, ... of any realm
    const article = /^[AEIO]/.test(kind) ? 'an' : 'a'; // an Int16Array, a Uint16Array, a SharedArrayBuffer
    const got = types.isArrayBufferView(value)
      ? `${article} ${kind}: pass new Uint8Array(${argument}.buffer, ${argument}.byteOffset, ${argument}.byteLength) for its bytes`
      : types.isAnyArrayBuffer(value) ? `${article} ${kind}: pass new Uint8Array(${argument}) for its bytes` : received(value);
    throw new TypeError(`argument "${argument}" must be a Uint8Array, received ${got}`);
  }
  if (value.byteLength === 0 && isDetached(value.buffer))
    throw new TypeError(`argument "${argument}" is a Uint8Array whose buffer was detached: transferred (postMessage, ` +
      'structuredClone) or a released frame\'s view; it has no bytes left');
}

export const READER_OPTIONS = optionNames<ReaderOptions>({ name: true, metadataSize: true, payloadSize: true, timeoutMs: true, mode: true });
export const WRITER_OPTIONS = optionNames<WriterOptions>({ timeoutMs: true, frameHeader: true, connectTimeoutMs: true, signal: true });
export const WAIT_OPTIONS = optionNames<WaitOptions>({ signal: true, timeoutMs: true });

/** The name rules are the protocol core's (zb_validate_name): asked, not copied. */
export function validateName(name: unknown): string {
  if (name === undefined) return `zb-${randomUUID()}`;
  if (typeof name !== 'string') fail('name', 'a ring name (string)', name);
  try {
    native.validateName(name);
  } catch (e) {
    const reason = fromNative(e);
    throw Object.assign(new TypeError(`option "name": ${reason instanceof Error ? reason.message : String(reason)}`),
      { code: 'ENAME', cause: reason });
  }
  return name;
}

export function validateSize(option: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min)
    // (past 2^53 - 1 a number no longer counts every byte)
    fail(option, Number.isInteger(value) && (value as number) > min ? `an integer from ${min} to 2^53 - 1` : `an integer >= ${min}`, value);
  return value;
}

/** What every timeout option takes, as its TypeError says. */
const TIMEOUT_VALUES = 'a number of milliseconds >= 0, or -1 or Infinity (no limit)';

/**
 * A timeout option (ms), one meaning everywhere: 0 does not wait, -1 or
 * Infinity waits without limit (returned as Infinity), as zerosink's
 * timeout and connect-timeout take -1. Fractions are waited for as they are.
 */
export function validateTimeout(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (value === -1) return Infinity;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) fail(option, TIMEOUT_VALUES, value);
  return value;
}

/** The longest delay setTimeout takes (ms): a longer one fires after 1 ms. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/**
 * A delay option (ms), such as a restart's: a wait that must end, so no
 * "no limit", and none longer than setTimeout takes.
 */
export function validateDelay(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value >= 0 && value <= MAX_DELAY_MS))
    fail(option, `a number of milliseconds from 0 to ${MAX_DELAY_MS} (2^31 - 1)`, value);
  return value;
}

export function validateMode(value: unknown): number {
  if (value === undefined) return 0o600;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || value > 0o777)
    fail('mode', 'permission bits between 0o001 and 0o777', value);
  return value;
}

export function validateSignal(value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) fail('signal', 'an AbortSignal', value);
  return value;
}

export function validateBoolean(option: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(option, 'a boolean', value);
  return value;
}

/** ms for the addon: -1 waits forever. */
export function nativeTimeout(ms: number): number {
  return Number.isFinite(ms) ? Math.min(Math.ceil(ms), 2 ** 31 - 1) : -1;
}

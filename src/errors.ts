// Error classes: a string `code` (the core's error name where one exists),
// the original error as `cause`, and boolean reason fields so callers never
// parse messages.
import type { NativeError } from './native.js';

export interface ZeroBufferErrorOptions {
  code: string;
  errno?: number;
  cause?: unknown;
}

/** Base class of every error this package throws (TypeErrors aside). */
export class ZeroBufferError extends Error {
  /** Stable name: 'ETIMEDOUT', 'ESEQUENCE', 'ENOCAPS', ... */
  readonly code: string;
  /** The core's negative error number, when the error came from it. */
  readonly errno?: number;
  /** A wait ran out of time. */
  readonly timedOut: boolean;
  /** A wait was ended by an AbortSignal or cancel. */
  readonly isCanceled: boolean;

  constructor(message: string, options: ZeroBufferErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code;
    this.errno = options.errno;
    this.timedOut = options.code === 'ETIMEDOUT';
    this.isCanceled = options.code === 'ECANCELED';
  }
}

/** The writer died without detaching (the stream is over, not cleanly). */
export class WriterGoneError extends ZeroBufferError {
  readonly writerDied = true;
}

/** The reader closed or died: a writer cannot go on. */
export class ReaderGoneError extends ZeroBufferError {
  readonly readerGone = true;
}

/** Corrupted segment, a sequence gap or a bad frame header. */
export class ProtocolError extends ZeroBufferError {
  /** The error is a gap in sequence numbers. */
  get sequenceError(): boolean {
    return this.code === 'ESEQUENCE';
  }
}

/** No frame (or no room for one) within the timeout. */
export class TimeoutError extends ZeroBufferError {}

/** Metadata missing, not JSON, or without usable caps. */
export class MetadataError extends ZeroBufferError {}

/** A frame's size does not match what its caps describe. */
export class FrameSizeError extends ZeroBufferError {}

/** Anything else the core reports: bad names, sizes, a busy ring, ... */
export class RingError extends ZeroBufferError {}

function isNativeError(e: unknown): e is NativeError {
  return typeof e === 'object' && e !== null && typeof (e as NativeError).code === 'string' &&
    typeof (e as NativeError).errno === 'number';
}

/** Wraps an error thrown by the addon into the matching class. */
export function fromNative(e: unknown): unknown {
  if (!isNativeError(e)) return e;
  const options = { code: e.code, errno: e.errno, cause: e };
  switch (e.code) {
    case 'EWRITERDEAD':
      return new WriterGoneError(e.message, options);
    case 'EREADERGONE':
      return new ReaderGoneError(e.message, options);
    case 'EPROTO':
    case 'ESEQUENCE':
      return new ProtocolError(e.message, options);
    case 'ETIMEDOUT':
      return new TimeoutError(e.message, options);
    default:
      return new RingError(e.message, options);
  }
}

/** Runs fn, rethrowing addon errors as this package's classes. */
export function wrapNative<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw fromNative(e);
  }
}

export interface PipelineErrorOptions extends ZeroBufferErrorOptions {
  rejected?: boolean;
  exitCode?: number;
  signal?: string;
  output?: string;
}

/** gst-launch refused the pipeline or exited with an error (its own words in the message). */
export class PipelineError extends ZeroBufferError {
  /** gst-launch rejected the description itself (syntax, unknown element): restarting cannot help. */
  readonly rejected: boolean;
  /** gst-launch's exit status, when it exited. */
  readonly exitCode?: number;
  /** The signal that ended gst-launch, when one did. */
  readonly signal?: string;
  /** The last lines gst-launch printed. */
  readonly output: string;

  constructor(message: string, options: PipelineErrorOptions) {
    super(message, options);
    this.rejected = options.rejected ?? false;
    this.exitCode = options.exitCode;
    this.signal = options.signal;
    this.output = options.output ?? '';
  }
}

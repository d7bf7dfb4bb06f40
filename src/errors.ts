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
  /** Stable name: 'ETIMEDOUT', 'ESEQUENCE', 'ENOCAPS', ... (README's Error codes lists them all). */
  readonly code: string;
  /** The core's negative error number, when the error came from it. */
  readonly errno?: number;
  /** A wait ran out of time. */
  readonly timedOut: boolean;
  /**
   * The core's ECANCELED (a wait it interrupted). No wait of this package's
   * API ends with it: an AbortSignal rejects with its reason, as Node's APIs
   * do, and close() ends a read with null and a write with ESTATE.
   */
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

/**
 * Formats the stack of `error` and of its causes now, and returns it. V8
 * keeps the functions and receivers of an error's stack frames (closures,
 * and the frames or bytes they hold) until the stack is formatted: an
 * error kept for long lets them be collected so.
 */
export function formatStacks<E>(error: E): E {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) void e.stack;
  return error;
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

/**
 * An error zerosink or zerosrc posted, as gst-launch printed it: the
 * element's message, its debug text, and the kind the plugin gave it (the
 * last debug line "zerobuffer-error=NAME (permanent|transient)"; the table
 * of kinds is in the plugin's README, gst-plugin/README.md).
 */
export interface ElementError {
  /** The core's error name: 'EMSGSIZE', 'ENOENT', 'EREADERGONE', ... */
  name: string;
  /** Restarting the same pipeline against the same ring cannot help. */
  permanent: boolean;
  /** The element's message (what follows "ERROR: from element …: "). */
  message: string;
  /** The debug text: details and what to do (may be empty). */
  hint: string;
  /** The element's path, e.g. /GstPipeline:pipeline0/GstZeroSink:zerosink0. */
  element: string;
}

export interface PipelineErrorOptions extends ZeroBufferErrorOptions {
  rejected?: boolean;
  permanent?: boolean;
  element?: ElementError;
  exitCode?: number;
  signal?: string;
  output?: string;
  spawnError?: string;
  pluginLoadFailure?: string;
}

/**
 * gst-launch refused the pipeline or exited with an error. When zerosink
 * (or zerosrc) posted the error, the message is its own message and hint,
 * `code` is the core's error name ('EMSGSIZE', 'ENOENT', ...) and `element`
 * has the parts; otherwise the message is gst-launch's words and `code` is
 * 'EPIPELINE' ('EPIPELINE_REJECTED' when it refused the description; when
 * gst-launch could not be started, `spawnError` says why and it is permanent).
 */
export class PipelineError extends ZeroBufferError {
  /** gst-launch rejected the description itself (syntax, unknown element): restarting cannot help. */
  readonly rejected: boolean;
  /** Restarting cannot help: rejected, or the element said its error is permanent. */
  readonly permanent: boolean;
  /** The classified error zerosink or zerosrc posted, when it did. */
  readonly element?: ElementError;
  /** gst-launch's exit status, when it exited. */
  readonly exitCode?: number;
  /** The signal that ended gst-launch, when one did. */
  readonly signal?: string;
  /** The last lines gst-launch printed. */
  readonly output: string;
  /** Why gst-launch could not be started at all (not found, not executable); then permanent. */
  readonly spawnError?: string;
  /**
   * gst-launch had no zerobuffer element although plugin files are on its
   * plugin path (the user's, then the one it was given): why GStreamer
   * cannot load them (a missing library), and what to install. The message
   * ends with it.
   */
  readonly pluginLoadFailure?: string;

  constructor(message: string, options: PipelineErrorOptions) {
    super(message, options);
    this.rejected = options.rejected ?? false;
    this.permanent = this.rejected || (options.permanent ?? false);
    this.element = options.element;
    this.exitCode = options.exitCode;
    this.signal = options.signal;
    this.output = options.output ?? '';
    this.spawnError = options.spawnError;
    this.pluginLoadFailure = options.pluginLoadFailure;
  }
}

/** An encoded frame (JPEG, PNG) that cannot be decoded: corrupt, truncated or not what its caps say. */
export class ImageDecodeError extends ZeroBufferError {
  /** The frame's sequence number, when the bytes came from a frame. */
  readonly sequence?: number;

  constructor(message: string, options: ZeroBufferErrorOptions & { sequence?: number }) {
    super(message, options);
    this.sequence = options.sequence;
  }
}

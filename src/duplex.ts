// The duplex channel (docs/DUPLEX.md): a server that answers every request
// frame with one response frame, in order, and a client for it. A channel
// NAME is two rings: NAME_request (the server creates and reads it) and
// NAME_response (the client creates and reads it, the server writes it).
// Ring names and the retry interval come from the core.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import { types } from 'node:util';
import { WaitQueue } from './abort.js';
import { formatStacks, ProtocolError, ReaderGoneError, RingError, TimeoutError, wrapNative, ZeroBufferError } from './errors.js';
import type { Frame, PlainUint8Array } from './frame.js';
import { checkFrameCaps } from './frame-attributes.js';
import { native, type NativeHealthPids } from './native.js';
import {
  checkBytes, fail, failArgument, optionNames, refuseUnknownOptions, validateMode, validateName, validateOptions, validateSignal,
  validateSize, validateTimeout,
  WAIT_OPTIONS, type WaitOptions,
} from './options.js';
import { isDetached } from './option-checks.js';
import { ZeroBufferReader } from './reader.js';
import {
  connectWhenThere, ringNotReady, sizesLeftToReader, ZeroBufferWriter, type MetadataObject, type WriteOptions,
} from './writer.js';

/** The names of a duplex channel's rings; a name the core refuses is a TypeError naming the option, as validateName's. */
export function duplexRingNames(channel: string): { request: string; response: string } {
  validateName(channel);
  try {
    return native.duplexRingNames(channel);
  } catch (e) {
    throw Object.assign(new TypeError(`option "name": ${(e as Error).message}`), { code: 'ENAME', cause: e });
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Connects as writer to `name`; null while it is not ready (ringNotReady). */
async function connectIfThere(name: string): Promise<ZeroBufferWriter | null> {
  try {
    return await ZeroBufferWriter.connect(name);
  } catch (e) {
    if (!ringNotReady(e)) throw e;
    return null;
  }
}

/** The reader pid of the ring a writer writes (0 when it cannot be read). */
function readerPid(writer: ZeroBufferWriter): number {
  try {
    return writer.stats().readerPid;
  } catch {
    return 0;
  }
}

/** Where a handler may write its answer in place. */
export interface DuplexReply {
  /**
   * Room for a response of `size` bytes in the response ring, to fill in place; sent when the handler returns
   * (waited for if the handler did not await it; cancelled if the handler failed; its failure is the handler's
   * unless the handler answered without it). Once per request, while the handler runs: else `ESTATE`.
   */
  reserve(size: number): Promise<PlainUint8Array>;
}

/**
 * Answers a request: return the response bytes, the request frame itself
 * (answered unchanged, or as drawn on in place: frame.data is writable
 * shared memory; sent as an in-place answer when the client takes them,
 * see DuplexServerOptions.inPlace), or nothing after filling
 * reply.reserve(size). Do not release the frame: the server does, after
 * the answer went out.
 */
export type DuplexHandler = (frame: Frame, reply: DuplexReply) =>
  Uint8Array | Frame | void | Promise<Uint8Array | Frame | void>;

/** A handler threw (or returned nothing usable) for the request of this sequence number. */
export class DuplexHandlerError extends ZeroBufferError {
  readonly sequence: number;
  constructor(sequence: number, cause: unknown) {
    super(`the duplex handler failed on request ${sequence}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { code: 'EHANDLER', cause });
    this.sequence = sequence;
  }
}

export interface DuplexServerOptions {
  /** The channel: the server creates NAME_request. */
  name: string;
  /** Request ring sizes (bytes); the payload defaults to the readers' default (3 frames of 1080p RGB). */
  metadataSize?: number;
  payloadSize?: number;
  /**
   * Caps of the responses when they differ from the requests' (declared in the response ring's
   * metadata; they stay when the requests' caps change). Without, each response has its request's caps.
   * Fixed caps, and raw caps that describe a frame (video/x-raw with format, width and height; audio/x-raw
   * with a format GStreamer knows, an int rate, 1 channel or more, layout interleaved or non-interleaved, and
   * channel-mask for more than 2 channels), as zerofilter takes
   * them: else a TypeError at create().
   */
  outputCaps?: string;
  /**
   * A handler error: 'stop' (default) ends serving (serve() rejects, the
   * client sees the server leave); 'pass' answers with the request's bytes
   * as they are and goes on: unchanged, unless the handler drew on
   * frame.data (the request's own bytes) before it threw. Either way a
   * 'handlerError' event is emitted. 'pass' with outputCaps is refused
   * (TypeError): the request's bytes are not of those caps.
   */
  onError?: 'stop' | 'pass';
  /**
   * How long an answer may wait for room in the response ring (ms, default
   * 5000); a client that reads none for that long is dropped ('clientGone',
   * reason 'stalled'). -1 or Infinity: no limit, a stalled client is waited
   * for (and serving with it) until it reads or goes.
   */
  timeoutMs?: number;
  /**
   * Answer in place (docs/PROTOCOL.md §9.4, default true) when the client's
   * request metadata accepts it (zerofilter does): a handler that returns
   * the request frame (unchanged, or drawn on in place) is answered with a
   * 48-byte header and no copy; the client takes the answer from its
   * request ring. Then every response carries the per-frame header (the
   * request's timestamps and flags). false: every answer is copied into the
   * response ring, as for a client that does not accept in-place answers.
   */
  inPlace?: boolean;
  /**
   * Permission bits of the request ring (its segment, semaphores and lock
   * file), as a reader's `mode`: 0o666 (or 0o660 and a shared group) lets a
   * client of another user connect. The client's own `mode` (zerofilter's
   * mode=) opens its response ring, for this server to answer it.
   * @default 0o600
   */
  mode?: number;
}

const SERVER_OPTIONS = optionNames<DuplexServerOptions>({
  name: true, metadataSize: true, payloadSize: true, outputCaps: true, onError: true, timeoutMs: true, inPlace: true, mode: true,
});

export interface DuplexServerStats {
  requests: number;
  responses: number;
  /** Handler errors, and the requests answered unchanged because of them. */
  errors: number;
  passed: number;
  /**
   * Answers in place (a header alone, no bytes copied), and answers whose
   * bytes went into the response ring (copied there, or filled there through
   * reply.reserve()): inPlace + copied = responses.
   */
  inPlace: number;
  copied: number;
  /**
   * Requests not answered because their client left, died or stalled first
   * (before its response ring was found, or while its answers were due: see
   * 'clientGone'), or because the server closed while one was being
   * answered: requests = responses + dropped (+ 1 when an error ended
   * serving: a handler error under onError 'stop').
   */
  dropped: number;
  /** Request arrival to response commit, over the last 1024 responses (ms). */
  serviceP50Ms: number;
  serviceP99Ms: number;
  /** Request commit (the client's, with a frame header) to response commit (ms); undefined without headers. */
  requestToResponseP50Ms?: number;
  requestToResponseP99Ms?: number;
}

/** The 'clientGone' event's argument: a client left, died or stalled with answers due. */
export interface DuplexClientGone {
  /**
   * The client's process: its response ring's reader, or the request ring's
   * writer (0 when it had left already when the server took its first request).
   */
  pid: number;
  /**
   * 'readerGone': its response ring's reader closed or died while an answer
   * was due; 'writerDied': it died writing requests (every answer it had
   * asked for was written); 'leftBeforeRing': it left (or died) before its
   * response ring was found, or before its first request was read while
   * the next client's requests followed it (pid 0); 'stalled': it lives
   * but read no answer for timeoutMs while one waited for room (the server
   * let its response ring go and never writes there again: it reads the
   * answers it had, then the end of the responses).
   */
  reason: 'readerGone' | 'writerDied' | 'leftBeforeRing' | 'stalled';
  /**
   * The error that showed it (ReaderGoneError, WriterGoneError, or for
   * 'stalled' a TimeoutError naming the pid, the request and the ring);
   * none for 'leftBeforeRing'.
   */
  error?: ZeroBufferError;
  /**
   * The first request dropped (its sequence number in the client's stream):
   * it and every later request of that stream go unanswered. None for
   * 'writerDied': every request it sent was answered.
   */
  sequence?: number;
}

const SAMPLES = 1024;

function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return 0;
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) * p)]!;
}

/**
 * The response ring of the client being served, whether it takes in-place
 * answers, its reader's pid, and the error that showed it lost: its reader
 * gone, or no room for an answer within timeoutMs.
 */
interface Client {
  writer: ZeroBufferWriter;
  inPlace: boolean;
  pid: number;
  lost?: { reason: 'readerGone' | 'stalled'; error: ZeroBufferError };
}

const HEADER_ONLY = new Uint8Array(0);

/** #clientFor's answer for a request whose client left before it could be answered. */
const DEPARTED = Symbol('departed');

/**
 * The server side of a duplex channel. Events: 'handlerError'
 * (DuplexHandlerError), 'client' (a client's response ring was found:
 * its name, and { inPlace }: whether its answers may be in place),
 * 'clientGone' (DuplexClientGone: a client left, died or stalled with
 * answers due, or died writing requests; serving goes on, once per client;
 * not for a request ring's writer that died before any request of it was
 * read and before its response ring was found: it was no client).
 */
export class ZeroBufferDuplexServer extends EventEmitter implements AsyncDisposable {
  readonly name: string;
  readonly requestRing: string;
  readonly responseRing: string;
  readonly #requests: ZeroBufferReader;
  readonly #outputCaps?: string;
  readonly #onError: 'stop' | 'pass';
  readonly #timeoutMs: number;
  readonly #inPlace: boolean;
  #client?: Client;
  #connecting?: Promise<Client | null>;
  #looks = 0;
  /**
   * The pid of a client whose answers the server gave up on (it stalled, or
   * an error ended serve() mid-stream) while its stream may go on: its
   * response ring is not taken again and the rest of that stream is dropped.
   */
  #abandonedPid = 0;
  #closed = false;
  /** A serve() call is running: answers pair with requests by order alone, so one loop may read them. */
  #serving = false;
  #stats = { requests: 0, responses: 0, errors: 0, passed: 0, inPlace: 0, copied: 0, dropped: 0 };
  #service: number[] = [];
  #endToEnd: number[] = [];
  #sample = 0;

  private constructor(channel: string, rings: { request: string; response: string }, requests: ZeroBufferReader,
    options: DuplexServerOptions, timeoutMs: number) {
    super();
    this.name = channel;
    this.requestRing = rings.request;
    this.responseRing = rings.response;
    this.#requests = requests;
    this.#outputCaps = options.outputCaps;
    this.#onError = options.onError ?? 'stop';
    this.#timeoutMs = timeoutMs;
    this.#inPlace = options.inPlace ?? true;
  }

  /** Creates NAME_request and starts looking for NAME_response (every 100 ms, like the peers). */
  static async create(options: DuplexServerOptions): Promise<ZeroBufferDuplexServer> {
    if (typeof options !== 'object' || options === null) failArgument('options', 'an object', options);
    refuseUnknownOptions(options, SERVER_OPTIONS);
    const rings = duplexRingNames(options.name);
    if (options.onError !== undefined && options.onError !== 'stop' && options.onError !== 'pass')
      fail('onError', "'stop' or 'pass'", options.onError);
    if (options.outputCaps !== undefined && typeof options.outputCaps !== 'string') fail('outputCaps', 'a caps string', options.outputCaps);
    if (options.outputCaps !== undefined) checkFrameCaps(options.outputCaps, 'outputCaps (the caps of the responses, which zerofilter pushes)');
    if (options.outputCaps !== undefined && options.onError === 'pass') {
      throw new TypeError("onError 'pass' answers a request the handler failed on with the request's own bytes, which are not " +
        `of outputCaps (${options.outputCaps}): zerofilter would fail on them, or push them under caps they do not have. ` +
        "With outputCaps, use onError 'stop' (the default), or catch in the handler and return an answer of those caps");
    }
    if (options.inPlace !== undefined && typeof options.inPlace !== 'boolean') fail('inPlace', 'a boolean', options.inPlace);
    // checked before the request ring exists: refused after, it was left behind, its reader open
    const timeoutMs = validateTimeout('timeoutMs', options.timeoutMs, 5000);
    const requests = await ZeroBufferReader.create({
      name: rings.request,
      metadataSize: validateSize('metadataSize', options.metadataSize ?? native.defaultMetadataSize, 1),
      payloadSize: options.payloadSize ?? native.defaultPayloadSize(0),
      mode: validateMode(options.mode),
    });
    const server = new ZeroBufferDuplexServer(options.name, rings, requests, options, timeoutMs);
    server.#lookForClient();
    return server;
  }

  /** Looks for the client's response ring until it is there or the server closes. */
  #lookForClient(): void {
    const look = ++this.#looks;
    const stopped = (): boolean => this.#closed || look !== this.#looks;
    this.#connecting = this.#findClientRing(stopped).then((w) => {
      if (w === null) return null;
      if (stopped()) { // closed, or a later look replaced this one
        w.closeSync();
        return null;
      }
      const inPlace = this.#inPlace && this.#clientTakesInPlace();
      sizesLeftToReader.add(w);
      try {
        const metadata = this.#responseMetadata(w.stats().metadataSize, inPlace);
        if (metadata !== undefined) w.setMetadata(metadata);
      } catch (e) {
        w.closeSync();
        if ((e as { code?: string }).code === 'EMSGSIZE') {
          throw new ZeroBufferError(`${(e as Error).message}; the server needs it for ` +
            `${[this.#outputCaps !== undefined ? 'outputCaps' : '', inPlace ? "in-place answers' frame header" : ''].filter(Boolean).join(' and ')}: ` +
            'the client created this response ring, with too small a metadata block (or give no outputCaps / inPlace: false)',
          { code: 'EMSGSIZE', cause: e });
        }
        if ((e as { code?: string }).code !== 'EREADERGONE') throw e;
        // the client went as it was found: its requests are dropped (serve()), the next one's ring looked for
        this.#lookForClient();
        return this.#connecting!;
      }
      this.#client = { writer: w, inPlace, pid: readerPid(w) };
      this.emit('client', this.responseRing, { inPlace });
      return this.#client;
    });
    this.#connecting.catch(() => undefined); // reported by serve()
  }

  /**
   * Connects to the response ring of the client that writes the request
   * ring, looking every ZB_DUPLEX_CONNECT_RETRY_MS until it is there (null
   * once stopped). A ring under that name that does not pair with the
   * request ring's writer (#sameClient) is left alone: a predecessor's whose
   * reader has not gone yet, or any while no client writes requests. It is
   * checked by name first, so such a ring never sees us connect, and again
   * once connected (the name may have changed hands in between).
   */
  async #findClientRing(stopped: () => boolean): Promise<ZeroBufferWriter | null> {
    for (;;) {
      if (stopped()) return null;
      let byName: NativeHealthPids | undefined;
      try {
        byName = native.healthByName(this.responseRing);
      } catch { /* not there, or not readable: connecting says which */ }
      const found = byName;
      if (found === undefined || this.#sameClient(() => found)) {
        const w = await connectIfThere(this.responseRing);
        if (w !== null) {
          if (!stopped() && this.#sameClient(() => w.stats())) return w;
          w.closeSync();
        }
      }
      await sleep(native.duplexConnectRetryMs);
    }
  }

  /**
   * Whether the response ring of this snapshot (by name, or the one we
   * write) belongs to the client now writing the request ring: its reader
   * is that writer's process (zb_duplex_same_client). Not while no client
   * writes requests, nor once the server closed, nor the ring of a client
   * given up on while its stream goes on (#abandonedPid): an answer
   * there would pair with a request it was never meant for.
   */
  #sameClient(response: () => NativeHealthPids): boolean {
    if (this.#closed) return false;
    try {
      const pids = response();
      return pids.readerPid !== this.#abandonedPid && native.duplexSameClient(this.#requests.stats(), pids);
    } catch {
      return false;
    }
  }

  /**
   * The response ring's metadata, for a metadata block of `room` bytes (8 of them the length). The
   * client reads the caps of the responses from here (a peer client ignores it). Without outputCaps
   * none is needed: each response has its request's caps, which may change mid-stream (the request
   * ring's metadata keeps the first ones). With in-place answers, the frame header is declared: it
   * carries their flag. The type tag {"type":"zerobuffer-duplex-server"} is optional, written only
   * where it fits, as the peers' servers write no metadata and a peer client (C++) may make the
   * response ring with no metadata block at all. undefined: none; what is needed and does not fit is
   * returned anyway, for setMetadata to refuse (EMSGSIZE).
   */
  #responseMetadata(room: number, inPlace: boolean): Uint8Array | undefined {
    const type = 'zerobuffer-duplex-server';
    const caps = this.#outputCaps !== undefined ? { caps: this.#outputCaps } : {};
    const encode = (value: object): Uint8Array => {
      const bytes = new TextEncoder().encode(JSON.stringify(value));
      return inPlace ? native.declareFrameHeader(bytes) : bytes;
    };
    const fits = (bytes: Uint8Array): boolean => bytes.length + 8 <= room;
    const tagged = encode({ type, ...caps });
    if (fits(tagged)) return tagged;
    if (this.#outputCaps === undefined && !inPlace) return undefined;
    return encode(caps);
  }

  /**
   * Whether the client being served declares in-place answers in its request
   * ring's metadata (written before it creates the response ring: zerofilter
   * and our client do). Read for each client, through the core; a
   * declaration it cannot read, or of a version it does not know, is none.
   */
  #clientTakesInPlace(): boolean {
    const bytes = this.#requests.metadata?.bytes;
    if (bytes === undefined) return false;
    try {
      return native.metadataInPlace(bytes) === 1;
    } catch {
      return false;
    }
  }

  /**
   * Answers every request of the client's stream with the handler's
   * response, in request order, until the client ends its stream (resolves)
   * or the server closes. Call it again for the next client. A client that
   * comes back before the end of its stream was seen (its requests start
   * again at sequence 1) is served on without returning. It returns at each
   * end of stream the request ring's reader sees, so not once per client: a
   * client that connects and leaves without a request between two of that
   * reader's looks (50 ms apart) leaves no trace (serving goes on to the next
   * client), and a next client that connects within a look of its
   * predecessor's going is served on; count clients by a request's sequence
   * 1 or the 'client' event (docs/DUPLEX.md). A client that leaves or dies
   * with answers due does not make it reject: the requests
   * that can no longer be answered are dropped (stats().dropped), never answered
   * into the next client's ring, 'clientGone' is emitted, and serving goes
   * on: it resolves as at an end of stream when the client died writing
   * requests (or left so), else with the next client's requests. So does
   * a client that lives but leaves an answer without room for timeoutMs
   * (stalled): its response ring is let go for good, so when it reads
   * again it finds the answers it had and then the end of the responses,
   * never an answer to another request. It rejects on a handler error
   * under onError 'stop', a protocol error, or a RingError EMSGSIZE from
   * the request ring: a client whose metadata, or whose raw video requests
   * (by its metadata's caps, and the frame header when declared), can never
   * fit it left without a request (create the server with the size the
   * error names; an answer too large for the client's response ring is an
   * EMSGSIZE naming that ring, not a RingError). That client is given up on
   * as a stalled one is (a serve() called again drops the rest of its
   * stream). close() ends it as at an end of stream (it resolves), also
   * while the handler is making an answer: that request is dropped.
   * One serve() at a time: a call while another runs rejects with ESTATE
   * (two loops would take requests in turns, and each answer pairs with a
   * request only by its order). A call on a closed server rejects with
   * ESTATE: a loop that calls it again ends, `while (!server.closed)`
   * ends cleanly.
   */
  async serve(handler: DuplexHandler): Promise<void> {
    if (typeof handler !== 'function') failArgument('handler', 'a function', handler);
    if (this.#closed) {
      throw new ZeroBufferError(`duplex channel "${this.name}": serve() on a closed server (its request ring is gone); ` +
        'a loop that serves client after client tests server.closed: while (!server.closed) await server.serve(handler)',
      { code: 'ESTATE' });
    }
    if (this.#serving) {
      throw new ZeroBufferError(`duplex channel "${this.name}": serve() is already running; one serve() at a time ` +
        '(answers pair with requests by their order alone: a second loop would answer requests in turns with the first, ' +
        'each answer going out in the other\'s place): await the first, or close() the server', { code: 'ESTATE' });
    }
    this.#serving = true;
    const frames = this.#requests.frames();
    try {
      let previous = 0;
      // The client of the requests being read left before it could be answered: its further
      // requests are dropped too, up to the next client's first (sequence 1 again).
      let departed = false;
      // The pid writing the requests at the client's first, and whether its going was reported.
      let streamPid = 0;
      let reported = false;
      const gone = (pid: number, reason: DuplexClientGone['reason'], error?: ZeroBufferError, sequence?: number): void => {
        if (reported) return;
        reported = true;
        const event: DuplexClientGone = { pid, reason };
        // listeners keep events (a log): the stack of an error made by an answer's write kept its request and bytes
        if (error !== undefined) event.error = formatStacks(error);
        if (sequence !== undefined) event.sequence = sequence;
        this.emit('clientGone', event);
      };
      for (;;) {
        let next: IteratorResult<Frame>;
        try {
          next = await frames.next();
        } catch (e) {
          // Reported once, after every request it committed was read: the end of its stream.
          if ((e as { code?: string }).code !== 'EWRITERDEAD') {
            this.#abandonedPid = streamPid;
            throw e;
          }
          // A writer that died before any request of it was read and before its response ring was
          // found (a pipeline killed as it started) asked nothing and was no client: none to report
          if (streamPid !== 0 || this.#client !== undefined) gone(streamPid || this.#client!.pid, 'writerDied', e as ZeroBufferError);
          return;
        }
        if (next.done === true) return;
        const frame = next.value;
        this.#stats.requests++;
        // A client that came back before our reader saw it leave (a pipeline set to NULL and
        // back in one process) starts again at sequence 1, into a new response ring.
        const restarted = frame.sequence <= previous;
        const first = restarted || previous === 0;
        previous = frame.sequence;
        if (departed && !first) {
          this.#stats.dropped++;
          continue;
        }
        // After a departed client the ring held, if any, was found for the next one: #clientFor checks it.
        if (restarted && !departed) this.#dropClient();
        departed = false;
        const writer = first ? this.#requestWriter()?.writerPid ?? 0 : undefined;
        if (writer !== undefined) {
          // The stream of a client given up on, going on into a later serve() call (after one
          // that rejected), is still dropped: sequence 1 or another pid starts a new one.
          if (writer === this.#abandonedPid && writer !== 0 && frame.sequence !== 1) {
            departed = true;
            this.#stats.dropped++;
            continue;
          }
          this.#abandonedPid = 0;
          streamPid = writer;
          reported = false;
          // A stream that another one follows in the ring: its client left, and the next took the
          // request ring before this was read (the writer pid names the next one by now). Its
          // answers have no ring to go to; the next client's must not get them.
          if (this.#requests.streamStartsAhead() > 0) {
            departed = true;
            this.#stats.dropped++;
            streamPid = 0;
            gone(0, 'leftBeforeRing', undefined, frame.sequence);
            continue;
          }
        }
        const client = await this.#clientFor(writer);
        if (client === null) { // closed
          this.#stats.dropped++;
          return;
        }
        if (client === DEPARTED) {
          departed = true;
          this.#stats.dropped++;
          gone(streamPid, 'leftBeforeRing', undefined, frame.sequence);
          continue;
        }
        try {
          await this.#answer(client, frame, handler);
        } catch (e) {
          if (this.#closed) {
            // close() while the answer was being made (the response ring is detached): serving ends as close() ends it
            this.#stats.dropped++;
            return;
          }
          if (client.lost === undefined || e !== client.lost.error) {
            this.#abandonedPid = client.pid; // serving ends here: no later answer may pair with its requests
            throw e;
          }
          departed = true;
          this.#stats.dropped++;
          if (client.lost.reason === 'stalled') {
            this.#abandonedPid = client.pid;
            gone(client.pid, 'stalled', new TimeoutError(`duplex channel "${this.name}": client ${client.pid} stalled: ` +
              `the answer to its request ${frame.sequence} found no room in ${this.responseRing} for ${this.#timeoutMs} ms ` +
              `(${client.lost.error.message})`, { code: 'ETIMEDOUT', cause: client.lost.error }), frame.sequence);
          } else {
            gone(client.pid, 'readerGone', client.lost.error, frame.sequence);
          }
          this.#dropClient();
        }
      }
    } finally {
      try {
        await frames.return();
        // the client ended its requests: the responses end too
        this.#dropClient();
      } finally {
        this.#serving = false;
      }
    }
  }

  /**
   * The response ring to answer into (null once closed). At a client's
   * first request, `writer` is the pid writing the request ring when the
   * server took it (0: none), and the ring must be that client's
   * (#sameClient): one found earlier may be its predecessor's, found again
   * after that one's end of stream while its reader was still there; then
   * it is dropped and the client's looked for. While it is looked for, the
   * client may leave (the request ring's writer is no longer that live
   * process): then DEPARTED, and any ring held whose reader is that pid is
   * dropped; another client's ring found meanwhile stays, for its own first
   * request. Otherwise the next client's ring, whose reader writes the
   * request ring by then, would get the departed client's answer.
   */
  async #clientFor(writer: number | undefined): Promise<Client | null | typeof DEPARTED> {
    for (;;) {
      if (this.#closed) return null;
      if (writer !== undefined && !this.#stillWriting(writer)) {
        if (this.#client !== undefined && readerPid(this.#client.writer) === writer) this.#dropClient();
        return DEPARTED;
      }
      const client = this.#client ?? await this.#clientOrRetry();
      if (client === null) return null;
      if (client === undefined) continue;
      if (writer === undefined) return client;
      if (!this.#stillWriting(writer)) continue; // DEPARTED, above; a ring found for the next client stays
      if (this.#sameClient(() => client.writer.stats())) return client;
      this.#dropClient();
    }
  }

  /** The client found by the look in progress, null once closed, or undefined after a retry interval without one. */
  async #clientOrRetry(): Promise<Client | null | undefined> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const retry = new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), native.duplexConnectRetryMs); });
    try {
      return await Promise.race([this.#connecting!, retry]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The request ring's writer pid and whether it lives; undefined once closed. */
  #requestWriter(): { writerPid: number; writerAlive: boolean } | undefined {
    try {
      return this.#requests.stats();
    } catch {
      return undefined;
    }
  }

  /** Whether `writer` (a pid, 0: none) still writes the request ring and lives. */
  #stillWriting(writer: number): boolean {
    if (writer === 0 || this.#closed) return false;
    const s = this.#requestWriter();
    return s !== undefined && s.writerPid === writer && s.writerAlive;
  }

  /** Detaches from the client's response ring and looks for the next client's. */
  #dropClient(): void {
    this.#client?.writer.closeSync();
    this.#client = undefined;
    if (!this.#closed) this.#lookForClient();
  }

  /**
   * Sends the handler's answer to `frame`. The caller (serve()'s loop)
   * releases the request only after this returned: an in-place answer is
   * committed while the server still holds its request (§9.4).
   */
  async #answer(client: Client, frame: Frame, handler: DuplexHandler): Promise<void> {
    const { writer } = client;
    // With in-place answers every response carries the frame header, with the request's fields
    // (none / 0 when the request has no header of its own).
    const header: WriteOptions = client.inPlace
      ? { pts: frame.pts, dts: frame.dts, duration: frame.duration, flags: frame.flags, timeoutMs: this.#timeoutMs }
      : { timeoutMs: this.#timeoutMs };
    let reserved: PlainUint8Array | undefined;
    // a reserve the handler did not await may open its reservation after the handler ended: waited for before
    // the answer is sent, and cancelled when the request is passed (write() refuses while one is open)
    let reserving: Promise<PlainUint8Array> | undefined;
    let handlerDone = false;
    // a refusal or failure the handler did not await is not an unhandled rejection that ends the process:
    // a failed reserve is the handler's failure, awaited below, unless the handler answered without it
    const handled = <T>(promise: Promise<T>): Promise<T> => {
      promise.catch(() => undefined);
      return promise;
    };
    const reply: DuplexReply = {
      reserve: (size: number) => {
        if (reserving !== undefined || handlerDone) {
          return handled(Promise.reject(new ZeroBufferError(handlerDone ? 'reply.reserve() was called after the handler returned'
            : 'reply.reserve() was called already for this request', { code: 'ESTATE' })));
        }
        reserving = handled((async () => {
          reserved = await this.#toClient(client, () => writer.reserve(size, header));
          return reserved;
        })());
        return reserving;
      },
    };
    let result: Uint8Array | Frame | void;
    try {
      try {
        result = await handler(frame, reply);
      } finally {
        handlerDone = true;
      }
      await reserving?.catch((e: unknown) => {
        if (result === undefined) throw e;
      });
      if (reserved === undefined && !types.isUint8Array(result) && result !== frame)
        throw new TypeError('the handler returned neither bytes nor the frame, and did not fill reply.reserve()');
      if (result === frame && frame.released)
        throw new TypeError('the handler returned the frame after releasing it (the server releases it once answered)');
      // found here, it is the handler's error (onError applies), not a write's that ends serve()
      if (reserved === undefined && types.isUint8Array(result) && result.byteLength === 0 && isDetached(result.buffer))
        throw new TypeError('the handler answered with bytes it had transferred away (postMessage, structuredClone): none are left');
      // the copying fallback's scratch buffer moves (a view over the ring is cloned): its commit would throw EDETACHED
      if (reserved !== undefined && isDetached(reserved.buffer))
        throw new TypeError('the handler transferred the buffer of reply.reserve() away (postMessage, structuredClone): its bytes are gone');
    } catch (e) {
      await reserving?.catch(() => undefined);
      if (client.lost !== undefined) throw client.lost.error; // reply.reserve() found the client gone or stalled
      if (reserved !== undefined) writer.cancelReservation();
      const err = new DuplexHandlerError(frame.sequence, e);
      this.#stats.errors++;
      this.emit('handlerError', err);
      if (this.#onError === 'stop' || frame.released) throw err;
      this.#stats.passed++;
      await this.#send(client, frame, frame, header);
      return;
    }
    if (reserved !== undefined) {
      await this.#toClient(client, () => writer.commit());
      this.#stats.copied++;
      this.#count(frame);
    } else {
      await this.#send(client, frame, result as Uint8Array | Frame, header);
    }
  }

  /**
   * Writes an answer: the request frame itself goes in place when the client
   * takes it and the frame's bytes are the ring's (a copied frame, the
   * copying fallback, was given back to the client already, and a drawing
   * on it is only in the copy: it is answered by copy).
   */
  async #send(client: Client, frame: Frame, answer: Uint8Array | Frame, header: WriteOptions): Promise<void> {
    if (answer === frame && client.inPlace && !frame.copied) {
      await this.#toClient(client, () => client.writer.write(HEADER_ONLY, { ...header, zbFlags: native.extInPlace }));
      this.#stats.inPlace++;
    } else {
      await this.#toClient(client, () => client.writer.write(answer === frame ? frame.data : (answer as Uint8Array), header));
      this.#stats.copied++;
    }
    this.#count(frame);
  }

  /**
   * Runs a call on the client's response ring. Its reader gone (closed or
   * died: EREADERGONE) is the client gone, no room within timeoutMs
   * (ETIMEDOUT) the client stalled: recorded on the client, by which serve()
   * tells them from a handler's or another ring's error.
   */
  async #toClient<T>(client: Client, call: () => T | Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      if (e instanceof ZeroBufferError && e.code === 'EREADERGONE') client.lost = { reason: 'readerGone', error: e };
      if (e instanceof ZeroBufferError && e.code === 'ETIMEDOUT') client.lost = { reason: 'stalled', error: e };
      // the response ring is the client's: the core's "create the ring with ..." is for zerofilter
      if (e instanceof ZeroBufferError && e.code === 'EMSGSIZE') {
        throw new ZeroBufferError(`${e.message}; the client created this response ring: zerofilter's payload-size sets its size ` +
          '(zerobuffer filter: --sink-property payload-size=N)', { code: e.code, errno: e.errno, cause: e });
      }
      throw e;
    }
  }

  #count(frame: Frame): void {
    const now = native.nowNs();
    const i = this.#sample++ % SAMPLES;
    this.#stats.responses++;
    this.#service[i] = (now - frame.arrivalNs) / 1e6;
    if (frame.commitNs !== undefined) this.#endToEnd[i] = (now - frame.commitNs) / 1e6;
  }

  stats(): DuplexServerStats {
    const s: DuplexServerStats = {
      ...this.#stats,
      serviceP50Ms: percentile(this.#service, 0.5),
      serviceP99Ms: percentile(this.#service, 0.99),
    };
    if (this.#endToEnd.length > 0) {
      s.requestToResponseP50Ms = percentile(this.#endToEnd, 0.5);
      s.requestToResponseP99Ms = percentile(this.#endToEnd, 0.99);
    }
    return s;
  }

  /** Whether close() (or closeSync()) was called: serve() then ends, and a call to it rejects with ESTATE. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Stops: the request ring goes (the client sees the server gone), the response writer detaches. */
  closeSync(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#client?.writer.closeSync();
    this.#client = undefined;
    this.#requests.closeSync();
  }

  async close(): Promise<void> {
    this.closeSync();
    await this.#connecting?.catch(() => undefined);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

export interface DuplexClientOptions {
  /** The channel: the server's NAME_request must exist (or appear within connectTimeoutMs). */
  name: string;
  /**
   * Metadata of the request ring (the caps of the requests), as
   * writer.setMetadata() takes it: object caps it refuses (a TypeError)
   * name the duplex server, which could not describe such requests.
   */
  metadata?: string | Uint8Array | MetadataObject;
  /** Response ring sizes (bytes); the payload defaults to the readers' default. */
  metadataSize?: number;
  payloadSize?: number;
  /**
   * Permission bits of the response ring (its segment, semaphores and lock
   * file), as a reader's `mode`: 0o666 (or 0o660 and a shared group) lets a
   * server of another user answer. It does not open the server's request
   * ring: that is the server's own `mode`.
   * @default 0o600
   */
  mode?: number;
  /** How long to wait for the server's request ring (ms, default 5000; 0: fail at once; -1 or Infinity: no limit). */
  connectTimeoutMs?: number;
  /**
   * How long a request may wait for room and for its response (ms, default
   * 5000; -1 or Infinity: no limit; request()'s own overrides it).
   */
  timeoutMs?: number;
  /** Ends the wait for the server's request ring: connect() rejects with signal.reason. */
  signal?: AbortSignal;
}

/**
 * writer.setMetadata for a client's request ring, whose reader is a duplex
 * server, not zerosrc: caps it could not describe are refused naming it.
 */
function setRequestMetadata(requests: ZeroBufferWriter, metadata: string | Uint8Array | MetadataObject): void {
  if (typeof metadata === 'object' && metadata !== null && !types.isUint8Array(metadata) && typeof metadata.caps === 'string')
    checkFrameCaps(metadata.caps, 'metadata "caps" is the requests\' caps (the duplex server takes it as their format)',
      'the duplex server could not describe the requests (frame.videoInfo, frame.image(): ENOCAPS)');
  requests.setMetadata(metadata);
}

/**
 * The server's request ring is there but this user may not write it: the
 * core's advice names "the reader", which here is the server, created by
 * another user without a mode that lets this one in.
 */
function requestRingDenied(ring: string, e: RingError): RingError {
  return new RingError(`Permission denied on the duplex server's request ring ${ring}: the server must be created ` +
    'with a mode that gives this user access (ZeroBufferDuplexServer.create({ mode: 0o666 }), or 0o660 and a group ' +
    `this user is in; docs/DUPLEX.md). ${e.message}`, { code: e.code, errno: e.errno, cause: e });
}

/** The core's EBUSY on NAME_request (its writer lives): the client's words, as zerofilter's, for a channel already in use. */
function requestRingBusy(ring: string, e: RingError): RingError {
  return new RingError(`The duplex server serves another client: a channel has one client at a time (its request ring ${ring} ` +
    `has one writer), so connect once that client has closed, or give this one a channel of its own. ${e.message}`,
  { code: e.code, errno: e.errno, cause: e });
}

const CLIENT_OPTIONS = optionNames<DuplexClientOptions>({
  name: true, metadata: true, metadataSize: true, payloadSize: true, mode: true, connectTimeoutMs: true, timeoutMs: true, signal: true,
});

/**
 * The client side: requests one at a time, each answered by the next
 * response. Calls to request() may overlap: a call made while another is
 * under way (or queued) waits for it, in call order, within its own timeout
 * and signal, and its request is sent only then. It does not declare
 * in-place answers (a Node writer cannot keep its requests' bytes from
 * being written over once the server released them), so servers always
 * copy its answers.
 */
export class ZeroBufferDuplexClient implements AsyncDisposable {
  readonly name: string;
  readonly #requests: ZeroBufferWriter;
  readonly #responses: ZeroBufferReader;
  readonly #timeoutMs: number;
  /** The request ring this client writes (its file's inode) and its reader, the server, at connect. */
  readonly #server: { ring: string; ino: number; pid: number };
  /** Requests sent (the last one's sequence number in this client's stream) and responses taken. */
  #sent = 0;
  #answered = 0;
  /** Answers still due to requests given up on (timed out or aborted after they were sent), to throw away. */
  #owed = 0;
  /**
   * request() calls, one at a time in call order: #owed counts the answers
   * of requests given up on before the next one is sent, so a request and
   * its wait for its answer are over before the next request goes.
   */
  readonly #calls = new WaitQueue();
  /** At close(): the server had ended its responses already (#responsesEnded), so a request still waiting gets its EOF. */
  #endedBeforeClose = false;

  private constructor(name: string, requests: ZeroBufferWriter, responses: ZeroBufferReader, timeoutMs: number,
    server: { ring: string; ino: number; pid: number }) {
    this.name = name;
    this.#requests = requests;
    this.#responses = responses;
    this.#timeoutMs = timeoutMs;
    this.#server = server;
  }

  /** Finds NAME_request, then creates NAME_response at once (the peers' servers look for it for 5 s only). */
  static async connect(options: DuplexClientOptions): Promise<ZeroBufferDuplexClient> {
    if (typeof options !== 'object' || options === null) failArgument('options', 'an object', options);
    refuseUnknownOptions(options, CLIENT_OPTIONS);
    const rings = duplexRingNames(options.name);
    const connectTimeoutMs = validateTimeout('connectTimeoutMs', options.connectTimeoutMs, 5000);
    const timeoutMs = validateTimeout('timeoutMs', options.timeoutMs, 5000);
    // the server writes its metadata (caps) into the response ring
    const metadataSize = validateSize('metadataSize', options.metadataSize ?? native.defaultMetadataSize, 1);
    const mode = validateMode(options.mode);
    const signal = validateSignal(options.signal);
    const requests = await connectWhenThere(rings.request, {
      connectTimeoutMs, intervalMs: native.duplexConnectRetryMs, signal,
    }).catch((e: unknown) => {
      const code = (e as { code?: string }).code;
      throw code === 'EACCES' ? requestRingDenied(rings.request, e as RingError)
        : code === 'EBUSY' ? requestRingBusy(rings.request, e as RingError) : e;
    });
    try {
      const server = { ring: rings.request, ino: ringInode(rings.request) ?? 0, pid: requests.stats().readerPid };
      if (options.metadata !== undefined) setRequestMetadata(requests, options.metadata);
      const responses = await ZeroBufferReader.create({
        name: rings.response,
        metadataSize,
        payloadSize: options.payloadSize ?? native.defaultPayloadSize(0),
        mode,
      });
      return new ZeroBufferDuplexClient(options.name, requests, responses, timeoutMs, server);
    } catch (e) {
      requests.closeSync();
      throw e;
    }
  }

  /** The server's response ring metadata (its output caps), once it wrote some. */
  get responseMetadata(): ZeroBufferReader['metadata'] {
    return this.#responses.metadata;
  }

  /**
   * Sends one request and resolves with its response (release it when done,
   * or use `using`). Throws ProtocolError (ESEQUENCE) when the response does
   * not pair with the request, WriterGoneError when the server died,
   * ReaderGoneError when it closed (or died before it took the response
   * ring: seen within ZB_DUPLEX_CONNECT_RETRY_MS; after a restart of the
   * server, each such error says so: this client cannot reach the new one,
   * connect a new client), ZeroBufferError (EOF) when the server ended its
   * responses with this request unanswered (also when it did so before
   * this client's close(), that end not read yet), ZeroBufferError (ESTATE)
   * when this client is closed before or during the call, TimeoutError (naming
   * the request by its sequence number in this client's stream, or saying
   * it was not sent); rejects with signal.reason on abort. `timeoutMs`
   * (default: the client's) bounds the wait for the calls before it and for
   * room, then the wait for the response (less the time spent queued).
   * Calls may overlap: one made while another is under way is queued, and
   * its request sent once the calls before it are over (answered or given
   * up on), so each gets its own answer; one that times out or is aborted
   * while queued was never sent. The response of a request that timed out
   * or was aborted after it was sent is thrown away when it comes: the
   * next request gets its own.
   */
  async request(data: Uint8Array, options?: WaitOptions): Promise<Frame> {
    checkBytes('data', data);
    options = validateOptions(options, WAIT_OPTIONS);
    const signal = validateSignal(options.signal);
    const timeoutMs = validateTimeout('timeoutMs', options.timeoutMs, this.#timeoutMs);
    signal?.throwIfAborted();
    // a call queued behind another sends its bytes later: copied now, as a queued write does
    const bytes = this.#calls.busy ? data.slice() : data;
    return this.#calls.run((waitMs) => this.#request(bytes, timeoutMs, waitMs, signal), timeoutMs, signal,
      () => new TimeoutError(`duplex channel "${this.name}": request not sent within ${timeoutMs} ms ` +
        '(the requests before it were still waiting for their answers)', { code: 'ETIMEDOUT' }));
  }

  /** One request() call once the calls before it are over: waitMs is what is left of its timeoutMs. */
  async #request(data: Uint8Array, timeoutMs: number, waitMs: number, signal: AbortSignal | undefined): Promise<Frame> {
    try {
      return await this.#exchange(data, timeoutMs, waitMs, signal);
    } catch (e) {
      throw this.#restartTold(e);
    }
  }

  /**
   * A server gone (its request ring's reader, or its responses' writer, or
   * its end of the responses) that another server replaced: a new ring
   * under NAME_request, which this client's writer, still on the old one,
   * can never reach. The error then says so, as the same class and code.
   */
  #restartTold(e: unknown): unknown {
    if (!(e instanceof ZeroBufferError) || !['EREADERGONE', 'EWRITERDEAD', 'EOF'].includes(e.code)) return e;
    const ino = ringInode(this.#server.ring);
    if (ino === undefined || ino === this.#server.ino) return e;
    let now = '';
    try {
      const health = native.healthByName(this.#server.ring);
      if (health.readerAlive) now = `its reader pid ${health.readerPid}; `;
    } catch {
      // being created or gone again: no pid to name
    }
    const told = `${e.message}: the server restarted: ${this.#server.ring} is a new ring (${now}this client connected to pid ` +
      `${this.#server.pid}'s), which its requests cannot reach; close this client and connect a new one`;
    return new (e.constructor as typeof ZeroBufferError)(told, { code: e.code, errno: e.errno, cause: e });
  }

  async #exchange(data: Uint8Array, timeoutMs: number, waitMs: number, signal: AbortSignal | undefined): Promise<Frame> {
    this.#checkAnswers();
    await this.#requests.write(data, { timeoutMs: waitMs, signal });
    const sequence = ++this.#sent;
    const deadline = Date.now() + waitMs;
    for (;;) {
      let response: Frame | null;
      try {
        response = await this.#response(sequence, deadline, timeoutMs, signal);
      } catch (e) {
        this.#owed++; // its answer may still come: the next request throws it away
        throw e;
      }
      // null is also what the response ring's reader gives once this client closed it: not the server's
      // doing, unless the server had ended its responses before (its end not read yet)
      if (response === null && this.#responses.closed && !this.#endedBeforeClose)
        throw new ZeroBufferError(`duplex client of channel "${this.name}" was closed during the wait for the response to request ${sequence}`,
          { code: 'ESTATE' });
      if (response === null)
        throw new ZeroBufferError(`duplex channel "${this.name}": the server ended its responses with request ${sequence} unanswered`,
          { code: 'EOF' });
      this.#answered++;
      if (response.sequence !== this.#answered) {
        response.release();
        // Sequence 1 again is a new response stream: which request its answers pair with cannot be known.
        const again = response.sequence === 1
          ? ': the server started its responses again (it restarted them, or another server took the response ring), ' +
            'so which request an answer pairs with is lost; close this client and connect a new one'
          : '';
        throw new ProtocolError(`duplex channel "${this.name}": response sequence ${response.sequence} where ${this.#answered} was due${again}`,
          { code: 'ESEQUENCE' });
      }
      if (this.#owed === 0) return response;
      this.#owed--; // the answer to a request given up on
      response.release();
    }
  }

  /**
   * Before a request is sent, no more answers may wait than the requests
   * given up on (#owed): a server that answers a request twice numbers its
   * answers on, so its second answer would pair with this request, each
   * one after it with the request before. ProtocolError (ESEQUENCE) naming
   * the ring and the answers (zb_duplex_check_answers). A ring that cannot
   * be looked at (closed) is left to the write to report.
   */
  #checkAnswers(): void {
    let waiting: number;
    try {
      const s = this.#responses.stats();
      waiting = s.framesUnread + s.batched;
    } catch {
      return;
    }
    wrapNative(() => native.duplexCheckAnswers(this.#sent, this.#answered, 0, waiting, this.#responses.name));
  }

  /**
   * The next response, waited for in slices of ZB_DUPLEX_CONNECT_RETRY_MS up
   * to timeoutMs. A server that went before it took the response ring never
   * ends that ring (it had no writer): after a slice without an answer, the
   * request ring's reader tells whether the server is still there.
   */
  async #response(sequence: number, deadline: number, timeoutMs: number, signal: AbortSignal | undefined): Promise<Frame | null> {
    for (;;) {
      // 0 once the deadline has passed: one last look without waiting
      const slice = Math.max(0, Math.min(deadline - Date.now(), native.duplexConnectRetryMs));
      try {
        return await this.#responses.next({ timeoutMs: slice, signal });
      } catch (e) {
        if ((e as { code?: string }).code !== 'ETIMEDOUT' || signal?.aborted) throw e;
      }
      if (Date.now() >= deadline)
        throw new TimeoutError(`duplex channel "${this.name}": no response to request ${sequence} within ${timeoutMs} ms`,
          { code: 'ETIMEDOUT' });
      const server = this.#requests.stats();
      if (!server.readerAlive) {
        // an answer committed before it went is still there (a server that died after taking the
        // response ring: WriterGoneError, as documented)
        const answered = await this.#responses.next({ timeoutMs: 0 }).catch((e: unknown) => {
          if ((e as { code?: string }).code === 'ETIMEDOUT') return null;
          throw e;
        });
        if (answered !== null) return answered;
        // (one that answered before took the response ring: its death was told by the request that saw it)
        const before = this.#answered === 0 ? ', before it took the response ring' : '';
        throw new ReaderGoneError(`duplex channel "${this.name}": the server ${server.readerPid !== 0 ? `(pid ${server.readerPid}) died` : 'closed its request ring'} ` +
          `with request ${sequence} unanswered${before}`, { code: 'EREADERGONE' });
      }
    }
  }

  /**
   * Ends the requests (the server sees end of stream) and closes the response
   * ring. A request still waiting gets ESTATE, or the server's EOF when the
   * server had ended its responses before this call, whether or not the
   * client had read that end yet.
   */
  closeSync(): void {
    if (!this.#responses.closed) this.#endedBeforeClose = this.#responsesEnded();
    this.#requests.closeSync();
    this.#responses.closeSync();
  }

  /**
   * The server took the response ring (wrote an answer or its metadata) and
   * detached, and every answer was read: what the next read reports as EOF.
   * (A server that died is left to the read that finds it.)
   */
  #responsesEnded(): boolean {
    try {
      const s = this.#responses.stats();
      return s.writerPid === 0 && s.framesUnread === 0 && s.batched === 0 && (s.writtenCount > 0 || this.#responses.metadata !== undefined);
    } catch {
      return false; // a metadata block that does not add up: its read reports it
    }
  }

  async close(): Promise<void> {
    this.closeSync();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** The inode of ring NAME's file (undefined: none): tells a ring created again from the one connected to. */
function ringInode(name: string): number | undefined {
  try {
    return fs.statSync(`/dev/shm/${name}`).ino;
  } catch {
    return undefined;
  }
}

// The duplex channel (docs/DUPLEX.md): a server that answers every request
// frame with one response frame, in order, and a client for it. A channel
// NAME is two rings: NAME_request (the server creates and reads it) and
// NAME_response (the client creates and reads it, the server writes it).
// Ring names and the retry interval come from the core.
import { EventEmitter } from 'node:events';
import { ZeroBufferError } from './errors.js';
import type { Frame } from './frame.js';
import { native } from './native.js';
import { fail, validateName, validateSize, validateTimeout } from './options.js';
import { ZeroBufferReader } from './reader.js';
import { ZeroBufferWriter, type MetadataObject } from './writer.js';

/** The names of a duplex channel's rings. */
export function duplexRingNames(channel: string): { request: string; response: string } {
  validateName(channel);
  try {
    return native.duplexRingNames(channel);
  } catch (e) {
    throw new ZeroBufferError((e as Error).message, { code: 'ENAME', cause: e });
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Connects as writer to `name`, looking for it every ZB_DUPLEX_CONNECT_RETRY_MS until the deadline. */
async function connectWhenThere(name: string, deadline: number, stopped: () => boolean): Promise<ZeroBufferWriter | null> {
  for (;;) {
    if (stopped()) return null;
    try {
      return await ZeroBufferWriter.connect(name);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code !== 'ENOENT' && code !== 'EREADERGONE') throw e;
      if (Date.now() >= deadline) throw e;
    }
    await sleep(native.duplexConnectRetryMs);
  }
}

/** Where a handler may write its answer in place. */
export interface DuplexReply {
  /** Room for a response of `size` bytes in the response ring, to fill in place; sent when the handler returns. */
  reserve(size: number): Promise<Uint8Array>;
}

/**
 * Answers a request: return the response bytes, the request frame itself
 * (answered unchanged), or nothing after filling reply.reserve(size).
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
   */
  outputCaps?: string;
  /**
   * A handler error: 'stop' (default) ends serving (serve() rejects, the
   * client sees the server leave); 'pass' answers with the request's bytes
   * unchanged and goes on. Either way a 'handlerError' event is emitted.
   */
  onError?: 'stop' | 'pass';
  /** How long a response may wait for room in the response ring (ms, default 5000). */
  timeoutMs?: number;
}

export interface DuplexServerStats {
  requests: number;
  responses: number;
  /** Handler errors, and the requests answered unchanged because of them. */
  errors: number;
  passed: number;
  /** Request arrival to response commit, over the last 1024 responses (ms). */
  serviceP50Ms: number;
  serviceP99Ms: number;
  /** Request commit (the client's, with a frame header) to response commit (ms); undefined without headers. */
  requestToResponseP50Ms?: number;
  requestToResponseP99Ms?: number;
}

const SAMPLES = 1024;

function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return 0;
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) * p)]!;
}

/**
 * The server side of a duplex channel. Events: 'handlerError'
 * (DuplexHandlerError), 'client' (a client's response ring was found).
 */
export class ZeroBufferDuplexServer extends EventEmitter implements AsyncDisposable {
  readonly name: string;
  readonly requestRing: string;
  readonly responseRing: string;
  readonly #requests: ZeroBufferReader;
  readonly #outputCaps?: string;
  readonly #onError: 'stop' | 'pass';
  readonly #timeoutMs: number;
  #responses?: ZeroBufferWriter;
  #connecting?: Promise<ZeroBufferWriter | null>;
  #looks = 0;
  #closed = false;
  #stats = { requests: 0, responses: 0, errors: 0, passed: 0 };
  #service: number[] = [];
  #endToEnd: number[] = [];
  #sample = 0;

  private constructor(channel: string, rings: { request: string; response: string }, requests: ZeroBufferReader,
    options: DuplexServerOptions) {
    super();
    this.name = channel;
    this.requestRing = rings.request;
    this.responseRing = rings.response;
    this.#requests = requests;
    this.#outputCaps = options.outputCaps;
    this.#onError = options.onError ?? 'stop';
    this.#timeoutMs = validateTimeout('timeoutMs', options.timeoutMs, 5000);
  }

  /** Creates NAME_request and starts looking for NAME_response (every 100 ms, like the peers). */
  static async create(options: DuplexServerOptions): Promise<ZeroBufferDuplexServer> {
    if (typeof options !== 'object' || options === null) fail('options', 'an object', options);
    const rings = duplexRingNames(options.name);
    if (options.onError !== undefined && options.onError !== 'stop' && options.onError !== 'pass')
      fail('onError', "'stop' or 'pass'", options.onError);
    if (options.outputCaps !== undefined && typeof options.outputCaps !== 'string') fail('outputCaps', 'a caps string', options.outputCaps);
    const requests = await ZeroBufferReader.create({
      name: rings.request,
      metadataSize: validateSize('metadataSize', options.metadataSize ?? 4096, 0),
      payloadSize: options.payloadSize ?? native.defaultPayloadSize(0),
    });
    const server = new ZeroBufferDuplexServer(options.name, rings, requests, options);
    server.#lookForClient();
    return server;
  }

  /** Looks for the client's response ring until it is there or the server closes. */
  #lookForClient(): void {
    const look = ++this.#looks;
    this.#connecting = connectWhenThere(this.responseRing, Infinity, () => this.#closed || look !== this.#looks).then((w) => {
      if (w === null) return null;
      if (this.#closed || look !== this.#looks) { // closed, or a later look replaced this one
        w.closeSync();
        return null;
      }
      // The client reads the caps of the responses from here (a peer client ignores it). Without
      // outputCaps none: each response has its request's caps, which may change mid-stream (the
      // request ring's metadata keeps the first ones).
      const type = 'zerobuffer-duplex-server';
      w.setMetadata(JSON.stringify(this.#outputCaps !== undefined ? { type, caps: this.#outputCaps } : { type }));
      this.#responses = w;
      this.emit('client', this.responseRing);
      return w;
    });
    this.#connecting.catch(() => undefined); // reported by serve()
  }

  /**
   * Answers every request of the client's stream with the handler's
   * response, in request order, until the client ends its stream (resolves)
   * or the server closes. Call it again for the next client. A client that
   * comes back before the end of its stream was seen (its requests start
   * again at sequence 1) is served on without returning.
   */
  async serve(handler: DuplexHandler): Promise<void> {
    if (typeof handler !== 'function') fail('handler', 'a function', handler);
    try {
      let previous = 0;
      for await (const frame of this.#requests.frames()) {
        this.#stats.requests++;
        // A client that came back before our reader saw it leave (a pipeline set to NULL and
        // back in one process) starts again at sequence 1, into a new response ring.
        if (frame.sequence <= previous) this.#dropClient();
        previous = frame.sequence;
        const writer = this.#responses ?? await this.#connecting;
        if (writer == null) return; // closed
        await this.#answer(writer, frame, handler);
      }
    } finally {
      // the client ended its requests: the responses end too
      this.#dropClient();
    }
  }

  /** Detaches from the client's response ring and looks for the next client's. */
  #dropClient(): void {
    this.#responses?.closeSync();
    this.#responses = undefined;
    if (!this.#closed) this.#lookForClient();
  }

  async #answer(writer: ZeroBufferWriter, frame: Frame, handler: DuplexHandler): Promise<void> {
    let reserved: Uint8Array | undefined;
    const reply: DuplexReply = {
      reserve: async (size: number) => {
        if (reserved !== undefined) throw new ZeroBufferError('reply.reserve() was called already for this request', { code: 'ESTATE' });
        reserved = await writer.reserve(size, { timeoutMs: this.#timeoutMs });
        return reserved;
      },
    };
    let result: Uint8Array | Frame | void;
    try {
      result = await handler(frame, reply);
      if (reserved === undefined && !(result instanceof Uint8Array) && result !== frame)
        throw new TypeError('the handler returned neither bytes nor the frame, and did not fill reply.reserve()');
    } catch (e) {
      if (reserved !== undefined) writer.cancelReservation();
      const err = new DuplexHandlerError(frame.sequence, e);
      this.#stats.errors++;
      this.emit('handlerError', err);
      if (this.#onError === 'stop') throw err;
      this.#stats.passed++;
      await writer.write(frame.data, { timeoutMs: this.#timeoutMs });
      this.#count(frame);
      return;
    }
    if (reserved !== undefined) writer.commit();
    else await writer.write(result === frame ? frame.data : (result as Uint8Array), { timeoutMs: this.#timeoutMs });
    this.#count(frame);
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

  /** Stops: the request ring goes (the client sees the server gone), the response writer detaches. */
  closeSync(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#responses?.closeSync();
    this.#responses = undefined;
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
  /** Metadata of the request ring (the caps of the requests). */
  metadata?: string | Uint8Array | MetadataObject;
  /** Response ring sizes (bytes); the payload defaults to the readers' default. */
  metadataSize?: number;
  payloadSize?: number;
  /** How long to wait for the server's request ring (ms, default 5000). */
  connectTimeoutMs?: number;
  /** How long a request may wait for room and for its response (ms, default 5000). */
  timeoutMs?: number;
}

/** The client side: requests one at a time, each answered by the next response. */
export class ZeroBufferDuplexClient implements AsyncDisposable {
  readonly name: string;
  readonly #requests: ZeroBufferWriter;
  readonly #responses: ZeroBufferReader;
  readonly #timeoutMs: number;
  #sent = 0;
  #answered = 0;

  private constructor(name: string, requests: ZeroBufferWriter, responses: ZeroBufferReader, timeoutMs: number) {
    this.name = name;
    this.#requests = requests;
    this.#responses = responses;
    this.#timeoutMs = timeoutMs;
  }

  /** Finds NAME_request, then creates NAME_response at once (the peers' servers look for it for 5 s only). */
  static async connect(options: DuplexClientOptions): Promise<ZeroBufferDuplexClient> {
    if (typeof options !== 'object' || options === null) fail('options', 'an object', options);
    const rings = duplexRingNames(options.name);
    const connectTimeoutMs = validateTimeout('connectTimeoutMs', options.connectTimeoutMs, 5000);
    const timeoutMs = validateTimeout('timeoutMs', options.timeoutMs, 5000);
    const requests = await connectWhenThere(rings.request, Date.now() + connectTimeoutMs, () => false);
    if (requests === null) throw new ZeroBufferError('not connected', { code: 'ESTATE' });
    try {
      if (options.metadata !== undefined) requests.setMetadata(options.metadata);
      const responses = await ZeroBufferReader.create({
        name: rings.response,
        metadataSize: options.metadataSize ?? 4096,
        payloadSize: options.payloadSize ?? native.defaultPayloadSize(0),
      });
      return new ZeroBufferDuplexClient(options.name, requests, responses, timeoutMs);
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
   * ReaderGoneError when it closed, TimeoutError.
   */
  async request(data: Uint8Array): Promise<Frame> {
    await this.#requests.write(data, { timeoutMs: this.#timeoutMs });
    this.#sent++;
    const response = await this.#responses.next({ timeoutMs: this.#timeoutMs });
    if (response === null)
      throw new ZeroBufferError(`duplex channel "${this.name}": the server ended its responses with a request unanswered`, { code: 'EOF' });
    this.#answered++;
    if (response.sequence !== this.#answered) {
      response.release();
      throw new ZeroBufferError(`duplex channel "${this.name}": response sequence ${response.sequence} where ${this.#answered} was due`,
        { code: 'ESEQUENCE' });
    }
    return response;
  }

  /** Ends the requests (the server sees end of stream) and closes the response ring. */
  closeSync(): void {
    this.#requests.closeSync();
    this.#responses.closeSync();
  }

  async close(): Promise<void> {
    this.closeSync();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

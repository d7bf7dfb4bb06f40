// Where an img= stream comes from or goes to: tcp:HOST:PORT (ingest
// connects; serve listens, [HOST:]PORT, 127.0.0.1 by default, for one
// client), a file, or "-" (stdin / stdout).
import fs from 'node:fs';
import net from 'node:net';
import { Writable, type Readable } from 'node:stream';
import { onAbort } from '../abort.js';

export type Endpoint = { kind: 'tcp'; host?: string; port: number } | { kind: 'file'; path: string } | { kind: 'stdio' };

/** Parses the endpoint text; throws a TypeError naming what is wrong. */
export function parseEndpoint(text: string, listen: boolean): Endpoint {
  if (text === '-') return { kind: 'stdio' };
  if (!text.startsWith('tcp:')) return { kind: 'file', path: text };
  const m = listen ? /^tcp:(?:(.+):)?(\d+)$/.exec(text) : /^tcp:(.+):(\d+)$/.exec(text);
  const port = m === null ? NaN : Number(m[2]);
  // an IPv6 address goes in brackets (tcp:[::1]:9000); a bracket anywhere else is no host ("tcp:[::1")
  const v6 = m?.[1] === undefined ? undefined : /^\[([^[\]]+)\]$/.exec(m[1]);
  const host = v6 ? v6[1] : m?.[1];
  if (m === null || !(port >= 0 && port <= 65535) || (!listen && port === 0) || (v6 ? !net.isIPv6(host!) : /[[\]]/.test(host ?? '')))
    throw new TypeError(`${JSON.stringify(text)} is not ${listen ? 'tcp:[HOST:]PORT' : 'tcp:HOST:PORT'} (an IPv6 HOST in brackets: tcp:[::1]:9000)`);
  return { kind: 'tcp', host, port };
}

/**
 * The stream once `event` ('open', 'connect') came; rejects with its error
 * before. Its later 'error' events are heard here and go no further: the
 * read or write that failed gives its error to the command (serveImg's
 * write callbacks, ingestImg's read), while an unheard one would end the
 * process (a serve's client that went away: ECONNRESET, EPIPE).
 */
async function opened<S extends Readable | Writable>(stream: S, event: string): Promise<S> {
  await new Promise<void>((resolve, reject) => {
    stream.once(event, () => {
      stream.off('error', reject);
      resolve();
    }).once('error', reject);
  });
  stream.on('error', () => {});
  return stream;
}

/** Opens a source: connects to tcp:HOST:PORT, or opens the file / stdin. */
export async function openSource(e: Endpoint): Promise<Readable> {
  if (e.kind === 'stdio') return process.stdin;
  if (e.kind === 'file') return opened(fs.createReadStream(e.path), 'open');
  return opened(net.connect({ host: e.host, port: e.port }), 'connect');
}

/**
 * An output file opened (so truncated) at its first write, or at its end
 * (an empty stream: an empty file): a serve that fails before its first
 * image (frames img= cannot carry) is destroyed first and leaves the file
 * as it was.
 */
export class LateFile extends Writable {
  readonly #path: string;
  #file?: Promise<fs.WriteStream>;
  #opened = false;

  constructor(path: string) {
    super();
    this.#path = path;
    this.on('error', () => {}); // as opened()'s: the write that failed tells the command
  }

  /** The file was opened (truncated). */
  get opened(): boolean {
    return this.#opened;
  }

  #open(): Promise<fs.WriteStream> {
    return (this.#file ??= opened(fs.createWriteStream(this.#path), 'open').then((f) => {
      this.#opened = true;
      return f;
    }));
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (e?: Error | null) => void): void {
    this.#open().then((f) => f.write(chunk, done), done);
  }

  override _final(done: (e?: Error | null) => void): void {
    this.#open().then((f) => f.end(done), done);
  }

  override _destroy(e: Error | null, done: (e?: Error | null) => void): void {
    if (this.#file === undefined) return done(e);
    this.#file.then((f) => f.destroy(), () => {}).finally(() => done(e));
  }
}

/**
 * Opens a sink: for tcp, listens and resolves with the first client (the
 * server then closes: one client); `listening` learns the address first;
 * for a file, a LateFile.
 */
export async function openSink(e: Endpoint, stdout: Writable, listening: (address: string) => void, signal: AbortSignal): Promise<Writable> {
  if (e.kind === 'stdio') return stdout;
  if (e.kind === 'file') return new LateFile(e.path);
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(e.port, e.host ?? '127.0.0.1', resolve));
  const a = server.address() as net.AddressInfo;
  listening(`${a.address}:${a.port}`);
  let removeStop = (): void => {};
  try {
    return await new Promise<net.Socket>((resolve, reject) => {
      // heard from the start, as opened() does for the others
      server.once('connection', (socket: net.Socket) => resolve(socket.on('error', () => {})));
      // Rejects at once if stopped while it started listening. The signal
      // outlives this wait (it is the command's), so the listener goes after it.
      removeStop = onAbort(signal, () => reject(signal.reason));
    });
  } finally {
    removeStop();
    server.close();
  }
}

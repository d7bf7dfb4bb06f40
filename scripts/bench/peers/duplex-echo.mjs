// The Node echo server of the duplex bench: creates the channel, prints
// "ready", answers every request with the same frame until the client's
// end of stream (in place when zerofilter takes it, unless "inPlace" is
// false: copied), prints its stats (JSON), then exits (1, with one line on
// stderr, when serve() failed).
//
//   node duplex-echo.mjs '{"repo":PATH,"name":CHANNEL,"payloadSize":N,"inPlace":BOOL}'
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const cfg = JSON.parse(process.argv[2]);
const { ZeroBufferDuplexServer } = await import(pathToFileURL(path.join(cfg.repo, 'dist', 'index.js')).href);
const server = await ZeroBufferDuplexServer.create({ name: cfg.name, payloadSize: cfg.payloadSize, inPlace: cfg.inPlace ?? true });
console.log('ready');
try {
  await server.serve((frame) => frame);
  console.log(JSON.stringify(server.stats()));
} catch (e) {
  console.error(`duplex-echo: serve() failed: ${e.code ?? ''} ${e.message}`); // one line, for the bench's error cell
  process.exitCode = 1;
}
await server.close();

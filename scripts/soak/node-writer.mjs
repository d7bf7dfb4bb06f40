// A Node writer for the soak run, in its own process:
//   node node-writer.mjs NAME FRAMES SEED MIN MAX
// Writes FRAMES frames of zb-peer's generator (lib.mjs makeFrame) through the
// public API (dist/), detaches and prints "wrote N". A ReaderGoneError (the
// soak closed its reader) ends it with status 3 and the error's code.
import { ZeroBufferWriter } from '../../dist/index.js';
import { makeFrame } from './lib.mjs';

const [name, frames, seed, min, max] = process.argv.slice(2);
const writer = await ZeroBufferWriter.connect(name, { timeoutMs: 20000 });
try {
  for (let seq = 1; seq <= Number(frames); seq++)
    await writer.write(makeFrame(Number(seed), seq, Number(min), Number(max)));
} catch (e) {
  console.error(`node-writer: ${e.code}: ${e.message}`);
  process.exitCode = e.code === 'EREADERGONE' ? 3 : 1;
}
await writer.close();
if (process.exitCode === undefined) console.log(`wrote ${frames}`);

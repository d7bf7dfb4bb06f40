// A misspelt option is a TypeError naming it and the options there are, not
// ignored: plain JavaScript gets no compiler to catch `{ timeout: 200 }`,
// which would otherwise leave next() waiting forever.
import { PassThrough } from 'node:stream';
import {
  announce, ingestImg, formatImgMessage, ImgParser, LineSplitter, PipelineRunner, readLines, resolvePluginPath, serveImg,
  startStream, toRGB, watch, ZeroBufferDuplexClient, ZeroBufferDuplexServer, ZeroBufferReader, ZeroBufferWriter,
} from '../../src/index.js';
import { leftovers, ringName } from './helpers.js';

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

const unknown = (key: string, accepted: string[]): TypeError =>
  new TypeError(`unknown option "${key}": the options are ${accepted.map((k) => `"${k}"`).join(', ')}`);

const WAIT = ['signal', 'timeoutMs'];

// A source for the functions that take one: the options are refused before it is read.
const empty = (): AsyncGenerator<never> => (async function* () {})();

test('a reader refuses unknown options in create(), next(), frames() and waitForMetadata(), and takes the known ones', async () => {
  const name = ringName('unknown-reader');
  await expect(ZeroBufferReader.create({ name, metadataSize: 64, payloadsize: 5 } as never))
    .rejects.toThrow(unknown('payloadsize', ['name', 'metadataSize', 'payloadSize', 'timeoutMs', 'mode']));
  await using reader = await ZeroBufferReader.create({ name, metadataSize: 64, payloadSize: 4096 });
  await expect(reader.next({ timeout: 200 } as never)).rejects.toThrow(unknown('timeout', WAIT));
  await expect(reader.frames({ timeout: 200 } as never).next()).rejects.toThrow(unknown('timeout', WAIT));
  await expect(reader.waitForMetadata({ timeout: 200 } as never)).rejects.toThrow(unknown('timeout', WAIT));
  // an option given as undefined is still a known one
  await expect(reader.next({ signal: undefined, timeoutMs: 0 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
});

test('a writer refuses unknown options in connect(), write() and reserve()', async () => {
  const name = ringName('unknown-writer');
  await using reader = await ZeroBufferReader.create({ name, metadataSize: 256, payloadSize: 4096 });
  await expect(ZeroBufferWriter.connect(name, { timeout: 1000 } as never))
    .rejects.toThrow(unknown('timeout', ['timeoutMs', 'frameHeader', 'connectTimeoutMs', 'signal']));
  await using writer = await ZeroBufferWriter.connect(name);
  writer.setMetadata({ caps: 'application/octet-stream' });
  const write = [...WAIT, 'pts', 'dts', 'duration', 'flags', 'zbFlags', 'attributes'];
  await expect(writer.write(new Uint8Array(4), { timeout: 10 } as never)).rejects.toThrow(unknown('timeout', write));
  await expect(writer.reserve(4, { pst: 1 } as never)).rejects.toThrow(unknown('pst', write));
  await writer.write(new Uint8Array([7]), { timeoutMs: 100 });
  using frame = await reader.next({ timeoutMs: 1000 });
  expect(frame?.data).toEqual(new Uint8Array([7]));
});

test('the duplex, stream, watch, picture, img= and line APIs refuse unknown options', async () => {
  await expect(ZeroBufferDuplexServer.create({ name: ringName('unknown-duplex'), outputcaps: 'video/x-raw' } as never))
    .rejects.toThrow(/^unknown option "outputcaps": the options are "name", .*"outputCaps"/);
  await expect(ZeroBufferDuplexClient.connect({ name: ringName('unknown-duplex'), connectTimeout: 10 } as never))
    .rejects.toThrow(/^unknown option "connectTimeout": the options are .*"connectTimeoutMs"/);
  await expect(startStream({ source: 'videotestsrc', sinkProperty: {} } as never))
    .rejects.toThrow(/^unknown option "sinkProperty": the options are "source", .*"sinkProperties"/);
  expect(() => watch({ command: ['true'], pipeline: 'videotestsrc', stopTimeout: 10 } as never))
    .toThrow(/^unknown option "stopTimeout": the options are .*"stopTimeoutMs"/);
  expect(() => watch({ command: ['true'], pipeline: 'videotestsrc', restart: { maxRestart: 1 } } as never))
    .toThrow(unknown('restart.maxRestart', ['restart.maxRestarts', 'restart.initialDelayMs', 'restart.maxDelayMs']));
  expect(() => new PipelineRunner({ source: 'videotestsrc', name: ringName('unknown-runner'), stopTimeout: 10 } as never))
    .toThrow(/^unknown option "stopTimeout"/);
  const image = { format: 'GRAY8', width: 1, height: 1, data: new Uint8Array(1), planes: [{ offset: 0, stride: 1 }] };
  expect(() => toRGB(image as never, { output: new Uint8Array(3) } as never)).toThrow(unknown('output', ['out']));
  expect(() => formatImgMessage({ width: 1, height: 1, data: new Uint8Array(2) }, {}, { encode: 'latin1' } as never))
    .toThrow(unknown('encode', ['encoding']));
  expect(() => new ImgParser({ maxPixels: 1 } as never)).toThrow(unknown('maxPixels', ['maxPixelBytes', 'maxHeaderBytes']));
  await expect(ingestImg(empty(), { name: ringName('unknown-ingest'), connectTimeout: 10 } as never))
    .rejects.toThrow(/^unknown option "connectTimeout": the options are "maxPixelBytes", .*"connectTimeoutMs"/);
  await expect(serveImg(empty(), new PassThrough(), { count: 1 } as never))
    .rejects.toThrow(unknown('count', ['frames', 'onFrame', 'signal', 'onWarning']));
  await expect(announce({ method: 'stop-stream', name: 'x' }, { out: new PassThrough() } as never))
    .rejects.toThrow(unknown('out', ['stream', 'signal']));
  await expect(readLines(empty(), { maxLine: 10 } as never).next())
    .rejects.toThrow(unknown('maxLine', ['maxLineBytes', 'partialLogs', 'signal']));
  expect(() => new LineSplitter(10, { partial: true } as never)).toThrow(unknown('partial', ['partialLogs']));
  expect(() => resolvePluginPath({ path: '/x' } as never)).toThrow(unknown('path', ['pluginPath', 'env']));
});

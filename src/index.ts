/// <reference types="node" preserve="true" />
// The declarations use Node's types (node:events, node:stream): this pulls
// them in for users whose tsconfig lists none ("types": [], as tsc --init writes).
export { ZeroBufferReader, type ReaderStats } from './reader.js';
export type { WaitPath } from './native.js';
export { ZeroBufferWriter, type MetadataObject, type WriteOptions, type WriterStats } from './writer.js';
export { Frame, type PlainUint8Array } from './frame.js';
export type { FrameAttributes } from './frame-attributes.js';
export { frameImage, type Image } from './image.js';
export type { ImageMeta } from './image-meta.js';
export { toRGB, toRGBA, toGray, type ConvertOptions } from './convert.js';
export { decodeImage, encodePng } from './decode.js';
export { grayColorimetry, yuvColorimetry, type Colorimetry, type ColorMatrix } from './colorimetry.js';
export { parseMetadata, type Metadata } from './metadata.js';
export {
  parseCaps, capsField, isFraction, CapsParseError,
  type Caps, type CapsStructure, type CapsField, type CapsValue, type Fraction, type CapsList, type CapsArray, type CapsRange,
} from './caps.js';
export { videoInfoFromCaps, planesFor, RAW_FORMATS, VideoInfoError, type VideoInfo, type PlaneInfo, type RawFormat } from './video-info.js';
export {
  ZeroBufferError, WriterGoneError, ReaderGoneError, ProtocolError, TimeoutError, MetadataError, FrameSizeError, RingError,
  ImageDecodeError,
} from './errors.js';
export type { ReaderOptions, WriterOptions, WaitOptions } from './options.js';
export { PipelineError, type ElementError } from './errors.js';
export { startStream, Stream, type StartStreamOptions, type StreamFramesOptions, type StreamStats } from './orchestrator/start-stream.js';
export {
  watch, Watcher, ANNOUNCED_RING_CONNECT_TIMEOUT_MS, COMMAND_KILL_AFTER_TERM_MS, DEFAULT_MAX_PIPELINES, type WatchOptions, type WatchResult, type RingSummary,
} from './orchestrator/watch.js';
export { defaultSizes, duplexSizes, type RingSizes } from './orchestrator/sizes.js';
export { ringBand, BANDS, type RingBand, type FrameCounters } from './orchestrator/stream-stats.js';
export {
  PipelineRunner, type PipelineOptions, type PipelineExit, type PipelineState, type PipelineStateEvent, type RestartOptions,
} from './runner/pipeline-runner.js';
export { DEFAULT_MAX_RESTARTS } from './runner/restart-budget.js';
export { splitPipeline } from './runner/pipeline-tokens.js';
export type { ElementWarning } from './runner/pipeline-output.js';
export { resolvePluginPath, type PluginPath, type PluginPathOptions } from './runner/plugin-path.js';
export { formatMessage, announce, type AnnounceOptions } from './line-protocol/format.js';
export { parseLine, isProtocolLine, type LineEvent, type LogEvent, type MessageEvent, type WarningEvent } from './line-protocol/parse-line.js';
export { readLines, DEFAULT_MAX_LINE_BYTES, type ReadLinesOptions } from './line-protocol/read-lines.js';
export { LineSplitter, type LineSplitterOptions, type RawLine } from './line-protocol/line-splitter.js';
export { METHODS, type StartStreamMessage, type StopStreamMessage, type StreamMessage } from './line-protocol/messages.js';
export { inspectRing, listRings, removeStaleRing, type RingHealth, type RingEntry } from './rings.js';
export { parseImgMessages, ImgParser, type ImgParserOptions } from './img-stream/parse.js';
export { formatImgMessage, formatImgParts, type ImgFormatOptions, type ImgPixels } from './img-stream/format.js';
export {
  ENCODING_ATTRIBUTE, ImgStreamError, RESERVED_ATTRIBUTES, type ImgEncoding, type ImgMessage, type ImgStreamProblem,
} from './img-stream/message.js';
export { ingestImg, type IngestOptions, type IngestResult } from './img-stream/ingest.js';
export { serveImg, type ServeOptions } from './img-stream/serve.js';
export {
  ZeroBufferDuplexServer, ZeroBufferDuplexClient, DuplexHandlerError, duplexRingNames,
  type DuplexServerOptions, type DuplexClientOptions, type DuplexHandler, type DuplexReply, type DuplexServerStats,
  type DuplexClientGone,
} from './duplex.js';

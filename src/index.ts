export { ZeroBufferReader, type ReaderStats } from './reader.js';
export { ZeroBufferWriter, type MetadataObject, type WriteOptions } from './writer.js';
export { Frame } from './frame.js';
export { toRGB, frameImage, type Image } from './image.js';
export { parseMetadata, type Metadata } from './metadata.js';
export {
  parseCaps, capsField, isFraction, CapsParseError,
  type Caps, type CapsStructure, type CapsField, type CapsValue, type Fraction, type CapsList, type CapsArray, type CapsRange,
} from './caps.js';
export { videoInfoFromCaps, planesFor, RAW_FORMATS, VideoInfoError, type VideoInfo, type PlaneInfo, type RawFormat } from './video-info.js';
export {
  ZeroBufferError, WriterGoneError, ReaderGoneError, ProtocolError, TimeoutError, MetadataError, FrameSizeError, RingError,
} from './errors.js';
export type { ReaderOptions, WriterOptions, WaitOptions } from './options.js';

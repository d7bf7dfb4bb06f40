// The compiled addon, loaded once through node-gyp-build: a checkout's (or a
// from-source install's) build/Release/zerobuffer.node, else the prebuilt
// prebuilds/<platform>-<arch>/zerobuffer.glibc.node that npm pack ships. Only
// the modules of this package talk to it; its shapes are described here.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { ZeroBufferError } from './errors.js';

/** A ring's utilisation band (zb_band in zerobuffer.h). */
export type RingBand = 'healthy' | 'degraded' | 'critical';

/** OIEB snapshot as the addon reports it (see zb_health in zerobuffer.h). */
export interface NativeHealth {
  version: [number, number, number, number];
  metadataSize: number;
  metadataWrittenBytes: number;
  payloadSize: number;
  payloadFreeBytes: number;
  payloadUsedBytes: number;
  utilisationPercent: number;
  /** Its band (zb_band_of): healthy below 80 %, degraded to 95 %, critical above. */
  band: RingBand;
  writePos: number;
  readPos: number;
  writtenCount: number;
  readCount: number;
  writerPid: number;
  readerPid: number;
  writerAlive: boolean;
  readerAlive: boolean;
  /** Frames the reader has not read yet (from the frame headers). */
  framesUnread: number;
  /**
   * Frames the reader has read and whose room is not back yet, as the ring
   * shows them to any process: held, or released behind one held (room
   * goes back in ring order).
   * Not a Node reader's own stats().heldFrames, the views it handed out and
   * that are not released: a frame released behind a held one counts here,
   * not there.
   */
  framesHeld: number;
}

/**
 * The OIEB's own fields of a ring: what healthByName's ProtocolError carries
 * (as `oieb`) when the core refused the ring for what they or its entries say.
 */
export type NativeOieb = Pick<NativeHealth, 'version' | 'metadataSize' | 'metadataWrittenBytes' | 'payloadSize' |
  'payloadFreeBytes' | 'writePos' | 'readPos' | 'writtenCount' | 'readCount' | 'writerPid' | 'readerPid'>;

/** The pids of a health snapshot, what the duplex pairing compares (a NativeHealth, or a reader's stats()). */
export type NativeHealthPids = Pick<NativeHealth, 'writerPid' | 'readerPid'>;

/** Fields of the opt-in 48-byte frame header; absent timestamps were "none". */
export interface NativeFrameHeader {
  pts?: number;
  dts?: number;
  duration?: number;
  commitNs: number;
  flags: number;
  /** Our flags at offset 44 (ZB_EXT_IN_PLACE: a duplex answer in place); 0 when absent. */
  zbFlags?: number;
  /** Bytes after the fixed 48 (per-frame attributes), when there are some. */
  attributes?: Uint8Array;
}

/**
 * Where a frame's numbers sit in the batch's Float64Array (`count` numbers a
 * frame): its lease (-1 for a copy), sequence, payload size on the wire,
 * arrival time, whether the frame header was parsed (1) and its fields
 * (timestamps -1 when "none"), whether the bytes were copied (1), how
 * many bytes of per-frame attributes start the view (the data follows), and
 * the header's zerobuffer flags (0 without a header).
 */
export interface NativeFrameFields {
  lease: number;
  sequence: number;
  payloadSize: number;
  arrivalNs: number;
  hasHeader: number;
  pts: number;
  dts: number;
  duration: number;
  commitNs: number;
  flags: number;
  copied: number;
  attrsSize: number;
  zbFlags: number;
  count: number;
}

/** A reservation: a view over the ring, or a scratch buffer (copied) that commit copies in. */
export interface NativeReservation {
  buffer: ArrayBuffer;
  copied: boolean;
}

/** Errors thrown by the addon: the core's code name, its number, its details. */
export interface NativeError {
  message: string;
  code: string;
  errno: number;
  canceled?: boolean;
}

/** One ring as zb_rings_list reports it; neither peer alive (and access not denied) means stale. */
export interface NativeRingEntry {
  name: string;
  hasSegment: boolean;
  hasLock: boolean;
  /** A semaphore file of it in /dev/shm (also a stray one, with nothing else left). */
  hasSemaphores: boolean;
  readerAlive: boolean;
  writerAlive: boolean;
  /**
   * A ring whose lock file or segment this user may not read (another user's, or a mode that shuts its owner out),
   * and no live reader seen: whether its peers live is unknown (both false).
   */
  accessDenied: boolean;
}

export type WaitPath = 'io_uring' | 'io_uring-signal' | 'thread';

export interface NativeReader {
  readonly name: string;
  readonly closed: boolean;
  /**
   * Where wait() sleeps: "io_uring" (the event loop, on the ring's semaphore, woken through an eventfd),
   * "io_uring-signal" (the same, woken by signalled task work) or "thread" (the fallback).
   */
  readonly waitPath: WaitPath;
  metadata(): Uint8Array;
  /** Takes up to max frames ready now into the batch: their count (0: none), null once closed; throws what ended the stream (EOF, ...). */
  take(max: number): number | null;
  /** Waits for a frame (on the event loop or the reader's thread), then takes up to max ready ones into the batch: their count, null once closed. */
  wait(timeoutMs: number, max: number): Promise<number | null>;
  cancel(): void;
  /** Detaches a frame's view and ends its lease (-1: a copy), now or (later) at the next take, wait, giveBack or close. */
  release(lease: number, buffer: ArrayBuffer, later?: boolean): boolean;
  /** Gives the released frames' bytes back to the writer now. */
  giveBack(): void;
  health(): NativeHealth;
  /** Frames in the ring, not taken yet, with sequence 1 (each starts a writer's stream). */
  unreadStreamStarts(): number;
  /** The largest frame (payload bytes, frame header included) the ring can ever hold (zb_reader_max_frame_size). */
  maxFrameSize(): number;
  heldViews(): number;
  close(): void;
}

export interface NativeWriter {
  readonly name: string;
  readonly closed: boolean;
  readonly maxFrameSize: number;
  /** A write or reservation waits for room in the addon (one at a time). */
  readonly waiting: boolean;
  /** The metadata an earlier writer left in the ring (empty: none). */
  metadata(): Uint8Array;
  setMetadata(bytes: Uint8Array): void;
  write(bytes: Uint8Array, timeoutMs: number, header?: Partial<NativeFrameHeader>): Promise<void>;
  /** With header, the frame header goes before the reserved bytes (written at commit). */
  reserve(size: number, timeoutMs: number, header?: Partial<NativeFrameHeader>): Promise<NativeReservation>;
  commit(size: number, buffer: ArrayBuffer, copied: boolean): void;
  cancelReservation(buffer?: ArrayBuffer): void;
  cancel(): void;
  health(): NativeHealth;
  close(): void;
}

/** A raw frame's layout for convert() (native/addon/convert-binding.cc). */
export interface NativeConvertLayout {
  format: string;
  width: number;
  height: number;
  offsets: number[];
  strides: number[];
  /** YUV only: luma coefficients and chroma siting; YUV and gray: the range. */
  kr?: number;
  kb?: number;
  fullRange?: boolean;
  hCosited?: boolean;
  vCosited?: boolean;
  /** 4:2:0: the caps are interlaced (no I420 fast path); the frame's rows alternate between fields. */
  interlacedCaps?: boolean;
  interlacedFrame?: boolean;
}

/** The addon's live native objects (process-wide) and glibc's malloc figures, for leak checks. */
export interface NativeLiveCounts {
  readerObjects: number;
  writerObjects: number;
  readerSessions: number;
  writerSessions: number;
  /** A reader's frame slots; one outlives its reader while views over its frames remain. */
  leaseTables: number;
  /** External views over ring frames not finalized yet. */
  views: number;
  /** Views neither released nor finalized: their frames are still held. */
  heldLeases: number;
  threadSafeFunctions: number;
  /** mallinfo2(): bytes in the arenas, in separately mmap'ed chunks, allocated, free in the arenas, free at the top of the main heap. */
  malloc: { arenaBytes: number; mmapBytes: number; inUseBytes: number; freeBytes: number; releasableBytes: number };
}

export interface NativeAddon {
  /**
   * A batch holds fields.length / frameFields.count frames; their views go into `views`. waitPath: the
   * path wanted, taken where the kernel allows, else the next one down ("io_uring", "io_uring-signal",
   * "thread").
   */
  Reader: new (name: string, metadataSize: number, payloadSize: number, mode: number,
    fields: Float64Array, views: (ArrayBuffer | undefined)[], waitPath: WaitPath) => NativeReader;
  /** Unlinks the ring of every open reader of the process, any thread's, leaving each working (the process is ending); how many. */
  unlinkRings(): number;
  Writer: new (name: string) => NativeWriter;
  validateName(name: string): void;
  nowNs(): number;
  healthByName(name: string): NativeHealth;
  /** Rings found in /dev/shm and /tmp/zerobuffer, in name order (zb_rings_list). */
  ringsList(): NativeRingEntry[];
  /** Removes a ring whose reader and writer are dead; throws EBUSY / ENOENT (zb_ring_remove_stale). */
  ringRemoveStale(name: string): void;
  /** What ringRemoveStale(name) would throw, removing nothing (zb_ring_check_stale). */
  ringCheckStale(name: string): void;
  /** The core's sizing rule (zb_payload_size_for): ring bytes for `frames` frames of frameSize bytes. */
  payloadSizeFor(frameSize: number, frames: number, frameHeader: boolean): number;
  /** Frames in flight a ring holds by default for frames of this size (zb_default_frames_in_flight). */
  defaultFramesInFlight(frameSize: number): number;
  /** The payload size readers pick by default (zb_default_payload_size; 0: frame size unknown). */
  defaultPayloadSize(frameSize: number): number;
  /** The payload size readers pick by default for raw audio of this many bytes a second (zb_default_payload_size_for_rate; 0: unknown). */
  defaultPayloadSizeForRate(bytesPerSecond: number): number;
  /** Either ring of a duplex channel by default, with depth requests waiting (zb_duplex_payload_size; 0: too large). */
  duplexPayloadSize(frameSize: number, depth: number): number;
  /** Either ring of a duplex channel of raw audio: depth + 3 buffers of up to 1 s (zb_duplex_payload_size_for_rate; 0: too large). */
  duplexPayloadSizeForRate(bytesPerSecond: number, depth: number): number;
  /** The per-frame header version metadata declares (0: none); throws EPROTO when unreadable. */
  metadataFrameHeader(bytes: Uint8Array): number;
  /** The metadata JSON object with the per-frame header declared. */
  declareFrameHeader(bytes: Uint8Array): Uint8Array;
  /** The in-place answer version a duplex client's request metadata declares (0: none); throws EPROTO when unreadable. */
  metadataInPlace(bytes: Uint8Array): number;
  /** The metadata JSON object with in-place answers declared ("zerobuffer": {"in_place": 1}). */
  declareInPlace(bytes: Uint8Array): Uint8Array;
  /** ZB_EXT_IN_PLACE: the frame header's zerobuffer flag of a duplex answer in place (docs/PROTOCOL.md §9.4). */
  extInPlace: number;
  /** ZB_DEFAULT_METADATA_SIZE: the metadata block our readers make when not told (zerosrc's default). */
  defaultMetadataSize: number;
  liveCounts(): NativeLiveCounts;
  /** Tests only: sets how long a closed reader's range stays mapped as zero pages (30000 ms), returns the previous value. */
  setRetireGraceMs(ms: number): number;
  /** Whether the pipe or socket fd writes into has no reader left (poll's POLLERR / POLLHUP); false for a file. */
  readerGone(fd: number): boolean;
  /** The names of a duplex channel's rings (zb_duplex_ring_name); throws ENAME. */
  duplexRingNames(channel: string): { request: string; response: string };
  /**
   * Whether a duplex server's response ring (its writer's health) belongs to the client writing its
   * request ring (its reader's health): the response ring's reader pid is the request ring's writer
   * pid (zb_duplex_same_client).
   */
  duplexSameClient(requestHealth: NativeHealthPids, responseHealth: NativeHealthPids): boolean;
  /**
   * Throws ESEQUENCE when more answers wait in a duplex client's response ring than requests wait
   * for one (a server that answered a request twice): zb_duplex_check_answers.
   */
  duplexCheckAnswers(requests: number, responses: number, sending: number, answers: number, responseRing: string): void;
  /** How often a duplex server looks for the response ring (ZB_DUPLEX_CONNECT_RETRY_MS). */
  duplexConnectRetryMs: number;
  /** zerofilter's default depth, what a server sizes its request ring for (ZB_DUPLEX_DEFAULT_DEPTH). */
  duplexDefaultDepth: number;
  /** The package version binding.gyp stamped in (package.json's when it was built); loadAddon() checks it. */
  packageVersion: string;
  frameFields: NativeFrameFields;
  /** ZEROBUFFER_FORCE_COPY=1 was in this thread's process.env (a worker's is its own) when the addon loaded. */
  forceCopy: boolean;
  /**
   * Frames and reservations are views over the ring: neither forceCopy nor a runtime that refuses
   * external ArrayBuffers (Electron's V8 sandbox, found when the addon loaded) makes them copies.
   */
  zeroCopy: boolean;
  /** How zero-copy views are made: "v8" (a V8 backing store over the ring) or "napi" (napi's external ArrayBuffers: a build with V8's sandbox, which refuses them, so frames are copies; a module ABI other than the build's; ZEROBUFFER_RING_VIEWS=napi). */
  ringViews: 'v8' | 'napi';
  /** ZEROBUFFER_DEBUG=1 was in this thread's process.env when the addon loaded: released frames are poisoned with poisonByte (not those of a ring whose metadata declares in-place answers). */
  debug: boolean;
  poisonByte: number;
  frameHeaderSize: number;
  /** The core's limits for the sizes given to a reader (ZB_MAX_METADATA_SIZE, ZB_MAX_PAYLOAD_SIZE). */
  maxMetadataSize: number;
  maxPayloadSize: number;
  /** Writes the frame as packed gray (1), RGB (3) or RGBA (4) into dst, rows dstStride apart (convert.c). */
  convert(src: Uint8Array, layout: NativeConvertLayout, dst: Uint8Array, dstStride: number, channels: 1 | 3 | 4): void;
  /** Where the bands start, in percent (ZB_BAND_DEGRADED_PERCENT, ZB_BAND_CRITICAL_PERCENT). */
  healthBands: Readonly<{ degraded: number; critical: number }>;
  /** The band of a utilisation in percent (zb_band_of). */
  bandOf(utilisationPercent: number): RingBand;
  /**
   * Keeps the process's handler for these signal numbers installed until release(), without a process
   * listener, and calls onSignal(signum) on the event loop when one arrives (signal-hold.cc).
   */
  SignalHold: new (signals: number[], onSignal: (signum: number) => void) => { release(): void };
}

const require = createRequire(import.meta.url);
const loadBinding = require('node-gyp-build') as ((dir: string) => unknown) & { path(dir: string): string };

/** The package root: this module is in src/ or dist/. */
const packageRoot = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Refuses an addon built for another version of the package than this
 * one's package.json says (binding.gyp stamps that version into it:
 * `packageVersion`): a stale build/Release, or a prebuilt addon of another
 * release, would load and misread the TypeScript side's calls. Throws a
 * ZeroBufferError, code EADDON, naming both versions and the rebuild.
 */
export function checkAddonVersion(addon: object, expected: string, file: string): void {
  const built = (addon as { packageVersion?: unknown }).packageVersion;
  if (built === expected) return;
  const was = typeof built === 'string' ? `zerobuffer ${built}` : 'an older zerobuffer (no version stamped in it)';
  throw new ZeroBufferError(
    `zerobuffer: the native addon ${file} was built for ${was}, but this is zerobuffer ${expected}: ` +
      'the addon and dist/ come from different builds. Rebuild the addon: "npm run build:addon" in a checkout, ' +
      '"npm rebuild zerobuffer --build-from-source --ignore-scripts=false" in a project (a package packed with "npm pack --ignore-scripts" ' +
      'ships the prebuilds/ of an earlier pack: pack without it).',
    { code: 'EADDON' },
  );
}

/**
 * No addon loads: none built nor prebuilt for this machine, or one that
 * dlopen refuses (another architecture, a missing library, a truncated
 * file). A ZeroBufferError, code EADDON as for one of another version: one
 * line (node-gyp-build's reason, its lines joined) with the build.
 */
function loadAddon(): NativeAddon {
  let addon: NativeAddon;
  try {
    addon = loadBinding(packageRoot) as NativeAddon;
  } catch (e) {
    const reason = (e instanceof Error ? e.message : String(e)).split(/\s*\n\s*/).filter((l) => l !== '').join(', ');
    throw new ZeroBufferError(
      `zerobuffer: cannot load the native addon: ${reason}. Build it for this machine: "npm run build" in a checkout, ` +
        '"npm rebuild zerobuffer --build-from-source --ignore-scripts=false" in a project (needs a C/C++ compiler, python3 and make; ' +
        'npm 12 and later build it only for a package the project allows: "allowScripts": {"zerobuffer": true} in its package.json).',
      { code: 'EADDON', cause: e },
    );
  }
  const { version } = require(path.join(packageRoot, 'package.json')) as { version: string };
  checkAddonVersion(addon, version, loadBinding.path(packageRoot));
  return addon;
}

export const native: NativeAddon = loadAddon();

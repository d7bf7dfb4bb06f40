// frame.imageMeta: the picture metadata vision platforms hand an algorithm
// next to each image (width, height, timestamp_ms, camera_id, color_space),
// in their field names.
import type { Frame } from './frame.js';
import { frameImage, infoOf, isYuv, type Image } from './image.js';

export interface ImageMeta {
  /** Pixels per row and rows, from the caps (0 when JPEG/PNG caps do not say). */
  width: number;
  height: number;
  /**
   * Milliseconds (with a fraction): the buffer PTS when the writer sent the
   * frame header with one (stream time), else its commit time, else our
   * arrival time (both CLOCK_MONOTONIC of this host). timestamp_source says which.
   * A writer that sends a PTS with some frames only mixes the two clocks in
   * one ring (ingest img gives every frame one).
   */
  timestamp_ms: number;
  timestamp_source: 'pts' | 'commit' | 'arrival';
  /** The writer's camera id (zerosink camera-id, metadata "camera_id"), or null. */
  camera_id: string | null;
  /** What the frame's pixels are: RGB or BGR order, gray, YUV; encoded frames decode to RGB. */
  color_space: 'RGB' | 'BGR' | 'GRAY' | 'YUV';
  /** The GStreamer format ('I420', 'BGRx', ...) or 'JPEG' / 'PNG'. */
  format: string;
}

function colorSpace(format: Image['format'], encoded: boolean): ImageMeta['color_space'] {
  if (encoded) return 'RGB';
  if (format.startsWith('GRAY')) return 'GRAY';
  if (isYuv(format)) return 'YUV';
  return format.replace(/[xA]/g, '') === 'BGR' ? 'BGR' : 'RGB';
}

/**
 * frame.imageMeta, from the caps and the frame's header; throws what
 * frame.image() throws (no caps, wrong size), except that a released
 * frame still has its metadata.
 */
export function imageMetaOf(frame: Frame): ImageMeta {
  if (!frame.released) frameImage(frame); // the checks of its size against the caps
  const info = infoOf(frame);
  const format: Image['format'] = info.encoded ? (info.mediaType === 'image/png' ? 'PNG' : 'JPEG') : info.format as Image['format'];
  const [timestamp_ms, timestamp_source] = frame.pts !== undefined ? [frame.pts / 1e6, 'pts' as const]
    : frame.commitNs !== undefined ? [frame.commitNs / 1e6, 'commit' as const]
      : [frame.arrivalNs / 1e6, 'arrival' as const];
  const id = frame.metadata?.json?.['camera_id'];
  return {
    width: info.width ?? 0,
    height: info.height ?? 0,
    timestamp_ms,
    timestamp_source,
    camera_id: typeof id === 'string' ? id : null,
    color_space: colorSpace(format, info.encoded),
    format,
  };
}

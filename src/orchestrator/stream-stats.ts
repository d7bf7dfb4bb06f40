// Counters of a consumed stream: totals, rates over the last second, ring
// use with its health band, latency (frames with the frame header) and
// drops seen as gaps in PTS.
import type { Frame } from '../frame.js';
import { native, type RingBand } from '../native.js';

export type { RingBand };

/**
 * Ring utilisation bands in percent, as the core defines them (the
 * protocol's capacity guidance, docs/PROTOCOL.md §8, "Health bands"): healthy
 * below `degraded` (80), degraded up to `critical` (95), critical above
 * (frames are about to be lost).
 */
export const BANDS = native.healthBands;

/** The band of a utilisation in percent (the core's zb_band_of). */
export function ringBand(utilisationPercent: number): RingBand {
  return native.bandOf(utilisationPercent);
}

export interface FrameCounters {
  frames: number;
  bytes: number;
  /** Frames per second over the last second. */
  fps: number;
  /** Bytes per second over the last second. */
  bytesPerSecond: number;
  /** Mean commit → arrival time over the last second (ms), when frames carry the frame header. */
  latencyMs?: number;
  /** Frames missing between PTS values (when frames carry PTS and duration). */
  drops: number;
  /** Times the writer started again (sequence back to 1). */
  writerRestarts: number;
  elapsedMs: number;
}

const WINDOW_MS = 1000;

export class FrameMeter {
  #frames = 0;
  #bytes = 0;
  #drops = 0;
  #writerRestarts = 0;
  #lastPts?: number;
  #lastSequence = 0;
  readonly #started = performance.now();
  #window: { t: number; bytes: number; latencyNs?: number }[] = [];

  add(frame: Frame): void {
    const t = performance.now();
    this.#frames++;
    this.#bytes += frame.size;
    if (frame.sequence <= this.#lastSequence) {
      this.#writerRestarts++;
      this.#lastPts = undefined;
    }
    this.#lastSequence = frame.sequence;
    if (frame.pts !== undefined && frame.duration !== undefined && frame.duration > 0) {
      if (this.#lastPts !== undefined) {
        const steps = Math.round((frame.pts - this.#lastPts) / frame.duration);
        if (steps > 1) this.#drops += steps - 1;
      }
      this.#lastPts = frame.pts;
    }
    this.#window.push({ t, bytes: frame.size, latencyNs: frame.latencyNs });
    this.#trim(t);
  }

  #trim(now: number): void {
    while (this.#window.length > 0 && now - this.#window[0]!.t > WINDOW_MS) this.#window.shift();
  }

  counters(): FrameCounters {
    const now = performance.now();
    this.#trim(now);
    const elapsedMs = now - this.#started;
    const span = Math.min(WINDOW_MS, elapsedMs) / 1000 || 1;
    const latencies = this.#window.filter((w) => w.latencyNs !== undefined).map((w) => w.latencyNs!);
    const c: FrameCounters = {
      frames: this.#frames,
      bytes: this.#bytes,
      fps: this.#window.length / span,
      bytesPerSecond: this.#window.reduce((s, w) => s + w.bytes, 0) / span,
      drops: this.#drops,
      writerRestarts: this.#writerRestarts,
      elapsedMs,
    };
    if (latencies.length > 0) c.latencyMs = latencies.reduce((a, b) => a + b, 0) / latencies.length / 1e6;
    return c;
  }
}

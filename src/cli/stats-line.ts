// Stats for people (one line rewritten on a terminal) and for programs
// (one JSON object per line).
import type { StreamStats } from '../orchestrator/start-stream.js';

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

/** One status line: frames, fps, MB/s, drops, ring use and band, latency, writer. */
export function statsLine(s: StreamStats): string {
  const parts = [
    `${s.frames} frames`,
    `${s.fps.toFixed(1)} fps`,
    `${mb(s.bytesPerSecond)} MB/s`,
    `drops ${s.drops}`,
    `ring ${s.ringUtilisationPercent.toFixed(0)}% ${s.ringBand}`,
    `latency ${s.latencyMs === undefined ? '-' : `${s.latencyMs.toFixed(2)} ms`}`,
    `pipeline ${s.pipeline}${s.restarts > 0 ? ` (${s.restarts} restart${s.restarts === 1 ? '' : 's'})` : ''}`,
  ];
  return parts.join('  ');
}

/** A JSON line: {"type":"stats"|"summary", ...counters}. */
export function statsJson(type: 'stats' | 'summary', s: StreamStats, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    type,
    name: s.name,
    frames: s.frames,
    bytes: s.bytes,
    fps: Number(s.fps.toFixed(2)),
    bytesPerSecond: Math.round(s.bytesPerSecond),
    drops: s.drops,
    ringUtilisationPercent: Number(s.ringUtilisationPercent.toFixed(1)),
    ringBand: s.ringBand,
    latencyMs: s.latencyMs === undefined ? null : Number(s.latencyMs.toFixed(3)),
    pipeline: s.pipeline,
    restarts: s.restarts,
    writerRestarts: s.writerRestarts,
    elapsedMs: Math.round(s.elapsedMs),
    ...extra,
  });
}

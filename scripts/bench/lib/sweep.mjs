// Frame-size sweep: zb-bench's C writer and reader (two processes) through
// the ring, a pipe and a Unix domain socket, next to memcpy of the same size
// so each figure reads as a fraction of what the memory system can move.
import { lastJson, run } from './proc.mjs';

const KiB = 1024;
const MiB = 1024 * KiB;
/** 1 KiB .. 16 MiB in powers of 4, and 32 MiB. */
export const SIZES = [KiB, 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, MiB, 4 * MiB, 16 * MiB, 32 * MiB];
export const TRANSPORTS = ['ring', 'pipe', 'uds'];

export function sizeLabel(n) {
  return n >= MiB ? `${n / MiB} MiB` : `${n / KiB} KiB`;
}

/** One writer → reader run for `seconds`; throughput and CPU per side. */
export async function measurePair(ctx, transport, size, quick) {
  const seconds = quick ? 0.05 : 0.4;
  const r = await run(ctx.zbBench, ['pair', transport, String(size), '--seconds', String(seconds)],
    { timeoutMs: ctx.timeoutMs });
  const out = lastJson(r.stdout, `zb-bench pair ${transport} ${size}`);
  for (const side of ['writer', 'reader']) {
    if (out[side].error) throw new Error(`zb-bench pair ${transport} ${size}: ${side}: ${out[side].error}`);
  }
  return {
    fps: out.reader.fps, gbps: out.reader.gbps,
    prodCpu: out.writer.cpuPerFrame, consCpu: out.reader.cpuPerFrame,
    prodRss: out.writer.hwmKb, consRss: out.reader.hwmKb,
  };
}

/** memcpy GB/s for one size (cache-resident when small: that is the point). */
export async function measureMemcpy(ctx, size, quick) {
  const r = await run(ctx.zbBench, ['memcpy', String(size), quick ? '0.02' : '0.1'], { timeoutMs: ctx.timeoutMs });
  return { gbps: lastJson(r.stdout, 'zb-bench memcpy').gbps };
}

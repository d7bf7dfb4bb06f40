// The JS twin of test/peer/frame-gen.h, for every Node writer and checker
// (jest helpers and fixtures, the soak): the size and the bytes of frame
// `seq` of stream `seed`, and the FNV-1a hash zb-peer prints.

/** xorshift32 of frame `seq` of seed `seed`: its first draw picks the size. */
function start(seed, seq) {
  let x = (Math.imul(seed >>> 0, 2654435761) ^ Math.imul(seq >>> 0, 40503) ^ 0x9e3779b9) >>> 0;
  if (x === 0) x = 1;
  const next = () => {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    return x;
  };
  return { draw: next(), next };
}

/** The bytes after the size draw: the same whatever the size. */
function fill(next, size) {
  const out = new Uint8Array(size);
  const words = new Uint32Array(out.buffer, 0, size >>> 2);
  for (let i = 0; i < words.length; i++) words[i] = next(); // little-endian host
  for (let i = words.length * 4, w = 0; i < size; i++) {
    if (i % 4 === 0) w = next();
    out[i] = (w >>> (8 * (i % 4))) & 0xff;
  }
  return out;
}

/** Frame `seq` of seed `seed`: size uniform in [min, max]. */
export function makeFrame(seed, seq, min, max) {
  const g = start(seed, seq);
  return fill(g.next, min + (g.draw % (max - min + 1)));
}

/**
 * Frame `seq` of seed `seed` with frame-gen.h's "edge" size for a frame whose
 * header goes to writePos of a ringSize-byte ring: one frame in eight each
 * ends exactly at the end, leaves a 1..15-byte tail, or does not fit before
 * the end; else uniform in [min, max].
 */
export function makeEdgeFrame(seed, seq, min, max, ringSize, writePos) {
  const g = start(seed, seq);
  const space = ringSize - writePos;
  const pick = g.draw >>> 8;
  let want = 0;
  switch (g.draw % 8) {
    case 0:
      if (space > 16) want = space - 16;
      break;
    case 1:
      if (space > 16 + 15) want = space - 16 - (1 + (pick % 15));
      break;
    case 2:
      if (space >= 15 && space - 15 <= max) {
        const lo = Math.max(space - 15, min);
        want = lo + (pick % (max - lo + 1));
      }
      break;
  }
  const size = want >= min && want <= max ? want : min + (g.draw % (max - min + 1));
  return fill(g.next, size);
}

/** FNV-1a over bytes, continuing from h (start with 2166136261). */
export function fnv1a(h, bytes) {
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 16777619) >>> 0;
  return h >>> 0;
}

/** FNV-1a over a size as 8 little-endian bytes (zb-peer's sizes= hash). */
export function fnv1aSize(h, size) {
  const le = new Uint8Array(8);
  new DataView(le.buffer).setBigUint64(0, BigInt(size), true);
  return fnv1a(h, le);
}

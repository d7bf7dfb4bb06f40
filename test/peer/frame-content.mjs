// The JS twin of test/peer/zb-peer.c's frame generator, for every Node
// writer and checker (jest helpers and fixtures, the soak): the size and the
// bytes of frame `seq` of stream `seed`, and the FNV-1a hash zb-peer prints.

/** Frame `seq` of seed `seed`: size in [min, max], xorshift32 bytes. */
export function makeFrame(seed, seq, min, max) {
  let x = (Math.imul(seed >>> 0, 2654435761) ^ Math.imul(seq >>> 0, 40503) ^ 0x9e3779b9) >>> 0;
  if (x === 0) x = 1;
  const next = () => {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    return x;
  };
  const size = min + (next() % (max - min + 1));
  const out = new Uint8Array(size);
  const words = new Uint32Array(out.buffer, 0, size >>> 2);
  for (let i = 0; i < words.length; i++) words[i] = next(); // little-endian host
  for (let i = words.length * 4, w = 0; i < size; i++) {
    if (i % 4 === 0) w = next();
    out[i] = (w >>> (8 * (i % 4))) & 0xff;
  }
  return out;
}

/** FNV-1a over bytes, continuing from h (start with 2166136261). */
export function fnv1a(h, bytes) {
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 16777619) >>> 0;
  return h >>> 0;
}

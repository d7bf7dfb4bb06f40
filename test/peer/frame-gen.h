/* frame-gen.h — the frames every test writer sends and every test reader
 * checks (C side; test/peer/frame-content.mjs is the JS twin).
 *
 * Frame `seq` of stream `seed`: xorshift32 seeded with
 * (seed * 2654435761) ^ (seq * 40503) ^ 0x9E3779B9 (0 -> 1). The first draw
 * picks the size, each later draw gives 4 bytes (little-endian). The bytes do
 * not depend on the size, so a reader can check a frame of any size a writer
 * chose (zb_gen_fill after zb_gen_start).
 *
 * Sizes: "uniform" is min + first % (max - min + 1). "edge" also looks at
 * where the frame would go (the writer's position in a ring of ring_size
 * bytes) and, one frame in eight each, picks the size that ends the frame
 * exactly at the end of the ring, leaves a 1..15-byte tail behind it, or
 * does not fit before the end (a wrap); else uniform. Sizes stay in
 * [min, max]. */
#ifndef ZB_FRAME_GEN_H
#define ZB_FRAME_GEN_H

#include <stdint.h>

typedef struct zb_gen {
  uint32_t x;
} zb_gen;

static inline uint32_t zb_gen_next(zb_gen *g) {
  g->x ^= g->x << 13;
  g->x ^= g->x >> 17;
  g->x ^= g->x << 5;
  return g->x;
}

/* Starts frame seq of seed; returns the first draw (the size draw). */
static inline uint32_t zb_gen_start(zb_gen *g, uint64_t seed, uint64_t seq) {
  g->x = ((uint32_t)seed * 2654435761u) ^ ((uint32_t)seq * 40503u) ^ 0x9E3779B9u;
  if (g->x == 0)
    g->x = 1;
  return zb_gen_next(g);
}

static inline void zb_gen_fill(zb_gen *g, uint8_t *buf, uint64_t size) {
  uint64_t i;
  uint32_t w = 0;
  for (i = 0; i < size; i++) {
    if (i % 4 == 0)
      w = zb_gen_next(g);
    buf[i] = (uint8_t)(w >> (8 * (i % 4)));
  }
}

static inline uint64_t zb_gen_uniform(uint32_t draw, uint64_t min, uint64_t max) {
  return min + draw % (max - min + 1);
}

/* The "edge" size for a frame whose header would go to write_pos. */
static inline uint64_t zb_gen_edge_size(uint32_t draw, uint64_t min,
                                        uint64_t max, uint64_t ring_size,
                                        uint64_t write_pos) {
  uint64_t space = ring_size - write_pos, want = 0;
  uint32_t pick = draw >> 8;
  switch (draw % 8) {
  case 0: /* exact end */
    if (space > 16)
      want = space - 16;
    break;
  case 1: /* a 1..15-byte tail behind the frame */
    if (space > 16 + 15)
      want = space - 16 - (1 + pick % 15);
    break;
  case 2: /* does not fit before the end */
    if (space >= 15 && space - 15 <= max) {
      uint64_t lo = space - 15 > min ? space - 15 : min;
      want = lo + pick % (max - lo + 1);
    }
    break;
  }
  if (want >= min && want <= max)
    return want;
  return zb_gen_uniform(draw, min, max);
}

/* FNV-1a 32, continuing from h (start with 2166136261). */
static inline uint32_t zb_fnv1a(uint32_t h, const uint8_t *p, uint64_t n) {
  uint64_t i;
  for (i = 0; i < n; i++) {
    h ^= p[i];
    h *= 16777619u;
  }
  return h;
}

#endif /* ZB_FRAME_GEN_H */

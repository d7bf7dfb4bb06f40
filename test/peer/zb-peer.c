/* zb-peer — a C writer or reader for other languages' interop tests.
 *
 *   zb-peer write NAME [--frames N] [--seed S] [--min A] [--max B]
 *                      [--metadata TEXT] [--timeout MS]
 *   zb-peer read NAME  [--frames N] [--seed S] [--min A] [--max B]
 *                      [--metadata-size M] [--payload-size P] [--timeout MS]
 *
 * Frames are made by a generator both sides (and the jest tests) share:
 * frame `seq` of seed S has a size in [A, B] and bytes from xorshift32
 * seeded with (S * 2654435761) ^ (seq * 40503) ^ 0x9E3779B9 (0 -> 1); the
 * first draw picks the size (A + x % (B - A + 1)), then each draw gives 4
 * bytes, little-endian.
 *
 * write connects to an existing ring, optionally writes the metadata, writes
 * N frames, detaches and prints "wrote N fnv1a=HEX".
 * read creates the ring, prints "ready NAME" (stdout, flushed), reads N
 * frames checking each against the generator (sequence 1..N, size, bytes),
 * waits for the end of stream and prints "read N fnv1a=HEX"; then closes the
 * ring. The hash is FNV-1a 32 over every frame's bytes in order.
 *
 * Exit status: 0 ok, 1 a core error (message on stderr), 2 usage,
 * 3 content or sequence mismatch, 4 end of stream before N frames.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zerobuffer.h"

typedef struct args {
  const char *mode, *name, *metadata;
  unsigned long long frames, seed, min, max, metadata_size, payload_size;
  int timeout_ms;
} args;

typedef struct gen {
  uint32_t x;
} gen;

static uint32_t gen_next(gen *g) {
  g->x ^= g->x << 13;
  g->x ^= g->x >> 17;
  g->x ^= g->x << 5;
  return g->x;
}

static void gen_init(gen *g, uint64_t seed, uint64_t seq) {
  g->x = ((uint32_t)seed * 2654435761u) ^ ((uint32_t)seq * 40503u) ^ 0x9E3779B9u;
  if (g->x == 0)
    g->x = 1;
}

/* Size of frame seq, then its bytes into buf (size bytes). */
static uint64_t frame_size(const args *a, uint64_t seq, gen *g) {
  gen_init(g, a->seed, seq);
  return a->min + gen_next(g) % (a->max - a->min + 1);
}

static void frame_fill(gen *g, uint8_t *buf, uint64_t size) {
  uint64_t i;
  uint32_t w = 0;
  for (i = 0; i < size; i++) {
    if (i % 4 == 0)
      w = gen_next(g);
    buf[i] = (uint8_t)(w >> (8 * (i % 4)));
  }
}

static uint32_t fnv1a(uint32_t h, const uint8_t *p, uint64_t n) {
  uint64_t i;
  for (i = 0; i < n; i++) {
    h ^= p[i];
    h *= 16777619u;
  }
  return h;
}

static int usage(void) {
  fprintf(stderr,
          "usage: zb-peer write NAME [--frames N] [--seed S] [--min A] [--max B] "
          "[--metadata TEXT] [--timeout MS]\n"
          "       zb-peer read NAME [--frames N] [--seed S] [--min A] [--max B] "
          "[--metadata-size M] [--payload-size P] [--timeout MS]\n");
  return 2;
}

static int core_error(const char *what, int rc) {
  fprintf(stderr, "zb-peer: %s: %s (%s)\n", what, zb_last_error(), zb_err_name(rc));
  return 1;
}

static int parse_args(int argc, char **argv, args *a) {
  int i;
  memset(a, 0, sizeof *a);
  a->frames = 100;
  a->seed = 1;
  a->min = 1;
  a->max = 4096;
  a->metadata_size = 4096;
  a->payload_size = 65536;
  a->timeout_ms = 10000;
  if (argc < 3)
    return -1;
  a->mode = argv[1];
  a->name = argv[2];
  for (i = 3; i < argc; i++) {
    const char *opt = argv[i];
    char *end;
    unsigned long long v;
    if (i + 1 >= argc)
      return -1;
    if (strcmp(opt, "--metadata") == 0) {
      a->metadata = argv[++i];
      continue;
    }
    v = strtoull(argv[++i], &end, 10);
    if (*end != '\0')
      return -1;
    if (strcmp(opt, "--frames") == 0)
      a->frames = v;
    else if (strcmp(opt, "--seed") == 0)
      a->seed = v;
    else if (strcmp(opt, "--min") == 0)
      a->min = v;
    else if (strcmp(opt, "--max") == 0)
      a->max = v;
    else if (strcmp(opt, "--metadata-size") == 0)
      a->metadata_size = v;
    else if (strcmp(opt, "--payload-size") == 0)
      a->payload_size = v;
    else if (strcmp(opt, "--timeout") == 0)
      a->timeout_ms = (int)v;
    else
      return -1;
  }
  if (a->min == 0 || a->max < a->min)
    return -1;
  return 0;
}

static int do_write(const args *a) {
  zb_writer *w = NULL;
  uint8_t *buf = malloc(a->max);
  uint32_t hash = 2166136261u;
  uint64_t seq;
  int rc, status = 0;
  gen g;

  if (buf == NULL)
    return 1;
  if ((rc = zb_writer_connect(&w, a->name)) < 0) {
    free(buf);
    return core_error("connect", rc);
  }
  if (a->metadata != NULL &&
      (rc = zb_writer_set_metadata(w, a->metadata, strlen(a->metadata))) < 0) {
    status = core_error("metadata", rc);
    goto out;
  }
  for (seq = 1; seq <= a->frames; seq++) {
    uint64_t size = frame_size(a, seq, &g);
    frame_fill(&g, buf, size);
    if ((rc = zb_writer_write(w, buf, size, a->timeout_ms)) < 0) {
      status = core_error("write", rc);
      goto out;
    }
    hash = fnv1a(hash, buf, size);
  }
  printf("wrote %llu fnv1a=%08x\n", (unsigned long long)a->frames, hash);
out:
  zb_writer_destroy(w);
  free(buf);
  return status;
}

static int do_read(const args *a) {
  zb_reader *r = NULL;
  uint8_t *want = malloc(a->max);
  uint32_t hash = 2166136261u;
  uint64_t seq;
  int rc, status = 0;
  zb_frame f;
  gen g;

  if (want == NULL)
    return 1;
  if ((rc = zb_reader_create(&r, a->name, a->metadata_size, a->payload_size, NULL)) < 0) {
    free(want);
    return core_error("create", rc);
  }
  printf("ready %s\n", a->name);
  fflush(stdout);
  for (seq = 1; seq <= a->frames; seq++) {
    uint64_t size = frame_size(a, seq, &g);
    rc = zb_reader_next(r, &f, a->timeout_ms);
    if (rc == ZB_EOF) {
      fprintf(stderr, "zb-peer: end of stream after %llu of %llu frames\n",
              (unsigned long long)(seq - 1), (unsigned long long)a->frames);
      status = 4;
      goto out;
    }
    if (rc < 0) {
      status = core_error("read", rc);
      goto out;
    }
    frame_fill(&g, want, size);
    if (f.sequence != seq || f.size != size || memcmp(f.data, want, size) != 0) {
      fprintf(stderr,
              "zb-peer: frame %llu: got sequence %llu, %llu bytes; expected "
              "%llu bytes%s\n",
              (unsigned long long)seq, (unsigned long long)f.sequence,
              (unsigned long long)f.size, (unsigned long long)size,
              f.size == size ? " (content differs)" : "");
      status = 3;
      goto out;
    }
    hash = fnv1a(hash, f.data, f.size);
    zb_frame_release(&f);
  }
  rc = zb_reader_next(r, &f, a->timeout_ms);
  if (rc == 0) {
    fprintf(stderr, "zb-peer: more than %llu frames\n", (unsigned long long)a->frames);
    status = 3;
    goto out;
  }
  if (rc != ZB_EOF) {
    status = core_error("end of stream", rc);
    goto out;
  }
  printf("read %llu fnv1a=%08x\n", (unsigned long long)a->frames, hash);
out:
  fflush(stdout);
  zb_reader_destroy(r);
  free(want);
  return status;
}

int main(int argc, char **argv) {
  args a;
  if (parse_args(argc, argv, &a) < 0)
    return usage();
  if (strcmp(a.mode, "write") == 0)
    return do_write(&a);
  if (strcmp(a.mode, "read") == 0)
    return do_read(&a);
  return usage();
}

/* fuzz_segment.c — libFuzzer target over what a reader and a writer see in
 * a segment: arbitrary OIEB fields, frame headers, metadata and ring bytes,
 * and our metadata conventions' scanner (zb_metadata.c) over the metadata.
 *
 * Input: up to SEGMENT_SIZE bytes laid over a real ring through the reader's
 * own mapping (our reader_pid is kept, everything else comes from the
 * input), then one byte per operation.
 * The segment is exactly one page, so a read past the ring faults instead of
 * going unnoticed; every pointer the core hands out is checked against the
 * blocks. Only error codes may come back: no crash, no hang (every call uses
 * timeout 0), no read outside the mapping.
 *
 * Built with -fsanitize=fuzzer (clang, meson -Dfuzzing=true), or linked with
 * replay_main.c to run a corpus as a plain test. */
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zb_test_hooks.h"
#include "zerobuffer.h"

#define METADATA_SIZE 192
#define PAYLOAD_SIZE 3776
#define SEGMENT_SIZE (128 + METADATA_SIZE + PAYLOAD_SIZE) /* 4096 */
#define READER_PID_OFFSET 0x58
#define MAX_HELD 8
#define MAX_OPS 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "fuzz_segment: %s\n", what);
    abort();
  }
}

/* Lays the input over the segment, keeping the live reader's pid. */
static void overlay(uint8_t *segment, const uint8_t *data, size_t size) {
  uint8_t reader_pid[8];
  memcpy(reader_pid, segment + READER_PID_OFFSET, sizeof reader_pid);
  memset(segment, 0, SEGMENT_SIZE);
  memcpy(segment, data, size < SEGMENT_SIZE ? size : SEGMENT_SIZE);
  memcpy(segment + READER_PID_OFFSET, reader_pid, sizeof reader_pid);
}

static void check_frame(const uint8_t *payload, const zb_frame *f) {
  check(f->size > 0 && f->data >= payload + 16 &&
            f->data + f->size <= payload + PAYLOAD_SIZE,
        "frame outside the payload ring");
  /* Touch every byte: a bad pointer faults here, under the sanitizer. */
  volatile uint8_t sum = 0;
  for (uint64_t i = 0; i < f->size; i++)
    sum ^= f->data[i];
  (void)sum;
}

typedef int (*detect_fn)(const uint8_t *, uint64_t);
typedef int (*declare_fn)(const uint8_t *, uint64_t, uint8_t *, uint64_t,
                          uint64_t *);

/* One of our metadata conventions over json (a buffer of exactly its size):
 * a declaration is then detected as version 1, leaves the other convention
 * as it was, and leaves metadata that declared version 1 unchanged. */
static void try_convention(const uint8_t *json, uint64_t size,
                           detect_fn detect, declare_fn declare,
                           detect_fn other) {
  int version = detect(json, size), other_version = other(json, size);
  uint64_t n;
  uint8_t *out;
  check(version >= 0 || version == ZB_EPROTO, "detection: unexpected code");
  if (declare(json, size, NULL, 0, &n) < 0)
    return;
  out = malloc(n);
  check(out != NULL, "out of memory");
  check(declare(json, size, out, n, &n) == 0, "declaring into its own size");
  check(detect(out, n) == 1, "a declaration not detected");
  check(other(out, n) == other_version, "a declaration changed the other");
  if (version == 1)
    check(n == size && memcmp(out, json, n) == 0,
          "declared already, but changed");
  free(out);
}

static void try_metadata(zb_reader *r, const uint8_t *segment) {
  const uint8_t *meta;
  uint64_t meta_size;
  uint8_t *copy;
  if (zb_reader_metadata(r, &meta, &meta_size) < 0 || meta_size == 0)
    return;
  check(meta >= segment + 128 + 8 &&
            meta + meta_size <= segment + 128 + METADATA_SIZE,
        "metadata outside its block");
  /* a copy of its exact size: a scanner reading past it is a heap overflow */
  copy = malloc(meta_size);
  check(copy != NULL, "out of memory");
  memcpy(copy, meta, meta_size);
  try_convention(copy, meta_size, zb_metadata_frame_header,
                 zb_metadata_declare_frame_header, zb_metadata_in_place);
  try_convention(copy, meta_size, zb_metadata_in_place,
                 zb_metadata_declare_in_place, zb_metadata_frame_header);
  free(copy);
}

/* A writer connecting to the fuzzed segment and writing one frame. */
static void try_writer(const char *name, uint8_t size_byte) {
  zb_writer *w;
  uint64_t frame_size = 1 + (uint64_t)size_byte * 16;
  if (zb_writer_connect(&w, name) < 0)
    return;
  zb_writer_set_metadata(w, "{}", 2);
  uint8_t frame[4096];
  memset(frame, size_byte, sizeof frame);
  zb_writer_write(w, frame, frame_size, 0);
  zb_writer_destroy(w);
}

/* A sem-w post, as a writer makes once per frame: with the writer's
 * position equal to the reader's, a full ring is told from an empty one by
 * such a post. */
static void post_frame(const char *name) {
  char sem_name[96];
  sem_t *sem;
  snprintf(sem_name, sizeof sem_name, "/sem-w-%s", name);
  sem = sem_open(sem_name, 0);
  if (sem != SEM_FAILED) {
    sem_post(sem);
    sem_close(sem);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char name[64];
  zb_frame held[MAX_HELD];
  size_t nheld = 0, i;
  const uint8_t *ops = size > SEGMENT_SIZE ? data + SEGMENT_SIZE : NULL;
  size_t nops = ops ? size - SEGMENT_SIZE : 0;
  zb_reader *r;
  zb_health h;
  uint8_t *segment;

  if (name[0] == '\0')
    snprintf(name, sizeof name, "zbfuzz-%d", (int)getpid());
  check(zb_reader_create(&r, name, METADATA_SIZE, PAYLOAD_SIZE, NULL) == 0,
        zb_last_error());
  segment = zb__reader_segment(r);
  overlay(segment, data, size);
  zb__reader_adopt_read_pos(r);

  zb_reader_health(r, &h);
  zb_health_read(name, &h);
  try_metadata(r, segment);
  if (nops == 0)
    nops = 64; /* no operations given: read and release everything */
  for (i = 0; i < nops && i < MAX_OPS; i++) {
    uint8_t op = ops ? ops[i] : 0;
    switch (op & 3) {
    case 0: /* next: hold the frame */
    case 1:
      if (nheld == MAX_HELD) {
        zb_frame_release(&held[0]);
        memmove(held, held + 1, --nheld * sizeof *held);
      }
      if (zb_reader_next(r, &held[nheld], 0) == 0)
        check_frame(segment + 128 + METADATA_SIZE, &held[nheld++]);
      break;
    case 2: /* release a held frame, any of them */
      if (nheld > 0) {
        size_t k = (op >> 2) % nheld;
        check(zb_frame_release(&held[k]) == 0, "release of a held frame failed");
        memmove(held + k, held + k + 1, (--nheld - k) * sizeof *held);
      }
      break;
    default:
      if (op & 4)
        try_writer(name, op >> 3);
      else if (op & 8)
        post_frame(name); /* what a writer does after each frame */
      else
        try_metadata(r, segment);
    }
  }
  while (nheld > 0)
    zb_frame_release(&held[--nheld]);
  zb_reader_destroy(r);
  return 0;
}

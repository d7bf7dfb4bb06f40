/* zb-peer — writers and readers for other languages' interop tests: ours
 * (the core) and ones that behave like the other implementations
 * (emulated.h).
 *
 *   zb-peer write|write-cpp|write-python NAME [--frames N] [--seed S]
 *           [--min A] [--max B] [--sizes uniform|edge] [--metadata TEXT]
 *           [--timeout MS]
 *   zb-peer read|read-cpp NAME [--frames N] [--seed S] [--min A] [--max B]
 *           [--sizes uniform|edge] [--metadata-size M] [--payload-size P]
 *           [--hold H] [--timeout MS]
 *   zb-peer check [--frames N] [--seed S] [--min A] [--max B]
 *           [--sizes uniform|edge]
 *   zb-peer fnv FILE
 *
 * write uses our writer, write-cpp and write-python the emulated C++ and
 * Python writers (wait only on sem-r, their wrap counting); read uses our
 * reader, read-cpp the emulated C++ reader (holds up to H frames).
 * Frames come from frame-gen.h: frame `seq` of seed S, its size uniform in
 * [A, B], or with --sizes edge chosen by the writer to end frames exactly
 * at the end of the ring, leave small tails and wrap; a reader then checks
 * the bytes of whatever size arrives.
 *
 * Writers connect to an existing ring, optionally write the metadata, write
 * N frames, detach and print
 *   wrote N fnv1a=HEX sizes=HEX markers=M small_tails=T exact_ends=E phantoms=P waits=W
 * (markers ... waits: what the emulated writers did; our writer prints its
 * markers and exact ends). Readers create the ring, print "ready NAME"
 * (flushed), read N frames checking each (sequence 1..N, size, bytes), wait
 * for the end of stream, print
 *   read N fnv1a=HEX sizes=HEX markers=M small_tails=T exact_ends=E
 * and close the ring. fnv1a hashes every frame's bytes in order, sizes every
 * frame's size (8 bytes, little-endian).
 *
 * check is the frame checker of readers in other languages (JS loops are
 * slow under jest): it reads records {u64 sequence, u64 size, bytes}
 * (little-endian) from stdin, checks each like read does and prints
 *   checked N fnv1a=HEX sizes=HEX
 * at the end of its input (exit 3 at the first bad frame, 4 when fewer than
 * N arrived). fnv prints the fnv1a of a file's bytes (a stream a reader wrote
 * out, to compare with the writer's).
 *
 * Exit status: 0 ok, 1 an error (message on stderr), 2 usage, 3 content or
 * sequence mismatch, 4 end of stream before N frames; the emulated peers'
 * own failures: 6 buffer full (timeout), 7 the Python writer's exact-end
 * failure, 8 sequence/size/content error, 9 a small tail the C++ reader
 * cannot read.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emulated.h"
#include "frame-gen.h"
#include "zerobuffer.h"

typedef struct args {
  const char *mode, *name, *metadata;
  unsigned long long frames, seed, min, max, metadata_size, payload_size, hold;
  int timeout_ms, edge;
} args;

static int usage(void) {
  fprintf(stderr,
          "usage: zb-peer write|write-cpp|write-python NAME [--frames N] [--seed S] "
          "[--min A] [--max B] [--sizes uniform|edge] [--metadata TEXT] [--timeout MS]\n"
          "       zb-peer read|read-cpp NAME [--frames N] [--seed S] [--min A] [--max B] "
          "[--sizes uniform|edge] [--metadata-size M] [--payload-size P] [--hold H] "
          "[--timeout MS]\n"
          "       zb-peer check [--frames N] [--seed S] [--min A] [--max B] "
          "[--sizes uniform|edge]\n"
          "       zb-peer fnv FILE\n");
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
    if (strcmp(opt, "--sizes") == 0) {
      const char *kind = argv[++i];
      if (strcmp(kind, "edge") != 0 && strcmp(kind, "uniform") != 0)
        return -1;
      a->edge = strcmp(kind, "edge") == 0;
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
    else if (strcmp(opt, "--hold") == 0)
      a->hold = v;
    else if (strcmp(opt, "--timeout") == 0)
      a->timeout_ms = (int)v;
    else
      return -1;
  }
  if (a->min == 0 || a->max < a->min)
    return -1;
  return 0;
}

static void print_stats(const char *verb, const emu_stats *s) {
  printf("%s %llu fnv1a=%08x sizes=%08x markers=%llu small_tails=%llu "
         "exact_ends=%llu phantoms=%llu waits=%llu\n",
         verb, (unsigned long long)s->frames, s->hash, s->sizes_hash,
         (unsigned long long)s->markers, (unsigned long long)s->small_tails,
         (unsigned long long)s->exact_ends, (unsigned long long)s->phantoms,
         (unsigned long long)s->waits);
}

static int do_write(const args *a) {
  zb_writer *w = NULL;
  uint8_t *buf = malloc(a->max);
  emu_stats s;
  uint64_t seq;
  int rc, status = 0;
  zb_health h;

  emu_stats_init(&s);
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
    uint64_t size, count_before;
    zb_gen g;
    uint32_t draw = zb_gen_start(&g, a->seed, seq);
    zb_writer_health(w, &h);
    count_before = h.written_count;
    size = a->edge ? zb_gen_edge_size(draw, a->min, a->max, h.payload_size, h.write_pos)
                   : zb_gen_uniform(draw, a->min, a->max);
    zb_gen_fill(&g, buf, size);
    if ((rc = zb_writer_write(w, buf, size, a->timeout_ms)) < 0) {
      status = core_error("write", rc);
      goto out;
    }
    zb_writer_health(w, &h);
    s.markers += h.written_count - count_before - 1;
    s.exact_ends += h.write_pos == h.payload_size;
    emu_stats_frame(&s, buf, size);
  }
  print_stats("wrote", &s);
out:
  zb_writer_destroy(w);
  free(buf);
  return status;
}

static int do_emulated_write(const args *a, emu_kind kind) {
  emu_write_opts o = {.kind = kind, .frames = a->frames, .seed = a->seed,
                      .min = a->min, .max = a->max, .edge_sizes = a->edge,
                      .metadata = a->metadata, .timeout_ms = a->timeout_ms};
  emu_stats s;
  char err[512];
  int rc = emu_write(a->name, &o, &s, err, sizeof err);
  if (rc != EMU_OK) {
    fprintf(stderr, "zb-peer: %s writer, after %llu frames: %s\n",
            kind == EMU_CPP ? "C++-like" : "Python-like",
            (unsigned long long)s.frames, err);
    return rc;
  }
  print_stats("wrote", &s);
  return 0;
}

/* Checks frame f against the generator; 0 or the exit status. */
static int check_frame(const args *a, uint64_t seq, const zb_frame *f, uint8_t *want) {
  zb_gen g;
  uint32_t draw = zb_gen_start(&g, a->seed, seq);
  uint64_t size = a->edge ? f->size : zb_gen_uniform(draw, a->min, a->max);
  if (f->sequence != seq || f->size != size || size > a->max) {
    fprintf(stderr, "zb-peer: frame %llu: got sequence %llu, %llu bytes; expected %llu bytes\n",
            (unsigned long long)seq, (unsigned long long)f->sequence,
            (unsigned long long)f->size, (unsigned long long)size);
    return 3;
  }
  zb_gen_fill(&g, want, size);
  if (memcmp(f->data, want, size) != 0) {
    fprintf(stderr, "zb-peer: frame %llu of %llu bytes: content differs\n",
            (unsigned long long)seq, (unsigned long long)size);
    return 3;
  }
  return 0;
}

static int do_read(const args *a) {
  zb_reader *r = NULL;
  uint8_t *want = malloc(a->max);
  emu_stats s;
  uint64_t seq;
  int rc, status = 0;
  zb_frame f;
  zb_health h;

  emu_stats_init(&s);
  if (want == NULL)
    return 1;
  if ((rc = zb_reader_create(&r, a->name, a->metadata_size, a->payload_size, NULL)) < 0) {
    free(want);
    return core_error("create", rc);
  }
  printf("ready %s\n", a->name);
  fflush(stdout);
  for (seq = 1; seq <= a->frames; seq++) {
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
    if ((status = check_frame(a, seq, &f, want)) != 0)
      goto out;
    emu_stats_frame(&s, f.data, f.size);
    zb_reader_health(r, &h);
    s.exact_ends += h.read_pos == h.payload_size;
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
  print_stats("read", &s);
out:
  fflush(stdout);
  zb_reader_destroy(r);
  free(want);
  return status;
}

static int do_check(const args *a) {
  uint8_t *data = malloc(a->max);
  uint8_t *want = malloc(a->max);
  uint64_t header[2], seq = 0;
  emu_stats s;
  int status = 0;

  emu_stats_init(&s);
  if (data == NULL || want == NULL) {
    status = 1;
    goto out;
  }
  while (fread(header, sizeof header, 1, stdin) == 1) {
    zb_frame f;
    seq++;
    if (header[1] == 0 || header[1] > a->max) {
      fprintf(stderr, "zb-peer: frame %llu: %llu bytes, more than --max %llu\n",
              (unsigned long long)seq, (unsigned long long)header[1],
              (unsigned long long)a->max);
      status = 3;
      goto out;
    }
    if (fread(data, header[1], 1, stdin) != 1) {
      fprintf(stderr, "zb-peer: frame %llu: input ends inside it\n", (unsigned long long)seq);
      status = 3;
      goto out;
    }
    f.data = data;
    f.size = header[1];
    f.sequence = header[0];
    if ((status = check_frame(a, seq, &f, want)) != 0)
      goto out;
    emu_stats_frame(&s, data, header[1]);
  }
  if (seq < a->frames) {
    fprintf(stderr, "zb-peer: %llu of %llu frames\n", (unsigned long long)seq,
            (unsigned long long)a->frames);
    status = 4;
    goto out;
  }
  printf("checked %llu fnv1a=%08x sizes=%08x\n", (unsigned long long)s.frames,
         s.hash, s.sizes_hash);
out:
  free(data);
  free(want);
  return status;
}

static void announce(const char *name, void *user) {
  (void)user;
  printf("ready %s\n", name);
  fflush(stdout);
}

static int do_emulated_read(const args *a) {
  emu_read_opts o = {.frames = a->frames, .seed = a->seed,
                     .metadata_size = a->metadata_size,
                     .payload_size = a->payload_size,
                     .max_held = (unsigned)a->hold,
                     .timeout_ms = a->timeout_ms, .ready = announce,
                     .tail_mode = EMU_TAIL_FAIL};
  emu_stats s;
  char err[512];
  int rc = emu_read_cpp(a->name, &o, &s, err, sizeof err);
  if (rc != EMU_OK) {
    fprintf(stderr, "zb-peer: C++-like reader, after %llu frames: %s\n",
            (unsigned long long)s.frames, err);
    return rc;
  }
  print_stats("read", &s);
  return 0;
}

static int do_fnv(const char *path) {
  uint8_t buf[1 << 16];
  uint32_t hash = 2166136261u;
  size_t n;
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    perror(path);
    return 1;
  }
  while ((n = fread(buf, 1, sizeof buf, f)) > 0)
    hash = zb_fnv1a(hash, buf, n);
  fclose(f);
  printf("fnv1a=%08x\n", hash);
  return 0;
}

int main(int argc, char **argv) {
  args a;
  if (argc == 3 && strcmp(argv[1], "fnv") == 0)
    return do_fnv(argv[2]);
  if (argc >= 2 && strcmp(argv[1], "check") == 0) {
    /* no ring: parse the options as if one were named */
    char *with_name[64];
    int i;
    if (argc > 62)
      return usage();
    with_name[0] = argv[0];
    with_name[1] = argv[1];
    with_name[2] = "-";
    for (i = 2; i < argc; i++)
      with_name[i + 1] = argv[i];
    if (parse_args(argc + 1, with_name, &a) < 0)
      return usage();
    return do_check(&a);
  }
  if (parse_args(argc, argv, &a) < 0)
    return usage();
  if (strcmp(a.mode, "write") == 0)
    return do_write(&a);
  if (strcmp(a.mode, "write-cpp") == 0)
    return do_emulated_write(&a, EMU_CPP);
  if (strcmp(a.mode, "write-python") == 0)
    return do_emulated_write(&a, EMU_PYTHON);
  if (strcmp(a.mode, "read") == 0)
    return do_read(&a);
  if (strcmp(a.mode, "read-cpp") == 0)
    return do_emulated_read(&a);
  return usage();
}

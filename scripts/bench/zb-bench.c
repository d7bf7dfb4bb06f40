/* zb-bench — the C side of the benchmarks (built by scripts/bench/c-build.mjs
 * with plain `cc`, not meson: the benchmark is not part of the product build).
 *
 *   zb-bench memcpy SIZE SECONDS
 *       memcpy bandwidth between two pre-faulted buffers of SIZE bytes.
 *   zb-bench pair ring|pipe|uds SIZE [--seconds S | --frames N] [--rate HZ]
 *                [--ring-bytes B]
 *       forks: the child writes, the parent reads (two processes). The ring
 *       holds 4 frames, at least 1 MiB (room to overlap the two sides), or
 *       B bytes.
 *   zb-bench write ring|uds TARGET SIZE [--seconds S | --frames N] [--rate HZ]
 *       a writer alone, for a Node reader (TARGET: ring name or socket path).
 *
 * Every frame is the core's 48-byte frame header (commit_ns stamped just
 * before the commit / the write) followed by SIZE bytes the writer really
 * fills (memset to the sequence's low byte), so nothing can be skipped. The
 * reader takes its clock as soon as it has the frame, then reads one byte per
 * 4 KiB page and checks the first one. Both sides report CPU seconds over the
 * window from the ring's first lap on (WARM_FRAMES; getrusage) and VmHWM; `pair` prints one
 * JSON line with both, `write` prints its JSON line on stderr.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "measure.h"

#include "zerobuffer.h"

#define PAGE 4096
#define HDR ZB_EXT_HEADER_SIZE

typedef struct opts {
  const char *transport, *target;
  uint64_t size, frames; /* frames 0: run for `seconds` */
  double seconds, rate;  /* rate 0: flat out */
  uint64_t ring_bytes;   /* 0: ring_size() */
} opts;

/* The first lap of the pair's 4-frame ring maps each slot's pages: a
 * one-time cost, not a frame's (a 0.4-s run of 32 MiB frames is ~100
 * frames, and a writer that cycles through 3 slots paid 3 slots' first
 * touches in them). Rates and CPU per frame count from the end of frame
 * WARM_FRAMES on when the run had enough frames after it, else from the end
 * of the first frame, for both sides and every transport alike. */
#define WARM_FRAMES 4

/* What one side measured; the writer's copy lives in shared memory in pair. */
typedef struct side {
  uint64_t frames, bytes, last_ns;
  uint64_t open_ns[2];  /* at the end of frame 0 and of frame WARM_FRAMES */
  double open_cpu[2];
  uint64_t first_ns, counted; /* the window: from, and frames in it */
  double cpu_s;
  long hwm_kb;
  int error;
  char message[200];
} side;

/* Frame INDEX was handled: a window may open here. */
static void open_window(side *s, uint64_t index) {
  if (index == 0 || index == WARM_FRAMES) {
    s->open_ns[index != 0] = zb_now_ns();
    s->open_cpu[index != 0] = cpu_now();
  }
}

static void close_window(side *s) {
  int warm = s->frames > 3 * WARM_FRAMES;
  s->first_ns = s->open_ns[warm];
  s->cpu_s = cpu_now() - s->open_cpu[warm];
  s->counted = s->frames > 1 ? s->frames - 1 - (warm ? WARM_FRAMES : 0) : 0;
}

static void fail(side *s, int code, const char *what) {
  s->error = code;
  snprintf(s->message, sizeof s->message, "%s: %s", what,
           code < 0 ? zb_last_error() : strerror(code));
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* ------------------------------------------------------------- memcpy */

/* Both buffers in one page-aligned block, b 2048 bytes past a page boundary
 * after a: glibc's memcpy (2.36) copies 2-1024 KiB with `rep movsb`, which
 * on this AMD EPYC runs at ~2 GB/s instead of ~45 when (b - a) mod 4096 is
 * a few bytes (two malloc'd buffers: 16), as glibc bug 30994 describes. The
 * reference is what the memory system can move, not that corner. */
static int run_memcpy(uint64_t size, double seconds) {
  uint64_t span = (size + 4095) / 4096 * 4096 + 2048;
  uint8_t *block = aligned_alloc(4096, (span + size + 4095) / 4096 * 4096);
  uint8_t *a = block, *b = block + span;
  uint64_t n = 0, t0, t;
  if (block == NULL)
    return 1;
  memset(a, 1, size); /* fault both in: we measure copying, not page faults */
  memset(b, 2, size);
  t0 = zb_now_ns();
  do {
    for (int i = 0; i < 8; i++, n++) {
      a[n % size] = (uint8_t)n; /* a dependency so the copy is not hoisted */
      memcpy(b, a, size);
    }
    t = zb_now_ns();
  } while (t - t0 < seconds * 1e9);
  printf("{\"size\":%" PRIu64 ",\"copies\":%" PRIu64 ",\"gbps\":%.3f,\"check\":%d}\n",
         size, n, (double)size * n / (t - t0), b[size / 2]);
  free(block);
  return 0;
}

/* ------------------------------------------------------------- writer */

/* Sleeps until frame i's slot at a steady rate (absolute deadlines, no drift). */
static void pace(const opts *o, uint64_t start_ns, uint64_t i) {
  if (o->rate <= 0)
    return;
  uint64_t due = start_ns + (uint64_t)(i * (1e9 / o->rate));
  struct timespec ts = {(time_t)(due / 1000000000u), (long)(due % 1000000000u)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
}

static int more(const opts *o, uint64_t i, uint64_t start_ns) {
  if (o->frames > 0)
    return i < o->frames;
  /* at least a few frames, so even a short run of huge frames has a rate */
  return i < 4 || zb_now_ns() - start_ns < o->seconds * 1e9;
}

/* Fills a frame: its header last, so commit_ns is as late as possible. */
static void produce(uint8_t *frame, uint64_t size, uint64_t seq) {
  zb_frame_ext ext = {ZB_EXT_NONE, ZB_EXT_NONE, ZB_EXT_NONE, 0, 0, 0, NULL, 0, NULL, 0};
  memset(frame + HDR, (int)(seq & 0xff), size);
  zb_frame_ext_write(frame, &ext);
}

static int write_all(int fd, const uint8_t *p, uint64_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return errno ? errno : EIO;
    p += w;
    n -= (uint64_t)w;
  }
  return 0;
}

static void writer_ring(const opts *o, zb_writer *w, side *s) {
  uint64_t start = zb_now_ns(), i = 0;
  for (; more(o, i, start); i++) {
    zb_reservation p;
    int rc;
    pace(o, start, i);
    if ((rc = zb_writer_reserve(w, HDR + o->size, &p, 10000)) < 0)
      { fail(s, rc, "reserve"); return; }
    produce(p.data, o->size, i + 1);
    if ((rc = zb_reservation_commit(&p, HDR + o->size)) < 0)
      { fail(s, rc, "commit"); return; }
    open_window(s, i);
  }
  s->frames = i;
  s->bytes = i * o->size;
  s->last_ns = zb_now_ns();
  close_window(s);
}

static void writer_stream(const opts *o, int fd, side *s) {
  uint8_t *buf = malloc(HDR + o->size);
  uint64_t start = zb_now_ns(), i = 0;
  int rc;
  if (buf == NULL)
    { fail(s, ENOMEM, "malloc"); return; }
  for (; more(o, i, start); i++) {
    pace(o, start, i);
    produce(buf, o->size, i + 1);
    if ((rc = write_all(fd, buf, HDR + o->size)) != 0) {
      fail(s, rc, "write");
      break;
    }
    open_window(s, i);
  }
  s->frames = i;
  s->bytes = i * o->size;
  s->last_ns = zb_now_ns();
  close_window(s);
  free(buf);
}

/* ------------------------------------------------------------- reader */

typedef struct lat {
  uint64_t *v;
  uint64_t n, cap;
} lat;

static void lat_add(lat *l, uint64_t ns) {
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 4096;
    l->v = realloc(l->v, l->cap * sizeof *l->v);
  }
  l->v[l->n++] = ns;
}

static uint64_t pct(const lat *l, double p) {
  if (l->n == 0)
    return 0;
  uint64_t i = (uint64_t)(p * (l->n - 1) + 0.5);
  return l->v[i];
}

/* One byte per page, so every page of the frame is really read. */
static unsigned touch(const uint8_t *p, uint64_t n) {
  unsigned sum = 0;
  for (uint64_t i = 0; i < n; i += PAGE)
    sum += p[i];
  return sum + p[n - 1];
}

/* Bookkeeping for one received frame; false when its content is wrong. */
static int receive(side *s, lat *l, const uint8_t *frame, uint64_t got, uint64_t size,
                   uint64_t now, volatile unsigned *sink) {
  zb_frame_ext ext;
  if (got != HDR + size || zb_frame_ext_parse(frame, got, &ext) < 0 ||
      frame[HDR] != (uint8_t)(s->frames + 1)) {
    fail(s, EPROTO, "frame content");
    return 0;
  }
  lat_add(l, now - ext.commit_ns);
  *sink += touch(frame + HDR, size);
  open_window(s, s->frames);
  s->frames++;
  s->bytes += size;
  s->last_ns = now;
  return 1;
}

static void reader_ring(const opts *o, zb_reader *r, side *s, lat *l) {
  volatile unsigned sink = 0;
  for (;;) {
    zb_frame f;
    int rc = zb_reader_next(r, &f, 20000);
    uint64_t now = zb_now_ns();
    if (rc == ZB_EOF)
      break;
    if (rc < 0)
      { fail(s, rc, "next"); return; }
    int ok = receive(s, l, f.data, f.size, o->size, now, &sink);
    zb_frame_release(&f);
    if (!ok)
      return;
  }
  close_window(s);
}

static void reader_stream(const opts *o, int fd, side *s, lat *l) {
  volatile unsigned sink = 0;
  uint64_t need = HDR + o->size;
  uint8_t *buf = malloc(need);
  if (buf == NULL)
    { fail(s, ENOMEM, "malloc"); return; }
  for (;;) {
    uint64_t got = 0;
    while (got < need) {
      ssize_t n = read(fd, buf + got, need - got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0) {
        fail(s, errno, "read");
        goto out;
      }
      if (n == 0)
        goto out; /* end of stream (mid-frame would be a short last frame) */
      got += (uint64_t)n;
    }
    if (!receive(s, l, buf, got, o->size, zb_now_ns(), &sink))
      goto out;
  }
out:
  close_window(s);
  free(buf);
}

/* ------------------------------------------------------------- output */

static void print_side(const char *name, const side *s, uint64_t size) {
  double secs = s->counted > 0 ? (s->last_ns - s->first_ns) / 1e9 : 0;
  printf("\"%s\":{\"frames\":%" PRIu64 ",\"seconds\":%.6f,\"fps\":%.3f,\"gbps\":%.4f,"
         "\"cpuPerFrame\":%.9f,\"hwmKb\":%ld,\"error\":\"%s\"}",
         name, s->frames, secs, secs > 0 ? s->counted / secs : 0,
         secs > 0 ? (double)s->counted * size / secs / 1e9 : 0,
         s->counted > 0 ? s->cpu_s / s->counted : 0, s->hwm_kb, s->error ? s->message : "");
}

static void print_lat(lat *l) {
  /* Arrival order, for the caller to pool rounds and drop warm-up frames. */
  if (l->n <= 100000) {
    printf("\"samples\":[");
    for (uint64_t i = 0; i < l->n; i++)
      printf(i ? ",%" PRIu64 : "%" PRIu64, l->v[i]);
    printf("],");
  }
  qsort(l->v, l->n, sizeof *l->v, cmp_u64);
  printf("\"latency\":{\"n\":%" PRIu64 ",\"p50\":%" PRIu64 ",\"p99\":%" PRIu64
         ",\"p999\":%" PRIu64 ",\"max\":%" PRIu64 "}",
         l->n, pct(l, 0.5), pct(l, 0.99), pct(l, 0.999), l->n ? l->v[l->n - 1] : 0);
}

/* ------------------------------------------------------------- modes */

/* The ring holds 4 frames, at least 1 MiB: room to overlap the two sides. */
static uint64_t ring_size(const opts *o) {
  uint64_t four = zb_payload_size_for(HDR + o->size, 4, false);
  if (o->ring_bytes != 0)
    return o->ring_bytes;
  return four < (1u << 20) ? (1u << 20) : four;
}

static const char META[] = "{\"caps\":\"application/octet-stream\",\"zerobuffer\":{\"frame_header\":1}}";

static int run_pair(const opts *o) {
  side *ws = mmap(NULL, sizeof *ws, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  side rs = {0};
  lat l = {0};
  zb_reader *reader = NULL;
  int fds[2] = {-1, -1}, status = 0, ring = strcmp(o->transport, "ring") == 0;
  char name[64];
  struct rusage ru;
  pid_t pid;

  if (ws == MAP_FAILED)
    return 1;
  memset(ws, 0, sizeof *ws);
  snprintf(name, sizeof name, "zbbench-%d", (int)getpid());
  if (ring) {
    int rc = zb_reader_create(&reader, name, 4096, ring_size(o), NULL);
    if (rc < 0) {
      fprintf(stderr, "zb-bench: %s\n", zb_last_error());
      return 1;
    }
  } else if (strcmp(o->transport, "pipe") == 0 ? pipe(fds)
                                                : socketpair(AF_UNIX, SOCK_STREAM, 0, fds)) {
    perror("zb-bench");
    return 1;
  }
  pid = fork();
  if (pid == 0) { /* writer */
    if (ring) {
      zb_writer *w = NULL;
      int rc = zb_writer_connect(&w, name);
      if (rc == 0 && (rc = zb_writer_set_metadata(w, META, sizeof META - 1)) == 0)
        writer_ring(o, w, ws);
      else
        fail(ws, rc, "connect");
      zb_writer_destroy(w);
    } else {
      close(fds[0]);
      writer_stream(o, fds[1], ws);
      close(fds[1]);
    }
    ws->hwm_kb = vm_hwm_kb();
    _exit(0);
  }
  if (ring) {
    reader_ring(o, reader, &rs, &l);
  } else {
    close(fds[1]);
    reader_stream(o, fds[0], &rs, &l);
    close(fds[0]);
  }
  rs.hwm_kb = vm_hwm_kb();
  if (rs.error && pid > 0)
    kill(pid, SIGTERM);
  wait4(pid, &status, 0, &ru);
  zb_reader_destroy(reader);
  printf("{\"transport\":\"%s\",\"size\":%" PRIu64 ",", o->transport, o->size);
  print_side("writer", ws, o->size);
  printf(",");
  print_side("reader", &rs, o->size);
  printf(",");
  print_lat(&l);
  printf("}\n");
  return rs.error || ws->error || rs.frames != ws->frames;
}

static int run_write(const opts *o) {
  side s = {0};
  if (strcmp(o->transport, "ring") == 0) {
    zb_writer *w = NULL;
    int rc = zb_writer_connect(&w, o->target);
    if (rc == 0 && (rc = zb_writer_set_metadata(w, META, sizeof META - 1)) == 0)
      writer_ring(o, w, &s);
    else
      fail(&s, rc, "connect");
    zb_writer_destroy(w);
  } else {
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", o->target);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
      fail(&s, errno, "connect");
    else
      writer_stream(o, fd, &s);
    close(fd);
  }
  s.hwm_kb = vm_hwm_kb();
  /* stdout stays free for a transport; the report goes to stderr. */
  fflush(stdout);
  int saved = dup(1);
  dup2(2, 1);
  printf("{");
  print_side("writer", &s, o->size);
  printf("}\n");
  fflush(stdout);
  dup2(saved, 1);
  return s.error != 0;
}

static int usage(void) {
  fprintf(stderr, "usage: zb-bench memcpy SIZE SECONDS\n"
                  "       zb-bench pair ring|pipe|uds SIZE [--seconds S|--frames N] [--rate HZ] [--ring-bytes B]\n"
                  "       zb-bench write ring|uds TARGET SIZE [--seconds S|--frames N] [--rate HZ]\n");
  return 2;
}

int main(int argc, char **argv) {
  opts o = {0};
  int i;
  signal(SIGPIPE, SIG_IGN); /* a reader that quits is an error code, not a kill */
  if (argc == 4 && strcmp(argv[1], "memcpy") == 0)
    return run_memcpy(strtoull(argv[2], NULL, 0), atof(argv[3]));
  if (argc < 4)
    return usage();
  o.transport = argv[2];
  o.seconds = 1;
  i = 3;
  if (strcmp(argv[1], "write") == 0)
    o.target = argv[i++];
  else if (strcmp(argv[1], "pair") != 0)
    return usage();
  if (i >= argc || (o.size = strtoull(argv[i++], NULL, 0)) == 0)
    return usage();
  for (; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--seconds") == 0)
      o.seconds = atof(argv[i + 1]);
    else if (strcmp(argv[i], "--frames") == 0)
      o.frames = strtoull(argv[i + 1], NULL, 0);
    else if (strcmp(argv[i], "--rate") == 0)
      o.rate = atof(argv[i + 1]);
    else if (strcmp(argv[i], "--ring-bytes") == 0)
      o.ring_bytes = strtoull(argv[i + 1], NULL, 0);
    else
      return usage();
  }
  if (i != argc)
    return usage();
  return strcmp(argv[1], "pair") == 0 ? run_pair(&o) : run_write(&o);
}

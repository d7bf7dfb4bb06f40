/* test_handles.c — the core's handles: reservations (several in flight,
 * committed and cancelled in any order and from any thread, published in
 * ring order), frame leases (their own release, the mapping kept while one
 * is held, poisoning (not of a ring with in-place answers), zero pages
 * after close (read-only under vm.overcommit_memory=2), unmapped once
 * their grace is over), the metadata and sizing conventions, and the reader's backlog in
 * the health snapshot; writer holds (zb_reservation_commit_hold): held
 * bytes are never written over, also after the reader released them and
 * while the writer laps the ring; holds end in any order and wake a waiting
 * reserve at once; a reserve that holds block times out saying so; a hold
 * outlives zb_writer_destroy; a frame moved down over a cancelled
 * reservation's gap is held where it was published; writes into a
 * reservation abandoned by zb_writer_destroy reach no next writer's frame. */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zb_oieb.h"
#include "zb_ring.h"
#include "zb_test.h"
#include "zb_test_hooks.h"

/* ---------------------------------------------------------------- helpers */

static uint8_t pattern(uint64_t key, uint64_t i) {
  return (uint8_t)((i * 131 + key * 29 + (i >> 8)) & 0xFF);
}

static void fill(uint8_t *p, uint64_t size, uint64_t key) {
  uint64_t i;
  for (i = 0; i < size; i++)
    p[i] = pattern(key, i);
}

static int holds(const zb_frame *f, uint64_t size, uint64_t key) {
  uint64_t i;
  if (f->size != size)
    return 0;
  for (i = 0; i < size; i++)
    if (f->data[i] != pattern(key, i))
      return 0;
  return 1;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

typedef struct pair {
  char name[96];
  zb_reader *r;
  zb_writer *w;
} pair;

static int pair_open(pair *p, const char *tag, uint64_t payload,
                     const zb_reader_options *opts) {
  memset(p, 0, sizeof *p);
  snprintf(p->name, sizeof p->name, "%s", zb_test_name(tag));
  CHECK_RC(zb_reader_create(&p->r, p->name, 64, payload, opts), 0);
  CHECK_RC(zb_writer_connect(&p->w, p->name), 0);
  return p->r != NULL && p->w != NULL ? 0 : -1;
}

static void pair_close(pair *p) {
  zb_writer_destroy(p->w);
  zb_reader_destroy(p->r);
  CHECK(zb_test_ring_gone(p->name));
  zb_test_remove_ring(p->name);
}

/* Reads the next frame and checks it holds `size` bytes of `key`. */
#define EXPECT_FRAME(r, size, key, seq)                                        \
  do {                                                                         \
    zb_frame f_;                                                               \
    CHECK_RC(zb_reader_next((r), &f_, 1000), 0);                               \
    CHECK(holds(&f_, (size), (key)));                                          \
    CHECK_EQ_U64(f_.sequence, (seq));                                          \
    CHECK_RC(zb_frame_release(&f_), 0);                                        \
  } while (0)

/* ----------------------------------------------------------- reservations */

/* Committed in reverse order, visible in the order reserved. */
static void test_published_in_ring_order(void) {
  pair p;
  zb_reservation res[3];
  zb_frame f;
  int i;
  if (pair_open(&p, "order", 1024, NULL) == 0) {
    for (i = 0; i < 3; i++) {
      CHECK_RC(zb_writer_reserve(p.w, 100, &res[i], 0), 0);
      CHECK(res[i].writer == p.w);
      CHECK_EQ_U64(res[i].size, 100);
    }
    CHECK(res[1].data == res[0].data + 116 && res[2].data == res[1].data + 116);
    for (i = 2; i >= 0; i--)
      fill(res[i].data, 100, (uint64_t)i + 10);
    CHECK_RC(zb_reservation_commit(&res[2], 100), 0);
    CHECK(res[2].writer == NULL);
    CHECK_RC(zb_reservation_commit(&res[1], 100), 0);
    CHECK_RC(zb_reader_next(p.r, &f, 0), ZB_EAGAIN); /* the first is open */
    CHECK_RC(zb_reservation_commit(&res[0], 100), 0);
    for (i = 0; i < 3; i++)
      EXPECT_FRAME(p.r, 100, (uint64_t)i + 10, (uint64_t)i + 1);
    CHECK_RC(zb_reservation_commit(&res[0], 100), ZB_ESTATE); /* ended */
  }
  pair_close(&p);
}

/* Cancelling an earlier reservation leaves the later ones valid: they are
 * published where it was, and the ring's accounting stays exact. */
static void test_cancel_earlier(void) {
  pair p;
  zb_reservation a, b, c, d;
  zb_health h;
  if (pair_open(&p, "cancel", 1024, NULL) == 0) {
    CHECK_RC(zb_writer_reserve(p.w, 100, &a, 0), 0);
    CHECK_RC(zb_writer_reserve(p.w, 100, &b, 0), 0);
    CHECK_RC(zb_writer_reserve(p.w, 100, &c, 0), 0);
    CHECK_EQ_U64(zb_writer_open_reservations(p.w), 3);
    fill(b.data, 100, 2);
    fill(c.data, 100, 3);
    zb_reservation_cancel(&a);
    CHECK(a.writer == NULL);
    CHECK_RC(zb_reservation_commit(&c, 100), 0);
    CHECK_EQ_U64(zb_writer_open_reservations(p.w), 1); /* c waits for b */
    CHECK_RC(zb_reservation_commit(&b, 100), 0);
    CHECK_EQ_U64(zb_writer_open_reservations(p.w), 0);
    CHECK_EQ_U64(zb_writer_open_reservations(NULL), 0);
    CHECK_RC(zb_reader_health(p.r, &h), 0);
    CHECK_EQ_U64(h.write_pos, 232); /* the gap is closed */
    CHECK_EQ_U64(h.written_count, 2);
    CHECK_EQ_U64(h.payload_free_bytes, 1024 - 232);
    EXPECT_FRAME(p.r, 100, 2, 1);
    EXPECT_FRAME(p.r, 100, 3, 2);
    /* The queue emptied: the next reservation follows the published ones. */
    CHECK_RC(zb_writer_reserve(p.w, 50, &d, 0), 0);
    fill(d.data, 50, 4);
    CHECK_RC(zb_reservation_commit(&d, 50), 0);
    EXPECT_FRAME(p.r, 50, 4, 3);
    CHECK_RC(zb_reader_health(p.r, &h), 0);
    CHECK_EQ_U64(h.write_pos, 232 + 66);
    CHECK_EQ_U64(h.payload_free_bytes, 1024);

    /* Cancelling the last one gives its room back at once; a shrunk
     * commit in the middle leaves a gap that the next frame closes. */
    CHECK_RC(zb_writer_reserve(p.w, 200, &a, 0), 0);
    CHECK_RC(zb_writer_reserve(p.w, 200, &b, 0), 0);
    zb_reservation_cancel(&b);
    CHECK_RC(zb_writer_reserve(p.w, 200, &c, 0), 0);
    CHECK(c.data == a.data + 216);
    fill(a.data, 150, 5);
    fill(c.data, 200, 6);
    CHECK_RC(zb_reservation_commit(&a, 150), 0);
    CHECK_RC(zb_reservation_commit(&c, 200), 0);
    EXPECT_FRAME(p.r, 150, 5, 4);
    EXPECT_FRAME(p.r, 200, 6, 5);
    CHECK_RC(zb_reader_health(p.r, &h), 0);
    CHECK_EQ_U64(h.write_pos, 298 + 166 + 216);
    CHECK_EQ_U64(h.payload_free_bytes, 1024);
  }
  pair_close(&p);
}

/* Random reserve / fill / commit / cancel in random order over many laps
 * of a small ring, with and without the early wrap, and a reader that
 * checks every frame: every committed frame arrives once, intact, in
 * reservation order; the free space comes back exactly. */
enum { OPEN, COMMITTED, CANCELLED };
typedef struct tracked {
  zb_reservation res;
  uint64_t key, size, committed;
  int state;
} tracked;

static void drain(pair *p, tracked *expect, size_t *nexpect, uint64_t *seq,
                  uint64_t *frames) {
  zb_frame f;
  while (*nexpect > 0 && zb_reader_next(p->r, &f, 0) == 0) {
    CHECK(holds(&f, expect[0].committed, expect[0].key));
    CHECK_EQ_U64(f.sequence, ++*seq);
    CHECK_RC(zb_frame_release(&f), 0);
    ++*frames;
    memmove(&expect[0], &expect[1], (*nexpect - 1) * sizeof expect[0]);
    --*nexpect;
  }
}

static void test_random_order(void) {
  enum { ROUNDS = 4000, MAX_OPEN = 4 };
  pair p;
  tracked open[MAX_OPEN], expect[64];
  size_t nopen, nexpect;
  uint64_t next_key = 1, seq, frames = 0, round;
  zb_health h;
  zb_frame f;
  int early;

  for (early = 0; early <= 1; early++) {
    if (pair_open(&p, early ? "randomearly" : "random", 1600, NULL) != 0) {
      pair_close(&p);
      return;
    }
    zb__writer_set_wrap_early(p.w, early);
    seq = 0;
    nexpect = nopen = 0;
    for (round = 0; round < ROUNDS; round++) {
      uint64_t op = rnd() % 10;
      if (op < 4 && nopen < MAX_OPEN) {
        tracked *t = &open[nopen];
        t->size = 1 + rnd() % 300;
        if (zb_writer_reserve(p.w, t->size, &t->res, 0) == 0) {
          t->key = next_key++;
          t->state = OPEN;
          fill(t->res.data, t->size, t->key);
          nopen++;
        }
      } else if (op < 8 && nopen > 0) {
        tracked *t = &open[rnd() % nopen];
        if (t->state == OPEN && rnd() % 4 == 0) {
          zb_reservation_cancel(&t->res);
          t->state = CANCELLED;
        } else if (t->state == OPEN) {
          t->committed = rnd() % 5 == 0 ? 1 + rnd() % t->size : t->size;
          CHECK_RC(zb_reservation_commit(&t->res, t->committed), 0);
          t->state = COMMITTED;
        }
        while (nopen > 0 && open[0].state != OPEN) {
          if (open[0].state == COMMITTED)
            expect[nexpect++] = open[0];
          memmove(&open[0], &open[1], (nopen - 1) * sizeof open[0]);
          nopen--;
        }
      } else {
        drain(&p, expect, &nexpect, &seq, &frames);
      }
    }
    while (nopen > 0) {
      if (open[0].state == OPEN)
        zb_reservation_cancel(&open[0].res);
      else if (open[0].state == COMMITTED)
        expect[nexpect++] = open[0];
      memmove(&open[0], &open[1], (nopen - 1) * sizeof open[0]);
      nopen--;
    }
    drain(&p, expect, &nexpect, &seq, &frames);
    CHECK_EQ_U64(nexpect, 0);
    CHECK_RC(zb_reader_next(p.r, &f, 0), ZB_EAGAIN);
    CHECK_RC(zb_reader_health(p.r, &h), 0);
    CHECK_EQ_U64(h.payload_free_bytes, 1600);
    pair_close(&p);
  }
  CHECK(frames > 1000);
}

/* Threads that reserve, fill and commit concurrently on one writer; a
 * reader checks every frame and that each thread's frames keep its order. */
enum { THREADS = 4, PER_THREAD = 400 };

typedef struct filler {
  zb_writer *w;
  int id;
  int failures;
} filler;

static void *fill_frames(void *arg) {
  filler *f = arg;
  uint64_t i;
  for (i = 0; i < PER_THREAD; i++) {
    zb_reservation res;
    uint64_t size = 8 + (i * 37 + (uint64_t)f->id * 11) % 500;
    if (zb_writer_reserve(f->w, size, &res, 10000) != 0) {
      f->failures++;
      return NULL;
    }
    fill(res.data, size, (uint64_t)f->id << 32 | i);
    memcpy(res.data, &(uint32_t){(uint32_t)f->id}, 4);
    memcpy(res.data + 4, &(uint32_t){(uint32_t)i}, 4);
    if (zb_reservation_commit(&res, size) != 0)
      f->failures++;
  }
  return NULL;
}

static void test_threads(void) {
  pair p;
  pthread_t t[THREADS];
  filler f[THREADS];
  uint32_t next[THREADS] = {0};
  uint64_t frames = 0;
  int i, bad = 0;
  if (pair_open(&p, "threads", 4096, NULL) == 0) {
    for (i = 0; i < THREADS; i++) {
      f[i] = (filler){p.w, i, 0};
      pthread_create(&t[i], NULL, fill_frames, &f[i]);
    }
    while (frames < THREADS * PER_THREAD) {
      zb_frame fr;
      uint32_t id, n;
      if (zb_reader_next(p.r, &fr, 5000) != 0)
        break;
      memcpy(&id, fr.data, 4);
      memcpy(&n, fr.data + 4, 4);
      if (id >= THREADS || n != next[id] ||
          fr.size != 8 + ((uint64_t)n * 37 + (uint64_t)id * 11) % 500)
        bad++;
      else {
        uint64_t k;
        for (k = 8; k < fr.size; k++)
          if (fr.data[k] != pattern((uint64_t)id << 32 | n, k))
            bad++;
        next[id]++;
      }
      CHECK_EQ_U64(fr.sequence, frames + 1);
      CHECK_RC(zb_frame_release(&fr), 0);
      frames++;
    }
    for (i = 0; i < THREADS; i++) {
      pthread_join(t[i], NULL);
      CHECK(f[i].failures == 0);
    }
    CHECK_EQ_U64(frames, THREADS * PER_THREAD);
    CHECK(bad == 0);
  }
  pair_close(&p);
}

/* Destroying the writer with a reservation open: what came before it was
 * published, the rest is dropped; the open one stays writable and its
 * commit reports the close. */
static void test_destroy_with_open_reservation(void) {
  pair p;
  zb_reservation a, b, c;
  zb_frame f;
  if (pair_open(&p, "destroyopen", 1024, NULL) == 0) {
    CHECK_RC(zb_writer_reserve(p.w, 100, &a, 0), 0);
    fill(a.data, 100, 1);
    CHECK_RC(zb_reservation_commit(&a, 100), 0);
    CHECK_RC(zb_writer_reserve(p.w, 100, &b, 0), 0);
    CHECK_RC(zb_writer_reserve(p.w, 100, &c, 0), 0);
    CHECK_RC(zb_reservation_commit(&c, 100), 0); /* behind b: not visible */
    zb_writer_destroy(p.w);
    p.w = NULL;
    fill(b.data, 100, 2); /* still mapped */
    CHECK_RC(zb_reservation_commit(&b, 100), ZB_ESTATE);
    CHECK_MSG("closed");
    CHECK(b.writer == NULL);
    EXPECT_FRAME(p.r, 100, 1, 1);
    CHECK_RC(zb_reader_next(p.r, &f, 1000), ZB_EOF);
    /* reserve on a closed writer is not possible: the handle is gone; a new
     * writer starts at 1 */
    CHECK_RC(zb_writer_connect(&p.w, p.name), 0);
    CHECK_RC(zb_writer_write(p.w, "x", 1, 0), 0);
    CHECK_RC(zb_reader_next(p.r, &f, 1000), 0);
    CHECK_EQ_U64(f.sequence, 1);
    CHECK_RC(zb_frame_release(&f), 0);
  }
  pair_close(&p);
}

/* Bytes written into a reservation abandoned by zb_writer_destroy reach
 * no other process: the next writer's first frame goes where the
 * reservation was (same segment bytes), and a write through the abandoned
 * reservation after it leaves that frame as written. The reservation keeps
 * the bytes it had at the destroy. A metadata block of a page puts the
 * payload past the header's page, which stays shared (16 or 64 KiB on some
 * arm64 and ppc64 kernels). */
static void test_abandoned_reservation_writes_stay_private(void) {
  enum { SIZE = 5000 };
  const uint64_t meta = (uint64_t)sysconf(_SC_PAGESIZE);
  const uint64_t at = ZB_OIEB_SIZE + meta + ZB_FRAME_HEADER_SIZE;
  pair p;
  zb_reservation a;
  zb_frame f;
  uint8_t *seg, frame[SIZE];
  struct stat st = {0};
  char path[128];
  uint64_t i, kept = 0, other = 0;
  int fd;
  memset(&p, 0, sizeof p);
  snprintf(p.name, sizeof p.name, "%s", zb_test_name("abandonedprivate"));
  CHECK_RC(zb_reader_create(&p.r, p.name, meta, 64 * 1024, NULL), 0);
  CHECK_RC(zb_writer_connect(&p.w, p.name), 0);
  snprintf(path, sizeof path, "/%s", p.name);
  fd = shm_open(path, O_RDWR, 0);
  CHECK(fd >= 0 && fstat(fd, &st) == 0);
  seg = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
             0);
  CHECK(seg != MAP_FAILED);
  if (p.r != NULL && p.w != NULL && seg != MAP_FAILED) {
    CHECK_RC(zb_writer_reserve(p.w, SIZE, &a, 0), 0);
    memset(a.data, 0x11, SIZE);
    CHECK(seg[at] == 0x11 && seg[at + SIZE - 1] == 0x11); /* where it is */
    zb_writer_destroy(p.w); /* the reservation keeps the mapping */
    CHECK_RC(zb_writer_connect(&p.w, p.name), 0);
    memset(frame, 0x33, SIZE);
    CHECK_RC(zb_writer_write(p.w, frame, SIZE, 0), 0);
    for (i = 0; i < SIZE; i++) {
      kept += a.data[i] == 0x11;
      other += seg[at + i] == 0x33;
    }
    CHECK_EQ_U64(kept, SIZE);  /* the bytes it had at the destroy */
    CHECK_EQ_U64(other, SIZE); /* the next writer's frame is there */
    memset(a.data, 0x44, SIZE);
    CHECK_RC(zb_reader_next(p.r, &f, 1000), 0);
    CHECK_EQ_U64(f.size, SIZE);
    for (i = 0, other = 0; i < f.size; i++)
      other += f.data[i] == 0x33;
    CHECK_EQ_U64(other, SIZE);
    CHECK_RC(zb_frame_release(&f), 0);
    CHECK(a.data[0] == 0x44 && a.data[SIZE - 1] == 0x44);
    CHECK_RC(zb_reservation_commit(&a, SIZE), ZB_ESTATE); /* unmaps it */
  }
  if (seg != MAP_FAILED)
    munmap(seg, (size_t)st.st_size);
  if (fd >= 0)
    close(fd);
  pair_close(&p);
}

typedef struct waiter {
  zb_writer *w;
  int rc;
  double ms;
} waiter;

static void *wait_for_space(void *arg) {
  waiter *a = arg;
  zb_reservation res;
  double t0 = now_ms();
  a->rc = zb_writer_reserve(a->w, 400, &res, 5000);
  a->ms = now_ms() - t0;
  if (a->rc == 0)
    zb_reservation_cancel(&res);
  return NULL;
}

/* One wake ends every pending wait, in every thread. */
static void test_wake_all_waiters(void) {
  pair p;
  pthread_t t[2];
  waiter a[2];
  int i;
  if (pair_open(&p, "wakeall", 1024, NULL) == 0) {
    CHECK_RC(zb_writer_write(p.w, (uint8_t[900]){0}, 900, 0), 0);
    for (i = 0; i < 2; i++) {
      a[i] = (waiter){p.w, 1, 0};
      pthread_create(&t[i], NULL, wait_for_space, &a[i]);
    }
    {
      struct timespec ts = {0, 100 * 1000000L};
      nanosleep(&ts, NULL);
    }
    zb_writer_wake(p.w);
    for (i = 0; i < 2; i++) {
      pthread_join(t[i], NULL);
      CHECK_RC(a[i].rc, ZB_ECANCELED);
      CHECK(a[i].ms < 1000);
    }
  }
  pair_close(&p);
}

/* With the early wrap, frames reuse the start of the ring while the reader
 * keeps up, and the stream is unchanged for the reader. 216-byte frames in
 * 2048 bytes: the wrap leaves more than (2048 - 216) / 2 bytes free from
 * write_pos 1296 on, so the writer cycles through the first 6 slots. */
static void test_wrap_early(void) {
  pair p;
  zb_health h;
  uint8_t buf[200];
  int i;
  if (pair_open(&p, "early", 2048, NULL) == 0) {
    zb__writer_set_wrap_early(p.w, true);
    for (i = 0; i < 20; i++) {
      fill(buf, 200, (uint64_t)i);
      CHECK_RC(zb_writer_write(p.w, buf, 200, 0), 0);
      EXPECT_FRAME(p.r, 200, (uint64_t)i, (uint64_t)i + 1);
      CHECK_RC(zb_reader_health(p.r, &h), 0);
      CHECK_EQ_U64(h.write_pos, 216 * (uint64_t)(i % 6 + 1));
    }
    /* write_pos 432 (frame 19 in slot 1). A reader that holds the frame at
     * 1080 leaves too little free at 1296 for the early wrap: the next frame
     * goes after it instead of to 0. */
    for (i = 20; i < 23; i++) {
      fill(buf, 200, (uint64_t)i);
      CHECK_RC(zb_writer_write(p.w, buf, 200, 0), 0);
      EXPECT_FRAME(p.r, 200, (uint64_t)i, (uint64_t)i + 1);
    }
    {
      zb_frame f;
      fill(buf, 200, 100);
      CHECK_RC(zb_writer_write(p.w, buf, 200, 0), 0);
      CHECK_RC(zb_reader_next(p.r, &f, 0), 0);
      fill(buf, 200, 101);
      CHECK_RC(zb_writer_write(p.w, buf, 200, 0), 0);
      CHECK_RC(zb_reader_health(p.r, &h), 0);
      CHECK_EQ_U64(h.write_pos, 1512);
      CHECK(holds(&f, 200, 100));
      CHECK_RC(zb_frame_release(&f), 0);
      EXPECT_FRAME(p.r, 200, 101, 25);
    }
    CHECK_RC(zb_reader_health(p.r, &h), 0);
    CHECK_EQ_U64(h.payload_free_bytes, 2048);
  }
  pair_close(&p);
}

/* The early wrap leaves a stalled reader slack: the skipped tail counts as
 * used until the reader passes the marker, so a wrap from just after one
 * frame would fill the ring with that frame alone. In rings of N frames of
 * 256 KiB (the writer's default early wrap), a reader that took every frame
 * and then stops, wherever the writer stands, leaves room for at least
 * ceil(N / 2) + 1 frames. */
static void test_wrap_early_leaves_slack(void) {
  static const unsigned ns[] = {2, 3, 4, 5, 8};
  const uint64_t size = ZB_WRAP_EARLY_FROM;
  uint8_t *buf = malloc(size);
  unsigned n, round, i, placed;
  uint64_t key = 0, seq = 0;
  zb_health h;
  pair p;
  CHECK(buf != NULL);
  for (n = 0; buf != NULL && n < sizeof ns / sizeof ns[0]; n++) {
    if (pair_open(&p, "slack", zb_payload_size_for(size, ns[n], false), NULL) != 0) {
      pair_close(&p);
      break;
    }
    seq = 0;
    for (round = 0; round <= ns[n]; round++) {
      for (i = 0; i < round; i++) { /* the reader keeps up */
        fill(buf, size, ++key);
        CHECK_RC(zb_writer_write(p.w, buf, size, 0), 0);
        EXPECT_FRAME(p.r, size, key, ++seq);
      }
      CHECK_RC(zb_writer_health(p.w, &h), 0);
      CHECK_EQ_U64(h.payload_free_bytes, h.payload_size);
      for (placed = 0;; placed++) { /* the reader stalls */
        fill(buf, size, key + placed + 1);
        if (zb_writer_write(p.w, buf, size, 0) != 0)
          break;
      }
      if (placed < (ns[n] + 1) / 2 + 1)
        fprintf(stderr, "  %u-frame ring, write_pos %llu: %u frames placed\n",
                ns[n], (unsigned long long)h.write_pos, placed);
      CHECK(placed >= (ns[n] + 1) / 2 + 1);
      for (i = 0; i < placed; i++)
        EXPECT_FRAME(p.r, size, ++key, ++seq);
    }
    pair_close(&p);
  }
  free(buf);
}

/* Leaves the state of a writer killed in the middle of publishing frame 2
 * (5 bytes of 0xEE) after frame 1: write_pos moved past it and its bytes
 * taken (unless !took_bytes: killed before that too), but not counted and
 * not posted; writer_pid names a dead process. Returns the write_pos
 * before the ghost. */
static uint64_t leave_ghost(pair *p, bool took_bytes) {
  uint8_t *base;
  struct stat st;
  zb_oieb *oieb;
  uint64_t wp;
  pid_t dead;
  char path[128];
  int fd;
  snprintf(path, sizeof path, "/%s", p->name);
  fd = shm_open(path, O_RDWR, 0);
  CHECK(fd >= 0 && fstat(fd, &st) == 0);
  base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  CHECK(base != MAP_FAILED);
  oieb = (zb_oieb *)base;
  wp = atomic_load(&oieb->payload_write_pos);
  memcpy(base + 128 + 64 + wp, &(zb_frame_header){5, 2}, 16);
  memset(base + 128 + 64 + wp + 16, 0xEE, 5);
  atomic_store(&oieb->payload_write_pos, wp + 21);
  if (took_bytes)
    atomic_fetch_sub(&oieb->payload_free_bytes, 21);
  if ((dead = fork()) == 0)
    _exit(0);
  waitpid(dead, NULL, 0);
  atomic_store(&oieb->writer_pid, (uint64_t)dead);
  zb_writer_destroy(p->w);
  p->w = NULL;
  munmap(base, (size_t)st.st_size);
  close(fd);
  return wp;
}

static void expect_ghost(zb_reader *r) {
  static const uint8_t ee[5] = {0xEE, 0xEE, 0xEE, 0xEE, 0xEE};
  zb_frame f;
  CHECK_RC(zb_reader_next(r, &f, 1000), 0);
  CHECK_EQ_U64(f.sequence, 2);
  CHECK(f.size == 5 && memcmp(f.data, ee, 5) == 0);
  CHECK_RC(zb_frame_release(&f), 0);
}

/* A writer killed in the middle of publishing: its frame is whole (every
 * writer moves write_pos last of its bytes), so the reader, which goes by
 * position, takes it; reporting the death it puts the free bytes and the
 * written count right, and the next writer starts after the frame. */
static void test_writer_died_mid_publish(void) {
  pair p;
  uint8_t buf[100];
  zb_health h;
  zb_frame f;
  uint64_t wp;
  if (pair_open(&p, "midpublish", 1024, NULL) == 0) {
    fill(buf, 100, 1);
    CHECK_RC(zb_writer_write(p.w, buf, 100, 0), 0);
    EXPECT_FRAME(p.r, 100, 1, 1);
    wp = leave_ghost(&p, true);
    expect_ghost(p.r);
    CHECK_RC(zb_reader_next(p.r, &f, 2000), ZB_EWRITERDEAD);
    CHECK_RC(zb_reader_health(p.r, &h), 0);
    CHECK_EQ_U64(h.payload_free_bytes, 1024);
    CHECK_EQ_U64(h.written_count, 2); /* the ghost counted */
    CHECK_EQ_U64(h.read_count, 2);
    CHECK_RC(zb_writer_connect(&p.w, p.name), 0);
    fill(buf, 50, 3);
    CHECK_RC(zb_writer_write(p.w, buf, 50, 0), 0);
    EXPECT_FRAME(p.r, 50, 3, 1);
    CHECK_RC(zb_reader_health(p.r, &h), 0);
    CHECK_EQ_U64(h.write_pos, wp + 21 + 66);
    CHECK_EQ_U64(h.payload_free_bytes, 1024);
    CHECK_EQ_U64(h.written_count, h.read_count);
  }
  pair_close(&p);
}

/* The same, but the next writer connects before the reader has looked: it
 * completes the dead writer's publish (counts the frame and posts once), so
 * a reader that goes by the counts (the peers') sees the frame too, and
 * ours is not posted one frame short. */
static void test_next_writer_completes_torn_publish(void) {
  pair p;
  uint8_t buf[100];
  zb_health h;
  uint64_t wp;
  if (pair_open(&p, "tornpublish", 1024, NULL) == 0) {
    fill(buf, 100, 1);
    CHECK_RC(zb_writer_write(p.w, buf, 100, 0), 0);
    EXPECT_FRAME(p.r, 100, 1, 1);
    wp = leave_ghost(&p, true);
    CHECK_RC(zb_writer_connect(&p.w, p.name), 0);
    CHECK_RC(zb_reader_health(p.r, &h), 0);
    CHECK_EQ_U64(h.written_count, 2);
    CHECK_EQ_U64(h.read_count, 1);
    fill(buf, 50, 3);
    CHECK_RC(zb_writer_write(p.w, buf, 50, 0), 0);
    expect_ghost(p.r);
    EXPECT_FRAME(p.r, 50, 3, 1);
    CHECK_RC(zb_reader_health(p.r, &h), 0);
    CHECK_EQ_U64(h.write_pos, wp + 21 + 66);
    CHECK_EQ_U64(h.payload_free_bytes, 1024);
    CHECK_EQ_U64(h.written_count, 3);
    CHECK_EQ_U64(h.read_count, 3);
  }
  pair_close(&p);
}

/* After small tails the counts are further apart than the entries (our
 * writer counts each tail, our reader skips it), so walking as many
 * entries as the counts say from the reader's position goes past the
 * writer's into stale bytes. A next writer must not take what it finds
 * there for a dead writer's publish to complete: here the stale header at
 * 116 (zeros: a marker) led the walk back to 0, and the 100-byte frame
 * ended at write_pos, so it counted it again and posted. */
static void test_next_writer_after_small_tails(void) {
  static uint8_t zeros[1000]; /* the stale bytes a walk finds: a marker */
  pair p;
  zb_health h;
  zb_frame f;
  uint64_t i;
  if (pair_open(&p, "tornstale", 1024, NULL) == 0) {
    for (i = 1; i <= 2; i++) { /* [0, 1016), then its tail and [0, 1016) */
      CHECK_RC(zb_writer_write(p.w, zeros, 1000, 0), 0);
      CHECK_RC(zb_reader_next(p.r, &f, 1000), 0);
      CHECK_EQ_U64(f.sequence, i);
      CHECK_RC(zb_frame_release(&f), 0);
    }
    CHECK_RC(zb_writer_write(p.w, zeros, 100, 0), 0); /* tail, [0, 116) */
    zb_writer_destroy(p.w);
    p.w = NULL;
    CHECK_RC(zb_writer_connect(&p.w, p.name), 0);
    CHECK_RC(zb_reader_health(p.r, &h), 0);
    CHECK_EQ_U64(h.written_count, 5);
    CHECK_EQ_U64(h.read_count, 2);
    CHECK_RC(zb_reader_next(p.r, &f, 1000), 0);
    CHECK_EQ_U64(f.size, 100);
    CHECK_EQ_U64(f.sequence, 3);
    CHECK_RC(zb_frame_release(&f), 0);
    CHECK_RC(zb_reader_next(p.r, &f, 0), ZB_EAGAIN);
  }
  pair_close(&p);
}

/* The dead writer replaced before the reader's liveness probe, after the
 * reader took its uncounted frame: read_count stays one ahead of
 * written_count (no death is reported, so nothing puts it right), and a
 * full lap of a single frame has as many entries written as read. At the
 * end of the next writer's stream the reader puts the count right, so a
 * later writer's single-frame lap (a frame of the ring's whole size after
 * an exact end) is read; it waited for a next frame that the full ring
 * could not take. Within the replacing writer's stream the deficit stays
 * (docs/PROTOCOL.md §5, "Limits"). */
static void test_count_deficit_put_right_at_end(void) {
  static uint8_t buf[1008];
  pair p;
  zb_health h;
  zb_frame f;
  if (pair_open(&p, "hcore-deficit", 1024, NULL) == 0) {
    fill(buf, 100, 1);
    CHECK_RC(zb_writer_write(p.w, buf, 100, 0), 0);
    EXPECT_FRAME(p.r, 100, 1, 1);
    leave_ghost(&p, true); /* [116, 137) */
    expect_ghost(p.r);
    CHECK_RC(zb_writer_connect(&p.w, p.name), 0); /* before any probe */
    fill(buf, 871, 2);
    CHECK_RC(zb_writer_write(p.w, buf, 871, 0), 0); /* [137, 1024) */
    EXPECT_FRAME(p.r, 871, 2, 1);
    CHECK_RC(zb_reader_health(p.r, &h), 0);
    CHECK_EQ_U64(h.written_count + 1, h.read_count); /* the deficit */
    zb_writer_destroy(p.w);
    p.w = NULL;
    CHECK_RC(zb_reader_next(p.r, &f, 1000), ZB_EOF);
    CHECK_RC(zb_reader_health(p.r, &h), 0);
    CHECK_EQ_U64(h.written_count, h.read_count);
    CHECK_RC(zb_writer_connect(&p.w, p.name), 0);
    fill(buf, 1008, 3);
    CHECK_RC(zb_writer_write(p.w, buf, 1008, 0), 0); /* [0, 1024): a lap */
    EXPECT_FRAME(p.r, 1008, 3, 1);
  }
  pair_close(&p);
}

/* The same when the writer was killed before it took the frame's bytes
 * too, and replaced while the reader held that frame: the reader gives
 * back bytes that were never taken, and the free bytes stay above the
 * ring's size (corrupted, by the health snapshot; our writer refuses to
 * write, a peer's places frames over unread ones) until the replacing
 * writer's stream ends: then the reader puts them right, as it does the
 * count. */
static void test_free_excess_put_right_at_end(void) {
  static uint8_t buf[100];
  pair p;
  zb_health h;
  zb_frame f;
  if (pair_open(&p, "hcore-excess", 1024, NULL) == 0) {
    fill(buf, 100, 1);
    CHECK_RC(zb_writer_write(p.w, buf, 100, 0), 0);
    EXPECT_FRAME(p.r, 100, 1, 1);
    leave_ghost(&p, false); /* [116, 137), its 21 bytes not taken */
    CHECK_RC(zb_reader_next(p.r, &f, 1000), 0); /* the ghost, held */
    CHECK_EQ_U64(f.sequence, 2);
    CHECK_RC(zb_writer_connect(&p.w, p.name), 0); /* before any probe */
    CHECK_RC(zb_frame_release(&f), 0);
    CHECK_RC(zb_reader_health(p.r, &h), ZB_EPROTO);
    CHECK_MSG("1045 free bytes in a 1024-byte ring");
    /* ours refuses to write then; the peers' writers write on */
    fill(buf, 50, 2);
    CHECK_RC(zb_writer_write(p.w, buf, 50, 0), ZB_EPROTO);
    zb_writer_destroy(p.w);
    p.w = NULL;
    CHECK_RC(zb_reader_next(p.r, &f, 1000), ZB_EOF);
    CHECK_RC(zb_reader_health(p.r, &h), 0);
    CHECK_EQ_U64(h.payload_free_bytes, 1024);
    CHECK_EQ_U64(h.written_count, h.read_count);
  }
  pair_close(&p);
}

typedef struct toggler {
  zb_oieb *oieb;
  atomic_int stop;
} toggler;

/* A hostile process of the same user: write_pos in the ring and far past it, in turns. */
static void *toggle_write_pos(void *arg) {
  toggler *t = arg;
  while (!atomic_load(&t->stop)) {
    atomic_store(&t->oieb->payload_write_pos, 0);
    atomic_store(&t->oieb->payload_write_pos, 1u << 20);
  }
  atomic_store(&t->oieb->payload_write_pos, 0);
  return NULL;
}

/* write_pos is checked where the writer takes it at connect, not only when
 * the segment is mapped: changed in between, it placed frames outside the
 * ring (a reservation at offset 1 MiB of a 4 KiB ring). */
static void test_write_pos_checked_at_connect(void) {
  pair p;
  toggler t;
  pthread_t thread;
  zb_reservation res;
  struct stat st;
  uint8_t *base;
  int fd, i, rc;
  char path[128];
  if (pair_open(&p, "wpos", 4096, NULL) != 0)
    return;
  zb_writer_destroy(p.w);
  p.w = NULL;
  snprintf(path, sizeof path, "/%s", p.name);
  fd = shm_open(path, O_RDWR, 0);
  CHECK(fd >= 0 && fstat(fd, &st) == 0);
  base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  CHECK(base != MAP_FAILED);
  t.oieb = (zb_oieb *)base;
  atomic_init(&t.stop, 0);
  CHECK(pthread_create(&thread, NULL, toggle_write_pos, &t) == 0);
  for (i = 0; i < 300; i++) {
    zb_writer *w = NULL;
    rc = zb_writer_connect(&w, p.name);
    CHECK(rc == 0 || rc == ZB_EPROTO);
    if (rc != 0)
      continue;
    if (zb_writer_reserve(w, 100, &res, 0) == 0) {
      memset(res.data, 0x5A, 100); /* outside the mapping: a crash */
      zb_reservation_cancel(&res);
    }
    zb_writer_destroy(w);
  }
  atomic_store(&t.stop, 1);
  pthread_join(thread, NULL);
  /* which connects met the bad value is up to the scheduler (under the
   * sanitizers all may): a connect now, with write_pos 0 again, must work */
  {
    zb_writer *w = NULL;
    CHECK_RC(zb_writer_connect(&w, p.name), 0);
    zb_writer_destroy(w);
  }
  munmap(base, (size_t)st.st_size);
  close(fd);
  pair_close(&p);
}

/* ----------------------------------------------------------------- leases */

/* A frame held across zb_reader_destroy stays valid until released. */
static void test_lease_outlives_reader(void) {
  pair p;
  zb_frame f, copy;
  uint8_t buf[300];
  if (pair_open(&p, "lease", 1024, NULL) == 0) {
    fill(buf, 300, 7);
    CHECK_RC(zb_writer_write(p.w, buf, 300, 0), 0);
    CHECK_RC(zb_reader_next(p.r, &f, 0), 0);
    CHECK(f.reader == p.r);
    CHECK_EQ_U64(zb_reader_held_frames(p.r), 1);
    copy = f;
    zb_reader_destroy(p.r);
    p.r = NULL;
    CHECK(zb_test_ring_gone(p.name)); /* unlinked at once */
    CHECK(holds(&f, 300, 7));         /* still mapped */
    CHECK_RC(zb_writer_write(p.w, buf, 10, 0), ZB_EREADERGONE);
    CHECK_RC(zb_frame_release(&f), 0);
    CHECK(f.reader == NULL && f.data == NULL);
    CHECK_RC(zb_frame_release(&f), ZB_EINVAL);
    (void)copy; /* releasing the copy now would touch a freed reader */
  }
  pair_close(&p);
}

static void test_poison(void) {
  pair p;
  zb_reader_options opts = {.poison_released = true};
  zb_frame f;
  const uint8_t *bytes;
  uint8_t buf[64];
  int i, poisoned = 1;
  if (pair_open(&p, "poison", 1024, &opts) == 0) {
    fill(buf, 64, 9);
    CHECK_RC(zb_writer_write(p.w, buf, 64, 0), 0);
    CHECK_RC(zb_reader_next(p.r, &f, 0), 0);
    CHECK(holds(&f, 64, 9));
    bytes = f.data;
    CHECK_RC(zb_frame_release(&f), 0);
    for (i = 0; i < 64; i++)
      poisoned &= bytes[i] == ZB_POISON_BYTE;
    CHECK(poisoned);
  }
  pair_close(&p);
}

/* A ring whose writer declared in-place answers (a duplex client's request
 * ring, PROTOCOL.md §9.4) is not poisoned: the client reads the server's
 * answer from the request's bytes after the server released it. */
static void test_poison_spares_in_place(void) {
  static const char meta[] = "{\"zerobuffer\":{\"in_place\":1}}";
  pair p;
  zb_reader_options opts = {.poison_released = true};
  zb_reservation res;
  zb_hold hold;
  zb_frame f;
  uint8_t buf[64];
  if (pair_open(&p, "poison-in-place", 1024, &opts) == 0) {
    CHECK_RC(zb_writer_set_metadata(p.w, meta, sizeof meta - 1), 0);
    CHECK_RC(zb_writer_reserve(p.w, 64, &res, 0), 0);
    fill(res.data, 64, 4);
    CHECK_RC(zb_reservation_commit_hold(&res, 64, &hold), 0);
    CHECK_RC(zb_reader_next(p.r, &f, 0), 0);
    CHECK(holds(&f, 64, 4));
    fill(buf, 64, 5); /* the server's answer, in place */
    memcpy((uint8_t *)f.data, buf, 64);
    CHECK_RC(zb_frame_release(&f), 0);
    CHECK(zb_hold_data(&hold) != NULL &&
          memcmp(zb_hold_data(&hold), buf, 64) == 0);
    zb_hold_release(&hold);
  }
  pair_close(&p);
}

/* keep_address_range: a pointer kept past the last release reads zeros. */
static void test_keep_address_range(void) {
  pair p;
  zb_reader_options opts = {.keep_address_range = true};
  zb_frame f;
  const uint8_t *bytes;
  uint8_t buf[64];
  int i, zero = 1;
  if (pair_open(&p, "keep", 1024, &opts) == 0) {
    fill(buf, 64, 3);
    CHECK_RC(zb_writer_write(p.w, buf, 64, 0), 0);
    CHECK_RC(zb_reader_next(p.r, &f, 0), 0);
    bytes = f.data;
    zb_reader_destroy(p.r);
    p.r = NULL;
    CHECK(holds(&f, 64, 3));
    CHECK_RC(zb_frame_release(&f), 0); /* the last lease */
    for (i = 0; i < 64; i++)
      zero &= bytes[i] == 0; /* no fault */
    CHECK(zero);
  }
  pair_close(&p);
}

/* The process's address space in KiB (VmSize), -1 when unknown. */
static long vm_size_kib(void) {
  char line[256];
  long kib = -1;
  FILE *f = fopen("/proc/self/status", "r");
  if (f == NULL)
    return -1;
  while (fgets(line, sizeof line, f) != NULL)
    if (sscanf(line, "VmSize: %ld kB", &kib) == 1)
      break;
  fclose(f);
  return kib;
}

/* One reader's life with keep_address_range: a frame read, the reader
 * closed, the frame released (the last lease: the range is retired). The
 * frame's pointer, or NULL when no frame was read. */
static const uint8_t *keep_cycle(uint64_t payload, int read_frame) {
  zb_reader_options opts = {.keep_address_range = true};
  const uint8_t *bytes = NULL;
  uint8_t buf[64];
  zb_frame f;
  pair p;
  if (pair_open(&p, "retire", payload, &opts) == 0 && read_frame) {
    fill(buf, 64, 5);
    CHECK_RC(zb_writer_write(p.w, buf, 64, 0), 0);
    CHECK_RC(zb_reader_next(p.r, &f, 0), 0);
    bytes = f.data;
    zb_reader_destroy(p.r);
    p.r = NULL;
    CHECK_RC(zb_frame_release(&f), 0);
  }
  pair_close(&p);
  return bytes;
}

static int reads_zeros(const uint8_t *bytes, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    if (bytes[i] != 0)
      return 0;
  return 1;
}

/* Retired ranges are unmapped once their grace is over (at the next reader
 * create or close), so readers opened and closed for weeks keep a bounded
 * address space; within the grace a stale pointer still reads zeros, also
 * across other readers' creates and closes; a reader that handed out no
 * pointer into its ring leaves no range behind at all. */
static void test_retired_ranges_reaped(void) {
  enum { CYCLES = 40 };
  const uint64_t payload = 8u << 20;
  const long ring_kib = (long)(payload >> 10);
  const uint8_t *first, *bytes;
  long before, after;
  int i, zero = 1, prev_grace;

  before = vm_size_kib();
  if (before < 0) {
    fprintf(stderr, "  (no /proc/self/status: skipped)\n");
    return;
  }
  /* Default grace: the first range reads zeros through later cycles. */
  first = keep_cycle(payload, 1);
  for (i = 0; i < 5; i++) {
    bytes = keep_cycle(payload, 1);
    zero &= bytes != NULL && reads_zeros(bytes, 64);
    zero &= first != NULL && reads_zeros(first, 64);
  }
  CHECK(zero);

  /* Readers that never handed out a pointer: nothing retired. */
  before = vm_size_kib();
  for (i = 0; i < CYCLES; i++)
    keep_cycle(payload, 0);
  after = vm_size_kib();
  if (after - before > 2 * ring_kib)
    fprintf(stderr, "  VmSize %ld -> %ld KiB after %d readers without a frame\n",
            before, after, CYCLES);
  CHECK(after - before <= 2 * ring_kib);

  /* A short grace: once it is over, one more cycle unmaps them all. */
  prev_grace = zb__set_retire_grace_ms(200);
  for (i = 0; i < CYCLES; i++)
    keep_cycle(payload, 1);
  usleep(300 * 1000);
  keep_cycle(payload, 0); /* its create and close reap */
  after = vm_size_kib();
  if (after - before > 2 * ring_kib)
    fprintf(stderr, "  VmSize %ld -> %ld KiB after %d retired readers\n",
            before, after, CYCLES);
  CHECK(after - before <= 2 * ring_kib);
  zb__set_retire_grace_ms(prev_grace);
}

/* Whether the page at p is mapped (msync says ENOMEM for a hole), without
 * touching it. */
static int mapped(const void *p) {
  long page = sysconf(_SC_PAGESIZE);
  void *start = (void *)((uintptr_t)p & ~(uintptr_t)(page - 1));
  return msync(start, (size_t)page, MS_ASYNC) == 0;
}

/* A pinned range is not unmapped past its grace, whatever reader is created
 * and closed meanwhile (a JS view over a frame may live that long), reads
 * zeros and takes writes without faulting; after its last unpin the next
 * reap unmaps it. A reader without keep_address_range has nothing to pin. */
static void test_pinned_range_outlives_grace(void) {
  zb_reader_options opts = {.keep_address_range = true};
  zb_range *range = NULL, *again = NULL;
  const uint8_t *bytes = NULL;
  uint8_t buf[64];
  int prev_grace, prev_mode;
  zb_frame f;
  pair p;

  prev_grace = zb__set_retire_grace_ms(0);
  prev_mode = zb__set_overcommit_mode(0); /* writable zero pages */
  if (pair_open(&p, "pin", 1024, &opts) == 0) {
    fill(buf, 64, 6);
    CHECK_RC(zb_writer_write(p.w, buf, 64, 0), 0);
    CHECK_RC(zb_reader_next(p.r, &f, 0), 0);
    bytes = f.data;
    CHECK_RC(zb_reader_pin_range(p.r, &range), 0);
    CHECK_RC(zb_reader_pin_range(p.r, &again), 0);
    CHECK(again == range);
    zb_reader_destroy(p.r);
    p.r = NULL;
    CHECK_RC(zb_frame_release(&f), 0); /* the last lease: retired */
  }
  pair_close(&p);
  if (bytes != NULL) {
    keep_cycle(1024, 0); /* its create and close reap: the grace is over */
    CHECK(mapped(bytes));
    CHECK(reads_zeros(bytes, 64));
    memset((void *)bytes, 9, 64); /* a stale write does not fault */
    CHECK(bytes[0] == 9);
    zb_range_unpin(again);
    keep_cycle(1024, 0);
    CHECK(mapped(bytes)); /* one pin is left */
    zb_range_unpin(range);
    keep_cycle(1024, 0);
    CHECK(!mapped(bytes));
  }
  zb__set_overcommit_mode(prev_mode);

  /* A second unpin of the only pin is ignored: the range still goes. */
  bytes = NULL;
  if (pair_open(&p, "unpin2", 1024, &opts) == 0) {
    CHECK_RC(zb_writer_write(p.w, buf, 64, 0), 0);
    CHECK_RC(zb_reader_next(p.r, &f, 0), 0);
    bytes = f.data;
    CHECK_RC(zb_reader_pin_range(p.r, &range), 0);
    zb_range_unpin(range);
    zb_range_unpin(range);
    zb_reader_destroy(p.r);
    p.r = NULL;
    CHECK_RC(zb_frame_release(&f), 0);
  }
  pair_close(&p);
  if (bytes != NULL) {
    keep_cycle(1024, 0);
    CHECK(!mapped(bytes));
  }
  zb__set_retire_grace_ms(prev_grace);

  if (pair_open(&p, "nopin", 1024, NULL) == 0) {
    CHECK_RC(zb_reader_pin_range(p.r, &range), ZB_EINVAL);
    CHECK(range == NULL);
  }
  pair_close(&p);
  zb_range_unpin(NULL);
}

/* Whether a write to p faults, in a child so that this process survives
 * it: 1 (SIGSEGV), 0 (it did not), -1 (no child). */
static int write_faults(uint8_t *p) {
  int status;
  pid_t pid = fork();
  if (pid == 0) {
    signal(SIGSEGV, SIG_DFL); /* ASan's handler would exit(1) instead */
    *(volatile uint8_t *)p = 1;
    _exit(0);
  }
  if (pid < 0 || waitpid(pid, &status, 0) != pid)
    return -1;
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
}

/* Under vm.overcommit_memory=2 (the hook stands in for the sysctl) a
 * retired range is read-only, so that nothing of it is charged to the
 * commit limit: a stale write faults there. Elsewhere it takes writes. */
static void test_retired_range_overcommit(void) {
  int prev = zb__set_overcommit_mode(2);
  const uint8_t *bytes = keep_cycle(1024, 1);
  CHECK(bytes != NULL && reads_zeros(bytes, 64));
  CHECK(bytes != NULL && write_faults((uint8_t *)bytes) == 1);
  zb__set_overcommit_mode(0);
  bytes = keep_cycle(1024, 1);
  CHECK(bytes != NULL && reads_zeros(bytes, 64));
  CHECK(bytes != NULL && write_faults((uint8_t *)bytes) == 0);
  zb__set_overcommit_mode(prev);
}

/* --------------------------------------------------- conventions, health */

static void test_metadata_frame_header(void) {
  static const struct {
    const char *json;
    int version;
  } cases[] = {
      {"{\"caps\":\"x\",\"zerobuffer\":{\"frame_header\":1}}", 1},
      {"  junk {\"zerobuffer\" : { \"other\":[1,{\"a\":\"}\"}], \"frame_header\" : 2 } }", 2},
      {"{\"caps\":\"\\\"zerobuffer\\\":{\\\"frame_header\\\":1}\"}", 0},
      {"{\"nested\":{\"zerobuffer\":{\"frame_header\":1}}}", 0},
      {"{\"caps\":\"x\"}", 0},
      {"not json", 0},
      {"{}", 0},
      {"{\"zerobuffer\":{}}", 0},
      {"{\"zerobuffer\":{\"later\":true}}", 0},
      {"{\"zerobuffer\":{\"frame_header\":\"1\"}}", ZB_EPROTO},
      {"{\"zerobuffer\":{\"frame_header\":1.5}}", ZB_EPROTO},
      {"{\"zerobuffer\":{\"frame_header\":-1}}", ZB_EPROTO},
      {"{\"zerobuffer\":1}", ZB_EPROTO},
  };
  static char deep[70000];
  size_t i;
  uint8_t out[256];
  uint64_t n;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int v = zb_metadata_frame_header((const uint8_t *)cases[i].json,
                                     strlen(cases[i].json));
    if (v != cases[i].version)
      fprintf(stderr, "  %s -> %d, expected %d\n", cases[i].json, v,
              cases[i].version);
    CHECK(v == cases[i].version);
  }
  /* deep nesting and a truncated object: bounded, no crash */
  deep[0] = '{';
  memcpy(deep + 1, "\"a\":", 4);
  memset(deep + 5, '[', sizeof deep - 6);
  CHECK(zb_metadata_frame_header((const uint8_t *)deep, sizeof deep - 1) == 0);
  CHECK(zb_metadata_frame_header((const uint8_t *)"{\"zerobuffer\":{\"fra", 19) ==
        ZB_EPROTO);
  CHECK(zb_metadata_frame_header(NULL, 0) == 0);
  /* a string that ends in a backslash at the end of the bytes: not read past */
  CHECK(zb_metadata_frame_header((const uint8_t *)"{\"zerobuffer\":{\"a\\", 18) == ZB_EPROTO);

  /* declaring */
  CHECK_RC(zb_metadata_declare_frame_header((const uint8_t *)"{\"caps\":\"x\"}", 12,
                                            out, sizeof out, &n), 0);
  CHECK(n == 12 + 32 && memcmp(out, "{\"zerobuffer\":{\"frame_header\":1},\"caps\":\"x\"}", n) == 0);
  CHECK(zb_metadata_frame_header(out, n) == 1);
  CHECK_RC(zb_metadata_declare_frame_header((const uint8_t *)" {}", 3, out, sizeof out, &n), 0);
  CHECK(n == 3 + 31 && memcmp(out, " {\"zerobuffer\":{\"frame_header\":1}}", n) == 0);
  CHECK_RC(zb_metadata_declare_frame_header(
               (const uint8_t *)"{\"zerobuffer\":{\"x\":2}}", 22, out, sizeof out, &n), 0);
  CHECK(n == 22 + 17 && memcmp(out, "{\"zerobuffer\":{\"frame_header\":1,\"x\":2}}", n) == 0);
  /* a declared 0 becomes 1 in place: no second "frame_header" for JSON.parse to take */
  CHECK_RC(zb_metadata_declare_frame_header(
               (const uint8_t *)"{\"zerobuffer\":{\"x\":2, \"frame_header\" : 00 }}", 44, out,
               sizeof out, &n), 0);
  CHECK(n == 43 && memcmp(out, "{\"zerobuffer\":{\"x\":2, \"frame_header\" : 1 }}", n) == 0);
  CHECK(zb_metadata_frame_header(out, n) == 1);
  CHECK_RC(zb_metadata_declare_frame_header(
               (const uint8_t *)"{\"zerobuffer\":{\"frame_header\":1}}", 33, NULL, 0, &n), 0);
  CHECK_EQ_U64(n, 33);
  CHECK_RC(zb_metadata_declare_frame_header(
               (const uint8_t *)"{\"zerobuffer\":{\"frame_header\":2}}", 33, out, sizeof out, &n),
           ZB_EMETADATA);
  CHECK_RC(zb_metadata_declare_frame_header((const uint8_t *)"[1]", 3, out, sizeof out, &n),
           ZB_EINVAL);
  CHECK_RC(zb_metadata_declare_frame_header((const uint8_t *)"{\"a\":", 5, out, sizeof out, &n),
           ZB_EINVAL);
  CHECK_RC(zb_metadata_declare_frame_header((const uint8_t *)"{}", 2, out, 10, &n), ZB_EINVAL);
  /* A NULL argument is named as such, not taken for bad JSON. */
  CHECK_RC(zb_metadata_declare_frame_header((const uint8_t *)"{}", 2, out, sizeof out, NULL),
           ZB_EINVAL);
  CHECK_MSG("zb_metadata_declare_frame_header: json and out_size are required");
  CHECK_RC(zb_metadata_declare_in_place(NULL, 2, out, sizeof out, &n), ZB_EINVAL);
  CHECK_MSG("zb_metadata_declare_in_place: json and out_size are required");

  /* in-place answers: their own key in the same member, declared beside the header */
  CHECK(zb_metadata_in_place((const uint8_t *)"{\"zerobuffer\":{\"frame_header\":1}}", 33) == 0);
  CHECK(zb_metadata_in_place((const uint8_t *)"{\"zerobuffer\":{\"in_place\":x}}", 29) == ZB_EPROTO);
  CHECK_RC(zb_metadata_declare_in_place((const uint8_t *)"{\"caps\":\"x\"}", 12, out,
                                        sizeof out, &n), 0);
  CHECK(n == 12 + 28 && memcmp(out, "{\"zerobuffer\":{\"in_place\":1},\"caps\":\"x\"}", n) == 0);
  CHECK(zb_metadata_in_place(out, n) == 1 && zb_metadata_frame_header(out, n) == 0);
  {
    uint8_t both[256];
    uint64_t m;
    CHECK_RC(zb_metadata_declare_frame_header(out, n, both, sizeof both, &m), 0);
    CHECK(m == n + 17 &&
          memcmp(both, "{\"zerobuffer\":{\"frame_header\":1,\"in_place\":1},\"caps\":\"x\"}", m) == 0);
    CHECK(zb_metadata_in_place(both, m) == 1 && zb_metadata_frame_header(both, m) == 1);
  }
}

/* The sizing rule, and that a ring of that size holds exactly N frames. */
static void test_sizing(void) {
  pair p;
  uint64_t sizes[] = {1, 100, 1000, 4000, 6220800};
  unsigned frames;
  size_t i;
  CHECK_EQ_U64(zb_payload_size_for(1000, 3, false), 3072); /* 3048 → 3072 */
  CHECK_EQ_U64(zb_payload_size_for(1000, 3, true), 3264);  /* 3192 → 3200: 8 left */
  CHECK_EQ_U64(zb_payload_size_for(6220800, 3, false), 18662464);
  CHECK_EQ_U64(zb_payload_size_for(0, 3, false), 0);
  CHECK_EQ_U64(zb_payload_size_for(100, 0, false), 0);
  CHECK_EQ_U64(zb_payload_size_for(UINT64_MAX / 2, 3, false), 0);
  CHECK_EQ_U64(zb_default_frames_in_flight(1024), 64);
  CHECK_EQ_U64(zb_default_frames_in_flight(16 << 10), 64);
  CHECK_EQ_U64(zb_default_frames_in_flight(64 << 10), 16);
  CHECK_EQ_U64(zb_default_frames_in_flight(128 << 10), 8);
  CHECK_EQ_U64(zb_default_frames_in_flight(256 << 10), 4);
  CHECK_EQ_U64(zb_default_frames_in_flight(0), 4);
  CHECK_EQ_U64(zb_default_frames_in_flight(1920 * 1080 * 3), 4);
  CHECK_EQ_U64(zb_default_frames_in_flight(1920 * 1080 * 4), 4);
  CHECK_EQ_U64(zb_default_frames_in_flight(10 << 20), 3);
  CHECK_EQ_U64(zb_default_frames_in_flight(3840 * 2160 * 4), 2);
  CHECK_EQ_U64(zb_default_frames_in_flight(UINT64_C(1) << 33), 2);
  /* a duplex ring: the frames in flight, at least depth + 3 */
  CHECK_EQ_U64(zb_duplex_payload_size(1920 * 1080 * 3, 2),
               zb_payload_size_for(1920 * 1080 * 3, 5, true));
  CHECK_EQ_U64(zb_duplex_payload_size(3840 * 2160 * 4, 1),
               zb_payload_size_for(3840 * 2160 * 4, 4, true));
  CHECK_EQ_U64(zb_duplex_payload_size(1024, 2),
               zb_payload_size_for(1024, 64, true));
  CHECK_EQ_U64(zb_duplex_payload_size(1024, 64),
               zb_payload_size_for(1024, 67, true));
  CHECK_EQ_U64(zb_duplex_payload_size(0, 2),
               zb_default_payload_size(0));
  CHECK_EQ_U64(zb_duplex_payload_size(UINT64_C(1) << 62, 2), 0);
  /* too large is 0, not what a sum that wrapped comes to */
  CHECK_EQ_U64(zb_payload_size_for(UINT64_MAX - 10, 1, true), 0);
  CHECK_EQ_U64(zb_payload_size_for(UINT64_MAX, 1, false), 0);
  CHECK_EQ_U64(zb_payload_size_for(ZB_MAX_PAYLOAD_SIZE - 47, 1, true), 0);
  CHECK_EQ_U64(zb_default_payload_size(UINT64_MAX), 0);
  /* raw audio: a second, at least 64 KiB, at most the fallback */
  CHECK_EQ_U64(zb_default_payload_size_for_rate(48000 * 2 * 2), 192064);
  CHECK_EQ_U64(zb_default_payload_size_for_rate(44100 * 2 * 2), 176512);
  CHECK_EQ_U64(zb_default_payload_size_for_rate(192000 * 8 * 8), 12288064);
  CHECK_EQ_U64(zb_default_payload_size_for_rate(8000 * 1 * 2), 65536);
  CHECK_EQ_U64(zb_default_payload_size_for_rate(1), 65536);
  CHECK_EQ_U64(zb_default_payload_size_for_rate(0),
               zb_default_payload_size(0));
  CHECK_EQ_U64(zb_default_payload_size_for_rate(768000 * 64 * 8),
               zb_default_payload_size(0));
  CHECK_EQ_U64(zb_default_payload_size_for_rate(UINT64_MAX),
               zb_default_payload_size(0));
  /* a duplex ring of raw audio: depth + 3 buffers of up to a second */
  CHECK_EQ_U64(zb_duplex_payload_size_for_rate(48000 * 2 * 2, 2),
               5 * 192064);
  CHECK_EQ_U64(zb_duplex_payload_size_for_rate(48000 * 2 * 2, 4),
               zb_payload_size_for(48000 * 2 * 2, 7, true));
  CHECK_EQ_U64(zb_duplex_payload_size_for_rate(8000 * 1 * 1, 1), 65536);
  CHECK_EQ_U64(zb_duplex_payload_size_for_rate(0, 2),
               zb_default_payload_size(0));
  CHECK_EQ_U64(zb_duplex_payload_size_for_rate(UINT64_MAX, 2), 0);
  CHECK_EQ_U64(zb_duplex_payload_size_for_rate(1, UINT_MAX - 3), 0);
  CHECK_EQ_U64(zb_duplex_payload_size(UINT64_MAX, 5), 0);
  CHECK_EQ_U64(zb_duplex_payload_size(1, UINT_MAX), 0);
  CHECK_EQ_U64(zb_duplex_payload_size(1, UINT_MAX - 3), 0);
  for (i = 0; i < 4; i++) {
    for (frames = 1; frames <= 4; frames++) {
      uint64_t payload = zb_payload_size_for(sizes[i], frames, false), k;
      zb_frame f;
      uint8_t *buf = calloc(1, sizes[i]);
      if (pair_open(&p, "sizing", payload, NULL) == 0 && buf != NULL) {
        /* two laps: N frames fit; one more does not when the rounding
         * (< 128 bytes) cannot hold it */
        for (k = 0; k < 2; k++) {
          unsigned n;
          for (n = 0; n < frames; n++)
            CHECK_RC(zb_writer_write(p.w, buf, sizes[i], 0), 0);
          if (sizes[i] + 16 >= 128)
            CHECK_RC(zb_writer_write(p.w, buf, sizes[i], 0), ZB_EAGAIN);
          for (n = 0; n < frames; n++) {
            CHECK_RC(zb_reader_next(p.r, &f, 0), 0);
            CHECK_RC(zb_frame_release(&f), 0);
          }
        }
      }
      pair_close(&p);
      free(buf);
    }
  }
}

/* A channel whose ring name the core refuses: the message carries the
 * name check's own reason (it was formatted into the buffer it came from). */
static void test_duplex_ring_name_reason(void) {
  char name[ZB_NAME_MAX + 1];
  CHECK_RC(zb_duplex_ring_name("cam/0", ZB_DUPLEX_REQUEST, name, sizeof name),
           ZB_ENAME);
  CHECK_MSG("invalid duplex channel name \"cam/0\": its ring \"cam/0_request\"");
  CHECK_MSG("(ring name \"cam/0_request\" contains '/': the name becomes a file name");
}

/* A channel name too long for NAME_response: ENAME stating the limit in
 * bytes (no NUL counted), whichever ring is asked for; at the limit both
 * names are made. */
static void test_duplex_channel_too_long(void) {
  char channel[ZB_DUPLEX_CHANNEL_MAX + 2];
  char name[ZB_NAME_MAX + 1];
  CHECK(ZB_DUPLEX_CHANNEL_MAX == 236);
  memset(channel, 'a', ZB_DUPLEX_CHANNEL_MAX);
  channel[ZB_DUPLEX_CHANNEL_MAX] = '\0';
  CHECK_RC(zb_duplex_ring_name(channel, ZB_DUPLEX_RESPONSE, name, sizeof name), 0);
  CHECK(strlen(name) == ZB_NAME_MAX);
  channel[ZB_DUPLEX_CHANNEL_MAX] = 'a';
  channel[ZB_DUPLEX_CHANNEL_MAX + 1] = '\0';
  CHECK_RC(zb_duplex_ring_name(channel, ZB_DUPLEX_REQUEST, name, sizeof name), ZB_ENAME);
  CHECK_MSG("is too long: at most 236 bytes, so that \"NAME_response\" fits a ring name");
  CHECK_RC(zb_duplex_ring_name(channel, ZB_DUPLEX_RESPONSE, name, sizeof name), ZB_ENAME);
}

static void test_health_backlog(void) {
  pair p;
  zb_health h;
  zb_frame f[3];
  uint8_t buf[100] = {0};
  int i;
  if (pair_open(&p, "backlog", 1024, NULL) == 0) {
    for (i = 0; i < 7; i++) { /* past a wrap: 7 × 116 > 1024 */
      CHECK_RC(zb_writer_write(p.w, buf, 100, 0), 0);
      if (i < 5) {
        CHECK_RC(zb_reader_next(p.r, &f[0], 0), 0);
        CHECK_RC(zb_frame_release(&f[0]), 0);
      }
    }
    CHECK_RC(zb_reader_next(p.r, &f[0], 0), 0);
    CHECK_RC(zb_writer_write(p.w, buf, 100, 0), 0); /* wraps */
    CHECK_RC(zb_writer_write(p.w, buf, 100, 0), 0);
    CHECK_RC(zb_reader_next(p.r, &f[1], 0), 0);
    CHECK_RC(zb_reader_health(p.r, &h), 0);
    CHECK_EQ_U64(h.frames_held, 2);
    CHECK_EQ_U64(h.frames_unread, 2);
    CHECK_RC(zb_health_read(p.name, &h), 0);
    CHECK_EQ_U64(h.frames_held, 2);
    CHECK_RC(zb_reader_next(p.r, &f[2], 0), 0);
    CHECK_RC(zb_writer_health(p.w, &h), 0);
    CHECK_EQ_U64(h.frames_held, 3);
    CHECK_EQ_U64(h.frames_unread, 1);
    for (i = 0; i < 3; i++)
      CHECK_RC(zb_frame_release(&f[i]), 0);
    CHECK_RC(zb_reader_health(p.r, &h), 0);
    CHECK_EQ_U64(h.frames_held, 0);
    CHECK_EQ_U64(h.frames_unread, 1);
  }
  pair_close(&p);
  /* a full lap: the oldest byte in use is where the reader reads next */
  if (pair_open(&p, "backlogfull", 4 * 116, NULL) == 0) {
    for (i = 0; i < 4; i++)
      CHECK_RC(zb_writer_write(p.w, buf, 100, 0), 0);
    CHECK_RC(zb_reader_health(p.r, &h), 0);
    CHECK_EQ_U64(h.frames_unread, 4);
    CHECK_EQ_U64(h.frames_held, 0);
    for (i = 0; i < 3; i++)
      CHECK_RC(zb_reader_next(p.r, &f[i], 0), 0);
    CHECK_RC(zb_reader_health(p.r, &h), 0);
    CHECK_EQ_U64(h.frames_held, 3);
    CHECK_EQ_U64(h.frames_unread, 1);
    CHECK_RC(zb_frame_release(&f[0]), 0);
    CHECK_RC(zb_reader_next(p.r, &f[0], 0), 0);
    CHECK_RC(zb_reader_health(p.r, &h), 0);
    CHECK_EQ_U64(h.frames_held, 3);
    CHECK_EQ_U64(h.frames_unread, 0);
    for (i = 0; i < 3; i++)
      CHECK_RC(zb_frame_release(&f[i]), 0);
  }
  pair_close(&p);
  /* every frame held, the last ending exactly at the end of the ring: the
   * reader's position stays at the end (docs/PROTOCOL.md §7, exact end) */
  if (pair_open(&p, "backlogend", 1024, NULL) == 0) {
    zb_frame all[4];
    uint8_t big[240] = {0};
    for (i = 0; i < 4; i++) {
      CHECK_RC(zb_writer_write(p.w, big, 240, 0), 0);
      CHECK_RC(zb_reader_next(p.r, &all[i], 0), 0);
    }
    CHECK_RC(zb_reader_health(p.r, &h), 0);
    CHECK_EQ_U64(h.read_pos, 1024);
    CHECK_EQ_U64(h.frames_held, 4);
    CHECK_EQ_U64(h.frames_unread, 0);
    for (i = 0; i < 4; i++)
      CHECK_RC(zb_frame_release(&all[i]), 0);
  }
  pair_close(&p);
  /* the same after small tails moved the counts apart: our writer counts
   * the 8-byte tail a 1000-byte frame leaves when the next frame wraps
   * past it, our reader skips it uncounted, so n 1000-byte frames and the
   * 240-byte ones after them leave them n apart. 5 apart, more than the 4
   * frames in use, reads by the counts alone as none read: the reader's
   * own snapshot knows it holds them; with 2 apart, fewer than the
   * entries, a writer's snapshot (the counts) sees them all read too */
  for (int k = 0; k < 2; k++) {
    const int n = k == 0 ? 5 : 2;
    zb_frame all[4];
    static uint8_t big[1000];
    if (pair_open(&p, "backlogdrift", 1024, NULL) != 0)
      break;
    for (i = 0; i < n; i++) {
      CHECK_RC(zb_writer_write(p.w, big, 1000, 0), 0);
      CHECK_RC(zb_reader_next(p.r, &all[0], 0), 0);
      CHECK_RC(zb_frame_release(&all[0]), 0);
    }
    for (i = 0; i < 4; i++) {
      CHECK_RC(zb_writer_write(p.w, big, 240, 0), 0);
      CHECK_RC(zb_reader_next(p.r, &all[i], 0), 0);
    }
    CHECK_RC(zb_reader_health(p.r, &h), 0);
    CHECK_EQ_U64(h.written_count - h.read_count, (uint64_t)n);
    CHECK_EQ_U64(h.payload_free_bytes, 0);
    CHECK_EQ_U64(h.frames_held, 4);
    CHECK_EQ_U64(h.frames_unread, 0);
    CHECK_RC(zb_writer_health(p.w, &h), 0);
    CHECK_EQ_U64(h.frames_held, n < 4 ? 4 : 0);
    CHECK_EQ_U64(h.frames_unread, n < 4 ? 0 : 4);
    for (i = 0; i < 4; i++)
      CHECK_RC(zb_frame_release(&all[i]), 0);
    pair_close(&p);
  }
}

/* ------------------------------------------------------------------ holds */

static int has_pattern(const uint8_t *p, uint64_t size, uint64_t key) {
  uint64_t i;
  for (i = 0; i < size; i++)
    if (p[i] != pattern(key, i))
      return 0;
  return 1;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Writes a frame of `size` bytes of `key`, held when hold is not NULL. */
static int write_frame(zb_writer *w, uint64_t size, uint64_t key,
                       zb_hold *hold) {
  zb_reservation res;
  int rc = zb_writer_reserve(w, size, &res, 0);
  if (rc < 0)
    return rc;
  fill(res.data, size, key);
  return hold ? zb_reservation_commit_hold(&res, size, hold)
              : zb_reservation_commit(&res, size);
}

/* Reads the next frame, checks it and gives it back. */
static void read_frame(zb_reader *r, uint64_t size, uint64_t key) {
  zb_frame f;
  CHECK_RC(zb_reader_next(r, &f, 1000), 0);
  CHECK_EQ_U64(f.size, size);
  CHECK(f.size == size && has_pattern(f.data, size, key));
  CHECK_RC(zb_frame_release(&f), 0);
}

/* A held frame stays intact while the reader takes and gives back every
 * frame and the writer goes round the ring up to it; once released, the
 * writer goes on over its bytes. */
static void test_hold_never_overwritten(void) {
  pair p;
  zb_hold h;
  zb_writer_holds_info info;
  uint64_t key = 100, written = 0;
  int rc = 0, i;
  if (pair_open(&p, "hold-lap", 1024, NULL) == 0) {
    for (i = 0; i < 3; i++) { /* the held frame is not at 0 */
      CHECK_RC(write_frame(p.w, 100, key, NULL), 0);
      read_frame(p.r, 100, key++);
    }
    CHECK_RC(write_frame(p.w, 100, 7, &h), 0);
    CHECK(h.data != NULL && h.size == 100 && h.writer == p.w);
    read_frame(p.r, 100, 7); /* the reader is done with it */
    CHECK_RC(zb_writer_holds(p.w, 100, &info), 0);
    CHECK_EQ_U64(info.holds, 1);
    CHECK_EQ_U64(info.bytes, 116);
    CHECK_EQ_U64(info.room, 1024 - 116); /* all but the held frame */
    CHECK(!info.blocks_size);
    for (;;) {
      rc = write_frame(p.w, 100, key, NULL);
      if (rc < 0)
        break;
      read_frame(p.r, 100, key++);
      written += 116;
      CHECK(has_pattern(h.data, 100, 7));
    }
    CHECK_RC(rc, ZB_EAGAIN);
    CHECK_MSG("held by the writer");
    CHECK(written >= 1024 - 2 * 116); /* it went round, up to the hold */
    CHECK(has_pattern(h.data, 100, 7));
    zb_hold_release(&h);
    CHECK(h.writer == NULL);
    zb_hold_release(&h); /* no effect */
    for (i = 0; i < 40; i++) { /* several laps over the released bytes */
      CHECK_RC(write_frame(p.w, 100, key, NULL), 0);
      read_frame(p.r, 100, key++);
    }
    CHECK_RC(zb_writer_holds(p.w, 100, &info), 0);
    CHECK_EQ_U64(info.holds, 0);
    CHECK_EQ_U64(info.room, 1024);
  }
  pair_close(&p);
}

/* zb_writer_holds answers (0) with a read position past the ring (a
 * corrupted segment, which the next reserve reports) and leaves the
 * thread's last error as it was: it set "read position 2000 is past the
 * 1024-byte ring" over the caller's error while returning 0. */
static void test_holds_keep_last_error(void) {
  pair p;
  zb_hold h;
  zb_reservation res;
  zb_writer_holds_info info;
  struct stat st;
  zb_oieb *oieb;
  uint8_t *base;
  uint64_t read_pos;
  char path[128];
  int fd;
  if (pair_open(&p, "hold-error", 1024, NULL) == 0) {
    CHECK_RC(write_frame(p.w, 100, 7, &h), 0);
    snprintf(path, sizeof path, "/%s", p.name);
    fd = shm_open(path, O_RDWR, 0);
    CHECK(fd >= 0 && fstat(fd, &st) == 0);
    base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                fd, 0);
    CHECK(base != MAP_FAILED);
    oieb = (zb_oieb *)base;
    read_pos = atomic_exchange(&oieb->payload_read_pos, 2000);
    CHECK_RC(zb_writer_reserve(p.w, 0, &res, 0), ZB_EINVAL);
    CHECK_RC(zb_writer_holds(p.w, 100, &info), 0);
    CHECK_MSG("a frame of 0 bytes is invalid");
    CHECK_RC(zb_writer_reserve(p.w, 100, &res, 0), ZB_EPROTO);
    CHECK_MSG("read position 2000 is past the 1024-byte ring");
    atomic_store(&oieb->payload_read_pos, read_pos);
    munmap(base, (size_t)st.st_size);
    close(fd);
    read_frame(p.r, 100, 7);
    zb_hold_release(&h);
  }
  pair_close(&p);
}

/* Holds end in any order: the room always ends at the oldest one left. */
static void test_hold_release_out_of_order(void) {
  pair p;
  zb_hold h[3];
  zb_writer_holds_info info;
  int i;
  if (pair_open(&p, "hold-order", 1024, NULL) == 0) {
    for (i = 0; i < 3; i++) {
      CHECK_RC(write_frame(p.w, 100, (uint64_t)i, &h[i]), 0);
      read_frame(p.r, 100, (uint64_t)i);
    }
    CHECK(h[1].data == h[0].data + 116 && h[2].data == h[1].data + 116);
    /* the allocation position is 348: the room ends at h[0] (0) */
    CHECK_RC(zb_writer_holds(p.w, 100, &info), 0);
    CHECK_EQ_U64(info.holds, 3);
    CHECK_EQ_U64(info.bytes, 3 * 116);
    CHECK_EQ_U64(info.room, 1024 - 348);
    zb_hold_release(&h[1]);
    CHECK_RC(zb_writer_holds(p.w, 100, &info), 0);
    CHECK_EQ_U64(info.holds, 2);
    CHECK_EQ_U64(info.room, 1024 - 348);
    zb_hold_release(&h[0]);
    CHECK_RC(zb_writer_holds(p.w, 100, &info), 0);
    CHECK_EQ_U64(info.room, 1024 - 348 + 232); /* up to h[2] */
    /* Go round up to h[2]: 5 frames from 348 to 928, a wrap, 2 frames at
     * 0 and 116; the 8th would cover h[2] at 232. */
    for (i = 0; i < 7; i++) {
      CHECK_RC(write_frame(p.w, 100, 50 + (uint64_t)i, NULL), 0);
      read_frame(p.r, 100, 50 + (uint64_t)i);
      CHECK(has_pattern(h[2].data, 100, 2));
    }
    CHECK_RC(zb_writer_holds(p.w, 100, &info), 0);
    CHECK(info.blocks_size); /* 100 bytes would wait for h[2] */
    CHECK_RC(write_frame(p.w, 100, 60, NULL), ZB_EAGAIN);
    zb_hold_release(&h[2]);
    CHECK_RC(write_frame(p.w, 100, 60, NULL), 0);
    read_frame(p.r, 100, 60);
    CHECK_RC(zb_writer_holds(p.w, 100, &info), 0);
    CHECK_EQ_U64(info.holds, 0);
    CHECK_EQ_U64(info.bytes, 0);
  }
  pair_close(&p);
}

typedef struct hold_waiter {
  zb_writer *w;
  int timeout_ms;
  int rc;
  double done_ms;
} hold_waiter;

static void *reserve_thread(void *arg) {
  hold_waiter *a = arg;
  zb_reservation res;
  a->rc = zb_writer_reserve(a->w, 100, &res, a->timeout_ms);
  a->done_ms = now_ms();
  if (a->rc == 0)
    zb_reservation_commit(&res, 100);
  return NULL;
}

/* Fills the ring with held frames the reader gave back. */
static int hold_all(pair *p, zb_hold *h, int max) {
  int n = 0;
  while (n < max && write_frame(p->w, 100, (uint64_t)n, &h[n]) == 0) {
    read_frame(p->r, 100, (uint64_t)n);
    n++;
  }
  return n;
}

/* A reserve that waits for held bytes wakes as soon as they are released,
 * not at the end of a polling slice; the adapter sees it blocked. */
static void test_hold_release_wakes_reserve(void) {
  pair p;
  zb_hold h[16];
  zb_writer_holds_info info;
  pthread_t t;
  hold_waiter a;
  double released, worst = 0;
  int n, i, round;
  if (pair_open(&p, "hold-wake", 1024, NULL) == 0) {
    for (round = 0; round < 5; round++) {
      n = hold_all(&p, h, 16);
      CHECK(n >= 7);
      a = (hold_waiter){p.w, 5000, 1, 0};
      pthread_create(&t, NULL, reserve_thread, &a);
      for (i = 0; i < 200; i++) { /* until it waits */
        CHECK_RC(zb_writer_holds(p.w, 100, &info), 0);
        if (info.blocked == 1)
          break;
        sleep_ms(1);
      }
      CHECK_EQ_U64(info.blocked, 1);
      sleep_ms(20);
      released = now_ms();
      for (i = 0; i < n; i++)
        zb_hold_release(&h[i]);
      pthread_join(t, NULL);
      CHECK_RC(a.rc, 0);
      if (a.done_ms - released > worst)
        worst = a.done_ms - released;
      { /* the waiter's frame */
        zb_frame f;
        CHECK_RC(zb_reader_next(p.r, &f, 1000), 0);
        CHECK_RC(zb_frame_release(&f), 0);
      }
    }
    /* the liveness slice is 50 ms: a release must not wait for it */
    if (worst >= 20)
      fprintf(stderr, "slowest wake-up after a release: %.1f ms\n", worst);
    CHECK(worst < 20);
    CHECK_RC(zb_writer_holds(p.w, 100, &info), 0);
    CHECK_EQ_U64(info.blocked, 0);
  }
  pair_close(&p);
}

/* Holds that stay: the reserve times out and says the writer's holds, not
 * the reader, keep the ring full. */
static void test_hold_timeout_message(void) {
  pair p;
  zb_hold h[16];
  zb_reservation res;
  double start;
  int n, i;
  if (pair_open(&p, "hold-timeout", 1024, NULL) == 0) {
    n = hold_all(&p, h, 16);
    start = now_ms();
    CHECK_RC(zb_writer_reserve(p.w, 100, &res, 150), ZB_ETIMEDOUT);
    CHECK(now_ms() - start >= 140);
    CHECK_MSG("because of frames held by its writer");
    CHECK_MSG("zb_hold_release");
    /* a wake ends that wait too */
    zb_writer_wake(p.w);
    CHECK_RC(zb_writer_reserve(p.w, 100, &res, 1000), ZB_ECANCELED);
    for (i = 0; i < n; i++)
      zb_hold_release(&h[i]);
    CHECK_RC(zb_writer_reserve(p.w, 100, &res, 0), 0);
    zb_reservation_cancel(&res);
  }
  pair_close(&p);
}

/* A hold keeps the mapping after the writer and the reader are gone
 * (the sanitizer build checks the reads and that nothing leaks). */
static void test_hold_outlives_writer(void) {
  pair p;
  zb_hold h;
  if (pair_open(&p, "hold-destroy", 1024, NULL) == 0) {
    CHECK_RC(write_frame(p.w, 200, 9, &h), 0);
    read_frame(p.r, 200, 9);
    zb_writer_destroy(p.w);
    p.w = NULL;
    zb_reader_destroy(p.r);
    p.r = NULL;
    CHECK(zb_test_ring_gone(p.name));
    CHECK(h.writer != NULL && has_pattern(zb_hold_data(&h), 200, 9));
    zb_hold_release(&h);
    CHECK(h.writer == NULL && zb_hold_data(&h) == NULL);
  }
  pair_close(&p);
}

/* A frame committed with a hold while an earlier reservation is open is
 * published later; when that one is cancelled, it moves down into the gap,
 * and the hold points at the bytes where the reader finds them. */
static void test_hold_after_cancelled_gap(void) {
  pair p;
  zb_reservation a, b;
  zb_hold h, h2;
  zb_frame f;
  uint8_t *first;
  if (pair_open(&p, "hold-gap", 1024, NULL) == 0) {
    CHECK_RC(zb_writer_reserve(p.w, 100, &a, 0), 0);
    CHECK_RC(zb_writer_reserve(p.w, 100, &b, 0), 0);
    first = a.data;
    fill(b.data, 100, 5);
    CHECK_RC(zb_reservation_commit_hold(&b, 100, &h), 0);
    CHECK(h.writer == p.w && h.data == NULL); /* not published yet */
    CHECK(zb_hold_data(&h) == NULL);
    zb_reservation_cancel(&a);
    CHECK(zb_hold_data(&h) == first); /* moved down over the gap */
    CHECK(h.data == first && has_pattern(h.data, 100, 5));
    CHECK_RC(zb_reader_next(p.r, &f, 1000), 0);
    CHECK(f.size == 100 && has_pattern(f.data, 100, 5));
    CHECK_RC(zb_frame_release(&f), 0);
    /* published at once: the hold is where the reservation was */
    CHECK_RC(zb_writer_reserve(p.w, 100, &a, 0), 0);
    first = a.data;
    fill(a.data, 100, 6);
    CHECK_RC(zb_reservation_commit_hold(&a, 100, &h2), 0);
    CHECK(h2.data == first && has_pattern(h2.data, 100, 6));
    read_frame(p.r, 100, 6);
    zb_hold_release(&h2);
    zb_hold_release(&h);
    CHECK_RC(zb_reservation_commit_hold(&a, 100, &h2), ZB_ESTATE);
    CHECK(h2.writer == NULL);
  }
  pair_close(&p);
}

/* ------------------------------------------------------------ flushing */

/* Which reserves are about to sleep in their wait (zb__writer_before_wait):
 * each waiting thread sets its bit, then, while `gate` is set, stays there
 * (its wait has not looked again yet). */
typedef struct sleep_watch {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  unsigned sleeping;
  bool gate;
} sleep_watch;

static _Thread_local unsigned waiter_bit;

static void note_sleeping(void *arg) {
  sleep_watch *sw = arg;
  pthread_mutex_lock(&sw->lock);
  sw->sleeping |= waiter_bit;
  pthread_cond_broadcast(&sw->cond);
  while (sw->gate)
    pthread_cond_wait(&sw->cond, &sw->lock);
  pthread_mutex_unlock(&sw->lock);
}

static void open_gate(sleep_watch *sw) {
  pthread_mutex_lock(&sw->lock);
  sw->gate = false;
  pthread_cond_broadcast(&sw->cond);
  pthread_mutex_unlock(&sw->lock);
}

/* Waits until every thread of `bits` is about to sleep (10 s at most, a
 * failure); true when they are. */
static bool await_sleeping(sleep_watch *sw, unsigned bits) {
  struct timespec until;
  bool all;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 10;
  pthread_mutex_lock(&sw->lock);
  while ((sw->sleeping & bits) != bits &&
         pthread_cond_timedwait(&sw->cond, &sw->lock, &until) == 0)
    ;
  all = (sw->sleeping & bits) == bits;
  pthread_mutex_unlock(&sw->lock);
  CHECK(all);
  return all;
}

typedef struct flush_waiter {
  zb_writer *w;
  uint64_t size;
  unsigned bit;
  int rc;
  char error[512];
} flush_waiter;

static void *reserve_until_flushed(void *arg) {
  flush_waiter *a = arg;
  zb_reservation res;
  waiter_bit = a->bit;
  a->rc = zb_writer_reserve(a->w, a->size, &res, 10000);
  snprintf(a->error, sizeof a->error, "%s", zb_last_error());
  if (a->rc == 0)
    zb_reservation_cancel(&res);
  return NULL;
}

/* Opens a pair whose ring one 900-byte frame fills, so that a 400-byte
 * reserve waits for room; each wait is noted in `sw`. 0 when open. */
static int open_full_ring(pair *p, const char *tag, sleep_watch *sw) {
  if (pair_open(p, tag, 1024, NULL) != 0)
    return -1;
  CHECK_RC(write_frame(p->w, 900, 0, NULL), 0);
  zb__writer_before_wait(p->w, note_sleeping, sw);
  return 0;
}

/* Flushing is a state, not a wake that the first wait takes: the reserves
 * waiting end, and so does every reserve that starts while it is on (a
 * wake taken by another thread's wait leaves the next reserve waiting for
 * room: zerosink's stop and flush met that). Off again, reserves wait. */
static void test_flushing_ends_every_wait(void) {
  pair p;
  sleep_watch sw = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0,
                    false};
  pthread_t t[2];
  flush_waiter a[2];
  zb_reservation res;
  double start;
  int i;
  if (open_full_ring(&p, "flushing", &sw) == 0) {
    for (i = 0; i < 2; i++) {
      a[i] = (flush_waiter){p.w, 400, 1u << i, 1, ""};
      pthread_create(&t[i], NULL, reserve_until_flushed, &a[i]);
    }
    await_sleeping(&sw, 3);
    zb_writer_set_flushing(p.w, true);
    for (i = 0; i < 2; i++) {
      pthread_join(t[i], NULL);
      CHECK_RC(a[i].rc, ZB_ECANCELED);
      CHECK(strstr(a[i].error, "is flushing (zb_writer_set_flushing)") !=
            NULL);
    }
    /* a reserve that starts now, after both waits took the flush */
    start = now_ms();
    CHECK_RC(zb_writer_reserve(p.w, 400, &res, 2000), ZB_ECANCELED);
    CHECK(now_ms() - start < 1000);
    CHECK_MSG("is flushing (zb_writer_set_flushing): no reserve waits");
    CHECK_RC(zb_writer_write(p.w, (uint8_t[400]){0}, 400, 2000),
             ZB_ECANCELED);
    /* a look that does not wait: full is ZB_EAGAIN as ever */
    CHECK_RC(zb_writer_reserve(p.w, 400, &res, 0), ZB_EAGAIN);
    /* room is no wait: the frame is reserved */
    CHECK_RC(zb_writer_reserve(p.w, 40, &res, 1000), 0);
    zb_reservation_cancel(&res);
    zb_writer_set_flushing(p.w, false);
    start = now_ms();
    CHECK_RC(zb_writer_reserve(p.w, 400, &res, 150), ZB_ETIMEDOUT);
    CHECK(now_ms() - start >= 140);
    /* the room comes back: the frame fits */
    read_frame(p.r, 900, 0);
    CHECK_RC(zb_writer_reserve(p.w, 400, &res, 1000), 0);
    zb_reservation_cancel(&res);
    zb__writer_before_wait(p.w, NULL, NULL);
  }
  pair_close(&p);
}

/* A flush set and cleared again before a waiting reserve looks still ends
 * it; a wake made before the flush is used up by the wait the flush ended
 * (the next wait is not cancelled by it), and a reserve waiting for holds
 * ends too. */
static void test_flushing_brief_and_holds(void) {
  pair p;
  sleep_watch sw = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0,
                    false};
  pthread_t t;
  flush_waiter a;
  zb_hold h[16];
  zb_reservation res;
  int n, i;
  if (open_full_ring(&p, "flush-brief", &sw) == 0) {
    a = (flush_waiter){p.w, 400, 1, 1, ""};
    sw.gate = true; /* it looks again only after the flush is over */
    pthread_create(&t, NULL, reserve_until_flushed, &a);
    await_sleeping(&sw, 1);
    zb_writer_wake(p.w);
    zb_writer_set_flushing(p.w, true);
    zb_writer_set_flushing(p.w, false);
    open_gate(&sw);
    pthread_join(t, NULL);
    CHECK_RC(a.rc, ZB_ECANCELED);
    CHECK(strstr(a.error, "was set flushing during the wait") != NULL);
    CHECK_RC(zb_writer_reserve(p.w, 400, &res, 100), ZB_ETIMEDOUT);
    read_frame(p.r, 900, 0);

    n = hold_all(&p, h, 16);
    CHECK(n >= 7);
    sw.sleeping = 0;
    a = (flush_waiter){p.w, 100, 1, 1, ""};
    pthread_create(&t, NULL, reserve_until_flushed, &a);
    await_sleeping(&sw, 1);
    zb_writer_set_flushing(p.w, true);
    pthread_join(t, NULL);
    CHECK_RC(a.rc, ZB_ECANCELED);
    CHECK(strstr(a.error, "is flushing") != NULL);
    zb_writer_set_flushing(p.w, false);
    for (i = 0; i < n; i++)
      zb_hold_release(&h[i]);
    zb__writer_before_wait(p.w, NULL, NULL);
    zb_writer_set_flushing(NULL, true); /* nothing to do */
  }
  pair_close(&p);
}

/* A wake is taken by the first wait that sees it: a reserve that starts
 * after that waits for room, while one given a wake count read before the
 * wake (zb_writer_reserve_since) ends at once, whoever took it. A count
 * read after the wake is no wake. */
static void test_reserve_since_taken_wake(void) {
  pair p;
  sleep_watch sw = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0,
                    false};
  pthread_t t;
  flush_waiter a;
  zb_reservation res;
  uint64_t wakes;
  double start;
  if (open_full_ring(&p, "since-wake", &sw) == 0) {
    a = (flush_waiter){p.w, 400, 1, 1, ""};
    pthread_create(&t, NULL, reserve_until_flushed, &a);
    await_sleeping(&sw, 1);
    wakes = zb_writer_wakes(p.w);
    zb_writer_wake(p.w);
    CHECK(zb_writer_wakes(p.w) == wakes + 1);
    pthread_join(t, NULL); /* the first waiter took the wake */
    CHECK_RC(a.rc, ZB_ECANCELED);
    start = now_ms();
    CHECK_RC(zb_writer_reserve_since(p.w, 400, &res, 2000, wakes),
             ZB_ECANCELED);
    CHECK(now_ms() - start < 1000);
    CHECK_MSG("wait interrupted");
    /* again: the count is the caller's, not used up */
    CHECK_RC(zb_writer_reserve_since(p.w, 400, &res, 2000, wakes),
             ZB_ECANCELED);
    /* a look that does not wait: full is ZB_EAGAIN as ever */
    CHECK_RC(zb_writer_reserve_since(p.w, 400, &res, 0, wakes), ZB_EAGAIN);
    /* room is no wait: the frame is reserved */
    CHECK_RC(zb_writer_reserve_since(p.w, 40, &res, 1000, wakes), 0);
    zb_reservation_cancel(&res);
    /* the plain reserve, started after the wake was taken, waits */
    start = now_ms();
    CHECK_RC(zb_writer_reserve(p.w, 400, &res, 150), ZB_ETIMEDOUT);
    CHECK(now_ms() - start >= 140);
    /* a count read after the wake: no wake since, a wait for room */
    start = now_ms();
    CHECK_RC(zb_writer_reserve_since(p.w, 400, &res, 150,
                                     zb_writer_wakes(p.w)),
             ZB_ETIMEDOUT);
    CHECK(now_ms() - start >= 140);
    read_frame(p.r, 900, 0);
    CHECK_RC(zb_writer_reserve_since(p.w, 400, &res, 1000, wakes), 0);
    zb_reservation_cancel(&res);
    zb__writer_before_wait(p.w, NULL, NULL);
    CHECK(zb_writer_wakes(NULL) == 0);
    CHECK_RC(zb_writer_reserve_since(NULL, 40, &res, 0, wakes), ZB_EINVAL);
    CHECK_MSG("zb_writer_reserve_since: writer and reservation");
  }
  pair_close(&p);
}

int main(void) {
  RUN(test_published_in_ring_order);
  RUN(test_cancel_earlier);
  RUN(test_random_order);
  RUN(test_threads);
  RUN(test_destroy_with_open_reservation);
  RUN(test_abandoned_reservation_writes_stay_private);
  RUN(test_wake_all_waiters);
  RUN(test_wrap_early);
  RUN(test_wrap_early_leaves_slack);
  RUN(test_writer_died_mid_publish);
  RUN(test_next_writer_completes_torn_publish);
  RUN(test_next_writer_after_small_tails);
  RUN(test_count_deficit_put_right_at_end);
  RUN(test_free_excess_put_right_at_end);
  RUN(test_write_pos_checked_at_connect);
  RUN(test_lease_outlives_reader);
  RUN(test_poison);
  RUN(test_poison_spares_in_place);
  RUN(test_keep_address_range);
  RUN(test_retired_ranges_reaped);
  RUN(test_pinned_range_outlives_grace);
  RUN(test_retired_range_overcommit);
  RUN(test_metadata_frame_header);
  RUN(test_sizing);
  RUN(test_duplex_ring_name_reason);
  RUN(test_duplex_channel_too_long);
  RUN(test_health_backlog);
  RUN(test_hold_never_overwritten);
  RUN(test_holds_keep_last_error);
  RUN(test_hold_release_out_of_order);
  RUN(test_hold_release_wakes_reserve);
  RUN(test_hold_timeout_message);
  RUN(test_hold_outlives_writer);
  RUN(test_hold_after_cancelled_gap);
  RUN(test_flushing_ends_every_wait);
  RUN(test_flushing_brief_and_holds);
  RUN(test_reserve_since_taken_wake);
  return zb_test_finish("core-handles");
}

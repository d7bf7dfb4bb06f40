/* test_holds.c — writer-side holds (zb_reservation_commit_hold): held
 * bytes are never written over, also after the reader released them and
 * while the writer laps the ring; holds end in any order and wake a waiting
 * reserve at once; a reserve that holds block times out saying so; a hold
 * outlives zb_writer_destroy; a frame moved down over a cancelled
 * reservation's gap is held where it was published. */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "zb_test.h"

static uint8_t pattern(uint64_t key, uint64_t i) {
  return (uint8_t)((i * 131 + key * 29 + (i >> 8)) & 0xFF);
}

static void fill(uint8_t *p, uint64_t size, uint64_t key) {
  uint64_t i;
  for (i = 0; i < size; i++)
    p[i] = pattern(key, i);
}

static int has_pattern(const uint8_t *p, uint64_t size, uint64_t key) {
  uint64_t i;
  for (i = 0; i < size; i++)
    if (p[i] != pattern(key, i))
      return 0;
  return 1;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

typedef struct pair {
  char name[96];
  zb_reader *r;
  zb_writer *w;
} pair;

static int pair_open(pair *p, const char *tag, uint64_t payload) {
  memset(p, 0, sizeof *p);
  snprintf(p->name, sizeof p->name, "%s", zb_test_name(tag));
  CHECK_RC(zb_reader_create(&p->r, p->name, 64, payload, NULL), 0);
  CHECK_RC(zb_writer_connect(&p->w, p->name), 0);
  return p->r != NULL && p->w != NULL ? 0 : -1;
}

static void pair_close(pair *p) {
  zb_writer_destroy(p->w);
  zb_reader_destroy(p->r);
  CHECK(zb_test_ring_gone(p->name));
  zb_test_remove_ring(p->name);
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
  if (pair_open(&p, "hold-lap", 1024) == 0) {
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

/* Holds end in any order: the room always ends at the oldest one left. */
static void test_hold_release_out_of_order(void) {
  pair p;
  zb_hold h[3];
  zb_writer_holds_info info;
  int i;
  if (pair_open(&p, "hold-order", 1024) == 0) {
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

typedef struct waiter {
  zb_writer *w;
  int timeout_ms;
  int rc;
  double done_ms;
} waiter;

static void *reserve_thread(void *arg) {
  waiter *a = arg;
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
  waiter a;
  double released, worst = 0;
  int n, i, round;
  if (pair_open(&p, "hold-wake", 1024) == 0) {
    for (round = 0; round < 5; round++) {
      n = hold_all(&p, h, 16);
      CHECK(n >= 7);
      a = (waiter){p.w, 5000, 1, 0};
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
  if (pair_open(&p, "hold-timeout", 1024) == 0) {
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
  if (pair_open(&p, "hold-destroy", 1024) == 0) {
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
  if (pair_open(&p, "hold-gap", 1024) == 0) {
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

int main(void) {
  RUN(test_hold_never_overwritten);
  RUN(test_hold_release_out_of_order);
  RUN(test_hold_release_wakes_reserve);
  RUN(test_hold_timeout_message);
  RUN(test_hold_outlives_writer);
  RUN(test_hold_after_cancelled_gap);
  return zb_test_finish("core-holds");
}

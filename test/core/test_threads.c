/* test_threads.c — the core's handles used from several threads at once,
 * the interleavings the threading rules allow (native/core/README.md,
 * "Threads"), so that ThreadSanitizer (scripts/test.sh, builddir-tsan/)
 * sees every path where one thread's access meets another's: reservations
 * reserved, filled, committed whole or shrunk, cancelled and held from four
 * threads while the ring wraps; holds checked and released on another
 * thread; frames read on one thread and released, in batches and poisoned,
 * on two others, while a watcher reads the counters; metadata written by
 * two threads at once; the writer and the reader destroyed while other
 * threads still fill reservations, wait for room and hold frames. Every
 * frame's bytes are checked. The handles of one side are shared by its
 * threads: a reader and a writer in one process map the ring twice, and a
 * sanitizer sees a data race only within one mapping. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "zb_test.h"

static uint8_t pattern(uint64_t key, uint64_t i) {
  return (uint8_t)((i * 131 + key * 29 + (i >> 8)) & 0xFF);
}

/* A frame's payload: the filler's id, its number, then the pattern. */
static void fill(uint8_t *p, uint64_t size, uint32_t id, uint32_t n) {
  uint64_t key = (uint64_t)id << 32 | n, i;
  memcpy(p, &id, 4);
  memcpy(p + 4, &n, 4);
  for (i = 8; i < size; i++)
    p[i] = pattern(key, i);
}

/* Whether size bytes at p are a frame of fill(); *id and *n as found. */
static int intact(const uint8_t *p, uint64_t size, uint32_t *id, uint32_t *n) {
  uint64_t key, i;
  if (size < 8)
    return 0;
  memcpy(id, p, 4);
  memcpy(n, p + 4, 4);
  key = (uint64_t)*id << 32 | *n;
  for (i = 8; i < size; i++)
    if (p[i] != pattern(key, i))
      return 0;
  return 1;
}

/* Whether each byte of a held frame is still what fill() wrote or the
 * reader's poison (its release may poison the bytes while we look: a hold
 * keeps the writer off them, not the reader). */
static int intact_or_poisoned(const uint8_t *p, uint64_t size, uint32_t id,
                              uint32_t n) {
  uint8_t expected[8];
  uint64_t key = (uint64_t)id << 32 | n, i;
  memcpy(expected, &id, 4);
  memcpy(expected + 4, &n, 4);
  for (i = 0; i < size; i++) {
    /* read once: the release may poison the byte between two reads */
    uint8_t byte = ((const volatile uint8_t *)p)[i];
    if (byte != ZB_POISON_BYTE && byte != (i < 8 ? expected[i] : pattern(key, i))) {
      fprintf(stderr, "held frame %u/%u: byte %llu of %llu is %u\n", id, n,
              (unsigned long long)i, (unsigned long long)size, byte);
      return 0;
    }
  }
  return 1;
}

static uint64_t next_random(uint64_t *state) {
  *state ^= *state << 13;
  *state ^= *state >> 7;
  *state ^= *state << 17;
  return *state;
}

static void sleep_us(long us) {
  struct timespec ts = {0, us * 1000L};
  nanosleep(&ts, NULL);
}

/* A queue of items handed from one thread to another; pop waits until an
 * item is there or the queue is closed and empty (then 0). */
typedef struct handoff {
  pthread_mutex_t lock;
  pthread_cond_t changed;
  void *items;
  size_t item_size, cap, count;
  bool closed;
} handoff;

static void handoff_init(handoff *q, size_t item_size, size_t cap) {
  pthread_mutex_init(&q->lock, NULL);
  pthread_cond_init(&q->changed, NULL);
  q->items = calloc(cap, item_size);
  q->item_size = item_size;
  q->cap = cap;
  q->count = 0;
  q->closed = false;
}

static void handoff_push(handoff *q, const void *item) {
  pthread_mutex_lock(&q->lock);
  while (q->count == q->cap)
    pthread_cond_wait(&q->changed, &q->lock);
  memcpy((uint8_t *)q->items + q->count * q->item_size, item, q->item_size);
  q->count++;
  pthread_cond_broadcast(&q->changed);
  pthread_mutex_unlock(&q->lock);
}

/* Takes up to max items (oldest first) into out; 0 once closed and empty. */
static size_t handoff_pop(handoff *q, void *out, size_t max) {
  size_t n;
  pthread_mutex_lock(&q->lock);
  while (q->count == 0 && !q->closed)
    pthread_cond_wait(&q->changed, &q->lock);
  n = q->count < max ? q->count : max;
  memcpy(out, q->items, n * q->item_size);
  memmove(q->items, (uint8_t *)q->items + n * q->item_size,
          (q->count - n) * q->item_size);
  q->count -= n;
  pthread_cond_broadcast(&q->changed);
  pthread_mutex_unlock(&q->lock);
  return n;
}

static void handoff_close(handoff *q) {
  pthread_mutex_lock(&q->lock);
  q->closed = true;
  pthread_cond_broadcast(&q->changed);
  pthread_mutex_unlock(&q->lock);
}

static void handoff_free(handoff *q) {
  pthread_mutex_destroy(&q->lock);
  pthread_cond_destroy(&q->changed);
  free(q->items);
}

/* ------------------------------------------- four fillers, two releasers */

enum { FILLERS = 4, PER_FILLER = 600, RELEASERS = 2 };

typedef struct held_frame {
  zb_hold hold;
  uint32_t id, n;
  uint64_t size;
} held_frame;

typedef struct shared_run {
  zb_writer *w;
  zb_reader *r;
  handoff leases;           /* zb_frame: read, to release */
  handoff holds;            /* held_frame: committed with a hold, to check */
  atomic_uint_fast64_t committed; /* frames committed (whole, shrunk, held) */
  atomic_int fillers_done;
  atomic_bool reading_done;
} shared_run;

typedef struct filler {
  shared_run *run;
  uint32_t id;
  int failures;
} filler;

/* Reserves, fills and then commits whole (most), commits a shorter frame,
 * cancels, or commits with a hold that the hold checker ends. */
static void *filler_main(void *arg) {
  filler *f = arg;
  uint64_t rng = 0x9E3779B97F4A7C15u * (f->id + 1);
  uint32_t n;
  for (n = 0; n < PER_FILLER; n++) {
    zb_reservation res;
    uint64_t size = 8 + next_random(&rng) % 900, choice = next_random(&rng) % 20;
    int rc = zb_writer_reserve(f->run->w, size, &res, 10000);
    if (rc == ZB_ECANCELED) { /* the watcher's wake */
      n--;
      continue;
    }
    if (rc != 0) {
      fprintf(stderr, "filler %u: %s (%s)\n", f->id, zb_err_name(rc),
              zb_last_error());
      f->failures++;
      break;
    }
    fill(res.data, size, f->id, n);
    if (choice < 3) {
      zb_reservation_cancel(&res);
      continue;
    }
    if (choice < 6) {
      size = 8 + (size - 8) / 2;
      rc = zb_reservation_commit(&res, size);
    } else if (choice < 9) {
      held_frame h = {.id = f->id, .n = n, .size = size};
      rc = zb_reservation_commit_hold(&res, size, &h.hold);
      if (rc == 0)
        handoff_push(&f->run->holds, &h);
    } else {
      rc = zb_reservation_commit(&res, size);
    }
    if (rc != 0) {
      f->failures++;
      break;
    }
    atomic_fetch_add(&f->run->committed, 1);
  }
  atomic_fetch_add(&f->run->fillers_done, 1);
  return NULL;
}

typedef struct checker {
  shared_run *run;
  int failures;
  uint64_t checked;
} checker;

/* Checks each held frame's bytes (still what was committed, or poisoned
 * by the reader's release, whatever the other threads write meanwhile) and
 * releases its hold. */
static void *hold_checker_main(void *arg) {
  checker *c = arg;
  held_frame h[8];
  size_t n, i;
  while ((n = handoff_pop(&c->run->holds, h, 8)) > 0) {
    for (i = 0; i < n; i++) {
      const uint8_t *data;
      int tries = 0;
      /* published once the reservations before it are settled */
      while ((data = zb_hold_data(&h[i].hold)) == NULL && tries++ < 20000)
        sleep_us(100);
      if (data == NULL || h[i].hold.size != h[i].size ||
          !intact_or_poisoned(data, h[i].size, h[i].id, h[i].n))
        c->failures++;
      zb_hold_release(&h[i].hold);
      if (h[i].hold.writer != NULL)
        c->failures++;
      c->checked++;
    }
  }
  return NULL;
}

typedef struct releaser {
  shared_run *run;
  int failures;
  uint64_t released;
} releaser;

/* Releases the frames the reading thread hands over, in batches. */
static void *releaser_main(void *arg) {
  releaser *rl = arg;
  zb_frame frames[4];
  size_t n;
  while ((n = handoff_pop(&rl->run->leases, frames, 4)) > 0) {
    if (zb_frames_release(frames, n) != 0)
      rl->failures++;
    rl->released += n;
  }
  return NULL;
}

typedef struct watcher {
  shared_run *run;
  int failures;
} watcher;

/* Reads both sides' counters, health and room while the others work, and
 * now and then interrupts their waits (zb_*_wake: they wait again). */
static void *watcher_main(void *arg) {
  watcher *wt = arg;
  shared_run *run = wt->run;
  unsigned i;
  for (i = 1; !atomic_load(&run->reading_done); i++) {
    zb_writer_holds_info info;
    zb_reader_room_info room;
    zb_health h;
    if (zb_writer_holds(run->w, 500, &info) != 0 || info.room > 32 * 1024)
      wt->failures++;
    if (zb_writer_health(run->w, &h) != 0 || zb_reader_health(run->r, &h) != 0)
      wt->failures++;
    (void)zb_reader_held_frames(run->r);
    if (zb_reader_room(run->r, &room) != 0 || room.largest > 907)
      wt->failures++;
    if (i % 8 == 0) {
      zb_writer_wake(run->w);
      zb_reader_wake(run->r);
    }
    sleep_us(20);
  }
  return NULL;
}

static void test_fillers_and_releasers(void) {
  const char *name = zb_test_name("threads");
  zb_reader_options opts = {.poison_released = true};
  shared_run run = {0};
  pthread_t fill_t[FILLERS], rel_t[RELEASERS], check_t, watch_t;
  filler f[FILLERS];
  releaser rl[RELEASERS];
  checker ck = {&run, 0, 0};
  watcher wt = {&run, 0};
  uint32_t next_n[FILLERS] = {0};
  uint64_t frames = 0, released = 0, sequence = 0, wakes = 0;
  int i, bad = 0;

  CHECK_RC(zb_reader_create(&run.r, name, 64, 32 * 1024, &opts), 0);
  CHECK_RC(zb_writer_connect(&run.w, name), 0);
  if (run.r == NULL || run.w == NULL)
    return;
  handoff_init(&run.leases, sizeof(zb_frame), 16);
  handoff_init(&run.holds, sizeof(held_frame), 64);
  for (i = 0; i < RELEASERS; i++) {
    rl[i] = (releaser){&run, 0, 0};
    pthread_create(&rel_t[i], NULL, releaser_main, &rl[i]);
  }
  pthread_create(&check_t, NULL, hold_checker_main, &ck);
  pthread_create(&watch_t, NULL, watcher_main, &wt);
  for (i = 0; i < FILLERS; i++) {
    f[i] = (filler){&run, (uint32_t)i, 0};
    pthread_create(&fill_t[i], NULL, filler_main, &f[i]);
  }
  for (;;) {
    zb_frame fr;
    uint32_t id, n;
    int rc;
    if (atomic_load(&run.fillers_done) == FILLERS &&
        frames == atomic_load(&run.committed))
      break;
    rc = zb_reader_next(run.r, &fr, 10000);
    if (rc == ZB_ECANCELED) { /* the watcher's wake */
      wakes++;
      continue;
    }
    if (rc < 0) {
      fprintf(stderr, "reader: %s (%s)\n", zb_err_name(rc), zb_last_error());
      bad++;
      break;
    }
    /* each filler's frames in its order; skipped numbers were cancelled */
    if (!intact(fr.data, fr.size, &id, &n) || id >= FILLERS || n < next_n[id])
      bad++;
    else
      next_n[id] = n + 1;
    if (fr.sequence != ++sequence)
      bad++;
    frames++;
    handoff_push(&run.leases, &fr);
  }
  handoff_close(&run.leases);
  for (i = 0; i < RELEASERS; i++) {
    pthread_join(rel_t[i], NULL);
    CHECK(rl[i].failures == 0);
    released += rl[i].released;
  }
  for (i = 0; i < FILLERS; i++) {
    pthread_join(fill_t[i], NULL);
    CHECK(f[i].failures == 0);
  }
  handoff_close(&run.holds);
  pthread_join(check_t, NULL);
  atomic_store(&run.reading_done, true);
  pthread_join(watch_t, NULL);
  CHECK(bad == 0);
  CHECK(ck.failures == 0);
  CHECK(ck.checked > 0);
  CHECK(wt.failures == 0);
  CHECK(wakes > 0);
  CHECK_EQ_U64(released, frames);
  CHECK(frames > FILLERS * PER_FILLER / 2);
  CHECK_EQ_U64(zb_reader_held_frames(run.r), 0);
  zb_writer_destroy(run.w);
  zb_reader_destroy(run.r);
  CHECK(zb_test_ring_gone(name));
  handoff_free(&run.leases);
  handoff_free(&run.holds);
}

/* ------------------------------------------------------------- metadata */

enum { METADATA_ROUNDS = 100 };

typedef struct metadata_writer {
  zb_writer *w;
  atomic_int *ready; /* both spin until both are running: same moment */
  char text[32];
  int rc;
} metadata_writer;

static void *set_metadata_main(void *arg) {
  metadata_writer *m = arg;
  atomic_fetch_add(m->ready, 1);
  while (atomic_load(m->ready) < 2) {
  }
  m->rc = zb_writer_set_metadata(m->w, m->text, strlen(m->text));
  return NULL;
}

/* Two threads write different metadata on one writer at the same moment:
 * one of them is written, whole, and the other is refused. */
static void test_metadata_from_two_threads(void) {
  int round;
  for (round = 0; round < METADATA_ROUNDS; round++) {
    const char *name = zb_test_name("meta");
    zb_reader *r = NULL;
    zb_writer *w = NULL;
    metadata_writer m[2];
    atomic_int ready = 0;
    pthread_t t[2];
    const uint8_t *data;
    uint64_t size;
    int i, won = -1;
    CHECK_RC(zb_reader_create(&r, name, 64, 4096, NULL), 0);
    CHECK_RC(zb_writer_connect(&w, name), 0);
    if (r == NULL || w == NULL)
      break;
    for (i = 0; i < 2; i++) {
      m[i] = (metadata_writer){w, &ready, "", 1};
      snprintf(m[i].text, sizeof m[i].text, "thread %d's caps%s", i,
               i ? " and more" : "");
      pthread_create(&t[i], NULL, set_metadata_main, &m[i]);
    }
    for (i = 0; i < 2; i++)
      pthread_join(t[i], NULL);
    for (i = 0; i < 2; i++)
      if (m[i].rc == 0)
        won = i;
    CHECK(won >= 0 && m[1 - won].rc == ZB_EMETADATA);
    CHECK_RC(zb_reader_metadata(r, &data, &size), 0);
    CHECK(won >= 0 && size == strlen(m[won].text) &&
          memcmp(data, m[won].text, size) == 0);
    zb_writer_destroy(w);
    zb_reader_destroy(r);
    if (zb_test_failures > 0)
      break;
  }
}

/* ------------------------------------------ destroying under other threads */

typedef struct destroy_filler {
  zb_writer *w;
  int rc;
  uint64_t commits;
} destroy_filler;

/* Writes until the writer is closed under it (through a reference of its
 * own, zb_writer_ref): its reservation stays writable and its commit, or
 * its wait or next reserve, reports the close. */
static void *destroy_filler_main(void *arg) {
  destroy_filler *d = arg;
  uint32_t n;
  for (n = 0;; n++) {
    zb_reservation res;
    int rc = zb_writer_reserve(d->w, 300, &res, 100);
    if (rc == ZB_ETIMEDOUT)
      continue;
    if (rc != 0) {
      d->rc = rc;
      break;
    }
    fill(res.data, 300, 9, n);
    sleep_us(50);
    rc = zb_reservation_commit(&res, 300);
    if (rc != 0) {
      d->rc = rc;
      break;
    }
    d->commits++;
  }
  zb_writer_unref(d->w);
  return NULL;
}

typedef struct lease_holder {
  handoff *leases;
  int failures;
  uint64_t checked;
} lease_holder;

/* Holds each frame a while, checks its bytes, releases it: most after the
 * reader was destroyed. */
static void *lease_holder_main(void *arg) {
  lease_holder *l = arg;
  zb_frame fr;
  while (handoff_pop(l->leases, &fr, 1) > 0) {
    uint32_t id, n;
    sleep_us(2000);
    if (!intact(fr.data, fr.size, &id, &n) || id != 9)
      l->failures++;
    if (zb_frame_release(&fr) != 0)
      l->failures++;
    l->checked++;
  }
  return NULL;
}

/* The writer destroyed while two threads fill reservations, the reader
 * destroyed while another thread holds frames (the mapping stays for them,
 * then zero pages). */
static void test_destroy_under_threads(void) {
  const char *name = zb_test_name("destroy");
  zb_reader_options opts = {.keep_address_range = true};
  zb_reader *r = NULL;
  zb_writer *w = NULL;
  destroy_filler d[2];
  pthread_t fill_t[2], hold_t;
  handoff leases;
  lease_holder lh;
  uint64_t frames = 0, commits = 0;
  int i;

  CHECK_RC(zb_reader_create(&r, name, 64, 64 * 1024, &opts), 0);
  CHECK_RC(zb_writer_connect(&w, name), 0);
  if (r == NULL || w == NULL)
    return;
  handoff_init(&leases, sizeof(zb_frame), 256);
  lh = (lease_holder){&leases, 0, 0};
  pthread_create(&hold_t, NULL, lease_holder_main, &lh);
  for (i = 0; i < 2; i++) {
    d[i] = (destroy_filler){zb_writer_ref(w), 0, 0};
    pthread_create(&fill_t[i], NULL, destroy_filler_main, &d[i]);
  }
  while (frames < 40) {
    zb_frame fr;
    if (zb_reader_next(r, &fr, 5000) != 0)
      break;
    frames++;
    handoff_push(&leases, &fr);
  }
  zb_writer_destroy(w);
  for (i = 0; i < 2; i++) {
    pthread_join(fill_t[i], NULL);
    CHECK(d[i].rc == ZB_ESTATE || d[i].rc == ZB_ECANCELED);
    commits += d[i].commits;
  }
  CHECK(commits >= 40);
  zb_reader_destroy(r);
  handoff_close(&leases);
  pthread_join(hold_t, NULL);
  CHECK_EQ_U64(frames, 40);
  CHECK_EQ_U64(lh.checked, frames);
  CHECK(lh.failures == 0);
  CHECK(zb_test_ring_gone(name));
  handoff_free(&leases);
}

typedef struct full_waiter {
  zb_writer *w; /* its own reference */
  atomic_bool started;
  int rc;
  char message[256]; /* its zb_last_error() */
} full_waiter;

static void *full_waiter_main(void *arg) {
  full_waiter *f = arg;
  zb_reservation res;
  atomic_store(&f->started, true);
  f->rc = zb_writer_reserve(f->w, 300, &res, ZB_WAIT_FOREVER);
  snprintf(f->message, sizeof f->message, "%s", zb_last_error());
  if (f->rc == 0)
    zb_reservation_cancel(&res);
  zb_writer_unref(f->w);
  return NULL;
}

/* A wait in zb_writer_reserve that the writer's destroy on another thread
 * cuts short returns ZB_ECANCELED, as zerobuffer.h says. Before, the wait
 * found writer_pid cleared by that destroy first and returned ZB_EBUSY
 * ("another process cleared it"). A thread that had not reached its wait
 * yet gets ZB_ESTATE (closed): then the round is tried again. */
static void test_destroy_ends_wait(void) {
  static const uint8_t frame[300];
  const char *name = zb_test_name("destroywait");
  zb_reader *r = NULL;
  zb_writer *w = NULL;
  full_waiter f;
  pthread_t t;
  zb_frame fr;
  int round;

  CHECK_RC(zb_reader_create(&r, name, 0, 4096, NULL), 0);
  if (r == NULL)
    return;
  for (round = 0; round < 5; round++) {
    CHECK_RC(zb_writer_connect(&w, name), 0);
    if (w == NULL)
      break;
    while (zb_writer_write(w, frame, sizeof frame, 0) == 0) {
    }
    f.w = zb_writer_ref(w);
    atomic_init(&f.started, false);
    f.rc = 0;
    pthread_create(&t, NULL, full_waiter_main, &f);
    while (!atomic_load(&f.started))
      sleep_us(1000);
    sleep_us(200 * 1000); /* into its wait */
    zb_writer_destroy(w);
    pthread_join(t, NULL);
    if (f.rc != ZB_ESTATE)
      break;
    while /* drained for the next round's writer */ (zb_reader_next(r, &fr, 0) == 0)
      zb_frame_release(&fr);
  }
  CHECK_RC(f.rc, ZB_ECANCELED);
  CHECK(strstr(f.message, "destroyed") != NULL);
  zb_reader_destroy(r);
  CHECK(zb_test_ring_gone(name));
}

int main(void) {
  RUN(test_fillers_and_releasers);
  RUN(test_metadata_from_two_threads);
  RUN(test_destroy_under_threads);
  RUN(test_destroy_ends_wait);
  return zb_test_finish("core-threads");
}

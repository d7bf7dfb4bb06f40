/* emulated.c — the peers' writers and reader as docs/PROTOCOL.md (§3, §7) describes
 * them (see emulated.h). Deliberately independent of native/core: the
 * layout is spelled out here, the shared fields are plain loads and stores
 * (the peers' fields are not atomics), except payload_free_bytes, which the
 * contract wants changed with atomic add/sub, and which the peers change
 * with a plain load and store when asked (plain_rmw). */
#include "emulated.h"

#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "frame-gen.h"

typedef struct emu_oieb {
  uint32_t oieb_size;
  uint8_t version[4];
  uint64_t metadata_size, metadata_free_bytes, metadata_written_bytes;
  uint64_t payload_size, payload_free_bytes;
  uint64_t payload_write_pos, payload_read_pos;
  uint64_t payload_written_count, payload_read_count;
  uint64_t writer_pid, reader_pid;
  uint64_t reserved[4];
} emu_oieb;

_Static_assert(sizeof(emu_oieb) == 128, "the OIEB is 128 bytes");

#define HEADER 16
#define DEFAULT_TIMEOUT_MS 5000

static uint64_t ld(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static void st(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
/* payload_free_bytes += delta: atomically, or (plain) as the C++ and
 * Python peers do, a load and a store, with a yield between that widens
 * the window in which the other side's update is lost (docs/PROTOCOL.md
 * §7, "Lost updates"). */
static void change_free(uint64_t *p, uint64_t delta, int plain) {
  uint64_t v;
  if (!plain) {
    __atomic_fetch_add(p, delta, __ATOMIC_ACQ_REL);
    return;
  }
  v = ld(p);
  sched_yield();
  st(p, v + delta);
}
static void add(uint64_t *p, uint64_t v, int plain) { change_free(p, v, plain); }
static void sub(uint64_t *p, uint64_t v, int plain) { change_free(p, -v, plain); }

static int fail(char *err, size_t errlen, int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return status;
}

static int alive(uint64_t pid) {
  return pid != 0 && pid <= 0x7fffffff && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

/* sem_timedwait for ms milliseconds (CLOCK_REALTIME, as the peers do). */
static int wait_ms(sem_t *sem, int ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  while (sem_timedwait(sem, &ts) != 0)
    if (errno != EINTR)
      return -1;
  return 0;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void emu_stats_frame(emu_stats *s, const uint8_t *data, uint64_t size) {
  uint8_t le[8];
  int i;
  for (i = 0; i < 8; i++)
    le[i] = (uint8_t)(size >> (8 * i));
  s->frames++;
  s->hash = zb_fnv1a(s->hash, data, size);
  s->sizes_hash = zb_fnv1a(s->sizes_hash, le, sizeof le);
}

void emu_stats_init(emu_stats *s) {
  memset(s, 0, sizeof *s);
  s->hash = s->sizes_hash = 2166136261u;
}

typedef struct ring {
  char shm[300], sem_w[300], sem_r[300], lock[300];
  uint8_t *base;
  size_t size;
  emu_oieb *oieb;
  uint8_t *payload;
  uint64_t ring;
  sem_t *w, *r;
  int lock_fd;
  int attached; /* writer: our pid is in writer_pid */
} ring;

static void names(ring *g, const char *name) {
  snprintf(g->shm, sizeof g->shm, "/%s", name);
  snprintf(g->sem_w, sizeof g->sem_w, "/sem-w-%s", name);
  snprintf(g->sem_r, sizeof g->sem_r, "/sem-r-%s", name);
  snprintf(g->lock, sizeof g->lock, "/tmp/zerobuffer/%s.lock", name);
  g->w = g->r = SEM_FAILED;
  g->lock_fd = -1;
  g->base = MAP_FAILED;
  g->attached = 0;
}

static void ring_close(ring *g) {
  if (g->w != SEM_FAILED)
    sem_close(g->w);
  if (g->r != SEM_FAILED)
    sem_close(g->r);
  if (g->base != MAP_FAILED)
    munmap(g->base, g->size);
}

/* ---------------------------------------------------------------- writer */

static int writer_connect(ring *g, const char *name, char *err, size_t errlen) {
  struct stat sb;
  int fd;
  names(g, name);
  fd = shm_open(g->shm, O_RDWR, 0);
  if (fd < 0)
    return fail(err, errlen, EMU_ERROR, "no ring %s: %s", name, strerror(errno));
  if (fstat(fd, &sb) != 0 || sb.st_size < (off_t)sizeof(emu_oieb)) {
    close(fd);
    return fail(err, errlen, EMU_ERROR, "ring %s: segment too small", name);
  }
  g->size = (size_t)sb.st_size;
  g->base = mmap(NULL, g->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (g->base == MAP_FAILED)
    return fail(err, errlen, EMU_ERROR, "mmap: %s", strerror(errno));
  g->oieb = (emu_oieb *)g->base;
  if (g->oieb->oieb_size != 128 || g->oieb->version[0] != 1)
    return fail(err, errlen, EMU_ERROR, "invalid OIEB size - version mismatch?");
  g->ring = g->oieb->payload_size;
  if (128 + g->oieb->metadata_size + g->ring != g->size)
    return fail(err, errlen, EMU_ERROR, "ring %s: sizes do not match the segment", name);
  g->payload = g->base + 128 + g->oieb->metadata_size;
  if (!alive(ld(&g->oieb->reader_pid)))
    return fail(err, errlen, EMU_ERROR, "no active reader found");
  if (alive(ld(&g->oieb->writer_pid)))
    return fail(err, errlen, EMU_ERROR, "another writer is already connected");
  st(&g->oieb->writer_pid, (uint64_t)getpid());
  g->attached = 1;
  g->w = sem_open(g->sem_w, 0);
  g->r = sem_open(g->sem_r, 0);
  if (g->w == SEM_FAILED || g->r == SEM_FAILED)
    return fail(err, errlen, EMU_ERROR, "cannot open the semaphores: %s", strerror(errno));
  return EMU_OK;
}

static int write_metadata(ring *g, const char *text, char *err, size_t errlen) {
  uint64_t n = strlen(text);
  uint8_t *meta = g->base + 128;
  if (ld(&g->oieb->metadata_written_bytes) != 0)
    return EMU_OK; /* a restarted writer finds it written */
  if (8 + n > g->oieb->metadata_size)
    return fail(err, errlen, EMU_ERROR, "metadata too large for buffer");
  memcpy(meta, &n, 8);
  memcpy(meta + 8, text, n);
  st(&g->oieb->metadata_free_bytes, g->oieb->metadata_size - 8 - n);
  st(&g->oieb->metadata_written_bytes, 8 + n);
  return EMU_OK;
}

/* Waits until payload_free_bytes >= required, looking again only after a
 * post on sem-r, as the peers do. */
static int wait_space(ring *g, uint64_t required, int timeout_ms, emu_stats *s,
                      char *err, size_t errlen) {
  for (;;) {
    uint64_t free_bytes = ld(&g->oieb->payload_free_bytes);
    if (free_bytes >= required)
      return EMU_OK;
    if (ld(&g->oieb->reader_pid) == 0)
      return fail(err, errlen, EMU_ERROR, "reader dead (it closed the ring)");
    s->waits++;
    if (wait_ms(g->r, timeout_ms) != 0) {
      if (!alive(ld(&g->oieb->reader_pid)))
        return fail(err, errlen, EMU_ERROR, "reader dead");
      int semv = -1; /* posts given and not taken: a missed wake-up shows here */
      sem_getvalue(g->r, &semv);
      return fail(err, errlen, EMU_FULL,
                  "buffer is full: %llu bytes free after %d ms, %llu needed "
                  "(write_pos %llu, read_pos %llu, sem-r %d)",
                  (unsigned long long)ld(&g->oieb->payload_free_bytes), timeout_ms,
                  (unsigned long long)required,
                  (unsigned long long)ld(&g->oieb->payload_write_pos),
                  (unsigned long long)ld(&g->oieb->payload_read_pos), semv);
    }
  }
}

/* The wrap before a frame that does not fit in the space to the end. */
static int wrap(ring *g, emu_kind kind, int plain, uint64_t pos, emu_stats *s,
                char *err, size_t errlen) {
  emu_oieb *o = g->oieb;
  uint64_t space = g->ring - pos;
  static const uint8_t marker[HEADER];
  if (space == 0 && kind == EMU_PYTHON && ld(&o->payload_read_pos) == 0)
    return fail(err, errlen, EMU_EXACT_END,
                "after a frame that ended exactly at the end of the ring, "
                "read_pos is 0: the Python writer would write past the ring");
  if (space >= HEADER) {
    memcpy(g->payload + pos, marker, HEADER);
    s->markers++;
  } else if (space > 0) {
    s->small_tails++;
  }
  if (kind == EMU_CPP) {
    if (space >= HEADER) /* counted before write_pos moves */
      st(&o->payload_written_count, ld(&o->payload_written_count) + 1);
    sub(&o->payload_free_bytes, space, plain);
    st(&o->payload_write_pos, 0);
  } else {
    sub(&o->payload_free_bytes, space, plain);
    st(&o->payload_write_pos, 0);
    st(&o->payload_written_count, ld(&o->payload_written_count) + 1);
    if (space < HEADER)
      s->phantoms++;
  }
  return EMU_OK;
}

int emu_write(const char *name, const emu_write_opts *opts, emu_stats *s,
              char *err, size_t errlen) {
  int timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
  uint8_t *buf = NULL;
  uint64_t seq;
  int rc;
  ring g;

  emu_stats_init(s);
  err[0] = '\0';
  rc = writer_connect(&g, name, err, errlen);
  if (rc == EMU_OK && opts->metadata != NULL)
    rc = write_metadata(&g, opts->metadata, err, errlen);
  if (rc == EMU_OK && (buf = malloc(opts->max)) == NULL)
    rc = fail(err, errlen, EMU_ERROR, "out of memory");
  for (seq = 1; rc == EMU_OK && seq <= opts->frames; seq++) {
    emu_oieb *o = g.oieb;
    uint64_t pos = ld(&o->payload_write_pos), size, total, space, required;
    uint64_t header[2];
    zb_gen gen;
    uint32_t draw = zb_gen_start(&gen, opts->seed, seq);
    size = opts->edge_sizes
               ? zb_gen_edge_size(draw, opts->min, opts->max, g.ring, pos)
               : zb_gen_uniform(draw, opts->min, opts->max);
    zb_gen_fill(&gen, buf, size);
    total = HEADER + size;
    space = g.ring - pos;
    required = space >= total ? total : space + total;
    if (required > g.ring) { /* the peers wait for their timeout here */
      rc = fail(err, errlen, EMU_FULL,
                "frame %llu (%llu bytes) fits neither in the %llu bytes left "
                "at the end nor at 0 of a %llu-byte ring: the peer would wait "
                "until its timeout",
                (unsigned long long)seq, (unsigned long long)size,
                (unsigned long long)space, (unsigned long long)g.ring);
      break;
    }
    if (seq == opts->lose_at) {
      double until = now_ms() + timeout_ms;
      while (ld(&o->payload_read_pos) != pos ||
             ld(&o->payload_free_bytes) != opts->lose_when) {
        if (now_ms() > until) {
          rc = fail(err, errlen, EMU_ERROR, "frame %llu: the reader never "
                    "stood at %llu with %llu bytes free",
                    (unsigned long long)seq, (unsigned long long)pos,
                    (unsigned long long)opts->lose_when);
          break;
        }
        usleep(1000);
      }
      if (rc != EMU_OK)
        break;
      st(&o->payload_free_bytes, opts->lose_to);
    }
    if ((rc = wait_space(&g, required, timeout_ms, s, err, errlen)) != EMU_OK)
      break;
    if (space < total) {
      if ((rc = wrap(&g, opts->kind, opts->plain_rmw, pos, s, err, errlen)) != EMU_OK)
        break;
      pos = 0;
    }
    header[0] = size;
    header[1] = seq;
    memcpy(g.payload + pos, header, HEADER);
    memcpy(g.payload + pos + HEADER, buf, size);
    if (pos + total == g.ring)
      s->exact_ends++;
    st(&o->payload_write_pos, pos + total);
    sub(&o->payload_free_bytes, total, opts->plain_rmw);
    st(&o->payload_written_count, ld(&o->payload_written_count) + 1);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    sem_post(g.w);
    emu_stats_frame(s, buf, size);
  }
  if (g.attached)
    st(&g.oieb->writer_pid, 0);
  ring_close(&g);
  free(buf);
  return rc;
}

/* ---------------------------------------------------------------- reader */

/* After each field reader_create stores: a writer looking meanwhile sees
 * every half-filled header. */
static void step(int ms) {
  if (ms > 0)
    usleep((useconds_t)ms * 1000);
}

static int reader_create(ring *g, const char *name, uint64_t metadata_size,
                         uint64_t payload_size, int step_ms, char *err,
                         size_t errlen) {
  uint64_t meta = (metadata_size + 63) & ~(uint64_t)63;
  int fd;
  names(g, name);
  g->ring = (payload_size + 63) & ~(uint64_t)63;
  g->size = 128 + meta + g->ring;
  mkdir("/tmp/zerobuffer", 01777);
  g->lock_fd = open(g->lock, O_RDWR | O_CREAT, 0600);
  if (g->lock_fd < 0 || flock(g->lock_fd, LOCK_EX | LOCK_NB) != 0)
    return fail(err, errlen, EMU_ERROR, "lock %s: %s", g->lock, strerror(errno));
  shm_unlink(g->shm);
  fd = shm_open(g->shm, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0)
    return fail(err, errlen, EMU_ERROR, "shm_open %s: %s", g->shm, strerror(errno));
  if (ftruncate(fd, (off_t)g->size) != 0) {
    close(fd);
    return fail(err, errlen, EMU_ERROR, "ftruncate: %s", strerror(errno));
  }
  g->base = mmap(NULL, g->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (g->base == MAP_FAILED)
    return fail(err, errlen, EMU_ERROR, "mmap: %s", strerror(errno));
  g->oieb = (emu_oieb *)g->base;
  g->payload = g->base + 128 + meta;
  /* In the order of the C++ reader's constructor (Reader::Impl): the
   * header in place, field by field from oieb_size to reader_pid, then
   * the semaphores. */
  __atomic_store_n(&g->oieb->oieb_size, 128, __ATOMIC_RELEASE);
  step(step_ms);
  __atomic_store_n(&g->oieb->version[0], 1, __ATOMIC_RELEASE);
  step(step_ms);
  st(&g->oieb->metadata_size, meta);
  step(step_ms);
  st(&g->oieb->metadata_free_bytes, meta);
  step(step_ms);
  st(&g->oieb->metadata_written_bytes, 0);
  step(step_ms);
  st(&g->oieb->payload_size, g->ring);
  step(step_ms);
  st(&g->oieb->payload_free_bytes, g->ring);
  step(step_ms);
  st(&g->oieb->payload_write_pos, 0);
  st(&g->oieb->payload_read_pos, 0);
  st(&g->oieb->payload_written_count, 0);
  st(&g->oieb->payload_read_count, 0);
  st(&g->oieb->writer_pid, 0);
  step(step_ms);
  st(&g->oieb->reader_pid, (uint64_t)getpid());
  step(step_ms);
  sem_unlink(g->sem_w);
  sem_unlink(g->sem_r);
  g->w = sem_open(g->sem_w, O_CREAT | O_EXCL, 0600, 0);
  g->r = sem_open(g->sem_r, O_CREAT | O_EXCL, 0600, 0);
  if (g->w == SEM_FAILED || g->r == SEM_FAILED)
    return fail(err, errlen, EMU_ERROR, "sem_open: %s", strerror(errno));
  return EMU_OK;
}

static void reader_destroy(ring *g) {
  if (g->base != MAP_FAILED)
    st(&g->oieb->reader_pid, 0);
  ring_close(g);
  shm_unlink(g->shm);
  sem_unlink(g->sem_w);
  sem_unlink(g->sem_r);
  unlink(g->lock);
  if (g->lock_fd >= 0)
    close(g->lock_fd);
}

/* Frames read and not yet released, oldest first: their total sizes,
 * where they are and their sequence numbers. */
typedef struct held {
  uint64_t totals[64], pos[64], seqs[64];
  unsigned count;
} held;

/* Gives the oldest held frame back (raise_by more at the release of frame
 * raise_at), with check_held after checking that its bytes are still the
 * ones read: a writer placed a frame over it otherwise. */
static int release_oldest(ring *g, held *h, const emu_read_opts *opts,
                          uint8_t *want, char *err, size_t errlen) {
  uint64_t size = h->totals[0] - HEADER, extra = 0;
  zb_gen gen;
  zb_gen_start(&gen, opts->seed, h->seqs[0]);
  zb_gen_fill(&gen, want, size);
  if (opts->check_held &&
      memcmp(want, g->payload + h->pos[0] + HEADER, size) != 0)
    return fail(err, errlen, EMU_SEQUENCE, "frame %llu (at offset %llu) "
                "changed while the reader held it",
                (unsigned long long)h->seqs[0], (unsigned long long)h->pos[0]);
  if (h->seqs[0] == opts->raise_at)
    extra = opts->raise_by;
  add(&g->oieb->payload_free_bytes, h->totals[0] + extra, opts->plain_rmw);
  h->count--;
  memmove(h->totals, h->totals + 1, h->count * sizeof h->totals[0]);
  memmove(h->pos, h->pos + 1, h->count * sizeof h->pos[0]);
  memmove(h->seqs, h->seqs + 1, h->count * sizeof h->seqs[0]);
  sem_post(g->r);
  return EMU_OK;
}

/* One frame after a sem-w post, at read_pos (a marker sends us to 0). */
static int read_one(ring *g, uint64_t expected, uint8_t *want, held *h,
                    emu_stats *s, uint64_t seed, int tail_mode, int plain,
                    char *err, size_t errlen) {
  emu_oieb *o = g->oieb;
  uint64_t pos = ld(&o->payload_read_pos), header[2], total;
  zb_gen gen;
  if (tail_mode == EMU_TAIL_IMPLICIT && pos < g->ring && g->ring - pos < HEADER) {
    add(&o->payload_free_bytes, g->ring - pos, plain); /* not counted */
    st(&o->payload_read_pos, 0);
    s->small_tails++;
    pos = 0;
  }
  if (tail_mode != EMU_TAIL_CPP && g->ring - pos < HEADER)
    return fail(err, errlen, EMU_SMALL_TAIL,
                "frame %llu: only %llu bytes at read_pos %llu before the end "
                "of the ring: the peer decodes a header there (sequence error)",
                (unsigned long long)expected,
                (unsigned long long)(g->ring - pos), (unsigned long long)pos);
  if (g->ring - pos < HEADER) {
    /* EMU_TAIL_CPP: the header is decoded there all the same, its rest
     * past the end of the segment (zeros in the peer's last page; here
     * zeros, without reading outside the mapping). Stale bytes make a
     * sequence error below; a zeroed tail is size 0: a marker. */
    memset(header, 0, HEADER);
    memcpy(header, g->payload + pos, g->ring - pos);
    if (header[0] == 0)
      s->small_tails++;
  } else {
    memcpy(header, g->payload + pos, HEADER);
  }
  if (header[0] == 0) {
    add(&o->payload_free_bytes, g->ring - pos, plain);
    st(&o->payload_read_pos, 0);
    st(&o->payload_read_count, ld(&o->payload_read_count) + 1);
    s->markers++;
    pos = 0;
    memcpy(header, g->payload, HEADER);
  }
  if (header[1] != expected)
    return fail(err, errlen, EMU_SEQUENCE,
                "sequence error: expected %llu, got %llu at offset %llu",
                (unsigned long long)expected, (unsigned long long)header[1],
                (unsigned long long)pos);
  if (header[0] == 0 || header[0] > g->ring - pos - HEADER)
    return fail(err, errlen, EMU_SEQUENCE,
                "frame %llu at offset %llu: invalid size %llu",
                (unsigned long long)expected, (unsigned long long)pos,
                (unsigned long long)header[0]);
  zb_gen_start(&gen, seed, expected);
  zb_gen_fill(&gen, want, header[0]);
  if (memcmp(want, g->payload + pos + HEADER, header[0]) != 0)
    return fail(err, errlen, EMU_SEQUENCE, "frame %llu: content differs",
                (unsigned long long)expected);
  emu_stats_frame(s, g->payload + pos + HEADER, header[0]);
  total = HEADER + header[0];
  if (pos + total == g->ring) {
    s->exact_ends++;
    st(&o->payload_read_pos, 0);
  } else {
    st(&o->payload_read_pos, pos + total);
  }
  st(&o->payload_read_count, ld(&o->payload_read_count) + 1);
  h->totals[h->count] = total;
  h->pos[h->count] = pos;
  h->seqs[h->count++] = expected;
  return EMU_OK;
}

int emu_read_cpp(const char *name, const emu_read_opts *opts, emu_stats *s,
                 char *err, size_t errlen) {
  int timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
  unsigned max_held = opts->max_held < 63 ? opts->max_held : 63;
  uint8_t *want = NULL;
  double last_frame;
  held h = {{0}, {0}, {0}, 0};
  int rc;
  ring g;

  emu_stats_init(s);
  err[0] = '\0';
  rc = reader_create(&g, name, opts->metadata_size, opts->payload_size,
                     opts->init_step_ms, err, errlen);
  if (rc == EMU_OK && (want = malloc(g.ring)) == NULL)
    rc = fail(err, errlen, EMU_ERROR, "out of memory");
  if (rc == EMU_OK && opts->ready != NULL)
    opts->ready(name, opts->user);
  last_frame = now_ms();
  while (rc == EMU_OK) {
    uint64_t written, read;
    if (wait_ms(g.w, 100) != 0) {
      uint64_t writer = ld(&g.oieb->writer_pid);
      if (s->frames == opts->frames && writer == 0)
        break; /* every frame read and the writer detached */
      if (writer != 0 && !alive(writer))
        rc = fail(err, errlen, EMU_ERROR, "writer died after %llu frames",
                  (unsigned long long)s->frames);
      else if (now_ms() - last_frame > timeout_ms)
        rc = fail(err, errlen, EMU_ERROR, "no frame for %d ms after %llu frames",
                  timeout_ms, (unsigned long long)s->frames);
      continue;
    }
    written = ld(&g.oieb->payload_written_count);
    read = ld(&g.oieb->payload_read_count);
    if (opts->tail_mode == EMU_TAIL_CPP && written <= read)
      continue; /* the C++ reader's check: the post is used up, nothing read */
    if (s->frames == opts->frames) {
      rc = fail(err, errlen, EMU_SEQUENCE, "a post after the last of %llu frames",
                (unsigned long long)opts->frames);
      break;
    }
    if (s->frames + 1 == opts->pause_at)
      usleep((useconds_t)opts->pause_ms * 1000);
    rc = read_one(&g, s->frames + 1, want, &h, s, opts->seed, opts->tail_mode,
                  opts->plain_rmw, err, errlen);
    last_frame = now_ms();
    while (rc == EMU_OK && h.count > max_held)
      rc = release_oldest(&g, &h, opts, want, err, errlen);
  }
  while (rc == EMU_OK && h.count > 0)
    rc = release_oldest(&g, &h, opts, want, err, errlen);
  /* Our writer counts a small tail (docs/PROTOCOL.md §6): a reader that
   * skips it uncounted ends that many behind; the C++ one counts it. */
  if (rc == EMU_OK &&
      ld(&g.oieb->payload_written_count) !=
          ld(&g.oieb->payload_read_count) +
              (opts->tail_mode == EMU_TAIL_IMPLICIT ? s->small_tails : 0))
    rc = fail(err, errlen, EMU_SEQUENCE, "written count %llu, read count %llu, "
              "%llu small tails",
              (unsigned long long)ld(&g.oieb->payload_written_count),
              (unsigned long long)ld(&g.oieb->payload_read_count),
              (unsigned long long)s->small_tails);
  /* (with plain updates its own lost ones leave them anywhere) */
  if (rc == EMU_OK && !opts->plain_rmw &&
      ld(&g.oieb->payload_free_bytes) != g.ring)
    rc = fail(err, errlen, EMU_SEQUENCE, "%llu bytes free of %llu after the last release",
              (unsigned long long)ld(&g.oieb->payload_free_bytes),
              (unsigned long long)g.ring);
  reader_destroy(&g);
  free(want);
  return rc;
}

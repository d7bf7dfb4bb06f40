/* test_api.c — single-process behaviour of the core: placement, held
 * frames, end of stream, and every bad input with its error code. */
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zb_error.h"
#include "zb_oieb.h"
#include "zb_test.h"
#include "zb_test_hooks.h"

/* ---------------------------------------------------------------- helpers */

static void fill(uint8_t *p, uint64_t size, uint64_t seq) {
  uint64_t i;
  for (i = 0; i < size; i++)
    p[i] = (uint8_t)((i * 31 + seq * 7) & 0xFF);
}

static int frame_ok(const zb_frame *f, uint64_t size, uint64_t seq) {
  uint64_t i;
  if (f->size != size || f->sequence != seq)
    return 0;
  for (i = 0; i < size; i++)
    if (f->data[i] != (uint8_t)((i * 31 + seq * 7) & 0xFF))
      return 0;
  return 1;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

/* Writes a frame of size bytes with the fill pattern of seq. */
static int put(zb_writer *w, uint64_t size, uint64_t seq, int timeout_ms) {
  static uint8_t buf[4096];
  fill(buf, size, seq);
  return zb_writer_write(w, buf, size, timeout_ms);
}

/* Reads the next frame, checks size/sequence/content, releases it. */
#define GET_RELEASE(r, size, seq)                                              \
  do {                                                                         \
    zb_frame gf_;                                                              \
    CHECK_RC(zb_reader_next((r), &gf_, 1000), 0);                              \
    CHECK(frame_ok(&gf_, (size), (seq)));                                      \
    CHECK_RC(zb_frame_release(&gf_), 0);                                          \
  } while (0)

/* Our own read-write mapping of /dev/shm/NAME, to inspect and poke. */
typedef struct raw_map {
  int fd;
  uint8_t *base;
  size_t size;
  zb_oieb *oieb;
  uint8_t *meta;
  uint8_t *payload;
} raw_map;

static int raw_open(raw_map *m, const char *name) {
  char path[300];
  struct stat st;
  memset(m, 0, sizeof *m);
  snprintf(path, sizeof path, "/%s", name);
  m->fd = shm_open(path, O_RDWR, 0);
  if (m->fd < 0 || fstat(m->fd, &st) != 0)
    return -1;
  m->size = (size_t)st.st_size;
  m->base = mmap(NULL, m->size, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, 0);
  if (m->base == MAP_FAILED)
    return -1;
  m->oieb = (zb_oieb *)m->base;
  m->meta = m->base + ZB_OIEB_SIZE;
  m->payload = m->meta + atomic_load(&m->oieb->metadata_size);
  return 0;
}

static void raw_close(raw_map *m) {
  if (m->base != NULL && m->base != MAP_FAILED)
    munmap(m->base, m->size);
  if (m->fd >= 0)
    close(m->fd);
  memset(m, 0, sizeof *m);
}

static void put_header(uint8_t *at, uint64_t size, uint64_t seq) {
  memcpy(at, &size, 8);
  memcpy(at + 8, &seq, 8);
}

static uint64_t header_size_at(const uint8_t *at) {
  uint64_t v;
  memcpy(&v, at, 8);
  return v;
}

static uint64_t header_seq_at(const uint8_t *at) {
  uint64_t v;
  memcpy(&v, at + 8, 8);
  return v;
}

static int all_zero(const uint8_t *p, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    if (p[i] != 0)
      return 0;
  return 1;
}

static mode_t file_mode(const char *fmt, const char *name) {
  char path[512];
  struct stat st;
  snprintf(path, sizeof path, fmt, name);
  if (stat(path, &st) != 0)
    return (mode_t)-1;
  return st.st_mode & 07777;
}

static long long file_size(const char *name) {
  char path[512];
  struct stat st;
  snprintf(path, sizeof path, "/dev/shm/%s", name);
  if (stat(path, &st) != 0)
    return -1;
  return (long long)st.st_size;
}

/* A pid that surely is not a live process: a reaped child. */
static pid_t dead_pid(void) {
  int status;
  pid_t pid = fork();
  if (pid == 0)
    _exit(0);
  waitpid(pid, &status, 0);
  return pid;
}

/* The process is still fine: a fresh ring can be created, used, closed. */
static void check_usable(void) {
  char name[96];
  zb_reader *r = NULL;
  zb_writer *w = NULL;
  snprintf(name, sizeof name, "%s", zb_test_name("usable"));
  CHECK_RC(zb_reader_create(&r, name, 64, 1024, NULL), 0);
  CHECK_RC(zb_writer_connect(&w, name), 0);
  if (r == NULL || w == NULL) {
    zb_writer_destroy(w);
    zb_reader_destroy(r);
    zb_test_remove_ring(name);
    return;
  }
  CHECK_RC(put(w, 100, 1, 1000), 0);
  GET_RELEASE(r, 100, 1);
  zb_writer_destroy(w);
  zb_reader_destroy(r);
  CHECK(zb_test_ring_gone(name));
}

/* ------------------------------------------------------------------ tests */

static void test_round_trip(void) {
  const char *name = zb_test_name("rt");
  zb_reader *r;
  zb_writer *w;
  zb_frame f;
  uint8_t buf[300];
  const uint8_t *meta;
  uint64_t meta_size, seq;

  CHECK_RC(zb_reader_create(&r, name, 256, 1024, NULL), 0);
  CHECK_RC(zb_writer_connect(&w, name), 0);
  CHECK_RC(zb_writer_set_metadata(w, "{\"caps\":\"x\"}", 12), 0);
  CHECK_RC(zb_reader_metadata(r, &meta, &meta_size), 0);
  CHECK_EQ_U64(meta_size, 12);
  for (seq = 1; seq <= 50; seq++) {
    uint64_t size = 1 + (seq * 37) % 300;
    fill(buf, size, seq);
    CHECK_RC(zb_writer_write(w, buf, size, 1000), 0);
    CHECK_RC(zb_reader_next(r, &f, 1000), 0);
    CHECK(frame_ok(&f, size, seq));
    CHECK_RC(zb_frame_release(&f), 0);
  }
  zb_writer_destroy(w);
  CHECK_RC(zb_reader_next(r, &f, 1000), ZB_EOF);
  zb_reader_destroy(r);
  CHECK(zb_test_ring_gone(name));
}

/* zb_reader_unlink: the names go, the ring goes on working for both sides
 * (a frame held before it stays readable, a frame written after it is
 * read), and the destroy after it leaves a newer ring of the same name
 * alone. */
static void test_unlink(void) {
  const char *name = zb_test_name("unlink");
  zb_reader *r, *newer;
  zb_writer *w;
  zb_frame held, f;
  uint8_t buf[64];

  CHECK_RC(zb_reader_create(&r, name, 0, 1024, NULL), 0);
  CHECK_RC(zb_writer_connect(&w, name), 0);
  fill(buf, sizeof buf, 1);
  CHECK_RC(zb_writer_write(w, buf, sizeof buf, 1000), 0);
  CHECK_RC(zb_reader_next(r, &held, 1000), 0);
  zb_reader_unlink(r);
  CHECK(zb_test_ring_gone(name));
  zb_reader_unlink(r); /* once */
  zb_reader_unlink(NULL);
  CHECK(frame_ok(&held, sizeof buf, 1));
  fill(buf, sizeof buf, 2);
  CHECK_RC(zb_writer_write(w, buf, sizeof buf, 1000), 0);
  CHECK_RC(zb_reader_next(r, &f, 1000), 0);
  CHECK(frame_ok(&f, sizeof buf, 2));
  CHECK_RC(zb_frame_release(&f), 0);
  CHECK_RC(zb_frame_release(&held), 0);
  CHECK_RC(zb_reader_create(&newer, name, 0, 1024, NULL), 0);
  zb_writer_destroy(w);
  zb_reader_destroy(r);
  { /* the newer ring's segment is still there */
    char path[256];
    snprintf(path, sizeof path, "/dev/shm/%s", name);
    CHECK(access(path, F_OK) == 0);
  }
  zb_reader_destroy(newer);
  CHECK(zb_test_ring_gone(name));
}

/* 1. Names. */
static void test_names(void) {
  char long246[247], long245[246];
  const char *bad[6];
  const char *needle[6];
  size_t i;
  zb_health h;

  memset(long246, 'n', 246);
  long246[246] = '\0';
  bad[0] = NULL;     needle[0] = "empty";
  bad[1] = "";       needle[1] = "empty";
  bad[2] = "a/b";    needle[2] = "\"a/b\"";
  bad[3] = "..";     needle[3] = "\"..\"";
  bad[4] = "a..b";   needle[4] = "\"a..b\"";
  bad[5] = long246;  needle[5] = "too long";

  for (i = 0; i < 6; i++) {
    zb_reader *r = (zb_reader *)&i; /* must be reset to NULL */
    zb_writer *w = (zb_writer *)&i;
    CHECK_RC(zb_validate_name(bad[i]), ZB_ENAME);
    CHECK_MSG(needle[i]);
    CHECK_RC(zb_reader_create(&r, bad[i], 64, 1024, NULL), ZB_ENAME);
    CHECK_MSG(needle[i]);
    CHECK(r == NULL);
    CHECK_RC(zb_writer_connect(&w, bad[i]), ZB_ENAME);
    CHECK_MSG(needle[i]);
    CHECK(w == NULL);
    CHECK_RC(zb_health_read(bad[i], &h), ZB_ENAME);
    CHECK_MSG(needle[i]);
  }
  CHECK_RC(zb_validate_name(long246), ZB_ENAME);
  CHECK_MSG("245");
  CHECK_RC(zb_validate_name("a/b"), ZB_ENAME);
  CHECK_MSG("'/'");

  /* "." names /dev/shm itself: it can never be a ring, so it is an invalid
   * name (not EEXIST/EINVAL/EPROTO from the file system). */
  {
    zb_reader *r = NULL;
    zb_writer *w = NULL;
    CHECK_RC(zb_validate_name("."), ZB_ENAME);
    CHECK_RC(zb_reader_create(&r, ".", 64, 1024, NULL), ZB_ENAME);
    CHECK_RC(zb_writer_connect(&w, "."), ZB_ENAME);
    CHECK_RC(zb_health_read(".", &h), ZB_ENAME);
    zb_reader_destroy(r);
    zb_writer_destroy(w);
  }

  /* Accepted: ordinary names, with '.', '-' and '_' inside. */
  CHECK_RC(zb_validate_name("camera0"), 0);
  CHECK_RC(zb_validate_name("a.b-c_d"), 0);

  /* out == NULL is EINVAL, not a crash. */
  CHECK_RC(zb_reader_create(NULL, "x", 64, 1024, NULL), ZB_EINVAL);
  CHECK_RC(zb_writer_connect(NULL, "x"), ZB_EINVAL);
  CHECK_RC(zb_health_read("x", NULL), ZB_EINVAL);

  /* A 245-byte name is the longest that works, end to end. */
  snprintf(long245, sizeof long245, "zbt-%d-long-", (int)getpid());
  memset(long245 + strlen(long245), 'L', 245 - strlen(long245));
  long245[245] = '\0';
  CHECK_EQ_U64(strlen(long245), 245);
  CHECK_RC(zb_validate_name(long245), 0);
  {
    zb_reader *r = NULL;
    zb_writer *w = NULL;
    CHECK_RC(zb_reader_create(&r, long245, 64, 1024, NULL), 0);
    CHECK_RC(zb_writer_connect(&w, long245), 0);
    CHECK_RC(zb_health_read(long245, &h), 0);
    if (r != NULL && w != NULL) {
      CHECK(strcmp(zb_reader_name(r), long245) == 0);
      CHECK(strcmp(zb_writer_name(w), long245) == 0);
      CHECK_RC(put(w, 10, 1, 1000), 0);
      GET_RELEASE(r, 10, 1);
    }
    zb_writer_destroy(w);
    zb_reader_destroy(r);
    CHECK(zb_test_ring_gone(long245));
    zb_test_remove_ring(long245);
  }
  check_usable();
}

/* 2. Sizes, rounding and mode. */
/* metadata_size 0 is a ring for frames alone (the Node API's
 * metadataSize 0, peers' rings of raw bytes; zerobuffer.h says what it
 * means): frames go through; metadata cannot, and with no room for the
 * writer's note the reader sees only the detach. */
static void test_no_metadata_block(void) {
  char name[96];
  zb_reader *r = NULL;
  zb_writer *w = NULL;
  const uint8_t *data = NULL;
  uint64_t size = 1;
  zb_frame f;
  snprintf(name, sizeof name, "%s", zb_test_name("nometa"));
  CHECK_RC(zb_reader_create(&r, name, 0, 1024, NULL), 0);
  CHECK_RC(zb_writer_connect(&w, name), 0);
  if (r == NULL || w == NULL) {
    zb_writer_destroy(w);
    zb_reader_destroy(r);
    return;
  }
  CHECK_RC(zb_writer_set_metadata(w, (const uint8_t *)"{}", 2), ZB_EMSGSIZE);
  /* (it said "its metadata block is 0 bytes, 8 of them for the length") */
  CHECK_MSG("does not fit ring \"");
  CHECK_MSG("\": it has no metadata block; create the ring with a metadata "
            "size of at least 10");
  CHECK_RC(put(w, 10, 1, 0), 0);
  GET_RELEASE(r, 10, 1);
  CHECK_RC(zb_reader_metadata(r, &data, &size), 0);
  CHECK(data == NULL && size == 0);
  zb_writer_destroy(w);
  CHECK_RC(zb_reader_next(r, &f, 1000), ZB_EOF);
  zb_reader_destroy(r);
  CHECK(zb_test_ring_gone(name));
}

/* Metadata too large for a metadata block the writer can use: what the
 * message says of the block holds for its size. One of 64 bytes has 8 of
 * them for the length; one of 1 to 7 (a peer's ring: ours round it up to
 * 64) has too few even for that (it said "4 bytes, 8 of them for the
 * length"); none at all: test_no_metadata_block. */
static void test_metadata_block_too_small(void) {
  char name[96], meta[57];
  raw_map m;
  zb_reader *r = NULL;
  zb_writer *w = NULL;
  memset(meta, 'm', sizeof meta);
  snprintf(name, sizeof name, "%s", zb_test_name("smallmeta"));
  CHECK_RC(zb_reader_create(&r, name, 64, 1024, NULL), 0);
  CHECK_RC(zb_writer_connect(&w, name), 0);
  if (r == NULL || w == NULL) {
    zb_writer_destroy(w);
    zb_reader_destroy(r);
    return;
  }
  CHECK_RC(zb_writer_set_metadata(w, meta, 57), ZB_EMSGSIZE);
  CHECK_MSG("metadata of 57 bytes does not fit ring \"");
  CHECK_MSG("\": its metadata block is 64 bytes, 8 of them for the length; "
            "create the ring with a metadata size of at least 65");
  zb_writer_destroy(w);
  w = NULL;
  zb_reader_destroy(r);
  CHECK(zb_test_ring_gone(name));

  /* a 4-byte block, the payload block after it still filling the segment
   * (a ring of its own: the writer before left its note in the block) */
  snprintf(name, sizeof name, "%s", zb_test_name("smallmeta"));
  CHECK_RC(zb_reader_create(&r, name, 64, 1024, NULL), 0);
  if (r == NULL)
    return;
  if (raw_open(&m, name) != 0) {
    CHECK(0);
    raw_close(&m);
    zb_reader_destroy(r);
    return;
  }
  atomic_store(&m.oieb->metadata_size, 4);
  atomic_store(&m.oieb->payload_size, 64 + 1024 - 4);
  CHECK_RC(zb_writer_connect(&w, name), 0);
  if (w != NULL) {
    CHECK_RC(zb_writer_set_metadata(w, meta, 2), ZB_EMSGSIZE);
    CHECK_MSG("metadata of 2 bytes does not fit ring \"");
    CHECK_MSG("\": its metadata block of 4 bytes is too small for even the "
              "length (8 bytes); create the ring with a metadata size of at "
              "least 10");
    zb_writer_destroy(w);
  }
  atomic_store(&m.oieb->metadata_size, 64);
  atomic_store(&m.oieb->payload_size, 1024);
  raw_close(&m);
  zb_reader_destroy(r);
  CHECK(zb_test_ring_gone(name));
}

static void test_sizes(void) {
  char name[96];
  zb_reader *r = NULL;
  zb_writer *w = NULL;
  zb_health h;
  zb_reader_options opts = {0};

  snprintf(name, sizeof name, "%s", zb_test_name("sizes"));
  CHECK_RC(zb_reader_create(&r, name, 64, 0, NULL), ZB_ESIZE);
  CHECK_MSG(name);
  CHECK_MSG("payload size is 0");
  CHECK_RC(zb_reader_create(&r, name, 64, ZB_MAX_PAYLOAD_SIZE + 1, NULL),
           ZB_ESIZE);
  CHECK_MSG("payload size 17179869185");
  CHECK_MSG("17179869184");
  CHECK_RC(zb_reader_create(&r, name, ZB_MAX_METADATA_SIZE + 1, 1024, NULL),
           ZB_ESIZE);
  CHECK_MSG("metadata size 67108865");
  CHECK_RC(zb_reader_create(&r, name, 64, UINT64_MAX, NULL), ZB_ESIZE);
  CHECK_RC(zb_reader_create(&r, name, UINT64_MAX, 1024, NULL), ZB_ESIZE);
  CHECK_RC(zb_reader_create(&r, name, UINT64_MAX, UINT64_MAX, NULL), ZB_ESIZE);
  CHECK_RC(zb_reader_create(&r, name, UINT64_MAX - 127, UINT64_MAX - 63, NULL),
           ZB_ESIZE);
  CHECK(r == NULL);
  CHECK(zb_test_ring_gone(name));

  opts.mode = 01600;
  CHECK_RC(zb_reader_create(&r, name, 64, 1024, &opts), ZB_EINVAL);
  CHECK_MSG("mode");
  opts.mode = 04600;
  CHECK_RC(zb_reader_create(&r, name, 64, 1024, &opts), ZB_EINVAL);
  opts.mode = 0x10000 | 0600;
  CHECK_RC(zb_reader_create(&r, name, 64, 1024, &opts), ZB_EINVAL);
  CHECK(r == NULL);
  CHECK(zb_test_ring_gone(name));

  /* Rounded up to 64: 100/1000 -> 128/1024. */
  CHECK_RC(zb_reader_create(&r, name, 100, 1000, NULL), 0);
  if (r != NULL) {
    CHECK_RC(zb_reader_health(r, &h), 0);
    CHECK_EQ_U64(h.metadata_size, 128);
    CHECK_EQ_U64(h.payload_size, 1024);
    CHECK_EQ_U64(h.payload_free_bytes, 1024);
    CHECK_EQ_U64(h.version[0], 1);
    CHECK_EQ_U64(h.version[1], 0);
    CHECK_EQ_U64(h.version[2], 0);
    CHECK(file_size(name) == 128 + 128 + 1024);
    CHECK_RC(zb_health_read(name, &h), 0);
    CHECK_EQ_U64(h.metadata_size, 128);
    CHECK_EQ_U64(h.payload_size, 1024);
    CHECK_RC(zb_writer_connect(&w, name), 0);
    if (w != NULL)
      CHECK_EQ_U64(zb_writer_max_frame_size(w), 1008);
    zb_writer_destroy(w);
    w = NULL;
    zb_reader_destroy(r);
    r = NULL;
  }
  CHECK(zb_test_ring_gone(name));

  /* Smallest: metadata 0, payload 1 -> 0/64, frames of up to 48 bytes. */
  CHECK_RC(zb_reader_create(&r, name, 0, 1, NULL), 0);
  if (r != NULL) {
    CHECK(file_size(name) == 128 + 64);
    CHECK_RC(zb_reader_health(r, &h), 0);
    CHECK_EQ_U64(h.metadata_size, 0);
    CHECK_EQ_U64(h.payload_size, 64);
    CHECK_EQ_U64(zb_reader_max_frame_size(r), 48);
    CHECK_RC(zb_writer_connect(&w, name), 0);
    if (w != NULL) {
      CHECK_EQ_U64(zb_writer_max_frame_size(w), 48);
      CHECK_RC(zb_writer_set_metadata(w, "x", 1), ZB_EMSGSIZE);
      CHECK_RC(put(w, 49, 1, 0), ZB_EMSGSIZE);
      CHECK_RC(put(w, 48, 1, 0), 0);
      GET_RELEASE(r, 48, 1);
      CHECK_RC(put(w, 48, 2, 0), 0);
      GET_RELEASE(r, 48, 2);
    }
    zb_writer_destroy(w);
    zb_reader_destroy(r);
  }
  CHECK(zb_test_ring_gone(name));
  check_usable();
}

/* 3. Permissions: exact, whatever the umask. */
static void check_modes(const char *name, mode_t want) {
  CHECK_EQ_U64(file_mode("/dev/shm/%s", name), want);
  CHECK_EQ_U64(file_mode("/dev/shm/sem.sem-w-%s", name), want);
  CHECK_EQ_U64(file_mode("/dev/shm/sem.sem-r-%s", name), want);
  CHECK_EQ_U64(file_mode("/tmp/zerobuffer/%s.lock", name), want);
}

static void test_permissions(void) {
  char name[96];
  zb_reader *r = NULL;
  zb_reader_options opts = {0};
  mode_t old;

  snprintf(name, sizeof name, "%s", zb_test_name("perm"));
  old = umask(0);
  CHECK_RC(zb_reader_create(&r, name, 64, 1024, NULL), 0);
  umask(old);
  check_modes(name, 0600);
  zb_reader_destroy(r);
  r = NULL;
  CHECK(zb_test_ring_gone(name));

  opts.mode = 0;
  old = umask(0);
  CHECK_RC(zb_reader_create(&r, name, 64, 1024, &opts), 0);
  umask(old);
  check_modes(name, 0600);
  zb_reader_destroy(r);
  r = NULL;

  opts.mode = 0660;
  old = umask(0);
  CHECK_RC(zb_reader_create(&r, name, 64, 1024, &opts), 0);
  umask(old);
  check_modes(name, 0660);
  zb_reader_destroy(r);
  r = NULL;

  /* A restrictive umask does not take bits away either. */
  opts.mode = 0666;
  old = umask(077);
  CHECK_RC(zb_reader_create(&r, name, 64, 1024, &opts), 0);
  umask(old);
  check_modes(name, 0666);
  zb_reader_destroy(r);
  CHECK(zb_test_ring_gone(name));
}

/* 4. Frame sizes. */
static void test_frame_sizes(void) {
  char name[96], msg[64];
  zb_reader *r = NULL;
  zb_writer *w = NULL;
  zb_health h;
  raw_map m;
  zb_reservation slot;
  double t0, dt;

  snprintf(name, sizeof name, "%s", zb_test_name("fsize"));
  CHECK_RC(zb_reader_create(&r, name, 64, 1024, NULL), 0);
  CHECK_RC(zb_writer_connect(&w, name), 0);
  if (r == NULL || w == NULL || raw_open(&m, name) != 0) {
    CHECK(!"setup failed");
    goto out;
  }
  CHECK_RC(zb_writer_reserve(w, 0, &slot, 0), ZB_EINVAL);
  CHECK_MSG("0 bytes");
  CHECK_RC(zb_writer_write(w, "x", 0, 0), ZB_EINVAL);
  CHECK_RC(zb_writer_write(w, NULL, 5, 0), ZB_EINVAL);
  CHECK_RC(zb_writer_reserve(w, 5, NULL, 0), ZB_EINVAL);

  CHECK_EQ_U64(zb_writer_max_frame_size(w), 1008);
  t0 = now_ms();
  CHECK_RC(zb_writer_reserve(w, 1009, &slot, 2000), ZB_EMSGSIZE);
  dt = now_ms() - t0;
  CHECK(dt < 100);
  CHECK_MSG("1009 bytes");
  CHECK_MSG("1024 bytes");
  CHECK_MSG("at least 1088");
  CHECK_MSG(name);
  t0 = now_ms();
  CHECK_RC(put(w, 2000, 1, 2000), ZB_EMSGSIZE);
  CHECK(now_ms() - t0 < 100);
  CHECK_MSG("at least 2048");
  CHECK_RC(zb_writer_reserve(w, UINT64_MAX, &slot, 0), ZB_EMSGSIZE);
  snprintf(msg, sizeof msg, "%llu", (unsigned long long)UINT64_MAX);
  CHECK_MSG(msg);
  CHECK_MSG("can never fit");

  /* Exactly payload_size - 16: the frame fills the ring. */
  CHECK_RC(zb_writer_reserve(w, 1008, &slot, 0), 0);
  fill(slot.data, 1008, 1);
  CHECK(memcmp(m.payload + 16, slot.data, 1008) == 0); /* in place, after 16 */
  CHECK_RC(zb_reservation_commit(&slot, 1008), 0);
  CHECK_RC(zb_writer_health(w, &h), 0);
  CHECK_EQ_U64(h.write_pos, 1024);
  CHECK_EQ_U64(h.payload_free_bytes, 0);
  CHECK_EQ_U64(h.utilisation_percent, 100);
  CHECK_RC(put(w, 1, 2, 0), ZB_EAGAIN);
  GET_RELEASE(r, 1008, 1);
  CHECK_RC(put(w, 1008, 2, 0), 0);
  CHECK_RC(zb_reader_health(r, &h), 0);
  CHECK_EQ_U64(h.written_count, 2); /* no marker */
  CHECK_EQ_U64(h.write_pos, 1024);
  CHECK_EQ_U64(header_size_at(m.payload), 1008);
  CHECK_EQ_U64(header_seq_at(m.payload), 2);
  GET_RELEASE(r, 1008, 2);
  CHECK_RC(zb_reader_health(r, &h), 0);
  CHECK_EQ_U64(h.read_count, 2);
  CHECK_EQ_U64(h.read_pos, 1024); /* at the end, like write_pos */
  CHECK_EQ_U64(h.payload_free_bytes, 1024);
  raw_close(&m);
out:
  zb_writer_destroy(w);
  zb_reader_destroy(r);
  CHECK(zb_test_ring_gone(name));
  check_usable();
}

/* 5. Full ring, reserve/commit/cancel states. */
static void test_full_ring(void) {
  char name[96];
  zb_reader *r = NULL;
  zb_writer *w = NULL;
  zb_health h;
  zb_frame f;
  zb_reservation slot;
  double t0, dt;
  uint64_t seq;

  snprintf(name, sizeof name, "%s", zb_test_name("full"));
  CHECK_RC(zb_reader_create(&r, name, 64, 1024, NULL), 0);
  CHECK_RC(zb_writer_connect(&w, name), 0);
  if (r == NULL || w == NULL)
    goto out;
  for (seq = 1; seq <= 4; seq++)
    CHECK_RC(put(w, 240, seq, 0), 0);
  CHECK_RC(zb_writer_health(w, &h), 0);
  CHECK_EQ_U64(h.payload_free_bytes, 0);
  t0 = now_ms();
  CHECK_RC(put(w, 240, 5, 0), ZB_EAGAIN);
  CHECK(now_ms() - t0 < 50);
  CHECK_MSG("full");
  CHECK_MSG(name);
  t0 = now_ms();
  CHECK_RC(put(w, 240, 5, 200), ZB_ETIMEDOUT);
  dt = now_ms() - t0;
  CHECK(dt >= 195 && dt < 1000);
  CHECK_MSG("200 ms");

  /* Writer wake interrupts a wait on a full ring, once. */
  zb_writer_wake(w);
  t0 = now_ms();
  CHECK_RC(put(w, 240, 5, 2000), ZB_ECANCELED);
  CHECK(now_ms() - t0 < 100);
  CHECK_RC(put(w, 240, 5, 0), ZB_EAGAIN);

  /* A reserve of 0 does not wait: a wake made meanwhile is left to the
   * next wait (before, the look took it: ZB_ECANCELED, and the wait that
   * followed ran to its timeout). */
  zb_writer_wake(w);
  CHECK_RC(put(w, 240, 5, 0), ZB_EAGAIN);
  CHECK_MSG("full");
  CHECK_RC(zb_writer_reserve(w, 240, &slot, 0), ZB_EAGAIN);
  CHECK_RC(put(w, 240, 5, 2000), ZB_ECANCELED);
  CHECK_RC(put(w, 240, 5, 0), ZB_EAGAIN);

  GET_RELEASE(r, 240, 1);
  CHECK_RC(put(w, 240, 5, 0), 0); /* goes to 0 (exact end before) */
  for (seq = 2; seq <= 5; seq++)
    GET_RELEASE(r, 240, seq);
  CHECK_RC(zb_reader_next(r, &f, 0), ZB_EAGAIN);

  /* Reservation states. */
  memset(&slot, 0, sizeof slot);
  CHECK_RC(zb_reservation_commit(&slot, 10), ZB_ESTATE);
  CHECK_MSG("not open");
  CHECK_RC(zb_reservation_commit(NULL, 10), ZB_EINVAL); /* a NULL handle */
  CHECK_MSG("NULL");
  {
    zb_hold hold;
    CHECK_RC(zb_reservation_commit_hold(NULL, 10, &hold), ZB_EINVAL);
    CHECK_MSG("NULL");
  }
  CHECK_RC(zb_writer_reserve(w, 240, &slot, 0), 0);
  CHECK_RC(zb_reservation_commit(&slot, 0), ZB_EINVAL);
  CHECK_RC(zb_reservation_commit(&slot, 241), ZB_EINVAL);
  CHECK_MSG("241");
  CHECK_MSG("1..240");
  zb_reservation_cancel(&slot);
  zb_reservation_cancel(&slot); /* twice is harmless */
  zb_reservation_cancel(NULL);
  CHECK_RC(zb_reservation_commit(&slot, 10), ZB_ESTATE);
  CHECK_RC(zb_reader_next(r, &f, 0), ZB_EAGAIN);
  CHECK_RC(zb_reader_health(r, &h), 0);
  CHECK_EQ_U64(h.written_count, 5);
  CHECK_EQ_U64(h.payload_free_bytes, 1024);

  /* Commit fewer bytes than reserved: the reader sees the smaller size,
   * and the cancelled reservation did not use up a sequence number. */
  CHECK_RC(zb_writer_reserve(w, 240, &slot, 0), 0);
  fill(slot.data, 100, 6);
  CHECK_RC(zb_reservation_commit(&slot, 100), 0);
  CHECK_RC(zb_writer_health(w, &h), 0);
  CHECK_EQ_U64(h.payload_free_bytes, 1024 - 116);
  GET_RELEASE(r, 100, 6);
  CHECK_RC(put(w, 50, 7, 0), 0);
  GET_RELEASE(r, 50, 7);
out:
  zb_writer_destroy(w);
  zb_reader_destroy(r);
  CHECK(zb_test_ring_gone(name));
}

/* 6. Placement rules, checked in the OIEB and the ring bytes. */
typedef struct ring_fixture {
  char name[96];
  zb_reader *r;
  zb_writer *w;
  raw_map m;
} ring_fixture;

static int fixture_open_named(ring_fixture *fx, const char *name,
                              uint64_t payload) {
  memset(fx, 0, sizeof *fx);
  snprintf(fx->name, sizeof fx->name, "%s", name);
  CHECK_RC(zb_reader_create(&fx->r, fx->name, 64, payload, NULL), 0);
  CHECK_RC(zb_writer_connect(&fx->w, fx->name), 0);
  if (fx->r == NULL || fx->w == NULL || raw_open(&fx->m, fx->name) != 0) {
    CHECK(!"fixture setup failed");
    return -1;
  }
  return 0;
}

static int fixture_open(ring_fixture *fx, const char *tag, uint64_t payload) {
  return fixture_open_named(fx, zb_test_name(tag), payload);
}

static void fixture_close(ring_fixture *fx) {
  raw_close(&fx->m);
  zb_writer_destroy(fx->w);
  zb_reader_destroy(fx->r);
  CHECK(zb_test_ring_gone(fx->name));
  zb_test_remove_ring(fx->name);
}

/* Every sem_post of this process goes through here (the core is linked
 * in statically): with post_watch set, it notes the reader's position at
 * each post, as a writer woken by it would find it. */
static const zb_oieb *post_watch;
static uint64_t post_read_pos;
int sem_post(sem_t *sem) {
  static int (*real)(sem_t *);
  if (real == NULL)
    *(void **)&real = dlsym(RTLD_NEXT, "sem_post");
  if (post_watch != NULL)
    post_read_pos = atomic_load(&post_watch->payload_read_pos);
  return real(sem);
}

/* The reader gave a skipped tail back (free bytes, then the sem-r post)
 * before it moved its position off the tail. Meanwhile a writer could
 * fill those bytes, and a health snapshot that loaded the old position
 * walked them as entries: "frame header at offset X claims N bytes"
 * (core-threads test_fillers_and_releasers, 1 run in 50 under ASan),
 * its check that the reader had not moved passing. */
static void test_tail_given_back_after_moving(void) {
  ring_fixture fx;
  zb_frame f;
  if (fixture_open(&fx, "tailorder", 1024) == 0) {
    CHECK_RC(put(fx.w, 980, 1, 0), 0); /* [0, 996) */
    GET_RELEASE(fx.r, 980, 1);
    CHECK_RC(put(fx.w, 10, 2, 0), 0);  /* marker at 996, [0, 26) */
    post_watch = fx.m.oieb;
    post_read_pos = UINT64_MAX;
    CHECK_RC(zb_reader_next(fx.r, &f, 1000), 0); /* the tail's post only */
    post_watch = NULL;
    CHECK(frame_ok(&f, 10, 2));
    CHECK_EQ_U64(post_read_pos, 0);
    CHECK_RC(zb_frame_release(&f), 0);
  }
  fixture_close(&fx);
}

static void test_placement_marker(void) {
  ring_fixture fx;
  zb_health h;
  zb_frame f;
  if (fixture_open(&fx, "marker", 1024) == 0) {
    CHECK_RC(put(fx.w, 496, 1, 0), 0); /* [0, 512) */
    GET_RELEASE(fx.r, 496, 1);
    CHECK_RC(put(fx.w, 384, 2, 0), 0); /* [512, 912) */
    GET_RELEASE(fx.r, 384, 2);
    memset(fx.m.payload + 912, 0xAA, 16); /* stale bytes where the marker goes */
    CHECK_RC(put(fx.w, 184, 3, 0), 0); /* 200 > 112 left: marker, then 0 */
    CHECK(all_zero(fx.m.payload + 912, 16));
    CHECK_EQ_U64(header_size_at(fx.m.payload), 184);
    CHECK_EQ_U64(header_seq_at(fx.m.payload), 3);
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.write_pos, 200);
    CHECK_EQ_U64(h.written_count, 4); /* the marker counts */
    CHECK_EQ_U64(h.read_count, 2);
    CHECK_EQ_U64(h.payload_free_bytes, 1024 - 112 - 200);
    CHECK_RC(zb_reader_next(fx.r, &f, 0), 0);
    CHECK(frame_ok(&f, 184, 3));
    CHECK(memcmp(f.data, fx.m.payload + 16, 184) == 0);
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.read_count, 4); /* the marker counts */
    CHECK_EQ_U64(h.read_pos, 200);
    /* the tail came back when the marker was met, the frame not yet */
    CHECK_EQ_U64(h.payload_free_bytes, 1024 - 200);
    CHECK_RC(zb_frame_release(&f), 0);
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.payload_free_bytes, 1024);
  }
  fixture_close(&fx);
}

static void test_placement_exact_end(void) {
  ring_fixture fx;
  zb_health h;
  if (fixture_open(&fx, "exact", 1024) == 0) {
    CHECK_RC(put(fx.w, 496, 1, 0), 0);
    CHECK_RC(put(fx.w, 496, 2, 0), 0);
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.write_pos, 1024); /* not 0 */
    CHECK_EQ_U64(atomic_load(&fx.m.oieb->payload_write_pos), 1024);
    GET_RELEASE(fx.r, 496, 1);
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.read_pos, 512);
    GET_RELEASE(fx.r, 496, 2);
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    /* The reader stays at the end, as the writer does: a peer writer that
     * finds read_pos at 0 here sees no room (docs/PROTOCOL.md §7,
     * "Peer quirks"). */
    CHECK_EQ_U64(h.read_pos, 1024);
    CHECK_RC(zb_reader_next(fx.r, &(zb_frame){0}, 0), ZB_EAGAIN);
    memset(fx.m.payload, 0xAA, 16);
    CHECK_RC(put(fx.w, 100, 3, 0), 0);
    CHECK_EQ_U64(header_size_at(fx.m.payload), 100);
    CHECK_EQ_U64(header_seq_at(fx.m.payload), 3);
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.written_count, 3); /* no marker */
    CHECK_EQ_U64(h.write_pos, 116);
    CHECK_EQ_U64(h.payload_free_bytes, 1024 - 116);
    GET_RELEASE(fx.r, 100, 3);
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.frames_unread, 0);
    CHECK_EQ_U64(h.read_count, 3);
    CHECK_EQ_U64(h.read_pos, 116);
  }
  fixture_close(&fx);
}

static void test_placement_no_small_tail(void) {
  ring_fixture fx;
  zb_health h;
  if (fixture_open(&fx, "notail", 1024) == 0) {
    CHECK_RC(put(fx.w, 496, 1, 0), 0); /* total 512 at 0 */
    GET_RELEASE(fx.r, 496, 1);
    memset(fx.m.payload + 512, 0xAA, 16);
    /* total 504 would fit at 512 but leave 8 bytes: marker + wrap. */
    CHECK_RC(put(fx.w, 488, 2, 0), 0);
    CHECK(all_zero(fx.m.payload + 512, 16));
    CHECK_EQ_U64(header_size_at(fx.m.payload), 488);
    CHECK_EQ_U64(header_seq_at(fx.m.payload), 2);
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.write_pos, 504);
    CHECK_EQ_U64(h.written_count, 3);
    CHECK_EQ_U64(h.payload_free_bytes, 1024 - 512 - 504);
    GET_RELEASE(fx.r, 488, 2);
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.read_count, 3);
    CHECK_EQ_U64(h.read_pos, 504);
    CHECK_EQ_U64(h.payload_free_bytes, 1024);

    /* Also a frame that would leave 1 or 15 bytes is moved to 0. */
    CHECK_RC(put(fx.w, 1, 3, 0), 0); /* [504, 521) */
    GET_RELEASE(fx.r, 1, 3);
    memset(fx.m.payload + 521, 0xAA, 16);
    CHECK_RC(put(fx.w, 486, 4, 0), 0); /* total 502 at 521 would leave 1 */
    CHECK(all_zero(fx.m.payload + 521, 16));
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.write_pos, 502);
    CHECK_EQ_U64(h.written_count, 6);
    GET_RELEASE(fx.r, 486, 4);
    CHECK_RC(put(fx.w, 14, 5, 0), 0); /* [502, 532) */
    GET_RELEASE(fx.r, 14, 5);
    CHECK_RC(put(fx.w, 461, 6, 0), 0); /* total 477 at 532 would leave 15 */
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.write_pos, 477);
    CHECK_EQ_U64(h.written_count, 9);
    GET_RELEASE(fx.r, 461, 6);
    /* ... but leaving 16 is fine: the frame stays where it is. */
    CHECK_RC(put(fx.w, 515, 7, 0), 0); /* [477, 1008) leaves 16 */
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.write_pos, 1008);
    CHECK_EQ_U64(h.written_count, 10);
    GET_RELEASE(fx.r, 515, 7);
    memset(fx.m.payload + 1008, 0xAA, 16);
    CHECK_RC(put(fx.w, 10, 8, 0), 0); /* 16 left: exactly a marker */
    CHECK(all_zero(fx.m.payload + 1008, 16));
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.write_pos, 26);
    CHECK_EQ_U64(h.written_count, 12);
    GET_RELEASE(fx.r, 10, 8);
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.read_count, 12);
    CHECK_EQ_U64(h.payload_free_bytes, 1024);
  }
  fixture_close(&fx);
}

static void test_placement_unavoidable_tail(void) {
  ring_fixture fx;
  zb_health h;
  double t0;
  if (fixture_open(&fx, "tail", 1024) == 0) {
    CHECK_RC(put(fx.w, 1000, 1, 0), 0); /* total 1016 at 0: 8 left */
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.write_pos, 1016);
    CHECK_EQ_U64(h.written_count, 1);
    GET_RELEASE(fx.r, 1000, 1);
    memset(fx.m.payload + 1016, 0xAA, 8); /* stale bytes in the tail */

    /* Larger than write_pos: fits neither after the tail nor at 0 while
     * the tail is unaccounted -> at once, whatever the timeout. */
    t0 = now_ms();
    CHECK_RC(put(fx.w, 1001, 2, 2000), ZB_EMSGSIZE);
    CHECK(now_ms() - t0 < 100);
    CHECK_MSG("1001 bytes");
    CHECK_MSG("cannot follow");
    CHECK_MSG("8 bytes left");
    CHECK_MSG(fx.name);
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.written_count, 1); /* nothing was published */
    CHECK_EQ_U64(h.payload_free_bytes, 1024);

    /* A frame that fits at 0: the tail is zeroed, no marker, and counted
     * as the C++ reader counts it (it decodes size 0 there: a marker). */
    CHECK_RC(put(fx.w, 1000, 2, 0), 0);
    CHECK(all_zero(fx.m.payload + 1016, 8));
    CHECK_EQ_U64(header_size_at(fx.m.payload), 1000);
    CHECK_EQ_U64(header_seq_at(fx.m.payload), 2);
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.written_count, 3);
    CHECK_EQ_U64(h.write_pos, 1016);
    CHECK_EQ_U64(h.payload_free_bytes, 0);
    GET_RELEASE(fx.r, 1000, 2); /* implicit wrap over the 8-byte tail */
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.read_count, 2); /* ours skips the tail uncounted */
    CHECK_EQ_U64(h.read_pos, 1016);
    CHECK_EQ_U64(h.payload_free_bytes, 1024);

    memset(fx.m.payload + 1016, 0xAA, 8);
    CHECK_RC(put(fx.w, 100, 3, 0), 0);
    CHECK(all_zero(fx.m.payload + 1016, 8));
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.written_count, 5); /* the tail again, and frame 3 */
    CHECK_EQ_U64(h.write_pos, 116);
    CHECK_EQ_U64(h.payload_free_bytes, 1024 - 8 - 116);
    /* the backlog goes by positions: the counts are 3 apart (two tails) */
    CHECK_EQ_U64(h.frames_unread, 1);
    CHECK_EQ_U64(h.frames_held, 0);
    GET_RELEASE(fx.r, 100, 3);
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.frames_unread, 0);
    CHECK_EQ_U64(h.read_count, 3);
    CHECK_EQ_U64(h.read_pos, 116);
    CHECK_EQ_U64(h.payload_free_bytes, 1024);
  }
  fixture_close(&fx);
}

/* Committing fewer bytes than a reservation that ended exactly at the end
 * of the ring leaves a 1..15-byte tail behind a frame at offset > 0: it is
 * at least zeroed when the next frame wraps, and our reader copes. */
static void test_placement_shrunk_commit(void) {
  ring_fixture fx;
  zb_health h;
  zb_reservation slot;
  if (fixture_open(&fx, "shrunk", 1024) == 0) {
    CHECK_RC(put(fx.w, 496, 1, 0), 0); /* [0, 512) */
    GET_RELEASE(fx.r, 496, 1);
    memset(fx.m.payload + 1010, 0xAA, 14);
    CHECK_RC(zb_writer_reserve(fx.w, 496, &slot, 0), 0); /* [512, 1024) */
    fill(slot.data, 482, 2);
    CHECK_RC(zb_reservation_commit(&slot, 482), 0); /* [512, 1010): 14 left */
    GET_RELEASE(fx.r, 482, 2);
    CHECK_RC(put(fx.w, 100, 3, 0), 0);
    CHECK(all_zero(fx.m.payload + 1010, 14));
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.write_pos, 116);
    GET_RELEASE(fx.r, 100, 3);
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.payload_free_bytes, 1024);
  }
  fixture_close(&fx);
}

static void test_placement_wrap_first(void) {
  ring_fixture fx;
  zb_health h;
  zb_frame f;
  zb_reservation slot;
  if (fixture_open(&fx, "wrapfirst", 1024) == 0) {
    CHECK_RC(put(fx.w, 384, 1, 0), 0); /* A: total 400 at 0 */
    GET_RELEASE(fx.r, 384, 1);
    memset(fx.m.payload + 400, 0xAA, 16);
    /* B: total 700 > 624 left, and 624 + 700 > 1024: the marker goes
     * alone, B waits until the reader has passed it. */
    CHECK_RC(zb_writer_reserve(fx.w, 684, &slot, 0), ZB_EAGAIN);
    CHECK(all_zero(fx.m.payload + 400, 16));
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.written_count, 2);
    CHECK_EQ_U64(h.write_pos, 0);
    CHECK_EQ_U64(h.payload_free_bytes, 400);
    /* Trying again does not publish a second marker. */
    CHECK_RC(zb_writer_reserve(fx.w, 684, &slot, 0), ZB_EAGAIN);
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.written_count, 2);
    CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_EAGAIN); /* eats the marker */
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.read_count, 2);
    CHECK_EQ_U64(h.read_pos, 0);
    CHECK_EQ_U64(h.payload_free_bytes, 1024);
    CHECK_RC(zb_writer_reserve(fx.w, 684, &slot, 0), 0);
    fill(slot.data, 684, 2);
    CHECK(memcmp(fx.m.payload + 16, slot.data, 684) == 0); /* at 0 */
    CHECK_RC(zb_reservation_commit(&slot, 684), 0);
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.written_count, 3);
    CHECK_EQ_U64(h.write_pos, 700);
    GET_RELEASE(fx.r, 684, 2);
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.read_count, 3);
    CHECK_EQ_U64(h.payload_free_bytes, 1024);
  }
  fixture_close(&fx);
}

/* 7. Held frames, released out of order. */
static void test_held_frames(void) {
  ring_fixture fx;
  zb_health h;
  zb_frame f[5], fake;
  const uint64_t sizes[5] = {50, 60, 70, 80, 90}; /* totals 66..106 */
  const uint64_t used = 66 + 76 + 86 + 96 + 106;
  int i;
  if (fixture_open(&fx, "held", 1024) == 0) {
    for (i = 0; i < 5; i++)
      CHECK_RC(put(fx.w, sizes[i], (uint64_t)i + 1, 0), 0);
    for (i = 0; i < 5; i++) {
      CHECK_RC(zb_reader_next(fx.r, &f[i], 0), 0);
      CHECK(frame_ok(&f[i], sizes[i], (uint64_t)i + 1));
    }
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.payload_free_bytes, 1024 - used);

    CHECK_RC(zb_frame_release(&f[2]), 0); /* 3 */
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.payload_free_bytes, 1024 - used);
    CHECK_RC(zb_frame_release(&f[2]), ZB_EINVAL); /* 3 again */
    CHECK_MSG("released");
    CHECK_RC(zb_frame_release(&f[0]), 0); /* 1 */
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.payload_free_bytes, 1024 - used + 66);
    CHECK_RC(zb_frame_release(&f[4]), 0); /* 5 */
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.payload_free_bytes, 1024 - used + 66);
    /* frames still held are intact */
    CHECK(frame_ok(&f[1], 60, 2));
    CHECK(frame_ok(&f[3], 80, 4));
    CHECK_RC(zb_frame_release(&f[1]), 0); /* 2: gives back 2 and 3 */
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.payload_free_bytes, 1024 - used + 66 + 76 + 86);
    CHECK_RC(zb_frame_release(&f[3]), 0); /* 4: gives back 4 and 5 */
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.payload_free_bytes, 1024);

    CHECK_RC(zb_frame_release(&f[0]), ZB_EINVAL);
    CHECK_MSG("released");
    CHECK_RC(zb_frame_release(&f[4]), ZB_EINVAL);
    CHECK_MSG("released");
    memset(&fake, 0, sizeof fake);
    fake.reader = fx.r;
    fake.ticket = 123456;
    CHECK_RC(zb_frame_release(&fake), ZB_EINVAL);
    CHECK_MSG("not held");
    fake.ticket = UINT64_MAX;
    CHECK_RC(zb_frame_release(&fake), ZB_EINVAL);
    CHECK_RC(zb_frame_release(NULL), ZB_EINVAL);
    CHECK_RC(zb_frame_release(&fake), ZB_EINVAL);
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.payload_free_bytes, 1024);

    /* Held frames across a wrap marker: the tail comes back in ring order
     * (only once the frames before it are released). */
    CHECK_RC(put(fx.w, 400, 6, 0), 0); /* [430, 846) */
    CHECK_RC(zb_reader_next(fx.r, &f[0], 0), 0);
    CHECK_RC(put(fx.w, 300, 7, 0), 0); /* 178 left: marker, [0, 316) */
    CHECK_RC(zb_reader_next(fx.r, &f[1], 0), 0);
    CHECK(frame_ok(&f[1], 300, 7));
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.payload_free_bytes, 1024 - 416 - 178 - 316);
    CHECK_RC(zb_frame_release(&f[1]), 0);
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.payload_free_bytes, 1024 - 416 - 178 - 316);
    CHECK(frame_ok(&f[0], 400, 6));
    CHECK_RC(zb_frame_release(&f[0]), 0);
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.payload_free_bytes, 1024);

    /* Many held frames (the queue grows past its first capacity). */
    for (i = 0; i < 40; i++)
      CHECK_RC(put(fx.w, 4, 8 + (uint64_t)i, 0), 0);
    {
      zb_frame many[40];
      for (i = 0; i < 40; i++) {
        CHECK_RC(zb_reader_next(fx.r, &many[i], 0), 0);
        CHECK(frame_ok(&many[i], 4, 8 + (uint64_t)i));
      }
      for (i = 39; i >= 0; i--)
        CHECK_RC(zb_frame_release(&many[i]), 0);
    }
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.payload_free_bytes, 1024);

    /* Released together: all their bytes back, then one post of sem-r. A
     * frame not held among them is reported; the others still go back. */
    {
      char sem_name[128];
      sem_t *sem_r;
      int before = -1, after = -1;
      snprintf(sem_name, sizeof sem_name, "/sem-r-%s", fx.name);
      sem_r = sem_open(sem_name, 0);
      CHECK(sem_r != SEM_FAILED);
      for (i = 0; i < 4; i++)
        CHECK_RC(put(fx.w, 100, 48 + (uint64_t)i, 0), 0);
      for (i = 0; i < 4; i++)
        CHECK_RC(zb_reader_next(fx.r, &f[i], 0), 0);
      CHECK_RC(zb_frame_release(&f[1]), 0); /* waits for frame 1 */
      if (sem_r != SEM_FAILED)
        sem_getvalue(sem_r, &before);
      CHECK_RC(zb_frames_release(f, 4), ZB_EINVAL); /* f[1]: released */
      CHECK_MSG("released");
      if (sem_r != SEM_FAILED) {
        sem_getvalue(sem_r, &after);
        sem_close(sem_r);
      }
      CHECK_EQ_U64((uint64_t)(after - before), 1);
      CHECK(f[0].reader == NULL && f[2].reader == NULL && f[3].reader == NULL);
      CHECK_RC(zb_reader_health(fx.r, &h), 0);
      CHECK_EQ_U64(h.payload_free_bytes, 1024);
      CHECK_RC(zb_frames_release(f, 0), 0);
      CHECK_RC(zb_frames_release(NULL, 1), ZB_EINVAL);
    }
  }
  fixture_close(&fx);
}

/* The reader's view of the writer's room: whether a frame like the largest
 * read so far fits at the writer's position, wrap included. */
static void test_room(void) {
  ring_fixture fx;
  zb_reader_room_info room;
  zb_frame a, b, c;
  if (fixture_open(&fx, "room", 1024) == 0) {
    CHECK_RC(zb_reader_room(fx.r, &room), 0);
    CHECK(room.fits_largest && room.largest == 0 && room.free == 1024);
    CHECK_RC(put(fx.w, 400, 1, 0), 0); /* [0, 416) */
    CHECK_RC(zb_reader_room(fx.r, &room), 0);
    CHECK_EQ_U64(room.unread, 416);
    CHECK_RC(zb_reader_next(fx.r, &a, 0), 0);
    CHECK_RC(zb_reader_room(fx.r, &room), 0);
    CHECK(room.fits_largest && room.largest == 400 && room.unread == 0);
    CHECK_EQ_U64(room.held, 416);
    CHECK_RC(put(fx.w, 400, 2, 0), 0); /* [416, 832) */
    CHECK_RC(zb_reader_next(fx.r, &b, 0), 0);
    CHECK_RC(zb_reader_room(fx.r, &room), 0);
    CHECK(!room.fits_largest); /* 192 left at the end, the start held */
    CHECK_EQ_U64(room.free, 192);
    CHECK_RC(zb_frame_release(&a), 0);
    CHECK_RC(zb_reader_room(fx.r, &room), 0);
    CHECK(room.fits_largest); /* a marker over the tail, then [0, 416) */
    CHECK_RC(put(fx.w, 400, 3, 0), 0);
    CHECK_RC(zb_reader_next(fx.r, &c, 0), 0);
    CHECK(frame_ok(&c, 400, 3));
    CHECK_RC(zb_reader_room(fx.r, &room), 0);
    CHECK(!room.fits_largest && room.unread == 0);
    CHECK_RC(zb_frame_release(&b), 0);
    CHECK_RC(zb_frame_release(&c), 0);
    CHECK_RC(zb_reader_room(fx.r, &room), 0);
    CHECK(room.fits_largest && room.free == 1024 && room.held == 0);
  }
  fixture_close(&fx);
}

/* zb_reader_held_bytes against zb_reader_room's held bytes after every
 * take and release: frames of varying sizes through a small ring (wraps
 * with markers and skipped tails), two held at a time and released in both
 * orders (bytes behind an older held frame stay held), so that the cheap
 * query and the full one cannot drift apart. */
static void check_held_bytes_as_room(zb_reader *r) {
  zb_reader_room_info room;
  uint64_t held = UINT64_MAX, size = 0;
  CHECK_RC(zb_reader_room(r, &room), 0);
  CHECK_RC(zb_reader_held_bytes(r, &held, &size), 0);
  CHECK_EQ_U64(held, room.held);
  CHECK_EQ_U64(size, room.size);
}

static void test_held_bytes(void) {
  ring_fixture fx;
  zb_frame held[2];
  uint64_t i, h = 0, s = 0;
  unsigned wraps = 0;
  const uint8_t *last = NULL;
  if (fixture_open(&fx, "heldb", 1024) == 0) {
    check_held_bytes_as_room(fx.r);
    CHECK_RC(zb_reader_held_bytes(fx.r, &h, &s), 0);
    CHECK(h == 0 && s == 1024);
    for (i = 1; i <= 40; i++) {
      zb_frame *f = &held[(i - 1) % 2];
      CHECK_RC(put(fx.w, 40 + (i * 97) % 260, i, 0), 0);
      CHECK_RC(zb_reader_take_ready(fx.r, f), 0);
      CHECK(frame_ok(f, 40 + (i * 97) % 260, i));
      if (last != NULL && f->data < last)
        wraps++;
      last = f->data;
      check_held_bytes_as_room(fx.r);
      if (i % 2 == 0) { /* newest first every other pair */
        CHECK_RC(zb_frame_release(&held[i % 4 == 0 ? 1 : 0]), 0);
        check_held_bytes_as_room(fx.r);
        CHECK_RC(zb_frame_release(&held[i % 4 == 0 ? 0 : 1]), 0);
        check_held_bytes_as_room(fx.r);
      }
    }
    CHECK(wraps >= 4);
    CHECK_RC(zb_reader_held_bytes(fx.r, &h, &s), 0);
    CHECK_EQ_U64(h, 0);
    CHECK_RC(zb_reader_held_bytes(NULL, &h, &s), ZB_EINVAL);
    CHECK_RC(zb_reader_held_bytes(fx.r, NULL, &s), ZB_EINVAL);
    CHECK_RC(zb_reader_held_bytes(fx.r, &h, NULL), ZB_EINVAL);
  }
  fixture_close(&fx);
}

/* 8. Metadata. */
/* A writer whose metadata does not fit the 64-byte block and that leaves
 * without a frame notes in the block what it needed, so its reader fails
 * with EMSGSIZE and the size instead of waiting for a stream that never
 * comes (it waited: nothing in the segment said a writer was there). The
 * frames a writer before it published come first. One that wrote a frame
 * after the refusal leaves no note. */
static void test_metadata_needed_note(void) {
  ring_fixture fx;
  zb_frame f;
  const uint8_t *data;
  uint64_t size;
  static const char big[100] = "{}";
  if (fixture_open(&fx, "metaneed", 1024) == 0) {
    CHECK_RC(put(fx.w, 16, 1, 0), 0); /* a writer that wrote no metadata */
    zb_writer_destroy(fx.w);
    CHECK_RC(zb_writer_connect(&fx.w, fx.name), 0);
    CHECK_RC(zb_writer_set_metadata(fx.w, big, sizeof big), ZB_EMSGSIZE);
    zb_writer_destroy(fx.w);
    fx.w = NULL;
    GET_RELEASE(fx.r, 16, 1);
    CHECK_RC(zb_reader_next(fx.r, &f, 1000), ZB_EMSGSIZE);
    CHECK_MSG("gave up");
    CHECK_MSG("at least 108");
    CHECK_MSG(fx.name);
    CHECK_RC(zb_reader_metadata(fx.r, &data, &size), 0);
    CHECK(size == strlen("{\"zerobuffer\":{\"metadata_needed\":108}}") &&
          memcmp(data, "{\"zerobuffer\":{\"metadata_needed\":108}}", size) ==
              0);
    /* told as zb_reader_next tells it: the note is no metadata */
    CHECK_RC(zb_reader_metadata_note(fx.r), ZB_EMSGSIZE);
    CHECK_MSG("gave up");
    CHECK_MSG("at least 108");
    fixture_close(&fx);
  }
  if (fixture_open(&fx, "metaneed2", 1024) == 0) {
    CHECK_RC(zb_writer_set_metadata(fx.w, big, sizeof big), ZB_EMSGSIZE);
    CHECK_RC(put(fx.w, 16, 1, 0), 0);
    zb_writer_destroy(fx.w);
    fx.w = NULL;
    GET_RELEASE(fx.r, 16, 1);
    CHECK_RC(zb_reader_next(fx.r, &f, 1000), ZB_EOF);
    CHECK_RC(zb_reader_metadata(fx.r, &data, &size), 0);
    CHECK_EQ_U64(size, 0);
    CHECK_RC(zb_reader_metadata_note(fx.r), 0);
    fixture_close(&fx);
  }
}

static void destroy_writer(void *w) { zb_writer_destroy(w); }

static void write_metadata_and_detach(void *w) {
  CHECK_RC(zb_writer_set_metadata(w, "{}", 2), 0);
  zb_writer_destroy(w);
}

/* The note and the writer's detach both between the reader's load of the
 * metadata and its load of writer_pid: the reader saw the writer attached
 * before, finds it gone and nothing to read, and reported the end of the
 * stream (ZB_EOF) instead of what the note says. */
static void test_metadata_note_between_loads(void) {
  ring_fixture fx;
  zb_frame f;
  static const char big[100] = "{}";
  if (fixture_open(&fx, "hcore-notedetach", 1024) == 0) {
    CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_EAGAIN); /* the writer seen */
    CHECK_RC(zb_writer_set_metadata(fx.w, big, sizeof big), ZB_EMSGSIZE);
    zb__reader_between_loads(fx.r, destroy_writer, fx.w);
    fx.w = NULL;
    CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_EMSGSIZE);
    CHECK_MSG("at least 108");
    CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_EMSGSIZE); /* and stays */
    fixture_close(&fx);
  }
  /* Metadata that fits, the same way: one end of the stream, not a second
   * one when the next look found the metadata new. */
  if (fixture_open(&fx, "hcore-metadetach", 1024) == 0) {
    CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_EAGAIN);
    zb__reader_between_loads(fx.r, write_metadata_and_detach, fx.w);
    fx.w = NULL;
    CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_EOF);
    CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_EAGAIN);
    fixture_close(&fx);
  }
}

static void test_metadata(void) {
  ring_fixture fx;
  zb_health h;
  const uint8_t *data;
  uint64_t size;
  const char *a = "{\"caps\":\"video/x-raw\"}";
  const char *b = "{\"caps\":\"audio/x-raw\"}";
  static const char padded[] = "abcdXYZ";
  if (fixture_open(&fx, "meta", 1024) == 0) {
    data = (const uint8_t *)"junk";
    size = 99;
    CHECK_RC(zb_reader_metadata(fx.r, &data, &size), 0);
    CHECK_EQ_U64(size, 0);
    CHECK(data == NULL);
    CHECK_RC(zb_reader_metadata(fx.r, NULL, &size), ZB_EINVAL);
    CHECK_RC(zb_writer_set_metadata(fx.w, a, 0), ZB_EINVAL);
    CHECK_RC(zb_writer_set_metadata(fx.w, NULL, 5), ZB_EINVAL);
    CHECK_RC(zb_writer_set_metadata(fx.w, a, 57), ZB_EMSGSIZE);
    CHECK_MSG("57 bytes");
    CHECK_MSG("64 bytes");
    CHECK_MSG("at least 65");
    CHECK_MSG(fx.name);
    CHECK_RC(zb_writer_set_metadata(fx.w, a, UINT64_MAX), ZB_EMSGSIZE);
    CHECK_MSG("does not fit");
    CHECK_RC(zb_reader_metadata(fx.r, &data, &size), 0);
    CHECK_EQ_U64(size, 0);

    CHECK_RC(zb_writer_metadata(fx.w, &data, &size), 0);
    CHECK_EQ_U64(size, 0);
    CHECK_RC(zb_writer_set_metadata(fx.w, a, strlen(a)), 0);
    CHECK_RC(zb_writer_metadata(fx.w, &data, &size), 0);
    CHECK(size == strlen(a) && memcmp(data, a, size) == 0);
    CHECK_RC(zb_writer_metadata(fx.w, NULL, &size), ZB_EINVAL);
    CHECK_RC(zb_writer_set_metadata(fx.w, a, strlen(a)), 0);
    CHECK_RC(zb_writer_set_metadata(fx.w, b, strlen(b)), ZB_EMETADATA);
    CHECK_MSG(a);
    CHECK_MSG(b);
    CHECK_MSG(fx.name);
    CHECK_RC(zb_writer_set_metadata(fx.w, a, strlen(a) - 1), ZB_EMETADATA);
    CHECK_RC(zb_reader_metadata(fx.r, &data, &size), 0);
    CHECK_EQ_U64(size, strlen(a));
    CHECK(data != NULL && memcmp(data, a, strlen(a)) == 0);
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.metadata_written_bytes, 8 + strlen(a));
    CHECK_EQ_U64(atomic_load(&fx.m.oieb->metadata_free_bytes),
                 64 - 8 - strlen(a));

    /* A writer that reconnects: identical is fine, different is not. */
    zb_writer_destroy(fx.w);
    fx.w = NULL;
    CHECK_RC(zb_writer_connect(&fx.w, fx.name), 0);
    if (fx.w != NULL) {
      CHECK_RC(zb_writer_set_metadata(fx.w, a, strlen(a)), 0);
      CHECK_RC(zb_writer_set_metadata(fx.w, b, strlen(b)), ZB_EMETADATA);
      CHECK_MSG(a);
      CHECK_MSG(b);
      /* The message shows exactly the given bytes, not what follows them. */
      CHECK_RC(zb_writer_set_metadata(fx.w, padded, 4), ZB_EMETADATA);
      CHECK_MSG("\"abcd\"");
    }
    CHECK_RC(zb_reader_metadata(fx.r, &data, &size), 0);
    CHECK_EQ_U64(size, strlen(a));
  }
  fixture_close(&fx);

  /* Metadata after this writer's first frame would never be read: refused,
   * the block stays empty. A later writer may still write it before its
   * own first frame (the ring's earlier frames do not count). */
  if (fixture_open(&fx, "metalate", 1024) == 0) {
    CHECK_RC(put(fx.w, 100, 1, 0), 0);
    CHECK_RC(zb_writer_set_metadata(fx.w, a, strlen(a)), ZB_ESTATE);
    CHECK_MSG("metadata goes before the first frame");
    CHECK_MSG("has written 1 frame already");
    CHECK_MSG(fx.name);
    CHECK_RC(zb_reader_metadata(fx.r, &data, &size), 0);
    CHECK_EQ_U64(size, 0);
    GET_RELEASE(fx.r, 100, 1);
    zb_writer_destroy(fx.w);
    fx.w = NULL;
    CHECK_RC(zb_writer_connect(&fx.w, fx.name), 0);
    if (fx.w != NULL) {
      CHECK_RC(zb_writer_set_metadata(fx.w, a, strlen(a)), 0);
      CHECK_RC(put(fx.w, 100, 1, 0), 0);
      /* identical bytes too: the rule does not depend on the block */
      CHECK_RC(zb_writer_set_metadata(fx.w, a, strlen(a)), ZB_ESTATE);
    }
    CHECK_RC(zb_reader_metadata(fx.r, &data, &size), 0);
    CHECK_EQ_U64(size, strlen(a));
  }
  fixture_close(&fx);

  /* Metadata filling its block exactly (56 + 8 = 64). */
  if (fixture_open(&fx, "metafull", 1024) == 0) {
    char full[57];
    memset(full, 'm', 56);
    full[56] = '\0';
    /* non-zero bytes after the block: a frame of an earlier writer */
    CHECK_RC(put(fx.w, 200, 1, 0), 0);
    zb_writer_destroy(fx.w);
    fx.w = NULL;
    CHECK_RC(zb_writer_connect(&fx.w, fx.name), 0);
    if (fx.w != NULL) {
      char quoted[60];
      CHECK_RC(zb_writer_set_metadata(fx.w, full, 56), 0);
      CHECK_RC(zb_reader_metadata(fx.r, &data, &size), 0);
      CHECK_EQ_U64(size, 56);
      CHECK_EQ_U64(atomic_load(&fx.m.oieb->metadata_free_bytes), 0);
      CHECK_RC(zb_writer_set_metadata(fx.w, "other", 5), ZB_EMETADATA);
      snprintf(quoted, sizeof quoted, "\"%s\"", full);
      CHECK_MSG(quoted); /* the existing metadata, and nothing after it */
    }
    GET_RELEASE(fx.r, 200, 1);
  }
  fixture_close(&fx);

  /* A destroyed writer that is still referenced writes no metadata: the
   * ring's is the next writer's. */
  if (fixture_open(&fx, "metaclosed", 1024) == 0) {
    zb_writer *old = zb_writer_ref(fx.w);
    zb_writer_destroy(fx.w);
    fx.w = NULL;
    CHECK_RC(zb_writer_connect(&fx.w, fx.name), 0);
    CHECK_RC(zb_writer_set_metadata(old, a, strlen(a)), ZB_ESTATE);
    CHECK_MSG("is closed");
    CHECK_RC(zb_reader_metadata(fx.r, &data, &size), 0);
    CHECK_EQ_U64(size, 0);
    if (fx.w != NULL)
      CHECK_RC(zb_writer_set_metadata(fx.w, b, strlen(b)), 0);
    zb_writer_unref(old);
  }
  fixture_close(&fx);
  check_usable();
}

/* 9. Writer connect checks. */
typedef struct destroy_later {
  zb_reader *r;
  int delay_ms;
} destroy_later;

static void *destroy_thread(void *arg) {
  destroy_later *d = arg;
  sleep_ms(d->delay_ms);
  zb_reader_destroy(d->r);
  return NULL;
}

static void test_writer_checks(void) {
  char name[96], path[300];
  zb_reader *r = NULL;
  zb_writer *w = NULL, *w2 = NULL;
  raw_map m;
  zb_health h;
  double t0;

  snprintf(name, sizeof name, "%s", zb_test_name("wcheck"));
  w = (zb_writer *)&w;
  CHECK_RC(zb_writer_connect(&w, name), ZB_ENOENT);
  CHECK(w == NULL);
  CHECK_MSG(name);
  CHECK_MSG("no reader");

  CHECK_RC(zb_reader_create(&r, name, 64, 1024, NULL), 0);
  CHECK_RC(zb_writer_connect(&w, name), 0);
  CHECK_RC(zb_writer_connect(&w2, name), ZB_EBUSY);
  CHECK(w2 == NULL);
  CHECK_MSG("live writer in this process");
  CHECK_MSG(name);
  /* The first writer is untouched by the refused second one. */
  CHECK_RC(put(w, 10, 1, 0), 0);
  GET_RELEASE(r, 10, 1);
  zb_writer_destroy(w);
  w = NULL;
  CHECK_RC(zb_reader_next(r, &(zb_frame){0}, 0), ZB_EOF);

  if (raw_open(&m, name) != 0) {
    CHECK(!"raw_open failed");
    goto out;
  }
  /* reader_pid 0: the reader closed. */
  atomic_store(&m.oieb->reader_pid, 0);
  CHECK_RC(zb_writer_connect(&w, name), ZB_EREADERGONE);
  CHECK(w == NULL);
  CHECK_MSG("no reader");
  CHECK_MSG(name);
  /* a dead reader */
  atomic_store(&m.oieb->reader_pid, (uint64_t)dead_pid());
  CHECK_RC(zb_writer_connect(&w, name), ZB_EREADERGONE);
  CHECK_MSG("dead");
  /* an impossible pid read from the segment */
  atomic_store(&m.oieb->reader_pid, UINT64_MAX);
  CHECK_RC(zb_writer_connect(&w, name), ZB_EREADERGONE);
  CHECK_EQ_U64(atomic_load(&m.oieb->writer_pid), 0); /* not claimed */
  atomic_store(&m.oieb->reader_pid, (uint64_t)getpid());

  /* A live writer of another process holds the slot. */
  atomic_store(&m.oieb->writer_pid, (uint64_t)getppid());
  CHECK_RC(zb_writer_connect(&w, name), ZB_EBUSY);
  CHECK_MSG("live writer (pid");
  CHECK(strstr(zb_last_error(), "this process") == NULL);
  CHECK_EQ_U64(atomic_load(&m.oieb->writer_pid), (uint64_t)getppid());
  /* A dead writer's slot is taken over. */
  atomic_store(&m.oieb->writer_pid, (uint64_t)dead_pid());
  CHECK_RC(zb_writer_connect(&w, name), 0);
  CHECK_EQ_U64(atomic_load(&m.oieb->writer_pid), (uint64_t)getpid());
  zb_writer_destroy(w);
  w = NULL;
  CHECK_EQ_U64(atomic_load(&m.oieb->writer_pid), 0);
  raw_close(&m);

  /* A missing semaphore (reader half gone). */
  snprintf(path, sizeof path, "/sem-w-%s", name);
  sem_unlink(path);
  CHECK_RC(zb_writer_connect(&w, name), ZB_ENOENT);
  CHECK_MSG("semaphore");

  zb_reader_destroy(r);
  r = NULL;
  CHECK(zb_test_ring_gone(name));
  CHECK_RC(zb_writer_connect(&w, name), ZB_ENOENT);
  CHECK_MSG("no reader");

  /* Waiting on a full ring when the reader closes: EREADERGONE at once. */
  CHECK_RC(zb_reader_create(&r, name, 64, 1024, NULL), 0);
  CHECK_RC(zb_writer_connect(&w, name), 0);
  if (r != NULL && w != NULL) {
    pthread_t th;
    destroy_later d = {r, 100};
    CHECK_RC(put(w, 1008, 1, 0), 0);
    CHECK(pthread_create(&th, NULL, destroy_thread, &d) == 0);
    t0 = now_ms();
    CHECK_RC(put(w, 100, 2, 5000), ZB_EREADERGONE);
    CHECK(now_ms() - t0 < 1000);
    CHECK_MSG("gone");
    pthread_join(th, NULL);
    r = NULL;
    CHECK(zb_test_ring_gone(name));
    /* still refused, without waiting */
    t0 = now_ms();
    CHECK_RC(put(w, 100, 2, 5000), ZB_EREADERGONE);
    CHECK(now_ms() - t0 < 100);
    CHECK_RC(zb_writer_health(w, &h), 0);
    CHECK_EQ_U64(h.reader_pid, 0);
    CHECK(!h.reader_alive);
    zb_writer_destroy(w);
    w = NULL;
  }
  /* ... also when there is room. */
  CHECK_RC(zb_reader_create(&r, name, 64, 1024, NULL), 0);
  CHECK_RC(zb_writer_connect(&w, name), 0);
  zb_reader_destroy(r);
  r = NULL;
  if (w != NULL) {
    CHECK_RC(put(w, 100, 1, 0), ZB_EREADERGONE);
    CHECK_MSG("closed");
    zb_writer_destroy(w);
    w = NULL;
  }
  /* ... and when it closes between a reserve and its commit (zerosink's
   * pool reserves the next frame ahead): the commit fails, the
   * reservation is dropped and nothing is published. */
  CHECK_RC(zb_reader_create(&r, name, 64, 1024, NULL), 0);
  CHECK_RC(zb_writer_connect(&w, name), 0);
  if (r != NULL && w != NULL) {
    zb_reservation a, b;
    zb_hold hold;
    CHECK_RC(zb_writer_reserve(w, 100, &a, 0), 0);
    CHECK_RC(zb_writer_reserve(w, 100, &b, 0), 0);
    zb_reader_destroy(r);
    r = NULL;
    CHECK_RC(zb_reservation_commit(&a, 100), ZB_EREADERGONE);
    CHECK_MSG("closed");
    CHECK(a.writer == NULL);
    CHECK_RC(zb_reservation_commit_hold(&b, 100, &hold), ZB_EREADERGONE);
    CHECK(b.writer == NULL && hold.writer == NULL);
    CHECK_EQ_U64(zb_writer_open_reservations(w), 0);
    CHECK_RC(zb_writer_health(w, &h), 0);
    CHECK_EQ_U64(h.written_count, 0);
    zb_writer_destroy(w);
    w = NULL;
  }
  /* ... a frame committed behind the refused one is dropped with it. */
  CHECK_RC(zb_reader_create(&r, name, 64, 1024, NULL), 0);
  CHECK_RC(zb_writer_connect(&w, name), 0);
  if (r != NULL && w != NULL) {
    zb_reservation a, b;
    CHECK_RC(zb_writer_reserve(w, 100, &a, 0), 0);
    CHECK_RC(zb_writer_reserve(w, 100, &b, 0), 0);
    CHECK_RC(zb_reservation_commit(&b, 100), 0);
    zb_reader_destroy(r);
    r = NULL;
    CHECK_RC(zb_reservation_commit(&a, 100), ZB_EREADERGONE);
    CHECK_RC(zb_writer_health(w, &h), 0);
    CHECK_EQ_U64(h.written_count, 0);
  }
out:
  zb_writer_destroy(w);
  zb_reader_destroy(r);
  CHECK(zb_test_ring_gone(name));
  check_usable();
}

/* 10. Corrupted segments. */
enum corruption {
  C_OIEB_SIZE,
  C_VERSION,
  C_PAYLOAD_SIZE,
  C_PAYLOAD_SIZE_SMALL,
  C_METADATA_SIZE,
  C_PAYLOAD_TOO_SMALL,
  C_FREE,
  C_WRITE_POS,
  C_READ_POS,
  C_META_WRITTEN,
  C_COUNT
};

static void corrupt(raw_map *m, int what) {
  zb_oieb *o = m->oieb;
  switch (what) {
  case C_OIEB_SIZE: o->oieb_size = 256; break;
  case C_VERSION: o->version[0] = 2; break;
  case C_PAYLOAD_SIZE: atomic_store(&o->payload_size, 2048); break;
  case C_PAYLOAD_SIZE_SMALL: atomic_store(&o->payload_size, 512); break;
  case C_METADATA_SIZE: atomic_store(&o->metadata_size, 128); break;
  case C_PAYLOAD_TOO_SMALL: /* the blocks still fill the segment */
    atomic_store(&o->metadata_size, 64 + 1024 - 8);
    atomic_store(&o->payload_size, 8);
    break;
  case C_FREE: atomic_store(&o->payload_free_bytes, 1025); break;
  case C_WRITE_POS: atomic_store(&o->payload_write_pos, 1025); break;
  case C_READ_POS: atomic_store(&o->payload_read_pos, 5000); break;
  case C_META_WRITTEN: atomic_store(&o->metadata_written_bytes, 65); break;
  }
}

/* Each message says what is wrong: the sizes that do not add up, the
 * payload block too small and its minimum (a 392-byte segment of 128 + 256
 * + 8 bytes was said not to match its sizes), the first field out of range
 * with its value and bound (it was "positions or counters out of range"). */
static void test_corrupt_header(void) {
  const char *needles[C_COUNT][2] = {
      {"header size is 256", "header size is 256"},
      {"version 2", "version 2"},
      {"(metadata 64, payload 2048) do not match the 1216-byte segment",
       "128-byte header"},
      {"(metadata 64, payload 512) do not match", "1216-byte"},
      {"(metadata 128, payload 1024) do not match", "1216-byte"},
      {"payload block of 8 bytes is too small", "at least 17 bytes"},
      {"payload_free_bytes is 1025", "1024-byte payload block"},
      {"payload_write_pos is 1025", "at most 1024"},
      {"payload_read_pos is 5000", "at most 1024"},
      {"metadata_written_bytes is 65", "64-byte metadata block"}};
  int what;
  for (what = 0; what < C_COUNT; what++) {
    ring_fixture fx;
    zb_writer *w2 = NULL;
    zb_health h;
    int before = zb_test_failures;
    if (fixture_open(&fx, "corrupt", 1024) == 0) {
      zb_writer_destroy(fx.w); /* writer_pid back to 0 */
      fx.w = NULL;
      corrupt(&fx.m, what);
      CHECK_RC(zb_writer_connect(&w2, fx.name), ZB_EPROTO);
      CHECK(w2 == NULL);
      CHECK_MSG(needles[what][0]);
      CHECK_MSG(needles[what][1]);
      CHECK_MSG(fx.name);
      if (what == C_PAYLOAD_TOO_SMALL)
        CHECK(strstr(zb_last_error(), "do not match") == NULL);
      CHECK_RC(zb_health_read(fx.name, &h), ZB_EPROTO);
      CHECK_MSG(needles[what][0]);
      CHECK_MSG(needles[what][1]);
      CHECK_EQ_U64(atomic_load(&fx.m.oieb->writer_pid), 0);
      zb_writer_destroy(w2);
    }
    fixture_close(&fx);
    if (zb_test_failures != before)
      fprintf(stderr, "  (in corruption case %d)\n", what);
  }
  check_usable();
}

/* A shm object that is not a ZeroBuffer segment at all. */
static void test_corrupt_not_a_segment(void) {
  char name[96], path[300], lock_path[300], creator[32];
  zb_writer *w = NULL;
  zb_health h;
  int fd, lock;
  snprintf(name, sizeof name, "%s", zb_test_name("tiny"));
  snprintf(path, sizeof path, "/%s", name);
  fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
  CHECK(fd >= 0);
  if (fd < 0)
    return;
  CHECK(ftruncate(fd, 64) == 0);
  CHECK_RC(zb_writer_connect(&w, name), ZB_EPROTO);
  CHECK_MSG("128-byte header");
  CHECK_RC(zb_health_read(name, &h), ZB_EPROTO);
  /* Empty: what a writer sees between the reader's shm_open and its
   * ftruncate, while the reader holds its lock file, so "not there yet" (a
   * duplex server that took it for an error stopped serving). */
  CHECK(ftruncate(fd, 0) == 0);
  snprintf(lock_path, sizeof lock_path, "/tmp/zerobuffer/%s.lock", name);
  (void)mkdir("/tmp/zerobuffer", 0700); /* as a reader makes it, if none did */
  lock = open(lock_path, O_RDWR | O_CREAT, 0600);
  CHECK(lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) == 0);
  /* as a reader records itself (start time 0: not compared) */
  CHECK(lock >= 0 && dprintf(lock, "%d 0\n", (int)getpid()) > 0);
  snprintf(creator, sizeof creator, "(pid %d)", (int)getpid());
  CHECK_RC(zb_health_read(name, &h), ZB_ENOENT);
  CHECK_RC(zb_writer_connect(&w, name), ZB_ENOENT);
  CHECK_MSG("still being created");
  CHECK_MSG(creator);
  CHECK(w == NULL);
  /* Zero-filled full-sized file, oieb_size 0: what a writer sees while the
   * reader is still initialising the header, so "not there yet". */
  CHECK(ftruncate(fd, 128 + 64 + 1024) == 0);
  CHECK_RC(zb_health_read(name, &h), ZB_ENOENT);
  CHECK_RC(zb_writer_connect(&w, name), ZB_ENOENT);
  CHECK_MSG("still being created");
  /* No reader holds the lock: its creator died. The zero header is refused
   * as a reader refuses it (the lock file names a live pid, not a dead
   * reader: it may be someone's bytes); with a dead reader named, a reader
   * would remove it: no live reader (EREADERGONE, a writer waits for one). */
  close(lock);
  CHECK_RC(zb_writer_connect(&w, name), ZB_EPROTO);
  CHECK_MSG("all-zero header");
  CHECK_MSG("refuses it too");
  lock = open(lock_path, O_RDWR | O_TRUNC);
  CHECK(lock >= 0 && dprintf(lock, "%d 12345\n", (int)dead_pid()) > 0);
  CHECK_RC(zb_writer_connect(&w, name), ZB_EREADERGONE);
  CHECK_MSG("left half-created");
  CHECK_MSG("not initialised");
  /* Empty, and no reader holds the lock (whatever it names, or with no
   * lock file at all): a creator died between creating and sizing it, and
   * a reader removes it (nothing in it to lose) */
  CHECK(ftruncate(fd, 0) == 0);
  CHECK_RC(zb_writer_connect(&w, name), ZB_EREADERGONE);
  CHECK_MSG("is empty and no reader holds");
  close(lock);
  unlink(lock_path);
  CHECK_RC(zb_writer_connect(&w, name), ZB_EREADERGONE);
  CHECK_MSG("left half-created");
  CHECK(w == NULL);
  {
    zb_reader *r = NULL;
    CHECK_RC(zb_reader_create(&r, name, 64, 1024, NULL), 0);
    CHECK(file_size(name) == 128 + 64 + 1024);
    CHECK_RC(zb_writer_connect(&w, name), 0);
    zb_writer_destroy(w);
    zb_reader_destroy(r);
  }
  close(fd);
  shm_unlink(path);
  check_usable();
}

static int count_listed(const zb_ring_entry *ring, void *user) {
  struct { const char *name; int seen; } *wanted = user;
  if (strcmp(ring->name, wanted->name) == 0)
    wanted->seen++;
  return 0;
}

/* An unready segment under a name, as `zerobuffer inspect` (zb_health_read)
 * and `zerobuffer cleanup NAME` (zb_ring_check_stale, zb_ring_remove_stale)
 * judge it: by its lock file, as a writer and a reader of the name do. An
 * empty one that no live reader's lock holds is a dead creator's leftover,
 * removed by name also without a lock file (which zb_rings_list needs to
 * find it: an empty shm file alone is never taken for a ring); one held is
 * still being created; a zero header nothing explains, or any other bytes,
 * are not ours. */
static void test_unready_by_name(void) {
  char name[96], path[300], lock_path[300];
  struct { const char *name; int seen; } listed = {name, 0};
  zb_health h;
  int fd, lock;
  snprintf(name, sizeof name, "%s", zb_test_name("unready"));
  snprintf(path, sizeof path, "/%s", name);
  snprintf(lock_path, sizeof lock_path, "/tmp/zerobuffer/%s.lock", name);
  fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
  CHECK(fd >= 0);
  if (fd < 0)
    return;
  /* Empty, no lock file: a leftover no reader holds */
  CHECK_RC(zb_health_read(name, &h), ZB_EREADERGONE);
  CHECK_MSG("left half-created");
  CHECK_MSG("is empty and no reader holds");
  CHECK_MSG("zerobuffer cleanup");
  CHECK_RC(zb_rings_list(count_listed, &listed), 0);
  CHECK(listed.seen == 0);
  CHECK_RC(zb_ring_check_stale(name), 0);
  CHECK(file_size(name) == 0);           /* a dry run removes nothing */
  CHECK(access(lock_path, F_OK) != 0);   /* and leaves no lock file */
  /* Held by a live reader (this process, through another open file):
   * still being created, not removed */
  (void)mkdir("/tmp/zerobuffer", 0700);
  lock = open(lock_path, O_RDWR | O_CREAT, 0600);
  CHECK(lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) == 0);
  CHECK_RC(zb_health_read(name, &h), ZB_ENOENT);
  CHECK_MSG("still being created");
  CHECK_RC(zb_ring_check_stale(name), ZB_EBUSY);
  CHECK_RC(zb_ring_remove_stale(name), ZB_EBUSY);
  CHECK(file_size(name) == 0);
  close(lock);
  unlink(lock_path);
  /* A zero header without a lock file naming a dead reader: not a ring
   * being created, so not ours (what a reader refuses too) */
  CHECK(ftruncate(fd, 128 + 64 + 1024) == 0);
  CHECK_RC(zb_health_read(name, &h), ZB_EPROTO);
  CHECK_MSG("all-zero header");
  CHECK_RC(zb_ring_check_stale(name), ZB_EPROTO);
  CHECK_MSG("not a ZeroBuffer ring");
  CHECK_RC(zb_ring_remove_stale(name), ZB_EPROTO);
  CHECK(file_size(name) == 128 + 64 + 1024);
  CHECK(access(lock_path, F_OK) != 0);
  /* beside a lock file naming a dead reader: its leftover */
  lock = open(lock_path, O_RDWR | O_CREAT, 0600);
  CHECK(lock >= 0 && dprintf(lock, "%d 12345\n", (int)dead_pid()) > 0);
  close(lock);
  CHECK_RC(zb_health_read(name, &h), ZB_EREADERGONE);
  CHECK_MSG("not initialised");
  CHECK_MSG("zerobuffer cleanup");
  CHECK_RC(zb_ring_check_stale(name), 0);
  CHECK(file_size(name) == 128 + 64 + 1024 && access(lock_path, F_OK) == 0);
  unlink(lock_path);
  /* Other bytes, or another user's empty file: never ours */
  CHECK(pwrite(fd, "x", 1, 0) == 1);
  CHECK_RC(zb_ring_remove_stale(name), ZB_EPROTO);
  CHECK(file_size(name) == 128 + 64 + 1024);
  CHECK(ftruncate(fd, 0) == 0);
  if (geteuid() == 0) {
    CHECK(fchown(fd, 65534, 65534) == 0);
    CHECK_RC(zb_health_read(name, &h), ZB_EREADERGONE);
    CHECK_MSG("belongs to uid 65534, who may remove it");
    CHECK_RC(zb_ring_remove_stale(name), ZB_EACCES);
    CHECK(file_size(name) == 0);
    CHECK(fchown(fd, 0, 0) == 0);
  }
  /* Ours and empty again: removed by name, and no lock file left */
  CHECK_RC(zb_ring_remove_stale(name), 0);
  CHECK(file_size(name) == -1);
  CHECK(access(lock_path, F_OK) != 0);
  CHECK_RC(zb_ring_remove_stale(name), ZB_ENOENT);
  close(fd);
  shm_unlink(path);
  check_usable();
}

/* A directory under a ring's lock file name or segment name (anyone may
 * make one in /tmp/zerobuffer and /dev/shm): open() to write says EISDIR
 * there, not the EINVAL of a FIFO, yet it is the same "not a regular file,
 * not ours" (ZB_EPROTO naming it), and a removal by name refuses it rather
 * than claim a removal (unlink cannot remove a directory). */
static void test_directory_under_names(void) {
  char name[96], lock_path[300], seg_path[300];
  zb_reader *r = NULL;
  zb_writer *w = NULL;
  snprintf(name, sizeof name, "%s", zb_test_name("dir"));
  snprintf(lock_path, sizeof lock_path, "/tmp/zerobuffer/%s.lock", name);
  snprintf(seg_path, sizeof seg_path, "/dev/shm/%s", name);
  CHECK_RC(zb_reader_create(&r, name, 0, 256, NULL), 0); /* the lock dir */
  zb_reader_destroy(r);
  r = NULL;
  CHECK(mkdir(lock_path, 0700) == 0);
  CHECK_RC(zb_reader_create(&r, name, 0, 256, NULL), ZB_EPROTO);
  CHECK_MSG("is not a regular file");
  CHECK(r == NULL);
  CHECK_RC(zb_ring_check_stale(name), ZB_EPROTO);
  CHECK_RC(zb_ring_remove_stale(name), ZB_EPROTO);
  CHECK_MSG("is not a regular file");
  CHECK(access(lock_path, F_OK) == 0);
  CHECK(rmdir(lock_path) == 0);
  CHECK(mkdir(seg_path, 0700) == 0);
  CHECK_RC(zb_writer_connect(&w, name), ZB_EPROTO);
  CHECK_MSG("is a directory");
  CHECK(w == NULL);
  CHECK(rmdir(seg_path) == 0);
  check_usable();
}

/* The writer notices corrupted free bytes while connected. */
static void test_corrupt_free_while_connected(void) {
  ring_fixture fx;
  zb_health h;
  if (fixture_open(&fx, "corruptfree", 1024) == 0) {
    atomic_store(&fx.m.oieb->payload_free_bytes, 5000);
    CHECK_RC(put(fx.w, 10, 1, 0), ZB_EPROTO);
    CHECK_MSG("5000 free bytes");
    CHECK_RC(zb_reader_health(fx.r, &h), ZB_EPROTO);
    CHECK_RC(zb_writer_health(fx.w, &h), ZB_EPROTO);
    atomic_store(&fx.m.oieb->payload_free_bytes, 1024);
    CHECK_RC(put(fx.w, 10, 1, 0), 0);
    GET_RELEASE(fx.r, 10, 1);
  }
  fixture_close(&fx);
}

enum frame_corruption {
  F_TOO_LONG,
  F_HUGE,
  F_MARKER_AT_0,
  F_COUNTS,
  F_SEQUENCE,
  F_READ_POS,
  F_WRITE_POS,
  F_LONG_AT_END,
  F_PAST_WRITER,
  F_TO_END_PAST_WRITER,
  F_MARKER_BEFORE_WRITER,
  F_TAIL_BEFORE_WRITER,
  F_LAP_CLAIMED,
  F_COUNT
};

/* Posts sem-w n times, as a stray process of the user can. */
static void flood_sem_w(const char *name, int n) {
  char sem_name[128];
  sem_t *sem;
  snprintf(sem_name, sizeof sem_name, "/sem-w-%s", name);
  sem = sem_open(sem_name, 0);
  CHECK(sem != SEM_FAILED);
  if (sem == SEM_FAILED)
    return;
  while (n-- > 0)
    sem_post(sem);
  sem_close(sem);
}

/* What a writer does after placing an entry that ends at end. */
static void fake_publish(zb_oieb *o, uint64_t end, uint64_t count) {
  atomic_store(&o->payload_write_pos, end);
  atomic_store(&o->payload_written_count, count);
}

static void test_corrupt_frames(void) {
  int what;
  for (what = 0; what < F_COUNT; what++) {
    ring_fixture fx;
    zb_frame f;
    int expected = ZB_EPROTO;
    const char *needle = "corrupted";
    if (fixture_open(&fx, "cframe", 1024) == 0) {
      zb_oieb *o = fx.m.oieb;
      switch (what) {
      case F_TOO_LONG:
        put_header(fx.m.payload, 1009, 1);
        fake_publish(o, 100, 1);
        needle = "claims 1009";
        break;
      case F_HUGE:
        put_header(fx.m.payload, UINT64_MAX, 1);
        fake_publish(o, 100, 1);
        break;
      case F_MARKER_AT_0:
        put_header(fx.m.payload, 0, 0);
        fake_publish(o, 100, 1);
        needle = "offset 0";
        break;
      case F_COUNTS:
        /* counts alone never make the reader look at the ring: the
         * writer's position has not moved and nothing was posted */
        put_header(fx.m.payload, 10, 1);
        atomic_store(&o->payload_written_count, 1000000);
        expected = ZB_EAGAIN;
        needle = "no frame ready";
        break;
      case F_SEQUENCE:
        put_header(fx.m.payload, 10, 5);
        fake_publish(o, 26, 1);
        expected = ZB_ESEQUENCE;
        needle = "expected frame 1, got 5";
        break;
      case F_READ_POS:
        atomic_store(&o->payload_read_pos, 5000);
        fake_publish(o, 100, 1);
        needle = "5000";
        break;
      case F_WRITE_POS:
        fake_publish(o, 5000, 1);
        needle = "write position 5000";
        break;
      case F_LONG_AT_END:
        /* a real frame, then a header near the end claiming too much */
        CHECK_RC(put(fx.w, 984, 1, 0), 0); /* [0, 1000) */
        GET_RELEASE(fx.r, 984, 1);
        put_header(fx.m.payload + 1000, 9, 2); /* 24 left: 8 for data */
        fake_publish(o, 1024, 2);
        needle = "claims 9";
        break;
      /* Entries the writer's position has not reached: the reader went
       * past the writer, wrapped and handed out frame 1 again for ever. */
      case F_PAST_WRITER: /* 100 bytes claimed, 10 written */
        put_header(fx.m.payload, 100, 1);
        fake_publish(o, 26, 1);
        needle = "frame at offset 0 claims 100 bytes, past the writer's "
                 "position 26";
        break;
      case F_TO_END_PAST_WRITER: /* as if it ended exactly at the end */
        put_header(fx.m.payload, 1024 - 16, 1);
        fake_publish(o, 26, 1);
        needle = "past the writer's position 26";
        break;
      case F_MARKER_BEFORE_WRITER: /* a marker, the writer not wrapped */
        CHECK_RC(put(fx.w, 10, 1, 0), 0); /* [0, 26) */
        GET_RELEASE(fx.r, 10, 1);
        put_header(fx.m.payload + 26, 0, 0);
        fake_publish(o, 42, 2);
        needle = "wrap marker at offset 26, but the writer's position 42";
        break;
      case F_TAIL_BEFORE_WRITER: /* a 5-byte tail, the writer past it */
        CHECK_RC(put(fx.w, 1003, 1, 0), 0); /* [0, 1019) */
        GET_RELEASE(fx.r, 1003, 1);
        fake_publish(o, 1024, 1);
        needle = "the writer's position 1024 is past it";
        break;
      case F_LAP_CLAIMED: /* a full lap claimed by counts and posts (a
                             flooded sem-w), with every byte free: the
                             reader replayed frame 1 lap after lap */
        CHECK_RC(put(fx.w, 10, 1, 0), 0); /* [0, 26) */
        GET_RELEASE(fx.r, 10, 1);
        atomic_store(&o->payload_written_count, 1000);
        flood_sem_w(fx.name, 100);
        expected = ZB_EAGAIN;
        needle = "no frame ready";
        break;
      }
      CHECK_RC(zb_reader_next(fx.r, &f, 0), expected);
      CHECK_MSG(needle);
      CHECK_MSG(fx.name);
      /* still refused (no crash) on the next call */
      CHECK_RC(zb_reader_next(fx.r, &f, 0), expected);
    }
    fixture_close(&fx);
  }
  check_usable();
}

/* A flood of sem-w posts (a stray process) is more posts than frames for
 * the reader's life: then only the counts and free bytes tell an empty ring
 * from a full lap at equal positions, and those are one apart after a
 * Python writer's wrap at a small tail (a count for a marker it never
 * wrote) and lowered by a peer's lost update. Posts cannot outnumber the
 * entries counted: each writer posts after counting its frame. So once the
 * counts agree (the ring is empty), the surplus is gone, and a count ahead
 * later is no full lap. Before, the reader took the zeros after frame 2
 * for a marker, gave back 972 bytes never taken and replayed frame 1. */
static void test_flooded_posts_balance(void) {
  ring_fixture fx;
  zb_frame f;
  if (fixture_open(&fx, "floodbal", 1024) == 0) {
    flood_sem_w(fx.name, 1000);
    CHECK_RC(put(fx.w, 10, 1, 0), 0); /* [0, 26) */
    GET_RELEASE(fx.r, 10, 1);         /* the flood taken with it */
    CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_EAGAIN);
    CHECK_RC(put(fx.w, 10, 2, 0), 0); /* [26, 52) */
    GET_RELEASE(fx.r, 10, 2);
    /* a Python writer's count for a wrap, a peer's lost update */
    atomic_fetch_add(&fx.m.oieb->payload_written_count, 1);
    atomic_fetch_sub(&fx.m.oieb->payload_free_bytes, 26);
    CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_EAGAIN);
    CHECK_MSG("no frame ready");
    CHECK_EQ_U64(atomic_load(&fx.m.oieb->payload_read_pos), 52);
    CHECK_RC(put(fx.w, 10, 3, 0), 0);
    GET_RELEASE(fx.r, 10, 3);
  }
  fixture_close(&fx);
}

/* Equal positions while the reader holds a frame are no full lap: a lap
 * would cover the held bytes, which the writer cannot write over before
 * they are given back. With counts ahead (a Python writer's wrap at a
 * small tail leaves its count one ahead for good) posts of a flood taken
 * then are not all surplus by the counts, and free bytes are short by the
 * held frame: the reader took the zeros after frame 2 for a marker and
 * replayed frame 1 while frame 2 was held. */
static void test_no_lap_while_holding(void) {
  ring_fixture fx;
  zb_frame f, held;
  if (fixture_open(&fx, "lapheld", 1024) == 0) {
    atomic_fetch_add(&fx.m.oieb->payload_written_count, 1);
    flood_sem_w(fx.name, 1000);
    CHECK_RC(put(fx.w, 10, 1, 0), 0); /* [0, 26) */
    GET_RELEASE(fx.r, 10, 1);
    CHECK_RC(put(fx.w, 10, 2, 0), 0); /* [26, 52) */
    CHECK_RC(zb_reader_next(fx.r, &held, 1000), 0);
    CHECK(frame_ok(&held, 10, 2));
    CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_EAGAIN);
    CHECK_MSG("no frame ready");
    CHECK_EQ_U64(atomic_load(&fx.m.oieb->payload_read_pos), 52);
    CHECK_RC(zb_frame_release(&held), 0);
    CHECK_RC(put(fx.w, 10, 3, 0), 0);
    GET_RELEASE(fx.r, 10, 3);
  }
  fixture_close(&fx);
}

/* A full lap forged while the writer is alive (the review's hostile peer):
 * free bytes lowered, the written count 5 ahead of the read count, 5 sem-w
 * posts. The reader took the zeros where it stands for a wrap marker and
 * handed out frames 1 and 2 again, frame 1 passing for a new writer's. A
 * frame of a lap ago is refused the same way. Nothing is taken. */
static void test_forged_lap_refused(void) {
  int stale_frame;
  for (stale_frame = 0; stale_frame <= 1; stale_frame++) {
    ring_fixture fx;
    zb_frame f;
    if (fixture_open(&fx, "forgedlap", 1024) == 0) {
      zb_oieb *o = fx.m.oieb;
      CHECK_RC(put(fx.w, 10, 1, 0), 0); /* [0, 26) */
      GET_RELEASE(fx.r, 10, 1);
      CHECK_RC(put(fx.w, 10, 2, 0), 0); /* [26, 52) */
      GET_RELEASE(fx.r, 10, 2);
      if (stale_frame)
        put_header(fx.m.payload + 52, 10, 1);
      atomic_fetch_sub(&o->payload_free_bytes, 1000);
      atomic_store(&o->payload_written_count,
                   atomic_load(&o->payload_read_count) + 5);
      flood_sem_w(fx.name, 5);
      CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_ESEQUENCE);
      CHECK_MSG(stale_frame ? "(offset 52) is 1, not the next (3) nor"
                            : "(offset 0) is 1, not the next (3) nor");
      CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_ESEQUENCE); /* and stays */
      CHECK_EQ_U64(atomic_load(&o->payload_read_pos), 52);
      CHECK_EQ_U64(zb_reader_held_frames(fx.r), 0);
    }
    fixture_close(&fx);
  }
}

/* Frames 1-3 of 100 bytes written and read: [0, 348) given back, the
 * reader at 348. */
static void pass_three_frames(ring_fixture *fx) {
  uint64_t seq;
  for (seq = 1; seq <= 3; seq++) {
    CHECK_RC(put(fx->w, 100, seq, 0), 0);
    GET_RELEASE(fx->r, 100, seq);
  }
}

/* A write position moved back below the reader's (another process): the
 * zeros where the reader stands passed for a wrap marker, and the reader
 * gave the tail back before it found the frame at 0 past that position:
 * 1700 free bytes in a 1024-byte ring, which the health snapshot and our
 * writer then refuse. The wrap is refused before anything goes back. */
static void test_wrap_behind_moved_write_pos(void) {
  ring_fixture fx;
  zb_frame f;
  if (fixture_open(&fx, "wposback", 1024) == 0) {
    zb_oieb *o = fx.m.oieb;
    pass_three_frames(&fx);
    atomic_store(&o->payload_write_pos, 50);
    flood_sem_w(fx.name, 1);
    CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_EPROTO);
    CHECK_MSG("frame at offset 0 claims 100 bytes, past the writer's position 50");
    CHECK_EQ_U64(atomic_load(&o->payload_free_bytes), 1024);
    CHECK_EQ_U64(atomic_load(&o->payload_read_pos), 348);
    atomic_store(&o->payload_write_pos, 348); /* put back: nothing lost */
    CHECK_RC(put(fx.w, 100, 4, 0), 0);
    GET_RELEASE(fx.r, 100, 4);
  }
  fixture_close(&fx);
}

/* payload_read_pos is the reader's alone: one moved by another process
 * (the review's hostile writer) is refused, naming both values, and
 * nothing is taken until it is put back. Rewound to 0 after frames 1-3,
 * the reader read its own position back and handed out 1, 2, 3 again, the
 * replayed frame 1 passing for a new writer's; moved forward, it skipped
 * frames 4 and 5 unread. */
static void test_moved_read_pos_refused(void) {
  int forward;
  for (forward = 0; forward <= 1; forward++) {
    ring_fixture fx;
    zb_frame f;
    if (fixture_open(&fx, "rposmoved", 1024) == 0) {
      zb_oieb *o = fx.m.oieb;
      uint64_t seq;
      pass_three_frames(&fx);
      for (seq = 4; forward && seq <= 6; seq++)
        CHECK_RC(put(fx.w, 100, seq, 0), 0); /* [348, 696) */
      atomic_store(&o->payload_read_pos, forward ? 580 : 0);
      flood_sem_w(fx.name, 1);
      CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_EPROTO);
      CHECK_MSG(forward ? "payload_read_pos is 580, but this reader left it at 348"
                        : "payload_read_pos is 0, but this reader left it at 348");
      CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_EPROTO); /* and stays */
      CHECK_EQ_U64(zb_reader_held_frames(fx.r), 0);
      atomic_store(&o->payload_read_pos, 348); /* put back: nothing lost */
      if (!forward)
        CHECK_RC(put(fx.w, 100, 4, 0), 0);
      for (seq = 4; seq <= (forward ? 6u : 4u); seq++)
        GET_RELEASE(fx.r, 100, seq);
    }
    fixture_close(&fx);
  }
}

/* The Python writer before its OIEBView read the whole OIEB at the start
 * of each write and wrote it all back after the frame, with the
 * payload_read_pos, payload_read_count and free bytes of before the
 * reader's last read (zerosrc and the Node reader stopped after 1-3
 * frames, peer review). Our reader stops, naming the likely cause, and
 * hands out no frame twice; the reader's released bytes are lost to the
 * write-back (why it is not tolerated). */
static void test_stale_header_written_back(void) {
  ring_fixture fx;
  zb_frame f;
  if (fixture_open(&fx, "staleback", 1024) == 0) {
    zb_oieb *o = fx.m.oieb;
    uint8_t snapshot[ZB_OIEB_SIZE];
    uint64_t write_pos, written;
    CHECK_RC(put(fx.w, 100, 1, 0), 0);
    memcpy(snapshot, o, sizeof snapshot); /* the writer's read, frame 2 */
    GET_RELEASE(fx.r, 100, 1);            /* meanwhile: read_pos 116 */
    CHECK_RC(put(fx.w, 100, 2, 0), 0);    /* the frame, then the write-back */
    write_pos = atomic_load(&o->payload_write_pos);
    written = atomic_load(&o->payload_written_count);
    memcpy(o, snapshot, sizeof snapshot);
    atomic_store(&o->payload_write_pos, write_pos);
    atomic_store(&o->payload_written_count, written);
    atomic_store(&o->payload_free_bytes, 1024 - 2 * 116);
    CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_EPROTO);
    CHECK_MSG("payload_read_pos is 0, but this reader left it at 116");
    CHECK_MSG("writes back a stale copy of the whole header");
    CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_EPROTO); /* frame 1 not again */
    CHECK_EQ_U64(zb_reader_held_frames(fx.r), 0);
    CHECK_EQ_U64(atomic_load(&o->payload_read_count), 0);
    atomic_store(&o->payload_read_pos, 116); /* put back: frame 2 is read */
    GET_RELEASE(fx.r, 100, 2);
    /* frame 1's 116 bytes given back before the write-back are lost */
    CHECK_EQ_U64(atomic_load(&o->payload_free_bytes), 1024 - 116);
  }
  fixture_close(&fx);
}

/* A real lap of a new writer still starts at 1, behind its marker, when
 * the reader saw the stream end or writer_pid change since its last frame
 * (the new writer's pid; here set by hand once the lap is written). */
static void test_new_writer_lap(void) {
  int seen_end;
  for (seen_end = 0; seen_end <= 1; seen_end++) {
    ring_fixture fx;
    zb_frame f;
    if (fixture_open(&fx, "newlap", 1024) == 0) {
      CHECK_RC(put(fx.w, 10, 1, 0), 0); /* [0, 26) */
      GET_RELEASE(fx.r, 10, 1);
      CHECK_RC(put(fx.w, 10, 2, 0), 0); /* [26, 52) */
      GET_RELEASE(fx.r, 10, 2);
      zb_writer_destroy(fx.w);
      fx.w = NULL;
      if (seen_end)
        CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_EOF);
      CHECK_RC(zb_writer_connect(&fx.w, fx.name), 0);
      /* [52, 1008), a marker, [0, 52): a whole lap, ending where the
       * reader stands */
      CHECK_RC(put(fx.w, 940, 1, 0), 0);
      CHECK_RC(put(fx.w, 36, 2, 0), 0);
      CHECK_EQ_U64(atomic_load(&fx.m.oieb->payload_write_pos), 52);
      if (!seen_end)
        atomic_store(&fx.m.oieb->writer_pid, 1);
      GET_RELEASE(fx.r, 940, 1);
      GET_RELEASE(fx.r, 36, 2);
      atomic_store(&fx.m.oieb->writer_pid, (uint64_t)getpid());
    }
    fixture_close(&fx);
  }
}

/* A new writer B in another process (so with another pid), talking to
 * this one over two pipes: it attaches to the ring and writes its first
 * `early` frames, then at writer_b_lap the rest (frame i: sizes[i] bytes,
 * sequence i + 1), then leaves at writer_b_end, which checks it exited 0.
 * Each side closes the other's pipe ends: a B that failed is read as an
 * end of file, not waited for (and a word to it fails: SIGPIPE is
 * ignored). */
typedef struct writer_b {
  pid_t pid;
  int to_b[2], from_b[2];
} writer_b;

/* Returns once B is attached (and its early frames written). */
static void writer_b_start(writer_b *b, const char *name,
                           const uint64_t *sizes, int n, int early) {
  char step;
  b->pid = -1;
  b->to_b[0] = b->to_b[1] = b->from_b[0] = b->from_b[1] = -1;
  if (pipe(b->to_b) != 0 || pipe(b->from_b) != 0) {
    CHECK(!"pipes to writer B");
    return;
  }
  b->pid = fork();
  if (b->pid == 0) {
    zb_writer *w = NULL;
    int i, ok;
    close(b->to_b[1]);
    close(b->from_b[0]);
    ok = zb_writer_connect(&w, name) == 0;
    for (i = 0; ok && i < early; i++)
      ok = put(w, sizes[i], (uint64_t)i + 1, 1000) == 0;
    ok = ok && write(b->from_b[1], "c", 1) == 1 &&
         read(b->to_b[0], &step, 1) == 1;
    for (; ok && i < n; i++)
      ok = put(w, sizes[i], (uint64_t)i + 1, 1000) == 0;
    ok = ok && write(b->from_b[1], "w", 1) == 1 &&
         read(b->to_b[0], &step, 1) == 1;
    zb_writer_destroy(w);
    _exit(ok ? 0 : 1);
  }
  close(b->to_b[0]);
  close(b->from_b[1]);
  CHECK(b->pid > 0);
  CHECK(read(b->from_b[0], &step, 1) == 1); /* B attached */
}

/* B writes the rest of its frames; returns once they are written. */
static void writer_b_lap(writer_b *b) {
  char step;
  CHECK(write(b->to_b[1], "g", 1) == 1);
  CHECK(read(b->from_b[0], &step, 1) == 1);
}

static void writer_b_end(writer_b *b) {
  int status;
  CHECK(write(b->to_b[1], "e", 1) == 1);
  CHECK(b->pid > 0 && waitpid(b->pid, &status, 0) == b->pid &&
        WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(b->to_b[1]);
  close(b->from_b[0]);
}

/* The same with the new writer (another process) seen while the old
 * one's last frame was still to read: the look that saw its pid took that
 * frame and so forgot the change, and the new writer's lap was refused
 * (ZB_ESEQUENCE at every look) as forged (review). */
static void test_new_writer_lap_after_old_frames(void) {
  /* B: [52, 1008), a marker, [0, 52) */
  static const uint64_t lap[] = {940, 36};
  ring_fixture fx;
  writer_b b;
  if (fixture_open(&fx, "newlapold", 1024) != 0) {
    fixture_close(&fx);
    return;
  }
  CHECK_RC(put(fx.w, 10, 1, 0), 0); /* [0, 26) */
  CHECK_RC(put(fx.w, 10, 2, 0), 0); /* [26, 52) */
  GET_RELEASE(fx.r, 10, 1);
  zb_writer_destroy(fx.w);
  fx.w = NULL;
  writer_b_start(&b, fx.name, lap, 2, 0);
  GET_RELEASE(fx.r, 10, 2); /* the look that sees B's pid */
  writer_b_lap(&b);
  GET_RELEASE(fx.r, 940, 1);
  GET_RELEASE(fx.r, 36, 2);
  writer_b_end(&b);
  fixture_close(&fx);
}

/* The new writer B (another process) attached while the old writer A's
 * frame 1 was still to read: the reader's first look saw B's pid, then
 * took A's frames 1 and 2, and A's frame 1 used the change up. B's lap
 * (its frames from where A's end, round to it) was then refused as stale
 * bytes (ZB_ESEQUENCE at every look). mode 0: B had written nothing when
 * the reader saw its pid (its first frame goes where A stopped); 1: the
 * same, the reader having seen A's pid at an empty ring first; 2: B had
 * written its frame 1 already (two frames 1 unread when its pid was
 * seen). */
static void test_new_writer_lap_before_old_first_frame(void) {
  /* B, mode 2: [52, 78), then [78, 1008), a marker, [0, 52); else
   * [52, 1008), a marker, [0, 52): a whole lap, ending where A's frames
   * end */
  static const uint64_t first_then_lap[] = {10, 914, 36}, lap[] = {940, 36};
  int mode;
  for (mode = 0; mode <= 2; mode++) {
    ring_fixture fx;
    writer_b b;
    zb_frame f;
    if (fixture_open(&fx, "newlapfirst", 1024) != 0) {
      fixture_close(&fx);
      return;
    }
    if (mode == 1)
      CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_EAGAIN); /* sees A's pid */
    CHECK_RC(put(fx.w, 10, 1, 0), 0); /* [0, 26) */
    CHECK_RC(put(fx.w, 10, 2, 0), 0); /* [26, 52) */
    zb_writer_destroy(fx.w);
    fx.w = NULL;
    if (mode == 2)
      writer_b_start(&b, fx.name, first_then_lap, 3, 1);
    else
      writer_b_start(&b, fx.name, lap, 2, 0);
    GET_RELEASE(fx.r, 10, 1); /* the look that sees B's pid */
    GET_RELEASE(fx.r, 10, 2);
    writer_b_lap(&b);
    CHECK_EQ_U64(atomic_load(&fx.m.oieb->payload_write_pos), 52);
    if (mode == 2) {
      GET_RELEASE(fx.r, 10, 1);
      GET_RELEASE(fx.r, 914, 2);
      GET_RELEASE(fx.r, 36, 3);
    } else {
      GET_RELEASE(fx.r, 940, 1);
      GET_RELEASE(fx.r, 36, 2);
    }
    writer_b_end(&b);
    CHECK_RC(zb_reader_next(fx.r, &f, 1000), ZB_EOF);
    fixture_close(&fx);
  }
}

/* Stale bytes where the writer last seen to come stood when the reader
 * first saw it: that writer (pid 1 here, set by hand) had written its
 * frames 1 and 2 already, the reader took them and stands where they end,
 * on an older lap's frame 1. A lap forged there (free bytes lowered, the
 * written count 5 ahead, 5 sem-w posts) handed that frame out, passing for
 * the writer's first, which is the frame 1 read a moment before: the lap
 * round from there holds it (and another), a real first lap no 1 but its
 * own. Nothing is taken. late: the writer's frames 1 and 2 are taken in
 * looks that still see the older pid (the same process reconnected
 * unseen) and its pid is seen only after, so no frame 1 is left to clear
 * writer_changed: the lap there was let through unwalked. */
static void test_forged_lap_at_new_writer_place(void) {
  int late;
  for (late = 0; late <= 1; late++) {
    ring_fixture fx;
    zb_frame f;
    zb_oieb *o;
    if (fixture_open(&fx, "forgedfirst", 1024) != 0) {
      fixture_close(&fx);
      return;
    }
    o = fx.m.oieb;
    CHECK_RC(put(fx.w, 10, 1, 0), 0); /* [0, 26) */
    CHECK_RC(put(fx.w, 10, 2, 0), 0); /* [26, 52) */
    GET_RELEASE(fx.r, 10, 1);
    GET_RELEASE(fx.r, 10, 2);
    zb_writer_destroy(fx.w);
    fx.w = NULL;
    CHECK_RC(zb_writer_connect(&fx.w, fx.name), 0);
    CHECK_RC(put(fx.w, 10, 1, 0), 0); /* [52, 78) */
    CHECK_RC(put(fx.w, 10, 2, 0), 0); /* [78, 104) */
    if (!late)
      atomic_store(&o->writer_pid, 1);
    GET_RELEASE(fx.r, 10, 1); /* the look that sees pid 1, unless late */
    GET_RELEASE(fx.r, 10, 2);
    if (late) {
      atomic_store(&o->writer_pid, 1);
      CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_EAGAIN); /* sees pid 1 */
    }
    put_header(fx.m.payload + 104, 10, 1);
    atomic_fetch_sub(&o->payload_free_bytes, 1000);
    atomic_store(&o->payload_written_count,
                 atomic_load(&o->payload_read_count) + 5);
    flood_sem_w(fx.name, 5);
    CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_ESEQUENCE);
    CHECK_MSG("(offset 104) is 1, not the next (3) nor");
    CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_ESEQUENCE); /* and stays */
    CHECK_EQ_U64(atomic_load(&o->payload_read_pos), 104);
    CHECK_EQ_U64(zb_reader_held_frames(fx.r), 0);
    atomic_store(&o->writer_pid, (uint64_t)getpid());
    fixture_close(&fx);
  }
}

/* The new writer B (another process) first seen while a whole lap of
 * older frames was unread (positions equal, the ring exactly full), that
 * lap holding a writer A's frame 1: A's 1 used the change up, and B's lap
 * (its frames from where A's end, round to them) was refused as stale
 * bytes (ZB_ESEQUENCE at every look). mode 0: A's frames are the whole
 * lap; 1: the lap starts with the older stream's frame 3, A's 1 after it.
 * A is this process again, unseen: the reader's last look was before. */
static void test_new_writer_after_full_lap(void) {
  /* B: [52, 1008), a marker, [0, 52): a whole lap again */
  static const uint64_t lap[] = {940, 36};
  int mode;
  for (mode = 0; mode <= 1; mode++) {
    ring_fixture fx;
    writer_b b;
    zb_frame f;
    if (fixture_open(&fx, "newlapfull", 1024) != 0) {
      fixture_close(&fx);
      return;
    }
    CHECK_RC(put(fx.w, 10, 1, 0), 0); /* [0, 26) */
    CHECK_RC(put(fx.w, 10, 2, 0), 0); /* [26, 52) */
    GET_RELEASE(fx.r, 10, 1);
    GET_RELEASE(fx.r, 10, 2);
    if (mode == 1)
      CHECK_RC(put(fx.w, 484, 3, 0), 0); /* [52, 552) */
    zb_writer_destroy(fx.w);
    fx.w = NULL;
    /* A: [52, 1008) or [552, 1008), a marker, [0, 52) */
    CHECK_RC(zb_writer_connect(&fx.w, fx.name), 0);
    CHECK_RC(put(fx.w, mode == 1 ? 440 : 940, 1, 0), 0);
    CHECK_RC(put(fx.w, 36, 2, 0), 0);
    CHECK_EQ_U64(atomic_load(&fx.m.oieb->payload_write_pos), 52);
    zb_writer_destroy(fx.w);
    fx.w = NULL;
    writer_b_start(&b, fx.name, lap, 2, 0);
    if (mode == 1)
      GET_RELEASE(fx.r, 484, 3); /* the look that sees B's pid */
    GET_RELEASE(fx.r, mode == 1 ? 440 : 940, 1);
    GET_RELEASE(fx.r, 36, 2);
    writer_b_lap(&b);
    CHECK_EQ_U64(atomic_load(&fx.m.oieb->payload_write_pos), 52);
    GET_RELEASE(fx.r, 940, 1);
    GET_RELEASE(fx.r, 36, 2);
    writer_b_end(&b);
    CHECK_RC(zb_reader_next(fx.r, &f, 1000), ZB_EOF);
    fixture_close(&fx);
  }
}

/* Reserves a, b, c and d, commits b and c (c with a hold) behind a, lets
 * pid 1 take the ring and commits a: refused, and b and c are dropped with
 * it (nothing goes into the taker's stream); d, still open, is refused at
 * its own commit. Back with our pid, the next frame is sequence `seq`. */
static void check_refused_commit_drops_queue(ring_fixture *fx, uint64_t seq) {
  zb_reservation a, b, c, d;
  zb_hold hold;
  zb_health h;
  zb_frame f;
  uint64_t written;
  CHECK_RC(zb_reader_health(fx->r, &h), 0);
  written = h.written_count;
  CHECK_RC(zb_writer_reserve(fx->w, 10, &a, 0), 0);
  CHECK_RC(zb_writer_reserve(fx->w, 10, &b, 0), 0);
  CHECK_RC(zb_writer_reserve(fx->w, 10, &c, 0), 0);
  CHECK_RC(zb_writer_reserve(fx->w, 10, &d, 0), 0);
  if (a.data == NULL || b.data == NULL || c.data == NULL || d.data == NULL)
    return;
  fill(b.data, 10, 90);
  fill(c.data, 10, 91);
  CHECK_RC(zb_reservation_commit(&b, 10), 0);
  CHECK_RC(zb_reservation_commit_hold(&c, 10, &hold), 0);
  atomic_store(&fx->m.oieb->writer_pid, 1);
  fill(a.data, 10, 92);
  CHECK_RC(zb_reservation_commit(&a, 10), ZB_EBUSY);
  CHECK(a.writer == NULL);
  CHECK_EQ_U64(zb_writer_open_reservations(fx->w), 1);
  CHECK(zb_hold_data(&hold) == NULL);
  zb_hold_release(&hold);
  CHECK_RC(zb_reservation_commit(&d, 10), ZB_EBUSY);
  CHECK_EQ_U64(zb_writer_open_reservations(fx->w), 0);
  CHECK_RC(zb_reader_next(fx->r, &f, 0), ZB_EAGAIN);
  CHECK_RC(zb_reader_health(fx->r, &h), 0);
  CHECK_EQ_U64(h.written_count, written);
  atomic_store(&fx->m.oieb->writer_pid, (uint64_t)getpid());
  CHECK_RC(put(fx->w, 10, seq, 0), 0);
  GET_RELEASE(fx->r, 10, seq);
}

/* writer_pid taken by another process while frames flow (pid 1: alive):
 * the writer went on and exited cleanly, its detach leaving pid 1, so the
 * reader never saw the stream end. Now its next commit says who took it,
 * and the frame is not published, nor those committed behind it. */
static void test_writer_pid_taken(void) {
  ring_fixture fx;
  zb_frame f;
  if (fixture_open(&fx, "pidtaken", 1024) == 0) {
    CHECK_RC(put(fx.w, 10, 1, 0), 0);
    atomic_store(&fx.m.oieb->writer_pid, 1);
    CHECK_RC(put(fx.w, 10, 2, 0), ZB_EBUSY);
    CHECK_MSG("writer_pid is now 1, not this writer's");
    CHECK_MSG("another process took the ring");
    GET_RELEASE(fx.r, 10, 1);
    CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_EAGAIN);
    atomic_store(&fx.m.oieb->writer_pid, 0); /* cleared: taken for gone */
    CHECK_RC(put(fx.w, 10, 2, 0), ZB_EBUSY);
    CHECK_MSG("writer_pid is now 0, not this writer's");
    CHECK_MSG("another process cleared it (took this writer for gone)");
    atomic_store(&fx.m.oieb->writer_pid, (uint64_t)getpid());
    CHECK_RC(put(fx.w, 10, 2, 0), 0);
    GET_RELEASE(fx.r, 10, 2);
    check_refused_commit_drops_queue(&fx, 3);
  }
  fixture_close(&fx);
}

/* After a refused commit (EBUSY: writer_pid taken; EREADERGONE: the reader
 * closed) nothing more is written into the ring. Reservations a, b, c: b
 * wraps (its marker at the ring's end), a is refused, then b is
 * cancelled: before, the cancel published b's wrap marker (write_pos 0,
 * one more entry counted, the marker's bytes written) into the taker's
 * stream or the closed ring. Then a reserve is refused at once too (it
 * could publish a wrap marker of its own), and so is a cancel of c. */
static void check_cancel_after_refusal(bool reader_gone) {
  ring_fixture fx;
  zb_reservation a, b, c, d;
  zb_health h;
  uint8_t marker[ZB_FRAME_HEADER_SIZE];
  uint64_t write_pos, written, free_bytes;
  int refusal = reader_gone ? ZB_EREADERGONE : ZB_EBUSY;
  if (fixture_open(&fx, reader_gone ? "cancelgone" : "canceltaken", 1024) != 0) {
    fixture_close(&fx);
    return;
  }
  /* the writer at 512, every byte free */
  CHECK_RC(put(fx.w, 240, 1, 0), 0);
  CHECK_RC(put(fx.w, 240, 2, 0), 0);
  GET_RELEASE(fx.r, 240, 1);
  GET_RELEASE(fx.r, 240, 2);
  CHECK_RC(zb_writer_reserve(fx.w, 240, &a, 0), 0); /* 512..768 */
  CHECK_RC(zb_writer_reserve(fx.w, 300, &b, 0), 0); /* wrap at 768, then 0 */
  CHECK_RC(zb_writer_reserve(fx.w, 100, &c, 0), 0);
  if (a.data == NULL || b.data == NULL || c.data == NULL) {
    fixture_close(&fx);
    return;
  }
  b.data[0] = 0x5A; /* b is at 0 */
  CHECK(fx.m.payload[ZB_FRAME_HEADER_SIZE] == 0x5A);
  memset(fx.m.payload + 768, 0xA5, sizeof marker);
  memcpy(marker, fx.m.payload + 768, sizeof marker);
  if (reader_gone) {
    zb_reader_destroy(fx.r);
    fx.r = NULL;
  } else {
    atomic_store(&fx.m.oieb->writer_pid, 1);
  }
  CHECK_RC(zb_reservation_commit(&a, 240), refusal);
  write_pos = atomic_load(&fx.m.oieb->payload_write_pos);
  written = atomic_load(&fx.m.oieb->payload_written_count);
  free_bytes = atomic_load(&fx.m.oieb->payload_free_bytes);
  CHECK_EQ_U64(write_pos, 512);
  zb_reservation_cancel(&b);
  CHECK(b.writer == NULL);
  CHECK_EQ_U64(atomic_load(&fx.m.oieb->payload_write_pos), write_pos);
  CHECK_EQ_U64(atomic_load(&fx.m.oieb->payload_written_count), written);
  CHECK_EQ_U64(atomic_load(&fx.m.oieb->payload_free_bytes), free_bytes);
  CHECK(memcmp(fx.m.payload + 768, marker, sizeof marker) == 0);
  CHECK_RC(zb_writer_reserve(fx.w, 100, &d, 0), refusal);
  CHECK(d.writer == NULL);
  CHECK_MSG(fx.name);
  zb_reservation_cancel(&c);
  CHECK(c.writer == NULL);
  CHECK_EQ_U64(zb_writer_open_reservations(fx.w), 0);
  CHECK_EQ_U64(atomic_load(&fx.m.oieb->payload_write_pos), write_pos);
  CHECK_EQ_U64(atomic_load(&fx.m.oieb->payload_written_count), written);
  CHECK(memcmp(fx.m.payload + 768, marker, sizeof marker) == 0);
  if (!reader_gone) {
    /* the taker's stream is untouched; back with our pid, we go on from
     * where we published last */
    CHECK_RC(zb_reader_health(fx.r, &h), 0);
    CHECK_EQ_U64(h.frames_unread, 0);
    atomic_store(&fx.m.oieb->writer_pid, (uint64_t)getpid());
    CHECK_RC(put(fx.w, 240, 3, 0), 0);
    GET_RELEASE(fx.r, 240, 3);
  }
  fixture_close(&fx);
}

static void test_cancel_after_refusal(void) {
  check_cancel_after_refusal(false);
  check_cancel_after_refusal(true);
}

/* While writer_pid is another's, this writer writes no metadata into the
 * ring (before, it did, into a block the taker may be writing), and its
 * destroy leaves no "metadata_needed" note there. */
static void test_metadata_after_ring_taken(void) {
  static const char meta[] = "{\"caps\":\"video/x-raw\"}";
  static uint8_t big[100];
  ring_fixture fx;
  if (fixture_open(&fx, "metataken", 1024) == 0) {
    atomic_store(&fx.m.oieb->writer_pid, 1);
    CHECK_RC(zb_writer_set_metadata(fx.w, meta, sizeof meta - 1), ZB_EBUSY);
    CHECK_MSG("another process took the ring");
    CHECK_EQ_U64(atomic_load(&fx.m.oieb->metadata_written_bytes), 0);
  }
  fixture_close(&fx);
  /* metadata too large for the 64-byte block, then the ring taken */
  if (fixture_open(&fx, "notetaken", 1024) == 0) {
    memset(big, ' ', sizeof big);
    big[0] = '{';
    big[sizeof big - 1] = '}';
    CHECK_RC(zb_writer_set_metadata(fx.w, big, sizeof big), ZB_EMSGSIZE);
    atomic_store(&fx.m.oieb->writer_pid, 1);
    zb_writer_destroy(fx.w);
    fx.w = NULL;
    CHECK_EQ_U64(atomic_load(&fx.m.oieb->metadata_written_bytes), 0);
    CHECK_RC(zb_reader_metadata_note(fx.r), 0);
  }
  fixture_close(&fx);
}

/* reader_pid changed to another live process: the writer said that its
 * reader (still alive) had died. It says what it found, and keeps saying
 * it: a reader found gone stays gone for this writer, also when the
 * segment looks right again. */
static void test_reader_pid_changed(void) {
  ring_fixture fx;
  char needle[96];
  zb_health h;
  if (fixture_open(&fx, "rpidchg", 1024) == 0) {
    atomic_store(&fx.m.oieb->reader_pid, 1);
    CHECK_RC(put(fx.w, 10, 1, 0), ZB_EREADERGONE);
    snprintf(needle, sizeof needle, "reader_pid is now 1, not its reader's %d",
             (int)getpid());
    CHECK_MSG(needle);
    atomic_store(&fx.m.oieb->reader_pid, (uint64_t)getpid());
    CHECK_RC(put(fx.w, 10, 1, 0), ZB_EREADERGONE);
    CHECK_MSG(needle);
    CHECK_RC(zb_writer_health(fx.w, &h), 0);
    CHECK_EQ_U64(h.written_count, 0);
  }
  fixture_close(&fx);
}

/* The metadata note (§9.5) with its writer still attached (another process
 * wrote it mid-stream): the reader failed at once with "the writer gave
 * up". It is the writer's word only once writer_pid is 0 (a writer notes
 * before it detaches). */
static void test_metadata_note_live_writer(void) {
  ring_fixture fx;
  zb_frame f;
  char note[64];
  uint64_t n;
  if (fixture_open(&fx, "notelive", 1024) == 0) {
    CHECK_RC(put(fx.w, 10, 1, 0), 0);
    n = (uint64_t)snprintf(note, sizeof note,
                           "{\"zerobuffer\":{\"metadata_needed\":500}}");
    memcpy(fx.m.meta, &n, 8);
    memcpy(fx.m.meta + 8, note, n);
    atomic_store(&fx.m.oieb->metadata_written_bytes, 8 + n);
    GET_RELEASE(fx.r, 10, 1);
    CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_EAGAIN);
    CHECK_RC(zb_reader_metadata_note(fx.r), 1); /* a note, not yet a writer's word */
    CHECK_RC(put(fx.w, 10, 2, 0), 0);
    GET_RELEASE(fx.r, 10, 2);
    zb_writer_destroy(fx.w);
    fx.w = NULL;
    CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_EMSGSIZE);
    CHECK_MSG("at least 500");
    CHECK_RC(zb_reader_metadata_note(fx.r), ZB_EMSGSIZE);
    CHECK_MSG("at least 500");
  }
  fixture_close(&fx);
}

/* zb_health_read of ring name in another process (as `zerobuffer inspect`
 * reads a ring it does not own): its return code, or 1 when the message
 * lacks needle. */
static int health_read_elsewhere(const char *name, const char *needle) {
  int status;
  pid_t child = fork();
  if (child == 0) {
    zb_health h;
    int rc = zb_health_read(name, &h);
    if (rc < 0 && strstr(zb_last_error(), needle) == NULL)
      _exit(1);
    _exit(rc == 0 ? 0 : rc == ZB_EPROTO ? 2 : 3);
  }
  if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status))
    return -1;
  return WEXITSTATUS(status) == 0 ? 0 : WEXITSTATUS(status) == 2 ? ZB_EPROTO
                                                                 : 1;
}

/* The health snapshot walks the unread entries with the reader's rules
 * (zb__entry_at): an entry past the writer's position is EPROTO there too,
 * with the reader's message, for the reader, the writer and another
 * process (zb_health_read, `zerobuffer inspect`). Before, the snapshot
 * left such a ring's backlog at 0 and said nothing (the walk did not add
 * up), while the reader refused it. Unread frames that are fine pass. */
static void test_health_entry_past_writer(void) {
  static const struct {
    uint64_t size; /* claimed by the header at 26 */
    const char *needle;
  } cases[] = {
      {100, "frame at offset 26 claims 100 bytes, past the writer's "
            "position 52"},
      {1024 - 16 - 26, "past the writer's position 52"}, /* to the end */
      {0, "wrap marker at offset 26, but the writer's position 42"},
  };
  size_t i;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ring_fixture fx;
    zb_health h;
    zb_frame f;
    if (fixture_open(&fx, "hpast", 1024) == 0) {
      zb_oieb *o = fx.m.oieb;
      /* a real frame, unread, then a forged entry after it */
      CHECK_RC(put(fx.w, 10, 1, 0), 0); /* [0, 26) */
      CHECK_RC(zb_reader_health(fx.r, &h), 0);
      CHECK_EQ_U64(h.frames_unread, 1);
      CHECK_RC(health_read_elsewhere(fx.name, ""), 0);
      put_header(fx.m.payload + 26, cases[i].size, 2);
      fake_publish(o, cases[i].size == 0 ? 42 : 52, 2);
      CHECK_RC(zb_reader_health(fx.r, &h), ZB_EPROTO);
      CHECK_MSG(cases[i].needle);
      CHECK_MSG(fx.name);
      CHECK_RC(zb_writer_health(fx.w, &h), ZB_EPROTO);
      CHECK_MSG(cases[i].needle);
      CHECK_RC(health_read_elsewhere(fx.name, cases[i].needle), ZB_EPROTO);
      /* the reader says the same once it gets there */
      GET_RELEASE(fx.r, 10, 1);
      CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_EPROTO);
      CHECK_MSG(cases[i].needle);
    }
    fixture_close(&fx);
  }
}

#if defined(__GLIBC__) && (defined(__x86_64__) || defined(__aarch64__))
/* One byte over a pipe, to keep a child and the parent in step. */
static void step_send(int fd, char c) { CHECK(write(fd, &c, 1) == 1); }
static char step_wait(int fd) {
  char c = 0;
  return read(fd, &c, 1) == 1 ? c : 0;
}

/* Forks child(name, to_parent, from_parent), in step with us over two
 * pipes: its pid, and the ends for step_wait (*from_child) and step_send
 * (*to_child), which the caller closes; -1 when there is no child. */
static pid_t fork_stepped(void (*child)(const char *, int, int),
                          const char *name, int *from_child, int *to_child) {
  int up[2], down[2];
  pid_t pid;
  if (pipe(up) != 0)
    return -1;
  if (pipe(down) != 0) {
    close(up[0]);
    close(up[1]);
    return -1;
  }
  pid = fork();
  if (pid == 0) {
    close(up[0]);
    close(down[1]);
    child(name, up[1], down[0]);
    _exit(0);
  }
  close(up[1]);
  close(down[0]);
  if (pid < 0) {
    close(up[0]);
    close(down[1]);
    return -1;
  }
  *from_child = up[0];
  *to_child = down[1];
  return pid;
}

/* The end of a fork_stepped child: its last go, its exit status 0, the
 * pipes closed. */
static void finish_stepped(pid_t child, int from_child, int to_child) {
  int status;
  step_send(to_child, 'g');
  CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
        WEXITSTATUS(status) == 0);
  close(from_child);
  close(to_child);
}

/* Writes n bytes over /dev/shm/sem.KIND-NAME, as any process of the user
 * can. */
static void overwrite_sem(const char *kind, const char *name,
                          const void *bytes, size_t n) {
  char path[300];
  int fd;
  snprintf(path, sizeof path, "/dev/shm/sem.%s-%s", kind, name);
  fd = open(path, O_WRONLY);
  CHECK(fd >= 0);
  if (fd < 0)
    return;
  CHECK(pwrite(fd, bytes, n, 0) == (ssize_t)n);
  close(fd);
}

/* A semaphore file cut short (0 bytes) by another process: glibc maps it
 * without looking at its size, and the connect's first touch of sem-w
 * killed the writer with SIGBUS (sem-r: its first wait for room). The
 * connect is EPROTO naming the file. In a child: the old way it dies. */
static void test_truncated_semaphore_connect(void) {
  static const char *const kinds[2] = {"sem-w", "sem-r"};
  int k;
  for (k = 0; k < 2; k++) {
    const char *name = zb_test_name("semtrunc");
    char path[300], needle[400];
    uint8_t saved[sizeof(sem_t)];
    zb_reader *r = NULL;
    int fd, status = -1;
    pid_t pid;
    CHECK_RC(zb_reader_create(&r, name, 64, 1024, NULL), 0);
    snprintf(path, sizeof path, "/dev/shm/sem.%s-%s", kinds[k], name);
    fd = open(path, O_RDWR);
    CHECK(fd >= 0 && pread(fd, saved, sizeof saved, 0) == (ssize_t)sizeof saved &&
          ftruncate(fd, 0) == 0);
    snprintf(needle, sizeof needle, "ring \"%s\": semaphore file %s is "
             "truncated (0 bytes, a semaphore takes %zu)", name, path,
             sizeof(sem_t));
    pid = fork();
    if (pid == 0) {
      zb_writer *w = NULL;
      int rc = zb_writer_connect(&w, name);
      _exit(rc == ZB_EPROTO && w == NULL &&
                    strstr(zb_last_error(), needle) != NULL
                ? 0
                : 1);
    }
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* put back: the reader's close posts sem-r */
    CHECK(fd >= 0 && pwrite(fd, saved, sizeof saved, 0) == (ssize_t)sizeof saved);
    if (fd >= 0)
      close(fd);
    zb_reader_destroy(r);
    zb_test_remove_ring(name);
  }
}

/* A semaphore file a peer wrote over: glibc's futex call fails on it and
 * glibc aborts the process ("The futex facility returned an unexpected
 * error code."). Two garbages from the adversarial run: all 0xff, and
 * value 0 with one sleeper (so sem_post calls the futex) and futex flags
 * -1. The side that waits on it gets EPROTO naming the file, and so does
 * the writer that would post sem-w and the reader that could not post
 * sem-r (test_corrupt_sem_r_reader). */
static void test_corrupt_semaphores(void) {
  static const int32_t bad_flags[3] = {0, 1, -1};
  static const int32_t intact[8] = {0, 0, 128}; /* glibc's, process-shared */
  uint8_t all_ff[32];
  int garbage;
  memset(all_ff, 0xff, sizeof all_ff);
  for (garbage = 0; garbage < 2; garbage++) {
    const void *bytes = garbage ? (const void *)all_ff : bad_flags;
    size_t n = garbage ? sizeof all_ff : sizeof bad_flags;
    ring_fixture fx;
    zb_frame f, held;
    char needle[300];
    if (fixture_open(&fx, "csem", 1024) != 0) {
      fixture_close(&fx);
      continue;
    }
    /* sem-w: the reader's wait refuses it, and so does the writer's
     * commit, which publishes nothing (test_corrupt_sem_w_writer) */
    overwrite_sem("sem-w", fx.name, bytes, n);
    CHECK_RC(zb_reader_next(fx.r, &f, 100), ZB_EPROTO);
    snprintf(needle, sizeof needle,
             "ring \"%s\": semaphore file /dev/shm/sem.sem-w-%s is corrupt",
             fx.name, fx.name);
    CHECK_MSG(needle);
    CHECK_RC(put(fx.w, 10, 1, 0), ZB_EPROTO);
    CHECK_MSG(needle);
    overwrite_sem("sem-w", fx.name, intact, sizeof intact);
    CHECK_RC(put(fx.w, 10, 1, 0), 0);
    GET_RELEASE(fx.r, 10, 1);

    /* sem-r: the writer waiting for room refuses it, the reader's post
     * at a release is left out and made once the file is right again
     * (test_corrupt_sem_r_reader) */
    CHECK_RC(put(fx.w, 600, 2, 0), 0); /* [26, 642) */
    CHECK_RC(zb_reader_next(fx.r, &held, 1000), 0);
    overwrite_sem("sem-r", fx.name, bytes, n);
    CHECK_RC(put(fx.w, 600, 3, 100), ZB_EPROTO); /* needs 998 free: 408 */
    snprintf(needle, sizeof needle,
             "ring \"%s\": semaphore file /dev/shm/sem.sem-r-%s is corrupt",
             fx.name, fx.name);
    CHECK_MSG(needle);
    CHECK_RC(zb_frame_release(&held), 0);
    overwrite_sem("sem-r", fx.name, intact, sizeof intact);
    CHECK_RC(put(fx.w, 600, 3, 1000), 0);
    GET_RELEASE(fx.r, 600, 3);
    fixture_close(&fx);
  }
  check_usable();
}

/* The writer's side of test_corrupt_sem_w_writer, in its own process: each
 * step's result goes back to the parent as one byte ('y' as expected). */
static void sem_w_writer_child(const char *name, int to_parent,
                               int from_parent) {
  char needle[300];
  zb_writer *w = NULL, *w2 = NULL;
  snprintf(needle, sizeof needle, "/dev/shm/sem.sem-w-%s is corrupt", name);
  /* 1. connect and write frame 1 with an intact sem-w */
  step_send(to_parent, zb_writer_connect(&w, name) == 0 &&
                               put(w, 10, 1, 1000) == 0 ? 'y' : 'n');
  step_wait(from_parent); /* the parent wrote over sem-w */
  /* 2. a commit refuses to publish, naming the file */
  step_send(to_parent, put(w, 20, 2, 1000) == ZB_EPROTO &&
                               strstr(zb_last_error(), needle) != NULL
                           ? 'y' : 'n');
  step_wait(from_parent); /* the parent looked for frame 2 */
  /* 3. and so does a connect, leaving writer_pid free */
  zb_writer_destroy(w);
  step_send(to_parent, zb_writer_connect(&w2, name) == ZB_EPROTO &&
                               strstr(zb_last_error(), needle) != NULL
                           ? 'y' : 'n');
  step_wait(from_parent); /* the parent put sem-w right again */
  /* 4. the next writer goes on */
  step_send(to_parent, zb_writer_connect(&w2, name) == 0 &&
                               put(w2, 30, 1, 1000) == 0 ? 'y' : 'n');
  step_wait(from_parent);
  zb_writer_destroy(w2);
}

/* A writer whose sem-w was written over reports it itself: its commit is
 * EPROTO naming the file and publishes nothing (the post would be left out:
 * a reader that waits for it would never see the frame), a connect is
 * refused likewise. Before, the writer went on as if nothing was wrong and
 * only a reader waiting on sem-w said so. Writer and reader in two
 * processes; the reader's process writes over the file, as any process of
 * the user can. */
static void test_corrupt_sem_w_writer(void) {
  static const int32_t bad_flags[3] = {0, 1, -1};
  static const int32_t intact[8] = {0, 0, 128};
  char name[96];
  int from_child, to_child;
  zb_reader *r = NULL;
  zb_frame f;
  pid_t child;
  snprintf(name, sizeof name, "%s", zb_test_name("csemw"));
  CHECK_RC(zb_reader_create(&r, name, 64, 1024, NULL), 0);
  if (r == NULL ||
      (child = fork_stepped(sem_w_writer_child, name, &from_child, &to_child)) < 0)
    goto out;
  CHECK(step_wait(from_child) == 'y'); /* frame 1 written */
  overwrite_sem("sem-w", name, bad_flags, sizeof bad_flags);
  step_send(to_child, 'g');
  CHECK(step_wait(from_child) == 'y'); /* commit refused */
  GET_RELEASE(r, 10, 1);
  CHECK_RC(zb_reader_next(r, &f, 0), ZB_EAGAIN); /* frame 2 not published */
  step_send(to_child, 'g');
  CHECK(step_wait(from_child) == 'y'); /* connect refused */
  overwrite_sem("sem-w", name, intact, sizeof intact);
  step_send(to_child, 'g');
  CHECK(step_wait(from_child) == 'y'); /* a next writer's frame */
  GET_RELEASE(r, 30, 1);
  finish_stepped(child, from_child, to_child);
out:
  zb_reader_destroy(r);
  CHECK(zb_test_ring_gone(name));
  zb_test_remove_ring(name);
}

/* The writer's side of test_corrupt_sem_r_reader: frames 1 and 2, then
 * (after the parent's go) frame 3, which needs the room of both. */
static void sem_r_reader_child(const char *name, int to_parent,
                               int from_parent) {
  zb_writer *w = NULL;
  step_send(to_parent, zb_writer_connect(&w, name) == 0 &&
                               put(w, 600, 1, 1000) == 0 &&
                               put(w, 300, 2, 1000) == 0 ? 'y' : 'n');
  step_wait(from_parent); /* both frames released, sem-r right again */
  step_send(to_parent, put(w, 900, 3, 1000) == 0 ? 'y' : 'n');
  step_wait(from_parent);
  zb_writer_destroy(w);
}

/* The reader's counterpart of test_corrupt_sem_w_writer: a release while
 * sem-r is written over gives the bytes back but cannot post them (glibc
 * would abort on the file), and a writer that waits only on sem-r (the
 * peers') would wait for its timeout with no reason. The next read says
 * so, EPROTO naming the file, at every read until the file is right, and
 * takes nothing meanwhile: frame 2, published, comes next, and the post
 * left out is made then. Before, the post was left out silently and the
 * read went on. */
static void test_corrupt_sem_r_reader(void) {
  static const int32_t bad_flags[3] = {0, 1, -1};
  static const int32_t intact[8] = {0, 0, 128};
  char name[96], needle[300], sem_name[128];
  int from_child, to_child, posts = -1;
  zb_reader *r = NULL;
  zb_reader_room_info room;
  zb_frame f, held;
  sem_t *sem_r = SEM_FAILED;
  pid_t child;
  snprintf(name, sizeof name, "%s", zb_test_name("csemr"));
  snprintf(needle, sizeof needle, "/dev/shm/sem.sem-r-%s is corrupt", name);
  CHECK_RC(zb_reader_create(&r, name, 64, 1024, NULL), 0);
  if (r == NULL ||
      (child = fork_stepped(sem_r_reader_child, name, &from_child, &to_child)) < 0)
    goto out;
  snprintf(sem_name, sizeof sem_name, "/sem-r-%s", name);
  sem_r = sem_open(sem_name, 0);
  CHECK(sem_r != SEM_FAILED);
  CHECK(step_wait(from_child) == 'y'); /* frames 1 [0, 616), 2 [616, 932) */
  CHECK_RC(zb_reader_next(r, &held, 1000), 0);
  CHECK(frame_ok(&held, 600, 1));
  overwrite_sem("sem-r", name, bad_flags, sizeof bad_flags);
  CHECK_RC(zb_frame_release(&held), 0); /* released: only the post fails */
  CHECK_RC(zb_reader_room(r, &room), 0);
  CHECK_EQ_U64(room.free, 1024 - 316); /* frame 1's bytes are back */
  CHECK_RC(zb_reader_next(r, &f, 100), ZB_EPROTO);
  CHECK_MSG(needle);
  CHECK_MSG("could not post the room it gave back");
  CHECK_RC(zb_reader_take_ready(r, &f), ZB_EPROTO);
  CHECK_MSG(needle);
  overwrite_sem("sem-r", name, intact, sizeof intact);
  GET_RELEASE(r, 300, 2); /* not lost */
  if (sem_r != SEM_FAILED)
    CHECK(sem_getvalue(sem_r, &posts) == 0 && posts == 2); /* made up + 2's */
  step_send(to_child, 'g');
  CHECK(step_wait(from_child) == 'y');
  GET_RELEASE(r, 900, 3);
  finish_stepped(child, from_child, to_child);
out:
  if (sem_r != SEM_FAILED)
    sem_close(sem_r);
  zb_reader_destroy(r);
  CHECK(zb_test_ring_gone(name));
  zb_test_remove_ring(name);
}
#endif

static void test_corrupt_metadata(void) {
  int what;
  for (what = 0; what < 4; what++) {
    ring_fixture fx;
    const uint8_t *data;
    uint64_t size, len;
    if (fixture_open(&fx, "cmeta", 1024) == 0) {
      CHECK_RC(zb_writer_set_metadata(fx.w, "hello", 5), 0);
      switch (what) {
      case 0: /* written past the block */
        atomic_store(&fx.m.oieb->metadata_written_bytes, 65);
        break;
      case 1: /* prefix larger than what was written */
        len = 6;
        memcpy(fx.m.meta, &len, 8);
        break;
      case 2: /* written smaller than the prefix itself */
        atomic_store(&fx.m.oieb->metadata_written_bytes, 4);
        break;
      case 3: /* zero-length prefix */
        len = 0;
        memcpy(fx.m.meta, &len, 8);
        break;
      }
      data = (const uint8_t *)"junk";
      size = 99;
      CHECK_RC(zb_reader_metadata(fx.r, &data, &size), ZB_EPROTO);
      CHECK_MSG(fx.name);
      CHECK_EQ_U64(size, 0);
      CHECK(data == NULL);
      CHECK_RC(zb_writer_set_metadata(fx.w, "hello", 5), ZB_EPROTO);
    }
    fixture_close(&fx);
  }
  check_usable();
}

/* A length prefix of 0 with metadata_written_bytes 8: what a peer writer's
 * set_metadata(x, 0) leaves. Empty metadata, taken as none by readers; it
 * was ZB_EPROTO ("metadata length prefix 0 does not match the 8 bytes
 * written"), and each read's look at the metadata left that text behind
 * for the thread's later calls. Our writer does not write over it: it was
 * written once (the peers' writers refuse a second write), so its own
 * metadata is other metadata, ZB_EMETADATA naming both (docs/PROTOCOL.md
 * §2.2). */
static void test_metadata_prefix_zero(void) {
  ring_fixture fx;
  char name[64];
  const uint8_t *data;
  uint64_t size, len = 0;
  zb_frame f;
  snprintf(name, sizeof name, "tl-%d-meta0", (int)getpid());
  if (fixture_open_named(&fx, name, 1024) == 0) {
    CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_EAGAIN);
    CHECK_MSG("no frame ready");
    memcpy(fx.m.meta, &len, 8); /* as a peer writer leaves it */
    atomic_store(&fx.m.oieb->metadata_free_bytes, 64 - 8);
    atomic_store(&fx.m.oieb->metadata_written_bytes, 8);
    CHECK_RC(put(fx.w, 100, 1, 0), 0);
    /* the read that sees the metadata takes the frame and leaves the
     * thread's details as they were */
    CHECK_RC(zb_reader_next(fx.r, &f, 1000), 0);
    CHECK_MSG("no frame ready");
    CHECK_RC(zb_frame_release(&f), 0);
    data = (const uint8_t *)"junk";
    size = 99;
    CHECK_RC(zb_reader_metadata(fx.r, &data, &size), 0);
    CHECK_EQ_U64(size, 0);
    CHECK(data == NULL);
    data = (const uint8_t *)"junk";
    size = 99;
    CHECK_RC(zb_writer_metadata(fx.w, &data, &size), 0);
    CHECK_EQ_U64(size, 0);
    CHECK(data == NULL);
    /* before this writer's first frame: a new one, connected after it */
    zb_writer_destroy(fx.w);
    fx.w = NULL;
    CHECK_RC(zb_reader_next(fx.r, &f, 1000), ZB_EOF);
    CHECK(strstr(zb_last_error(), "length prefix") == NULL);
    CHECK_RC(zb_writer_connect(&fx.w, fx.name), 0);
    if (fx.w != NULL) {
      CHECK_RC(zb_writer_set_metadata(fx.w, "hello", 5), ZB_EMETADATA);
      CHECK_MSG("already holds empty metadata");
      CHECK_MSG(fx.name);
      CHECK_MSG("hello");
      CHECK_EQ_U64(atomic_load(&fx.m.oieb->metadata_written_bytes), 8);
      CHECK(all_zero(fx.m.meta, 8));
      CHECK_RC(put(fx.w, 50, 1, 0), 0);
      CHECK_RC(zb_reader_next(fx.r, &f, 1000), 0);
      CHECK_EQ_U64(f.size, 50);
      CHECK_RC(zb_frame_release(&f), 0);
    }
  }
  fixture_close(&fx);
}

/* 11. Reader timeouts and wake. */
typedef struct wake_later {
  zb_reader *r;
  int delay_ms;
} wake_later;

static void *wake_thread(void *arg) {
  wake_later *wl = arg;
  sleep_ms(wl->delay_ms);
  zb_reader_wake(wl->r);
  return NULL;
}

static void test_reader_timeouts(void) {
  ring_fixture fx;
  zb_frame f;
  double t0, dt;
  if (fixture_open(&fx, "rtime", 1024) == 0) {
    t0 = now_ms();
    CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_EAGAIN);
    CHECK(now_ms() - t0 < 50);
    t0 = now_ms();
    CHECK_RC(zb_reader_next(fx.r, &f, 100), ZB_ETIMEDOUT);
    dt = now_ms() - t0;
    CHECK(dt >= 98 && dt < 600);
    CHECK_MSG("100 ms");
    CHECK_RC(zb_reader_next(NULL, &f, 0), ZB_EINVAL);
    CHECK_RC(zb_reader_next(fx.r, NULL, 0), ZB_EINVAL);
    CHECK_RC(zb_reader_take_ready(NULL, &f), ZB_EINVAL);
    CHECK_MSG("zb_reader_take_ready:"); /* not zb_reader_next's name */

    /* wake before next: ECANCELED once, then normal */
    zb_reader_wake(fx.r);
    t0 = now_ms();
    CHECK_RC(zb_reader_next(fx.r, &f, 1000), ZB_ECANCELED);
    CHECK(now_ms() - t0 < 50);
    CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_EAGAIN);
    t0 = now_ms();
    CHECK_RC(zb_reader_next(fx.r, &f, 100), ZB_ETIMEDOUT);
    CHECK(now_ms() - t0 >= 98);
    zb_reader_wake(fx.r);
    zb_reader_wake(fx.r); /* two wakes, one ECANCELED */
    CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_ECANCELED);
    CHECK_RC(put(fx.w, 10, 1, 0), 0);
    GET_RELEASE(fx.r, 10, 1);

    /* wake from another thread during an endless wait */
    {
      pthread_t th;
      wake_later wl = {fx.r, 50};
      CHECK(pthread_create(&th, NULL, wake_thread, &wl) == 0);
      t0 = now_ms();
      CHECK_RC(zb_reader_next(fx.r, &f, ZB_WAIT_FOREVER), ZB_ECANCELED);
      dt = now_ms() - t0;
      CHECK(dt >= 40 && dt < 1000);
      pthread_join(th, NULL);
    }
    /* and normal again afterwards */
    CHECK_RC(put(fx.w, 20, 2, 0), 0);
    GET_RELEASE(fx.r, 20, 2);
    CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_EAGAIN);
  }
  fixture_close(&fx);
}

/* A timeout below ZB_WAIT_FOREVER (-1) is a mistake, refused at once with
 * ZB_EINVAL naming it and the ring. Before, every negative value waited
 * for ever: here a wake queued before each call ended that wait
 * (ZB_ECANCELED) instead of a hang. A refused call uses no wake-up. */
static void test_negative_timeouts(void) {
  static const int bad[] = {-2, -5, INT_MIN};
  ring_fixture fx;
  zb_frame f;
  zb_reservation res;
  uint8_t buf[240] = {0};
  int again_ms = 0;
  size_t i;
  uint64_t seq;
  if (fixture_open(&fx, "negtime", 1024) == 0) {
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
      char needle[48];
      snprintf(needle, sizeof needle, "timeout_ms %d is invalid", bad[i]);
      zb_reader_wake(fx.r);
      CHECK_RC(zb_reader_next(fx.r, &f, bad[i]), ZB_EINVAL);
      CHECK_MSG(needle);
      CHECK_MSG("zb_reader_next");
      CHECK_MSG(fx.name);
      CHECK_RC(zb_reader_poll(fx.r, &f, bad[i], zb_now_ns(), &again_ms),
               ZB_EINVAL);
      CHECK_MSG(needle);
      CHECK_MSG("zb_reader_poll");
      CHECK_RC(zb_reader_next(fx.r, &f, 10), ZB_ECANCELED); /* still queued */
    }
    /* the writer, on a full ring */
    for (seq = 1; seq <= 4; seq++)
      CHECK_RC(put(fx.w, 240, seq, 0), 0);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
      char needle[48];
      snprintf(needle, sizeof needle, "timeout_ms %d is invalid", bad[i]);
      zb_writer_wake(fx.w);
      CHECK_RC(zb_writer_reserve(fx.w, 240, &res, bad[i]), ZB_EINVAL);
      CHECK_MSG(needle);
      CHECK_MSG("zb_writer_reserve");
      CHECK_MSG(fx.name);
      CHECK(res.writer == NULL);
      zb_writer_wake(fx.w);
      CHECK_RC(zb_writer_write(fx.w, buf, sizeof buf, bad[i]), ZB_EINVAL);
      CHECK_MSG(needle);
      CHECK_MSG("zb_writer_write");
      CHECK_RC(zb_writer_reserve(fx.w, 240, &res, 10), ZB_ECANCELED);
    }
    CHECK_EQ_U64(zb_writer_open_reservations(fx.w), 0);
    /* -1 and 0 are as before */
    GET_RELEASE(fx.r, 240, 1);
    CHECK_RC(put(fx.w, 240, 5, ZB_WAIT_FOREVER), 0);
    for (seq = 2; seq <= 5; seq++)
      GET_RELEASE(fx.r, 240, seq);
    CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_EAGAIN);
  }
  fixture_close(&fx);
}

/* zb_deadline: what is left, in slices; a changed timeout and skipped time
 * count from the start; bad arguments are EINVAL. A caller busy (CPU) for
 * 1.2 s between two looks is late, not stopped: its 1 s timeout has
 * passed at the second look (before, any late look was taken for a stop,
 * and a Node reader's loop busy with JS waited 31 s of a 1 s timeout). */
static uint64_t process_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Spins for MS milliseconds; returns whether the process got over half of
 * the CPU meanwhile. Under half, without the kernel's schedstat, the
 * deadline's rule takes the time for a stop, as documented: on a machine
 * loaded with 7 runnable processes per 2 cores the busy loop got about a
 * quarter (and with schedstat, before it was read, the check failed so). */
static bool busy_for_ms(unsigned ms) {
  uint64_t start = zb_now_ns(), cpu = process_cpu_ns();
  uint64_t until = start + (uint64_t)ms * 1000000u;
  volatile uint64_t spin = 0;
  while (zb_now_ns() < until)
    spin++;
  return (process_cpu_ns() - cpu) * 10 >= (zb_now_ns() - start) * 6;
}

/* Milliseconds since T0_NS, rounded up: what a deadline started after T0_NS
 * has used at most (a loaded machine may stop us anywhere in between). */
static int ms_since(uint64_t t0_ns) {
  return (int)((zb_now_ns() - t0_ns + 999999u) / 1000000u);
}

static void test_deadline(void) {
  zb_deadline d;
  uint64_t origin, t0;
  int ms;

  CHECK_RC(zb_deadline_start(NULL, 10), ZB_EINVAL);
  CHECK_RC(zb_deadline_start(&d, -2), ZB_EINVAL);
  CHECK_MSG("timeout_ms -2 is invalid");
  t0 = zb_now_ns();
  CHECK_RC(zb_deadline_start(&d, 2000), 0);
  CHECK_RC(zb_deadline_wait_ms(&d, 0), ZB_EINVAL);
  CHECK_RC(zb_deadline_wait_ms(NULL, 10), ZB_EINVAL);
  CHECK_RC(zb_deadline_wait_ms(&d, 50), 50);
  ms = zb_deadline_wait_ms(&d, 5000);
  CHECK(ms >= 2000 - ms_since(t0) && ms <= 2000);
  /* a longer timeout, counted from the start; skipped time moves it on */
  d.timeout_ms = 3000;
  ms = zb_deadline_wait_ms(&d, 5000);
  CHECK(ms >= 3000 - ms_since(t0) && ms <= 3000);
  origin = zb_deadline_origin_ns(&d);
  usleep(300 * 1000); /* a pause, measured by the caller */
  zb_deadline_skip(&d, 300000000u);
  CHECK(zb_deadline_origin_ns(&d) >= origin + 299000000u);
  ms = zb_deadline_wait_ms(&d, 5000);
  CHECK(ms >= 3000 - (ms_since(t0) - 300) - 1 && ms <= 3000);
  d.timeout_ms = ZB_WAIT_FOREVER;
  CHECK_RC(zb_deadline_wait_ms(&d, 70), 70);
  CHECK(zb_deadline_origin_ns(NULL) == 0);
  /* 0: passed at the first look; 1: left rounded up (unless a whole
   * millisecond went by before the look) */
  CHECK_RC(zb_deadline_start(&d, 0), 0);
  CHECK_RC(zb_deadline_wait_ms(&d, 10), 0);
  t0 = zb_now_ns();
  CHECK_RC(zb_deadline_start(&d, 1), 0);
  ms = zb_deadline_wait_ms(&d, 10);
  CHECK(ms == 1 || (ms == 0 && zb_now_ns() - t0 >= 1000000u));
  /* busy, not stopped: with schedstat however little of the CPU it got */
  CHECK_RC(zb_deadline_start(&d, 1000), 0);
  CHECK_RC(zb_deadline_wait_ms(&d, 50), 50);
  if (busy_for_ms(1200) || access("/proc/thread-self/schedstat", R_OK) == 0)
    CHECK_RC(zb_deadline_wait_ms(&d, 50), 0);
  else
    fprintf(stderr, "test_deadline: the busy loop got under 60%% of the "
                    "CPU (a loaded machine) and the kernel has no "
                    "schedstat: busy-not-stopped not checked\n");
}

/* Messages of ring operations name the ring, as the others do: these
 * lacked it before ("a frame of N bytes can never fit any ring", "commit:
 * the reservation is not open", ...). */
static void test_messages_name_ring(void) {
  static const uint8_t meta[8] = "{}";
  ring_fixture fx;
  zb_reservation res, copy;
  zb_frame f, two[2];
  char needle[160];
  if (fixture_open(&fx, "msgname", 1024) == 0) {
    snprintf(needle, sizeof needle, "ring \"%s\"", fx.name);
    CHECK_RC(zb_writer_reserve(fx.w, ZB_MAX_PAYLOAD_SIZE + 1, &res, 0),
             ZB_EMSGSIZE);
    CHECK_MSG("can never fit");
    CHECK_MSG(needle);
    /* the size is refused before the bytes are read */
    CHECK_RC(zb_writer_set_metadata(fx.w, meta, ZB_MAX_METADATA_SIZE + 1),
             ZB_EMSGSIZE);
    CHECK_MSG("metadata blocks hold at most");
    CHECK_MSG(needle);
    CHECK_RC(zb_writer_reserve(fx.w, 10, &res, 0), 0);
    copy = res;
    CHECK_RC(zb_reservation_commit(&res, 10), 0);
    CHECK_RC(zb_reservation_commit(&copy, 10), ZB_ESTATE);
    CHECK_MSG("not open");
    CHECK_MSG(needle);
    CHECK_RC(zb_reader_next(fx.r, &f, 1000), 0);
    two[0] = f;
    memset(&two[1], 0, sizeof two[1]);
    CHECK_RC(zb_frames_release(two, 2), ZB_EINVAL);
    CHECK_MSG("not held");
    CHECK_MSG(needle);
    CHECK_EQ_U64(zb_reader_held_frames(fx.r), 0);
    CHECK_RC(zb_health_read(fx.name, NULL), ZB_EINVAL);
    CHECK_MSG(needle);
  }
  fixture_close(&fx);
}

/* End of stream, a dead writer, and a writer reconnecting. */
static void test_end_of_stream(void) {
  ring_fixture fx;
  zb_frame f;
  uint64_t starts;
  if (fixture_open(&fx, "eos", 1024) == 0) {
    /* a connected writer that has not written yet: not EOF, just nothing */
    CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_EAGAIN);
    CHECK_RC(put(fx.w, 10, 1, 0), 0);
    CHECK_RC(put(fx.w, 10, 2, 0), 0);
    zb_writer_destroy(fx.w);
    fx.w = NULL;
    /* frames written before the detach stay readable */
    GET_RELEASE(fx.r, 10, 1);
    GET_RELEASE(fx.r, 10, 2);
    CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_EOF);
    CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_EAGAIN); /* EOF once */
    /* a new writer restarts at sequence 1 */
    CHECK_RC(zb_writer_connect(&fx.w, fx.name), 0);
    if (fx.w != NULL) {
      CHECK_RC(put(fx.w, 10, 1, 0), 0);
      GET_RELEASE(fx.r, 10, 1);
      CHECK_RC(put(fx.w, 10, 2, 0), 0);
      GET_RELEASE(fx.r, 10, 2);
    }
    /* a writer reconnecting while the reader lags behind (no EOF seen in
     * between): its frame 1 is accepted after the old writer's frames */
    zb_writer_destroy(fx.w);
    fx.w = NULL;
    CHECK_RC(zb_writer_connect(&fx.w, fx.name), 0);
    if (fx.w != NULL) {
      CHECK_RC(put(fx.w, 10, 1, 0), 0);
      CHECK_RC(put(fx.w, 11, 2, 0), 0);
      zb_writer_destroy(fx.w);
      fx.w = NULL;
    }
    CHECK_RC(zb_writer_connect(&fx.w, fx.name), 0);
    if (fx.w != NULL)
      CHECK_RC(put(fx.w, 12, 1, 0), 0);
    /* two streams start in what is unread: the frame taken first is not
     * the current writer's while another starts behind it */
    starts = 9;
    CHECK_RC(zb_reader_unread_stream_starts(fx.r, &starts), 0);
    CHECK(starts == 2);
    GET_RELEASE(fx.r, 10, 1);
    CHECK_RC(zb_reader_unread_stream_starts(fx.r, &starts), 0);
    CHECK(starts == 1);
    GET_RELEASE(fx.r, 11, 2);
    GET_RELEASE(fx.r, 12, 1);
    CHECK_RC(zb_reader_unread_stream_starts(fx.r, &starts), 0);
    CHECK(starts == 0);
    /* counts one ahead (a Python writer's phantom wrap count) make no frame
     * taken and held look unread: the walk goes by positions */
    zb_writer_destroy(fx.w);
    fx.w = NULL;
    CHECK_RC(zb_writer_connect(&fx.w, fx.name), 0);
    if (fx.w != NULL && put(fx.w, 13, 1, 0) == 0 &&
        zb_reader_next(fx.r, &f, 1000) == 0) {
      atomic_fetch_add(&fx.m.oieb->payload_written_count, 1);
      CHECK_RC(zb_reader_unread_stream_starts(fx.r, &starts), 0);
      CHECK(starts == 0);
      atomic_fetch_sub(&fx.m.oieb->payload_written_count, 1);
      CHECK_RC(zb_frame_release(&f), 0);
    } else {
      CHECK(!"a held frame of a new writer");
    }
    CHECK_RC(zb_reader_unread_stream_starts(fx.r, NULL), ZB_EINVAL);
    /* a writer that died without detaching */
    atomic_store(&fx.m.oieb->writer_pid, (uint64_t)dead_pid());
    CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_EWRITERDEAD);
    CHECK_MSG("died");
    CHECK_RC(zb_reader_next(fx.r, &f, 0), ZB_EAGAIN); /* reported once */
    atomic_store(&fx.m.oieb->writer_pid, (uint64_t)getpid());
  }
  fixture_close(&fx);
}

/* A writer that came and went between two looks of the reader, leaving only
 * its metadata (zerosink whose first frame can never fit): the metadata
 * says a writer was there, so the stream has ended. docs/PROTOCOL.md §4. */
static void test_writer_left_unseen(void) {
  const char *meta = "{\"caps\":\"video/x-raw\"}";
  char name[96];
  zb_reader *r = NULL;
  zb_writer *w = NULL;
  zb_frame f;

  snprintf(name, sizeof name, "%s", zb_test_name("unseen"));
  CHECK_RC(zb_reader_create(&r, name, 64, 1024, NULL), 0);
  if (r == NULL)
    return;
  CHECK_RC(zb_reader_next(r, &f, 0), ZB_EAGAIN); /* no writer yet */
  CHECK_RC(zb_writer_connect(&w, name), 0);
  if (w != NULL) {
    CHECK_RC(zb_writer_set_metadata(w, meta, strlen(meta)), 0);
    CHECK_RC(put(w, 2000, 1, 0), ZB_EMSGSIZE); /* never fits the ring */
    zb_writer_destroy(w);
    w = NULL;
  }
  /* with a wait, as zerosrc asks: at once, not at the timeout */
  CHECK_RC(zb_reader_next(r, &f, 5000), ZB_EOF);
  CHECK_MSG("detached");
  CHECK_RC(zb_reader_next(r, &f, 0), ZB_EAGAIN); /* EOF once */

  /* The metadata stays: it does not end the next writer's stream early.
   * That writer is seen by its frame. */
  CHECK_RC(zb_writer_connect(&w, name), 0);
  if (w != NULL) {
    CHECK_RC(zb_writer_set_metadata(w, meta, strlen(meta)), 0);
    CHECK_RC(zb_reader_next(r, &f, 0), ZB_EAGAIN);
    CHECK_RC(put(w, 10, 1, 0), 0);
    zb_writer_destroy(w);
    w = NULL;
  }
  GET_RELEASE(r, 10, 1);
  CHECK_RC(zb_reader_next(r, &f, 0), ZB_EOF);
  CHECK_RC(zb_reader_next(r, &f, 0), ZB_EAGAIN);

  /* A later writer that leaves no frame leaves no trace (the metadata is
   * written once per ring): the reader goes on waiting, as if it had not
   * come. */
  CHECK_RC(zb_writer_connect(&w, name), 0);
  zb_writer_destroy(w);
  w = NULL;
  CHECK_RC(zb_reader_next(r, &f, 0), ZB_EAGAIN);

  zb_reader_destroy(r);
  CHECK(zb_test_ring_gone(name));
  zb_test_remove_ring(name);
}

/* The protocol's utilisation bands: healthy < 80 %, degraded 80..95 %,
 * critical > 95 %. */
static void test_bands(void) {
  CHECK(zb_band_of(0) == ZB_BAND_HEALTHY);
  CHECK(zb_band_of(79.99) == ZB_BAND_HEALTHY);
  CHECK(zb_band_of(80) == ZB_BAND_DEGRADED);
  CHECK(zb_band_of(95) == ZB_BAND_DEGRADED);
  CHECK(zb_band_of(95.01) == ZB_BAND_CRITICAL);
  CHECK(zb_band_of(100) == ZB_BAND_CRITICAL);
  CHECK(strcmp(zb_band_name(ZB_BAND_HEALTHY), "healthy") == 0);
  CHECK(strcmp(zb_band_name(ZB_BAND_DEGRADED), "degraded") == 0);
  CHECK(strcmp(zb_band_name(ZB_BAND_CRITICAL), "critical") == 0);
}

/* 12. Health by name. */
static void test_health(void) {
  ring_fixture fx;
  zb_health h;
  char missing[96];
  if (fixture_open(&fx, "health", 1000) == 0) {
    CHECK_RC(zb_writer_set_metadata(fx.w, "{}", 2), 0);
    CHECK_RC(put(fx.w, 240, 1, 0), 0); /* total 256 */
    CHECK_RC(zb_health_read(fx.name, &h), 0);
    CHECK_EQ_U64(h.version[0], 1);
    CHECK_EQ_U64(h.metadata_size, 64);
    CHECK_EQ_U64(h.metadata_written_bytes, 10);
    CHECK_EQ_U64(h.payload_size, 1024);
    CHECK_EQ_U64(h.payload_free_bytes, 768);
    CHECK_EQ_U64(h.payload_used_bytes, 256);
    CHECK(h.utilisation_percent == 25.0);
    CHECK(h.band == ZB_BAND_HEALTHY);
    CHECK_EQ_U64(h.write_pos, 256);
    CHECK_EQ_U64(h.read_pos, 0);
    CHECK_EQ_U64(h.written_count, 1);
    CHECK_EQ_U64(h.read_count, 0);
    CHECK_EQ_U64(h.writer_pid, (uint64_t)getpid());
    CHECK_EQ_U64(h.reader_pid, (uint64_t)getpid());
    CHECK(h.writer_alive);
    CHECK(h.reader_alive);
    GET_RELEASE(fx.r, 240, 1);
    CHECK_RC(zb_health_read(fx.name, &h), 0);
    CHECK_EQ_U64(h.read_count, 1);
    CHECK_EQ_U64(h.read_pos, 256);
    CHECK(h.utilisation_percent == 0.0);
    /* read-only: health never modifies the segment */
    zb_writer_destroy(fx.w);
    fx.w = NULL;
    CHECK_RC(zb_health_read(fx.name, &h), 0);
    CHECK_EQ_U64(h.writer_pid, 0);
    CHECK(!h.writer_alive);
    CHECK(h.reader_alive);
    /* a dead reader pid is reported as not alive */
    atomic_store(&fx.m.oieb->reader_pid, (uint64_t)dead_pid());
    CHECK_RC(zb_health_read(fx.name, &h), 0);
    CHECK(!h.reader_alive);
    atomic_store(&fx.m.oieb->reader_pid, (uint64_t)getpid());
    CHECK_RC(zb_reader_health(fx.r, NULL), ZB_EINVAL);
    CHECK_RC(zb_reader_health(NULL, &h), ZB_EINVAL);
  }
  fixture_close(&fx);
  snprintf(missing, sizeof missing, "%s", zb_test_name("nohealth"));
  CHECK_RC(zb_health_read(missing, &h), ZB_ENOENT);
  CHECK_MSG(missing);
}

/* 13. Error names and texts; NULL to destroy. */
static void test_errors(void) {
  struct {
    int code;
    const char *name;
    const char *text;
  } all[] = {
#define ZB__ERR_ROW(name, value, text) {ZB_##name, #name, text},
      ZB_ERRNO_MAP(ZB__ERR_ROW)
#undef ZB__ERR_ROW
  };
  size_t i, j;
  for (i = 0; i < sizeof all / sizeof all[0]; i++) {
    CHECK(all[i].code < 0);
    CHECK(strcmp(zb_err_name(all[i].code), all[i].name) == 0);
    CHECK(strcmp(zb_strerror(all[i].code), all[i].text) == 0);
    for (j = 0; j < i; j++)
      CHECK(all[i].code != all[j].code); /* names are unambiguous */
  }
  CHECK(strcmp(zb_err_name(ZB_ESEQUENCE), "ESEQUENCE") == 0);
  /* both sides' EAGAIN: the writer's full ring, the reader's "no frame
   * ready" (the text said "ring is full" under the reader's details) */
  CHECK(strcmp(zb_strerror(ZB_EAGAIN),
               "nothing ready now (ring full, or no frame)") == 0);
  CHECK(strcmp(zb_err_name(0), "OK") == 0);
  CHECK(strcmp(zb_strerror(0), "success") == 0); /* not "unknown error" */
  CHECK(strcmp(zb_err_name(1), "EUNKNOWN") == 0);
  CHECK(strcmp(zb_err_name(-4050), "EUNKNOWN") == 0);
  CHECK(strcmp(zb_err_name(-E2BIG), "EUNKNOWN") == 0);
  CHECK(strcmp(zb_strerror(-4050), "unknown error") == 0);
  CHECK(strcmp(zb_strerror(-E2BIG), strerror(E2BIG)) == 0);
  CHECK(zb_strerror(12345) != NULL);
  CHECK(zb_last_error() != NULL);

  zb_reader_destroy(NULL);
  zb_writer_destroy(NULL);
  zb_reservation_cancel(NULL);
  CHECK_RC(zb_frame_release(NULL), ZB_EINVAL);
}

/* NULL where a handle goes: nothing done, 0 or NULL, as the siblings of
 * these calls refuse it, not a crash (in a child: a crash is told). */
static void test_null_handles(void) {
  int status = 0;
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    zb_frame_ext ext = {0};
    uint8_t dst[ZB_EXT_HEADER_SIZE] = {0};
    zb_test_failures = 0; /* the child's own, not a test before's */
    zb_reader_wake(NULL);
    zb_writer_wake(NULL);
    CHECK_EQ_U64(zb_reader_held_frames(NULL), 0);
    CHECK_EQ_U64(zb_writer_max_frame_size(NULL), 0);
    CHECK_EQ_U64(zb_reader_max_frame_size(NULL), 0);
    CHECK(zb_writer_ref(NULL) == NULL);
    CHECK(zb_reader_name(NULL) == NULL);
    CHECK(zb_writer_name(NULL) == NULL);
    zb_frame_ext_write(NULL, &ext);
    zb_frame_ext_write(dst, NULL);
    CHECK(dst[0] == 0);
    zb_deadline_skip(NULL, 1);
    _exit(zb_test_failures == 0 ? 0 : 1);
  }
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* "no frame ready" is formatted once and then left in place while it is
 * the thread's last details for that reader: every read of zb_last_error()
 * must still name the ring that said it, after another reader's EAGAIN,
 * after another failure, and for a new reader where a destroyed one was. */
static void check_no_frame_ready(zb_reader *r, int rc) {
  char want[160];
  snprintf(want, sizeof want, "ring \"%s\": no frame ready", zb_reader_name(r));
  CHECK_RC(rc, ZB_EAGAIN);
  if (strcmp(zb_last_error(), want) != 0) {
    zb_test_failures++;
    fprintf(stderr, "%s:%d: last error \"%s\", want \"%s\"\n", __FILE__,
            __LINE__, zb_last_error(), want);
  }
}

/* One frame kept blocks the ring: room goes back in ring order, so the
 * frames released after it give none. The writer's timeout says so (not
 * "the reader is not releasing frames"), and its "needs" counts the tail
 * the frame skips to go to 0, which it now names. */
static void test_kept_frame_blocks_room_message(void) {
  const char *name = zb_test_name("keep1");
  static uint8_t buf[4096];
  zb_reader *r = NULL;
  zb_writer *w = NULL;
  zb_frame first, f;
  int i, rc = 0;
  CHECK_RC(zb_reader_create(&r, name, 256, 65536, NULL), 0);
  if (r != NULL)
    CHECK_RC(zb_writer_connect(&w, name), 0);
  if (w == NULL)
    goto out;
  CHECK_RC(zb_writer_write(w, buf, 16, 1000), 0);
  CHECK_RC(zb_reader_next(r, &first, 1000), 0); /* kept */
  /* 32 + 15 * 4112 = 61712: the 16th frame goes to 0, past 3824 bytes */
  for (i = 0; i < 16 && (rc = zb_writer_write(w, buf, 4096, 300)) == 0; i++) {
    CHECK_RC(zb_reader_next(r, &f, 1000), 0);
    CHECK_RC(zb_frame_release(&f), 0);
  }
  CHECK_EQ_U64(i, 15);
  CHECK_RC(rc, ZB_ETIMEDOUT);
  CHECK_MSG("stayed full for 300 ms (3824 bytes free, the frame needs 7936: "
            "4112 for it (16 + 4096) + the 3824 left at the ring's end, "
            "skipped to place it at 0): the reader has not given the room "
            "back (it has not read the frames, or keeps one: a reader gives "
            "room back in ring order, so the oldest frame it has not "
            "released holds the room of every frame after it, released or "
            "not)");
  /* the same numbers without waiting */
  CHECK_RC(zb_writer_write(w, buf, 4096, 0), ZB_EAGAIN);
  CHECK_MSG("is full: 3824 bytes free, the frame needs 7936: 4112 for it "
            "(16 + 4096) + the 3824 left");
  CHECK_RC(zb_frame_release(&first), 0);
  CHECK_RC(zb_writer_write(w, buf, 4096, 1000), 0);
out:
  zb_writer_destroy(w);
  zb_reader_destroy(r);
}

/* A frame that cannot follow its wrap marker in one step waits first for
 * the marker's room, the bytes to the ring's end: its "needs" says so. */
static void test_marker_room_message(void) {
  const char *name = zb_test_name("keep2");
  static uint8_t buf[1024];
  static const uint64_t sizes[] = {300, 300, 100, 200, 100};
  zb_reader *r = NULL;
  zb_writer *w = NULL;
  zb_frame f[5];
  int i;
  CHECK_RC(zb_reader_create(&r, name, 256, 1024, NULL), 0);
  if (r != NULL)
    CHECK_RC(zb_writer_connect(&w, name), 0);
  if (w == NULL)
    goto out;
  /* A, B, C at 0, 316, 632; A given back; D at 748, E at 0 (past the
   * 60-byte tail); B, C and E released, D kept: used are [748, 1024) and
   * [0, 116), 632 bytes free */
  for (i = 0; i < 5; i++) {
    CHECK_RC(zb_writer_write(w, buf, sizes[i], 1000), 0);
    CHECK_RC(zb_reader_next(r, &f[i], 1000), 0);
    if (i == 0)
      CHECK_RC(zb_frame_release(&f[0]), 0);
  }
  CHECK_RC(zb_frame_release(&f[1]), 0);
  CHECK_RC(zb_frame_release(&f[2]), 0);
  CHECK_RC(zb_frame_release(&f[4]), 0);
  /* 908 bytes to the end + 916 > 1024: the marker goes out alone first */
  CHECK_RC(zb_writer_write(w, buf, 900, 0), ZB_EAGAIN);
  CHECK_MSG("is full: 632 bytes free, the frame needs 908: the bytes left "
            "at the ring's end, for a wrap marker before it goes to 0");
  CHECK_RC(zb_frame_release(&f[3]), 0);
out:
  zb_writer_destroy(w);
  zb_reader_destroy(r);
}

static void test_no_frame_ready_details(void) {
  char a_name[96], b_name[96], c_name[96];
  zb_reader *a = NULL, *b = NULL, *c = NULL;
  zb_frame f;
  int i;
  snprintf(a_name, sizeof a_name, "%s", zb_test_name("nfra"));
  snprintf(b_name, sizeof b_name, "%s", zb_test_name("nfrb"));
  CHECK_RC(zb_reader_create(&a, a_name, 64, 1024, NULL), 0);
  CHECK_RC(zb_reader_create(&b, b_name, 64, 1024, NULL), 0);
  if (a == NULL || b == NULL)
    goto out;
  check_no_frame_ready(a, zb_reader_take_ready(a, &f));
  check_no_frame_ready(a, zb_reader_take_ready(a, &f));
  check_no_frame_ready(a, zb_reader_next(a, &f, 0)); /* the same text */
  check_no_frame_ready(b, zb_reader_take_ready(b, &f));
  check_no_frame_ready(a, zb_reader_take_ready(a, &f));
  CHECK_RC(zb_frame_release(NULL), ZB_EINVAL); /* other details between */
  check_no_frame_ready(a, zb_reader_take_ready(a, &f));
  CHECK_RC(zb_reader_create(&c, "bad/name", 64, 1024, NULL), ZB_ENAME);
  CHECK_MSG("bad/name");
  check_no_frame_ready(a, zb_reader_next(a, &f, 0));
  /* new readers, likely where the old ones were: their own names */
  for (i = 0; i < 3; i++) {
    check_no_frame_ready(b, zb_reader_take_ready(b, &f));
    zb_reader_destroy(b);
    b = NULL;
    snprintf(c_name, sizeof c_name, "%s", zb_test_name(i % 2 ? "nfrc" : "nfrdd"));
    CHECK_RC(zb_reader_create(&b, c_name, 64, 1024, NULL), 0);
    if (b == NULL)
      goto out;
    check_no_frame_ready(b, zb_reader_take_ready(b, &f));
    zb_reader_destroy(b);
    b = NULL;
    CHECK_RC(zb_reader_create(&b, b_name, 64, 1024, NULL), 0);
    if (b == NULL)
      goto out;
  }
out:
  zb_reader_destroy(a);
  zb_reader_destroy(b);
}

/* 14. Closing removes everything; the name is free again at once. */
static void test_close(void) {
  char name[96];
  zb_reader *r = NULL, *r2 = NULL;
  zb_writer *w = NULL, *w2 = NULL;
  zb_frame f;

  snprintf(name, sizeof name, "%s", zb_test_name("close"));
  CHECK_RC(zb_reader_create(&r, name, 64, 1024, NULL), 0);
  /* A second reader of a live ring is refused; the first is unharmed. */
  CHECK_RC(zb_reader_create(&r2, name, 64, 1024, NULL), ZB_EEXIST);
  CHECK(r2 == NULL);
  CHECK_MSG(name);
  CHECK(file_size(name) == 128 + 64 + 1024);
  CHECK_RC(zb_writer_connect(&w, name), 0);
  if (r == NULL || w == NULL)
    goto out;
  CHECK_RC(put(w, 100, 1, 0), 0);
  CHECK_RC(put(w, 100, 2, 0), 0);
  CHECK_RC(zb_reader_next(r, &f, 0), 0); /* held at close */
  zb_reader_destroy(r);
  r = NULL;
  CHECK(zb_test_ring_gone(name));
  CHECK(f.size == 100);                 /* still mapped until released */
  CHECK_RC(zb_frame_release(&f), 0);    /* the last lease frees the reader */

  CHECK_RC(zb_reader_create(&r, name, 64, 2048, NULL), 0);
  if (r == NULL)
    goto out;
  /* The old writer belongs to the old (unlinked) segment. */
  CHECK_RC(put(w, 100, 3, 0), ZB_EREADERGONE);
  zb_writer_destroy(w);
  w = NULL;
  CHECK_RC(zb_writer_connect(&w2, name), 0);
  if (w2 != NULL) {
    CHECK_EQ_U64(zb_writer_max_frame_size(w2), 2032);
    CHECK_RC(put(w2, 100, 1, 0), 0);
    GET_RELEASE(r, 100, 1);
  }
  zb_writer_destroy(w2);
  CHECK_RC(zb_reader_next(r, &f, 0), ZB_EOF);
  zb_reader_destroy(r);
  r = NULL;
  CHECK(zb_test_ring_gone(name));
  /* The leftovers of a reader killed while creating the ring (a zero-filled
   * segment, a semaphore with posts, its lock file naming it) are replaced
   * on create. Without that lock file, a zero-filled segment is nobody's
   * ring that we know of: it is refused and left alone. */
  {
    char path[300];
    sem_t *sem;
    FILE *lock;
    int fd;
    snprintf(path, sizeof path, "/%s", name);
    fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0 && ftruncate(fd, 4096) == 0);
    if (fd >= 0)
      close(fd);
    snprintf(path, sizeof path, "/sem-w-%s", name);
    sem = sem_open(path, O_CREAT | O_EXCL, 0600, 5);
    CHECK(sem != SEM_FAILED);
    if (sem != SEM_FAILED)
      sem_close(sem);
    CHECK_RC(zb_reader_create(&r, name, 64, 1024, NULL), ZB_EPROTO);
    CHECK_MSG("is not a ZeroBuffer ring");
    CHECK(r == NULL);
    CHECK(file_size(name) == 4096);
    snprintf(path, sizeof path, "/tmp/zerobuffer/%s.lock", name);
    lock = fopen(path, "w");
    CHECK(lock != NULL);
    if (lock != NULL) {
      fprintf(lock, "%d 12345\n", (int)dead_pid());
      fclose(lock);
    }
  }
  CHECK_RC(zb_reader_create(&r, name, 64, 1024, NULL), 0);
  CHECK(file_size(name) == 128 + 64 + 1024);
  CHECK_RC(zb_writer_connect(&w, name), 0);
  if (r != NULL && w != NULL) {
    double t0 = now_ms();
    CHECK_RC(zb_reader_next(r, &f, 100), ZB_ETIMEDOUT); /* no stale posts */
    CHECK(now_ms() - t0 >= 98);
    CHECK_RC(put(w, 10, 1, 0), 0);
    GET_RELEASE(r, 10, 1);
  }
out:
  zb_writer_destroy(w);
  zb_reader_destroy(r);
  CHECK(zb_test_ring_gone(name));
  zb_test_remove_ring(name);
}

/* The opt-in per-frame header: written into a reservation, read back from
 * the frame, and refused when it is not what the metadata declared. */
static void test_frame_ext(void) {
  const char *name = zb_test_name("ext");
  const uint8_t body[5] = {1, 2, 3, 4, 5};
  zb_frame_ext ext = {1000, ZB_EXT_NONE, 33333333, 0, 0x40, 0, NULL, 0, NULL, 0}, got;
  uint8_t bad[ZB_EXT_HEADER_SIZE + 4];
  zb_reader *r;
  zb_writer *w;
  zb_frame f;
  zb_reservation slot;
  uint64_t before = zb_now_ns();

  CHECK_RC(zb_reader_create(&r, name, 0, 1024, NULL), 0);
  CHECK_RC(zb_writer_connect(&w, name), 0);
  CHECK_RC(zb_writer_reserve(w, ZB_EXT_HEADER_SIZE + sizeof body, &slot, 100), 0);
  zb_frame_ext_write(slot.data, &ext);
  memcpy(slot.data + ZB_EXT_HEADER_SIZE, body, sizeof body);
  CHECK_RC(zb_reservation_commit(&slot, ZB_EXT_HEADER_SIZE + sizeof body), 0);
  CHECK_RC(zb_reader_next(r, &f, 100), 0);
  CHECK_RC(zb_frame_ext_parse(f.data, f.size, &got), 0);
  CHECK_EQ_U64(got.pts, 1000);
  CHECK_EQ_U64(got.dts, ZB_EXT_NONE);
  CHECK_EQ_U64(got.duration, 33333333);
  CHECK_EQ_U64(got.flags, 0x40);
  CHECK_EQ_U64(got.zb_flags, 0);
  CHECK(got.commit_ns >= before && got.commit_ns <= zb_now_ns());
  CHECK_EQ_U64(got.size, sizeof body);
  CHECK(got.data == f.data + ZB_EXT_HEADER_SIZE && memcmp(got.data, body, sizeof body) == 0);
  CHECK(got.attrs == NULL && got.attrs_size == 0);
  CHECK_RC(zb_frame_release(&f), 0);

  /* attributes after the fixed 48 bytes: header_size grows, the body follows them */
  {
    static const char attrs[16] = "{\"imageId\":\"7\"} ";
    zb_frame_ext with = ext;
    with.attrs = (const uint8_t *)attrs;
    with.attrs_size = sizeof attrs;
    CHECK_RC(zb_writer_reserve(w, ZB_EXT_HEADER_SIZE + sizeof attrs + sizeof body, &slot, 100), 0);
    zb_frame_ext_write(slot.data, &with);
    memcpy(slot.data + ZB_EXT_HEADER_SIZE + sizeof attrs, body, sizeof body);
    CHECK_RC(zb_reservation_commit(&slot, ZB_EXT_HEADER_SIZE + sizeof attrs + sizeof body), 0);
    CHECK_RC(zb_reader_next(r, &f, 100), 0);
    CHECK_RC(zb_frame_ext_parse(f.data, f.size, &got), 0);
    CHECK_EQ_U64(got.attrs_size, sizeof attrs);
    CHECK(got.attrs == f.data + ZB_EXT_HEADER_SIZE && memcmp(got.attrs, attrs, sizeof attrs) == 0);
    CHECK_EQ_U64(got.size, sizeof body);
    CHECK(got.data == f.data + ZB_EXT_HEADER_SIZE + sizeof attrs && memcmp(got.data, body, sizeof body) == 0);
    CHECK_EQ_U64(got.pts, 1000);
    CHECK_RC(zb_frame_release(&f), 0);
  }

  /* an in-place answer: our flag at offset 44, no bytes after the header */
  {
    zb_frame_ext answer = ext;
    uint32_t at44;
    answer.zb_flags = ZB_EXT_IN_PLACE;
    zb_frame_ext_write(bad, &answer);
    memcpy(&at44, bad + 44, sizeof at44);
    CHECK_EQ_U64(at44, 1);
    CHECK_RC(zb_frame_ext_parse(bad, ZB_EXT_HEADER_SIZE, &got), 0);
    CHECK(got.zb_flags == ZB_EXT_IN_PLACE && got.size == 0 && got.flags == 0x40);
  }

  CHECK_RC(zb_frame_ext_parse(body, sizeof body, &got), ZB_EPROTO);
  CHECK_MSG("too short");
  zb_frame_ext_write(bad, &ext);
  bad[0] ^= 0xFF; /* magic */
  CHECK_RC(zb_frame_ext_parse(bad, sizeof bad, &got), ZB_EPROTO);
  CHECK_MSG("magic");
  zb_frame_ext_write(bad, &ext);
  bad[4] = 200; /* header_size past the frame */
  CHECK_RC(zb_frame_ext_parse(bad, sizeof bad, &got), ZB_EPROTO);
  zb_writer_destroy(w);
  zb_reader_destroy(r);
  CHECK(zb_test_ring_gone(name));
}

/* Names follow the contract (docs/PROTOCOL.md §1): any bytes but '/' and
 * "..", so a peer's ring named "cam:1", "a b" or "Kamera-ü" can be opened.
 * Each newly allowed kind goes end to end (create, write, read, all four
 * files, clean close); each refused kind is ENAME with its reason, before
 * any file is touched. */
static int all_files_exist(const char *name) {
  const char *formats[] = {"/dev/shm/%s", "/dev/shm/sem.sem-w-%s",
                           "/dev/shm/sem.sem-r-%s", "/tmp/zerobuffer/%s.lock"};
  char path[512];
  size_t i;
  for (i = 0; i < 4; i++) {
    snprintf(path, sizeof path, formats[i], name);
    if (access(path, F_OK) != 0)
      return 0;
  }
  return 1;
}

/* Whether S is valid UTF-8: GStreamer drops an error's debug text that is
 * not, and the zerobuffer-error line with it. */
static bool utf8_valid(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p != 0) {
    int n = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2
            : (*p & 0xF8) == 0xF0 ? 3 : -1;
    if (n < 0)
      return false;
    for (p++; n > 0; n--, p++)
      if ((*p & 0xC0) != 0x80)
        return false;
  }
  return true;
}

/* A name (up to 245 bytes of any characters) is in its messages whole: a
 * name cut at a byte count named another ring, or split a character (the
 * text was no longer UTF-8). A name too long to be one is cut between
 * characters, and so is any text too long for the details. */
static void test_long_name_messages(void) {
  char name[600], big[3 * 2048 + 4];
  size_t i, n = 0;
  int cut;

  name[n++] = 'x';
  for (i = 0; i < 120; i++, n += 2)
    memcpy(name + n, "\xc3\xbc", 2); /* ü */
  memcpy(name + n, "/y", 3);
  CHECK_RC(zb_validate_name(name), ZB_ENAME);
  CHECK_MSG(name);
  CHECK_MSG("contains '/'");
  CHECK(utf8_valid(zb_last_error()));
  memcpy(name + n, "..", 3);
  CHECK_RC(zb_validate_name(name), ZB_ENAME);
  CHECK_MSG(name);
  CHECK(utf8_valid(zb_last_error()));

  for (i = 0; i < 150; i++, n += 2)
    memcpy(name + n, "\xc3\xbc", 2);
  name[n] = '\0';
  CHECK_RC(zb_validate_name(name), ZB_ENAME);
  CHECK_MSG("...\" is too long");
  CHECK(utf8_valid(zb_last_error()));

  /* the safety net: every cut position inside a 3-byte character (€) */
  for (cut = 0; cut < 3; cut++) {
    memset(big, 'x', (size_t)cut);
    for (i = (size_t)cut; i + 3 < sizeof big; i += 3)
      memcpy(big + i, "\xe2\x82\xac", 3);
    big[i] = '\0';
    CHECK_RC(zb__fail(ZB_EIO, "%s", big), ZB_EIO);
    CHECK(utf8_valid(zb_last_error()));
    CHECK(strlen(zb_last_error()) > 1000);
    CHECK_RC(zb__fail_errno(EIO, "%s", big), ZB_EIO);
    CHECK(utf8_valid(zb_last_error()));
  }
}

static void test_name_charset(void) {
  static const char *const infix[] = {
      " ", ":", "@", "+", "\xc3\xbc" /* ü */, "\"", "'", "\\", ";", "*", "!",
      "$", "#", "%", "=", ",", "~", "(", "[", "{", "?", "&", "|", "<", "`",
      "\xe2\x82\xac" /* € */, "\xff" /* not UTF-8: bytes are bytes */};
  static const struct {
    const char *name;
    const char *needle;
  } refused[] = {
      {"", "empty"},
      {"a/b", "contains '/'"},
      {"/", "contains '/'"},
      {"../x", "contains '/'"},
      {"..", "contains \"..\""},
      {"x..y", "contains \"..\""},
      {".", "/dev/shm itself"},
      {"tab\there", "0x09 at offset 3"},
      {"nl\n", "0x0a at offset 2"},
      {"\x01x", "0x01 at offset 0"},
      {"esc\x1b[0m", "0x1b"},
      {"x\x1f", "0x1f"},
      {"del\x7f", "0x7f"},
      {"sem.sem-w-x", "semaphore of ring \"x\""},
      {"sem.sem-r-cam 1", "semaphore of ring \"cam 1\""},
  };
  char name[128], long246[247];
  size_t i;

  for (i = 0; i < sizeof infix / sizeof infix[0]; i++) {
    zb_reader *r = NULL;
    zb_writer *w = NULL;
    /* the character inside, and at both ends */
    snprintf(name, sizeof name, "%snm-%d-%zu%sx%s", infix[i], (int)getpid(), i,
             infix[i], infix[i]);
    CHECK_RC(zb_validate_name(name), 0);
    CHECK_RC(zb_reader_create(&r, name, 64, 1024, NULL), 0);
    if (r == NULL) {
      fprintf(stderr, "  name \"%s\": %s\n", name, zb_last_error());
      continue;
    }
    CHECK(all_files_exist(name));
    CHECK_RC(zb_writer_connect(&w, name), 0);
    if (w != NULL) {
      CHECK(strcmp(zb_writer_name(w), name) == 0);
      CHECK_RC(put(w, 100, 1, 1000), 0);
      GET_RELEASE(r, 100, 1);
      zb_writer_destroy(w);
    }
    zb_reader_destroy(r);
    CHECK(zb_test_ring_gone(name));
  }
  /* and the other newly allowed shapes: a leading '.', a "sem." that is
   * no semaphore of ours, a single character */
  {
    const char *shapes[] = {".nm-hidden", "sem.nm-x", "sem-w-nm", "~"};
    char shaped[64];
    for (i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
      zb_reader *r = NULL;
      zb_writer *w = NULL;
      snprintf(shaped, sizeof shaped, "%s%s", shapes[i],
               i < 3 ? zb_test_name("") : "");
      CHECK_RC(zb_reader_create(&r, shaped, 64, 1024, NULL), 0);
      CHECK_RC(zb_writer_connect(&w, shaped), 0);
      if (r != NULL && w != NULL) {
        CHECK_RC(put(w, 10, 1, 1000), 0);
        GET_RELEASE(r, 10, 1);
      }
      zb_writer_destroy(w);
      zb_reader_destroy(r);
      CHECK(zb_test_ring_gone(shaped));
    }
  }

  for (i = 0; i < sizeof refused / sizeof refused[0]; i++) {
    zb_reader *r = NULL;
    zb_writer *w = NULL;
    CHECK_RC(zb_validate_name(refused[i].name), ZB_ENAME);
    CHECK_MSG(refused[i].needle);
    CHECK_RC(zb_reader_create(&r, refused[i].name, 0, 1024, NULL), ZB_ENAME);
    CHECK_MSG(refused[i].needle);
    CHECK(r == NULL);
    CHECK_RC(zb_writer_connect(&w, refused[i].name), ZB_ENAME);
    CHECK(w == NULL);
  }
  memset(long246, 'x', 246);
  long246[246] = '\0';
  CHECK_RC(zb_validate_name(long246), ZB_ENAME);
  CHECK_MSG("too long");
  CHECK_RC(zb_validate_name(long246 + 1), 0); /* 245 bytes */
  /* the limit counts bytes: 122 two-byte characters and 2 bytes more */
  {
    char wide[248];
    size_t n = 0;
    while (n + 2 <= 244) {
      wide[n++] = '\xc3';
      wide[n++] = '\xbc';
    }
    wide[n++] = 'a';
    wide[n] = '\0';
    CHECK_RC(zb_validate_name(wide), 0);
    wide[n++] = 'b';
    wide[n] = '\0';
    CHECK_RC(zb_validate_name(wide), ZB_ENAME);
  }
  CHECK_RC(zb_validate_name("Cam-0_front.v2"), 0);
}

/* The two collisions of issue 12: a ring named "sem.sem-w-X" would have
 * ring X's write semaphore as its segment. Both orders are refused before
 * any file is touched, and ring X keeps working (its semaphore is still a
 * semaphore: a write and a read go through). */
static void test_name_collisions(void) {
  char x[96], sem_w[128], sem_r[128], other_sem[128], sem_path[300];
  zb_reader *rx = NULL, *r = NULL;
  zb_writer *w = NULL;
  struct stat before, after;

  snprintf(x, sizeof x, "%s", zb_test_name("collide"));
  snprintf(sem_w, sizeof sem_w, "sem.sem-w-%s", x);
  snprintf(sem_r, sizeof sem_r, "sem.sem-r-%s", x);
  snprintf(other_sem, sizeof other_sem, "sem.%s", x);

  /* a) "sem.sem-w-X" first, then X: the first create is refused, so it
   * cannot lose its segment to X. */
  CHECK_RC(zb_reader_create(&r, sem_w, 64, 1024, NULL), ZB_ENAME);
  CHECK_MSG("semaphore of ring");
  CHECK_MSG(x);
  CHECK(r == NULL);
  CHECK(file_size(sem_w) == -1);

  /* b) X live, then "sem.sem-w-X" / "sem.sem-r-X": refused, and X's
   * semaphore files are untouched (same inode). */
  CHECK_RC(zb_reader_create(&rx, x, 64, 1024, NULL), 0);
  snprintf(sem_path, sizeof sem_path, "/dev/shm/%s", sem_w);
  CHECK(stat(sem_path, &before) == 0);
  CHECK_RC(zb_reader_create(&r, sem_w, 64, 1024, NULL), ZB_ENAME);
  CHECK(r == NULL);
  CHECK_RC(zb_reader_create(&r, sem_r, 64, 1024, NULL), ZB_ENAME);
  CHECK(r == NULL);
  CHECK_RC(zb_writer_connect(&w, sem_w), ZB_ENAME);
  CHECK(w == NULL);
  CHECK(stat(sem_path, &after) == 0);
  CHECK(before.st_ino == after.st_ino);
  if (rx != NULL) {
    CHECK_RC(zb_writer_connect(&w, x), 0);
    if (w != NULL) {
      CHECK_RC(put(w, 100, 1, 1000), 0);
      GET_RELEASE(rx, 100, 1);
    }
  }
  zb_writer_destroy(w);
  zb_reader_destroy(rx);
  CHECK(zb_test_ring_gone(x));
  zb_test_remove_ring(x);

  /* Names merely containing "sem." or starting "sem" otherwise are fine. */
  CHECK_RC(zb_validate_name("cam.sem.0"), 0);
  CHECK_RC(zb_validate_name("sem-w-cam"), 0);
  CHECK_RC(zb_validate_name("semaphore"), 0);
  CHECK_RC(zb_validate_name("sem.x"), 0);

  /* "sem.X" where X is some program's live semaphore: the ring's segment
   * would be that semaphore's file. The reader refuses it as not a ring
   * and leaves it be (same inode, still a working semaphore). */
  {
    char sem_name[128];
    sem_t *sem;
    snprintf(sem_name, sizeof sem_name, "/%s", x);
    sem = sem_open(sem_name, O_CREAT | O_EXCL, 0600, 0);
    CHECK(sem != SEM_FAILED);
    if (sem != SEM_FAILED) {
      snprintf(sem_path, sizeof sem_path, "/dev/shm/%s", other_sem);
      CHECK(stat(sem_path, &before) == 0);
      CHECK_RC(zb_reader_create(&r, other_sem, 64, 1024, NULL), ZB_EPROTO);
      CHECK_MSG("not a ZeroBuffer ring");
      CHECK(r == NULL);
      CHECK(stat(sem_path, &after) == 0);
      CHECK(before.st_ino == after.st_ino && after.st_size == before.st_size);
      CHECK(sem_post(sem) == 0 && sem_trywait(sem) == 0);
      sem_close(sem);
      sem_unlink(sem_name);
    }
    CHECK(zb_test_ring_gone(other_sem));
    zb_test_remove_ring(other_sem);
  }
}

/* zb_copy: exact bytes, none past the end, for sizes around its bounds
 * (2 KiB, 512 KiB, the 1 KiB pieces) and distances in and out of the slow
 * case (1..63 bytes modulo 4096). */
static void test_copy(void) {
  const size_t sizes[] = {0, 1, 1023, 2047, 2048, 2049, 3000, 65536, 65543, 524287, 524288, 600001};
  const size_t distances[] = {0, 1, 16, 33, 63, 64, 4080};
  const size_t room = (600001 + 2 * 4096 + 4095) & ~(size_t)4095;  /* aligned_alloc wants a multiple */
  uint8_t *src = aligned_alloc(4096, room), *dst = aligned_alloc(4096, room + 4096);
  uint32_t x = 12345;
  CHECK(src != NULL && dst != NULL);
  if (src == NULL || dst == NULL) {
    free(src);
    free(dst);
    return;
  }
  for (size_t i = 0; i < room; i++) {
    x = x * 1103515245u + 12345u;
    src[i] = (uint8_t)(x >> 16);
  }
  for (size_t d = 0; d < sizeof distances / sizeof distances[0]; d++)
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
      const uint8_t *from = src + 100;  /* any page offset */
      uint8_t *to = dst + 100 + distances[d];
      memset(dst, 0xA5, room + 4096);
      zb_copy(to, from, sizes[k]);
      CHECK(memcmp(to, from, sizes[k]) == 0);
      CHECK(to[sizes[k]] == 0xA5 && to[-1] == 0xA5);
    }
  free(src);
  free(dst);
}

/* A duplex server that answers a request twice numbers its answers on:
 * zb_duplex_pair pairs the second with the next request, and only the
 * count of answers waiting against the requests waiting tells. The count
 * comes from the response ring's unread frames, walked by position (wrap
 * markers and frames held are not counted). */
static void test_duplex_check_answers(void) {
  ring_fixture fx;
  zb_duplex_pairing pairing = {0, 0};
  uint64_t unread = 9;
  zb_frame f;
  int i;
  if (fixture_open(&fx, "dupans", 1024) == 0) {
    CHECK_RC(zb_reader_unread_frames(fx.r, &unread), 0);
    CHECK_EQ_U64(unread, 0);
    /* answers 1 and 2 to request 1 (sent, not answered yet) */
    pairing.requests = 1;
    CHECK_RC(put(fx.w, 300, 1, 0), 0);
    CHECK_RC(zb_reader_unread_frames(fx.r, &unread), 0);
    CHECK_EQ_U64(unread, 1);
    CHECK_RC(zb_duplex_check_answers(&pairing, 0, unread, "x_response"), 0);
    CHECK_RC(put(fx.w, 300, 2, 0), 0);
    CHECK_RC(zb_reader_unread_frames(fx.r, &unread), 0);
    CHECK_EQ_U64(unread, 2);
    CHECK_RC(zb_duplex_check_answers(&pairing, 0, unread, "x_response"),
             ZB_ESEQUENCE);
    CHECK_MSG("ring \"x_response\": 2 answers (response sequences 1 to 2) "
              "are waiting for 1 request (1 sent, 0 answered): the server "
              "answered a request more than once");
    /* a request being published: its answer may be there already */
    CHECK_RC(zb_duplex_check_answers(&pairing, 1, unread, "x_response"), 0);
    /* the first taken, paired, held: the second waits for no request */
    CHECK_RC(zb_reader_next(fx.r, &f, 1000), 0);
    CHECK_RC(zb_duplex_pair(&pairing, f.sequence), 0);
    CHECK_RC(zb_reader_unread_frames(fx.r, &unread), 0);
    CHECK_EQ_U64(unread, 1);
    CHECK_RC(zb_duplex_check_answers(&pairing, 0, unread, "x_response"),
             ZB_ESEQUENCE);
    CHECK_MSG("ring \"x_response\": an answer (response sequence 2) is "
              "waiting while no request waits for one (1 sent, all "
              "answered)");
    CHECK_RC(zb_frame_release(&f), 0);
    GET_RELEASE(fx.r, 300, 2);
    /* a frame past a wrap marker counted, the marker not */
    for (i = 3; i <= 4; i++)
      CHECK_RC(put(fx.w, 300, (uint64_t)i, 0), 0);
    CHECK_RC(zb_reader_unread_frames(fx.r, &unread), 0);
    CHECK_EQ_U64(unread, 2);
    pairing.requests = 4;
    pairing.responses = 2;
    CHECK_RC(zb_duplex_check_answers(&pairing, 0, unread, "x_response"), 0);
    for (i = 3; i <= 4; i++)
      GET_RELEASE(fx.r, 300, (uint64_t)i);
    CHECK_RC(zb_reader_unread_frames(fx.r, &unread), 0);
    CHECK_EQ_U64(unread, 0);
    CHECK_RC(zb_reader_unread_frames(fx.r, NULL), ZB_EINVAL);
    CHECK_RC(zb_duplex_check_answers(NULL, 0, 0, "x"), ZB_EINVAL);
  }
  fixture_close(&fx);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN); /* a child that died fails its step, not us */
  RUN(test_round_trip);
  RUN(test_unlink);
  RUN(test_names);
  RUN(test_name_charset);
  RUN(test_long_name_messages);
  RUN(test_name_collisions);
  RUN(test_sizes);
  RUN(test_no_metadata_block);
  RUN(test_metadata_block_too_small);
  RUN(test_permissions);
  RUN(test_frame_sizes);
  RUN(test_full_ring);
  RUN(test_placement_marker);
  RUN(test_placement_exact_end);
  RUN(test_placement_no_small_tail);
  RUN(test_placement_unavoidable_tail);
  RUN(test_placement_shrunk_commit);
  RUN(test_placement_wrap_first);
  RUN(test_held_frames);
  RUN(test_room);
  RUN(test_held_bytes);
  RUN(test_metadata);
  RUN(test_metadata_needed_note);
  RUN(test_metadata_note_between_loads);
  RUN(test_writer_checks);
  RUN(test_corrupt_header);
  RUN(test_duplex_check_answers);
  RUN(test_corrupt_not_a_segment);
  RUN(test_unready_by_name);
  RUN(test_directory_under_names);
  RUN(test_corrupt_free_while_connected);
  RUN(test_corrupt_frames);
  RUN(test_flooded_posts_balance);
  RUN(test_no_lap_while_holding);
  RUN(test_forged_lap_refused);
  RUN(test_moved_read_pos_refused);
  RUN(test_stale_header_written_back);
  RUN(test_wrap_behind_moved_write_pos);
  RUN(test_tail_given_back_after_moving);
  RUN(test_new_writer_lap);
  RUN(test_new_writer_lap_after_old_frames);
  RUN(test_new_writer_lap_before_old_first_frame);
  RUN(test_new_writer_after_full_lap);
  RUN(test_forged_lap_at_new_writer_place);
  RUN(test_writer_pid_taken);
  RUN(test_cancel_after_refusal);
  RUN(test_metadata_after_ring_taken);
  RUN(test_reader_pid_changed);
  RUN(test_metadata_note_live_writer);
  RUN(test_health_entry_past_writer);
#if defined(__GLIBC__) && (defined(__x86_64__) || defined(__aarch64__))
  RUN(test_corrupt_semaphores);
  RUN(test_truncated_semaphore_connect);
  RUN(test_corrupt_sem_w_writer);
  RUN(test_corrupt_sem_r_reader);
#endif
  RUN(test_corrupt_metadata);
  RUN(test_metadata_prefix_zero);
  RUN(test_reader_timeouts);
  RUN(test_negative_timeouts);
  RUN(test_deadline);
  RUN(test_messages_name_ring);
  RUN(test_end_of_stream);
  RUN(test_writer_left_unseen);
  RUN(test_health);
  RUN(test_bands);
  RUN(test_errors);
  RUN(test_null_handles);
  RUN(test_no_frame_ready_details);
  RUN(test_kept_frame_blocks_room_message);
  RUN(test_marker_room_message);
  RUN(test_close);
  RUN(test_frame_ext);
  RUN(test_copy);
  return zb_test_finish("core-api");
}

/* leak_core — the protocol core under valgrind memcheck (or LeakSanitizer):
 * create/destroy cycles, writer connect/detach cycles, thousands of frames
 * of random sizes through reserve/commit, write and cancel, frames held and
 * released out of order, error paths (bad names, missing rings, a busy
 * writer slot, metadata mismatch, oversized frames), health and listing.
 * Single process, single thread: the writer writes with timeout 0 and the
 * reader drains, so nothing here depends on scheduling.
 *
 *   leak_core [FRAMES]     (default 20000)
 *
 * Open file descriptors are counted at start and end and must match.
 * Exit status 0, or 1 with the failing step on stderr. valgrind's
 * --error-exitcode turns leaks and invalid accesses into a failure. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zerobuffer.h"

#define CHECK(expr)                                                            \
  do {                                                                         \
    int rc_ = (expr);                                                          \
    if (rc_ < 0) {                                                             \
      fprintf(stderr, "leak_core: %s:%d: %s: %s (%s)\n", __FILE__, __LINE__,   \
              #expr, zb_err_name(rc_), zb_last_error());                       \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

#define EXPECT_RC(expr, want)                                                  \
  do {                                                                         \
    int rc_ = (expr);                                                          \
    if (rc_ != (want)) {                                                       \
      fprintf(stderr, "leak_core: %s:%d: %s returned %s, expected %s\n",       \
              __FILE__, __LINE__, #expr, zb_err_name(rc_), zb_err_name(want)); \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

static uint32_t rng = 2463534242u;
static uint32_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return rng;
}

/* Open file descriptors of this process (valgrind's own are hidden). */
static int count_fds(void) {
  int n = 0;
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL)
    return -1;
  while (readdir(d) != NULL)
    n++;
  closedir(d);
  return n;
}

static int count_ring(const zb_ring_entry *e, void *user) {
  (void)e;
  ++*(int *)user;
  return 0;
}

int main(int argc, char **argv) {
  unsigned long frames = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
  char name[64];
  static uint8_t src[8192];
  unsigned long written = 0, read = 0, cycle;
  zb_health h;
  int listed = 0;
  int fds;

  fds = count_fds();
  snprintf(name, sizeof name, "zbleak-core-%d", (int)getpid());
  for (size_t i = 0; i < sizeof src; i++)
    src[i] = (uint8_t)rnd();

  /* Error paths, each of which allocates nothing or frees what it did. */
  {
    zb_reader *r = NULL;
    zb_writer *w = NULL;
    EXPECT_RC(zb_validate_name("../x"), ZB_ENAME);
    EXPECT_RC(zb_reader_create(&r, "a/b", 0, 1024, NULL), ZB_ENAME);
    EXPECT_RC(zb_reader_create(&r, name, 0, 0, NULL), ZB_ESIZE);
    EXPECT_RC(zb_writer_connect(&w, name), ZB_ENOENT);
    EXPECT_RC(zb_health_read(name, &h), ZB_ENOENT);
    zb_reader_destroy(NULL);
    zb_writer_destroy(NULL);
  }

  /* Rings come and go: create/destroy cycles, each with a few writers that
   * connect, write metadata (identical each time) and frames, and detach. */
  for (cycle = 0; written < frames; cycle++) {
    zb_reader *r = NULL;
    zb_reader_options opts = {.mode = cycle % 2 ? 0640 : 0};
    CHECK(zb_reader_create(&r, name, 256, 16384 + (rnd() % 4) * 4096, &opts));
    for (int wi = 0; wi < 4 && written < frames; wi++) {
      zb_writer *w = NULL, *w2 = NULL;
      zb_frame held[4];
      int nheld = 0;
      CHECK(zb_writer_connect(&w, name));
      EXPECT_RC(zb_writer_connect(&w2, name), ZB_EBUSY);
      CHECK(zb_writer_set_metadata(w, "{\"caps\":\"application/x-leak\"}", 29));
      EXPECT_RC(zb_writer_set_metadata(w, "other", 5), ZB_EMETADATA);
      {
        zb_reservation p;
        EXPECT_RC(zb_writer_reserve(w, zb_writer_max_frame_size(w) + 1, &p, 0), ZB_EMSGSIZE);
      }
      for (int k = 0; k < 200 && written < frames; k++) {
        uint64_t size = 1 + rnd() % (sizeof src - 1);
        zb_frame f;
        int rc;
        if (rnd() % 3 == 0) {
          zb_reservation p;
          rc = zb_writer_reserve(w, size, &p, 0);
          if (rc == 0) {
            memcpy(p.data, src, size);
            if (rnd() % 8 == 0) {
              zb_reservation_cancel(&p);
              rc = ZB_EAGAIN; /* nothing published */
            } else {
              CHECK(zb_reservation_commit(&p, size));
            }
          }
        } else {
          rc = zb_writer_write(w, src, size, 0);
        }
        if (rc == 0)
          written++;
        else if (rc != ZB_EAGAIN)
          CHECK(rc);
        /* Drain (hold up to four frames, release out of order) when full
         * or now and then. */
        while ((rc == ZB_EAGAIN || rnd() % 4 == 0) &&
               zb_reader_next(r, &f, 0) == 0) {
          if (memcmp(f.data, src, f.size) != 0) {
            fprintf(stderr, "leak_core: frame %llu differs\n",
                    (unsigned long long)f.sequence);
            return 1;
          }
          read++;
          held[nheld++] = f;
          if (nheld == 4 || rc == ZB_EAGAIN) {
            for (int j = nheld - 1; j >= 0; j--)
              CHECK(zb_frame_release(&held[j]));
            nheld = 0;
            rc = 0;
          }
        }
      }
      CHECK(zb_writer_health(w, &h));
      zb_writer_destroy(w);
      /* Drain the rest, then end of stream. */
      for (;;) {
        zb_frame f;
        int rc = zb_reader_next(r, &f, 1000);
        if (rc == ZB_EOF)
          break;
        CHECK(rc);
        read++;
        held[nheld++] = f;
        if (nheld == 4) {
          for (int j = 0; j < nheld; j++)
            CHECK(zb_frame_release(&held[j]));
          nheld = 0;
        }
      }
      for (int j = 0; j < nheld; j++)
        CHECK(zb_frame_release(&held[j]));
    }
    CHECK(zb_reader_health(r, &h));
    CHECK(zb_health_read(name, &h));
    listed = 0;
    CHECK(zb_rings_list(count_ring, &listed));
    zb_reader_wake(r);
    {
      zb_frame f;
      EXPECT_RC(zb_reader_next(r, &f, 0), ZB_ECANCELED);
    }
    zb_reader_destroy(r);
  }
  if (count_fds() != fds) {
    fprintf(stderr, "leak_core: %d open fds at start, %d at the end\n", fds, count_fds());
    return 1;
  }
  if (read != written) {
    fprintf(stderr, "leak_core: wrote %lu frames, read %lu\n", written, read);
    return 1;
  }
  printf("leak_core: %lu ring cycles, %lu frames written and read\n", cycle, read);
  return 0;
}

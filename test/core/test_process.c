/* test_process.c — the core with two real processes: long randomised
 * streams over thousands of wraps, frames held and released out of order
 * while the writer runs, reader and writer death, end of stream and writer
 * generations (also a writer after another whose frames are unread), one
 * writer at a time, the duplex pairing of a response
 * ring with its request ring by process, stale rings swept, a live ring
 * refused, handles copied by fork(), and wake calls from another thread.
 *
 * Children are forked and run plain code on the core; they report by their
 * exit status (0 = all good, other values name the failing step) and talk
 * to the parent over two pipes. Every child is reaped; on a failure path it
 * is SIGKILLed first. Children also get PR_SET_PDEATHSIG so that none
 * outlives a crashed parent. Ring names come from the parent (they hold its
 * pid), so the final sweep check finds every object this suite made. */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zb_test.h"
#include "zb_test_hooks.h"

/* ------------------------------------------------------------- utilities */

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(unsigned ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static void copy_name(char *dst, const char *tag) {
  snprintf(dst, 96, "%s", zb_test_name(tag));
}

static int path_exists(const char *fmt, const char *name) {
  char path[512];
  snprintf(path, sizeof path, fmt, name);
  return access(path, F_OK) == 0;
}

/* splitmix64: sizes and contents are functions of (salt, sequence), so both
 * processes know every frame without talking. */
static uint64_t mix(uint64_t x) {
  x += UINT64_C(0x9E3779B97F4A7C15);
  x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
  return x ^ (x >> 31);
}

/* 1..max bytes; one frame in eight is tiny (1..32). */
static uint64_t frame_size(uint64_t salt, uint64_t seq, uint64_t max) {
  uint64_t r = mix(salt * UINT64_C(0x100000001B3) ^ seq);
  if ((r & 7) == 0)
    return 1 + (r >> 16) % (max < 32 ? max : 32);
  return 1 + (r >> 16) % max;
}

static void fill(uint8_t *p, uint64_t size, uint64_t salt, uint64_t seq) {
  uint64_t x = mix(seq * UINT64_C(0x2545F4914F6CDD1D) + salt) | 1, i;
  for (i = 0; i + 8 <= size; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    memcpy(p + i, &x, 8);
  }
  if (i < size) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    memcpy(p + i, &x, (size_t)(size - i));
  }
}

/* The frame is sequence seq, of the size frame_size() gives, with the
 * content fill() gives. scratch holds at least max bytes. */
static int frame_matches(const zb_frame *f, uint64_t salt, uint64_t seq,
                         uint64_t max, uint8_t *scratch) {
  uint64_t size = frame_size(salt, seq, max);
  if (f->sequence != seq || f->size != size) {
    fprintf(stderr, "  frame: sequence %llu size %llu, expected %llu / %llu\n",
            (unsigned long long)f->sequence, (unsigned long long)f->size,
            (unsigned long long)seq, (unsigned long long)size);
    return 0;
  }
  fill(scratch, size, salt, seq);
  if (memcmp(f->data, scratch, (size_t)size) != 0) {
    fprintf(stderr, "  frame %llu (%llu bytes): content differs\n",
            (unsigned long long)seq, (unsigned long long)size);
    return 0;
  }
  return 1;
}

/* Reads frames first..last of a (salt, max) stream and releases each.
 * Returns 1 when all were there and right. */
static int read_stream(zb_reader *r, uint64_t salt, uint64_t first,
                       uint64_t last, uint64_t max, int timeout_ms) {
  uint8_t *scratch = malloc(max);
  uint64_t seq;
  int ok = scratch != NULL;
  zb_frame f;
  for (seq = first; ok && seq <= last; seq++) {
    int rc = zb_reader_next(r, &f, timeout_ms);
    if (rc != 0) {
      fprintf(stderr, "  zb_reader_next for frame %llu (salt %llu): %s (%s)\n",
              (unsigned long long)seq, (unsigned long long)salt,
              zb_err_name(rc), zb_last_error());
      ok = 0;
      break;
    }
    if (!frame_matches(&f, salt, seq, max, scratch))
      ok = 0;
    if (zb_frame_release(&f) != 0)
      ok = 0;
  }
  free(scratch);
  return ok;
}

/* -------------------------------------------------------------- children */

typedef struct child {
  pid_t pid;      /* 0 once reaped */
  int to_child;   /* parent writes */
  int from_child; /* parent reads */
} child;

/* Runs in the child: in = read end from the parent, out = write end to it.
 * The return value is the exit status. */
typedef int (*child_fn)(void *arg, int in, int out);

#define MAX_CHILDREN 16
static child *children[MAX_CHILDREN];

static void register_child(child *c) {
  int i;
  for (i = 0; i < MAX_CHILDREN; i++)
    if (children[i] == NULL) {
      children[i] = c;
      return;
    }
  fprintf(stderr, "too many children\n");
  abort();
}

static void unregister_child(child *c) {
  int i;
  for (i = 0; i < MAX_CHILDREN; i++)
    if (children[i] == c)
      children[i] = NULL;
}

static int spawn(child *c, child_fn fn, void *arg) {
  int down[2], up[2], i;
  pid_t parent = getpid(), pid;

  c->pid = 0;
  c->to_child = c->from_child = -1;
  if (pipe(down) != 0)
    return -1;
  if (pipe(up) != 0) {
    close(down[0]);
    close(down[1]);
    return -1;
  }
  fflush(stdout);
  fflush(stderr);
  pid = fork();
  if (pid < 0) {
    close(down[0]);
    close(down[1]);
    close(up[0]);
    close(up[1]);
    return -1;
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(99);
    close(down[1]);
    close(up[0]);
    for (i = 0; i < MAX_CHILDREN; i++)
      if (children[i] != NULL) {
        close(children[i]->to_child);
        close(children[i]->from_child);
      }
    _exit(fn(arg, down[0], up[1]));
  }
  close(down[0]);
  close(up[1]);
  c->pid = pid;
  c->to_child = down[1];
  c->from_child = up[0];
  register_child(c);
  return 0;
}

static void send_byte(int fd, char b) {
  ssize_t n;
  do
    n = write(fd, &b, 1);
  while (n < 0 && errno == EINTR);
}

/* The next byte from fd, or -1 on timeout or end of file. */
static int wait_byte(int fd, int timeout_ms) {
  struct pollfd p = {fd, POLLIN, 0};
  unsigned char b;
  ssize_t n;
  int rc;
  do
    rc = poll(&p, 1, timeout_ms);
  while (rc < 0 && errno == EINTR);
  if (rc <= 0)
    return -1;
  do
    n = read(fd, &b, 1);
  while (n < 0 && errno == EINTR);
  return n == 1 ? b : -1;
}

static void close_child(child *c) {
  if (c->to_child >= 0)
    close(c->to_child);
  if (c->from_child >= 0)
    close(c->from_child);
  c->to_child = c->from_child = -1;
  c->pid = 0;
  unregister_child(c);
}

/* Waits up to timeout_ms for the child to exit; kills it when it does not.
 * Returns its wait status, or -1 when it had to be killed. */
static int child_end(child *c, int timeout_ms) {
  double deadline = now_ms() + timeout_ms;
  int status = -1;
  pid_t got;
  if (c->pid <= 0)
    return -1;
  for (;;) {
    got = waitpid(c->pid, &status, WNOHANG);
    if (got == c->pid || (got < 0 && errno != EINTR))
      break;
    if (now_ms() >= deadline) {
      fprintf(stderr, "  child %d did not exit within %d ms: killing it\n",
              (int)c->pid, timeout_ms);
      kill(c->pid, SIGKILL);
      while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR) {
      }
      status = -1;
      break;
    }
    sleep_ms(2);
  }
  close_child(c);
  return status;
}

/* SIGKILLs the child and reaps it; returns its wait status. */
static int child_kill(child *c) {
  int status = -1;
  if (c->pid <= 0)
    return -1;
  kill(c->pid, SIGKILL);
  while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR) {
  }
  close_child(c);
  return status;
}

/* Kills whatever a failed test left running. */
static void kill_stray_children(void) {
  int i;
  for (i = 0; i < MAX_CHILDREN; i++)
    if (children[i] != NULL) {
      fprintf(stderr, "  stray child %d: killing it\n", (int)children[i]->pid);
      zb_test_failures++;
      child_kill(children[i]);
    }
}

#define CHECK_EXITED(status, code)                                             \
  do {                                                                         \
    int st_ = (status);                                                        \
    if (!(st_ != -1 && WIFEXITED(st_) && WEXITSTATUS(st_) == (code))) {        \
      zb_test_failures++;                                                      \
      fprintf(stderr, "%s:%d: child status %s %d, expected exit %d\n",        \
              __FILE__, __LINE__,                                              \
              st_ == -1 ? "timeout" : WIFEXITED(st_) ? "exit" : "signal",      \
              st_ == -1 ? 0 : WIFEXITED(st_) ? WEXITSTATUS(st_)              \
                                              : WTERMSIG(st_),                 \
              (code));                                                         \
    }                                                                          \
  } while (0)

#define CHECK_KILLED(status)                                                   \
  do {                                                                         \
    int st_ = (status);                                                        \
    if (!(st_ != -1 && WIFSIGNALED(st_) && WTERMSIG(st_) == SIGKILL)) {        \
      zb_test_failures++;                                                      \
      fprintf(stderr, "%s:%d: child status %s %d, expected signal %d\n",      \
              __FILE__, __LINE__,                                              \
              st_ == -1 ? "timeout" : WIFEXITED(st_) ? "exit" : "signal",      \
              st_ == -1 ? 0 : WIFEXITED(st_) ? WEXITSTATUS(st_)              \
                                              : WTERMSIG(st_),                 \
              SIGKILL);                                                        \
    }                                                                          \
  } while (0)

/* ------------------------------------------------------- child programs */

static void child_report(const char *what, int rc) {
  fprintf(stderr, "  [child %d] %s: %s (%s)\n", (int)getpid(), what,
          zb_err_name(rc), zb_last_error());
}

enum {
  DIE_NONE = 0,       /* detach cleanly */
  DIE_AT_ONCE = 1,    /* SIGKILL itself right after the last frame */
  DIE_ON_BYTE = 2,    /* send 'W', wait for a byte, sleep 200 ms, SIGKILL */
  DETACH_ON_BYTE = 3, /* send 'W', wait for a byte, then detach */
  HOLD_ON_BYTE = 4    /* send 'C' once connected, write, send 'W', wait
                         for a byte (normally killed meanwhile), detach */
};

typedef struct writer_args {
  const char *name;
  uint64_t salt, frames, max_size;
  int end;               /* DIE_* / DETACH_ON_BYTE / HOLD_ON_BYTE */
  int mix_reserve;       /* alternate write and reserve/commit */
  const char *metadata;  /* set when not NULL */
} writer_args;

/* Connects, writes frames 1..frames of the (salt, max_size) stream and
 * ends as args->end says. Exit 0 when all went well. */
static int writer_child(void *argp, int in, int out) {
  writer_args *a = argp;
  uint8_t *buf = malloc(a->max_size);
  zb_writer *w;
  uint64_t seq;
  int rc;

  if (buf == NULL)
    return 2;
  if ((rc = zb_writer_connect(&w, a->name)) != 0) {
    child_report("connect", rc);
    return 3;
  }
  if (a->end == HOLD_ON_BYTE)
    send_byte(out, 'C');
  if (a->metadata != NULL &&
      (rc = zb_writer_set_metadata(w, a->metadata, strlen(a->metadata))) != 0) {
    child_report("set_metadata", rc);
    return 4;
  }
  for (seq = 1; seq <= a->frames; seq++) {
    uint64_t size = frame_size(a->salt, seq, a->max_size);
    uint64_t r = mix(seq ^ UINT64_C(0x5EED));
    if (a->mix_reserve && (seq & 1) == 0) {
      /* One reservation in three is larger than what gets committed. */
      uint64_t extra = r % 3 == 0 ? 1 + (r >> 8) % 200 : 0;
      zb_reservation slot;
      if ((rc = zb_writer_reserve(w, size + extra, &slot, 10000)) != 0) {
        child_report("reserve", rc);
        return 5;
      }
      fill(slot.data, size, a->salt, seq);
      memset(slot.data + size, 0xEE, (size_t)extra);
      if ((rc = zb_reservation_commit(&slot, size)) != 0) {
        child_report("commit", rc);
        return 6;
      }
    } else {
      fill(buf, size, a->salt, seq);
      if ((rc = zb_writer_write(w, buf, size, 10000)) != 0) {
        child_report("write", rc);
        return 7;
      }
    }
  }
  free(buf);
  switch (a->end) {
  case DIE_AT_ONCE:
    raise(SIGKILL);
    return 90;
  case DIE_ON_BYTE:
    send_byte(out, 'W');
    if (wait_byte(in, 30000) < 0)
      return 8;
    sleep_ms(200);
    raise(SIGKILL);
    return 90;
  case DETACH_ON_BYTE:
  case HOLD_ON_BYTE:
    send_byte(out, 'W');
    if (wait_byte(in, 30000) < 0)
      return 8;
    break;
  default:
    break;
  }
  zb_writer_destroy(w);
  return 0;
}

/* A second writer: must be refused with ZB_EBUSY. */
static int busy_writer_child(void *argp, int in, int out) {
  const char *name = argp;
  zb_writer *w;
  int rc = zb_writer_connect(&w, name);
  if (rc == ZB_EBUSY && strstr(zb_last_error(), "live writer") != NULL)
    return 0;
  child_report("second writer connect", rc);
  if (rc == 0)
    zb_writer_destroy(w);
  return 1;
}

typedef struct reader_args {
  const char *name;
  uint64_t payload_size;
  uint64_t salt, frames, max_size; /* frames to read on 'F' */
  unsigned close_delay_ms;         /* on 'C': sleep, then close */
} reader_args;

/* Creates the ring, sends 'R', then obeys bytes from the parent:
 * 'F' read frames 1..frames and send 'F' back; 'C' sleep close_delay_ms
 * and close; 'Q' (or end of file) close. Usually killed instead. */
static int reader_child(void *argp, int in, int out) {
  reader_args *a = argp;
  zb_reader *r;
  int rc, cmd;
  if ((rc = zb_reader_create(&r, a->name, 256, a->payload_size, NULL)) != 0) {
    child_report("reader create", rc);
    return 2;
  }
  send_byte(out, 'R');
  for (;;) {
    cmd = wait_byte(in, 60000);
    if (cmd == 'F') {
      if (!read_stream(r, a->salt, 1, a->frames, a->max_size, 5000))
        return 3;
      send_byte(out, 'F');
      continue;
    }
    if (cmd == 'C')
      sleep_ms(a->close_delay_ms);
    break;
  }
  zb_reader_destroy(r);
  return 0;
}

/* Sleeps, then SIGKILLs a sibling. */
typedef struct killer_args {
  pid_t victim;
  unsigned delay_ms;
} killer_args;

static int killer_child(void *argp, int in, int out) {
  killer_args *a = argp;
  sleep_ms(a->delay_ms);
  return kill(a->victim, SIGKILL) == 0 ? 0 : 1;
}

/* ------------------------------------------------------------------ tests */

/* 1. A long stream of random sizes (1 byte .. ring/3) over thousands of
 * wraps, half written by copy and half by reserve/commit (sometimes
 * committing less than reserved), every byte checked. */
static void test_random_stream(void) {
  enum { RING = 64 * 1024, FRAMES = 16000 };
  const uint64_t max = RING / 3, salt = 1;
  char name[96];
  writer_args wa;
  child c = {0, -1, -1};
  zb_reader *r = NULL;
  zb_health h;
  zb_frame f;
  uint8_t *scratch = malloc(max);
  const uint8_t *prev = NULL;
  uint64_t seq, wraps = 0;
  int ok = 1, rc;

  copy_name(name, "stream");
  CHECK_RC(zb_reader_create(&r, name, 256, RING, NULL), 0);
  if (r == NULL || scratch == NULL)
    goto out;
  wa = (writer_args){name, salt, FRAMES, max, DIE_NONE, 1, NULL};
  CHECK(spawn(&c, writer_child, &wa) == 0);
  for (seq = 1; ok && seq <= FRAMES; seq++) {
    rc = zb_reader_next(r, &f, 10000);
    if (rc != 0) {
      CHECK_RC(rc, 0);
      fprintf(stderr, "  at frame %llu\n", (unsigned long long)seq);
      ok = 0;
      break;
    }
    if (!frame_matches(&f, salt, seq, max, scratch)) {
      CHECK(!"frame content");
      ok = 0;
    }
    if (prev != NULL && f.data < prev)
      wraps++;
    prev = f.data;
    CHECK_RC(zb_frame_release(&f), 0);
  }
  if (ok) {
    CHECK_RC(zb_reader_next(r, &f, 10000), ZB_EOF);
    CHECK_EXITED(child_end(&c, 10000), 0);
    CHECK_RC(zb_reader_health(r, &h), 0);
    /* Markers count in written_count, so it is ahead of the frames. */
    CHECK(h.written_count > FRAMES);
    CHECK_EQ_U64(h.read_count, h.written_count);
    CHECK(h.written_count - FRAMES <= wraps);
    CHECK_EQ_U64(h.payload_free_bytes, h.payload_size);
    CHECK_EQ_U64(h.writer_pid, 0);
    CHECK(wraps > 2000);
    CHECK_RC(zb_health_read(name, &h), 0);
    CHECK(h.written_count > FRAMES);
    fprintf(stderr, "  %d frames, %llu wraps, %llu markers\n", FRAMES,
            (unsigned long long)wraps,
            (unsigned long long)(h.written_count - FRAMES));
  }
out:
  if (c.pid > 0)
    child_kill(&c);
  free(scratch);
  zb_reader_destroy(r);
  CHECK(zb_test_ring_gone(name));
  zb_test_remove_ring(name);
}

/* 2. The reader holds up to K frames and releases them in a shuffled order
 * while the writer keeps writing; each frame is checked right before its
 * release, so a writer that overwrote a held frame is caught. */
static void test_hold_out_of_order(void) {
  enum { RING = 64 * 1024, FRAMES = 6000, K = 4 };
  const uint64_t max = RING / (2 * K), salt = 2;
  char name[96];
  writer_args wa;
  child c = {0, -1, -1};
  zb_reader *r = NULL;
  zb_frame held[K];
  zb_health h;
  uint8_t *scratch = malloc(max);
  uint64_t seq = 1, rng = 12345, out_of_order = 0;
  int ok = 1, rc, n, i, order[K];

  copy_name(name, "hold");
  CHECK_RC(zb_reader_create(&r, name, 256, RING, NULL), 0);
  if (r == NULL || scratch == NULL)
    goto out;
  wa = (writer_args){name, salt, FRAMES, max, DIE_NONE, 1, NULL};
  CHECK(spawn(&c, writer_child, &wa) == 0);
  while (ok && seq <= FRAMES) {
    rng = mix(rng);
    n = 1 + (int)(rng % K);
    for (i = 0; i < n && seq <= FRAMES; i++, seq++) {
      rc = zb_reader_next(r, &held[i], 10000);
      if (rc != 0) {
        CHECK_RC(rc, 0);
        ok = 0;
        break;
      }
      if (!frame_matches(&held[i], salt, seq, max, scratch)) {
        CHECK(!"frame content on arrival");
        ok = 0;
      }
      order[i] = i;
    }
    n = i;
    for (i = n - 1; i > 0; i--) { /* Fisher-Yates */
      int j, t;
      rng = mix(rng);
      j = (int)(rng % (uint64_t)(i + 1));
      t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    for (i = 0; i < n; i++) {
      int k = order[i], earlier_held = 0, m;
      if (!frame_matches(&held[k], salt, held[k].sequence, max, scratch)) {
        CHECK(!"held frame was overwritten before its release");
        ok = 0;
      }
      CHECK_RC(zb_frame_release(&held[k]), 0);
      for (m = i + 1; m < n; m++)
        if (order[m] < k)
          earlier_held = 1;
      if (earlier_held) { /* released before a predecessor: let the writer run */
        out_of_order++;
        sched_yield();
      }
    }
  }
  if (ok) {
    CHECK_RC(zb_reader_next(r, &held[0], 10000), ZB_EOF);
    CHECK_EXITED(child_end(&c, 10000), 0);
    CHECK_RC(zb_reader_health(r, &h), 0);
    CHECK_EQ_U64(h.payload_free_bytes, h.payload_size);
    CHECK_EQ_U64(h.read_count, h.written_count);
    CHECK(out_of_order > FRAMES / 8);
  }
out:
  if (c.pid > 0)
    child_kill(&c);
  free(scratch);
  zb_reader_destroy(r);
  CHECK(zb_test_ring_gone(name));
  zb_test_remove_ring(name);
}

/* Fills the ring with 1000-byte frames until it is full. */
static int fill_ring(zb_writer *w) {
  static uint8_t buf[1000];
  int n = 0, rc;
  while ((rc = zb_writer_write(w, buf, sizeof buf, 0)) == 0)
    n++;
  CHECK_RC(rc, ZB_EAGAIN);
  return n;
}

/* Stops the child for ms (SIGSTOP, as Ctrl-Z stops a job), then continues
 * it (SIGCONT). */
static void stop_child_for(child *c, unsigned ms) {
  CHECK(kill(c->pid, SIGSTOP) == 0);
  usleep(ms * 1000);
  CHECK(kill(c->pid, SIGCONT) == 0);
}

typedef struct stopped_writer_args {
  const char *name;
} stopped_writer_args;

/* Fills the ring, says 'F', then writes one more frame with a 1000 ms
 * timeout: exit 0 when it went out, 1 when it failed. */
static int stopped_writer_child(void *argp, int in, int out) {
  stopped_writer_args *a = argp;
  static uint8_t buf[1000];
  zb_writer *w = NULL;
  int rc;
  (void)in;
  if (zb_writer_connect(&w, a->name) != 0)
    return 2;
  while ((rc = zb_writer_write(w, buf, sizeof buf, 0)) == 0)
    ;
  if (rc != ZB_EAGAIN)
    return 3;
  send_byte(out, 'F');
  rc = zb_writer_write(w, buf, sizeof buf, 1000);
  if (rc != 0)
    fprintf(stderr, "  the stopped writer: %s\n", zb_last_error());
  zb_writer_destroy(w);
  return rc == 0 ? 0 : 1;
}

/* A writer stopped (SIGSTOP: Ctrl-Z stops zerobuffer's whole job) for 2 s
 * while it waits 1 s on a full ring: the time stopped does not count, so
 * a frame its reader releases 0.3 s after SIGCONT makes room in time. It
 * failed at SIGCONT before (ETIMEDOUT: "stayed full for 1000 ms"). */
static void test_stopped_writer(void) {
  char name[96];
  stopped_writer_args a;
  child wc = {0, -1, -1};
  zb_reader *r = NULL;
  zb_frame f;

  copy_name(name, "stopped");
  CHECK_RC(zb_reader_create(&r, name, 256, 16 * 1024, NULL), 0);
  if (r == NULL)
    return;
  a = (stopped_writer_args){name};
  CHECK(spawn(&wc, stopped_writer_child, &a) == 0);
  CHECK(wait_byte(wc.from_child, 5000) == 'F');
  usleep(200 * 1000); /* in its wait */
  stop_child_for(&wc, 2000);
  usleep(300 * 1000);
  CHECK_RC(zb_reader_next(r, &f, 1000), 0);
  CHECK_RC(zb_frame_release(&f), 0);
  CHECK_EXITED(child_end(&wc, 5000), 0);
  if (wc.pid > 0)
    child_kill(&wc);
  zb_reader_destroy(r);
  CHECK(zb_test_ring_gone(name));
}

/* Creates the ring, says 'R', then waits 1000 ms for a frame: exit 0 when
 * one came, 1 when the wait failed. */
static int stopped_reader_child(void *argp, int in, int out) {
  const char *name = argp;
  zb_reader *r = NULL;
  zb_frame f;
  int rc;
  (void)in;
  if (zb_reader_create(&r, name, 256, 16 * 1024, NULL) != 0)
    return 2;
  send_byte(out, 'R');
  rc = zb_reader_next(r, &f, 1000);
  if (rc == 0)
    zb_frame_release(&f);
  else
    fprintf(stderr, "  the stopped reader: %s\n", zb_last_error());
  zb_reader_destroy(r);
  return rc == 0 ? 0 : 1;
}

/* The reader's side of test_stopped_writer: a reader stopped for 2 s while
 * it waits 1 s for a frame gets one written 0.3 s after SIGCONT. It failed
 * at SIGCONT before (ETIMEDOUT: "no frame within 1000 ms"). */
static void test_stopped_reader(void) {
  char name[96];
  child rc_child = {0, -1, -1};
  zb_writer *w = NULL;
  uint8_t buf[100] = {0};

  copy_name(name, "stoppedr");
  CHECK(spawn(&rc_child, stopped_reader_child, name) == 0);
  CHECK(wait_byte(rc_child.from_child, 5000) == 'R');
  CHECK_RC(zb_writer_connect(&w, name), 0);
  usleep(200 * 1000); /* in its wait */
  stop_child_for(&rc_child, 2000);
  usleep(300 * 1000);
  if (w != NULL)
    CHECK_RC(zb_writer_write(w, buf, sizeof buf, 1000), 0);
  CHECK_EXITED(child_end(&rc_child, 5000), 0);
  if (rc_child.pid > 0)
    child_kill(&rc_child);
  zb_writer_destroy(w);
  CHECK(zb_test_ring_gone(name));
}

/* Deadlines of 3 s: A asks for one look in 10 s (a long wait, cut short
 * here), B looks every 50 ms, each time right after a fresh deadline C
 * looked (after SIGCONT, C's look comes first and finds nothing), and P
 * is paused all along. Says 'S', then B looks for 3.5 s; exit 0 when A
 * still has over a second left (the stop B found counts for A too), and P,
 * skipping its whole pause, all but its 3 s (the stop in the pause is not
 * taken off it twice). */
static int shared_stop_child(void *argp, int in, int out) {
  zb_deadline a, b, c, p;
  uint64_t until, started = zb_now_ns();
  int left, paused_left;
  (void)argp;
  (void)in;
  zb_deadline_start(&a, 3000);
  zb_deadline_start(&b, 3000);
  zb_deadline_start(&p, 3000);
  if (zb_deadline_wait_ms(&a, 10000) != 3000)
    return 2;
  send_byte(out, 'S');
  until = zb_now_ns() + UINT64_C(3500000000);
  while (zb_now_ns() < until) {
    zb_deadline_start(&c, 100);
    zb_deadline_wait_ms(&c, 50);
    zb_deadline_wait_ms(&b, 50);
    sleep_ms(50);
  }
  left = zb_deadline_wait_ms(&a, 10000);
  zb_deadline_skip(&p, zb_now_ns() - started);
  paused_left = zb_deadline_wait_ms(&p, 10000);
  if (left <= 1000 || paused_left < 2900)
    fprintf(stderr, "  A had %d ms left, P %d\n", left, paused_left);
  return left > 1000 && paused_left >= 2900 ? 0 : 1;
}

/* A process stopped for 2.5 s: a deadline whose own look came too late to
 * tell (it had asked for a long wait) gets the stop another deadline of
 * the process found, though a fresh deadline looked first after SIGCONT;
 * a pause that held the stop is not shortened by it. */
static void test_deadline_shared_stop(void) {
  child c = {0, -1, -1};
  CHECK(spawn(&c, shared_stop_child, NULL) == 0);
  CHECK(wait_byte(c.from_child, 5000) == 'S');
  usleep(200 * 1000);
  stop_child_for(&c, 2500);
  CHECK_EXITED(child_end(&c, 10000), 0);
  if (c.pid > 0)
    child_kill(&c);
}

/* 3. The reader dies (SIGKILL) while the writer waits on a full ring: the
 * writer gets ZB_EREADERGONE long before its timeout. Then the same for a
 * reader that closes cleanly, and for a reader killed between a reserve
 * and its commit. */
static void test_reader_death(void) {
  char name[96];
  reader_args ra;
  killer_args ka;
  child rc_child = {0, -1, -1}, killer = {0, -1, -1};
  zb_writer *w = NULL;
  uint8_t frame[1000] = {0};
  zb_reservation slot;
  double t0, elapsed;
  int i;

  /* a) killed while the writer is blocked */
  copy_name(name, "rdeath");
  ra = (reader_args){name, 16 * 1024, 0, 0, 1, 0};
  CHECK(spawn(&rc_child, reader_child, &ra) == 0);
  CHECK(wait_byte(rc_child.from_child, 5000) == 'R');
  CHECK_RC(zb_writer_connect(&w, name), 0);
  if (w != NULL) {
    CHECK(fill_ring(w) > 0);
    ka = (killer_args){rc_child.pid, 300};
    CHECK(spawn(&killer, killer_child, &ka) == 0);
    t0 = now_ms();
    CHECK_RC(zb_writer_write(w, frame, sizeof frame, 2000), ZB_EREADERGONE);
    elapsed = now_ms() - t0;
    CHECK_MSG("gone");
    CHECK(elapsed < 2000);
    CHECK(elapsed < 1500); /* killed at ~300 ms, noticed within a slice */
    fprintf(stderr, "  blocked write noticed the killed reader after %.0f ms\n",
            elapsed);
    CHECK_EXITED(child_end(&killer, 5000), 0);
    CHECK_KILLED(child_end(&rc_child, 5000));
    /* Reaped now: a new reservation fails at once. */
    t0 = now_ms();
    CHECK_RC(zb_writer_reserve(w, 100, &slot, 2000), ZB_EREADERGONE);
    CHECK_MSG("gone");
    CHECK(now_ms() - t0 < 500);
    zb_writer_destroy(w);
    w = NULL;
    /* A new writer is refused too. */
    CHECK_RC(zb_writer_connect(&w, name), ZB_EREADERGONE);
    CHECK(w == NULL);
  }
  if (killer.pid > 0)
    child_kill(&killer);
  if (rc_child.pid > 0)
    child_kill(&rc_child);
  zb_writer_destroy(w);
  w = NULL;
  zb_test_remove_ring(name);
  CHECK(zb_test_ring_gone(name));

  /* b) closes cleanly 300 ms after being told to, while the writer waits */
  copy_name(name, "rclose");
  ra = (reader_args){name, 16 * 1024, 0, 0, 1, 300};
  CHECK(spawn(&rc_child, reader_child, &ra) == 0);
  CHECK(wait_byte(rc_child.from_child, 5000) == 'R');
  CHECK_RC(zb_writer_connect(&w, name), 0);
  if (w != NULL) {
    CHECK(fill_ring(w) > 0);
    send_byte(rc_child.to_child, 'C');
    t0 = now_ms();
    CHECK_RC(zb_writer_reserve(w, sizeof frame, &slot, 2000), ZB_EREADERGONE);
    elapsed = now_ms() - t0;
    CHECK_MSG("gone");
    CHECK(elapsed < 1500);
    fprintf(stderr, "  blocked reserve noticed the closed reader after %.0f ms\n",
            elapsed);
    CHECK_EXITED(child_end(&rc_child, 5000), 0);
    zb_writer_destroy(w);
    w = NULL;
  }
  if (rc_child.pid > 0)
    child_kill(&rc_child);
  zb_writer_destroy(w);
  w = NULL;
  CHECK(zb_test_ring_gone(name));
  zb_test_remove_ring(name);

  /* c) killed while a reservation is open (zerosink's pool reserves the
   * next frame ahead): its commit fails, nothing is published. The death
   * is seen by the probe the reserve makes once per slice, so the commit
   * comes a slice later. */
  copy_name(name, "rcommit");
  ra = (reader_args){name, 16 * 1024, 0, 0, 1, 0};
  CHECK(spawn(&rc_child, reader_child, &ra) == 0);
  CHECK(wait_byte(rc_child.from_child, 5000) == 'R');
  CHECK_RC(zb_writer_connect(&w, name), 0);
  if (w != NULL) {
    zb_health h;
    CHECK_RC(zb_writer_reserve(w, sizeof frame, &slot, 0), 0);
    CHECK_KILLED(child_kill(&rc_child));
    sleep_ms(120); /* past the 50 ms slice */
    CHECK_RC(zb_reservation_commit(&slot, sizeof frame), ZB_EREADERGONE);
    CHECK_MSG("died");
    CHECK(slot.writer == NULL);
    CHECK_EQ_U64(zb_writer_open_reservations(w), 0);
    /* Found dead, it stays dead: the writes right after (the ring has
     * room, and the next probe is a slice away) are refused too. */
    for (i = 0; i < 20; i++) {
      CHECK_RC(zb_writer_write(w, frame, sizeof frame, 0), ZB_EREADERGONE);
      CHECK_MSG("died");
    }
    CHECK_RC(zb_writer_health(w, &h), 0);
    CHECK_EQ_U64(h.written_count, 0);
    zb_writer_destroy(w);
    w = NULL;
  }
  if (rc_child.pid > 0)
    child_kill(&rc_child);
  zb_writer_destroy(w);
  zb_test_remove_ring(name);
  CHECK(zb_test_ring_gone(name));
}

/* 4. The writer dies without detaching: the reader gets every committed
 * frame, then ZB_EWRITERDEAD (once), then timeouts; a new writer can take
 * over and its stream starts at 1. */
static void test_writer_death(void) {
  enum { FRAMES = 40 };
  const uint64_t max = 1000;
  char name[96];
  writer_args wa;
  child c = {0, -1, -1};
  zb_reader *r = NULL;
  zb_writer *w = NULL;
  zb_health h;
  zb_frame f;
  uint8_t buf[64];
  double t0, elapsed;
  pid_t dead;

  /* a) dead (and reaped) before the reader looks */
  copy_name(name, "wdeath");
  CHECK_RC(zb_reader_create(&r, name, 256, 64 * 1024, NULL), 0);
  if (r != NULL) {
    wa = (writer_args){name, 4, FRAMES, max, DIE_AT_ONCE, 1, NULL};
    CHECK(spawn(&c, writer_child, &wa) == 0);
    dead = c.pid;
    CHECK_KILLED(child_end(&c, 10000));
    CHECK_RC(zb_reader_health(r, &h), 0);
    CHECK_EQ_U64(h.writer_pid, (uint64_t)dead);
    CHECK(!h.writer_alive);
    CHECK(read_stream(r, 4, 1, FRAMES, max, 2000));
    t0 = now_ms();
    CHECK_RC(zb_reader_next(r, &f, 2000), ZB_EWRITERDEAD);
    CHECK_MSG("died");
    CHECK(now_ms() - t0 < 2000);
    CHECK_RC(zb_reader_next(r, &f, 200), ZB_ETIMEDOUT);
    CHECK_RC(zb_reader_next(r, &f, 0), ZB_EAGAIN);
    /* The dead writer's slot is free: a new writer starts again at 1. */
    CHECK_RC(zb_writer_connect(&w, name), 0);
    if (w != NULL) {
      memset(buf, 7, sizeof buf);
      CHECK_RC(zb_writer_write(w, buf, sizeof buf, 1000), 0);
      CHECK_RC(zb_reader_next(r, &f, 1000), 0);
      CHECK_EQ_U64(f.sequence, 1);
      CHECK_EQ_U64(f.size, sizeof buf);
      CHECK(f.size == sizeof buf && memcmp(f.data, buf, sizeof buf) == 0);
      CHECK_RC(zb_frame_release(&f), 0);
      zb_writer_destroy(w);
      w = NULL;
      CHECK_RC(zb_reader_next(r, &f, 1000), ZB_EOF);
    }
  }
  if (c.pid > 0)
    child_kill(&c);
  zb_writer_destroy(w);
  w = NULL;
  zb_reader_destroy(r);
  r = NULL;
  CHECK(zb_test_ring_gone(name));
  zb_test_remove_ring(name);

  /* b) dies (unreaped: a zombie) while the reader is blocked waiting */
  copy_name(name, "wdeath2");
  CHECK_RC(zb_reader_create(&r, name, 256, 64 * 1024, NULL), 0);
  if (r != NULL) {
    wa = (writer_args){name, 5, FRAMES, max, DIE_ON_BYTE, 1, NULL};
    CHECK(spawn(&c, writer_child, &wa) == 0);
    CHECK(wait_byte(c.from_child, 10000) == 'W');
    CHECK(read_stream(r, 5, 1, FRAMES, max, 2000));
    send_byte(c.to_child, 'K'); /* dies ~200 ms from now */
    t0 = now_ms();
    CHECK_RC(zb_reader_next(r, &f, 3000), ZB_EWRITERDEAD);
    elapsed = now_ms() - t0;
    CHECK_MSG("died");
    CHECK(elapsed < 3000);
    CHECK(elapsed < 2000);
    fprintf(stderr, "  blocked reader noticed the dead writer after %.0f ms\n",
            elapsed);
    CHECK_RC(zb_reader_next(r, &f, 200), ZB_ETIMEDOUT);
    CHECK_KILLED(child_end(&c, 5000));
    CHECK_RC(zb_reader_next(r, &f, 100), ZB_ETIMEDOUT);
  }
  if (c.pid > 0)
    child_kill(&c);
  zb_reader_destroy(r);
  CHECK(zb_test_ring_gone(name));
  zb_test_remove_ring(name);
}

static const char *const META = "{\"caps\":\"video/x-raw\",\"zb\":1}";

/* 5. End of stream and new writers: three writer generations in a row,
 * each ending in ZB_EOF; then writers that reconnect before the reader saw
 * the end of the previous stream. */
static void test_writer_generations(void) {
  enum { FRAMES = 300, SLOW = 20 };
  const uint64_t max = 3000, small = 400;
  char name[96];
  writer_args wa;
  child c = {0, -1, -1}, c2 = {0, -1, -1};
  zb_reader *r = NULL;
  zb_health h;
  zb_frame f;
  const uint8_t *meta;
  uint64_t meta_size, gen;
  int ok;

  /* a) three generations, the reader draining each one */
  copy_name(name, "gen");
  CHECK_RC(zb_reader_create(&r, name, 256, 16 * 1024, NULL), 0);
  for (gen = 1; r != NULL && gen <= 3; gen++) {
    wa = (writer_args){name, 10 + gen, FRAMES, max, DIE_NONE, 1, META};
    CHECK(spawn(&c, writer_child, &wa) == 0);
    ok = read_stream(r, 10 + gen, 1, FRAMES, max, 5000);
    CHECK(ok);
    if (!ok) {
      fprintf(stderr, "  generation %llu\n", (unsigned long long)gen);
      break;
    }
    CHECK_RC(zb_reader_next(r, &f, 5000), ZB_EOF);
    CHECK_EXITED(child_end(&c, 5000), 0);
    CHECK_RC(zb_reader_health(r, &h), 0);
    CHECK_EQ_U64(h.writer_pid, 0);
    CHECK_EQ_U64(h.payload_free_bytes, h.payload_size);
  }
  if (r != NULL) {
    CHECK_RC(zb_reader_metadata(r, &meta, &meta_size), 0);
    CHECK(meta_size == strlen(META) && memcmp(meta, META, meta_size) == 0);
    /* After the last end of stream the reader waits for a new writer. */
    CHECK_RC(zb_reader_next(r, &f, 100), ZB_ETIMEDOUT);
  }
  if (c.pid > 0)
    child_kill(&c);
  zb_reader_destroy(r);
  r = NULL;
  CHECK(zb_test_ring_gone(name));
  zb_test_remove_ring(name);

  /* b) the reader is in the middle of generation 1 when it detaches and
   * generation 2 writes: the reader never sees an end in between. */
  copy_name(name, "genslow");
  CHECK_RC(zb_reader_create(&r, name, 256, 64 * 1024, NULL), 0);
  if (r != NULL) {
    wa = (writer_args){name, 21, SLOW, small, DETACH_ON_BYTE, 1, META};
    CHECK(spawn(&c, writer_child, &wa) == 0);
    CHECK(wait_byte(c.from_child, 5000) == 'W');
    CHECK(read_stream(r, 21, 1, 5, small, 2000));
    send_byte(c.to_child, 'D');
    CHECK_EXITED(child_end(&c, 5000), 0);
    wa = (writer_args){name, 22, SLOW, small, DIE_NONE, 1, META};
    CHECK(spawn(&c, writer_child, &wa) == 0);
    CHECK_EXITED(child_end(&c, 5000), 0);
    CHECK(read_stream(r, 21, 6, SLOW, small, 2000));
    CHECK(read_stream(r, 22, 1, SLOW, small, 2000));
    CHECK_RC(zb_reader_next(r, &f, 2000), ZB_EOF);
  }
  if (c.pid > 0)
    child_kill(&c);
  zb_reader_destroy(r);
  r = NULL;
  CHECK(zb_test_ring_gone(name));
  zb_test_remove_ring(name);

  /* c) the reader has read nothing yet: generation 1 writes and detaches,
   * generation 2 connects and writes (and stays connected) before the
   * reader's first call. */
  copy_name(name, "genslow2");
  CHECK_RC(zb_reader_create(&r, name, 256, 64 * 1024, NULL), 0);
  if (r != NULL) {
    wa = (writer_args){name, 31, SLOW, small, DIE_NONE, 1, META};
    CHECK(spawn(&c, writer_child, &wa) == 0);
    CHECK_EXITED(child_end(&c, 5000), 0);
    wa = (writer_args){name, 32, SLOW, small, DETACH_ON_BYTE, 1, META};
    CHECK(spawn(&c2, writer_child, &wa) == 0);
    CHECK(wait_byte(c2.from_child, 5000) == 'W');
    /* docs/PROTOCOL.md §4: our reader accepts a new writer; zerobuffer.h:
     * sequences run 1, 2, 3 ... per writer connection. */
    ok = read_stream(r, 31, 1, SLOW, small, 2000) &&
         read_stream(r, 32, 1, SLOW, small, 2000);
    CHECK(ok && "generation 2 accepted after a quick reconnect (writer 2 "
                "still connected)");
    send_byte(c2.to_child, 'D');
    CHECK_EXITED(child_end(&c2, 5000), 0);
    if (ok)
      CHECK_RC(zb_reader_next(r, &f, 2000), ZB_EOF);
  }
  if (c.pid > 0)
    child_kill(&c);
  if (c2.pid > 0)
    child_kill(&c2);
  zb_reader_destroy(r);
  r = NULL;
  CHECK(zb_test_ring_gone(name));
  zb_test_remove_ring(name);

  /* d) as c), but both generations detached before the reader's first
   * call. */
  copy_name(name, "genslow3");
  CHECK_RC(zb_reader_create(&r, name, 256, 64 * 1024, NULL), 0);
  if (r != NULL) {
    wa = (writer_args){name, 41, SLOW, small, DIE_NONE, 1, META};
    CHECK(spawn(&c, writer_child, &wa) == 0);
    CHECK_EXITED(child_end(&c, 5000), 0);
    wa = (writer_args){name, 42, SLOW, small, DIE_NONE, 1, META};
    CHECK(spawn(&c, writer_child, &wa) == 0);
    CHECK_EXITED(child_end(&c, 5000), 0);
    ok = read_stream(r, 41, 1, SLOW, small, 2000) &&
         read_stream(r, 42, 1, SLOW, small, 2000);
    CHECK(ok && "generation 2 accepted after a quick reconnect (both "
                "writers detached)");
    if (ok)
      CHECK_RC(zb_reader_next(r, &f, 2000), ZB_EOF);
  }
  if (c.pid > 0)
    child_kill(&c);
  zb_reader_destroy(r);
  CHECK(zb_test_ring_gone(name));
  zb_test_remove_ring(name);
}

/* 6b. A writer after another, while the first one's frames are unread:
 * writer A writes its frames and detaches; writer B connects (the reader
 * has read nothing yet, so the first pid it sees is B's) and writes into
 * the room the reader gives back. The reader gets A's frames 1..N, then
 * B's 1..M, then ZB_EOF: no end in between (it looked only once B was
 * there) and nothing else. With equal frames that tile the ring, B's frames
 * come round to where A's end: a full lap starting at B's frame 1, which
 * the reader refused as stale bytes (ZB_ESEQUENCE, "stale bytes, not a
 * lap"): A's frame 1, taken after B's pid was seen, had used the change up. */
typedef struct handover_writer {
  const char *name;
  uint64_t salt, frames;
  uint64_t size;     /* every frame's size; 0: frame_size(salt, seq, max) */
  uint64_t max_size; /* the largest frame */
} handover_writer;

static uint64_t handover_size(const handover_writer *hw, uint64_t seq) {
  return hw->size != 0 ? hw->size : frame_size(hw->salt, seq, hw->max_size);
}

/* Connects, sends 'C', waits for a byte, writes its frames, detaches. */
static int handover_writer_child(void *argp, int in, int out) {
  const handover_writer *hw = argp;
  uint8_t *buf = malloc(hw->max_size);
  zb_writer *w = NULL;
  uint64_t seq;
  int rc;
  if (buf == NULL)
    return 2;
  if ((rc = zb_writer_connect(&w, hw->name)) != 0) {
    child_report("connect", rc);
    return 3;
  }
  send_byte(out, 'C');
  if (wait_byte(in, 30000) < 0)
    return 4;
  for (seq = 1; seq <= hw->frames; seq++) {
    uint64_t size = handover_size(hw, seq);
    fill(buf, size, hw->salt, seq);
    if ((rc = zb_writer_write(w, buf, size, 10000)) != 0) {
      child_report("write", rc);
      return 5;
    }
  }
  free(buf);
  zb_writer_destroy(w);
  return 0;
}

/* Reads the writer's frames 1..frames, each checked by size, sequence and
 * bytes, and releases each. 1 when all were right. */
static int read_handover(zb_reader *r, const handover_writer *hw,
                         uint8_t *scratch) {
  uint64_t seq;
  zb_frame f;
  for (seq = 1; seq <= hw->frames; seq++) {
    uint64_t size = handover_size(hw, seq);
    int rc = zb_reader_next(r, &f, 5000), ok;
    if (rc != 0) {
      fprintf(stderr, "  frame %llu of writer %llu: %s (%s)\n",
              (unsigned long long)seq, (unsigned long long)hw->salt,
              zb_err_name(rc), zb_last_error());
      return 0;
    }
    fill(scratch, size, hw->salt, seq);
    ok = f.sequence == seq && f.size == size &&
         memcmp(f.data, scratch, (size_t)size) == 0;
    if (!ok)
      fprintf(stderr, "  frame %llu of writer %llu: got sequence %llu, %llu "
              "bytes (expected %llu)\n", (unsigned long long)seq,
              (unsigned long long)hw->salt, (unsigned long long)f.sequence,
              (unsigned long long)f.size, (unsigned long long)size);
    if (zb_frame_release(&f) != 0 || !ok)
      return 0;
  }
  return 1;
}

typedef struct handover_case {
  const char *what;
  uint64_t ring;
  uint64_t size_a, frames_a;
  uint64_t size_b, frames_b; /* size_b 0: sizes of 1..max_b bytes */
  uint64_t max_b;
  unsigned rounds;
} handover_case;

/* One round: the reader starts reading delay_ms after B was let write
 * (0: at once, concurrently with B's writes). 1 when all was right. */
static int handover_round(const handover_case *hc, unsigned round,
                          unsigned delay_ms, uint8_t *scratch) {
  char name[96];
  zb_reader *r = NULL;
  child a = {0, -1, -1}, b = {0, -1, -1};
  handover_writer wa, wb;
  zb_frame f;
  int ok = 0, rc;
  copy_name(name, "handover");
  wa = (handover_writer){name, 2 * round + 1, hc->frames_a, hc->size_a,
                         hc->size_a};
  wb = (handover_writer){name, 2 * round + 2, hc->frames_b, hc->size_b,
                         hc->size_b != 0 ? hc->size_b : hc->max_b};
  if (zb_reader_create(&r, name, 256, hc->ring, NULL) != 0 ||
      spawn(&a, handover_writer_child, &wa) != 0)
    goto out;
  if (wait_byte(a.from_child, 5000) != 'C')
    goto out;
  send_byte(a.to_child, 'G');
  if (child_end(&a, 10000) != 0 || spawn(&b, handover_writer_child, &wb) != 0)
    goto out;
  if (wait_byte(b.from_child, 5000) != 'C')
    goto out;
  send_byte(b.to_child, 'G');
  if (delay_ms > 0)
    sleep_ms(delay_ms);
  if (!read_handover(r, &wa, scratch) || !read_handover(r, &wb, scratch))
    goto out;
  if ((rc = zb_reader_next(r, &f, 5000)) != ZB_EOF) {
    fprintf(stderr, "  after writer B: %s (%s), expected EOF\n",
            zb_err_name(rc), zb_last_error());
    goto out;
  }
  ok = child_end(&b, 5000) == 0;
out:
  if (!ok)
    fprintf(stderr, "  %s: round %u failed (reader started %u ms late)\n",
            hc->what, round, delay_ms);
  if (a.pid > 0)
    child_kill(&a);
  if (b.pid > 0)
    child_kill(&b);
  zb_reader_destroy(r);
  zb_test_remove_ring(name);
  return ok;
}

static void test_writer_handover(void) {
  const uint64_t big = UINT64_C(256) << 10; /* wraps early */
  const uint64_t big_ring = zb_payload_size_for(big, 4, false);
  const handover_case cases[] = {
      {"A less than a lap", 4096, 240, 5, 240, 48, 0, 40},
      {"A the whole ring", 4096, 240, 16, 240, 48, 0, 40},
      {"B of other sizes", 4096, 240, 10, 0, 48, 600, 40},
      {"B of twice the size", 4096, 240, 7, 496, 24, 0, 40},
      {"frames that wrap early", big_ring, big, 3, big, 12, 0, 12},
      {"frames that wrap early, A the whole ring", big_ring, big, 4, big, 12,
       0, 12},
  };
  uint8_t *scratch = malloc(big);
  size_t i;
  CHECK(scratch != NULL);
  for (i = 0; scratch != NULL && i < sizeof cases / sizeof cases[0]; i++) {
    unsigned round, failed = 0;
    for (round = 0; round < cases[i].rounds; round++)
      if (!handover_round(&cases[i], round, round % 4, scratch))
        failed++;
    if (failed > 0) {
      zb_test_failures++;
      fprintf(stderr, "%s:%d: %s: %u of %u rounds failed\n", __FILE__,
              __LINE__, cases[i].what, failed, cases[i].rounds);
    }
  }
  free(scratch);
}

/* 6. One writer at a time: a second live writer gets ZB_EBUSY; once the
 * first is killed, a new writer replaces its pid. */
static void test_second_writer(void) {
  enum { FRAMES = 3 };
  const uint64_t max = 500;
  char name[96];
  writer_args wa;
  child first = {0, -1, -1}, second = {0, -1, -1}, third = {0, -1, -1};
  zb_reader *r = NULL;
  zb_writer *w = NULL;
  zb_health h;
  zb_frame f;
  pid_t dead;

  copy_name(name, "busy");
  CHECK_RC(zb_reader_create(&r, name, 256, 16 * 1024, NULL), 0);
  if (r == NULL)
    goto out;
  wa = (writer_args){name, 51, FRAMES, max, HOLD_ON_BYTE, 0, NULL};
  CHECK(spawn(&first, writer_child, &wa) == 0);
  CHECK(wait_byte(first.from_child, 5000) == 'C');
  CHECK(wait_byte(first.from_child, 5000) == 'W');
  CHECK(read_stream(r, 51, 1, FRAMES, max, 2000));
  /* From another process and from this one. */
  CHECK(spawn(&second, busy_writer_child, name) == 0);
  CHECK_EXITED(child_end(&second, 5000), 0);
  CHECK_RC(zb_writer_connect(&w, name), ZB_EBUSY);
  CHECK_MSG(name);
  CHECK(w == NULL);
  dead = first.pid;
  CHECK_KILLED(child_kill(&first));
  CHECK_RC(zb_reader_health(r, &h), 0);
  CHECK_EQ_U64(h.writer_pid, (uint64_t)dead);
  CHECK(!h.writer_alive);
  /* A new writer takes the dead one's place; its stream starts at 1. */
  wa = (writer_args){name, 52, 10, max, HOLD_ON_BYTE, 1, NULL};
  CHECK(spawn(&third, writer_child, &wa) == 0);
  CHECK(wait_byte(third.from_child, 5000) == 'C');
  CHECK_RC(zb_reader_health(r, &h), 0);
  CHECK_EQ_U64(h.writer_pid, (uint64_t)third.pid);
  CHECK(h.writer_alive);
  CHECK(read_stream(r, 52, 1, 10, max, 2000));
  CHECK(wait_byte(third.from_child, 5000) == 'W');
  send_byte(third.to_child, 'D');
  CHECK_RC(zb_reader_next(r, &f, 5000), ZB_EOF);
  CHECK_EXITED(child_end(&third, 5000), 0);
out:
  if (first.pid > 0)
    child_kill(&first);
  if (second.pid > 0)
    child_kill(&second);
  if (third.pid > 0)
    child_kill(&third);
  zb_reader_destroy(r);
  CHECK(zb_test_ring_gone(name));
  zb_test_remove_ring(name);
}

typedef struct duplex_client_args {
  const char *channel;
  int late; /* create NAME_response only on 'R' */
} duplex_client_args;

/* A duplex client: connects to NAME_request as writer, creates
 * NAME_response (at once, or when the parent sends 'R': then answers 'R'),
 * sends 'C'; then obeys bytes from the parent: 'E' ends its requests
 * (detaches) and keeps reading its response ring, answers 'E'; 'Q' (or end
 * of file) closes what it has, answers 'Q', exits. */
static int duplex_client_child(void *argp, int in, int out) {
  duplex_client_args *a = argp;
  char request[ZB_NAME_MAX + 1], response[ZB_NAME_MAX + 1];
  zb_writer *w = NULL;
  zb_reader *r = NULL;
  int rc, cmd;
  zb_duplex_ring_name(a->channel, ZB_DUPLEX_REQUEST, request, sizeof request);
  zb_duplex_ring_name(a->channel, ZB_DUPLEX_RESPONSE, response, sizeof response);
  if ((rc = zb_writer_connect(&w, request)) != 0) {
    child_report("request connect", rc);
    return 2;
  }
  if (!a->late && (rc = zb_reader_create(&r, response, 256, 4096, NULL)) != 0) {
    child_report("response create", rc);
    return 3;
  }
  send_byte(out, 'C');
  while ((cmd = wait_byte(in, 30000)) == 'E' || cmd == 'R') {
    if (cmd == 'E') {
      zb_writer_destroy(w);
      w = NULL;
    } else if ((rc = zb_reader_create(&r, response, 256, 4096, NULL)) != 0) {
      child_report("response create", rc);
      return 3;
    }
    send_byte(out, (char)cmd);
  }
  zb_writer_destroy(w);
  zb_reader_destroy(r);
  send_byte(out, 'Q');
  return cmd == 'Q' ? 0 : 4;
}

/* Whether the server's writer of NAME_response and its reader of
 * NAME_request belong to the same client now (zb_duplex_same_client on
 * both rings' health, and on NAME_response's by name when it is there). */
static int same_client(zb_reader *requests, zb_writer *responses,
                       const char *response_name) {
  zb_health req, res, by_name;
  int rc, rc_name;
  if (zb_reader_health(requests, &req) != 0 ||
      zb_writer_health(responses, &res) != 0)
    return -1;
  rc = zb_duplex_same_client(&req, &res);
  if (response_name != NULL && zb_health_read(response_name, &by_name) == 0 &&
      (rc_name = zb_duplex_same_client(&req, &by_name)) != rc) {
    fprintf(stderr, "  by name %d, through the writer %d\n", rc_name, rc);
    return -1;
  }
  return rc;
}

/* 6b. The duplex pairing of rings by process: a response ring is its
 * client's while its reader is the request ring's writer; not once that
 * client ended its requests, and never for the next client (another
 * process), even while the predecessor still reads its response ring. */
static void test_duplex_same_client(void) {
  char channel[96], request[ZB_NAME_MAX + 1], response[ZB_NAME_MAX + 1];
  duplex_client_args first = {channel, 0}, next = {channel, 1};
  child a = {0, -1, -1}, b = {0, -1, -1};
  zb_reader *requests = NULL;
  zb_writer *responses = NULL;
  zb_health x = {0}, y = {0};

  copy_name(channel, "duplex");
  zb_duplex_ring_name(channel, ZB_DUPLEX_REQUEST, request, sizeof request);
  zb_duplex_ring_name(channel, ZB_DUPLEX_RESPONSE, response, sizeof response);
  CHECK_RC(zb_duplex_same_client(NULL, &y), ZB_EINVAL);
  CHECK_RC(zb_duplex_same_client(&x, NULL), ZB_EINVAL);
  CHECK(zb_duplex_same_client(&x, &y) == 0); /* no writer, no reader */
  x.writer_pid = y.reader_pid = 1234;
  CHECK(zb_duplex_same_client(&x, &y) == 1);
  y.reader_pid = 1235;
  CHECK(zb_duplex_same_client(&x, &y) == 0);
  x.reader_pid = y.writer_pid = 1234; /* the other pids do not count */
  CHECK(zb_duplex_same_client(&x, &y) == 0);

  CHECK_RC(zb_reader_create(&requests, request, 256, 4096, NULL), 0);
  if (requests == NULL)
    goto out;
  CHECK(spawn(&a, duplex_client_child, &first) == 0);
  CHECK(wait_byte(a.from_child, 5000) == 'C');
  CHECK_RC(zb_writer_connect(&responses, response), 0);
  if (responses == NULL)
    goto out;
  CHECK(same_client(requests, responses, response) == 1);
  /* A ends its requests and still reads its response ring: no client now. */
  send_byte(a.to_child, 'E');
  CHECK(wait_byte(a.from_child, 5000) == 'E');
  CHECK(same_client(requests, responses, response) == 0);
  /* B, another process, writes requests: A's response ring is not B's. */
  CHECK(spawn(&b, duplex_client_child, &next) == 0);
  CHECK(wait_byte(b.from_child, 5000) == 'C');
  CHECK_RC(zb_reader_health(requests, &x), 0);
  CHECK_EQ_U64(x.writer_pid, (uint64_t)b.pid);
  CHECK(same_client(requests, responses, response) == 0);
  /* A goes (its reader_pid 0); B creates its own response ring: B's. */
  send_byte(a.to_child, 'Q');
  CHECK(wait_byte(a.from_child, 5000) == 'Q');
  CHECK_EXITED(child_end(&a, 5000), 0);
  CHECK(same_client(requests, responses, NULL) == 0);
  zb_writer_destroy(responses);
  responses = NULL;
  send_byte(b.to_child, 'R');
  CHECK(wait_byte(b.from_child, 5000) == 'R');
  CHECK_RC(zb_writer_connect(&responses, response), 0);
  if (responses == NULL)
    goto out;
  CHECK(same_client(requests, responses, response) == 1);
  zb_writer_destroy(responses);
  responses = NULL;
  send_byte(b.to_child, 'Q');
  CHECK(wait_byte(b.from_child, 5000) == 'Q');
  CHECK_EXITED(child_end(&b, 5000), 0);
out:
  if (a.pid > 0)
    child_kill(&a);
  if (b.pid > 0)
    child_kill(&b);
  zb_writer_destroy(responses);
  zb_reader_destroy(requests);
  CHECK(zb_test_ring_gone(request));
  CHECK(zb_test_ring_gone(response));
  zb_test_remove_ring(request);
  zb_test_remove_ring(response);
}

/* Starts a reader child on name, waits until the ring exists, kills it. */
static int leave_stale_ring(const char *name) {
  reader_args ra = {name, 4096, 0, 0, 1, 0};
  child c = {0, -1, -1};
  int ok;
  if (spawn(&c, reader_child, &ra) != 0)
    return 0;
  ok = wait_byte(c.from_child, 5000) == 'R';
  CHECK_KILLED(child_kill(&c));
  return ok;
}

/* 7. Stale rings of killed readers: the same name can be created again,
 * and creating any ring sweeps the stale rings of others. */
static void test_stale_sweep(void) {
  char name[96], other[96], unrelated[96], lockless[96], lock[512];
  zb_reader *r = NULL;
  zb_health h;
  int interval;

  /* a) same name */
  copy_name(name, "stale");
  CHECK(leave_stale_ring(name));
  CHECK(path_exists("/dev/shm/%s", name));
  CHECK(path_exists("/dev/shm/sem.sem-w-%s", name));
  CHECK(path_exists("/dev/shm/sem.sem-r-%s", name));
  CHECK(path_exists("/tmp/zerobuffer/%s.lock", name));
  CHECK_RC(zb_reader_create(&r, name, 256, 4096, NULL), 0);
  if (r != NULL) {
    CHECK_RC(zb_reader_health(r, &h), 0);
    CHECK_EQ_U64(h.reader_pid, (uint64_t)getpid());
    CHECK_EQ_U64(h.written_count, 0);
  }
  zb_reader_destroy(r);
  r = NULL;
  CHECK(zb_test_ring_gone(name));
  zb_test_remove_ring(name);

  /* b) another name, swept by an unrelated create (full sweeps are
   * rate-limited: allow one at every create here) */
  interval = zb__set_sweep_interval_ms(0);
  copy_name(other, "stale-other");
  copy_name(unrelated, "unrelated");
  CHECK(leave_stale_ring(other));
  CHECK(path_exists("/dev/shm/%s", other));
  CHECK_RC(zb_reader_create(&r, unrelated, 256, 4096, NULL), 0);
  CHECK(!path_exists("/dev/shm/%s", other));
  CHECK(zb_test_ring_gone(other));
  zb_reader_destroy(r);
  r = NULL;
  CHECK(zb_test_ring_gone(unrelated));
  zb_test_remove_ring(other);
  zb_test_remove_ring(unrelated);
  zb__set_sweep_interval_ms(interval);

  /* c) same name, but the lock file is gone too (only the segment and
   * semaphores are left): the create still recovers the name. */
  copy_name(lockless, "stale-nolock");
  CHECK(leave_stale_ring(lockless));
  snprintf(lock, sizeof lock, "/tmp/zerobuffer/%s.lock", lockless);
  CHECK(unlink(lock) == 0);
  CHECK(path_exists("/dev/shm/%s", lockless));
  CHECK_RC(zb_reader_create(&r, lockless, 256, 4096, NULL), 0);
  if (r != NULL) {
    CHECK_RC(zb_reader_health(r, &h), 0);
    CHECK_EQ_U64(h.reader_pid, (uint64_t)getpid());
  }
  zb_reader_destroy(r);
  CHECK(zb_test_ring_gone(lockless));
  zb_test_remove_ring(lockless);
}

/* Writes one frame from this process and has the reader child read it. */
/* Makes the stale ring NAME look as if its dead reader's pid now belonged to
 * a live process (pid 1, which always exists): the segment's reader_pid and
 * the lock file's "PID START" say 1, with a start time pid 1 never had. */
static int recycle_reader_pid(const char *name) {
  char path[512];
  const uint64_t pid = 1;
  FILE *lock;
  int fd, ok;

  snprintf(path, sizeof path, "/dev/shm/%s", name);
  fd = open(path, O_RDWR);
  if (fd < 0)
    return 0;
  ok = pwrite(fd, &pid, sizeof pid, 0x58) == (ssize_t)sizeof pid;
  close(fd);
  snprintf(path, sizeof path, "/tmp/zerobuffer/%s.lock", name);
  lock = fopen(path, "w");
  if (lock == NULL)
    return 0;
  fprintf(lock, "1 987654321\n");
  return fclose(lock) == 0 && ok;
}

/* A stale ring whose owner's pid was recycled by another (live) process is
 * still recognised as stale: by the next create of the same name and by the
 * sweep of an unrelated create. */
static void test_recycled_pid(void) {
  char name[96], other[96], unrelated[96];
  zb_reader *r = NULL;
  int interval;

  copy_name(name, "recycled");
  CHECK(leave_stale_ring(name));
  CHECK(recycle_reader_pid(name));
  CHECK_RC(zb_reader_create(&r, name, 256, 4096, NULL), 0);
  zb_reader_destroy(r);
  r = NULL;
  CHECK(zb_test_ring_gone(name));
  zb_test_remove_ring(name);

  copy_name(other, "recycled-other");
  copy_name(unrelated, "recycled-unrelated");
  CHECK(leave_stale_ring(other));
  CHECK(recycle_reader_pid(other));
  interval = zb__set_sweep_interval_ms(0); /* a full sweep at this create */
  CHECK_RC(zb_reader_create(&r, unrelated, 256, 4096, NULL), 0);
  zb__set_sweep_interval_ms(interval);
  CHECK(zb_test_ring_gone(other));
  zb_reader_destroy(r);
  CHECK(zb_test_ring_gone(unrelated));
  zb_test_remove_ring(other);
  zb_test_remove_ring(unrelated);
}

typedef struct listed {
  const char *name;
  int seen;
  zb_ring_entry entry;
} listed;

static int note_ring(const zb_ring_entry *ring, void *user) {
  listed *wanted = user;
  for (; wanted->name != NULL; wanted++)
    if (strcmp(ring->name, wanted->name) == 0) {
      wanted->seen++;
      wanted->entry = *ring;
    }
  return 0;
}

/* zb_rings_list tells live rings from stale leftovers; zb_ring_remove_stale
 * removes only the stale ones. */
static void test_list_and_remove_stale(void) {
  char live[96], stale[96];
  zb_reader *r = NULL;
  listed found[3];

  copy_name(live, "list-live");
  copy_name(stale, "list-stale");
  memset(found, 0, sizeof found);
  found[0].name = live;
  found[1].name = stale;
  CHECK(leave_stale_ring(stale));
  CHECK_RC(zb_reader_create(&r, live, 256, 4096, NULL), 0);
  /* the create swept the other stale ring: leave it again */
  CHECK(leave_stale_ring(stale));
  CHECK_RC(zb_rings_list(note_ring, found), 0);
  CHECK(found[0].seen == 1 && found[0].entry.reader_alive &&
        found[0].entry.has_segment && found[0].entry.has_lock);
  CHECK(found[1].seen == 1 && !found[1].entry.reader_alive &&
        !found[1].entry.writer_alive && found[1].entry.has_segment);

  CHECK_RC(zb_ring_remove_stale(live), ZB_EBUSY);
  CHECK_MSG("reader is alive");
  CHECK_RC(zb_ring_remove_stale(stale), 0);
  CHECK(zb_test_ring_gone(stale));
  CHECK_RC(zb_ring_remove_stale(stale), ZB_ENOENT);
  CHECK_RC(zb_ring_remove_stale("a/b"), ZB_ENAME);
  zb_reader_destroy(r);
  CHECK(zb_test_ring_gone(live));
  zb_test_remove_ring(stale);
  zb_test_remove_ring(live);
}

/* --------------------------------------------------- writers that die */

enum { DETACH, DIE_AFTER_RESERVE, DIE_MID_COPY, DIE_BEFORE_COMMIT, DIE_ANYWHERE };

typedef struct doomed_args {
  const char *name;
  uint64_t salt, frames, max_size;
  int fate;
} doomed_args;

/* Writes frames 1..frames (endlessly for DIE_ANYWHERE: the parent kills it
 * at a moment of its choosing), then ends as its fate says: mostly by
 * SIGKILL in the middle of the next frame. */
static int doomed_writer_child(void *argp, int in, int out) {
  doomed_args *a = argp;
  zb_writer *w;
  zb_reservation slot;
  uint64_t seq, size;
  (void)in;
  (void)out;
  if (zb_writer_connect(&w, a->name) != 0)
    return 3;
  for (seq = 1; a->fate == DIE_ANYWHERE || seq <= a->frames; seq++) {
    size = frame_size(a->salt, seq, a->max_size);
    if (zb_writer_reserve(w, size, &slot, 10000) != 0)
      return 5;
    fill(slot.data, size, a->salt, seq);
    if (zb_reservation_commit(&slot, size) != 0)
      return 6;
  }
  if (a->fate == DETACH) {
    zb_writer_destroy(w);
    return 0;
  }
  size = frame_size(a->salt, seq, a->max_size);
  if (zb_writer_reserve(w, size, &slot, 10000) == 0 && a->fate != DIE_AFTER_RESERVE)
    fill(slot.data, a->fate == DIE_MID_COPY ? size / 2 : size, a->salt, seq);
  raise(SIGKILL);
  return 90;
}

/* 200 writers, one after another, against one long-lived reader; most are
 * SIGKILLed between reserve and commit, in the middle of a copy, or at a
 * moment the reader picks. The reader gets every committed frame exactly
 * once, in order and intact, never a half-written one; reports each death
 * (or end of stream) within its timeout; and the ring stays usable. */
static void test_writers_die_mid_frame(void) {
  const uint64_t max_size = 2000, generations = 200;
  char name[96];
  uint8_t *scratch = malloc(max_size);
  zb_reader *r = NULL;
  zb_health h;
  uint64_t g, received = 0, deaths = 0;

  copy_name(name, "doomed");
  CHECK_RC(zb_reader_create(&r, name, 0, 16 * 1024, NULL), 0);
  for (g = 0; g < generations && r != NULL && scratch != NULL; g++) {
    doomed_args a = {name, 1000 + g, 1 + g % 7, max_size, (int)(g % 5)};
    /* Writers killed at a moment the reader picks send tiny frames flat
     * out: commits then race with the reader noticing the death. */
    if (a.fate == DIE_ANYWHERE)
      a.max_size = 4;
    uint64_t expected = 1, kill_after = 1 + mix(g) % 40;
    child c = {0, -1, -1};
    zb_frame f;
    int rc;

    if (spawn(&c, doomed_writer_child, &a) != 0) {
      CHECK(0);
      break;
    }
    for (;;) {
      rc = zb_reader_next(r, &f, 5000);
      if (rc != 0)
        break;
      if (!frame_matches(&f, a.salt, expected, a.max_size, scratch))
        zb_test_failures++;
      expected++;
      received++;
      CHECK_RC(zb_frame_release(&f), 0);
      if (a.fate == DIE_ANYWHERE && expected - 1 == kill_after)
        kill(c.pid, SIGKILL); /* frames it committed since must still come */
    }
    CHECK_RC(rc, a.fate == DETACH ? ZB_EOF : ZB_EWRITERDEAD);
    if (a.fate != DIE_ANYWHERE)
      CHECK_EQ_U64(expected - 1, a.frames);
    deaths += rc == ZB_EWRITERDEAD;
    child_end(&c, 5000);
    if (zb_test_failures > 0)
      break;
  }
  fprintf(stderr, "  %llu writers (%llu killed), %llu frames, all intact\n",
          (unsigned long long)g, (unsigned long long)deaths,
          (unsigned long long)received);
  CHECK_RC(zb_reader_health(r, &h), 0);
  CHECK_EQ_U64(h.payload_free_bytes, h.payload_size);
  CHECK_EQ_U64(h.written_count, h.read_count);
  zb_reader_destroy(r);
  CHECK(zb_test_ring_gone(name));
  zb_test_remove_ring(name);
  free(scratch);
}

/* ------------------------------------------------------------ confinement */

/* Runs in a private mount namespace with a 1 MiB tmpfs over /dev/shm. */
static int small_shm_child(void *arg, int in, int out) {
  const char *name = arg;
  zb_reader *r = NULL;
  char path[512];
  int rc;
  (void)in;
  (void)out;
  if (unshare(CLONE_NEWNS) != 0 ||
      mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
      mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=1m") != 0)
    return 77;
  rc = zb_reader_create(&r, name, 0, 4 << 20, NULL);
  if (rc != ZB_ENOSPC || r != NULL) {
    fprintf(stderr, "  4 MiB ring in 1 MiB: %s (%s)\n", zb_err_name(rc), zb_last_error());
    return 1;
  }
  if (strstr(zb_last_error(), "4.0 MiB") == NULL ||
      strstr(zb_last_error(), "--shm-size") == NULL) {
    fprintf(stderr, "  message lacks the size or the hint: %s\n", zb_last_error());
    return 2;
  }
  snprintf(path, sizeof path, "/dev/shm/%s", name);
  if (access(path, F_OK) == 0 || !zb_test_ring_gone(name))
    return 3;
  if (zb_reader_create(&r, name, 0, 64 << 10, NULL) != 0) /* one that fits */
    return 4;
  zb_reader_destroy(r);
  return 0;
}

/* /dev/shm too small: creating the ring fails at once with ENOSPC, saying
 * how much it needed and how to give a container more, instead of a SIGBUS
 * later; nothing is left behind. Needs root for the mount (else skipped). */
static void test_shm_too_small(void) {
  char name[96];
  child c = {0, -1, -1};
  int status;
  copy_name(name, "smallshm");
  CHECK(spawn(&c, small_shm_child, name) == 0);
  status = child_end(&c, 10000);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
    fprintf(stderr, "  skipped: mounting a small tmpfs needs root (CAP_SYS_ADMIN)\n");
  else
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  zb_test_remove_ring(name);
}

/* In a private mount namespace with its own /tmp: the lock directory as a
 * symlink, then as another user's directory open to all without the sticky
 * bit, then created by us (sticky, shared). */
static int planted_lock_dir_child(void *arg, int in, int out) {
  const char *name = arg;
  zb_reader *r = NULL;
  struct stat st;
  int rc;
  (void)in;
  (void)out;
  if (unshare(CLONE_NEWNS) != 0 ||
      mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
      mount("tmpfs", "/tmp", "tmpfs", 0, "size=1m") != 0)
    return 77;
  if (mkdir("/tmp/elsewhere", 0777) != 0 || symlink("/tmp/elsewhere", "/tmp/zerobuffer") != 0)
    return 10;
  rc = zb_reader_create(&r, name, 0, 4096, NULL);
  if (rc != ZB_EACCES || strstr(zb_last_error(), "symlink") == NULL) {
    fprintf(stderr, "  symlinked lock dir: %s (%s)\n", zb_err_name(rc), zb_last_error());
    return 1;
  }
  if (unlink("/tmp/zerobuffer") != 0 || mkdir("/tmp/zerobuffer", 0777) != 0 ||
      chmod("/tmp/zerobuffer", 0777) != 0 || chown("/tmp/zerobuffer", 65534, 65534) != 0)
    return 11;
  rc = zb_reader_create(&r, name, 0, 4096, NULL);
  if (rc != ZB_EACCES || strstr(zb_last_error(), "sticky") == NULL) {
    fprintf(stderr, "  open lock dir of another user: %s (%s)\n", zb_err_name(rc), zb_last_error());
    return 2;
  }
  if (rmdir("/tmp/zerobuffer") != 0 || zb_reader_create(&r, name, 0, 4096, NULL) != 0)
    return 3;
  zb_reader_destroy(r);
  if (stat("/tmp/zerobuffer", &st) != 0 || (st.st_mode & 07777) != 01777)
    return 4;
  return 0;
}

/* The lock directory cannot be redirected: a planted symlink or another
 * user's directory that others may write to is refused with a reason;
 * ours is created sticky and shared. Needs root for the mount. */
static void test_planted_lock_dir(void) {
  char name[96];
  child c = {0, -1, -1};
  int status;
  copy_name(name, "planted");
  CHECK(spawn(&c, planted_lock_dir_child, name) == 0);
  status = child_end(&c, 10000);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
    fprintf(stderr, "  skipped: mounting a private /tmp needs root (CAP_SYS_ADMIN)\n");
  else
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  zb_test_remove_ring(name);
}

/* Runs as user nobody; arg: the ring name, and whether it was shared. */
typedef struct other_user_args {
  const char *name;
  int shared;
} other_user_args;

typedef struct found_ring {
  const char *name;
  zb_ring_entry entry;
  int seen;
} found_ring;

static int find_ring(const zb_ring_entry *ring, void *user) {
  found_ring *f = user;
  if (strcmp(ring->name, f->name) == 0) {
    f->entry = *ring;
    f->seen++;
  }
  return 0;
}

/* How another user lists the owner's live ring: unreadable (private), its
 * liveness is unknown, never stale (it used to be listed without a segment,
 * reader dead: stale); readable (shared), alive by its OIEB or lock. */
static int other_user_lists(const other_user_args *a) {
  found_ring f;
  memset(&f, 0, sizeof f);
  f.name = a->name;
  if (zb_rings_list(find_ring, &f) != 0 || f.seen != 1)
    return 0;
  if (!a->shared)
    return f.entry.access_denied && f.entry.has_segment && f.entry.has_lock &&
           !f.entry.reader_alive;
  return !f.entry.access_denied && f.entry.has_segment && f.entry.reader_alive;
}

static int other_user_child(void *argp, int in, int out) {
  other_user_args *a = argp;
  zb_writer *w = NULL;
  zb_reader *r = NULL;
  zb_health h;
  int rc;
  (void)in;
  (void)out;
  if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
    return 77;
  if (!other_user_lists(a)) {
    fprintf(stderr, "  the owner's live ring as listed by another user: wrong\n");
    return 5;
  }
  rc = zb_writer_connect(&w, a->name);
  if (a->shared) {
    if (rc != 0 || zb_writer_write(w, "hi", 2, 1000) != 0) {
      fprintf(stderr, "  shared ring: %s (%s)\n", zb_err_name(rc), zb_last_error());
      return 1;
    }
    zb_writer_destroy(w);
    return 0;
  }
  if (rc != ZB_EACCES || zb_health_read(a->name, &h) != ZB_EACCES) {
    fprintf(stderr, "  private ring opened by another user: %s\n", zb_err_name(rc));
    return 2;
  }
  if (strstr(zb_last_error(), "belongs to user root (uid 0)") == NULL) {
    fprintf(stderr, "  EACCES without the owner: %s\n", zb_last_error());
    return 6;
  }
  /* nor remove it (a name given: EACCES, whose it is) */
  if (zb_ring_check_stale(a->name) != ZB_EACCES)
    return 7;
  /* nor can it take the name over (the lock file is the owner's) ... */
  if (zb_reader_create(&r, a->name, 0, 4096, NULL) == 0)
    return 3;
  /* ... but the shared lock directory lets it create rings of its own */
  {
    char own[128];
    snprintf(own, sizeof own, "%s-nobody", a->name);
    if ((rc = zb_reader_create(&r, own, 0, 4096, NULL)) != 0) {
      fprintf(stderr, "  own ring as another user: %s (%s)\n", zb_err_name(rc), zb_last_error());
      return 4;
    }
    zb_reader_destroy(r);
  }
  return 0;
}

/* Same-user by default: another user's process cannot open a ring or take
 * over its name, yet can create rings of its own (the lock directory is
 * shared, sticky); with mode 0666 it can open it. Needs root to switch users
 * (else skipped). */
static void test_other_user(void) {
  char name[96];
  other_user_args a = {name, 0};
  zb_reader_options shared = {.mode = 0666};
  zb_reader *r = NULL;
  zb_frame f;
  child c = {0, -1, -1};
  int status;

  if (getuid() != 0) {
    fprintf(stderr, "  skipped: switching to another user needs root\n");
    return;
  }
  copy_name(name, "otheruser");
  CHECK_RC(zb_reader_create(&r, name, 0, 4096, NULL), 0);
  CHECK(spawn(&c, other_user_child, &a) == 0);
  status = child_end(&c, 10000);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  zb_reader_destroy(r);

  a.shared = 1;
  CHECK_RC(zb_reader_create(&r, name, 0, 4096, &shared), 0);
  CHECK(spawn(&c, other_user_child, &a) == 0);
  CHECK_RC(zb_reader_next(r, &f, 5000), 0);
  CHECK(f.size == 2 && memcmp(f.data, "hi", 2) == 0);
  CHECK_RC(zb_frame_release(&f), 0);
  status = child_end(&c, 10000);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  zb_reader_destroy(r);
  CHECK(zb_test_ring_gone(name));
  zb_test_remove_ring(name);
}

static int live_ring_works(child *c, const char *name, uint64_t salt) {
  zb_writer *w = NULL;
  uint8_t buf[300];
  int ok = 1;
  CHECK_RC(zb_writer_connect(&w, name), 0);
  if (w == NULL)
    return 0;
  fill(buf, frame_size(salt, 1, sizeof buf), salt, 1);
  CHECK_RC(zb_writer_write(w, buf, frame_size(salt, 1, sizeof buf), 1000), 0);
  send_byte(c->to_child, 'F');
  if (wait_byte(c->from_child, 5000) != 'F')
    ok = 0;
  zb_writer_destroy(w);
  return ok;
}

/* 8. A ring whose reader is alive cannot be created again; the live ring
 * keeps working. */
static void test_live_ring_refused(void) {
  char name[96], lock[512];
  reader_args ra;
  child c = {0, -1, -1};
  zb_reader *r = NULL;
  zb_health h;

  /* a) through the lock */
  copy_name(name, "live");
  ra = (reader_args){name, 4096, 61, 1, 300, 0};
  CHECK(spawn(&c, reader_child, &ra) == 0);
  CHECK(wait_byte(c.from_child, 5000) == 'R');
  CHECK_RC(zb_reader_create(&r, name, 256, 4096, NULL), ZB_EEXIST);
  CHECK_MSG(name);
  CHECK(r == NULL);
  CHECK_RC(zb_health_read(name, &h), 0);
  CHECK_EQ_U64(h.reader_pid, (uint64_t)c.pid);
  CHECK(h.reader_alive);
  CHECK(path_exists("/tmp/zerobuffer/%s.lock", name));
  CHECK(live_ring_works(&c, name, 61));
  send_byte(c.to_child, 'Q');
  CHECK_EXITED(child_end(&c, 5000), 0);
  if (c.pid > 0)
    child_kill(&c);
  zb_reader_destroy(r);
  CHECK(zb_test_ring_gone(name));
  zb_test_remove_ring(name);

  /* b) lock file removed behind the live reader's back: the live segment
   * is still recognised and left alone. */
  copy_name(name, "live-nolock");
  ra = (reader_args){name, 4096, 62, 1, 300, 0};
  r = NULL;
  CHECK(spawn(&c, reader_child, &ra) == 0);
  CHECK(wait_byte(c.from_child, 5000) == 'R');
  snprintf(lock, sizeof lock, "/tmp/zerobuffer/%s.lock", name);
  CHECK(unlink(lock) == 0);
  CHECK_RC(zb_reader_create(&r, name, 256, 4096, NULL), ZB_EEXIST);
  CHECK_MSG(name);
  CHECK(r == NULL);
  CHECK(path_exists("/dev/shm/%s", name));
  CHECK(path_exists("/dev/shm/sem.sem-w-%s", name));
  CHECK(path_exists("/dev/shm/sem.sem-r-%s", name));
  CHECK(live_ring_works(&c, name, 62));
  send_byte(c.to_child, 'Q');
  CHECK_EXITED(child_end(&c, 5000), 0);
  if (c.pid > 0)
    child_kill(&c);
  zb_reader_destroy(r);
  CHECK(zb_test_ring_gone(name));
  zb_test_remove_ring(name);
}

/* 9. A child of fork() with a copy of the writer: its writes, commits and
 * metadata are refused (ZB_ESTATE) and touch nothing; its destroy leaves
 * the parent's writer attached. The parent's stream goes on as if the
 * child never ran: no frame of the child's between the parent's, no
 * ESEQUENCE. */
typedef struct forked_writer_args {
  zb_writer *w;
  zb_reservation *res; /* opened by the parent before the fork */
} forked_writer_args;

/* In a forked child: reports a call that did not return `expected`; the
 * first such step is the child's exit status, but it goes on, so that its
 * destroy runs and the parent checks what that did too. */
#define FORKED_EXPECT(step, expr, expected)                                    \
  do {                                                                         \
    int rc_ = (expr);                                                          \
    if (rc_ != (expected) ||                                                   \
        ((expected) == ZB_ESTATE && !strstr(zb_last_error(), "fork()"))) {   \
      child_report(#expr, rc_);                                                \
      if (failed == 0)                                                         \
        failed = (step);                                                       \
    }                                                                          \
  } while (0)

static int forked_writer_child(void *argp, int in, int out) {
  forked_writer_args *a = argp;
  zb_reservation res;
  int failed = 0;
  (void)in;
  (void)out;
  FORKED_EXPECT(2, zb_writer_write(a->w, "c1", 2, 0), ZB_ESTATE);
  FORKED_EXPECT(3, zb_writer_reserve(a->w, 2, &res, 0), ZB_ESTATE);
  memcpy(a->res->data, "c2", 2); /* the parent's bytes: only the commit counts */
  FORKED_EXPECT(4, zb_reservation_commit(a->res, 2), ZB_ESTATE);
  FORKED_EXPECT(5, zb_writer_set_metadata(a->w, "{}", 2), ZB_ESTATE);
  zb_writer_wake(a->w);
  zb_writer_destroy(a->w);
  return failed;
}

static void test_forked_writer_copy(void) {
  char name[96];
  child c = {0, -1, -1};
  forked_writer_args fa;
  zb_reservation res;
  zb_reader *r = NULL;
  zb_writer *w = NULL;
  zb_health h;
  zb_frame f;
  const uint8_t *meta;
  uint64_t meta_size;

  copy_name(name, "forkw");
  CHECK_RC(zb_reader_create(&r, name, 256, 4096, NULL), 0);
  if (r == NULL)
    goto out;
  CHECK_RC(zb_writer_connect(&w, name), 0);
  if (w == NULL)
    goto out;
  CHECK_RC(zb_writer_write(w, "p1", 2, 0), 0);
  CHECK_RC(zb_writer_reserve(w, 2, &res, 0), 0);
  fa = (forked_writer_args){w, &res};
  CHECK(spawn(&c, forked_writer_child, &fa) == 0);
  CHECK_EXITED(child_end(&c, 5000), 0);
  CHECK_RC(zb_reader_health(r, &h), 0);
  CHECK_EQ_U64(h.writer_pid, (uint64_t)getpid());
  CHECK_RC(zb_reader_metadata(r, &meta, &meta_size), 0);
  CHECK_EQ_U64(meta_size, 0);
  memcpy(res.data, "p2", 2);
  CHECK_RC(zb_reservation_commit(&res, 2), 0);
  CHECK_RC(zb_writer_write(w, "p3", 2, 0), 0);
  CHECK_RC(zb_reader_next(r, &f, 1000), 0);
  CHECK(f.sequence == 1 && f.size == 2 && memcmp(f.data, "p1", 2) == 0);
  zb_frame_release(&f);
  CHECK_RC(zb_reader_next(r, &f, 1000), 0);
  CHECK(f.sequence == 2 && f.size == 2 && memcmp(f.data, "p2", 2) == 0);
  zb_frame_release(&f);
  CHECK_RC(zb_reader_next(r, &f, 1000), 0);
  CHECK(f.sequence == 3 && f.size == 2 && memcmp(f.data, "p3", 2) == 0);
  zb_frame_release(&f);
  CHECK_RC(zb_reader_next(r, &f, 0), ZB_EAGAIN);
  zb_writer_destroy(w);
  w = NULL;
  CHECK_RC(zb_reader_next(r, &f, 1000), ZB_EOF);
out:
  if (c.pid > 0)
    child_kill(&c);
  zb_writer_destroy(w);
  zb_reader_destroy(r);
  CHECK(zb_test_ring_gone(name));
  zb_test_remove_ring(name);
}

/* 10. A child of fork() with a copy of the reader: its reading calls are
 * refused (ZB_ESTATE), its release of a frame the parent holds gives no
 * bytes back, and its unlink and destroy leave the ring, its names and
 * reader_pid to the parent, whose writers and reads go on. */
static int forked_reader_child(void *argp, int in, int out) {
  zb_frame *held = argp, f;
  zb_reader *r = held->reader;
  const uint32_t *word;
  int failed = 0, again_ms;
  (void)in;
  (void)out;
  FORKED_EXPECT(2, zb_reader_next(r, &f, 0), ZB_ESTATE);
  FORKED_EXPECT(3, zb_reader_take_ready(r, &f), ZB_ESTATE);
  FORKED_EXPECT(4, zb_reader_poll(r, &f, 0, zb_now_ns(), &again_ms),
                ZB_ESTATE);
  FORKED_EXPECT(5, zb_reader_arm(r, &word), ZB_ESTATE);
  FORKED_EXPECT(6, zb_frame_release(held), 0);
  zb_reader_wake(r);
  zb_reader_unlink(r);
  zb_reader_destroy(r);
  return failed;
}

static void test_forked_reader_copy(void) {
  char name[96];
  child c = {0, -1, -1};
  zb_reader *r = NULL;
  zb_writer *w = NULL;
  zb_reader_room_info before, after;
  zb_health h;
  zb_frame held, f;

  copy_name(name, "forkr");
  CHECK_RC(zb_reader_create(&r, name, 0, 4096, NULL), 0);
  if (r == NULL)
    goto out;
  CHECK_RC(zb_writer_connect(&w, name), 0);
  if (w == NULL)
    goto out;
  CHECK_RC(zb_writer_write(w, "f1", 2, 0), 0);
  CHECK_RC(zb_reader_next(r, &held, 1000), 0);
  CHECK_RC(zb_reader_room(r, &before), 0);
  CHECK(spawn(&c, forked_reader_child, &held) == 0);
  CHECK_EXITED(child_end(&c, 5000), 0);
  CHECK_RC(zb_reader_room(r, &after), 0);
  CHECK_EQ_U64(after.free, before.free);
  CHECK(path_exists("/dev/shm/%s", name));
  CHECK(path_exists("/tmp/zerobuffer/%s.lock", name));
  CHECK_RC(zb_reader_health(r, &h), 0);
  CHECK_EQ_U64(h.reader_pid, (uint64_t)getpid());
  /* The stream goes on: no wake-up taken for a frame, no frame lost. */
  CHECK_RC(zb_writer_write(w, "f2", 2, 0), 0);
  CHECK_RC(zb_reader_next(r, &f, 1000), 0);
  CHECK(f.sequence == 2 && memcmp(f.data, "f2", 2) == 0);
  zb_frame_release(&f);
  CHECK_RC(zb_frame_release(&held), 0);
  CHECK_RC(zb_reader_room(r, &after), 0);
  CHECK_EQ_U64(after.free, after.size);
  zb_writer_destroy(w);
  w = NULL;
  /* A writer that connects anew finds the ring. */
  CHECK_RC(zb_writer_connect(&w, name), 0);
out:
  if (c.pid > 0)
    child_kill(&c);
  zb_writer_destroy(w);
  zb_reader_destroy(r);
  CHECK(zb_test_ring_gone(name));
  zb_test_remove_ring(name);
}

/* 11. Wake calls from another thread end blocked waits with ZB_ECANCELED. */
typedef struct waiter {
  zb_reader *r;
  zb_writer *w;
  int rc;
  double returned_ms;
} waiter;

static void *reader_waiter(void *arg) {
  waiter *s = arg;
  zb_frame f;
  s->rc = zb_reader_next(s->r, &f, ZB_WAIT_FOREVER);
  s->returned_ms = now_ms();
  return NULL;
}

static void *writer_waiter(void *arg) {
  waiter *s = arg;
  static uint8_t buf[1000];
  s->rc = zb_writer_write(s->w, buf, sizeof buf, ZB_WAIT_FOREVER);
  s->returned_ms = now_ms();
  return NULL;
}

static void test_wake(void) {
  char name[96];
  zb_reader *r = NULL;
  zb_writer *w = NULL;
  waiter s;
  pthread_t t;
  zb_frame f;
  uint8_t buf[1000] = {0};
  double woke;

  copy_name(name, "wake");
  CHECK_RC(zb_reader_create(&r, name, 256, 8192, NULL), 0);
  if (r == NULL)
    goto out;

  /* Reader blocked forever, no writer. */
  s = (waiter){r, NULL, 1, 0};
  CHECK(pthread_create(&t, NULL, reader_waiter, &s) == 0);
  sleep_ms(200);
  woke = now_ms();
  zb_reader_wake(r);
  pthread_join(t, NULL);
  CHECK_RC(s.rc, ZB_ECANCELED);
  CHECK(s.returned_ms >= woke);
  CHECK(s.returned_ms - woke < 500);
  CHECK_RC(zb_reader_next(r, &f, 0), ZB_EAGAIN); /* the wake was consumed */
  /* A wake before the call cancels the next one. */
  zb_reader_wake(r);
  CHECK_RC(zb_reader_next(r, &f, 1000), ZB_ECANCELED);

  /* Writer blocked forever on a full ring. */
  CHECK_RC(zb_writer_connect(&w, name), 0);
  if (w == NULL)
    goto out;
  CHECK(fill_ring(w) > 0);
  s = (waiter){NULL, w, 1, 0};
  CHECK(pthread_create(&t, NULL, writer_waiter, &s) == 0);
  sleep_ms(200);
  woke = now_ms();
  zb_writer_wake(w);
  pthread_join(t, NULL);
  CHECK_RC(s.rc, ZB_ECANCELED);
  CHECK(s.returned_ms >= woke);
  CHECK(s.returned_ms - woke < 500);
  /* Still usable: once a frame is released, a write goes through. */
  CHECK_RC(zb_writer_write(w, buf, sizeof buf, 0), ZB_EAGAIN);
  CHECK_RC(zb_reader_next(r, &f, 1000), 0);
  CHECK_EQ_U64(f.sequence, 1);
  CHECK_RC(zb_frame_release(&f), 0);
  CHECK_RC(zb_writer_write(w, buf, sizeof buf, 1000), 0);
out:
  zb_writer_destroy(w);
  zb_reader_destroy(r);
  CHECK(zb_test_ring_gone(name));
  zb_test_remove_ring(name);
}

/* Nothing named after this process is left in /dev/shm or the lock dir. */
static void test_nothing_left(void) {
  const char *dirs[] = {"/dev/shm", "/tmp/zerobuffer"};
  char mine[64];
  size_t i;
  snprintf(mine, sizeof mine, "zbt-%d-", (int)getpid());
  for (i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
    DIR *d = opendir(dirs[i]);
    struct dirent *e;
    if (d == NULL)
      continue;
    while ((e = readdir(d)) != NULL)
      if (strstr(e->d_name, mine) != NULL) {
        zb_test_failures++;
        fprintf(stderr, "left behind: %s/%s\n", dirs[i], e->d_name);
      }
    closedir(d);
  }
}

#define RUN_CLEAN(test)                                                        \
  do {                                                                         \
    RUN(test);                                                                 \
    kill_stray_children();                                                     \
  } while (0)

int main(int argc, char **argv) {
  (void)argc;
  (void)argv;
  signal(SIGPIPE, SIG_IGN); /* a dead child's pipe must not kill us */
  RUN_CLEAN(test_random_stream);
  RUN_CLEAN(test_hold_out_of_order);
  RUN_CLEAN(test_reader_death);
  RUN_CLEAN(test_stopped_writer);
  RUN_CLEAN(test_stopped_reader);
  RUN_CLEAN(test_deadline_shared_stop);
  RUN_CLEAN(test_writer_death);
  RUN_CLEAN(test_writer_generations);
  RUN_CLEAN(test_writer_handover);
  RUN_CLEAN(test_second_writer);
  RUN_CLEAN(test_duplex_same_client);
  RUN_CLEAN(test_stale_sweep);
  RUN_CLEAN(test_recycled_pid);
  RUN_CLEAN(test_list_and_remove_stale);
  RUN_CLEAN(test_writers_die_mid_frame);
  RUN_CLEAN(test_shm_too_small);
  RUN_CLEAN(test_other_user);
  RUN_CLEAN(test_planted_lock_dir);
  RUN_CLEAN(test_live_ring_refused);
  RUN_CLEAN(test_forked_writer_copy);
  RUN_CLEAN(test_forked_reader_copy);
  RUN_CLEAN(test_wake); /* threads: after the last fork */
  RUN(test_nothing_left);
  return zb_test_finish("core-process");
}

/* zb_platform.c — POSIX shared memory, semaphores, locks and liveness. */
#include "zb_platform.h"

#include <dirent.h>
#include <pthread.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "zb_atomic.h"
#include "zb_error.h"
#include "zb_test_hooks.h"

/* ------------------------------------------------------------------ names */

int zb_validate_name(const char *name) {
  size_t len;
  if (name == NULL || name[0] == '\0')
    return zb__fail(ZB_ENAME, "ring name is empty: give a name such as \"camera0\"");
  len = strnlen(name, ZB_NAME_MAX + 1);
  if (len > ZB_NAME_MAX)
    return zb__fail(ZB_ENAME,
                    "ring name \"%.*s...\" is too long: at most %d bytes, so "
                    "that \"sem.sem-w-NAME\" fits a file name",
                    zb__utf8_prefix(name, 64), name, ZB_NAME_MAX);
  /* The contract's rule (the peers' too): any bytes but '/' (NAME is part
   * of file names) and "..", NUL ending the string. Spaces, ':', '@',
   * non-ASCII UTF-8, a leading '.' are all fine in /dev/shm/NAME,
   * /dev/shm/sem.sem-w-NAME and /tmp/zerobuffer/NAME.lock. */
  if (strchr(name, '/') != NULL)
    return zb__fail(ZB_ENAME,
                    "ring name \"%s\" contains '/': the name becomes a "
                    "file name (/dev/shm/NAME); use any characters but '/' "
                    "and control characters, without \"..\"",
                    name);
  if (strstr(name, "..") != NULL)
    return zb__fail(ZB_ENAME,
                    "ring name \"%s\" contains \"..\" (it becomes a file "
                    "name); pick another name",
                    name);
  if (strcmp(name, ".") == 0)
    return zb__fail(ZB_ENAME,
                    "ring name \".\" is /dev/shm itself (shm_open(\"/.\")), "
                    "never a ring; pick another name");
  /* Our own strictness beyond the contract: a control character (a tab, a
   * newline, ESC) would break log lines, the announcement line's readers
   * and terminals, and no peer's ring is named so in practice. */
  for (const char *p = name; *p != '\0'; p++) {
    unsigned char c = (unsigned char)*p;
    if (c < 0x20 || c == 0x7f)
      return zb__fail(ZB_ENAME,
                      "ring name contains the control character 0x%02x at "
                      "offset %d: control characters (0x01-0x1f, 0x7f) are "
                      "refused, as they garble log lines and terminals",
                      c, (int)(p - name));
  }
  /* glibc keeps every named semaphore as /dev/shm/sem.X: the segment of a
   * ring named "sem.sem-w-B" would be ring B's semaphore (the two rings
   * would destroy each other). The lock files live in their own directory,
   * so this is the only place two rings' files could meet. Other "sem."
   * names are another program's semaphore's file at worst, which a reader
   * refuses as "not a ZeroBuffer ring" and never removes. */
  if (strncmp(name, "sem.sem-w-", 10) == 0 || strncmp(name, "sem.sem-r-", 10) == 0)
    return zb__fail(ZB_ENAME,
                    "ring name \"%s\" starts with \"%.10s\": its segment, "
                    "/dev/shm/NAME, is the file of a semaphore of ring "
                    "\"%s\", so the two rings would destroy each other; pick "
                    "another name",
                    name, name, name + 10);
  return 0;
}

int zb__names(const char *name, zb_names *names) {
  int rc = zb_validate_name(name);
  if (rc < 0)
    return rc;
  snprintf(names->shm, sizeof names->shm, "/%s", name);
  snprintf(names->sem_w, sizeof names->sem_w, "/sem-w-%s", name);
  snprintf(names->sem_r, sizeof names->sem_r, "/sem-r-%s", name);
  snprintf(names->lock, sizeof names->lock, ZB_LOCK_DIR "/%s.lock", name);
  return 0;
}

/* ------------------------------------------------------------------ clock */

uint64_t zb__now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int zb__check_timeout(const char *call, const char *ring, int timeout_ms) {
  if (timeout_ms >= ZB_WAIT_FOREVER)
    return 0;
  return zb__fail(ZB_EINVAL,
                  "%s on ring \"%s\": timeout_ms %d is invalid: give 0 (do "
                  "not wait), a number of milliseconds, or ZB_WAIT_FOREVER "
                  "(-1) to wait without a limit",
                  call, ring, timeout_ms);
}

/* -------------------------------------------------------------- processes */

/* getpid() once, then again in each child of fork() (pthread_atfork): a
 * system call takes microseconds in some VMs, and every reserve and commit
 * asks, to refuse a handle that a child inherited (zerobuffer.h, "After
 * fork()"). A child made without fork() (a raw clone) keeps its parent's
 * pid here, as glibc's own cache did. */
static _Atomic uint64_t self_pid;
static pthread_once_t self_pid_once = PTHREAD_ONCE_INIT;

static void self_pid_refresh(void) {
  atomic_store_explicit(&self_pid, (uint64_t)getpid(), memory_order_relaxed);
}

static void self_pid_init(void) {
  self_pid_refresh();
  pthread_atfork(NULL, NULL, self_pid_refresh);
}

uint64_t zb__self_pid(void) {
  pthread_once(&self_pid_once, self_pid_init);
  return atomic_load_explicit(&self_pid, memory_order_relaxed);
}

/* Reads state and start time (fields 3 and 22) from /proc/PID/stat.
 * The command name (field 2) may hold spaces and ')', so parse after the
 * last ')'. Returns -1 when the file cannot be read. */
static int read_proc_stat(uint64_t pid, char *state, uint64_t *start_time) {
  char path[64], buf[1024];
  const char *p;
  ssize_t n;
  int fd, field;

  snprintf(path, sizeof path, "/proc/%llu/stat", (unsigned long long)pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  p = strrchr(buf, ')');
  if (p == NULL || p[1] != ' ')
    return -1;
  p += 2;
  *state = *p;
  for (field = 3; field < 22 && p != NULL; field++) {
    p = strchr(p, ' ');
    if (p != NULL)
      p++;
  }
  if (p == NULL)
    return -1;
  *start_time = strtoull(p, NULL, 10);
  return 0;
}

bool zb__process_probe(uint64_t pid, uint64_t *start_time) {
  char state;
  *start_time = 0;
  if (pid == 0 || pid > INT_MAX)
    return false;
  if (read_proc_stat(pid, &state, start_time) == 0)
    return state != 'Z' && state != 'X';
  /* No /proc (or another pid namespace): fall back to kill(pid, 0). */
  return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

bool zb__process_alive(const zb_process *p) {
  uint64_t start_time;
  if (!zb__process_probe(p->pid, &start_time))
    return false;
  return p->start_time == 0 || start_time == 0 || start_time == p->start_time;
}

/* ------------------------------------------------------------- semaphores */

/* glibc's sem_t where its layout is known (64-bit atomics, little endian):
 * one 64-bit word, the value in its low 32 bits (the futex word, first),
 * the number of sleepers in its high 32; sem_post does a FUTEX_WAKE only
 * when that number is not 0. Then 32 bits of futex flags, which glibc
 * folds into each futex op (op | FUTEX_PRIVATE_FLAG) ^ flags: 128 in a
 * process-shared semaphore, 0 in a private one. Elsewhere
 * zb__sem_count_waiter refuses and nothing is checked. */
#if defined(__linux__) && defined(__GLIBC__) &&                                \
    (defined(__x86_64__) || defined(__aarch64__)) &&                           \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && ATOMIC_LLONG_LOCK_FREE == 2
#define ZB_GLIBC_SEM_LAYOUT 1
#define ZB_SEM_FLAGS_OFFSET 8
_Static_assert(sizeof(sem_t) == 32 && _Alignof(sem_t) >= 8,
               "unexpected glibc sem_t");
#endif

/* Whether glibc can use sem's futex. Any process of the user can write
 * over /dev/shm/sem.NAME; with other futex flags the kernel refuses the op
 * (ENOSYS, EINVAL) and glibc aborts the process ("The futex facility
 * returned an unexpected error code."). One load and compare, before each
 * post and wait; a peer that writes between this and the call can still
 * make glibc abort (docs/GUARANTEES.md, "Trust"). */
static bool sem_intact(sem_t *sem) {
#ifdef ZB_GLIBC_SEM_LAYOUT
  unsigned flags = atomic_load_explicit(
      (_Atomic unsigned *)(void *)((char *)sem + ZB_SEM_FLAGS_OFFSET),
      memory_order_relaxed);
  return flags == 128 || flags == 0;
#else
  (void)sem;
  return true;
#endif
}

bool zb__sem_post(sem_t *sem) {
  return sem_intact(sem) && (sem_post(sem) == 0 || errno == EOVERFLOW);
}

/* The ring a semaphore belongs to: "/sem-w-NAME" or "/sem-r-NAME". */
static const char *sem_ring(const char *sem_name) {
  return sem_name + sizeof "/sem-w-" - 1;
}

int zb__sem_corrupt(const char *sem_name, const char *cost) {
  return zb__fail(ZB_EPROTO, "ring \"%s\": semaphore file /dev/shm/sem.%s is "
                  "corrupt: another process wrote over it%s",
                  sem_ring(sem_name), sem_name + 1, cost);
}

int zb__sem_check(sem_t *sem, const char *sem_name) {
  return sem_intact(sem) ? 0 : zb__sem_corrupt(sem_name, "");
}

int zb__sem_wait_until(sem_t *sem, const char *sem_name, const char *ring,
                       uint64_t deadline_ns) {
  struct timespec ts;
  int rc;
  if (sem_name != NULL && (rc = zb__sem_check(sem, sem_name)) < 0)
    return rc;
  if (deadline_ns == UINT64_MAX)
    deadline_ns = zb__now_ns() + UINT64_C(3600) * 1000000000u;
  ts.tv_sec = (time_t)(deadline_ns / 1000000000u);
  ts.tv_nsec = (long)(deadline_ns % 1000000000u);
  for (;;) {
    if (sem_clockwait(sem, CLOCK_MONOTONIC, &ts) == 0)
      return 0;
    if (errno == ETIMEDOUT)
      return ZB_ETIMEDOUT;
    if (errno != EINTR)
      return zb__fail_errno(errno, "ring \"%s\": waiting on a semaphore "
                            "(sem_clockwait)", ring);
  }
}

unsigned zb__sem_take_all(sem_t *sem, unsigned max) {
#ifdef ZB_GLIBC_SEM_LAYOUT
  /* What max sem_trywaits would take, in one compare-and-swap of the
   * value (low half) that leaves the sleepers (high half) alone; a post
   * that comes meanwhile fails the swap and is taken by the next try. */
  _Atomic uint64_t *data = (_Atomic uint64_t *)(void *)sem;
  uint64_t old = atomic_load_explicit(data, memory_order_relaxed);
  (void)max;
  while ((uint32_t)old != 0 &&
         !atomic_compare_exchange_weak_explicit(
             data, &old, old & ~(uint64_t)UINT32_MAX, memory_order_acquire,
             memory_order_relaxed)) {
  }
  return (uint32_t)old;
#else
  unsigned posts = 0;
  while (posts < max && sem_trywait(sem) == 0)
    posts++;
  return posts;
#endif
}

void zb__sem_take(sem_t *sem) {
  while (sem_trywait(sem) != 0 && errno == EINTR) {
  }
}

int zb__sem_count_waiter(sem_t *sem, int delta, const uint32_t **word) {
#ifdef ZB_GLIBC_SEM_LAYOUT
  _Atomic uint64_t *data = (_Atomic uint64_t *)(void *)sem;
  if (delta > 0)
    atomic_fetch_add(data, UINT64_C(1) << 32);
  else if (delta < 0)
    atomic_fetch_sub(data, UINT64_C(1) << 32);
  if (word != NULL)
    *word = (const uint32_t *)(const void *)sem;
  return 0;
#else
  (void)sem;
  (void)delta;
  (void)word;
  return zb__fail(ZB_ENOTSUP, "waiting on a semaphore's futex word needs "
                  "glibc's 64-bit sem_t layout (Linux, x86-64 or aarch64)");
#endif
}

long zb__sem_sleepers(sem_t *sem) {
#ifdef ZB_GLIBC_SEM_LAYOUT
  return (long)(atomic_load_explicit((_Atomic uint64_t *)(void *)sem,
                                     memory_order_acquire) >> 32);
#else
  (void)sem;
  return -1;
#endif
}

/* glibc keeps named semaphores as /dev/shm/sem.NAME; sem_open applies the
 * umask, so set the requested mode on the file afterwards. */
static void chmod_sem_file(const char *sem_name, unsigned mode) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "/dev/shm/sem.%s", sem_name + 1);
  (void)chmod(path, mode);
}

int zb__sem_create(const char *sem_name, unsigned mode, sem_t **out) {
  sem_t *sem;
  sem_unlink(sem_name);
  sem = sem_open(sem_name, O_CREAT | O_EXCL, (mode_t)mode, 0);
  if (sem == SEM_FAILED && errno == ENOSPC)
    return zb__fail(ZB_ENOSPC,
                    "cannot create semaphore %s of ring \"%s\": /dev/shm is "
                    "full (a semaphore takes one page): free some (df -h "
                    "/dev/shm) or give the container more (docker run "
                    "--shm-size=...)",
                    sem_name, sem_ring(sem_name));
  if (sem == SEM_FAILED)
    return zb__fail_errno(errno, "cannot create semaphore %s of ring \"%s\"",
                          sem_name, sem_ring(sem_name));
  chmod_sem_file(sem_name, mode);
  *out = sem;
  return 0;
}

int zb__sem_open(const char *sem_name, const char *ring, sem_t **out) {
  char path[PATH_MAX];
  struct stat st;
  sem_t *sem = sem_open(sem_name, 0);
  if (sem == SEM_FAILED) {
    if (errno == ENOENT)
      return zb__fail(ZB_ENOENT,
                      "ring \"%s\" has no semaphore %s: its reader is gone or "
                      "did not finish creating it",
                      ring, sem_name);
    return zb__fail_errno(errno, "cannot open semaphore %s of ring \"%s\"",
                          sem_name, ring);
  }
  /* glibc maps the file without looking at its size: one cut short (by
   * any process that may write it) faults, SIGBUS, at the first touch of
   * the semaphore. Looked at once here; a cut made later still faults
   * (docs/GUARANTEES.md, "Limits"). */
  snprintf(path, sizeof path, "/dev/shm/sem.%s", sem_name + 1);
  if (stat(path, &st) == 0 && (uint64_t)st.st_size < sizeof(sem_t)) {
    sem_close(sem);
    return zb__fail(ZB_EPROTO, "ring \"%s\": semaphore file %s is "
                    "truncated (%llu bytes, a semaphore takes %zu): another "
                    "process cut it short", ring, path,
                    (unsigned long long)st.st_size, sizeof(sem_t));
  }
  *out = sem;
  return 0;
}

/* Opens PATH, a file under a ring's name that anyone may have put there,
 * without following a symlink and without blocking on a FIFO (opening one
 * to read waits for a writer for ever). -1 with errno, EINVAL for anything
 * but a regular file. */
static int open_regular(const char *path, int flags, mode_t mode) {
  struct stat st;
  int fd = open(path, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode);

  if (fd < 0) {
    if (errno == EISDIR) /* a directory, opened to write */
      errno = EINVAL;
    return -1;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    errno = EINVAL;
    return -1;
  }
  return fd;
}

/* --------------------------------------------------------- shared memory */

/* A keep_address_range reader's address range (zb_range in zerobuffer.h).
 * Every field is retired_lock's. It is freed once nothing refers to it:
 * its reader gone (owned false), no pin, and either never retired or
 * unmapped by zb__reap_retired. */
struct zb_range {
  struct zb_range *next; /* in the retired list */
  void *base;
  size_t size;
  uint64_t retired_ns;
  unsigned pins;
  bool owned;   /* by its reader, until reader_free */
  bool retired; /* in the retired list: zero pages, not unmapped yet */
};

/* Retired ranges, oldest first, each unmapped by zb__reap_retired once it
 * is retire_grace_ms old and not pinned. */
static pthread_mutex_t retired_lock = PTHREAD_MUTEX_INITIALIZER;
static zb_range *retired_head;
static zb_range **retired_tail = &retired_head;
static _Atomic int retire_grace_ms = ZB_RETIRE_GRACE_MS;

int zb__set_retire_grace_ms(int ms) {
  return atomic_exchange(&retire_grace_ms, ms);
}

zb_range *zb__range_new(void) {
  zb_range *range = calloc(1, sizeof *range);
  if (range != NULL)
    range->owned = true;
  return range;
}

void zb__range_pin(zb_range *range) {
  pthread_mutex_lock(&retired_lock);
  range->pins++;
  pthread_mutex_unlock(&retired_lock);
}

bool zb__range_pinned(zb_range *range) {
  bool pinned;
  pthread_mutex_lock(&retired_lock);
  pinned = range->pins > 0;
  pthread_mutex_unlock(&retired_lock);
  return pinned;
}

/* Frees the range when nothing refers to it any more (retired_lock held). */
static bool range_unused(const zb_range *range) {
  return !range->owned && !range->retired && range->pins == 0;
}

void zb_range_unpin(zb_range *range) {
  bool unused;
  if (range == NULL)
    return;
  pthread_mutex_lock(&retired_lock);
  if (range->pins == 0) { /* unpinned twice: wrapping would pin it for good */
    pthread_mutex_unlock(&retired_lock);
    return;
  }
  range->pins--;
  unused = range_unused(range);
  pthread_mutex_unlock(&retired_lock);
  /* A retired range waits for the next reap (its grace may not be over). */
  if (unused)
    free(range);
}

void zb__range_disown(zb_range *range) {
  bool unused;
  if (range == NULL)
    return;
  pthread_mutex_lock(&retired_lock);
  range->owned = false;
  unused = range_unused(range);
  pthread_mutex_unlock(&retired_lock);
  if (unused)
    free(range);
}

/* vm.overcommit_memory, or the tests' stand-in (-1: none). */
static _Atomic int overcommit_mode = -1;

int zb__set_overcommit_mode(int mode) {
  return atomic_exchange(&overcommit_mode, mode);
}

/* Read at each retire, not once: an administrator may change it while the
 * process runs, and a close is rare. Unreadable (no /proc): as mode 0. */
static bool overcommit_never(void) {
  int mode = atomic_load(&overcommit_mode), fd;
  char c = '0';
  if (mode >= 0)
    return mode == 2;
  fd = open("/proc/sys/vm/overcommit_memory", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (read(fd, &c, 1) != 1)
      c = '0';
    close(fd);
  }
  return c == '2';
}

void zb__segment_retire(zb_segment *seg, zb_range *range) {
  void *zeros = MAP_FAILED, *fresh;
  if (seg->base == NULL || seg->base == MAP_FAILED)
    return;
  /* Writable, so that a stale view written to (JS's are writable) does not
   * fault either: its writes land in private pages that go with the range.
   * Under vm.overcommit_memory=2 the kernel ignores MAP_NORESERVE and would
   * charge the whole range to the commit limit for its grace, so there
   * reads alone are spared. Made elsewhere and moved over the ring in one
   * mremap: a MAP_FIXED that the kernel refuses may already have unmapped
   * the ring (before Linux 6.12), leaving a hole another thread's mmap can
   * take, which a second MAP_FIXED or munmap would then destroy. */
  if (!overcommit_never()) {
    fresh = mmap(NULL, seg->map_size, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (fresh != MAP_FAILED) {
      zeros = mremap(fresh, seg->map_size, seg->map_size,
                     MREMAP_MAYMOVE | MREMAP_FIXED, seg->base);
      if (zeros == MAP_FAILED)
        munmap(fresh, seg->map_size);
    }
  }
  /* Read-only private pages are never charged, and take no more address
   * space than the ring: nothing refuses this once the ring is unmapped. */
  if (zeros == MAP_FAILED)
    zeros = mmap(seg->base, seg->map_size, PROT_READ,
                 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
                 0);
  if (zeros == MAP_FAILED)
    return; /* zb__segment_close unmaps it */
  seg->base = NULL; /* not zb__segment_close's to unmap */
  pthread_mutex_lock(&retired_lock);
  range->base = zeros;
  range->size = seg->map_size;
  range->retired_ns = zb__now_ns();
  range->retired = true;
  range->next = NULL;
  *retired_tail = range;
  retired_tail = &range->next;
  pthread_mutex_unlock(&retired_lock);
}

#if defined(__SANITIZE_THREAD__)
#define ZB_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ZB_TSAN 1
#endif
#endif

#ifdef ZB_TSAN
/* The holder of a reservation may still write into it while it is copied
 * (such a write is lost or left in the ring: zerobuffer.h says so), a race
 * by design that ThreadSanitizer would report at every destroy with a
 * reservation open: its build copies without instrumentation (volatile:
 * not turned back into an intercepted memcpy). */
__attribute__((no_sanitize_thread)) static void
copy_racing_holder(void *to, const void *from, size_t n) {
  volatile uint8_t *d = to;
  const volatile uint8_t *s = from;
  while (n-- > 0)
    *d++ = *s++;
}
#else
#define copy_racing_holder memcpy
#endif

void zb__segment_make_private(zb_segment *seg, uint8_t *bytes, uint64_t size) {
  const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  /* The header's page stays shared: the detach (writer_pid) is written
   * there after this. */
  uintptr_t start = (uintptr_t)bytes & ~(page - 1);
  uintptr_t end = ((uintptr_t)bytes + size + page - 1) & ~(page - 1);
  void *fresh, *moved;
  if (start < (uintptr_t)seg->base + page)
    start = (uintptr_t)seg->base + page;
  if (end <= start)
    return;
  /* Made elsewhere and moved over the bytes in one mremap, as in
   * zb__segment_retire (a refused MAP_FIXED may have unmapped them).
   * Under vm.overcommit_memory=2 the mmap may be refused: then they stay
   * shared. Populated at once: the copy, under the writer's lock, takes
   * no fault per page (a third less time for 100 MB). */
  fresh = mmap(NULL, end - start, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (fresh == MAP_FAILED)
    return;
  copy_racing_holder(fresh, (void *)start, end - start);
  moved = mremap(fresh, end - start, end - start,
                 MREMAP_MAYMOVE | MREMAP_FIXED, (void *)start);
  if (moved == MAP_FAILED)
    munmap(fresh, end - start);
}

void zb__reap_retired(void) {
  uint64_t grace_ns =
      (uint64_t)atomic_load(&retire_grace_ms) * UINT64_C(1000000);
  uint64_t now = zb__now_ns();
  zb_range **link = &retired_head, *range;

  pthread_mutex_lock(&retired_lock);
  while ((range = *link) != NULL && now - range->retired_ns >= grace_ns) {
    if (range->pins > 0) { /* a view into it lives: stays until unpinned */
      link = &range->next;
      continue;
    }
    *link = range->next;
    munmap(range->base, range->size);
    range->retired = false;
    if (range_unused(range))
      free(range);
  }
  retired_tail = link;
  while (*retired_tail != NULL)
    retired_tail = &(*retired_tail)->next;
  pthread_mutex_unlock(&retired_lock);
}

void zb__segment_close(zb_segment *seg) {
  if (seg->base != NULL && seg->base != MAP_FAILED)
    munmap(seg->base, seg->map_size);
  if (seg->fd >= 0)
    close(seg->fd);
  memset(seg, 0, sizeof *seg);
  seg->fd = -1;
}

static void describe_uid(uid_t uid, char *out, size_t cap);
static void describe_gid(gid_t gid, char *out, size_t cap);
static const char *how_to_share(const struct stat *st, bool writable);

int zb__segment_open(zb_segment *seg, const char *name, const zb_names *names,
                     bool writable, zb_unready *unready) {
  char path[sizeof "/dev/shm" + sizeof names->shm], who[128], group[128];
  struct stat st;
  int rc;

  memset(seg, 0, sizeof *seg);
  if (unready != NULL)
    unready->state[0] = '\0';
  /* O_NONBLOCK: a FIFO under the name would block the open for ever */
  seg->fd = shm_open(names->shm,
                     (writable ? O_RDWR : O_RDONLY) | O_NONBLOCK | O_CLOEXEC, 0);
  if (seg->fd < 0) {
    rc = errno;
    if (rc == ENOENT)
      return zb__fail(ZB_ENOENT,
                      "no ring named \"%s\" (/dev/shm/%s does not exist): "
                      "no reader has created it; start the reader first",
                      name, name);
    snprintf(path, sizeof path, "/dev/shm%s", names->shm);
    /* a directory opened to write: glibc's shm_open says EINVAL */
    if ((rc == EISDIR || rc == EINVAL) && lstat(path, &st) == 0 &&
        S_ISDIR(st.st_mode))
      return zb__fail(ZB_EPROTO,
                      "ring \"%s\": %s is a directory: not a ZeroBuffer "
                      "segment", name, path);
    /* shm_open's O_NOFOLLOW: a symlink is never followed (it could point
     * anywhere), and ELOOP would say nothing of that */
    if (rc == ELOOP && lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
      if (st.st_uid == geteuid())
        return zb__fail(ZB_EPROTO,
                        "ring \"%s\": %s is a symbolic link, which is never "
                        "followed: not a ZeroBuffer segment",
                        name, path);
      describe_uid(st.st_uid, who, sizeof who);
      return zb__fail(ZB_EACCES,
                      "ring \"%s\": %s belongs to %s, not to this user (uid "
                      "%u): a symbolic link, which is never followed, so no "
                      "ZeroBuffer segment; not ours to remove",
                      name, path, who, (unsigned)geteuid());
    }
    if (rc == EACCES) { /* say whose, and how to share it */
      if (stat(path, &st) == 0 && st.st_uid != geteuid()) {
        describe_uid(st.st_uid, who, sizeof who);
        describe_gid(st.st_gid, group, sizeof group);
        return zb__fail(ZB_EACCES,
                        "cannot open ring \"%s\": %s belongs to %s and %s, "
                        "and its mode (%04o) does not let this user (uid %u) "
                        "%s it: %s",
                        name, path, who, group, (unsigned)(st.st_mode & 07777),
                        (unsigned)geteuid(), writable ? "write" : "read",
                        how_to_share(&st, writable));
      }
    }
    return zb__fail_errno(rc, "cannot open ring \"%s\"", name);
  }
  if (fstat(seg->fd, &st) != 0) {
    rc = zb__fail_errno(errno, "cannot stat ring \"%s\"", name);
    goto fail;
  }
  if (!S_ISREG(st.st_mode)) {
    rc = zb__fail(ZB_EPROTO,
                  "ring \"%s\": /dev/shm%s is not a regular file (a FIFO, a "
                  "device, ...): not a ZeroBuffer segment",
                  name, names->shm);
    goto fail;
  }
  /* A reader sizes its new segment right after creating it (ftruncate:
   * empty, then its full size): empty is a ring still being created, like
   * a zero or half-filled header (zb__segment_validate), and a connecting
   * writer tries again. Only a few bytes are never a ring. */
  if (st.st_size == 0) {
    rc = zb__fail_unready(name, unready, "its segment is empty yet");
    goto fail;
  }
  if ((uint64_t)st.st_size < ZB_OIEB_SIZE) {
    rc = zb__fail(ZB_EPROTO,
                  "ring \"%s\" is %lld bytes, smaller than its 128-byte "
                  "header: not a ZeroBuffer segment",
                  name, (long long)st.st_size);
    goto fail;
  }
  seg->map_size = (uint64_t)st.st_size;
  /* The reader and writer touch every page of the ring over and over:
   * fault it in now, not on the first frames. A health snapshot needs one
   * page only. */
  seg->base = mmap(NULL, seg->map_size, PROT_READ | (writable ? PROT_WRITE : 0),
                   MAP_SHARED | (writable ? MAP_POPULATE : 0), seg->fd, 0);
  if (seg->base == MAP_FAILED) {
    seg->base = NULL;
    rc = zb__fail_errno(errno, "cannot map ring \"%s\"", name);
    goto fail;
  }
  rc = zb__segment_validate(seg, name, unready);
  if (rc < 0)
    goto fail;
  return 0;

fail:
  zb__segment_close(seg);
  return rc;
}

int zb__segment_create(zb_segment *seg, const char *name, const zb_names *names,
                       uint64_t total_size, unsigned mode) {
  int rc;

  memset(seg, 0, sizeof *seg);
  seg->fd = shm_open(names->shm, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
                     (mode_t)mode);
  if (seg->fd < 0) {
    seg->fd = -1;
    return zb__fail_errno(errno, "cannot create /dev/shm/%s for ring \"%s\"",
                          name, name);
  }
  if (fchmod(seg->fd, (mode_t)mode) != 0 ||
      ftruncate(seg->fd, (off_t)total_size) != 0) {
    rc = zb__fail_errno(errno, "cannot size ring \"%s\" to %llu bytes", name,
                        (unsigned long long)total_size);
    goto fail;
  }
  rc = posix_fallocate(seg->fd, 0, (off_t)total_size);
  if (rc != 0 && rc != EOPNOTSUPP && rc != EINVAL) {
    rc = zb__fail_errno(rc,
                        "cannot reserve %llu bytes (%.1f MiB) in /dev/shm for "
                        "ring \"%s\": free some (df -h /dev/shm) or give the "
                        "container more (docker run --shm-size=...)",
                        (unsigned long long)total_size,
                        (double)total_size / (1024.0 * 1024.0), name);
    goto fail;
  }
  seg->map_size = total_size;
  seg->base = mmap(NULL, total_size, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_POPULATE, seg->fd, 0);
  if (seg->base == MAP_FAILED) {
    seg->base = NULL;
    rc = zb__fail_errno(errno, "cannot map ring \"%s\"", name);
    goto fail;
  }
  return 0;

fail:
  zb__segment_close(seg);
  shm_unlink(names->shm);
  return rc;
}

void zb__unlink_ring_objects(const zb_names *names) {
  shm_unlink(names->shm);
  sem_unlink(names->sem_w);
  sem_unlink(names->sem_r);
}

/* ----------------------------------------------------------- ownership */

/* "user nobody (uid 65534)", or "uid 1234" when it has no passwd entry. */
static void describe_uid(uid_t uid, char *out, size_t cap) {
  struct passwd pw, *found = NULL;
  char buf[1024];
  if (getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found != NULL)
    snprintf(out, cap, "user %s (uid %u)", found->pw_name, (unsigned)uid);
  else
    snprintf(out, cap, "uid %u", (unsigned)uid);
}

/* "group video (gid 44)", or "gid 1234" when it has no group entry. */
static void describe_gid(gid_t gid, char *out, size_t cap) {
  struct group gr, *found = NULL;
  char buf[4096];
  if (getgrgid_r(gid, &gr, buf, sizeof buf, &found) == 0 && found != NULL)
    snprintf(out, cap, "group %s (gid %u)", found->gr_name, (unsigned)gid);
  else
    snprintf(out, cap, "gid %u", (unsigned)gid);
}

static bool process_in_group(gid_t gid) {
  int i, n = getgroups(0, NULL);
  gid_t *groups = n > 0 ? malloc((size_t)n * sizeof *groups) : NULL;
  bool in = getegid() == gid;

  if (groups != NULL) {
    n = getgroups(n, groups);
    for (i = 0; i < n && !in; i++)
      in = groups[i] == gid;
    free(groups);
  }
  return in;
}

/* What lets another user at a ring: its files get the group of the reader
 * that creates them (its primary group; nothing changes it), and its mode
 * must give that group access. */
static const char *how_to_share(const struct stat *st, bool writable) {
  mode_t need = writable ? 06 : 04;
  bool group_may = ((st->st_mode >> 3) & need) == need;

  if (!process_in_group(st->st_gid))
    return group_may
               ? "this user is not in that group: add it to the group, or "
                 "start the reader with a group this user is in as its "
                 "primary group (systemd: Group=; or sg/newgrp), or run both "
                 "as one user"
               : "start the reader with a group this user is in as its "
                 "primary group (systemd: Group=; or sg/newgrp) and "
                 "mode=0660, or run both as one user";
  return writable ? "this user is in that group, but the mode does not let "
                    "the group write: start the reader with mode=0660, or "
                    "run both as one user"
                  : "this user is in that group, but the mode does not let "
                    "the group read: start the reader with mode=0640 (0660 "
                    "for a writer), or run both as one user";
}

/* path belongs to another user: never ours to remove or take over, even
 * for root (which the sticky directories would not stop). The advice fits
 * the operation: a reader creating the ring, or a removal by name. */
static int refuse_foreign(const char *name, const char *path, uid_t owner,
                          bool removing) {
  struct passwd pw, *found = NULL;
  char who[128], buf[1024], cleanup[ZB__CLEANUP_MAX],
      how[ZB__CLEANUP_MAX + 128];
  describe_uid(owner, who, sizeof who);
  zb__cleanup_command(name, cleanup, sizeof cleanup);
  if (!removing)
    return zb__fail(ZB_EACCES,
                    "ring \"%s\": %s belongs to %s, not to this user (uid "
                    "%u): the name is taken by that user's ring (live or left "
                    "over) or file, which is not ours to take over or remove. "
                    "Pick another name, or ask that user to close or remove "
                    "it (%s, run as that user)",
                    name, path, who, (unsigned)geteuid(), cleanup);
  if (geteuid() == 0 &&
      getpwuid_r(owner, &pw, buf, sizeof buf, &found) == 0 && found != NULL)
    snprintf(how, sizeof how, "runuser -u %s -- %s", found->pw_name, cleanup);
  else
    snprintf(how, sizeof how, "ask that user to run %s", cleanup);
  return zb__fail(ZB_EACCES,
                  "ring \"%s\": %s belongs to %s, not to this user (uid "
                  "%u): that user's ring (live or left over) or file is not "
                  "ours to remove; remove it as that user (%s)",
                  name, path, who, (unsigned)geteuid(), how);
}

/* Our readers record "PID START_TIME\n" in the lock file they hold
 * (zb__lock_record_owner); the peers' readers write nothing there. Reads
 * it from LOCK_FD; false when the file holds no such record. */
static bool read_lock_record(int lock_fd, zb_process *owner) {
  char content[64];
  unsigned long long pid, start;
  ssize_t n = pread(lock_fd, content, sizeof content - 1, 0);

  if (n <= 0)
    return false;
  content[n] = '\0';
  if (sscanf(content, "%llu %llu", &pid, &start) != 2)
    return false;
  owner->pid = pid;
  owner->start_time = start;
  return true;
}

/* Whether the segment at PATH has no byte but zeros in its header (also
 * when it is shorter). */
static bool header_is_zero(const char *path) {
  uint8_t header[ZB_OIEB_SIZE];
  ssize_t n;
  int fd;

  if ((fd = open_regular(path, O_RDONLY, 0)) < 0)
    return false;
  n = pread(fd, header, sizeof header, 0);
  close(fd);
  if (n < 0)
    return false;
  while (n > 0)
    if (header[--n] != 0)
      return false;
  return true;
}

/* A reader killed while creating its ring leaves a segment whose header is
 * still zero (maybe of size 0), next to its lock file naming it. */
static bool half_created_by_dead_reader(const char *path, int lock_fd) {
  zb_process owner;

  if (lock_fd < 0 || !read_lock_record(lock_fd, &owner) ||
      zb__lock_owner_alive(lock_fd, owner.pid))
    return false;
  return header_is_zero(path);
}

/* Whether a reader that holds the lock (no creator is alive) may remove the
 * unready segment at PATH, SIZE bytes, as its dead creator's: an empty one
 * always (a creator killed between creating and sizing it: it holds no
 * byte to lose), a zero header only beside the lock file LOCK_FD naming its
 * dead reader (other bytes may be someone's). */
static bool unready_is_stale(const char *path, off_t size, int lock_fd) {
  return size == 0 || half_created_by_dead_reader(path, lock_fd);
}

int zb__segment_unready(const char *name, const zb_names *names,
                        const zb_unready *unready) {
  char path[PATH_MAX + 16], content[64], creator[48] = "";
  unsigned long long pid, start;
  struct stat st;
  bool held, stale;
  ssize_t n;
  int fd;

  snprintf(path, sizeof path, "/dev/shm%s", names->shm);
  if (lstat(path, &st) != 0)
    return ZB_ENOENT; /* not there at all: zb__segment_open said so */
  /* Read-only and shared: we only look, also at another user's ring we may
   * write to; a reader that creates the ring meanwhile retries its flock */
  fd = open_regular(names->lock, O_RDONLY, 0);
  if (fd < 0 && errno != ENOENT)
    return zb__fail(ZB_ENOENT,
                    "ring \"%s\" is not initialised yet (and %s cannot be "
                    "read to tell whether its reader is alive); try again",
                    name, names->lock);
  held = fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  if (fd >= 0 && (n = pread(fd, content, sizeof content - 1, 0)) > 0) {
    content[n] = '\0';
    if (sscanf(content, "%llu %llu", &pid, &start) == 2)
      snprintf(creator, sizeof creator, " (pid %llu)", pid);
  }
  if (held) {
    close(fd);
    return zb__fail(ZB_ENOENT,
                    "ring \"%s\" is still being created by its reader%s, "
                    "which holds %s (%s); try again",
                    name, creator, names->lock, zb__unready_state(unready));
  }
  if (lstat(path, &st) != 0) {
    if (fd >= 0)
      close(fd);
    return ZB_ENOENT; /* gone meanwhile (a creator that gave up) */
  }
  stale = unready_is_stale(path, st.st_size, fd);
  if (fd >= 0)
    close(fd);
  if (stale) {
    /* (an empty file may also be one a program made and left: "gone" is
     * all we know; only its owner may remove it) */
    char cleanup[ZB__CLEANUP_MAX], remedy[ZB__CLEANUP_MAX + 128];
    zb__cleanup_command(name, cleanup, sizeof cleanup);
    if (st.st_uid == geteuid())
      snprintf(remedy, sizeof remedy, "a reader of this name removes it when "
               "it creates the ring, and so does %s", cleanup);
    else
      snprintf(remedy, sizeof remedy, "it belongs to uid %u, who may remove "
               "it (%s)", (unsigned)st.st_uid, cleanup);
    return zb__fail(ZB_EREADERGONE,
                    "ring \"%s\" was left half-created: %s is %s and no "
                    "reader holds %s, so whoever made it%s is gone; %s",
                    name, path, st.st_size == 0 ? "empty" : "not initialised",
                    names->lock, creator, remedy);
  }
  char quoted[ZB__QUOTED_MAX];
  if (!header_is_zero(path))
    return zb__fail(ZB_EPROTO,
                    "ring \"%s\": %s was left half-created (%s) and no "
                    "reader holds %s: its creator is gone, or it is no ring; "
                    "a reader of this name refuses it too (not ours to "
                    "remove); remove it if you know it is garbage (rm %s)",
                    name, path, zb__unready_state(unready), names->lock,
                    zb__shell_quote(path, quoted, sizeof quoted));
  return zb__fail(ZB_EPROTO,
                  "ring \"%s\": %s has an all-zero header, no reader holds "
                  "%s and no lock file names a dead reader that made it: it "
                  "is no ring being created, and a reader of this name "
                  "refuses it too (not ours to remove); remove it if you "
                  "know it is garbage (rm %s)",
                  name, path, names->lock,
                  zb__shell_quote(path, quoted, sizeof quoted));
}

/* The files of ring NAMES in /dev/shm: its segment, then its sem-w and sem-r
 * semaphores. */
static void ring_files(const zb_names *names, char path[3][PATH_MAX + 16]) {
  snprintf(path[0], PATH_MAX + 16, "/dev/shm%s", names->shm);
  snprintf(path[1], PATH_MAX + 16, "/dev/shm/sem.%s", names->sem_w + 1);
  snprintf(path[2], PATH_MAX + 16, "/dev/shm/sem.%s", names->sem_r + 1);
}

int zb__check_leftovers(const char *name, const zb_names *names, int lock_fd,
                        bool removing, uint64_t *reader_pid,
                        uint64_t *writer_pid) {
  char path[3][PATH_MAX + 16], reason[ZB__ERROR_MAX];
  zb_segment seg;
  zb_unready unready;
  struct stat st;
  int i, rc;

  *reader_pid = *writer_pid = 0;
  ring_files(names, path);
  for (i = 2; i >= 0; i--) {
    if (lstat(path[i], &st) != 0)
      continue;
    /* no cleanup removes it (no ring is there), nor does sem_unlink */
    if (i > 0 && S_ISDIR(st.st_mode)) {
      char who[128], quoted[ZB__QUOTED_MAX];
      describe_uid(st.st_uid, who, sizeof who);
      return zb__fail(ZB_EPROTO,
                      "ring \"%s\": %s is a directory (of %s), not a "
                      "semaphore, so the ring cannot be made: pick another "
                      "name, or remove it if you know it is garbage (rm -r "
                      "%s, as its owner)",
                      name, path[i], who,
                      zb__shell_quote(path[i], quoted, sizeof quoted));
    }
    if (st.st_uid != geteuid())
      return refuse_foreign(name, path[i], st.st_uid, removing);
  }
  if (lstat(path[0], &st) != 0)
    return 0; /* no segment: nothing of value can be lost */
  rc = S_ISREG(st.st_mode)
           ? zb__segment_open(&seg, name, names, false, &unready)
           : zb__fail(ZB_EPROTO, "it is not a regular file");
  /* Empty, a zero or a half-filled header (ENOENT, "still being
   * created"): we hold the lock, so its creator is dead, or it is not a
   * ring at all. */
  if ((rc == ZB_ENOENT && unready_is_stale(path[0], st.st_size, lock_fd)) ||
      (rc == ZB_EPROTO && half_created_by_dead_reader(path[0], lock_fd)))
    return 0;
  if (rc == ZB_ENOENT) {
    if (lstat(path[0], &st) != 0)
      return 0; /* gone meanwhile */
    rc = st.st_size == 0 ? zb__fail(ZB_EPROTO, "it is empty")
         : header_is_zero(path[0])
             ? zb__fail(ZB_EPROTO, "its header is all zero")
             : zb__fail(ZB_EPROTO, "%s", zb__unready_state(&unready));
  }
  if (rc == ZB_EPROTO) {
    char quoted[ZB__QUOTED_MAX];
    snprintf(reason, sizeof reason, "%s", zb_last_error());
    return zb__fail(ZB_EPROTO,
                    "ring \"%s\": %s exists and is not a ZeroBuffer ring "
                    "(%s), so it is not ours to remove. Pick another name, or "
                    "remove it if you know it is garbage (rm -r %s)",
                    name, path[0], reason,
                    zb__shell_quote(path[0], quoted, sizeof quoted));
  }
  if (rc < 0)
    return rc;
  *reader_pid = zb__load_acquire(&seg.oieb->reader_pid);
  *writer_pid = zb__load_acquire(&seg.oieb->writer_pid);
  zb__segment_close(&seg);
  return 0;
}

/* ------------------------------------------------------------------ locks */

/* ZB_LOCK_DIR is shared by every user of the machine, like /tmp: sticky and
 * world-writable, so each user can lock its own rings and no other user can
 * remove or replace its lock files, except the directory's owner (root, or
 * the user whose process made it first: the sticky bit lets a directory's
 * owner delete anything in it, so on a multi-user host root should make it,
 * as the README says). Refused: a symlink (it could point anywhere), and a
 * directory another user left writable for others without the sticky bit
 * (they could swap our lock files). */
static int ensure_lock_dir(const char *name) {
  struct stat st;
  if (mkdir(ZB_LOCK_DIR, 0700) == 0)
    return chmod(ZB_LOCK_DIR, 01777) == 0
               ? 0
               : zb__fail_errno(errno, "ring \"%s\": cannot set the mode "
                                "of " ZB_LOCK_DIR, name);
  if (errno != EEXIST)
    return zb__fail_errno(errno, "ring \"%s\": cannot create " ZB_LOCK_DIR,
                          name);
  if (lstat(ZB_LOCK_DIR, &st) != 0 || !S_ISDIR(st.st_mode))
    return zb__fail(ZB_EACCES, "ring \"%s\": " ZB_LOCK_DIR " exists and is "
                    "not a directory (a symlink?): remove it", name);
  if (st.st_uid == geteuid()) {
    if ((st.st_mode & 07777) != 01777)
      (void)chmod(ZB_LOCK_DIR, 01777); /* made by an older version: share it */
    return 0;
  }
  if ((st.st_mode & 0022) != 0 && (st.st_mode & S_ISVTX) == 0)
    return zb__fail(ZB_EACCES,
                    "ring \"%s\": " ZB_LOCK_DIR " belongs to uid %u and "
                    "others may write to it without the sticky bit, so they "
                    "could replace lock files: its owner should run chmod "
                    "1777 " ZB_LOCK_DIR,
                    name, (unsigned)st.st_uid);
  return 0;
}

/* Opens and locks path without following symlinks; retries when a sweeper
 * unlinked the file between our open and flock (the lock would then guard
 * nothing). 0, ZB_EEXIST when another process holds it, or an errno code.
 * A probe opens it read-only (flock needs no more): a lock file whose mode
 * leaves its owner read but not write is still seen held. */
static int lock_file(const char *path, unsigned mode, bool create,
                     bool writable, int *out) {
  struct stat by_fd, by_path;
  int attempt, fd;

  for (attempt = 0; attempt < 8; attempt++) {
    fd = open_regular(path, (writable ? O_RDWR : O_RDONLY) |
                                (create ? O_CREAT : 0), (mode_t)mode);
    if (fd < 0)
      return -errno;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      close(fd);
      return err == EWOULDBLOCK ? ZB_EEXIST : -err;
    }
    if (fstat(fd, &by_fd) == 0 && stat(path, &by_path) == 0 &&
        by_fd.st_dev == by_path.st_dev && by_fd.st_ino == by_path.st_ino) {
      *out = fd;
      return 0;
    }
    close(fd);
    if (!create)
      return -ENOENT;
  }
  return -EAGAIN;
}

static int refuse_odd_lock(const char *name, const char *lock) {
  char quoted[ZB__QUOTED_MAX];
  return zb__fail(ZB_EPROTO,
                  "ring \"%s\": %s is not a regular file (a FIFO, a "
                  "directory, ...), so it is no lock file of ours: pick "
                  "another name, or remove it if you know it is garbage "
                  "(rm -r %s)",
                  name, lock, zb__shell_quote(lock, quoted, sizeof quoted));
}

int zb__lock_acquire(const char *name, const zb_names *names, unsigned mode,
                     int *fd) {
  int rc, attempt;

  rc = ensure_lock_dir(name);
  if (rc < 0)
    return rc;
  /* A sweeper in another process holds a stale lock for a moment while it
   * removes the ring; a live reader holds it for good. */
  for (attempt = 0; attempt < 10; attempt++) {
    rc = lock_file(names->lock, mode, true, true, fd);
    if (rc != ZB_EEXIST)
      break;
    nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
  }
  if (rc == ZB_EEXIST)
    return zb__fail(ZB_EEXIST,
                    "ring \"%s\" is already owned by a live reader (it holds "
                    "%s): close it or pick another name",
                    name, names->lock);
  if (rc == -EACCES) {
    struct stat st;
    if (lstat(names->lock, &st) == 0 && st.st_uid != geteuid())
      return refuse_foreign(name, names->lock, st.st_uid, false);
    return zb__fail(ZB_EACCES,
                    "ring \"%s\": cannot open %s: permission denied ("
                    ZB_LOCK_DIR " is not shared: it should be mode 1777)",
                    name, names->lock);
  }
  if (rc == -EINVAL)
    return refuse_odd_lock(name, names->lock);
  if (rc < 0)
    return zb__fail_errno(-rc, "ring \"%s\": cannot lock %s", name,
                          names->lock);
  {
    struct stat st; /* root opens anyone's lock file: it must not take it */
    if (fstat(*fd, &st) == 0 && st.st_uid != geteuid()) {
      close(*fd);
      *fd = -1;
      return refuse_foreign(name, names->lock, st.st_uid, false);
    }
  }
  if (fchmod(*fd, (mode_t)mode) != 0) {
    rc = zb__fail_errno(errno, "ring \"%s\": cannot set the mode of %s",
                        name, names->lock);
    close(*fd);
    *fd = -1;
  }
  return rc;
}

bool zb__lock_owner_alive(int lock_fd, uint64_t pid) {
  zb_process owner;
  uint64_t start;
  bool alive = zb__process_probe(pid, &start);

  if (read_lock_record(lock_fd, &owner) && owner.pid == pid &&
      owner.start_time != 0 && start != 0)
    return alive && start == owner.start_time; /* else the pid was recycled */
  return alive;
}

bool zb__lock_records_reader(const char *lock_path, uint64_t pid) {
  zb_process owner;
  uint64_t start;
  bool recorded;
  int fd = open_regular(lock_path, O_RDONLY, 0);

  if (fd < 0)
    return false;
  recorded = pid != 0 && read_lock_record(fd, &owner) && owner.pid == pid;
  close(fd);
  if (!recorded)
    return false;
  zb__process_probe(pid, &start); /* a recycled pid is another process */
  return owner.start_time == 0 || start == 0 || start == owner.start_time;
}

int zb__lock_record_owner(int lock_fd, const char *name,
                          const char *lock_path) {
  char content[64];
  uint64_t start;
  int len;

  zb__process_probe(zb__self_pid(), &start);
  len = snprintf(content, sizeof content, "%llu %llu\n",
                 (unsigned long long)zb__self_pid(), (unsigned long long)start);
  if (ftruncate(lock_fd, 0) != 0 || pwrite(lock_fd, content, (size_t)len, 0) != len)
    return zb__fail_errno(errno, "ring \"%s\": cannot write %s", name,
                          lock_path);
  return 0;
}

/* Whether /dev/shm holds a semaphore of ring NAME: any file but a
 * directory (a stray one: sem_unlink removes it, a symlink itself and not
 * what it points to). */
static bool has_semaphores(const zb_names *names) {
  char path[3][PATH_MAX + 16];
  struct stat st;
  int i;

  ring_files(names, path);
  for (i = 1; i < 3; i++)
    if (lstat(path[i], &st) == 0 && !S_ISDIR(st.st_mode))
      return true;
  return false;
}

/* Whether the segment or a semaphore of the ring is another user's file. */
static bool has_foreign_files(const zb_names *names) {
  char path[3][PATH_MAX + 16];
  struct stat st;
  int i;

  ring_files(names, path);
  for (i = 0; i < 3; i++)
    if (lstat(path[i], &st) == 0 && st.st_uid != geteuid())
      return true;
  return false;
}

/* What is left of ring NAME and who is alive in it. With took_lock (to
 * remove it), a free lock file stays locked in *lock_fd (so nobody creates
 * the ring while it is being removed), and a segment without a lock file
 * gets one, made and locked here as a reader would (*took_lock: the caller
 * unlinks it while it holds it): a reader creating the ring meanwhile then
 * holds it first (alive) or waits for ours, instead of having the segment
 * it has just made removed under it. Not when a file of the ring is another
 * user's (refused anyway): that user's reader creating the ring meanwhile
 * would find our lock file and fail. Otherwise the lock is released at
 * once. */
static int inspect_ring(const char *name, zb_ring_entry *entry, int *lock_fd,
                        bool *took_lock) {
  char path[sizeof "/dev/shm" + sizeof ((zb_names *)0)->shm];
  zb_names names;
  zb_segment seg;
  struct stat st;
  int rc, fd = -1;
  uint64_t start;
  bool lock_denied = false;

  if ((rc = zb__names(name, &names)) < 0)
    return rc;
  snprintf(path, sizeof path, "/dev/shm%s", names.shm);
  memset(entry, 0, sizeof *entry);
  strcpy(entry->name, name);
  entry->has_lock = lstat(names.lock, &st) == 0;
  entry->has_semaphores = has_semaphores(&names);
  if (entry->has_lock) {
    rc = lock_file(names.lock, 0600, false, false, &fd);
    entry->reader_alive = rc == ZB_EEXIST; /* a live reader holds it */
    /* another user's, or a mode that shuts its owner out: it tells us
     * nothing, and a reader may hold it */
    lock_denied = rc == -EACCES;
  } else if (took_lock != NULL &&
             (lstat(path, &st) == 0 || entry->has_semaphores) &&
             !has_foreign_files(&names) && ensure_lock_dir(name) == 0) {
    rc = lock_file(names.lock, 0600, true, false, &fd);
    entry->reader_alive = rc == ZB_EEXIST; /* a reader made it meanwhile */
    *took_lock = rc == 0;
  }
  rc = zb__segment_open(&seg, name, &names, false, NULL);
  /* ENOENT also for a segment still being created (or left so); EACCES
   * for another user's, which is there all the same */
  if (rc == 0 || rc == ZB_EPROTO)
    entry->has_segment = true;
  else
    entry->has_segment = lstat(path, &st) == 0;
  if (rc == 0) {
    uint64_t reader_pid = zb__load_acquire(&seg.oieb->reader_pid);
    if (!entry->reader_alive)
      entry->reader_alive = fd >= 0 ? zb__lock_owner_alive(fd, reader_pid)
                                    : zb__process_probe(reader_pid, &start);
    entry->writer_alive =
        zb__process_probe(zb__load_acquire(&seg.oieb->writer_pid), &start);
    zb__segment_close(&seg);
  }
  /* Liveness unknown: the lock or the OIEB's pids could not be read (a
   * reader still creating the ring has written no pid yet). Such a ring is
   * not stale (it may be live): only its owner can tell. */
  entry->access_denied =
      !entry->reader_alive && (rc == ZB_EACCES || lock_denied);
  if (took_lock != NULL)
    *lock_fd = fd;
  else if (fd >= 0)
    close(fd);
  return 0;
}

/* Whether the lock file is ours to remove: another user's is not, nor
 * what is no lock file (a directory would not even go with unlink). */
static int check_lock_owner(const char *name, const zb_names *names) {
  struct stat st;
  if (lstat(names->lock, &st) != 0)
    return 0;
  if (st.st_uid != geteuid())
    return refuse_foreign(name, names->lock, st.st_uid, true);
  if (!S_ISREG(st.st_mode))
    return refuse_odd_lock(name, names->lock);
  return 0;
}

/* zb_ring_remove_stale, or with !remove zb_ring_check_stale: the same
 * judgement, under the lock file held the same way, without the unlinks. */
static int remove_stale(const char *name, bool remove) {
  zb_ring_entry entry;
  zb_names names;
  uint64_t reader_pid, writer_pid;
  bool took_lock = false;
  int rc, fd = -1;

  if ((rc = zb__names(name, &names)) < 0 ||
      (rc = inspect_ring(name, &entry, &fd, &took_lock)) < 0)
    return rc;
  if (!entry.has_segment && !entry.has_lock && !entry.has_semaphores)
    rc = zb__fail(ZB_ENOENT, "no ring named \"%s\"", name);
  else if (entry.reader_alive || entry.writer_alive)
    rc = zb__fail(ZB_EBUSY, "ring \"%s\" is in use: its %s is alive", name,
                  entry.reader_alive ? "reader" : "writer");
  else if ((rc = zb__check_leftovers(name, &names, fd, true, &reader_pid,
                                     &writer_pid)) < 0 ||
           (entry.has_lock && (rc = check_lock_owner(name, &names)) < 0))
    ; /* another user's, or not a ring: not ours to remove */
  else if (entry.access_denied) {
    char quoted[ZB__QUOTED_MAX], cleanup[ZB__CLEANUP_MAX];
    rc = zb__fail(ZB_EACCES,
                  "ring \"%s\": %s cannot be opened by this user (its mode "
                  "does not let its owner read it), so whether its reader "
                  "lives cannot be told: kept. If no reader of it runs, "
                  "remove that file (rm %s), then the ring (%s)",
                  name, names.lock,
                  zb__shell_quote(names.lock, quoted, sizeof quoted),
                  zb__cleanup_command(name, cleanup, sizeof cleanup));
  } else if (remove) {
    zb__unlink_ring_objects(&names);
    unlink(names.lock); /* while we hold it: no reader can be half-created */
    took_lock = false;
  }
  if (took_lock)
    unlink(names.lock); /* the one made for this call, while we hold it */
  if (fd >= 0)
    close(fd);
  return rc;
}

int zb_ring_remove_stale(const char *name) { return remove_stale(name, true); }
int zb_ring_check_stale(const char *name) { return remove_stale(name, false); }

/* Ring names found in one directory: entries "PREFIX NAME SUFFIX". */
static int collect_names(const char *dir_path, const char *prefix,
                         const char *suffix, char ***names, size_t *count,
                         size_t *cap) {
  size_t plen = strlen(prefix), slen = strlen(suffix);
  DIR *dir = opendir(dir_path);
  struct dirent *e;

  if (dir == NULL)
    return errno == ENOENT ? 0 : zb__fail_errno(errno, "cannot list %s", dir_path);
  while ((e = readdir(dir)) != NULL) {
    size_t len = strlen(e->d_name);
    char *name;
    if (len <= plen + slen || strncmp(e->d_name, prefix, plen) != 0 ||
        strcmp(e->d_name + len - slen, suffix) != 0)
      continue;
    if (*count == *cap) {
      size_t grown_cap = *cap ? *cap * 2 : 32;
      char **grown = realloc(*names, grown_cap * sizeof *grown);
      if (grown == NULL)
        break;
      *names = grown;
      *cap = grown_cap;
    }
    name = strndup(e->d_name + plen, len - plen - slen);
    if (name == NULL)
      break;
    (*names)[(*count)++] = name;
  }
  closedir(dir);
  return 0;
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int zb_rings_list(int (*visit)(const zb_ring_entry *ring, void *user),
                  void *user) {
  char **names = NULL;
  size_t count = 0, cap = 0, i;
  zb_ring_entry entry;
  int rc = 0;

  if (visit == NULL)
    return zb__fail(ZB_EINVAL, "zb_rings_list: visit is NULL");
  /* A ring has a lock file, or at least its semaphores (an unrelated shm
   * object alone is never taken for a ring, nor a directory named as a
   * semaphore). */
  if ((rc = collect_names(ZB_LOCK_DIR, "", ".lock", &names, &count, &cap)) < 0 ||
      (rc = collect_names("/dev/shm", "sem.sem-w-", "", &names, &count, &cap)) < 0)
    goto done;
  if (count > 0) /* names is NULL then, which qsort may not take */
    qsort(names, count, sizeof *names, compare_names);
  for (i = 0; i < count && rc == 0; i++) {
    if ((i > 0 && strcmp(names[i], names[i - 1]) == 0) ||
        inspect_ring(names[i], &entry, NULL, NULL) < 0 ||
        !(entry.has_lock || entry.has_segment || entry.has_semaphores))
      continue;
    rc = visit(&entry, user);
  }
done:
  for (i = 0; i < count; i++)
    free(names[i]);
  free(names);
  return rc;
}

/* How often one user's creates sweep every stale ring (the name being
 * created is always checked); 0 sweeps at every create. */
static int sweep_interval_ms = ZB_SWEEP_INTERVAL_MS;
static atomic_uint_fast64_t rings_visited;

void zb__note_ring_visit(void) { atomic_fetch_add(&rings_visited, 1); }
uint64_t zb__rings_visited(void) { return atomic_load(&rings_visited); }
int zb__set_sweep_interval_ms(int ms) {
  int previous = sweep_interval_ms;
  sweep_interval_ms = ms;
  return previous;
}

static uint64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static bool interval_passed(uint64_t last_ms, uint64_t now_ms) {
  return last_ms == 0 || last_ms > now_ms ||
         now_ms - last_ms >= (uint64_t)sweep_interval_ms;
}

/* The time of this user's last full sweep lives in ZB_LOCK_DIR/.sweep-UID
 * (a name no ring's lock file can have), so that the rate limit holds
 * across processes; its flock lets one sweeper run at a time. */
static bool full_sweep_due(int stamp_fd) {
  char text[32];
  uint64_t now_ms = wall_ms(), last_ms = 0;
  ssize_t n = pread(stamp_fd, text, sizeof text - 1, 0);
  int len;

  if (n > 0) {
    text[n] = '\0';
    last_ms = strtoull(text, NULL, 10);
  }
  if (!interval_passed(last_ms, now_ms))
    return false;
  len = snprintf(text, sizeof text, "%llu\n", (unsigned long long)now_ms);
  return ftruncate(stamp_fd, 0) == 0 && pwrite(stamp_fd, text, (size_t)len, 0) == len;
}

/* ZB_LOCK_DIR is 1777: any user can create .sweep-UID first, or keep it
 * flock'ed. Such a stamp says nothing about this user's sweeps, and must
 * not switch them off: the rate limit is then this process's own. */
static atomic_uint_fast64_t process_sweep_ms;

static bool process_sweep_due(void) {
  uint_fast64_t last = atomic_load(&process_sweep_ms);
  uint64_t now_ms = wall_ms();
  return interval_passed(last, now_ms) &&
         atomic_compare_exchange_strong(&process_sweep_ms, &last, now_ms);
}

void zb__sweep_stale_rings(void) {
  char stamp[64];
  struct dirent *entry;
  struct stat st;
  DIR *dir;
  int fd;

  snprintf(stamp, sizeof stamp, ZB_LOCK_DIR "/.sweep-%u", (unsigned)geteuid());
  fd = open_regular(stamp, O_RDWR | O_CREAT, 0600);
  /* ours alone: a hard link to another of our files would be truncated */
  if (fd >= 0 && (fstat(fd, &st) != 0 || st.st_uid != geteuid() ||
                  st.st_nlink != 1)) {
    close(fd);
    fd = -1;
  }
  if (fd >= 0 ? flock(fd, LOCK_EX | LOCK_NB) != 0 || !full_sweep_due(fd)
              : !process_sweep_due())
    goto done;
  if ((dir = opendir(ZB_LOCK_DIR)) == NULL)
    goto done;
  while ((entry = readdir(dir)) != NULL) {
    char name[NAME_MAX + 1];
    size_t len = strlen(entry->d_name);
    if (len <= 5 || strcmp(entry->d_name + len - 5, ".lock") != 0)
      continue;
    memcpy(name, entry->d_name, len - 5);
    name[len - 5] = '\0';
    zb__note_ring_visit();
    zb_ring_remove_stale(name);
  }
  closedir(dir);
done:
  if (fd >= 0)
    close(fd);
}

/* The bounds of the slow case described at zb_copy in zerobuffer.h, as
 * measured on an AMD EPYC (glibc 2.36): sizes from glibc's smallest
 * default `rep movsb` threshold (2 KiB) to 512 KiB, distances 1 to 63
 * bytes modulo 4096 (4 to 28 measured slow). Pieces of 1 KiB cost the same
 * as one memcpy there; above 512 KiB they would cost more. */
enum { ZB_COPY_MIN = 2048, ZB_COPY_MAX = 512 * 1024, ZB_COPY_PIECE = 1024 };

void zb_copy(void *dst, const void *src, size_t size) {
#if defined(__x86_64__) || defined(__i386__)
  size_t distance = ((uintptr_t)dst - (uintptr_t)src) & 4095u;
  if (size >= ZB_COPY_MIN && size < ZB_COPY_MAX && distance > 0 &&
      distance < 64) {
    uint8_t *d = dst;
    const uint8_t *s = src;
    for (; size > ZB_COPY_PIECE; size -= ZB_COPY_PIECE) {
      memcpy(d, s, ZB_COPY_PIECE);
      d += ZB_COPY_PIECE;
      s += ZB_COPY_PIECE;
    }
    memcpy(d, s, size);
    return;
  }
#endif
  memcpy(dst, src, size);
}

/* test_namespace.c — what ring names do to the file system, each test in a
 * private mount namespace with its own /dev/shm and /tmp (so it sees only
 * its own files and leaves nothing behind):
 *
 * - no two rings ever share a file: a property test over generated names
 *   (random, and derived from each other the ways that once collided, e.g.
 *   "sem.sem-w-" + NAME), observing the files each create really makes;
 * - another user's file, or a file that is not a ring, under a ring's name
 *   is never removed, and the error names its owner;
 * - a FIFO under a ring's name or its lock file's hangs nothing;
 * - a create's cost does not grow with the stale rings on the machine (a
 *   count of the rings it inspects);
 * - another user's file (or link) under a user's sweep stamp does not stop
 *   that user's sweep;
 * - a writer another user's ring shuts out is told its owner, its group and
 *   what to change;
 * - a /dev/shm too full for a semaphore says so, with the hint.
 *
 * Mounting needs root (CAP_SYS_ADMIN), as do the other-user cases; without
 * it each test says it is skipped. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zb_test.h"
#include "zb_test_hooks.h"

#define NOBODY 65534
#define SKIP 77

/* ------------------------------------------------------------ harness */

static void sleep_ms(unsigned ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* Waits up to timeout_ms for pid; SIGKILLs it when it does not end.
 * Returns its wait status, or -1 when it had to be killed. */
static int reap(pid_t pid, int timeout_ms) {
  int status, waited;
  for (waited = 0; waited < timeout_ms; waited += 5) {
    pid_t got = waitpid(pid, &status, WNOHANG);
    if (got == pid)
      return status;
    if (got < 0 && errno != EINTR)
      return -1;
    sleep_ms(5);
  }
  fprintf(stderr, "  child %d did not end within %d ms: killing it\n",
          (int)pid, timeout_ms);
  kill(pid, SIGKILL);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return -1;
}

/* Runs fn(arg) in a child with a private mount namespace, /dev/shm and /tmp
 * fresh tmpfs (shm_options: the mount options of /dev/shm). The child's
 * failed checks are its exit status. */
static void run_confined(const char *what, int (*fn)(void *), void *arg,
                         const char *shm_options, int timeout_ms) {
  int status;
  pid_t pid;

  fflush(stderr);
  pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (unshare(CLONE_NEWNS) != 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", "/dev/shm", "tmpfs", 0, shm_options) != 0 ||
        mount("tmpfs", "/tmp", "tmpfs", 0, "size=16m") != 0)
      _exit(SKIP);
    zb_test_failures = 0;
    fn(arg);
    _exit(zb_test_failures > 100 ? 100 : zb_test_failures);
  }
  CHECK(pid > 0);
  if (pid <= 0)
    return;
  status = reap(pid, timeout_ms);
  if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == SKIP) {
    fprintf(stderr, "  skipped %s: a private mount namespace needs root "
            "(CAP_SYS_ADMIN)\n", what);
    return;
  }
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    zb_test_failures++;
    fprintf(stderr, "  %s: child %s %d\n", what,
            status == -1 ? "timed out" : WIFEXITED(status) ? "failed checks:"
                                                           : "died of signal",
            status == -1 ? 0 : WIFEXITED(status) ? WEXITSTATUS(status)
                                                 : WTERMSIG(status));
  }
}

/* A pipe-synchronised child: runs fn(arg), writes 'R', then waits to be
 * killed. Returns its pid once it wrote 'R' (0 when it failed). */
static pid_t start_holder(int (*fn)(void *), void *arg) {
  int p[2];
  char b = 0;
  pid_t pid;

  if (pipe(p) != 0)
    return 0;
  pid = fork();
  if (pid == 0) {
    int rc;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    close(p[0]);
    rc = fn(arg);
    if (rc == 0 && write(p[1], "R", 1) == 1)
      for (;;)
        pause();
    _exit(rc == 0 ? 1 : rc);
  }
  close(p[1]);
  if (pid < 0 || read(p[0], &b, 1) != 1 || b != 'R') {
    close(p[0]);
    if (pid > 0)
      reap(pid, 5000);
    return 0;
  }
  close(p[0]);
  return pid;
}

static void kill_holder(pid_t pid) {
  if (pid <= 0)
    return;
  kill(pid, SIGKILL);
  reap(pid, 5000);
}

static int lock_files(void) {
  DIR *d = opendir("/tmp/zerobuffer");
  struct dirent *e;
  int n = 0;
  if (d == NULL)
    return 0;
  while ((e = readdir(d)) != NULL) {
    size_t len = strlen(e->d_name);
    n += len > 5 && strcmp(e->d_name + len - 5, ".lock") == 0;
  }
  closedir(d);
  return n;
}

/* -------------------------------------------- the name space, as files */

/* A file as seen at one moment: its path and inode (a file replaced under
 * the same name is another file). */
typedef struct seen_file {
  char path[300];
  ino_t ino;
} seen_file;

typedef struct snapshot {
  seen_file *files;
  size_t count, cap;
} snapshot;

static int compare_seen(const void *a, const void *b) {
  const seen_file *x = a, *y = b;
  int c = strcmp(x->path, y->path);
  return c != 0 ? c : (x->ino > y->ino) - (x->ino < y->ino);
}

/* Every file in /dev/shm and /tmp/zerobuffer, sorted; the core's own
 * bookkeeping there (the sweep's time stamp, /tmp/zerobuffer/.sweep-UID)
 * aside. Ring names may start with '.', so other dot files count. */
static void take_snapshot(snapshot *s) {
  const char *dirs[] = {"/dev/shm", "/tmp/zerobuffer"};
  size_t i;
  s->count = 0;
  for (i = 0; i < 2; i++) {
    DIR *d = opendir(dirs[i]);
    struct dirent *e;
    if (d == NULL)
      continue;
    while ((e = readdir(d)) != NULL) {
      size_t len = strlen(e->d_name);
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
        continue;
      /* a ring's name may start with '.' too: its lock file ends in .lock */
      if (i == 1 && strncmp(e->d_name, ".sweep-", 7) == 0 &&
          (len < 5 || strcmp(e->d_name + len - 5, ".lock") != 0))
        continue;
      if (s->count == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->files = realloc(s->files, s->cap * sizeof *s->files);
      }
      snprintf(s->files[s->count].path, sizeof s->files[0].path, "%s/%s",
               dirs[i], e->d_name);
      s->files[s->count].ino = e->d_ino;
      s->count++;
    }
    closedir(d);
  }
  if (s->count > 1)
    qsort(s->files, s->count, sizeof *s->files, compare_seen);
}

/* Files in a but not in b (same path and inode); copied to out (cap 8). */
static size_t only_in(const snapshot *a, const snapshot *b, seen_file *out) {
  size_t i = 0, j = 0, n = 0;
  while (i < a->count) {
    int c = j < b->count ? compare_seen(&a->files[i], &b->files[j]) : -1;
    if (c == 0) {
      i++;
      j++;
    } else if (c < 0) {
      if (n < 8)
        out[n] = a->files[i];
      n++;
      i++;
    } else {
      j++;
    }
  }
  return n;
}

typedef struct ring_files {
  char *name;
  char paths[4][300];
} ring_files;

static uint64_t rng = 0x2545F4914F6CDD1DULL;
static uint64_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static const char *const TOKENS[] = {"sem.", "sem-w-", "sem-r-", "sem", ".",
                                     "-", "_", ".lock", "lock", "a", "Z", "0",
                                     "x.y", "w-", "r-", "shm", " ", ":",
                                     "\xc3\xbc", "@", "\\"};
static const char *const PREFIXES[] = {"sem.", "sem.sem-w-", "sem.sem-r-",
                                       "sem-w-", "sem-r-", "sem.sem.", "a",
                                       "sem"};
static const char *const SUFFIXES[] = {".lock", ".", "-", ".lock.lock", "0"};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* A candidate name: random tokens, or a name derived from an earlier one the
 * ways that can make two rings' files meet (a semaphore's prefix, the lock
 * file's suffix, stripped back again), now and then at the length limit. */
static void candidate(char *out, size_t cap, ring_files *pool, size_t pooled) {
  const char *base = pooled > 0 ? pool[rnd() % pooled].name : "a";
  uint64_t kind = rnd() % 6;
  size_t len, i, n;

  out[0] = '\0';
  if (kind == 0 || pooled == 0) {
    for (n = 1 + rnd() % 6, i = 0; i < n; i++)
      strncat(out, TOKENS[rnd() % COUNT(TOKENS)], cap - strlen(out) - 1);
  } else if (kind <= 2) {
    snprintf(out, cap, "%s%s", PREFIXES[rnd() % COUNT(PREFIXES)], base);
  } else if (kind == 3) {
    snprintf(out, cap, "%s%s", base, SUFFIXES[rnd() % COUNT(SUFFIXES)]);
  } else if (kind == 4) {
    const char *p = base;
    for (i = 0; i < COUNT(PREFIXES); i++)
      if (strncmp(p, PREFIXES[i], strlen(PREFIXES[i])) == 0 &&
          strlen(p) > strlen(PREFIXES[i]))
        p += strlen(PREFIXES[i]);
    snprintf(out, cap, "%s", p);
    len = strlen(out);
    if (len > 5 && strcmp(out + len - 5, ".lock") == 0)
      out[len - 5] = '\0';
  } else {
    snprintf(out, cap, "%s", base);
  }
  if (rnd() % 40 == 0) { /* at (or just past) the length limit */
    size_t want = ZB_NAME_MAX - 3 + rnd() % 6;
    len = strlen(out);
    while (len < want && len + 1 < cap)
      out[len++] = 'L';
    out[len < want ? len : want] = '\0';
  }
}

/* A frame whose bytes depend on the ring's name. */
static void name_frame(const char *name, uint8_t *buf, size_t size) {
  uint32_t h = 2166136261u;
  size_t i;
  for (i = 0; name[i] != '\0'; i++)
    h = (h ^ (uint8_t)name[i]) * 16777619u;
  for (i = 0; i < size; i++) {
    h = h * 1103515245u + 12345u;
    buf[i] = (uint8_t)(h >> 16);
  }
}

/* Each live ring of the batch passes a frame of its own, byte-exact. */
static void check_batch_works(ring_files *batch, zb_reader **readers, size_t n) {
  uint8_t out[97];
  size_t i;
  for (i = 0; i < n; i++) {
    zb_writer *w = NULL;
    zb_frame f;
    name_frame(batch[i].name, out, sizeof out);
    CHECK_RC(zb_writer_connect(&w, batch[i].name), 0);
    if (w == NULL)
      continue;
    CHECK_RC(zb_writer_write(w, out, sizeof out, 1000), 0);
    CHECK_RC(zb_reader_next(readers[i], &f, 1000), 0);
    if (f.data != NULL) {
      CHECK(f.size == sizeof out && memcmp(f.data, out, sizeof out) == 0);
      CHECK_RC(zb_frame_release(&f), 0);
    }
    zb_writer_destroy(w);
  }
}

static int compare_paths(const void *a, const void *b) {
  return strcmp(((const char *const *)a)[0], ((const char *const *)b)[0]);
}

#define CANDIDATES 3000
#define BATCH 8

/* Property: for any two rings A and B, no file of A is ever a file of B.
 * For each generated name: a refused name touches nothing; an accepted one
 * creates exactly 4 new files and no file of the rings alive beside it
 * disappears or is replaced; BATCH rings live together and each passes its
 * own frame; destroying a ring removes exactly its own 4 files. Finally the
 * files of all accepted names are compared pairwise (sorted): none shared. */
static int name_space_child(void *arg) {
  ring_files *all = calloc(CANDIDATES, sizeof *all);
  const char **paths;
  zb_reader *readers[BATCH];
  ring_files batch[BATCH];
  snapshot before = {0}, after = {0};
  seen_file diff[8];
  size_t valid = 0, refused = 0, in_batch = 0, i, j, k, n_paths, shared = 0;
  size_t made;
  char name[300];
  int c;
  (void)arg;

  for (c = 0; c < CANDIDATES; c++) {
    int accepted, rc;
    zb_reader *r = NULL;

    candidate(name, sizeof name, all, valid);
    for (i = 0; i < valid && strcmp(all[i].name, name) != 0; i++) {
    }
    if (i < valid || name[0] == '\0')
      continue; /* seen */
    accepted = zb_validate_name(name) == 0;
    take_snapshot(&before);
    rc = zb_reader_create(&r, name, 0, 256, NULL);
    take_snapshot(&after);
    if (!accepted) {
      refused++;
      if (rc != ZB_ENAME || r != NULL ||
          only_in(&after, &before, diff) + only_in(&before, &after, diff) != 0) {
        zb_test_failures++;
        fprintf(stderr, "  refused name \"%s\": create gave %s and touched "
                "files\n", name, zb_err_name(rc));
      }
      zb_reader_destroy(r);
      continue;
    }
    if (rc != 0) {
      zb_test_failures++;
      fprintf(stderr, "  valid name \"%s\": create failed: %s (%s)\n", name,
              zb_err_name(rc), zb_last_error());
      continue;
    }
    if (only_in(&before, &after, diff) != 0) {
      zb_test_failures++;
      fprintf(stderr, "  creating \"%s\" removed or replaced %s\n", name,
              diff[0].path);
    }
    made = only_in(&after, &before, diff);
    if (made != 4) {
      zb_test_failures++;
      fprintf(stderr, "  creating \"%s\" made %zu files, not 4\n", name, made);
    }
    all[valid].name = strdup(name);
    for (k = 0; k < 4 && k < made; k++)
      memcpy(all[valid].paths[k], diff[k].path, sizeof diff[k].path);
    batch[in_batch] = all[valid];
    readers[in_batch++] = r;
    valid++;
    if (in_batch < BATCH && c < CANDIDATES - 1)
      continue;

    check_batch_works(batch, readers, in_batch);
    for (i = 0; i < in_batch; i++) {
      size_t gone;
      take_snapshot(&before);
      zb_reader_destroy(readers[i]);
      take_snapshot(&after);
      gone = only_in(&before, &after, diff);
      for (k = 0; k < gone && k < 8; k++)
        for (j = 0; j < 4 && strcmp(diff[k].path, batch[i].paths[j]) != 0; j++) {
        }
      if (gone != 4 || only_in(&after, &before, diff) != 0 || j == 4) {
        zb_test_failures++;
        fprintf(stderr, "  destroying \"%s\" removed %zu files, not its own 4\n",
                batch[i].name, gone);
      }
    }
    in_batch = 0;
  }
  if (in_batch > 0) {
    check_batch_works(batch, readers, in_batch);
    for (i = 0; i < in_batch; i++)
      zb_reader_destroy(readers[i]);
  }

  /* Pairwise, over everything observed: no path belongs to two names. */
  paths = malloc(valid * 4 * 2 * sizeof *paths);
  for (i = 0, n_paths = 0; i < valid; i++)
    for (k = 0; k < 4; k++)
      if (all[i].paths[k][0] != '\0') {
        paths[2 * n_paths] = all[i].paths[k];
        paths[2 * n_paths + 1] = all[i].name;
        n_paths++;
      }
  if (n_paths > 1)
    qsort(paths, n_paths, 2 * sizeof *paths, compare_paths);
  for (i = 1; i < n_paths; i++)
    if (strcmp(paths[2 * i], paths[2 * i - 2]) == 0) {
      if (shared++ < 5)
        fprintf(stderr, "  %s is a file of \"%s\" and of \"%s\"\n", paths[2 * i],
                paths[2 * i - 1], paths[2 * i + 1]);
    }
  CHECK(shared == 0);
  fprintf(stderr, "  %zu names accepted (%zu files, %zu shared), %zu refused\n",
          valid, n_paths, shared, refused);
  CHECK(valid > 300 && refused > 300);
  take_snapshot(&after);
  CHECK(after.count == 0);
  for (i = 0; i < valid; i++)
    free(all[i].name);
  free(all);
  free(paths);
  free(before.files);
  free(after.files);
  return 0;
}

static void test_name_space_disjoint(void) {
  run_confined("name space", name_space_child, NULL, "size=64m", 240000);
}

/* --------------------------------------------- other people's files */

static int create_ring_as(uid_t uid, const char *name) {
  zb_reader *r = NULL;
  if (uid != 0 && (setgroups(0, NULL) != 0 || setgid(uid) != 0 || setuid(uid) != 0))
    return SKIP;
  if (zb_reader_create(&r, name, 0, 256, NULL) != 0) {
    fprintf(stderr, "  [holder] %s\n", zb_last_error());
    return 2;
  }
  return 0; /* killed while it holds the ring: a stale ring of uid */
}

static int stale_ring_of_nobody(void *name) { return create_ring_as(NOBODY, name); }
static int stale_ring_of_root(void *name) { return create_ring_as(0, name); }

static int write_file(const char *path, const char *text, uid_t owner, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
  int ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text) &&
           fchown(fd, owner, owner) == 0 && fchmod(fd, mode) == 0;
  if (fd >= 0)
    close(fd);
  return ok;
}

static int exists(const char *fmt, const char *name) {
  char path[512];
  snprintf(path, sizeof path, fmt, name);
  return access(path, F_OK) == 0;
}

/* Another user's leftovers seen by a user who is not root. */
static int stranger_as_nobody(void *arg) {
  zb_reader *r = NULL;
  int rc;
  (void)arg;
  if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
    return SKIP;
  rc = zb_reader_create(&r, "strange", 0, 256, NULL);
  if (rc != ZB_EACCES || r != NULL ||
      strstr(zb_last_error(), "/dev/shm/strange belongs to user root (uid 0)") == NULL ||
      strstr(zb_last_error(), "Pick another name") == NULL ||
      strstr(zb_last_error(), "live reader") != NULL) {
    fprintf(stderr, "  root's file, seen by nobody: %s (%s)\n", zb_err_name(rc),
            zb_last_error());
    return 1;
  }
  return 0;
}

static int stranger_child(void *arg) {
  zb_reader *r = NULL;
  uint64_t visited;
  pid_t holder;
  int rc, status;
  pid_t pid;
  (void)arg;

  /* a) /dev/shm/NAME of another user, no lock: refused, naming the owner
   * (not "a live reader"), and left alone; as root too. */
  CHECK(write_file("/dev/shm/strange", "not a ring", NOBODY, 0600));
  rc = zb_reader_create(&r, "strange", 0, 256, NULL);
  CHECK_RC(rc, ZB_EACCES);
  CHECK_MSG("/dev/shm/strange belongs to user nobody (uid 65534), not to "
            "this user (uid 0)");
  CHECK_MSG("Pick another name");
  CHECK_MSG("(zerobuffer cleanup strange, run as that user)");
  CHECK(strstr(zb_last_error(), "live reader") == NULL);
  CHECK(r == NULL);
  CHECK(exists("/dev/shm/%s", "strange"));
  CHECK(!exists("/tmp/zerobuffer/%s.lock", "strange"));
  CHECK(unlink("/dev/shm/strange") == 0);

  /* ... and the same seen by a user who is not root (the file is root's) */
  CHECK(write_file("/dev/shm/strange", "not a ring", 0, 0600));
  CHECK(chmod("/tmp", 01777) == 0);
  pid = fork();
  if (pid == 0)
    _exit(stranger_as_nobody(NULL));
  status = reap(pid, 10000);
  CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK(exists("/dev/shm/%s", "strange"));
  CHECK(unlink("/dev/shm/strange") == 0);

  /* b) our own file that is not a ring: refused with the reason, kept */
  CHECK(write_file("/dev/shm/notaring", "hello, I am someone's data\n", 0, 0644));
  CHECK_RC(zb_reader_create(&r, "notaring", 0, 256, NULL), ZB_EPROTO);
  CHECK_MSG("/dev/shm/notaring exists and is not a ZeroBuffer ring");
  CHECK_MSG("smaller than its 128-byte header");
  CHECK(exists("/dev/shm/%s", "notaring"));
  CHECK(!exists("/tmp/zerobuffer/%s.lock", "notaring"));
  /* the sweep and cleanup leave it alone too, even with a stale lock */
  CHECK(write_file("/tmp/zerobuffer/notaring.lock", "1 1\n", 0, 0600));
  CHECK_RC(zb_ring_remove_stale("notaring"), ZB_EPROTO);
  CHECK(exists("/dev/shm/%s", "notaring"));
  zb__set_sweep_interval_ms(0);
  CHECK_RC(zb_reader_create(&r, "bystander", 0, 256, NULL), 0);
  zb_reader_destroy(r);
  r = NULL;
  CHECK(exists("/dev/shm/%s", "notaring"));

  /* c) a stale ZeroBuffer ring of another user (valid header, dead reader,
   * its own lock file): root neither takes the name over nor sweeps it */
  holder = start_holder(stale_ring_of_nobody, "theirs");
  CHECK(holder > 0);
  kill_holder(holder);
  CHECK(exists("/dev/shm/%s", "theirs") && exists("/tmp/zerobuffer/%s.lock", "theirs"));
  CHECK_RC(zb_reader_create(&r, "theirs", 0, 256, NULL), ZB_EACCES);
  CHECK_MSG("belongs to user nobody (uid 65534)");
  CHECK(r == NULL);
  CHECK_RC(zb_ring_remove_stale("theirs"), ZB_EACCES);
  /* the advice fits a removal, not a create */
  CHECK_MSG("belongs to user nobody (uid 65534), not to this user (uid 0)");
  CHECK_MSG("remove it as that user (runuser -u nobody -- zerobuffer cleanup theirs)");
  CHECK(strstr(zb_last_error(), "Pick another name") == NULL);
  CHECK(strstr(zb_last_error(), "rm ") == NULL);
  visited = zb__rings_visited();
  CHECK_RC(zb_reader_create(&r, "bystander", 0, 256, NULL), 0); /* full sweep */
  CHECK(zb__rings_visited() - visited >= 2);
  zb_reader_destroy(r);
  r = NULL;
  CHECK(exists("/dev/shm/%s", "theirs") && exists("/dev/shm/sem.sem-w-%s", "theirs") &&
        exists("/tmp/zerobuffer/%s.lock", "theirs"));

  /* d) a stale ring of our own is still taken over */
  holder = start_holder(stale_ring_of_root, "mine");
  CHECK(holder > 0);
  kill_holder(holder);
  CHECK(exists("/dev/shm/%s", "mine"));
  CHECK_RC(zb_reader_create(&r, "mine", 0, 256, NULL), 0);
  zb_reader_destroy(r);
  CHECK(!exists("/dev/shm/%s", "mine"));
  return 0;
}

static void test_stranger_files(void) {
  if (getuid() != 0) {
    fprintf(stderr, "  skipped: other users' files need root\n");
    return;
  }
  run_confined("stranger's files", stranger_child, NULL, "size=16m", 60000);
}

/* Another user's stale ring under a long non-ASCII name, or a name a shell
 * would split: the advice prints the name whole, and its command to paste
 * shell-quoted (a name cut at 64 bytes named another ring, "not found"). */
static int foreign_names_child(void *arg) {
  char name[ZB_NAME_MAX + 1], hint[ZB_NAME_MAX + 128];
  zb_reader *r = NULL;
  pid_t holder;
  size_t n = 3;
  (void)arg;

  memcpy(name, "rv-", 3);
  while (n + 2 <= ZB_NAME_MAX) {
    memcpy(name + n, "\xc3\xbc", 2); /* ü */
    n += 2;
  }
  name[n] = '\0';
  holder = start_holder(stale_ring_of_nobody, name);
  CHECK(holder > 0);
  kill_holder(holder);
  CHECK_RC(zb_reader_create(&r, name, 0, 256, NULL), ZB_EACCES);
  snprintf(hint, sizeof hint, "(zerobuffer cleanup %s, run as that user)", name);
  CHECK_MSG(hint);
  snprintf(hint, sizeof hint, "ring \"%s\": ", name);
  CHECK_MSG(hint);
  CHECK_MSG("belongs to user nobody (uid 65534)");
  CHECK_RC(zb_ring_remove_stale(name), ZB_EACCES);
  snprintf(hint, sizeof hint, "(runuser -u nobody -- zerobuffer cleanup %s)", name);
  CHECK_MSG(hint);

  holder = start_holder(stale_ring_of_nobody, "it's mine");
  CHECK(holder > 0);
  kill_holder(holder);
  CHECK_RC(zb_ring_remove_stale("it's mine"), ZB_EACCES);
  CHECK_MSG("ring \"it's mine\": ");
  CHECK_MSG("(runuser -u nobody -- zerobuffer cleanup 'it'\\''s mine')");
  return 0;
}

static void test_foreign_long_names(void) {
  if (getuid() != 0) {
    fprintf(stderr, "  skipped: other users' files need root\n");
    return;
  }
  run_confined("another user's long names", foreign_names_child, NULL,
               "size=16m", 60000);
}

/* ------------------------------------------------ FIFOs under ring names */

static int count_ring(const zb_ring_entry *ring, void *user) {
  (void)ring;
  ++*(int *)user;
  return 0;
}

/* A FIFO (any user may make one in /dev/shm and /tmp/zerobuffer) under a
 * ring's name or its lock file's: opening it to read waits for a writer for
 * ever, so each open of such a name is a hang unless it refuses what is not
 * a regular file. Here every call returns (a hang is the child timing out)
 * with an error naming the file, and the FIFOs stay. */
static int fifo_child(void *arg) {
  zb_reader *r = NULL;
  zb_writer *w = NULL;
  zb_health health;
  int rings = 0;
  (void)arg;

  CHECK_RC(zb_reader_create(&r, "first", 0, 256, NULL), 0); /* the lock dir */
  zb_reader_destroy(r);
  r = NULL;
  /* another user's FIFO as a ring: its name's lock file, the segment a FIFO */
  CHECK(write_file("/tmp/zerobuffer/fifo-seg.lock", "", NOBODY, 0666));
  CHECK(mkfifo("/dev/shm/fifo-seg", 0666) == 0 &&
        chown("/dev/shm/fifo-seg", NOBODY, NOBODY) == 0);
  /* our own file that is not a ring (so no sweep removes it) whose lock
   * file is a FIFO */
  CHECK(write_file("/dev/shm/fifo-lock", "not a ring, but longer than a "
                   "ring's 128-byte header: someone's data, which no sweep "
                   "takes for a ring left half-created by a dead reader", 0,
                   0600));
  CHECK(mkfifo("/tmp/zerobuffer/fifo-lock.lock", 0600) == 0);

  /* the sweep of a create visits both */
  zb__set_sweep_interval_ms(0);
  CHECK_RC(zb_reader_create(&r, "bystander", 0, 256, NULL), 0);
  zb_reader_destroy(r);
  r = NULL;
  CHECK_RC(zb_rings_list(count_ring, &rings), 0);
  CHECK(rings >= 2);

  CHECK_RC(zb_writer_connect(&w, "fifo-seg"), ZB_EPROTO);
  CHECK_MSG("/dev/shm/fifo-seg is not a regular file");
  CHECK(w == NULL);
  CHECK_RC(zb_health_read("fifo-seg", &health), ZB_EPROTO);
  CHECK(zb_ring_remove_stale("fifo-seg") < 0);
  CHECK_RC(zb_reader_create(&r, "fifo-seg", 0, 256, NULL), ZB_EACCES);
  CHECK(r == NULL);

  CHECK(zb_writer_connect(&w, "fifo-lock") < 0);
  CHECK(w == NULL);
  CHECK_RC(zb_reader_create(&r, "fifo-lock", 0, 256, NULL), ZB_EPROTO);
  CHECK_MSG("/tmp/zerobuffer/fifo-lock.lock is not a regular file");
  CHECK(r == NULL);
  CHECK(zb_ring_remove_stale("fifo-lock") < 0 || !exists("/dev/shm/%s", "fifo-lock"));

  CHECK(exists("/dev/shm/%s", "fifo-seg") && exists("/tmp/zerobuffer/%s.lock", "fifo-lock"));
  return 0;
}

static void test_fifo_files(void) {
  if (getuid() != 0) {
    fprintf(stderr, "  skipped: another user's FIFO needs root\n");
    return;
  }
  run_confined("FIFOs under ring names", fifo_child, NULL, "size=16m", 20000);
}

/* ------------------------------------------------ cost of the sweep */

typedef struct stale_batch {
  int first, count;
} stale_batch;

static int make_stale_rings(void *arg) {
  stale_batch *b = arg;
  char name[64];
  int i;
  for (i = b->first; i < b->first + b->count; i++) {
    zb_reader *r = NULL;
    snprintf(name, sizeof name, "stale-%04d", i);
    if (zb_reader_create(&r, name, 0, 64, NULL) != 0) {
      fprintf(stderr, "  [holder] %s\n", zb_last_error());
      return 2;
    }
  }
  return 0; /* killed while it holds them all */
}

/* The rings one create in a new process inspects (its own name, plus a full
 * sweep when one is due). */
static int visits_of_one_create(const char *name) {
  int status;
  pid_t pid = fork();
  if (pid == 0) {
    zb_reader *r = NULL;
    uint64_t before = zb__rings_visited();
    if (zb_reader_create(&r, name, 0, 64, NULL) != 0)
      _exit(255);
    zb_reader_destroy(r);
    _exit((int)(zb__rings_visited() - before > 254 ? 254 : zb__rings_visited() - before));
  }
  status = reap(pid, 30000);
  return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define STALE 1000
#define CREATES 100

static int sweep_cost_child(void *arg) {
  stale_batch batches[4];
  char name[64];
  uint64_t before;
  FILE *stamp;
  int i;
  (void)arg;

  /* 1000 stale rings, left by 4 readers SIGKILLed while they held them */
  for (i = 0; i < 4; i++) {
    pid_t holder;
    batches[i] = (stale_batch){i * STALE / 4, STALE / 4};
    holder = start_holder(make_stale_rings, &batches[i]);
    CHECK(holder > 0);
    kill_holder(holder);
  }
  CHECK(lock_files() == STALE);

  /* 100 creates inspect 100 rings, their own: no sweep is due */
  before = zb__rings_visited();
  for (i = 0; i < CREATES; i++) {
    zb_reader *r = NULL;
    snprintf(name, sizeof name, "fresh-%d", i);
    CHECK_RC(zb_reader_create(&r, name, 0, 64, NULL), 0);
    zb_reader_destroy(r);
  }
  fprintf(stderr, "  %d creates beside %d stale rings inspected %llu rings\n",
          CREATES, STALE, (unsigned long long)(zb__rings_visited() - before));
  CHECK(zb__rings_visited() - before == CREATES);
  CHECK(lock_files() == STALE);
  /* the same in another process: the rate limit is the user's, not the
   * process's */
  CHECK(visits_of_one_create("other-process") == 1);

  /* once the interval has passed, one create sweeps them all */
  stamp = fopen("/tmp/zerobuffer/.sweep-0", "w"); /* its last sweep: long ago */
  CHECK(stamp != NULL && fputs("1\n", stamp) >= 0 && fclose(stamp) == 0);
  before = zb__rings_visited();
  {
    zb_reader *r = NULL;
    CHECK_RC(zb_reader_create(&r, "due", 0, 64, NULL), 0);
    zb_reader_destroy(r);
  }
  CHECK(zb__rings_visited() - before >= STALE);
  CHECK(lock_files() == 0);
  {
    DIR *d = opendir("/dev/shm");
    struct dirent *e;
    int left = 0;
    while (d != NULL && (e = readdir(d)) != NULL)
      left += e->d_name[0] != '.';
    if (d != NULL)
      closedir(d);
    CHECK(left == 0);
  }
  /* and the next one does not sweep again */
  CHECK(visits_of_one_create("after") == 1);
  return 0;
}

/* A create costs the same with 1000 stale rings beside it: only a full
 * sweep (at most one per ZB_SWEEP_INTERVAL_MS per user) visits them. */
static void test_sweep_cost(void) {
  run_confined("sweep cost", sweep_cost_child, NULL, "size=64m", 120000);
}

/* ------------------------------------ a ring another user may not open */

typedef struct denied_case {
  const char *ring;
  gid_t extra_group; /* a supplementary group of the writer, or NOBODY */
  const char *says;  /* in the error, besides owner, group and mode */
} denied_case;

/* A writer as nobody (with extra_group): EACCES, naming the segment's owner
 * and group and what to do. */
static int connect_denied(void *arg) {
  const denied_case *c = arg;
  zb_writer *w = NULL;
  int rc;
  if (setgroups(1, &c->extra_group) != 0 || setgid(NOBODY) != 0 ||
      setuid(NOBODY) != 0)
    return SKIP;
  rc = zb_writer_connect(&w, c->ring);
  if (rc != ZB_EACCES ||
      strstr(zb_last_error(), "belongs to user root (uid 0) and group root "
                              "(gid 0), and its mode") == NULL ||
      strstr(zb_last_error(), "does not let this user (uid 65534) write it: ") == NULL ||
      strstr(zb_last_error(), c->says) == NULL) {
    fprintf(stderr, "  %s as nobody: %s (%s)\n", c->ring, zb_err_name(rc),
            zb_last_error());
    return 1;
  }
  return 0;
}

static int denied_child(void *arg) {
  zb_reader_options group_rw = {.mode = 0660};
  zb_reader *private_ring = NULL, *group_ring = NULL;
  const denied_case cases[] = {
      /* not in the group, no group bits: a primary group and mode=0660 */
      {"fxmul-private", NOBODY,
       "primary group (systemd: Group=; or sg/newgrp) and mode=0660"},
      /* the group may, this user is not in it */
      {"fxmul-group", NOBODY, "this user is not in that group"},
      /* in the group, which the mode leaves out */
      {"fxmul-private", 0, "the mode does not let the group write: start "
                           "the reader with mode=0660"},
  };
  size_t i;
  (void)arg;

  CHECK(chmod("/tmp", 01777) == 0);
  CHECK_RC(zb_reader_create(&private_ring, "fxmul-private", 0, 64, NULL), 0);
  CHECK_RC(zb_reader_create(&group_ring, "fxmul-group", 0, 64, &group_rw), 0);
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    pid_t pid = fork();
    int status;
    if (pid == 0)
      _exit(connect_denied((void *)&cases[i]));
    status = reap(pid, 10000);
    CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  zb_reader_destroy(private_ring);
  zb_reader_destroy(group_ring);
  return 0;
}

/* Group sharing goes by the reader's primary group and the mode: the
 * EACCES says which group and what to change. */
static void test_denied_names_group(void) {
  if (getuid() != 0) {
    fprintf(stderr, "  skipped: other users' files need root\n");
    return;
  }
  run_confined("denied ring", denied_child, NULL, "size=16m", 30000);
}

/* ------------------------------------ a sweep stamp that is not ours */

/* Holds ZB_LOCK_DIR/.sweep-0 flock'ed, as another user could. */
static int hold_stamp_flock(void *path) {
  int fd = open(path, O_RDWR);
  return fd >= 0 && flock(fd, LOCK_EX) == 0 ? 0 : 2;
}

/* A create as nobody, in a new process (a due in-process sweep). */
static int create_as_nobody(void *name) {
  zb_reader *r = NULL;
  if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
    return SKIP;
  if (zb_reader_create(&r, name, 0, 64, NULL) != 0) {
    fprintf(stderr, "  [nobody] %s\n", zb_last_error());
    return 2;
  }
  zb_reader_destroy(r);
  return 0;
}

static int foreign_stamp_child(void *arg) {
  zb_reader *r = NULL;
  pid_t holder, pid;
  int status;
  (void)arg;

  CHECK(chmod("/tmp", 01777) == 0);
  /* a) nobody's stale ring; root got to nobody's stamp first (0600): nobody
   * cannot open it, yet nobody's next create sweeps the ring */
  holder = start_holder(stale_ring_of_nobody, "fxmul-nobodys");
  CHECK(holder > 0);
  kill_holder(holder);
  CHECK(unlink("/tmp/zerobuffer/.sweep-65534") == 0); /* the holder's */
  CHECK(write_file("/tmp/zerobuffer/.sweep-65534", "1\n", 0, 0600));
  pid = fork();
  if (pid == 0)
    _exit(create_as_nobody("fxmul-by-nobody"));
  status = reap(pid, 10000);
  CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK(!exists("/dev/shm/%s", "fxmul-nobodys"));
  CHECK(!exists("/tmp/zerobuffer/%s.lock", "fxmul-nobodys"));

  /* b) root's stale ring; root's stamp is nobody's file, kept flock'ed */
  holder = start_holder(stale_ring_of_root, "fxmul-roots");
  CHECK(holder > 0);
  kill_holder(holder);
  CHECK(unlink("/tmp/zerobuffer/.sweep-0") == 0);
  CHECK(write_file("/tmp/zerobuffer/.sweep-0", "1\n", NOBODY, 0600));
  holder = start_holder(hold_stamp_flock, "/tmp/zerobuffer/.sweep-0");
  CHECK(holder > 0);
  CHECK_RC(zb_reader_create(&r, "fxmul-by-root", 0, 64, NULL), 0);
  zb_reader_destroy(r);
  r = NULL;
  CHECK(!exists("/dev/shm/%s", "fxmul-roots"));
  kill_holder(holder);

  /* c) root's stamp is a hard link to another file of root's: that file is
   * not rewritten, and the sweep still runs (due at once: this process swept
   * in b) */
  holder = start_holder(stale_ring_of_root, "fxmul-roots-2");
  CHECK(holder > 0);
  kill_holder(holder);
  CHECK(write_file("/tmp/precious", "keep me\n", 0, 0600));
  CHECK(unlink("/tmp/zerobuffer/.sweep-0") == 0);
  CHECK(link("/tmp/precious", "/tmp/zerobuffer/.sweep-0") == 0);
  zb__set_sweep_interval_ms(0);
  CHECK_RC(zb_reader_create(&r, "fxmul-by-root-2", 0, 64, NULL), 0);
  zb_reader_destroy(r);
  CHECK(!exists("/dev/shm/%s", "fxmul-roots-2"));
  {
    char text[32] = {0};
    int fd = open("/tmp/precious", O_RDONLY);
    CHECK(fd >= 0 && read(fd, text, sizeof text - 1) > 0);
    CHECK(strcmp(text, "keep me\n") == 0);
    if (fd >= 0)
      close(fd);
  }
  return 0;
}

/* ZB_LOCK_DIR is 1777: another user's .sweep-UID (made first, or flock'ed,
 * or a link) must not switch off UID's sweep of its stale rings. */
static void test_foreign_sweep_stamp(void) {
  if (getuid() != 0) {
    fprintf(stderr, "  skipped: other users' files need root\n");
    return;
  }
  run_confined("foreign sweep stamp", foreign_stamp_child, NULL, "size=16m",
               60000);
}

/* ---------------------------------------- stray semaphores alone */

static int become_nobody(void) {
  return setgroups(0, NULL) == 0 && setgid(NOBODY) == 0 && setuid(NOBODY) == 0;
}

typedef struct listed_entry {
  const char *name;
  int found;
} listed_entry;

static int find_entry(const zb_ring_entry *ring, void *user) {
  listed_entry *l = user;
  if (strcmp(ring->name, l->name) == 0)
    l->found = 1;
  return 0;
}

static int listed(const char *name) {
  listed_entry l = {name, 0};
  return zb_rings_list(find_entry, &l) == 0 && l.found;
}

/* Whether a file was created in /tmp/zerobuffer since WATCH (an inotify
 * descriptor) began: a lock file there for even a moment counts. */
static int lock_file_created(int watch) {
  char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
  ssize_t len;
  while ((len = read(watch, buf, sizeof buf)) > 0) {
    const struct inotify_event *e;
    for (char *p = buf; p < buf + len; p += sizeof *e + e->len) {
      e = (const struct inotify_event *)p;
      if (e->mask & IN_CREATE)
        return 1;
    }
  }
  return 0;
}

static int remove_as_nobody(void *name) {
  if (!become_nobody())
    return SKIP;
  if (zb_ring_remove_stale(name) != 0) {
    fprintf(stderr, "  [nobody] %s\n", zb_last_error());
    return 1;
  }
  return 0;
}

/* 63 bytes, then a character of 2 (a cut at 64 bytes splits it) */
#define LONG_DIR "stray-dir ~ * " \
  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\xc3\xa9"

/* A semaphore file with no segment and no lock file (any user can make
 * one, or a link, or a directory of that name): ours is removed (by name
 * and by the list's sweep), another user's is refused naming its owner
 * and removed by that owner, a directory is no ring at all. */
static int stray_child(void *arg) {
  zb_reader *r = NULL;
  pid_t pid;
  int status, watch;
  (void)arg;

  CHECK(chmod("/tmp", 01777) == 0);
  CHECK(write_file("/dev/shm/sem.sem-w-stray-mine", "", 0, 0644));
  CHECK(listed("stray-mine"));
  CHECK_RC(zb_ring_check_stale("stray-mine"), 0);
  CHECK(exists("/dev/shm/sem.sem-w-%s", "stray-mine"));
  CHECK_RC(zb_ring_remove_stale("stray-mine"), 0);
  CHECK(!exists("/dev/shm/sem.sem-w-%s", "stray-mine"));
  CHECK(!exists("/tmp/zerobuffer/%s.lock", "stray-mine"));
  CHECK(!listed("stray-mine"));

  /* a link goes, what it points to stays */
  CHECK(write_file("/tmp/target", "keep me\n", 0, 0600));
  CHECK(symlink("/tmp/target", "/dev/shm/sem.sem-r-stray-link") == 0);
  CHECK(listed("stray-link") == 0); /* the list goes by sem-w */
  CHECK_RC(zb_ring_remove_stale("stray-link"), 0);
  CHECK(access("/dev/shm/sem.sem-r-stray-link", F_OK) != 0 && errno == ENOENT);
  CHECK(exists("%s", "/tmp/target"));

  /* another user's: refused by name (EACCES, the owner and how), kept */
  CHECK(write_file("/dev/shm/sem.sem-w-stray-theirs", "", NOBODY, 0644));
  CHECK(listed("stray-theirs"));
  /* ... without a lock file of ours even for a moment: that user's reader
   * creating the ring then would be refused it as ours */
  watch = inotify_init1(IN_NONBLOCK);
  CHECK(watch >= 0 && inotify_add_watch(watch, "/tmp/zerobuffer", IN_CREATE) >= 0);
  CHECK_RC(zb_ring_check_stale("stray-theirs"), ZB_EACCES);
  CHECK_MSG("/dev/shm/sem.sem-w-stray-theirs belongs to user nobody (uid 65534)");
  CHECK_RC(zb_ring_remove_stale("stray-theirs"), ZB_EACCES);
  CHECK_MSG("/dev/shm/sem.sem-w-stray-theirs belongs to user nobody (uid 65534)");
  CHECK_MSG("runuser -u nobody -- zerobuffer cleanup stray-theirs");
  CHECK(!lock_file_created(watch));
  close(watch);
  CHECK(exists("/dev/shm/sem.sem-w-%s", "stray-theirs"));
  CHECK(!exists("/tmp/zerobuffer/%s.lock", "stray-theirs"));
  /* a name the CLI would take for an option (or, "--", for no names: a
   * sweep of every ring) goes after "--" in the advice */
  CHECK(write_file("/dev/shm/sem.sem-w--rvx", "", NOBODY, 0644));
  CHECK_RC(zb_ring_remove_stale("-rvx"), ZB_EACCES);
  CHECK_MSG("runuser -u nobody -- zerobuffer cleanup -- -rvx)");
  CHECK(write_file("/dev/shm/sem.sem-w---", "", NOBODY, 0644));
  CHECK_RC(zb_ring_remove_stale("--"), ZB_EACCES);
  CHECK_MSG("runuser -u nobody -- zerobuffer cleanup -- --)");
  CHECK(write_file("/dev/shm/sem.sem-w--x y", "", NOBODY, 0644));
  CHECK_RC(zb_reader_create(&r, "-x y", 0, 64, NULL), ZB_EACCES);
  CHECK_MSG("(zerobuffer cleanup -- '-x y', run as that user)");
  /* ... which that user's cleanup removes, as the advice says */
  pid = fork();
  if (pid == 0)
    _exit(remove_as_nobody("stray-theirs"));
  status = reap(pid, 10000);
  CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK(!exists("/dev/shm/sem.sem-w-%s", "stray-theirs"));

  /* a directory is no semaphore: not listed, nothing to remove */
  CHECK(mkdir("/dev/shm/sem.sem-w-stray-dir", 0755) == 0);
  CHECK(!listed("stray-dir"));
  CHECK_RC(zb_ring_remove_stale("stray-dir"), ZB_ENOENT);
  CHECK(exists("/dev/shm/sem.sem-w-%s", "stray-dir"));
  /* a create says so, not "ask that user to run zerobuffer cleanup", which
   * finds nothing to remove */
  CHECK(chown("/dev/shm/sem.sem-w-stray-dir", NOBODY, NOBODY) == 0);
  CHECK_RC(zb_reader_create(&r, "stray-dir", 0, 64, NULL), ZB_EPROTO);
  CHECK_MSG("/dev/shm/sem.sem-w-stray-dir is a directory (of user nobody "
            "(uid 65534)), not a semaphore");
  CHECK(r == NULL);
  CHECK(!exists("/tmp/zerobuffer/%s.lock", "stray-dir"));
  /* whole (not cut inside a character), and quoted: "~" and "*" pasted
   * as they are would remove the home directory, or what "*" matches */
  CHECK(mkdir("/dev/shm/sem.sem-r-" LONG_DIR, 0755) == 0);
  CHECK_RC(zb_reader_create(&r, LONG_DIR, 0, 64, NULL), ZB_EPROTO);
  CHECK_MSG("ring \"" LONG_DIR "\": /dev/shm/sem.sem-r-" LONG_DIR " is a directory");
  CHECK_MSG("(rm -r '/dev/shm/sem.sem-r-" LONG_DIR "', as its owner)");
  return 0;
}

/* A symlink under a ring's name is never followed: a look at it (inspect,
 * a writer) says whose it is, as a create does, not "Too many levels of
 * symbolic links". */
static int symlink_child(void *arg) {
  zb_health health;
  (void)arg;
  CHECK(write_file("/tmp/target", "keep me\n", 0, 0600));
  CHECK(symlink("/tmp/target", "/dev/shm/lnk-theirs") == 0 &&
        lchown("/dev/shm/lnk-theirs", NOBODY, NOBODY) == 0);
  CHECK_RC(zb_health_read("lnk-theirs", &health), ZB_EACCES);
  CHECK_MSG("/dev/shm/lnk-theirs belongs to user nobody (uid 65534), not to "
            "this user (uid 0): a symbolic link, which is never followed");
  CHECK(symlink("/tmp/target", "/dev/shm/lnk-mine") == 0);
  CHECK_RC(zb_health_read("lnk-mine", &health), ZB_EPROTO);
  CHECK_MSG("/dev/shm/lnk-mine is a symbolic link, which is never followed");
  return 0;
}

static void test_symlink_segment(void) {
  if (getuid() != 0) {
    fprintf(stderr, "  skipped: another user's link needs root\n");
    return;
  }
  run_confined("symlink segment", symlink_child, NULL, "size=16m", 30000);
}

static void test_stray_semaphores(void) {
  if (getuid() != 0) {
    fprintf(stderr, "  skipped: another user's file needs root\n");
    return;
  }
  run_confined("stray semaphores", stray_child, NULL, "size=16m", 30000);
}

/* ------------------------------- a live ring its owner may not open */

typedef struct odd_mode_ring {
  const char *name;
  mode_t mode; /* of its lock file, as a create with that mode made it */
} odd_mode_ring;

/* As nobody: a reader in the middle of its create (it holds its lock file,
 * whose mode is c->mode; no segment yet), as an older version's create
 * with that mode was when its own sweep ran. */
static int hold_odd_mode_lock(void *arg) {
  const odd_mode_ring *c = arg;
  char path[128];
  int fd;
  if (!become_nobody())
    return SKIP;
  snprintf(path, sizeof path, "/tmp/zerobuffer/%s.lock", c->name);
  fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0 || flock(fd, LOCK_EX) != 0 || fchmod(fd, c->mode) != 0)
    return 2;
  return 0; /* holds it until killed */
}

typedef struct entry_seen {
  const char *name;
  int found, stale;
} entry_seen;

static int see_entry(const zb_ring_entry *ring, void *user) {
  entry_seen *seen = user;
  if (strcmp(ring->name, seen->name) == 0) {
    seen->found = 1;
    seen->stale = !ring->access_denied && !ring->reader_alive &&
                  !ring->writer_alive;
  }
  return 0;
}

/* As nobody, the same user: the ring is not stale, and neither a removal
 * by name nor a create's sweep removes its lock file. */
static int sweep_odd_mode_ring(void *arg) {
  const odd_mode_ring *c = arg;
  entry_seen seen = {c->name, 0, 0};
  zb_reader *r = NULL;
  int rc, failed = 0;
  if (!become_nobody())
    return SKIP;
  if (zb_rings_list(see_entry, &seen) != 0 || !seen.found || seen.stale) {
    fprintf(stderr, "  %s (lock mode 0%o): listed stale or not at all\n",
            c->name, (unsigned)c->mode);
    failed = 1;
  }
  rc = zb_ring_remove_stale(c->name);
  if (rc != ZB_EBUSY && rc != ZB_EACCES) {
    fprintf(stderr, "  %s (lock mode 0%o): remove_stale said %s (%s)\n",
            c->name, (unsigned)c->mode, zb_err_name(rc), zb_last_error());
    failed = 1;
  }
  zb__set_sweep_interval_ms(0);
  if (zb_reader_create(&r, "odd-bystander", 0, 64, NULL) != 0) {
    fprintf(stderr, "  [sweeper] %s\n", zb_last_error());
    return 2;
  }
  zb_reader_destroy(r);
  return failed;
}

/* As nobody: its own lock file, mode 0200, that no reader holds. The
 * advice to paste is quoted: "*" would match every file here. */
static int odd_mode_advice(void *arg) {
  (void)arg;
  if (!become_nobody())
    return SKIP;
  CHECK_RC(zb_ring_remove_stale("-x * y"), ZB_EACCES);
  CHECK_MSG("remove that file (rm '/tmp/zerobuffer/-x * y.lock'), then the "
            "ring (zerobuffer cleanup -- '-x * y')");
  return zb_test_failures;
}

static int odd_mode_child(void *arg) {
  const odd_mode_ring cases[] = {
      {"odd-0066", 0066}, {"odd-0200", 0200}, {"odd-0400", 0400}};
  zb_reader_options opts = {0};
  zb_reader *r = NULL;
  size_t i;
  (void)arg;

  CHECK(chmod("/tmp", 01777) == 0);
  CHECK_RC(zb_reader_create(&r, "odd-first", 0, 64, NULL), 0); /* lock dir */
  zb_reader_destroy(r);
  r = NULL;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    pid_t holder = start_holder(hold_odd_mode_lock, (void *)&cases[i]);
    pid_t pid;
    int status;
    CHECK(holder > 0);
    pid = fork();
    if (pid == 0)
      _exit(sweep_odd_mode_ring((void *)&cases[i]));
    status = reap(pid, 10000);
    CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(exists("/tmp/zerobuffer/%s.lock", cases[i].name));
    kill_holder(holder);
  }

  {
    pid_t pid;
    int status;
    CHECK(write_file("/tmp/zerobuffer/-x * y.lock", "", NOBODY, 0200));
    pid = fork();
    if (pid == 0)
      _exit(odd_mode_advice(NULL));
    status = reap(pid, 10000);
    CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }

  /* such a mode is refused at the create: its owner's sweeps could not
   * open its lock file, nor its owner's writers its segment */
  opts.mode = 0066;
  CHECK_RC(zb_reader_create(&r, "odd-refused", 0, 64, &opts), ZB_EINVAL);
  CHECK_MSG("mode 0066 does not let the owner read and write");
  CHECK(r == NULL);
  CHECK(!exists("/tmp/zerobuffer/%s.lock", "odd-refused"));
  opts.mode = 0400;
  CHECK_RC(zb_reader_create(&r, "odd-refused", 0, 64, &opts), ZB_EINVAL);
  opts.mode = 0600;
  CHECK_RC(zb_reader_create(&r, "odd-refused", 0, 64, &opts), 0);
  zb_reader_destroy(r);
  return 0;
}

/* A live reader whose lock file its own user may not open read-write (an
 * older version made it with mode 0066, 0200, 0400): that user's sweeps
 * and removals keep it, as only a dead reader's ring is ever removed. A
 * create with such a mode is refused. */
static void test_odd_mode_ring(void) {
  if (getuid() != 0) {
    fprintf(stderr, "  skipped: another user's ring needs root\n");
    return;
  }
  run_confined("live ring its owner may not open", odd_mode_child, NULL,
               "size=16m", 60000);
}

/* ----------------------------------------------- a full /dev/shm */

/* /dev/shm is 1 MiB: a segment of exactly 1 MiB fits, its semaphore not. */
static int semaphore_full_child(void *arg) {
  zb_reader *r = NULL;
  (void)arg;
  CHECK_RC(zb_reader_create(&r, "fills", 0, (1 << 20) - 128, NULL), ZB_ENOSPC);
  CHECK_MSG("semaphore");
  CHECK_MSG("df -h /dev/shm");
  CHECK_MSG("--shm-size");
  CHECK(r == NULL);
  CHECK(zb_test_ring_gone("fills"));
  CHECK_RC(zb_reader_create(&r, "fits", 0, (1 << 20) - 128 - 3 * 4096, NULL), 0);
  zb_reader_destroy(r);
  return 0;
}

static void test_semaphore_enospc(void) {
  run_confined("full /dev/shm", semaphore_full_child, NULL, "size=1m", 30000);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  RUN(test_name_space_disjoint);
  RUN(test_stranger_files);
  RUN(test_foreign_long_names);
  RUN(test_fifo_files);
  RUN(test_sweep_cost);
  RUN(test_foreign_sweep_stamp);
  RUN(test_denied_names_group);
  RUN(test_semaphore_enospc);
  RUN(test_odd_mode_ring);
  RUN(test_stray_semaphores);
  RUN(test_symlink_segment);
  return zb_test_finish("core-namespace");
}

/* test_loop_wait.c — waiting elsewhere than in zb_reader_next: a reader
 * armed with zb_reader_arm sleeps in a real futex wait on the word it gets
 * (as the Node addon's io_uring FUTEX_WAIT does), the writer's sem_post
 * from another process wakes it, and zb_reader_poll answers what
 * zb_reader_next would: frames, timeouts, cancels, the writer's end and its
 * death; a flooded semaphore does not stretch the timeouts, nor keeps a
 * wait with a live writer spinning; nor a flooded sem-r a writer's wait for
 * room. */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zb_test.h"

/* What an armed sleeper does: sleep while *word is 0, at most ms. 0 when
 * woken, else errno (EAGAIN: it was not 0; ETIMEDOUT). Shared futex: named
 * semaphores live in shared memory, so no FUTEX_PRIVATE_FLAG. */
static int futex_sleep(const uint32_t *word, int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  if (syscall(SYS_futex, word, FUTEX_WAIT, 0, &ts, NULL, 0) == 0)
    return 0;
  return errno;
}

/* The sleepers sem_post must wake: the high half of glibc's 64-bit sem_t
 * word, next to the value (the layout zb_reader_arm relies on). */
static uint32_t sleepers(const uint32_t *word) { return word[1]; }

/* zb_reader_poll until it answers, sleeping on the word in between;
 * *woken counts the sleeps a post ended (not their timeout). */
static int poll_until_answer(zb_reader *r, const uint32_t *word, zb_frame *f,
                             int timeout_ms, int *woken) {
  uint64_t started = zb_now_ns();
  int again_ms = -1, rc;
  while ((rc = zb_reader_poll(r, f, timeout_ms, started, &again_ms)) ==
         ZB_POLL_SLEEP) {
    CHECK(again_ms >= 1 && again_ms <= 50);
    CHECK(sleepers(word) >= 1);
    int slept = futex_sleep(word, again_ms);
    CHECK(slept == 0 || slept == EAGAIN || slept == ETIMEDOUT || slept == EINTR);
    if (slept == 0 && woken != NULL)
      (*woken)++;
  }
  return rc;
}

/* A writer in a child process: connects, waits for the parent's go, writes
 * `frames` one-byte frames 20 ms apart, then detaches (or dies holding the
 * ring when die). */
static pid_t spawn_writer(const char *name, int frames, int die, int *go) {
  int fds[2];
  if (pipe(fds) != 0)
    abort();
  pid_t pid = fork();
  if (pid == 0) {
    zb_writer *w;
    char c;
    close(fds[1]);
    if (zb_writer_connect(&w, name) != 0 || read(fds[0], &c, 1) != 1)
      _exit(2);
    for (int i = 0; i < frames; i++) {
      uint8_t b = (uint8_t)(i + 1);
      struct timespec pause = {0, 20 * 1000000L};
      nanosleep(&pause, NULL);
      if (zb_writer_write(w, &b, 1, 2000) != 0)
        _exit(3);
    }
    if (die)
      _exit(0); /* without zb_writer_destroy: the ring still names us */
    zb_writer_destroy(w);
    _exit(0);
  }
  close(fds[0]);
  *go = fds[1];
  return pid;
}

/* Waits for the writer child to have connected (writer_pid set). */
static void wait_connected(zb_reader *r) {
  zb_health h;
  for (int i = 0; i < 500; i++) {
    if (zb_reader_health(r, &h) == 0 && h.writer_pid != 0)
      return;
    usleep(10000);
  }
  CHECK(!"the writer child connected");
}

static void test_arm_disarm(void) {
  const char *name = zb_test_name("arm");
  zb_reader *r;
  const uint32_t *word = NULL, *again = NULL;

  CHECK_RC(zb_reader_create(&r, name, 0, 4096, NULL), 0);
  CHECK_RC(zb_reader_arm(r, &word), 0);
  CHECK(word != NULL);
  CHECK_EQ_U64(sleepers(word), 1);
  CHECK_RC(zb_reader_arm(r, &again), 0); /* idempotent */
  CHECK(again == word);
  CHECK_EQ_U64(sleepers(word), 1);
  CHECK_EQ_U64(*word, 0);
  zb_reader_disarm(r);
  CHECK_EQ_U64(sleepers(word), 0);
  zb_reader_disarm(r); /* idempotent */
  CHECK_EQ_U64(sleepers(word), 0);
  CHECK_RC(zb_reader_arm(r, &word), 0);
  zb_reader_destroy(r); /* armed: destroy disarms */
  CHECK(zb_test_ring_gone(name));
  CHECK_RC(zb_reader_arm(NULL, &word), ZB_EINVAL);
  zb_reader_disarm(NULL);
}

/* Frames from another process wake the futex sleep; the clean detach is
 * ZB_EOF, as from zb_reader_next. */
static void test_woken_by_writer_process(void) {
  const char *name = zb_test_name("wake");
  zb_reader *r;
  zb_frame f;
  const uint32_t *word;
  int go, status, woken = 0;

  CHECK_RC(zb_reader_create(&r, name, 0, 4096, NULL), 0);
  pid_t pid = spawn_writer(name, 3, 0, &go);
  wait_connected(r);
  CHECK_RC(zb_reader_arm(r, &word), 0);
  CHECK(write(go, "g", 1) == 1);
  for (int i = 1; i <= 3; i++) {
    CHECK_RC(poll_until_answer(r, word, &f, 5000, &woken), 0);
    CHECK_EQ_U64(f.size, 1);
    CHECK_EQ_U64(f.data[0], (uint64_t)i);
    CHECK_EQ_U64(f.sequence, (uint64_t)i);
    CHECK_EQ_U64(*word, 0); /* every post taken */
    CHECK_RC(zb_frame_release(&f), 0);
  }
  CHECK(woken >= 1); /* posts, not timeouts, ended the sleeps */
  CHECK_RC(poll_until_answer(r, word, &f, 5000, NULL), ZB_EOF);
  CHECK_MSG("the writer detached");
  zb_reader_disarm(r);
  CHECK_EQ_U64(sleepers(word), 0);
  close(go);
  CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
        WEXITSTATUS(status) == 0);
  zb_reader_destroy(r);
}

/* A writer that dies holding the ring is noticed by the liveness check
 * after a quiet slice, with zb_reader_next's error. */
static void test_writer_death(void) {
  const char *name = zb_test_name("death");
  zb_reader *r;
  zb_frame f;
  const uint32_t *word;
  int go, status;

  CHECK_RC(zb_reader_create(&r, name, 0, 4096, NULL), 0);
  pid_t pid = spawn_writer(name, 1, 1, &go);
  wait_connected(r);
  CHECK_RC(zb_reader_arm(r, &word), 0);
  CHECK(write(go, "g", 1) == 1);
  CHECK_RC(poll_until_answer(r, word, &f, 5000, NULL), 0);
  CHECK_EQ_U64(f.sequence, 1);
  CHECK_RC(zb_frame_release(&f), 0);
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK_RC(poll_until_answer(r, word, &f, 5000, NULL), ZB_EWRITERDEAD);
  CHECK_MSG("died without detaching");
  close(go);
  zb_reader_destroy(r);
}

/* Timeouts: ZB_ETIMEDOUT with zb_reader_next's message once the time is
 * over, never a sleep past it; 0 answers at once; forever sleeps a slice at
 * a time. */
static void test_timeouts(void) {
  const char *name = zb_test_name("timeout");
  zb_reader *r;
  zb_writer *w;
  zb_frame f;
  const uint32_t *word;
  int again_ms = -1;

  CHECK_RC(zb_reader_create(&r, name, 0, 4096, NULL), 0);
  CHECK_RC(zb_writer_connect(&w, name), 0);
  CHECK_RC(zb_reader_arm(r, &word), 0);
  uint64_t started = zb_now_ns();
  CHECK_RC(zb_reader_poll(r, &f, 30, started, &again_ms), ZB_POLL_SLEEP);
  CHECK(again_ms >= 1 && again_ms <= 30);
  CHECK_RC(poll_until_answer(r, word, &f, 30, NULL), ZB_ETIMEDOUT);
  CHECK_MSG("no frame within 30 ms");
  CHECK_RC(zb_reader_poll(r, &f, 30, started - UINT64_C(31000000), &again_ms),
           ZB_ETIMEDOUT);
  CHECK_RC(zb_reader_poll(r, &f, 0, zb_now_ns(), &again_ms), ZB_EAGAIN);
  CHECK_RC(zb_reader_poll(r, &f, ZB_WAIT_FOREVER, zb_now_ns(), &again_ms),
           ZB_POLL_SLEEP);
  CHECK(again_ms >= 1 && again_ms <= 50);

  /* A frame already there is answered without sleeping. */
  CHECK_RC(zb_writer_write(w, "x", 1, 1000), 0);
  CHECK_RC(zb_reader_poll(r, &f, ZB_WAIT_FOREVER, zb_now_ns(), &again_ms), 0);
  CHECK_RC(zb_frame_release(&f), 0);
  CHECK_RC(zb_reader_poll(r, NULL, 0, 0, &again_ms), ZB_EINVAL);
  zb_writer_destroy(w);
  zb_reader_destroy(r);
}

/* zb_reader_wake posts too: it wakes the sleeper and the next poll answers
 * ZB_ECANCELED, once. */
static void test_cancel(void) {
  const char *name = zb_test_name("cancel");
  zb_reader *r;
  zb_writer *w;
  zb_frame f;
  const uint32_t *word;
  int again_ms;

  CHECK_RC(zb_reader_create(&r, name, 0, 4096, NULL), 0);
  CHECK_RC(zb_writer_connect(&w, name), 0);
  CHECK_RC(zb_reader_arm(r, &word), 0);
  CHECK_RC(zb_reader_poll(r, &f, 1000, zb_now_ns(), &again_ms), ZB_POLL_SLEEP);
  zb_reader_wake(r);
  CHECK_EQ_U64(*word, 1);
  CHECK(futex_sleep(word, 1000) == EAGAIN); /* not 0: no sleep */
  CHECK_RC(zb_reader_poll(r, &f, 1000, zb_now_ns(), &again_ms), ZB_ECANCELED);
  CHECK_MSG("wait interrupted");
  CHECK_EQ_U64(*word, 0);
  CHECK_RC(zb_reader_poll(r, &f, 1000, zb_now_ns(), &again_ms), ZB_POLL_SLEEP);
  zb_writer_destroy(w);
  zb_reader_destroy(r);
}

/* A semaphore flooded by a hostile process of the same user (its value
 * set to INT_MAX, as 2^31 sem_posts would): reads keep their timeouts, in
 * zb_reader_next and zb_reader_poll alike (draining every post first took
 * 7 s), and each poll returns at once. */
static void test_flooded_semaphore(void) {
  const char *name = zb_test_name("flood");
  zb_reader *r;
  zb_frame f;
  const uint32_t *word;
  uint64_t started;
  int again_ms, rc;

  CHECK_RC(zb_reader_create(&r, name, 0, 4096, NULL), 0);
  CHECK_RC(zb_reader_arm(r, &word), 0);
  __atomic_store_n((uint32_t *)word, 0x7fffffffu, __ATOMIC_SEQ_CST);
  started = zb_now_ns();
  CHECK_RC(zb_reader_next(r, &f, 100), ZB_ETIMEDOUT);
  CHECK(zb_now_ns() - started < 1000000000u);
  started = zb_now_ns();
  do {
    uint64_t poll_started = zb_now_ns();
    rc = zb_reader_poll(r, &f, 100, started, &again_ms);
    CHECK(zb_now_ns() - poll_started < 100000000u);
  } while (rc == ZB_POLL_SLEEP && zb_now_ns() - started < 2000000000u);
  CHECK_RC(rc, ZB_ETIMEDOUT);
  CHECK(zb_now_ns() - started < 1000000000u);
  __atomic_store_n((uint32_t *)word, 0, __ATOMIC_SEQ_CST);
  zb_reader_destroy(r);
}

/* A writer that dies while sem-w is flooded: every wait ends at once on a
 * post that brings no frame, so a probe that waited for a quiet slice never
 * came, and the reads ended at their timeout (Node) or after seconds of
 * draining (zerosrc). Its death is reported within about a slice, by
 * zb_reader_next and zb_reader_poll alike. */
static void test_flooded_semaphore_dead_writer(void) {
  int polled;
  for (polled = 0; polled < 2; polled++) {
    const char *name = zb_test_name("flooddead");
    const uint32_t *word;
    zb_reader *r;
    zb_frame f;
    uint64_t started;
    int go, status, again_ms, rc, before = zb_test_failures;
    pid_t pid;

    CHECK_RC(zb_reader_create(&r, name, 0, 4096, NULL), 0);
    CHECK_RC(zb_reader_arm(r, &word), 0);
    pid = spawn_writer(name, 1, 1, &go);
    CHECK(write(go, "g", 1) == 1);
    CHECK_RC(zb_reader_next(r, &f, 2000), 0); /* the writer is seen */
    CHECK_RC(zb_frame_release(&f), 0);
    CHECK(waitpid(pid, &status, 0) == pid);
    close(go);
    __atomic_store_n((uint32_t *)word, 0x7fffffffu, __ATOMIC_SEQ_CST);
    started = zb_now_ns();
    if (polled)
      while ((rc = zb_reader_poll(r, &f, 3000, started, &again_ms)) ==
             ZB_POLL_SLEEP) {
      }
    else
      rc = zb_reader_next(r, &f, 3000);
    CHECK_RC(rc, ZB_EWRITERDEAD);
    CHECK(zb_now_ns() - started < 1000000000u);
    __atomic_store_n((uint32_t *)word, 0, __ATOMIC_SEQ_CST);
    zb_reader_destroy(r);
    if (zb_test_failures != before)
      fprintf(stderr, "  (%s)\n", polled ? "zb_reader_poll" : "zb_reader_next");
  }
}

static uint64_t thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A semaphore flooded while its writer lives (in another process): a read
 * that waits for its timeout sleeps through it instead of spinning on
 * posts that bring no frame (it took 65,536 posts per look, each look
 * ending its wait at once, for the whole timeout and for half a minute of
 * looks until the 2^31 posts were gone), and the writer's next frame still
 * comes. The flood is taken in one look, then the reader sleeps. */
static void test_flooded_semaphore_live_writer(void) {
  const char *name = zb_test_name("floodlive");
  const uint32_t *word;
  zb_reader *r;
  zb_frame f;
  uint64_t cpu;
  int go, status;
  pid_t pid;

  CHECK_RC(zb_reader_create(&r, name, 0, 4096, NULL), 0);
  pid = spawn_writer(name, 1, 0, &go);
  wait_connected(r);
  CHECK_RC(zb_reader_arm(r, &word), 0);
  zb_reader_disarm(r); /* the word only: the read below sleeps in sem_wait */
  __atomic_store_n((uint32_t *)word, 0x7fffffffu, __ATOMIC_SEQ_CST);
  cpu = thread_cpu_ns();
  CHECK_RC(zb_reader_next(r, &f, 500), ZB_ETIMEDOUT);
  cpu = thread_cpu_ns() - cpu;
  if (cpu >= 100000000u)
    fprintf(stderr, "  a 500 ms wait took %llu ms of CPU\n",
            (unsigned long long)(cpu / 1000000u));
  CHECK(cpu < 100000000u);
  CHECK(write(go, "g", 1) == 1);
  CHECK_RC(zb_reader_next(r, &f, 2000), 0);
  CHECK(f.size == 1 && f.data[0] == 1 && f.sequence == 1);
  CHECK_RC(zb_frame_release(&f), 0);
  CHECK_RC(zb_reader_next(r, &f, 2000), ZB_EOF);
  CHECK(waitpid(pid, &status, 0) == pid);
  close(go);
  __atomic_store_n((uint32_t *)word, 0, __ATOMIC_SEQ_CST);
  zb_reader_destroy(r);
}

/* A sem-r flooded by a hostile or buggy reader (its value set to INT_MAX,
 * as 2^31 sem_posts would) while the ring is full: the writer waiting for
 * room sleeps through its timeout instead of spinning on posts that bring
 * no room (a 500 ms wait used 500 ms of CPU, one wake-up per post), and the
 * reader's next release still gets the frame in. */
static void test_flooded_sem_r_writer(void) {
  const char *name = zb_test_name("floodroom");
  char sem_name[300];
  static uint8_t bytes[1000];
  zb_reader *r;
  zb_writer *w;
  zb_reservation res;
  zb_frame f;
  sem_t *sem_r;
  uint64_t cpu, wall, seq, written = 0;

  CHECK_RC(zb_reader_create(&r, name, 0, 4096, NULL), 0);
  CHECK_RC(zb_writer_connect(&w, name), 0);
  while (zb_writer_write(w, bytes, sizeof bytes, 0) == 0)
    written++;
  CHECK(written >= 2);
  snprintf(sem_name, sizeof sem_name, "/sem-r-%s", name);
  sem_r = sem_open(sem_name, 0);
  CHECK(sem_r != SEM_FAILED);
  if (sem_r == SEM_FAILED)
    return;
  /* the value, the low half of glibc's 64-bit sem_t word */
  __atomic_store_n((uint32_t *)(void *)sem_r, 0x7fffffffu, __ATOMIC_SEQ_CST);
  wall = zb_now_ns();
  cpu = thread_cpu_ns();
  CHECK_RC(zb_writer_reserve(w, sizeof bytes, &res, 500), ZB_ETIMEDOUT);
  cpu = thread_cpu_ns() - cpu;
  wall = zb_now_ns() - wall;
  if (cpu >= 100000000u)
    fprintf(stderr, "  a %llu ms wait for room took %llu ms of CPU\n",
            (unsigned long long)(wall / 1000000u),
            (unsigned long long)(cpu / 1000000u));
  CHECK(wall >= 450000000u);
  CHECK(cpu < 100000000u);
  CHECK_RC(zb_reader_next(r, &f, 1000), 0); /* room for one frame */
  CHECK_RC(zb_frame_release(&f), 0);
  CHECK_RC(zb_writer_write(w, bytes, sizeof bytes, 1000), 0);
  for (seq = 2; seq <= written + 1; seq++) {
    CHECK_RC(zb_reader_next(r, &f, 1000), 0);
    CHECK_EQ_U64(f.sequence, seq);
    CHECK_RC(zb_frame_release(&f), 0);
  }
  __atomic_store_n((uint32_t *)(void *)sem_r, 0, __ATOMIC_SEQ_CST);
  sem_close(sem_r);
  zb_writer_destroy(w);
  zb_reader_destroy(r);
}

int main(void) {
  const char *name = zb_test_name("probe");
  const uint32_t *word;
  zb_reader *r;
  int rc;
  signal(SIGPIPE, SIG_IGN);
  if (zb_reader_create(&r, name, 0, 4096, NULL) != 0)
    return 1;
  rc = zb_reader_arm(r, &word);
  zb_reader_destroy(r);
  if (rc == ZB_ENOTSUP) { /* not glibc's sem_t: nothing to test here */
    fprintf(stderr, "skipped: %s\n", zb_last_error());
    return 77;
  }
  RUN(test_arm_disarm);
  RUN(test_woken_by_writer_process);
  RUN(test_writer_death);
  RUN(test_timeouts);
  RUN(test_cancel);
  RUN(test_flooded_semaphore);
  RUN(test_flooded_semaphore_dead_writer);
  RUN(test_flooded_semaphore_live_writer);
  RUN(test_flooded_sem_r_writer);
  return zb_test_finish("core-loop-wait");
}

/* zb_deadline.c — timeouts that do not count time the process was stopped.
 *
 * A stop is inferred from a look at the clock that comes over
 * ZB_STOPPED_GAP_MS after the end of the wait the last look of its
 * deadline asked for, while the process's CPU time did not move more than
 * its rate before explains: a caller busy elsewhere is late too, but its
 * CPU time runs. What a look finds is kept for the whole process as
 * disjoint pieces, each credited once by every deadline that lived through
 * it: a wait whose own look came too late to tell (it asked for a long
 * wait, then a wake cut it short) gets the stop another wait saw, and a
 * look after SIGCONT that found nothing (a deadline just started) hides
 * nothing from a later one that finds more. Where the kernel tells a
 * thread's time waiting to run (/proc/thread-self/schedstat), a late look
 * whose thread ran or waited to run for over half the late time is no stop
 * either: a busy caller starved of the CPU (7 runnable on 2 cores) got
 * under half of it, but a stopped thread neither runs nor waits to. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "zb_error.h"
#include "zb_platform.h"

#define NS_PER_MS 1000000u
/* The process's CPU time is sampled at most this often: a look is on the
 * way of every frame that waits, the sample is a system call. */
#define CPU_SAMPLE_NS (200u * NS_PER_MS)
#define CPU_SAMPLES 4
/* Pieces kept for deadlines that look rarely; an older one is lost to
 * them (it counts as time running). */
#define STOPS_KEPT 16

typedef struct span {
  uint64_t from, until;
} span;

static pthread_mutex_t stops_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t stops_once = PTHREAD_ONCE_INIT;
static span stops[STOPS_KEPT];
static uint64_t stops_count; /* pieces found so far */
/* CPU time (from) at a moment (until), the latest last */
static span cpu_samples[CPU_SAMPLES];
static unsigned cpu_sampled;
/* This thread's time running or waiting to run (from) at a moment
 * (until), taken at its looks at most every CPU_SAMPLE_NS */
static _Thread_local span thread_sample;

/* A child of fork() must not find the lock held by a thread it lacks. */
static void stops_prepare(void) { pthread_mutex_lock(&stops_lock); }
static void stops_resume(void) { pthread_mutex_unlock(&stops_lock); }
/* ... and its thread's schedstat starts anew: the parent's sample is not
 * its thread's. */
static void stops_child(void) {
  thread_sample = (span){0, 0};
  pthread_mutex_unlock(&stops_lock);
}
static void stops_init(void) {
  pthread_atfork(stops_prepare, stops_resume, stops_child);
}

static uint64_t process_cpu_ns(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
    return UINT64_MAX; /* unknown: nothing is taken for stopped */
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* This thread's time on the CPU plus its time waiting for one, in ns, or
 * UINT64_MAX when the kernel does not tell (no schedstat). */
static uint64_t thread_busy_ns(void) {
  char buf[96];
  unsigned long long ran, waited;
  ssize_t n;
  int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return UINT64_MAX;
  n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return UINT64_MAX;
  buf[n] = '\0';
  if (sscanf(buf, "%llu %llu", &ran, &waited) != 2)
    return UINT64_MAX;
  return (uint64_t)ran + (uint64_t)waited;
}

/* Whether this thread ran or waited to run for over half of [from, now],
 * by the least its time busy since its sample allows: all of it before
 * FROM may have been spent before FROM. */
static bool thread_busy(uint64_t busy, uint64_t from, uint64_t now) {
  uint64_t before;
  if (busy == UINT64_MAX || thread_sample.until == 0 ||
      thread_sample.until > from || busy < thread_sample.from)
    return false; /* cannot tell: the process-wide rule decides */
  before = from - thread_sample.until;
  return busy - thread_sample.from > before + (now - from) / 2;
}

static uint64_t overlap(span a, uint64_t from, uint64_t until) {
  if (a.from > from)
    from = a.from;
  if (a.until < until)
    until = a.until;
  return until > from ? until - from : 0;
}

/* With stops_lock: whether the process's CPU time over [from, now] says it
 * did not run. The sample taken last before FROM is the base; the rate
 * between it and the one before (a process busy before the stop) accounts
 * for the CPU time up to FROM. */
static bool cpu_still(uint64_t from, uint64_t now) {
  uint64_t cpu = process_cpu_ns(), before = 0;
  unsigned n = cpu_sampled < CPU_SAMPLES ? cpu_sampled : CPU_SAMPLES, k;
  span base = {0, 0}, prev;

  for (k = 1; k <= n; k++) {
    base = cpu_samples[(cpu_sampled - k) % CPU_SAMPLES];
    if (base.until <= from)
      break;
  }
  if (k > n || cpu == UINT64_MAX || cpu < base.from)
    return false; /* no sample before FROM: cannot tell */
  if (k < n) {
    prev = cpu_samples[(cpu_sampled - k - 1) % CPU_SAMPLES];
    if (base.until > prev.until && base.from >= prev.from)
      before = (uint64_t)((double)(base.from - prev.from) /
                          (double)(base.until - prev.until) *
                          (double)(from - base.until));
  }
  /* half of the late time spent running is no stop */
  return cpu - base.from <= before + (now - from) / 2;
}

/* With stops_lock: records what of [from, now] no piece covers yet. */
static void add_stop(uint64_t from, uint64_t now) {
  span todo[STOPS_KEPT + 1];
  unsigned n = 1, i, j, kept;
  todo[0] = (span){from, now};
  kept = stops_count < STOPS_KEPT ? (unsigned)stops_count : STOPS_KEPT;
  for (j = 0; j < kept; j++) {
    span p = stops[j];
    for (i = 0; i < n; i++) {
      span t = todo[i];
      if (p.until <= t.from || p.from >= t.until)
        continue;
      if (p.from > t.from && p.until < t.until && n <= STOPS_KEPT) {
        todo[i] = (span){t.from, p.from};
        todo[n++] = (span){p.until, t.until};
      } else if (p.from > t.from) {
        todo[i].until = p.from;
      } else {
        todo[i].from = p.until < t.until ? p.until : t.until;
      }
    }
  }
  for (i = 0; i < n; i++)
    if (todo[i].until > todo[i].from)
      stops[stops_count++ % STOPS_KEPT] = todo[i];
}

/* With stops_lock: credits D with the pieces found since its last look,
 * as far as it lived through them and did not skip them already. */
static void credit_stops(zb_deadline *d, uint64_t now) {
  uint64_t i;
  if (stops_count - d->stops_seen > STOPS_KEPT)
    d->stops_seen = stops_count - STOPS_KEPT;
  for (i = d->stops_seen; i < stops_count; i++) {
    span s = stops[i % STOPS_KEPT];
    d->skipped_ns += overlap(s, d->start_ns, now) -
                     overlap(s, d->skip_from_ns, d->skip_until_ns);
  }
  d->stops_seen = stops_count;
}

int zb__deadline_look(zb_deadline *d, uint64_t now, int slice_ms) {
  uint64_t end, asked_end = d->looked_ns + (uint64_t)d->wait_ms * NS_PER_MS;
  uint64_t busy = UINT64_MAX;
  bool late = now > asked_end + (uint64_t)ZB_STOPPED_GAP_MS * NS_PER_MS;

  /* schedstat at a late look, else at most every CPU_SAMPLE_NS (a look is
   * on the way of every frame that waits; the read is three calls) */
  if (late || now - thread_sample.until >= CPU_SAMPLE_NS)
    busy = thread_busy_ns();
  pthread_once(&stops_once, stops_init);
  pthread_mutex_lock(&stops_lock);
  if (late && cpu_still(asked_end, now) && !thread_busy(busy, asked_end, now))
    add_stop(asked_end, now);
  if (cpu_sampled == 0 ||
      now - cpu_samples[(cpu_sampled - 1) % CPU_SAMPLES].until >=
          CPU_SAMPLE_NS) {
    uint64_t cpu = process_cpu_ns();
    if (cpu != UINT64_MAX)
      cpu_samples[cpu_sampled++ % CPU_SAMPLES] = (span){cpu, now};
  }
  credit_stops(d, now);
  pthread_mutex_unlock(&stops_lock);
  if (busy != UINT64_MAX)
    thread_sample = (span){busy, now};

  d->looked_ns = now;
  d->wait_ms = slice_ms;
  if (d->timeout_ms >= 0) {
    end = d->start_ns + d->skipped_ns + (uint64_t)d->timeout_ms * NS_PER_MS;
    if (now >= end)
      d->wait_ms = 0;
    else if (end - now < (uint64_t)slice_ms * NS_PER_MS)
      d->wait_ms = (int)((end - now + NS_PER_MS - 1) / NS_PER_MS);
  }
  return d->wait_ms;
}

int zb_deadline_start(zb_deadline *d, int timeout_ms) {
  if (d == NULL)
    return zb__fail(ZB_EINVAL, "zb_deadline_start: the deadline is NULL");
  if (timeout_ms < ZB_WAIT_FOREVER)
    return zb__fail(ZB_EINVAL, "zb_deadline_start: timeout_ms %d is "
                    "invalid: give 0 or more, or ZB_WAIT_FOREVER (-1)",
                    timeout_ms);
  /* no lock here, on the way of every frame: pieces found before the start
   * are credited from the start on only, so not at all */
  *d = (zb_deadline){0};
  d->timeout_ms = timeout_ms;
  d->start_ns = d->looked_ns = zb__now_ns();
  return 0;
}

int zb_deadline_wait_ms(zb_deadline *d, int slice_ms) {
  if (d == NULL || slice_ms <= 0)
    return zb__fail(ZB_EINVAL, "zb_deadline_wait_ms: %s",
                    d == NULL ? "the deadline is NULL"
                              : "slice_ms must be above 0");
  return zb__deadline_look(d, zb__now_ns(), slice_ms);
}

void zb_deadline_skip(zb_deadline *d, uint64_t ns) {
  uint64_t now = zb__now_ns(), from, i, kept;
  if (d == NULL)
    return;
  from = ns < now ? now - ns : 0;
  if (from < d->start_ns)
    from = d->start_ns;
  if (from < d->skip_until_ns)
    from = d->skip_until_ns; /* skipped already */
  pthread_once(&stops_once, stops_init);
  pthread_mutex_lock(&stops_lock);
  /* the pieces found meanwhile first; then the skip, but for what of it
   * they credited */
  credit_stops(d, now);
  if (now > from) {
    d->skipped_ns += now - from;
    kept = stops_count < STOPS_KEPT ? stops_count : STOPS_KEPT;
    for (i = 0; i < kept; i++)
      d->skipped_ns -= overlap(stops[i], from, now);
  }
  pthread_mutex_unlock(&stops_lock);
  d->skip_from_ns = from;
  d->skip_until_ns = d->looked_ns = now;
  d->wait_ms = 0;
}

uint64_t zb_deadline_origin_ns(const zb_deadline *d) {
  return d == NULL ? 0 : d->start_ns + d->skipped_ns;
}

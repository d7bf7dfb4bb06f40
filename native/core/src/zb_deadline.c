/* zb_deadline.c — timeouts that do not count time the process was stopped.
 *
 * A stop is inferred from a look at the clock that comes over
 * ZB_STOPPED_GAP_MS after the end of the wait the last look asked for.
 * Lateness alone would also take a caller that was busy elsewhere for
 * stopped, so two more things must agree: no other thread looked in
 * between (last_look_ns: the process ran then), and the process's CPU
 * time barely moved (a busy caller's runs). What a look finds is kept for
 * the whole process, as an interval, so that a wait whose own looks are
 * far apart (cut short by a wake) gets the stop another wait saw; each
 * deadline credits the part of an interval it lived through, once. */
#include <pthread.h>
#include <time.h>

#include "zb_error.h"
#include "zb_platform.h"

#define NS_PER_MS 1000000u
/* The process's CPU time is sampled at most this often: a look is on the
 * way of every frame that waits, the sample is a system call. */
#define CPU_SAMPLE_NS (200u * NS_PER_MS)
/* Intervals kept for deadlines that look rarely; an older one is lost to
 * them (it counts as time running). */
#define STOPS_KEPT 16

typedef struct stop_interval {
  uint64_t from, until;
} stop_interval;

static pthread_mutex_t stops_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t stops_once = PTHREAD_ONCE_INIT;
static stop_interval stops[STOPS_KEPT];
static uint64_t stops_count;  /* intervals found so far */
static uint64_t last_look_ns; /* the latest look of any thread */
static uint64_t cpu_ns, cpu_sampled_ns;

/* A child of fork() must not find the lock held by a thread it lacks. */
static void stops_prepare(void) { pthread_mutex_lock(&stops_lock); }
static void stops_resume(void) { pthread_mutex_unlock(&stops_lock); }
static void stops_init(void) {
  pthread_atfork(stops_prepare, stops_resume, stops_resume);
}

static uint64_t process_cpu_ns(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
    return UINT64_MAX; /* unknown: nothing is taken for stopped */
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* With stops_lock: records [from, now] as stopped when the process shows
 * no sign of running then. */
static void find_stop(uint64_t from, uint64_t now) {
  uint64_t cpu;
  if (last_look_ns > from)
    from = last_look_ns; /* another thread looked: running until then */
  if (stops_count > 0 && stops[(stops_count - 1) % STOPS_KEPT].until > from)
    from = stops[(stops_count - 1) % STOPS_KEPT].until;
  if (now <= from + (uint64_t)ZB_STOPPED_GAP_MS * NS_PER_MS ||
      cpu_sampled_ns == 0 || cpu_sampled_ns > from)
    return;
  cpu = process_cpu_ns();
  /* CPU time since the sample before FROM, against the time since: half of
   * it spent running is no stop (a stop's share is the time before FROM) */
  if (cpu == UINT64_MAX || cpu < cpu_ns || cpu - cpu_ns >= (now - from) / 2)
    return;
  stops[stops_count % STOPS_KEPT] = (stop_interval){from, now};
  stops_count++;
}

/* With stops_lock: credits D with the part of the stops found since its
 * last look that it lived through and has not been credited yet. */
static void credit_stops(zb_deadline *d) {
  uint64_t i, from;
  if (stops_count - d->stops_seen > STOPS_KEPT)
    d->stops_seen = stops_count - STOPS_KEPT;
  for (i = d->stops_seen; i < stops_count; i++) {
    const stop_interval *s = &stops[i % STOPS_KEPT];
    from = s->from > d->credited_until_ns ? s->from : d->credited_until_ns;
    if (s->until > from) {
      d->skipped_ns += s->until - from;
      d->credited_until_ns = s->until;
    }
  }
  d->stops_seen = stops_count;
}

int zb__deadline_look(zb_deadline *d, uint64_t now, int slice_ms) {
  uint64_t end;

  pthread_once(&stops_once, stops_init);
  pthread_mutex_lock(&stops_lock);
  find_stop(d->looked_ns + (uint64_t)d->wait_ms * NS_PER_MS, now);
  if (now > last_look_ns)
    last_look_ns = now;
  if (now - cpu_sampled_ns >= CPU_SAMPLE_NS) {
    cpu_ns = process_cpu_ns();
    cpu_sampled_ns = cpu_ns == UINT64_MAX ? 0 : now;
  }
  credit_stops(d);
  pthread_mutex_unlock(&stops_lock);

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
  /* no lock here, on the way of every frame: stops found before the start
   * are credited from the start on only (credited_until_ns), so none */
  *d = (zb_deadline){0};
  d->timeout_ms = timeout_ms;
  d->start_ns = d->looked_ns = d->credited_until_ns = zb__now_ns();
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
  uint64_t now = zb__now_ns(), from;
  if (d == NULL)
    return;
  /* the stops found meanwhile first: what they credit is not skipped twice,
   * and what they credit after the skip is not lost */
  pthread_once(&stops_once, stops_init);
  pthread_mutex_lock(&stops_lock);
  credit_stops(d);
  pthread_mutex_unlock(&stops_lock);
  from = ns < now ? now - ns : 0;
  if (from < d->credited_until_ns)
    from = d->credited_until_ns; /* a stop already credited */
  if (now > from)
    d->skipped_ns += now - from;
  d->credited_until_ns = d->looked_ns = now;
  d->wait_ms = 0;
}

uint64_t zb_deadline_origin_ns(const zb_deadline *d) {
  return d == NULL ? 0 : d->start_ns + d->skipped_ns;
}

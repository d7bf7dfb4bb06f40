/* measure.h — what both bench programs measure of their own process: CPU
 * seconds so far and peak RSS. Included by zb-bench.c and gst-run.c. */
#ifndef ZB_BENCH_MEASURE_H
#define ZB_BENCH_MEASURE_H

#include <stdio.h>
#include <sys/resource.h>

static inline double cpu_now(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* VmHWM of /proc/self/status in kB, -1 when unknown. */
static inline long vm_hwm_kb(void) {
  char line[256];
  long kb = -1;
  FILE *f = fopen("/proc/self/status", "r");
  if (f == NULL)
    return -1;
  while (fgets(line, sizeof line, f) != NULL)
    if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
      break;
  fclose(f);
  return kb;
}

#endif

/* zb_test.c — helpers shared by the C suites. */
#include "zb_test.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <semaphore.h>
#include <unistd.h>

int zb_test_failures;

const char *zb_test_name(const char *tag) {
  static char names[8][96];
  static unsigned counter;
  char *out = names[counter % 8];
  snprintf(out, sizeof names[0], "zbt-%d-%s-%u", (int)getpid(), tag, counter);
  counter++;
  return out;
}

long zb_test_read_segment(const char *name, uint8_t *buf, size_t cap) {
  char path[512];
  long total = 0;
  ssize_t n;
  int fd;
  snprintf(path, sizeof path, "/dev/shm/%s", name);
  fd = open(path, O_RDONLY);
  if (fd < 0)
    return -1;
  while ((size_t)total < cap && (n = read(fd, buf + total, cap - (size_t)total)) > 0)
    total += n;
  close(fd);
  return total;
}

void zb_test_remove_ring(const char *name) {
  char path[512];
  snprintf(path, sizeof path, "/%s", name);
  shm_unlink(path);
  snprintf(path, sizeof path, "/sem-w-%s", name);
  sem_unlink(path);
  snprintf(path, sizeof path, "/sem-r-%s", name);
  sem_unlink(path);
  snprintf(path, sizeof path, "/tmp/zerobuffer/%s.lock", name);
  unlink(path);
}

int zb_test_ring_gone(const char *name) {
  const char *formats[] = {"/dev/shm/%s", "/dev/shm/sem.sem-w-%s",
                           "/dev/shm/sem.sem-r-%s", "/tmp/zerobuffer/%s.lock"};
  char path[512];
  size_t i;
  for (i = 0; i < sizeof formats / sizeof formats[0]; i++) {
    snprintf(path, sizeof path, formats[i], name);
    if (access(path, F_OK) == 0) {
      fprintf(stderr, "left behind: %s\n", path);
      return 0;
    }
  }
  return 1;
}

int zb_test_finish(const char *suite) {
  fprintf(stderr, "%s: %d failed checks\n", suite, zb_test_failures);
  return zb_test_failures == 0 ? 0 : 1;
}

/* zb_test.h — the little the C suites share: checks that report where they
 * failed and go on, unique ring names, reading a segment through the file
 * system, and leaving no objects behind. */
#ifndef ZB_TEST_H
#define ZB_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "zerobuffer.h"

extern int zb_test_failures;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      zb_test_failures++;                                                      \
      fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)

/* Asserts a call's return code; prints the core's message when it differs. */
#define CHECK_RC(expr, expected)                                               \
  do {                                                                         \
    int rc_ = (expr);                                                          \
    if (rc_ != (expected)) {                                                   \
      zb_test_failures++;                                                      \
      fprintf(stderr, "%s:%d: %s returned %s, expected %s (%s)\n", __FILE__,  \
              __LINE__, #expr, zb_err_name(rc_), zb_err_name(expected),        \
              zb_last_error());                                                \
    }                                                                          \
  } while (0)

#define CHECK_EQ_U64(a, b)                                                     \
  do {                                                                         \
    uint64_t a_ = (a), b_ = (b);                                               \
    if (a_ != b_) {                                                            \
      zb_test_failures++;                                                      \
      fprintf(stderr, "%s:%d: %s == %llu, expected %s == %llu\n", __FILE__,   \
              __LINE__, #a, (unsigned long long)a_, #b,                        \
              (unsigned long long)b_);                                         \
    }                                                                          \
  } while (0)

/* The last error message contains needle. */
#define CHECK_MSG(needle)                                                      \
  do {                                                                         \
    if (strstr(zb_last_error(), (needle)) == NULL) {                           \
      zb_test_failures++;                                                      \
      fprintf(stderr, "%s:%d: last error \"%s\" lacks \"%s\"\n", __FILE__,    \
              __LINE__, zb_last_error(), (needle));                            \
    }                                                                          \
  } while (0)

/* Runs one test function and reports it. */
#define RUN(test)                                                              \
  do {                                                                         \
    int before_ = zb_test_failures;                                            \
    test();                                                                    \
    fprintf(stderr, "%s %s\n", zb_test_failures == before_ ? "ok  " : "FAIL",  \
            #test);                                                            \
  } while (0)

/* "zbt-<pid>-<tag>-<counter>": unique per process and call. */
const char *zb_test_name(const char *tag);

/* Reads /dev/shm/NAME into buf (at most cap bytes); returns the size or -1. */
long zb_test_read_segment(const char *name, uint8_t *buf, size_t cap);

/* Removes the shm segment, both semaphores and the lock file of NAME. */
void zb_test_remove_ring(const char *name);

/* True when /dev/shm/NAME, both semaphores and the lock file are all gone. */
int zb_test_ring_gone(const char *name);

/* Exit status for main(): 0 or 1, with a summary line on stderr. */
int zb_test_finish(const char *suite);

#endif /* ZB_TEST_H */

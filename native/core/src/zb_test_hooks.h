/* zb_test_hooks.h — internal entry points for the test suites only. */
#ifndef ZB_TEST_HOOKS_H
#define ZB_TEST_HOOKS_H

#include "zerobuffer.h"

/* A reader laid over a segment written elsewhere (the golden dumps)
 * continues that stream at `sequence`. */
void zb__reader_expect_sequence(zb_reader *reader, uint64_t sequence);

/* The reader's own mapping of its segment (the fuzz target lays its input
 * over it and checks every pointer the reader hands out against it). */
uint8_t *zb__reader_segment(zb_reader *reader);

#endif /* ZB_TEST_HOOKS_H */

/* zb_test_hooks.h — internal entry points for the test suites only. */
#ifndef ZB_TEST_HOOKS_H
#define ZB_TEST_HOOKS_H

#include "zerobuffer.h"

/* A reader laid over a segment written elsewhere (the golden dumps)
 * continues that stream at `sequence`. */
void zb__reader_expect_sequence(zb_reader *reader, uint64_t sequence);

#endif /* ZB_TEST_HOOKS_H */

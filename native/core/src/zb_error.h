/* zb_error.h — setting the calling thread's error details. */
#ifndef ZB_ERROR_H
#define ZB_ERROR_H

#include "zerobuffer.h"

/* Formats the details for zb_last_error() and returns code, so that
 * failures read `return zb__fail(ZB_ENAME, "...", ...);`. */
int zb__fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Maps errno from a failed system call to a code (-errno) and formats the
 * details as "<what>: <strerror>". */
int zb__fail_errno(int err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif /* ZB_ERROR_H */

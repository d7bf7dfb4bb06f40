/* zb_error.h — setting the calling thread's error details. */
#ifndef ZB_ERROR_H
#define ZB_ERROR_H

#include "zerobuffer.h"

/* Formats the details for zb_last_error() and returns code, so that
 * failures read `return zb__fail(ZB_ENAME, "...", ...);`. */
int zb__fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* zb__fail for details that one key (not 0) always formats the same: when
 * the calling thread's last details came from this key, they are left as
 * they are, unformatted. For results that come often and are rarely read
 * (a poll's ZB_EAGAIN, once per batch in the addon). */
int zb__fail_keyed(uint64_t key, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Maps errno from a failed system call to a code (-errno) and formats the
 * details as "<what>: <strerror>". */
int zb__fail_errno(int err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif /* ZB_ERROR_H */

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

/* Room for one message's details: a ring's name (up to ZB_NAME_MAX bytes)
 * may be in it whole up to three times (the name, a file's path, a command
 * to paste). A longer text is cut, never inside a UTF-8 character. */
#define ZB__ERROR_MAX 2048

/* How many of S's bytes "%.*s" prints to show at most MAX of them without
 * splitting a UTF-8 character (a name too long to show whole). */
int zb__utf8_prefix(const char *s, size_t max);

/* Room for zb__shell_quote of a ring's name or one of its files' paths:
 * every byte a quote ('\'') at worst. */
#define ZB__QUOTED_MAX (4 * (ZB_NAME_MAX + 32) + 3)

/* S as a word to paste into a shell: as it is when it needs no quoting,
 * else in single quotes (a quote in it as '\''). Returns OUT. */
const char *zb__shell_quote(const char *s, char *out, size_t cap);

/* Room for zb__cleanup_command of a ring's name. */
#define ZB__CLEANUP_MAX (ZB__QUOTED_MAX + sizeof "zerobuffer cleanup -- ")

/* "zerobuffer cleanup NAME" to paste: NAME shell-quoted, after "--" when it
 * begins with '-'. Returns OUT. */
const char *zb__cleanup_command(const char *name, char *out, size_t cap);

#endif /* ZB_ERROR_H */

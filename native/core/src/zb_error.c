/* zb_error.c — error names, texts and the per-thread details. */
#include "zb_error.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_error[ZB__ERROR_MAX];
/* The key zb__fail_keyed formatted last_error under, 0 once anything else
 * formatted it: the same key formats the same text, which is still there. */
static _Thread_local uint64_t last_error_key;

const char *zb_err_name(int code) {
  switch (code) {
  case 0:
    return "OK";
#define ZB__ERR_NAME(name, value, text) \
  case ZB_##name:                       \
    return #name;
    ZB_ERRNO_MAP(ZB__ERR_NAME)
#undef ZB__ERR_NAME
  }
  return "EUNKNOWN";
}

const char *zb_strerror(int code) {
  switch (code) {
  case 0:
    return "success"; /* as zb_err_name's "OK" */
#define ZB__ERR_TEXT(name, value, text) \
  case ZB_##name:                       \
    return text;
    ZB_ERRNO_MAP(ZB__ERR_TEXT)
#undef ZB__ERR_TEXT
  }
  return code < 0 && code > -4000 ? strerror(-code) : "unknown error";
}

const char *zb_last_error(void) { return last_error; }

/* LEN, less the start of a UTF-8 character that a cut at LEN split: a cut
 * text stays valid UTF-8 (GStreamer drops a debug text that is not). */
static size_t utf8_whole(const char *s, size_t len) {
  size_t start = len, need;
  unsigned char lead;
  while (start > 0 && len - start < 3 &&
         ((unsigned char)s[start - 1] & 0xC0) == 0x80)
    start--;
  if (start == 0)
    return len;
  lead = (unsigned char)s[start - 1];
  need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  return len - (start - 1) < need ? start - 1 : len;
}

int zb__utf8_prefix(const char *s, size_t max) {
  size_t len = strnlen(s, max + 1);
  return (int)(len <= max ? len : utf8_whole(s, max));
}

const char *zb__shell_quote(const char *s, char *out, size_t cap) {
  size_t n = 0;
  const char *p;
  /* the bytes a shell takes as part of a word (non-ASCII ones too): a
   * plain name reads as it is */
  bool plain = s[0] != '\0';
  for (p = s; plain && *p != '\0'; p++)
    plain = (unsigned char)*p >= 0x80 ||
            strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                   "0123456789_-.,:@%+=/", *p) != NULL;
  if (plain) {
    snprintf(out, cap, "%s", s);
    return out;
  }
  out[n++] = '\'';
  for (p = s; *p != '\0' && n + 6 <= cap; p++) {
    if (*p == '\'') {
      memcpy(out + n, "'\\''", 4);
      n += 4;
    } else {
      out[n++] = *p;
    }
  }
  out[n++] = '\'';
  out[n] = '\0';
  return out;
}

const char *zb__cleanup_command(const char *name, char *out, size_t cap) {
  char quoted[ZB__QUOTED_MAX];
  /* the CLI would take "-x" for an option, and "--" for the end of them:
   * no names, a sweep of every ring */
  snprintf(out, cap, "zerobuffer cleanup %s%s", name[0] == '-' ? "-- " : "",
           zb__shell_quote(name, quoted, sizeof quoted));
  return out;
}

static void format_details(const char *fmt, va_list ap) {
  int n = vsnprintf(last_error, sizeof last_error, fmt, ap);
  if (n >= (int)sizeof last_error)
    last_error[utf8_whole(last_error, sizeof last_error - 1)] = '\0';
  last_error_key = 0;
}

int zb__fail(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  format_details(fmt, ap);
  va_end(ap);
  return code;
}

int zb__fail_keyed(uint64_t key, int code, const char *fmt, ...) {
  va_list ap;
  if (key == last_error_key)
    return code;
  va_start(ap, fmt);
  format_details(fmt, ap);
  va_end(ap);
  last_error_key = key;
  return code;
}

int zb__fail_errno(int err, const char *fmt, ...) {
  va_list ap;
  size_t used;
  va_start(ap, fmt);
  format_details(fmt, ap);
  va_end(ap);
  used = strlen(last_error);
  if (snprintf(last_error + used, sizeof last_error - used, ": %s",
               strerror(err)) >= (int)(sizeof last_error - used))
    last_error[utf8_whole(last_error, sizeof last_error - 1)] = '\0';
  return err > 0 ? -err : ZB_EIO;
}

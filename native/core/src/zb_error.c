/* zb_error.c — error names, texts and the per-thread details. */
#include "zb_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_error[1024];
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

static void format_details(const char *fmt, va_list ap) {
  vsnprintf(last_error, sizeof last_error, fmt, ap);
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
  snprintf(last_error + used, sizeof last_error - used, ": %s", strerror(err));
  return err > 0 ? -err : ZB_EIO;
}

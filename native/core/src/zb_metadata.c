/* zb_metadata.c — the project's metadata conventions, in one place: the
 * metadata is a JSON object (readers cut before its first '{'), and our
 * extensions are declared in its member "zerobuffer": the per-frame header
 * by {"frame_header":1}, a duplex client's acceptance of in-place answers by
 * {"in_place":1}, the note of a writer whose metadata did not fit by
 * {"metadata_needed":N} (docs/PROTOCOL.md §9, "Our extensions").
 *
 * The metadata comes from another process: the scanner below never recurses
 * (nesting only moves a counter), never reads past `end`, and turns
 * anything malformed into "not declared" or an error code. */
#include <stdio.h>
#include <string.h>

#include "zb_error.h"
#include "zb_oieb.h"
#include "zerobuffer.h"

#define DECLARED_KEY "zerobuffer"
#define FRAME_HEADER_KEY "frame_header"
#define IN_PLACE_KEY "in_place"
#define METADATA_NEEDED_KEY "metadata_needed"

typedef struct scan {
  const uint8_t *p, *end;
} scan;

static void skip_ws(scan *s) {
  while (s->p < s->end &&
         (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
    s->p++;
}

static bool eat(scan *s, uint8_t c) {
  skip_ws(s);
  if (s->p < s->end && *s->p == c) {
    s->p++;
    return true;
  }
  return false;
}

/* A string at p: its raw bytes between the quotes (escapes left as they
 * are) in *start and *len. */
static bool string_token(scan *s, const uint8_t **start, size_t *len) {
  skip_ws(s);
  if (s->p >= s->end || *s->p != '"')
    return false;
  *start = ++s->p;
  /* each byte read once: the metadata is shared memory a writer may change
   * under us, and an escape judged twice could step past the end */
  for (uint8_t c; s->p < s->end && (c = *s->p) != '"';) {
    if (c < 0x20 || (c == '\\' && s->end - s->p < 2))
      return false;
    s->p += c == '\\' ? 2 : 1;
  }
  if (s->p >= s->end)
    return false;
  *len = (size_t)(s->p - *start);
  s->p++;
  return true;
}

static bool key_is(const uint8_t *k, size_t len, const char *want) {
  return len == strlen(want) && memcmp(k, want, len) == 0;
}

/* Skips one value: a string, or anything up to the next ',' / '}' / ']' at
 * its own level (objects and arrays by counting brackets outside strings). */
static bool skip_value(scan *s) {
  uint64_t depth = 0;
  const uint8_t *k;
  size_t len;
  skip_ws(s);
  while (s->p < s->end) {
    uint8_t c = *s->p;
    if (c == '"') {
      if (!string_token(s, &k, &len))
        return false;
      if (depth == 0)
        return true;
      continue;
    }
    if (c == '{' || c == '[')
      depth++;
    else if (c == '}' || c == ']') {
      if (depth == 0)
        return true; /* the end of the enclosing object */
      if (--depth == 0) {
        s->p++;
        return true;
      }
    } else if (c == ',' && depth == 0)
      return true;
    s->p++;
  }
  return false;
}

/* Positions s after the '{' of the top-level object. */
static bool open_object(scan *s) {
  while (s->p < s->end && *s->p != '{')
    s->p++;
  return eat(s, '{');
}

/* Finds the member KEY of the object s is in (just after its '{' or a
 * ','); s is then at its value. False when absent or malformed. */
static bool find_member(scan *s, const char *key, bool *malformed) {
  const uint8_t *k;
  size_t len;
  *malformed = false;
  if (eat(s, '}'))
    return false;
  for (;;) {
    if (!string_token(s, &k, &len) || !eat(s, ':')) {
      *malformed = true;
      return false;
    }
    if (key_is(k, len, key)) {
      skip_ws(s);
      return true;
    }
    if (!skip_value(s)) {
      *malformed = true;
      return false;
    }
    if (eat(s, ','))
      continue;
    *malformed = !eat(s, '}');
    return false;
  }
}

/* The non-negative integer at s (digits only, at most 9 of them). Each
 * byte is read once, as in string_token: a digit that changed between its
 * check and its use would overflow v. */
static int small_integer(scan *s) {
  int v = 0, digits = 0;
  uint8_t c = 0;
  skip_ws(s);
  while (s->p < s->end && (c = *s->p) >= '0' && c <= '9' && digits < 9) {
    v = v * 10 + (c - '0');
    s->p++;
    digits++;
  }
  if (digits == 0 ||
      (s->p < s->end && ((c = *s->p) == '.' || c == 'e' || c == 'E' ||
                         (c >= '0' && c <= '9'))))
    return -1;
  return v;
}

/* The value N of the member "zerobuffer":{KEY:N}: 0 when absent (also when
 * the metadata is not a JSON object), ZB_EPROTO when malformed. */
static int declared_value(const uint8_t *metadata, uint64_t size,
                          const char *key) {
  scan s = {metadata, metadata + size};
  bool malformed;
  int value;
  if (metadata == NULL || size == 0 || !open_object(&s))
    return 0;
  if (!find_member(&s, DECLARED_KEY, &malformed))
    return 0;
  if (!eat(&s, '{'))
    malformed = true;
  else if (!find_member(&s, key, &malformed) && !malformed)
    return 0; /* our member, without this key */
  if (malformed || (value = small_integer(&s)) < 0)
    return zb__fail(ZB_EPROTO,
                    "the metadata's \"" DECLARED_KEY "\" member is not an "
                    "object whose \"%s\" is a non-negative integer", key);
  return value;
}

/* Copies json to out with "zerobuffer":{KEY:1} declared: a KEY:0 there is
 * set to 1 (inserting another KEY would leave a duplicate key, which other
 * JSON readers resolve to the last one); else KEY:1 is inserted in our
 * member when there is one, or our member as the object's first. */
static int declare_value(const uint8_t *json, uint64_t size, const char *key,
                         uint8_t *out, uint64_t cap, uint64_t *out_size) {
  scan s;
  const uint8_t *at, *old_value;
  size_t cut = 0; /* bytes at `at` that `insert` replaces */
  char insert[64];
  bool malformed, empty;
  int declared;

  if (json == NULL || out_size == NULL)
    return zb__fail(ZB_EINVAL, "zb_metadata_declare_%s: json and out_size "
                    "are required", key);
  s = (scan){json, json + size}; /* (no arithmetic on a NULL json) */
  if (!open_object(&s))
    return zb__fail(ZB_EINVAL, "metadata to declare \"%s\" in is not a JSON "
                    "object", key);
  declared = declared_value(json, size, key);
  if (declared == 1) {
    insert[0] = '\0'; /* declared already: unchanged */
    at = json + size;
  } else if (declared != 0) {
    return zb__fail(declared < 0 ? ZB_EINVAL : ZB_EMETADATA,
                    "the metadata declares another \"%s\" (\"" DECLARED_KEY
                    "\" member): cannot declare version 1", key);
  } else if (find_member(&s, DECLARED_KEY, &malformed)) {
    if (!eat(&s, '{'))
      return zb__fail(ZB_EINVAL, "the metadata's \"" DECLARED_KEY "\" member "
                      "is not an object");
    at = s.p;
    empty = eat(&s, '}');
    s.p = at;
    if (!empty && find_member(&s, key, &malformed)) {
      old_value = s.p; /* KEY:0, read by declared_value above */
      small_integer(&s);
      at = old_value;
      cut = (size_t)(s.p - old_value);
      snprintf(insert, sizeof insert, "1");
    } else {
      snprintf(insert, sizeof insert, "\"%s\":1%s", key, empty ? "" : ",");
    }
  } else {
    if (malformed)
      return zb__fail(ZB_EINVAL, "metadata to declare \"%s\" in is not a "
                      "well-formed JSON object", key);
    s.p = json;
    open_object(&s);
    at = s.p;
    empty = eat(&s, '}');
    snprintf(insert, sizeof insert, "\"" DECLARED_KEY "\":{\"%s\":1}%s", key,
             empty ? "" : ",");
  }
  *out_size = size - cut + strlen(insert);
  if (out == NULL)
    return 0;
  if (cap < *out_size)
    return zb__fail(ZB_EINVAL, "declaring \"%s\" in the metadata: %llu bytes "
                    "of room, %llu needed", key, (unsigned long long)cap,
                    (unsigned long long)*out_size);
  memcpy(out, json, (size_t)(at - json));
  memcpy(out + (at - json), insert, strlen(insert));
  memcpy(out + (at - json) + strlen(insert), at + cut,
         (size_t)(json + size - at - cut));
  return 0;
}

int zb_metadata_frame_header(const uint8_t *metadata, uint64_t size) {
  return declared_value(metadata, size, FRAME_HEADER_KEY);
}

int zb_metadata_declare_frame_header(const uint8_t *json, uint64_t size,
                                     uint8_t *out, uint64_t cap,
                                     uint64_t *out_size) {
  return declare_value(json, size, FRAME_HEADER_KEY, out, cap, out_size);
}

int zb_metadata_in_place(const uint8_t *metadata, uint64_t size) {
  return declared_value(metadata, size, IN_PLACE_KEY);
}

int zb_metadata_declare_in_place(const uint8_t *json, uint64_t size,
                                 uint8_t *out, uint64_t cap,
                                 uint64_t *out_size) {
  return declare_value(json, size, IN_PLACE_KEY, out, cap, out_size);
}

int zb__metadata_needed(const uint8_t *metadata, uint64_t size) {
  int needed = declared_value(metadata, size, METADATA_NEEDED_KEY);
  return needed > 0 ? needed : 0;
}

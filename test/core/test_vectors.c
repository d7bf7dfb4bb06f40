/* test_vectors.c — our core against the golden dumps of the C++ peer
 * (test/vectors, see its README.md and manifest.json).
 *
 *   files   every dump has the size and sha256 the manifest gives, and the
 *           manifest's decoded OIEB, metadata, frames, markers and tails
 *           agree with its bytes: the expectations below rest on the bytes.
 *   reader  peer bytes laid over a ring of ours are decoded exactly as the
 *           manifest says (metadata, every unread frame), and the reads and
 *           releases our reader makes turn one dump into the next.
 *   writer  our reader and writer, replaying a scenario's operations, leave
 *           segments byte-identical to the dumps (pids masked).
 *
 * The deliberate differences (docs/PROTOCOL.md §6 and §7): in
 * scenario "small-tail" our writer zeroes the 1..15-byte tail the peer leaves
 * stale when it wraps and counts it in payload_written_count (one more than
 * the dump: the C++ reader counts it, writer_expected), and our reader
 * reads the frame behind such a tail,
 * where the C++ reader fails with a sequence error; after a frame that ends
 * exactly at the end of the ring our reader leaves payload_read_pos at the
 * end (payload_size), where the C++ reader writes 0.
 *
 * argv[1] is the vectors directory. Everything read from the manifest or a dump is bounds-checked: a
 * malformed file is a failed check, never a crash.
 */
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zb_test.h"
#include "zb_test_hooks.h"
#include "zerobuffer.h"

#define MAX_MANIFEST_BYTES (4u << 20)
#define MAX_DUMP_BYTES (16u << 20)
#define SHORT_MS 200       /* waits where the answer is immediate or nothing */
#define MAX_REPORTED_DIFFS 8
#define MAX_HELD 64

/* The wire layout (docs/PROTOCOL.md §2), spelled out here rather than taken from the
 * core's headers: the dumps, not our structs, are the authority. */
#define OIEB_BYTES 128u
#define OFF_METADATA_WRITTEN 0x18u
#define OFF_PAYLOAD_FREE 0x28u
#define OFF_READ_POS 0x38u
#define OFF_WRITTEN_COUNT 0x40u
#define OFF_READ_COUNT 0x48u
#define OFF_WRITER_PID 0x50u
#define OFF_READER_PID 0x58u
#define PIDS_END 0x60u /* writer_pid and reader_pid: 0x50..0x5F, masked */
#define FRAME_HEADER 16u

typedef struct oieb_field {
  const char *name;
  size_t offset, size;
} oieb_field;

static const oieb_field OIEB_FIELDS[] = {
    {"oieb_size", 0x00, 4},
    {"version", 0x04, 4},
    {"metadata_size", 0x08, 8},
    {"metadata_free_bytes", 0x10, 8},
    {"metadata_written_bytes", 0x18, 8},
    {"payload_size", 0x20, 8},
    {"payload_free_bytes", 0x28, 8},
    {"payload_write_pos", 0x30, 8},
    {"payload_read_pos", 0x38, 8},
    {"payload_written_count", 0x40, 8},
    {"payload_read_count", 0x48, 8},
    {"writer_pid", 0x50, 8},
    {"reader_pid", 0x58, 8},
    {"reserved", 0x60, 32},
};
#define N_OIEB_FIELDS (sizeof OIEB_FIELDS / sizeof OIEB_FIELDS[0])

static uint64_t le64(const uint8_t *p) {
  uint64_t v = 0;
  int i;
  for (i = 7; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}

static void put_le64(uint8_t *p, uint64_t v) {
  int i;
  for (i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

/* Byte i of the frame with sequence number s (README "Frame contents"). */
static uint8_t frame_byte(uint64_t i, uint64_t seq) {
  return (uint8_t)((i * 31 + seq * 7) & 0xFF);
}

/* ================================================================ JSON
 * A small reader for the manifest: the whole RFC 8259 grammar, numbers kept
 * only as unsigned 64-bit integers (all the manifest needs), depth limited. */

typedef enum { J_NULL, J_BOOL, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT } json_type;

typedef struct json {
  json_type type;
  char *key;          /* member name when inside an object */
  char *str;          /* J_STRING: decoded UTF-8, NUL-terminated */
  size_t len;         /* J_STRING: bytes (the text itself may hold NULs) */
  bool boolean;
  bool is_u64;        /* J_NUMBER that is an integer in 0..2^64-1 */
  uint64_t u64;
  struct json *items; /* J_ARRAY elements, J_OBJECT members */
  size_t count, capacity;
} json;

typedef struct json_parser {
  const char *start, *p, *end;
  int depth;
  const char *error; /* the first error and where it was */
  size_t error_at;
} json_parser;

#define JSON_MAX_DEPTH 64

static void json_free(json *v) {
  size_t i;
  for (i = 0; i < v->count; i++)
    json_free(&v->items[i]);
  free(v->items);
  free(v->key);
  free(v->str);
  memset(v, 0, sizeof *v);
}

static bool json_fail(json_parser *jp, const char *what) {
  if (jp->error == NULL) {
    jp->error = what;
    jp->error_at = (size_t)(jp->p - jp->start);
  }
  return false;
}

static bool json_more(const json_parser *jp) { return jp->p < jp->end; }

static void json_skip_ws(json_parser *jp) {
  while (json_more(jp) && (*jp->p == ' ' || *jp->p == '\t' ||
                           *jp->p == '\n' || *jp->p == '\r'))
    jp->p++;
}

static bool json_eat(json_parser *jp, char c) {
  json_skip_ws(jp);
  if (!json_more(jp) || *jp->p != c)
    return false;
  jp->p++;
  return true;
}

static bool json_literal(json_parser *jp, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(jp->end - jp->p) < n || memcmp(jp->p, word, n) != 0)
    return json_fail(jp, "unknown literal");
  jp->p += n;
  return true;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static bool json_hex4(json_parser *jp, uint32_t *out) {
  int i, d;
  *out = 0;
  if (jp->end - jp->p < 4)
    return json_fail(jp, "truncated \\u escape");
  for (i = 0; i < 4; i++) {
    if ((d = hex_value(jp->p[i])) < 0)
      return json_fail(jp, "bad \\u escape");
    *out = *out * 16 + (uint32_t)d;
  }
  jp->p += 4;
  return true;
}

static char *put_utf8(char *o, uint32_t cp) {
  if (cp < 0x80) {
    *o++ = (char)cp;
  } else if (cp < 0x800) {
    *o++ = (char)(0xC0 | (cp >> 6));
    *o++ = (char)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *o++ = (char)(0xE0 | (cp >> 12));
    *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
    *o++ = (char)(0x80 | (cp & 0x3F));
  } else {
    *o++ = (char)(0xF0 | (cp >> 18));
    *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
    *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
    *o++ = (char)(0x80 | (cp & 0x3F));
  }
  return o;
}

/* \uXXXX, with a following \uXXXX when it is a surrogate pair. */
static bool json_unicode(json_parser *jp, char **o) {
  uint32_t cp, low;
  if (!json_hex4(jp, &cp))
    return false;
  if (cp >= 0xDC00 && cp <= 0xDFFF)
    return json_fail(jp, "lone low surrogate");
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    if (jp->end - jp->p < 2 || jp->p[0] != '\\' || jp->p[1] != 'u')
      return json_fail(jp, "lone high surrogate");
    jp->p += 2;
    if (!json_hex4(jp, &low))
      return false;
    if (low < 0xDC00 || low > 0xDFFF)
      return json_fail(jp, "bad surrogate pair");
    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
  }
  *o = put_utf8(*o, cp);
  return true;
}

/* Decodes the string body at jp->p (after the opening quote) up to `close`
 * (its closing quote) into buf. */
static bool json_decode(json_parser *jp, const char *close, char *buf,
                        size_t *len) {
  char *o = buf;
  while (jp->p < close) {
    unsigned char c = (unsigned char)*jp->p++;
    if (c < 0x20)
      return json_fail(jp, "control character in string");
    if (c != '\\') {
      *o++ = (char)c;
      continue;
    }
    /* The scan that found `close` guarantees a byte after the backslash. */
    switch (*jp->p++) {
    case '"': *o++ = '"'; break;
    case '\\': *o++ = '\\'; break;
    case '/': *o++ = '/'; break;
    case 'b': *o++ = '\b'; break;
    case 'f': *o++ = '\f'; break;
    case 'n': *o++ = '\n'; break;
    case 'r': *o++ = '\r'; break;
    case 't': *o++ = '\t'; break;
    case 'u':
      if (!json_unicode(jp, &o))
        return false;
      break;
    default:
      return json_fail(jp, "bad escape");
    }
    if (jp->p > close)
      return json_fail(jp, "escape runs past the end of the string");
  }
  *o = '\0';
  *len = (size_t)(o - buf);
  jp->p = close + 1;
  return true;
}

/* A string into a malloc'd copy. Decoding never makes text longer (an
 * escape of 2, 6 or 12 bytes yields at most 1, 3 or 4), so the source
 * length bounds the buffer. */
static bool json_string(json_parser *jp, char **out, size_t *len) {
  const char *body, *q;
  char *buf;
  json_skip_ws(jp);
  if (!json_more(jp) || *jp->p != '"')
    return json_fail(jp, "expected a string");
  body = ++jp->p;
  for (q = body; q < jp->end && *q != '"'; q++)
    if (*q == '\\')
      q++;
  if (q >= jp->end)
    return json_fail(jp, "unterminated string");
  if ((buf = malloc((size_t)(q - body) + 1)) == NULL)
    return json_fail(jp, "out of memory");
  if (!json_decode(jp, q, buf, len)) {
    free(buf);
    return false;
  }
  *out = buf;
  return true;
}

static bool is_digit(const json_parser *jp) {
  return json_more(jp) && *jp->p >= '0' && *jp->p <= '9';
}

static bool json_number(json_parser *jp, json *v) {
  bool negative = false, integral = true, overflow = false;
  uint64_t u = 0;
  if (json_more(jp) && *jp->p == '-') {
    negative = true;
    jp->p++;
  }
  if (!is_digit(jp))
    return json_fail(jp, "bad number");
  if (*jp->p == '0') {
    jp->p++;
  } else {
    while (is_digit(jp)) {
      unsigned d = (unsigned)(*jp->p++ - '0');
      if (u > (UINT64_MAX - d) / 10)
        overflow = true;
      else
        u = u * 10 + d;
    }
  }
  if (json_more(jp) && *jp->p == '.') {
    integral = false;
    jp->p++;
    if (!is_digit(jp))
      return json_fail(jp, "bad fraction");
    while (is_digit(jp))
      jp->p++;
  }
  if (json_more(jp) && (*jp->p == 'e' || *jp->p == 'E')) {
    integral = false;
    jp->p++;
    if (json_more(jp) && (*jp->p == '+' || *jp->p == '-'))
      jp->p++;
    if (!is_digit(jp))
      return json_fail(jp, "bad exponent");
    while (is_digit(jp))
      jp->p++;
  }
  v->type = J_NUMBER;
  v->is_u64 = !negative && integral && !overflow;
  v->u64 = v->is_u64 ? u : 0;
  return true;
}

static json *json_push(json_parser *jp, json *v) {
  if (v->count == v->capacity) {
    size_t cap = v->capacity ? v->capacity * 2 : 8;
    json *grown = realloc(v->items, cap * sizeof *grown);
    if (grown == NULL) {
      json_fail(jp, "out of memory");
      return NULL;
    }
    v->items = grown;
    v->capacity = cap;
  }
  memset(&v->items[v->count], 0, sizeof v->items[0]);
  return &v->items[v->count++];
}

static bool json_value(json_parser *jp, json *v);

static bool json_array(json_parser *jp, json *v) {
  v->type = J_ARRAY;
  if (json_eat(jp, ']'))
    return true;
  do {
    json *item = json_push(jp, v);
    if (item == NULL || !json_value(jp, item))
      return false;
  } while (json_eat(jp, ','));
  return json_eat(jp, ']') || json_fail(jp, "expected ',' or ']'");
}

static bool json_object(json_parser *jp, json *v) {
  v->type = J_OBJECT;
  if (json_eat(jp, '}'))
    return true;
  do {
    json *member = json_push(jp, v);
    size_t key_len;
    if (member == NULL || !json_string(jp, &member->key, &key_len))
      return false;
    if (strlen(member->key) != key_len)
      return json_fail(jp, "NUL in member name");
    if (!json_eat(jp, ':'))
      return json_fail(jp, "expected ':'");
    if (!json_value(jp, member))
      return false;
  } while (json_eat(jp, ','));
  return json_eat(jp, '}') || json_fail(jp, "expected ',' or '}'");
}

static bool json_value(json_parser *jp, json *v) {
  bool ok;
  json_skip_ws(jp);
  if (!json_more(jp))
    return json_fail(jp, "unexpected end of text");
  if (++jp->depth > JSON_MAX_DEPTH)
    return json_fail(jp, "nested too deeply");
  switch (*jp->p) {
  case '{': jp->p++; ok = json_object(jp, v); break;
  case '[': jp->p++; ok = json_array(jp, v); break;
  case '"':
    v->type = J_STRING;
    ok = json_string(jp, &v->str, &v->len);
    break;
  case 't': v->type = J_BOOL; v->boolean = true; ok = json_literal(jp, "true"); break;
  case 'f': v->type = J_BOOL; ok = json_literal(jp, "false"); break;
  case 'n': v->type = J_NULL; ok = json_literal(jp, "null"); break;
  default: ok = json_number(jp, v); break;
  }
  jp->depth--;
  return ok;
}

/* Parses a whole document; on failure *root is freed and the reason
 * printed. */
static bool json_parse(const char *text, size_t len, json *root,
                       const char *what) {
  json_parser jp = {text, text, text + len, 0, NULL, 0};
  memset(root, 0, sizeof *root);
  if (json_value(&jp, root)) {
    json_skip_ws(&jp);
    if (!json_more(&jp))
      return true;
    json_fail(&jp, "trailing text after the document");
  }
  fprintf(stderr, "%s: JSON error at byte %zu: %s\n", what, jp.error_at,
          jp.error);
  json_free(root);
  return false;
}

static const json *json_get(const json *obj, const char *key) {
  size_t i;
  if (obj == NULL || obj->type != J_OBJECT)
    return NULL;
  for (i = 0; i < obj->count; i++)
    if (strcmp(obj->items[i].key, key) == 0)
      return &obj->items[i];
  return NULL;
}

/* ============================================================== SHA-256
 * FIPS 180-4, one shot over a buffer: enough to tie each dump to the
 * manifest's digest. */

static const uint32_t SHA256_K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t ror32(uint32_t x, unsigned n) {
  return (x >> n) | (x << (32 - n));
}

static void sha256_block(uint32_t h[8], const uint8_t *p) {
  uint32_t w[64], s[8], t1, t2;
  int i;
  for (i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
           (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
  for (i = 16; i < 64; i++)
    w[i] = w[i - 16] + w[i - 7] +
           (ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3)) +
           (ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10));
  memcpy(s, h, sizeof s);
  for (i = 0; i < 64; i++) {
    t1 = s[7] + (ror32(s[4], 6) ^ ror32(s[4], 11) ^ ror32(s[4], 25)) +
         ((s[4] & s[5]) ^ (~s[4] & s[6])) + SHA256_K[i] + w[i];
    t2 = (ror32(s[0], 2) ^ ror32(s[0], 13) ^ ror32(s[0], 22)) +
         ((s[0] & s[1]) ^ (s[0] & s[2]) ^ (s[1] & s[2]));
    memmove(s + 1, s, 7 * sizeof s[0]);
    s[4] += t1;
    s[0] = t1 + t2;
  }
  for (i = 0; i < 8; i++)
    h[i] += s[i];
}

static void sha256_hex(const uint8_t *data, size_t len, char out[65]) {
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  uint8_t tail[128] = {0};
  size_t full = len / 64 * 64, rest = len - full, tail_len, i;
  for (i = 0; i < full; i += 64)
    sha256_block(h, data + i);
  memcpy(tail, data + full, rest);
  tail[rest] = 0x80;
  tail_len = rest + 1 + 8 <= 64 ? 64 : 128;
  for (i = 0; i < 8; i++)
    tail[tail_len - 1 - i] = (uint8_t)(((uint64_t)len * 8) >> (8 * i));
  for (i = 0; i < tail_len; i += 64)
    sha256_block(h, tail + i);
  for (i = 0; i < 8; i++)
    snprintf(out + 8 * i, 9, "%08x", (unsigned)h[i]);
}

/* ============================================================ manifest */

typedef enum {
  OP_CREATE_READER, OP_CONNECT_WRITER, OP_SET_METADATA,
  OP_WRITE, OP_READ, OP_RELEASE, OP_UNKNOWN
} op_kind;

typedef struct vec_op {
  op_kind kind;
  uint64_t seq;           /* write, read, release; expected_seq of a failed read */
  uint64_t size;          /* write, read, set_metadata */
  uint64_t metadata_size; /* create_reader */
  uint64_t payload_size;
  const char *bytes;      /* set_metadata: the exact metadata bytes */
  size_t bytes_len;
  bool failed;            /* a read the peer recorded as an exception */
} vec_op;

typedef enum { F_UNREAD, F_READ_HELD, F_RELEASED } frame_status;

typedef struct vec_frame {
  uint64_t seq, size, offset, file_offset, total;
  frame_status status;
  bool intact;
} vec_frame;

typedef struct vec_marker {
  uint64_t offset, file_offset, wasted;
  bool intact;
} vec_marker;

typedef struct vec_tail {
  uint64_t offset, file_offset, length;
} vec_tail;

typedef struct checkpoint {
  char label[128]; /* "scenario/checkpoint", for messages */
  const char *scenario, *file, *shm_name, *sha256;
  uint64_t metadata_size, payload_size, total_size;
  uint64_t metadata_offset, payload_offset;
  vec_op *ops;
  size_t n_ops;
  vec_frame *frames;
  size_t n_frames;
  vec_marker *markers;
  size_t n_markers;
  vec_tail *tails; /* skipped_tails_without_marker */
  size_t n_tails;
  const json *oieb, *masked;
  bool has_metadata;
  const char *metadata;
  size_t metadata_len;
  uint64_t metadata_prefix, metadata_content_offset;
  uint8_t *dump;
  size_t dump_size;
  bool usable; /* vetted by test_dump_files(): safe for the other tests */
} checkpoint;

/* Checkpoints of one scenario: consecutive in the manifest, each one's ops
 * extending the previous one's. */
typedef struct scenario {
  size_t first, end;
} scenario;

static struct {
  char dir[4096];
  char *text;
  json root;
  checkpoint *cps;
  size_t n_cps;
  scenario *scenarios;
  size_t n_scenarios;
} g;

/* A manifest that lacks what we need is a failed check, not a crash. */
static void manifest_error(const char *where, const char *key,
                           const char *problem) {
  zb_test_failures++;
  fprintf(stderr, "manifest: %s: \"%s\" %s\n", where, key, problem);
}

static uint64_t field_u64(const json *obj, const char *key, const char *where) {
  const json *v = json_get(obj, key);
  if (v == NULL || v->type != J_NUMBER || !v->is_u64) {
    manifest_error(where, key, "is missing or not an unsigned integer");
    return 0;
  }
  return v->u64;
}

static const json *field_string(const json *obj, const char *key,
                                const char *where) {
  const json *v = json_get(obj, key);
  if (v == NULL || v->type != J_STRING) {
    manifest_error(where, key, "is missing or not a string");
    return NULL;
  }
  return v;
}

static const char *field_cstr(const json *obj, const char *key,
                              const char *where) {
  const json *v = field_string(obj, key, where);
  return v != NULL ? v->str : "";
}

static bool field_bool(const json *obj, const char *key, const char *where) {
  const json *v = json_get(obj, key);
  if (v == NULL || v->type != J_BOOL) {
    manifest_error(where, key, "is missing or not a boolean");
    return false;
  }
  return v->boolean;
}

static const json *field_array(const json *obj, const char *key,
                               const char *where) {
  const json *v = json_get(obj, key);
  if (v == NULL || v->type != J_ARRAY) {
    manifest_error(where, key, "is missing or not an array");
    return NULL;
  }
  return v;
}

/* calloc of an array from the manifest (at least one element, so that an
 * empty list is not mistaken for a failed allocation). */
static void *alloc_items(const json *array, size_t item_size, size_t *count) {
  void *p;
  *count = array != NULL ? array->count : 0;
  p = calloc(*count ? *count : 1, item_size);
  if (p == NULL) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  return p;
}

static void parse_read_op(const json *o, vec_op *op, const char *where) {
  const json *result = json_get(o, "result");
  op->kind = OP_READ;
  if (result == NULL) {
    op->seq = field_u64(o, "seq", where);
    op->size = field_u64(o, "size", where);
    return;
  }
  op->failed = true;
  op->seq = field_u64(o, "expected_seq", where);
  if (result->type != J_STRING || strcmp(result->str, "exception") != 0)
    manifest_error(where, "result", "is not \"exception\"");
}

static void parse_op(const json *o, vec_op *op, const char *where) {
  const char *kind = field_cstr(o, "op", where);
  const json *bytes;
  if (strcmp(kind, "create_reader") == 0) {
    op->kind = OP_CREATE_READER;
    op->metadata_size = field_u64(o, "metadata_size", where);
    op->payload_size = field_u64(o, "payload_size", where);
  } else if (strcmp(kind, "connect_writer") == 0) {
    op->kind = OP_CONNECT_WRITER;
  } else if (strcmp(kind, "set_metadata") == 0) {
    op->kind = OP_SET_METADATA;
    op->size = field_u64(o, "size", where);
    if ((bytes = field_string(o, "bytes_utf8", where)) != NULL) {
      op->bytes = bytes->str;
      op->bytes_len = bytes->len;
      if (op->bytes_len != op->size)
        manifest_error(where, "bytes_utf8", "length differs from \"size\"");
    }
  } else if (strcmp(kind, "write") == 0) {
    op->kind = OP_WRITE;
    op->seq = field_u64(o, "seq", where);
    op->size = field_u64(o, "size", where);
  } else if (strcmp(kind, "read") == 0) {
    parse_read_op(o, op, where);
  } else if (strcmp(kind, "release") == 0) {
    op->kind = OP_RELEASE;
    op->seq = field_u64(o, "seq", where);
  } else {
    op->kind = OP_UNKNOWN;
    manifest_error(where, "op", "names an unknown operation");
  }
}

static frame_status parse_status(const char *s, const char *where) {
  if (strcmp(s, "unread") == 0)
    return F_UNREAD;
  if (strcmp(s, "read_held") == 0)
    return F_READ_HELD;
  if (strcmp(s, "released") != 0)
    manifest_error(where, "status", "is not unread/read_held/released");
  return F_RELEASED;
}

static void parse_frames(const json *e, checkpoint *cp) {
  const json *a = field_array(e, "frames", cp->label);
  size_t i;
  cp->frames = alloc_items(a, sizeof *cp->frames, &cp->n_frames);
  for (i = 0; i < cp->n_frames; i++) {
    const json *f = &a->items[i];
    vec_frame *vf = &cp->frames[i];
    vf->seq = field_u64(f, "seq", cp->label);
    vf->size = field_u64(f, "size", cp->label);
    vf->offset = field_u64(f, "offset", cp->label);
    vf->file_offset = field_u64(f, "file_offset", cp->label);
    vf->total = field_u64(f, "total_size", cp->label);
    vf->status = parse_status(field_cstr(f, "status", cp->label), cp->label);
    vf->intact = field_bool(f, "intact_in_dump", cp->label);
  }
}

static void parse_markers_and_tails(const json *e, checkpoint *cp) {
  const json *m = field_array(e, "wrap_markers", cp->label);
  const json *t = field_array(e, "skipped_tails_without_marker", cp->label);
  size_t i;
  cp->markers = alloc_items(m, sizeof *cp->markers, &cp->n_markers);
  for (i = 0; i < cp->n_markers; i++) {
    cp->markers[i].offset = field_u64(&m->items[i], "offset", cp->label);
    cp->markers[i].file_offset =
        field_u64(&m->items[i], "file_offset", cp->label);
    cp->markers[i].wasted = field_u64(&m->items[i], "wasted_bytes", cp->label);
    cp->markers[i].intact =
        field_bool(&m->items[i], "intact_in_dump", cp->label);
  }
  cp->tails = alloc_items(t, sizeof *cp->tails, &cp->n_tails);
  for (i = 0; i < cp->n_tails; i++) {
    cp->tails[i].offset = field_u64(&t->items[i], "offset", cp->label);
    cp->tails[i].file_offset =
        field_u64(&t->items[i], "file_offset", cp->label);
    cp->tails[i].length = field_u64(&t->items[i], "length", cp->label);
  }
}

static void parse_metadata(const json *e, checkpoint *cp) {
  const json *m = json_get(e, "metadata"), *content;
  if (m == NULL || m->type == J_NULL) {
    if (m == NULL)
      manifest_error(cp->label, "metadata", "is missing");
    return;
  }
  cp->has_metadata = true;
  cp->metadata_prefix = field_u64(m, "length_prefix", cp->label);
  cp->metadata_content_offset = field_u64(m, "content_offset", cp->label);
  if ((content = field_string(m, "content_utf8", cp->label)) != NULL) {
    cp->metadata = content->str;
    cp->metadata_len = content->len;
  } else {
    cp->metadata = "";
  }
}

static void parse_checkpoint(const json *e, checkpoint *cp, size_t index) {
  const json *ops;
  size_t i;
  snprintf(cp->label, sizeof cp->label, "checkpoint %zu", index);
  cp->scenario = field_cstr(e, "scenario", cp->label);
  snprintf(cp->label, sizeof cp->label, "%s/%s", cp->scenario,
           field_cstr(e, "checkpoint", cp->label));
  cp->file = field_cstr(e, "file", cp->label);
  cp->shm_name = field_cstr(e, "shm_name", cp->label);
  cp->sha256 = field_cstr(e, "sha256", cp->label);
  cp->metadata_size = field_u64(e, "metadata_size", cp->label);
  cp->payload_size = field_u64(e, "payload_size", cp->label);
  cp->total_size = field_u64(e, "total_size", cp->label);
  cp->metadata_offset = field_u64(e, "metadata_offset", cp->label);
  cp->payload_offset = field_u64(e, "payload_offset", cp->label);
  cp->oieb = json_get(e, "oieb");
  cp->masked = field_array(e, "masked", cp->label);
  ops = field_array(e, "ops", cp->label);
  cp->ops = alloc_items(ops, sizeof *cp->ops, &cp->n_ops);
  for (i = 0; i < cp->n_ops; i++)
    parse_op(&ops->items[i], &cp->ops[i], cp->label);
  parse_frames(e, cp);
  parse_markers_and_tails(e, cp);
  parse_metadata(e, cp);
}

static void group_scenarios(void) {
  size_t i, j;
  g.scenarios = calloc(g.n_cps ? g.n_cps : 1, sizeof *g.scenarios);
  if (g.scenarios == NULL)
    exit(1);
  for (i = 0; i < g.n_cps; i++) {
    scenario *last = g.n_scenarios ? &g.scenarios[g.n_scenarios - 1] : NULL;
    if (last != NULL &&
        strcmp(g.cps[last->first].scenario, g.cps[i].scenario) == 0) {
      last->end = i + 1;
      continue;
    }
    for (j = 0; j < g.n_scenarios; j++)
      if (strcmp(g.cps[g.scenarios[j].first].scenario, g.cps[i].scenario) == 0)
        manifest_error(g.cps[i].label, "scenario",
                       "appears again after another scenario");
    g.scenarios[g.n_scenarios++] = (scenario){i, i + 1};
  }
}

/* Reads a whole file of at most max bytes. */
static bool load_file(const char *path, size_t max, uint8_t **out,
                      size_t *size) {
  FILE *f = fopen(path, "rb");
  uint8_t *buf;
  size_t n;
  *out = NULL;
  *size = 0;
  if (f == NULL) {
    fprintf(stderr, "%s: %s\n", path, strerror(errno));
    return false;
  }
  buf = malloc(max + 1);
  if (buf == NULL) {
    fclose(f);
    return false;
  }
  n = fread(buf, 1, max + 1, f);
  fclose(f);
  if (n > max) {
    fprintf(stderr, "%s: larger than %zu bytes\n", path, max);
    free(buf);
    return false;
  }
  *out = buf;
  *size = n;
  return true;
}

/* The manifest names files inside the vectors directory, nothing else. */
static bool safe_relative_path(const char *file) {
  return file[0] != '\0' && file[0] != '/' && strstr(file, "..") == NULL &&
         strlen(file) < 256;
}

static bool load_manifest(const char *dir) {
  char path[4400];
  uint8_t *text;
  size_t size, i;
  const json *list;

  snprintf(g.dir, sizeof g.dir, "%s", dir);
  snprintf(path, sizeof path, "%s/manifest.json", dir);
  if (!load_file(path, MAX_MANIFEST_BYTES, &text, &size))
    return false;
  g.text = (char *)text;
  if (!json_parse(g.text, size, &g.root, path))
    return false;
  if (strcmp(field_cstr(&g.root, "format", "manifest"),
             "zerobuffer-golden-vectors-1") != 0)
    manifest_error("manifest", "format", "is not zerobuffer-golden-vectors-1");
  if ((list = field_array(&g.root, "checkpoints", "manifest")) == NULL)
    return false;
  g.cps = alloc_items(list, sizeof *g.cps, &g.n_cps);
  for (i = 0; i < g.n_cps; i++)
    parse_checkpoint(&list->items[i], &g.cps[i], i);
  group_scenarios();
  return g.n_cps > 0;
}

static void free_manifest(void) {
  size_t i;
  for (i = 0; i < g.n_cps; i++) {
    free(g.cps[i].ops);
    free(g.cps[i].frames);
    free(g.cps[i].markers);
    free(g.cps[i].tails);
    free(g.cps[i].dump);
  }
  free(g.cps);
  free(g.scenarios);
  json_free(&g.root);
  free(g.text);
}

static const vec_frame *find_frame(const checkpoint *cp, uint64_t seq) {
  size_t i;
  for (i = 0; i < cp->n_frames; i++)
    if (cp->frames[i].seq == seq)
      return &cp->frames[i];
  return NULL;
}

/* The first frame a reader laid over this dump must return; 0 if none. */
static uint64_t first_unread_seq(const checkpoint *cp) {
  uint64_t best = 0;
  size_t i;
  for (i = 0; i < cp->n_frames; i++)
    if (cp->frames[i].status == F_UNREAD &&
        (best == 0 || cp->frames[i].seq < best))
      best = cp->frames[i].seq;
  return best;
}

/* ============================================================ checking */

static bool expect_u64(const char *ctx, const char *what, uint64_t actual,
                       uint64_t expected) {
  if (actual == expected)
    return true;
  zb_test_failures++;
  fprintf(stderr, "  %s: %s is %llu, expected %llu\n", ctx, what,
          (unsigned long long)actual, (unsigned long long)expected);
  return false;
}

static bool expect_rc(const char *ctx, const char *what, int rc, int expected) {
  if (rc == expected)
    return true;
  zb_test_failures++;
  /* zb_err_name(0) is "EUNKNOWN": name success ourselves. */
  fprintf(stderr, "  %s: %s returned %s, expected %s (%s)\n", ctx, what,
          rc == 0 ? "0" : zb_err_name(rc),
          expected == 0 ? "0" : zb_err_name(expected),
          rc == 0 ? "no error" : zb_last_error());
  return false;
}

static void describe_offset(const checkpoint *cp, size_t off, char *out,
                            size_t cap) {
  size_t i;
  if (off < OIEB_BYTES) {
    for (i = 0; i < N_OIEB_FIELDS; i++)
      if (off >= OIEB_FIELDS[i].offset &&
          off < OIEB_FIELDS[i].offset + OIEB_FIELDS[i].size) {
        snprintf(out, cap, "OIEB %s, byte %zu", OIEB_FIELDS[i].name,
                 off - OIEB_FIELDS[i].offset);
        return;
      }
  }
  if (off < cp->payload_offset)
    snprintf(out, cap, "metadata block + %zu", off - OIEB_BYTES);
  else
    snprintf(out, cap, "payload + %zu", off - (size_t)cp->payload_offset);
}

static const vec_tail *tail_at(const checkpoint *cp, size_t off) {
  size_t i;
  for (i = 0; i < cp->n_tails; i++)
    if (off >= cp->tails[i].file_offset &&
        off - cp->tails[i].file_offset < cp->tails[i].length)
      return &cp->tails[i];
  return NULL;
}

/* Whether the last frame the peer's reader read before checkpoint cp (its
 * last read that succeeded: a failed one moved nothing) ended exactly at
 * the end of the ring. */
static bool last_read_ended_at_end(const checkpoint *cp) {
  size_t i = cp->n_ops;
  while (i-- > 0) {
    const vec_op *op = &cp->ops[i];
    if (op->kind == OP_READ && !op->failed) {
      const vec_frame *vf = find_frame(cp, op->seq);
      return vf != NULL && vf->offset + vf->total == cp->payload_size;
    }
  }
  return false;
}

/* Our reader's read_pos against the C++ reader's: equal, or, only where
 * the last frame read ended exactly at the end of the ring, ours at the
 * end (payload_size) where the peer's went back to 0 (docs/PROTOCOL.md
 * §7). Anywhere else P for 0 is a wrong read_pos. */
static bool same_read_pos(const checkpoint *cp, uint64_t ours, uint64_t peer) {
  return ours == peer ||
         (ours == cp->payload_size && peer == 0 && last_read_ended_at_end(cp));
}

/* Compares our segment with an expected image of checkpoint cp, pids
 * masked. With zeroed_tails, the bytes of cp's skipped small tails must be
 * zero in ours whatever the image holds: our writer clears such a tail where
 * the peer leaves stale bytes (docs/PROTOCOL.md §6). */
static bool segment_matches(const char *ctx, const checkpoint *cp,
                            const uint8_t *ours, size_t ours_size,
                            const uint8_t *expected, bool zeroed_tails) {
  size_t i, diffs = 0;
  char where[96];
  if (ours_size != cp->total_size) {
    zb_test_failures++;
    fprintf(stderr, "  %s: our segment is %zu bytes, the dump %llu\n", ctx,
            ours_size, (unsigned long long)cp->total_size);
    return false;
  }
  for (i = 0; i < ours_size; i++) {
    bool in_tail = zeroed_tails && tail_at(cp, i) != NULL;
    uint8_t want = in_tail ? 0 : expected[i];
    if ((i >= OFF_WRITER_PID && i < PIDS_END) || ours[i] == want ||
        (i >= OFF_READ_POS && i < OFF_READ_POS + 8 &&
         same_read_pos(cp, le64(ours + OFF_READ_POS), le64(expected + OFF_READ_POS))))
      continue;
    if (diffs++ < MAX_REPORTED_DIFFS) {
      describe_offset(cp, i, where, sizeof where);
      fprintf(stderr, "  %s: offset %zu (0x%zx, %s): ours 0x%02x, %s 0x%02x\n",
              ctx, i, i, where, ours[i],
              in_tail ? "expected (zeroed tail)" : "dump", want);
    }
  }
  if (diffs == 0)
    return true;
  zb_test_failures++;
  fprintf(stderr, "  %s: %zu bytes differ from %s\n", ctx, diffs, cp->file);
  return false;
}

/* Our ring's bytes, through the file system as a peer would see them. */
static uint8_t *read_our_segment(const char *ctx, const char *name,
                                 size_t expected_size, size_t *size) {
  uint8_t *buf = malloc(expected_size + 1); /* +1: notice a larger one */
  long n;
  *size = 0;
  if (buf == NULL)
    return NULL;
  n = zb_test_read_segment(name, buf, expected_size + 1);
  if (n < 0) {
    zb_test_failures++;
    fprintf(stderr, "  %s: cannot read /dev/shm/%s\n", ctx, name);
    free(buf);
    return NULL;
  }
  *size = (size_t)n;
  return buf;
}

static bool compare_with(const char *ctx, const char *name,
                         const checkpoint *cp, const uint8_t *expected,
                         bool zeroed_tails) {
  size_t size;
  uint8_t *ours = read_our_segment(ctx, name, cp->dump_size, &size);
  bool same = ours != NULL &&
              segment_matches(ctx, cp, ours, size, expected, zeroed_tails);
  free(ours);
  return same;
}

static bool frame_content_ok(const char *ctx, const zb_frame *f) {
  uint64_t i;
  for (i = 0; i < f->size; i++)
    if (f->data[i] != frame_byte(i, f->sequence)) {
      zb_test_failures++;
      fprintf(stderr, "  %s: frame %llu byte %llu is 0x%02x, expected 0x%02x\n",
              ctx, (unsigned long long)f->sequence, (unsigned long long)i,
              f->data[i], frame_byte(i, f->sequence));
      return false;
    }
  return true;
}

static void check_metadata(zb_reader *r, const checkpoint *cp,
                           const char *ctx) {
  const uint8_t *data;
  uint64_t size;
  if (!expect_rc(ctx, "zb_reader_metadata", zb_reader_metadata(r, &data, &size), 0))
    return;
  if (!cp->has_metadata) {
    expect_u64(ctx, "metadata size (none written)", size, 0);
    return;
  }
  if (expect_u64(ctx, "metadata size", size, cp->metadata_len) &&
      memcmp(data, cp->metadata, cp->metadata_len) != 0) {
    zb_test_failures++;
    fprintf(stderr, "  %s: metadata is \"%.*s\", expected \"%s\"\n", ctx,
            (int)size, (const char *)data, cp->metadata);
  }
}

/* ===================================================== test: the files */

static void check_oieb_against_dump(checkpoint *cp) {
  size_t i;
  const json *v;
  for (i = 0; i < N_OIEB_FIELDS; i++) {
    const oieb_field *f = &OIEB_FIELDS[i];
    const uint8_t *at = cp->dump + f->offset;
    size_t k;
    v = json_get(cp->oieb, f->name);
    if (f->size == 8) {
      expect_u64(cp->label, f->name, le64(at), field_u64(cp->oieb, f->name, cp->label));
    } else if (f->size == 4 && strcmp(f->name, "oieb_size") == 0) {
      expect_u64(cp->label, f->name, le64(at) & 0xFFFFFFFFu,
                 field_u64(cp->oieb, f->name, cp->label));
    } else if (v == NULL || v->type != J_ARRAY ||
               v->count * (f->size == 4 ? 1 : 8) != f->size) {
      manifest_error(cp->label, f->name, "is not an array of the right length");
    } else {
      for (k = 0; k < v->count; k++)
        expect_u64(cp->label, f->name,
                   f->size == 4 ? at[k] : le64(at + 8 * k),
                   v->items[k].is_u64 ? v->items[k].u64 : UINT64_MAX);
    }
  }
}

/* The pid fields are zero in every dump: the comparisons mask them. */
static void check_masking(const checkpoint *cp) {
  size_t i;
  CHECK(cp->masked != NULL && cp->masked->count == 2);
  for (i = 0; cp->masked != NULL && i < cp->masked->count; i++) {
    uint64_t off = field_u64(&cp->masked->items[i], "offset", cp->label);
    expect_u64(cp->label, "masked length",
               field_u64(&cp->masked->items[i], "length", cp->label), 8);
    CHECK(off == OFF_WRITER_PID || off == OFF_READER_PID);
  }
  expect_u64(cp->label, "writer_pid in dump", le64(cp->dump + OFF_WRITER_PID), 0);
  expect_u64(cp->label, "reader_pid in dump", le64(cp->dump + OFF_READER_PID), 0);
}

static void check_metadata_in_dump(const checkpoint *cp) {
  uint64_t written = le64(cp->dump + OFF_METADATA_WRITTEN);
  if (!cp->has_metadata) {
    expect_u64(cp->label, "metadata_written_bytes (no metadata)", written, 0);
    return;
  }
  expect_u64(cp->label, "metadata length_prefix", cp->metadata_prefix, cp->metadata_len);
  expect_u64(cp->label, "metadata_written_bytes", written, 8 + cp->metadata_len);
  expect_u64(cp->label, "metadata content_offset", cp->metadata_content_offset,
             OIEB_BYTES + 8);
  if (8 + cp->metadata_len > cp->metadata_size) {
    manifest_error(cp->label, "metadata", "does not fit the metadata block");
    return;
  }
  expect_u64(cp->label, "metadata prefix in dump", le64(cp->dump + OIEB_BYTES),
             cp->metadata_len);
  CHECK(memcmp(cp->dump + OIEB_BYTES + 8, cp->metadata, cp->metadata_len) == 0);
}

/* Frame, marker and tail positions lie inside the ring, and what the
 * manifest calls intact is in the dump. */
static bool check_ring_entries(const checkpoint *cp) {
  int before = zb_test_failures;
  size_t i;
  uint64_t j;
  for (i = 0; i < cp->n_frames; i++) {
    const vec_frame *f = &cp->frames[i];
    const uint8_t *at = cp->dump + f->file_offset;
    if (f->size == 0 || f->total != FRAME_HEADER + f->size ||
        f->offset > cp->payload_size - f->total ||
        f->file_offset != cp->payload_offset + f->offset) {
      manifest_error(cp->label, "frames", "holds a frame outside the ring");
      continue;
    }
    if (!f->intact)
      continue;
    expect_u64(cp->label, "frame size in dump", le64(at), f->size);
    expect_u64(cp->label, "frame sequence in dump", le64(at + 8), f->seq);
    for (j = 0; j < f->size; j++)
      if (at[FRAME_HEADER + j] != frame_byte(j, f->seq)) {
        expect_u64(cp->label, "intact frame byte", at[FRAME_HEADER + j],
                   frame_byte(j, f->seq));
        break;
      }
  }
  for (i = 0; i < cp->n_markers; i++) {
    const vec_marker *m = &cp->markers[i];
    if (m->offset > cp->payload_size - FRAME_HEADER ||
        m->file_offset != cp->payload_offset + m->offset ||
        m->wasted != cp->payload_size - m->offset) {
      manifest_error(cp->label, "wrap_markers", "holds a marker outside the ring");
      continue;
    }
    if (m->intact) {
      expect_u64(cp->label, "marker size", le64(cp->dump + m->file_offset), 0);
      expect_u64(cp->label, "marker sequence", le64(cp->dump + m->file_offset + 8), 0);
    }
  }
  for (i = 0; i < cp->n_tails; i++) {
    const vec_tail *t = &cp->tails[i];
    if (t->length == 0 || t->length >= FRAME_HEADER ||
        t->offset != cp->payload_size - t->length ||
        t->file_offset != cp->payload_offset + t->offset)
      manifest_error(cp->label, "skipped_tails_without_marker",
                     "holds a tail that is not the last 1..15 bytes");
  }
  return zb_test_failures == before;
}

static bool check_layout(const checkpoint *cp) {
  bool ok = cp->metadata_offset == OIEB_BYTES &&
            cp->metadata_size % 64 == 0 && cp->payload_size % 64 == 0 &&
            cp->payload_size > FRAME_HEADER &&
            cp->metadata_size <= MAX_DUMP_BYTES &&
            cp->payload_size <= MAX_DUMP_BYTES &&
            cp->payload_offset == OIEB_BYTES + cp->metadata_size &&
            cp->total_size == cp->payload_offset + cp->payload_size;
  if (!ok)
    manifest_error(cp->label, "sizes", "do not make a 128 + metadata + payload layout");
  return ok;
}

/* Every later checkpoint of a scenario repeats the earlier one's ops. */
static bool ops_extend(const checkpoint *later, const checkpoint *earlier) {
  size_t i;
  if (later->n_ops < earlier->n_ops)
    return false;
  for (i = 0; i < earlier->n_ops; i++) {
    const vec_op *a = &later->ops[i], *b = &earlier->ops[i];
    if (a->kind != b->kind || a->seq != b->seq || a->size != b->size ||
        a->failed != b->failed || a->metadata_size != b->metadata_size ||
        a->payload_size != b->payload_size || a->bytes_len != b->bytes_len ||
        (a->bytes_len > 0 && memcmp(a->bytes, b->bytes, a->bytes_len) != 0))
      return false;
  }
  return true;
}

static bool check_ops(const checkpoint *cp, const checkpoint *previous) {
  const vec_op *first = cp->n_ops > 0 ? &cp->ops[0] : NULL;
  if (first == NULL || first->kind != OP_CREATE_READER ||
      first->metadata_size != cp->metadata_size ||
      first->payload_size != cp->payload_size) {
    manifest_error(cp->label, "ops", "do not start with create_reader of these sizes");
    return false;
  }
  if (previous != NULL && !ops_extend(cp, previous)) {
    manifest_error(cp->label, "ops", "do not extend the previous checkpoint's");
    return false;
  }
  return true;
}

static void vet_checkpoint(checkpoint *cp, const checkpoint *previous) {
  int before = zb_test_failures;
  char path[4400], digest[65];

  bool layout_ok = check_layout(cp), ops_ok = check_ops(cp, previous);

  if (!layout_ok || !ops_ok)
    return;
  if (!safe_relative_path(cp->file)) {
    manifest_error(cp->label, "file", "is not a plain relative path");
    return;
  }
  snprintf(path, sizeof path, "%s/%s", g.dir, cp->file);
  if (!load_file(path, MAX_DUMP_BYTES, &cp->dump, &cp->dump_size)) {
    zb_test_failures++;
    return;
  }
  if (!expect_u64(cp->label, "dump file size", cp->dump_size, cp->total_size))
    return;
  sha256_hex(cp->dump, cp->dump_size, digest);
  if (strcmp(digest, cp->sha256) != 0) {
    zb_test_failures++;
    fprintf(stderr, "  %s: sha256 %s, manifest says %s\n", cp->label, digest,
            cp->sha256);
  }
  check_oieb_against_dump(cp);
  check_masking(cp);
  check_metadata_in_dump(cp);
  check_ring_entries(cp);
  cp->usable = zb_test_failures == before;
}

static void report(const char *direction, const scenario *s, int before) {
  fprintf(stderr, "%s %-7s %s\n", zb_test_failures == before ? "ok  " : "FAIL",
          direction, g.cps[s->first].scenario);
}

static bool scenario_usable(const scenario *s) {
  size_t i;
  for (i = s->first; i < s->end; i++)
    if (!g.cps[i].usable) {
      zb_test_failures++;
      fprintf(stderr, "  %s: not usable (see the files test)\n", g.cps[i].label);
      return false;
    }
  return true;
}

static void test_dump_files(void) {
  size_t i, k;
  for (i = 0; i < g.n_scenarios; i++) {
    const scenario *s = &g.scenarios[i];
    int before = zb_test_failures;
    for (k = s->first; k < s->end; k++)
      vet_checkpoint(&g.cps[k], k > s->first ? &g.cps[k - 1] : NULL);
    report("files", s, before);
  }
}

/* ========================================================= held frames */

typedef struct held_frames {
  zb_frame frames[MAX_HELD];
  size_t n;
} held_frames;

static void hold(held_frames *h, const zb_frame *f) {
  if (h->n < MAX_HELD)
    h->frames[h->n++] = *f;
  else
    CHECK(!"more frames held than the test tracks");
}

static bool is_held(const held_frames *h, uint64_t seq) {
  size_t i;
  for (i = 0; i < h->n; i++)
    if (h->frames[i].sequence == seq)
      return true;
  return false;
}

static void release_seq(zb_reader *r, held_frames *h, uint64_t seq,
                        const char *ctx) {
  size_t i;
  for (i = 0; i < h->n; i++)
    if (h->frames[i].sequence == seq) {
      expect_rc(ctx, "zb_frame_release", zb_frame_release(&h->frames[i]), 0);
      h->frames[i] = h->frames[--h->n];
      return;
    }
  zb_test_failures++;
  fprintf(stderr, "  %s: release of frame %llu, which we do not hold\n", ctx,
          (unsigned long long)seq);
}

static void release_all(zb_reader *r, held_frames *h, const char *ctx) {
  while (h->n > 0)
    release_seq(r, h, h->frames[h->n - 1].sequence, ctx);
}

/* Reads the next frame with our reader and checks it against the
 * manifest's frame seq of cp: sequence, size, every byte, and that read_pos
 * moved to the frame's end (also at the end of the ring), which pins the
 * offset it was read from. The frame is held; *read_pos gets its end. */
static bool read_expected(zb_reader *r, const checkpoint *cp, uint64_t seq,
                          held_frames *held, uint64_t *read_pos,
                          const char *ctx) {
  const vec_frame *vf = find_frame(cp, seq);
  zb_health health;
  zb_frame f;
  char what[64];

  if (vf == NULL) {
    manifest_error(cp->label, "frames", "lacks a frame that is read");
    return false;
  }
  snprintf(what, sizeof what, "zb_reader_next (frame %llu)", (unsigned long long)seq);
  if (!expect_rc(ctx, what, zb_reader_next(r, &f, SHORT_MS), 0))
    return false;
  hold(held, &f);
  expect_u64(ctx, "frame sequence", f.sequence, seq);
  if (expect_u64(ctx, "frame size", f.size, vf->size))
    frame_content_ok(ctx, &f);
  *read_pos = vf->offset + vf->total;
  if (expect_rc(ctx, "zb_reader_health", zb_reader_health(r, &health), 0))
    expect_u64(ctx, "payload_read_pos after the frame", health.read_pos, *read_pos);
  return true;
}

static void destroy_ring(zb_reader *r, zb_writer *w, const char *name,
                         const char *ctx) {
  zb_writer_destroy(w);
  zb_reader_destroy(r);
  if (!zb_test_ring_gone(name)) {
    zb_test_failures++;
    fprintf(stderr, "  %s: ring objects left behind\n", ctx);
    zb_test_remove_ring(name);
  }
}

/* =========================================== test: peer bytes, our reader */

/* Lays a dump over our ring, all but our reader_pid: the ring is then the
 * peer's, writer detached (its pid is masked to 0), with our reader alive. */
/* The peer's writer posted sem-w once per frame and its reader took one
 * post per frame it read: the frames still unread have their posts
 * waiting (our reader needs them when the ring is full, small-tail/
 * after-write3). */
static bool post_unread_frames(const char *name, const checkpoint *cp,
                               const char *ctx) {
  char sem_name[300];
  sem_t *sem;
  size_t i;
  snprintf(sem_name, sizeof sem_name, "/sem-w-%s", name);
  if ((sem = sem_open(sem_name, 0)) == SEM_FAILED) {
    zb_test_failures++;
    fprintf(stderr, "  %s: sem_open %s: %s\n", ctx, sem_name, strerror(errno));
    return false;
  }
  for (i = 0; i < cp->n_frames; i++)
    if (cp->frames[i].status == F_UNREAD)
      sem_post(sem);
  sem_close(sem);
  return true;
}

static bool overlay_dump(const char *name, const checkpoint *cp,
                         const char *ctx) {
  char path[512];
  struct stat st;
  int fd;
  bool ok;
  snprintf(path, sizeof path, "/dev/shm/%s", name);
  if ((fd = open(path, O_RDWR)) < 0) {
    zb_test_failures++;
    fprintf(stderr, "  %s: open %s: %s\n", ctx, path, strerror(errno));
    return false;
  }
  ok = fstat(fd, &st) == 0 && (uint64_t)st.st_size == cp->dump_size &&
       pwrite(fd, cp->dump, OFF_READER_PID, 0) == (ssize_t)OFF_READER_PID &&
       pwrite(fd, cp->dump + PIDS_END, cp->dump_size - PIDS_END, PIDS_END) ==
           (ssize_t)(cp->dump_size - PIDS_END);
  close(fd);
  if (!ok) {
    zb_test_failures++;
    fprintf(stderr, "  %s: could not lay %s over our %s\n", ctx, cp->file, path);
  }
  return ok && post_unread_frames(name, cp, ctx);
}

/* State of a reader laid over a dump and moved on from there. */
typedef struct reader_run {
  zb_reader *r;
  char name[128];
  char ctx[192];
  const checkpoint *start; /* the dump laid over the ring */
  const checkpoint *at;    /* the latest dump our ring matched */
  size_t done_ops;         /* ops of `at` (or beyond) that are done */
  uint64_t next_seq;       /* next frame our reader should return, 0: none */
  uint64_t read_pos;       /* where our reader's read_pos should be */
  bool read_any;           /* our reader returned a frame */
  bool ended;              /* the drain saw the end of the stream */
  held_frames held;
} reader_run;

/* Steps of the peer's that our reader can repeat: reads that succeeded and
 * releases of frames we hold (not those the peer read before the dump). */
static bool reader_can_do(const reader_run *run, const vec_op *op) {
  return (op->kind == OP_READ && !op->failed) ||
         (op->kind == OP_RELEASE && is_held(&run->held, op->seq));
}

static void reader_do(reader_run *run, const vec_op *op) {
  if (op->kind == OP_RELEASE) {
    release_seq(run->r, &run->held, op->seq, run->ctx);
    return;
  }
  if (read_expected(run->r, run->at, op->seq, &run->held, &run->read_pos, run->ctx)) {
    run->read_any = true;
    run->next_seq = op->seq + 1;
  }
}

static bool only_writes_from(const checkpoint *cp, size_t i) {
  for (; i < cp->n_ops; i++)
    if (cp->ops[i].kind != OP_WRITE)
      return false;
  return true;
}

/* Follows the later checkpoints of the scenario that the peer reached by
 * reading and releasing (three-frames A -> B -> C, wrap-marker after-write3
 * -> after-read3-release): doing the same, our ring must equal each dump.
 * Where the peer then wrote (exact-end, small-tail), do its reads and
 * releases and compare the reader's fields: writes do not touch them. */
static void follow_later_checkpoints(reader_run *run, const scenario *s,
                                     size_t start) {
  size_t k, i;
  for (k = start + 1; k < s->end; k++) {
    const checkpoint *y = &g.cps[k];
    for (i = run->done_ops; i < y->n_ops && reader_can_do(run, &y->ops[i]); i++)
      reader_do(run, &y->ops[i]);
    run->done_ops = i;
    if (i == y->n_ops) {
      compare_with(run->ctx, run->name, y, y->dump, false);
      run->at = y;
      continue;
    }
    if (only_writes_from(y, i)) {
      zb_health h;
      if (expect_rc(run->ctx, "zb_reader_health", zb_reader_health(run->r, &h), 0)) {
        if (!same_read_pos(y, h.read_pos, le64(y->dump + OFF_READ_POS)))
          expect_u64(run->ctx, "read_pos before the peer's next write", h.read_pos,
                     le64(y->dump + OFF_READ_POS));
        expect_u64(run->ctx, "read_count before the peer's next write",
                   h.read_count, le64(y->dump + OFF_READ_COUNT));
      }
    }
    return;
  }
}

/* Reads and releases every frame still unread, then expects the end of the
 * stream (the dump's writer is detached) or, when our reader saw neither a
 * frame nor metadata (a writer's trace: metadata-only is a writer that
 * left), nothing within SHORT_MS. Behind a small tail (small-tail/
 * after-write3) the C++ reader fails; ours must wrap implicitly. */
static void drain(reader_run *run) {
  const vec_frame *vf;
  zb_frame f;
  int rc;
  while (run->next_seq != 0 && (vf = find_frame(run->at, run->next_seq)) != NULL &&
         vf->status == F_UNREAD) {
    uint64_t seq = run->next_seq;
    if (!read_expected(run->r, run->at, seq, &run->held, &run->read_pos, run->ctx))
      return;
    run->read_any = true;
    run->next_seq = seq + 1;
    release_seq(run->r, &run->held, seq, run->ctx);
  }
  rc = zb_reader_next(run->r, &f, SHORT_MS);
  if (rc == 0)
    hold(&run->held, &f);
  run->ended = rc == ZB_EOF;
  expect_rc(run->ctx, "zb_reader_next after the last frame", rc,
            run->read_any || le64(run->start->dump + OFF_METADATA_WRITTEN) != 0
                ? ZB_EOF
                : ZB_ETIMEDOUT);
}

/* Once everything is read and released, the ring is the last dump matched
 * with the reader's fields moved on: every entry counted as read, read_pos
 * after the last frame, and all bytes free but those of frames the peer
 * still held in the dump laid over the ring (our reader cannot free them
 * while a stream may go on). At the end of the stream those are free too:
 * our reader takes them for room a peer writer's store lost and puts them
 * back (repair_at_end; three-frames/B-frame1-read-held, frame 1 at 0
 * held). This pins small-tail/after-write3: free 1024, read_pos 1016,
 * read_count 3. */
static void compare_drained(reader_run *run) {
  const checkpoint *at = run->at;
  uint8_t *expected = malloc(at->dump_size);
  uint64_t free_bytes = at->payload_size;
  size_t i;
  if (expected == NULL)
    return;
  for (i = 0; i < run->start->n_frames && !run->ended; i++)
    if (run->start->frames[i].status == F_READ_HELD)
      free_bytes -= run->start->frames[i].total;
  memcpy(expected, at->dump, at->dump_size);
  put_le64(expected + OFF_PAYLOAD_FREE, free_bytes);
  put_le64(expected + OFF_READ_POS, run->read_pos);
  put_le64(expected + OFF_READ_COUNT, le64(at->dump + OFF_WRITTEN_COUNT));
  compare_with(run->ctx, run->name, at, expected, false);
  free(expected);
}

static void reader_from(const scenario *s, size_t start) {
  reader_run run;
  const checkpoint *cp = &g.cps[start];
  memset(&run, 0, sizeof run);
  snprintf(run.ctx, sizeof run.ctx, "reader over %s", cp->label);
  snprintf(run.name, sizeof run.name, "%s", zb_test_name("vec-r"));
  run.start = run.at = cp;
  run.done_ops = cp->n_ops;
  run.next_seq = first_unread_seq(cp);
  run.read_pos = le64(cp->dump + OFF_READ_POS);

  if (!expect_rc(run.ctx, "zb_reader_create",
                 zb_reader_create(&run.r, run.name, cp->metadata_size,
                                  cp->payload_size, NULL), 0)) {
    zb_test_remove_ring(run.name);
    return;
  }
  if (overlay_dump(run.name, cp, run.ctx)) {
    compare_with(run.ctx, run.name, cp, cp->dump, false);
    zb__reader_adopt_read_pos(run.r);
    if (run.next_seq != 0)
      zb__reader_expect_sequence(run.r, run.next_seq);
    check_metadata(run.r, cp, run.ctx);
    follow_later_checkpoints(&run, s, start);
    drain(&run);
    release_all(run.r, &run.held, run.ctx);
    compare_drained(&run);
  }
  destroy_ring(run.r, NULL, run.name, run.ctx);
}

static void test_reader_direction(void) {
  size_t i, k;
  for (i = 0; i < g.n_scenarios; i++) {
    const scenario *s = &g.scenarios[i];
    int before = zb_test_failures;
    if (scenario_usable(s))
      for (k = s->first; k < s->end; k++)
        reader_from(s, k);
    report("reader", s, before);
  }
}

/* ================================= test: our writer, bytes like the peer's */

typedef struct replay {
  zb_reader *r;
  zb_writer *w;
  char name[128];
  char ctx[192];
  held_frames held;
  uint64_t read_pos;
  bool diverged; /* a peer read failed where ours succeeded: states differ */
} replay;

static void replay_write(replay *rp, const vec_op *op) {
  uint8_t *buf = malloc(op->size ? op->size : 1);
  uint64_t i;
  if (buf == NULL)
    return;
  for (i = 0; i < op->size; i++)
    buf[i] = frame_byte(i, op->seq);
  /* The peer wrote without waiting; so must we (timeout 0). */
  expect_rc(rp->ctx, "zb_writer_write", zb_writer_write(rp->w, buf, op->size, 0), 0);
  free(buf);
}

/* A read the peer failed (small-tail: the C++ reader decodes a header in
 * the 8-byte tail, "Sequence error: expected 3, got 0"). Ours must read
 * the frame at 0 (docs/PROTOCOL.md §5, §7); from here on the rings
 * legitimately differ, so the remaining dumps are not compared. */
static void replay_failed_read(replay *rp, const checkpoint *cp,
                               const vec_op *op) {
  if (read_expected(rp->r, cp, op->seq, &rp->held, &rp->read_pos, rp->ctx))
    fprintf(stderr, "  note: %s: the peer's read of frame %llu failed, ours "
            "read it; this checkpoint's bytes are not compared\n",
            cp->label, (unsigned long long)op->seq);
  rp->diverged = true;
}

static void replay_op(replay *rp, const checkpoint *cp, const vec_op *op) {
  if (op->kind != OP_CREATE_READER && rp->r == NULL)
    return; /* reported when the create failed */
  if ((op->kind == OP_SET_METADATA || op->kind == OP_WRITE) && rp->w == NULL) {
    CHECK(!"the manifest writes before connect_writer (or connect failed)");
    return;
  }
  switch (op->kind) {
  case OP_CREATE_READER:
    expect_rc(rp->ctx, "zb_reader_create",
              zb_reader_create(&rp->r, rp->name, op->metadata_size,
                               op->payload_size, NULL), 0);
    break;
  case OP_CONNECT_WRITER:
    expect_rc(rp->ctx, "zb_writer_connect", zb_writer_connect(&rp->w, rp->name), 0);
    break;
  case OP_SET_METADATA:
    expect_rc(rp->ctx, "zb_writer_set_metadata",
              zb_writer_set_metadata(rp->w, op->bytes, op->bytes_len), 0);
    break;
  case OP_WRITE:
    replay_write(rp, op);
    break;
  case OP_READ:
    if (op->failed)
      replay_failed_read(rp, cp, op);
    else
      read_expected(rp->r, cp, op->seq, &rp->held, &rp->read_pos, rp->ctx);
    break;
  case OP_RELEASE:
    release_seq(rp->r, &rp->held, op->seq, rp->ctx);
    break;
  case OP_UNKNOWN:
    break;
  }
}

/* After a match, say where the peer's writer left a small tail stale and
 * ours zeroed it: the one expected difference. */
static void note_zeroed_tails(const checkpoint *cp) {
  size_t i;
  for (i = 0; i < cp->n_tails; i++) {
    const vec_tail *t = &cp->tails[i];
    uint64_t j, stale = 0;
    for (j = 0; j < t->length; j++)
      stale += cp->dump[t->file_offset + j] != 0;
    fprintf(stderr, "  note: %s: %llu-byte tail at file offset %llu zeroed "
            "and counted by our writer (%llu bytes stale in the dump, peer "
            "bug 1)\n",
            cp->label, (unsigned long long)t->length,
            (unsigned long long)t->file_offset, (unsigned long long)stale);
  }
}

/* What our writer leaves where the peer's left the dump of cp: the same
 * bytes, but for one small-tail deviation, counts and bytes (note_zeroed_tails
 * for the bytes). Our writer counts each small tail it wraps past in
 * payload_written_count, where the C++ writer counts nothing: the C++
 * reader decodes a header there, takes our zeroed tail for a marker and
 * counts it, and with the writer's count one short its `written_count <=
 * read_count` check would swallow the next frame's post (docs/PROTOCOL.md
 * §6). So written_count is the dump's plus the tails skipped without a
 * marker (small-tail/after-write3: 4, the dump 3); nothing else moves.
 * NULL when out of memory (reported). */
static uint8_t *writer_expected(const checkpoint *cp, const char *ctx) {
  uint8_t *expected = malloc(cp->dump_size);
  if (expected == NULL) {
    zb_test_failures++;
    fprintf(stderr, "  %s: out of memory\n", ctx);
    return NULL;
  }
  memcpy(expected, cp->dump, cp->dump_size);
  put_le64(expected + OFF_WRITTEN_COUNT,
           le64(cp->dump + OFF_WRITTEN_COUNT) + cp->n_tails);
  return expected;
}

static void replay_scenario(const scenario *s) {
  replay rp;
  size_t k, i, done = 0;
  memset(&rp, 0, sizeof rp);
  snprintf(rp.name, sizeof rp.name, "%s", zb_test_name("vec-w"));
  for (k = s->first; k < s->end; k++) {
    const checkpoint *cp = &g.cps[k];
    snprintf(rp.ctx, sizeof rp.ctx, "writer replaying %s", cp->label);
    for (i = done; i < cp->n_ops; i++)
      replay_op(&rp, cp, &cp->ops[i]);
    done = cp->n_ops;
    uint8_t *expected;
    if (rp.diverged || rp.r == NULL || (expected = writer_expected(cp, rp.ctx)) == NULL)
      continue;
    if (compare_with(rp.ctx, rp.name, cp, expected, true))
      note_zeroed_tails(cp);
    free(expected);
  }
  snprintf(rp.ctx, sizeof rp.ctx, "writer replaying %s", g.cps[s->first].scenario);
  if (rp.r != NULL)
    release_all(rp.r, &rp.held, rp.ctx);
  destroy_ring(rp.r, rp.w, rp.name, rp.ctx);
}

static void test_writer_direction(void) {
  size_t i;
  for (i = 0; i < g.n_scenarios; i++) {
    const scenario *s = &g.scenarios[i];
    int before = zb_test_failures;
    if (scenario_usable(s))
      replay_scenario(s);
    report("writer", s, before);
  }
}

/* ================================================================= main */

int main(int argc, char **argv) {
  struct stat st;
  if (argc < 2) {
    fprintf(stderr, "usage: %s VECTORS_DIR\n", argv[0]);
    return 1;
  }
  if (stat(argv[1], &st) != 0) {
    fprintf(stderr, "no golden vectors at %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  if (!load_manifest(argv[1])) {
    zb_test_failures++;
    fprintf(stderr, "cannot use the manifest in %s\n", argv[1]);
  }
  RUN(test_dump_files); /* first: it vets what the other two use */
  RUN(test_reader_direction);
  RUN(test_writer_direction);
  free_manifest();
  return zb_test_finish("core-vectors");
}

/* zb_oieb.h — the shared segment's layout (ZeroBuffer v1.0), one place only.
 *
 *   0x000  OIEB, 128 bytes
 *   0x080  metadata block: u64 length N, then N bytes
 *   ....   payload ring: frames {u64 size, u64 sequence} + bytes, back to back
 *
 * Fields written by both processes are _Atomic and touched only through the
 * helpers in zb_atomic.h. Everything read here is bounds-checked by
 * zb__oieb_validate() before use: the other process may be hostile or dead.
 */
#ifndef ZB_OIEB_H
#define ZB_OIEB_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "zb_error.h"
#include "zerobuffer.h"

typedef _Atomic uint64_t zb_shared_u64;

typedef struct zb_oieb {
  uint32_t oieb_size;  /* 128 */
  uint8_t version[4];  /* 1, 0, 0, 0 */
  zb_shared_u64 metadata_size;
  zb_shared_u64 metadata_free_bytes;
  zb_shared_u64 metadata_written_bytes;
  zb_shared_u64 payload_size;
  zb_shared_u64 payload_free_bytes;
  zb_shared_u64 payload_write_pos;
  zb_shared_u64 payload_read_pos;
  zb_shared_u64 payload_written_count;
  zb_shared_u64 payload_read_count;
  zb_shared_u64 writer_pid;
  zb_shared_u64 reader_pid;
  zb_shared_u64 reserved[4];
} zb_oieb;

typedef struct zb_frame_header {
  uint64_t payload_size; /* 0 = wrap marker */
  uint64_t sequence;
} zb_frame_header;

#define ZB_OIEB_SIZE 128u
#define ZB_BLOCK_ALIGN 64u
#define ZB_VERSION_MAJOR 1

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free to live in shared memory");
_Static_assert(sizeof(zb_shared_u64) == 8, "atomic u64 must be 8 bytes");
_Static_assert(sizeof(zb_oieb) == ZB_OIEB_SIZE, "OIEB is 128 bytes");
_Static_assert(offsetof(zb_oieb, version) == 0x04, "OIEB layout");
_Static_assert(offsetof(zb_oieb, metadata_size) == 0x08, "OIEB layout");
_Static_assert(offsetof(zb_oieb, metadata_free_bytes) == 0x10, "OIEB layout");
_Static_assert(offsetof(zb_oieb, metadata_written_bytes) == 0x18, "OIEB layout");
_Static_assert(offsetof(zb_oieb, payload_size) == 0x20, "OIEB layout");
_Static_assert(offsetof(zb_oieb, payload_free_bytes) == 0x28, "OIEB layout");
_Static_assert(offsetof(zb_oieb, payload_write_pos) == 0x30, "OIEB layout");
_Static_assert(offsetof(zb_oieb, payload_read_pos) == 0x38, "OIEB layout");
_Static_assert(offsetof(zb_oieb, payload_written_count) == 0x40, "OIEB layout");
_Static_assert(offsetof(zb_oieb, payload_read_count) == 0x48, "OIEB layout");
_Static_assert(offsetof(zb_oieb, writer_pid) == 0x50, "OIEB layout");
_Static_assert(offsetof(zb_oieb, reader_pid) == 0x58, "OIEB layout");
_Static_assert(offsetof(zb_oieb, reserved) == 0x60, "OIEB layout");
_Static_assert(sizeof(zb_frame_header) == ZB_FRAME_HEADER_SIZE, "frame header is 16 bytes");
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "ZeroBuffer segments are little-endian; big-endian hosts need byte swapping"
#endif

static inline uint64_t zb__align64(uint64_t n) {
  return (n + (ZB_BLOCK_ALIGN - 1)) & ~(uint64_t)(ZB_BLOCK_ALIGN - 1);
}

/* A mapped segment and where its blocks are. */
typedef struct zb_segment {
  int fd;
  uint8_t *base;
  uint64_t map_size;
  zb_oieb *oieb;
  uint8_t *metadata;   /* metadata block */
  uint8_t *payload;    /* payload ring */
  uint64_t metadata_size;
  uint64_t payload_size;
} zb_segment;

/* How far a ring still being created by its reader got, as the look that
 * found it so (zb__segment_open, zb__segment_validate: ZB_ENOENT) tells
 * the callers that say why next (zb__segment_unready,
 * zb__check_leftovers). Empty when that look said nothing of it. */
typedef struct zb_unready {
  char state[ZB__ERROR_MAX];
} zb_unready;

/* Checks the OIEB of a mapped segment of map_size bytes: size, version,
 * block sizes matching the mapping, positions/free bytes within the ring.
 * Fills the block pointers of seg on success. 0, ZB_EPROTO, or ZB_ENOENT
 * for a header its reader is still filling in (zero, or half-filled by a
 * peer's reader: docs/PROTOCOL.md §2.1), how far in *unready (when not
 * NULL). */
int zb__segment_validate(zb_segment *seg, const char *name,
                         zb_unready *unready);

/* ZB_ENOENT for ring NAME, still being created by its reader: STATE (a
 * format) says how far ("its segment is empty yet", "its header is
 * half-filled: ..."), also kept in *unready (when not NULL). */
int zb__fail_unready(const char *name, zb_unready *unready, const char *fmt,
                     ...) __attribute__((format(printf, 3, 4)));
/* UNREADY's state, or "its segment is not initialised yet" when it has
 * none (the segment appeared after the look that found none). */
const char *zb__unready_state(const zb_unready *unready);

/* The metadata content, validated; *size = 0 (and *data NULL) when none
 * was written or it is empty (a length prefix of 0: what a peer writer's
 * set_metadata(x, 0) leaves, metadata_written_bytes 8). */
int zb__segment_metadata(const zb_segment *seg, const char *name,
                         const uint8_t **data, uint64_t *size);
/* The same, ZB_EPROTO without error text: for looks whose failure the
 * caller does not report (the thread's details stay those of its last
 * reported error, not a metadata problem of a call that succeeded). */
int zb__segment_metadata_quiet(const zb_segment *seg, const uint8_t **data,
                               uint64_t *size);

/* A writer whose metadata did not fit the block leaves this note in it
 * when it detaches (our extension, docs/PROTOCOL.md §9.5), so that its
 * reader learns why no stream comes: {"zerobuffer":{"metadata_needed":N}},
 * N the block size its metadata needed. zb__metadata_needed reads N from
 * metadata (0 when there is no such note). zb_metadata.c. */
#define ZB__METADATA_NEEDED_NOTE "{\"zerobuffer\":{\"metadata_needed\":%llu}}"
int zb__metadata_needed(const uint8_t *metadata, uint64_t size);

/* reader_held: the bytes the reader holds (read, not given back) when the
 * reader itself asks, which settles a full ring's backlog; -1 otherwise. */
int zb__segment_health(const zb_segment *seg, const char *name,
                       zb_health *health, int64_t reader_held);

#endif /* ZB_OIEB_H */

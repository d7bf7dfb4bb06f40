/* zb_ring.h — ring arithmetic, in one place: how many bytes a frame takes,
 * where the next frame goes (docs/PROTOCOL.md §2.3 and §6),
 * and how large a ring must be to hold N frames. The writer places frames
 * with it and the public sizing helpers (zb_payload_size_for) are built on
 * it; nobody else computes positions. Also the entry a reader finds at a
 * position, and the watch for a ring idle for a wait slice. */
#ifndef ZB_RING_H
#define ZB_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zb_oieb.h"

/* Bytes a frame of `size` payload bytes takes in the ring. */
static inline uint64_t zb__frame_total(uint64_t size) {
  return size + ZB_FRAME_HEADER_SIZE;
}

/* Where the next frame goes when the writer's position is `pos`. */
typedef struct zb_placement {
  uint64_t frame_pos;    /* where its 16-byte header goes */
  uint64_t skipped_tail; /* [pos, ring) skipped to place the frame at 0 */
  uint64_t needed;       /* free bytes it needs from pos on: tail + frame */
  bool wraps;            /* placed at 0 after pos (a wrap before it) */
  bool wrap_first;       /* the frame cannot follow the wrap in one step:
                            publish the wrap alone, then place the frame */
  bool impossible;       /* ... and the wrap cannot stand alone either */
} zb_placement;

/* The placement of a frame of `total` bytes (zb__frame_total) in a ring of
 * `ring` bytes when the writer is at `pos` and `available` bytes from pos on
 * are free. With wrap_early, a frame that would fit at pos goes to 0 instead
 * when the reader has already given back [pos, ring) and [0, total) and more
 * than (ring - total) / 2 bytes stay free after it (in a ring of N equal
 * frames: room for ceil(N / 2) of them): frames then cycle through fewer
 * slots than the ring has (fewer places for glibc's copy corner and the
 * cache) while the rest of the ring stays slack for a reader's hiccups
 * (scripts/bench/notes.md).
 * Every reader, the peers' included, follows a wrap marker wherever it
 * stands. */
zb_placement zb__place_frame(uint64_t ring, uint64_t pos, uint64_t total,
                             uint64_t available, bool wrap_early);

/* Frames from this size on wrap early (the writer's default): smaller ones
 * fit the cache anyway, and rings of them keep the layout of the peers'
 * writers (the golden dumps). */
#define ZB_WRAP_EARLY_FROM (UINT64_C(256) << 10)

/* Ring bytes that hold `frames` frames of `total` bytes each, placed by
 * zb__place_frame from 0; 0 when that exceeds ZB_MAX_PAYLOAD_SIZE. */
uint64_t zb__ring_size_for(uint64_t total, uint64_t frames);

/* An entry as a reader takes it (docs/PROTOCOL.md §5): what lies at `pos`
 * of the payload ring, judged against the writer's position. The reader's
 * frame walk (take_entry) and the health snapshot's walk of the unread
 * entries both go by it, so both refuse the same entries. */
typedef enum zb_entry_kind {
  ZB_ENTRY_FRAME,  /* a frame: header and `size` bytes */
  ZB_ENTRY_MARKER, /* a wrap marker (counted): the next entry is at 0 */
  ZB_ENTRY_TAIL    /* fewer than 16 bytes before the end (a small tail, or
                      none after an exact end; not counted): next at 0 */
} zb_entry_kind;

typedef enum zb_entry_problem {
  ZB_ENTRY_OK,
  ZB_ENTRY_PAST_END,       /* a frame claiming more than is left before the end */
  ZB_ENTRY_PAST_WRITER,    /* a frame ending past the writer's position */
  ZB_ENTRY_SKIP_BEHIND_WRITER, /* a marker or tail with the writer past it */
  ZB_ENTRY_MARKER_AT_0     /* a wrap marker at offset 0 */
} zb_entry_problem;

typedef struct zb_entry {
  zb_entry_kind kind;
  zb_entry_problem problem;
  uint64_t pos;      /* where it starts */
  uint64_t size;     /* a frame's payload bytes (as its header claims) */
  uint64_t sequence; /* a frame's sequence number */
  uint64_t next;     /* where the entry after it starts (pos + 16 + size
                        for a frame, P after one that ends exactly there;
                        0 after a marker or tail) */
} zb_entry;

/* The entry at pos (<= ring) of the payload ring of `ring` bytes, its
 * header read once; write_pos (<= ring): the writer's position, from a
 * load that came before this call. Only for a pos the writer has published
 * (write_pos != pos): when pos < write_pos, the entry ends by write_pos. */
zb_entry zb__entry_at(const uint8_t *payload, uint64_t ring, uint64_t pos,
                      uint64_t write_pos);

/* ZB_EPROTO for an entry with a problem, saying which, in ring `name`. */
int zb__entry_fail(const char *name, uint64_t ring, const zb_entry *entry,
                   uint64_t write_pos);

/* A ring watched while it is idle: the values that say where it stands
 * (positions, counts, free bytes, as one side sees them), the same at each
 * look since since_ns. The writer's heal of the margin it kept
 * (heal_margin) and the reader's repair of room a peer writer lost
 * (repair_lost_room) act only on a ring idle for a wait slice. */
#define ZB_IDLE_VALUES_MAX 5
typedef struct zb_idle_watch {
  bool seen;
  uint64_t values[ZB_IDLE_VALUES_MAX];
  uint64_t since_ns;
} zb_idle_watch;

/* A look at `now`: true when the ring's n values (n <= ZB_IDLE_VALUES_MAX,
 * the same n at each look) have been these for a wait slice
 * (ZB_LIVENESS_SLICE_MS); the watch then starts over. Other values start
 * it over from now. */
bool zb__idle_for_slice(zb_idle_watch *watch, const uint64_t *values,
                        size_t n, uint64_t now);

/* A look that found the ring not idle: the next one starts over. */
static inline void zb__idle_forget(zb_idle_watch *watch) {
  watch->seen = false;
}

#endif /* ZB_RING_H */

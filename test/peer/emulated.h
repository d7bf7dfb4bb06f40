/* emulated.h — writers and a reader that behave like the other ZeroBuffer
 * implementations (docs/PROTOCOL.md §7, "Peer quirks"), for our tests.
 *
 * They are written from the documented behaviour, on raw shared memory and
 * semaphores, without the core: what they do wrong is what the peers do
 * wrong, and what our core must survive.
 *
 * EMU_CPP writer     places frames like the C++ peer: a {0,0} marker when
 *                    the frame does not fit before the end and >= 16 bytes
 *                    are left (counted), a wrap without marker or count
 *                    when 0..15 are left; the marker is counted before
 *                    write_pos moves to 0.
 * EMU_PYTHON writer  the same placement, but every wrap is counted, also a
 *                    1..15-byte tail and an exact end where it wrote no
 *                    marker (a phantom), and the count comes before the
 *                    frame at 0 is written; after a frame that ends exactly
 *                    at the end of the ring it fails if the reader's
 *                    read_pos is 0 (it would write past the ring).
 * Both               wait for space only on sem-r (one post, one look at
 *                    the free bytes), give up after the timeout (5 s by
 *                    default) with "buffer is full", post sem-w once per
 *                    frame after its counts, and detach with writer_pid = 0
 *                    and no post.
 * EMU_CPP reader     creates the ring, takes one sem-w post per frame, reads
 *                    at read_pos: a marker sends it to 0 without waiting; a
 *                    1..15-byte tail is a failure (the peer decodes a header
 *                    there and reports a sequence error on stale bytes;
 *                    tail_mode makes it a wrap instead); sets read_pos to
 *                    0 after a frame that ends exactly at the end; gives a
 *                    frame's bytes back and posts sem-r at release (with
 *                    check_held, having checked its bytes again).
 * plain_rmw          payload_free_bytes changed with a plain load and store
 *                    (a yield between), as the C++ and Python writers and
 *                    readers do: the other side's update in between is lost.
 */
#ifndef ZB_EMULATED_H
#define ZB_EMULATED_H

#include <stddef.h>
#include <stdint.h>

typedef enum emu_kind { EMU_CPP, EMU_PYTHON } emu_kind;

/* What a run did; counted by the emulated side. */
typedef struct emu_stats {
  uint64_t frames;      /* frames written or read */
  uint64_t markers;     /* wrap markers written or met */
  uint64_t small_tails; /* wraps that skipped 1..15 bytes */
  uint64_t exact_ends;  /* frames that ended exactly at the end of the ring */
  uint64_t phantoms;    /* wraps counted without a marker (Python) */
  uint64_t waits;       /* times the writer waited on sem-r */
  uint32_t hash;        /* FNV-1a of every frame's bytes, in order */
  uint32_t sizes_hash;  /* FNV-1a of every frame's size (8 bytes LE) */
} emu_stats;

typedef struct emu_write_opts {
  emu_kind kind;
  uint64_t frames, seed, min, max;
  int edge_sizes;       /* frame-gen.h "edge" sizes, else uniform */
  const char *metadata; /* written first when not NULL */
  int timeout_ms;       /* wait for space at most this long (0: 5000) */
  int plain_rmw;        /* change payload_free_bytes with a plain load and
                           store, as the C++ and Python peers do (an update
                           of the reader's in between is lost), not
                           atomically as the contract wants */
  /* A lost give-back, forced once: before frame lose_at (0: never), the
   * writer waits (up to its timeout) until read_pos is its write_pos and
   * the free bytes are lose_when, then stores lose_to there, as a plain
   * store of a value loaded before the reader's give-backs would. */
  uint64_t lose_at, lose_when, lose_to;
} emu_write_opts;

typedef struct emu_read_opts {
  uint64_t frames, seed, metadata_size, payload_size;
  unsigned max_held;    /* frames held before the oldest is released */
  int timeout_ms;       /* no frame for this long is a failure (0: 5000) */
  void (*ready)(const char *name, void *user); /* ring created */
  void *user;
  int tail_mode;        /* EMU_TAIL_*: what a 1..15-byte tail at read_pos is */
  int init_step_ms;     /* pause after each OIEB field stored at creation */
  int plain_rmw;        /* as emu_write_opts.plain_rmw (a writer's update
                           lost); the free bytes are then not checked at
                           the end */
  /* A writer's update lost, forced once: at the release of frame raise_at
   * (0: never) the reader gives back raise_by bytes more than the frame's,
   * as its plain store of a value loaded before the writer's subtraction
   * would. */
  uint64_t raise_at, raise_by;
  /* A slow reader, once: before it reads frame pause_at (0: never) it
   * waits pause_ms, keeping the frame it holds. */
  uint64_t pause_at;
  int pause_ms;
  /* Check a frame's bytes again at its release: no writer may place a
   * frame over one still held. Not in general: the C++ reader gives the
   * tail behind a marker back when it steps over it, before the frame it
   * holds in front of the marker, and a writer that uses those bytes
   * writes over that frame on its way to them (the peer's bug). */
  int check_held;
} emu_read_opts;

/* emu_read_opts.tail_mode. Each still takes one sem-w post per frame. */
enum {
  /* a failure (EMU_SMALL_TAIL), where the C++ reader would decode a
   * header half past the end of the segment */
  EMU_TAIL_FAIL = 0,
  /* an implicit wrap (given back uncounted, reading goes on at 0), as in
   * the protocol text and the Python interop peer (/tmp/interop-py zb.py) */
  EMU_TAIL_IMPLICIT = 1,
  /* the C++ reader's source: a header decoded there (the bytes past the
   * end taken as zeros), size 0 a wrap marker, given back and COUNTED in
   * read_count; and after each post, `if (written_count <= read_count)`
   * it waits again without reading (the post used up) */
  EMU_TAIL_CPP = 2,
};

void emu_stats_init(emu_stats *stats);
/* Counts one frame into frames, hash and sizes_hash. */
void emu_stats_frame(emu_stats *stats, const uint8_t *data, uint64_t size);

/* Exit statuses of the emulated peers (zb-peer uses them too). */
enum {
  EMU_OK = 0,
  EMU_ERROR = 1,        /* no ring, no reader, bad segment, ... */
  EMU_FULL = 6,         /* waited for space until the timeout */
  EMU_EXACT_END = 7,    /* the Python writer's exact-end failure */
  EMU_SEQUENCE = 8,     /* reader: wrong sequence, size or bytes */
  EMU_SMALL_TAIL = 9,   /* reader: a 1..15-byte tail it cannot read */
};

/* Connects to the ring NAME, writes opts->frames frames, detaches.
 * Returns an EMU_* status; err gets the reason. */
int emu_write(const char *name, const emu_write_opts *opts, emu_stats *stats,
              char *err, size_t errlen);

/* Creates the ring NAME as the C++ peer's reader does, reads until the
 * writer detached after opts->frames frames, checks each against the
 * generator, removes the ring. Returns an EMU_* status. */
int emu_read_cpp(const char *name, const emu_read_opts *opts,
                 emu_stats *stats, char *err, size_t errlen);

#endif /* ZB_EMULATED_H */

/* zb_writer.c — the writing side of a ring: connect, metadata once, frames
 * placed by reserve/commit (zero copy) or by copy, clean detach.
 *
 * Placement rules (PROTOCOL.md): a frame is never split across the end of
 * the ring; when it does not fit before the end, the tail is skipped (with a
 * {0,0} wrap marker when it holds >= 16 bytes) and the frame goes to 0. We
 * never leave a 1..15-byte tail behind a frame placed after 0 (peers
 * misread it), and zero such a tail where it cannot be avoided.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "zb_atomic.h"
#include "zb_error.h"
#include "zb_oieb.h"
#include "zb_platform.h"

struct zb_writer {
  char name[ZB_NAME_MAX + 1];
  zb_names names;
  zb_segment seg;
  sem_t *sem_w;
  sem_t *sem_r;
  zb_process reader;      /* the reader as seen at connect */
  uint64_t next_sequence;
  uint64_t write_pos;     /* ours alone; mirrored to the OIEB at commit */
  uint64_t next_liveness_check_ns;
  atomic_int wake_requested;

  bool reserved;          /* a reservation is open: */
  uint64_t reserved_size;
  uint64_t frame_pos;     /* where its header goes */
  uint64_t skipped_tail;  /* bytes skipped at write_pos to wrap, or 0 */
};

/* Where the next frame goes, from write_pos. */
typedef struct zb_placement {
  uint64_t frame_pos;
  uint64_t skipped_tail;  /* [write_pos, ring) skipped to place at 0 */
  uint64_t needed;        /* free bytes required: tail + frame */
  bool wrap_first;        /* the frame cannot follow the wrap in one step */
  bool impossible;        /* ... and the wrap cannot stand alone either */
} zb_placement;

static zb_placement place_frame(uint64_t ring, uint64_t write_pos,
                                uint64_t total) {
  uint64_t space = ring - write_pos;
  zb_placement p = {0, space, space + total, false, false};
  if (total <= space) {
    uint64_t left = space - total;
    if (write_pos == 0 || left == 0 || left >= ZB_FRAME_HEADER_SIZE)
      return (zb_placement){write_pos, 0, total, false, false};
  }
  /* Wrapping: the skipped tail and the frame at 0 must not overlap. When
   * they would, publish the wrap alone (a marker) and place the frame once
   * the reader has passed it. A tail too small for a marker is only given
   * back when the reader meets the next frame: that frame cannot wait. */
  if (space + total > ring) {
    p.needed = space;
    p.wrap_first = true;
    p.impossible = space < ZB_FRAME_HEADER_SIZE;
  }
  return p;
}

/* Skips [write_pos, ring): a marker when it fits, else zeros so that a
 * peer reader that looks there finds size 0. Counted and posted only for a
 * marker, as the peers do. */
static uint64_t write_wrap(zb_writer *w, uint64_t tail) {
  uint8_t *at = w->seg.payload + w->write_pos;
  if (tail >= ZB_FRAME_HEADER_SIZE) {
    memset(at, 0, ZB_FRAME_HEADER_SIZE);
    return 1;
  }
  memset(at, 0, tail);
  return 0;
}

static void publish(zb_writer *w, uint64_t new_write_pos, uint64_t consumed,
                    uint64_t entries) {
  zb_oieb *oieb = w->seg.oieb;
  w->write_pos = new_write_pos;
  zb__store_release(&oieb->payload_write_pos, new_write_pos);
  zb__sub_release(&oieb->payload_free_bytes, consumed);
  if (entries > 0) {
    zb__store_release(&oieb->payload_written_count,
                      zb__load_relaxed(&oieb->payload_written_count) + entries);
    sem_post(w->sem_w);
    zb__sem_take(w->sem_r); /* keep the space semaphore in step */
  }
}

static int reader_gone(zb_writer *w, uint64_t now) {
  uint64_t pid = zb__load_acquire(&w->seg.oieb->reader_pid);
  if (pid == 0)
    return zb__fail(ZB_EREADERGONE,
                    "reader of ring \"%s\" is gone: it closed the ring",
                    w->name);
  if (now >= w->next_liveness_check_ns) {
    w->next_liveness_check_ns = now + (uint64_t)ZB_LIVENESS_SLICE_MS * 1000000u;
    if (pid != w->reader.pid || !zb__process_alive(&w->reader))
      return zb__fail(ZB_EREADERGONE,
                      "reader of ring \"%s\" is gone: process %llu died",
                      w->name, (unsigned long long)w->reader.pid);
  }
  return 0;
}

/* ---------------------------------------------------------------- connect */

static void writer_free(zb_writer *w) {
  if (w->sem_w != NULL)
    sem_close(w->sem_w);
  if (w->sem_r != NULL)
    sem_close(w->sem_r);
  zb__segment_close(&w->seg);
  free(w);
}

static int claim_writer_slot(zb_writer *w) {
  zb_oieb *oieb = w->seg.oieb;
  uint64_t self = zb__self_pid(), current = zb__load_acquire(&oieb->writer_pid);
  uint64_t start;
  if (current != 0 && (current == self || zb__process_probe(current, &start)))
    return zb__fail(ZB_EBUSY,
                    "ring \"%s\" already has a live writer (pid %llu): one "
                    "writer at a time",
                    w->name, (unsigned long long)current);
  /* current is 0 or a dead writer's pid: take over, unless someone else
   * took the slot in between. */
  if (!zb__cas(&oieb->writer_pid, &current, self))
    return zb__fail(ZB_EBUSY,
                    "ring \"%s\": another writer (pid %llu) connected at the "
                    "same time",
                    w->name, (unsigned long long)current);
  return 0;
}

int zb_writer_connect(zb_writer **out, const char *name) {
  zb_writer *w;
  uint64_t reader_pid;
  int rc;

  if (out == NULL)
    return zb__fail(ZB_EINVAL, "zb_writer_connect: out is NULL");
  *out = NULL;
  if ((rc = zb_validate_name(name)) < 0)
    return rc;
  w = calloc(1, sizeof *w);
  if (w == NULL)
    return zb__fail(ZB_ENOMEM, "ring \"%s\": out of memory", name);
  w->seg.fd = -1;
  w->next_sequence = 1;
  strcpy(w->name, name);
  zb__names(name, &w->names);

  if ((rc = zb__segment_open(&w->seg, name, &w->names, true)) < 0)
    goto fail;
  reader_pid = zb__load_acquire(&w->seg.oieb->reader_pid);
  w->reader.pid = reader_pid;
  if (reader_pid == 0) {
    rc = zb__fail(ZB_EREADERGONE,
                  "ring \"%s\" has no reader (reader_pid is 0): it was "
                  "closed; start the reader again",
                  name);
    goto fail;
  }
  if (!zb__process_probe(reader_pid, &w->reader.start_time)) {
    rc = zb__fail(ZB_EREADERGONE,
                  "reader of ring \"%s\" (pid %llu) is dead; start the reader "
                  "again (it sweeps the stale ring)",
                  name, (unsigned long long)reader_pid);
    goto fail;
  }
  if ((rc = zb__sem_open(w->names.sem_w, name, &w->sem_w)) < 0 ||
      (rc = zb__sem_open(w->names.sem_r, name, &w->sem_r)) < 0 ||
      (rc = claim_writer_slot(w)) < 0)
    goto fail;
  w->write_pos = zb__load_acquire(&w->seg.oieb->payload_write_pos);
  *out = w;
  return 0;

fail:
  writer_free(w);
  return rc;
}

void zb_writer_destroy(zb_writer *w) {
  uint64_t self;
  if (w == NULL)
    return;
  self = zb__self_pid();
  zb__cas(&w->seg.oieb->writer_pid, &self, 0);
  sem_post(w->sem_w); /* the reader sees the end of the stream now */
  writer_free(w);
}

const char *zb_writer_name(const zb_writer *w) { return w->name; }

uint64_t zb_writer_max_frame_size(const zb_writer *w) {
  return w->seg.payload_size - ZB_FRAME_HEADER_SIZE;
}

int zb_writer_health(zb_writer *w, zb_health *health) {
  if (w == NULL || health == NULL)
    return zb__fail(ZB_EINVAL, "zb_writer_health: arguments are required");
  return zb__segment_health(&w->seg, w->name, health);
}

void zb_writer_wake(zb_writer *w) {
  atomic_store(&w->wake_requested, 1);
  sem_post(w->sem_r);
}

/* --------------------------------------------------------------- metadata */

int zb_writer_metadata(zb_writer *w, const uint8_t **data, uint64_t *size) {
  if (w == NULL || data == NULL || size == NULL)
    return zb__fail(ZB_EINVAL, "zb_writer_metadata: arguments are required");
  return zb__segment_metadata(&w->seg, w->name, data, size);
}

/* How much of a metadata blob an error message quotes (it has no NUL). */
static int quoted_length(uint64_t size) { return size < 100 ? (int)size : 100; }

int zb_writer_set_metadata(zb_writer *w, const void *data, uint64_t size) {
  zb_oieb *oieb;
  const uint8_t *existing;
  uint64_t existing_size;
  int rc;

  if (w == NULL || data == NULL || size == 0)
    return zb__fail(ZB_EINVAL, "zb_writer_set_metadata: empty metadata");
  oieb = w->seg.oieb;
  if ((rc = zb__segment_metadata(&w->seg, w->name, &existing,
                                 &existing_size)) < 0)
    return rc;
  if (existing_size != 0) {
    if (existing_size == size && memcmp(existing, data, size) == 0)
      return 0;
    return zb__fail(ZB_EMETADATA,
                    "ring \"%s\" already holds other metadata (%llu bytes: "
                    "\"%.*s\") than this writer's (%llu bytes: \"%.*s\"); "
                    "metadata is written once per ring: restart the reader "
                    "to change it",
                    w->name, (unsigned long long)existing_size,
                    quoted_length(existing_size), (const char *)existing,
                    (unsigned long long)size, quoted_length(size),
                    (const char *)data);
  }
  if (size > ZB_MAX_METADATA_SIZE)
    return zb__fail(ZB_EMSGSIZE,
                    "metadata of %llu bytes does not fit any ring: "
                    "metadata blocks hold at most %llu bytes",
                    (unsigned long long)size,
                    (unsigned long long)ZB_MAX_METADATA_SIZE);
  if (size > w->seg.metadata_size || w->seg.metadata_size - size < 8)
    return zb__fail(ZB_EMSGSIZE,
                    "metadata of %llu bytes does not fit ring \"%s\": its "
                    "metadata block is %llu bytes, 8 of them for the length; "
                    "create the ring with a metadata size of at least %llu",
                    (unsigned long long)size, w->name,
                    (unsigned long long)w->seg.metadata_size,
                    (unsigned long long)(size + 8));
  memcpy(w->seg.metadata, &size, sizeof size);
  memcpy(w->seg.metadata + 8, data, size);
  zb__store_release(&oieb->metadata_free_bytes,
                    w->seg.metadata_size - 8 - size);
  zb__store_release(&oieb->metadata_written_bytes, 8 + size);
  return 0;
}

/* ----------------------------------------------------------------- frames */

int zb_writer_reserve(zb_writer *w, uint64_t size, void **data,
                      int timeout_ms) {
  const uint64_t ring = w != NULL ? w->seg.payload_size : 0;
  uint64_t deadline, now, total, free_bytes;
  zb_placement p;
  int rc;

  if (w == NULL || data == NULL)
    return zb__fail(ZB_EINVAL, "zb_writer_reserve: writer and data are required");
  if (w->reserved)
    return zb__fail(ZB_ESTATE, "ring \"%s\": a reservation is already open; "
                    "commit or cancel it first", w->name);
  if (size == 0)
    return zb__fail(ZB_EINVAL, "ring \"%s\": a frame of 0 bytes is invalid",
                    w->name);
  if (size > ZB_MAX_PAYLOAD_SIZE)
    return zb__fail(ZB_EMSGSIZE,
                    "a frame of %llu bytes can never fit any ring: rings "
                    "hold at most %llu bytes",
                    (unsigned long long)size,
                    (unsigned long long)ZB_MAX_PAYLOAD_SIZE);
  if (size > ring - ZB_FRAME_HEADER_SIZE)
    return zb__fail(ZB_EMSGSIZE,
                    "a frame of %llu bytes can never fit ring \"%s\": its "
                    "payload ring is %llu bytes and a frame takes 16 more "
                    "than its size; create the ring with a payload size of "
                    "at least %llu",
                    (unsigned long long)size, w->name, (unsigned long long)ring,
                    (unsigned long long)(size + ZB_FRAME_HEADER_SIZE));
  total = size + ZB_FRAME_HEADER_SIZE;
  deadline = zb__deadline_ns(timeout_ms);

  for (;;) {
    now = zb__now_ns();
    if ((rc = reader_gone(w, now)) < 0)
      return rc;
    p = place_frame(ring, w->write_pos, total);
    if (p.impossible)
      return zb__fail(ZB_EMSGSIZE,
                      "a frame of %llu bytes cannot follow the previous one in "
                      "ring \"%s\": with %llu bytes left at the end of the "
                      "%llu-byte ring it fits neither there nor at 0; give "
                      "the ring room for two frames (payload size >= %llu)",
                      (unsigned long long)size, w->name,
                      (unsigned long long)(ring - w->write_pos),
                      (unsigned long long)ring,
                      (unsigned long long)(2 * total));
    free_bytes = zb__load_acquire(&w->seg.oieb->payload_free_bytes);
    if (free_bytes > ring)
      return zb__fail(ZB_EPROTO, "ring \"%s\": %llu free bytes in a %llu-byte "
                      "ring (corrupted segment)", w->name,
                      (unsigned long long)free_bytes, (unsigned long long)ring);
    if (free_bytes >= p.needed) {
      if (p.wrap_first) {
        publish(w, 0, p.skipped_tail, write_wrap(w, p.skipped_tail));
        continue;
      }
      w->reserved = true;
      w->reserved_size = size;
      w->frame_pos = p.frame_pos;
      w->skipped_tail = p.skipped_tail;
      *data = w->seg.payload + p.frame_pos + ZB_FRAME_HEADER_SIZE;
      return 0;
    }
    if (atomic_exchange(&w->wake_requested, 0))
      return zb__fail(ZB_ECANCELED, "ring \"%s\": wait interrupted", w->name);
    if (timeout_ms == 0)
      return zb__fail(ZB_EAGAIN,
                      "ring \"%s\" is full: %llu bytes free, the frame needs "
                      "%llu",
                      w->name, (unsigned long long)free_bytes,
                      (unsigned long long)p.needed);
    if (now >= deadline)
      return zb__fail(ZB_ETIMEDOUT,
                      "ring \"%s\" stayed full for %d ms (%llu bytes free, "
                      "the frame needs %llu): the reader is not releasing "
                      "frames",
                      w->name, timeout_ms, (unsigned long long)free_bytes,
                      (unsigned long long)p.needed);
    now += (uint64_t)ZB_LIVENESS_SLICE_MS * 1000000u;
    rc = zb__sem_wait_until(w->sem_r, now < deadline ? now : deadline);
    if (rc < 0 && rc != ZB_ETIMEDOUT)
      return rc;
  }
}

int zb_writer_commit(zb_writer *w, uint64_t size) {
  zb_frame_header h;
  uint64_t markers = 0;

  if (w == NULL || !w->reserved)
    return zb__fail(ZB_ESTATE, "zb_writer_commit: no reservation is open");
  if (size == 0 || size > w->reserved_size)
    return zb__fail(ZB_EINVAL,
                    "ring \"%s\": commit of %llu bytes, the reservation holds "
                    "1..%llu",
                    w->name, (unsigned long long)size,
                    (unsigned long long)w->reserved_size);
  if (w->skipped_tail > 0)
    markers = write_wrap(w, w->skipped_tail);
  h.payload_size = size;
  h.sequence = w->next_sequence++;
  memcpy(w->seg.payload + w->frame_pos, &h, sizeof h);
  w->reserved = false;
  publish(w, w->frame_pos + ZB_FRAME_HEADER_SIZE + size,
          w->skipped_tail + ZB_FRAME_HEADER_SIZE + size, markers + 1);
  return 0;
}

void zb_writer_cancel(zb_writer *w) {
  if (w != NULL)
    w->reserved = false;
}

int zb_writer_write(zb_writer *w, const void *data, uint64_t size,
                    int timeout_ms) {
  void *slot;
  int rc;
  if (data == NULL && size > 0)
    return zb__fail(ZB_EINVAL, "zb_writer_write: data is NULL");
  rc = zb_writer_reserve(w, size, &slot, timeout_ms);
  if (rc < 0)
    return rc;
  memcpy(slot, data, size);
  return zb_writer_commit(w, size);
}

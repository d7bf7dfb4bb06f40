/* zb_oieb.c — validating a mapped segment before trusting any of it. */
#include "zb_oieb.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "zb_atomic.h"
#include "zb_error.h"
#include "zb_platform.h"
#include "zb_ring.h"

const char *zb__unready_state(const zb_unready *unready) {
  return unready->state[0] != '\0' ? unready->state
                                    : "its segment is not initialised yet";
}

int zb__fail_unready(const char *name, zb_unready *unready, const char *fmt,
                     ...) {
  zb_unready unused;
  va_list ap;
  if (unready == NULL)
    unready = &unused;
  va_start(ap, fmt);
  vsnprintf(unready->state, sizeof unready->state, fmt, ap);
  va_end(ap);
  return zb__fail(ZB_ENOENT,
                  "ring \"%s\" is still being created by its reader (%s); "
                  "try again",
                  name, unready->state);
}

/* A check of the header failed on REASON. The peers' readers fill the
 * header in place while a writer may look (docs/PROTOCOL.md §2.1): the C++
 * and Python ones field by field, oieb_size first and reader_pid last; the
 * C# one copies the whole block, reader_pid in its last half. So while
 * reader_pid (loaded first) is 0, a field still 0 (UNSET) may just not be
 * stored yet: still being created, ZB_ENOENT, and a connecting writer
 * tries again until its timeout, its last error saying what is missing.
 * A value no reader stores, or any failure once reader_pid is set, is a
 * complete but impossible header: ZB_EPROTO at once. */
static int refuse_header(const char *name, zb_unready *unready,
                         uint64_t reader_pid, bool unset, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int refuse_header(const char *name, zb_unready *unready,
                         uint64_t reader_pid, bool unset, const char *fmt,
                         ...) {
  char reason[ZB__ERROR_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(reason, sizeof reason, fmt, ap);
  va_end(ap);
  if (unset && reader_pid == 0)
    return zb__fail_unready(name, unready, "its header is half-filled: %s",
                            reason);
  return zb__fail(ZB_EPROTO, "ring \"%s\": %s", name, reason);
}

int zb__segment_validate(zb_segment *seg, const char *name,
                         zb_unready *unready) {
  zb_oieb *oieb = (zb_oieb *)seg->base;
  uint64_t meta, payload, reader_pid, avail = seg->map_size - ZB_OIEB_SIZE;

  if (oieb->oieb_size == 0)
    return zb__fail_unready(name, unready,
                            "its header is not initialised yet");
  /* reader_pid before the fields: set, it was stored after all of them */
  reader_pid = zb__load_acquire(&oieb->reader_pid);
  atomic_thread_fence(memory_order_acquire); /* pairs with the reader's */
  if (oieb->oieb_size != ZB_OIEB_SIZE)
    return zb__fail(ZB_EPROTO,
                    "ring \"%s\": header size is %u, expected 128 (not a "
                    "ZeroBuffer v1 segment)",
                    name, oieb->oieb_size);
  if (oieb->version[0] != ZB_VERSION_MAJOR)
    return refuse_header(name, unready, reader_pid, oieb->version[0] == 0,
                         "protocol version %u.%u.%u, this library speaks 1.x",
                         oieb->version[0], oieb->version[1],
                         oieb->version[2]);
  meta = zb__load_relaxed(&oieb->metadata_size);
  payload = zb__load_relaxed(&oieb->payload_size);
  if (meta > avail || payload != avail - meta)
    return refuse_header(name, unready, reader_pid,
                         meta == 0 || payload == 0,
                         "block sizes (metadata %llu, payload %llu) do not "
                         "match the %llu-byte segment (128-byte header, then "
                         "the two blocks)",
                         (unsigned long long)meta, (unsigned long long)payload,
                         (unsigned long long)seg->map_size);
  if (payload <= ZB_FRAME_HEADER_SIZE)
    return refuse_header(name, unready, reader_pid, payload == 0,
                         "payload block of %llu bytes is too small: a ring "
                         "needs at least %d bytes (a %d-byte frame header "
                         "and one byte)",
                         (unsigned long long)payload,
                         ZB_FRAME_HEADER_SIZE + 1, ZB_FRAME_HEADER_SIZE);
  {
    /* the first field out of range, by name, value and bound */
    const struct {
      const char *field;
      uint64_t value, bound;
      const char *block;
    } ranges[] = {
        {"metadata_written_bytes",
         zb__load_relaxed(&oieb->metadata_written_bytes), meta, "metadata"},
        {"payload_free_bytes", zb__load_relaxed(&oieb->payload_free_bytes),
         payload, "payload"},
        {"payload_write_pos", zb__load_relaxed(&oieb->payload_write_pos),
         payload, "payload"},
        {"payload_read_pos", zb__load_relaxed(&oieb->payload_read_pos),
         payload, "payload"},
    };
    size_t i;
    for (i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
      if (ranges[i].value > ranges[i].bound)
        return zb__fail(ZB_EPROTO,
                        "ring \"%s\": %s is %llu, more than the %llu-byte "
                        "%s block allows (at most %llu; corrupted segment)",
                        name, ranges[i].field,
                        (unsigned long long)ranges[i].value,
                        (unsigned long long)ranges[i].bound, ranges[i].block,
                        (unsigned long long)ranges[i].bound);
  }
  seg->oieb = oieb;
  seg->metadata = seg->base + ZB_OIEB_SIZE;
  seg->payload = seg->metadata + meta;
  seg->metadata_size = meta;
  seg->payload_size = payload;
  return 0;
}

enum { META_OK, META_WRITTEN_OUTSIDE, META_LENGTH_PAST_WRITTEN };

/* The metadata content, no error text: META_*. A length prefix of 0 with
 * metadata_written_bytes 8 is empty metadata, taken as none (*size 0):
 * what a peer writer's set_metadata(x, 0) leaves, docs/PROTOCOL.md §2.2.
 * A prefix of 0 with more written matches nothing a writer leaves. */
static int metadata_of(const zb_segment *seg, const uint8_t **data,
                       uint64_t *size, uint64_t *written, uint64_t *length) {
  *written = zb__load_acquire(&seg->oieb->metadata_written_bytes);
  *length = 0;
  *data = NULL;
  *size = 0;
  if (*written == 0)
    return META_OK;
  if (*written < 8 || *written > seg->metadata_size)
    return META_WRITTEN_OUTSIDE;
  memcpy(length, seg->metadata, sizeof *length);
  if (*length > *written - 8 || (*length == 0 && *written != 8))
    return META_LENGTH_PAST_WRITTEN;
  if (*length != 0) {
    *data = seg->metadata + 8;
    *size = *length;
  }
  return META_OK;
}

int zb__segment_metadata(const zb_segment *seg, const char *name,
                         const uint8_t **data, uint64_t *size) {
  uint64_t written, length;
  switch (metadata_of(seg, data, size, &written, &length)) {
  case META_WRITTEN_OUTSIDE:
    return zb__fail(ZB_EPROTO,
                    "ring \"%s\": metadata_written_bytes %llu is outside the "
                    "%llu-byte metadata block",
                    name, (unsigned long long)written,
                    (unsigned long long)seg->metadata_size);
  case META_LENGTH_PAST_WRITTEN:
    return zb__fail(ZB_EPROTO,
                    "ring \"%s\": metadata length prefix %llu does not match "
                    "the %llu bytes written",
                    name, (unsigned long long)length,
                    (unsigned long long)written);
  }
  return 0;
}

int zb__segment_metadata_quiet(const zb_segment *seg, const uint8_t **data,
                               uint64_t *size) {
  uint64_t written, length;
  return metadata_of(seg, data, size, &written, &length) == META_OK
             ? 0
             : ZB_EPROTO;
}

/* Walks the used part of the ring, from the oldest byte not given back to
 * write_pos, calling back for each entry (frame or marker) in order; the
 * number of entries, or -1 when the walk does not add up (the ring moved
 * under us, or it is corrupt). */
static int64_t walk_used(const zb_segment *seg, const zb_health *h,
                         uint64_t held_bytes, uint64_t *frames_held,
                         uint64_t *frames_unread) {
  const uint64_t ring = seg->payload_size, used = h->payload_used_bytes;
  uint64_t pos, walked = 0, steps, entries = 0;

  if (h->write_pos > ring || h->read_pos > ring || used > ring)
    return -1;
  pos = (h->write_pos + ring - used) % ring;
  for (steps = ring / ZB_FRAME_HEADER_SIZE + 2; walked < used; steps--) {
    zb_frame_header fh;
    if (steps == 0)
      return -1;
    if (ring - pos < ZB_FRAME_HEADER_SIZE) { /* tail skipped implicitly */
      walked += ring - pos;
      pos = 0;
      continue;
    }
    memcpy(&fh, seg->payload + pos, sizeof fh);
    if (fh.payload_size > ring - pos - ZB_FRAME_HEADER_SIZE)
      return -1;
    if (fh.payload_size == 0) { /* wrap marker */
      walked += ring - pos;
      pos = 0;
    } else {
      if (frames_held != NULL)
        *(walked < held_bytes ? frames_held : frames_unread) += 1;
      walked += ZB_FRAME_HEADER_SIZE + fh.payload_size;
      pos += ZB_FRAME_HEADER_SIZE + fh.payload_size;
    }
    entries++;
  }
  return walked == used ? (int64_t)entries : -1;
}

/* The reader's backlog: of the frames in use (from the oldest byte not
 * given back to write_pos), those before read_pos it has read and not
 * given back, the others are unread. By position, not by the counts: they
 * drift apart by one per small tail our writer or the Python writer counts
 * and a reader skips uncounted (ours), for the reader's life, across
 * writers: docs/PROTOCOL.md §3. Only a full ring with read_pos at its
 * oldest byte is either all read or all unread; there the reader's own
 * snapshot knows (reader_held >= 0: it holds bytes or none), others go by
 * the counts: fewer apart than the entries in use can only be all read
 * (none read puts them at least that far apart), else taken for none read
 * (wrong only once the drift reached the entries in use: a diagnostic).
 * Never trusted for more: left 0 when the walk does not add up. */
static void count_backlog(const zb_segment *seg, zb_health *h,
                          int64_t reader_held) {
  const uint64_t ring = seg->payload_size, used = h->payload_used_bytes;
  uint64_t unread = h->written_count - h->read_count, held = 0, waiting = 0;
  uint64_t read_bytes;
  int64_t entries = walk_used(seg, h, 0, NULL, NULL);
  if (entries < 0)
    return;
  /* how far read_pos is past the oldest byte (P and 0 are one place) */
  read_bytes = (h->read_pos % ring + ring - (h->write_pos + ring - used) % ring) % ring;
  if (read_bytes == 0 && used == ring && used > 0) {
    if (reader_held >= 0 ? reader_held > 0
                         : h->written_count >= h->read_count &&
                               unread < (uint64_t)entries)
      read_bytes = used;
    else if (reader_held < 0 && h->written_count < h->read_count)
      return;
  }
  if (read_bytes > used ||
      walk_used(seg, h, read_bytes, &held, &waiting) != entries)
    return;
  h->frames_held = held;
  h->frames_unread = waiting;
}

/* The unread entries, from the reader's position to the writer's, judged
 * by the reader's own rules (zb__entry_at): an entry the reader would
 * refuse when it gets there (one ending past the writer's position, a
 * marker with the writer past it, ...) is ZB_EPROTO here too, with the
 * reader's message. Only when the reader did not move meanwhile (its
 * position and count the same after the walk as before it): then every
 * byte walked was published (the writer's position was loaded after the
 * reader's) and not taken, and no writer changes such bytes (our reader
 * moves off a skipped tail before it gives it back); a reader that
 * moved leaves the walk saying nothing. Equal positions (0 and P are one
 * place: the C++ reader goes to 0 after an exact end) and a reader in a
 * small tail with the writer at 0 have nothing to walk: whether equal
 * positions are a whole lap only the reader can tell, by its posts and
 * held bytes; counts and free bytes cannot (docs/PROTOCOL.md §8). */
static int check_unread(const zb_segment *seg, const char *name) {
  zb_oieb *oieb = seg->oieb;
  const uint64_t ring = seg->payload_size;
  const uint64_t read_pos = zb__load_acquire(&oieb->payload_read_pos);
  const uint64_t read_count = zb__load_acquire(&oieb->payload_read_count);
  const uint64_t write_pos = zb__load_acquire(&oieb->payload_write_pos);
  uint64_t pos = read_pos, steps;
  zb_entry e;

  if (read_pos > ring || write_pos > ring)
    return 0; /* zb__segment_health's own checks say so */
  for (steps = ring / ZB_FRAME_HEADER_SIZE + 2;
       pos % ring != write_pos % ring && steps > 0; steps--) {
    if (pos < ring && ring - pos < ZB_FRAME_HEADER_SIZE && write_pos == 0)
      return 0; /* the writer wrapped and has not placed a frame at 0 */
    e = zb__entry_at(seg->payload, ring, pos, write_pos);
    if (e.problem != ZB_ENTRY_OK) {
      atomic_thread_fence(memory_order_acquire);
      if (zb__load_acquire(&oieb->payload_read_count) != read_count ||
          zb__load_acquire(&oieb->payload_read_pos) != read_pos)
        return 0;
      return zb__entry_fail(name, ring, &e, write_pos);
    }
    pos = e.next;
  }
  return 0;
}

int zb__segment_health(const zb_segment *seg, const char *name,
                       zb_health *h, int64_t reader_held) {
  zb_oieb *oieb = seg->oieb;
  uint64_t start;
  int rc;

  memset(h, 0, sizeof *h);
  memcpy(h->version, oieb->version, sizeof h->version);
  h->metadata_size = seg->metadata_size;
  h->metadata_written_bytes = zb__load_acquire(&oieb->metadata_written_bytes);
  h->payload_size = seg->payload_size;
  h->payload_free_bytes = zb__load_acquire(&oieb->payload_free_bytes);
  h->write_pos = zb__load_acquire(&oieb->payload_write_pos);
  h->read_pos = zb__load_acquire(&oieb->payload_read_pos);
  h->written_count = zb__load_acquire(&oieb->payload_written_count);
  h->read_count = zb__load_acquire(&oieb->payload_read_count);
  h->writer_pid = zb__load_acquire(&oieb->writer_pid);
  h->reader_pid = zb__load_acquire(&oieb->reader_pid);
  if (h->payload_free_bytes > h->payload_size)
    return zb__fail(ZB_EPROTO,
                    "ring \"%s\": %llu free bytes in a %llu-byte ring "
                    "(corrupted segment)",
                    name, (unsigned long long)h->payload_free_bytes,
                    (unsigned long long)h->payload_size);
  if ((rc = check_unread(seg, name)) < 0)
    return rc;
  h->payload_used_bytes = h->payload_size - h->payload_free_bytes;
  h->utilisation_percent =
      100.0 * (double)h->payload_used_bytes / (double)h->payload_size;
  count_backlog(seg, h, reader_held);
  h->band = zb_band_of(h->utilisation_percent);
  h->writer_alive = zb__process_probe(h->writer_pid, &start);
  h->reader_alive = zb__process_probe(h->reader_pid, &start);
  return 0;
}

/* zb_writer.c — the writing side of a ring: connect, metadata once,
 * reservations (several in flight, filled and committed in any order from
 * any thread, published in ring order), copies, clean detach.
 *
 * Reservations form a queue in ring order. Committing one publishes every
 * committed reservation at the head of the queue, so a frame becomes
 * visible only after the frames reserved before it. A cancelled (or shrunk)
 * reservation leaves a gap that the protocol cannot express: the committed
 * frames after it are moved down to close it when they are published, and
 * the gap is absorbed into the next wrap (or vanishes when the queue
 * empties), so the copying stops within one lap of the ring.
 *
 * The writer is reference counted: the handle, every open reservation and
 * every call in progress hold it, so zb_writer_destroy() from one thread
 * never pulls the mapping from under a reservation another thread is still
 * filling; such a reservation is abandoned (its commit fails) and the
 * mapping goes with the last reference.
 *
 * Holds (zb_reservation_commit_hold): a committed frame whose bytes the
 * writer's process still uses after the reader released them (zerofilter
 * pushes an in-place answer downstream over its request's bytes). The
 * writer never places a frame over held bytes: the room ahead of the
 * allocation position ends at the first held frame, as well as at the
 * reader's free bytes and the bytes it has not read (follow_reader). A reserve blocked by holds waits on a semaphore of
 * this process (sem-r belongs to the protocol), which each release posts.
 * A hold keeps a writer reference, like a reservation.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zb_atomic.h"
#include "zb_error.h"
#include "zb_oieb.h"
#include "zb_platform.h"
#include "zb_ring.h"
#include "zb_test_hooks.h"

enum { SLOT_OPEN, SLOT_COMMITTED, SLOT_CANCELLED, SLOT_WRAP };

/* One reservation (or a wrap published on its own), in ring order. */
typedef struct zb_slot {
  uint64_t id;           /* what zb_reservation.id names */
  uint64_t pos;          /* where its frame header goes, as placed */
  uint64_t reserved;     /* payload bytes reserved */
  uint64_t committed;    /* payload bytes committed */
  uint64_t booked;       /* bytes it took from the free space: tail + frame */
  uint64_t alloc_before; /* the allocation position before it */
  bool wraps;            /* a wrap goes before it */
  int state;
  uint64_t hold_id;      /* its hold, or 0 */
} zb_slot;

/* A held frame. Until published, its bytes are still booked by its slot. */
typedef struct zb_held {
  uint64_t id;
  uint64_t pos;          /* its frame header, once published */
  uint64_t total;        /* header + payload bytes */
  bool published;
} zb_held;

struct zb_writer {
  char name[ZB_NAME_MAX + 1];
  zb_names names;
  zb_segment seg;
  sem_t *sem_w;
  sem_t *sem_r;
  zb_process reader;      /* the reader as seen at connect */
  uint64_t pid;           /* the connecting process's, claimed in
                             writer_pid at connect */
  uint64_t wrap_early_from; /* frames of this many bytes or more wrap early */

  pthread_mutex_t lock;   /* everything below, and writing the metadata */
  int refs;               /* handle + open reservations + calls in progress */
  bool closed;            /* destroyed: detached, reservations abandoned */
  uint64_t next_sequence;
  uint64_t frames;        /* frames this writer published */
  uint64_t metadata_needed; /* the block size its refused metadata needed
                               (0: none), noted in the block at destroy */
  uint64_t pub_pos;       /* where the next published entry goes (OIEB) */
  uint64_t alloc_pos;     /* where the next reservation goes */
  uint64_t booked;        /* bytes from pub_pos to alloc_pos (unpublished) */
  uint64_t unread;        /* bytes before pub_pos the reader has not read
                             (follow_reader), published tails included */
  uint64_t seen_read_pos, seen_read_count; /* the reader, as last seen */
  bool reader_is_peer;    /* its lock file does not record it: not ours */
  uint64_t largest_total; /* the largest frame published, its header
                             included: what a peer's reader may hold */
  uint64_t inherited_margin; /* what it may hold of an earlier writer's
                                until it has read our first frame: half
                                the ring, the peers' frame limit */
  uint64_t first_frame_count; /* the written count with our first frame
                                 published (0: none yet) */
  uint64_t margin_kept;   /* what the last set-back kept from the free
                             bytes for that frame, not healed yet */
  zb_idle_watch idle;     /* heal_margin's */
  uint64_t lone_wrap_at;  /* where the last wrap marker published alone (no
                             frame after it yet) went, its tail bytes (0
                             once a frame is placed) and the size of the
                             frame it was for: the timeout's message */
  uint64_t lone_wrap_tail, lone_wrap_size;
  zb_slot *queue;         /* circular, capacity cap */
  size_t cap, head, count;
  uint64_t next_id;
  uint64_t next_liveness_check_ns;
  int reader_lost;        /* READER_*: once gone, gone for good */
  uint64_t reader_lost_pid; /* READER_REPLACED: the reader_pid found */
  uint64_t wake_handled;  /* the wake_seq the last cancelled wait saw */
  bool flushing;          /* zb_writer_set_flushing: no reserve waits */
  uint64_t flushes;       /* times flushing was set: a wait in progress
                             then ends even if it is cleared before the
                             wait looks again */
  void (*before_wait)(void *); /* zb__writer_before_wait */
  void *before_wait_arg;
  atomic_uint_fast64_t wake_seq;
  atomic_int waiters;
  zb_held *holds;         /* in no order */
  size_t nholds, holds_cap;
  uint64_t next_hold_id;
  uint64_t held_bytes;    /* sum of their totals */
  sem_t hold_sem;         /* posted by releases (and wakes) for... */
  atomic_int hold_waiters; /* ...the reserves waiting on holds */
  atomic_int hold_blocked; /* reserves in progress that holds block */
};

/* ------------------------------------------------------- lifetime (locked) */

static void writer_free(zb_writer *w) {
  if (w->sem_w != NULL)
    sem_close(w->sem_w);
  if (w->sem_r != NULL)
    sem_close(w->sem_r);
  zb__segment_close(&w->seg);
  pthread_mutex_destroy(&w->lock);
  sem_destroy(&w->hold_sem);
  free(w->queue);
  free(w->holds);
  free(w);
}

/* Drops one reference and the lock; frees the writer after the last. */
static void unref_unlock(zb_writer *w) {
  bool last = --w->refs == 0;
  pthread_mutex_unlock(&w->lock);
  if (last)
    writer_free(w);
}

/* ----------------------------------------------------------- queue (locked) */

static zb_slot *slot_at(zb_writer *w, size_t i) {
  return &w->queue[(w->head + i) % w->cap];
}

static zb_slot *slot_push(zb_writer *w) {
  if (w->count == w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 8, i;
    zb_slot *grown = malloc(cap * sizeof *grown);
    if (grown == NULL)
      return NULL;
    for (i = 0; i < w->count; i++)
      grown[i] = *slot_at(w, i);
    free(w->queue);
    w->queue = grown;
    w->cap = cap;
    w->head = 0;
  }
  w->count++;
  return slot_at(w, w->count - 1);
}

static zb_slot *slot_find(zb_writer *w, uint64_t id) {
  size_t i;
  for (i = 0; i < w->count; i++)
    if (slot_at(w, i)->id == id)
      return slot_at(w, i);
  return NULL;
}

/* ------------------------------------------------------ publishing (locked) */

/* Skips [at, ring) to continue at 0: a marker when it fits, else zeros so
 * that a peer reader that looks there finds size 0. Returns the entries it
 * counts: 1, a small tail included. The C++ reader decodes a header in a
 * small tail (zeros, and zeros past the end of its mapping: size 0), takes
 * it for a marker and counts it; uncounted, its `written_count <=
 * read_count` check would then swallow the next frame's post and leave it
 * a frame behind for good. Counted, it agrees; a reader that skips the
 * tail without counting it (ours) is left one behind per small tail, the
 * direction every reader tolerates (the Python writer counts it too).
 * No post of its own: it shares the post of the frame behind it, as a
 * marker does (docs/PROTOCOL.md §3 and §6). */
static uint64_t write_wrap(zb_writer *w, uint64_t at) {
  uint64_t tail = w->seg.payload_size - at;
  memset(w->seg.payload + at, 0,
         tail < ZB_FRAME_HEADER_SIZE ? tail : ZB_FRAME_HEADER_SIZE);
  return tail > 0;
}

/* Makes entries visible (a frame and the wrap before it, or a wrap alone):
 * position, free bytes, count, then, for a frame, one sem-w post after
 * everything else. Never a post for a wrap alone: readers take one post
 * per frame (docs/PROTOCOL.md §3, "sem-w"). */
static void publish(zb_writer *w, uint64_t consumed, uint64_t entries,
                    bool frame) {
  zb_oieb *oieb = w->seg.oieb;
  zb__store_release(&oieb->payload_write_pos, w->pub_pos);
  zb__sub_release(&oieb->payload_free_bytes, consumed);
  w->booked -= consumed;
  w->unread += consumed;
  if (entries > 0)
    zb__store_release(&oieb->payload_written_count,
                      zb__load_relaxed(&oieb->payload_written_count) + entries);
  if (frame) {
    zb__sem_post(w->sem_w);
    zb__sem_take(w->sem_r); /* keep the space semaphore in step */
  }
}

/* ----------------------------------------------------------- holds (locked) */

static zb_held *held_find(zb_writer *w, uint64_t id) {
  size_t i;
  for (i = 0; i < w->nholds; i++)
    if (w->holds[i].id == id)
      return &w->holds[i];
  return NULL;
}

static void hold_published(zb_writer *w, uint64_t id, uint64_t pos) {
  zb_held *h = held_find(w, id);
  if (h != NULL) {
    h->pos = pos;
    h->published = true;
  }
}

/* The bytes ahead of the allocation position up to the first published
 * held frame (cyclic), UINT64_MAX when none is held. */
static uint64_t hold_room(const zb_writer *w) {
  const uint64_t ring = w->seg.payload_size;
  uint64_t room = UINT64_MAX, d;
  size_t i;
  for (i = 0; i < w->nholds; i++) {
    if (!w->holds[i].published)
      continue;
    d = (w->holds[i].pos + ring - w->alloc_pos % ring) % ring;
    if (d < room)
      room = d;
  }
  return room;
}

/* Wakes the reserves waiting on holds (async-signal-safe). */
static void wake_hold_waiters(zb_writer *w) {
  int n = atomic_load(&w->hold_waiters);
  while (n-- > 0)
    sem_post(&w->hold_sem);
}

/* Publishes every settled slot at the head of the queue. */
static void publish_ready(zb_writer *w) {
  const uint64_t ring = w->seg.payload_size;
  while (w->count > 0) {
    zb_slot *s = slot_at(w, 0);
    uint64_t consumed = 0, entries = 0;
    if (s->state == SLOT_OPEN)
      break;
    if (s->wraps) {
      entries = write_wrap(w, w->pub_pos);
      consumed = ring - w->pub_pos;
      w->pub_pos = 0;
    }
    if (s->state == SLOT_COMMITTED) {
      uint8_t *at = w->seg.payload + w->pub_pos;
      zb_frame_header h = {s->committed, w->next_sequence++};
      if (s->pos != w->pub_pos) /* close the gap an earlier slot left */
        memmove(at + ZB_FRAME_HEADER_SIZE,
                w->seg.payload + s->pos + ZB_FRAME_HEADER_SIZE, s->committed);
      memcpy(at, &h, sizeof h);
      if (s->hold_id != 0)
        hold_published(w, s->hold_id, w->pub_pos);
      w->pub_pos += zb__frame_total(s->committed);
      consumed += zb__frame_total(s->committed);
      if (zb__frame_total(s->committed) > w->largest_total)
        w->largest_total = zb__frame_total(s->committed);
      entries++;
      w->frames++;
    }
    publish(w, consumed, entries, s->state == SLOT_COMMITTED);
    if (w->first_frame_count == 0 && w->frames > 0)
      w->first_frame_count =
          zb__load_relaxed(&w->seg.oieb->payload_written_count);
    w->head = (w->head + 1) % w->cap;
    w->count--;
  }
  if (w->count == 0) { /* a gap left by cancelled slots is free again */
    w->alloc_pos = w->pub_pos;
    w->booked = 0;
  }
}

/* Rolls the allocation back over cancelled slots (and the wraps placed for
 * them) at the end of the queue. */
static void drop_cancelled_tail(zb_writer *w) {
  while (w->count > 0) {
    zb_slot *s = slot_at(w, w->count - 1);
    if (s->state != SLOT_CANCELLED && s->state != SLOT_WRAP)
      break;
    if (s->state == SLOT_WRAP)
      w->lone_wrap_tail = 0; /* never published */
    w->alloc_pos = s->alloc_before;
    w->booked -= s->booked;
    w->count--;
  }
}

/* ------------------------------------------------------------- liveness */

enum { READER_HERE, READER_CLOSED, READER_REPLACED, READER_DIED };

/* Locked. Once the reader is found gone, every later call says so: the
 * liveness check runs once per slice, and a write between two checks
 * would otherwise succeed into a ring nobody reads. */
static int reader_gone(zb_writer *w, uint64_t now) {
  uint64_t pid;
  if (w->reader_lost == READER_HERE) {
    pid = zb__load_acquire(&w->seg.oieb->reader_pid);
    if (pid == 0)
      w->reader_lost = READER_CLOSED;
    else if (now >= w->next_liveness_check_ns) {
      w->next_liveness_check_ns =
          now + (uint64_t)ZB_LIVENESS_SLICE_MS * 1000000u;
      if (pid != w->reader.pid) {
        w->reader_lost = READER_REPLACED;
        w->reader_lost_pid = pid;
      } else if (!zb__process_alive(&w->reader))
        w->reader_lost = READER_DIED;
    }
  }
  if (w->reader_lost == READER_CLOSED)
    return zb__fail(ZB_EREADERGONE,
                    "reader of ring \"%s\" is gone: it closed the ring",
                    w->name);
  if (w->reader_lost == READER_REPLACED)
    return zb__fail(ZB_EREADERGONE,
                    "reader of ring \"%s\" is gone: reader_pid is now "
                    "%llu, not its reader's %llu (another process changed "
                    "the segment?)",
                    w->name, (unsigned long long)w->reader_lost_pid,
                    (unsigned long long)w->reader.pid);
  if (w->reader_lost == READER_DIED)
    return zb__fail(ZB_EREADERGONE,
                    "reader of ring \"%s\" is gone: process %llu died",
                    w->name, (unsigned long long)w->reader.pid);
  return 0;
}

/* Whether the caller is a child of fork() with a copy of the handle: its
 * writes would go into the parent's stream, between the parent's frames
 * (writer_pid names the parent, so the ring looks ours). */
static bool forked_copy(const zb_writer *w) { return zb__self_pid() != w->pid; }

/* writer_pid is ours from connect to destroy; another value means another
 * process took the ring (its frames would not be ours to add to, and our
 * detach would leave its pid behind: the reader never sees the stream end).
 * A forked copy is refused first: writer_pid is its parent's. */
static int ring_taken(zb_writer *w) {
  uint64_t pid = zb__load_relaxed(&w->seg.oieb->writer_pid);
  if (forked_copy(w))
    return zb__fail(ZB_ESTATE,
                    "ring \"%s\": this writer was connected by process %llu, "
                    "not this one (%llu, a child of fork()): here it may only "
                    "be destroyed; the frame was not published",
                    w->name, (unsigned long long)w->pid,
                    (unsigned long long)zb__self_pid());
  if (pid == w->pid)
    return 0;
  return zb__fail(ZB_EBUSY,
                  "ring \"%s\": writer_pid is now %llu, not this writer's "
                  "%llu: %s; the frame was not published, and this writer "
                  "writes nothing more into the ring while it is so",
                  w->name, (unsigned long long)pid,
                  (unsigned long long)w->pid,
                  pid == 0 ? "another process cleared it (took this writer "
                             "for gone)"
                           : "another process took the ring");
}

/* Locked: whether the ring was refused to this writer (its reader found
 * gone, for good) or is not its own now (writer_pid, or a forked copy), as
 * reader_gone and ring_taken tell, without a liveness probe or a message.
 * Then nothing is written into it, not even the wrap marker of a cancelled
 * reservation: it may be another writer's stream. */
static bool refused(const zb_writer *w) {
  return w->reader_lost != READER_HERE || forked_copy(w) ||
         zb__load_relaxed(&w->seg.oieb->writer_pid) != w->pid;
}

/* ---------------------------------------------------------------- connect */

/* Where the entries at `pos` end after `n` of them, as the writer counted
 * them (a 1..15-byte tail is one, as our writer counts it: write_wrap);
 * UINT64_MAX when the ring does not hold such entries, or when they would
 * go past `stop` (the writer's position: beyond it lie stale bytes, which
 * the counts reach when they are further apart than the entries, as our
 * reader leaves them: it skips the small tails our writer counts). *frames
 * counts the frames among them (the rest are wrap markers). */
static uint64_t walk_entries(const zb_writer *w, uint64_t pos, uint64_t n,
                             uint64_t stop, uint64_t *frames) {
  const uint64_t ring = w->seg.payload_size;
  zb_frame_header h;
  *frames = 0;
  if (n > ring / ZB_FRAME_HEADER_SIZE + 1)
    return UINT64_MAX;
  while (n > 0) {
    if (pos > ring || pos % ring == stop) /* (pos never starts there) */
      return UINT64_MAX;
    if (ring - pos < ZB_FRAME_HEADER_SIZE) {
      n -= pos != ring; /* an exact end is no entry */
      pos = 0;
      continue;
    }
    memcpy(&h, w->seg.payload + pos, sizeof h);
    if (h.payload_size > ring - pos - ZB_FRAME_HEADER_SIZE)
      return UINT64_MAX;
    *frames += h.payload_size != 0;
    pos = h.payload_size == 0 ? 0 : pos + zb__frame_total(h.payload_size);
    n--;
  }
  return pos;
}

/* The last writer may have died in the middle of publishing: it moved
 * write_pos past a frame (or a wrap and a frame) but never counted it (the
 * order of every writer: write_pos, free bytes, count, post). Its bytes
 * are all there, and a reader that goes by position (ours) takes it as it
 * is; a reader that goes by the counts (the peers') would not see it until
 * our first frame is counted, and then take every frame of ours one late.
 * So complete that publish: count it and post once for its frame. Only
 * when write_pos is exactly one such entry past where the counted entries
 * end, and not where the reader stands (then the counts are not behind: a
 * Python writer's phantom wrap, or a full lap); once our reader has taken
 * the frame, its count is ahead and it puts the count right itself when it
 * reports the death (docs/PROTOCOL.md §4, "A writer killed while
 * publishing"). Every writer starts at write_pos. */
static void complete_torn_publish(zb_writer *w) {
  const uint64_t ring = w->seg.payload_size;
  zb_oieb *oieb = w->seg.oieb;
  uint64_t write_pos = zb__load_acquire(&oieb->payload_write_pos) % ring;
  int tries;
  for (tries = 0; tries < 3; tries++) {
    uint64_t read = zb__load_acquire(&oieb->payload_read_count);
    uint64_t read_pos = zb__load_acquire(&oieb->payload_read_pos);
    uint64_t written = zb__load_acquire(&oieb->payload_written_count);
    uint64_t end, ghost, frames, n;
    if (zb__load_acquire(&oieb->payload_read_count) != read)
      continue; /* the reader moved: look again */
    if (read_pos % ring == write_pos)
      return;
    end = walk_entries(w, read_pos, written - read, write_pos, &frames);
    if (end == UINT64_MAX || end % ring == write_pos)
      return;
    for (n = 1; n <= 2; n++) { /* a frame, or a wrap marker and a frame */
      ghost = walk_entries(w, end, n, write_pos, &frames);
      if (ghost != UINT64_MAX && ghost % ring == write_pos) {
        if (zb__cas(&oieb->payload_written_count, &written, written + n) &&
            frames > 0)
          zb__sem_post(w->sem_w);
        return;
      }
    }
    return;
  }
}

/* What the reader has not read when we connect, from its position to
 * ours (follow_reader goes on from there). Equal positions are taken for
 * an empty ring: the free bytes alone bound a full lap left by the last
 * writer, as they did for every lap before follow_reader. */
static void unread_at_connect(zb_writer *w) {
  const uint64_t ring = w->seg.payload_size;
  zb_oieb *oieb = w->seg.oieb;
  w->seen_read_count = zb__load_acquire(&oieb->payload_read_count);
  w->seen_read_pos = zb__load_acquire(&oieb->payload_read_pos) % ring;
  w->unread = (w->pub_pos % ring + ring - w->seen_read_pos) % ring;
}

static int claim_writer_slot(zb_writer *w) {
  zb_oieb *oieb = w->seg.oieb;
  uint64_t self = zb__self_pid(), current = zb__load_acquire(&oieb->writer_pid);
  uint64_t start;
  /* Our own pid is named as such: a user looking for another process
   * would not find it (two zerosinks of one pipeline into one ring). */
  if (current != 0 && current == self)
    return zb__fail(ZB_EBUSY,
                    "ring \"%s\" already has a live writer in this process "
                    "(pid %llu, another of its writers): one writer at a time",
                    w->name, (unsigned long long)current);
  if (current != 0 && zb__process_probe(current, &start))
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
  w->pid = self;
  return 0;
}

int zb_writer_connect(zb_writer **out, const char *name) {
  zb_writer *w;
  zb_unready unready;
  uint64_t reader_pid, write_pos;
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
  w->refs = 1;
  w->wrap_early_from = ZB_WRAP_EARLY_FROM;
  w->next_hold_id = 1;
  pthread_mutex_init(&w->lock, NULL);
  sem_init(&w->hold_sem, 0, 0);
  strcpy(w->name, name);
  zb__names(name, &w->names);

  if ((rc = zb__segment_open(&w->seg, name, &w->names, true, &unready)) < 0) {
    if (rc == ZB_ENOENT) /* missing, or not ready: which one */
      rc = zb__segment_unready(name, &w->names, &unready);
    goto fail;
  }
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
  w->reader_is_peer = !zb__lock_records_reader(w->names.lock, reader_pid);
  if (w->reader_is_peer)
    w->inherited_margin = w->seg.payload_size / 2;
  /* A corrupt sem-w (another process wrote over its file) would leave
   * out every frame's post: refused now, as each commit would be. */
  if ((rc = zb__sem_open(w->names.sem_w, name, &w->sem_w)) < 0 ||
      (rc = zb__sem_open(w->names.sem_r, name, &w->sem_r)) < 0 ||
      (rc = zb__sem_check(w->sem_w, w->names.sem_w)) < 0 ||
      (rc = claim_writer_slot(w)) < 0)
    goto fail;
  complete_torn_publish(w);
  /* checked again: the segment was validated when mapped, but a process
   * of the same user may have changed it since */
  write_pos = zb__load_acquire(&w->seg.oieb->payload_write_pos);
  if (write_pos > w->seg.payload_size) {
    uint64_t self = zb__self_pid();
    zb__cas(&w->seg.oieb->writer_pid, &self, 0);
    rc = zb__fail(ZB_EPROTO, "ring \"%s\": write position %llu is past the "
                  "%llu-byte ring (corrupted segment)", name,
                  (unsigned long long)write_pos,
                  (unsigned long long)w->seg.payload_size);
    goto fail;
  }
  w->pub_pos = w->alloc_pos = write_pos;
  unread_at_connect(w);
  *out = w;
  return 0;

fail:
  writer_free(w);
  return rc;
}

/* Writes SIZE bytes of metadata into the empty block, which holds them. */
static void write_metadata(zb_writer *w, const void *data, uint64_t size) {
  memcpy(w->seg.metadata, &size, sizeof size);
  memcpy(w->seg.metadata + 8, data, size);
  zb__store_release(&w->seg.oieb->metadata_free_bytes,
                    w->seg.metadata_size - 8 - size);
  zb__store_release(&w->seg.oieb->metadata_written_bytes, 8 + size);
}

/* A writer that leaves without a frame after its metadata did not fit
 * tells the reader why in the block, when its note fits there (its
 * reader would otherwise wait for a stream that never comes: nothing else
 * in the segment says that a writer was there). Only a reader of ours
 * reads the note: a peer's reader would take it for metadata without
 * caps, and its later writers would find the write-once block taken. */
static void note_metadata_needed(zb_writer *w) {
  const uint8_t *existing;
  uint64_t existing_size;
  char note[64];
  int n;

  /* Only into a block never written: one that holds empty metadata (a
   * length of 0) was written, and a peer reader may have read it. Only
   * while writer_pid is ours: else the block may be another writer's.
   * And only when the lock file records reader_pid, as our readers do. */
  if (w->metadata_needed == 0 || w->frames > 0 ||
      zb__load_relaxed(&w->seg.oieb->writer_pid) != w->pid ||
      zb__load_acquire(&w->seg.oieb->metadata_written_bytes) != 0 ||
      zb__segment_metadata_quiet(&w->seg, &existing, &existing_size) < 0 ||
      !zb__lock_records_reader(w->names.lock,
                               zb__load_acquire(&w->seg.oieb->reader_pid)))
    return;
  n = snprintf(note, sizeof note, ZB__METADATA_NEEDED_NOTE,
               (unsigned long long)w->metadata_needed);
  if (n > 0 && (uint64_t)n + 8 <= w->seg.metadata_size)
    write_metadata(w, note, (uint64_t)n);
}

void zb_writer_destroy(zb_writer *w) {
  uint64_t self;
  int waiters;
  size_t i;
  zb_slot *s;
  if (w == NULL)
    return;
  pthread_mutex_lock(&w->lock);
  w->closed = true;
  /* A forked copy only lets go of its own mapping and semaphore handles:
   * the ring, its writer_pid and its waiters are the parent's. */
  if (!forked_copy(w)) {
    note_metadata_needed(w); /* while writer_pid is ours (§4) */
    /* Open reservations may still be written by their holders (a pool
     * buffer upstream fills after the sink stopped), and the next writer
     * may place its frames there once writer_pid is cleared: from now on
     * those writes stay in this process. Before the clear, so that no next
     * writer has written there yet and their bytes are still theirs to
     * keep (a pool copies a buffer held across a restart into the next
     * ring). */
    for (i = 0; i < w->count; i++) {
      s = slot_at(w, i);
      if (s->state == SLOT_OPEN)
        zb__segment_make_private(
            &w->seg, w->seg.payload + s->pos + ZB_FRAME_HEADER_SIZE,
            s->reserved);
    }
    self = zb__self_pid();
    /* No sem-w post: readers take one per frame. A waiting reader looks at
     * writer_pid after each wait slice. */
    zb__cas(&w->seg.oieb->writer_pid, &self, 0);
    for (waiters = atomic_load(&w->waiters); waiters > 0; waiters--)
      zb__sem_post(w->sem_r); /* waits in other threads end */
  }
  /* What is committed before the first open reservation was published at
   * its commit. The rest is dropped: open reservations may still be written
   * by their holders, so nothing may be moved into them, and frames after
   * the detach would come after the reader's end of stream. */
  w->count = 0;
  wake_hold_waiters(w);
  unref_unlock(w);
}

zb_writer *zb_writer_ref(zb_writer *w) {
  if (w == NULL)
    return NULL;
  pthread_mutex_lock(&w->lock);
  w->refs++;
  pthread_mutex_unlock(&w->lock);
  return w;
}

void zb_writer_unref(zb_writer *w) {
  if (w == NULL)
    return;
  pthread_mutex_lock(&w->lock);
  unref_unlock(w);
}

const char *zb_writer_name(const zb_writer *w) {
  return w != NULL ? w->name : NULL;
}

uint64_t zb_writer_max_frame_size(const zb_writer *w) {
  return w != NULL ? w->seg.payload_size - ZB_FRAME_HEADER_SIZE : 0;
}

int zb_writer_health(zb_writer *w, zb_health *health) {
  int rc;
  if (w == NULL || health == NULL)
    return zb__fail(ZB_EINVAL, "zb_writer_health: arguments are required");
  /* Locked: the backlog walk reads the frame headers of the used bytes as
   * its snapshot of the counters saw them; bytes the reader gave back since
   * may be reserved and filled by another thread, and publishing writes
   * headers. With the lock no reserve or publish runs, and the free bytes
   * it reads can only grow: what it walks is what no thread of ours writes
   * (ThreadSanitizer's report; test_threads.c). */
  pthread_mutex_lock(&w->lock);
  rc = zb__segment_health(&w->seg, w->name, health, -1);
  pthread_mutex_unlock(&w->lock);
  return rc;
}

void zb_writer_wake(zb_writer *w) {
  int n;
  if (w == NULL || forked_copy(w)) /* the waits are the parent's */
    return;
  n = atomic_load(&w->waiters);
  atomic_fetch_add(&w->wake_seq, 1);
  do
    zb__sem_post(w->sem_r);
  while (--n > 0);
  wake_hold_waiters(w);
}

void zb_writer_set_flushing(zb_writer *w, bool flushing) {
  int n;
  if (w == NULL || forked_copy(w)) /* the waits are the parent's */
    return;
  /* Under the lock, as a reserve looks at the flag and counts itself a
   * hold waiter under it before it sleeps: each wait either sees the flag
   * or is counted here and gets its post (none is taken by another
   * waiter's zb__sem_take_all, which runs under the lock too). */
  pthread_mutex_lock(&w->lock);
  w->flushing = flushing;
  if (flushing) {
    w->flushes++;
    for (n = atomic_load(&w->waiters); n > 0; n--)
      zb__sem_post(w->sem_r);
    wake_hold_waiters(w);
  }
  pthread_mutex_unlock(&w->lock);
}

void zb__writer_before_wait(zb_writer *w, void (*hook)(void *), void *arg) {
  pthread_mutex_lock(&w->lock);
  w->before_wait = hook;
  w->before_wait_arg = arg;
  pthread_mutex_unlock(&w->lock);
}

void zb__writer_set_wrap_early(zb_writer *w, bool on) {
  w->wrap_early_from = on ? 0 : UINT64_MAX;
}

void zb__writer_set_next_sequence(zb_writer *w, uint64_t sequence) {
  w->next_sequence = sequence;
}

/* --------------------------------------------------------------- metadata */

int zb_writer_metadata(zb_writer *w, const uint8_t **data, uint64_t *size) {
  if (w == NULL || data == NULL || size == NULL)
    return zb__fail(ZB_EINVAL, "zb_writer_metadata: arguments are required");
  return zb__segment_metadata(&w->seg, w->name, data, size);
}

/* How much of a metadata blob an error message quotes (it has no NUL). */
static int quoted_length(uint64_t size) { return size < 100 ? (int)size : 100; }

/* zb_writer_set_metadata under the writer's lock. */
static int set_metadata_locked(zb_writer *w, const void *data, uint64_t size) {
  const uint8_t *existing;
  uint64_t existing_size;
  int rc;

  if (w->closed) /* the ring may have the next writer already */
    return zb__fail(ZB_ESTATE, "writer of ring \"%s\" is closed", w->name);
  if ((rc = ring_taken(w)) < 0) /* its block may be another writer's to write */
    return rc;
  /* Readers (ours and the peers') read the metadata once, before the first
   * frame they take: written later, it would never be seen. This writer's
   * frames only: one that follows a writer that wrote none may still write
   * it before its own (docs/PROTOCOL.md §4). */
  if (w->frames > 0)
    return zb__fail(ZB_ESTATE,
                    "metadata goes before the first frame: this writer of "
                    "ring \"%s\" has written %llu frame%s already, and readers "
                    "read the metadata once, before the first; set it right "
                    "after connecting",
                    w->name, (unsigned long long)w->frames,
                    w->frames == 1 ? "" : "s");
  if ((rc = zb__segment_metadata(&w->seg, w->name, &existing,
                                 &existing_size)) < 0)
    return rc;
  /* Empty metadata (a length prefix of 0, metadata_written_bytes 8: a peer
   * writer's set_metadata(x, 0)) is written metadata, only empty: readers
   * take it as none, but it was written once, and a reader that looked
   * has seen it (the peers' readers read it once; their writers refuse a
   * second write, "metadata already written"). Written over, a reader
   * looking meanwhile could see our length against its 8 bytes written.
   * Other metadata than this writer's, then (docs/PROTOCOL.md §2.2, §4):
   * nothing we write is empty (size 0 is ZB_EINVAL). */
  if (existing_size == 0 &&
      zb__load_acquire(&w->seg.oieb->metadata_written_bytes) != 0)
    return zb__fail(ZB_EMETADATA,
                    "ring \"%s\" already holds empty metadata (a length of "
                    "0, written by an earlier writer), not this writer's "
                    "(%llu bytes: \"%.*s\"); metadata is written once per "
                    "ring: restart the reader to change it",
                    w->name, (unsigned long long)size, quoted_length(size),
                    (const char *)data);
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
                    "metadata of %llu bytes does not fit ring \"%s\" nor "
                    "any other: metadata blocks hold at most %llu bytes",
                    (unsigned long long)size, w->name,
                    (unsigned long long)ZB_MAX_METADATA_SIZE);
  if (size > w->seg.metadata_size || w->seg.metadata_size - size < 8) {
    w->metadata_needed = size + 8;
    /* a block of 0 to 7 bytes cannot have 8 of them for the length */
    char block[96];
    unsigned long long block_size = w->seg.metadata_size;
    if (block_size == 0)
      snprintf(block, sizeof block, "it has no metadata block");
    else if (block_size < 8)
      snprintf(block, sizeof block, "its metadata block of %llu bytes is too "
               "small for even the length (8 bytes)", block_size);
    else
      snprintf(block, sizeof block, "its metadata block is %llu bytes, 8 of "
               "them for the length", block_size);
    return zb__fail(ZB_EMSGSIZE,
                    "metadata of %llu bytes does not fit ring \"%s\": %s; "
                    "create the ring with a metadata size of at least %llu",
                    (unsigned long long)size, w->name, block,
                    (unsigned long long)(size + 8));
  }
  write_metadata(w, data, size);
  w->metadata_needed = 0;
  return 0;
}

int zb_writer_set_metadata(zb_writer *w, const void *data, uint64_t size) {
  int rc;
  if (w == NULL || data == NULL || size == 0)
    return zb__fail(ZB_EINVAL, "zb_writer_set_metadata: empty metadata");
  /* Locked: a writer's calls may come from any thread, and two threads
   * that both found the block empty would both write it, plain stores
   * racing (ThreadSanitizer's report; test_threads.c) and leaving one's
   * length prefix over the other's bytes. */
  pthread_mutex_lock(&w->lock);
  rc = set_metadata_locked(w, data, size);
  pthread_mutex_unlock(&w->lock);
  return rc;
}

/* ----------------------------------------------------------------- frames */

static int check_frame_size(const zb_writer *w, uint64_t size) {
  const uint64_t ring = w->seg.payload_size;
  if (size == 0)
    return zb__fail(ZB_EINVAL, "ring \"%s\": a frame of 0 bytes is invalid",
                    w->name);
  if (size > ZB_MAX_PAYLOAD_SIZE)
    return zb__fail(ZB_EMSGSIZE,
                    "a frame of %llu bytes can never fit ring \"%s\" nor "
                    "any other: rings hold at most %llu bytes",
                    (unsigned long long)size, w->name,
                    (unsigned long long)ZB_MAX_PAYLOAD_SIZE);
  if (size > ring - ZB_FRAME_HEADER_SIZE)
    return zb__fail(ZB_EMSGSIZE,
                    "a frame of %llu bytes can never fit ring \"%s\": its "
                    "payload ring is %llu bytes and a frame takes 16 more "
                    "than its size; create the ring with a payload size of "
                    "at least %llu",
                    (unsigned long long)size, w->name, (unsigned long long)ring,
                    (unsigned long long)zb_payload_size_for(size, 1, false));
  return 0;
}

/* The bytes a frame of SIZE waits for, NEEDED, as a message puts them: a
 * frame that goes to 0 also waits for the TAIL it skips at the ring's end,
 * which made "needs 7936" for a 4096-byte frame look wrong. */
static const char *needs_text(char *buf, size_t len, uint64_t size,
                              uint64_t needed, uint64_t tail) {
  if (tail == 0)
    snprintf(buf, len, "%llu", (unsigned long long)needed);
  else if (needed > tail)
    snprintf(buf, len, "%llu: %llu for it (16 + %llu) + the %llu left at "
             "the ring's end, skipped to place it at 0",
             (unsigned long long)needed, (unsigned long long)(needed - tail),
             (unsigned long long)size, (unsigned long long)tail);
  else /* the marker goes out alone first (zb_placement.wrap_first) */
    snprintf(buf, len, "%llu: the bytes left at the ring's end, for a wrap "
             "marker before it goes to 0", (unsigned long long)needed);
  return buf;
}

/* Follows the reader (locked): w->unread, the bytes we published that it
 * has not read, from its position to ours; when they are equal, all of
 * them (a full lap) only if it was so when last seen and the reader has
 * neither moved nor counted anything since (a reader moves its position
 * before it counts: the count is loaded first, so a count that moved comes
 * with its position). False, *read_pos set, when its position is past the
 * ring: a corrupted segment, which the caller reports or not (no error
 * set here: zb_writer_holds answers regardless). */
static bool follow_reader(zb_writer *w, uint64_t *read_pos) {
  const uint64_t ring = w->seg.payload_size;
  zb_oieb *oieb = w->seg.oieb;
  uint64_t count = zb__load_acquire(&oieb->payload_read_count);
  uint64_t pos = zb__load_acquire(&oieb->payload_read_pos);
  *read_pos = pos;
  if (pos > ring)
    return false;
  pos %= ring;
  if (pos != w->pub_pos % ring)
    w->unread = (w->pub_pos % ring + ring - pos) % ring;
  else if (w->unread < ring || pos != w->seen_read_pos ||
           count != w->seen_read_count)
    w->unread = 0;
  w->seen_read_pos = pos;
  w->seen_read_count = count;
  return true;
}

/* What free bytes above the ring's size with a peer's reader are put
 * right to (try_place; follow_reader done): the ring less what is unread
 * and less the frame the reader may still hold. A peer's reader moves its
 * position when it reads a frame but gives its bytes back only at
 * release: counted free, that frame was written over while held, and its
 * release pushed the free bytes over the truth again. The largest frame we
 * published stands for it, and half the ring for an earlier writer's
 * until the reader has read our first (a writer that came after another
 * knows none of its frames); when the reader held nothing, the free bytes
 * are that much short until heal_margin gives it back (room lost for a
 * while, never a frame). Never below our reservations: they were placed
 * before the lost update, outside any frame held, and each commit takes
 * its bytes from the free bytes. */
static uint64_t free_set_back(const zb_writer *w) {
  uint64_t margin = w->largest_total, kept, set_back;
  if (margin < w->inherited_margin &&
      (w->first_frame_count == 0 ||
       w->seen_read_count < w->first_frame_count))
    margin = w->inherited_margin;
  kept = w->unread + margin;
  set_back = kept < w->seg.payload_size ? w->seg.payload_size - kept : 0;
  return set_back > w->booked ? set_back : w->booked;
}

/* The bytes a reservation may take from the allocation position on
 * (locked, follow_reader done): FREE_BYTES (at most the ring's size, and
 * at least what is reserved) less the reservations, and never over bytes
 * not read yet, whatever the free bytes say (a peer reader's lost updates
 * raise them above the truth). Holds aside (hold_room). */
static uint64_t reader_room(const zb_writer *w, uint64_t free_bytes) {
  const uint64_t ring = w->seg.payload_size;
  if (w->unread + w->booked >= ring)
    return 0;
  if (free_bytes - w->booked > ring - w->unread - w->booked)
    return ring - w->unread - w->booked;
  return free_bytes - w->booked;
}

/* One step of reserve (locked): places the frame when there is room (0),
 * or says why not (ZB_EAGAIN: wait for space; other codes: fail). */
static int try_place(zb_writer *w, uint64_t size, zb_reservation *res,
                     uint64_t *avail_out, uint64_t *needed_out,
                     uint64_t *tail_out, bool *held) {
  const uint64_t ring = w->seg.payload_size;
  const uint64_t total = zb__frame_total(size);
  uint64_t free_bytes, read_pos, avail, room;
  zb_placement p;
  zb_slot *s;
  char needs[160];

  for (;;) {
    free_bytes = zb__load_acquire(&w->seg.oieb->payload_free_bytes);
    if (!follow_reader(w, &read_pos))
      return zb__fail(ZB_EPROTO, "ring \"%s\": read position %llu is past "
                      "the %llu-byte ring (corrupted segment)", w->name,
                      (unsigned long long)read_pos, (unsigned long long)ring);
    /* A peer reader's plain `free += size` that overwrote our subtraction
     * (docs/PROTOCOL.md §7, "Lost updates"), once or many times over: put
     * right (free_set_back; the unread bytes loaded after the free bytes,
     * so a give-back since fails the swap and the next look sees it). Our
     * reader updates atomically: there it is a corrupted segment. */
    if (free_bytes > ring && w->reader_is_peer) {
      uint64_t loaded = free_bytes;
      free_bytes = free_set_back(w);
      if (!zb__cas(&w->seg.oieb->payload_free_bytes, &loaded, free_bytes))
        continue;
      w->margin_kept = (w->unread < ring ? ring - w->unread : 0) - free_bytes;
    }
    if (free_bytes > ring || free_bytes < w->booked)
      return zb__fail(ZB_EPROTO, "ring \"%s\": %llu free bytes in a %llu-byte "
                      "ring with %llu bytes reserved (corrupted segment)",
                      w->name, (unsigned long long)free_bytes,
                      (unsigned long long)ring, (unsigned long long)w->booked);
    avail = reader_room(w, free_bytes);
    room = hold_room(w);
    *held = room < avail;
    if (*held)
      avail = room;
    p = zb__place_frame(ring, w->alloc_pos, total, avail,
                        total >= w->wrap_early_from);
    if (p.impossible)
      return zb__fail(ZB_EMSGSIZE,
                      "a frame of %llu bytes cannot follow the previous one in "
                      "ring \"%s\": with %llu bytes left at the end of the "
                      "%llu-byte ring it fits neither there nor at 0; give "
                      "the ring room for two frames (payload size >= %llu)",
                      (unsigned long long)size, w->name,
                      (unsigned long long)(ring - w->alloc_pos),
                      (unsigned long long)ring,
                      (unsigned long long)(2 * total));
    *avail_out = avail;
    *needed_out = p.needed;
    *tail_out = p.skipped_tail;
    *held = *held && avail < p.needed;
    if (*held)
      return zb__fail(ZB_EAGAIN,
                      "ring \"%s\" is full: %zu frames held by the writer "
                      "(zb_hold) leave %llu bytes, the frame needs %s",
                      w->name, w->nholds, (unsigned long long)avail,
                      needs_text(needs, sizeof needs, size, p.needed,
                                 p.skipped_tail));
    if (avail < p.needed)
      return zb__fail(ZB_EAGAIN,
                      "ring \"%s\" is full: %llu bytes free, the frame needs "
                      "%s", w->name, (unsigned long long)avail,
                      needs_text(needs, sizeof needs, size, p.needed,
                                 p.skipped_tail));
    if ((s = slot_push(w)) == NULL)
      return zb__fail(ZB_ENOMEM, "ring \"%s\": out of memory tracking %zu "
                      "reservations", w->name, w->count);
    *s = (zb_slot){w->next_id++, p.frame_pos, size, 0, p.needed, w->alloc_pos,
                   p.wraps, p.wrap_first ? SLOT_WRAP : SLOT_OPEN, 0};
    w->booked += p.needed;
    if (p.wrap_first) { /* the wrap on its own, then the frame at 0 */
      w->lone_wrap_at = w->alloc_pos;
      w->lone_wrap_tail = p.skipped_tail;
      w->lone_wrap_size = size;
      w->alloc_pos = 0;
      publish_ready(w);
      continue;
    }
    w->alloc_pos = p.frame_pos + total;
    w->lone_wrap_tail = 0;
    res->data = w->seg.payload + p.frame_pos + ZB_FRAME_HEADER_SIZE;
    res->size = size;
    res->writer = w;
    res->id = s->id;
    return 0;
  }
}

/* Gives back what the last set-back kept for a frame the reader may hold
 * (free_set_back) once the reader holds none, as far as we can tell:
 * nothing unread (positions and counts equal) and a process asleep on
 * sem-w, all unchanged for a wait slice, while a reserve waits for room
 * (locked, try_place's follow_reader done). A reader asleep in its next
 * read has released what it read when it gives frames back at read (the
 * C++ reader before its RAII frames, the Python one) or drops its frame
 * before reading again; one that keeps its last frame across the next
 * read (a C++ Frame assigned over, the emulated reader with max_held >=
 * 1) does not, and there the heal counts that frame free: so it gives
 * back at most the margin kept, once per set-back (the free bytes then
 * over the truth by one frame at most, as before the margin), and never
 * again until the next set-back, where that frame would block the stream
 * anyway (the reader waits for our frame, we for its room). Our lock
 * keeps our frames out from the load to the swap; only the reader's store
 * can come between, and then the swap fails or (its load older than our
 * last subtraction) loses room, never raises over a frame. Without
 * glibc's sem_t layout (no sleeper count) nothing is healed. True when
 * healed. */
static bool heal_margin(zb_writer *w, uint64_t now) {
  zb_oieb *oieb = w->seg.oieb;
  const uint64_t ring = w->seg.payload_size;
  uint64_t free_bytes, read_count, written, healed;
  if (w->margin_kept == 0 || !w->reader_is_peer || w->unread != 0 ||
      zb__sem_sleepers(w->sem_w) <= 0) {
    zb__idle_forget(&w->idle);
    return false;
  }
  free_bytes = zb__load_acquire(&oieb->payload_free_bytes);
  read_count = zb__load_acquire(&oieb->payload_read_count);
  written = zb__load_relaxed(&oieb->payload_written_count);
  if (free_bytes >= ring || read_count != written) {
    zb__idle_forget(&w->idle);
    return false;
  }
  {
    const uint64_t seen[] = {free_bytes, read_count, written, w->pub_pos};
    if (!zb__idle_for_slice(&w->idle, seen, sizeof seen / sizeof *seen, now))
      return false;
  }
  healed = ring - free_bytes > w->margin_kept ? free_bytes + w->margin_kept
                                              : ring;
  if (!zb__cas(&oieb->payload_free_bytes, &free_bytes, healed))
    return false;
  w->margin_kept = 0;
  return true;
}

/* Where sem_t's layout is not glibc's, sem-r posts taken in one go at most
 * (zb__sem_take_all; with glibc's, all at once): a flood to SEM_VALUE_MAX
 * is then taken over several looks, each one a wait's worth. */
#define SEM_R_POSTS_PER_TAKE 65536u

uint64_t zb_writer_wakes(const zb_writer *w) {
  return w == NULL ? 0 : atomic_load(&w->wake_seq);
}

/* The reserve of zb_writer_reserve (SINCE NULL: a wait ends on the wakes
 * no earlier wait took) and of zb_writer_reserve_since (*SINCE: on the
 * wakes made since the caller counted them, taken or not). */
static int reserve(zb_writer *w, uint64_t size, zb_reservation *res,
                   int timeout_ms, const uint64_t *since) {
  uint64_t now, start_wake, start_flushes, wake, avail = 0, needed = 0,
      tail = 0;
  bool held = false, blocked = false, earlier_lone, posted_in_vain = false;
  zb_deadline deadline;
  int rc, wait_ms;
  char needs[160];
  void (*before_wait)(void *);
  void *before_wait_arg;
  const char *fn = since != NULL ? "zb_writer_reserve_since"
                                 : "zb_writer_reserve";

  if (w == NULL || res == NULL)
    return zb__fail(ZB_EINVAL, "%s: writer and reservation are required", fn);
  memset(res, 0, sizeof *res);
  if ((rc = zb__check_timeout(fn, w->name, timeout_ms)) < 0 ||
      (rc = check_frame_size(w, size)) < 0)
    return rc;
  zb_deadline_start(&deadline, timeout_ms);

  pthread_mutex_lock(&w->lock);
  if (w->closed) {
    pthread_mutex_unlock(&w->lock);
    return zb__fail(ZB_ESTATE, "writer of ring \"%s\" is closed", w->name);
  }
  if (forked_copy(w)) {
    rc = ring_taken(w);
    pthread_mutex_unlock(&w->lock);
    return rc;
  }
  w->refs++; /* this call's; the reservation keeps it */
  /* a marker an earlier call left alone: its timeout is told as that
   * frame's, not this one's */
  earlier_lone = w->lone_wrap_tail > 0;
  start_wake = since != NULL ? *since : w->wake_handled;
  start_flushes = w->flushes;
  atomic_fetch_add(&w->waiters, 1);
  for (;;) {
    now = zb__now_ns();
    /* Destroyed during the wait (by a thread holding another reference):
     * before the ring's checks, as the destroy cleared writer_pid, which
     * ring_taken would tell as taken by another process. */
    if (w->closed) {
      rc = zb__fail(ZB_ECANCELED, "ring \"%s\": wait interrupted: the "
                    "writer was destroyed", w->name);
      break;
    }
    if ((rc = reader_gone(w, now)) < 0 || (rc = ring_taken(w)) < 0 ||
        (rc = try_place(w, size, res, &avail, &needed, &tail, &held)) !=
            ZB_EAGAIN)
      break;
    if (held != blocked) {
      blocked = held;
      atomic_fetch_add(&w->hold_blocked, held ? 1 : -1);
    }
    /* A look that does not wait leaves a pending wake to the wait it is
     * meant for (the lock is held since the closed check: no destroy). */
    if (timeout_ms == 0)
      break; /* ZB_EAGAIN from try_place */
    /* Flushing ends the wait as a wake does, and serves the wakes made
     * meanwhile: none is left to end a wait after the flush. */
    wake = atomic_load(&w->wake_seq);
    if (w->flushing || w->flushes != start_flushes) {
      w->wake_handled = wake;
      rc = zb__fail(ZB_ECANCELED, "ring \"%s\": wait interrupted: the "
                    "writer %s (zb_writer_set_flushing)%s", w->name,
                    w->flushing ? "is flushing" : "was set flushing during "
                    "the wait",
                    w->flushing ? ": no reserve waits for room until it is "
                    "set back to false" : "");
      break;
    }
    if (wake != start_wake) {
      w->wake_handled = wake;
      rc = zb__fail(ZB_ECANCELED, "ring \"%s\": wait interrupted", w->name);
      break;
    }
    if (!held && heal_margin(w, now))
      continue;
    /* Time stopped (Ctrl-Z stops zerobuffer's whole job, the reader with
     * it) does not count: at SIGCONT the wait would fail before the
     * reader, continued too, could make room. */
    wait_ms = zb__deadline_look(&deadline, now, ZB_LIVENESS_SLICE_MS);
    if (wait_ms == 0 && held) {
      rc = zb__fail(ZB_ETIMEDOUT,
                    "ring \"%s\" stayed full for %d ms because of frames "
                    "held by its writer: %zu holds (%llu bytes) leave %llu "
                    "bytes before the oldest held frame, the frame needs "
                    "%s; release holds (zb_hold_release)",
                    w->name, timeout_ms, w->nholds,
                    (unsigned long long)w->held_bytes,
                    (unsigned long long)avail,
                    needs_text(needs, sizeof needs, size, needed, tail));
      break;
    }
    if (wait_ms == 0 && w->lone_wrap_tail > 0) {
      /* The frame fitted neither before the end nor at 0 behind a marker
       * in one step (tail + frame > ring): the marker went out alone. */
      rc = zb__fail(ZB_ETIMEDOUT,
                    "ring \"%s\" stayed full for %d ms (%llu bytes free, "
                    "the frame needs %llu): %s frame of %llu bytes (%llu "
                    "with its header) fits neither at %llu of the %llu-byte ring "
                    "(%llu bytes to the end) nor at 0 behind a wrap marker "
                    "(%llu + %llu bytes > %llu), so the marker went out "
                    "alone and the reader has not stepped over it: a reader "
                    "that waits for one sem-w post per frame (the C++ and "
                    "Python peers) never does, else the reader has not "
                    "given the room back; keep 16 + size of every frame within "
                    "half the ring (%llu bytes)",
                    w->name, timeout_ms, (unsigned long long)avail,
                    (unsigned long long)needed,
                    earlier_lone ? "an earlier" : "a",
                    (unsigned long long)w->lone_wrap_size,
                    (unsigned long long)zb__frame_total(w->lone_wrap_size),
                    (unsigned long long)w->lone_wrap_at,
                    (unsigned long long)w->seg.payload_size,
                    (unsigned long long)w->lone_wrap_tail,
                    (unsigned long long)w->lone_wrap_tail,
                    (unsigned long long)zb__frame_total(w->lone_wrap_size),
                    (unsigned long long)w->seg.payload_size,
                    (unsigned long long)(w->seg.payload_size / 2));
      break;
    }
    if (wait_ms == 0) {
      /* Not "the reader is not releasing frames": one frame it keeps
       * blocks the room of every later one it released. */
      rc = zb__fail(ZB_ETIMEDOUT,
                    "ring \"%s\" stayed full for %d ms (%llu bytes free, "
                    "the frame needs %s): the reader has not given the "
                    "room back (it has not read the frames, or keeps one: "
                    "a reader gives room back in ring order, so the oldest "
                    "frame it has not released holds the room of every "
                    "frame after it, released or not)",
                    w->name, timeout_ms, (unsigned long long)avail,
                    needs_text(needs, sizeof needs, size, needed, tail));
      break;
    }
    if (posted_in_vain) {
      /* A sem-r post ended the last wait, yet there is no room: posts no
       * release made (a flood by a hostile or buggy reader) would end every
       * wait at once, a spin until the timeout. Take them all and look
       * again before waiting: a release made meanwhile moved the free bytes
       * before its post, so the look sees it, and one made later posts
       * anew. (A zb_writer_wake's or destroy's post taken here from
       * another waiting thread ends that wait at its slice's end.) */
      zb__sem_take_all(w->sem_r, SEM_R_POSTS_PER_TAKE);
      posted_in_vain = false;
      continue;
    }
    if (held) /* a release posts hold_sem, the reader's releases do not help */
      atomic_fetch_add(&w->hold_waiters, 1);
    before_wait = w->before_wait;
    before_wait_arg = w->before_wait_arg;
    pthread_mutex_unlock(&w->lock);
    if (before_wait != NULL)
      before_wait(before_wait_arg);
    rc = zb__sem_wait_until(held ? &w->hold_sem : w->sem_r,
                            held ? NULL : w->names.sem_r, w->name,
                            now + (uint64_t)wait_ms * 1000000u);
    pthread_mutex_lock(&w->lock);
    if (held)
      atomic_fetch_sub(&w->hold_waiters, 1);
    if (rc < 0 && rc != ZB_ETIMEDOUT)
      break;
    posted_in_vain = rc == 0 && !held;
  }
  atomic_fetch_sub(&w->waiters, 1);
  if (blocked)
    atomic_fetch_sub(&w->hold_blocked, 1);
  if (rc == 0) {
    pthread_mutex_unlock(&w->lock);
    return 0;
  }
  unref_unlock(w);
  return rc;
}

int zb_writer_reserve(zb_writer *w, uint64_t size, zb_reservation *res,
                      int timeout_ms) {
  return reserve(w, size, res, timeout_ms, NULL);
}

int zb_writer_reserve_since(zb_writer *w, uint64_t size, zb_reservation *res,
                            int timeout_ms, uint64_t wakes) {
  return reserve(w, size, res, timeout_ms, &wakes);
}

/* The open slot of a reservation, locked; NULL (unlocked, with the error in
 * *rc) when there is none. An abandoned one (the writer was destroyed) is
 * ended here. */
static zb_slot *open_slot(zb_reservation *res, const char *what, int *rc) {
  zb_writer *w;
  zb_slot *s;
  if (res == NULL) {
    *rc = zb__fail(ZB_EINVAL, "%s: the reservation is NULL", what);
    return NULL;
  }
  if (res->writer == NULL) {
    *rc = zb__fail(ZB_ESTATE, "%s: the reservation is not open", what);
    return NULL;
  }
  w = res->writer;
  pthread_mutex_lock(&w->lock);
  s = slot_find(w, res->id);
  if (s != NULL && s->state == SLOT_OPEN)
    return s;
  memset(res, 0, sizeof *res);
  if (!w->closed) { /* a copy of a reservation that was ended */
    *rc = zb__fail(ZB_ESTATE, "%s: the reservation of ring \"%s\" is not "
                   "open", what, w->name);
    pthread_mutex_unlock(&w->lock);
    return NULL;
  }
  *rc = zb__fail(ZB_ESTATE, "%s: the writer of ring \"%s\" was closed; the "
                 "reservation was dropped", what, w->name);
  unref_unlock(w);
  return NULL;
}

/* A commit refused because the ring is no longer this writer's to add to
 * (its reader gone, or another process took it): the frames committed
 * behind it are dropped too, as zb_writer_destroy drops them, and nothing
 * is published (not even a cancelled slot's wrap). Reservations still open
 * stay so: their commits fail the same way. Their holds stay unpublished. */
static void end_refused(zb_writer *w, zb_slot *s, zb_reservation *res) {
  size_t i;
  s->state = SLOT_CANCELLED;
  for (i = 0; i < w->count; i++)
    if (slot_at(w, i)->state == SLOT_COMMITTED)
      slot_at(w, i)->state = SLOT_CANCELLED;
  drop_cancelled_tail(w);
  if (w->count == 0) { /* as publish_ready leaves an empty queue */
    w->alloc_pos = w->pub_pos;
    w->booked = 0;
  }
  memset(res, 0, sizeof *res);
  unref_unlock(w);
}

/* Cancels an open slot, ends its reservation and drops the reference it
 * held, with the lock. Into a ring refused to this writer nothing is
 * published (the frames committed behind it are dropped, as at a refused
 * commit). */
static void end_cancelled(zb_writer *w, zb_slot *s, zb_reservation *res) {
  if (refused(w)) {
    end_refused(w, s, res);
    return;
  }
  s->state = SLOT_CANCELLED;
  drop_cancelled_tail(w);
  publish_ready(w);
  memset(res, 0, sizeof *res);
  unref_unlock(w);
}

static int commit(zb_reservation *res, uint64_t size, zb_hold *hold) {
  zb_writer *w;
  zb_slot *s;
  zb_held *h;
  int rc;

  if (hold != NULL)
    memset(hold, 0, sizeof *hold);
  if ((s = open_slot(res, hold ? "commit_hold" : "commit", &rc)) == NULL)
    return rc;
  w = res->writer;
  if (size == 0 || size > s->reserved) {
    rc = zb__fail(ZB_EINVAL,
                  "ring \"%s\": commit of %llu bytes, the reservation holds "
                  "1..%llu",
                  w->name, (unsigned long long)size,
                  (unsigned long long)s->reserved);
    pthread_mutex_unlock(&w->lock);
    return rc;
  }
  /* The reader may have closed since the reserve (a pool reserves the next
   * frame ahead of time): such a frame is not written, say so now rather
   * than at the next reserve. The same check as the reserve's, which
   * refuses a forked copy before all else. */
  if ((forked_copy(w) && (rc = ring_taken(w)) < 0) ||
      (rc = reader_gone(w, zb__now_ns())) < 0 || (rc = ring_taken(w)) < 0) {
    end_refused(w, s, res);
    return rc;
  }
  /* sem-w written over by another process: the frame's post would be left
   * out (glibc would abort us), and readers that wait for it would never
   * see the frame. Refused, and the frame not published, like the reader's
   * wait on it (docs/GUARANTEES.md, "Trust"). */
  if ((rc = zb__sem_check(w->sem_w, w->names.sem_w)) < 0) {
    end_cancelled(w, s, res);
    return rc;
  }
  if (hold != NULL && w->nholds == w->holds_cap) {
    size_t cap = w->holds_cap ? w->holds_cap * 2 : 8;
    zb_held *grown = realloc(w->holds, cap * sizeof *grown);
    if (grown == NULL) {
      rc = zb__fail(ZB_ENOMEM, "ring \"%s\": out of memory tracking %zu "
                    "holds", w->name, w->nholds);
      pthread_mutex_unlock(&w->lock);
      return rc;
    }
    w->holds = grown;
    w->holds_cap = cap;
  }
  s->committed = size;
  s->state = SLOT_COMMITTED;
  if (hold != NULL) {
    h = &w->holds[w->nholds++];
    *h = (zb_held){w->next_hold_id++, 0, zb__frame_total(size), false};
    s->hold_id = h->id;
    w->held_bytes += h->total;
    *hold = (zb_hold){NULL, size, w, h->id};
  }
  if (s == slot_at(w, w->count - 1)) { /* shrunk at the end: no gap */
    w->alloc_pos -= s->reserved - size;
    w->booked -= s->reserved - size;
    s->booked -= s->reserved - size;
  }
  publish_ready(w);
  memset(res, 0, sizeof *res);
  if (hold != NULL) { /* the reservation's writer reference is the hold's */
    h = held_find(w, hold->id);
    if (h->published)
      hold->data = w->seg.payload + h->pos + ZB_FRAME_HEADER_SIZE;
    pthread_mutex_unlock(&w->lock);
    return 0;
  }
  unref_unlock(w);
  return 0;
}

int zb_reservation_commit(zb_reservation *res, uint64_t size) {
  return commit(res, size, NULL);
}

int zb_reservation_commit_hold(zb_reservation *res, uint64_t size,
                               zb_hold *hold) {
  if (hold == NULL)
    return zb__fail(ZB_EINVAL, "zb_reservation_commit_hold: hold is NULL");
  return commit(res, size, hold);
}

const uint8_t *zb_hold_data(zb_hold *hold) {
  zb_writer *w;
  zb_held *h;
  if (hold == NULL || hold->writer == NULL)
    return NULL;
  if (hold->data != NULL)
    return hold->data;
  w = hold->writer;
  pthread_mutex_lock(&w->lock);
  h = held_find(w, hold->id);
  if (h != NULL && h->published)
    hold->data = w->seg.payload + h->pos + ZB_FRAME_HEADER_SIZE;
  pthread_mutex_unlock(&w->lock);
  return hold->data;
}

void zb_hold_release(zb_hold *hold) {
  zb_writer *w;
  zb_held *h;
  if (hold == NULL || hold->writer == NULL)
    return;
  w = hold->writer;
  pthread_mutex_lock(&w->lock);
  h = held_find(w, hold->id);
  if (h == NULL) { /* a copy of a hold released already */
    pthread_mutex_unlock(&w->lock);
    memset(hold, 0, sizeof *hold);
    return;
  }
  w->held_bytes -= h->total;
  *h = w->holds[--w->nholds];
  memset(hold, 0, sizeof *hold);
  wake_hold_waiters(w);
  unref_unlock(w);
}

/* Whether a frame of size bytes would wait for holds now (locked): try_place's
 * test without placing it or putting free bytes right, with the room the
 * reader leaves as try_place takes it (reader_room): free bytes less the
 * reservations alone said holds blocked a frame that the bytes the reader
 * has not read block anyway. */
static bool holds_block(zb_writer *w, uint64_t size) {
  const uint64_t ring = w->seg.payload_size, total = zb__frame_total(size);
  uint64_t free_bytes = zb__load_acquire(&w->seg.oieb->payload_free_bytes);
  uint64_t read_pos, avail, room = hold_room(w);
  zb_placement p;
  if (!follow_reader(w, &read_pos) || total > ring)
    return false; /* a corrupted segment: the reserve says so */
  if (free_bytes > ring && w->reader_is_peer)
    free_bytes = free_set_back(w);
  if (free_bytes > ring || free_bytes < w->booked)
    return false;
  avail = reader_room(w, free_bytes);
  if (room >= avail)
    return false;
  p = zb__place_frame(ring, w->alloc_pos, total, room,
                      total >= w->wrap_early_from);
  return room < p.needed || (p.wrap_first && room - p.needed < total);
}

int zb_writer_holds(zb_writer *w, uint64_t size, zb_writer_holds_info *info) {
  uint64_t room;
  if (w == NULL || info == NULL)
    return zb__fail(ZB_EINVAL, "zb_writer_holds: arguments are required");
  pthread_mutex_lock(&w->lock);
  room = hold_room(w);
  info->holds = w->nholds;
  info->bytes = w->held_bytes;
  info->room = room == UINT64_MAX ? w->seg.payload_size : room;
  info->blocked = (uint64_t)atomic_load(&w->hold_blocked);
  info->blocks_size = size > 0 && w->nholds > 0 && holds_block(w, size);
  pthread_mutex_unlock(&w->lock);
  return 0;
}

uint64_t zb_writer_open_reservations(zb_writer *w) {
  uint64_t open = 0;
  size_t i;
  if (w == NULL)
    return 0;
  pthread_mutex_lock(&w->lock);
  for (i = 0; i < w->count; i++)
    open += slot_at(w, i)->state == SLOT_OPEN;
  pthread_mutex_unlock(&w->lock);
  return open;
}

void zb_reservation_cancel(zb_reservation *res) {
  zb_slot *s;
  int rc;

  if ((s = open_slot(res, "cancel", &rc)) == NULL)
    return;
  end_cancelled(res->writer, s, res);
}

int zb_writer_write(zb_writer *w, const void *data, uint64_t size,
                    int timeout_ms) {
  zb_reservation res;
  int rc;
  if (data == NULL && size > 0)
    return zb__fail(ZB_EINVAL, "zb_writer_write: data is NULL");
  if (w != NULL &&
      (rc = zb__check_timeout("zb_writer_write", w->name, timeout_ms)) < 0)
    return rc;
  rc = zb_writer_reserve(w, size, &res, timeout_ms);
  if (rc < 0)
    return rc;
  zb_copy(res.data, data, size);
  return zb_reservation_commit(&res, size);
}

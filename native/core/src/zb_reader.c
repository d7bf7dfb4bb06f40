/* zb_reader.c — the reading side of a ring: create, wait, hand out frames
 * in place as leases, release them (bytes go back in ring order), close.
 *
 * When is the entry at our position published? (docs/PROTOCOL.md §5, "How our
 * reader knows a frame is there".) The writer's position decides: every
 * writer (C++, Python, ours) moves payload_write_pos only after the bytes
 * before it are written, so anything between our position and the writer's
 * is there to read. The counts cannot decide: the Python writer counts a
 * wrap marker it never wrote, the C++ writer does not, and either count
 * comes before or after the position depending on the writer. Only when
 * the writer's position equals ours is the ring either empty or full; then
 * a sem-w post that no frame has used up yet (every writer posts once per
 * frame, after everything else), with more entries written than read and
 * no bytes held by us (a lap would cover them), says full. Sequence
 * numbers check each frame once it is read.
 *
 * The reader is reference counted: the handle and every frame handed out
 * (a lease) hold it. zb_reader_destroy() unlinks the ring at once; the
 * mapping, and so every frame still held, stays valid until the last lease
 * is released.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zb_atomic.h"
#include "zb_error.h"
#include "zb_oieb.h"
#include "zb_platform.h"
#include "zb_ring.h"
#include "zb_test_hooks.h"

/* Bytes read from the ring but not yet given back, in ring order: frames
 * (given back when released) and skipped tails (given back once everything
 * before them is). */
typedef struct zb_pending {
  uint64_t bytes;
  uint64_t data_pos; /* frames: where the payload starts (for poisoning) */
  bool released;
} zb_pending;

struct zb_reader {
  char name[ZB_NAME_MAX + 1];
  uint64_t id; /* 1, 2, ... per process, never reused: keys no_frame_ready */
  uint64_t pid; /* the creating process's: a child of fork() has a copy */
  zb_names names;
  zb_segment seg;
  sem_t *sem_w;
  sem_t *sem_r;
  int lock_fd;

  /* sem-w posts: each writer posts once per frame; zb_reader_wake posts
   * too. Posts taken are told apart by count, not by order: a wake-up
   * taken for a frame post only delays the frame's turn to the next take. */
  atomic_uint wakes_requested;    /* zb_reader_wake calls */
  unsigned wakes_taken;           /* of their posts, taken */
  unsigned wakes_reported;        /* of them, answered with ZB_ECANCELED */
  uint64_t frame_posts;           /* posts taken that were not wake-ups */
  bool armed;                     /* counted as a sem-w sleeper (zb_reader_arm) */
  uint64_t last_probe_ns;         /* zb_reader_poll: its last liveness probe */
  uint64_t frames_taken;          /* frames handed out */
  uint64_t largest_taken;         /* payload bytes of the largest of them
                                     (pending_lock: zb_reader_room may run
                                     on another thread) */

  atomic_int refs;                /* the handle + one per frame held */
  bool poison_released;           /* options, fixed at create */
  atomic_bool in_place_answers;   /* the metadata declares "in_place": the
                                     writer may read released frames'
                                     bytes as answers (PROTOCOL.md §9.4),
                                     so they are not poisoned */
  zb_range *range;                /* keep_address_range: its record */
  atomic_bool metadata_given;     /* zb_reader_metadata gave a pointer
                                     (from any thread) */

  /* A new writer restarts at 1: sequence 1 is accepted at any point (a
   * writer never sends it mid-stream), since a slow reader may meet the next
   * writer's first frame while writer_pid already names yet another one.
   * Not in a full lap (check_lap): there only with writer_changed. */
  uint64_t expected_sequence;
  /* Where we read next: payload_read_pos is ours alone (no peer writes it,
   * docs/PROTOCOL.md §2.1), so the shared copy is only published, never
   * read back: another process that rewinds it would have us hand out
   * frames again (a replayed frame 1 passing for a new writer's). A shared
   * value that is not this one is ZB_EPROTO (take_published). Atomic:
   * zb_reader_unread_frames may run on another thread. */
  _Atomic uint64_t read_pos;
  bool writer_changed;            /* writer_pid seen to change, or the
                                     stream ended, and no frame 1 taken
                                     since (the old writer's frames may
                                     still be read after the change) */
  /* The writer last seen to come (writer_pid changed to it): older
   * writers' frames may still be unread then. Its first frame is the last
   * frame 1 unread then, or, if it had written none, the frame at the
   * write position seen then. starts_unread: frames 1 unread then and not
   * taken since; a frame 1 taken while more are left was an older writer's
   * and keeps writer_changed. first_pos: that write position; first_at:
   * whether the reader has still to come to it (a whole lap round when the
   * ring was full then), stands there (no frame taken since), or neither.
   * A lap whose first entry stands there may start with that writer's 1
   * (first_lap_here). */
  uint64_t starts_unread;
  uint64_t first_pos;
  enum { FIRST_NONE, FIRST_AHEAD, FIRST_HERE } first_at;
  zb_process writer;              /* the writer_pid last seen, as first seen */
  uint64_t metadata_seen;         /* metadata_written_bytes last seen */
  uint64_t metadata_needed;       /* a writer's note that its metadata
                                     needed a block this large, or 0 */
  bool stream_active;             /* a writer or frame seen since last end */
  uint64_t reported_dead_writer;  /* pid whose death was already reported */
  void (*between_loads)(void *);  /* zb__reader_between_loads */
  void *between_loads_arg;
  void (*before_room_swap)(void *); /* zb__reader_before_room_swap */
  void *before_room_swap_arg;

  zb_idle_watch idle;             /* repair_lost_room's */

  pthread_mutex_t pending_lock;   /* release() may come from any thread */
  bool closed;                    /* destroyed: nothing goes back any more */
  atomic_bool unlinked;           /* names removed (zb_reader_unlink or destroy) */
  atomic_bool room_unposted;      /* a give-back's sem-r post was left out */
  zb_pending *pending;            /* circular, capacity pending_cap */
  size_t pending_cap, pending_head, pending_count;
  uint64_t head_ticket;           /* ticket of pending[pending_head] */
  uint64_t held;                  /* frames handed out, not released */
  uint64_t unreturned;            /* bytes in `pending` */
};

static void reader_free(zb_reader *r);

/* Whether the caller is a child of fork() with a copy of the handle: the
 * ring, its reader_pid, its names and its positions are the parent's. */
static bool forked_copy(const zb_reader *r) { return zb__self_pid() != r->pid; }

static int refuse_forked_copy(const zb_reader *r, const char *call) {
  return zb__fail(ZB_ESTATE,
                  "%s on ring \"%s\": this reader was created by process "
                  "%llu, not this one (%llu, a child of fork()): here it may "
                  "only be destroyed",
                  call, r->name, (unsigned long long)r->pid,
                  (unsigned long long)zb__self_pid());
}

static atomic_uint_fast64_t readers_created;

static void reader_unref(zb_reader *r) {
  if (atomic_fetch_sub(&r->refs, 1) == 1)
    reader_free(r);
}

/* ------------------------------------------------------ pending (locked) */

static int pending_push(zb_reader *r, uint64_t bytes, uint64_t data_pos,
                        bool released, uint64_t *ticket) {
  if (r->pending_count == r->pending_cap) {
    size_t cap = r->pending_cap ? r->pending_cap * 2 : 16, i;
    zb_pending *grown = malloc(cap * sizeof *grown);
    if (grown == NULL)
      return zb__fail(ZB_ENOMEM, "ring \"%s\": out of memory tracking %zu held frames",
                      r->name, r->pending_count);
    for (i = 0; i < r->pending_count; i++)
      grown[i] = r->pending[(r->pending_head + i) % r->pending_cap];
    free(r->pending);
    r->pending = grown;
    r->pending_cap = cap;
    r->pending_head = 0;
  }
  r->pending[(r->pending_head + r->pending_count) % r->pending_cap] =
      (zb_pending){bytes, data_pos, released};
  r->unreturned += bytes;
  if (ticket != NULL)
    *ticket = r->head_ticket + r->pending_count;
  r->pending_count++;
  return 0;
}

/* Gives back every released entry at the head of the queue, then posts
 * sem-r once: a writer waiting for room wakes once and finds all of it
 * (every writer looks at the free bytes again after a post, PROTOCOL.md
 * section 3), instead of waking per frame and finding one frame's room. */
static void pending_drain(zb_reader *r) {
  uint64_t bytes = 0;
  while (r->pending_count > 0 && r->pending[r->pending_head].released) {
    bytes += r->pending[r->pending_head].bytes;
    r->pending_head = (r->pending_head + 1) % r->pending_cap;
    r->pending_count--;
    r->head_ticket++;
  }
  if (bytes == 0)
    return;
  zb__add_release(&r->seg.oieb->payload_free_bytes, bytes);
  r->unreturned -= bytes;
  if (!zb__sem_post(r->sem_r))
    atomic_store(&r->room_unposted, true); /* reported by the next read */
}

/* The reader moved to pos, past a frame (took_frame) or a wrap. */
static void note_move(zb_reader *r, uint64_t pos, bool took_frame) {
  if (took_frame && r->first_at == FIRST_HERE)
    r->first_at = FIRST_NONE;
  else if (r->first_at == FIRST_AHEAD && pos == r->first_pos)
    r->first_at = FIRST_HERE;
}

/* Steps from pos over a tail skipped at a wrap (a marker, counted, or a
 * tail too short for one) to 0; its bytes go back as soon as the frames
 * before it have. Moved first, then given back: once back, a writer may
 * fill them at once, and a health snapshot that loaded our old position
 * must find that we moved (check_unread), not walk its frames as ours. */
static int skip_tail(zb_reader *r, uint64_t pos, bool marker) {
  zb_oieb *oieb = r->seg.oieb;
  const uint64_t ring = r->seg.payload_size;
  uint64_t read_count = zb__load_relaxed(&oieb->payload_read_count);
  int rc = 0;
  pthread_mutex_lock(&r->pending_lock);
  if (ring > pos)
    rc = pending_push(r, ring - pos, 0, true, NULL);
  if (rc == 0) {
    atomic_store_explicit(&r->read_pos, 0, memory_order_relaxed);
    zb__store_release(&oieb->payload_read_pos, 0);
    if (marker)
      zb__store_release(&oieb->payload_read_count, read_count + 1);
    pending_drain(r);
    note_move(r, 0, false);
  }
  pthread_mutex_unlock(&r->pending_lock);
  return rc;
}

/* Marks a held frame of r released (poisoned if asked); locked.
 * ZB_EINVAL when it is not held. */
static int mark_released(zb_reader *r, const zb_frame *frame) {
  zb_pending *p = NULL;
  if (frame->ticket >= r->head_ticket &&
      frame->ticket - r->head_ticket < r->pending_count)
    p = &r->pending[(r->pending_head + (frame->ticket - r->head_ticket)) %
                    r->pending_cap];
  if (p == NULL || p->released)
    return zb__fail(ZB_EINVAL,
                    "ring \"%s\": frame %llu (ticket %llu) is not held: "
                    "released twice?",
                    r->name, (unsigned long long)frame->sequence,
                    (unsigned long long)frame->ticket);
  if (r->poison_released && !r->closed && !forked_copy(r) &&
      !atomic_load_explicit(&r->in_place_answers, memory_order_relaxed))
    memset(r->seg.payload + p->data_pos, ZB_POISON_BYTE,
           p->bytes - ZB_FRAME_HEADER_SIZE);
  p->released = true;
  r->held--;
  return 0;
}

int zb_frame_release(zb_frame *frame) {
  return zb_frames_release(frame, 1);
}

int zb_frames_release(zb_frame *frames, size_t count) {
  zb_reader *r = NULL;
  size_t i, released = 0;
  int rc = 0, one;
  for (i = 0; frames != NULL && i < count && r == NULL; i++)
    r = frames[i].reader;
  if (r == NULL && count == 0)
    return 0;
  if (r == NULL)
    return zb__fail(ZB_EINVAL, "zb_frame_release: the frame is not held "
                    "(released already?)");
  pthread_mutex_lock(&r->pending_lock);
  for (i = 0; i < count; i++) {
    if (frames[i].reader == r)
      one = mark_released(r, &frames[i]);
    else
      one = zb__fail(ZB_EINVAL, "ring \"%s\": zb_frames_release: frame "
                     "%llu is %s", r->name,
                     (unsigned long long)frames[i].sequence,
                     frames[i].reader == NULL ? "not held (released already?)"
                                              : "another reader's");
    if (one == 0) {
      memset(&frames[i], 0, sizeof frames[i]);
      released++;
    } else if (rc == 0) {
      rc = one;
    }
  }
  if (!r->closed && !forked_copy(r)) /* the parent still holds the bytes */
    pending_drain(r);
  pthread_mutex_unlock(&r->pending_lock);
  while (released-- > 0)
    reader_unref(r); /* the last may free r */
  return rc;
}

uint64_t zb_reader_held_frames(zb_reader *r) {
  uint64_t held;
  if (r == NULL)
    return 0;
  pthread_mutex_lock(&r->pending_lock);
  held = r->held;
  pthread_mutex_unlock(&r->pending_lock);
  return held;
}

int zb_reader_pin_range(zb_reader *r, zb_range **range) {
  if (range == NULL)
    return zb__fail(ZB_EINVAL, "zb_reader_pin_range: range is NULL");
  *range = NULL;
  if (r == NULL)
    return zb__fail(ZB_EINVAL, "zb_reader_pin_range: reader is NULL");
  if (r->range == NULL)
    return zb__fail(ZB_EINVAL, "ring \"%s\": zb_reader_pin_range: the "
                    "reader was created without keep_address_range", r->name);
  zb__range_pin(r->range);
  *range = r->range;
  return 0;
}

/* ----------------------------------------------------------------- create */

static void reader_free(zb_reader *r) {
  if (r->sem_w != NULL)
    sem_close(r->sem_w);
  if (r->sem_r != NULL)
    sem_close(r->sem_r);
  /* Only a mapping a pointer was handed out of can have a stale reader. */
  if (r->range != NULL &&
      (r->frames_taken > 0 || atomic_load(&r->metadata_given) ||
       zb__range_pinned(r->range)))
    zb__segment_retire(&r->seg, r->range);
  zb__segment_close(&r->seg);
  zb__range_disown(r->range);
  zb__reap_retired();
  if (r->lock_fd >= 0)
    close(r->lock_fd);
  pthread_mutex_destroy(&r->pending_lock);
  free(r->pending);
  free(r);
}

/* Our lock is held, so what is left under this name is a dead reader's
 * leftovers, unless a reader that does not use our lock directory is alive
 * in it. It is removed only when it is provably a stale ring of ours
 * (zb__check_leftovers): never a stranger's file. */
static int remove_stale_segment(zb_reader *r) {
  uint64_t pid, writer_pid;
  int rc;

  zb__note_ring_visit();
  if ((rc = zb__check_leftovers(r->name, &r->names, r->lock_fd, false, &pid,
                                 &writer_pid)) < 0)
    return rc;
  if (pid != 0 && pid != zb__self_pid() && zb__lock_owner_alive(r->lock_fd, pid))
    return zb__fail(ZB_EEXIST,
                    "ring \"%s\" exists and its reader (pid %llu) is alive",
                    r->name, (unsigned long long)pid);
  zb__unlink_ring_objects(&r->names);
  return 0;
}

static int check_sizes(const char *name, uint64_t metadata_size,
                       uint64_t payload_size) {
  if (payload_size == 0)
    return zb__fail(ZB_ESIZE,
                    "ring \"%s\": payload size is 0; give the ring room for "
                    "a few frames (each frame takes 16 bytes + its size)",
                    name);
  if (payload_size > ZB_MAX_PAYLOAD_SIZE)
    return zb__fail(ZB_ESIZE,
                    "ring \"%s\": payload size %llu is over the %llu-byte limit",
                    name, (unsigned long long)payload_size,
                    (unsigned long long)ZB_MAX_PAYLOAD_SIZE);
  if (metadata_size > ZB_MAX_METADATA_SIZE)
    return zb__fail(ZB_ESIZE,
                    "ring \"%s\": metadata size %llu is over the %llu-byte limit",
                    name, (unsigned long long)metadata_size,
                    (unsigned long long)ZB_MAX_METADATA_SIZE);
  return 0;
}

int zb_reader_create(zb_reader **out, const char *name, uint64_t metadata_size,
                     uint64_t payload_size, const zb_reader_options *opts) {
  unsigned mode = opts != NULL && opts->mode != 0 ? opts->mode : 0600;
  uint64_t meta, payload;
  zb_oieb *oieb;
  zb_reader *r;
  int rc;

  if (out == NULL)
    return zb__fail(ZB_EINVAL, "zb_reader_create: out is NULL");
  *out = NULL;
  if ((rc = zb_validate_name(name)) < 0 ||
      (rc = check_sizes(name, metadata_size, payload_size)) < 0)
    return rc;
  if (mode & ~0777u)
    return zb__fail(ZB_EINVAL, "ring \"%s\": mode %o has bits other than rwx",
                    name, mode);
  /* The owner's sweeps tell a live ring by opening its lock file, and its
   * writers open the segment read-write */
  if ((mode & 0600u) != 0600u)
    return zb__fail(ZB_EINVAL,
                    "ring \"%s\": mode %04o does not let the owner read and "
                    "write (the mode option needs 0600 in it, e.g. 0600, "
                    "0660 or 0666)",
                    name, mode);
  meta = zb__align64(metadata_size);
  payload = zb__align64(payload_size);

  zb__reap_retired();
  r = calloc(1, sizeof *r);
  if (r == NULL)
    return zb__fail(ZB_ENOMEM, "ring \"%s\": out of memory", name);
  r->lock_fd = -1;
  r->seg.fd = -1;
  r->expected_sequence = 1;
  atomic_init(&r->refs, 1);
  atomic_init(&r->unlinked, false);
  atomic_init(&r->metadata_given, false);
  atomic_init(&r->room_unposted, false);
  atomic_init(&r->in_place_answers, false);
  atomic_init(&r->read_pos, 0);
  r->poison_released = opts != NULL && opts->poison_released;
  pthread_mutex_init(&r->pending_lock, NULL);
  strcpy(r->name, name);
  r->id = atomic_fetch_add(&readers_created, 1) + 1;
  zb__names(name, &r->names);

  if (opts != NULL && opts->keep_address_range &&
      (r->range = zb__range_new()) == NULL) {
    rc = zb__fail(ZB_ENOMEM, "ring \"%s\": out of memory", name);
    goto fail;
  }
  if ((rc = zb__lock_acquire(name, &r->names, mode, &r->lock_fd)) < 0)
    goto fail;
  zb__sweep_stale_rings();
  if ((rc = remove_stale_segment(r)) < 0 ||
      (rc = zb__lock_record_owner(r->lock_fd, name, r->names.lock)) < 0)
    goto fail_unlock;
  if ((rc = zb__segment_create(&r->seg, name, &r->names,
                               ZB_OIEB_SIZE + meta + payload, mode)) < 0)
    goto fail_unlock;
  /* Semaphores before reader_pid: a writer that sees a live reader finds
   * everything in place. */
  if ((rc = zb__sem_create(r->names.sem_w, mode, &r->sem_w)) < 0 ||
      (rc = zb__sem_create(r->names.sem_r, mode, &r->sem_r)) < 0)
    goto fail_unlink;

  oieb = (zb_oieb *)r->seg.base;
  oieb->version[0] = ZB_VERSION_MAJOR;
  zb__store_release(&oieb->metadata_size, meta);
  zb__store_release(&oieb->metadata_free_bytes, meta);
  zb__store_release(&oieb->payload_size, payload);
  zb__store_release(&oieb->payload_free_bytes, payload);
  /* oieb_size last: a writer that opens the segment now sees either a
   * zeroed header ("still being created") or a complete one. */
  atomic_thread_fence(memory_order_release);
  oieb->oieb_size = ZB_OIEB_SIZE;
  if ((rc = zb__segment_validate(&r->seg, name, NULL)) < 0)
    goto fail_unlink;
  r->pid = zb__self_pid();
  zb__store_release(&oieb->reader_pid, r->pid);
  *out = r;
  return 0;

fail_unlink:
  zb__unlink_ring_objects(&r->names);
fail_unlock:
  unlink(r->names.lock);
fail:
  reader_free(r);
  return rc;
}

void zb_reader_destroy(zb_reader *r) {
  if (r == NULL)
    return;
  pthread_mutex_lock(&r->pending_lock);
  r->closed = true;
  pthread_mutex_unlock(&r->pending_lock);
  /* A forked copy only lets go of its own mapping, semaphore handles and
   * lock fd (the parent's fd keeps the flock): the ring is the parent's. */
  if (!forked_copy(r)) {
    zb_reader_disarm(r);
    zb__store_release(&r->seg.oieb->reader_pid, 0);
    zb__sem_post(r->sem_r); /* a writer waiting for room sees "reader gone" now */
    zb_reader_unlink(r); /* the lock file before the flock goes with the fd */
  }
  close(r->lock_fd);
  r->lock_fd = -1;
  reader_unref(r);
}

/* Once: after it, the names may be a newer ring's (another reader made
 * one under the same name), which a second unlink would remove. */
void zb_reader_unlink(zb_reader *r) {
  if (r == NULL || forked_copy(r) || atomic_exchange(&r->unlinked, true))
    return;
  zb__unlink_ring_objects(&r->names);
  unlink(r->names.lock);
}

const char *zb_reader_name(const zb_reader *r) {
  return r != NULL ? r->name : NULL;
}

uint64_t zb_reader_max_frame_size(const zb_reader *r) {
  return r != NULL ? r->seg.payload_size - ZB_FRAME_HEADER_SIZE : 0;
}

int zb_reader_metadata(zb_reader *r, const uint8_t **data, uint64_t *size) {
  if (r == NULL || data == NULL || size == NULL)
    return zb__fail(ZB_EINVAL, "zb_reader_metadata: arguments are required");
  atomic_store(&r->metadata_given, true);
  return zb__segment_metadata(&r->seg, r->name, data, size);
}

int zb_reader_room(zb_reader *r, zb_reader_room_info *room) {
  uint64_t write_pos;
  if (r == NULL || room == NULL)
    return zb__fail(ZB_EINVAL, "zb_reader_room: arguments are required");
  room->size = r->seg.payload_size;
  pthread_mutex_lock(&r->pending_lock);
  room->held = r->unreturned;
  room->largest = r->largest_taken;
  room->free = zb__load_acquire(&r->seg.oieb->payload_free_bytes);
  pthread_mutex_unlock(&r->pending_lock);
  if (room->free > room->size)
    return zb__fail(ZB_EPROTO, "ring \"%s\": %llu free bytes in a %llu-byte "
                    "ring (corrupted segment)", r->name,
                    (unsigned long long)room->free,
                    (unsigned long long)room->size);
  room->unread = room->size - room->free > room->held
                     ? room->size - room->free - room->held
                     : 0;
  write_pos = zb__load_acquire(&r->seg.oieb->payload_write_pos);
  if (write_pos > room->size)
    return zb__fail(ZB_EPROTO, "ring \"%s\": write position %llu is past "
                    "the %llu-byte ring (corrupted segment)", r->name,
                    (unsigned long long)write_pos,
                    (unsigned long long)room->size);
  /* Placed the way the writer places frames, from the position it
   * published: only a writer that is filling a reservation is further on,
   * and that one is not waiting for room. */
  room->fits_largest =
      room->largest == 0 ||
      zb__place_frame(room->size, write_pos, zb__frame_total(room->largest),
                      room->free, false)
              .needed <= room->free;
  return 0;
}

int zb_reader_held_bytes(zb_reader *r, uint64_t *held, uint64_t *size) {
  if (r == NULL || held == NULL || size == NULL)
    return zb__fail(ZB_EINVAL, "zb_reader_held_bytes: arguments are required");
  *size = r->seg.payload_size;
  pthread_mutex_lock(&r->pending_lock);
  *held = r->unreturned;
  pthread_mutex_unlock(&r->pending_lock);
  return 0;
}

int zb_reader_health(zb_reader *r, zb_health *health) {
  int rc;
  if (r == NULL || health == NULL)
    return zb__fail(ZB_EINVAL, "zb_reader_health: arguments are required");
  /* Locked: the backlog walk reads frame headers where its snapshot of the
   * counters says they are; when the writer moved meanwhile that may be
   * inside a held frame, which a release on another thread poisons
   * (ThreadSanitizer's report; test_threads.c). Releases poison under
   * this lock. */
  pthread_mutex_lock(&r->pending_lock);
  rc = zb__segment_health(&r->seg, r->name, health, (int64_t)r->unreturned);
  pthread_mutex_unlock(&r->pending_lock);
  return rc;
}

/* From where we read next to where the writer has published, entry by
 * entry as take_entry steps (never by the counts: a Python writer's
 * phantom count would shift them): the frames, and those of them that
 * start a writer's stream. What lies there is published and not given
 * back, so no writer changes it. Equal positions: nothing unread, or,
 * with lap (a full lap claimed, lap_claimed), the whole ring round.
 * Whether the walk came to write_pos, entry by entry. */
static bool walk_unread(zb_reader *r, uint64_t write_pos, bool lap,
                        uint64_t *frames, uint64_t *starts) {
  const uint64_t ring = r->seg.payload_size;
  uint64_t pos, steps;
  *frames = *starts = 0;
  pos = atomic_load_explicit(&r->read_pos, memory_order_relaxed);
  if (write_pos > ring)
    return false;
  for (steps = ring / ZB_FRAME_HEADER_SIZE + 2;
       (pos != write_pos || lap) && steps > 0; steps--, lap = false) {
    const zb_entry e = zb__entry_at(r->seg.payload, ring, pos, write_pos);
    if (e.problem != ZB_ENTRY_OK)
      break; /* not an entry take_entry would take: stop counting */
    if (e.kind == ZB_ENTRY_FRAME) {
      (*frames)++;
      if (e.sequence == 1)
        (*starts)++;
    }
    pos = e.next;
  }
  return !lap && pos == write_pos;
}

int zb_reader_unread_stream_starts(zb_reader *r, uint64_t *count) {
  uint64_t frames;
  if (r == NULL || count == NULL)
    return zb__fail(ZB_EINVAL,
                    "zb_reader_unread_stream_starts: arguments are required");
  walk_unread(r, zb__load_acquire(&r->seg.oieb->payload_write_pos), false,
              &frames, count);
  return 0;
}

int zb_reader_unread_frames(zb_reader *r, uint64_t *count) {
  uint64_t starts;
  if (r == NULL || count == NULL)
    return zb__fail(ZB_EINVAL,
                    "zb_reader_unread_frames: arguments are required");
  walk_unread(r, zb__load_acquire(&r->seg.oieb->payload_write_pos), false,
              count, &starts);
  return 0;
}

void zb_reader_wake(zb_reader *r) {
  if (r == NULL || forked_copy(r)) /* the waits are the parent's */
    return;
  atomic_fetch_add(&r->wakes_requested, 1);
  zb__sem_post(r->sem_w);
}

/* ------------------------------------------------------------------- read */

/* metadata: metadata_written_bytes as just loaded. Metadata that appeared
 * since the last look is a writer come (maybe gone again), or its note. */
static void see_metadata(zb_reader *r, uint64_t metadata) {
  const uint8_t *data;
  uint64_t size;
  if (metadata == r->metadata_seen)
    return;
  r->metadata_seen = metadata;
  r->stream_active = true;
  if (zb__segment_metadata_quiet(&r->seg, &data, &size) < 0)
    return;
  r->metadata_needed = (uint64_t)zb__metadata_needed(data, size);
  /* Metadata is written once per ring: a declaration stays. Seen before
   * the writer's first frame is taken, so before any of them is released. */
  if (zb_metadata_in_place(data, size) > 0)
    atomic_store(&r->in_place_answers, true);
}

static bool lap_claimed(zb_reader *r);

/* writer_pid changed to a writer, just loaded: where its first frame is
 * (the fields after writer_changed). The write position loaded after the
 * pid: a writer starts where the one before it stopped. Equal positions
 * are asked what rule 3 asks (lap_claimed): a full ring holds a whole lap
 * of unread frames, and the new writer's first frame comes after it. A
 * write position that moved since it was loaded had room: the posts and
 * counts lap_claimed saw were the new writer's frames committed meanwhile,
 * no lap (walked round, stale bytes after them would be counted as
 * unread frames 1, keeping writer_changed for the whole stream). */
static void note_new_writer(zb_reader *r) {
  const uint64_t write_pos = zb__load_acquire(&r->seg.oieb->payload_write_pos);
  const bool level =
      write_pos == atomic_load_explicit(&r->read_pos, memory_order_relaxed);
  bool lap = level && lap_claimed(r);
  uint64_t walk_to = write_pos, frames;
  if (lap && (walk_to = zb__load_acquire(
                  &r->seg.oieb->payload_write_pos)) != write_pos)
    lap = false;
  walk_unread(r, walk_to, lap, &frames, &r->starts_unread);
  r->first_pos = write_pos;
  r->first_at = level && !lap ? FIRST_HERE : FIRST_AHEAD;
}

/* pid: writer_pid, loaded after metadata (metadata_written_bytes). A writer
 * is seen attached, or by the metadata that appeared since the last look:
 * every writer claims writer_pid before it writes the metadata, so one that
 * came and went between two looks, leaving no frame, has still been there
 * (docs/PROTOCOL.md §4, "End of stream"). */
static void track_writer(zb_reader *r, uint64_t metadata, uint64_t pid) {
  if (pid != r->writer.pid) {
    r->writer.pid = pid;
    r->writer_changed = true;
    if (!zb__process_probe(pid, &r->writer.start_time))
      r->writer.start_time = 0;
    if (pid != 0)
      note_new_writer(r);
  }
  if (pid != 0 && pid != r->reported_dead_writer)
    r->stream_active = true;
  see_metadata(r, metadata);
}

/* The metadata note of a writer that gave up (docs/PROTOCOL.md §9.5):
 * `needed` the block size its metadata needed. */
static int gave_up_error(const zb_reader *r, uint64_t needed) {
  return zb__fail(ZB_EMSGSIZE, "the writer of ring \"%s\" gave up: its "
                  "metadata needs a metadata block of %llu bytes, this "
                  "ring's is %llu; create the ring with a metadata size "
                  "of at least %llu", r->name, (unsigned long long)needed,
                  (unsigned long long)r->seg.metadata_size,
                  (unsigned long long)needed);
}

static int writer_gave_up(zb_reader *r) {
  return gave_up_error(r, r->metadata_needed);
}

int zb_reader_metadata_note(zb_reader *r) {
  const uint8_t *data;
  uint64_t size;
  int needed;
  if (r == NULL)
    return zb__fail(ZB_EINVAL, "zb_reader_metadata_note: a reader is required");
  if (zb__segment_metadata_quiet(&r->seg, &data, &size) < 0)
    return 0; /* no note in a block that does not add up: zb_reader_metadata says what is wrong */
  needed = zb__metadata_needed(data, size);
  if (needed == 0)
    return 0;
  /* loaded after the metadata: the note is written before the detach */
  if (zb__load_acquire(&r->seg.oieb->writer_pid) != 0)
    return 1;
  return gave_up_error(r, (uint64_t)needed);
}

/* Frames posted by the writer and not handed out yet (negative while we
 * have read frames whose posts are still to come). */
static int64_t posted_unread(const zb_reader *r) {
  return (int64_t)(r->frame_posts - r->frames_taken);
}

/* Counts n posts taken: our own wake-ups first (those not taken yet), the
 * rest frame posts, as n takes of one post each would. Posts of frames not
 * read yet never outnumber the entries counted and not read: a writer
 * posts a frame after counting it, and counts in ring order, so a posted
 * frame we have not read comes before any entry we read uncounted. A
 * surplus (a flooded sem-w) is no writer's and is dropped, the count
 * loaded after the posts were taken: once the counts agree (an empty ring)
 * no post is left to claim a full lap (docs/PROTOCOL.md §5). */
static void count_posts(zb_reader *r, unsigned n) {
  unsigned wakes = atomic_load(&r->wakes_requested) - r->wakes_taken;
  uint64_t written, read, counted_unread;
  if (wakes > n)
    wakes = n;
  r->wakes_taken += wakes;
  r->frame_posts += n - wakes;
  written = zb__load_acquire(&r->seg.oieb->payload_written_count);
  read = zb__load_relaxed(&r->seg.oieb->payload_read_count);
  counted_unread = written > read ? written - read : 0;
  if (posted_unread(r) > 0 && (uint64_t)posted_unread(r) > counted_unread)
    r->frame_posts = r->frames_taken + counted_unread;
}

static void count_post(zb_reader *r) { count_posts(r, 1); }

/* Where sem_t's layout is not glibc's known one, posts taken in one go at
 * most: more than a writer can have frames in a ring of any size we make.
 * A semaphore posted beyond that (a hostile process floods it: its value
 * goes up to SEM_VALUE_MAX) is drained over several looks, each within the
 * caller's deadline, instead of seconds in one. With glibc's layout every
 * post is taken in one step, so a flood costs one look, not a spin until
 * the timeout (docs/PROTOCOL.md §5). */
#define POSTS_PER_LOOK 65536u

/* Takes the sem-w posts there are, without waiting; how many. */
static unsigned take_posts(zb_reader *r) {
  unsigned posts = zb__sem_take_all(r->sem_w, POSTS_PER_LOOK);
  if (posts > 0)
    count_posts(r, posts);
  return posts;
}

/* Positions equal (write_pos loaded before): empty, or the writer went a
 * whole lap round. A lap leaves bytes in use, so fewer than ring free (a
 * peer writer's lost updates only lower them): with every byte free,
 * counts and posts that claim one (a flooded sem-w) would replay the
 * frames read already. Nor is it a lap while we hold bytes: a lap would
 * cover them, and no writer writes over bytes not given back (held now,
 * so held when write_pos was loaded). */
static bool lap_claimed(zb_reader *r) {
  zb_oieb *oieb = r->seg.oieb;
  uint64_t held, size;
  take_posts(r);
  return posted_unread(r) > 0 &&
         zb__load_acquire(&oieb->payload_written_count) !=
             zb__load_relaxed(&oieb->payload_read_count) &&
         zb__load_acquire(&oieb->payload_free_bytes) < r->seg.payload_size &&
         zb_reader_held_bytes(r, &held, &size) == 0 && held == 0;
}

/* Whether the entry at read position pos is published (docs/PROTOCOL.md §5,
 * "How our reader knows a frame is there"). At a tail shorter than a frame
 * header (or pos == ring, after a frame that ended exactly at the end),
 * the entry is the writer's next frame, at 0. *write_pos_out: the writer's
 * position this went by, which bounds the entry (take_entry). */
static int entry_published(zb_reader *r, uint64_t pos, bool *published,
                           uint64_t *write_pos_out) {
  zb_oieb *oieb = r->seg.oieb;
  const uint64_t ring = r->seg.payload_size;
  uint64_t write_pos = zb__load_acquire(&oieb->payload_write_pos);
  bool in_tail = pos < ring && ring - pos < ZB_FRAME_HEADER_SIZE;

  *published = false;
  *write_pos_out = write_pos;
  if (write_pos > ring)
    return zb__fail(ZB_EPROTO, "ring \"%s\": write position %llu is past the "
                    "%llu-byte ring (corrupted segment)",
                    r->name, (unsigned long long)write_pos,
                    (unsigned long long)ring);
  if (in_tail && write_pos == 0)
    return 0; /* the writer wrapped and has not placed a frame at 0 yet; it
                 cannot be a lap ahead: the tail we stand on is not back.
                 (After an exact end there is no tail and it can.) */
  if (write_pos != pos) {
    *published = true;
    return 0;
  }
  *published = lap_claimed(r);
  return 0;
}

enum { TOOK_FRAME = 0, SKIPPED = 1 };

/* Consumes the published entry at pos: a frame (TOOK_FRAME), or a wrap
 * marker / a tail too short for one (SKIPPED). write_pos: the writer's
 * position that entry_published saw. Every value read from the ring is
 * checked before it is used, against the ring's end and the writer's
 * position (zb__entry_at, the rules the health snapshot applies too): an
 * entry the writer has not reached would take the reader past it, from
 * where it wraps and reads the same frames again for ever. */
static int take_entry(zb_reader *r, uint64_t pos, uint64_t write_pos,
                      zb_frame *frame) {
  zb_oieb *oieb = r->seg.oieb;
  const uint64_t ring = r->seg.payload_size;
  const zb_entry e = zb__entry_at(r->seg.payload, ring, pos, write_pos);
  uint64_t total, read_count;
  int rc;

  if (e.problem != ZB_ENTRY_OK)
    return zb__entry_fail(r->name, ring, &e, write_pos);
  if (e.kind != ZB_ENTRY_FRAME) {
    /* A writer past 0 has published the entry there: one that does not
     * add up says the wrap is no writer's (a position moved back by
     * another process), and is refused before the tail goes back, which
     * would push the free bytes past the ring's size. */
    if (write_pos != 0) {
      const zb_entry first = zb__entry_at(r->seg.payload, ring, 0, write_pos);
      if (first.problem != ZB_ENTRY_OK)
        return zb__entry_fail(r->name, ring, &first, write_pos);
    }
    /* Writers wrap without a marker when fewer than 16 bytes are left
     * (docs/PROTOCOL.md §2.3 and §7); none is counted here, whatever
     * the writer counted (the C++ writer nothing, ours and the Python
     * writer one: written_count then stays ahead, §3). */
    rc = skip_tail(r, pos, e.kind == ZB_ENTRY_MARKER);
    return rc < 0 ? rc : SKIPPED;
  }
  read_count = zb__load_relaxed(&oieb->payload_read_count);
  if (e.sequence != r->expected_sequence && e.sequence != 1)
    return zb__fail(ZB_ESEQUENCE,
                    "ring \"%s\": expected frame %llu, got %llu at offset "
                    "%llu",
                    r->name, (unsigned long long)r->expected_sequence,
                    (unsigned long long)e.sequence, (unsigned long long)pos);
  total = zb__frame_total(e.size);
  pthread_mutex_lock(&r->pending_lock);
  rc = pending_push(r, total, pos + ZB_FRAME_HEADER_SIZE, false,
                    &frame->ticket);
  if (rc == 0) {
    r->held++;
    if (e.size > r->largest_taken)
      r->largest_taken = e.size;
  }
  pthread_mutex_unlock(&r->pending_lock);
  if (rc < 0)
    return rc;
  atomic_fetch_add(&r->refs, 1); /* the frame's lease */
  /* After a frame that ends exactly at the end, read_pos stays at the end
   * (as the writer's write_pos does), never 0: docs/PROTOCOL.md §7,
   * "Peer quirks". */
  atomic_store_explicit(&r->read_pos, pos + total, memory_order_relaxed);
  zb__store_release(&oieb->payload_read_pos, pos + total);
  zb__store_release(&oieb->payload_read_count, read_count + 1);
  r->frames_taken++;
  take_posts(r); /* keeps sem-w from growing while frames are found by position */

  frame->data = r->seg.payload + pos + ZB_FRAME_HEADER_SIZE;
  frame->size = e.size;
  frame->sequence = e.sequence;
  frame->reader = r;
  r->expected_sequence = e.sequence + 1;
  note_move(r, pos + total, true);
  if (e.sequence == 1 && r->starts_unread > 1)
    r->starts_unread--; /* an older writer's: the new one's is still to come */
  else if (e.sequence == 1)
    r->writer_changed = false;
  r->stream_active = true;
  return TOOK_FRAME;
}

/* Whether the full lap at pos, where the writer last seen to come stood
 * then (we came to it and took nothing since: FIRST_HERE at first_pos),
 * may be that writer's first. Such a lap is that writer's alone, its
 * frame 1 first and no other. Stale bytes there (that writer wrote its frames before we saw
 * its pid, and we took them) pass round the lap the frame 1 we took since
 * it came (writer_changed is cleared): refused, unless that writer's
 * frames were the whole ring then (docs/PROTOCOL.md §5, "Limits"). The
 * walk is a lap's entries, only at such a lap, never per frame. */
static bool first_lap_here(zb_reader *r, uint64_t write_pos) {
  uint64_t frames, starts;
  return walk_unread(r, write_pos, true, &frames, &starts) && starts == 1;
}

/* A full lap (positions equal, entry_published) is claimed by posts,
 * counts and free bytes, which any process of the user can forge: stale
 * bytes where we stand (zeros taken for a marker, a frame of a lap ago)
 * would be handed out again, a frame 1 passing for a writer's restart.
 * So the lap's first frame (behind the marker or tail at pos, if any) must
 * be the next of the stream, or a 1 of a writer that came since our last
 * frame 1 (frames 1 of older writers, unread when it came, aside), or the
 * 1 of a first lap where the writer last seen to come stood then
 * (first_lap_here). Anything else is left to take_entry, which refuses
 * it. */
static int check_lap(zb_reader *r, uint64_t pos, uint64_t write_pos) {
  const uint64_t ring = r->seg.payload_size;
  zb_entry e = zb__entry_at(r->seg.payload, ring, pos, write_pos);
  if (e.problem == ZB_ENTRY_OK && e.kind != ZB_ENTRY_FRAME)
    e = zb__entry_at(r->seg.payload, ring, 0, write_pos);
  /* at the new writer's place, only the walk tells: writer_changed stays
   * set when that writer's frame 1 was taken before its pid was seen */
  if (e.problem != ZB_ENTRY_OK || e.kind != ZB_ENTRY_FRAME ||
      e.sequence == r->expected_sequence ||
      (e.sequence == 1 && (r->first_at == FIRST_HERE && pos == r->first_pos
                               ? first_lap_here(r, write_pos)
                               : r->writer_changed)))
    return 0;
  return zb__fail(ZB_ESEQUENCE,
                  "ring \"%s\": posts and counts claim a full lap, but the "
                  "frame there (offset %llu) is %llu, not the next (%llu)%s: "
                  "stale bytes, not a lap (another process changed the "
                  "segment)",
                  r->name, (unsigned long long)e.pos,
                  (unsigned long long)e.sequence,
                  (unsigned long long)r->expected_sequence,
                  e.sequence == 1 ? " nor a new writer's first" : "");
}

/* The next published entry, if any: TOOK_FRAME with *frame filled, or
 * NOTHING_YET. */
enum { NOTHING_YET = 2 };
static int take_published(zb_reader *r, zb_frame *frame) {
  bool published;
  int rc;
  for (;;) {
    uint64_t pos = atomic_load_explicit(&r->read_pos, memory_order_relaxed);
    uint64_t shared = zb__load_relaxed(&r->seg.oieb->payload_read_pos);
    uint64_t write_pos;
    /* the usual culprit: docs/PROTOCOL.md §2.1 */
    if (shared != pos)
      return zb__fail(ZB_EPROTO, "ring \"%s\": payload_read_pos is %llu, "
                      "but this reader left it at %llu (another process "
                      "changed the segment; likely a writer that writes "
                      "back a stale copy of the whole header, as the "
                      "Python writer did before its OIEBView)",
                      r->name, (unsigned long long)shared,
                      (unsigned long long)pos);
    if ((rc = entry_published(r, pos, &published, &write_pos)) < 0)
      return rc;
    if (!published)
      return NOTHING_YET;
    if (write_pos == pos && (rc = check_lap(r, pos, write_pos)) < 0)
      return rc;
    rc = take_entry(r, pos, write_pos, frame);
    if (rc != SKIPPED)
      return rc;
  }
}

/* The stream ended or its writer died: posts of frames we found by
 * position alone may still come (or never will, from a dead writer); start
 * the next writer's count from here. */
static void end_stream(zb_reader *r) {
  take_posts(r);
  if (posted_unread(r) < 0)
    r->frame_posts = r->frames_taken;
  r->stream_active = false;
  r->writer_changed = true;
}

/* The writer died and we took everything it published (up to its
 * write_pos): no bytes are in use but those we have not given back, and
 * it wrote as many entries as we read. A writer killed between moving
 * write_pos and counting its frame (the peers' order, and ours: write_pos,
 * free bytes, count) left the free bytes and the count short; put both
 * right, each only if no new writer has changed it meanwhile (then it is
 * no longer ours to say). docs/PROTOCOL.md §4, "A writer killed while
 * publishing". */
static void repair_after_death(zb_reader *r) {
  zb_oieb *oieb = r->seg.oieb;
  uint64_t free_bytes = zb__load_acquire(&oieb->payload_free_bytes), expected;
  uint64_t written = zb__load_acquire(&oieb->payload_written_count);
  uint64_t read = zb__load_relaxed(&oieb->payload_read_count);
  pthread_mutex_lock(&r->pending_lock);
  expected = r->seg.payload_size - r->unreturned;
  pthread_mutex_unlock(&r->pending_lock);
  if (free_bytes != expected)
    zb__cas(&oieb->payload_free_bytes, &free_bytes, expected);
  if (written != read)
    zb__cas(&oieb->payload_written_count, &written, read);
}

/* Whether the entry where we stand (behind a marker or a small tail: at 0)
 * is the next frame of the stream, or the frame 1 of a writer that came
 * since our last frame 1 (writer_came: as check_lap allows it): positions
 * equal with a full lap behind them, not an empty ring. Stale bytes of an
 * empty ring are a frame of an older lap: so is a frame 1 at 0 in the
 * first lap of a fresh ring (zeros where we stand read as a marker), and
 * any frame 1 while we hold bytes (a lap would cover them, as lap_claimed
 * says). pending_lock held. */
static bool next_frame_here(zb_reader *r, uint64_t pos, bool writer_came) {
  const uint64_t ring = r->seg.payload_size;
  zb_entry e = zb__entry_at(r->seg.payload, ring, pos, pos);
  if (e.problem == ZB_ENTRY_OK && e.kind != ZB_ENTRY_FRAME)
    e = zb__entry_at(r->seg.payload, ring, 0, pos);
  return e.problem == ZB_ENTRY_OK && e.kind == ZB_ENTRY_FRAME &&
         (e.sequence == r->expected_sequence ||
          (e.sequence == 1 && writer_came && r->unreturned == 0));
}

/* Whether the ring is empty at pos, as far as a writer that published and
 * posted every frame we took can tell: positions equal (write_pos loaded
 * after the caller's free bytes), each frame we took posted (a writer
 * posts after its updates of the free bytes and count), and not a full
 * lap (next_frame_here). pending_lock held. */
static bool empty_here(zb_reader *r, uint64_t pos, uint64_t *write_pos,
                       bool writer_came) {
  *write_pos = zb__load_acquire(&r->seg.oieb->payload_write_pos);
  take_posts(r);
  return *write_pos == pos && posted_unread(r) == 0 &&
         !next_frame_here(r, pos, writer_came);
}

/* Puts the free bytes up to most (the ring less what we have not given
 * back) from free_bytes, loaded under pending_lock, which the caller holds
 * from that load through its checks to here: none of our give-backs can
 * come in between, and a peer writer's stores only lower the free bytes,
 * so the swap never raises them over a frame written since (a give-back
 * then the writer's frame would bring them back to the value loaded).
 * Posts sem-r for the writer waiting for room. */
static void give_back_lost_room(zb_reader *r, uint64_t free_bytes,
                                uint64_t most) {
  if (r->before_room_swap != NULL) {
    void (*hook)(void *) = r->before_room_swap;
    r->before_room_swap = NULL;
    hook(r->before_room_swap_arg);
  }
  if (zb__cas(&r->seg.oieb->payload_free_bytes, &free_bytes, most) &&
      !zb__sem_post(r->sem_r))
    atomic_store(&r->room_unposted, true); /* reported by the next read */
}

/* A peer writer changes payload_free_bytes with a plain load and store: a
 * give-back of ours in between is lost for good, and as the peers' writers
 * look at the free bytes again only after a post of sem-r, one stopped
 * with "buffer is full" on an empty ring (docs/PROTOCOL.md §7, "Lost
 * updates"). So when a writer sleeps on sem-r, the ring is empty
 * (empty_here) and the free bytes say less than the ring less what we
 * hold, unchanged for a wait slice, they are put right and sem-r posted.
 * A sleeping peer writer is between two frames, not between its updates
 * of one (the peers' writers are one thread); the slice covers a sleeper
 * count left by a writer killed in its wait. Our writer never takes this
 * path: it updates atomically, so the free bytes of an empty ring are
 * right once each frame is posted, and while another of its threads is
 * between its updates of a lap's last frame, the next frame is where we
 * stand. Without glibc's sem_t layout (no sleeper count) nothing is put
 * right. */
static void repair_lost_room(zb_reader *r, uint64_t writer_pid) {
  zb_oieb *oieb = r->seg.oieb;
  const uint64_t pos = atomic_load_explicit(&r->read_pos, memory_order_relaxed);
  uint64_t free_bytes, most, write_pos, written, read;
  if (writer_pid == 0 || zb__sem_sleepers(r->sem_r) <= 0) {
    zb__idle_forget(&r->idle);
    return;
  }
  /* Held from the load of the free bytes to the swap: give_back_lost_room */
  pthread_mutex_lock(&r->pending_lock);
  free_bytes = zb__load_acquire(&oieb->payload_free_bytes);
  most = r->seg.payload_size - r->unreturned;
  /* Nothing lost (so with our writer, but between its updates of a lap's
   * last frame, whose bytes are published): the bytes where we stand,
   * which another thread of our writer may be filling, are not read. */
  if (free_bytes >= most ||
      !empty_here(r, pos, &write_pos, r->writer_changed)) {
    zb__idle_forget(&r->idle);
    pthread_mutex_unlock(&r->pending_lock);
    return;
  }
  written = zb__load_acquire(&oieb->payload_written_count);
  read = zb__load_relaxed(&oieb->payload_read_count);
  {
    const uint64_t seen[] = {write_pos, written, read, free_bytes,
                             r->frames_taken};
    if (zb__idle_for_slice(&r->idle, seen, sizeof seen / sizeof *seen,
                           zb__now_ns()))
      give_back_lost_room(r, free_bytes, most);
  }
  pthread_mutex_unlock(&r->pending_lock);
}

/* The writer detached, having counted every entry it published and taken
 * its bytes, and we took them all. So more entries read than written, or
 * more bytes free than the ring less what we hold, are a dead writer's
 * unfinished publish that we took by position before a new writer
 * replaced it (its death never reported, repair_after_death did not run).
 * Left, the count deficit hides every later single-frame full lap
 * (entry_published), and the free bytes let a writer place frames over
 * ours. Put right by compare-and-swap, only in the safe direction: a
 * writer that connected since may have counted and taken bytes (leaving
 * the count short still, the free bytes above the truth still), never the
 * other way. Not before the end: while a writer publishes, a frame we took
 * may have its bytes not taken yet. Fewer bytes free than that are a peer
 * writer's lost updates, put back with the checks below. docs/PROTOCOL.md
 * §4. */
static void repair_at_end(zb_reader *r) {
  zb_oieb *oieb = r->seg.oieb;
  const uint64_t pos = atomic_load_explicit(&r->read_pos, memory_order_relaxed);
  uint64_t written = zb__load_acquire(&oieb->payload_written_count);
  uint64_t read = zb__load_relaxed(&oieb->payload_read_count);
  uint64_t free_bytes, most, write_pos;
  if (written < read)
    zb__cas(&oieb->payload_written_count, &written, read);
  /* Held from the load of the free bytes to the swaps: a give-back of ours
   * can come neither in between (give_back_lost_room) nor before the swap
   * down (the bytes it gives back would be lost). */
  pthread_mutex_lock(&r->pending_lock);
  free_bytes = zb__load_acquire(&oieb->payload_free_bytes);
  most = r->seg.payload_size - r->unreturned;
  if (free_bytes > most)
    zb__cas(&oieb->payload_free_bytes, &free_bytes, most);
  /* Fewer: give-backs a peer writer's plain updates lost (§7, "Lost
   * updates"), put right now that it left, with each of its updates
   * done. A writer that connected since changes the free bytes after it
   * set writer_pid (loaded after them) and the swap fails, or stores its
   * own value over ours (fewer again, never more). A frame 1 where we
   * stand is no lap by itself here: writer_changed is set by the end
   * itself (writer_pid seen 0), and a writer that came and left since
   * posted each frame of its lap (empty_here counts the posts). Taken for
   * one, the frame 1 at 0 of a fresh ring's first lap (zeros where we
   * stand read as a marker) left the lost room out for the next writer. */
  else if (free_bytes < most &&
           zb__load_acquire(&oieb->writer_pid) == 0 &&
           empty_here(r, pos, &write_pos, false))
    give_back_lost_room(r, free_bytes, most);
  pthread_mutex_unlock(&r->pending_lock);
}

/* Nothing to read: has the stream ended, or (when probe_liveness) has its
 * writer died? MORE_FRAMES when a frame arrived in the meantime (then
 * *frame holds it). */
enum { MORE_FRAMES = 1 };
static int check_writer_end(zb_reader *r, uint64_t writer_pid,
                            bool probe_liveness, zb_frame *frame) {
  int rc;
  if (!r->stream_active)
    return 0;
  if (writer_pid == 0) {
    /* A writer that noted its metadata and detached between our loads of
     * the metadata and of writer_pid: it wrote the note before clearing
     * writer_pid, so the note is there now. */
    see_metadata(r, zb__load_acquire(&r->seg.oieb->metadata_written_bytes));
    if (r->metadata_needed != 0)
      return writer_gave_up(r);
    end_stream(r);
    repair_at_end(r);
    return zb__fail(ZB_EOF, "ring \"%s\": the writer detached and every "
                    "frame was read", r->name);
  }
  if (probe_liveness && !zb__process_alive(&r->writer)) {
    /* It may have published frames after we last looked and died since: a
     * dead process publishes nothing more, so look again. */
    rc = take_published(r, frame);
    if (rc != NOTHING_YET)
      return rc == TOOK_FRAME ? MORE_FRAMES : rc;
    end_stream(r);
    r->reported_dead_writer = writer_pid;
    repair_after_death(r);
    return zb__fail(ZB_EWRITERDEAD,
                    "ring \"%s\": the writer (pid %llu) died without "
                    "detaching; every frame it committed was read",
                    r->name, (unsigned long long)writer_pid);
  }
  return 0;
}

/* ZB_EAGAIN, formatted only when the thread's details are not this
 * reader's "no frame ready" already: a batch ends with it every time. */
static int no_frame_ready(zb_reader *r) {
  return zb__fail_keyed(r->id, ZB_EAGAIN, "ring \"%s\": no frame ready",
                        r->name);
}

/* A give-back whose sem-r post was left out (its file corrupt, written over
 * by another process): a writer waiting only on sem-r (the peers') would
 * wait for its timeout with no reason given. Posted now when the file is
 * right again; else ZB_EPROTO naming it, at each read until it is. Before
 * the read takes anything, so no frame is lost; held frames stay valid and
 * their releases give their bytes back (only the post is missing). */
static int post_room_left_out(zb_reader *r) {
  if (!atomic_exchange(&r->room_unposted, false) || zb__sem_post(r->sem_r))
    return 0;
  atomic_store(&r->room_unposted, true);
  return zb__sem_corrupt(r->names.sem_r,
                         "; the reader could not post the room it gave "
                         "back, and a writer waiting for room would not "
                         "see it");
}

/* One look of zb_reader_next (or with ready_only zb_reader_take_ready: a
 * frame only when one is there, without wake-ups or looking at the writer):
 * a result, or NOTHING_YET when it would sleep. probe_liveness: check that
 * the writer process is alive (a /proc read). */
static int reader_look(zb_reader *r, zb_frame *frame, int timeout_ms,
                       bool probe_liveness, bool ready_only) {
  uint64_t metadata, writer_pid;
  unsigned wakes = atomic_load(&r->wakes_requested);
  int rc;
  if (!ready_only && wakes != r->wakes_reported) {
    r->wakes_reported = wakes;
    return zb__fail(ZB_ECANCELED, "ring \"%s\": wait interrupted", r->name);
  }
  if ((rc = post_room_left_out(r)) < 0)
    return rc;
  /* The metadata before writer_pid: a writer wrote it after claiming
   * writer_pid, so 0 read next means that writer has left. writer_pid
   * before the positions: a writer that detached published its last frame
   * before clearing it, so the positions read next include that frame. */
  metadata = zb__load_acquire(&r->seg.oieb->metadata_written_bytes);
  if (r->between_loads != NULL) {
    void (*hook)(void *) = r->between_loads;
    r->between_loads = NULL;
    hook(r->between_loads_arg);
  }
  writer_pid = zb__load_acquire(&r->seg.oieb->writer_pid);
  track_writer(r, metadata, writer_pid);
  rc = take_published(r, frame);
  if (rc != NOTHING_YET)
    return rc;
  if (ready_only)
    return no_frame_ready(r);
  /* After the frames before it, if any, and once its writer has left: the
   * note is written before writer_pid is cleared (§9.5), so a note with a
   * writer attached is not (yet) a writer that gave up. */
  if (r->metadata_needed != 0 && writer_pid == 0)
    return writer_gave_up(r);
  /* Liveness costs a /proc read: only once per wait slice in which no
   * frame came, or when the caller polls. */
  rc = check_writer_end(r, writer_pid, probe_liveness || timeout_ms == 0,
                        frame);
  if (rc < 0)
    return rc;
  if (rc == MORE_FRAMES)
    return 0;
  repair_lost_room(r, writer_pid);
  if (timeout_ms == 0)
    return no_frame_ready(r);
  return NOTHING_YET;
}

static int timed_out(zb_reader *r, int timeout_ms) {
  return zb__fail(ZB_ETIMEDOUT, "ring \"%s\": no frame within %d ms",
                  r->name, timeout_ms);
}

static int reader_next(zb_reader *r, zb_frame *frame, int timeout_ms,
                       bool ready_only) {
  uint64_t now, until, slice_end = 0;
  zb_deadline deadline;
  bool probe = false;
  int rc, wait_ms;

  const char *call = ready_only ? "zb_reader_take_ready" : "zb_reader_next";

  if (r == NULL || frame == NULL)
    return zb__fail(ZB_EINVAL, "%s: reader and frame are required", call);
  if (forked_copy(r))
    return refuse_forked_copy(r, call);
  if ((rc = zb__check_timeout(call, r->name, timeout_ms)) < 0)
    return rc;
  zb_deadline_start(&deadline, timeout_ms);

  for (;;) {
    rc = reader_look(r, frame, timeout_ms, probe, ready_only);
    if (rc != NOTHING_YET)
      return rc;
    now = zb__now_ns();
    /* Time stopped (Ctrl-Z stops zerobuffer's whole job, the writer with
     * it) does not count: at SIGCONT the wait would fail before the
     * writer, continued too, could write. */
    if ((wait_ms = zb__deadline_look(&deadline, now, ZB_LIVENESS_SLICE_MS)) == 0)
      return timed_out(r, timeout_ms);
    if (probe || slice_end == 0)
      slice_end = now + (uint64_t)ZB_LIVENESS_SLICE_MS * 1000000u;
    until = now + (uint64_t)wait_ms * 1000000u;
    rc = zb__sem_wait_until(r->sem_w, r->names.sem_w, r->name,
                            slice_end < until ? slice_end : until);
    if (rc < 0 && rc != ZB_ETIMEDOUT)
      return rc;
    if (rc == 0)
      count_post(r);
    /* Once per slice, posts or not: a flooded sem-w (docs/PROTOCOL.md §5)
     * ends every wait at once, and a post that brings no frame says
     * nothing of the writer. */
    probe = rc == ZB_ETIMEDOUT || zb__now_ns() >= slice_end;
  }
}

int zb_reader_next(zb_reader *r, zb_frame *frame, int timeout_ms) {
  return reader_next(r, frame, timeout_ms, false);
}

int zb_reader_take_ready(zb_reader *r, zb_frame *frame) {
  return reader_next(r, frame, 0, true);
}

/* ------------------------------------------------- waiting on an event loop */

int zb_reader_arm(zb_reader *r, const uint32_t **word) {
  int rc;
  if (r == NULL || word == NULL)
    return zb__fail(ZB_EINVAL, "zb_reader_arm: reader and word are required");
  if (forked_copy(r))
    return refuse_forked_copy(r, "zb_reader_arm");
  rc = zb__sem_count_waiter(r->sem_w, r->armed ? 0 : 1, word);
  if (rc == 0)
    r->armed = true;
  return rc;
}

void zb_reader_disarm(zb_reader *r) {
  if (r != NULL && r->armed && !forked_copy(r)) { /* the parent's sleeper */
    zb__sem_count_waiter(r->sem_w, -1, NULL);
    r->armed = false;
  }
}

int zb_reader_poll(zb_reader *r, zb_frame *frame, int timeout_ms,
                   uint64_t started_ns, int *again_ms) {
  uint64_t now, deadline, slice_end;
  int rc;

  if (r == NULL || frame == NULL || again_ms == NULL)
    return zb__fail(ZB_EINVAL, "zb_reader_poll: reader, frame and again_ms "
                    "are required");
  if (forked_copy(r))
    return refuse_forked_copy(r, "zb_reader_poll");
  if ((rc = zb__check_timeout("zb_reader_poll", r->name, timeout_ms)) < 0)
    return rc;
  /* The post that woke the caller, as the sem wait of zb_reader_next takes
   * it, and any other: the word reads 0 again before the caller sleeps. */
  take_posts(r);
  now = zb__now_ns();
  /* Slices count from the wait's start or the last probe, not from the
   * last post: posts that bring no frame (a flooded sem-w) must not put
   * the probe off. */
  if (r->last_probe_ns < started_ns)
    r->last_probe_ns = started_ns;
  slice_end = r->last_probe_ns + (uint64_t)ZB_LIVENESS_SLICE_MS * 1000000u;
  rc = reader_look(r, frame, timeout_ms, now >= slice_end, false);
  if (rc != NOTHING_YET)
    return rc;
  if (now >= slice_end)  /* probed: the next slice starts now */
    slice_end = (r->last_probe_ns = now) + (uint64_t)ZB_LIVENESS_SLICE_MS * 1000000u;
  deadline = timeout_ms < 0 ? UINT64_MAX
                            : started_ns + (uint64_t)timeout_ms * 1000000u;
  if (now >= deadline)
    return timed_out(r, timeout_ms);
  if (deadline < slice_end)
    slice_end = deadline;
  /* Rounded up: called back early, it would only come again. */
  *again_ms = (int)((slice_end - now + 999999u) / 1000000u);
  return ZB_POLL_SLEEP;
}

void zb__reader_expect_sequence(zb_reader *r, uint64_t sequence) {
  r->expected_sequence = sequence;
}

uint8_t *zb__reader_segment(zb_reader *r) { return r->seg.base; }

void zb__reader_adopt_read_pos(zb_reader *r) {
  uint64_t pos = zb__load_relaxed(&r->seg.oieb->payload_read_pos);
  if (pos <= r->seg.payload_size) /* past the ring: refused at the next read */
    atomic_store_explicit(&r->read_pos, pos, memory_order_relaxed);
}

void zb__reader_between_loads(zb_reader *r, void (*hook)(void *), void *arg) {
  r->between_loads = hook;
  r->between_loads_arg = arg;
}

void zb__reader_before_room_swap(zb_reader *r, void (*hook)(void *),
                                 void *arg) {
  r->before_room_swap = hook;
  r->before_room_swap_arg = arg;
}

/* zb_platform.h — POSIX pieces: names, clocks, process liveness, named
 * semaphores, shared memory, the reader's lock file and the stale sweep.
 * No protocol arithmetic lives here. */
#ifndef ZB_PLATFORM_H
#define ZB_PLATFORM_H

#include <limits.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>

#include "zb_oieb.h"

#define ZB_LOCK_DIR "/tmp/zerobuffer"
/* Waits are cut into slices this long so a dead peer is noticed. */
#define ZB_LIVENESS_SLICE_MS 50

typedef struct zb_names {
  char shm[NAME_MAX + 2];   /* "/NAME" */
  char sem_w[NAME_MAX + 2]; /* "/sem-w-NAME": data ready, writer posts */
  char sem_r[NAME_MAX + 2]; /* "/sem-r-NAME": space freed, reader posts */
  char lock[PATH_MAX];      /* "/tmp/zerobuffer/NAME.lock" */
} zb_names;

/* Validates name and builds the object names. 0 or ZB_ENAME. */
int zb__names(const char *name, zb_names *names);

uint64_t zb__now_ns(void);
/* zb_deadline_wait_ms with the clock read by the caller: NOW. */
int zb__deadline_look(zb_deadline *d, uint64_t now, int slice_ms);
/* 0, or ZB_EINVAL naming the call, the ring and the value for a timeout
 * below ZB_WAIT_FOREVER: only -1 waits without a limit, and a -5 passed
 * by mistake must not wait for ever. */
int zb__check_timeout(const char *call, const char *ring, int timeout_ms);

/* A process as seen at one moment: pid plus its start time, so that a
 * recycled pid is not taken for the process we first saw. */
typedef struct zb_process {
  uint64_t pid;
  uint64_t start_time; /* clock ticks after boot; 0 when unknown */
} zb_process;

uint64_t zb__self_pid(void);
/* Fills start_time for pid; returns false when pid is not a live process
 * (gone, zombie, or an impossible pid read from a corrupted segment). */
bool zb__process_probe(uint64_t pid, uint64_t *start_time);
/* True when p is still the process first seen (same start time). */
bool zb__process_alive(const zb_process *p);

/* sem_clockwait on CLOCK_MONOTONIC until deadline_ns, retried on EINTR.
 * 0 when posted, ZB_ETIMEDOUT at the deadline. sem_name: the named
 * semaphore ("/sem-w-NAME"), ZB_EPROTO when its file is corrupt (a peer
 * wrote over it, which would make glibc abort us); NULL for one in our own
 * memory, which no peer can write. ring: the ring's name, for the message
 * of a failed wait. */
int zb__sem_wait_until(sem_t *sem, const char *sem_name, const char *ring,
                       uint64_t deadline_ns);
/* 0, or ZB_EPROTO naming the file when the named semaphore sem_name
 * ("/sem-w-NAME") is corrupt: a peer wrote over it, and a futex call on it
 * would make glibc abort us. Checked before each wait, and by the writer
 * before it publishes a frame (whose sem-w post would be left out). */
int zb__sem_check(sem_t *sem, const char *sem_name);
/* ZB_EPROTO: "semaphore file /dev/shm/sem.NAME is corrupt: another process
 * wrote over it", then what it cost (`cost`, "" for nothing more). */
int zb__sem_corrupt(const char *sem_name, const char *cost);
/* sem_post; false when it was left out: the semaphore's file is corrupt
 * (glibc would abort us) or sem_post refused it. The side that waits on it
 * reports it; the writer checks sem-w before publishing (zb__sem_check),
 * the reader reports a sem-r post left out at its next read. A semaphore
 * at SEM_VALUE_MAX (EOVERFLOW) counts as posted: a wait on it returns at
 * once. */
bool zb__sem_post(sem_t *sem);
/* Takes one post if there is one; never waits. */
void zb__sem_take(sem_t *sem);
/* Takes every post there is, never waiting; how many. In one atomic step
 * where glibc's sem_t layout is known (a semaphore flooded to
 * SEM_VALUE_MAX costs one compare-and-swap); elsewhere sem_trywait up to
 * max times. */
unsigned zb__sem_take_all(sem_t *sem, unsigned max);

/* Counts one more (delta 1) or one less (delta -1) sleeper on a named
 * (process-shared) semaphore without sleeping in sem_wait, so that
 * sem_post wakes a futex wait on *word (its value: 0 while nothing is
 * posted); delta 0 only gives the word. ZB_ENOTSUP where the layout of
 * sem_t is not glibc's known one. */
int zb__sem_count_waiter(sem_t *sem, int delta, const uint32_t **word);

/* The processes sleeping in a wait on sem now (glibc counts them in the
 * semaphore), or -1 where glibc's sem_t layout is not known. A process
 * killed in its wait stays counted. */
long zb__sem_sleepers(sem_t *sem);

/* Creates the semaphore, replacing a stale one; applies mode exactly. */
int zb__sem_create(const char *sem_name, unsigned mode, sem_t **out);
int zb__sem_open(const char *sem_name, const char *ring, sem_t **out);

/* Maps an existing segment (read-only when !writable) and validates it.
 * ZB_ENOENT also for a segment still being created by its reader (empty,
 * a zero or half-filled header), how far in *unready (when not NULL;
 * emptied first). */
int zb__segment_open(zb_segment *seg, const char *name, const zb_names *names,
                     bool writable, zb_unready *unready);
/* Why zb__segment_open found ring NAME's segment not ready (ZB_ENOENT:
 * empty, a zero header, or one half-filled by a peer's reader; UNREADY is
 * what it said of it), told by the lock file (docs/PROTOCOL.md §4, "Writer
 * connect"): ZB_ENOENT while a live reader holds it (still being created;
 * the message says how far, zb__unready_state) or when it cannot be told
 * (the lock file unreadable to us), or when the segment is gone meanwhile
 * (the last error then stays zb__segment_open's); ZB_EREADERGONE when no
 * reader holds it and a reader creating the ring would remove it as a dead
 * creator's leftovers (zb__check_leftovers: an empty segment, or a zero
 * header beside a lock file naming a dead reader); ZB_EPROTO when a reader
 * would refuse it too (a zero header nobody's lock file explains, or a
 * half-filled one that no reader holds). */
int zb__segment_unready(const char *name, const zb_names *names,
                        const zb_unready *unready);
/* Creates, sizes (backed by real pages, so a full /dev/shm is an error
 * here rather than a SIGBUS later) and maps a zeroed segment. */
int zb__segment_create(zb_segment *seg, const char *name, const zb_names *names,
                       uint64_t total_size, unsigned mode);
void zb__segment_close(zb_segment *seg);
/* A keep_address_range reader's range record (zb_range, zerobuffer.h),
 * made at its create; pins (zb_reader_pin_range,
 * zb_range_unpin) count on it from any thread. */
zb_range *zb__range_new(void);
void zb__range_pin(zb_range *range);
bool zb__range_pinned(zb_range *range);
/* Its reader is done with it (after any zb__segment_retire): freed now,
 * or by the last unpin or the reap that unmaps it. */
void zb__range_disown(zb_range *range);
/* Replaces the segment's mapping with zero pages instead of unmapping it
 * (the shared pages are freed; the address range stays taken), so a stale
 * pointer into it reads zeros instead of faulting (and a write to it lands
 * in a private page, but under vm.overcommit_memory=2), until
 * zb__reap_retired unmaps it ZB_RETIRE_GRACE_MS later, once no pin is left
 * on `range`. Then zb__segment_close() closes the rest. */
void zb__segment_retire(zb_segment *seg, zb_range *range);
/* Replaces the pages under [bytes, bytes + size) (inside the segment's
 * mapping) with private pages of this process holding the same bytes, so
 * that later writes there reach no other process; the neighbours on the
 * partial first and last pages go private with them. The header's page
 * stays shared. When the kernel refuses (no memory, vm.overcommit_memory=2,
 * the map count limit) they stay shared. zb__segment_close unmaps them with
 * the rest. */
void zb__segment_make_private(zb_segment *seg, uint8_t *bytes, uint64_t size);
/* Unmaps the retired ranges whose grace is over and that nobody pins.
 * Called at each reader create and close: no timer or thread, so a process
 * that stops creating and closing readers keeps the last ones' ranges
 * (zero pages, no RSS). */
void zb__reap_retired(void);
/* How long a retired range reads zeros: long enough for native work handed
 * a frame's bytes just before close (a compression, a copy queued on a
 * thread pool) to finish; short enough that a process closing a reader
 * every second keeps only ~30 rings' worth of address space. */
#define ZB_RETIRE_GRACE_MS 30000

/* Takes the reader lock of a ring: creates the lock directory and file and
 * flock(LOCK_EX|LOCK_NB)s it. *fd is kept open for the reader's lifetime.
 * ZB_EEXIST when a live reader holds it. */
int zb__lock_acquire(const char *name, const zb_names *names, unsigned mode,
                     int *fd);
/* Whether pid, read from a ring whose lock file is lock_fd, is still the
 * reader that recorded itself there (not a recycled pid). */
bool zb__lock_owner_alive(int lock_fd, uint64_t pid);
/* Records our pid and start time in the lock file we hold. */
int zb__lock_record_owner(int lock_fd, const char *name,
                          const char *lock_path);
/* Whether the lock file at lock_path records pid (with its start time,
 * when both are known) as the reader that holds it: a reader of ours, as a
 * peer's reader records nothing. Never blocks: no flock, a bounded read;
 * false when the file cannot be read. */
bool zb__lock_records_reader(const char *lock_path, uint64_t pid);

/* Removes the shm segment and both semaphores of a ring (missing is fine). */
void zb__unlink_ring_objects(const zb_names *names);

/* Whether what is under NAME may be removed as a dead reader's leftovers
 * (the caller holds the ring's lock as lock_fd, -1 when there is no lock
 * file): 0 when nothing is there, or everything (segment, semaphores)
 * belongs to this user and the segment is a valid ZeroBuffer ring (its
 * reader and writer pids are returned, 0 without a segment, for the caller's
 * liveness check) or a ring whose reader died while creating it (an empty
 * segment, which holds nothing, or a zero header beside a lock file naming
 * that dead reader). ZB_EACCES naming the
 * owner when any of it is another user's (with advice for a removal by
 * name when removing, else for a reader creating the ring), ZB_EPROTO when
 * the segment is not a ring: a stranger's file is never removed. */
int zb__check_leftovers(const char *name, const zb_names *names, int lock_fd,
                        bool removing, uint64_t *reader_pid,
                        uint64_t *writer_pid);

/* Full sweeps are rate-limited per user to one per this many ms. */
#define ZB_SWEEP_INTERVAL_MS 10000

/* Removes rings whose lock is free and whose reader and writer are dead, at
 * most once per ZB_SWEEP_INTERVAL_MS for this user (across processes; per
 * process when its stamp in ZB_LOCK_DIR is not this user's own file):
 * with many rings on the machine a create must not pay for all of them. */
void zb__sweep_stale_rings(void);
/* Counts a ring inspected by a create (zb__rings_visited, for tests). */
void zb__note_ring_visit(void);

#endif /* ZB_PLATFORM_H */

/* zerobuffer.h — the ZeroBuffer v1.0 protocol core (public API).
 *
 * One reader creates a ring (shared memory segment + two named semaphores +
 * a lock file) and one writer at a time connects to it. Frames are handed to
 * the reader as pointers into the ring: no copies on the reading side.
 * The wire format is the public ZeroBuffer v1.0 protocol (docs/PROTOCOL.md,
 * which meson install puts into <datadir>/doc/zerobuffer/ with DUPLEX.md and
 * GUARANTEES.md; the npm package has them under docs/).
 *
 * Conventions (as in libuv): functions return 0 or a negative ZB_E* code;
 * the code's name and generic text come from zb_err_name()/zb_strerror(),
 * and the calling thread's zb_last_error() tells the details (which ring,
 * which size, what to do). Handles are opaque; a NULL handle is refused
 * (ZB_EINVAL), or the call does nothing and returns 0 or NULL, as each
 * says; destroy functions accept NULL.
 * Timeouts are relative milliseconds on CLOCK_MONOTONIC: 0 means "try, do
 * not wait", ZB_WAIT_FOREVER (-1) waits until data, peer death or
 * zb_*_wake(). Any other negative timeout is refused at once with ZB_EINVAL
 * naming it (zb_reader_next, zb_reader_poll, zb_writer_reserve,
 * zb_writer_write), rather than taken for "no limit".
 *
 * After fork(), a child's copies of its parent's handles still name the
 * parent's ring, and the parent goes on using it. In the child, the calls
 * that would write or read the ring (zb_writer_reserve, _write,
 * _set_metadata, zb_reservation_commit, zb_reader_next, _take_ready, _poll,
 * _arm) fail with ZB_ESTATE and touch nothing; the wake calls do nothing;
 * zb_frame_release of an inherited frame gives no bytes back (the parent
 * holds them); zb_writer_destroy, zb_reader_destroy and zb_reader_unlink
 * free only the child's memory and descriptors, leaving the ring, its
 * names and the parent's writer_pid and reader_pid alone. Calls that only
 * look (health, metadata, room) answer. A child that goes on without
 * exec() should destroy its copies of readers: its copy of the lock file's
 * descriptor keeps the ring's name taken (ZB_EEXIST for a new reader)
 * until then, even after the parent's death. A child makes its own handles
 * for rings of its own. Two limits: a child of a parent in which another
 * thread was inside a call on the handle at fork() may block in these
 * calls for good (the handle's lock was held then: POSIX leaves only
 * async-signal-safe calls to such a child; exec() or _exit() is safe), and
 * a child made without fork() (a raw clone or syscall(SYS_fork)) is taken
 * for its parent (the process id is cached, refreshed by fork()).
 *
 * For C99 or later and C++11 or later: it compiles without a warning under
 * -pedantic -Wall -Wextra (test header-std). Not C89: the API uses bool and
 * uint64_t (<stdbool.h>, <stdint.h>), and enum zb_errno ends with a comma
 * (every member is an error code, so a switch over all of them is whole).
 */
#ifndef ZEROBUFFER_H
#define ZEROBUFFER_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* This header's version (semantic versioning; the ring protocol's own
 * version is in zb_health.version). The shared library's soname carries the
 * major number: libzerobuffer.so.0 for every 0.x. meson checks that
 * ZEROBUFFER_VERSION_STRING is the project's version. */
#define ZEROBUFFER_VERSION_MAJOR 0
#define ZEROBUFFER_VERSION_MINOR 1
#define ZEROBUFFER_VERSION_PATCH 0
#define ZEROBUFFER_VERSION_STRING "0.1.0"
#define ZEROBUFFER_VERSION_HEX                                                 \
  ((ZEROBUFFER_VERSION_MAJOR << 16) | (ZEROBUFFER_VERSION_MINOR << 8) |        \
   ZEROBUFFER_VERSION_PATCH)
/* True when this header is at least version major.minor.patch. */
#define ZEROBUFFER_CHECK_VERSION(major, minor, patch)                          \
  (ZEROBUFFER_VERSION_HEX >= (((major) << 16) | ((minor) << 8) | (patch)))

/* The version of the library linked at run time, which may be newer than
 * the header a program was built with (same major): ZEROBUFFER_VERSION_HEX
 * and ZEROBUFFER_VERSION_STRING as the library was built. */
unsigned zb_version(void);
const char *zb_version_string(void);

/* Error codes: -errno where one fits, our own range below -4000 otherwise. */
#define ZB_ERRNO_MAP(XX)                                                       \
  XX(EINVAL, -EINVAL, "invalid argument")                                      \
  XX(ENAME, -4001, "invalid ring name")                                        \
  XX(ESIZE, -4002, "invalid size")                                             \
  XX(EMSGSIZE, -EMSGSIZE, "frame or metadata larger than the ring can hold")   \
  XX(ENOENT, -ENOENT, "no such ring")                                          \
  XX(EEXIST, -EEXIST, "ring already owned by a live reader")                   \
  XX(EBUSY, -EBUSY, "ring already has a live writer")                          \
  XX(EAGAIN, -EAGAIN, "nothing ready now (ring full, or no frame)")            \
  XX(ETIMEDOUT, -ETIMEDOUT, "timed out")                                       \
  XX(ECANCELED, -ECANCELED, "wait interrupted by a wake call")                 \
  XX(EPROTO, -EPROTO, "corrupted segment or protocol violation")              \
  XX(ESEQUENCE, -4003, "frame sequence error")                                 \
  XX(EWRITERDEAD, -4004, "writer process died")                                \
  XX(EREADERGONE, -4005, "reader is gone")                                     \
  XX(EMETADATA, -4006, "metadata already written and different")              \
  XX(ESTATE, -4007, "call not valid in this state")                            \
  XX(EACCES, -EACCES, "permission denied")                                     \
  XX(EPERM, -EPERM, "operation not permitted")                                 \
  XX(ENOMEM, -ENOMEM, "out of memory")                                         \
  XX(ENOSPC, -ENOSPC, "no space left for shared memory")                       \
  XX(EMFILE, -EMFILE, "too many open files")                                   \
  XX(ENFILE, -ENFILE, "too many open files in system")                         \
  XX(EIO, -EIO, "input/output error")                                          \
  XX(ENOTSUP, -ENOTSUP, "not supported on this platform")                      \
  XX(EOF, -4095, "end of stream")

enum zb_errno {
#define ZB__ERR_ENUM(name, value, text) ZB_##name = (value),
  ZB_ERRNO_MAP(ZB__ERR_ENUM)
#undef ZB__ERR_ENUM
};

/* "EINVAL", "ESEQUENCE", ...; "OK" for 0; "EUNKNOWN" for a code not in
 * the list. */
const char *zb_err_name(int code);
/* Generic text for a code (strerror() for other negative errnos; "success"
 * for 0, "unknown error" for a code not in the list). */
const char *zb_strerror(int code);
/* Details of the last failure on this thread: what failed and what to do.
 * A ring's name is in them whole (shell-quoted in a command to paste, when
 * it needs quoting); a text too long is cut between UTF-8 characters. */
const char *zb_last_error(void);

#define ZB_WAIT_FOREVER (-1)

/* Limits. Names become file names: "sem.sem-w-" + NAME must fit NAME_MAX. */
#define ZB_NAME_MAX 245
#define ZB_MAX_METADATA_SIZE (UINT64_C(64) << 20) /* 64 MiB */
/* What our readers make room for when not told: the writer's metadata JSON,
 * whose caps may carry stream headers (vorbis, theora: 6-7 KiB). */
#define ZB_DEFAULT_METADATA_SIZE (UINT64_C(64) << 10) /* 64 KiB */
#define ZB_MAX_PAYLOAD_SIZE (UINT64_C(16) << 30)  /* 16 GiB */
#define ZB_FRAME_HEADER_SIZE 16

/* Checks a ring name, by the protocol's rule: 1..ZB_NAME_MAX bytes, no
 * '/', no "..", not "." (which is /dev/shm itself); spaces, ':', '@',
 * non-ASCII UTF-8 and a leading '.' are fine. Stricter than the protocol
 * in two ways: control characters (0x01-0x1f, 0x7f) are refused (they
 * garble logs and terminals), and so are names starting with "sem.sem-w-"
 * or "sem.sem-r-": /dev/shm/sem.X is the file of semaphore X, so such a
 * ring's segment would be another ring's semaphore. Every file of a valid
 * name (/dev/shm/NAME, /dev/shm/sem.sem-w-NAME, /dev/shm/sem.sem-r-NAME,
 * /tmp/zerobuffer/NAME.lock) belongs to that name alone. 0 or ZB_ENAME
 * with the reason in zb_last_error(). */
int zb_validate_name(const char *name);

/* ---------------------------------------------------------------- reader */

typedef struct zb_reader zb_reader;

typedef struct zb_reader_options {
  /* Permission bits of the segment, semaphores and lock file.
   * 0 means 0600 (owner only). The process umask does not apply. It must
   * let the owner read and write (0600 in it): ZB_EINVAL otherwise. */
  unsigned mode;
  /* Overwrite every released frame's bytes with ZB_POISON_BYTE, so that
   * code still reading them after release (against the rules) reads
   * obvious garbage instead of a plausible later frame. For debugging.
   * Not in a ring whose metadata declares in-place answers
   * (zb_metadata_in_place, docs/PROTOCOL.md §9.4): its writer, a duplex
   * client, reads the answer from a request's bytes after their release. */
  bool poison_released;
  /* When the last lease is gone after zb_reader_destroy, replace the
   * mapping with zero pages instead of unmapping it: native code
   * that kept a frame's pointer past its release (e.g. an asynchronous
   * call given the bytes) reads zeros instead of faulting. The shared
   * memory is freed either way; the address range stays taken for a grace
   * of 30 s, then the first reader create or close in the process after it
   * unmaps it (no timer, no thread). So the process's address space holds
   * the rings closed in the last 30 s (and, when no reader is created or
   * closed after them, the last ones closed), not every ring it ever had;
   * code reading a pointer later than that may fault, or read whatever is
   * mapped there by then, unless it pinned the range (zb_reader_pin_range).
   * Writes to the zero pages do not fault either: they land in private
   * pages. Not under vm.overcommit_memory=2, which would charge writable
   * pages' size to the system's commit limit for all that time: there the
   * pages are read-only, and a write faults. A reader that never handed
   * out a frame or its metadata, and has no pin, is unmapped at once: no
   * pointer into it exists. */
  bool keep_address_range;
} zb_reader_options;

#define ZB_POISON_BYTE 0xDB

/* A frame handed out by zb_reader_next: a lease on ring bytes, given back
 * with zb_frame_release (any order, any thread). The lease keeps the
 * reader's mapping alive, also after zb_reader_destroy. */
typedef struct zb_frame {
  const uint8_t *data; /* points into the ring; valid until released */
  uint64_t size;       /* payload bytes (without the 16-byte header) */
  uint64_t sequence;   /* 1, 2, 3 ... per writer connection */
  uint64_t ticket;     /* its place among the frames held */
  zb_reader *reader;   /* the lease's owner; NULL once released */
} zb_frame;

/* Creates the ring NAME as its reader: takes the lock, removes the stale
 * leftovers of NAME (and, at most once per 10 s per user, those of every
 * ring), creates the segment (sizes rounded up to 64) and both
 * semaphores. opts may be NULL. What is left under NAME is replaced only
 * when it is a dead reader's ring of this user; ZB_EEXIST when its reader
 * is alive, ZB_EACCES (naming the owner) when a file under the name belongs
 * to another user, ZB_EPROTO when /dev/shm/NAME is not a ZeroBuffer ring:
 * such files are left alone. metadata_size 0 makes a ring without a
 * metadata block, for frames alone (peers make such rings of raw bytes):
 * a writer's zb_writer_set_metadata there is ZB_EMSGSIZE, and the block
 * has no room for its note that the metadata did not fit (docs/PROTOCOL.md
 * §9.5), so the reader is not told why: it sees only the writer's frames,
 * if any, and its detach (ZB_EOF). Give a metadata size whenever the
 * writer sends metadata (zerosink's caps: 4096). payload_size 0, or a size
 * over ZB_MAX_PAYLOAD_SIZE / ZB_MAX_METADATA_SIZE: ZB_ESIZE. */
int zb_reader_create(zb_reader **out, const char *name, uint64_t metadata_size,
                     uint64_t payload_size, const zb_reader_options *opts);

/* Clears reader_pid and unlinks segment, semaphores and lock now (the
 * writer sees "reader gone"). Frames still held stay valid until released;
 * the mapping goes with the last of them. Must not race a zb_reader_next
 * in another thread (wake it and let it return first). In a child of
 * fork(), frees only the child's copy (see "After fork()" above). Accepts
 * NULL. */
void zb_reader_destroy(zb_reader *reader);

/* Unlinks segment, semaphores and lock now and nothing else: the ring goes
 * on working for this reader and its writer, which have it open, and no
 * name is left behind (for a process about to end by a signal). Once per
 * reader (zb_reader_destroy then unlinks nothing). Safe from any thread
 * at any time before zb_reader_destroy, also during zb_reader_next. Accepts
 * NULL. */
void zb_reader_unlink(zb_reader *reader);

/* NULL for NULL. */
const char *zb_reader_name(const zb_reader *reader);

/* The largest frame (payload bytes) that this ring can ever hold, as
 * zb_writer_max_frame_size tells its writer (0 for NULL): a reader that
 * knows the size of the writer's frames (from its metadata) can tell that
 * none will ever come; zb_payload_size_for(size, 1, frame_header) is then
 * the payload size needed, as the writer's ZB_EMSGSIZE names it. */
uint64_t zb_reader_max_frame_size(const zb_reader *reader);

/* The metadata content (without its length prefix), zero copy. *size is 0
 * (and *data NULL) while no writer has written metadata yet, and for empty
 * metadata (a length of 0: a peer writer's set_metadata(x, 0)). zerosink writes the JSON
 * object zb_writer_set_metadata describes, with "caps" (and "zerobuffer",
 * "camera_id", ... of its own). A writer's note that its metadata did not
 * fit (docs/PROTOCOL.md §9.5) is what the block holds then, and this gives
 * it, {"zerobuffer":{"metadata_needed":N}}, for the rest of the ring's
 * life: metadata is written once per ring, so a later writer's metadata
 * is refused against it (ZB_EMETADATA) and never replaces it. */
int zb_reader_metadata(zb_reader *reader, const uint8_t **data,
                       uint64_t *size);

/* Whether the metadata block holds the note of a writer whose metadata did
 * not fit (docs/PROTOCOL.md §9.5) instead of metadata: ZB_EMSGSIZE, with
 * zb_reader_next's message, once no writer is attached; 1 while a writer
 * is: the one that wrote it, before its detach (not yet a writer's word),
 * or a later one, whose frames zb_reader_next takes (the note stays);
 * 0 when the block holds no note (metadata, or nothing yet). Changes nothing
 * in the reader: may be called from any thread, while another waits. */
int zb_reader_metadata_note(zb_reader *reader);

/* Waits up to timeout_ms for the next frame (time the process was stopped
 * does not count, as zb_deadline counts it).
 * Returns 0 with *frame filled, or ZB_ETIMEDOUT (ZB_EAGAIN when timeout_ms
 * is 0 and no frame is ready), ZB_ECANCELED (zb_reader_wake),
 * ZB_EOF (the writer detached cleanly and every frame was read; a later call
 * waits for a new writer), ZB_EWRITERDEAD (reported once per dead writer),
 * ZB_EMSGSIZE (a writer's metadata did not fit the metadata block: its note
 * names the size needed, docs/PROTOCOL.md §9.5; every call after it that
 * finds no frame ready and no writer attached, instead of ZB_EOF or a
 * wait: while a later writer is attached its frames are taken as usual,
 * ZB_EAGAIN / ZB_ETIMEDOUT when none is ready, and once it has detached
 * and they were read, ZB_EMSGSIZE again, as the note stays),
 * ZB_ESEQUENCE or ZB_EPROTO (also, taking nothing, while a post of room
 * given back could not be made: sem-r's file written over; the post is
 * made once it is right), ZB_ESTATE in a child of fork() (see "After
 * fork()" above). Several frames may be held at once. One thread at a
 * time. */
int zb_reader_next(zb_reader *reader, zb_frame *frame, int timeout_ms);

/* Takes a frame only if one is ready now: 0, or ZB_EAGAIN (also when the
 * stream ended: the next zb_reader_next reports that), ZB_ESEQUENCE or
 * ZB_EPROTO as zb_reader_next. Never waits, never
 * consumes a wake-up and never looks at the writer's liveness (no /proc
 * read): for taking every ready frame after a zb_reader_next, in a batch. */
int zb_reader_take_ready(zb_reader *reader, zb_frame *frame);

/* Gives a frame's bytes back to the writer and ends the lease (clears
 * *frame). Any order, from any thread; bytes still return to the writer in
 * ring order. ZB_EINVAL when the frame is not held (released already), as
 * long as its reader lives: releasing a stale copy of a zb_frame after its
 * reader was freed (zb_reader_destroy, then the last lease released) reads
 * freed memory (undefined behaviour). Release each frame once, through one
 * copy. */
int zb_frame_release(zb_frame *frame);

/* zb_frame_release for `count` frames of one reader at once: the writer
 * gets their bytes back together, with one post of sem-r (one wake-up)
 * instead of one per frame. Releases every frame it can; ZB_EINVAL when one
 * was not held or belongs to another reader (with zb_frame_release's
 * limit: not for a stale copy once its reader was freed). */
int zb_frames_release(zb_frame *frames, size_t count);

/* A keep_address_range reader's address range, pinned: not unmapped while
 * a pin is held, also after zb_reader_destroy and past the 30 s grace (it
 * reads the ring until the last lease is gone, then zeros), so a pointer
 * whose lifetime the caller cannot bound (a garbage-collected buffer over a
 * frame's bytes, moved out of the binding's reach) never faults on a read
 * (writes: keep_address_range). Once the last pin is gone the range is
 * unmapped as usual (the first reader create or close after its grace). Pin while the reader is usable: before
 * zb_reader_destroy, or while a frame of it is held. ZB_EINVAL without
 * keep_address_range. Each pin is undone by one zb_range_unpin, from any
 * thread, also after the reader is gone. An unpin of a range that has no
 * pin left is ignored, while the range lives (its reader, or its grace, not
 * over). Once both are over the last unpin frees it, and another unpin
 * reads freed memory (undefined behaviour); while another pin is held, a
 * second unpin takes that one. Unpin each pin once. */
typedef struct zb_range zb_range;
int zb_reader_pin_range(zb_reader *reader, zb_range **range);
void zb_range_unpin(zb_range *range); /* accepts NULL */

/* Frames handed out and not released yet (0 for NULL). */
uint64_t zb_reader_held_frames(zb_reader *reader);

/* Where the ring's bytes are, seen by its reader, without a system call:
 * free for the writer, held by us (read and not given back yet: frames
 * held, frames released behind an older held one, skipped tails), and the
 * rest, written and not read yet. fits_largest: whether the writer could
 * place a frame as large as the largest read so far (`largest` payload
 * bytes; true before the first) at the position it has published, with the
 * wrap rules: when it is false and nothing is unread, a writer with such a
 * frame waits for us to give bytes back. From any thread, also while
 * another one reads. */
typedef struct zb_reader_room_info {
  uint64_t size, free, held, unread;
  uint64_t largest;
  bool fits_largest;
} zb_reader_room_info;

int zb_reader_room(zb_reader *reader, zb_reader_room_info *room);

/* zb_reader_room's `held` and `size` alone: one lock, no look at the
 * writer's side (no positions, no placement), for a check after every frame
 * taken. 0, or ZB_EINVAL when an argument is NULL. */
int zb_reader_held_bytes(zb_reader *reader, uint64_t *held, uint64_t *size);

/* Makes a pending (or the next) zb_reader_next() return ZB_ECANCELED,
 * whatever its timeout: also one of 0, unlike a zb_writer_reserve of 0
 * after zb_writer_wake (zb_reader_take_ready, which never waits, leaves the
 * wake pending). Safe from any thread and from signal handlers. Does
 * nothing for NULL. */
void zb_reader_wake(zb_reader *reader);

/* Waiting on an event loop instead of in zb_reader_next: the reader sleeps
 * on the ring's data semaphore itself, as one more sem_wait sleeper, e.g.
 * with an io_uring FUTEX_WAIT that the loop polls; the writer's post (from
 * any implementation: they all use POSIX named semaphores) wakes it.
 *
 * zb_reader_arm counts the caller as a sleeper on that semaphore and gives
 * its futex word (32 bits, process-shared: no FUTEX_PRIVATE_FLAG), which
 * reads 0 while nothing is posted: sleep while it is 0, with a bitset of
 * all ones. Idempotent. ZB_ENOTSUP where the layout of sem_t is not glibc's
 * known one (Linux, x86-64 or aarch64): then use zb_reader_next on a
 * thread. zb_reader_disarm undoes it (idempotent; zb_reader_destroy does it
 * too): disarm once the wait is over, or every post of the writer costs it
 * a futex wake. */
int zb_reader_arm(zb_reader *reader, const uint32_t **word);
void zb_reader_disarm(zb_reader *reader);

/* zb_reader_poll returns it: nothing yet, sleep on the word. */
#define ZB_POLL_SLEEP 1

/* One look of zb_reader_next(reader, frame, timeout_ms) begun at
 * started_ns (zb_now_ns()), never sleeping: first it takes every post the
 * word holds (as the sem wait of zb_reader_next takes its post), then it
 * returns what zb_reader_next would (0 with *frame filled, ZB_ETIMEDOUT
 * with the same message once the timeout has passed, ZB_ECANCELED after
 * zb_reader_wake, ZB_EOF, ZB_EWRITERDEAD, ...), or ZB_POLL_SLEEP: sleep
 * until the word is not 0 or *again_ms passed, then call it again. The
 * writer's liveness is checked (a /proc read) once per 50 ms (a liveness
 * slice) in which no frame came, posts or not, as zb_reader_next does;
 * *again_ms is at most that. Spurious wake-ups are fine. Same thread rules
 * as zb_reader_next. The timeout counts from started_ns, time stopped
 * included: a caller that must not count it keeps a zb_deadline and gives
 * zb_deadline_origin_ns. */
int zb_reader_poll(zb_reader *reader, zb_frame *frame, int timeout_ms,
                   uint64_t started_ns, int *again_ms);

/* ---------------------------------------------------------------- writer */

typedef struct zb_writer zb_writer;

/* Room for one frame inside the ring, filled in place and then committed
 * (or cancelled). A writer has any number of them in flight; they may be
 * filled, committed and cancelled in any order and from any thread, and
 * frames become visible in the order they were reserved. Cancelling one
 * leaves the others valid. Each holds the writer's mapping alive. */
typedef struct zb_reservation {
  uint8_t *data;      /* where the frame's bytes go, inside the ring */
  uint64_t size;      /* bytes reserved */
  zb_writer *writer;  /* the owner; NULL once committed or cancelled */
  uint64_t id;
} zb_reservation;

/* Connects to the ring NAME. Fails with ZB_EINVAL (out NULL), ZB_ENAME
 * (invalid name), ZB_ENOENT (no ring, or one its reader has not finished
 * creating), ZB_EPROTO (not a ZeroBuffer ring, an invalid OIEB, a
 * semaphore file written over or cut short), ZB_EREADERGONE (no live
 * reader), ZB_EBUSY (live writer), ZB_EACCES (the ring's files are not
 * this user's to open), or what opening and mapping them failed with
 * (ZB_EMFILE, ZB_ENFILE, ZB_ENOMEM, ...). */
int zb_writer_connect(zb_writer **out, const char *name);

/* Detaches now (writer_pid = 0: the reader sees end of stream once it has
 * drained the ring). Frames committed before the first reservation still
 * open were published; reservations still open are abandoned: their commit
 * fails with ZB_ESTATE, and their memory stays mapped until they are ended,
 * holding the bytes it had. Before writer_pid is cleared that memory is
 * given private pages of this process (the bytes beside it on its first
 * and last page with it), so that writes into an abandoned reservation
 * after the destroy stay there: the next writer to connect may place its
 * frames where it was at once. That costs a copy of each open reservation
 * (time and anonymous memory of its size, under the writer's lock): end
 * the reservations nobody will write into before the destroy. Bytes
 * written after the destroy may still end up in the next writer's frames:
 * - on the segment's first page, which holds the header and stays shared
 *   (a metadata block smaller than a page less 128 bytes puts the first
 *   payload bytes there; pages are 16 or 64 KiB on some kernels);
 * - where the kernel refuses the pages (out of memory,
 *   vm.overcommit_memory=2, vm.max_map_count);
 * - when written by the kernel or a device into pages pinned before the
 *   destroy (V4L2 USERPTR capture, io_uring fixed buffers, O_DIRECT or AIO
 *   in flight, RDMA or GPU-registered memory): the move changes only this
 *   process's page tables, the pinned pages stay the ring's. Do not hand
 *   reservations to such importers across a destroy.
 * Writes that race with the destroy itself may be lost, or left in the
 * ring. The bytes of this writer's holds are no longer kept for them:
 * read no held bytes after it (they may be the next writer's by then).
 * Waits in other threads return ZB_ECANCELED. Accepts NULL. */
void zb_writer_destroy(zb_writer *writer);

/* Another reference to the writer (NULL for NULL), for a thread that uses
 * it while another may destroy it; zb_writer_unref drops it. A destroyed
 * writer stays mapped while referenced; its calls that would write then
 * fail with ZB_ESTATE (reserve, write, set_metadata: the ring may have the
 * next writer already); those that only look (metadata, health, holds)
 * still answer; in the pages made private at the destroy they see the
 * bytes as they were then (health fails with ZB_EPROTO when the next
 * writer's frame headers it walks lie there). */
zb_writer *zb_writer_ref(zb_writer *writer);
void zb_writer_unref(zb_writer *writer);

/* NULL for NULL. */
const char *zb_writer_name(const zb_writer *writer);

/* The metadata the ring already holds (written by an earlier writer), zero
 * copy; *size is 0 when none was written yet, or when it is empty (a length
 * of 0, metadata_written_bytes 8: a peer writer's set_metadata(x, 0); then
 * zb_writer_set_metadata refuses, docs/PROTOCOL.md §2.2). A writer that reconnects
 * compares it with what it would write (docs/PROTOCOL.md §4: same caps, same
 * extensions) before calling zb_writer_set_metadata. */
int zb_writer_metadata(zb_writer *writer, const uint8_t **data,
                       uint64_t *size);

/* Writes the metadata once, before this writer's first frame (readers read
 * it once, before the first frame they take): ZB_ESTATE once this writer
 * has published a frame, was destroyed (zb_writer_ref), or in a child of
 * fork() (see "After fork()" above); ZB_EBUSY, as
 * zb_reservation_commit, while writer_pid is not its own. If the ring
 * already holds metadata (a writer reconnecting), succeeds when it is
 * byte-identical, else ZB_EMETADATA (also over empty metadata: a length of
 * 0 that an earlier writer wrote, and over an earlier writer's note that
 * its metadata did not fit, docs/PROTOCOL.md §9.5).
 * ZB_EMSGSIZE when they do not fit the ring's metadata block: unless this
 * writer then writes fitting metadata or a frame, zb_writer_destroy leaves
 * a note of the block size needed there for the reader, when the note fits
 * the block (not in a 0-byte one: zb_reader_create) (docs/PROTOCOL.md
 * §9.5), while writer_pid is still its own, and only when the reader is
 * ours (its lock file records it; a peer's reader would take the note for
 * metadata without caps). The bytes are opaque to the ring; zerosrc and
 * the Node API read the convention of GStreamer users of the protocol
 * (docs/PROTOCOL.md §2.2): a UTF-8 JSON object whose "caps" string gives
 * the frames' caps as gst_caps_to_string prints them, e.g.
 *   {"caps":"video/x-raw, format=(string)GRAY8, width=(int)640, height=(int)480, framerate=(fraction)30/1"}
 * (zerosrc fails without it unless its caps property is set). Each frame
 * is then one buffer of those caps; zb_metadata_declare_frame_header adds
 * the per-frame header's declaration to such an object. */
int zb_writer_set_metadata(zb_writer *writer, const void *data, uint64_t size);

/* Reserves room for a frame of size bytes after the reservations already
 * in flight. Waits up to timeout_ms for space (0: ZB_EAGAIN at once when
 * full; time the process was stopped, SIGSTOP or Ctrl-Z, does not count,
 * as zb_deadline counts it: its reader, stopped with it, gets the time it
 * missed). Fails at once with ZB_EMSGSIZE when the frame can never fit, and
 * also, in one corner of the protocol, for a frame up to
 * zb_writer_max_frame_size: when the previous frame left 1..15 bytes before
 * the ring's end (a small tail, too short for a wrap marker,
 * docs/PROTOCOL.md §6) and those bytes + 16 + size exceed the ring, the
 * frame fits neither there nor at 0; it fails so, whatever the reader
 * gives back, until a smaller frame moves the writer on (frames with
 * 16 + size within half the ring never meet it). And it fails
 * with ZB_EREADERGONE when the reader closed or died: once a call of this
 * writer found that, every later reserve, write and commit fails so too
 * (connect anew for the next reader); with ZB_EBUSY, as
 * zb_reservation_commit, while writer_pid is not this writer's; with
 * ZB_ESTATE in a child of fork() (see "After fork()" above). Any
 * thread. */
int zb_writer_reserve(zb_writer *writer, uint64_t size, zb_reservation *res,
                      int timeout_ms);

/* Commits a reservation with size bytes (1..res->size) and clears *res.
 * The frame is published as soon as every reservation before it is
 * committed or cancelled. ZB_EINVAL (reservation left open) for a bad
 * size; ZB_ESTATE when it is not open, or was abandoned by
 * zb_writer_destroy (then it is ended), or in a child of fork() (then it is
 * dropped, nothing published; see "After fork()" above); ZB_EREADERGONE, as
 * zb_writer_reserve, when the reader closed or died since, or ZB_EBUSY
 * when writer_pid is no longer ours (another process took the ring): the
 * reservation is dropped, and so are the frames committed behind it (as
 * zb_writer_destroy drops them; a hold of one stays without data until
 * released): nothing is published. Reservations still open then fail at
 * their own commit. */
int zb_reservation_commit(zb_reservation *res, uint64_t size);

/* Drops a reservation (nothing becomes visible) and clears *res; no effect
 * when it is not open. Once the ring was refused to the writer (a call
 * found its reader gone, or writer_pid is not its own), it writes nothing
 * into the ring, not even a wrap marker: the frames committed behind it are
 * dropped, as at a refused commit. */
void zb_reservation_cancel(zb_reservation *res);

/* A committed frame whose bytes the writer's process keeps using after
 * the reader released them (e.g. a duplex client that pushes an in-place
 * answer over its request's bytes, docs/PROTOCOL.md §9.4). The writer never
 * places a frame over held bytes: the room ahead of it ends at the oldest
 * held frame, as well as at the reader's free bytes, so holds kept too long
 * stop the writer (zb_writer_reserve waits for a release, then times out
 * saying so). A hold keeps the writer's mapping alive, also after
 * zb_writer_destroy, but not its bytes: once the writer is destroyed, the
 * next writer may write over them. */
typedef struct zb_hold {
  const uint8_t *data; /* the published frame's payload; NULL until then */
  uint64_t size;       /* payload bytes committed */
  zb_writer *writer;   /* the owner; NULL once released */
  uint64_t id;
} zb_hold;

/* zb_reservation_commit, and *hold on the frame's bytes. hold->data is set
 * when the frame is published by this commit; when a reservation before it
 * is still open, the frame is published later (moved down when an earlier
 * one is cancelled): then zb_hold_data tells where once it is. On failure
 * *hold is cleared. */
int zb_reservation_commit_hold(zb_reservation *res, uint64_t size,
                               zb_hold *hold);

/* Where a held frame's payload is (sets hold->data): NULL while it is not
 * published yet, or when the hold is released. */
const uint8_t *zb_hold_data(zb_hold *hold);

/* Ends a hold and clears *hold: the writer may place frames over its bytes
 * (a reserve waiting for them wakes at once). Any order, any thread; no
 * effect on a released hold. */
void zb_hold_release(zb_hold *hold);

/* The writer's holds: how many, their bytes (frame headers included), the
 * room ahead of the allocation position before the first held frame (the
 * payload size when none limits it), how many reserves in progress the
 * holds block right now, and whether a frame of `size` payload bytes
 * (0: not asked) would wait for holds now (the room the reader leaves
 * would do: its free bytes, never over bytes it has not read, as reserve
 * takes it). An adapter that sees holds block moves held bytes out
 * (copies them) and releases their holds. A corrupted segment answers
 * blocks_size false and leaves the last error as it was: the next reserve
 * reports it. */
typedef struct zb_writer_holds_info {
  uint64_t holds, bytes, room, blocked;
  bool blocks_size;
} zb_writer_holds_info;

int zb_writer_holds(zb_writer *writer, uint64_t size,
                    zb_writer_holds_info *info);

/* Reservations open now (neither committed nor cancelled): a frame
 * reserved now comes after each of them, whatever order they are
 * committed in. 0 for NULL. */
uint64_t zb_writer_open_reservations(zb_writer *writer);

/* reserve + copy + commit. */
int zb_writer_write(zb_writer *writer, const void *data, uint64_t size,
                    int timeout_ms);

/* Makes every wait pending in zb_writer_reserve() (or, when none is, the
 * next one) return ZB_ECANCELED. A reserve with timeout 0 does not wait:
 * it neither ends on a wake nor uses one up (ZB_EAGAIN when full), so a
 * wake made for a wait is not lost to a drop-if-full look. Safe from any
 * thread and from signal handlers. Does nothing for NULL. */
void zb_writer_wake(zb_writer *writer);

/* A state rather than a one-shot wake, as gst_buffer_pool_set_flushing:
 * while flushing is true, every zb_writer_reserve (and zb_writer_write)
 * that would wait for room returns ZB_ECANCELED at once, whenever it
 * started; setting it true ends the waits in progress so too (also when it
 * is false again before they look). A wake is taken by the waits that see
 * it: a reserve that starts just after another thread's wait took it waits
 * for room as if none was made, so a caller that stops (a stop, a flush,
 * end of stream) sets flushing, and no reserve of any thread waits past
 * it. A reserve that finds room still succeeds, and one with timeout 0
 * does not wait: ZB_EAGAIN when full, as ever (a drop-if-full look drops
 * the frame either way). A wait it ends uses up the wakes made before, as
 * a wait a wake ends does. False: reserves wait as before. Safe from any
 * thread, not from a signal handler (it takes the writer's lock:
 * zb_writer_wake is the one for those); does nothing for NULL or in a
 * child of fork(). */
void zb_writer_set_flushing(zb_writer *writer, bool flushing);

/* How many zb_writer_wake calls this writer has had (0 for NULL): the
 * count zb_writer_reserve_since takes. Safe from any thread. */
uint64_t zb_writer_wakes(const zb_writer *writer);

/* zb_writer_reserve, but the wait ends with ZB_ECANCELED on any wake made
 * after the count WAKES (zb_writer_wakes) was read, also one another
 * thread's wait took already: for one-shot wakes a caller pairs with a
 * flag of its own (a GCancellable). Read the count, then look at the flag,
 * then reserve; a waker that sets the flag before it wakes then ends the
 * reserve whatever other waits took, as either the look saw the flag or
 * the count has moved since. A wait it ends takes the wakes made before,
 * as one of zb_writer_reserve does; it finds room or does not wait
 * (timeout 0) as zb_writer_reserve, and flushing ends it so too. Any
 * thread. */
int zb_writer_reserve_since(zb_writer *writer, uint64_t size,
                            zb_reservation *res, int timeout_ms,
                            uint64_t wakes);

/* The largest frame (payload bytes) that this ring can ever hold (0 for
 * NULL). */
uint64_t zb_writer_max_frame_size(const zb_writer *writer);

/* ---------------------------------------------------------------- sizing */

/* Payload ring bytes that hold `frames` frames of frame_size bytes each
 * (+ ZB_EXT_HEADER_SIZE with the per-frame header): frames × (16 + size),
 * rounded up to 64 as the ring is, plus room for a wrap marker where the
 * rounding would leave a 1..15-byte tail. 0 when an argument is 0 or the
 * result exceeds ZB_MAX_PAYLOAD_SIZE. */
uint64_t zb_payload_size_for(uint64_t frame_size, unsigned frames,
                             bool frame_header);

/* The frames in flight a ring of frames of this size holds by default
 * (measured in docs/BENCHMARKS.md in the repository): frames from 256 KiB on, as many as fit in
 * 32 MiB, 2 to 4 (more ran no faster at 4K); smaller
 * frames, a ring of about 1 MiB, 4 to 64, so that a reader takes many per
 * wake-up. */
unsigned zb_default_frames_in_flight(uint64_t frame_size);

/* The payload size a reader picks by default for frames of frame_size
 * bytes: zb_default_frames_in_flight of them, with room for the per-frame
 * header (a writer may add it). frame_size 0 (unknown): 3 frames of 1080p
 * RGB. 0 when frames that large cannot fit any ring. */
uint64_t zb_default_payload_size(uint64_t frame_size);

/* The payload size a reader picks by default for raw audio of
 * bytes_per_second (rate × channels × bytes per sample, planar or
 * interleaved alike): a second of it, with room for a buffer of that
 * whole second (zb_payload_size_for(bytes_per_second, 1, true)), at least
 * 64 KiB (several of the largest buffers common sources push at low
 * rates), at most the fallback of zb_default_payload_size(0), which 0
 * (unknown) also gives. Rounded up to 64. */
uint64_t zb_default_payload_size_for_rate(uint64_t bytes_per_second);

/* ------------------------------------------- per-frame header (opt-in) */

/* Our extension (docs/PROTOCOL.md §9.1, "Per-frame header"): when the metadata JSON
 * declares "zerobuffer": {"frame_header": 1}, every frame's payload starts
 * with this 48-byte header, then the buffer bytes. Off unless declared: a
 * peer reader would take the header for image bytes. */
#define ZB_EXT_HEADER_SIZE 48
#define ZB_EXT_MAGIC UINT32_C(0x4846425A) /* "ZBFH" */
#define ZB_EXT_NONE UINT64_MAX            /* no PTS / DTS / duration */

/* Per-frame attributes (e.g. an image id) may follow the fixed 48 bytes:
 * header_size is then 48 + their count, and readers that do not know them
 * skip them with the rest of the header. Their bytes are opaque here; the
 * Node API writes a UTF-8 JSON object padded with spaces to a multiple of 8
 * (so the buffer bytes stay 8-byte aligned). */
#define ZB_EXT_MAX_ATTRS_SIZE (UINT16_MAX - ZB_EXT_HEADER_SIZE)

/* zb_frame_ext.zb_flags. ZB_EXT_IN_PLACE: a duplex response that answers
 * its request in place: the answer is the request's bytes as the server
 * left them in the request ring, and the response has no bytes after its
 * header. Only sent to a client whose request metadata declares
 * "zerobuffer": {"in_place": 1} (docs/PROTOCOL.md §9.4). */
#define ZB_EXT_IN_PLACE UINT32_C(1)

typedef struct zb_frame_ext {
  uint64_t pts, dts, duration; /* nanoseconds, or ZB_EXT_NONE */
  uint64_t commit_ns;          /* writer's CLOCK_MONOTONIC at commit */
  uint32_t flags;              /* GstBufferFlags of the buffer */
  uint32_t zb_flags;           /* ours: ZB_EXT_IN_PLACE */
  const uint8_t *data;         /* parse: the buffer bytes after the header */
  uint64_t size;               /* parse: their count */
  const uint8_t *attrs;        /* attributes after the fixed 48 bytes (or NULL) */
  uint64_t attrs_size;         /* their count, at most ZB_EXT_MAX_ATTRS_SIZE */
} zb_frame_ext;

/* Writes the header to dst (ZB_EXT_HEADER_SIZE + ext->attrs_size bytes, e.g.
 * at the start of a reservation of that + buffer size), attributes
 * included. commit_ns is stamped now when ext->commit_ns is 0; data/size are
 * ignored. The caller keeps attrs_size within ZB_EXT_MAX_ATTRS_SIZE. Does
 * nothing when dst or ext is NULL. */
void zb_frame_ext_write(void *dst, const zb_frame_ext *ext);

/* Decodes the header at the start of a frame's payload (attrs/attrs_size:
 * what lies between the fixed 48 bytes and header_size); ZB_EPROTO when the
 * magic is wrong or the header does not fit the frame. */
int zb_frame_ext_parse(const uint8_t *payload, uint64_t size,
                       zb_frame_ext *ext);

/* The per-frame header version that metadata (as written by a writer)
 * declares: 0 when none (also when it is not a JSON object), N >= 1, or
 * ZB_EPROTO when its "zerobuffer" member cannot be read. */
int zb_metadata_frame_header(const uint8_t *metadata, uint64_t size);

/* Copies the metadata JSON object `json` to out with the per-frame header
 * declared (version 1), and its length to *out_size; out may be NULL to
 * learn the length. Unchanged when it declares version 1 already;
 * ZB_EINVAL when it is not a JSON object or out is too small, ZB_EMETADATA
 * when it declares another version. */
int zb_metadata_declare_frame_header(const uint8_t *json, uint64_t size,
                                     uint8_t *out, uint64_t cap,
                                     uint64_t *out_size);

/* Whether metadata (as written by a duplex client into its request ring)
 * accepts in-place answers, "zerobuffer": {"in_place": 1}: its version, 0
 * when not declared (also when it is not a JSON object), N >= 1, or
 * ZB_EPROTO when its "zerobuffer" member cannot be read. */
int zb_metadata_in_place(const uint8_t *metadata, uint64_t size);

/* As zb_metadata_declare_frame_header, for "in_place": 1. */
int zb_metadata_declare_in_place(const uint8_t *json, uint64_t size,
                                 uint8_t *out, uint64_t cap,
                                 uint64_t *out_size);

/* CLOCK_MONOTONIC in nanoseconds: the clock of commit_ns. */
uint64_t zb_now_ns(void);

/* A timeout that counts only time the process ran, as the core's own timed
 * waits (zb_reader_next, zb_writer_reserve) count theirs: time it was
 * stopped (SIGSTOP; Ctrl-Z stops a whole job, the peer with it) does not
 * count, so that a wait does not fail at SIGCONT before the peer, continued
 * too, had time to act. No clock leaves that time out, so it is inferred:
 * a look at the clock more than ZB_STOPPED_GAP_MS after the end of the wait
 * the deadline's last look asked for, while the process's CPU time moved
 * no more than its rate before explains, takes the time since that end as
 * stopped. What one look finds counts for every deadline of the process
 * that lived through it (a long wait cut short by a wake misses a stop
 * another wait saw). Where the kernel tells a thread's time waiting to
 * run (/proc/thread-self/schedstat), a look whose thread ran or waited to
 * run for over half the late time is not taken for stopped either: a busy
 * caller starved of the CPU (a loaded host) gets under half of it, but a
 * stopped one neither runs nor waits to. So a stop under a second counts
 * as time running; a caller busy between its looks is not taken for
 * stopped (its CPU time runs, or it waits to run), but one blocked
 * elsewhere while the rest of the process idles is, as are a debugger's
 * stop and a paused VM.
 * The CPU rate is sampled at looks, at most every 200 ms: a deadline of a
 * busy process that looks seldom (slices of seconds) may not tell a stop.
 * Allocated by the caller; timeout_ms is the caller's to change between
 * looks (counted from the start), the rest is the core's. */
#define ZB_STOPPED_GAP_MS 1000
typedef struct zb_deadline {
  int timeout_ms; /* ZB_WAIT_FOREVER (or below): without limit */
  int wait_ms;
  uint64_t start_ns, skipped_ns, looked_ns, stops_seen, skip_from_ns,
      skip_until_ns;
  uint64_t reserved[2]; /* room to grow within soname .0 */
} zb_deadline;

/* Starts counting timeout_ms (>= 0, or ZB_WAIT_FOREVER) from now: 0, or
 * ZB_EINVAL for a NULL deadline or a timeout below ZB_WAIT_FOREVER. */
int zb_deadline_start(zb_deadline *deadline, int timeout_ms);

/* One look at the clock, made right before a wait: how many ms to wait,
 * the least of slice_ms and what is left of the timeout rounded up
 * (slice_ms without limit), or 0 once it has passed. Wait no longer than
 * that before the next look: a look later than that by over
 * ZB_STOPPED_GAP_MS may be taken as time stopped (see above). ZB_EINVAL
 * (negative) for a NULL deadline or slice_ms <= 0. */
int zb_deadline_wait_ms(zb_deadline *deadline, int slice_ms);

/* Time that does not count for a reason the caller measured itself (a
 * pipeline paused): the ns up to now (not before the start or an earlier
 * skip; a stop found in it is not counted twice). No-op on NULL. */
void zb_deadline_skip(zb_deadline *deadline, uint64_t ns);

/* The start moved on by the time not counted so far (for zb_reader_poll's
 * started_ns); 0 for NULL. */
uint64_t zb_deadline_origin_ns(const zb_deadline *deadline);

/* --------------------------------------------------------------- duplex */

/* A duplex channel NAME (the peers' request/response pair, docs/DUPLEX.md)
 * is two ordinary rings: NAME_request, created and read by the server,
 * written by the client; NAME_response, created and read by the client,
 * written by the server once it exists. Response N answers request N. */
typedef enum zb_duplex_ring {
  ZB_DUPLEX_REQUEST = 0,
  ZB_DUPLEX_RESPONSE = 1
} zb_duplex_ring;

/* How often the peers' servers look for NAME_response after creating
 * NAME_request, and how long the C++ one keeps looking before it gives up
 * (a client creates NAME_response as soon as it finds NAME_request). */
#define ZB_DUPLEX_CONNECT_RETRY_MS 100
#define ZB_DUPLEX_PEER_CONNECT_TIMEOUT_MS 5000

/* Requests a client (zerofilter's `depth`) lets wait for their answers by
 * default; what a server sizes NAME_request for when it does not know. */
#define ZB_DUPLEX_DEFAULT_DEPTH 2

/* The longest channel name, in bytes: NAME_response must be a ring name. */
#define ZB_DUPLEX_CHANNEL_MAX (ZB_NAME_MAX - (int)(sizeof "_response" - 1))

/* Writes the name of the channel's ring to out (cap bytes, NUL included):
 * ZB_ENAME when the channel name is longer than ZB_DUPLEX_CHANNEL_MAX or the
 * result is not a valid ring name, ZB_EINVAL when it does not fit out. */
int zb_duplex_ring_name(const char *channel, zb_duplex_ring ring, char *out,
                        size_t cap);

/* Pairing by order: a client counts the requests it published
 * (requests++ after each commit) and hands every response's sequence
 * number (as its reader saw it, per server connection) to zb_duplex_pair,
 * which accepts it only as the answer to the oldest unanswered request:
 * 0, or ZB_ESEQUENCE when no request waits or the sequence is not the
 * next (a lost, repeated or restarted response stream). Start both
 * counts at 0 for each server connection. An answer given twice, its
 * sequence numbers still following, pairs here: zb_duplex_check_answers
 * sees it. */
typedef struct zb_duplex_pairing {
  uint64_t requests;  /* published */
  uint64_t responses; /* answered */
} zb_duplex_pairing;

int zb_duplex_pair(zb_duplex_pairing *pairing, uint64_t response_sequence);

/* Whether answers waiting in NAME_response outnumber the requests waiting
 * for one. A server that answers a request twice (or answers one never
 * sent) numbers its answers on, so zb_duplex_pair cannot see it: each
 * surplus answer pairs, by order, with a later request, whose answer it is
 * not. `answers`: the responses published in NAME_response and not taken
 * yet (zb_reader_unread_frames from the thread that takes, or a health
 * snapshot's frames_unread, which may be low, never high), plus those
 * taken and not handed to zb_duplex_pair yet; `sending`: requests being
 * published that pairing->requests does not count yet (an answer to one
 * may already be there: count it, or pass it here, before its commit).
 * A server that answers each request once, in place or not, never has more
 * answers out than requests published. 0, or ZB_ESEQUENCE naming
 * response_ring, the answers' sequence numbers and the counts. */
int zb_duplex_check_answers(const zb_duplex_pairing *pairing,
                            uint64_t sending, uint64_t answers,
                            const char *response_ring);

/* Whether a server's response ring and its request ring belong to the same
 * client, from health snapshots of both (zb_writer_health of the server's
 * writer of NAME_response, zb_reader_health of its reader of NAME_request,
 * or zb_health_read): a client is one process that writes NAME_request and
 * creates and reads NAME_response (ours, and the C++, C# and Python ones),
 * so the response ring's reader_pid is the request ring's writer_pid. A
 * server takes a response ring only when they pair: the one it finds may be
 * a predecessor's whose reader has not gone yet. Both pids are the client's
 * own, each as it sees itself, so the comparison holds in a pid namespace
 * other than the server's (a container), where probing the pid would not.
 * 1 when they pair; 0 when not: no writer on the request ring (yet or any
 * more), the response ring's reader gone (reader_pid 0), or another
 * process's ring; ZB_EINVAL on NULL. */
struct zb_health; /* below */
int zb_duplex_same_client(const struct zb_health *request,
                          const struct zb_health *response);

/* The payload size of either ring of a channel by default, for frames of
 * frame_size bytes (per-frame header room included) with up to depth
 * requests in flight: the readers' frames in flight for that size
 * (zb_default_frames_in_flight), and at least depth + 3. NAME_response
 * (the client's) holds the responses to the depth requests waiting, the
 * one being pushed downstream, the one a sink keeps as its last sample,
 * and one the server reserves meanwhile (with depth + 1, 1080p and 4K
 * round trips lost 20-60 %, docs/BENCHMARKS.md in the repository). NAME_request (the
 * server's) holds as many when answers are in place: the requests
 * waiting, the two downstream keeps of the answered ones, the one being
 * written. frame_size 0: the readers' default (zb_default_payload_size).
 * 0 when frames that large, or that many, cannot fit any ring. */
uint64_t zb_duplex_payload_size(uint64_t frame_size, unsigned depth);

/* The same for raw audio of bytes_per_second (rate × channels × bytes per
 * sample), whose buffers are of any length: depth + 3 of them of up to a
 * second each (audiotestsrc samplesperbuffer=48000 at 48 kHz; common
 * sources push 5 to 96 ms), per-frame header room included, and at least
 * a reader's ring of it (zb_default_payload_size_for_rate: a second,
 * which holds depth + 3 buffers only of up to 1 / (depth + 3) s).
 * bytes_per_second 0 (unknown): zb_default_payload_size(0). 0 when that
 * much cannot fit any ring. */
uint64_t zb_duplex_payload_size_for_rate(uint64_t bytes_per_second,
                                         unsigned depth);

/* ---------------------------------------------------------------- health */

/* Utilisation bands of a ring, from the protocol's capacity guidance
 * (docs/PROTOCOL.md §8, "Health bands"): healthy below 80 % of the payload
 * ring in use, degraded from 80 % to 95 % (the reader falls behind: worth a
 * warning), critical above 95 % (frames are about to be lost). Defined here
 * only; the addon, the CLI and the stats lines take them from here. */
#define ZB_BAND_DEGRADED_PERCENT 80.0
#define ZB_BAND_CRITICAL_PERCENT 95.0

typedef enum zb_band {
  ZB_BAND_HEALTHY,
  ZB_BAND_DEGRADED,
  ZB_BAND_CRITICAL
} zb_band;

/* The band of a utilisation (percent of the payload ring in use). */
zb_band zb_band_of(double utilisation_percent);
/* "healthy", "degraded", "critical". */
const char *zb_band_name(zb_band band);

typedef struct zb_health {
  uint8_t version[4];
  uint64_t metadata_size;         /* block size (rounded) */
  uint64_t metadata_written_bytes; /* 8 + length, or 0 */
  uint64_t payload_size;          /* ring size (rounded) */
  uint64_t payload_free_bytes;
  uint64_t payload_used_bytes;
  double utilisation_percent;     /* used / size * 100 */
  uint64_t write_pos, read_pos;
  uint64_t written_count, read_count; /* wrap markers included; our
                                         writer also counts a small tail,
                                         our reader does not (one apart
                                         per tail, docs/PROTOCOL.md §3) */
  uint64_t writer_pid, reader_pid;    /* 0 when none */
  bool writer_alive, reader_alive;
  /* The reader's backlog, from the frame headers: frames it has not read
   * yet, and frames it has read but not given back (held, or released
   * behind one held: room goes back in ring order). */
  uint64_t frames_unread, frames_held;
  zb_band band;                       /* of utilisation_percent */
} zb_health;

/* Snapshot of a ring's OIEB, by name; works on rings owned by others.
 * The segment is mapped read-only and never modified. ZB_EPROTO for free
 * bytes past the ring, and, with the reader's message, for an unread entry
 * the reader will refuse (one past the writer's position, ...): all three
 * walk the unread entries by the reader's rules (told only when the reader
 * did not move during the walk; a whole lap unread is not walked, as
 * nothing outside the reader tells it from an empty ring, docs/PROTOCOL.md
 * §8). A segment that is not ready (empty, or a
 * zero header) is judged by its lock file as a connecting writer judges it
 * (docs/PROTOCOL.md §4, "Writer connect"): ZB_ENOENT while a live reader
 * holds the lock (still being created; try again), ZB_EREADERGONE when none
 * does and a reader of the name (or zb_ring_remove_stale) would remove it as
 * a dead creator's leftover ("left half-created"), ZB_EPROTO when a reader
 * would refuse it too. */
int zb_health_read(const char *name, zb_health *health);
int zb_reader_health(zb_reader *reader, zb_health *health);
/* Of the frames published and not taken yet, how many start a writer's
 * stream (sequence 1: every writer counts from 1 per connection). A frame
 * taken while another stream starts behind it was written by a writer that
 * has left since, whatever writer_pid says now (a duplex server must not
 * answer it into the current client's ring). Walks the entries from the
 * reader's position to the writer's, as the reader takes them: call it
 * between takes, from the thread that takes. Counts stop at an entry that
 * the reader would refuse (past the writer's position, ...); a whole lap
 * unread counts 0. */
int zb_reader_unread_stream_starts(zb_reader *reader, uint64_t *count);
/* Frames published and not taken yet, counted as
 * zb_reader_unread_stream_starts counts (the same walk, the same thread
 * rule): exact between takes, where a health snapshot's frames_unread,
 * taken while the writer moves, may be low. */
int zb_reader_unread_frames(zb_reader *reader, uint64_t *count);
int zb_writer_health(zb_writer *writer, zb_health *health);

/* --------------------------------------------------------------- copying */

/* memcpy for frame bytes (the ranges must not overlap). glibc's x86 memcpy
 * copies 2 KiB to 512 KiB with `rep movsb`, which some CPUs run 6 to 15
 * times slower when the destination is a few bytes past the source modulo
 * 4096 (glibc bug 30994; AMD EPYC here, 4 to 28 bytes measured slow):
 * frames of a fixed size moving through a ring (16 + size bytes apart) land
 * there in turn. Copies of 2 KiB to 512 KiB whose destination is 1 to 63
 * bytes past the source go in 1 KiB pieces, below glibc's `rep movsb`
 * threshold (a margin around the measured range); every other copy is one
 * memcpy. */
void zb_copy(void *dst, const void *src, size_t size);

/* ----------------------------------------------------------- maintenance */

typedef struct zb_ring_entry {
  char name[ZB_NAME_MAX + 1];
  bool has_segment;  /* /dev/shm/NAME exists */
  bool has_lock;     /* its lock file exists */
  bool has_semaphores; /* a semaphore file of it (not a directory) */
  bool reader_alive; /* holds the lock, or is the live process it names */
  bool writer_alive;
  /* Its lock file or its segment could not be read (another user's, or a
   * mode that shuts its owner out: permission denied), and no live reader
   * was seen: reader_alive and writer_alive are unknown (false), and the
   * ring is not stale by them; only its owner (or root) can tell. */
  bool access_denied;
} zb_ring_entry;

/* Calls visit once per ring found (lock files, and semaphores, also stray
 * ones with nothing else left), in name order; stops at a non-zero return of visit and
 * returns it. A ring with neither a live reader nor a live writer, whose
 * access was not denied, is stale. */
int zb_rings_list(int (*visit)(const zb_ring_entry *ring, void *user),
                  void *user);

/* Removes the segment, semaphores and lock file of NAME when neither its
 * reader nor its writer is alive; ZB_EBUSY (nothing removed) when one is,
 * ZB_ENOENT when there is no such ring, ZB_EACCES / ZB_EPROTO (nothing
 * removed) when its files belong to another user or /dev/shm/NAME is not a
 * ZeroBuffer ring. By name it removes what a reader creating NAME would
 * remove, also what zb_rings_list does not find: an empty /dev/shm/NAME of
 * this user that no live reader's lock holds (a creator killed before it
 * sized it; it holds nothing), with or without a lock file. */
int zb_ring_remove_stale(const char *name);
/* What zb_ring_remove_stale(name) would return, with the same message,
 * removing nothing (a dry run): 0 when it would remove the ring. */
int zb_ring_check_stale(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* ZEROBUFFER_H */

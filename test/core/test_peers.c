/* test_peers.c — our core against writers and a reader that behave like the
 * other implementations (test/peer/emulated.h, docs/PROTOCOL.md §7, "Peer
 * quirks"), as property tests: random rings of 4 KiB..1 MiB, random frame
 * sizes up to half the ring, chosen so that frames end exactly at the end
 * of the ring, leave 1..15-byte tails and wrap, thousands of times a run.
 *
 *   writers  the C++-like and the Python-like writer (a child process)
 *            into our reader, which holds up to 2 frames (when they are
 *            small enough for that) and releases them in any order (at
 *            random, or keeping the oldest as long as the writer has room),
 *            letting the oldest go before the bytes it pins leave the
 *            writer no room: every frame once, in order, byte-exact (hash of the
 *            bytes and of the sizes), no error, no stall; the run must have
 *            hit exact ends, small tails and markers (and, Python, phantom
 *            counts).
 *   reader   our writer into the C++-like reader (a child process) holding
 *            0 or 1 frames: the same, with exact ends and markers (our
 *            writer leaves no small tail behind a frame); and with our
 *            writer's early wrap (docs/PROTOCOL.md §6), by default for
 *            frames of 256 KiB and more and forced for small ones: the
 *            run must have wrapped early.
 *   half     frames near half of a 1024-byte ring (484, 494, 100 bytes,
 *            interop finding 1): our writer into the emulated reader that
 *            takes a small tail as an implicit wrap, and into our reader in
 *            lockstep: no write waits; over half the ring, the timeout's
 *            message says why the frame cannot be placed.
 *   issue    the Python writer's case that broke our reader: sizes 1..5000,
 *            a 64 KiB ring, 30000 frames; and the C++ writer likewise.
 *   note     our writer whose metadata does not fit a peer reader's block
 *            leaves no metadata_needed note there, so a later writer's
 *            metadata fits (a lock file without our readers' record).
 *   plain    the C++-like and Python-like writers and the C++-like reader
 *            changing payload_free_bytes with a plain load and store (an
 *            update of ours in between lost): no "buffer is full" on an
 *            empty ring, no frame placed over an unread one, no EPROTO;
 *            all the room back at the end of a stream; a frame the
 *            C++-like reader holds across our writer's reset of free
 *            bytes above P is not written over, and the room that reset
 *            kept for it comes back when it holds none; a writer that
 *            came after another keeps half the ring for the earlier one's
 *            frame; the reset never goes below our open reservations;
 *            zb_writer_holds answers with the room the reader leaves.
 *   filling  our writer connecting while the C++-like reader fills the
 *            header field by field waits for it and connects; a header
 *            left half-filled is told apart from an impossible one.
 *
 * Runs are seeded; each prints its seed. ZB_PEERS_SEED=N reruns from seed
 * N, ZB_PEERS_RUNS=K sets the runs per pairing (default 6), ZB_PEERS_ONLY=TEXT
 * runs only the tests whose names contain TEXT. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../peer/emulated.h"
#include "../peer/frame-gen.h"
#include "zb_ring.h"
#include "zb_test.h"
#include "zb_test_hooks.h"
#include "zerobuffer.h"

#define WAIT_MS 10000

/* The emulated peers change payload_free_bytes with a plain load and store,
 * as the C++ and Python ones do (docs/PROTOCOL.md §7, "Lost updates"). */
static int peers_update_plainly;

static uint64_t rng_state;

static uint64_t rnd(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static uint64_t rnd_between(uint64_t lo, uint64_t hi) {
  return lo + rnd() % (hi - lo + 1);
}

/* A ring of 4 KiB..1 MiB, sizes favouring the small end (log-uniform). */
static uint64_t random_ring(void) {
  unsigned shift = (unsigned)rnd_between(12, 19);
  return ((uint64_t)1 << shift) + rnd_between(0, ((uint64_t)1 << shift) - 1) / 64 * 64;
}

/* Frames for a run: hundreds of laps of small rings, fewer of big ones (at
 * most 48 MiB a run); about one frame in four wraps either way. */
static uint64_t frames_for(uint64_t ring, uint64_t max) {
  uint64_t mean = max / 2 + 16, frames = ((uint64_t)48 << 20) / mean;
  (void)ring;
  if (frames > 4000)
    frames = 4000;
  return frames < 200 ? 200 : frames;
}

typedef struct shared_result {
  int status;
  emu_stats stats;
  char err[512];
} shared_result;

static shared_result *shared_page(void) {
  void *p = mmap(NULL, sizeof(shared_result), PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    perror("mmap");
    exit(1);
  }
  memset(p, 0, sizeof(shared_result));
  return p;
}

static int wait_child(pid_t pid) {
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static const char *kind_name(emu_kind kind) {
  return kind == EMU_CPP ? "C++-like" : "Python-like";
}

/* ------------------------------------------- emulated writer -> our reader */

#define BATCH_MAX 8

typedef struct held {
  zb_frame frames[BATCH_MAX]; /* up to 2 held and the one just read, or a batch */
  unsigned n;
} held;

/* Releases one held frame, picked at random: bytes still go back in ring
 * order (the core's job), whatever the order of releases. */
static void release_one(held *h) {
  unsigned k = (unsigned)rnd_between(0, h->n - 1);
  CHECK_RC(zb_frame_release(&h->frames[k]), 0);
  h->frames[k] = h->frames[--h->n];
}

/* The held frame with the lowest sequence (one writer per run): the one
 * that pins the ring. */
static unsigned oldest_held(const held *h) {
  unsigned k, oldest = 0;
  for (k = 1; k < h->n; k++)
    if (h->frames[k].sequence < h->frames[oldest].sequence)
      oldest = k;
  return oldest;
}

static void release_at(held *h, unsigned k) {
  CHECK_RC(zb_frame_release(&h->frames[k]), 0);
  h->frames[k] = h->frames[--h->n];
}

/* How the reader of writer_run picks the frame to release when it holds
 * more than it may: at random, or always the newest, so that the oldest
 * stays held as long as the writer has room for the next frame (the bytes
 * behind it then go back late, all at once, with one post of sem-r). */
enum { HOLD_RANDOM, HOLD_OLDEST };

/* What the core has not given back (zb_reader_held_bytes), as it must be:
 * not the held frames' own bytes but everything from the oldest of them to
 * the end of the frame just read (`end`), since bytes go back in ring order
 * (docs/PROTOCOL.md §3, "Ring order"): frames released behind it and
 * skipped tails included. Nothing when none is held. */
static uint64_t pinned_bytes(const held *h, const uint8_t *payload,
                             uint64_t ring, uint64_t end) {
  uint64_t start;
  if (h->n == 0)
    return 0;
  start = (uint64_t)(h->frames[oldest_held(h)].data - payload) - 16;
  return end > start ? end - start : ring - start + end;
}

/* batch 0: the reader holds up to 2 frames and releases them one by one in
 * any order (hold: HOLD_RANDOM or HOLD_OLDEST); batch N: it holds N and
 * releases them with one zb_frames_release (one post of sem-r for all of
 * them). After every frame the bytes the core holds back must be exactly
 * those from the oldest held frame on. */
static void writer_run(emu_kind kind, uint64_t ring, uint64_t min, uint64_t max,
                       uint64_t frames, int edge, uint64_t seed, unsigned batch,
                       int hold) {
  const char *name = zb_test_name("peerw");
  shared_result *res = shared_page();
  /* 2 held + a tail + the next frame fit; what the oldest pins besides is
   * bounded below */
  unsigned max_held = max * 8 <= ring ? 2 : 0;
  uint8_t *want = malloc(max);
  emu_stats ours;
  zb_reader *r = NULL;
  held h = {{{0}}, 0};
  const uint8_t *payload = NULL;
  uint64_t seq, let_go = 0, late_bytes = 0, pinned;
  pid_t pid;
  int rc, status, failures = zb_test_failures;

  emu_stats_init(&ours);
  CHECK_RC(zb_reader_create(&r, name, 256, ring, NULL), 0);
  if (r == NULL || want == NULL)
    goto out;
  {
    zb_health hl;
    CHECK_RC(zb_reader_health(r, &hl), 0);
    payload = zb__reader_segment(r) + 128 + hl.metadata_size;
  }
  pid = fork();
  if (pid == 0) {
    emu_write_opts o = {kind, frames, seed, min, max, edge, "{}", 5000,
                        peers_update_plainly, 0, 0, 0};
    res->status = emu_write(name, &o, &res->stats, res->err, sizeof res->err);
    _exit(0);
  }
  for (seq = 1; seq <= frames; seq++) {
    zb_frame f;
    zb_gen g;
    rc = zb_reader_next(r, &f, WAIT_MS);
    if (rc != 0) {
      CHECK_RC(rc, 0);
      fprintf(stderr, "  frame %llu of %llu\n", (unsigned long long)seq,
              (unsigned long long)frames);
      break;
    }
    zb_gen_start(&g, seed, seq);
    zb_gen_fill(&g, want, f.size <= max ? f.size : 0);
    if (f.sequence != seq || f.size > max || f.size < min ||
        memcmp(f.data, want, f.size) != 0) {
      zb_test_failures++;
      fprintf(stderr, "  frame %llu: sequence %llu, %llu bytes, content %s\n",
              (unsigned long long)seq, (unsigned long long)f.sequence,
              (unsigned long long)f.size,
              f.size <= max && memcmp(f.data, want, f.size) == 0 ? "ok" : "differs");
      break;
    }
    emu_stats_frame(&ours, f.data, f.size);
    h.frames[h.n++] = f;
    if (batch > 0 && h.n == batch) {
      CHECK_RC(zb_frames_release(h.frames, h.n), 0);
      CHECK(h.frames[0].reader == NULL && h.frames[h.n - 1].reader == NULL);
      h.n = 0;
    }
    if (batch == 0 && hold == HOLD_OLDEST) {
      while (h.n > max_held) { /* the newest, so the oldest stays */
        unsigned k, newest = 0;
        for (k = 1; k < h.n; k++)
          if (h.frames[k].sequence > h.frames[newest].sequence)
            newest = k;
        release_at(&h, newest);
      }
    }
    while (batch == 0 && hold == HOLD_RANDOM &&
           (h.n > max_held || (h.n > 0 && rnd() % 2 == 0)))
      release_one(&h);
    /* Nothing lost, nothing given back early: the core holds back exactly
     * the bytes from the oldest held frame on. */
    CHECK_RC(zb_reader_held_bytes(r, &pinned, &(uint64_t){0}), 0);
    if (pinned != pinned_bytes(&h, payload, ring,
                               (uint64_t)(f.data - payload) + f.size)) {
      CHECK_EQ_U64(pinned, pinned_bytes(&h, payload, ring,
                                        (uint64_t)(f.data - payload) + f.size));
      fprintf(stderr, "  frame %llu: %u held\n", (unsigned long long)seq, h.n);
      break;
    }
    /* The writer can only fill the ring up to the oldest held frame, and
     * the next frame may need a tail and itself, under 2 * (16 + max)
     * bytes. A reader that holds a frame while the writer comes round a
     * whole lap to it, and waits for the next frame before it releases
     * anything, deadlocks the writer ("buffer is full" with the ring
     * read to the end): let the oldest go first, as zerosrc moves such a
     * buffer out of the ring. The bytes behind it go back with it. */
    while (batch == 0 && h.n > 0 && pinned + 2 * (16 + max) > ring) {
      uint64_t before = pinned;
      unsigned k = oldest_held(&h);
      uint64_t own = 16 + h.frames[k].size;
      release_at(&h, k);
      CHECK_RC(zb_reader_held_bytes(r, &pinned, &(uint64_t){0}), 0);
      let_go++;
      if (before - pinned > own)
        late_bytes += before - pinned - own;
    }
  }
  if (batch > 0 && h.n > 0)
    CHECK_RC(zb_frames_release(h.frames, h.n), 0);
  while (h.n > 0 && batch == 0)
    release_one(&h);
  if (seq > frames) {
    zb_frame f;
    CHECK_RC(zb_reader_next(r, &f, WAIT_MS), ZB_EOF);
  } else {
    kill(pid, SIGKILL);
  }
  status = wait_child(pid);
  CHECK(status == 0);
  if (res->status != EMU_OK) {
    zb_test_failures++;
    fprintf(stderr, "  writer: %s\n", res->err);
  }
  CHECK_EQ_U64(res->stats.frames, frames);
  CHECK_EQ_U64(ours.hash, res->stats.hash);
  CHECK_EQ_U64(ours.sizes_hash, res->stats.sizes_hash);
  if (edge) {
    CHECK(res->stats.markers > 0);
    CHECK(res->stats.small_tails > 0);
    CHECK(res->stats.exact_ends > 0);
    CHECK(kind == EMU_CPP ? res->stats.phantoms == 0 : res->stats.phantoms > 0);
  }
  {
    zb_health hl;
    CHECK_RC(zb_reader_health(r, &hl), 0);
    /* the Python writer counts a wrap without a marker; we do not */
    CHECK_EQ_U64(hl.written_count - hl.read_count, res->stats.phantoms);
    CHECK_EQ_U64(hl.payload_free_bytes, hl.payload_size);
  }
out:
  fprintf(stderr, "  %s %s writer -> core reader: ring %llu, sizes %llu..%llu, "
          "%llu frames, seed %llu, held <= %u%s, batch %u: markers %llu, small tails %llu, "
          "exact ends %llu, phantoms %llu, waits %llu; oldest let go %llu times, "
          "%llu bytes back late\n",
          zb_test_failures == failures ? "ok  " : "FAIL", kind_name(kind),
          (unsigned long long)ring, (unsigned long long)min,
          (unsigned long long)max, (unsigned long long)frames,
          (unsigned long long)seed, max_held,
          hold == HOLD_OLDEST ? " (oldest kept)" : "", batch,
          (unsigned long long)res->stats.markers,
          (unsigned long long)res->stats.small_tails,
          (unsigned long long)res->stats.exact_ends,
          (unsigned long long)res->stats.phantoms,
          (unsigned long long)res->stats.waits, (unsigned long long)let_go,
          (unsigned long long)late_bytes);
  zb_reader_destroy(r);
  CHECK(zb_test_ring_gone(name));
  munmap(res, sizeof *res);
  free(want);
}

/* --------------------------------------------- our writer -> emulated reader */

static int ready_fd;

static void announce_ready(const char *name, void *user) {
  (void)name;
  (void)user;
  if (write(ready_fd, "r", 1) != 1)
    _exit(EMU_ERROR);
}

/* Forks the emulated C++ reader of ring NAME (options O, its result in
 * RES) and connects our writer once the reader has created the ring: the
 * child's pid in *pid (-1 when there is none) and the writer, or NULL with
 * the failure counted. */
static zb_writer *connect_to_emulated_reader(const char *name,
                                             const emu_read_opts *o,
                                             shared_result *res, pid_t *pid) {
  zb_writer *w = NULL;
  int pipe_fds[2];
  char c;
  *pid = -1;
  if (pipe(pipe_fds) != 0) {
    zb_test_failures++;
    return NULL;
  }
  *pid = fork();
  if (*pid == 0) {
    close(pipe_fds[0]);
    ready_fd = pipe_fds[1];
    res->status = emu_read_cpp(name, o, &res->stats, res->err, sizeof res->err);
    _exit(0);
  }
  close(pipe_fds[1]);
  if (*pid < 0) {
    zb_test_failures++;
    close(pipe_fds[0]);
    return NULL;
  }
  if (read(pipe_fds[0], &c, 1) != 1) {
    zb_test_failures++;
    fprintf(stderr, "  the emulated reader did not start\n");
  } else {
    CHECK_RC(zb_writer_connect(&w, name), 0);
  }
  close(pipe_fds[0]);
  return w;
}

/* Our writer to the emulated C++-like reader (a child) of one ring: what
 * the tests of that pairing start and end with. */
typedef struct peer_reader {
  const char *name;
  shared_result *res;
  pid_t pid;
} peer_reader;

/* Starts the reader of ring NAME with options O and connects our writer
 * (connect_to_emulated_reader): *w, or NULL with the failure counted (end
 * the fixture then too). -1 when there is no reader: nothing to end. */
static int peer_reader_start(peer_reader *t, const char *name,
                             const emu_read_opts *o, zb_writer **w) {
  t->name = name;
  t->res = shared_page();
  *w = connect_to_emulated_reader(name, o, t->res, &t->pid);
  if (t->pid < 0) {
    munmap(t->res, sizeof *t->res);
    return -1;
  }
  return 0;
}

/* After our writer's end: the reader, killed first when `stop` (the test
 * could not give it its frames), must have ended well with `frames` frames
 * read; the ring is removed. What the reader counted. */
static emu_stats peer_reader_end(peer_reader *t, bool stop, uint64_t frames) {
  emu_stats stats;
  if (stop)
    kill(t->pid, SIGKILL);
  CHECK(wait_child(t->pid) == 0);
  if (t->res->status != EMU_OK) {
    zb_test_failures++;
    fprintf(stderr, "  reader: %s\n", t->res->err);
  }
  stats = t->res->stats;
  CHECK_EQ_U64(stats.frames, frames);
  zb_test_remove_ring(t->name);
  munmap(t->res, sizeof *t->res);
  return stats;
}

/* The end of a reader left waiting for frames on purpose: killed, the ring
 * removed. */
static void peer_reader_kill(peer_reader *t) {
  kill(t->pid, SIGKILL);
  wait_child(t->pid);
  zb_test_remove_ring(t->name);
  munmap(t->res, sizeof *t->res);
}

/* How our writer placed a frame of `size` bytes that it was to put at
 * `pos`, now that its write_pos is `after`: early when it went to 0 though
 * it fitted at pos (docs/PROTOCOL.md §6, "Early wrap"). */
static bool wrapped_early(uint64_t ring, uint64_t pos, uint64_t size,
                          uint64_t after) {
  uint64_t total = size + 16;
  bool fits = pos > 0 && pos < ring && total <= ring - pos &&
              (ring - pos - total == 0 || ring - pos - total >= 16);
  return fits && after == total;
}

enum { WRAP_DEFAULT, WRAP_EARLY_ALWAYS };

/* Our writer wraps a big frame early only when the reader has caught up
 * and given back the bytes at 0, so a reader that lags the whole run (a
 * loaded CI host) sees no early wrap at all. Before every other frame of
 * ZB_WRAP_EARLY_FROM bytes and more (forced early wraps: every 16th
 * frame) the writer lets the reader catch up (read all, hold at most
 * `max_held`), bounded: the other frames keep racing it. */
static void let_reader_catch_up(zb_writer *w, unsigned max_held) {
  zb_health h;
  int waited_ms;
  for (waited_ms = 0; waited_ms < WAIT_MS; waited_ms++) {
    zb_writer_health(w, &h);
    if (h.read_count == h.written_count && h.frames_unread == 0 &&
        h.frames_held <= max_held && (max_held > 0 || h.payload_used_bytes == 0))
      return;
    usleep(1000);
  }
}

static void reader_run(uint64_t ring, uint64_t min, uint64_t max,
                       uint64_t frames, unsigned max_held, uint64_t seed,
                       int wrap) {
  uint8_t *buf = malloc(max);
  emu_stats ours, theirs;
  emu_read_opts o = {frames, seed, 256, ring, max_held, 5000, announce_ready, NULL,
                     EMU_TAIL_FAIL, 0, peers_update_plainly, 0, 0, 0, 0, 0};
  peer_reader t;
  zb_writer *w;
  uint64_t seq, early = 0, big = 0;
  int failures = zb_test_failures;

  emu_stats_init(&ours);
  if (buf == NULL) {
    zb_test_failures++;
    return;
  }
  if (peer_reader_start(&t, zb_test_name("peerr"), &o, &w) < 0) {
    free(buf);
    return;
  }
  if (w != NULL && wrap == WRAP_EARLY_ALWAYS)
    zb__writer_set_wrap_early(w, true);
  for (seq = 1; w != NULL && seq <= frames; seq++) {
    zb_health h;
    zb_gen g;
    uint32_t draw = zb_gen_start(&g, seed, seq);
    uint64_t size;
    int rc;
    zb_writer_health(w, &h);
    size = zb_gen_edge_size(draw, min, max, h.payload_size, h.write_pos);
    zb_gen_fill(&g, buf, size);
    /* forced early wraps need bytes at 0 given back too: a reader lagging
     * the whole run under ASan on a loaded host saw none in 415 frames */
    if ((wrap == WRAP_DEFAULT && size >= ZB_WRAP_EARLY_FROM &&
         big++ % 2 == 0) ||
        (wrap == WRAP_EARLY_ALWAYS && seq % 16 == 0))
      let_reader_catch_up(w, max_held);
    rc = zb_writer_write(w, buf, size, WAIT_MS);
    if (rc == 0) {
      uint64_t pos = h.write_pos;
      zb_writer_health(w, &h);
      early += wrapped_early(h.payload_size, pos, size, h.write_pos);
    }
    if (rc != 0) {
      CHECK_RC(rc, 0);
      fprintf(stderr, "  frame %llu of %llu\n", (unsigned long long)seq,
              (unsigned long long)frames);
      break;
    }
    emu_stats_frame(&ours, buf, size);
  }
  zb_writer_destroy(w);
  theirs = peer_reader_end(&t, seq <= frames, frames);
  CHECK_EQ_U64(theirs.hash, ours.hash);
  CHECK_EQ_U64(theirs.sizes_hash, ours.sizes_hash);
  CHECK(theirs.markers > 0);
  if (wrap == WRAP_DEFAULT && max < (UINT64_C(256) << 10))
    CHECK(theirs.exact_ends > 0);
  else if (wrap == WRAP_EARLY_ALWAYS || max <= ring / 3)
    CHECK(early > 0);
  /* else frames near half the ring: an early wrap needs write_pos between
   * the frame's size and the ring less it, a window too narrow to be met
   * for sure (test_emulated_reader_early_wrap covers big frames) */
  CHECK_EQ_U64(theirs.small_tails, 0); /* the reader fails on one anyway */
  fprintf(stderr, "  %s core writer%s -> C++-like reader: ring %llu, sizes "
          "%llu..%llu, %llu frames, seed %llu, held <= %u: markers %llu, "
          "exact ends %llu, early wraps %llu\n",
          zb_test_failures == failures ? "ok  " : "FAIL",
          wrap == WRAP_EARLY_ALWAYS ? " (early wrap forced)" : "",
          (unsigned long long)ring, (unsigned long long)min,
          (unsigned long long)max, (unsigned long long)frames,
          (unsigned long long)seed, max_held,
          (unsigned long long)theirs.markers,
          (unsigned long long)theirs.exact_ends, (unsigned long long)early);
  free(buf);
}

/* ------------------------------------------------------------------ tests */

static unsigned runs = 6;
static uint64_t base_seed = 20261202;

/* Frames plus their header stay within half the ring: with bigger ones the
 * peers' own writers can wait for room that never comes (their wrap would
 * overlap its own tail), and so can a reader holding one frame. */
static uint64_t peer_max(uint64_t ring) { return ring / 2 - 32; }

static void test_emulated_writers(void) {
  unsigned i;
  /* every other run with frames of up to an eighth of the ring, which our
   * reader holds up to two of and releases in any order */
  for (i = 0; i < runs; i++) {
    uint64_t ring = random_ring(), max = i % 2 ? ring / 8 : peer_max(ring);
    writer_run(EMU_CPP, ring, 1, max, frames_for(ring, max), 1, base_seed + i, 0, HOLD_RANDOM);
    ring = random_ring();
    max = i % 2 ? ring / 8 : peer_max(ring);
    writer_run(EMU_PYTHON, ring, 1, max, frames_for(ring, max), 1, base_seed + 100 + i, 0, HOLD_RANDOM);
  }
}

/* The reader keeps the oldest of the frames it holds for as long as the
 * writer still has room for a frame, releasing the newer ones (their bytes
 * stay behind the oldest), then lets it go: every give-back but the first
 * frame's is late, and the peers' writers, which look at the free bytes
 * again only after a post of sem-r, must get each one. writer_run's reader
 * used to release at random only, never letting the oldest go for the
 * writer's sake: with some seeds (ZB_PEERS_SEED=10, 11, 12, ...) it kept a
 * frame while the writer came round a lap to it, and the writer stopped
 * with "buffer is full" on a ring read to the end (the core had lost
 * nothing: the bytes were behind the held frame). Keeping the oldest did
 * so at once, every time. The rings: a small one (many laps) and a random
 * one. */
static void test_emulated_writers_oldest_kept(void) {
  uint64_t saved = rng_state, ring;
  unsigned i;
  rng_state = base_seed + 800; /* the other tests draw what they drew before */
  for (i = 0; i < 2; i++) {
    ring = i == 0 ? 12288 : random_ring();
    writer_run(EMU_CPP, ring, 1, ring / 8, frames_for(ring, ring / 8), 1,
               base_seed + 800 + 2 * i, 0, HOLD_OLDEST);
    writer_run(EMU_PYTHON, ring, 1, ring / 8, frames_for(ring, ring / 8), 1,
               base_seed + 801 + 2 * i, 0, HOLD_OLDEST);
  }
  rng_state = saved;
}

/* The Node reader gives a batch of frames back at once, with one post of
 * sem-r: the peers' writers, which wait for room only on sem-r and look at
 * the free bytes once per post, must still go on (they wait on a full ring
 * while the batch is held). A batch, a wrap's tail and the next frame fit. */
static void test_emulated_writers_batched_release(void) {
  unsigned i;
  for (i = 0; i < runs; i++) {
    unsigned batch = 2 + i % (BATCH_MAX - 1);
    uint64_t ring = random_ring(), max = ring / (2 * (batch + 1));
    writer_run(i % 2 ? EMU_PYTHON : EMU_CPP, ring, 1, max, frames_for(ring, max), 1,
               base_seed + 400 + i, batch, HOLD_RANDOM);
  }
}

static void test_emulated_reader(void) {
  unsigned i;
  for (i = 0; i < runs; i++) {
    uint64_t ring = random_ring(), max = peer_max(ring);
    unsigned hold = i % 2;
    if (hold)
      max = ring / 4 - 32; /* a held frame, the tail and the next one fit */
    reader_run(ring, 1, max, frames_for(ring, max), hold, base_seed + 200 + i,
               WRAP_DEFAULT);
  }
}

/* Our writer's early wrap (a marker where the frame would still have fit,
 * the frame at 0) read by the C++-like reader: frames of 256 KiB and more
 * in a 2 MiB ring, where it is the default, and small frames with it
 * forced. */
static void test_emulated_reader_early_wrap(void) {
  const uint64_t big = UINT64_C(256) << 10, ring = UINT64_C(2) << 20;
  unsigned i;
  reader_run(ring, big, peer_max(ring), 200, 0, base_seed + 300, WRAP_DEFAULT);
  reader_run(ring, big, ring / 4 - 32, 200, 1, base_seed + 301, WRAP_DEFAULT);
  for (i = 0; i < runs; i++) {
    uint64_t r = random_ring(), max = i % 2 ? r / 4 - 32 : peer_max(r);
    reader_run(r, 1, max, frames_for(r, max), i % 2, base_seed + 310 + i,
               WRAP_EARLY_ALWAYS);
  }
}

/* The case of issue 10: Python's Writer.write_frame, random sizes
 * 1..5000, a 64 KiB ring; our reader stopped with EPROTO after 314 frames. */
static void test_python_writer_64k(void) {
  writer_run(EMU_PYTHON, 65536, 1, 5000, 30000, 0, 314, 0, HOLD_RANDOM);
  writer_run(EMU_PYTHON, 65536, 1, 5000, 30000, 1, 315, 0, HOLD_RANDOM);
  writer_run(EMU_CPP, 65536, 1, 5000, 30000, 0, 316, 0, HOLD_RANDOM);
}

/* Peers that change payload_free_bytes with a plain load and store: an
 * update of the other side between the two is lost (docs/PROTOCOL.md §7).
 * Their writer overwrites our reader's give-backs: the free bytes shrink
 * for good, and as it looks at them again only after a post of sem-r, it
 * stopped with "buffer is full" on an empty ring (a review's Python-style
 * writer: 100-byte frames into a 1024-byte ring, after 9,368 frames). Our
 * reader holds up to 2 frames here: the room it puts right is the ring
 * less what it holds. Every frame in order, and all the room back at the
 * end. */
static void test_plain_rmw_writers(void) {
  peers_update_plainly = 1;
  writer_run(EMU_PYTHON, 1024, 100, 100, 5000, 0, base_seed + 900, 0,
             HOLD_RANDOM);
  writer_run(EMU_CPP, 1024, 100, 100, 5000, 0, base_seed + 901, 0,
             HOLD_RANDOM);
  peers_update_plainly = 0;
}

/* A 1024-byte ring, frames of 400 bytes with their header, from the
 * plain-rmw C++-like writer, which loses our give-back once before frame 2
 * (lose_when, lose_to: free bytes set to lose_to, 300 or 624, while we
 * stand at 400) and, below 400, waits on sem-r for them. */
typedef struct lost_room {
  const char *name;
  zb_reader *r;
  shared_result *res;
  pid_t pid;
} lost_room;

static int lost_room_start(lost_room *t, uint64_t lose_when,
                           uint64_t lose_to) {
  t->name = zb_test_name("lost");
  t->res = shared_page();
  t->r = NULL;
  CHECK_RC(zb_reader_create(&t->r, t->name, 256, 1024, NULL), 0);
  if (t->r == NULL)
    return -1;
  t->pid = fork();
  if (t->pid == 0) {
    emu_write_opts o = {EMU_CPP, 2, base_seed + 920, 384, 384, 0, "{}", 3000,
                        1, 2, lose_when, lose_to};
    t->res->status = emu_write(t->name, &o, &t->res->stats, t->res->err,
                               sizeof t->res->err);
    _exit(0);
  }
  return 0;
}

/* The end of the stream, every frame released: all the room is back,
 * what the writer's store lost included (repair_at_end). */
static void lost_room_end(lost_room *t) {
  zb_frame f;
  zb_health hl;
  CHECK_RC(zb_reader_next(t->r, &f, WAIT_MS), ZB_EOF);
  CHECK_RC(zb_reader_health(t->r, &hl), 0);
  CHECK_EQ_U64(hl.payload_free_bytes, 1024);
  CHECK(wait_child(t->pid) == 0);
  if (t->res->status != EMU_OK) {
    zb_test_failures++;
    fprintf(stderr, "  writer: %s\n", t->res->err);
  }
  CHECK_EQ_U64(t->res->stats.frames, 2);
  zb_reader_destroy(t->r);
  CHECK(zb_test_ring_gone(t->name));
  munmap(t->res, sizeof *t->res);
}

/* Frames 1 and 2 read and released, the writer's give-back lost to
 * lose_to (lost_room, when it comes to 1024) and the stream ended. */
static void read_both_losing_room(uint64_t lose_to) {
  lost_room t;
  zb_frame f;
  zb_health hl;
  int i;
  if (lost_room_start(&t, 1024, lose_to) < 0)
    return;
  CHECK_RC(zb_reader_next(t.r, &f, WAIT_MS), 0);
  CHECK_EQ_U64(f.sequence, 1);
  /* after the writer's plain update for frame 1, which would lose the
   * release's give-back (then the free bytes never read 1024) */
  for (i = 0; i < 3000; i++) {
    CHECK_RC(zb_reader_health(t.r, &hl), 0);
    if (hl.payload_free_bytes == 1024 - 400)
      break;
    usleep(1000);
  }
  CHECK_RC(zb_frame_release(&f), 0);
  CHECK_RC(zb_reader_next(t.r, &f, WAIT_MS), 0);
  CHECK_EQ_U64(f.sequence, 2);
  CHECK_RC(zb_frame_release(&f), 0);
  lost_room_end(&t);
}

/* The room lost in the first lap of a fresh ring: we hold nothing and
 * expect frame 2 at 400, where the bytes are still zeros (read as a
 * marker), with the writer's frame 1 at 0. That frame 1 is an older lap's,
 * not a full lap (no writer came since our frame 1): the room is put back
 * and frame 2 comes. It was taken for a lap, and the writer stopped with
 * "buffer is full" at frame 2. */
static void test_plain_rmw_lost_in_first_lap(void) {
  read_both_losing_room(300);
}

/* The room lost in the first lap, the writer not waiting for it (624 bytes
 * left, frame 2 needs 400) and then ending the stream: at the end we stand
 * at 800 on zeros (read as a marker) with the writer's frame 1 at 0. The
 * end's repair took that frame 1 for a full lap (the stream's end lets a
 * next writer's frame 1 be one) and put nothing back: 624 bytes free of
 * 1024 on an empty ring, for the next writer. */
static void test_plain_rmw_lost_before_end(void) {
  read_both_losing_room(624);
}

typedef struct swap_race {
  zb_frame *held;
  pthread_t thread;
} swap_race;

static void *release_held(void *arg) {
  CHECK_RC(zb_frame_release(((swap_race *)arg)->held), 0);
  return NULL;
}

/* Between the reader's load of the free bytes and its swap: another thread
 * releases frame 1 (the writer wakes and writes frame 2 where we stand,
 * its plain store bringing the free bytes back to the value loaded), and
 * the swap comes 300 ms later. */
static void release_then_swap(void *arg) {
  swap_race *s = arg;
  CHECK(pthread_create(&s->thread, NULL, release_held, s) == 0);
  usleep(300 * 1000);
}

/* The room put back while we hold frame 1 (400 bytes, so 624 is all there
 * can be), raced by a release of frame 1 and the writer's frame 2 (above):
 * the swap must not succeed on the free bytes the writer's store brought
 * back to the value loaded (it raised them to 1024 over frame 2, unread:
 * a writer would overwrite it). With frame 2 held, 624 bytes at most are
 * free (fewer when the writer's plain store lost the release's give-back:
 * the repair's to put right later). */
static void test_plain_rmw_repair_raced(void) {
  lost_room t;
  zb_frame f1, f2;
  swap_race s = {&f1, 0};
  zb_health hl;
  if (lost_room_start(&t, 624, 300) < 0)
    return;
  CHECK_RC(zb_reader_next(t.r, &f1, WAIT_MS), 0);
  CHECK_EQ_U64(f1.sequence, 1);
  zb__reader_before_room_swap(t.r, release_then_swap, &s);
  CHECK_RC(zb_reader_next(t.r, &f2, WAIT_MS), 0);
  CHECK_EQ_U64(f2.sequence, 2);
  CHECK(s.thread != 0 && pthread_join(s.thread, NULL) == 0);
  CHECK_RC(zb_reader_health(t.r, &hl), 0);
  if (hl.payload_free_bytes > 1024 - 400) {
    zb_test_failures++;
    fprintf(stderr, "  %llu bytes free with frame 2 (400 bytes) unread\n",
            (unsigned long long)hl.payload_free_bytes);
  }
  CHECK_RC(zb_frame_release(&f2), 0);
  lost_room_end(&t);
}

/* Their reader overwrites our writer's subtractions: the free bytes grow
 * past the truth, and our writer placed frames over unread ones and, once
 * they passed the ring's size, refused the ring (EPROTO "69648 free bytes
 * in a 65536-byte ring", a review's run after 14,464 frames). The
 * emulated reader checks every frame's sequence and bytes. */
static void test_plain_rmw_reader(void) {
  peers_update_plainly = 1;
  reader_run(4096, 1, 1000, 20000, 0, base_seed + 910, WRAP_DEFAULT);
  reader_run(4096, 1, 1000, 20000, 1, base_seed + 911, WRAP_DEFAULT);
  peers_update_plainly = 0;
}

/* Our writer writes o->frames frames of `size` bytes (at most 512) to the
 * C++-like reader with o's options, each within timeout_ms: the reader
 * must get them all, byte for byte. */
static void write_to_emulated_reader(const char *name, const emu_read_opts *o,
                                     size_t size, int timeout_ms) {
  uint8_t buf[512];
  emu_stats ours, theirs;
  peer_reader t;
  zb_writer *w;
  uint64_t seq;

  emu_stats_init(&ours);
  if (peer_reader_start(&t, name, o, &w) < 0)
    return;
  for (seq = 1; w != NULL && seq <= o->frames; seq++) {
    zb_gen g;
    int rc;
    zb_gen_start(&g, o->seed, seq);
    zb_gen_fill(&g, buf, size);
    if ((rc = zb_writer_write(w, buf, size, timeout_ms)) != 0) {
      CHECK_RC(rc, 0);
      fprintf(stderr, "  frame %llu\n", (unsigned long long)seq);
      break;
    }
    emu_stats_frame(&ours, buf, size);
  }
  zb_writer_destroy(w);
  theirs = peer_reader_end(&t, w == NULL || seq <= o->frames, o->frames);
  CHECK_EQ_U64(theirs.hash, ours.hash);
}

/* A peer's reader gives a frame's bytes back at release, not when it reads
 * it, and the C++-like one here holds the frame it read last until it has
 * read the next. A lost update of our writer's (forced: 500 bytes too many
 * given back at the release of frame 1) leaves 1124 free bytes in the
 * 1024-byte ring while it holds frame 2 (400..800), all else read; frame 3
 * goes behind a marker at 800 to 0, and the reader waits 500 ms before it
 * reads it. Our writer set the free bytes back to the ring less what was
 * unread (1024), counting frame 2 free: frame 4 went over it at 400 while
 * it was held ("frame 2 (at offset 400) changed while the reader held
 * it"), and its release pushed the free bytes 400 over the truth. Set back
 * to that less the largest frame we wrote, frame 4 waits for the release,
 * and all the room is back at the end, no more. */
static void test_peer_reader_held_across_reset(void) {
  const char *name = zb_test_name("heldreset");
  emu_read_opts o = {.frames = 5, .seed = base_seed + 930, .metadata_size = 256,
                     .payload_size = 1024, .max_held = 1, .timeout_ms = 5000,
                     .ready = announce_ready, .tail_mode = EMU_TAIL_FAIL,
                     .raise_at = 1, .raise_by = 500, .pause_at = 3,
                     .pause_ms = 500, .check_held = 1};
  write_to_emulated_reader(name, &o, 384, WAIT_MS);
}

/* The same reset with a reader that holds nothing: the C++-like reader
 * releases each frame as soon as it has read it, 100 bytes too many at
 * frame 1 (a lost update forced), in a ring of one frame (496 bytes and
 * its header in 512). Set back to the ring less the largest frame, the
 * free bytes stayed 0 with nothing read, unread nor held: frame 2 waited
 * until its timeout ("stayed full"). Healed once the reader sleeps on
 * sem-w with nothing unread for a wait slice, every frame goes through. */
static void test_peer_reader_idle_after_reset(void) {
  const char *name = zb_test_name("idlereset");
  emu_read_opts o = {.frames = 20, .seed = base_seed + 940, .metadata_size = 256,
                     .payload_size = 512, .max_held = 0, .timeout_ms = 5000,
                     .ready = announce_ready, .tail_mode = EMU_TAIL_FAIL,
                     .plain_rmw = 1, .raise_at = 1, .raise_by = 100,
                     .check_held = 1};
  write_to_emulated_reader(name, &o, 496, 2000);
}

/* zb_writer_holds says whether a frame would wait for the writer's holds
 * when the reader's room would do. It took that room as the free bytes
 * less the reservations, without the cap on bytes not read yet that
 * reserve applies: with a peer's reader whose lost update overstates the
 * free bytes it said holds blocked a frame that the unread bytes block
 * anyway. A 1024-byte ring: frame 1 (400 bytes with its header) at 0,
 * frame 2 held by us at 400; the C++-like reader gives frame 1 back with
 * 300 bytes too many (924 free, or 1324 when its plain store also loses
 * our subtraction for frame 2) and waits 3 s before it reads frame 2. The
 * hold leaves 624 bytes from 800, as many as the unread frame 2 does: a
 * frame of 700 bytes (224 at the end + 700 at 0) waits for the reader,
 * not for the hold. */
static void test_holds_answer_with_unread_cap(void) {
  const char *name = zb_test_name("holdcap");
  emu_read_opts o = {.frames = 2, .seed = base_seed + 940, .metadata_size = 256,
                     .payload_size = 1024, .timeout_ms = 5000,
                     .ready = announce_ready, .tail_mode = EMU_TAIL_FAIL,
                     .plain_rmw = 1, .raise_at = 1, .raise_by = 300,
                     .pause_at = 2, .pause_ms = 3000};
  uint8_t segment[ZB_OIEB_SIZE];
  zb_reservation r1, r2;
  zb_writer_holds_info info;
  peer_reader t;
  zb_writer *w;
  zb_hold hold;
  uint64_t read = 0, free_bytes = 0;
  int i;

  if (peer_reader_start(&t, name, &o, &w) < 0)
    return;
  if (w != NULL) {
    zb_gen g;
    /* both reserved before the reader gives anything back: no reserve
     * sees the overstated free bytes (it would put them right) */
    CHECK_RC(zb_writer_reserve(w, 384, &r1, WAIT_MS), 0);
    CHECK_RC(zb_writer_reserve(w, 384, &r2, WAIT_MS), 0);
    zb_gen_start(&g, o.seed, 1);
    zb_gen_fill(&g, r1.data, 384);
    zb_gen_start(&g, o.seed, 2);
    zb_gen_fill(&g, r2.data, 384);
    CHECK_RC(zb_reservation_commit_hold(&r2, 384, &hold), 0);
    CHECK_RC(zb_reservation_commit(&r1, 384), 0);
    for (i = 0; i < WAIT_MS && (read < 1 || free_bytes < 924); i++) {
      CHECK(zb_test_read_segment(name, segment, sizeof segment) ==
            (long)sizeof segment);
      memcpy(&read, segment + 0x48, 8);       /* payload_read_count */
      memcpy(&free_bytes, segment + 0x28, 8); /* payload_free_bytes */
      usleep(1000);
    }
    CHECK(read == 1 && (free_bytes == 924 || free_bytes == 1324));
    CHECK_RC(zb_writer_holds(w, 684, &info), 0);
    CHECK_EQ_U64(info.room, 624);
    CHECK(!info.blocks_size);
    zb_hold_release(&hold);
    zb_writer_destroy(w);
  }
  peer_reader_end(&t, w == NULL, 2);
}

/* Waits (5 s at most) until the reader has read want_read frames and the
 * free bytes are min_free or more. */
static void wait_read(const char *name, uint64_t want_read, uint64_t min_free) {
  uint8_t segment[ZB_OIEB_SIZE];
  uint64_t read = 0, free_bytes = 0;
  int i;
  for (i = 0; i < 5000; i++) {
    CHECK(zb_test_read_segment(name, segment, sizeof segment) ==
          (long)sizeof segment);
    memcpy(&read, segment + 0x48, 8);
    memcpy(&free_bytes, segment + 0x28, 8);
    if (read >= want_read && free_bytes >= min_free)
      break;
    usleep(1000);
  }
  CHECK(read >= want_read && free_bytes >= min_free);
}

/* A writer that connects after another has published nothing yet: the
 * set-back keeps half the ring (inherited_margin) for the frame the peer's
 * reader may hold of the earlier writer's, here frame 2 (400 bytes at
 * 400). Writer A leaves with frame 1 still unread (224 free bytes, which
 * B accepts); the reader reads frame 2, keeps it and gives frame 1 back
 * 500 over (1124 free). B's reserves look once (timeout 0), before
 * heal_margin could count the kept frame free (the limit PROTOCOL.md §6
 * states): of 116 bytes each, at 800, then at 0 behind the 108-byte
 * tail, three fit the 512 bytes left. With no margin (largest_total 0
 * before a first frame) all five were placed, the fifth over frame 2. */
static void test_reconnected_writer_keeps_held_frame(void) {
  const char *name = zb_test_name("reconheld");
  emu_read_opts o = {.frames = 8, .seed = base_seed + 991, .metadata_size = 256,
                     .payload_size = 1024, .max_held = 1, .timeout_ms = 8000,
                     .ready = announce_ready, .tail_mode = EMU_TAIL_FAIL,
                     .raise_at = 1, .raise_by = 500, .pause_at = 2,
                     .pause_ms = 1000, .check_held = 1};
  uint8_t buf[384], seg[128 + 256 + 1024], before[384];
  zb_reservation rs[5];
  peer_reader t;
  zb_writer *w, *w2 = NULL;
  int k, placed = 0;
  if (peer_reader_start(&t, name, &o, &w) < 0)
    return;
  if (w == NULL) {
    peer_reader_kill(&t);
    return;
  }
  for (k = 1; k <= 2; k++) {
    zb_gen g;
    zb_gen_start(&g, o.seed, (uint64_t)k);
    zb_gen_fill(&g, buf, 384);
    CHECK_RC(zb_writer_write(w, buf, 384, WAIT_MS), 0);
  }
  zb_writer_destroy(w);
  CHECK_RC(zb_writer_connect(&w2, name), 0);
  wait_read(name, 2, 1025);
  CHECK(zb_test_read_segment(name, seg, sizeof seg) == (long)sizeof seg);
  memcpy(before, seg + 128 + 256 + 400 + 16, 384);
  for (k = 0; w2 != NULL && k < 5; k++) {
    if (zb_writer_reserve(w2, 100, &rs[k], 0) != 0)
      break;
    memset(rs[k].data, 0xEE, 100);
    placed++;
  }
  CHECK_EQ_U64(placed, 3);
  CHECK(zb_test_read_segment(name, seg, sizeof seg) == (long)sizeof seg);
  if (memcmp(before, seg + 128 + 256 + 400 + 16, 384) != 0) {
    zb_test_failures++;
    fprintf(stderr, "  frame 2 (at 400), held by the peer's reader, was "
            "written over by the writer that came after\n");
  }
  for (k = 0; k < placed; k++)
    zb_reservation_cancel(&rs[k]); /* each holds the writer */
  zb_writer_destroy(w2);
  peer_reader_kill(&t);
}

/* A set-back while reservations are open: frame 1 (400 bytes at 0) read
 * and given back, frame 2 (200 at 400), then two 400-byte reservations
 * (at 600, and at 0 behind the 24-byte tail: 824 bytes booked). The
 * reader gives frame 2 back 500 over (1524 free bytes); a reserve sets
 * them back. P less the largest frame, 624, was below what is booked: the
 * reserve failed EPROTO ("624 free bytes ... with 824 bytes reserved
 * (corrupted segment)") on a healthy ring, and the two commits took the
 * free bytes below 0 (18446744073709551416). Never below the booked
 * bytes, the reserve finds no room yet (the heal has had no wait slice:
 * timeout 0), and the commits leave the free bytes 200 short of the truth
 * (what the booked bytes left of the margin, which the heal gives back
 * once a reserve waits), never below 0. */
static void test_set_back_keeps_booked(void) {
  const char *name = zb_test_name("setbackbooked");
  emu_read_opts o = {.frames = 4, .seed = base_seed + 992, .metadata_size = 256,
                     .payload_size = 1024, .max_held = 0, .timeout_ms = 8000,
                     .ready = announce_ready, .tail_mode = EMU_TAIL_FAIL,
                     .plain_rmw = 1, .raise_at = 2, .raise_by = 500,
                     .pause_at = 2, .pause_ms = 1000};
  uint8_t buf[384], segment[ZB_OIEB_SIZE];
  zb_reservation r3, r4, r5;
  peer_reader t;
  zb_writer *w;
  zb_gen g;
  uint64_t free_bytes;
  if (peer_reader_start(&t, name, &o, &w) < 0)
    return;
  if (w != NULL) {
    zb_gen_start(&g, o.seed, 1);
    zb_gen_fill(&g, buf, 384);
    CHECK_RC(zb_writer_write(w, buf, 384, WAIT_MS), 0);
    wait_read(name, 1, 1024);
    zb_gen_start(&g, o.seed, 2);
    zb_gen_fill(&g, buf, 184);
    CHECK_RC(zb_writer_write(w, buf, 184, WAIT_MS), 0);
    CHECK_RC(zb_writer_reserve(w, 384, &r3, WAIT_MS), 0);
    CHECK_RC(zb_writer_reserve(w, 384, &r4, WAIT_MS), 0);
    wait_read(name, 2, 1025);
    CHECK_RC(zb_writer_reserve(w, 8, &r5, 0), ZB_EAGAIN);
    zb_gen_start(&g, o.seed, 3);
    zb_gen_fill(&g, r3.data, 384);
    CHECK_RC(zb_reservation_commit(&r3, 384), 0);
    CHECK(zb_test_read_segment(name, segment, sizeof segment) ==
          (long)sizeof segment);
    memcpy(&free_bytes, segment + 0x28, 8);
    CHECK(free_bytes == 424 || free_bytes == 824); /* frame 3 read or not */
    zb_gen_start(&g, o.seed, 4);
    zb_gen_fill(&g, r4.data, 384);
    CHECK_RC(zb_reservation_commit(&r4, 384), 0);
    CHECK(zb_test_read_segment(name, segment, sizeof segment) ==
          (long)sizeof segment);
    memcpy(&free_bytes, segment + 0x28, 8);
    CHECK(free_bytes <= 1024);
    zb_writer_destroy(w);
  }
  peer_reader_end(&t, w == NULL, 4);
}

/* --------------------------- frames near half the ring (interop finding 1) */

/* A 1024-byte ring, frames of 484, 494 and 100 bytes: the second (510 bytes
 * with its header) would leave a 14-byte tail at 500. The marker route
 * (marker at 500, frame at 0) needs 524 + 510 bytes, more than the ring, so
 * our writer used to publish the marker alone and wait for the reader to
 * step over it, which a reader that takes one sem-w post per frame never
 * does, nor one that reads only once the write returned: the write timed
 * out "the reader is not releasing frames". It now places the frame at 500
 * and leaves the tail, as the C++ writer does (docs/PROTOCOL.md §6). Every
 * frame's 16 + size stays within half the ring here, so no placement needs
 * a marker published alone. */
#define SEQ_RING 1024
#define SEQ_MAX (SEQ_RING / 2 - 16)
#define SEQ_WRITE_MS 3000

typedef struct size_seq {
  const char *what;
  const uint64_t *sizes;
  size_t n;          /* sizes, repeated to make `frames` */
  uint64_t frames;
  bool small_tail;   /* it must leave a small tail behind a frame after 0 */
} size_seq;

static const uint64_t seq_issue[] = {484, 494, 100};
static const uint64_t seq_six[] = {490, 496, 496, 13};
static const uint64_t seq_halves[] = {496, 496, 496};
static const uint64_t seq_mixed[] = {200, 300, 484, 494, 1, 480, 496, 7};

static uint64_t seq_size(const size_seq *q, const uint64_t *random_sizes,
                         uint64_t i) {
  return q->sizes != NULL ? q->sizes[i % q->n] : random_sizes[i];
}

/* Our writer into the emulated reader (one sem-w post per frame, releasing
 * each frame at once, a small tail taken as tail_mode says: EMU_TAIL_*),
 * each write waiting at most write_ms. */
static void seq_to_emulated(const size_seq *q, const uint64_t *random_sizes,
                            uint64_t seed, int tail_mode, int write_ms) {
  static unsigned tl_runs;
  char tl_name[64];
  const char *name = zb_test_name("seqe");
  if (tail_mode == EMU_TAIL_CPP) { /* rings of this test are named tl-* */
    snprintf(tl_name, sizeof tl_name, "tl-%d-cpptail-%u", (int)getpid(),
             tl_runs++);
    name = tl_name;
  }
  shared_result *res = shared_page();
  uint8_t buf[SEQ_RING];
  emu_read_opts o = {q->frames, seed, 256, SEQ_RING, 0, 2 * write_ms,
                     announce_ready, NULL, tail_mode, 0, 0, 0, 0, 0, 0, 0};
  emu_stats ours;
  zb_writer *w;
  uint64_t i;
  int failures = zb_test_failures, status;
  pid_t pid;

  emu_stats_init(&ours);
  w = connect_to_emulated_reader(name, &o, res, &pid);
  if (pid < 0)
    return;
  for (i = 0; w != NULL && i < q->frames; i++) {
    uint64_t size = seq_size(q, random_sizes, i);
    zb_gen g;
    int rc;
    zb_gen_start(&g, seed, i + 1);
    zb_gen_fill(&g, buf, size);
    rc = zb_writer_write(w, buf, size, write_ms);
    if (rc != 0) {
      CHECK_RC(rc, 0);
      fprintf(stderr, "  frame %llu of %llu (%llu bytes): %s\n",
              (unsigned long long)i + 1, (unsigned long long)q->frames,
              (unsigned long long)size, zb_last_error());
      break;
    }
    emu_stats_frame(&ours, buf, size);
  }
  zb_writer_destroy(w);
  if (i < q->frames)
    kill(pid, SIGKILL);
  status = wait_child(pid);
  CHECK(status == 0);
  if (i == q->frames && res->status != EMU_OK) {
    zb_test_failures++;
    fprintf(stderr, "  reader: %s\n", res->err);
  }
  CHECK_EQ_U64(res->stats.frames, q->frames);
  CHECK_EQ_U64(res->stats.hash, ours.hash);
  CHECK_EQ_U64(res->stats.sizes_hash, ours.sizes_hash);
  if (q->small_tail)
    CHECK(res->stats.small_tails > 0);
  fprintf(stderr, "  %s %s: core writer -> emulated reader (%s), "
          "ring %d, %llu frames: markers %llu, small tails %llu, exact ends "
          "%llu\n", zb_test_failures == failures ? "ok  " : "FAIL", q->what,
          tail_mode == EMU_TAIL_CPP ? "C++ reader: a zeroed tail is a counted "
                                      "marker"
                                    : "implicit wrap",
          SEQ_RING, (unsigned long long)q->frames,
          (unsigned long long)res->stats.markers,
          (unsigned long long)res->stats.small_tails,
          (unsigned long long)res->stats.exact_ends);
  zb_test_remove_ring(name);
  munmap(res, sizeof *res);
}

/* Our writer and our reader in lockstep on one thread: each frame is read
 * and released only after its write returned. */
static void seq_lockstep(const size_seq *q, const uint64_t *random_sizes,
                         uint64_t seed) {
  const char *name = zb_test_name("seql");
  uint8_t buf[SEQ_RING];
  zb_reader *r = NULL;
  zb_writer *w = NULL;
  uint64_t i;
  int failures = zb_test_failures;

  CHECK_RC(zb_reader_create(&r, name, 256, SEQ_RING, NULL), 0);
  if (r != NULL)
    CHECK_RC(zb_writer_connect(&w, name), 0);
  for (i = 0; w != NULL && i < q->frames; i++) {
    uint64_t size = seq_size(q, random_sizes, i);
    zb_frame f;
    zb_gen g;
    int rc;
    zb_gen_start(&g, seed, i + 1);
    zb_gen_fill(&g, buf, size);
    if ((rc = zb_writer_write(w, buf, size, SEQ_WRITE_MS)) != 0) {
      CHECK_RC(rc, 0);
      fprintf(stderr, "  write of frame %llu of %llu (%llu bytes): %s\n",
              (unsigned long long)i + 1, (unsigned long long)q->frames,
              (unsigned long long)size, zb_last_error());
      break;
    }
    if ((rc = zb_reader_next(r, &f, SEQ_WRITE_MS)) != 0) {
      CHECK_RC(rc, 0);
      fprintf(stderr, "  read of frame %llu: %s\n", (unsigned long long)i + 1,
              zb_last_error());
      break;
    }
    if (f.sequence != i + 1 || f.size != size ||
        memcmp(f.data, buf, size) != 0) {
      zb_test_failures++;
      fprintf(stderr, "  frame %llu: sequence %llu, %llu bytes of %llu\n",
              (unsigned long long)i + 1, (unsigned long long)f.sequence,
              (unsigned long long)f.size, (unsigned long long)size);
      zb_frame_release(&f);
      break;
    }
    CHECK_RC(zb_frame_release(&f), 0);
  }
  fprintf(stderr, "  %s %s: core writer -> core reader in lockstep, ring %d, "
          "%llu frames\n", zb_test_failures == failures ? "ok  " : "FAIL",
          q->what, SEQ_RING, (unsigned long long)q->frames);
  zb_writer_destroy(w);
  zb_reader_destroy(r);
}

/* Over half the ring a frame can fit neither before the end nor at 0 behind
 * a marker in one step (216 bytes used at 0, then 916: 808 + 916 > 1024):
 * the marker goes out alone and a reader must step over it before the
 * frame is placed. One that does not (here: our reader, in lockstep, reads
 * only after the write returned; the peers' readers wait for a post) leaves
 * the write to time out, and the message says why, not just "the reader is
 * not releasing frames". */
static void test_lone_marker_timeout_message(void) {
  const char *name = zb_test_name("lone");
  static uint8_t buf[SEQ_RING];
  zb_reader *r = NULL;
  zb_writer *w = NULL;
  zb_frame f;
  CHECK_RC(zb_reader_create(&r, name, 256, SEQ_RING, NULL), 0);
  if (r != NULL)
    CHECK_RC(zb_writer_connect(&w, name), 0);
  if (w != NULL) {
    CHECK_RC(zb_writer_write(w, buf, 200, 1000), 0);
    CHECK_RC(zb_reader_next(r, &f, 1000), 0);
    CHECK_RC(zb_frame_release(&f), 0);
    CHECK_RC(zb_writer_write(w, buf, 900, 300), ZB_ETIMEDOUT);
    CHECK_MSG("the frame needs 916): a frame of 900 bytes (916 with its "
              "header) fits neither at 216 of the 1024-byte ring");
    CHECK_MSG("808 + 916 bytes > 1024");
    CHECK_MSG("half the ring (512 bytes)");
    /* a later, smaller frame that times out behind that marker (316 bytes
     * needed, 216 free at 0) is told the marker is an earlier frame's */
    CHECK_RC(zb_writer_write(w, buf, 300, 100), ZB_ETIMEDOUT);
    CHECK_MSG("the frame needs 316): an earlier frame of 900 bytes (916 "
              "with its header)");
    /* the write after it, once the reader stepped over the marker */
    CHECK_RC(zb_reader_next(r, &f, 300), ZB_ETIMEDOUT);
    CHECK_RC(zb_writer_write(w, buf, 900, 1000), 0);
    CHECK_RC(zb_reader_next(r, &f, 1000), 0);
    CHECK_EQ_U64(f.size, 900);
    CHECK_RC(zb_frame_release(&f), 0);
  }
  zb_writer_destroy(w);
  zb_reader_destroy(r);
}

static void test_frames_near_half_ring(void) {
  static uint64_t random_sizes[600];
  size_seq seqs[] = {
      {"484,494,100", seq_issue, 3, 3, true},
      {"484,494,100 x 60", seq_issue, 3, 180, true},
      {"490,496,496,13 x 40", seq_six, 4, 160, true},
      {"496 x 100", seq_halves, 3, 100, false},
      {"mixed x 30", seq_mixed, 8, 240, true},
      {"random 1..496", NULL, 0, 600, true},
  };
  size_t k;
  uint64_t i, saved = rng_state;
  /* from a state of its own: the other tests draw what they drew before */
  rng_state = base_seed + 700;
  for (i = 0; i < 600; i++) /* half near half the ring */
    random_sizes[i] = rnd() % 2 ? rnd_between(470, SEQ_MAX)
                                : rnd_between(1, SEQ_MAX);
  rng_state = saved;
  for (k = 0; k < sizeof seqs / sizeof seqs[0]; k++) {
    seq_to_emulated(&seqs[k], random_sizes, base_seed + 500 + k,
                    EMU_TAIL_IMPLICIT, SEQ_WRITE_MS);
    seq_lockstep(&seqs[k], random_sizes, base_seed + 600 + k);
  }
}

/* Small tails our writer cannot avoid, read by a reader that does what the
 * C++ reader's source does there: it decodes a header in the tail (zeroed
 * by our writer: size 0, a marker), counts it in read_count, and after
 * each sem-w post waits again when written_count <= read_count. Our writer
 * counts such a tail, so the counts agree and every frame is read in
 * order. Uncounted (as before), the reader's count ran one ahead after the
 * first small tail, the next frame's post was used up by that check, and
 * the reader stayed a frame behind until the writer's wait for room timed
 * out (the write of frame 4 of "1000 x 50", interop review). Short
 * timeouts: without the fix it stalls, it does not slow down. */
static void test_cpp_reader_small_tails(void) {
  static const uint64_t seq_1000[] = {1000};
  size_seq seqs[] = {
      {"1000 x 50", seq_1000, 1, 50, true},
      {"490,496,496,13 x 20", seq_six, 4, 80, true},
      {"484,494,100 x 20", seq_issue, 3, 60, true},
      {"mixed x 10", seq_mixed, 8, 80, true},
  };
  size_t k;
  for (k = 0; k < sizeof seqs / sizeof seqs[0]; k++)
    seq_to_emulated(&seqs[k], NULL, base_seed + 800 + k, EMU_TAIL_CPP, 500);
}

/* ------------------------------------ our writer's metadata, a peer's reader */

enum { LOCK_AS_PEER_LEFT_IT, LOCK_OTHER_PID, LOCK_PID_RECYCLED };

/* What a reader's lock file holds beside the emulated reader (pid READER):
 * nothing, as the peer leaves it; or the record of a reader of ours that
 * died and left it, the peer reusing the file: another pid, or the same
 * pid (recycled) with another start time. */
static void write_lock_record(const char *name, pid_t reader, int record) {
  char path[512], content[64];
  int fd, len;
  if (record == LOCK_AS_PEER_LEFT_IT)
    return;
  snprintf(path, sizeof path, "/tmp/zerobuffer/%s.lock", name);
  len = snprintf(content, sizeof content, "%d 1\n",
                 record == LOCK_OTHER_PID ? (int)getpid() : (int)reader);
  fd = open(path, O_WRONLY);
  CHECK(fd >= 0 && pwrite(fd, content, (size_t)len, 0) == len);
  if (fd >= 0)
    close(fd);
}

/* Our writer whose metadata does not fit a peer reader's block leaves no
 * metadata_needed note there (docs/PROTOCOL.md §9.5): it did, and the peer
 * reader saw metadata without caps, and a later writer whose metadata fits
 * was refused ("metadata already written"). The note is for a reader whose
 * lock file records it, as ours do; here the later writer writes its
 * metadata and a frame, and the reader reads it. */
static void no_metadata_note_for_peer_reader(int record) {
  static const char meta[] = "{\"caps\":\"video/x-raw\"}";
  static char big[280];
  const char *name = zb_test_name("notepeer");
  emu_read_opts o = {1, base_seed, 64, 4096, 0, 5000, announce_ready, NULL,
                     EMU_TAIL_FAIL, 0, 0, 0, 0, 0, 0, 0};
  uint8_t segment[ZB_OIEB_SIZE + 64], frame[100];
  uint64_t written;
  peer_reader t;
  zb_writer *w;
  zb_gen g;

  memset(big, ' ', sizeof big);
  big[0] = '{';
  big[sizeof big - 1] = '}';
  if (peer_reader_start(&t, name, &o, &w) < 0)
    return;
  write_lock_record(name, t.pid, record);
  if (w != NULL) {
    CHECK_RC(zb_writer_set_metadata(w, big, sizeof big), ZB_EMSGSIZE);
    CHECK_MSG("at least 288");
    zb_writer_destroy(w);
    w = NULL;
    CHECK(zb_test_read_segment(name, segment, sizeof segment) ==
          (long)sizeof segment);
    memcpy(&written, segment + 0x18, 8); /* metadata_written_bytes */
    CHECK_EQ_U64(written, 0);
    CHECK_RC(zb_writer_connect(&w, name), 0);
  }
  if (w != NULL) {
    CHECK_RC(zb_writer_set_metadata(w, meta, sizeof meta - 1), 0);
    zb_gen_start(&g, base_seed, 1);
    zb_gen_fill(&g, frame, sizeof frame);
    CHECK_RC(zb_writer_write(w, frame, sizeof frame, WAIT_MS), 0);
    CHECK(zb_test_read_segment(name, segment, sizeof segment) ==
          (long)sizeof segment);
    CHECK(memcmp(segment + ZB_OIEB_SIZE + 8, meta, sizeof meta - 1) == 0);
    zb_writer_destroy(w);
  }
  peer_reader_end(&t, w == NULL, 1);
}

static void test_no_metadata_note_for_peer_reader(void) {
  no_metadata_note_for_peer_reader(LOCK_AS_PEER_LEFT_IT);
  no_metadata_note_for_peer_reader(LOCK_OTHER_PID);
  no_metadata_note_for_peer_reader(LOCK_PID_RECYCLED);
}

/* ------------------------------------ a peer's reader still filling the header */

/* Connects to NAME, trying again while it is not there or not ready (as
 * zerosink and the Node writer do up to their connect timeout) for at
 * most TIMEOUT_MS; the last result, its message in zb_last_error. *HALF
 * counts the tries that found a half-filled header. */
static int connect_until(zb_writer **w, const char *name, int timeout_ms,
                         int *half) {
  int rc, waited_ms = 0;
  for (;;) {
    rc = zb_writer_connect(w, name);
    if (rc == ZB_ENOENT && strstr(zb_last_error(), "half-filled") != NULL)
      (*half)++;
    if ((rc != ZB_ENOENT && rc != ZB_EREADERGONE) || waited_ms >= timeout_ms)
      return rc;
    usleep(2000);
    waited_ms += 2;
  }
}

/* The C++ reader fills the header in place, field by field, oieb_size
 * first and reader_pid last (then its semaphores): our writer that came
 * meanwhile stopped for good, ZB_EPROTO "block sizes (metadata 1024,
 * payload 0) do not match", as zerosink did against it (peer review). It
 * waits now, then connects, and the reader reads its frames. */
static void test_writer_waits_for_header_being_filled(void) {
  /* the reader announces nothing: started here, not by peer_reader_start */
  peer_reader t = {zb_test_name("halffill"), shared_page(), -1};
  emu_read_opts o = {3, base_seed, 1024, 4096, 0, 5000, NULL, NULL,
                     EMU_TAIL_FAIL, 15, 0, 0, 0, 0, 0, 0};
  char path[300];
  uint8_t frame[200];
  zb_writer *w = NULL;
  int half = 0, waited_ms;
  uint64_t seq;

  snprintf(path, sizeof path, "/dev/shm/%s", t.name);
  t.pid = fork();
  if (t.pid == 0) {
    t.res->status = emu_read_cpp(t.name, &o, &t.res->stats, t.res->err,
                                 sizeof t.res->err);
    _exit(0);
  }
  CHECK(t.pid > 0);
  if (t.pid < 0)
    return;
  for (waited_ms = 0; access(path, F_OK) != 0 && waited_ms < WAIT_MS; waited_ms++)
    usleep(1000);
  CHECK_RC(connect_until(&w, t.name, 5000, &half), 0);
  CHECK(half > 0); /* it saw the header half-filled, and waited */
  for (seq = 1; w != NULL && seq <= o.frames; seq++) {
    zb_gen g;
    zb_gen_start(&g, base_seed, seq);
    zb_gen_fill(&g, frame, sizeof frame);
    CHECK_RC(zb_writer_write(w, frame, sizeof frame, WAIT_MS), 0);
  }
  zb_writer_destroy(w);
  peer_reader_end(&t, w == NULL, o.frames);
}

/* A header left half-filled (oieb_size, the version and metadata_size
 * stored, payload_size not) while its creator holds the lock: still being
 * created until the connect timeout, whose last error says what is
 * missing; once no reader holds the lock, refused at once (its creator is
 * gone), as is, at once, a value no reader stores, or a header whose
 * reader_pid is set (complete, so impossible). */
static void test_header_stuck_half_filled(void) {
  const char *name = zb_test_name("halfstuck");
  char shm[300], lock_path[300];
  uint64_t meta = 1024, pid = (uint64_t)getpid();
  zb_writer *w = NULL;
  uint8_t *base;
  int fd, lock, half = 0;

  snprintf(shm, sizeof shm, "/%s", name);
  snprintf(lock_path, sizeof lock_path, "/tmp/zerobuffer/%s.lock", name);
  (void)mkdir("/tmp/zerobuffer", 01777);
  lock = open(lock_path, O_RDWR | O_CREAT, 0600);
  CHECK(lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) == 0);
  fd = shm_open(shm, O_RDWR | O_CREAT | O_EXCL, 0600);
  CHECK(fd >= 0 && ftruncate(fd, 128 + 1024 + 4096) == 0);
  base = mmap(NULL, 128 + 1024 + 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
              0);
  CHECK(base != MAP_FAILED);
  if (fd < 0 || base == MAP_FAILED)
    return;
  base[0] = 128; /* oieb_size */
  base[4] = 1;   /* version 1.0.0 */
  memcpy(base + 0x08, &meta, 8);
  CHECK_RC(connect_until(&w, name, 300, &half), ZB_ENOENT);
  CHECK(w == NULL && half > 0);
  CHECK_MSG("still being created");
  CHECK_MSG("half-filled: block sizes (metadata 1024, payload 0) do not match "
            "the 5248-byte segment");
  CHECK_MSG(lock_path);
  /* no reader holds the lock: its creator is gone */
  close(lock);
  CHECK_RC(zb_writer_connect(&w, name), ZB_EPROTO);
  CHECK_MSG("left half-created");
  CHECK_MSG("(metadata 1024, payload 0)");
  lock = open(lock_path, O_RDWR);
  CHECK(lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) == 0);
  /* complete but impossible, though reader_pid is 0: at once */
  base[4] = 2;
  CHECK_RC(zb_writer_connect(&w, name), ZB_EPROTO);
  CHECK_MSG("protocol version 2.0.0");
  base[4] = 0;
  CHECK_RC(zb_writer_connect(&w, name), ZB_ENOENT);
  CHECK_MSG("half-filled: protocol version 0.0.0");
  /* reader_pid set: every field was stored before it */
  memcpy(base + 0x58, &pid, 8);
  CHECK_RC(zb_writer_connect(&w, name), ZB_EPROTO);
  CHECK_MSG("protocol version 0.0.0");
  base[4] = 1;
  CHECK_RC(zb_writer_connect(&w, name), ZB_EPROTO);
  CHECK_MSG("block sizes (metadata 1024, payload 0) do not match");
  CHECK(w == NULL);
  munmap(base, 128 + 1024 + 4096);
  close(fd);
  close(lock);
  shm_unlink(shm);
  unlink(lock_path);
}

/* ZB_PEERS_ONLY=TEXT runs only the tests whose names contain TEXT. */
static const char *only;
#undef RUN
#define RUN(test)                                                              \
  do {                                                                         \
    int before_ = zb_test_failures;                                            \
    if (only != NULL && strstr(#test, only) == NULL)                           \
      break;                                                                   \
    test();                                                                    \
    fprintf(stderr, "%s %s\n", zb_test_failures == before_ ? "ok  " : "FAIL",  \
            #test);                                                            \
  } while (0)

int main(int argc, char **argv) {
  const char *env;
  only = getenv("ZB_PEERS_ONLY");
  (void)argc;
  (void)argv;
  if ((env = getenv("ZB_PEERS_SEED")) != NULL)
    base_seed = strtoull(env, NULL, 10);
  if ((env = getenv("ZB_PEERS_RUNS")) != NULL)
    runs = (unsigned)strtoul(env, NULL, 10);
  rng_state = base_seed;
  signal(SIGPIPE, SIG_IGN);
  RUN(test_frames_near_half_ring);
  RUN(test_cpp_reader_small_tails);
  RUN(test_lone_marker_timeout_message);
  RUN(test_no_metadata_note_for_peer_reader);
  RUN(test_python_writer_64k);
  RUN(test_emulated_writers);
  RUN(test_emulated_writers_oldest_kept);
  RUN(test_emulated_writers_batched_release);
  RUN(test_emulated_reader);
  RUN(test_emulated_reader_early_wrap);
  RUN(test_plain_rmw_writers);
  RUN(test_plain_rmw_lost_in_first_lap);
  RUN(test_plain_rmw_repair_raced);
  RUN(test_plain_rmw_lost_before_end);
  RUN(test_plain_rmw_reader);
  RUN(test_peer_reader_held_across_reset);
  RUN(test_peer_reader_idle_after_reset);
  RUN(test_holds_answer_with_unread_cap);
  RUN(test_set_back_keeps_booked);
  RUN(test_reconnected_writer_keeps_held_frame);
  RUN(test_writer_waits_for_header_being_filled);
  RUN(test_header_stuck_half_filled);
  return zb_test_finish("core-peers");
}

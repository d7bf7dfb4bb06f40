/* zb_ring.c — ring arithmetic (see zb_ring.h), the idle-ring watch, and the
 * sizing helpers of the public API.
 *
 * Placement rules (docs/PROTOCOL.md §2.3 and §6): a frame is never split across the end of
 * the ring; when it does not fit before the end, the tail is skipped (with a
 * {0,0} wrap marker when it holds >= 16 bytes) and the frame goes to 0. We
 * avoid a 1..15-byte tail behind a frame placed after 0 (the C++ reader
 * misreads it) where a marker and the frame at 0 fit the ring together;
 * where they do not (a frame over (P - 15) / 2 bytes) the tail is left, as
 * the C++ writer leaves it. The writer zeroes such a tail when it wraps,
 * and counts it (zb_writer.c, write_wrap): the C++ reader takes it for a
 * marker.
 */
#include "zb_ring.h"

#include <string.h>

#include "zb_error.h"
#include "zb_platform.h"

zb_entry zb__entry_at(const uint8_t *payload, uint64_t ring, uint64_t pos,
                      uint64_t write_pos) {
  const uint64_t space = ring - pos;
  zb_entry e = {ZB_ENTRY_TAIL, ZB_ENTRY_OK, pos, 0, 0, 0};
  zb_frame_header h;
  /* A skip (a tail, a marker) says the writer wrapped: it is behind pos, or
   * level with it after a full lap, never ahead (it cannot pass the bytes
   * the reader has not given back). */
  const zb_entry_problem skip =
      write_pos > pos ? ZB_ENTRY_SKIP_BEHIND_WRITER : ZB_ENTRY_OK;

  if (space < ZB_FRAME_HEADER_SIZE) {
    e.problem = skip;
    return e;
  }
  memcpy(&h, payload + pos, sizeof h);
  e.size = h.payload_size;
  e.sequence = h.sequence;
  if (h.payload_size == 0) {
    e.kind = ZB_ENTRY_MARKER;
    e.problem = pos == 0 ? ZB_ENTRY_MARKER_AT_0 : skip;
    return e;
  }
  e.kind = ZB_ENTRY_FRAME;
  /* Read past the writer's position, a reader would wrap and read the
   * same frames again for ever. */
  if (h.payload_size > space - ZB_FRAME_HEADER_SIZE)
    e.problem = ZB_ENTRY_PAST_END;
  else if (write_pos > pos &&
           h.payload_size + ZB_FRAME_HEADER_SIZE > write_pos - pos)
    e.problem = ZB_ENTRY_PAST_WRITER;
  else
    e.next = pos + zb__frame_total(h.payload_size);
  return e;
}

int zb__entry_fail(const char *name, uint64_t ring, const zb_entry *e,
                   uint64_t write_pos) {
  switch (e->problem) {
  case ZB_ENTRY_PAST_END:
    return zb__fail(ZB_EPROTO,
                    "ring \"%s\": frame header at offset %llu claims %llu "
                    "bytes, but only %llu are left before the end of the "
                    "ring (corrupted segment)",
                    name, (unsigned long long)e->pos,
                    (unsigned long long)e->size,
                    (unsigned long long)(ring - e->pos - ZB_FRAME_HEADER_SIZE));
  case ZB_ENTRY_PAST_WRITER:
    return zb__fail(ZB_EPROTO,
                    "ring \"%s\": frame at offset %llu claims %llu bytes, "
                    "past the writer's position %llu (corrupted segment)",
                    name, (unsigned long long)e->pos,
                    (unsigned long long)e->size,
                    (unsigned long long)write_pos);
  case ZB_ENTRY_SKIP_BEHIND_WRITER:
    return zb__fail(ZB_EPROTO,
                    "ring \"%s\": %s at offset %llu, but the writer's "
                    "position %llu is past it (corrupted segment)",
                    name,
                    e->kind == ZB_ENTRY_MARKER
                        ? "wrap marker"
                        : "a tail too short for a frame header",
                    (unsigned long long)e->pos,
                    (unsigned long long)write_pos);
  case ZB_ENTRY_MARKER_AT_0:
    return zb__fail(ZB_EPROTO, "ring \"%s\": wrap marker at offset 0 "
                    "(corrupted segment)", name);
  case ZB_ENTRY_OK:
    break;
  }
  return 0;
}

bool zb__idle_for_slice(zb_idle_watch *watch, const uint64_t *values,
                        size_t n, uint64_t now) {
  if (!watch->seen || memcmp(watch->values, values, n * sizeof *values) != 0) {
    watch->seen = true;
    memcpy(watch->values, values, n * sizeof *values);
    watch->since_ns = now;
    return false;
  }
  if (now - watch->since_ns < (uint64_t)ZB_LIVENESS_SLICE_MS * 1000000u)
    return false;
  watch->seen = false;
  return true;
}

zb_placement zb__place_frame(uint64_t ring, uint64_t pos, uint64_t total,
                             uint64_t available, bool wrap_early) {
  uint64_t space = ring - pos;
  zb_placement p = {0, space, space + total, pos != 0, false, false};
  if (total <= space) {
    uint64_t left = space - total;
    /* A 1..15-byte tail is avoided only where the marker route can carry
     * the frame in one step (tail + frame <= ring). Otherwise the marker
     * would have to be published alone, and a reader that takes one sem-w
     * post per frame (the peers'), or that reads only once the write
     * returned, never steps over it: the frame would wait for ever. Like
     * the C++ writer, leave the small tail then (zeroed at the next wrap). */
    bool fits_here = pos == 0 || left == 0 || left >= ZB_FRAME_HEADER_SIZE ||
                     space + total > ring;
    /* Early wrap: only with room for a marker, when the wrap costs no wait
     * (the tail and the frame's bytes at 0 are free already), and when it
     * leaves a stalled reader slack: the skipped tail stays used until the
     * reader passes the marker, so wrapping from just after one frame would
     * fill the ring with one frame in flight. So more than (ring - total) / 2
     * bytes must stay free after it: at least half the ring, less half a
     * frame for the rounding of zb__ring_size_for. In a ring of N equal
     * frames, at least ceil(N / 2) frames' room then stays free: 4 frames
     * cycle through 3 slots, 2 or 3 frames never wrap early. */
    bool early = wrap_early && pos != 0 && space >= ZB_FRAME_HEADER_SIZE &&
                 space + total <= ring && available >= space + total &&
                 2 * (available - space - total) > ring - total;
    if (fits_here && !early)
      return (zb_placement){pos, 0, total, false, false, false};
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

uint64_t zb__ring_size_for(uint64_t total, uint64_t frames) {
  uint64_t bytes, ring;
  if (total == 0 || frames == 0 || total > ZB_MAX_PAYLOAD_SIZE / frames)
    return 0;
  bytes = total * frames;
  ring = zb__align64(bytes);
  /* Rounding up may leave a 1..15-byte tail after the last frame: the
   * writer would then place that frame at 0, and the ring would hold one
   * frame less per lap. Room for a marker instead. */
  if (ring - bytes > 0 && ring - bytes < ZB_FRAME_HEADER_SIZE)
    ring += ZB_BLOCK_ALIGN;
  return ring > ZB_MAX_PAYLOAD_SIZE ? 0 : ring;
}

uint64_t zb_payload_size_for(uint64_t frame_size, unsigned frames,
                             bool frame_header) {
  const uint64_t header = frame_header ? ZB_EXT_HEADER_SIZE : 0;
  /* bounds first: frame_size + header wraps near UINT64_MAX */
  if (frame_size == 0 || frame_size > ZB_MAX_PAYLOAD_SIZE - header)
    return 0;
  return zb__ring_size_for(zb__frame_total(frame_size + header), frames);
}

/* Frames in flight by frame size (docs/BENCHMARKS.md has the runs):
 * - Large frames: as many as fit in ZB_LARGE_RING_BUDGET, at least 2 (one
 *   written while one is read), at most 4. More bought nothing: 4K BGRx
 *   zerosink → zerosrc ran 219–286 frames/s with 2, 3 or 4 frames (the
 *   0.53–0.56 of shmsink once seen with 3–4 was a copy corner of glibc on
 *   AMD hitting one slot, scripts/bench/notes.md), so 2 at 4K saves half
 *   the memory.
 * - Small frames: a reader pays a wake-up per batch of ready frames, so a
 *   ring of a few frames throttles both sides (1 KiB frames, Node reader:
 *   20–40 k frames/s with 4 in flight, 53–63 k with 16; with batches of
 *   half the ring, 125–158 k with 16 and 160–246 k with 64, flat-out p50
 *   135–197 µs). So about ZB_SMALL_RING_BUDGET of them, 4 to 64. */
#define ZB_LARGE_RING_BUDGET (UINT64_C(32) << 20)
#define ZB_SMALL_RING_BUDGET (UINT64_C(1) << 20)
#define ZB_SMALL_FRAME (ZB_SMALL_RING_BUDGET / 4)

static unsigned clamp_frames(uint64_t n, unsigned lo, unsigned hi) {
  return n < lo ? lo : n > hi ? hi : (unsigned)n;
}

unsigned zb_default_frames_in_flight(uint64_t frame_size) {
  if (frame_size == 0)
    return 4;
  if (frame_size < ZB_SMALL_FRAME)
    return clamp_frames(ZB_SMALL_RING_BUDGET / frame_size, 4, 64);
  return clamp_frames(ZB_LARGE_RING_BUDGET / frame_size, 2, 4);
}

/* Unknown frames: what the default used to hold, 3 frames of 1080p RGB. */
#define ZB_FALLBACK_FRAME_SIZE (UINT64_C(1920) * 1080 * 3)
#define ZB_FALLBACK_FRAMES 3

uint64_t zb_default_payload_size(uint64_t frame_size) {
  if (frame_size == 0)
    return zb_payload_size_for(ZB_FALLBACK_FRAME_SIZE, ZB_FALLBACK_FRAMES,
                               true);
  return zb_payload_size_for(frame_size,
                             zb_default_frames_in_flight(frame_size), true);
}

/* Raw audio: a second of it, which holds each common source's buffers
 * several times over (audiotestsrc's 1024 samples, pulsesrc's 10 ms,
 * mp3's 1152 samples, wavparse's 40 ms, flacdec's 4608 samples: 5 to
 * 96 ms at 44.1 kHz and up) and bounds what a reader behind (policy=drop)
 * lags by: room for one buffer of that second, its entry and frame header
 * included (a buffer of exactly a second fits, one at a time). At least
 * ZB_AUDIO_RING_FLOOR, for low rates: flacdec's 4608 samples are 576 ms of
 * 8 kHz mono (9216 bytes; 7 fit), wavparse's 4096 bytes 256 ms. At most the
 * fallback. */
#define ZB_AUDIO_RING_SECONDS 1
#define ZB_AUDIO_RING_FLOOR (UINT64_C(64) << 10)

uint64_t zb_default_payload_size_for_rate(uint64_t bytes_per_second) {
  const uint64_t fallback = zb_default_payload_size(0);
  uint64_t bytes;
  if (bytes_per_second == 0 ||
      bytes_per_second > fallback / ZB_AUDIO_RING_SECONDS)
    return fallback;
  bytes = zb_payload_size_for(bytes_per_second * ZB_AUDIO_RING_SECONDS, 1,
                              true);
  if (bytes < ZB_AUDIO_RING_FLOOR)
    bytes = ZB_AUDIO_RING_FLOOR;
  return bytes > fallback ? fallback : bytes;
}

// reader-session.h — a native/core reader as the binding uses it: frames
// taken in batches (every frame that is ready, in one go), waits on a
// dedicated thread, wake-ups that tell closing, cancelling and stale wakes
// apart, and the slots that tie a frame's core lease to the JS view over
// it. No Node-API include here.
#ifndef ZEROBUFFER_ADDON_READER_SESSION_H
#define ZEROBUFFER_ADDON_READER_SESSION_H

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "live-counts.h"
#include "status.h"
#include "wait-thread.h"
#include "zerobuffer.h"

namespace zbnode {

// One frame taken from the ring for JS: its core lease and the bytes JS
// sees (after the per-frame header when the metadata declares one).
struct TakenFrame {
  zb_frame lease{};
  const uint8_t *bytes = nullptr;  // the frame's attributes (ext.attrs_size), then its data
  uint64_t size = 0;
  bool has_ext = false;
  zb_frame_ext ext{};
  uint64_t arrival_ns = 0;  // CLOCK_MONOTONIC when the frame was taken
};

// Frames taken in one go, and the error that ended the taking (ZB_EAGAIN:
// nothing more was ready). The vector keeps its capacity between batches.
struct Batch {
  std::vector<TakenFrame> frames;
  Status status;
  bool closed = false;    // the session closed while waiting
  bool canceled = false;  // CancelWait() ended the wait
  int sleep_ms = -1;      // >= 0: nothing yet (Poll): sleep on the word that long at most
};

// The slots of the frames whose bytes JS holds, so that a JS release and
// the view's finalizer (after a release, or when the view is collected
// unreleased) end each lease exactly once. Slots come from chunks that are
// reused, not allocated per frame. A slot's id (index + generation) is what
// JS passes back to release. It outlives its session while views remain.
class LeaseTable {
 public:
  struct Slot;
  // A slot holding `lease` (which it releases when asked or finalized).
  Slot *Hold(const zb_frame &lease);
  double Id(const Slot *slot) const;
  // JS released the frame: its lease ends at the next GiveBack; the slot
  // stays until the view's finalizer runs. False when `id` holds no lease.
  bool Release(double id);
  // Ends the leases JS released since the last call; true when there were.
  bool GiveBack();
  // The view over the slot's bytes is gone: ends the lease if JS did not,
  // frees the slot. May delete the table (see Orphan).
  static void Finalize(Slot *slot);
  // Frames held by JS (neither released nor finalized).
  size_t Held();
  // The session is gone: the table deletes itself after the last slot.
  void Orphan();

 private:
  enum { kChunk = 64, kIndexBits = 24 };
  Counted<&LiveCounts::lease_tables> counted_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Slot[]>> chunks_;
  std::vector<zb_frame> released_;  // released by JS, not given back yet
  Slot *free_ = nullptr;
  size_t live_ = 0, held_ = 0;
  zb_range *range_ = nullptr;  // pinned while live_ > 0
  bool orphaned_ = false;
};

struct LeaseTable::Slot {
  LeaseTable *table = nullptr;
  zb_frame lease{};
  uint32_t index = 0;
  uint32_t generation = 0;
  bool held = false;
  Slot *next_free = nullptr;
};

class ReaderSession {
 public:
  // poison: overwrite released frames (ZEROBUFFER_DEBUG=1). The session is
  // in the registry (UnlinkAll) from right after its ring is made.
  static Status Create(const char *name, uint64_t metadata_size,
                       uint64_t payload_size, unsigned mode, bool poison,
                       std::shared_ptr<ReaderSession> *out);
  // Unlinks the ring of every reader of the process that is open (any
  // thread's, any environment's), leaving each working (zb_reader_unlink):
  // for a process about to end by a signal. Any thread; returns how many.
  static size_t UnlinkAll();
  ~ReaderSession();

  const std::string &name() const { return name_; }
  bool closed();
  LeaseTable &leases() { return *leases_; }

  // Takes up to `max` frames that are ready now, on the calling thread,
  // into batch() (status ZB_EAGAIN when none is, or a wait is running). It
  // does not look at the writer: the end of the stream or a dead writer is
  // reported by the next wait.
  void TakeReady(size_t max);
  // Waits up to timeout_ms on the dedicated thread for the first frame,
  // then takes the others that are ready, up to `max`, into batch(); `done`
  // runs there. False when a wait is already running.
  bool StartWait(uint64_t id, int timeout_ms, size_t max,
                 std::function<void()> done);
  // Ends wait `id` with canceled=true (no effect when it is over).
  void CancelWait(uint64_t id);
  // The event-loop wait (zb_reader_arm, zb_reader_poll), instead of
  // StartWait: JS thread, never while the wait thread runs. Arm counts the
  // reader as a sleeper on the data semaphore and gives its futex word
  // (ZB_ENOTSUP on an unknown sem_t layout, ZB_ESTATE once closed); Disarm
  // undoes it (Close does too).
  Status Arm(const uint32_t **word);
  void Disarm();
  // One look of wait `id` begun at started_ns, into batch() (sleep_ms >= 0:
  // nothing yet).
  void Poll(uint64_t id, int timeout_ms, uint64_t started_ns, size_t max);
  // The frames of the last TakeReady or wait; JS thread, between them.
  Batch &batch() { return batch_; }

  Status Metadata(std::vector<uint8_t> *out);
  Status Health(zb_health *out);
  Status UnreadStreamStarts(uint64_t *out);
  // zb_reader_max_frame_size (ZB_ESTATE once closed).
  Status MaxFrameSize(uint64_t *out);

  // Unlinks the ring (its names go at once, before the session leaves the
  // registry: an UnlinkAll meanwhile never skips a ring that is still
  // named), ends any wait, joins the thread and destroys the reader.
  // Frames still held stay readable until released (the core's leases);
  // after the last, their addresses read zeros. Idempotent, and safe from
  // two threads at once (a worker's environment teardown, a destructor):
  // the second returns once the first is done.
  void Close();

 private:
  ReaderSession() = default;
  void Take(int timeout_ms, size_t max, uint64_t wait_id, bool ready_only);
  bool HoldsHalfTheRing();
  int TakeOne(int timeout_ms, bool more_only, uint64_t wait_id, TakenFrame *out);
  int FrameHeaderVersion();

  Counted<&LiveCounts::reader_sessions> counted_;
  std::string name_;
  std::mutex close_mu_;   // one Close at a time (one join of the thread)
  std::mutex mu_;       // reader_ (open/closed)
  std::mutex next_mu_;  // one taker at a time; guards batch_ while taking
  zb_reader *reader_ = nullptr;
  int header_version_ = -1;  // from the metadata, once written
  Status pending_;           // an error met after frames, for the next call
  bool polling_ = false;     // Poll: zb_reader_poll instead of zb_reader_next
  uint64_t poll_started_ns_ = 0;
  int poll_again_ms_ = -1;
  Batch batch_;
  LeaseTable *leases_ = new LeaseTable();
  std::atomic<bool> closing_{false};
  std::atomic<uint64_t> cancel_id_{0};
  WaitThread thread_;
};

}  // namespace zbnode

#endif

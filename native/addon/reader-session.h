// reader-session.h — a native/core reader as the binding uses it: frames
// held until released (from any thread, e.g. a GC finalizer), waits on a
// dedicated thread, wake-ups that tell closing, cancelling and stale wakes
// apart. No Node-API include here.
#ifndef ZEROBUFFER_ADDON_READER_SESSION_H
#define ZEROBUFFER_ADDON_READER_SESSION_H

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "status.h"
#include "wait-thread.h"
#include "zerobuffer.h"

namespace zbnode {

struct FrameResult {
  Status status;        // ZB_EAGAIN from TryNext: nothing ready
  bool closed = false;  // the session closed while waiting
  bool canceled = false;  // CancelWait() ended the wait
  zb_frame frame{};
  bool has_ext = false;   // the 48-byte frame header was parsed
  zb_frame_ext ext{};     // when has_ext: ext.data/ext.size = buffer bytes
  uint64_t arrival_ns = 0;  // CLOCK_MONOTONIC when the frame was taken
};

class ReaderSession {
 public:
  static Status Create(const char *name, uint64_t metadata_size,
                       uint64_t payload_size, unsigned mode,
                       std::shared_ptr<ReaderSession> *out);
  ~ReaderSession();

  const std::string &name() const { return name_; }
  bool closed();

  // Takes a frame that is ready now, on the calling thread (ZB_EAGAIN in
  // status when none is, or when a wait is running on the thread).
  FrameResult TryNext(bool parse_header);
  // Waits up to timeout_ms on the dedicated thread; done runs there. False
  // when a wait is already running.
  bool StartWait(uint64_t id, int timeout_ms, bool parse_header,
                 std::function<void(FrameResult)> done);
  // Ends wait `id` with canceled=true (no effect when it is over).
  void CancelWait(uint64_t id);
  bool Waiting() { return thread_.Busy(); }

  // Gives a held frame back; false when it was not held (already released,
  // or the session closed). Any thread.
  bool Release(uint64_t ticket);
  bool IsHeld(uint64_t ticket);
  // Parses the frame header of a held frame.
  Status ParseHeader(uint64_t ticket, zb_frame_ext *ext);

  Status Metadata(std::vector<uint8_t> *out);
  Status Health(zb_health *out);

  // Ends any wait, joins the thread, drops held frames and destroys the
  // ring (unlinks it). Idempotent. Frames' memory is gone afterwards: the
  // caller detaches every view first.
  void Close();

 private:
  ReaderSession() = default;
  FrameResult Take(int timeout_ms, bool parse_header, uint64_t wait_id);

  std::string name_;
  std::mutex mu_;       // reader_ (open/closed) and held_
  std::mutex next_mu_;  // one zb_reader_next at a time
  zb_reader *reader_ = nullptr;
  std::unordered_map<uint64_t, zb_frame> held_;
  std::atomic<bool> closing_{false};
  std::atomic<uint64_t> cancel_id_{0};
  WaitThread thread_;
};

}  // namespace zbnode

#endif

// writer-session.h — a native/core writer as the binding uses it: writes
// and reservations that try at once on the caller's thread and otherwise
// wait on a dedicated thread. No Node-API include here.
#ifndef ZEROBUFFER_ADDON_WRITER_SESSION_H
#define ZEROBUFFER_ADDON_WRITER_SESSION_H

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

// What to write: the bytes, and the per-frame header when `ext` is set.
struct WriteRequest {
  const uint8_t *data = nullptr;  // must stay valid until the write is over
  std::shared_ptr<std::vector<uint8_t>> owned;  // data's bytes, when it waits
  uint64_t size = 0;
  bool ext = false;
  zb_frame_ext header{};  // pts, dts, duration, flags (commit_ns: now)
  std::string attributes;  // with ext: written after the 48 header bytes
};

struct WriteResult {
  Status status;
  bool closed = false;
  bool canceled = false;
  uint8_t *slot = nullptr;  // reservations: where the bytes go
};

class WriterSession {
 public:
  static Status Connect(const char *name, std::shared_ptr<WriterSession> *out);
  ~WriterSession();

  const std::string &name() const { return name_; }
  bool closed();
  uint64_t MaxFrameSize();

  // The metadata an earlier writer left in the ring (empty: none), copied.
  Status Metadata(std::vector<uint8_t> *out);
  Status SetMetadata(const uint8_t *data, uint64_t size);
  // timeout 0, on the calling thread: ZB_EAGAIN when the ring is full.
  WriteResult TryWrite(const WriteRequest &req);
  bool StartWrite(uint64_t id, const WriteRequest &req, int timeout_ms,
                  std::function<void(WriteResult)> done);
  // One reservation at a time (the open one is the core's handle, kept
  // here): ZB_ESTATE while one is open. With `header.ext`, the frame
  // header (written at commit) goes before the `size` bytes, and the slot
  // is after it.
  WriteResult TryReserve(uint64_t size, const WriteRequest &header);
  bool StartReserve(uint64_t id, uint64_t size, const WriteRequest &header,
                    int timeout_ms, std::function<void(WriteResult)> done);
  // Commits the first `size` bytes after the header (if any) of the open
  // reservation; with `bytes`, copies them in first (the copying fallback's
  // scratch buffer). It stays open on a bad size.
  Status Commit(uint64_t size, const uint8_t *bytes);
  void CancelReservation();
  void CancelWait(uint64_t id);
  bool Waiting() { return thread_.Busy(); }
  Status Health(zb_health *out);
  // Ends any wait, joins the thread, detaches (end of stream). Idempotent.
  void Close();

 private:
  WriterSession() = default;
  WriteResult RefuseWhileOpen();  // under op_mu_
  WriteResult Write(const WriteRequest &req, int timeout_ms, uint64_t id);
  WriteResult Reserve(uint64_t size, int timeout_ms, uint64_t id,
                      zb_reservation *res);
  WriteResult ReserveOpen(uint64_t size, const WriteRequest &header,
                          int timeout_ms, uint64_t id);
  bool Retry(int rc, uint64_t id, WriteResult *r);
  bool StartOnWaitThread(std::function<WriteResult()> op,
                         std::function<void(WriteResult)> done);

  Counted<&LiveCounts::writer_sessions> counted_;
  std::string name_;
  std::mutex mu_;    // writer_ (open/closed)
  std::mutex op_mu_; // one writer call at a time
  zb_writer *writer_ = nullptr;
  zb_reservation open_{};  // under op_mu_
  WriteRequest open_header_;  // its frame header (ext), under op_mu_
  std::atomic<bool> closing_{false};
  std::atomic<uint64_t> cancel_id_{0};
  WaitThread thread_;
};

}  // namespace zbnode

#endif

// reader-session.cc — see reader-session.h.
#include "reader-session.h"

#include <utility>

namespace zbnode {

Status ReaderSession::Create(const char *name, uint64_t metadata_size,
                             uint64_t payload_size, unsigned mode,
                             std::shared_ptr<ReaderSession> *out) {
  zb_reader_options opts{};
  opts.mode = mode;
  zb_reader *reader = nullptr;
  int rc = zb_reader_create(&reader, name, metadata_size, payload_size, &opts);
  if (rc < 0) return Status::FromCore(rc);
  std::shared_ptr<ReaderSession> session(new ReaderSession());
  session->name_ = name;
  session->reader_ = reader;
  *out = std::move(session);
  return Status();
}

ReaderSession::~ReaderSession() { Close(); }

bool ReaderSession::closed() {
  std::lock_guard<std::mutex> lock(mu_);
  return reader_ == nullptr;
}

// One zb_reader_next under next_mu_. A wake-up that nobody asked for now
// (a cancel that came after its wait was over) is retried.
FrameResult ReaderSession::Take(int timeout_ms, bool parse_header,
                                uint64_t wait_id) {
  FrameResult r;
  int rc;
  for (;;) {
    if (closing_.load()) {
      r.closed = true;
      return r;
    }
    rc = zb_reader_next(reader_, &r.frame, timeout_ms);
    if (rc != ZB_ECANCELED) break;
    if (closing_.load()) {
      r.closed = true;
      return r;
    }
    if (wait_id != 0 && cancel_id_.load() == wait_id) {
      r.canceled = true;
      r.status = Status::FromCore(rc);
      return r;
    }
  }
  if (rc < 0) {
    r.status = Status::FromCore(rc);
    return r;
  }
  r.arrival_ns = zb_now_ns();
  {
    std::lock_guard<std::mutex> lock(mu_);
    held_.emplace(r.frame.ticket, r.frame);
  }
  if (parse_header) {
    rc = zb_frame_ext_parse(r.frame.data, r.frame.size, &r.ext);
    if (rc < 0) {
      // A protocol error for this frame only: give it back, report it.
      r.status = Status::FromCore(rc);
      r.status.message = "ring \"" + name_ + "\": frame " +
                         std::to_string(r.frame.sequence) + ": " +
                         r.status.message;
      Release(r.frame.ticket);
      return r;
    }
    r.has_ext = true;
  }
  return r;
}

FrameResult ReaderSession::TryNext(bool parse_header) {
  std::unique_lock<std::mutex> lock(next_mu_, std::try_to_lock);
  if (!lock.owns_lock() || thread_.Busy() || closed()) {
    FrameResult r;
    r.closed = closed();
    r.status = Status::Make(ZB_EAGAIN, "a wait is running");
    return r;
  }
  return Take(0, parse_header, 0);
}

bool ReaderSession::StartWait(uint64_t id, int timeout_ms, bool parse_header,
                              std::function<void(FrameResult)> done) {
  if (closed()) return false;
  return thread_.Post([this, id, timeout_ms, parse_header, done]() {
    FrameResult r;
    {
      std::lock_guard<std::mutex> lock(next_mu_);
      r = Take(timeout_ms, parse_header, id);
    }
    return WaitThread::Completion(
        [done, r]() mutable { done(std::move(r)); });
  });
}

void ReaderSession::CancelWait(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (reader_ == nullptr) return;
  cancel_id_.store(id);
  zb_reader_wake(reader_);
}

bool ReaderSession::Release(uint64_t ticket) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = held_.find(ticket);
  if (it == held_.end() || reader_ == nullptr) return false;
  zb_frame frame = it->second;
  held_.erase(it);
  zb_reader_release(reader_, &frame);
  return true;
}

bool ReaderSession::IsHeld(uint64_t ticket) {
  std::lock_guard<std::mutex> lock(mu_);
  return reader_ != nullptr && held_.count(ticket) != 0;
}

Status ReaderSession::ParseHeader(uint64_t ticket, zb_frame_ext *ext) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = held_.find(ticket);
  if (it == held_.end() || reader_ == nullptr)
    return Status::Make(ZB_ESTATE, "ring \"" + name_ +
                                       "\": the frame was released");
  int rc = zb_frame_ext_parse(it->second.data, it->second.size, ext);
  return Status::FromCore(rc);
}

Status ReaderSession::Metadata(std::vector<uint8_t> *out) {
  std::lock_guard<std::mutex> lock(mu_);
  if (reader_ == nullptr)
    return Status::Make(ZB_ESTATE, "ring \"" + name_ + "\" is closed");
  const uint8_t *data = nullptr;
  uint64_t size = 0;
  int rc = zb_reader_metadata(reader_, &data, &size);
  if (rc < 0) return Status::FromCore(rc);
  out->assign(data, data + size);
  return Status();
}

Status ReaderSession::Health(zb_health *out) {
  std::lock_guard<std::mutex> lock(mu_);
  if (reader_ == nullptr)
    return Status::Make(ZB_ESTATE, "ring \"" + name_ + "\" is closed");
  return Status::FromCore(zb_reader_health(reader_, out));
}

void ReaderSession::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (reader_ == nullptr) return;
    closing_.store(true);
    zb_reader_wake(reader_);
  }
  thread_.Stop();
  zb_reader *reader;
  {
    std::lock_guard<std::mutex> lock(next_mu_);  // no TryNext in flight
    std::lock_guard<std::mutex> lock2(mu_);
    held_.clear();
    reader = reader_;
    reader_ = nullptr;
  }
  zb_reader_destroy(reader);
}

}  // namespace zbnode

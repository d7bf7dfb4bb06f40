// writer-session.cc — see writer-session.h.
#include "writer-session.h"

#include <cstring>
#include <utility>

namespace zbnode {

Status WriterSession::Connect(const char *name,
                              std::shared_ptr<WriterSession> *out) {
  zb_writer *writer = nullptr;
  int rc = zb_writer_connect(&writer, name);
  if (rc < 0) return Status::FromCore(rc);
  std::shared_ptr<WriterSession> session(new WriterSession());
  session->name_ = name;
  session->writer_ = writer;
  *out = std::move(session);
  return Status();
}

WriterSession::~WriterSession() { Close(); }

bool WriterSession::closed() {
  std::lock_guard<std::mutex> lock(mu_);
  return writer_ == nullptr;
}

static Status Closed(const std::string &name) {
  return Status::Make(ZB_ESTATE, "writer of ring \"" + name + "\" is closed");
}

uint64_t WriterSession::MaxFrameSize() {
  std::lock_guard<std::mutex> lock(mu_);
  return writer_ != nullptr ? zb_writer_max_frame_size(writer_) : 0;
}

Status WriterSession::Metadata(std::vector<uint8_t> *out) {
  std::lock_guard<std::mutex> op(op_mu_);
  if (closed()) return Closed(name_);
  const uint8_t *data = nullptr;
  uint64_t size = 0;
  int rc = zb_writer_metadata(writer_, &data, &size);
  if (rc < 0) return Status::FromCore(rc);
  out->assign(data, data + size);
  return Status();
}

Status WriterSession::SetMetadata(const uint8_t *data, uint64_t size) {
  std::lock_guard<std::mutex> op(op_mu_);
  if (closed()) return Closed(name_);
  return Status::FromCore(zb_writer_set_metadata(writer_, data, size));
}

// ECANCELED that nobody asked for now (a cancel that came after its wait
// was over) is retried; true when the caller should stop with *r.
bool WriterSession::Retry(int rc, uint64_t id, WriteResult *r) {
  if (closing_.load()) {
    r->closed = true;
    return false;
  }
  if (rc != ZB_ECANCELED) return false;
  if (id != 0 && cancel_id_.load() == id) {
    r->canceled = true;
    return false;
  }
  return true;
}

// Reserves into *res (under op_mu_).
WriteResult WriterSession::Reserve(uint64_t size, int timeout_ms, uint64_t id,
                                   zb_reservation *res) {
  WriteResult r;
  int rc;
  do {
    if (closing_.load()) {
      r.closed = true;
      return r;
    }
    rc = zb_writer_reserve(writer_, size, res, timeout_ms);
  } while (rc == ZB_ECANCELED && Retry(rc, id, &r));
  if (rc < 0) r.status = Status::FromCore(rc);
  r.slot = res->data;
  return r;
}

static uint64_t HeaderSize(const WriteRequest &req) {
  return req.ext ? ZB_EXT_HEADER_SIZE + req.attributes.size() : 0;
}

// Writes req's frame header (commit time: now) at dst.
static void WriteHeader(uint8_t *dst, const WriteRequest &req) {
  zb_frame_ext ext = req.header;
  ext.attrs = reinterpret_cast<const uint8_t *>(req.attributes.data());
  ext.attrs_size = req.attributes.size();
  zb_frame_ext_write(dst, &ext);
}

// One reservation of this writer at a time, and no write beside it: the
// core publishes in reservation order, so a frame reserved behind an open
// reservation would reach the reader only after that one's commit.
WriteResult WriterSession::RefuseWhileOpen() {
  WriteResult r;
  if (open_.writer != nullptr)
    r.status = Status::Make(ZB_ESTATE, "writer of ring \"" + name_ +
                                           "\": a reservation is open; commit or cancel it first");
  return r;
}

WriteResult WriterSession::Write(const WriteRequest &req, int timeout_ms,
                                 uint64_t id) {
  WriteResult refused = RefuseWhileOpen();
  if (!refused.status.ok()) return refused;
  uint64_t header = HeaderSize(req);
  zb_reservation res;
  WriteResult r = Reserve(header + req.size, timeout_ms, id, &res);
  if (!r.status.ok() || r.closed || r.canceled) return r;
  if (req.ext) WriteHeader(res.data, req);
  if (req.size > 0) zb_copy(res.data + header, req.data, req.size);
  int rc = zb_reservation_commit(&res, header + req.size);
  if (rc < 0) r.status = Status::FromCore(rc);
  r.slot = nullptr;
  return r;
}

WriteResult WriterSession::ReserveOpen(uint64_t size, const WriteRequest &header,
                                       int timeout_ms, uint64_t id) {
  WriteResult refused = RefuseWhileOpen();
  if (!refused.status.ok()) return refused;
  uint64_t skip = HeaderSize(header);
  WriteResult r = Reserve(skip + size, timeout_ms, id, &open_);
  if (r.slot != nullptr) {
    open_header_ = header;
    r.slot += skip;
  }
  return r;
}

WriteResult WriterSession::TryWrite(const WriteRequest &req) {
  std::unique_lock<std::mutex> op(op_mu_, std::try_to_lock);
  if (!op.owns_lock() || thread_.Busy() || closed()) {
    WriteResult r;
    r.closed = closed();
    r.status = Status::Make(ZB_EAGAIN, "a wait is running");
    return r;
  }
  return Write(req, 0, 0);
}

bool WriterSession::StartWrite(uint64_t id, const WriteRequest &req,
                               int timeout_ms,
                               std::function<void(WriteResult)> done) {
  return StartOnWaitThread(
      [this, id, req, timeout_ms]() { return Write(req, timeout_ms, id); },
      std::move(done));
}

WriteResult WriterSession::TryReserve(uint64_t size, const WriteRequest &header) {
  std::unique_lock<std::mutex> op(op_mu_, std::try_to_lock);
  if (!op.owns_lock() || thread_.Busy() || closed()) {
    WriteResult r;
    r.closed = closed();
    r.status = Status::Make(ZB_EAGAIN, "a wait is running");
    return r;
  }
  return ReserveOpen(size, header, 0, 0);
}

bool WriterSession::StartReserve(uint64_t id, uint64_t size, const WriteRequest &header,
                                 int timeout_ms, std::function<void(WriteResult)> done) {
  return StartOnWaitThread(
      [this, id, size, header, timeout_ms]() { return ReserveOpen(size, header, timeout_ms, id); },
      std::move(done));
}

// Runs op on the wait thread under op_mu_, then done with its result.
bool WriterSession::StartOnWaitThread(std::function<WriteResult()> op,
                                      std::function<void(WriteResult)> done) {
  if (closed()) return false;
  return thread_.Post([this, op = std::move(op), done = std::move(done)]() {
    WriteResult r;
    {
      std::lock_guard<std::mutex> lock(op_mu_);
      r = op();
    }
    return WaitThread::Completion([done, r]() { done(r); });
  });
}

Status WriterSession::Commit(uint64_t size, const uint8_t *bytes) {
  std::lock_guard<std::mutex> op(op_mu_);
  if (closed()) return Closed(name_);
  if (open_.writer == nullptr)
    return Status::Make(ZB_ESTATE, "commit: no reservation is open");
  uint64_t skip = HeaderSize(open_header_);
  if (size > open_.size - skip)
    return Status::Make(ZB_EINVAL, "commit: size is larger than the reservation");
  if (bytes != nullptr && size > 0) zb_copy(open_.data + skip, bytes, size);
  if (open_header_.ext) WriteHeader(open_.data, open_header_);
  return Status::FromCore(zb_reservation_commit(&open_, skip + size));
}

void WriterSession::CancelReservation() {
  std::lock_guard<std::mutex> op(op_mu_);
  zb_reservation_cancel(&open_);
}

void WriterSession::CancelWait(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (writer_ == nullptr) return;
  cancel_id_.store(id);
  zb_writer_wake(writer_);
}

Status WriterSession::Health(zb_health *out) {
  std::lock_guard<std::mutex> lock(mu_);
  if (writer_ == nullptr) return Closed(name_);
  return Status::FromCore(zb_writer_health(writer_, out));
}

void WriterSession::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (writer_ == nullptr) return;
    closing_.store(true);
    zb_writer_wake(writer_);
  }
  thread_.Stop();
  zb_writer *writer;
  {
    std::lock_guard<std::mutex> op(op_mu_);
    std::lock_guard<std::mutex> lock(mu_);
    zb_reservation_cancel(&open_);
    writer = writer_;
    writer_ = nullptr;
  }
  zb_writer_destroy(writer);
}

}  // namespace zbnode

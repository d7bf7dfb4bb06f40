// reader-session.cc — see reader-session.h.
#include "reader-session.h"

#include <unordered_set>
#include <utility>

namespace zbnode {

// ---------------------------------------------------------------- registry

// Every open session of the process, whichever environment (main thread or
// worker) made it: what UnlinkAll reaches. Leaked, so that no static
// destructor runs under a thread that still uses it at exit. Lock order:
// the registry, then a session's mu_.
namespace {
std::mutex &RegistryMu() {
  static std::mutex *mu = new std::mutex();
  return *mu;
}
std::unordered_set<ReaderSession *> &Registry() {
  static auto *set = new std::unordered_set<ReaderSession *>();
  return *set;
}
}  // namespace

size_t ReaderSession::UnlinkAll() {
  std::lock_guard<std::mutex> lock(RegistryMu());
  size_t n = 0;
  for (ReaderSession *s : Registry()) {
    std::lock_guard<std::mutex> lock2(s->mu_);
    if (s->reader_ == nullptr) continue;
    zb_reader_unlink(s->reader_);
    n++;
  }
  return n;
}

// ----------------------------------------------------------------- leases

LeaseTable::Slot *LeaseTable::Hold(const zb_frame &lease) {
  std::lock_guard<std::mutex> lock(mu_);
  if (free_ == nullptr) {
    std::unique_ptr<Slot[]> chunk(new Slot[kChunk]);
    uint32_t base = static_cast<uint32_t>(chunks_.size() * kChunk);
    for (int i = kChunk - 1; i >= 0; i--) {
      chunk[i].table = this;
      chunk[i].index = base + static_cast<uint32_t>(i);
      chunk[i].next_free = free_;
      free_ = &chunk[i];
    }
    chunks_.push_back(std::move(chunk));
  }
  Slot *slot = free_;
  free_ = slot->next_free;
  slot->lease = lease;
  slot->held = true;
  slot->generation++;
  // A view may outlive its release and the reader (moved away by a
  // transfer, only collected later): the range stays mapped while any does.
  if (live_ == 0) zb_reader_pin_range(lease.reader, &range_);  // NULL when it fails
  live_++;
  held_++;
  CountUp(live_counts.views);
  CountUp(live_counts.held_leases);
  return slot;
}

double LeaseTable::Id(const Slot *slot) const {
  return static_cast<double>(slot->generation) * (1 << kIndexBits) + slot->index;
}

bool LeaseTable::Release(double id) {
  if (!(id >= 0)) return false;
  uint64_t n = static_cast<uint64_t>(id);
  uint64_t index = n & ((1u << kIndexBits) - 1), generation = n >> kIndexBits;
  std::lock_guard<std::mutex> lock(mu_);
  if (index >= chunks_.size() * kChunk) return false;
  Slot &slot = chunks_[index / kChunk][index % kChunk];
  if (slot.generation != generation || !slot.held) return false;
  slot.held = false;
  held_--;
  CountDown(live_counts.held_leases);
  released_.push_back(slot.lease);
  return true;
}

bool LeaseTable::GiveBack() {
  std::lock_guard<std::mutex> lock(mu_);
  if (released_.empty()) return false;
  zb_frames_release(released_.data(), released_.size());  // one wake of the writer
  released_.clear();
  return true;
}

void LeaseTable::Finalize(Slot *slot) {
  LeaseTable *t = slot->table;
  zb_frame lease{};
  zb_range *unpin = nullptr;
  bool held, last;
  {
    std::lock_guard<std::mutex> lock(t->mu_);
    held = slot->held;
    if (held) {
      lease = slot->lease;
      slot->held = false;
      t->held_--;
      CountDown(live_counts.held_leases);
    }
    slot->next_free = t->free_;
    t->free_ = slot;
    if (--t->live_ == 0) {
      unpin = t->range_;
      t->range_ = nullptr;
    }
    last = t->live_ == 0 && t->orphaned_;
  }
  CountDown(live_counts.views);
  if (held) zb_frame_release(&lease);  // collected without a release
  zb_range_unpin(unpin);
  if (last) delete t;
}

size_t LeaseTable::Held() {
  std::lock_guard<std::mutex> lock(mu_);
  return held_;
}

void LeaseTable::Orphan() {
  GiveBack();
  bool last;
  {
    std::lock_guard<std::mutex> lock(mu_);
    orphaned_ = true;
    last = live_ == 0;
  }
  if (last) delete this;
}

// ---------------------------------------------------------------- session

Status ReaderSession::Create(const char *name, uint64_t metadata_size,
                             uint64_t payload_size, unsigned mode, bool poison,
                             std::shared_ptr<ReaderSession> *out) {
  zb_reader_options opts{};
  opts.mode = mode;
  opts.poison_released = poison;
  // A frame's bytes may still be read by native code (zlib, fs) after JS
  // let go of them: never unmap them under it (and a view that outlives
  // the lease, see LeaseTable::Hold).
  opts.keep_address_range = true;
  zb_reader *reader = nullptr;
  int rc = zb_reader_create(&reader, name, metadata_size, payload_size, &opts);
  if (rc < 0) return Status::FromCore(rc);
  std::shared_ptr<ReaderSession> session(new ReaderSession());
  session->name_ = name;
  session->reader_ = reader;
  {  // in UnlinkAll's reach as soon as the ring has its names
    std::lock_guard<std::mutex> lock(RegistryMu());
    Registry().insert(session.get());
  }
  *out = std::move(session);
  return Status();
}

ReaderSession::~ReaderSession() {
  Close();
  leases_->Orphan();
}

bool ReaderSession::closed() {
  std::lock_guard<std::mutex> lock(mu_);
  return reader_ == nullptr;
}

// The per-frame header version the metadata declares, once it is written
// (0 none, 1, or another version / ZB_EPROTO that this reader refuses).
int ReaderSession::FrameHeaderVersion() {
  if (header_version_ == -1) {
    const uint8_t *data = nullptr;
    uint64_t size = 0;
    if (zb_reader_metadata(reader_, &data, &size) == 0 && size > 0)
      header_version_ = zb_metadata_frame_header(data, size);
  }
  return header_version_ == -1 ? 0 : header_version_;
}

// One zb_reader_next, retried after a wake-up that nobody asked for now (a
// cancel that came after its wait was over); more_only: a frame only if one
// is ready (the rest of a batch), without looking at the writer.
int ReaderSession::TakeOne(int timeout_ms, bool more_only, uint64_t wait_id, TakenFrame *out) {
  int rc;
  for (;;) {
    if (closing_.load()) return ZB_ESTATE;
    rc = more_only  ? zb_reader_take_ready(reader_, &out->lease)
         : polling_ ? zb_reader_poll(reader_, &out->lease, timeout_ms, poll_started_ns_, &poll_again_ms_)
                    : zb_reader_next(reader_, &out->lease, timeout_ms);
    if (rc != ZB_ECANCELED || closing_.load()) break;
    if (wait_id != 0 && cancel_id_.load() == wait_id) return rc;
  }
  if (closing_.load()) {
    if (rc == 0) zb_frame_release(&out->lease);
    return ZB_ESTATE;
  }
  if (rc < 0 || rc == ZB_POLL_SLEEP) return rc;
  out->arrival_ns = zb_now_ns();
  out->bytes = out->lease.data;
  out->size = out->lease.size;
  out->has_ext = false;
  int version = FrameHeaderVersion();
  if (version == 0) return 0;
  Status bad;
  if (version < 0)
    bad = Status::Make(ZB_EPROTO, "the metadata's \"zerobuffer\" member cannot be read");
  else if (version > 1)
    bad = Status::Make(ZB_EPROTO, "the metadata declares per-frame header version " +
                                      std::to_string(version) + "; this reader knows version 1");
  else if ((rc = zb_frame_ext_parse(out->lease.data, out->lease.size, &out->ext)) < 0)
    bad = Status::FromCore(rc);
  if (!bad.ok()) {
    // A protocol error for this frame only: give it back, report it.
    pending_ = Status::Make(bad.code, "ring \"" + name_ + "\": frame " +
                                          std::to_string(out->lease.sequence) + ": " + bad.message);
    zb_frame_release(&out->lease);
    return ZB_EPROTO;
  }
  out->has_ext = true;
  // The view starts at the attributes (if any): JS splits them off.
  out->bytes = out->ext.attrs_size > 0 ? out->ext.attrs : out->ext.data;
  out->size = out->ext.size + out->ext.attrs_size;
  return 0;
}

// A batch ends once the reader holds half the ring or more, however many
// frames are ready: the writer then has room to fill while JS works through
// the batch, and the next batch is ready when JS asks. A batch that took
// the whole ring left the writer waiting until JS gave it back, and JS
// waiting for the writer's next post: each side's wake-up in turn, per
// batch (1 KiB frames, 16-frame ring: 65-78 k frames/s against 125-158 k
// with batches of 8; docs/BENCHMARKS.md).
bool ReaderSession::HoldsHalfTheRing() {
  uint64_t held = 0, size = 0;
  return zb_reader_held_bytes(reader_, &held, &size) == 0 && held >= size / 2;
}

void ReaderSession::Take(int timeout_ms, size_t max, uint64_t wait_id, bool ready_only) {
  Batch &b = batch_;
  b.frames.clear();
  b.status = Status();
  b.closed = b.canceled = false;
  b.sleep_ms = -1;
  if (!pending_.ok()) {  // met after the frames of the previous batch
    b.status = std::move(pending_);
    pending_ = Status();
    return;
  }
  while (b.frames.size() < max) {
    TakenFrame t;
    int rc = TakeOne(timeout_ms, ready_only || !b.frames.empty(), wait_id, &t);
    if (rc == 0) {
      b.frames.push_back(t);
      if (HoldsHalfTheRing()) break;
      continue;
    }
    if (rc == ZB_POLL_SLEEP) {  // only for the first frame
      b.sleep_ms = poll_again_ms_;
    } else if (rc == ZB_ESTATE) {
      b.closed = true;
    } else if (rc == ZB_EPROTO && !pending_.ok()) {
      if (b.frames.empty()) {  // else reported by the next call
        b.status = std::move(pending_);
        pending_ = Status();
      }
    } else if (b.frames.empty()) {
      b.status = Status::FromCore(rc);
      b.canceled = rc == ZB_ECANCELED;
    } else if (rc != ZB_EAGAIN && rc != ZB_ECANCELED) {
      pending_ = Status::FromCore(rc);
    }
    break;
  }
}

void ReaderSession::TakeReady(size_t max) {
  std::unique_lock<std::mutex> lock(next_mu_, std::try_to_lock);
  if (!lock.owns_lock() || thread_.Busy() || closed()) {
    batch_.frames.clear();
    batch_.closed = closed();
    batch_.canceled = false;
    batch_.status = Status::Make(ZB_EAGAIN, "a wait is running");
    return;
  }
  Take(0, max, 0, true);
}

bool ReaderSession::StartWait(uint64_t id, int timeout_ms, size_t max,
                              std::function<void()> done) {
  if (closed()) return false;
  return thread_.Post([this, id, timeout_ms, max, done]() {
    {
      std::lock_guard<std::mutex> lock(next_mu_);
      Take(timeout_ms, max, id, false);
    }
    return done;
  });
}

Status ReaderSession::Arm(const uint32_t **word) {
  std::lock_guard<std::mutex> lock(mu_);
  if (reader_ == nullptr) return Status::Make(ZB_ESTATE, "ring \"" + name_ + "\" is closed");
  return Status::FromCore(zb_reader_arm(reader_, word));
}

void ReaderSession::Disarm() {
  std::lock_guard<std::mutex> lock(mu_);
  zb_reader_disarm(reader_);  // accepts NULL
}

void ReaderSession::Poll(uint64_t id, int timeout_ms, uint64_t started_ns, size_t max) {
  std::lock_guard<std::mutex> lock(next_mu_);  // Close waits for it
  if (closed()) {
    batch_.frames.clear();
    batch_.closed = true;
    batch_.sleep_ms = -1;
    return;
  }
  polling_ = true;
  poll_started_ns_ = started_ns;
  Take(timeout_ms, max, id, false);
  polling_ = false;
}

void ReaderSession::CancelWait(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (reader_ == nullptr) return;
  cancel_id_.store(id);
  zb_reader_wake(reader_);
}

Status ReaderSession::Metadata(std::vector<uint8_t> *out) {
  std::lock_guard<std::mutex> lock(mu_);
  if (reader_ == nullptr)
    return Status::Make(ZB_ESTATE, "ring \"" + name_ + "\" is closed");
  const uint8_t *data = nullptr;
  uint64_t size = 0;
  int rc = zb_reader_metadata(reader_, &data, &size);
  if (rc < 0) return Status::FromCore(rc);
  // a writer's note that its metadata did not fit is no metadata: its error once that writer left, nothing before
  rc = size > 0 ? zb_reader_metadata_note(reader_) : 0;
  if (rc < 0) return Status::FromCore(rc);
  if (rc == 0) out->assign(data, data + size);
  return Status();
}

Status ReaderSession::Health(zb_health *out) {
  std::lock_guard<std::mutex> lock(mu_);
  if (reader_ == nullptr)
    return Status::Make(ZB_ESTATE, "ring \"" + name_ + "\" is closed");
  return Status::FromCore(zb_reader_health(reader_, out));
}

Status ReaderSession::UnreadStreamStarts(uint64_t *out) {
  std::lock_guard<std::mutex> lock(mu_);
  if (reader_ == nullptr)
    return Status::Make(ZB_ESTATE, "ring \"" + name_ + "\" is closed");
  return Status::FromCore(zb_reader_unread_stream_starts(reader_, out));
}

Status ReaderSession::MaxFrameSize(uint64_t *out) {
  std::lock_guard<std::mutex> lock(mu_);
  if (reader_ == nullptr)
    return Status::Make(ZB_ESTATE, "ring \"" + name_ + "\" is closed");
  *out = zb_reader_max_frame_size(reader_);
  return Status();
}

void ReaderSession::Close() {
  std::lock_guard<std::mutex> closing(close_mu_);
  {
    // The names go first, and the session leaves the registry under the
    // same locks (registry, then mu_: UnlinkAll's order): an UnlinkAll
    // either finds the ring still named or finds it already unlinked, never
    // skips one that is still named. The reader works on unlinked
    // (zb_reader_unlink) until zb_reader_destroy below, which then unlinks
    // nothing.
    std::lock_guard<std::mutex> lock(RegistryMu());
    std::lock_guard<std::mutex> lock2(mu_);
    Registry().erase(this);
    if (reader_ == nullptr) return;
    zb_reader_unlink(reader_);
    closing_.store(true);
    zb_reader_wake(reader_);
  }
  thread_.Stop();
  zb_reader *reader;
  {
    std::lock_guard<std::mutex> lock(next_mu_);  // no TakeReady in flight
    std::lock_guard<std::mutex> lock2(mu_);
    reader = reader_;
    reader_ = nullptr;
  }
  zb_reader_destroy(reader);
}

}  // namespace zbnode

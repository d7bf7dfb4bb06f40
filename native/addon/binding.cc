// binding.cc — the JS face of the addon: JS values in, JS values out.
// Everything below it (reader-session, writer-session, wait-thread) has no
// napi.h; the protocol itself is native/core.
//
//   Reader  create, metadata, take / wait (every ready frame in one hop),
//           release, cancel, health, heldViews, close
//   Writer  connect, setMetadata, write, reserve/commit/cancel, health, close
//   module  validateName, nowNs, healthByName, ringsList, ringRemoveStale,
//           the sizing rule and the frame-header convention of the core,
//           healthBands, bandOf (the core's utilisation bands),
//           liveCounts (live native objects and malloc figures, for leak checks),
//           duplexRingNames (a duplex channel's two rings)
//
// Frames reach JS in batches: a wait resolves with the number of frames it
// took, whose views go into an array and whose fields into a Float64Array,
// both given once by the caller and reused, so a frame costs no object or
// promise beyond its view. A view is an external ArrayBuffer over the ring
// whose basic finalizer only ends the frame's lease if JS did not; release
// detaches it. Where external buffers are refused
// (napi_no_external_buffers_allowed, the Electron sandbox) or
// ZEROBUFFER_FORCE_COPY=1 is set at load, the bytes are copied instead and
// the ring frame is given back at once.
#include <napi.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <malloc.h>
#include <memory>
#include <mutex>
#include <vector>

#include "convert-binding.h"
#include "live-counts.h"
#include "reader-session.h"
#include "writer-session.h"

namespace zbnode {
namespace {

// ------------------------------------------------------------- instance data

struct AddonData {
  bool force_copy = false;
  bool debug = false;  // ZEROBUFFER_DEBUG=1: poison released frames
  std::mutex mu;
  std::vector<std::weak_ptr<ReaderSession>> readers;
  std::vector<std::weak_ptr<WriterSession>> writers;

  // The environment is going away (process exit, worker end): no ring
  // outlives it.
  ~AddonData() {
    for (auto &w : readers)
      if (auto s = w.lock()) s->Close();
    for (auto &w : writers)
      if (auto s = w.lock()) s->Close();
  }
  template <typename T>
  static void Track(std::vector<std::weak_ptr<T>> &list, std::mutex &mu,
                    const std::shared_ptr<T> &s) {
    std::lock_guard<std::mutex> lock(mu);
    list.erase(std::remove_if(list.begin(), list.end(),
                              [](const std::weak_ptr<T> &w) { return w.expired(); }),
               list.end());
    list.push_back(s);
  }
};

AddonData *Data(Napi::Env env) { return env.GetInstanceData<AddonData>(); }

// ------------------------------------------------------------------ errors

Napi::Error MakeError(Napi::Env env, const Status &s) {
  Napi::Error e = Napi::Error::New(env, s.message.empty() ? zb_strerror(s.code)
                                                          : s.message);
  e.Set("code", Napi::String::New(env, zb_err_name(s.code)));
  e.Set("errno", Napi::Number::New(env, s.code));
  return e;
}

Napi::Error UsageError(Napi::Env env, const std::string &message) {
  return MakeError(env, Status::Make(ZB_EINVAL, message));
}

// -------------------------------------------------------------- arguments

std::string ArgString(const Napi::CallbackInfo &info, size_t i, const char *what) {
  if (!info[i].IsString()) throw UsageError(info.Env(), std::string(what) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

double ArgNumber(const Napi::CallbackInfo &info, size_t i, const char *what) {
  if (!info[i].IsNumber()) throw UsageError(info.Env(), std::string(what) + " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

uint64_t ArgSize(const Napi::CallbackInfo &info, size_t i, const char *what) {
  double v = ArgNumber(info, i, what);
  if (!(v >= 0) || v > 9007199254740991.0 || v != static_cast<double>(static_cast<uint64_t>(v)))
    throw UsageError(info.Env(), std::string(what) + " must be a non-negative integer");
  return static_cast<uint64_t>(v);
}

int ArgTimeout(const Napi::CallbackInfo &info, size_t i) {
  if (info[i].IsUndefined()) return ZB_WAIT_FOREVER;
  double v = ArgNumber(info, i, "timeoutMs");
  if (v < 0) return ZB_WAIT_FOREVER;
  return v > 2147483647.0 ? 2147483647 : static_cast<int>(v);
}

// Bytes of a TypedArray, DataView or ArrayBuffer argument.
void ArgBytes(const Napi::CallbackInfo &info, size_t i, const uint8_t **data, size_t *size) {
  Napi::Value v = info[i];
  if (v.IsTypedArray()) {
    Napi::TypedArray t = v.As<Napi::TypedArray>();
    *data = static_cast<const uint8_t *>(t.ArrayBuffer().Data()) + t.ByteOffset();
    *size = t.ByteLength();
  } else if (v.IsDataView()) {
    Napi::DataView d = v.As<Napi::DataView>();
    *data = static_cast<const uint8_t *>(d.ArrayBuffer().Data()) + d.ByteOffset();
    *size = d.ByteLength();
  } else if (v.IsArrayBuffer()) {
    Napi::ArrayBuffer a = v.As<Napi::ArrayBuffer>();
    *data = static_cast<const uint8_t *>(a.Data());
    *size = a.ByteLength();
  } else {
    throw UsageError(info.Env(), "data must be a Uint8Array, Buffer, DataView or ArrayBuffer");
  }
}

Napi::Value U64(Napi::Env env, uint64_t v) { return Napi::Number::New(env, static_cast<double>(v)); }

Napi::Value HealthObject(Napi::Env env, const zb_health &h) {
  Napi::Object o = Napi::Object::New(env);
  Napi::Array version = Napi::Array::New(env, 4);
  for (uint32_t i = 0; i < 4; i++) version[i] = Napi::Number::New(env, h.version[i]);
  o.Set("version", version);
  o.Set("metadataSize", U64(env, h.metadata_size));
  o.Set("metadataWrittenBytes", U64(env, h.metadata_written_bytes));
  o.Set("payloadSize", U64(env, h.payload_size));
  o.Set("payloadFreeBytes", U64(env, h.payload_free_bytes));
  o.Set("payloadUsedBytes", U64(env, h.payload_used_bytes));
  o.Set("utilisationPercent", Napi::Number::New(env, h.utilisation_percent));
  o.Set("band", zb_band_name(h.band));
  o.Set("writePos", U64(env, h.write_pos));
  o.Set("readPos", U64(env, h.read_pos));
  o.Set("writtenCount", U64(env, h.written_count));
  o.Set("readCount", U64(env, h.read_count));
  o.Set("writerPid", U64(env, h.writer_pid));
  o.Set("readerPid", U64(env, h.reader_pid));
  o.Set("writerAlive", Napi::Boolean::New(env, h.writer_alive));
  o.Set("readerAlive", Napi::Boolean::New(env, h.reader_alive));
  o.Set("framesUnread", U64(env, h.frames_unread));
  o.Set("framesHeld", U64(env, h.frames_held));
  return o;
}

// ------------------------------------------------------------ pending waits

// A promise settled from a session's wait thread. The thread-safe function
// is referenced only while a wait is in flight, so an idle reader or writer
// never keeps the process alive. Shared by the reader and the writer: the
// state `Js` is owned jointly by the JS object and the wait in flight.
template <typename Js>
struct PendingWait {
  std::shared_ptr<Js> js;
  Napi::Promise::Deferred deferred;
  uint64_t id;
};

// Marks the wait in flight over (JS thread).
template <typename Js>
void EndWait(Napi::Env env, Js &js, uint64_t id) {
  if (id != 0 && js.pending_wait == id) {
    js.pending_wait = 0;
    napi_unref_threadsafe_function(env, js.tsfn);
  }
}

// Releases a reader's or writer's thread-safe function, once (close() and
// the destructor both ask).
template <typename Tsfn>
void ReleaseOnce(Tsfn &tsfn, bool &released) {
  if (released) return;
  released = true;
  tsfn.Release();
  CountDown(live_counts.tsfns);
}

Status ClosedStatus(const std::string &what) { return Status::Make(ZB_ESTATE, what + " is closed"); }

// ------------------------------------------------------------------ reader

// The fields of a frame in the batch's Float64Array, FRAME_FIELDS a frame
// (exported as `frameFields`, so JS reads them by name).
enum FrameField {
  kLease, kSequence, kPayloadSize, kArrivalNs, kHasHeader, kPts, kDts, kDuration, kCommitNs, kFlags,
  kCopied, kAttrsSize, kFrameFields
};

struct ReaderJs {
  std::shared_ptr<ReaderSession> session;
  bool force_copy = false;
  bool debug = false;
  uint64_t next_wait_id = 0;
  uint64_t pending_wait = 0;  // id of the wait in flight, 0 when none
  napi_threadsafe_function tsfn = nullptr;
  Napi::Reference<Napi::Float64Array> fields;  // kFrameFields per frame
  Napi::Reference<Napi::Array> views;          // one ArrayBuffer per frame
  size_t max = 1;                              // frames per batch
};

// Basic finalizer of a view: its lease ends here if JS did not release it.
// No JS here.
void FinalizeView(napi_env, void *, void *hint) {
  LeaseTable::Finalize(static_cast<LeaseTable::Slot *>(hint));
}

double OrNone(uint64_t v) { return v == ZB_EXT_NONE ? -1 : static_cast<double>(v); }

// Hands the session's batch to JS: views and fields; returns the count.
uint32_t Deliver(Napi::Env env, ReaderJs &js) {
  Batch &b = js.session->batch();
  Napi::Float64Array fields = js.fields.Value();
  Napi::Array views = js.views.Value();
  double *f = fields.Data();
  uint32_t n = 0;
  for (TakenFrame &t : b.frames) {
    napi_value ab = nullptr;
    double lease = -1;
    LeaseTable::Slot *slot = nullptr;
    if (!js.force_copy) {
      slot = js.session->leases().Hold(t.lease);
      if (napi_create_external_arraybuffer(env, const_cast<uint8_t *>(t.bytes), static_cast<size_t>(t.size),
                                           FinalizeView, slot, &ab) == napi_ok) {
        lease = js.session->leases().Id(slot);
        slot = nullptr;
      } else {
        // napi_no_external_buffers_allowed (sandboxed V8) or any other
        // refusal: fall back to a copy, transparently.
        napi_value ignored;
        napi_get_and_clear_last_exception(env, &ignored);
      }
    }
    if (lease < 0) {  // a copy: the ring frame goes back at once
      Napi::ArrayBuffer copy = Napi::ArrayBuffer::New(env, static_cast<size_t>(t.size));
      if (t.size > 0) std::memcpy(copy.Data(), t.bytes, static_cast<size_t>(t.size));
      zb_frame done = t.lease;
      if (slot != nullptr)
        LeaseTable::Finalize(slot);  // ends the lease it holds
      else
        zb_frame_release(&done);
      ab = copy;
    }
    views.Set(n, Napi::Value(env, ab));
    double *x = f + n * kFrameFields;
    x[kLease] = lease;
    x[kSequence] = static_cast<double>(t.lease.sequence);
    x[kPayloadSize] = static_cast<double>(t.lease.size);
    x[kArrivalNs] = static_cast<double>(t.arrival_ns);
    x[kHasHeader] = t.has_ext ? 1 : 0;
    x[kPts] = OrNone(t.ext.pts);
    x[kDts] = OrNone(t.ext.dts);
    x[kDuration] = OrNone(t.ext.duration);
    x[kCommitNs] = static_cast<double>(t.ext.commit_ns);
    x[kFlags] = t.ext.flags;
    x[kCopied] = lease < 0 ? 1 : 0;
    x[kAttrsSize] = t.has_ext ? static_cast<double>(t.ext.attrs_size) : 0;
    n++;
  }
  b.frames.clear();
  return n;
}

// A batch the JS side will not take (the reader closed): its leases end.
void Discard(Batch &b) {
  for (TakenFrame &t : b.frames) zb_frame_release(&t.lease);
  b.frames.clear();
}

using ReaderWait = PendingWait<ReaderJs>;

// Settles a wait or a take with the session's batch: the count, null once
// closed, or the error.
void SettleBatch(Napi::Env env, ReaderJs &js, Napi::Promise::Deferred deferred) {
  Batch &b = js.session->batch();
  if (b.closed || js.session->closed()) {
    Discard(b);
    deferred.Resolve(env.Null());
  } else if (!b.frames.empty()) {
    deferred.Resolve(Napi::Number::New(env, Deliver(env, js)));
  } else {
    Napi::Error e = MakeError(env, b.status);
    if (b.canceled) e.Set("canceled", Napi::Boolean::New(env, true));
    deferred.Reject(e.Value());
  }
}

void ReaderCallJs(Napi::Env env, Napi::Function, std::nullptr_t *, ReaderWait *item) {
  std::unique_ptr<ReaderWait> owned(item);  // always freed, env or not
  if (env == nullptr) {
    Discard(item->js->session->batch());
    return;
  }
  Napi::HandleScope scope(env);
  EndWait(env, *item->js, item->id);
  try {
    SettleBatch(env, *item->js, item->deferred);
  } catch (const Napi::Error &e) {
    item->deferred.Reject(e.Value());
  }
}

using ReaderTsfn = Napi::TypedThreadSafeFunction<std::nullptr_t, ReaderWait, ReaderCallJs>;

class Reader : public Napi::ObjectWrap<Reader> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Reader",
                       {InstanceAccessor<&Reader::Name>("name"),
                        InstanceAccessor<&Reader::Closed>("closed"),
                        InstanceMethod<&Reader::Metadata>("metadata"),
                        InstanceMethod<&Reader::Take>("take"),
                        InstanceMethod<&Reader::Wait>("wait"),
                        InstanceMethod<&Reader::Cancel>("cancel"),
                        InstanceMethod<&Reader::Release>("release"),
                        InstanceMethod<&Reader::GiveBack>("giveBack"),
                        InstanceMethod<&Reader::Health>("health"),
                        InstanceMethod<&Reader::HeldViews>("heldViews"),
                        InstanceMethod<&Reader::Close>("close")});
  }

  // new Reader(name, metadataSize, payloadSize, mode, fields, views): a batch
  // holds fields.length / frameFields.count frames.
  Reader(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Reader>(info) {
    Napi::Env env = info.Env();
    std::string name = ArgString(info, 0, "name");
    uint64_t meta = ArgSize(info, 1, "metadataSize");
    uint64_t payload = ArgSize(info, 2, "payloadSize");
    unsigned mode = info[3].IsNumber() ? info[3].As<Napi::Number>().Uint32Value() : 0;
    if (!info[4].IsTypedArray() || info[4].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
        info[4].As<Napi::Float64Array>().ElementLength() < kFrameFields || !info[5].IsArray())
      throw UsageError(env, "Reader needs a Float64Array for the frame fields and an array for the views");
    js_ = std::make_shared<ReaderJs>();
    js_->force_copy = Data(env)->force_copy;
    js_->debug = Data(env)->debug;
    js_->fields = Napi::Persistent(info[4].As<Napi::Float64Array>());
    js_->views = Napi::Persistent(info[5].As<Napi::Array>());
    js_->max = info[4].As<Napi::Float64Array>().ElementLength() / kFrameFields;
    Status s = ReaderSession::Create(name.c_str(), meta, payload, mode, Data(env)->debug, &js_->session);
    if (!s.ok()) throw MakeError(env, s);
    AddonData::Track(Data(env)->readers, Data(env)->mu, js_->session);
    tsfn_ = ReaderTsfn::New(env, "zerobuffer-reader", 0, 1, nullptr);
    CountUp(live_counts.tsfns);
    tsfn_.Unref(env);
    js_->tsfn = tsfn_;
  }

  ~Reader() override {
    if (js_ && js_->session) js_->session->Close();
    ReleaseOnce(tsfn_, tsfn_released_);
  }

 private:
  Napi::Value Name(const Napi::CallbackInfo &info) { return Napi::String::New(info.Env(), js_->session->name()); }
  Napi::Value Closed(const Napi::CallbackInfo &info) { return Napi::Boolean::New(info.Env(), js_->session->closed()); }

  // metadata() -> Uint8Array (a copy; empty while none was written)
  Napi::Value Metadata(const Napi::CallbackInfo &info) {
    std::vector<uint8_t> bytes;
    Status s = js_->session->Metadata(&bytes);
    if (!s.ok()) throw MakeError(info.Env(), s);
    return Napi::Buffer<uint8_t>::Copy(info.Env(), bytes.data(), bytes.size());
  }

  void CheckIdle(Napi::Env env) {
    if (js_->pending_wait != 0)
      throw MakeError(env, Status::Make(ZB_ESTATE, "ring \"" + js_->session->name() + "\": a read is already pending"));
  }

  // Frames a batch may take: the argument, within the batch's capacity.
  size_t Max(const Napi::CallbackInfo &info, size_t i) {
    uint64_t max = info[i].IsUndefined() ? js_->max : ArgSize(info, i, "max");
    return static_cast<size_t>(std::max<uint64_t>(1, std::min<uint64_t>(max, js_->max)));
  }

  // take(max) -> the number of frames ready now (0 when none), or null once
  // closed; throws the error that ended the stream (EOF, EWRITERDEAD, ...).
  Napi::Value Take(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    CheckIdle(env);
    js_->session->leases().GiveBack();
    if (js_->session->closed()) return env.Null();
    js_->session->TakeReady(Max(info, 0));
    Batch &b = js_->session->batch();
    if (b.frames.empty() && b.status.code == ZB_EAGAIN) return Napi::Number::New(env, 0);
    if (!b.frames.empty()) return Napi::Number::New(env, Deliver(env, *js_));
    if (b.closed) return env.Null();
    throw MakeError(env, b.status);
  }

  // wait(timeoutMs, max) -> Promise<number | null>: waits on the reader's
  // thread for the next frame, then takes every frame ready (up to max);
  // null once closed. Rejects with code ECANCELED (canceled: true) after
  // cancel().
  Napi::Value Wait(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    int timeout = ArgTimeout(info, 0);
    size_t max = Max(info, 1);
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
    try {
      CheckIdle(env);
      js_->session->leases().GiveBack();
      uint64_t id = ++js_->next_wait_id;
      ReaderWait *item = new ReaderWait{js_, deferred, id};
      ReaderTsfn tsfn = tsfn_;
      bool started = js_->session->StartWait(id, timeout, max, [tsfn, item]() mutable {
        if (tsfn.BlockingCall(item) != napi_ok) {  // torn down
          Discard(item->js->session->batch());
          delete item;
        }
      });
      if (!started) {
        delete item;
        deferred.Resolve(env.Null());  // closed meanwhile
        return deferred.Promise();
      }
      js_->pending_wait = id;
      tsfn_.Ref(env);
    } catch (const Napi::Error &e) {
      deferred.Reject(e.Value());
    }
    return deferred.Promise();
  }

  // cancel(): the pending wait rejects with ECANCELED.
  Napi::Value Cancel(const Napi::CallbackInfo &info) {
    if (js_->pending_wait != 0) js_->session->CancelWait(js_->pending_wait);
    return info.Env().Undefined();
  }

  // release(lease, buffer, later) -> boolean: detaches the frame's view (a
  // stale view reads as empty) and ends its lease (-1: a copy, no lease),
  // now or with `later` at the next take, wait, giveBack or close (a loop
  // that releases frame after frame then wakes a waiting writer once).
  Napi::Value Release(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    bool released = js_->session->leases().Release(ArgNumber(info, 0, "lease"));
    if (!info[2].ToBoolean() || js_->debug) js_->session->leases().GiveBack();  // debug: poisoned now
    if (info[1].IsArrayBuffer()) {
      Napi::ArrayBuffer ab = info[1].As<Napi::ArrayBuffer>();
      if (!ab.IsDetached()) ab.Detach();
    }
    return Napi::Boolean::New(env, released);
  }

  // giveBack(): ends the leases of the frames released since.
  Napi::Value GiveBack(const Napi::CallbackInfo &info) {
    js_->session->leases().GiveBack();
    return info.Env().Undefined();
  }

  Napi::Value Health(const Napi::CallbackInfo &info) {
    zb_health h{};
    js_->session->leases().GiveBack();
    Status s = js_->session->Health(&h);
    if (!s.ok()) throw MakeError(info.Env(), s);
    return HealthObject(info.Env(), h);
  }

  // heldViews() -> frames handed to JS, neither released nor collected.
  Napi::Value HeldViews(const Napi::CallbackInfo &info) {
    return Napi::Number::New(info.Env(), static_cast<double>(js_->session->leases().Held()));
  }

  // close(): ends a pending wait (it resolves null), joins the wait thread
  // and unlinks the ring. Frames still held stay readable until released.
  // Idempotent.
  Napi::Value Close(const Napi::CallbackInfo &info) {
    js_->session->leases().GiveBack();
    js_->session->Close();
    ReleaseOnce(tsfn_, tsfn_released_);
    return info.Env().Undefined();
  }

  Counted<&LiveCounts::reader_objects> counted_;
  std::shared_ptr<ReaderJs> js_;
  ReaderTsfn tsfn_;
  bool tsfn_released_ = false;
};

// ------------------------------------------------------------------ writer

struct WriterJs {
  std::shared_ptr<WriterSession> session;
  bool force_copy = false;
  uint64_t next_wait_id = 0;
  uint64_t pending_wait = 0;
  napi_threadsafe_function tsfn = nullptr;
};

struct WriteWait : PendingWait<WriterJs> {
  WriteWait(std::shared_ptr<WriterJs> js, Napi::Promise::Deferred deferred, uint64_t id, bool reserve,
            uint64_t size, WriteResult result)
      : PendingWait<WriterJs>{std::move(js), deferred, id}, reserve(reserve), size(size), result(result) {}
  Napi::Reference<Napi::Value> keep;  // the bytes being written
  bool reserve;
  uint64_t size;
  WriteResult result;
};

// A reservation as a view over the ring (a scratch buffer where external
// buffers are refused: commit copies it in).
Napi::Value ReservationView(Napi::Env env, WriterJs &js, uint8_t *slot, uint64_t size) {
  napi_value ab = nullptr;
  if (js.force_copy ||
      napi_create_external_arraybuffer(env, slot, static_cast<size_t>(size), nullptr, nullptr, &ab) != napi_ok) {
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
    Napi::Object o = Napi::Object::New(env);
    o.Set("buffer", Napi::ArrayBuffer::New(env, static_cast<size_t>(size)));
    o.Set("copied", Napi::Boolean::New(env, true));
    return o;
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("buffer", Napi::Value(env, ab));
  o.Set("copied", Napi::Boolean::New(env, false));
  return o;
}

void SettleWrite(Napi::Env env, WriteWait &w) {
  WriteResult &r = w.result;
  if (r.closed) {
    w.deferred.Reject(MakeError(env, Status::Make(ZB_ESTATE, "writer of ring \"" + w.js->session->name() +
                                                              "\" was closed during the wait"))
                          .Value());
  } else if (!r.status.ok()) {
    Napi::Error e = MakeError(env, r.status);
    if (r.canceled) e.Set("canceled", Napi::Boolean::New(env, true));
    w.deferred.Reject(e.Value());
  } else if (w.reserve) {
    w.deferred.Resolve(ReservationView(env, *w.js, r.slot, w.size));
  } else {
    w.deferred.Resolve(env.Undefined());
  }
}

void WriterCallJs(Napi::Env env, Napi::Function, std::nullptr_t *, WriteWait *item) {
  std::unique_ptr<WriteWait> owned(item);
  if (env == nullptr) return;
  Napi::HandleScope scope(env);
  EndWait(env, *item->js, item->id);
  try {
    SettleWrite(env, *item);
  } catch (const Napi::Error &e) {
    item->deferred.Reject(e.Value());
  }
}

using WriterTsfn = Napi::TypedThreadSafeFunction<std::nullptr_t, WriteWait, WriterCallJs>;

class Writer : public Napi::ObjectWrap<Writer> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Writer",
                       {InstanceAccessor<&Writer::Name>("name"),
                        InstanceAccessor<&Writer::Closed>("closed"),
                        InstanceAccessor<&Writer::MaxFrameSize>("maxFrameSize"),
                        InstanceMethod<&Writer::SetMetadata>("setMetadata"),
                        InstanceMethod<&Writer::Write>("write"),
                        InstanceMethod<&Writer::Reserve>("reserve"),
                        InstanceMethod<&Writer::Commit>("commit"),
                        InstanceMethod<&Writer::CancelReservation>("cancelReservation"),
                        InstanceMethod<&Writer::Cancel>("cancel"),
                        InstanceMethod<&Writer::Health>("health"),
                        InstanceMethod<&Writer::Close>("close")});
  }

  // new Writer(name)
  Writer(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Writer>(info) {
    Napi::Env env = info.Env();
    std::string name = ArgString(info, 0, "name");
    js_ = std::make_shared<WriterJs>();
    js_->force_copy = Data(env)->force_copy;
    Status s = WriterSession::Connect(name.c_str(), &js_->session);
    if (!s.ok()) throw MakeError(env, s);
    AddonData::Track(Data(env)->writers, Data(env)->mu, js_->session);
    tsfn_ = WriterTsfn::New(env, "zerobuffer-writer", 0, 1, nullptr);
    CountUp(live_counts.tsfns);
    tsfn_.Unref(env);
    js_->tsfn = tsfn_;
  }

  ~Writer() override {
    if (js_ && js_->session) js_->session->Close();
    ReleaseOnce(tsfn_, tsfn_released_);
  }

 private:
  WriterSession &session() { return *js_->session; }
  Napi::Value Name(const Napi::CallbackInfo &info) { return Napi::String::New(info.Env(), session().name()); }
  Napi::Value Closed(const Napi::CallbackInfo &info) { return Napi::Boolean::New(info.Env(), session().closed()); }
  Napi::Value MaxFrameSize(const Napi::CallbackInfo &info) { return U64(info.Env(), session().MaxFrameSize()); }

  // setMetadata(bytes)
  Napi::Value SetMetadata(const Napi::CallbackInfo &info) {
    const uint8_t *data;
    size_t size;
    ArgBytes(info, 0, &data, &size);
    Status s = session().SetMetadata(data, size);
    if (!s.ok()) throw MakeError(info.Env(), s);
    return info.Env().Undefined();
  }

  void CheckIdle(Napi::Env env) {
    if (js_->pending_wait != 0)
      throw MakeError(env, Status::Make(ZB_ESTATE, "writer of ring \"" + session().name() +
                                                       "\": a write is already pending"));
  }

  // Settles at once what was done on the JS thread, or hands the wait to
  // the writer's thread (`start` posts it there).
  template <typename Start>
  Napi::Value Run(Napi::Env env, Napi::Promise::Deferred deferred, WriteResult now, int timeout,
                  Napi::Value keep, bool reserve, uint64_t size, Start start) {
    if (now.status.code != ZB_EAGAIN || timeout == 0 || now.closed) {
      WriteWait w(js_, deferred, 0, reserve, size, now);
      SettleWrite(env, w);
      return deferred.Promise();
    }
    uint64_t id = ++js_->next_wait_id;
    WriteWait *item = new WriteWait(js_, deferred, id, reserve, size, WriteResult());
    if (!keep.IsUndefined()) item->keep = Napi::Persistent(keep);
    WriterTsfn tsfn = tsfn_;
    bool started = start(id, [tsfn, item](WriteResult r) mutable {
      item->result = r;
      if (tsfn.BlockingCall(item) != napi_ok) delete item;
    });
    if (!started) {
      delete item;
      throw MakeError(env, ClosedStatus("writer of ring \"" + session().name() + "\""));
    }
    js_->pending_wait = id;
    tsfn_.Ref(env);
    return deferred.Promise();
  }

  // write(bytes, timeoutMs, header?) -> Promise<void>. header: { pts?, dts?,
  // duration?, flags?, attributes? } writes the frame header (48 bytes, then
  // the attribute bytes) first.
  Napi::Value Write(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
    try {
      CheckIdle(env);
      WriteRequest req;
      size_t size;
      ArgBytes(info, 0, &req.data, &size);
      req.size = size;
      int timeout = ArgTimeout(info, 1);
      if (info[2].IsObject()) {
        Napi::Object h = info[2].As<Napi::Object>();
        auto field = [&](const char *key) -> uint64_t {
          Napi::Value v = h.Get(key);
          return v.IsNumber() ? static_cast<uint64_t>(v.As<Napi::Number>().DoubleValue()) : ZB_EXT_NONE;
        };
        req.ext = true;
        req.header.pts = field("pts");
        req.header.dts = field("dts");
        req.header.duration = field("duration");
        Napi::Value flags = h.Get("flags");
        req.header.flags = flags.IsNumber() ? flags.As<Napi::Number>().Uint32Value() : 0;
        req.header.commit_ns = 0;
        Napi::Value attrs = h.Get("attributes");
        if (attrs.IsTypedArray()) {
          Napi::Uint8Array a = attrs.As<Napi::Uint8Array>();
          if (a.ByteLength() > ZB_EXT_MAX_ATTRS_SIZE) throw UsageError(env, "frame attributes exceed 65487 bytes");
          req.attributes.assign(reinterpret_cast<const char *>(a.Data()), a.ByteLength());
        }
      }
      return Run(env, deferred, session().TryWrite(req), timeout, info[0], false, 0,
                 [&](uint64_t id, std::function<void(WriteResult)> done) {
                   return session().StartWrite(id, req, timeout, done);
                 });
    } catch (const Napi::Error &e) {
      deferred.Reject(e.Value());
    }
    return deferred.Promise();
  }

  // reserve(size, timeoutMs) -> Promise<{ buffer, copied }>: an ArrayBuffer
  // over the ring (copied: a scratch buffer that commit copies in).
  Napi::Value Reserve(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
    try {
      CheckIdle(env);
      uint64_t size = ArgSize(info, 0, "size");
      int timeout = ArgTimeout(info, 1);
      return Run(env, deferred, session().TryReserve(size), timeout, env.Undefined(), true, size,
                 [&](uint64_t id, std::function<void(WriteResult)> done) {
                   return session().StartReserve(id, size, timeout, done);
                 });
    } catch (const Napi::Error &e) {
      deferred.Reject(e.Value());
    }
    return deferred.Promise();
  }

  // commit(size, view, copied): publishes the first `size` bytes of the
  // reservation (copying them in from a scratch view) and detaches the view.
  Napi::Value Commit(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    uint64_t size = ArgSize(info, 0, "size");
    const uint8_t *scratch = nullptr;
    if (info[2].ToBoolean() && info[1].IsArrayBuffer()) {
      Napi::ArrayBuffer ab = info[1].As<Napi::ArrayBuffer>();
      if (size > ab.ByteLength()) throw UsageError(env, "commit: size is larger than the reservation");
      scratch = static_cast<const uint8_t *>(ab.Data());
    }
    Status s = session().Commit(size, scratch);
    if (!s.ok()) throw MakeError(env, s);  // reservation stays open (bad size)
    Detach(info[1]);
    return env.Undefined();
  }

  // cancelReservation(view): drops the open reservation, detaches its view.
  Napi::Value CancelReservation(const Napi::CallbackInfo &info) {
    session().CancelReservation();
    Detach(info[0]);
    return info.Env().Undefined();
  }

  static void Detach(Napi::Value v) {
    if (v.IsArrayBuffer() && !v.As<Napi::ArrayBuffer>().IsDetached()) v.As<Napi::ArrayBuffer>().Detach();
  }

  // cancel(): the pending write/reserve rejects with ECANCELED.
  Napi::Value Cancel(const Napi::CallbackInfo &info) {
    if (js_->pending_wait != 0) session().CancelWait(js_->pending_wait);
    return info.Env().Undefined();
  }

  Napi::Value Health(const Napi::CallbackInfo &info) {
    zb_health h{};
    Status s = session().Health(&h);
    if (!s.ok()) throw MakeError(info.Env(), s);
    return HealthObject(info.Env(), h);
  }

  // close(): drops a reservation, ends a pending wait (it rejects), and
  // detaches from the ring (the reader sees end of stream). Idempotent.
  Napi::Value Close(const Napi::CallbackInfo &info) {
    session().Close();
    ReleaseOnce(tsfn_, tsfn_released_);
    return info.Env().Undefined();
  }

  Counted<&LiveCounts::writer_objects> counted_;
  std::shared_ptr<WriterJs> js_;
  WriterTsfn tsfn_;
  bool tsfn_released_ = false;
};

// ------------------------------------------------------------------ module

Napi::Value ValidateName(const Napi::CallbackInfo &info) {
  std::string name = ArgString(info, 0, "name");
  if (name.find('\0') != std::string::npos) throw MakeError(info.Env(), Status::Make(ZB_ENAME, "ring name contains NUL"));
  int rc = zb_validate_name(name.c_str());
  if (rc < 0) throw MakeError(info.Env(), Status::FromCore(rc));
  return info.Env().Undefined();
}

Napi::Value NowNs(const Napi::CallbackInfo &info) { return U64(info.Env(), zb_now_ns()); }

Napi::Value HealthByName(const Napi::CallbackInfo &info) {
  std::string name = ArgString(info, 0, "name");
  zb_health h{};
  int rc = zb_health_read(name.c_str(), &h);
  if (rc < 0) throw MakeError(info.Env(), Status::FromCore(rc));
  return HealthObject(info.Env(), h);
}

// ringsList() -> [{ name, hasSegment, hasLock, readerAlive, writerAlive }]
// in name order (zb_rings_list); a ring with neither peer alive is stale.
int CollectRing(const zb_ring_entry *ring, void *user) {
  static_cast<std::vector<zb_ring_entry> *>(user)->push_back(*ring);
  return 0;
}

Napi::Value RingsList(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::vector<zb_ring_entry> rings;
  int rc = zb_rings_list(CollectRing, &rings);
  if (rc < 0) throw MakeError(env, Status::FromCore(rc));
  Napi::Array out = Napi::Array::New(env, rings.size());
  for (uint32_t i = 0; i < rings.size(); i++) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", Napi::String::New(env, rings[i].name));
    o.Set("hasSegment", Napi::Boolean::New(env, rings[i].has_segment));
    o.Set("hasLock", Napi::Boolean::New(env, rings[i].has_lock));
    o.Set("readerAlive", Napi::Boolean::New(env, rings[i].reader_alive));
    o.Set("writerAlive", Napi::Boolean::New(env, rings[i].writer_alive));
    out[i] = o;
  }
  return out;
}

// ringRemoveStale(name): removes a ring whose reader and writer are both
// dead; throws EBUSY (nothing removed) or ENOENT (zb_ring_remove_stale).
Napi::Value RingRemoveStale(const Napi::CallbackInfo &info) {
  std::string name = ArgString(info, 0, "name");
  int rc = zb_ring_remove_stale(name.c_str());
  if (rc < 0) throw MakeError(info.Env(), Status::FromCore(rc));
  return info.Env().Undefined();
}

// payloadSizeFor(frameSize, frames, frameHeader) -> bytes (0: too large)
Napi::Value PayloadSizeFor(const Napi::CallbackInfo &info) {
  return U64(info.Env(), zb_payload_size_for(ArgSize(info, 0, "frameSize"),
                                             static_cast<unsigned>(ArgSize(info, 1, "frames")),
                                             info[2].ToBoolean()));
}

// defaultFramesInFlight(frameSize), defaultPayloadSize(frameSize or 0)
Napi::Value DefaultFramesInFlight(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(), zb_default_frames_in_flight(ArgSize(info, 0, "frameSize")));
}

Napi::Value DefaultPayloadSize(const Napi::CallbackInfo &info) {
  return U64(info.Env(), zb_default_payload_size(ArgSize(info, 0, "frameSize")));
}

// metadataFrameHeader(bytes) -> the per-frame header version declared (0:
// none); throws EPROTO when the declaration cannot be read.
Napi::Value MetadataFrameHeader(const Napi::CallbackInfo &info) {
  const uint8_t *data;
  size_t size;
  ArgBytes(info, 0, &data, &size);
  int v = zb_metadata_frame_header(data, size);
  if (v < 0) throw MakeError(info.Env(), Status::FromCore(v));
  return Napi::Number::New(info.Env(), v);
}

// declareFrameHeader(bytes) -> Uint8Array: the JSON object with the
// per-frame header declared.
Napi::Value DeclareFrameHeader(const Napi::CallbackInfo &info) {
  const uint8_t *data;
  size_t size;
  uint64_t n = 0;
  ArgBytes(info, 0, &data, &size);
  int rc = zb_metadata_declare_frame_header(data, size, nullptr, 0, &n);
  if (rc < 0) throw MakeError(info.Env(), Status::FromCore(rc));
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(info.Env(), static_cast<size_t>(n));
  rc = zb_metadata_declare_frame_header(data, size, out.Data(), n, &n);
  if (rc < 0) throw MakeError(info.Env(), Status::FromCore(rc));
  return out;
}

// bandOf(utilisation percent) -> "healthy" | "degraded" | "critical"
Napi::Value BandOf(const Napi::CallbackInfo &info) {
  return Napi::String::New(info.Env(), zb_band_name(zb_band_of(ArgNumber(info, 0, "utilisation"))));
}

// liveCounts() -> the addon's live native objects (process-wide, see
// live-counts.h) and glibc's malloc figures (mallinfo2), for leak checks.
Napi::Value LiveCountsObject(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  const std::pair<const char *, const std::atomic<int64_t> *> counts[] = {
      {"readerObjects", &live_counts.reader_objects}, {"writerObjects", &live_counts.writer_objects},
      {"readerSessions", &live_counts.reader_sessions}, {"writerSessions", &live_counts.writer_sessions},
      {"leaseTables", &live_counts.lease_tables}, {"views", &live_counts.views},
      {"heldLeases", &live_counts.held_leases}, {"threadSafeFunctions", &live_counts.tsfns},
  };
  for (const auto &c : counts) o.Set(c.first, Napi::Number::New(env, static_cast<double>(c.second->load())));
  struct mallinfo2 m = mallinfo2();
  Napi::Object malloc = Napi::Object::New(env);
  malloc.Set("arenaBytes", U64(env, m.arena));        // from the main heap (brk) and other arenas
  malloc.Set("mmapBytes", U64(env, m.hblkhd));        // in chunks mmap'ed one by one
  malloc.Set("inUseBytes", U64(env, m.uordblks));     // allocated, in the arenas
  malloc.Set("freeBytes", U64(env, m.fordblks));      // free, kept in the arenas
  malloc.Set("releasableBytes", U64(env, m.keepcost));  // free at the top of the main heap
  o.Set("malloc", malloc);
  return o;
}

// duplexRingNames(channel) -> { request, response }: the names of a duplex
// channel's two rings (zb_duplex_ring_name); throws ENAME.
Napi::Value DuplexRingNames(const Napi::CallbackInfo &info) {
  std::string channel = ArgString(info, 0, "channel");
  if (channel.find('\0') != std::string::npos) throw MakeError(info.Env(), Status::Make(ZB_ENAME, "channel name contains NUL"));
  Napi::Object out = Napi::Object::New(info.Env());
  const std::pair<const char *, zb_duplex_ring> rings[] = {{"request", ZB_DUPLEX_REQUEST}, {"response", ZB_DUPLEX_RESPONSE}};
  for (const auto &r : rings) {
    char name[ZB_NAME_MAX + 1];
    int rc = zb_duplex_ring_name(channel.c_str(), r.second, name, sizeof name);
    if (rc < 0) throw MakeError(info.Env(), Status::FromCore(rc));
    out.Set(r.first, Napi::String::New(info.Env(), name));
  }
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  AddonData *data = new AddonData();
  const char *force = std::getenv("ZEROBUFFER_FORCE_COPY");
  const char *debug = std::getenv("ZEROBUFFER_DEBUG");
  data->force_copy = force != nullptr && std::strcmp(force, "1") == 0;
  data->debug = debug != nullptr && std::strcmp(debug, "1") == 0;
  env.SetInstanceData<AddonData>(data);
  exports.Set("Reader", Reader::Init(env));
  exports.Set("Writer", Writer::Init(env));
  const std::pair<const char *, Napi::Function::Callback> functions[] = {
      {"validateName", ValidateName},
      {"nowNs", NowNs},
      {"healthByName", HealthByName},
      {"ringsList", RingsList},
      {"ringRemoveStale", RingRemoveStale},
      {"payloadSizeFor", PayloadSizeFor},
      {"defaultFramesInFlight", DefaultFramesInFlight},
      {"defaultPayloadSize", DefaultPayloadSize},
      {"metadataFrameHeader", MetadataFrameHeader},
      {"declareFrameHeader", DeclareFrameHeader},
      {"liveCounts", LiveCountsObject},
      {"duplexRingNames", DuplexRingNames},
  };
  for (const auto &f : functions) exports.Set(f.first, Napi::Function::New(env, f.second, f.first));
  Napi::Object fields = Napi::Object::New(env);
  const char *field_names[] = {"lease", "sequence", "payloadSize", "arrivalNs", "hasHeader", "pts",
                               "dts", "duration", "commitNs", "flags", "copied", "attrsSize"};
  for (int i = 0; i < kFrameFields; i++) fields.Set(field_names[i], Napi::Number::New(env, i));
  fields.Set("count", Napi::Number::New(env, kFrameFields));
  exports.Set("frameFields", fields);
  exports.Set("forceCopy", Napi::Boolean::New(env, data->force_copy));
  exports.Set("debug", Napi::Boolean::New(env, data->debug));
  exports.Set("frameHeaderSize", Napi::Number::New(env, ZB_EXT_HEADER_SIZE));
  exports.Set("maxMetadataSize", U64(env, ZB_MAX_METADATA_SIZE));
  exports.Set("maxPayloadSize", U64(env, ZB_MAX_PAYLOAD_SIZE));
  RegisterConvert(env, exports);
  exports.Set("poisonByte", Napi::Number::New(env, ZB_POISON_BYTE));
  Napi::Object bands = Napi::Object::New(env);
  bands.Set("degraded", ZB_BAND_DEGRADED_PERCENT);
  bands.Set("critical", ZB_BAND_CRITICAL_PERCENT);
  bands.Freeze();
  exports.Set("healthBands", bands);
  exports.Set("bandOf", Napi::Function::New<BandOf>(env, "bandOf"));
  exports.Set("duplexConnectRetryMs", Napi::Number::New(env, ZB_DUPLEX_CONNECT_RETRY_MS));
  return exports;
}

}  // namespace
}  // namespace zbnode

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return zbnode::Init(env, exports);
}

NODE_API_MODULE(NODE_GYP_MODULE_NAME, InitModule)

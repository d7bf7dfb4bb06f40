// binding.cc — the JS face of the addon: JS values in, JS values out.
// Everything below it (reader-session, writer-session, wait-thread) has no
// napi.h; the protocol itself is native/core.
//
//   Reader  create, metadata, next (a promise per frame), release, cancel,
//           frameHeader, health, close
//   Writer  connect, setMetadata, write, reserve/commit/cancel, health, close
//   module  validateName, nowNs, healthByName, ringsList, ringRemoveStale
//
// Frames are external ArrayBuffers over the ring (basic finalizers only:
// they give a forgotten frame back, nothing else); release detaches them.
// Where external buffers are refused (napi_no_external_buffers_allowed, the
// Electron sandbox) or ZEROBUFFER_FORCE_COPY=1 is set at load, the bytes are
// copied instead and the ring frame is given back at once.
#include <napi.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "convert-binding.h"
#include "reader-session.h"
#include "writer-session.h"

namespace zbnode {
namespace {

// ------------------------------------------------------------- instance data

struct AddonData {
  Napi::FunctionReference reader_ctor;
  Napi::FunctionReference writer_ctor;
  bool force_copy = false;
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
  o.Set("writePos", U64(env, h.write_pos));
  o.Set("readPos", U64(env, h.read_pos));
  o.Set("writtenCount", U64(env, h.written_count));
  o.Set("readCount", U64(env, h.read_count));
  o.Set("writerPid", U64(env, h.writer_pid));
  o.Set("readerPid", U64(env, h.reader_pid));
  o.Set("writerAlive", Napi::Boolean::New(env, h.writer_alive));
  o.Set("readerAlive", Napi::Boolean::New(env, h.reader_alive));
  return o;
}

void SetExt(Napi::Env env, Napi::Object o, const zb_frame_ext &ext) {
  if (ext.pts != ZB_EXT_NONE) o.Set("pts", U64(env, ext.pts));
  if (ext.dts != ZB_EXT_NONE) o.Set("dts", U64(env, ext.dts));
  if (ext.duration != ZB_EXT_NONE) o.Set("duration", U64(env, ext.duration));
  o.Set("commitNs", U64(env, ext.commit_ns));
  o.Set("flags", Napi::Number::New(env, ext.flags));
  if (ext.attrs_size > 0) o.Set("attributes", Napi::Buffer<uint8_t>::Copy(env, ext.attrs, ext.attrs_size));
}

// Weak references to the ArrayBuffers handed out, so they can be detached.
class Views {
 public:
  void Add(Napi::Env env, uint64_t key, Napi::ArrayBuffer ab) {
    napi_ref ref;
    NAPI_THROW_IF_FAILED_VOID(env, napi_create_reference(env, ab, 0, &ref));
    refs_[key] = ref;
    if (++added_ % 256 == 0) Sweep(env);
  }
  // Detaches the view of `key` (a stale view then reads as empty).
  void Detach(Napi::Env env, uint64_t key) {
    auto it = refs_.find(key);
    if (it == refs_.end()) return;
    DetachRef(env, it->second);
    refs_.erase(it);
  }
  void DetachAll(Napi::Env env) {
    for (auto &kv : refs_) DetachRef(env, kv.second);
    refs_.clear();
  }
  // Drops references whose ArrayBuffer was collected.
  void Sweep(Napi::Env env) {
    for (auto it = refs_.begin(); it != refs_.end();) {
      napi_value v = nullptr;
      napi_get_reference_value(env, it->second, &v);
      if (v == nullptr) {
        napi_delete_reference(env, it->second);
        it = refs_.erase(it);
      } else {
        ++it;
      }
    }
  }
  size_t size() const { return refs_.size(); }

 private:
  static void DetachRef(Napi::Env env, napi_ref ref) {
    napi_value v = nullptr;
    napi_get_reference_value(env, ref, &v);
    if (v != nullptr) {
      Napi::ArrayBuffer ab(env, v);
      if (!ab.IsDetached()) ab.Detach();
    }
    napi_delete_reference(env, ref);
  }
  std::unordered_map<uint64_t, napi_ref> refs_;
  uint64_t added_ = 0;
};

// ------------------------------------------------------------------ reader

// State shared by a Reader and the results on their way to it.
struct ReaderJs {
  std::shared_ptr<ReaderSession> session;
  Views views;
  bool force_copy = false;
  uint64_t next_wait_id = 0;
  uint64_t pending_wait = 0;  // id of the wait in flight, 0 when none
  // Referenced only while a wait is in flight: an idle reader never keeps
  // the process alive.
  napi_threadsafe_function tsfn = nullptr;
};

struct ViewHint {
  std::weak_ptr<ReaderSession> session;
  uint64_t ticket;
};

// Basic finalizer: a frame whose view was collected without release() goes
// back to the writer. No JS here.
void FinalizeFrameView(napi_env, void *, void *hint) {
  ViewHint *h = static_cast<ViewHint *>(hint);
  if (auto s = h->session.lock()) s->Release(h->ticket);
  delete h;
}

// The JS frame: { ticket, sequence, size, buffer, copied, arrivalNs, [ext] }.
Napi::Value FrameObject(Napi::Env env, ReaderJs &js, const FrameResult &r) {
  const uint8_t *bytes = r.has_ext ? r.ext.data : r.frame.data;
  size_t size = static_cast<size_t>(r.has_ext ? r.ext.size : r.frame.size);
  napi_value ab = nullptr;
  bool copied = js.force_copy;
  if (!copied) {
    ViewHint *hint = new ViewHint{js.session, r.frame.ticket};
    napi_status st = napi_create_external_arraybuffer(
        env, const_cast<uint8_t *>(bytes), size, FinalizeFrameView, hint, &ab);
    if (st != napi_ok) {
      delete hint;
      // napi_no_external_buffers_allowed (sandboxed V8) or any other refusal:
      // fall back to a copy, transparently.
      napi_value ignored;
      napi_get_and_clear_last_exception(env, &ignored);
      copied = true;
    }
  }
  if (copied) {
    Napi::ArrayBuffer copy = Napi::ArrayBuffer::New(env, size);
    if (size > 0) std::memcpy(copy.Data(), bytes, size);
    js.session->Release(r.frame.ticket);  // the copy does not need the ring
    ab = copy;
  }
  Napi::ArrayBuffer buffer(env, ab);
  js.views.Add(env, r.frame.ticket, buffer);
  Napi::Object o = Napi::Object::New(env);
  o.Set("ticket", U64(env, r.frame.ticket));
  o.Set("sequence", U64(env, r.frame.sequence));
  o.Set("size", U64(env, size));
  o.Set("payloadSize", U64(env, r.frame.size));
  o.Set("buffer", buffer);
  o.Set("copied", Napi::Boolean::New(env, copied));
  o.Set("arrivalNs", U64(env, r.arrival_ns));
  if (r.has_ext) SetExt(env, o, r.ext);
  return o;
}

struct WaitItem {
  std::shared_ptr<ReaderJs> js;
  Napi::Promise::Deferred deferred;
  uint64_t id;
  FrameResult result;
};

void SettleWait(Napi::Env env, WaitItem *item);

void ReaderCallJs(Napi::Env env, Napi::Function, std::nullptr_t *, WaitItem *item) {
  std::unique_ptr<WaitItem> owned(item);  // always freed, env or not
  if (env == nullptr) return;
  SettleWait(env, item);
}

using ReaderTsfn = Napi::TypedThreadSafeFunction<std::nullptr_t, WaitItem, ReaderCallJs>;

class Reader : public Napi::ObjectWrap<Reader> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Reader",
                       {InstanceAccessor<&Reader::Name>("name"),
                        InstanceAccessor<&Reader::Closed>("closed"),
                        InstanceMethod<&Reader::Metadata>("metadata"),
                        InstanceMethod<&Reader::Next>("next"),
                        InstanceMethod<&Reader::Cancel>("cancel"),
                        InstanceMethod<&Reader::Release>("release"),
                        InstanceMethod<&Reader::FrameHeader>("frameHeader"),
                        InstanceMethod<&Reader::Health>("health"),
                        InstanceMethod<&Reader::HeldViews>("heldViews"),
                        InstanceMethod<&Reader::Close>("close")});
  }

  // new Reader(name, metadataSize, payloadSize, mode)
  Reader(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Reader>(info) {
    Napi::Env env = info.Env();
    std::string name = ArgString(info, 0, "name");
    uint64_t meta = ArgSize(info, 1, "metadataSize");
    uint64_t payload = ArgSize(info, 2, "payloadSize");
    unsigned mode = info[3].IsNumber() ? info[3].As<Napi::Number>().Uint32Value() : 0;
    js_ = std::make_shared<ReaderJs>();
    js_->force_copy = Data(env)->force_copy;
    Status s = ReaderSession::Create(name.c_str(), meta, payload, mode, &js_->session);
    if (!s.ok()) throw MakeError(env, s);
    AddonData::Track(Data(env)->readers, Data(env)->mu, js_->session);
    tsfn_ = ReaderTsfn::New(env, "zerobuffer-reader", 0, 1, nullptr);
    tsfn_.Unref(env);
    js_->tsfn = tsfn_;
  }

  ~Reader() override {
    if (js_ && js_->session) js_->session->Close();
    if (!tsfn_released_) tsfn_.Release();
  }

 private:
  Napi::Value Name(const Napi::CallbackInfo &info) {
    return Napi::String::New(info.Env(), js_->session->name());
  }
  Napi::Value Closed(const Napi::CallbackInfo &info) {
    return Napi::Boolean::New(info.Env(), js_->session->closed());
  }

  // metadata() -> Uint8Array (a copy; empty while none was written)
  Napi::Value Metadata(const Napi::CallbackInfo &info) {
    std::vector<uint8_t> bytes;
    Status s = js_->session->Metadata(&bytes);
    if (!s.ok()) throw MakeError(info.Env(), s);
    return Napi::Buffer<uint8_t>::Copy(info.Env(), bytes.data(), bytes.size());
  }

  // next(timeoutMs, parseHeader) -> Promise<frame | null>; null once the
  // reader is closed. Rejects with code ECANCELED after cancel().
  Napi::Value Next(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    int timeout = ArgTimeout(info, 0);
    bool parse_header = info[1].ToBoolean();
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
    if (js_->pending_wait != 0) {
      deferred.Reject(MakeError(env, Status::Make(ZB_ESTATE, "ring \"" + js_->session->name() +
                                                               "\": a read is already pending"))
                          .Value());
      return deferred.Promise();
    }
    FrameResult now = js_->session->TryNext(parse_header);
    if (now.closed) {
      deferred.Resolve(env.Null());
      return deferred.Promise();
    }
    if (now.status.code != ZB_EAGAIN || timeout == 0) {
      WaitItem item{js_, deferred, 0, std::move(now)};
      SettleWait(env, &item);
      return deferred.Promise();
    }
    uint64_t id = ++js_->next_wait_id;
    WaitItem *item = new WaitItem{js_, deferred, id, FrameResult()};
    ReaderTsfn tsfn = tsfn_;
    bool started = js_->session->StartWait(id, timeout, parse_header, [tsfn, item](FrameResult r) mutable {
      item->result = std::move(r);
      if (tsfn.BlockingCall(item) != napi_ok) delete item;  // torn down
    });
    if (!started) {
      delete item;
      deferred.Resolve(env.Null());  // closed meanwhile
      return deferred.Promise();
    }
    js_->pending_wait = id;
    tsfn_.Ref(env);
    return deferred.Promise();
  }

  // cancel(): the pending next() rejects with ECANCELED.
  Napi::Value Cancel(const Napi::CallbackInfo &info) {
    if (js_->pending_wait != 0) js_->session->CancelWait(js_->pending_wait);
    return info.Env().Undefined();
  }

  // release(ticket) -> boolean: detaches the frame's view, gives it back.
  Napi::Value Release(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    uint64_t ticket = ArgSize(info, 0, "ticket");
    js_->views.Detach(env, ticket);
    return Napi::Boolean::New(env, js_->session->Release(ticket));
  }

  // frameHeader(ticket) -> { headerSize, pts?, dts?, duration?, commitNs, flags }
  Napi::Value FrameHeader(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    zb_frame_ext ext{};
    Status s = js_->session->ParseHeader(ArgSize(info, 0, "ticket"), &ext);
    if (!s.ok()) throw MakeError(env, s);
    Napi::Object o = Napi::Object::New(env);
    SetExt(env, o, ext);
    return o;
  }

  Napi::Value Health(const Napi::CallbackInfo &info) {
    zb_health h{};
    Status s = js_->session->Health(&h);
    if (!s.ok()) throw MakeError(info.Env(), s);
    return HealthObject(info.Env(), h);
  }

  // heldViews() -> number of views not yet released (tests, leak checks).
  Napi::Value HeldViews(const Napi::CallbackInfo &info) {
    js_->views.Sweep(info.Env());
    return Napi::Number::New(info.Env(), static_cast<double>(js_->views.size()));
  }

  // close(): detaches every view, ends a pending next() (it resolves null),
  // joins the wait thread and unlinks the ring. Idempotent.
  Napi::Value Close(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    js_->views.DetachAll(env);
    js_->session->Close();
    if (!tsfn_released_) {
      tsfn_released_ = true;
      tsfn_.Release();
    }
    return env.Undefined();
  }

  std::shared_ptr<ReaderJs> js_;
  ReaderTsfn tsfn_;
  bool tsfn_released_ = false;

  friend void SettleWait(Napi::Env env, WaitItem *item);
};

void SettleWait(Napi::Env env, WaitItem *item) {
  Napi::HandleScope scope(env);
  ReaderJs &js = *item->js;
  FrameResult &r = item->result;
  if (item->id != 0 && js.pending_wait == item->id) {
    js.pending_wait = 0;
    napi_unref_threadsafe_function(env, js.tsfn);
  }
  try {
    if (r.closed || (r.status.ok() && !js.session->IsHeld(r.frame.ticket))) {
      item->deferred.Resolve(env.Null());
    } else if (!r.status.ok()) {
      Napi::Error e = MakeError(env, r.status);
      if (r.canceled) e.Set("canceled", Napi::Boolean::New(env, true));
      item->deferred.Reject(e.Value());
    } else {
      item->deferred.Resolve(FrameObject(env, js, r));
    }
  } catch (const Napi::Error &e) {
    item->deferred.Reject(e.Value());
  }
}

// ------------------------------------------------------------------ writer

struct WriteItem {
  Napi::Promise::Deferred deferred;
  Napi::Reference<Napi::Value> keep;  // the bytes being written
  bool reserve;
  uint64_t size;
  class Writer *writer;
  WriteResult result;
};

void WriterCallJs(Napi::Env env, Napi::Function, std::nullptr_t *, WriteItem *item);
using WriterTsfn = Napi::TypedThreadSafeFunction<std::nullptr_t, WriteItem, WriterCallJs>;

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
    force_copy_ = Data(env)->force_copy;
    Status s = WriterSession::Connect(name.c_str(), &session_);
    if (!s.ok()) throw MakeError(env, s);
    AddonData::Track(Data(env)->writers, Data(env)->mu, session_);
    tsfn_ = WriterTsfn::New(env, "zerobuffer-writer", 0, 1, nullptr);
    tsfn_.Unref(env);
  }

  ~Writer() override {
    if (session_) session_->Close();
    if (!tsfn_released_) tsfn_.Release();
  }

  // Runs on the JS thread when a wait on the thread is over.
  void Settle(Napi::Env env, WriteItem *item) {
    Napi::HandleScope scope(env);
    if (pending_wait_ != 0) {
      pending_wait_ = 0;
      tsfn_.Unref(env);
    }
    WriteResult &r = item->result;
    try {
      if (r.closed) {
        item->deferred.Reject(MakeError(env, Status::Make(ZB_ESTATE, "writer of ring \"" + session_->name() +
                                                                         "\" was closed during the wait"))
                                  .Value());
      } else if (!r.status.ok()) {
        Napi::Error e = MakeError(env, r.status);
        if (r.canceled) e.Set("canceled", Napi::Boolean::New(env, true));
        item->deferred.Reject(e.Value());
      } else if (item->reserve) {
        item->deferred.Resolve(ReservationView(env, r.slot, item->size));
      } else {
        item->deferred.Resolve(env.Undefined());
      }
    } catch (const Napi::Error &e) {
      item->deferred.Reject(e.Value());
    }
  }

 private:
  Napi::Value Name(const Napi::CallbackInfo &info) { return Napi::String::New(info.Env(), session_->name()); }
  Napi::Value Closed(const Napi::CallbackInfo &info) { return Napi::Boolean::New(info.Env(), session_->closed()); }
  Napi::Value MaxFrameSize(const Napi::CallbackInfo &info) { return U64(info.Env(), session_->MaxFrameSize()); }

  // setMetadata(bytes)
  Napi::Value SetMetadata(const Napi::CallbackInfo &info) {
    const uint8_t *data;
    size_t size;
    ArgBytes(info, 0, &data, &size);
    Status s = session_->SetMetadata(data, size);
    if (!s.ok()) throw MakeError(info.Env(), s);
    return info.Env().Undefined();
  }

  void CheckIdle(Napi::Env env) {
    if (pending_wait_ != 0)
      throw MakeError(env, Status::Make(ZB_ESTATE, "writer of ring \"" + session_->name() +
                                                       "\": a write is already pending"));
    if (reservation_)
      throw MakeError(env, Status::Make(ZB_ESTATE, "writer of ring \"" + session_->name() +
                                                       "\": a reservation is open; commit or cancel it first"));
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
      WriteResult now = session_->TryWrite(req);
      if (now.status.code != ZB_EAGAIN || timeout == 0 || now.closed) {
        WriteItem item{deferred, Napi::Reference<Napi::Value>(), false, 0, this, now};
        Settle(env, &item);
        return deferred.Promise();
      }
      StartWait(env, deferred, info[0], false, req.size, [&](uint64_t id, std::function<void(WriteResult)> done) {
        return session_->StartWrite(id, req, timeout, done);
      });
    } catch (const Napi::Error &e) {
      deferred.Reject(e.Value());
    }
    return deferred.Promise();
  }

  // reserve(size, timeoutMs) -> Promise<ArrayBuffer> over the ring (a copy
  // buffer where external buffers are refused); commit(n) publishes it.
  Napi::Value Reserve(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
    try {
      CheckIdle(env);
      uint64_t size = ArgSize(info, 0, "size");
      int timeout = ArgTimeout(info, 1);
      WriteResult now = session_->TryReserve(size);
      if (now.status.code != ZB_EAGAIN || timeout == 0 || now.closed) {
        WriteItem item{deferred, Napi::Reference<Napi::Value>(), true, size, this, now};
        Settle(env, &item);
        return deferred.Promise();
      }
      StartWait(env, deferred, env.Undefined(), true, size, [&](uint64_t id, std::function<void(WriteResult)> done) {
        return session_->StartReserve(id, size, timeout, done);
      });
    } catch (const Napi::Error &e) {
      deferred.Reject(e.Value());
    }
    return deferred.Promise();
  }

  template <typename Start>
  void StartWait(Napi::Env env, Napi::Promise::Deferred deferred, Napi::Value keep, bool reserve, uint64_t size,
                 Start start) {
    uint64_t id = ++next_wait_id_;
    WriteItem *item = new WriteItem{deferred, Napi::Reference<Napi::Value>(), reserve, size, this, WriteResult()};
    if (!keep.IsUndefined()) item->keep = Napi::Persistent(keep);
    WriterTsfn tsfn = tsfn_;
    bool started = start(id, [tsfn, item](WriteResult r) mutable {
      item->result = r;
      if (tsfn.BlockingCall(item) != napi_ok) delete item;
    });
    if (!started) {
      delete item;
      throw MakeError(env, Status::Make(ZB_ESTATE, "writer of ring \"" + session_->name() + "\" is closed"));
    }
    pending_wait_ = id;
    tsfn_.Ref(env);
  }

  Napi::Value ReservationView(Napi::Env env, void *slot, uint64_t size) {
    napi_value ab = nullptr;
    bool copied = force_copy_;
    if (!copied &&
        napi_create_external_arraybuffer(env, slot, static_cast<size_t>(size), nullptr, nullptr, &ab) != napi_ok) {
      napi_value ignored;
      napi_get_and_clear_last_exception(env, &ignored);
      copied = true;
    }
    if (copied) ab = Napi::ArrayBuffer::New(env, static_cast<size_t>(size));
    reservation_ = true;
    reservation_slot_ = slot;
    reservation_copied_ = copied;
    reservation_view_ = Napi::Persistent(Napi::ArrayBuffer(env, ab));
    return Napi::ArrayBuffer(env, ab);
  }

  void EndReservation() {
    if (!reservation_view_.IsEmpty()) {
      Napi::ArrayBuffer ab = reservation_view_.Value();
      if (!ab.IsDetached()) ab.Detach();
      reservation_view_.Reset();
    }
    reservation_ = false;
    reservation_slot_ = nullptr;
  }

  // commit(size): publishes the first `size` bytes of the reservation.
  Napi::Value Commit(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    uint64_t size = ArgSize(info, 0, "size");
    if (!reservation_) throw MakeError(env, Status::Make(ZB_ESTATE, "commit: no reservation is open"));
    if (reservation_copied_) {
      Napi::ArrayBuffer ab = reservation_view_.Value();
      if (size > ab.ByteLength())
        throw UsageError(env, "commit: size is larger than the reservation");
      std::memcpy(reservation_slot_, ab.Data(), static_cast<size_t>(size));
    }
    Status s = session_->Commit(size);
    if (!s.ok()) throw MakeError(env, s);  // reservation stays open (bad size)
    EndReservation();
    return env.Undefined();
  }

  Napi::Value CancelReservation(const Napi::CallbackInfo &info) {
    if (reservation_) {
      session_->CancelReservation();
      EndReservation();
    }
    return info.Env().Undefined();
  }

  // cancel(): the pending write/reserve rejects with ECANCELED.
  Napi::Value Cancel(const Napi::CallbackInfo &info) {
    if (pending_wait_ != 0) session_->CancelWait(pending_wait_);
    return info.Env().Undefined();
  }

  Napi::Value Health(const Napi::CallbackInfo &info) {
    zb_health h{};
    Status s = session_->Health(&h);
    if (!s.ok()) throw MakeError(info.Env(), s);
    return HealthObject(info.Env(), h);
  }

  // close(): drops a reservation, ends a pending wait (it rejects), and
  // detaches from the ring (the reader sees end of stream). Idempotent.
  Napi::Value Close(const Napi::CallbackInfo &info) {
    EndReservation();
    session_->Close();
    if (!tsfn_released_) {
      tsfn_released_ = true;
      tsfn_.Release();
    }
    return info.Env().Undefined();
  }

  std::shared_ptr<WriterSession> session_;
  WriterTsfn tsfn_;
  bool tsfn_released_ = false;
  bool force_copy_ = false;
  uint64_t next_wait_id_ = 0;
  uint64_t pending_wait_ = 0;
  bool reservation_ = false;
  bool reservation_copied_ = false;
  void *reservation_slot_ = nullptr;
  Napi::Reference<Napi::ArrayBuffer> reservation_view_;
};

void WriterCallJs(Napi::Env env, Napi::Function, std::nullptr_t *, WriteItem *item) {
  std::unique_ptr<WriteItem> owned(item);
  if (env == nullptr) return;
  item->writer->Settle(env, item);
}

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

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  AddonData *data = new AddonData();
  const char *force = std::getenv("ZEROBUFFER_FORCE_COPY");
  data->force_copy = force != nullptr && std::strcmp(force, "1") == 0;
  env.SetInstanceData<AddonData>(data);
  Napi::Function reader = Reader::Init(env);
  Napi::Function writer = Writer::Init(env);
  data->reader_ctor = Napi::Persistent(reader);
  data->writer_ctor = Napi::Persistent(writer);
  exports.Set("Reader", reader);
  exports.Set("Writer", writer);
  exports.Set("validateName", Napi::Function::New<ValidateName>(env, "validateName"));
  exports.Set("nowNs", Napi::Function::New<NowNs>(env, "nowNs"));
  exports.Set("healthByName", Napi::Function::New<HealthByName>(env, "healthByName"));
  exports.Set("ringsList", Napi::Function::New<RingsList>(env, "ringsList"));
  exports.Set("ringRemoveStale", Napi::Function::New<RingRemoveStale>(env, "ringRemoveStale"));
  exports.Set("forceCopy", Napi::Boolean::New(env, data->force_copy));
  exports.Set("frameHeaderSize", Napi::Number::New(env, ZB_EXT_HEADER_SIZE));
  exports.Set("maxMetadataSize", U64(env, ZB_MAX_METADATA_SIZE));
  exports.Set("maxPayloadSize", U64(env, ZB_MAX_PAYLOAD_SIZE));
  RegisterConvert(env, exports);
  return exports;
}

}  // namespace
}  // namespace zbnode

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return zbnode::Init(env, exports);
}

NODE_API_MODULE(NODE_GYP_MODULE_NAME, InitModule)

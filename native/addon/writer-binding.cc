// writer-binding.cc — the JS face of a WriterSession: writes and
// reservations settle at once when there is room, else on the writer's wait
// thread through a thread-safe function, with the same pending-wait design
// as the reader (binding-common.h). A reservation is an external ArrayBuffer
// over the ring, or a scratch buffer that commit copies in where external
// buffers are refused.
#include "writer-binding.h"

#include <functional>
#include <memory>
#include <string>

#include "binding-common.h"

namespace zbnode {
namespace {

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

// As ReaderCallJs (binding.cc): the promise is left unsettled when JS can
// no longer run.
void WriterCallJs(Napi::Env env, Napi::Function, std::nullptr_t *, WriteWait *item) {
  std::unique_ptr<WriteWait> owned(item);
  if (env == nullptr) return;
  FromLoop(
      [&] {
        Napi::HandleScope scope(env);
        EndWait(env, *item->js, item->id);
        SettleOrReject(item->deferred, [&] { SettleWrite(env, *item); });
      },
      [] {});
}

using WriterTsfn = Napi::TypedThreadSafeFunction<std::nullptr_t, WriteWait, WriterCallJs>;

class Writer : public Napi::ObjectWrap<Writer> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Writer",
                       {InstanceAccessor<&Writer::Name>("name"),
                        InstanceAccessor<&Writer::Closed>("closed"),
                        InstanceAccessor<&Writer::MaxFrameSize>("maxFrameSize"),
                        InstanceAccessor<&Writer::Waiting>("waiting"),
                        InstanceMethod<&Writer::Metadata>("metadata"),
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
    std::string name = ArgName(info, 0, "name");
    js_ = std::make_shared<WriterJs>();
    js_->force_copy = Data(env)->force_copy;
    Status s = WriterSession::Connect(name.c_str(), &js_->session);
    if (!s.ok()) throw MakeError(env, s);
    AddonData::Track(Data(env)->writers, Data(env)->mu, js_->session);
    tsfn_ = WriterTsfn::New(env, "zerobuffer-writer", 0, 1, nullptr);
    CountUp(live_counts.tsfns);
    tsfn_.Unref(env);
    js_->tsfn = tsfn_;
    teardown_.Add(env, [this] {  // as the reader's (binding.cc)
      js_->session->Close();
      ReleaseOnce(tsfn_, tsfn_released_);
    });
  }

  ~Writer() override {
    teardown_.Remove();
    if (js_ && js_->session) js_->session->Close();
    if (!Data(Env())->tearing_down) ReleaseOnce(tsfn_, tsfn_released_);
  }

 private:
  WriterSession &session() { return *js_->session; }
  Napi::Value Name(const Napi::CallbackInfo &info) { return Napi::String::New(info.Env(), session().name()); }
  Napi::Value Closed(const Napi::CallbackInfo &info) { return Napi::Boolean::New(info.Env(), session().closed()); }
  Napi::Value MaxFrameSize(const Napi::CallbackInfo &info) { return U64(info.Env(), session().MaxFrameSize()); }
  // A write or reservation waits for room (the next one would be refused).
  Napi::Value Waiting(const Napi::CallbackInfo &info) { return Napi::Boolean::New(info.Env(), js_->pending_wait != 0); }

  // metadata() -> the metadata an earlier writer left in the ring (empty: none)
  Napi::Value Metadata(const Napi::CallbackInfo &info) {
    std::vector<uint8_t> bytes;
    Status s = session().Metadata(&bytes);
    if (!s.ok()) throw MakeError(info.Env(), s);
    return Napi::Buffer<uint8_t>::Copy(info.Env(), bytes.data(), bytes.size());
  }

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
                  bool reserve, uint64_t size, Start start) {
    if (now.status.code != ZB_EAGAIN || timeout == 0 || now.closed) {
      WriteWait w(js_, deferred, 0, reserve, size, now);
      SettleWrite(env, w);
      return deferred.Promise();
    }
    uint64_t id = ++js_->next_wait_id;
    WriteWait *item = new WriteWait(js_, deferred, id, reserve, size, WriteResult());
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

  // header: { pts?, dts?, duration?, flags?, zbFlags?, attributes? } (absent:
  // no frame header) into req.
  static void FrameHeaderArg(Napi::Env env, Napi::Value arg, WriteRequest *req) {
    if (!arg.IsObject()) return;
    Napi::Object h = arg.As<Napi::Object>();
    auto field = [&](const char *key) -> uint64_t {
      Napi::Value v = h.Get(key);
      return v.IsNumber() ? static_cast<uint64_t>(v.As<Napi::Number>().DoubleValue()) : ZB_EXT_NONE;
    };
    auto u32 = [&](const char *key) -> uint32_t {
      Napi::Value v = h.Get(key);
      return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : 0;
    };
    req->ext = true;
    req->header.pts = field("pts");
    req->header.dts = field("dts");
    req->header.duration = field("duration");
    req->header.flags = u32("flags");
    req->header.zb_flags = u32("zbFlags");
    req->header.commit_ns = 0;
    Napi::Value attrs = h.Get("attributes");
    if (attrs.IsTypedArray()) {
      Napi::Uint8Array a = attrs.As<Napi::Uint8Array>();
      if (a.ByteLength() > ZB_EXT_MAX_ATTRS_SIZE) throw UsageError(env, "frame attributes exceed 65487 bytes");
      req->attributes.assign(reinterpret_cast<const char *>(a.Data()), a.ByteLength());
    }
  }

  // write(bytes, timeoutMs, header?) -> Promise<void>: the frame header (48
  // bytes, then the attribute bytes) first when header is given (bytes may
  // then be empty: a frame of the header alone).
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
      FrameHeaderArg(env, info[2], &req);
      return Run(env, deferred, session().TryWrite(req), timeout, false, 0,
                 [&](uint64_t id, std::function<void(WriteResult)> done) {
                   // JS may transfer (free) or change its bytes while this
                   // waits: the wait writes a copy
                   req.owned = std::make_shared<std::vector<uint8_t>>(req.data, req.data + req.size);
                   req.data = req.owned->data();
                   return session().StartWrite(id, req, timeout, done);
                 });
    } catch (const Napi::Error &e) {
      deferred.Reject(e.Value());
    }
    return deferred.Promise();
  }

  // reserve(size, timeoutMs, header?) -> Promise<{ buffer, copied }>: an
  // ArrayBuffer over the ring (copied: a scratch buffer that commit copies
  // in); with header (as write's), the frame header goes before it, written
  // at commit.
  Napi::Value Reserve(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
    try {
      CheckIdle(env);
      uint64_t size = ArgSize(info, 0, "size");
      int timeout = ArgTimeout(info, 1);
      WriteRequest header;
      FrameHeaderArg(env, info[2], &header);
      return Run(env, deferred, session().TryReserve(size, header), timeout, true, size,
                 [&](uint64_t id, std::function<void(WriteResult)> done) {
                   return session().StartReserve(id, size, header, timeout, done);
                 });
    } catch (const Napi::Error &e) {
      deferred.Reject(e.Value());
    }
    return deferred.Promise();
  }

  // commit(size, view, copied): publishes the first `size` bytes of the
  // reservation (after its frame header, if any; copying them in from a
  // scratch view) and detaches the view.
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
    // A bad size leaves the reservation open; any other failure ended it
    // (the reader gone: the core dropped it), and its view with it.
    if (!s.ok() && s.code == ZB_EINVAL) throw MakeError(env, s);
    Detach(info[1]);
    if (!s.ok()) throw MakeError(env, s);
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
  TeardownHook teardown_;
};

}  // namespace

Napi::Function WriterClass(Napi::Env env) { return Writer::Init(env); }

}  // namespace zbnode

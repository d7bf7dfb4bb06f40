// binding.cc — the JS face of the addon: JS values in, JS values out. The
// Writer class is writer-binding.cc, convert() convert-binding.cc, and what
// they share binding-common.h. Everything below them (reader-session,
// writer-session, wait-thread) has no napi.h; the protocol itself is
// native/core.
//
//   Reader  create, metadata, take / wait (every ready frame in one hop),
//           release, cancel, health, heldViews, close
//   Writer  (writer-binding.cc) registered here
//   module  validateName, nowNs, healthByName, ringsList, ringRemoveStale, unlinkRings,
//           the sizing rule, the frame-header and in-place answer
//           conventions of the core,
//           healthBands, bandOf (the core's utilisation bands),
//           liveCounts (live native objects and malloc figures, for leak checks),
//           duplexRingNames (a duplex channel's two rings), duplexSameClient,
//           duplexCheckAnswers (the core's duplex rules),
//           readerGone (a pipe or socket written into has no reader left)
//
// Frames reach JS in batches: a wait resolves with the number of frames it
// took, whose views go into an array and whose fields into a Float64Array,
// both given once by the caller and reused, so a frame costs no object or
// promise beyond its view. A view is an ArrayBuffer over the ring
// (ring-view.cc: a V8 backing store, napi's external ArrayBuffer under the
// V8 sandbox) whose end only ends the frame's lease if JS did not; release
// detaches it. Released frames go back to the writer together (one wake)
// when the batch is done. Where external buffers are refused
// (napi_no_external_buffers_allowed, the Electron sandbox) or the loading
// thread's process.env has ZEROBUFFER_FORCE_COPY=1, the bytes are copied
// instead and the ring frames go back as soon as their batch is copied.
#include <napi.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <malloc.h>
#include <poll.h>
#include <memory>
#include <vector>

#include "binding-common.h"
#include "convert-binding.h"
#include "signal-hold.h"
#include "uring-waiter.h"
#include "ring-view.h"
#include "writer-binding.h"

// binding.gyp defines it from package.json: the version this addon belongs to.
#ifndef ZEROBUFFER_PACKAGE_VERSION
#error "ZEROBUFFER_PACKAGE_VERSION is not defined: build the addon through binding.gyp (npm run build:addon)"
#endif

namespace zbnode {
namespace {

// ------------------------------------------------------------------ reader

// The fields of a frame in the batch's Float64Array, FRAME_FIELDS a frame
// (exported as `frameFields`, so JS reads them by name).
enum FrameField {
  kLease, kSequence, kPayloadSize, kArrivalNs, kHasHeader, kPts, kDts, kDuration, kCommitNs, kFlags,
  kCopied, kAttrsSize, kZbFlags, kFrameFields
};

// A wait() on the event loop (uring-waiter.h): the loop sleeps on the
// ring's data semaphore itself, a uv_timer keeps the timeout and the writer's
// liveness checks of the wait thread.
struct LoopWait {
  Napi::Promise::Deferred deferred;
  uint64_t id;
  int timeout_ms;
  size_t max;
  zb_deadline deadline;  // time stopped does not count, as on the thread
};

// The longest sleep between two looks of a loop wait (zb_reader_poll's
// *again_ms, a liveness slice).
constexpr int kLoopLookMs = 50;

struct ReaderJs : std::enable_shared_from_this<ReaderJs> {
  std::shared_ptr<ReaderSession> session;
  bool force_copy = false;  // AddonData's: forced, or the runtime refuses views
  bool debug = false;
  uint64_t next_wait_id = 0;
  uint64_t pending_wait = 0;  // id of the wait in flight, 0 when none
  napi_threadsafe_function tsfn = nullptr;
  Napi::Reference<Napi::Float64Array> fields;  // kFrameFields per frame
  Napi::Reference<Napi::Array> views;          // one ArrayBuffer per frame
  size_t max = 1;                              // frames per batch
  UringWaiter *uring = nullptr;                // waits on the loop; nullptr: on the wait thread
  std::unique_ptr<LoopWait> loop_wait;         // the one in flight
  const char *wait_path = "thread";            // "io_uring" or "io_uring-signal" while uring is used
  std::vector<zb_frame> copied;                // a batch's copied frames, given back together
};

double OrNone(uint64_t v) { return v == ZB_EXT_NONE ? -1 : static_cast<double>(v); }

// A batch the JS side will not take (the reader closed, or JS can no
// longer run): its leases end.
void Discard(Batch &b) {
  for (TakenFrame &t : b.frames) zb_frame_release(&t.lease);
  b.frames.clear();
}

// Hands the session's batch to JS: views and fields; returns the count.
// When JS refuses a value midway (the environment is going away: JS can no
// longer run), the frames whose lease did not reach a view go back to the
// writer and the error is rethrown, with the batch empty either way.
uint32_t Deliver(Napi::Env env, ReaderJs &js) {
  Batch &b = js.session->batch();
  size_t given = 0;                  // frames whose lease went to a view or to js.copied
  LeaseTable::Slot *slot = nullptr;  // frame `given`'s lease while its copy is made
  uint32_t n = 0;
  try {
    Napi::Float64Array fields = js.fields.Value();
    Napi::Array views = js.views.Value();
    double *f = fields.Data();
    for (TakenFrame &t : b.frames) {
      napi_value ab = nullptr;
      double lease = -1;
      if (!js.force_copy) {
        slot = js.session->leases().Hold(t.lease);
        napi_status st = NewRingView(env, t.bytes, static_cast<size_t>(t.size), slot, &ab);
        if (st == napi_ok) {
          lease = js.session->leases().Id(slot);
          slot = nullptr;
        } else {
          // a refusal the load-time probe did not foresee (that one,
          // napi_no_external_buffers_allowed, set force_copy): this frame
          // is copied, transparently.
          napi_value ignored;
          napi_get_and_clear_last_exception(env, &ignored);
        }
      }
      if (lease < 0) {  // a copy: the ring frame goes back with this batch's
        Napi::ArrayBuffer copy = Napi::ArrayBuffer::New(env, static_cast<size_t>(t.size));
        if (t.size > 0) zb_copy(copy.Data(), t.bytes, static_cast<size_t>(t.size));
        if (slot != nullptr)
          LeaseTable::Finalize(slot);  // ends the lease it holds
        else
          js.copied.push_back(t.lease);
        slot = nullptr;
        ab = copy;
      }
      given++;
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
      x[kZbFlags] = t.has_ext ? t.ext.zb_flags : 0;
      n++;
    }
  } catch (...) {
    if (slot != nullptr) {  // its copy failed
      LeaseTable::Finalize(slot);
      given++;
    }
    b.frames.erase(b.frames.begin(), b.frames.begin() + static_cast<std::ptrdiff_t>(given));
    Discard(b);
    if (!js.copied.empty()) {
      zb_frames_release(js.copied.data(), js.copied.size());
      js.copied.clear();
    }
    throw;
  }
  b.frames.clear();
  if (!js.copied.empty()) {
    zb_frames_release(js.copied.data(), js.copied.size());  // one wake of the writer
    js.copied.clear();
  }
  return n;
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

// A thread-safe function's callback, which may still be called while its
// environment goes away (FromLoop): the promise is then left unsettled and
// the frames go back.
void ReaderCallJs(Napi::Env env, Napi::Function, std::nullptr_t *, ReaderWait *item) {
  std::unique_ptr<ReaderWait> owned(item);  // always freed, env or not
  Batch &b = item->js->session->batch();
  if (env == nullptr) {  // the function is being freed with this call queued
    Discard(b);
    return;
  }
  FromLoop(
      [&] {
        Napi::HandleScope scope(env);
        EndWait(env, *item->js, item->id);
        SettleOrReject(item->deferred, [&] { SettleBatch(env, *item->js, item->deferred); });
      },
      [&] { Discard(b); });
}

using ReaderTsfn = Napi::TypedThreadSafeFunction<std::nullptr_t, ReaderWait, ReaderCallJs>;

// Runs wait `id` on the session's thread; false when the session closed.
bool StartThreadWait(Napi::Env env, ReaderJs &js, Napi::Promise::Deferred deferred, uint64_t id,
                     int timeout, size_t max) {
  ReaderWait *item = new ReaderWait{js.shared_from_this(), deferred, id};
  ReaderTsfn tsfn(js.tsfn);
  bool started = js.session->StartWait(id, timeout, max, [tsfn, item]() mutable {
    if (tsfn.BlockingCall(item) != napi_ok) {  // torn down
      Discard(item->js->session->batch());
      delete item;
    }
  });
  if (!started) {
    delete item;
    return false;
  }
  js.pending_wait = id;
  napi_ref_threadsafe_function(env, js.tsfn);
  return true;
}

// Settles the loop wait in flight with the session's batch.
void SettleLoopWait(Napi::Env env, ReaderJs &js) {
  js.session->Disarm();
  std::unique_ptr<LoopWait> w = std::move(js.loop_wait);
  js.pending_wait = 0;
  SettleOrReject(w->deferred, [&] { SettleBatch(env, js, w->deferred); });
}

// io_uring refused: the reader waits on its thread from now on, starting
// with the rest of the wait in flight.
void LeaveLoop(Napi::Env env, ReaderJs &js) {
  js.session->Disarm();
  js.uring->Destroy();
  js.uring = nullptr;
  js.wait_path = "thread";
  if (!js.loop_wait) return;
  std::unique_ptr<LoopWait> w = std::move(js.loop_wait);
  js.pending_wait = 0;
  int timeout = w->timeout_ms;
  if (timeout > 0) timeout = zb_deadline_wait_ms(&w->deadline, INT_MAX);
  if (!StartThreadWait(env, js, w->deferred, w->id, timeout, w->max)) w->deferred.Resolve(env.Null());
}

// One look of the loop wait in flight (at its start, on a post, on its
// timer): it settles, or sleeps again.
void LoopWaitStep(Napi::Env env, ReaderJs &js) {
  const uint32_t *word = nullptr;
  Status armed = js.session->Arm(&word);
  if (!armed.ok() && armed.code != ZB_ESTATE) return LeaveLoop(env, js);
  if (armed.ok()) {
    LoopWait &w = *js.loop_wait;
    // the timeout as from a start moved on by the time stopped
    zb_deadline_wait_ms(&w.deadline, kLoopLookMs);
    js.session->Poll(w.id, w.timeout_ms, zb_deadline_origin_ns(&w.deadline), w.max);
    int sleep_ms = js.session->batch().sleep_ms;
    if (sleep_ms >= 0) {
      if (!js.uring->Sleep(word, sleep_ms)) LeaveLoop(env, js);
      return;
    }
  } else {
    Batch &b = js.session->batch();  // closed
    b.frames.clear();
    b.closed = true;
  }
  js.uring->Stop();
  SettleLoopWait(env, js);
}

// The waiter's libuv callback, which libuv still runs while the
// environment goes away (FromLoop): the wait is then left unsettled and the
// frames it took go back.
void OnLoopWake(Napi::Env env, ReaderJs &js, UringWaiter::Wake why) {
  if (!js.loop_wait) return;
  FromLoop(
      [&] {
        Napi::HandleScope scope(env);
        if (why == UringWaiter::Wake::kFailed)
          LeaveLoop(env, js);
        else
          LoopWaitStep(env, js);
      },
      [&] { Discard(js.session->batch()); });
}

class Reader : public Napi::ObjectWrap<Reader> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Reader",
                       {InstanceAccessor<&Reader::Name>("name"),
                        InstanceAccessor<&Reader::Closed>("closed"),
                        InstanceAccessor<&Reader::WaitPath>("waitPath"),
                        InstanceMethod<&Reader::Metadata>("metadata"),
                        InstanceMethod<&Reader::Take>("take"),
                        InstanceMethod<&Reader::Wait>("wait"),
                        InstanceMethod<&Reader::Cancel>("cancel"),
                        InstanceMethod<&Reader::Release>("release"),
                        InstanceMethod<&Reader::GiveBack>("giveBack"),
                        InstanceMethod<&Reader::Health>("health"),
                        InstanceMethod<&Reader::UnreadStreamStarts>("unreadStreamStarts"),
                        InstanceMethod<&Reader::MaxFrameSize>("maxFrameSize"),
                        InstanceMethod<&Reader::HeldViews>("heldViews"),
                        InstanceMethod<&Reader::Close>("close")});
  }

  // new Reader(name, metadataSize, payloadSize, mode, fields, views,
  // waitPath): a batch holds fields.length / frameFields.count frames;
  // waitPath is the path wanted ("io_uring", "io_uring-signal", "thread"),
  // taken where the kernel allows, else the next one down.
  Reader(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Reader>(info) {
    Napi::Env env = info.Env();
    std::string name = ArgName(info, 0, "name");
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
    teardown_.Add(env, [this] { EnvTeardown(); });
    ReaderJs *js = js_.get();  // the waiter goes before it (Close, ~Reader)
    std::string wanted = info[6].IsString() ? info[6].As<Napi::String>().Utf8Value() : "io_uring";
    if (wanted != "thread") {
      UringWaiter::Notify notify =
          wanted == "io_uring-signal" ? UringWaiter::Notify::kSignal : UringWaiter::Notify::kEventfd;
      js_->uring = UringWaiter::Create(env, notify, [env, js](UringWaiter::Wake why) { OnLoopWake(env, *js, why); });
    }
    if (js_->uring != nullptr)
      js_->wait_path = js_->uring->notify() == UringWaiter::Notify::kEventfd ? "io_uring" : "io_uring-signal";
  }

  ~Reader() override {
    teardown_.Remove();
    if (js_ && js_->session) js_->session->Close();
    if (js_ && js_->uring) js_->uring->Destroy();
    if (!Data(Env())->tearing_down) ReleaseOnce(tsfn_, tsfn_released_);
  }

 private:
  Napi::Value Name(const Napi::CallbackInfo &info) { return Napi::String::New(info.Env(), js_->session->name()); }
  Napi::Value Closed(const Napi::CallbackInfo &info) { return Napi::Boolean::New(info.Env(), js_->session->closed()); }
  // "io_uring" / "io_uring-signal" (the loop sleeps on the ring's
  // semaphore, woken through an eventfd / task work) or "thread".
  Napi::Value WaitPath(const Napi::CallbackInfo &info) { return Napi::String::New(info.Env(), js_->wait_path); }

  // metadata() -> Uint8Array (a copy; empty while none was written); EMSGSIZE
  // once a writer whose metadata did not fit left its note there instead
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

  // wait(timeoutMs, max) -> Promise<number | null>: waits for the next
  // frame on the event loop (io_uring) or on the reader's thread, then
  // takes every frame ready (up to max); null once closed. Rejects with
  // code ECANCELED (canceled: true) after cancel().
  Napi::Value Wait(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    int timeout = ArgTimeout(info, 0);
    size_t max = Max(info, 1);
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
    try {
      CheckIdle(env);
      js_->session->leases().GiveBack();
      uint64_t id = ++js_->next_wait_id;
      if (js_->uring != nullptr) {
        js_->loop_wait.reset(new LoopWait{deferred, id, timeout, max, {}});
        zb_deadline_start(&js_->loop_wait->deadline, timeout);
        js_->pending_wait = id;
        LoopWaitStep(env, *js_);
      } else if (!StartThreadWait(env, *js_, deferred, id, timeout, max)) {
        deferred.Resolve(env.Null());  // closed meanwhile
      }
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

  // unreadStreamStarts() -> frames in the ring, not taken yet, with sequence 1
  // (zb_reader_unread_stream_starts).
  Napi::Value UnreadStreamStarts(const Napi::CallbackInfo &info) {
    uint64_t starts = 0;
    Status s = js_->session->UnreadStreamStarts(&starts);
    if (!s.ok()) throw MakeError(info.Env(), s);
    return Napi::Number::New(info.Env(), static_cast<double>(starts));
  }

  // maxFrameSize() -> the largest frame the ring can ever hold
  // (zb_reader_max_frame_size); ESTATE once closed
  Napi::Value MaxFrameSize(const Napi::CallbackInfo &info) {
    uint64_t size = 0;
    Status s = js_->session->MaxFrameSize(&size);
    if (!s.ok()) throw MakeError(info.Env(), s);
    return U64(info.Env(), size);
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
    if (js_->uring != nullptr) {
      js_->uring->Destroy();
      js_->uring = nullptr;  // later waits: the thread's path, which answers null
      if (js_->loop_wait) SettleLoopWait(info.Env(), *js_);  // null, as the thread's wait
    }
    ReleaseOnce(tsfn_, tsfn_released_);
    return info.Env().Undefined();
  }

  // The environment is going away (a worker ends or exits, the process
  // exits) with this reader alive: the wait thread ends (Close joins it)
  // while the thread-safe function still exists, and the function is
  // released. Node frees the function in a cleanup hook of its own, which
  // runs after this one; the reader's finalizer may run only after it, and
  // a wait thread woken then would call into freed memory.
  void EnvTeardown() {
    js_->session->Close();
    ReleaseOnce(tsfn_, tsfn_released_);
  }

  Counted<&LiveCounts::reader_objects> counted_;
  std::shared_ptr<ReaderJs> js_;
  ReaderTsfn tsfn_;
  bool tsfn_released_ = false;
  TeardownHook teardown_;
};

// ------------------------------------------------------------------ module

Napi::Value ValidateName(const Napi::CallbackInfo &info) {
  std::string name = ArgName(info, 0, "name");
  if (name.find('\0') != std::string::npos) throw MakeError(info.Env(), Status::Make(ZB_ENAME, "ring name contains NUL"));
  int rc = zb_validate_name(name.c_str());
  if (rc < 0) throw MakeError(info.Env(), Status::FromCore(rc));
  return info.Env().Undefined();
}

Napi::Value NowNs(const Napi::CallbackInfo &info) { return U64(info.Env(), zb_now_ns()); }

Napi::Value HealthByName(const Napi::CallbackInfo &info) {
  std::string name = ArgName(info, 0, "name");
  zb_health h{};
  int rc = zb_health_read(name.c_str(), &h);
  if (rc < 0) {
    Napi::Error e = MakeError(info.Env(), Status::FromCore(rc));
    // A segment refused for what its OIEB or entries say (ZB_EPROTO) was
    // mapped and its OIEB read first (a mapped ring's size is never 0): the
    // fields go with the error (inspect shows them; nothing else is known).
    if (rc == ZB_EPROTO && h.payload_size != 0) e.Set("oieb", OiebObject(info.Env(), h));
    throw e;
  }
  return HealthObject(info.Env(), h);
}

// ringsList() -> [{ name, hasSegment, hasLock, hasSemaphores, readerAlive,
// writerAlive, accessDenied }] in name order (zb_rings_list); a ring with neither peer
// alive, whose access was not denied, is stale.
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
    o.Set("hasSemaphores", Napi::Boolean::New(env, rings[i].has_semaphores));
    o.Set("readerAlive", Napi::Boolean::New(env, rings[i].reader_alive));
    o.Set("writerAlive", Napi::Boolean::New(env, rings[i].writer_alive));
    o.Set("accessDenied", Napi::Boolean::New(env, rings[i].access_denied));
    out[i] = o;
  }
  return out;
}

// ringRemoveStale(name): removes a ring whose reader and writer are both
// dead; throws EBUSY (nothing removed) or ENOENT (zb_ring_remove_stale).
Napi::Value RingRemoveStale(const Napi::CallbackInfo &info) {
  std::string name = ArgName(info, 0, "name");
  int rc = zb_ring_remove_stale(name.c_str());
  if (rc < 0) throw MakeError(info.Env(), Status::FromCore(rc));
  return info.Env().Undefined();
}

// ringCheckStale(name): what ringRemoveStale(name) would throw, removing
// nothing (zb_ring_check_stale: cleanup --dry-run).
Napi::Value RingCheckStale(const Napi::CallbackInfo &info) {
  std::string name = ArgName(info, 0, "name");
  int rc = zb_ring_check_stale(name.c_str());
  if (rc < 0) throw MakeError(info.Env(), Status::FromCore(rc));
  return info.Env().Undefined();
}

// unlinkRings() -> how many: unlinks the ring of every open reader of the
// process, whichever thread made it, leaving each working (the main
// thread's exit path: the process is about to end).
Napi::Value UnlinkRings(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(), static_cast<double>(ReaderSession::UnlinkAll()));
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

// defaultPayloadSizeForRate(bytesPerSecond or 0) -> a raw audio ring
Napi::Value DefaultPayloadSizeForRate(const Napi::CallbackInfo &info) {
  return U64(info.Env(), zb_default_payload_size_for_rate(ArgSize(info, 0, "bytesPerSecond")));
}

// duplexPayloadSize(frameSize or 0, depth) -> either ring of a duplex channel
Napi::Value DuplexPayloadSize(const Napi::CallbackInfo &info) {
  return U64(info.Env(), zb_duplex_payload_size(ArgSize(info, 0, "frameSize"),
                                                static_cast<unsigned>(ArgSize(info, 1, "depth"))));
}

// duplexPayloadSizeForRate(bytesPerSecond or 0, depth) -> either ring of a
// duplex channel of raw audio
Napi::Value DuplexPayloadSizeForRate(const Napi::CallbackInfo &info) {
  return U64(info.Env(), zb_duplex_payload_size_for_rate(ArgSize(info, 0, "bytesPerSecond"),
                                                         static_cast<unsigned>(ArgSize(info, 1, "depth"))));
}

// metadataFrameHeader(bytes) / metadataInPlace(bytes) -> the version of
// the per-frame header / of in-place answers the metadata declares (0:
// none); throws EPROTO when the declaration cannot be read.
template <int (*Declared)(const uint8_t *, uint64_t)>
Napi::Value MetadataDeclared(const Napi::CallbackInfo &info) {
  const uint8_t *data;
  size_t size;
  ArgBytes(info, 0, &data, &size);
  int v = Declared(data, size);
  if (v < 0) throw MakeError(info.Env(), Status::FromCore(v));
  return Napi::Number::New(info.Env(), v);
}

// declareFrameHeader(bytes) / declareInPlace(bytes) -> Uint8Array: the
// JSON object with the per-frame header / in-place answers declared.
template <int (*Declare)(const uint8_t *, uint64_t, uint8_t *, uint64_t, uint64_t *)>
Napi::Value MetadataDeclare(const Napi::CallbackInfo &info) {
  const uint8_t *data;
  size_t size;
  uint64_t n = 0;
  ArgBytes(info, 0, &data, &size);
  int rc = Declare(data, size, nullptr, 0, &n);
  if (rc < 0) throw MakeError(info.Env(), Status::FromCore(rc));
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(info.Env(), static_cast<size_t>(n));
  rc = Declare(data, size, out.Data(), n, &n);
  if (rc < 0) throw MakeError(info.Env(), Status::FromCore(rc));
  return out;
}

// bandOf(utilisation percent) -> "healthy" | "degraded" | "critical"
Napi::Value BandOf(const Napi::CallbackInfo &info) {
  return Napi::String::New(info.Env(), zb_band_name(zb_band_of(ArgNumber(info, 0, "utilisation"))));
}

// setRetireGraceMs(ms) -> the previous grace: how long a closed reader's
// range stays taken (zero pages) before a reader create or close unmaps it,
// shortened by the tests that show a view outliving it (the core's test
// hook: no option of the public API).
extern "C" int zb__set_retire_grace_ms(int ms);
Napi::Value SetRetireGraceMs(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(), zb__set_retire_grace_ms(static_cast<int>(ArgNumber(info, 0, "ms"))));
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
  std::string channel = ArgName(info, 0, "channel");
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

// readerGone(fd) -> whether the pipe or socket fd writes into has no reader
// left (poll: POLLERR for a pipe, POLLHUP for a socket): a write alone tells
// it otherwise, and a command whose output is done writes no more.
Napi::Value ReaderGone(const Napi::CallbackInfo &info) {
  int fd = static_cast<int>(ArgNumber(info, 0, "fd"));
  struct pollfd p = {fd, POLLOUT, 0};
  int rc;
  do rc = poll(&p, 1, 0);
  while (rc < 0 && errno == EINTR);
  return Napi::Boolean::New(info.Env(), rc > 0 && (p.revents & (POLLERR | POLLHUP)) != 0);
}

// duplexSameClient(requestHealth, responseHealth) -> whether the response
// ring's reader is the request ring's writer, one client
// (zb_duplex_same_client), from the two rings' health() snapshots.
Napi::Value DuplexSameClient(const Napi::CallbackInfo &info) {
  zb_health request = ArgHealthPids(info, 0, "requestHealth");
  zb_health response = ArgHealthPids(info, 1, "responseHealth");
  int rc = zb_duplex_same_client(&request, &response);
  if (rc < 0) throw MakeError(info.Env(), Status::FromCore(rc));
  return Napi::Boolean::New(info.Env(), rc == 1);
}

// duplexCheckAnswers(requests, responses, sending, answers, responseRing):
// throws ESEQUENCE when more answers wait than requests
// (zb_duplex_check_answers).
Napi::Value DuplexCheckAnswers(const Napi::CallbackInfo &info) {
  zb_duplex_pairing pairing = {ArgSize(info, 0, "requests"), ArgSize(info, 1, "responses")};
  std::string ring = ArgName(info, 4, "responseRing");
  int rc = zb_duplex_check_answers(&pairing, ArgSize(info, 2, "sending"), ArgSize(info, 3, "answers"), ring.c_str());
  if (rc < 0) throw MakeError(info.Env(), Status::FromCore(rc));
  return info.Env().Undefined();
}

// Whether the runtime refuses external ArrayBuffers (Electron's V8 sandbox,
// for good): asked once at load, so that the copying fallback is known
// before the first frame or reservation, and none tries a view first.
bool ExternalBuffersRefused(napi_env env) {
  static uint8_t probe;
  napi_value ab;
  napi_status st = napi_create_external_arraybuffer(env, &probe, 1, nullptr, nullptr, &ab);
  if (st == napi_ok) return false;
  napi_value ignored;
  napi_get_and_clear_last_exception(env, &ignored);
  return st == napi_no_external_buffers_allowed;
}

// Whether the loading environment's process.env has NAME=1. Its own, not
// the C environment (getenv): a worker_thread's is a copy, its `env` option
// (the JS side reads ZEROBUFFER_NO_URING there too), which Init, run once
// per environment, honours.
bool EnvSwitch(Napi::Env env, const char *name) {
  Napi::Value process = env.Global().Get("process");
  if (!process.IsObject()) return false;
  Napi::Value vars = process.As<Napi::Object>().Get("env");
  if (!vars.IsObject()) return false;
  Napi::Value v = vars.As<Napi::Object>().Get(name);
  return v.IsString() && v.As<Napi::String>().Utf8Value() == "1";
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  AddonData *data = new AddonData();
  bool forced = EnvSwitch(env, "ZEROBUFFER_FORCE_COPY");
  data->force_copy = forced || ExternalBuffersRefused(env);
  data->debug = EnvSwitch(env, "ZEROBUFFER_DEBUG");
  env.SetInstanceData<AddonData>(data);
  napi_add_env_cleanup_hook(env, [](void *d) { static_cast<AddonData *>(d)->tearing_down = true; }, data);
  exports.Set("Reader", Reader::Init(env));
  exports.Set("Writer", WriterClass(env));
  const std::pair<const char *, Napi::Function::Callback> functions[] = {
      {"validateName", ValidateName},
      {"nowNs", NowNs},
      {"healthByName", HealthByName},
      {"ringsList", RingsList},
      {"ringRemoveStale", RingRemoveStale},
      {"ringCheckStale", RingCheckStale},
      {"unlinkRings", UnlinkRings},
      {"payloadSizeFor", PayloadSizeFor},
      {"defaultFramesInFlight", DefaultFramesInFlight},
      {"defaultPayloadSize", DefaultPayloadSize},
      {"defaultPayloadSizeForRate", DefaultPayloadSizeForRate},
      {"duplexPayloadSize", DuplexPayloadSize},
      {"duplexPayloadSizeForRate", DuplexPayloadSizeForRate},
      {"metadataFrameHeader", MetadataDeclared<zb_metadata_frame_header>},
      {"declareFrameHeader", MetadataDeclare<zb_metadata_declare_frame_header>},
      {"metadataInPlace", MetadataDeclared<zb_metadata_in_place>},
      {"declareInPlace", MetadataDeclare<zb_metadata_declare_in_place>},
      {"liveCounts", LiveCountsObject},
      {"setRetireGraceMs", SetRetireGraceMs},
      {"duplexRingNames", DuplexRingNames},
      {"duplexSameClient", DuplexSameClient},
      {"duplexCheckAnswers", DuplexCheckAnswers},
      {"readerGone", ReaderGone},
  };
  for (const auto &f : functions) exports.Set(f.first, Napi::Function::New(env, f.second, f.first));
  Napi::Object fields = Napi::Object::New(env);
  const char *field_names[] = {"lease", "sequence", "payloadSize", "arrivalNs", "hasHeader", "pts",
                               "dts", "duration", "commitNs", "flags", "copied", "attrsSize", "zbFlags"};
  for (int i = 0; i < kFrameFields; i++) fields.Set(field_names[i], Napi::Number::New(env, i));
  fields.Set("count", Napi::Number::New(env, kFrameFields));
  exports.Set("frameFields", fields);
  exports.Set("forceCopy", Napi::Boolean::New(env, forced));
  exports.Set("zeroCopy", Napi::Boolean::New(env, !data->force_copy));
  exports.Set("ringViews", Napi::String::New(env, ChooseRingViews(env)));
  exports.Set("debug", Napi::Boolean::New(env, data->debug));
  exports.Set("frameHeaderSize", Napi::Number::New(env, ZB_EXT_HEADER_SIZE));
  exports.Set("extInPlace", Napi::Number::New(env, ZB_EXT_IN_PLACE));
  exports.Set("maxMetadataSize", U64(env, ZB_MAX_METADATA_SIZE));
  exports.Set("defaultMetadataSize", U64(env, ZB_DEFAULT_METADATA_SIZE));
  exports.Set("maxPayloadSize", U64(env, ZB_MAX_PAYLOAD_SIZE));
  RegisterConvert(env, exports);
  RegisterSignalHold(env, exports);
  exports.Set("poisonByte", Napi::Number::New(env, ZB_POISON_BYTE));
  Napi::Object bands = Napi::Object::New(env);
  bands.Set("degraded", ZB_BAND_DEGRADED_PERCENT);
  bands.Set("critical", ZB_BAND_CRITICAL_PERCENT);
  bands.Freeze();
  exports.Set("healthBands", bands);
  exports.Set("bandOf", Napi::Function::New<BandOf>(env, "bandOf"));
  exports.Set("duplexConnectRetryMs", Napi::Number::New(env, ZB_DUPLEX_CONNECT_RETRY_MS));
  exports.Set("duplexDefaultDepth", Napi::Number::New(env, ZB_DUPLEX_DEFAULT_DEPTH));
  exports.Set("packageVersion", Napi::String::New(env, ZEROBUFFER_PACKAGE_VERSION));
  return exports;
}

}  // namespace
}  // namespace zbnode

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return zbnode::Init(env, exports);
}

NODE_API_MODULE(NODE_GYP_MODULE_NAME, InitModule)

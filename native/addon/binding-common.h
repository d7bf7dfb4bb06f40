// binding-common.h — what the JS-facing files share (binding.cc and
// writer-binding.cc): the per-environment state, errors, argument checks,
// health objects and the pending-wait plumbing of the reader and the writer.
#ifndef ZEROBUFFER_ADDON_BINDING_COMMON_H
#define ZEROBUFFER_ADDON_BINDING_COMMON_H

#include <napi.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "live-counts.h"
#include "reader-session.h"
#include "status.h"
#include "writer-session.h"

namespace zbnode {

// ------------------------------------------------------------- instance data

struct AddonData {
  bool force_copy = false;  // ZEROBUFFER_FORCE_COPY=1, or external buffers refused (binding.cc's probe at load)
  bool debug = false;  // ZEROBUFFER_DEBUG=1: poison released frames
  // Set by an environment cleanup hook: Node then frees the readers' and
  // writers' thread-safe functions itself, possibly before their objects'
  // finalizers run, which must not release them again.
  bool tearing_down = false;
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

inline AddonData *Data(Napi::Env env) { return env.GetInstanceData<AddonData>(); }

// ------------------------------------------------------ errors, arguments

// An error with code = zb_err_name, errno and the core's message.
Napi::Error MakeError(Napi::Env env, const Status &s);
Napi::Error UsageError(Napi::Env env, const std::string &message);
Status ClosedStatus(const std::string &what);

// A string argument naming a ring, as UTF-8 (a lone surrogate: ENAME).
std::string ArgName(const Napi::CallbackInfo &info, size_t i, const char *what);
double ArgNumber(const Napi::CallbackInfo &info, size_t i, const char *what);
uint64_t ArgSize(const Napi::CallbackInfo &info, size_t i, const char *what);
// timeoutMs: undefined or negative waits forever.
int ArgTimeout(const Napi::CallbackInfo &info, size_t i);
// Bytes of a TypedArray, DataView or ArrayBuffer argument.
void ArgBytes(const Napi::CallbackInfo &info, size_t i, const uint8_t **data, size_t *size);

Napi::Value U64(Napi::Env env, uint64_t v);
Napi::Value HealthObject(Napi::Env env, const zb_health &h);
// The OIEB's own fields of h: sizes, positions, counts, pids (no liveness,
// utilisation or backlog, which zb_health_read works out after them).
Napi::Object OiebObject(Napi::Env env, const zb_health &h);
// The pids of a HealthObject given back as argument i (what
// zb_duplex_same_client compares); the other fields stay 0.
zb_health ArgHealthPids(const Napi::CallbackInfo &info, size_t i, const char *what);

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

// Settles `deferred` through `settle`, or rejects it with the error settle
// throws. Rejecting throws in turn when JS can no longer run (see
// FromLoop).
template <typename Settle>
void SettleOrReject(Napi::Promise::Deferred &deferred, Settle settle) {
  try {
    settle();
  } catch (const Napi::Error &e) {
    deferred.Reject(e.Value());
  }
}

// Runs `call` from a callback of the event loop (a libuv handle's, a
// thread-safe function's), which no exception may leave: it would end the
// whole process (std::terminate). Settling throws only when JS can no
// longer run: the environment is going away (a worker's terminate() or
// process.exit(), the process exiting) while libuv still runs its handles,
// and no promise can be settled any more; `drop` gives back what the call
// held (the environment's teardown closes the rest).
template <typename Call, typename Drop>
void FromLoop(Call call, Drop drop) noexcept {
  try {
    call();
  } catch (...) {
    drop();
  }
}

// Marks the wait in flight over (JS thread).
template <typename Js>
void EndWait(Napi::Env env, Js &js, uint64_t id) {
  if (id != 0 && js.pending_wait == id) {
    js.pending_wait = 0;
    napi_unref_threadsafe_function(env, js.tsfn);
  }
}

// An environment cleanup hook held by a reader or writer object: `run` is
// called when the environment goes away (a worker ends, the process exits)
// unless the object went first (Remove, from its destructor). Node runs
// cleanup hooks in the reverse order of their adding: one added after the
// object's thread-safe function runs before Node's own hook for that
// function, which frees it.
class TeardownHook {
 public:
  TeardownHook() = default;
  TeardownHook(const TeardownHook &) = delete;
  TeardownHook &operator=(const TeardownHook &) = delete;
  ~TeardownHook() { Remove(); }
  void Add(napi_env env, std::function<void()> run) {
    run_ = std::move(run);
    if (napi_add_env_cleanup_hook(env, OnCleanup, this) == napi_ok) env_ = env;
  }
  void Remove() {
    if (env_ != nullptr) napi_remove_env_cleanup_hook(env_, OnCleanup, this);
    env_ = nullptr;
  }

 private:
  static void OnCleanup(void *arg) {
    TeardownHook *h = static_cast<TeardownHook *>(arg);
    h->env_ = nullptr;  // run once; nothing to remove
    h->run_();
  }
  napi_env env_ = nullptr;
  std::function<void()> run_;
};

// Releases a reader's or writer's thread-safe function, once (close() and
// the destructor both ask).
template <typename Tsfn>
void ReleaseOnce(Tsfn &tsfn, bool &released) {
  if (released) return;
  released = true;
  tsfn.Release();
  CountDown(live_counts.tsfns);
}

}  // namespace zbnode

#endif

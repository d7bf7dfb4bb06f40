// signal-hold.cc — new SignalHold(signals, onSignal): keeps the process's
// handler for each signal installed until release(), with libuv signal
// handles rather than process listeners, and calls onSignal(signum) on the
// loop when one arrives.
//
// Why (src/cleanup.ts): signal-exit, on a signal only it listens for,
// removes its listeners, runs the exit callbacks and raises the signal
// again. Once the last listener is gone libuv restores the default action,
// so the same signal arriving before the rings are unlinked (a parent's
// death signal comes once per dying thread of the parent) would end the
// process with its rings still there. A libuv handle keeps the handler,
// and it is not a listener: signal-exit, which acts only when its own
// listeners are all there are, still does.
//
// A signal the process ignores (SIG_IGN: Node ignores SIGXFSZ, so that a
// write past RLIMIT_FSIZE fails with EFBIG instead of ending the process) is
// not held: it cannot end the process, and libuv, when its last handle of a
// signal stops, puts back SIG_DFL rather than the disposition it found, so
// holding then releasing it would make it fatal from then on.
#include "signal-hold.h"

#include <signal.h>
#include <uv.h>

#include <vector>

#include "binding-common.h"

namespace zbnode {
namespace {

class SignalHold : public Napi::ObjectWrap<SignalHold> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "SignalHold", {InstanceMethod<&SignalHold::Release>("release")});
  }

  explicit SignalHold(const Napi::CallbackInfo &info) : Napi::ObjectWrap<SignalHold>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsArray() || !info[1].IsFunction())
      throw UsageError(env, "SignalHold(signals: number[], onSignal: (signum: number) => void)");
    uv_loop_t *loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok) throw UsageError(env, "SignalHold: no event loop");
    on_signal_ = Napi::Persistent(info[1].As<Napi::Function>());
    Napi::Array signals = info[0].As<Napi::Array>();
    for (uint32_t i = 0; i < signals.Length(); i++) {
      int signum = signals.Get(i).ToNumber().Int32Value();
      struct sigaction now {};
      if (sigaction(signum, nullptr, &now) != 0) continue;  // not a signal here (EINVAL)
      if (!(now.sa_flags & SA_SIGINFO) && now.sa_handler == SIG_IGN) continue;  // ignored: see above
      auto *h = new uv_signal_t;
      uv_signal_init(loop, h);
      h->data = this;
      if (uv_signal_start(h, OnSignal, signum) != 0) {
        Close(h);  // not a signal here (EINVAL): nothing to hold
        continue;
      }
      uv_unref(reinterpret_cast<uv_handle_t *>(h));  // holding keeps nothing alive
      handles_.push_back(h);
    }
  }

  ~SignalHold() override { Stop(); }

 private:
  static void Close(uv_signal_t *h) {
    uv_close(reinterpret_cast<uv_handle_t *>(h), [](uv_handle_t *c) { delete reinterpret_cast<uv_signal_t *>(c); });
  }

  // onSignal's exception is the process's uncaught exception; nothing
  // leaves the libuv callback (FromLoop).
  static void OnSignal(uv_signal_t *h, int signum) {
    SignalHold *self = static_cast<SignalHold *>(h->data);
    Napi::Env env = self->on_signal_.Env();
    FromLoop(
        [&] {
          Napi::HandleScope scope(env);
          try {
            self->on_signal_.MakeCallback(env.Global(), {Napi::Number::New(env, signum)});
          } catch (const Napi::Error &e) {
            napi_fatal_exception(env, e.Value());
          }
        },
        [] {});
  }

  // Closing a handle stops it at once: with no other handle or listener on
  // the signal, its default action is back before this returns.
  void Stop() {
    for (uv_signal_t *h : handles_) Close(h);
    handles_.clear();
  }

  Napi::Value Release(const Napi::CallbackInfo &info) {
    Stop();
    return info.Env().Undefined();
  }

  std::vector<uv_signal_t *> handles_;
  Napi::FunctionReference on_signal_;
};

}  // namespace

void RegisterSignalHold(Napi::Env env, Napi::Object exports) {
  exports.Set("SignalHold", SignalHold::Init(env));
}

}  // namespace zbnode

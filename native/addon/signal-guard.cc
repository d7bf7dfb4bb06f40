// signal-guard.cc — see signal-guard.h.
#include "signal-guard.h"

#include <signal.h>
#include <uv.h>

#include <mutex>
#include <thread>

#include "cond-var.h"
#include "reader-session.h"

namespace zbnode {
namespace {

class Guard {
 public:
  // Starts the thread and waits until it holds the signals.
  bool Start(const std::vector<int> &signals) {
    signals_ = signals;
    thread_ = std::thread(&Guard::Run, this);
    std::unique_lock<std::mutex> lock(mu_);
    cv_.Wait(lock, [this] { return state_ != kStarting; });
    if (state_ == kFailed) {
      lock.unlock();
      thread_.join();
      return false;
    }
    return true;
  }

  void Stop() {
    uv_async_send(&stop_);
    thread_.join();
  }

 private:
  enum State { kStarting, kRunning, kFailed };

  void Run() {
    // A signal sent to the process may be handed to any thread that does
    // not block it; raise() below needs it unblocked here.
    sigset_t set;
    sigemptyset(&set);
    for (int s : signals_) sigaddset(&set, s);
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    bool ok = uv_loop_init(&loop_) == 0;
    if (ok) {
      uv_async_init(&loop_, &stop_, OnStop);
      stop_.data = this;
      for (int s : signals_) {
        auto *h = new uv_signal_t;
        uv_signal_init(&loop_, h);
        h->data = this;
        if (uv_signal_start(h, OnSignal, s) != 0) {  // not a signal here
          uv_close(reinterpret_cast<uv_handle_t *>(h), Free);
          continue;
        }
        handles_.push_back(h);
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      state_ = ok ? kRunning : kFailed;
      cv_.NotifyAll();
    }
    if (!ok) return;
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
  }

  static void Free(uv_handle_t *h) { delete reinterpret_cast<uv_signal_t *>(h); }

  static void OnStop(uv_async_t *a) {
    Guard *g = static_cast<Guard *>(a->data);
    for (uv_signal_t *h : g->handles_) uv_close(reinterpret_cast<uv_handle_t *>(h), Free);
    g->handles_.clear();
    uv_close(reinterpret_cast<uv_handle_t *>(a), nullptr);
  }

  // Stopping our handle restores the default action when no other handle
  // of any loop watches the signal (libuv keeps one process-wide handler):
  // then no one hears it but us. The handle starts again at once, so that a
  // repeat of the signal (a parent's death signal, once per dying thread)
  // does not end the process before the rings are unlinked; the moment
  // between is two system calls.
  static void OnSignal(uv_signal_t *h, int signum) {
    uv_signal_stop(h);
    struct sigaction now;
    bool alone = sigaction(signum, nullptr, &now) == 0 && now.sa_handler == SIG_DFL;
    uv_signal_start(h, OnSignal, signum);
    if (!alone) return;
    ReaderSession::UnlinkAll();
    uv_signal_stop(h);
    raise(signum);  // this thread: delivered before raise() returns
    uv_signal_start(h, OnSignal, signum);  // it did not end the process after all
  }

  std::vector<int> signals_;
  std::thread thread_;
  std::mutex mu_;
  CondVar cv_;  // not std::condition_variable: see cond-var.h
  State state_ = kStarting;
  uv_loop_t loop_;
  uv_async_t stop_;
  std::vector<uv_signal_t *> handles_;
};

// Leaked, as the registry: no static destructor under a running thread.
std::mutex &LifeMu() {
  static std::mutex *mu = new std::mutex();
  return *mu;
}
Guard *running = nullptr;
int users = 0;

}  // namespace

bool SignalGuard::Acquire(const std::vector<int> &signals) {
  std::lock_guard<std::mutex> lock(LifeMu());
  if (users == 0) {
    auto *g = new Guard();
    if (!g->Start(signals)) {
      delete g;
      return false;
    }
    running = g;
  }
  users++;
  return true;
}

void SignalGuard::Release() {
  std::lock_guard<std::mutex> lock(LifeMu());
  if (--users > 0) return;
  running->Stop();
  delete running;
  running = nullptr;
}

}  // namespace zbnode

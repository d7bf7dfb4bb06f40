// uring-waiter.h — sleeps on a futex word from the event loop itself: an
// io_uring FUTEX_WAIT (Linux >= 6.7) whose ring the loop polls, plus a
// timer. A reader armed with zb_reader_arm then wakes with the writer's
// sem_post directly, without the hop from a wait thread to the loop (75-110
// µs on a 2-vCPU guest; scripts/bench/notes.md). The io_uring system calls
// of the addon live in uring-waiter.cc alone.
//
// How the completion reaches the loop (Notify): through an eventfd the
// kernel signals from the writer's futex wake (DEFER_TASKRUN, Linux 6.1+:
// one wake of epoll_wait), or as task work signalled to the loop's thread
// (an interrupted epoll_wait, then a second one for the ring's fd).
#ifndef ZEROBUFFER_ADDON_URING_WAITER_H
#define ZEROBUFFER_ADDON_URING_WAITER_H

#include <node_api.h>
#include <uv.h>

#include <cstdint>
#include <functional>

namespace zbnode {

class UringWaiter {
 public:
  enum class Wake { kWord, kTimer, kFailed };
  enum class Notify { kEventfd, kSignal };
  // Runs on the loop's thread inside a callback scope (promises settled in
  // it run their reactions when it returns). kFailed: io_uring refused the
  // wait; the waiter is unusable and the caller waits another way.
  using OnWake = std::function<void(Wake)>;

  // A waiter on env's loop, or nullptr where it cannot work: io_uring
  // refused (ENOSYS, EPERM: seccomp, containers, the io_uring_disabled
  // sysctl), FUTEX_WAIT unsupported (Linux < 6.7) or a failure before.
  // Once refused, never tried again in this process. kEventfd falls back
  // to kSignal where the kernel refuses it or signals the eventfd late
  // (and is not tried again).
  // Must be called on the loop's thread, which alone uses the waiter.
  static UringWaiter *Create(napi_env env, Notify notify, OnWake on_wake);
  Notify notify() const { return notify_; }

  // Sleeps until the 32-bit process-shared futex word is not 0 or ms passed
  // (-1: no timer), then calls on_wake once. While sleeping, the handles
  // keep the loop alive. False (nothing started) when io_uring refused the
  // wait.
  bool Sleep(const uint32_t *word, int ms);
  // No on_wake until the next Sleep; the loop may exit (the ring's fd stays
  // watched, unreferenced). A FUTEX_WAIT in flight stays (the next Sleep
  // reuses it).
  void Stop();
  // Stops and frees the waiter (later, once libuv is done with its
  // handles). The ring's fd closes, which ends a FUTEX_WAIT in flight.
  void Destroy();

 private:
  UringWaiter() = default;
  ~UringWaiter();
  bool Setup(napi_env env, Notify notify);
  void CloseRing();
  bool Submit(const uint32_t *word);
  bool EventfdSignalsAtOnce();
  // Takes the completions: false when one says the wait is unusable.
  bool Reap();
  void Fire(Wake why);
  void LookThenReap();
  void CloseHandles();
  static void OnPoll(uv_poll_t *h, int status, int events);
  static void OnTimer(uv_timer_t *t);
  static void OnClosed(uv_handle_t *h);
  static void OnEnvCleanup(napi_async_cleanup_hook_handle handle, void *arg);

  napi_env env_ = nullptr;
  OnWake on_wake_;
  napi_async_context context_ = nullptr;
  napi_ref resource_ = nullptr;
  napi_async_cleanup_hook_handle cleanup_ = nullptr;
  Notify notify_ = Notify::kSignal;
  int fd_ = -1;
  int event_fd_ = -1;  // kEventfd: what poll_ watches (else the ring's fd)
  void *rings_ = nullptr;  // SQ and CQ rings, one mapping
  size_t rings_size_ = 0;
  void *sqes_ = nullptr;
  size_t sqes_size_ = 0;
  unsigned *sq_flags_ = nullptr;
  unsigned *sq_tail_ = nullptr, *sq_mask_ = nullptr, *sq_array_ = nullptr;
  unsigned *cq_head_ = nullptr, *cq_tail_ = nullptr, *cq_mask_ = nullptr;
  void *cqes_ = nullptr;
  uv_poll_t poll_;
  uv_timer_t timer_;
  enum class Handles { kNone, kOpen, kClosing, kClosed };
  Handles handles_ = Handles::kNone;
  int closes_left_ = 0;
  bool in_flight_ = false;  // a FUTEX_WAIT submitted, its completion not taken
  const uint32_t *word_ = nullptr;  // the word of the last Sleep
  bool sleeping_ = false;
  bool destroyed_ = false;  // the owner let go
};

}  // namespace zbnode

#endif

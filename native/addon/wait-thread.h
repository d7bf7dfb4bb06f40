// wait-thread.h — one dedicated thread that runs blocking waits one at a
// time, so that no wait ever parks a libuv pool thread. No Node-API include here.
#ifndef ZEROBUFFER_ADDON_WAIT_THREAD_H
#define ZEROBUFFER_ADDON_WAIT_THREAD_H

#include <functional>
#include <mutex>
#include <thread>

#include "cond-var.h"

namespace zbnode {

class WaitThread {
 public:
  // A job does the blocking work and returns what to do once it is over
  // (typically: hand the result to JS). The thread counts as idle again
  // before that completion runs, so the completion may post the next job.
  using Completion = std::function<void()>;
  using Job = std::function<Completion()>;

  WaitThread() = default;
  WaitThread(const WaitThread &) = delete;
  WaitThread &operator=(const WaitThread &) = delete;
  ~WaitThread() { Stop(); }

  // Starts the thread on first use. False when a job is running or Stop()
  // was called.
  bool Post(Job job);
  bool Busy();
  // Joins the thread. The caller makes the running job return first (by
  // waking the wait it is in).
  void Stop();

 private:
  void Run();

  std::mutex mu_;
  CondVar cv_;  // not std::condition_variable: see cond-var.h
  Job job_;
  bool busy_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace zbnode

#endif

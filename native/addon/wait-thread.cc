// wait-thread.cc — see wait-thread.h.
#include "wait-thread.h"

#include <utility>

namespace zbnode {

bool WaitThread::Post(Job job) {
  std::lock_guard<std::mutex> lock(mu_);
  if (busy_ || stop_) return false;
  if (!thread_.joinable()) thread_ = std::thread(&WaitThread::Run, this);
  job_ = std::move(job);
  busy_ = true;
  cv_.NotifyOne();
  return true;
}

bool WaitThread::Busy() {
  std::lock_guard<std::mutex> lock(mu_);
  return busy_;
}

void WaitThread::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    cv_.NotifyOne();
  }
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id())
    thread_.join();
}

void WaitThread::Run() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.Wait(lock, [this] { return stop_ || job_ != nullptr; });
      if (job_ == nullptr) return;  // stopped and idle
      job = std::move(job_);
      job_ = nullptr;
    }
    Completion done = job();
    {
      std::lock_guard<std::mutex> lock(mu_);
      busy_ = false;
    }
    if (done) done();
  }
}

}  // namespace zbnode

// cond-var.h — a condition variable for a std::mutex, on pthread_cond_t.
//
// Not std::condition_variable: GCC 12 and newer bind its wait() to
// GLIBCXX_3.4.30, which the libstdc++ of the glibc 2.34 systems the prebuilt
// addon promises (GCC 11: RHEL 9, Amazon Linux 2023) does not have, so the
// addon would not load there (scripts/prebuild.sh checks the symbol
// versions). This waits on the std::mutex's own pthread mutex instead.
#ifndef ZEROBUFFER_ADDON_COND_VAR_H
#define ZEROBUFFER_ADDON_COND_VAR_H

#include <pthread.h>

#include <mutex>

namespace zbnode {

class CondVar {
 public:
  CondVar() = default;
  CondVar(const CondVar &) = delete;
  CondVar &operator=(const CondVar &) = delete;
  ~CondVar() { pthread_cond_destroy(&cond_); }

  // As std::condition_variable::wait(lock, pred): lock holds the mutex.
  template <typename Pred>
  void Wait(std::unique_lock<std::mutex> &lock, Pred pred) {
    while (!pred()) pthread_cond_wait(&cond_, lock.mutex()->native_handle());
  }
  void NotifyOne() { pthread_cond_signal(&cond_); }
  void NotifyAll() { pthread_cond_broadcast(&cond_); }

 private:
  pthread_cond_t cond_ = PTHREAD_COND_INITIALIZER;
};

}  // namespace zbnode

#endif

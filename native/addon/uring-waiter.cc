// uring-waiter.cc — see uring-waiter.h. Raw io_uring system calls (liburing
// is not a dependency): one ring of two entries per waiter, one FUTEX_WAIT
// in flight at most.
//
// Two ways the loop learns of the wake. kEventfd (the default):
// IORING_SETUP_DEFER_TASKRUN keeps the completion as task work until the
// loop asks for it, and the futex wake queueing it signals the registered
// eventfd from the writer's own sem_post: one wake of epoll_wait, as a
// socket's. kSignal (flags 0): the completion is task work signalled to
// the loop's thread (TWA_SIGNAL), so epoll_wait returns EINTR, the task
// work posts the CQE and a second epoll_wait reports the ring's fd.
#include "uring-waiter.h"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#if defined(__linux__) && __has_include(<linux/io_uring.h>)
#include <linux/futex.h>
#include <linux/io_uring.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#define ZB_HAVE_IO_URING 1
#endif

namespace zbnode {
namespace {

// Set once io_uring refused here: later readers do not try again.
std::atomic<bool> refused{false};
// Set once IORING_SETUP_DEFER_TASKRUN or the eventfd was refused here
// (EINVAL before Linux 6.1), or the kernel signals the eventfd late (see
// EventfdSignalsAtOnce): later readers take kSignal at once.
std::atomic<bool> eventfd_refused{false};

#ifdef ZB_HAVE_IO_URING
// Not in the kernel headers of older distributions (Linux 6.7 added them).
constexpr uint8_t kOpFutexWait = 51;        // IORING_OP_FUTEX_WAIT
constexpr uint32_t kFutex2SizeU32 = 0x02;   // FUTEX2_SIZE_U32, no FUTEX2_PRIVATE: shared
constexpr uint64_t kFutexMatchAny = 0xffffffffu;  // FUTEX_BITSET_MATCH_ANY

int Enter(int fd, unsigned to_submit, unsigned flags = 0) {
  long rc;
  do rc = syscall(__NR_io_uring_enter, fd, to_submit, 0, flags, nullptr, 0);
  while (rc < 0 && errno == EINTR);
  return static_cast<int>(rc);
}

// Whether this kernel's io_uring knows FUTEX_WAIT (IORING_REGISTER_PROBE).
bool SupportsFutexWait(int fd) {
  constexpr unsigned kOps = 256;
  size_t size = sizeof(io_uring_probe) + kOps * sizeof(io_uring_probe_op);
  io_uring_probe *probe = static_cast<io_uring_probe *>(calloc(1, size));
  if (probe == nullptr) return false;
  bool ok = syscall(__NR_io_uring_register, fd, IORING_REGISTER_PROBE, probe, kOps) == 0 &&
            probe->last_op >= kOpFutexWait && (probe->ops[kOpFutexWait].flags & IO_URING_OP_SUPPORTED);
  free(probe);
  return ok;
}
#endif

}  // namespace

UringWaiter *UringWaiter::Create(napi_env env, Notify notify, OnWake on_wake) {
  if (refused.load()) return nullptr;
  UringWaiter *w = new UringWaiter();
  bool ok = false;
  if (notify == Notify::kEventfd && !eventfd_refused.load()) {
    ok = w->Setup(env, Notify::kEventfd);
    if (!ok) {
      eventfd_refused.store(true);
      w->CloseRing();
    }
  }
  if (!ok && !w->Setup(env, Notify::kSignal)) {
    refused.store(true);
    delete w;
    return nullptr;
  }
  w->on_wake_ = std::move(on_wake);
  return w;
}

bool UringWaiter::Setup(napi_env env, Notify notify) {
#ifdef ZB_HAVE_IO_URING
  env_ = env;
  notify_ = notify;
  io_uring_params p;
  std::memset(&p, 0, sizeof p);
  // SINGLE_ISSUER: every submission and GETEVENTS comes from the loop's
  // thread, the one creating the ring. TASKRUN_FLAG: the kernel raises
  // IORING_SQ_TASKRUN while task work waits (see Reap).
  if (notify == Notify::kEventfd)
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
  fd_ = static_cast<int>(syscall(__NR_io_uring_setup, 2, &p));
  if (fd_ < 0 || !(p.features & IORING_FEAT_SINGLE_MMAP) || !SupportsFutexWait(fd_)) return false;
  size_t sq = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  size_t cq = p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe);
  rings_size_ = sq > cq ? sq : cq;
  void *rings = mmap(nullptr, rings_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_,
                     IORING_OFF_SQ_RING);
  if (rings == MAP_FAILED) return false;
  rings_ = rings;
  sqes_size_ = p.sq_entries * sizeof(io_uring_sqe);
  void *sqes = mmap(nullptr, sqes_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_,
                    IORING_OFF_SQES);
  if (sqes == MAP_FAILED) return false;
  sqes_ = sqes;
  char *base = static_cast<char *>(rings_);
  sq_flags_ = reinterpret_cast<unsigned *>(base + p.sq_off.flags);
  sq_tail_ = reinterpret_cast<unsigned *>(base + p.sq_off.tail);
  sq_mask_ = reinterpret_cast<unsigned *>(base + p.sq_off.ring_mask);
  sq_array_ = reinterpret_cast<unsigned *>(base + p.sq_off.array);
  cq_head_ = reinterpret_cast<unsigned *>(base + p.cq_off.head);
  cq_tail_ = reinterpret_cast<unsigned *>(base + p.cq_off.tail);
  cq_mask_ = reinterpret_cast<unsigned *>(base + p.cq_off.ring_mask);
  cqes_ = base + p.cq_off.cqes;

  if (notify == Notify::kEventfd) {
    event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (event_fd_ < 0 || syscall(__NR_io_uring_register, fd_, IORING_REGISTER_EVENTFD, &event_fd_, 1) != 0 ||
        !EventfdSignalsAtOnce())
      return false;
  }
  uv_loop_t *loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok ||
      uv_poll_init(loop, &poll_, notify == Notify::kEventfd ? event_fd_ : fd_) != 0)
    return false;
  uv_timer_init(loop, &timer_);
  poll_.data = timer_.data = this;
  handles_ = Handles::kOpen;
  napi_value resource, name;
  napi_create_object(env, &resource);
  napi_create_reference(env, resource, 1, &resource_);
  napi_create_string_utf8(env, "zerobuffer-reader-wait", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, resource, name, &context_);
  napi_add_async_cleanup_hook(env, OnEnvCleanup, this, &cleanup_);
  return true;
#else
  (void)env;
  return false;
#endif
}

UringWaiter::~UringWaiter() { CloseRing(); }

// Closing the fd ends a FUTEX_WAIT in flight.
void UringWaiter::CloseRing() {
#ifdef ZB_HAVE_IO_URING
  if (sqes_ != nullptr) munmap(sqes_, sqes_size_);
  if (rings_ != nullptr) munmap(rings_, rings_size_);
  if (fd_ >= 0) close(fd_);
  if (event_fd_ >= 0) close(event_fd_);
#endif
  sqes_ = rings_ = nullptr;
  fd_ = event_fd_ = -1;
  in_flight_ = false;  // a set-up retried with the other way submits anew
}

bool UringWaiter::Submit(const uint32_t *word) {
#ifdef ZB_HAVE_IO_URING
  unsigned tail = *sq_tail_, index = tail & *sq_mask_;
  io_uring_sqe *sqe = static_cast<io_uring_sqe *>(sqes_) + index;
  std::memset(sqe, 0, sizeof *sqe);
  sqe->opcode = kOpFutexWait;
  sqe->fd = static_cast<int32_t>(kFutex2SizeU32);
  sqe->addr = reinterpret_cast<uintptr_t>(word);
  sqe->off = 0;  // addr2: sleep while the word reads 0
  sqe->addr3 = kFutexMatchAny;
  sq_array_[index] = index;
  __atomic_store_n(sq_tail_, tail + 1, __ATOMIC_RELEASE);
  if (Enter(fd_, 1) != 1) return false;
  in_flight_ = true;
  return true;
#else
  (void)word;
  return false;
#endif
}

// Some kernels signal the eventfd of a DEFER_TASKRUN ring well after the
// futex wake (one 6.18 build: 13-16 ms later, every wake; another build of
// the same version: within the wake). A FUTEX_WAIT woken from this thread
// shows which: the eventfd must count before the wake returns. The
// probe's completion is taken here.
bool UringWaiter::EventfdSignalsAtOnce() {
#ifdef ZB_HAVE_IO_URING
  uint32_t word = 0;  // on the stack: the wait ends before the return, or the ring is closed
  if (!Submit(&word)) return false;
  __atomic_store_n(&word, 1, __ATOMIC_RELEASE);
  if (syscall(SYS_futex, &word, FUTEX_WAKE, 1, nullptr, nullptr, 0) != 1) return false;
  uint64_t count;
  bool at_once = read(event_fd_, &count, sizeof count) == static_cast<ssize_t>(sizeof count);
  return Reap() && !in_flight_ && at_once;
#else
  return false;
#endif
}

bool UringWaiter::Reap() {
#ifdef ZB_HAVE_IO_URING
  if (notify_ == Notify::kEventfd) {
    // The completion waits as our task work: GETEVENTS runs it (posting
    // the CQE counts on the eventfd once more), then the eventfd is emptied,
    // so it wakes the loop once per wake. Work queued between the two
    // raised IORING_SQ_TASKRUN: run again (bounded: the flag only helps).
    for (int pass = 0; pass < 3; pass++) {
      if (Enter(fd_, 0, IORING_ENTER_GETEVENTS) < 0) return false;
      uint64_t count;
      if (read(event_fd_, &count, sizeof count) < 0 && errno != EAGAIN) return false;
      if (!(__atomic_load_n(sq_flags_, __ATOMIC_ACQUIRE) & IORING_SQ_TASKRUN)) break;
    }
  }
  bool usable = true;
  unsigned head = *cq_head_, tail = __atomic_load_n(cq_tail_, __ATOMIC_ACQUIRE);
  for (; head != tail; head++) {
    int res = (static_cast<io_uring_cqe *>(cqes_) + (head & *cq_mask_))->res;
    // Woken (0), the word was not 0 any more (EAGAIN), interrupted: all
    // mean "look again". Anything else (EINVAL, EFAULT...) will not improve.
    if (res < 0 && res != -EAGAIN && res != -EINTR && res != -ECANCELED) usable = false;
    in_flight_ = false;
  }
  __atomic_store_n(cq_head_, head, __ATOMIC_RELEASE);
  return usable;
#else
  return false;
#endif
}

bool UringWaiter::Sleep(const uint32_t *word, int ms) {
  if (destroyed_ || handles_ != Handles::kOpen) return false;
  if (!in_flight_ && !Submit(word)) {
    refused.store(true);
    return false;
  }
  word_ = word;
  sleeping_ = true;
  // Watched from the first sleep on (starting and stopping it would cost
  // two epoll_ctl calls a wait); referenced only while sleeping.
  if (!uv_is_active(reinterpret_cast<uv_handle_t *>(&poll_))) uv_poll_start(&poll_, UV_READABLE, OnPoll);
  uv_ref(reinterpret_cast<uv_handle_t *>(&poll_));
  if (ms >= 0) uv_timer_start(&timer_, OnTimer, static_cast<uint64_t>(ms), 0);
  return true;
}

void UringWaiter::Stop() {
  sleeping_ = false;
  if (handles_ == Handles::kOpen) {
    uv_unref(reinterpret_cast<uv_handle_t *>(&poll_));
    uv_timer_stop(&timer_);
  }
}

void UringWaiter::Fire(Wake why) {
  Stop();
  OnWake on_wake = on_wake_;  // on_wake_ may be cleared (Destroy) while it runs
  if (!on_wake) return;
  napi_handle_scope handles;
  napi_callback_scope scope;
  napi_value resource;
  napi_open_handle_scope(env_, &handles);
  napi_get_reference_value(env_, resource_, &resource);
  napi_open_callback_scope(env_, resource, context_, &scope);
  on_wake(why);
  napi_close_callback_scope(env_, scope);  // runs the promises' reactions
  napi_close_handle_scope(env_, handles);
}

void UringWaiter::OnPoll(uv_poll_t *h, int status, int) {
  UringWaiter *w = static_cast<UringWaiter *>(h->data);
  if (status == 0 && w->notify_ == Notify::kEventfd) return w->LookThenReap();
  bool usable = status == 0 && w->Reap();
  if (!usable) {
    refused.store(true);
    w->Fire(Wake::kFailed);
  } else if (w->sleeping_) {
    w->Fire(Wake::kWord);
  }
}

// The eventfd counts the futex wake itself, before its completion exists:
// the reader looks at the ring first, and only then runs the completion
// (GETEVENTS, a system call with the task work in it) and empties the
// eventfd, off the frame's way to JS. A wait started meanwhile found the
// FUTEX_WAIT still in flight; it is submitted again here.
void UringWaiter::LookThenReap() {
  if (sleeping_) Fire(Wake::kWord);
  if (handles_ != Handles::kOpen) return;  // closed while JS ran: the ring is gone
  if (!Reap()) {
    refused.store(true);
    Fire(Wake::kFailed);
  } else if (sleeping_ && !in_flight_ && !Submit(word_)) {
    refused.store(true);
    Fire(Wake::kFailed);
  }
}

void UringWaiter::OnTimer(uv_timer_t *t) {
  UringWaiter *w = static_cast<UringWaiter *>(t->data);
  if (w->sleeping_) w->Fire(Wake::kTimer);
}

void UringWaiter::CloseHandles() {
  if (handles_ != Handles::kOpen) return;
  Stop();
  handles_ = Handles::kClosing;
  closes_left_ = 2;
  uv_close(reinterpret_cast<uv_handle_t *>(&poll_), OnClosed);
  uv_close(reinterpret_cast<uv_handle_t *>(&timer_), OnClosed);
  CloseRing();  // poll_ no longer watches the fd
  on_wake_ = nullptr;
}

void UringWaiter::OnClosed(uv_handle_t *h) {
  UringWaiter *w = static_cast<UringWaiter *>(h->data);
  if (--w->closes_left_ > 0) return;
  w->handles_ = Handles::kClosed;
  napi_async_destroy(w->env_, w->context_);  // not before: Fire may be in its scope
  napi_delete_reference(w->env_, w->resource_);
  if (w->cleanup_ != nullptr) {
    napi_remove_async_cleanup_hook(w->cleanup_);
    w->cleanup_ = nullptr;
  }
  if (w->destroyed_) delete w;
}

// The environment is going away (a worker ends, the process exits) with
// the waiter still owned: its handles must be closed before the loop is.
void UringWaiter::OnEnvCleanup(napi_async_cleanup_hook_handle, void *arg) {
  static_cast<UringWaiter *>(arg)->CloseHandles();
}

void UringWaiter::Destroy() {
  destroyed_ = true;
  on_wake_ = nullptr;
  if (handles_ == Handles::kOpen)
    CloseHandles();
  else if (handles_ != Handles::kClosing)
    delete this;
  // else closing: OnClosed deletes it
}

}  // namespace zbnode

// live-counts.h — process-wide counts of the addon's native objects that
// live as long as a reader, a writer or a frame view, so that a leak check
// (the soak run, test/node/memory.test.ts) can count them cheaply: a
// relaxed atomic add when one is made or goes. No Node-API include here.
#ifndef ZEROBUFFER_ADDON_LIVE_COUNTS_H
#define ZEROBUFFER_ADDON_LIVE_COUNTS_H

#include <atomic>
#include <cstdint>

namespace zbnode {

struct LiveCounts {
  std::atomic<int64_t> reader_objects{0};   // JS Reader wrappers not finalized
  std::atomic<int64_t> writer_objects{0};   // JS Writer wrappers not finalized
  std::atomic<int64_t> reader_sessions{0};  // ReaderSession
  std::atomic<int64_t> writer_sessions{0};  // WriterSession
  std::atomic<int64_t> lease_tables{0};     // LeaseTable (may outlive its session)
  std::atomic<int64_t> views{0};            // external views not finalized
  std::atomic<int64_t> held_leases{0};      // views neither released nor finalized
  std::atomic<int64_t> tsfns{0};            // thread-safe functions not released
};

inline LiveCounts live_counts;

inline void CountUp(std::atomic<int64_t> &c) { c.fetch_add(1, std::memory_order_relaxed); }
inline void CountDown(std::atomic<int64_t> &c) { c.fetch_sub(1, std::memory_order_relaxed); }

// A member that counts its owner while it lives (also when the owner's
// constructor throws after it).
template <std::atomic<int64_t> LiveCounts::*Counter>
struct Counted {
  Counted() { CountUp(live_counts.*Counter); }
  Counted(const Counted &) = delete;
  Counted &operator=(const Counted &) = delete;
  ~Counted() { CountDown(live_counts.*Counter); }
};

}  // namespace zbnode

#endif

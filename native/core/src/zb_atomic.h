/* zb_atomic.h — the only way shared OIEB counters are read and written.
 *
 * Publication order (docs/PROTOCOL.md §3, "Visibility"): the writer fills a frame, then publishes
 * positions and counts with release stores; the reader loads counts with
 * acquire before it looks at frame bytes, and the other way round for free
 * bytes. payload_free_bytes is changed by both sides: atomic add/sub only.
 */
#ifndef ZB_ATOMIC_H
#define ZB_ATOMIC_H

#include <stdatomic.h>
#include <stdint.h>

#include "zb_oieb.h"

static inline uint64_t zb__load_acquire(zb_shared_u64 *p) {
  return atomic_load_explicit(p, memory_order_acquire);
}

static inline uint64_t zb__load_relaxed(zb_shared_u64 *p) {
  return atomic_load_explicit(p, memory_order_relaxed);
}

static inline void zb__store_release(zb_shared_u64 *p, uint64_t v) {
  atomic_store_explicit(p, v, memory_order_release);
}

static inline void zb__add_release(zb_shared_u64 *p, uint64_t v) {
  atomic_fetch_add_explicit(p, v, memory_order_acq_rel);
}

static inline void zb__sub_release(zb_shared_u64 *p, uint64_t v) {
  atomic_fetch_sub_explicit(p, v, memory_order_acq_rel);
}

static inline int zb__cas(zb_shared_u64 *p, uint64_t *expected,
                          uint64_t desired) {
  return atomic_compare_exchange_strong_explicit(
      p, expected, desired, memory_order_acq_rel, memory_order_acquire);
}

#endif /* ZB_ATOMIC_H */

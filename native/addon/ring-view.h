// ring-view.h — the JS view over a frame's bytes in the ring: an
// ArrayBuffer with no copy whose end (detached at release, or collected)
// finalizes the frame's lease slot.
#ifndef ZEROBUFFER_ADDON_RING_VIEW_H
#define ZEROBUFFER_ADDON_RING_VIEW_H

#include <node_api.h>

#include <cstddef>

#include "reader-session.h"

namespace zbnode {

// Picks how views are made in this process, from the runtime the addon was
// loaded into; returns "v8" (a V8 backing store) or "napi" (an external
// ArrayBuffer). The addon's Init calls it; exported as `ringViews`.
const char *ChooseRingViews(napi_env env);

// An ArrayBuffer over [data, data + size) into *out; LeaseTable::Finalize
// (slot) runs once it is detached or collected. Fails (with the exception
// pending, the slot untouched) where external buffers are refused:
// napi_no_external_buffers_allowed, the V8 sandbox.
napi_status NewRingView(napi_env env, const void *data, size_t size, LeaseTable::Slot *slot, napi_value *out);

}  // namespace zbnode

#endif

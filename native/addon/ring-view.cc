// ring-view.cc — see ring-view.h. The one file of the addon that uses V8's
// own API, and why: in Node 20 napi_create_external_arraybuffer goes through
// Node's Buffer machinery (a Buffer object, a weak reference, an environment
// cleanup hook, a finalizer queued back to the JS thread) and costs ~7 µs a
// frame on the benchmark host, most of a 1 KiB frame's time in JS. A V8
// backing store with a deleter over the same bytes costs a fraction of that
// and detaches the same way. Its deleter runs when the store is freed: on
// the JS thread when release() detaches the view, else after the view is
// collected, possibly on a GC thread, which LeaseTable::Finalize allows (it
// takes its lock; the core's release is thread-safe), or at a worker's
// heap teardown, after Node unloaded the addon with the worker's
// environment: hence the addon is never unloaded (binding.gyp, -z nodelete).
//
// V8's C++ API has no stable ABI, unlike Node-API (the prebuilt addon is
// one N-API build for every Node >= 20.19, and Electron loads it too), so
// the V8 path is taken only when the runtime's module ABI
// (process.versions.modules) is the one of the headers it was compiled
// with. Elsewhere, and where V8 is built with its sandbox
// (V8_ENABLE_SANDBOX, set by the headers' common.gypi: Electron; a backing
// store over memory outside the sandbox would abort), the napi call stays,
// with its refusal (napi_no_external_buffers_allowed) that the caller
// answers with a copy.
#include "ring-view.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#ifndef V8_ENABLE_SANDBOX
// node_version.h defines the runtime's NAPI_VERSION; the addon's stays.
#pragma push_macro("NAPI_VERSION")
#undef NAPI_VERSION
#include <node_version.h>
#pragma pop_macro("NAPI_VERSION")
#include <v8.h>

#include <memory>
#include <utility>
#endif

namespace zbnode {

namespace {

std::atomic<bool> use_v8{false};

void FinalizeView(napi_env, void *, void *slot) {
  LeaseTable::Finalize(static_cast<LeaseTable::Slot *>(slot));
}

#ifndef V8_ENABLE_SANDBOX
void DeleteView(void *, size_t, void *slot) {
  LeaseTable::Finalize(static_cast<LeaseTable::Slot *>(slot));
}

#define ZB_STRINGIFY_(x) #x
#define ZB_STRINGIFY(x) ZB_STRINGIFY_(x)

// process.versions.modules is NODE_MODULE_VERSION of these headers.
bool SameModuleAbi(napi_env env) {
  napi_value global, process, versions, modules;
  char abi[32];
  size_t len = 0;
  if (napi_get_global(env, &global) != napi_ok ||
      napi_get_named_property(env, global, "process", &process) != napi_ok ||
      napi_get_named_property(env, process, "versions", &versions) != napi_ok ||
      napi_get_named_property(env, versions, "modules", &modules) != napi_ok ||
      napi_get_value_string_utf8(env, modules, abi, sizeof abi, &len) != napi_ok) {
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
    return false;
  }
  return std::strcmp(abi, ZB_STRINGIFY(NODE_MODULE_VERSION)) == 0;
}
#endif

}  // namespace

const char *ChooseRingViews(napi_env env) {
#ifndef V8_ENABLE_SANDBOX
  // ZEROBUFFER_RING_VIEWS=napi: the napi path where V8's would do (tests)
  const char *forced = std::getenv("ZEROBUFFER_RING_VIEWS");
  use_v8.store((forced == nullptr || std::strcmp(forced, "napi") != 0) && SameModuleAbi(env));
#endif
  return use_v8.load() ? "v8" : "napi";
}

napi_status NewRingView(napi_env env, const void *data, size_t size, LeaseTable::Slot *slot, napi_value *out) {
#ifndef V8_ENABLE_SANDBOX
  if (use_v8.load(std::memory_order_relaxed)) {
    // Inside a napi call: the isolate is the current one and the handle
    // scope is napi's, whose values are V8 Locals (Node's
    // v8impl::JsValueFromV8LocalValue is this same cast).
    std::shared_ptr<v8::BackingStore> store =
        v8::ArrayBuffer::NewBackingStore(const_cast<void *>(data), size, DeleteView, slot);
    v8::Local<v8::ArrayBuffer> view = v8::ArrayBuffer::New(v8::Isolate::GetCurrent(), std::move(store));
    *out = reinterpret_cast<napi_value>(*view);
    return napi_ok;
  }
#endif
  return napi_create_external_arraybuffer(env, const_cast<void *>(data), size, FinalizeView, slot, out);
}

}  // namespace zbnode

// writer-binding.h — the JS Writer class (writer-binding.cc), registered by binding.cc.
#ifndef ZEROBUFFER_ADDON_WRITER_BINDING_H
#define ZEROBUFFER_ADDON_WRITER_BINDING_H

#include <napi.h>

namespace zbnode {

// The Writer constructor: connect, setMetadata, write, reserve / commit /
// cancelReservation, cancel, health, close.
Napi::Function WriterClass(Napi::Env env);

}  // namespace zbnode

#endif

// signal-hold.h — registers SignalHold (signal-hold.cc) on the addon's exports.
#ifndef ZEROBUFFER_ADDON_SIGNAL_HOLD_H
#define ZEROBUFFER_ADDON_SIGNAL_HOLD_H

#include <napi.h>

namespace zbnode {

void RegisterSignalHold(Napi::Env env, Napi::Object exports);

}  // namespace zbnode

#endif

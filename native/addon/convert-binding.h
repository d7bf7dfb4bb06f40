// convert-binding.h — registers convert() (convert-binding.cc) on the addon's exports.
#ifndef ZEROBUFFER_ADDON_CONVERT_BINDING_H
#define ZEROBUFFER_ADDON_CONVERT_BINDING_H

#include <napi.h>

namespace zbnode {

void RegisterConvert(Napi::Env env, Napi::Object exports);

}  // namespace zbnode

#endif

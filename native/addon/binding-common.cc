// binding-common.cc — see binding-common.h.
#include "binding-common.h"

namespace zbnode {

Napi::Error MakeError(Napi::Env env, const Status &s) {
  Napi::Error e = Napi::Error::New(env, s.message.empty() ? zb_strerror(s.code)
                                                          : s.message);
  e.Set("code", Napi::String::New(env, zb_err_name(s.code)));
  e.Set("errno", Napi::Number::New(env, s.code));
  return e;
}

Napi::Error UsageError(Napi::Env env, const std::string &message) {
  return MakeError(env, Status::Make(ZB_EINVAL, message));
}

Status ClosedStatus(const std::string &what) { return Status::Make(ZB_ESTATE, what + " is closed"); }

std::string ArgName(const Napi::CallbackInfo &info, size_t i, const char *what) {
  if (!info[i].IsString()) throw UsageError(info.Env(), std::string(what) + " must be a string");
  // a lone surrogate has no UTF-8: converted, it becomes U+FFFD, and the ring
  // made or opened is another's than the one the string names
  std::u16string units = info[i].As<Napi::String>().Utf16Value();
  for (size_t k = 0; k < units.size(); k++) {
    bool high = units[k] >= 0xD800 && units[k] <= 0xDBFF;
    if (high && k + 1 < units.size() && units[k + 1] >= 0xDC00 && units[k + 1] <= 0xDFFF)
      k++;
    else if (high || (units[k] >= 0xDC00 && units[k] <= 0xDFFF))
      throw MakeError(info.Env(), Status::Make(ZB_ENAME, "ring name is not valid Unicode: a lone surrogate at index " +
                                                             std::to_string(k) + " (its bytes would name another ring)"));
  }
  return info[i].As<Napi::String>().Utf8Value();
}

double ArgNumber(const Napi::CallbackInfo &info, size_t i, const char *what) {
  if (!info[i].IsNumber()) throw UsageError(info.Env(), std::string(what) + " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

// A non-negative integer JS can hold exactly.
static uint64_t SizeOf(Napi::Env env, Napi::Value value, const std::string &what) {
  double v = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : -1;
  if (!(v >= 0) || v > 9007199254740991.0 || v != static_cast<double>(static_cast<uint64_t>(v)))
    throw UsageError(env, what + " must be a non-negative integer");
  return static_cast<uint64_t>(v);
}

uint64_t ArgSize(const Napi::CallbackInfo &info, size_t i, const char *what) {
  ArgNumber(info, i, what);
  return SizeOf(info.Env(), info[i], what);
}

int ArgTimeout(const Napi::CallbackInfo &info, size_t i) {
  if (info[i].IsUndefined()) return ZB_WAIT_FOREVER;
  double v = ArgNumber(info, i, "timeoutMs");
  if (v < 0) return ZB_WAIT_FOREVER;
  return v > 2147483647.0 ? 2147483647 : static_cast<int>(v);
}

void ArgBytes(const Napi::CallbackInfo &info, size_t i, const uint8_t **data, size_t *size) {
  Napi::Value v = info[i];
  if (v.IsTypedArray()) {
    Napi::TypedArray t = v.As<Napi::TypedArray>();
    *data = static_cast<const uint8_t *>(t.ArrayBuffer().Data()) + t.ByteOffset();
    *size = t.ByteLength();
  } else if (v.IsDataView()) {
    Napi::DataView d = v.As<Napi::DataView>();
    *data = static_cast<const uint8_t *>(d.ArrayBuffer().Data()) + d.ByteOffset();
    *size = d.ByteLength();
  } else if (v.IsArrayBuffer()) {
    Napi::ArrayBuffer a = v.As<Napi::ArrayBuffer>();
    *data = static_cast<const uint8_t *>(a.Data());
    *size = a.ByteLength();
  } else {
    throw UsageError(info.Env(), "data must be a Uint8Array, Buffer, DataView or ArrayBuffer");
  }
}

Napi::Value U64(Napi::Env env, uint64_t v) { return Napi::Number::New(env, static_cast<double>(v)); }

Napi::Object OiebObject(Napi::Env env, const zb_health &h) {
  Napi::Object o = Napi::Object::New(env);
  Napi::Array version = Napi::Array::New(env, 4);
  for (uint32_t i = 0; i < 4; i++) version[i] = Napi::Number::New(env, h.version[i]);
  o.Set("version", version);
  o.Set("metadataSize", U64(env, h.metadata_size));
  o.Set("metadataWrittenBytes", U64(env, h.metadata_written_bytes));
  o.Set("payloadSize", U64(env, h.payload_size));
  o.Set("payloadFreeBytes", U64(env, h.payload_free_bytes));
  o.Set("writePos", U64(env, h.write_pos));
  o.Set("readPos", U64(env, h.read_pos));
  o.Set("writtenCount", U64(env, h.written_count));
  o.Set("readCount", U64(env, h.read_count));
  o.Set("writerPid", U64(env, h.writer_pid));
  o.Set("readerPid", U64(env, h.reader_pid));
  return o;
}

Napi::Value HealthObject(Napi::Env env, const zb_health &h) {
  Napi::Object o = OiebObject(env, h);
  o.Set("payloadUsedBytes", U64(env, h.payload_used_bytes));
  o.Set("utilisationPercent", Napi::Number::New(env, h.utilisation_percent));
  o.Set("band", zb_band_name(h.band));
  o.Set("writerAlive", Napi::Boolean::New(env, h.writer_alive));
  o.Set("readerAlive", Napi::Boolean::New(env, h.reader_alive));
  o.Set("framesUnread", U64(env, h.frames_unread));
  o.Set("framesHeld", U64(env, h.frames_held));
  return o;
}

zb_health ArgHealthPids(const Napi::CallbackInfo &info, size_t i, const char *what) {
  zb_health h{};
  if (!info[i].IsObject()) throw UsageError(info.Env(), std::string(what) + " must be a health object");
  Napi::Object o = info[i].As<Napi::Object>();
  const std::pair<const char *, uint64_t *> pids[] = {{"writerPid", &h.writer_pid}, {"readerPid", &h.reader_pid}};
  for (const auto &p : pids) *p.second = SizeOf(info.Env(), o.Get(p.first), std::string(what) + "." + p.first);
  return h;
}

}  // namespace zbnode

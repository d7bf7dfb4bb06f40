// convert-binding.cc — the JS face of convert.c: convert(src, layout, dst,
// dstStride, channels). Runs on the calling thread (a 1080p frame takes a
// few milliseconds); every plane and the destination are bounds-checked
// here, so convert.c can trust its pointers.
#include "convert-binding.h"

#include <cstdio>
#include <string>

#include "convert.h"

namespace zbnode {
namespace {

Napi::Error ConvertError(Napi::Env env, const std::string &message) {
  Napi::Error e = Napi::TypeError::New(env, "convert: " + message);
  e.Set("code", Napi::String::New(env, "EINVAL"));
  return e;
}

double Number(Napi::Env env, const Napi::Object &o, const char *key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw ConvertError(env, std::string(key) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

size_t Size(Napi::Env env, double v, const char *what) {
  if (!(v >= 0 && v <= 9007199254740991.0) || v != static_cast<double>(static_cast<uint64_t>(v)))
    throw ConvertError(env, std::string(what) + " must be an integer >= 0");
  return static_cast<size_t>(v);
}

// rows rows of `row` bytes, `stride` apart, from byte `offset` lie within
// `length` bytes: (rows - 1) * stride + row <= length - offset, without
// computing the product (it can wrap past 2^64 for a caller's stride).
bool Fits(size_t rows, size_t stride, size_t row, size_t offset, size_t length) {
  if (offset > length || row > length - offset) return false;
  size_t room = length - offset - row;  // for the rows before the last
  return rows <= 1 || stride <= room / (rows - 1);
}

// convert(src: Uint8Array, layout, dst: Uint8Array, dstStride, channels)
// layout: { format, width, height, offsets: number[], strides: number[],
//           kr?, kb?, fullRange?, hCosited?, vCosited?, interlacedCaps?, interlacedFrame? }
Napi::Value Convert(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || !info[2].IsTypedArray() || !info[1].IsObject())
    throw ConvertError(env, "expected (src: Uint8Array, layout: object, dst: Uint8Array, dstStride, channels)");
  Napi::Uint8Array src = info[0].As<Napi::Uint8Array>();
  Napi::Uint8Array dst = info[2].As<Napi::Uint8Array>();
  Napi::Object layout = info[1].As<Napi::Object>();
  size_t dst_stride = Size(env, info[3].ToNumber().DoubleValue(), "dstStride");
  int channels = info[4].ToNumber().Int32Value();
  if (channels != 1 && channels != 3 && channels != 4) throw ConvertError(env, "channels must be 1, 3 or 4");

  zbc_source s{};
  Napi::Value name = layout.Get("format");
  s.format = name.IsString() ? zbc_format_from_name(name.As<Napi::String>().Utf8Value().c_str()) : ZBC_UNKNOWN;
  if (s.format == ZBC_UNKNOWN) throw ConvertError(env, "unknown format");
  size_t width = Size(env, Number(env, layout, "width"), "width");
  size_t height = Size(env, Number(env, layout, "height"), "height");
  if (width == 0 || height == 0 || width > 1u << 20 || height > 1u << 20)
    throw ConvertError(env, "width and height must be within 1..1048576");
  s.width = static_cast<int>(width);
  s.height = static_cast<int>(height);

  s.interlaced_caps = layout.Get("interlacedCaps").ToBoolean();
  s.interlaced_frame = layout.Get("interlacedFrame").ToBoolean();  // its chroma planes have more rows

  Napi::Value offsets = layout.Get("offsets"), strides = layout.Get("strides");
  if (!offsets.IsArray() || !strides.IsArray()) throw ConvertError(env, "offsets and strides must be arrays");
  Napi::Array off = offsets.As<Napi::Array>(), str = strides.As<Napi::Array>();
  int planes = zbc_planes(s.format);
  if (off.Length() < static_cast<uint32_t>(planes) || str.Length() < static_cast<uint32_t>(planes))
    throw ConvertError(env, "the format has " + std::to_string(planes) + " planes");
  const uint8_t *base = src.Data();
  size_t length = src.ByteLength();
  for (int i = 0; i < planes; i++) {
    size_t o = Size(env, off.Get(i).ToNumber().DoubleValue(), "offset");
    size_t st = Size(env, str.Get(i).ToNumber().DoubleValue(), "stride");
    size_t rows = zbc_plane_rows(s.format, i, s.height, s.interlaced_frame), row = zbc_plane_row_bytes(s.format, i, s.width);
    // The last row needs only its own bytes. A caller's stride goes up to
    // 2^53 and rows to 2^20, so (rows - 1) * stride can pass 2^64: the
    // check divides instead of multiplying.
    if (st < row || !Fits(rows, st, row, o, length))
      throw ConvertError(env, "plane " + std::to_string(i) + " (offset " + std::to_string(o) + ", stride " +
                                  std::to_string(st) + ", " + std::to_string(rows) +
                                  " rows) does not fit in the " + std::to_string(length) + " source bytes");
    s.plane[i] = base + o;
    s.stride[i] = st;
  }
  if (dst_stride < width * static_cast<size_t>(channels) ||
      !Fits(height, dst_stride, width * static_cast<size_t>(channels), 0, dst.ByteLength()))
    throw ConvertError(env, "the destination is too small");

  Napi::Value kr = layout.Get("kr"), kb = layout.Get("kb");
  s.kr = kr.IsNumber() ? kr.As<Napi::Number>().DoubleValue() : 0.299;
  s.kb = kb.IsNumber() ? kb.As<Napi::Number>().DoubleValue() : 0.114;
  if (!(s.kr > 0 && s.kb > 0 && s.kr + s.kb < 1)) throw ConvertError(env, "kr and kb must be luma coefficients");
  s.full_range = layout.Get("fullRange").ToBoolean();
  s.h_cosited = layout.Get("hCosited").ToBoolean();
  s.v_cosited = layout.Get("vCosited").ToBoolean();

  int r = zbc_convert(&s, channels, dst.Data(), dst_stride);
  if (r == -2) {
    char k[96];
    snprintf(k, sizeof k, "kr %.9g and kb %.9g leave too little green (1 - kr - kb = %.3g)", s.kr, s.kb,
             1 - s.kr - s.kb);
    throw ConvertError(env, std::string(k) + " for a YUV matrix in 16-bit arithmetic");
  }
  if (r != 0) throw ConvertError(env, "out of memory");
  return env.Undefined();
}

}  // namespace

void RegisterConvert(Napi::Env env, Napi::Object exports) {
  exports.Set("convert", Napi::Function::New<Convert>(env, "convert"));
}

}  // namespace zbnode

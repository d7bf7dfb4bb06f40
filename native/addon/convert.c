/* convert.c — see convert.h. Written for the compiler: byte loops over rows,
 * lookup tables for the YUV products, no allocation on the fast path; on
 * x86-64 the YUV → RGB rows and the horizontal chroma upsampling compute 16
 * pixels at a time in SSE2 (baseline there), and packed RGB is reordered
 * with SSSE3's byte shuffle where the CPU has it (checked at run time); the
 * scalar code does the rest of each row. */
#include "convert.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__ /* every x86-64 CPU has SSE2: the prebuilt addon may use it unchecked */
#include <emmintrin.h>
#define ZBC_HAVE_SSE2 1
#else
#define ZBC_HAVE_SSE2 0
#endif

/* SSSE3 is not baseline: its functions are compiled for it alone and called
 * only after the CPU says it has it. */
#if ZBC_HAVE_SSE2 && (defined(__GNUC__) || defined(__clang__))
#include <tmmintrin.h>
#define ZBC_HAVE_SSSE3 1
#define ZBC_SSSE3 __attribute__((target("ssse3")))
#else
#define ZBC_HAVE_SSSE3 0
#endif

static int simd_on = ZBC_HAVE_SSE2;

int zbc_set_simd(int on) {
  simd_on = ZBC_HAVE_SSE2 && on;
  return ZBC_HAVE_SSE2;
}

static const struct {
  const char *name;
  zbc_format format;
} NAMES[] = {
    {"RGB", ZBC_RGB},       {"BGR", ZBC_BGR},       {"RGBA", ZBC_RGBA},
    {"BGRA", ZBC_BGRA},     {"RGBx", ZBC_RGBX},     {"BGRx", ZBC_BGRX},
    {"xRGB", ZBC_XRGB},     {"xBGR", ZBC_XBGR},     {"ARGB", ZBC_ARGB},
    {"ABGR", ZBC_ABGR},     {"GRAY8", ZBC_GRAY8},   {"GRAY16_LE", ZBC_GRAY16_LE},
    {"GRAY16_BE", ZBC_GRAY16_BE}, {"I420", ZBC_I420}, {"YV12", ZBC_YV12},
    {"NV12", ZBC_NV12},     {"NV21", ZBC_NV21},     {"YUY2", ZBC_YUY2},
    {"UYVY", ZBC_UYVY},
};

zbc_format zbc_format_from_name(const char *name) {
  for (size_t i = 0; name != NULL && i < sizeof NAMES / sizeof NAMES[0]; i++)
    if (strcmp(NAMES[i].name, name) == 0) return NAMES[i].format;
  return ZBC_UNKNOWN;
}

/* Byte offsets of R, G, B and alpha (-1: none) in a packed RGB pixel, and its size. */
typedef struct {
  int r, g, b, a, size;
} rgb_layout;

static int rgb_layout_of(zbc_format f, rgb_layout *l) {
  static const rgb_layout L[] = {
      [ZBC_RGB] = {0, 1, 2, -1, 3},  [ZBC_BGR] = {2, 1, 0, -1, 3},
      [ZBC_RGBA] = {0, 1, 2, 3, 4},  [ZBC_BGRA] = {2, 1, 0, 3, 4},
      [ZBC_RGBX] = {0, 1, 2, -1, 4}, [ZBC_BGRX] = {2, 1, 0, -1, 4},
      [ZBC_XRGB] = {1, 2, 3, -1, 4}, [ZBC_XBGR] = {3, 2, 1, -1, 4},
      [ZBC_ARGB] = {1, 2, 3, 0, 4},  [ZBC_ABGR] = {3, 2, 1, 0, 4},
  };
  if (f < ZBC_RGB || f > ZBC_ABGR) return 0;
  *l = L[f];
  return 1;
}

int zbc_planes(zbc_format f) {
  switch (f) {
    case ZBC_I420:
    case ZBC_YV12:
      return 3;
    case ZBC_NV12:
    case ZBC_NV21:
      return 2;
    case ZBC_UNKNOWN:
      return 0;
    default:
      return 1;
  }
}

size_t zbc_plane_rows(zbc_format f, int plane, int height, int interlaced_frame) {
  size_t h = (size_t)height;
  if (plane == 0) return h;
  /* the chroma planes of the 4:2:0 formats; interlaced, both fields have as many */
  return interlaced_frame ? (h + 3) / 4 * 2 : (h + 1) / 2;
}

size_t zbc_plane_row_bytes(zbc_format f, int plane, int width) {
  size_t w = (size_t)width, half = (w + 1) / 2;
  rgb_layout l;
  if (rgb_layout_of(f, &l)) return w * (size_t)l.size;
  switch (f) {
    case ZBC_GRAY8:
      return w;
    case ZBC_GRAY16_LE:
    case ZBC_GRAY16_BE:
      return 2 * w;
    case ZBC_YUY2:
    case ZBC_UYVY:
      return 4 * half;
    case ZBC_I420:
    case ZBC_YV12:
      return plane == 0 ? w : half;
    case ZBC_NV12:
    case ZBC_NV21:
      return plane == 0 ? w : 2 * half;
    default:
      return 0;
  }
}

static inline void put(uint8_t *d, int channels, uint8_t r, uint8_t g, uint8_t b, uint8_t a) {
  if (channels == 1) {
    d[0] = (uint8_t)((19595 * r + 38470 * g + 7471 * b + 32768) >> 16); /* BT.601 luma */
  } else {
    d[0] = r;
    d[1] = g;
    d[2] = b;
    if (channels == 4) d[3] = a;
  }
}

/* ------------------------------------------------------------ packed RGB */

#if ZBC_HAVE_SSSE3
/* One shuffle reorders the pixels of a 16-byte load into RGB or RGBA: `pixels`
 * source pixels per step, their bytes picked by `order`, alpha ORed in as 255
 * where the source has none. A step loads 16 bytes and stores 16 even when it
 * uses fewer (3 bytes a pixel in or out), so a row runs the steps while 16
 * bytes remain to be read and written within it; the scalar loop ends it. */
typedef struct {
  __m128i order, alpha;
  int pixels, min_left; /* pixels per step; pixels that must remain to take one */
} rgb_shuffle;

static rgb_shuffle rgb_shuffle_of(const rgb_layout l, int channels) {
  uint8_t order[16], alpha[16];
  const int off[4] = {l.r, l.g, l.b, l.a};
  rgb_shuffle sh;
  sh.pixels = l.size == 3 && channels == 3 ? 5 : 4;
  sh.min_left = l.size == 4 && channels == 4 ? 4 : 6; /* 16 bytes of 3-byte pixels: 5⅓ */
  memset(order, 0x80, sizeof order); /* 0x80: a zero byte */
  memset(alpha, 0, sizeof alpha);
  for (int i = 0; i < sh.pixels; i++)
    for (int c = 0; c < channels; c++) {
      if (off[c] >= 0) order[i * channels + c] = (uint8_t)(i * l.size + off[c]);
      else alpha[i * channels + c] = 0xff;
    }
  sh.order = _mm_loadu_si128((const __m128i *)order);
  sh.alpha = _mm_loadu_si128((const __m128i *)alpha);
  return sh;
}

ZBC_SSSE3 static int rgb_row_ssse3(const rgb_shuffle *sh, const rgb_layout l, int channels,
                                   const uint8_t *p, uint8_t *d, int w) {
  int x = 0;
  for (; w - x >= sh->min_left; x += sh->pixels, p += sh->pixels * l.size, d += sh->pixels * channels) {
    __m128i v = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)p), sh->order);
    _mm_storeu_si128((__m128i *)d, _mm_or_si128(v, sh->alpha));
  }
  return x;
}

#endif

static void rgb_rows(const zbc_source *s, const rgb_layout l, int channels, uint8_t *dst,
                     size_t dst_stride) {
#if ZBC_HAVE_SSSE3
  int shuffle = simd_on && channels > 1 && __builtin_cpu_supports("ssse3");
  rgb_shuffle sh;
  if (shuffle) sh = rgb_shuffle_of(l, channels);
#endif
  for (int y = 0; y < s->height; y++) {
    const uint8_t *p = s->plane[0] + (size_t)y * s->stride[0];
    uint8_t *d = dst + (size_t)y * dst_stride;
    int x = 0;
#if ZBC_HAVE_SSSE3
    if (shuffle) {
      x = rgb_row_ssse3(&sh, l, channels, p, d, s->width);
      p += (size_t)x * l.size, d += (size_t)x * channels;
    }
#endif
    for (; x < s->width; x++, p += l.size, d += channels)
      put(d, channels, p[l.r], p[l.g], p[l.b], l.a >= 0 ? p[l.a] : 255);
  }
}

/* ------------------------------------------------------------------- YUV */

/* videoconvert's AYUV → ARGB ORC kernel (video_orc_convert_I420_ARGB and
 * video_orc_convert_AYUV_ARGB): each sample s becomes the signed 16-bit
 * word of the byte s - 128 repeated, (s - 128) * 256 + (s ^ 0x80); products
 * keep their high 16 bits; the sums saturate to a signed byte; 128 is added
 * back. Tabulated here per sample value. */
#define CLAMP_OFFSET 1024
typedef struct {
  int16_t y[256], rv[256], gu[256], gv[256], bu[256];
  uint8_t clamp[2 * CLAMP_OFFSET];
  int p[5];  /* the coefficients of y, rv, bu, gu and gv */
  int simd;  /* whether the SIMD rows run */
} yuv_tables;

static int mulhsw(int word, int coeff) {
  long p = (long)word * coeff;
  return (int)(p >= 0 ? p >> 16 : -((-p + 65535) >> 16)); /* floor, as pmulhw */
}

static int max_abs(const int16_t *v) {
  int m = 0;
  for (int i = 0; i < 256; i++) m = abs(v[i]) > m ? abs(v[i]) : m;
  return m;
}

/* -1 if a sum can leave the clamp table (and the SIMD rows' 16 bits): only
 * when 1 - kr - kb is so small that the green coefficients explode; every
 * real matrix's sums stay within ±450. */
static int yuv_tables_init(yuv_tables *t, const zbc_source *s) {
  double kr = s->kr, kb = s->kb, kg = 1.0 - kr - kb;
  double ys = s->full_range ? 1.0 : 255.0 / 219.0, cs = s->full_range ? 1.0 : 255.0 / 224.0;
  double m[5] = {ys, cs * 2 * (1 - kr), cs * 2 * (1 - kb), -cs * 2 * (1 - kb) * kb / kg,
                 -cs * 2 * (1 - kr) * kr / kg};
  int16_t *table[5] = {t->y, t->rv, t->bu, t->gu, t->gv};
  for (int i = 0; i < 5; i++) {
    if (!(fabs(m[i]) < 64)) return -1; /* keeps lrint within int16 */
    t->p[i] = (int)lrint(m[i] * 256);   /* 8.8 fixed point, as color_matrix_convert() rounds it */
    for (int v = 0; v < 256; v++)
      table[i][v] = (int16_t)mulhsw((v - 128) * 256 + (v ^ 0x80), t->p[i]);
  }
  int chroma = max_abs(t->rv), cb = max_abs(t->bu), cg = max_abs(t->gu) + max_abs(t->gv);
  chroma = cb > chroma ? cb : chroma;
  chroma = cg > chroma ? cg : chroma;
  if (max_abs(t->y) + chroma >= CLAMP_OFFSET) return -1;
  t->simd = simd_on;
  for (int i = 0; i < 2 * CLAMP_OFFSET; i++) {
    int v = i - CLAMP_OFFSET;
    t->clamp[i] = (uint8_t)((v < -128 ? -128 : v > 127 ? 127 : v) + 128);
  }
  return 0;
}

static inline void yuv_put(const yuv_tables *t, uint8_t *d, int channels, uint8_t Y, int cr,
                           int cg, int cb) {
  int yy = t->y[Y] + CLAMP_OFFSET;
  d[0] = t->clamp[yy + cr];
  d[1] = t->clamp[yy + cg];
  d[2] = t->clamp[yy + cb];
  if (channels == 4) d[3] = 255;
}

/* ------------------------------------------------------------------ gray */

/* GRAY8 / GRAY16 rows. To RGB/RGBA videoconvert stretches limited range
 * (`stretch`, the YUV tables) as it does YUV luma: GRAY8 through the same
 * tables with neutral chroma, GRAY16 with its 16-bit offset 4096 and scale
 * 219 × 256 (rounded here; videoconvert dithers, ±1). Gray stays as it is
 * (16 bits rounded to 8), whatever the range, as videoconvert keeps it. */
static void gray_rows(const zbc_source *s, const yuv_tables *stretch, int channels, uint8_t *dst,
                      size_t dst_stride) {
  int bytes = s->format == ZBC_GRAY8 ? 1 : 2;
  int hi = s->format == ZBC_GRAY16_LE ? 1 : 0; /* offset of the high byte */
  for (int y = 0; y < s->height; y++) {
    const uint8_t *p = s->plane[0] + (size_t)y * s->stride[0];
    uint8_t *d = dst + (size_t)y * dst_stride;
    for (int x = 0; x < s->width; x++, p += bytes, d += channels) {
      uint8_t v;
      if (bytes == 1) {
        v = stretch == NULL ? p[0] : stretch->clamp[stretch->y[p[0]] + CLAMP_OFFSET];
      } else {
        uint32_t v16 = (uint32_t)p[hi] << 8 | p[1 - hi];
        if (stretch == NULL) { /* 16 → 8 bits, rounded: v16 × 255 / 65535 */
          v = (uint8_t)((v16 * 255 + 32767) / 65535);
        } else { /* (v16 − 4096) × 255 / 56064, rounded, within 0..255 */
          uint32_t n = v16 <= 4096 ? 0 : ((v16 - 4096) * 255 + 28032) / 56064;
          v = (uint8_t)(n > 255 ? 255 : n);
        }
      }
      d[0] = v;
      if (channels > 1) d[1] = d[2] = v;
      if (channels == 4) d[3] = 255;
    }
  }
}

/* -------------------------------------------------------------- YUV rows */

#if ZBC_HAVE_SSE2
/* The same arithmetic on 16 pixels at once, bit for bit: x = s ^ 0x80 is the
 * signed byte s - 128, so the word of x repeated, (x << 8) | (uint8_t)x, is
 * the table's (s - 128) * 256 + (s ^ 0x80); pmulhw keeps the floor of the
 * high half as mulhsw does; the sums fit 16 bits (yuv_tables_init), packsswb
 * saturates to a signed byte as the clamp table does, and ^ 0x80 adds 128. */
typedef struct {
  __m128i y, rv, bu, gu, gv, bias;
} yuv_coeffs;

static yuv_coeffs yuv_coeffs_of(const yuv_tables *t) {
  yuv_coeffs c = {_mm_set1_epi16((short)t->p[0]), _mm_set1_epi16((short)t->p[1]),
                  _mm_set1_epi16((short)t->p[2]), _mm_set1_epi16((short)t->p[3]),
                  _mm_set1_epi16((short)t->p[4]), _mm_set1_epi8((char)0x80)};
  return c;
}

/* The words of the 8 low (lo) or 8 high samples of s. */
static inline __m128i words_lo(const yuv_coeffs *c, __m128i s) {
  __m128i x = _mm_xor_si128(s, c->bias);
  return _mm_unpacklo_epi8(x, x);
}
static inline __m128i words_hi(const yuv_coeffs *c, __m128i s) {
  __m128i x = _mm_xor_si128(s, c->bias);
  return _mm_unpackhi_epi8(x, x);
}

/* Four vectors of 4 pixels R,G,B,x each → their 48 bytes R,G,B at d. */
static inline void store_rgb48(uint8_t *d, __m128i p0, __m128i p1, __m128i p2, __m128i p3) {
  const __m128i first = _mm_set_epi32(0, 0x00ffffff, 0, 0x00ffffff);
  const __m128i second = _mm_set_epi32(0x0000ffff, (int)0xff000000, 0x0000ffff, (int)0xff000000);
  __m128i q[4] = {p0, p1, p2, p3};
  for (int i = 0; i < 4; i++) {
    /* each 64-bit half: its two pixels' 6 bytes at its bottom */
    __m128i v = _mm_or_si128(_mm_and_si128(q[i], first), _mm_and_si128(_mm_srli_epi64(q[i], 8), second));
    /* the high half's 6 bytes right after the low half's: 12 bytes, 4 zero */
    q[i] = _mm_or_si128(_mm_move_epi64(v), _mm_srli_si128(_mm_unpackhi_epi64(_mm_setzero_si128(), v), 2));
  }
  _mm_storeu_si128((__m128i *)d, _mm_or_si128(q[0], _mm_slli_si128(q[1], 12)));
  _mm_storeu_si128((__m128i *)(d + 16), _mm_or_si128(_mm_srli_si128(q[1], 4), _mm_slli_si128(q[2], 8)));
  _mm_storeu_si128((__m128i *)(d + 32), _mm_or_si128(_mm_srli_si128(q[2], 8), _mm_slli_si128(q[3], 4)));
}

/* 16 pixels from their luma bytes and the chroma sums of pixels 0-7 (lo)
 * and 8-15 (hi), as `channels`-byte pixels at d. */
static inline void yuv_put16(const yuv_coeffs *c, uint8_t *d, int channels, __m128i luma,
                             __m128i cr_lo, __m128i cr_hi, __m128i cg_lo, __m128i cg_hi,
                             __m128i cb_lo, __m128i cb_hi) {
  __m128i y_lo = _mm_mulhi_epi16(words_lo(c, luma), c->y);
  __m128i y_hi = _mm_mulhi_epi16(words_hi(c, luma), c->y);
  __m128i r = _mm_xor_si128(_mm_packs_epi16(_mm_add_epi16(y_lo, cr_lo), _mm_add_epi16(y_hi, cr_hi)), c->bias);
  __m128i g = _mm_xor_si128(_mm_packs_epi16(_mm_add_epi16(y_lo, cg_lo), _mm_add_epi16(y_hi, cg_hi)), c->bias);
  __m128i b = _mm_xor_si128(_mm_packs_epi16(_mm_add_epi16(y_lo, cb_lo), _mm_add_epi16(y_hi, cb_hi)), c->bias);
  __m128i a = _mm_set1_epi8((char)0xff);
  __m128i rg_lo = _mm_unpacklo_epi8(r, g), rg_hi = _mm_unpackhi_epi8(r, g);
  __m128i ba_lo = _mm_unpacklo_epi8(b, a), ba_hi = _mm_unpackhi_epi8(b, a);
  __m128i p0 = _mm_unpacklo_epi16(rg_lo, ba_lo), p1 = _mm_unpackhi_epi16(rg_lo, ba_lo);
  __m128i p2 = _mm_unpacklo_epi16(rg_hi, ba_hi), p3 = _mm_unpackhi_epi16(rg_hi, ba_hi);
  if (channels == 4) {
    _mm_storeu_si128((__m128i *)d, p0);
    _mm_storeu_si128((__m128i *)(d + 16), p1);
    _mm_storeu_si128((__m128i *)(d + 32), p2);
    _mm_storeu_si128((__m128i *)(d + 48), p3);
  } else {
    store_rgb48(d, p0, p1, p2, p3);
  }
}

/* I420 / YV12 row: each chroma sample serves two pixels. Returns the pixels
 * done (a multiple of 16); the caller does the rest. */
static int planar_row_sse2(const yuv_coeffs *c, int channels, const uint8_t *py, const uint8_t *pu,
                           const uint8_t *pv, int width, uint8_t *d) {
  int x = 0;
  for (; x + 16 <= width; x += 16, d += 16 * channels) {
    __m128i u = words_lo(c, _mm_loadl_epi64((const __m128i *)(pu + x / 2)));
    __m128i v = words_lo(c, _mm_loadl_epi64((const __m128i *)(pv + x / 2)));
    __m128i cr = _mm_mulhi_epi16(v, c->rv), cb = _mm_mulhi_epi16(u, c->bu);
    __m128i cg = _mm_add_epi16(_mm_mulhi_epi16(u, c->gu), _mm_mulhi_epi16(v, c->gv));
    yuv_put16(c, d, channels, _mm_loadu_si128((const __m128i *)(py + x)), _mm_unpacklo_epi16(cr, cr),
              _mm_unpackhi_epi16(cr, cr), _mm_unpacklo_epi16(cg, cg), _mm_unpackhi_epi16(cg, cg),
              _mm_unpacklo_epi16(cb, cb), _mm_unpackhi_epi16(cb, cb));
  }
  return x;
}

/* A row of per-pixel chroma (u[x], v[x]) and luma at py[x] (yo < 0) or at
 * py[2x + yo] (YUY2: 0, UYVY: 1). Returns the pixels done, as above. */
static int interpolated_row_sse2(const yuv_coeffs *c, int channels, const uint8_t *py, int yo,
                                 const uint8_t *u, const uint8_t *v, int width, uint8_t *d) {
  const __m128i low_bytes = _mm_set1_epi16(0x00ff);
  int x = 0;
  for (; x + 16 <= width; x += 16, d += 16 * channels) {
    __m128i luma;
    if (yo < 0) {
      luma = _mm_loadu_si128((const __m128i *)(py + x));
    } else {
      __m128i a = _mm_loadu_si128((const __m128i *)(py + 2 * x));
      __m128i b = _mm_loadu_si128((const __m128i *)(py + 2 * x + 16));
      luma = yo == 0 ? _mm_packus_epi16(_mm_and_si128(a, low_bytes), _mm_and_si128(b, low_bytes))
                     : _mm_packus_epi16(_mm_srli_epi16(a, 8), _mm_srli_epi16(b, 8));
    }
    __m128i us = _mm_loadu_si128((const __m128i *)(u + x)), vs = _mm_loadu_si128((const __m128i *)(v + x));
    __m128i u_lo = words_lo(c, us), u_hi = words_hi(c, us), v_lo = words_lo(c, vs), v_hi = words_hi(c, vs);
    yuv_put16(c, d, channels, luma, _mm_mulhi_epi16(v_lo, c->rv), _mm_mulhi_epi16(v_hi, c->rv),
              _mm_add_epi16(_mm_mulhi_epi16(u_lo, c->gu), _mm_mulhi_epi16(v_lo, c->gv)),
              _mm_add_epi16(_mm_mulhi_epi16(u_hi, c->gu), _mm_mulhi_epi16(v_hi, c->gv)),
              _mm_mulhi_epi16(u_lo, c->bu), _mm_mulhi_epi16(u_hi, c->bu));
  }
  return x;
}
#endif

/* I420 / YV12 of progressive caps: videoconvert's fast path takes the
 * nearest chroma sample. */
static void planar_rows(const zbc_source *s, const yuv_tables *t, int channels, uint8_t *dst,
                        size_t dst_stride) {
  int u_plane = s->format == ZBC_YV12 ? 2 : 1, v_plane = 3 - u_plane;
  for (int y = 0; y < s->height; y++) {
    const uint8_t *py = s->plane[0] + (size_t)y * s->stride[0];
    const uint8_t *pu = s->plane[u_plane] + (size_t)(y >> 1) * s->stride[u_plane];
    const uint8_t *pv = s->plane[v_plane] + (size_t)(y >> 1) * s->stride[v_plane];
    uint8_t *d = dst + (size_t)y * dst_stride;
    int x = 0;
#if ZBC_HAVE_SSE2
    if (t->simd) {
      yuv_coeffs c = yuv_coeffs_of(t);
      x = planar_row_sse2(&c, channels, py, pu, pv, s->width, d);
      d += (size_t)x * channels;
    }
#endif
    for (; x + 1 < s->width; x += 2, d += 2 * channels) {
      uint8_t u = pu[x >> 1], v = pv[x >> 1];
      int cr = t->rv[v], cg = t->gu[u] + t->gv[v], cb = t->bu[u];
      yuv_put(t, d, channels, py[x], cr, cg, cb);
      yuv_put(t, d + channels, channels, py[x + 1], cr, cg, cb);
    }
    if (x < s->width) {
      uint8_t u = pu[x >> 1], v = pv[x >> 1];
      yuv_put(t, d, channels, py[x], t->rv[v], t->gu[u] + t->gv[v], t->bu[u]);
    }
  }
}

#if ZBC_HAVE_SSE2
/* Samples k to k + 7 of channels 0 and 1 as words, channel c's sample k
 * at p[c][k * step]: I420/YV12 (step 1: planes of their own), NV12/NV21
 * (step 2) or YUY2/UYVY (step 4), where channel c sits o[c] bytes into its
 * pair or four, loaded together from the row's start and shifted apart. */
static inline void chroma_samples8(const uint8_t *const p[2], int step, const int o[2], int k, __m128i out[2]) {
  const __m128i low_byte = step == 2 ? _mm_set1_epi16(0x00ff) : _mm_set1_epi32(0xff);
  if (step == 1) {
    for (int c = 0; c < 2; c++)
      out[c] = _mm_unpacklo_epi8(_mm_loadl_epi64((const __m128i *)(p[c] + k)), _mm_setzero_si128());
  } else if (step == 2) {
    __m128i a = _mm_loadu_si128((const __m128i *)(p[0] - o[0] + 2 * k));
    for (int c = 0; c < 2; c++) out[c] = _mm_and_si128(_mm_srl_epi16(a, _mm_cvtsi32_si128(8 * o[c])), low_byte);
  } else {
    const uint8_t *row = p[0] - o[0];
    __m128i a = _mm_loadu_si128((const __m128i *)(row + 4 * k)), b = _mm_loadu_si128((const __m128i *)(row + 4 * k + 16));
    for (int c = 0; c < 2; c++) {
      __m128i shift = _mm_cvtsi32_si128(8 * o[c]);
      out[c] = _mm_packs_epi32(_mm_and_si128(_mm_srl_epi32(a, shift), low_byte),
                               _mm_and_si128(_mm_srl_epi32(b, shift), low_byte));
    }
  }
}

/* chroma_row's upsampling, 8 samples of each channel per step (as
 * chroma_samples8 finds them): cosited, pixel 2k is s_k and 2k + 1 the
 * average of s_k and s_k+1; centred, pixels 2k + 1 and 2k + 2 their 3:1 and
 * 1:3 blends, and pixel 0 is s_0. Returns the samples done (a multiple of
 * 8): the pixels up to 2k (cosited: 2k - 1) are final. */
static int chroma_sse2(const uint8_t *const p[2], int step, const int o[2], uint8_t *const q[2], int cosited, int w) {
  const __m128i two = _mm_set1_epi16(2);
  int k = 0;
  if (!cosited) q[0][0] = p[0][0], q[1][0] = p[1][0];
  /* reads bytes below step * (k + 9) <= the row's, writes pixels below 2k + 17 */
  for (; 2 * k + 18 <= w; k += 8) {
    __m128i sa[2], sb[2]; /* s_k .. s_k+7 and s_k+1 .. s_k+8 */
    chroma_samples8(p, step, o, k, sa);
    chroma_samples8(p, step, o, k + 1, sb);
    for (int c = 0; c < 2; c++) {
      __m128i even, odd; /* words whose low byte goes first */
      if (cosited) {
        even = sa[c], odd = _mm_avg_epu16(sa[c], sb[c]); /* (a + b + 1) >> 1 */
        _mm_storeu_si128((__m128i *)(q[c] + 2 * k), _mm_or_si128(even, _mm_slli_epi16(odd, 8)));
      } else {
        __m128i sum = _mm_add_epi16(_mm_add_epi16(sa[c], sb[c]), two);
        even = _mm_srli_epi16(_mm_add_epi16(sum, _mm_add_epi16(sa[c], sa[c])), 2); /* 3a + b + 2 */
        odd = _mm_srli_epi16(_mm_add_epi16(sum, _mm_add_epi16(sb[c], sb[c])), 2);  /* a + 3b + 2 */
        _mm_storeu_si128((__m128i *)(q[c] + 2 * k + 1), _mm_or_si128(even, _mm_slli_epi16(odd, 8)));
      }
    }
  }
  return k;
}
#endif

/* Chroma of one row of samples, one sample per pixel: row `row` of the
 * chroma planes (I420/YV12/NV12/NV21) or of the frame (YUY2/UYVY), the
 * nearest sample, then video-chroma.c's 2× horizontal upsampling (cosited:
 * odd pixels average their neighbours; centred: 3:1 and 1:3 blends of the
 * two nearest). */
static void chroma_row(const zbc_source *s, int row, uint8_t *u, uint8_t *v) {
  int w = s->width;
  const uint8_t *p[2]; /* channel c (U, V)'s sample k at p[c][k * step] */
  int o[2] = {0, 0};   /* NV12/NV21, YUY2/UYVY: the bytes p[c] is into its pair or four */
  int step;
  switch (s->format) {
    case ZBC_I420:
    case ZBC_YV12:
      for (int c = 0; c < 2; c++) {
        int plane = (s->format == ZBC_YV12) == (c == 0) ? 2 : 1;
        p[c] = s->plane[plane] + (size_t)row * s->stride[plane];
      }
      step = 1;
      break;
    case ZBC_NV12:
    case ZBC_NV21:
      o[0] = s->format == ZBC_NV12 ? 0 : 1;
      o[1] = 1 - o[0];
      step = 2;
      break;
    default: /* YUY2, UYVY */
      o[0] = s->format == ZBC_YUY2 ? 1 : 0;
      o[1] = o[0] + 2;
      step = 4;
      break;
  }
  if (step > 1) {
    const uint8_t *line = step == 2 ? s->plane[1] + (size_t)row * s->stride[1] : s->plane[0] + (size_t)row * s->stride[0];
    p[0] = line + o[0], p[1] = line + o[1];
  }
  int k0 = 0; /* samples before k0 are upsampled already */
#if ZBC_HAVE_SSE2
  if (simd_on) {
    uint8_t *const q[2] = {u, v};
    k0 = chroma_sse2(p, step, o, q, s->h_cosited, w);
  }
#endif
  /* from k0 on: pixel 2 * k0 holds its final value when centred (0: s0) */
  for (int x = 2 * k0 + (k0 > 0 && !s->h_cosited); x < w; x++) {
    u[x] = p[0][(x >> 1) * step];
    v[x] = p[1][(x >> 1) * step];
  }
  for (int c = 0; c < 2; c++) {
    uint8_t *q = c == 0 ? u : v;
    if (s->h_cosited) {
      for (int i = 2 * k0 + 1; i < w - 1; i += 2) q[i] = (uint8_t)((q[i - 1] + q[i + 1] + 1) >> 1);
    } else {
      int t1 = p[c][k0 * step]; /* sample k0 as stored */
      for (int i = 2 * k0 + 1; i < w - 1; i += 2) {
        int t0 = t1;
        t1 = q[i + 1];
        q[i] = (uint8_t)((3 * t0 + t1 + 2) >> 2);
        q[i + 1] = (uint8_t)((t0 + 3 * t1 + 2) >> 2);
      }
    }
  }
}

/* The chroma row of 4:2:0 luma row y, which GStreamer clamps into the
 * frame: of an interlaced frame, its field's ((y / 4) * 2 + y % 2). */
static int chroma_row_of(const zbc_source *s, int y) {
  y = y < 0 ? 0 : y >= s->height ? s->height - 1 : y;
  return s->interlaced_frame ? ((y >> 2) << 1) | (y & 1) : y >> 1;
}

/* The two chroma rows luma row y blends, and the weight of the first in
 * eighths: video-chroma.c's vertical 2× upsampling of centred 4:2:0 chroma,
 * which takes the unpacked rows (clamped into the frame) in groups. Of a
 * progressive frame, pairs (-1, 0), (1, 2), ...: the first row of a pair
 * 3:1, the second 1:3 (6 and 2 eighths). Of an interlaced frame, fours
 * (-2 .. 1), (2 .. 5), ... whose rows 0 and 2 (one field) blend the chroma
 * rows of rows 0 and 2 by 5:3 and 1:7, rows 1 and 3 (the other) those of
 * rows 1 and 3 by 7:1 and 3:5. */
static void vertical_blend(const zbc_source *s, int y, int *a, int *b, int *weight) {
  if (s->interlaced_frame) {
    static const int W[4] = {5, 7, 1, 3};
    int i = (y + 2) & 3, first = y - i + (i & 1); /* group row 0 or 1 */
    *a = chroma_row_of(s, first), *b = chroma_row_of(s, first + 2), *weight = W[i];
  } else {
    int first = (y & 1) ? y : y - 1;
    *a = chroma_row_of(s, first), *b = chroma_row_of(s, first + 1), *weight = (y & 1) ? 6 : 2;
  }
}

/* videoconvert's generic path: NV12 / NV21 / YUY2 / UYVY, and I420 / YV12
 * of interlaced caps. 4:2:0 chroma is blended vertically (vertical_blend)
 * unless it is cosited vertically, when each row takes its own chroma row
 * (the nearest); rows outside the frame repeat the edge. */
static int interpolated_rows(const zbc_source *s, const yuv_tables *t, int channels, uint8_t *dst,
                             size_t dst_stride) {
  int w = s->width, h = s->height;
  int is420 = zbc_planes(s->format) > 1, vertical = is420 && !s->v_cosited;
  /* upsampled chroma rows: row r's in slot r % 4 (the rows one luma row needs, and the
   * next ones, are apart by less than 4), then the blend of two */
  uint8_t *buf = malloc((size_t)w * 10);
  if (buf == NULL) return -1;
  uint8_t *cu[4], *cv[4], *uo = buf + 8 * (size_t)w, *vo = buf + 9 * (size_t)w;
  int have[4] = {-1, -1, -1, -1};
  for (int i = 0; i < 4; i++) cu[i] = buf + 2 * (size_t)i * w, cv[i] = cu[i] + w;
  int yo = s->format == ZBC_YUY2 ? 0 : s->format == ZBC_UYVY ? 1 : -1;
  for (int y = 0; y < h; y++) {
    const uint8_t *py = s->plane[0] + (size_t)y * s->stride[0];
    const uint8_t *u, *v;
    int a = is420 ? chroma_row_of(s, y) : y, b = a, weight = 8;
    if (vertical) vertical_blend(s, y, &a, &b, &weight);
    if (have[a & 3] != a) chroma_row(s, a, cu[a & 3], cv[a & 3]), have[a & 3] = a;
    if (have[b & 3] != b) chroma_row(s, b, cu[b & 3], cv[b & 3]), have[b & 3] = b;
    if (a == b) {
      u = cu[a & 3], v = cv[a & 3];
    } else {
      const uint8_t *ua = cu[a & 3], *va = cv[a & 3], *ub = cu[b & 3], *vb = cv[b & 3];
      int wb = 8 - weight;
      for (int x = 0; x < w; x++) {
        uo[x] = (uint8_t)((weight * ua[x] + wb * ub[x] + 4) >> 3);
        vo[x] = (uint8_t)((weight * va[x] + wb * vb[x] + 4) >> 3);
      }
      u = uo, v = vo;
    }
    uint8_t *d = dst + (size_t)y * dst_stride;
    int x = 0;
#if ZBC_HAVE_SSE2
    if (t->simd) {
      yuv_coeffs c = yuv_coeffs_of(t);
      x = interpolated_row_sse2(&c, channels, py, yo, u, v, w, d);
      d += (size_t)x * channels;
    }
#endif
    for (; x < w; x++, d += channels) {
      uint8_t Y = yo < 0 ? py[x] : py[2 * x + yo];
      yuv_put(t, d, channels, Y, t->rv[v[x]], t->gu[u[x]] + t->gv[v[x]], t->bu[u[x]]);
    }
  }
  free(buf);
  return 0;
}

/* Gray from YUV: the luma samples as stored (what OpenCV's YUV2GRAY gives). */
static void luma_rows(const zbc_source *s, uint8_t *dst, size_t dst_stride) {
  int step = (s->format == ZBC_YUY2 || s->format == ZBC_UYVY) ? 2 : 1;
  int off = s->format == ZBC_UYVY ? 1 : 0;
  for (int y = 0; y < s->height; y++) {
    const uint8_t *p = s->plane[0] + (size_t)y * s->stride[0] + off;
    uint8_t *d = dst + (size_t)y * dst_stride;
    if (step == 1) {
      memcpy(d, p, (size_t)s->width);
    } else {
      for (int x = 0; x < s->width; x++) d[x] = p[2 * x];
    }
  }
}

int zbc_convert(const zbc_source *s, int channels, uint8_t *dst, size_t dst_stride) {
  rgb_layout l;
  if (channels != 1 && channels != 3 && channels != 4) return -1;
  if (rgb_layout_of(s->format, &l)) {
    rgb_rows(s, l, channels, dst, dst_stride);
    return 0;
  }
  switch (s->format) {
    case ZBC_GRAY8:
    case ZBC_GRAY16_LE:
    case ZBC_GRAY16_BE: {
      yuv_tables t;
      if (channels == 1 || s->full_range) {
        gray_rows(s, NULL, channels, dst, dst_stride);
        return 0;
      }
      if (yuv_tables_init(&t, s) != 0) return -2;
      gray_rows(s, &t, channels, dst, dst_stride);
      return 0;
    }
    case ZBC_I420:
    case ZBC_YV12:
    case ZBC_NV12:
    case ZBC_NV21:
    case ZBC_YUY2:
    case ZBC_UYVY:
      break;
    default:
      return -1;
  }
  if (channels == 1) {
    luma_rows(s, dst, dst_stride);
    return 0;
  }
  yuv_tables t;
  if (yuv_tables_init(&t, s) != 0) return -2;
  if ((s->format == ZBC_I420 || s->format == ZBC_YV12) && !s->interlaced_caps && !s->interlaced_frame) {
    if (channels == 3) planar_rows(s, &t, 3, dst, dst_stride);
    else planar_rows(s, &t, 4, dst, dst_stride);
    return 0;
  }
  return channels == 3 ? interpolated_rows(s, &t, 3, dst, dst_stride)
                       : interpolated_rows(s, &t, 4, dst, dst_stride);
}

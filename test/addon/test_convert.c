/* test_convert.c — the addon's pixel conversion (native/addon/convert.c) on
 * planes and destinations allocated to exactly the bytes it may touch, every
 * format, odd and tiny sizes, all three outputs: the sanitizer build catches
 * a byte read or written past them. A few known pixels besides; the values
 * themselves are checked against videoconvert in test/node/convert.test.ts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"

static int failures;

#define CHECK(cond)                                                      \
  do {                                                                   \
    if (!(cond)) {                                                       \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                        \
    }                                                                    \
  } while (0)

static const char *const FORMATS[] = {"RGB",  "BGR",  "RGBA", "BGRA", "RGBx", "BGRx", "xRGB",
                                      "xBGR", "ARGB", "ABGR", "GRAY8", "GRAY16_LE", "GRAY16_BE",
                                      "I420", "YV12", "NV12", "NV21", "YUY2", "UYVY"};

/* Converts a frame of random bytes whose planes are separate allocations of
 * exactly rows × row_bytes (stride = row_bytes); interlaced: a frame of
 * interlaced caps whose 4:2:0 chroma rows belong to fields. */
static void convert_tight(const char *name, int w, int h, int channels, int cosited, int interlaced) {
  zbc_source s;
  uint8_t *planes[3] = {NULL, NULL, NULL};
  uint8_t *dst;
  int i, n;

  memset(&s, 0, sizeof s);
  s.format = zbc_format_from_name(name);
  CHECK(s.format != ZBC_UNKNOWN);
  s.width = w;
  s.height = h;
  s.kr = 0.2126;
  s.kb = 0.0722;
  s.h_cosited = cosited;
  s.v_cosited = cosited > 1;
  s.interlaced_caps = s.interlaced_frame = interlaced;
  n = zbc_planes(s.format);
  for (i = 0; i < n; i++) {
    size_t row = zbc_plane_row_bytes(s.format, i, w), rows = zbc_plane_rows(s.format, i, h, interlaced), k;
    planes[i] = malloc(row * rows);
    for (k = 0; k < row * rows; k++) planes[i][k] = (uint8_t)(rand() & 0xff);
    s.plane[i] = planes[i];
    s.stride[i] = row;
  }
  dst = malloc((size_t)w * (size_t)h * (size_t)channels);
  CHECK(zbc_convert(&s, channels, dst, (size_t)w * (size_t)channels) == 0);
  free(dst);
  for (i = 0; i < n; i++) free(planes[i]);
}

static void known_pixels(void) {
  /* I420 2x2 of mid-grey: 128 everywhere */
  uint8_t y[4] = {128, 128, 128, 128}, u = 128, v = 128, rgb[12], gray[4];
  uint8_t bgrx[8] = {1, 2, 3, 99, 4, 5, 6, 99}, rgba[12];
  uint8_t g16[4] = {0x12, 0x34, 0xff, 0xff}; /* BE: 0x1234, 0xffff */
  uint8_t g8[3] = {16, 21, 235};
  zbc_source s;
  int i;

  memset(&s, 0, sizeof s);
  s.format = ZBC_I420;
  s.width = s.height = 2;
  s.plane[0] = y, s.plane[1] = &u, s.plane[2] = &v;
  s.stride[0] = 2, s.stride[1] = s.stride[2] = 1;
  s.kr = 0.299, s.kb = 0.114;
  CHECK(zbc_convert(&s, 3, rgb, 6) == 0);
  for (i = 0; i < 12; i++) CHECK(rgb[i] == 128);
  CHECK(zbc_convert(&s, 1, gray, 2) == 0);
  for (i = 0; i < 4; i++) CHECK(gray[i] == 128);

  memset(&s, 0, sizeof s);
  s.format = ZBC_BGRX;
  s.width = 2, s.height = 1;
  s.plane[0] = bgrx, s.stride[0] = 8;
  CHECK(zbc_convert(&s, 4, rgba, 8) == 0);
  CHECK(rgba[0] == 3 && rgba[1] == 2 && rgba[2] == 1 && rgba[3] == 255);
  CHECK(rgba[4] == 6 && rgba[5] == 5 && rgba[6] == 4 && rgba[7] == 255);

  s.format = ZBC_GRAY16_BE;
  s.plane[0] = g16, s.stride[0] = 4;
  CHECK(zbc_convert(&s, 1, gray, 2) == 0);
  CHECK(gray[0] == 18 && gray[1] == 255); /* round(0x1234 / 257) = 18 */
  /* limited range: gray stays, RGB is stretched */
  s.kr = 0.299, s.kb = 0.114, s.full_range = 0;
  CHECK(zbc_convert(&s, 3, rgb, 6) == 0);
  CHECK(rgb[0] == 3 && rgb[2] == 3 && rgb[3] == 255); /* round((0x1234 - 4096) × 255 / 56064) = 3 */
  s.full_range = 1;
  CHECK(zbc_convert(&s, 3, rgb, 6) == 0);
  CHECK(rgb[0] == 18 && rgb[3] == 255);
  s.format = ZBC_GRAY8, s.full_range = 0, s.width = 3;
  s.plane[0] = g8, s.stride[0] = 3;
  CHECK(zbc_convert(&s, 1, gray, 3) == 0);
  CHECK(gray[0] == 16 && gray[1] == 21 && gray[2] == 235);
  CHECK(zbc_convert(&s, 4, rgba, 12) == 0); /* videoconvert's 8-bit kernel: 0, 4, 253 */
  CHECK(rgba[0] == 0 && rgba[4] == 4 && rgba[5] == 4 && rgba[8] == 253 && rgba[11] == 255);

  /* so little green (1 - kr - kb) that the products overflow: refused, scalar or SIMD */
  s.format = ZBC_I420, s.width = 2;
  s.plane[0] = y, s.plane[1] = &u, s.plane[2] = &v;
  s.stride[0] = 2, s.stride[1] = s.stride[2] = 1;
  s.kr = 0.5, s.kb = 0.4999;
  CHECK(zbc_convert(&s, 3, rgb, 6) == -2);
  zbc_set_simd(0);
  CHECK(zbc_convert(&s, 4, rgb, 8) == -2);
  zbc_set_simd(1);
  s.kb = 0.49999999;
  CHECK(zbc_convert(&s, 3, rgb, 6) == -2);
  CHECK(zbc_convert(&s, 1, gray, 2) == 0); /* gray is the luma as stored */

  CHECK(zbc_format_from_name("P010_10LE") == ZBC_UNKNOWN);
  CHECK(zbc_convert(&s, 2, gray, 2) == -1);
}

/* Fills `src` with a frame of `format` whose pixel (x, y) has luma
 * 4 * frame + j (j: its place among its chroma sample's four), shifted per
 * chroma sample, and whose chroma sample (cx, cy) is U = 37 cx + cy,
 * V = 67 cx + 2 cy (mod 256): one to one (the determinant, 7, is odd), so the
 * first 256 chroma columns and rows hold every (U, V) pair once, and
 * neighbouring samples differ in both planes (a wrong blend shows). */
static void sweep_frame(zbc_source *s, uint8_t *src, int w, int h, int frame) {
  int cw = (w + 1) / 2, ch = (h + 1) / 2, x, y;
  uint8_t *luma = src, *c1 = src + (size_t)w * h, *c2 = c1 + (size_t)cw * ch;
#define LUMA(x, y) (uint8_t)(4 * frame + ((x) & 1) + 2 * ((y) & 1) + 37 * ((x) >> 1) + 11 * ((y) >> 1))
#define U(cx, cy) (uint8_t)(37 * (cx) + (cy))
#define V(cx, cy) (uint8_t)(67 * (cx) + 2 * (cy))
  s->width = w, s->height = h;
  switch (s->format) {
    case ZBC_I420:
    case ZBC_YV12:
    case ZBC_NV12:
    case ZBC_NV21:
      for (y = 0; y < h; y++)
        for (x = 0; x < w; x++) luma[y * w + x] = LUMA(x, y);
      s->plane[0] = luma, s->stride[0] = (size_t)w;
      if (s->format == ZBC_I420 || s->format == ZBC_YV12) {
        for (y = 0; y < ch; y++)
          for (x = 0; x < cw; x++) c1[y * cw + x] = U(x, y), c2[y * cw + x] = V(x, y);
        s->plane[1] = c1, s->plane[2] = c2, s->stride[1] = s->stride[2] = (size_t)cw;
      } else { /* U then V (NV21: V then U, the same bytes) */
        for (y = 0; y < ch; y++)
          for (x = 0; x < cw; x++) c1[y * 2 * cw + 2 * x] = U(x, y), c1[y * 2 * cw + 2 * x + 1] = V(x, y);
        s->plane[1] = c1, s->stride[1] = 2 * (size_t)cw;
      }
      break;
    default: { /* YUY2: Y0 U Y1 V; UYVY: U Y0 V Y1 */
      int yo = s->format == ZBC_YUY2 ? 0 : 1;
      for (y = 0; y < h; y++)
        for (x = 0; x < cw; x++) {
          uint8_t *q = luma + (size_t)y * 4 * cw + 4 * x;
          q[yo] = LUMA(2 * x, y), q[yo + 2] = LUMA(2 * x + 1, y);
          q[1 - yo] = U(x, y >> 1), q[3 - yo] = V(x, y >> 1);
        }
      s->plane[0] = luma, s->stride[0] = 4 * (size_t)cw;
      break;
    }
  }
#undef LUMA
#undef U
#undef V
}

/* YUV → RGB/RGBA: the SIMD rows (zbc_set_simd(1)) give the scalar rows'
 * bytes. The sums are separable (Y + R(V), Y + G(U) + G(V), Y + B(U)), so
 * every (Y, U, V) triple is every case: for I420/YV12 a 527 × 512 frame (odd:
 * the rows end in scalar tails) holds each (U, V) pair once among its first
 * 256 chroma columns, and over 64 I420 frames each pair's four pixels take
 * all 256 Y. YV12 and the upsampled formats share that arithmetic and differ
 * in where the rows load from: 16 frames each, every chroma siting, frames
 * of interlaced caps (I420/YV12 upsampled too) progressive and interlaced. */
static void simd_matches_scalar(void) {
  static const struct { double kr, kb; } matrices[] = {
      {0.299, 0.114}, {0.2126, 0.0722}, {0.2627, 0.0593}, /* BT.601, 709, 2020 */
      {0.4, 0.4}, /* little green: sums up to about ±850, still within the clamp table */
  };
  static const char *const formats[] = {"I420", "YV12", "NV12", "NV21", "YUY2", "UYVY"};
  enum { W = 527, H = 512 };
  uint8_t *src = malloc((size_t)4 * ((W + 1) / 2) * H); /* YUY2's, the largest */
  uint8_t *simd = malloc((size_t)W * H * 4), *scalar = malloc((size_t)W * H * 4);
  size_t m, f;
  int range, channels, frame, differ = 0;

  if (!zbc_set_simd(1)) printf("convert: this build has no SIMD rows; comparing the scalar rows with themselves\n");
  for (f = 0; f < sizeof formats / sizeof formats[0]; f++)
    for (m = 0; m < sizeof matrices / sizeof matrices[0]; m++)
      for (range = 0; range < 2; range++)
        for (channels = 3; channels <= 4; channels++)
          for (frame = 0; frame < (f == 0 ? 64 : 16); frame++) {
            zbc_source s;
            size_t n = (size_t)W * H * (size_t)channels;
            memset(&s, 0, sizeof s);
            s.format = zbc_format_from_name(formats[f]);
            sweep_frame(&s, src, W, H, frame);
            s.kr = matrices[m].kr, s.kb = matrices[m].kb, s.full_range = range;
            s.h_cosited = frame & 1, s.v_cosited = frame >> 1 & 1;
            if (f > 0) /* I420's 64 frames sweep Y through the fast path */
              s.interlaced_caps = frame >> 2 & 1, s.interlaced_frame = frame >> 3 & 1;
            memset(simd, 0x55, n), memset(scalar, 0xaa, n);
            zbc_set_simd(1);
            CHECK(zbc_convert(&s, channels, simd, (size_t)W * channels) == 0);
            zbc_set_simd(0);
            CHECK(zbc_convert(&s, channels, scalar, (size_t)W * channels) == 0);
            if (memcmp(simd, scalar, n) != 0 && differ++ < 5) {
              size_t i = 0;
              while (simd[i] == scalar[i]) i++;
              fprintf(stderr, "%s kr %g kb %g range %d, %d channels, frame %d: byte %zu (pixel %zu, %zu) is %d, scalar %d\n",
                      formats[f], matrices[m].kr, matrices[m].kb, range, channels, frame, i,
                      i / channels % W, i / channels / W, simd[i], scalar[i]);
            }
          }
  CHECK(differ == 0);
  zbc_set_simd(1);
  free(src), free(simd), free(scalar);
}

/* Packed RGB → RGB/RGBA: the shuffled rows (SSSE3, zbc_set_simd(1)) give the
 * scalar rows' bytes, for every layout, on widths around each step's edge
 * (4 and 5 pixels a step, 6 left to take one) and rows that do not start on
 * 16 bytes; the tight frames in main() check that no step reads or writes
 * past its row's last pixel. */
static void packed_simd_matches_scalar(void) {
  enum { H = 3, MAXW = 67 };
  static const char *const formats[] = {"RGB", "BGR", "RGBA", "BGRA", "RGBx", "BGRx",
                                        "xRGB", "xBGR", "ARGB", "ABGR"};
  uint8_t src[1 + (MAXW * 4 + 1) * H], simd[MAXW * 4 * H], scalar[MAXW * 4 * H];
  size_t f, k;
  int w, channels, differ = 0;

  for (k = 0; k < sizeof src; k++) src[k] = (uint8_t)(rand() & 0xff);
  for (f = 0; f < sizeof formats / sizeof formats[0]; f++)
    for (w = 1; w <= MAXW; w++)
      for (channels = 3; channels <= 4; channels++) {
        zbc_source s;
        size_t n = (size_t)w * H * (size_t)channels;
        memset(&s, 0, sizeof s);
        s.format = zbc_format_from_name(formats[f]);
        s.width = w, s.height = H;
        s.stride[0] = zbc_plane_row_bytes(s.format, 0, w) + 1; /* rows start off 16 */
        s.plane[0] = src + 1;
        memset(simd, 0x55, n), memset(scalar, 0xaa, n);
        zbc_set_simd(1);
        CHECK(zbc_convert(&s, channels, simd, (size_t)w * channels) == 0);
        zbc_set_simd(0);
        CHECK(zbc_convert(&s, channels, scalar, (size_t)w * channels) == 0);
        if (memcmp(simd, scalar, n) != 0 && differ++ < 5) {
          size_t i = 0;
          while (simd[i] == scalar[i]) i++;
          fprintf(stderr, "%s width %d, %d channels: byte %zu is %d, scalar %d\n", formats[f], w, channels,
                  i, simd[i], scalar[i]);
        }
      }
  CHECK(differ == 0);
  zbc_set_simd(1);
}

int main(void) {
  static const int sizes[][2] = {{1, 1}, {2, 1}, {1, 2}, {3, 3}, {5, 1}, {6, 2}, {7, 1}, {5, 5}, {3, 6}, {67, 35}, {64, 48}};
  size_t f, k;
  int channels[3] = {1, 3, 4}, c, cosited, interlaced;

  srand(1);
  known_pixels();
  simd_matches_scalar();
  packed_simd_matches_scalar();
  for (f = 0; f < sizeof FORMATS / sizeof FORMATS[0]; f++)
    for (k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
      for (c = 0; c < 3; c++)
        for (cosited = 0; cosited < 3; cosited++)
          for (interlaced = 0; interlaced < 2; interlaced++)
            convert_tight(FORMATS[f], sizes[k][0], sizes[k][1], channels[c], cosited, interlaced);
  if (failures) {
    fprintf(stderr, "%d checks failed\n", failures);
    return 1;
  }
  printf("convert: all formats, sizes and outputs within their buffers; SIMD rows = scalar rows\n");
  return 0;
}

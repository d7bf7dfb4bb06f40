/* convert.h — raw video frames to packed RGB, RGBA or GRAY8, computed the
 * way GStreamer 1.22's videoconvert computes them (plain C, no Node-API).
 *
 * YUV → RGB reproduces videoconvert's integer arithmetic (the ORC kernels of
 * video-converter.c: 8.8 fixed-point coefficients, the offsets folded into
 * the 128 bias) and its chroma handling: I420/YV12 take the nearest chroma
 * sample (videoconvert's fast path, progressive caps only); NV12/NV21/YUY2/
 * UYVY, and I420/YV12 of interlaced caps, are upsampled linearly as
 * video-chroma.c does (its generic path), cosited or centred as the chroma
 * siting says; the 4:2:0 chroma rows of an interlaced frame belong to its
 * fields and are blended within them. Gray of limited range is stretched as
 * YUV luma is. Everything else is a byte shuffle or a scale. */
#ifndef ZEROBUFFER_ADDON_CONVERT_H
#define ZEROBUFFER_ADDON_CONVERT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum zbc_format {
  ZBC_UNKNOWN = 0,
  ZBC_RGB, ZBC_BGR, ZBC_RGBA, ZBC_BGRA, ZBC_RGBX, ZBC_BGRX,
  ZBC_XRGB, ZBC_XBGR, ZBC_ARGB, ZBC_ABGR,
  ZBC_GRAY8, ZBC_GRAY16_LE, ZBC_GRAY16_BE,
  ZBC_I420, ZBC_YV12, ZBC_NV12, ZBC_NV21, ZBC_YUY2, ZBC_UYVY,
} zbc_format;

typedef struct zbc_source {
  zbc_format format;
  int width, height;
  const uint8_t *plane[3]; /* Y, U, V (I420/YV12), Y, UV (NV12/NV21) or the one plane */
  size_t stride[3];
  /* YUV formats only */
  double kr, kb;  /* luma coefficients of the matrix (BT.601: 0.299, 0.114) */
  int h_cosited;  /* chroma samples sit on even columns (else between two) */
  int v_cosited;  /* chroma samples sit on even rows (else between two) */
  /* The caps' interlace-mode is not progressive: videoconvert then never
   * takes its I420/YV12 fast path, so their chroma is interpolated too. */
  int interlaced_caps;
  /* The frame's rows alternate between two fields (interleaved, or mixed
   * with the buffer's INTERLACED flag): 4:2:0 luma row y takes chroma row
   * (y / 4) * 2 + y % 2, and the chroma planes have an even number of rows. */
  int interlaced_frame;
  /* YUV and gray formats to RGB/RGBA */
  int full_range; /* 0: Y 16–235, chroma 16–240 (gray too, 16-bit: × 256); 1: 0–255 */
} zbc_source;

/* The format called NAME by GStreamer ("I420", "BGRx", ...), or ZBC_UNKNOWN. */
zbc_format zbc_format_from_name(const char *name);

/* Planes of the format (1, 2 or 3), and for plane i the rows it has at
 * `height` (of an interlaced frame: its chroma rows rounded up to even, as
 * GStreamer lays them out) and the fewest bytes one of its rows holds at
 * `width`. */
int zbc_planes(zbc_format format);
size_t zbc_plane_rows(zbc_format format, int plane, int height, int interlaced_frame);
size_t zbc_plane_row_bytes(zbc_format format, int plane, int width);

/* Writes width × height pixels of `channels` bytes (1 gray, 3 RGB, 4 RGBA)
 * at dst, rows dst_stride apart. Gray from YUV is the luma as stored; from
 * RGB, BT.601 luma. Alpha is the source's, else 255. Returns 0; -1 for
 * an unknown format or channel count (the caller checked the sizes) or no
 * memory; -2 for YUV whose kr and kb leave so little green (1 - kr - kb)
 * that the matrix's products overflow the 16-bit arithmetic. */
int zbc_convert(const zbc_source *src, int channels, uint8_t *dst, size_t dst_stride);

/* Whether YUV → RGB/RGBA may take the SIMD rows this build has (SSE2 on
 * x86-64; on by default) or only the scalar ones, which give the same bytes.
 * For the test that proves they do (test/addon/test_convert.c); not safe
 * while another thread converts. Returns 1 if this build has SIMD rows. */
int zbc_set_simd(int on);

#ifdef __cplusplus
}
#endif

#endif

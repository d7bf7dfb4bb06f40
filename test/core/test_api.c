/* test_api.c — single-process behaviour of the core: placement, held
 * frames, end of stream, and every bad input with its error code. */
#include <stdlib.h>

#include "zb_test.h"

static void fill(uint8_t *p, uint64_t size, uint64_t seq) {
  uint64_t i;
  for (i = 0; i < size; i++)
    p[i] = (uint8_t)((i * 31 + seq * 7) & 0xFF);
}

static int frame_ok(const zb_frame *f, uint64_t size, uint64_t seq) {
  uint64_t i;
  if (f->size != size || f->sequence != seq)
    return 0;
  for (i = 0; i < size; i++)
    if (f->data[i] != (uint8_t)((i * 31 + seq * 7) & 0xFF))
      return 0;
  return 1;
}

static void test_round_trip(void) {
  const char *name = zb_test_name("rt");
  zb_reader *r;
  zb_writer *w;
  zb_frame f;
  uint8_t buf[300];
  const uint8_t *meta;
  uint64_t meta_size, seq;

  CHECK_RC(zb_reader_create(&r, name, 256, 1024, NULL), 0);
  CHECK_RC(zb_writer_connect(&w, name), 0);
  CHECK_RC(zb_writer_set_metadata(w, "{\"caps\":\"x\"}", 12), 0);
  CHECK_RC(zb_reader_metadata(r, &meta, &meta_size), 0);
  CHECK_EQ_U64(meta_size, 12);
  for (seq = 1; seq <= 50; seq++) {
    uint64_t size = 1 + (seq * 37) % 300;
    fill(buf, size, seq);
    CHECK_RC(zb_writer_write(w, buf, size, 1000), 0);
    CHECK_RC(zb_reader_next(r, &f, 1000), 0);
    CHECK(frame_ok(&f, size, seq));
    CHECK_RC(zb_reader_release(r, &f), 0);
  }
  zb_writer_destroy(w);
  CHECK_RC(zb_reader_next(r, &f, 1000), ZB_EOF);
  zb_reader_destroy(r);
  CHECK(zb_test_ring_gone(name));
}

int main(void) {
  RUN(test_round_trip);
  return zb_test_finish("core-api");
}

/* Built against an installed zerobuffer.pc: one frame through ring argv[1]. */
#include <stdio.h>
#include <zerobuffer.h>
int main(int argc, char **argv) {
  zb_reader *r; zb_writer *w; zb_frame f;
  if (argc != 2 || zb_reader_create(&r, argv[1], 4096, 4096, NULL) < 0 || zb_writer_connect(&w, argv[1]) < 0 ||
      zb_writer_write(w, "hello", 5, 1000) < 0 || zb_reader_next(r, &f, 1000) < 0) return fprintf(stderr, "%s\n", zb_last_error()), 1;
  printf("%s %s %.*s #%llu\n", ZEROBUFFER_VERSION_STRING, zb_version_string(), (int)f.size, (const char *)f.data, (unsigned long long)f.sequence);
  zb_frame_release(&f); zb_writer_destroy(w); zb_reader_destroy(r);
  return ZEROBUFFER_CHECK_VERSION(0, 1, 0) && zb_version() == ZEROBUFFER_VERSION_HEX ? 0 : 1;
}

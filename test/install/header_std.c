/* zerobuffer.h in a strict compile (test/install/header_std.sh), as C and as
 * C++: the header, its types and its macros expanded. */
#include <zerobuffer.h>

/* A switch over every error code, as a user generates it from the map, has
 * no member left over (-Wswitch). */
static int is_code(enum zb_errno e) {
  switch (e) {
#define ZB__CASE(name, value, text) case ZB_##name:
    ZB_ERRNO_MAP(ZB__CASE)
#undef ZB__CASE
    return 1;
  }
  return 0;
}

int main(void) {
  zb_frame frame;
  zb_health health;
  uint64_t sizes[3];
  int codes[4];
  frame.size = 0;
  health.reader_alive = false;
  sizes[0] = ZB_MAX_METADATA_SIZE;
  sizes[1] = ZB_DEFAULT_METADATA_SIZE;
  sizes[2] = ZB_MAX_PAYLOAD_SIZE;
  codes[0] = ZB_EOF;
  codes[1] = ZB_WAIT_FOREVER;
  codes[2] = ZB_DUPLEX_RESPONSE;
  codes[3] = ZEROBUFFER_VERSION_HEX;
  (void)frame;
  (void)health;
  (void)sizes;
  (void)codes;
  return ZEROBUFFER_CHECK_VERSION(0, 1, 0) && ZB_NAME_MAX > ZB_FRAME_HEADER_SIZE &&
                 is_code(ZB_EOF)
             ? 0
             : 1;
}

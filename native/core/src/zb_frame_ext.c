/* zb_frame_ext.c — the opt-in 48-byte per-frame header (docs/PROTOCOL.md
 * §9.1, "Per-frame header"): PTS, DTS, duration, commit time and buffer
 * flags, then the frame's attributes when it has some. */
#include <string.h>

#include "zb_error.h"
#include "zb_platform.h"

typedef struct zb_ext_wire {
  uint32_t magic;
  uint16_t header_size; /* readers skip this many bytes: it can grow */
  uint16_t version;
  uint64_t pts, dts, duration, commit_ns;
  uint32_t flags;
  uint32_t zb_flags; /* ours (ZB_EXT_IN_PLACE); 0 before it existed */
} zb_ext_wire;

_Static_assert(sizeof(zb_ext_wire) == ZB_EXT_HEADER_SIZE, "frame header is 48 bytes");
_Static_assert(offsetof(zb_ext_wire, pts) == 8 && offsetof(zb_ext_wire, commit_ns) == 32 &&
                   offsetof(zb_ext_wire, flags) == 40,
               "frame header layout");

uint64_t zb_now_ns(void) { return zb__now_ns(); }

void zb_frame_ext_write(void *dst, const zb_frame_ext *ext) {
  uint64_t attrs;
  if (dst == NULL || ext == NULL)
    return;
  attrs = ext->attrs != NULL ? ext->attrs_size : 0;
  zb_ext_wire h = {ZB_EXT_MAGIC, (uint16_t)(ZB_EXT_HEADER_SIZE + attrs), 1,
                   ext->pts, ext->dts, ext->duration,
                   ext->commit_ns != 0 ? ext->commit_ns : zb__now_ns(),
                   ext->flags, ext->zb_flags};
  memcpy(dst, &h, sizeof h);
  if (attrs > 0) memcpy((uint8_t *)dst + sizeof h, ext->attrs, (size_t)attrs);
}

int zb_frame_ext_parse(const uint8_t *payload, uint64_t size,
                       zb_frame_ext *ext) {
  zb_ext_wire h;
  if (payload == NULL || ext == NULL)
    return zb__fail(ZB_EINVAL, "zb_frame_ext_parse: arguments are required");
  if (size < ZB_EXT_HEADER_SIZE)
    return zb__fail(ZB_EPROTO,
                    "frame of %llu bytes is too short for the %d-byte frame "
                    "header the metadata declares",
                    (unsigned long long)size, ZB_EXT_HEADER_SIZE);
  memcpy(&h, payload, sizeof h);
  if (h.magic != ZB_EXT_MAGIC || h.header_size < ZB_EXT_HEADER_SIZE ||
      h.header_size > size)
    return zb__fail(ZB_EPROTO,
                    "frame header invalid (magic 0x%08x, header size %u, "
                    "frame %llu bytes): the writer does not send the frame "
                    "header its metadata declares",
                    h.magic, h.header_size, (unsigned long long)size);
  ext->pts = h.pts;
  ext->dts = h.dts;
  ext->duration = h.duration;
  ext->commit_ns = h.commit_ns;
  ext->flags = h.flags;
  ext->zb_flags = h.zb_flags;
  ext->data = payload + h.header_size;
  ext->size = size - h.header_size;
  ext->attrs = h.header_size > ZB_EXT_HEADER_SIZE ? payload + ZB_EXT_HEADER_SIZE : NULL;
  ext->attrs_size = h.header_size - ZB_EXT_HEADER_SIZE;
  return 0;
}

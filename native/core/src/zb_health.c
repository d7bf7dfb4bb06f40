/* zb_health.c — OIEB snapshots for monitoring, also of rings we do not own. */
#include "zb_error.h"
#include "zb_oieb.h"
#include "zb_platform.h"

int zb_health_read(const char *name, zb_health *health) {
  zb_names names;
  zb_segment seg;
  int rc;

  if (health == NULL)
    return zb__fail(ZB_EINVAL, "zb_health_read: health is NULL");
  rc = zb__names(name, &names);
  if (rc < 0)
    return rc;
  rc = zb__segment_open(&seg, name, &names, false);
  if (rc < 0)
    return rc;
  rc = zb__segment_health(&seg, name, health);
  zb__segment_close(&seg);
  return rc;
}

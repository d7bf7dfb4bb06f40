/* zb_health.c — OIEB snapshots for monitoring, also of rings we do not own,
 * and the utilisation bands. */
#include "zb_error.h"
#include "zb_oieb.h"
#include "zb_platform.h"

zb_band zb_band_of(double utilisation_percent) {
  if (utilisation_percent > ZB_BAND_CRITICAL_PERCENT)
    return ZB_BAND_CRITICAL;
  if (utilisation_percent >= ZB_BAND_DEGRADED_PERCENT)
    return ZB_BAND_DEGRADED;
  return ZB_BAND_HEALTHY;
}

const char *zb_band_name(zb_band band) {
  switch (band) {
  case ZB_BAND_HEALTHY:
    return "healthy";
  case ZB_BAND_DEGRADED:
    return "degraded";
  case ZB_BAND_CRITICAL:
    return "critical";
  }
  return "unknown";
}

int zb_health_read(const char *name, zb_health *health) {
  zb_names names;
  zb_segment seg;
  zb_unready unready;
  int rc;

  if (health == NULL)
    return zb__fail(ZB_EINVAL, "zb_health_read of ring \"%s\": health is "
                    "NULL", name != NULL ? name : "(null)");
  rc = zb__names(name, &names);
  if (rc < 0)
    return rc;
  rc = zb__segment_open(&seg, name, &names, false, &unready);
  if (rc == ZB_ENOENT) /* missing, or not ready: which one, as a writer is told */
    return zb__segment_unready(name, &names, &unready);
  if (rc < 0)
    return rc;
  rc = zb__segment_health(&seg, name, health, -1);
  zb__segment_close(&seg);
  return rc;
}

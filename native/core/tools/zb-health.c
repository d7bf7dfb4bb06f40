/* zb-health — prints the OIEB snapshot of a ring, owned by anyone.
 *
 *   zb-health NAME        (--help: the usage)
 *
 * Exit status: 0 when the ring exists and its reader is alive, 1 otherwise,
 * 2 on bad usage. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "zerobuffer.h"

int main(int argc, char **argv) {
  zb_health h;
  int rc;

  if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    printf("usage: zb-health NAME\n"
           "  the health of ring NAME (any user's): sizes, utilisation band, counts, pids;\n"
           "  exit 0 when its reader is alive, 1 otherwise, 2 on bad usage\n");
    return 0;
  }
  if (argc != 2) {
    fprintf(stderr, "usage: zb-health NAME\n");
    return 2;
  }
  rc = zb_health_read(argv[1], &h);
  if (rc < 0) {
    fprintf(stderr, "zb-health: %s (%s)\n", zb_last_error(), zb_err_name(rc));
    return 1;
  }
  printf("ring:        %s (protocol %u.%u.%u)\n", argv[1], h.version[0], h.version[1], h.version[2]);
  printf("metadata:    %" PRIu64 " of %" PRIu64 " bytes written\n", h.metadata_written_bytes, h.metadata_size);
  printf("payload:     %" PRIu64 " bytes, %" PRIu64 " free, %.1f%% used (%s)\n", h.payload_size,
         h.payload_free_bytes, h.utilisation_percent, zb_band_name(h.band));
  printf("positions:   write %" PRIu64 ", read %" PRIu64 "\n", h.write_pos, h.read_pos);
  printf("counts:      written %" PRIu64 ", read %" PRIu64 " (wrap markers included; small tails: writer only)\n",
         h.written_count, h.read_count);
  printf("backlog:     %" PRIu64 " unread, %" PRIu64 " read, not given back\n", h.frames_unread, h.frames_held);
  printf("reader:      pid %" PRIu64 " %s\n", h.reader_pid, h.reader_pid == 0 ? "(none)" : h.reader_alive ? "(alive)" : "(dead)");
  printf("writer:      pid %" PRIu64 " %s\n", h.writer_pid, h.writer_pid == 0 ? "(none)" : h.writer_alive ? "(alive)" : "(dead)");
  return h.reader_alive ? 0 : 1;
}

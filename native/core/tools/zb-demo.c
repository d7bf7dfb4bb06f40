/* zb-demo — moves video-sized frames from a writer process to a reader
 * process through a ring, checks every byte, prints what it measured.
 *
 *   zb-demo [--frames N] [--width W] [--height H] [--ring-frames K]
 *
 * The writer fills frames in place (zb_writer_reserve, zb_reservation_commit); the reader
 * checks them in place (zero copy on both sides). Exit status 0 when every
 * frame arrived intact and in order. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zerobuffer.h"

#define TIMEOUT_MS 5000

/* Word i of frame `sequence`: cheap to make and to check, and different for
 * every frame so a stale or misplaced frame cannot pass. */
static uint64_t pattern(uint64_t sequence, uint64_t i) {
  return (sequence * UINT64_C(0x9E3779B97F4A7C15)) ^ (i * UINT64_C(0xD6E8FEB86659FD93));
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(const char *what, int rc) {
  fprintf(stderr, "zb-demo: %s: %s (%s)\n", what, zb_last_error(), zb_err_name(rc));
  return 1;
}

/* A count option's value: decimal digits only (no sign, blank or trailing
 * text: strtoull alone takes "-1" as 2^64 - 1 and "10x" as 10), > 0, and
 * no larger than `max`. 0 when valid; else says why on stderr and returns 2,
 * the exit status of bad usage. */
static int parse_count(const char *option, const char *text, uint64_t max, uint64_t *out) {
  char *end;
  unsigned long long v;
  if (text[0] < '0' || text[0] > '9') {
    fprintf(stderr, "zb-demo: --%s '%s': not a whole number > 0\n", option, text);
    return 2;
  }
  errno = 0;
  v = strtoull(text, &end, 10);
  if (*end != '\0' || v == 0) {
    fprintf(stderr, "zb-demo: --%s '%s': not a whole number > 0\n", option, text);
    return 2;
  }
  if (errno == ERANGE || v > max) {
    fprintf(stderr, "zb-demo: --%s '%s': too large (at most %" PRIu64 ")\n", option, text, max);
    return 2;
  }
  *out = v;
  return 0;
}

static int run_writer(const char *name, uint64_t frames, uint64_t frame_size) {
  zb_writer *w;
  uint64_t seq, i;
  int rc;
  const char meta[] = "{\"type\":\"zb-demo\",\"caps\":\"video/x-raw, format=(string)RGB\"}";

  rc = zb_writer_connect(&w, name);
  if (rc < 0)
    return fail("connect", rc);
  if ((rc = zb_writer_set_metadata(w, meta, sizeof meta - 1)) < 0) {
    zb_writer_destroy(w);
    return fail("metadata", rc);
  }
  for (seq = 1; seq <= frames; seq++) {
    zb_reservation res;
    rc = zb_writer_reserve(w, frame_size, &res, TIMEOUT_MS);
    if (rc < 0) {
      zb_writer_destroy(w);
      return fail("reserve", rc);
    }
    for (i = 0; i < frame_size / 8; i++)
      memcpy(res.data + 8 * i, &(uint64_t){pattern(seq, i)}, 8);
    zb_reservation_commit(&res, frame_size);
  }
  zb_writer_destroy(w); /* clean detach: the reader sees end of stream */
  return 0;
}

int main(int argc, char **argv) {
  uint64_t frames = 600, width = 1920, height = 1080, ring_frames = 3;
  uint64_t frame_size, received = 0, bad = 0, i;
  static const struct option options[] = {
      {"frames", required_argument, NULL, 'n'},
      {"width", required_argument, NULL, 'w'},
      {"height", required_argument, NULL, 'h'},
      {"ring-frames", required_argument, NULL, 'k'},
      {"help", no_argument, NULL, 'H'},
      {NULL, 0, NULL, 0}};
  char name[64];
  zb_reader *reader;
  zb_frame frame;
  double start, elapsed;
  pid_t child;
  int opt, rc, status;

  while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
    /* 2^32 - 1 bounds each dimension, so that width * height cannot wrap;
     * the frame's and the ring's sizes are checked below. */
    switch (opt) {
    case 'n': rc = parse_count("frames", optarg, UINT64_MAX, &frames); break;
    case 'w': rc = parse_count("width", optarg, UINT32_MAX, &width); break;
    case 'h': rc = parse_count("height", optarg, UINT32_MAX, &height); break;
    case 'k': rc = parse_count("ring-frames", optarg, UINT64_MAX, &ring_frames); break;
    default: /* --help: the usage on stdout, exit 0; a bad option: on stderr, exit 2 */
      fprintf(opt == 'H' ? stdout : stderr,
              "usage: zb-demo [--frames N] [--width W] [--height H] [--ring-frames K]\n"
              "  RGB frames of W x H (default 1920x1080), N of them (600),\n"
              "  through a ring that holds K frames (3).\n");
      return opt == 'H' ? 0 : 2;
    }
    if (rc != 0)
      return rc;
  }
  if (optind < argc) {
    fprintf(stderr, "zb-demo: unexpected argument '%s'\n"
                    "usage: zb-demo [--frames N] [--width W] [--height H] [--ring-frames K]\n",
            argv[optind]);
    return 2;
  }
  /* width * height cannot wrap (each < 2^32); below 2^62 pixels the frame
   * size with its header cannot either, and the ring's size is checked. */
  if (width * height >= UINT64_C(1) << 62 ||
      ring_frames > UINT64_MAX / ((width * height * 3 + 7) / 8 * 8 + ZB_FRAME_HEADER_SIZE)) {
    fprintf(stderr, "zb-demo: a ring of %" PRIu64 " frames of %" PRIu64 "x%" PRIu64 " RGB is too large\n",
            ring_frames, width, height);
    return 2;
  }
  frame_size = (width * height * 3 + 7) / 8 * 8;
  snprintf(name, sizeof name, "zb-demo-%d", (int)getpid());
  rc = zb_reader_create(&reader, name, 4096, ring_frames * (frame_size + ZB_FRAME_HEADER_SIZE), NULL);
  if (rc < 0)
    return fail("create", rc);
  printf("ring %s: %" PRIu64 " frames of %" PRIu64 "x%" PRIu64 " RGB (%" PRIu64 " bytes), ring holds %" PRIu64 "\n",
         name, frames, width, height, frame_size, ring_frames);
  fflush(stdout);

  child = fork();
  if (child == 0)
    _exit(run_writer(name, frames, frame_size));

  start = now_s();
  for (;;) {
    rc = zb_reader_next(reader, &frame, TIMEOUT_MS);
    if (rc == ZB_EOF)
      break;
    if (rc < 0) {
      fail("next", rc);
      kill(child, SIGKILL);
      break;
    }
    received++;
    if (frame.sequence != received || frame.size != frame_size) {
      bad++;
    } else {
      const uint8_t *p = frame.data;
      for (i = 0; i < frame_size / 8; i++) {
        uint64_t word;
        memcpy(&word, p + i * 8, 8);
        if (word != pattern(frame.sequence, i)) {
          bad++;
          break;
        }
      }
    }
    zb_frame_release(&frame);
  }
  elapsed = now_s() - start;
  waitpid(child, &status, 0);
  zb_reader_destroy(reader);

  printf("received %" PRIu64 "/%" PRIu64 " frames, %.1f MB in %.3f s: %.0f frames/s, %.2f GB/s\n",
         received, frames, (double)(received * frame_size) / 1e6, elapsed,
         (double)received / elapsed, (double)(received * frame_size) / elapsed / 1e9);
  printf("content check: %s (%" PRIu64 " bad frames)\n", bad == 0 && received == frames ? "OK" : "FAILED", bad);
  return bad == 0 && received == frames && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

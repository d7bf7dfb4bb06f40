/* zb-duplex-server — a duplex server that behaves like the peers' (C++ /
 * Python) servers, for tests of zerofilter and the Node duplex client:
 *
 *   zb-duplex-server CHANNEL [--mode echo|invert|gray] [--delay-ms D]
 *                    [--die-after N] [--payload-size P] [--caps CAPS]
 *                    [--connect-timeout MS] [--timeout MS] [--announce 1]
 *                    [--in-place 1] [--hash 0] [--connect-delay MS]
 *                    [--connect-after-file PATH]
 *                    [--out-of-turn N] [--skip N] [--bad-header N]
 *                    [--short N] [--clobber-header N] [--mute-after N]
 *                    [--keep-requests 1] [--twice N]
 *
 * As the peers do (docs/DUPLEX.md): create CHANNEL_request (its reader),
 * print "ready CHANNEL" (stdout, flushed; with --announce 1 also the line
 * `> {"jsonrpc":"2.0","method":"start-duplex","params":["CHANNEL"]}` that
 * asks `zerobuffer watch` for a filter pipeline), then try to connect to
 * CHANNEL_response as its writer every ZB_DUPLEX_CONNECT_RETRY_MS until
 * --connect-timeout (default ZB_DUPLEX_PEER_CONNECT_TIMEOUT_MS, the C++
 * server's 5 s) and give up after that; with --connect-delay, connect MS
 * after the response ring appeared (a late server, loading a model: later
 * than the 300 ms zerofilter waits for the server's caps at setup); with
 * --connect-after-file, only once PATH exists too (a test makes it once it
 * has seen the client go on without the server: late whatever the load,
 * which a fixed delay from the ring's creation is not; the wait counts
 * towards --connect-timeout). Then
 * answer every request, in order, with exactly one response:
 *   echo    the request's bytes;
 *   invert  255 - every byte (RGB frames: the inverted image);
 *   gray    RGB to GRAY8, one byte per 3 (Y = (77 R + 150 G + 29 B) >> 8),
 *           with --caps declaring the output caps in the response metadata.
 * Without --caps the response ring gets no metadata, as with the peers.
 * --in-place 1 is OUR extension (docs/PROTOCOL.md §9.4), not a peer
 * behaviour: when the request metadata declares "zerobuffer":
 * {"in_place": 1}, echo and invert answer in place: invert turns the
 * request's bytes (after its frame header, if the request metadata declares
 * one) into the answer where they lie, echo leaves them, and the response
 * is a per-frame header alone with ZB_EXT_IN_PLACE set (the response
 * metadata declares the header, and the caps with --caps: a client must
 * refuse in-place answers under other caps). The request is released
 * before the response is committed: the client's hold must keep its bytes.
 * Its request ring is twice the default (room for the requests whose bytes
 * the client keeps downstream).
 * --delay-ms sleeps before each response (a slow server); --die-after N
 * calls _exit(9) after N responses without detaching (a crash);
 * --mute-after N reads the requests after the Nth and answers none (a
 * server whose work never ends), until the end of the stream;
 * --keep-requests 1 answers (not in place) but never releases a request,
 * so the request ring fills up. At the end
 * of the request stream it detaches from the response ring and prints
 * "served N fnv1a=HEX" (FNV-1a 32 over the answers' bytes) and, with
 * --in-place 1, "in-place N" (answers given in place). --hash 0 skips the
 * hash (it costs more than an echo's copy: for timing by hand), "fnv1a=0".
 *
 * Faults, for the client's pairing and header checks (a peer server cannot
 * be made to commit them): --out-of-turn N gives the response to request N
 * sequence 1, as from a server that restarted mid-stream (the ring's reader
 * takes it, the pairing refuses it); --skip N gives it sequence N + 1,
 * as if response N was lost (the ring's reader refuses it); --bad-header N answers request N in
 * place (with --in-place 1, when the client accepts it) with a per-frame
 * header whose magic is wrong, its bytes left as they came; --short N
 * answers request N (not in place) with its last byte left out, a frame
 * too short for raw video caps; --clobber-header N answers request N in
 * place (when the client accepts it and its requests carry the per-frame
 * header) after writing zeros over the request's frame header, where an
 * answer in place must not write; --twice N answers request N (not in
 * place) twice, the same bytes, its ring's sequence numbers still rising
 * by one (zb_duplex_pair cannot see it: the answers after it pair with the
 * requests before theirs).
 *
 * SIGINT or SIGTERM (zerobuffer watch's stop, Ctrl-C, timeout(1)) ends it
 * as the end of the request stream does: its rings and their lock files
 * are removed, not left for the next run or test to clean up, status 0.
 *
 * Exit status: 0 ok (also stopped by SIGINT or SIGTERM), 1 a core error
 * (message on stderr; the rings are removed all the same), 2 usage,
 * 4 no client created the response ring in time (or PATH did not appear). */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zb_test_hooks.h" /* zb__writer_set_next_sequence: a fault */
#include "zerobuffer.h"

/* Inverts every byte of [p, p + n). */
static void invert(uint8_t *dst, const uint8_t *src, uint64_t n) {
  uint64_t k;
  for (k = 0; k < n; k++)
    dst[k] = (uint8_t)(255 - src[k]);
}

/* Answers a request in place: the answer's bytes where the request's are
 * (after its header), a response of a frame header alone; with bad_header,
 * one whose magic is wrong, the request's bytes untouched; with
 * clobber_header, after zeroing the request's own header. */
static int answer_in_place(zb_writer *responses, zb_frame *request,
                           bool request_header, bool inverting,
                           bool bad_header, bool clobber_header,
                           uint32_t *hash, long delay_ms, int timeout);

/* SIGINT or SIGTERM came: the loops end at their next look, and a wait in
 * the core, which goes on after EINTR, is woken (the wake calls are
 * async-signal-safe; one made before the wait starts ends it as it starts). */
static volatile sig_atomic_t stop_signal;
static zb_reader *volatile waiting_requests;
static zb_writer *volatile waiting_responses;

static void on_stop_signal(int sig) {
  stop_signal = sig;
  zb_reader_wake(waiting_requests);
  zb_writer_wake(waiting_responses);
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static int core_error(const char *what, int rc) {
  fprintf(stderr, "zb-duplex-server: %s: %s (%s): %s\n", what,
          zb_err_name(rc), zb_strerror(rc), zb_last_error());
  return 1;
}

int main(int argc, char **argv) {
  const char *channel, *mode = "echo", *caps = NULL;
  long delay_ms = 0, die_after = -1, connect_timeout =
      ZB_DUPLEX_PEER_CONNECT_TIMEOUT_MS, timeout = 30000;
  uint64_t payload_size = 0, served = 0;
  uint32_t hash = 2166136261u;
  char request_name[ZB_NAME_MAX + 1], response_name[ZB_NAME_MAX + 1];
  zb_reader *requests = NULL;
  zb_writer *responses = NULL;
  long waited, announce = 0, in_place_opt = 0, connect_delay = 0;
  long out_of_turn = -1, skip = -1, bad_header = -1, short_answer = -1;
  long clobber_header = -1, mute_after = -1, keep_requests = 0, twice = -1;
  const char *connect_after_file = NULL;
  uint64_t in_place_answers = 0;
  bool in_place = false, request_header = false, hashing = true;
  int rc, i, status = 0;

  if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
      strcmp(argv[1], "-h") == 0) {
    fprintf(argc < 2 ? stderr : stdout,
            "usage: zb-duplex-server CHANNEL [--mode echo|invert|"
            "gray] [--delay-ms D] [--die-after N] [--payload-size "
            "P] [--caps CAPS] [--connect-timeout MS] [--timeout MS] "
            "[--announce 1] [--in-place 1] [--hash 0] "
            "[--connect-delay MS] [--connect-after-file PATH] "
            "[--out-of-turn N] [--skip N] "
            "[--bad-header N] [--short N] [--clobber-header N] "
            "[--mute-after N] [--keep-requests 1] [--twice N]\n(the "
            "options: the comment at the top of "
            "test/peer/zb-duplex-server.c)\n");
    return argc < 2 ? 2 : 0;
  }
  channel = argv[1];
  for (i = 2; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--mode") == 0)
      mode = argv[i + 1];
    else if (strcmp(argv[i], "--delay-ms") == 0)
      delay_ms = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--die-after") == 0)
      die_after = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--payload-size") == 0)
      payload_size = strtoull(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--caps") == 0)
      caps = argv[i + 1];
    else if (strcmp(argv[i], "--connect-timeout") == 0)
      connect_timeout = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--announce") == 0)
      announce = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--timeout") == 0)
      timeout = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--in-place") == 0)
      in_place_opt = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--hash") == 0)
      hashing = atol(argv[i + 1]) != 0;
    else if (strcmp(argv[i], "--connect-delay") == 0)
      connect_delay = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--connect-after-file") == 0)
      connect_after_file = argv[i + 1];
    else if (strcmp(argv[i], "--out-of-turn") == 0)
      out_of_turn = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--skip") == 0)
      skip = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--bad-header") == 0)
      bad_header = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--short") == 0)
      short_answer = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--clobber-header") == 0)
      clobber_header = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--mute-after") == 0)
      mute_after = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--keep-requests") == 0)
      keep_requests = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--twice") == 0)
      twice = atol(argv[i + 1]);
    else {
      fprintf(stderr, "zb-duplex-server: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (i != argc || (strcmp(mode, "echo") && strcmp(mode, "invert") &&
                    strcmp(mode, "gray"))) {
    fprintf(stderr, "zb-duplex-server: bad arguments\n");
    return 2;
  }
  if (payload_size == 0)
    payload_size = zb_default_payload_size(0) * (in_place_opt ? 2 : 1);
  if ((rc = zb_duplex_ring_name(channel, ZB_DUPLEX_REQUEST, request_name,
                                sizeof request_name)) < 0 ||
      (rc = zb_duplex_ring_name(channel, ZB_DUPLEX_RESPONSE, response_name,
                                sizeof response_name)) < 0)
    return core_error("channel name", rc);

  rc = zb_reader_create(&requests, request_name, 4096, payload_size, NULL);
  if (rc < 0)
    return core_error("creating the request ring", rc);
  waiting_requests = requests;
  {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
  }
  printf("ready %s\n", channel);
  if (announce) /* a valid ring name needs no JSON escaping */
    printf("> {\"jsonrpc\":\"2.0\",\"method\":\"start-duplex\","
           "\"params\":[\"%s\"]}\n", channel);
  fflush(stdout);

  for (waited = 0;; waited += ZB_DUPLEX_CONNECT_RETRY_MS) {
    zb_health health;

    if (stop_signal) {
      zb_reader_destroy(requests);
      return 0;
    }
    if (connect_delay > 0 && zb_health_read(response_name, &health) == 0) {
      sleep_ms(connect_delay); /* the ring is there: connect late */
      connect_delay = 0;
    }
    if (connect_after_file == NULL || access(connect_after_file, F_OK) == 0) {
      rc = zb_writer_connect(&responses, response_name);
      if (rc == 0)
        break;
    }
    if (waited >= connect_timeout) {
      if (connect_after_file != NULL && access(connect_after_file, F_OK) != 0)
        fprintf(stderr, "zb-duplex-server: no file %s (--connect-after-file) "
                "after %ld ms\n", connect_after_file, connect_timeout);
      else
        fprintf(stderr, "zb-duplex-server: no response ring %s after %ld ms\n",
                response_name, connect_timeout);
      zb_reader_destroy(requests);
      return 4;
    }
    sleep_ms(ZB_DUPLEX_CONNECT_RETRY_MS);
  }
  waiting_responses = responses;
  /* the client wrote the request metadata before it created the response
   * ring */
  if (in_place_opt && strcmp(mode, "gray") != 0) {
    const uint8_t *meta;
    uint64_t meta_size;
    if (zb_reader_metadata(requests, &meta, &meta_size) == 0) {
      in_place = zb_metadata_in_place(meta, meta_size) == 1;
      request_header = zb_metadata_frame_header(meta, meta_size) == 1;
    }
  }
  if (caps != NULL || in_place) {
    char meta[1024];
    int n = snprintf(meta, sizeof meta, "{\"type\":\"zb-duplex-server\"%s%s%s%s}",
                     caps ? ",\"caps\":\"" : "", caps ? caps : "",
                     caps ? "\"" : "",
                     in_place ? ",\"zerobuffer\":{\"frame_header\":1}" : "");
    rc = zb_writer_set_metadata(responses, meta, (uint64_t)n);
    if (rc < 0) {
      status = core_error("writing the response metadata", rc);
      goto out;
    }
  }

  for (;;) {
    zb_frame request;
    zb_reservation res;
    uint64_t size, k;

    if (stop_signal)
      break;
    rc = zb_reader_next(requests, &request, (int)timeout);
    if (rc == 0 && stop_signal)
      zb_frame_release(&request);
    if (rc == ZB_EOF || stop_signal)
      break;
    if (rc < 0) {
      status = core_error("reading a request", rc);
      goto out;
    }
    if (mute_after >= 0 && (long)served >= mute_after) {
      zb_frame_release(&request); /* never answered */
      continue;
    }
    /* the sequence is published at the commit */
    if ((long)served + 1 == out_of_turn)
      zb__writer_set_next_sequence(responses, 1);
    else if ((long)served + 1 == skip)
      zb__writer_set_next_sequence(responses, served + 2);
    if (in_place) {
      rc = answer_in_place(responses, &request, request_header,
                           strcmp(mode, "invert") == 0,
                           (long)served + 1 == bad_header,
                           (long)served + 1 == clobber_header,
                           hashing ? &hash : NULL, delay_ms, (int)timeout);
      if (rc < 0 && stop_signal)
        break;
      if (rc < 0) {
        status = core_error("answering in place", rc);
        goto out;
      }
      in_place_answers++;
      served++;
      if (die_after >= 0 && (long)served >= die_after)
        _exit(9);
      continue;
    }
    size = strcmp(mode, "gray") == 0 ? request.size / 3 : request.size;
    if ((long)served + 1 == short_answer && size > 0)
      size--;
    rc = zb_writer_reserve(responses, size, &res, (int)timeout);
    if (rc < 0 && stop_signal) {
      zb_frame_release(&request);
      break;
    }
    if (rc < 0) {
      status = core_error("reserving a response", rc);
      goto out;
    }
    if (strcmp(mode, "echo") == 0) {
      memcpy(res.data, request.data, size);
    } else if (strcmp(mode, "invert") == 0) {
      invert(res.data, request.data, size);
    } else {
      for (k = 0; k < size; k++) {
        const uint8_t *p = request.data + 3 * k;
        res.data[k] = (uint8_t)((77 * p[0] + 150 * p[1] + 29 * p[2]) >> 8);
      }
    }
    for (k = 0; hashing && k < size; k++)
      hash = (hash ^ res.data[k]) * 16777619u;
    if (!keep_requests)
      zb_frame_release(&request);
    if (delay_ms > 0)
      sleep_ms(delay_ms);
    if ((long)served + 1 == twice) {
      /* the same answer again, committed behind it */
      zb_reservation again;
      rc = zb_writer_reserve(responses, size, &again, (int)timeout);
      if (rc < 0 && stop_signal)
        break;
      if (rc < 0) {
        status = core_error("reserving a response", rc);
        goto out;
      }
      memcpy(again.data, res.data, size);
      /* published together, at the first one's commit: a client's end of
       * stream finds both */
      rc = zb_reservation_commit(&again, size);
      if (rc == 0)
        rc = zb_reservation_commit(&res, size);
    } else {
      rc = zb_reservation_commit(&res, size);
    }
    if (rc < 0) {
      status = core_error("committing a response", rc);
      goto out;
    }
    served++;
    if (die_after >= 0 && (long)served >= die_after)
      _exit(9); /* a crash: no detach, no cleanup */
  }
  printf("served %llu fnv1a=%08x\n", (unsigned long long)served,
         hashing ? hash : 0);
  if (in_place_opt)
    printf("in-place %llu\n", (unsigned long long)in_place_answers);
out: /* like a real server, leave no ring behind, also after an error */
  zb_writer_destroy(responses);
  zb_reader_destroy(requests);
  return status;
}

static int answer_in_place(zb_writer *responses, zb_frame *request,
                           bool request_header, bool inverting,
                           bool bad_header, bool clobber_header,
                           uint32_t *hash, long delay_ms, int timeout) {
  /* the request ring is ours to write while we hold the request */
  uint8_t *body = (uint8_t *)request->data;
  uint64_t size = request->size, k;
  zb_frame_ext ext = {ZB_EXT_NONE, ZB_EXT_NONE, ZB_EXT_NONE, 0, 0,
                      ZB_EXT_IN_PLACE, NULL, 0, NULL, 0};
  zb_frame_ext in;
  zb_reservation res;
  int rc;

  if (request_header) {
    if ((rc = zb_frame_ext_parse(request->data, request->size, &in)) < 0) {
      zb_frame_release(request);
      return rc;
    }
    body = (uint8_t *)in.data;
    size = in.size;
    ext.pts = in.pts;
    ext.dts = in.dts;
    ext.duration = in.duration;
    ext.flags = in.flags;
  }
  if (inverting && !bad_header)
    invert(body, body, size);
  if (clobber_header && request_header)
    memset((uint8_t *)request->data, 0, (size_t)(body - request->data));
  for (k = 0; hash != NULL && k < size; k++)
    *hash = (*hash ^ body[k]) * 16777619u;
  zb_frame_release(request); /* before the answer: the client keeps them */
  if ((rc = zb_writer_reserve(responses, ZB_EXT_HEADER_SIZE, &res, timeout)) <
      0)
    return rc;
  if (delay_ms > 0)
    sleep_ms(delay_ms);
  zb_frame_ext_write(res.data, &ext);
  if (bad_header)
    res.data[0] ^= 0xff; /* the magic's first byte */
  return zb_reservation_commit(&res, ZB_EXT_HEADER_SIZE);
}

/* zb_duplex.c — the duplex channel's conventions (see zerobuffer.h and
 * docs/DUPLEX.md): the names of its two rings and the pairing of
 * responses with requests. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "zb_error.h"
#include "zerobuffer.h"

int zb_duplex_ring_name(const char *channel, zb_duplex_ring ring, char *out,
                        size_t cap) {
  const char *suffix;
  size_t n;
  int rc;

  if (channel == NULL || out == NULL)
    return zb__fail(ZB_EINVAL, "zb_duplex_ring_name: NULL argument");
  switch (ring) {
  case ZB_DUPLEX_REQUEST:
    suffix = "_request";
    break;
  case ZB_DUPLEX_RESPONSE:
    suffix = "_response";
    break;
  default:
    return zb__fail(ZB_EINVAL, "zb_duplex_ring_name: unknown ring %d",
                    (int)ring);
  }
  if (strlen(channel) > ZB_DUPLEX_CHANNEL_MAX)
    return zb__fail(ZB_ENAME,
                    "channel name \"%.*s...\" is too long: at most %d "
                    "bytes, so that \"NAME_response\" fits a ring name",
                    zb__utf8_prefix(channel, 64), channel,
                    ZB_DUPLEX_CHANNEL_MAX);
  n = strlen(channel) + strlen(suffix);
  if (n >= cap)
    return zb__fail(ZB_EINVAL,
                    "zb_duplex_ring_name: the name of channel \"%s\"'s %s "
                    "ring is %zu bytes, and out (cap %zu) holds at most %zu "
                    "and a NUL",
                    channel, suffix + 1, n, cap, cap > 0 ? cap - 1 : 0);
  snprintf(out, cap, "%s%s", channel, suffix);
  rc = zb_validate_name(out);
  if (rc < 0) {
    /* the reason lives in the buffer the new details are formatted into */
    char reason[ZB__ERROR_MAX];
    snprintf(reason, sizeof reason, "%s", zb_last_error());
    return zb__fail(ZB_ENAME,
                    "invalid duplex channel name \"%.*s%s\": its ring "
                    "\"%.*s%s\" is not a valid ring name (%s)",
                    zb__utf8_prefix(channel, ZB_NAME_MAX), channel,
                    strlen(channel) > ZB_NAME_MAX ? "..." : "",
                    zb__utf8_prefix(out, ZB_NAME_MAX), out,
                    strlen(out) > ZB_NAME_MAX ? "..." : "", reason);
  }
  return 0;
}

int zb_duplex_pair(zb_duplex_pairing *pairing, uint64_t response_sequence) {
  if (pairing == NULL)
    return zb__fail(ZB_EINVAL, "zb_duplex_pair: NULL pairing");
  if (pairing->responses >= pairing->requests)
    return zb__fail(ZB_ESEQUENCE,
                    "a response arrived with no request waiting for it (%llu "
                    "requests sent, %llu answered)",
                    (unsigned long long)pairing->requests,
                    (unsigned long long)pairing->responses);
  if (response_sequence != pairing->responses + 1)
    return zb__fail(ZB_ESEQUENCE,
                    "response sequence %llu where request %llu was next to "
                    "be answered: the server lost or repeated a response, "
                    "or restarted mid-stream",
                    (unsigned long long)response_sequence,
                    (unsigned long long)(pairing->responses + 1));
  pairing->responses++;
  return 0;
}

int zb_duplex_check_answers(const zb_duplex_pairing *pairing,
                            uint64_t sending, uint64_t answers,
                            const char *response_ring) {
  uint64_t waiting, first;
  if (pairing == NULL || response_ring == NULL)
    return zb__fail(ZB_EINVAL, "zb_duplex_check_answers: NULL argument");
  waiting = pairing->requests + sending - pairing->responses;
  if (pairing->responses > pairing->requests + sending || answers <= waiting)
    return 0; /* (more answered than sent: zb_duplex_pair refused it) */
  first = pairing->responses + 1;
  if (answers == 1)
    return zb__fail(ZB_ESEQUENCE,
                    "ring \"%.245s\": an answer (response sequence %llu) is "
                    "waiting while no request waits for one (%llu sent, all "
                    "answered): the server answered a request more than "
                    "once, or one never sent; paired by order, the next "
                    "request would get it",
                    response_ring, (unsigned long long)first,
                    (unsigned long long)(pairing->requests + sending));
  return zb__fail(ZB_ESEQUENCE,
                  "ring \"%.245s\": %llu answers (response sequences %llu "
                  "to %llu) are waiting for %llu request%s (%llu sent, %llu "
                  "answered): the server answered a request more than "
                  "once, or one never sent; paired by order, the requests "
                  "after it would get the wrong answers",
                  response_ring, (unsigned long long)answers,
                  (unsigned long long)first,
                  (unsigned long long)(first + answers - 1),
                  (unsigned long long)waiting, waiting == 1 ? "" : "s",
                  (unsigned long long)(pairing->requests + sending),
                  (unsigned long long)pairing->responses);
}

uint64_t zb_duplex_payload_size(uint64_t frame_size, unsigned depth) {
  unsigned frames;
  if (frame_size == 0)
    return zb_default_payload_size(0);
  if (depth > UINT_MAX - 3) /* depth + 3 frames: more than any ring holds */
    return 0;
  frames = zb_default_frames_in_flight(frame_size);
  if (frames < depth + 3)
    frames = depth + 3;
  return zb_payload_size_for(frame_size, frames, true);
}

uint64_t zb_duplex_payload_size_for_rate(uint64_t bytes_per_second,
                                         unsigned depth) {
  /* a reader's ring of it: a second, at least 64 KiB (or, for 0, the
   * fallback), which low rates keep */
  uint64_t reader = zb_default_payload_size_for_rate(bytes_per_second);
  uint64_t bytes;
  if (bytes_per_second == 0)
    return reader;
  if (depth > UINT_MAX - 3)
    return 0;
  /* depth + 3 buffers, as zb_duplex_payload_size, of up to a second each:
   * how long one is, the caps do not say */
  bytes = zb_payload_size_for(bytes_per_second, depth + 3, true);
  if (bytes == 0)
    return 0;
  return bytes > reader ? bytes : reader;
}

int zb_duplex_same_client(const zb_health *request, const zb_health *response) {
  if (request == NULL || response == NULL)
    return zb__fail(ZB_EINVAL, "zb_duplex_same_client: NULL health");
  return request->writer_pid != 0 && response->reader_pid == request->writer_pid;
}

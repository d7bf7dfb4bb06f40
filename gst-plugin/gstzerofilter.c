/**
 * SECTION:element-zerofilter
 * @title: zerofilter
 * @see_also: zerosink, zerosrc
 *
 * A filter whose work is done by another process: the client side of a
 * ZeroBuffer duplex channel (docs/DUPLEX.md). Each input buffer is written
 * as a request into the ring CHANNEL_request (created by the server), and
 * the server's response, read from CHANNEL_response (created here as soon
 * as the request ring is found), goes downstream with the input's PTS,
 * DTS, duration and flags, but the PTS and DTS, and the duration, of the
 * response's frame header where it has them (when the response metadata
 * declares one), and its flags (added to the input's when the requests
 * carry no header: the server did not know them). Response N answers
 * request N, so a response without a duration of its own lasts as long as
 * its input, whatever framerate the server's caps declare (one frame of
 * theirs would overlap the next response when the input comes faster).
 *
 * Requests are written like zerosink writes frames (the same ring-backed
 * pool is offered upstream, so raw video is drawn straight into the
 * request ring); responses are zero-copy buffers over the response ring,
 * like zerosrc's (copied out of it when downstream keeps so many that the
 * server has no room left). The output caps are the input caps unless the
 * server declares others in the response ring's metadata ("caps", the same
 * JSON convention as zerosink's), so upstream is offered what downstream
 * accepts (until the server has declared caps of its own). A server that
 * connects after the 300 ms zerofilter waits for it at the first caps has
 * its caps pushed before its first response. When the input caps change,
 * the responses to the requests before the change go out first, then the
 * new caps; with frame-header=true each later request carries its caps in
 * the frame header (the request ring's metadata keeps the first ones).
 * The response ring keeps the size it got at the start (the server stays
 * on it): new caps whose answers cannot fit it (raw video's frames, raw
 * audio's buffers of up to a second) are an EMSGSIZE error naming the
 * payload-size they need.
 *
 * Up to #GstZeroFilter:depth requests may wait for their responses (a
 * pipelined server), more while the oldest is held back from the server
 * (requests are published in the order upstream took their pool buffers:
 * behind one it has not pushed yet). When that many wait: policy=block
 * waits for the oldest up to #GstZeroFilter:timeout; policy=drop does not
 * send the buffer and passes it on unprocessed or drops it
 * (#GstZeroFilter:skipped; it cannot pass while the server's output caps
 * are not the input's: dropped, with one warning); the buffer pushed after
 * one dropped is DISCONT (not after a dropped repeat of a pool buffer,
 * videorate's: nothing is lost). In a stream with delta units it asks upstream
 * for a key unit (force-key-unit) when it sends a delta unit after a
 * buffer it did not send, or as a new session's first request. Responses
 * are pushed by a streaming task of the src pad as soon as they come, so
 * each result
 * leaves at the server's pace, as from a queue (the chain function only
 * writes requests). A
 * server that is missing, dies, ends its responses early, answers later
 * than the timeout, or answers raw video with a frame of another size than
 * the output caps' is an element error, or, with on-error=pass, a warning
 * after which buffers pass through unprocessed (the request whose response
 * failed first). A response is only ever pushed as the answer to the
 * request of the same rank (zb_duplex_pair).
 *
 * With #GstZeroFilter:in-place (our extension, docs/PROTOCOL.md §9.4), the
 * request metadata tells the server it may answer a request in place: the
 * answer is then the request's bytes as the server left them in the
 * request ring (an echo, an overlay drawn where the request lies), and the
 * buffer pushed downstream points at them, with no copy on either side.
 * Each request is committed with a hold (the request ring's writer does
 * not write over its bytes after the server released them) until that
 * buffer is freed; when downstream keeps so many that the next request
 * waits for their room, they are copied out of the ring.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 videotestsrc ! video/x-raw,format=RGB ! zerofilter channel=x ! videoconvert ! autovideosink
 * ]|
 * with a duplex server on channel x (zerobuffer filter, ZeroBufferDuplexServer,
 * or a Python / C++ ZeroBuffer duplex server).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include <gst/gst.h>
#include <gst/video/video.h>

#include "gstzerobufferelements.h"
#include "gstzerolink.h"
#include "gstzerosinkpool.h"
#include "gstzerosrcring.h"
#include "zerobuffer.h"

GST_DEBUG_CATEGORY_STATIC (gst_zero_filter_debug);
#define GST_CAT_DEFAULT gst_zero_filter_debug

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

#define GST_TYPE_ZERO_FILTER (gst_zero_filter_get_type ())
G_DECLARE_FINAL_TYPE (GstZeroFilter, gst_zero_filter, GST, ZERO_FILTER,
    GstElement);

typedef enum
{
  GST_ZERO_FILTER_POLICY_BLOCK,
  GST_ZERO_FILTER_POLICY_DROP,
} GstZeroFilterPolicy;

typedef enum
{
  GST_ZERO_FILTER_SKIPPED_PASS,
  GST_ZERO_FILTER_SKIPPED_DROP,
} GstZeroFilterSkipped;

typedef enum
{
  GST_ZERO_FILTER_ON_ERROR_ERROR,
  GST_ZERO_FILTER_ON_ERROR_PASS,
} GstZeroFilterOnError;

/* An input buffer on its way: a request waiting for its response, or a
 * buffer skipped by policy=drop that passes when its turn comes. */
typedef struct
{
  GstBuffer *pass;              /* NULL for a request */
  GstClockTime pts, dts, duration;
  guint32 flags;
  guint32 drop_flags;           /* those of flags that drops before it left */
  guint64 sent_ns;              /* zb_now_ns at the request's commit (taken
                                 * before it: never after the answer's) */
  guint64 frame_id;             /* its reservation's, in ring order
                                 * (gst_zero_link_published) */
  gboolean discard;             /* flushed: its response is thrown away */
  gboolean in_place;            /* the server may answer it in place */
  zb_hold hold;                 /* its bytes, until answered: with in-place
                                 * (the answer may be them) and with
                                 * on-error=pass (they pass if it fails) */
} Pending;

/* Round trips remembered for the percentiles: request commit to the
 * response's arrival, timed only when the task saw it arrive (it was not
 * downstream, pushing an earlier one, since the request's commit). */
#define RTT_SAMPLES 1024

struct _GstZeroFilter
{
  GstElement parent;
  GstPad *sinkpad, *srcpad;

  /* properties, under the object lock */
  gchar *channel;
  gint connect_timeout;
  gint timeout;
  guint depth;
  GstZeroFilterPolicy policy;
  GstZeroFilterSkipped skipped;
  GstZeroFilterOnError on_error;
  gboolean frame_header;
  gboolean in_place;
  guint max_buffers;
  guint64 metadata_size;
  guint64 payload_size;
  guint mode;
  guint latency;                /* ms, added to upstream's */

  GstZeroLink *link;            /* the request ring (shared with the pool) */
  GstZeroSrcRing *held;         /* requests answered in place, lent */
  GCancellable *flushing;       /* cancelled from flush start to flush stop */

  /* The task is started only under task_lock, and not once stopping is set
   * or flushing cancelled (both under it, before the task is stopped or
   * paused): a task started after gst_pad_stop_task would read the
   * response ring while gst_zero_filter_stop frees it. */
  GMutex task_lock;
  gboolean stopping;            /* from PAUSED_TO_READY to READY_TO_PAUSED */

  /* under the object lock (woken from other threads) */
  GstZeroSrcRing *responses;    /* CHANNEL_response, ours, lent like zerosrc's */

  /* The chain writes requests; the src pad's task reads the responses
   * and pushes them. Whoever pushes downstream holds push_lock, so that
   * buffers and events leave in the order they came. */
  GRecMutex push_lock;

  /* the task's own, no lock: what a response wait gave while no request
   * was pending yet (a frame when early_rc is 0, else the error to report;
   * early_ns: when the wait returned it) */
  gboolean has_early;
  gint early_rc;
  zb_frame early;
  guint64 early_ns;
  guint64 pushed_ns;            /* zb_now_ns when its last push returned */

  GMutex qlock;                 /* the fields below, and setting bypass */
  GCond qcond;                  /* any of them changed, or flushing */
  guint qwaiters;               /* threads waiting on qcond */
  GQueue pending;               /* of Pending, oldest first */
  guint requests_waiting;       /* requests in `pending`, discarded included */
  zb_duplex_pairing pairing;
  gboolean request_sending;     /* the chain publishes a request not counted
                                 * in pairing yet: its answer may be there */
  gboolean request_reordered;   /* ... a pool buffer taken before requests
                                 * waiting, which its commit publishes: it
                                 * goes before them (pending_add_request) */
  gboolean surplus_taken;       /* the task took an answer while no request
                                 * waited, and is about to say so */
  GstFlowReturn task_ret;       /* downstream's, for the next chain call */

  gboolean response_header;     /* responses carry the per-frame header */
  gboolean response_metadata;   /* the server's metadata was read */
  GstCaps *in_caps;
  GstCaps *out_caps;            /* pushed downstream */
  ZeroBufferFrameSize sized;    /* the frame size of out_caps (push lock) */
  gint server_declared_caps;    /* out_caps are the server's: set with the
                                 * push lock, read atomically without it */
  gint bypass;                  /* on-error=pass after a failure: set under
                                 * qlock, read atomically without it */
  gboolean warned_skipped_caps; /* with the push lock */
  gboolean surplus_told;        /* answers beyond the requests were told
                                 * (with the push lock) */
  gboolean timing_warned;       /* of a response's bad timestamp or
                                 * duration, this session's (with the push
                                 * lock) */
  /* After a buffer was dropped, the next that goes downstream is DISCONT
   * (with the dropped one's RESYNC), as zerosink marks the frame after a
   * drop (not after a dropped repeat: chain_dropped): a decoder behind us must hear of the gap. Dropped in the chain
   * function (policy=drop, a failed write): for the next buffer to come,
   * chain only, and kept until one is queued or passes (a request that is
   * dropped or fails to be written leaves them, adding its own); dropped
   * at the push (a request lost to a failure, a skipped buffer that cannot
   * pass): for the next push, push lock. */
  guint drop_flags;
  guint push_drop_flags;
  GstZeroKeyUnitNeed key_unit;  /* the server's; chain only */
  gboolean session_ended;       /* EOS went to the server: the next buffer
                                 * (after a flushing seek) starts a new
                                 * session; with the push lock */

  /* statistics, under the object lock */
  guint64 frames_in, requests, responses_pushed, passed, dropped;
  guint64 requests_zero_copy, responses_in_place;
  guint64 moved_before;         /* the held ring's moves before start */
  guint64 rtt_us[RTT_SAMPLES];
  guint rtt_count;
};

#define DEFAULT_CONNECT_TIMEOUT 10000
#define DEFAULT_TIMEOUT 5000
#define DEFAULT_DEPTH ZB_DUPLEX_DEFAULT_DEPTH
#define DEFAULT_POLICY GST_ZERO_FILTER_POLICY_BLOCK
#define DEFAULT_SKIPPED GST_ZERO_FILTER_SKIPPED_PASS
#define DEFAULT_ON_ERROR GST_ZERO_FILTER_ON_ERROR_ERROR
#define DEFAULT_FRAME_HEADER FALSE
#define DEFAULT_IN_PLACE TRUE
#define DEFAULT_MAX_BUFFERS 3
#define DEFAULT_METADATA_SIZE ZB_DEFAULT_METADATA_SIZE
#define DEFAULT_PAYLOAD_SIZE 0
#define DEFAULT_LATENCY 0
/* How long the caps event waits for the server to take the response ring
 * and say which caps it answers with (it looks for the ring every
 * ZB_DUPLEX_CONNECT_RETRY_MS); a later server's caps go out before its
 * first response. */
#define SERVER_CAPS_WAIT_MS (3 * ZB_DUPLEX_CONNECT_RETRY_MS)
/* Slices of a response wait, to look at flushing between them. */
#define WAIT_SLICE_MS 100
/* Slices of the task's wait on the response ring while no request is
 * pending, to see a request written meanwhile within this: its response
 * wait then starts (and may move held responses out for the server). */
#define IDLE_SLICE_MS 10

enum
{
  PROP_0,
  PROP_CHANNEL,
  PROP_CONNECT_TIMEOUT,
  PROP_TIMEOUT,
  PROP_DEPTH,
  PROP_POLICY,
  PROP_SKIPPED,
  PROP_ON_ERROR,
  PROP_FRAME_HEADER,
  PROP_IN_PLACE,
  PROP_MAX_BUFFERS,
  PROP_METADATA_SIZE,
  PROP_PAYLOAD_SIZE,
  PROP_MODE,
  PROP_LATENCY,
  PROP_STATS,
};

#define gst_zero_filter_parent_class parent_class
G_DEFINE_TYPE (GstZeroFilter, gst_zero_filter, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (zerofilter, "zerofilter",
    GST_RANK_NONE, GST_TYPE_ZERO_FILTER, zerobuffer_element_init (plugin));

static GType
gst_zero_filter_policy_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_ZERO_FILTER_POLICY_BLOCK, "Wait for the oldest response (up to "
          "the timeout) when depth requests wait", "block"},
    {GST_ZERO_FILTER_POLICY_DROP, "Do not send the buffer when depth "
          "requests wait (see skipped), and count it", "drop"},
    {0, NULL, NULL},
  };
  return zerobuffer_enum_type ("GstZeroFilterPolicy", values, &type);
}

static GType
gst_zero_filter_skipped_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_ZERO_FILTER_SKIPPED_PASS, "Push it unprocessed, in its place "
          "(dropped while the server's output caps are not the input's)",
        "pass"},
    {GST_ZERO_FILTER_SKIPPED_DROP, "Drop it", "drop"},
    {0, NULL, NULL},
  };
  return zerobuffer_enum_type ("GstZeroFilterSkipped", values, &type);
}

static GType
gst_zero_filter_on_error_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_ZERO_FILTER_ON_ERROR_ERROR, "Post an error", "error"},
    {GST_ZERO_FILTER_ON_ERROR_PASS, "Post a warning and pass buffers "
          "through unprocessed from then on", "pass"},
    {0, NULL, NULL},
  };
  return zerobuffer_enum_type ("GstZeroFilterOnError", values, &type);
}

/* ---------------------------------------------------------- statistics */

static int
compare_u64 (const void *a, const void *b)
{
  guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;
  return x < y ? -1 : x > y;
}

/* With the object lock. */
static void
rtt_percentiles (GstZeroFilter * self, guint64 * p50, guint64 * p99)
{
  guint n = MIN (self->rtt_count, RTT_SAMPLES);
  guint64 sorted[RTT_SAMPLES];

  *p50 = *p99 = 0;
  if (n == 0)
    return;
  memcpy (sorted, self->rtt_us, n * sizeof sorted[0]);
  qsort (sorted, n, sizeof sorted[0], compare_u64);
  *p50 = sorted[(n - 1) / 2];
  *p99 = sorted[(n - 1) * 99 / 100];
}

static GstStructure *
gst_zero_filter_get_stats (GstZeroFilter * self)
{
  GstStructure *s;
  guint64 p50, p99;

  GST_OBJECT_LOCK (self);
  rtt_percentiles (self, &p50, &p99);
  s = gst_structure_new ("application/x-zerofilter-stats",
      "frames-in", G_TYPE_UINT64, self->frames_in,
      "requests", G_TYPE_UINT64, self->requests,
      "requests-zero-copy", G_TYPE_UINT64, self->requests_zero_copy,
      "responses", G_TYPE_UINT64, self->responses_pushed,
      "responses-in-place", G_TYPE_UINT64, self->responses_in_place,
      "in-place-copied", G_TYPE_UINT64,
      gst_zero_src_ring_moved (self->held) - self->moved_before,
      "frames-passed", G_TYPE_UINT64, self->passed,
      "frames-dropped", G_TYPE_UINT64, self->dropped,
      "round-trip-p50-us", G_TYPE_UINT64, p50,
      "round-trip-p99-us", G_TYPE_UINT64, p99,
      "round-trip-samples", G_TYPE_UINT64, (guint64) self->rtt_count, NULL);
  GST_OBJECT_UNLOCK (self);
  return s;
}

/* "zerofilter-stats requests=N responses=N ..." for the INFO message
 * before EOS and for errors (gst-launch prints their debug text).
 * g_free() it. */
static gchar *
stats_line (const GstStructure * s)
{
  GString *line = g_string_new ("zerofilter-stats");
  static const gchar *fields[] = { "frames-in", "requests",
    "requests-zero-copy", "responses", "responses-in-place",
    "in-place-copied", "frames-passed", "frames-dropped",
    "round-trip-p50-us", "round-trip-p99-us", "round-trip-samples"
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (fields); i++) {
    guint64 v = 0;

    gst_structure_get_uint64 (s, fields[i], &v);
    g_string_append_printf (line, " %s=%" G_GUINT64_FORMAT, fields[i], v);
  }
  return g_string_free (line, FALSE);
}

#define COUNT(self, field) G_STMT_START { \
    GST_OBJECT_LOCK (self); (self)->field++; GST_OBJECT_UNLOCK (self); \
  } G_STMT_END

/* At EOS, the counts and round trips in an INFO message whose debug text
 * (printed by gst-launch) is the "zerofilter-stats ..." line. */
static void
gst_zero_filter_post_stats (GstZeroFilter * self)
{
  GstStructure *stats = gst_zero_filter_get_stats (self);
  guint64 responses = 0;
  gchar *text;

  gst_structure_get_uint64 (stats, "responses", &responses);
  text = g_strdup_printf ("%" G_GUINT64_FORMAT " responses from channel %s",
      responses, self->channel ? self->channel : "(none)");
  gst_element_message_full_with_details (GST_ELEMENT (self),
      GST_MESSAGE_INFO, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_READ, text,
      stats_line (stats), __FILE__, GST_FUNCTION, __LINE__, stats);
}

/* ------------------------------------------------------------ pending */

static void
pending_free (Pending * p)
{
  zb_hold_release (&p->hold);
  gst_clear_buffer (&p->pass);
  g_free (p);
}

static void
pending_clear (GstZeroFilter * self)
{
  Pending *p;

  while ((p = g_queue_pop_head (&self->pending)) != NULL)
    pending_free (p);
  self->requests_waiting = 0;
}

/* With qlock held: waits on qcond for at most a slice. */
static void
qwait (GstZeroFilter * self)
{
  self->qwaiters++;
  g_cond_wait_until (&self->qcond, &self->qlock, g_get_monotonic_time () +
      WAIT_SLICE_MS * G_TIME_SPAN_MILLISECOND);
  self->qwaiters--;
}

/* With qlock held: whether the oldest request waiting is visible to the
 * server (or none waits). One committed behind a reservation taken before
 * it that upstream still holds (a pool buffer not pushed yet: input-selector
 * holding the inactive pad's) is not: its answer cannot come before that
 * buffer is pushed or released. */
static gboolean
oldest_request_published (GstZeroFilter * self)
{
  GList *l;

  for (l = self->pending.head; l != NULL; l = l->next) {
    Pending *p = l->data;

    if (p->pass == NULL)
      return gst_zero_link_published (self->link, p->frame_id);
  }
  return TRUE;
}

/* With qlock held: the newest request waiting, the one of the largest
 * frame id (they wait in ring order), or NULL. */
static Pending *
last_request (GstZeroFilter * self)
{
  GList *l;

  for (l = self->pending.tail; l != NULL; l = l->prev) {
    Pending *p = l->data;

    if (p->pass == NULL)
      return p;
  }
  return NULL;
}

/* With qlock held: queues request P in ring order, where the server reads
 * it, and so answers it: a pool buffer pushed after buffers taken from the
 * pool later goes just before the first of their requests (published only
 * now, with it: none of them is answered yet), so before the buffers
 * skipped after that one too, which keep their place behind it. Frame ids
 * compare: every request waiting is the one writer's (a new writer numbers
 * from 0, but connects only once none waits: after the session's end and
 * the flush that empties pending, or after bypass). */
static void
pending_add_request (GstZeroFilter * self, Pending * p)
{
  GList *l, *later = NULL;

  for (l = self->pending.tail; l != NULL; l = l->prev) {
    Pending *q = l->data;

    if (q->pass != NULL)
      continue;
    if (q->frame_id < p->frame_id)
      break;
    later = l;
  }
  if (later != NULL)
    g_queue_insert_before (&self->pending, later, p);
  else
    g_queue_push_tail (&self->pending, p);
}

/* With qlock held: wakes the waiters on qcond, if any (GLib's broadcast
 * is a futex syscall even when nobody waits, twice per frame here). */
static void
qwake (GstZeroFilter * self)
{
  if (self->qwaiters > 0)
    g_cond_broadcast (&self->qcond);
}

static gboolean
is_bypass (GstZeroFilter * self)
{
  return g_atomic_int_get (&self->bypass);
}

static gboolean
is_flushing (GstZeroFilter * self)
{
  return g_cancellable_is_cancelled (self->flushing);
}

/* The response ring goes (unlinked); buffers downstream keep their
 * frames' leases. */
static void
responses_close (GstZeroFilter * self)
{
  GstZeroSrcRing *responses;

  if (self->has_early && self->early_rc >= 0)
    zb_frame_release (&self->early);
  self->has_early = FALSE;
  GST_OBJECT_LOCK (self);
  responses = self->responses;
  self->responses = NULL;
  GST_OBJECT_UNLOCK (self);
  gst_zero_src_ring_close (responses);
}

/* Ends the task's wait on the response ring (flushing, stopping, bypass). */
static void
responses_wake (GstZeroFilter * self)
{
  GST_OBJECT_LOCK (self);
  if (self->responses != NULL)
    zb_reader_wake (gst_zero_src_ring_reader (self->responses));
  GST_OBJECT_UNLOCK (self);
}

/* Pushes CAPS downstream unless they are the output caps already. */
static gboolean
gst_zero_filter_set_out_caps (GstZeroFilter * self, GstCaps * caps)
{
  if (self->out_caps != NULL && gst_caps_is_equal (caps, self->out_caps))
    return TRUE;
  GST_INFO_OBJECT (self, "output caps %" GST_PTR_FORMAT, caps);
  gst_caps_replace (&self->out_caps, caps);
  return gst_pad_push_event (self->srcpad, gst_event_new_caps (caps));
}

/* The memory of request P's bytes in the request ring (after the
 * request's frame header), lent with its hold: an in-place answer, or the
 * request passed after a failure. NULL (the hold kept) when the request
 * has a frame header that is no longer valid: the server wrote over it,
 * so where its bytes start is unknown (pushed from the start, they would
 * be the header's bytes and the frame's, shifted). */
static GstMemory *
held_request_memory (GstZeroFilter * self, Pending * p)
{
  const uint8_t *data = zb_hold_data (&p->hold);
  gsize offset = 0, size = p->hold.size;
  zb_frame_ext ext;

  if (gst_zero_link_header_size (self->link) > 0) {
    if (zb_frame_ext_parse (data, p->hold.size, &ext) < 0)
      return NULL;
    offset = ext.data - data;
    size = ext.size;
  }
  return gst_zero_src_ring_wrap_hold (self->held, &p->hold, offset, size);
}

/* BUFFER, about to go downstream, with FLAGS set too, and those a drop
 * at the push left for it (with the push lock). */
static GstBuffer *
flag_for_push (GstZeroFilter * self, GstBuffer * buffer, guint flags)
{
  flags |= self->push_drop_flags;
  self->push_drop_flags = 0;
  if ((GST_BUFFER_FLAGS (buffer) & flags) == flags)
    return buffer;
  buffer = gst_buffer_make_writable (buffer);
  GST_BUFFER_FLAG_SET (buffer, flags);
  return buffer;
}

/* A buffer over ring memory, going out under the source pad's caps: planar
 * audio needs its audio meta. */
static void
add_planar_audio_meta (GstZeroFilter * self, GstBuffer * out)
{
  GstCaps *caps = gst_pad_get_current_caps (self->srcpad);

  zerobuffer_add_planar_audio_meta (out, caps);
  gst_clear_caps (&caps);
}

/* OUT gets the timestamps and flags of P's input. Appending its ring
 * memory set TAG_MEMORY, which would tell downstream of a change to the
 * buffer's memory that none made. */
static void
stamp (GstBuffer * out, const Pending * p)
{
  GST_BUFFER_FLAG_UNSET (out, GST_BUFFER_FLAG_TAG_MEMORY);
  GST_BUFFER_PTS (out) = p->pts;
  GST_BUFFER_DTS (out) = p->dts;
  GST_BUFFER_DURATION (out) = p->duration;
  GST_BUFFER_FLAG_SET (out, p->flags);
}

/* Whether T, a response's timestamp, is a bad one, as a writer's leap is
 * for zerosrc: more than ZEROBUFFER_TS_LEAP from REQUEST_T, its request's.
 * Responses are one per request, so a server's own timing stays near its
 * input's; a synchronised sink would wait out such a leap. Not when the
 * request has none: nothing to judge it by. */
static gboolean
response_time_leaps (GstClockTime t, GstClockTime request_t)
{
  if (!GST_CLOCK_TIME_IS_VALID (t) || !GST_CLOCK_TIME_IS_VALID (request_t))
    return FALSE;
  return (t > request_t ? t - request_t : request_t - t) > ZEROBUFFER_TS_LEAP;
}

/* A response's bad timing, dropped (BAD: what it was and what the response
 * keeps; taken): a debug line each time, one warning a session naming the
 * channel and REQUEST, the request P whose response EXT is. With the push
 * lock. */
static void
warn_bad_timing (GstZeroFilter * self, const Pending * p,
    const zb_frame_ext * ext, guint64 request, gchar * bad)
{
  gchar *channel;

  GST_DEBUG_OBJECT (self, "response to request %" G_GUINT64_FORMAT ": %s",
      request, bad);
  if (!self->timing_warned) {
    self->timing_warned = TRUE;
    GST_OBJECT_LOCK (self);
    channel = g_strdup (self->channel);
    GST_OBJECT_UNLOCK (self);
    ZEROBUFFER_ELEMENT_WARNING (self, ZB_EPROTO, channel,
        ("The duplex server of channel %s gave the response to request %"
            G_GUINT64_FORMAT " %s (bad timing is said once)", channel,
            request, bad),
        ("response PTS %" G_GUINT64_FORMAT " ns, DTS %" G_GUINT64_FORMAT
            " ns, duration %" G_GUINT64_FORMAT " ns; request PTS %"
            GST_TIME_FORMAT ", DTS %" GST_TIME_FORMAT, ext->pts, ext->dts,
            ext->duration, GST_TIME_ARGS (p->pts), GST_TIME_ARGS (p->dts)));
    g_free (channel);
  }
  g_free (bad);
}

/* A response's bad PTS or DTS (response_time_leaps): NAME, its value T,
 * REQUEST_T its request's. */
static gchar *
bad_time (const gchar * name, GstClockTime t, GstClockTime request_t)
{
  return g_strdup_printf ("a %s of %" GST_TIME_FORMAT ", over an hour from "
      "its request's %" GST_TIME_FORMAT ": taken for a bad one, the response "
      "keeps its request's PTS and DTS", name, GST_TIME_ARGS (t),
      GST_TIME_ARGS (request_t));
}

/* A response's timing and flags, as zerosrc takes a writer's: the PTS and
 * DTS of its frame header (EXT, NULL when the response metadata declares
 * none) when it has either, unless one is a bad one
 * (response_time_leaps), its duration when it has one, unless a bad one
 * (zerobuffer_plausible_duration: a sink or muxer would take it as
 * given); else those of P's input (stamp() set them; warn_bad_timing
 * names REQUEST, the request OUT answers). Not one frame of the server
 * caps' framerate: responses are one per request, so they come at the
 * input's rate. Its flags replace the input's when the request carried
 * them (a frame header, REQUEST_HEADER), as the server may clear one
 * (DELTA_UNIT of a frame it encoded as a key frame); else it knew none of
 * them and only adds its own. The DISCONT and RESYNC of drops before it
 * stay. With the push lock. */
static void
stamp_response (GstZeroFilter * self, GstBuffer * out, const Pending * p,
    const zb_frame_ext * ext, gboolean request_header, guint64 request)
{
  /* each judged by the request's own, else its other one (an encoder's
   * DTS for a request with a PTS alone) */
  GstClockTime request_pts = GST_CLOCK_TIME_IS_VALID (p->pts) ? p->pts :
      p->dts;
  GstClockTime request_dts = GST_CLOCK_TIME_IS_VALID (p->dts) ? p->dts :
      p->pts;

  stamp (out, p);
  if (ext == NULL)
    return;
  if (response_time_leaps (ext->pts, request_pts))
    warn_bad_timing (self, p, ext, request, bad_time ("PTS", ext->pts,
            request_pts));
  else if (response_time_leaps (ext->dts, request_dts))
    warn_bad_timing (self, p, ext, request, bad_time ("DTS", ext->dts,
            request_dts));
  else if (ext->pts != ZB_EXT_NONE || ext->dts != ZB_EXT_NONE) {
    GST_BUFFER_PTS (out) = ext->pts;    /* ZB_EXT_NONE is CLOCK_TIME_NONE */
    GST_BUFFER_DTS (out) = ext->dts;
  }
  if (GST_CLOCK_TIME_IS_VALID (zerobuffer_plausible_duration (ext->duration)))
    GST_BUFFER_DURATION (out) = ext->duration;
  else if (ext->duration != ZB_EXT_NONE)
    warn_bad_timing (self, p, ext, request, g_strdup_printf ("a duration "
            "of %" GST_TIME_FORMAT ", over an hour: taken for a bad one, "
            "the response keeps its request's duration",
            GST_TIME_ARGS (ext->duration)));
  if (request_header)
    GST_BUFFER_FLAG_UNSET (out, p->flags & ~p->drop_flags);
  GST_BUFFER_FLAG_SET (out, ext->flags & ZEROBUFFER_CARRIED_FLAGS);
}

/* Request P as it came in: a buffer over its bytes, held in the request
 * ring, stamped like its input; NULL when its frame header was written
 * over (held_request_memory). */
static GstBuffer *
held_request_buffer (GstZeroFilter * self, Pending * p)
{
  GstMemory *memory = held_request_memory (self, p);
  GstBuffer *b;

  if (memory == NULL)
    return NULL;
  b = gst_buffer_new ();
  gst_buffer_append_memory (b, memory);
  stamp (b, p);
  add_planar_audio_meta (self, b);
  return b;
}

/* ------------------------------------------------------------ failure */

/* The server failed us (missing, dead, late, wrong): an element error, or
 * with on-error=pass a warning and pass-through from now on: ANSWERED, the
 * request whose response failed us (taken out of pending by the caller;
 * taken, may be NULL), passes first, from its bytes held in the request
 * ring (counted as dropped if they were not held, sent while on-error was
 * error, or the server wrote over its frame header); requests still waiting are lost and counted as dropped;
 * skipped buffers waiting pass. The input caps go out again before the
 * first buffer that passes. With the push lock. Takes TEXT and DEBUG. */
static GstFlowReturn
gst_zero_filter_fail (GstZeroFilter * self, Pending * answered, int code,
    gchar * text, gchar * debug)
{
  gboolean pass;
  gchar *channel;
  GQueue passing = G_QUEUE_INIT;
  Pending *p;
  GstFlowReturn ret = GST_FLOW_OK;

  GST_OBJECT_LOCK (self);
  pass = self->on_error == GST_ZERO_FILTER_ON_ERROR_PASS;
  channel = g_strdup (self->channel);
  GST_OBJECT_UNLOCK (self);
  if (answered != NULL && (!pass || answered->discard)) {
    pending_free (answered);
    answered = NULL;
  }
  if (!pass) {
    /* the counts go into the error itself: gst-launch quits at it, with
     * no EOS (and so no INFO with them) after it */
    GstStructure *stats = gst_zero_filter_get_stats (self);
    gchar *line = stats_line (stats), *full;

    full = debug != NULL ? g_strconcat (debug, "\n", line, NULL) :
        g_strdup (line);
    gst_structure_free (stats);
    g_free (line);
    g_free (debug);
    zerobuffer_post_message (GST_ELEMENT (self), GST_MESSAGE_ERROR, code,
        channel, text, full, __FILE__, GST_FUNCTION, __LINE__);
    g_free (channel);
    return GST_FLOW_ERROR;
  }
  zerobuffer_post_message (GST_ELEMENT (self), GST_MESSAGE_WARNING, code,
      channel, g_strdup_printf ("%s; passing buffers through unprocessed",
          text), debug, __FILE__, GST_FUNCTION, __LINE__);
  g_free (text);
  g_free (channel);

  if (answered != NULL && answered->hold.writer != NULL)
    answered->pass = held_request_buffer (self, answered);
  if (answered != NULL && answered->pass != NULL) {
    g_queue_push_tail (&passing, answered);
  } else if (answered != NULL) {
    COUNT (self, dropped);
    self->push_drop_flags |= GST_BUFFER_FLAG_DISCONT;
    pending_free (answered);
  }
  /* The link stays: upstream may still hold pool buffers (passed as
   * copies); it asks for an allocation again, and gets no pool. The
   * response ring goes when the task sees bypass (its only reader). */
  g_mutex_lock (&self->qlock);
  g_atomic_int_set (&self->bypass, TRUE);
  while ((p = g_queue_pop_head (&self->pending)) != NULL) {
    if (p->pass != NULL) {
      g_queue_push_tail (&passing, p);
    } else {
      if (!p->discard) {
        COUNT (self, dropped);
        self->push_drop_flags |= GST_BUFFER_FLAG_DISCONT;
      }
      pending_free (p);
    }
  }
  self->requests_waiting = 0;
  qwake (self);
  g_mutex_unlock (&self->qlock);
  responses_wake (self);        /* the task may wait on the ring, not qcond */
  gst_pad_push_event (self->sinkpad, gst_event_new_reconfigure ());
  if (self->out_caps != NULL && self->in_caps != NULL)
    gst_zero_filter_set_out_caps (self, self->in_caps);
  while ((p = g_queue_pop_head (&passing)) != NULL) {
    GstBuffer *b = p->pass;
    guint flags = p->flags;

    p->pass = NULL;
    pending_free (p);
    if (ret == GST_FLOW_OK) {
      COUNT (self, passed);
      ret = gst_pad_push (self->srcpad, flag_for_push (self, b, flags));
    } else {
      gst_buffer_unref (b);
    }
  }
  return ret;
}

/* ------------------------------------------------------------ connect */

/* The caps the server declares in the response ring's metadata: NULL when
 * it wrote none (or no "caps"), or with *ERROR when they cannot be used;
 * sets response_header. */
static GstCaps *
server_caps (GstZeroFilter * self, GstZeroError ** error)
{
  const uint8_t *meta = NULL;
  uint64_t size = 0;
  gchar *text, *why = NULL;
  GstCaps *caps;
  gint version;
  int rc;

  rc = zb_reader_metadata (gst_zero_src_ring_reader (self->responses), &meta,
      &size);
  self->response_metadata = rc < 0 || size > 0;
  if (rc < 0) {
    /* a block that does not add up (EPROTO): whether responses carry the
     * per-frame header is unknown, so none can be read right */
    *error = gst_zero_error_new (rc, g_strdup_printf ("Cannot read the "
            "duplex server's response metadata (%s)", zb_strerror (rc)),
        g_strdup (zb_last_error ()));
    return NULL;
  }
  if (size == 0 || !zerobuffer_metadata_get_string (meta, size, "caps",
          &text, NULL))
    return NULL;                /* a peer server that writes no JSON */
  version = zb_metadata_frame_header (meta, size);
  if (version != 0 && version != 1) {
    *error = gst_zero_error_new (ZB_EMETADATA, g_strdup ("Cannot use the "
            "caps the duplex server declares: the response metadata "
            "declares a per-frame header this zerofilter does not know"),
        NULL);
    g_free (text);
    return NULL;
  }
  self->response_header = version == 1;
  if (text == NULL)
    return NULL;
  caps = zerobuffer_stream_caps_from_peer (text, &why);
  g_free (text);
  if (caps == NULL)
    *error = gst_zero_error_new (ZB_EMETADATA, g_strdup_printf ("Cannot use "
            "the caps the duplex server declares: %s", why), NULL);
  g_free (why);
  return caps;
}

/* Connects to CHANNEL_request (waiting up to connect-timeout for the
 * server), then creates CHANNEL_response at once (the peers' servers look
 * for it for a few seconds only). */
static GstFlowReturn
gst_zero_filter_connect (GstZeroFilter * self)
{
  char name[ZB_NAME_MAX + 1];
  GstZeroError *e = NULL;
  zb_writer *writer = NULL;
  zb_reader *reader = NULL;
  zb_reader_options opts = { 0 };
  GstVideoInfo info;
  guint64 metadata_size, payload_size, frame_size = 0, bytes_per_second = 0;
  guint depth;
  gchar *channel;
  const gchar *what;
  GstFlowReturn ret;
  int rc;

  ret = gst_zero_link_get_writer (self->link, self->flushing, &writer, &e);
  if (ret != GST_FLOW_OK) {
    if (e == NULL)
      return ret;
    /* a server whose request ring has another stream's metadata is there,
     * and so is one serving another client */
    if (e->code == ZB_EMETADATA)
      what = "The duplex server's request ring does not take this stream";
    else if (e->code == ZB_EBUSY)
      what = "The duplex server serves another client";
    else if (e->code == ZB_EMSGSIZE)
      what = "The duplex server's request ring is too small for this "
          "stream's metadata";
    else if (e->code == ZB_EACCES)
      what = "Permission denied on the duplex server's request ring";
    else
      what = "No duplex server on the channel";
    /* the core's EACCES advice names "the reader": here the server, whose
     * mode (not our mode=, which opens the response ring) lets us in */
    ret = gst_zero_filter_fail (self, NULL, e->code,
        g_strdup_printf ("%s: %s", what, e->text), e->code == ZB_ENOENT ?
        g_strdup ("the duplex server creates the request ring: start it "
            "first (zerobuffer watch, or serve() of the Node API; "
            "docs/DUPLEX.md), or raise connect-timeout") :
        e->code == ZB_EACCES ? g_strdup_printf ("%s; the duplex server "
            "must be created with a mode that gives this user access "
            "(Node: ZeroBufferDuplexServer.create({ mode: 0o666 }), or "
            "0o660 and a group this user is in): zerofilter's mode= opens "
            "only the response ring, for the server to answer "
            "(docs/DUPLEX.md)", e->debug) : g_strdup (e->debug));
    gst_zero_error_free (e);
    return ret;
  }
  zb_writer_unref (writer);

  GST_OBJECT_LOCK (self);
  channel = g_strdup (self->channel);
  metadata_size = self->metadata_size;
  payload_size = self->payload_size;
  opts.mode = self->mode;
  depth = self->depth;
  GST_OBJECT_UNLOCK (self);
  if (payload_size == 0) {
    if (self->in_caps != NULL && gst_video_info_from_caps (&info,
            self->in_caps))
      frame_size = GST_VIDEO_INFO_SIZE (&info);
    else if (self->in_caps != NULL && !gst_caps_is_empty (self->in_caps) &&
        !gst_caps_is_any (self->in_caps))
      bytes_per_second = zerobuffer_audio_bytes_per_second
          (gst_caps_get_structure (self->in_caps, 0));
    /* raw audio's buffers are of any length, which the caps do not say:
     * depth + 3 of up to a second each */
    payload_size = bytes_per_second > 0 ?
        zb_duplex_payload_size_for_rate (bytes_per_second, depth) :
        zb_duplex_payload_size (frame_size, depth);
  }
  zb_duplex_ring_name (channel, ZB_DUPLEX_RESPONSE, name, sizeof name);
  g_free (channel);
  rc = zb_reader_create (&reader, name, metadata_size, payload_size, &opts);
  if (rc < 0)
    return gst_zero_filter_fail (self, NULL, rc, g_strdup_printf
        ("Could not create the response ring %s: %s", name, zb_strerror (rc)),
        g_strdup (zb_last_error ()));
  GST_INFO_OBJECT (self, "created %s (%" G_GUINT64_FORMAT " payload bytes)",
      name, payload_size);
  GST_OBJECT_LOCK (self);
  self->responses = gst_zero_src_ring_new (reader);
  GST_OBJECT_UNLOCK (self);
  g_mutex_lock (&self->qlock);
  self->pairing.requests = self->pairing.responses = 0;
  self->surplus_taken = FALSE;
  g_mutex_unlock (&self->qlock);
  self->surplus_told = FALSE;
  self->timing_warned = FALSE;
  self->response_metadata = FALSE;
  return GST_FLOW_OK;
}

/* The caps the server declares in the response ring's metadata
 * (server_caps), which are then the output caps (server_declared_caps),
 * or NULL. Metadata or caps that cannot be used fail us (*RET: an error, or with
 * on-error=pass bypass and GST_FLOW_OK), ANSWERED (then taken; may be
 * NULL) being the request whose response came with them. With the push
 * lock. */
static GstCaps *
gst_zero_filter_take_server_caps (GstZeroFilter * self, Pending * answered,
    GstFlowReturn * ret)
{
  GstZeroError *e = NULL;
  GstCaps *caps = server_caps (self, &e);

  *ret = GST_FLOW_OK;
  g_atomic_int_set (&self->server_declared_caps, caps != NULL);
  if (e != NULL) {
    *ret = gst_zero_filter_fail (self, answered, e->code,
        g_steal_pointer (&e->text), g_steal_pointer (&e->debug));
    gst_zero_error_free (e);
  }
  return caps;
}

/* At the first caps: waits (bounded) for the server to take the response
 * ring, then pushes its caps, or the input's when it declares none (a
 * server that connects later has its caps pushed before its first
 * response, gst_zero_filter_push_response). */
static gboolean
gst_zero_filter_push_caps (GstZeroFilter * self)
{
  GstCaps *caps = NULL;
  GstFlowReturn ret;
  gint64 deadline = g_get_monotonic_time () +
      SERVER_CAPS_WAIT_MS * G_TIME_SPAN_MILLISECOND;
  gboolean ok;

  if (!is_bypass (self) && self->responses != NULL) {
    zb_health h;

    while (zb_reader_health (gst_zero_src_ring_reader (self->responses),
            &h) == 0 &&
        (h.writer_pid == 0 || h.metadata_written_bytes == 0) &&
        g_get_monotonic_time () < deadline && !is_flushing (self))
      g_usleep (2 * G_TIME_SPAN_MILLISECOND);
    caps = gst_zero_filter_take_server_caps (self, NULL, &ret);
    if (ret != GST_FLOW_OK)
      return FALSE;
  }
  if (caps == NULL)
    return gst_zero_filter_set_out_caps (self, self->in_caps);
  ok = gst_zero_filter_set_out_caps (self, caps);
  gst_caps_unref (caps);
  return ok;
}

/* ---------------------------------------------------------- responses */

/* Why the server may not answer request P in place, with a response
 * carrying SIZE bytes after its header (g_free it), or NULL. */
static gchar *
in_place_refused (GstZeroFilter * self, Pending * p, gsize size)
{
  if (!p->in_place)
    return g_strdup ("The duplex server answered in place, but this "
        "zerofilter does not accept it (in-place=false)");
  if (size != 0)
    return g_strdup_printf ("The duplex server answered in place with %"
        G_GSIZE_FORMAT " bytes after the response's header (an in-place "
        "answer has none)", size);
  if (self->server_declared_caps && !gst_caps_is_equal (self->out_caps,
          self->in_caps))
    return g_strdup ("The duplex server answered in place, but declares "
        "output caps other than the input's: the request's bytes cannot be "
        "its answer");
  return NULL;
}

/* Why a response of SIZE bytes (after its header) answering request
 * REQUEST cannot go out under the output caps (a raw video frame has one
 * size, raw audio whole sample frames: zerobuffer_frame_size_fits, which
 * zerosrc checks a writer's frames against too): *TEXT and *DEBUG (g_free
 * them), or FALSE. Pushed, it would be a short buffer downstream, rows read
 * at the wrong stride, or planes at the wrong offsets. With the push
 * lock. */
static gboolean
response_size_refused (GstZeroFilter * self, guint64 request, gsize size,
    gchar ** text, gchar ** debug)
{
  gsize header = gst_zero_link_header_size (self->link);
  gsize frame_size;
  gchar *expected, *caps, *quoted;
  const gchar *rule;

  if (zerobuffer_frame_size_fits (&self->sized, self->out_caps, size,
          " (the output caps)", &expected, &rule))
    return FALSE;
  frame_size = zerobuffer_frame_size (&self->sized, self->out_caps);
  caps = gst_caps_to_string (self->out_caps);
  quoted = zerobuffer_quote_peer_bytes ((const guint8 *) caps, strlen (caps),
      256);
  *text = g_strdup_printf ("The duplex server answered request %"
      G_GUINT64_FORMAT " with %" G_GSIZE_FORMAT " bytes, but %s%s", request,
      size, expected, frame_size != 0 && header > 0 &&
      !self->response_header && size == frame_size + header ?
      ": its answer is the request's per-frame header and frame, as from a "
      "server that does not read the header (frame-header=true): set "
      "frame-header=false with it" : "");
  *debug = g_strdup_printf ("output caps \"%s\" (%s); %s", quoted,
      self->server_declared_caps ?
      "declared by the server in its response metadata" : "the input's",
      rule);
  g_free (expected);
  g_free (quoted);
  g_free (caps);
  return TRUE;
}

/* Whether more answers came than requests wait for them
 * (zb_duplex_check_answers): a server that answers a request twice numbers
 * its answers on, and each surplus one would pair with a later request.
 * UNREAD: answers in the ring not taken yet, counted before this call
 * (so the requests count every request published by then, or
 * request_sending does); TAKEN: taken and not paired. With qlock. NULL, or
 * why (g_free it). */
static gchar *
surplus_answers (GstZeroFilter * self, guint64 unread, guint64 taken)
{
  const gchar *ring =
      zb_reader_name (gst_zero_src_ring_reader (self->responses));

  return zb_duplex_check_answers (&self->pairing, self->request_sending,
      unread + taken, ring) < 0 ? g_strdup (zb_last_error ()) : NULL;
}

/* The answers in the response ring not taken yet, from the task, its only
 * taker (so the count is exact). */
static guint64
unread_answers (GstZeroFilter * self)
{
  guint64 unread = 0;

  zb_reader_unread_frames (gst_zero_src_ring_reader (self->responses),
      &unread);
  return unread;
}

/* At EOS, every request answered: an answer still in the response ring,
 * or one the task took with no request waiting and has not told yet, is
 * one too many (surplus_answers' text, or NULL). From the streaming thread
 * while the task may wait on the ring: the ring's count from a health
 * snapshot, which may be low, never high. With the push lock. */
static gchar *
leftover_answers (GstZeroFilter * self)
{
  zb_health h;
  gchar *surplus;

  if (self->responses == NULL || self->surplus_told || is_bypass (self) ||
      zb_reader_health (gst_zero_src_ring_reader (self->responses), &h) < 0)
    return NULL;
  g_mutex_lock (&self->qlock);
  surplus = surplus_answers (self, h.frames_unread, self->surplus_taken);
  g_mutex_unlock (&self->qlock);
  return surplus;
}

/* Tells answers beyond the requests (WHY, surplus_answers'; taken): an
 * ESEQUENCE failure of ANSWERED (or of none), once. With the push lock. */
static GstFlowReturn
fail_surplus (GstZeroFilter * self, Pending * answered, const gchar * when,
    gchar * why)
{
  self->surplus_told = TRUE;
  return gst_zero_filter_fail (self, answered, ZB_ESEQUENCE,
      g_strdup_printf ("The duplex server sent more answers than requests%s",
          when), why);
}

/* Pushes RESPONSE as the answer to the oldest request, stamped like its
 * input; a response that fails us fails that request (with on-error=pass
 * it passes, gst_zero_filter_fail). The round trip ends at the response's
 * commit time from its frame header when it has one; else at ARRIVAL_NS,
 * when the task got it, and SEEN says the task was waiting for it then
 * (else it was ready when the task looked, and came when it did only if
 * the task pushed nothing downstream since the request's commit: otherwise
 * its round trip is not known, and not timed). With the push lock. */
static GstFlowReturn
gst_zero_filter_push_response (GstZeroFilter * self, zb_frame * frame,
    guint64 arrival_ns, gboolean seen)
{
  Pending *p;
  GstBuffer *out;
  GstMemory *memory;
  zb_frame_ext ext;
  gsize offset = 0, size = frame->size;
  gboolean discard, in_place = FALSE, timed;
  gchar *why, *debug, *surplus;
  guint64 request = frame->sequence;    /* once paired, the request's */
  guint64 rtt_us, unread;
  GstFlowReturn ret;
  int rc;

  unread = unread_answers (self);
  g_mutex_lock (&self->qlock);
  /* before the pop: once popped, the chain may be sending the next */
  surplus = surplus_answers (self, unread, 1);
  p = g_queue_pop_head (&self->pending);
  self->requests_waiting--;
  rc = zb_duplex_pair (&self->pairing, frame->sequence);
  qwake (self);
  g_mutex_unlock (&self->qlock);
  discard = p->discard;
  timed = seen || self->pushed_ns <= p->sent_ns;
  /* only a response sent before its request (a server out of turn) comes
   * earlier than sent_ns, which is taken before the request's commit */
  rtt_us = arrival_ns > p->sent_ns ? (arrival_ns - p->sent_ns) / 1000 : 0;
  if (!self->response_metadata) {
    /* a server that connected after the first caps wrote its metadata
     * (once) before this response: its caps go out before it, as they
     * would have at the first caps (caps downstream refuses: the push
     * says so) */
    GstCaps *caps = gst_zero_filter_take_server_caps (self, p, &ret);

    self->response_metadata = TRUE;
    if (ret != GST_FLOW_OK || is_bypass (self)) {       /* p was taken */
      zb_frame_release (frame);
      g_free (surplus);
      return ret;
    }
    if (caps != NULL) {
      gst_zero_filter_set_out_caps (self, caps);
      gst_caps_unref (caps);
    }
  }
  if (rc < 0) {
    zb_frame_release (frame);
    g_free (surplus);
    return gst_zero_filter_fail (self, p, rc, g_strdup
        ("The duplex server's responses do not pair with the requests"),
        g_strdup (zb_last_error ()));
  }
  if (surplus != NULL) {        /* which answer is whose is not known */
    zb_frame_release (frame);
    return fail_surplus (self, p, "", surplus);
  }
  if (self->response_header) {
    rc = zb_frame_ext_parse (frame->data, frame->size, &ext);
    if (rc < 0) {
      zb_frame_release (frame);
      return gst_zero_filter_fail (self, p, ZB_EPROTO, g_strdup
          ("A response has no valid frame header although the response "
              "metadata declares one"), g_strdup (zb_last_error ()));
    }
    offset = ext.data - frame->data;
    size = ext.size;
    in_place = (ext.zb_flags & ZB_EXT_IN_PLACE) != 0;
    if (ext.commit_ns != 0) {
      /* the server's commit (same CLOCK_MONOTONIC): the arrival, known
       * even when the task was pushing an earlier response then */
      timed = TRUE;
      rtt_us = ext.commit_ns > p->sent_ns ?
          (ext.commit_ns - p->sent_ns) / 1000 : 0;
    }
  }
  if (in_place && (why = in_place_refused (self, p, size)) != NULL) {
    zb_frame_release (frame);
    return gst_zero_filter_fail (self, p, ZB_EPROTO, why, NULL);
  }
  if (discard) {
    GST_DEBUG_OBJECT (self, "discarding the response to a flushed request");
    zb_frame_release (frame);
    pending_free (p);
    return GST_FLOW_OK;
  }
  /* checked while the request is held: if it fails, with on-error=pass its
   * bytes pass */
  if (in_place) {
    memory = held_request_memory (self, p);
    if (memory == NULL) {
      debug = g_strdup (zb_last_error ());
      zb_frame_release (frame);
      return gst_zero_filter_fail (self, p, ZB_EPROTO, g_strdup_printf
          ("The duplex server answered request %" G_GUINT64_FORMAT " in "
              "place, but wrote over its per-frame header (an answer in "
              "place goes after it): where the frame starts is unknown",
              request), debug);
    }
    zb_frame_release (frame);
  } else if (response_size_refused (self, request, size, &why,
          &debug)) {
    zb_frame_release (frame);
    return gst_zero_filter_fail (self, p, ZB_EPROTO, why, debug);
  } else {
    zb_hold_release (&p->hold); /* the request's bytes are not the answer */
    memory = gst_zero_src_ring_wrap (self->responses, frame, offset, size);
  }
  out = gst_buffer_new ();
  gst_buffer_append_memory (out, memory);
  stamp_response (self, out, p, self->response_header ? &ext : NULL,
      gst_zero_link_header_size (self->link) > 0, request);
  add_planar_audio_meta (self, out);
  pending_free (p);
  GST_OBJECT_LOCK (self);
  self->responses_pushed++;
  self->responses_in_place += in_place;
  if (timed)
    self->rtt_us[self->rtt_count++ % RTT_SAMPLES] = rtt_us;
  GST_OBJECT_UNLOCK (self);
  ret = gst_pad_push (self->srcpad, flag_for_push (self, out, 0));
  self->pushed_ns = zb_now_ns ();
  return ret;
}

/* Whether the server no longer reads the request ring (closed it, or died:
 * *PID, else 0). */
static gboolean
server_gone (GstZeroFilter * self, guint64 * pid)
{
  zb_health h;

  if (!gst_zero_link_health (self->link, &h) || h.reader_alive)
    return FALSE;
  *pid = h.reader_pid;
  return TRUE;
}

/* What may help a server that answers too slowly, or never: a longer
 * timeout, or on-error=pass if not in use. Not policy=drop: it skips
 * buffers while depth requests wait, but the oldest must still be answered
 * within the timeout; said when it is in use. */
static gchar *
timeout_hint (GstZeroFilter * self)
{
  gboolean drop, pass;

  GST_OBJECT_LOCK (self);
  drop = self->policy == GST_ZERO_FILTER_POLICY_DROP;
  pass = self->on_error == GST_ZERO_FILTER_ON_ERROR_PASS;
  GST_OBJECT_UNLOCK (self);
  return g_strdup_printf ("raise timeout (-1 waits forever)%s%s",
      pass ? "" : ", or use on-error=pass (pass buffers through unprocessed "
      "from then on)", drop ? "; policy=drop does not lift the timeout: it "
      "skips buffers while depth requests wait, and the oldest must still be "
      "answered in time" : "");
}

/* The task: waits (up to the timeout, in slices) for the response to the
 * oldest request and pushes it as soon as it is there. */
static GstFlowReturn
gst_zero_filter_take_response (GstZeroFilter * self)
{
  zb_reader *reader = gst_zero_src_ring_reader (self->responses);
  zb_frame frame;
  gint timeout;
  zb_deadline deadline;
  guint moved, waiting;
  guint64 arrival_ns, gone_pid = 0;
  gboolean seen;
  guint64 oldest;
  gboolean published;
  GstFlowReturn ret;
  int rc;

  GST_OBJECT_LOCK (self);
  timeout = self->timeout;
  GST_OBJECT_UNLOCK (self);
  /* time stopped (Ctrl-Z suspends zerobuffer's whole job, this process
   * and the server alike) does not count: at SIGCONT the request the
   * server had no time to answer would fail at once */
  zb_deadline_start (&deadline, timeout < 0 ? ZB_WAIT_FOREVER : timeout);
  if (self->has_early) {
    rc = self->early_rc;
    if (rc >= 0)
      frame = self->early;
    self->has_early = FALSE;
    arrival_ns = self->early_ns;
    seen = TRUE;                /* it came while the task waited, idle */
  } else {
    rc = zb_reader_take_ready (reader, &frame);
    arrival_ns = zb_now_ns ();
    seen = FALSE;
  }
  while (rc == ZB_EAGAIN || rc == ZB_ETIMEDOUT || rc == ZB_ECANCELED) {
    gint wait = zb_deadline_wait_ms (&deadline, WAIT_SLICE_MS);

    if (is_flushing (self))
      return GST_FLOW_FLUSHING;
    if (is_bypass (self))
      return GST_FLOW_OK;       /* the chain failed meanwhile */
    if (wait == 0) {
      rc = ZB_ETIMEDOUT;
      break;
    }
    /* the server may wait for room that responses held downstream take:
     * move them out of the ring (as zerosrc does) */
    moved = gst_zero_src_ring_make_room (self->responses);
    if (moved > 0)
      GST_INFO_OBJECT (self, "the response ring is full of buffers held "
          "downstream: copied %u of them out of it so that the server "
          "can answer on (a larger payload-size avoids the copies)", moved);
    rc = zb_reader_next (reader, &frame, wait);
    arrival_ns = zb_now_ns ();
    seen = TRUE;
    /* a server that went before it took the response ring never makes
     * this ring end: its request ring tells */
    if (rc == ZB_ETIMEDOUT && server_gone (self, &gone_pid)) {
      rc = zb_reader_take_ready (reader, &frame);  /* answered, then went */
      if (rc == ZB_EAGAIN)
        rc = ZB_EREADERGONE;
      break;
    }
  }

  g_rec_mutex_lock (&self->push_lock);
  g_mutex_lock (&self->qlock);
  /* the answer to a pool buffer the chain published ahead of requests
   * waiting: it pairs once the chain has queued it before them */
  while (rc >= 0 && self->request_reordered && !is_flushing (self))
    qwait (self);
  waiting = self->requests_waiting;
  oldest = self->pairing.responses + 1;
  published = oldest_request_published (self);
  g_mutex_unlock (&self->qlock);
  if (is_bypass (self) || waiting == 0) {
    if (rc >= 0)
      zb_frame_release (&frame);
    ret = GST_FLOW_OK;
  } else if (rc == ZB_ETIMEDOUT && !published) {
    ret = gst_zero_filter_fail (self, NULL, ZB_ETIMEDOUT, g_strdup_printf
        ("Request %" G_GUINT64_FORMAT " did not reach the duplex server "
            "within %d ms (%u request%s waiting): it is held back in the "
            "request ring behind a buffer that upstream took from "
            "zerofilter's pool before it and has neither pushed nor "
            "released", oldest, timeout, waiting, waiting == 1 ? "" : "s"),
        g_strdup ("requests are published in the order their buffers were "
            "taken; max-buffers=0 offers no pool (every request is "
            "copied)"));
  } else if (rc == ZB_ETIMEDOUT) {
    ret = gst_zero_filter_fail (self, NULL, ZB_ETIMEDOUT, g_strdup_printf
        ("The duplex server did not answer request %" G_GUINT64_FORMAT
            " within %d ms (%u request%s waiting)", oldest, timeout, waiting,
            waiting == 1 ? "" : "s"), timeout_hint (self));
  } else if (rc == ZB_EOF) {
    ret = gst_zero_filter_fail (self, NULL, ZB_EOF, g_strdup_printf
        ("The duplex server stopped answering with %u request%s waiting",
            waiting, waiting == 1 ? "" : "s"),
        g_strdup ("its response writer detached"));
  } else if (rc == ZB_EWRITERDEAD) {
    ret = gst_zero_filter_fail (self, NULL, rc, g_strdup_printf
        ("The duplex server died with %u request%s waiting", waiting,
            waiting == 1 ? "" : "s"),
        g_strdup (zb_last_error ()));
  } else if (rc == ZB_EREADERGONE) {
    ret = gst_zero_filter_fail (self, NULL, rc, g_strdup_printf
        ("The duplex server %s with %u request%s waiting, before it "
            "answered %s", gone_pid != 0 ? "died" : "left", waiting,
            waiting == 1 ? "" : "s", waiting == 1 ? "it" : "them"),
        gone_pid != 0 ? g_strdup_printf ("the reader of the request ring, "
            "pid %" G_GUINT64_FORMAT ", is dead", gone_pid) :
        g_strdup ("the reader of the request ring closed it"));
  } else if (rc == ZB_ESEQUENCE || rc == ZB_EPROTO) {
    /* the response to the oldest request came wrong (lost, repeated,
     * malformed): that request fails, and with on-error=pass passes */
    gchar *debug = g_strdup (zb_last_error ());
    Pending *p;

    g_mutex_lock (&self->qlock);
    p = g_queue_pop_head (&self->pending);
    self->requests_waiting--;
    qwake (self);
    g_mutex_unlock (&self->qlock);
    ret = gst_zero_filter_fail (self, p, rc, rc == ZB_ESEQUENCE ?
        g_strdup ("The duplex server's responses do not pair with the "
            "requests") : g_strdup_printf ("Could not read a response: %s",
            zb_strerror (rc)), debug);
  } else if (rc < 0) {
    ret = gst_zero_filter_fail (self, NULL, rc, g_strdup_printf
        ("Could not read a response: %s", zb_strerror (rc)),
        g_strdup (zb_last_error ()));
  } else {
    ret = gst_zero_filter_push_response (self, &frame, arrival_ns, seen);
  }
  g_rec_mutex_unlock (&self->push_lock);
  return ret;
}

/* With no request pending, the task waits on the response ring rather
 * than on qcond: the answer to the next request then wakes it once, and
 * the chain need not wake it (the request is pending by the time its
 * answer comes, or a moment later). In idle slices, each ending early
 * when a request is pending, for a slice in all; then the loop waits on
 * qcond (a server's end meanwhile is seen at the next request). A frame
 * or an error is kept for the next response wait (the core reports a
 * writer's end once). An answer that came while no request waited for it
 * (none published, or every one answered: a server that answers twice)
 * fails at once: paired with the next request, it would be the wrong
 * answer. */
static GstFlowReturn
gst_zero_filter_wait_early (GstZeroFilter * self)
{
  zb_reader *reader = gst_zero_src_ring_reader (self->responses);
  GstFlowReturn ret = GST_FLOW_OK;
  gboolean idle = TRUE;
  gchar *surplus;
  gint waited;
  int rc;

  for (waited = 0; waited < WAIT_SLICE_MS && idle; waited += IDLE_SLICE_MS) {
    if (is_flushing (self) || is_bypass (self))
      return GST_FLOW_OK;
    rc = zb_reader_next (reader, &self->early, IDLE_SLICE_MS);
    if (rc == ZB_ECANCELED)
      return GST_FLOW_OK;
    surplus = NULL;
    if (rc == 0) {
      guint64 unread = unread_answers (self);

      g_mutex_lock (&self->qlock);
      surplus = surplus_answers (self, unread, 1);
      self->surplus_taken = surplus != NULL;    /* told at EOS if not before */
      g_mutex_unlock (&self->qlock);
    }
    if (surplus != NULL) {
      zb_frame_release (&self->early);
      g_rec_mutex_lock (&self->push_lock);
      if (!self->surplus_told && !is_bypass (self))
        ret = fail_surplus (self, NULL, "", surplus);
      else
        g_free (surplus);
      g_rec_mutex_unlock (&self->push_lock);
      return ret;
    }
    if (rc != ZB_ETIMEDOUT && rc != ZB_EAGAIN) {
      self->early_rc = rc;
      self->early_ns = zb_now_ns ();
      self->has_early = TRUE;
      return GST_FLOW_OK;
    }
    g_mutex_lock (&self->qlock);
    idle = g_queue_is_empty (&self->pending);
    g_mutex_unlock (&self->qlock);
  }
  return GST_FLOW_OK;
}

/* A buffer skipped by policy=drop skipped=pass while the output caps are
 * the server's, not the input's: it cannot go out unprocessed (RGB bytes
 * under GRAY8 caps, say), nor the input caps for it (downstream would
 * renegotiate twice a buffer), so it is dropped, with one warning. With
 * the push lock. */
static void
gst_zero_filter_drop_skipped (GstZeroFilter * self, GstBuffer * buffer)
{
  gchar *in, *out;

  self->push_drop_flags |= GST_BUFFER_FLAG_DISCONT |
      (GST_BUFFER_FLAGS (buffer) & GST_BUFFER_FLAG_RESYNC);
  gst_buffer_unref (buffer);
  COUNT (self, dropped);
  if (self->warned_skipped_caps)
    return;
  self->warned_skipped_caps = TRUE;
  in = gst_caps_to_string (self->in_caps);
  out = gst_caps_to_string (self->out_caps);
  GST_ELEMENT_WARNING (self, STREAM, FORMAT, ("The duplex server's output "
          "caps are not the input's: skipped buffers cannot pass "
          "unprocessed, they are dropped (skipped=pass under policy=drop)"),
      ("input caps %s, output caps %s; the dropped buffers are counted in "
          "frames-dropped", in, out));
  g_free (in);
  g_free (out);
}

/* The src pad's task: pushes each response as soon as it comes, and the
 * skipped buffers in their turn. Pauses on flushing, bypass (closing the
 * response ring, of which it is the only reader) and a flow error, which
 * the next chain call returns upstream. */
static void
gst_zero_filter_loop (gpointer user_data)
{
  GstZeroFilter *self = GST_ZERO_FILTER (user_data);
  GstFlowReturn ret;
  Pending *p;
  gboolean bypass;

  g_mutex_lock (&self->qlock);
  if (!self->has_early && g_queue_is_empty (&self->pending)) {
    g_mutex_unlock (&self->qlock);
    ret = gst_zero_filter_wait_early (self);
    g_mutex_lock (&self->qlock);
    if (ret != GST_FLOW_OK && self->task_ret == GST_FLOW_OK)
      self->task_ret = ret;
  }
  while (!is_flushing (self) && !self->bypass &&
      self->task_ret == GST_FLOW_OK && g_queue_is_empty (&self->pending))
    qwait (self);
  bypass = self->bypass;
  if (is_flushing (self) || bypass || self->task_ret != GST_FLOW_OK) {
    g_mutex_unlock (&self->qlock);
    if (bypass)
      responses_close (self);
    gst_pad_pause_task (self->srcpad);
    return;
  }
  p = g_queue_peek_head (&self->pending);
  if (p->pass == NULL) {
    g_mutex_unlock (&self->qlock);
    ret = gst_zero_filter_take_response (self);
  } else {
    GstBuffer *b;
    guint flags;

    g_mutex_unlock (&self->qlock);
    g_rec_mutex_lock (&self->push_lock);
    g_mutex_lock (&self->qlock);
    p = g_queue_pop_head (&self->pending);
    qwake (self);
    g_mutex_unlock (&self->qlock);
    b = p->pass;
    flags = p->flags;
    p->pass = NULL;
    pending_free (p);
    /* in_caps are this buffer's: a caps change waits for what is pending */
    if (self->out_caps != NULL && !gst_caps_is_equal (self->out_caps,
            self->in_caps)) {
      gst_zero_filter_drop_skipped (self, flag_for_push (self, b, flags));
      ret = GST_FLOW_OK;
    } else {
      COUNT (self, passed);
      ret = gst_pad_push (self->srcpad, flag_for_push (self, b, flags));
      self->pushed_ns = zb_now_ns ();
    }
    g_rec_mutex_unlock (&self->push_lock);
  }
  if (ret != GST_FLOW_OK) {
    GST_DEBUG_OBJECT (self, "pausing the task: %s", gst_flow_get_name (ret));
    /* downstream refused (the server's caps, say): an error here, as
     * upstream, which gets it at its next buffer, may have sent its last */
    if (ret == GST_FLOW_NOT_NEGOTIATED || ret == GST_FLOW_NOT_LINKED)
      GST_ELEMENT_FLOW_ERROR (self, ret);
    g_mutex_lock (&self->qlock);
    if (self->task_ret == GST_FLOW_OK)
      self->task_ret = ret;
    qwake (self);
    g_mutex_unlock (&self->qlock);
    gst_pad_pause_task (self->srcpad);
  }
}

static void
gst_zero_filter_start_task (GstZeroFilter * self)
{
  g_mutex_lock (&self->task_lock);
  if (!self->stopping && !is_flushing (self) && self->responses != NULL &&
      !is_bypass (self))
    gst_pad_start_task (self->srcpad, gst_zero_filter_loop, self, NULL);
  g_mutex_unlock (&self->task_lock);
}

/* Cancels the waits, so that no task starts from now on (STOPPING: until
 * the next start; else until flush stop). The caller then stops or pauses
 * the task that may have started before. */
static void
gst_zero_filter_cancel (GstZeroFilter * self, gboolean stopping)
{
  g_mutex_lock (&self->task_lock);
  if (stopping)
    self->stopping = TRUE;
  g_cancellable_cancel (self->flushing);
  g_mutex_unlock (&self->task_lock);
}

/* Waits until every buffer before now has gone downstream (each response
 * wait of the task bounded by the timeout); the flow return to give
 * upstream. */
static GstFlowReturn
gst_zero_filter_wait_sent (GstZeroFilter * self)
{
  GstFlowReturn ret;

  g_mutex_lock (&self->qlock);
  while (!is_flushing (self) && self->task_ret == GST_FLOW_OK &&
      !g_queue_is_empty (&self->pending))
    qwait (self);
  ret = is_flushing (self) ? GST_FLOW_FLUSHING : self->task_ret;
  g_mutex_unlock (&self->qlock);
  return ret;
}

/* ---------------------------------------------------------------- chain */

/* The chain function dropped BUFFER (or a request: NULL); REPEAT: a
 * repeat (videorate's copy of the frame before), which loses nothing, so
 * the next frame gets only the flags it carried, no DISCONT (as zerosink
 * does). */
static void
chain_dropped (GstZeroFilter * self, GstBuffer * buffer, gboolean repeat)
{
  COUNT (self, dropped);
  if (!repeat)
    self->drop_flags |= GST_BUFFER_FLAG_DISCONT;
  if (buffer != NULL)
    self->drop_flags |= GST_BUFFER_FLAGS (buffer) &
        (GST_BUFFER_FLAG_DISCONT | GST_BUFFER_FLAG_RESYNC);
}

static Pending *
pending_new (GstBuffer * buffer)
{
  Pending *p = g_new0 (Pending, 1);

  p->pts = GST_BUFFER_PTS (buffer);
  p->dts = GST_BUFFER_DTS (buffer);
  p->duration = GST_BUFFER_DURATION (buffer);
  p->flags = GST_BUFFER_FLAGS (buffer) & ZEROBUFFER_CARRIED_FLAGS;
  return p;
}

/* P, about to be queued (it will go downstream, as a response or passed),
 * takes the flags the chain function's drops left for the next buffer.
 * Only then: a request that is dropped or fails to be written leaves them
 * for the buffer after it (or passes with them, gst_zero_filter_pass). */
static void
pending_take_drop_flags (GstZeroFilter * self, Pending * p)
{
  p->flags |= self->drop_flags;
  p->drop_flags = self->drop_flags;
  self->drop_flags = 0;
}

/* Buffer skipped by policy=drop: passed in its turn by the task (copied
 * out of the request ring when it is one of the pool's reservations, which
 * must not stay open), or dropped. With the queue lock. */
static void
gst_zero_filter_skip (GstZeroFilter * self, GstBuffer * buffer,
    gboolean pass)
{
  Pending *p;

  gst_zero_key_unit_need_lost (&self->key_unit);
  if (!pass || self->requests_waiting == 0) {
    chain_dropped (self, buffer, FALSE);
    gst_buffer_unref (buffer);
    return;
  }
  p = pending_new (buffer);
  pending_take_drop_flags (self, p);
  if (gst_zero_sink_pool_reservation (gst_buffer_peek_memory (buffer, 0))) {
    p->pass = gst_buffer_copy_deep (buffer);
    gst_buffer_unref (buffer);
  } else {
    p->pass = buffer;
  }
  g_queue_push_tail (&self->pending, p);
  qwake (self);
}

/* Pushes BUFFER unprocessed after what came before it; a pool buffer as a
 * copy, so that its reservation in the request ring does not stay open
 * downstream. */
static GstFlowReturn
gst_zero_filter_pass (GstZeroFilter * self, GstBuffer * buffer)
{
  GstFlowReturn ret = gst_zero_filter_wait_sent (self);

  if (ret != GST_FLOW_OK) {
    gst_buffer_unref (buffer);
    return ret;
  }
  if (gst_zero_sink_pool_reservation (gst_buffer_peek_memory (buffer, 0))) {
    GstBuffer *copy = gst_buffer_copy_deep (buffer);

    gst_buffer_unref (buffer);
    buffer = copy;
  }
  COUNT (self, passed);
  g_rec_mutex_lock (&self->push_lock);
  ret = gst_pad_push (self->srcpad, flag_for_push (self, buffer,
          self->drop_flags));
  self->drop_flags = 0;
  g_rec_mutex_unlock (&self->push_lock);
  return ret;
}

/* Writes each buffer as a request (the task pushes its response); waits
 * while depth requests wait (policy=block) or skips it (policy=drop). */
static GstFlowReturn
gst_zero_filter_chain (GstPad * pad, GstObject * parent, GstBuffer * buffer)
{
  GstZeroFilter *self = GST_ZERO_FILTER (parent);
  gsize size = gst_buffer_get_size (buffer);
  GstZeroWriteKind kind = GST_ZERO_WRITE_COPIED;
  GstZeroError *e = NULL;
  GstFlowReturn ret;
  guint depth;
  gboolean drop, pass_skipped, connected, in_place, pass_on_error;
  gboolean delta = GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DELTA_UNIT);
  GstBuffer *passing;
  zb_reservation *reservation;
  Pending *p, *last;

  COUNT (self, frames_in);
  if (is_bypass (self) || size == 0)
    return gst_zero_filter_pass (self, buffer);
  GST_OBJECT_LOCK (self);
  connected = self->responses != NULL;
  depth = self->depth;
  drop = self->policy == GST_ZERO_FILTER_POLICY_DROP;
  pass_skipped = self->skipped == GST_ZERO_FILTER_SKIPPED_PASS;
  in_place = self->in_place;
  pass_on_error = self->on_error == GST_ZERO_FILTER_ON_ERROR_PASS;
  GST_OBJECT_UNLOCK (self);
  if (!connected) {
    g_rec_mutex_lock (&self->push_lock);
    if (self->in_caps == NULL) {
      GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("No caps before the "
              "first buffer"), (NULL));
      ret = GST_FLOW_NOT_NEGOTIATED;
    } else if (!self->session_ended) {
      ret = GST_FLOW_NOT_NEGOTIATED;    /* the caps failed us: said then */
    } else if ((ret = gst_zero_filter_connect (self)) == GST_FLOW_OK) {
      self->session_ended = FALSE;
      gst_zero_filter_start_task (self);
    }
    g_rec_mutex_unlock (&self->push_lock);
    if (ret != GST_FLOW_OK) {
      gst_buffer_unref (buffer);
      return ret;
    }
    if (is_bypass (self))       /* the new session failed: on-error=pass */
      return gst_zero_filter_pass (self, buffer);
  }

  /* no wait for an answer the server cannot give: the request is held
   * back in the ring by a buffer upstream took before it, maybe the very
   * buffer upstream would push once this one returns (each slice looks
   * again) */
  g_mutex_lock (&self->qlock);
  while (!is_flushing (self) && self->task_ret == GST_FLOW_OK &&
      !self->bypass && self->requests_waiting >= depth &&
      oldest_request_published (self)) {
    if (drop) {
      /* the task still fails a request older than the timeout */
      if (g_queue_get_length (&self->pending) >= 2 * depth + 1)
        pass_skipped = FALSE;   /* bounded: the skipped wait in memory */
      gst_zero_filter_skip (self, buffer, pass_skipped);
      g_mutex_unlock (&self->qlock);
      return GST_FLOW_OK;
    }
    qwait (self);
  }
  ret = is_flushing (self) ? GST_FLOW_FLUSHING : self->task_ret;
  g_mutex_unlock (&self->qlock);
  if (ret != GST_FLOW_OK) {
    gst_buffer_unref (buffer);
    return ret;
  }
  if (is_bypass (self))
    return gst_zero_filter_pass (self, buffer);

  /* held with on-error=pass too: if its response fails us, it passes */
  p = pending_new (buffer);
  p->in_place = in_place;
  reservation = gst_zero_sink_pool_reservation (gst_buffer_peek_memory (buffer,
          0));
  g_mutex_lock (&self->qlock);
  self->request_sending = TRUE; /* until counted, or known not sent */
  last = last_request (self);
  self->request_reordered = reservation != NULL &&
      reservation->writer != NULL && last != NULL &&
      last->frame_id > reservation->id;
  g_mutex_unlock (&self->qlock);
  ret = gst_zero_sink_pool_write (self->link, buffer, &size, 0, self->flushing,
      in_place || pass_on_error ? &p->hold : NULL, NULL, NULL, &kind,
      &p->sent_ns, &p->frame_id, &e);
  if (ret != GST_FLOW_OK || kind == GST_ZERO_WRITE_DROPPED ||
      kind == GST_ZERO_WRITE_REPEAT_DROPPED || kind == GST_ZERO_WRITE_LATE) {
    g_mutex_lock (&self->qlock);
    self->request_sending = self->request_reordered = FALSE;
    qwake (self);
    g_mutex_unlock (&self->qlock);
  }
  if (kind == GST_ZERO_WRITE_REPEATED || kind == GST_ZERO_WRITE_REPEAT_DROPPED)
    gst_zero_link_refuse_pool (self->link, GST_ELEMENT (self), self->sinkpad,
        "requests", "max-buffers=0", kind == GST_ZERO_WRITE_REPEAT_DROPPED);
  if (ret == GST_FLOW_OK && (kind == GST_ZERO_WRITE_DROPPED ||
          kind == GST_ZERO_WRITE_REPEAT_DROPPED ||
          kind == GST_ZERO_WRITE_LATE)) {
    /* (a full ring never drops: the link's policy blocks; late: a pool
     * buffer copied behind one taken after it, as a repeat) */
    if (kind != GST_ZERO_WRITE_REPEAT_DROPPED)
      gst_zero_key_unit_need_lost (&self->key_unit);
    chain_dropped (self, buffer, kind == GST_ZERO_WRITE_REPEAT_DROPPED);
    gst_buffer_unref (buffer);
    pending_free (p);
    return GST_FLOW_OK;
  }
  if (ret != GST_FLOW_OK) {
    pending_free (p);
    if (e == NULL) {
      gst_buffer_unref (buffer);
      return ret;
    }
    g_rec_mutex_lock (&self->push_lock);
    /* (the link's text says "the reader": here the duplex server) */
    ret = gst_zero_filter_fail (self, NULL, e->code, g_strdup_printf
        ("Could not send a request: %s%s", e->text, e->code == ZB_EMSGSIZE ?
            "; the duplex server created this request ring: its payload "
            "size sets its size (ZeroBufferDuplexServer: payloadSize; "
            "zerobuffer filter: --payload-size N)" : ""),
        g_strdup (e->debug));
    g_rec_mutex_unlock (&self->push_lock);
    gst_zero_error_free (e);
    /* on-error=pass: the buffer passes, unless it is a reservation of the
     * request ring the write failed to commit (its bytes are not sure) */
    if (ret == GST_FLOW_OK && is_bypass (self) &&
        !gst_zero_sink_pool_reservation (gst_buffer_peek_memory (buffer, 0)))
      return gst_zero_filter_pass (self, buffer);
    if (ret == GST_FLOW_OK)
      chain_dropped (self, buffer, FALSE);
    gst_buffer_unref (buffer);
    return ret;
  }
  gst_buffer_unref (buffer);
  gst_zero_key_unit_need_written (&self->key_unit, self->link, self->sinkpad,
      delta);
  passing = NULL;
  g_mutex_lock (&self->qlock);
  self->request_sending = self->request_reordered = FALSE;
  qwake (self);
  if (!self->bypass) {
    pending_take_drop_flags (self, p);
    pending_add_request (self, p);
    self->requests_waiting++;
    self->pairing.requests++;
    p = NULL;
  }
  g_mutex_unlock (&self->qlock);
  GST_OBJECT_LOCK (self);
  self->requests++;
  if (kind == GST_ZERO_WRITE_IN_PLACE)
    self->requests_zero_copy++;
  GST_OBJECT_UNLOCK (self);
  if (p != NULL) {              /* failed meanwhile, after it was sent */
    /* an in-place server may have answered it already, in the request
     * ring: then its bytes are no longer the input's */
    if (p->hold.writer != NULL && !p->in_place)
      passing = held_request_buffer (self, p);
    if (passing == NULL) {
      chain_dropped (self, NULL, FALSE);
      self->drop_flags |= p->flags & GST_BUFFER_FLAG_RESYNC;
    }
    pending_free (p);
  }
  return passing != NULL ? gst_zero_filter_pass (self, passing) :
      GST_FLOW_OK;
}
/* ---------------------------------------------------------------- events */

/* After a caps change: the request ring's metadata keeps the first caps
 * (a ring's metadata is written once), so with frame-header=true every
 * request whose caps differ carries its own in the frame header's
 * attributes ({"caps":"..."}; the Node server's frame.caps and image()
 * follow them). Without the header a server cannot learn them: a warning
 * (a server that does not look at caps, an echo, is served on), but none
 * for caps that only add fields to the first (h264parse refining its caps
 * with profile, level, codec_data): their frames are the same format. */
static void
gst_zero_filter_request_caps (GstZeroFilter * self, GstCaps * caps)
{
  gchar *channel, *text, *first_text;
  GstCaps *first;

  if (is_bypass (self) || gst_zero_link_set_frame_caps (self->link, caps))
    return;
  GST_OBJECT_LOCK (self);
  channel = g_strdup (self->channel);
  GST_OBJECT_UNLOCK (self);
  text = gst_caps_to_string (caps);
  first = gst_zero_link_ref_metadata_caps (self->link);
  first_text = first ? gst_caps_to_string (first) : g_strdup ("(none)");
  gst_clear_caps (&first);
  zerobuffer_post_message (GST_ELEMENT (self), GST_MESSAGE_WARNING,
      ZB_EMETADATA, channel, g_strdup_printf ("The input caps changed from "
          "%s to %s, but the duplex server only knows the first caps (the "
          "request ring's metadata)", first_text, text), g_strdup ("set "
          "frame-header=true (with a server that reads it, such as the "
          "zerobuffer Node server) so that each request carries its caps; "
          "caps that only add fields to the first ones need not"), __FILE__,
      GST_FUNCTION, __LINE__);
  g_free (first_text);
  g_free (text);
  g_free (channel);
}

/* After a caps change, every response before it pushed: whether the
 * response ring holds one answer to a frame of the new caps (raw video)
 * or to a buffer of them (raw audio, by time as the ring is sized: a
 * buffer of up to a second); the server answers with frames of the input
 * caps unless it declared caps of its own. The ring was sized at the
 * start of the session (with payload-size 0, for the first caps) and the
 * server's writer stays on it for the session: the duplex protocol has no
 * way to move it to a larger one. An answer that can never fit made the
 * server fail, and zerofilter said only that it stopped answering; now
 * the change is an EMSGSIZE failure naming payload-size and the size
 * needed. Not when answers may come in place (in-place, and the server
 * declared the frame header): those take a header's room. With the push
 * lock; FALSE when that failed us with an error. */
static gboolean
gst_zero_filter_check_response_room (GstZeroFilter * self)
{
  GstVideoInfo info;
  zb_health h;
  guint64 payload_size, answer_size, needed, sized;
  guint depth;
  gboolean in_place, audio;
  gchar *caps, *has, *answers;
  GstFlowReturn ret;

  if (is_bypass (self) || self->responses == NULL ||
      self->server_declared_caps || gst_caps_is_empty (self->in_caps) ||
      gst_caps_is_any (self->in_caps) ||
      zb_reader_health (gst_zero_src_ring_reader (self->responses), &h) < 0)
    return TRUE;
  GST_OBJECT_LOCK (self);
  payload_size = self->payload_size;
  depth = self->depth;
  in_place = self->in_place;
  GST_OBJECT_UNLOCK (self);
  audio = FALSE;
  if (gst_video_info_from_caps (&info, self->in_caps)) {
    answer_size = GST_VIDEO_INFO_SIZE (&info);
    answers = g_strdup_printf ("%s %dx%d frames of %" G_GUINT64_FORMAT
        " bytes", GST_VIDEO_INFO_NAME (&info), GST_VIDEO_INFO_WIDTH (&info),
        GST_VIDEO_INFO_HEIGHT (&info), answer_size);
    sized = zb_duplex_payload_size (answer_size, depth);
  } else {
    const GstStructure *s = gst_caps_get_structure (self->in_caps, 0);
    gint rate = 0, channels = 0;

    answer_size = zerobuffer_audio_bytes_per_second (s);
    if (answer_size == 0)       /* neither raw video nor raw audio */
      return TRUE;
    audio = TRUE;
    gst_structure_get_int (s, "rate", &rate);
    gst_structure_get_int (s, "channels", &channels);
    answers = g_strdup_printf ("%s audio of %d channel%s at %d Hz in "
        "buffers of up to a second (%" G_GUINT64_FORMAT " bytes)",
        gst_structure_get_string (s, "format"), channels,
        channels == 1 ? "" : "s", rate, answer_size);
    sized = zb_duplex_payload_size_for_rate (answer_size, depth);
  }
  needed = zb_payload_size_for (answer_size + (self->response_header ?
          ZB_EXT_HEADER_SIZE : 0), 1, FALSE);
  if (needed == 0 || needed <= h.payload_size ||
      (in_place && self->response_header)) {
    g_free (answers);
    return TRUE;
  }
  has = payload_size != 0 ? g_strdup_printf ("this zerofilter has "
      "payload-size=%" G_GUINT64_FORMAT, payload_size) :
      g_strdup_printf ("this zerofilter's response ring has %"
      G_GUINT64_FORMAT " bytes (payload-size=0 sized it for the first caps)",
      h.payload_size);
  caps = gst_caps_to_string (self->in_caps);
  ret = gst_zero_filter_fail (self, NULL, ZB_EMSGSIZE,
      g_strdup_printf ("The response ring cannot hold an answer to the new "
          "caps' %s: %s need payload-size=%" G_GUINT64_FORMAT " or more, %s",
          audio ? "buffers" : "frames", answers, needed, has),
      g_strdup_printf ("new input caps %s; the duplex server writes each "
          "answer into the response ring, which zerofilter creates at the "
          "start of the session and the server keeps: set payload-size for "
          "the largest %s (%" G_GUINT64_FORMAT ": what payload-size=0 "
          "gives %s)", caps, audio ? "buffers" : "frames", sized,
          audio ? "this audio, depth + 3 buffers of up to a second" :
          "these frames, at least depth + 3 of them"));
  g_free (answers);
  g_free (caps);
  g_free (has);
  return ret == GST_FLOW_OK;
}

/* The first caps: connects, then pushes the output caps and starts the
 * task. With the push lock. */
static gboolean
gst_zero_filter_first_caps (GstZeroFilter * self, GstCaps * caps)
{
  GstZeroError *e = NULL;
  GstFlowReturn ret = GST_FLOW_OK;

  gst_caps_replace (&self->in_caps, caps);
  if (!is_bypass (self) && !gst_zero_link_set_caps (self->link, caps, &e)) {
    ret = gst_zero_filter_fail (self, NULL, e->code, g_strdup (e->text),
        g_strdup (e->debug));
    gst_zero_error_free (e);
  }
  if (ret == GST_FLOW_OK && !is_bypass (self) && self->responses == NULL)
    ret = gst_zero_filter_connect (self);
  if (ret != GST_FLOW_OK || !gst_zero_filter_push_caps (self)) {
    /* a flush ended the wait (a seek before the server came): the caps
     * upstream sends again after it are the first caps again, not a
     * change of caps of a stream that never connected */
    if (is_flushing (self)) {
      gst_caps_replace (&self->in_caps, NULL);
      gst_caps_replace (&self->out_caps, NULL);
    }
    return FALSE;
  }
  if (is_bypass (self))
    responses_close (self);     /* no task reads it */
  else
    gst_zero_filter_start_task (self);
  return TRUE;
}

static gboolean
gst_zero_filter_sink_event (GstPad * pad, GstObject * parent,
    GstEvent * event)
{
  GstZeroFilter *self = GST_ZERO_FILTER (parent);
  gboolean ok;

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS:{
      GstCaps *caps;
      gboolean changed, sent;

      gst_event_parse_caps (event, &caps);
      if (self->in_caps == NULL) {
        g_rec_mutex_lock (&self->push_lock);
        ok = gst_zero_filter_first_caps (self, caps);
        g_rec_mutex_unlock (&self->push_lock);
        gst_event_unref (event);
        return ok;
      }
      /* renegotiated mid-stream: the older responses first */
      changed = !gst_caps_is_equal (caps, self->in_caps);
      sent = changed && gst_zero_filter_wait_sent (self) == GST_FLOW_OK;
      g_rec_mutex_lock (&self->push_lock);
      gst_caps_replace (&self->in_caps, caps);
      gst_zero_filter_request_caps (self, caps);
      ok = !sent || gst_zero_filter_check_response_room (self);
      /* the server's own caps stay */
      ok = ok && ((self->server_declared_caps && !is_bypass (self)) ||
          gst_zero_filter_set_out_caps (self, self->in_caps));
      g_rec_mutex_unlock (&self->push_lock);
      gst_event_unref (event);
      return ok;
    }
    case GST_EVENT_EOS:{
      gchar *surplus;
      gboolean answered;
      GstFlowReturn ret = GST_FLOW_OK;

      /* no buffer comes after EOS to fill the places of plain buffers:
       * cancelled first, the requests committed behind them go out and
       * are answered below (kept, they waited for good) */
      gst_zero_sink_pool_cancel_places (self->link);
      /* every request answered, then the server sees the end */
      answered = gst_zero_filter_wait_sent (self) == GST_FLOW_OK;
      g_rec_mutex_lock (&self->push_lock);     /* the last push done */
      if (answered && (surplus = leftover_answers (self)) != NULL)
        ret = fail_surplus (self, NULL, ": answers were left over at the "
            "end of stream", surplus);
      gst_zero_link_finish (self->link);
      self->session_ended = TRUE;
      if (ret == GST_FLOW_OK) {
        gst_zero_filter_post_stats (self);
        ok = gst_pad_event_default (pad, parent, event);
      } else {                  /* the error carries the counts */
        gst_event_unref (event);
        ok = FALSE;
      }
      g_rec_mutex_unlock (&self->push_lock);
      return ok;
    }
    case GST_EVENT_FLUSH_START:
      gst_zero_filter_cancel (self, FALSE);
      /* the pool acquires of upstream's thread too, until flush-stop */
      gst_zero_link_flush (self->link);
      responses_wake (self);
      g_mutex_lock (&self->qlock);
      qwake (self);
      g_mutex_unlock (&self->qlock);
      ok = gst_pad_event_default (pad, parent, event);
      gst_pad_pause_task (self->srcpad);
      return ok;
    case GST_EVENT_FLUSH_STOP:{
      GList *l;

      /* requests already sent are still answered: their responses are
       * thrown away when they come, so the pairing stays; after EOS (a
       * replay, a loop) the server ended that client and let its response
       * ring go, so none comes: the next request is a new writer's first
       * (gst_zero_link_resume), answered into a new response ring */
      g_rec_mutex_lock (&self->push_lock);
      g_mutex_lock (&self->qlock);
      for (l = self->pending.head; l != NULL;) {
        GList *next = l->next;
        Pending *p = l->data;

        if (p->pass != NULL || self->session_ended) {
          if (p->pass == NULL)
            self->requests_waiting--;
          pending_free (p);
          g_queue_delete_link (&self->pending, l);
        } else {
          p->discard = TRUE;
        }
        l = next;
      }
      self->task_ret = GST_FLOW_OK;
      g_mutex_unlock (&self->qlock);
      /* a flush stop racing the stop leaves the waits cancelled */
      g_mutex_lock (&self->task_lock);
      if (!self->stopping)
        g_cancellable_reset (self->flushing);
      g_mutex_unlock (&self->task_lock);
      if (self->session_ended)
        responses_close (self);
      g_rec_mutex_unlock (&self->push_lock);
      gst_zero_link_resume (self->link);
      ok = gst_pad_event_default (pad, parent, event);
      gst_zero_filter_start_task (self);
      return ok;
    }
    default:
      /* what came before a serialized event goes out before it */
      if (GST_EVENT_IS_SERIALIZED (event)) {
        gst_zero_filter_wait_sent (self);
        g_rec_mutex_lock (&self->push_lock);
        ok = gst_pad_event_default (pad, parent, event);
        g_rec_mutex_unlock (&self->push_lock);
        return ok;
      }
      break;
  }
  return gst_pad_event_default (pad, parent, event);
}

/* The output caps are the input caps unless the server declares its own:
 * upstream may send what downstream accepts. When downstream accepts none
 * of what upstream offers, the answer is the template (ANY): the server
 * (not known before the first caps) may declare caps of its own. */
static gboolean
gst_zero_filter_sink_caps_query (GstZeroFilter * self, GstQuery * query)
{
  GstCaps *filter, *caps, *tmpl;

  if (GST_QUERY_TYPE (query) == GST_QUERY_ACCEPT_CAPS)
    gst_query_parse_accept_caps (query, &filter);
  else
    gst_query_parse_caps (query, &filter);
  caps = gst_pad_peer_query_caps (self->srcpad, filter);
  if (gst_caps_is_empty (caps)) {
    gst_caps_unref (caps);
    tmpl = gst_pad_get_pad_template_caps (self->sinkpad);
    caps = filter ? gst_caps_intersect_full (filter, tmpl,
        GST_CAPS_INTERSECT_FIRST) : gst_caps_ref (tmpl);
    gst_caps_unref (tmpl);
  }
  if (GST_QUERY_TYPE (query) == GST_QUERY_ACCEPT_CAPS)
    gst_query_set_accept_caps_result (query, gst_caps_is_subset (filter,
            caps));
  else
    gst_query_set_caps_result (query, caps);
  gst_caps_unref (caps);
  return TRUE;
}

static gboolean
gst_zero_filter_sink_query (GstPad * pad, GstObject * parent,
    GstQuery * query)
{
  GstZeroFilter *self = GST_ZERO_FILTER (parent);

  if (GST_QUERY_TYPE (query) == GST_QUERY_ALLOCATION) {
    guint max_buffers;
    GBytes *attributes = gst_zero_link_ref_attributes (self->link);

    GST_OBJECT_LOCK (self);
    max_buffers = self->max_buffers;
    GST_OBJECT_UNLOCK (self);
    /* requests that carry their caps in the frame header do not fit the
     * pool's buffers */
    if (max_buffers > 0 && !is_bypass (self) && attributes == NULL &&
        !gst_zero_link_pool_refused (self->link))
      gst_zero_sink_pool_propose (GST_OBJECT (self), self->link, query,
          max_buffers);
    if (attributes != NULL)
      g_bytes_unref (attributes);
    return TRUE;
  }
  if ((GST_QUERY_TYPE (query) == GST_QUERY_CAPS ||
          GST_QUERY_TYPE (query) == GST_QUERY_ACCEPT_CAPS) &&
      (!g_atomic_int_get (&self->server_declared_caps) || is_bypass (self)))
    return gst_zero_filter_sink_caps_query (self, query);
  return gst_pad_query_default (pad, parent, query);
}

/* Upstream's latency plus the round trip: `latency` on the minimum (a
 * response leaves that much after its input came); on the maximum too,
 * and depth frames, which zerofilter holds as requests before it blocks
 * upstream (as a queue adds what it can hold). */
static gboolean
gst_zero_filter_latency_query (GstZeroFilter * self, GstQuery * query)
{
  gboolean live;
  GstClockTime min, max, round_trip, frame = GST_CLOCK_TIME_NONE;
  GstVideoInfo info;
  GstCaps *caps;
  guint depth;

  if (!gst_pad_peer_query (self->sinkpad, query))
    return FALSE;
  gst_query_parse_latency (query, &live, &min, &max);
  GST_OBJECT_LOCK (self);
  round_trip = self->latency * GST_MSECOND;
  depth = self->depth;
  GST_OBJECT_UNLOCK (self);
  /* not in_caps: the push lock may be held by a push that waits for
   * PLAYING, which this query is part of */
  caps = gst_pad_get_current_caps (self->sinkpad);
  if (caps != NULL && gst_video_info_from_caps (&info, caps) &&
      GST_VIDEO_INFO_FPS_N (&info) > 0)
    frame = gst_util_uint64_scale_int (GST_SECOND, GST_VIDEO_INFO_FPS_D
        (&info), GST_VIDEO_INFO_FPS_N (&info));
  gst_clear_caps (&caps);
  min += round_trip;
  if (GST_CLOCK_TIME_IS_VALID (max)) {
    max += round_trip;
    if (GST_CLOCK_TIME_IS_VALID (frame))
      max += depth * frame;
  }
  GST_DEBUG_OBJECT (self, "latency: live %d, min %" GST_TIME_FORMAT ", max %"
      GST_TIME_FORMAT, live, GST_TIME_ARGS (min), GST_TIME_ARGS (max));
  gst_query_set_latency (query, live, min, max);
  return TRUE;
}

static gboolean
gst_zero_filter_src_query (GstPad * pad, GstObject * parent, GstQuery * query)
{
  GstZeroFilter *self = GST_ZERO_FILTER (parent);
  GstCaps *current;

  if (GST_QUERY_TYPE (query) == GST_QUERY_LATENCY)
    return gst_zero_filter_latency_query (self, query);

  /* the pad's caps, not out_caps: the task may replace those meanwhile */
  if (GST_QUERY_TYPE (query) == GST_QUERY_CAPS &&
      g_atomic_int_get (&self->server_declared_caps) && !is_bypass (self) &&
      (current = gst_pad_get_current_caps (pad)) != NULL) {
    GstCaps *filter, *caps;

    gst_query_parse_caps (query, &filter);
    caps = filter ? gst_caps_intersect (filter, current) : gst_caps_ref
        (current);
    gst_query_set_caps_result (query, caps);
    gst_caps_unref (caps);
    gst_caps_unref (current);
    return TRUE;
  }
  return gst_pad_query_default (pad, parent, query);
}

/* -------------------------------------------------------- state changes */

static void
gst_zero_filter_start (GstZeroFilter * self)
{
  gchar *channel;
  gint connect_timeout;
  gboolean frame_header;
  char name[ZB_NAME_MAX + 1];

  GST_OBJECT_LOCK (self);
  channel = g_strdup (self->channel);
  connect_timeout = self->connect_timeout;
  frame_header = self->frame_header;
  gst_zero_link_set_in_place (self->link, self->in_place);
  self->frames_in = self->requests = self->responses_pushed = 0;
  self->passed = self->dropped = self->requests_zero_copy = 0;
  self->responses_in_place = 0;
  self->moved_before = gst_zero_src_ring_moved (self->held);
  self->rtt_count = 0;
  self->pushed_ns = 0;
  /* under the object lock, as set_property: a timeout set meanwhile is not
   * undone */
  gst_zero_link_set_policy (self->link, self->timeout, FALSE);
  GST_OBJECT_UNLOCK (self);
  zb_duplex_ring_name (channel, ZB_DUPLEX_REQUEST, name, sizeof name);
  gst_zero_link_open (self->link, name, GST_OBJECT_NAME (self), NULL,
      connect_timeout, frame_header);
  g_mutex_lock (&self->task_lock);
  self->stopping = FALSE;
  g_cancellable_reset (self->flushing);
  g_mutex_unlock (&self->task_lock);
  g_atomic_int_set (&self->bypass, FALSE);
  self->warned_skipped_caps = FALSE;
  self->task_ret = GST_FLOW_OK;
  self->response_header = FALSE;
  self->session_ended = FALSE;
  gst_zero_key_unit_need_reset (&self->key_unit);
  g_free (channel);
}

static void
gst_zero_filter_stop (GstZeroFilter * self)
{
  gst_zero_link_close (self->link);
  responses_close (self);
  pending_clear (self);
  gst_caps_replace (&self->in_caps, NULL);
  gst_caps_replace (&self->out_caps, NULL);
  zerobuffer_frame_size_clear (&self->sized);
  self->server_declared_caps = FALSE;
}

static GstStateChangeReturn
gst_zero_filter_change_state (GstElement * element, GstStateChange transition)
{
  GstZeroFilter *self = GST_ZERO_FILTER (element);
  GstStateChangeReturn ret;

  switch (transition) {
    case GST_STATE_CHANGE_READY_TO_PAUSED:{
      gchar *channel;
      char name[ZB_NAME_MAX + 1];
      gboolean ok;

      GST_OBJECT_LOCK (self);
      channel = g_strdup (self->channel);
      GST_OBJECT_UNLOCK (self);
      ok = channel != NULL && zb_duplex_ring_name (channel,
          ZB_DUPLEX_RESPONSE, name, sizeof name) == 0;
      if (!ok) {
        ZEROBUFFER_ELEMENT_ERROR (self, ZB_ENAME, channel,
            ("%s", channel ? "Invalid duplex channel name" :
                "No channel given: set the channel property"),
            ("%s", channel ? zb_last_error () : "channel is required"));
        g_free (channel);
        return GST_STATE_CHANGE_FAILURE;
      }
      g_free (channel);
      gst_zero_filter_start (self);
      break;
    }
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      /* the chain may wait for room or for the task, the task for a
       * response; the streaming thread may be about to start the task
       * (first caps, flush stop, a new session): it no longer does */
      gst_zero_filter_cancel (self, TRUE);
      gst_zero_link_close (self->link);
      responses_wake (self);
      g_mutex_lock (&self->qlock);
      qwake (self);
      g_mutex_unlock (&self->qlock);
      gst_pad_stop_task (self->srcpad);
      break;
    default:
      break;
  }
  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    gst_zero_filter_stop (self);
  return ret;
}

/* ---------------------------------------------------------- properties */

static void
gst_zero_filter_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstZeroFilter *self = GST_ZERO_FILTER (object);

  GST_OBJECT_LOCK (self);
  if (!zerobuffer_property_settable (GST_ELEMENT (object), pspec)) {
    GST_OBJECT_UNLOCK (self);
    return;
  }
  switch (prop_id) {
    case PROP_CHANNEL:
      g_free (self->channel);
      self->channel = g_value_dup_string (value);
      break;
    case PROP_CONNECT_TIMEOUT:
      self->connect_timeout = g_value_get_int (value);
      break;
    case PROP_TIMEOUT:
      self->timeout = g_value_get_int (value);
      /* a request waiting for room takes it too (as zerosink's); under the
       * object lock, so that the link keeps the last value set */
      gst_zero_link_set_policy (self->link, self->timeout, FALSE);
      break;
    case PROP_DEPTH:
      self->depth = g_value_get_uint (value);
      break;
    case PROP_POLICY:
      self->policy = g_value_get_enum (value);
      break;
    case PROP_SKIPPED:
      self->skipped = g_value_get_enum (value);
      break;
    case PROP_ON_ERROR:
      self->on_error = g_value_get_enum (value);
      break;
    case PROP_FRAME_HEADER:
      self->frame_header = g_value_get_boolean (value);
      break;
    case PROP_IN_PLACE:
      self->in_place = g_value_get_boolean (value);
      break;
    case PROP_MAX_BUFFERS:
      self->max_buffers = g_value_get_uint (value);
      break;
    case PROP_METADATA_SIZE:
      self->metadata_size = g_value_get_uint64 (value);
      break;
    case PROP_PAYLOAD_SIZE:
      self->payload_size = g_value_get_uint64 (value);
      break;
    case PROP_MODE:
      self->mode = g_value_get_uint (value);
      break;
    case PROP_LATENCY:
      self->latency = g_value_get_uint (value);
      GST_OBJECT_UNLOCK (self);
      /* the pipeline asks every element again */
      gst_element_post_message (GST_ELEMENT (self),
          gst_message_new_latency (GST_OBJECT (self)));
      return;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_zero_filter_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstZeroFilter *self = GST_ZERO_FILTER (object);

  if (prop_id == PROP_STATS) {
    g_value_take_boxed (value, gst_zero_filter_get_stats (self));
    return;
  }
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_CHANNEL:
      g_value_set_string (value, self->channel);
      break;
    case PROP_CONNECT_TIMEOUT:
      g_value_set_int (value, self->connect_timeout);
      break;
    case PROP_TIMEOUT:
      g_value_set_int (value, self->timeout);
      break;
    case PROP_DEPTH:
      g_value_set_uint (value, self->depth);
      break;
    case PROP_POLICY:
      g_value_set_enum (value, self->policy);
      break;
    case PROP_SKIPPED:
      g_value_set_enum (value, self->skipped);
      break;
    case PROP_ON_ERROR:
      g_value_set_enum (value, self->on_error);
      break;
    case PROP_FRAME_HEADER:
      g_value_set_boolean (value, self->frame_header);
      break;
    case PROP_IN_PLACE:
      g_value_set_boolean (value, self->in_place);
      break;
    case PROP_MAX_BUFFERS:
      g_value_set_uint (value, self->max_buffers);
      break;
    case PROP_METADATA_SIZE:
      g_value_set_uint64 (value, self->metadata_size);
      break;
    case PROP_PAYLOAD_SIZE:
      g_value_set_uint64 (value, self->payload_size);
      break;
    case PROP_MODE:
      g_value_set_uint (value, self->mode);
      break;
    case PROP_LATENCY:
      g_value_set_uint (value, self->latency);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* ---------------------------------------------------------------- class */

static void
gst_zero_filter_init (GstZeroFilter * self)
{
  self->sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  gst_pad_set_chain_function (self->sinkpad,
      GST_DEBUG_FUNCPTR (gst_zero_filter_chain));
  gst_pad_set_event_function (self->sinkpad,
      GST_DEBUG_FUNCPTR (gst_zero_filter_sink_event));
  gst_pad_set_query_function (self->sinkpad,
      GST_DEBUG_FUNCPTR (gst_zero_filter_sink_query));
  gst_element_add_pad (GST_ELEMENT (self), self->sinkpad);
  self->srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_set_query_function (self->srcpad,
      GST_DEBUG_FUNCPTR (gst_zero_filter_src_query));
  gst_pad_use_fixed_caps (self->srcpad);
  gst_element_add_pad (GST_ELEMENT (self), self->srcpad);

  self->connect_timeout = DEFAULT_CONNECT_TIMEOUT;
  self->timeout = DEFAULT_TIMEOUT;
  self->depth = DEFAULT_DEPTH;
  self->policy = DEFAULT_POLICY;
  self->skipped = DEFAULT_SKIPPED;
  self->on_error = DEFAULT_ON_ERROR;
  self->frame_header = DEFAULT_FRAME_HEADER;
  self->in_place = DEFAULT_IN_PLACE;
  self->max_buffers = DEFAULT_MAX_BUFFERS;
  self->metadata_size = DEFAULT_METADATA_SIZE;
  self->payload_size = DEFAULT_PAYLOAD_SIZE;
  self->mode = ZEROBUFFER_DEFAULT_MODE;
  self->latency = DEFAULT_LATENCY;
  self->link = gst_zero_link_new (gst_zero_filter_debug, GST_ELEMENT (self),
      "the duplex server");
  self->held = gst_zero_src_ring_new (NULL);
  /* policy=drop skips by depth, never at a full request ring */
  gst_zero_link_set_full_hint (self->link, "raise timeout (-1 waits "
      "forever), or use on-error=pass");
  gst_zero_link_set_make_room (self->link,
      (GstZeroLinkMakeRoom) gst_zero_src_ring_move_out,
      gst_zero_src_ring_ref (self->held),
      (GDestroyNotify) gst_zero_src_ring_unref);
  self->flushing = g_cancellable_new ();
  g_rec_mutex_init (&self->push_lock);
  g_mutex_init (&self->task_lock);
  g_mutex_init (&self->qlock);
  g_cond_init (&self->qcond);
  g_queue_init (&self->pending);
}

static void
gst_zero_filter_finalize (GObject * object)
{
  GstZeroFilter *self = GST_ZERO_FILTER (object);

  gst_zero_filter_stop (self);
  gst_zero_link_unref (self->link);
  gst_zero_src_ring_close (self->held);
  g_object_unref (self->flushing);
  g_rec_mutex_clear (&self->push_lock);
  g_mutex_clear (&self->task_lock);
  g_mutex_clear (&self->qlock);
  g_cond_clear (&self->qcond);
  g_free (self->channel);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_zero_filter_class_init (GstZeroFilterClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  const GParamFlags ready = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_READY;
  const GParamFlags playing = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_PLAYING;

  zerobuffer_element_init (NULL);
  GST_DEBUG_CATEGORY_INIT (gst_zero_filter_debug, "zerofilter", 0,
      "zerofilter: the client of a ZeroBuffer duplex channel");

  gobject_class->set_property = gst_zero_filter_set_property;
  gobject_class->get_property = gst_zero_filter_get_property;
  gobject_class->finalize = gst_zero_filter_finalize;

  g_object_class_install_property (gobject_class, PROP_CHANNEL,
      g_param_spec_string ("channel", "Channel",
          "Name of the duplex channel (required): requests go into the ring "
          "CHANNEL_request, which the server creates; responses come from "
          "CHANNEL_response, which zerofilter creates. 1..236 bytes, any "
          "characters (spaces, ':', UTF-8...) but '/' and control "
          "characters, without '..', not starting with 'sem.sem-w-' or "
          "'sem.sem-r-' (both ring names must be valid)", NULL,
          ready));
  g_object_class_install_property (gobject_class, PROP_CONNECT_TIMEOUT,
      g_param_spec_int ("connect-timeout", "Connect timeout",
          "How long to wait for the server to create CHANNEL_request, in "
          "milliseconds (0 = do not wait, -1 = forever); after a second of "
          "waiting, an INFO message says so once", -1, G_MAXINT,
          DEFAULT_CONNECT_TIMEOUT, ready));
  g_object_class_install_property (gobject_class, PROP_TIMEOUT,
      g_param_spec_int ("timeout", "Timeout",
          "How long a request may wait for its response (and for room in "
          "the request ring), in milliseconds (-1 = forever); time the "
          "process is stopped (Ctrl-Z) does not count", -1, G_MAXINT,
          DEFAULT_TIMEOUT, playing));
  g_object_class_install_property (gobject_class, PROP_DEPTH,
      g_param_spec_uint ("depth", "Depth",
          "Requests that may wait for their responses at once (a pipelined "
          "server keeps them all busy); more while the oldest is held back "
          "from the server behind a pool buffer upstream took before it and "
          "has not pushed yet (input-selector after a switch): its answer "
          "cannot come before", 1, 64, DEFAULT_DEPTH, playing));
  g_object_class_install_property (gobject_class, PROP_POLICY,
      g_param_spec_enum ("policy", "Policy",
          "When depth requests wait: block (wait for the oldest response, "
          "up to timeout) or drop (do not send the buffer; see skipped; in "
          "a stream with delta units, ask upstream for a key unit when the "
          "next delta unit is sent, once until a key unit is, at most once a "
          "second)",
          gst_zero_filter_policy_get_type (), DEFAULT_POLICY, playing));
  g_object_class_install_property (gobject_class, PROP_SKIPPED,
      g_param_spec_enum ("skipped", "Skipped",
          "What policy=drop does with a buffer it does not send: pass it "
          "unprocessed, in order (frames-passed), or drop it "
          "(frames-dropped). pass drops it too while the server's output "
          "caps are not the input's (RGB in, GRAY8 out: its bytes are not "
          "of those caps), with one warning",
          gst_zero_filter_skipped_get_type (),
          DEFAULT_SKIPPED, playing));
  g_object_class_install_property (gobject_class, PROP_ON_ERROR,
      g_param_spec_enum ("on-error", "On error",
          "When the server is missing, dies, stops answering, answers "
          "later than timeout or wrongly: post an error, or post a warning "
          "and pass buffers through unprocessed, under the input caps, from "
          "then on (the request whose response failed first: with pass, "
          "requests are held in the request ring until answered; those "
          "waiting behind it are dropped)",
          gst_zero_filter_on_error_get_type (), DEFAULT_ON_ERROR, playing));
  g_object_class_install_property (gobject_class, PROP_FRAME_HEADER,
      g_param_spec_boolean ("frame-header", "Frame header",
          "Start every request with the 48-byte per-frame header (PTS, DTS, "
          "duration, flags, commit time), as zerosink frame-header=true; "
          "after a caps change, a request whose caps differ from the first "
          "carries them there too. Only for servers that read it (the "
          "zerobuffer Node API); peer servers would take it for image "
          "bytes", DEFAULT_FRAME_HEADER,
          ready));
  g_object_class_install_property (gobject_class, PROP_IN_PLACE,
      g_param_spec_boolean ("in-place", "In place",
          "Let the server answer a request in place (our extension, "
          "declared in the request ring's metadata): the answer is then the "
          "request's bytes as the server left them in the request ring, "
          "pushed downstream without a copy (responses-in-place); buffers "
          "downstream keeps are copied out when the next request needs "
          "their room. Servers that do not know it answer as always",
          DEFAULT_IN_PLACE, ready));
  g_object_class_install_property (gobject_class, PROP_MAX_BUFFERS,
      g_param_spec_uint ("max-buffers", "Max buffers",
          "Buffers of the zero-copy request pool upstream may hold at once "
          "(0: no pool, requests are copied)", 0, G_MAXUINT,
          DEFAULT_MAX_BUFFERS, ready));
  g_object_class_install_property (gobject_class, PROP_METADATA_SIZE,
      g_param_spec_uint64 ("metadata-size", "Metadata size",
          "Metadata bytes of the response ring (the server writes its caps "
          "there)", 1, ZB_MAX_METADATA_SIZE,
          DEFAULT_METADATA_SIZE, ready));
  g_object_class_install_property (gobject_class, PROP_PAYLOAD_SIZE,
      g_param_spec_uint64 ("payload-size", "Payload size",
          "Payload bytes of the response ring (0: as many frames of the "
          "input's size as a reader's ring holds by default, at least "
          "depth + 3, for the first caps; raw audio (format, rate and "
          "channels), depth + 3 buffers of up to 1 s, at least 64 KiB; the "
          "readers' default when the input has no size); raise it when "
          "responses are larger than requests, when downstream keeps "
          "responses, or for caps that grow mid-stream (an answer by copy "
          "that cannot fit is an EMSGSIZE error at the caps change)", 0,
          ZB_MAX_PAYLOAD_SIZE, DEFAULT_PAYLOAD_SIZE, ready));
  g_object_class_install_property (gobject_class, PROP_MODE,
      zerobuffer_param_spec_mode ("the response ring (CHANNEL_response, "
          "for a server of another user to answer; the server's own mode "
          "opens CHANNEL_request to this user)"));
  g_object_class_install_property (gobject_class, PROP_LATENCY,
      g_param_spec_uint ("latency", "Latency",
          "The server's round trip to report in the LATENCY query, in "
          "milliseconds: added to upstream's minimum and maximum (the "
          "maximum also grows by depth frames). Set it to about the "
          "round-trip p99 (stats) in a live pipeline whose sink syncs, so "
          "that responses are not late", 0, G_MAXINT, DEFAULT_LATENCY,
          playing));
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "Counters since start (guint64): frames-in, requests (committed "
          "into the request ring; one behind a pool buffer upstream holds "
          "back reaches the server only once that buffer is pushed or "
          "released), "
          "requests-zero-copy, responses, responses-in-place (answered "
          "in place), in-place-copied (of those, copied out of the request "
          "ring because downstream kept them while it was full), "
          "frames-passed, frames-dropped, "
          "round-trip-p50-us and round-trip-p99-us (request commit to the "
          "response's commit, from its frame header (answers in place, and "
          "every answer of a zerobuffer Node server that may answer in "
          "place), else to its arrival; over the last 1024 "
          "responses timed; downstream's waits are not in it: a response "
          "without a header that came while an earlier one was being pushed "
          "is not timed), round-trip-samples (responses timed)",
          GST_TYPE_STRUCTURE,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "ZeroBuffer duplex filter", "Filter",
      "Sends every buffer to a server process over a ZeroBuffer duplex "
      "channel and pushes its response in the buffer's place", "zerobuffer");
  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_zero_filter_change_state);

  gst_type_mark_as_plugin_api (gst_zero_filter_policy_get_type (), 0);
  gst_type_mark_as_plugin_api (gst_zero_filter_skipped_get_type (), 0);
  gst_type_mark_as_plugin_api (gst_zero_filter_on_error_get_type (), 0);
}

/* test_filter_element.c — zerofilter in one process (gst-check), against a
 * duplex server on a thread of the test (real rings, the core's API, as the
 * peers' servers do: no metadata, 100 ms retries aside).
 *
 * The server answers each request with its bytes, the first 8 of them
 * replaced by the request's PTS (from the per-frame header): so every
 * buffer zerofilter pushes says which request it answers, and a response
 * pushed with another request's timestamps shows.
 *
 * - a flushing seek with requests in flight: the pipeline goes on, the
 *   buffers after it are the new segment's, in order, each paired with its
 *   own request (none answering a request from before the flush); after
 *   EOS (a replay), a new session with the server; one while zerofilter
 *   waits for the server at its first caps: the stream flows once the
 *   server comes;
 * - PLAYING → PAUSED → PLAYING → NULL cycles with requests in flight: no
 *   hang, nothing of the response ring left in /dev/shm;
 * - the LATENCY query of a live pipeline: zerofilter adds its `latency`
 *   to the minimum and depth frames (+ latency) to the maximum;
 * - a caps change mid-stream with frame-header=true: the server sees each
 *   request's caps (the metadata's, then the new ones in the frame header's
 *   attributes); caps that grow beyond the response ring, answered by
 *   copy: EMSGSIZE naming payload-size and the size needed, under which
 *   the growth goes on (depth 8 too); answered in place: no error, every
 *   answer paired;
 * - a server whose response header carries its own PTS, durations and
 *   flags, under caps of another framerate: the buffers pushed have its
 *   timing and flags, and the input's duration where it sent none (one
 *   response per request) or one over an hour (a bad one, dropped with
 *   one warning), and the input's PTS and DTS where its PTS or DTS is
 *   over an hour from the request's (bad ones too); a server that answers
 *   requests without the header with one adds its flags to the input's;
 * - policy=drop with a slow server: the buffer after a drop is DISCONT;
 *   also one that passes because its write failed (on-error=pass, the
 *   server gone), with the dropped one's RESYNC;
 * - in an encoded stream (DELTA_UNIT buffers), upstream asked for a key
 *   unit (force-key-unit) when a delta unit is sent after skipped ones
 *   (not at the skips; once until a key unit is sent, again if the key
 *   unit is skipped), and when a new session (a replay after EOS) starts
 *   with a delta unit;
 * - without the frame header (the server then echoes the request's bytes
 *   as they are): caps that only refine the first (h264parse's added
 *   profile, level, codec_data) warn of nothing, a real change warns with
 *   both caps;
 * - a request ring too small for zerofilter's metadata: an error that
 *   says so, and the server's reader told by the note zerofilter leaves;
 * - in-place answers (our extension; the server writes the PTS into the
 *   request's bytes where they lie, gives the request back, then answers
 *   with a frame header alone): a flushing seek with answers held
 *   downstream goes on paired and in order; a server that stops answering
 *   with answers held downstream is an error, and once the pipeline is
 *   gone no hold is left (the request ring is no longer mapped);
 * - a server declaring raw caps without a frame size: EMETADATA naming
 *   what they lack;
 * - raw audio input: the response ring sized by time (depth + 3 buffers
 *   of up to a second), every answer paired, buffers of a second too;
 *   raw audio caps that grow beyond it, answered by copy: EMSGSIZE naming
 *   payload-size and the size needed; caps that grow less: no error;
 * - videorate repeating buffers of zerofilter's pool: a repeat dropped
 *   (it would come after a later request) is said in a warning, and
 *   counted; the buffer after the dropped repeat is not DISCONT (it
 *   repeats the frame before: nothing is lost), as in zerosink;
 * - the pipeline stopped while zerofilter pushes its first caps: no task
 *   starts after the stop (it read the freed response ring).
 * - a buffer of zerofilter's pool held back upstream while buffers taken
 *   after it are pushed (their requests wait behind it in the ring):
 *   zerofilter sends on past depth instead of waiting for answers that
 *   cannot come, every answer comes paired with its request's bytes; held
 *   for good, the timeout's error says the requests never reached the
 *   server; input-selector switched between two live sources (each pad
 *   gets a pool) streams on.
 *
 * The plugin is loaded from ZB_GST_PLUGIN (set by meson), in process. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/audio/audio.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>

#include "zerobuffer.h"
#include "gst_test_common.h"

#define WAIT (10 * GST_SECOND)
#define GRAY_CAPS "video/x-raw,format=GRAY8,width=64,height=48,framerate=50/1"
#define FRAME_NS (GST_SECOND / 50)
#define RETIMED_DURATION (30 * GST_MSECOND)
#define HOUR_NS (3600 * GST_SECOND)
#define RESPONSE_WAIT_MS 1000

static gchar *
channel_name (const gchar * tag)
{
  static gint counter;

  return g_strdup_printf ("zbgstf-%d-%s-%d", (int) getpid (), tag,
      g_atomic_int_add (&counter, 1));
}

/* Entries of /dev/shm whose name contains TEXT (semaphores included). */
static guint
shm_entries_with (const gchar * text)
{
  GDir *dir = g_dir_open ("/dev/shm", 0, NULL);
  const gchar *entry;
  guint n = 0;

  fail_unless (dir != NULL);
  while ((entry = g_dir_read_name (dir)) != NULL)
    if (strstr (entry, text) != NULL)
      n++;
  g_dir_close (dir);
  return n;
}

/* Changes state and waits (bounded) for it: a hang fails the test. */
static void
reach_state (GstElement * pipeline, GstState state)
{
  GstStateChangeReturn ret = gst_element_set_state (pipeline, state);

  fail_if (ret == GST_STATE_CHANGE_FAILURE, "state change to %s failed",
      gst_element_state_get_name (state));
  ret = gst_element_get_state (pipeline, NULL, NULL, WAIT);
  fail_unless (ret == GST_STATE_CHANGE_SUCCESS ||
      ret == GST_STATE_CHANGE_NO_PREROLL, "%s not reached within 10 s: %s",
      gst_element_state_get_name (state),
      gst_element_state_change_return_get_name (ret));
}

/* ------------------------------------------------------------- server */

typedef struct
{
  gchar *request_name, *response_name;
  zb_reader *requests;
  gint delay_ms;
  gboolean in_place;            /* answers in place (when declared) */
  gboolean corrupt_metadata;    /* the response metadata's length prefix */
  gboolean plain;               /* requests without a frame header: echoed */
  gboolean plain_flags;         /* and answered with a frame header that
                                 * sets HEADER on every other one */
  gboolean retime;              /* declares the header and 25/1 caps; see
                                 * answer () */
  const guint64 *durations;     /* ...with these durations, by request (as
                                 * many as it makes), not its own */
  const guint64 *pts, *dts;     /* ...and these PTS and DTS, likewise */
  gint answers_left;            /* then stops answering (-1: never) */
  const gchar *metadata;        /* the response metadata it writes */
  gint stop;                    /* atomic */
  gint clients;                 /* atomic: clients served to their end */
  GThread *thread;
  GMutex lock;
  GPtrArray *caps_seen;         /* per request, the caps the server sees */
} Server;

/* The JSON string member KEY of TEXT (SIZE bytes), unescaped; NULL when
 * none. Enough for the caps strings of these tests. */
static gchar *
json_string (const guint8 * text, gsize size, const gchar * key)
{
  gchar *s = g_strndup ((const gchar *) text, size);
  gchar *pattern = g_strdup_printf ("\"%s\":\"", key);
  gchar *start = strstr (s, pattern), *out = NULL;

  if (start != NULL) {
    GString *v = g_string_new (NULL);
    const gchar *p;

    for (p = start + strlen (pattern); *p != '\0' && *p != '"'; p++) {
      if (*p == '\\' && p[1] != '\0')
        p++;
      g_string_append_c (v, *p);
    }
    out = g_string_free (v, FALSE);
  }
  g_free (pattern);
  g_free (s);
  return out;
}

/* The caps a server sees for REQUEST: the frame header's "caps" attribute,
 * else the request ring's metadata's. */
static gchar *
caps_seen (Server * s, const zb_frame_ext * ext)
{
  const uint8_t *meta = NULL;
  uint64_t size = 0;
  gchar *caps = NULL;

  if (ext->attrs_size > 0)
    caps = json_string (ext->attrs, ext->attrs_size, "caps");
  if (caps == NULL) {
    zb_reader_metadata (s->requests, &meta, &size);
    caps = size > 0 ? json_string (meta, size, "caps") : NULL;
  }
  return caps != NULL ? caps : g_strdup ("(none)");
}

/* Answers REQUEST into RESPONSES: its bytes, the first 8 replaced by its
 * PTS. FALSE when the client went. */
static gboolean
answer (Server * s, zb_writer * responses, zb_frame * request)
{
  zb_frame_ext ext = { 0 };
  zb_reservation res;
  const uint8_t *meta = NULL;
  uint64_t meta_size = 0;
  guint64 pts;

  zb_reader_metadata (s->requests, &meta, &meta_size);
  if (s->plain) {
    fail_unless (zb_metadata_frame_header (meta, meta_size) == 0);
    g_mutex_lock (&s->lock);
    g_ptr_array_add (s->caps_seen, caps_seen (s, &ext));
    g_mutex_unlock (&s->lock);
    gsize offset = s->plain_flags ? ZB_EXT_HEADER_SIZE : 0;
    zb_frame_ext out = { ZB_EXT_NONE, ZB_EXT_NONE, ZB_EXT_NONE, 0,
      request->sequence % 2 == 1 ? GST_BUFFER_FLAG_HEADER : 0, 0, NULL, 0,
      NULL, 0
    };

    if (zb_writer_reserve (responses, offset + request->size, &res,
            RESPONSE_WAIT_MS) < 0)
      return FALSE;
    if (offset > 0)
      zb_frame_ext_write (res.data, &out);
    memcpy (res.data + offset, request->data, request->size);
    return zb_reservation_commit (&res, offset + request->size) == 0;
  }
  fail_unless (zb_metadata_frame_header (meta, meta_size) == 1,
      "the tests run zerofilter with frame-header=true");
  fail_unless_equals_int (zb_frame_ext_parse (request->data, request->size,
          &ext), 0);
  g_mutex_lock (&s->lock);
  g_ptr_array_add (s->caps_seen, caps_seen (s, &ext));
  g_mutex_unlock (&s->lock);
  fail_unless (ext.size >= sizeof pts);
  if (s->answers_left == 0)
    return FALSE;
  if (s->answers_left > 0)
    s->answers_left--;
  if (s->in_place) {
    zb_frame_ext out = { ZB_EXT_NONE, ZB_EXT_NONE, ZB_EXT_NONE, 0, 0,
      ZB_EXT_IN_PLACE, NULL, 0, NULL, 0
    };

    fail_unless_equals_int (zb_metadata_in_place (meta, meta_size), 1);
    pts = ext.pts;
    memcpy ((uint8_t *) ext.data, &pts, sizeof pts);
    zb_frame_release (request);       /* before the answer: held by the client */
    if (zb_writer_reserve (responses, ZB_EXT_HEADER_SIZE, &res,
            RESPONSE_WAIT_MS) < 0)
      return FALSE;
    if (s->delay_ms > 0)
      g_usleep (s->delay_ms * G_TIME_SPAN_MILLISECOND);
    zb_frame_ext_write (res.data, &out);
    return zb_reservation_commit (&res, ZB_EXT_HEADER_SIZE) == 0;
  }
  if (s->retime) {
    /* a server at half the rate, say: its own PTS (twice the request's),
     * no DTS, and a duration in the header for every other response only;
     * DELTA_UNIT where the request has none and not where it has (an
     * encoder's choice of key frames) */
    guint64 index = ext.pts / FRAME_NS;
    guint64 listed = request->sequence - 1;     /* the lists' entry */
    zb_frame_ext out = { s->pts != NULL ? s->pts[listed] : 2 * ext.pts,
      s->dts != NULL ? s->dts[listed] : ZB_EXT_NONE,
      s->durations != NULL ? s->durations[listed] : index % 2 == 0 ?
          RETIMED_DURATION : ZB_EXT_NONE, 0,
      ext.flags ^ GST_BUFFER_FLAG_DELTA_UNIT, 0, NULL, 0, NULL, 0
    };

    if (zb_writer_reserve (responses, ZB_EXT_HEADER_SIZE + ext.size, &res,
            RESPONSE_WAIT_MS) < 0)
      return FALSE;
    zb_frame_ext_write (res.data, &out);
    memcpy (res.data + ZB_EXT_HEADER_SIZE, ext.data, ext.size);
    memcpy (res.data + ZB_EXT_HEADER_SIZE, &out.pts, sizeof out.pts);
    return zb_reservation_commit (&res, ZB_EXT_HEADER_SIZE + ext.size) == 0;
  }
  if (zb_writer_reserve (responses, ext.size, &res, RESPONSE_WAIT_MS) < 0)
    return FALSE;
  memcpy (res.data, ext.data, ext.size);
  pts = ext.pts;
  memcpy (res.data, &pts, sizeof pts);
  if (s->delay_ms > 0)
    g_usleep (s->delay_ms * G_TIME_SPAN_MILLISECOND);
  return zb_reservation_commit (&res, ext.size) == 0;
}

#define HEADER_METADATA "{\"zerobuffer\":{\"frame_header\":1}}"
#define RETIME_METADATA "{\"caps\":\"video/x-raw,format=GRAY8,width=64," \
  "height=48,framerate=25/1\",\"zerobuffer\":{\"frame_header\":1}}"

/* Sets the metadata length prefix of ring NAME (the 8 bytes after the
 * 128-byte OIEB) to 2^63, more than was written. */
static void
corrupt_metadata_prefix (const gchar * name)
{
  gchar *path = g_strdup_printf ("/dev/shm/%s", name);
  gint fd = open (path, O_RDWR);
  guint64 le = GUINT64_TO_LE (G_GUINT64_CONSTANT (1) << 63);

  fail_unless (fd >= 0, "cannot open %s", path);
  fail_unless_equals_int (pwrite (fd, &le, sizeof le, 128), sizeof le);
  close (fd);
  g_free (path);
}

/* Serves one client after another. A client creates its response ring
 * (under the same name each time) before its first request, so the server
 * connects to it at that request: never to the ring of a client that is
 * going. A client that went (its response ring gone) gets no answers to
 * the requests it left. */
static gpointer
server_loop (gpointer data)
{
  Server *s = data;
  zb_writer *responses = NULL;
  gboolean client_gone = FALSE;

  while (!g_atomic_int_get (&s->stop)) {
    zb_frame request;
    const uint8_t *meta;
    uint64_t meta_size;
    gint waited;
    int rc = zb_reader_next (s->requests, &request, 50);

    if (rc == ZB_ETIMEDOUT)
      continue;
    /* the end of this client's requests; or the first request of the
     * next one (sequence 1) when it came back before this reader saw the
     * end (the same process: a state cycle) */
    if (rc < 0 || request.sequence == 1) {
      if (responses != NULL || client_gone)
        g_atomic_int_inc (&s->clients);
      if (responses != NULL)
        zb_writer_destroy (responses);
      responses = NULL;
      client_gone = FALSE;
    }
    if (rc < 0)
      continue;
    if (!client_gone) {
      for (waited = 0; responses == NULL && waited < 2000; waited += 5)
        if (zb_writer_connect (&responses, s->response_name) < 0)
          g_usleep (5 * G_TIME_SPAN_MILLISECOND);
      fail_unless (responses != NULL, "no response ring %s",
          s->response_name);
      if ((s->in_place || s->plain_flags) && zb_writer_metadata (responses,
              &meta, &meta_size) == 0 && meta_size == 0)
        fail_unless_equals_int (zb_writer_set_metadata (responses,
                HEADER_METADATA, strlen (HEADER_METADATA)), 0);
      if (s->retime && zb_writer_metadata (responses, &meta, &meta_size) == 0
          && meta_size == 0)
        fail_unless_equals_int (zb_writer_set_metadata (responses,
                RETIME_METADATA, strlen (RETIME_METADATA)), 0);
      if (s->metadata != NULL && zb_writer_metadata (responses, &meta,
              &meta_size) == 0 && meta_size == 0)
        fail_unless_equals_int (zb_writer_set_metadata (responses,
                s->metadata, strlen (s->metadata)), 0);
      /* once: the client removes its ring on the error, while requests
       * it sent before may still come */
      if (s->corrupt_metadata) {
        corrupt_metadata_prefix (s->response_name);
        s->corrupt_metadata = FALSE;
      }
      if (!answer (s, responses, &request)) {
        zb_writer_destroy (responses);
        responses = NULL;
        client_gone = TRUE;
      }
    }
    if (request.reader != NULL)
      zb_frame_release (&request);
  }
  if (responses != NULL)
    zb_writer_destroy (responses);
  return NULL;
}

/* A server whose request ring is there but whose thread has not started:
 * its fields set now are seen by that thread from its start (set after,
 * they would reach it only through the ring's synchronisation). */
static Server *
server_new (const gchar * channel, gint delay_ms, gboolean plain)
{
  Server *s = g_new0 (Server, 1);
  char name[ZB_NAME_MAX + 1];

  fail_unless_equals_int (zb_duplex_ring_name (channel, ZB_DUPLEX_REQUEST,
          name, sizeof name), 0);
  s->request_name = g_strdup (name);
  fail_unless_equals_int (zb_duplex_ring_name (channel, ZB_DUPLEX_RESPONSE,
          name, sizeof name), 0);
  s->response_name = g_strdup (name);
  fail_unless_equals_int (zb_reader_create (&s->requests, s->request_name,
          4096, 1 << 20, NULL), 0);
  s->delay_ms = delay_ms;
  s->plain = plain;
  s->answers_left = -1;
  g_mutex_init (&s->lock);
  s->caps_seen = g_ptr_array_new_with_free_func (g_free);
  return s;
}

/* Starts S's thread; S. */
static Server *
server_run (Server * s)
{
  s->thread = g_thread_new ("duplex-server", server_loop, s);
  return s;
}

static Server *
server_start_full (const gchar * channel, gint delay_ms, gboolean plain)
{
  return server_run (server_new (channel, delay_ms, plain));
}

static Server *
server_start (const gchar * channel, gint delay_ms)
{
  return server_start_full (channel, delay_ms, FALSE);
}

/* Stops the server once it has seen the end of EXPECTED clients (waiting
 * up to 2 s); the count it saw. */
static gint
server_stop (Server * s, gint expected)
{
  gint clients, waited;

  for (waited = 0; g_atomic_int_get (&s->clients) < expected &&
      waited < 2000; waited += 5)
    g_usleep (5 * G_TIME_SPAN_MILLISECOND);
  g_atomic_int_set (&s->stop, 1);
  g_thread_join (s->thread);
  zb_reader_destroy (s->requests);
  fail_if (ring_exists (s->request_name));
  clients = g_atomic_int_get (&s->clients);
  g_ptr_array_unref (s->caps_seen);
  g_mutex_clear (&s->lock);
  g_free (s->request_name);
  g_free (s->response_name);
  g_free (s);
  return clients;
}

/* ---------------------------------------------------------- pipelines */

static GstElement *
filter_pipeline (const gchar * channel, const gchar * source,
    const gchar * filter_props, const gchar * sink_props)
{
  gchar *desc = g_strdup_printf ("%s ! zerofilter name=f channel=%s "
      "frame-header=true connect-timeout=5000 %s ! appsink name=out %s",
      source, channel, filter_props, sink_props);
  GstElement *pipeline = launch (desc);

  g_free (desc);
  return pipeline;
}

/* Pulls a buffer; fails unless it answers the request with its own PTS
 * (the server wrote that PTS into its first bytes). Returns the PTS; the
 * sample's segment start in *segment_start when not NULL. */
static GstClockTime
pull_paired (GstElement * appsink, GstClockTime * segment_start)
{
  GstSample *sample = gst_app_sink_try_pull_sample (GST_APP_SINK (appsink),
      WAIT);
  GstBuffer *buffer;
  guint64 answered = 0;
  GstClockTime pts;

  fail_unless (sample != NULL, "no buffer within 10 s");
  buffer = gst_sample_get_buffer (sample);
  fail_unless_equals_int (gst_buffer_extract (buffer, 0, &answered,
          sizeof answered), sizeof answered);
  pts = GST_BUFFER_PTS (buffer);
  /* ring memory, wrapped as it is: no change to the buffer's memory */
  fail_if (GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_TAG_MEMORY));
  fail_unless (answered == pts, "a response answering the request of PTS %"
      GST_TIME_FORMAT " was pushed with PTS %" GST_TIME_FORMAT,
      GST_TIME_ARGS (answered), GST_TIME_ARGS (pts));
  if (segment_start != NULL)
    *segment_start = gst_sample_get_segment (sample)->start;
  gst_sample_unref (sample);
  return pts;
}

/* Sets PIPELINE playing and waits (bounded) for its first error. */
static GError *
play_until_error (GstElement * pipeline)
{
  GstMessage *msg;
  GError *error = NULL;

  fail_if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (pipeline), WAIT,
      GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "no error within 10 s");
  gst_message_parse_error (msg, &error, NULL);
  gst_message_unref (msg);
  return error;
}

/* Stops PIPELINE (its response ring gone), then SERVER, which served it
 * to the end; frees CHANNEL. */
static void
finish (GstElement * pipeline, Server * server, gchar * channel)
{
  reach_state (pipeline, GST_STATE_NULL);
  fail_if (ring_exists (server->response_name));
  gst_object_unref (pipeline);
  fail_unless_equals_int (server_stop (server, 1), 1);
  g_free (channel);
}

/* Stops PIPELINE, which failed with ERROR and DEBUG (both freed), then
 * SERVER, however many clients it saw end; frees CHANNEL. */
static void
finish_after_error (GstElement * pipeline, GError * error, gchar * debug,
    Server * server, gchar * channel)
{
  g_error_free (error);
  g_free (debug);
  reach_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  server_stop (server, 0);
  g_free (channel);
}

/* ------------------------------------------------------------------ tests */

/* A counter of zerofilter's stats. */
static guint64
stat_of (GstElement * filter, const gchar * field)
{
  GstStructure *stats = NULL;
  guint64 v = 0;

  g_object_get (filter, "stats", &stats, NULL);
  fail_unless (gst_structure_get_uint64 (stats, field, &v));
  gst_structure_free (stats);
  return v;
}

/* Waits up to 5 s for zerofilter's counter FIELD to reach VALUE, and checks
 * that it is VALUE: a counter is updated after the frame it counts went
 * out, so the test may see that frame (its answer) first. */
static void
wait_stat (GstElement * filter, const gchar * field, guint64 value)
{
  guint waited;

  for (waited = 0; stat_of (filter, field) < value && waited < 5000;
      waited += 5)
    g_usleep (5 * G_TIME_SPAN_MILLISECOND);
  fail_unless_equals_uint64 (stat_of (filter, field), value);
}

/* Three flushing seeks, the sink full, zerofilter blocked pushing,
 * requests waiting (with in-place answers: held downstream). */
static void
flushing_seeks (gboolean in_place)
{
  gchar *channel = channel_name (in_place ? "ip-seek" : "seek");
  Server *server = server_new (channel, 5, FALSE);
  GstElement *pipeline, *appsink;
  GstClockTime pts, start = 0, seek_to = 10 * GST_SECOND;
  guint i, round;

  server->in_place = in_place;
  server_run (server);
  pipeline = filter_pipeline (channel, "videotestsrc ! " GRAY_CAPS,
      "depth=3", "sync=false max-buffers=2");
  appsink = by_name (pipeline, "out");
  reach_state (pipeline, GST_STATE_PLAYING);
  for (i = 0; i < 10; i++)
    fail_unless_equals_uint64 (pull_paired (appsink, NULL), i * FRAME_NS);

  for (round = 0; round < 3; round++) {
    /* the sink full, zerofilter blocked pushing, requests waiting */
    g_usleep (100 * G_TIME_SPAN_MILLISECOND);
    fail_unless (gst_element_seek_simple (pipeline, GST_FORMAT_TIME,
            GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE, seek_to));
    /* every buffer from now on: the new segment's, in order, none lost */
    for (i = 0; i < 15; i++) {
      pts = pull_paired (appsink, &start);
      fail_unless_equals_uint64 (start, seek_to);
      fail_unless (pts == seek_to + i * FRAME_NS, "buffer %u after the seek "
          "to %" GST_TIME_FORMAT " has PTS %" GST_TIME_FORMAT, i,
          GST_TIME_ARGS (seek_to), GST_TIME_ARGS (pts));
    }
    seek_to += 7 * GST_SECOND;
  }
  assert_no_error (pipeline);
  /* all answered in place, or none */
  fail_unless_equals_uint64 (stat_of (by_name (pipeline, "f"),
          "responses-in-place"), in_place ? stat_of (by_name (pipeline, "f"),
          "responses") : 0);
  finish (pipeline, server, channel);
}

GST_START_TEST (test_flushing_seek)
{
  flushing_seeks (FALSE);
}

GST_END_TEST;

/* A replay, as a player loops: a flushing seek after EOS. EOS ended the
 * session (the server saw the end of this client and let its response
 * ring go); the next request starts a new one, each answer paired with
 * its own request, three times. */
GST_START_TEST (test_seek_after_eos)
{
  gchar *channel = channel_name ("replay");
  Server *server = server_start (channel, 0);
  GstElement *pipeline = filter_pipeline (channel, "videotestsrc ! "
      GRAY_CAPS, "", "sync=false");
  GstElement *appsink = by_name (pipeline, "out");
  guint round, i;

  reach_state (pipeline, GST_STATE_PAUSED);
  for (round = 0; round < 3; round++) {
    fail_unless (gst_element_seek (pipeline, 1.0, GST_FORMAT_TIME,
            GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE, GST_SEEK_TYPE_SET,
            0, GST_SEEK_TYPE_SET, 10 * FRAME_NS));
    if (round == 0)
      reach_state (pipeline, GST_STATE_PLAYING);
    for (i = 0; i < 10; i++)
      fail_unless_equals_uint64 (pull_paired (appsink, NULL), i * FRAME_NS);
    fail_unless (gst_app_sink_try_pull_sample (GST_APP_SINK (appsink), WAIT)
        == NULL && gst_app_sink_is_eos (GST_APP_SINK (appsink)),
        "round %u: no EOS after 10 buffers", round);
  }
  assert_no_error (pipeline);
  reach_state (pipeline, GST_STATE_NULL);
  fail_if (ring_exists (server->response_name));
  gst_object_unref (pipeline);
  fail_unless_equals_int (server_stop (server, 3), 3);
  g_free (channel);
}

GST_END_TEST;

/* A flushing seek while zerofilter waits for the server at its first
 * caps: the caps upstream sends again after the flush are first caps
 * again, so the stream flows once the server comes (they took the path of
 * a caps change, which never connects: not-negotiated, no buffer). */
GST_START_TEST (test_seek_while_connecting)
{
  gchar *channel = channel_name ("seek-connecting");
  GstElement *pipeline = filter_pipeline (channel, "videotestsrc ! "
      GRAY_CAPS, "", "sync=false");
  GstElement *appsink = by_name (pipeline, "out");
  GstClockTime start = GST_CLOCK_TIME_NONE, pts;
  Server *server;

  fail_if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
  g_usleep (300 * G_TIME_SPAN_MILLISECOND);     /* in the connect wait */
  fail_unless (gst_element_seek_simple (pipeline, GST_FORMAT_TIME,
          GST_SEEK_FLAG_FLUSH, 2 * GST_SECOND));
  server = server_start (channel, 0);
  pts = pull_paired (appsink, &start);
  fail_unless_equals_uint64 (start, 2 * GST_SECOND);
  fail_unless_equals_uint64 (pts, 2 * GST_SECOND);
  fail_unless_equals_uint64 (pull_paired (appsink, NULL),
      2 * GST_SECOND + FRAME_NS);
  assert_no_error (pipeline);
  finish (pipeline, server, channel);
}

GST_END_TEST;

/* What zerofilter reads at READY->PAUSED (channel, frame-header, ...),
 * set while PLAYING, is refused with a warning naming it and the state:
 * it read back the new value while the old channel stayed in use. */
GST_START_TEST (test_ready_properties_refused_while_playing)
{
  gchar *channel = channel_name ("mutable");
  Server *server = server_start (channel, 0);
  GstElement *pipeline = filter_pipeline (channel,
      "videotestsrc is-live=true ! " GRAY_CAPS, "", "");
  GstElement *filter = by_name (pipeline, "f");
  GstCheckLogFilter *log_filter;
  gint warnings = 0;
  gchar *value = NULL;

  reach_state (pipeline, GST_STATE_PLAYING);
  pull_paired (by_name (pipeline, "out"), NULL);
  log_filter = gst_check_add_log_filter (NULL, G_LOG_LEVEL_WARNING,
      g_regex_new ("^Changing the \"channel\" property of f while PLAYING "
          "is not supported", 0, 0, NULL), count_warning, &warnings, NULL);
  g_object_set (filter, "channel", "elsewhere", NULL);
  gst_check_remove_log_filter (log_filter);
  fail_unless_equals_int (warnings, 1);
  g_object_get (filter, "channel", &value, NULL);
  fail_unless_equals_string (value, channel);
  g_free (value);
  pull_paired (by_name (pipeline, "out"), NULL);
  assert_no_error (pipeline);
  finish (pipeline, server, channel);
}

GST_END_TEST;

GST_START_TEST (test_state_cycles_with_frames_in_flight)
{
  gchar *channel = channel_name ("cycles");
  gchar *response_tag = g_strdup_printf ("%s_response", channel);
  Server *server = server_start (channel, 8);
  GstElement *pipeline = filter_pipeline (channel,
      "videotestsrc is-live=true ! " GRAY_CAPS, "depth=2",
      "sync=true max-buffers=2");
  GstElement *appsink = by_name (pipeline, "out");
  GstClockTime last, pts;
  guint cycle, i;

  for (cycle = 0; cycle < 4; cycle++) {
    reach_state (pipeline, GST_STATE_PLAYING);
    last = pull_paired (appsink, NULL);
    for (i = 0; i < 3; i++)
      last = pull_paired (appsink, NULL);
    /* paused with requests waiting for the 8 ms server */
    reach_state (pipeline, GST_STATE_PAUSED);
    g_usleep (30 * G_TIME_SPAN_MILLISECOND);
    reach_state (pipeline, GST_STATE_PLAYING);
    for (i = 0; i < 4; i++) {
      pts = pull_paired (appsink, NULL);
      fail_unless (pts > last, "PTS %" GST_TIME_FORMAT " after %"
          GST_TIME_FORMAT, GST_TIME_ARGS (pts), GST_TIME_ARGS (last));
      last = pts;
    }
    assert_no_error (pipeline);
    /* the next stop with responses still coming */
    g_usleep (10 * G_TIME_SPAN_MILLISECOND);
    reach_state (pipeline, GST_STATE_NULL);
    fail_if (ring_exists (server->response_name),
        "cycle %u: the response ring is left", cycle);
    fail_unless_equals_int (shm_entries_with (response_tag), 0);
  }
  gst_object_unref (pipeline);
  fail_unless_equals_int (server_stop (server, 4), 4);
  g_free (response_tag);
  g_free (channel);
}

GST_END_TEST;

/* The latency a query at zerofilter's src pad gets, and upstream's. */
static void
query_latency (GstElement * filter, gboolean * live, GstClockTime * min,
    GstClockTime * max, gboolean * up_live, GstClockTime * up_min,
    GstClockTime * up_max)
{
  GstPad *src = gst_element_get_static_pad (filter, "src");
  GstPad *sink = gst_element_get_static_pad (filter, "sink");
  GstQuery *q = gst_query_new_latency ();

  fail_unless (gst_pad_peer_query (sink, q));
  gst_query_parse_latency (q, up_live, up_min, up_max);
  gst_query_unref (q);
  q = gst_query_new_latency ();
  fail_unless (gst_pad_query (src, q));
  gst_query_parse_latency (q, live, min, max);
  gst_query_unref (q);
  gst_object_unref (src);
  gst_object_unref (sink);
}

GST_START_TEST (test_latency_query)
{
  gchar *channel = channel_name ("latency");
  Server *server = server_start (channel, 0);
  GstElement *pipeline = filter_pipeline (channel,
      "videotestsrc is-live=true ! " GRAY_CAPS, "depth=3 latency=40",
      "sync=true");
  GstElement *filter = by_name (pipeline, "f");
  GstElement *appsink = by_name (pipeline, "out");
  GstClockTime min, max, up_min, up_max, pipeline_min, pipeline_max;
  gboolean live, up_live;
  GstQuery *q;

  reach_state (pipeline, GST_STATE_PLAYING);
  pull_paired (appsink, NULL);
  query_latency (filter, &live, &min, &max, &up_live, &up_min, &up_max);
  fail_unless (live && up_live);
  /* the round trip on both; depth frames of 20 ms more on the maximum */
  fail_unless_equals_uint64 (min, up_min + 40 * GST_MSECOND);
  /* videotestsrc can wait for ever: so can the pipeline */
  fail_unless_equals_uint64 (up_max, GST_CLOCK_TIME_NONE);
  fail_unless_equals_uint64 (max, GST_CLOCK_TIME_NONE);

  /* changed while playing: the pipeline is told (a LATENCY message) and
   * configures the new latency */
  g_object_set (filter, "latency", 100, NULL);
  query_latency (filter, &live, &min, &max, &up_live, &up_min, &up_max);
  fail_unless_equals_uint64 (min, up_min + 100 * GST_MSECOND);
  q = gst_query_new_latency ();
  fail_unless (gst_element_query (pipeline, q));
  gst_query_parse_latency (q, &live, &pipeline_min, &pipeline_max);
  gst_query_unref (q);
  fail_unless (pipeline_min >= min, "the pipeline's minimum %"
      GST_TIME_FORMAT " lacks zerofilter's %" GST_TIME_FORMAT,
      GST_TIME_ARGS (pipeline_min), GST_TIME_ARGS (min));
  pull_paired (appsink, NULL);
  assert_no_error (pipeline);

  finish (pipeline, server, channel);
}

GST_END_TEST;

/* Not live: zerofilter says so too, and adds the round trip all the same. */
GST_START_TEST (test_latency_query_not_live)
{
  gchar *channel = channel_name ("latency-nl");
  Server *server = server_start (channel, 0);
  GstElement *pipeline = filter_pipeline (channel, "videotestsrc ! "
      GRAY_CAPS, "latency=15", "sync=false");
  GstClockTime min, max, up_min, up_max;
  gboolean live, up_live;

  reach_state (pipeline, GST_STATE_PLAYING);
  pull_paired (by_name (pipeline, "out"), NULL);
  query_latency (by_name (pipeline, "f"), &live, &min, &max, &up_live,
      &up_min, &up_max);
  fail_if (live || up_live);
  fail_unless_equals_uint64 (min, up_min + 15 * GST_MSECOND);
  finish (pipeline, server, channel);
}

GST_END_TEST;

/* An upstream that can wait a bounded time (appsrc max-latency): the
 * maximum grows by the round trip and depth frames. */
GST_START_TEST (test_latency_query_bounded_maximum)
{
  gchar *channel = channel_name ("latency-max");
  Server *server = server_start (channel, 0);
  GstElement *pipeline = filter_pipeline (channel, "appsrc name=src "
      "is-live=true format=time min-latency=10000000 max-latency=50000000 "
      "caps=" GRAY_CAPS, "depth=3 latency=40", "sync=false");
  GstElement *appsrc = by_name (pipeline, "src");
  GstClockTime min, max, up_min, up_max;
  gboolean live, up_live;
  GstBuffer *buffer = gst_buffer_new_allocate (NULL, 64 * 48, NULL);

  gst_buffer_memset (buffer, 0, 0, 64 * 48);
  GST_BUFFER_PTS (buffer) = 0;
  /* PLAYING comes with the first buffer */
  fail_if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
  fail_unless_equals_int (gst_app_src_push_buffer (GST_APP_SRC (appsrc),
          buffer), GST_FLOW_OK);
  pull_paired (by_name (pipeline, "out"), NULL);
  query_latency (by_name (pipeline, "f"), &live, &min, &max, &up_live,
      &up_min, &up_max);
  fail_unless (live && up_live);
  fail_unless_equals_uint64 (up_min, 10 * GST_MSECOND);
  fail_unless_equals_uint64 (up_max, 50 * GST_MSECOND);
  fail_unless_equals_uint64 (min, 50 * GST_MSECOND);
  fail_unless_equals_uint64 (max, (50 + 40) * GST_MSECOND + 3 * FRAME_NS);
  finish (pipeline, server, channel);
}

GST_END_TEST;

/* Pulls a buffer and checks it: paired with its request, its size what
 * its caps say, and the server saw the same caps for that request (*index:
 * the rank among the responses, counted here). Returns its width. */
static gint
pull_checked (GstElement * appsink, guint * index, Server * server)
{
  GstSample *sample = gst_app_sink_try_pull_sample (GST_APP_SINK (appsink),
      WAIT);
  GstBuffer *buffer;
  GstStructure *st;
  gint width = 0;
  const gchar *seen;
  gchar *want;
  guint64 answered = 0;

  fail_unless (sample != NULL, "no buffer within 10 s");
  buffer = gst_sample_get_buffer (sample);
  gst_buffer_extract (buffer, 0, &answered, sizeof answered);
  fail_unless (answered == GST_BUFFER_PTS (buffer));
  st = gst_caps_get_structure (gst_sample_get_caps (sample), 0);
  fail_unless (gst_structure_get_int (st, "width", &width));
  fail_unless_equals_int (gst_buffer_get_size (buffer), width * width * 3 / 4);
  g_mutex_lock (&server->lock);
  fail_unless (*index < server->caps_seen->len);
  seen = g_ptr_array_index (server->caps_seen, *index);
  want = g_strdup_printf ("width=(int)%d,", width);
  fail_unless (strstr (seen, want) != NULL, "request %u (%d pixels wide) "
      "reached the server as %s", *index, width, seen);
  g_mutex_unlock (&server->lock);
  g_free (want);
  gst_sample_unref (sample);
  (*index)++;
  return width;
}

/* Changes the caps filter to CAPS (WIDTH wide): buffers of the old width
 * until the change arrives, then N of the new one. */
static void
change_caps (GstElement * cf, const gchar * caps_string, gint width,
    GstElement * appsink, guint * index, Server * server)
{
  GstCaps *caps = gst_caps_from_string (caps_string);
  guint i, old = 0;

  g_object_set (cf, "caps", caps, NULL);
  gst_caps_unref (caps);
  while (pull_checked (appsink, index, server) != width)
    fail_unless (++old < 50, "the caps change did not reach the sink");
  for (i = 0; i < 5; i++)
    fail_unless_equals_int (pull_checked (appsink, index, server), width);
}

#define GRAY_CAPS_SMALL "video/x-raw,format=GRAY8,width=32,height=24,framerate=50/1"

/* The input caps change (64x48, 32x24, 64x48 again): with frame-header
 * the server sees each request's own caps, the changed ones in the frame
 * header's attributes, the first ones from the metadata. */
GST_START_TEST (test_caps_change_reaches_the_server)
{
  gchar *channel = channel_name ("caps");
  Server *server = server_start (channel, 0);
  GstElement *pipeline = filter_pipeline (channel, "videotestsrc ! "
      "capsfilter name=cf caps=" GRAY_CAPS, "", "sync=false max-buffers=2");
  GstElement *appsink = by_name (pipeline, "out");
  GstElement *cf = by_name (pipeline, "cf");
  guint index = 0, i;

  reach_state (pipeline, GST_STATE_PLAYING);
  for (i = 0; i < 5; i++)
    fail_unless_equals_int (pull_checked (appsink, &index, server), 64);
  change_caps (cf, GRAY_CAPS_SMALL, 32, appsink, &index, server);
  change_caps (cf, GRAY_CAPS, 64, appsink, &index, server);
  assert_no_error (pipeline);

  finish (pipeline, server, channel);
}

GST_END_TEST;

#define GRAY_CAPS_LARGE "video/x-raw,format=GRAY8,width=640,height=480,framerate=50/1"

/* The input caps grow (64x48 to 640x480 GRAY8) under FILTER_PROPS, the
 * server answering by copy (it declares no frame header): the response
 * ring cannot hold one 307200-byte answer, so the caps change is an
 * EMSGSIZE error whose message has WANT. (Before: the server could not
 * reserve the answer, and zerofilter failed with "The duplex server
 * stopped answering", EOF, or, as the test server leaves its writer, no
 * buffer came.) */
static void
caps_growth_error (const gchar * tag, const gchar * filter_props,
    const gchar * want)
{
  gchar *channel = channel_name (tag);
  Server *server = server_start (channel, 0);
  GstElement *pipeline = filter_pipeline (channel, "videotestsrc ! "
      "capsfilter name=cf caps=" GRAY_CAPS, filter_props,
      "sync=false max-buffers=2");
  GstElement *appsink = by_name (pipeline, "out");
  GstCaps *caps = gst_caps_from_string (GRAY_CAPS_LARGE);
  GError *error = NULL;
  gchar *debug = NULL;
  GstMessage *msg;
  guint index = 0, i;

  reach_state (pipeline, GST_STATE_PLAYING);
  for (i = 0; i < 5; i++)
    fail_unless_equals_int (pull_checked (appsink, &index, server), 64);
  g_object_set (by_name (pipeline, "cf"), "caps", caps, NULL);
  gst_caps_unref (caps);
  /* the sink pulled from, so that the change flows: every buffer 64x48 */
  for (i = 0; i < 100 && (msg = gst_bus_pop_filtered (GST_ELEMENT_BUS
              (pipeline), GST_MESSAGE_ERROR)) == NULL; i++) {
    GstSample *sample = gst_app_sink_try_pull_sample (GST_APP_SINK (appsink),
        100 * GST_MSECOND);

    if (sample != NULL) {
      fail_unless_equals_int (gst_buffer_get_size (gst_sample_get_buffer
              (sample)), 64 * 48);
      gst_sample_unref (sample);
    }
  }
  fail_unless (msg != NULL, "no error within 10 s");
  gst_message_parse_error (msg, &error, &debug);
  gst_message_unref (msg);
  fail_unless (strstr (error->message, want) != NULL, "%s", error->message);
  fail_unless (strstr (debug, "zerobuffer-error=EMSGSIZE") != NULL, "%s",
      debug);
  g_free (debug);
  g_clear_error (&error);
  finish (pipeline, server, channel);
}

/* With payload-size 0 the response ring was sized for 64x48 frames. */
GST_START_TEST (test_caps_growth_response_ring_auto)
{
  gchar *want = g_strdup_printf ("The response ring cannot hold an answer "
      "to the new caps' frames: GRAY8 640x480 frames of 307200 bytes need "
      "payload-size=%" G_GUINT64_FORMAT " or more, this zerofilter's "
      "response ring has %" G_GUINT64_FORMAT " bytes (payload-size=0 sized "
      "it for the first caps)", zb_payload_size_for (307200, 1, FALSE),
      zb_duplex_payload_size (64 * 48, ZB_DUPLEX_DEFAULT_DEPTH));

  caps_growth_error ("grow-auto", "", want);
  g_free (want);
}

GST_END_TEST;

GST_START_TEST (test_caps_growth_payload_size_too_small)
{
  gchar *want = g_strdup_printf ("GRAY8 640x480 frames of 307200 bytes need "
      "payload-size=%" G_GUINT64_FORMAT " or more, this zerofilter has "
      "payload-size=250000", zb_payload_size_for (307200, 1, FALSE));

  caps_growth_error ("grow-small", "payload-size=250000", want);
  g_free (want);
}

GST_END_TEST;

/* The payload-size the growth's error names (room for one answer of the
 * new caps) is enough: under it the same growth goes on, every answer
 * paired, also with depth 8 requests waiting (the server answers one at a
 * time, and zerofilter copies the answers downstream keeps out of the
 * ring when the server waits for room). */
GST_START_TEST (test_caps_growth_named_size_works)
{
  gchar *channel = channel_name ("grow-named");
  Server *server = server_start (channel, 0);
  gchar *props = g_strdup_printf ("depth=8 payload-size=%" G_GUINT64_FORMAT,
      zb_payload_size_for (640 * 480, 1, FALSE));
  GstElement *pipeline = filter_pipeline (channel, "videotestsrc ! "
      "capsfilter name=cf caps=" GRAY_CAPS, props,
      "sync=false max-buffers=2");
  GstElement *appsink = by_name (pipeline, "out");
  guint index = 0, i;

  reach_state (pipeline, GST_STATE_PLAYING);
  for (i = 0; i < 5; i++)
    fail_unless_equals_int (pull_checked (appsink, &index, server), 64);
  change_caps (by_name (pipeline, "cf"), GRAY_CAPS_LARGE, 640, appsink,
      &index, server);
  for (i = 0; i < 20; i++)
    fail_unless_equals_int (pull_checked (appsink, &index, server), 640);
  assert_no_error (pipeline);
  g_free (props);
  finish (pipeline, server, channel);
}

GST_END_TEST;

/* The same growth answered in place: the answers take a frame header's
 * room in the response ring, so no error; every answer of its caps' size,
 * paired with its own request. */
GST_START_TEST (test_caps_growth_in_place)
{
  gchar *channel = channel_name ("grow-ip");
  Server *server = server_new (channel, 0, FALSE);
  GstElement *pipeline, *appsink, *cf;
  guint index = 0, i;

  server->in_place = TRUE;
  server_run (server);
  pipeline = filter_pipeline (channel, "videotestsrc ! capsfilter name=cf "
      "caps=" GRAY_CAPS, "", "sync=false max-buffers=2");
  appsink = by_name (pipeline, "out");
  cf = by_name (pipeline, "cf");
  reach_state (pipeline, GST_STATE_PLAYING);
  for (i = 0; i < 5; i++)
    fail_unless_equals_int (pull_checked (appsink, &index, server), 64);
  change_caps (cf, GRAY_CAPS_LARGE, 640, appsink, &index, server);
  assert_no_error (pipeline);
  {
    /* one snapshot: the pipeline runs on, answers arrive between two reads */
    GstStructure *stats = NULL;
    guint64 responses = 0, in_place = 0;

    g_object_get (by_name (pipeline, "f"), "stats", &stats, NULL);
    fail_unless (gst_structure_get_uint64 (stats, "responses", &responses));
    fail_unless (gst_structure_get_uint64 (stats, "responses-in-place",
            &in_place));
    gst_structure_free (stats);
    fail_unless (responses > 0);
    fail_unless_equals_uint64 (in_place, responses);
  }
  finish (pipeline, server, channel);
}

GST_END_TEST;

#define H264_CAPS "video/x-h264,stream-format=byte-stream,alignment=au," \
  "width=64,height=48,framerate=50/1"

/* Pushes buffer I (16 bytes of I) under CAPS, pulls its answer (the
 * server echoes) and checks its bytes and caps. */
static void
push_and_pull (GstElement * pipeline, guint i, const gchar * caps_string)
{
  GstElement *appsrc = by_name (pipeline, "in");
  GstCaps *caps = gst_caps_from_string (caps_string), *got_caps;
  GstBuffer *buffer = gst_buffer_new_allocate (NULL, 16, NULL);
  GstSample *sample;
  guint8 bytes[16];

  g_object_set (appsrc, "caps", caps, NULL);
  gst_buffer_memset (buffer, 0, (guint8) i, 16);
  GST_BUFFER_PTS (buffer) = i * FRAME_NS;
  fail_unless_equals_int (gst_app_src_push_buffer (GST_APP_SRC (appsrc),
          buffer), GST_FLOW_OK);
  sample = gst_app_sink_try_pull_sample (GST_APP_SINK (by_name (pipeline,
              "out")), WAIT);
  fail_unless (sample != NULL, "no answer to buffer %u within 10 s", i);
  buffer = gst_sample_get_buffer (sample);
  fail_unless_equals_int (gst_buffer_get_size (buffer), 16);
  gst_buffer_extract (buffer, 0, bytes, 16);
  fail_unless (bytes[0] == (guint8) i && bytes[15] == (guint8) i,
      "buffer %u answered with bytes of %u", i, bytes[0]);
  got_caps = gst_sample_get_caps (sample);
  fail_unless (gst_caps_is_equal (got_caps, caps), "answer %u under %"
      GST_PTR_FORMAT, i, got_caps);
  gst_sample_unref (sample);
  gst_caps_unref (caps);
}

/* Without frame-header the server knows only the first caps (the request
 * ring's metadata): caps that refine them mid-stream (h264parse adding
 * profile, level, codec_data) are the same format and warn of nothing;
 * a real change (another size) is a warning that shows both caps. */
GST_START_TEST (test_caps_refinement_without_header)
{
  gchar *channel = channel_name ("refine");
  Server *server = server_start_full (channel, 0, TRUE);
  gchar *desc = g_strdup_printf ("appsrc name=in format=time caps=\"%s\" ! "
      "zerofilter name=f channel=%s connect-timeout=5000 ! appsink name=out "
      "sync=false", H264_CAPS, channel);
  GstElement *pipeline = launch (desc);
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg;
  GError *error = NULL;
  gchar *debug = NULL;

  g_free (desc);
  /* (it prerolls with the first answer) */
  fail_if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
  push_and_pull (pipeline, 0, H264_CAPS);
  push_and_pull (pipeline, 1, H264_CAPS ",profile=high,level=(string)3.1,"
      "codec_data=(buffer)0164001fffe1");
  push_and_pull (pipeline, 2, H264_CAPS ",profile=high,level=(string)3.1,"
      "codec_data=(buffer)0164001fffe1,parsed=true");
  /* each answer came after its caps event: a warning is on the bus now */
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  if (msg != NULL) {
    gst_message_parse_warning (msg, &error, NULL);
    fail ("unexpected WARNING: %s", error->message);
  }

  push_and_pull (pipeline, 3, "video/x-h264,stream-format=byte-stream,"
      "alignment=au,width=32,height=24,framerate=50/1");
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  fail_unless (msg != NULL, "no warning for a real caps change");
  gst_message_parse_warning (msg, &error, &debug);
  fail_unless (g_str_has_prefix (error->message, "The input caps changed "
          "from video/x-h264, stream-format=(string)byte-stream, "
          "alignment=(string)au, width=(int)64,"), "%s", error->message);
  fail_unless (strstr (error->message, " to video/x-h264, "
          "stream-format=(string)byte-stream, alignment=(string)au, "
          "width=(int)32,") != NULL, "%s", error->message);
  fail_unless (strstr (debug, "zerobuffer-error=EMETADATA") != NULL, "%s",
      debug);
  g_clear_error (&error);
  g_free (debug);
  gst_message_unref (msg);
  fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING) == NULL);

  /* the server saw the first caps for every request */
  g_mutex_lock (&server->lock);
  fail_unless_equals_int (server->caps_seen->len, 4);
  fail_unless (strstr (g_ptr_array_index (server->caps_seen, 3),
          "width=(int)64") != NULL);
  g_mutex_unlock (&server->lock);

  gst_app_src_end_of_stream (GST_APP_SRC (by_name (pipeline, "in")));
  msg = gst_bus_timed_pop_filtered (bus, WAIT, GST_MESSAGE_EOS |
      GST_MESSAGE_ERROR);
  fail_unless (msg != NULL && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS);
  gst_message_unref (msg);
  gst_object_unref (bus);
  finish (pipeline, server, channel);
}

GST_END_TEST;

/* Whether this process maps the shared memory of ring NAME (a hold left
 * keeps its writer's mapping). */
static gboolean
mapped (const gchar * name)
{
  gchar *maps = NULL, *path = g_strdup_printf ("/dev/shm/%s", name);
  gboolean found;

  fail_unless (g_file_get_contents ("/proc/self/maps", &maps, NULL, NULL));
  found = strstr (maps, path) != NULL;
  g_free (maps);
  g_free (path);
  return found;
}

/* In-place answers, held downstream (the appsink keeps 2, zerofilter
 * blocks pushing the next) while flushing seeks discard the requests in
 * flight: every buffer after each seek is the new segment's, paired with
 * its own request (the PTS the server wrote where its bytes lie). */
GST_START_TEST (test_in_place_flushing_seek)
{
  flushing_seeks (TRUE);
}

GST_END_TEST;

/* A server that stops answering (its response ring detached) after 10
 * in-place answers, which the appsink keeps (nobody pulls): an error that
 * says so within the timeout; and once the pipeline is gone, no hold is
 * left: nothing maps the request ring any more. */
GST_START_TEST (test_in_place_server_gone_with_holds)
{
  gchar *channel = channel_name ("ip-gone");
  Server *server = server_new (channel, 0, FALSE);
  gchar *request_name = g_strdup (server->request_name);
  GstElement *pipeline;
  GError *error;

  server->in_place = TRUE;
  server->answers_left = 10;
  server_run (server);
  pipeline = filter_pipeline (channel, "videotestsrc ! " GRAY_CAPS,
      "timeout=1000", "sync=false max-buffers=0 emit-signals=false");
  error = play_until_error (pipeline);
  fail_unless (strstr (error->message, "did not answer") != NULL ||
      strstr (error->message, "stopped answering") != NULL,
      "error: %s", error->message);
  fail_unless (stat_of (by_name (pipeline, "f"), "responses-in-place") == 10);
  finish_after_error (pipeline, error, NULL, server, channel);
  fail_if (mapped (request_name), "a hold keeps %s mapped", request_name);
  g_free (request_name);
}

GST_END_TEST;

/* A pipeline of videotestsrc into zerofilter over CHANNEL, playing until
 * its ERROR (fails without one within 10 s): its text and detail in
 * *ERROR and *DEBUG. */
static GstElement *
pipeline_until_error (const gchar * channel, GError ** error, gchar ** debug)
{
  GstElement *pipeline = filter_pipeline (channel, "videotestsrc ! "
      GRAY_CAPS, "", "sync=false");
  GstMessage *msg;

  fail_if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (pipeline), WAIT,
      GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "no error within 10 s");
  gst_message_parse_error (msg, error, debug);
  gst_message_unref (msg);
  return pipeline;
}

/* A request ring whose metadata block (64 bytes) cannot hold zerofilter's
 * metadata: its error says so and names the size needed (it said "No
 * duplex server on the channel"), and the server's reader hears of it
 * from the note zerofilter leaves (EMSGSIZE, the same size) instead of
 * waiting for requests. */
GST_START_TEST (test_request_metadata_too_big)
{
  gchar *channel = channel_name ("metabig");
  char request_name[ZB_NAME_MAX + 1];
  zb_reader *requests = NULL;
  zb_frame request;
  GstElement *pipeline;
  GError *error = NULL;
  gchar *debug = NULL, *needed;

  fail_unless_equals_int (zb_duplex_ring_name (channel, ZB_DUPLEX_REQUEST,
          request_name, sizeof request_name), 0);
  fail_unless_equals_int (zb_reader_create (&requests, request_name, 64,
          1 << 20, NULL), 0);
  pipeline = pipeline_until_error (channel, &error, &debug);
  fail_unless (strstr (error->message, "The duplex server's request ring "
          "is too small for this stream's metadata") != NULL, "%s",
      error->message);
  needed = strstr (debug, "metadata size of at least ");
  fail_unless (needed != NULL, "%s", debug);
  needed = g_strndup (needed, strspn (needed + 26, "0123456789") + 26);
  fail_unless (strstr (debug, "zerobuffer-error=EMSGSIZE") != NULL, "%s",
      debug);
  g_clear_error (&error);
  reach_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  fail_unless_equals_int (zb_reader_next (requests, &request, 1000),
      ZB_EMSGSIZE);
  fail_unless (strstr (zb_last_error (), needed) != NULL, "%s",
      zb_last_error ());
  g_free (needed);
  g_free (debug);
  zb_reader_destroy (requests);
  g_free (channel);
}

GST_END_TEST;

/* Response metadata the core cannot read (its length prefix corrupt:
 * EPROTO): that protocol error, with the core's text. It declares the
 * per-frame header; read as no metadata, the in-place answers' 48-byte
 * headers went downstream as responses. */
GST_START_TEST (test_corrupt_response_metadata)
{
  gchar *channel = channel_name ("corrupt-meta");
  Server *server = server_new (channel, 0, FALSE);
  GstElement *pipeline;
  GError *error = NULL;
  gchar *debug = NULL;

  server->in_place = TRUE;
  server->corrupt_metadata = TRUE;
  server_run (server);
  pipeline = pipeline_until_error (channel, &error, &debug);
  fail_unless (strstr (error->message, "Cannot read the duplex server's "
          "response metadata") != NULL, "%s", error->message);
  fail_unless (strstr (debug, "does not match") != NULL, "%s", debug);
  fail_unless (strstr (debug, "zerobuffer-error=EPROTO") != NULL, "%s",
      debug);
  fail_unless_equals_uint64 (stat_of (by_name (pipeline, "f"), "responses"),
      0);
  finish_after_error (pipeline, error, debug, server, channel);
}

GST_END_TEST;

/* A server declaring raw caps that are fixed but say no frame size (no
 * width nor height): EMETADATA naming the caps and what they lack, no
 * buffer pushed; those caps went downstream, where fakesink took buffers
 * of any size and videoconvert failed with "integer overflow". */
GST_START_TEST (test_server_caps_without_size)
{
  gchar *channel = channel_name ("nosize");
  Server *server = server_new (channel, 0, FALSE);
  GstElement *pipeline;
  GError *error = NULL;
  gchar *debug = NULL;

  server->metadata = "{\"caps\":\"video/x-raw,format=GRAY8\","
      "\"zerobuffer\":{\"frame_header\":0}}";
  server_run (server);
  pipeline = pipeline_until_error (channel, &error, &debug);
  fail_unless (strstr (error->message, "Cannot use the caps the duplex "
          "server declares: the raw caps video/x-raw, format=(string)GRAY8 "
          "lack width, height") != NULL, "%s", error->message);
  fail_unless (strstr (debug, "zerobuffer-error=EMETADATA") != NULL, "%s",
      debug);
  fail_unless_equals_uint64 (stat_of (by_name (pipeline, "f"), "responses"),
      0);
  finish_after_error (pipeline, error, debug, server, channel);
}

GST_END_TEST;

/* Pushes a request of WHOLE bytes of CAPS (answered), then one of PART
 * bytes: zerofilter refuses it before the request ring with EXPECTED
 * (EFRAMESIZE), the server having answered the first only. */
static void
check_request_refused (const gchar * tag, const gchar * caps, gsize whole,
    gsize part, const gchar * expected)
{
  gchar *channel = channel_name (tag);
  Server *server = server_start (channel, 0);
  gchar *source = g_strdup_printf ("appsrc name=src format=time caps=\"%s\"",
      caps);
  GstElement *pipeline = filter_pipeline (channel, source, "", "sync=false");
  GstElement *appsrc = by_name (pipeline, "src");
  GstBuffer *buffer;
  GstMessage *msg;
  GError *error = NULL;
  gchar *debug = NULL;

  fail_if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
  buffer = gst_buffer_new_allocate (NULL, whole, NULL);
  gst_buffer_memset (buffer, 0, 0, whole);
  GST_BUFFER_PTS (buffer) = 0;
  gst_app_src_push_buffer (GST_APP_SRC (appsrc), buffer);
  pull_paired (by_name (pipeline, "out"), NULL);
  buffer = gst_buffer_new_allocate (NULL, part, NULL);
  gst_buffer_memset (buffer, 0, 0, part);
  GST_BUFFER_PTS (buffer) = FRAME_NS;
  gst_app_src_push_buffer (GST_APP_SRC (appsrc), buffer);
  msg = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (pipeline), WAIT,
      GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "no error within 10 s");
  gst_message_parse_error (msg, &error, &debug);
  gst_message_unref (msg);
  fail_unless (strstr (error->message, expected) != NULL, "%s",
      error->message);
  fail_unless (strstr (debug, "zerobuffer-error=EFRAMESIZE (permanent)") !=
      NULL, "%s", debug);
  fail_unless_equals_uint64 (stat_of (by_name (pipeline, "f"), "responses"),
      1);
  g_free (source);
  finish_after_error (pipeline, error, debug, server, channel);
}

/* A raw video request that is not a frame of its caps (a row short, no
 * video meta) is refused before the request ring, as zerosink refuses it
 * (EFRAMESIZE, both sizes named): a duplex server of raw video reads
 * frames in GStreamer's default layout. */
GST_START_TEST (test_request_not_a_frame)
{
  check_request_refused ("notframe", GRAY_CAPS, 64 * 48, 64 * 47,
      "Could not send a request: A buffer of 3008 bytes is not a frame of "
      "its caps: GRAY8 64x48 frames have 3072 bytes");
}

GST_END_TEST;

/* A raw audio request of part of a sample frame is refused before the
 * request ring, as zerosink refuses such a buffer (EFRAMESIZE, both sizes
 * named): the server's reader (zerosrc) would refuse the frame. */
GST_START_TEST (test_request_not_whole_samples)
{
  check_request_refused ("notsamples", "audio/x-raw,format=S16LE,rate=48000,"
      "channels=2,layout=interleaved", 8, 6, "Could not send a request: A "
      "buffer of 6 bytes is not raw audio of its caps: S16LE audio of 2 "
      "channels comes in whole sample frames of 4 bytes");
}

GST_END_TEST;

#define VTS_REPEATED "videotestsrc num-buffers=12 pattern=ball " \
  "is-live=false ! video/x-raw,format=RGB,width=320,height=240," \
  "framerate=10/1 ! videorate ! video/x-raw,framerate=30/1"

/* Buffers APPSINK gets until EOS, each paired with its request. */
static guint
count_until_eos (GstElement * appsink, gboolean paired)
{
  GstSample *sample;
  guint n = 0;

  while (!paired && (sample = gst_app_sink_try_pull_sample (GST_APP_SINK
              (appsink), WAIT)) != NULL) {
    gst_sample_unref (sample);
    n++;
  }
  while (paired && !gst_app_sink_is_eos (GST_APP_SINK (appsink))) {
    GstSample *s = gst_app_sink_try_pull_sample (GST_APP_SINK (appsink),
        WAIT);
    GstBuffer *b;
    guint64 answered = 0;

    if (s == NULL)
      break;
    b = gst_sample_get_buffer (s);
    gst_buffer_extract (b, 0, &answered, sizeof answered);
    fail_unless (answered == GST_BUFFER_PTS (b), "response %u unpaired", n);
    gst_sample_unref (s);
    n++;
  }
  fail_unless (gst_app_sink_is_eos (GST_APP_SINK (appsink)), "no EOS");
  return n;
}

/* videorate before zerofilter pushes each buffer of zerofilter's pool
 * again (10 to 30 frames/s): a repeat that came after upstream took the
 * next pool buffer is dropped (copied, it would be sent after that
 * request), which the warning says (it said only that requests are
 * copied from then on, and a frame was missing): every frame of the
 * reference is a response or counted in frames-dropped, and a warning
 * says "was dropped" if and only if one was. Each warning names
 * max-buffers=0, which keeps every repeat: with it (FILTER_PROPS) no pool
 * is offered, none is dropped and none warns. */
static void
videorate_through_filter (const gchar * filter_props)
{
  gchar *channel = channel_name ("videorate");
  Server *server = server_start (channel, 0);
  GstElement *pipeline = launch (VTS_REPEATED " ! appsink name=out "
      "sync=false");
  GstMessage *msg;
  guint reference, got, repeats_told = 0, drops_told = 0;
  gboolean pool = strstr (filter_props, "max-buffers=0") == NULL;
  guint64 dropped;

  reach_state (pipeline, GST_STATE_PLAYING);
  reference = count_until_eos (by_name (pipeline, "out"), FALSE);
  reach_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  fail_unless (reference >= 30, "the reference has %u frames", reference);

  pipeline = filter_pipeline (channel, VTS_REPEATED, filter_props,
      "sync=false max-buffers=0");
  reach_state (pipeline, GST_STATE_PLAYING);
  got = count_until_eos (by_name (pipeline, "out"), TRUE);
  while ((msg = gst_bus_pop_filtered (GST_ELEMENT_BUS (pipeline),
              GST_MESSAGE_WARNING | GST_MESSAGE_ERROR)) != NULL) {
    GError *err = NULL;

    fail_unless (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING);
    gst_message_parse_warning (msg, &err, NULL);
    if (strstr (err->message, "more than once") != NULL)
      repeats_told++;
    if (strstr (err->message, "was dropped (counted in frames-dropped)"))
      drops_told++;
    fail_unless (g_str_has_suffix (err->message, "; set max-buffers=0 to "
            "copy requests from the start, which keeps every repeat"), "%s",
        err->message);
    g_error_free (err);
    gst_message_unref (msg);
  }
  dropped = stat_of (by_name (pipeline, "f"), "frames-dropped");
  fail_unless_equals_int (repeats_told, pool ? 1 : 0);
  fail_unless_equals_int (drops_told, dropped > 0 ? 1 : 0);
  fail_unless_equals_uint64 (got + dropped, reference);
  fail_unless (pool || dropped == 0, "%" G_GUINT64_FORMAT " repeats dropped "
      "without the pool", dropped);
  finish (pipeline, server, channel);
}

GST_START_TEST (test_videorate_repeat_dropped_is_told)
{
  videorate_through_filter ("");
  videorate_through_filter ("max-buffers=0");
}

GST_END_TEST;

/* Sets DELTA_UNIT on every other buffer (odd PTS index) going through. */
static GstPadProbeReturn
set_delta_on_odd (GstPad * pad, GstPadProbeInfo * info, gpointer unused)
{
  GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER (info);

  if (GST_BUFFER_PTS (buffer) / FRAME_NS % 2 == 1) {
    buffer = gst_buffer_make_writable (buffer);
    GST_BUFFER_FLAG_SET (buffer, GST_BUFFER_FLAG_DELTA_UNIT);
    GST_PAD_PROBE_INFO_DATA (info) = buffer;
  }
  return GST_PAD_PROBE_OK;
}

/* Six buffers of videotestsrc into zerofilter (FILTER_PROPS) over
 * CHANNEL, DELTA_UNIT set on the odd ones on their way in; not started. */
static GstElement *
delta_on_odd_pipeline (const gchar * channel, const gchar * filter_props)
{
  GstElement *pipeline = filter_pipeline (channel,
      "videotestsrc num-buffers=6 ! " GRAY_CAPS, filter_props, "sync=false");
  GstPad *pad = gst_element_get_static_pad (by_name (pipeline, "f"),
      "sink");

  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, set_delta_on_odd, NULL,
      NULL);
  gst_object_unref (pad);
  return pipeline;
}

/* Response I from APPSINK (fails unless it arrives). */
static GstSample *
pull_response (GstElement * appsink, guint i)
{
  GstSample *sample = gst_app_sink_try_pull_sample (GST_APP_SINK (appsink),
      WAIT);

  fail_unless (sample != NULL, "response %u did not arrive", i);
  return sample;
}

/* Fails unless FLAG is set on BUFFER, response I, exactly when EXPECTED. */
static void
check_flag (GstBuffer * buffer, guint i, GstBufferFlags flag,
    gboolean expected)
{
  fail_unless (GST_BUFFER_FLAG_IS_SET (buffer, flag) == expected,
      "response %u: flag 0x%x %s", i, flag, expected ? "missing" : "set");
}

/* A pool buffer of zerofilter's request pool, its bytes VALUE, PTS
 * INDEX frames. */
static GstBuffer *
request_pool_buffer (GstBufferPool * pool, guint8 value, guint index)
{
  GstBuffer *buffer = NULL;

  fail_unless_equals_int (gst_buffer_pool_acquire_buffer (pool, &buffer,
          NULL), GST_FLOW_OK);
  gst_buffer_memset (buffer, 0, value, 64 * 48);
  GST_BUFFER_PTS (buffer) = index * FRAME_NS;
  GST_BUFFER_DURATION (buffer) = FRAME_NS;
  return buffer;
}

/* zerofilter's request pool, active, as SRCPAD's peer answers the
 * allocation query for GRAY_CAPS: the pool an upstream element draws
 * from. */
static GstBufferPool *
request_pool (GstPad * srcpad)
{
  GstCaps *caps = gst_caps_from_string (GRAY_CAPS);
  GstQuery *query = gst_query_new_allocation (caps, TRUE);
  GstBufferPool *pool = NULL;

  gst_caps_unref (caps);
  fail_unless (gst_pad_peer_query (srcpad, query));
  fail_unless_equals_int (gst_query_get_n_allocation_pools (query), 1);
  gst_query_parse_nth_allocation_pool (query, 0, &pool, NULL, NULL, NULL);
  gst_query_unref (query);
  fail_unless (pool != NULL);
  fail_unless (gst_buffer_pool_set_active (pool, TRUE));
  return pool;
}

/* Step by step, what videorate does: pool buffer A sent, B taken from the
 * pool, then A pushed again (a repeat, with RESYNC): the repeat would
 * come after B's request, so it is dropped; it repeats the frame before,
 * so nothing is lost: B's response has the repeat's RESYNC but no
 * DISCONT, as zerosink's frame after a dropped repeat (it had DISCONT). */
GST_START_TEST (test_no_discont_after_dropped_repeat)
{
  gchar *channel = channel_name ("repeat-discont");
  Server *server = server_start (channel, 0);
  gchar *desc = g_strdup_printf ("zerofilter name=f channel=%s "
      "frame-header=true connect-timeout=5000", channel);
  GstHarness *h = gst_harness_new_parse (desc);
  GstBufferPool *pool;
  GstBuffer *a, *b, *repeat, *out;
  GstElement *filter;
  guint i;

  g_free (desc);
  gst_harness_set_src_caps_str (h, GRAY_CAPS);
  pool = request_pool (h->srcpad);

  a = request_pool_buffer (pool, 0xA, 0);
  fail_unless_equals_int (gst_harness_push (h, gst_buffer_ref (a)),
      GST_FLOW_OK);
  b = request_pool_buffer (pool, 0xB, 2);
  repeat = gst_buffer_copy (a); /* the same pool memory */
  GST_BUFFER_PTS (repeat) = FRAME_NS;
  GST_BUFFER_FLAG_SET (repeat, GST_BUFFER_FLAG_RESYNC);
  gst_buffer_unref (a);
  fail_unless_equals_int (gst_harness_push (h, repeat), GST_FLOW_OK);
  fail_unless_equals_int (gst_harness_push (h, b), GST_FLOW_OK);
  for (i = 0; i < 2; i++) {
    out = gst_harness_pull (h);
    fail_unless (out != NULL, "response %u did not arrive", i);
    fail_unless_equals_uint64 (GST_BUFFER_PTS (out), 2 * i * FRAME_NS);
    if (i == 1) {
      check_flag (out, i, GST_BUFFER_FLAG_DISCONT, FALSE);
      check_flag (out, i, GST_BUFFER_FLAG_RESYNC, TRUE);
    }
    gst_buffer_unref (out);
  }
  filter = gst_harness_find_element (h, "zerofilter");
  fail_unless_equals_uint64 (stat_of (filter, "frames-dropped"), 1);
  gst_object_unref (filter);

  fail_unless (gst_buffer_pool_set_active (pool, FALSE));
  gst_object_unref (pool);
  gst_harness_teardown (h);
  fail_if (ring_exists (server->response_name));
  fail_unless_equals_int (server_stop (server, 1), 1);
  g_free (channel);
}

GST_END_TEST;

/* A zerofilter (timeout=-1, its channel named after PREFIX) in a
 * harness, whose server reads no request: request pool buffer 0xA fills
 * its ring, and the acquire of another, on upstream's streaming thread
 * (the one returned), waits for room. */
typedef struct
{
  gchar *channel;
  zb_reader *requests;
  GstHarness *h;
  GstBufferPool *pool;
  UpstreamAcquire acquire;
} FullRequestRing;

static GThread *
full_request_ring_start (FullRequestRing * r, const gchar * prefix)
{
  gchar *desc;
  char name[ZB_NAME_MAX + 1];

  r->channel = channel_name (prefix);
  desc = g_strdup_printf ("zerofilter channel=%s timeout=-1 "
      "connect-timeout=5000", r->channel);
  fail_unless_equals_int (zb_duplex_ring_name (r->channel,
          ZB_DUPLEX_REQUEST, name, sizeof name), 0);
  r->requests = NULL;
  fail_unless_equals_int (zb_reader_create (&r->requests, name, 4096, 4096,
          NULL), 0);
  r->h = gst_harness_new_parse (desc);
  g_free (desc);
  gst_harness_set_src_caps_str (r->h, GRAY_CAPS);
  r->pool = request_pool (r->h->srcpad);
  fail_unless_equals_int (gst_harness_push (r->h,
          request_pool_buffer (r->pool, 0xA, 0)), GST_FLOW_OK);
  return upstream_acquire_start (&r->acquire, r->h->srcpad, r->pool);
}

static void
full_request_ring_stop (FullRequestRing * r)
{
  fail_unless (gst_buffer_pool_set_active (r->pool, FALSE));
  gst_object_unref (r->pool);
  gst_harness_teardown (r->h);
  zb_reader_destroy (r->requests);
  g_free (r->channel);
}

/* A pool buffer taken on upstream's streaming thread, holding its pad's
 * stream lock as a video decoder does (which never flushes the pool),
 * waits for room in a full request ring: a flush-start ends the wait with
 * FLUSHING. Before, it woke and waited again, and the seek, which takes
 * that stream lock, hung. */
GST_START_TEST (test_flush_ends_upstream_pool_acquire)
{
  FullRequestRing r;
  GThread *thread;

  thread = full_request_ring_start (&r, "flush-acquire");
  fail_unless (gst_harness_push_event (r.h, gst_event_new_flush_start ()));
  fail_unless (done_wait (&r.acquire.acquired), "the flush left the acquire "
      "waiting");
  g_thread_join (thread);
  fail_unless_equals_int (r.acquire.ret, GST_FLOW_FLUSHING);
  fail_unless (gst_harness_push_event (r.h, gst_event_new_flush_stop (TRUE)));
  full_request_ring_stop (&r);
}

GST_END_TEST;

/* An element taken to READY from a thread of its own. */
typedef struct
{
  GstElement *element;
  GstStateChangeReturn ret;
  Done changed;
} StateChange;

static gpointer
state_change_run (gpointer data)
{
  StateChange *change = data;

  change->ret = gst_element_set_state (change->element, GST_STATE_READY);
  done_set (&change->changed);
  return NULL;
}

/* R's request ring full, and both upstream's acquire (on *ACQUIRING) and
 * the chain's copy of PUSH's buffer (on *PUSHING) waiting for room; a
 * timeout set since woke the link, and the acquire, which looked at it
 * again, is held by the gated tracer before it waits again until
 * gate_open. Returns R's zerofilter (a ref; gated_unreffed until the test
 * clears it). */
static GstElement *
reserves_waiting_start (FullRequestRing * r, const gchar * prefix,
    HarnessPush * push, GThread ** acquiring, GThread ** pushing)
{
  GstElement *filter;

  *acquiring = full_request_ring_start (r, prefix);
  memset (push, 0, sizeof *push);
  /* the chain copies a buffer of no pool: it waits for room too */
  push->h = r->h;
  push->buffer = gst_buffer_new_allocate (NULL, 64 * 48, NULL);
  gst_buffer_memset (push->buffer, 0, 0xB, 64 * 48);
  GST_BUFFER_PTS (push->buffer) = FRAME_NS;
  GST_BUFFER_DURATION (push->buffer) = FRAME_NS;
  *pushing = g_thread_new ("push", harness_push_run, push);
  g_usleep (300 * 1000);
  fail_if (push->pushed.done, "the chain did not wait for room");

  /* (hooked for the rest of the test's process) */
  g_object_new (gated_tracer_get_type (), NULL);
  filter = gst_harness_find_element (r->h, "zerofilter");
  g_atomic_pointer_set (&gated_unreffed, GST_OBJECT (filter));
  g_atomic_pointer_set (&gate_thread, *acquiring);
  g_object_set (filter, "timeout", 600000, NULL);       /* a wake */
  fail_unless (done_wait (&gate_entered), "the acquire did not look again");
  return filter;
}

/* PAUSED to READY while upstream's acquire (its own thread, as behind a
 * queue) and the chain's copy of a buffer of no pool both wait for room
 * in the full request ring (timeout=-1): the acquire, woken by a timeout
 * set meanwhile, looked at the link (not closed yet) and is held by a
 * tracer's hook before it waits again. The close refuses new reservations
 * and sets the writer flushing: the chain's wait ends (FLUSHING), and so
 * does the acquire's reserve once let go, at once, and the cancel of the
 * places before the detach, which waits for that reserve to end, goes
 * on. Before, the close woke the link once, the chain's wait took that
 * wake, and the acquire waited for room: the state change hung until the
 * server read (timeout: 600 s here); the detach's zb_writer_destroy used
 * to end it; then the cancel woke the link again every 50 ms. */
GST_START_TEST (test_stop_rewakes_reserve_after_taken_wake)
{
  FullRequestRing r;
  GstElement *filter;
  HarnessPush push;
  StateChange change;
  GThread *acquiring, *pushing, *changing;

  memset (&change, 0, sizeof change);
  filter = reserves_waiting_start (&r, "rewake", &push, &acquiring,
      &pushing);

  change.element = r.h->element;
  changing = g_thread_new ("ready", state_change_run, &change);
  fail_unless (done_wait (&push.pushed), "the close left the chain waiting");
  fail_unless_equals_int (push.ret, GST_FLOW_FLUSHING);
  done_set (&gate_open);
  fail_unless (done_wait (&change.changed), "PAUSED to READY hung: the "
      "cancel waits for a reserve nothing wakes");
  g_thread_join (changing);
  g_thread_join (pushing);
  fail_unless (done_wait (&r.acquire.acquired), "the acquire hung");
  g_thread_join (acquiring);
  g_atomic_pointer_set (&gated_unreffed, NULL);
  fail_unless_equals_int (r.acquire.ret, GST_FLOW_FLUSHING);

  gst_object_unref (filter);
  full_request_ring_stop (&r);
}

GST_END_TEST;

/* The same window at a flush: the chain's copy and upstream's acquire
 * wait for room in the full request ring (timeout 600 s), the acquire held
 * by a tracer's hook after it looked at the link (not flushing yet) and
 * before it waits again. Flush-start sets the writer flushing: the chain's
 * wait ends (FLUSHING), and the acquire's reserve, let go after that,
 * ends at once too. Before, the flush woke the link once, the chain's wait
 * took that wake, and the acquire waited for room until the server read
 * (the flush-stop and the seek after it would take its stream lock). */
GST_START_TEST (test_flush_ends_reserve_after_taken_wake)
{
  FullRequestRing r;
  GstElement *filter;
  HarnessPush push;
  GThread *acquiring, *pushing;

  filter = reserves_waiting_start (&r, "flushwake", &push, &acquiring,
      &pushing);

  fail_unless (gst_harness_push_event (r.h, gst_event_new_flush_start ()));
  fail_unless (done_wait (&push.pushed), "the flush left the chain waiting");
  fail_unless_equals_int (push.ret, GST_FLOW_FLUSHING);
  done_set (&gate_open);
  fail_unless (done_wait (&r.acquire.acquired), "the flush left the acquire "
      "waiting for room: its reserve started after the chain took the wake");
  g_thread_join (acquiring);
  g_thread_join (pushing);
  g_atomic_pointer_set (&gated_unreffed, NULL);
  fail_unless_equals_int (r.acquire.ret, GST_FLOW_FLUSHING);
  fail_unless (gst_harness_push_event (r.h, gst_event_new_flush_stop (TRUE)));

  gst_object_unref (filter);
  full_request_ring_stop (&r);
}

GST_END_TEST;

/* A server answering with its own timing (Server.retime; by request,
 * DURATIONS, PTS and DTS where not NULL) in *SERVER, and a pipeline
 * sending it SOURCE's buffers (NULL: delta_on_odd_pipeline's), playing;
 * its appsink in *APPSINK. */
static GstElement *
retimed_pipeline (const gchar * channel, const gchar * source,
    const guint64 * durations, const guint64 * pts, const guint64 * dts,
    Server ** server, GstElement ** appsink)
{
  GstElement *pipeline;

  *server = server_new (channel, 0, FALSE);
  (*server)->retime = TRUE;
  (*server)->durations = durations;
  (*server)->pts = pts;
  (*server)->dts = dts;
  server_run (*server);
  pipeline = source != NULL ? filter_pipeline (channel, source, "",
      "sync=false") : delta_on_odd_pipeline (channel, "");
  reach_state (pipeline, GST_STATE_PLAYING);
  *appsink = by_name (pipeline, "out");
  return pipeline;
}

/* A server whose response frame header carries its own timing, and whose
 * caps have another framerate (25/1 for 50/1): the buffers zerofilter
 * pushes have the response's PTS, no DTS as it has none, and its duration
 * where it has one, else the input's (20 ms), not one frame of the
 * server's 25/1: responses come one per request, at the input's rate, so
 * 40 ms would overlap the next one (they used to carry the input's PTS
 * and duration whatever the header said). Their flags are the header's
 * too: the server clears the DELTA_UNIT of the odd inputs and sets it on
 * the even ones (they had the input's, whatever the header said). */
GST_START_TEST (test_response_timing)
{
  gchar *channel = channel_name ("retime");
  Server *server;
  GstElement *appsink;
  GstElement *pipeline = retimed_pipeline (channel, NULL, NULL, NULL, NULL,
      &server, &appsink);
  guint i;

  for (i = 0; i < 6; i++) {
    GstSample *sample = pull_response (appsink, i);
    GstBuffer *buffer = gst_sample_get_buffer (sample);

    fail_unless_equals_uint64 (GST_BUFFER_PTS (buffer), 2 * i * FRAME_NS);
    fail_if (GST_BUFFER_DTS_IS_VALID (buffer), "response %u: DTS %"
        GST_TIME_FORMAT, i, GST_TIME_ARGS (GST_BUFFER_DTS (buffer)));
    fail_unless_equals_uint64 (GST_BUFFER_DURATION (buffer), i % 2 == 0 ?
        RETIMED_DURATION : FRAME_NS);
    check_flag (buffer, i, GST_BUFFER_FLAG_DELTA_UNIT, i % 2 == 0);
    gst_sample_unref (sample);
  }
  finish (pipeline, server, channel);
}

GST_END_TEST;

/* Fails unless PIPELINE posted one warning, of a response's bad timing
 * over CHANNEL, first told of WHAT (its PTS, DTS or duration). */
static void
one_bad_timing_warning (GstElement * pipeline, const gchar * channel,
    const gchar * what)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  GError *error = NULL;
  gchar *debug = NULL;

  fail_unless (msg != NULL, "no warning of the bad timing");
  gst_message_parse_warning (msg, &error, &debug);
  fail_unless (strstr (error->message, channel) != NULL &&
      strstr (error->message, what) != NULL &&
      strstr (error->message, "over an hour") != NULL, "%s", error->message);
  fail_unless (strstr (debug, "zerobuffer-error=EPROTO") != NULL, "%s",
      debug);
  g_clear_error (&error);
  g_free (debug);
  gst_message_unref (msg);
  fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING) == NULL,
      "more than one warning");
  gst_object_unref (bus);
}

/* A server whose response durations are over an hour (2 h, 2^62 ns,
 * 2^64 - 2: bad ones, as zerosrc takes a writer's): they are dropped, the
 * response keeping its request's duration (20 ms), while an hour and the
 * server's 30 ms are kept; one warning names the channel. They were
 * pushed as they came, for a synchronised sink or a muxer to wait out (a
 * PTS plus 2^64 - 2 wraps round). */
GST_START_TEST (test_absurd_response_duration_dropped)
{
  const guint64 durations[] = { 7200 * GST_SECOND, 3600 * GST_SECOND,
    G_GUINT64_CONSTANT (1) << 62, RETIMED_DURATION, ZB_EXT_NONE - 1,
    ZB_EXT_NONE
  };
  gchar *channel = channel_name ("badduration");
  Server *server;
  GstElement *appsink;
  GstElement *pipeline = retimed_pipeline (channel, NULL, durations, NULL,
      NULL, &server, &appsink);
  guint i;

  for (i = 0; i < G_N_ELEMENTS (durations); i++) {
    GstSample *sample = pull_response (appsink, i);
    GstBuffer *buffer = gst_sample_get_buffer (sample);
    GstClockTime expected = durations[i] <= 3600 * GST_SECOND ?
        durations[i] : FRAME_NS;

    fail_unless_equals_uint64 (GST_BUFFER_PTS (buffer), 2 * i * FRAME_NS);
    fail_unless (GST_BUFFER_DURATION (buffer) == expected, "response %u: "
        "the server's duration %" G_GUINT64_FORMAT " pushed as %"
        G_GUINT64_FORMAT, i, durations[i], GST_BUFFER_DURATION (buffer));
    gst_sample_unref (sample);
  }
  one_bad_timing_warning (pipeline, channel, "a duration of");
  finish (pipeline, server, channel);
}

GST_END_TEST;

/* A server whose response PTS or DTS is more than an hour from its
 * request's (2^62 ns, 2^64 - 2, the request's + 2 h or - 2 h, the
 * requests starting at 3 h; a DTS of 2^62 ns, judged by the request's PTS
 * as the requests have no DTS): bad ones, as a writer's leap is for
 * zerosrc, which a synchronised sink would wait out. The response keeps
 * its request's PTS and DTS (none), while the server's + 30 ms, + an
 * hour and a DTS 30 ms before its PTS are kept, and a response without
 * either keeps its request's; one warning names the channel. They were
 * pushed as they came. */
#define LATE_START (3 * HOUR_NS)
#define REQUEST_PTS(i) ((GstClockTime) LATE_START + (i) * FRAME_NS)

GST_START_TEST (test_absurd_response_timestamps_dropped)
{
  const guint64 pts[] = { G_GUINT64_CONSTANT (1) << 62,
    REQUEST_PTS (1) + 2 * HOUR_NS, REQUEST_PTS (2) - 2 * HOUR_NS,
    REQUEST_PTS (3) + RETIMED_DURATION, ZB_EXT_NONE,
    REQUEST_PTS (5) + RETIMED_DURATION, REQUEST_PTS (6) + HOUR_NS,
    ZB_EXT_NONE - 1
  };
  const guint64 dts[] = { ZB_EXT_NONE, ZB_EXT_NONE, ZB_EXT_NONE,
    ZB_EXT_NONE, ZB_EXT_NONE, G_GUINT64_CONSTANT (1) << 62,
    REQUEST_PTS (6) + HOUR_NS - RETIMED_DURATION, ZB_EXT_NONE
  };
  const gboolean keeps_request[] = { TRUE, TRUE, TRUE, FALSE, TRUE, TRUE,
    FALSE, TRUE
  };
  gchar *channel = channel_name ("badpts");
  gchar *source = g_strdup_printf ("videotestsrc num-buffers=%u "
      "timestamp-offset=%" G_GUINT64_FORMAT " ! " GRAY_CAPS,
      (guint) G_N_ELEMENTS (pts), LATE_START);
  Server *server;
  GstElement *appsink;
  GstElement *pipeline = retimed_pipeline (channel, source, NULL, pts, dts,
      &server, &appsink);
  guint i;

  for (i = 0; i < G_N_ELEMENTS (pts); i++) {
    GstSample *sample = pull_response (appsink, i);
    GstBuffer *buffer = gst_sample_get_buffer (sample);
    GstClockTime expected_pts = keeps_request[i] ? REQUEST_PTS (i) : pts[i];
    GstClockTime expected_dts = keeps_request[i] ? GST_CLOCK_TIME_NONE :
        dts[i];

    fail_unless (GST_BUFFER_PTS (buffer) == expected_pts &&
        GST_BUFFER_DTS (buffer) == expected_dts, "response %u: the server's "
        "PTS %" G_GUINT64_FORMAT ", DTS %" G_GUINT64_FORMAT " pushed as %"
        G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT, i, pts[i], dts[i],
        GST_BUFFER_PTS (buffer), GST_BUFFER_DTS (buffer));
    gst_sample_unref (sample);
  }
  one_bad_timing_warning (pipeline, channel, "a PTS of");
  g_free (source);
  finish (pipeline, server, channel);
}

GST_END_TEST;

/* Planar (non-interleaved) raw audio through a server that echoes it,
 * into audioconvert, which maps it by its audio meta: the responses get
 * one (they had none: audioconvert failed to map them), and the request
 * whose meta leaves room between its planes goes out packed. */
GST_START_TEST (test_planar_audio_responses)
{
  const gchar *caps = "audio/x-raw, format=(string)S16LE, rate=(int)8000, "
      "channels=(int)2, layout=(string)non-interleaved";
  gchar *channel = channel_name ("planar");
  Server *server = server_start_full (channel, 0, TRUE);
  GstCaps *audio_caps = gst_caps_from_string (caps);
  GstElement *pipeline, *appsrc, *appsink;
  GstAudioInfo info;
  gchar *desc;
  guint i, k;

  fail_unless (gst_audio_info_from_caps (&info, audio_caps));
  desc = g_strdup_printf ("appsrc name=in format=time ! zerofilter name=f "
      "channel=%s connect-timeout=5000 ! audioconvert ! audio/x-raw, "
      "format=S16LE, layout=interleaved ! appsink name=out sync=false",
      channel);
  pipeline = launch (desc);
  g_free (desc);
  appsrc = by_name (pipeline, "in");
  appsink = by_name (pipeline, "out");
  g_object_set (appsrc, "caps", audio_caps, NULL);
  gst_caps_unref (audio_caps);
  fail_if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
  for (i = 0; i < 2; i++) {
    GstBuffer *buffer = planar_audio (&info, 100, 1000 * i, 64 * i);
    GstSample *sample;
    GstMapInfo map;

    GST_BUFFER_PTS (buffer) = i * FRAME_NS;
    fail_unless_equals_int (gst_app_src_push_buffer (GST_APP_SRC (appsrc),
            buffer), GST_FLOW_OK);
    sample = gst_app_sink_try_pull_sample (GST_APP_SINK (appsink), WAIT);
    fail_unless (sample != NULL, "no answer to buffer %u", i);
    buffer = gst_sample_get_buffer (sample);
    fail_unless_equals_uint64 (gst_buffer_get_size (buffer), 400);
    fail_unless (gst_buffer_map (buffer, &map, GST_MAP_READ));
    for (k = 0; k < 100; k++) {
      fail_unless_equals_int (((gint16 *) map.data)[2 * k], 1000 * i + k);
      fail_unless_equals_int (((gint16 *) map.data)[2 * k + 1],
          -(gint) (1000 * i + k));
    }
    gst_buffer_unmap (buffer, &map);
    gst_sample_unref (sample);
  }
  finish (pipeline, server, channel);
}

GST_END_TEST;

/* Raw audio input of SAMPLES-sample buffers (48 kHz stereo S16) with
 * DEPTH requests waiting: the response ring is sized by time for depth + 3
 * buffers of up to a second (zb_duplex_payload_size_for_rate), not with
 * the video fallback (3 frames of 1080p RGB, 100 s of it); every answer
 * comes paired with its request through it. */
static void
audio_round_trip (guint samples, guint depth, guint answers)
{
  gchar *channel = channel_name ("audio-ring");
  Server *server = server_start (channel, 0);
  gchar *source = g_strdup_printf ("audiotestsrc samplesperbuffer=%u ! "
      "audio/x-raw,format=S16LE,rate=48000,channels=2", samples);
  gchar *props = g_strdup_printf ("depth=%u", depth);
  GstElement *pipeline = filter_pipeline (channel, source, props,
      "sync=false max-buffers=2");
  GstElement *appsink = by_name (pipeline, "out");
  zb_health health;
  guint i;

  g_free (source);
  g_free (props);
  reach_state (pipeline, GST_STATE_PLAYING);
  for (i = 0; i < answers; i++)
    fail_unless_equals_uint64 (pull_paired (appsink, NULL),
        gst_util_uint64_scale (i * samples, GST_SECOND, 48000));
  fail_unless_equals_int (zb_health_read (server->response_name, &health),
      0);
  fail_unless_equals_uint64 (health.payload_size,
      zb_payload_size_for (48000 * 2 * 2, depth + 3, TRUE));
  assert_no_error (pipeline);
  finish (pipeline, server, channel);
}

/* audiotestsrc's 1024 samples: 5 s of audio at depth 2. */
GST_START_TEST (test_audio_response_ring_by_time)
{
  audio_round_trip (1024, 2, 50);
}

GST_END_TEST;

/* Buffers of a second (audiotestsrc samplesperbuffer=48000, 192000
 * bytes), 2 and 4 requests waiting. (Before, the ring was a second of
 * audio whatever the depth, 192064 bytes: it held one answer at a time.) */
GST_START_TEST (test_audio_second_buffers)
{
  audio_round_trip (48000, 2, 8);
  audio_round_trip (48000, 4, 8);
}

GST_END_TEST;

#define AUDIO_CAPS_MONO "audio/x-raw,format=S16LE,rate=48000,channels=1"
#define AUDIO_CAPS_F64 "audio/x-raw,format=F64LE,rate=48000,channels=2"

/* Raw audio caps that grow by 8 (48 kHz mono S16 to stereo F64) under the
 * same buffers of a second (48000 samples: 96000, then 768000 bytes), the
 * server answering by copy: the response ring, sized for the first caps
 * (depth + 3 of their buffers of up to a second: 480320 bytes), cannot
 * hold an answer of a second of the new ones, so the caps change is an
 * EMSGSIZE error naming the payload-size needed, once the answers before
 * it are pushed. (Before: only raw video was checked; the server could
 * not reserve the answer, and zerofilter failed with "The duplex server
 * stopped answering with 1 request waiting", EOF, which said nothing of
 * the size.) */
GST_START_TEST (test_audio_caps_growth)
{
  gchar *channel = channel_name ("grow-audio");
  Server *server = server_start (channel, 0);
  GstElement *pipeline = filter_pipeline (channel, "audiotestsrc "
      "samplesperbuffer=48000 ! capsfilter name=cf caps=" AUDIO_CAPS_MONO, "",
      "sync=false max-buffers=2");
  GstElement *appsink = by_name (pipeline, "out");
  GstCaps *caps = gst_caps_from_string (AUDIO_CAPS_F64);
  gchar *want = g_strdup_printf ("The response ring cannot hold an answer "
      "to the new caps' buffers: F64LE audio of 2 channels at 48000 Hz in "
      "buffers of up to a second (768000 bytes) need payload-size=%"
      G_GUINT64_FORMAT " or more, this zerofilter's response ring has %"
      G_GUINT64_FORMAT " bytes (payload-size=0 sized it for the first caps)",
      zb_payload_size_for (768000, 1, FALSE),
      zb_duplex_payload_size_for_rate (96000, ZB_DUPLEX_DEFAULT_DEPTH));
  GError *error = NULL;
  gchar *debug = NULL;
  GstMessage *msg;
  guint i;

  reach_state (pipeline, GST_STATE_PLAYING);
  for (i = 0; i < 3; i++)
    fail_unless_equals_uint64 (pull_paired (appsink, NULL), i * GST_SECOND);
  g_object_set (by_name (pipeline, "cf"), "caps", caps, NULL);
  gst_caps_unref (caps);
  /* the sink pulled from, so that the change flows: every answer of the
   * first caps' size, none of the new ones' */
  for (i = 0; i < 100 && (msg = gst_bus_pop_filtered (GST_ELEMENT_BUS
              (pipeline), GST_MESSAGE_ERROR)) == NULL; i++) {
    GstSample *sample = gst_app_sink_try_pull_sample (GST_APP_SINK (appsink),
        100 * GST_MSECOND);

    if (sample != NULL) {
      fail_unless_equals_int (gst_buffer_get_size (gst_sample_get_buffer
              (sample)), 96000);
      gst_sample_unref (sample);
    }
  }
  fail_unless (msg != NULL, "no error within 10 s");
  gst_message_parse_error (msg, &error, &debug);
  gst_message_unref (msg);
  fail_unless (strstr (error->message, want) != NULL, "%s", error->message);
  fail_unless (strstr (debug, "zerobuffer-error=EMSGSIZE") != NULL, "%s",
      debug);
  g_free (want);
  g_free (debug);
  g_clear_error (&error);
  finish (pipeline, server, channel);
}

GST_END_TEST;

/* Raw audio caps that grow less (48 kHz mono to stereo S16: a second of
 * them fits the ring of 480320 bytes): no error, every answer paired,
 * those after the change of the new caps' size. */
GST_START_TEST (test_audio_caps_growth_that_fits)
{
  gchar *channel = channel_name ("grow-audio-fits");
  Server *server = server_start (channel, 0);
  GstElement *pipeline = filter_pipeline (channel, "audiotestsrc "
      "samplesperbuffer=24000 ! capsfilter name=cf caps=" AUDIO_CAPS_MONO, "",
      "sync=false max-buffers=2");
  GstElement *appsink = by_name (pipeline, "out");
  GstCaps *caps = gst_caps_from_string ("audio/x-raw,format=S16LE,"
      "rate=48000,channels=2");
  guint i, stereo = 0;

  reach_state (pipeline, GST_STATE_PLAYING);
  fail_unless_equals_uint64 (pull_paired (appsink, NULL), 0);
  g_object_set (by_name (pipeline, "cf"), "caps", caps, NULL);
  gst_caps_unref (caps);
  for (i = 1; i < 50 && stereo < 3; i++) {
    GstSample *sample = gst_app_sink_try_pull_sample (GST_APP_SINK (appsink),
        WAIT);
    GstBuffer *buffer;
    guint64 answered = 0;

    fail_unless (sample != NULL, "no buffer within 10 s");
    buffer = gst_sample_get_buffer (sample);
    fail_unless_equals_int (gst_buffer_extract (buffer, 0, &answered,
            sizeof answered), sizeof answered);
    fail_unless_equals_uint64 (answered, GST_BUFFER_PTS (buffer));
    if (gst_buffer_get_size (buffer) == 96000)
      stereo++;
    else
      fail_unless_equals_int (stereo, 0);
    gst_sample_unref (sample);
  }
  fail_unless_equals_int (stereo, 3);
  assert_no_error (pipeline);
  finish (pipeline, server, channel);
}

GST_END_TEST;

/* Requests without a frame header, responses with one (as a Node server
 * answering in place sends): the server knew none of the input's flags, so
 * its own are added to them: the odd inputs' DELTA_UNIT stays, the
 * server's HEADER on the even ones comes (it did not: the input's only). */
GST_START_TEST (test_response_flags_added_to_plain_requests)
{
  gchar *channel = channel_name ("plainflags");
  Server *server = server_new (channel, 0, TRUE);
  GstElement *pipeline;
  GstElement *appsink;
  guint i;

  server->plain_flags = TRUE;
  server_run (server);
  pipeline = delta_on_odd_pipeline (channel, "frame-header=false");
  reach_state (pipeline, GST_STATE_PLAYING);
  appsink = by_name (pipeline, "out");
  for (i = 0; i < 6; i++) {
    GstSample *sample = pull_response (appsink, i);
    GstBuffer *buffer = gst_sample_get_buffer (sample);

    fail_unless_equals_uint64 (GST_BUFFER_PTS (buffer), i * FRAME_NS);
    check_flag (buffer, i, GST_BUFFER_FLAG_DELTA_UNIT, i % 2 == 1);
    check_flag (buffer, i, GST_BUFFER_FLAG_HEADER, i % 2 == 0);
    gst_sample_unref (sample);
  }
  finish (pipeline, server, channel);
}

GST_END_TEST;

/* policy=drop with a server slower than the live source (30 ms a frame,
 * one every 20 ms): the buffer after those dropped is
 * DISCONT (as zerosink marks the frame after a drop), so that a decoder
 * downstream hears of the gap; the others are not. It was not. */
GST_START_TEST (test_discont_after_drop)
{
  gchar *channel = channel_name ("dropdiscont");
  Server *server = server_start (channel, 30);
  GstElement *pipeline = filter_pipeline (channel,
      "videotestsrc is-live=true num-buffers=40 ! " GRAY_CAPS,
      "depth=1 policy=drop skipped=drop", "sync=false");
  GstElement *appsink;
  GstSample *sample;
  gint64 last = -1;
  guint gaps = 0, pulled = 0;

  reach_state (pipeline, GST_STATE_PLAYING);
  appsink = by_name (pipeline, "out");
  while ((sample = gst_app_sink_try_pull_sample (GST_APP_SINK (appsink),
              WAIT)) != NULL) {
    GstBuffer *buffer = gst_sample_get_buffer (sample);
    gint64 index = (gint64) (GST_BUFFER_PTS (buffer) / FRAME_NS);
    gboolean gap = last < 0 || index != last + 1;      /* the first too */

    fail_unless (GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DISCONT) ==
        gap, "frame %" G_GINT64_FORMAT " after %" G_GINT64_FORMAT ": DISCONT "
        "%d", index, last, GST_BUFFER_FLAG_IS_SET (buffer,
            GST_BUFFER_FLAG_DISCONT));
    gaps += gap && last >= 0;
    last = index;
    pulled++;
    gst_sample_unref (sample);
  }
  fail_unless (gaps > 0 && pulled < 40, "%u frames, %u gaps", pulled, gaps);
  finish (pipeline, server, channel);
}

GST_END_TEST;

/* A buffer dropped in the chain function (policy=drop skipped=drop, a
 * request waiting), with RESYNC, then the next one's write fails (the
 * server closed its request ring) under on-error=pass with no request
 * waiting: that buffer passes, with the drop's DISCONT and RESYNC (the
 * request made for it took them and was freed with them). A server driven
 * by hand here, so that each step is in its place. */
GST_START_TEST (test_discont_after_drop_then_failed_write)
{
  gchar *channel = channel_name ("dropfail");
  gchar *desc;
  char request_name[ZB_NAME_MAX + 1], response_name[ZB_NAME_MAX + 1];
  zb_reader *requests = NULL;
  zb_writer *responses = NULL;
  zb_frame request;
  zb_frame_ext ext = { 0 };
  zb_reservation res;
  GstElement *pipeline, *filter, *appsrc, *appsink;
  GstSample *sample;
  GstBuffer *buffer;
  guint i, waited;

  fail_unless_equals_int (zb_duplex_ring_name (channel, ZB_DUPLEX_REQUEST,
          request_name, sizeof request_name), 0);
  fail_unless_equals_int (zb_duplex_ring_name (channel, ZB_DUPLEX_RESPONSE,
          response_name, sizeof response_name), 0);
  fail_unless_equals_int (zb_reader_create (&requests, request_name, 4096,
          1 << 20, NULL), 0);
  desc = g_strdup_printf ("appsrc name=in format=time caps=\"%s\" ! "
      "zerofilter name=f channel=%s frame-header=true connect-timeout=5000 "
      "depth=1 policy=drop skipped=drop on-error=pass ! appsink name=out "
      "sync=false", GRAY_CAPS, channel);
  pipeline = launch (desc);
  g_free (desc);
  filter = by_name (pipeline, "f");
  appsrc = by_name (pipeline, "in");
  appsink = by_name (pipeline, "out");
  fail_if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);

  /* 0: sent, and waiting for its response; 1 (RESYNC): dropped */
  for (i = 0; i < 2; i++) {
    buffer = gst_buffer_new_allocate (NULL, 64 * 48, NULL);
    gst_buffer_memset (buffer, 0, (guint8) i, 64 * 48);
    GST_BUFFER_PTS (buffer) = i * FRAME_NS;
    GST_BUFFER_DURATION (buffer) = FRAME_NS;
    if (i == 1)
      GST_BUFFER_FLAG_SET (buffer, GST_BUFFER_FLAG_RESYNC);
    fail_unless_equals_int (gst_app_src_push_buffer (GST_APP_SRC (appsrc),
            buffer), GST_FLOW_OK);
    if (i == 0)
      fail_unless_equals_int (zb_reader_next (requests, &request, 5000), 0);
  }
  wait_stat (filter, "frames-dropped", 1);

  /* the response to 0, pushed as it came */
  for (waited = 0; zb_writer_connect (&responses, response_name) < 0 &&
      waited < 5000; waited += 5)
    g_usleep (5 * G_TIME_SPAN_MILLISECOND);
  fail_unless (responses != NULL, "no response ring %s", response_name);
  fail_unless_equals_int (zb_frame_ext_parse (request.data, request.size,
          &ext), 0);
  fail_unless_equals_int (zb_writer_reserve (responses, ext.size, &res,
          RESPONSE_WAIT_MS), 0);
  memcpy (res.data, ext.data, ext.size);
  fail_unless_equals_int (zb_reservation_commit (&res, ext.size), 0);
  zb_frame_release (&request);
  sample = gst_app_sink_try_pull_sample (GST_APP_SINK (appsink), WAIT);
  fail_unless (sample != NULL, "no response to buffer 0");
  fail_unless_equals_uint64 (GST_BUFFER_PTS (gst_sample_get_buffer (sample)),
      0);
  gst_sample_unref (sample);

  /* the server closes its request ring: 2's write fails, and 2 passes */
  zb_reader_destroy (requests);
  buffer = gst_buffer_new_allocate (NULL, 64 * 48, NULL);
  gst_buffer_memset (buffer, 0, 2, 64 * 48);
  GST_BUFFER_PTS (buffer) = 2 * FRAME_NS;
  GST_BUFFER_DURATION (buffer) = FRAME_NS;
  fail_unless_equals_int (gst_app_src_push_buffer (GST_APP_SRC (appsrc),
          buffer), GST_FLOW_OK);
  sample = gst_app_sink_try_pull_sample (GST_APP_SINK (appsink), WAIT);
  fail_unless (sample != NULL, "buffer 2 did not pass");
  buffer = gst_sample_get_buffer (sample);
  fail_unless_equals_uint64 (GST_BUFFER_PTS (buffer), 2 * FRAME_NS);
  fail_unless (GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DISCONT),
      "buffer 2 passed without DISCONT after 1 was dropped");
  fail_unless (GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_RESYNC),
      "buffer 2 passed without the dropped buffer's RESYNC");
  fail_unless_equals_uint64 (stat_of (filter, "frames-passed"), 1);
  gst_sample_unref (sample);

  reach_state (pipeline, GST_STATE_NULL);
  zb_writer_destroy (responses);
  fail_if (ring_exists (response_name));
  fail_if (ring_exists (request_name));
  gst_object_unref (pipeline);
  g_free (channel);
}

GST_END_TEST;

/* Counts in *REQUESTS the force-key-unit events zerofilter F of PIPELINE
 * sends upstream. */
static void
count_key_units_of (GstElement * pipeline, const gchar * f, gint * requests)
{
  GstPad *pad = gst_element_get_static_pad (by_name (pipeline, f), "sink");
  GstPad *peer = gst_pad_get_peer (pad);

  gst_pad_add_probe (peer, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM,
      count_key_unit_requests, requests, NULL);
  gst_object_unref (peer);
  gst_object_unref (pad);
}

/* Pushes unit I (64 bytes), a delta unit unless KEY, into APPSRC. */
static void
push_unit (GstElement * appsrc, guint i, gboolean key)
{
  GstBuffer *buffer = gst_buffer_new_allocate (NULL, 64, NULL);

  gst_buffer_memset (buffer, 0, (guint8) i, 64);
  GST_BUFFER_PTS (buffer) = i * FRAME_NS;
  GST_BUFFER_DURATION (buffer) = FRAME_NS;
  if (!key)
    GST_BUFFER_FLAG_SET (buffer, GST_BUFFER_FLAG_DELTA_UNIT);
  fail_unless_equals_int (gst_app_src_push_buffer (GST_APP_SRC (appsrc),
          buffer), GST_FLOW_OK);
}

/* Reads request I from REQUESTS (the server's ring) into *REQUEST. */
static void
next_request (zb_reader * requests, zb_frame * request, guint i)
{
  zb_frame_ext ext = { 0 };

  fail_unless_equals_int (zb_reader_next (requests, request, 5000), 0);
  fail_unless_equals_int (zb_frame_ext_parse (request->data, request->size,
          &ext), 0);
  fail_unless_equals_uint64 (ext.pts, i * FRAME_NS);
}

/* Answers REQUEST (echoed) into RESPONSES, then pulls that answer from
 * APPSINK. */
static void
answer_and_pull (zb_writer * responses, zb_frame * request,
    GstElement * appsink)
{
  zb_frame_ext ext = { 0 };
  zb_reservation res;
  GstSample *sample;

  fail_unless_equals_int (zb_frame_ext_parse (request->data, request->size,
          &ext), 0);
  fail_unless_equals_int (zb_writer_reserve (responses, ext.size, &res,
          RESPONSE_WAIT_MS), 0);
  memcpy (res.data, ext.data, ext.size);
  fail_unless_equals_int (zb_reservation_commit (&res, ext.size), 0);
  zb_frame_release (request);
  sample = gst_app_sink_try_pull_sample (GST_APP_SINK (appsink), WAIT);
  fail_unless (sample != NULL, "no answer within 10 s");
  fail_unless_equals_uint64 (GST_BUFFER_PTS (gst_sample_get_buffer (sample)),
      ext.pts);
  gst_sample_unref (sample);
}

/* policy=drop with a server that answers slowly (by hand here: a request
 * waits while the next ones come), in an encoded stream: a delta unit
 * skipped leaves the server's decoder without the reference of the ones
 * after it, so zerofilter asks upstream for a key unit when it sends the
 * next delta unit (not at the skip, while the key unit would be skipped
 * too), once until a key unit is sent; again when the key unit asked for
 * is skipped, a second after the request. (It never asked: a server
 * decoding H.264 got undecodable delta units until the encoder's next key
 * unit.) */
GST_START_TEST (test_key_unit_after_skip)
{
  gchar *channel = channel_name ("keyskip");
  gchar *desc;
  char request_name[ZB_NAME_MAX + 1], response_name[ZB_NAME_MAX + 1];
  zb_reader *requests = NULL;
  zb_writer *responses = NULL;
  zb_frame request;
  GstElement *pipeline, *filter, *appsrc, *appsink;
  GstMessage *msg;
  gint key_units = 0;
  guint waited;

  fail_unless_equals_int (zb_duplex_ring_name (channel, ZB_DUPLEX_REQUEST,
          request_name, sizeof request_name), 0);
  fail_unless_equals_int (zb_duplex_ring_name (channel, ZB_DUPLEX_RESPONSE,
          response_name, sizeof response_name), 0);
  fail_unless_equals_int (zb_reader_create (&requests, request_name, 4096,
          1 << 20, NULL), 0);
  desc = g_strdup_printf ("appsrc name=in format=time caps=\"%s\" ! "
      "zerofilter name=f channel=%s frame-header=true connect-timeout=5000 "
      "depth=1 policy=drop skipped=drop ! appsink name=out sync=false",
      H264_CAPS, channel);
  pipeline = launch (desc);
  g_free (desc);
  filter = by_name (pipeline, "f");
  appsrc = by_name (pipeline, "in");
  appsink = by_name (pipeline, "out");
  count_key_units_of (pipeline, "f", &key_units);
  fail_if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);

  /* 0 (key) sent and waiting; 1 and 2 skipped: nothing asked yet */
  push_unit (appsrc, 0, TRUE);
  next_request (requests, &request, 0);
  push_unit (appsrc, 1, FALSE);
  push_unit (appsrc, 2, FALSE);
  wait_stat (filter, "frames-dropped", 2);
  fail_unless_equals_int (g_atomic_int_get (&key_units), 0);
  for (waited = 0; zb_writer_connect (&responses, response_name) < 0 &&
      waited < 5000; waited += 5)
    g_usleep (5 * G_TIME_SPAN_MILLISECOND);
  fail_unless (responses != NULL, "no response ring %s", response_name);
  answer_and_pull (responses, &request, appsink);

  /* 3 (delta) sent after the skips: asked, at that request */
  push_unit (appsrc, 3, FALSE);
  next_request (requests, &request, 3);
  wait_key_unit_requests (&key_units, 1);
  /* 4 (key) skipped while 3 waits: the key unit asked for, perhaps, lost */
  push_unit (appsrc, 4, TRUE);
  wait_stat (filter, "frames-dropped", 3);
  fail_unless_equals_int (g_atomic_int_get (&key_units), 1);
  answer_and_pull (responses, &request, appsink);
  /* 5 and 6 (deltas) sent within a second of the request: not asked again
   * (asking at each lost key unit, with a server too slow for key units,
   * made every third frame one); 6 sent shows that 5's chain returned */
  push_unit (appsrc, 5, FALSE);
  next_request (requests, &request, 5);
  answer_and_pull (responses, &request, appsink);
  push_unit (appsrc, 6, FALSE);
  next_request (requests, &request, 6);
  fail_unless_equals_int (g_atomic_int_get (&key_units), 1);
  answer_and_pull (responses, &request, appsink);
  /* a second on, 7 (delta): asked again */
  g_usleep (1100 * G_TIME_SPAN_MILLISECOND);
  push_unit (appsrc, 7, FALSE);
  next_request (requests, &request, 7);
  wait_key_unit_requests (&key_units, 2);
  answer_and_pull (responses, &request, appsink);
  /* 8 (key) sent ends the wait; 9 (delta): none */
  push_unit (appsrc, 8, TRUE);
  next_request (requests, &request, 8);
  answer_and_pull (responses, &request, appsink);
  push_unit (appsrc, 9, FALSE);
  next_request (requests, &request, 9);
  answer_and_pull (responses, &request, appsink);

  /* (EOS after the chain function of 8 returned) */
  gst_app_src_end_of_stream (GST_APP_SRC (appsrc));
  msg = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (pipeline), WAIT,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless (msg != NULL && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS);
  gst_message_unref (msg);
  fail_unless_equals_int (g_atomic_int_get (&key_units), 2);
  fail_unless_equals_uint64 (stat_of (filter, "requests"), 7);

  reach_state (pipeline, GST_STATE_NULL);
  zb_writer_destroy (responses);
  zb_reader_destroy (requests);
  fail_if (ring_exists (response_name));
  gst_object_unref (pipeline);
  g_free (channel);
}

GST_END_TEST;

/* A new session with the server (a replay: a flushing seek after EOS, the
 * server serving a new client) whose first request is a delta unit: that
 * server has seen no key unit, so zerofilter asks upstream for one, once
 * per session that starts so; a session that starts with a key unit, and
 * the delta units of a session that saw one, are not asked for. (It never
 * asked.) */
GST_START_TEST (test_key_unit_for_new_session)
{
  gchar *channel = channel_name ("keysession");
  Server *server = server_start (channel, 0);
  GstElement *pipeline = filter_pipeline (channel, "videotestsrc ! "
      GRAY_CAPS, "", "sync=false");
  GstElement *appsink = by_name (pipeline, "out");
  GstPad *pad = gst_element_get_static_pad (by_name (pipeline, "f"), "sink");
  gint key_units = 0;
  guint round, i;

  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, set_delta_on_odd, NULL,
      NULL);
  gst_object_unref (pad);
  count_key_units_of (pipeline, "f", &key_units);
  reach_state (pipeline, GST_STATE_PAUSED);
  /* from frame 0 (key), then twice from frame 1 (delta) */
  for (round = 0; round < 3; round++) {
    GstClockTime start = round == 0 ? 0 : FRAME_NS;

    fail_unless (gst_element_seek (pipeline, 1.0, GST_FORMAT_TIME,
            GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE, GST_SEEK_TYPE_SET,
            start, GST_SEEK_TYPE_SET, start + 4 * FRAME_NS));
    if (round == 0)
      reach_state (pipeline, GST_STATE_PLAYING);
    for (i = 0; i < 4; i++)
      fail_unless_equals_uint64 (pull_paired (appsink, NULL),
          start + i * FRAME_NS);
    fail_unless (gst_app_sink_try_pull_sample (GST_APP_SINK (appsink), WAIT)
        == NULL && gst_app_sink_is_eos (GST_APP_SINK (appsink)),
        "round %u: no EOS after 4 buffers", round);
    fail_unless_equals_int (g_atomic_int_get (&key_units), round);
  }
  assert_no_error (pipeline);
  reach_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  fail_unless_equals_int (server_stop (server, 3), 3);
  g_free (channel);
}

GST_END_TEST;

/* A next client of the same server with other caps: the request ring keeps
 * its first client's metadata, so zerofilter fails, saying that the
 * server's ring does not take this stream (not that there is no server),
 * with the element's name and both caps, and only that error. */
GST_START_TEST (test_next_client_other_caps)
{
  gchar *channel = channel_name ("other-caps");
  Server *server = server_start (channel, 0);
  GstElement *pipeline = filter_pipeline (channel,
      "videotestsrc num-buffers=3 ! " GRAY_CAPS, "", "sync=false");
  GstMessage *msg;
  GError *error;
  guint i;

  reach_state (pipeline, GST_STATE_PLAYING);
  for (i = 0; i < 3; i++)
    pull_paired (by_name (pipeline, "out"), NULL);
  reach_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);

  pipeline = filter_pipeline (channel, "videotestsrc num-buffers=3 ! "
      "video/x-raw,format=GRAY8,width=32,height=24", "", "sync=false");
  error = play_until_error (pipeline);
  fail_unless (g_str_has_prefix (error->message, "The duplex server's "
          "request ring does not take this stream: Ring "), "%s",
      error->message);
  fail_unless (strstr (error->message, "width=(int)64") != NULL &&
      strstr (error->message, ", f sends video/x-raw, format=(string)GRAY8, "
          "width=(int)32") != NULL, "%s", error->message);
  g_clear_error (&error);
  /* the buffers after the refused caps add no error of their own */
  msg = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (pipeline),
      200 * GST_MSECOND, GST_MESSAGE_ERROR);
  if (msg != NULL) {
    gst_message_parse_error (msg, &error, NULL);
    fail_if (strstr (error->message, "No caps") != NULL, "%s",
        error->message);
    g_clear_error (&error);
    gst_message_unref (msg);
  }
  reach_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  server_stop (server, 1);
  g_free (channel);
}

GST_END_TEST;

/* The pipeline stopped while zerofilter pushes its first caps (gst-launch
 * setting NULL on downstream's error during that push): no task of its
 * src pad starts after the stop, which freed the response ring under it
 * (a SIGSEGV in 1 run of 10 of gst-launch). Made deterministic: the CAPS
 * push waits until the stop has reached zerofilter's pads, and a task that
 * starts meanwhile is held at its start until the pipeline is in NULL. */
typedef struct
{
  GMutex lock;
  GCond cond;
  gboolean at_caps, stopped;
  gint tasks_entered;
  GstPad *src;
} StopAtCaps;

static GstPadProbeReturn
stop_at_caps_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  StopAtCaps *t = data;
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) != GST_EVENT_CAPS)
    return GST_PAD_PROBE_OK;
  g_mutex_lock (&t->lock);
  t->at_caps = TRUE;
  g_cond_broadcast (&t->cond);
  g_mutex_unlock (&t->lock);
  /* until the state change deactivates this pad (after zerofilter's
   * stop of its task) */
  while (!GST_PAD_IS_FLUSHING (pad) && g_get_monotonic_time () < deadline)
    g_usleep (G_TIME_SPAN_MILLISECOND);
  return GST_PAD_PROBE_OK;
}

static GstBusSyncReply
hold_task_until_stopped (GstBus * bus, GstMessage * msg, gpointer data)
{
  StopAtCaps *t = data;
  GstStreamStatusType type;
  GstElement *owner;

  if (GST_MESSAGE_TYPE (msg) != GST_MESSAGE_STREAM_STATUS ||
      GST_MESSAGE_SRC (msg) != GST_OBJECT (t->src))
    return GST_BUS_PASS;
  gst_message_parse_stream_status (msg, &type, &owner);
  if (type != GST_STREAM_STATUS_TYPE_ENTER)
    return GST_BUS_PASS;
  g_mutex_lock (&t->lock);
  g_atomic_int_inc (&t->tasks_entered);
  while (t->at_caps && !t->stopped)
    g_cond_wait (&t->cond, &t->lock);
  g_mutex_unlock (&t->lock);
  return GST_BUS_PASS;
}

GST_START_TEST (test_stop_during_first_caps)
{
  gchar *channel = channel_name ("stop-caps");
  Server *server = server_start (channel, 0);
  GstElement *pipeline = filter_pipeline (channel, "videotestsrc ! "
      GRAY_CAPS, "", "sync=false");
  GstBus *bus = gst_element_get_bus (pipeline);
  StopAtCaps t = { 0 };

  g_mutex_init (&t.lock);
  g_cond_init (&t.cond);
  t.src = gst_element_get_static_pad (by_name (pipeline, "f"), "src");
  gst_pad_add_probe (t.src, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
      stop_at_caps_probe, &t, NULL);
  gst_bus_set_sync_handler (bus, hold_task_until_stopped, &t, NULL);
  fail_if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
  g_mutex_lock (&t.lock);
  while (!t.at_caps)
    fail_unless (g_cond_wait_until (&t.cond, &t.lock,
            g_get_monotonic_time () + 10 * G_USEC_PER_SEC), "no caps");
  g_mutex_unlock (&t.lock);
  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  g_mutex_lock (&t.lock);
  t.stopped = TRUE;
  g_cond_broadcast (&t.cond);
  g_mutex_unlock (&t.lock);
  /* a task started after the stop would run now, over no response ring */
  g_usleep (200 * G_TIME_SPAN_MILLISECOND);
  fail_unless_equals_int (g_atomic_int_get (&t.tasks_entered), 0);
  fail_unless_equals_int (gst_pad_get_task_state (t.src), GST_TASK_STOPPED);
  fail_if (ring_exists (server->response_name));
  gst_bus_set_sync_handler (bus, NULL, NULL, NULL);
  gst_object_unref (bus);
  gst_object_unref (t.src);
  gst_object_unref (pipeline);
  server_stop (server, 0);
  g_mutex_clear (&t.lock);
  g_cond_clear (&t.cond);
  g_free (channel);
}

GST_END_TEST;

/* Pushes BUFFER (its bytes all FILL, its PTS I frames) through appsrc. */
static void
push_filled (GstElement * appsrc, GstBuffer * buffer, guint8 fill, guint i)
{
  gst_buffer_memset (buffer, 0, fill, gst_buffer_get_size (buffer));
  GST_BUFFER_PTS (buffer) = i * FRAME_NS;
  GST_BUFFER_DURATION (buffer) = FRAME_NS;
  fail_unless_equals_int (gst_app_src_push_buffer (GST_APP_SRC (appsrc),
          buffer), GST_FLOW_OK);
}

/* Pulls the answer to the buffer of PTS I frames, filled with FILL: paired
 * (its first 8 bytes, the server's PTS), the rest of its bytes the
 * request's. */
static void
pull_filled (GstElement * appsink, guint8 fill, guint i)
{
  GstSample *sample = gst_app_sink_try_pull_sample (GST_APP_SINK (appsink),
      WAIT);
  GstBuffer *buffer;
  GstMapInfo map;
  guint64 answered;
  gsize j;

  fail_unless (sample != NULL, "no answer to buffer %u within 10 s", i);
  buffer = gst_sample_get_buffer (sample);
  fail_unless_equals_uint64 (GST_BUFFER_PTS (buffer), i * FRAME_NS);
  fail_unless (gst_buffer_map (buffer, &map, GST_MAP_READ));
  fail_unless_equals_int (map.size, 64 * 48);
  memcpy (&answered, map.data, sizeof answered);
  fail_unless_equals_uint64 (answered, i * FRAME_NS);
  for (j = sizeof answered; j < map.size && map.data[j] == fill; j++);
  fail_unless (j == map.size, "the answer to buffer %u has byte %u at %"
      G_GSIZE_FORMAT ", not %u", i, map.data[j], j, fill);
  gst_buffer_unmap (buffer, &map);
  gst_sample_unref (sample);
}

/* Pulls the buffer of PTS I frames passed unprocessed: its bytes all
 * FILL. */
static void
pull_passed (GstElement * appsink, guint8 fill, guint i)
{
  GstSample *sample = gst_app_sink_try_pull_sample (GST_APP_SINK (appsink),
      WAIT);
  GstBuffer *buffer;
  GstMapInfo map;
  gsize j;

  fail_unless (sample != NULL, "no buffer %u within 10 s", i);
  buffer = gst_sample_get_buffer (sample);
  fail_unless_equals_uint64 (GST_BUFFER_PTS (buffer), i * FRAME_NS);
  fail_unless (gst_buffer_map (buffer, &map, GST_MAP_READ));
  for (j = 0; j < map.size && map.data[j] == fill; j++);
  fail_unless (j == map.size, "buffer %u passed has byte %u at %"
      G_GSIZE_FORMAT ", not %u", i, map.data[j], j, fill);
  gst_buffer_unmap (buffer, &map);
  gst_sample_unref (sample);
}

/* Plays PIPELINE (appsrc "in" into zerofilter "f" into appsink "out"),
 * pushes a first buffer, copied, so that the caps are there and the server
 * connected, and returns zerofilter's request pool, active. */
static GstBufferPool *
held_back_start (GstElement * pipeline)
{
  GstElement *appsrc = by_name (pipeline, "in");
  GstPad *srcpad = gst_element_get_static_pad (appsrc, "src");
  GstBufferPool *pool;

  fail_if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
  push_filled (appsrc, gst_buffer_new_allocate (NULL, 64 * 48, NULL), 0x10,
      0);
  pull_filled (by_name (pipeline, "out"), 0x10, 0);
  pool = request_pool (srcpad);
  gst_object_unref (srcpad);
  return pool;
}

/* A buffer from POOL, which must have one. */
static GstBuffer *
pool_buffer (GstBufferPool * pool)
{
  GstBuffer *buffer = NULL;

  fail_unless_equals_int (gst_buffer_pool_acquire_buffer (pool, &buffer,
          NULL), GST_FLOW_OK);
  return buffer;
}

/* Ends the stream of held_back_start's PIPELINE with its EOS, no error,
 * and lets POOL go. */
static void
held_back_end (GstElement * pipeline, GstBufferPool * pool)
{
  GstMessage *msg;

  gst_app_src_end_of_stream (GST_APP_SRC (by_name (pipeline, "in")));
  msg = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (pipeline), WAIT,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless (msg != NULL && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS);
  gst_message_unref (msg);
  gst_buffer_pool_set_active (pool, FALSE);
  gst_object_unref (pool);
}

/* An upstream that holds back a buffer of zerofilter's pool (input-selector
 * holding the inactive pad's while the new active pad pushes buffers of a
 * pool of its own) and pushes those it took after it first: their requests
 * are published only behind it, so zerofilter must not wait for their
 * answers before the held one is pushed (it waited, depth requests
 * waiting, for the timeout: the held buffer was the next it was given).
 * Every answer comes, paired, in ring order, with its request's bytes. */
GST_START_TEST (test_pool_buffer_held_back)
{
  gchar *channel = channel_name ("held-back");
  Server *server = server_start (channel, 0);
  gchar *desc = g_strdup_printf ("appsrc name=in format=time caps=\"%s\"",
      GRAY_CAPS);
  GstElement *pipeline = filter_pipeline (channel, desc, "timeout=3000",
      "sync=false");
  GstElement *appsrc = by_name (pipeline, "in");
  GstElement *appsink = by_name (pipeline, "out");
  GstBufferPool *pool = held_back_start (pipeline);
  GstBuffer *held, *b, *c;

  g_free (desc);
  held = pool_buffer (pool);
  b = pool_buffer (pool);
  c = pool_buffer (pool);
  push_filled (appsrc, b, 0xb0, 2);
  push_filled (appsrc, c, 0xc0, 3);
  /* depth (2) requests wait now, both behind HELD */
  push_filled (appsrc, held, 0xa0, 1);
  pull_filled (appsink, 0xa0, 1);
  pull_filled (appsink, 0xb0, 2);
  pull_filled (appsink, 0xc0, 3);
  wait_stat (by_name (pipeline, "f"), "requests-zero-copy", 3);

  held_back_end (pipeline, pool);
  finish (pipeline, server, channel);
}

GST_END_TEST;

/* A buffer of the pool held back for good, with requests published only
 * behind it: the timeout's error says that they never reached the server
 * (not that it did not answer). */
GST_START_TEST (test_pool_buffer_held_back_times_out)
{
  gchar *channel = channel_name ("held-out");
  Server *server = server_start (channel, 0);
  gchar *desc = g_strdup_printf ("appsrc name=in format=time caps=\"%s\"",
      GRAY_CAPS);
  GstElement *pipeline = filter_pipeline (channel, desc, "timeout=500",
      "sync=false");
  GstElement *appsrc = by_name (pipeline, "in");
  GstBufferPool *pool = held_back_start (pipeline);
  GstBuffer *held, *b;
  GstMessage *msg;
  GError *error = NULL;
  gchar *debug = NULL;

  g_free (desc);
  held = pool_buffer (pool);
  b = pool_buffer (pool);
  push_filled (appsrc, b, 0xb0, 2);
  msg = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (pipeline), WAIT,
      GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "no error within 10 s");
  gst_message_parse_error (msg, &error, &debug);
  gst_message_unref (msg);
  fail_unless (g_str_has_prefix (error->message, "Request 2 did not reach "
          "the duplex server within 500 ms (1 request waiting): it is held "
          "back in the request ring behind a buffer that upstream took"),
      "%s", error->message);
  fail_unless (strstr (debug, "zerobuffer-error=ETIMEDOUT") != NULL, "%s",
      debug);
  gst_buffer_unref (held);
  gst_buffer_pool_set_active (pool, FALSE);
  gst_object_unref (pool);
  finish_after_error (pipeline, error, debug, server, channel);
}

GST_END_TEST;

/* A buffer skipped and passed (policy=drop skipped=pass) while a pool
 * buffer is held back: the held buffer's request, published before the
 * requests queued after the pass, goes before them and before the pass
 * (which keeps its place after the request it came after). Before, it
 * was queued after the pass, behind the later request: the answers came
 * paired with each other's requests (PTS 3 with the held one's answer). */
GST_START_TEST (test_pool_buffer_held_back_behind_pass)
{
  gchar *channel = channel_name ("held-pass");
  Server *server = server_start (channel, 400);
  gchar *desc = g_strdup_printf ("appsrc name=in format=time caps=\"%s\"",
      GRAY_CAPS);
  GstElement *pipeline = filter_pipeline (channel, desc,
      "timeout=5000 depth=2 policy=drop skipped=pass", "sync=false");
  GstElement *appsrc = by_name (pipeline, "in");
  GstElement *appsink = by_name (pipeline, "out");
  GstBufferPool *pool = held_back_start (pipeline);
  GstBuffer *b, *held, *c;

  g_free (desc);
  b = pool_buffer (pool);
  held = pool_buffer (pool);
  c = pool_buffer (pool);
  push_filled (appsrc, b, 0xb0, 1);     /* published, answered in 400 ms */
  push_filled (appsrc, c, 0xc0, 3);     /* behind HELD */
  /* depth (2) requests wait and the oldest is published: skipped, passed
   * in its turn */
  push_filled (appsrc, gst_buffer_new_allocate (NULL, 64 * 48, NULL), 0xd0,
      4);
  pull_filled (appsink, 0xb0, 1);
  push_filled (appsrc, held, 0xa0, 2);
  pull_filled (appsink, 0xa0, 2);
  pull_filled (appsink, 0xc0, 3);
  pull_passed (appsink, 0xd0, 4);
  fail_unless_equals_uint64 (stat_of (by_name (pipeline, "f"),
          "frames-passed"), 1);

  held_back_end (pipeline, pool);
  finish (pipeline, server, channel);
}

GST_END_TEST;

/* The case above as input-selector makes it: switched, it holds the
 * buffer of the pad it left (taken from one pool of zerofilter's) while
 * the new active pad pushes buffers of another, taken later; zerofilter
 * must not wait for their answers (before, the stream stalled for the
 * timeout at the first switch). Each answer is paired; none is lost. */
GST_START_TEST (test_input_selector_switch)
{
  gchar *channel = channel_name ("selector");
  Server *server = server_start (channel, 0);
  gchar *desc = g_strdup_printf ("input-selector name=sel ! zerofilter "
      "name=f channel=%s frame-header=true connect-timeout=5000 "
      "timeout=3000 ! appsink name=out sync=false "
      "videotestsrc is-live=true pattern=white ! " GRAY_CAPS " ! sel.sink_0 "
      "videotestsrc is-live=true pattern=black ! " GRAY_CAPS " ! sel.sink_1",
      channel);
  GstElement *pipeline = launch (desc);
  GstElement *sel = by_name (pipeline, "sel");
  GstPad *pads[2];
  guint i;

  g_free (desc);
  pads[0] = gst_element_get_static_pad (sel, "sink_0");
  pads[1] = gst_element_get_static_pad (sel, "sink_1");
  fail_if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
  for (i = 0; i < 60; i++) {
    if (i > 0 && i % 15 == 0)
      g_object_set (sel, "active-pad", pads[i / 15 % 2], NULL);
    pull_paired (by_name (pipeline, "out"), NULL);
  }
  assert_no_error (pipeline);
  gst_object_unref (pads[0]);
  gst_object_unref (pads[1]);
  finish (pipeline, server, channel);
}

GST_END_TEST;

static Suite *
zerofilter_suite (void)
{
  Suite *s = suite_create ("zerofilter");
  TCase *tc = tcase_create ("element");

  load_plugin ();
  tcase_set_timeout (tc, 60);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_flushing_seek);
  tcase_add_test (tc, test_seek_after_eos);
  tcase_add_test (tc, test_seek_while_connecting);
  tcase_add_test (tc, test_next_client_other_caps);
  tcase_add_test (tc, test_state_cycles_with_frames_in_flight);
  tcase_add_test (tc, test_ready_properties_refused_while_playing);
  tcase_add_test (tc, test_latency_query);
  tcase_add_test (tc, test_latency_query_not_live);
  tcase_add_test (tc, test_latency_query_bounded_maximum);
  tcase_add_test (tc, test_caps_change_reaches_the_server);
  tcase_add_test (tc, test_caps_growth_response_ring_auto);
  tcase_add_test (tc, test_caps_growth_payload_size_too_small);
  tcase_add_test (tc, test_caps_growth_in_place);
  tcase_add_test (tc, test_caps_growth_named_size_works);
  tcase_add_test (tc, test_response_timing);
  tcase_add_test (tc, test_absurd_response_duration_dropped);
  tcase_add_test (tc, test_absurd_response_timestamps_dropped);
  tcase_add_test (tc, test_planar_audio_responses);
  tcase_add_test (tc, test_audio_response_ring_by_time);
  tcase_add_test (tc, test_audio_second_buffers);
  tcase_add_test (tc, test_audio_caps_growth);
  tcase_add_test (tc, test_audio_caps_growth_that_fits);
  tcase_add_test (tc, test_response_flags_added_to_plain_requests);
  tcase_add_test (tc, test_discont_after_drop);
  tcase_add_test (tc, test_discont_after_drop_then_failed_write);
  tcase_add_test (tc, test_key_unit_after_skip);
  tcase_add_test (tc, test_key_unit_for_new_session);
  tcase_add_test (tc, test_caps_refinement_without_header);
  tcase_add_test (tc, test_in_place_flushing_seek);
  tcase_add_test (tc, test_in_place_server_gone_with_holds);
  tcase_add_test (tc, test_corrupt_response_metadata);
  tcase_add_test (tc, test_server_caps_without_size);
  tcase_add_test (tc, test_request_not_a_frame);
  tcase_add_test (tc, test_request_not_whole_samples);
  tcase_add_test (tc, test_videorate_repeat_dropped_is_told);
  tcase_add_test (tc, test_no_discont_after_dropped_repeat);
  tcase_add_test (tc, test_flush_ends_upstream_pool_acquire);
  tcase_add_test (tc, test_stop_rewakes_reserve_after_taken_wake);
  tcase_add_test (tc, test_flush_ends_reserve_after_taken_wake);
  tcase_add_test (tc, test_request_metadata_too_big);
  tcase_add_test (tc, test_stop_during_first_caps);
  tcase_add_test (tc, test_pool_buffer_held_back);
  tcase_add_test (tc, test_pool_buffer_held_back_times_out);
  tcase_add_test (tc, test_pool_buffer_held_back_behind_pass);
  tcase_add_test (tc, test_input_selector_switch);
  return s;
}

GST_CHECK_MAIN (zerofilter);

/**
 * SECTION:element-zerosink
 * @title: zerosink
 * @see_also: zerosrc
 *
 * Writes every buffer as one frame into a ZeroBuffer v1.0 shared-memory ring
 * that a reader (zerosrc, or any other ZeroBuffer reader) created. Frames
 * carry the raw buffer bytes only, so every ZeroBuffer reader can read them;
 * the caps travel once, in the ring's metadata (UTF-8 JSON with a "caps"
 * string), so the reader needs no hand-typed caps.
 *
 * When the reader is not there yet, zerosink waits for it up to
 * #GstZeroSink:connect-timeout. When the ring is full it waits for space up to
 * #GstZeroSink:timeout (policy "block", the default) or drops the buffer
 * (policy "drop"). On EOS it detaches cleanly: the reader drains the ring and
 * then sees the end of the stream.
 *
 * Zero copy: for raw video caps with a fixed frame size zerosink offers
 * upstream a buffer pool whose buffers are reservations in the ring, so an
 * element that honours it (videotestsrc, videoconvert, ...) draws straight
 * into shared memory and zerosink only commits the frame. Other buffers are
 * copied into the ring once. #GstZeroSink:stats counts both
 * (frames-zero-copy, frames-copied); #GstZeroSink:zero-copy turns the pool
 * off. The pool holds one buffer at a time (the ring has one reservation per
 * writer), so upstream cannot keep several of its buffers around.
 *
 * Frame header: with #GstZeroSink:frame-header, every frame starts with a
 * 48-byte header carrying the buffer's PTS, DTS, duration and flags and the
 * commit time (PROTOCOL.md, "Per-frame header"), declared in the metadata as
 * "zerobuffer":{"frame_header":1}. zerosrc and the zerobuffer Node reader
 * understand it; other ZeroBuffer readers would take the header for image
 * bytes, so it is off by default.
 *
 * Errors name their kind, so a supervisor can tell the permanent ones (a
 * frame that can never fit, no ring after connect-timeout, other caps than
 * the ring's, a bad name, permission denied) from the transient ones (the
 * reader went away, the ring stayed full): "zerobuffer-error" details on the
 * message and a last debug line "zerobuffer-error=NAME (permanent)" or
 * "(transient)". Its errors, and an INFO message before its EOS, carry its
 * count in a line "zerobuffer-stats frames-written=N ...".
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 -e zerosrc buffer-name=cam0 ! videoconvert ! autovideosink
 * ]|
 * |[
 * gst-launch-1.0 -e videotestsrc ! video/x-raw,format=RGB,width=640,height=480 ! zerosink buffer-name=cam0
 * ]|
 * Either pipeline can start first: zerosink waits for the ring.
 * |[
 * gst-launch-1.0 -e videotestsrc is-live=true ! video/x-raw,format=I420,width=1280,height=720 ! zerosink buffer-name=cam0 frame-header=true
 * ]|
 * The reader (zerosrc) then stamps the buffers with the writer's timestamps.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <gst/gst.h>
#include <gst/base/gstbasesink.h>
#include <gst/video/video.h>

#include "gstzerobufferelements.h"
#include "gstzerosinkpool.h"
#include "zerobuffer.h"

#define GST_CAT_DEFAULT gst_zerobuffer_debug

/* zerosink carries any caps, but an upstream free to choose should pick
 * what readers understand: the raw formats the readers' API describes
 * (src/video-info.ts), then image/jpeg and image/png, then anything. GstCaps cannot list
 * structures followed by ANY ("ANY" in a list is a media type), so the
 * template is ANY and get_caps answers with these first. */
static GstStaticCaps described_caps =
    GST_STATIC_CAPS ("video/x-raw, format=(string){ RGB, BGR, RGBx, BGRx, "
    "RGBA, BGRA, GRAY8, GRAY16_LE, GRAY16_BE, I420, NV12, YUY2, xRGB, xBGR, "
    "ARGB, ABGR, YV12, NV21, UYVY }; image/jpeg; image/png");

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS_ANY);

/* The described caps upstream can produce, in our order, then all it can
 * produce (basesink would keep upstream's order: videotestsrc would pick
 * ABGR64_LE). Without a filter the answer is ANY (NULL: the template). */
static GstCaps *
gst_zero_sink_get_caps (GstBaseSink * sink, GstCaps * filter)
{
  GstCaps *described, *preferred;

  if (filter == NULL)
    return NULL;
  described = gst_static_caps_get (&described_caps);
  preferred = gst_caps_intersect_full (described, filter,
      GST_CAPS_INTERSECT_FIRST);
  gst_caps_unref (described);
  return gst_caps_merge (preferred, gst_caps_ref (filter));
}

#define GST_TYPE_ZERO_SINK (gst_zero_sink_get_type ())
G_DECLARE_FINAL_TYPE (GstZeroSink, gst_zero_sink, GST, ZERO_SINK, GstBaseSink);

typedef enum
{
  GST_ZERO_SINK_POLICY_BLOCK,
  GST_ZERO_SINK_POLICY_DROP,
} GstZeroSinkPolicy;

#define GST_TYPE_ZERO_SINK_POLICY (gst_zero_sink_policy_get_type ())
static GType gst_zero_sink_policy_get_type (void);

/* One connection to the ring. Referenced by the sink while connected and by
 * every memory that wraps ring bytes (the pool's buffers), so the ring stays
 * mapped as long as anything can touch it; the writer detaches (the reader
 * sees end of stream) when the last reference goes. */
typedef struct
{
  gint refcount;
  zb_writer *writer;
} GstZeroSinkConn;

/* The destroy notify data of a memory wrapping a reservation. */
typedef struct
{
  GstZeroSink *sink;            /* reference */
  GstZeroSinkConn *conn;        /* reference */
  guint64 id;                   /* the reservation */
  guint8 *slot;                 /* its start (frame header goes there) */
} GstZeroSinkSlot;

struct _GstZeroSink
{
  GstBaseSink parent;

  /* properties, under the object lock */
  gchar *buffer_name;
  gint connect_timeout;
  gint timeout;
  GstZeroSinkPolicy policy;
  gboolean zero_copy;
  gboolean frame_header;
  gchar *camera_id;

  /* `lock` guards the connection (set by whoever connects, cleared by
   * detach; woken by unlock(), the pool and detach; read by the stats), the
   * state flags and the single reservation; `cond` is broadcast whenever one
   * of them changes. */
  GMutex lock;
  GCond cond;
  GstZeroSinkConn *conn;
  gboolean unlocked;            /* between unlock() and unlock_stop() */
  gboolean closing;             /* between stop() and start() */
  gboolean eos;                 /* after EOS, until a flush or start() */
  gboolean res_busy;            /* someone owns the ring's one reservation */
  guint64 res_id;               /* the open pool reservation, 0 = none */
  guint64 next_res_id;

  /* `connect_lock` serialises connecting (the streaming thread's render and
   * upstream's acquire from the pool can both connect) and guards these */
  GMutex connect_lock;
  gboolean metadata_written;    /* for the current connection */
  GstCaps *caps;                /* the latest caps from set_caps */
  GstCaps *metadata_caps;       /* the caps written into the metadata */

  /* set in start(), read-only while streaming */
  gsize ext_size;               /* ZB_EXT_HEADER_SIZE with frame-header, or 0 */

  /* statistics, under the object lock */
  guint64 frames_written;
  guint64 bytes_written;
  guint64 frames_dropped;
  guint64 frames_copied;
  guint64 frames_zero_copy;
};

#define DEFAULT_BUFFER_NAME NULL
#define DEFAULT_CONNECT_TIMEOUT 10000
#define DEFAULT_TIMEOUT 5000
#define DEFAULT_POLICY GST_ZERO_SINK_POLICY_BLOCK
#define DEFAULT_ZERO_COPY TRUE
#define DEFAULT_FRAME_HEADER FALSE
#define DEFAULT_CAMERA_ID NULL

/* How often a missing ring is looked for again while connecting. */
#define CONNECT_RETRY_US (20 * G_TIME_SPAN_MILLISECOND)

enum
{
  PROP_0,
  PROP_BUFFER_NAME,
  PROP_CONNECT_TIMEOUT,
  PROP_TIMEOUT,
  PROP_POLICY,
  PROP_ZERO_COPY,
  PROP_FRAME_HEADER,
  PROP_STATS,
  PROP_CAMERA_ID,
};

static GQuark slot_quark;

#define gst_zero_sink_parent_class parent_class
G_DEFINE_TYPE (GstZeroSink, gst_zero_sink, GST_TYPE_BASE_SINK);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (zerosink, "zerosink", GST_RANK_NONE,
    GST_TYPE_ZERO_SINK, zerobuffer_element_init (plugin));

static GType
gst_zero_sink_policy_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_ZERO_SINK_POLICY_BLOCK,
        "Wait for space in the ring (up to the timeout)", "block"},
    {GST_ZERO_SINK_POLICY_DROP,
        "Drop the buffer when the ring is full, and count it", "drop"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstZeroSinkPolicy", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

/* ------------------------------------------------------------- helpers */

static GstZeroSinkConn *
gst_zero_sink_conn_ref (GstZeroSinkConn * conn)
{
  g_atomic_int_inc (&conn->refcount);
  return conn;
}

static void
gst_zero_sink_conn_unref (GstZeroSinkConn * conn)
{
  if (conn != NULL && g_atomic_int_dec_and_test (&conn->refcount)) {
    GST_INFO ("detaching from ring %s", zb_writer_name (conn->writer));
    zb_writer_destroy (conn->writer);
    g_free (conn);
  }
}

/* The current connection, referenced, or NULL. */
static GstZeroSinkConn *
gst_zero_sink_get_conn (GstZeroSink * self)
{
  GstZeroSinkConn *conn;

  g_mutex_lock (&self->lock);
  conn = self->conn ? gst_zero_sink_conn_ref (self->conn) : NULL;
  g_mutex_unlock (&self->lock);
  return conn;
}

/* The metadata JSON: the convention of existing GStreamer integrations
 * (PROTOCOL.md), so that every ZeroBuffer reader learns the caps, plus our
 * own key when frames carry the per-frame header. */
static gchar *
gst_zero_sink_build_metadata (GstZeroSink * self, GstCaps * caps)
{
  GString *json = g_string_new ("{\"type\":\"gstreamer-sink\",\"version\":");
  gchar *text = gst_version_string ();

  zerobuffer_json_append_string (json, text);
  g_free (text);
  if (caps != NULL) {
    text = gst_caps_to_string (caps);
    g_string_append (json, ",\"caps\":");
    zerobuffer_json_append_string (json, text);
    g_free (text);
  }
  g_string_append (json, ",\"element_name\":");
  GST_OBJECT_LOCK (self);
  zerobuffer_json_append_string (json, GST_OBJECT_NAME (self));
  if (self->camera_id != NULL) {
    g_string_append (json, ",\"camera_id\":");
    zerobuffer_json_append_string (json, self->camera_id);
  }
  GST_OBJECT_UNLOCK (self);
  if (self->ext_size > 0)
    g_string_append (json, ",\"zerobuffer\":{\"frame_header\":1}");
  g_string_append_c (json, '}');
  return g_string_free (json, FALSE);
}

/* Checks that the metadata the ring already holds (written by an earlier
 * writer) means what ours would: the same caps and the same per-frame header
 * declaration. Byte equality is too strict: the element name and the
 * GStreamer version may differ. Posts the error and returns FALSE
 * otherwise. Called with connect_lock. */
static gboolean
gst_zero_sink_check_metadata (GstZeroSink * self, const gchar * name,
    const guint8 * data, gsize size)
{
  gchar *their_caps_str, *our_caps_str, *their_header_str, *writer;
  GstCaps *their_caps = NULL;
  gint64 their_header;
  gint64 our_header = self->ext_size > 0 ? 1 : 0;
  gboolean caps_equal, ok = FALSE;
  const int quoted = (int) MIN (size, 1024);

  GST_DEBUG_OBJECT (self, "ring %s already has metadata: %.*s", name, quoted,
      (const gchar *) data);
  their_header = zerobuffer_json_get_frame_header (data, size);
  their_caps_str = zerobuffer_json_get_string (data, size, "caps");
  if (!zerobuffer_json_is_object (data, size) || their_header < 0 ||
      (their_caps_str != NULL &&
          (their_caps = zerobuffer_caps_from_peer (their_caps_str,
                  NULL)) == NULL)) {
    ZEROBUFFER_ELEMENT_ERROR (self, ZB_EMETADATA, name,
        ("Ring %s already carries metadata this zerosink cannot read, so it "
            "cannot tell whether its stream is the same", name),
        ("metadata: %.*s; expected a JSON object with a \"caps\" string "
            "and optionally \"zerobuffer\":{\"frame_header\":1}", quoted,
            (const gchar *) data));
    g_free (their_caps_str);
    return FALSE;
  }

  if (their_caps == NULL || self->caps == NULL)
    caps_equal = their_caps == NULL && self->caps == NULL;
  else
    caps_equal = gst_caps_is_equal (their_caps, self->caps);

  if (caps_equal && their_header == our_header) {
    GST_INFO_OBJECT (self, "ring %s already carries the same metadata; "
        "keeping it", name);
    ok = TRUE;
    goto out;
  }

  our_caps_str = self->caps != NULL ? gst_caps_to_string (self->caps) :
      g_strdup ("(none)");
  writer = zerobuffer_json_get_string (data, size, "element_name");
  their_header_str = their_header == 0 ? g_strdup ("without the per-frame "
      "header") : g_strdup_printf ("with the per-frame header "
      "(\"zerobuffer\":{\"frame_header\":%" G_GINT64_FORMAT "})",
      their_header);
  if (!caps_equal && their_header != our_header)
    ZEROBUFFER_ELEMENT_ERROR (self, ZB_EMETADATA, name,
        ("Ring %s already carries the metadata of another stream: caps %s "
            "%s, but this zerosink sends caps %s with frame-header=%s",
            name, their_caps_str ? their_caps_str : "(none)",
            their_header_str, our_caps_str, our_header ? "true" : "false"),
        ("metadata written by %s: %.*s; the metadata of a ZeroBuffer ring is "
            "written once; restart the reader to change the format",
            writer ? writer : "an earlier writer", quoted,
            (const gchar *) data));
  else if (!caps_equal)
    ZEROBUFFER_ELEMENT_ERROR (self, ZB_EMETADATA, name,
        ("Ring %s already carries the metadata of another stream: its caps "
            "are %s, this zerosink sends %s", name,
            their_caps_str ? their_caps_str : "(none)", our_caps_str),
        ("metadata written by %s: %.*s; the metadata of a ZeroBuffer ring is "
            "written once; restart the reader to change the format",
            writer ? writer : "an earlier writer", quoted,
            (const gchar *) data));
  else
    ZEROBUFFER_ELEMENT_ERROR (self, ZB_EMETADATA, name,
        ("Ring %s already carries the metadata of a stream %s, but this "
            "zerosink has frame-header=%s (caps %s on both sides)", name,
            their_header_str, our_header ? "true" : "false", our_caps_str),
        ("metadata written by %s: %.*s; give this zerosink the frame-header "
            "setting of the earlier writer, or restart the reader",
            writer ? writer : "an earlier writer", quoted,
            (const gchar *) data));
  g_free (their_header_str);
  g_free (our_caps_str);
  g_free (writer);

out:
  g_free (their_caps_str);
  if (their_caps != NULL)
    gst_caps_unref (their_caps);
  return ok;
}

/* Gives up the ring's one reservation (the caller owns it). */
static void
gst_zero_sink_release_reservation (GstZeroSink * self)
{
  g_mutex_lock (&self->lock);
  self->res_busy = FALSE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

/* Drops the connection. The writer detaches (the reader sees end of stream
 * after draining) once no buffer wraps ring memory any more; an open pool
 * reservation goes with it. */
static void
gst_zero_sink_detach (GstZeroSink * self)
{
  GstZeroSinkConn *conn;

  g_mutex_lock (&self->lock);
  conn = self->conn;
  self->conn = NULL;
  if (conn != NULL)
    zb_writer_wake (conn->writer);      /* a reserve in the pool's acquire */
  if (self->res_id != 0) {
    self->res_id = 0;
    self->res_busy = FALSE;
  }
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);

  g_mutex_lock (&self->connect_lock);
  self->metadata_written = FALSE;
  g_mutex_unlock (&self->connect_lock);

  if (conn != NULL) {
    gint refs = g_atomic_int_get (&conn->refcount);

    if (refs > 1)
      GST_INFO_OBJECT (self, "ring %s: the writer detaches when the %d "
          "buffers or waits still using it are done",
          zb_writer_name (conn->writer), refs - 1);
    gst_zero_sink_conn_unref (conn);
  }
}

/* Called when a wait was interrupted: returns GST_FLOW_OK when the wait
 * should go on (unlock_stop came, or the pipeline is PLAYING again), or the
 * flow return (FLUSHING) that render must give back. Streaming thread, with
 * the preroll lock (render) only. */
static GstFlowReturn
gst_zero_sink_check_unlocked (GstZeroSink * self)
{
  gboolean unlocked;

  g_mutex_lock (&self->lock);
  unlocked = self->unlocked;
  g_mutex_unlock (&self->lock);
  if (!unlocked)
    return GST_FLOW_OK;
  GST_DEBUG_OBJECT (self, "unlocked: waiting for preroll");
  return gst_base_sink_wait_preroll (GST_BASE_SINK (self));
}

/* For a wait on behalf of the pool (upstream's thread, no preroll lock):
 * whether it must stop, and with which flow return. With self->lock. */
static GstFlowReturn
gst_zero_sink_pool_check_locked (GstZeroSink * self, GstBufferPool * pool,
    GstZeroSinkConn * conn)
{
  if (self->eos)
    return GST_FLOW_EOS;
  if (self->closing || GST_BUFFER_POOL_IS_FLUSHING (pool) ||
      (conn != NULL && self->conn != conn))
    return GST_FLOW_FLUSHING;
  return GST_FLOW_OK;
}

/* Connects to the ring, waiting for its reader up to connect-timeout, and
 * writes the metadata once per connection. Returns a reference to the
 * connection in *out. POOL is NULL from render (the streaming thread), or
 * the pool on whose behalf upstream's thread connects. */
static GstFlowReturn
gst_zero_sink_ensure_writer (GstZeroSink * self, GstBufferPool * pool,
    GstZeroSinkConn ** out)
{
  GstZeroSinkConn *conn;
  gchar *name;
  gint connect_timeout;
  gint64 start, deadline;
  gchar *metadata;
  const uint8_t *existing = NULL;
  uint64_t existing_size = 0;
  GstFlowReturn ret = GST_FLOW_OK;
  int rc;

  g_mutex_lock (&self->connect_lock);
  conn = gst_zero_sink_get_conn (self);
  if (conn != NULL && self->metadata_written)
    goto done;

  GST_OBJECT_LOCK (self);
  name = g_strdup (self->buffer_name);
  connect_timeout = self->connect_timeout;
  GST_OBJECT_UNLOCK (self);

  start = g_get_monotonic_time ();
  deadline = connect_timeout < 0 ? G_MAXINT64 :
      start + (gint64) connect_timeout * G_TIME_SPAN_MILLISECOND;
  while (conn == NULL) {
    zb_writer *writer = NULL;
    gint64 now;

    if (pool != NULL) {
      g_mutex_lock (&self->lock);
      ret = gst_zero_sink_pool_check_locked (self, pool, NULL);
      g_mutex_unlock (&self->lock);
      if (ret != GST_FLOW_OK)
        goto out;
    }
    rc = zb_writer_connect (&writer, name);
    if (rc == 0) {
      conn = g_new0 (GstZeroSinkConn, 1);
      conn->refcount = 2;       /* the sink's and ours */
      conn->writer = writer;
      g_mutex_lock (&self->lock);
      self->conn = conn;
      if (self->unlocked)
        zb_writer_wake (writer);        /* unlock() came before the writer */
      g_mutex_unlock (&self->lock);
      GST_INFO_OBJECT (self, "connected to ring %s after %" G_GINT64_FORMAT
          " ms; largest frame %" G_GUINT64_FORMAT " bytes", name,
          (g_get_monotonic_time () - start) / G_TIME_SPAN_MILLISECOND,
          zb_writer_max_frame_size (writer));
      break;
    }
    /* ENOENT: no ring yet, or its reader is still initialising it;
     * EREADERGONE: a stale ring, or its reader is still starting. Both: try
     * again until the deadline. */
    if (rc != ZB_ENOENT && rc != ZB_EREADERGONE) {
      if (rc == ZB_EBUSY)
        ZEROBUFFER_ELEMENT_ERROR (self, rc, name,
            ("Ring %s already has a writer; only one zerosink can write "
                "to a ring at a time", name), ("%s", zb_last_error ()));
      else
        ZEROBUFFER_ELEMENT_ERROR (self, rc, name,
            ("Could not connect to ring %s: %s", name, zb_strerror (rc)),
            ("%s", zb_last_error ()));
      ret = GST_FLOW_ERROR;
      goto out;
    }
    now = g_get_monotonic_time ();
    if (now >= deadline) {
      ZEROBUFFER_ELEMENT_ERROR (self, ZB_ENOENT, name,
          ("No reader created ring %s within %d ms", name, connect_timeout),
          ("%s (%s); a reader such as zerosrc buffer-name=%s creates "
              "it; or raise connect-timeout", zb_last_error (),
              zb_err_name (rc), name));
      ret = GST_FLOW_ERROR;
      goto out;
    }
    if (now == start || now - start < CONNECT_RETRY_US)
      GST_INFO_OBJECT (self, "waiting up to %d ms for a reader to create "
          "ring %s (%s)", connect_timeout, name, zb_err_name (rc));
    g_mutex_lock (&self->lock);
    /* render: unlock() ends the wait (then preroll decides); the pool's
     * wait goes on through pauses and ends on flushing or stop */
    if (pool != NULL || !self->unlocked)
      g_cond_wait_until (&self->cond, &self->lock,
          MIN (now + CONNECT_RETRY_US, deadline));
    g_mutex_unlock (&self->lock);
    if (pool == NULL) {
      ret = gst_zero_sink_check_unlocked (self);
      if (ret != GST_FLOW_OK)
        goto out;
    }
  }

  rc = zb_writer_metadata (conn->writer, &existing, &existing_size);
  if (rc < 0) {
    ZEROBUFFER_ELEMENT_ERROR (self, rc, name,
        ("Could not read the metadata of ring %s: %s", name,
            zb_strerror (rc)), ("%s", zb_last_error ()));
    ret = GST_FLOW_ERROR;
    goto out;
  }
  if (existing_size > 0) {
    /* a writer reconnecting: the metadata stays as the first writer wrote
     * it, so ours must mean the same (PROTOCOL.md, "Liveness and lifecycle")
     * even if its bytes differ (element name, GStreamer version) */
    if (!gst_zero_sink_check_metadata (self, name, existing, existing_size)) {
      ret = GST_FLOW_ERROR;
      goto out;
    }
  } else {
    metadata = gst_zero_sink_build_metadata (self, self->caps);
    GST_DEBUG_OBJECT (self, "metadata: %s", metadata);
    rc = zb_writer_set_metadata (conn->writer, metadata, strlen (metadata));
    g_free (metadata);
    if (rc < 0) {
      if (rc == ZB_EMETADATA)
        ZEROBUFFER_ELEMENT_ERROR (self, ZB_EMETADATA, name,
            ("Ring %s already carries the metadata of another stream; it "
                "cannot change", name), ("%s", zb_last_error ()));
      else
        ZEROBUFFER_ELEMENT_ERROR (self, rc, name,
            ("Could not write the metadata of ring %s: %s", name,
                zb_strerror (rc)), ("%s", zb_last_error ()));
      ret = GST_FLOW_ERROR;
      goto out;
    }
  }
  self->metadata_written = TRUE;
  if (self->metadata_caps == NULL && self->caps != NULL)
    self->metadata_caps = gst_caps_ref (self->caps);

out:
  g_free (name);
done:
  g_mutex_unlock (&self->connect_lock);
  if (ret != GST_FLOW_OK) {
    gst_zero_sink_conn_unref (conn);
    conn = NULL;
  }
  *out = conn;
  return ret;
}

/* Posts the error for a failed zb_writer_reserve() of a frame of SIZE bytes
 * (buffer + frame header) and returns GST_FLOW_ERROR. */
static GstFlowReturn
gst_zero_sink_reserve_error (GstZeroSink * self, zb_writer * writer, int rc,
    guint64 size, gint timeout)
{
  switch (rc) {
    case ZB_EAGAIN:            /* block with timeout=0: full for 0 ms */
    case ZB_ETIMEDOUT:
      ZEROBUFFER_ELEMENT_ERROR (self, rc, zb_writer_name (writer),
          ("Ring %s stayed full for %d ms: its reader does not read fast "
              "enough", zb_writer_name (writer), timeout),
          ("%s; raise timeout (-1 waits forever) or use policy=drop",
              zb_last_error ()));
      break;
    case ZB_EMSGSIZE:
      ZEROBUFFER_ELEMENT_ERROR (self, ZB_EMSGSIZE, zb_writer_name (writer),
          ("A frame of %" G_GUINT64_FORMAT " bytes can never fit ring %s "
              "(largest frame: %" G_GUINT64_FORMAT " bytes); the reader "
              "must create it with a payload size of at least %"
              G_GUINT64_FORMAT " bytes", size, zb_writer_name (writer),
              zb_writer_max_frame_size (writer), size + ZB_FRAME_HEADER_SIZE),
          ("%s", zb_last_error ()));
      break;
    case ZB_EREADERGONE:
      ZEROBUFFER_ELEMENT_ERROR (self, rc, zb_writer_name (writer),
          ("The reader of ring %s is gone", zb_writer_name (writer)),
          ("%s", zb_last_error ()));
      break;
    default:
      ZEROBUFFER_ELEMENT_ERROR (self, rc, zb_writer_name (writer),
          ("Could not write a frame into ring %s: %s",
              zb_writer_name (writer), zb_strerror (rc)),
          ("%s", zb_last_error ()));
      break;
  }
  return GST_FLOW_ERROR;
}

/* The per-frame header of BUFFER (PROTOCOL.md), at DST. */
static void
gst_zero_sink_write_ext (GstBuffer * buffer, guint8 * dst)
{
  zb_frame_ext ext = { 0 };

  ext.pts = GST_BUFFER_PTS_IS_VALID (buffer) ? GST_BUFFER_PTS (buffer) :
      ZB_EXT_NONE;
  ext.dts = GST_BUFFER_DTS_IS_VALID (buffer) ? GST_BUFFER_DTS (buffer) :
      ZB_EXT_NONE;
  ext.duration = GST_BUFFER_DURATION_IS_VALID (buffer) ?
      GST_BUFFER_DURATION (buffer) : ZB_EXT_NONE;
  ext.flags = GST_BUFFER_FLAGS (buffer) & ZEROBUFFER_CARRIED_FLAGS;
  ext.commit_ns = 0;            /* stamped now */
  zb_frame_ext_write (dst, &ext);
}

/* Destroy notify of a memory wrapping a reservation: a reservation that was
 * not committed is cancelled (nobody can write into it any more). */
static void
gst_zero_sink_slot_free (gpointer data)
{
  GstZeroSinkSlot *slot = data;
  GstZeroSink *self = slot->sink;

  g_mutex_lock (&self->lock);
  if (self->res_id != 0 && self->res_id == slot->id) {
    GST_LOG_OBJECT (self, "pool buffer returned without being rendered: "
        "cancelling its reservation");
    zb_writer_cancel (slot->conn->writer);
    self->res_id = 0;
    self->res_busy = FALSE;
    g_cond_broadcast (&self->cond);
  }
  g_mutex_unlock (&self->lock);
  gst_zero_sink_conn_unref (slot->conn);
  gst_object_unref (self);
  g_free (slot);
}

GstFlowReturn
gst_zero_sink_pool_reserve (GstZeroSink * self, GstBufferPool * pool,
    gsize size, GstMemory ** out)
{
  GstZeroSinkConn *conn = NULL;
  GstZeroSinkSlot *slot;
  GstZeroSinkPolicy policy;
  GstMemory *mem;
  GstFlowReturn ret;
  gint timeout;
  guint64 id;
  void *data = NULL;
  int rc;

  ret = gst_zero_sink_ensure_writer (self, pool, &conn);
  if (ret != GST_FLOW_OK)
    return ret;

  GST_OBJECT_LOCK (self);
  policy = self->policy;
  timeout = self->timeout < 0 ? ZB_WAIT_FOREVER : self->timeout;
  GST_OBJECT_UNLOCK (self);

  /* Take the ring's one reservation: it is busy while a copy is written, or
   * while an earlier pool buffer (or a copy of its memory) is still alive. */
  g_mutex_lock (&self->lock);
  while ((ret = gst_zero_sink_pool_check_locked (self, pool, conn)) ==
      GST_FLOW_OK && self->res_busy)
    g_cond_wait (&self->cond, &self->lock);
  if (ret != GST_FLOW_OK) {
    g_mutex_unlock (&self->lock);
    gst_zero_sink_conn_unref (conn);
    return ret;
  }
  self->res_busy = TRUE;
  id = ++self->next_res_id;
  g_mutex_unlock (&self->lock);

  for (;;) {
    rc = zb_writer_reserve (conn->writer, size + self->ext_size, &data,
        policy == GST_ZERO_SINK_POLICY_DROP ? 0 : timeout);
    if (rc == 0)
      break;
    if (rc == ZB_ECANCELED) {
      g_mutex_lock (&self->lock);
      ret = gst_zero_sink_pool_check_locked (self, pool, conn);
      g_mutex_unlock (&self->lock);
      if (ret == GST_FLOW_OK)
        continue;               /* a pause, or a stale wake: wait again */
      GST_DEBUG_OBJECT (self, "pool acquire interrupted: %s",
          gst_flow_get_name (ret));
    } else if (rc == ZB_EAGAIN && policy == GST_ZERO_SINK_POLICY_DROP) {
      /* render drops (or copies) this one as usual */
      GST_LOG_OBJECT (self, "ring full: a system-memory buffer instead");
      *out = gst_allocator_alloc (NULL, size, NULL);
      ret = GST_FLOW_OK;
    } else {
      ret = gst_zero_sink_reserve_error (self, conn->writer, rc,
          size + self->ext_size, timeout);
    }
    gst_zero_sink_release_reservation (self);
    gst_zero_sink_conn_unref (conn);
    return ret;
  }

  slot = g_new (GstZeroSinkSlot, 1);
  slot->sink = gst_object_ref (self);
  slot->conn = conn;            /* takes our reference */
  slot->id = id;
  slot->slot = data;
  mem = gst_memory_new_wrapped (0, slot->slot + self->ext_size, size, 0, size,
      slot, gst_zero_sink_slot_free);
  gst_mini_object_set_qdata (GST_MINI_OBJECT_CAST (mem), slot_quark, slot,
      NULL);

  g_mutex_lock (&self->lock);
  ret = gst_zero_sink_pool_check_locked (self, pool, conn);
  if (ret == GST_FLOW_OK) {
    self->res_id = id;
  } else {
    /* stopped meanwhile: nobody has seen the memory yet */
    if (self->conn == conn)
      zb_writer_cancel (conn->writer);
    self->res_busy = FALSE;
    g_cond_broadcast (&self->cond);
  }
  g_mutex_unlock (&self->lock);
  if (ret != GST_FLOW_OK) {
    gst_memory_unref (mem);
    return ret;
  }
  GST_LOG_OBJECT (self, "reservation %" G_GUINT64_FORMAT " of %"
      G_GSIZE_FORMAT " bytes handed to upstream", id, size);
  *out = mem;
  return GST_FLOW_OK;
}

void
gst_zero_sink_pool_wake (GstZeroSink * self)
{
  g_mutex_lock (&self->lock);
  if (self->conn != NULL)
    zb_writer_wake (self->conn->writer);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

/* -------------------------------------------------- init / properties */

static void
gst_zero_sink_init (GstZeroSink * self)
{
  self->buffer_name = g_strdup (DEFAULT_BUFFER_NAME);
  self->connect_timeout = DEFAULT_CONNECT_TIMEOUT;
  self->timeout = DEFAULT_TIMEOUT;
  self->policy = DEFAULT_POLICY;
  self->zero_copy = DEFAULT_ZERO_COPY;
  self->frame_header = DEFAULT_FRAME_HEADER;
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  g_mutex_init (&self->connect_lock);
  /* the last sample would keep a pool buffer, and so the ring, alive */
  gst_base_sink_set_last_sample_enabled (GST_BASE_SINK (self), FALSE);
}

static void
gst_zero_sink_finalize (GObject * object)
{
  GstZeroSink *self = GST_ZERO_SINK (object);

  gst_zero_sink_conn_unref (self->conn);
  gst_caps_replace (&self->caps, NULL);
  gst_caps_replace (&self->metadata_caps, NULL);
  g_free (self->buffer_name);
  g_free (self->camera_id);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  g_mutex_clear (&self->connect_lock);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static GstStructure *
gst_zero_sink_get_stats (GstZeroSink * self)
{
  GstStructure *s;
  gdouble utilisation = 0.0;
  zb_health health;

  g_mutex_lock (&self->lock);
  if (self->conn != NULL &&
      zb_writer_health (self->conn->writer, &health) == 0)
    utilisation = health.utilisation_percent;
  g_mutex_unlock (&self->lock);

  GST_OBJECT_LOCK (self);
  s = gst_structure_new ("application/x-zerosink-stats",
      "frames-written", G_TYPE_UINT64, self->frames_written,
      "bytes-written", G_TYPE_UINT64, self->bytes_written,
      "frames-dropped", G_TYPE_UINT64, self->frames_dropped,
      "frames-copied", G_TYPE_UINT64, self->frames_copied,
      "frames-zero-copy", G_TYPE_UINT64, self->frames_zero_copy,
      "ring-utilisation", G_TYPE_DOUBLE, utilisation, NULL);
  GST_OBJECT_UNLOCK (self);
  return s;
}

static void
gst_zero_sink_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstZeroSink *self = GST_ZERO_SINK (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_BUFFER_NAME:
      g_free (self->buffer_name);
      self->buffer_name = g_value_dup_string (value);
      break;
    case PROP_CONNECT_TIMEOUT:
      self->connect_timeout = g_value_get_int (value);
      break;
    case PROP_TIMEOUT:
      self->timeout = g_value_get_int (value);
      break;
    case PROP_POLICY:
      self->policy = g_value_get_enum (value);
      break;
    case PROP_ZERO_COPY:
      self->zero_copy = g_value_get_boolean (value);
      break;
    case PROP_FRAME_HEADER:
      self->frame_header = g_value_get_boolean (value);
      break;
    case PROP_CAMERA_ID:
      g_free (self->camera_id);
      self->camera_id = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_zero_sink_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstZeroSink *self = GST_ZERO_SINK (object);

  if (prop_id == PROP_STATS) {
    g_value_take_boxed (value, gst_zero_sink_get_stats (self));
    return;
  }
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_BUFFER_NAME:
      g_value_set_string (value, self->buffer_name);
      break;
    case PROP_CONNECT_TIMEOUT:
      g_value_set_int (value, self->connect_timeout);
      break;
    case PROP_TIMEOUT:
      g_value_set_int (value, self->timeout);
      break;
    case PROP_POLICY:
      g_value_set_enum (value, self->policy);
      break;
    case PROP_ZERO_COPY:
      g_value_set_boolean (value, self->zero_copy);
      break;
    case PROP_FRAME_HEADER:
      g_value_set_boolean (value, self->frame_header);
      break;
    case PROP_CAMERA_ID:
      g_value_set_string (value, self->camera_id);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* ------------------------------------------------------------- vfuncs */

static gboolean
gst_zero_sink_start (GstBaseSink * bsink)
{
  GstZeroSink *self = GST_ZERO_SINK (bsink);
  gchar *name;

  GST_OBJECT_LOCK (self);
  name = g_strdup (self->buffer_name);
  GST_OBJECT_UNLOCK (self);

  if (name == NULL || name[0] == '\0') {
    ZEROBUFFER_ELEMENT_ERROR (self, ZB_ENAME, NULL,
        ("No ring name given: set the buffer-name property"),
        ("buffer-name is required"));
    g_free (name);
    return FALSE;
  }
  if (zb_validate_name (name) < 0) {
    ZEROBUFFER_ELEMENT_ERROR (self, ZB_ENAME, name,
        ("Invalid ring name \"%s\"", name), ("%s", zb_last_error ()));
    g_free (name);
    return FALSE;
  }
  g_free (name);

  g_mutex_lock (&self->connect_lock);
  self->metadata_written = FALSE;
  gst_caps_replace (&self->caps, NULL);
  gst_caps_replace (&self->metadata_caps, NULL);
  g_mutex_unlock (&self->connect_lock);
  g_mutex_lock (&self->lock);
  self->closing = FALSE;
  self->eos = FALSE;
  g_mutex_unlock (&self->lock);
  GST_OBJECT_LOCK (self);
  self->ext_size = self->frame_header ? ZB_EXT_HEADER_SIZE : 0;
  self->frames_written = self->bytes_written = self->frames_dropped = 0;
  self->frames_copied = self->frames_zero_copy = 0;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean
gst_zero_sink_stop (GstBaseSink * bsink)
{
  GstZeroSink *self = GST_ZERO_SINK (bsink);

  /* upstream may still be in the pool's acquire: from now on it gets
   * FLUSHING, and never connects again until start() */
  g_mutex_lock (&self->lock);
  self->closing = TRUE;
  g_mutex_unlock (&self->lock);
  gst_zero_sink_detach (self);
  GST_OBJECT_LOCK (self);
  GST_INFO_OBJECT (self, "stopped: %" G_GUINT64_FORMAT " frames, %"
      G_GUINT64_FORMAT " bytes written (%" G_GUINT64_FORMAT " zero-copy, %"
      G_GUINT64_FORMAT " copied), %" G_GUINT64_FORMAT " dropped",
      self->frames_written, self->bytes_written, self->frames_zero_copy,
      self->frames_copied, self->frames_dropped);
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean
gst_zero_sink_set_caps (GstBaseSink * bsink, GstCaps * caps)
{
  GstZeroSink *self = GST_ZERO_SINK (bsink);

  g_mutex_lock (&self->connect_lock);
  if (self->metadata_caps != NULL &&
      !gst_caps_is_equal (caps, self->metadata_caps)) {
    gchar *old_caps = gst_caps_to_string (self->metadata_caps);
    gchar *new_caps = gst_caps_to_string (caps);
    gchar *ring;

    GST_OBJECT_LOCK (self);
    ring = g_strdup (self->buffer_name);
    GST_OBJECT_UNLOCK (self);
    ZEROBUFFER_ELEMENT_ERROR (self, ZB_EMETADATA, ring,
        ("Caps cannot change after the first frame: the ring's metadata "
            "says %s, upstream now sends %s", old_caps, new_caps),
        ("the metadata of a ZeroBuffer ring is written once; restart both "
            "sides to change the format"));
    g_free (ring);
    g_free (old_caps);
    g_free (new_caps);
    g_mutex_unlock (&self->connect_lock);
    return FALSE;
  }
  GST_DEBUG_OBJECT (self, "caps %" GST_PTR_FORMAT, caps);
  gst_caps_replace (&self->caps, caps);
  g_mutex_unlock (&self->connect_lock);
  return TRUE;
}

static gboolean
gst_zero_sink_event (GstBaseSink * bsink, GstEvent * event)
{
  GstZeroSink *self = GST_ZERO_SINK (bsink);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_EOS:
      g_mutex_lock (&self->lock);
      self->eos = TRUE;         /* the pool hands out no more buffers */
      g_mutex_unlock (&self->lock);
      gst_zero_sink_detach (self);      /* the reader sees end of stream */
      break;
    case GST_EVENT_FLUSH_STOP:
      g_mutex_lock (&self->lock);
      self->eos = FALSE;
      g_mutex_unlock (&self->lock);
      break;
    default:
      break;
  }
  return GST_BASE_SINK_CLASS (parent_class)->event (bsink, event);
}

/* Offers the pool of ring reservations for raw video of a fixed frame size
 * in system memory; anything else gets no pool and is copied. No video meta:
 * upstream keeps the default strides, so the frame bytes are exactly what
 * the copy path would write. */
static gboolean
gst_zero_sink_propose_allocation (GstBaseSink * bsink, GstQuery * query)
{
  GstZeroSink *self = GST_ZERO_SINK (bsink);
  GstCaps *caps = NULL;
  gboolean need_pool = FALSE, zero_copy;
  GstCapsFeatures *features;
  GstBufferPool *pool;
  GstStructure *config;
  GstVideoInfo info;

  GST_OBJECT_LOCK (self);
  zero_copy = self->zero_copy;
  GST_OBJECT_UNLOCK (self);
  gst_query_parse_allocation (query, &caps, &need_pool);
  if (!zero_copy || caps == NULL || gst_caps_get_size (caps) != 1) {
    GST_DEBUG_OBJECT (self, "no pool: zero-copy=%d, caps %" GST_PTR_FORMAT,
        zero_copy, caps);
    return TRUE;
  }
  features = gst_caps_get_features (caps, 0);
  if ((features != NULL && !gst_caps_features_is_equal (features,
              GST_CAPS_FEATURES_MEMORY_SYSTEM_MEMORY)) ||
      !gst_video_info_from_caps (&info, caps) ||
      GST_VIDEO_INFO_SIZE (&info) == 0) {
    GST_DEBUG_OBJECT (self, "no pool for caps %" GST_PTR_FORMAT
        " (not raw video of a fixed size): buffers are copied", caps);
    return TRUE;
  }

  pool = gst_zero_sink_pool_new (self);
  config = gst_buffer_pool_get_config (pool);
  gst_buffer_pool_config_set_params (config, caps,
      (guint) GST_VIDEO_INFO_SIZE (&info), 0, 1);
  if (!gst_buffer_pool_set_config (pool, config)) {
    GST_WARNING_OBJECT (self, "could not configure the pool");
    gst_object_unref (pool);
    return TRUE;
  }
  GST_DEBUG_OBJECT (self, "offering the ring pool: frames of %"
      G_GSIZE_FORMAT " bytes, one buffer at a time",
      GST_VIDEO_INFO_SIZE (&info));
  gst_query_add_allocation_pool (query, pool,
      (guint) GST_VIDEO_INFO_SIZE (&info), 0, 1);
  gst_object_unref (pool);
  return TRUE;
}

/* The reservation BUFFER's memory wraps, when it is the open one. */
static GstZeroSinkSlot *
gst_zero_sink_buffer_slot (GstZeroSink * self, GstBuffer * buffer, guint idx)
{
  GstMemory *mem = gst_buffer_peek_memory (buffer, idx);
  GstZeroSinkSlot *slot = gst_mini_object_get_qdata (GST_MINI_OBJECT_CAST
      (mem), slot_quark);

  if (slot == NULL || slot->sink != self || slot->id != self->res_id)
    return NULL;
  return slot;
}

/* Zero copy: BUFFER is the pool buffer of the open reservation; upstream
 * wrote the frame in place, so commit it. FALSE when it is not. */
static gboolean
gst_zero_sink_commit_slot (GstZeroSink * self, GstBuffer * buffer, gsize size,
    GstFlowReturn * ret)
{
  GstZeroSinkSlot *slot;
  GstMemory *mem;
  gsize offset = 0, maxsize;
  gboolean moved = FALSE;
  guint8 *data;
  int rc;

  if (gst_buffer_n_memory (buffer) != 1)
    return FALSE;
  g_mutex_lock (&self->lock);
  slot = self->res_id ? gst_zero_sink_buffer_slot (self, buffer, 0) : NULL;
  if (slot == NULL || slot->conn != self->conn) {
    g_mutex_unlock (&self->lock);
    return FALSE;
  }
  mem = gst_buffer_peek_memory (buffer, 0);
  gst_memory_get_sizes (mem, &offset, &maxsize);
  data = slot->slot + self->ext_size;
  if (offset != 0) {            /* upstream trimmed the front */
    memmove (data, data + offset, size);
    moved = TRUE;
  }
  if (self->ext_size > 0)
    gst_zero_sink_write_ext (buffer, slot->slot);
  rc = zb_writer_commit (slot->conn->writer, size + self->ext_size);
  self->res_id = 0;
  self->res_busy = FALSE;
  g_cond_broadcast (&self->cond);
  if (rc < 0) {
    g_mutex_unlock (&self->lock);
    ZEROBUFFER_ELEMENT_ERROR (self, rc, zb_writer_name (slot->conn->writer),
        ("Could not commit a frame into ring %s: %s",
            zb_writer_name (slot->conn->writer), zb_strerror (rc)),
        ("%s", zb_last_error ()));
    *ret = GST_FLOW_ERROR;
    return TRUE;
  }
  g_mutex_unlock (&self->lock);

  GST_OBJECT_LOCK (self);
  self->frames_written++;
  self->bytes_written += size;
  if (moved)
    self->frames_copied++;
  else
    self->frames_zero_copy++;
  GST_OBJECT_UNLOCK (self);
  GST_LOG_OBJECT (self, "committed a frame of %" G_GSIZE_FORMAT " bytes "
      "written in place", size);
  *ret = GST_FLOW_OK;
  return TRUE;
}

/* Copy path: takes the ring's one reservation, waiting (up to timeout, or
 * until unlock()) for a pool buffer that upstream still holds. */
static GstFlowReturn
gst_zero_sink_take_reservation (GstZeroSink * self, GstBuffer * buffer,
    gint timeout)
{
  gint64 deadline = timeout < 0 ? G_MAXINT64 :
      g_get_monotonic_time () + (gint64) timeout * G_TIME_SPAN_MILLISECOND;
  GstFlowReturn ret;
  guint i;

  g_mutex_lock (&self->lock);
  while (self->res_busy) {
    if (self->res_id != 0) {
      for (i = 0; i < gst_buffer_n_memory (buffer); i++) {
        if (gst_zero_sink_buffer_slot (self, buffer, i) != NULL) {
          g_mutex_unlock (&self->lock);
          ZEROBUFFER_ELEMENT_ERROR (self, ZB_EINVAL, NULL,
              ("A buffer joins zerosink's ring memory with other memory, "
                  "so it cannot be written in place"),
              ("set zero-copy=false on zerosink for this upstream"));
          return GST_FLOW_ERROR;
        }
      }
    }
    if (self->unlocked) {
      g_mutex_unlock (&self->lock);
      ret = gst_zero_sink_check_unlocked (self);
      if (ret != GST_FLOW_OK)
        return ret;
      g_mutex_lock (&self->lock);
      continue;
    }
    GST_LOG_OBJECT (self, "waiting for upstream to return the pool buffer");
    if (!g_cond_wait_until (&self->cond, &self->lock, deadline) &&
        self->res_busy && !self->unlocked) {
      g_mutex_unlock (&self->lock);
      ZEROBUFFER_ELEMENT_ERROR (self, ZB_EINVAL, NULL,
          ("Upstream held zerosink's pool buffer for %d ms while pushing "
              "other buffers; the ring has room for one such buffer at a "
              "time", timeout),
          ("set zero-copy=false on zerosink, or raise timeout"));
      return GST_FLOW_ERROR;
    }
  }
  self->res_busy = TRUE;
  g_mutex_unlock (&self->lock);
  return GST_FLOW_OK;
}

static GstFlowReturn
gst_zero_sink_render (GstBaseSink * bsink, GstBuffer * buffer)
{
  GstZeroSink *self = GST_ZERO_SINK (bsink);
  gsize size = gst_buffer_get_size (buffer);
  gsize frame_size = size + self->ext_size;
  GstZeroSinkConn *conn = NULL;
  GstZeroSinkPolicy policy;
  gint timeout;
  GstFlowReturn ret;
  guint8 *data = NULL;
  int rc;

  if (size == 0) {
    /* a pool buffer emptied by upstream: its reservation is cancelled
     * when the buffer returns to the pool */
    GST_DEBUG_OBJECT (self, "skipping an empty buffer (the protocol has no "
        "empty frames)");
    return GST_FLOW_OK;
  }
  ret = gst_zero_sink_ensure_writer (self, NULL, &conn);
  if (ret != GST_FLOW_OK)
    return ret;
  if (gst_zero_sink_commit_slot (self, buffer, size, &ret))
    goto done;

  GST_OBJECT_LOCK (self);
  policy = self->policy;
  timeout = self->timeout < 0 ? ZB_WAIT_FOREVER : self->timeout;
  GST_OBJECT_UNLOCK (self);

  ret = gst_zero_sink_take_reservation (self, buffer, timeout);
  if (ret != GST_FLOW_OK)
    goto done;
  for (;;) {
    rc = zb_writer_reserve (conn->writer, frame_size, (void **) &data,
        policy == GST_ZERO_SINK_POLICY_DROP ? 0 : timeout);
    if (rc == 0)
      break;
    if (rc == ZB_EAGAIN && policy == GST_ZERO_SINK_POLICY_DROP) {
      GST_OBJECT_LOCK (self);
      self->frames_dropped++;
      GST_OBJECT_UNLOCK (self);
      GST_LOG_OBJECT (self, "ring full: dropped a buffer of %"
          G_GSIZE_FORMAT " bytes", size);
      ret = GST_FLOW_OK;
      goto release;
    }
    if (rc == ZB_ECANCELED) {
      ret = gst_zero_sink_check_unlocked (self);
      if (ret != GST_FLOW_OK)
        goto release;
      continue;                 /* still running: wait again */
    }
    ret = gst_zero_sink_reserve_error (self, conn->writer, rc, frame_size,
        timeout);
    goto release;
  }

  /* One copy into the ring; multi-memory buffers become one frame. */
  if (self->ext_size > 0)
    gst_zero_sink_write_ext (buffer, data);
  gst_buffer_extract (buffer, 0, data + self->ext_size, size);
  rc = zb_writer_commit (conn->writer, frame_size);
  if (rc < 0) {
    ZEROBUFFER_ELEMENT_ERROR (self, rc, zb_writer_name (conn->writer),
        ("Could not commit a frame into ring %s: %s",
            zb_writer_name (conn->writer), zb_strerror (rc)),
        ("%s", zb_last_error ()));
    ret = GST_FLOW_ERROR;
    goto release;
  }
  GST_OBJECT_LOCK (self);
  self->frames_written++;
  self->bytes_written += size;
  self->frames_copied++;
  GST_OBJECT_UNLOCK (self);
  GST_LOG_OBJECT (self, "wrote a frame of %" G_GSIZE_FORMAT " bytes", size);
  ret = GST_FLOW_OK;

release:
  gst_zero_sink_release_reservation (self);
done:
  gst_zero_sink_conn_unref (conn);
  return ret;
}

static gboolean
gst_zero_sink_unlock (GstBaseSink * bsink)
{
  GstZeroSink *self = GST_ZERO_SINK (bsink);

  GST_DEBUG_OBJECT (self, "unlock");
  g_mutex_lock (&self->lock);
  self->unlocked = TRUE;
  if (self->conn != NULL)
    zb_writer_wake (self->conn->writer);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static gboolean
gst_zero_sink_unlock_stop (GstBaseSink * bsink)
{
  GstZeroSink *self = GST_ZERO_SINK (bsink);

  GST_DEBUG_OBJECT (self, "unlock_stop");
  g_mutex_lock (&self->lock);
  self->unlocked = FALSE;
  g_mutex_unlock (&self->lock);
  return TRUE;
}

/* Before its EOS, zerosink tells how many frames reached the ring, in an
 * INFO message: details are the stats structure, and the debug text (which
 * gst-launch prints) is zerobuffer_stats_line(), so a supervisor that only
 * sees gst-launch's output can count frames too. (Its errors carry the same
 * line: zerobuffer_post_message.) */
static gboolean
gst_zero_sink_post_message (GstElement * element, GstMessage * message)
{
  GstZeroSink *self = GST_ZERO_SINK (element);

  if (GST_MESSAGE_SRC (message) == GST_OBJECT_CAST (self) &&
      GST_MESSAGE_TYPE (message) == GST_MESSAGE_EOS) {
    GstStructure *stats = gst_zero_sink_get_stats (self);
    guint64 written = 0;
    gchar *name, *text;

    gst_structure_get_uint64 (stats, "frames-written", &written);
    GST_OBJECT_LOCK (self);
    name = g_strdup (self->buffer_name);
    GST_OBJECT_UNLOCK (self);
    text = g_strdup_printf ("Wrote %" G_GUINT64_FORMAT " frames into ring %s",
        written, name ? name : "(none)");
    g_free (name);
    gst_element_message_full_with_details (element, GST_MESSAGE_INFO,
        GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_WRITE, text,
        zerobuffer_stats_line (stats), __FILE__, GST_FUNCTION, __LINE__,
        stats);
  }
  return GST_ELEMENT_CLASS (parent_class)->post_message (element, message);
}

static void
gst_zero_sink_class_init (GstZeroSinkClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *basesink_class = GST_BASE_SINK_CLASS (klass);

  zerobuffer_element_init (NULL);
  slot_quark = g_quark_from_static_string ("GstZeroSinkSlot");

  gobject_class->set_property = gst_zero_sink_set_property;
  gobject_class->get_property = gst_zero_sink_get_property;
  gobject_class->finalize = gst_zero_sink_finalize;

  g_object_class_install_property (gobject_class, PROP_BUFFER_NAME,
      g_param_spec_string ("buffer-name", "Buffer name",
          "Name of the ring to write into (required), as given to the "
          "reader that creates it (e.g. zerosrc buffer-name); no '/'",
          DEFAULT_BUFFER_NAME,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_CONNECT_TIMEOUT,
      g_param_spec_int ("connect-timeout", "Connect timeout",
          "How long to wait for a reader to create the ring, in "
          "milliseconds (0 = do not wait, -1 = wait forever)", -1, G_MAXINT,
          DEFAULT_CONNECT_TIMEOUT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_TIMEOUT,
      g_param_spec_int ("timeout", "Timeout",
          "How long to wait for space in a full ring with policy=block, in "
          "milliseconds, before posting an error (-1 = wait forever; a "
          "reader that is gone is reported at once either way)", -1,
          G_MAXINT, DEFAULT_TIMEOUT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_POLICY,
      g_param_spec_enum ("policy", "Policy",
          "What to do when the ring is full: block (wait up to timeout) or "
          "drop (drop the buffer and count it in stats)",
          GST_TYPE_ZERO_SINK_POLICY, DEFAULT_POLICY,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_ZERO_COPY,
      g_param_spec_boolean ("zero-copy", "Zero copy",
          "Offer upstream a buffer pool whose buffers live in the ring, so "
          "raw video of a fixed frame size is written in place and only "
          "committed (counted as frames-zero-copy); false copies every "
          "buffer once (frames-copied). Default: true", DEFAULT_ZERO_COPY,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_FRAME_HEADER,
      g_param_spec_boolean ("frame-header", "Frame header",
          "Start every frame with a 48-byte header carrying the buffer's "
          "PTS, DTS, duration, flags and commit time, declared in the "
          "metadata as \"zerobuffer\":{\"frame_header\":1}. Only for zerosrc "
          "and the zerobuffer Node reader: other ZeroBuffer readers would "
          "misread the frames. Default: false (raw buffer bytes only)",
          DEFAULT_FRAME_HEADER,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_CAMERA_ID,
      g_param_spec_string ("camera-id", "Camera id",
          "Written into the metadata next to the caps as \"camera_id\", so "
          "readers know which camera the frames come from (the Node "
          "reader's frame.imageMeta.camera_id). Default: none (no key)",
          DEFAULT_CAMERA_ID,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "Counters since start: frames-written, bytes-written, "
          "frames-dropped, frames-copied, frames-zero-copy (guint64) and "
          "ring-utilisation (gdouble, percent of the ring in use, 0 when "
          "not connected)", GST_TYPE_STRUCTURE,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_set_static_metadata (element_class,
      "ZeroBuffer sink", "Sink/Video",
      "Writes buffers as frames into a ZeroBuffer v1.0 shared-memory ring "
      "created by a reader", "zerobuffer");

  element_class->post_message =
      GST_DEBUG_FUNCPTR (gst_zero_sink_post_message);

  basesink_class->start = GST_DEBUG_FUNCPTR (gst_zero_sink_start);
  basesink_class->stop = GST_DEBUG_FUNCPTR (gst_zero_sink_stop);
  basesink_class->get_caps = GST_DEBUG_FUNCPTR (gst_zero_sink_get_caps);
  basesink_class->set_caps = GST_DEBUG_FUNCPTR (gst_zero_sink_set_caps);
  basesink_class->event = GST_DEBUG_FUNCPTR (gst_zero_sink_event);
  basesink_class->render = GST_DEBUG_FUNCPTR (gst_zero_sink_render);
  basesink_class->propose_allocation =
      GST_DEBUG_FUNCPTR (gst_zero_sink_propose_allocation);
  basesink_class->unlock = GST_DEBUG_FUNCPTR (gst_zero_sink_unlock);
  basesink_class->unlock_stop = GST_DEBUG_FUNCPTR (gst_zero_sink_unlock_stop);

  gst_type_mark_as_plugin_api (GST_TYPE_ZERO_SINK_POLICY, 0);
}

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
 * ## Example launch lines
 * |[
 * gst-launch-1.0 -e zerosrc buffer-name=cam0 ! videoconvert ! autovideosink
 * ]|
 * |[
 * gst-launch-1.0 -e videotestsrc ! video/x-raw,format=RGB,width=640,height=480 ! zerosink buffer-name=cam0
 * ]|
 * Either pipeline can start first: zerosink waits for the ring.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>
#include <gst/base/gstbasesink.h>

#include "gstzerobufferelements.h"
#include "zerobuffer.h"

#define GST_CAT_DEFAULT gst_zerobuffer_debug

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS_ANY);

#define GST_TYPE_ZERO_SINK (gst_zero_sink_get_type ())
G_DECLARE_FINAL_TYPE (GstZeroSink, gst_zero_sink, GST, ZERO_SINK, GstBaseSink);

typedef enum
{
  GST_ZERO_SINK_POLICY_BLOCK,
  GST_ZERO_SINK_POLICY_DROP,
} GstZeroSinkPolicy;

#define GST_TYPE_ZERO_SINK_POLICY (gst_zero_sink_policy_get_type ())
static GType gst_zero_sink_policy_get_type (void);

struct _GstZeroSink
{
  GstBaseSink parent;

  /* properties, under the object lock */
  gchar *buffer_name;
  gint connect_timeout;
  gint timeout;
  GstZeroSinkPolicy policy;

  /* `lock` guards `writer` (set and cleared by the streaming thread, woken
   * and read by unlock() and the stats) and `unlocked`; `cond` breaks the
   * wait for the reader. */
  GMutex lock;
  GCond cond;
  zb_writer *writer;
  gboolean unlocked;

  /* streaming thread only */
  gboolean metadata_written;    /* for the current writer connection */
  GstCaps *caps;                /* the latest caps from set_caps */
  GstCaps *metadata_caps;       /* the caps written into the metadata */

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

/* How often a missing ring is looked for again while connecting. */
#define CONNECT_RETRY_US (20 * G_TIME_SPAN_MILLISECOND)

enum
{
  PROP_0,
  PROP_BUFFER_NAME,
  PROP_CONNECT_TIMEOUT,
  PROP_TIMEOUT,
  PROP_POLICY,
  PROP_STATS,
};

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

/* The metadata JSON: the convention of existing GStreamer integrations
 * (PROTOCOL.md), so that every ZeroBuffer reader learns the caps. */
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
  GST_OBJECT_UNLOCK (self);
  g_string_append_c (json, '}');
  return g_string_free (json, FALSE);
}

/* Detaches from the ring (the reader sees end of stream after draining). */
static void
gst_zero_sink_detach (GstZeroSink * self)
{
  zb_writer *writer;

  g_mutex_lock (&self->lock);
  writer = self->writer;
  self->writer = NULL;
  g_mutex_unlock (&self->lock);
  if (writer != NULL) {
    GST_INFO_OBJECT (self, "detaching from ring %s", zb_writer_name (writer));
    zb_writer_destroy (writer);
  }
  self->metadata_written = FALSE;
}

/* Called when a wait was interrupted: returns GST_FLOW_OK when the wait
 * should go on (unlock_stop came, or the pipeline is PLAYING again), or the
 * flow return (FLUSHING) that render must give back. */
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

/* Connects to the ring, waiting for its reader up to connect-timeout, and
 * writes the metadata once per connection. */
static GstFlowReturn
gst_zero_sink_ensure_writer (GstZeroSink * self)
{
  gchar *name;
  gint connect_timeout;
  gint64 start, deadline;
  gchar *metadata;
  int rc;

  if (self->writer != NULL && self->metadata_written)
    return GST_FLOW_OK;

  GST_OBJECT_LOCK (self);
  name = g_strdup (self->buffer_name);
  connect_timeout = self->connect_timeout;
  GST_OBJECT_UNLOCK (self);

  start = g_get_monotonic_time ();
  deadline = connect_timeout < 0 ? G_MAXINT64 :
      start + (gint64) connect_timeout * G_TIME_SPAN_MILLISECOND;
  while (self->writer == NULL) {
    zb_writer *writer = NULL;
    GstFlowReturn ret;
    gint64 now;

    rc = zb_writer_connect (&writer, name);
    if (rc == 0) {
      g_mutex_lock (&self->lock);
      self->writer = writer;
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
        GST_ELEMENT_ERROR (self, RESOURCE, BUSY,
            ("Ring %s already has a writer; only one zerosink can write "
                "to a ring at a time", name), ("%s", zb_last_error ()));
      else
        GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
            ("Could not connect to ring %s: %s", name, zb_strerror (rc)),
            ("%s (%s)", zb_last_error (), zb_err_name (rc)));
      g_free (name);
      return GST_FLOW_ERROR;
    }
    now = g_get_monotonic_time ();
    if (now >= deadline) {
      GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
          ("No reader created ring %s within %d ms", name, connect_timeout),
          ("%s (%s); start the reader first (e.g. zerosrc buffer-name=%s) "
              "or raise connect-timeout", zb_last_error (), zb_err_name (rc),
              name));
      g_free (name);
      return GST_FLOW_ERROR;
    }
    if (now == start || now - start < CONNECT_RETRY_US)
      GST_INFO_OBJECT (self, "waiting up to %d ms for a reader to create "
          "ring %s (%s)", connect_timeout, name, zb_err_name (rc));
    g_mutex_lock (&self->lock);
    if (!self->unlocked)
      g_cond_wait_until (&self->cond, &self->lock,
          MIN (now + CONNECT_RETRY_US, deadline));
    g_mutex_unlock (&self->lock);
    ret = gst_zero_sink_check_unlocked (self);
    if (ret != GST_FLOW_OK) {
      g_free (name);
      return ret;
    }
  }

  metadata = gst_zero_sink_build_metadata (self, self->caps);
  GST_DEBUG_OBJECT (self, "metadata: %s", metadata);
  rc = zb_writer_set_metadata (self->writer, metadata, strlen (metadata));
  g_free (metadata);
  if (rc < 0) {
    if (rc == ZB_EMETADATA)
      GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
          ("Ring %s already carries the metadata of another stream "
              "(different caps); it cannot change", name),
          ("%s", zb_last_error ()));
    else
      GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
          ("Could not write the metadata of ring %s: %s", name,
              zb_strerror (rc)), ("%s (%s)", zb_last_error (),
              zb_err_name (rc)));
    g_free (name);
    return GST_FLOW_ERROR;
  }
  self->metadata_written = TRUE;
  if (self->metadata_caps == NULL && self->caps != NULL)
    self->metadata_caps = gst_caps_ref (self->caps);
  g_free (name);
  return GST_FLOW_OK;
}

/* -------------------------------------------------- init / properties */

static void
gst_zero_sink_init (GstZeroSink * self)
{
  self->buffer_name = g_strdup (DEFAULT_BUFFER_NAME);
  self->connect_timeout = DEFAULT_CONNECT_TIMEOUT;
  self->timeout = DEFAULT_TIMEOUT;
  self->policy = DEFAULT_POLICY;
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
}

static void
gst_zero_sink_finalize (GObject * object)
{
  GstZeroSink *self = GST_ZERO_SINK (object);

  zb_writer_destroy (self->writer);
  gst_caps_replace (&self->caps, NULL);
  gst_caps_replace (&self->metadata_caps, NULL);
  g_free (self->buffer_name);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static GstStructure *
gst_zero_sink_get_stats (GstZeroSink * self)
{
  GstStructure *s;
  gdouble utilisation = 0.0;
  zb_health health;

  g_mutex_lock (&self->lock);
  if (self->writer != NULL && zb_writer_health (self->writer, &health) == 0)
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
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("No ring name given: set the buffer-name property"),
        ("buffer-name is required"));
    g_free (name);
    return FALSE;
  }
  if (zb_validate_name (name) < 0) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Invalid ring name \"%s\"", name), ("%s", zb_last_error ()));
    g_free (name);
    return FALSE;
  }
  g_free (name);

  self->metadata_written = FALSE;
  gst_caps_replace (&self->caps, NULL);
  gst_caps_replace (&self->metadata_caps, NULL);
  GST_OBJECT_LOCK (self);
  self->frames_written = self->bytes_written = self->frames_dropped = 0;
  self->frames_copied = self->frames_zero_copy = 0;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean
gst_zero_sink_stop (GstBaseSink * bsink)
{
  GstZeroSink *self = GST_ZERO_SINK (bsink);

  gst_zero_sink_detach (self);
  GST_OBJECT_LOCK (self);
  GST_INFO_OBJECT (self, "stopped: %" G_GUINT64_FORMAT " frames, %"
      G_GUINT64_FORMAT " bytes written, %" G_GUINT64_FORMAT " dropped",
      self->frames_written, self->bytes_written, self->frames_dropped);
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean
gst_zero_sink_set_caps (GstBaseSink * bsink, GstCaps * caps)
{
  GstZeroSink *self = GST_ZERO_SINK (bsink);

  if (self->metadata_caps != NULL &&
      !gst_caps_is_equal (caps, self->metadata_caps)) {
    gchar *old_caps = gst_caps_to_string (self->metadata_caps);
    gchar *new_caps = gst_caps_to_string (caps);

    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        ("Caps cannot change after the first frame: the ring's metadata "
            "says %s, upstream now sends %s", old_caps, new_caps),
        ("the metadata of a ZeroBuffer ring is written once; restart both "
            "sides to change the format"));
    g_free (old_caps);
    g_free (new_caps);
    return FALSE;
  }
  GST_DEBUG_OBJECT (self, "caps %" GST_PTR_FORMAT, caps);
  gst_caps_replace (&self->caps, caps);
  return TRUE;
}

static gboolean
gst_zero_sink_event (GstBaseSink * bsink, GstEvent * event)
{
  GstZeroSink *self = GST_ZERO_SINK (bsink);

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS)
    gst_zero_sink_detach (self);        /* the reader sees end of stream */
  return GST_BASE_SINK_CLASS (parent_class)->event (bsink, event);
}

static GstFlowReturn
gst_zero_sink_render (GstBaseSink * bsink, GstBuffer * buffer)
{
  GstZeroSink *self = GST_ZERO_SINK (bsink);
  gsize size = gst_buffer_get_size (buffer);
  GstZeroSinkPolicy policy;
  gint timeout;
  GstFlowReturn ret;
  void *data = NULL;
  int rc;

  if (size == 0) {
    GST_DEBUG_OBJECT (self, "skipping an empty buffer (the protocol has no "
        "empty frames)");
    return GST_FLOW_OK;
  }
  ret = gst_zero_sink_ensure_writer (self);
  if (ret != GST_FLOW_OK)
    return ret;

  GST_OBJECT_LOCK (self);
  policy = self->policy;
  timeout = self->timeout < 0 ? ZB_WAIT_FOREVER : self->timeout;
  GST_OBJECT_UNLOCK (self);

  for (;;) {
    rc = zb_writer_reserve (self->writer, size, &data,
        policy == GST_ZERO_SINK_POLICY_DROP ? 0 : timeout);
    if (rc == 0)
      break;
    switch (rc) {
      case ZB_EAGAIN:
        if (policy == GST_ZERO_SINK_POLICY_DROP) {
          GST_OBJECT_LOCK (self);
          self->frames_dropped++;
          GST_OBJECT_UNLOCK (self);
          GST_LOG_OBJECT (self, "ring full: dropped a buffer of %"
              G_GSIZE_FORMAT " bytes", size);
          return GST_FLOW_OK;
        }
        /* block with timeout=0: the ring stayed full for 0 ms */
        /* fall through */
      case ZB_ETIMEDOUT:
        GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
            ("Ring %s stayed full for %d ms: its reader does not read fast "
                "enough", zb_writer_name (self->writer), timeout),
            ("%s; raise timeout (-1 waits forever) or use policy=drop",
                zb_last_error ()));
        return GST_FLOW_ERROR;
      case ZB_ECANCELED:
        ret = gst_zero_sink_check_unlocked (self);
        if (ret != GST_FLOW_OK)
          return ret;
        break;                  /* still running: wait again */
      case ZB_EMSGSIZE:
        GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
            ("A frame of %" G_GSIZE_FORMAT " bytes can never fit ring %s "
                "(largest frame: %" G_GUINT64_FORMAT " bytes); the reader "
                "must create it with a payload size of at least %"
                G_GUINT64_FORMAT " bytes", size, zb_writer_name (self->writer),
                zb_writer_max_frame_size (self->writer),
                (guint64) size + ZB_FRAME_HEADER_SIZE),
            ("%s", zb_last_error ()));
        return GST_FLOW_ERROR;
      case ZB_EREADERGONE:
        GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
            ("The reader of ring %s is gone", zb_writer_name (self->writer)),
            ("%s", zb_last_error ()));
        return GST_FLOW_ERROR;
      default:
        GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
            ("Could not write a frame into ring %s: %s",
                zb_writer_name (self->writer), zb_strerror (rc)),
            ("%s (%s)", zb_last_error (), zb_err_name (rc)));
        return GST_FLOW_ERROR;
    }
  }

  /* One copy into the ring; multi-memory buffers become one frame. */
  gst_buffer_extract (buffer, 0, data, size);
  rc = zb_writer_commit (self->writer, size);
  if (rc < 0) {
    GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
        ("Could not commit a frame into ring %s: %s",
            zb_writer_name (self->writer), zb_strerror (rc)),
        ("%s (%s)", zb_last_error (), zb_err_name (rc)));
    return GST_FLOW_ERROR;
  }
  GST_OBJECT_LOCK (self);
  self->frames_written++;
  self->bytes_written += size;
  self->frames_copied++;
  GST_OBJECT_UNLOCK (self);
  GST_LOG_OBJECT (self, "wrote a frame of %" G_GSIZE_FORMAT " bytes", size);
  return GST_FLOW_OK;
}

static gboolean
gst_zero_sink_unlock (GstBaseSink * bsink)
{
  GstZeroSink *self = GST_ZERO_SINK (bsink);

  GST_DEBUG_OBJECT (self, "unlock");
  g_mutex_lock (&self->lock);
  self->unlocked = TRUE;
  if (self->writer != NULL)
    zb_writer_wake (self->writer);
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

static void
gst_zero_sink_class_init (GstZeroSinkClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *basesink_class = GST_BASE_SINK_CLASS (klass);

  zerobuffer_element_init (NULL);

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

  basesink_class->start = GST_DEBUG_FUNCPTR (gst_zero_sink_start);
  basesink_class->stop = GST_DEBUG_FUNCPTR (gst_zero_sink_stop);
  basesink_class->set_caps = GST_DEBUG_FUNCPTR (gst_zero_sink_set_caps);
  basesink_class->event = GST_DEBUG_FUNCPTR (gst_zero_sink_event);
  basesink_class->render = GST_DEBUG_FUNCPTR (gst_zero_sink_render);
  basesink_class->unlock = GST_DEBUG_FUNCPTR (gst_zero_sink_unlock);
  basesink_class->unlock_stop = GST_DEBUG_FUNCPTR (gst_zero_sink_unlock_stop);

  gst_type_mark_as_plugin_api (GST_TYPE_ZERO_SINK_POLICY, 0);
}

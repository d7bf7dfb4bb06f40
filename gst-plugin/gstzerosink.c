/**
 * SECTION:element-zerosink
 * @title: zerosink
 * @see_also: zerosrc
 *
 * Writes every buffer as one frame into a ZeroBuffer v1.0 shared-memory ring
 * that a reader (zerosrc, or any other ZeroBuffer reader) created. Frames
 * carry the raw buffer bytes only; the caps travel once, in the ring's
 * metadata, so the reader needs no hand-typed caps.
 *
 * zerosink waits for the reader up to #GstZeroSink:connect-timeout and for
 * room in a full ring up to #GstZeroSink:timeout (#GstZeroSink:policy drop:
 * it drops the buffer instead); at EOS it detaches and the reader sees the
 * end of the stream. With #GstZeroSink:on-reader-lost=wait it drops frames
 * while no reader has the ring and writes into the next one's. In a stream
 * with delta units it asks upstream for a key unit (force-key-unit) when
 * it writes a delta unit after a dropped frame, or as a reader's first
 * frame. For raw
 * video it offers upstream a pool whose buffers are reservations in the
 * ring (#GstZeroSink:zero-copy), repacks a buffer whose video meta gives
 * other strides into GStreamer's default layout (the one readers take) and
 * refuses one that is not a frame of its caps; planar audio's planes are
 * packed one after the other, wherever its audio meta puts them; #GstZeroSink:frame-header carries
 * timestamps, flags and caps changes to zerosrc. Its errors say whether
 * they are permanent or transient, and carry its frame count.
 * README.md ("GStreamer") and gst-plugin/README.md tell the details.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 -e zerosrc buffer-name=cam0 ! videoconvert ! autovideosink
 * ]|
 * |[
 * gst-launch-1.0 -e videotestsrc ! video/x-raw,format=RGB,width=640,height=480 ! zerosink buffer-name=cam0
 * ]|
 * Either pipeline can start first: zerosink waits for the ring. A live
 * upstream goes on producing meanwhile: the buffers that then come late
 * are dropped (counted in frames-dropped), up to the first on time, so the
 * reader plays the stream on time.
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

#include "gstzerobufferelements.h"
#include "gstzerocatchup.h"
#include "gstzerolink.h"
#include "gstzerosinkpool.h"
#include "zerobuffer.h"

GST_DEBUG_CATEGORY_STATIC (gst_zero_sink_debug);
#define GST_CAT_DEFAULT gst_zero_sink_debug

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
  return zerobuffer_enum_type ("GstZeroSinkPolicy", values, &type);
}
#define GST_TYPE_ZERO_SINK_POLICY (gst_zero_sink_policy_get_type ())

typedef enum
{
  GST_ZERO_SINK_READER_LOST_ERROR,
  GST_ZERO_SINK_READER_LOST_WAIT,
} GstZeroSinkReaderLost;

static GType
gst_zero_sink_reader_lost_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_ZERO_SINK_READER_LOST_ERROR,
        "Post an error (EREADERGONE, transient)", "error"},
    {GST_ZERO_SINK_READER_LOST_WAIT,
          "Drop the frames (counted in frames-dropped) while no reader has "
          "the ring, from the start too, and write into the ring the next "
          "reader creates", "wait"},
    {0, NULL, NULL},
  };
  return zerobuffer_enum_type ("GstZeroSinkReaderLost", values, &type);
}
#define GST_TYPE_ZERO_SINK_READER_LOST (gst_zero_sink_reader_lost_get_type ())

struct _GstZeroSink
{
  GstBaseSink parent;

  /* properties, under the object lock */
  gchar *buffer_name;
  gint connect_timeout;
  gint timeout;
  GstZeroSinkPolicy policy;
  GstZeroSinkReaderLost on_reader_lost;
  gboolean zero_copy;
  gboolean frame_header;
  guint max_buffers;
  gchar *camera_id;
  gboolean reopen;              /* what open_link reads changed since */
  GstCaps *refused_caps;        /* caps set_caps refused (posted once) */

  GstZeroLink *link;            /* the ring, shared with the pool; counts */
  GCancellable *unlocked;       /* cancelled between unlock and unlock_stop */
  guint32 pending_flags;        /* streaming thread: ZEROSINK_PENDING_FLAGS
                                 * of buffers that became no frame */
  GstZeroKeyUnitNeed key_unit;  /* streaming thread */
  gboolean delta_warned;        /* streaming thread: of delta units written
                                 * without the frame header */
  GstZeroCatchUp catch_up;      /* streaming thread */
};

/* Flags that say something about the stream before a buffer rather than
 * about its bytes: those of an empty buffer, or one dropped, go into the
 * header of the next frame written instead of being lost with it. */
#define ZEROSINK_PENDING_FLAGS (GST_BUFFER_FLAG_DISCONT | \
    GST_BUFFER_FLAG_RESYNC)

#define DEFAULT_BUFFER_NAME NULL
#define DEFAULT_CONNECT_TIMEOUT 10000
#define DEFAULT_TIMEOUT 5000
#define DEFAULT_POLICY GST_ZERO_SINK_POLICY_BLOCK
#define DEFAULT_ON_READER_LOST GST_ZERO_SINK_READER_LOST_ERROR
#define DEFAULT_ZERO_COPY TRUE
#define DEFAULT_FRAME_HEADER FALSE
#define DEFAULT_MAX_BUFFERS 3
#define DEFAULT_CAMERA_ID NULL

enum
{
  PROP_0,
  PROP_BUFFER_NAME,
  PROP_CONNECT_TIMEOUT,
  PROP_TIMEOUT,
  PROP_POLICY,
  PROP_ZERO_COPY,
  PROP_FRAME_HEADER,
  PROP_MAX_BUFFERS,
  PROP_STATS,
  PROP_CAMERA_ID,
  PROP_ON_READER_LOST,
};

#define gst_zero_sink_parent_class parent_class
G_DEFINE_TYPE (GstZeroSink, gst_zero_sink, GST_TYPE_BASE_SINK);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (zerosink, "zerosink", GST_RANK_NONE,
    GST_TYPE_ZERO_SINK, zerobuffer_element_init (plugin));

/* ------------------------------------------------------------- helpers */

/* A wait was interrupted: GST_FLOW_OK when it should go on (unlock_stop
 * came, or a wake meant for the pool), else the flow return render gives
 * back. Streaming thread, with the preroll lock. */
static GstFlowReturn
gst_zero_sink_resume (GstZeroSink * self, GstFlowReturn interrupted)
{
  if (interrupted != GST_FLOW_FLUSHING ||
      !g_cancellable_is_cancelled (self->unlocked))
    return interrupted;
  GST_DEBUG_OBJECT (self, "unlocked: waiting for preroll");
  return gst_base_sink_wait_preroll (GST_BASE_SINK (self));
}

/* -------------------------------------------------- init / properties */

static void
gst_zero_sink_init (GstZeroSink * self)
{
  self->buffer_name = g_strdup (DEFAULT_BUFFER_NAME);
  self->connect_timeout = DEFAULT_CONNECT_TIMEOUT;
  self->timeout = DEFAULT_TIMEOUT;
  self->policy = DEFAULT_POLICY;
  self->on_reader_lost = DEFAULT_ON_READER_LOST;
  self->zero_copy = DEFAULT_ZERO_COPY;
  self->frame_header = DEFAULT_FRAME_HEADER;
  self->max_buffers = DEFAULT_MAX_BUFFERS;
  self->link = gst_zero_link_new (gst_zero_sink_debug, GST_ELEMENT (self),
      "a reader (such as zerosrc)");
  self->unlocked = g_cancellable_new ();
  gst_zero_link_set_policy (self->link, DEFAULT_TIMEOUT, FALSE);
  /* a writer after another, with other caps: they travel per frame */
  gst_zero_link_set_other_caps (self->link, TRUE);
  /* the last sample would keep a pool buffer, and so its frame's bytes,
   * held in the ring */
  gst_base_sink_set_last_sample_enabled (GST_BASE_SINK (self), FALSE);
}

static void
gst_zero_sink_finalize (GObject * object)
{
  GstZeroSink *self = GST_ZERO_SINK (object);

  gst_zero_link_unref (self->link);
  g_object_unref (self->unlocked);
  g_free (self->buffer_name);
  g_free (self->camera_id);
  gst_clear_caps (&self->refused_caps);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static GstStructure *
gst_zero_sink_get_stats (GstZeroSink * self)
{
  return gst_zero_link_stats (self->link, "application/x-zerosink-stats");
}

static void
gst_zero_sink_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstZeroSink *self = GST_ZERO_SINK (object);
  gboolean policy_changed = FALSE, reopen = FALSE;

  GST_OBJECT_LOCK (self);
  if (!zerobuffer_property_settable (GST_ELEMENT (object), pspec)) {
    GST_OBJECT_UNLOCK (self);
    return;
  }
  switch (prop_id) {
    case PROP_BUFFER_NAME:
      reopen = g_strcmp0 (self->buffer_name, g_value_get_string (value));
      g_free (self->buffer_name);
      self->buffer_name = g_value_dup_string (value);
      break;
    case PROP_CONNECT_TIMEOUT:
      self->connect_timeout = g_value_get_int (value);
      break;
    case PROP_TIMEOUT:
      self->timeout = g_value_get_int (value);
      policy_changed = TRUE;
      break;
    case PROP_POLICY:
      self->policy = g_value_get_enum (value);
      policy_changed = TRUE;
      break;
    case PROP_ZERO_COPY:
      self->zero_copy = g_value_get_boolean (value);
      break;
    case PROP_FRAME_HEADER:
      reopen = self->frame_header != g_value_get_boolean (value);
      self->frame_header = g_value_get_boolean (value);
      break;
    case PROP_MAX_BUFFERS:
      self->max_buffers = g_value_get_uint (value);
      break;
    case PROP_CAMERA_ID:
      reopen = g_strcmp0 (self->camera_id, g_value_get_string (value));
      g_free (self->camera_id);
      self->camera_id = g_value_dup_string (value);
      break;
    case PROP_ON_READER_LOST:
      self->on_reader_lost = g_value_get_enum (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  self->reopen |= reopen;
  /* under the object lock: of two threads setting timeout and policy, the
   * link takes the pair of the last, as the properties show (outside it,
   * an older pair could land after a newer one) */
  if (policy_changed)
    gst_zero_link_set_policy (self->link, self->timeout,
        self->policy == GST_ZERO_SINK_POLICY_DROP);
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
    case PROP_MAX_BUFFERS:
      g_value_set_uint (value, self->max_buffers);
      break;
    case PROP_CAMERA_ID:
      g_value_set_string (value, self->camera_id);
      break;
    case PROP_ON_READER_LOST:
      g_value_set_enum (value, self->on_reader_lost);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* ------------------------------------------------------------- vfuncs */

/* Opens the link to the ring the properties name (it connects when first
 * needed) and resets the counts: at NULL->READY, and at READY->PAUSED when
 * the link is opened anew (change_state); FALSE after posting the error. */
static gboolean
gst_zero_sink_open_link (GstZeroSink * self)
{
  GstBaseSink *bsink = GST_BASE_SINK (self);
  g_autofree gchar *name = NULL;
  g_autofree gchar *camera_id = NULL;
  gint connect_timeout;
  gboolean frame_header, reconnect;

  GST_OBJECT_LOCK (self);
  name = g_strdup (self->buffer_name);
  camera_id = g_strdup (self->camera_id);
  connect_timeout = self->connect_timeout;
  frame_header = self->frame_header;
  reconnect = self->on_reader_lost == GST_ZERO_SINK_READER_LOST_WAIT;
  self->pending_flags = 0;
  gst_clear_caps (&self->refused_caps);
  GST_OBJECT_UNLOCK (self);
  gst_zero_key_unit_need_reset (&self->key_unit);
  gst_zero_link_reset_counts (self->link);
  self->delta_warned = FALSE;
  gst_zero_catch_up_reset (&self->catch_up, bsink, self->link,
      GST_CAT_DEFAULT);

  if (!zerobuffer_ring_name_usable (GST_ELEMENT (self), name))
    return FALSE;
  gst_zero_link_set_reconnect (self->link, reconnect);
  gst_zero_link_open (self->link, name, GST_OBJECT_NAME (self), camera_id,
      connect_timeout, frame_header);
  GST_OBJECT_LOCK (self);
  self->reopen = FALSE;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean
gst_zero_sink_stop (GstBaseSink * bsink)
{
  GstZeroSink *self = GST_ZERO_SINK (bsink);
  GstStructure *stats;
  guint64 written = 0, bytes = 0, zero_copy = 0, copied = 0, dropped = 0;

  /* upstream may still be in the pool's acquire: from now on it gets
   * FLUSHING; its open reservations are abandoned (the places of plain
   * buffers first cancelled: nobody writes into them) */
  gst_zero_link_close (self->link);
  /* (test/gst scripts read this line) */
  stats = gst_zero_sink_get_stats (self);
  gst_structure_get (stats, "frames-written", G_TYPE_UINT64, &written,
      "bytes-written", G_TYPE_UINT64, &bytes, "frames-zero-copy",
      G_TYPE_UINT64, &zero_copy, "frames-copied", G_TYPE_UINT64, &copied,
      "frames-dropped", G_TYPE_UINT64, &dropped, NULL);
  gst_structure_free (stats);
  GST_INFO_OBJECT (self, "stopped: %" G_GUINT64_FORMAT " frames, %"
      G_GUINT64_FORMAT " bytes written (%" G_GUINT64_FORMAT " zero-copy, %"
      G_GUINT64_FORMAT " copied), %" G_GUINT64_FORMAT " dropped", written,
      bytes, zero_copy, copied, dropped);
  return TRUE;
}

static gboolean
gst_zero_sink_set_caps (GstBaseSink * bsink, GstCaps * caps)
{
  GstZeroSink *self = GST_ZERO_SINK (bsink);
  GstZeroError *e = NULL;
  gboolean repeated;

  /* the ring's metadata keeps the first caps; with the frame header each
   * frame after a change carries its own ({"caps":"..."}), and none again
   * once they are the first caps again */
  if (!gst_zero_link_change_caps (self->link, caps, &e)) {
    /* upstream may offer the same caps again and again: one error each */
    GST_OBJECT_LOCK (self);
    repeated = self->refused_caps != NULL &&
        gst_caps_is_equal (caps, self->refused_caps);
    gst_caps_replace (&self->refused_caps, caps);
    GST_OBJECT_UNLOCK (self);
    if (repeated)
      gst_zero_error_free (e);
    else
      gst_zero_link_post (self->link, GST_ELEMENT (self), e);
    return FALSE;
  }
  GST_OBJECT_LOCK (self);
  gst_clear_caps (&self->refused_caps); /* refused again later: said again */
  GST_OBJECT_UNLOCK (self);
  if (gst_zero_link_carries_caps (self->link, caps))
    GST_INFO_OBJECT (self, "caps changed to %" GST_PTR_FORMAT ": each frame "
        "carries them in its header", caps);
  else
    GST_DEBUG_OBJECT (self, "caps %" GST_PTR_FORMAT, caps);
  return TRUE;
}

/* The EOS once basesink has prerolled on it (and synced to it): the
 * pipeline is not held in PAUSED by what zerosink does with it. */
static GstFlowReturn
gst_zero_sink_wait_event (GstBaseSink * bsink, GstEvent * event)
{
  GstZeroSink *self = GST_ZERO_SINK (bsink);
  GstFlowReturn ret;

  ret = GST_BASE_SINK_CLASS (parent_class)->wait_event (bsink, event);
  if (ret != GST_FLOW_OK || GST_EVENT_TYPE (event) != GST_EVENT_EOS)
    return ret;
  /* a stream without frames too reaches a reader that is there, unless it
   * heard of this one or zerosink's error ended it (owes_eos; without caps,
   * nothing to describe: the ring is left for a next writer) */
  if (gst_pad_has_current_caps (GST_BASE_SINK_PAD (self)) &&
      gst_zero_link_owes_eos (self->link)) {
    do {
      ret = gst_zero_link_connect_at_eos (self->link, GST_ELEMENT (self),
          self->unlocked);
    } while (ret == GST_FLOW_FLUSHING &&
        (ret = gst_zero_sink_resume (self, ret)) == GST_FLOW_OK);
    if (ret != GST_FLOW_OK)
      return ret;
  }
  /* the reader sees end of stream; the pool hands out no more (the places
   * of plain buffers cancelled first) */
  gst_zero_link_finish (self->link);
  return GST_FLOW_OK;
}

static gboolean
gst_zero_sink_event (GstBaseSink * bsink, GstEvent * event)
{
  GstZeroSink *self = GST_ZERO_SINK (bsink);

  /* A flush also ends the pool acquires of upstream's thread, which hold
   * its stream lock (a decoder never flushes our pool): they fail until
   * flush-stop. Set here, not in unlock(), which may run late, once a
   * flush-stop has passed, and leave them failing for good. */
  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_FLUSH_START:
      gst_zero_link_flush (self->link);
      break;
    case GST_EVENT_FLUSH_STOP:
      gst_zero_link_resume (self->link);
      gst_zero_catch_up_stop (&self->catch_up);
      break;
    default:
      break;
  }
  return GST_BASE_SINK_CLASS (parent_class)->event (bsink, event);
}

/* Offers the pool of ring reservations (gst_zero_sink_pool_propose). */
static gboolean
gst_zero_sink_propose_allocation (GstBaseSink * bsink, GstQuery * query)
{
  GstZeroSink *self = GST_ZERO_SINK (bsink);
  GstCaps *caps;
  gboolean zero_copy;
  guint max_buffers;

  GST_OBJECT_LOCK (self);
  zero_copy = self->zero_copy;
  max_buffers = self->max_buffers;
  GST_OBJECT_UNLOCK (self);
  if (!zero_copy || gst_zero_link_pool_refused (self->link)) {
    GST_DEBUG_OBJECT (self, "no pool: zero-copy=false, or upstream pushes "
        "buffers again");
    return TRUE;
  }
  /* Frames whose caps differ from the ring's carry them in a header larger
   * than a pool buffer leaves room for: each would be copied into a second
   * reservation while its own stays open, two frames' room for one. (Not
   * connected yet, the ring's caps are not known: the pool hands out plain
   * buffers if connecting finds others.) */
  gst_query_parse_allocation (query, &caps, NULL);
  if (caps != NULL && gst_zero_link_carries_caps (self->link, caps)) {
    GST_DEBUG_OBJECT (self, "no pool: the caps differ from the ring's, so "
        "frames are copied with them in their header");
    return TRUE;
  }
  gst_zero_sink_pool_propose (GST_OBJECT (self), self->link, query,
      max_buffers);
  return TRUE;
}

/* A delta unit written without the frame header: the reader cannot tell
 * it from a key unit (webmmux marks every frame a key frame, silently), nor
 * has it its timestamps. Said once a stream; the header stays off by
 * default for readers that do not take it. */
static void
gst_zero_sink_warn_flags_lost (GstZeroSink * self)
{
  if (self->delta_warned || gst_zero_link_header_size (self->link) > 0)
    return;
  GST_ELEMENT_WARNING (self, STREAM, FORMAT, ("The stream has delta units, "
          "but frame-header is off: buffer flags (which frames are key "
          "units) and timestamps do not cross the ring, the reader stamps "
          "each frame itself (by its arrival) and a muxer may take every frame for a "
          "key unit. Set frame-header=true when the reader is zerosrc or "
          "the zerobuffer Node reader (said once)"),
      ("a DELTA_UNIT buffer written without the per-frame header"));
  self->delta_warned = TRUE;
}

static GstFlowReturn
gst_zero_sink_render (GstBaseSink * bsink, GstBuffer * buffer)
{
  GstZeroSink *self = GST_ZERO_SINK (bsink);
  gsize size = gst_buffer_get_size (buffer);
  GstZeroWriteKind kind = GST_ZERO_WRITE_COPIED;
  GstZeroCatchUpBefore before;
  GstZeroError *e = NULL;
  GstFlowReturn ret;
  guint64 empty;
  gboolean delta = GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DELTA_UNIT);

  if (size == 0) {
    /* the protocol has no empty frames (a pool buffer emptied by upstream:
     * its reservation is cancelled when the buffer returns to the pool) */
    self->pending_flags |= GST_BUFFER_FLAGS (buffer) & ZEROSINK_PENDING_FLAGS;
    empty = gst_zero_link_skipped_empty (self->link);
    GST_CAT_LEVEL_LOG (gst_zero_sink_debug, empty == 1 ? GST_LEVEL_INFO :
        GST_LEVEL_DEBUG, self, "skipping an empty buffer (%" G_GUINT64_FORMAT
        " so far): the protocol has no empty frames%s", empty,
        self->pending_flags ? "; its DISCONT/RESYNC go into the next frame's "
        "header" : "");
    return GST_FLOW_OK;
  }
  gst_zero_catch_up_before (&self->catch_up, buffer, &before);
  do {
    ret = gst_zero_sink_pool_write (self->link, buffer, &size,
        self->pending_flags, self->unlocked, NULL,
        gst_zero_catch_up_behind, &before, &kind, NULL, NULL, &e);
  } while (ret == GST_FLOW_FLUSHING &&
      (ret = gst_zero_sink_resume (self, ret)) == GST_FLOW_OK);
  if (ret == GST_FLOW_ERROR && gst_zero_link_lost (self->link,
          GST_ELEMENT (self), e)) {
    /* on-reader-lost=wait: the frame goes with the reader (or its ring
     * too small for it), the link looks for the next one */
    kind = GST_ZERO_WRITE_NO_READER;
    ret = GST_FLOW_OK;
  } else if (ret != GST_FLOW_OK) {
    if (e != NULL)
      gst_zero_link_post (self->link, GST_ELEMENT (self), e);
    if (ret == GST_FLOW_ERROR)
      gst_zero_link_mark_failed (self->link);
    return ret;
  }
  if (kind == GST_ZERO_WRITE_REPEATED || kind == GST_ZERO_WRITE_REPEAT_DROPPED)
    gst_zero_link_refuse_pool (self->link, GST_ELEMENT (self),
        GST_BASE_SINK_PAD (self), "frames", "zero-copy=false",
        kind == GST_ZERO_WRITE_REPEAT_DROPPED);
  if (kind == GST_ZERO_WRITE_DROPPED || kind == GST_ZERO_WRITE_REPEAT_DROPPED ||
      kind == GST_ZERO_WRITE_NO_READER || kind == GST_ZERO_WRITE_LATE ||
      kind == GST_ZERO_WRITE_BEHIND) {
    /* a frame lost to a full ring, while no reader was there, late after
     * the wait for one, or because it would have come after a later one,
     * is a gap the reader's decoder must hear of; a repeat (videorate's
     * copy of the frame before) is none */
    self->pending_flags |= GST_BUFFER_FLAGS (buffer) & ZEROSINK_PENDING_FLAGS;
    if (kind != GST_ZERO_WRITE_REPEAT_DROPPED) {
      self->pending_flags |= GST_BUFFER_FLAG_DISCONT;
      gst_zero_key_unit_need_lost (&self->key_unit);
    }
    gst_zero_link_dropped (self->link);
    GST_LOG_OBJECT (self, "dropped a buffer of %" G_GSIZE_FORMAT " bytes: %s",
        size, kind == GST_ZERO_WRITE_DROPPED ? "ring full" :
        kind == GST_ZERO_WRITE_NO_READER ? "no reader" :
        kind == GST_ZERO_WRITE_LATE ? "taken from the pool while the ring "
        "gave no frame, before a buffer whose frame is reserved: it would "
        "come after that one" : kind == GST_ZERO_WRITE_BEHIND ? "a live "
        "stream's, late after the wait for the reader" :
        "a repeat out of order");
    return GST_FLOW_OK;
  }
  self->pending_flags = 0;
  gst_zero_link_written (self->link, GST_ELEMENT (self), size,
      kind == GST_ZERO_WRITE_IN_PLACE);
  if (delta)
    gst_zero_sink_warn_flags_lost (self);
  gst_zero_key_unit_need_written (&self->key_unit, self->link,
      GST_BASE_SINK_PAD (self), delta);
  GST_LOG_OBJECT (self, "wrote a frame of %" G_GSIZE_FORMAT " bytes%s", size,
      kind == GST_ZERO_WRITE_IN_PLACE ? " written in place" : "");
  return GST_FLOW_OK;
}

static gboolean
gst_zero_sink_unlock (GstBaseSink * bsink)
{
  GstZeroSink *self = GST_ZERO_SINK (bsink);

  GST_DEBUG_OBJECT (self, "unlock");
  g_cancellable_cancel (self->unlocked);
  /* pool acquires too; flush-start and PAUSED_TO_READY set it flushing */
  gst_zero_link_wake (self->link);
  return TRUE;
}

static gboolean
gst_zero_sink_unlock_stop (GstBaseSink * bsink)
{
  GstZeroSink *self = GST_ZERO_SINK (bsink);

  GST_DEBUG_OBJECT (self, "unlock_stop");
  g_cancellable_reset (self->unlocked);
  return TRUE;
}

/* The link is opened at NULL->READY before basesink's part, not in its
 * start(): one that fails has basesink post a second error after ours,
 * gst-launch's "state change failed and some element failed to post a
 * proper error message". What open_link reads, set in READY, takes effect
 * at READY->PAUSED: what the ring holds or is (its name, the frame header,
 * camera-id in the metadata) opens the link anew as from NULL (detached
 * from the ring it had), and so does a reader that left the ring meanwhile
 * (a new one may have created it under the name: the old one's would only
 * give EREADERGONE at the first frame); the rest, and nothing changed,
 * keeps it attached, and a stream that ended with an EOS starts again, as
 * after a flush. */
static GstStateChangeReturn
gst_zero_sink_change_state (GstElement * element, GstStateChange transition)
{
  GstZeroSink *self = GST_ZERO_SINK (element);
  gboolean reopen, reconnect;
  gint connect_timeout;
  zb_health health;

  if (transition == GST_STATE_CHANGE_NULL_TO_READY &&
      !gst_zero_sink_open_link (self))
    return GST_STATE_CHANGE_FAILURE;
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
    GST_OBJECT_LOCK (self);
    reopen = self->reopen;
    reconnect = self->on_reader_lost == GST_ZERO_SINK_READER_LOST_WAIT;
    connect_timeout = self->connect_timeout;
    GST_OBJECT_UNLOCK (self);
    if (!reopen && gst_zero_link_health (self->link, &health) &&
        !health.reader_alive) {
      GST_INFO_OBJECT (self, "the reader (pid %" G_GUINT64_FORMAT ") of the "
          "ring it was attached to is gone: opening the link anew",
          health.reader_pid);
      reopen = TRUE;
    }
    if (reopen && !gst_zero_sink_open_link (self))
      return GST_STATE_CHANGE_FAILURE;
    if (!reopen) {
      gst_zero_link_set_reconnect (self->link, reconnect);
      gst_zero_link_set_connect_timeout (self->link, connect_timeout);
      gst_zero_link_resume (self->link);
      gst_zero_catch_up_stop (&self->catch_up);
    }
  }
  /* before basesink deactivates the pad: upstream's pool acquires end
   * (they hold its stream lock) until READY_TO_PAUSED (resume, open) */
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    gst_zero_link_flush (self->link);
  return GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
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
    g_autofree gchar *name = NULL;
    gchar *text;

    gst_structure_get_uint64 (stats, "frames-written", &written);
    GST_OBJECT_LOCK (self);
    name = g_strdup (self->buffer_name);
    GST_OBJECT_UNLOCK (self);
    text = g_strdup_printf ("Wrote %" G_GUINT64_FORMAT " frames into ring %s",
        written, name ? name : "(none)");
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
  GST_DEBUG_CATEGORY_INIT (gst_zero_sink_debug, "zerosink", 0,
      "zerosink: writes buffers into a ZeroBuffer ring (what its buffer "
      "pool does itself is logged to zerobuffer)");

  gobject_class->set_property = gst_zero_sink_set_property;
  gobject_class->get_property = gst_zero_sink_get_property;
  gobject_class->finalize = gst_zero_sink_finalize;

  g_object_class_install_property (gobject_class, PROP_BUFFER_NAME,
      g_param_spec_string ("buffer-name", "Buffer name",
          "Name of the ring to write into (required), as given to the "
          "reader that creates it (e.g. zerosrc buffer-name): 1..245 bytes, "
          "any characters (spaces, ':', UTF-8...) but '/' and control "
          "characters, without '..', not '.' nor starting with 'sem.sem-w-' "
          "or 'sem.sem-r-'",
          DEFAULT_BUFFER_NAME,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_CONNECT_TIMEOUT,
      g_param_spec_int ("connect-timeout", "Connect timeout",
          "How long to wait for a reader to create the ring, in "
          "milliseconds (0 = do not wait, -1 = wait forever), before posting "
          "an error (ENOENT, or EREADERGONE for a ring its reader left); "
          "after a second of waiting, an INFO message says so once; time "
          "the process is stopped (Ctrl-Z) does not count. A live "
          "upstream's buffers that come late from the wait are dropped "
          "(frames-dropped), up to the first on time. "
          "Unused with on-reader-lost=wait, which never waits for a reader: "
          "it drops frames while none has the ring", -1, G_MAXINT,
          DEFAULT_CONNECT_TIMEOUT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_TIMEOUT,
      g_param_spec_int ("timeout", "Timeout",
          "How long to wait for space in a full ring with policy=block, in "
          "milliseconds, before posting an error (-1 = wait forever); time "
          "the process is stopped (Ctrl-Z) or PAUSED does not count. A "
          "reader that is gone ends the wait at once: an error "
          "(EREADERGONE), or with on-reader-lost=wait a WARNING and the "
          "frames dropped until the next reader", -1,
          G_MAXINT, DEFAULT_TIMEOUT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_POLICY,
      g_param_spec_enum ("policy", "Policy",
          "What to do when the ring is full: block (wait up to timeout) or "
          "drop (drop the buffer and count it in stats; in a stream with "
          "delta units, ask upstream for a key unit when the next delta unit "
          "is written, once until a key unit is, at most once a second). A buffer too large for the ring even when empty is an "
          "error with either",
          GST_TYPE_ZERO_SINK_POLICY, DEFAULT_POLICY,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_ON_READER_LOST,
      g_param_spec_enum ("on-reader-lost", "On reader lost",
          "What to do when the ring's reader closes it or dies: error (post "
          "EREADERGONE, the pipeline stops) or wait (a WARNING; drop the "
          "frames, counted in frames-dropped, while no reader has the ring, "
          "also from the start until the first reader creates it, without "
          "waiting connect-timeout; look for it every 20 ms and write into "
          "the ring the next reader creates under the name, its metadata "
          "written anew with the caps then; with frame-header the first "
          "frame has DISCONT, and in a stream with delta units upstream is "
          "asked for a key unit when that frame is a delta unit; a ring "
          "too small for the frames is a WARNING "
          "too, and that reader's ring is not taken again while it lives, "
          "unless the caps change with frame-header). Default: error",
          GST_TYPE_ZERO_SINK_READER_LOST, DEFAULT_ON_READER_LOST,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
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
          "misread the frames. Default: false (raw buffer bytes only; a "
          "warning, once, when a delta unit is written so)",
          DEFAULT_FRAME_HEADER,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_MAX_BUFFERS,
      g_param_spec_uint ("max-buffers", "Max buffers",
          "How many buffers of the zero-copy pool upstream may hold at once, "
          "each a frame reserved in the ring; upstream elements that keep "
          "buffers (queues, encoders) need this many to stay zero copy. "
          "The ring must hold at least as many frames to use them all",
          1, G_MAXUINT, DEFAULT_MAX_BUFFERS,
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
          "frames-dropped, frames-copied, frames-zero-copy, buffers-empty "
          "(empty buffers: not frames, skipped) (guint64) and "
          "ring-utilisation (gdouble, percent of the ring in use, 0 when "
          "not connected)", GST_TYPE_STRUCTURE,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_set_static_metadata (element_class,
      "ZeroBuffer sink", "Sink",
      "Writes buffers as frames into a ZeroBuffer v1.0 shared-memory ring "
      "created by a reader", "zerobuffer");

  element_class->post_message =
      GST_DEBUG_FUNCPTR (gst_zero_sink_post_message);
  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_zero_sink_change_state);

  basesink_class->stop = GST_DEBUG_FUNCPTR (gst_zero_sink_stop);
  basesink_class->get_caps = GST_DEBUG_FUNCPTR (gst_zero_sink_get_caps);
  basesink_class->set_caps = GST_DEBUG_FUNCPTR (gst_zero_sink_set_caps);
  basesink_class->event = GST_DEBUG_FUNCPTR (gst_zero_sink_event);
  basesink_class->wait_event = GST_DEBUG_FUNCPTR (gst_zero_sink_wait_event);
  basesink_class->render = GST_DEBUG_FUNCPTR (gst_zero_sink_render);
  basesink_class->propose_allocation =
      GST_DEBUG_FUNCPTR (gst_zero_sink_propose_allocation);
  basesink_class->unlock = GST_DEBUG_FUNCPTR (gst_zero_sink_unlock);
  basesink_class->unlock_stop = GST_DEBUG_FUNCPTR (gst_zero_sink_unlock_stop);

  gst_type_mark_as_plugin_api (GST_TYPE_ZERO_SINK_POLICY, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_ZERO_SINK_READER_LOST, 0);
}

/**
 * SECTION:element-zerosrc
 * @title: zerosrc
 * @see_also: zerosink
 *
 * Creates a ZeroBuffer v1.0 shared-memory ring as its reader and pushes every
 * frame a writer (zerosink, or any other ZeroBuffer writer) puts into it.
 * Buffers wrap the ring memory read-only (no copy); a frame goes back to the
 * writer when its buffer is freed, in whatever order downstream frees them.
 * When downstream keeps so many buffers that the writer has no room left
 * (filesink gathers 64 KiB before it writes), the ones not mapped at that
 * moment are copied out of the ring and their frames given back.
 *
 * The caps come from the "caps" string of the ring's metadata, which the
 * writer sends with its first frame, so nothing has to be typed downstream.
 * The #GstZeroSrc:caps property overrides them (and is required when the
 * writer sends no usable caps): fixed caps, one format, not a filter
 * (ranges, lists or ANY are an error at start, and so are raw video or
 * audio caps lacking what sizes a frame, and raw video whose frames the
 * ring, by #GstZeroSrc:payload-size, cannot hold). A metadata block that
 * does not add up (the core's EPROTO) is an error even so, as what it
 * declares is unknown.
 * zerosrc is a live source: buffers are
 * timestamped with the running time at which they arrived (one that
 * waited in the ring: one frame after the one before, see below), unless
 * the writer sends the per-frame header (below).
 *
 * When the metadata declares the per-frame header ("zerobuffer":
 * {"frame_header":1}, written by zerosink frame-header=true), each buffer
 * wraps only the bytes after the header (still without a copy) and carries
 * the writer's timestamps: the decode time (DTS, else PTS) of the first
 * frame of each writer connection (and the first after zerosrc was paused)
 * is the running time of its commit (the writer's CLOCK_MONOTONIC, the same
 * clock on one host), never before the end of what was pushed, and every
 * later PTS and DTS keeps the writer's spacing from it (PTS and DTS are
 * offset by the same amount; a frame without a DTS gets none, as its PTS
 * goes back in a reordered stream: h264timestamper or h265timestamper
 * works it out before a muxer, see below), so a live pipeline sees the
 * writer's pacing, not the jitter of the transport. When a frame without
 * a DTS has a PTS before what was pushed already (B-frames), zerosrc warns
 * once: mp4mux would store such frames in the wrong order without a word
 * (not for a DISCONT one, a writer that looped back: a new time base).
 * Raw frames committed while zerosrc was paused (from PLAYING to PAUSED
 * until PLAYING again) are dropped, as a live source makes nothing then,
 * and the next buffer is DISCONT; encoded frames are kept, so such a
 * stream stays as late as the pause was long. Its start is no pause: the
 * frames committed between its start (which creates the ring) and its
 * first PLAYING are pushed, as udpsrc or shmsrc push what was queued
 * before PLAYING (zerosink drops what a live upstream made while it
 * waited for the ring). When the writer's timestamps fall behind its
 * commit times by more than 15 ms (it paused, or seeked back, or stalled),
 * the offset grows by as much; those 15 ms are zerosrc's minimum latency
 * then. A
 * DISCONT frame that jumps ahead of its commit (a seek forward: over a
 * second further ahead than the frame before) is stamped at its commit, a
 * new time base, not a gap for the sinks to wait out; so is a frame
 * without DISCONT that leaps over an hour plus its duration further ahead
 * (a bad timestamp: 2^62 ns had a synchronised sink wait 146 years), and
 * the frame after it if it goes back, with one warning. The first buffer
 * of a new or moved time base is DISCONT, as its timestamp does not follow
 * the buffer before it (an audio sink resyncs on it), except a move of a
 * writer merely late, whose frame starts where its frame before ended
 * (decoders drain on DISCONT). Duration
 * and the buffer flags (DELTA_UNIT,
 * DISCONT, HEADER, GAP, ...) are the writer's too. Frames without a PTS
 * and DTS get the running time of their commit, mapped as the anchor's,
 * and streams without the header that of their arrival, or for a frame that
 * was waiting in the ring already (a synchronised sink held the push) the
 * stamp of the frame before plus one frame's duration of the caps when
 * that is earlier, and not more than the pipeline's latency before its
 * arrival, less the time downstream takes a buffer to the sink (by the
 * sink's QoS events), so that the sink's hold does not space the frames
 * and the frames still reach it in time (always
 * after what was pushed already, 1 ns at least: no two buffers with one
 * PTS, however little the running time moved), whatever
 * #GstZeroSrc:do-timestamp says: zerosrc's own, accepted and ignored
 * (basesrc's would give a frame with a PTS but no DTS its arrival as DTS,
 * after its PTS, which brings back the wrong order). A frame
 * whose header is invalid is a protocol error. So is, with or without the
 * header, a raw video frame (fixed format, width and height, in system
 * memory) of another size than GStreamer's default layout of its caps, the
 * frame's own when its header carries caps: rows rounded up to 4 bytes, no
 * padding, and a raw audio frame ending in part of a sample frame
 * (channels times the sample's width; other caps take any size). A buffer
 * that gets no duration from the writer (or has no header), or one over
 * an hour (a bad one, as such a leap of a PTS is: dropped, with one
 * warning), lasts one frame of the caps' framerate, when that is above 0,
 * and raw audio its samples at the caps' rate; planar raw audio
 * (layout=non-interleaved) gets the audio meta it is mapped by, its planes
 * one after the other.
 * While a sparse
 * stream (text/, subtitle/,
 * application/x-subtitle caps) has no frame, zerosrc pushes GAP events,
 * every 20 ms, from the end of the buffer pushed last up to the running
 * time less its latency, so that a textoverlay's video goes on.
 *
 * When the writer detaches (its pipeline reached EOS) zerosrc pushes EOS, or
 * with eos-on-writer-exit=false waits for the next writer and continues.
 * Once it has pushed EOS (the writer left, or after an error such as
 * not-negotiated) it reads no more, so it closes its ring at once, its
 * pipeline still PLAYING: a next writer finds no ring (zerosink waits
 * connect-timeout for one, or with on-reader-lost=wait drops frames until
 * there is one), and a writer still attached hears that its reader is
 * gone. A flush that starts the stream again (FLUSH_START and FLUSH_STOP
 * sent to the pipeline: zerosrc takes no seek) creates the ring anew.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 -e zerosrc buffer-name=cam0 ! videoconvert ! autovideosink
 * ]|
 * |[
 * gst-launch-1.0 -e videotestsrc ! video/x-raw,format=RGB,width=640,height=480 ! zerosink buffer-name=cam0
 * ]|
 * Either pipeline can start first: zerosink waits for the ring.
 *
 * H.265 with B-frames from a writer that sends PTS only, into an MP4 file:
 * the timestamper works their DTS out; it takes packetized H.265 only, so
 * the caps filter makes the parser convert (without it: not-negotiated):
 * |[
 * gst-launch-1.0 -e zerosrc buffer-name=cam0 ! h265parse ! video/x-h265,stream-format=hvc1 ! h265timestamper ! mp4mux ! filesink location=out.mp4
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <string.h>

#include <gst/gst.h>
#include <gst/audio/audio.h>
#include <gst/base/gstpushsrc.h>
#include <gst/video/video.h>

#include "gstzerobufferelements.h"
#include "gstzerosrcring.h"
#include "zerobuffer.h"

GST_DEBUG_CATEGORY_STATIC (gst_zero_src_debug);
#define GST_CAT_DEFAULT gst_zero_src_debug

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS_ANY);

#define GST_TYPE_ZERO_SRC (gst_zero_src_get_type ())
G_DECLARE_FINAL_TYPE (GstZeroSrc, gst_zero_src, GST, ZERO_SRC, GstPushSrc);

struct _GstZeroSrc
{
  GstPushSrc parent;

  /* properties, under the object lock */
  gchar *buffer_name;
  guint64 metadata_size;
  guint64 payload_size;
  guint mode;
  gint timeout;
  GstCaps *caps;
  gboolean eos_on_writer_exit;
  gboolean announce;
  gboolean do_timestamp;        /* read back only: see PROP_DO_TIMESTAMP */

  /* under the object lock; every buffer's memory holds a lease on its
   * frame, which keeps the ring mapped after stop() until it is freed */
  GstZeroSrcRing *ring;
  gboolean flushing;

  /* streaming thread only */
  GstCaps *stream_caps;         /* negotiated from the metadata */
  gchar *frame_caps_text;       /* caps the last frame carried, or NULL */
  gboolean attrs_warned;        /* of attributes that are no JSON object */
  gboolean reorder_warned;      /* of PTS that go back without a DTS */
  gboolean leap_warned;         /* of PTS that leap without DISCONT */
  gboolean duration_warned;     /* of durations over ZEROBUFFER_TS_LEAP */
  gboolean ts_leapt;            /* the last frame leapt: a new time base */
  GstCaps *frame_caps;          /* the same, parsed */
  ZeroBufferFrameSize sized;    /* the frame size of the caps in force */
  gboolean discont;
  gboolean frame_header;        /* frames start with the per-frame header */
  gboolean fit_checked;         /* the frames were judged against the ring */
  GstCaps *fit_caps;            /* the writer's caps they are judged by (the
                                 * caps property's, else the metadata's),
                                 * sized once: NULL until known */
  gsize fit_size;               /* ...their frame size, 0: any size */
  gboolean ts_anchored;         /* ts_offset is set for this writer
                                 * (without the header: ts_last is the
                                 * stamp of its frame before) */
  gboolean ts_keep_offset;      /* the next anchor is after a pause, same
                                 * writer: keeps its spacing (once) */
  guint64 drop_from_ns;         /* after a pause: raw frames committed from */
  guint64 drop_until_ns;        /* ...until then (CLOCK_MONOTONIC) are
                                 * dropped; 0 once a frame is kept */
  GstClockTimeDiff ts_offset;   /* writer PTS + ts_offset = our running time */
  GstClockTimeDiff ts_last;     /* the last decode time pushed (or -1) */
  GstClockTimeDiff ts_pushed_end;       /* the latest end of a buffer pushed
                                         * (or -1): a new time base starts
                                         * there or later */
  gboolean ts_last_untimed;     /* the last buffer pushed was stamped by
                                 * gst_zero_src_stamp_untimed */
  GstClockTimeDiff ts_lead;     /* how far it led its commit */
  GstClockTimeDiff ts_end;      /* the writer's decode time + duration of
                                 * that frame, or -1 when unknown */
  GstClockTime ts_step;         /* ...and its duration */
  GstClockTime gap_from;        /* sparse streams: where a GAP event would
                                 * start (the end of what was pushed) */
  gint resumed;                 /* atomic: PLAYING again since the anchor */
  gint time_reset;              /* atomic: a flush restarted our running
                                 * time since the anchor */
  gint late_stamps;             /* atomic: frame_header, for the latency
                                 * query (another thread) */
  guint64 paused_ns;            /* object lock: when we went from PLAYING
                                 * to PAUSED (0 from the start on: no
                                 * pause), and when we went PLAYING again */
  guint64 playing_ns;
  GstClockTime pipeline_latency;        /* object lock: the LATENCY event's,
                                         * 0 before one came */
  GstClockTime downstream_time; /* object lock: how long the last buffer a
                                 * sink's QoS event told of took from our
                                 * push to the sink, or NONE */
  struct
  {
    GstClockTime pts, lag;      /* how far behind our running time a
                                 * buffer stamped here was pushed */
  } pushed[16];                 /* object lock: the last ones, for the QoS */
  guint pushed_next;
};

#define DEFAULT_BUFFER_NAME NULL
#define DEFAULT_METADATA_SIZE ZB_DEFAULT_METADATA_SIZE
/* 0: sized for the frames the caps describe (zb_default_payload_size) */
#define DEFAULT_PAYLOAD_SIZE 0
#define DEFAULT_TIMEOUT -1
#define DEFAULT_CAPS NULL
#define DEFAULT_EOS_ON_WRITER_EXIT TRUE
#define DEFAULT_ANNOUNCE FALSE
#define DEFAULT_DO_TIMESTAMP TRUE
/* How long create() waits for a frame before it looks again whether
 * downstream holds the room the writer needs. */
#define ZEROSRC_ROOM_SLICE_MS 100
/* The same for a sparse stream (subtitles), which tells downstream in a
 * GAP event after each slice without a frame that none came: a
 * textoverlay's video waits for its text up to this long. */
#define ZEROSRC_GAP_SLICE_MS 20
/* How far a writer's timestamps may fall behind its own commits (it was
 * paused, it seeked back) before zerosrc moves its time base forward:
 * within a video sink's default max-lateness. */
#define ZEROSRC_TS_SLACK (15 * GST_MSECOND)
/* How much further a DISCONT frame may lead its commit than the frame
 * before it did before zerosrc takes it for a seek forward (a new time
 * base) rather than a writer ahead of its clock keeping its spacing. */
#define ZEROSRC_TS_JUMP (1 * GST_SECOND)
/* The same for a frame without DISCONT, plus its duration, is
 * ZEROBUFFER_TS_LEAP (an hour): a leap so large that it is a bad
 * timestamp (a PTS of 2^62 ns), not a gap a user wants a synchronised
 * sink to wait out. Far above ZEROSRC_TS_JUMP: a writer ahead of its
 * clock (sync=false, a file) keeps its real holes (a recording's gaps, a
 * sparse stream's silences) up to this. A longer duration is a bad one
 * too (zerobuffer_plausible_duration). */

enum
{
  PROP_0,
  PROP_BUFFER_NAME,
  PROP_METADATA_SIZE,
  PROP_PAYLOAD_SIZE,
  PROP_MODE,
  PROP_TIMEOUT,
  PROP_CAPS,
  PROP_EOS_ON_WRITER_EXIT,
  PROP_ANNOUNCE,
  PROP_DO_TIMESTAMP,
};

#define gst_zero_src_parent_class parent_class
G_DEFINE_TYPE (GstZeroSrc, gst_zero_src, GST_TYPE_PUSH_SRC);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (zerosrc, "zerosrc", GST_RANK_NONE,
    GST_TYPE_ZERO_SRC, zerobuffer_element_init (plugin));

/* ------------------------------------------------------------- helpers */

/* "its writer (pid 1234)", for messages about what a writer sent. */
static gchar *
gst_zero_src_describe_writer (zb_reader * reader)
{
  zb_health health;

  if (zb_reader_health (reader, &health) == 0 && health.writer_pid != 0)
    return g_strdup_printf ("its writer (pid %" G_GUINT64_FORMAT ")",
        health.writer_pid);
  return g_strdup ("its writer (which has left)");
}

/* Whether downstream takes CAPS, asked before they are set: the peer's
 * answer, and what the elements after it can take (a caps query goes
 * through converters and queues). gst_base_src_set_caps() is TRUE once the
 * caps event is stored on our pad, whether or not downstream takes it, and
 * a refusal would only come back from the push, as basesrc's bare
 * "not-negotiated". When not, *TAKES: what downstream can take, cut short
 * (g_free() it). */
static gboolean
gst_zero_src_downstream_accepts (GstZeroSrc * self, GstCaps * caps,
    gchar ** takes)
{
  GstPad *pad = GST_BASE_SRC_PAD (self);
  GstCaps *allowed = gst_pad_peer_query_caps (pad, NULL);
  gboolean ok;
  gchar *text;

  ok = gst_caps_can_intersect (caps, allowed) &&
      gst_pad_peer_query_accept_caps (pad, caps);
  if (!ok) {
    text = gst_caps_to_string (allowed);
    *takes = zerobuffer_quote_peer_bytes ((const guint8 *) text,
        strlen (text), 256);
    g_free (text);
  }
  gst_caps_unref (allowed);
  return ok;
}

/* Sets the caps from the caps property, or else from the metadata. What a
 * writer sent reaches json-glib and GStreamer's caps parser only within
 * bounds (see zerobuffer_caps_from_peer), and is quoted back escaped and cut
 * short. */
static gboolean
gst_zero_src_negotiate_from_ring (GstZeroSrc * self, zb_reader * reader)
{
  GstCaps *caps;
  const uint8_t *meta = NULL;
  uint64_t meta_size = 0;
  gchar *caps_str, *quoted = NULL, *writer, *why = NULL, *takes = NULL;
  int rc;

  GST_OBJECT_LOCK (self);
  caps = self->caps ? gst_caps_ref (self->caps) : NULL;
  GST_OBJECT_UNLOCK (self);

  writer = gst_zero_src_describe_writer (reader);
  rc = zb_reader_metadata (reader, &meta, &meta_size);
  if (rc < 0) {
    /* a block that does not add up (EPROTO): what it declares, the
     * per-frame header too, is unknown, so no frame can be read right,
     * caps property or not */
    ZEROBUFFER_ELEMENT_ERROR (self, rc, zb_reader_name (reader),
        ("Cannot read the metadata %s wrote into ring %s (%s)", writer,
            zb_reader_name (reader), zb_strerror (rc)),
        ("%s", zb_last_error ()));
    goto fail;
  }
  quoted = zerobuffer_quote_peer_bytes (meta, meta_size, 256);
  if (meta_size > 0) {
    gint version = zb_metadata_frame_header (meta, meta_size);

    if (version != 0 && version != 1) {
      ZEROBUFFER_ELEMENT_ERROR (self, ZB_EMETADATA, zb_reader_name (reader),
          ("The metadata of ring %s declares a per-frame header this "
              "zerosrc does not know", zb_reader_name (reader)),
          ("metadata from %s: %s; supported: \"zerobuffer\":"
              "{\"frame_header\":1}", writer, quoted));
      goto fail;
    }
    self->frame_header = version == 1;
    if (g_atomic_int_get (&self->late_stamps) != self->frame_header) {
      /* its frames are stamped at their commit: our minimum latency */
      g_atomic_int_set (&self->late_stamps, self->frame_header);
      gst_element_post_message (GST_ELEMENT (self),
          gst_message_new_latency (GST_OBJECT (self)));
    }
    GST_INFO_OBJECT (self, "frames %s the per-frame header",
        self->frame_header ? "carry" : "do not carry");
  }

  if (caps == NULL) {
    if (meta_size == 0) {
      ZEROBUFFER_ELEMENT_ERROR (self, ZB_EMETADATA, zb_reader_name (reader),
          ("The writer of ring %s sent no metadata, so the caps are unknown",
              zb_reader_name (reader)),
          ("set the caps property of zerosrc to the format of the frames"));
      goto fail;
    }
    GST_DEBUG_OBJECT (self, "metadata: %s", quoted);
    if (!zerobuffer_metadata_get_string (meta, meta_size, "caps", &caps_str,
            &why)) {
      ZEROBUFFER_ELEMENT_ERROR (self, ZB_EMETADATA, zb_reader_name (reader),
          ("Cannot read the metadata %s wrote into ring %s: %s", writer,
              zb_reader_name (reader), why),
          ("metadata (%" G_GUINT64_FORMAT " bytes): %s; set the caps property "
              "of zerosrc to the format of the frames", meta_size, quoted));
      goto fail;
    }
    if (caps_str == NULL) {
      ZEROBUFFER_ELEMENT_ERROR (self, ZB_EMETADATA, zb_reader_name (reader),
          ("The metadata of ring %s has no \"caps\" string, so the caps are "
              "unknown", zb_reader_name (reader)),
          ("metadata from %s: %s; set the caps property of zerosrc to the "
              "format of the frames", writer, quoted));
      goto fail;
    }
    caps = zerobuffer_stream_caps_from_peer (caps_str, &why);
    if (caps == NULL) {
      gchar *quoted_caps = zerobuffer_quote_peer_bytes ((const guint8 *)
          caps_str, strlen (caps_str), 128);

      ZEROBUFFER_ELEMENT_ERROR (self, ZB_EMETADATA, zb_reader_name (reader),
          ("Cannot use the caps %s sent in the metadata of ring %s: %s",
              writer, zb_reader_name (reader), why),
          ("caps \"%s\"; set the caps property of zerosrc to the format of "
              "the frames", quoted_caps));
      g_free (quoted_caps);
      g_free (caps_str);
      goto fail;
    }
    g_free (caps_str);
  }
  g_free (quoted);
  g_free (writer);

  GST_INFO_OBJECT (self, "caps %" GST_PTR_FORMAT, caps);
  if (!gst_zero_src_downstream_accepts (self, caps, &takes) ||
      !gst_base_src_set_caps (GST_BASE_SRC (self), caps)) {
    gchar *text = gst_caps_to_string (caps);

    ZEROBUFFER_ELEMENT_ERROR (self, ZB_EMETADATA, zb_reader_name (reader),
        ("Downstream does not accept the caps %s of ring %s", text,
            zb_reader_name (reader)),
        ("%s%s", takes ? "downstream takes " : "the caps event was refused",
            takes ? takes : ""));
    g_free (takes);
    g_free (text);
    gst_caps_unref (caps);
    return FALSE;
  }
  gst_caps_replace (&self->stream_caps, caps);
  gst_caps_unref (caps);
  return TRUE;

fail:
  g_free (why);
  g_free (quoted);
  g_free (writer);
  if (caps != NULL)
    gst_caps_unref (caps);
  return FALSE;
}

/* Posts that frames of SIZE bytes of CAPS (the caps property's when
 * OVERRIDDEN, else the metadata's), with HEADER bytes of per-frame header,
 * can never fit ring NAME, whose largest frame is LARGEST bytes. */
static void
gst_zero_src_post_too_big (GstZeroSrc * self, const gchar * name,
    GstCaps * caps, gboolean overridden, guint64 size, guint64 header,
    guint64 largest)
{
  gchar *text = gst_caps_to_string (caps);
  gchar *quoted = zerobuffer_quote_peer_bytes ((const guint8 *) text,
      strlen (text), 256);

  ZEROBUFFER_ELEMENT_ERROR (self, ZB_EMSGSIZE, name,
      ("Frames of %" G_GUINT64_FORMAT " bytes can never fit ring %s (largest "
          "frame: %" G_GUINT64_FORMAT " bytes): set payload-size to at least %"
          G_GUINT64_FORMAT " bytes", size + header, name, largest,
          zb_payload_size_for (size, 1, header > 0)),
      ("caps \"%s\" (%s)%s; with payload-size=0, %s size the ring", quoted,
          overridden ? "the caps property" : "the metadata",
          header > 0 ? ", and the per-frame header" : "", overridden ?
          "they" : "fixed raw caps after zerosrc"));
  g_free (quoted);
  g_free (text);
}

/* Whether a frame of the writer's caps (the caps property, else the
 * metadata's) fits the ring: raw video's frames have one size
 * (zerobuffer_frame_size), which zerosink writes. One that cannot is refused
 * to the writer (ZB_EMSGSIZE), which then leaves before its first frame:
 * without this look the stream would end without a frame and without a
 * word. Looked at once the metadata is there (the caps property's frames
 * without the per-frame header were at the start,
 * gst_zero_src_property_frames_fit); it is written once per ring, so a
 * later writer's caps are the same, unless its frames carry their own
 * (the per-frame header, and no caps property): those may be of other caps
 * than the metadata's, even the first writer's (caps changed before its
 * first frame), so they are judged only when STREAM_ENDS (the writer left
 * without a frame and no next one is waited for; zerosink
 * on-reader-lost=wait comes back with caps that fit). The caps are sized
 * once (fit_caps), not at each wait of a stream whose frames carry their
 * own. FALSE, with an error posted, when no frame can ever fit. Raw
 * audio's buffers, and encoded frames, have no one size: not judged (the
 * writer's own error names the payload size its buffer needs). */
static gboolean
gst_zero_src_check_frames_fit (GstZeroSrc * self, zb_reader * reader,
    gboolean stream_ends)
{
  const uint8_t *meta = NULL;
  uint64_t meta_size = 0;
  ZeroBufferFrameSize sized = { 0 };
  GstCaps *caps;
  gchar *caps_str = NULL, *why = NULL;
  gboolean overridden;
  guint64 header = 0, largest;

  if (zb_reader_metadata (reader, &meta, &meta_size) < 0 || meta_size == 0)
    return TRUE;
  GST_OBJECT_LOCK (self);
  overridden = self->caps != NULL;
  caps = overridden && self->fit_caps == NULL ? gst_caps_ref (self->caps) :
      NULL;
  GST_OBJECT_UNLOCK (self);
  if (self->fit_caps == NULL) {
    /* metadata that cannot be read fails at the first frame, with its own
     * message (gst_zero_src_negotiate_from_ring) */
    if (caps == NULL && zerobuffer_metadata_get_string (meta, meta_size,
            "caps", &caps_str, &why) && caps_str != NULL)
      caps = zerobuffer_stream_caps_from_peer (caps_str, &why);
    g_free (caps_str);
    g_free (why);
    self->fit_size = zerobuffer_frame_size (&sized, caps);
    zerobuffer_frame_size_clear (&sized);
    if (self->fit_size == 0) {
      gst_clear_caps (&caps);
      self->fit_checked = TRUE;
      return TRUE;
    }
    self->fit_caps = caps;
  }
  if (zb_metadata_frame_header (meta, meta_size) == 1)
    header = ZB_EXT_HEADER_SIZE;
  largest = zb_reader_max_frame_size (reader);
  if (self->fit_size + header <= largest || (header > 0 && !overridden &&
          !stream_ends)) {
    self->fit_checked = self->fit_size + header <= largest;
    return TRUE;
  }
  self->fit_checked = TRUE;
  gst_zero_src_post_too_big (self, zb_reader_name (reader), self->fit_caps,
      overridden, self->fit_size, header, largest);
  return FALSE;
}

/* Whether a raw video frame of the caps property fits the new ring
 * READER, without the per-frame header (whether it comes, only the
 * writer's metadata says: gst_zero_src_check_frames_fit). The property is
 * the frames' format, so a ring too small for one fails at the start: a
 * peer writer writes no metadata, and leaves no trace in the ring when its
 * frame is refused, so zerosrc would wait for it without a word. FALSE,
 * with an error posted, when it does not. */
static gboolean
gst_zero_src_property_frames_fit (GstZeroSrc * self, zb_reader * reader)
{
  ZeroBufferFrameSize sized = { 0 };
  GstCaps *caps;
  guint64 size, largest = zb_reader_max_frame_size (reader);

  GST_OBJECT_LOCK (self);
  caps = self->caps ? gst_caps_ref (self->caps) : NULL;
  GST_OBJECT_UNLOCK (self);
  size = zerobuffer_frame_size (&sized, caps);
  zerobuffer_frame_size_clear (&sized);
  if (size > largest)
    gst_zero_src_post_too_big (self, zb_reader_name (reader), caps,
        TRUE, size, 0, largest);
  gst_clear_caps (&caps);
  return size <= largest;
}

static void
gst_zero_src_announce (GstZeroSrc * self, const gchar * name,
    guint64 metadata_size, guint64 payload_size)
{
  GString *line = g_string_new
      ("> {\"jsonrpc\":\"2.0\",\"method\":\"start-stream\",\"params\":[");

  zerobuffer_json_append_string (line, name);
  g_string_append_printf (line, ",%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT
      "]}\n", metadata_size, payload_size);
  fputs (line->str, stdout);
  fflush (stdout);
  GST_INFO_OBJECT (self, "announced: %s", line->str);
  g_string_free (line, TRUE);
}

static void
gst_zero_src_forget_frame_caps (GstZeroSrc * self)
{
  g_clear_pointer (&self->frame_caps_text, g_free);
  gst_clear_caps (&self->frame_caps);
}

/* The caps a frame carries in its header's attributes ({"caps":"..."}: a
 * writer whose caps changed after it wrote the metadata, such as zerosink
 * frame-header=true), else the ring's, set downstream when they change
 * (unless the caps property overrides them). FALSE, with an error posted,
 * when they cannot be used. */
static gboolean
gst_zero_src_follow_frame_caps (GstZeroSrc * self, zb_reader * reader,
    guint64 sequence, const zb_frame_ext * ext)
{
  gchar *text = NULL, *why = NULL, *takes = NULL;
  GstCaps *caps;
  gboolean overridden;

  GST_OBJECT_LOCK (self);
  overridden = self->caps != NULL;
  GST_OBJECT_UNLOCK (self);
  if (overridden)
    return TRUE;
  if (ext->attrs_size > 0 && !zerobuffer_metadata_get_string (ext->attrs,
          ext->attrs_size, "caps", &text, &why)) {
    /* attributes are opaque to the protocol, so other bytes do not stop
     * the stream; but caps a writer meant to send in them would be lost
     * without a word */
    if (!self->attrs_warned) {
      gchar *quoted = zerobuffer_quote_peer_bytes (ext->attrs,
          ext->attrs_size, 256);

      ZEROBUFFER_ELEMENT_WARNING (self, ZB_EMETADATA, zb_reader_name (reader),
          ("Frame %" G_GUINT64_FORMAT " of ring %s carries header "
              "attributes that are not a JSON object (%s), so caps in them "
              "are not read: such frames are taken as carrying none (said "
              "once)", sequence, zb_reader_name (reader), why),
          ("attributes: %s", quoted));
      g_free (quoted);
      self->attrs_warned = TRUE;
    }
    g_clear_pointer (&why, g_free);
  }
  if (g_strcmp0 (text, self->frame_caps_text) == 0) {
    g_free (text);
    return TRUE;
  }
  caps = text == NULL ? gst_caps_ref (self->stream_caps) :
      zerobuffer_stream_caps_from_peer (text, &why);
  if (caps == NULL) {
    ZEROBUFFER_ELEMENT_ERROR (self, ZB_EMETADATA, zb_reader_name (reader),
        ("Frame %" G_GUINT64_FORMAT " of ring %s carries caps that cannot be "
            "used: %s", sequence, zb_reader_name (reader), why),
        ("set the caps property of zerosrc to the format of the frames"));
    g_free (why);
    g_free (text);
    return FALSE;
  }
  if (!gst_zero_src_downstream_accepts (self, caps, &takes) ||
      !gst_base_src_set_caps (GST_BASE_SRC (self), caps)) {
    gchar *wanted = gst_caps_to_string (caps);

    ZEROBUFFER_ELEMENT_ERROR (self, ZB_EMETADATA, zb_reader_name (reader),
        ("Downstream does not accept the caps %s that frame %" G_GUINT64_FORMAT
            " of ring %s changed to", wanted, sequence,
            zb_reader_name (reader)),
        ("%s%s", takes ? "downstream takes " : "the caps event was refused",
            takes ? takes : ""));
    g_free (wanted);
    g_free (takes);
    g_free (text);
    gst_caps_unref (caps);
    return FALSE;
  }
  GST_INFO_OBJECT (self, "frame %" G_GUINT64_FORMAT " changes the caps to %"
      GST_PTR_FORMAT, sequence, caps);
  gst_zero_src_forget_frame_caps (self);
  self->frame_caps_text = text;
  if (text != NULL)
    self->frame_caps = caps;
  else
    gst_caps_unref (caps);
  return TRUE;
}

/* A writer's timestamp, or -1: none, or too large to be a running time
 * (the header's values come from another process). */
static GstClockTimeDiff
writer_time (uint64_t t)
{
  return t == ZB_EXT_NONE || t > (uint64_t) G_MAXINT64 / 2 ? -1 :
      (GstClockTimeDiff) t;
}

/* The caps of the frames pushed now: the last frame's own, else the
 * stream's. */
static GstCaps *
gst_zero_src_caps_in_force (GstZeroSrc * self)
{
  return self->frame_caps != NULL ? self->frame_caps : self->stream_caps;
}

/* Whether a frame of SIZE bytes can be a frame of the caps in force
 * (zerobuffer_frame_size_fits: raw video in system memory has one size,
 * raw audio whole sample frames). FALSE, with an error posted, when the
 * frame cannot be. */
static gboolean
gst_zero_src_check_frame_size (GstZeroSrc * self, zb_reader * reader,
    guint64 sequence, gsize size)
{
  GstCaps *caps = gst_zero_src_caps_in_force (self);
  gchar *expected, *text, *quoted, *writer;
  const gchar *rule;
  gboolean overridden;

  if (zerobuffer_frame_size_fits (&self->sized, caps, size, "", &expected,
          &rule))
    return TRUE;

  GST_OBJECT_LOCK (self);
  overridden = self->caps != NULL;
  GST_OBJECT_UNLOCK (self);
  text = gst_caps_to_string (caps);
  quoted = zerobuffer_quote_peer_bytes ((const guint8 *) text, strlen (text),
      256);
  writer = gst_zero_src_describe_writer (reader);
  ZEROBUFFER_ELEMENT_ERROR (self, ZB_EPROTO, zb_reader_name (reader),
      ("Frame %" G_GUINT64_FORMAT " of ring %s has %" G_GSIZE_FORMAT
          " bytes, but %s%s", sequence, zb_reader_name (reader), size,
          expected, overridden ? ": set the caps property of zerosrc to the "
          "format of the frames" : ""),
      ("caps \"%s\" (%s), frame from %s; %s", quoted, overridden ?
          "the caps property" : self->frame_caps != NULL ?
          "the frame's header" : "the metadata", writer, rule));
  g_free (writer);
  g_free (expected);
  g_free (quoted);
  g_free (text);
  return FALSE;
}

/* How long SIZE bytes last by the caps in force: raw audio by its rate
 * and frame size, else one frame at the framerate; NONE when the caps do
 * not say (a framerate of 0/1 is a variable rate). */
static GstClockTime
gst_zero_src_caps_duration (GstZeroSrc * self, gsize size)
{
  GstCaps *caps = gst_zero_src_caps_in_force (self);
  GstAudioInfo audio;
  gint n, d;

  if (caps != NULL && gst_caps_get_size (caps) > 0 &&
      gst_structure_has_name (gst_caps_get_structure (caps, 0), "audio/x-raw")
      && gst_audio_info_from_caps (&audio, caps) &&
      GST_AUDIO_INFO_BPF (&audio) > 0 && GST_AUDIO_INFO_RATE (&audio) > 0)
    return gst_util_uint64_scale_int (size / GST_AUDIO_INFO_BPF (&audio),
        GST_SECOND, GST_AUDIO_INFO_RATE (&audio));
  if (caps != NULL && gst_caps_get_size (caps) > 0 &&
      gst_structure_get_fraction (gst_caps_get_structure (caps, 0),
          "framerate", &n, &d) && n > 0 && d > 0)
    return gst_util_uint64_scale_int (GST_SECOND, d, n);
  return GST_CLOCK_TIME_NONE;
}

/* A frame's duration: the header's, unless a bad one, else by the caps;
 * NONE when neither says. */
static GstClockTime
gst_zero_src_frame_duration (GstZeroSrc * self, const zb_frame_ext * ext)
{
  GstClockTime duration = zerobuffer_plausible_duration (ext->duration);

  return GST_CLOCK_TIME_IS_VALID (duration) ? duration :
      gst_zero_src_caps_duration (self, ext->size);
}

/* A frame without DISCONT whose decode time leaps absurdly far ahead of
 * the writer's timeline: one that leads its commit by more than
 * ZEROBUFFER_TS_LEAP (an hour) plus its duration (the header's unless a
 * bad one, else the caps') more than the frame before did, or the first
 * frame after such a leap that goes back more than ZEROBUFFER_TS_LEAP
 * before it (the leap was a lone bad timestamp), unanchors the time base,
 * as a DISCONT frame that jumps does: it is stamped at its commit. Smaller
 * gaps keep the writer's timeline: a writer ahead of its clock (not
 * synchronised, a file) has real holes, and a live writer's gaps come with
 * as late commits. Warns once a writer. TRUE when the frame leapt ahead. */
static gboolean
gst_zero_src_check_leap (GstZeroSrc * self, const zb_frame_ext * ext,
    GstClockTimeDiff decode, GstClockTimeDiff committed, const gchar * ring)
{
  GstClockTimeDiff at = decode + self->ts_offset;
  GstClockTimeDiff gain = at - committed - self->ts_lead;
  gboolean back = self->ts_leapt &&
      at < self->ts_last - ZEROBUFFER_TS_LEAP;
  gboolean ahead = FALSE;

  if (gain > ZEROBUFFER_TS_LEAP) {
    GstClockTime step = gst_zero_src_frame_duration (self, ext);

    ahead = !GST_CLOCK_TIME_IS_VALID (step) ||
        gain - (GstClockTimeDiff) step > ZEROBUFFER_TS_LEAP;
  }
  if (!ahead && !back)
    return FALSE;
  self->ts_anchored = FALSE;
  GST_DEBUG_OBJECT (self, "writer time %" GST_TIME_FORMAT " %s %"
      GST_STIME_FORMAT " without DISCONT: a new time base",
      GST_TIME_ARGS (decode), ahead ? "leaps ahead by" : "goes back by",
      GST_STIME_ARGS (ahead ? gain : self->ts_last - at));
  if (!self->leap_warned) {
    ZEROBUFFER_ELEMENT_WARNING (self, ZB_EPROTO, ring,
        ("The writer of ring %s stamped a frame %" GST_STIME_FORMAT " %s "
            "the frames before it without marking it DISCONT: it is stamped "
            "at its commit, a new time base, not a gap for synchronised "
            "sinks to wait out (said once)", ring, GST_STIME_ARGS (ahead ?
                gain : self->ts_last - at), ahead ? "ahead of" : "before"),
        ("writer PTS %" GST_TIME_FORMAT ", DTS %" GST_TIME_FORMAT,
            GST_TIME_ARGS (ext->pts == ZB_EXT_NONE ? GST_CLOCK_TIME_NONE :
                ext->pts), GST_TIME_ARGS (ext->dts == ZB_EXT_NONE ?
                GST_CLOCK_TIME_NONE : ext->dts)));
    self->leap_warned = TRUE;
  }
  return ahead;
}

/* The running time of a frame's commit: now, less how long ago it was (the
 * writer's CLOCK_MONOTONIC, ours too on one host), not before 0; now when
 * the header has no commit time. NOW is valid. */
static GstClockTimeDiff
gst_zero_src_commit_time (const zb_frame_ext * ext, GstClockTime now)
{
  GstClockTimeDiff age = ext->commit_ns != 0 ?
      (GstClockTimeDiff) (zb_now_ns () - ext->commit_ns) : 0;

  return (GstClockTimeDiff) now - CLAMP (age, 0, (GstClockTimeDiff) now);
}

/* The writer's timestamps and flags from the per-frame header. The first
 * frame with a timestamp after a new writer (or after we went PLAYING
 * again) anchors the time base: its decode time (the DTS, else the PTS) is
 * the running time of the frame's commit (the writer's CLOCK_MONOTONIC,
 * ours too on one host), so a frame that waited in the ring is not stamped
 * fresh; later frames keep the writer's spacing. Never before the end of
 * what was pushed already (ts_pushed_end: our running time stands still
 * while PAUSED, the writer's clock does not, and a writer that seeked back
 * commits its next frame before the one before has ended), nor before 0.
 * A frame's decode time is never
 * more than ZEROSRC_TS_SLACK before its commit: when the writer's timeline
 * fell behind its clock (it paused, or seeked or looped back) the time base
 * moves forward by as much, so that such frames do not reach the sinks late
 * for ever; that move is no DISCONT when the frame starts where the
 * writer's frame before ended (within half its duration): the data goes on,
 * only late, and a decoder drains on DISCONT (vorbisdec lost a third of a
 * slow writer's samples). Frames are committed in decode order, hence the
 * DTS. A DISCONT
 * frame that leads its commit by over ZEROSRC_TS_JUMP more than the frame
 * before did starts a new time base, and so does one without DISCONT by
 * over ZEROBUFFER_TS_LEAP (plus its duration): else a synchronised sink
 * waits out the leap (a PTS of 2^62 ns: 146 years). The first buffer of a
 * new time base, or of one moved for frames lost or skipped, is DISCONT: its
 * timestamp does not follow the buffer before it, and an audio sink
 * resyncs on that flag at once (without it, audiobasesink takes the jump
 * for drift and aligns the samples with those before it for up to its
 * discont-wait, a second, as after a move for lateness alone). */
static void
gst_zero_src_apply_ext (GstZeroSrc * self, GstBuffer * buffer,
    const zb_frame_ext * ext, const gchar * ring)
{
  GstClockTimeDiff pts = writer_time (ext->pts), dts = writer_time (ext->dts);
  GstClockTimeDiff decode = dts >= 0 ? dts : pts;

  if (decode >= 0) {
    GstClockTime now = gst_element_get_current_running_time (GST_ELEMENT
        (self));
    GstClockTimeDiff committed = GST_CLOCK_TIME_IS_VALID (now) ?
        gst_zero_src_commit_time (ext, now) : 0;
    GstClockTimeDiff offset_before = self->ts_offset;
    GstClockTime step = gst_zero_src_frame_duration (self, ext);
    gboolean leapt = FALSE, only_late = FALSE;

    /* a DISCONT frame that goes back (or stays: a second seek to the
     * same place), or jumps ahead of its commit, starts a new timeline
     * (the writer seeked or looped: a flush marks it), not a reordered
     * frame, nor a gap a synchronised sink would wait out while the ring
     * fills */
    if (self->ts_anchored && (ext->flags & GST_BUFFER_FLAG_DISCONT) &&
        (decode + self->ts_offset <= self->ts_last ||
            decode + self->ts_offset - committed - self->ts_lead >
            ZEROSRC_TS_JUMP))
      self->ts_anchored = FALSE;
    else if (self->ts_anchored && GST_CLOCK_TIME_IS_VALID (now))
      leapt = gst_zero_src_check_leap (self, ext, decode, committed, ring);
    self->ts_leapt = leapt;
    if (!self->ts_anchored) {
      GstClockTimeDiff offset = MAX (committed, MAX (self->ts_last + 1,
              self->ts_pushed_end)) - decode;

      /* the same writer's encoded frames that waited through a pause: at
       * its spacing to the frames pushed before, not bunched just after
       * the last of them; only for that anchor, as a later one (a jump,
       * a leap) is a new time base the old offset would undo */
      self->ts_offset = self->ts_keep_offset ? MAX (offset, self->ts_offset) :
          offset;
      self->ts_keep_offset = FALSE;
      self->ts_anchored = TRUE;
      GST_DEBUG_OBJECT (self, "writer time %" GST_TIME_FORMAT " committed at "
          "running time %" GST_STIME_FORMAT ": offset %" GST_STIME_FORMAT,
          GST_TIME_ARGS (decode), GST_STIME_ARGS (committed),
          GST_STIME_ARGS (self->ts_offset));
    } else if (GST_CLOCK_TIME_IS_VALID (now) &&
        decode + self->ts_offset >= self->ts_last) {
      /* (not by a PTS-only stream's reordered frames, which decode by
       * their PTS before the frames pushed already: moved, they would
       * swap places) */
      GstClockTimeDiff lead = decode + self->ts_offset - committed;

      if (lead < -ZEROSRC_TS_SLACK) {
        self->ts_offset -= lead;
        only_late = self->ts_end >= 0 &&
            ABS (decode - self->ts_end) <=
            (GstClockTimeDiff) self->ts_step / 2;
        GST_DEBUG_OBJECT (self, "writer time %" GST_TIME_FORMAT " came %"
            GST_STIME_FORMAT " before its commit: offset %" GST_STIME_FORMAT,
            GST_TIME_ARGS (decode), GST_STIME_ARGS (-lead),
            GST_STIME_ARGS (self->ts_offset));
      }
    }
    self->ts_lead = decode + self->ts_offset - committed;
    if (self->ts_offset != offset_before && !only_late)
      GST_BUFFER_FLAG_SET (buffer, GST_BUFFER_FLAG_DISCONT);
    self->ts_end = GST_CLOCK_TIME_IS_VALID (step) ?
        decode + (GstClockTimeDiff) step : -1;
    self->ts_step = step;
  }
  if (dts < 0 && pts >= 0 && self->ts_anchored &&
      pts + self->ts_offset < self->ts_last && !self->reorder_warned) {
    /* reordered frames (B-frames) without a DTS: a muxer that does not
     * work the DTS out stores them in the wrong order, and mp4mux says
     * nothing of it */
    GST_ELEMENT_WARNING (self, STREAM, FORMAT, ("The writer sends frames "
            "without a DTS whose PTS go back (reordered frames, B-frames): "
            "a muxer such as mp4mux stores them in the wrong order. Have the "
            "writer send their DTS, or put the timestamper before the muxer: "
            "h265parse ! video/x-h265,stream-format=hvc1 ! h265timestamper ! "
            "mp4mux (H.264: h264parse ! video/x-h264,stream-format=avc ! "
            "h264timestamper) (said once)"),
        ("writer PTS %" GST_TIME_FORMAT " comes %" GST_STIME_FORMAT " before "
            "the last decode time pushed", GST_TIME_ARGS (pts),
            GST_STIME_ARGS (self->ts_last - pts - self->ts_offset)));
    self->reorder_warned = TRUE;
  }
  if (pts >= 0 && pts + self->ts_offset >= 0)
    GST_BUFFER_PTS (buffer) = pts + self->ts_offset;
  /* A frame without a DTS keeps none (GStreamer's "unknown", as from an
   * RTP depayloader), neither its PTS, which goes back in a reordered
   * stream, nor its arrival, which can come after its PTS: what knows the
   * reordering (h264timestamper, h265timestamper) works it out. */
  if (dts >= 0 && self->ts_anchored && dts + self->ts_offset >= 0)
    GST_BUFFER_DTS (buffer) = dts + self->ts_offset;
  if (decode >= 0 && self->ts_anchored && decode + self->ts_offset >= 0)
    self->ts_last = MAX (self->ts_last, decode + self->ts_offset);
  /* a bad duration is dropped, the buffer lasting as one without (create
   * gives it the caps'): else a sink or muxer would take it as given */
  if (GST_CLOCK_TIME_IS_VALID (zerobuffer_plausible_duration
          (ext->duration)))
    GST_BUFFER_DURATION (buffer) = ext->duration;
  else if (ext->duration != ZB_EXT_NONE) {
    GST_DEBUG_OBJECT (self, "writer duration %" GST_TIME_FORMAT " is over "
        "an hour: dropped", GST_TIME_ARGS (ext->duration));
    if (!self->duration_warned) {
      ZEROBUFFER_ELEMENT_WARNING (self, ZB_EPROTO, ring,
          ("The writer of ring %s gave a frame a duration of %"
              GST_TIME_FORMAT ", over an hour: taken for a bad one, the "
              "buffer lasts as one without a duration (said once)", ring,
              GST_TIME_ARGS (ext->duration)),
          ("writer PTS %" GST_TIME_FORMAT ", duration %" G_GUINT64_FORMAT
              " ns", GST_TIME_ARGS (ext->pts == ZB_EXT_NONE ?
                  GST_CLOCK_TIME_NONE : ext->pts), ext->duration));
      self->duration_warned = TRUE;
    }
  }
  GST_BUFFER_FLAG_SET (buffer, ext->flags & ZEROBUFFER_CARRIED_FLAGS);
}

/* A buffer stamped PTS left LAG behind our running time (for
 * gst_zero_src_note_qos). */
static void
gst_zero_src_note_lag (GstZeroSrc * self, GstClockTime pts, GstClockTime lag)
{
  GST_OBJECT_LOCK (self);
  self->pushed[self->pushed_next].pts = pts;
  self->pushed[self->pushed_next].lag = lag;
  self->pushed_next = (self->pushed_next + 1) % G_N_ELEMENTS (self->pushed);
  GST_OBJECT_UNLOCK (self);
}

/* No downstream time known, and no buffer pushed to match a QoS event
 * with (an empty entry's PTS is none, which no QoS event carries). Object
 * lock held, or not shared yet. */
static void
gst_zero_src_forget_downstream (GstZeroSrc * self)
{
  guint i;

  self->downstream_time = GST_CLOCK_TIME_NONE;
  for (i = 0; i < G_N_ELEMENTS (self->pushed); i++)
    self->pushed[i].pts = GST_CLOCK_TIME_NONE;
  self->pushed_next = 0;
}

/* A sink's QoS event: the buffer of running time TIMESTAMP reached it DIFF
 * after its due time (the running time plus the pipeline's latency; DIFF
 * is negative when early). It left us its lag after TIMESTAMP, so the
 * rest is what downstream took from our push: the part of the latency a
 * stamp must leave it (gst_zero_src_stamp_untimed). */
static void
gst_zero_src_note_qos (GstZeroSrc * self, GstEvent * event)
{
  GstClockTimeDiff diff, took;
  GstClockTime timestamp;
  guint i;

  gst_event_parse_qos (event, NULL, NULL, &diff, &timestamp);
  GST_OBJECT_LOCK (self);
  for (i = 0; i < G_N_ELEMENTS (self->pushed); i++) {
    if (self->pushed[i].pts != timestamp)
      continue;
    took = (GstClockTimeDiff) self->pipeline_latency + diff -
        (GstClockTimeDiff) self->pushed[i].lag;
    self->downstream_time = MAX (took, 0);
    GST_LOG_OBJECT (self, "buffer %" GST_TIME_FORMAT " took %"
        GST_STIME_FORMAT " downstream", GST_TIME_ARGS (timestamp),
        GST_STIME_ARGS (took));
    break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* A live source's stamp for what the writer did not stamp: with the frame
 * header (EXT), the running time of its commit, as the writer's stamped
 * frames are anchored: one clock for all the frames of the stream, so that
 * one read late (its arrival after the stamped frames' commits) is not
 * stamped after the stamped frames that follow it, and a writer that
 * stamped only its first frame (basesrc does filesrc's) has the others
 * stamped at its pace. Without it, a frame we waited for gets the running
 * time of its arrival (as basesrc's do-timestamp would). One that was
 * waiting in the ring already (QUEUED) came one duration (the caps', SIZE
 * bytes) after the frame before it, at the writer's pace, or now if that
 * is earlier: a synchronised sink holds our push for its processing deadline
 * (20 ms), and frames stamped when we got round to them would be spaced by
 * that wait, not by their capture, and fall behind for ever. Never more
 * than the pipeline's latency (the LATENCY event's) before now: that is
 * as far as the sink's hold puts the next frame's read after its due
 * time, and while downstream takes frames slower than the caps' rate (the
 * writer then writes at our pace) stamps one duration apart would fall
 * ever further behind, late for a sink that drops late buffers. Less what
 * downstream took a buffer from our push to the sink (gst_zero_src_note_qos):
 * that part of the latency is downstream's, and frames stamped the whole
 * latency behind, behind an element slower than the caps' rate, reached a
 * video sink late (fakevideosink dropped 93 of 101). The first frame of a
 * writer (and after a pause or a flush), and one of unknown duration, gets
 * its arrival. Always after
 * what was pushed already, 1 ns at least, and what is stamped after it is
 * not before it either (the anchor comes after ts_last); with the header,
 * never within a stamped frame's duration. */
static void
gst_zero_src_stamp_untimed (GstZeroSrc * self, GstBuffer * buffer,
    const zb_frame_ext * ext, gboolean queued, gsize size)
{
  GstClockTime now = gst_element_get_current_running_time (GST_ELEMENT
      (self));
  GstClockTime step;
  GstClockTimeDiff at;

  if (!GST_CLOCK_TIME_IS_VALID (now))
    at = self->ts_last;
  else if (ext != NULL)
    at = gst_zero_src_commit_time (ext, now);
  else {
    at = now;
    if (queued && self->ts_anchored &&
        GST_CLOCK_TIME_IS_VALID (step = gst_zero_src_caps_duration (self,
                size))) {
      GstClockTime latency;

      GST_OBJECT_LOCK (self);
      latency = self->pipeline_latency;
      if (GST_CLOCK_TIME_IS_VALID (self->downstream_time))
        latency -= MIN (latency, self->downstream_time);
      GST_OBJECT_UNLOCK (self);
      /* (step and latency capped at now, as the stamp is: no sum overflows) */
      at = MIN ((GstClockTimeDiff) now, self->ts_last +
          (GstClockTimeDiff) MIN (step, now));
      at = MAX (at, (GstClockTimeDiff) (now - MIN (latency, now)));
    }
    self->ts_anchored = TRUE;
  }
  at = MAX (at, self->ts_last);
  if (at < 0)
    return;
  /* after the last one pushed: no two buffers with one PTS, however
   * little our running time moved between them (frames committed at once,
   * a clock of coarse steps); with the header also after the end of the
   * writer's frame before (a writer ahead of its clock: its PTS leads the
   * commits), as a new time base starts: none within a stamped frame; not
   * after the end of our own stamp, whose duration is the caps' guess, not
   * the writer's pace */
  at = MAX (at, self->ts_last + 1);
  if (ext != NULL && !self->ts_last_untimed)
    at = MAX (at, self->ts_pushed_end);
  GST_BUFFER_PTS (buffer) = GST_BUFFER_DTS (buffer) = at;
  self->ts_last = at;
  self->ts_last_untimed = TRUE;
  if (ext == NULL && GST_CLOCK_TIME_IS_VALID (now))
    gst_zero_src_note_lag (self, at, (GstClockTimeDiff) now > at ? now - at :
        0);
}

/* -------------------------------------------------- init / properties */

/* A flush that resets the running time (flush-stop with reset-time: an
 * application dropping what its pipeline holds sends it to the pipeline,
 * which has us push it, or to a sink, whence it comes up to us): frames
 * stamped on from the time base before would be ahead of the running time
 * by all that went, for a synchronised sink to wait out. And the
 * pipeline's latency, which a sink's LATENCY event brings up to us: how far
 * behind a frame that waited in the ring may be stamped, less what the
 * sink's QoS events tell downstream takes. */
static GstPadProbeReturn
gst_zero_src_flush_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  gboolean reset_time = FALSE;

  if (GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_STOP)
    gst_event_parse_flush_stop (event, &reset_time);
  if (reset_time)
    g_atomic_int_set (&GST_ZERO_SRC (data)->time_reset, TRUE);
  if (GST_EVENT_TYPE (event) == GST_EVENT_QOS)
    gst_zero_src_note_qos (GST_ZERO_SRC (data), event);
  if (GST_EVENT_TYPE (event) == GST_EVENT_LATENCY) {
    GstClockTime latency;

    gst_event_parse_latency (event, &latency);
    GST_OBJECT_LOCK (data);
    GST_ZERO_SRC (data)->pipeline_latency =
        GST_CLOCK_TIME_IS_VALID (latency) ? latency : 0;
    GST_OBJECT_UNLOCK (data);
  }
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn gst_zero_src_ended (GstPad * pad,
    GstPadProbeInfo * info, gpointer unused);

/* basesrc sends an ALLOCATION query after every negotiation that succeeds,
 * with the caps then set; ours succeeds without caps until the first frame
 * brought them (gst_zero_src_negotiate), and a query without caps is a
 * CRITICAL in sinks that read them (fakevideosink's gst_video_info_from_caps).
 * Not sent: basesrc takes the query as unanswered, and zerosrc allocates
 * nothing (its buffers wrap the ring). */
static GstPadProbeReturn
gst_zero_src_allocation_probe (GstPad * pad, GstPadProbeInfo * info,
    gpointer unused)
{
  GstQuery *query = GST_PAD_PROBE_INFO_QUERY (info);
  GstCaps *caps = NULL;

  if (GST_QUERY_TYPE (query) != GST_QUERY_ALLOCATION)
    return GST_PAD_PROBE_OK;
  gst_query_parse_allocation (query, &caps, NULL);
  return caps == NULL ? GST_PAD_PROBE_DROP : GST_PAD_PROBE_OK;
}

static void
gst_zero_src_init (GstZeroSrc * self)
{
  self->buffer_name = g_strdup (DEFAULT_BUFFER_NAME);
  self->metadata_size = DEFAULT_METADATA_SIZE;
  self->payload_size = DEFAULT_PAYLOAD_SIZE;
  self->mode = ZEROBUFFER_DEFAULT_MODE;
  self->timeout = DEFAULT_TIMEOUT;
  self->caps = DEFAULT_CAPS;
  self->eos_on_writer_exit = DEFAULT_EOS_ON_WRITER_EXIT;
  self->announce = DEFAULT_ANNOUNCE;
  self->do_timestamp = DEFAULT_DO_TIMESTAMP;
  gst_zero_src_forget_downstream (self);

  gst_base_src_set_live (GST_BASE_SRC (self), TRUE);
  gst_pad_add_probe (GST_BASE_SRC_PAD (self), GST_PAD_PROBE_TYPE_EVENT_FLUSH |
      GST_PAD_PROBE_TYPE_EVENT_BOTH, gst_zero_src_flush_probe, self, NULL);
  gst_base_src_set_format (GST_BASE_SRC (self), GST_FORMAT_TIME);
  gst_pad_add_probe (GST_BASE_SRC_PAD (self),
      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, gst_zero_src_ended, NULL, NULL);
  gst_pad_add_probe (GST_BASE_SRC_PAD (self),
      GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM, gst_zero_src_allocation_probe,
      NULL, NULL);
  /* not basesrc's do-timestamp, which would give a frame with a PTS but
   * no DTS its arrival as DTS: create() stamps frames without either (and
   * the property of that name is zerosrc's own, PROP_DO_TIMESTAMP) */
}

static void
gst_zero_src_finalize (GObject * object)
{
  GstZeroSrc *self = GST_ZERO_SRC (object);

  gst_zero_src_ring_close (self->ring);
  gst_caps_replace (&self->caps, NULL);
  gst_caps_replace (&self->stream_caps, NULL);
  gst_zero_src_forget_frame_caps (self);
  zerobuffer_frame_size_clear (&self->sized);
  gst_clear_caps (&self->fit_caps);
  g_free (self->buffer_name);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_zero_src_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstZeroSrc *self = GST_ZERO_SRC (object);

  GST_OBJECT_LOCK (self);
  if (!zerobuffer_property_settable (GST_ELEMENT (object), pspec)) {
    GST_OBJECT_UNLOCK (self);
    return;
  }
  switch (prop_id) {
    case PROP_BUFFER_NAME:
      g_free (self->buffer_name);
      self->buffer_name = g_value_dup_string (value);
      break;
    case PROP_METADATA_SIZE:
      self->metadata_size = g_value_get_uint64 (value);
      break;
    case PROP_PAYLOAD_SIZE:
      self->payload_size = g_value_get_uint64 (value);
      break;
    case PROP_MODE:
      self->mode = g_value_get_uint (value);
      zerobuffer_check_mode (GST_ELEMENT (object), self->mode);
      break;
    case PROP_TIMEOUT:
      self->timeout = g_value_get_int (value);
      break;
    case PROP_CAPS:{
      const GstCaps *caps = gst_value_get_caps (value);
      GstCaps *copy = caps ? gst_caps_copy (caps) : NULL;

      if (self->caps)
        gst_caps_unref (self->caps);
      self->caps = copy;
      break;
    }
    case PROP_EOS_ON_WRITER_EXIT:
      self->eos_on_writer_exit = g_value_get_boolean (value);
      break;
    case PROP_ANNOUNCE:
      self->announce = g_value_get_boolean (value);
      break;
    case PROP_DO_TIMESTAMP:
      /* changes nothing: zerosrc stamps what has no time in any case */
      self->do_timestamp = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_zero_src_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstZeroSrc *self = GST_ZERO_SRC (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_BUFFER_NAME:
      g_value_set_string (value, self->buffer_name);
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
    case PROP_TIMEOUT:
      g_value_set_int (value, self->timeout);
      break;
    case PROP_CAPS:
      gst_value_set_caps (value, self->caps);
      break;
    case PROP_EOS_ON_WRITER_EXIT:
      g_value_set_boolean (value, self->eos_on_writer_exit);
      break;
    case PROP_ANNOUNCE:
      g_value_set_boolean (value, self->announce);
      break;
    case PROP_DO_TIMESTAMP:
      g_value_set_boolean (value, self->do_timestamp);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* ------------------------------------------------------------- vfuncs */

/* The size of the frames the caps property, or else downstream's fixed
 * raw video caps (e.g. a caps filter right after zerosrc), describe; 0
 * when neither says (the writer's caps come later, with its metadata).
 * Raw audio's fixed format, rate and channels give *bytes_per_second
 * instead (its buffers are of any length). */
static gsize
gst_zero_src_expected_frame_size (GstZeroSrc * self,
    guint64 * bytes_per_second)
{
  GstCaps *caps;
  GstStructure *s;
  GstVideoInfo info;
  gsize size = 0;

  GST_OBJECT_LOCK (self);
  caps = self->caps ? gst_caps_ref (self->caps) : NULL;
  GST_OBJECT_UNLOCK (self);
  if (caps == NULL)
    caps = gst_pad_peer_query_caps (GST_BASE_SRC_PAD (self), NULL);
  if (caps != NULL && gst_caps_get_size (caps) == 1 &&
      !gst_caps_is_any (caps)) {
    s = gst_caps_get_structure (caps, 0);
    /* fixating a range would invent a size: only fixed fields count */
    if (gst_structure_has_name (s, "video/x-raw") &&
        gst_structure_has_field_typed (s, "format", G_TYPE_STRING) &&
        gst_structure_has_field_typed (s, "width", G_TYPE_INT) &&
        gst_structure_has_field_typed (s, "height", G_TYPE_INT)) {
      caps = gst_caps_fixate (caps);
      if (gst_video_info_from_caps (&info, caps))
        size = GST_VIDEO_INFO_SIZE (&info);
    } else {
      *bytes_per_second = zerobuffer_audio_bytes_per_second (s);
    }
  }
  if (caps != NULL)
    gst_caps_unref (caps);
  return size;
}

/* Creates the ring (at READY->PAUSED, and again after the end of the
 * stream when a flush starts it anew); FALSE after posting the error. */
static gboolean
gst_zero_src_open_ring (GstZeroSrc * self)
{
  GstBaseSrc *bsrc = GST_BASE_SRC (self);
  gchar *name;
  guint64 metadata_size, payload_size;
  gboolean announce;
  gchar *unfixed_caps, *unusable_caps = NULL;
  zb_reader *reader = NULL;
  zb_reader_options opts = { 0 };
  zb_health health;
  gsize frame_size = 0;
  guint64 bytes_per_second = 0;
  int rc;

  GST_OBJECT_LOCK (self);
  name = g_strdup (self->buffer_name);
  metadata_size = self->metadata_size;
  payload_size = self->payload_size;
  opts.mode = self->mode;
  announce = self->announce;
  unfixed_caps = self->caps != NULL && !gst_caps_is_fixed (self->caps) ?
      gst_caps_to_string (self->caps) : NULL;
  if (self->caps != NULL && unfixed_caps == NULL)
    unusable_caps = zerobuffer_raw_caps_unusable (self->caps);
  /* downstream may be another path now (relinked in READY): its time is
   * learnt again from its own QoS events */
  gst_zero_src_forget_downstream (self);
  GST_OBJECT_UNLOCK (self);

  /* gst_base_src_set_do_timestamp() reaches basesrc's past our property */
  if (gst_base_src_get_do_timestamp (bsrc)) {
    GST_INFO_OBJECT (self, "basesrc's do-timestamp turned off: zerosrc "
        "stamps frames without a time itself");
    gst_base_src_set_do_timestamp (bsrc, FALSE);
  }
  if (!zerobuffer_ring_name_usable (GST_ELEMENT (self), name)) {
    g_free (name);
    g_free (unfixed_caps);
    g_free (unusable_caps);
    return FALSE;
  }
  /* The caps property replaces the writer's caps, so it is the one format
   * of the frames: caps downstream is asked to take as they are (its
   * accept-caps query and the caps event assert that they are fixed),
   * not a filter (a capsfilter after zerosrc is one). */
  if (unfixed_caps != NULL) {
    ZEROBUFFER_ELEMENT_ERROR (self, ZB_EINVAL, name,
        ("The caps property of zerosrc is not fixed: %s", unfixed_caps),
        ("it replaces the caps the writer sends, so it gives the one format "
            "of the frames: no ANY, EMPTY, range or list of values; to check "
            "the writer's caps instead, put a capsfilter after zerosrc"));
    g_free (unfixed_caps);
    g_free (name);
    return FALSE;
  }
  /* fixed raw caps without what sizes a frame: downstream would take them
   * (fakesink) or fail confusingly (videoconvert's "integer overflow"), as
   * with such caps from the writer */
  if (unusable_caps != NULL) {
    ZEROBUFFER_ELEMENT_ERROR (self, ZB_EINVAL, name,
        ("The caps property of zerosrc cannot describe the frames: %s",
            unusable_caps),
        ("it replaces the caps the writer sends: give raw video its format, "
            "width and height (raw audio its format, rate, channels and "
            "layout, and a channel-mask for more than 2 channels)"));
    g_free (unusable_caps);
    g_free (name);
    return FALSE;
  }
  if (payload_size == 0) {
    frame_size = gst_zero_src_expected_frame_size (self, &bytes_per_second);
    payload_size = frame_size > 0 ? zb_default_payload_size (frame_size) :
        zb_default_payload_size_for_rate (bytes_per_second);
  }
  rc = zb_reader_create (&reader, name, metadata_size, payload_size, &opts);
  if (rc < 0) {
    if (rc == ZB_EEXIST)
      ZEROBUFFER_ELEMENT_ERROR (self, rc, name,
          ("Ring %s already has a live reader", name),
          ("%s", zb_last_error ()));
    else
      ZEROBUFFER_ELEMENT_ERROR (self, rc, name,
          ("Could not create ring %s: %s", name, zb_strerror (rc)),
          ("%s", zb_last_error ()));
    g_free (name);
    return FALSE;
  }
  if (!gst_zero_src_property_frames_fit (self, reader)) {
    zb_reader_destroy (reader);
    g_free (name);
    return FALSE;
  }
  /* the sizes as created, which the core rounds: those a writer checks its
   * frames against, in the announcement too */
  if (zb_reader_health (reader, &health) == 0) {
    metadata_size = health.metadata_size;
    payload_size = health.payload_size;
  }
  if (frame_size > 0)
    GST_INFO_OBJECT (self, "created ring %s: metadata %" G_GUINT64_FORMAT
        " bytes, payload %" G_GUINT64_FORMAT " bytes (%u frames of %"
        G_GSIZE_FORMAT " bytes)", name, metadata_size, payload_size,
        zb_default_frames_in_flight (frame_size), frame_size);
  else
    GST_INFO_OBJECT (self, "created ring %s: metadata %" G_GUINT64_FORMAT
        " bytes, payload %" G_GUINT64_FORMAT " bytes", name, metadata_size,
        payload_size);

  GST_OBJECT_LOCK (self);
  self->ring = gst_zero_src_ring_new (reader);
  GST_OBJECT_UNLOCK (self);
  gst_caps_replace (&self->stream_caps, NULL);
  gst_zero_src_forget_frame_caps (self);
  self->attrs_warned = FALSE;
  self->reorder_warned = FALSE;
  self->leap_warned = FALSE;
  self->duration_warned = FALSE;
  self->ts_leapt = FALSE;
  self->discont = TRUE;
  self->frame_header = FALSE;
  self->fit_checked = FALSE;
  gst_clear_caps (&self->fit_caps);
  g_atomic_int_set (&self->late_stamps, FALSE);
  self->ts_anchored = FALSE;
  self->ts_last = -1;
  self->ts_pushed_end = -1;
  self->ts_last_untimed = FALSE;
  self->gap_from = GST_CLOCK_TIME_NONE;
  self->ts_keep_offset = FALSE;
  self->drop_until_ns = 0;

  if (announce)
    gst_zero_src_announce (self, name, metadata_size, payload_size);
  g_free (name);
  return TRUE;
}

/* Closes the ring (the writer sees its reader gone, the name is free); the
 * buffers downstream still wrapping it keep its mapping. */
static void
gst_zero_src_close_ring (GstZeroSrc * self)
{
  GstZeroSrcRing *ring;

  GST_OBJECT_LOCK (self);
  ring = self->ring;
  self->ring = NULL;
  GST_OBJECT_UNLOCK (self);
  if (ring != NULL) {
    zb_reader *reader = gst_zero_src_ring_reader (ring);
    guint64 held = zb_reader_held_frames (reader);

    if (held > 0)
      GST_INFO_OBJECT (self, "ring %s is unlinked; its mapping stays until "
          "the %" G_GUINT64_FORMAT " buffers still wrapping it are freed",
          zb_reader_name (reader), held);
    gst_zero_src_ring_close (ring);
  }
}

static gboolean
gst_zero_src_stop (GstBaseSrc * bsrc)
{
  GstZeroSrc *self = GST_ZERO_SRC (bsrc);

  gst_zero_src_close_ring (self);
  gst_caps_replace (&self->stream_caps, NULL);
  gst_zero_src_forget_frame_caps (self);
  zerobuffer_frame_size_clear (&self->sized);
  gst_clear_caps (&self->fit_caps);
  return TRUE;
}

/* basesrc pushes EOS when the stream ends, at the writer's exit or after
 * an error (not-negotiated, a timeout): zerosrc reads no more until a
 * flush starts the stream again, so its ring goes now. A next writer
 * finds no ring (and waits for one, or drops frames with on-reader-lost=
 * wait) and the writer still attached hears its reader is gone, instead
 * of filling a ring nobody reads until its timeout. */
static GstPadProbeReturn
gst_zero_src_ended (GstPad * pad, GstPadProbeInfo * info, gpointer unused)
{
  if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) == GST_EVENT_EOS)
    gst_zero_src_close_ring (GST_ZERO_SRC (GST_PAD_PARENT (pad)));
  return GST_PAD_PROBE_OK;
}

static GstCaps *
gst_zero_src_get_caps (GstBaseSrc * bsrc, GstCaps * filter)
{
  GstZeroSrc *self = GST_ZERO_SRC (bsrc);
  GstCaps *caps;

  caps = gst_pad_get_current_caps (GST_BASE_SRC_PAD (bsrc));
  if (caps == NULL) {
    GST_OBJECT_LOCK (self);
    if (self->caps != NULL)
      caps = gst_caps_ref (self->caps);
    GST_OBJECT_UNLOCK (self);
  }
  if (caps == NULL)
    caps = gst_pad_get_pad_template_caps (GST_BASE_SRC_PAD (bsrc));
  if (filter != NULL) {
    GstCaps *tmp = gst_caps_intersect_full (filter, caps,
        GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref (caps);
    caps = tmp;
  }
  return caps;
}

/* The caps are known only once the first frame arrived: negotiation happens
 * in create(); later reconfigurations set the same caps again. (Until then
 * basesrc's ALLOCATION query after it is not sent:
 * gst_zero_src_allocation_probe.) */
static gboolean
gst_zero_src_negotiate (GstBaseSrc * bsrc)
{
  GstZeroSrc *self = GST_ZERO_SRC (bsrc);

  if (self->stream_caps == NULL)
    return TRUE;
  return gst_base_src_set_caps (bsrc, gst_zero_src_caps_in_force (self));
}

/* The stream is raw audio or video (each frame stands alone). */
static gboolean
gst_zero_src_raw (GstZeroSrc * self)
{
  GstCaps *caps = gst_zero_src_caps_in_force (self);
  const GstStructure *s;

  if (caps == NULL || gst_caps_is_empty (caps))
    return FALSE;
  s = gst_caps_get_structure (caps, 0);
  return gst_structure_has_name (s, "video/x-raw") ||
      gst_structure_has_name (s, "audio/x-raw");
}

/* The stream is sparse: subtitles, text, which may have no frame for
 * long. */
static gboolean
gst_zero_src_sparse (GstZeroSrc * self)
{
  GstCaps *caps = gst_zero_src_caps_in_force (self);
  const gchar *media;

  if (caps == NULL || gst_caps_is_empty (caps))
    return FALSE;
  media = gst_structure_get_name (gst_caps_get_structure (caps, 0));
  return g_str_has_prefix (media, "text/") ||
      g_str_has_prefix (media, "subtitle/") ||
      g_str_has_prefix (media, "application/x-subtitle");
}

/* A sparse stream had no frame for a while: a GAP event says that none
 * comes from the end of what was pushed up to the running time now less
 * our latency (a frame committed then would be stamped no earlier), so
 * that an element that waits for it (textoverlay) goes on. Only after the
 * first buffer (the segment). */
static void
gst_zero_src_push_gap (GstZeroSrc * self)
{
  GstPad *pad = GST_BASE_SRC_PAD (self);
  GstClockTime now = gst_element_get_current_running_time (GST_ELEMENT
      (self));
  GstClockTime latency = g_atomic_int_get (&self->late_stamps) ?
      ZEROSRC_TS_SLACK : 0;
  GstEvent *segment;

  if (!GST_CLOCK_TIME_IS_VALID (self->gap_from) ||
      !GST_CLOCK_TIME_IS_VALID (now) || now < latency ||
      now - latency <= self->gap_from)
    return;
  segment = gst_pad_get_sticky_event (pad, GST_EVENT_SEGMENT, 0);
  if (segment == NULL)
    return;
  gst_event_unref (segment);
  GST_LOG_OBJECT (self, "no frame: GAP from %" GST_TIME_FORMAT " to %"
      GST_TIME_FORMAT, GST_TIME_ARGS (self->gap_from),
      GST_TIME_ARGS (now - latency));
  gst_pad_push_event (pad, gst_event_new_gap (self->gap_from,
          now - latency - self->gap_from));
  self->gap_from = now - latency;
}

/* Waits until we are PLAYING (at once when we are). The timeout counts
 * while PLAYING only: a pause is skipped in the DEADLINE of the wait for a
 * frame. */
static GstFlowReturn
gst_zero_src_wait_playing (GstZeroSrc * self, zb_deadline * deadline)
{
  guint64 paused = zb_now_ns ();
  GstFlowReturn ret = gst_base_src_wait_playing (GST_BASE_SRC (self));

  zb_deadline_skip (deadline, zb_now_ns () - paused);
  return ret;
}

static GstFlowReturn
gst_zero_src_create (GstPushSrc * psrc, GstBuffer ** outbuf)
{
  GstZeroSrc *self = GST_ZERO_SRC (psrc);
  GstZeroSrcRing *ring;
  zb_reader *reader;
  GstBuffer *buffer;
  zb_frame frame;
  zb_frame_ext ext;
  gsize offset = 0, size;
  gint timeout, wait;
  zb_deadline deadline;
  gboolean eos_on_writer_exit, resumed, sparse, queued;
  GstFlowReturn ret;
  guint64 unread;
  guint moved;
  int rc;

  /* stop() comes only after this thread has left create() */
  GST_OBJECT_LOCK (self);
  ring = self->ring;
  eos_on_writer_exit = self->eos_on_writer_exit;
  GST_OBJECT_UNLOCK (self);
  if (ring == NULL) {
    /* closed at the end of the stream (gst_zero_src_ended), which a flush
     * started again: the ring is created anew, as at READY->PAUSED */
    if (!gst_zero_src_open_ring (self))
      return GST_FLOW_ERROR;
    return gst_zero_src_create (psrc, outbuf);
  }
  reader = gst_zero_src_ring_reader (ring);
  /* time stopped (Ctrl-Z suspends zerobuffer's whole job, the writer with
   * it) does not count: at SIGCONT the wait would fail before the writer,
   * continued too, could write */
  zb_deadline_start (&deadline, 0);

next_frame:
  /* whether the frame taken next was in the ring before we looked, so did
   * not arrive now (gst_zero_src_stamp_untimed) */
  queued = zb_reader_unread_frames (reader, &unread) == 0 && unread > 0;
  for (;;) {
    gboolean flushing;

    /* the timeout as it is now: a change while PLAYING reaches this wait
     * within a slice, counted from its start (as zerosink's does) */
    GST_OBJECT_LOCK (self);
    flushing = self->flushing;
    timeout = self->timeout < 0 ? ZB_WAIT_FOREVER : self->timeout;
    GST_OBJECT_UNLOCK (self);
    if (flushing)
      return GST_FLOW_FLUSHING;
    deadline.timeout_ms = timeout;

    /* Before waiting: if the writer waits for room that buffers held
     * downstream take, move them out of the ring. In slices, since
     * downstream may map or let go of them meanwhile. */
    moved = gst_zero_src_ring_make_room (ring);
    if (moved > 0)
      GST_INFO_OBJECT (self, "the ring is full of buffers held downstream: "
          "copied %u of them out of it so that the writer can go on (a "
          "larger payload-size avoids the copies)", moved);
    sparse = gst_zero_src_sparse (self);
    wait = zb_deadline_wait_ms (&deadline, sparse ? ZEROSRC_GAP_SLICE_MS :
        ZEROSRC_ROOM_SLICE_MS);
    rc = zb_reader_next (reader, &frame, wait);
    if (rc == 0)
      break;
    if (self->stream_caps == NULL && !self->fit_checked &&
        !gst_zero_src_check_frames_fit (self, reader, rc == ZB_EOF &&
            eos_on_writer_exit))
      return GST_FLOW_ERROR;
    if ((rc == ZB_ETIMEDOUT || rc == ZB_EAGAIN) &&
        (ret = gst_zero_src_wait_playing (self, &deadline)) != GST_FLOW_OK)
      return ret;
    if (sparse && (rc == ZB_ETIMEDOUT || rc == ZB_EAGAIN))
      gst_zero_src_push_gap (self);
    /* time was left at the look, or a pause gave some back: look again (a
     * last time without waiting once it has passed) */
    if ((rc == ZB_ETIMEDOUT || rc == ZB_EAGAIN) && (wait > 0 ||
            zb_deadline_wait_ms (&deadline, 1) > 0))
      continue;
    switch (rc) {
      case ZB_ECANCELED:
        continue;               /* unlock(), or a stale wake: check again */
      case ZB_EOF:
        if (eos_on_writer_exit) {
          GST_INFO_OBJECT (self, "the writer of ring %s detached: EOS",
              zb_reader_name (reader));
          return GST_FLOW_EOS;
        }
        GST_INFO_OBJECT (self, "the writer of ring %s detached; waiting for "
            "the next one", zb_reader_name (reader));
        self->discont = TRUE;
        continue;
      case ZB_EWRITERDEAD:
        if (eos_on_writer_exit) {
          ZEROBUFFER_ELEMENT_ERROR (self, rc, zb_reader_name (reader),
              ("The writer of ring %s died without finishing its stream",
                  zb_reader_name (reader)), ("%s", zb_last_error ()));
          return GST_FLOW_ERROR;
        }
        ZEROBUFFER_ELEMENT_WARNING (self, rc, zb_reader_name (reader),
            ("The writer of ring %s died; waiting for the next one",
                zb_reader_name (reader)), ("%s", zb_last_error ()));
        self->discont = TRUE;
        continue;
      case ZB_ETIMEDOUT:
      case ZB_EAGAIN:           /* timeout 0 */
        ZEROBUFFER_ELEMENT_ERROR (self, ZB_ETIMEDOUT, zb_reader_name (reader),
            ("No frame arrived on ring %s within %d ms",
                zb_reader_name (reader), timeout),
            ("raise timeout (-1 waits forever)"));
        return GST_FLOW_ERROR;
      default:
        ZEROBUFFER_ELEMENT_ERROR (self, rc, zb_reader_name (reader),
            ("Could not read a frame from ring %s: %s",
                zb_reader_name (reader), zb_strerror (rc)),
            ("%s", zb_last_error ()));
        return GST_FLOW_ERROR;
    }
  }

  /* A frame that arrives while PAUSED is stamped once we are PLAYING
   * again: our running time then goes on from where it stopped, not from
   * the time the pause took. */
  ret = gst_zero_src_wait_playing (self, &deadline);
  if (ret != GST_FLOW_OK) {
    zb_frame_release (&frame);
    return ret;
  }
  if (self->stream_caps == NULL &&
      !gst_zero_src_negotiate_from_ring (self, reader)) {
    zb_frame_release (&frame);
    return GST_FLOW_NOT_NEGOTIATED;
  }
  size = frame.size;

  if (self->frame_header) {
    rc = zb_frame_ext_parse (frame.data, frame.size, &ext);
    if (rc < 0) {
      ZEROBUFFER_ELEMENT_ERROR (self, ZB_EPROTO, zb_reader_name (reader),
          ("Frame %" G_GUINT64_FORMAT " of ring %s has no valid frame header "
              "although the metadata declares one (protocol error)",
              frame.sequence, zb_reader_name (reader)),
          ("%s; frame of %" G_GUINT64_FORMAT " bytes", zb_last_error (),
              frame.size));
      zb_frame_release (&frame);
      return GST_FLOW_ERROR;
    }
    offset = ext.data - frame.data;
    size = ext.size;
    if (!gst_zero_src_follow_frame_caps (self, reader, frame.sequence, &ext)) {
      zb_frame_release (&frame);
      return GST_FLOW_NOT_NEGOTIATED;
    }
  }
  if (!gst_zero_src_check_frame_size (self, reader, frame.sequence, size)) {
    zb_frame_release (&frame);
    return GST_FLOW_ERROR;
  }

  /* a new writer, or our running time stood still: a new time base (after
   * a pause, the same writer's frames keep their spacing to those pushed) */
  resumed = g_atomic_int_compare_and_exchange (&self->resumed, TRUE, FALSE);
  if (g_atomic_int_compare_and_exchange (&self->time_reset, TRUE, FALSE)) {
    /* what was pushed is of the running time before, ahead of ours now */
    self->ts_anchored = FALSE;
    self->ts_last = -1;
    self->ts_pushed_end = -1;
    self->gap_from = GST_CLOCK_TIME_NONE;
  }
  if (resumed || self->discont || frame.sequence == 1) {
    self->ts_anchored = FALSE;
    self->ts_keep_offset = FALSE;
  }
  if (resumed) {
    /* 0: no pause since the start, nothing to drop */
    GST_OBJECT_LOCK (self);
    self->drop_from_ns = self->paused_ns;
    self->drop_until_ns = self->paused_ns != 0 ? self->playing_ns : 0;
    GST_OBJECT_UNLOCK (self);
  }
  if (self->drop_until_ns != 0) {
    /* committed while we were paused; only commit times within the
     * pause count: a writer on another clock (a time namespace) is not
     * judged */
    gboolean waited = self->frame_header &&
        ext.commit_ns + ZEROSRC_TS_SLACK >= self->drop_from_ns &&
        ext.commit_ns + ZEROSRC_TS_SLACK < self->drop_until_ns;

    /* A live source makes nothing while PAUSED: raw frames that waited
     * are dropped, so the stream goes on from those committed since, on
     * time. Encoded frames are kept, as a decoder needs them, at their
     * writer's spacing to those pushed before the pause: the stream then
     * stays as late as the pause was long. */
    if (waited && gst_zero_src_raw (self)) {
      GST_DEBUG_OBJECT (self, "dropped frame %" G_GUINT64_FORMAT ", committed "
          "%" G_GUINT64_FORMAT " ms before we went PLAYING", frame.sequence,
          (self->drop_until_ns - ext.commit_ns) / 1000000);
      zb_frame_release (&frame);
      self->discont = TRUE;
      offset = 0;
      goto next_frame;
    }
    self->ts_keep_offset = waited && resumed && !self->discont &&
        frame.sequence != 1;
    self->drop_until_ns = 0;
  }

  /* The buffer's memory holds the frame's lease. */
  buffer = gst_buffer_new ();
  gst_buffer_append_memory (buffer, gst_zero_src_ring_wrap (ring, &frame,
          offset, size));
  /* appending set it; the memory is the frame's own, not a change made to
   * the buffer that downstream should know of */
  GST_BUFFER_FLAG_UNSET (buffer, GST_BUFFER_FLAG_TAG_MEMORY);
  if (self->frame_header)
    gst_zero_src_apply_ext (self, buffer, &ext, zb_reader_name (reader));
  if (!GST_BUFFER_PTS_IS_VALID (buffer) && !GST_BUFFER_DTS_IS_VALID (buffer))
    gst_zero_src_stamp_untimed (self, buffer, self->frame_header ? &ext :
        NULL, queued, size);
  else
    self->ts_last_untimed = FALSE;
  /* muxers and videorate need durations; the writer's, else the caps' */
  if (!GST_BUFFER_DURATION_IS_VALID (buffer))
    GST_BUFFER_DURATION (buffer) = gst_zero_src_caps_duration (self, size);
  zerobuffer_add_planar_audio_meta (buffer,
      gst_zero_src_caps_in_force (self));
  if (self->discont || frame.sequence == 1) {
    GST_BUFFER_FLAG_SET (buffer, GST_BUFFER_FLAG_DISCONT);
    self->discont = FALSE;
  }
  if (GST_BUFFER_PTS_IS_VALID (buffer)) {
    /* (the caps' may be a bad one too: a framerate of 1/7200) */
    GstClockTime duration =
        zerobuffer_plausible_duration (GST_BUFFER_DURATION (buffer));
    GstClockTime lasting = GST_CLOCK_TIME_IS_VALID (duration) ? duration : 0;
    GstClockTime end = GST_BUFFER_PTS (buffer) + lasting;

    /* (a GAP pushed up to later stays so) */
    if (!GST_CLOCK_TIME_IS_VALID (self->gap_from) || end > self->gap_from)
      self->gap_from = end;
    /* a new time base does not overlap it: it starts at its end, or 1 ns
     * after its PTS without a duration (or with a bad one) */
    self->ts_pushed_end = MAX (self->ts_pushed_end,
        (GstClockTimeDiff) GST_BUFFER_PTS (buffer) +
        (GstClockTimeDiff) MAX (lasting, 1));
  }
  GST_LOG_OBJECT (self, "frame %" G_GUINT64_FORMAT " of %" G_GSIZE_FORMAT
      " bytes, pts %" GST_TIME_FORMAT, frame.sequence, size,
      GST_TIME_ARGS (GST_BUFFER_PTS (buffer)));
  *outbuf = buffer;
  return GST_FLOW_OK;
}

static gboolean
gst_zero_src_unlock (GstBaseSrc * bsrc)
{
  GstZeroSrc *self = GST_ZERO_SRC (bsrc);

  GST_DEBUG_OBJECT (self, "unlock");
  GST_OBJECT_LOCK (self);
  self->flushing = TRUE;
  if (self->ring != NULL)
    zb_reader_wake (gst_zero_src_ring_reader (self->ring));
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean
gst_zero_src_unlock_stop (GstBaseSrc * bsrc)
{
  GstZeroSrc *self = GST_ZERO_SRC (bsrc);

  GST_DEBUG_OBJECT (self, "unlock_stop");
  GST_OBJECT_LOCK (self);
  self->flushing = FALSE;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

/* The ring buffers what the writer put in it for as long as we take: no
 * maximum. Each frame is stamped at its arrival (one that waited in the
 * ring, earlier: by about how long downstream held our push past one
 * frame, which downstream's own latency covers, so no minimum of ours: a
 * minimum that bounded those stamps would not keep the pace, as the sink
 * holds our push up to a stamp's due time, that minimum included, and the
 * next frame, stamped within it, comes the sink's processing deadline
 * later: 45 fps from a 60 fps writer into a 20 ms deadline),
 * or (with the frame header) mapped to its commit, which comes before we
 * push it: by the transport's time, and by up to ZEROSRC_TS_SLACK when
 * the writer's timestamps run behind its commits before the time base
 * moves. That is the minimum then (as v4l2src's, whose frames are stamped
 * when captured, a frame before they are pushed), so that sinks do not
 * take such frames for late; learnt with the metadata, after PLAYING: a
 * LATENCY message asks for the pipeline's again. */
static gboolean
gst_zero_src_query (GstBaseSrc * bsrc, GstQuery * query)
{
  GstZeroSrc *self = GST_ZERO_SRC (bsrc);

  if (GST_QUERY_TYPE (query) == GST_QUERY_LATENCY) {
    gst_query_set_latency (query, TRUE,
        g_atomic_int_get (&self->late_stamps) ? ZEROSRC_TS_SLACK : 0,
        GST_CLOCK_TIME_NONE);
    return TRUE;
  }
  return GST_BASE_SRC_CLASS (parent_class)->query (bsrc, query);
}

/* Our running time stood still while PAUSED and the writer's went on: the
 * writer's timestamps are anchored again at the next frame. The ring is
 * created at READY->PAUSED, closed by stop() at PAUSED->READY. */
static GstStateChangeReturn
gst_zero_src_change_state (GstElement * element, GstStateChange transition)
{
  GstZeroSrc *self = GST_ZERO_SRC (element);
  GstStateChangeReturn ret;

  /* the writer's CLOCK_MONOTONIC, which its commit times are in */
  if (transition == GST_STATE_CHANGE_PAUSED_TO_PLAYING ||
      transition == GST_STATE_CHANGE_PLAYING_TO_PAUSED ||
      transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
    GST_OBJECT_LOCK (self);
    if (transition == GST_STATE_CHANGE_PAUSED_TO_PLAYING)
      self->playing_ns = zb_now_ns ();
    else if (transition == GST_STATE_CHANGE_PLAYING_TO_PAUSED)
      self->paused_ns = zb_now_ns ();
    else                        /* a start: no pause, none kept from a run
                                 * before */
      self->paused_ns = 0;
    GST_OBJECT_UNLOCK (self);
  }
  if (transition == GST_STATE_CHANGE_PAUSED_TO_PLAYING)
    g_atomic_int_set (&self->resumed, TRUE);
  /* the ring before basesrc starts, not in its start(): one that fails has
   * basesrc post a second error after ours, gst-launch's "state change
   * failed and some element failed to post a proper error message" */
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED &&
      !gst_zero_src_open_ring (self))
    return GST_STATE_CHANGE_FAILURE;
  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED &&
      ret == GST_STATE_CHANGE_FAILURE)
    gst_zero_src_stop (GST_BASE_SRC (self));
  return ret;
}

static void
gst_zero_src_class_init (GstZeroSrcClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSrcClass *basesrc_class = GST_BASE_SRC_CLASS (klass);
  GstPushSrcClass *pushsrc_class = GST_PUSH_SRC_CLASS (klass);

  zerobuffer_element_init (NULL);
  GST_DEBUG_CATEGORY_INIT (gst_zero_src_debug, "zerosrc", 0,
      "zerosrc: pushes the frames of a ZeroBuffer ring");

  gobject_class->set_property = gst_zero_src_set_property;
  gobject_class->get_property = gst_zero_src_get_property;
  gobject_class->finalize = gst_zero_src_finalize;

  g_object_class_install_property (gobject_class, PROP_BUFFER_NAME,
      g_param_spec_string ("buffer-name", "Buffer name",
          "Name of the ring to create (required); the writer (e.g. zerosink "
          "buffer-name) connects to it. 1..245 bytes, any characters "
          "(spaces, ':', UTF-8...) but '/' and control characters, without "
          "'..', not '.' nor starting with 'sem.sem-w-' or 'sem.sem-r-'",
          DEFAULT_BUFFER_NAME,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_METADATA_SIZE,
      g_param_spec_uint64 ("metadata-size", "Metadata size",
          "Size of the ring's metadata block in bytes (rounded up to 64); "
          "it holds the writer's JSON with the caps", 1,
          ZB_MAX_METADATA_SIZE, DEFAULT_METADATA_SIZE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_PAYLOAD_SIZE,
      g_param_spec_uint64 ("payload-size", "Payload size",
          "Size of the ring's frame area in bytes (rounded up to 64); each "
          "frame takes its size + 16 bytes (+ 48 with the per-frame "
          "header). 0 (default): room for the frames the caps property, or "
          "else fixed raw caps right downstream, describe: frames of "
          "256 KiB and more, as many as fit in 32 MiB, 2 to 4; smaller "
          "ones, as many as fit in 1 MiB, 4 to 64; raw audio (format, rate "
          "and channels), 1 s of it, at least 64 KiB; "
          "3 frames of 1080p RGB when neither describes them", 0,
          ZB_MAX_PAYLOAD_SIZE, DEFAULT_PAYLOAD_SIZE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_MODE,
      zerobuffer_param_spec_mode ("the ring"));
  g_object_class_install_property (gobject_class, PROP_TIMEOUT,
      g_param_spec_int ("timeout", "Timeout",
          "How long to wait for the next frame, in milliseconds, before "
          "posting an error (-1 = wait forever). The wait counts whether or "
          "not a writer is connected: from the start, and between writers, "
          "so with no writer at all it fails after that long; time PAUSED, "
          "or with the process stopped (Ctrl-Z), does not count. A change while PLAYING applies to the wait in "
          "progress, counted from its start. A writer that dies is detected "
          "at once either way", -1, G_MAXINT, DEFAULT_TIMEOUT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_CAPS,
      g_param_spec_boxed ("caps", "Caps",
          "Caps of the frames, overriding the \"caps\" string of the ring's "
          "metadata; needed only when the writer sends no usable caps. Fixed "
          "caps, one format: ranges, lists, ANY or EMPTY are an error at "
          "start (a capsfilter after zerosrc checks the writer's caps), and "
          "so are raw video caps without format, width and height (raw "
          "audio: format, rate, channels, layout, and channel-mask for more "
          "than 2 channels), and so is raw video whose frames payload-size "
          "cannot hold "
          "(default: none, the caps come from the metadata)", GST_TYPE_CAPS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_EOS_ON_WRITER_EXIT,
      g_param_spec_boolean ("eos-on-writer-exit", "EOS on writer exit",
          "Push EOS when the writer detaches, and post an error when it "
          "dies (default; the ring is closed then, as after any error, "
          "until a flush starts the stream again); when false, wait for "
          "the next writer and go on",
          DEFAULT_EOS_ON_WRITER_EXIT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_ANNOUNCE,
      g_param_spec_boolean ("announce", "Announce",
          "Print the line > {\"jsonrpc\":\"2.0\",\"method\":\"start-stream\","
          "\"params\":[NAME,METADATA_SIZE,PAYLOAD_SIZE]} on stdout when the "
          "ring is ready, so an orchestrator can start the writer (its sizes "
          "as created, which the core rounds up to 64) (default: false)", DEFAULT_ANNOUNCE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  /* basesrc's do-timestamp, installed again under the same name (GObject
   * finds a subclass's first): basesrc's would give a frame with the
   * writer's PTS but no DTS its arrival as DTS, after its PTS, and after
   * the DTS of the frames it goes back before (mp4mux then stores them in
   * the wrong order); create() stamps frames without either time itself */
  g_object_class_install_property (gobject_class, PROP_DO_TIMESTAMP,
      g_param_spec_boolean ("do-timestamp", "Do timestamp",
          "Accepted and ignored (basesrc's, made zerosrc's own): zerosrc "
          "always stamps a buffer that comes without a PTS and DTS with the "
          "running time of its commit (frame header) or of its arrival (no "
          "frame header; one that waited in the ring, one frame after the "
          "one before, at most the pipeline latency less downstream's time "
          "before now), "
          "and keeps the times a writer sends, adding none (a frame with a "
          "PTS but no DTS gets no DTS) (default: true)", DEFAULT_DO_TIMESTAMP,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "ZeroBuffer source", "Source",
      "Creates a ZeroBuffer v1.0 shared-memory ring and pushes the frames "
      "a writer puts into it, without copying them", "zerobuffer");

  element_class->change_state = GST_DEBUG_FUNCPTR (gst_zero_src_change_state);
  basesrc_class->query = GST_DEBUG_FUNCPTR (gst_zero_src_query);
  basesrc_class->stop = GST_DEBUG_FUNCPTR (gst_zero_src_stop);
  basesrc_class->get_caps = GST_DEBUG_FUNCPTR (gst_zero_src_get_caps);
  basesrc_class->negotiate = GST_DEBUG_FUNCPTR (gst_zero_src_negotiate);
  basesrc_class->unlock = GST_DEBUG_FUNCPTR (gst_zero_src_unlock);
  basesrc_class->unlock_stop = GST_DEBUG_FUNCPTR (gst_zero_src_unlock_stop);
  pushsrc_class->create = GST_DEBUG_FUNCPTR (gst_zero_src_create);
}

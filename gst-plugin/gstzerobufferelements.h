/* gstzerobufferelements.h — registration of the zerobuffer plugin's elements.
 *
 * Each element file defines its registration with GST_ELEMENT_REGISTER_DEFINE;
 * gstzerobuffer.c (plugin_init) registers them all. */
#ifndef GST_ZEROBUFFER_ELEMENTS_H
#define GST_ZEROBUFFER_ELEMENTS_H

#include <gst/gst.h>
#include <gst/audio/audio.h>
#include <gst/video/video.h>

#include "zerobuffer.h"

G_BEGIN_DECLS

/* The "zerobuffer" debug category, for what the elements share (the
 * plugin, the metadata JSON, the ring-backed pool, lent ring memory); each
 * element has its own as well. */
GST_DEBUG_CATEGORY_EXTERN (gst_zerobuffer_debug);

/* Initialises what the elements share (the debug category); called by each
 * element's registration, so an element registered on its own works too. */
void zerobuffer_element_init (GstPlugin * plugin);

/* The buffer flags that travel in the per-frame header: GstBufferFlags
 * without the mini-object flags (locking, leak tracing) and TAG_MEMORY,
 * which describe this process's object, not the frame. */
#define ZEROBUFFER_CARRIED_FLAGS \
  ((guint32) ~((guint) GST_MINI_OBJECT_FLAG_LAST - 1) & \
      (guint32) ~GST_BUFFER_FLAG_TAG_MEMORY)

/* An hour: a peer's timestamp that leaps further (zerosrc's writer: a PTS
 * of 2^62 ns; zerofilter's duplex server: a response's PTS or DTS from
 * its request's), or a duration in the per-frame header that is longer,
 * is a bad one, not a gap or a frame anyone wants a synchronised sink to
 * wait out. */
#define ZEROBUFFER_TS_LEAP (3600 * GST_SECOND)

/* DURATION, or NONE when it is none or a bad one: over ZEROBUFFER_TS_LEAP.
 * A peer's (up to 2^64 - 2) would have sinks, muxers and GAP events wait
 * it out, and overflow a PTS plus it. The one rule for the durations from
 * a frame header that zerosrc and zerofilter push. */
GstClockTime zerobuffer_plausible_duration (GstClockTime duration);

/* The "mode" property of an element that creates a ring (zerosrc, and
 * zerofilter for its response ring): the permission bits of the ring's
 * segment, semaphores and lock file (zb_reader_options.mode), whatever the
 * umask. WHAT names the ring in the description. */
#define ZEROBUFFER_DEFAULT_MODE 0600
GParamSpec *zerobuffer_param_spec_mode (const gchar * what);
/* Warns (g_warning, naming ELEMENT and the octal form) when MODE, just
 * set, looks like chmod digits read as a decimal number: three digits 0-7
 * whose value as bits is not what chmod's users write (mode=440 is 0670,
 * rw-rwx---, the group may write). The value stays: 0670 may be meant.
 * Values over 0777 (mode=660) never get here: GObject refuses them. */
void zerobuffer_check_mode (GstElement * element, guint mode);

/* Whether PSPEC may be set on ELEMENT now. A property flagged
 * GST_PARAM_MUTABLE_READY takes effect when the ring is opened, at
 * READY->PAUSED: set while PAUSED or PLAYING (or going there), it would be
 * read back while the old value stays in use. Refused with a g_warning
 * naming the property and the state instead, as filesink refuses a new
 * location while its file is open; the caller keeps the value. With the
 * object lock held, and the value stored under the same hold: a state
 * change between the look and the store would not see the new value. */
gboolean zerobuffer_property_settable (GstElement * element,
    GParamSpec * pspec);

/* Whether NAME (the buffer-name property) can name a ring: else an ENAME
 * error posted from ELEMENT, before any ring is touched. */
gboolean zerobuffer_ring_name_usable (GstElement * element,
    const gchar * name);

/* The enum type NAME of VALUES (a static array ending in {0, NULL, NULL}),
 * registered at the first call (*TYPE, a static of the caller, keeps it). */
GType zerobuffer_enum_type (const gchar * name, const GEnumValue * values,
    GType * type);

/* Appends S to OUT as a JSON string literal (quotes and escapes included). */
void zerobuffer_json_append_string (GString * out, const gchar * s);

/* Reading what a peer wrote (the per-frame header's declaration is read by
 * the core: zb_metadata_frame_header): a ring's metadata JSON (DATA, SIZE bytes, not
 * NUL-terminated; the object runs from its first '{' to its last '}') and
 * the caps string in it. Both come from another process, so what reaches
 * json-glib and GStreamer's caps parser is bounded first: both parsers
 * recurse once per nesting level, and a 64 MiB metadata block holds enough
 * brackets to overflow any stack. */
#define ZEROBUFFER_METADATA_MAX_LENGTH (1 << 20)
#define ZEROBUFFER_JSON_MAX_DEPTH 64
#define ZEROBUFFER_CAPS_MAX_LENGTH 65536
#define ZEROBUFFER_CAPS_MAX_DEPTH 32

/* Whether the metadata holds one JSON object within those bounds (parsed
 * once): FALSE with the reason in *WHY (g_free() it; WHY may be NULL);
 * else TRUE, with *VALUE the string value of its top-level KEY, NULL when
 * absent or not a string (g_free() it). */
gboolean zerobuffer_metadata_get_string (const guint8 * data, gsize size,
    const gchar * key, gchar ** value, gchar ** why);

/* The string value of the top-level KEY; NULL when absent, not a string, or
 * the metadata is not a JSON object within bounds. g_free() it. */
gchar *zerobuffer_json_get_string (const guint8 * data, gsize size,
    const gchar * key);

/* Fixed caps from a caps string a peer wrote: refused before parsing when
 * longer than ZEROBUFFER_CAPS_MAX_LENGTH or nested deeper than
 * ZEROBUFFER_CAPS_MAX_DEPTH, and after it when not fixed. NULL with the
 * reason in *WHY (may be NULL). */
GstCaps *zerobuffer_caps_from_peer (const gchar * text, gchar ** why);

/* zerobuffer_caps_from_peer, for caps that elements push downstream
 * (zerosrc's from a writer, zerofilter's from its server): raw video and
 * raw audio also refused (naming the fields they lack) when GStreamer
 * cannot describe their frames (gst_video_info_from_caps,
 * gst_audio_info_from_caps). */
GstCaps *zerobuffer_stream_caps_from_peer (const gchar * text, gchar ** why);

/* Why GStreamer cannot describe the frames of fixed CAPS (raw video or raw
 * audio lacking what sizes a frame, the missing fields named; g_free it),
 * or NULL when it can or they are not raw. */
gchar *zerobuffer_raw_caps_unusable (const GstCaps * caps);

/* Peer bytes fit for a message: printable ASCII as is, anything else
 * escaped (\n, \t, \xHH), at most about MAX_CHARS characters, then how
 * many bytes there were in all. g_free() it. */
gchar *zerobuffer_quote_peer_bytes (const guint8 * data, gsize size,
    gsize max_chars);

/* The one size a frame of some caps can have, for elements that push a
 * peer's bytes under caps (zerosrc a writer's frames, zerofilter a server's
 * responses). Raw video in system memory of a fixed format and size has
 * one size: that of GStreamer's default layout (gst_video_info_from_caps:
 * rows rounded up to 4 bytes, no padding), which zerosink writes (its pool
 * offers no video meta, so upstream keeps those strides; other buffers are
 * repacked or refused, gst_zero_sink_pool_write), which the Node
 * reader's frame.image() requires too (EFRAMESIZE), and which downstream
 * assumes of a buffer without video meta. Pushed as is, a frame of another
 * size is a short buffer for the application, or rows read at the wrong
 * stride. Raw audio in system memory has whole sample frames (bytes per
 * frame: channels times the sample's width): pushed as is, a part of one
 * is a GLib warning and a generic "Internal data stream error" downstream,
 * or planes read at the wrong offsets. Anything else (encoded video or
 * audio, other memory, several views, caps not fixed) takes any size. */
typedef struct
{
  GstCaps *caps;                /* the caps sized (a ref: a later caps cannot
                                 * take their address) */
  GstVideoInfo info;            /* ...and their layout, when raw video */
  gsize size;                   /* their frame size, 0: any size goes */
  GstAudioInfo audio;           /* ...their format, when raw audio */
  gsize sample_frame;           /* its bytes per frame, else 0 */
} ZeroBufferFrameSize;

/* The frame size of CAPS (NULL allowed), 0 when any size goes; SIZED
 * remembers the last caps asked about (zero-initialised at first), and
 * their layout in SIZED->info when the size is not 0. */
gsize zerobuffer_frame_size (ZeroBufferFrameSize * sized, GstCaps * caps);
void zerobuffer_frame_size_clear (ZeroBufferFrameSize * sized);

/* Whether SIZE bytes can be a frame of CAPS: raw video's one size
 * (zerobuffer_frame_size), raw audio's whole sample frames. When not,
 * *EXPECTED (g_free it) says what a frame of them is, to follow "but ",
 * naming the caps with WHOSE after their format (" (the output caps)", or
 * ""), and *RULE (static) how such a frame is laid out. */
gboolean zerobuffer_frame_size_fits (ZeroBufferFrameSize * sized,
    GstCaps * caps, gsize size, const gchar * whose, gchar ** expected,
    const gchar ** rule);

/* Bytes a second of raw audio whose format, rate and channels S fixes
 * (rate times channels times the sample's width, planar or interleaved
 * alike), else 0 (not raw audio, fields not fixed, an encoded or unknown
 * format): what zerosrc's ring and zerofilter's response ring are sized by
 * for raw audio (zb_default_payload_size_for_rate). */
guint64 zerobuffer_audio_bytes_per_second (const GstStructure * s);

/* Planar raw audio (CAPS audio/x-raw, layout=non-interleaved) is mapped by
 * its audio meta, which audioconvert and the like require: BUFFER, a frame
 * from a ring, gets one, its planes one after the other (the only layout
 * the writers put in a ring). */
void zerobuffer_add_planar_audio_meta (GstBuffer * buffer, GstCaps * caps);

/* The plugin's own kind of error, outside the core's codes: a raw video
 * buffer that is not a frame of its caps (zerosink's, zerofilter's check of
 * what they write), a raw audio one of part of a sample frame (zerosink's),
 * "EFRAMESIZE" as the Node reader names the same fault. */
#define ZEROBUFFER_EFRAMESIZE (-4900)

/* Errors a supervisor can classify without reading the text.
 *
 * Every error zerosink, zerosrc and zerofilter post (but zerofilter's
 * plain "No caps before the first buffer") and every warning posted
 * through zerobuffer_post_message (not the plain GST_ELEMENT_WARNINGs of
 * on-reader-lost=wait, upstream's buffers, the server's output) names the kind of failure by the core's error name (zb_err_name: "EMSGSIZE", "ENOENT", ...;
 * "EFRAMESIZE" for the plugin's ZEROBUFFER_EFRAMESIZE)
 * and says whether it is permanent (the same pipeline against the same ring
 * fails the same way again: do not restart) or transient (a restart can
 * succeed: the reader came back, the ring drained, a new writer came). The
 * kind decides the GError domain and code, and the message carries it twice:
 * - details (gst_message_parse_error_details): a GstStructure named
 *   "zerobuffer-error" with "name" (string), "permanent" (boolean) and
 *   "ring" (string, when the ring's name is known; U+FFFD for its bytes
 *   that are not UTF-8, as in the texts);
 * - the last line of the debug text, for supervisors that only see what
 *   gst-launch prints: "zerobuffer-error=NAME (permanent)" or
 *   "zerobuffer-error=NAME (transient)".
 * An element with a "stats" property that counts "frames-written" (zerosink)
 * adds that count to its errors: "frames-written" in the details, and the
 * line before the last, "zerobuffer-stats frames-written=N ..." (see
 * zerobuffer_stats_line).
 * The table of kinds is in gstzerobuffer.c. */
#define ZEROBUFFER_ERROR_DETAILS "zerobuffer-error"

/* "zerobuffer-stats frames-written=N bytes-written=N frames-dropped=N" from
 * zerosink's stats structure: the line supervisors read. g_free() it. */
gchar *zerobuffer_stats_line (const GstStructure * stats);

/* TEXT (g_malloc'd, or NULL) itself when it is valid UTF-8, else freed and
 * replaced by a valid copy (U+FFFD for the bytes that are not): a ring's
 * name is any bytes but '/', and GStreamer drops a message's debug text
 * that is not UTF-8, the zerobuffer-error line with it. */
gchar *zerobuffer_utf8_take_valid (gchar * text);

/* Posts a message of TYPE (GST_MESSAGE_ERROR or GST_MESSAGE_WARNING) from
 * ELEMENT about ring RING (NULL when unknown), of the kind CODE (a ZB_E*
 * code). Takes TEXT and DEBUG (g_malloc'd, DEBUG may be NULL), made valid
 * UTF-8 (zerobuffer_utf8_take_valid). Use the macros below. */
void zerobuffer_post_message (GstElement * element, GstMessageType type,
    int code, const gchar * ring, gchar * text, gchar * debug,
    const gchar * file, const gchar * function, gint line);

/* Like GST_ELEMENT_ERROR / GST_ELEMENT_WARNING, with the kind instead of a
 * domain and code: ZEROBUFFER_ELEMENT_ERROR (self, ZB_EMSGSIZE, name,
 * ("text %s", x), ("debug %s", y)). */
#define ZEROBUFFER_ELEMENT_MESSAGE(type, el, code, ring, text, debug)  \
  G_STMT_START {                                                        \
    gchar *__zb_txt = _gst_element_error_printf text;                   \
    gchar *__zb_dbg = _gst_element_error_printf debug;                  \
    zerobuffer_post_message (GST_ELEMENT (el), (type), (code), (ring),  \
        __zb_txt, __zb_dbg, __FILE__, GST_FUNCTION, __LINE__);          \
  } G_STMT_END
#define ZEROBUFFER_ELEMENT_ERROR(el, code, ring, text, debug)          \
  ZEROBUFFER_ELEMENT_MESSAGE (GST_MESSAGE_ERROR, el, code, ring, text, debug)
#define ZEROBUFFER_ELEMENT_WARNING(el, code, ring, text, debug)        \
  ZEROBUFFER_ELEMENT_MESSAGE (GST_MESSAGE_WARNING, el, code, ring, text,  \
      debug)

GST_ELEMENT_REGISTER_DECLARE (zerosink);
GST_ELEMENT_REGISTER_DECLARE (zerosrc);
GST_ELEMENT_REGISTER_DECLARE (zerofilter);

G_END_DECLS

#endif /* GST_ZEROBUFFER_ELEMENTS_H */

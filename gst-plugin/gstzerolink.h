/* gstzerolink.h — the writing end of a ring for an element.
 *
 * A link connects when it is first needed (waiting up to connect-timeout
 * for the reader to create the ring), writes the ring's metadata (the caps
 * and, with the per-frame header, its declaration) or checks that an
 * earlier writer's means the same (with the per-frame header on both
 * sides and set_other_caps, the caps may differ: each frame then carries
 * its own, from the first on, as after a caps change), and hands out
 * references to its zb_writer to any thread: zerosink's streaming thread
 * and upstream's thread inside zerosink's pool both write through it. It
 * reserves room for frames the same way for both (timeout, drop policy,
 * interruption).
 *
 * A link posts only when the element calls it from its own thread with
 * itself (the functions taking an ELEMENT): an error met inside the pool
 * during preroll is handed back and posted from zerosink's render, the
 * same way as one met while rendering. */
#ifndef GST_ZERO_LINK_H
#define GST_ZERO_LINK_H

#include <gio/gio.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include "zerobuffer.h"

G_BEGIN_DECLS

/* A failure for the element to post: the core's code and the texts. */
typedef struct
{
  int code;                     /* ZB_E* */
  gchar *text;                  /* for the user */
  gchar *debug;                 /* details */
} GstZeroError;

GstZeroError *gst_zero_error_new (int code, gchar * text, gchar * debug);
void gst_zero_error_free (GstZeroError * error);

typedef struct _GstZeroLink GstZeroLink;

/* A link that logs to CATEGORY, for ELEMENT (held weakly), where it posts
 * the one message it posts by itself: after a second of waiting for the
 * ring, an INFO that it waits for CREATOR (who creates the ring: "a reader
 * (such as zerosrc)", a static string) to create it. */
GstZeroLink *gst_zero_link_new (GstDebugCategory * category,
    GstElement * element, const gchar * creator);
GstZeroLink *gst_zero_link_ref (GstZeroLink * link);
void gst_zero_link_unref (GstZeroLink * link);

/* Starts a session with these settings (the element's start()): the next
 * get_writer connects to ring NAME. OWNER names the writer in the
 * metadata ("element_name"), CAMERA_ID (NULL: no key) the camera
 * ("camera_id"). A writer still attached is detached first, as close
 * does. */
void gst_zero_link_open (GstZeroLink * link, const gchar * name,
    const gchar * owner, const gchar * camera_id, gint connect_timeout,
    gboolean frame_header);
/* Ends the session (stop()): every wait returns GST_FLOW_FLUSHING until
 * the next open, from now on (the waits in progress end, and a reserve
 * that looked at the link just before ends at once: the writer is set
 * flushing, zb_writer_set_flushing, while the link refuses); then the places
 * the pools reserved are cancelled (gst_zero_link_pool_shared), and the
 * link detaches. */
void gst_zero_link_close (GstZeroLink * link);
/* End of stream: as close, but get_writer returns GST_FLOW_EOS until
 * gst_zero_link_resume (the reader sees the end once it has drained the
 * ring). */
void gst_zero_link_finish (GstZeroLink * link);
void gst_zero_link_resume (GstZeroLink * link);
/* A flush (flush-start, a pad deactivated): every wait of the link returns
 * GST_FLOW_FLUSHING until gst_zero_link_resume or open, in any thread (a
 * pool acquire in upstream's too, whose pool upstream may never flush).
 * Any thread. */
void gst_zero_link_flush (GstZeroLink * link);
/* Whether a reader that is there would not hear of the end of the stream
 * without gst_zero_link_connect_at_eos: no connect was tried since open or
 * resume, or the reader was lost (reconnect) and none found since; and no
 * error of the element ended the stream (gst_zero_link_mark_failed). */
gboolean gst_zero_link_owes_eos (GstZeroLink * link);
/* The element posted an error that ended its stream (zerosink's render):
 * until open or resume, the link owes no EOS. A source sends its EOS after
 * the failed push (basesrc does), and connecting then would write the
 * refused stream's caps into the write-once metadata, refusing the
 * corrected writer. */
void gst_zero_link_mark_failed (GstZeroLink * link);

/* A stream that ends before anything asked for the ring still reaches a
 * reader that is there: connecting without waiting puts its metadata in
 * place, and a writer that came and went ends the reader's stream too
 * (docs/PROTOCOL.md §4, "End of stream"). No reader (none yet, lost, no
 * ring): nothing to tell, and an empty stream is no error. The EOS does
 * not wait for a reader: gst-launch-1.0 -e sends its EOS on Ctrl-C to the
 * sources, where it waits for the streaming thread, so a wait here could
 * only end at connect-timeout (test_stop.sh (d)). GST_FLOW_OK when the EOS
 * goes on; GST_FLOW_ERROR once posted on ELEMENT; GST_FLOW_FLUSHING when
 * interrupted (call again to go on). zerosink at EOS, after owes_eos. */
GstFlowReturn gst_zero_link_connect_at_eos (GstZeroLink * link,
    GstElement * element, GCancellable * cancellable);

/* What get_writer returns, with no error, while a link that reconnects
 * has no reader (none yet, or it lost its reader) and no reader has
 * created the ring since: the caller drops the frame. */
#define GST_ZERO_LINK_NO_READER GST_FLOW_CUSTOM_SUCCESS_1

/* Whether a link whose reader went away (ZB_EREADERGONE met by a reserve,
 * or by a commit: gst_zero_link_reader_gone) detaches and takes the next
 * ring a reader creates under its name, writing the metadata there anew
 * (zerosink on-reader-lost=wait) rather than failing: meanwhile get_writer
 * looks for the ring every 20 ms without waiting and otherwise returns
 * GST_ZERO_LINK_NO_READER. So from open on too, until the first reader's
 * ring is there: connect-timeout is not waited. Before open, or resume. */
void gst_zero_link_set_reconnect (GstZeroLink * link, gboolean reconnect);

/* How long the next connect waits for a reader to create the ring (ms, -1
 * for ever), as given to open. */
void gst_zero_link_set_connect_timeout (GstZeroLink * link,
    gint connect_timeout);
/* With reconnect, a reserve that finds the frame can never fit the ring
 * (ZB_EMSGSIZE, still its error, its text saying what to do) detaches
 * too, as from a reader lost, and the link takes that reader's ring again
 * (the same reader pid and payload size) only once it is gone, or, with
 * the frame header, after a caps change (gst_zero_link_change_caps): a
 * misconfigured reader does not end a writer meant to outlive its
 * readers, and is not written into again while nothing changed. */
/* WRITER (a reference the caller holds) met ZB_EREADERGONE: with
 * reconnect, when it is still the link's writer, the link detaches and
 * looks for the next reader. Any thread. */
void gst_zero_link_reader_gone (GstZeroLink * link, zb_writer * writer);
/* A write through the link failed with E (taken when TRUE): with
 * reconnect, when the link has lost a reader (E is ZB_EREADERGONE, or
 * ZB_EMSGSIZE for a ring too small) and detached to look for the next,
 * the frame is dropped instead: TRUE, with a WARNING on ELEMENT once per
 * reader lost. FALSE: E is an error to post. */
gboolean gst_zero_link_lost (GstZeroLink * link, GstElement * element,
    GstZeroError * e);

/* Posts E (and frees it) on ELEMENT as an error of its kind, naming the
 * link's ring (zerobuffer_post_message: the frame count goes in too). */
void gst_zero_link_post (GstZeroLink * link, GstElement * element,
    GstZeroError * e);

/* A frame was dropped (any reason): counted in frames-dropped, and until
 * the next written. */
void gst_zero_link_dropped (GstZeroLink * link);
/* A frame of SIZE bytes was written (IN_PLACE: a pool buffer committed
 * where it lay), counted. With reconnect, the first into a ring found
 * after a reader was lost, or after none had the ring from open or resume
 * on and frames were dropped meanwhile, is told in an INFO on ELEMENT with
 * the frames dropped since the last one written. */
void gst_zero_link_written (GstZeroLink * link, GstElement * element,
    gsize size, gboolean in_place);
/* An empty buffer was skipped (the protocol has no empty frames): the
 * count of them so far. */
guint64 gst_zero_link_skipped_empty (GstZeroLink * link);
/* The counts since open, in a structure named NAME (zerosink's stats):
 * frames-written, bytes-written, frames-dropped, frames-copied,
 * frames-zero-copy, buffers-empty and ring-utilisation. */
GstStructure *gst_zero_link_stats (GstZeroLink * link, const gchar * name);
/* Zeroes those counts (open does too): a start that fails before it opens
 * reports none of the run before. */
void gst_zero_link_reset_counts (GstZeroLink * link);

/* Upstream pushed a pool buffer a second time (videorate repeats frames
 * so): the ring's order is the order buffers were taken from the pool, no
 * longer the order they come. Said once per open, in a WARNING on ELEMENT
 * (WHAT: "frames" or "requests" are copied from now on), which says that
 * the repeat was DROPPED (it came after a later pool buffer) when it was;
 * a later dropped repeat warns once more if that one did not. Both name
 * NO_POOL, the setting of ELEMENT that offers no pool ("zero-copy=false"),
 * which keeps every repeat: all are copied from the start. SINKPAD gets
 * a reconfigure, and gst_zero_link_pool_refused is TRUE until the next
 * open: the pool is withdrawn, upstream allocates again without it. */
void gst_zero_link_refuse_pool (GstZeroLink * link, GstElement * element,
    GstPad * sinkpad, const gchar * what, const gchar * no_pool,
    gboolean dropped);
gboolean gst_zero_link_pool_refused (GstZeroLink * link);

/* Whether the metadata declares in-place answers ("zerobuffer":
 * {"in_place": 1}, docs/PROTOCOL.md §9.4): zerofilter's request ring. Before
 * open. */
void gst_zero_link_set_in_place (GstZeroLink * link, gboolean in_place);

/* Whether a ring whose metadata (an earlier writer's) has other caps is
 * taken when both declare the per-frame header: each frame then carries
 * its caps (zerosink; not zerofilter: a duplex server's next client sends
 * the same caps, docs/DUPLEX.md). Before open. */
void gst_zero_link_set_other_caps (GstZeroLink * link, gboolean other_caps);

/* What the buffer pools that reserve through the link share, whichever
 * pool of them upstream takes buffers from (zerosink's pool: the plain
 * buffers still out): made by MAKE the first time it is asked for, freed
 * by FREE_FUNC with the link. Before open, close or finish detach, once
 * the link refuses new reservations, CANCEL_PLACES (called without the
 * link's lock) cancels what the pools reserved that nobody writes into:
 * zb_writer_destroy would copy it. Any thread. */
gpointer gst_zero_link_pool_shared (GstZeroLink * link,
    gpointer (*make) (void), GDestroyNotify free_func,
    void (*cancel_places) (GstZeroLink * link));

/* Moves frames held by the writer (zb_reservation_commit_hold) out of the
 * ring: copies them and releases their holds; returns how many. */
typedef guint (*GstZeroLinkMakeRoom) (gpointer data);

/* When reserve waits because held frames take the room the frame needs,
 * it calls FUNC (after 10 ms, then every 10 ms while it waits).
 * Set once, before the link is used; NOTIFY frees DATA with the link. */
void gst_zero_link_set_make_room (GstZeroLink * link,
    GstZeroLinkMakeRoom func, gpointer data, GDestroyNotify notify);

/* What the element's errors advise when the ring stays full for the
 * timeout (a static string): "raise timeout (-1 waits forever) or use
 * policy=drop" by default (zerosink's policy=drop drops at a full ring);
 * zerofilter's policy=drop does not, so it says otherwise. Set once,
 * before the link is used. */
void gst_zero_link_set_full_hint (GstZeroLink * link, const gchar * hint);

/* How long reserve waits for space (ms, -1: forever) and whether a full
 * ring drops the frame instead. */
void gst_zero_link_set_policy (GstZeroLink * link, gint timeout, gboolean drop);

/* The caps the metadata describes, and the frames' (zerofilter's first
 * caps). FALSE, with *error, when the link is connected to a ring whose
 * metadata has other caps: they cannot change. */
gboolean gst_zero_link_set_caps (GstZeroLink * link, GstCaps * caps,
    GstZeroError ** error);

/* zerosink's caps: the metadata's until it is written, then, with the frame
 * header, the caps each frame carries when they differ from it (as
 * set_frame_caps), in one step; with the header, other caps give a ring
 * refused as too small (set_reconnect) another chance. (Caps set before
 * connecting to a ring whose metadata has others travel so too.) FALSE, with *error, when they differ and
 * cannot travel so (caps that only add fields to the metadata's need not). */
gboolean gst_zero_link_change_caps (GstZeroLink * link, GstCaps * caps,
    GstZeroError ** error);

/* The writer (a reference: zb_writer_unref), connected and with the
 * metadata in place. GST_FLOW_FLUSHING when the link is closed, flushing
 * or CANCELLABLE is cancelled, GST_FLOW_EOS after finish, GST_FLOW_ERROR with
 * *error, GST_ZERO_LINK_NO_READER (see set_reconnect). Any thread;
 * interrupted by gst_zero_link_wake. */
GstFlowReturn gst_zero_link_get_writer (GstZeroLink * link,
    GCancellable * cancellable, zb_writer ** writer, GstZeroError ** error);

/* What a reserve for a numbered copy (gst_zero_link_reserve for a place
 * or a copy) returns when a frame is reserved (not yet committed) for a buffer
 * numbered after it: its frame would come after that one's, whose buffer
 * comes after it (back in time); the caller drops it. */
#define GST_ZERO_LINK_LATE GST_FLOW_CUSTOM_SUCCESS_2

/* A number for a buffer about to be handed out (zerosink's pool numbers
 * every buffer, ring reservation or plain), increasing, never 0. Frames
 * are published in the order they are reserved, so a buffer that is not
 * a reservation must not be copied into the ring while a buffer numbered
 * later has its reservation open (pushed after it, it would come before
 * it). Any thread. */
guint64 gst_zero_link_ticket (GstZeroLink * link);

/* How a reserve waits for room in a full ring. */
typedef enum
{
  GST_ZERO_LINK_WAIT,           /* as the policy says (timeout, drop) */
  /* the same, but when the element is a sink (zerosink) only while it
   * is PLAYING or on its way there from PAUSED (or stopping): else it
   * cannot preroll while upstream waits in its pool, so not at all then,
   * and a wait ends when its unlock() wakes it (gst_zero_link_wake) on
   * the way to PAUSED */
  GST_ZERO_LINK_WAIT_PLAYING,
  GST_ZERO_LINK_DONTWAIT,       /* not at all, whatever the policy */
} GstZeroLinkWait;

/* What a numbered reserve (gst_zero_link_reserve) takes a frame for. */
typedef enum
{
  GST_ZERO_LINK_FOR_POOL,       /* a pool buffer, as upstream takes it */
  GST_ZERO_LINK_FOR_PLACE,      /* the copy of a plain pool buffer upstream
                                 * has yet to push (its place) */
  GST_ZERO_LINK_FOR_COPY,       /* the copy of a buffer being written */
} GstZeroLinkFrameFor;

/* Reserves SIZE bytes on WRITER with the link's policy, waiting for room
 * as HOW says, for the buffer numbered
 * TICKET (0: a buffer without a number, reserved as it comes) as WHAT
 * says. A numbered reservation (not GST_ZERO_LINK_FOR_COPY: that buffer
 * is being written) counts as a frame still to come from the time it is
 * being taken until gst_zero_link_settle says it ended (committed: its
 * buffer was rendered, before the copies rendered after it; or not);
 * connecting (a new ring) forgets them all. A copy of a numbered buffer
 * (not GST_ZERO_LINK_FOR_POOL) reserves only when no frame numbered after
 * it is still to come, and no
 * reservation for a numbered buffer is taken while it reserves (they
 * wait, GST_ZERO_LINK_DONTWAIT ones do not). GST_FLOW_OK,
 * GST_FLOW_CUSTOM_SUCCESS when the ring is full and the policy drops (or
 * HOW does not wait now), GST_FLOW_FLUSHING (closed, flushing, or CANCELLABLE
 * cancelled),
 * GST_ZERO_LINK_NO_READER (reconnect: the reader was lost meanwhile),
 * GST_ZERO_LINK_LATE (a copy: see there), GST_FLOW_ERROR with *error. */
GstFlowReturn gst_zero_link_reserve (GstZeroLink * link, zb_writer * writer,
    gsize size, GstZeroLinkWait how, guint64 ticket, GstZeroLinkFrameFor what,
    GCancellable * cancellable, zb_reservation * res, GstZeroError ** error);

/* The reservation gst_zero_link_reserve took on WRITER, numbered ID by
 * the core (zb_reservation.id, read before its commit or cancel), for
 * TICKET (0: none; also for GST_ZERO_LINK_FOR_COPY, which counted as no
 * frame to come: its pool buffer's own reservation, of that number, may
 * still be open) ended: committed (its frame is in the ring, or will be
 * once the reservations before it end), cancelled, abandoned or refused.
 * Any thread. */
void gst_zero_link_settle (GstZeroLink * link, guint64 ticket,
    zb_writer * writer, guint64 id);

/* Whether the frame committed from the reservation the core numbered ID
 * is visible to the reader: no reservation taken before it (through the
 * link, in the ring it is connected to) is still open. A commit is
 * published in ring order, so one behind a reservation that upstream
 * holds back (a pool buffer it has not pushed) waits for that one. Any
 * thread. */
gboolean gst_zero_link_published (GstZeroLink * link, guint64 id);

/* Makes every wait of the link (connecting, reserving) look at its
 * cancellable again, also a reserve that looked at it just before and
 * whose wait starts after another waiter took the wake (a reserve counts
 * the writer's wakes before it looks: zb_writer_reserve_since); so cancel
 * first, then wake. Any thread. */
void gst_zero_link_wake (GstZeroLink * link);

/* Bytes of the per-frame header in front of every frame (0 or 48). */
gsize gst_zero_link_header_size (GstZeroLink * link);

/* The caps of the frames written from now on, when they may differ from
 * the metadata's (zerofilter after a caps change): with the per-frame
 * header, every frame whose caps differ from the metadata's carries them
 * in its attributes, {"caps":"..."} (docs/PROTOCOL.md §9.1). FALSE when
 * they differ and cannot travel so (no frame header, unless they only add
 * fields to the metadata's caps, as a parser refining its caps does; caps
 * too long). */
gboolean gst_zero_link_set_frame_caps (GstZeroLink * link, GstCaps * caps);

/* The one size of a frame of the caps in force (zerobuffer_frame_size:
 * raw video in system memory), with their default layout in *INFO; 0 when
 * any size goes (*INFO untouched). *SAMPLE_FRAME: the bytes of a sample
 * frame when they are raw audio, else 0 (one lock per buffer for both). */
gsize gst_zero_link_frame_size (GstZeroLink * link, GstVideoInfo * info,
    gsize * sample_frame);

/* Whether SIZE bytes can be a frame of the caps in force when they are raw
 * audio: whole sample frames (zerobuffer_frame_size_fits), as its reader
 * takes them. NULL, or the refusal (ZEROBUFFER_EFRAMESIZE) naming SIZE and
 * the sample frame's size. */
GstZeroError *gst_zero_link_refuse_part_samples (GstZeroLink * link,
    gsize size);

/* Whether the caps the ring's metadata declares are known (set_caps,
 * change_caps, or the ring's own once connected): connecting before would
 * write metadata without them. */
gboolean gst_zero_link_knows_caps (GstZeroLink * link);

/* The caps of the ring's metadata (a reference), NULL until connected. */
GstCaps *gst_zero_link_ref_metadata_caps (GstZeroLink * link);

/* Whether frames of CAPS would carry them (they differ from the caps in
 * the ring's metadata, with the frame header; FALSE until connected). */
gboolean gst_zero_link_carries_caps (GstZeroLink * link, GstCaps * caps);

/* The attribute bytes every frame's header carries now (a reference), or
 * NULL. Known once connected: connecting to a ring whose metadata has other
 * caps sets them. */
GBytes *gst_zero_link_ref_attributes (GstZeroLink * link);

/* How many times the link connected to a ring (and put its metadata in
 * place) since it was made: a change means a reader that has seen none
 * of the frames before. *CONNECTED (may be NULL): whether it is connected
 * now. Any thread. */
guint64 gst_zero_link_connects (GstZeroLink * link, gboolean * connected);

/* Fills *health from the connected ring; FALSE when not connected. */
gboolean gst_zero_link_health (GstZeroLink * link, zb_health * health);

/* Whether the reader of a stream with delta units (DELTA_UNIT buffers)
 * lacks the key unit its decoder needs before the delta units to come:
 * zerosink's reader, zerofilter's server. Upstream is asked for one (an
 * upstream force-key-unit event, all headers, numbered), as GStreamer's
 * network sinks do for a new client, when a delta unit is written after a
 * frame was lost or as a new reader's first frame (a change of
 * gst_zero_link_connects); not at the loss: while the ring is full the
 * encoder's key unit would be lost too, and asking at each loss made
 * every frame a key unit. Once until a key unit is written; again if a
 * key unit is lost, but not within a second of the last request (a reader
 * too slow for the key unit to fit made every third frame one). Streams
 * without delta units are never asked. The streaming thread's, no lock. */
typedef struct
{
  gboolean awaiting;            /* a frame was lost, or a new reader came,
                                 * since the last key unit written */
  gboolean asked;               /* upstream was asked for it */
  gint64 asked_at;              /* when, monotonic µs */
  guint requests;               /* force-key-unit events sent (numbered) */
  guint64 connects;             /* gst_zero_link_connects at the last write */
} GstZeroKeyUnitNeed;

/* A session starts (the element's start()): nothing lost yet. */
void gst_zero_key_unit_need_reset (GstZeroKeyUnitNeed * need);
/* A frame did not reach the reader (a repeat of the frame before is no
 * loss). */
void gst_zero_key_unit_need_lost (GstZeroKeyUnitNeed * need);
/* A frame (DELTA: a delta unit) was written through LINK: asks upstream
 * through SINKPAD when the reader needs a key unit. */
void gst_zero_key_unit_need_written (GstZeroKeyUnitNeed * need,
    GstZeroLink * link, GstPad * sinkpad, gboolean delta);

G_END_DECLS

#endif /* GST_ZERO_LINK_H */

/* gstzerolink.c — the writing end of a ring for an element (see
 * gstzerolink.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <gst/base/gstbasesink.h>
#include <gst/video/video.h>

#include "gstzerobufferelements.h"
#include "gstzerolink.h"

#define GST_CAT_DEFAULT (link->category)

/* How often a missing ring is looked for again while connecting. */
#define CONNECT_RETRY_MS 20
/* After how long a wait for the ring is told in an INFO message. */
#define CONNECT_HINT_US (1 * G_TIME_SPAN_SECOND)
/* How long a reservation that held frames block waits before they are
 * moved out (gst_zero_link_set_make_room), and again between moves. */
#define HOLD_PATIENCE_MS 10
/* How long after a force-key-unit request another may go out while the
 * reader still lacks a key unit (one lost, or none came). */
#define KEY_UNIT_REASK_US (1 * G_TIME_SPAN_SECOND)

/* With reconnect: why the next frame written is the first into a ring
 * found (none while a frame was written since). */
typedef enum
{
  ABSENT_NONE,
  ABSENT_START,                 /* none had the ring yet (open, resume) */
  ABSENT_LOST,                  /* a reader was lost (or refused) */
} ZeroLinkAbsent;

struct _GstZeroLink
{
  gint refcount;
  GstDebugCategory *category;
  GWeakRef element;             /* posts the waiting hint */
  const gchar *creator;         /* who creates the ring, for the hint */

  /* `lock` guards everything below; `cond` is broadcast when the writer,
   * `connecting`, `closed`, `flushing` or `eos` change, and by
   * gst_zero_link_wake */
  GMutex lock;
  GCond cond;
  gchar *name;
  gchar *owner;
  gchar *camera_id;
  gint connect_timeout;
  gboolean frame_header;
  gboolean in_place;            /* declares in-place answers (duplex) */
  gboolean other_caps;          /* takes a ring of other caps (header) */
  gint timeout;
  gboolean drop;
  const gchar *full_hint;       /* what helps a ring that stays full */
  guint policy_seq;             /* set_policy changes: a wait for room in
                                 * progress takes the new policy */
  gboolean closed;              /* between close and open */
  gboolean eos;                 /* after finish, until resume or open */
  gboolean flushing;            /* after flush, until resume or open */
  gboolean connecting;          /* a thread is connecting */
  gboolean tried;               /* connected or tried to, since open/resume */
  gboolean reconnect;           /* after a reader is lost: the next one */
  gboolean lost;                /* the reader went away; looking for the next */
  gboolean failed;              /* the element's error ended the stream,
                                 * since open/resume (mark_failed) */
  guint losses;                 /* readers lost since open */
  ZeroLinkAbsent absent;        /* why frames are written into a ring found
                                 * next, not told yet (gst_zero_link_written) */
  guint64 dropped;              /* frames dropped since the last written */
  guint losses_told;            /* readers lost, warned of (gst_zero_link_lost) */
  gboolean pool_refused;        /* upstream pushed a pool buffer again */
  gboolean repeat_drop_told;    /* a warning said a repeat was dropped */
  /* counts since open (gst_zero_link_stats) */
  guint64 frames_written;
  guint64 bytes_written;
  guint64 frames_dropped;
  guint64 frames_copied;
  guint64 frames_zero_copy;
  guint64 buffers_empty;
  gint64 next_look;             /* lost: when to look for the ring again */
  guint64 refused_pid;          /* reconnect: the reader whose ring was too
                                 * small, not taken again while it has it */
  guint64 refused_size;         /* ... and that ring's payload size */
  guint64 tickets;              /* numbers handed out (gst_zero_link_ticket) */
  guint64 connects;             /* rings connected to (gst_zero_link_connects) */
  /* the numbered reservations of the ring connected to, open or being
   * taken (none after a connect) */
  GArray *open_tickets;
  /* the core's ids (ring order) of the writer's reservations open now */
  GArray *open_ids;
  gboolean copying;             /* a numbered copy is reserving its frame */
  zb_writer *writer;            /* connected, metadata in place */
  GstCaps *caps;                /* the metadata's, to come (set_caps) */
  GstCaps *frame_caps;          /* of the frames from now on */
  ZeroBufferFrameSize sized;    /* the frame size of frame_caps */
  GstCaps *metadata_caps;       /* the caps the ring's metadata declares */
  GBytes *attributes;           /* after every frame's header, or NULL */
  GstZeroLinkMakeRoom make_room;        /* set once, before use */
  gpointer make_room_data;
  GDestroyNotify make_room_notify;
  gpointer pool_shared;         /* gst_zero_link_pool_shared */
  GDestroyNotify pool_shared_free;
  void (*pool_cancel_places) (GstZeroLink * link);
};

GstZeroError *
gst_zero_error_new (int code, gchar * text, gchar * debug)
{
  GstZeroError *e = g_new (GstZeroError, 1);

  e->code = code;
  /* (valid UTF-8 for the plain GST_ELEMENT_WARNINGs too) */
  e->text = zerobuffer_utf8_take_valid (text);
  e->debug = zerobuffer_utf8_take_valid (debug);
  return e;
}

void
gst_zero_error_free (GstZeroError * e)
{
  if (e != NULL) {
    g_free (e->text);
    g_free (e->debug);
    g_free (e);
  }
}

GstZeroLink *
gst_zero_link_new (GstDebugCategory * category, GstElement * element,
    const gchar * creator)
{
  GstZeroLink *link = g_new0 (GstZeroLink, 1);

  link->refcount = 1;
  link->category = category;
  g_weak_ref_init (&link->element, element);
  link->creator = creator;
  link->full_hint = "raise timeout (-1 waits forever) or use policy=drop";
  link->closed = TRUE;
  link->open_tickets = g_array_new (FALSE, FALSE, sizeof (guint64));
  link->open_ids = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_mutex_init (&link->lock);
  g_cond_init (&link->cond);
  return link;
}

GstZeroLink *
gst_zero_link_ref (GstZeroLink * link)
{
  g_atomic_int_inc (&link->refcount);
  return link;
}

void
gst_zero_link_unref (GstZeroLink * link)
{
  if (link == NULL || !g_atomic_int_dec_and_test (&link->refcount))
    return;
  zb_writer_destroy (link->writer);
  if (link->make_room_notify != NULL)
    link->make_room_notify (link->make_room_data);
  if (link->pool_shared_free != NULL)
    link->pool_shared_free (link->pool_shared);
  gst_caps_replace (&link->caps, NULL);
  gst_caps_replace (&link->frame_caps, NULL);
  zerobuffer_frame_size_clear (&link->sized);
  gst_caps_replace (&link->metadata_caps, NULL);
  g_clear_pointer (&link->attributes, g_bytes_unref);
  g_array_unref (link->open_tickets);
  g_array_unref (link->open_ids);
  g_free (link->name);
  g_free (link->owner);
  g_free (link->camera_id);
  g_weak_ref_clear (&link->element);
  g_mutex_clear (&link->lock);
  g_cond_clear (&link->cond);
  g_free (link);
}

/* Drops the writer (with the lock): the reader sees end of stream once it
 * has drained the ring. Reservations still open upstream are abandoned. */
static void
detach_locked (GstZeroLink * link)
{
  if (link->writer != NULL) {
    GST_INFO ("detaching from ring %s", link->name);
    zb_writer_wake (link->writer);
    zb_writer_destroy (link->writer);
    link->writer = NULL;
  }
  gst_caps_replace (&link->metadata_caps, NULL);
  g_cond_broadcast (&link->cond);
}

/* With the lock, after closed, eos or flushing changed: the writer is
 * flushing (zb_writer_set_flushing) exactly while the link refuses
 * reservations (interrupted_locked), so every reserve on it that would
 * wait for room ends, in any thread, also one that looked at the link
 * just before the change: a wake is taken by the waits that see it, and
 * one that starts after another took it would wait for room. Never while
 * the link takes reservations: a reserve whose link says go on would
 * then find the writer flushing again and again. */
static void
refusal_changed_locked (GstZeroLink * link)
{
  if (link->writer != NULL)
    zb_writer_set_flushing (link->writer, link->closed || link->eos ||
        link->flushing);
  g_cond_broadcast (&link->cond);
}

/* With the lock, once the link refuses new reservations (closed or eos
 * set): ends the waits in progress and refuses those to come
 * (refusal_changed_locked), lets the pools cancel what they reserved that
 * nobody writes into (the destroy would copy it into pages of this
 * process), without the lock (theirs comes first), then detaches. Refused
 * first: a reserve that began before the cancel ends now, and none begins
 * after it to leave a reservation open at the destroy. */
static void
detach_refused_locked (GstZeroLink * link)
{
  void (*cancel_places) (GstZeroLink * link) = link->pool_cancel_places;

  refusal_changed_locked (link);
  if (cancel_places != NULL) {
    g_mutex_unlock (&link->lock);
    cancel_places (link);
    g_mutex_lock (&link->lock);
  }
  detach_locked (link);
}

static void
reset_counts_locked (GstZeroLink * link)
{
  link->frames_written = link->bytes_written = link->frames_dropped = 0;
  link->frames_copied = link->frames_zero_copy = link->buffers_empty = 0;
}

void
gst_zero_link_reset_counts (GstZeroLink * link)
{
  g_mutex_lock (&link->lock);
  reset_counts_locked (link);
  g_mutex_unlock (&link->lock);
}

void
gst_zero_link_open (GstZeroLink * link, const gchar * name,
    const gchar * owner, const gchar * camera_id, gint connect_timeout,
    gboolean frame_header)
{
  g_mutex_lock (&link->lock);
  link->closed = TRUE;          /* until the settings below are in place */
  detach_refused_locked (link);
  g_free (link->name);
  g_free (link->owner);
  g_free (link->camera_id);
  link->name = g_strdup (name);
  link->owner = g_strdup (owner);
  link->camera_id = g_strdup (camera_id);
  link->connect_timeout = connect_timeout;
  link->frame_header = frame_header;
  link->closed = FALSE;
  link->eos = FALSE;
  link->flushing = FALSE;
  link->tried = FALSE;
  link->failed = FALSE;
  /* with reconnect, no reader yet is as a reader lost: frames are
   * dropped until one creates the ring (no connect-timeout wait) */
  link->lost = link->reconnect;
  link->absent = link->reconnect ? ABSENT_START : ABSENT_NONE;
  link->dropped = 0;
  link->losses = link->losses_told = 0;
  link->pool_refused = FALSE;
  link->repeat_drop_told = FALSE;
  reset_counts_locked (link);
  link->next_look = 0;
  link->refused_pid = link->refused_size = 0;
  gst_caps_replace (&link->caps, NULL);
  gst_caps_replace (&link->frame_caps, NULL);
  g_clear_pointer (&link->attributes, g_bytes_unref);
  g_mutex_unlock (&link->lock);
}

void
gst_zero_link_close (GstZeroLink * link)
{
  g_mutex_lock (&link->lock);
  link->closed = TRUE;
  detach_refused_locked (link);
  g_mutex_unlock (&link->lock);
}

void
gst_zero_link_finish (GstZeroLink * link)
{
  g_mutex_lock (&link->lock);
  link->eos = TRUE;
  detach_refused_locked (link);
  g_mutex_unlock (&link->lock);
}

void
gst_zero_link_resume (GstZeroLink * link)
{
  g_mutex_lock (&link->lock);
  link->eos = FALSE;
  link->flushing = FALSE;
  link->tried = FALSE;
  link->failed = FALSE;
  refusal_changed_locked (link);
  /* a stream that starts again after its EOS (detached) is as one that
   * starts: with reconnect, no reader yet is as a reader lost */
  if (link->writer == NULL) {
    link->lost = link->reconnect;
    link->absent = link->reconnect ? ABSENT_START : ABSENT_NONE;
    link->dropped = 0;
    link->next_look = 0;
  }
  g_mutex_unlock (&link->lock);
}

void
gst_zero_link_flush (GstZeroLink * link)
{
  g_mutex_lock (&link->lock);
  link->flushing = TRUE;
  refusal_changed_locked (link);
  g_mutex_unlock (&link->lock);
}

gboolean
gst_zero_link_owes_eos (GstZeroLink * link)
{
  gboolean owes;

  g_mutex_lock (&link->lock);
  owes = !link->failed && (!link->tried || link->lost);
  g_mutex_unlock (&link->lock);
  return owes;
}

void
gst_zero_link_mark_failed (GstZeroLink * link)
{
  g_mutex_lock (&link->lock);
  link->failed = TRUE;
  g_mutex_unlock (&link->lock);
}

void
gst_zero_link_set_in_place (GstZeroLink * link, gboolean in_place)
{
  g_mutex_lock (&link->lock);
  link->in_place = in_place;
  g_mutex_unlock (&link->lock);
}

void
gst_zero_link_set_connect_timeout (GstZeroLink * link, gint connect_timeout)
{
  g_mutex_lock (&link->lock);
  link->connect_timeout = connect_timeout;
  g_mutex_unlock (&link->lock);
}

void
gst_zero_link_set_reconnect (GstZeroLink * link, gboolean reconnect)
{
  g_mutex_lock (&link->lock);
  link->reconnect = reconnect;
  g_mutex_unlock (&link->lock);
}

/* With the lock: WRITER, which the caller holds a reference to (so no
 * other writer has its address), found its reader gone. With reconnect,
 * when it is still the link's writer, the link detaches and looks for the
 * next reader's ring from now on; the metadata written there describes
 * the caps of the frames then. */
static void
reader_gone_locked (GstZeroLink * link, zb_writer * writer)
{
  if (!link->reconnect || writer == NULL || link->writer != writer)
    return;
  GST_INFO ("the reader of ring %s is gone: detaching, frames are dropped "
      "until a reader creates the ring again", link->name);
  gst_caps_replace (&link->caps, link->frame_caps);
  g_clear_pointer (&link->attributes, g_bytes_unref);
  detach_locked (link);
  link->lost = TRUE;
  link->absent = ABSENT_LOST;
  link->losses++;
  link->next_look = 0;
}

/* With reconnect: WRITER's ring can never hold a frame (EMSGSIZE, E).
 * When it is still the link's writer, the link detaches as from a reader
 * lost, and does not take that reader's ring again (the same reader pid
 * and payload size) while it has it, unless the caps change
 * (gst_zero_link_change_caps); E's text says what the user can do. */
static void
too_small (GstZeroLink * link, zb_writer * writer, GstZeroError * e)
{
  zb_health h;
  gchar *text;

  g_mutex_lock (&link->lock);
  if (link->reconnect && writer != NULL && link->writer == writer &&
      zb_writer_health (writer, &h) == 0) {
    link->refused_pid = h.reader_pid;
    link->refused_size = h.payload_size;
    text = g_strdup_printf ("%s: dropping frames until a reader creates a "
        "ring they fit (on-reader-lost=wait); this reader's ring is taken "
        "again once it is created larger%s", e->text, link->frame_header ?
        ", or after a caps change" : "");
    g_free (e->text);
    e->text = text;
    GST_INFO ("ring %s (reader pid %" G_GUINT64_FORMAT ", payload %"
        G_GUINT64_FORMAT " bytes) is too small for the frames: not taken "
        "again while that reader has it", link->name, h.reader_pid,
        h.payload_size);
  }
  reader_gone_locked (link, writer);
  g_mutex_unlock (&link->lock);
}

/* Whether the ring under the link's name is still the one refused
 * (too_small), with the lock; forgets it once it is not. */
static gboolean
refused_locked (GstZeroLink * link)
{
  zb_health h;

  if (link->refused_pid == 0)
    return FALSE;
  if (zb_health_read (link->name, &h) == 0 && h.reader_alive &&
      h.reader_pid == link->refused_pid &&
      h.payload_size == link->refused_size)
    return TRUE;
  link->refused_pid = link->refused_size = 0;
  return FALSE;
}

void
gst_zero_link_reader_gone (GstZeroLink * link, zb_writer * writer)
{
  g_mutex_lock (&link->lock);
  reader_gone_locked (link, writer);
  g_mutex_unlock (&link->lock);
}

void
gst_zero_link_post (GstZeroLink * link, GstElement * element,
    GstZeroError * e)
{
  gchar *ring;

  g_mutex_lock (&link->lock);
  ring = g_strdup (link->name);
  g_mutex_unlock (&link->lock);
  zerobuffer_post_message (element, GST_MESSAGE_ERROR, e->code, ring,
      e->text, e->debug, __FILE__, GST_FUNCTION, __LINE__);
  e->text = e->debug = NULL;    /* taken */
  gst_zero_error_free (e);
  g_free (ring);
}

gboolean
gst_zero_link_lost (GstZeroLink * link, GstElement * element,
    GstZeroError * e)
{
  gboolean tell;

  if (e == NULL || (e->code != ZB_EREADERGONE && e->code != ZB_EMSGSIZE))
    return FALSE;
  g_mutex_lock (&link->lock);
  if (link->losses == 0) {
    g_mutex_unlock (&link->lock);
    return FALSE;
  }
  tell = link->losses > link->losses_told;
  link->losses_told = link->losses;
  g_mutex_unlock (&link->lock);
  if (tell && e->code == ZB_EMSGSIZE)   /* (too_small's text says what to do) */
    GST_ELEMENT_WARNING (element, RESOURCE, SETTINGS, ("%s", e->text),
        ("%s", e->debug));
  else if (tell)
    GST_ELEMENT_WARNING (element, RESOURCE, WRITE, ("%s: dropping frames "
            "until a reader creates the ring again (on-reader-lost=wait)",
            e->text), ("%s", e->debug));
  gst_zero_error_free (e);
  return TRUE;
}

void
gst_zero_link_dropped (GstZeroLink * link)
{
  g_mutex_lock (&link->lock);
  link->frames_dropped++;
  if (link->dropped++ == 0 && link->absent == ABSENT_START)
    GST_INFO ("no reader has created the ring yet: dropping frames until "
        "one does (on-reader-lost=wait; ring %s)", link->name);
  g_mutex_unlock (&link->lock);
}

/* With reconnect, the first frame written into a ring found after a
 * reader was lost, or after frames dropped while none had the ring yet,
 * is told in an INFO (gst-launch-1.0 prints its debug text only). */
void
gst_zero_link_written (GstZeroLink * link, GstElement * element, gsize size,
    gboolean in_place)
{
  gboolean tell, again;
  guint64 dropped;
  gchar *name;

  g_mutex_lock (&link->lock);
  link->frames_written++;
  link->bytes_written += size;
  if (in_place)
    link->frames_zero_copy++;
  else
    link->frames_copied++;
  /* (lost again since the frame was written: told at the next reader's) */
  tell = !link->lost && (link->absent == ABSENT_LOST ||
      (link->absent == ABSENT_START && link->dropped > 0));
  dropped = link->dropped;
  again = link->absent == ABSENT_LOST;
  if (!link->lost) {
    link->absent = ABSENT_NONE;
    link->dropped = 0;
  }
  name = g_strdup (link->name);
  g_mutex_unlock (&link->lock);
  if (tell)
    GST_ELEMENT_INFO (element, RESOURCE, WRITE, ("A reader has ring %s%s: "
            "writing into it", name, again ? " again" : ""), ("A reader has "
            "ring %s%s: writing into it; %" G_GUINT64_FORMAT " frame%s %s %s "
            "dropped", name, again ? " again" : "", dropped, dropped == 1 ?
            "" : "s", again ? "since the last one written" :
            "before this one", dropped == 1 ? "was" : "were"));
  g_free (name);
}

guint64
gst_zero_link_skipped_empty (GstZeroLink * link)
{
  guint64 empty;

  g_mutex_lock (&link->lock);
  empty = ++link->buffers_empty;
  g_mutex_unlock (&link->lock);
  return empty;
}

GstStructure *
gst_zero_link_stats (GstZeroLink * link, const gchar * name)
{
  GstStructure *s;
  zb_health health;
  gdouble utilisation = gst_zero_link_health (link, &health) ?
      health.utilisation_percent : 0.0;

  g_mutex_lock (&link->lock);
  s = gst_structure_new (name,
      "frames-written", G_TYPE_UINT64, link->frames_written,
      "bytes-written", G_TYPE_UINT64, link->bytes_written,
      "frames-dropped", G_TYPE_UINT64, link->frames_dropped,
      "frames-copied", G_TYPE_UINT64, link->frames_copied,
      "frames-zero-copy", G_TYPE_UINT64, link->frames_zero_copy,
      "buffers-empty", G_TYPE_UINT64, link->buffers_empty,
      "ring-utilisation", G_TYPE_DOUBLE, utilisation, NULL);
  g_mutex_unlock (&link->lock);
  return s;
}

void
gst_zero_link_refuse_pool (GstZeroLink * link, GstElement * element,
    GstPad * sinkpad, const gchar * what, const gchar * no_pool,
    gboolean dropped)
{
  gboolean first, tell_drop;

  g_mutex_lock (&link->lock);
  first = !link->pool_refused;
  link->pool_refused = TRUE;
  tell_drop = dropped && !link->repeat_drop_told;
  link->repeat_drop_told |= dropped;
  g_mutex_unlock (&link->lock);
  /* a frame less than upstream sent must not go unsaid: the first warning
   * says whether its repeat was dropped, and a later drop warns once; both
   * say how to keep them all, as a repeat dropped is a surprise */
  if (first)
    GST_ELEMENT_WARNING (element, STREAM, FORMAT, ("Upstream pushes buffers "
            "more than once (as videorate does when it repeats frames): %s "
            "are copied from now on, to keep them in order%s; set %s to "
            "copy %s from the start, which keeps every repeat", what,
            dropped ? "; this repeat was dropped (counted in "
            "frames-dropped): a buffer upstream took from the pool after "
            "it was not pushed yet" : "", no_pool, what), ("a pool buffer "
            "came again; until upstream stops using the pool, a repeat is "
            "dropped (counted in frames-dropped) while %s upstream took "
            "from the pool after it are not pushed yet", what));
  else if (tell_drop)
    GST_ELEMENT_WARNING (element, STREAM, FORMAT, ("A repeat of a buffer "
            "(as videorate pushes) was dropped (counted in frames-dropped): "
            "a buffer upstream took from the pool after it was not pushed "
            "yet, and %s are copied in order; set %s to copy %s from the "
            "start, which keeps every repeat", what, no_pool, what),
        ("said once; upstream stops using the pool when it allocates "
            "again"));
  if (first)
    gst_pad_push_event (sinkpad, gst_event_new_reconfigure ());
}

gboolean
gst_zero_link_pool_refused (GstZeroLink * link)
{
  gboolean refused;

  g_mutex_lock (&link->lock);
  refused = link->pool_refused;
  g_mutex_unlock (&link->lock);
  return refused;
}

void
gst_zero_link_set_other_caps (GstZeroLink * link, gboolean other_caps)
{
  g_mutex_lock (&link->lock);
  link->other_caps = other_caps;
  g_mutex_unlock (&link->lock);
}

gpointer
gst_zero_link_pool_shared (GstZeroLink * link, gpointer (*make) (void),
    GDestroyNotify free_func, void (*cancel_places) (GstZeroLink * link))
{
  gpointer shared;

  g_mutex_lock (&link->lock);
  if (link->pool_shared == NULL) {
    link->pool_shared = make ();
    link->pool_shared_free = free_func;
    link->pool_cancel_places = cancel_places;
  }
  shared = link->pool_shared;
  g_mutex_unlock (&link->lock);
  return shared;
}

void
gst_zero_link_set_make_room (GstZeroLink * link, GstZeroLinkMakeRoom func,
    gpointer data, GDestroyNotify notify)
{
  link->make_room = func;
  link->make_room_data = data;
  link->make_room_notify = notify;
}

void
gst_zero_link_set_full_hint (GstZeroLink * link, const gchar * hint)
{
  link->full_hint = hint;
}

void
gst_zero_link_set_policy (GstZeroLink * link, gint timeout, gboolean drop)
{
  g_mutex_lock (&link->lock);
  if (timeout != link->timeout || drop != link->drop) {
    link->timeout = timeout;
    link->drop = drop;
    link->policy_seq++;
    /* a reservation waiting for room under the policy before takes this
     * one (its error said "raise timeout or use policy=drop") */
    if (link->writer != NULL)
      zb_writer_wake (link->writer);
  }
  g_mutex_unlock (&link->lock);
}

/* Whether a bin holding ELEMENT is on its way to READY or NULL. It takes
 * its children there a step at a time: a sink goes PLAYING -> PAUSED
 * first, with PAUSED its own pending state, and its unlock() wakes the
 * wait for room meanwhile. */
static gboolean
parent_stops (GstElement * element)
{
  GstObject *parent = gst_object_get_parent (GST_OBJECT (element));
  gboolean stops = FALSE;

  while (parent != NULL && !stops) {
    GstObject *next;

    GST_OBJECT_LOCK (parent);
    stops = GST_IS_ELEMENT (parent) &&
        GST_STATE_PENDING (parent) != GST_STATE_VOID_PENDING &&
        GST_STATE_PENDING (parent) <= GST_STATE_READY;
    GST_OBJECT_UNLOCK (parent);
    next = stops ? NULL : gst_object_get_parent (parent);
    gst_object_unref (parent);
    parent = next;
  }
  return stops;
}

/* Whether a reserve GST_ZERO_LINK_WAIT_PLAYING may wait for room: the
 * element is no sink (zerofilter), or a sink PLAYING or on its way there
 * from PAUSED (not on its way to PAUSED: its unlock() wakes the wait
 * then; a flush that lost the state has PAUSED pending until the sink
 * prerolls; nor prerolling with PLAYING pending, set there straight from
 * READY or NULL as gst_element_sync_state_with_parent does: it never
 * prerolled while the ring stayed full), or
 * stopping (READY or NULL pending, its own or a bin's that takes it
 * there: the wait goes on until PAUSED_TO_READY sets the link flushing,
 * and upstream's acquire ends with FLUSHING, not with a plain buffer it
 * would push into a stopped sink; as a bin's child, woken on the way
 * through PAUSED, it took one 1 run in 3 under load). The two looks are
 * not one: the sink seen on its way to PAUSED, then its bin once READY, say
 * "no wait", and reserve then finds the link flushing. Not with the link's
 * lock: the element's object lock comes first (set_property sets the
 * policy under it). */
static gboolean
may_wait_for_room (GstZeroLink * link)
{
  GstElement *element = g_weak_ref_get (&link->element);
  GstState state;
  gboolean may;

  if (element == NULL)
    return FALSE;
  GST_OBJECT_LOCK (element);
  state = GST_STATE_PENDING (element) == GST_STATE_VOID_PENDING ?
      GST_STATE (element) : GST_STATE_PENDING (element);
  may = !GST_IS_BASE_SINK (element) || (state == GST_STATE_PLAYING &&
      GST_STATE (element) >= GST_STATE_PAUSED) || state <= GST_STATE_READY;
  GST_OBJECT_UNLOCK (element);
  if (!may)
    may = parent_stops (element);
  gst_object_unref (element);
  return may;
}

void
gst_zero_link_wake (GstZeroLink * link)
{
  g_mutex_lock (&link->lock);
  if (link->writer != NULL)
    zb_writer_wake (link->writer);
  g_cond_broadcast (&link->cond);
  g_mutex_unlock (&link->lock);
}

gsize
gst_zero_link_header_size (GstZeroLink * link)
{
  gboolean header;

  g_mutex_lock (&link->lock);
  header = link->frame_header;
  g_mutex_unlock (&link->lock);
  return header ? ZB_EXT_HEADER_SIZE : 0;
}

/* Under the lock: whether frames of CAPS differ from the metadata's. */
static gboolean
caps_differ_locked (GstZeroLink * link, GstCaps * caps)
{
  return caps != NULL && link->metadata_caps != NULL &&
      !gst_caps_is_equal (caps, link->metadata_caps);
}

/* Fields a parser adds once it has seen the stream (h264parse: profile,
 * level, chroma-format, bit depths, coded-picture-structure) that say more
 * about the frames without changing how their bytes read. A field whose
 * absence means a default (stream-format, alignment, interlace-mode,
 * layout, multiview-mode, ...) is not one: added, it may change the
 * layout. */
static const gchar *const informational_fields[] = {
  "profile", "level", "tier", "parsed", "colorimetry", "chroma-site",
  "chroma-format", "bit-depth-luma", "bit-depth-chroma",
  "coded-picture-structure", "pixel-aspect-ratio", "framerate", NULL
};

static gboolean
field_is_known_or_informational (GQuark field, const GValue * value,
    gpointer data)
{
  const GstStructure **both = data;     /* the metadata's, the new caps' */
  const gchar *name = g_quark_to_string (field);
  const gchar *format;

  if (gst_structure_id_has_field (both[0], field))
    return TRUE;
  if (g_str_equal (name, "interlace-mode"))
    return G_VALUE_HOLDS_STRING (value) &&
        g_strcmp0 (g_value_get_string (value), "progressive") == 0;
  if (g_str_equal (name, "multiview-mode"))
    return G_VALUE_HOLDS_STRING (value) &&
        g_strcmp0 (g_value_get_string (value), "mono") == 0;
  /* in-band parameter sets make codec_data a summary; elsewhere (avc,
   * AAC) a reader without it cannot decode */
  if (g_str_equal (name, "codec_data")) {
    format = gst_structure_get_string (both[1], "stream-format");
    return g_strcmp0 (format, "byte-stream") == 0;
  }
  /* a muxer (matroskamux, webmmux) or parser sends its header buffers
   * in-band, flagged HEADER, before it copies them into streamheader: the
   * ring already holds them */
  if (g_str_equal (name, "streamheader"))
    return TRUE;
  return g_strv_contains (informational_fields, name);
}

/* Whether CAPS only refine the ring's (fixed) RING_CAPS: the same fields
 * with the same values, and more that only describe the frames
 * (field_is_known_or_informational), so their frames are frames of the
 * ring's caps too. */
static gboolean
caps_refine (GstCaps * caps, GstCaps * ring_caps)
{
  const GstStructure *both[2];

  if (caps == NULL || ring_caps == NULL ||
      !gst_caps_is_fixed (ring_caps) || !gst_caps_is_fixed (caps) ||
      !gst_caps_is_subset (caps, ring_caps))
    return FALSE;
  both[0] = gst_caps_get_structure (ring_caps, 0);
  both[1] = gst_caps_get_structure (caps, 0);
  return gst_structure_foreach (both[1], field_is_known_or_informational,
      both);
}

/* Under the lock: the caps of the frames from now on; their attributes
 * {"caps":"..."} when they differ from the metadata's, else none; FALSE
 * when they differ and cannot travel so (no frame header, unless they only
 * refine the metadata's; caps too long). Without the metadata yet, none:
 * connect_locked calls it again. */
static gboolean
set_frame_caps_locked (GstZeroLink * link, GstCaps * caps)
{
  GBytes *attributes = NULL;
  gboolean ok = TRUE;

  gst_caps_replace (&link->frame_caps, caps);

  if (caps_differ_locked (link, caps) && link->frame_header) {
    GString *json = g_string_new ("{\"caps\":");
    gchar *text = gst_caps_to_string (caps);

    zerobuffer_json_append_string (json, text);
    g_free (text);
    g_string_append_c (json, '}');
    /* spaces up to a multiple of 8: the buffer bytes stay aligned */
    while (json->len % 8 != 0)
      g_string_append_c (json, ' ');
    if (json->len <= ZB_EXT_MAX_ATTRS_SIZE)
      attributes = g_bytes_new (json->str, json->len);
    else
      ok = FALSE;
    g_string_free (json, TRUE);
  } else if (caps_differ_locked (link, caps) &&
      !caps_refine (caps, link->metadata_caps)) {
    ok = FALSE;
  }
  g_clear_pointer (&link->attributes, g_bytes_unref);
  link->attributes = attributes;
  return ok;
}

gboolean
gst_zero_link_set_frame_caps (GstZeroLink * link, GstCaps * caps)
{
  gboolean ok;

  g_mutex_lock (&link->lock);
  ok = set_frame_caps_locked (link, caps);
  g_mutex_unlock (&link->lock);
  return ok;
}

gsize
gst_zero_link_frame_size (GstZeroLink * link, GstVideoInfo * info,
    gsize * sample_frame)
{
  gsize size;

  g_mutex_lock (&link->lock);
  size = zerobuffer_frame_size (&link->sized, link->frame_caps);
  if (size != 0)
    *info = link->sized.info;
  *sample_frame = link->sized.sample_frame;
  g_mutex_unlock (&link->lock);
  return size;
}

GstZeroError *
gst_zero_link_refuse_part_samples (GstZeroLink * link, gsize size)
{
  gchar *expected = NULL, *text;
  const gchar *rule = NULL;
  gboolean fits;

  g_mutex_lock (&link->lock);
  zerobuffer_frame_size (&link->sized, link->frame_caps);
  fits = link->sized.sample_frame == 0 ||
      zerobuffer_frame_size_fits (&link->sized, link->frame_caps, size, "",
      &expected, &rule);
  g_mutex_unlock (&link->lock);
  if (fits)
    return NULL;
  text = g_strdup_printf ("A buffer of %" G_GSIZE_FORMAT " bytes is not raw "
      "audio of its caps: %s", size, expected);
  g_free (expected);
  return gst_zero_error_new (ZEROBUFFER_EFRAMESIZE, text,
      g_strdup_printf ("%s; its reader would refuse the frame (zerosrc: "
          "EPROTO)", rule));
}

gboolean
gst_zero_link_knows_caps (GstZeroLink * link)
{
  gboolean known;

  g_mutex_lock (&link->lock);
  known = link->caps != NULL || link->metadata_caps != NULL;
  g_mutex_unlock (&link->lock);
  return known;
}

GstCaps *
gst_zero_link_ref_metadata_caps (GstZeroLink * link)
{
  GstCaps *caps;

  g_mutex_lock (&link->lock);
  caps = link->metadata_caps ? gst_caps_ref (link->metadata_caps) : NULL;
  g_mutex_unlock (&link->lock);
  return caps;
}

gboolean
gst_zero_link_carries_caps (GstZeroLink * link, GstCaps * caps)
{
  gboolean differ;

  g_mutex_lock (&link->lock);
  /* (without the header they can differ only as a refinement: none) */
  differ = link->frame_header && caps_differ_locked (link, caps);
  g_mutex_unlock (&link->lock);
  return differ;
}

GBytes *
gst_zero_link_ref_attributes (GstZeroLink * link)
{
  GBytes *attributes;

  g_mutex_lock (&link->lock);
  attributes = link->attributes ? g_bytes_ref (link->attributes) : NULL;
  g_mutex_unlock (&link->lock);
  return attributes;
}

guint64
gst_zero_link_connects (GstZeroLink * link, gboolean * connected)
{
  guint64 connects;

  g_mutex_lock (&link->lock);
  connects = link->connects;
  if (connected != NULL)
    *connected = link->writer != NULL;
  g_mutex_unlock (&link->lock);
  return connects;
}

gboolean
gst_zero_link_health (GstZeroLink * link, zb_health * health)
{
  gboolean ok;

  g_mutex_lock (&link->lock);
  ok = link->writer != NULL && zb_writer_health (link->writer, health) == 0;
  g_mutex_unlock (&link->lock);
  return ok;
}

/* The error for caps that cannot follow the metadata's. */
static GstZeroError *
caps_refused_locked (GstZeroLink * link, GstCaps * caps)
{
  gchar *old_caps = gst_caps_to_string (link->metadata_caps);
  gchar *new_caps = gst_caps_to_string (caps);
  GstZeroError *error = gst_zero_error_new (ZB_EMETADATA,
      g_strdup_printf ("Caps cannot differ from the ring's: its metadata "
          "says %s, upstream sends %s", old_caps, new_caps),
      g_strdup (link->frame_header ? "the new caps are too long for a frame "
          "header's attributes; restart both sides to change the format" :
          "the metadata of a ZeroBuffer ring is written once; with "
          "frame-header=true each frame can carry caps of its own, else "
          "restart both sides to change the format"));

  g_free (old_caps);
  g_free (new_caps);
  return error;
}

gboolean
gst_zero_link_set_caps (GstZeroLink * link, GstCaps * caps,
    GstZeroError ** error)
{
  gboolean ok = TRUE;

  g_mutex_lock (&link->lock);
  if (caps_differ_locked (link, caps)) {
    *error = caps_refused_locked (link, caps);
    ok = FALSE;
  } else {
    gst_caps_replace (&link->caps, caps);
    gst_caps_replace (&link->frame_caps, caps);
  }
  g_mutex_unlock (&link->lock);
  return ok;
}

gboolean
gst_zero_link_change_caps (GstZeroLink * link, GstCaps * caps,
    GstZeroError ** error)
{
  gboolean ok = TRUE;

  g_mutex_lock (&link->lock);
  /* frames of other caps may fit a ring refused as too small; they travel
   * in their headers, so its metadata (of the caps before) does not stop
   * them (without the header it would: not taken) */
  if (link->refused_pid != 0 && link->frame_header &&
      !gst_caps_is_equal (caps, link->frame_caps)) {
    GST_INFO ("caps changed: ring %s, too small for the frames before, is "
        "taken again", link->name);
    link->refused_pid = link->refused_size = 0;
  }
  if (link->metadata_caps == NULL)
    gst_caps_replace (&link->caps, caps);       /* the metadata's, to come */
  if (!set_frame_caps_locked (link, caps)) {
    *error = caps_refused_locked (link, caps);
    ok = FALSE;
  }
  g_mutex_unlock (&link->lock);
  return ok;
}

/* ------------------------------------------------------------ metadata */

typedef int (*Declare) (const uint8_t * json, uint64_t size, uint8_t * out,
    uint64_t cap, uint64_t * out_size);

/* Adds one of our extensions' declarations to the metadata JSON (by the
 * core, which knows the "zerobuffer" member). */
static void
declare (GString * json, Declare declare_it)
{
  uint64_t declared;
  gchar *out;

  if (declare_it ((const uint8_t *) json->str, json->len, NULL, 0,
          &declared) != 0)
    return;
  out = g_malloc (declared);
  declare_it ((const uint8_t *) json->str, json->len, (uint8_t *) out,
      declared, &declared);
  g_string_truncate (json, 0);
  g_string_append_len (json, out, declared);
  g_free (out);
}

/* The metadata JSON: the convention of existing GStreamer integrations
 * (docs/PROTOCOL.md §2.2), so that every ZeroBuffer reader learns the caps, with the
 * per-frame header declared (by the core) when frames carry it. */
static gchar *
build_metadata (GstZeroLink * link, gsize * size)
{
  GString *json = g_string_new ("{\"type\":\"gstreamer-sink\",\"version\":");
  gchar *text = gst_version_string ();

  zerobuffer_json_append_string (json, text);
  g_free (text);
  if (link->caps != NULL) {
    text = gst_caps_to_string (link->caps);
    g_string_append (json, ",\"caps\":");
    zerobuffer_json_append_string (json, text);
    g_free (text);
  }
  g_string_append (json, ",\"element_name\":");
  zerobuffer_json_append_string (json, link->owner);
  if (link->camera_id != NULL) {
    g_string_append (json, ",\"camera_id\":");
    zerobuffer_json_append_string (json, link->camera_id);
  }
  g_string_append_c (json, '}');
  if (link->frame_header)
    declare (json, zb_metadata_declare_frame_header);
  if (link->in_place)
    declare (json, zb_metadata_declare_in_place);
  *size = json->len;
  return g_string_free (json, FALSE);
}

/* A string member of peer JSON, fit for a message (escaped, cut short);
 * NULL when absent. */
static gchar *
quote_json_string (const guint8 * data, gsize size, const gchar * member)
{
  gchar *value = zerobuffer_json_get_string (data, size, member);
  gchar *quoted;

  if (value == NULL)
    return NULL;
  quoted = zerobuffer_quote_peer_bytes ((const guint8 *) value, strlen (value),
      256);
  g_free (value);
  return quoted;
}

/* Whether the metadata an earlier writer left means what ours would: the
 * same caps and the same per-frame header declaration. Byte equality is
 * too strict: the element name and the GStreamer version may differ. So is
 * caps equality: caps that only refine the ring's (caps_refine, as for a
 * caps change mid-stream: pixel-aspect-ratio=1/1, interlace-mode=
 * progressive added by upstream) describe the same frames; the metadata
 * keeps its caps, returned in *RING_CAPS. With the per-frame header on
 * both sides other caps are taken too when the link allows it
 * (set_other_caps): the metadata keeps its caps, in *RING_CAPS, and each
 * frame carries its own (as after a caps change mid-stream). */
static GstZeroError *
check_metadata (GstZeroLink * link, const guint8 * data, gsize size,
    GstCaps ** ring_caps)
{
  gchar *quoted = zerobuffer_quote_peer_bytes (data, size, 256);
  gint their_header = zb_metadata_frame_header (data, size);
  gint our_header = link->frame_header ? 1 : 0;
  gchar *their_caps_str;
  gboolean object = zerobuffer_metadata_get_string (data, size, "caps",
      &their_caps_str, NULL);
  GstCaps *their_caps = NULL;
  gchar *our_caps_str, *writer, *their_caps_quoted, *their_header_str, *text,
      *debug;
  GstZeroError *mismatch;
  gboolean caps_equal, refined, carried;

  GST_DEBUG ("ring %s already has metadata: %s", link->name, quoted);
  if (!object || their_header < 0 ||
      (their_caps_str != NULL &&
          (their_caps = zerobuffer_caps_from_peer (their_caps_str,
                  NULL)) == NULL)) {
    g_free (their_caps_str);
    mismatch = gst_zero_error_new (ZB_EMETADATA,
        g_strdup_printf ("Ring %s already carries metadata %s cannot read, "
            "so it cannot tell whether its stream is the same", link->name,
            link->owner),
        g_strdup_printf ("metadata: %s; expected a JSON object with a "
            "\"caps\" string and optionally \"zerobuffer\":"
            "{\"frame_header\":1}", quoted));
    g_free (quoted);
    return mismatch;
  }
  if (their_caps == NULL || link->caps == NULL)
    caps_equal = their_caps == NULL && link->caps == NULL;
  else
    caps_equal = gst_caps_is_equal (their_caps, link->caps);
  refined = !caps_equal && caps_refine (link->caps, their_caps);
  /* frames that can carry caps other than the ring's */
  carried = !caps_equal && !refined && their_header == our_header &&
      our_header && link->other_caps && their_caps != NULL &&
      link->caps != NULL;
  if ((refined || carried) && their_header == our_header)
    *ring_caps = gst_caps_ref (their_caps);
  if (their_caps != NULL)
    gst_caps_unref (their_caps);
  if ((caps_equal || refined || carried) && their_header == our_header &&
      zb_metadata_in_place (data, size) != (link->in_place ? 1 : 0)) {
    gst_caps_replace (ring_caps, NULL);
    g_free (their_caps_str);
    mismatch = gst_zero_error_new (ZB_EMETADATA,
        g_strdup_printf ("Ring %s already carries metadata that %s in-place "
            "answers, unlike this writer's; it cannot change", link->name,
            link->in_place ? "does not declare" : "declares"),
        g_strdup_printf ("metadata: %s; restart the duplex server", quoted));
    g_free (quoted);
    return mismatch;
  }
  if (carried) {
    GST_INFO ("ring %s already carries the metadata of caps %" GST_PTR_FORMAT
        "; keeping it: each frame carries its own caps in its header",
        link->name, *ring_caps);
    g_free (their_caps_str);
    g_free (quoted);
    return NULL;
  }
  if ((caps_equal || refined) && their_header == our_header) {
    GST_INFO ("ring %s already carries the metadata of the same stream%s; "
        "keeping it", link->name, refined ? " (caps that ours refine)" : "");
    g_free (their_caps_str);
    g_free (quoted);
    return NULL;
  }

  our_caps_str = link->caps != NULL ? gst_caps_to_string (link->caps) :
      g_strdup ("(none)");
  writer = quote_json_string (data, size, "element_name");
  their_caps_quoted = their_caps_str == NULL ? NULL :
      zerobuffer_quote_peer_bytes ((const guint8 *) their_caps_str,
      strlen (their_caps_str), 256);
  their_header_str = their_header == 0 ? g_strdup ("without the per-frame "
      "header") : g_strdup_printf ("with the per-frame header "
      "(\"zerobuffer\":{\"frame_header\":%d})", their_header);
  if (!caps_equal && their_header != our_header)
    text = g_strdup_printf ("Ring %s already carries the metadata of another "
        "stream: caps %s %s, but %s sends caps %s with frame-header=%s",
        link->name, their_caps_quoted ? their_caps_quoted : "(none)",
        their_header_str, link->owner, our_caps_str,
        our_header ? "true" : "false");
  else if (!caps_equal)
    text = g_strdup_printf ("Ring %s already carries the metadata of another "
        "stream: its caps are %s, %s sends %s", link->name,
        their_caps_quoted ? their_caps_quoted : "(none)", link->owner,
        our_caps_str);
  else
    text = g_strdup_printf ("Ring %s already carries the metadata of a stream "
        "%s, but %s has frame-header=%s (caps %s on both sides)",
        link->name, their_header_str, link->owner,
        our_header ? "true" : "false", our_caps_str);
  /* frames that carry their own caps are what lets caps differ (as
   * carried above): the way out for the next time, as this ring's first
   * writer did not declare them, or this one does not */
  /* "an earlier writer": its element may have our element's default name
   * (zerofilter0 in another process), which alone reads as if we wrote it */
  debug = g_strdup_printf ("metadata written by an earlier writer%s%s%s: "
      "%s; %s%s", writer ? " (its element " : "", writer ? writer : "",
      writer ? ")" : "", quoted,
      caps_equal || refined ? "give it the frame-header setting of the "
      "earlier writer, "
      "or have the ring's reader (zerosrc, a Node reader, a duplex server) "
      "create it anew" : "the metadata of a ZeroBuffer ring is written "
      "once: the ring's reader (zerosrc, a Node reader, a duplex server) "
      "must create it anew for another format",
      !caps_equal && !refined && link->other_caps && their_caps_str != NULL
      && link->caps != NULL ? "; set frame-header=true on every writer into "
      "the ring, from its first on, to let a later one send other caps "
      "(each frame then carries its own)" : "");
  g_free (their_header_str);
  g_free (our_caps_str);
  g_free (writer);
  g_free (their_caps_str);
  g_free (their_caps_quoted);
  g_free (quoted);
  return gst_zero_error_new (ZB_EMETADATA, text, debug);
}

/* Writes our metadata into a fresh ring, or checks a reconnected one's
 * (*RING_CAPS: as check_metadata). */
static GstZeroError *
put_metadata (GstZeroLink * link, zb_writer * writer, GstCaps ** ring_caps)
{
  const uint8_t *existing = NULL;
  uint64_t existing_size = 0;
  gchar *metadata;
  gsize size;
  int rc;

  rc = zb_writer_metadata (writer, &existing, &existing_size);
  if (rc < 0)
    return gst_zero_error_new (rc,
        g_strdup_printf ("Could not read the metadata of ring %s: %s",
            link->name, zb_strerror (rc)), g_strdup (zb_last_error ()));
  /* a writer reconnecting: the metadata stays as the first writer wrote
   * it (docs/PROTOCOL.md §4, "Lifecycle") */
  if (existing_size > 0)
    return check_metadata (link, existing, existing_size, ring_caps);
  metadata = build_metadata (link, &size);
  GST_DEBUG ("metadata of ring %s: %s", link->name, metadata);
  rc = zb_writer_set_metadata (writer, metadata, size);
  g_free (metadata);
  if (rc == ZB_EMETADATA)
    return gst_zero_error_new (rc,
        g_strdup_printf ("Ring %s already carries the metadata of another "
            "stream; it cannot change", link->name),
        g_strdup (zb_last_error ()));
  if (rc < 0)
    return gst_zero_error_new (rc,
        g_strdup_printf ("Could not write the metadata of ring %s: %s",
            link->name, zb_strerror (rc)), g_strdup (zb_last_error ()));
  return NULL;
}

/* ----------------------------------------------------------- connecting */

static GstFlowReturn
interrupted_locked (GstZeroLink * link, GCancellable * cancellable)
{
  if (link->closed || link->flushing ||
      g_cancellable_is_cancelled (cancellable))
    return GST_FLOW_FLUSHING;
  if (link->eos)
    return GST_FLOW_EOS;
  return GST_FLOW_OK;
}

/* A connect that has waited CONNECT_HINT_US for the ring says so once, in
 * an INFO on the element: gst-launch-1.0 prints its debug text (not with
 * -q), so a writer started before its reader is not silent until the
 * connect-timeout error. Not with connect-timeout 0 (no wait), so never
 * with on-reader-lost=wait. Without the lock (a bus sync handler may call
 * into the element). */
static void
post_waiting_hint (GstZeroLink * link, const gchar * name,
    gint connect_timeout)
{
  GstElement *element = g_weak_ref_get (&link->element);
  gchar *how_long;

  if (element == NULL)
    return;
  how_long = connect_timeout < 0 ? g_strdup ("for ever (connect-timeout=-1)")
      : g_strdup_printf ("up to %d ms (connect-timeout)", connect_timeout);
  GST_ELEMENT_INFO (element, RESOURCE, OPEN_WRITE, ("Waiting for %s to "
          "create ring %s", link->creator, name), ("Waiting %s for %s to "
          "create ring %s", how_long, link->creator, name));
  g_free (how_long);
  gst_object_unref (element);
}

/* A ring name as a gst-launch line reads a property value back whole:
 * as it is when plain, else in double quotes with '"' and '\' escaped
 * (names may hold spaces and quotes: the hints below print pipelines). */
static gchar *
launch_value (const gchar * name)
{
  const gchar *p;
  GString *quoted;

  for (p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && strchr ("._-", *p) == NULL)
      break;
  if (*p == '\0')
    return g_strdup (name);
  quoted = g_string_new ("\"");
  for (p = name; *p != '\0'; p++) {
    if (*p == '"' || *p == '\\')
      g_string_append_c (quoted, '\\');
    g_string_append_c (quoted, *p);
  }
  g_string_append_c (quoted, '"');
  return g_string_free (quoted, FALSE);
}

/* Connects, waiting for the reader up to connect-timeout, and puts the
 * metadata in place. With the lock, which it releases while connecting. */
static GstFlowReturn
connect_locked (GstZeroLink * link, gint connect_timeout,
    GCancellable * cancellable, GstZeroError ** error)
{
  gchar *name = g_strdup (link->name);
  gint64 start = g_get_monotonic_time ();
  zb_deadline deadline;
  GstFlowReturn ret = GST_FLOW_OK;
  zb_writer *writer = NULL;
  GstCaps *ring_caps = NULL;
  gboolean told = FALSE, hinted = FALSE;
  int rc;

  link->connecting = TRUE;
  link->tried = TRUE;
  /* time stopped (Ctrl-Z suspends zerobuffer's whole job, the reader that
   * announced the ring with it) does not count */
  zb_deadline_start (&deadline, connect_timeout < 0 ? ZB_WAIT_FOREVER :
      connect_timeout);
  for (;;) {
    gint wait;

    g_mutex_unlock (&link->lock);
    rc = zb_writer_connect (&writer, name);
    g_mutex_lock (&link->lock);
    if (rc == 0)
      break;
    /* ENOENT: no ring yet, or its reader is still initialising it;
     * EREADERGONE: a stale ring, or its reader is still starting. Both:
     * try again until the deadline. */
    if (rc == ZB_EBUSY) {
      *error = gst_zero_error_new (rc, g_strdup_printf ("Ring %s already "
              "has a writer; a ring takes one writer at a time", name),
          g_strdup (zb_last_error ()));
    } else if (rc != ZB_ENOENT && rc != ZB_EREADERGONE) {
      *error = gst_zero_error_new (rc, g_strdup_printf ("Could not connect "
              "to ring %s: %s", name, zb_strerror (rc)),
          g_strdup (zb_last_error ()));
    } else if ((wait = zb_deadline_wait_ms (&deadline,
                CONNECT_RETRY_MS)) == 0 &&
        rc == ZB_ENOENT) {
      gchar *value = launch_value (name);

      *error = gst_zero_error_new (rc, g_strdup_printf ("No reader "
              "created ring %s within %d ms", name, connect_timeout),
          g_strdup_printf ("%s (%s); a reader such as zerosrc buffer-name=%s "
              "creates it; or raise connect-timeout", zb_last_error (),
              zb_err_name (rc), value));
      g_free (value);
    } else if (wait == 0) {
      gchar *value = launch_value (name);

      *error = gst_zero_error_new (rc, g_strdup_printf ("Ring %s has no "
              "live reader: its reader closed it or died, and no reader "
              "created it again within %d ms", name, connect_timeout),
          g_strdup_printf ("%s (%s); a reader such as zerosrc buffer-name=%s "
              "sweeps the stale ring and creates it anew; or raise "
              "connect-timeout", zb_last_error (), zb_err_name (rc),
              value));
      g_free (value);
    } else {
      if (!told)
        GST_INFO ("waiting up to %d ms for a reader to create ring %s (%s)",
            connect_timeout, name, zb_err_name (rc));
      told = TRUE;
      if (!hinted && g_get_monotonic_time () - start >= CONNECT_HINT_US) {
        hinted = TRUE;
        g_mutex_unlock (&link->lock);
        post_waiting_hint (link, name, connect_timeout);
        g_mutex_lock (&link->lock);
      }
      if ((ret = interrupted_locked (link, cancellable)) == GST_FLOW_OK)
        g_cond_wait_until (&link->cond, &link->lock,
            g_get_monotonic_time () + wait * G_TIME_SPAN_MILLISECOND);
      if (ret == GST_FLOW_OK &&
          (ret = interrupted_locked (link, cancellable)) == GST_FLOW_OK)
        continue;
      goto out;
    }
    ret = GST_FLOW_ERROR;
    goto out;
  }
  if ((ret = interrupted_locked (link, cancellable)) != GST_FLOW_OK ||
      (*error = put_metadata (link, writer, &ring_caps)) != NULL) {
    ret = ret != GST_FLOW_OK ? ret : GST_FLOW_ERROR;
    zb_writer_destroy (writer);
    goto out;
  }
  gst_caps_replace (&link->metadata_caps, ring_caps ? ring_caps : link->caps);
  /* now that the ring's caps are known: whether frames carry their own,
   * from the first one on */
  if (!set_frame_caps_locked (link, link->frame_caps) && ring_caps != NULL) {
    *error = caps_refused_locked (link, link->frame_caps);
    gst_caps_replace (&link->metadata_caps, NULL);
    ret = GST_FLOW_ERROR;
    zb_writer_destroy (writer);
    goto out;
  }
  GST_INFO ("connected to ring %s after %" G_GINT64_FORMAT " ms; largest "
      "frame %" G_GUINT64_FORMAT " bytes", name,
      (g_get_monotonic_time () - start) / G_TIME_SPAN_MILLISECOND,
      zb_writer_max_frame_size (writer));
  link->writer = writer;
  link->connects++;
  /* a new ring: no frame of it comes before any other yet */
  g_array_set_size (link->open_tickets, 0);
  g_array_set_size (link->open_ids, 0);
out:
  gst_caps_replace (&ring_caps, NULL);
  link->connecting = FALSE;
  g_cond_broadcast (&link->cond);
  g_free (name);
  return ret;
}

/* gst_zero_link_get_writer; NOW: without waiting for a reader, and after
 * a reader lost looking for the next one at once. */
static GstFlowReturn
get_writer (GstZeroLink * link, gboolean now, GCancellable * cancellable,
    zb_writer ** writer, GstZeroError ** error)
{
  GstFlowReturn ret;

  *writer = NULL;
  g_mutex_lock (&link->lock);
  while ((ret = interrupted_locked (link, cancellable)) == GST_FLOW_OK) {
    if (link->writer != NULL) {
      *writer = zb_writer_ref (link->writer);
      break;
    }
    if (link->lost && !link->connecting) {
      /* one look every CONNECT_RETRY_MS (NOW: at once),
       * without waiting: the caller drops the frame meanwhile */
      gint64 t = g_get_monotonic_time ();
      GstZeroError *e = NULL;

      if (!now && t < link->next_look) {
        ret = GST_ZERO_LINK_NO_READER;
        break;
      }
      link->next_look = t + CONNECT_RETRY_MS * G_TIME_SPAN_MILLISECOND;
      if (refused_locked (link)) {
        ret = GST_ZERO_LINK_NO_READER;
        break;
      }
      ret = connect_locked (link, 0, cancellable, &e);
      if (ret == GST_FLOW_ERROR && e != NULL && (e->code == ZB_ENOENT ||
              e->code == ZB_EREADERGONE)) {
        gst_zero_error_free (e);
        ret = GST_ZERO_LINK_NO_READER;
        break;
      }
      if (ret != GST_FLOW_OK) {
        *error = e;
        break;
      }
      GST_INFO ("a reader created ring %s: writing into it",
          link->name);
      link->lost = FALSE;
    } else if (!link->connecting) {
      ret = connect_locked (link, now ? 0 : link->connect_timeout,
          cancellable, error);
      if (ret != GST_FLOW_OK)
        break;
    } else {
      g_cond_wait (&link->cond, &link->lock);   /* another thread connects */
    }
  }
  g_mutex_unlock (&link->lock);
  return ret;
}

GstFlowReturn
gst_zero_link_get_writer (GstZeroLink * link, GCancellable * cancellable,
    zb_writer ** writer, GstZeroError ** error)
{
  return get_writer (link, FALSE, cancellable, writer, error);
}

GstFlowReturn
gst_zero_link_connect_at_eos (GstZeroLink * link, GstElement * element,
    GCancellable * cancellable)
{
  zb_writer *writer = NULL;
  GstZeroError *e = NULL;
  GstFlowReturn ret;

  ret = get_writer (link, TRUE, cancellable, &writer, &e);
  if (writer != NULL)
    zb_writer_unref (writer);
  if (ret == GST_ZERO_LINK_NO_READER) {
    GST_INFO_OBJECT (element, "the stream ended while no reader had the "
        "ring (on-reader-lost=wait: none yet, or none since the last one "
        "went)");
    return GST_FLOW_OK;
  }
  if (ret != GST_FLOW_ERROR || e == NULL)
    return ret;
  if (e->code == ZB_ENOENT || e->code == ZB_EREADERGONE) {
    /* no one to tell, and an empty stream is no error */
    GST_INFO_OBJECT (element, "a stream without frames ended, and no reader "
        "was there to hear of it: %s (%s)", e->text, e->debug);
    gst_zero_error_free (e);
    return GST_FLOW_OK;
  }
  gst_zero_link_post (link, element, e);
  return GST_FLOW_ERROR;
}

/* ------------------------------------------------------------ reserving */

/* Why a reservation of SIZE bytes (frame header included) failed, under
 * policy=drop when DROP. */
static GstZeroError *
reserve_error (GstZeroLink * link, zb_writer * writer, int rc, guint64 size,
    gint timeout, gboolean drop)
{
  const gchar *name = zb_writer_name (writer);
  gchar *detail = g_strdup (zb_last_error ());
  zb_health h;
  zb_writer_holds_info holds;
  GstZeroError *e;

  switch (rc) {
    case ZB_EAGAIN:            /* block with timeout=0: full for 0 ms */
    case ZB_ETIMEDOUT:
      /* a reader that has read every frame but gave none of their room
       * back holds the ring: say so, it is the reader's fault, not its
       * speed; so are our own held frames that could not be moved out.
       * frames_held counts frames read and not given back, also those
       * released behind a kept one (room goes back in ring order): not
       * "holds N frames" */
      if (zb_writer_holds (writer, size, &holds) == 0 && holds.blocks_size)
        e = gst_zero_error_new (rc, g_strdup_printf ("Ring %s stayed full "
                "for %d ms: %" G_GUINT64_FORMAT " frames answered in place "
                "and still held downstream take its room", name, timeout,
                holds.holds), g_strdup_printf ("%s; downstream keeps "
                "buffers mapped (they cannot be moved out meanwhile)",
                detail));
      else if (zb_writer_health (writer, &h) == 0 && h.frames_unread == 0 &&
          h.frames_held > 0)
        e = gst_zero_error_new (rc, g_strdup_printf ("Ring %s stayed full "
                "for %d ms: its reader has read the %" G_GUINT64_FORMAT
                " %s in it and given the room of none back: it keeps the "
                "oldest (a reader gives room back in ring order, so a frame "
                "it keeps holds the room of every frame after it, released "
                "or not)", name, timeout, h.frames_held,
                h.frames_held == 1 ? "frame" : "frames"),
            g_strdup_printf ("%s; the reader must release the frames it has "
                "read, the oldest above all (or copy them), or create a "
                "larger ring; %s", detail, link->full_hint));
      else
        e = gst_zero_error_new (rc, g_strdup_printf ("Ring %s stayed full "
                "for %d ms: its reader does not read fast enough (or is "
                "paused)", name,
                timeout), g_strdup_printf ("%s; %s", detail,
                link->full_hint));
      break;
    case ZB_EMSGSIZE:
      /* not dropped under policy=drop: every frame of that size would be,
       * for as long as the ring lives */
      e = gst_zero_error_new (rc, g_strdup_printf ("A frame of %"
              G_GUINT64_FORMAT " bytes can never fit ring %s (largest frame: "
              "%" G_GUINT64_FORMAT " bytes); the reader must create it with "
              "a payload size of at least %" G_GUINT64_FORMAT " bytes%s",
              size, name, zb_writer_max_frame_size (writer),
              zb_payload_size_for (size, 1, FALSE), drop ? " (policy=drop "
              "cannot help: it drops frames while the ring is full, and this "
              "one would not fit an empty ring)" : ""), g_strdup (detail));
      break;
    case ZB_EREADERGONE:
      e = gst_zero_error_new (rc, g_strdup_printf ("The reader of ring %s is "
              "gone", name), g_strdup (detail));
      break;
    default:
      e = gst_zero_error_new (rc, g_strdup_printf ("Could not write a frame "
              "into ring %s: %s", name, zb_strerror (rc)),
          g_strdup (detail));
      break;
  }
  g_free (detail);
  return e;
}

guint64
gst_zero_link_ticket (GstZeroLink * link)
{
  guint64 ticket;

  g_mutex_lock (&link->lock);
  ticket = ++link->tickets;
  g_mutex_unlock (&link->lock);
  return ticket;
}

/* With the lock: the highest number of a frame that may still come into
 * the ring (its reservation open, or being taken). Not one committed: that
 * buffer was rendered, so a copy of one numbered before it, rendered now,
 * goes after it in the order pushed (a decoder pushes in presentation
 * order the buffers it took in decode order). */
static guint64
latest_ticket_locked (GstZeroLink * link)
{
  guint64 latest = 0;
  guint i;

  for (i = 0; i < link->open_tickets->len; i++)
    latest = MAX (latest, g_array_index (link->open_tickets, guint64, i));
  return latest;
}

/* With the lock: TICKET's reservation ended (nothing when it was none of
 * the ring connected to: a ring lost since). */
static void
settle_locked (GstZeroLink * link, guint64 ticket)
{
  guint i;

  for (i = 0; i < link->open_tickets->len; i++) {
    if (g_array_index (link->open_tickets, guint64, i) == ticket) {
      g_array_remove_index_fast (link->open_tickets, i);
      return;
    }
  }
}

void
gst_zero_link_settle (GstZeroLink * link, guint64 ticket, zb_writer * writer,
    guint64 id)
{
  guint i;

  g_mutex_lock (&link->lock);
  if (ticket != 0)
    settle_locked (link, ticket);
  if (writer == link->writer) {
    for (i = 0; i < link->open_ids->len; i++) {
      if (g_array_index (link->open_ids, guint64, i) == id) {
        g_array_remove_index_fast (link->open_ids, i);
        break;
      }
    }
  }
  g_mutex_unlock (&link->lock);
}

gboolean
gst_zero_link_published (GstZeroLink * link, guint64 id)
{
  gboolean published = TRUE;
  guint i;

  g_mutex_lock (&link->lock);
  for (i = 0; i < link->open_ids->len && published; i++)
    published = g_array_index (link->open_ids, guint64, i) > id;
  g_mutex_unlock (&link->lock);
  return published;
}

/* The order of numbered frames (gst_zero_link_reserve's TICKET), with the
 * lock: waits while a numbered copy reserves (a frame reserved meanwhile
 * would come before it), then GST_FLOW_OK with TICKET's reservation noted
 * as being taken in WRITER's ring (not a copy being written: its buffer is
 * here, no frame still to come), GST_ZERO_LINK_LATE for a copy of a
 * buffer numbered before a frame still to come into that ring
 * (latest_ticket_locked), or how the wait was interrupted
 * (GST_ZERO_LINK_DONTWAIT: GST_FLOW_CUSTOM_SUCCESS, no wait). */
static GstFlowReturn
order_locked (GstZeroLink * link, zb_writer * writer, guint64 ticket,
    GstZeroLinkFrameFor what, GstZeroLinkWait how, GCancellable * cancellable)
{
  gboolean copy = what != GST_ZERO_LINK_FOR_POOL;
  GstFlowReturn ret;

  while ((ret = interrupted_locked (link, cancellable)) == GST_FLOW_OK &&
      link->copying) {
    if (how == GST_ZERO_LINK_DONTWAIT)
      return GST_FLOW_CUSTOM_SUCCESS;
    g_cond_wait (&link->cond, &link->lock);
  }
  if (ret != GST_FLOW_OK)
    return ret == GST_FLOW_EOS ? GST_FLOW_FLUSHING : ret;
  if (copy && latest_ticket_locked (link) > ticket)
    return GST_ZERO_LINK_LATE;
  if (copy)
    link->copying = TRUE;
  /* (a writer lost since: the reservation fails, or is abandoned) */
  if (writer == link->writer && what != GST_ZERO_LINK_FOR_COPY)
    g_array_append_val (link->open_tickets, ticket);
  return GST_FLOW_OK;
}

static GstFlowReturn reserve (GstZeroLink * link, zb_writer * writer,
    gsize size, GstZeroLinkWait how, GCancellable * cancellable,
    zb_reservation * res, GstZeroError ** error);

/* With the lock: RES, just reserved on WRITER, is open (not in a ring
 * the link has left). */
static void
opened_locked (GstZeroLink * link, zb_writer * writer, zb_reservation * res)
{
  if (writer == link->writer)
    g_array_append_val (link->open_ids, res->id);
}

GstFlowReturn
gst_zero_link_reserve (GstZeroLink * link, zb_writer * writer, gsize size,
    GstZeroLinkWait how, guint64 ticket, GstZeroLinkFrameFor what,
    GCancellable * cancellable, zb_reservation * res, GstZeroError ** error)
{
  GstFlowReturn ret;

  if (ticket != 0) {
    g_mutex_lock (&link->lock);
    ret = order_locked (link, writer, ticket, what, how, cancellable);
    g_mutex_unlock (&link->lock);
    if (ret != GST_FLOW_OK)
      return ret;
  }
  ret = reserve (link, writer, size, how, cancellable, res, error);
  g_mutex_lock (&link->lock);
  if (ret == GST_FLOW_OK)
    opened_locked (link, writer, res);
  /* no frame (a full ring under policy=drop, no reader): copies numbered
   * before it may go (a copy listed no number: one of its own may be
   * listed by its pool buffer's reservation, still open) */
  else if (ticket != 0 && what != GST_ZERO_LINK_FOR_COPY)
    settle_locked (link, ticket);
  if (ticket != 0 && what != GST_ZERO_LINK_FOR_POOL) {
    link->copying = FALSE;
    g_cond_broadcast (&link->cond);
  }
  g_mutex_unlock (&link->lock);
  return ret;
}

static GstFlowReturn
reserve (GstZeroLink * link, zb_writer * writer, gsize size,
    GstZeroLinkWait how, GCancellable * cancellable, zb_reservation * res,
    GstZeroError ** error)
{
  GstFlowReturn ret;
  gboolean drop = FALSE, policy_drop = FALSE;
  gint timeout = 0;
  zb_deadline deadline;
  guint losses, policy_seq;
  int rc;

  /* time stopped (Ctrl-Z suspends zerobuffer's whole job, the reader with
   * it) does not count: at SIGCONT the wait would fail before the reader,
   * continued too, could make room */
  zb_deadline_start (&deadline, 0);
  g_mutex_lock (&link->lock);
  losses = link->losses;
  policy_seq = link->policy_seq - 1;    /* taken below */
  g_mutex_unlock (&link->lock);
  for (;;) {
    gint left, wait;
    gboolean may_move, sliced, paused;
    /* read before the looks at the state and the cancellable: the wakers
     * (unlock(), the pool's flush_start, set_policy) change what those see
     * before they wake, so a wake made after either look ends the wait
     * below, also once another waiter of this writer took it (a plain
     * zb_writer_reserve would then wait for room) */
    guint64 wakes = zb_writer_wakes (writer);

    paused = how == GST_ZERO_LINK_WAIT_PLAYING && !may_wait_for_room (link);
    g_mutex_lock (&link->lock);
    if ((ret = interrupted_locked (link, cancellable)) != GST_FLOW_OK) {
      g_mutex_unlock (&link->lock);
      return ret == GST_FLOW_EOS ? GST_FLOW_FLUSHING : ret;
    }
    if (policy_seq != link->policy_seq) {       /* the start, or a change */
      policy_seq = link->policy_seq;
      timeout = link->timeout < 0 ? ZB_WAIT_FOREVER : link->timeout;
      policy_drop = link->drop;
      deadline.timeout_ms = timeout;
    }
    /* paused: no wait, now or after unlock()'s wake */
    drop = policy_drop || how == GST_ZERO_LINK_DONTWAIT || paused;
    g_mutex_unlock (&link->lock);
    /* what is left of the timeout (after a wake, a slice), up to the next
     * wait: with held frames that may be moved out, slices, moving them
     * when they are what the reservation waits for. A slice asks the
     * deadline for 1 ms more than it waits, only to tell more than a slice
     * left from one slice left; not for the whole rest: time stopped is
     * found by a look that comes late past what the look before asked
     * for, so asking for more than is waited would count a stop after a
     * slice (or one the core's own wait missed) against the timeout */
    may_move = !drop && link->make_room != NULL;
    left = zb_deadline_wait_ms (&deadline, may_move ? HOLD_PATIENCE_MS + 1 :
        timeout < 0 ? G_MAXINT : MAX (timeout, 1));
    sliced = may_move && left > HOLD_PATIENCE_MS;
    /* the last wait is at least 1 ms, so that its end is ZB_ETIMEDOUT (not
     * the ZB_EAGAIN of a wait of 0) */
    wait = drop ? 0 : sliced ? HOLD_PATIENCE_MS : timeout < 0 ? timeout :
        MAX (left, MIN (timeout, 1));
    rc = zb_writer_reserve_since (writer, size, res, wait, wakes);
    if (rc == 0)
      return GST_FLOW_OK;
    if (rc == ZB_ETIMEDOUT && sliced) {
      zb_writer_holds_info holds;

      if (zb_writer_holds (writer, size, &holds) == 0 && holds.blocks_size) {
        guint moved = link->make_room (link->make_room_data);

        if (moved > 0)
          GST_INFO ("ring %s: the writer waited for %" G_GUINT64_FORMAT
              " frames held downstream: copied %u of them out of it",
              link->name, holds.holds, moved);
      }
      continue;
    }
    if (rc == ZB_EAGAIN && drop) {
      /* no wait, so no wake tells of a stop or a flush since the look at
       * the state above: a bin that takes the sink to READY flushes the
       * link before it gets there, and a look at the sink on its way to
       * PAUSED, then at the bin once READY, says "paused" */
      g_mutex_lock (&link->lock);
      ret = interrupted_locked (link, cancellable);
      g_mutex_unlock (&link->lock);
      if (ret != GST_FLOW_OK)
        return ret == GST_FLOW_EOS ? GST_FLOW_FLUSHING : ret;
      return GST_FLOW_CUSTOM_SUCCESS;
    }
    if (rc != ZB_ECANCELED && rc != ZB_ESTATE)
      break;
    /* a wake: ours (stop, flush, unlock) or one meant for another waiter
     * of this writer; a destroyed writer: the link closed or finished, or
     * (another thread found) the reader gone: no reader for this frame */
    g_mutex_lock (&link->lock);
    ret = interrupted_locked (link, cancellable);
    if (ret == GST_FLOW_OK && link->writer != writer)
      ret = link->losses != losses ? GST_ZERO_LINK_NO_READER :
          GST_FLOW_FLUSHING;
    g_mutex_unlock (&link->lock);
    if (ret != GST_FLOW_OK)
      return ret == GST_FLOW_EOS ? GST_FLOW_FLUSHING : ret;
  }
  *error = reserve_error (link, writer, rc, size, timeout, policy_drop);
  if (rc == ZB_EREADERGONE)
    gst_zero_link_reader_gone (link, writer);
  else if (rc == ZB_EMSGSIZE)
    too_small (link, writer, *error);
  return GST_FLOW_ERROR;
}

void
gst_zero_key_unit_need_reset (GstZeroKeyUnitNeed * need)
{
  need->awaiting = need->asked = FALSE;
}

void
gst_zero_key_unit_need_lost (GstZeroKeyUnitNeed * need)
{
  need->awaiting = TRUE;
}

void
gst_zero_key_unit_need_written (GstZeroKeyUnitNeed * need,
    GstZeroLink * link, GstPad * sinkpad, gboolean delta)
{
  guint64 connects = gst_zero_link_connects (link, NULL);

  /* a reader whose first frame this is has seen no key unit before it */
  if (connects != need->connects) {
    need->connects = connects;
    need->awaiting = TRUE;
    need->asked = FALSE;
  }
  if (!delta) {
    need->awaiting = need->asked = FALSE;
    return;
  }
  if (!need->awaiting || (need->asked &&
          g_get_monotonic_time () - need->asked_at < KEY_UNIT_REASK_US))
    return;
  need->asked = TRUE;
  need->asked_at = g_get_monotonic_time ();
  GST_INFO_OBJECT (sinkpad, "asking upstream for a key unit: the reader "
      "has seen none since it came or a frame was lost");
  gst_pad_push_event (sinkpad, gst_video_event_new_upstream_force_key_unit
      (GST_CLOCK_TIME_NONE, TRUE, ++need->requests));
}

/* gstzerosinkpool.c — zerosink's buffer pool (see gstzerosinkpool.h).
 *
 * The base class keeps the buffers (without memory) and counts them
 * against max-buffers, waiting and flushing as every pool does. An acquire
 * then reserves room in the ring and appends one memory over it; the
 * release drops that memory, whose destroy notify cancels a reservation
 * nobody committed, so nothing upstream can write into the ring after.
 * A committed one is held (zb_hold) until then: whoever still has the
 * buffer (the last sample, videorate keeping it to push it again) reads
 * its bytes, never the frames the writer would place over them, and
 * cannot write into the reader's frame (the memory is read-only). While
 * frames carry their caps (gst_zero_link_ref_attributes), an acquire
 * reserves nothing and hands out a plain buffer.
 *
 * Frames are published in the order they were reserved, so a plain buffer
 * handed out because the ring had no room (full under policy=drop, or
 * while zerosink did not play) would come after the frame of a buffer
 * taken later that got one (a queue before zerosink holds it across a
 * pause while the reader makes room): the acquire of that buffer first
 * reserves a place for each such plain buffer still out, oldest first,
 * under the same wait, also one an earlier pool of the link handed out
 * (the list of them is the link's); the plain buffer is copied into its
 * place when rendered, and the place is cancelled when its memory is
 * freed unrendered (the later frames stay valid). One rendered before it
 * has a place reserves its frame itself, and acquires wait for that before
 * they reserve anything after it. An acquire numbers its buffer and lists
 * it, as being reserved, in one step before it reserves anything: another
 * thread's acquire of a buffer numbered later waits for that reserve (a
 * DONTWAIT one BUSY_PATIENCE_US at most), and places the buffer when it
 * is a plain one. A plain buffer without a place when rendered is copied
 * behind the frames in the ring by then: pushed after a buffer taken
 * later (a decoder pushes in presentation order what it took in decode
 * order), it comes after that one's frame. It is dropped when a frame
 * numbered later is still to come (reserved for a pool buffer or a place,
 * not yet committed: that buffer comes after it): it got none (no
 * reader had the ring: not listed), or its place is cancelled at its
 * render (frames carry their caps by then, or the place is too small for
 * it). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <gst/audio/audio.h>
#include <gst/video/video.h>

#include "gstzerobufferelements.h"
#include "gstzerosinkpool.h"

/* the shared category: zerofilter uses the pool too, and zerosink's category
 * is only set up with its class */
#define GST_CAT_DEFAULT gst_zerobuffer_debug

/* How long a DONTWAIT acquire waits for the reserve of an earlier
 * buffer's frame (another thread's acquire, a render) to end: with room,
 * it ends at once; waiting for room, the ring has none for this one
 * either. */
#define BUSY_PATIENCE_US (20 * G_TIME_SPAN_MILLISECOND)

/* The plain buffers still out of every pool of one link: upstream may
 * take buffers from a new pool (a renegotiation, a decoder allocating
 * anew) while one of an earlier pool is still out, and the new pool
 * places it too. */
typedef struct
{
  GMutex lock;                  /* guards `slots` and their state */
  GCond cond;                   /* a place's reserve ended */
  guint waiters;                /* threads waiting on `cond` */
  GQueue slots;                 /* PlainSlots still out, by ticket */
} PlainList;

struct _GstZeroSinkPool
{
  GstBufferPool parent;

  GstZeroLink *link;            /* owned reference */
  guint max_buffers;
  gsize size;                   /* from the configuration */
  GCancellable *flushing;       /* cancelled between flush start and stop */
  PlainList *plain;             /* the link's (gst_zero_link_pool_shared) */
};

/* What a pool memory lies over: its reservation, then the hold on the
 * frame it was committed as (res first: gst_zero_sink_pool_reservation
 * hands out &slot->res), and the ring's writer, which keeps the ring
 * mapped under the memory: the failed commit of a reservation abandoned
 * with a lost reader ends it, and its bytes are copied after. The link
 * learns how the reservation numbered TICKET ends (gst_zero_link_settle). */
typedef struct
{
  zb_reservation res;
  zb_hold hold;
  gboolean committed;
  zb_writer *mapping;
  GstZeroLink *link;
  guint64 ticket;
} PoolSlot;

/* How far a plain buffer's place in the ring got. */
typedef enum
{
  PLACE_NONE,                   /* none yet: a later acquire reserves one */
  PLACE_RESERVING,              /* an acquire reserves it now, or the
                                 * buffer's render or own acquire its
                                 * frame */
  PLACE_RESERVED,               /* `place` is open */
  PLACE_ENDED,                  /* none, for good: the buffer was rendered
                                 * or freed, or its place refused */
} PlaceState;

/* A plain buffer handed out because the ring had no room (listed from
 * its numbering, just before its acquire reserves): its memory holds it
 * (and a placing acquire, for a while) and ends it when freed. */
typedef struct
{
  gint refs;                    /* with the list's lock */
  GstZeroSinkPool *pool;        /* the pool that handed it out: a reference
                                 * once the buffer is plain (its memory's) */
  guint64 ticket;
  gsize size;                   /* the buffer's: its place has room for it
                                 * (and the frame header) */
  PlaceState state;
  zb_reservation place;         /* PLACE_RESERVED */
  zb_writer *mapping;           /* PLACE_RESERVED: the place's writer */
} PlainSlot;

static GQuark reservation_quark;
static GQuark failure_quark;
static GQuark ticket_quark;
static GQuark plain_quark;

#define gst_zero_sink_pool_parent_class parent_class
G_DEFINE_TYPE (GstZeroSinkPool, gst_zero_sink_pool, GST_TYPE_BUFFER_POOL);

static void cancel_places_before_detach (GstZeroLink * link);

static gpointer
plain_list_new (void)
{
  PlainList *list = g_new0 (PlainList, 1);

  g_mutex_init (&list->lock);
  g_cond_init (&list->cond);
  g_queue_init (&list->slots);
  return list;
}

/* With the link, after every slot: a slot's pool holds the link. */
static void
plain_list_free (gpointer data)
{
  PlainList *list = data;

  g_mutex_clear (&list->lock);
  g_cond_clear (&list->cond);
  g_free (list);
}

GstBufferPool *
gst_zero_sink_pool_new (GstZeroLink * link, guint max_buffers)
{
  GstZeroSinkPool *pool = g_object_new (GST_TYPE_ZERO_SINK_POOL, NULL);

  gst_object_ref_sink (pool);
  pool->link = gst_zero_link_ref (link);
  pool->plain = gst_zero_link_pool_shared (link, plain_list_new,
      plain_list_free, cancel_places_before_detach);
  pool->max_buffers = max_buffers;
  return GST_BUFFER_POOL (pool);
}

/* The quarks are needed before any pool exists (render asks every
 * buffer's memory). */
static void
quarks_init (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done)) {
    reservation_quark = g_quark_from_static_string ("zerosink-reservation");
    failure_quark = g_quark_from_static_string ("zerosink-failure");
    ticket_quark = g_quark_from_static_string ("zerosink-ticket");
    plain_quark = g_quark_from_static_string ("zerosink-plain");
    g_once_init_leave (&done, 1);
  }
}

zb_reservation *
gst_zero_sink_pool_reservation (GstMemory * mem)
{
  quarks_init ();
  return gst_mini_object_get_qdata (GST_MINI_OBJECT_CAST (mem),
      reservation_quark);
}

GstZeroError *
gst_zero_sink_pool_failure (GstMemory * mem)
{
  quarks_init ();
  return gst_mini_object_get_qdata (GST_MINI_OBJECT_CAST (mem),
      failure_quark);
}

/* The number the pool gave the buffer MEM came with
 * (gst_zero_link_ticket), 0 for memory of no pool buffer. */
static guint64
memory_ticket (GstMemory * mem)
{
  guint64 *ticket = gst_mini_object_get_qdata (GST_MINI_OBJECT_CAST (mem),
      ticket_quark);

  return ticket != NULL ? *ticket : 0;
}

/* Destroy notify of a memory over a reservation: cancels it when it was
 * not committed, else ends the hold on its frame; either lets the writer
 * go. */
static void
slot_free (gpointer data)
{
  PoolSlot *slot = data;

  if (slot->res.writer != NULL) {
    guint64 id = slot->res.id;

    GST_LOG ("pool buffer returned without being rendered: cancelling its "
        "reservation");
    zb_reservation_cancel (&slot->res);
    gst_zero_link_settle (slot->link, slot->ticket, slot->mapping, id);
  }
  zb_hold_release (&slot->hold);
  zb_writer_unref (slot->mapping);
  gst_zero_link_unref (slot->link);
  g_free (slot);
}

/* With the list's lock: waits on its cond, until END when it is not 0
 * (FALSE: END came). Counted, so that a wake with nobody waiting costs no
 * call into the kernel. */
static gboolean
plain_list_wait_locked (PlainList * list, gint64 end)
{
  gboolean woken = TRUE;

  list->waiters++;
  if (end == 0)
    g_cond_wait (&list->cond, &list->lock);
  else
    woken = g_cond_wait_until (&list->cond, &list->lock, end);
  list->waiters--;
  return woken;
}

/* With the list's lock: the waits on it look again. */
static void
plain_list_wake_locked (PlainList * list)
{
  if (list->waiters > 0)
    g_cond_broadcast (&list->cond);
}

/* With the list's lock: drops a reference to SLOT. */
static void
plain_slot_unref_locked (PlainSlot * slot)
{
  if (--slot->refs == 0)
    g_free (slot);
}

/* With the list's lock: SLOT's buffer needs no place any more (it
 * is rendered, or its memory freed). TRUE with its open place in *PLACE
 * and the place's writer in *MAPPING (the caller's now). Again: FALSE. */
static gboolean
plain_slot_end_locked (PlainSlot * slot, zb_reservation * place,
    zb_writer ** mapping)
{
  gboolean placed = slot->state == PLACE_RESERVED;

  g_queue_remove (&slot->pool->plain->slots, slot);
  if (placed) {
    *place = slot->place;
    *mapping = slot->mapping;
    slot->mapping = NULL;
  }
  slot->state = PLACE_ENDED;
  return placed;
}

/* Cancels PLACE (on MAPPING, whose reference it takes), the place of the
 * plain buffer numbered TICKET. */
static void
place_cancel (GstZeroLink * link, guint64 ticket, zb_reservation * place,
    zb_writer * mapping)
{
  guint64 id = place->id;

  zb_reservation_cancel (place);
  gst_zero_link_settle (link, ticket, mapping, id);
  zb_writer_unref (mapping);
}

/* Destroy notify of a plain buffer's memory: its place, if it has one,
 * is cancelled (it never came to be rendered). */
static void
plain_slot_free (gpointer data)
{
  PlainSlot *slot = data;
  GstZeroSinkPool *pool = slot->pool;
  PlainList *list = pool->plain;
  zb_reservation place;
  zb_writer *mapping = NULL;
  gboolean placed;

  g_mutex_lock (&list->lock);
  placed = plain_slot_end_locked (slot, &place, &mapping);
  g_mutex_unlock (&list->lock);
  if (placed) {
    GST_LOG_OBJECT (pool, "plain buffer %" G_GUINT64_FORMAT " freed "
        "unrendered: cancelling its place", slot->ticket);
    place_cancel (pool->link, slot->ticket, &place, mapping);
  }
  g_mutex_lock (&list->lock);
  plain_slot_unref_locked (slot);
  g_mutex_unlock (&list->lock);
  gst_object_unref (pool);
}

/* Cancels the places of the plain buffers still out of LINK's pools;
 * with BEING_RESERVED, once no reserve of a listed buffer's frame or place
 * is under way (an acquire's, a render's): the link refuses new
 * reservations then, so each such reserve ends at once, and none begins
 * after. */
static void
cancel_places (GstZeroLink * link, gboolean being_reserved)
{
  PlainList *list = gst_zero_link_pool_shared (link, plain_list_new,
      plain_list_free, cancel_places_before_detach);

  for (;;) {
    PlainSlot *slot = NULL;
    zb_reservation place;
    zb_writer *mapping;
    guint64 ticket;
    gboolean busy;
    GList *l;

    g_mutex_lock (&list->lock);
    for (;;) {
      busy = FALSE;
      for (l = list->slots.head; l != NULL && slot == NULL; l = l->next) {
        PlainSlot *s = l->data;

        if (s->state == PLACE_RESERVED)
          slot = s;
        busy |= s->state == PLACE_RESERVING;
      }
      if (slot != NULL || !busy || !being_reserved)
        break;
      /* the link's writer is flushing (gst_zero_link_close, finish): a
       * reserve that looked at the link just before ends too, at once */
      plain_list_wait_locked (list, 0);
    }
    if (slot != NULL) {
      place = slot->place;
      mapping = slot->mapping;
      ticket = slot->ticket;
      slot->mapping = NULL;
      /* no place again: placed in the next ring (after EOS and a flush, a
       * restart) it would hold back every frame after it while upstream
       * keeps the buffer; rendered, it is copied as one without a place */
      slot->state = PLACE_ENDED;
    }
    g_mutex_unlock (&list->lock);
    if (slot == NULL)
      break;
    GST_LOG ("cancelling the place of plain buffer %" G_GUINT64_FORMAT
        " before the detach", ticket);
    place_cancel (link, ticket, &place, mapping);
  }
}

void
gst_zero_sink_pool_cancel_places (GstZeroLink * link)
{
  cancel_places (link, FALSE);
}

/* The link's, before it detaches (gst_zero_link_pool_shared): a place
 * reserved while the cancel looked, open at the detach, would be copied
 * into pages of this process. */
static void
cancel_places_before_detach (GstZeroLink * link)
{
  cancel_places (link, TRUE);
}

/* A cancellable's callback: waits for a place (gst_zero_sink_pool_write,
 * place_plain_buffers) look at it again. */
static void
wake_place_waits (GCancellable * cancellable, PlainList * list)
{
  g_mutex_lock (&list->lock);
  plain_list_wake_locked (list);
  g_mutex_unlock (&list->lock);
}

/* Numbers POOL's buffer (*TICKET) and lists a slot for it, as being
 * reserved by its acquire, before it reserves anything. In one step:
 * numbered, then listed, the buffer could meet, in between, the acquire
 * of a later buffer that found nothing listed before its own and
 * reserved its frame, and then, plain, be dropped as late. Every listed
 * buffer is numbered so, and the list grows in the order of the numbers.
 * (The list's lock is taken before the link's, never after.) */
static PlainSlot *
plain_slot_list (GstZeroSinkPool * pool, guint64 * ticket)
{
  PlainList *list = pool->plain;
  PlainSlot *slot = g_new0 (PlainSlot, 1);

  slot->refs = 1;
  slot->pool = pool;
  slot->size = pool->size;
  slot->state = PLACE_RESERVING;
  g_mutex_lock (&list->lock);
  *ticket = slot->ticket = gst_zero_link_ticket (pool->link);
  g_queue_push_tail (&list->slots, slot);
  g_mutex_unlock (&list->lock);
  return slot;
}

/* SLOT's acquire is done with it, its buffer not a plain one (it got its
 * frame, or no buffer): it goes, in one step (while being reserved it is
 * nobody else's), and the acquires waiting behind it go on. */
static void
plain_slot_unlist (PlainSlot * slot)
{
  PlainList *list = slot->pool->plain;

  g_mutex_lock (&list->lock);
  g_queue_remove (&list->slots, slot);
  plain_list_wake_locked (list);
  g_mutex_unlock (&list->lock);
  g_free (slot);
}

/* What reserved the frame of SLOT's buffer itself (its acquire; its
 * render, when it had no place) is done with that reserve: the acquires
 * waiting behind it go on. AGAIN: the buffer got no frame, and a later
 * acquire may still place it (the acquire hands out a plain buffer; the
 * render was interrupted, FLUSHING, and the buffer may be rendered
 * again). */
static void
plain_slot_unclaim (PlainSlot * slot, gboolean again)
{
  PlainList *list = slot->pool->plain;

  g_mutex_lock (&list->lock);
  if (again) {
    slot->state = PLACE_NONE;
  } else {
    g_queue_remove (&list->slots, slot);
    slot->state = PLACE_ENDED;
  }
  plain_list_wake_locked (list);
  g_mutex_unlock (&list->lock);
}

/* Before the frame of the buffer numbered TICKET is reserved on WRITER:
 * a place (its buffer's size and HEADER bytes) for each plain buffer
 * numbered before it that is still out and has none, whichever pool of the
 * link handed it out, oldest first, waiting for room as HOW says.
 * One whose frame is being reserved (its own acquire, or its render,
 * reserves it, or another acquire places it) is waited for, as HOW says
 * (DONTWAIT: BUSY_PATIENCE_US at most), before any after it:
 * reserved first, a later one would make it late.
 * Reserved as the copy it stands for, a place is never taken after a
 * frame numbered later that is still to come (that buffer, rendered, is
 * then copied as one without a place: dropped while a frame numbered
 * after it is still to come). A place refused otherwise (a full ring that
 * does not wait, no reader, flushing, an error in *FAILURE) ends the
 * round, and the next acquire tries again: that is returned, and the
 * caller's buffer gets no frame either (reserved once the reader has made
 * room, it would make the earlier one late); GST_FLOW_OK when all are
 * placed. */
static GstFlowReturn
place_plain_buffers (GstZeroSinkPool * pool, zb_writer * writer,
    guint64 ticket, gsize header, GstZeroLinkWait how,
    GstZeroError ** failure)
{
  PlainList *list = pool->plain;
  GstFlowReturn ret = GST_FLOW_OK;
  gulong woken = 0;
  gint64 patience = 0;

  for (;;) {
    PlainSlot *slot = NULL;
    zb_reservation place;
    gboolean kept, busy = FALSE;
    GList *l;

    g_mutex_lock (&list->lock);
    for (l = list->slots.head; l != NULL; l = l->next) {
      PlainSlot *s = l->data;

      if (s->ticket >= ticket)
        break;
      if (s->state == PLACE_NONE)
        slot = s;
      busy = s->state == PLACE_RESERVING;
      if (slot != NULL || busy)
        break;
    }
    if (busy) {
      gboolean connect = FALSE;

      if (how == GST_ZERO_LINK_DONTWAIT) {
        if (patience == 0)
          patience = g_get_monotonic_time () + BUSY_PATIENCE_US;
        if (!plain_list_wait_locked (list, patience))
          ret = GST_FLOW_CUSTOM_SUCCESS;
      } else if (g_cancellable_is_cancelled (pool->flushing))
        ret = GST_FLOW_FLUSHING;
      else if (woken == 0)
        connect = TRUE;         /* then a look again: not with the lock */
      else
        plain_list_wait_locked (list, 0);
      g_mutex_unlock (&list->lock);
      if (connect)
        woken = g_cancellable_connect (pool->flushing,
            G_CALLBACK (wake_place_waits), list, NULL);
      if (ret != GST_FLOW_OK)
        break;
      continue;
    }
    if (slot != NULL) {
      slot->state = PLACE_RESERVING;
      slot->refs++;
    }
    g_mutex_unlock (&list->lock);
    if (slot == NULL)
      break;
    /* reserved as the copy it stands for: not after a frame numbered
     * later (GST_ZERO_LINK_LATE), and no other numbered frame meanwhile */
    ret = gst_zero_link_reserve (pool->link, writer, slot->size + header,
        how, slot->ticket, GST_ZERO_LINK_FOR_PLACE, pool->flushing, &place,
        failure);
    g_mutex_lock (&list->lock);
    kept = slot->state == PLACE_RESERVING && ret == GST_FLOW_OK;
    if (kept) {
      GST_LOG_OBJECT (pool, "reserved a place for plain buffer %"
          G_GUINT64_FORMAT " before buffer %" G_GUINT64_FORMAT,
          slot->ticket, ticket);
      slot->place = place;
      slot->mapping = zb_writer_ref (writer);
      slot->state = PLACE_RESERVED;
    } else if (slot->state == PLACE_RESERVING) {
      /* late: a frame numbered after it is to come; the buffer, never
       * placed (still listed until rendered), is copied then, or dropped
       * while such a frame is still to come; else (no room, no reader,
       * flushing) the next acquire tries again */
      slot->state = ret == GST_ZERO_LINK_LATE ? PLACE_ENDED : PLACE_NONE;
    }
    plain_list_wake_locked (list);
    g_mutex_unlock (&list->lock);
    if (ret == GST_FLOW_OK && !kept)    /* freed meanwhile */
      place_cancel (pool->link, slot->ticket, &place, zb_writer_ref (writer));
    g_mutex_lock (&list->lock);
    plain_slot_unref_locked (slot);
    g_mutex_unlock (&list->lock);
    if (ret == GST_ZERO_LINK_LATE)
      ret = GST_FLOW_OK;
    else if (ret != GST_FLOW_OK)
      break;
  }
  g_cancellable_disconnect (pool->flushing, woken);
  return ret;
}

/* The configuration upstream chose, when its buffer counts are within
 * our max-buffers (a reservation each: an unbounded count could hold the
 * whole ring). Otherwise FALSE with the counts we can have in CONFIG, as
 * GstBufferPool asks: upstream checks them
 * (gst_buffer_pool_config_validate_params) and sets them, or takes
 * another pool. */
static gboolean
gst_zero_sink_pool_set_config (GstBufferPool * bpool, GstStructure * config)
{
  GstZeroSinkPool *pool = GST_ZERO_SINK_POOL (bpool);
  GstCaps *caps = NULL;
  guint size = 0, min = 0, max = 0, asked_min, asked_max;

  if (!gst_buffer_pool_config_get_params (config, &caps, &size, &min, &max)
      || size == 0) {
    GST_WARNING_OBJECT (pool, "invalid configuration %" GST_PTR_FORMAT,
        config);
    return FALSE;
  }
  asked_min = min;
  asked_max = max;
  if (max == 0 || max > pool->max_buffers)
    max = pool->max_buffers;
  min = MIN (min, max);
  if (min != asked_min || max != asked_max) {
    GST_DEBUG_OBJECT (pool, "asked for %u to %u buffers, can have %u to %u",
        asked_min, asked_max, min, max);
    gst_buffer_pool_config_set_params (config, caps, size, min, max);
    return FALSE;
  }
  pool->size = size;
  GST_DEBUG_OBJECT (pool, "frames of %u bytes, at most %u in flight", size,
      max);
  return GST_BUFFER_POOL_CLASS (parent_class)->set_config (bpool, config);
}

/* Buffers are kept without memory: a buffer points into the ring only
 * while it holds a reservation. */
static GstFlowReturn
gst_zero_sink_pool_alloc_buffer (GstBufferPool * bpool, GstBuffer ** buffer,
    GstBufferPoolAcquireParams * params)
{
  *buffer = gst_buffer_new ();
  return GST_FLOW_OK;
}

static GstFlowReturn
gst_zero_sink_pool_acquire_buffer (GstBufferPool * bpool,
    GstBuffer ** buffer, GstBufferPoolAcquireParams * params)
{
  GstZeroSinkPool *pool = GST_ZERO_SINK_POOL (bpool);
  gsize header = gst_zero_link_header_size (pool->link);
  gboolean dontwait = params != NULL &&
      (params->flags & GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT);
  GstZeroError *failure = NULL;
  PoolSlot *slot = g_new0 (PoolSlot, 1);
  zb_writer *writer = NULL;
  GBytes *attributes = NULL;
  GstMemory *mem;
  GstFlowReturn ret;
  GstZeroLinkWait how;
  gboolean caps_known, reserve, plain;
  PlainSlot *listed = NULL;
  guint64 *ticket;

  ret = GST_BUFFER_POOL_CLASS (parent_class)->acquire_buffer (bpool, buffer,
      params);
  if (ret != GST_FLOW_OK) {
    g_free (slot);
    return ret;
  }
  /* upstream may take a buffer before the caps reach the sink (imagefreeze
   * answers the allocation query itself and sends the caps from its own
   * thread later): connecting now would write metadata without caps,
   * which no reader can read the stream by. A plain buffer then, copied
   * once the caps are known. */
  caps_known = gst_zero_link_knows_caps (pool->link);
  if (caps_known)
    ret = gst_zero_link_get_writer (pool->link, pool->flushing, &writer,
        &failure);
  else
    GST_DEBUG_OBJECT (pool, "no caps yet: a plain buffer");
  /* frames that carry their caps (the ring's metadata has others, as
   * connecting may have just found) have no room for them in a pool
   * buffer: a second reservation beside this one would take two frames'
   * room for one, so they get a plain buffer, copied once */
  if (ret == GST_FLOW_OK && caps_known && header > 0)
    attributes = gst_zero_link_ref_attributes (pool->link);
  reserve = caps_known && attributes == NULL;
  /* no wait for room while the sink does not play (it prerolls, or
   * pauses): upstream would stay here, where unlock() does not reach it,
   * with nothing for the sink to preroll on and the timeout running; a
   * plain buffer then, copied once it plays */
  how = dontwait ? GST_ZERO_LINK_DONTWAIT : GST_ZERO_LINK_WAIT_PLAYING;
  /* every buffer is numbered, plain ones too: one rendered after a buffer
   * numbered later got its reservation is dropped, not copied behind it.
   * One that reserves is listed as it is numbered, before anything is
   * reserved: listed once its reserve failed, another thread's acquire of
   * a later buffer could get its frame meanwhile, and this buffer, plain,
   * would be dropped as late */
  ticket = g_new (guint64, 1);
  if (ret == GST_FLOW_OK && reserve) {
    listed = plain_slot_list (pool, ticket);
    ret = place_plain_buffers (pool, writer, *ticket, header, how, &failure);
  } else {
    *ticket = gst_zero_link_ticket (pool->link);
  }
  if (ret == GST_FLOW_OK && reserve)
    ret = gst_zero_link_reserve (pool->link, writer, pool->size + header,
        how, *ticket, GST_ZERO_LINK_FOR_POOL, pool->flushing, &slot->res,
        &failure);
  if (ret == GST_FLOW_OK && reserve) {
    slot->mapping = writer;
    slot->link = gst_zero_link_ref (pool->link);
    slot->ticket = *ticket;
  } else {
    zb_writer_unref (writer);
  }
  if (ret == GST_FLOW_CUSTOM_SUCCESS && dontwait)
    ret = GST_FLOW_EOS;         /* a full ring: no buffer now, as asked */
  /* no room: a plain buffer, which a later acquire places first */
  plain = ret == GST_FLOW_CUSTOM_SUCCESS && failure == NULL;
  if (listed != NULL && plain)
    plain_slot_unclaim (listed, TRUE);
  else if (listed != NULL)
    g_clear_pointer (&listed, plain_slot_unlist);

  if (ret == GST_FLOW_OK && reserve) {
    mem = gst_memory_new_wrapped (0, slot->res.data + header, pool->size, 0,
        pool->size, slot, slot_free);
    gst_mini_object_set_qdata (GST_MINI_OBJECT_CAST (mem), reservation_quark,
        slot, NULL);
    GST_LOG_OBJECT (pool, "reserved %" G_GSIZE_FORMAT " bytes in the ring",
        pool->size);
  } else if (ret == GST_FLOW_OK || ret == GST_FLOW_ERROR ||
      ret == GST_FLOW_CUSTOM_SUCCESS || ret == GST_ZERO_LINK_NO_READER) {
    /* a plain buffer: the sink copies it (no caps yet, frames carry
     * caps), drops or copies it (ring full with policy=drop or while
     * paused; no reader since the last one went), or posts the failure
     * it carries */
    g_clear_pointer (&attributes, g_bytes_unref);
    g_free (slot);
    mem = gst_allocator_alloc (NULL, pool->size, NULL);
    if (failure != NULL) {
      GST_DEBUG_OBJECT (pool, "the ring refused a reservation: %s",
          failure->text);
      gst_mini_object_set_qdata (GST_MINI_OBJECT_CAST (mem), failure_quark,
          failure, (GDestroyNotify) gst_zero_error_free);
    } else if (listed != NULL) {
      gst_object_ref (pool);    /* the memory's, with its slot */
      gst_mini_object_set_qdata (GST_MINI_OBJECT_CAST (mem), plain_quark,
          listed, plain_slot_free);
    }
  } else {                      /* flushing, or end of stream */
    g_free (slot);
    g_free (ticket);
    /* not gst_buffer_pool_release_buffer(): the buffer is not the pool's
     * until this returns OK (buffer->pool is unset), so that would do
     * nothing, and the buffer would count against max-buffers for good */
    GST_BUFFER_POOL_CLASS (parent_class)->release_buffer (bpool, *buffer);
    *buffer = NULL;
    return ret;
  }
  gst_mini_object_set_qdata (GST_MINI_OBJECT_CAST (mem), ticket_quark,
      ticket, g_free);
  gst_buffer_append_memory (*buffer, mem);
  return GST_FLOW_OK;
}

/* The buffer came back (rendered or not): drop its memory, which cancels
 * the reservation when it was not committed; the base class then frees the
 * empty buffer and counts it against max-buffers no more. */
static void
gst_zero_sink_pool_release_buffer (GstBufferPool * bpool, GstBuffer * buffer)
{
  gst_buffer_remove_all_memory (buffer);
  GST_MINI_OBJECT_FLAG_UNSET (buffer, GST_BUFFER_FLAG_TAG_MEMORY);
  GST_BUFFER_POOL_CLASS (parent_class)->release_buffer (bpool, buffer);
}

static void
gst_zero_sink_pool_flush_start (GstBufferPool * bpool)
{
  GstZeroSinkPool *pool = GST_ZERO_SINK_POOL (bpool);

  GST_DEBUG_OBJECT (pool, "flush start");
  g_cancellable_cancel (pool->flushing);
  gst_zero_link_wake (pool->link);
}

static void
gst_zero_sink_pool_flush_stop (GstBufferPool * bpool)
{
  GstZeroSinkPool *pool = GST_ZERO_SINK_POOL (bpool);

  GST_DEBUG_OBJECT (pool, "flush stop");
  g_cancellable_reset (pool->flushing);
}

static void
gst_zero_sink_pool_init (GstZeroSinkPool * pool)
{
  pool->flushing = g_cancellable_new ();
}

static void
gst_zero_sink_pool_finalize (GObject * object)
{
  GstZeroSinkPool *pool = GST_ZERO_SINK_POOL (object);

  gst_zero_link_unref (pool->link);
  g_object_unref (pool->flushing);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_zero_sink_pool_class_init (GstZeroSinkPoolClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstBufferPoolClass *pool_class = GST_BUFFER_POOL_CLASS (klass);

  quarks_init ();
  gobject_class->finalize = gst_zero_sink_pool_finalize;
  pool_class->set_config = gst_zero_sink_pool_set_config;
  pool_class->alloc_buffer = gst_zero_sink_pool_alloc_buffer;
  pool_class->acquire_buffer = gst_zero_sink_pool_acquire_buffer;
  pool_class->release_buffer = gst_zero_sink_pool_release_buffer;
  pool_class->flush_start = gst_zero_sink_pool_flush_start;
  pool_class->flush_stop = gst_zero_sink_pool_flush_stop;
}

/* ------------------------------------------- writing buffers as frames */

/* The per-frame header of BUFFER (docs/PROTOCOL.md §9.1), at DST, with
 * ATTRIBUTES (or none) after its fixed 48 bytes, committed at COMMIT_NS,
 * with FLAGS besides the buffer's own. */
static void
write_header (GstBuffer * buffer, GBytes * attributes, guint64 commit_ns,
    guint32 flags, guint8 * dst)
{
  zb_frame_ext ext = { 0 };
  gsize attrs_size = 0;

  if (attributes != NULL) {
    ext.attrs = g_bytes_get_data (attributes, &attrs_size);
    ext.attrs_size = attrs_size;
  }
  ext.pts = GST_BUFFER_PTS_IS_VALID (buffer) ? GST_BUFFER_PTS (buffer) :
      ZB_EXT_NONE;
  ext.dts = GST_BUFFER_DTS_IS_VALID (buffer) ? GST_BUFFER_DTS (buffer) :
      ZB_EXT_NONE;
  ext.duration = GST_BUFFER_DURATION_IS_VALID (buffer) ?
      GST_BUFFER_DURATION (buffer) : ZB_EXT_NONE;
  ext.flags = (GST_BUFFER_FLAGS (buffer) | flags) & ZEROBUFFER_CARRIED_FLAGS;
  ext.commit_ns = commit_ns;
  zb_frame_ext_write (dst, &ext);
}

/* Commits RES with SIZE bytes, and a hold on them when HOLD is not NULL;
 * BUFFER's header (with FLAGS too) first when the link has one
 * (HEADER_SIZE > 0). The time
 * in *COMMIT_NS (and the header) is taken before the commit, so that no
 * reader's answer can carry an earlier one. */
static int
commit (zb_reservation * res, GstBuffer * buffer, GBytes * attributes,
    guint32 flags, gsize header_size, uint64_t size, zb_hold * hold,
    guint64 * commit_ns)
{
  *commit_ns = zb_now_ns ();
  if (header_size > 0)
    write_header (buffer, attributes, *commit_ns, flags, res->data);
  return hold != NULL ? zb_reservation_commit_hold (res, size, hold) :
      zb_reservation_commit (res, size);
}

/* Why a commit into WRITER's ring failed. A reader gone since the reserve
 * (the pool reserves each frame ahead of time) is reported as a reserve
 * that finds it gone is (gst_zero_link_reserve). */
static GstZeroError *
commit_error (zb_writer * writer, int rc)
{
  const gchar *ring = zb_writer_name (writer);

  if (rc == ZB_EREADERGONE)
    return gst_zero_error_new (rc, g_strdup_printf ("The reader of ring %s "
            "is gone", ring), g_strdup (zb_last_error ()));
  return gst_zero_error_new (rc, g_strdup_printf ("Could not commit a frame "
          "into ring %s: %s", ring, zb_strerror (rc)),
      g_strdup (zb_last_error ()));
}

/* gst_buffer_extract with the core's copy (zb_copy), memory by memory: the
 * ring's position, not the buffer, decides where the bytes land. */
static gboolean
copy_into (GstBuffer * buffer, guint8 * dst)
{
  guint i, n = gst_buffer_n_memory (buffer);

  for (i = 0; i < n; i++) {
    GstMemory *mem = gst_buffer_peek_memory (buffer, i);
    GstMapInfo map;

    if (!gst_memory_map (mem, &map, GST_MAP_READ))
      return FALSE;
    zb_copy (dst, map.data, map.size);
    dst += map.size;
    gst_memory_unmap (mem, &map);
  }
  return TRUE;
}

typedef enum
{
  LAYOUT_AS_IS,                 /* a frame of the caps as it is (or any size
                                 * goes) */
  LAYOUT_REPACK,                /* a frame in the layout of its video meta */
  LAYOUT_PACK_PLANES,           /* planar audio, planes where its audio meta
                                 * says */
  LAYOUT_REFUSED                /* not a frame of the caps */
} FrameLayout;

/* The bytes META's planes reach, a full stride per row (what a copy of the
 * frame may read); 0 when it cannot be told (a stride not above 0, a
 * tiled format, a palette, whose plane is no rows of pixels). Not
 * gst_video_meta_get_plane_size(): it refuses any stride but its
 * alignment's. */
static gsize
meta_extent (GstVideoMeta * meta)
{
  const GstVideoFormatInfo *finfo = gst_video_format_get_info (meta->format);
  gint comp[GST_VIDEO_MAX_COMPONENTS];
  gsize extent = 0;
  guint i;

  if (finfo == NULL || GST_VIDEO_FORMAT_INFO_IS_TILED (finfo) ||
      GST_VIDEO_FORMAT_INFO_HAS_PALETTE (finfo))
    return 0;
  for (i = 0; i < meta->n_planes; i++) {
    if (meta->stride[i] <= 0)
      return 0;
    gst_video_format_info_component (finfo, i, comp);
    extent = MAX (extent, meta->offset[i] + (gsize) meta->stride[i] *
        GST_VIDEO_FORMAT_INFO_SCALE_HEIGHT (finfo, comp[0], meta->height));
  }
  return extent;
}

/* Whether BUFFER (SIZE bytes) is a frame of the caps in force, INFO's
 * default layout of FRAME_SIZE bytes (gst_zero_link_frame_size): a raw
 * video frame has that one size, the only one zerosrc (and the Node
 * reader) take. A buffer of other strides or offsets, or with padding,
 * whose video meta says so, is repacked; one that no meta
 * explains is refused here, before the ring, with the reason in *ERROR:
 * written, it would stop the reader, which is not at fault. Longer
 * buffers are refused too, as zerosrc refuses longer frames: trailing
 * bytes cannot be told from rows of another stride. */
static FrameLayout
frame_layout (GstBuffer * buffer, gsize size, GstVideoInfo * info,
    gsize frame_size, GstZeroError ** error)
{
  GstVideoMeta *meta = gst_buffer_get_video_meta (buffer);
  gsize needed;
  gboolean default_layout = size == frame_size;
  gchar *why;
  guint i;

  if (meta != NULL && meta->format == GST_VIDEO_INFO_FORMAT (info) &&
      meta->width >= (guint) GST_VIDEO_INFO_WIDTH (info) &&
      meta->height >= (guint) GST_VIDEO_INFO_HEIGHT (info) &&
      meta->n_planes == GST_VIDEO_INFO_N_PLANES (info)) {
    for (i = 0; i < meta->n_planes; i++) {
      default_layout = default_layout &&
          meta->offset[i] == GST_VIDEO_INFO_PLANE_OFFSET (info, i) &&
          meta->stride[i] == GST_VIDEO_INFO_PLANE_STRIDE (info, i);
    }
    needed = meta_extent (meta);
    /* a layout whose extent cannot be told goes as it is when it has the
     * frame's size, as a buffer without meta: repacked, it could be read
     * past its end */
    if (default_layout || (needed == 0 && size == frame_size))
      return LAYOUT_AS_IS;
    if (needed > 0 && size >= needed)
      return LAYOUT_REPACK;
    why = needed > 0 ? g_strdup_printf ("its video meta lays out %"
        G_GSIZE_FORMAT " bytes", needed) : g_strdup ("its video meta's "
        "layout cannot be repacked (a tiled or palette format, or a stride "
        "not above 0)");
  } else if (meta != NULL) {
    why = g_strdup_printf ("its video meta (%s %ux%u, %u planes) does not "
        "lay out frames of them", gst_video_format_to_string (meta->format),
        meta->width, meta->height, meta->n_planes);
  } else if (default_layout) {
    return LAYOUT_AS_IS;
  } else {
    why = g_strdup ("it has no video meta giving another layout");
  }
  *error = gst_zero_error_new (ZEROBUFFER_EFRAMESIZE,
      g_strdup_printf ("A buffer of %" G_GSIZE_FORMAT " bytes is not a frame "
          "of its caps: %s %dx%d frames have %" G_GSIZE_FORMAT " bytes, and "
          "%s", size, GST_VIDEO_INFO_NAME (info), GST_VIDEO_INFO_WIDTH (info),
          GST_VIDEO_INFO_HEIGHT (info), frame_size, why),
      g_strdup ("a raw video frame is written in GStreamer's default layout "
          "(rows rounded up to 4 bytes, no padding), the only one its reader "
          "takes; a buffer of other strides or offsets needs a GstVideoMeta "
          "saying so (it is then repacked)"));
  g_free (why);
  return LAYOUT_REFUSED;
}

/* Copies BUFFER, laid out as its video meta says, into DST in INFO's
 * default layout (INFO's size). */
static gboolean
repack_into (GstBuffer * buffer, GstVideoInfo * info, guint8 * dst)
{
  GstBuffer *out = gst_buffer_new_wrapped_full (0, dst,
      GST_VIDEO_INFO_SIZE (info), 0, GST_VIDEO_INFO_SIZE (info), NULL, NULL);
  GstVideoFrame src_frame, dst_frame;
  gboolean ok = FALSE;

  if (gst_video_frame_map (&src_frame, info, buffer, GST_MAP_READ)) {
    /* (a frame over bytes of ours, without meta: mapped as INFO says) */
    if (gst_video_frame_map (&dst_frame, info, out, GST_MAP_WRITE)) {
      ok = gst_video_frame_copy (&dst_frame, &src_frame);
      gst_video_frame_unmap (&dst_frame);
    }
    gst_video_frame_unmap (&src_frame);
  }
  gst_buffer_unref (out);
  return ok;
}

/* Planar raw audio whose audio meta puts its planes elsewhere than one
 * after the other (a trim moves their offsets, an application may leave
 * room between them): its frame is the planes packed, the layout zerosrc's
 * audio meta gives, of *SIZE bytes. NULL for a buffer as it is. */
static GstAudioMeta *
planes_to_pack (GstBuffer * buffer, gsize * size)
{
  GstAudioMeta *meta = gst_buffer_get_audio_meta (buffer);
  gsize plane;
  gint i;

  if (meta == NULL ||
      GST_AUDIO_INFO_LAYOUT (&meta->info) != GST_AUDIO_LAYOUT_NON_INTERLEAVED)
    return NULL;
  plane = meta->samples * GST_AUDIO_INFO_BPS (&meta->info);
  for (i = 0; i < GST_AUDIO_INFO_CHANNELS (&meta->info); i++) {
    if (meta->offsets[i] != i * plane)
      break;
  }
  if (i == GST_AUDIO_INFO_CHANNELS (&meta->info) && *size == i * plane)
    return NULL;
  *size = plane * GST_AUDIO_INFO_CHANNELS (&meta->info);
  return meta;
}

/* Copies BUFFER's planes, where META says, into DST one after the other. */
static gboolean
pack_planes_into (GstBuffer * buffer, GstAudioMeta * meta, guint8 * dst)
{
  GstAudioBuffer audio;
  gsize plane = meta->samples * GST_AUDIO_INFO_BPS (&meta->info);
  gint i;

  if (!gst_audio_buffer_map (&audio, &meta->info, buffer, GST_MAP_READ))
    return FALSE;
  for (i = 0; i < audio.n_planes; i++)
    zb_copy (dst + i * plane, audio.planes[i], plane);
  gst_audio_buffer_unmap (&audio);
  return TRUE;
}

/* Zero copy: BUFFER is one pool memory over SLOT's reservation, which
 * upstream filled in place: commit it, with a hold on its bytes (HOLD, the
 * caller's, or else the slot's own, ended when the memory is freed).
 * FALSE (nothing done) when the reservation is not open: committed
 * already (upstream pushed the buffer again) or abandoned (the link
 * reconnected since); then the bytes are copied like any other buffer's. */
static gboolean
commit_in_place (GstZeroLink * link, GstBuffer * buffer, PoolSlot * slot,
    gsize size, guint32 flags, zb_hold * hold, guint64 * commit_ns,
    guint64 * frame_id, GstFlowReturn * ret, gboolean * moved,
    GstZeroError ** error)
{
  GstMemory *mem = gst_buffer_peek_memory (buffer, 0);
  gsize header = gst_zero_link_header_size (link), offset = 0;
  guint8 *data;
  int rc;

  if (slot->res.writer == NULL)
    return FALSE;
  data = slot->res.data + header;
  gst_memory_get_sizes (mem, &offset, NULL);
  if (offset != 0)              /* upstream trimmed the front */
    memmove (data, data + offset, size);
  *frame_id = slot->res.id;
  rc = commit (&slot->res, buffer, NULL, flags, header, size + header,
      hold != NULL ? hold : &slot->hold, commit_ns);
  gst_zero_link_settle (link, slot->ticket, slot->mapping, *frame_id);
  if (rc == ZB_ESTATE) {
    /* abandoned (the reader was lost): the buffer is copied through its
     * memory, at its offset, into the next ring: the bytes go back there */
    if (offset != 0)
      memmove (data + offset, data, size);
    return FALSE;
  }
  slot->committed = TRUE;
  /* the bytes stay moved, and the memory must say so: else whoever still
   * holds the buffer (the last sample, videorate pushing it again, copied
   * through the memory) reads OFFSET bytes further on. Not
   * gst_memory_resize(), which refuses while the buffer has another
   * holder, the very case: every buffer over this memory sees the bytes it
   * saw (a memory shared out of it does not: docs/GUARANTEES.md, Limits) */
  if (offset != 0)
    mem->offset = 0;
  if (rc < 0) {
    *error = commit_error (slot->mapping, rc);
    if (rc == ZB_EREADERGONE)
      gst_zero_link_reader_gone (link, slot->mapping);
    *ret = GST_FLOW_ERROR;
  } else {
    /* the reader has these bytes now: whoever still holds the buffer and
     * maps it for writing gets a copy (gst_memory_make_mapped) */
    GST_MINI_OBJECT_FLAG_SET (mem, GST_MEMORY_FLAG_READONLY);
    *moved = offset != 0;
    *ret = GST_FLOW_OK;
  }
  return TRUE;
}

GstFlowReturn
gst_zero_sink_pool_write (GstZeroLink * link, GstBuffer * buffer, gsize * size,
    guint32 flags, GCancellable * cancellable, zb_hold * hold,
    GstZeroSinkPoolBehind behind, gpointer data, GstZeroWriteKind * kind,
    guint64 * commit_ns, guint64 * frame_id, GstZeroError ** error)
{
  GstMemory *first = gst_buffer_peek_memory (buffer, 0);
  gsize header = gst_zero_link_header_size (link), bytes = *size, frame_size,
      sample_frame;
  FrameLayout layout = LAYOUT_AS_IS;
  GstVideoInfo info;
  GstAudioMeta *planes = NULL;
  GBytes *attributes = NULL;
  zb_reservation res;
  zb_writer *writer = NULL;
  GstZeroError *failure;
  GstFlowReturn ret;
  gboolean moved = FALSE, repeated, placed = FALSE;
  PlainSlot *claimed = NULL;
  guint64 committed_ns, ticket, id;
  PoolSlot *slot;
  PlainSlot *plain;
  int rc;

  if (commit_ns == NULL)
    commit_ns = &committed_ns;
  if (frame_id == NULL)
    frame_id = &id;
  if ((failure = gst_zero_sink_pool_failure (first)) != NULL) {
    /* the pool met it upstream; reported from the caller's thread */
    *error = gst_zero_error_new (failure->code, g_strdup (failure->text),
        g_strdup (failure->debug));
    return GST_FLOW_ERROR;
  }
  if (header > 0)
    attributes = gst_zero_link_ref_attributes (link);
  slot = (PoolSlot *) gst_zero_sink_pool_reservation (first);
  repeated = slot != NULL && slot->committed;
  /* a plain buffer is copied into the place reserved for it, if any (it
   * needs none from now on). One being reserved is waited for: copied
   * meanwhile, it would come after the places the acquire reserves next,
   * for buffers after it (a late frame). That reserve, in upstream's
   * acquire, may wait for room until the stop's flush, which comes only
   * once the sink's unlock() has freed this thread: so CANCELLABLE ends
   * this wait (FLUSHING, the place still to come). One without a place
   * stays listed, its frame being reserved, until this reserve is done:
   * an acquire meanwhile (upstream goes on once the buffer before came
   * back) would place a later plain buffer first, and this one would be
   * dropped as late (a queue lost a frame after a pause so, under load) */
  if ((plain = gst_mini_object_get_qdata (GST_MINI_OBJECT_CAST (first),
              plain_quark)) != NULL) {
    PlainList *list = plain->pool->plain;
    gulong woken = cancellable == NULL ? 0 : g_cancellable_connect
        (cancellable, G_CALLBACK (wake_place_waits), list, NULL);
    gboolean interrupted;

    g_mutex_lock (&list->lock);
    while (plain->state == PLACE_RESERVING &&
        !g_cancellable_is_cancelled (cancellable))
      plain_list_wait_locked (list, 0);
    interrupted = plain->state == PLACE_RESERVING;
    if (plain->state == PLACE_NONE) {
      plain->state = PLACE_RESERVING;
      claimed = plain;
    } else if (!interrupted) {
      placed = plain_slot_end_locked (plain, &res, &writer);
    }
    g_mutex_unlock (&list->lock);
    g_cancellable_disconnect (cancellable, woken);
    if (interrupted) {
      ret = GST_FLOW_FLUSHING;
      goto done;
    }
  }
  /* a pool buffer that is copied (plain, pushed again, joined with other
   * memory) goes into the ring in the order the pool numbered it */
  ticket = memory_ticket (first);
  /* a pool buffer too: upstream may have trimmed it (gst_buffer_resize),
   * and a raw video frame of another size stops the reader (EPROTO) */
  frame_size = gst_zero_link_frame_size (link, &info, &sample_frame);
  if (frame_size != 0)
    layout = frame_layout (buffer, bytes, &info, frame_size, error);
  else if ((planes = planes_to_pack (buffer, &bytes)) != NULL)
    layout = LAYOUT_PACK_PLANES;
  /* part of a sample frame would stop the reader (zerosrc: EPROTO); the
   * refusal looks again, at the caps then in force */
  else if (sample_frame != 0 && bytes % sample_frame != 0 &&
      (*error = gst_zero_link_refuse_part_samples (link, bytes)) != NULL)
    layout = LAYOUT_REFUSED;
  if (layout == LAYOUT_REFUSED) {
    ret = GST_FLOW_ERROR;
    goto done;
  }
  /* a pool buffer has room for the fixed header only: with attributes it
   * is copied (zerofilter offers no pool while frames carry them) */
  if (slot != NULL && attributes == NULL && layout == LAYOUT_AS_IS &&
      gst_buffer_n_memory (buffer) == 1 &&
      commit_in_place (link, buffer, slot, bytes, flags, hold, commit_ns,
          frame_id, &ret, &moved, error)) {
    /* bytes moved to the front count as a copy */
    *kind = moved ? GST_ZERO_WRITE_COPIED : GST_ZERO_WRITE_IN_PLACE;
    return ret;
  }
  if (layout == LAYOUT_REPACK)
    bytes = frame_size;
  /* (frames that carry their caps since have no room in it) */
  if (placed && (attributes != NULL || bytes + header > res.size)) {
    place_cancel (link, ticket, &res, writer);
    writer = NULL;
    placed = FALSE;
  }
  ret = GST_FLOW_OK;
  if (placed)
    goto copy;

another_ring:
  ret = gst_zero_link_get_writer (link, cancellable, &writer, error);
  if (ret == GST_ZERO_LINK_NO_READER) {
    *kind = GST_ZERO_WRITE_NO_READER;
    ret = GST_FLOW_OK;
    goto done;
  }
  if (ret != GST_FLOW_OK)
    goto done;
  if (behind != NULL && behind (buffer, data)) {
    *kind = GST_ZERO_WRITE_BEHIND;
    goto done;
  }
  /* connecting may have just found that frames must carry their caps (the
   * ring's metadata has others): the first frame carries them too */
  if (header > 0) {
    g_clear_pointer (&attributes, g_bytes_unref);
    attributes = gst_zero_link_ref_attributes (link);
  }
  if (attributes != NULL)
    header += g_bytes_get_size (attributes);
  ret = gst_zero_link_reserve (link, writer, bytes + header,
      GST_ZERO_LINK_WAIT, ticket, GST_ZERO_LINK_FOR_COPY, cancellable, &res,
      error);
  if (claimed != NULL) {
    plain_slot_unclaim (claimed, ret == GST_FLOW_FLUSHING);
    claimed = NULL;
  }
  if (ret == GST_ZERO_LINK_LATE) {
    /* written now, it would come after the frame of a buffer upstream
     * took from the pool later and has yet to push: a repeat, or a buffer
     * taken while the ring could not give one (full under policy=drop, no
     * reader) */
    *kind = repeated ? GST_ZERO_WRITE_REPEAT_DROPPED : GST_ZERO_WRITE_LATE;
    ret = GST_FLOW_OK;
    goto done;
  }
  if (ret == GST_FLOW_CUSTOM_SUCCESS || ret == GST_ZERO_LINK_NO_READER) {
    *kind = ret == GST_FLOW_CUSTOM_SUCCESS ? GST_ZERO_WRITE_DROPPED :
        GST_ZERO_WRITE_NO_READER;
    ret = GST_FLOW_OK;
    goto done;
  }
  if (ret != GST_FLOW_OK)
    goto done;
copy:
  *frame_id = res.id;
  if (layout == LAYOUT_REPACK ? !repack_into (buffer, &info,
          res.data + header) : layout == LAYOUT_PACK_PLANES ?
      !pack_planes_into (buffer, planes, res.data + header) :
      !copy_into (buffer, res.data + header)) {
    zb_reservation_cancel (&res);
    gst_zero_link_settle (link, placed ? ticket : 0, writer, *frame_id);
    *error = gst_zero_error_new (ZB_EINVAL,
        g_strdup ("Could not read a buffer to copy it into the ring"),
        g_strdup (layout == LAYOUT_REPACK ? "the buffer cannot be mapped as "
            "its video meta lays it out" : layout == LAYOUT_PACK_PLANES ?
            "the buffer cannot be mapped as its audio meta lays it out" :
            "a memory of the buffer cannot be mapped for reading"));
    ret = GST_FLOW_ERROR;
    goto done;
  }
  rc = commit (&res, buffer, attributes, flags, header, bytes + header, hold,
      commit_ns);
  /* a copy's reserve listed no number (a place's did): the same number
   * may be a pool buffer's reservation still open (a buffer joining its
   * memory), a frame still to come */
  gst_zero_link_settle (link, placed ? ticket : 0, writer, *frame_id);
  if (rc == ZB_ESTATE && placed) {
    /* a place in a ring the link has left (its reader was lost): the
     * bytes are copied as any other buffer's, into the next */
    g_clear_pointer (&writer, zb_writer_unref);
    placed = FALSE;
    goto another_ring;
  }
  if (rc < 0) {
    *error = commit_error (writer, rc);
    if (rc == ZB_EREADERGONE)
      gst_zero_link_reader_gone (link, writer);
    ret = GST_FLOW_ERROR;
    goto done;
  }
  *kind = repeated ? GST_ZERO_WRITE_REPEATED : GST_ZERO_WRITE_COPIED;
  *size = bytes;
done:
  if (claimed != NULL)
    plain_slot_unclaim (claimed, ret == GST_FLOW_FLUSHING);
  if (placed && res.writer != NULL)     /* refused before its copy */
    place_cancel (link, ticket, &res, g_steal_pointer (&writer));
  zb_writer_unref (writer);
  if (attributes != NULL)
    g_bytes_unref (attributes);
  return ret;
}

void
gst_zero_sink_pool_propose (GstObject * owner, GstZeroLink * link,
    GstQuery * query, guint max_buffers)
{
  GstCaps *caps = NULL;
  gboolean need_pool = FALSE;
  GstCapsFeatures *features;
  GstBufferPool *pool;
  GstStructure *config;
  GstVideoInfo info;
  guint size;

  gst_query_parse_allocation (query, &caps, &need_pool);
  if (caps == NULL || gst_caps_get_size (caps) != 1)
    return;
  features = gst_caps_get_features (caps, 0);
  if ((features != NULL && !gst_caps_features_is_equal (features,
              GST_CAPS_FEATURES_MEMORY_SYSTEM_MEMORY)) ||
      !gst_video_info_from_caps (&info, caps) ||
      GST_VIDEO_INFO_SIZE (&info) == 0) {
    GST_DEBUG_OBJECT (owner, "no pool for caps %" GST_PTR_FORMAT
        " (not raw video of a fixed size): buffers are copied", caps);
    return;
  }

  size = (guint) GST_VIDEO_INFO_SIZE (&info);
  pool = gst_zero_sink_pool_new (link, max_buffers);
  config = gst_buffer_pool_get_config (pool);
  gst_buffer_pool_config_set_params (config, caps, size, 0, max_buffers);
  if (!gst_buffer_pool_set_config (pool, config)) {
    GST_WARNING_OBJECT (owner, "could not configure the pool");
    gst_object_unref (pool);
    return;
  }
  GST_DEBUG_OBJECT (owner, "offering the ring pool: frames of %u bytes, up "
      "to %u in flight", size, max_buffers);
  gst_query_add_allocation_pool (query, pool, size, 0, max_buffers);
  gst_object_unref (pool);
}

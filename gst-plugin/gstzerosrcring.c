/* gstzerosrcring.c — a ring we read from and the memory it lends, or the
 * held frames of a ring we write (see the header). The memory is a
 * GstMemory of our own allocator: its mapping goes through us, so we know
 * when nobody holds a pointer into the ring and can move the bytes. Shares
 * (sub-regions) map through their root. Each root in the ring holds its
 * frame's lease or hold, which keeps the ring mapped after the element has
 * closed it; this struct only keeps the bookkeeping alive. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "gstzerobufferelements.h"
#include "gstzerosrcring.h"

#define GST_CAT_DEFAULT gst_zerobuffer_debug

struct _GstZeroSrcRing
{
  gint refcount;                /* the element's + one per lent memory */
  zb_reader *reader;            /* the element's handle, until close;
                                   NULL for holds */

  GMutex lock;                  /* guards the lent memories' data and maps */
  GQueue lent;                  /* roots still in the ring, oldest first */
  gsize moved;                  /* frames moved out so far (atomic) */
  gint64 idle_since;            /* monotonic µs: since when we hold lent
                                   frames, have read all and no frame came
                                   (0: not) */
};

/* A frame's claim on the ring: the reader's lease or the writer's hold. */
typedef struct
{
  zb_frame frame;
  zb_hold hold;                 /* hold.writer set for a hold */
} Lease;

typedef struct
{
  GstMemory mem;
  GstZeroSrcRing *ring;         /* a reference */
  /* roots only, under ring->lock: */
  guint8 *data;                 /* the frame's bytes: in the ring, or a copy */
  gboolean in_ring;
  Lease lease;                  /* while in_ring */
  gsize bytes;                  /* the frame's payload bytes */
  gint maps;
  GList link;                   /* in ring->lent while in_ring */
} GstZeroSrcMemory;

#define ROOT(m) ((GstZeroSrcMemory *) ((m)->parent ? (m)->parent : (m)))

/* ------------------------------------------------------------ allocator */

#define GST_TYPE_ZERO_SRC_ALLOCATOR (gst_zero_src_allocator_get_type ())
G_DECLARE_FINAL_TYPE (GstZeroSrcAllocator, gst_zero_src_allocator, GST,
    ZERO_SRC_ALLOCATOR, GstAllocator);

struct _GstZeroSrcAllocator
{
  GstAllocator parent;
};

G_DEFINE_TYPE (GstZeroSrcAllocator, gst_zero_src_allocator, GST_TYPE_ALLOCATOR);

static gpointer
zero_src_mem_map (GstMemory * mem, gsize maxsize, GstMapFlags flags)
{
  GstZeroSrcMemory *root = ROOT (mem);
  gpointer data;

  g_mutex_lock (&root->ring->lock);
  root->maps++;
  data = root->data;
  g_mutex_unlock (&root->ring->lock);
  return data;
}

static void
zero_src_mem_unmap (GstMemory * mem)
{
  GstZeroSrcMemory *root = ROOT (mem);

  g_mutex_lock (&root->ring->lock);
  root->maps--;
  g_mutex_unlock (&root->ring->lock);
}

static GstMemory *
zero_src_mem_share (GstMemory * mem, gssize offset, gssize size)
{
  GstZeroSrcMemory *root = ROOT (mem);
  GstZeroSrcMemory *sub = g_new0 (GstZeroSrcMemory, 1);

  if (size == -1)
    size = mem->size - offset;
  gst_memory_init (GST_MEMORY_CAST (sub),
      GST_MINI_OBJECT_FLAGS (mem) | GST_MEMORY_FLAG_READONLY,
      mem->allocator, GST_MEMORY_CAST (root), mem->maxsize, mem->align,
      mem->offset + offset, size);
  sub->ring = gst_zero_src_ring_ref (root->ring);
  return GST_MEMORY_CAST (sub);
}

static GstMemory *
zero_src_mem_copy (GstMemory * mem, gssize offset, gssize size)
{
  GstMapInfo in, out;
  GstMemory *copy;

  if (size == -1)
    size = mem->size > (gsize) offset ? mem->size - offset : 0;
  copy = gst_allocator_alloc (NULL, size, NULL);
  if (!gst_memory_map (mem, &in, GST_MAP_READ))
    goto fail;
  if (!gst_memory_map (copy, &out, GST_MAP_WRITE)) {
    gst_memory_unmap (mem, &in);
    goto fail;
  }
  zb_copy (out.data, in.data + offset, size);
  gst_memory_unmap (copy, &out);
  gst_memory_unmap (mem, &in);
  return copy;
fail:
  gst_memory_unref (copy);
  return NULL;
}

static gboolean
zero_src_mem_is_span (GstMemory * mem1, GstMemory * mem2, gsize * offset)
{
  return FALSE;
}

static GstMemory *
gst_zero_src_allocator_alloc (GstAllocator * allocator, gsize size,
    GstAllocationParams * params)
{
  return NULL;                  /* only gst_zero_src_ring_wrap makes ours */
}

/* Gives the frame back to its ring. */
static void
lease_release (Lease * lease)
{
  if (lease->hold.writer != NULL)
    zb_hold_release (&lease->hold);
  else
    zb_frame_release (&lease->frame);
}

/* Any thread: gives the frame back (or frees the copy). */
static void
gst_zero_src_allocator_free (GstAllocator * allocator, GstMemory * mem)
{
  GstZeroSrcMemory *m = (GstZeroSrcMemory *) mem;
  GstZeroSrcRing *ring = m->ring;

  if (mem->parent == NULL) {
    gboolean in_ring;

    g_mutex_lock (&ring->lock);
    in_ring = m->in_ring;
    if (in_ring)
      g_queue_unlink (&ring->lent, &m->link);
    g_mutex_unlock (&ring->lock);
    if (in_ring)
      lease_release (&m->lease);
    else
      g_free (m->data);
  }
  g_free (m);
  gst_zero_src_ring_unref (ring);
}

static void
gst_zero_src_allocator_class_init (GstZeroSrcAllocatorClass * klass)
{
  GstAllocatorClass *allocator_class = GST_ALLOCATOR_CLASS (klass);

  allocator_class->alloc = gst_zero_src_allocator_alloc;
  allocator_class->free = gst_zero_src_allocator_free;
}

static void
gst_zero_src_allocator_init (GstZeroSrcAllocator * self)
{
  GstAllocator *allocator = GST_ALLOCATOR_CAST (self);

  allocator->mem_type = "ZeroBufferRing";
  allocator->mem_map = zero_src_mem_map;
  allocator->mem_unmap = zero_src_mem_unmap;
  allocator->mem_share = zero_src_mem_share;
  allocator->mem_copy = zero_src_mem_copy;
  allocator->mem_is_span = zero_src_mem_is_span;
  GST_OBJECT_FLAG_SET (self, GST_ALLOCATOR_FLAG_CUSTOM_ALLOC);
}

static GstAllocator *
gst_zero_src_allocator_get (void)
{
  static GstAllocator *allocator;

  if (g_once_init_enter (&allocator)) {
    GstAllocator *made = g_object_new (GST_TYPE_ZERO_SRC_ALLOCATOR, NULL);

    gst_object_ref_sink (made);
    /* lives as long as the process, like the allocators GStreamer keeps */
    GST_OBJECT_FLAG_SET (made, GST_OBJECT_FLAG_MAY_BE_LEAKED);
    g_once_init_leave (&allocator, made);
  }
  return allocator;
}

/* ----------------------------------------------------------------- ring */

GstZeroSrcRing *
gst_zero_src_ring_new (zb_reader * reader)
{
  GstZeroSrcRing *ring = g_new0 (GstZeroSrcRing, 1);

  ring->refcount = 1;
  ring->reader = reader;
  g_mutex_init (&ring->lock);
  g_queue_init (&ring->lent);
  return ring;
}

GstZeroSrcRing *
gst_zero_src_ring_ref (GstZeroSrcRing * ring)
{
  g_atomic_int_inc (&ring->refcount);
  return ring;
}

void
gst_zero_src_ring_unref (GstZeroSrcRing * ring)
{
  if (ring != NULL && g_atomic_int_dec_and_test (&ring->refcount)) {
    g_mutex_clear (&ring->lock);
    g_free (ring);
  }
}

void
gst_zero_src_ring_close (GstZeroSrcRing * ring)
{
  if (ring == NULL)
    return;
  if (ring->reader != NULL) {
    GST_DEBUG ("closing ring %s", zb_reader_name (ring->reader));
    zb_reader_destroy (ring->reader);
  }
  ring->reader = NULL;
  gst_zero_src_ring_unref (ring);
}

guint64
gst_zero_src_ring_moved (GstZeroSrcRing * ring)
{
  return (guint64) g_atomic_pointer_get (&ring->moved);
}

zb_reader *
gst_zero_src_ring_reader (GstZeroSrcRing * ring)
{
  return ring->reader;
}

/* A root memory lent over DATA (BYTES long), in the ring. */
static GstZeroSrcMemory *
lent_new (GstZeroSrcRing * ring, const uint8_t * data, gsize bytes,
    gsize offset, gsize size)
{
  GstZeroSrcMemory *m = g_new0 (GstZeroSrcMemory, 1);

  gst_memory_init (GST_MEMORY_CAST (m), GST_MEMORY_FLAG_READONLY,
      gst_zero_src_allocator_get (), NULL, bytes, 0, offset, size);
  m->ring = gst_zero_src_ring_ref (ring);
  m->data = (guint8 *) data;
  m->bytes = bytes;
  m->in_ring = TRUE;
  m->link.data = m;
  return m;
}

static void
lent_push (GstZeroSrcRing * ring, GstZeroSrcMemory * m)
{
  g_mutex_lock (&ring->lock);
  g_queue_push_tail_link (&ring->lent, &m->link);
  ring->idle_since = 0;         /* the writer goes on */
  g_mutex_unlock (&ring->lock);
}

GstMemory *
gst_zero_src_ring_wrap (GstZeroSrcRing * ring, const zb_frame * frame,
    gsize offset, gsize size)
{
  GstZeroSrcMemory *m = lent_new (ring, frame->data, frame->size, offset,
      size);

  m->lease.frame = *frame;
  lent_push (ring, m);
  return GST_MEMORY_CAST (m);
}

GstMemory *
gst_zero_src_ring_wrap_hold (GstZeroSrcRing * ring, zb_hold * hold,
    gsize offset, gsize size)
{
  GstZeroSrcMemory *m = lent_new (ring, zb_hold_data (hold), hold->size,
      offset, size);

  m->lease.hold = *hold;
  memset (hold, 0, sizeof *hold);
  lent_push (ring, m);
  return GST_MEMORY_CAST (m);
}

/* With the lock: copies every lent frame that is not mapped out of the
 * ring, oldest first, and appends it to MOVED (to give back unlocked). */
static void
move_out_locked (GstZeroSrcRing * ring, GArray * moved)
{
  GList *l;

  ring->idle_since = 0;
  for (l = ring->lent.head; l != NULL;) {
    GstZeroSrcMemory *m = l->data;
    guint8 *copy;

    l = l->next;
    if (m->maps > 0)
      continue;
    copy = g_malloc (m->bytes);
    zb_copy (copy, m->data, m->bytes);
    m->data = copy;
    m->in_ring = FALSE;
    g_queue_unlink (&ring->lent, &m->link);
    g_array_append_val (moved, m->lease);
  }
}

/* Gives back the frames move_out_locked moved (their memories no longer
 * look at the lease). */
static guint
release_moved (GstZeroSrcRing * ring, GArray * moved)
{
  guint i, n = moved->len;

  if (n > 0)
    g_atomic_pointer_add (&ring->moved, n);
  for (i = 0; i < n; i++)
    lease_release (&g_array_index (moved, Lease, i));
  g_array_free (moved, TRUE);
  return n;
}

guint
gst_zero_src_ring_move_out (GstZeroSrcRing * ring)
{
  GArray *moved = g_array_new (FALSE, FALSE, sizeof (Lease));

  g_mutex_lock (&ring->lock);
  move_out_locked (ring, moved);
  g_mutex_unlock (&ring->lock);
  return release_moved (ring, moved);
}

guint
gst_zero_src_ring_make_room (GstZeroSrcRing * ring)
{
  zb_reader_room_info room;
  GArray *moved;
  gint64 now = g_get_monotonic_time ();

  if (zb_reader_room (ring->reader, &room) < 0)
    return 0;
  g_mutex_lock (&ring->lock);
  if (room.unread > 0 || g_queue_is_empty (&ring->lent)) {
    ring->idle_since = 0;
    g_mutex_unlock (&ring->lock);
    return 0;
  }
  if (ring->idle_since == 0)
    ring->idle_since = now;
  if (room.fits_largest && now - ring->idle_since <
      GST_ZERO_SRC_RING_PATIENCE_MS * G_TIME_SPAN_MILLISECOND) {
    g_mutex_unlock (&ring->lock);
    return 0;
  }
  moved = g_array_new (FALSE, FALSE, sizeof (Lease));
  move_out_locked (ring, moved);
  g_mutex_unlock (&ring->lock);
  return release_moved (ring, moved);
}

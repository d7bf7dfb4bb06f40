/* gstzerosinkpool.c — zerosink's buffer pool (see gstzerosinkpool.h).
 *
 * Every acquire gets a fresh reservation in the ring from zerosink, wrapped
 * in one read-write GstMemory; zerosink's render commits it when the buffer
 * comes back downstream. A buffer returned without being rendered drops its
 * memory, and dropping that memory cancels the reservation (the memory's
 * destroy notify, in zerosink), so nothing upstream can write into the ring
 * afterwards. The core allows one reservation per writer, so the pool is
 * offered with max-buffers 1 and zerosink serialises reservations. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstzerobufferelements.h"
#include "gstzerosinkpool.h"

#define GST_CAT_DEFAULT gst_zerobuffer_debug

struct _GstZeroSinkPool
{
  GstBufferPool parent;

  GstZeroSink *sink;            /* owned reference */
  gsize size;                   /* from the configuration */
};

#define gst_zero_sink_pool_parent_class parent_class
G_DEFINE_TYPE (GstZeroSinkPool, gst_zero_sink_pool, GST_TYPE_BUFFER_POOL);

GstBufferPool *
gst_zero_sink_pool_new (GstZeroSink * sink)
{
  GstZeroSinkPool *pool = g_object_new (GST_TYPE_ZERO_SINK_POOL, NULL);

  gst_object_ref_sink (pool);
  pool->sink = gst_object_ref (sink);
  return GST_BUFFER_POOL (pool);
}

static gboolean
gst_zero_sink_pool_set_config (GstBufferPool * bpool, GstStructure * config)
{
  GstZeroSinkPool *pool = GST_ZERO_SINK_POOL (bpool);
  GstCaps *caps = NULL;
  guint size = 0, min = 0, max = 0;

  if (!gst_buffer_pool_config_get_params (config, &caps, &size, &min, &max)
      || size == 0) {
    GST_WARNING_OBJECT (pool, "invalid configuration %" GST_PTR_FORMAT,
        config);
    return FALSE;
  }
  pool->size = size;
  GST_DEBUG_OBJECT (pool, "frames of %u bytes (min %u, max %u buffers)",
      size, min, max);
  return GST_BUFFER_POOL_CLASS (parent_class)->set_config (bpool, config);
}

/* No preallocation: a buffer exists only while it holds a reservation. */
static gboolean
gst_zero_sink_pool_start (GstBufferPool * bpool)
{
  return TRUE;
}

static GstFlowReturn
gst_zero_sink_pool_acquire_buffer (GstBufferPool * bpool,
    GstBuffer ** buffer, GstBufferPoolAcquireParams * params)
{
  GstZeroSinkPool *pool = GST_ZERO_SINK_POOL (bpool);
  GstMemory *mem = NULL;
  GstFlowReturn ret;

  if (GST_BUFFER_POOL_IS_FLUSHING (bpool))
    return GST_FLOW_FLUSHING;
  ret = gst_zero_sink_pool_reserve (pool->sink, bpool, pool->size, &mem);
  if (ret != GST_FLOW_OK)
    return ret;
  *buffer = gst_buffer_new ();
  gst_buffer_append_memory (*buffer, mem);
  return GST_FLOW_OK;
}

/* The buffer came back (rendered or not): drop its memory, which cancels
 * the reservation when it was not committed, and free the buffer. */
static void
gst_zero_sink_pool_release_buffer (GstBufferPool * bpool, GstBuffer * buffer)
{
  gst_buffer_remove_all_memory (buffer);
  gst_buffer_unref (buffer);    /* buffer->pool is NULL now: really freed */
}

static void
gst_zero_sink_pool_flush_start (GstBufferPool * bpool)
{
  GstZeroSinkPool *pool = GST_ZERO_SINK_POOL (bpool);

  GST_DEBUG_OBJECT (pool, "flush start");
  gst_zero_sink_pool_wake (pool->sink);
}

static void
gst_zero_sink_pool_init (GstZeroSinkPool * pool)
{
}

static void
gst_zero_sink_pool_finalize (GObject * object)
{
  GstZeroSinkPool *pool = GST_ZERO_SINK_POOL (object);

  gst_object_unref (pool->sink);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_zero_sink_pool_class_init (GstZeroSinkPoolClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstBufferPoolClass *pool_class = GST_BUFFER_POOL_CLASS (klass);

  gobject_class->finalize = gst_zero_sink_pool_finalize;
  pool_class->set_config = gst_zero_sink_pool_set_config;
  pool_class->start = gst_zero_sink_pool_start;
  pool_class->acquire_buffer = gst_zero_sink_pool_acquire_buffer;
  pool_class->release_buffer = gst_zero_sink_pool_release_buffer;
  pool_class->flush_start = gst_zero_sink_pool_flush_start;
}

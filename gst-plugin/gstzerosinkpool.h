/* gstzerosinkpool.h — zerosink's buffer pool: buffers whose memory is a
 * reservation in the ring, so upstream writes straight into shared memory.
 *
 * The pool is thin: it asks zerosink for the memory (zerosink owns the
 * writer, its one reservation and the error messages) and gives buffers back
 * without their memory, so that a buffer never points into the ring while it
 * sits unused. */
#ifndef GST_ZERO_SINK_POOL_H
#define GST_ZERO_SINK_POOL_H

#include <gst/gst.h>

G_BEGIN_DECLS

typedef struct _GstZeroSink GstZeroSink;

#define GST_TYPE_ZERO_SINK_POOL (gst_zero_sink_pool_get_type ())
G_DECLARE_FINAL_TYPE (GstZeroSinkPool, gst_zero_sink_pool, GST,
    ZERO_SINK_POOL, GstBufferPool);

/* A new pool that takes its memory from SINK (which it keeps a reference
 * to). */
GstBufferPool *gst_zero_sink_pool_new (GstZeroSink * sink);

/* Implemented by zerosink (gstzerosink.c). */

/* Connects if needed and reserves SIZE bytes in the ring for POOL's next
 * buffer; *mem wraps the reservation, or (policy=drop with a full ring)
 * plain system memory. GST_FLOW_FLUSHING when POOL flushes or the sink
 * stops; GST_FLOW_ERROR (with an element error posted) when the ring
 * refuses. */
GstFlowReturn gst_zero_sink_pool_reserve (GstZeroSink * sink,
    GstBufferPool * pool, gsize size, GstMemory ** mem);

/* Breaks a wait of gst_zero_sink_pool_reserve() (the pool starts
 * flushing). */
void gst_zero_sink_pool_wake (GstZeroSink * sink);

G_END_DECLS

#endif /* GST_ZERO_SINK_POOL_H */

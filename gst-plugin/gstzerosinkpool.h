/* gstzerosinkpool.h — zerosink's buffer pool: buffers whose memory is a
 * reservation in the ring, so upstream writes straight into shared memory.
 *
 * The pool is a thin wrapper over the core's reservations, taken through
 * the sink's GstZeroLink: each acquire reserves room for one frame (up to
 * the pool's max-buffers at a time, in flight in any order), the sink
 * commits the reservation when the buffer is rendered, and a buffer that
 * comes back unrendered cancels it. While frames carry their caps in the
 * frame header (the ring's metadata has others) there is no room for them
 * in a reservation: an acquire then hands out a plain buffer, copied; so
 * it does while zerosink does not play and the ring has no room at once
 * (GST_ZERO_LINK_WAIT_PLAYING), and under policy=drop while it is full:
 * such a buffer gets a place in the ring before the frame of the next
 * buffer taken (from any pool of the link), and is copied there (a queue
 * before zerosink holds it while the reader makes room). The pool never
 * posts an error: when the ring refuses, it hands out a plain buffer that
 * carries the failure, and the sink posts it when that buffer arrives. */
#ifndef GST_ZERO_SINK_POOL_H
#define GST_ZERO_SINK_POOL_H

#include <gst/gst.h>

#include "gstzerolink.h"

G_BEGIN_DECLS

#define GST_TYPE_ZERO_SINK_POOL (gst_zero_sink_pool_get_type ())
G_DECLARE_FINAL_TYPE (GstZeroSinkPool, gst_zero_sink_pool, GST,
    ZERO_SINK_POOL, GstBufferPool);

/* A pool that reserves through LINK (it keeps a reference), at most
 * MAX_BUFFERS buffers at a time. */
GstBufferPool *gst_zero_sink_pool_new (GstZeroLink * link, guint max_buffers);

/* The reservation MEM wraps, when it is one (its data starts the frame
 * header's bytes earlier when frames carry one). */
zb_reservation *gst_zero_sink_pool_reservation (GstMemory * mem);

/* The failure a fallback MEM carries, when it is one. */
GstZeroError *gst_zero_sink_pool_failure (GstMemory * mem);

/* Cancels the places of the plain buffers still out of LINK's pools
 * (they are copied into at render: upstream has no mapping of them), so
 * that the frames committed after them are published (zerofilter at EOS).
 * The link does so itself before it detaches, once it refuses new
 * reservations, also waiting for the places being reserved then
 * (gst_zero_link_pool_shared): zb_writer_destroy copies only
 * reservations upstream holds, and a frame committed after a place is
 * published. Such a buffer rendered later is copied as one without a
 * place. */
void gst_zero_sink_pool_cancel_places (GstZeroLink * link);

/* Offers upstream, in the allocation QUERY, a pool of MAX_BUFFERS ring
 * reservations through LINK when the caps are raw video of a fixed frame
 * size in system memory (anything else gets no pool and is copied). No
 * video meta: upstream keeps the default strides, so the frame bytes are
 * exactly what a copy would write. OWNER is for logging. */
void gst_zero_sink_pool_propose (GstObject * owner, GstZeroLink * link,
    GstQuery * query, guint max_buffers);

/* How gst_zero_sink_pool_write went. */
typedef enum
{
  GST_ZERO_WRITE_IN_PLACE,      /* a pool buffer, committed where it lay */
  GST_ZERO_WRITE_COPIED,        /* copied once into a fresh reservation */
  GST_ZERO_WRITE_DROPPED,       /* the ring was full and the policy drops */
  /* a pool buffer written before, pushed again (videorate repeating a
   * frame): the pool no longer keeps frames in the order they are pushed */
  GST_ZERO_WRITE_REPEATED,      /* copied once more */
  GST_ZERO_WRITE_REPEAT_DROPPED,        /* dropped: it would have come after
                                         * the frame of a buffer upstream
                                         * took since and has yet to push */
  GST_ZERO_WRITE_NO_READER,     /* dropped: the link lost its reader (or
                                 * had none yet) and none created the ring
                                 * (gst_zero_link_set_reconnect) */
  /* a plain pool buffer (the ring gave none when upstream took it: full
   * under policy=drop, no reader; or a reservation abandoned since)
   * rendered while a buffer upstream took later has its frame reserved and
   * not yet committed (gst_zero_link_reserve, in the same ring) */
  GST_ZERO_WRITE_LATE,          /* dropped: copied, it would come after
                                 * that frame, back in time */
  GST_ZERO_WRITE_BEHIND,        /* dropped: the caller's BEHIND said so */
} GstZeroWriteKind;

/* Asked by gst_zero_sink_pool_write once connected, before BUFFER is
 * copied into the ring (not for a pool reservation, written in place):
 * TRUE drops it. */
typedef gboolean (*GstZeroSinkPoolBehind) (GstBuffer * buffer,
    gpointer data);

/* Writes BUFFER (*SIZE bytes, *SIZE > 0) as one frame through LINK, with the
 * per-frame header when the link has one (its flags: BUFFER's and FLAGS): a pool buffer's reservation is
 * committed in place, anything else is copied into a fresh reservation.
 * A raw video buffer, of the pool too, must be a frame of the caps in force
 * (gst_zero_link_frame_size): one in another layout that its video meta
 * gives is repacked into the default layout (*SIZE then set to the
 * frame's size, once written), any other is refused before the ring
 * (GST_FLOW_ERROR, *ERROR of ZEROBUFFER_EFRAMESIZE).
 * With HOLD (not NULL), the frame is committed with a hold on its bytes
 * (zb_reservation_commit_hold), which the caller releases. GST_FLOW_OK
 * with *KIND and, when COMMIT_NS is not NULL, the zb_now_ns taken just
 * before the commit (the frame header's commit time) and, when FRAME_ID
 * is not NULL, the core's id of the frame's reservation
 * (gst_zero_link_published), GST_FLOW_FLUSHING (closed, or CANCELLABLE
 * cancelled: call again to go on), GST_FLOW_EOS, or GST_FLOW_ERROR with
 * *ERROR (also the failure a fallback buffer of the pool carries). BEHIND
 * (or NULL) with DATA: see GstZeroSinkPoolBehind. */
GstFlowReturn gst_zero_sink_pool_write (GstZeroLink * link,
    GstBuffer * buffer, gsize * size, guint32 flags, GCancellable * cancellable,
    zb_hold * hold, GstZeroSinkPoolBehind behind, gpointer data,
    GstZeroWriteKind * kind, guint64 * commit_ns, guint64 * frame_id,
    GstZeroError ** error);

G_END_DECLS

#endif /* GST_ZERO_SINK_POOL_H */

/* gstzerosrcring.h — a ring we read from and the memory it lends
 * downstream: zerosrc's ring, and zerofilter's response ring; and the
 * held frames of a ring we write that we lend downstream (zerofilter's
 * requests answered in place, core holds: zb_reservation_commit_hold).
 *
 * The element's buffers point into the ring (no copy). A ring is a queue: its
 * bytes go back to the writer in order, so one buffer held downstream stops
 * the writer once it has gone round to it. Elements that collect buffers
 * before they let any go (filesink gathers 64 KiB, queues, aggregators)
 * would then wait for frames that cannot come. So a lent frame can be moved
 * out of the ring: its bytes are copied to memory of its own and the frame
 * is given back to the writer, while the GstMemory downstream holds stays
 * valid. The element does that only when it has read everything and the
 * ring has no room left for the writer's next frame (zerosrc before each
 * wait for a frame, zerofilter before each wait for a response); a frame
 * that is mapped at that moment stays (its pointer is in use). Held frames
 * of a ring we write are moved out the same way when a reservation waits
 * for their bytes (gst_zero_src_ring_move_out, called by the link that
 * reserves). */
#ifndef GST_ZERO_SRC_RING_H
#define GST_ZERO_SRC_RING_H

#include <gst/gst.h>

#include "zerobuffer.h"

G_BEGIN_DECLS

typedef struct _GstZeroSrcRing GstZeroSrcRing;

/* Takes ownership of reader; NULL for a ring of held frames. */
GstZeroSrcRing *gst_zero_src_ring_new (zb_reader * reader);
GstZeroSrcRing *gst_zero_src_ring_ref (GstZeroSrcRing * ring);
void gst_zero_src_ring_unref (GstZeroSrcRing * ring);
/* The element is done with it: the reader is destroyed (the ring unlinked)
 * and the element's reference dropped; lent memory stays valid, each holding its
 * frame's lease, until it is freed. NULL is allowed. */
void gst_zero_src_ring_close (GstZeroSrcRing * ring);
zb_reader *gst_zero_src_ring_reader (GstZeroSrcRing * ring);
/* Lent frames moved out of the ring so far. */
guint64 gst_zero_src_ring_moved (GstZeroSrcRing * ring);

/* Read-only memory over frame, taking over its lease (released when the
 * memory is freed or moved out of the ring): offset and size select the bytes the
 * buffer shows (after a per-frame header). */
GstMemory *gst_zero_src_ring_wrap (GstZeroSrcRing * ring,
    const zb_frame * frame, gsize offset, gsize size);

/* Read-only memory over a held frame of a ring we write, taking over
 * *hold (cleared; released when the memory is freed or moved out of the
 * ring). The frame must be published (zb_hold_data not NULL). */
GstMemory *gst_zero_src_ring_wrap_hold (GstZeroSrcRing * ring,
    zb_hold * hold, gsize offset, gsize size);

/* Copies every lent frame that is not mapped out of the ring, oldest
 * first, and gives it back; returns how many moved. */
guint gst_zero_src_ring_move_out (GstZeroSrcRing * ring);

/* When we have read everything the writer wrote and it waits for room
 * that lent frames take, copies every lent frame that is not mapped out of
 * the ring, oldest first, and gives it back. Returns how many moved. The
 * writer waits at once when it cannot place a frame like the largest read
 * so far (zb_reader_room's fits_largest). When it can, it may still be
 * waiting (its next frame may be larger, or it may want a second
 * reservation while filling one), but we cannot see that: the copy waits
 * until no frame has come for GST_ZERO_SRC_RING_PATIENCE_MS. A ring of two
 * frames whose sink keeps the last buffer thus goes round without a copy.
 * Call it before each wait, and in slices while waiting. */
#define GST_ZERO_SRC_RING_PATIENCE_MS 100
guint gst_zero_src_ring_make_room (GstZeroSrcRing * ring);

G_END_DECLS

#endif /* GST_ZERO_SRC_RING_H */

/* gstzerocatchup.h — zerosink's catch-up after its wait for the reader.
 *
 * A live upstream (a capture, a live test source, appsrc is-live=true)
 * goes on producing while zerosink waits for the reader to create the
 * ring, then pushes the buffers it owes back to back. Written, the reader
 * would have them all, at their spacing from a first frame stamped at its
 * commit, and play the whole stream that late. After a connect, the
 * buffers due before it ended and later than the buffer that waited for it
 * was (by over GST_ZERO_CATCH_UP_SLACK) are dropped, but HEADER buffers, up
 * to the first that is not: a source that is always as late, or ever later
 * (slower than its clock), loses only what it owed. A non-live upstream's
 * are all written. Pool reservations are never asked: the pool connected
 * for them before upstream stamped them. Streaming thread only. */
#ifndef GST_ZERO_CATCH_UP_H
#define GST_ZERO_CATCH_UP_H

#include <gst/gst.h>
#include <gst/base/gstbasesink.h>

#include "gstzerolink.h"

G_BEGIN_DECLS

/* How late a live stream's buffer may come after the wait for the reader
 * before it is dropped: a video sink's default max-lateness. */
#define GST_ZERO_CATCH_UP_SLACK (20 * GST_MSECOND)

typedef struct
{
  GstBaseSink *sink;
  GstZeroLink *link;
  GstDebugCategory *category;   /* the sink's, for its INFO */
  gboolean catching_up;         /* a connect ended, upstream is live */
  GstClockTimeDiff connected_at;        /* the running time it ended */
  GstClockTimeDiff slack;       /* lateness that is not from it */
  guint64 behind;               /* buffers dropped as late from it */
} GstZeroCatchUp;

/* What gst_zero_catch_up_behind knows from before a buffer's write. */
typedef struct
{
  GstZeroCatchUp *catch_up;
  guint64 connects;             /* gst_zero_link_connects then */
  GstClockTimeDiff late;        /* how late it came to us (0: unknown) */
} GstZeroCatchUpBefore;

/* At the sink's start: no catching up. */
void gst_zero_catch_up_reset (GstZeroCatchUp * catch_up, GstBaseSink * sink,
    GstZeroLink * link, GstDebugCategory * category);
/* A new timeline (a flush, the stream started again after READY): the
 * running time of a connect before it no longer tells what is late. With
 * the streaming thread stopped. */
void gst_zero_catch_up_stop (GstZeroCatchUp * catch_up);
/* Before BUFFER's write: fills BEFORE. */
void gst_zero_catch_up_before (GstZeroCatchUp * catch_up, GstBuffer * buffer,
    GstZeroCatchUpBefore * before);
/* GstZeroSinkPoolBehind (DATA: the GstZeroCatchUpBefore of BUFFER):
 * whether BUFFER is dropped as late from the wait for the reader. */
gboolean gst_zero_catch_up_behind (GstBuffer * buffer, gpointer data);

G_END_DECLS

#endif

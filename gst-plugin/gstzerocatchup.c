/* gstzerocatchup.c — zerosink's catch-up after its wait for the reader
 * (gstzerocatchup.h says what and why). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstzerocatchup.h"

#define GST_CAT_DEFAULT (catch_up->category)

void
gst_zero_catch_up_reset (GstZeroCatchUp * catch_up, GstBaseSink * sink,
    GstZeroLink * link, GstDebugCategory * category)
{
  *catch_up = (GstZeroCatchUp) {
  .sink = sink,.link = link,.category = category};
}

void
gst_zero_catch_up_stop (GstZeroCatchUp * catch_up)
{
  catch_up->catching_up = FALSE;
}

/* Whether upstream is live: it goes on producing while we wait, and its
 * buffers are due at their running time. */
static gboolean
upstream_live (GstZeroCatchUp * catch_up)
{
  GstQuery *query = gst_query_new_latency ();
  gboolean live = FALSE;

  if (gst_pad_peer_query (GST_BASE_SINK_PAD (catch_up->sink), query))
    gst_query_parse_latency (query, &live, NULL, NULL);
  gst_query_unref (query);
  return live;
}

/* When a synchronised sink renders BUFFER: the running time of its DTS
 * (else PTS) plus the pipeline's latency and ts-offset, in *DUE, and the
 * running time now in *NOW. FALSE without a clock or a timestamp. */
static gboolean
buffer_due (GstZeroCatchUp * catch_up, GstBuffer * buffer,
    GstClockTimeDiff * due, GstClockTimeDiff * now)
{
  GstBaseSink *bsink = catch_up->sink;
  GstClockTime clock_now = gst_element_get_current_running_time (GST_ELEMENT
      (bsink));
  GstClockTime at = GST_BUFFER_DTS_OR_PTS (buffer);

  if (!GST_CLOCK_TIME_IS_VALID (clock_now) || !GST_CLOCK_TIME_IS_VALID (at) ||
      !GST_CLOCK_TIME_IS_VALID (at = gst_segment_to_running_time
          (&bsink->segment, GST_FORMAT_TIME, at)))
    return FALSE;
  *due = (GstClockTimeDiff) (at + gst_base_sink_get_latency (bsink)) +
      gst_base_sink_get_ts_offset (bsink);
  *now = (GstClockTimeDiff) clock_now;
  return TRUE;
}

void
gst_zero_catch_up_before (GstZeroCatchUp * catch_up, GstBuffer * buffer,
    GstZeroCatchUpBefore * before)
{
  GstClockTimeDiff due, now;
  gboolean connected;

  before->catch_up = catch_up;
  before->connects = gst_zero_link_connects (catch_up->link, &connected);
  /* connected, the write connects only if the reader goes meanwhile: not
   * worth reading the clock for every frame */
  before->late = !connected && buffer_due (catch_up, buffer, &due, &now) ?
      now - due : 0;
}

gboolean
gst_zero_catch_up_behind (GstBuffer * buffer, gpointer data)
{
  GstZeroCatchUpBefore *before = data;
  GstZeroCatchUp *catch_up = before->catch_up;
  GstClockTimeDiff due = 0, now = 0;

  if (gst_zero_link_connects (catch_up->link, NULL) != before->connects) {
    GstClockTime at = gst_element_get_current_running_time (GST_ELEMENT
        (catch_up->sink));

    catch_up->behind = 0;
    catch_up->catching_up = GST_CLOCK_TIME_IS_VALID (at) &&
        upstream_live (catch_up);
    catch_up->connected_at = (GstClockTimeDiff) at;
    catch_up->slack = MAX (before->late, 0) + GST_ZERO_CATCH_UP_SLACK;
  }
  if (!catch_up->catching_up ||
      GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_HEADER))
    return FALSE;
  /* (a buffer without a timestamp, or no clock: not known to be late) */
  if (buffer_due (catch_up, buffer, &due, &now) &&
      due < catch_up->connected_at && now - due > catch_up->slack) {
    catch_up->behind++;
    return TRUE;
  }
  catch_up->catching_up = FALSE;
  if (catch_up->behind > 0)
    GST_INFO_OBJECT (catch_up->sink, "dropped %" G_GUINT64_FORMAT " buffers "
        "of the live stream that came late after the wait for the reader",
        catch_up->behind);
  return FALSE;
}

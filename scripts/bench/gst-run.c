/* gst-run — gst-launch-1.0 for the benchmarks: runs one pipeline (same
 * gst_parse_launch syntax) to EOS and measures it where gst-launch cannot.
 *
 *   gst-run [--report FILE] [--touch] [--pool-max N] PIPELINE
 *
 * The element named "sink" gets a probe on its sink pad: frames and bytes
 * seen, the time of the first and the last one, CPU seconds (getrusage)
 * from the first frame to EOS. --touch reads one byte per 4 KiB page of every
 * buffer there, as a consumer that looks at its frames must (fakesink alone
 * would never fault the pages in). --pool-max N: when the sink offers upstream
 * an allocator but no pool (shmsink), add a pool of at most N buffers from
 * that allocator to its answer (see on_query). At the end one JSON line goes
 * to FILE (default stderr; stdout may be fdsink's): those figures, VmHWM, the
 * sink's "stats" structure when it has one (zerosink: frames-zero-copy /
 * frames-copied say whether the pool was used; for a sink that offered an
 * allocator without such counters, the probe counts buffers in that
 * allocator's memory under the same names), and the error if any.
 * Exit status 0 at EOS, 1 on an error message, 2 on bad usage.
 */
#include <glib-unix.h>
#include <gst/gst.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "measure.h"

typedef struct run {
  gboolean touch;
  guint pool_max;
  GstAllocator *sink_allocator; /* what the sink offered upstream, if anything */
  guint64 in_sink_memory;
  guint64 frames, bytes, first_ns, last_ns;
  double cpu_first, cpu_end;
  volatile unsigned sink; /* touched bytes go here so the reads stay */
  GMainLoop *loop;
  char *error;
} run;

static guint64 now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (guint64)ts.tv_sec * 1000000000u + (guint64)ts.tv_nsec;
}

static GstPadProbeReturn on_buffer(GstPad *pad, GstPadProbeInfo *info, gpointer data) {
  run *r = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
  guint64 t = now_ns();
  (void)pad;
  if (r->frames == 0) {
    r->first_ns = t;
    r->cpu_first = cpu_now();
  }
  if (r->touch) {
    GstMapInfo map;
    if (gst_buffer_map(buf, &map, GST_MAP_READ)) {
      unsigned sum = 0;
      for (gsize i = 0; i < map.size; i += 4096)
        sum += map.data[i];
      if (map.size > 0)
        sum += map.data[map.size - 1];
      r->sink += sum;
      gst_buffer_unmap(buf, &map);
    }
  }
  if (r->sink_allocator != NULL && gst_buffer_n_memory(buf) == 1 &&
      gst_buffer_peek_memory(buf, 0)->allocator == r->sink_allocator)
    r->in_sink_memory++;
  r->frames++;
  r->bytes += gst_buffer_get_size(buf);
  r->last_ns = now_ns();
  return GST_PAD_PROBE_OK;
}

/* The sink's answer to the allocation query. Its allocator is remembered:
 * buffers that arrive in its memory were written there by upstream (zero
 * copy; shmsink copies any other). --pool-max N: when the sink offered an
 * allocator but no pool (shmsink), offer upstream a pool of at most N buffers
 * from it, as an application can; upstream then waits for a buffer to come
 * back instead of allocating past the sink's memory. */
static GstPadProbeReturn on_query(GstPad *pad, GstPadProbeInfo *info, gpointer data) {
  run *r = data;
  GstQuery *query = GST_PAD_PROBE_INFO_QUERY(info);
  GstBufferPool *pool;
  (void)pad;
  if (GST_QUERY_TYPE(query) != GST_QUERY_ALLOCATION || !(info->type & GST_PAD_PROBE_TYPE_PULL) ||
      gst_query_get_n_allocation_params(query) == 0)
    return GST_PAD_PROBE_OK;
  g_clear_object(&r->sink_allocator);
  gst_query_parse_nth_allocation_param(query, 0, &r->sink_allocator, NULL);
  if (r->pool_max == 0 || gst_query_get_n_allocation_pools(query) > 0)
    return GST_PAD_PROBE_OK;
  pool = gst_buffer_pool_new();
  /* size 0: the source sets its frame size in the pool's config */
  gst_query_add_allocation_pool(query, pool, 0, 0, r->pool_max);
  gst_object_unref(pool);
  return GST_PAD_PROBE_OK;
}

/* SIGINT/SIGTERM: stop and still write the report (with the frames so far). */
static gboolean on_signal(gpointer data) {
  run *r = data;
  if (r->error == NULL)
    r->error = g_strdup("interrupted");
  g_main_loop_quit(r->loop);
  return G_SOURCE_REMOVE;
}

static gboolean on_message(GstBus *bus, GstMessage *msg, gpointer data) {
  run *r = data;
  (void)bus;
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
    GError *err = NULL;
    char *debug = NULL;
    gst_message_parse_error(msg, &err, &debug);
    r->error = g_strdup_printf("%s: %s", GST_OBJECT_NAME(msg->src), err->message);
    g_printerr("gst-run: %s (%s)\n", r->error, debug ? debug : "");
    g_error_free(err);
    g_free(debug);
    g_main_loop_quit(r->loop);
  } else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS) {
    g_main_loop_quit(r->loop);
  }
  return TRUE;
}

/* The sink's "stats" structure as JSON members (numbers only), or "". */
static char *sink_stats(GstElement *sink) {
  GstStructure *s = NULL;
  GString *out = g_string_new("");
  if (g_object_class_find_property(G_OBJECT_GET_CLASS(sink), "stats") == NULL)
    return g_string_free(out, FALSE);
  g_object_get(sink, "stats", &s, NULL);
  if (s == NULL)
    return g_string_free(out, FALSE);
  for (int i = 0; i < gst_structure_n_fields(s); i++) {
    const char *name = gst_structure_nth_field_name(s, i);
    const GValue *v = gst_structure_get_value(s, name);
    GValue d = G_VALUE_INIT;
    g_value_init(&d, G_TYPE_DOUBLE);
    if (g_value_transform(v, &d))
      g_string_append_printf(out, ",\"%s\":%.17g", name, g_value_get_double(&d));
    g_value_unset(&d);
  }
  gst_structure_free(s);
  return g_string_free(out, FALSE);
}

int main(int argc, char **argv) {
  run r = {0};
  const char *report = NULL, *desc = NULL;
  GError *err = NULL;
  GstElement *pipeline, *sink;
  GstPad *pad;
  FILE *out = stderr;
  char *stats;

  gst_init(&argc, &argv);
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--report") == 0 && i + 1 < argc)
      report = argv[++i];
    else if (strcmp(argv[i], "--pool-max") == 0 && i + 1 < argc)
      r.pool_max = (guint)strtoul(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--touch") == 0)
      r.touch = TRUE;
    else if (desc == NULL)
      desc = argv[i];
    else
      desc = NULL, i = argc; /* one pipeline string only */
  }
  if (desc == NULL) {
    g_printerr("usage: gst-run [--report FILE] [--touch] [--pool-max N] PIPELINE\n");
    return 2;
  }
  pipeline = gst_parse_launch(desc, &err);
  if (pipeline == NULL || err != NULL) {
    g_printerr("gst-run: %s\n", err ? err->message : "cannot parse the pipeline");
    return 2;
  }
  sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  if (sink == NULL || (pad = gst_element_get_static_pad(sink, "sink")) == NULL) {
    g_printerr("gst-run: the pipeline needs an element name=sink with a sink pad\n");
    return 2;
  }
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, &r, NULL);
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM, on_query, &r, NULL);
  r.loop = g_main_loop_new(NULL, FALSE);
  gst_bus_add_watch(GST_ELEMENT_BUS(pipeline), on_message, &r);
  g_unix_signal_add(SIGINT, on_signal, &r);
  g_unix_signal_add(SIGTERM, on_signal, &r);
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE &&
      r.error == NULL)
    r.error = g_strdup("the pipeline refused to start");
  else
    g_main_loop_run(r.loop);
  r.cpu_end = cpu_now();
  stats = sink_stats(sink); /* before NULL: zerosink resets its counters at start */
  if (r.sink_allocator != NULL && strstr(stats, "\"frames-zero-copy\"") == NULL) {
    /* a sink without zerosink's counters (shmsink): the probe's count */
    char *more = g_strdup_printf("%s,\"frames-zero-copy\":%" G_GUINT64_FORMAT
                                 ",\"frames-copied\":%" G_GUINT64_FORMAT,
                                 stats, r.in_sink_memory, r.frames - r.in_sink_memory);
    g_free(stats);
    stats = more;
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);

  if (report != NULL && (out = fopen(report, "w")) == NULL)
    out = stderr;
  {
    double secs = r.frames > 1 ? (r.last_ns - r.first_ns) / 1e9 : 0;
    fprintf(out,
            "{\"frames\":%" G_GUINT64_FORMAT ",\"bytes\":%" G_GUINT64_FORMAT
            ",\"seconds\":%.6f,\"fps\":%.3f,\"cpuPerFrame\":%.9f,\"hwmKb\":%ld,"
            "\"firstNs\":%" G_GUINT64_FORMAT ",\"lastNs\":%" G_GUINT64_FORMAT
            ",\"error\":\"%s\"%s}\n",
            r.frames, r.bytes, secs, secs > 0 ? (r.frames - 1) / secs : 0,
            r.frames > 1 ? (r.cpu_end - r.cpu_first) / (r.frames - 1) : 0, vm_hwm_kb(),
            r.first_ns, r.last_ns, r.error ? g_strescape(r.error, NULL) : "", stats);
  }
  if (out != stderr)
    fclose(out);
  return r.error != NULL;
}

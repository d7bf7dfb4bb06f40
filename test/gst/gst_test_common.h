/* gst_test_common.h — helpers shared by the in-process GStreamer tests
 * (test_elements.c, test_filter_element.c): gst-check assertions on
 * pipelines and ring files. Included once per test program. */
#ifndef GST_TEST_COMMON_H
#define GST_TEST_COMMON_H

#include <gst/check/gstcheck.h>
#include <gst/audio/audio.h>
#include <gst/check/gstharness.h>

/* Any file of the ring NAME (its segment, its lock) still there. */
static gboolean
ring_exists (const gchar * name)
{
  gchar *shm = g_strdup_printf ("/dev/shm/%s", name);
  gchar *lock = g_strdup_printf ("/tmp/zerobuffer/%s.lock", name);
  gboolean exists = g_file_test (shm, G_FILE_TEST_EXISTS) ||
      g_file_test (lock, G_FILE_TEST_EXISTS);

  g_free (shm);
  g_free (lock);
  return exists;
}

/* A GstCheckLogFilterFunc: counts the messages its filter matched (in the
 * gint COUNTER), and discards them. */
static gboolean
count_warning (const gchar * domain, GLogLevelFlags level,
    const gchar * message, gpointer counter)
{
  g_atomic_int_inc ((gint *) counter);
  return TRUE;
}

static GstElement *
launch (const gchar * description)
{
  GError *err = NULL;
  GstElement *pipeline = gst_parse_launch (description, &err);

  fail_unless (pipeline != NULL, "%s: %s", description,
      err ? err->message : "?");
  g_clear_error (&err);
  return pipeline;
}

static GstElement *
by_name (GstElement * pipeline, const gchar * name)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (pipeline), name);

  fail_unless (e != NULL, "no element %s", name);
  gst_object_unref (e);         /* the pipeline keeps it alive */
  return e;
}

static void
assert_no_error (GstElement * pipeline)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);

  if (msg != NULL) {
    GError *err = NULL;
    gchar *debug = NULL;

    gst_message_parse_error (msg, &err, &debug);
    fail ("unexpected ERROR: %s (%s)", err->message, debug);
  }
  gst_object_unref (bus);
}

/* Loads the plugin under test from ZB_GST_PLUGIN (set by meson), in
 * process, so that a sanitized build does not depend on the
 * uninstrumented plugin scanner. Exits when it cannot (no fail_unless:
 * the check framework runs only inside tests). */
static void
load_plugin (void)
{
  const gchar *plugin_file = g_getenv ("ZB_GST_PLUGIN");
  GError *err = NULL;
  GstPlugin *plugin;

  if (plugin_file == NULL) {
    g_printerr ("ZB_GST_PLUGIN is not set\n");
    exit (1);
  }
  plugin = gst_plugin_load_file (plugin_file, &err);
  if (plugin == NULL) {
    g_printerr ("cannot load %s: %s\n", plugin_file,
        err ? err->message : "?");
    exit (1);
  }
  gst_object_unref (plugin);
}

/* Upstream force-key-unit events (all-headers, numbered 1, 2, ...) seen
 * on the pad: DATA counts them. */
static GstPadProbeReturn
count_key_unit_requests (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  const GstStructure *s = gst_event_get_structure (event);
  gboolean all_headers = FALSE;
  guint count = 0;

  if (GST_EVENT_TYPE (event) != GST_EVENT_CUSTOM_UPSTREAM ||
      !gst_structure_has_name (s, "GstForceKeyUnit"))
    return GST_PAD_PROBE_OK;
  fail_unless (gst_structure_get_boolean (s, "all-headers", &all_headers) &&
      all_headers, "%" GST_PTR_FORMAT, s);
  fail_unless (gst_structure_get_uint (s, "count", &count));
  fail_unless_equals_int (count, g_atomic_int_add ((gint *) data, 1) + 1);
  return GST_PAD_PROBE_OK;
}

/* Waits up to a second for *REQUESTS to reach N, and checks that it does
 * not pass it. */
static void
wait_key_unit_requests (gint * requests, gint n)
{
  gint64 deadline = g_get_monotonic_time () + G_USEC_PER_SEC;

  while (g_atomic_int_get (requests) < n &&
      g_get_monotonic_time () < deadline)
    g_usleep (5000);
  fail_unless_equals_int (g_atomic_int_get (requests), n);
}

/* Set once, waited for with a timeout: how a test learns that a thread
 * got past a blocking call. */
typedef struct
{
  GMutex lock;
  GCond cond;
  gboolean done;
} Done;

static void
done_set (Done * d)
{
  g_mutex_lock (&d->lock);
  d->done = TRUE;
  g_cond_broadcast (&d->cond);
  g_mutex_unlock (&d->lock);
}

/* Whether D is set within 5 s. */
static gboolean
done_wait (Done * d)
{
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  gboolean done;

  g_mutex_lock (&d->lock);
  while (!d->done && g_cond_wait_until (&d->cond, &d->lock, end));
  done = d->done;
  g_mutex_unlock (&d->lock);
  return done;
}

/* A gate: the next time gate_thread passes it, it is held there until
 * gate_open is set, and gate_entered is set meanwhile (how a test holds a
 * thread at a given point inside an element). */
static GThread *gate_thread;
static Done gate_entered, gate_open;

static void
gate_pass (void)
{
  if (g_atomic_pointer_compare_and_exchange (&gate_thread, g_thread_self (),
          NULL)) {
    done_set (&gate_entered);
    done_wait (&gate_open);     /* the test checks the order, not this */
  }
}

/* A tracer whose hooks take gate_thread through the gate at its next
 * reference to gated_reffed, or its next unref of gated_unreffed. Once
 * created, it stays hooked for the rest of the test's process. */
typedef struct
{
  GstTracer parent;
} GatedTracer;

typedef struct
{
  GstTracerClass parent_class;
} GatedTracerClass;

static GstObject *gated_reffed, *gated_unreffed;

GType gated_tracer_get_type (void);
G_DEFINE_TYPE (GatedTracer, gated_tracer, GST_TYPE_TRACER);

static void
gated_tracer_object_reffed (GstTracer * tracer, GstClockTime ts,
    GstObject * object, gint refcount)
{
  if (object == g_atomic_pointer_get (&gated_reffed))
    gate_pass ();
}

static void
gated_tracer_object_unreffed (GstTracer * tracer, GstClockTime ts,
    GstObject * object, gint refcount)
{
  if (object == g_atomic_pointer_get (&gated_unreffed))
    gate_pass ();
}

static void
gated_tracer_class_init (GatedTracerClass * klass)
{
}

static void
gated_tracer_init (GatedTracer * tracer)
{
  gst_tracing_register_hook (GST_TRACER (tracer), "object-reffed",
      G_CALLBACK (gated_tracer_object_reffed));
  gst_tracing_register_hook (GST_TRACER (tracer), "object-unreffed",
      G_CALLBACK (gated_tracer_object_unreffed));
}

/* A buffer, or else an event, pushed into a harness from a thread of its
 * own. */
typedef struct
{
  GstHarness *h;
  GstBuffer *buffer;
  GstEvent *event;
  GstFlowReturn ret;            /* the buffer's */
  gboolean handled;             /* the event's */
  Done pushed;
} HarnessPush;

static gpointer
harness_push_run (gpointer data)
{
  HarnessPush *push = data;

  if (push->buffer != NULL)
    push->ret = gst_harness_push (push->h, push->buffer);
  else
    push->handled = gst_harness_push_event (push->h, push->event);
  done_set (&push->pushed);
  return NULL;
}

/* A pool buffer taken on upstream's streaming thread, holding its pad's
 * stream lock as a video decoder does (which never flushes the pool). */
typedef struct
{
  GstPad *srcpad;
  GstBufferPool *pool;
  GstFlowReturn ret;            /* of the acquire, once acquired is set */
  Done acquired;
} UpstreamAcquire;

static gpointer
upstream_acquire_run (gpointer data)
{
  UpstreamAcquire *u = data;
  GstBuffer *buffer = NULL;

  GST_PAD_STREAM_LOCK (u->srcpad);
  u->ret = gst_buffer_pool_acquire_buffer (u->pool, &buffer, NULL);
  gst_clear_buffer (&buffer);
  GST_PAD_STREAM_UNLOCK (u->srcpad);
  done_set (&u->acquired);
  return NULL;
}

/* Starts U's acquire from POOL on SRCPAD's streaming thread, and checks
 * that it is still waiting (for room) 200 ms later. */
static GThread *
upstream_acquire_start (UpstreamAcquire * u, GstPad * srcpad,
    GstBufferPool * pool)
{
  GThread *thread;

  memset (u, 0, sizeof *u);
  u->srcpad = srcpad;
  u->pool = pool;
  thread = g_thread_new ("upstream", upstream_acquire_run, u);
  g_usleep (200 * 1000);
  fail_if (u->acquired.done, "the acquire did not wait for room");
  return thread;
}

/* Planar S16 stereo audio of SAMPLES samples, the left plane FIRST on, the
 * right its negation, GAP bytes between the planes, as its audio meta
 * says. */
static GstBuffer *
planar_audio (GstAudioInfo * info, guint samples, gint16 first, gsize gap)
{
  gsize plane = samples * sizeof (gint16);
  gsize offsets[2] = { 0, plane + gap };
  GstBuffer *buffer = gst_buffer_new_and_alloc (2 * plane + gap);
  GstMapInfo map;
  guint i;

  fail_unless (gst_buffer_map (buffer, &map, GST_MAP_WRITE));
  memset (map.data, 0x77, map.size);
  for (i = 0; i < samples; i++) {
    ((gint16 *) map.data)[i] = first + i;
    ((gint16 *) (map.data + offsets[1]))[i] = -(first + i);
  }
  gst_buffer_unmap (buffer, &map);
  gst_buffer_add_audio_meta (buffer, info, samples, offsets);
  return buffer;
}

#endif

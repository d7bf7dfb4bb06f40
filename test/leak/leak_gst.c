/* leak_gst — zerosink and zerosrc under valgrind memcheck: in one process,
 * a reader pipeline and writer pipelines over one ring name, with
 * NULL→PLAYING→NULL cycles of both, writer restarts (zero-copy pool and copy
 * path in turn), the frame header on every other ring, a writer that finds
 * no reader, and a reader that goes away under a running writer (which
 * fails, or with on-reader-lost=wait on every other cycle writes into the
 * ring the reader creates again).
 *
 *   reader:   zerosrc buffer-name=X eos-on-writer-exit=false ! fakesink
 *   writer i: videotestsrc num-buffers=F ! video/x-raw,... ! zerosink buffer-name=X
 *
 *   leak_gst [READER_CYCLES [WRITERS_PER_CYCLE [FRAMES_PER_WRITER]]]
 *            (default 4 8 150: 4800 frames, ~110 state changes)
 *
 * The plugin is loaded from ZB_GST_PLUGIN. Exit status 0, or 1 with the
 * failing step on stderr; under valgrind, --error-exitcode turns definite
 * leaks and invalid accesses into a failure. Every wait is bounded (60 s,
 * generous for valgrind's slowdown). */
#include <gst/gst.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define WAIT_NS (60 * GST_SECOND)
#define CAPS "video/x-raw,format=RGB,width=64,height=48,framerate=30/1"

static void
die (const char *what, GstElement * pipeline)
{
  fprintf (stderr, "leak_gst: %s\n", what);
  if (pipeline != NULL)
    gst_element_set_state (pipeline, GST_STATE_NULL);
  exit (1);
}

static GstElement *
launch (const char *description)
{
  GError *err = NULL;
  GstElement *p = gst_parse_launch (description, &err);
  if (p == NULL) {
    fprintf (stderr, "leak_gst: %s: %s\n", description, err->message);
    exit (1);
  }
  return p;
}

/* Waits for EOS or ERROR on the pipeline's bus; returns the message type
 * (0 on timeout). The error text goes to *text when asked for. */
static GstMessageType
wait_end (GstElement * pipeline, gchar ** text)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *m = gst_bus_timed_pop_filtered (bus, WAIT_NS,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  GstMessageType t = 0;
  if (m != NULL) {
    t = GST_MESSAGE_TYPE (m);
    if (t == GST_MESSAGE_ERROR) {
      GError *err = NULL;
      gst_message_parse_error (m, &err, NULL);
      if (text != NULL)
        *text = g_strdup (err->message);
      else
        fprintf (stderr, "leak_gst: error: %s\n", err->message);
      g_error_free (err);
    }
    gst_message_unref (m);
  }
  gst_object_unref (bus);
  return t;
}

static void
set_state (GstElement * p, GstState s)
{
  if (gst_element_set_state (p, s) == GST_STATE_CHANGE_FAILURE)
    die ("state change failed", p);
  /* PAUSED must preroll (a writer); PLAYING and NULL are not waited for: a
   * reader prerolls only once a writer sends. */
  if (s == GST_STATE_PAUSED &&
      gst_element_get_state (p, NULL, NULL, WAIT_NS) != GST_STATE_CHANGE_SUCCESS)
    die ("state change did not complete", p);
}

static GstPadProbeReturn
count_buffer (GstPad * pad, GstPadProbeInfo * info, gpointer user)
{
  g_atomic_int_inc ((gint *) user);
  return GST_PAD_PROBE_OK;
}

/* Waits until the reader has seen n buffers (bounded). */
static gboolean
wait_count (gint * counter, gint n)
{
  for (int i = 0; i < 6000 && g_atomic_int_get (counter) < n; i++)
    g_usleep (10000);
  return g_atomic_int_get (counter) >= n;
}

static gboolean
ring_exists (const char *name)
{
  gchar *path = g_strdup_printf ("/dev/shm/%s", name);
  gboolean e = access (path, F_OK) == 0;
  g_free (path);
  return e;
}

int
main (int argc, char **argv)
{
  int cycles = argc > 1 ? atoi (argv[1]) : 4;
  int writers = argc > 2 ? atoi (argv[2]) : 8;
  int frames = argc > 3 ? atoi (argv[3]) : 150;
  const gchar *plugin_file;
  GstPlugin *plugin;
  GError *err = NULL;
  gchar name[64], *desc, *text = NULL;
  GstElement *reader, *writer, *sink;
  GstPad *pad;
  gint count;
  long total = 0;

  gst_init (&argc, &argv);
  plugin_file = g_getenv ("ZB_GST_PLUGIN");
  if (plugin_file == NULL)
    die ("ZB_GST_PLUGIN is not set", NULL);
  plugin = gst_plugin_load_file (plugin_file, &err);
  if (plugin == NULL) {
    fprintf (stderr, "leak_gst: cannot load %s: %s\n", plugin_file,
        err->message);
    return 1;
  }
  gst_object_unref (plugin);
  snprintf (name, sizeof name, "zbleak-gst-%d", (int) getpid ());

  /* A writer without a reader: fails at once with an error message. */
  desc = g_strdup_printf ("videotestsrc num-buffers=1 ! " CAPS
      " ! zerosink buffer-name=%s connect-timeout=0", name);
  writer = launch (desc);
  g_free (desc);
  gst_element_set_state (writer, GST_STATE_PLAYING);
  if (wait_end (writer, &text) != GST_MESSAGE_ERROR)
    die ("a writer without a reader did not fail", writer);
  g_free (text);
  text = NULL;
  gst_element_set_state (writer, GST_STATE_NULL);
  gst_object_unref (writer);

  for (int c = 0; c < cycles; c++) {
    int header = c % 2;
    count = 0;
    desc = g_strdup_printf ("zerosrc buffer-name=%s eos-on-writer-exit=false "
        "payload-size=65536 ! fakesink name=sink sync=false", name);
    reader = launch (desc);
    g_free (desc);
    sink = gst_bin_get_by_name (GST_BIN (reader), "sink");
    pad = gst_element_get_static_pad (sink, "sink");
    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_buffer, &count,
        NULL);
    gst_object_unref (pad);
    gst_object_unref (sink);
    set_state (reader, GST_STATE_PLAYING);
    for (int i = 0; i < 100 && !ring_exists (name); i++)
      g_usleep (10000);

    for (int w = 0; w < writers; w++) {
      desc = g_strdup_printf ("videotestsrc num-buffers=%d pattern=%d ! " CAPS
          " ! zerosink name=zsink sync=false buffer-name=%s zero-copy=%s frame-header=%s "
          "connect-timeout=5000", frames, w % 3, name,
          w % 2 ? "false" : "true", header ? "true" : "false");
      writer = launch (desc);
      g_free (desc);
      /* A state change on the way: PAUSED, then PLAYING. */
      set_state (writer, GST_STATE_PAUSED);
      set_state (writer, GST_STATE_PLAYING);
      if (wait_end (writer, NULL) != GST_MESSAGE_EOS)
        die ("a writer did not reach EOS", writer);
      set_state (writer, GST_STATE_NULL);
      gst_object_unref (writer);
      total += frames;
      if (!wait_count (&count, (w + 1) * frames))
        die ("the reader did not get every frame", reader);
    }
    if (g_atomic_int_get (&count) != writers * frames) {
      fprintf (stderr, "leak_gst: cycle %d: %d frames, expected %d\n", c,
          g_atomic_int_get (&count), writers * frames);
      return 1;
    }

    /* The reader goes away under a running writer: the writer posts an
     * error (reader gone), both stop cleanly. With on-reader-lost=wait
     * (odd cycles) it drops frames until the reader creates the ring
     * again, and writes there. */
    desc = g_strdup_printf ("videotestsrc ! " CAPS
        " ! zerosink name=zsink sync=false buffer-name=%s frame-header=%s "
        "on-reader-lost=%s", name, header ? "true" : "false",
        header ? "wait" : "error");
    writer = launch (desc);
    g_free (desc);
    set_state (writer, GST_STATE_PLAYING);
    if (!wait_count (&count, writers * frames + 5))
      die ("the last writer did not start", writer);
    set_state (reader, GST_STATE_NULL);
    if (header) {
      GstBus *bus = gst_element_get_bus (writer);
      GstMessage *m;
      gint before;

      g_usleep (200000);
      m = gst_bus_pop_filtered (bus, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
      gst_object_unref (bus);
      if (m != NULL)
        die ("a writer with on-reader-lost=wait stopped", writer);
      before = g_atomic_int_get (&count);
      set_state (reader, GST_STATE_PLAYING);
      if (!wait_count (&count, before + 5))
        die ("the writer did not write into the ring created again", writer);
      set_state (reader, GST_STATE_NULL);
    } else if (wait_end (writer, &text) != GST_MESSAGE_ERROR) {
      die ("the writer did not notice the reader leaving", writer);
    }
    g_free (text);
    text = NULL;
    set_state (writer, GST_STATE_NULL);
    gst_object_unref (writer);
    gst_object_unref (reader);
    if (ring_exists (name))
      die ("the ring is still in /dev/shm after the reader stopped", NULL);
  }
  printf ("leak_gst: %d reader cycles, %d writers each, %ld frames\n",
      cycles, writers, total);
  gst_deinit ();
  return 0;
}

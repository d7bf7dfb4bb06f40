/* gstzerobuffer.c — the "zerobuffer" plugin: zerosink and zerosrc move video
 * frames between processes through a ZeroBuffer v1.0 shared-memory ring. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstzerobufferelements.h"

#ifndef PACKAGE
#define PACKAGE "zerobuffer"
#endif
#ifndef ZEROBUFFER_VERSION
#define ZEROBUFFER_VERSION "0.1.0"
#endif

GST_DEBUG_CATEGORY (gst_zerobuffer_debug);

void
zerobuffer_element_init (GstPlugin * plugin)
{
  static gsize done = 0;

  if (g_once_init_enter (&done)) {
    GST_DEBUG_CATEGORY_INIT (gst_zerobuffer_debug, "zerobuffer", 0,
        "ZeroBuffer shared-memory ring elements (zerosink, zerosrc)");
    g_once_init_leave (&done, 1);
  }
}

void
zerobuffer_json_append_string (GString * out, const gchar * s)
{
  const guchar *p;

  g_string_append_c (out, '"');
  for (p = (const guchar *) s; *p != '\0'; p++) {
    switch (*p) {
      case '"':
        g_string_append (out, "\\\"");
        break;
      case '\\':
        g_string_append (out, "\\\\");
        break;
      case '\n':
        g_string_append (out, "\\n");
        break;
      case '\r':
        g_string_append (out, "\\r");
        break;
      case '\t':
        g_string_append (out, "\\t");
        break;
      case '\b':
        g_string_append (out, "\\b");
        break;
      case '\f':
        g_string_append (out, "\\f");
        break;
      default:
        if (*p < 0x20)
          g_string_append_printf (out, "\\u%04x", *p);
        else
          g_string_append_c (out, (gchar) * p);     /* UTF-8 passes through */
    }
  }
  g_string_append_c (out, '"');
}

static gboolean
plugin_init (GstPlugin * plugin)
{
  gboolean ret = FALSE;

  ret |= GST_ELEMENT_REGISTER (zerosink, plugin);
  ret |= GST_ELEMENT_REGISTER (zerosrc, plugin);
  return ret;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, zerobuffer,
    "Moves video frames between processes through ZeroBuffer v1.0 "
    "shared-memory rings", plugin_init, ZEROBUFFER_VERSION, "MIT",
    "zerobuffer", "Unknown package origin")

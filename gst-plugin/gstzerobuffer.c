/* gstzerobuffer.c — the "zerobuffer" plugin: zerosink and zerosrc move video
 * frames between processes through a ZeroBuffer v1.0 shared-memory ring. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

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

/* ------------------------------------------------ metadata JSON reader */

static const gchar *
json_skip_ws (const gchar * p, const gchar * end)
{
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
    p++;
  return p;
}

static gint
json_hex4 (const gchar * p, const gchar * end)
{
  gint i, v = 0;

  if (end - p < 4)
    return -1;
  for (i = 0; i < 4; i++) {
    gint d = g_ascii_xdigit_value (p[i]);
    if (d < 0)
      return -1;
    v = v * 16 + d;
  }
  return v;
}

/* Reads the string literal at *pp (which points at its opening quote) into
 * out (when not NULL), unescaping it; *pp ends after the closing quote. */
static gboolean
json_read_string (const gchar ** pp, const gchar * end, GString * out)
{
  const gchar *p = *pp;

  if (p >= end || *p != '"')
    return FALSE;
  for (p++; p < end; p++) {
    gunichar c;
    gint v, lo;

    if (*p == '"') {
      *pp = p + 1;
      return TRUE;
    }
    if ((guchar) * p < 0x20)
      return FALSE;
    if (*p != '\\') {
      if (out != NULL)
        g_string_append_c (out, *p);
      continue;
    }
    if (++p >= end)
      return FALSE;
    switch (*p) {
      case '"':
      case '\\':
      case '/':
        c = (gunichar) * p;
        break;
      case 'b':
        c = '\b';
        break;
      case 'f':
        c = '\f';
        break;
      case 'n':
        c = '\n';
        break;
      case 'r':
        c = '\r';
        break;
      case 't':
        c = '\t';
        break;
      case 'u':
        if ((v = json_hex4 (p + 1, end)) < 0)
          return FALSE;
        p += 4;
        if (v >= 0xD800 && v <= 0xDBFF) {       /* surrogate pair */
          if (end - p < 7 || p[1] != '\\' || p[2] != 'u' ||
              (lo = json_hex4 (p + 3, end)) < 0xDC00 || lo > 0xDFFF)
            return FALSE;
          p += 6;
          v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
        } else if (v >= 0xDC00 && v <= 0xDFFF) {
          return FALSE;
        }
        c = (gunichar) v;
        break;
      default:
        return FALSE;
    }
    if (out != NULL)
      g_string_append_unichar (out, c);
  }
  return FALSE;
}

/* Skips one JSON value (string, number, literal, object or array). */
static gboolean
json_skip_value (const gchar ** pp, const gchar * end, guint depth)
{
  const gchar *p = json_skip_ws (*pp, end);

  if (p >= end || depth > 64)
    return FALSE;
  if (*p == '"') {
    if (!json_read_string (&p, end, NULL))
      return FALSE;
  } else if (*p == '{' || *p == '[') {
    gchar close = *p == '{' ? '}' : ']';

    p = json_skip_ws (p + 1, end);
    if (p < end && *p == close) {
      p++;
    } else {
      for (;;) {
        if (close == '}') {
          p = json_skip_ws (p, end);
          if (!json_read_string (&p, end, NULL))
            return FALSE;
          p = json_skip_ws (p, end);
          if (p >= end || *p++ != ':')
            return FALSE;
        }
        if (!json_skip_value (&p, end, depth + 1))
          return FALSE;
        p = json_skip_ws (p, end);
        if (p < end && *p == ',') {
          p++;
          continue;
        }
        if (p < end && *p == close) {
          p++;
          break;
        }
        return FALSE;
      }
    }
  } else {                      /* number, true, false, null */
    const gchar *start = p;

    while (p < end && (g_ascii_isalnum (*p) || *p == '-' || *p == '+' ||
            *p == '.'))
      p++;
    if (p == start)
      return FALSE;
  }
  *pp = p;
  return TRUE;
}

/* Points at the value of KEY in the JSON object at P (its '{', after
 * optional white space); NULL when absent or malformed. */
static const gchar *
json_object_find (const gchar * p, const gchar * end, const gchar * key)
{
  GString *name = g_string_new (NULL);
  const gchar *found = NULL;

  p = json_skip_ws (p, end);
  if (p >= end || *p != '{')
    goto out;
  p = json_skip_ws (p + 1, end);
  if (p < end && *p == '}')
    goto out;
  for (;;) {
    g_string_truncate (name, 0);
    p = json_skip_ws (p, end);
    if (!json_read_string (&p, end, name))
      goto out;
    p = json_skip_ws (p, end);
    if (p >= end || *p++ != ':')
      goto out;
    p = json_skip_ws (p, end);
    if (strcmp (name->str, key) == 0) {
      found = p;
      goto out;
    }
    if (!json_skip_value (&p, end, 0))
      goto out;
    p = json_skip_ws (p, end);
    if (p < end && *p == ',') {
      p++;
      continue;
    }
    goto out;                   /* '}' or garbage: the key is not there */
  }
out:
  g_string_free (name, TRUE);
  return found;
}

gchar *
zerobuffer_json_get_string (const guint8 * data, gsize size, const gchar * key)
{
  const gchar *p = (const gchar *) data, *end = p + size;
  GString *value;

  p = memchr (p, '{', size);
  if (p == NULL || (p = json_object_find (p, end, key)) == NULL ||
      *p != '"')
    return NULL;
  value = g_string_new (NULL);
  if (!json_read_string (&p, end, value)) {
    g_string_free (value, TRUE);
    return NULL;
  }
  return g_string_free (value, FALSE);
}

gint64
zerobuffer_json_get_frame_header (const guint8 * data, gsize size)
{
  const gchar *p = (const gchar *) data, *end = p + size;
  gint64 v = 0;

  p = memchr (p, '{', size);
  if (p == NULL || (p = json_object_find (p, end, "zerobuffer")) == NULL ||
      (p = json_object_find (p, end, "frame_header")) == NULL)
    return 0;
  if (p >= end || !g_ascii_isdigit (*p))
    return -1;
  for (; p < end && g_ascii_isdigit (*p); p++) {
    v = v * 10 + (*p - '0');
    if (v > G_MAXINT32)
      return -1;
  }
  if (p < end && (*p == '.' || *p == 'e' || *p == 'E'))
    return -1;
  return v;
}

gboolean
zerobuffer_json_is_object (const guint8 * data, gsize size)
{
  const gchar *p = (const gchar *) data, *end = p + size;

  p = memchr (p, '{', size);
  return p != NULL && json_skip_value (&p, end, 0);
}

static gboolean
plugin_init (GstPlugin * plugin)
{
  gboolean ret = FALSE;

  ret |= GST_ELEMENT_REGISTER (zerosink, plugin);
  ret |= GST_ELEMENT_REGISTER (zerosrc, plugin);
  return ret;
}

/* Declares the oldest GStreamer it runs on (meson's gst_min_minor), not the
 * headers' version: GStreamer refuses a plugin built for a newer minor. */
GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, ZB_GST_MIN_MINOR, zerobuffer,
    "Moves video frames between processes through ZeroBuffer v1.0 "
    "shared-memory rings", plugin_init, ZEROBUFFER_VERSION, "MIT",
    "zerobuffer", "Unknown package origin")

/* gstzerobuffer.c — the "zerobuffer" plugin: zerosink and zerosrc move video
 * frames between processes through a ZeroBuffer v1.0 shared-memory ring,
 * zerofilter sends them to a server process over a duplex channel. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <json-glib/json-glib.h>
#include <gst/audio/audio.h>
#include <gst/video/video.h>

#include "gstzerobufferelements.h"
#include "zerobuffer.h"

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
        "ZeroBuffer shared-memory ring elements (zerosink, zerosrc, "
        "zerofilter): what they share, zerosink's buffer pool, the ring "
        "memory they lend");
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

/* ------------------------------------------------ classified errors */

typedef struct
{
  int code;
  gboolean permanent;
  GQuark (*domain) (void);
  gint gst_code;
} ZerobufferErrorKind;

/* The one table of error kinds. Permanent: the ring or the pipeline is
 * wrong and stays wrong (a frame that can never fit, no ring after
 * connect-timeout, caps or metadata that differ from the ring's, a bad name,
 * permission denied, misuse, a buffer that is not a frame of its caps). Transient: the other side or the system may
 * change (the reader went away, the ring stayed full, the writer died, the
 * ring is busy, resources ran out). A code not listed is transient. */
static const ZerobufferErrorKind error_kinds[] = {
  {ZB_EMSGSIZE, TRUE, gst_resource_error_quark, GST_RESOURCE_ERROR_SETTINGS},
  {ZB_ENOENT, TRUE, gst_resource_error_quark, GST_RESOURCE_ERROR_NOT_FOUND},
  {ZB_EMETADATA, TRUE, gst_core_error_quark, GST_CORE_ERROR_NEGOTIATION},
  {ZB_ENAME, TRUE, gst_resource_error_quark, GST_RESOURCE_ERROR_SETTINGS},
  {ZB_EACCES, TRUE, gst_resource_error_quark,
      GST_RESOURCE_ERROR_NOT_AUTHORIZED},
  {ZB_EPERM, TRUE, gst_resource_error_quark,
      GST_RESOURCE_ERROR_NOT_AUTHORIZED},
  {ZB_EINVAL, TRUE, gst_resource_error_quark, GST_RESOURCE_ERROR_SETTINGS},
  {ZB_ESIZE, TRUE, gst_resource_error_quark, GST_RESOURCE_ERROR_SETTINGS},
  {ZB_EPROTO, TRUE, gst_stream_error_quark, GST_STREAM_ERROR_DECODE},
  {ZEROBUFFER_EFRAMESIZE, TRUE, gst_stream_error_quark,
      GST_STREAM_ERROR_FORMAT},
  {ZB_ESTATE, TRUE, gst_core_error_quark, GST_CORE_ERROR_FAILED},
  {ZB_EREADERGONE, FALSE, gst_resource_error_quark, GST_RESOURCE_ERROR_WRITE},
  {ZB_EWRITERDEAD, FALSE, gst_resource_error_quark, GST_RESOURCE_ERROR_READ},
  {ZB_ESEQUENCE, FALSE, gst_resource_error_quark, GST_RESOURCE_ERROR_READ},
  {ZB_ETIMEDOUT, FALSE, gst_resource_error_quark, GST_RESOURCE_ERROR_BUSY},
  {ZB_EAGAIN, FALSE, gst_resource_error_quark, GST_RESOURCE_ERROR_BUSY},
  {ZB_EBUSY, FALSE, gst_resource_error_quark, GST_RESOURCE_ERROR_BUSY},
  {ZB_EEXIST, FALSE, gst_resource_error_quark, GST_RESOURCE_ERROR_BUSY},
  {ZB_ENOMEM, FALSE, gst_resource_error_quark,
      GST_RESOURCE_ERROR_NO_SPACE_LEFT},
  {ZB_ENOSPC, FALSE, gst_resource_error_quark,
      GST_RESOURCE_ERROR_NO_SPACE_LEFT},
  {ZB_EMFILE, FALSE, gst_resource_error_quark,
      GST_RESOURCE_ERROR_NO_SPACE_LEFT},
  {ZB_ENFILE, FALSE, gst_resource_error_quark,
      GST_RESOURCE_ERROR_NO_SPACE_LEFT},
};

static const ZerobufferErrorKind *
zerobuffer_error_kind (int code)
{
  static const ZerobufferErrorKind other = { 0, FALSE,
    gst_resource_error_quark, GST_RESOURCE_ERROR_FAILED
  };
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (error_kinds); i++)
    if (error_kinds[i].code == code)
      return &error_kinds[i];
  return &other;
}

GParamSpec *
zerobuffer_param_spec_mode (const gchar * what)
{
  gchar *blurb = g_strdup_printf ("Permission bits of %s: its shared "
      "memory, semaphores and lock file get them whatever the umask (octal "
      "on the command line, with the leading 0: mode=0660 lets the file "
      "group's users in, 0666 everyone, e.g. a peer running as another "
      "user; without the 0 it is decimal: 660 is out of range, 440 is "
      "0670); default 0600, this user only; the owner must keep read and "
      "write (0600 in it), another mode is refused (EINVAL)", what);
  GParamSpec *spec = g_param_spec_uint ("mode", "Mode", blurb, 1, 0777,
      ZEROBUFFER_DEFAULT_MODE, G_PARAM_READWRITE | G_PARAM_STATIC_NAME |
      G_PARAM_STATIC_NICK | GST_PARAM_MUTABLE_READY);

  g_free (blurb);
  return spec;
}

/* Bits as chmod's users write them: each class read, read and write,
 * read and execute, or all, or nothing (never write or execute without
 * read), and the group no more than the owner, others no more than the
 * group. */
static gboolean
mode_is_usual (guint mode)
{
  guint owner = (mode >> 6) & 7, group = (mode >> 3) & 7, other = mode & 7;
  guint classes[] = { owner, group, other };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (classes); i++)
    if (classes[i] != 0 && !(classes[i] & 4))
      return FALSE;
  return (group & ~owner) == 0 && (other & ~group) == 0;
}

void
zerobuffer_check_mode (GstElement * element, guint mode)
{
  gchar digits[16], bits[10];
  const gchar *p;
  guint i;

  g_snprintf (digits, sizeof digits, "%u", mode);
  if (strlen (digits) != 3 || mode_is_usual (mode))
    return;
  for (p = digits; *p != '\0'; p++)
    if (*p > '7')
      return;
  for (i = 0; i < 9; i++)
    bits[i] = mode & (0400 >> i) ? "rwx"[i % 3] : '-';
  bits[9] = '\0';
  g_warning ("The \"mode\" property of %s is %s, which is 0%o in octal "
      "(%s): permission bits are octal, and a number without a leading 0 "
      "is decimal; for 0%s write mode=0%s. 0%o is used as given",
      GST_OBJECT_NAME (element), digits, mode, bits, digits, digits, mode);
}

GType
zerobuffer_enum_type (const gchar * name, const GEnumValue * values,
    GType * type)
{
  if (g_once_init_enter (type)) {
    GType t = g_enum_register_static (name, values);
    g_once_init_leave (type, t);
  }
  return *type;
}

gboolean
zerobuffer_property_settable (GstElement * element, GParamSpec * pspec)
{
  GstState state, next;

  if (!(pspec->flags & GST_PARAM_MUTABLE_READY))
    return TRUE;
  state = GST_STATE (element);
  next = GST_STATE_NEXT (element);      /* VOID_PENDING: none */
  if (MAX (state, next) <= GST_STATE_READY)
    return TRUE;
  g_warning ("Changing the \"%s\" property of %s while %s is not supported: "
      "set it in the NULL or READY state; the value in use stays",
      pspec->name, GST_OBJECT_NAME (element),
      gst_element_state_get_name (MAX (state, next)));
  return FALSE;
}

gboolean
zerobuffer_ring_name_usable (GstElement * element, const gchar * name)
{
  if (name == NULL || name[0] == '\0') {
    ZEROBUFFER_ELEMENT_ERROR (element, ZB_ENAME, NULL,
        ("No ring name given: set the buffer-name property"),
        ("buffer-name is required"));
    return FALSE;
  }
  if (zb_validate_name (name) < 0) {
    ZEROBUFFER_ELEMENT_ERROR (element, ZB_ENAME, name,
        ("Invalid ring name \"%s\"", name), ("%s", zb_last_error ()));
    return FALSE;
  }
  return TRUE;
}

gchar *
zerobuffer_stats_line (const GstStructure * stats)
{
  guint64 written = 0, bytes = 0, dropped = 0;

  gst_structure_get_uint64 (stats, "frames-written", &written);
  gst_structure_get_uint64 (stats, "bytes-written", &bytes);
  gst_structure_get_uint64 (stats, "frames-dropped", &dropped);
  return g_strdup_printf ("zerobuffer-stats frames-written=%" G_GUINT64_FORMAT
      " bytes-written=%" G_GUINT64_FORMAT " frames-dropped=%" G_GUINT64_FORMAT,
      written, bytes, dropped);
}

gchar *
zerobuffer_utf8_take_valid (gchar * text)
{
  gchar *valid;

  if (text == NULL || g_utf8_validate (text, -1, NULL))
    return text;
  valid = g_utf8_make_valid (text, -1);
  g_free (text);
  return valid;
}

void
zerobuffer_post_message (GstElement * element, GstMessageType type,
    int code, const gchar * ring, gchar * text, gchar * debug,
    const gchar * file, const gchar * function, gint line)
{
  const ZerobufferErrorKind *kind = zerobuffer_error_kind (code);
  const gchar *name = code == ZEROBUFFER_EFRAMESIZE ? "EFRAMESIZE" :
      zb_err_name (code);
  GString *full_debug;
  GstStructure *details, *stats = NULL;
  guint64 written;

  debug = zerobuffer_utf8_take_valid (debug);
  full_debug = g_string_new (debug);
  details = gst_structure_new (ZEROBUFFER_ERROR_DETAILS,
      "name", G_TYPE_STRING, name,
      "permanent", G_TYPE_BOOLEAN, kind->permanent, NULL);
  if (ring != NULL) {
    /* (a structure refuses a string that is not UTF-8) */
    gchar *valid = zerobuffer_utf8_take_valid (g_strdup (ring));

    gst_structure_set (details, "ring", G_TYPE_STRING, valid, NULL);
    g_free (valid);
  }
  /* A writer's count goes into its error itself: gst-launch prints an error
   * at once from the posting thread, but may quit before it prints an
   * earlier INFO message. */
  if (type == GST_MESSAGE_ERROR &&
      g_object_class_find_property (G_OBJECT_GET_CLASS (element), "stats"))
    g_object_get (element, "stats", &stats, NULL);
  if (stats != NULL && gst_structure_get_uint64 (stats, "frames-written",
          &written)) {
    gchar *stats_line = zerobuffer_stats_line (stats);

    gst_structure_set (details, "frames-written", G_TYPE_UINT64, written,
        NULL);
    g_string_append_printf (full_debug, "%s%s", full_debug->len ? "\n" : "",
        stats_line);
    g_free (stats_line);
  }
  if (stats != NULL)
    gst_structure_free (stats);
  g_string_append_printf (full_debug, "%s" ZEROBUFFER_ERROR_DETAILS "=%s (%s)",
      full_debug->len ? "\n" : "", name,
      kind->permanent ? "permanent" : "transient");
  g_free (debug);
  gst_element_message_full_with_details (element, type, kind->domain (),
      kind->gst_code, zerobuffer_utf8_take_valid (text),
      g_string_free (full_debug, FALSE), file, function,
      line, details);
}

/* ------------------------------------- peer data, read within bounds */

/* Deepest nesting of objects and arrays in JSON text, or G_MAXUINT when the
 * text has what could hide brackets from this count: JSON has neither
 * comments nor single-quoted strings, but json-glib accepts both. */
static guint
json_depth (const gchar * p, gsize len)
{
  guint depth = 0, deepest = 0;
  gboolean in_string = FALSE;
  gsize i;

  for (i = 0; i < len; i++) {
    gchar c = p[i];

    if (in_string) {
      if (c == '\\')
        i++;
      else if (c == '"')
        in_string = FALSE;
    } else if (c == '"') {
      in_string = TRUE;
    } else if (c == '{' || c == '[') {
      depth++;
      deepest = MAX (deepest, depth);
    } else if ((c == '}' || c == ']') && depth > 0) {
      depth--;
    } else if (c == '/' || c == '\'') {
      return G_MAXUINT;
    }
  }
  return deepest;
}

/* The metadata's JSON object, parsed by json-glib once it is known to be
 * within bounds (json-glib recurses once per level: a peer's 64 MiB of '['
 * would overflow the stack). Existing readers take the text from the first
 * '{' to the last '}'. DATA may be shared memory that its writer still
 * changes (the ring's metadata, a frame's attributes): the bounds are
 * checked on a private copy of that span, which json-glib then parses, so
 * that a byte flipped between the two cannot hide a deep nesting from the
 * check. NULL with the reason in *why (when not NULL). */
static JsonParser *
metadata_parse (const guint8 * data, gsize size, gchar ** why)
{
  const gchar *text = (const gchar *) data, *first, *last;
  g_autofree gchar *copy = NULL;
  JsonParser *parser;
  JsonNode *root;
  GError *err = NULL;
  gsize len;
  guint depth;

  first = memchr (text, '{', size);
  for (last = text + size; last > text && last[-1] != '}'; last--) {
  }
  if (first == NULL || last <= first) {
    if (why)
      *why = g_strdup ("it holds no JSON object");
    return NULL;
  }
  len = (gsize) (last - first);
  if (len > ZEROBUFFER_METADATA_MAX_LENGTH) {
    if (why)
      *why = g_strdup_printf ("its JSON object is %" G_GSIZE_FORMAT " bytes, "
          "over the %d this element reads", len,
          ZEROBUFFER_METADATA_MAX_LENGTH);
    return NULL;
  }
  copy = g_malloc (len);
  memcpy (copy, first, len);
  depth = json_depth (copy, len);
  if (depth == G_MAXUINT) {
    if (why)
      *why = g_strdup ("it has comments or single quotes outside strings, "
          "which JSON does not allow");
    return NULL;
  }
  if (depth > ZEROBUFFER_JSON_MAX_DEPTH) {
    if (why)
      *why = g_strdup_printf ("its JSON nests %u levels deep, over the %d "
          "this element reads", depth, ZEROBUFFER_JSON_MAX_DEPTH);
    return NULL;
  }
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, copy, (gssize) len, &err) ||
      (root = json_parser_get_root (parser)) == NULL ||
      !JSON_NODE_HOLDS_OBJECT (root)) {
    if (why)
      *why = g_strdup_printf ("it is not a JSON object (%s)",
          err ? err->message : "another JSON value");
    g_clear_error (&err);
    g_object_unref (parser);
    return NULL;
  }
  return parser;
}

static JsonObject *
metadata_root (JsonParser * parser)
{
  return json_node_get_object (json_parser_get_root (parser));
}

gboolean
zerobuffer_metadata_get_string (const guint8 * data, gsize size,
    const gchar * key, gchar ** value, gchar ** why)
{
  JsonParser *parser = metadata_parse (data, size, why);
  JsonNode *member;

  *value = NULL;
  if (parser == NULL)
    return FALSE;
  member = json_object_get_member (metadata_root (parser), key);
  if (member != NULL && JSON_NODE_HOLDS_VALUE (member) &&
      json_node_get_value_type (member) == G_TYPE_STRING)
    *value = g_strdup (json_node_get_string (member));
  g_object_unref (parser);
  return TRUE;
}

gchar *
zerobuffer_json_get_string (const guint8 * data, gsize size, const gchar * key)
{
  gchar *value;

  zerobuffer_metadata_get_string (data, size, key, &value, NULL);
  return value;
}

/* The unescaped content of the caps string literal at s (its opening quote)
 * as gst_value's parser reads it: \ooo is an octal byte, \X is X. Its end
 * (after the closing quote) in *end; NULL when unterminated. */
static gchar *
caps_unquote (const gchar * s, const gchar * limit, const gchar ** end)
{
  GString *out = g_string_new (NULL);

  for (s++; s < limit; s++) {
    if (*s == '"') {
      *end = s + 1;
      return g_string_free (out, FALSE);
    }
    if (*s == '\\' && s + 1 < limit) {
      s++;
      if (*s >= '0' && *s <= '3' && s + 2 < limit &&
          s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7') {
        g_string_append_c (out, (gchar) (((*s - '0') << 6) |
                ((s[1] - '0') << 3) | (s[2] - '0')));
        s += 2;
        continue;
      }
    }
    g_string_append_c (out, *s);
  }
  g_string_free (out, TRUE);
  return NULL;
}

/* Deepest nesting in caps text: lists, arrays, ranges and parentheses, and
 * quoted strings, which GStreamer parses again when a field is typed as a
 * structure or caps (each one a level deeper, their content counted too).
 * Stops counting once past limit. */
static guint
caps_depth (const gchar * s, gsize len, guint limit)
{
  const gchar *p, *end = s + len;
  guint depth = 0, deepest = 0;

  for (p = s; p < end && deepest <= limit; p++) {
    if (*p == '{' || *p == '[' || *p == '<' || *p == '(') {
      depth++;
      deepest = MAX (deepest, depth);
    } else if ((*p == '}' || *p == ']' || *p == '>' || *p == ')') &&
        depth > 0) {
      depth--;
    } else if (*p == '"') {
      const gchar *after;
      gchar *inner;

      if (depth + 1 > limit)
        return depth + 1;
      if ((inner = caps_unquote (p, end, &after)) == NULL)
        break;                  /* unterminated: GStreamer stops there too */
      deepest = MAX (deepest, depth + 1 + caps_depth (inner, strlen (inner),
              limit - depth - 1));
      g_free (inner);
      p = after - 1;
    }
  }
  return deepest;
}

GstCaps *
zerobuffer_caps_from_peer (const gchar * text, gchar ** why)
{
  gsize len = strlen (text);
  guint depth;
  GstCaps *caps;

  if (len > ZEROBUFFER_CAPS_MAX_LENGTH) {
    if (why)
      *why = g_strdup_printf ("the caps string is %" G_GSIZE_FORMAT " bytes, "
          "over the %d this element parses", len, ZEROBUFFER_CAPS_MAX_LENGTH);
    return NULL;
  }
  depth = caps_depth (text, len, ZEROBUFFER_CAPS_MAX_DEPTH);
  if (depth > ZEROBUFFER_CAPS_MAX_DEPTH) {
    if (why)
      *why = g_strdup_printf ("the caps string nests more than %d levels "
          "deep (lists, ranges, arrays, nested structures)",
          ZEROBUFFER_CAPS_MAX_DEPTH);
    return NULL;
  }
  caps = gst_caps_from_string (text);
  if (caps == NULL) {
    if (why)
      *why = g_strdup ("GStreamer cannot parse the caps string");
    return NULL;
  }
  /* GStreamer asserts that the caps of an accept-caps query or a caps
   * event are fixed */
  if (!gst_caps_is_fixed (caps)) {
    if (why)
      *why = g_strdup ("the caps are not fixed (ANY, EMPTY, or a range or a "
          "list of values): a writer declares the one format of its frames");
    gst_caps_unref (caps);
    return NULL;
  }
  return caps;
}

/* The fields of FIELDS that S lacks, ", "-separated, or NULL. */
static gchar *
missing_fields (const GstStructure * s, const gchar * const *fields)
{
  GString *missing = NULL;

  for (; *fields != NULL; fields++) {
    if (gst_structure_has_field (s, *fields))
      continue;
    if (missing == NULL)
      missing = g_string_new (*fields);
    else
      g_string_append_printf (missing, ", %s", *fields);
  }
  return missing != NULL ? g_string_free (missing, FALSE) : NULL;
}

/* gst_audio_info_from_caps, but for no channels or fewer, which it takes
 * with channel-mask=(bitmask)0 (GStreamer 1.22: 0 channels, frames of 0
 * bytes; fewer crashes) */
static gboolean
audio_info_from_caps (GstAudioInfo * audio, const GstCaps * caps)
{
  gint channels;

  if (gst_structure_get_int (gst_caps_get_structure (caps, 0), "channels",
          &channels) && channels < 1)
    return FALSE;
  return gst_audio_info_from_caps (audio, caps);
}

gchar *
zerobuffer_raw_caps_unusable (const GstCaps * caps)
{
  static const gchar *const video_fields[] = { "format", "width", "height",
    NULL
  };
  static const gchar *const audio_fields[] = { "format", "rate", "channels",
    "layout", NULL
  };
  const GstStructure *s;
  const gchar *const *fields;
  gboolean usable, unpositioned;
  gchar *missing, *shown, *why;
  gint channels;
  GstVideoInfo video;
  GstAudioInfo audio;

  /* raw caps also need what sizes a frame: without it downstream takes
   * them (fakesink) or fails confusingly (videoconvert's "integer
   * overflow"), and no frame size can be checked */
  if (gst_caps_is_empty (caps) || gst_caps_is_any (caps))
    return NULL;
  s = gst_caps_get_structure (caps, 0);
  if (gst_structure_has_name (s, "video/x-raw")) {
    usable = gst_video_info_from_caps (&video, caps);
    fields = video_fields;
  } else if (gst_structure_has_name (s, "audio/x-raw")) {
    usable = audio_info_from_caps (&audio, caps);
    fields = audio_fields;
  } else {
    return NULL;
  }
  if (usable)
    return NULL;
  missing = missing_fields (s, fields);
  /* gst_audio_info_from_caps positions only mono and stereo itself */
  unpositioned = missing == NULL && fields == audio_fields &&
      gst_structure_get_int (s, "channels", &channels) && channels > 2 &&
      !gst_structure_has_field (s, "channel-mask");
  if (unpositioned)
    missing = g_strdup ("channel-mask");
  shown = gst_caps_to_string (caps);
  if (missing == NULL && fields == audio_fields &&
      gst_structure_get_int (s, "channels", &channels) && channels < 1)
    why = g_strdup_printf ("the raw caps %s have channels=%d: raw audio has "
        "1 channel or more", shown, channels);
  else
    why = missing != NULL ? g_strdup_printf ("the raw caps %s lack %s, "
        "which GStreamer needs to describe their frames%s", shown, missing,
        unpositioned ? " (the positions of more than 2 channels; "
        "channel-mask=(bitmask)0 for none)" : "") :
        g_strdup_printf ("GStreamer cannot describe the frames of the raw "
        "caps %s (gst_%s_info_from_caps refuses them)", shown, fields ==
        video_fields ? "video" : "audio");
  g_free (missing);
  g_free (shown);
  return why;
}

GstCaps *
zerobuffer_stream_caps_from_peer (const gchar * text, gchar ** why)
{
  GstCaps *caps = zerobuffer_caps_from_peer (text, why);
  gchar *unusable;

  if (caps == NULL)
    return NULL;
  unusable = zerobuffer_raw_caps_unusable (caps);
  if (unusable == NULL)
    return caps;
  if (why)
    *why = unusable;
  else
    g_free (unusable);
  gst_caps_unref (caps);
  return NULL;
}

gchar *
zerobuffer_quote_peer_bytes (const guint8 * data, gsize size, gsize max_chars)
{
  GString *out = g_string_new (NULL);
  gsize i;

  for (i = 0; i < size && out->len < max_chars; i++) {
    guint8 c = data[i];

    if (c == '\\')
      g_string_append (out, "\\\\");
    else if (c == '\n')
      g_string_append (out, "\\n");
    else if (c == '\r')
      g_string_append (out, "\\r");
    else if (c == '\t')
      g_string_append (out, "\\t");
    else if (c >= 0x20 && c < 0x7f)
      g_string_append_c (out, (gchar) c);
    else
      g_string_append_printf (out, "\\x%02x", c);
  }
  if (i < size)
    g_string_append_printf (out, "... (%" G_GSIZE_FORMAT " bytes in all)",
        size);
  return g_string_free (out, FALSE);
}

GstClockTime
zerobuffer_plausible_duration (GstClockTime duration)
{
  return duration <= ZEROBUFFER_TS_LEAP ? duration : GST_CLOCK_TIME_NONE;
}

gsize
zerobuffer_frame_size (ZeroBufferFrameSize * sized, GstCaps * caps)
{
  GstCapsFeatures *features;

  if (caps == sized->caps)
    return sized->size;
  gst_caps_replace (&sized->caps, caps);
  sized->size = 0;
  sized->sample_frame = 0;
  if (caps == NULL || !gst_caps_is_fixed (caps) ||
      ((features = gst_caps_get_features (caps, 0)) != NULL &&
          !gst_caps_features_is_equal (features,
              GST_CAPS_FEATURES_MEMORY_SYSTEM_MEMORY)))
    return 0;
  if (gst_structure_has_name (gst_caps_get_structure (caps, 0),
          "video/x-raw") && gst_video_info_from_caps (&sized->info, caps) &&
      GST_VIDEO_INFO_VIEWS (&sized->info) == 1)
    sized->size = GST_VIDEO_INFO_SIZE (&sized->info);
  else if (gst_structure_has_name (gst_caps_get_structure (caps, 0),
          "audio/x-raw") && audio_info_from_caps (&sized->audio, caps))
    sized->sample_frame = GST_AUDIO_INFO_BPF (&sized->audio);
  return sized->size;
}

void
zerobuffer_frame_size_clear (ZeroBufferFrameSize * sized)
{
  gst_caps_replace (&sized->caps, NULL);
  sized->size = 0;
  sized->sample_frame = 0;
}

gboolean
zerobuffer_frame_size_fits (ZeroBufferFrameSize * sized, GstCaps * caps,
    gsize size, const gchar * whose, gchar ** expected, const gchar ** rule)
{
  gsize frame_size = zerobuffer_frame_size (sized, caps);

  if (frame_size != 0 && size != frame_size) {
    *expected = g_strdup_printf ("%s %dx%d frames%s have %" G_GSIZE_FORMAT
        " bytes", GST_VIDEO_INFO_NAME (&sized->info),
        GST_VIDEO_INFO_WIDTH (&sized->info),
        GST_VIDEO_INFO_HEIGHT (&sized->info), whose, frame_size);
    *rule = "a raw video frame is laid out as GStreamer lays it out by "
        "default (rows rounded up to 4 bytes, no padding)";
    return FALSE;
  }
  if (sized->sample_frame != 0 && size % sized->sample_frame != 0) {
    *expected = g_strdup_printf ("%s audio of %d channels%s comes in whole "
        "sample frames of %" G_GSIZE_FORMAT " bytes",
        GST_AUDIO_INFO_NAME (&sized->audio),
        GST_AUDIO_INFO_CHANNELS (&sized->audio), whose, sized->sample_frame);
    *rule = "a raw audio frame holds whole sample frames (channels times "
        "the sample's width); a planar one its planes one after the other, "
        "each as many samples long";
    return FALSE;
  }
  return TRUE;
}

guint64
zerobuffer_audio_bytes_per_second (const GstStructure * s)
{
  const gchar *format;
  gint rate, channels;

  if (!gst_structure_has_name (s, "audio/x-raw") ||
      (format = gst_structure_get_string (s, "format")) == NULL ||
      !gst_structure_get_int (s, "rate", &rate) || rate <= 0 ||
      !gst_structure_get_int (s, "channels", &channels) || channels <= 0)
    return 0;
  /* ENCODED and unknown formats are 0 wide */
  return (guint64) rate * channels *
      (GST_AUDIO_FORMAT_INFO_WIDTH (gst_audio_format_get_info
          (gst_audio_format_from_string (format))) / 8);
}

void
zerobuffer_add_planar_audio_meta (GstBuffer * buffer, GstCaps * caps)
{
  GstAudioInfo audio;

  if (caps != NULL && gst_caps_get_size (caps) > 0 &&
      gst_structure_has_name (gst_caps_get_structure (caps, 0), "audio/x-raw")
      && audio_info_from_caps (&audio, caps) &&
      GST_AUDIO_INFO_LAYOUT (&audio) == GST_AUDIO_LAYOUT_NON_INTERLEAVED &&
      GST_AUDIO_INFO_BPF (&audio) > 0 &&
      gst_buffer_get_audio_meta (buffer) == NULL)
    gst_buffer_add_audio_meta (buffer, &audio,
        gst_buffer_get_size (buffer) / GST_AUDIO_INFO_BPF (&audio), NULL);
}

static gboolean
plugin_init (GstPlugin * plugin)
{
  gboolean ret = FALSE;

  ret |= GST_ELEMENT_REGISTER (zerosink, plugin);
  ret |= GST_ELEMENT_REGISTER (zerosrc, plugin);
  ret |= GST_ELEMENT_REGISTER (zerofilter, plugin);
  return ret;
}

/* Declares the oldest GStreamer it runs on (meson's gst_min_minor), not the
 * headers' version: GStreamer refuses a plugin built for a newer minor. */
GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, ZB_GST_MIN_MINOR, zerobuffer,
    "Moves video frames between processes through ZeroBuffer v1.0 "
    "shared-memory rings", plugin_init, ZEROBUFFER_VERSION, "MIT/X11",
    "zerobuffer", "Unknown package origin")

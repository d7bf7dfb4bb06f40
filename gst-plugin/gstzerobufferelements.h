/* gstzerobufferelements.h — registration of the zerobuffer plugin's elements.
 *
 * Each element file defines its registration with GST_ELEMENT_REGISTER_DEFINE;
 * gstzerobuffer.c (plugin_init) registers them all. */
#ifndef GST_ZEROBUFFER_ELEMENTS_H
#define GST_ZEROBUFFER_ELEMENTS_H

#include <gst/gst.h>

G_BEGIN_DECLS

/* The "zerobuffer" debug category, shared by zerosink and zerosrc. */
GST_DEBUG_CATEGORY_EXTERN (gst_zerobuffer_debug);

/* Initialises what the elements share (the debug category); called by each
 * element's registration, so an element registered on its own works too. */
void zerobuffer_element_init (GstPlugin * plugin);

/* The buffer flags that travel in the per-frame header: GstBufferFlags
 * without the mini-object flags (locking, leak tracing) and TAG_MEMORY,
 * which describe this process's object, not the frame. */
#define ZEROBUFFER_CARRIED_FLAGS \
  ((guint32) ~((guint) GST_MINI_OBJECT_FLAG_LAST - 1) & \
      (guint32) ~GST_BUFFER_FLAG_TAG_MEMORY)

/* Appends S to OUT as a JSON string literal (quotes and escapes included). */
void zerobuffer_json_append_string (GString * out, const gchar * s);

/* Reading a ring's metadata JSON (DATA, SIZE bytes, not NUL-terminated;
 * the object starts at its first '{'). */

/* The string value of the top-level KEY, unescaped; NULL when absent, not a
 * string, or malformed. g_free() it. */
gchar *zerobuffer_json_get_string (const guint8 * data, gsize size,
    const gchar * key);

/* The version of the per-frame header that the metadata declares:
 * "zerobuffer": {"frame_header": N}; 0 when absent, -1 when not a
 * non-negative integer. */
gint64 zerobuffer_json_get_frame_header (const guint8 * data, gsize size);

/* Whether the metadata holds one well-formed JSON object. */
gboolean zerobuffer_json_is_object (const guint8 * data, gsize size);

GST_ELEMENT_REGISTER_DECLARE (zerosink);
GST_ELEMENT_REGISTER_DECLARE (zerosrc);

G_END_DECLS

#endif /* GST_ZEROBUFFER_ELEMENTS_H */

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

GST_ELEMENT_REGISTER_DECLARE (zerosink);
GST_ELEMENT_REGISTER_DECLARE (zerosrc);

G_END_DECLS

#endif /* GST_ZEROBUFFER_ELEMENTS_H */

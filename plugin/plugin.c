/* gst-zerocopy plugin: the entry point of plugin "zerocopy".
 *
 * Registers the two elements, zcsink (publishes a stream into a channel)
 * and zcsrc (receives it in another process).  Both have rank NONE: they
 * are plumbing that a user names in a pipeline, never picked by
 * autoplugging.  Each element file initialises its own debug category
 * ("zcsink", "zcsrc"); the allocator and buffer pool have theirs.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>

#include "gstzcsink.h"
#include "gstzcsrc.h"

#ifndef VERSION
#define VERSION "0.1.0"
#endif
#ifndef PACKAGE
#define PACKAGE "gst-zerocopy"
#endif
#ifndef GST_PACKAGE_NAME
#define GST_PACKAGE_NAME "gst-zerocopy"
#endif
#ifndef GST_PACKAGE_ORIGIN
#define GST_PACKAGE_ORIGIN "https://example.invalid/gst-zerocopy"
#endif

static gboolean
plugin_init (GstPlugin * plugin)
{
  gboolean ok = TRUE;

  ok &= gst_element_register (plugin, "zcsink", GST_RANK_NONE,
      GST_TYPE_ZC_SINK);
  ok &= gst_element_register (plugin, "zcsrc", GST_RANK_NONE, GST_TYPE_ZC_SRC);
  return ok;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, zerocopy,
    "Zero-copy shared-memory transport between processes", plugin_init,
    VERSION, "LGPL", GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)

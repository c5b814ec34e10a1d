/* gst-zerocopy plugin: zcsrc, the consumer element.
 *
 * A GstPushSrc that attaches to a channel by name, waits for its producer
 * (zcsink in another process, or any libzc producer), takes the caps the
 * producer announces and pushes every frame as a GstBuffer wrapping the
 * shared block, read-only, with no copy.
 */
#ifndef __GST_ZC_SRC_H__
#define __GST_ZC_SRC_H__

#include <gst/gst.h>
#include <gst/base/gstpushsrc.h>

G_BEGIN_DECLS

#define GST_TYPE_ZC_SRC (gst_zc_src_get_type ())
G_DECLARE_FINAL_TYPE (GstZcSrc, gst_zc_src, GST, ZC_SRC, GstPushSrc)

G_END_DECLS
#endif /* __GST_ZC_SRC_H__ */

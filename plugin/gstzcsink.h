/* gst-zerocopy plugin: zcsink, the producer element.
 *
 * A GstBaseSink that owns a libzc producer (a channel, by name or socket
 * path) and publishes every buffer it renders to the channel's consumers:
 * with no copy when the buffer's memory is a block of its own pool (which
 * it proposes upstream in the ALLOCATION query), else copied once into a
 * block.  Caps, sticky events (stream-start, segment, tags), EOS and
 * buffer metas travel with the frames (see gstzcwire.h).
 */
#ifndef __GST_ZC_SINK_H__
#define __GST_ZC_SINK_H__

#include <gst/gst.h>
#include <gst/base/gstbasesink.h>

G_BEGIN_DECLS

/**
 * GstZcPolicy:
 * @GST_ZC_POLICY_BLOCK: lossless; the sink waits for the slowest consumer
 * @GST_ZC_POLICY_DROP: writer first; a consumer that is behind misses frames
 *
 * What zcsink does about a consumer that has no room for another frame.
 * Values equal libzc's zc_policy_t.
 */
typedef enum
{
  GST_ZC_POLICY_BLOCK = 0,
  GST_ZC_POLICY_DROP = 1,
} GstZcPolicy;

/**
 * GstZcPermissions:
 * @GST_ZC_PERMISSIONS_GROUP: processes of the sink's group may attach
 * @GST_ZC_PERMISSIONS_OTHERS: any user may attach
 *
 * Who besides the sink's own user may consume the channel.  Values equal
 * libzc's ZC_PERMIT_* bits.
 */
typedef enum
{
  GST_ZC_PERMISSIONS_GROUP = (1 << 0),
  GST_ZC_PERMISSIONS_OTHERS = (1 << 1),
} GstZcPermissions;

#define GST_TYPE_ZC_POLICY (gst_zc_policy_get_type ())
GType gst_zc_policy_get_type (void);

#define GST_TYPE_ZC_PERMISSIONS (gst_zc_permissions_get_type ())
GType gst_zc_permissions_get_type (void);

#define GST_TYPE_ZC_SINK (gst_zc_sink_get_type ())
G_DECLARE_FINAL_TYPE (GstZcSink, gst_zc_sink, GST, ZC_SINK, GstBaseSink)

G_END_DECLS
#endif /* __GST_ZC_SINK_H__ */

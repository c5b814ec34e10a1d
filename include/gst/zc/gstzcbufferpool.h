/* gst-zerocopy: GstZcBufferPool, a GstBufferPool over a libzc producer's
 * block pool, so that upstream writes frames straight into shared memory.
 *
 * Config: caps, size, min and max buffers as any GstBufferPool; the block
 * size follows the config (a new pool generation when it grows).  Options
 * GST_BUFFER_POOL_OPTION_VIDEO_META and _VIDEO_ALIGNMENT are honoured for
 * raw video caps.  acquire waits for a free block; it returns
 * GST_FLOW_FLUSHING when the pool flushes and GST_FLOW_EOS with
 * GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT when none is free, as GstBufferPool
 * documents.  Published blocks belong to consumers: a buffer that comes
 * back gives its block back and is kept without one (its memory and
 * video meta stay); each acquire claims a free block into a kept buffer,
 * so no frame reuses a block a consumer may still read, and nothing is
 * allocated per frame.
 */
#ifndef __GST_ZC_BUFFER_POOL_H__
#define __GST_ZC_BUFFER_POOL_H__

#include <gst/gst.h>
#include <gst/zc/gstzcallocator.h>

G_BEGIN_DECLS

#define GST_TYPE_ZC_BUFFER_POOL (gst_zc_buffer_pool_get_type ())
G_DECLARE_FINAL_TYPE (GstZcBufferPool, gst_zc_buffer_pool, GST,
    ZC_BUFFER_POOL, GstBufferPool)

/**
 * gst_zc_buffer_pool_new:
 * @allocator: a producer GstZcAllocator (a reference is taken)
 *
 * Returns: (transfer full): a new pool.
 */
GstBufferPool *gst_zc_buffer_pool_new (GstZcAllocator * allocator);

G_END_DECLS
#endif /* __GST_ZC_BUFFER_POOL_H__ */

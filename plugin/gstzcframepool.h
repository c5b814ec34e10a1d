/* gst-zerocopy plugin: GstZcFramePool, the buffers zcsrc pushes, reused.
 * Private to the plugin. */
#ifndef __GST_ZC_FRAME_POOL_H__
#define __GST_ZC_FRAME_POOL_H__

#include <gst/gst.h>
#include <gst/zc/gstzcallocator.h>

G_BEGIN_DECLS

#define GST_TYPE_ZC_FRAME_POOL (gst_zc_frame_pool_get_type ())
G_DECLARE_FINAL_TYPE (GstZcFramePool, gst_zc_frame_pool, GST, ZC_FRAME_POOL,
    GstBufferPool);

/**
 * gst_zc_frame_pool_new:
 * @allocator: a consumer #GstZcAllocator
 *
 * An active pool of buffers over frames that @allocator's consumer
 * receives.  It holds a reference on @allocator, and each of its buffers
 * one on the pool: the consumer lives until the last buffer is gone.
 * gst_buffer_pool_set_active (FALSE) frees the buffers in the pool; those
 * still downstream are freed when they come back.
 *
 * Returns: (transfer full): the pool, or %NULL if it could not be
 * configured.
 */
GstBufferPool *gst_zc_frame_pool_new (GstZcAllocator * allocator);

/**
 * gst_zc_frame_pool_wrap:
 * @pool: a #GstZcFramePool
 * @frame: a frame zc_consumer_receive() gave
 *
 * A buffer whose one memory is @frame's block, READONLY, size
 * desc.size; no copy, no allocation once the pool is warm.  The buffer
 * takes over @frame: its last unref releases the block, or the memory's
 * last unref when someone else still holds the memory.  Timestamps,
 * flags and metas are the caller's to set; the buffer comes with none.
 *
 * Returns: (transfer full) (nullable): the buffer, or %NULL when @pool is
 * inactive; @frame is then still the caller's to release.
 */
GstBuffer *gst_zc_frame_pool_wrap (GstBufferPool * pool,
    const zc_frame_t * frame);

G_END_DECLS
#endif /* __GST_ZC_FRAME_POOL_H__ */

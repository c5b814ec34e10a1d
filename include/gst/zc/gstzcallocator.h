/* gst-zerocopy: GstZcAllocator, GstMemory backed by libzc pool blocks.
 *
 * One allocator per channel endpoint.  It owns the endpoint (a
 * zc_producer_t for zcsink and applications that publish, a zc_consumer_t
 * for zcsrc) and frees it when the allocator itself goes, which is after
 * the last memory it made: every GstMemory holds a reference on its
 * allocator (gst_memory_init), so a block is never released into an
 * endpoint that is already gone.
 *
 * A memory stands for this process's reference on one block.  Copies of a
 * buffer, sub-buffers (gst_memory_share) and tee branches share the memory
 * or its parent, so they hold that one reference together; the last unref
 * of the (parent) memory releases it: zc_producer_release() or
 * zc_consumer_release().  Consumer memory is mapped read-only and flagged
 * GST_MEMORY_FLAG_READONLY; gst_memory_copy() gives ordinary system memory.
 */
#ifndef __GST_ZC_ALLOCATOR_H__
#define __GST_ZC_ALLOCATOR_H__

#include <gst/gst.h>
#include <zc/zc.h>

G_BEGIN_DECLS

/** GST_ZC_MEMORY_TYPE: the mem_type of every GstZcAllocator memory. */
#define GST_ZC_MEMORY_TYPE "ZcMemory"

#define GST_TYPE_ZC_ALLOCATOR (gst_zc_allocator_get_type ())
G_DECLARE_FINAL_TYPE (GstZcAllocator, gst_zc_allocator, GST, ZC_ALLOCATOR,
    GstAllocator)

/**
 * gst_zc_allocator_new_producer:
 * @producer: (transfer full): a producer; freed with the allocator
 *
 * Returns: (transfer full): an allocator whose memories are writable
 * blocks of @producer's pool.
 */
GstAllocator *gst_zc_allocator_new_producer (zc_producer_t * producer);

/**
 * gst_zc_allocator_new_consumer:
 * @consumer: (transfer full): a consumer; freed with the allocator
 *
 * Returns: (transfer full): an allocator that wraps frames @consumer
 * receives (gst_zc_allocator_wrap_frame()).
 */
GstAllocator *gst_zc_allocator_new_consumer (zc_consumer_t * consumer);

/** gst_zc_allocator_get_producer: Returns: (transfer none) (nullable): the producer. */
zc_producer_t *gst_zc_allocator_get_producer (GstZcAllocator * allocator);
/** gst_zc_allocator_get_consumer: Returns: (transfer none) (nullable): the consumer. */
zc_consumer_t *gst_zc_allocator_get_consumer (GstZcAllocator * allocator);

/**
 * gst_zc_allocator_acquire:
 * @allocator: a producer allocator
 * @timeout_ns: < 0 wait forever, 0 try once, else how long
 * @error: (out) (optional): the libzc code on failure (-EAGAIN,
 *   -ETIMEDOUT, -ECANCELED when flushing, ZC_ETRIPPED, ...)
 *
 * Returns: (transfer full) (nullable): a writable memory over a free
 * block, size = the block's capacity.
 */
GstMemory *gst_zc_allocator_acquire (GstZcAllocator * allocator,
    gint64 timeout_ns, int *error);

/**
 * gst_zc_allocator_wrap_frame:
 * @allocator: a consumer allocator
 * @frame: a frame from ZC_EVENT_FRAME; its reference moves into the memory
 *
 * Returns: (transfer full): a read-only memory of frame->desc.size bytes.
 */
GstMemory *gst_zc_allocator_wrap_frame (GstZcAllocator * allocator,
    const zc_frame_t * frame);

/** gst_is_zc_memory: Returns: whether @mem (or its parent) is a ZcMemory. */
gboolean gst_is_zc_memory (GstMemory * mem);

/**
 * gst_zc_memory_get_frame:
 * @mem: a ZcMemory (a shared sub-memory gives its parent's frame)
 *
 * Returns: (transfer none): the frame behind @mem.  A producer fills
 * frame->desc (size, timestamps, meta) before gst_zc_memory_publish().
 */
zc_frame_t *gst_zc_memory_get_frame (GstMemory * mem);

/**
 * gst_zc_memory_publish:
 * @mem: a writable ZcMemory of a producer allocator, not published yet
 * @timeout_ns: block policy: longest wait for a slow consumer
 *
 * Publishes the block to every consumer with zero copies
 * (zc_producer_publish_keep()): this process keeps its reference, now
 * read-only, until @mem's last unref.
 *
 * Returns: consumers reached (>= 0) or a negative libzc code.
 */
int gst_zc_memory_publish (GstMemory * mem, gint64 timeout_ns);

G_END_DECLS
#endif /* __GST_ZC_ALLOCATOR_H__ */

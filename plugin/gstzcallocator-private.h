/* gst-zerocopy: what libgstzc shares with the plugin, not with apps. */
#ifndef __GST_ZC_ALLOCATOR_PRIVATE_H__
#define __GST_ZC_ALLOCATOR_PRIVATE_H__

#include <gst/zc/gstzcallocator.h>

G_BEGIN_DECLS

/* zc_producer_resize() under the allocator's publish lock, so that no
 * frame is being published while the generation changes.  Returns 0 or a
 * libzc code. */
int gst_zc_allocator_resize (GstZcAllocator * allocator, guint64 block_size,
    guint n_blocks);

/* The buffer pools keep one memory per buffer and point it at block after
 * block, instead of a memory per frame: zcsrc's (gstzcframepool.c) at
 * the frames it receives, GstZcBufferPool at the blocks it claims.
 *
 * gst_zc_allocator_new_frame_memory: a READONLY memory of size 0 that holds
 * no block yet, of either side.
 *
 * gst_zc_memory_set_frame: points an empty consumer memory at @frame
 * (received from the allocator's consumer), taking over its release:
 * size = desc.size, offset 0.
 *
 * gst_zc_memory_claim_block: claims a free block into an empty producer
 * memory (zc_producer_acquire, waiting up to @timeout_ns), which becomes
 * what gst_zc_allocator_acquire() returns: writable, size = capacity.
 * Returns 0 or zc_producer_acquire()'s code.
 *
 * gst_zc_memory_release_frame: gives back the block @mem holds now, as its
 * free would (consumer: zc_consumer_release; producer: release once
 * published, discard before) and leaves it empty, READONLY, size 0.  Only
 * for a memory nobody else holds: no other buffer, no sub-memory, no
 * mapping. */
/* gst_zc_buffer_peek_own_memory: @buffer's one memory if it is still the
 * one a pool gave it (no TAG_MEMORY), a parent memory of @allocator, and
 * held by @buffer alone; else NULL.  For a pool's buffer on its way back,
 * whose last reference is being dropped: nobody can take a new one. */
GstMemory *gst_zc_buffer_peek_own_memory (GstBuffer * buffer,
    GstZcAllocator * allocator);

/* gst_zc_buffer_queue_clear: unrefs every buffer a pool keeps in @queue;
 * a %NULL @queue is fine.  The base class deactivates a pool dropped while
 * active on its way out (1.22: in dispose), which stops it, and the order
 * of that against the pool's finalize is not the pool's to rely on: a
 * pool clears its queue on stop and in finalize, and NULLs it there. */
void gst_zc_buffer_queue_clear (GstAtomicQueue * queue);
GstMemory *gst_zc_allocator_new_frame_memory (GstZcAllocator * allocator);
void gst_zc_memory_set_frame (GstMemory * mem, const zc_frame_t * frame);
int gst_zc_memory_claim_block (GstMemory * mem, gint64 timeout_ns);
void gst_zc_memory_release_frame (GstMemory * mem);

G_END_DECLS
#endif /* __GST_ZC_ALLOCATOR_PRIVATE_H__ */

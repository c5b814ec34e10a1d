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

/* zcsrc's buffer pool (gstzcframepool.c) keeps one consumer memory per
 * buffer and points it at frame after frame, instead of a memory per
 * frame (gst_zc_allocator_wrap_frame()).
 *
 * gst_zc_allocator_new_frame_memory: a READONLY memory of size 0 that holds
 * no frame yet.
 *
 * gst_zc_memory_set_frame: points @mem, which holds no frame, at @frame
 * (received from the allocator's consumer), taking over its release:
 * size = desc.size, offset 0.
 *
 * gst_zc_memory_release_frame: releases the frame @mem holds now
 * (zc_consumer_release) and leaves it empty, size 0, for the next
 * gst_zc_memory_set_frame().  Only for a memory nobody else holds: no
 * other buffer, no sub-memory, no mapping. */
GstMemory *gst_zc_allocator_new_frame_memory (GstZcAllocator * allocator);
void gst_zc_memory_set_frame (GstMemory * mem, const zc_frame_t * frame);
void gst_zc_memory_release_frame (GstMemory * mem);

G_END_DECLS
#endif /* __GST_ZC_ALLOCATOR_PRIVATE_H__ */

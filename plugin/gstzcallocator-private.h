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

G_END_DECLS
#endif /* __GST_ZC_ALLOCATOR_PRIVATE_H__ */

/* gst-zerocopy plugin: GstZcFramePool, the buffers zcsrc pushes, reused.
 *
 * Every frame goes downstream as a GstBuffer over its block.  Made anew,
 * that is a GstBuffer and a GstMemory allocated and freed per frame, the
 * last allocations on the receive path, with their cache lines cold in
 * a paced stream.  Here each buffer owns one consumer memory for life:
 * gst_zc_frame_pool_wrap() points it at the next frame, and when the
 * buffer comes back (its last unref, in any thread: zc_consumer_release()
 * is thread-safe) reset_buffer releases the block and empties the memory.
 * The video meta stays too, for the next frame to fill again.
 *
 * A buffer whose memory someone else still holds (a gst_buffer_copy(), a
 * sub-memory, a memory taken into another buffer or ref'd on its own) is
 * not reused: it is tagged, the base class frees it, and the block goes
 * back at the memory's last unref, as it would without a pool.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/video/video.h>

#include "gstzcframepool.h"
#include "gstzcallocator-private.h"

GST_DEBUG_CATEGORY_STATIC (gst_zc_frame_pool_debug);
#define GST_CAT_DEFAULT gst_zc_frame_pool_debug

/* Buffers made when the pool starts.  A consumer that drops each frame
 * before the next one uses two of them; above one free buffer the base
 * class's free list needs no system call to hand one out (1.22 wakes its
 * GstPoll only on the first free buffer).  More are made as downstream
 * holds more. */
#define PREALLOCATED 4

struct _GstZcFramePool
{
  GstBufferPool parent;

  GstZcAllocator *allocator;
};

G_DEFINE_TYPE_WITH_CODE (GstZcFramePool, gst_zc_frame_pool,
    GST_TYPE_BUFFER_POOL,
    GST_DEBUG_CATEGORY_INIT (gst_zc_frame_pool_debug, "zcframepool", 0,
        "zcsrc's buffers over received frames"));

static GstFlowReturn
gst_zc_frame_pool_alloc_buffer (GstBufferPool * pool, GstBuffer ** buffer,
    G_GNUC_UNUSED GstBufferPoolAcquireParams * params)
{
  GstZcFramePool *self = GST_ZC_FRAME_POOL (pool);
  GstMemory *mem = gst_zc_allocator_new_frame_memory (self->allocator);

  if (mem == NULL)
    return GST_FLOW_ERROR;
  *buffer = gst_buffer_new ();
  gst_buffer_append_memory (*buffer, mem);
  /* The state the base class expects a buffer back in: memory untouched. */
  GST_BUFFER_FLAG_UNSET (*buffer, GST_BUFFER_FLAG_TAG_MEMORY);
  return GST_FLOW_OK;
}

static void
gst_zc_frame_pool_reset_buffer (GstBufferPool * pool, GstBuffer * buffer)
{
  GstZcFramePool *self = GST_ZC_FRAME_POOL (pool);
  GstMemory *mem = gst_zc_buffer_peek_own_memory (buffer, self->allocator);

  if (mem != NULL) {
    GstVideoMeta *vmeta = gst_buffer_get_video_meta (buffer);

    gst_zc_memory_release_frame (mem);
    /* Kept for the next frame, which fills it again or removes it
     * (gst_zc_buffer_add_metas()); the base class drops all other metas. */
    if (vmeta != NULL)
      GST_META_FLAG_SET (vmeta, GST_META_FLAG_POOLED);
  } else {
    GST_DEBUG_OBJECT (self, "buffer %p: memory held elsewhere, not reused",
        buffer);
    GST_BUFFER_FLAG_SET (buffer, GST_BUFFER_FLAG_TAG_MEMORY);
  }
  GST_BUFFER_POOL_CLASS (gst_zc_frame_pool_parent_class)->reset_buffer (pool,
      buffer);
}

GstBuffer *
gst_zc_frame_pool_wrap (GstBufferPool * pool, const zc_frame_t * frame)
{
  GstBufferPoolAcquireParams params = {
    .flags = GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT,
  };
  GstBuffer *buf = NULL;
  GstFlowReturn ret;

  g_return_val_if_fail (GST_IS_ZC_FRAME_POOL (pool), NULL);
  g_return_val_if_fail (frame != NULL, NULL);

  /* No maximum: never waits; only an inactive pool refuses. */
  ret = gst_buffer_pool_acquire_buffer (pool, &buf, &params);
  if (ret != GST_FLOW_OK) {
    GST_DEBUG_OBJECT (pool, "no buffer: %s", gst_flow_get_name (ret));
    return NULL;
  }
  gst_zc_memory_set_frame (gst_buffer_peek_memory (buf, 0), frame);
  return buf;
}

GstBufferPool *
gst_zc_frame_pool_new (GstZcAllocator * allocator)
{
  GstZcFramePool *self;
  GstStructure *config;
  GstBufferPool *pool;

  g_return_val_if_fail (GST_IS_ZC_ALLOCATOR (allocator), NULL);
  g_return_val_if_fail (gst_zc_allocator_get_consumer (allocator) != NULL,
      NULL);

  self = g_object_new (GST_TYPE_ZC_FRAME_POOL, NULL);
  gst_object_ref_sink (self);
  self->allocator = gst_object_ref (allocator);
  pool = GST_BUFFER_POOL_CAST (self);

  /* Size 0: what an empty memory has, so that the base class keeps the
   * buffers that come back with their memory released. */
  config = gst_buffer_pool_get_config (pool);
  gst_buffer_pool_config_set_params (config, NULL, 0, PREALLOCATED, 0);
  if (!gst_buffer_pool_set_config (pool, config)
      || !gst_buffer_pool_set_active (pool, TRUE)) {
    GST_ERROR_OBJECT (self, "could not start the pool");
    gst_object_unref (self);
    return NULL;
  }
  return pool;
}

static void
gst_zc_frame_pool_finalize (GObject * object)
{
  GstZcFramePool *self = GST_ZC_FRAME_POOL (object);

  gst_clear_object (&self->allocator);
  G_OBJECT_CLASS (gst_zc_frame_pool_parent_class)->finalize (object);
}

static void
gst_zc_frame_pool_class_init (GstZcFramePoolClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstBufferPoolClass *pool_class = GST_BUFFER_POOL_CLASS (klass);

  gobject_class->finalize = gst_zc_frame_pool_finalize;
  pool_class->alloc_buffer = gst_zc_frame_pool_alloc_buffer;
  pool_class->reset_buffer = gst_zc_frame_pool_reset_buffer;
}

static void
gst_zc_frame_pool_init (G_GNUC_UNUSED GstZcFramePool * self)
{
}

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
 * not reused: it is tagged and freed, and the block goes back at the
 * memory's last unref, as it would without a pool.
 *
 * Returned buffers wait in our own lock-free queue, not the base class's:
 * GstBufferPool (1.22) takes its GstPoll's mutex on every acquire and
 * release, and a system call each time its free list goes from empty to
 * one buffer and back, which is every frame when downstream holds all but
 * one (an encoder's lookahead, a queue's threshold).  There is no maximum,
 * so acquire never waits: an empty queue makes a new buffer.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/video/video.h>

#include "gstzcframepool.h"
#include "gstzcallocator-private.h"

GST_DEBUG_CATEGORY_STATIC (gst_zc_frame_pool_debug);
#define GST_CAT_DEFAULT gst_zc_frame_pool_debug

struct _GstZcFramePool
{
  GstBufferPool parent;

  GstZcAllocator *allocator;
  GstAtomicQueue *kept;         /* returned buffers, memory released */
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
  /* Memory untouched, as reset_buffer leaves a buffer it keeps. */
  GST_BUFFER_FLAG_UNSET (*buffer, GST_BUFFER_FLAG_TAG_MEMORY);
  return GST_FLOW_OK;
}

static gboolean
gst_zc_frame_pool_start (G_GNUC_UNUSED GstBufferPool * pool)
{
  /* Nothing made ahead: acquire makes what downstream turns out to hold. */
  return TRUE;
}

static gboolean
gst_zc_frame_pool_stop (GstBufferPool * pool)
{
  /* Free buffers hold no frame; those downstream are freed on return
   * (release_buffer keeps nothing while the pool is inactive). */
  gst_zc_buffer_queue_clear (GST_ZC_FRAME_POOL (pool)->kept);
  return TRUE;
}

static GstFlowReturn
gst_zc_frame_pool_acquire_buffer (GstBufferPool * pool, GstBuffer ** buffer,
    GstBufferPoolAcquireParams * params)
{
  GstZcFramePool *self = GST_ZC_FRAME_POOL (pool);

  if (GST_BUFFER_POOL_IS_FLUSHING (pool))
    return GST_FLOW_FLUSHING;
  *buffer = gst_atomic_queue_pop (self->kept);
  if (*buffer != NULL)
    return GST_FLOW_OK;
  return gst_zc_frame_pool_alloc_buffer (pool, buffer, params);
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

static void
gst_zc_frame_pool_release_buffer (GstBufferPool * pool, GstBuffer * buffer)
{
  GstZcFramePool *self = GST_ZC_FRAME_POOL (pool);

  /* An inactive pool keeps nothing: stop has emptied the queue for good. */
  if (!GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_TAG_MEMORY)
      && !GST_BUFFER_POOL_IS_FLUSHING (pool)) {
    gst_atomic_queue_push (self->kept, buffer);
    return;
  }
  /* buffer->pool is NULL again (gst_buffer_pool_release_buffer): this
   * unref frees it, and with it its reference on the memory. */
  GST_BUFFER_POOL_CLASS (gst_zc_frame_pool_parent_class)->free_buffer (pool,
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

  /* Never waits; only an inactive pool refuses. */
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

  /* The config is the base class's bookkeeping only: size 0 (an empty
   * memory's), no minimum, no maximum. */
  config = gst_buffer_pool_get_config (pool);
  gst_buffer_pool_config_set_params (config, NULL, 0, 0, 0);
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

  gst_zc_buffer_queue_clear (self->kept);
  g_clear_pointer (&self->kept, gst_atomic_queue_unref);
  gst_clear_object (&self->allocator);
  G_OBJECT_CLASS (gst_zc_frame_pool_parent_class)->finalize (object);
}

static void
gst_zc_frame_pool_class_init (GstZcFramePoolClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstBufferPoolClass *pool_class = GST_BUFFER_POOL_CLASS (klass);

  gobject_class->finalize = gst_zc_frame_pool_finalize;
  pool_class->start = gst_zc_frame_pool_start;
  pool_class->stop = gst_zc_frame_pool_stop;
  pool_class->acquire_buffer = gst_zc_frame_pool_acquire_buffer;
  pool_class->alloc_buffer = gst_zc_frame_pool_alloc_buffer;
  pool_class->reset_buffer = gst_zc_frame_pool_reset_buffer;
  pool_class->release_buffer = gst_zc_frame_pool_release_buffer;
}

static void
gst_zc_frame_pool_init (GstZcFramePool * self)
{
  self->kept = gst_atomic_queue_new (16);
}

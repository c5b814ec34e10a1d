/* gst-zerocopy: GstZcBufferPool, a GstBufferPool over a libzc producer's
 * block pool.
 *
 * Life: zcsink (or an application) creates the pool on its producer
 * allocator and hands it upstream in the ALLOCATION query.  set_config
 * reads caps, size, min and max; raw video with the VIDEO_META option gets
 * its strides and plane offsets from gst_video_info_align(); when the
 * blocks are too small or too few for the config, the producer starts a
 * new pool generation (zc_producer_resize) with blocks that fit.
 * set_active(TRUE) clears flushing; acquire claims a free block into a
 * buffer; the sink publishes it; the buffer's last unref comes back
 * through release_buffer, which gives the block back (to the consumers
 * that still read it, if published) and keeps the buffer.
 *
 * What is recycled is the buffer with its one memory and its video meta,
 * not the block: a kept buffer holds no block (its memory is empty, size
 * 0) and claims one when acquired again, so nothing is allocated per
 * frame.  A buffer whose memory is still held elsewhere when it comes
 * back (a copy, a sub-buffer), or was replaced, is freed instead, and the
 * memory's last unref returns the block.  The limit on buffers in flight
 * is the number of free blocks, so GstBufferPool's free-buffer queue, its
 * preallocation of min-buffers (start) and its max-buffers accounting are
 * all bypassed: acquire_buffer, reset_buffer, release_buffer, start and
 * stop are ours, with a queue of kept buffers.  The base class still
 * counts outstanding buffers, which is what keeps set_config from running
 * while buffers of the old config are alive; stop empties the queue, so
 * a new config never meets a buffer of the old one.
 *
 * Flushing: acquire waits for a block in slices of at most 100 ms and
 * looks at this pool's flushing state after each, so set_flushing and
 * deactivation end a wait within one slice.  (The producer's own flushing
 * flag is not used: it is the whole producer's, see flush_start below.)
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>

#include <gst/video/video.h>
#include <gst/zc/gstzcbufferpool.h>
#include "gstzcallocator-private.h"

GST_DEBUG_CATEGORY_STATIC (gst_zc_buffer_pool_debug);
#define GST_CAT_DEFAULT gst_zc_buffer_pool_debug

/* Longest single wait in acquire before the flushing state is looked at
 * again: only matters when someone else cleared the producer's flag. */
#define ACQUIRE_SLICE_NS (100 * GST_MSECOND)

/* Blocks beyond max-buffers: what consumers may still hold of published
 * frames while upstream has max-buffers in flight. */
#define CONSUMER_HEADROOM 4


struct _GstZcBufferPool
{
  GstBufferPool parent;

  GstZcAllocator *allocator;
  guint size;                   /* buffer size of the config */
  gboolean add_videometa;
  GstVideoInfo info;            /* aligned, when add_videometa */
  guint64 capacity;             /* block capacity last seen, 0 unknown */
  GstAtomicQueue *kept;         /* buffers back from use, holding no block */
};

G_DEFINE_TYPE_WITH_CODE (GstZcBufferPool, gst_zc_buffer_pool,
    GST_TYPE_BUFFER_POOL,
    GST_DEBUG_CATEGORY_INIT (gst_zc_buffer_pool_debug, "zcbufferpool", 0,
        "zero-copy shared memory buffer pool"));

static const gchar **
gst_zc_buffer_pool_get_options (GstBufferPool * pool)
{
  static const gchar *options[] = {
    GST_BUFFER_POOL_OPTION_VIDEO_META,
    GST_BUFFER_POOL_OPTION_VIDEO_ALIGNMENT,
    NULL
  };

  (void) pool;
  return options;
}

/* The capacity of the current blocks: producer stats do not carry it, so
 * a free block is claimed and given back.  0 when none is free. */
static guint64
probe_capacity (GstZcBufferPool * self)
{
  GstMemory *mem = gst_zc_allocator_acquire (self->allocator, 0, NULL);
  guint64 capacity;

  if (mem == NULL)
    return self->capacity;
  capacity = mem->maxsize;
  gst_memory_unref (mem);
  return capacity;
}

/* Grows the producer's blocks or their number to fit the config; never
 * shrinks (consumers may hold more than upstream asks for). */
static gboolean
fit_blocks (GstZcBufferPool * self, guint size, guint min, guint max)
{
  zc_channel_stats_t *stats = g_new0 (zc_channel_stats_t, 1);
  guint64 capacity = probe_capacity (self);
  guint n_blocks, want;
  gboolean ok = TRUE;
  int ret;

  zc_producer_get_stats (gst_zc_allocator_get_producer (self->allocator),
      stats);
  n_blocks = stats->pool.n_blocks;
  want = MAX (min, max);
  if (want > 0)
    want = MIN (want, G_MAXUINT - CONSUMER_HEADROOM) + CONSUMER_HEADROOM;

  if (size > capacity || want > n_blocks) {
    guint64 block_size = MAX ((guint64) size, capacity);
    guint blocks = MAX (want, n_blocks);

    GST_INFO_OBJECT (self, "new generation: %u blocks of %" G_GUINT64_FORMAT
        " bytes (had %u of %" G_GUINT64_FORMAT ")", blocks, block_size,
        n_blocks, capacity);
    ret = gst_zc_allocator_resize (self->allocator, block_size, blocks);
    if (ret < 0) {
      GST_WARNING_OBJECT (self, "cannot resize the pool to %u blocks of %"
          G_GUINT64_FORMAT " bytes: %s", blocks, block_size,
          zc_strerror (ret));
      ok = FALSE;
    } else {
      self->capacity = block_size;
      capacity = probe_capacity (self);
      if (capacity != 0)
        self->capacity = capacity;
    }
  } else {
    self->capacity = capacity;
  }
  g_free (stats);
  return ok;
}

static gboolean
gst_zc_buffer_pool_set_config (GstBufferPool * pool, GstStructure * config)
{
  GstZcBufferPool *self = GST_ZC_BUFFER_POOL (pool);
  GstCaps *caps;
  guint size, min, max;
  GstVideoInfo info;
  gboolean is_video;

  if (!gst_buffer_pool_config_get_params (config, &caps, &size, &min, &max))
    goto wrong_config;

  gst_video_info_init (&info);
  is_video = caps != NULL && gst_video_info_from_caps (&info, caps);
  self->add_videometa = is_video && gst_buffer_pool_config_has_option (config,
      GST_BUFFER_POOL_OPTION_VIDEO_META);

  if (self->add_videometa && gst_buffer_pool_config_has_option (config,
          GST_BUFFER_POOL_OPTION_VIDEO_ALIGNMENT)) {
    GstVideoAlignment align;

    gst_buffer_pool_config_get_video_alignment (config, &align);
    if (!gst_video_info_align (&info, &align))
      goto wrong_alignment;
    /* Tell the caller the padding actually applied. */
    gst_buffer_pool_config_set_video_alignment (config, &align);
  }
  if (is_video)
    size = MAX (size, (guint) info.size);
  if (size == 0)
    goto wrong_size;

  if (!fit_blocks (self, size, min, max))
    goto no_blocks;

  self->size = size;
  self->info = info;
  gst_buffer_pool_config_set_params (config, caps, size, min, max);
  gst_buffer_pool_config_set_allocator (config,
      GST_ALLOCATOR_CAST (self->allocator), NULL);
  GST_DEBUG_OBJECT (self, "size %u, min %u, max %u, video meta %d", size, min,
      max, self->add_videometa);
  return GST_BUFFER_POOL_CLASS (gst_zc_buffer_pool_parent_class)->set_config
      (pool, config);

wrong_config:
  GST_WARNING_OBJECT (self, "invalid config %" GST_PTR_FORMAT, config);
  return FALSE;
wrong_alignment:
  GST_WARNING_OBJECT (self, "cannot apply the video alignment to %"
      GST_PTR_FORMAT, caps);
  return FALSE;
wrong_size:
  GST_WARNING_OBJECT (self, "buffer size 0 and no raw video caps to get "
      "one from");
  return FALSE;
no_blocks:
  return FALSE;
}

static gboolean
gst_zc_buffer_pool_start (GstBufferPool * pool)
{
  /* No preallocation: a buffer claims its block when acquired. */
  (void) pool;
  return TRUE;
}

static gboolean
gst_zc_buffer_pool_stop (GstBufferPool * pool)
{
  /* Blocks of live buffers return on their unref; kept buffers hold none
   * and are of this config: they go. */
  gst_zc_buffer_queue_clear (GST_ZC_BUFFER_POOL (pool)->kept);
  return TRUE;
}

/* A buffer of this config holding no block yet: one empty memory and, for
 * video, the config's video meta, both for the buffer's life. */
static GstBuffer *
new_buffer (GstZcBufferPool * self)
{
  GstBuffer *buffer = gst_buffer_new ();

  gst_buffer_append_memory (buffer,
      gst_zc_allocator_new_frame_memory (self->allocator));
  if (self->add_videometa) {
    GstVideoInfo *info = &self->info;
    GstVideoMeta *meta;

    meta = gst_buffer_add_video_meta_full (buffer, GST_VIDEO_FRAME_FLAG_NONE,
        GST_VIDEO_INFO_FORMAT (info), GST_VIDEO_INFO_WIDTH (info),
        GST_VIDEO_INFO_HEIGHT (info), GST_VIDEO_INFO_N_PLANES (info),
        info->offset, info->stride);
    /* As GstBufferPool marks the metas of the buffers it allocates. */
    GST_META_FLAG_SET (meta, GST_META_FLAG_POOLED | GST_META_FLAG_LOCKED);
  }
  GST_BUFFER_FLAG_UNSET (buffer, GST_BUFFER_FLAG_TAG_MEMORY);
  return buffer;
}

static GstFlowReturn
gst_zc_buffer_pool_acquire_buffer (GstBufferPool * pool, GstBuffer ** buffer,
    GstBufferPoolAcquireParams * params)
{
  GstZcBufferPool *self = GST_ZC_BUFFER_POOL (pool);
  gboolean dontwait = params != NULL
      && (params->flags & GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT);
  GstBuffer *buf;
  GstMemory *mem;
  GstFlowReturn flow;
  int err;

  buf = gst_atomic_queue_pop (self->kept);
  if (buf == NULL)
    buf = new_buffer (self);
  mem = gst_buffer_peek_memory (buf, 0);

  for (;;) {
    if (GST_BUFFER_POOL_IS_FLUSHING (pool))
      goto flushing;
    err = gst_zc_memory_claim_block (mem, dontwait ? 0 : ACQUIRE_SLICE_NS);
    if (err == 0)
      break;
    if (err == -EAGAIN && dontwait)
      goto no_block;
    if (err == -ECANCELED)
      goto flushing;
    if (err != -ETIMEDOUT)
      goto error;
  }
  if (mem->maxsize < self->size) {
    /* A block of an older generation cannot appear (resize replaces the
     * pool), but a consumer's SCALE_REQUEST resize keeps the block size:
     * never hand out less than the config promised. */
    gst_zc_memory_release_frame (mem);
    goto error;
  }
  /* The block may be larger than the config asks (never smaller). */
  mem->size = self->size;
  *buffer = buf;
  return GST_FLOW_OK;

flushing:
  GST_DEBUG_OBJECT (self, "flushing");
  flow = GST_FLOW_FLUSHING;
  goto keep;
no_block:
  GST_LOG_OBJECT (self, "no free block");
  flow = GST_FLOW_EOS;
  goto keep;
error:
  GST_WARNING_OBJECT (self, "cannot acquire a block: %s", zc_strerror (err));
  flow = GST_FLOW_ERROR;
keep:
  gst_atomic_queue_push (self->kept, buf);
  return flow;
}

static GstFlowReturn
gst_zc_buffer_pool_alloc_buffer (GstBufferPool * pool, GstBuffer ** buffer,
    GstBufferPoolAcquireParams * params)
{
  /* Only reached through an explicit call of the vfunc: our start does
   * not preallocate and our acquire does not come here. */
  return gst_zc_buffer_pool_acquire_buffer (pool, buffer, params);
}

static gboolean
remove_unpooled_meta (G_GNUC_UNUSED GstBuffer * buffer, GstMeta ** meta,
    G_GNUC_UNUSED gpointer user_data)
{
  if (!GST_META_FLAG_IS_SET (*meta, GST_META_FLAG_POOLED)) {
    GST_META_FLAG_UNSET (*meta, GST_META_FLAG_LOCKED);
    *meta = NULL;
  }
  return TRUE;
}

/* The base class's reset, but its size check: a kept buffer is empty (size
 * 0), acquire gives it the config's size with its next block. */
static void
gst_zc_buffer_pool_reset_buffer (GstBufferPool * pool, GstBuffer * buffer)
{
  (void) pool;
  GST_BUFFER_FLAGS (buffer) &= GST_BUFFER_FLAG_TAG_MEMORY;
  GST_BUFFER_PTS (buffer) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_DTS (buffer) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_DURATION (buffer) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_OFFSET (buffer) = GST_BUFFER_OFFSET_NONE;
  GST_BUFFER_OFFSET_END (buffer) = GST_BUFFER_OFFSET_NONE;
  gst_buffer_foreach_meta (buffer, remove_unpooled_meta, NULL);
}

static void
gst_zc_buffer_pool_release_buffer (GstBufferPool * pool, GstBuffer * buffer)
{
  GstZcBufferPool *self = GST_ZC_BUFFER_POOL (pool);
  GstMemory *mem = gst_zc_buffer_peek_own_memory (buffer, self->allocator);

  /* A deactivated pool keeps nothing: stop has emptied the queue for
   * good. */
  if (mem != NULL && !GST_BUFFER_POOL_IS_FLUSHING (pool)) {
    gst_zc_memory_release_frame (mem);
    gst_atomic_queue_push (self->kept, buffer);
    return;
  }
  GST_DEBUG_OBJECT (self, "buffer %p not kept", buffer);
  /* buffer->pool is NULL again (gst_buffer_pool_release_buffer), so this
   * unref really frees it and, with it, its memory's reference. */
  GST_BUFFER_POOL_CLASS (gst_zc_buffer_pool_parent_class)->free_buffer (pool,
      buffer);
}

/* No flush_start/flush_stop: the producer's flushing flag belongs to the
 * whole producer (zcsink's unlock too), and GStreamer flushes a pool
 * whenever it deactivates it, e.g. the old pool of a renegotiation, while
 * the new one is already in use.  acquire_buffer() looks at this pool's
 * own flushing state between its 100 ms waits instead. */

static void
gst_zc_buffer_pool_dispose (GObject * object)
{
  GstZcBufferPool *self = GST_ZC_BUFFER_POOL (object);

  gst_zc_buffer_queue_clear (self->kept);
  gst_clear_object (&self->allocator);
  G_OBJECT_CLASS (gst_zc_buffer_pool_parent_class)->dispose (object);
}

static void
gst_zc_buffer_pool_finalize (GObject * object)
{
  GstZcBufferPool *self = GST_ZC_BUFFER_POOL (object);

  gst_zc_buffer_queue_clear (self->kept);
  g_clear_pointer (&self->kept, gst_atomic_queue_unref);
  G_OBJECT_CLASS (gst_zc_buffer_pool_parent_class)->finalize (object);
}

static void
gst_zc_buffer_pool_class_init (GstZcBufferPoolClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstBufferPoolClass *pool_class = GST_BUFFER_POOL_CLASS (klass);

  gobject_class->dispose = gst_zc_buffer_pool_dispose;
  gobject_class->finalize = gst_zc_buffer_pool_finalize;
  pool_class->get_options = gst_zc_buffer_pool_get_options;
  pool_class->set_config = gst_zc_buffer_pool_set_config;
  pool_class->start = gst_zc_buffer_pool_start;
  pool_class->stop = gst_zc_buffer_pool_stop;
  pool_class->acquire_buffer = gst_zc_buffer_pool_acquire_buffer;
  pool_class->alloc_buffer = gst_zc_buffer_pool_alloc_buffer;
  pool_class->reset_buffer = gst_zc_buffer_pool_reset_buffer;
  pool_class->release_buffer = gst_zc_buffer_pool_release_buffer;
}

static void
gst_zc_buffer_pool_init (GstZcBufferPool * self)
{
  gst_video_info_init (&self->info);
  self->kept = gst_atomic_queue_new (16);
}

GstBufferPool *
gst_zc_buffer_pool_new (GstZcAllocator * allocator)
{
  GstZcBufferPool *self;

  g_return_val_if_fail (GST_IS_ZC_ALLOCATOR (allocator), NULL);
  g_return_val_if_fail (gst_zc_allocator_get_producer (allocator) != NULL,
      NULL);

  self = g_object_new (GST_TYPE_ZC_BUFFER_POOL, NULL);
  gst_object_ref_sink (self);
  self->allocator = gst_object_ref (allocator);
  return GST_BUFFER_POOL_CAST (self);
}

/* gst-zerocopy: GstZcAllocator, GstMemory backed by libzc pool blocks.
 *
 * Life of a producer memory: gst_zc_allocator_acquire() claims a free
 * block (zc_producer_acquire) and wraps it, writable, size = capacity.
 * The application or upstream element writes into it; zcsink fills the
 * descriptor (gst_zc_memory_get_frame) and publishes it with
 * gst_zc_memory_publish(): every consumer gets the block, and this process
 * keeps a read-only reference.  The last unref of the memory gives that
 * reference back (zc_producer_release), or the whole block when it was
 * never published (zc_producer_discard).
 *
 * Life of a consumer memory: zcsrc receives a frame and wraps it with
 * gst_zc_allocator_wrap_frame(); the memory is READONLY; its last unref
 * releases the frame (zc_consumer_release).
 *
 * Ownership: the allocator owns the endpoint.  Every memory holds a
 * reference on its allocator (gst_memory_init), so the endpoint is freed
 * (in finalize) only after the last block went back.
 *
 * Sub-memories (gst_memory_share) are plain GstZcMemory structs with
 * mem.parent set: GStreamer keeps the parent alive for them, so only a
 * parent memory ever holds a block reference.  Their frame field is unused.
 *
 * Concurrency: memories are freed from any thread.  zc_consumer_release()
 * is documented thread-safe.  zc_producer_release() and _discard() only drop
 * this process's holder bit in the pool (zc_guard_release: atomic RMWs on
 * the block, no producer state touched), so they need no lock either even
 * though producer.h lists discard among the one-thread-at-a-time calls.
 * Publish and the buffer pool's resize take @lock, so two threads (an
 * application publishing by itself next to zcsink's copy path, say) never
 * run them at once.  Acquire does not: it may wait long, and holding @lock
 * then would stop the very publish after which consumers release blocks
 * (upstream ! queue ! zcsink acquires and publishes in two threads).
 * Acquire next to publish is safe in lib/producer.c as it stands (pool
 * claims are atomic, the consumer table is under the producer's mutex)
 * except for the resize a consumer's SCALE_REQUEST triggers inside
 * acquire, which libzc does not yet order against a publish in flight.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <string.h>

#include <gst/zc/gstzcallocator.h>
#include "gstzcallocator-private.h"

GST_DEBUG_CATEGORY_STATIC (gst_zc_allocator_debug);
#define GST_CAT_DEFAULT gst_zc_allocator_debug

/* A memory over one block.  GstMemory first: GStreamer casts. */
typedef struct
{
  GstMemory mem;
  zc_frame_t frame;             /* parent memories only */
  gboolean published;           /* producer: zc_producer_publish_keep done */
} GstZcMemory;

struct _GstZcAllocator
{
  GstAllocator parent;

  zc_producer_t *producer;      /* exactly one of the two is set */
  zc_consumer_t *consumer;
  GMutex lock;                  /* serialises publish and resize */
};

G_DEFINE_TYPE_WITH_CODE (GstZcAllocator, gst_zc_allocator,
    GST_TYPE_ALLOCATOR,
    GST_DEBUG_CATEGORY_INIT (gst_zc_allocator_debug, "zcallocator", 0,
        "zero-copy shared memory allocator"));

/* The memory that owns the block: @mem itself or its parent. */
static GstZcMemory *
zc_memory_root (GstMemory * mem)
{
  while (mem->parent != NULL)
    mem = mem->parent;
  return (GstZcMemory *) mem;
}

static GstZcMemory *
zc_memory_new (GstZcAllocator * self, GstMemoryFlags flags,
    const zc_frame_t * frame, gsize maxsize, gsize offset, gsize size)
{
  GstZcMemory *zmem = g_new0 (GstZcMemory, 1);

  zmem->frame = *frame;
  /* User data is 64-byte aligned in every block (include/zc/pool.h). */
  gst_memory_init (GST_MEMORY_CAST (zmem), flags, GST_ALLOCATOR_CAST (self),
      NULL, maxsize, 63, offset, size);
  return zmem;
}

/* Gives back the block @zmem holds, if any: a parent memory only (a
 * sub-memory's parent does it). */
static void
zc_memory_release (GstZcAllocator * self, GstZcMemory * zmem)
{
  if (zmem->mem.parent != NULL || zmem->frame.priv == NULL)
    return;
  if (self->producer != NULL) {
    if (zmem->published)
      zc_producer_release (self->producer, &zmem->frame);
    else
      zc_producer_discard (self->producer, &zmem->frame);
  } else {
    int ret = zc_consumer_release (self->consumer, &zmem->frame);

    if (ret < 0)
      GST_DEBUG_OBJECT (self, "block %u already reclaimed: %s",
          zmem->frame.desc.block, zc_strerror (ret));
  }
  zmem->frame.priv = NULL;
}

GstMemory *
gst_zc_allocator_acquire (GstZcAllocator * allocator, gint64 timeout_ns,
    int *error)
{
  zc_frame_t frame;
  int ret;

  if (error)
    *error = 0;
  g_return_val_if_fail (GST_IS_ZC_ALLOCATOR (allocator), NULL);
  g_return_val_if_fail (allocator->producer != NULL, NULL);

  ret = zc_producer_acquire (allocator->producer, &frame, timeout_ns);
  if (ret < 0) {
    GST_LOG_OBJECT (allocator, "no block: %s", zc_strerror (ret));
    if (error)
      *error = ret;
    return NULL;
  }
  /* A block's capacity is bounded by the segment (1 GiB), far below
   * G_MAXSIZE on any platform GStreamer runs on. */
  return GST_MEMORY_CAST (zc_memory_new (allocator, 0, &frame,
          frame.capacity, 0, frame.capacity));
}

GstMemory *
gst_zc_allocator_wrap_frame (GstZcAllocator * allocator,
    const zc_frame_t * frame)
{
  g_return_val_if_fail (GST_IS_ZC_ALLOCATOR (allocator), NULL);
  g_return_val_if_fail (allocator->consumer != NULL, NULL);
  g_return_val_if_fail (frame != NULL && frame->data != NULL, NULL);

  /* desc.size was validated against the capacity by libzc; the mapping
   * is read-only, so write access must be refused before it faults. */
  return GST_MEMORY_CAST (zc_memory_new (allocator,
          GST_MEMORY_FLAG_READONLY, frame,
          frame->desc.size, 0, frame->desc.size));
}

GstMemory *
gst_zc_allocator_new_frame_memory (GstZcAllocator * allocator)
{
  static const zc_frame_t none;

  g_return_val_if_fail (GST_IS_ZC_ALLOCATOR (allocator), NULL);

  return GST_MEMORY_CAST (zc_memory_new (allocator,
          GST_MEMORY_FLAG_READONLY, &none, 0, 0, 0));
}

int
gst_zc_memory_claim_block (GstMemory * mem, gint64 timeout_ns)
{
  GstZcMemory *zmem = (GstZcMemory *) mem;
  GstZcAllocator *self;
  int ret;

  g_return_val_if_fail (gst_is_zc_memory (mem) && mem->parent == NULL,
      -EINVAL);
  self = GST_ZC_ALLOCATOR (mem->allocator);
  g_return_val_if_fail (self->producer != NULL, -EINVAL);
  g_return_val_if_fail (zmem->frame.priv == NULL, -EINVAL);

  ret = zc_producer_acquire (self->producer, &zmem->frame, timeout_ns);
  if (ret < 0)
    return ret;
  /* As gst_zc_allocator_acquire() makes it: writable, the whole block. */
  zmem->published = FALSE;
  GST_MINI_OBJECT_FLAG_UNSET (mem, GST_MEMORY_FLAG_READONLY);
  mem->maxsize = mem->size = zmem->frame.capacity;
  mem->offset = 0;
  return 0;
}

void
gst_zc_memory_set_frame (GstMemory * mem, const zc_frame_t * frame)
{
  GstZcMemory *zmem = (GstZcMemory *) mem;

  g_return_if_fail (gst_is_zc_memory (mem) && mem->parent == NULL);
  g_return_if_fail (zmem->frame.priv == NULL);
  g_return_if_fail (frame != NULL && frame->data != NULL);

  /* As in gst_zc_allocator_wrap_frame(): desc.size was validated by libzc. */
  zmem->frame = *frame;
  mem->maxsize = mem->size = frame->desc.size;
  mem->offset = 0;
}

void
gst_zc_memory_release_frame (GstMemory * mem)
{
  g_return_if_fail (gst_is_zc_memory (mem) && mem->parent == NULL);

  zc_memory_release (GST_ZC_ALLOCATOR (mem->allocator), (GstZcMemory *) mem);
  ((GstZcMemory *) mem)->published = FALSE;
  /* Nothing to write into until the next block. */
  GST_MINI_OBJECT_FLAG_SET (mem, GST_MEMORY_FLAG_READONLY);
  mem->maxsize = mem->size = mem->offset = 0;
}

GstMemory *
gst_zc_buffer_peek_own_memory (GstBuffer * buffer, GstZcAllocator * allocator)
{
  GstMemory *mem;

  if (GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_TAG_MEMORY)
      || gst_buffer_n_memory (buffer) != 1)
    return NULL;
  mem = gst_buffer_peek_memory (buffer, 0);
  /* A reference of 1 is @buffer's: no other buffer, sub-memory or holder
   * can still reach the block through it. */
  if (mem->allocator != GST_ALLOCATOR_CAST (allocator) || mem->parent != NULL
      || GST_MINI_OBJECT_REFCOUNT_VALUE (mem) != 1)
    return NULL;
  return mem;
}

void
gst_zc_buffer_queue_clear (GstAtomicQueue * queue)
{
  GstBuffer *buffer;

  if (queue == NULL)
    return;
  while ((buffer = gst_atomic_queue_pop (queue)) != NULL)
    gst_buffer_unref (buffer);
}

gboolean
gst_is_zc_memory (GstMemory * mem)
{
  return mem != NULL && mem->allocator != NULL
      && GST_IS_ZC_ALLOCATOR (mem->allocator);
}

zc_frame_t *
gst_zc_memory_get_frame (GstMemory * mem)
{
  g_return_val_if_fail (gst_is_zc_memory (mem), NULL);

  return &zc_memory_root (mem)->frame;
}

int
gst_zc_memory_publish (GstMemory * mem, gint64 timeout_ns)
{
  GstZcAllocator *self;
  GstZcMemory *zmem;
  int ret;

  g_return_val_if_fail (gst_is_zc_memory (mem), -EINVAL);
  self = GST_ZC_ALLOCATOR (mem->allocator);
  g_return_val_if_fail (self->producer != NULL, -EINVAL);
  zmem = zc_memory_root (mem);
  g_return_val_if_fail (!zmem->published, -EINVAL);

  if (zmem->frame.desc.size == 0)
    zmem->frame.desc.size = zmem->mem.size;

  g_mutex_lock (&self->lock);
  ret = zc_producer_publish_keep (self->producer, &zmem->frame, timeout_ns);
  g_mutex_unlock (&self->lock);

  if (ret == -EINVAL) {
    /* The frame is consumed (producer.h): nothing of ours is left to
     * release, and writing to it now would reach a recycled block. */
    zmem->frame.priv = NULL;
    GST_MINI_OBJECT_FLAG_SET (zmem, GST_MEMORY_FLAG_READONLY);
    GST_WARNING_OBJECT (self, "publish refused: %s", zc_strerror (ret));
    return ret;
  }
  /* Published (also on a timeout: the consumers reached keep it):
   * readers in other processes see the bytes, so no more writes. */
  zmem->published = TRUE;
  GST_MINI_OBJECT_FLAG_SET (zmem, GST_MEMORY_FLAG_READONLY);
  GST_LOG_OBJECT (self, "published block %u seq %" G_GUINT64_FORMAT
      " to %d consumers", zmem->frame.desc.block, zmem->frame.desc.sequence,
      ret);
  return ret;
}

zc_producer_t *
gst_zc_allocator_get_producer (GstZcAllocator * allocator)
{
  g_return_val_if_fail (GST_IS_ZC_ALLOCATOR (allocator), NULL);
  return allocator->producer;
}

zc_consumer_t *
gst_zc_allocator_get_consumer (GstZcAllocator * allocator)
{
  g_return_val_if_fail (GST_IS_ZC_ALLOCATOR (allocator), NULL);
  return allocator->consumer;
}


int
gst_zc_allocator_resize (GstZcAllocator * allocator, guint64 block_size,
    guint n_blocks)
{
  int ret;

  g_return_val_if_fail (GST_IS_ZC_ALLOCATOR (allocator), -EINVAL);
  g_return_val_if_fail (allocator->producer != NULL, -EINVAL);

  g_mutex_lock (&allocator->lock);
  ret = zc_producer_resize (allocator->producer, block_size, n_blocks);
  g_mutex_unlock (&allocator->lock);
  return ret;
}

/* --- GstAllocator vfuncs --- */

/* gst_allocator_alloc() on a producer allocator: one free block if the
 * request fits, without waiting (the generic API has no way to cancel a
 * wait); consumers cannot allocate. */
static GstMemory *
gst_zc_allocator_alloc (GstAllocator * allocator, gsize size,
    GstAllocationParams * params)
{
  GstZcAllocator *self = GST_ZC_ALLOCATOR (allocator);
  gsize prefix = params ? params->prefix : 0;
  gsize padding = params ? params->padding : 0;
  gsize align = params ? params->align : 0;
  GstMemory *mem;
  guint8 *data;

  if (self->producer == NULL)
    return NULL;
  /* Blocks are 64-byte aligned: a stricter alignment cannot be met. */
  if ((align & 63) != align || prefix > G_MAXSIZE - size
      || prefix + size > G_MAXSIZE - padding)
    return NULL;

  mem = gst_zc_allocator_acquire (self, 0, NULL);
  if (mem == NULL)
    return NULL;
  if (prefix + size + padding > mem->maxsize) {
    gst_memory_unref (mem);
    return NULL;
  }
  data = ((GstZcMemory *) mem)->frame.data;
  if (prefix && params && (params->flags & GST_MEMORY_FLAG_ZERO_PREFIXED))
    memset (data, 0, prefix);
  if (padding && params && (params->flags & GST_MEMORY_FLAG_ZERO_PADDED))
    memset (data + prefix + size, 0, padding);
  mem->offset = prefix;
  mem->size = size;
  return mem;
}

static void
gst_zc_allocator_free (GstAllocator * allocator, GstMemory * mem)
{
  zc_memory_release (GST_ZC_ALLOCATOR (allocator), (GstZcMemory *) mem);
  g_free (mem);
}

static gpointer
gst_zc_mem_map (GstMemory * mem, gsize maxsize, GstMapFlags flags)
{
  (void) maxsize;
  (void) flags;
  /* gst_memory_map() adds mem->offset; sub-memories carry their offset
   * from the parent's start, so they map the parent's data. */
  return zc_memory_root (mem)->frame.data;
}

static void
gst_zc_mem_unmap (GstMemory * mem)
{
  (void) mem;
}

static GstMemory *
gst_zc_mem_share (GstMemory * mem, gssize offset, gssize size)
{
  GstZcMemory *sub;
  GstMemory *parent;

  if (size == -1)
    size = mem->size > (gsize) offset ? mem->size - offset : 0;
  parent = mem->parent ? mem->parent : mem;

  sub = g_new0 (GstZcMemory, 1);
  /* The parent holds the block; a sub-memory keeps it alive by the parent
   * reference gst_memory_init() takes. */
  gst_memory_init (GST_MEMORY_CAST (sub),
      GST_MINI_OBJECT_FLAGS (parent) | GST_MINI_OBJECT_FLAG_LOCK_READONLY,
      mem->allocator, parent, mem->maxsize, mem->align, mem->offset + offset,
      size);
  return GST_MEMORY_CAST (sub);
}

static GstMemory *
gst_zc_mem_copy (GstMemory * mem, gssize offset, gssize size)
{
  GstMapInfo src, dst;
  GstMemory *copy;

  if (offset < 0 || !gst_memory_map (mem, &src, GST_MAP_READ))
    return NULL;
  if (size == -1)
    size = src.size > (gsize) offset ? src.size - offset : 0;
  if ((gsize) offset + size > src.size) {
    gst_memory_unmap (mem, &src);
    return NULL;
  }
  copy = gst_allocator_alloc (NULL, size, NULL);
  if (copy != NULL && gst_memory_map (copy, &dst, GST_MAP_WRITE)) {
    memcpy (dst.data, src.data + offset, size);
    gst_memory_unmap (copy, &dst);
  } else if (copy != NULL) {
    gst_memory_unref (copy);
    copy = NULL;
  }
  gst_memory_unmap (mem, &src);
  return copy;
}

static gboolean
gst_zc_mem_is_span (GstMemory * mem1, GstMemory * mem2, gsize * offset)
{
  /* Two pieces of one block, end to end. */
  if (mem1->parent == NULL || mem1->parent != mem2->parent)
    return FALSE;
  if (offset)
    *offset = mem1->offset - mem1->parent->offset;
  return mem1->offset + mem1->size == mem2->offset;
}

/* --- GObject --- */

static void
gst_zc_allocator_finalize (GObject * object)
{
  GstZcAllocator *self = GST_ZC_ALLOCATOR (object);

  GST_DEBUG_OBJECT (self, "freeing the endpoint");
  zc_producer_free (self->producer);
  zc_consumer_free (self->consumer);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (gst_zc_allocator_parent_class)->finalize (object);
}

static void
gst_zc_allocator_class_init (GstZcAllocatorClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstAllocatorClass *allocator_class = GST_ALLOCATOR_CLASS (klass);

  gobject_class->finalize = gst_zc_allocator_finalize;
  allocator_class->alloc = gst_zc_allocator_alloc;
  allocator_class->free = gst_zc_allocator_free;
}

static void
gst_zc_allocator_init (GstZcAllocator * self)
{
  GstAllocator *alloc = GST_ALLOCATOR_CAST (self);

  g_mutex_init (&self->lock);
  alloc->mem_type = GST_ZC_MEMORY_TYPE;
  alloc->mem_map = gst_zc_mem_map;
  alloc->mem_unmap = gst_zc_mem_unmap;
  alloc->mem_share = gst_zc_mem_share;
  alloc->mem_copy = gst_zc_mem_copy;
  alloc->mem_is_span = gst_zc_mem_is_span;
  /* Only elements that know these blocks should allocate from us: the
   * generic alloc never waits and fails when the pool is empty. */
  GST_OBJECT_FLAG_SET (self, GST_ALLOCATOR_FLAG_CUSTOM_ALLOC);
}

GstAllocator *
gst_zc_allocator_new_producer (zc_producer_t * producer)
{
  GstZcAllocator *self;

  g_return_val_if_fail (producer != NULL, NULL);

  self = g_object_new (GST_TYPE_ZC_ALLOCATOR, NULL);
  gst_object_ref_sink (self);
  self->producer = producer;
  return GST_ALLOCATOR_CAST (self);
}

GstAllocator *
gst_zc_allocator_new_consumer (zc_consumer_t * consumer)
{
  GstZcAllocator *self;

  g_return_val_if_fail (consumer != NULL, NULL);

  self = g_object_new (GST_TYPE_ZC_ALLOCATOR, NULL);
  gst_object_ref_sink (self);
  self->consumer = consumer;
  return GST_ALLOCATOR_CAST (self);
}

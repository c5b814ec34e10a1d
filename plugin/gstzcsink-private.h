/* gst-zerocopy plugin: zcsink's instance, shared by the element's files.
 *
 * gstzcsink.c is the element (properties, start/stop, allocation, caps,
 * events); gstzcsink-render.c is the render path, a buffer to a published
 * frame.  Private to the plugin.
 */
#ifndef __GST_ZC_SINK_PRIVATE_H__
#define __GST_ZC_SINK_PRIVATE_H__

#include <gst/zc/gstzcallocator.h>

#include "gstzcsink.h"

G_BEGIN_DECLS

GST_DEBUG_CATEGORY_EXTERN (gst_zc_sink_debug);

/* The consumer_changed callback's link to the element.  libzc calls it
 * from the producer's control thread for as long as the producer lives,
 * which is as long as the allocator, possibly past the element's stop:
 * stop clears @sink under @lock, and the allocator frees this with its
 * own qdata, after the producer (and its thread) are gone. */
typedef struct
{
  GMutex lock;
  GstZcSink *sink;
} ConsumerNotify;

struct _GstZcSink
{
  GstBaseSink parent;

  /* properties, under the object lock */
  gchar *channel;
  gchar *socket_path;
  GstZcPolicy policy;
  guint max_consumers;
  guint buffers;
  gboolean wait_for_consumer;
  GstZcPermissions permissions;
  guint64 heartbeat_timeout;
  gboolean crc;

  /* between start and stop; replaced under the object lock */
  GstZcAllocator *allocator;
  GstBufferPool *pool;
  ConsumerNotify *notify;
  gint flushing;                /* atomic: unlock called */

  /* streaming thread: the clock offset consumers were last told, and the
   * clock last found monotonic (gst_zc_element_time_base) */
  guint64 clock_sent;
  GstClock *monotonic_clock;

  /* counters, under the object lock */
  guint64 frames;
  guint64 bytes;
  guint64 copies;
};

/* Returns: (transfer full) (nullable): the allocator while started. */
GstZcAllocator *gst_zc_sink_get_allocator (GstZcSink * self);

/* Grows the blocks to hold @size bytes (a new pool generation), never
 * shrinks them: the buffer pool may have grown them for larger frames.
 * @capacity is the current block size, or 0 to probe it with a free
 * block (libzc's stats do not carry it).  Posts the error itself. */
gboolean gst_zc_sink_grow_blocks (GstZcSink * self,
    GstZcAllocator * allocator, guint64 size, guint64 capacity);

/* GstBaseSinkClass::render (gstzcsink-render.c). */
GstFlowReturn gst_zc_sink_render (GstBaseSink * bsink, GstBuffer * buf);

G_END_DECLS
#endif /* __GST_ZC_SINK_PRIVATE_H__ */

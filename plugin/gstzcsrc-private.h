/* gst-zerocopy plugin: zcsrc's instance, shared by the element's files.
 *
 * gstzcsrc.c is the element (properties, start/stop, unlock, the
 * keepalive thread while PAUSED, caps); gstzcsrc-receive.c is the receive
 * path, a channel event to a buffer or an event downstream.  Private to
 * the plugin.
 */
#ifndef __GST_ZC_SRC_PRIVATE_H__
#define __GST_ZC_SRC_PRIVATE_H__

#include <gst/zc/gstzcallocator.h>

#include "gstzcsrc.h"

G_BEGIN_DECLS

GST_DEBUG_CATEGORY_EXTERN (gst_zc_src_debug);

/* Sticky events waiting for the next frame, in the order they go out. */
enum
{
  PENDING_STREAM_START,
  PENDING_SEGMENT,
  PENDING_TAG,
  N_PENDING
};

struct _GstZcSrc
{
  GstPushSrc parent;

  /* properties (object lock) */
  gchar *channel;
  gchar *socket_path;
  gboolean is_live;
  guint64 timeout;
  gboolean reconnect;
  guint max_held;

  /* between start and stop (object lock: unlock reads them) */
  GstAllocator *allocator;
  zc_consumer_t *consumer;      /* owned by @allocator */
  GstBufferPool *frame_pool;    /* the buffers frames go out in */

  /* streaming thread only */
  gboolean connected;
  gboolean ever_connected;
  gboolean discont;
  gboolean have_sequence;
  guint64 last_sequence;
  GstCaps *pending_caps;
  GstEvent *pending[N_PENDING];
  GstSegment producer_segment;  /* TIME, or UNDEFINED when none came */
  GstClockTime producer_base;   /* NONE until a GST_ZC_STICKY_CLOCK blob */
  GstClock *monotonic_clock;    /* see gst_zc_element_time_base() */

  /* the keepalive thread, while PAUSED (keepalive_lock) */
  GMutex keepalive_lock;
  GCond keepalive_cond;
  GThread *keepalive_thread;
  gboolean keepalive_running;
  zc_consumer_t *keepalive_consumer;

  /* counters (object lock) */
  guint64 frames;
  guint64 bytes;
  guint64 reconnects;
  guint64 drops;
  guint32 generation;
  /* producer's publish -> our buffer, ns (see gst_zc_src_latency) */
  guint64 latency_last;
  guint64 latency_max;
  guint64 latency_sum;
  guint64 latency_n;
};

/* GstPushSrcClass::create (gstzcsrc-receive.c): the next frame, with the
 * events the producer sent before it, or the end of the stream. */
GstFlowReturn gst_zc_src_create (GstPushSrc * psrc, GstBuffer ** outbuf);

G_END_DECLS
#endif /* __GST_ZC_SRC_PRIVATE_H__ */

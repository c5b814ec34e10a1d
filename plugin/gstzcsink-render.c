/* gst-zerocopy plugin: zcsink's render path, a buffer to a published frame.
 *
 * A buffer whose only memory is a whole, unpublished block of our
 * allocator is published as it is (zero copies); any other buffer is
 * copied once into a block, waited for in slices while consumers hold
 * them all.  Timestamps cross as running time on CLOCK_MONOTONIC, and the
 * clock offset consumers need is resent when it changes (gstzcwire.h).
 * Streaming thread only.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <string.h>

#include <gst/zc/gstzcallocator.h>
#include "gstzcallocator-private.h"

#include "gstzcsink-private.h"
#include "gstzcwire.h"

#define GST_CAT_DEFAULT gst_zc_sink_debug

/* The copy path waits for a block in slices this long, logging each, so a
 * stall shows in the debug log; unlock interrupts a slice at once. */
#define ACQUIRE_SLICE_NS (5 * GST_SECOND)
/* wait-for-consumer re-checks for a flush this often. */
#define WAIT_CONSUMER_SLICE_NS (100 * GST_MSECOND)

/* What turns running time into wire time (see gstzcwire.h): the base
 * time, shifted onto CLOCK_MONOTONIC when the pipeline clock is another
 * one.  FALSE without a clock (wire time is then the bare running time).
 * Computed once per buffer. */
static gboolean
clock_offset (GstZcSink * self, guint64 * offset)
{
  GstClockTime base_time;
  GstClockTimeDiff diff;

  if (!gst_zc_element_time_base (GST_ELEMENT_CAST (self),
          &self->monotonic_clock, &base_time, &diff))
    return FALSE;
  *offset = (guint64) ((gint64) base_time - diff);
  return TRUE;
}

/* @ts (buffer time) as the wire carries it: running time + @offset. */
static guint64
to_wire_time (GstZcSink * self, GstClockTime ts, gboolean have_clock,
    guint64 offset)
{
  GstBaseSink *bsink = GST_BASE_SINK_CAST (self);
  GstClockTime rt;

  if (!GST_CLOCK_TIME_IS_VALID (ts))
    return ZC_TIME_NONE;
  if (bsink->segment.format != GST_FORMAT_TIME)
    return ts;
  rt = gst_segment_to_running_time (&bsink->segment, GST_FORMAT_TIME, ts);
  if (!GST_CLOCK_TIME_IS_VALID (rt))
    return ZC_TIME_NONE;
  return have_clock ? rt + offset : rt;
}

/* Tells consumers the clock offset when it changes (a new base time, or
 * more than a millisecond of drift between a non-monotonic pipeline clock
 * and CLOCK_MONOTONIC). */
static void
send_clock (GstZcSink * self, zc_producer_t * producer, guint64 offset)
{
  gchar *blob;

  if (self->clock_sent != G_MAXUINT64 && (offset > self->clock_sent ?
          offset - self->clock_sent : self->clock_sent - offset) < GST_MSECOND)
    return;
  blob = g_strdup_printf ("zc-clock, base-time=(guint64)%" G_GUINT64_FORMAT,
      offset);
  if (zc_producer_set_sticky (producer, GST_ZC_STICKY_CLOCK, blob,
          strlen (blob) + 1) == 0)
    self->clock_sent = offset;
  g_free (blob);
}

static void
fill_desc (GstZcSink * self, zc_producer_t * producer, struct zc_desc *desc,
    GstBuffer * buf)
{
  guint64 offset = 0;
  gboolean have_clock = clock_offset (self, &offset);

  if (have_clock)
    send_clock (self, producer, offset);
  desc->size = gst_buffer_get_size (buf);
  desc->pts = to_wire_time (self, GST_BUFFER_PTS (buf), have_clock, offset);
  desc->dts = to_wire_time (self, GST_BUFFER_DTS (buf), have_clock, offset);
  desc->duration = GST_BUFFER_DURATION_IS_VALID (buf)
      ? GST_BUFFER_DURATION (buf) : ZC_TIME_NONE;
  desc->offset = GST_BUFFER_OFFSET (buf);
  desc->offset_end = GST_BUFFER_OFFSET_END (buf);
  desc->flags = 0;
  desc->buffer_flags = GST_BUFFER_FLAGS (buf);
  gst_zc_desc_set_metas (desc, buf);
}

/* Whether @buf can go out as it is: its one memory is a whole block of
 * our allocator, not yet published (publishing makes it READONLY). */
static gboolean
is_own_block (GstZcAllocator * allocator, GstBuffer * buf)
{
  GstMemory *mem;

  if (gst_buffer_n_memory (buf) != 1)
    return FALSE;
  mem = gst_buffer_peek_memory (buf, 0);
  return gst_is_zc_memory (mem) && mem->allocator == (GstAllocator *) allocator
      && mem->parent == NULL && mem->offset == 0
      && !GST_MEMORY_IS_READONLY (mem);
}

static GstFlowReturn
wait_for_consumer (GstZcSink * self, zc_producer_t * producer)
{
  while (zc_producer_wait_consumers (producer, 1, WAIT_CONSUMER_SLICE_NS) < 0) {
    if (g_atomic_int_get (&self->flushing))
      return GST_FLOW_FLUSHING;
  }
  return GST_FLOW_OK;
}

/* A free block for the copy path; waits in slices so a stall is logged. */
static GstMemory *
acquire_block (GstZcSink * self, GstZcAllocator * allocator, int *ret)
{
  GstMemory *mem;

  for (;;) {
    mem = gst_zc_allocator_acquire (allocator, ACQUIRE_SLICE_NS, ret);
    if (mem != NULL || *ret != -ETIMEDOUT)
      return mem;
    GST_WARNING_OBJECT (self, "no free block after %" GST_TIME_FORMAT
        ": consumers hold them all; still waiting",
        GST_TIME_ARGS (ACQUIRE_SLICE_NS));
  }
}

GstFlowReturn
gst_zc_sink_render (GstBaseSink * bsink, GstBuffer * buf)
{
  GstZcSink *self = GST_ZC_SINK (bsink);
  GstFlowReturn flow = GST_FLOW_OK;
  GstZcAllocator *allocator;
  zc_producer_t *producer;
  GstMemory *mem = NULL;
  gboolean wait, copied = FALSE;
  gsize size = gst_buffer_get_size (buf);
  int ret = 0;

  allocator = gst_zc_sink_get_allocator (self);
  if (allocator == NULL)
    return GST_FLOW_FLUSHING;
  producer = gst_zc_allocator_get_producer (allocator);

  GST_OBJECT_LOCK (self);
  wait = self->wait_for_consumer;
  GST_OBJECT_UNLOCK (self);
  if (wait && (flow = wait_for_consumer (self, producer)) != GST_FLOW_OK)
    goto done;

  if (is_own_block (allocator, buf)) {
    mem = gst_memory_ref (gst_buffer_peek_memory (buf, 0));
  } else {
    mem = acquire_block (self, allocator, &ret);
    if (mem != NULL && mem->maxsize < size) {
      guint64 capacity = mem->maxsize;

      gst_memory_unref (mem);
      mem = NULL;
      if (!gst_zc_sink_grow_blocks (self, allocator, size, capacity)) {
        flow = GST_FLOW_ERROR;
        goto done;
      }
      mem = acquire_block (self, allocator, &ret);
      if (mem != NULL && mem->maxsize < size) {
        GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT,
            ("A %" G_GSIZE_FORMAT "-byte buffer does not fit in a "
                "%" G_GSIZE_FORMAT "-byte block.", size, mem->maxsize),
            (NULL));
        flow = GST_FLOW_ERROR;
        goto done;
      }
    }
    if (mem == NULL)
      goto acquire_failed;
    gst_buffer_extract (buf, 0, gst_zc_memory_get_frame (mem)->data, size);
    copied = TRUE;
  }

  fill_desc (self, producer, &gst_zc_memory_get_frame (mem)->desc, buf);
  /* Block policy: no time limit on a slow consumer, the heartbeat
   * timeout evicts a stuck one and unlock interrupts the wait. */
  ret = gst_zc_memory_publish (mem, -1);
  if (ret < 0)
    goto publish_failed;

  GST_LOG_OBJECT (self, "%s %" G_GSIZE_FORMAT " bytes to %d consumers",
      copied ? "copied" : "published", size, ret);
  GST_OBJECT_LOCK (self);
  self->frames++;
  self->bytes += size;
  if (copied)
    self->copies++;
  GST_OBJECT_UNLOCK (self);

done:
  if (mem)
    gst_memory_unref (mem);
  gst_object_unref (allocator);
  return flow;

acquire_failed:
  if (ret == -ECANCELED) {
    flow = GST_FLOW_FLUSHING;
  } else {
    GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
        ("Could not get a shared-memory block: %s.", zc_strerror (ret)),
        (NULL));
    flow = GST_FLOW_ERROR;
  }
  goto done;

publish_failed:
  if (ret == -ECANCELED) {
    flow = GST_FLOW_FLUSHING;
  } else {
    GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
        ("Could not publish a frame: %s.", zc_strerror (ret)), (NULL));
    flow = GST_FLOW_ERROR;
  }
  goto done;
}

/* gst-zerocopy plugin: zcsrc's receive path, a channel event to a buffer
 * or an event downstream.
 *
 * create receives in slices, so that the producer timeout is counted;
 * caps, sticky events and flushes the producer sent are passed on in its
 * order, before the next frame, and a frame becomes a GstBuffer wrapping
 * its block (no copy), its times put on our timeline (gstzcwire.h).
 * Streaming thread only: create is the only caller of receive and
 * get_stats (libzc's rule).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <gst/zc/gstzcallocator.h>

#include "gstzcframepool.h"
#include "gstzcsrc-private.h"
#include "gstzcwire.h"

#define GST_CAT_DEFAULT gst_zc_src_debug

/* How long one receive may block: bounds how late the producer timeout is
 * noticed.  unlock does not depend on it (cancel wakes the receive). */
#define SLICE_NS (100 * GST_MSECOND)

/* Buffer flags that mean something in another process.  Mini-object flags
 * (lockable, read-only lock) and TAG_MEMORY are ours to manage. */
#define WIRE_BUFFER_FLAGS (GST_BUFFER_FLAG_LIVE | GST_BUFFER_FLAG_DECODE_ONLY \
    | GST_BUFFER_FLAG_DISCONT | GST_BUFFER_FLAG_RESYNC \
    | GST_BUFFER_FLAG_CORRUPTED | GST_BUFFER_FLAG_MARKER \
    | GST_BUFFER_FLAG_HEADER | GST_BUFFER_FLAG_GAP \
    | GST_BUFFER_FLAG_DROPPABLE | GST_BUFFER_FLAG_DELTA_UNIT \
    | GST_BUFFER_FLAG_SYNC_AFTER | GST_BUFFER_FLAG_NON_DROPPABLE)

/* Our drop count, from our own queue: one load, so every frame. */
static void
gst_zc_src_update_drops (GstZcSrc * self)
{
  guint64 drops = zc_consumer_drops (self->consumer);

  GST_OBJECT_LOCK (self);
  self->drops = drops;
  GST_OBJECT_UNLOCK (self);
}

static void
gst_zc_src_post (GstZcSrc * self, GstStructure * s)
{
  gst_element_post_message (GST_ELEMENT_CAST (self),
      gst_message_new_element (GST_OBJECT_CAST (self), s));
}

/* The format is the producer's caps string; it may come with or without
 * its NUL, never with one inside. */
static GstCaps *
gst_zc_src_caps_from_format (const void *data, gsize size)
{
  const gchar *str = data;
  gchar *copy;
  GstCaps *caps;
  gsize len;

  if (data == NULL || size == 0 || size > GST_ZC_STICKY_MAX)
    return NULL;
  len = strnlen (str, size);
  if (len == 0 || (len != size && len != size - 1))
    return NULL;
  copy = g_strndup (str, len);
  caps = gst_caps_from_string (copy);
  g_free (copy);
  if (caps != NULL && !gst_caps_is_fixed (caps))
    gst_clear_caps (&caps);
  return caps;
}

static void
gst_zc_src_parse_clock (GstZcSrc * self, const void *data, gsize size)
{
  GstStructure *s = NULL;
  guint64 base;

  self->producer_base = GST_CLOCK_TIME_NONE;
  if (size > 0 && size <= GST_ZC_STICKY_MAX && strnlen (data, size) == size - 1)
    s = gst_structure_from_string (data, NULL);
  if (s != NULL && gst_structure_has_name (s, "zc-clock")
      && gst_structure_get_uint64 (s, "base-time", &base)
      && GST_CLOCK_TIME_IS_VALID (base))
    self->producer_base = base;
  else if (size > 0)
    GST_WARNING_OBJECT (self, "ignoring a malformed clock blob");
  if (s != NULL)
    gst_structure_free (s);
}

static void
gst_zc_src_on_sticky (GstZcSrc * self, const zc_event_t * ev)
{
  GstEvent *event;
  guint slot;

  switch (ev->sticky_id) {
    case GST_ZC_STICKY_STREAM_START:
      slot = PENDING_STREAM_START;
      break;
    case GST_ZC_STICKY_SEGMENT:
      slot = PENDING_SEGMENT;
      break;
    case GST_ZC_STICKY_TAG:
      slot = PENDING_TAG;
      break;
    case GST_ZC_STICKY_CLOCK:
      gst_zc_src_parse_clock (self, ev->data, ev->size);
      return;
    default:
      GST_DEBUG_OBJECT (self, "skipping unknown sticky blob %u", ev->sticky_id);
      return;
  }
  if (ev->size == 0) {
    gst_clear_event (&self->pending[slot]);
    return;
  }
  event = gst_zc_event_deserialize (ev->sticky_id, ev->data, ev->size);
  if (event == NULL) {
    GST_WARNING_OBJECT (self, "dropping malformed sticky blob %u (%"
        G_GSIZE_FORMAT " bytes)", ev->sticky_id, ev->size);
    return;
  }
  if (slot == PENDING_SEGMENT) {
    gst_event_copy_segment (event, &self->producer_segment);
    if (self->producer_segment.format != GST_FORMAT_TIME) {
      GST_DEBUG_OBJECT (self, "producer segment in %s, not passed on",
          gst_format_get_name (self->producer_segment.format));
      gst_segment_init (&self->producer_segment, GST_FORMAT_UNDEFINED);
      gst_event_unref (event);
      return;
    }
  }
  gst_event_replace (&self->pending[slot], event);
  gst_event_unref (event);
}

/* Before a frame: stream-start, caps, segment, tags, in the order sticky
 * events must travel. */
static gboolean
gst_zc_src_push_pending (GstZcSrc * self)
{
  GstBaseSrc *bsrc = GST_BASE_SRC_CAST (self);
  GstEvent *ev;

  if ((ev = g_steal_pointer (&self->pending[PENDING_STREAM_START])))
    gst_pad_push_event (GST_BASE_SRC_PAD (bsrc), ev);

  if (self->pending_caps != NULL) {
    GstCaps *caps = g_steal_pointer (&self->pending_caps);
    GstCaps *current = gst_pad_get_current_caps (GST_BASE_SRC_PAD (bsrc));
    gboolean same = current != NULL && gst_caps_is_equal (caps, current);

    if (current)
      gst_caps_unref (current);
    if (!same && !gst_base_src_set_caps (bsrc, caps)) {
      GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
          ("Downstream refused the producer's caps %" GST_PTR_FORMAT, caps));
      gst_caps_unref (caps);
      return FALSE;
    }
    gst_caps_unref (caps);
  }

  if ((ev = g_steal_pointer (&self->pending[PENDING_SEGMENT]))) {
    /* Live: basesrc's own segment stands; ours maps to its running time. */
    if (!gst_base_src_is_live (bsrc)) {
      const GstSegment *seg;

      gst_event_parse_segment (ev, &seg);
      if (!gst_base_src_new_segment (bsrc, seg))
        GST_WARNING_OBJECT (self, "could not pass on %" GST_SEGMENT_FORMAT,
            seg);
    }
    gst_event_unref (ev);
  }

  if ((ev = g_steal_pointer (&self->pending[PENDING_TAG])))
    gst_pad_push_event (GST_BASE_SRC_PAD (bsrc), ev);
  return TRUE;
}

/* A producer's absolute CLOCK_MONOTONIC time, put on our timeline. */
static GstClockTime
gst_zc_src_map_time (GstZcSrc * self, guint64 t, gboolean live,
    GstClockTimeDiff clock_diff, GstClockTime base_time)
{
  gint64 v;

  /* A hostile or garbled time beyond gint64 is no time at all. */
  if (t == ZC_TIME_NONE || t > (guint64) G_MAXINT64 / 2)
    return GST_CLOCK_TIME_NONE;
  if (live) {
    v = (gint64) t + clock_diff - (gint64) base_time;
    return v > 0 ? (GstClockTime) v : 0;
  }
  if (!GST_CLOCK_TIME_IS_VALID (self->producer_base))
    return t;
  t = t > self->producer_base ? t - self->producer_base : 0;
  if (self->producer_segment.format == GST_FORMAT_TIME)
    return gst_segment_position_from_running_time (&self->producer_segment,
        GST_FORMAT_TIME, t);
  return t;
}

/* How long @frame took from the producer's publish to now.  The time is
 * the producer's, in the block header, which it may write at any moment:
 * read once, and none (0) or one ahead of ours counts as nothing: returns
 * G_MAXUINT64 then. */
static guint64
gst_zc_src_latency (const zc_frame_t * frame, guint64 now)
{
  const volatile struct zc_block_header *h = zc_guard_header (&frame->guard);
  guint64 published;

  if (h == NULL)
    return G_MAXUINT64;
  published = h->timestamp_ns;
  if (published == 0 || published > now)
    return G_MAXUINT64;
  return now - published;
}

static GstBuffer *
gst_zc_src_make_buffer (GstZcSrc * self, const zc_frame_t * frame)
{
  const struct zc_desc *d = &frame->desc;
  gboolean live = gst_base_src_is_live (GST_BASE_SRC_CAST (self));
  GstClockTimeDiff clock_diff = 0;
  GstClockTime base_time = 0;
  GstBuffer *buf;
  guint64 drops, latency;

  buf = gst_zc_frame_pool_wrap (self->frame_pool, frame);
  if (buf == NULL)
    return NULL;

  /* On the producer's clock (CLOCK_MONOTONIC): no measured offset, no
   * jitter. */
  if (live)
    gst_zc_element_time_base (GST_ELEMENT_CAST (self), &self->monotonic_clock,
        &base_time, &clock_diff);
  GST_BUFFER_PTS (buf) = gst_zc_src_map_time (self, d->pts, live, clock_diff,
      base_time);
  GST_BUFFER_DTS (buf) = gst_zc_src_map_time (self, d->dts, live, clock_diff,
      base_time);
  GST_BUFFER_DURATION (buf) = d->duration == ZC_TIME_NONE ?
      GST_CLOCK_TIME_NONE : d->duration;
  GST_BUFFER_OFFSET (buf) = d->offset;
  GST_BUFFER_OFFSET_END (buf) = d->offset_end;
  GST_MINI_OBJECT_FLAGS (buf) |= d->buffer_flags & WIRE_BUFFER_FLAGS;

  /* A frame we never saw (dropped for us, or a new producer) breaks the
   * stream for downstream. */
  if (self->discont || (self->have_sequence
          && d->sequence != self->last_sequence + 1))
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
  self->discont = FALSE;
  self->have_sequence = TRUE;
  self->last_sequence = d->sequence;

  if (!gst_zc_buffer_add_metas (buf, d))
    GST_DEBUG_OBJECT (self, "frame %" G_GUINT64_FORMAT ": a meta was refused",
        d->sequence);

  drops = zc_consumer_drops (self->consumer);
  latency = gst_zc_src_latency (frame, zc_now_ns ());
  GST_OBJECT_LOCK (self);
  self->frames++;
  self->bytes += d->size;
  self->generation = d->generation;
  self->drops = drops;
  if (latency != G_MAXUINT64) {
    self->latency_last = latency;
    self->latency_max = MAX (self->latency_max, latency);
    /* Saturates: only a hostile producer's times could get there. */
    self->latency_sum = latency > G_MAXUINT64 - self->latency_sum ?
        G_MAXUINT64 : self->latency_sum + latency;
    self->latency_n++;
  }
  GST_OBJECT_UNLOCK (self);
  return buf;
}

static void
gst_zc_src_on_connected (GstZcSrc * self, const zc_event_t * ev)
{
  GstCaps *caps = gst_zc_src_caps_from_format (ev->data, ev->size);
  gchar *format = g_strndup (ev->data, ev->size);

  if (ev->type == ZC_EVENT_CONNECTED) {
    GST_INFO_OBJECT (self, "producer connected, format '%s'", format);
    if (self->ever_connected) {
      GST_OBJECT_LOCK (self);
      self->reconnects++;
      GST_OBJECT_UNLOCK (self);
    }
    self->connected = self->ever_connected = TRUE;
    self->discont = TRUE;
    self->have_sequence = FALSE;
    gst_zc_src_post (self, gst_structure_new ("zcsrc-producer-connected",
            "slot", G_TYPE_INT, zc_consumer_slot (self->consumer),
            "caps", G_TYPE_STRING, format, NULL));
  } else {
    GST_INFO_OBJECT (self, "new format '%s'", format);
  }
  if (caps != NULL)
    gst_caps_replace (&self->pending_caps, caps);
  else if (ev->size > 0)
    GST_WARNING_OBJECT (self, "ignoring format that is no fixed caps: '%s'",
        format);
  if (caps)
    gst_caps_unref (caps);
  g_free (format);
}

/* The producer flushed (a seek, a flushing restart): what is downstream
 * of us goes too.  Frames after this point are the new stream's. */
static void
gst_zc_src_on_flush (GstZcSrc * self)
{
  GstBaseSrc *bsrc = GST_BASE_SRC_CAST (self);
  gboolean live = gst_base_src_is_live (bsrc);
  GstSegment segment;

  GST_DEBUG_OBJECT (self, "the producer flushed");
  gst_pad_push_event (GST_BASE_SRC_PAD (bsrc), gst_event_new_flush_start ());
  /* Live: our running time goes on (timestamps are mapped to our clock);
   * not live: the producer's stream restarts, so does ours. */
  gst_pad_push_event (GST_BASE_SRC_PAD (bsrc),
      gst_event_new_flush_stop (!live));
  /* Flush-stop took the segment off the pads downstream: send it again
   * (the producer's next one, when it sends one, takes its place). */
  GST_OBJECT_LOCK (self);
  gst_segment_copy_into (&bsrc->segment, &segment);
  GST_OBJECT_UNLOCK (self);
  gst_base_src_new_segment (bsrc, &segment);
  self->discont = TRUE;
  self->have_sequence = FALSE;
}

GstFlowReturn
gst_zc_src_create (GstPushSrc * psrc, GstBuffer ** outbuf)
{
  GstZcSrc *self = GST_ZC_SRC (psrc);
  guint64 timeout, waited = 0;
  gboolean reconnect;
  gchar *name;
  int ret;

  GST_OBJECT_LOCK (self);
  timeout = self->timeout;
  reconnect = self->reconnect;
  GST_OBJECT_UNLOCK (self);

  for (;;) {
    zc_event_t ev;
    guint64 t0 = zc_now_ns ();

    ret = zc_consumer_receive (self->consumer, &ev, SLICE_NS);
    if (ret == -ETIMEDOUT) {
      if (self->connected || timeout == 0)
        continue;
      waited += zc_now_ns () - t0;
      if (waited < timeout)
        continue;
      goto no_producer;
    }
    if (ret == -ECANCELED)
      return GST_FLOW_FLUSHING;
    if (ret < 0)
      goto refused;

    switch (ev.type) {
      case ZC_EVENT_CONNECTED:
      case ZC_EVENT_FORMAT:
        gst_zc_src_on_connected (self, &ev);
        break;
      case ZC_EVENT_STICKY:
        gst_zc_src_on_sticky (self, &ev);
        break;
      case ZC_EVENT_FRAME:
        if (!gst_zc_src_push_pending (self)) {
          zc_consumer_release (self->consumer, &ev.frame);
          return GST_FLOW_NOT_NEGOTIATED;
        }
        *outbuf = gst_zc_src_make_buffer (self, &ev.frame);
        if (*outbuf == NULL) {
          /* Only a pool that stop() deactivated gets here. */
          zc_consumer_release (self->consumer, &ev.frame);
          return GST_FLOW_FLUSHING;
        }
        return GST_FLOW_OK;
      case ZC_EVENT_FLUSH:
        gst_zc_src_on_flush (self);
        break;
      case ZC_EVENT_EOS:
        gst_zc_src_update_drops (self);
        if (reconnect) {
          GST_INFO_OBJECT (self, "end of stream; waiting for what follows");
          break;
        }
        GST_INFO_OBJECT (self, "end of stream");
        gst_zc_src_push_pending (self);
        return GST_FLOW_EOS;
      case ZC_EVENT_DISCONNECTED:
        GST_INFO_OBJECT (self, "producer gone: %s",
            ev.code == 0 ? "clean exit" : zc_strerror (ev.code));
        self->connected = FALSE;
        self->producer_base = GST_CLOCK_TIME_NONE;
        gst_segment_init (&self->producer_segment, GST_FORMAT_UNDEFINED);
        gst_zc_src_post (self,
            gst_structure_new ("zcsrc-producer-disconnected", "code",
                G_TYPE_INT, ev.code, "reason", G_TYPE_STRING,
                ev.code == 0 ? "clean exit" : zc_strerror (ev.code), NULL));
        if (ev.code == ZC_EEVICTED) {
          /* The producer is still there: we showed no life for its
           * heartbeat timeout (a pipeline blocked downstream), kept it
           * waiting that long in block policy, or stopped reading while
           * its format changed more than four times (the detail says
           * which).  Attach again; the frames meanwhile are lost. */
          GST_ELEMENT_WARNING (self, RESOURCE, READ,
              ("Evicted by the producer after a stall; attaching again."),
              ("%s", zc_consumer_last_error (self->consumer)));
          waited = 0;
          break;
        }
        if (ev.code != 0)
          GST_ELEMENT_WARNING (self, RESOURCE, READ,
              ("The producer of the stream went away: %s",
                  zc_strerror (ev.code)), ("%s",
                  zc_consumer_last_error (self->consumer)));
        if (reconnect) {
          waited = 0;
          break;
        }
        return GST_FLOW_EOS;
      default:
        GST_DEBUG_OBJECT (self, "skipping event type %d", ev.type);
        break;
    }
  }

no_producer:
  GST_OBJECT_LOCK (self);
  name = g_strdup (self->socket_path ? self->socket_path : self->channel);
  GST_OBJECT_UNLOCK (self);
  GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
      ("No producer appeared on '%s' within %.3f s.", name,
          timeout / (double) GST_SECOND),
      ("Start the producer first, raise 'timeout', or set timeout=0 to "
          "wait forever."));
  g_free (name);
  return GST_FLOW_ERROR;

refused:
  GST_OBJECT_LOCK (self);
  name = g_strdup (self->socket_path ? self->socket_path : self->channel);
  GST_OBJECT_UNLOCK (self);
  GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
      ("Could not receive from '%s': %s", name, zc_strerror (ret)),
      ("%s", zc_consumer_last_error (self->consumer)));
  g_free (name);
  return GST_FLOW_ERROR;
}

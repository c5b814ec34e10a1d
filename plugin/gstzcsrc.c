/* gst-zerocopy plugin: zcsrc, the consumer element.
 *
 * Life of the element:
 *
 *   start      zc_consumer_new(); a consumer GstZcAllocator takes it over
 *              (the allocator frees the consumer after the last memory it
 *              made is gone, so buffers may outlive the element's start).
 *   create     zc_consumer_receive() in slices of SLICE_NS, so that the
 *              producer timeout is counted.  Attaching happens inside the
 *              first receive: the element may start long before the
 *              producer.  Events arrive in the producer's order:
 *                CONNECTED/FORMAT  caps (a string), set before the next frame
 *                STICKY            stream-start, segment, tags (gstzcwire.h),
 *                                  pushed in that order before the next frame
 *                FRAME             a GstBuffer wrapping the block (no copy)
 *                FLUSH             FLUSH_START and FLUSH_STOP downstream
 *                EOS               GST_FLOW_EOS (ignored with reconnect=true)
 *                DISCONNECTED      GST_FLOW_EOS, or with reconnect=true wait
 *                                  for the next producer of the channel
 *   unlock     zc_consumer_cancel (TRUE): the receive in progress returns
 *              -ECANCELED at once (GST_FLOW_FLUSHING); unlock_stop clears it.
 *   PAUSED     a thread calls zc_consumer_keepalive(): a paused pipeline
 *              asks for no frames, and the producer would evict it as hung
 *              after its heartbeat timeout.  (In block policy a consumer
 *              that keeps the producer waiting is still evicted: a stall.)
 *   stop       drops our allocator reference.
 *
 * Timestamps.  The producer sends each PTS/DTS as an absolute time on
 * CLOCK_MONOTONIC: its running time plus its base time.  In live mode the
 * time is put on our pipeline's clock and made a running time against our
 * own base time, so two pipelines on the system clock (a GstSystemClock of
 * type MONOTONIC, the default) line up exactly; with another clock the
 * offset between the two is measured per buffer, as unixfdsrc does.  In
 * non-live mode the producer's segment passes through and timestamps go
 * back to positions in that segment; that needs the producer's base time,
 * which it sends as the sticky blob GST_ZC_STICKY_CLOCK.  Without it they
 * pass as sent.
 *
 * Threads: create runs in the streaming thread and is the only caller of
 * receive and get_stats (libzc's rule); unlock and unlock_stop come from
 * other threads and only cancel.  Properties and counters are under the
 * object lock.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <gst/zc/gstzcallocator.h>

#include "gstzcsrc.h"
#include "gstzcwire.h"

GST_DEBUG_CATEGORY_STATIC (gst_zc_src_debug);
#define GST_CAT_DEFAULT gst_zc_src_debug



#define DEFAULT_IS_LIVE TRUE
#define DEFAULT_TIMEOUT 0
#define DEFAULT_RECONNECT FALSE
#define DEFAULT_MAX_HELD 0
/* How long one receive may block: bounds how late the producer timeout is
 * noticed.  unlock does not depend on it (cancel wakes the receive). */
#define SLICE_NS (100 * GST_MSECOND)
/* How often the drop counter is read from shared memory. */
#define STATS_REFRESH_NS (100 * GST_MSECOND)

/* Buffer flags that mean something in another process.  Mini-object flags
 * (lockable, read-only lock) and TAG_MEMORY are ours to manage. */
#define WIRE_BUFFER_FLAGS (GST_BUFFER_FLAG_LIVE | GST_BUFFER_FLAG_DECODE_ONLY \
    | GST_BUFFER_FLAG_DISCONT | GST_BUFFER_FLAG_RESYNC \
    | GST_BUFFER_FLAG_CORRUPTED | GST_BUFFER_FLAG_MARKER \
    | GST_BUFFER_FLAG_HEADER | GST_BUFFER_FLAG_GAP \
    | GST_BUFFER_FLAG_DROPPABLE | GST_BUFFER_FLAG_DELTA_UNIT \
    | GST_BUFFER_FLAG_SYNC_AFTER | GST_BUFFER_FLAG_NON_DROPPABLE)

enum
{
  PROP_0,
  PROP_CHANNEL,
  PROP_SOCKET_PATH,
  PROP_IS_LIVE,
  PROP_TIMEOUT,
  PROP_RECONNECT,
  PROP_MAX_HELD,
  PROP_STATS,
};

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
  guint64 stats_refreshed;

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
};

#define gst_zc_src_parent_class parent_class
G_DEFINE_TYPE (GstZcSrc, gst_zc_src, GST_TYPE_PUSH_SRC);

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

static void
gst_zc_src_clear_pending (GstZcSrc * self)
{
  guint i;

  gst_clear_caps (&self->pending_caps);
  for (i = 0; i < N_PENDING; i++)
    gst_clear_event (&self->pending[i]);
}

static GstStructure *
gst_zc_src_get_stats (GstZcSrc * self)
{
  GstStructure *s;

  GST_OBJECT_LOCK (self);
  s = gst_structure_new ("zcsrc-stats",
      "frames", G_TYPE_UINT64, self->frames,
      "bytes", G_TYPE_UINT64, self->bytes,
      "reconnects", G_TYPE_UINT64, self->reconnects,
      "drops", G_TYPE_UINT64, self->drops,
      "generation", G_TYPE_UINT, self->generation, NULL);
  GST_OBJECT_UNLOCK (self);
  return s;
}

/* Our own drop count lives in the producer's per-consumer entry. */
static void
gst_zc_src_refresh_drops (GstZcSrc * self)
{
  zc_channel_stats_t st;
  int slot = zc_consumer_slot (self->consumer);
  guint i, n;

  self->stats_refreshed = zc_now_ns ();
  if (slot < 0 || zc_consumer_get_stats (self->consumer, &st) < 0)
    return;
  n = MIN (st.n_consumers, ZC_CHANNEL_MAX_CONSUMERS);
  for (i = 0; i < n; i++) {
    if (st.consumers[i].slot == (guint32) slot
        && st.consumers[i].pid == (gint32) getpid ()) {
      GST_OBJECT_LOCK (self);
      self->drops = st.consumers[i].drops;
      GST_OBJECT_UNLOCK (self);
      break;
    }
  }
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

static GstBuffer *
gst_zc_src_make_buffer (GstZcSrc * self, const zc_frame_t * frame)
{
  const struct zc_desc *d = &frame->desc;
  gboolean live = gst_base_src_is_live (GST_BASE_SRC_CAST (self));
  GstClockTimeDiff clock_diff = 0;
  GstClockTime base_time = 0;
  GstBuffer *buf;
  GstMemory *mem;

  mem = gst_zc_allocator_wrap_frame (GST_ZC_ALLOCATOR (self->allocator), frame);
  buf = gst_buffer_new ();
  gst_buffer_append_memory (buf, mem);

  if (live) {
    GstClock *clock = gst_element_get_clock (GST_ELEMENT_CAST (self));

    base_time = gst_element_get_base_time (GST_ELEMENT_CAST (self));
    if (clock != NULL) {
      /* The same clock as the producer's: no measured offset, no jitter. */
      if (!gst_zc_clock_is_monotonic (clock))
        clock_diff = GST_CLOCK_DIFF ((GstClockTime) zc_now_ns (),
            gst_clock_get_time (clock));
      gst_object_unref (clock);
    }
  }
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

  GST_OBJECT_LOCK (self);
  self->frames++;
  self->bytes += d->size;
  self->generation = d->generation;
  GST_OBJECT_UNLOCK (self);
  if (zc_now_ns () - self->stats_refreshed >= STATS_REFRESH_NS)
    gst_zc_src_refresh_drops (self);
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

static GstFlowReturn
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
        return GST_FLOW_OK;
      case ZC_EVENT_FLUSH:
        gst_zc_src_on_flush (self);
        break;
      case ZC_EVENT_EOS:
        gst_zc_src_refresh_drops (self);
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
           * heartbeat timeout (a pipeline blocked downstream), or kept it
           * waiting that long in block policy.  Attach again; the frames
           * meanwhile are lost. */
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

static gboolean
gst_zc_src_start (GstBaseSrc * bsrc)
{
  GstZcSrc *self = GST_ZC_SRC (bsrc);
  zc_consumer_config_t cfg;
  zc_consumer_t *consumer;
  gchar *channel, *socket_path;
  int ret;

  GST_OBJECT_LOCK (self);
  channel = g_strdup (self->channel);
  socket_path = g_strdup (self->socket_path);
  zc_consumer_config_init (&cfg);
  cfg.name = channel;
  cfg.socket_path = socket_path;
  cfg.max_held = self->max_held;
  GST_OBJECT_UNLOCK (self);

  if (channel == NULL && socket_path == NULL) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("No channel to receive from."),
        ("Set the 'channel' property (or 'socket-path')."));
    return FALSE;
  }
  if (channel != NULL && zc_channel_name_validate (channel) < 0) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Invalid channel name '%s'.", channel),
        ("A channel name is 1 to %u characters of A-Z, a-z, 0-9, '_' and "
            "'-'.", ZC_CHANNEL_NAME_MAX));
    goto fail;
  }
  ret = zc_consumer_new (&cfg, &consumer);
  if (ret < 0) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Could not set up a consumer of '%s': %s",
            socket_path ? socket_path : channel, zc_strerror (ret)), (NULL));
    goto fail;
  }

  self->connected = self->ever_connected = FALSE;
  self->discont = TRUE;
  self->have_sequence = FALSE;
  self->producer_base = GST_CLOCK_TIME_NONE;
  self->stats_refreshed = 0;
  gst_segment_init (&self->producer_segment, GST_FORMAT_UNDEFINED);
  gst_zc_src_clear_pending (self);

  GST_OBJECT_LOCK (self);
  self->allocator = gst_zc_allocator_new_consumer (consumer);
  self->consumer = consumer;
  self->frames = self->bytes = self->reconnects = self->drops = 0;
  self->generation = 0;
  GST_OBJECT_UNLOCK (self);
  g_free (channel);
  g_free (socket_path);
  return TRUE;

fail:
  g_free (channel);
  g_free (socket_path);
  return FALSE;
}

static gboolean
gst_zc_src_stop (GstBaseSrc * bsrc)
{
  GstZcSrc *self = GST_ZC_SRC (bsrc);
  GstAllocator *allocator;

  GST_OBJECT_LOCK (self);
  allocator = self->allocator;
  self->allocator = NULL;
  self->consumer = NULL;
  GST_OBJECT_UNLOCK (self);

  gst_zc_src_clear_pending (self);
  /* Buffers still downstream keep the allocator, and with it the
   * consumer, until their last unref. */
  if (allocator)
    gst_object_unref (allocator);
  return TRUE;
}

/* unlock (TRUE) / unlock_stop (FALSE): the receive in progress, or the
 * next one, returns at once until cleared. */
static void
gst_zc_src_cancel (GstZcSrc * self, gboolean cancel)
{
  GST_OBJECT_LOCK (self);
  if (self->consumer)
    zc_consumer_cancel (self->consumer, cancel);
  GST_OBJECT_UNLOCK (self);
}

static gboolean
gst_zc_src_unlock (GstBaseSrc * bsrc)
{
  gst_zc_src_cancel (GST_ZC_SRC (bsrc), TRUE);
  return TRUE;
}

static gboolean
gst_zc_src_unlock_stop (GstBaseSrc * bsrc)
{
  gst_zc_src_cancel (GST_ZC_SRC (bsrc), FALSE);
  return TRUE;
}

static gpointer
gst_zc_src_keepalive_loop (gpointer data)
{
  GstZcSrc *self = data;

  g_mutex_lock (&self->keepalive_lock);
  while (self->keepalive_running) {
    guint64 next = zc_consumer_keepalive (self->keepalive_consumer);

    g_cond_wait_until (&self->keepalive_cond, &self->keepalive_lock,
        g_get_monotonic_time () + (gint64) (next / 1000));
  }
  g_mutex_unlock (&self->keepalive_lock);
  return NULL;
}

static void
gst_zc_src_keepalive_start (GstZcSrc * self)
{
  zc_consumer_t *consumer;

  GST_OBJECT_LOCK (self);
  consumer = self->consumer;
  GST_OBJECT_UNLOCK (self);
  if (consumer == NULL || self->keepalive_thread)
    return;
  self->keepalive_consumer = consumer;
  self->keepalive_running = TRUE;
  self->keepalive_thread = g_thread_new ("zcsrc-keepalive",
      gst_zc_src_keepalive_loop, self);
  GST_DEBUG_OBJECT (self, "paused: showing life to the producer");
}

/* Before stop(), which may free the consumer. */
static void
gst_zc_src_keepalive_stop (GstZcSrc * self)
{
  if (self->keepalive_thread == NULL)
    return;
  g_mutex_lock (&self->keepalive_lock);
  self->keepalive_running = FALSE;
  g_cond_signal (&self->keepalive_cond);
  g_mutex_unlock (&self->keepalive_lock);
  g_thread_join (self->keepalive_thread);
  self->keepalive_thread = NULL;
  self->keepalive_consumer = NULL;
}

static GstStateChangeReturn
gst_zc_src_change_state (GstElement * element, GstStateChange transition)
{
  GstZcSrc *self = GST_ZC_SRC (element);
  GstStateChangeReturn ret;

  if (transition == GST_STATE_CHANGE_PAUSED_TO_PLAYING
      || transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    gst_zc_src_keepalive_stop (self);
  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  if (ret != GST_STATE_CHANGE_FAILURE
      && (transition == GST_STATE_CHANGE_READY_TO_PAUSED
          || transition == GST_STATE_CHANGE_PLAYING_TO_PAUSED))
    gst_zc_src_keepalive_start (self);
  return ret;
}

/* Once the producer has spoken, its caps are the only ones we can give. */
static GstCaps *
gst_zc_src_get_caps (GstBaseSrc * bsrc, GstCaps * filter)
{
  GstCaps *caps = gst_pad_get_current_caps (GST_BASE_SRC_PAD (bsrc));

  if (caps == NULL)
    caps = gst_pad_get_pad_template_caps (GST_BASE_SRC_PAD (bsrc));
  if (filter != NULL) {
    GstCaps *tmp = gst_caps_intersect_full (filter, caps,
        GST_CAPS_INTERSECT_FIRST);

    gst_caps_unref (caps);
    caps = tmp;
  }
  return caps;
}

static void
gst_zc_src_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstZcSrc *self = GST_ZC_SRC (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_CHANNEL:
      g_free (self->channel);
      self->channel = g_value_dup_string (value);
      break;
    case PROP_SOCKET_PATH:
      g_free (self->socket_path);
      self->socket_path = g_value_dup_string (value);
      break;
    case PROP_IS_LIVE:
      self->is_live = g_value_get_boolean (value);
      GST_OBJECT_UNLOCK (self);
      gst_base_src_set_live (GST_BASE_SRC_CAST (self), self->is_live);
      return;
    case PROP_TIMEOUT:
      self->timeout = g_value_get_uint64 (value);
      break;
    case PROP_RECONNECT:
      self->reconnect = g_value_get_boolean (value);
      break;
    case PROP_MAX_HELD:
      self->max_held = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_zc_src_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstZcSrc *self = GST_ZC_SRC (object);

  if (prop_id == PROP_STATS) {
    g_value_take_boxed (value, gst_zc_src_get_stats (self));
    return;
  }
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_CHANNEL:
      g_value_set_string (value, self->channel);
      break;
    case PROP_SOCKET_PATH:
      g_value_set_string (value, self->socket_path);
      break;
    case PROP_IS_LIVE:
      g_value_set_boolean (value, self->is_live);
      break;
    case PROP_TIMEOUT:
      g_value_set_uint64 (value, self->timeout);
      break;
    case PROP_RECONNECT:
      g_value_set_boolean (value, self->reconnect);
      break;
    case PROP_MAX_HELD:
      g_value_set_uint (value, self->max_held);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_zc_src_finalize (GObject * object)
{
  GstZcSrc *self = GST_ZC_SRC (object);

  g_free (self->channel);
  g_free (self->socket_path);
  gst_zc_src_clear_pending (self);
  if (self->allocator)
    gst_object_unref (self->allocator);
  g_mutex_clear (&self->keepalive_lock);
  g_cond_clear (&self->keepalive_cond);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_zc_src_class_init (GstZcSrcClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSrcClass *basesrc_class = GST_BASE_SRC_CLASS (klass);
  GstPushSrcClass *pushsrc_class = GST_PUSH_SRC_CLASS (klass);
  const GParamFlags rw_ready = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
      | GST_PARAM_MUTABLE_READY;

  GST_DEBUG_CATEGORY_INIT (gst_zc_src_debug, "zcsrc", 0,
      "zero-copy shared-memory source");

  gobject_class->set_property = gst_zc_src_set_property;
  gobject_class->get_property = gst_zc_src_get_property;
  gobject_class->finalize = gst_zc_src_finalize;

  g_object_class_install_property (gobject_class, PROP_CHANNEL,
      g_param_spec_string ("channel", "Channel",
          "Name of the channel to receive, as given to the producer's "
          "zcsink: 1 to 255 characters of A-Z, a-z, 0-9, '_' and '-'. Its "
          "socket is looked up in $XDG_RUNTIME_DIR/zerocopy/ (or "
          "/tmp/zerocopy-UID/)", NULL, rw_ready));
  g_object_class_install_property (gobject_class, PROP_SOCKET_PATH,
      g_param_spec_string ("socket-path", "Socket path",
          "Explicit path of the producer's control socket, instead of the "
          "per-user directory (the producer must use the same path)", NULL,
          rw_ready));
  g_object_class_install_property (gobject_class, PROP_IS_LIVE,
      g_param_spec_boolean ("is-live", "Is live",
          "Act as a live source: timestamps are mapped onto this pipeline's "
          "clock and running time (both pipelines on the system monotonic "
          "clock keep A/V sync). FALSE: the producer's segment and "
          "timestamps pass through", DEFAULT_IS_LIVE, rw_ready));
  g_object_class_install_property (gobject_class, PROP_TIMEOUT,
      g_param_spec_uint64 ("timeout", "Timeout",
          "How long to wait for a producer to appear, in nanoseconds, "
          "before failing with an error (0 = wait forever)", 0, G_MAXUINT64,
          DEFAULT_TIMEOUT, rw_ready));
  g_object_class_install_property (gobject_class, PROP_RECONNECT,
      g_param_spec_boolean ("reconnect", "Reconnect",
          "When the producer leaves (or sends end-of-stream), wait for the "
          "next producer of the channel instead of ending the stream",
          DEFAULT_RECONNECT, rw_ready));
  g_object_class_install_property (gobject_class, PROP_MAX_HELD,
      g_param_spec_uint ("max-held", "Max held",
          "Most blocks this consumer may hold plus have queued; past it the "
          "producer waits (block policy) or this consumer misses frames "
          "(drop policy). 0 = the producer's default", 0, ZC_QUEUE_DEPTH,
          DEFAULT_MAX_HELD, rw_ready));
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "Counters: frames, bytes, reconnects (new producers after the "
          "first), drops (frames the producer dropped for this consumer), "
          "generation (pool generation of the last frame)",
          GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "Zero-copy shared-memory source", "Source",
      "Receives buffers from a zcsink in another process through shared "
      "memory, without copying; caps come from the producer", "gst-zerocopy");

  element_class->change_state = GST_DEBUG_FUNCPTR (gst_zc_src_change_state);
  basesrc_class->start = GST_DEBUG_FUNCPTR (gst_zc_src_start);
  basesrc_class->stop = GST_DEBUG_FUNCPTR (gst_zc_src_stop);
  basesrc_class->unlock = GST_DEBUG_FUNCPTR (gst_zc_src_unlock);
  basesrc_class->unlock_stop = GST_DEBUG_FUNCPTR (gst_zc_src_unlock_stop);
  basesrc_class->get_caps = GST_DEBUG_FUNCPTR (gst_zc_src_get_caps);
  pushsrc_class->create = GST_DEBUG_FUNCPTR (gst_zc_src_create);
}

static void
gst_zc_src_init (GstZcSrc * self)
{
  g_mutex_init (&self->keepalive_lock);
  g_cond_init (&self->keepalive_cond);
  self->is_live = DEFAULT_IS_LIVE;
  self->timeout = DEFAULT_TIMEOUT;
  self->reconnect = DEFAULT_RECONNECT;
  self->max_held = DEFAULT_MAX_HELD;
  self->producer_base = GST_CLOCK_TIME_NONE;
  gst_segment_init (&self->producer_segment, GST_FORMAT_UNDEFINED);
  gst_base_src_set_live (GST_BASE_SRC_CAST (self), DEFAULT_IS_LIVE);
  gst_base_src_set_format (GST_BASE_SRC_CAST (self), GST_FORMAT_TIME);
}

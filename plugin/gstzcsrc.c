/* gst-zerocopy plugin: zcsrc, the consumer element.
 *
 * Life of the element:
 *
 *   start      zc_consumer_new(); a consumer GstZcAllocator takes it over
 *              (the allocator frees the consumer after the last memory it
 *              made is gone, so buffers may outlive the element's start),
 *              and a GstZcFramePool of the buffers frames go out in.
 *   create     zc_consumer_receive() in slices of SLICE_NS, so that the
 *              producer timeout is counted.  Attaching happens inside the
 *              first receive: the element may start long before the
 *              producer.  Events arrive in the producer's order:
 *                CONNECTED/FORMAT  caps (a string), set before the next frame
 *                STICKY            stream-start, segment, tags (gstzcwire.h),
 *                                  pushed in that order before the next frame
 *                FRAME             a pool buffer wrapping the block (no
 *                                  copy, no allocation)
 *                FLUSH             FLUSH_START and FLUSH_STOP downstream
 *                EOS               GST_FLOW_EOS (ignored with reconnect=true)
 *                DISCONNECTED      GST_FLOW_EOS, or with reconnect=true wait
 *                                  for the next producer of the channel
 *              In gstzcsrc-receive.c.
 *   unlock     zc_consumer_cancel (TRUE): the receive in progress returns
 *              -ECANCELED at once (GST_FLOW_FLUSHING); unlock_stop clears it.
 *   PAUSED     a thread calls zc_consumer_keepalive(): a paused pipeline
 *              asks for no frames, and the producer would evict it as hung
 *              after its heartbeat timeout.  (In block policy a consumer
 *              that keeps the producer waiting is still evicted: a stall.)
 *   stop       deactivates the pool, drops our references.
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
 * pass as sent.  In gstzcsrc-receive.c.
 *
 * Threads: create runs in the streaming thread and is the only caller of
 * receive and get_stats (libzc's rule); unlock and unlock_stop come from
 * other threads and only cancel.  Properties and counters are under the
 * object lock.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/zc/gstzcallocator.h>

#include "gstzcframepool.h"

#include "gstzcsrc-private.h"

GST_DEBUG_CATEGORY (gst_zc_src_debug);
#define GST_CAT_DEFAULT gst_zc_src_debug



#define DEFAULT_IS_LIVE TRUE
#define DEFAULT_TIMEOUT 0
#define DEFAULT_RECONNECT FALSE
#define DEFAULT_MAX_HELD 0

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
      "generation", G_TYPE_UINT, self->generation,
      "latency-last", G_TYPE_UINT64, self->latency_last,
      "latency-average", G_TYPE_UINT64,
      self->latency_n ? self->latency_sum / self->latency_n : (guint64) 0,
      "latency-max", G_TYPE_UINT64, self->latency_max, NULL);
  GST_OBJECT_UNLOCK (self);
  return s;
}

static gboolean
gst_zc_src_start (GstBaseSrc * bsrc)
{
  GstZcSrc *self = GST_ZC_SRC (bsrc);
  zc_consumer_config_t cfg;
  zc_consumer_t *consumer;
  GstAllocator *allocator;
  GstBufferPool *frame_pool;
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
  gst_segment_init (&self->producer_segment, GST_FORMAT_UNDEFINED);
  gst_zc_src_clear_pending (self);

  allocator = gst_zc_allocator_new_consumer (consumer);
  frame_pool = gst_zc_frame_pool_new (GST_ZC_ALLOCATOR (allocator));
  if (frame_pool == NULL) {
    GST_ELEMENT_ERROR (self, CORE, FAILED,
        ("Could not set up the buffers frames go out in."), (NULL));
    gst_object_unref (allocator);
    goto fail;
  }

  GST_OBJECT_LOCK (self);
  self->allocator = allocator;
  self->consumer = consumer;
  self->frame_pool = frame_pool;
  self->frames = self->bytes = self->reconnects = self->drops = 0;
  self->generation = 0;
  self->latency_last = self->latency_max = 0;
  self->latency_sum = self->latency_n = 0;
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
  GstBufferPool *frame_pool;

  GST_OBJECT_LOCK (self);
  allocator = self->allocator;
  frame_pool = self->frame_pool;
  self->allocator = NULL;
  self->consumer = NULL;
  self->frame_pool = NULL;
  GST_OBJECT_UNLOCK (self);

  gst_zc_src_clear_pending (self);
  gst_clear_object (&self->monotonic_clock);
  /* Buffers still downstream keep the pool, the allocator, and with it
   * the consumer, until their last unref; the idle ones go now. */
  if (frame_pool) {
    gst_buffer_pool_set_active (frame_pool, FALSE);
    gst_object_unref (frame_pool);
  }
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
  gst_clear_object (&self->monotonic_clock);
  if (self->frame_pool) {
    gst_buffer_pool_set_active (self->frame_pool, FALSE);
    gst_object_unref (self->frame_pool);
  }
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
          "generation (pool generation of the last frame), latency-last, "
          "latency-average, latency-max (ns from the producer's publish to "
          "zcsrc making its buffer, both on CLOCK_MONOTONIC: the transport "
          "alone, not the pipelines around it)",
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

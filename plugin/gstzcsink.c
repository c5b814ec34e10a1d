/* gst-zerocopy plugin: zcsink, the producer element.
 *
 * Life of the element:
 *   start    creates the libzc producer (the channel and its control
 *            socket), a GstZcAllocator that owns it, and a GstZcBufferPool
 *            over that allocator.  Bad settings fail here, with an error
 *            message naming the value and what is allowed.
 *   propose_allocation
 *            offers the pool and the allocator upstream, so an upstream
 *            element that uses them writes its frames straight into
 *            shared memory.
 *   set_caps sends the caps string as the channel's format, in order
 *            with the frames, and grows the blocks when a frame would not
 *            fit.
 *   render   publishes a buffer whose only memory is a whole, unpublished
 *            block of our allocator with zero copies; copies any other
 *            buffer once into a block.  Timestamps cross as running time
 *            on CLOCK_MONOTONIC (gstzcwire.h).  In gstzcsink-render.c.
 *   event    stream-start, segment and tags become the channel's sticky
 *            blobs; EOS goes to every consumer; flushes interrupt waits.
 *   stop     drops the pool and the allocator.  The producer goes with
 *            the allocator, after the last of its memories: buffers still
 *            held upstream keep their blocks valid.
 *
 * Threads: render, set_caps and events come from the streaming thread;
 * unlock/unlock_stop and property reads from any; consumer_changed from
 * libzc's control thread (element messages on the bus).  Counters are
 * under the object lock.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <string.h>

#include <gst/audio/audio.h>
#include <gst/video/video.h>
#include <gst/zc/gstzcallocator.h>
#include "gstzcallocator-private.h"
#include <gst/zc/gstzcbufferpool.h>

#include "gstzcsink-private.h"
#include "gstzcwire.h"

GST_DEBUG_CATEGORY (gst_zc_sink_debug);
#define GST_CAT_DEFAULT gst_zc_sink_debug


#define DEFAULT_CHANNEL NULL
#define DEFAULT_SOCKET_PATH NULL
#define DEFAULT_POLICY GST_ZC_POLICY_BLOCK
#define DEFAULT_MAX_CONSUMERS 32
#define DEFAULT_BUFFERS 16
#define DEFAULT_WAIT_FOR_CONSUMER FALSE
#define DEFAULT_PERMISSIONS 0
#define DEFAULT_HEARTBEAT_TIMEOUT (2 * GST_SECOND)
#define DEFAULT_CRC FALSE

/* Blocks start small and grow with the caps or the first large buffer. */
#define INITIAL_BLOCK_SIZE 4096

enum
{
  PROP_0,
  PROP_CHANNEL,
  PROP_SOCKET_PATH,
  PROP_POLICY,
  PROP_MAX_CONSUMERS,
  PROP_BUFFERS,
  PROP_WAIT_FOR_CONSUMER,
  PROP_PERMISSIONS,
  PROP_HEARTBEAT_TIMEOUT,
  PROP_CRC,
  PROP_STATS,
};

enum
{
  SIGNAL_CONSUMER_CONNECTED,
  SIGNAL_CONSUMER_DISCONNECTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

#define gst_zc_sink_parent_class parent_class
G_DEFINE_TYPE (GstZcSink, gst_zc_sink, GST_TYPE_BASE_SINK);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

GType
gst_zc_policy_get_type (void)
{
  static gsize id = 0;
  static const GEnumValue values[] = {
    {GST_ZC_POLICY_BLOCK, "Lossless: wait for the slowest consumer",
        "block"},
    {GST_ZC_POLICY_DROP, "Writer first: a consumer that is behind misses "
          "frames", "drop"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&id))
    g_once_init_leave (&id, g_enum_register_static ("GstZcPolicy", values));
  return (GType) id;
}

GType
gst_zc_permissions_get_type (void)
{
  static gsize id = 0;
  static const GFlagsValue values[] = {
    {GST_ZC_PERMISSIONS_GROUP, "Processes of the sink's group", "group"},
    {GST_ZC_PERMISSIONS_OTHERS, "Any user", "others"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&id))
    g_once_init_leave (&id, g_flags_register_static ("GstZcPermissions",
            values));
  return (GType) id;
}

/* --- consumer notifications (libzc's control thread) --- */

static void
consumer_notify_free (gpointer data)
{
  ConsumerNotify *notify = data;

  g_mutex_clear (&notify->lock);
  g_free (notify);
}

static void
consumer_changed (void *user_data, zc_consumer_change_t change,
    unsigned slot, pid_t pid)
{
  ConsumerNotify *notify = user_data;
  const gchar *name, *reason;
  GstZcSink *self;

  g_mutex_lock (&notify->lock);
  self = notify->sink ? gst_object_ref (notify->sink) : NULL;
  g_mutex_unlock (&notify->lock);
  if (self == NULL)
    return;

  if (change == ZC_CONSUMER_ATTACHED) {
    name = "zcsink-consumer-connected";
    reason = "attached";
  } else {
    name = "zcsink-consumer-disconnected";
    reason = change == ZC_CONSUMER_EVICTED ? "evicted" : "left";
  }
  GST_INFO_OBJECT (self, "consumer in slot %u (pid %d) %s", slot, (int) pid,
      reason);
  /* The signal first: an application that sees the message can count on
   * its handlers having run. */
  g_signal_emit (self, signals[change == ZC_CONSUMER_ATTACHED ?
          SIGNAL_CONSUMER_CONNECTED : SIGNAL_CONSUMER_DISCONNECTED], 0, slot,
      (gint) pid);
  gst_element_post_message (GST_ELEMENT_CAST (self),
      gst_message_new_element (GST_OBJECT_CAST (self),
          gst_structure_new (name, "slot", G_TYPE_UINT, slot,
              "pid", G_TYPE_INT, (gint) pid,
              "reason", G_TYPE_STRING, reason, NULL)));
  gst_object_unref (self);
}

/* --- start / stop --- */

static gboolean
gst_zc_sink_start (GstBaseSink * bsink)
{
  GstZcSink *self = GST_ZC_SINK (bsink);
  zc_producer_config_t config;
  zc_producer_t *producer = NULL;
  ConsumerNotify *notify;
  GstAllocator *allocator;
  gchar *channel, *socket_path;
  int ret;

  self->clock_sent = G_MAXUINT64;
  GST_OBJECT_LOCK (self);
  channel = g_strdup (self->channel);
  socket_path = g_strdup (self->socket_path);
  zc_producer_config_init (&config);
  config.block_size = INITIAL_BLOCK_SIZE;
  config.n_blocks = self->buffers;
  config.max_consumers = self->max_consumers;
  config.policy = (zc_policy_t) self->policy;
  config.permissions = (uint32_t) self->permissions;
  config.crc = self->crc;
  config.heartbeat_timeout_ns = self->heartbeat_timeout;
  GST_OBJECT_UNLOCK (self);

  if (channel == NULL && socket_path == NULL) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("No channel to publish on: set the \"channel\" or the "
            "\"socket-path\" property."), (NULL));
    goto failed;
  }
  if (channel != NULL && zc_channel_name_validate (channel) < 0) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Invalid channel name \"%s\": use 1 to %u characters of A-Z, a-z, "
            "0-9, '_' and '-'.", channel, ZC_CHANNEL_NAME_MAX), (NULL));
    goto failed;
  }

  notify = g_new0 (ConsumerNotify, 1);
  g_mutex_init (&notify->lock);
  notify->sink = self;
  config.name = channel;
  config.socket_path = socket_path;
  config.consumer_changed = consumer_changed;
  config.user_data = notify;

  ret = zc_producer_new (&config, &producer);
  if (ret < 0) {
    consumer_notify_free (notify);
    if (ret == -EADDRINUSE)
      GST_ELEMENT_ERROR (self, RESOURCE, BUSY,
          ("Channel \"%s\" already has a running producer.",
              channel ? channel : socket_path),
          ("zc_producer_new: %s", zc_strerror (ret)));
    else
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
          ("Could not create channel \"%s\": %s.",
              channel ? channel : socket_path, zc_strerror (ret)),
          ("zc_producer_new: %s (buffers %u, max-consumers %u)",
              zc_strerror (ret), config.n_blocks, config.max_consumers));
    goto failed;
  }

  allocator = gst_zc_allocator_new_producer (producer);
  /* Freed by the allocator after the producer, whose control thread is
   * the only other user (see ConsumerNotify). */
  g_object_set_data_full (G_OBJECT (allocator), "gst-zc-sink-notify", notify,
      consumer_notify_free);

  GST_OBJECT_LOCK (self);
  self->allocator = GST_ZC_ALLOCATOR (allocator);
  self->pool = gst_zc_buffer_pool_new (self->allocator);
  self->notify = notify;
  self->frames = self->bytes = self->copies = 0;
  GST_OBJECT_UNLOCK (self);
  g_atomic_int_set (&self->flushing, 0);

  GST_INFO_OBJECT (self, "publishing on %s", zc_producer_socket_path
      (producer));
  g_free (channel);
  g_free (socket_path);
  return TRUE;

failed:
  g_free (channel);
  g_free (socket_path);
  return FALSE;
}

static gboolean
gst_zc_sink_stop (GstBaseSink * bsink)
{
  GstZcSink *self = GST_ZC_SINK (bsink);
  GstZcAllocator *allocator;
  ConsumerNotify *notify;
  GstBufferPool *pool;

  GST_OBJECT_LOCK (self);
  allocator = g_steal_pointer (&self->allocator);
  pool = g_steal_pointer (&self->pool);
  notify = g_steal_pointer (&self->notify);
  GST_OBJECT_UNLOCK (self);
  gst_clear_object (&self->monotonic_clock);

  if (notify) {
    g_mutex_lock (&notify->lock);
    notify->sink = NULL;
    g_mutex_unlock (&notify->lock);
  }
  if (pool)
    gst_object_unref (pool);
  if (allocator)
    gst_object_unref (allocator);
  return TRUE;
}

GstZcAllocator *
gst_zc_sink_get_allocator (GstZcSink * self)
{
  GstZcAllocator *allocator = NULL;

  GST_OBJECT_LOCK (self);
  if (self->allocator)
    allocator = gst_object_ref (self->allocator);
  GST_OBJECT_UNLOCK (self);
  return allocator;
}

/* --- allocation and caps --- */

/* Bytes of one frame of @caps, or 0 when the caps do not say. */
static gsize
frame_size_from_caps (GstCaps * caps)
{
  GstVideoInfo vinfo;

  if (caps && gst_caps_is_fixed (caps)
      && gst_structure_has_name (gst_caps_get_structure (caps, 0),
          "video/x-raw") && gst_video_info_from_caps (&vinfo, caps))
    return GST_VIDEO_INFO_SIZE (&vinfo);
  return 0;
}

static gboolean
gst_zc_sink_propose_allocation (GstBaseSink * bsink, GstQuery * query)
{
  GstZcSink *self = GST_ZC_SINK (bsink);
  GstStructure *config;
  GstBufferPool *pool;
  GstCaps *caps = NULL;
  gboolean need_pool;
  gsize size;

  gst_query_parse_allocation (query, &caps, &need_pool);

  GST_OBJECT_LOCK (self);
  if (self->allocator == NULL) {
    GST_OBJECT_UNLOCK (self);
    return FALSE;
  }
  /* A pool upstream already uses cannot be reconfigured: offer a fresh
   * one over the same allocator. */
  if (gst_buffer_pool_is_active (self->pool)) {
    gst_object_unref (self->pool);
    self->pool = gst_zc_buffer_pool_new (self->allocator);
  }
  pool = gst_object_ref (self->pool);
  GST_OBJECT_UNLOCK (self);

  size = frame_size_from_caps (caps);
  if (caps && size > 0) {
    config = gst_buffer_pool_get_config (pool);
    gst_buffer_pool_config_set_params (config, caps, (guint) size, 2, 0);
    gst_buffer_pool_config_add_option (config,
        GST_BUFFER_POOL_OPTION_VIDEO_META);
    if (gst_buffer_pool_set_config (pool, config))
      gst_query_add_allocation_pool (query, pool, (guint) size, 2, 0);
    else
      GST_WARNING_OBJECT (self, "pool refused the configuration for %"
          GST_PTR_FORMAT, caps);
  } else {
    /* No frame size in the caps (audio, encoded): the pool cannot be
     * sized; upstream may still allocate from our allocator. */
    GST_DEBUG_OBJECT (self, "no frame size in %" GST_PTR_FORMAT
        ": allocator only", caps);
  }
  gst_object_unref (pool);

  gst_query_add_allocation_param (query, GST_ALLOCATOR_CAST (self->allocator),
      NULL);
  gst_query_add_allocation_meta (query, GST_VIDEO_META_API_TYPE, NULL);
  gst_query_add_allocation_meta (query, GST_AUDIO_META_API_TYPE, NULL);
  return TRUE;
}

gboolean
gst_zc_sink_grow_blocks (GstZcSink * self, GstZcAllocator * allocator,
    guint64 size, guint64 capacity)
{
  int ret;

  if (capacity == 0) {
    GstMemory *probe = gst_zc_allocator_acquire (allocator, 0, NULL);

    /* No free block: the copy path finds out at its next acquire. */
    if (probe == NULL)
      return TRUE;
    capacity = probe->maxsize;
    gst_memory_unref (probe);
  }
  if (size <= capacity)
    return TRUE;
  ret = gst_zc_allocator_resize (allocator, size, 0);
  if (ret < 0) {
    GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT,
        ("Could not grow the shared-memory blocks to %" G_GUINT64_FORMAT
            " bytes per frame: %s.", size, zc_strerror (ret)), (NULL));
    return FALSE;
  }
  GST_INFO_OBJECT (self, "blocks grown from %" G_GUINT64_FORMAT " to %"
      G_GUINT64_FORMAT " bytes", capacity, size);
  return TRUE;
}

static gboolean
gst_zc_sink_set_caps (GstBaseSink * bsink, GstCaps * caps)
{
  GstZcSink *self = GST_ZC_SINK (bsink);
  GstZcAllocator *allocator;
  gboolean res = FALSE;
  gchar *str;
  int ret;

  allocator = gst_zc_sink_get_allocator (self);
  if (allocator == NULL)
    return FALSE;

  str = gst_caps_to_string (caps);
  ret = zc_producer_set_format (gst_zc_allocator_get_producer (allocator),
      str, strlen (str) + 1);
  if (ret < 0) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("Could not send the caps to the consumers: %s.", zc_strerror (ret)),
        ("caps %s", str));
    goto done;
  }
  GST_DEBUG_OBJECT (self, "format %s", str);
  res = gst_zc_sink_grow_blocks (self, allocator,
      frame_size_from_caps (caps), 0);

done:
  g_free (str);
  gst_object_unref (allocator);
  return res;
}

/* --- events --- */

static gboolean
gst_zc_sink_event (GstBaseSink * bsink, GstEvent * event)
{
  GstZcSink *self = GST_ZC_SINK (bsink);
  GstZcAllocator *allocator = gst_zc_sink_get_allocator (self);
  zc_producer_t *producer;
  guint32 id;
  gchar *blob;
  int ret;

  if (allocator == NULL)
    goto chain;
  producer = gst_zc_allocator_get_producer (allocator);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_EOS:
      ret = zc_producer_send_eos (producer);
      GST_DEBUG_OBJECT (self, "EOS sent to %d consumers", ret);
      break;
    case GST_EVENT_FLUSH_START:
      /* Unblocks a publish waiting for room, takes back what consumers
       * have not read yet and tells them to flush, in order. */
      zc_producer_set_flushing (producer, true);
      ret = zc_producer_flush (producer);
      GST_DEBUG_OBJECT (self, "flush sent to %d consumers", ret);
      break;
    case GST_EVENT_FLUSH_STOP:
      zc_producer_set_flushing (producer, false);
      break;
    default:
      if (gst_zc_event_serialize (event, &id, &blob)) {
        ret = zc_producer_set_sticky (producer, id, blob, strlen (blob) + 1);
        if (ret < 0)
          GST_WARNING_OBJECT (self, "%s event not sent (%s): %s",
              GST_EVENT_TYPE_NAME (event), zc_strerror (ret), blob);
        g_free (blob);
      }
      break;
  }
  gst_object_unref (allocator);

chain:
  return GST_BASE_SINK_CLASS (parent_class)->event (bsink, event);
}

/* unlock (TRUE) / unlock_stop (FALSE): waits for a block, for room in a
 * consumer's queue or for a consumer return at once until cleared. */
static void
gst_zc_sink_set_flushing (GstZcSink * self, gboolean flushing)
{
  GstZcAllocator *allocator = gst_zc_sink_get_allocator (self);

  g_atomic_int_set (&self->flushing, flushing);
  if (allocator) {
    zc_producer_set_flushing (gst_zc_allocator_get_producer (allocator),
        flushing);
    gst_object_unref (allocator);
  }
}

static gboolean
gst_zc_sink_unlock (GstBaseSink * bsink)
{
  gst_zc_sink_set_flushing (GST_ZC_SINK (bsink), TRUE);
  return TRUE;
}

static gboolean
gst_zc_sink_unlock_stop (GstBaseSink * bsink)
{
  gst_zc_sink_set_flushing (GST_ZC_SINK (bsink), FALSE);
  return TRUE;
}

/* --- properties --- */

static GstStructure *
gst_zc_sink_get_stats (GstZcSink * self)
{
  GstZcAllocator *allocator = gst_zc_sink_get_allocator (self);
  zc_channel_stats_t *st = g_new0 (zc_channel_stats_t, 1);
  guint64 frames, bytes, copies, drops = 0;
  GstStructure *s;
  guint i;

  if (allocator) {
    zc_producer_get_stats (gst_zc_allocator_get_producer (allocator), st);
    gst_object_unref (allocator);
  }
  for (i = 0; i < st->n_consumers && i < ZC_CHANNEL_MAX_CONSUMERS; i++)
    drops += st->consumers[i].drops;

  GST_OBJECT_LOCK (self);
  frames = self->frames;
  bytes = self->bytes;
  copies = self->copies;
  GST_OBJECT_UNLOCK (self);

  s = gst_structure_new ("application/x-zcsink-stats",
      "frames", G_TYPE_UINT64, frames,
      "bytes", G_TYPE_UINT64, bytes,
      "copies", G_TYPE_UINT64, copies,
      "drops", G_TYPE_UINT64, drops,
      "consumers", G_TYPE_UINT, st->n_consumers,
      "pool-free", G_TYPE_UINT, st->pool.n_free,
      "pool-blocks", G_TYPE_UINT, st->pool.n_blocks,
      "generation", G_TYPE_UINT, st->generation, NULL);
  g_free (st);
  return s;
}

static void
gst_zc_sink_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstZcSink *self = GST_ZC_SINK (object);

  gboolean running;

  GST_OBJECT_LOCK (self);
  running = self->allocator != NULL;
  GST_OBJECT_UNLOCK (self);
  if (running && prop_id != PROP_WAIT_FOR_CONSUMER)
    GST_WARNING_OBJECT (self, "\"%s\" takes effect at the next start",
        pspec->name);

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
    case PROP_POLICY:
      self->policy = g_value_get_enum (value);
      break;
    case PROP_MAX_CONSUMERS:
      self->max_consumers = g_value_get_uint (value);
      break;
    case PROP_BUFFERS:
      self->buffers = g_value_get_uint (value);
      break;
    case PROP_WAIT_FOR_CONSUMER:
      self->wait_for_consumer = g_value_get_boolean (value);
      break;
    case PROP_PERMISSIONS:
      self->permissions = g_value_get_flags (value);
      break;
    case PROP_HEARTBEAT_TIMEOUT:
      self->heartbeat_timeout = g_value_get_uint64 (value);
      break;
    case PROP_CRC:
      self->crc = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_zc_sink_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstZcSink *self = GST_ZC_SINK (object);

  if (prop_id == PROP_STATS) {
    g_value_take_boxed (value, gst_zc_sink_get_stats (self));
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
    case PROP_POLICY:
      g_value_set_enum (value, self->policy);
      break;
    case PROP_MAX_CONSUMERS:
      g_value_set_uint (value, self->max_consumers);
      break;
    case PROP_BUFFERS:
      g_value_set_uint (value, self->buffers);
      break;
    case PROP_WAIT_FOR_CONSUMER:
      g_value_set_boolean (value, self->wait_for_consumer);
      break;
    case PROP_PERMISSIONS:
      g_value_set_flags (value, self->permissions);
      break;
    case PROP_HEARTBEAT_TIMEOUT:
      g_value_set_uint64 (value, self->heartbeat_timeout);
      break;
    case PROP_CRC:
      g_value_set_boolean (value, self->crc);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_zc_sink_finalize (GObject * object)
{
  GstZcSink *self = GST_ZC_SINK (object);

  g_free (self->channel);
  g_free (self->socket_path);
  gst_clear_object (&self->monotonic_clock);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_zc_sink_class_init (GstZcSinkClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *bsink_class = GST_BASE_SINK_CLASS (klass);
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
      | GST_PARAM_MUTABLE_READY;

  GST_DEBUG_CATEGORY_INIT (gst_zc_sink_debug, "zcsink", 0,
      "zerocopy shared-memory sink");

  gobject_class->set_property = gst_zc_sink_set_property;
  gobject_class->get_property = gst_zc_sink_get_property;
  gobject_class->finalize = gst_zc_sink_finalize;

  /**
   * GstZcSink::consumer-connected:
   * @sink: the zcsink
   * @slot: the consumer's slot in the channel (1-63)
   * @pid: its process id
   *
   * A consumer attached (shmsink's "client-connected").  Emitted from the
   * producer's control thread; the "zcsink-consumer-connected" element
   * message follows on the bus.
   */
  signals[SIGNAL_CONSUMER_CONNECTED] = g_signal_new ("consumer-connected",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_INT);
  /**
   * GstZcSink::consumer-disconnected:
   * @sink: the zcsink
   * @slot: the slot the consumer had
   * @pid: its process id
   *
   * A consumer left, died or was evicted; its blocks are back.  Emitted
   * from the producer's control thread, before the
   * "zcsink-consumer-disconnected" element message (which says why).
   */
  signals[SIGNAL_CONSUMER_DISCONNECTED] =
      g_signal_new ("consumer-disconnected", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT,
      G_TYPE_INT);

  g_object_class_install_property (gobject_class, PROP_CHANNEL,
      g_param_spec_string ("channel", "Channel",
          "Name of the channel to publish on: 1 to 255 characters of A-Z, "
          "a-z, 0-9, '_' and '-'; its socket lives in $XDG_RUNTIME_DIR/"
          "zerocopy/ (or /tmp/zerocopy-UID/).  Set this or socket-path",
          DEFAULT_CHANNEL, rw));
  g_object_class_install_property (gobject_class, PROP_SOCKET_PATH,
      g_param_spec_string ("socket-path", "Socket path",
          "Explicit path of the control socket (at most 107 bytes), "
          "instead of the channel's default location", DEFAULT_SOCKET_PATH,
          rw));
  g_object_class_install_property (gobject_class, PROP_POLICY,
      g_param_spec_enum ("policy", "Policy",
          "What to do about a consumer that has no room for another frame",
          GST_TYPE_ZC_POLICY, DEFAULT_POLICY, rw));
  g_object_class_install_property (gobject_class, PROP_MAX_CONSUMERS,
      g_param_spec_uint ("max-consumers", "Max consumers",
          "Most consumers attached at once", 1, ZC_CHANNEL_MAX_CONSUMERS,
          DEFAULT_MAX_CONSUMERS, rw));
  g_object_class_install_property (gobject_class, PROP_BUFFERS,
      g_param_spec_uint ("buffers", "Buffers",
          "Shared-memory blocks in the pool (frames in flight between "
          "upstream, the sink and all consumers)", 2, 1024, DEFAULT_BUFFERS,
          rw));
  g_object_class_install_property (gobject_class, PROP_WAIT_FOR_CONSUMER,
      g_param_spec_boolean ("wait-for-consumer", "Wait for consumer",
          "Hold each frame until at least one consumer is attached, "
          "instead of publishing it to nobody", DEFAULT_WAIT_FOR_CONSUMER,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
          | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_PERMISSIONS,
      g_param_spec_flags ("permissions", "Permissions",
          "Who besides this user may attach as a consumer",
          GST_TYPE_ZC_PERMISSIONS, DEFAULT_PERMISSIONS, rw));
  g_object_class_install_property (gobject_class, PROP_HEARTBEAT_TIMEOUT,
      g_param_spec_uint64 ("heartbeat-timeout", "Heartbeat timeout",
          "Nanoseconds of silence after which a hung consumer is evicted "
          "and its blocks reclaimed", GST_MSECOND, 3600 * GST_SECOND,
          DEFAULT_HEARTBEAT_TIMEOUT, rw));
  g_object_class_install_property (gobject_class, PROP_CRC,
      g_param_spec_boolean ("crc", "CRC",
          "Write a CRC32C of every frame at publish, so consumers can "
          "verify the bytes they read", DEFAULT_CRC, rw));
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "Counters: frames, bytes, copies (frames not from the sink's "
          "pool), drops (frames consumers missed), consumers, pool-free, "
          "pool-blocks, generation", GST_TYPE_STRUCTURE,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_set_static_metadata (element_class,
      "Zero-copy shared-memory sink", "Sink",
      "Publishes buffers to other processes through shared memory, without "
      "copying those from its own buffer pool",
      "gst-zerocopy developers");

  gst_type_mark_as_plugin_api (GST_TYPE_ZC_POLICY, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_ZC_PERMISSIONS, 0);

  bsink_class->start = GST_DEBUG_FUNCPTR (gst_zc_sink_start);
  bsink_class->stop = GST_DEBUG_FUNCPTR (gst_zc_sink_stop);
  bsink_class->propose_allocation =
      GST_DEBUG_FUNCPTR (gst_zc_sink_propose_allocation);
  bsink_class->set_caps = GST_DEBUG_FUNCPTR (gst_zc_sink_set_caps);
  bsink_class->event = GST_DEBUG_FUNCPTR (gst_zc_sink_event);
  bsink_class->unlock = GST_DEBUG_FUNCPTR (gst_zc_sink_unlock);
  bsink_class->unlock_stop = GST_DEBUG_FUNCPTR (gst_zc_sink_unlock_stop);
  bsink_class->render = GST_DEBUG_FUNCPTR (gst_zc_sink_render);
}

static void
gst_zc_sink_init (GstZcSink * self)
{
  self->channel = g_strdup (DEFAULT_CHANNEL);
  self->socket_path = g_strdup (DEFAULT_SOCKET_PATH);
  self->policy = DEFAULT_POLICY;
  self->max_consumers = DEFAULT_MAX_CONSUMERS;
  self->buffers = DEFAULT_BUFFERS;
  self->wait_for_consumer = DEFAULT_WAIT_FOR_CONSUMER;
  self->permissions = DEFAULT_PERMISSIONS;
  self->heartbeat_timeout = DEFAULT_HEARTBEAT_TIMEOUT;
  self->crc = DEFAULT_CRC;
}

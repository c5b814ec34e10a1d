/* gst-zerocopy: zcsink and the wire format (gstzcwire.c), with gst-check.
 *
 * The sink runs in a GstHarness; a libzc consumer in the same process
 * plays the other side, so every assertion is about what really crossed
 * the channel: bytes, caps, sticky events, timestamps, metas, EOS, and the
 * sink's copy counter.  The wire tests also feed hostile bytes to the
 * readers.
 *
 * Each test gets its own channel name; all sockets live in a private
 * XDG_RUNTIME_DIR that main() removes at the end.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/check/gsttestclock.h>
#include <gst/audio/audio.h>
#include <gst/video/video.h>
#include <gst/zc/gstzcallocator.h>
#include <gst/zc/gstzcbufferpool.h>

#include "gstzcsink.h"
#include "gstzcwire.h"

#define RECV_TIMEOUT_NS (5 * GST_SECOND)
#define VIDEO_CAPS "video/x-raw, format=(string)RGBA, width=(int)64, " \
    "height=(int)48, framerate=(fraction)30/1"
#define VIDEO_SIZE (64 * 48 * 4)

static gchar *
new_channel_name (void)
{
  static gint counter = 0;

  return g_strdup_printf ("zcsink-test-%d-%d", (int) getpid (),
      g_atomic_int_add (&counter, 1));
}

static GstHarness *
new_sink_harness (const gchar * channel)
{
  GstElement *sink = gst_element_factory_make ("zcsink", NULL);
  GstHarness *h;

  fail_unless (sink != NULL);
  /* No waiting on a clock: the tests are about what crosses. */
  g_object_set (sink, "channel", channel, "sync", FALSE, NULL);
  h = gst_harness_new_with_element (sink, "sink", NULL);
  gst_object_unref (sink);
  gst_harness_play (h);
  return h;
}

static zc_consumer_t *
new_consumer (const gchar * channel)
{
  zc_consumer_config_t config;
  zc_consumer_t *c = NULL;

  zc_consumer_config_init (&config);
  config.name = channel;
  fail_unless_equals_int (zc_consumer_new (&config, &c), 0);
  return c;
}

/* What a consumer saw besides frames: the last format and sticky blobs. */
typedef struct
{
  gchar *format;
  GstEvent *sticky[4];
} Seen;

static void
seen_clear (Seen * seen)
{
  guint i;

  g_free (seen->format);
  for (i = 0; i < G_N_ELEMENTS (seen->sticky); i++)
    gst_clear_event (&seen->sticky[i]);
  memset (seen, 0, sizeof (*seen));
}

/* Receives until an event of @type (FRAME or EOS), noting what passes. */
static void
receive_until (zc_consumer_t * c, zc_event_type_t type, zc_event_t * ev,
    Seen * seen)
{
  for (;;) {
    int ret = zc_consumer_receive (c, ev, RECV_TIMEOUT_NS);

    fail_unless (ret > 0, "receive: %s", zc_strerror (ret));
    if (ev->type == type)
      return;
    switch (ev->type) {
      case ZC_EVENT_CONNECTED:
      case ZC_EVENT_FORMAT:
        g_free (seen->format);
        seen->format = ev->size ? g_strndup (ev->data, ev->size) : NULL;
        break;
      case ZC_EVENT_STICKY:
        if (ev->sticky_id == GST_ZC_STICKY_CLOCK) {
          /* not an event: how wire times map to the producer's clock */
          fail_unless (ev->size > 0 && g_str_has_prefix (ev->data,
                  "zc-clock, base-time="));
          break;
        }
        fail_unless (ev->sticky_id < G_N_ELEMENTS (seen->sticky));
        gst_clear_event (&seen->sticky[ev->sticky_id]);
        seen->sticky[ev->sticky_id] =
            gst_zc_event_deserialize (ev->sticky_id, ev->data, ev->size);
        fail_unless (seen->sticky[ev->sticky_id] != NULL);
        break;
      case ZC_EVENT_FRAME:
        zc_consumer_release (c, &ev->frame);
        break;
      default:
        fail ("unexpected event %d", ev->type);
    }
  }
}

static guint64
stats_get (GstElement * sink, const gchar * field)
{
  GstStructure *s = NULL;
  guint64 v64 = 0;
  guint v = 0;

  g_object_get (sink, "stats", &s, NULL);
  fail_unless (s != NULL);
  if (!gst_structure_get_uint64 (s, field, &v64)) {
    fail_unless (gst_structure_get_uint (s, field, &v), "no %s", field);
    v64 = v;
  }
  gst_structure_free (s);
  return v64;
}

static GstBuffer *
pattern_buffer (gsize size, guint8 seed)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, size, NULL);
  GstMapInfo map;
  gsize i;

  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  for (i = 0; i < size; i++)
    map.data[i] = (guint8) (i * 7 + seed);
  gst_buffer_unmap (buf, &map);
  return buf;
}

static void
check_pattern (const zc_frame_t * frame, gsize size, guint8 seed)
{
  const guint8 *data = frame->data;
  gsize i;

  fail_unless_equals_uint64 (frame->desc.size, size);
  for (i = 0; i < size; i++)
    if (data[i] != (guint8) (i * 7 + seed))
      fail ("byte %" G_GSIZE_FORMAT " differs", i);
}

/* --- element tests --- */

GST_START_TEST (test_property_defaults)
{
  GstElement *sink = gst_element_factory_make ("zcsink", NULL);
  gchar *channel, *socket_path;
  guint max_consumers, n_buffers, permissions;
  gboolean wait, crc;
  guint64 hb;
  gint policy;
  GParamSpecUInt *pu;

  g_object_get (sink, "channel", &channel, "socket-path", &socket_path,
      "policy", &policy, "max-consumers", &max_consumers, "buffers",
      &n_buffers, "wait-for-consumer", &wait, "permissions", &permissions,
      "heartbeat-timeout", &hb, "crc", &crc, NULL);
  fail_unless (channel == NULL && socket_path == NULL);
  fail_unless_equals_int (policy, GST_ZC_POLICY_BLOCK);
  fail_unless_equals_int (max_consumers, 32);
  fail_unless_equals_int (n_buffers, 16);
  fail_unless (!wait && !crc);
  fail_unless_equals_int (permissions, 0);
  fail_unless_equals_uint64 (hb, 2 * GST_SECOND);

  pu = (GParamSpecUInt *) g_object_class_find_property
      (G_OBJECT_GET_CLASS (sink), "max-consumers");
  fail_unless (pu->minimum == 1 && pu->maximum == 63);
  pu = (GParamSpecUInt *) g_object_class_find_property
      (G_OBJECT_GET_CLASS (sink), "buffers");
  fail_unless (pu->minimum == 2 && pu->maximum == 1024);
  fail_unless_equals_uint64 (stats_get (sink, "frames"), 0);
  fail_unless_equals_uint64 (stats_get (sink, "copies"), 0);
  gst_object_unref (sink);
}

GST_END_TEST;

/* Going to PAUSED with @channel (NULL: none) fails with an error message
 * of RESOURCE/SETTINGS on the bus. */
static void
check_start_refused (const gchar * channel)
{
  GstElement *sink = gst_element_factory_make ("zcsink", NULL);
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *err = NULL;

  if (channel)
    g_object_set (sink, "channel", channel, NULL);
  gst_element_set_bus (sink, bus);
  fail_unless_equals_int (gst_element_set_state (sink, GST_STATE_PAUSED),
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  gst_message_parse_error (msg, &err, NULL);
  fail_unless (g_error_matches (err, GST_RESOURCE_ERROR,
          GST_RESOURCE_ERROR_SETTINGS), "%s", err->message);
  GST_INFO ("refused as expected: %s", err->message);
  g_error_free (err);
  gst_message_unref (msg);
  gst_element_set_state (sink, GST_STATE_NULL);
  gst_element_set_bus (sink, NULL);
  gst_object_unref (bus);
  gst_object_unref (sink);
}

GST_START_TEST (test_bad_channel_refused_at_start)
{
  check_start_refused (NULL);
  check_start_refused ("bad name!");
  check_start_refused ("../escape");
}

GST_END_TEST;

GST_START_TEST (test_allocation_query_proposes_pool_and_allocator)
{
  gchar *channel = new_channel_name ();
  GstHarness *h = new_sink_harness (channel);
  GstCaps *caps = gst_caps_from_string (VIDEO_CAPS);
  GstQuery *query = gst_query_new_allocation (caps, TRUE);
  GstAllocator *allocator = NULL;
  GstBufferPool *pool = NULL;
  guint size = 0, min, max, idx;

  gst_harness_set_src_caps (h, gst_caps_ref (caps));
  fail_unless (gst_pad_peer_query (h->srcpad, query));
  fail_unless (gst_query_get_n_allocation_pools (query) >= 1);
  gst_query_parse_nth_allocation_pool (query, 0, &pool, &size, &min, &max);
  fail_unless (GST_IS_ZC_BUFFER_POOL (pool));
  fail_unless_equals_int (size, VIDEO_SIZE);
  fail_unless (gst_query_get_n_allocation_params (query) >= 1);
  gst_query_parse_nth_allocation_param (query, 0, &allocator, NULL);
  fail_unless (GST_IS_ZC_ALLOCATOR (allocator));
  fail_unless (gst_query_find_allocation_meta (query,
          GST_VIDEO_META_API_TYPE, &idx));

  gst_object_unref (allocator);
  gst_object_unref (pool);
  gst_query_unref (query);
  gst_caps_unref (caps);
  gst_harness_teardown (h);
  g_free (channel);
}

GST_END_TEST;

GST_START_TEST (test_system_memory_buffer_arrives_copied_once)
{
  gchar *channel = new_channel_name ();
  GstHarness *h = new_sink_harness (channel);
  zc_consumer_t *c;
  Seen seen = { 0 };
  zc_event_t ev;
  GstBuffer *buf;

  gst_harness_set_src_caps_str (h, VIDEO_CAPS);
  c = new_consumer (channel);
  /* The caps went out before the consumer attached: they arrive first. */
  fail_unless (zc_consumer_receive (c, &ev, RECV_TIMEOUT_NS) ==
      ZC_EVENT_CONNECTED);
  fail_unless (ev.size > 0 && ((const char *) ev.data)[ev.size - 1] == '\0');
  {
    GstCaps *got = gst_caps_from_string (ev.data);
    GstCaps *want = gst_caps_from_string (VIDEO_CAPS);

    fail_unless (got && gst_caps_is_equal (got, want));
    gst_caps_unref (got);
    gst_caps_unref (want);
  }

  buf = pattern_buffer (VIDEO_SIZE, 3);
  GST_BUFFER_PTS (buf) = 0;
  GST_BUFFER_DURATION (buf) = GST_SECOND / 30;
  GST_BUFFER_OFFSET (buf) = 7;
  GST_BUFFER_OFFSET_END (buf) = 8;
  GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);

  receive_until (c, ZC_EVENT_FRAME, &ev, &seen);
  check_pattern (&ev.frame, VIDEO_SIZE, 3);
  fail_unless_equals_uint64 (ev.frame.desc.duration, GST_SECOND / 30);
  fail_unless_equals_uint64 (ev.frame.desc.offset, 7);
  fail_unless_equals_uint64 (ev.frame.desc.offset_end, 8);
  fail_unless (ev.frame.desc.buffer_flags & GST_BUFFER_FLAG_DISCONT);
  fail_unless_equals_uint64 (ev.frame.desc.dts, ZC_TIME_NONE);
  zc_consumer_release (c, &ev.frame);
  fail_unless (seen.sticky[GST_ZC_STICKY_STREAM_START] != NULL);
  fail_unless (seen.sticky[GST_ZC_STICKY_SEGMENT] != NULL);

  fail_unless_equals_uint64 (stats_get (h->element, "frames"), 1);
  fail_unless_equals_uint64 (stats_get (h->element, "copies"), 1);
  fail_unless_equals_uint64 (stats_get (h->element, "consumers"), 1);

  gst_harness_teardown (h);
  seen_clear (&seen);
  zc_consumer_free (c);
  g_free (channel);
}

GST_END_TEST;

GST_START_TEST (test_pool_buffer_arrives_with_zero_copies)
{
  gchar *channel = new_channel_name ();
  GstHarness *h = new_sink_harness (channel);
  GstCaps *caps = gst_caps_from_string (VIDEO_CAPS);
  GstQuery *query = gst_query_new_allocation (caps, TRUE);
  GstBufferPool *pool = NULL;
  zc_consumer_t *c;
  Seen seen = { 0 };
  GstBuffer *buf = NULL;
  GstMapInfo map;
  zc_event_t ev;
  gsize i;

  gst_harness_set_src_caps (h, gst_caps_ref (caps));
  fail_unless (gst_pad_peer_query (h->srcpad, query));
  gst_query_parse_nth_allocation_pool (query, 0, &pool, NULL, NULL, NULL);
  fail_unless (gst_buffer_pool_set_active (pool, TRUE));
  c = new_consumer (channel);
  fail_unless (zc_consumer_receive (c, &ev, RECV_TIMEOUT_NS) ==
      ZC_EVENT_CONNECTED);

  fail_unless_equals_int (gst_buffer_pool_acquire_buffer (pool, &buf, NULL),
      GST_FLOW_OK);
  fail_unless (gst_buffer_map (buf, &map, GST_MAP_WRITE));
  fail_unless_equals_uint64 (map.size, VIDEO_SIZE);
  for (i = 0; i < map.size; i++)
    map.data[i] = (guint8) (i * 7 + 5);
  gst_buffer_unmap (buf, &map);
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);

  receive_until (c, ZC_EVENT_FRAME, &ev, &seen);
  check_pattern (&ev.frame, VIDEO_SIZE, 5);
  zc_consumer_release (c, &ev.frame);
  fail_unless_equals_uint64 (stats_get (h->element, "frames"), 1);
  fail_unless_equals_uint64 (stats_get (h->element, "copies"), 0);

  fail_unless (gst_buffer_pool_set_active (pool, FALSE));
  gst_object_unref (pool);
  gst_query_unref (query);
  gst_caps_unref (caps);
  gst_harness_teardown (h);
  seen_clear (&seen);
  zc_consumer_free (c);
  g_free (channel);
}

GST_END_TEST;

GST_START_TEST (test_eos_and_caps_change_reach_consumer)
{
  gchar *channel = new_channel_name ();
  GstHarness *h = new_sink_harness (channel);
  const gchar *big = "video/x-raw, format=(string)RGBA, width=(int)320, "
      "height=(int)240, framerate=(fraction)30/1";
  zc_consumer_t *c;
  Seen seen = { 0 };
  zc_event_t ev;

  gst_harness_set_src_caps_str (h, VIDEO_CAPS);
  c = new_consumer (channel);
  fail_unless (zc_consumer_receive (c, &ev, RECV_TIMEOUT_NS) ==
      ZC_EVENT_CONNECTED);
  fail_unless_equals_int (gst_harness_push (h, pattern_buffer (VIDEO_SIZE,
              1)), GST_FLOW_OK);
  receive_until (c, ZC_EVENT_FRAME, &ev, &seen);
  check_pattern (&ev.frame, VIDEO_SIZE, 1);
  zc_consumer_release (c, &ev.frame);

  /* Larger frames mid-stream: new caps, blocks grow, bytes still intact. */
  gst_harness_set_src_caps_str (h, big);
  fail_unless_equals_int (gst_harness_push (h, pattern_buffer (320 * 240 *
              4, 2)), GST_FLOW_OK);
  receive_until (c, ZC_EVENT_FRAME, &ev, &seen);
  check_pattern (&ev.frame, 320 * 240 * 4, 2);
  zc_consumer_release (c, &ev.frame);
  fail_unless (seen.format != NULL);
  {
    GstCaps *got = gst_caps_from_string (seen.format);
    GstCaps *want = gst_caps_from_string (big);

    fail_unless (got && gst_caps_is_equal (got, want));
    gst_caps_unref (got);
    gst_caps_unref (want);
  }

  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  receive_until (c, ZC_EVENT_EOS, &ev, &seen);

  gst_harness_teardown (h);
  seen_clear (&seen);
  zc_consumer_free (c);
  g_free (channel);
}

GST_END_TEST;

/* The example: PTS 30 s in a segment with base 0, then PTS 1 s in
 * a segment with base 30 s, arrive 1 s apart, and the segments cross. */
GST_START_TEST (test_timestamps_cross_as_running_time)
{
  gchar *channel = new_channel_name ();
  GstHarness *h = new_sink_harness (channel);
  zc_consumer_t *c;
  Seen seen = { 0 };
  const GstSegment *got;
  GstSegment seg;
  GstBuffer *buf;
  zc_event_t ev;
  guint64 first_pts;

  /* The system clock is monotonic and the element's base time 0: the
   * wire carries the running time itself. */
  gst_harness_use_systemclock (h);
  gst_harness_set_src_caps_str (h, VIDEO_CAPS);
  c = new_consumer (channel);
  fail_unless (zc_consumer_receive (c, &ev, RECV_TIMEOUT_NS) ==
      ZC_EVENT_CONNECTED);

  buf = pattern_buffer (VIDEO_SIZE, 0);
  GST_BUFFER_PTS (buf) = 30 * GST_SECOND;
  GST_BUFFER_DTS (buf) = 30 * GST_SECOND;
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  receive_until (c, ZC_EVENT_FRAME, &ev, &seen);
  first_pts = ev.frame.desc.pts;
  fail_unless_equals_uint64 (ev.frame.desc.dts, first_pts);
  zc_consumer_release (c, &ev.frame);

  gst_segment_init (&seg, GST_FORMAT_TIME);
  seg.base = 30 * GST_SECOND;
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
  buf = pattern_buffer (VIDEO_SIZE, 0);
  GST_BUFFER_PTS (buf) = 1 * GST_SECOND;
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  receive_until (c, ZC_EVENT_FRAME, &ev, &seen);
  fail_unless_equals_uint64 (ev.frame.desc.pts - first_pts, GST_SECOND);
  zc_consumer_release (c, &ev.frame);

  fail_unless (seen.sticky[GST_ZC_STICKY_SEGMENT] != NULL);
  gst_event_parse_segment (seen.sticky[GST_ZC_STICKY_SEGMENT], &got);
  fail_unless (gst_segment_is_equal (got, &seg));

  gst_harness_teardown (h);
  seen_clear (&seen);
  zc_consumer_free (c);
  g_free (channel);
}

GST_END_TEST;

static void
on_consumer_signal (G_GNUC_UNUSED GstElement * sink, guint slot, gint pid,
    gpointer data)
{
  gint *seen = data;

  /* Control thread: the test reads after the bus message that follows. */
  if (slot >= 1 && slot < 64 && pid == getpid ())
    g_atomic_int_inc (seen);
}

GST_START_TEST (test_consumer_messages_on_bus)
{
  gint connected = 0, disconnected = 0;
  gchar *channel = new_channel_name ();
  GstHarness *h = new_sink_harness (channel);
  GstBus *bus = gst_bus_new ();
  const GstStructure *s;
  zc_consumer_t *c;
  GstMessage *msg;
  zc_event_t ev;
  gint pid = 0;

  gst_element_set_bus (h->element, bus);
  g_signal_connect (h->element, "consumer-connected",
      G_CALLBACK (on_consumer_signal), &connected);
  g_signal_connect (h->element, "consumer-disconnected",
      G_CALLBACK (on_consumer_signal), &disconnected);
  c = new_consumer (channel);
  fail_unless (zc_consumer_receive (c, &ev, RECV_TIMEOUT_NS) ==
      ZC_EVENT_CONNECTED);
  msg = gst_bus_timed_pop_filtered (bus, 5 * GST_SECOND,
      GST_MESSAGE_ELEMENT);
  fail_unless (msg != NULL);
  s = gst_message_get_structure (msg);
  fail_unless (gst_structure_has_name (s, "zcsink-consumer-connected"));
  fail_unless (gst_structure_get_int (s, "pid", &pid));
  fail_unless_equals_int (pid, getpid ());
  gst_message_unref (msg);
  fail_unless_equals_int (g_atomic_int_get (&connected), 1);
  fail_unless_equals_int (g_atomic_int_get (&disconnected), 0);

  zc_consumer_free (c);
  msg = gst_bus_timed_pop_filtered (bus, 5 * GST_SECOND,
      GST_MESSAGE_ELEMENT);
  fail_unless (msg != NULL);
  s = gst_message_get_structure (msg);
  fail_unless (gst_structure_has_name (s, "zcsink-consumer-disconnected"));
  gst_message_unref (msg);
  fail_unless_equals_int (g_atomic_int_get (&disconnected), 1);

  /* Drop queued and later messages: each holds a ref on the element. */
  gst_bus_set_flushing (bus, TRUE);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_free (channel);
}

GST_END_TEST;

/* --- wire: clocks --- */

/* Wire times are on CLOCK_MONOTONIC: only a system clock of that type
 * needs no measured offset; the answer is remembered per clock. */
GST_START_TEST (test_clock_is_monotonic)
{
  GstClock *system = gst_system_clock_obtain ();
  GstClock *realtime = g_object_new (GST_TYPE_SYSTEM_CLOCK, "clock-type",
      GST_CLOCK_TYPE_REALTIME, NULL);
  GstClock *test = gst_test_clock_new ();
  GstClockType type = GST_CLOCK_TYPE_REALTIME;

  g_object_get (system, "clock-type", &type, NULL);
  fail_unless_equals_int (gst_zc_clock_is_monotonic (system),
      type == GST_CLOCK_TYPE_MONOTONIC);
  fail_if (gst_zc_clock_is_monotonic (realtime));
  /* Again, now from what was remembered on the clock. */
  fail_if (gst_zc_clock_is_monotonic (realtime));
  fail_if (gst_zc_clock_is_monotonic (test));

  gst_object_unref (test);
  gst_object_unref (realtime);
  gst_object_unref (system);
}

GST_END_TEST;

/* --- wire: sticky events --- */

static GstEvent *
round_trip_event (GstEvent * ev)
{
  GstEvent *back;
  guint32 id = 0;
  gchar *blob = NULL;

  fail_unless (gst_zc_event_serialize (ev, &id, &blob));
  back = gst_zc_event_deserialize (id, blob, strlen (blob) + 1);
  fail_unless (back != NULL, "did not parse back: %s", blob);
  fail_unless_equals_int (GST_EVENT_TYPE (back), GST_EVENT_TYPE (ev));
  g_free (blob);
  gst_event_unref (ev);
  return back;
}

GST_START_TEST (test_wire_events_round_trip)
{
  const gchar *stream_id;
  const GstSegment *got;
  GstStreamFlags flags;
  GstTagList *tags, *got_tags;
  GstSegment seg;
  GstEvent *ev;
  guint group;
  guint32 id;
  gchar *blob;

  ev = gst_event_new_stream_start ("a \"quoted\", odd; id");
  gst_event_set_stream_flags (ev, GST_STREAM_FLAG_SPARSE);
  gst_event_set_group_id (ev, 42);
  ev = round_trip_event (ev);
  gst_event_parse_stream_start (ev, &stream_id);
  fail_unless_equals_string (stream_id, "a \"quoted\", odd; id");
  gst_event_parse_stream_flags (ev, &flags);
  fail_unless_equals_int (flags, GST_STREAM_FLAG_SPARSE);
  fail_unless (gst_event_parse_group_id (ev, &group));
  fail_unless_equals_int (group, 42);
  gst_event_unref (ev);

  gst_segment_init (&seg, GST_FORMAT_TIME);
  seg.rate = -2.5;
  seg.applied_rate = 0.1;
  seg.flags = GST_SEGMENT_FLAG_RESET | GST_SEGMENT_FLAG_SKIP;
  seg.base = 30 * GST_SECOND;
  seg.offset = 3;
  seg.start = GST_SECOND;
  seg.stop = 9 * GST_SECOND;
  seg.time = 5;
  seg.position = 2 * GST_SECOND;
  seg.duration = G_MAXUINT64 - 1;
  ev = round_trip_event (gst_event_new_segment (&seg));
  gst_event_parse_segment (ev, &got);
  fail_unless (gst_segment_is_equal (got, &seg));
  fail_unless (got->rate == seg.rate && got->applied_rate == seg.applied_rate);
  fail_unless_equals_int (got->flags, seg.flags);
  gst_event_unref (ev);

  tags = gst_tag_list_new (GST_TAG_TITLE, "t\"itle, with; =odd",
      GST_TAG_BITRATE, 128000, NULL);
  gst_tag_list_set_scope (tags, GST_TAG_SCOPE_GLOBAL);
  ev = round_trip_event (gst_event_new_tag (gst_tag_list_ref (tags)));
  gst_event_parse_tag (ev, &got_tags);
  fail_unless (gst_tag_list_is_equal (got_tags, tags));
  fail_unless_equals_int (gst_tag_list_get_scope (got_tags),
      GST_TAG_SCOPE_GLOBAL);
  gst_event_unref (ev);
  gst_tag_list_unref (tags);

  ev = gst_event_new_eos ();
  fail_if (gst_zc_event_serialize (ev, &id, &blob));
  gst_event_unref (ev);
}

GST_END_TEST;

static void
check_blob_refused (guint32 id, const gchar * data, gsize size)
{
  GstEvent *ev = gst_zc_event_deserialize (id, data, size);

  fail_unless (ev == NULL, "accepted %u: %.*s", id, (int) size, data);
}

static void
check_str_refused (guint32 id, const gchar * str)
{
  check_blob_refused (id, str, strlen (str) + 1);
}

GST_START_TEST (test_wire_events_hostile_blobs_refused)
{
  const gchar ok[] = "zc-stream-start, stream-id=(string)x, "
      "flags=(uint)0, group-id=(uint)0";
  const gchar seg_fmt[] = "zc-segment, flags=(uint)0, rate=(double)%s, "
      "applied-rate=(double)1, format=(int)%d, base=(guint64)0, "
      "offset=(guint64)0, start=(guint64)%s, stop=(guint64)%s, "
      "time=(guint64)0, position=(guint64)0, duration=(guint64)0";
  gchar *str, *big;
  GstEvent *ev;

  ev = gst_zc_event_deserialize (GST_ZC_STICKY_STREAM_START, ok, sizeof ok);
  fail_unless (ev != NULL);
  gst_event_unref (ev);

  check_blob_refused (GST_ZC_STICKY_STREAM_START, ok, sizeof ok - 1);
  check_blob_refused (GST_ZC_STICKY_STREAM_START, ok, 0);
  check_blob_refused (GST_ZC_STICKY_STREAM_START, NULL, 10);
  check_blob_refused (GST_ZC_STICKY_STREAM_START, "zc-stream-start\0x", 18);
  check_str_refused (99, ok);
  check_str_refused (GST_ZC_STICKY_SEGMENT, ok);
  check_str_refused (GST_ZC_STICKY_STREAM_START, "\"\\,;=(((");
  check_str_refused (GST_ZC_STICKY_STREAM_START,
      "zc-stream-start, flags=(uint)0, group-id=(uint)0");
  check_str_refused (GST_ZC_STICKY_STREAM_START,
      "zc-stream-start, stream-id=(int)3, flags=(uint)0, group-id=(uint)0");

  str = g_strdup_printf (seg_fmt, "0", GST_FORMAT_TIME, "0", "0");
  check_str_refused (GST_ZC_STICKY_SEGMENT, str);
  g_free (str);
  str = g_strdup_printf (seg_fmt, "1", 0, "0", "0");
  check_str_refused (GST_ZC_STICKY_SEGMENT, str);
  g_free (str);
  str = g_strdup_printf (seg_fmt, "1", 77, "0", "0");
  check_str_refused (GST_ZC_STICKY_SEGMENT, str);
  g_free (str);
  str = g_strdup_printf (seg_fmt, "1", GST_FORMAT_TIME, "9", "3");
  check_str_refused (GST_ZC_STICKY_SEGMENT, str);
  g_free (str);
  str = g_strdup_printf (seg_fmt, "1", GST_FORMAT_TIME, "0", "3");
  ev = gst_zc_event_deserialize (GST_ZC_STICKY_SEGMENT, str,
      strlen (str) + 1);
  fail_unless (ev != NULL);
  gst_event_unref (ev);
  g_free (str);

  check_str_refused (GST_ZC_STICKY_TAG,
      "zc-tag, taglist=(string)\"taglist;\", scope=(int)7");
  check_str_refused (GST_ZC_STICKY_TAG,
      "zc-tag, taglist=(string)\"(((\", scope=(int)0");

  big = g_malloc (GST_ZC_STICKY_MAX + 2);
  memset (big, 'a', GST_ZC_STICKY_MAX + 1);
  big[GST_ZC_STICKY_MAX + 1] = '\0';
  check_blob_refused (GST_ZC_STICKY_STREAM_START, big, GST_ZC_STICKY_MAX + 2);
  g_free (big);
}

GST_END_TEST;

/* --- wire: metas --- */

static const GstMetaInfo *
test_custom_meta_info (void)
{
  static const GstMetaInfo *info = NULL;
  static const gchar *tags[] = { NULL };

  if (g_once_init_enter (&info))
    g_once_init_leave (&info, gst_meta_register_custom ("ZcTestMeta", tags,
            NULL, NULL, NULL));
  return info;
}

#define META_BUF_SIZE (64 * 48 * 2 + 4096)

GST_START_TEST (test_wire_metas_round_trip)
{
  gsize voff[4] = { 64, 64 + 48 * 80 + 16, 64 + 48 * 80 + 16 + 24 * 40, 0 };
  gint vstride[4] = { 80, 40, 40, 0 };
  gsize aoff[2] = { 1000, 100 };
  GstBuffer *src = gst_buffer_new_allocate (NULL, META_BUF_SIZE, NULL);
  GstBuffer *dst = gst_buffer_new_allocate (NULL, META_BUF_SIZE, NULL);
  GstCaps *unix_caps = gst_caps_from_string ("timestamp/x-unix");
  GstReferenceTimestampMeta *rm;
  GstCustomMeta *cm;
  struct zc_desc desc;
  GstAudioInfo ainfo;
  GstVideoMeta *vm;
  GstAudioMeta *am;
  gint answer = 0;
  guint i;

  test_custom_meta_info ();
  gst_buffer_add_video_meta_full (src, GST_VIDEO_FRAME_FLAG_INTERLACED,
      GST_VIDEO_FORMAT_I420, 64, 48, 3, voff, vstride);
  gst_audio_info_set_format (&ainfo, GST_AUDIO_FORMAT_S16LE, 48000, 2, NULL);
  ainfo.layout = GST_AUDIO_LAYOUT_NON_INTERLEAVED;
  gst_buffer_add_audio_meta (src, &ainfo, 100, aoff);
  gst_buffer_add_reference_timestamp_meta (src, unix_caps, 123456789, 1000);

  memset (&desc, 0xAA, sizeof desc);
  gst_zc_desc_set_metas (&desc, src);
  fail_unless (desc.meta_size > 0 && desc.meta_size <= ZC_DESC_META_SIZE);
  fail_unless (gst_zc_buffer_add_metas (dst, &desc));

  vm = gst_buffer_get_video_meta (dst);
  fail_unless (vm != NULL);
  fail_unless_equals_int (vm->format, GST_VIDEO_FORMAT_I420);
  fail_unless_equals_int (vm->flags, GST_VIDEO_FRAME_FLAG_INTERLACED);
  fail_unless (vm->width == 64 && vm->height == 48 && vm->n_planes == 3);
  for (i = 0; i < 3; i++) {
    fail_unless_equals_uint64 (vm->offset[i], voff[i]);
    fail_unless_equals_int (vm->stride[i], vstride[i]);
  }
  am = gst_buffer_get_audio_meta (dst);
  fail_unless (am != NULL);
  fail_unless_equals_int (GST_AUDIO_INFO_FORMAT (&am->info),
      GST_AUDIO_FORMAT_S16LE);
  fail_unless (am->info.rate == 48000 && am->info.channels == 2);
  fail_unless_equals_int (am->info.layout, GST_AUDIO_LAYOUT_NON_INTERLEAVED);
  fail_unless_equals_uint64 (am->samples, 100);
  fail_unless (am->offsets[0] == 1000 && am->offsets[1] == 100);
  rm = gst_buffer_get_reference_timestamp_meta (dst, unix_caps);
  fail_unless (rm != NULL);
  fail_unless_equals_uint64 (rm->timestamp, 123456789);
  fail_unless_equals_uint64 (rm->duration, 1000);
  /* Those three fill the 176 bytes: the custom meta crosses alone. */
  gst_buffer_unref (dst);
  gst_buffer_unref (src);
  src = gst_buffer_new_allocate (NULL, 16, NULL);
  dst = gst_buffer_new_allocate (NULL, 16, NULL);
  cm = gst_buffer_add_custom_meta (src, "ZcTestMeta");
  gst_structure_set (gst_custom_meta_get_structure (cm), "answer", G_TYPE_INT,
      42, NULL);
  gst_zc_desc_set_metas (&desc, src);
  fail_unless (gst_zc_buffer_add_metas (dst, &desc));
  cm = gst_buffer_get_custom_meta (dst, "ZcTestMeta");
  fail_unless (cm != NULL);
  fail_unless (gst_structure_get_int (gst_custom_meta_get_structure (cm),
          "answer", &answer));
  fail_unless_equals_int (answer, 42);

  gst_caps_unref (unix_caps);
  gst_buffer_unref (src);
  gst_buffer_unref (dst);
}

GST_END_TEST;

GST_START_TEST (test_wire_metas_that_do_not_fit_are_dropped)
{
  GstBuffer *src = gst_buffer_new_allocate (NULL, 64 * 48 * 4, NULL);
  GstBuffer *dst = gst_buffer_new_allocate (NULL, 64 * 48 * 4, NULL);
  struct zc_desc desc;
  guint i, n = 0;
  gpointer state = NULL;

  gst_buffer_add_video_meta (src, 0, GST_VIDEO_FORMAT_RGBA, 64, 48);
  for (i = 0; i < 20; i++) {
    gchar *str = g_strdup_printf ("timestamp/x-test-%u", i);
    GstCaps *caps = gst_caps_from_string (str);

    gst_buffer_add_reference_timestamp_meta (src, caps, i, 0);
    gst_caps_unref (caps);
    g_free (str);
  }
  gst_zc_desc_set_metas (&desc, src);
  fail_unless (desc.meta_size <= ZC_DESC_META_SIZE);
  fail_unless (gst_zc_buffer_add_metas (dst, &desc));
  fail_unless (gst_buffer_get_video_meta (dst) != NULL);
  while (gst_buffer_iterate_meta_filtered (dst, &state,
          GST_REFERENCE_TIMESTAMP_META_API_TYPE))
    n++;
  fail_unless (n > 0 && n < 20, "%u reference timestamps crossed", n);
  gst_buffer_unref (src);
  gst_buffer_unref (dst);
}

GST_END_TEST;

/* One record of @type with @len payload bytes from @payload. */
static void
desc_one_record (struct zc_desc *desc, guint16 type, const void *payload,
    guint16 len)
{
  memset (desc, 0, sizeof (*desc));
  memcpy (desc->meta, &type, 2);
  memcpy (desc->meta + 2, &len, 2);
  memcpy (desc->meta + 4, payload, len);
  desc->meta_size = 4u + len;
}

static void
check_desc_refused (const struct zc_desc *desc)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, 64 * 48 * 4, NULL);
  gpointer state = NULL;

  fail_if (gst_zc_buffer_add_metas (buf, desc));
  fail_unless (gst_buffer_iterate_meta (buf, &state) == NULL);
  gst_buffer_unref (buf);
}

typedef struct
{
  guint32 format, width, height, n_planes, flags;
  guint64 offset[4];
  gint32 stride[4];
} __attribute__ ((packed)) VideoRecord;

GST_START_TEST (test_wire_hostile_metas_refused)
{
  VideoRecord good = { GST_VIDEO_FORMAT_RGBA, 64, 48, 1, 0, {0}, {256} };
  VideoRecord v;
  struct zc_desc desc;
  GstBuffer *buf;
  guint8 junk[40];

  G_STATIC_ASSERT (sizeof (VideoRecord) == 68);
  buf = gst_buffer_new_allocate (NULL, 64 * 48 * 4, NULL);
  desc_one_record (&desc, GST_ZC_META_VIDEO, &good, sizeof good);
  fail_unless (gst_zc_buffer_add_metas (buf, &desc));
  fail_unless (gst_buffer_get_video_meta (buf) != NULL);
  gst_buffer_unref (buf);

  desc.meta_size = ZC_DESC_META_SIZE + 1;
  check_desc_refused (&desc);
  desc_one_record (&desc, GST_ZC_META_VIDEO, &good, sizeof good);
  desc.meta[2] = 200;           /* length past the end */
  check_desc_refused (&desc);
  desc_one_record (&desc, GST_ZC_META_VIDEO, &good, sizeof good - 1);
  check_desc_refused (&desc);
  v = good;
  v.n_planes = 5;
  desc_one_record (&desc, GST_ZC_META_VIDEO, &v, sizeof v);
  check_desc_refused (&desc);
  v = good;
  v.offset[0] = 1;              /* one row too far */
  desc_one_record (&desc, GST_ZC_META_VIDEO, &v, sizeof v);
  check_desc_refused (&desc);
  v = good;
  v.offset[0] = G_MAXUINT64 - 10;
  desc_one_record (&desc, GST_ZC_META_VIDEO, &v, sizeof v);
  check_desc_refused (&desc);
  v = good;
  v.stride[0] = -256;
  desc_one_record (&desc, GST_ZC_META_VIDEO, &v, sizeof v);
  check_desc_refused (&desc);
  v = good;
  v.format = 100000;
  desc_one_record (&desc, GST_ZC_META_VIDEO, &v, sizeof v);
  check_desc_refused (&desc);
  v = good;
  v.height = 0xffffffff;
  desc_one_record (&desc, GST_ZC_META_VIDEO, &v, sizeof v);
  check_desc_refused (&desc);

  /* Audio: two planes of 100 S16 samples at offsets 0 and 100 overlap. */
  {
    guint32 a[8] = { GST_AUDIO_FORMAT_S16LE, 48000, 2, 1, 100, 0, 2, 0 };
    guint64 offs[2] = { 0, 100 };
    guint8 rec[48];

    memcpy (rec, a, 32);
    memcpy (rec + 32, offs, 16);
    desc_one_record (&desc, GST_ZC_META_AUDIO, rec, sizeof rec);
    check_desc_refused (&desc);
    offs[1] = G_MAXUINT64 - 100;
    memcpy (rec + 32, offs, 16);
    desc_one_record (&desc, GST_ZC_META_AUDIO, rec, sizeof rec);
    check_desc_refused (&desc);
  }

  /* Reference timestamp whose caps string has no NUL. */
  memset (junk, 'x', sizeof junk);
  desc_one_record (&desc, GST_ZC_META_REFTS, junk, sizeof junk);
  check_desc_refused (&desc);
  /* Custom meta: name and structure, the structure not terminated. */
  memcpy (junk, "ZcTestMeta\0abc", 14);
  test_custom_meta_info ();
  desc_one_record (&desc, GST_ZC_META_CUSTOM, junk, 14);
  check_desc_refused (&desc);

  /* Unknown types are skipped, not refused. */
  desc_one_record (&desc, 999, junk, sizeof junk);
  buf = gst_buffer_new_allocate (NULL, 16, NULL);
  fail_unless (gst_zc_buffer_add_metas (buf, &desc));
  gst_buffer_unref (buf);
}

GST_END_TEST;

static void
add_wire_tests (Suite * s)
{
  TCase *tc = tcase_create ("wire");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_wire_events_round_trip);
  tcase_add_test (tc, test_wire_events_hostile_blobs_refused);
  tcase_add_test (tc, test_wire_metas_round_trip);
  tcase_add_test (tc, test_wire_metas_that_do_not_fit_are_dropped);
  tcase_add_test (tc, test_wire_hostile_metas_refused);
}

static Suite *
zcsink_suite (void)
{
  Suite *s = suite_create ("zcsink");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 60);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_property_defaults);
  tcase_add_test (tc, test_bad_channel_refused_at_start);
  tcase_add_test (tc, test_allocation_query_proposes_pool_and_allocator);
  tcase_add_test (tc, test_system_memory_buffer_arrives_copied_once);
  tcase_add_test (tc, test_pool_buffer_arrives_with_zero_copies);
  tcase_add_test (tc, test_eos_and_caps_change_reach_consumer);
  tcase_add_test (tc, test_timestamps_cross_as_running_time);
  tcase_add_test (tc, test_consumer_messages_on_bus);
  tcase_add_test (tc, test_clock_is_monotonic);
  add_wire_tests (s);
  return s;
}

int
main (int argc, char **argv)
{
  gchar *dir;
  int failed;

  /* Private socket directory: nothing of ours is left in the user's. */
  dir = g_dir_make_tmp ("zcsink-test-XXXXXX", NULL);
  g_assert (dir != NULL);
  g_setenv ("XDG_RUNTIME_DIR", dir, TRUE);

  gst_check_init (&argc, &argv);
  gst_element_register (NULL, "zcsink", GST_RANK_NONE, GST_TYPE_ZC_SINK);
  failed = gst_check_run_suite (zcsink_suite (), "zcsink", __FILE__);

  {
    gchar *sub = g_build_filename (dir, "zerocopy", NULL);

    g_rmdir (sub);
    g_free (sub);
  }
  if (g_rmdir (dir) != 0)
    g_printerr ("socket directory %s not empty: a socket leaked\n", dir);
  g_free (dir);
  return failed != 0;
}

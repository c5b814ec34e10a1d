/* gst-zerocopy: zcsink, with gst-check.
 *
 * The sink runs in a GstHarness; a libzc consumer in the same process
 * plays the other side, so every assertion is about what really crossed
 * the channel: bytes, caps, sticky events, timestamps, EOS, and the
 * sink's copy counter.  How events and metas are encoded on the wire is
 * tested on its own in test-zcwire.c.
 *
 * Each test gets its own channel name; all sockets live in a private
 * XDG_RUNTIME_DIR that main() removes at the end.
 */
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
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

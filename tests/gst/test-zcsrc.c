/* gst-check tests for zcsrc.
 *
 * The producer is a libzc zc_producer_t in the test process itself (the
 * same protocol as zcsink in another process), so each test controls
 * exactly what is published and when.  zcsrc runs in a GstHarness.  Every
 * test uses its own XDG_RUNTIME_DIR, so channel sockets never meet those
 * of another test or of the user, and checks the directory is empty at the
 * end (no socket file left behind).
 *
 * If the plugin is not on GST_PLUGIN_PATH, the element is registered from
 * the objects linked into this binary.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <gst/zc/gstzcallocator.h>

#include "gstzcsrc.h"
#include "gstzcwire.h"

#define FORMAT "video/x-raw,format=GRAY8,width=64,height=4,framerate=30/1"
#define FRAME_SIZE (64 * 4)
#define WAIT_NS (10 * G_GINT64_CONSTANT (1000000000))

static gchar *runtime_dir;

static void
setup (void)
{
  runtime_dir = g_dir_make_tmp ("zcsrc-test-XXXXXX", NULL);
  fail_unless (runtime_dir != NULL);
  g_setenv ("XDG_RUNTIME_DIR", runtime_dir, TRUE);
}

/* The socket directory must be empty: the producer removed its socket. */
static void
teardown (void)
{
  gchar *dir = g_build_filename (runtime_dir, "zerocopy", NULL);
  GDir *d = g_dir_open (dir, 0, NULL);

  if (d != NULL) {
    const gchar *left = g_dir_read_name (d);

    fail_unless (left == NULL, "socket file left behind: %s", left);
    g_dir_close (d);
    g_rmdir (dir);
  }
  g_free (dir);
  g_rmdir (runtime_dir);
  g_clear_pointer (&runtime_dir, g_free);
}

static zc_producer_t *
make_producer_with_policy (const gchar * channel, const gchar * format,
    zc_policy_t policy)
{
  zc_producer_config_t cfg;
  zc_producer_t *p = NULL;

  zc_producer_config_init (&cfg);
  cfg.name = channel;
  cfg.policy = policy;
  fail_unless_equals_int (zc_producer_new (&cfg, &p), 0);
  fail_unless_equals_int (zc_producer_set_format (p, format,
          strlen (format) + 1), 0);
  return p;
}

static zc_producer_t *
make_producer (const gchar * channel, const gchar * format)
{
  return make_producer_with_policy (channel, format, ZC_POLICY_BLOCK);
}

/* Frame @n acquired and filled: every byte is (n + i) & 0xff. */
static void
fill_frame (zc_producer_t * p, zc_frame_t * frame, guint n, guint64 pts)
{
  guint8 *data;
  guint i;

  fail_unless_equals_int (zc_producer_acquire (p, frame, WAIT_NS), 0);
  data = frame->data;
  for (i = 0; i < FRAME_SIZE; i++)
    data[i] = (guint8) (n + i);
  frame->desc.size = FRAME_SIZE;
  frame->desc.pts = pts;
  frame->desc.dts = ZC_TIME_NONE;
  frame->desc.duration = GST_SECOND / 30;
  frame->desc.offset = n;
  frame->desc.offset_end = n + 1;
  frame->desc.buffer_flags = n == 0 ? 0 : GST_BUFFER_FLAG_DELTA_UNIT;
}

static void
publish_at (zc_producer_t * p, guint n, guint64 pts)
{
  zc_frame_t frame;

  fill_frame (p, &frame, n, pts);
  fail_unless_equals_int (zc_producer_publish (p, &frame, WAIT_NS), 1);
}

/* Frame @n, its PTS the publish time. */
static void
publish (zc_producer_t * p, guint n)
{
  publish_at (p, n, zc_now_ns ());
}

static void
check_frame (GstBuffer * buf, guint n)
{
  GstMemory *mem;
  GstMapInfo map;
  guint i;

  fail_unless_equals_int (gst_buffer_n_memory (buf), 1);
  mem = gst_buffer_peek_memory (buf, 0);
  fail_unless (gst_is_zc_memory (mem));
  fail_unless (GST_MEMORY_IS_READONLY (mem));
  fail_unless (gst_buffer_map (buf, &map, GST_MAP_READ));
  fail_unless_equals_int (map.size, FRAME_SIZE);
  for (i = 0; i < FRAME_SIZE; i++)
    if (map.data[i] != (guint8) (n + i))
      fail ("frame %u byte %u is %u", n, i, map.data[i]);
  gst_buffer_unmap (buf, &map);
  fail_unless (GST_BUFFER_PTS_IS_VALID (buf));
  fail_unless_equals_uint64 (GST_BUFFER_OFFSET (buf), n);
  fail_unless_equals_uint64 (GST_BUFFER_OFFSET_END (buf), n + 1);
  fail_unless_equals_uint64 (GST_BUFFER_DURATION (buf), GST_SECOND / 30);
  fail_unless (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT) ==
      (n != 0));
  fail_unless (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DISCONT) ==
      (n == 0));
}

static GstHarness *
make_src (const gchar * channel, GstBus ** bus)
{
  GstHarness *h = gst_harness_new ("zcsrc");

  g_object_set (h->element, "channel", channel, NULL);
  if (bus != NULL) {
    *bus = gst_bus_new ();
    gst_element_set_bus (h->element, *bus);
  }
  return h;
}

/* The bus holds messages that hold the element: flush it before the
 * harness lets go of the element, or neither is ever freed. */
static void
drop_bus (GstBus * bus)
{
  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (bus);
}

/* Events up to and including the next of @type; FALSE if it never came. */
static gboolean
wait_event (GstHarness * h, GstEventType type)
{
  GstEvent *ev;

  while ((ev = gst_harness_pull_event (h)) != NULL) {
    gboolean found = GST_EVENT_TYPE (ev) == type;

    gst_event_unref (ev);
    if (found)
      return TRUE;
  }
  return FALSE;
}

GST_START_TEST (test_property_defaults)
{
  GstElement *src = gst_element_factory_make ("zcsrc", NULL);
  gchar *channel, *socket_path;
  gboolean is_live, do_ts, reconnect;
  guint64 timeout, frames;
  guint max_held;
  GstStructure *stats;

  fail_unless (src != NULL);
  g_object_get (src, "channel", &channel, "socket-path", &socket_path,
      "is-live", &is_live, "do-timestamp", &do_ts, "timeout", &timeout,
      "reconnect", &reconnect, "max-held", &max_held, "stats", &stats, NULL);
  fail_unless (channel == NULL);
  fail_unless (socket_path == NULL);
  fail_unless (is_live);
  fail_unless (!do_ts);
  fail_unless_equals_uint64 (timeout, 0);
  fail_unless (!reconnect);
  fail_unless_equals_int (max_held, 0);
  fail_unless (gst_structure_has_name (stats, "zcsrc-stats"));
  fail_unless (gst_structure_get_uint64 (stats, "frames", &frames));
  fail_unless_equals_uint64 (frames, 0);
  fail_unless (gst_structure_has_field (stats, "bytes"));
  fail_unless (gst_structure_has_field (stats, "reconnects"));
  fail_unless (gst_structure_has_field (stats, "drops"));
  fail_unless (gst_structure_has_field (stats, "generation"));
  gst_structure_free (stats);
  gst_object_unref (src);
}

GST_END_TEST;

/* A bad configuration fails the state change with an error that says
 * what to fix. */
static void
check_start_refused (const gchar * channel, const gchar * expected)
{
  GstElement *src = gst_element_factory_make ("zcsrc", NULL);
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *err = NULL;

  gst_element_set_bus (src, bus);
  if (channel != NULL)
    g_object_set (src, "channel", channel, NULL);
  fail_unless_equals_int (gst_element_set_state (src, GST_STATE_PAUSED),
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  gst_message_parse_error (msg, &err, NULL);
  fail_unless (strstr (err->message, expected) != NULL, "message: %s",
      err->message);
  g_error_free (err);
  gst_message_unref (msg);
  gst_element_set_state (src, GST_STATE_NULL);
  gst_element_set_bus (src, NULL);
  gst_object_unref (bus);
  gst_object_unref (src);
}

GST_START_TEST (test_no_channel_is_refused)
{
  check_start_refused (NULL, "No channel");
}

GST_END_TEST;

GST_START_TEST (test_bad_channel_name_is_refused)
{
  gchar *long_name = g_strnfill (256, 'a');

  check_start_refused ("a/b", "Invalid channel name");
  check_start_refused ("", "Invalid channel name");
  check_start_refused (long_name, "Invalid channel name");
  g_free (long_name);
}

GST_END_TEST;

/* Caps come from the producer, frames arrive read-only and in place, then
 * EOS; the bus hears of the producer. */
GST_START_TEST (test_receives_frames_caps_and_eos)
{
  GstBus *bus;
  GstHarness *h = make_src ("zcsrc-frames", &bus);
  zc_producer_t *p = make_producer ("zcsrc-frames", FORMAT);
  GstCaps *caps, *expected = gst_caps_from_string (FORMAT);
  GstStructure *stats;
  GstMessage *msg;
  guint64 frames, bytes;
  guint n;

  gst_harness_play (h);
  fail_unless_equals_int (zc_producer_wait_consumers (p, 1, WAIT_NS), 1);
  for (n = 0; n < 10; n++) {
    GstBuffer *buf;

    publish (p, n);
    buf = gst_harness_pull (h);
    fail_unless (buf != NULL);
    check_frame (buf, n);
    gst_buffer_unref (buf);
  }
  caps = gst_pad_get_current_caps (h->sinkpad);
  fail_unless (caps != NULL);
  fail_unless (gst_caps_is_equal (caps, expected));
  gst_caps_unref (caps);
  gst_caps_unref (expected);

  fail_unless_equals_int (zc_producer_send_eos (p), 1);
  fail_unless (wait_event (h, GST_EVENT_EOS));

  g_object_get (h->element, "stats", &stats, NULL);
  fail_unless (gst_structure_get_uint64 (stats, "frames", &frames));
  fail_unless (gst_structure_get_uint64 (stats, "bytes", &bytes));
  fail_unless_equals_uint64 (frames, 10);
  fail_unless_equals_uint64 (bytes, 10 * FRAME_SIZE);
  gst_structure_free (stats);

  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT);
  fail_unless (msg != NULL);
  fail_unless (gst_message_has_name (msg, "zcsrc-producer-connected"));
  gst_message_unref (msg);
  fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR) == NULL);

  drop_bus (bus);
  gst_harness_teardown (h);
  zc_producer_free (p);
}

GST_END_TEST;

/* Held buffers keep their block after the element stopped and after the
 * producer left; the data stays readable until the last unref. */
GST_START_TEST (test_buffer_outlives_element_and_producer)
{
  GstHarness *h = make_src ("zcsrc-outlive", NULL);
  zc_producer_t *p = make_producer ("zcsrc-outlive", FORMAT);
  GstBuffer *buf;

  gst_harness_play (h);
  fail_unless_equals_int (zc_producer_wait_consumers (p, 1, WAIT_NS), 1);
  publish (p, 0);
  buf = gst_harness_pull (h);
  fail_unless (buf != NULL);
  gst_harness_teardown (h);
  zc_producer_free (p);
  check_frame (buf, 0);
  gst_buffer_unref (buf);
}

GST_END_TEST;

/* unlock: going to NULL while waiting for a producer that never comes
 * returns at once (cancel), not after some receive timeout. */
GST_START_TEST (test_unlock_interrupts_wait)
{
  GstHarness *h = make_src ("zcsrc-nobody", NULL);
  gint64 t0;

  gst_harness_play (h);
  /* Let the streaming thread get into its wait. */
  g_usleep (G_USEC_PER_SEC / 5);
  t0 = g_get_monotonic_time ();
  gst_harness_teardown (h);
  fail_unless (g_get_monotonic_time () - t0 < 5 * G_USEC_PER_SEC);
}

GST_END_TEST;

/* timeout: no producer within it is an error naming the channel. */
GST_START_TEST (test_timeout_without_producer_errors)
{
  GstBus *bus;
  GstHarness *h = make_src ("zcsrc-late", &bus);
  GstMessage *msg;
  GError *err = NULL;

  g_object_set (h->element, "timeout", (guint64) (200 * GST_MSECOND), NULL);
  gst_harness_play (h);
  msg = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  gst_message_parse_error (msg, &err, NULL);
  fail_unless (g_error_matches (err, GST_RESOURCE_ERROR,
          GST_RESOURCE_ERROR_NOT_FOUND));
  fail_unless (strstr (err->message, "zcsrc-late") != NULL);
  g_error_free (err);
  gst_message_unref (msg);
  drop_bus (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Without reconnect, a producer that leaves ends the stream. */
GST_START_TEST (test_producer_gone_is_eos)
{
  GstBus *bus;
  GstHarness *h = make_src ("zcsrc-gone", &bus);
  zc_producer_t *p = make_producer ("zcsrc-gone", FORMAT);
  GstBuffer *buf;
  GstMessage *msg;

  gst_harness_play (h);
  fail_unless_equals_int (zc_producer_wait_consumers (p, 1, WAIT_NS), 1);
  publish (p, 0);
  buf = gst_harness_pull (h);
  check_frame (buf, 0);
  gst_buffer_unref (buf);
  zc_producer_free (p);
  fail_unless (wait_event (h, GST_EVENT_EOS));
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT);
  fail_unless (gst_message_has_name (msg, "zcsrc-producer-connected"));
  gst_message_unref (msg);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT);
  fail_unless (msg != NULL);
  fail_unless (gst_message_has_name (msg, "zcsrc-producer-disconnected"));
  gst_message_unref (msg);
  drop_bus (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* reconnect=true: the consumer follows a new producer of the channel, with
 * its new caps, and counts the reconnection. */
GST_START_TEST (test_reconnect_follows_new_producer)
{
  const gchar *format2 =
      "video/x-raw,format=GRAY8,width=32,height=8,framerate=30/1";
  GstHarness *h = make_src ("zcsrc-again", NULL);
  zc_producer_t *p;
  GstCaps *caps, *expected;
  GstStructure *stats;
  GstBuffer *buf;
  guint64 reconnects, frames;

  g_object_set (h->element, "reconnect", TRUE, NULL);
  gst_harness_play (h);

  p = make_producer ("zcsrc-again", FORMAT);
  fail_unless_equals_int (zc_producer_wait_consumers (p, 1, WAIT_NS), 1);
  publish (p, 0);
  buf = gst_harness_pull (h);
  check_frame (buf, 0);
  gst_buffer_unref (buf);
  zc_producer_send_eos (p);
  zc_producer_free (p);

  p = make_producer ("zcsrc-again", format2);
  fail_unless_equals_int (zc_producer_wait_consumers (p, 1, WAIT_NS), 1);
  publish (p, 0);
  buf = gst_harness_pull (h);
  check_frame (buf, 0);
  gst_buffer_unref (buf);

  caps = gst_pad_get_current_caps (h->sinkpad);
  expected = gst_caps_from_string (format2);
  fail_unless (gst_caps_is_equal (caps, expected));
  gst_caps_unref (caps);
  gst_caps_unref (expected);
  /* No EOS went downstream in between. */
  while (gst_harness_events_in_queue (h) > 0) {
    GstEvent *ev = gst_harness_pull_event (h);

    fail_unless (GST_EVENT_TYPE (ev) != GST_EVENT_EOS);
    gst_event_unref (ev);
  }

  g_object_get (h->element, "stats", &stats, NULL);
  fail_unless (gst_structure_get_uint64 (stats, "reconnects", &reconnects));
  fail_unless (gst_structure_get_uint64 (stats, "frames", &frames));
  fail_unless_equals_uint64 (reconnects, 1);
  fail_unless_equals_uint64 (frames, 2);
  gst_structure_free (stats);
  gst_harness_teardown (h);
  zc_producer_free (p);
}

GST_END_TEST;

/* Blocks the producer could take now, all of them given back after. */
static guint
free_blocks (zc_producer_t * p)
{
  zc_frame_t frames[64];
  guint n = 0, i;

  while (n < G_N_ELEMENTS (frames)
      && zc_producer_acquire (p, &frames[n], 0) == 0)
    n++;
  for (i = 0; i < n; i++)
    zc_producer_discard (p, &frames[i]);
  return n;
}

/* Frames go out in buffers of zcsrc's own pool, and a buffer's last unref
 * gives its block back: the steady state allocates nothing per frame. */
GST_START_TEST (test_frames_go_out_in_pooled_buffers)
{
  GstHarness *h = make_src ("zcsrc-pooled", NULL);
  zc_producer_t *p = make_producer ("zcsrc-pooled", FORMAT);
  guint n, blocks;

  gst_harness_play (h);
  fail_unless_equals_int (zc_producer_wait_consumers (p, 1, WAIT_NS), 1);
  blocks = free_blocks (p);
  fail_unless (blocks >= 2);
  /* Three times round the pool: no block may stay behind. */
  for (n = 0; n < 3 * blocks; n++) {
    GstBuffer *buf;

    publish (p, n);
    buf = gst_harness_pull (h);
    fail_unless (buf != NULL);
    fail_unless (buf->pool != NULL);
    fail_unless (G_OBJECT_TYPE (buf->pool) ==
        g_type_from_name ("GstZcFramePool"));
    check_frame (buf, n);
    fail_unless_equals_int (free_blocks (p), blocks - 1);
    gst_buffer_unref (buf);
    fail_unless_equals_int (free_blocks (p), blocks);
  }
  gst_harness_teardown (h);
  zc_producer_free (p);
}

GST_END_TEST;

#define HELD 8

/* Downstream that keeps many frames (an encoder's lookahead) and then
 * gives them back: the pool grows to what is held, takes every buffer
 * back with its block, and reuses exactly those buffers afterwards.
 * Buffers still out when the element stops are freed on their return,
 * their blocks back at the producer. */
GST_START_TEST (test_held_buffers_come_back)
{
  GstHarness *h = make_src ("zcsrc-held", NULL);
  zc_producer_t *p = make_producer ("zcsrc-held", FORMAT);
  GHashTable *made = g_hash_table_new (NULL, NULL);
  GstBuffer *held[HELD];
  guint n, i, blocks;

  g_object_set (h->element, "max-held", HELD, NULL);
  gst_harness_play (h);
  fail_unless_equals_int (zc_producer_wait_consumers (p, 1, WAIT_NS), 1);
  blocks = free_blocks (p);
  fail_unless (blocks > HELD);

  for (n = 0; n < HELD; n++) {
    publish (p, n);
    held[n] = gst_harness_pull (h);
    fail_unless (held[n] != NULL);
    check_frame (held[n], n);
    fail_unless (g_hash_table_add (made, held[n]), "buffer %u twice", n);
  }
  fail_unless_equals_int (free_blocks (p), blocks - HELD);
  for (i = 0; i < HELD; i++)
    gst_buffer_unref (held[i]);
  fail_unless_equals_int (free_blocks (p), blocks);

  /* Held all at once again, then one at a time: only known buffers. */
  for (i = 0; i < HELD; i++, n++) {
    publish (p, n);
    held[i] = gst_harness_pull (h);
    check_frame (held[i], n);
    fail_unless (g_hash_table_contains (made, held[i]), "frame %u: a new "
        "buffer while %u were free", n, HELD - i);
  }
  for (i = 0; i < HELD; i++)
    gst_buffer_unref (held[i]);
  for (i = 0; i < 2 * HELD; i++, n++) {
    GstBuffer *buf;

    publish (p, n);
    buf = gst_harness_pull (h);
    check_frame (buf, n);
    fail_unless (g_hash_table_contains (made, buf), "frame %u: a new buffer",
        n);
    gst_buffer_unref (buf);
  }

  /* Two frames still downstream when the element stops. */
  for (i = 0; i < 2; i++, n++) {
    publish (p, n);
    held[i] = gst_harness_pull (h);
  }
  gst_harness_teardown (h);
  fail_unless_equals_int (free_blocks (p), blocks - 2);
  check_frame (held[0], n - 2);
  gst_buffer_unref (held[0]);
  fail_unless_equals_int (free_blocks (p), blocks - 1);
  check_frame (held[1], n - 1);
  gst_buffer_unref (held[1]);
  fail_unless_equals_int (free_blocks (p), blocks);

  g_hash_table_unref (made);
  zc_producer_free (p);
}

GST_END_TEST;

static guint64
stats_field (GstElement * src, const gchar * field)
{
  GstStructure *stats;
  guint64 v = G_MAXUINT64;

  g_object_get (src, "stats", &stats, NULL);
  fail_unless (gst_structure_get_uint64 (stats, field, &v));
  gst_structure_free (stats);
  return v;
}

/* A drop-policy producer misses frames for a consumer at its max-held:
 * zcsrc's stats count them, as the producer does, with the next frame. */
GST_START_TEST (test_stats_count_drops)
{
  GstHarness *h = make_src ("zcsrc-drops", NULL);
  zc_producer_t *p = make_producer_with_policy ("zcsrc-drops", FORMAT,
      ZC_POLICY_DROP);
  zc_channel_stats_t st;
  GstBuffer *held[2];
  guint n;

  g_object_set (h->element, "max-held", 2, NULL);
  gst_harness_play (h);
  fail_unless_equals_int (zc_producer_wait_consumers (p, 1, WAIT_NS), 1);

  for (n = 0; n < 2; n++) {
    publish (p, n);
    held[n] = gst_harness_pull (h);
  }
  /* Both held: the next three are missed (publish() wants them in). */
  for (; n < 5; n++) {
    zc_frame_t frame;

    fail_unless_equals_int (zc_producer_acquire (p, &frame, WAIT_NS), 0);
    frame.desc.size = FRAME_SIZE;
    fail_unless_equals_int (zc_producer_publish (p, &frame, WAIT_NS), 0);
  }
  fail_unless_equals_uint64 (stats_field (h->element, "drops"), 0);
  gst_buffer_unref (held[0]);
  gst_buffer_unref (held[1]);
  publish (p, n);
  held[0] = gst_harness_pull (h);
  fail_unless_equals_uint64 (GST_BUFFER_OFFSET (held[0]), n);
  fail_unless (GST_BUFFER_FLAG_IS_SET (held[0], GST_BUFFER_FLAG_DISCONT));
  fail_unless_equals_uint64 (stats_field (h->element, "drops"), 3);
  fail_unless_equals_uint64 (stats_field (h->element, "frames"), 3);
  zc_producer_get_stats (p, &st);
  fail_unless_equals_int (st.n_consumers, 1);
  fail_unless_equals_uint64 (st.consumers[0].drops, 3);
  gst_buffer_unref (held[0]);

  gst_harness_teardown (h);
  zc_producer_free (p);
}

GST_END_TEST;

static GstPadProbeReturn
hold_buffers (G_GNUC_UNUSED GstPad * pad, G_GNUC_UNUSED GstPadProbeInfo * info,
    G_GNUC_UNUSED gpointer data)
{
  return GST_PAD_PROBE_OK;
}

/* Plays @h, publishes frame 0, and holds zcsrc's streaming thread at a
 * blocking probe on @pad once that frame's buffer is made: the next frame
 * waits in the queue until the probe goes.  Returns the probe. */
static gulong
hold_after_first_frame (GstHarness * h, zc_producer_t * p, GstPad * pad)
{
  gulong probe;

  gst_harness_play (h);
  fail_unless_equals_int (zc_producer_wait_consumers (p, 1, WAIT_NS), 1);
  fail_unless_equals_uint64 (stats_field (h->element, "latency-max"), 0);
  probe = gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BLOCK |
      GST_PAD_PROBE_TYPE_BUFFER, hold_buffers, NULL, NULL);
  publish (p, 0);
  while (stats_field (h->element, "frames") < 1)
    g_usleep (1000);
  return probe;
}

/* The stats' latency is the transport's: from the producer's publish to
 * zcsrc's buffer.  The streaming thread is held (a blocking probe) while
 * the second frame waits in the queue, so its latency is at least that
 * wait, and at most the time from before its publish to its pull.  Its
 * PTS says 10 s earlier: the latency is not "now - PTS". */
GST_START_TEST (test_stats_latency_is_publish_to_buffer)
{
  GstHarness *h = make_src ("zcsrc-latency", NULL);
  zc_producer_t *p = make_producer ("zcsrc-latency", FORMAT);
  guint64 before, published, released, pulled, lat0, lat1;
  GstPad *pad = gst_element_get_static_pad (h->element, "src");
  GstBuffer *buf;
  gulong probe;

  probe = hold_after_first_frame (h, p, pad);
  lat0 = stats_field (h->element, "latency-last");
  fail_unless (lat0 > 0);

  before = zc_now_ns ();
  publish_at (p, 1, before - 10 * GST_SECOND);
  published = zc_now_ns ();
  /* Waits in our queue meanwhile: it counts. */
  g_usleep (20000);
  released = zc_now_ns ();
  gst_pad_remove_probe (pad, probe);
  buf = gst_harness_pull (h);
  check_frame (buf, 0);
  gst_buffer_unref (buf);
  buf = gst_harness_pull (h);
  pulled = zc_now_ns ();
  check_frame (buf, 1);
  gst_buffer_unref (buf);

  lat1 = stats_field (h->element, "latency-last");
  fail_unless (lat1 >= released - published, "latency %" G_GUINT64_FORMAT
      " ns, but the frame waited %" G_GUINT64_FORMAT " ns", lat1,
      released - published);
  fail_unless (lat1 <= pulled - before);
  fail_unless_equals_uint64 (stats_field (h->element, "latency-max"),
      MAX (lat0, lat1));
  fail_unless_equals_uint64 (stats_field (h->element, "latency-average"),
      (lat0 + lat1) / 2);

  gst_object_unref (pad);
  gst_harness_teardown (h);
  zc_producer_free (p);
}

GST_END_TEST;

/* The publish time is in the block header, which the producer may write
 * at any moment: one from the future (a clock gone wrong, or a hostile
 * producer) is not counted, where "now - then" would wrap to ~2^64. */
GST_START_TEST (test_stats_latency_ignores_a_time_to_come)
{
  GstHarness *h = make_src ("zcsrc-future", NULL);
  zc_producer_t *p = make_producer ("zcsrc-future", FORMAT);
  GstPad *pad = gst_element_get_static_pad (h->element, "src");
  struct zc_block_header *header;
  zc_frame_t frame;
  GstBuffer *buf;
  guint64 lat0;
  gulong probe;
  guint n;

  probe = hold_after_first_frame (h, p, pad);
  lat0 = stats_field (h->element, "latency-last");

  /* Rewritten after the publish, while zcsrc is held before reading it. */
  fill_frame (p, &frame, 1, zc_now_ns ());
  fail_unless_equals_int (zc_producer_publish_keep (p, &frame, WAIT_NS), 1);
  header = (struct zc_block_header *) zc_guard_header (&frame.guard);
  header->timestamp_ns = zc_now_ns () + 3600 * GST_SECOND;
  zc_producer_release (p, &frame);
  gst_pad_remove_probe (pad, probe);
  for (n = 0; n < 2; n++) {
    buf = gst_harness_pull (h);
    check_frame (buf, n);
    gst_buffer_unref (buf);
  }

  fail_unless_equals_uint64 (stats_field (h->element, "frames"), 2);
  fail_unless_equals_uint64 (stats_field (h->element, "latency-last"), lat0);
  fail_unless_equals_uint64 (stats_field (h->element, "latency-max"), lat0);
  fail_unless_equals_uint64 (stats_field (h->element, "latency-average"),
      lat0);

  gst_object_unref (pad);
  gst_harness_teardown (h);
  zc_producer_free (p);
}

GST_END_TEST;

/* A pooled buffer whose memory is still held elsewhere when it comes back
 * (a copy of the buffer, a sub-buffer, the memory itself) must not give
 * its block back: the holder still reads it.  The producer goes round its
 * pool meanwhile and would write into a block given back too early. */
GST_START_TEST (test_shared_memory_keeps_its_block)
{
  GstHarness *h = make_src ("zcsrc-shared", NULL);
  zc_producer_t *p = make_producer ("zcsrc-shared", FORMAT);
  GstBuffer *buf, *copy, *sub;
  GstMemory *mem;
  GstMapInfo map;
  guint n, i, blocks;

  gst_harness_play (h);
  fail_unless_equals_int (zc_producer_wait_consumers (p, 1, WAIT_NS), 1);
  blocks = free_blocks (p);

  /* Frame 0 held by a copy, frame 1 by a sub-buffer, frame 2 by a bare
   * memory reference; each original buffer goes back at once. */
  publish (p, 0);
  buf = gst_harness_pull (h);
  copy = gst_buffer_copy (buf);
  gst_buffer_unref (buf);
  publish (p, 1);
  buf = gst_harness_pull (h);
  sub = gst_buffer_copy_region (buf, GST_BUFFER_COPY_ALL, 0, FRAME_SIZE / 2);
  gst_buffer_unref (buf);
  publish (p, 2);
  buf = gst_harness_pull (h);
  mem = gst_memory_ref (gst_buffer_peek_memory (buf, 0));
  gst_buffer_unref (buf);
  fail_unless_equals_int (free_blocks (p), blocks - 3);

  for (n = 3; n < 3 + 3 * blocks; n++) {
    publish (p, n);
    buf = gst_harness_pull (h);
    check_frame (buf, n);
    gst_buffer_unref (buf);
  }

  check_frame (copy, 0);
  fail_unless (gst_buffer_map (sub, &map, GST_MAP_READ));
  fail_unless_equals_int (map.size, FRAME_SIZE / 2);
  for (i = 0; i < map.size; i++)
    fail_unless_equals_int (map.data[i], (guint8) (1 + i));
  gst_buffer_unmap (sub, &map);
  fail_unless (gst_memory_map (mem, &map, GST_MAP_READ));
  for (i = 0; i < FRAME_SIZE; i++)
    fail_unless_equals_int (map.data[i], (guint8) (2 + i));
  gst_memory_unmap (mem, &map);

  /* The last holder's unref gives each block back. */
  gst_buffer_unref (copy);
  fail_unless_equals_int (free_blocks (p), blocks - 2);
  gst_buffer_unref (sub);
  fail_unless_equals_int (free_blocks (p), blocks - 1);
  gst_memory_unref (mem);
  fail_unless_equals_int (free_blocks (p), blocks);

  gst_harness_teardown (h);
  zc_producer_free (p);
}

GST_END_TEST;

/* Frame @n as publish() makes it, with a video meta: 64x4 (stride 64)
 * when @n % 3 == 0, 32x2 (stride 128) when 1, none when 2. */
static void
publish_with_video_meta (zc_producer_t * p, guint n)
{
  gsize offset[GST_VIDEO_MAX_PLANES] = { 0 };
  gint stride[GST_VIDEO_MAX_PLANES] = { n % 3 == 0 ? 64 : 128 };
  GstBuffer *carrier = gst_buffer_new_allocate (NULL, FRAME_SIZE, NULL);
  zc_frame_t frame;
  guint8 *data;
  guint i;

  if (n % 3 != 2)
    gst_buffer_add_video_meta_full (carrier, GST_VIDEO_FRAME_FLAG_NONE,
        GST_VIDEO_FORMAT_GRAY8, n % 3 == 0 ? 64 : 32, n % 3 == 0 ? 4 : 2, 1,
        offset, stride);
  fail_unless_equals_int (zc_producer_acquire (p, &frame, WAIT_NS), 0);
  data = frame.data;
  for (i = 0; i < FRAME_SIZE; i++)
    data[i] = (guint8) (n + i);
  frame.desc.size = FRAME_SIZE;
  frame.desc.pts = zc_now_ns ();
  frame.desc.dts = frame.desc.duration = ZC_TIME_NONE;
  frame.desc.offset = n;
  frame.desc.offset_end = n + 1;
  frame.desc.buffer_flags = 0;
  gst_zc_desc_set_metas (&frame.desc, carrier);
  gst_buffer_unref (carrier);
  fail_unless_equals_int (zc_producer_publish (p, &frame, WAIT_NS), 1);
}

/* A pooled buffer keeps its video meta for the next frame, which fills it
 * again (no allocation) or, when it has none, removes it: each frame comes
 * with exactly its own. */
GST_START_TEST (test_video_meta_follows_each_frame)
{
  GstHarness *h = make_src ("zcsrc-vmeta", NULL);
  zc_producer_t *p = make_producer ("zcsrc-vmeta", FORMAT);
  GHashTable *seen = g_hash_table_new (NULL, NULL);
  guint n, reused = 0;

  gst_harness_play (h);
  fail_unless_equals_int (zc_producer_wait_consumers (p, 1, WAIT_NS), 1);
  for (n = 0; n < 30; n++) {
    GstBuffer *buf;
    GstVideoMeta *vm;
    gpointer meta_before;

    publish_with_video_meta (p, n);
    buf = gst_harness_pull (h);
    fail_unless (buf != NULL);
    fail_unless_equals_uint64 (GST_BUFFER_OFFSET (buf), n);
    vm = gst_buffer_get_video_meta (buf);
    meta_before = g_hash_table_lookup (seen, buf);
    if (n % 3 == 2) {
      fail_unless (vm == NULL, "frame %u: a stale video meta", n);
    } else {
      fail_unless (vm != NULL, "frame %u: no video meta", n);
      fail_unless_equals_int (vm->format, GST_VIDEO_FORMAT_GRAY8);
      fail_unless_equals_int (vm->width, n % 3 == 0 ? 64 : 32);
      fail_unless_equals_int (vm->height, n % 3 == 0 ? 4 : 2);
      fail_unless_equals_int (vm->n_planes, 1);
      fail_unless_equals_int (vm->stride[0], n % 3 == 0 ? 64 : 128);
      fail_unless (gst_buffer_get_n_meta (buf, GST_VIDEO_META_API_TYPE) == 1);
      /* This buffer went out before with a meta: the same one, kept. */
      if (meta_before != NULL && meta_before != GINT_TO_POINTER (1)) {
        fail_unless (meta_before == vm, "frame %u: a new video meta", n);
        fail_unless (GST_META_FLAG_IS_SET (vm, GST_META_FLAG_POOLED));
        reused++;
      }
    }
    g_hash_table_insert (seen, buf, vm ? (gpointer) vm : GINT_TO_POINTER (1));
    gst_buffer_unref (buf);
  }
  /* The pool reuses its buffers: some frames found their meta kept. */
  fail_unless (reused > 0);
  g_hash_table_unref (seen);
  gst_harness_teardown (h);
  zc_producer_free (p);
}

GST_END_TEST;

static Suite *
zcsrc_suite (void)
{
  Suite *s = suite_create ("zcsrc");
  TCase *tc = tcase_create ("general");

  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_set_timeout (tc, 60);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_property_defaults);
  tcase_add_test (tc, test_no_channel_is_refused);
  tcase_add_test (tc, test_bad_channel_name_is_refused);
  tcase_add_test (tc, test_receives_frames_caps_and_eos);
  tcase_add_test (tc, test_buffer_outlives_element_and_producer);
  tcase_add_test (tc, test_frames_go_out_in_pooled_buffers);
  tcase_add_test (tc, test_held_buffers_come_back);
  tcase_add_test (tc, test_stats_count_drops);
  tcase_add_test (tc, test_stats_latency_is_publish_to_buffer);
  tcase_add_test (tc, test_stats_latency_ignores_a_time_to_come);
  tcase_add_test (tc, test_shared_memory_keeps_its_block);
  tcase_add_test (tc, test_video_meta_follows_each_frame);
  tcase_add_test (tc, test_unlock_interrupts_wait);
  tcase_add_test (tc, test_timeout_without_producer_errors);
  tcase_add_test (tc, test_producer_gone_is_eos);
  tcase_add_test (tc, test_reconnect_follows_new_producer);
  return s;
}

int
main (int argc, char **argv)
{
  Suite *s;

  gst_check_init (&argc, &argv);
  if (gst_registry_check_feature_version (gst_registry_get (), "zcsrc",
          0, 0, 0) == FALSE)
    gst_element_register (NULL, "zcsrc", GST_RANK_NONE, GST_TYPE_ZC_SRC);
  s = zcsrc_suite ();
  return gst_check_run_suite (s, "zcsrc", __FILE__);
}

/* End-to-end: a stream that goes on across state changes, on either
 * side.  The consumer is this program re-executed in a consumer mode
 * (--consumer-restart, --consumer-pause, --consumer-events), so that it
 * can change its own pipeline's state at a chosen frame and report what
 * reached its sink: PLAYING -> READY -> PLAYING (it prerolls again),
 * PAUSED for longer than the heartbeat timeout (it is not evicted), and a
 * flush in the producer (it arrives between the right frames).
 *
 *   usage: test-e2e-states     (GST_PLUGIN_PATH_1_0 must find the plugin)
 *
 * Prints TAP; exits non-zero if a case failed.  The harness (producer,
 * consumers, waits) is e2e-harness.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include "e2e-harness.h"

/* What the cases run as their consumer: this very binary. */
static gchar *self_exe;

/* Pulls @n samples from @sink, printing each frame's SHA-1; 0 if all
 * came. */
static int
pull_sums (GstElement * sink, guint round, guint n)
{
  guint i;

  for (i = 0; i < n; i++) {
    GstSample *sample = gst_app_sink_try_pull_sample (GST_APP_SINK (sink),
        60 * GST_SECOND);
    GstMapInfo map;
    gchar *sum;

    if (sample == NULL) {
      printf ("round %u: frame %u missing\n", round, i);
      return 1;
    }
    gst_buffer_map (gst_sample_get_buffer (sample), &map, GST_MAP_READ);
    sum = g_compute_checksum_for_data (G_CHECKSUM_SHA1, map.data, map.size);
    printf ("sha1 %s\n", sum);
    g_free (sum);
    gst_buffer_unmap (gst_sample_get_buffer (sample), &map);
    gst_sample_unref (sample);
  }
  return 0;
}

/* The consumer of test_restart and test_pause, run as
 * "--consumer-restart|--consumer-pause CHANNEL N1 N2": takes @n1 frames,
 * then either goes to READY and back to PLAYING (restart: not live, so it
 * must preroll again), or to PAUSED for @PAUSE_US and back to PLAYING
 * (pause: live), then takes @n2 more, then EOS.  Prints each frame's
 * SHA-1 and "round N: ..." lines the test follows. */
#define PAUSE_US (1500 * G_TIME_SPAN_MILLISECOND)

static int
consumer_states (const gchar * mode, const gchar * channel, guint n1,
    guint n2)
{
  gboolean pause = strcmp (mode, "--consumer-pause") == 0;
  gchar *desc = g_strdup_printf ("zcsrc is-live=%s channel=%s ! appsink "
      "name=sink sync=false", pause ? "true" : "false", channel);
  GstElement *pipeline = gst_parse_launch (desc, NULL);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  guint round, counts[2] = { n1, n2 };
  int rc = 0;

  setvbuf (stdout, NULL, _IOLBF, 0);
  for (round = 0; round < 2 && rc == 0; round++) {
    GstState state = GST_STATE_VOID_PENDING;

    if (gst_element_set_state (pipeline, GST_STATE_PLAYING)
        == GST_STATE_CHANGE_FAILURE) {
      rc = 1;
      break;
    }
    /* Live: PLAYING needs no preroll (the producer sends nothing until it
     * sees us back).  Not live: success only once prerolled. */
    if (pause) {
      printf ("round %u: playing\n", round);
    } else if (gst_element_get_state (pipeline, &state, NULL, 60 * GST_SECOND)
        != GST_STATE_CHANGE_SUCCESS || state != GST_STATE_PLAYING) {
      printf ("round %u: no preroll\n", round);
      rc = 1;
      break;
    } else {
      printf ("round %u: prerolled\n", round);
    }
    rc = pull_sums (sink, round, counts[round]);
    if (round > 0 || rc != 0)
      break;
    if (gst_element_set_state (pipeline, pause ? GST_STATE_PAUSED :
            GST_STATE_READY) == GST_STATE_CHANGE_FAILURE) {
      rc = 1;
      break;
    }
    if (pause) {
      /* The scenario itself: a pipeline left paused for a while. */
      printf ("round 0: paused\n");
      g_usleep (PAUSE_US);
    }
  }
  if (rc == 0 && (gst_app_sink_try_pull_sample (GST_APP_SINK (sink),
              60 * GST_SECOND) != NULL
          || !gst_app_sink_is_eos (GST_APP_SINK (sink)))) {
    printf ("no EOS after the last frame\n");
    rc = 1;
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  g_free (desc);
  return rc;
}

/* A consumer goes PLAYING -> READY -> PLAYING while the producer runs:
 * it detaches, attaches again, prerolls again and keeps receiving. */
static void
test_restart (void)
{
  gchar *dir = new_runtime_dir ();
  Producer *p = producer_new (GRAY_APPSRC "channel=restart");
  gchar *argv[] = { self_exe, (gchar *) "--consumer-restart",
    (gchar *) "restart", (gchar *) "10", (gchar *) "10", NULL
  };
  Child *c = child_spawn (dir, "cons", argv);
  gboolean ok = TRUE;
  guint n = 0;

  CHECK (producer_play_gray (p, 320, 240, 1));
  for (; n < 10; n++)
    push_frame (p, 320 * 240, n);
  /* READY drops the consumer; PLAYING attaches a new one. */
  CHECK (poll_until (p, cond_disconnected, GINT_TO_POINTER (1)));
  CHECK (poll_until (p, cond_connected, GINT_TO_POINTER (2)));
  for (; n < 20; n++)
    push_frame (p, 320 * 240, n);
  CHECK (producer_end_stream (p));
  CHECK (child_wait (p, c));
  CHECK (child_got_tail (p, c, 20));
  CHECK (output_has (c, "round 1: prerolled"));
out:
  child_free (c);
  end_case (p, dir, ok, "a consumer going PLAYING -> READY -> PLAYING "
      "prerolls again and receives all 20 frames");
}

static gboolean
cond_paused (G_GNUC_UNUSED Producer * p, gpointer data)
{
  return output_has (data, "round 0: paused");
}

static gboolean
cond_resumed (G_GNUC_UNUSED Producer * p, gpointer data)
{
  return output_has (data, "round 1: playing");
}

/* The consumer of test_flush, run as "--consumer-events CHANNEL": prints
 * "sha1 <sum>" per buffer and the name of each flush event reaching its
 * sink, in order, until EOS. */
static GstPadProbeReturn
print_flow (G_GNUC_UNUSED GstPad * pad, GstPadProbeInfo * info,
    G_GNUC_UNUSED gpointer data)
{
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    GstMapInfo map;
    gchar *sum;

    gst_buffer_map (GST_PAD_PROBE_INFO_BUFFER (info), &map, GST_MAP_READ);
    sum = g_compute_checksum_for_data (G_CHECKSUM_SHA1, map.data, map.size);
    printf ("sha1 %s\n", sum);
    g_free (sum);
    gst_buffer_unmap (GST_PAD_PROBE_INFO_BUFFER (info), &map);
  } else {
    GstEventType type = GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info));

    if (type == GST_EVENT_FLUSH_START || type == GST_EVENT_FLUSH_STOP)
      printf ("event %s\n", gst_event_type_get_name (type));
  }
  return GST_PAD_PROBE_OK;
}

static int
consumer_events (const gchar * channel)
{
  gchar *desc = g_strdup_printf ("zcsrc is-live=false channel=%s ! fakesink "
      "name=sink sync=false", channel);
  GstElement *pipeline = gst_parse_launch (desc, NULL);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  GstPad *pad = gst_element_get_static_pad (sink, "sink");
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg;
  int rc;

  setvbuf (stdout, NULL, _IOLBF, 0);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_EVENT_FLUSH | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
      print_flow, NULL, NULL);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  rc = msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS ? 0 : 1;
  if (msg)
    gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pad);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  g_free (desc);
  return rc;
}

/* Lines starting with @prefix from @from up to @to (NULL: the end). */
static guint
count_lines (const gchar * from, const gchar * to, const gchar * prefix)
{
  guint n = 0;
  const gchar *line;

  for (line = from; line && *line && (to == NULL || line < to);) {
    if (g_str_has_prefix (line, prefix))
      n++;
    line = strchr (line, '\n');
    if (line)
      line++;
  }
  return n;
}

/* A flush in the producer pipeline (here pushed by hand after appsrc, as
 * a flushing seek would) reaches the consumer's pipeline as FLUSH_START
 * and FLUSH_STOP, in order between the frames before and after it. */
static void
test_flush (void)
{
  gchar *dir = new_runtime_dir ();
  Producer *p = producer_new (GRAY_APPSRC "channel=flush");
  gchar *argv[] = { self_exe, (gchar *) "--consumer-events",
    (gchar *) "flush", NULL
  };
  Child *c = child_spawn (dir, "cons", argv);
  GstPad *pad = gst_element_get_static_pad (p->appsrc, "src");
  gboolean ok = TRUE;
  GstSegment segment;
  gchar *text = NULL, *start, *stop;
  guint n = 0;

  CHECK (producer_play_gray (p, 320, 240, 1));
  for (; n < 3; n++)
    push_frame (p, 320 * 240, n);
  CHECK (wait_child_frames (p, c, 3));
  CHECK (gst_pad_push_event (pad, gst_event_new_flush_start ()));
  CHECK (gst_pad_push_event (pad, gst_event_new_flush_stop (TRUE)));
  gst_segment_init (&segment, GST_FORMAT_TIME);
  CHECK (gst_pad_push_event (pad, gst_event_new_segment (&segment)));
  for (; n < 6; n++)
    push_frame (p, 320 * 240, n);
  CHECK (producer_end_stream (p));
  CHECK (child_wait (p, c));
  CHECK (child_got_tail (p, c, 6));
  /* The order: 3 frames, the flush, 3 frames. */
  CHECK (g_file_get_contents (c->out, &text, NULL, NULL));
  start = strstr (text, "event flush-start");
  stop = strstr (text, "event flush-stop");
  CHECK (start && stop && start < stop);
  CHECK (count_lines (text, start, "sha1 ") == 3);
  CHECK (count_lines (stop, NULL, "sha1 ") == 3);
out:
  g_free (text);
  gst_object_unref (pad);
  child_free (c);
  end_case (p, dir, ok, "a flush in the producer reaches the consumer as "
      "FLUSH_START and FLUSH_STOP between the frames before and after it");
}

/* A live consumer left PAUSED for five times the producer's heartbeat
 * timeout is not evicted (zcsrc shows life while paused); back in
 * PLAYING it receives what follows, with no reconnection. */
static void
test_pause (void)
{
  gchar *dir = new_runtime_dir ();
  Producer *p = producer_new (GRAY_APPSRC "channel=pause policy=drop "
      "heartbeat-timeout=300000000");
  gchar *argv[] = { self_exe, (gchar *) "--consumer-pause",
    (gchar *) "pause", (gchar *) "5", (gchar *) "5", NULL
  };
  Child *c = child_spawn (dir, "cons", argv);
  gboolean ok = TRUE;
  guint n = 0;

  CHECK (producer_play_gray (p, 320, 240, 1));
  /* One at a time: in drop policy a burst beyond the consumer's limit
   * would lose frames, and that is not what this case is about. */
  for (; n < 5; n++) {
    push_frame (p, 320 * 240, n);
    CHECK (wait_child_frames (p, c, n + 1));
  }
  CHECK (poll_until (p, cond_paused, (gpointer) c));
  /* Back in PLAYING: every frame from here on must arrive. */
  CHECK (poll_until (p, cond_resumed, (gpointer) c));
  CHECK (p->disconnected == 0);
  for (; n < 10; n++) {
    push_frame (p, 320 * 240, n);
    CHECK (wait_child_frames (p, c, n + 1));
  }
  CHECK (producer_end_stream (p));
  CHECK (child_wait (p, c));
  CHECK (child_got_tail (p, c, 10));
  CHECK (clean_output (c));
out:
  child_free (c);
  end_case (p, dir, ok, "a live consumer paused for 5x the heartbeat "
      "timeout is not evicted and receives what follows once PLAYING again");
}

static const E2eCase cases[] = {
  {"restart", test_restart},
  {"pause", test_pause},
  {"flush", test_flush},
};

/* ZC_E2E_ONLY=WORD runs the cases whose name contains WORD;
 * ZC_E2E_KEEP=1 keeps the outputs of a passing run. */
int
main (int argc, char **argv)
{
  int rc;

  gst_init (&argc, &argv);
  if (argc == 3 && strcmp (argv[1], "--consumer-events") == 0)
    return consumer_events (argv[2]);
  if (argc == 5 && (strcmp (argv[1], "--consumer-restart") == 0
          || strcmp (argv[1], "--consumer-pause") == 0))
    return consumer_states (argv[1], argv[2], (guint) atoi (argv[3]),
        (guint) atoi (argv[4]));

  self_exe = g_file_read_link ("/proc/self/exe", NULL);
  g_assert (self_exe);
  rc = e2e_run (cases, G_N_ELEMENTS (cases));
  g_free (self_exe);
  return rc;
}

/* gst-send: an application that writes video frames straight into shared
 * memory through zcsink's GstZcBufferPool.
 *
 *   gst-send [OPTIONS] CHANNEL
 *     -n FRAMES     frames to send (default 300)
 *     -w WIDTH      frame width (default 640, at least 8)
 *     -h HEIGHT     frame height (default 480)
 *     -f FORMAT     GRAY8 or I420 (default I420)
 *     -c COUNT      wait for COUNT consumers before the first frame
 *                   (default 1: zcsink's wait-for-consumer)
 *     -p            pace at the caps' 30 frames/s (default: as fast as the
 *                   consumers take them)
 *
 * The pipeline is "appsrc ! zcsink".  The application gets zcsink's pool
 * the way any GStreamer element gets its downstream pool: an ALLOCATION
 * query on appsrc's source pad, answered by zcsink's propose_allocation.
 * It configures and activates that pool, and each acquired buffer is a
 * block of the channel's shared memory: the frame is drawn there in place
 * and pushed; zcsink sees its own block and publishes it to every consumer
 * without a copy.  The sink's "stats" counts the frames it had to copy
 * (buffers not from its pool); the program succeeds only if that is 0.
 *
 * Frame pattern (gst-receive checks it): the first 8 bytes of the first
 * plane hold the frame number N (host order), every other visible byte
 * is a function of N and its position: a gray ramp moving diagonally,
 * chroma ramps moving at other speeds.  "checksum" is a 64-bit FNV-1a over
 * the visible bytes of all frames, in order, which gst-receive prints too.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <gst/zc/gstzcbufferpool.h>

#include "gst-pattern.h"

/* How long -c waits for its consumers before giving up. */
#define CONSUMER_WAIT (30 * GST_SECOND)

static void
usage (void)
{
  fprintf (stderr, "usage: gst-send [-n FRAMES] [-w WIDTH -h HEIGHT] "
      "[-f GRAY8|I420] [-c CONSUMERS] [-p] CHANNEL\n");
  exit (2);
}

/* Draws frame @n into @frame and folds its visible bytes into @sum. */
static void
draw_frame (GstVideoFrame * frame, guint64 n, guint64 * sum)
{
  guint plane, x, y;

  for (plane = 0; plane < GST_VIDEO_FRAME_N_PLANES (frame); plane++) {
    guint8 *data = GST_VIDEO_FRAME_PLANE_DATA (frame, plane);
    gint stride = GST_VIDEO_FRAME_PLANE_STRIDE (frame, plane);
    guint w = GST_VIDEO_FRAME_COMP_WIDTH (frame, plane);
    guint h = GST_VIDEO_FRAME_COMP_HEIGHT (frame, plane);

    for (y = 0; y < h; y++) {
      guint8 *row = data + (gsize) y * stride;

      for (x = 0; x < w; x++)
        row[x] = pattern_byte (plane, x, y, n);
      if (plane == 0 && y == 0)
        memcpy (row, &n, sizeof (n));
      for (x = 0; x < w; x++)
        *sum = (*sum ^ row[x]) * FNV_PRIME;
    }
  }
}

/* Waits for @count zcsink-consumer-connected messages (minus the
 * disconnected ones) on @bus.  FALSE on an error or after CONSUMER_WAIT. */
static gboolean
wait_consumers (GstBus * bus, guint count)
{
  GstClockTime deadline = gst_util_get_timestamp () + CONSUMER_WAIT;
  gint attached = 0;

  while (attached < (gint) count) {
    GstClockTime now = gst_util_get_timestamp ();
    GstMessage *msg;
    const GstStructure *s;

    if (now >= deadline)
      return FALSE;
    msg = gst_bus_timed_pop_filtered (bus, deadline - now,
        GST_MESSAGE_ELEMENT | GST_MESSAGE_ERROR);
    if (msg == NULL)
      return FALSE;
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      gst_bus_post (bus, msg);  /* for main's error report */
      return FALSE;
    }
    s = gst_message_get_structure (msg);
    if (gst_structure_has_name (s, "zcsink-consumer-connected"))
      attached++;
    else if (gst_structure_has_name (s, "zcsink-consumer-disconnected"))
      attached--;
    gst_message_unref (msg);
  }
  return TRUE;
}

/* Asks downstream of @src for its pool: zcsink answers with a
 * GstZcBufferPool over its producer.  Returns it configured for @caps and
 * active, or NULL. */
static GstBufferPool *
get_sink_pool (GstElement * src, GstCaps * caps, guint * size)
{
  GstPad *pad = gst_element_get_static_pad (src, "src");
  GstQuery *query = gst_query_new_allocation (caps, TRUE);
  GstBufferPool *pool = NULL;
  GstStructure *config;
  guint min, max;

  if (!gst_pad_peer_query (pad, query)
      || gst_query_get_n_allocation_pools (query) == 0) {
    fprintf (stderr, "gst-send: zcsink offered no buffer pool\n");
    goto done;
  }
  gst_query_parse_nth_allocation_pool (query, 0, &pool, size, &min, &max);
  if (pool == NULL || !GST_IS_ZC_BUFFER_POOL (pool)) {
    fprintf (stderr, "gst-send: the pool offered is not a GstZcBufferPool\n");
    goto failed;
  }

  config = gst_buffer_pool_get_config (pool);
  gst_buffer_pool_config_set_params (config, caps, *size, min, max);
  gst_buffer_pool_config_add_option (config,
      GST_BUFFER_POOL_OPTION_VIDEO_META);
  if (!gst_buffer_pool_set_config (pool, config)) {
    fprintf (stderr, "gst-send: the pool refused its configuration\n");
    goto failed;
  }
  if (!gst_buffer_pool_set_active (pool, TRUE)) {
    fprintf (stderr, "gst-send: could not activate the pool\n");
    goto failed;
  }
  goto done;

failed:
  gst_clear_object (&pool);
done:
  gst_query_unref (query);
  gst_object_unref (pad);
  return pool;
}

/* Pops messages until EOS or an error (waiting up to @timeout); prints
 * the error.  TRUE on EOS. */
static gboolean
wait_eos (GstBus * bus, GstClockTime timeout)
{
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, timeout,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  gboolean eos = msg != NULL && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS;

  if (msg == NULL)
    return FALSE;
  if (!eos) {
    GError *err = NULL;
    gchar *dbg = NULL;

    gst_message_parse_error (msg, &err, &dbg);
    fprintf (stderr, "gst-send: %s (%s)\n", err->message, dbg ? dbg : "");
    g_clear_error (&err);
    g_free (dbg);
  }
  gst_message_unref (msg);
  return eos;
}

int
main (int argc, char **argv)
{
  guint64 n_frames = 300, n, sum = FNV_OFFSET, copies = G_MAXUINT64;
  guint64 sent = 0;
  guint width = 640, height = 480, consumers = 1, size = 0;
  const gchar *format = "I420";
  gboolean pace = FALSE, ok = FALSE;
  GstElement *pipeline, *src, *sink;
  GstBufferPool *pool = NULL;
  GstStructure *stats = NULL;
  GstVideoInfo info;
  GstCaps *caps;
  GError *error = NULL;
  GstBus *bus;
  gchar *str;
  int opt;

  setvbuf (stdout, NULL, _IOLBF, 0);     /* lines in order with the others */
  gst_init (&argc, &argv);
  while ((opt = getopt (argc, argv, "n:w:h:f:c:p")) != -1) {
    switch (opt) {
      case 'n': n_frames = g_ascii_strtoull (optarg, NULL, 0); break;
      case 'w': width = (guint) strtoul (optarg, NULL, 0); break;
      case 'h': height = (guint) strtoul (optarg, NULL, 0); break;
      case 'f': format = optarg; break;
      case 'c': consumers = (guint) strtoul (optarg, NULL, 0); break;
      case 'p': pace = TRUE; break;
      default: usage ();
    }
  }
  if (optind != argc - 1 || width < 8 || width > 16384 || height < 1
      || height > 16384
      || (strcmp (format, "GRAY8") != 0 && strcmp (format, "I420") != 0))
    usage ();

  caps = gst_caps_new_simple ("video/x-raw", "format", G_TYPE_STRING, format,
      "width", G_TYPE_INT, (gint) width, "height", G_TYPE_INT, (gint) height,
      "framerate", GST_TYPE_FRACTION, 30, 1, NULL);
  gst_video_info_from_caps (&info, caps);

  pipeline = gst_parse_launch ("appsrc name=src format=time "
      "! zcsink name=sink wait-for-consumer=true", &error);
  if (error != NULL) {
    fprintf (stderr, "gst-send: %s (is GST_PLUGIN_PATH set?)\n",
        error->message);
    return 1;
  }
  src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  g_object_set (src, "caps", caps, NULL);
  /* Without -p, no clock waits: frames go as fast as blocks come back. */
  g_object_set (sink, "channel", argv[optind], "sync", pace, NULL);
  bus = gst_element_get_bus (pipeline);

  /* PAUSED starts zcsink: the channel and its pool exist from here on. */
  if (gst_element_set_state (pipeline, GST_STATE_PAUSED)
      == GST_STATE_CHANGE_FAILURE)
    goto done;
  if (consumers > 0 && !wait_consumers (bus, consumers)) {
    fprintf (stderr, "gst-send: no %u consumers within %u s\n", consumers,
        (guint) (CONSUMER_WAIT / GST_SECOND));
    goto done;
  }
  pool = get_sink_pool (src, caps, &size);
  if (pool == NULL)
    goto done;
  gst_element_set_state (pipeline, GST_STATE_PLAYING);

  for (n = 0; n < n_frames; n++) {
    GstBuffer *buf = NULL;
    GstVideoFrame frame;

    /* Waits while every block is in flight: the consumers set the pace. */
    if (gst_buffer_pool_acquire_buffer (pool, &buf, NULL) != GST_FLOW_OK) {
      fprintf (stderr, "gst-send: no buffer from the pool\n");
      break;
    }
    if (!gst_video_frame_map (&frame, &info, buf, GST_MAP_WRITE)) {
      fprintf (stderr, "gst-send: cannot map frame %" G_GUINT64_FORMAT "\n",
          n);
      gst_buffer_unref (buf);
      break;
    }
    draw_frame (&frame, n, &sum);
    gst_video_frame_unmap (&frame);
    GST_BUFFER_PTS (buf) = gst_util_uint64_scale (n, GST_SECOND, 30);
    GST_BUFFER_DURATION (buf) = gst_util_uint64_scale (1, GST_SECOND, 30);
    GST_BUFFER_OFFSET (buf) = n;
    if (gst_app_src_push_buffer (GST_APP_SRC (src), buf) != GST_FLOW_OK)
      break;
    sent++;
  }
  gst_app_src_end_of_stream (GST_APP_SRC (src));
  if (!wait_eos (bus, GST_CLOCK_TIME_NONE))
    goto done;

  g_object_get (sink, "stats", &stats, NULL);
  gst_structure_get_uint64 (stats, "copies", &copies);
  str = gst_structure_to_string (stats);
  printf ("gst-send[%d]: %" G_GUINT64_FORMAT " frames %ux%u %s, checksum "
      "%016" G_GINT64_MODIFIER "x\n", (int) getpid (), sent, width, height,
      format, sum);
  printf ("gst-send[%d]: zcsink stats %s\n", (int) getpid (), str);
  g_free (str);
  ok = sent == n_frames && copies == 0;
  if (copies != 0)
    printf ("gst-send[%d]: %" G_GUINT64_FORMAT " frames were copied: not "
        "zero-copy\n", (int) getpid (), copies);
  else if (ok)
    printf ("gst-send[%d]: zero-copy: %" G_GUINT64_FORMAT " frames drawn in "
        "shared memory and published by zcsink with 0 copies\n",
        (int) getpid (), sent);

done:
  if (!ok)
    wait_eos (bus, 0);          /* says why, if an error is waiting */
  /* After EOS: nothing renders any more, so flushing the producer (which
   * deactivating the pool does) cannot cut a frame short. */
  if (pool) {
    gst_buffer_pool_set_active (pool, FALSE);
    gst_object_unref (pool);
  }
  if (stats)
    gst_structure_free (stats);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (src);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  gst_caps_unref (caps);
  return ok ? 0 : 1;
}

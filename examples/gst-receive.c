/* gst-receive: an application that reads the frames gst-send publishes,
 * in place in shared memory.
 *
 *   gst-receive [OPTIONS] CHANNEL
 *     -n EXPECTED   the stream must be exactly frames 0 .. EXPECTED-1
 *     -t SECONDS    give up when no producer appears within this time
 *                   (default 0: wait for ever)
 *
 * The pipeline is "zcsrc ! appsink".  Each sample's buffer wraps a block
 * of the producer's shared memory (a ZcMemory, mapped read-only): mapping
 * it reads the producer's bytes where they are, no copy in between.  Every
 * visible byte is checked against gst-send's pattern (the first 8 bytes
 * of the first plane hold the frame number N, the rest is a function of N
 * and the position; see gst-send.c), frames must follow each other with
 * no gap, and a 64-bit FNV-1a over the visible bytes of all frames is kept
 * as gst-send keeps it: equal checksums mean equal streams.
 *
 * Exits 0 when every frame was good, the stream ended with EOS, and (with
 * -n) the count was right.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <gst/zc/gstzcallocator.h>

#include "gst-pattern.h"


typedef struct
{
  guint64 frames;               /* samples received */
  guint64 bad;                  /* of which wrong content, gaps, bad caps */
  guint64 in_place;             /* of which read straight from a ZcMemory */
  guint64 next;                 /* frame number expected next */
  guint64 sum;
  gboolean from_zero;           /* -n: the first frame must be frame 0 */
  gchar *caps;                  /* the caps of the last frame */
} Receiver;

static void
usage (void)
{
  fprintf (stderr, "usage: gst-receive [-n EXPECTED] [-t SECONDS] "
      "CHANNEL\n");
  exit (2);
}

/* Checks @frame against the pattern; folds its bytes into @sum.  Stores
 * the frame number in @n.  The frame is read once, in place. */
static gboolean
check_frame (const GstVideoFrame * frame, guint64 * n, guint64 * sum)
{
  gboolean good = TRUE;
  guint plane, x, y;

  if (GST_VIDEO_FRAME_COMP_WIDTH (frame, 0) < 8)
    return FALSE;
  memcpy (n, GST_VIDEO_FRAME_PLANE_DATA (frame, 0), sizeof (*n));
  for (plane = 0; plane < GST_VIDEO_FRAME_N_PLANES (frame); plane++) {
    const guint8 *data = GST_VIDEO_FRAME_PLANE_DATA (frame, plane);
    gint stride = GST_VIDEO_FRAME_PLANE_STRIDE (frame, plane);
    guint w = GST_VIDEO_FRAME_COMP_WIDTH (frame, plane);
    guint h = GST_VIDEO_FRAME_COMP_HEIGHT (frame, plane);

    for (y = 0; y < h; y++) {
      const guint8 *row = data + (gsize) y * stride;

      x = plane == 0 && y == 0 ? 8 : 0;
      for (; x < w; x++)
        good &= row[x] == pattern_byte (plane, x, y, *n);
      for (x = 0; x < w; x++)
        *sum = (*sum ^ row[x]) * FNV_PRIME;
    }
  }
  return good;
}

static void
on_sample (Receiver * r, GstSample * sample)
{
  GstBuffer *buf = gst_sample_get_buffer (sample);
  GstCaps *caps = gst_sample_get_caps (sample);
  GstVideoFrame frame;
  GstVideoInfo info;
  GstVideoFormat format;
  guint64 n = 0;
  gboolean good;

  r->frames++;
  if (caps != NULL) {
    g_free (r->caps);
    r->caps = gst_caps_to_string (caps);
  }
  if (buf != NULL && gst_buffer_n_memory (buf) == 1
      && gst_is_zc_memory (gst_buffer_peek_memory (buf, 0)))
    r->in_place++;

  /* Only gst-send's formats carry its pattern. */
  good = caps != NULL && buf != NULL && gst_video_info_from_caps (&info, caps);
  format = good ? GST_VIDEO_INFO_FORMAT (&info) : GST_VIDEO_FORMAT_UNKNOWN;
  good = (format == GST_VIDEO_FORMAT_GRAY8 || format == GST_VIDEO_FORMAT_I420)
      && gst_video_frame_map (&frame, &info, buf, GST_MAP_READ);
  if (good) {
    good = check_frame (&frame, &n, &r->sum);
    gst_video_frame_unmap (&frame);
  }
  if (!good) {
    if (r->bad < 5)
      fprintf (stderr, "gst-receive[%d]: sample %" G_GUINT64_FORMAT
          ": not a frame of gst-send's pattern\n", (int) getpid (),
          r->frames - 1);
    r->bad++;
    r->next++;                  /* the best guess at what comes next */
    return;
  }
  /* Without -n a late start is fine: the run counts from its first frame. */
  if (r->frames == 1 && !r->from_zero)
    r->next = n;
  if (n != r->next) {
    if (r->bad < 5)
      fprintf (stderr, "gst-receive[%d]: sample %" G_GUINT64_FORMAT
          ": frame %" G_GUINT64_FORMAT " where %" G_GUINT64_FORMAT
          " was due\n", (int) getpid (), r->frames - 1, n, r->next);
    r->bad++;
  }
  r->next = n + 1;
}

/* An error the pipeline posted, printed; TRUE if there was one. */
static gboolean
report_error (GstBus * bus)
{
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  GError *err = NULL;
  gchar *dbg = NULL;

  if (msg == NULL)
    return FALSE;
  gst_message_parse_error (msg, &err, &dbg);
  fprintf (stderr, "gst-receive[%d]: %s (%s)\n", (int) getpid (),
      err->message, dbg ? dbg : "");
  g_clear_error (&err);
  g_free (dbg);
  gst_message_unref (msg);
  return TRUE;
}

int
main (int argc, char **argv)
{
  Receiver r = { 0, 0, 0, 0, FNV_OFFSET, FALSE, NULL };
  GstElement *pipeline, *src, *sink;
  GstStructure *stats = NULL;
  GstSample *sample;
  GError *error = NULL;
  gint64 expected = -1;
  guint64 timeout = 0;
  gboolean eos, failed, ok;
  GstBus *bus;
  gchar *str;
  int opt;

  setvbuf (stdout, NULL, _IOLBF, 0);     /* lines in order with the others */
  gst_init (&argc, &argv);
  while ((opt = getopt (argc, argv, "n:t:")) != -1) {
    switch (opt) {
      case 'n': expected = (gint64) g_ascii_strtoull (optarg, NULL, 0); break;
      case 't': timeout = g_ascii_strtoull (optarg, NULL, 0); break;
      default: usage ();
    }
  }
  if (optind != argc - 1 || expected < -1 || timeout > G_MAXUINT64 /
      GST_SECOND)
    usage ();
  r.from_zero = expected >= 0;

  /* sync=false: read each frame as it comes, not at its clock time. */
  pipeline = gst_parse_launch ("zcsrc name=src ! appsink name=sink "
      "sync=false", &error);
  if (error != NULL) {
    fprintf (stderr, "gst-receive: %s (is GST_PLUGIN_PATH set?)\n",
        error->message);
    return 1;
  }
  src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  g_object_set (src, "channel", argv[optind], "timeout", timeout * GST_SECOND,
      NULL);
  bus = gst_element_get_bus (pipeline);

  printf ("gst-receive[%d]: waiting on channel %s\n", (int) getpid (),
      argv[optind]);
  if (gst_element_set_state (pipeline, GST_STATE_PLAYING)
      == GST_STATE_CHANGE_FAILURE) {
    report_error (bus);
    return 1;
  }
  /* NULL at EOS or on an error; a sample is unreffed at once, which gives
   * the block back to the producer. */
  while ((sample = gst_app_sink_pull_sample (GST_APP_SINK (sink)))) {
    on_sample (&r, sample);
    gst_sample_unref (sample);
  }
  eos = gst_app_sink_is_eos (GST_APP_SINK (sink));
  failed = report_error (bus);

  g_object_get (src, "stats", &stats, NULL);
  str = gst_structure_to_string (stats);
  ok = eos && !failed && r.bad == 0 && r.frames > 0
      && (expected < 0 || r.frames == (guint64) expected);
  printf ("gst-receive[%d]: %" G_GUINT64_FORMAT " frames, caps %s, %"
      G_GUINT64_FORMAT " bad, %s\n", (int) getpid (), r.frames,
      r.caps ? r.caps : "(none)", r.bad,
      failed ? "error" : eos ? "EOS" : "no EOS");
  printf ("gst-receive[%d]: %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
      " frames read in place in shared memory, checksum %016"
      G_GINT64_MODIFIER "x\n", (int) getpid (), r.in_place, r.frames, r.sum);
  printf ("gst-receive[%d]: zcsrc stats %s\n", (int) getpid (), str);
  if (expected >= 0 && r.frames != (guint64) expected)
    printf ("gst-receive[%d]: expected %" G_GINT64_FORMAT " frames\n",
        (int) getpid (), expected);
  g_free (str);
  gst_structure_free (stats);

  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (src);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  g_free (r.caps);
  return ok ? 0 : 1;
}

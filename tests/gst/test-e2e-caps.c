/* End-to-end: what crosses from a producer pipeline in this process to a
 * gst-launch-1.0 consumer (zcsrc ! checksumsink), checked frame by frame
 * by checksum: caps changes mid-stream, set by an application or
 * renegotiated into a new pool, and the copies zcsink makes (none for
 * frames drawn in its pool, one each for system memory).
 *
 *   usage: test-e2e-caps       (GST_PLUGIN_PATH_1_0 must find the plugin)
 *
 * Prints TAP; exits non-zero if a case failed.  The harness (producer,
 * consumers, waits) is e2e-harness.c.
 */
#include <stdio.h>

#include <gst/gst.h>

#include "e2e-harness.h"

/* Caps change mid-stream, from an application: 320x240 frames, then
 * 640x480 ones; the consumer sees both caps and every frame. */
static void
test_caps_change_appsrc (void)
{
  gchar *dir = new_runtime_dir ();
  Producer *p = producer_new (GRAY_APPSRC "channel=capsapp");
  Child *c = launch (dir, "cons", "zcsrc channel=capsapp ! checksumsink");
  gboolean ok = TRUE;
  guint n;

  CHECK (producer_play_gray (p, 320, 240, 0));
  for (n = 0; n < 10; n++)
    push_frame (p, 320 * 240, n);
  set_gray_caps (p, 640, 480);
  for (; n < 20; n++)
    push_frame (p, 640 * 480, n);
  CHECK (producer_end_stream (p));
  CHECK (child_wait (p, c));
  CHECK (p->sums->len == 20);
  CHECK (child_got_tail (p, c, 0));
  CHECK (output_has (c, "width=(int)320, height=(int)240"));
  CHECK (output_has (c, "width=(int)640, height=(int)480"));
  CHECK (clean_output (c));
out:
  child_free (c);
  end_case (p, dir, ok, "caps change from appsrc (320x240 -> 640x480, copy "
      "path): both caps and all 20 frames arrive intact");
}

static GstPadProbeReturn
renegotiate (G_GNUC_UNUSED GstPad * pad,
    G_GNUC_UNUSED GstPadProbeInfo * info, gpointer data)
{
  Producer *p = data;

  if (++p->vtest_frames == 15) {
    GstElement *cf = gst_bin_get_by_name (GST_BIN (p->pipeline), "cf");
    GstCaps *caps = gst_caps_from_string ("video/x-raw,format=I420,"
        "width=640,height=360");

    g_object_set (cf, "caps", caps, NULL);
    gst_caps_unref (caps);
    gst_object_unref (cf);
  }
  return GST_PAD_PROBE_OK;
}

/* Caps change by renegotiation: videotestsrc draws into zcsink's pool,
 * then renegotiates a larger size and gets a new pool. */
static void
test_caps_change_renegotiate (void)
{
  gchar *dir = new_runtime_dir ();
  Producer *p = producer_new ("videotestsrc name=vt num-buffers=30 "
      "pattern=ball ! capsfilter name=cf caps=video/x-raw,format=I420,"
      "width=320,height=240 ! zcsink name=sink sync=false "
      "wait-for-consumer=true channel=capsneg");
  Child *c = launch (dir, "cons", "zcsrc channel=capsneg ! checksumsink");
  GstElement *vt = gst_bin_get_by_name (GST_BIN (p->pipeline), "vt");
  GstPad *pad = gst_element_get_static_pad (vt, "src");
  gboolean ok = TRUE;
  GstStructure *s = NULL;
  gchar *str;

  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, renegotiate, p, NULL);
  gst_object_unref (pad);
  gst_object_unref (vt);
  CHECK (gst_element_set_state (p->pipeline, GST_STATE_PLAYING)
      != GST_STATE_CHANGE_FAILURE);
  CHECK (poll_until (p, cond_eos, NULL));
  CHECK (child_wait (p, c));
  CHECK (p->sums->len == 30);
  CHECK (child_got_tail (p, c, 0));
  CHECK (output_has (c, "width=(int)320, height=(int)240"));
  CHECK (output_has (c, "width=(int)640, height=(int)360"));
  CHECK (clean_output (c));
  g_object_get (p->sink, "stats", &s, NULL);
  str = gst_structure_to_string (s);
  printf ("# %s\n", str);
  g_free (str);
  gst_structure_free (s);
out:
  child_free (c);
  end_case (p, dir, ok, "caps change by renegotiation (videotestsrc in "
      "zcsink's pool, 320x240 -> 640x360): both caps and all 30 frames "
      "arrive intact");
}

/* The zero-copy claim, counted across processes: when videotestsrc draws
 * into zcsink's pool (it takes the pool from the ALLOCATION query) no
 * frame is copied; when `identity drop-allocation=true` hides the pool,
 * each frame is copied exactly once.  Both arrive byte-identical. */
static void
run_copies_case (gboolean hide_pool)
{
  gchar *dir = new_runtime_dir ();
  gchar *desc = g_strdup_printf ("videotestsrc num-buffers=30 pattern=ball "
      "! video/x-raw,format=I420,width=320,height=240,framerate=30/1 %s "
      "! zcsink name=sink sync=false wait-for-consumer=true channel=copies",
      hide_pool ? "! identity drop-allocation=true" : "");
  Producer *p = producer_new (desc);
  Child *a = launch (dir, "a", "zcsrc channel=copies ! checksumsink");
  gboolean ok = TRUE;
  guint64 expected = hide_pool ? 30 : 0;

  CHECK (gst_element_set_state (p->pipeline, GST_STATE_PLAYING)
      != GST_STATE_CHANGE_FAILURE);
  CHECK (poll_until (p, cond_eos, NULL));
  CHECK (child_wait (p, a));
  CHECK (child_got_tail (p, a, 30));
  CHECK (stats_get (p, "frames") == 30);
  CHECK (stats_get (p, "copies") == expected);
  CHECK (clean_output (a));
out:
  if (!ok)
    printf ("# copies %" G_GUINT64_FORMAT ", expected %" G_GUINT64_FORMAT
        "\n", stats_get (p, "copies"), expected);
  child_free (a);
  end_case (p, dir, ok, hide_pool ? "system-memory frames (pool hidden by "
      "identity drop-allocation) are copied exactly once each and arrive "
      "intact" :
      "frames drawn in zcsink's pool cross to another process with zero "
      "copies and arrive intact");
  g_free (desc);
}

static void
test_copies (void)
{
  run_copies_case (FALSE);
  run_copies_case (TRUE);
}

static const E2eCase cases[] = {
  {"caps-change-appsrc", test_caps_change_appsrc},
  {"caps-change-renegotiate", test_caps_change_renegotiate},
  {"copies", test_copies},
};

/* ZC_E2E_ONLY=WORD runs the cases whose name contains WORD;
 * ZC_E2E_KEEP=1 keeps the outputs of a passing run. */
int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  return e2e_run (cases, G_N_ELEMENTS (cases));
}

/* bench-gst: the consumer process, started by the producer as
 *
 *   bench-gst --consumer TRANSPORT FORMAT RATE FRAMES ENDPOINT TIMEOUT WARMUP
 *
 * It writes "ready" on its stdout once PLAYING, then one "result" line
 * (bench-gst-producer.c reads both). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <glib-unix.h>

#include "bench-gst.h"

static gboolean
consumer_bus (G_GNUC_UNUSED GstBus * bus, GstMessage * msg, gpointer data)
{
  Recv *r = data;
  GError *err = NULL;
  GstState old, state;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_STATE_CHANGED:
      if (!GST_IS_PIPELINE (msg->src))
        break;
      gst_message_parse_state_changed (msg, &old, &state, NULL);
      if (state == GST_STATE_PLAYING && old != GST_STATE_PLAYING) {
        fputs ("ready\n", stdout);
        fflush (stdout);
      }
      break;
    case GST_MESSAGE_ERROR:
      /* Still report what came before: the row shows the loss.  shmsrc
       * fails its next read once shmsink stops sending (it has no EOS):
       * no failure when every frame is in. */
      gst_message_parse_error (msg, &err, NULL);
      g_printerr ("bench-gst consumer: %s after %" G_GUINT64_FORMAT
          " frames\n", err->message, r->received);
      g_error_free (err);
      r->failed = r->received < r->frames;
      g_main_loop_quit (r->loop);
      break;
    case GST_MESSAGE_EOS:
      g_main_loop_quit (r->loop);
      break;
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
consumer_term (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

/* argv: --consumer TRANSPORT FORMAT RATE FRAMES ENDPOINT TIMEOUT WARMUP */
int
consumer_main (const Options * o, const char *endpoint)
{
  gchar *desc, *caps;
  GstElement *pipeline;
  GstBus *bus;
  Recv r;
  Result res;
  guint64 i;

  alarm (o->timeout + BACKSTOP_S);
  recv_init (&r, o->frames, o->warmup);
  r.loop = g_main_loop_new (NULL, FALSE);
  caps = caps_string (o);
  /* async=false: a live pipeline's sink reaches PLAYING only with its first
   * frame otherwise, and the producer holds that until we say "ready". */
  if (o->transport == T_ZC || o->transport == T_ZC_COPY)
    desc = g_strdup_printf ("zcsrc channel=%s timeout=%" G_GUINT64_FORMAT
        " ! fakesink name=sink sync=false async=false "
        "enable-last-sample=false", endpoint,
        (guint64) o->timeout * GST_SECOND);
  else
    desc = g_strdup_printf ("shmsrc socket-path=%s is-live=true ! %s ! "
        "fakesink name=sink sync=false async=false enable-last-sample=false",
        endpoint, caps);
  pipeline = launch (desc);
  add_probe (pipeline, "sink", "sink", recv_probe, &r);
  bus = gst_element_get_bus (pipeline);
  gst_bus_add_watch (bus, consumer_bus, &r);
  g_unix_signal_add (SIGTERM, consumer_term, r.loop);
  if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE) {
    g_printerr ("bench-gst consumer: %s does not start\n", desc);
    return 3;
  }
  g_main_loop_run (r.loop);

  recv_result (&r, &res);
  printf ("result %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %"
      G_GUINT64_FORMAT " %.17g %.17g %.17g %" G_GUINT64_FORMAT,
      res.received, res.lost, res.rss_kib, res.fps, res.cpu_us,
      res.proc_cpu_us, res.n_lat);
  for (i = 0; i < res.n_lat; i++)
    printf (" %" G_GINT64_FORMAT, res.lat[i]);
  printf ("\n");
  fflush (stdout);

  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  g_free (desc);
  g_free (caps);
  return r.failed ? 3 : 0;
}

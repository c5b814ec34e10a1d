/* bench-gst: the pipelines, as gst-launch descriptions.  The consumer's
 * is in bench-gst-consumer.c. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdlib.h>

#include "bench-gst.h"

gchar *
caps_string (const Options * o)
{
  guint fps = o->rate ? o->rate : 30;

  if (o->format->audio)
    return g_strdup_printf ("audio/x-raw,format=S16LE,layout=interleaved,"
        "channels=2,rate=%u", o->rate ? 256 * o->rate : 48000);
  return g_strdup_printf ("video/x-raw,format=I420,width=%d,height=%d,"
      "framerate=%u/1", o->format->width, o->format->height, fps);
}

static gchar *
source_string (const Options * o)
{
  gchar *caps = caps_string (o), *s;
  const char *live = o->rate ? "true" : "false";

  if (o->format->audio)
    s = g_strdup_printf ("audiotestsrc name=src wave=silence "
        "samplesperbuffer=256 is-live=%s num-buffers=%u ! %s", live,
        o->frames, caps);
  else
    s = g_strdup_printf ("videotestsrc name=src pattern=black is-live=%s "
        "num-buffers=%u ! %s", live, o->frames, caps);
  g_free (caps);
  return s;
}

guint64
shm_size (const Options * o)
{
  /* 24 frames, at least the 128 MiB small buffers need to flow at all. */
  return MAX (o->format->bytes * 24, (guint64) 128 << 20);
}

gchar *
producer_string (const Options * o, const char *endpoint)
{
  gchar *src = source_string (o), *s;
  const char *copy = (o->transport == T_ZC_COPY
      || o->transport == T_SHM_COPY) ? "identity drop-allocation=true ! " : "";
  GString *q;
  guint i;

  switch (o->transport) {
    case T_QUEUE:
      q = g_string_new (src);
      if (o->consumers > 1)
        g_string_append (q, " ! tee name=t");
      for (i = 0; i < o->consumers; i++)
        g_string_append_printf (q, " %s ! queue ! fakesink name=c%u "
            "sync=false enable-last-sample=false", o->consumers > 1 ? "t." : "",
            i);
      s = g_string_free (q, FALSE);
      break;
    case T_ZC:
    case T_ZC_COPY:
      s = g_strdup_printf ("%s ! %szcsink name=sink channel=%s policy=block "
          "max-consumers=%u sync=false enable-last-sample=false", src, copy,
          endpoint, MAX (o->consumers, 32));
      break;
    default:
      s = g_strdup_printf ("%s ! %sshmsink name=sink socket-path=%s "
          "shm-size=%" G_GUINT64_FORMAT " wait-for-connection=true sync=false "
          "enable-last-sample=false", src, copy, endpoint, shm_size (o));
      break;
  }
  g_free (src);
  return s;
}

GstElement *
launch (const gchar * desc)
{
  GError *error = NULL;
  GstElement *p = gst_parse_launch (desc, &error);

  if (p == NULL || error) {
    g_printerr ("bench-gst: %s: %s\n", desc, error ? error->message : "?");
    exit (2);
  }
  return p;
}

void
add_probe (GstElement * bin, const char *name, const char *pad_name,
    GstPadProbeCallback cb, gpointer data)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (bin), name);
  GstPad *pad = gst_element_get_static_pad (e, pad_name);

  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, cb, data, NULL);
  gst_object_unref (pad);
  gst_object_unref (e);
}

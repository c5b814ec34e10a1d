/* bench-gst: one row of the element-level benchmark: the same source
 * through an in-process queue, shmsink -> shmsrc or zcsink -> zcsrc,
 * measured the same way, printed as one JSON object on one line.
 *
 *   bench-gst TRANSPORT FORMAT [--frames N] [--rate FPS] [--consumers K]
 *             [--timeout S] [--warmup W]
 *     TRANSPORT  queue | shm | shm-copy | zc | zc-copy
 *     FORMAT     1080p | 4k | 320x240 (I420) | audio-1k (S16LE stereo,
 *                256 samples: 1024-byte buffers)
 *     --frames   buffers the source makes (default 300)
 *     --rate     0: unpaced, the source is not live (default); F: a live
 *                source at F buffers/s (audio: a sample rate of 256 * F)
 *     --consumers  consumer processes (queue: tee branches) (default 1)
 *     --timeout  deadline of the whole run in seconds (default 60)
 *     --warmup W the first W frames flow but are not measured: no latency,
 *                and the CPU and fps windows open at frame W, so the first
 *                touch of every pool block is left out (default 0)
 *
 * Output: one line of JSON on stdout with the keys transport,
 * format, rate, consumers, frames, frame_bytes, received[], fps[],
 * producer_cpu_us, producer_proc_cpu_us, consumer_cpu_us[],
 * consumer_proc_cpu_us[], latency_ns[][], producer_rss_kib,
 * consumer_rss_kib[], shm_kib, copies, lost[], error (null or a string);
 * arrays per consumer, CPU in microseconds per frame.  "latency_ns"
 * holds every measured frame's one-way latency in arrival order;
 * "lost" counts frame indices never seen; "copies" is zcsink's stats
 * "copies" (null for queue and shm); "shm_kib" is the memfd mappings of
 * the zc producer or shmsink's shm-size; RSS is VmRSS at the end of the run.
 * For queue, "consumer" CPU is the queue branch's thread and the process
 * figures are the one process's.
 *
 * The parts: see bench-gst.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench-gst.h"

const char *const transport_names[] = {
  "queue", "shm", "shm-copy", "zc", "zc-copy"
};

static const Format formats[] = {
  {"1080p", FALSE, 1920, 1080, 1920 * 1080 * 3 / 2},
  {"4k", FALSE, 3840, 2160, 3840 * 2160 * 3 / 2},
  {"320x240", FALSE, 320, 240, 320 * 240 * 3 / 2},
  {"audio-1k", TRUE, 0, 0, 1024},
};

/* --- the row --- */

static void
json_num (GString * s, double v)
{
  if (isnan (v) || isinf (v))
    g_string_append (s, "null");
  else
    g_string_append_printf (s, "%.3f", v);
}

static void
json_u64s (GString * s, const char *key, const Result * res, guint n,
    gsize field)
{
  guint i;

  g_string_append_printf (s, ",\"%s\":[", key);
  for (i = 0; i < n; i++)
    g_string_append_printf (s, "%s%" G_GUINT64_FORMAT, i ? "," : "",
        *(const guint64 *) ((const char *) &res[i] + field));
  g_string_append_c (s, ']');
}

static void
json_doubles (GString * s, const char *key, const Result * res, guint n,
    gsize field)
{
  guint i;

  g_string_append_printf (s, ",\"%s\":[", key);
  for (i = 0; i < n; i++) {
    if (i)
      g_string_append_c (s, ',');
    json_num (s, *(const double *) ((const char *) &res[i] + field));
  }
  g_string_append_c (s, ']');
}

/* The row.  @copies < 0: not a zc transport. */
gchar *
json_row (const Options * o, const Result * res, double cpu, double proc_cpu,
    guint64 rss, guint64 shm_kib, gint64 copies, const char *error)
{
  GString *s = g_string_new (NULL);
  guint i, j;

  g_string_append_printf (s, "{\"transport\":\"%s\",\"format\":\"%s\","
      "\"rate\":%u,\"consumers\":%u,\"frames\":%u,\"frame_bytes\":%"
      G_GUINT64_FORMAT, transport_names[o->transport], o->format->name,
      o->rate, o->consumers, o->frames, o->format->bytes);
  json_u64s (s, "received", res, o->consumers, G_STRUCT_OFFSET (Result,
          received));
  json_doubles (s, "fps", res, o->consumers, G_STRUCT_OFFSET (Result, fps));
  g_string_append (s, ",\"producer_cpu_us\":");
  json_num (s, cpu);
  g_string_append (s, ",\"producer_proc_cpu_us\":");
  json_num (s, proc_cpu);
  json_doubles (s, "consumer_cpu_us", res, o->consumers,
      G_STRUCT_OFFSET (Result, cpu_us));
  json_doubles (s, "consumer_proc_cpu_us", res, o->consumers,
      G_STRUCT_OFFSET (Result, proc_cpu_us));
  g_string_append (s, ",\"latency_ns\":[");
  for (i = 0; i < o->consumers; i++) {
    g_string_append (s, i ? ",[" : "[");
    for (j = 0; j < res[i].n_lat; j++)
      g_string_append_printf (s, "%s%" G_GINT64_FORMAT, j ? "," : "",
          res[i].lat[j]);
    g_string_append_c (s, ']');
  }
  g_string_append_printf (s, "],\"producer_rss_kib\":%" G_GUINT64_FORMAT, rss);
  json_u64s (s, "consumer_rss_kib", res, o->consumers,
      G_STRUCT_OFFSET (Result, rss_kib));
  g_string_append_printf (s, ",\"shm_kib\":%" G_GUINT64_FORMAT, shm_kib);
  if (copies < 0)
    g_string_append (s, ",\"copies\":null");
  else
    g_string_append_printf (s, ",\"copies\":%" G_GINT64_FORMAT, copies);
  json_u64s (s, "lost", res, o->consumers, G_STRUCT_OFFSET (Result, lost));
  if (error) {
    gchar *esc = g_strescape (error, NULL);

    g_string_append_printf (s, ",\"error\":\"%s\"}\n", esc);
    g_free (esc);
  } else {
    g_string_append (s, ",\"error\":null}\n");
  }
  return g_string_free (s, FALSE);
}

/* --- command line --- */

G_GNUC_NORETURN static void
usage (void)
{
  g_printerr ("usage: bench-gst queue|shm|shm-copy|zc|zc-copy "
      "1080p|4k|320x240|audio-1k [--frames N] [--rate FPS] [--consumers K] "
      "[--timeout S] [--warmup W]\n");
  exit (2);
}

static guint
parse_uint (const char *s, guint min, guint max)
{
  guint64 v;

  if (s == NULL || !g_ascii_string_to_unsigned (s, 10, min, max, &v, NULL))
    usage ();
  return (guint) v;
}

static void
parse_names (Options * o, const char *transport, const char *format)
{
  guint i;

  o->format = NULL;
  for (i = 0; i < G_N_ELEMENTS (transport_names); i++)
    if (transport && strcmp (transport, transport_names[i]) == 0)
      break;
  if (i == G_N_ELEMENTS (transport_names))
    usage ();
  o->transport = (Transport) i;
  for (i = 0; i < G_N_ELEMENTS (formats); i++)
    if (format && strcmp (format, formats[i].name) == 0)
      o->format = &formats[i];
  if (o->format == NULL)
    usage ();
}

int
main (int argc, char **argv)
{
  Options o = { T_QUEUE, NULL, 0, 300, 1, 60, 0 };
  gchar *self;
  int i;

  gst_init (&argc, &argv);
  if (argc == 9 && strcmp (argv[1], "--consumer") == 0) {
    parse_names (&o, argv[2], argv[3]);
    o.rate = parse_uint (argv[4], 0, 100000);
    o.frames = parse_uint (argv[5], 1, 100000000);
    o.timeout = parse_uint (argv[7], 1, 86400);
    o.warmup = parse_uint (argv[8], 0, o.frames - 1);
    return consumer_main (&o, argv[6]);
  }
  if (argc < 3)
    usage ();
  parse_names (&o, argv[1], argv[2]);
  for (i = 3; i < argc; i += 2) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;

    if (strcmp (argv[i], "--frames") == 0)
      o.frames = parse_uint (v, 1, 100000000);
    else if (strcmp (argv[i], "--rate") == 0)
      o.rate = parse_uint (v, 0, 100000);
    else if (strcmp (argv[i], "--consumers") == 0)
      o.consumers = parse_uint (v, 1, MAX_CONSUMERS);
    else if (strcmp (argv[i], "--timeout") == 0)
      o.timeout = parse_uint (v, 1, 86400);
    else if (strcmp (argv[i], "--warmup") == 0)
      o.warmup = parse_uint (v, 0, 100000000);
    else
      usage ();
  }
  if (o.warmup >= o.frames)
    usage ();
  self = g_file_read_link ("/proc/self/exe", NULL);
  if (self == NULL)
    self = g_strdup (argv[0]);
  return producer_main (&o, self);
}

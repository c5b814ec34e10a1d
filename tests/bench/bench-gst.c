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
 * Processes: this one runs the producer pipeline and re-executes itself
 * with a hidden "--consumer" role for each consumer, so every process has
 * its own GStreamer.  A consumer writes "ready" on its stdout (a pipe to
 * us) once PLAYING, then one "result" line when it has every frame (zcsrc
 * also ends at EOS; shmsrc never sees one), or on SIGTERM with what it got.
 * The producer holds its first buffer (STAMP waits on a gate) and, for a
 * live source, stays in PAUSED until all K consumers are ready and
 * attached (zcsink's stats "consumers", shmsink's client-connected), so no
 * consumer misses the start and a live source has no backlog to catch up.
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
 * STAMP, a probe on the source's src pad, writes CLOCK_MONOTONIC (ns) and
 * the frame index into the buffer's first 16 bytes; PROBE, on each
 * fakesink's sink pad, reads them.  Both take getrusage (RUSAGE_THREAD of
 * the streaming thread and RUSAGE_SELF) at the first and the last frame,
 * so CPU per frame excludes start-up and teardown.
 *
 * Deadlines: a GLib timeout at --timeout kills the consumers and prints the
 * JSON with "error":"timeout"; SIGALRM a few seconds later does the same
 * from a signal handler in case the main thread itself is stuck.
 * Consumers die with us (PR_SET_PDEATHSIG) and carry their own alarm.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>
#include <gst/gst.h>

#define MAX_CONSUMERS 63
/* After the producer's EOS, a consumer still short of frames has lost some:
 * this long, then it is told to report what it has. */
#define EOS_GRACE_S 5
/* Past --timeout, the main loop's own deadline had this long to act. */
#define BACKSTOP_S 5

typedef enum
{
  T_QUEUE, T_SHM, T_SHM_COPY, T_ZC, T_ZC_COPY
} Transport;

static const char *const transport_names[] = {
  "queue", "shm", "shm-copy", "zc", "zc-copy"
};

typedef struct
{
  const char *name;
  gboolean audio;
  int width, height;
  guint64 bytes;
} Format;

static const Format formats[] = {
  {"1080p", FALSE, 1920, 1080, 1920 * 1080 * 3 / 2},
  {"4k", FALSE, 3840, 2160, 3840 * 2160 * 3 / 2},
  {"320x240", FALSE, 320, 240, 320 * 240 * 3 / 2},
  {"audio-1k", TRUE, 0, 0, 1024},
};

typedef struct
{
  Transport transport;
  const Format *format;
  guint rate, frames, consumers, timeout, warmup;
} Options;

typedef struct
{
  gint64 thread_ns, self_ns;
} Usage;

/* What one consumer (process or queue branch) measured. */
typedef struct
{
  guint64 received, lost, rss_kib;
  double fps, cpu_us, proc_cpu_us;      /* NAN: unknown */
  gint64 *lat;
  guint64 n_lat;
} Result;

/* STAMP's state; only the source's streaming thread touches it after the
 * gate opens, the main thread reads it after EOS. */
typedef struct
{
  guint64 frames, warmup, count;
  GMutex lock;
  GCond cond;
  gboolean open;
  Usage first, last;
  gboolean have_last;
} Stamp;

/* PROBE's state, written by one streaming thread. */
typedef struct
{
  gboolean failed;              /* consumer process: its pipeline erred */
  guint64 frames, warmup, received, dups, strays;
  gint64 *lat;                  /* arrival order, from the @warmup'th */
  guint8 *seen;                 /* by frame index */
  Usage first, last;
  guint64 last_n;               /* frames received when @last was taken */
  gboolean have_last;
  gint64 t_first, t_last;
  GMainLoop *loop;              /* consumer process: quit at @frames */
} Recv;

/* --- measuring --- */

static gint64
mono_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static gint64
tv_ns (const struct timeval *tv)
{
  return (gint64) tv->tv_sec * 1000000000 + (gint64) tv->tv_usec * 1000;
}

static void
usage_take (Usage * u)
{
  struct rusage r;

  getrusage (RUSAGE_THREAD, &r);
  u->thread_ns = tv_ns (&r.ru_utime) + tv_ns (&r.ru_stime);
  getrusage (RUSAGE_SELF, &r);
  u->self_ns = tv_ns (&r.ru_utime) + tv_ns (&r.ru_stime);
}

/* Microseconds per frame over the @n frames between two samples. */
static double
per_frame_us (gint64 delta_ns, guint64 n)
{
  return n < 2 ? NAN : (double) delta_ns / 1e3 / (double) (n - 1);
}

static guint64
status_kib (const char *key)
{
  gchar *text = NULL, *p;
  guint64 v = 0;
  gsize klen = strlen (key);

  if (!g_file_get_contents ("/proc/self/status", &text, NULL, NULL))
    return 0;
  for (p = text; p && *p; p = strchr (p, '\n'), p = p ? p + 1 : NULL)
    if (strncmp (p, key, klen) == 0 && p[klen] == ':') {
      v = g_ascii_strtoull (p + klen + 1, NULL, 10);
      break;
    }
  g_free (text);
  return v;
}

/* Shared memory libzc mapped here: its memfds are named "zc:NAME:meta" and
 * "zc:NAME:data" (lib/segment.c).  Counted per file by the furthest mapped
 * byte, so a file mapped twice counts once. */
static guint64
zc_shm_kib (void)
{
  GHashTable *extent = g_hash_table_new_full (g_int64_hash, g_int64_equal,
      g_free, NULL);
  gchar *text = NULL, **lines;
  GHashTableIter it;
  gpointer k, v;
  guint64 total = 0;
  guint i;

  if (!g_file_get_contents ("/proc/self/maps", &text, NULL, NULL))
    return 0;
  lines = g_strsplit (text, "\n", -1);
  for (i = 0; lines[i]; i++) {
    guint64 start, end, off;
    gint64 inode, *key;
    gint64 *old;

    if (strstr (lines[i], "/memfd:zc:") == NULL ||
        sscanf (lines[i], "%" SCNx64 "-%" SCNx64 " %*s %" SCNx64 " %*s %"
            SCNd64, &start, &end, &off, &inode) != 4)
      continue;
    old = g_hash_table_lookup (extent, &inode);
    if (old == NULL) {
      key = g_new (gint64, 2);
      key[0] = inode;
      key[1] = 0;
      g_hash_table_insert (extent, key, key);
      old = key;
    }
    old[1] = MAX (old[1], (gint64) (off + end - start));
  }
  g_hash_table_iter_init (&it, extent);
  while (g_hash_table_iter_next (&it, &k, &v))
    total += (guint64) ((gint64 *) v)[1];
  g_hash_table_destroy (extent);
  g_strfreev (lines);
  g_free (text);
  return total / 1024;
}

/* --- STAMP and PROBE --- */

static GstPadProbeReturn
stamp_probe (G_GNUC_UNUSED GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Stamp *s = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstMapInfo map;
  guint64 v[2];

  if (s->count == 0) {
    g_mutex_lock (&s->lock);
    while (!s->open)
      g_cond_wait (&s->cond, &s->lock);
    g_mutex_unlock (&s->lock);
  }
  if (s->count == s->warmup) {
    usage_take (&s->first);
  } else if (s->count == s->frames - 1) {
    usage_take (&s->last);
    s->have_last = TRUE;
  }
  if (G_UNLIKELY (!gst_buffer_is_writable (buf))) {
    /* A copy here would be measured as transport cost: say so. */
    g_printerr ("bench-gst: frame %" G_GUINT64_FORMAT " not writable at the "
        "source, copied to stamp it\n", s->count);
    buf = gst_buffer_make_writable (buf);
    GST_PAD_PROBE_INFO_DATA (info) = buf;
  }
  v[0] = (guint64) mono_ns ();
  v[1] = s->count++;
  if (gst_buffer_map (buf, &map, GST_MAP_WRITE)) {
    if (map.size >= sizeof (v))
      memcpy (map.data, v, sizeof (v));
    gst_buffer_unmap (buf, &map);
  }
  return GST_PAD_PROBE_OK;
}

static void
stamp_open (Stamp * s)
{
  g_mutex_lock (&s->lock);
  s->open = TRUE;
  g_cond_signal (&s->cond);
  g_mutex_unlock (&s->lock);
}

static GstPadProbeReturn
recv_probe (G_GNUC_UNUSED GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Recv *r = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  gint64 now = mono_ns ();
  guint64 v[2] = { 0, G_MAXUINT64 };
  GstMapInfo map;

  if (gst_buffer_map (buf, &map, GST_MAP_READ)) {
    if (map.size >= sizeof (v))
      memcpy (v, map.data, sizeof (v));
    gst_buffer_unmap (buf, &map);
  }
  if (r->received == r->warmup) {
    usage_take (&r->first);
    r->t_first = now;
  }
  if (r->received >= r->warmup && r->received < r->frames)
    r->lat[r->received - r->warmup] = now - (gint64) v[0];
  if (v[1] >= r->frames)
    r->strays++;
  else if (r->seen[v[1]]++)
    r->dups++;
  r->received++;
  r->t_last = now;
  if (!r->have_last && r->received > r->warmup
      && (v[1] == r->frames - 1 || r->received == r->frames)) {
    usage_take (&r->last);
    r->last_n = r->received;
    r->have_last = TRUE;
  }
  if (r->received == r->frames && r->loop)
    g_main_loop_quit (r->loop);
  return GST_PAD_PROBE_OK;
}

static void
recv_init (Recv * r, guint frames, guint warmup)
{
  memset (r, 0, sizeof (*r));
  r->frames = frames;
  r->warmup = warmup;
  r->lat = g_new0 (gint64, frames);
  r->seen = g_new0 (guint8, frames);
}

static void
recv_result (const Recv * r, Result * res)
{
  guint64 i, distinct = 0, measured = r->received > r->warmup ?
      r->received - r->warmup : 0;

  for (i = 0; i < r->frames; i++)
    distinct += r->seen[i] != 0;
  res->received = r->received;
  res->lost = r->frames - distinct;
  res->fps = measured >= 2 && r->t_last > r->t_first ?
      (double) (measured - 1) * 1e9 / (double) (r->t_last - r->t_first) : NAN;
  res->cpu_us = res->proc_cpu_us = NAN;
  if (r->have_last) {
    res->cpu_us = per_frame_us (r->last.thread_ns - r->first.thread_ns,
        r->last_n - r->warmup);
    res->proc_cpu_us = per_frame_us (r->last.self_ns - r->first.self_ns,
        r->last_n - r->warmup);
  }
  res->lat = r->lat;
  res->n_lat = MIN (r->received, r->frames);
  res->n_lat = res->n_lat > r->warmup ? res->n_lat - r->warmup : 0;
  res->rss_kib = status_kib ("VmRSS");
  if (r->dups || r->strays)
    g_printerr ("bench-gst: %" G_GUINT64_FORMAT " duplicate and %"
        G_GUINT64_FORMAT " unknown frames\n", r->dups, r->strays);
}

/* --- pipelines --- */

static gchar *
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

static guint64
shm_size (const Options * o)
{
  /* 24 frames, at least the 128 MiB small buffers need to flow at all. */
  return MAX (o->format->bytes * 24, (guint64) 128 << 20);
}

static gchar *
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

static GstElement *
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

static void
add_probe (GstElement * bin, const char *name, const char *pad_name,
    GstPadProbeCallback cb, gpointer data)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (bin), name);
  GstPad *pad = gst_element_get_static_pad (e, pad_name);

  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, cb, data, NULL);
  gst_object_unref (pad);
  gst_object_unref (e);
}

/* --- the consumer process --- */

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
static int
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

/* --- the producer process --- */

typedef struct
{
  GPid pid;
  GString *out;
  gboolean ready, eof, exited, have_result;
  guint fd_watch;
  int fd;
  Result res;
} Child;

typedef struct
{
  Options o;
  GMainLoop *loop;
  GstElement *pipeline, *sink;
  Stamp stamp;
  Recv *branches;               /* queue */
  Child *kids;
  gchar *kid_error;             /* first consumer that failed after a result */
  gchar *endpoint;
  gint connected;               /* shm: clients shmsink accepted */
  gboolean eos, timed_out;
} Run;

static Run run;

/* For the SIGALRM backstop: only async-signal-safe state. */
static pid_t kid_pids[MAX_CONSUMERS];
static volatile sig_atomic_t n_kid_pids, printed;
static char backstop_json[4096];
static char shm_area[256], sock_path[256];

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
static gchar *
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

static void
kill_kids (int sig)
{
  sig_atomic_t i;

  for (i = 0; i < n_kid_pids; i++)
    kill (kid_pids[i], sig);
}

static void
on_alarm (G_GNUC_UNUSED int sig)
{
  kill_kids (SIGKILL);
  if (shm_area[0])
    unlink (shm_area);
  if (sock_path[0])
    unlink (sock_path);
  if (!printed && write (1, backstop_json, strlen (backstop_json)) < 0)
    _exit (1);
  _exit (printed == 1 ? 0 : 1);
}

static gboolean
is_zc (Transport t)
{
  return t == T_ZC || t == T_ZC_COPY;
}

/* Prints the row and leaves: tears the producer down only after a clean
 * run (the alarm still guards it); on failure the consumers die first. */
static void
finish (const char *error)
{
  const Options *o = &run.o;
  Result *res = g_new0 (Result, o->consumers);
  Stamp *st = &run.stamp;
  double cpu = NAN, proc_cpu = NAN;
  gint64 copies = -1;
  guint64 shm_kib = 0;
  gchar *row;
  guint i;

  for (i = 0; i < o->consumers; i++) {
    if (o->transport == T_QUEUE)
      recv_result (&run.branches[i], &res[i]);
    else if (run.kids && run.kids[i].have_result)
      res[i] = run.kids[i].res;
    else {
      res[i].fps = res[i].cpu_us = res[i].proc_cpu_us = NAN;
      res[i].lost = o->frames;
    }
  }
  if (st->have_last) {
    guint64 n = o->frames - o->warmup;

    cpu = per_frame_us (st->last.thread_ns - st->first.thread_ns, n);
    proc_cpu = per_frame_us (st->last.self_ns - st->first.self_ns, n);
  }
  if (is_zc (o->transport)) {
    GstStructure *stats = NULL;
    guint64 c = 0;

    g_object_get (run.sink, "stats", &stats, NULL);
    if (stats && gst_structure_get_uint64 (stats, "copies", &c))
      copies = (gint64) c;
    if (stats)
      gst_structure_free (stats);
    shm_kib = zc_shm_kib ();
  } else if (o->transport != T_QUEUE) {
    shm_kib = shm_size (o) / 1024;
  }
  g_printerr ("bench-gst: producer VmRSS %" G_GUINT64_FORMAT " KiB, VmHWM %"
      G_GUINT64_FORMAT " KiB\n", status_kib ("VmRSS"), status_kib ("VmHWM"));
  row = json_row (o, res, cpu, proc_cpu, status_kib ("VmRSS"), shm_kib,
      copies, error);
  if (error)
    kill_kids (SIGKILL);
  fputs (row, stdout);
  fflush (stdout);
  printed = error ? 2 : 1;

  /* A source still held at the gate would block the state change. */
  stamp_open (&run.stamp);
  gst_element_set_state (run.pipeline, GST_STATE_NULL);
  for (i = 0; run.kids && i < o->consumers; i++)
    if (run.kids[i].pid > 0 && !run.kids[i].exited)
      waitpid (run.kids[i].pid, NULL, 0);
  if (o->transport == T_SHM || o->transport == T_SHM_COPY)
    g_unlink (run.endpoint);
  exit (error ? 1 : 0);
}

static gboolean
all_done (void)
{
  guint i;

  if (!run.eos)
    return FALSE;
  for (i = 0; run.kids && i < run.o.consumers; i++)
    if (!run.kids[i].have_result || !run.kids[i].exited)
      return FALSE;
  return TRUE;
}

static gboolean
all_exited (void)
{
  guint i;

  for (i = 0; i < run.o.consumers; i++)
    if (!run.kids[i].exited)
      return FALSE;
  return TRUE;
}

/* "result RECEIVED LOST RSS FPS CPU PROC_CPU N LAT..." */
static gboolean
parse_result (Child * c, const char *line)
{
  Result *res = &c->res;
  char *end;
  guint64 i;

  if (sscanf (line, "result %" SCNu64 " %" SCNu64 " %" SCNu64 " %lf %lf %lf %"
          SCNu64, &res->received, &res->lost, &res->rss_kib, &res->fps,
          &res->cpu_us, &res->proc_cpu_us, &res->n_lat) != 7
      || res->n_lat > run.o.frames)
    return FALSE;
  end = (char *) line;
  for (i = 0; i < 7; i++)
    end = strchr (end + 1, ' ');
  res->lat = g_new0 (gint64, res->n_lat + 1);
  for (i = 0; i < res->n_lat && end; i++)
    res->lat[i] = g_ascii_strtoll (end, &end, 10);
  return i == res->n_lat;
}

static void
child_lines (Child * c)
{
  char *nl;

  while ((nl = memchr (c->out->str, '\n', c->out->len)) != NULL) {
    gsize n = (gsize) (nl - c->out->str) + 1;

    *nl = '\0';
    if (strcmp (c->out->str, "ready") == 0)
      c->ready = TRUE;
    else if (g_str_has_prefix (c->out->str, "result "))
      c->have_result = parse_result (c, c->out->str);
    g_string_erase (c->out, 0, (gssize) n);
  }
}

/* Reads what the child wrote; FALSE at end of file. */
static gboolean
child_read (Child * c)
{
  char buf[65536];
  ssize_t n = read (c->fd, buf, sizeof (buf));

  if (n > 0) {
    g_string_append_len (c->out, buf, n);
    child_lines (c);
    return TRUE;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return TRUE;
  c->eof = TRUE;
  return FALSE;
}

static gboolean
on_child_out (G_GNUC_UNUSED gint fd, G_GNUC_UNUSED GIOCondition cond,
    gpointer data)
{
  Child *c = data;

  if (child_read (c))
    return G_SOURCE_CONTINUE;
  c->fd_watch = 0;
  return G_SOURCE_REMOVE;
}

static void
on_child_exit (GPid pid, gint status, gpointer data)
{
  Child *c = data;
  gchar *msg;

  c->exited = TRUE;
  g_spawn_close_pid (pid);
  /* The pipe may still hold its last words. */
  if (c->fd_watch) {
    g_source_remove (c->fd_watch);
    c->fd_watch = 0;
    g_unix_set_fd_nonblocking (c->fd, FALSE, NULL);
    while (child_read (c));
  }
  if (run.timed_out) {
    if (all_exited ())
      finish ("timeout");
    return;
  }
  if (!c->have_result) {
    msg = g_strdup_printf ("consumer %d exited (status %d) without a result",
        (int) (c - run.kids), status);
    finish (msg);
  }
  if (status != 0 && run.kid_error == NULL)
    run.kid_error = g_strdup_printf ("consumer %d failed after %"
        G_GUINT64_FORMAT " frames (status %d)", (int) (c - run.kids),
        c->res.received, status);
  if (all_done ())
    finish (run.kid_error);
}

static void
child_setup (G_GNUC_UNUSED gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static void
spawn_consumers (const char *self)
{
  const Options *o = &run.o;
  gchar rate[16], frames[16], timeout[16], warmup[16];
  const gchar *argv[] = { self, "--consumer", transport_names[o->transport],
    o->format->name, rate, frames, run.endpoint, timeout, warmup, NULL
  };
  guint i;

  g_snprintf (rate, sizeof (rate), "%u", o->rate);
  g_snprintf (frames, sizeof (frames), "%u", o->frames);
  g_snprintf (timeout, sizeof (timeout), "%u", o->timeout);
  g_snprintf (warmup, sizeof (warmup), "%u", o->warmup);
  run.kids = g_new0 (Child, o->consumers);
  for (i = 0; i < o->consumers; i++) {
    Child *c = &run.kids[i];
    GError *error = NULL;

    if (!g_spawn_async_with_pipes (NULL, (gchar **) argv, NULL,
            G_SPAWN_DO_NOT_REAP_CHILD, child_setup, NULL, &c->pid, NULL,
            &c->fd, NULL, &error)) {
      g_printerr ("bench-gst: spawn: %s\n", error->message);
      finish ("cannot start a consumer");
    }
    kid_pids[i] = c->pid;
    n_kid_pids = (sig_atomic_t) i + 1;
    c->out = g_string_new (NULL);
    g_unix_set_fd_nonblocking (c->fd, TRUE, NULL);
    c->fd_watch = g_unix_fd_add (c->fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
        on_child_out, c);
    g_child_watch_add (c->pid, on_child_exit, c);
  }
}

static void
on_client_connected (G_GNUC_UNUSED GstElement * sink, G_GNUC_UNUSED gint fd,
    G_GNUC_UNUSED gpointer data)
{
  g_atomic_int_inc (&run.connected);
}

static guint
attached (void)
{
  GstStructure *stats = NULL;
  guint n = 0;

  if (!is_zc (run.o.transport))
    return (guint) g_atomic_int_get (&run.connected);
  g_object_get (run.sink, "stats", &stats, NULL);
  if (stats) {
    gst_structure_get_uint (stats, "consumers", &n);
    gst_structure_free (stats);
  }
  return n;
}

static void
start_flow (void)
{
  stamp_open (&run.stamp);
  gst_element_set_state (run.pipeline, GST_STATE_PLAYING);
}

/* Polled until every consumer is ready and attached. */
static gboolean
gate_poll (G_GNUC_UNUSED gpointer data)
{
  guint i;

  for (i = 0; i < run.o.consumers; i++)
    if (!run.kids[i].ready)
      return G_SOURCE_CONTINUE;
  if (attached () < run.o.consumers)
    return G_SOURCE_CONTINUE;
  start_flow ();
  return G_SOURCE_REMOVE;
}

static gboolean
grace_over (G_GNUC_UNUSED gpointer data)
{
  guint i;

  for (i = 0; i < run.o.consumers; i++)
    if (!run.kids[i].have_result && !run.kids[i].exited) {
      g_printerr ("bench-gst: consumer %u still short of frames %d s after "
          "EOS\n", i, EOS_GRACE_S);
      kill (run.kids[i].pid, SIGTERM);
    }
  return G_SOURCE_REMOVE;
}

static gboolean
deadline_over (G_GNUC_UNUSED gpointer data)
{
  finish ("timeout");
  return G_SOURCE_REMOVE;
}

/* Asks the consumers for what they have (SIGTERM makes them report), and
 * gives them a second. */
static gboolean
deadline (G_GNUC_UNUSED gpointer data)
{
  if (run.kids == NULL)
    finish ("timeout");
  run.timed_out = TRUE;
  kill_kids (SIGTERM);
  g_timeout_add_seconds (1, deadline_over, NULL);
  return G_SOURCE_REMOVE;
}

static gboolean
producer_bus (G_GNUC_UNUSED GstBus * bus, GstMessage * msg,
    G_GNUC_UNUSED gpointer data)
{
  GError *err = NULL;
  gchar *text;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ERROR:
      gst_message_parse_error (msg, &err, NULL);
      text = g_strdup_printf ("producer: %s", err->message);
      finish (text);
      break;
    case GST_MESSAGE_EOS:
      run.eos = TRUE;
      if (all_done ())
        finish (run.kid_error);
      if (run.kids)
        g_timeout_add_seconds (EOS_GRACE_S, grace_over, NULL);
      break;
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

/* shmsink's area shows in our maps as /dev/shm/shmpipe.*: remembered so
 * that the alarm backstop can remove it. */
static void
remember_shm_area (void)
{
  gchar *text = NULL, *p, *end;

  if (!g_file_get_contents ("/proc/self/maps", &text, NULL, NULL))
    return;
  p = strstr (text, "/dev/shm/shmpipe");
  if (p) {
    end = strchr (p, '\n');
    if (end)
      *end = '\0';
    if (g_str_has_suffix (p, " (deleted)"))
      p[strlen (p) - strlen (" (deleted)")] = '\0';
    g_strlcpy (shm_area, p, sizeof (shm_area));
  }
  g_free (text);
}

static int
producer_main (const Options * o, const char *self)
{
  Result *blank = g_new0 (Result, o->consumers);
  gchar *desc, *row;
  GstBus *bus;
  guint i;

  run.o = *o;
  run.loop = g_main_loop_new (NULL, FALSE);
  for (i = 0; i < o->consumers; i++)
    blank[i].fps = blank[i].cpu_us = blank[i].proc_cpu_us = NAN;
  row = json_row (o, blank, NAN, NAN, 0, 0, is_zc (o->transport) ? 0 : -1,
      "timeout");
  g_strlcpy (backstop_json, row, sizeof (backstop_json));
  g_free (row);
  signal (SIGALRM, on_alarm);
  alarm (o->timeout + BACKSTOP_S);
  g_timeout_add_seconds (o->timeout, deadline, NULL);

  if (is_zc (o->transport))
    run.endpoint = g_strdup_printf ("bench-%d", (int) getpid ());
  else if (o->transport != T_QUEUE)
    run.endpoint = g_strdup_printf ("%s/bench-gst-%d.sock", g_get_tmp_dir (),
        (int) getpid ());
  if (run.endpoint && !is_zc (o->transport))
    g_strlcpy (sock_path, run.endpoint, sizeof (sock_path));
  desc = producer_string (o, run.endpoint);
  run.pipeline = launch (desc);
  run.stamp.frames = o->frames;
  run.stamp.warmup = o->warmup;
  g_mutex_init (&run.stamp.lock);
  g_cond_init (&run.stamp.cond);
  add_probe (run.pipeline, "src", "src", stamp_probe, &run.stamp);
  if (o->transport == T_QUEUE) {
    run.branches = g_new0 (Recv, o->consumers);
    for (i = 0; i < o->consumers; i++) {
      gchar name[16];

      g_snprintf (name, sizeof (name), "c%u", i);
      recv_init (&run.branches[i], o->frames, o->warmup);
      add_probe (run.pipeline, name, "sink", recv_probe, &run.branches[i]);
    }
  } else {
    run.sink = gst_bin_get_by_name (GST_BIN (run.pipeline), "sink");
    if (!is_zc (o->transport))
      g_signal_connect (run.sink, "client-connected",
          G_CALLBACK (on_client_connected), NULL);
  }
  bus = gst_element_get_bus (run.pipeline);
  gst_bus_add_watch (bus, producer_bus, NULL);

  /* PAUSED creates the channel or socket; a live source waits there and a
   * non-live one holds its first buffer at the gate. */
  if (gst_element_set_state (run.pipeline, GST_STATE_PAUSED) ==
      GST_STATE_CHANGE_FAILURE)
    finish ("producer does not start");
  if (o->transport == T_QUEUE) {
    start_flow ();
  } else {
    remember_shm_area ();
    spawn_consumers (self);
    g_timeout_add (2, gate_poll, NULL);
  }
  g_main_loop_run (run.loop);
  g_free (desc);
  gst_object_unref (bus);
  return 0;
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

/* bench-gst: measuring, and the two probes that do it.
 *
 * STAMP, a probe on the source's src pad, writes CLOCK_MONOTONIC (ns) and
 * the frame index into the buffer's first 16 bytes; PROBE, on each
 * fakesink's sink pad, reads them.  Both take getrusage (RUSAGE_THREAD of
 * the streaming thread and RUSAGE_SELF) at the first and the last frame,
 * so CPU per frame excludes start-up and teardown.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench-gst.h"

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
double
per_frame_us (gint64 delta_ns, guint64 n)
{
  return n < 2 ? NAN : (double) delta_ns / 1e3 / (double) (n - 1);
}

guint64
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
guint64
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

GstPadProbeReturn
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

void
stamp_open (Stamp * s)
{
  g_mutex_lock (&s->lock);
  s->open = TRUE;
  g_cond_signal (&s->cond);
  g_mutex_unlock (&s->lock);
}

GstPadProbeReturn
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

void
recv_init (Recv * r, guint frames, guint warmup)
{
  memset (r, 0, sizeof (*r));
  r->frames = frames;
  r->warmup = warmup;
  r->lat = g_new0 (gint64, frames);
  r->seen = g_new0 (guint8, frames);
}

void
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

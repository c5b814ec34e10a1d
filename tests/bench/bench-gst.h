/* bench-gst: what its parts share.
 *
 *   bench-gst.c           the command line and the JSON row it prints
 *   bench-gst-measure.c   clocks, rusage, /proc; STAMP and PROBE
 *   bench-gst-pipeline.c  the pipelines' descriptions
 *   bench-gst-producer.c  the producer process: consumers, gate, deadlines
 *   bench-gst-consumer.c  the consumer process
 */
#ifndef BENCH_GST_H
#define BENCH_GST_H

#include <gst/gst.h>

#define MAX_CONSUMERS 63
/* Past --timeout, the main loop's own deadline had this long to act. */
#define BACKSTOP_S 5

typedef enum
{
  T_QUEUE, T_SHM, T_SHM_COPY, T_ZC, T_ZC_COPY
} Transport;

/* By Transport: the names on the command line and in the row. */
extern const char *const transport_names[];

typedef struct
{
  const char *name;
  gboolean audio;
  int width, height;
  guint64 bytes;
} Format;

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

static inline gboolean
is_zc (Transport t)
{
  return t == T_ZC || t == T_ZC_COPY;
}

/* bench-gst.c */
gchar *json_row (const Options * o, const Result * res, double cpu,
    double proc_cpu, guint64 rss, guint64 shm_kib, gint64 copies,
    const char *error);

/* bench-gst-measure.c */
double per_frame_us (gint64 delta_ns, guint64 n);
guint64 status_kib (const char *key);
guint64 zc_shm_kib (void);
GstPadProbeReturn stamp_probe (GstPad * pad, GstPadProbeInfo * info,
    gpointer data);
void stamp_open (Stamp * s);
GstPadProbeReturn recv_probe (GstPad * pad, GstPadProbeInfo * info,
    gpointer data);
void recv_init (Recv * r, guint frames, guint warmup);
void recv_result (const Recv * r, Result * res);

/* bench-gst-pipeline.c */
gchar *caps_string (const Options * o);
guint64 shm_size (const Options * o);
gchar *producer_string (const Options * o, const char *endpoint);
GstElement *launch (const gchar * desc);
void add_probe (GstElement * bin, const char *name, const char *pad_name,
    GstPadProbeCallback cb, gpointer data);

/* bench-gst-producer.c */
int producer_main (const Options * o, const char *self);

/* bench-gst-consumer.c */
int consumer_main (const Options * o, const char *endpoint);

#endif /* BENCH_GST_H */

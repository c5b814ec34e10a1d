/* What the end-to-end test programs (test-e2e-*.c) share: the producer
 * pipeline in the test process, consumers as child processes, polling with
 * a deadline, and the TAP output.
 *
 * The producer runs in the test process so that a case can read zcsink's
 * "stats" and its bus.  A pad probe on zcsink's sink pad records the SHA-1
 * of every buffer the sink receives; a consumer must print exactly those
 * checksums, in order (or, for a late joiner, their tail).  Every wait
 * polls with a deadline; none of the assertions depends on how fast the
 * machine is.
 *
 * Each case runs on the main thread: it creates a runtime dir, a producer
 * and its children, CHECKs, and ends with end_case(), which reports one
 * TAP line.  Only Producer.sums is shared with a streaming thread (the
 * probe), under Producer.lock.
 */
#ifndef E2E_HARNESS_H
#define E2E_HARNESS_H

#include <stdio.h>
#include <sys/types.h>

#include <gst/gst.h>

/* Bound on any one wait: a hang fails the case instead of blocking CI. */
#define DEADLINE (60 * G_TIME_SPAN_SECOND)
#define POLL_NS (20 * GST_MSECOND)

/* The producer most cases use: frames pushed by hand (push_frame). */
#define GRAY_APPSRC "appsrc name=src format=time ! zcsink name=sink " \
  "sync=false wait-for-consumer=true "

typedef struct
{
  GstElement *pipeline, *sink, *appsrc;
  GstBus *bus;
  GMutex lock;
  GPtrArray *sums;              /* SHA-1 of each buffer zcsink received */
  gint connected, disconnected, errors;
  gboolean eos;
  guint vtest_frames;           /* videotestsrc frames seen (caps change) */
} Producer;

typedef struct
{
  pid_t pid;
  gint status;
  gboolean done;
  gchar *out, *err;
} Child;

typedef gboolean (*Cond) (Producer * p, gpointer data);

typedef struct
{
  const gchar *name;
  void (*func) (void);
} E2eCase;

/* A case's body: on failure, prints where and jumps to its "out:" label
 * with ok = FALSE, so the cleanup and end_case() still run. */
#define CHECK(cond) G_STMT_START {                                   \
    if (!(cond)) {                                                   \
      printf ("# %s:%d: failed: %s\n", __FILE__, __LINE__, #cond);   \
      ok = FALSE;                                                    \
      goto out;                                                      \
    }                                                                \
  } G_STMT_END

/* the producer, in this process */
Producer *producer_new (const gchar * desc);
void producer_drain (Producer * p, GstClockTime timeout);
gboolean producer_free (Producer * p);
void push_frame (Producer * p, gsize size, guint n);
void set_gray_caps (Producer * p, gint width, gint height);
/* Gray @width x @height caps, PLAYING, then (unless 0) @consumers
 * connected; FALSE if any of it fails. */
gboolean producer_play_gray (Producer * p, gint width, gint height,
    gint consumers);
/* End of stream from the appsrc, and zcsink's EOS on the bus. */
gboolean producer_end_stream (Producer * p);
guint64 stats_get (Producer * p, const gchar * field);

/* waiting */
gboolean poll_until (Producer * p, Cond cond, gpointer data);
gboolean cond_connected (Producer * p, gpointer data);
gboolean cond_disconnected (Producer * p, gpointer data);
gboolean cond_eos (Producer * p, gpointer data);
gboolean cond_pool_full (Producer * p, gpointer data);
gboolean cond_pool_held (Producer * p, gpointer data);

/* consumer processes */
Child *child_spawn (const gchar * dir, const gchar * name, gchar ** argv);
Child *launch (const gchar * dir, const gchar * name, const gchar * desc);
gboolean child_wait (Producer * p, Child * c);
void child_free (Child * c);
gboolean wait_child_frames (Producer * p, Child * c, guint n);
gboolean child_got_tail (Producer * p, Child * c, guint n);
gboolean output_has (Child * c, const gchar * needle);
gboolean clean_output (Child * c);

/* cases and TAP */
gchar *new_runtime_dir (void);
void end_case (Producer * p, gchar * dir, gboolean ok, const gchar * what);
int e2e_run (const E2eCase * cases, guint n_cases);

#endif /* E2E_HARNESS_H */

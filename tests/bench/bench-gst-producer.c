/* bench-gst: the producer process.
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
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

#include "bench-gst.h"

/* After the producer's EOS, a consumer still short of frames has lost some:
 * this long, then it is told to report what it has. */
#define EOS_GRACE_S 5

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
  /* Past "result" and its 7 numbers: the 8th space is before LAT. */
  end = (char *) line;
  for (i = 0; i < 8 && end; i++)
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

int
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

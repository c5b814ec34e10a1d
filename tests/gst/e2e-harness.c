/* The shared harness of the end-to-end tests (see e2e-harness.h): the
 * producer pipeline and the probe that records what zcsink receives,
 * consumer processes and what they printed, waits with a deadline, and
 * the TAP lines of the cases.
 *
 * A consumer's stdout and stderr go to files in the case's runtime dir:
 * the case follows its progress by reading them while it runs, and they
 * stay there to look at when a case fails (or with ZC_E2E_KEEP=1).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include "e2e-harness.h"

static gchar *runtime_root;
static guint n_case, n_failed;

static void
report (gboolean ok, const gchar * what)
{
  n_case++;
  printf ("%sok %u - %s\n", ok ? "" : "not ", n_case, what);
  if (!ok)
    n_failed++;
}

/* --- the producer, in this process --- */

static GstPadProbeReturn
record_sum (G_GNUC_UNUSED GstPad * pad, GstPadProbeInfo * info,
    gpointer data)
{
  Producer *p = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstMapInfo map;

  if (gst_buffer_map (buf, &map, GST_MAP_READ)) {
    gchar *sum = g_compute_checksum_for_data (G_CHECKSUM_SHA1, map.data,
        map.size);

    gst_buffer_unmap (buf, &map);
    g_mutex_lock (&p->lock);
    g_ptr_array_add (p->sums, sum);
    g_mutex_unlock (&p->lock);
  }
  return GST_PAD_PROBE_OK;
}

/* A fresh runtime dir per case: the channel's socket lives there, and the
 * case ends with none left. */
gchar *
new_runtime_dir (void)
{
  gchar *dir = g_strdup_printf ("%s/run%u", runtime_root, n_case + 1);

  g_mkdir (dir, 0700);
  g_setenv ("XDG_RUNTIME_DIR", dir, TRUE);
  return dir;
}

static gboolean
no_socket_left (const gchar * dir)
{
  gchar *sub = g_build_filename (dir, "zerocopy", NULL);
  GDir *d = g_dir_open (sub, 0, NULL);
  gboolean empty = d == NULL || g_dir_read_name (d) == NULL;

  if (d)
    g_dir_close (d);
  g_free (sub);
  return empty;
}

Producer *
producer_new (const gchar * desc)
{
  Producer *p = g_new0 (Producer, 1);
  GError *error = NULL;
  GstPad *pad;

  g_mutex_init (&p->lock);
  p->sums = g_ptr_array_new_with_free_func (g_free);
  p->pipeline = gst_parse_launch (desc, &error);
  g_assert_no_error (error);
  p->sink = gst_bin_get_by_name (GST_BIN (p->pipeline), "sink");
  p->appsrc = gst_bin_get_by_name (GST_BIN (p->pipeline), "src");
  p->bus = gst_element_get_bus (p->pipeline);
  pad = gst_element_get_static_pad (p->sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, record_sum, p, NULL);
  gst_object_unref (pad);
  return p;
}

/* Takes what the bus has, waiting at most @timeout for the first. */
void
producer_drain (Producer * p, GstClockTime timeout)
{
  GstMessage *msg;

  while ((msg = gst_bus_timed_pop (p->bus, timeout)) != NULL) {
    const GstStructure *s = gst_message_get_structure (msg);
    GError *err = NULL;
    gchar *dbg = NULL;

    timeout = 0;
    switch (GST_MESSAGE_TYPE (msg)) {
      case GST_MESSAGE_ERROR:
      case GST_MESSAGE_WARNING:
        if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
          gst_message_parse_error (msg, &err, &dbg);
        else
          gst_message_parse_warning (msg, &err, &dbg);
        printf ("# producer bus: %s: %s (%s)\n",
            GST_MESSAGE_TYPE_NAME (msg), err->message, dbg ? dbg : "");
        p->errors++;
        g_clear_error (&err);
        g_free (dbg);
        break;
      case GST_MESSAGE_EOS:
        p->eos = TRUE;
        break;
      case GST_MESSAGE_ELEMENT:
        if (gst_structure_has_name (s, "zcsink-consumer-connected"))
          p->connected++;
        else if (gst_structure_has_name (s, "zcsink-consumer-disconnected"))
          p->disconnected++;
        break;
      default:
        break;
    }
    gst_message_unref (msg);
  }
}

/* Drains the bus until @cond holds, an error comes, or the deadline. */
gboolean
poll_until (Producer * p, Cond cond, gpointer data)
{
  gint64 deadline = g_get_monotonic_time () + DEADLINE;

  for (;;) {
    if (cond (p, data))
      return TRUE;
    if (p->errors > 0 || g_get_monotonic_time () > deadline)
      return FALSE;
    producer_drain (p, POLL_NS);
  }
}

gboolean
cond_connected (Producer * p, gpointer data)
{
  return p->connected >= GPOINTER_TO_INT (data);
}

gboolean
cond_disconnected (Producer * p, gpointer data)
{
  return p->disconnected >= GPOINTER_TO_INT (data);
}

gboolean
cond_eos (Producer * p, G_GNUC_UNUSED gpointer data)
{
  return p->eos;
}

/* A field of zcsink's "stats" (a guint or a guint64); G_MAXUINT64 when it
 * is not there. */
guint64
stats_get (Producer * p, const gchar * field)
{
  GstStructure *s = NULL;
  const GValue *value;
  guint64 v = G_MAXUINT64;

  g_object_get (p->sink, "stats", &s, NULL);
  if (s == NULL)
    return v;
  value = gst_structure_get_value (s, field);
  if (value && G_VALUE_HOLDS_UINT (value))
    v = g_value_get_uint (value);
  else if (value && G_VALUE_HOLDS_UINT64 (value))
    v = g_value_get_uint64 (value);
  gst_structure_free (s);
  return v;
}

/* Every block back in the pool: nobody holds or has queued a frame. */
gboolean
cond_pool_full (Producer * p, G_GNUC_UNUSED gpointer data)
{
  guint64 blocks = stats_get (p, "pool-blocks");

  return blocks != G_MAXUINT64 && stats_get (p, "pool-free") == blocks
      && stats_get (p, "consumers") == 0;
}

gboolean
cond_pool_held (Producer * p, gpointer data)
{
  return stats_get (p, "pool-free") + GPOINTER_TO_UINT (data)
      <= stats_get (p, "pool-blocks");
}

/* NULL, then no error or warning may be waiting on the bus. */
gboolean
producer_free (Producer * p)
{
  gboolean ok = gst_element_set_state (p->pipeline, GST_STATE_NULL)
      == GST_STATE_CHANGE_SUCCESS;

  producer_drain (p, 0);
  ok = ok && p->errors == 0;
  gst_clear_object (&p->appsrc);
  gst_object_unref (p->sink);
  gst_object_unref (p->bus);
  gst_object_unref (p->pipeline);
  g_ptr_array_unref (p->sums);
  g_mutex_clear (&p->lock);
  g_free (p);
  return ok;
}

/* Frame @n: every byte depends on @n and its position; the first bytes
 * carry @n, so no two frames of a run are alike. */
void
push_frame (Producer * p, gsize size, guint n)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, size, NULL);
  GstMapInfo map;
  gsize i;

  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  for (i = 0; i < size; i++)
    map.data[i] = (guint8) (i * 31 + (i >> 9) + n * 7);
  memcpy (map.data, &n, MIN (size, sizeof (n)));
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_PTS (buf) = gst_util_uint64_scale (n, GST_SECOND, 30);
  GST_BUFFER_DURATION (buf) = gst_util_uint64_scale (1, GST_SECOND, 30);
  gst_app_src_push_buffer (GST_APP_SRC (p->appsrc), buf);
}

void
set_gray_caps (Producer * p, gint width, gint height)
{
  GstCaps *caps = gst_caps_new_simple ("video/x-raw",
      "format", G_TYPE_STRING, "GRAY8", "width", G_TYPE_INT, width,
      "height", G_TYPE_INT, height, "framerate", GST_TYPE_FRACTION, 30, 1,
      NULL);

  g_object_set (p->appsrc, "caps", caps, NULL);
  gst_caps_unref (caps);
}

gboolean
producer_play_gray (Producer * p, gint width, gint height, gint consumers)
{
  set_gray_caps (p, width, height);
  if (gst_element_set_state (p->pipeline, GST_STATE_PLAYING)
      == GST_STATE_CHANGE_FAILURE) {
    printf ("# the producer does not go to PLAYING\n");
    return FALSE;
  }
  return consumers == 0
      || poll_until (p, cond_connected, GINT_TO_POINTER (consumers));
}

gboolean
producer_end_stream (Producer * p)
{
  gst_app_src_end_of_stream (GST_APP_SRC (p->appsrc));
  return poll_until (p, cond_eos, NULL);
}

/* --- consumer processes --- */

/* Starts @argv with stdout and stderr in files under @dir. */
Child *
child_spawn (const gchar * dir, const gchar * name, gchar ** argv)
{
  Child *c = g_new0 (Child, 1);
  gchar *cmd = g_strjoinv (" ", argv);

  c->out = g_strdup_printf ("%s/%s.out", dir, name);
  c->err = g_strdup_printf ("%s/%s.err", dir, name);
  printf ("# %s: %s\n", name, cmd);
  g_free (cmd);
  fflush (stdout);
  c->pid = fork ();
  g_assert (c->pid >= 0);
  if (c->pid == 0) {
    int out = open (c->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open (c->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    if (out < 0 || err < 0 || dup2 (out, 1) < 0 || dup2 (err, 2) < 0)
      _exit (127);
    execvp (argv[0], argv);
    _exit (127);
  }
  return c;
}

/* gst-launch-1.0 -v (caps in its output), line-buffered so the test can
 * follow its progress. */
Child *
launch (const gchar * dir, const gchar * name, const gchar * desc)
{
  gchar **words = g_strsplit (desc, " ", -1);
  GPtrArray *argv = g_ptr_array_new ();
  Child *c;
  guint i;

  g_ptr_array_add (argv, (gpointer) "stdbuf");
  g_ptr_array_add (argv, (gpointer) "-oL");
  g_ptr_array_add (argv, (gpointer) "gst-launch-1.0");
  g_ptr_array_add (argv, (gpointer) "-v");
  for (i = 0; words[i]; i++)
    g_ptr_array_add (argv, words[i]);
  g_ptr_array_add (argv, NULL);
  c = child_spawn (dir, name, (gchar **) argv->pdata);
  g_ptr_array_unref (argv);
  g_strfreev (words);
  return c;
}

static gboolean
cond_child_exited (G_GNUC_UNUSED Producer * p, gpointer data)
{
  Child *c = data;

  if (!c->done && waitpid (c->pid, &c->status, WNOHANG) == c->pid)
    c->done = TRUE;
  return c->done;
}

/* Waits for @c's exit; TRUE if it exited 0. */
gboolean
child_wait (Producer * p, Child * c)
{
  gint64 deadline = g_get_monotonic_time () + DEADLINE;

  while (!cond_child_exited (p, c) && g_get_monotonic_time () < deadline) {
    if (p)
      producer_drain (p, POLL_NS);
    else
      g_usleep (POLL_NS / 1000);
  }
  if (!c->done)
    return FALSE;
  if (!WIFEXITED (c->status) || WEXITSTATUS (c->status) != 0)
    printf ("# pid %d ended with status 0x%x (see %s)\n", (int) c->pid,
        c->status, c->err);
  return WIFEXITED (c->status) && WEXITSTATUS (c->status) == 0;
}

void
child_free (Child * c)
{
  if (!c->done) {
    kill (c->pid, SIGKILL);
    waitpid (c->pid, &c->status, 0);
  }
  g_free (c->out);
  g_free (c->err);
  g_free (c);
}

/* The checksums in @c's output so far, in order: checksumsink's
 * "H:MM:SS.NNNNNNNNN <sha1>" lines, or ours ("sha1 <sum>"). */
static GPtrArray *
child_sums (Child * c)
{
  GPtrArray *sums = g_ptr_array_new_with_free_func (g_free);
  gchar *text = NULL, **lines;
  guint i;

  if (!g_file_get_contents (c->out, &text, NULL, NULL))
    return sums;
  lines = g_strsplit (text, "\n", -1);
  for (i = 0; lines[i]; i++) {
    const gchar *sp = strrchr (lines[i], ' ');

    if (sp && strlen (sp + 1) == 40 && strspn (sp + 1,
            "0123456789abcdef") == 40 && g_ascii_isdigit (lines[i][0]))
      g_ptr_array_add (sums, g_strdup (sp + 1));
    else if (g_str_has_prefix (lines[i], "sha1 ") && strlen (lines[i]) == 45)
      g_ptr_array_add (sums, g_strdup (lines[i] + 5));
  }
  g_strfreev (lines);
  g_free (text);
  return sums;
}

static gboolean
cond_child_frames (G_GNUC_UNUSED Producer * p, gpointer data)
{
  gpointer *args = data;
  GPtrArray *sums = child_sums (args[0]);
  gboolean enough = sums->len >= GPOINTER_TO_UINT (args[1]);

  g_ptr_array_unref (sums);
  return enough;
}

gboolean
wait_child_frames (Producer * p, Child * c, guint n)
{
  gpointer args[2] = { c, GUINT_TO_POINTER (n) };

  return poll_until (p, cond_child_frames, args);
}

/* @c received the last @n (all: 0) of the frames zcsink received, exactly
 * those and in order. */
gboolean
child_got_tail (Producer * p, Child * c, guint n)
{
  GPtrArray *got = child_sums (c);
  gboolean ok;
  guint i, skip;

  g_mutex_lock (&p->lock);
  if (n == 0)
    n = p->sums->len;
  ok = got->len == n && n <= p->sums->len;
  skip = p->sums->len - n;
  for (i = 0; ok && i < n; i++)
    ok = strcmp (got->pdata[i], p->sums->pdata[skip + i]) == 0;
  if (!ok)
    printf ("# %s: %u checksums; expected the last %u of %u\n", c->out,
        got->len, n, p->sums->len);
  g_mutex_unlock (&p->lock);
  g_ptr_array_unref (got);
  return ok;
}

gboolean
output_has (Child * c, const gchar * needle)
{
  gchar *text = NULL;
  gboolean found;

  g_file_get_contents (c->out, &text, NULL, NULL);
  found = text && strstr (text, needle);
  g_free (text);
  return found;
}

/* No error or warning on either stream, nor a leak report (the test
 * suite runs everything with GST_TRACERS=leaks). */
gboolean
clean_output (Child * c)
{
  gchar *files[2] = { c->out, c->err }, *text;
  gboolean clean = TRUE;
  guint i;

  for (i = 0; i < 2; i++) {
    text = NULL;
    g_file_get_contents (files[i], &text, NULL, NULL);
    if (text && (g_str_has_prefix (text, "ERROR") || strstr (text, "\nERROR")
            || g_str_has_prefix (text, "WARNING")
            || strstr (text, "\nWARNING")
            || strstr (text, "Leaks detected")))
      clean = FALSE;
    g_free (text);
  }
  return clean;
}

/* --- cases and TAP --- */

/* Every case ends here: the producer goes to NULL with a clean bus, no
 * socket is left in the case's runtime dir, and the case is reported. */
void
end_case (Producer * p, gchar * dir, gboolean ok, const gchar * what)
{
  ok = producer_free (p) && ok && no_socket_left (dir);
  report (ok, what);
  g_free (dir);
}

/* Runs the @cases whose name contains $ZC_E2E_ONLY (all if unset) and
 * prints their TAP; 0 if every case passed.  ZC_E2E_KEEP=1 keeps the
 * outputs of a passing run.  The caller has called gst_init(). */
int
e2e_run (const E2eCase * cases, guint n_cases)
{
  const gchar *only = g_getenv ("ZC_E2E_ONLY");
  gchar *tmpl;
  guint i;

  setvbuf (stdout, NULL, _IOLBF, 0);
  if (gst_element_factory_find ("zcsink") == NULL
      || gst_element_factory_find ("checksumsink") == NULL) {
    printf ("1..0 # SKIP zcsink or checksumsink not found\n");
    return 0;
  }
  tmpl = g_build_filename (g_get_tmp_dir (), "zc-e2e-XXXXXX", NULL);
  runtime_root = g_mkdtemp (tmpl);
  g_assert (runtime_root);

  for (i = 0; i < n_cases; i++) {
    if (only == NULL || strstr (cases[i].name, only))
      cases[i].func ();
  }

  printf ("1..%u\n", n_case);
  if (n_failed == 0 && g_getenv ("ZC_E2E_KEEP") == NULL) {
    gchar *cmd = g_strdup_printf ("rm -rf '%s'", runtime_root);

    if (system (cmd) != 0)
      printf ("# could not remove %s\n", runtime_root);
    g_free (cmd);
  }
  g_free (runtime_root);
  return n_failed == 0 ? 0 : 1;
}

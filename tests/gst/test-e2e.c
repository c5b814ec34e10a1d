/* End-to-end tests with the producer pipeline in this process (so the
 * test can read zcsink's "stats" and its bus) and consumers as real
 * processes: gst-launch-1.0 with checksumsink, or this binary re-executed
 * as a consumer that changes its own state.
 *
 * A pad probe on zcsink's sink pad records the SHA-1 of every buffer the
 * sink receives; a consumer must print exactly those checksums, in order
 * (or, for a late joiner, their tail).  Every wait polls with a deadline;
 * none of the assertions depends on how fast the machine is.
 *
 *   usage: test-e2e            (GST_PLUGIN_PATH_1_0 must find the plugin)
 *
 * Prints TAP; exits non-zero if a case failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

/* Bound on any one wait: a hang fails the case instead of blocking CI. */
#define DEADLINE (60 * G_TIME_SPAN_SECOND)
#define POLL_NS (20 * GST_MSECOND)

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

static gchar *self_exe, *runtime_root;
static guint n_case, n_failed;

static void
report (gboolean ok, const gchar * what)
{
  n_case++;
  printf ("%sok %u - %s\n", ok ? "" : "not ", n_case, what);
  if (!ok)
    n_failed++;
}

#define CHECK(cond) G_STMT_START {                                   \
    if (!(cond)) {                                                   \
      printf ("# %s:%d: failed: %s\n", __FILE__, __LINE__, #cond);   \
      ok = FALSE;                                                    \
      goto out;                                                      \
    }                                                                \
  } G_STMT_END

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
static gchar *
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

static Producer *
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
static void
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

typedef gboolean (*Cond) (Producer * p, gpointer data);

/* Drains the bus until @cond holds, an error comes, or the deadline. */
static gboolean
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

static gboolean
cond_connected (Producer * p, gpointer data)
{
  return p->connected >= GPOINTER_TO_INT (data);
}

static gboolean
cond_disconnected (Producer * p, gpointer data)
{
  return p->disconnected >= GPOINTER_TO_INT (data);
}

static gboolean
cond_eos (Producer * p, G_GNUC_UNUSED gpointer data)
{
  return p->eos;
}

/* A field of zcsink's "stats" (a guint or a guint64); G_MAXUINT64 when it
 * is not there. */
static guint64
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
static gboolean
cond_pool_full (Producer * p, G_GNUC_UNUSED gpointer data)
{
  guint64 blocks = stats_get (p, "pool-blocks");

  return blocks != G_MAXUINT64 && stats_get (p, "pool-free") == blocks
      && stats_get (p, "consumers") == 0;
}

static gboolean
cond_pool_held (Producer * p, gpointer data)
{
  return stats_get (p, "pool-free") + GPOINTER_TO_UINT (data)
      <= stats_get (p, "pool-blocks");
}

/* NULL, then no error or warning may be waiting on the bus. */
static gboolean
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
static void
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

static void
set_gray_caps (Producer * p, gint width, gint height)
{
  GstCaps *caps = gst_caps_new_simple ("video/x-raw",
      "format", G_TYPE_STRING, "GRAY8", "width", G_TYPE_INT, width,
      "height", G_TYPE_INT, height, "framerate", GST_TYPE_FRACTION, 30, 1,
      NULL);

  g_object_set (p->appsrc, "caps", caps, NULL);
  gst_caps_unref (caps);
}

/* --- consumer processes --- */

/* Starts @argv with stdout and stderr in files under @dir. */
static Child *
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
static Child *
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
static gboolean
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

static void
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

static gboolean
wait_child_frames (Producer * p, Child * c, guint n)
{
  gpointer args[2] = { c, GUINT_TO_POINTER (n) };

  return poll_until (p, cond_child_frames, args);
}

/* @c received the last @n (all: 0) of the frames zcsink received, exactly
 * those and in order. */
static gboolean
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

static gboolean
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
static gboolean
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

/* --- the cases --- */

/* Every case ends here: the producer goes to NULL with a clean bus, no
 * socket is left in the case's runtime dir, and the case is reported. */
static void
end_case (Producer * p, gchar * dir, gboolean ok, const gchar * what)
{
  ok = producer_free (p) && ok && no_socket_left (dir);
  report (ok, what);
  g_free (dir);
}


#define GRAY_APPSRC "appsrc name=src format=time ! zcsink name=sink " \
  "sync=false wait-for-consumer=true "

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

  set_gray_caps (p, 320, 240);
  CHECK (gst_element_set_state (p->pipeline, GST_STATE_PLAYING)
      != GST_STATE_CHANGE_FAILURE);
  for (n = 0; n < 10; n++)
    push_frame (p, 320 * 240, n);
  set_gray_caps (p, 640, 480);
  for (; n < 20; n++)
    push_frame (p, 640 * 480, n);
  gst_app_src_end_of_stream (GST_APP_SRC (p->appsrc));
  CHECK (poll_until (p, cond_eos, NULL));
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

/* A consumer killed while it holds frames: the producer goes on (its
 * blocks come back; the heartbeat timeout is an hour, so only the kill
 * can free them), the other consumer gets every frame, and at the end
 * the pool is full again. */
static void
test_sigkill (void)
{
  gchar *dir = new_runtime_dir ();
  Producer *p = producer_new (GRAY_APPSRC "channel=kill "
      "heartbeat-timeout=3600000000000");
  Child *a = launch (dir, "a", "zcsrc channel=kill ! checksumsink");
  Child *b = launch (dir, "b", "zcsrc channel=kill ! checksumsink");
  gboolean ok = TRUE;
  guint n = 0;

  set_gray_caps (p, 320, 240);
  CHECK (gst_element_set_state (p->pipeline, GST_STATE_PLAYING)
      != GST_STATE_CHANGE_FAILURE);
  CHECK (poll_until (p, cond_connected, GINT_TO_POINTER (2)));
  for (; n < 5; n++)
    push_frame (p, 320 * 240, n);
  CHECK (wait_child_frames (p, a, 5));
  CHECK (wait_child_frames (p, b, 5));
  /* Stopped, A cannot release what comes next: 3 frames stay queued
   * for it (within its limit of 4, so the producer does not wait). */
  CHECK (kill (a->pid, SIGSTOP) == 0);
  for (; n < 8; n++)
    push_frame (p, 320 * 240, n);
  CHECK (wait_child_frames (p, b, 8));
  CHECK (poll_until (p, cond_pool_held, GUINT_TO_POINTER (3)));
  CHECK (kill (a->pid, SIGKILL) == 0);
  CHECK (child_wait (p, a) == FALSE && WIFSIGNALED (a->status)
      && WTERMSIG (a->status) == SIGKILL);
  /* More frames than the pool has blocks: they only get through if the
   * dead consumer's blocks and queue were reclaimed. */
  for (; n < 48; n++)
    push_frame (p, 320 * 240, n);
  gst_app_src_end_of_stream (GST_APP_SRC (p->appsrc));
  CHECK (poll_until (p, cond_eos, NULL));
  CHECK (child_wait (p, b));
  CHECK (child_got_tail (p, b, 48));
  CHECK (clean_output (b));
  CHECK (poll_until (p, cond_pool_full, NULL));
  CHECK (poll_until (p, cond_disconnected, GINT_TO_POINTER (2)));
out:
  if (!ok)
    printf ("# pool-free %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
        ", consumers %" G_GUINT64_FORMAT "\n",
        stats_get (p, "pool-free"), stats_get (p, "pool-blocks"),
        stats_get (p, "consumers"));
  child_free (a);
  child_free (b);
  end_case (p, dir, ok, "consumer SIGKILLed holding frames: producer "
      "continues, the other consumer gets all 48 frames, pool-free returns "
      "to pool-blocks");
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

/* A late joiner gets the caps and the frames published after it joined. */
static void
test_late_join (void)
{
  gchar *dir = new_runtime_dir ();
  Producer *p = producer_new (GRAY_APPSRC "channel=late");
  Child *a = launch (dir, "a", "zcsrc channel=late ! checksumsink");
  Child *b = NULL;
  gboolean ok = TRUE;
  guint n = 0;

  set_gray_caps (p, 320, 240);
  CHECK (gst_element_set_state (p->pipeline, GST_STATE_PLAYING)
      != GST_STATE_CHANGE_FAILURE);
  CHECK (poll_until (p, cond_connected, GINT_TO_POINTER (1)));
  for (; n < 10; n++)
    push_frame (p, 320 * 240, n);
  CHECK (wait_child_frames (p, a, 10));
  b = launch (dir, "b", "zcsrc channel=late ! checksumsink");
  CHECK (poll_until (p, cond_connected, GINT_TO_POINTER (2)));
  for (; n < 25; n++)
    push_frame (p, 320 * 240, n);
  gst_app_src_end_of_stream (GST_APP_SRC (p->appsrc));
  CHECK (poll_until (p, cond_eos, NULL));
  CHECK (child_wait (p, a));
  CHECK (child_wait (p, b));
  CHECK (child_got_tail (p, a, 25));
  CHECK (child_got_tail (p, b, 15));
  CHECK (output_has (b, "GstZcSrc:zcsrc0.GstPad:src: caps = video/x-raw, "
          "format=(string)GRAY8, width=(int)320, height=(int)240"));
  CHECK (clean_output (a) && clean_output (b));
out:
  child_free (a);
  if (b)
    child_free (b);
  end_case (p, dir, ok, "a second consumer joining a running stream gets "
      "the caps and the 15 frames that follow");
}

/* A consumer that shows no life for the heartbeat timeout (here: its
 * process stopped, as a paused or blocked pipeline would look) is evicted;
 * once it runs again zcsrc attaches again by itself, with a warning, and
 * the stream goes on to EOS. */
static void
test_evicted_consumer_reattaches (void)
{
  gchar *dir = new_runtime_dir ();
  Producer *p = producer_new (GRAY_APPSRC "channel=stall "
      "heartbeat-timeout=1000000000");
  Child *a = launch (dir, "a", "zcsrc channel=stall ! checksumsink");
  gboolean ok = TRUE;
  guint n = 0;

  set_gray_caps (p, 320, 240);
  CHECK (gst_element_set_state (p->pipeline, GST_STATE_PLAYING)
      != GST_STATE_CHANGE_FAILURE);
  CHECK (poll_until (p, cond_connected, GINT_TO_POINTER (1)));
  for (; n < 5; n++)
    push_frame (p, 320 * 240, n);
  CHECK (wait_child_frames (p, a, 5));
  CHECK (kill (a->pid, SIGSTOP) == 0);
  CHECK (poll_until (p, cond_disconnected, GINT_TO_POINTER (1)));
  CHECK (kill (a->pid, SIGCONT) == 0);
  CHECK (poll_until (p, cond_connected, GINT_TO_POINTER (2)));
  for (; n < 15; n++)
    push_frame (p, 320 * 240, n);
  gst_app_src_end_of_stream (GST_APP_SRC (p->appsrc));
  CHECK (poll_until (p, cond_eos, NULL));
  CHECK (child_wait (p, a));
  /* Nothing was published while it was away: it has every frame. */
  CHECK (child_got_tail (p, a, 0));
  CHECK (output_has (a, "Evicted by the producer"));
out:
  child_free (a);
  end_case (p, dir, ok, "a consumer evicted after a stall attaches again by "
      "itself and gets the rest of the stream");
}

/* Pulls @n samples from @sink, printing each frame's SHA-1; 0 if all
 * came. */
static int
pull_sums (GstElement * sink, guint round, guint n)
{
  guint i;

  for (i = 0; i < n; i++) {
    GstSample *sample = gst_app_sink_try_pull_sample (GST_APP_SINK (sink),
        60 * GST_SECOND);
    GstMapInfo map;
    gchar *sum;

    if (sample == NULL) {
      printf ("round %u: frame %u missing\n", round, i);
      return 1;
    }
    gst_buffer_map (gst_sample_get_buffer (sample), &map, GST_MAP_READ);
    sum = g_compute_checksum_for_data (G_CHECKSUM_SHA1, map.data, map.size);
    printf ("sha1 %s\n", sum);
    g_free (sum);
    gst_buffer_unmap (gst_sample_get_buffer (sample), &map);
    gst_sample_unref (sample);
  }
  return 0;
}

/* The consumer of test_restart and test_pause, run as
 * "--consumer-restart|--consumer-pause CHANNEL N1 N2": takes @n1 frames,
 * then either goes to READY and back to PLAYING (restart: not live, so it
 * must preroll again), or to PAUSED for @PAUSE_US and back to PLAYING
 * (pause: live), then takes @n2 more, then EOS.  Prints each frame's
 * SHA-1 and "round N: ..." lines the test follows. */
#define PAUSE_US (1500 * G_TIME_SPAN_MILLISECOND)

static int
consumer_states (const gchar * mode, const gchar * channel, guint n1,
    guint n2)
{
  gboolean pause = strcmp (mode, "--consumer-pause") == 0;
  gchar *desc = g_strdup_printf ("zcsrc is-live=%s channel=%s ! appsink "
      "name=sink sync=false", pause ? "true" : "false", channel);
  GstElement *pipeline = gst_parse_launch (desc, NULL);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  guint round, counts[2] = { n1, n2 };
  int rc = 0;

  setvbuf (stdout, NULL, _IOLBF, 0);
  for (round = 0; round < 2 && rc == 0; round++) {
    GstState state = GST_STATE_VOID_PENDING;

    if (gst_element_set_state (pipeline, GST_STATE_PLAYING)
        == GST_STATE_CHANGE_FAILURE) {
      rc = 1;
      break;
    }
    /* Live: PLAYING needs no preroll (the producer sends nothing until it
     * sees us back).  Not live: success only once prerolled. */
    if (pause) {
      printf ("round %u: playing\n", round);
    } else if (gst_element_get_state (pipeline, &state, NULL, 60 * GST_SECOND)
        != GST_STATE_CHANGE_SUCCESS || state != GST_STATE_PLAYING) {
      printf ("round %u: no preroll\n", round);
      rc = 1;
      break;
    } else {
      printf ("round %u: prerolled\n", round);
    }
    rc = pull_sums (sink, round, counts[round]);
    if (round > 0 || rc != 0)
      break;
    if (gst_element_set_state (pipeline, pause ? GST_STATE_PAUSED :
            GST_STATE_READY) == GST_STATE_CHANGE_FAILURE) {
      rc = 1;
      break;
    }
    if (pause) {
      /* The scenario itself: a pipeline left paused for a while. */
      printf ("round 0: paused\n");
      g_usleep (PAUSE_US);
    }
  }
  if (rc == 0 && (gst_app_sink_try_pull_sample (GST_APP_SINK (sink),
              60 * GST_SECOND) != NULL
          || !gst_app_sink_is_eos (GST_APP_SINK (sink)))) {
    printf ("no EOS after the last frame\n");
    rc = 1;
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  g_free (desc);
  return rc;
}

/* A consumer goes PLAYING -> READY -> PLAYING while the producer runs:
 * it detaches, attaches again, prerolls again and keeps receiving. */
static void
test_restart (void)
{
  gchar *dir = new_runtime_dir ();
  Producer *p = producer_new (GRAY_APPSRC "channel=restart");
  gchar *argv[] = { self_exe, (gchar *) "--consumer-restart",
    (gchar *) "restart", (gchar *) "10", (gchar *) "10", NULL
  };
  Child *c = child_spawn (dir, "cons", argv);
  gboolean ok = TRUE;
  guint n = 0;

  set_gray_caps (p, 320, 240);
  CHECK (gst_element_set_state (p->pipeline, GST_STATE_PLAYING)
      != GST_STATE_CHANGE_FAILURE);
  CHECK (poll_until (p, cond_connected, GINT_TO_POINTER (1)));
  for (; n < 10; n++)
    push_frame (p, 320 * 240, n);
  /* READY drops the consumer; PLAYING attaches a new one. */
  CHECK (poll_until (p, cond_disconnected, GINT_TO_POINTER (1)));
  CHECK (poll_until (p, cond_connected, GINT_TO_POINTER (2)));
  for (; n < 20; n++)
    push_frame (p, 320 * 240, n);
  gst_app_src_end_of_stream (GST_APP_SRC (p->appsrc));
  CHECK (poll_until (p, cond_eos, NULL));
  CHECK (child_wait (p, c));
  CHECK (child_got_tail (p, c, 20));
  CHECK (output_has (c, "round 1: prerolled"));
out:
  child_free (c);
  end_case (p, dir, ok, "a consumer going PLAYING -> READY -> PLAYING "
      "prerolls again and receives all 20 frames");
}

static gboolean
cond_paused (G_GNUC_UNUSED Producer * p, gpointer data)
{
  return output_has (data, "round 0: paused");
}

static gboolean
cond_resumed (G_GNUC_UNUSED Producer * p, gpointer data)
{
  return output_has (data, "round 1: playing");
}

/* The consumer of test_flush, run as "--consumer-events CHANNEL": prints
 * "sha1 <sum>" per buffer and the name of each flush event reaching its
 * sink, in order, until EOS. */
static GstPadProbeReturn
print_flow (G_GNUC_UNUSED GstPad * pad, GstPadProbeInfo * info,
    G_GNUC_UNUSED gpointer data)
{
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    GstMapInfo map;
    gchar *sum;

    gst_buffer_map (GST_PAD_PROBE_INFO_BUFFER (info), &map, GST_MAP_READ);
    sum = g_compute_checksum_for_data (G_CHECKSUM_SHA1, map.data, map.size);
    printf ("sha1 %s\n", sum);
    g_free (sum);
    gst_buffer_unmap (GST_PAD_PROBE_INFO_BUFFER (info), &map);
  } else {
    GstEventType type = GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info));

    if (type == GST_EVENT_FLUSH_START || type == GST_EVENT_FLUSH_STOP)
      printf ("event %s\n", gst_event_type_get_name (type));
  }
  return GST_PAD_PROBE_OK;
}

static int
consumer_events (const gchar * channel)
{
  gchar *desc = g_strdup_printf ("zcsrc is-live=false channel=%s ! fakesink "
      "name=sink sync=false", channel);
  GstElement *pipeline = gst_parse_launch (desc, NULL);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  GstPad *pad = gst_element_get_static_pad (sink, "sink");
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg;
  int rc;

  setvbuf (stdout, NULL, _IOLBF, 0);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_EVENT_FLUSH | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
      print_flow, NULL, NULL);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  rc = msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS ? 0 : 1;
  if (msg)
    gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pad);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  g_free (desc);
  return rc;
}

/* Lines starting with @prefix from @from up to @to (NULL: the end). */
static guint
count_lines (const gchar * from, const gchar * to, const gchar * prefix)
{
  guint n = 0;
  const gchar *line;

  for (line = from; line && *line && (to == NULL || line < to);) {
    if (g_str_has_prefix (line, prefix))
      n++;
    line = strchr (line, '\n');
    if (line)
      line++;
  }
  return n;
}

/* A flush in the producer pipeline (here pushed by hand after appsrc, as
 * a flushing seek would) reaches the consumer's pipeline as FLUSH_START
 * and FLUSH_STOP, in order between the frames before and after it. */
static void
test_flush (void)
{
  gchar *dir = new_runtime_dir ();
  Producer *p = producer_new (GRAY_APPSRC "channel=flush");
  gchar *argv[] = { self_exe, (gchar *) "--consumer-events",
    (gchar *) "flush", NULL
  };
  Child *c = child_spawn (dir, "cons", argv);
  GstPad *pad = gst_element_get_static_pad (p->appsrc, "src");
  gboolean ok = TRUE;
  GstSegment segment;
  gchar *text = NULL, *start, *stop;
  guint n = 0;

  set_gray_caps (p, 320, 240);
  CHECK (gst_element_set_state (p->pipeline, GST_STATE_PLAYING)
      != GST_STATE_CHANGE_FAILURE);
  CHECK (poll_until (p, cond_connected, GINT_TO_POINTER (1)));
  for (; n < 3; n++)
    push_frame (p, 320 * 240, n);
  CHECK (wait_child_frames (p, c, 3));
  CHECK (gst_pad_push_event (pad, gst_event_new_flush_start ()));
  CHECK (gst_pad_push_event (pad, gst_event_new_flush_stop (TRUE)));
  gst_segment_init (&segment, GST_FORMAT_TIME);
  CHECK (gst_pad_push_event (pad, gst_event_new_segment (&segment)));
  for (; n < 6; n++)
    push_frame (p, 320 * 240, n);
  gst_app_src_end_of_stream (GST_APP_SRC (p->appsrc));
  CHECK (poll_until (p, cond_eos, NULL));
  CHECK (child_wait (p, c));
  CHECK (child_got_tail (p, c, 6));
  /* The order: 3 frames, the flush, 3 frames. */
  CHECK (g_file_get_contents (c->out, &text, NULL, NULL));
  start = strstr (text, "event flush-start");
  stop = strstr (text, "event flush-stop");
  CHECK (start && stop && start < stop);
  CHECK (count_lines (text, start, "sha1 ") == 3);
  CHECK (count_lines (stop, NULL, "sha1 ") == 3);
out:
  g_free (text);
  gst_object_unref (pad);
  child_free (c);
  end_case (p, dir, ok, "a flush in the producer reaches the consumer as "
      "FLUSH_START and FLUSH_STOP between the frames before and after it");
}

/* A live consumer left PAUSED for five times the producer's heartbeat
 * timeout is not evicted (zcsrc shows life while paused); back in
 * PLAYING it receives what follows, with no reconnection. */
static void
test_pause (void)
{
  gchar *dir = new_runtime_dir ();
  Producer *p = producer_new (GRAY_APPSRC "channel=pause policy=drop "
      "heartbeat-timeout=300000000");
  gchar *argv[] = { self_exe, (gchar *) "--consumer-pause",
    (gchar *) "pause", (gchar *) "5", (gchar *) "5", NULL
  };
  Child *c = child_spawn (dir, "cons", argv);
  gboolean ok = TRUE;
  guint n = 0;

  set_gray_caps (p, 320, 240);
  CHECK (gst_element_set_state (p->pipeline, GST_STATE_PLAYING)
      != GST_STATE_CHANGE_FAILURE);
  CHECK (poll_until (p, cond_connected, GINT_TO_POINTER (1)));
  /* One at a time: in drop policy a burst beyond the consumer's limit
   * would lose frames, and that is not what this case is about. */
  for (; n < 5; n++) {
    push_frame (p, 320 * 240, n);
    CHECK (wait_child_frames (p, c, n + 1));
  }
  CHECK (poll_until (p, cond_paused, (gpointer) c));
  /* Back in PLAYING: every frame from here on must arrive. */
  CHECK (poll_until (p, cond_resumed, (gpointer) c));
  CHECK (p->disconnected == 0);
  for (; n < 10; n++) {
    push_frame (p, 320 * 240, n);
    CHECK (wait_child_frames (p, c, n + 1));
  }
  gst_app_src_end_of_stream (GST_APP_SRC (p->appsrc));
  CHECK (poll_until (p, cond_eos, NULL));
  CHECK (child_wait (p, c));
  CHECK (child_got_tail (p, c, 10));
  CHECK (clean_output (c));
out:
  child_free (c);
  end_case (p, dir, ok, "a live consumer paused for 5x the heartbeat "
      "timeout is not evicted and receives what follows once PLAYING again");
}

static const struct
{
  const gchar *name;
  void (*func) (void);
} tests[] = {
  {"caps-change-appsrc", test_caps_change_appsrc},
  {"caps-change-renegotiate", test_caps_change_renegotiate},
  {"copies", test_copies},
  {"sigkill", test_sigkill},
  {"restart", test_restart},
  {"pause", test_pause},
  {"flush", test_flush},
  {"late-join", test_late_join},
  {"evicted-reattaches", test_evicted_consumer_reattaches},
};

/* ZC_E2E_ONLY=WORD runs the cases whose name contains WORD;
 * ZC_E2E_KEEP=1 keeps the outputs of a passing run. */
int
main (int argc, char **argv)
{
  const gchar *only = g_getenv ("ZC_E2E_ONLY");
  gchar *tmpl;
  guint i;

  gst_init (&argc, &argv);
  if (argc == 3 && strcmp (argv[1], "--consumer-events") == 0)
    return consumer_events (argv[2]);
  if (argc == 5 && (strcmp (argv[1], "--consumer-restart") == 0
          || strcmp (argv[1], "--consumer-pause") == 0))
    return consumer_states (argv[1], argv[2], (guint) atoi (argv[3]),
        (guint) atoi (argv[4]));

  setvbuf (stdout, NULL, _IOLBF, 0);
  if (gst_element_factory_find ("zcsink") == NULL
      || gst_element_factory_find ("checksumsink") == NULL) {
    printf ("1..0 # SKIP zcsink or checksumsink not found\n");
    return 0;
  }
  self_exe = g_file_read_link ("/proc/self/exe", NULL);
  tmpl = g_build_filename (g_get_tmp_dir (), "zc-e2e-XXXXXX", NULL);
  runtime_root = g_mkdtemp (tmpl);
  g_assert (self_exe && runtime_root);

  for (i = 0; i < G_N_ELEMENTS (tests); i++) {
    if (only == NULL || strstr (tests[i].name, only))
      tests[i].func ();
  }

  printf ("1..%u\n", n_case);
  if (n_failed == 0 && g_getenv ("ZC_E2E_KEEP") == NULL) {
    gchar *cmd = g_strdup_printf ("rm -rf '%s'", runtime_root);

    if (system (cmd) != 0)
      printf ("# could not remove %s\n", runtime_root);
    g_free (cmd);
  }
  g_free (self_exe);
  g_free (runtime_root);
  return n_failed == 0 ? 0 : 1;
}

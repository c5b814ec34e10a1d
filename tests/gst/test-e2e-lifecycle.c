/* End-to-end: consumers coming and going while the producer runs, as
 * real gst-launch-1.0 processes (zcsrc ! checksumsink): one SIGKILLed
 * while it holds frames (the pool comes back full), one joining late (it
 * gets the caps and what follows), one stopped until evicted (it attaches
 * again by itself).
 *
 *   usage: test-e2e-lifecycle  (GST_PLUGIN_PATH_1_0 must find the plugin)
 *
 * Prints TAP; exits non-zero if a case failed.  The harness (producer,
 * consumers, waits) is e2e-harness.c.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>

#include <gst/gst.h>

#include "e2e-harness.h"

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

  CHECK (producer_play_gray (p, 320, 240, 2));
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
  CHECK (producer_end_stream (p));
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

  CHECK (producer_play_gray (p, 320, 240, 1));
  for (; n < 10; n++)
    push_frame (p, 320 * 240, n);
  CHECK (wait_child_frames (p, a, 10));
  b = launch (dir, "b", "zcsrc channel=late ! checksumsink");
  CHECK (poll_until (p, cond_connected, GINT_TO_POINTER (2)));
  for (; n < 25; n++)
    push_frame (p, 320 * 240, n);
  CHECK (producer_end_stream (p));
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

  CHECK (producer_play_gray (p, 320, 240, 1));
  for (; n < 5; n++)
    push_frame (p, 320 * 240, n);
  CHECK (wait_child_frames (p, a, 5));
  CHECK (kill (a->pid, SIGSTOP) == 0);
  CHECK (poll_until (p, cond_disconnected, GINT_TO_POINTER (1)));
  CHECK (kill (a->pid, SIGCONT) == 0);
  CHECK (poll_until (p, cond_connected, GINT_TO_POINTER (2)));
  for (; n < 15; n++)
    push_frame (p, 320 * 240, n);
  CHECK (producer_end_stream (p));
  CHECK (child_wait (p, a));
  /* Nothing was published while it was away: it has every frame. */
  CHECK (child_got_tail (p, a, 0));
  CHECK (output_has (a, "Evicted by the producer"));
out:
  child_free (a);
  end_case (p, dir, ok, "a consumer evicted after a stall attaches again by "
      "itself and gets the rest of the stream");
}

static const E2eCase cases[] = {
  {"sigkill", test_sigkill},
  {"late-join", test_late_join},
  {"evicted-reattaches", test_evicted_consumer_reattaches},
};

/* ZC_E2E_ONLY=WORD runs the cases whose name contains WORD;
 * ZC_E2E_KEEP=1 keeps the outputs of a passing run. */
int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  return e2e_run (cases, G_N_ELEMENTS (cases));
}

/* Tests for lib/spin.c: when a reader spins before it sleeps.  The policy
 * is pure (time comes in as an argument), so every case is exact: which
 * gaps start and stop spinning, how long a spin may be, and how misses
 * back off.
 */
#include <stdint.h>

#include "zc-test.h"
#include "../../lib/spin.h"

#define US 1000u

/* Frames @gap_ns apart, @n of them, from @t; returns the last time. */
static uint64_t
frames (zc_spin_t * s, uint64_t t, uint64_t gap_ns, unsigned n)
{
  for (unsigned i = 0; i < n; i++) {
    t += gap_ns;
    zc_spin_note_frame (s, t);
  }
  return t;
}

static void
test_no_spin_before_a_stream (void)
{
  zc_spin_t s;

  zc_spin_init (&s);
  ZC_CHECK_EQ (zc_spin_budget (&s), 0);
  /* One frame gives no gap yet. */
  zc_spin_note_frame (&s, 1000 * US);
  ZC_CHECK_EQ (zc_spin_budget (&s), 0);
  /* The second does: 2 us apart, spin twice that. */
  zc_spin_note_frame (&s, 1002 * US);
  ZC_CHECK_EQ (zc_spin_budget (&s), 4 * US);
}

static void
test_dense_stream_spins_twice_its_gap (void)
{
  zc_spin_t s;

  zc_spin_init (&s);
  frames (&s, 1, 3 * US, 2);
  ZC_CHECK_EQ (zc_spin_budget (&s), 6 * US);
  zc_spin_init (&s);
  /* Just under the line is still dense. */
  frames (&s, 1, ZC_SPIN_GAP_NS - 1, 2);
  ZC_CHECK_EQ (zc_spin_budget (&s), 2 * (ZC_SPIN_GAP_NS - 1));
}

static void
test_paced_stream_never_spins (void)
{
  zc_spin_t s;

  zc_spin_init (&s);
  frames (&s, 1, 33333 * US, 100);      /* 30 fps */
  ZC_CHECK_EQ (zc_spin_budget (&s), 0);
  zc_spin_init (&s);
  frames (&s, 1, ZC_SPIN_GAP_NS, 10);   /* the line itself: no */
  ZC_CHECK_EQ (zc_spin_budget (&s), 0);
}

/* The gap moves a quarter of the way per frame: one long pause stops a
 * dense stream's spinning at once; it starts again only after a few dense
 * frames. */
static void
test_a_pause_stops_spinning_and_dense_frames_restart_it (void)
{
  zc_spin_t s;
  uint64_t t;
  unsigned n;

  zc_spin_init (&s);
  t = frames (&s, 1, 2 * US, 10);
  ZC_CHECK_EQ (zc_spin_budget (&s), 4 * US);
  t = frames (&s, t, 40 * US, 1);       /* 2 -> 2 + (40 - 2) / 4 = 11.5 */
  ZC_CHECK_EQ (s.gap_ns, 11500);
  ZC_CHECK_EQ (zc_spin_budget (&s), 0);
  t = frames (&s, t, 2 * US, 1);        /* 11.5 -> 9.125 */
  ZC_CHECK_EQ (s.gap_ns, 9125);
  ZC_CHECK_EQ (zc_spin_budget (&s), 18250);
  /* After 33 ms asleep, how many frames 1 us apart until it spins. */
  t = frames (&s, t, 33333 * US, 1);
  ZC_CHECK_EQ (zc_spin_budget (&s), 0);
  for (n = 0; zc_spin_budget (&s) == 0; n++) {
    ZC_CHECK (n < 100);
    t = frames (&s, t, 1 * US, 1);
  }
  ZC_CHECK (n > 20);
}

/* A clock that went backwards (a caller's bug) forgets the gap instead of
 * wrapping it into a huge or a tiny one. */
static void
test_time_going_backwards_forgets_the_gap (void)
{
  zc_spin_t s;

  zc_spin_init (&s);
  frames (&s, 1000 * US, 2 * US, 5);
  zc_spin_note_frame (&s, 10 * US);
  ZC_CHECK_EQ (zc_spin_budget (&s), 0);
  zc_spin_note_frame (&s, 12 * US);
  ZC_CHECK_EQ (zc_spin_budget (&s), 4 * US);
}

/* Misses skip 1, 2, 4, ... chances, at most ZC_SPIN_BACKOFF_MAX; a catch
 * ends the back-off. */
static void
test_misses_back_off_exponentially_and_a_catch_resets (void)
{
  zc_spin_t s;
  unsigned want = 1;

  zc_spin_init (&s);
  frames (&s, 1, 2 * US, 2);
  for (int round = 0; round < 12; round++) {
    ZC_CHECK_EQ (zc_spin_budget (&s), 4 * US);
    zc_spin_result (&s, false);
    for (unsigned i = 0; i < want; i++)
      ZC_CHECK_EQ (zc_spin_budget (&s), 0);
    want = want * 2 > ZC_SPIN_BACKOFF_MAX ? ZC_SPIN_BACKOFF_MAX : want * 2;
  }
  ZC_CHECK_EQ (want, ZC_SPIN_BACKOFF_MAX);
  ZC_CHECK_EQ (zc_spin_budget (&s), 4 * US);
  zc_spin_result (&s, true);
  ZC_CHECK_EQ (zc_spin_budget (&s), 4 * US);
  zc_spin_result (&s, true);
  /* Back-off starts over from one skip. */
  zc_spin_result (&s, false);
  ZC_CHECK_EQ (zc_spin_budget (&s), 0);
  ZC_CHECK_EQ (zc_spin_budget (&s), 4 * US);
}

int
main (int argc, char **argv)
{
  static const zc_test_case tests[] = {
    ZC_TEST (test_no_spin_before_a_stream),
    ZC_TEST (test_dense_stream_spins_twice_its_gap),
    ZC_TEST (test_paced_stream_never_spins),
    ZC_TEST (test_a_pause_stops_spinning_and_dense_frames_restart_it),
    ZC_TEST (test_time_going_backwards_forgets_the_gap),
    ZC_TEST (test_misses_back_off_exponentially_and_a_catch_resets),
  };

  return zc_test_main (argc, argv, tests, ZC_N_TESTS (tests));
}

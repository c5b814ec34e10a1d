/* Tests for the descriptor queues in one process: order, limits, revoke,
 * events, and attaching.  The doorbell, the producer's wait for space,
 * threads and processes are in test-queue-wakeup.c.
 *
 * Hostile consumers are played by writing the queue's words directly.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include <zc/error.h>
#include <zc/queue.h>

#include "zc-test.h"
#include "queue-harness.h"

/* ---- single-process behaviour ---- */

static void
test_pop_returns_pushed_entries_in_order_and_whole (void)
{
  shared_queues s = shared_queues_new (2, DEPTH);
  struct zc_desc d;

  ZC_CHECK_EQ (zc_queue_pop (s.q, &d), -EAGAIN);
  for (uint64_t i = 0; i < 10; i++)
    ZC_CHECK_OK (push_seq (s.q, 1000 + i, -1));
  for (uint64_t i = 0; i < 10; i++)
    pop_expect (s.q, 1000 + i);
  ZC_CHECK_EQ (zc_queue_pop (s.q, &d), -EAGAIN);
  ZC_CHECK_EQ (atomic_load (&s.q->delivered), 10);
  ZC_CHECK_EQ (atomic_load (&s.q->taken), 10);

  /* The other queue is untouched. */
  ZC_CHECK_EQ (zc_queue_pop (zc_queues_get (&s.qs, 1), &d), -EAGAIN);
  ZC_CHECK (zc_queues_get (&s.qs, 2) == NULL);
}

static void
test_limit_counts_queued_and_held_entries (void)
{
  shared_queues s = shared_queues_new (1, 4);

  for (uint64_t i = 0; i < 4; i++)
    ZC_CHECK_OK (push_seq (s.q, i, -1));
  ZC_CHECK_EQ (zc_queue_outstanding (s.q), 4);
  ZC_CHECK_EQ (push_seq (s.q, 4, -1), -EAGAIN);

  /* Popped but not released: still outstanding. */
  pop_expect (s.q, 0);
  pop_expect (s.q, 1);
  ZC_CHECK_EQ (zc_queue_outstanding (s.q), 4);
  ZC_CHECK_EQ (push_seq (s.q, 4, -1), -EAGAIN);
  ZC_CHECK_EQ (zc_queue_wait_space (s.q, 0), -ETIMEDOUT);

  zc_queue_note_release (s.q);
  ZC_CHECK_EQ (zc_queue_outstanding (s.q), 3);
  ZC_CHECK_OK (zc_queue_wait_space (s.q, 0));
  ZC_CHECK_OK (push_seq (s.q, 4, -1));
  ZC_CHECK_EQ (push_seq (s.q, 5, -1), -EAGAIN);
  ZC_CHECK_EQ (atomic_load (&s.q->writer_waiting), 0);
}

static void
test_full_ring_refuses_push_and_wraps_cleanly (void)
{
  shared_queues s = shared_queues_new (1, DEPTH);
  uint64_t next_push = 0, next_pop = 0;

  for (; next_push < DEPTH; next_push++)
    ZC_CHECK_OK (push_seq (s.q, next_push, -1));
  ZC_CHECK_EQ (push_seq (s.q, next_push, -1), -EAGAIN);

  /* Round the ring many times, a few entries behind. */
  for (unsigned i = 0; i < 10 * DEPTH; i++) {
    pop_expect (s.q, next_pop++);
    zc_queue_note_release (s.q);
    ZC_CHECK_OK (push_seq (s.q, next_push++, -1));
    ZC_CHECK_EQ (push_seq (s.q, next_push, -1), -EAGAIN);
  }
  ZC_CHECK_EQ (zc_queue_outstanding (s.q), DEPTH);
}

static void
test_revoke_takes_the_oldest_and_pop_never_sees_it (void)
{
  shared_queues s = shared_queues_new (1, 8);
  struct zc_desc d;

  ZC_CHECK_EQ (zc_queue_revoke (s.q, &d), -EAGAIN);
  for (uint64_t i = 0; i < 4; i++)
    ZC_CHECK_OK (push_seq (s.q, i, -1));
  pop_expect (s.q, 0);

  ZC_CHECK_OK (zc_queue_revoke (s.q, &d));
  ZC_CHECK_EQ (d.sequence, 1);
  ZC_CHECK (desc_matches (&d));
  ZC_CHECK_OK (zc_queue_revoke (s.q, &d));
  ZC_CHECK_EQ (d.sequence, 2);
  /* Revoked entries leave the count; the popped one is still held. */
  ZC_CHECK_EQ (zc_queue_outstanding (s.q), 2);
  ZC_CHECK_EQ (atomic_load (&s.q->revoked), 2);

  /* The freed slots are reused; the consumer never sees 1 or 2. */
  ZC_CHECK_OK (push_seq (s.q, 4, -1));
  pop_expect (s.q, 3);
  pop_expect (s.q, 4);
  ZC_CHECK_EQ (zc_queue_pop (s.q, &d), -EAGAIN);
  ZC_CHECK_EQ (zc_queue_revoke (s.q, &d), -EAGAIN);
}

/* Events (markers, end-of-stream) hold no block: they pass a consumer at
 * its limit, are never taken back, and are done once read. */
static void
test_events_pass_the_limit_and_are_never_revoked (void)
{
  shared_queues s = shared_queues_new (1, 2);
  struct zc_desc d, ev = { 0 };

  ev.flags = ZC_DESC_FLAG_NO_BLOCK | ZC_DESC_FLAG_CONTROL;
  ev.sequence = 99;
  ZC_CHECK_OK (push_seq (s.q, 0, -1));
  ZC_CHECK_OK (push_seq (s.q, 1, -1));
  ZC_CHECK_EQ (push_seq (s.q, 2, -1), -EAGAIN);         /* frames: at limit */
  ZC_CHECK_OK (zc_queue_push (s.q, &ev, -1));           /* events: pass */
  ZC_CHECK_EQ (atomic_load (&s.q->delivered), 2);       /* frames counted */

  pop_expect (s.q, 0);
  pop_expect (s.q, 1);
  /* The event is the oldest now: the producer cannot take it back. */
  ZC_CHECK_EQ (zc_queue_revoke (s.q, &d), -EAGAIN);
  ZC_CHECK_OK (zc_queue_pop (s.q, &d));
  ZC_CHECK_EQ (d.sequence, 99);
  /* Read means done: only the two frames are held. */
  ZC_CHECK_EQ (zc_queue_outstanding (s.q), 2);
}

/* ---- hostile values ---- */

static void
set_positions (struct zc_queue *q, uint64_t head, uint64_t tail)
{
  atomic_store (&q->head, head);
  atomic_store (&q->tail, tail);
}

static void
test_hostile_positions_are_bounded (void)
{
  shared_queues s = shared_queues_new (1, DEPTH);
  struct zc_desc d;

  /* Tail ahead of head. */
  set_positions (s.q, 5, 10);
  ZC_CHECK_EQ (zc_queue_outstanding (s.q), DEPTH);
  ZC_CHECK_EQ (push_seq (s.q, 0, -1), -EAGAIN);
  ZC_CHECK_EQ (zc_queue_pop (s.q, &d), ZC_EBOUNDS);
  ZC_CHECK_EQ (zc_queue_revoke (s.q, &d), -EAGAIN);
  ZC_CHECK (zc_queue_prepare_sleep (s.q));
  zc_queue_finish_sleep (s.q, -1);

  /* Head at the very end, tail at 0. */
  set_positions (s.q, UINT64_MAX, 0);
  ZC_CHECK_EQ (zc_queue_outstanding (s.q), DEPTH);
  ZC_CHECK_EQ (push_seq (s.q, 0, -1), -EAGAIN);
  ZC_CHECK_EQ (zc_queue_pop (s.q, &d), ZC_EBOUNDS);
  ZC_CHECK_EQ (zc_queue_wait_space (s.q, 10 * 1000 * 1000), -ETIMEDOUT);

  /* Positions about to wrap are not corrupt: the ring goes on. */
  set_positions (s.q, UINT64_MAX - 2, UINT64_MAX - 2);
  for (uint64_t i = 0; i < 6; i++)
    ZC_CHECK_OK (push_seq (s.q, i, -1));
  ZC_CHECK_EQ (atomic_load (&s.q->head), 3);
  ZC_CHECK_EQ (zc_queue_outstanding (s.q), 6);
  for (uint64_t i = 0; i < 6; i++)
    pop_expect (s.q, i);
  ZC_CHECK_EQ (zc_queue_pop (s.q, &d), -EAGAIN);
}

static void
test_hostile_limits_and_counters_are_clamped (void)
{
  shared_queues s = shared_queues_new (1, DEPTH);
  uint64_t i;

  atomic_store (&s.q->limit, 0);        /* counts as 1 */
  ZC_CHECK_OK (push_seq (s.q, 0, -1));
  ZC_CHECK_EQ (push_seq (s.q, 1, -1), -EAGAIN);

  atomic_store (&s.q->limit, 1000);     /* counts as the depth */
  for (i = 1; i < DEPTH; i++)
    ZC_CHECK_OK (push_seq (s.q, i, -1));
  ZC_CHECK_EQ (push_seq (s.q, i, -1), -EAGAIN);

  /* More released than taken: holds nothing, the ring still bounds it. */
  zc_queue_reset (s.q, DEPTH);
  atomic_store (&s.q->released, 100);
  ZC_CHECK_EQ (zc_queue_outstanding (s.q), 0);
  for (i = 0; i < DEPTH; i++)
    ZC_CHECK_OK (push_seq (s.q, i, -1));
  ZC_CHECK_EQ (push_seq (s.q, i, -1), -EAGAIN);
  ZC_CHECK_EQ (zc_queue_outstanding (s.q), DEPTH);

  /* A huge held count saturates instead of wrapping to "room". */
  atomic_store (&s.q->taken, UINT64_MAX);
  atomic_store (&s.q->released, 0);
  ZC_CHECK_EQ (zc_queue_outstanding (s.q), UINT64_MAX);
  ZC_CHECK_EQ (zc_queue_wait_space (s.q, 0), -ETIMEDOUT);
  set_positions (s.q, 0, 0);
  ZC_CHECK_EQ (zc_queue_outstanding (s.q), UINT64_MAX);
  ZC_CHECK_EQ (push_seq (s.q, 0, -1), -EAGAIN);
}

static void
test_attach_rejects_bad_magic_depth_desc_size_and_short_size (void)
{
  shared_queues s = shared_queues_new (3, DEPTH);
  struct zc_queues_header *h = s.mem;
  zc_queues_t qs;

  ZC_CHECK_OK (zc_queues_attach (&qs, s.mem, s.size));
  ZC_CHECK_EQ (qs.n_queues, 3);
  ZC_CHECK (zc_queues_get (&qs, 2) == s.q + 2);

  ZC_CHECK_EQ (zc_queues_attach (&qs, s.mem, s.size - 1), ZC_EBOUNDS);
  ZC_CHECK_EQ (zc_queues_attach (&qs, s.mem, 16), ZC_EBOUNDS);
  ZC_CHECK_EQ (zc_queues_attach (&qs, (char *) s.mem + 4, s.size - 4),
      -EINVAL);
  h->magic ^= 1;
  ZC_CHECK_EQ (zc_queues_attach (&qs, s.mem, s.size), ZC_EBADMAGIC);
  h->magic ^= 1;
  h->depth = DEPTH * 2;
  ZC_CHECK_EQ (zc_queues_attach (&qs, s.mem, s.size), ZC_EVERSION);
  h->depth = DEPTH;
  h->desc_size = 128;
  ZC_CHECK_EQ (zc_queues_attach (&qs, s.mem, s.size), ZC_EVERSION);
  h->desc_size = sizeof (struct zc_desc);
  h->n_queues = 0;
  ZC_CHECK_EQ (zc_queues_attach (&qs, s.mem, s.size), ZC_EBOUNDS);
  h->n_queues = ZC_QUEUES_MAX + 1;
  ZC_CHECK_EQ (zc_queues_attach (&qs, s.mem, s.size), ZC_EBOUNDS);
  h->n_queues = 4;              /* more than the memory holds */
  ZC_CHECK_EQ (zc_queues_attach (&qs, s.mem, s.size), ZC_EBOUNDS);
  h->n_queues = 3;
  ZC_CHECK_OK (zc_queues_attach (&qs, s.mem, s.size));

  ZC_CHECK_EQ (zc_queues_construct (&qs, s.mem, s.size, 0), -EINVAL);
  ZC_CHECK_EQ (zc_queues_construct (&qs, s.mem, s.size, ZC_QUEUES_MAX + 1),
      -EINVAL);
  ZC_CHECK_EQ (zc_queues_construct (&qs, s.mem, s.size, 4), ZC_EBOUNDS);
}

int
main (int argc, char **argv)
{
  static const zc_test_case tests[] = {
    ZC_TEST (test_pop_returns_pushed_entries_in_order_and_whole),
    ZC_TEST (test_limit_counts_queued_and_held_entries),
    ZC_TEST (test_full_ring_refuses_push_and_wraps_cleanly),
    ZC_TEST (test_revoke_takes_the_oldest_and_pop_never_sees_it),
    ZC_TEST (test_events_pass_the_limit_and_are_never_revoked),
    ZC_TEST (test_hostile_positions_are_bounded),
    ZC_TEST (test_hostile_limits_and_counters_are_clamped),
    ZC_TEST (test_attach_rejects_bad_magic_depth_desc_size_and_short_size),
  };

  return zc_test_main (argc, argv, tests, ZC_N_TESTS (tests));
}

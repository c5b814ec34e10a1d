/* The stream between live endpoints across real processes: one producer,
 * consumers that come early or late and follow a new format or pool
 * generation; flush, CRC checks over the ring, and a frame the producer
 * keeps reading after publishing it.
 *
 * Consumers are this binary re-executed with a role (see peer_main in
 * endpoints-harness.c), so each is a real, separate process that maps the
 * segment itself.  Every frame carries frame-pattern.h's checkable bytes.
 * Each test gets its own XDG_RUNTIME_DIR, so the socket directory can be
 * checked empty at the end.
 */
#include <zc/zc.h>

#include "zc-test.h"
#include "../../lib/consumer-private.h"
#include "../../lib/producer-private.h"
#include "../examples/frame-pattern.h"
#include "endpoints-harness.h"

static void
test_eight_consumers_get_every_byte (void)
{
  pid_t kids[8];
  zc_producer_t *p;
  int shm = count_shm ();

  private_runtime_dir ();
  p = make_producer ("eight", ZC_POLICY_BLOCK, 65536, 16, 0);
  for (int i = 0; i < 8; i++)
    kids[i] = spawn ("verify", "eight", 2000, NULL);
  ZC_CHECK (zc_producer_wait_consumers (p, 8, 20 * SEC) == 8);
  for (uint64_t n = 0; n < 2000; n++)
    ZC_CHECK_EQ (publish (p, n, 65536, 10 * SEC), 8);
  ZC_CHECK_EQ (zc_producer_send_eos (p), 8);
  WAIT_FOR (pool_free (p) == 16, 20000);
  zc_producer_free (p);
  for (int i = 0; i < 8; i++)
    expect_exit_ok (kids[i], 30);
  ZC_CHECK_EQ (count_entries (sock_dir), 0);
  ZC_CHECK_EQ (count_shm (), shm);
  leave_nothing_behind ();
}

/* zc_producer_flush(): frames queued and unread are taken back (their
 * blocks free again), the consumer gets ZC_EVENT_FLUSH, then what follows;
 * a frame it holds stays valid. */
static void
test_flush_takes_back_unread_frames (void)
{
  zc_consumer_t *c;
  zc_producer_t *p;
  zc_event_t ev;
  zc_frame_t held;
  uint64_t number;

  private_runtime_dir ();
  p = make_producer ("flush", ZC_POLICY_BLOCK, 4096, 8, 0);
  c = local_consumer ("flush");
  ZC_CHECK (zc_producer_wait_consumers (p, 1, 20 * SEC) == 1);
  for (uint64_t n = 0; n < 3; n++)
    ZC_CHECK_EQ (publish (p, n, 4096, 10 * SEC), 1);
  ZC_CHECK_EQ (zc_consumer_receive (c, &ev, 10 * SEC), ZC_EVENT_FRAME);
  held = ev.frame;
  ZC_CHECK_EQ (held.desc.pts, 0);
  /* Frames 1 and 2 are queued, unread: 3 blocks in use. */
  ZC_CHECK_EQ (pool_free (p), 5);
  ZC_CHECK_EQ (zc_producer_flush (p), 1);
  ZC_CHECK_EQ (pool_free (p), 7);
  ZC_CHECK_EQ (zc_consumer_receive (c, &ev, 10 * SEC), ZC_EVENT_FLUSH);
  ZC_CHECK_EQ (publish (p, 3, 4096, 10 * SEC), 1);
  ZC_CHECK_EQ (zc_consumer_receive (c, &ev, 10 * SEC), ZC_EVENT_FRAME);
  ZC_CHECK_EQ (ev.frame.desc.pts, 3);
  ZC_CHECK (frame_pattern_check (held.data, 4096, &number) && number == 0);
  ZC_CHECK_OK (zc_consumer_release (c, &ev.frame));
  ZC_CHECK_OK (zc_consumer_release (c, &held));
  WAIT_FOR (pool_free (p) == 8, 5000);
  zc_consumer_free (c);
  zc_producer_free (p);
  leave_nothing_behind ();
}

static void
test_consumer_started_before_producer (void)
{
  zc_producer_t *p;
  pid_t a;

  private_runtime_dir ();
  a = spawn ("verify", "early", 300, NULL);
  usleep (200 * 1000);          /* it is waiting: there is no producer */
  ZC_CHECK_EQ (waitpid (a, NULL, WNOHANG), 0);
  p = make_producer ("early", ZC_POLICY_BLOCK, 1000, 8, 0);
  ZC_CHECK (zc_producer_wait_consumers (p, 1, 20 * SEC) == 1);
  for (uint64_t n = 0; n < 300; n++)
    ZC_CHECK_EQ (publish (p, n, 1000, 10 * SEC), 1);
  zc_producer_send_eos (p);
  zc_producer_free (p);
  expect_exit_ok (a, 30);
  leave_nothing_behind ();
}

static void
test_late_join_gets_format_and_sticky_first (void)
{
  zc_producer_t *p;
  pid_t a;

  private_runtime_dir ();
  p = make_producer ("late", ZC_POLICY_BLOCK, 4096, 8, 0);
  ZC_CHECK_OK (zc_producer_set_format (p, "fmt-A", 5));
  ZC_CHECK_OK (zc_producer_set_sticky (p, 1, "stream-start", 12));
  ZC_CHECK_OK (zc_producer_set_sticky (p, 2, "segment", 7));
  for (uint64_t n = 0; n < 100; n++)
    ZC_CHECK_EQ (publish (p, n, 4096, 10 * SEC), 0);
  a = spawn ("latejoin", "late", 0, NULL);
  ZC_CHECK (zc_producer_wait_consumers (p, 1, 20 * SEC) == 1);
  for (uint64_t n = 100; n < 200; n++)
    ZC_CHECK_EQ (publish (p, n, 4096, 10 * SEC), 1);
  zc_producer_send_eos (p);
  zc_producer_free (p);
  expect_exit_ok (a, 30);
  leave_nothing_behind ();
}

static void
test_format_change_starts_new_generation (void)
{
  zc_channel_stats_t st;
  zc_producer_t *p;
  pid_t a;

  private_runtime_dir ();
  p = make_producer ("resize", ZC_POLICY_BLOCK, 65536, 8, 0);
  ZC_CHECK_OK (zc_producer_set_format (p, "size=65536", 10));
  a = spawn ("resize", "resize", 0, NULL);
  ZC_CHECK (zc_producer_wait_consumers (p, 1, 20 * SEC) == 1);
  for (uint64_t n = 0; n < 50; n++)
    ZC_CHECK_EQ (publish (p, n, 65536, 10 * SEC), 1);
  ZC_CHECK_OK (zc_producer_resize (p, 262144, 6));
  ZC_CHECK_OK (zc_producer_set_format (p, "size=262144", 11));
  for (uint64_t n = 50; n < 100; n++)
    ZC_CHECK_EQ (publish (p, n, 262144, 10 * SEC), 1);
  zc_producer_send_eos (p);
  zc_producer_get_stats (p, &st);
  ZC_CHECK_EQ (st.generation, 2);
  ZC_CHECK_EQ (st.pool.n_blocks, 6);
  zc_producer_free (p);
  expect_exit_ok (a, 30);
  leave_nothing_behind ();
}

static void
test_crc_verify_over_the_ring_and_breaker (void)
{
  zc_producer_config_t cfg;
  zc_channel_stats_t st;
  zc_producer_t *p;
  zc_frame_t f;
  int report;
  pid_t a;

  private_runtime_dir ();
  zc_producer_config_init (&cfg);
  cfg.name = "crc";
  cfg.crc = true;
  ZC_CHECK_OK (zc_producer_new (&cfg, &p));
  a = spawn ("crc", "crc", 0, &report);
  ZC_CHECK (zc_producer_wait_consumers (p, 1, 20 * SEC) == 1);
  ZC_CHECK_EQ (publish (p, 0, 4096, 10 * SEC), 1);
  /* The producer (duty holder) checked it on the consumer's request. */
  ZC_CHECK_EQ ((int64_t) read_report (report, 20000), 0);

  /* Frame 1 is damaged after publish (as a stray write would do): the
   * consumer sees the damage, asks again, and the check trips the pool. */
  ZC_CHECK_OK (zc_producer_acquire (p, &f, 10 * SEC));
  uint8_t *data = f.data;
  frame_pattern_fill (data, 4096, 1);
  f.desc.size = 4096;
  ZC_CHECK_EQ (zc_producer_publish (p, &f, 10 * SEC), 1);
  /* The stray write comes from another process, as it would in life (and
   * so ThreadSanitizer does not take it for a race of this one). */
  pid_t stray = fork ();
  ZC_CHECK (stray >= 0);
  if (stray == 0) {
    data[100] ^= 0xff;
    _exit (0);
  }
  expect_exit_ok (stray, 10);
  ZC_CHECK_EQ ((int64_t) read_report (report, 20000), ZC_ECRC);
  ZC_CHECK_EQ (zc_producer_acquire (p, &f, 0), ZC_ETRIPPED);
  zc_producer_get_stats (p, &st);
  ZC_CHECK (st.pool.tripped);
  ZC_CHECK_EQ (st.duty_slot, 0);
  ZC_CHECK (st.ring_crc_verifies >= 2);
  zc_producer_free (p);
  expect_exit_ok (a, 30);
  close (report);
  leave_nothing_behind ();
}

static void
test_scale_request_grows_the_pool (void)
{
  zc_channel_stats_t st;
  zc_producer_t *p;
  uint64_t n = 0;
  pid_t a;

  private_runtime_dir ();
  p = make_producer ("grow", ZC_POLICY_BLOCK, 4096, 8, 0);
  a = spawn ("scale", "grow", 24, NULL);
  ZC_CHECK (zc_producer_wait_consumers (p, 1, 20 * SEC) == 1);
  /* Frames flow until the request has crossed the ring and a frame has
   * started the larger generation. */
  do {
    ZC_CHECK_EQ (publish (p, n++, 4096, 10 * SEC), 1);
    zc_producer_get_stats (p, &st);
    ZC_CHECK (n < 100000);
  } while (st.generation == 1);
  ZC_CHECK_EQ (st.pool.n_blocks, 24);
  for (int i = 0; i < 100; i++)
    ZC_CHECK_EQ (publish (p, n++, 4096, 10 * SEC), 1);
  zc_producer_send_eos (p);
  zc_producer_free (p);
  expect_exit_ok (a, 30);
  leave_nothing_behind ();
}

/* The GstMemory bridge's case: the producer keeps reading a frame it
 * published, so the block must not go back to the pool before it lets go
 * too.  One process is enough: the consumer's slot is the same pid's. */
static void
test_publish_keep_holds_the_block_until_released (void)
{
  zc_consumer_t *c;
  zc_producer_t *p;
  zc_event_t ev;
  zc_frame_t f;

  private_runtime_dir ();
  p = make_producer ("keep", ZC_POLICY_BLOCK, 4096, 4, 0);
  c = local_consumer ("keep");

  ZC_CHECK_OK (zc_producer_acquire (p, &f, 10 * SEC));
  frame_pattern_fill (f.data, 4096, 7);
  f.desc.size = 4096;
  ZC_CHECK_EQ (zc_producer_publish_keep (p, &f, 10 * SEC), 1);
  ZC_CHECK_EQ (zc_consumer_receive (c, &ev, 10 * SEC), ZC_EVENT_FRAME);
  ZC_CHECK_OK (zc_consumer_release (c, &ev.frame));
  ZC_CHECK_EQ (pool_free (p), 3);       /* still ours */
  uint64_t n;
  ZC_CHECK (frame_pattern_check (f.data, 4096, &n) && n == 7);
  zc_producer_release (p, &f);
  ZC_CHECK_EQ (pool_free (p), 4);

  zc_consumer_free (c);
  zc_producer_free (p);
  leave_nothing_behind ();
}

/* Drop policy: what the producer could not queue for a consumer is that
 * consumer's drop count, the same from its own queue (zc_consumer_drops)
 * as from the channel's stats. */
static void
test_consumer_counts_its_drops (void)
{
  zc_consumer_config_t cfg;
  zc_channel_stats_t st;
  zc_consumer_t *c;
  zc_producer_t *p;
  zc_event_t ev;

  private_runtime_dir ();
  p = make_producer ("drops", ZC_POLICY_DROP, 4096, 16, 0);
  zc_consumer_config_init (&cfg);
  cfg.name = "drops";
  cfg.max_held = 2;
  ZC_CHECK_OK (zc_consumer_new (&cfg, &c));
  ZC_CHECK_EQ (zc_consumer_receive (c, &ev, 20 * SEC), ZC_EVENT_CONNECTED);
  ZC_CHECK_EQ (zc_consumer_drops (c), 0);

  /* Nothing read: two frames fit, the next five are missed. */
  for (uint64_t n = 0; n < 7; n++)
    ZC_CHECK_EQ (publish (p, n, 4096, 10 * SEC), n < 2 ? 1 : 0);
  ZC_CHECK_EQ (zc_consumer_drops (c), 5);
  ZC_CHECK_OK (zc_consumer_get_stats (c, &st));
  ZC_CHECK_EQ (st.n_consumers, 1);
  ZC_CHECK_EQ (st.consumers[0].drops, 5);

  for (int i = 0; i < 2; i++) {
    ZC_CHECK_EQ (zc_consumer_receive (c, &ev, 10 * SEC), ZC_EVENT_FRAME);
    ZC_CHECK_OK (zc_consumer_release (c, &ev.frame));
  }
  ZC_CHECK_EQ (publish (p, 7, 4096, 10 * SEC), 1);
  ZC_CHECK_EQ (zc_consumer_drops (c), 5);
  ZC_CHECK_EQ (zc_consumer_drops (NULL), 0);

  zc_consumer_free (c);
  zc_producer_free (p);
  leave_nothing_behind ();
}

/* Mappings of libzc segments in this process (/proc/self/maps lines of a
 * "zc:" memfd): each generation a producer or consumer here holds adds
 * its own. */
static int
count_segment_maps (void)
{
  FILE *f = fopen ("/proc/self/maps", "r");
  char line[512];
  int n = 0;

  ZC_CHECK (f != NULL);
  while (fgets (line, sizeof (line), f) != NULL)
    n += strstr (line, "/memfd:zc:") != NULL;
  fclose (f);
  return n;
}

/* A consumer that sleeps through two resizes in a row still follows: the
 * middle generation, which it has yet to open, stays until it has passed
 * through.  (zcsink resizes twice at its first caps, the block size then
 * the block count, while the consumers that came first wait.)  Before,
 * the producer took the middle one down at its next tick, as soon as no
 * block of it was out, and the consumer found it "not ready": a
 * disconnect. */
static void
test_a_consumer_follows_two_resizes_it_slept_through (void)
{
  zc_producer_t *p;
  zc_consumer_t *c;
  zc_event_t ev;
  uint64_t n;
  int ret, maps;

  private_runtime_dir ();
  p = make_producer ("twice", ZC_POLICY_BLOCK, 4096, 8, 0);
  c = local_consumer ("twice");
  while ((ret = zc_consumer_receive (c, &ev, 0)) >= 0)
    ZC_CHECK (ret != ZC_EVENT_FRAME && ret != ZC_EVENT_DISCONNECTED);
  ZC_CHECK_EQ (ret, -EAGAIN);
  maps = count_segment_maps ();
  ZC_CHECK (maps > 0);

  ZC_CHECK_OK (zc_producer_resize (p, 8192, 8));
  ZC_CHECK_OK (zc_producer_resize (p, 16384, 8));
  /* Six of the producer's control ticks (50 ms at most): the middle
   * generation would go at the first. */
  usleep (300000);
  ZC_CHECK_EQ (publish (p, 7, 16384, 10 * SEC), 1);

  ret = zc_consumer_receive (c, &ev, 10 * SEC);
  ZC_CHECK_EQ (ret, ZC_EVENT_FRAME);
  ZC_CHECK_EQ (ev.frame.desc.size, 16384);
  ZC_CHECK (ev.frame.capacity >= 16384);
  ZC_CHECK (frame_pattern_check (ev.frame.data, 16384, &n));
  ZC_CHECK_EQ (n, 7);
  ZC_CHECK_OK (zc_consumer_release (c, &ev.frame));
  /* Passed through, the two old generations go on both sides: one is
   * left, as at the start. */
  WAIT_FOR (count_segment_maps () == maps, 5000);
  zc_consumer_free (c);
  zc_producer_free (p);
  leave_nothing_behind ();
}

/* A consumer that stops reading (drop policy, kept alive as a paused
 * zcsrc keeps itself) would hold every generation made after it stopped:
 * past ZC_OLD_GENERATIONS_MAX (4) the producer evicts it, and all old
 * generations go.  A consumer that reads follows every change. */
static void
test_a_consumer_that_stopped_reading_holds_four_generations_at_most (void)
{
  zc_consumer_t *reader, *paused;
  zc_producer_t *p;
  zc_event_t ev;
  zc_frame_t held;
  uint64_t n, deadline;
  int ret, maps;

  private_runtime_dir ();
  p = make_producer ("paused", ZC_POLICY_DROP, 4096, 8, 0);
  maps = count_segment_maps ();
  ZC_CHECK (maps > 0);
  reader = local_consumer ("paused");
  paused = local_consumer ("paused");
  ZC_CHECK_EQ (zc_producer_wait_consumers (p, 2, 10 * SEC), 2);
  /* Attached, and a block held in the first generation. */
  ZC_CHECK_EQ (publish (p, 0, 4096, 10 * SEC), 2);
  while ((ret = zc_consumer_receive (reader, &ev, 10 * SEC)) != ZC_EVENT_FRAME)
    ZC_CHECK (ret >= 0 && ret != ZC_EVENT_DISCONNECTED);
  ZC_CHECK_OK (zc_consumer_release (reader, &ev.frame));
  while ((ret = zc_consumer_receive (paused, &ev, 10 * SEC)) != ZC_EVENT_FRAME)
    ZC_CHECK (ret >= 0 && ret != ZC_EVENT_DISCONNECTED);
  held = ev.frame;

  /* Four changes: the paused one is in all four old generations. */
  for (n = 1; n <= 6; n++) {
    ZC_CHECK_OK (zc_producer_resize (p, 4096 * (n + 1), 8));
    ZC_CHECK_EQ (publish (p, n, 4096 * (n + 1), 10 * SEC) >= 1, 1);
    do {
      ret = zc_consumer_receive (reader, &ev, 10 * SEC);
      ZC_CHECK (ret >= 0 && ret != ZC_EVENT_DISCONNECTED);
    } while (ret != ZC_EVENT_FRAME);
    ZC_CHECK_EQ (ev.frame.desc.size, 4096 * (n + 1));
    ZC_CHECK_OK (zc_consumer_release (reader, &ev.frame));
    ZC_CHECK_OK (zc_consumer_keepalive (paused));
    if (n == 4) {
      /* Six control ticks: four old generations are not too many. */
      usleep (300000);
      ZC_CHECK_OK (zc_consumer_keepalive (paused));
      ZC_CHECK_EQ (n_consumers (p), 2);
    }
  }
  /* The fifth is one too many: evicted at the next tick. */
  deadline = zc_now_ns () + 5 * SEC;
  while (n_consumers (p) != 1) {
    ZC_CHECK (zc_now_ns () < deadline);
    ZC_CHECK_OK (zc_consumer_keepalive (paused));
    usleep (10000);
  }
  /* It learns so once it reads again.  The frame it held is still
   * readable here; the eviction took its reference back already. */
  {
    uint64_t first;

    ZC_CHECK (frame_pattern_check (held.data, 4096, &first) && first == 0);
  }
  ZC_CHECK_EQ (zc_consumer_release (paused, &held), ZC_ESTATE);
  do
    ret = zc_consumer_receive (paused, &ev, 10 * SEC);
  while (ret >= 0 && ret != ZC_EVENT_DISCONNECTED);
  ZC_CHECK_EQ (ret, ZC_EVENT_DISCONNECTED);
  /* Told why, not that a segment looks overwritten. */
  ZC_CHECK_EQ (ev.code, ZC_EEVICTED);
  ZC_CHECK (strstr (zc_consumer_last_error (paused), "stopped reading"));
  zc_consumer_free (paused);

  /* The reader goes on, and only the current generation is left: one
   * mapping set here for the producer, one for the reader. */
  ZC_CHECK_EQ (publish (p, 7, 4096 * 7, 10 * SEC), 1);
  WAIT_FOR (count_segment_maps () == 2 * maps, 5000);
  zc_consumer_free (reader);
  zc_producer_free (p);
  leave_nothing_behind ();
}

/* Old generations the producer still keeps. */
static int
old_generations (zc_producer_t * p)
{
  int n = 0;

  pthread_mutex_lock (&p->lock);
  for (struct zc_gen * g = p->gen->older; g; g = g->older)
    n++;
  pthread_mutex_unlock (&p->lock);
  return n;
}

/* A consumer the producer has let go may keep its mappings, and every
 * word of its queue is its own to write.  Made to look attached with an
 * entry unread, its old queue must not keep a generation: only consumers
 * attached now count (gen_passed()). */
static void
test_a_consumer_let_go_cannot_pin_a_generation (void)
{
  zc_producer_t *p;
  zc_consumer_t *hostile;
  struct zc_queue *q;
  uint64_t tail;

  private_runtime_dir ();
  p = make_producer ("letgo", ZC_POLICY_DROP, 4096, 8, SEC / 5);
  hostile = local_consumer ("letgo");
  ZC_CHECK_EQ (zc_producer_wait_consumers (p, 1, 10 * SEC), 1);
  q = hostile->gen->queue;
  /* Silent past the heartbeat timeout: evicted, its queue set FREE. */
  WAIT_FOR (n_consumers (p) == 0, 5000);
  ZC_CHECK_EQ (atomic_load (&q->state), ZC_QUEUE_FREE);

  tail = atomic_load (&q->tail);
  atomic_store (&q->state, ZC_QUEUE_ACTIVE);
  atomic_store (&q->head, tail + 1);
  ZC_CHECK_OK (zc_producer_resize (p, 8192, 8));
  ZC_CHECK_EQ (old_generations (p), 1);
  /* No block of it out, no consumer attached: it goes at a tick. */
  WAIT_FOR (old_generations (p) == 0, 5000);
  ZC_CHECK_EQ (atomic_load (&q->head), tail + 1);

  zc_consumer_free (hostile);
  zc_producer_free (p);
  leave_nothing_behind ();
}

static const zc_test_case tests[] = {
  ZC_TEST (test_eight_consumers_get_every_byte),
  ZC_TEST (test_flush_takes_back_unread_frames),
  ZC_TEST (test_consumer_started_before_producer),
  ZC_TEST (test_late_join_gets_format_and_sticky_first),
  ZC_TEST (test_format_change_starts_new_generation),
  ZC_TEST (test_a_consumer_follows_two_resizes_it_slept_through),
  ZC_TEST (test_crc_verify_over_the_ring_and_breaker),
  ZC_TEST (test_scale_request_grows_the_pool),
  ZC_TEST (test_publish_keep_holds_the_block_until_released),
  ZC_TEST (test_consumer_counts_its_drops),
  ZC_TEST (test_a_consumer_that_stopped_reading_holds_four_generations_at_most),
  ZC_TEST (test_a_consumer_let_go_cannot_pin_a_generation),
};

int
main (int argc, char **argv)
{
  if (argc == 6 && strcmp (argv[1], "--peer") == 0)
    return peer_main (argv[2], argv[3], strtoull (argv[4], NULL, 10),
        atoi (argv[5]));
  return zc_test_main (argc, argv, tests, ZC_N_TESTS (tests));
}

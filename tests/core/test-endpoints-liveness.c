/* Endpoints that die, stall, pause or hang, across real processes: a
 * consumer or producer killed mid-stream (seen at once, its blocks back,
 * a new producer followed), a stalled consumer evicted, a paused one kept
 * alive by zc_consumer_keepalive(), a hung producer whose duty a consumer
 * takes over, and nothing left behind when everything is killed.
 *
 * Peers are this binary re-executed with a role (see peer_main in
 * endpoints-harness.c), so each is a real, separate process that maps the
 * segment itself.  Each test gets its own XDG_RUNTIME_DIR, so the socket
 * directory can be checked empty at the end.
 */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>

#include <zc/zc.h>

#include "zc-test.h"
#include "endpoints-harness.h"

static void
consumer_killed_mid_stream (zc_policy_t policy)
{
  zc_producer_t *p;
  pid_t victim, other;
  int report;

  private_runtime_dir ();
  /* A long heartbeat timeout: the victim must die of SIGKILL, not of
   * eviction, however slow the machine. */
  p = make_producer ("victim", policy, 4096, 16, 10 * SEC);
  other = spawn (policy == ZC_POLICY_DROP ? "lossy" : "verify", "victim", 0,
      NULL);
  victim = spawn ("hold", "victim", 3, &report);
  ZC_CHECK (zc_producer_wait_consumers (p, 2, 20 * SEC) == 2);
  /* Frames until the victim holds 3 blocks; then it is killed holding
   * them, and with more queued. */
  /* Drop: a busy consumer may miss a frame, so nobody may get one. */
  int least = policy == ZC_POLICY_DROP ? 0 : 1;
  uint64_t n = 0;
  struct pollfd pfd = { report, POLLIN, 0 };
  while (poll (&pfd, 1, 0) == 0) {
    /* Block policy: once the victim's queue is full a publish waits for
     * it; short waits keep this loop looking at the report. */
    int r = publish (p, n++, 4096, 50 * MS);

    ZC_CHECK (r >= least || r == -ETIMEDOUT);
    ZC_CHECK (n < 100000);
  }
  ZC_CHECK (pool_free (p) <= 13);
  ZC_CHECK_EQ (kill (victim, SIGKILL), 0);
  ZC_CHECK (zc_test_wait (victim, 10) != -1);
  /* The producer goes on; the victim's references come back. */
  for (int i = 0; i < 500; i++)
    ZC_CHECK (publish (p, n++, 4096, 10 * SEC) >= least);
  WAIT_FOR (n_consumers (p) == 1, 5000);
  ZC_CHECK_EQ (zc_producer_send_eos (p), 1);
  WAIT_FOR (pool_free (p) == 16, 5000);
  zc_producer_free (p);
  expect_exit_ok (other, 30);
  close (report);
  leave_nothing_behind ();
}

static void
test_consumer_sigkill_mid_stream_block (void)
{
  consumer_killed_mid_stream (ZC_POLICY_BLOCK);
}

static void
test_consumer_sigkill_mid_stream_drop (void)
{
  consumer_killed_mid_stream (ZC_POLICY_DROP);
}

static void
test_producer_sigkill_seen_at_once_then_new_producer (void)
{
  pid_t producer, a, b;
  int ra, rb, rp;
  uint64_t killed, seen_a, seen_b;
  zc_producer_t *p;

  private_runtime_dir ();
  a = spawn ("follow", "phoenix", 0, &ra);
  b = spawn ("follow", "phoenix", 0, &rb);
  producer = spawn ("produce", "phoenix", 2, &rp);
  ZC_CHECK_EQ (read_report (rp, 20000), 2);     /* both attached, frames flow */
  /* Both consumers confirm frames arrived from the first producer. */
  ZC_CHECK_EQ (read_report (ra, 20000), 1);
  ZC_CHECK_EQ (read_report (rb, 20000), 1);
  killed = zc_now_ns ();
  ZC_CHECK_EQ (kill (producer, SIGKILL), 0);
  seen_a = read_report (ra, 5000);
  seen_b = read_report (rb, 5000);
  /* The kernel closes the socket at death: no heartbeat lag. */
  ZC_CHECK (seen_a > killed && seen_a - killed < 100 * MS);
  ZC_CHECK (seen_b > killed && seen_b - killed < 100 * MS);
  zc_test_wait (producer, 10);

  /* Same name, new producer: the waiting consumers come back by
   * themselves, and the dead one's socket file is no obstacle. */
  p = make_producer ("phoenix", ZC_POLICY_BLOCK, 4096, 8, 0);
  ZC_CHECK (zc_producer_wait_consumers (p, 2, 20 * SEC) == 2);
  for (uint64_t n = 0; n < 200; n++)
    ZC_CHECK_EQ (publish (p, n, 4096, 10 * SEC), 2);
  zc_producer_send_eos (p);
  zc_producer_free (p);
  expect_exit_ok (a, 30);
  expect_exit_ok (b, 30);
  ZC_CHECK_EQ (count_entries (sock_dir), 0);
  close (ra);
  close (rb);
  close (rp);
  leave_nothing_behind ();
}

static void
stalled_consumer_evicted (zc_policy_t policy)
{
  const int64_t timeout = 300 * MS;
  uint64_t worst = 0, start, evicted_at = 0;
  zc_producer_t *p;
  pid_t staller;
  int report;

  private_runtime_dir ();
  p = make_producer ("stall", policy, 4096, 8, (uint64_t) timeout);
  staller = spawn ("hold", "stall", 2, &report);
  ZC_CHECK (zc_producer_wait_consumers (p, 1, 20 * SEC) == 1);
  start = zc_now_ns ();
  /* Publish for a while: the staller holds 2 blocks and reads no more. */
  for (uint64_t n = 0; zc_now_ns () - start < 3 * (uint64_t) SEC; n++) {
    uint64_t t0 = zc_now_ns (), dt;
    int r = publish (p, n, 4096, 10 * SEC);

    ZC_CHECK (r >= 0);
    dt = zc_now_ns () - t0;
    if (dt > worst)
      worst = dt;
    if (!evicted_at && n_consumers (p) == 0)
      evicted_at = zc_now_ns ();
  }
  ZC_CHECK (evicted_at != 0);
  /* Never stalled longer than the eviction needs (timeout plus the
   * control thread's tick), with room for a loaded machine. */
  if (policy == ZC_POLICY_DROP)
    ZC_CHECK (worst < (uint64_t) timeout + 1 * SEC);
  WAIT_FOR (pool_free (p) == 8, 5000);
  /* The evicted process is alive and was told so. */
  ZC_CHECK_EQ (waitpid (staller, NULL, WNOHANG), 0);
  kill (staller, SIGKILL);
  zc_test_wait (staller, 10);
  zc_producer_free (p);
  close (report);
  leave_nothing_behind ();
}

/* A consumer that stops receiving but calls zc_consumer_keepalive() (a
 * paused pipeline): in drop policy it stays, missing frames, for five
 * heartbeat timeouts and more; in block policy it keeps the producer
 * waiting for room, and that stall evicts it all the same. */
static void
paused_consumer (zc_policy_t policy)
{
  const int64_t timeout = 300 * MS;
  uint64_t start, worst = 0;
  zc_channel_stats_t st;
  zc_producer_t *p;
  pid_t paused;
  int report;

  private_runtime_dir ();
  p = make_producer ("paused", policy, 4096, 8, (uint64_t) timeout);
  paused = spawn ("keepalive", "paused", 2, &report);
  ZC_CHECK (zc_producer_wait_consumers (p, 1, 20 * SEC) == 1);
  for (uint64_t n = 0; n < 2; n++)
    ZC_CHECK_EQ (publish (p, n, 4096, 10 * SEC), 1);
  ZC_CHECK_EQ (read_report (report, 20000), 2);
  start = zc_now_ns ();
  for (uint64_t n = 2; zc_now_ns () - start < 5 * (uint64_t) timeout; n++) {
    uint64_t t0 = zc_now_ns ();
    int r = publish (p, n, 4096, 10 * SEC);

    ZC_CHECK (r >= 0);
    if (zc_now_ns () - t0 > worst)
      worst = zc_now_ns () - t0;
    if (policy == ZC_POLICY_DROP)
      ZC_CHECK_EQ (n_consumers (p), 1);
    usleep (1000);
  }
  if (policy == ZC_POLICY_DROP) {
    zc_producer_get_stats (p, &st);
    ZC_CHECK_EQ (st.n_consumers, 1);
    ZC_CHECK (st.consumers[0].drops > 0);
    ZC_CHECK_EQ (st.consumers[0].held, 2);
  } else {
    /* Evicted once it held the producer up for the timeout (plus the
     * control thread's tick, with room for a loaded machine). */
    ZC_CHECK_EQ (n_consumers (p), 0);
    ZC_CHECK (worst >= (uint64_t) timeout);
    ZC_CHECK (worst < (uint64_t) timeout + 1 * SEC);
    WAIT_FOR (pool_free (p) == 8, 5000);
  }
  /* Alive all along. */
  ZC_CHECK_EQ (waitpid (paused, NULL, WNOHANG), 0);
  kill (paused, SIGKILL);
  zc_test_wait (paused, 10);
  zc_producer_free (p);
  close (report);
  leave_nothing_behind ();
}

static void
test_paused_consumer_stays_in_drop (void)
{
  paused_consumer (ZC_POLICY_DROP);
}

static void
test_paused_consumer_stalling_block_is_evicted (void)
{
  paused_consumer (ZC_POLICY_BLOCK);
}

static void
test_stalled_consumer_evicted_drop (void)
{
  stalled_consumer_evicted (ZC_POLICY_DROP);
}

static void
test_stalled_consumer_evicted_block (void)
{
  stalled_consumer_evicted (ZC_POLICY_BLOCK);
}

static void
test_everything_killed_leaves_nothing (void)
{
  pid_t producer, kids[3];
  int rp, shm = count_shm ();

  private_runtime_dir ();
  for (int i = 0; i < 3; i++)
    kids[i] = spawn ("follow", "doomed", 0, NULL);
  producer = spawn ("produce", "doomed", 3, &rp);
  ZC_CHECK_EQ (read_report (rp, 20000), 3);
  ZC_CHECK_EQ (count_entries (sock_dir), 1);
  kill (producer, SIGKILL);
  for (int i = 0; i < 3; i++)
    kill (kids[i], SIGKILL);
  zc_test_wait (producer, 10);
  for (int i = 0; i < 3; i++)
    zc_test_wait (kids[i], 10);
  /* memfds have no name to leave behind; the socket file is removed by
   * the producer's janitor once the producer is gone. */
  WAIT_FOR (count_entries (sock_dir) == 0, 5000);
  ZC_CHECK_EQ (count_shm (), shm);
  close (rp);
  leave_nothing_behind ();
}

static void
test_hung_producer_a_consumer_takes_duty_and_reclaims (void)
{
  pid_t producer, watcher, victim;
  int rp, rw, rv;

  private_runtime_dir ();
  watcher = spawn ("duty", "hung", 0, &rw);
  victim = spawn ("hold", "hung", 3, &rv);
  producer = spawn ("produce", "hung", 2, &rp);
  ZC_CHECK_EQ (read_report (rp, 20000), 2);
  ZC_CHECK_EQ (read_report (rv, 20000), 3);     /* victim holds 3 blocks */
  /* The producer hangs: nobody answers the victim's death but the ring. */
  ZC_CHECK_EQ (kill (producer, SIGSTOP), 0);
  ZC_CHECK_EQ (kill (victim, SIGKILL), 0);
  zc_test_wait (victim, 10);
  /* The watcher reports once it holds the duty and has reclaimed: the
   * pool's free count it then sees has the victim's blocks back. */
  ZC_CHECK (read_report (rw, 20000) >= 8 - 1);  /* producer may hold one */
  kill (producer, SIGKILL);
  zc_test_wait (producer, 10);
  kill (watcher, SIGKILL);
  zc_test_wait (watcher, 10);
  close (rp);
  close (rw);
  close (rv);
  leave_nothing_behind ();
}

/* zc_consumer_keepalive() from another thread while the consumer
 * receives across a generation change (the one place it switches the
 * generation keepalive reads): every frame arrives, in order, and the
 * keepalive always answers a quarter of the heartbeat timeout.  Run under
 * ThreadSanitizer in the threads suite. */
typedef struct
{
  zc_consumer_t *c;
  _Atomic bool stop;
  _Atomic uint64_t calls;
  uint64_t bad;
} keepalive_thread;

static void *
keepalive_loop (void *data)
{
  keepalive_thread *k = data;

  while (!atomic_load (&k->stop)) {
    if (zc_consumer_keepalive (k->c) != 2 * SEC / 4)
      k->bad++;
    atomic_fetch_add (&k->calls, 1);
  }
  return NULL;
}

static void
test_keepalive_beside_receive_and_generation_change (void)
{
  keepalive_thread k = { 0 };
  zc_producer_t *p;
  zc_event_t ev;
  pthread_t thread;
  uint64_t next = 0;

  private_runtime_dir ();
  p = make_producer ("alive", ZC_POLICY_BLOCK, 4096, 8, 2 * SEC);
  k.c = local_consumer ("alive");
  ZC_CHECK (pthread_create (&thread, NULL, keepalive_loop, &k) == 0);
  /* The thread is running before the frames (and the switch) start. */
  WAIT_FOR (atomic_load (&k.calls) > 0, 10000);
  for (uint64_t n = 0; n < 200; n++) {
    if (n == 100)
      ZC_CHECK_OK (zc_producer_resize (p, 8192, 8));
    ZC_CHECK_EQ (publish (p, n, n < 100 ? 4096 : 8192, 10 * SEC), 1);
    do
      ZC_CHECK (zc_consumer_receive (k.c, &ev, 10 * SEC) > 0);
    while (ev.type != ZC_EVENT_FRAME);
    ZC_CHECK_EQ (ev.frame.desc.pts, next++);
    ZC_CHECK_OK (zc_consumer_release (k.c, &ev.frame));
  }
  atomic_store (&k.stop, true);
  pthread_join (thread, NULL);
  ZC_CHECK_EQ (k.bad, 0);
  zc_consumer_free (k.c);
  zc_producer_free (p);
  leave_nothing_behind ();
}

static const zc_test_case tests[] = {
  ZC_TEST (test_consumer_sigkill_mid_stream_block),
  ZC_TEST (test_consumer_sigkill_mid_stream_drop),
  ZC_TEST (test_producer_sigkill_seen_at_once_then_new_producer),
  ZC_TEST (test_stalled_consumer_evicted_drop),
  ZC_TEST (test_stalled_consumer_evicted_block),
  ZC_TEST (test_paused_consumer_stays_in_drop),
  ZC_TEST (test_paused_consumer_stalling_block_is_evicted),
  ZC_TEST (test_everything_killed_leaves_nothing),
  ZC_TEST (test_hung_producer_a_consumer_takes_duty_and_reclaims),
  ZC_TEST (test_keepalive_beside_receive_and_generation_change),
};

int
main (int argc, char **argv)
{
  if (argc == 6 && strcmp (argv[1], "--peer") == 0)
    return peer_main (argv[2], argv[3], strtoull (argv[4], NULL, 10),
        atoi (argv[5]));
  return zc_test_main (argc, argv, tests, ZC_N_TESTS (tests));
}

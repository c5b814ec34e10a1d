/* Channel endpoints across real processes: one producer, consumers that
 * come early, late, die, stall, follow a new producer and a new format.
 *
 * Consumers are this binary re-executed with a role (see peer_main), so
 * each is a real, separate process that maps the segment itself.  Every
 * frame carries frame-pattern.h's checkable bytes.  Each test gets its own
 * XDG_RUNTIME_DIR, so the socket directory can be checked empty at the end.
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include <zc/zc.h>

#include "zc-test.h"
#include "../examples/frame-pattern.h"

#define MS 1000000ll
#define SEC 1000000000ll

static char runtime_dir[64];
static char sock_dir[128];

/* A private runtime dir, so the socket directory is ours to inspect. */
static void
private_runtime_dir (void)
{
  snprintf (runtime_dir, sizeof (runtime_dir), "/tmp/zc-endpoints-XXXXXX");
  ZC_CHECK (mkdtemp (runtime_dir) != NULL);
  setenv ("XDG_RUNTIME_DIR", runtime_dir, 1);
  snprintf (sock_dir, sizeof (sock_dir), "%s/zerocopy", runtime_dir);
}

static int
count_entries (const char *dir)
{
  DIR *d = opendir (dir);
  struct dirent *e;
  int n = 0;

  if (d == NULL)
    return 0;
  while ((e = readdir (d)) != NULL)
    if (strcmp (e->d_name, ".") && strcmp (e->d_name, "..")
        && !zc_test_foreign_shm (e->d_name))
      n++;
  closedir (d);
  return n;
}

static int
count_shm (void)
{
  return count_entries ("/dev/shm");
}

/* Polls @cond every millisecond until it holds or @timeout_ms passes. */
#define WAIT_FOR(cond, timeout_ms) do { \
    uint64_t _end = zc_now_ns () + (uint64_t) (timeout_ms) * MS; \
    while (!(cond)) { \
      if (zc_now_ns () > _end) \
        ZC_FAIL ("timed out waiting for %s", #cond); \
      usleep (1000); \
    } } while (0)

/* Every test ends here: the socket directory must be empty (a killed
 * producer's janitor may take a moment), then it and the runtime dir go. */
static void
leave_nothing_behind (void)
{
  WAIT_FOR (count_entries (sock_dir) == 0, 5000);
  ZC_CHECK (rmdir (sock_dir) == 0 || errno == ENOENT);
  ZC_CHECK (rmdir (runtime_dir) == 0);
}

/* Starts this binary as a peer: --peer ROLE NAME ARG FD, FD the write end
 * of a pipe whose read end we return in @result. */
static pid_t
spawn (const char *role, const char *name, uint64_t arg, int *result)
{
  int p[2];
  pid_t pid;

  ZC_CHECK (pipe (p) == 0);
  pid = fork ();
  ZC_CHECK (pid >= 0);
  if (pid == 0) {
    char fd[16], a[32];

    /* A failing test must not leave peers behind. */
    prctl (PR_SET_PDEATHSIG, SIGKILL);
    close (p[0]);
    snprintf (fd, sizeof (fd), "%d", p[1]);
    snprintf (a, sizeof (a), "%llu", (unsigned long long) arg);
    execl (zc_test_self (), zc_test_self (), "--peer", role, name, a, fd,
        (char *) NULL);
    _exit (127);
  }
  close (p[1]);
  if (result)
    *result = p[0];
  else
    close (p[0]);
  return pid;
}

/* Reads one 8-byte report from a peer, within @timeout_ms. */
static uint64_t
read_report (int fd, int timeout_ms)
{
  struct pollfd pfd = { fd, POLLIN, 0 };
  uint64_t v;

  ZC_CHECK (poll (&pfd, 1, timeout_ms) == 1);
  ZC_CHECK_EQ (read (fd, &v, sizeof (v)), sizeof (v));
  return v;
}

static void
expect_exit_ok (pid_t pid, int timeout_s)
{
  int status = zc_test_wait (pid, timeout_s);

  ZC_CHECK (status != -1);
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    ZC_FAIL ("peer %d ended with status 0x%x", (int) pid, status);
}

static zc_producer_t *
make_producer (const char *name, zc_policy_t policy, uint64_t size,
    uint32_t blocks, uint64_t heartbeat_ns)
{
  zc_producer_config_t cfg;
  zc_producer_t *p;

  zc_producer_config_init (&cfg);
  cfg.name = name;
  cfg.policy = policy;
  cfg.block_size = size;
  cfg.n_blocks = blocks;
  if (heartbeat_ns)
    cfg.heartbeat_timeout_ns = heartbeat_ns;
  ZC_CHECK_OK (zc_producer_new (&cfg, &p));
  return p;
}

/* A consumer in this process, attached (receive attaches; the producer's
 * control thread answers meanwhile). */
static zc_consumer_t *
local_consumer (const char *name)
{
  zc_consumer_config_t cfg;
  zc_consumer_t *c;
  zc_event_t ev;

  zc_consumer_config_init (&cfg);
  cfg.name = name;
  ZC_CHECK_OK (zc_consumer_new (&cfg, &c));
  ZC_CHECK_EQ (zc_consumer_receive (c, &ev, 20 * SEC), ZC_EVENT_CONNECTED);
  return c;
}

/* Publishes frame number @n of @size bytes. */
static int
publish (zc_producer_t * p, uint64_t n, uint64_t size, int64_t timeout)
{
  zc_frame_t f;
  int r = zc_producer_acquire (p, &f, timeout);

  if (r < 0)
    return r;
  frame_pattern_fill (f.data, size, n);
  f.desc.size = size;
  f.desc.pts = n;
  return zc_producer_publish (p, &f, timeout);
}

static unsigned
pool_free (zc_producer_t * p)
{
  zc_channel_stats_t st;

  zc_producer_get_stats (p, &st);
  return st.pool.n_free;
}

static unsigned
n_consumers (zc_producer_t * p)
{
  zc_channel_stats_t st;

  zc_producer_get_stats (p, &st);
  return st.n_consumers;
}

/* ---- tests ---- */

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

/* ---- peers ---- */

static void
report (int fd, uint64_t v)
{
  if (write (fd, &v, sizeof (v)) != sizeof (v))
    _exit (3);
}

static zc_consumer_t *
peer_consumer (const char *name, uint32_t max_held)
{
  zc_consumer_config_t cfg;
  zc_consumer_t *c;

  zc_consumer_config_init (&cfg);
  cfg.name = name;
  cfg.max_held = max_held;
  if (zc_consumer_new (&cfg, &c) < 0)
    _exit (4);
  return c;
}

#define PEER_CHECK(cond) do { if (!(cond)) { \
      fprintf (stderr, "# peer %s: %s:%d: %s\n", role, __FILE__, __LINE__, \
          #cond); _exit (1); } } while (0)

static int
peer_main (const char *role, const char *name, uint64_t arg, int fd)
{
  zc_consumer_t *c;
  zc_event_t ev;
  uint64_t n, count = 0, expected = 0;
  int r;

  if (strcmp (role, "produce") == 0) {
    zc_producer_t *p = make_producer (name, ZC_POLICY_DROP, 4096, 8, 0);

    PEER_CHECK (zc_producer_wait_consumers (p, (unsigned) arg, 20 * SEC) ==
        (int) arg);
    for (n = 0;; n++) {
      publish (p, n, 4096, SEC);
      if (n == 50)
        report (fd, arg);
      usleep (1000);
    }
  }

  if (strcmp (role, "keepalive") == 0) {
    /* Takes @arg frames and keeps them, then only shows life, as a paused
     * pipeline does: its limit is @arg + 2, so two more frames queue. */
    c = peer_consumer (name, (uint32_t) arg + 2);
    for (n = 0; n < arg;) {
      r = zc_consumer_receive (c, &ev, 20 * SEC);
      PEER_CHECK (r > 0);
      if (ev.type == ZC_EVENT_FRAME)
        n++;
    }
    report (fd, arg);
    for (;;)
      usleep ((useconds_t) (zc_consumer_keepalive (c) / 1000));
  }

  /* Holders may queue 8 more than they hold: the test's producer must
   * not block on them before it learns they hold what they should. */
  c = peer_consumer (name, strcmp (role, "hold") == 0 ? (uint32_t) arg + 8 : 0);
  if (strcmp (role, "hold") == 0) {
    /* Takes @arg frames and never releases them; then shows no life. */
    for (n = 0; n < arg;) {
      r = zc_consumer_receive (c, &ev, 20 * SEC);
      PEER_CHECK (r > 0);
      if (ev.type == ZC_EVENT_FRAME)
        n++;
    }
    report (fd, arg);
    for (;;)
      pause ();
  }


  if (strcmp (role, "crc") == 0) {
    /* Asks for a check of frame 0, then of frame 1 once it sees frame 1
     * damaged; reports both answers. */
    for (n = 0; n < 2;) {
      uint64_t num;

      r = zc_consumer_receive (c, &ev, 30 * SEC);
      PEER_CHECK (r > 0);
      if (ev.type != ZC_EVENT_FRAME)
        continue;
      if (n == 1) {
        uint64_t end = zc_now_ns () + 10 * SEC;
        while (frame_pattern_check (ev.frame.data, ev.frame.desc.size, &num)
            && zc_now_ns () < end)
          usleep (100);
      }
      report (fd, (uint64_t) (int64_t) zc_consumer_verify (c, &ev.frame,
              10 * SEC));
      zc_consumer_release (c, &ev.frame);
      n++;
    }
    for (;;) {
      r = zc_consumer_receive (c, &ev, 30 * SEC);
      PEER_CHECK (r > 0);
      if (ev.type == ZC_EVENT_DISCONNECTED)
        break;
    }
    zc_consumer_free (c);
    return 0;
  }

  if (strcmp (role, "duty") == 0) {
    /* Receives until it holds the ring's duty and the duty holders have
     * reclaimed someone; reports the pool's free blocks then. */
    zc_channel_stats_t st;
    uint64_t end = zc_now_ns () + 60 * SEC;

    while (zc_now_ns () < end) {
      r = zc_consumer_receive (c, &ev, 100 * MS);
      if (r == ZC_EVENT_FRAME)
        zc_consumer_release (c, &ev.frame);
      if (zc_consumer_get_stats (c, &st) == 0
          && st.duty_slot == zc_consumer_slot (c) && st.ring_reclaims > 0) {
        report (fd, st.pool.n_free);
        for (;;)
          pause ();
      }
    }
    return 1;
  }

  if (strcmp (role, "follow") == 0) {
    /* Reports 1 at the first frame, the time it saw the producer go, and
     * exits at the end-of-stream of a later producer. */
    bool reported = false, second = false;

    for (;;) {
      r = zc_consumer_receive (c, &ev, 30 * SEC);
      PEER_CHECK (r > 0);
      if (ev.type == ZC_EVENT_FRAME) {
        PEER_CHECK (frame_pattern_check (ev.frame.data, ev.frame.desc.size,
                &n));
        zc_consumer_release (c, &ev.frame);
        if (!reported) {
          report (fd, 1);
          reported = true;
        }
      } else if (ev.type == ZC_EVENT_DISCONNECTED) {
        report (fd, zc_now_ns ());
        PEER_CHECK (ev.code == -ECONNRESET);
        second = true;
      } else if (ev.type == ZC_EVENT_EOS) {
        PEER_CHECK (second);
        break;
      }
    }
    zc_consumer_free (c);
    return 0;
  }

  /* scale: asks for @arg blocks at its first frame, then as verify. */
  /* verify, lossy, latejoin, resize: every frame checked, in order, to EOS. */
  bool connected = false, switched = false;
  uint64_t size = 0;
  zc_frame_t old = { 0 };
  unsigned sticky = 0;

  for (;;) {
    r = zc_consumer_receive (c, &ev, 30 * SEC);
    PEER_CHECK (r > 0);
    if (ev.type == ZC_EVENT_CONNECTED) {
      connected = true;
      if (strcmp (role, "latejoin") == 0)
        PEER_CHECK (ev.size == 5 && memcmp (ev.data, "fmt-A", 5) == 0);
      if (strcmp (role, "resize") == 0)
        size = strtoull ((const char *) ev.data + 5, NULL, 10);
    } else if (ev.type == ZC_EVENT_STICKY) {
      PEER_CHECK (strcmp (role, "latejoin") == 0 && count == 0);
      PEER_CHECK (ev.sticky_id == ++sticky);
      PEER_CHECK (sticky != 1 || memcmp (ev.data, "stream-start", 12) == 0);
      PEER_CHECK (sticky != 2 || memcmp (ev.data, "segment", 7) == 0);
    } else if (ev.type == ZC_EVENT_FORMAT) {
      PEER_CHECK (strcmp (role, "resize") == 0);
      size = strtoull ((const char *) ev.data + 5, NULL, 10);
      switched = true;
    } else if (ev.type == ZC_EVENT_FRAME) {
      PEER_CHECK (connected);
      PEER_CHECK (frame_pattern_check (ev.frame.data, ev.frame.desc.size, &n));
      if (count == 0 && strcmp (role, "scale") == 0)
        PEER_CHECK (zc_consumer_request_blocks (c, (uint32_t) arg) == 0);
      if (count == 0 && strcmp (role, "latejoin") == 0) {
        PEER_CHECK (sticky == 2);
        expected = n;           /* joined mid-stream */
      }
      if (strcmp (role, "lossy") == 0)
        PEER_CHECK (n >= expected);     /* in order, gaps allowed */
      else
        PEER_CHECK (n == expected);     /* lossless, in order */
      expected = n + 1;
      count++;
      if (strcmp (role, "resize") == 0) {
        PEER_CHECK (ev.frame.desc.size == size);
        if (n == 49) {
          old = ev.frame;       /* held across the generation switch */
          continue;
        }
        if (n == 50) {
          PEER_CHECK (switched);
          PEER_CHECK (frame_pattern_check (old.data, old.desc.size, &n));
          PEER_CHECK (n == 49);
          PEER_CHECK (zc_consumer_release (c, &old) == 0);
        }
      }
      zc_consumer_release (c, &ev.frame);
    } else if (ev.type == ZC_EVENT_EOS) {
      break;
    } else {
      PEER_CHECK (!"unexpected event");
    }
  }
  PEER_CHECK (arg == 0 || strcmp (role, "scale") == 0 || count == arg);
  /* After EOS the producer leaves cleanly: a goodbye, not a crash. */
  r = zc_consumer_receive (c, &ev, 30 * SEC);
  PEER_CHECK (r == ZC_EVENT_DISCONNECTED);
  PEER_CHECK (ev.code == 0);
  zc_consumer_free (c);
  return 0;
}

static const zc_test_case tests[] = {
  ZC_TEST (test_eight_consumers_get_every_byte),
  ZC_TEST (test_consumer_sigkill_mid_stream_block),
  ZC_TEST (test_consumer_sigkill_mid_stream_drop),
  ZC_TEST (test_producer_sigkill_seen_at_once_then_new_producer),
  ZC_TEST (test_flush_takes_back_unread_frames),
  ZC_TEST (test_stalled_consumer_evicted_drop),
  ZC_TEST (test_stalled_consumer_evicted_block),
  ZC_TEST (test_paused_consumer_stays_in_drop),
  ZC_TEST (test_paused_consumer_stalling_block_is_evicted),
  ZC_TEST (test_consumer_started_before_producer),
  ZC_TEST (test_late_join_gets_format_and_sticky_first),
  ZC_TEST (test_format_change_starts_new_generation),
  ZC_TEST (test_everything_killed_leaves_nothing),
  ZC_TEST (test_crc_verify_over_the_ring_and_breaker),
  ZC_TEST (test_hung_producer_a_consumer_takes_duty_and_reclaims),
  ZC_TEST (test_scale_request_grows_the_pool),
  ZC_TEST (test_publish_keep_holds_the_block_until_released),
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

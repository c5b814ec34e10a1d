/* Multi-process tests of the core library: real, separately executed
 * processes share one region.  The test process is the writer; readers are
 * this binary re-executed with "--reader", talking the pool demo protocol
 * (examples/pool-demo.h) over an inherited socket: segment descriptors,
 * then one message per block published to them. */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <zc/zc.h>

#include "zc-test.h"
#include "../examples/frame-pattern.h"
#include "pool-wire.h"

#define SECOND INT64_C (1000000000)
#define N_BLOCKS 8

typedef struct
{
  pid_t pid;
  int sock;
  unsigned slot;
} reader;

/* Number of entries in /dev/shm: must not change, whatever crashes. */
static int
dev_shm_entries (void)
{
  DIR *d = opendir ("/dev/shm");
  struct dirent *e;
  int n = 0;
  if (!d)
    return 0;
  while ((e = readdir (d)) != NULL)
    if (!zc_test_foreign_shm (e->d_name))
      n++;
  closedir (d);
  return n;
}

static zc_region_t *
make_region (uint64_t block_size)
{
  zc_region_config_t config = {.n_slots = 8,
    .pool = {.block_size = block_size,.n_blocks = N_BLOCKS}
  };
  zc_region_t *region;
  ZC_CHECK_OK (zc_region_create ("test-multiprocess", &config, &region));
  return region;
}

/* Executes this binary again as "ROLE SOCKFD [MODE ARG]", connected to us
 * by a socket it inherits.  Returns its pid; *sock is our end. */
static pid_t
spawn_peer (const char *role, const char *mode, uint64_t arg, int *sock)
{
  int sv[2];
  ZC_CHECK_OK (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
  pid_t pid = fork ();
  ZC_CHECK (pid >= 0);
  if (pid == 0) {
    char fd[16], a[32];
    fcntl (sv[1], F_SETFD, 0);
    snprintf (fd, sizeof (fd), "%d", sv[1]);
    snprintf (a, sizeof (a), "%llu", (unsigned long long) arg);
    execl (zc_test_self (), zc_test_self (), role, fd, mode, a, (char *) NULL);
    _exit (127);
  }
  close (sv[1]);
  *sock = sv[0];
  return pid;
}

/* A region of 4 KiB blocks and the writer's (our) participant slot. */
static zc_region_t *
make_writer (unsigned *slot)
{
  zc_region_t *region = make_region (4096);
  ZC_CHECK_OK (zc_heartbeat_allocate (zc_region_heartbeat (region), slot));
  return region;
}

/* Starts a reader process in @mode with @arg and hands it the segment. */
static reader
spawn_reader (zc_region_t * region, const char *mode, uint64_t arg)
{
  reader r;
  r.pid = spawn_peer ("--reader", mode, arg, &r.sock);

  int meta_fd, data_fd;
  ZC_CHECK_OK (zc_segment_reader_fds (zc_region_segment (region), &meta_fd,
          &data_fd));
  ZC_CHECK_OK (zc_segment_send_fds (r.sock, meta_fd, data_fd));
  close (meta_fd);
  close (data_fd);
  struct pool_demo_hello hello;
  ZC_CHECK_EQ (recv (r.sock, &hello, sizeof (hello), MSG_WAITALL),
      sizeof (hello));
  r.slot = hello.slot;
  return r;
}

/* Writes frame @n into a new block and publishes it to @readers. */
static void
publish_frame (zc_pool_t * pool, unsigned slot, uint64_t n, reader * readers,
    int n_readers, uint64_t size)
{
  zc_guard_t guard = ZC_GUARD_INIT;
  void *data;
  uint64_t mask = 0;
  for (int i = 0; i < n_readers; i++)
    mask |= UINT64_C (1) << readers[i].slot;
  ZC_CHECK_OK (zc_guard_acquire (pool, slot, 10 * SECOND, &guard));
  ZC_CHECK_OK (zc_guard_map_write (&guard, &data, NULL));
  frame_pattern_fill (data, size, n);
  ZC_CHECK_OK (zc_guard_publish (&guard, size, zc_now_ns (), mask, NULL));
  struct pool_demo_frame msg = {.index = zc_guard_index (&guard),.frame = n };
  for (int i = 0; i < n_readers; i++)
    ZC_CHECK_EQ (send (readers[i].sock, &msg, sizeof (msg), MSG_NOSIGNAL),
        sizeof (msg));
  ZC_CHECK_OK (zc_guard_release (&guard));
}

static void
end_stream (reader * r)
{
  struct pool_demo_frame end = {.flags = POOL_DEMO_END };
  ZC_CHECK_EQ (send (r->sock, &end, sizeof (end), MSG_NOSIGNAL), sizeof (end));
}

static void
expect_exit_ok (reader * r)
{
  int status = zc_test_wait (r->pid, 120);
  ZC_CHECK (status != -1);
  ZC_CHECK (WIFEXITED (status));
  ZC_CHECK_EQ (WEXITSTATUS (status), 0);
  close (r->sock);
}

static void
wait_for_byte (int sock)
{
  struct pollfd p = {.fd = sock,.events = POLLIN };
  char c;
  ZC_CHECK_EQ (poll (&p, 1, 30000), 1);
  ZC_CHECK_EQ (recv (sock, &c, 1, 0), 1);
}

/* Publishes every block of the pool to holding reader @r and returns once
 * it says it holds them all. */
static void
give_every_block (zc_pool_t * pool, unsigned slot, reader * r)
{
  for (uint64_t n = 0; n < N_BLOCKS; n++)
    publish_frame (pool, slot, n, r, 1, 4096);
  wait_for_byte (r->sock);
}

static void
test_writer_and_four_readers_exchange_100000_verified_blocks (void)
{
  const uint64_t n_frames = 100000, size = 1000;
  int shm = dev_shm_entries ();
  zc_region_t *region = make_region (size);
  zc_pool_t *pool = zc_region_pool (region);
  unsigned slot;
  ZC_CHECK_OK (zc_heartbeat_allocate (zc_region_heartbeat (region), &slot));
  reader readers[4];
  for (int i = 0; i < 4; i++)
    readers[i] = spawn_reader (region, "verify", n_frames);

  for (uint64_t n = 0; n < n_frames; n++)
    publish_frame (pool, slot, n, readers, 4, size);
  for (int i = 0; i < 4; i++) {
    end_stream (&readers[i]);
    expect_exit_ok (&readers[i]);   /* it checked every byte of every frame */
  }

  zc_pool_stats_t st;
  zc_pool_get_stats (pool, &st);
  ZC_CHECK_EQ (st.n_free, N_BLOCKS);
  ZC_CHECK_EQ (st.sequence, n_frames);
  zc_region_close (region);
  ZC_CHECK_EQ (dev_shm_entries (), shm);
}

static void
test_reader_killed_holding_blocks_is_reclaimed_and_writer_goes_on (void)
{
  int shm = dev_shm_entries ();
  unsigned slot;
  zc_region_t *region = make_writer (&slot);
  zc_pool_t *pool = zc_region_pool (region);

  reader holder = spawn_reader (region, "hold", N_BLOCKS);
  give_every_block (pool, slot, &holder);
  zc_pool_stats_t st;
  zc_pool_get_stats (pool, &st);
  ZC_CHECK_EQ (st.n_free, 0);

  kill (holder.pid, SIGKILL);
  ZC_CHECK (zc_test_wait (holder.pid, 30) != -1);
  close (holder.sock);
  uint64_t reclaimed = 0;
  ZC_CHECK_EQ (zc_region_reclaim (region, 0, &reclaimed), 1);
  ZC_CHECK_EQ (reclaimed, UINT64_C (1) << holder.slot);
  zc_pool_get_stats (pool, &st);
  ZC_CHECK_EQ (st.n_free, N_BLOCKS);

  /* The writer goes on with a new reader, in the slot the dead one had. */
  reader next = spawn_reader (region, "verify", 1000);
  ZC_CHECK_EQ (next.slot, holder.slot);
  for (uint64_t n = 0; n < 1000; n++)
    publish_frame (pool, slot, n, &next, 1, 4096);
  end_stream (&next);
  expect_exit_ok (&next);
  zc_pool_get_stats (pool, &st);
  ZC_CHECK_EQ (st.n_free, N_BLOCKS);
  zc_region_close (region);
  ZC_CHECK_EQ (dev_shm_entries (), shm);
}

static void
test_writer_blocked_on_full_pool_wakes_when_reader_releases (void)
{
  unsigned slot;
  zc_region_t *region = make_writer (&slot);
  zc_pool_t *pool = zc_region_pool (region);

  /* This reader holds every block, waits until it sees the writer asleep
   * on the pool's futex, then releases one. */
  reader r = spawn_reader (region, "hold-then-release", N_BLOCKS);
  give_every_block (pool, slot, &r);

  zc_guard_t guard = ZC_GUARD_INIT;
  ZC_CHECK_EQ (zc_guard_acquire (pool, slot, 0, &guard), -EAGAIN);
  ZC_CHECK_OK (zc_guard_acquire (pool, slot, 30 * SECOND, &guard));
  ZC_CHECK_OK (zc_guard_release (&guard));
  end_stream (&r);
  expect_exit_ok (&r);
  zc_region_close (region);
}

static void
test_nothing_left_in_dev_shm_when_the_creator_is_killed (void)
{
  int shm = dev_shm_entries ();
  int sock;
  pid_t pid = spawn_peer ("--creator", "-", 0, &sock);
  int meta_fd, data_fd;
  ZC_CHECK_OK (zc_segment_recv_fds (sock, 30000, &meta_fd, &data_fd));
  kill (pid, SIGKILL);
  ZC_CHECK (zc_test_wait (pid, 30) != -1);

  /* The memory outlives its dead creator for as long as we hold it. */
  zc_region_t *region;
  ZC_CHECK_OK (zc_region_open (meta_fd, data_fd, &region));
  ZC_CHECK_EQ (zc_region_reclaim (region, 0, NULL), 1);
  zc_pool_stats_t st;
  zc_pool_get_stats (zc_region_pool (region), &st);
  ZC_CHECK_EQ (st.n_free, N_BLOCKS);
  zc_region_close (region);
  close (meta_fd);
  close (data_fd);
  close (sock);
  ZC_CHECK_EQ (dev_shm_entries (), shm);
}

/* Peer: creates a region, takes a block, sends the segment, waits to die. */
static int
creator_main (int sock)
{
  unsigned slot;
  zc_region_t *region = make_writer (&slot);
  zc_guard_t guard = ZC_GUARD_INIT;
  ZC_CHECK_OK (zc_guard_acquire (zc_region_pool (region), slot, 0, &guard));
  int meta_fd, data_fd;
  ZC_CHECK_OK (zc_segment_writer_fds (zc_region_segment (region), &meta_fd,
          &data_fd));
  ZC_CHECK_OK (zc_segment_send_fds (sock, meta_fd, data_fd));
  for (;;)
    pause ();
}

/* Peer: a reader.  verify: check every frame until the end, N expected.
 * hold: keep N blocks, say so, wait to be killed.  hold-then-release: keep
 * N, say so, release one once the writer sleeps, then verify the rest. */
static int
reader_main (int sock, const char *mode, uint64_t arg)
{
  int meta_fd, data_fd;
  zc_region_t *region;
  ZC_CHECK_OK (zc_segment_recv_fds (sock, 30000, &meta_fd, &data_fd));
  ZC_CHECK_OK (zc_region_open (meta_fd, data_fd, &region));
  close (meta_fd);
  close (data_fd);
  zc_pool_t *pool = zc_region_pool (region);
  unsigned slot;
  ZC_CHECK_OK (zc_heartbeat_allocate (zc_region_heartbeat (region), &slot));
  struct pool_demo_hello hello = {.slot = slot };
  ZC_CHECK_EQ (send (sock, &hello, sizeof (hello), 0), sizeof (hello));

  bool hold = strcmp (mode, "verify") != 0;
  zc_guard_t held[N_BLOCKS];
  uint64_t frames = 0;
  struct pool_demo_frame msg;
  while (recv (sock, &msg, sizeof (msg), MSG_WAITALL) == sizeof (msg)
      && !(msg.flags & POOL_DEMO_END)) {
    zc_guard_t guard = ZC_GUARD_INIT;
    const void *data;
    uint64_t size, n;
    ZC_CHECK_OK (zc_guard_open (pool, slot, msg.index, &guard));
    ZC_CHECK_OK (zc_guard_map_read (&guard, &data, &size));
    ZC_CHECK (frame_pattern_check (data, size, &n));
    ZC_CHECK_EQ (n, msg.frame);
    ZC_CHECK_EQ (n, frames);
    if (hold && frames < arg) {
      held[frames++] = guard;
      if (frames == arg) {
        ZC_CHECK_EQ (send (sock, "h", 1, 0), 1);
        if (strcmp (mode, "hold") == 0)
          for (;;)
            pause ();
        /* Bounded wait for the writer to fall asleep on the full pool. */
        for (int i = 0; atomic_load (&pool->header->waiters) == 0; i++) {
          ZC_CHECK (i < 30000);
          usleep (1000);
        }
        ZC_CHECK_OK (zc_guard_release (&held[0]));
        for (uint64_t k = 1; k < arg; k++)
          ZC_CHECK_OK (zc_guard_release (&held[k]));
      }
      continue;
    }
    frames++;
    ZC_CHECK_OK (zc_guard_release (&guard));
  }
  if (!hold)
    ZC_CHECK_EQ (frames, arg);
  ZC_CHECK_OK (zc_heartbeat_release (zc_region_heartbeat (region), slot));
  zc_region_close (region);
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc == 5 && strcmp (argv[1], "--reader") == 0)
    return reader_main (atoi (argv[2]), argv[3], strtoull (argv[4], NULL, 10));
  if (argc == 5 && strcmp (argv[1], "--creator") == 0)
    return creator_main (atoi (argv[2]));

  static const zc_test_case tests[] = {
    ZC_TEST (test_writer_and_four_readers_exchange_100000_verified_blocks),
    ZC_TEST (test_reader_killed_holding_blocks_is_reclaimed_and_writer_goes_on),
    ZC_TEST (test_writer_blocked_on_full_pool_wakes_when_reader_releases),
    ZC_TEST (test_nothing_left_in_dev_shm_when_the_creator_is_killed),
  };
  return zc_test_main (argc, argv, tests, ZC_N_TESTS (tests));
}

/* Tests of lib/region.c: a region built by one process and opened by real,
 * separate ones (this binary re-executed with --peer ROLE FD), corrupted
 * regions refused, memory that outlives its creator, and the reclaim of a
 * participant killed while it held blocks. */
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>

#include <zc/layout.h>
#include <zc/region.h>

#include "zc-test.h"

#define N_SLOTS 4u
#define N_BLOCKS 8u
#define BLOCK_SIZE 1000u
#define FRAME_SIZE 777u
#define IO_TIMEOUT_MS 30000

static const zc_region_config_t test_config = {
  .n_slots = N_SLOTS,
  .pool = {.block_size = BLOCK_SIZE,.n_blocks = N_BLOCKS,.flags = 0},
};

/* What a peer reports back about the pool it opened. */
struct geometry
{
  uint32_t slot;
  uint32_t n_blocks;
  uint64_t capacity;
  uint64_t stride;
};

/* ---- plumbing ---------------------------------------------------------- */

static void
send_all (int sock, const void *buf, size_t len)
{
  ZC_CHECK_EQ (send (sock, buf, len, MSG_NOSIGNAL), (ssize_t) len);
}

/* Reads exactly @len bytes within IO_TIMEOUT_MS; returns 0, or -1 if the
 * other end hung up or went silent. */
static int
recv_all (int sock, void *buf, size_t len)
{
  size_t got = 0;

  while (got < len) {
    struct pollfd pfd = { sock, POLLIN, 0 };
    ssize_t n;

    if (poll (&pfd, 1, IO_TIMEOUT_MS) <= 0)
      return -1;
    n = recv (sock, (char *) buf + got, len - got, 0);
    if (n <= 0)
      return -1;
    got += (size_t) n;
  }
  return 0;
}

/* Waits for the peer's next message; if it never comes, reports how the
 * peer ended (its exit code names the step that failed). */
static void
expect_recv (pid_t peer, int sock, void *buf, size_t len)
{
  int status;

  if (recv_all (sock, buf, len) == 0)
    return;
  kill (peer, SIGKILL);
  status = zc_test_wait (peer, 60);
  if (status != -1 && WIFEXITED (status))
    ZC_FAIL ("peer gave no answer; it exited with %d", WEXITSTATUS (status));
  ZC_FAIL ("peer gave no answer; wait status %d", status);
}

/* Starts this binary as a peer playing @role on socket @fd. */
static pid_t
spawn_peer (const char *role, int fd)
{
  pid_t pid = fork ();

  ZC_CHECK (pid >= 0);
  if (pid == 0) {
    char arg[16];

    fcntl (fd, F_SETFD, 0);
    snprintf (arg, sizeof (arg), "%d", fd);
    execl (zc_test_self (), zc_test_self (), "--peer", role, arg,
        (char *) NULL);
    _exit (127);
  }
  return pid;
}

/* Creates the region and starts a peer that received its reader fds. */
static pid_t
start_peer (zc_region_t * region, const char *role, int *sock)
{
  int sv[2], meta_fd, data_fd;
  pid_t pid;

  ZC_CHECK_OK (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
  pid = spawn_peer (role, sv[1]);
  close (sv[1]);
  ZC_CHECK_OK (zc_segment_reader_fds (zc_region_segment (region), &meta_fd,
          &data_fd));
  ZC_CHECK_OK (zc_segment_send_fds (sv[0], meta_fd, data_fd));
  close (meta_fd);
  close (data_fd);
  *sock = sv[0];
  return pid;
}

static void
expect_clean_exit (pid_t pid)
{
  int status = zc_test_wait (pid, 60);

  ZC_CHECK (status != -1);
  if (WIFSIGNALED (status))
    ZC_FAIL ("peer killed by signal %d", WTERMSIG (status));
  ZC_CHECK_EQ (WEXITSTATUS (status), 0);
}

static uint8_t
frame_byte (uint32_t frame, uint64_t i)
{
  return (uint8_t) (frame * 31u + i * 7u + 1u);
}

/* Acquires, fills and publishes one frame to @readers; keeps the
 * writer's reference in @guard. */
static uint32_t
publish_frame (zc_pool_t * pool, unsigned slot, uint32_t frame,
    uint64_t readers, zc_guard_t * guard)
{
  uint8_t *p;
  uint64_t capacity;

  ZC_CHECK_OK (zc_guard_acquire (pool, slot, 0, guard));
  ZC_CHECK_OK (zc_guard_map_write (guard, (void **) &p, &capacity));
  ZC_CHECK (capacity >= FRAME_SIZE);
  for (uint64_t i = 0; i < FRAME_SIZE; i++)
    p[i] = frame_byte (frame, i);
  ZC_CHECK_OK (zc_guard_publish (guard, FRAME_SIZE, zc_now_ns (), readers,
          NULL));
  return zc_guard_index (guard);
}

static int
frame_intact (const zc_guard_t * guard, uint32_t frame)
{
  const uint8_t *p;
  uint64_t size;

  if (zc_guard_map_read (guard, (const void **) &p, &size) < 0)
    return 0;
  if (size != FRAME_SIZE)
    return 0;
  for (uint64_t i = 0; i < size; i++)
    if (p[i] != frame_byte (frame, i))
      return 0;
  return 1;
}

static void
check_all_free (zc_region_t * region)
{
  zc_pool_stats_t stats;

  zc_pool_get_stats (zc_region_pool (region), &stats);
  ZC_CHECK_EQ (stats.n_blocks, N_BLOCKS);
  ZC_CHECK_EQ (stats.n_free, N_BLOCKS);
}

/* ---- peer roles (run in the re-executed process) ---------------------- */

/* Receives the descriptors, opens the region, takes a heartbeat slot and
 * reports the pool geometry.  Exit codes name the step that failed. */
static zc_region_t *
peer_open (int sock, unsigned *slot)
{
  zc_region_t *region;
  struct geometry g;
  zc_pool_t *pool;
  int meta_fd, data_fd;

  if (zc_segment_recv_fds (sock, IO_TIMEOUT_MS, &meta_fd, &data_fd) < 0)
    _exit (20);
  if (zc_region_open (meta_fd, data_fd, &region) < 0)
    _exit (21);
  close (meta_fd);
  close (data_fd);
  if (zc_region_is_creator (region))
    _exit (22);
  if (zc_heartbeat_allocate (zc_region_heartbeat (region), slot) < 0)
    _exit (23);
  pool = zc_region_pool (region);
  g.slot = *slot;
  g.n_blocks = pool->n_blocks;
  g.capacity = pool->capacity;
  g.stride = pool->stride;
  send_all (sock, &g, sizeof (g));
  return region;
}

/* read: opens one published block, checks it, releases it. */
static int
peer_read (int sock)
{
  zc_guard_t guard = ZC_GUARD_INIT;
  zc_region_t *region;
  uint32_t index;
  unsigned slot;
  void *w;

  region = peer_open (sock, &slot);
  if (recv_all (sock, &index, sizeof (index)) < 0)
    return 30;
  if (zc_guard_open (zc_region_pool (region), slot, index, &guard) < 0)
    return 31;
  if (!frame_intact (&guard, 1))
    return 32;
  if (zc_guard_map_write (&guard, &w, NULL) != ZC_EREADONLY)
    return 33;
  if (zc_guard_release (&guard) < 0)
    return 34;
  if (zc_heartbeat_release (zc_region_heartbeat (region), slot) < 0)
    return 35;
  zc_region_close (region);
  send_all (sock, "K", 1);
  return 0;
}

/* outlive: holds a block while the creator closes, then reads it again
 * and checks that a closed region cannot be opened anew. */
static int
peer_outlive (int sock)
{
  zc_guard_t guard = ZC_GUARD_INIT;
  const struct zc_region_header *hdr;
  zc_region_t *region, *again;
  zc_pool_stats_t stats;
  int meta_fd, data_fd;
  uint32_t index;
  unsigned slot;
  char c;

  region = peer_open (sock, &slot);
  if (recv_all (sock, &index, sizeof (index)) < 0)
    return 40;
  if (zc_guard_open (zc_region_pool (region), slot, index, &guard) < 0)
    return 41;
  /* Keep descriptors too, to try a fresh open after the creator left. */
  if (zc_segment_reader_fds (zc_region_segment (region), &meta_fd,
          &data_fd) < 0)
    return 42;
  send_all (sock, "H", 1);
  if (recv_all (sock, &c, 1) < 0 || c != 'C')
    return 43;

  /* The creator has unmapped and closed everything by now, after taking
   * the region down: READY and every component bit cleared. */
  hdr = zc_segment_meta (zc_region_segment (region));
  if (atomic_load (&hdr->construction) != 0)
    return 49;
  if (!frame_intact (&guard, 1))
    return 44;
  zc_pool_get_stats (zc_region_pool (region), &stats);
  if (stats.n_blocks != N_BLOCKS || stats.n_published != 1)
    return 45;
  if (zc_region_open (meta_fd, data_fd, &again) != ZC_ENOTREADY)
    return 46;
  close (meta_fd);
  close (data_fd);
  if (zc_guard_release (&guard) != 0)
    return 47;
  zc_pool_get_stats (zc_region_pool (region), &stats);
  if (stats.n_free != N_BLOCKS)
    return 48;
  zc_region_close (region);
  send_all (sock, "K", 1);
  return 0;
}

/* hold: opens read guards on every block it is sent, then waits to be
 * killed. */
static int
peer_hold (int sock)
{
  zc_guard_t guards[N_BLOCKS];
  zc_region_t *region;
  uint32_t n, index;
  unsigned slot;

  region = peer_open (sock, &slot);
  if (recv_all (sock, &n, sizeof (n)) < 0 || n > N_BLOCKS)
    return 50;
  for (uint32_t i = 0; i < n; i++) {
    guards[i] = (zc_guard_t) ZC_GUARD_INIT;
    if (recv_all (sock, &index, sizeof (index)) < 0)
      return 51;
    if (zc_guard_open (zc_region_pool (region), slot, index, &guards[i]) < 0)
      return 52;
  }
  send_all (sock, "H", 1);
  /* Until SIGKILL; a hang-up (the test gone) ends it too. */
  for (;;) {
    char c;
    if (recv (sock, &c, 1, 0) <= 0)
      return 53;
  }
}

static int
peer_main (int argc, char **argv)
{
  int sock;

  if (argc < 4)
    return 2;
  sock = atoi (argv[3]);
  if (strcmp (argv[2], "read") == 0)
    return peer_read (sock);
  if (strcmp (argv[2], "outlive") == 0)
    return peer_outlive (sock);
  if (strcmp (argv[2], "hold") == 0)
    return peer_hold (sock);
  return 3;
}

/* ---- tests ------------------------------------------------------------- */

static void
test_create_builds_a_ready_region (void)
{
  zc_region_t *region;
  zc_segment_t *seg;
  const struct zc_region_header *hdr;

  ZC_CHECK_OK (zc_region_create ("test", &test_config, &region));
  ZC_CHECK (zc_region_is_creator (region));
  seg = zc_region_segment (region);
  hdr = zc_segment_meta (seg);
  ZC_CHECK_OK (zc_layout_validate (hdr, zc_segment_meta_size (seg),
          zc_segment_data_size (seg)));
  ZC_CHECK_EQ (hdr->creator_pid, getpid ());
  ZC_CHECK (hdr->creator_start_time != 0);
  ZC_CHECK_EQ (zc_layout_find (hdr, ZC_COMPONENT_HEARTBEAT, 0), 0);
  ZC_CHECK_EQ (zc_layout_find (hdr, ZC_COMPONENT_POOL, 0), 1);
  ZC_CHECK_EQ (zc_region_heartbeat (region)->n_slots, N_SLOTS);
  check_all_free (region);
  zc_region_close (region);
}

static void
test_bad_config_is_refused (void)
{
  zc_region_config_t config = test_config;
  zc_region_t *region = NULL;

  config.n_slots = 0;
  ZC_CHECK_EQ (zc_region_create ("test", &config, &region), -EINVAL);
  config.n_slots = ZC_HEARTBEAT_MAX_SLOTS + 1;
  ZC_CHECK_EQ (zc_region_create ("test", &config, &region), -EINVAL);
  config = test_config;
  config.pool.n_blocks = 0;
  ZC_CHECK_EQ (zc_region_create ("test", &config, &region), -EINVAL);
  config = test_config;
  config.pool.block_size = 0;
  ZC_CHECK_EQ (zc_region_create ("test", &config, &region), -EINVAL);
  config = test_config;
  config.pool.block_size = UINT64_C (1) << 29;  /* 8 x 512 MiB */
  ZC_CHECK_EQ (zc_region_create ("test", &config, &region), -EFBIG);
  ZC_CHECK_EQ (zc_region_create ("test", NULL, &region), -EINVAL);
  ZC_CHECK_EQ (zc_region_create ("test", &test_config, NULL), -EINVAL);
  ZC_CHECK (region == NULL);
  ZC_CHECK_EQ (zc_region_open (-1, -1, &region), -EINVAL);
  ZC_CHECK_EQ (zc_region_reclaim (NULL, 0, NULL), -EINVAL);
  zc_region_close (NULL);
}

static void
test_peer_process_opens_and_reads_a_published_block (void)
{
  zc_guard_t guard = ZC_GUARD_INIT;
  zc_region_t *region;
  zc_pool_t *pool;
  struct geometry g;
  uint32_t index;
  unsigned writer;
  int sock;
  pid_t pid;
  char c;

  ZC_CHECK_OK (zc_region_create ("test", &test_config, &region));
  pool = zc_region_pool (region);
  ZC_CHECK_OK (zc_heartbeat_allocate (zc_region_heartbeat (region), &writer));
  pid = start_peer (region, "read", &sock);

  expect_recv (pid, sock, &g, sizeof (g));
  ZC_CHECK (g.slot < N_SLOTS && g.slot != writer);
  ZC_CHECK_EQ (g.n_blocks, pool->n_blocks);
  ZC_CHECK_EQ (g.capacity, pool->capacity);
  ZC_CHECK_EQ (g.stride, pool->stride);

  index = publish_frame (pool, writer, 1, UINT64_C (1) << g.slot, &guard);
  send_all (sock, &index, sizeof (index));
  expect_recv (pid, sock, &c, 1);
  ZC_CHECK_EQ (c, 'K');
  expect_clean_exit (pid);

  /* The reader's reference is gone: ours is the last one. */
  ZC_CHECK_EQ (zc_heartbeat_check (zc_region_heartbeat (region), g.slot, 0),
      ZC_PEER_FREE);
  ZC_CHECK_OK (zc_guard_release (&guard));
  check_all_free (region);
  close (sock);
  zc_region_close (region);
}

/* Opens the region's writer fds in this process after @corrupt ran on
 * the metadata; returns what zc_region_open() said. */
static int
open_corrupted (void (*corrupt) (uint8_t * meta, zc_region_t * region))
{
  zc_region_t *region, *peer = NULL;
  int meta_fd, data_fd, ret;

  ZC_CHECK_OK (zc_region_create ("test", &test_config, &region));
  corrupt (zc_segment_meta (zc_region_segment (region)), region);
  ZC_CHECK_OK (zc_segment_reader_fds (zc_region_segment (region), &meta_fd,
          &data_fd));
  ret = zc_region_open (meta_fd, data_fd, &peer);
  ZC_CHECK (ret < 0 || peer != NULL);
  if (ret == 0)
    zc_region_close (peer);
  close (meta_fd);
  close (data_fd);
  zc_region_close (region);
  return ret;
}

static struct zc_pool_header *
pool_header_of (uint8_t * meta)
{
  const struct zc_region_header *hdr = (const void *) meta;
  int i = zc_layout_find (meta, ZC_COMPONENT_POOL, 0);

  ZC_CHECK (i >= 0);
  return (struct zc_pool_header *) (meta + hdr->components[i].meta_offset);
}

static void
corrupt_pool_magic (uint8_t * meta, zc_region_t * region)
{
  (void) region;
  pool_header_of (meta)->magic ^= 0x100;
}

static void
corrupt_pool_block_count (uint8_t * meta, zc_region_t * region)
{
  (void) region;
  pool_header_of (meta)->n_blocks = N_BLOCKS * 1000;
}

static void
corrupt_pool_stride (uint8_t * meta, zc_region_t * region)
{
  (void) region;
  pool_header_of (meta)->block_stride = UINT64_MAX - 511;
}

static void
corrupt_pool_capacity (uint8_t * meta, zc_region_t * region)
{
  (void) region;
  pool_header_of (meta)->block_capacity = UINT64_C (1) << 40;
}

static void
corrupt_heartbeat_magic (uint8_t * meta, zc_region_t * region)
{
  struct zc_region_header *hdr = (void *) meta;

  (void) region;
  meta[hdr->components[0].meta_offset] ^= 0xff;
}

static void
corrupt_table_pool_size (uint8_t * meta, zc_region_t * region)
{
  struct zc_region_header *hdr = (void *) meta;

  (void) region;
  hdr->components[1].meta_size += 1u << 20;
}

static void
test_corrupted_pool_header_is_refused (void)
{
  ZC_CHECK_EQ (open_corrupted (corrupt_pool_magic), ZC_EBADMAGIC);
  ZC_CHECK_EQ (open_corrupted (corrupt_pool_block_count), ZC_EBOUNDS);
  ZC_CHECK_EQ (open_corrupted (corrupt_pool_stride), ZC_EBOUNDS);
  ZC_CHECK_EQ (open_corrupted (corrupt_pool_capacity), ZC_EBOUNDS);
}

static void
test_corrupted_component_is_refused (void)
{
  ZC_CHECK_EQ (open_corrupted (corrupt_heartbeat_magic), ZC_EBADMAGIC);
  ZC_CHECK_EQ (open_corrupted (corrupt_table_pool_size), ZC_EBOUNDS);
}

static void
test_peer_reads_safely_after_creator_closes (void)
{
  zc_guard_t guard = ZC_GUARD_INIT;
  zc_region_t *region;
  struct geometry g;
  uint32_t index;
  unsigned writer;
  int sock;
  pid_t pid;
  char c;

  ZC_CHECK_OK (zc_region_create ("test", &test_config, &region));
  ZC_CHECK_OK (zc_heartbeat_allocate (zc_region_heartbeat (region), &writer));
  pid = start_peer (region, "outlive", &sock);
  expect_recv (pid, sock, &g, sizeof (g));
  index = publish_frame (zc_region_pool (region), writer, 1,
      UINT64_C (1) << g.slot, &guard);
  /* Hand our reference over, then leave: only the peer holds it now. */
  ZC_CHECK_OK (zc_guard_release (&guard));
  send_all (sock, &index, sizeof (index));
  expect_recv (pid, sock, &c, 1);
  ZC_CHECK_EQ (c, 'H');

  zc_heartbeat_release (zc_region_heartbeat (region), writer);
  zc_region_close (region);
  send_all (sock, "C", 1);
  expect_recv (pid, sock, &c, 1);
  ZC_CHECK_EQ (c, 'K');
  expect_clean_exit (pid);
  close (sock);
}

static void
test_reader_killed_holding_blocks_is_reclaimed (void)
{
  zc_guard_t guard = ZC_GUARD_INIT;
  zc_region_t *region;
  zc_pool_stats_t stats;
  struct geometry g;
  uint64_t reclaimed = 0;
  uint32_t n = 3, index;
  unsigned writer;
  int sock, status;
  pid_t pid;
  char c;

  ZC_CHECK_OK (zc_region_create ("test", &test_config, &region));
  ZC_CHECK_OK (zc_heartbeat_allocate (zc_region_heartbeat (region), &writer));
  pid = start_peer (region, "hold", &sock);
  expect_recv (pid, sock, &g, sizeof (g));

  send_all (sock, &n, sizeof (n));
  for (uint32_t i = 0; i < n; i++) {
    index = publish_frame (zc_region_pool (region), writer, i,
        UINT64_C (1) << g.slot, &guard);
    ZC_CHECK_OK (zc_guard_release (&guard));
    send_all (sock, &index, sizeof (index));
  }
  expect_recv (pid, sock, &c, 1);
  ZC_CHECK_EQ (c, 'H');

  ZC_CHECK_OK (kill (pid, SIGKILL));
  status = zc_test_wait (pid, 60);
  ZC_CHECK (status != -1);
  ZC_CHECK (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);

  /* Its blocks are stuck until someone reclaims. */
  zc_pool_get_stats (zc_region_pool (region), &stats);
  ZC_CHECK_EQ (stats.n_free, N_BLOCKS - n);
  ZC_CHECK_EQ (zc_heartbeat_check (zc_region_heartbeat (region), g.slot, 0),
      ZC_PEER_DEAD);

  ZC_CHECK_EQ (zc_region_reclaim (region, 0, &reclaimed), 1);
  ZC_CHECK_EQ (reclaimed, UINT64_C (1) << g.slot);
  check_all_free (region);
  ZC_CHECK_EQ (zc_heartbeat_check (zc_region_heartbeat (region), g.slot, 0),
      ZC_PEER_FREE);
  /* We, alive, were left alone; a second pass finds nothing. */
  ZC_CHECK_EQ (zc_heartbeat_check (zc_region_heartbeat (region), writer, 0),
      ZC_PEER_ALIVE);
  ZC_CHECK_EQ (zc_region_reclaim (region, 0, &reclaimed), 0);
  ZC_CHECK_EQ (reclaimed, 0);
  close (sock);
  zc_region_close (region);
}

static const zc_test_case tests[] = {
  ZC_TEST (test_create_builds_a_ready_region),
  ZC_TEST (test_bad_config_is_refused),
  ZC_TEST (test_peer_process_opens_and_reads_a_published_block),
  ZC_TEST (test_corrupted_pool_header_is_refused),
  ZC_TEST (test_corrupted_component_is_refused),
  ZC_TEST (test_peer_reads_safely_after_creator_closes),
  ZC_TEST (test_reader_killed_holding_blocks_is_reclaimed),
};

int
main (int argc, char **argv)
{
  if (argc > 3 && strcmp (argv[1], "--peer") == 0)
    return peer_main (argc, argv);
  return zc_test_main (argc, argv, tests, ZC_N_TESTS (tests));
}

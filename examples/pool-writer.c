/* pool-writer: publish frames from a libzc pool to readers in other processes.
 *
 *   pool-writer SOCKET [READERS [FRAMES [BYTES]]]
 *
 * Creates a region (a sealed memfd segment with a heartbeat block and a
 * pool of 8 blocks), listens on the Unix socket SOCKET, hands each of
 * READERS readers the segment's descriptors (data read-only), then writes
 * FRAMES frames of BYTES bytes straight into pool blocks and publishes each
 * to every reader.  A block returns to the pool when the writer and every
 * reader have released it.  Ctrl-C or a dead reader never leaves anything
 * behind: the segment has no name, and the socket is removed on exit.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zc/zc.h>

#include "frame-pattern.h"
#include "pool-demo.h"

#define MAX_READERS 16

/* Accepts one reader: sends it the segment, learns its slot. */
static int
accept_reader (int lfd, zc_region_t * region, int *sock, unsigned *slot)
{
  struct pollfd p = { .fd = lfd, .events = POLLIN };
  if (poll (&p, 1, 30000) != 1)
    return -ETIMEDOUT;
  *sock = accept4 (lfd, NULL, NULL, SOCK_CLOEXEC);
  if (*sock < 0)
    return -errno;

  int meta_fd, data_fd, r;
  r = zc_segment_reader_fds (zc_region_segment (region), &meta_fd, &data_fd);
  if (r < 0)
    goto fail;
  r = zc_segment_send_fds (*sock, meta_fd, data_fd);
  close (meta_fd);
  if (data_fd >= 0)
    close (data_fd);
  if (r < 0)
    goto fail;

  struct pool_demo_hello hello;
  p.fd = *sock;
  if (poll (&p, 1, 10000) != 1
      || recv (*sock, &hello, sizeof (hello), MSG_WAITALL) != sizeof (hello)) {
    r = -EPROTO;
    goto fail;
  }
  if (hello.slot >= ZC_MAX_PARTICIPANTS) {
    r = -EPROTO;
    goto fail;
  }
  *slot = hello.slot;
  return 0;

fail:
  close (*sock);
  *sock = -1;
  return r;
}

int
main (int argc, char **argv)
{
  if (argc < 2) {
    fprintf (stderr, "usage: %s SOCKET [READERS [FRAMES [BYTES]]]\n", argv[0]);
    return 2;
  }
  const char *path = argv[1];
  unsigned n_readers = argc > 2 ? (unsigned) atoi (argv[2]) : 2;
  uint64_t n_frames = argc > 3 ? strtoull (argv[3], NULL, 10) : 1000;
  uint64_t size = argc > 4 ? strtoull (argv[4], NULL, 10) : 640 * 480 * 2;
  if (n_readers < 1 || n_readers > MAX_READERS || size < 8) {
    fprintf (stderr, "pool-writer: 1 to %d readers, frames of at least 8 bytes\n",
        MAX_READERS);
    return 2;
  }
  signal (SIGPIPE, SIG_IGN);

  zc_region_config_t config = {
    .n_slots = n_readers + 1,
    .pool = {.block_size = size, .n_blocks = 8, .flags = 0},
  };
  zc_region_t *region;
  int r = zc_region_create ("pool-writer", &config, &region);
  if (r < 0) {
    fprintf (stderr, "pool-writer: cannot create the pool: %s\n",
        zc_strerror (r));
    return 1;
  }
  zc_pool_t *pool = zc_region_pool (region);
  unsigned my_slot;
  r = zc_heartbeat_allocate (zc_region_heartbeat (region), &my_slot);
  if (r < 0) {
    zc_region_close (region);
    return 1;
  }

  /* A socket file left by a crashed writer is replaced; a live one's is
   * not. */
  int lfd;
  r = zc_channel_listen (path, &lfd);
  if (r < 0) {
    fprintf (stderr, "pool-writer: cannot listen on %s: %s\n", path,
        zc_strerror (r));
    zc_region_close (region);
    return 1;
  }
  printf ("pool-writer: %u blocks of %" PRIu64 " bytes, waiting for %u "
      "readers on %s\n", config.pool.n_blocks, size, n_readers, path);
  fflush (stdout);

  int socks[MAX_READERS];
  for (unsigned i = 0; i < MAX_READERS; i++)
    socks[i] = -1;
  uint64_t readers = 0;
  for (unsigned i = 0; i < n_readers; i++) {
    unsigned slot = 0;
    r = accept_reader (lfd, region, &socks[i], &slot);
    if (r < 0) {
      fprintf (stderr, "pool-writer: reader %u did not connect: %s\n", i,
          zc_strerror (r));
      goto out;
    }
    readers |= UINT64_C (1) << slot;
  }

  uint64_t t0 = zc_now_ns ();
  for (uint64_t n = 0; n < n_frames; n++) {
    zc_guard_t guard = ZC_GUARD_INIT;
    void *data;
    r = zc_guard_acquire (pool, my_slot, 5 * INT64_C (1000000000), &guard);
    if (r < 0) {
      fprintf (stderr, "pool-writer: no free block: %s\n", zc_strerror (r));
      goto out;
    }
    zc_guard_map_write (&guard, &data, NULL);
    frame_pattern_fill (data, size, n);
    r = zc_guard_publish (&guard, size, zc_now_ns (), readers, NULL);
    if (r < 0) {
      fprintf (stderr, "pool-writer: publish: %s\n", zc_strerror (r));
      goto out;
    }
    struct pool_demo_frame msg = {.index = zc_guard_index (&guard),.frame = n };
    for (unsigned i = 0; i < n_readers; i++)
      if (send (socks[i], &msg, sizeof (msg), MSG_NOSIGNAL) != sizeof (msg)) {
        fprintf (stderr, "pool-writer: reader %u is gone\n", i);
        r = -EPIPE;
      }
    zc_guard_release (&guard);
    if (r < 0) {
      /* Its references are reclaimed; the other readers' stay. */
      zc_region_reclaim (region, 0, NULL);
      goto out;
    }
  }
  uint64_t t1 = zc_now_ns ();

  struct pool_demo_frame end = {.flags = POOL_DEMO_END };
  for (unsigned i = 0; i < n_readers; i++)
    send (socks[i], &end, sizeof (end), MSG_NOSIGNAL);
  /* Readers hang up when they have released everything. */
  for (unsigned i = 0; i < n_readers; i++) {
    struct pollfd p = { .fd = socks[i], .events = POLLIN };
    char c;
    if (poll (&p, 1, 10000) == 1)
      (void) !recv (socks[i], &c, 1, 0);
  }

  zc_pool_stats_t st;
  zc_pool_get_stats (pool, &st);
  double secs = (double) (t1 - t0) / 1e9;
  printf ("pool-writer: published %" PRIu64 " frames to %u readers in %.3f s "
      "(%.0f frames/s); pool after: %u of %u blocks free\n", n_frames,
      n_readers, secs, secs > 0 ? (double) n_frames / secs : 0.0, st.n_free,
      st.n_blocks);
  r = st.n_free == st.n_blocks ? 0 : ZC_ESTATE;

out:
  for (unsigned i = 0; i < n_readers; i++)
    if (socks[i] >= 0)
      close (socks[i]);
  close (lfd);
  unlink (path);
  zc_region_close (region);
  return r < 0 ? 1 : 0;
}

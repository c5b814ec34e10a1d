/* pool-reader: read the frames a pool-writer publishes, in another process.
 *
 *   pool-reader SOCKET
 *
 * Connects to a pool-writer (waiting up to 10 s for it to appear),
 * receives the segment's descriptors, maps the frame data read-only, takes
 * a heartbeat slot and reads every published block through a read guard,
 * checking every byte of every frame.  Prints what it verified.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <zc/zc.h>

#include "frame-pattern.h"
#include "pool-demo.h"

/* The writer may not be there yet: retry for 10 s. */
static int
connect_to (const char *path)
{
  for (int tries = 0; tries < 1000; tries++) {
    int fd, r = zc_channel_connect (path, &fd);
    if (r == 0)
      return fd;
    if (r != -ENOENT && r != -ECONNREFUSED)
      return r;
    struct timespec nap = { 0, 10 * 1000 * 1000 };
    nanosleep (&nap, NULL);
  }
  return -ETIMEDOUT;
}

int
main (int argc, char **argv)
{
  if (argc != 2) {
    fprintf (stderr, "usage: %s SOCKET\n", argv[0]);
    return 2;
  }
  int sock = connect_to (argv[1]);
  if (sock < 0) {
    fprintf (stderr, "pool-reader: no writer at %s: %s\n", argv[1],
        zc_strerror (sock));
    return 1;
  }
  int meta_fd, data_fd;
  int r = zc_segment_recv_fds (sock, 10000, &meta_fd, &data_fd);
  if (r < 0) {
    fprintf (stderr, "pool-reader: no segment: %s\n", zc_strerror (r));
    return 1;
  }
  zc_region_t *region;
  r = zc_region_open (meta_fd, data_fd, &region);
  close (meta_fd);
  if (data_fd >= 0)
    close (data_fd);
  if (r < 0) {
    fprintf (stderr, "pool-reader: bad segment: %s\n", zc_strerror (r));
    return 1;
  }
  zc_pool_t *pool = zc_region_pool (region);
  unsigned slot;
  r = zc_heartbeat_allocate (zc_region_heartbeat (region), &slot);
  struct pool_demo_hello hello = {.slot = slot };
  if (r < 0 || send (sock, &hello, sizeof (hello), MSG_NOSIGNAL) != sizeof (hello)) {
    fprintf (stderr, "pool-reader: handshake failed\n");
    zc_region_close (region);
    return 1;
  }

  uint64_t frames = 0, bad = 0, next = 0, bytes = 0;
  struct pool_demo_frame msg;
  while (recv (sock, &msg, sizeof (msg), MSG_WAITALL) == sizeof (msg)
      && !(msg.flags & POOL_DEMO_END)) {
    zc_guard_t guard = ZC_GUARD_INIT;
    const void *data;
    uint64_t size, n;
    r = zc_guard_open (pool, slot, msg.index, &guard);
    if (r < 0) {
      /* The reference was made for us: drop it even if the block is bad. */
      zc_pool_release (pool, slot, msg.index);
      bad++;
      continue;
    }
    zc_guard_map_read (&guard, &data, &size);
    if (!frame_pattern_check (data, size, &n) || n != msg.frame || n != next)
      bad++;
    next = msg.frame + 1;
    frames++;
    bytes += size;
    zc_guard_release (&guard);
    zc_heartbeat_touch (zc_region_heartbeat (region), slot);
  }

  zc_heartbeat_release (zc_region_heartbeat (region), slot);
  printf ("pool-reader %d: %" PRIu64 " frames (%" PRIu64 " MiB) read in "
      "place from shared memory, every byte verified: %" PRIu64 " bad\n",
      (int) getpid (), frames, bytes >> 20, bad);
  zc_region_close (region);
  close (sock);
  return bad || frames == 0 ? 1 : 0;
}

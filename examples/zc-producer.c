/* zc-producer: publish frames on a channel with libzc alone.
 *
 *   zc-producer [OPTIONS] CHANNEL
 *     -n FRAMES     frames to publish (default 1000; 0 = until killed)
 *     -s BYTES      frame size (default 614400, a 640x480 YUY2 frame)
 *     -r FPS        pace at this rate (default: as fast as consumers allow)
 *     -c COUNT      wait for COUNT consumers before the first frame
 *     -d            drop policy (default block: lossless)
 *     -b BLOCKS     pool size (default 16)
 *
 * The kind of program a robotics or inference application would write: the
 * frame is filled in place in shared memory (here with a pattern each
 * consumer can check byte by byte), then published to every consumer with
 * no copy.  The format string is what a consumer learns before its first
 * frame.  Ends with end-of-stream and the channel's statistics.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zc/zc.h>

#include "frame-pattern.h"

static void
usage (void)
{
  fprintf (stderr, "usage: zc-producer [-n FRAMES] [-s BYTES] [-r FPS] "
      "[-c CONSUMERS] [-d] [-b BLOCKS] CHANNEL\n");
  exit (2);
}

int
main (int argc, char **argv)
{
  zc_producer_config_t cfg;
  zc_producer_t *producer;
  zc_channel_stats_t stats;
  uint64_t frames = 1000, size = 614400, fps = 0, waits = 0;
  unsigned consumers = 0;
  char format[64];
  int opt, ret;

  setvbuf (stdout, NULL, _IOLBF, 0);     /* lines in order with the others */
  zc_producer_config_init (&cfg);
  while ((opt = getopt (argc, argv, "n:s:r:c:db:")) != -1) {
    switch (opt) {
      case 'n': frames = strtoull (optarg, NULL, 0); break;
      case 's': size = strtoull (optarg, NULL, 0); break;
      case 'r': fps = strtoull (optarg, NULL, 0); break;
      case 'c': consumers = (unsigned) strtoul (optarg, NULL, 0); break;
      case 'd': cfg.policy = ZC_POLICY_DROP; break;
      case 'b': cfg.n_blocks = (uint32_t) strtoul (optarg, NULL, 0); break;
      default: usage ();
    }
  }
  if (optind != argc - 1 || size < 8)
    usage ();
  cfg.name = argv[optind];
  cfg.block_size = size;

  ret = zc_producer_new (&cfg, &producer);
  if (ret < 0) {
    fprintf (stderr, "zc-producer: %s: %s\n", cfg.name, zc_strerror (ret));
    return 1;
  }
  snprintf (format, sizeof (format), "pattern,size=%" PRIu64, size);
  zc_producer_set_format (producer, format, strlen (format));
  if (consumers > 0
      && zc_producer_wait_consumers (producer, consumers, 30000000000ll) < 0) {
    fprintf (stderr, "zc-producer: no %u consumers within 30 s\n", consumers);
    zc_producer_free (producer);
    return 1;
  }

  uint64_t start = zc_now_ns ();
  for (uint64_t n = 0; frames == 0 || n < frames; n++) {
    zc_frame_t frame;

    if (fps) {
      uint64_t due = start + n * 1000000000ull / fps;
      struct timespec ts = { (time_t) (due / 1000000000ull),
        (long) (due % 1000000000ull) };
      clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    }
    /* Waits for a block while consumers hold them all. */
    ret = zc_producer_acquire (producer, &frame, 5000000000ll);
    if (ret < 0) {
      fprintf (stderr, "zc-producer: acquire: %s\n", zc_strerror (ret));
      waits++;
      continue;
    }
    frame_pattern_fill (frame.data, size, n);
    frame.desc.size = size;
    frame.desc.pts = zc_now_ns ();      /* consumers measure latency with it */
    ret = zc_producer_publish (producer, &frame, 5000000000ll);
    if (ret < 0)
      fprintf (stderr, "zc-producer: publish: %s\n", zc_strerror (ret));
  }
  zc_producer_send_eos (producer);
  zc_producer_get_stats (producer, &stats);
  printf ("zc-producer: %" PRIu64 " frames of %" PRIu64 " bytes on '%s'\n",
      frames, size, cfg.name);
  for (unsigned i = 0; i < stats.n_consumers; i++)
    printf ("  consumer slot %u (pid %d): %" PRIu64 " frames, %" PRIu64
        " dropped\n", stats.consumers[i].slot, stats.consumers[i].pid,
        stats.consumers[i].frames, stats.consumers[i].drops +
        stats.consumers[i].revoked);
  /* Let consumers read the end-of-stream before the goodbye. */
  for (int i = 0; i < 200; i++) {
    zc_producer_get_stats (producer, &stats);
    bool drained = true;
    for (unsigned k = 0; k < stats.n_consumers; k++)
      drained &= stats.consumers[k].queued == 0;
    if (drained)
      break;
    usleep (10000);
  }
  zc_producer_free (producer);
  return waits ? 1 : 0;
}

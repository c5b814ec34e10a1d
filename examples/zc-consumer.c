/* zc-consumer: receive a channel's frames with libzc alone.
 *
 *   zc-consumer [OPTIONS] CHANNEL
 *     -f            follow: when the producer leaves, wait for the next one
 *     -q            quiet: only the summary
 *     -m HELD       blocks this consumer may hold + have queued
 *
 * Starts before or after the producer, it does not matter.  Each frame is
 * read in place (read-only shared memory, no copy), checked byte by byte
 * and released.  Prints the format it got, the frames it verified and the
 * one-way latency (publish -> receive, CLOCK_MONOTONIC).  Exit status 0
 * when every frame checked out and the stream ended with end-of-stream.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <zc/zc.h>

#include "frame-pattern.h"

static int
compare_u64 (const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
  return x < y ? -1 : x > y;
}

int
main (int argc, char **argv)
{
  zc_consumer_config_t cfg;
  zc_consumer_t *consumer;
  bool follow = false, quiet = false, eos = false;
  uint64_t good = 0, bad = 0, n_lat = 0, cap_lat = 1 << 20;
  uint64_t *lat = malloc (cap_lat * sizeof (uint64_t));
  int opt, ret;

  setvbuf (stdout, NULL, _IOLBF, 0);     /* lines in order with the others */
  zc_consumer_config_init (&cfg);
  while ((opt = getopt (argc, argv, "fqm:")) != -1) {
    switch (opt) {
      case 'f': follow = true; break;
      case 'q': quiet = true; break;
      case 'm': cfg.max_held = (uint32_t) strtoul (optarg, NULL, 0); break;
      default:
        fprintf (stderr, "usage: zc-consumer [-f] [-q] [-m HELD] CHANNEL\n");
        return 2;
    }
  }
  if (optind != argc - 1 || lat == NULL)
    return 2;
  cfg.name = argv[optind];
  ret = zc_consumer_new (&cfg, &consumer);
  if (ret < 0) {
    fprintf (stderr, "zc-consumer: %s: %s\n", cfg.name, zc_strerror (ret));
    return 1;
  }

  for (;;) {
    zc_event_t ev;
    uint64_t n;

    /* 60 s without anything at all: give up rather than hang. */
    ret = zc_consumer_receive (consumer, &ev, 60000000000ll);
    if (ret < 0) {
      fprintf (stderr, "zc-consumer: %s%s%s\n", zc_strerror (ret),
          zc_consumer_last_error (consumer)[0] ? ": " : "",
          zc_consumer_last_error (consumer));
      break;
    }
    if (ev.type == ZC_EVENT_FRAME) {
      uint64_t now = zc_now_ns ();

      if (ev.frame.desc.pts != ZC_TIME_NONE && now >= ev.frame.desc.pts
          && n_lat < cap_lat)
        lat[n_lat++] = now - ev.frame.desc.pts;
      if (frame_pattern_check (ev.frame.data, ev.frame.desc.size, &n))
        good++;
      else
        bad++;
      zc_consumer_release (consumer, &ev.frame);
    } else if (ev.type == ZC_EVENT_CONNECTED || ev.type == ZC_EVENT_FORMAT) {
      if (!quiet)
        printf ("zc-consumer[%d]: %s, format '%.*s'\n", (int) getpid (),
            ev.type == ZC_EVENT_CONNECTED ? "connected" : "new format",
            (int) ev.size, (const char *) ev.data);
    } else if (ev.type == ZC_EVENT_EOS) {
      eos = true;
      if (!follow)
        break;
    } else if (ev.type == ZC_EVENT_DISCONNECTED) {
      if (!quiet)
        printf ("zc-consumer[%d]: producer gone (%s)\n", (int) getpid (),
            ev.code == 0 ? "clean exit" : zc_strerror (ev.code));
      if (!follow)
        break;
    }
  }

  qsort (lat, n_lat, sizeof (uint64_t), compare_u64);
  printf ("zc-consumer[%d]: %" PRIu64 " frames verified, %" PRIu64
      " bad%s", (int) getpid (), good, bad, eos ? ", end-of-stream" : "");
  if (n_lat)
    printf ("; latency median %.1f us, p99 %.1f us", lat[n_lat / 2] / 1e3,
        lat[n_lat * 99 / 100] / 1e3);
  printf ("\n");
  free (lat);
  zc_consumer_free (consumer);
  return bad == 0 && eos ? 0 : 1;
}

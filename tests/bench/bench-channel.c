/* bench-channel: a channel end to end, through the public API, between
 * two processes.
 *
 *   - latency: the producer stamps zc_now_ns() into desc.pts right before
 *     zc_producer_publish(); the consumer takes zc_now_ns() - pts right
 *     after zc_consumer_receive() hands it the frame.  Frames are paced
 *     (1000/s, 30/s), so the consumer is asleep in receive when each one
 *     is published: the realistic case, a full wake-up per frame;
 *   - throughput: frames published as fast as the consumer takes them,
 *     the consumer releasing each at once; timed by the consumer from its
 *     first frame to its last.  The data is neither written nor read:
 *     this is the handoff, which costs the same for 64 bytes and 1 MiB.
 *
 *   bench-channel [--quick]
 *
 * One channel per row: "bench-<pid>", 64 blocks, block policy.  The
 * consumer is a fork taken before the producer exists (a fork of a process
 * with a control thread could inherit a held lock) and attaches by name.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zc/zc.h>

#define N_BLOCKS 64
#define LATENCY_BLOCK_SIZE 4096
#define NS_PER_S UINT64_C (1000000000)
#define TIMEOUT_NS INT64_C (10000000000)

typedef struct
{
  const char *name;
  uint64_t block_size;
  uint64_t frames;
  uint64_t rate;                /* frames per second, 0: unpaced */
} bench_row;

/* What the consumer sends back through its pipe when the stream ends. */
typedef struct
{
  uint64_t frames;
  uint64_t median_ns, p99_ns, max_ns;
  uint64_t first_ns, last_ns;   /* receive times of the first and last frame */
  int error;
} bench_result;

static char channel[64];

static int
cmp_u64 (const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

  return x < y ? -1 : x > y;
}

static void
sleep_until (uint64_t due)
{
  struct timespec ts = { (time_t) (due / NS_PER_S), (long) (due % NS_PER_S) };

  while (clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
    continue;
}

/* The consumer process: receives until end-of-stream, releasing each frame
 * at once, and reports on @out.  Returns the exit status. */
static int
run_consumer (const bench_row * row, int out)
{
  bench_result r = { 0 };
  zc_consumer_config_t cfg;
  zc_consumer_t *c = NULL;
  uint64_t *lat = calloc (row->frames, sizeof (uint64_t));
  uint64_t expect = 0;
  bool have_first = false;
  int ret = lat ? 0 : -ENOMEM;

  zc_consumer_config_init (&cfg);
  cfg.name = channel;
  if (ret == 0)
    ret = zc_consumer_new (&cfg, &c);
  while (ret == 0) {
    zc_event_t ev;
    uint64_t now;

    ret = zc_consumer_receive (c, &ev, TIMEOUT_NS);
    now = zc_now_ns ();
    if (ret < 0)
      break;
    ret = 0;
    if (ev.type == ZC_EVENT_EOS)
      break;
    if (ev.type == ZC_EVENT_DISCONNECTED) {
      ret = ev.code < 0 ? ev.code : -ECONNRESET;
      break;
    }
    if (ev.type != ZC_EVENT_FRAME)
      continue;
    /* Block policy: every frame, in order.  The sequence starts wherever
     * the producer's does; only the steps are checked. */
    if (have_first && ev.frame.desc.sequence != expect)
      ret = -EPROTO;
    expect = ev.frame.desc.sequence + 1;
    if (!have_first)
      r.first_ns = now;
    have_first = true;
    r.last_ns = now;
    if (r.frames < row->frames && now >= ev.frame.desc.pts)
      lat[r.frames] = now - ev.frame.desc.pts;
    r.frames++;
    zc_consumer_release (c, &ev.frame);
  }
  if (ret == 0 && r.frames != row->frames)
    ret = -EPROTO;
  if (ret == 0) {
    qsort (lat, r.frames, sizeof (uint64_t), cmp_u64);
    r.median_ns = lat[r.frames / 2];
    r.p99_ns = lat[r.frames * 99 / 100];
    r.max_ns = lat[r.frames - 1];
  }
  r.error = ret;
  zc_consumer_free (c);
  free (lat);
  return write (out, &r, sizeof (r)) == (ssize_t) sizeof (r) && ret == 0 ?
      0 : 1;
}

/* Publishes @row->frames frames, paced or not, then end-of-stream. */
static int
run_producer (zc_producer_t * p, const bench_row * row)
{
  uint64_t start = zc_now_ns () + NS_PER_S / 100;

  for (uint64_t i = 0; i < row->frames; i++) {
    zc_frame_t frame;
    int ret;

    if (row->rate)
      sleep_until (start + i * NS_PER_S / row->rate);
    ret = zc_producer_acquire (p, &frame, TIMEOUT_NS);
    if (ret < 0)
      return ret;
    frame.desc.size = row->block_size;
    frame.desc.pts = zc_now_ns ();
    ret = zc_producer_publish (p, &frame, TIMEOUT_NS);
    if (ret != 1)
      return ret < 0 ? ret : -ENOTCONN;
  }
  return zc_producer_send_eos (p) == 1 ? 0 : -ENOTCONN;
}

static int
bench (const bench_row * row, bench_result * r)
{
  zc_producer_config_t cfg;
  zc_producer_t *p = NULL;
  int fds[2], status, ret;
  pid_t pid;

  if (pipe (fds) < 0)
    return -errno;
  pid = fork ();
  if (pid < 0) {
    ret = -errno;
    close (fds[0]);
    close (fds[1]);
    return ret;
  }
  if (pid == 0) {
    close (fds[0]);
    _exit (run_consumer (row, fds[1]));
  }
  close (fds[1]);

  zc_producer_config_init (&cfg);
  cfg.name = channel;
  cfg.block_size = row->block_size;
  cfg.n_blocks = N_BLOCKS;
  cfg.policy = ZC_POLICY_BLOCK;
  ret = zc_producer_new (&cfg, &p);
  if (ret == 0) {
    ret = zc_producer_wait_consumers (p, 1, TIMEOUT_NS);
    if (ret >= 0)
      ret = run_producer (p, row);
  }
  /* Whatever happened, the consumer ends: by end-of-stream, by the
   * goodbye of zc_producer_free(), or by the kill. */
  if (ret == 0 && read (fds[0], r, sizeof (*r)) != (ssize_t) sizeof (*r))
    ret = -EPIPE;
  zc_producer_free (p);
  if (ret < 0)
    kill (pid, SIGKILL);
  if (waitpid (pid, &status, 0) != pid)
    ret = ret < 0 ? ret : -ECHILD;
  else if (ret == 0 && (!WIFEXITED (status) || WEXITSTATUS (status) != 0))
    ret = r->error < 0 ? r->error : -ECHILD;
  close (fds[0]);
  return ret;
}

int
main (int argc, char **argv)
{
  bool quick = argc > 1 && strcmp (argv[1], "--quick") == 0;
  uint64_t k = quick ? 1 : 5;
  const bench_row rows[] = {
    {"latency, 1000 frames/s", LATENCY_BLOCK_SIZE, 1000 * k, 1000},
    {"latency, 30 frames/s", LATENCY_BLOCK_SIZE, 60 * k, 30},
    {"throughput, 64 B", 64, 100000 * k, 0},
    {"throughput, 1 MiB", 1 << 20, 100000 * k, 0},
  };
  int failed = 0;

  if (argc > 2 || (argc == 2 && !quick)) {
    fprintf (stderr, "usage: bench-channel [--quick]\n");
    return 2;
  }
  snprintf (channel, sizeof (channel), "bench-%d", (int) getpid ());
  printf ("channel '%s': %d blocks, block policy, the producer's default "
      "consumer limit;\none-way = publish -> receive\n", channel, N_BLOCKS);
  for (size_t i = 0; i < sizeof (rows) / sizeof (rows[0]); i++) {
    const bench_row *row = &rows[i];
    bench_result r = { 0 };
    int ret;

    fflush (stdout);
    ret = bench (row, &r);
    if (ret < 0) {
      printf ("%-24s failed: %s\n", row->name, zc_strerror (ret));
      failed = 1;
    } else if (row->rate) {
      printf ("%-24s median %7.2f us  p99 %7.2f us  max %8.2f us  (%"
          PRIu64 " frames of %" PRIu64 " B)\n", row->name,
          r.median_ns / 1e3, r.p99_ns / 1e3, r.max_ns / 1e3, r.frames,
          row->block_size);
    } else {
      double s = (double) (r.last_ns - r.first_ns) / 1e9;

      printf ("%-24s %9.0f frames/s  %7.1f ns/frame  (%" PRIu64
          " frames)\n", row->name, (double) (r.frames - 1) / s,
          s * 1e9 / (double) (r.frames - 1), r.frames);
    }
  }
  return failed;
}

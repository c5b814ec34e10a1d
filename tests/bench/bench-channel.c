/* bench-channel: a channel end to end, through the public API, between
 * two processes.
 *
 *   - latency ("publish->receive ..."): the producer stamps zc_now_ns()
 *     into desc.pts right before zc_producer_publish(); the consumer takes
 *     zc_now_ns() - pts right after zc_consumer_receive() hands it the
 *     frame.  Paced rows (1000/s, 30/s): the consumer is asleep in receive
 *     when each frame is published, the realistic case, a full wake-up per
 *     frame.  The unpaced row publishes as fast as the consumer takes
 *     frames (block policy): its figure includes the time a frame waits in
 *     publish for room under the consumer's limit, as a live source's
 *     frame would;
 *   - throughput ("throughput <size> B"): frames published as fast as the
 *     consumer takes them, the consumer releasing each at once; timed by
 *     the consumer from its first frame to its last.  The data is neither
 *     written nor read: this is the handoff, which should cost the same
 *     for 1 KiB audio as for 1080p (3110400 B) or 4K (12441600 B) I420.
 *
 *   bench-channel [--quick] [--json]
 *
 * --json prints, instead of the table, one JSON object per row and line:
 *   {"bench":"channel","row":R,"kind":"latency","latency_ns":[...]}
 *     every frame's publish -> receive time in nanoseconds, in order;
 *   {"bench":"channel","row":R,"kind":"throughput","frames_per_s":X}
 * A row that fails prints {"bench":"channel","row":R,"kind":K,
 * "error":"..."} and the exit status is 1.
 *
 * One channel per row: "bench-<pid>", block policy, the producer's default
 * consumer limit, 64 blocks (fewer for big blocks, see pool_blocks()).  The
 * consumer is a fork taken before the producer exists (a fork of a process
 * with a control thread could inherit a held lock) and attaches by name.
 * No row may hang: every library wait has TIMEOUT_NS, the consumer dies
 * with its parent (PR_SET_PDEATHSIG), and each process of a row runs under
 * an alarm of ROW_TIMEOUT_S.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zc/zc.h>

#include "bench-util.h"

#define N_BLOCKS 64
/* Big blocks get fewer: the consumer's limit (4 by default) bounds the
 * frames in flight anyway, and 64 4K frames would be 800 MB of tmpfs. */
#define POOL_BUDGET (UINT64_C (256) << 20)
#define MIN_BLOCKS 8
#define LATENCY_BLOCK_SIZE 4096
#define NORMAL_FACTOR 5
#define NS_PER_S UINT64_C (1000000000)
#define TIMEOUT_NS INT64_C (10000000000)
/* Far above any row's run time (the longest, 30/s, takes 10 s): only a
 * hang reaches it. */
#ifndef ROW_TIMEOUT_S
#define ROW_TIMEOUT_S 120
#endif

typedef struct
{
  const char *name;
  bool latency;                 /* a latency row, else throughput */
  uint64_t block_size;
  uint64_t frames;
  uint64_t rate;                /* frames per second, 0: unpaced */
} bench_row;

/* What the consumer sends back through its pipe when the stream ends,
 * followed by @frames latency samples (uint64_t ns, in receive order). */
typedef struct
{
  uint64_t frames;
  uint64_t first_ns, last_ns;   /* receive times of the first and last frame */
  int error;
} bench_result;

static char channel[64];
static bool json;

static uint32_t
pool_blocks (uint64_t block_size)
{
  uint64_t n = POOL_BUDGET / block_size;

  return n > N_BLOCKS ? N_BLOCKS : n < MIN_BLOCKS ? MIN_BLOCKS : (uint32_t) n;
}

static bool
write_full (int fd, const void *buf, size_t len)
{
  const char *p = buf;

  while (len > 0) {
    ssize_t w = write (fd, p, len);

    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return false;
    p += w;
    len -= (size_t) w;
  }
  return true;
}

/* Reads @len bytes, waiting at most TIMEOUT_NS for each piece: a consumer
 * that never answers cannot hold the producer. */
static int
read_full (int fd, void *buf, size_t len)
{
  char *p = buf;

  while (len > 0) {
    struct pollfd pfd = { fd, POLLIN, 0 };
    int r = poll (&pfd, 1, (int) (TIMEOUT_NS / 1000000));
    ssize_t got;

    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return -errno;
    if (r == 0)
      return -ETIMEDOUT;
    got = read (fd, p, len);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0)
      return -errno;
    if (got == 0)
      return -EPIPE;
    p += got;
    len -= (size_t) got;
  }
  return 0;
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
    /* One CLOCK_MONOTONIC for both processes: now >= pts. */
    if (r.frames < row->frames && now >= ev.frame.desc.pts)
      lat[r.frames] = now - ev.frame.desc.pts;
    r.frames++;
    zc_consumer_release (c, &ev.frame);
  }
  if (ret == 0 && r.frames != row->frames)
    ret = -EPROTO;
  r.error = ret;
  zc_consumer_free (c);
  if (!write_full (out, &r, sizeof (r)) || (ret == 0
          && !write_full (out, lat, r.frames * sizeof (uint64_t))))
    ret = -EPIPE;
  free (lat);
  return ret == 0 ? 0 : 1;
}

/* Publishes @row->frames frames, paced or not, then end-of-stream. */
static int
run_producer (zc_producer_t * p, const bench_row * row)
{
  /* The consumer gets 10 ms to settle into receive first, unpaced rows
   * too: its start-up is not the figure measured. */
  uint64_t start = zc_now_ns () + NS_PER_S / 100;

  for (uint64_t i = 0; i < row->frames; i++) {
    zc_frame_t frame;
    int ret;

    if (row->rate)
      bench_sleep_until (start + i * NS_PER_S / row->rate);
    else if (i == 0)
      bench_sleep_until (start);
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

/* Runs @row; on success @r and @lat (row->frames samples) are filled. */
static int
bench (const bench_row * row, bench_result * r, uint64_t * lat)
{
  zc_producer_config_t cfg;
  zc_producer_t *p = NULL;
  pid_t parent = getpid ();
  int fds[2], status, ret;
  pid_t pid;

  if (pipe (fds) < 0)
    return -errno;
  /* Nothing buffered may reach the child, which flushes at exit. */
  fflush (stdout);
  pid = fork ();
  if (pid < 0) {
    ret = -errno;
    close (fds[0]);
    close (fds[1]);
    return ret;
  }
  if (pid == 0) {
    close (fds[0]);
    if (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid () != parent)
      _exit (1);
    alarm (ROW_TIMEOUT_S);
    _exit (run_consumer (row, fds[1]));
  }
  close (fds[1]);

  zc_producer_config_init (&cfg);
  cfg.name = channel;
  cfg.block_size = row->block_size;
  cfg.n_blocks = pool_blocks (row->block_size);
  cfg.policy = ZC_POLICY_BLOCK;
  ret = zc_producer_new (&cfg, &p);
  if (ret == 0) {
    ret = zc_producer_wait_consumers (p, 1, TIMEOUT_NS);
    if (ret >= 0)
      ret = run_producer (p, row);
  }
  /* Whatever happened, the consumer ends: by end-of-stream, by the
   * goodbye of zc_producer_free(), or by the kill. */
  if (ret == 0)
    ret = read_full (fds[0], r, sizeof (*r));
  if (ret == 0 && r->error < 0)
    ret = r->error;
  if (ret == 0 && r->frames != row->frames)
    ret = -EPROTO;
  if (ret == 0)
    ret = read_full (fds[0], lat, row->frames * sizeof (uint64_t));
  zc_producer_free (p);
  if (ret < 0)
    kill (pid, SIGKILL);
  if (waitpid (pid, &status, 0) != pid)
    ret = ret < 0 ? ret : -ECHILD;
  else if (ret == 0 && (!WIFEXITED (status) || WEXITSTATUS (status) != 0))
    ret = -ECHILD;
  close (fds[0]);
  return ret;
}

/* Row names are plain ASCII without quotes or backslashes: printed as is
 * into JSON strings. */
static void
report (const bench_row * row, int ret, const bench_result * r, uint64_t * lat)
{
  const char *kind = row->latency ? "latency" : "throughput";

  if (ret < 0) {
    if (json)
      printf ("{\"bench\":\"channel\",\"row\":\"%s\",\"kind\":\"%s\","
          "\"error\":\"%s\"}\n", row->name, kind, zc_strerror (ret));
    else
      printf ("%-28s failed: %s\n", row->name, zc_strerror (ret));
  } else if (row->latency && json) {
    printf ("{\"bench\":\"channel\",\"row\":\"%s\",\"kind\":\"latency\","
        "\"latency_ns\":[", row->name);
    for (uint64_t i = 0; i < r->frames; i++)
      printf ("%s%" PRIu64, i ? "," : "", lat[i]);
    printf ("]}\n");
  } else if (row->latency) {
    uint64_t n = r->frames;

    qsort (lat, n, sizeof (uint64_t), bench_cmp_u64);
    printf ("%-28s median %7.2f us  p99 %7.2f us  max %8.2f us  (%"
        PRIu64 " frames of %" PRIu64 " B)\n", row->name, lat[n / 2] / 1e3,
        lat[n * 99 / 100] / 1e3, lat[n - 1] / 1e3, n, row->block_size);
  } else {
    double s = (double) (r->last_ns - r->first_ns) / 1e9;
    double rate = (double) (r->frames - 1) / s;

    if (!json)
      printf ("%-28s %9.0f frames/s  %7.1f ns/frame  (%" PRIu64
          " frames, %u blocks)\n", row->name, rate, 1e9 / rate, r->frames,
          (unsigned) pool_blocks (row->block_size));
    else if (isfinite (rate))
      printf ("{\"bench\":\"channel\",\"row\":\"%s\",\"kind\":\"throughput\","
          "\"frames_per_s\":%.1f}\n", row->name, rate);
    else                        /* JSON has no infinity */
      printf ("{\"bench\":\"channel\",\"row\":\"%s\",\"kind\":\"throughput\","
          "\"frames_per_s\":null}\n", row->name);
  }
  fflush (stdout);
}

int
main (int argc, char **argv)
{
  struct sigaction sa = {.sa_handler = bench_on_alarm };
  /* Frame counts of --quick; a normal run takes NORMAL_FACTOR times as
   * many. */
  bench_row rows[] = {
    {"publish->receive 1000/s", true, LATENCY_BLOCK_SIZE, 1000, 1000},
    {"publish->receive 30/s", true, LATENCY_BLOCK_SIZE, 60, 30},
    {"publish->receive unpaced", true, LATENCY_BLOCK_SIZE, 10000, 0},
    {"throughput 1024 B", false, 1024, 100000, 0},
    {"throughput 3110400 B", false, 3110400, 100000, 0},
    {"throughput 12441600 B", false, 12441600, 100000, 0},
  };
  bool quick = false;
  int failed = 0;

  for (int i = 1; i < argc; i++) {
    if (strcmp (argv[i], "--quick") == 0)
      quick = true;
    else if (strcmp (argv[i], "--json") == 0)
      json = true;
    else {
      fprintf (stderr, "usage: bench-channel [--quick] [--json]\n");
      return 2;
    }
  }
  for (size_t i = 0; !quick && i < sizeof (rows) / sizeof (rows[0]); i++)
    rows[i].frames *= NORMAL_FACTOR;

  if (sigaction (SIGALRM, &sa, NULL) < 0) {
    perror ("bench-channel: sigaction");
    return 1;
  }
  snprintf (channel, sizeof (channel), "bench-%d", (int) getpid ());
  if (!json)
    printf ("channel '%s': block policy, the producer's default consumer "
        "limit;\none-way = publish -> receive\n", channel);
  for (size_t i = 0; i < sizeof (rows) / sizeof (rows[0]); i++) {
    const bench_row *row = &rows[i];
    bench_result r = { 0 };
    uint64_t *lat = calloc (row->frames, sizeof (uint64_t));
    int ret = lat ? 0 : -ENOMEM;

    alarm (ROW_TIMEOUT_S);
    if (ret == 0)
      ret = bench (row, &r, lat);
    alarm (0);
    report (row, ret, &r, lat);
    failed |= ret < 0;
    free (lat);
  }
  return failed;
}

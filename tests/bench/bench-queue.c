/* bench-queue: one-way latency and throughput of the descriptor queues
 * between two processes.
 *
 * Latency is measured as a ping-pong (round trip / 2) over two queues, one
 * each way, each with the receiver's eventfd as doorbell:
 *   - "sleep": the receiver sleeps in poll() as soon as its queue is empty,
 *     which in a ping-pong is every time: the worst case, a full wake-up
 *     per message;
 *   - "spin 20us": the receiver watches @head for up to 20 us first;
 *   - "eventfd": two bare eventfds, blocking reads, no queue: the floor
 *     the kernel's wake-up puts under the "sleep" figures;
 *   - "socket": the alternative design, each descriptor sent as a 256-byte
 *     SOCK_SEQPACKET message on a Unix socket pair, the receiver blocking
 *     in recv() (or in poll() then recv(), as a receiver that also watches
 *     other descriptors would).
 * Throughput: a one-way stream of descriptors, the producer waiting for
 * space when the consumer's limit (the full depth) is reached, the
 * consumer sleeping only when its queue is empty; and the same stream as
 * socket messages, the sender blocking when the socket buffer is full.
 *
 *   bench-queue [ITERATIONS]
 *
 * The second process is a fork of the first (no exec: nothing to isolate
 * in a bench); the queues live in a shared anonymous mapping.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zc/queue.h>

#define SPIN_NS 20000
#define STREAM_FACTOR 50

typedef struct
{
  struct zc_queue *q;           /* where this side receives */
  int bell;                     /* this side's doorbell */
} inbox;

static uint64_t
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * UINT64_C (1000000000) + (uint64_t) ts.tv_nsec;
}

static void
die (const char *what)
{
  fprintf (stderr, "bench-queue: %s: %s\n", what, strerror (errno));
  exit (1);
}

static void
cpu_relax (void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause ();
#endif
}

/* Pops the next descriptor, spinning up to @spin_ns on @head, then
 * sleeping on the doorbell. */
static void
receive (inbox * in, struct zc_desc *d, uint64_t spin_ns)
{
  for (;;) {
    if (zc_queue_pop (in->q, d) == 0) {
      zc_queue_note_release (in->q);
      return;
    }
    if (spin_ns > 0) {
      uint64_t end = now_ns () + spin_ns;
      bool arrived = false;

      while (!arrived && now_ns () < end) {
        arrived = atomic_load_explicit (&in->q->head, memory_order_relaxed)
            != atomic_load_explicit (&in->q->tail, memory_order_relaxed);
        cpu_relax ();
      }
      if (arrived)
        continue;
    }
    if (!zc_queue_prepare_sleep (in->q)) {
      struct pollfd pfd = { in->bell, POLLIN, 0 };

      if (poll (&pfd, 1, 10000) != 1)
        die ("poll (lost doorbell?)");
    }
    zc_queue_finish_sleep (in->q, in->bell);
  }
}

static void
queue_send (struct zc_queue *q, int bell, uint64_t seq)
{
  struct zc_desc d = {.sequence = seq };

  while (zc_queue_push (q, &d, bell) == -EAGAIN)
    if (zc_queue_wait_space (q, INT64_C (10000000000)) < 0)
      die ("wait_space");
}

static int
cmp_u64 (const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

  return x < y ? -1 : x > y;
}

static void
print_latency (const char *name, uint64_t * one_way, uint64_t n)
{
  qsort (one_way, n, sizeof (uint64_t), cmp_u64);
  printf ("%-28s median %7.2f us  p99 %7.2f us  max %8.2f us\n", name,
      one_way[n / 2] / 1e3, one_way[n * 99 / 100] / 1e3, one_way[n - 1] / 1e3);
}

static void
reap (pid_t pid)
{
  int status;

  if (waitpid (pid, &status, 0) != pid || !WIFEXITED (status)
      || WEXITSTATUS (status) != 0)
    die ("peer failed");
}

static void
print_stream (const char *name, uint64_t n, double s)
{
  printf ("%-28s %9.0f msgs/s  %7.1f ns/msg  (%" PRIu64 " msgs)\n",
      name, (double) n / s, s * 1e9 / (double) n, n);
}

/* Ping-pong through the queues: @a receives on @qa, @b on @qb. */
static void
bench_queue_ping_pong (const char *name, struct zc_queue *qa,
    struct zc_queue *qb, uint64_t n, uint64_t spin_ns, uint64_t * one_way)
{
  inbox a = { qa, eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC) };
  inbox b = { qb, eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC) };
  uint64_t warmup = n / 10;
  struct zc_desc d;
  pid_t pid;

  if (a.bell < 0 || b.bell < 0)
    die ("eventfd");
  zc_queue_reset (qa, ZC_QUEUE_DEPTH);
  zc_queue_reset (qb, ZC_QUEUE_DEPTH);
  pid = fork ();
  if (pid < 0)
    die ("fork");
  if (pid == 0) {
    for (uint64_t i = 0; i < warmup + n; i++) {
      receive (&b, &d, spin_ns);
      queue_send (a.q, a.bell, d.sequence);
    }
    _exit (0);
  }
  for (uint64_t i = 0; i < warmup + n; i++) {
    uint64_t t0 = now_ns ();

    queue_send (b.q, b.bell, i);
    receive (&a, &d, spin_ns);
    if (d.sequence != i)
      die ("out of order");
    if (i >= warmup)
      one_way[i - warmup] = (now_ns () - t0) / 2;
  }
  reap (pid);
  close (a.bell);
  close (b.bell);
  print_latency (name, one_way, n);
}

static void
bench_eventfd_ping_pong (uint64_t n, uint64_t * one_way)
{
  int to_a = eventfd (0, EFD_CLOEXEC), to_b = eventfd (0, EFD_CLOEXEC);
  uint64_t warmup = n / 10, v = 1;
  pid_t pid;

  if (to_a < 0 || to_b < 0)
    die ("eventfd");
  pid = fork ();
  if (pid < 0)
    die ("fork");
  if (pid == 0) {
    for (uint64_t i = 0; i < warmup + n; i++)
      if (read (to_b, &v, sizeof (v)) != sizeof (v)
          || write (to_a, &v, sizeof (v)) != sizeof (v))
        _exit (1);
    _exit (0);
  }
  for (uint64_t i = 0; i < warmup + n; i++) {
    uint64_t t0 = now_ns ();

    if (write (to_b, &v, sizeof (v)) != sizeof (v)
        || read (to_a, &v, sizeof (v)) != sizeof (v))
      die ("eventfd ping-pong");
    if (i >= warmup)
      one_way[i - warmup] = (now_ns () - t0) / 2;
  }
  reap (pid);
  close (to_a);
  close (to_b);
  print_latency ("eventfd ping-pong (floor)", one_way, n);
}

/* One-way stream @qa -> consumer; the consumer acknowledges the last
 * descriptor on @qb, and the clock stops there. */
static void
bench_stream (struct zc_queue *qa, struct zc_queue *qb, uint64_t n)
{
  inbox c = { qa, eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC) };
  inbox p = { qb, eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC) };
  struct zc_desc d;
  uint64_t t0;
  double s;
  pid_t pid;

  if (c.bell < 0 || p.bell < 0)
    die ("eventfd");
  zc_queue_reset (qa, ZC_QUEUE_DEPTH);
  zc_queue_reset (qb, ZC_QUEUE_DEPTH);
  pid = fork ();
  if (pid < 0)
    die ("fork");
  if (pid == 0) {
    for (uint64_t i = 0; i < n; i++) {
      receive (&c, &d, 0);
      if (d.sequence != i)
        _exit (1);
    }
    queue_send (p.q, p.bell, n);
    _exit (0);
  }
  t0 = now_ns ();
  for (uint64_t i = 0; i < n; i++)
    queue_send (c.q, c.bell, i);
  receive (&p, &d, 0);
  s = (double) (now_ns () - t0) / 1e9;
  reap (pid);
  print_stream ("queue", n, s);
  close (c.bell);
  close (p.bell);
}

/* One whole message of sizeof (struct zc_desc) bytes, blocking; with
 * @use_poll, poll() first as a receiver watching several descriptors
 * would. */
static bool
sock_recv (int fd, struct zc_desc *d, bool use_poll)
{
  if (use_poll) {
    struct pollfd pfd = { fd, POLLIN, 0 };

    if (poll (&pfd, 1, 10000) != 1)
      return false;
  }
  return recv (fd, d, sizeof (*d), 0) == (ssize_t) sizeof (*d);
}

static bool
sock_send (int fd, const struct zc_desc *d)
{
  return send (fd, d, sizeof (*d), MSG_NOSIGNAL) == (ssize_t) sizeof (*d);
}

static void
socket_pair (int sv[2])
{
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    die ("socketpair");
}

static void
bench_socket_ping_pong (const char *name, uint64_t n, bool use_poll,
    uint64_t * one_way)
{
  struct zc_desc d = { 0 };
  uint64_t warmup = n / 10;
  int sv[2];
  pid_t pid;

  socket_pair (sv);
  pid = fork ();
  if (pid < 0)
    die ("fork");
  if (pid == 0) {
    close (sv[0]);
    for (uint64_t i = 0; i < warmup + n; i++)
      if (!sock_recv (sv[1], &d, use_poll) || !sock_send (sv[1], &d))
        _exit (1);
    _exit (0);
  }
  close (sv[1]);
  for (uint64_t i = 0; i < warmup + n; i++) {
    uint64_t t0 = now_ns ();

    d.sequence = i;
    if (!sock_send (sv[0], &d) || !sock_recv (sv[0], &d, use_poll))
      die ("socket ping-pong");
    if (d.sequence != i)
      die ("out of order");
    if (i >= warmup)
      one_way[i - warmup] = (now_ns () - t0) / 2;
  }
  reap (pid);
  close (sv[0]);
  print_latency (name, one_way, n);
}

/* One-way stream of socket messages; the receiver answers the last one
 * and the clock stops there, as in bench_stream(). */
static void
bench_socket_stream (uint64_t n)
{
  struct zc_desc d = { 0 };
  uint64_t t0;
  int sv[2];
  double s;
  pid_t pid;

  socket_pair (sv);
  pid = fork ();
  if (pid < 0)
    die ("fork");
  if (pid == 0) {
    close (sv[0]);
    for (uint64_t i = 0; i < n; i++)
      if (!sock_recv (sv[1], &d, false) || d.sequence != i)
        _exit (1);
    _exit (sock_send (sv[1], &d) ? 0 : 1);
  }
  close (sv[1]);
  t0 = now_ns ();
  for (uint64_t i = 0; i < n; i++) {
    d.sequence = i;
    if (!sock_send (sv[0], &d))
      die ("socket stream");
  }
  if (!sock_recv (sv[0], &d, false))
    die ("socket stream end");
  s = (double) (now_ns () - t0) / 1e9;
  reap (pid);
  close (sv[0]);
  print_stream ("socket", n, s);
}

int
main (int argc, char **argv)
{
  uint64_t n = argc > 1 ? strtoull (argv[1], NULL, 10) : 20000;
  uint64_t size = zc_queues_footprint (2);
  zc_queues_t qs;
  uint64_t *one_way;
  void *mem;

  if (n < 10)
    n = 10;
  mem = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
      -1, 0);
  one_way = calloc (n, sizeof (uint64_t));
  if (mem == MAP_FAILED || one_way == NULL)
    die ("memory");
  if (zc_queues_construct (&qs, mem, size, 2) < 0)
    die ("zc_queues_construct");

  printf ("one-way latency, %" PRIu64 " round trips each, one-way = round "
      "trip / 2, 256-byte messages\n", n);
  bench_eventfd_ping_pong (n, one_way);
  bench_queue_ping_pong ("queue, sleep every time", zc_queues_get (&qs, 0),
      zc_queues_get (&qs, 1), n, 0, one_way);
  bench_queue_ping_pong ("queue, spin 20 us, sleep", zc_queues_get (&qs, 0),
      zc_queues_get (&qs, 1), n, SPIN_NS, one_way);
  bench_socket_ping_pong ("socket, recv", n, false, one_way);
  bench_socket_ping_pong ("socket, poll + recv", n, true, one_way);
  printf ("throughput, one-way streams\n");
  bench_stream (zc_queues_get (&qs, 0), zc_queues_get (&qs, 1),
      n * STREAM_FACTOR);
  bench_socket_stream (n * STREAM_FACTOR);
  free (one_way);
  return 0;
}

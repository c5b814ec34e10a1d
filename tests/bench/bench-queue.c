/* bench-queue: one-way latency and throughput of the descriptor queues
 * between two processes.
 *
 * Latency is measured as a ping-pong (round trip / 2) over two queues, one
 * each way, each with the receiver's eventfd as doorbell:
 *   - "queue sleep": the receiver sleeps in poll() as soon as its queue is
 *     empty, which in a ping-pong is every time: the worst case, a full
 *     wake-up per message;
 *   - "queue spin 20us": the receiver watches @head for up to 20 us first;
 *   - "eventfd ping-pong": two bare eventfds, blocking reads, no queue;
 *   - "futex ping-pong": a bare 32-bit word each way, FUTEX_WAIT and
 *     FUTEX_WAKE, the waker calling FUTEX_WAKE every time.  With the
 *     eventfd row, the floor the kernel's wake-up puts under any sleeping
 *     reader, "queue sleep" and a channel's publish -> receive included;
 *   - "socket recv", "socket poll+recv": the alternative design, each
 *     descriptor sent as a 256-byte SOCK_SEQPACKET message on a Unix socket
 *     pair, the receiver blocking in recv() (or in poll() then recv(), as a
 *     receiver that also watches other descriptors would).
 * Paced one-way latency, measured directly (writer's stamp to reader's
 * clock), the reader asleep in read() for every message:
 *   - "eventfd one-way 1000/s", "eventfd one-way 30/s": the floors under a
 *     channel's paced publish -> receive rows at the same pace;
 *   - "eventfd one-way 30/s threads": the writer a thread of the reader's
 *     process, as an in-process queue's producer is.
 * Throughput: "queue", a one-way stream of descriptors, the producer
 * waiting for space when the consumer's limit (the full depth) is reached,
 * the consumer sleeping only when its queue is empty; and "socket", the
 * same stream as socket messages, the sender blocking when the socket
 * buffer is full.
 *
 *   bench-queue [--quick] [--json] [ITERATIONS]
 *
 * ITERATIONS round trips per latency row (20000, 2000 with --quick), 50
 * times as many messages per stream.  --json prints, instead of the table,
 * one JSON object per row and line:
 *   {"bench":"queue","row":R,"kind":"latency","latency_ns":[...]}
 *     every one-way sample in nanoseconds, in the order measured;
 *   {"bench":"queue","row":R,"kind":"throughput","msgs_per_s":X}
 *   {"bench":"queue","row":R,"kind":"cpu","cpu_us":X}
 *     CPU time per wake-up of a reader that sleeps for every message:
 *     "eventfd wake-up", the other floor, under any consumer's CPU per
 *     frame when frames come slower than it takes them;
 *
 * The second process is a fork of the first (no exec: nothing to isolate
 * in a bench); the queues and futex words live in shared anonymous
 * mappings.  No row may hang: every process of a row runs under an alarm
 * of ROW_TIMEOUT_S, and a peer dies with its parent (PR_SET_PDEATHSIG).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zc/queue.h>

#include "bench-util.h"

#define SPIN_NS 20000
#define STREAM_FACTOR 50
#define N_DEFAULT 20000
#define N_QUICK 2000
/* Far above any row's run time here (a normal row takes about a second):
 * only a hang reaches it. */
#ifndef ROW_TIMEOUT_S
#define ROW_TIMEOUT_S 120
#endif
#define WAIT_TIMEOUT_S 10

typedef struct
{
  struct zc_queue *q;           /* where this side receives */
  int bell;                     /* this side's doorbell */
} inbox;

/* One word each way, on separate cache lines as two processes' mailboxes
 * would be. */
typedef struct
{
  _Alignas (64) _Atomic uint32_t to_a;
  _Alignas (64) _Atomic uint32_t to_b;
} futex_pair;

static bool json;

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

/* Forks the peer of a row.  The peer dies with the parent (a parent that
 * failed or timed out leaves nothing blocked behind) and has its own
 * alarm in case the parent waits on it forever. */
static pid_t
fork_peer (void)
{
  pid_t parent = getpid ();
  pid_t pid = fork ();

  if (pid < 0)
    die ("fork");
  if (pid == 0) {
    if (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid () != parent)
      _exit (1);
    alarm (ROW_TIMEOUT_S);
  }
  return pid;
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
    if (spin_ns > 0 && zc_queue_spin (in->q, spin_ns))
      continue;
    if (!zc_queue_prepare_sleep (in->q)) {
      struct pollfd pfd = { in->bell, POLLIN, 0 };

      if (poll (&pfd, 1, WAIT_TIMEOUT_S * 1000) != 1)
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
    if (zc_queue_wait_space (q, WAIT_TIMEOUT_S * INT64_C (1000000000)) < 0)
      die ("wait_space");
}

/* Row names are plain ASCII without quotes or backslashes: printed as is
 * into JSON strings. */
static void
print_latency (const char *name, uint64_t * one_way, uint64_t n)
{
  if (json) {
    printf ("{\"bench\":\"queue\",\"row\":\"%s\",\"kind\":\"latency\","
        "\"latency_ns\":[", name);
    for (uint64_t i = 0; i < n; i++)
      printf ("%s%" PRIu64, i ? "," : "", one_way[i]);
    printf ("]}\n");
    return;
  }
  qsort (one_way, n, sizeof (uint64_t), bench_cmp_u64);
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
  double rate = (double) n / s;

  if (json) {
    /* JSON has no infinity: a clock that did not move gives null. */
    if (isfinite (rate))
      printf ("{\"bench\":\"queue\",\"row\":\"%s\",\"kind\":\"throughput\","
          "\"msgs_per_s\":%.1f}\n", name, rate);
    else
      printf ("{\"bench\":\"queue\",\"row\":\"%s\",\"kind\":\"throughput\","
          "\"msgs_per_s\":null}\n", name);
    return;
  }
  printf ("%-20s %9.0f msgs/s  %7.1f ns/msg  (%" PRIu64 " msgs)\n",
      name, rate, s * 1e9 / (double) n, n);
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
  pid = fork_peer ();
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
  pid = fork_peer ();
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
  print_latency ("eventfd ping-pong", one_way, n);
}

/* A reader blocked in read() on an eventfd that the parent writes every
 * WAKE_PERIOD_NS (on its own clock, not in reply): the reader's CPU time
 * (getrusage of the child, all of it: the sleep, the wake-up, the read)
 * over the wake-ups it had.  The CPU floor of a sleeping consumer. */
#define WAKE_PERIOD_NS 200000u

static void
bench_wake_cpu (uint64_t n)
{
  int bell = eventfd (0, EFD_CLOEXEC);
  uint64_t next = now_ns (), wakes = 0, v = 1;
  struct rusage ru;
  int pipefd[2], status;
  pid_t pid;
  double cpu_us;

  if (bell < 0 || pipe (pipefd) < 0)
    die ("eventfd");
  pid = fork_peer ();
  if (pid == 0) {
    /* Counts every ring, however many one read collects. */
    for (uint64_t got = 0; got < n; wakes++) {
      if (read (bell, &v, sizeof (v)) != sizeof (v))
        _exit (1);
      got += v;
    }
    if (write (pipefd[1], &wakes, sizeof (wakes)) != sizeof (wakes))
      _exit (1);
    _exit (0);
  }
  for (uint64_t i = 0; i < n; i++) {
    next += WAKE_PERIOD_NS;
    bench_sleep_until (next);
    if (write (bell, &v, sizeof (v)) != sizeof (v))
      die ("eventfd wake-up");
  }
  if (read (pipefd[0], &wakes, sizeof (wakes)) != sizeof (wakes)
      || wait4 (pid, &status, 0, &ru) != pid || !WIFEXITED (status)
      || WEXITSTATUS (status) != 0 || wakes == 0)
    die ("eventfd wake-up: reader failed");
  close (bell);
  close (pipefd[0]);
  close (pipefd[1]);
  cpu_us = ((double) ru.ru_utime.tv_sec + (double) ru.ru_stime.tv_sec) * 1e6
      + (double) ru.ru_utime.tv_usec + (double) ru.ru_stime.tv_usec;
  cpu_us /= (double) wakes;
  if (json)
    printf ("{\"bench\":\"queue\",\"row\":\"eventfd wake-up\","
        "\"kind\":\"cpu\",\"cpu_us\":%.3f}\n", cpu_us);
  else
    printf ("%-20s %7.2f us CPU per wake-up (%" PRIu64 " wake-ups)\n",
        "eventfd wake-up", cpu_us, wakes);
}

/* Paced one-way wake-ups: a writer that sleeps until each tick, stamps
 * the clock into stamps[i] and writes the eventfd; a reader blocked in
 * read() that takes the clock as soon as it runs.  The reader sleeps for
 * every message, as a paced channel's consumer does, so this is the floor
 * under publish -> receive at the same pace: a ping-pong's wake-ups come
 * back to back, with caches and CPUs still warm, and a frame every 33 ms
 * does not.  "threads" runs the writer as a thread of the reader's
 * process, as an in-process queue's producer is: the difference between
 * the two is what waking a reader in another process costs at that pace. */
typedef struct
{
  int bell;
  uint64_t rate, n, start;
  _Atomic uint64_t *stamps;
} paced_writer;

#define PACED_N_30 300
#define PACED_N_1000 5000
#define PACED_QUICK_DIVISOR 5

static void *
paced_write (void *data)
{
  paced_writer *w = data;
  uint64_t v = 1;

  for (uint64_t i = 0; i < w->n; i++) {
    bench_sleep_until (w->start + i * UINT64_C (1000000000) / w->rate);
    /* Release: the reader's acquire load after its read() sees the
     * stamp (the eventfd's own lock orders them too; this says so). */
    atomic_store_explicit (&w->stamps[i], now_ns (), memory_order_release);
    if (write (w->bell, &v, sizeof (v)) != sizeof (v))
      return "write";
  }
  return NULL;
}

static void
bench_paced_one_way (const char *name, uint64_t rate, uint64_t n,
    bool threads, _Atomic uint64_t * stamps, uint64_t * one_way)
{
  /* The reader gets 10 ms to settle into read() first. */
  paced_writer w = { eventfd (0, EFD_CLOEXEC), rate, n,
    now_ns () + UINT64_C (10000000), stamps
  };
  pthread_t thread;
  pid_t pid = 0;

  if (w.bell < 0)
    die ("eventfd");
  if (threads) {
    if (pthread_create (&thread, NULL, paced_write, &w) != 0)
      die ("pthread_create");
  } else if ((pid = fork_peer ()) == 0) {
    _exit (paced_write (&w) ? 1 : 0);
  }
  for (uint64_t got = 0; got < n;) {
    uint64_t v, t;

    if (read (w.bell, &v, sizeof (v)) != sizeof (v) || v > n - got)
      die ("paced one-way");
    t = now_ns ();
    /* A reader that slept through several rings measures each of them
     * from its own stamp. */
    for (; v > 0; v--, got++)
      one_way[got] = t - atomic_load_explicit (&stamps[got],
          memory_order_acquire);
  }
  if (threads) {
    void *failed;

    if (pthread_join (thread, &failed) != 0 || failed)
      die ("paced writer");
  } else
    reap (pid);
  close (w.bell);
  print_latency (name, one_way, n);
}

static void
futex_post (_Atomic uint32_t * word, uint32_t value)
{
  /* Release: pairs with the acquire load in futex_await(); the kernel's
   * own check of the word under its hash-bucket lock closes the race
   * with a waiter that is about to sleep. */
  atomic_store_explicit (word, value, memory_order_release);
  syscall (SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* Sleeps until *@word == @value; false on a timeout or an error. */
static bool
futex_await (_Atomic uint32_t * word, uint32_t value)
{
  uint32_t seen;

  while ((seen = atomic_load_explicit (word, memory_order_acquire)) != value) {
    struct timespec ts = { WAIT_TIMEOUT_S, 0 };

    if (syscall (SYS_futex, word, FUTEX_WAIT, seen, &ts, NULL, 0) < 0
        && errno != EAGAIN && errno != EINTR)
      return false;
  }
  return true;
}

/* The sequence number i + 1 goes out and comes back: each side waits for
 * a value it has not seen, so nothing is missed and nothing is counted
 * twice.  Not FUTEX_PRIVATE_FLAG: the words are shared across the fork,
 * as a channel's are across processes. */
static void
bench_futex_ping_pong (futex_pair * fp, uint64_t n, uint64_t * one_way)
{
  uint64_t warmup = n / 10;
  pid_t pid;

  if (warmup + n >= UINT32_MAX)
    die ("futex ping-pong: too many iterations");
  atomic_store (&fp->to_a, 0);
  atomic_store (&fp->to_b, 0);
  pid = fork_peer ();
  if (pid == 0) {
    for (uint32_t i = 1; i <= warmup + n; i++) {
      if (!futex_await (&fp->to_b, i))
        _exit (1);
      futex_post (&fp->to_a, i);
    }
    _exit (0);
  }
  for (uint32_t i = 1; i <= warmup + n; i++) {
    uint64_t t0 = now_ns ();

    futex_post (&fp->to_b, i);
    if (!futex_await (&fp->to_a, i))
      die ("futex ping-pong");
    if (i > warmup)
      one_way[i - 1 - warmup] = (now_ns () - t0) / 2;
  }
  reap (pid);
  print_latency ("futex ping-pong", one_way, n);
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
  pid = fork_peer ();
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

    if (poll (&pfd, 1, WAIT_TIMEOUT_S * 1000) != 1)
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
  pid = fork_peer ();
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
  pid = fork_peer ();
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

/* Output so far goes out before the row's fork, which would copy the
 * stdio buffer into the peer; then the row's deadline starts. */
static void
begin_row (void)
{
  fflush (stdout);
  alarm (ROW_TIMEOUT_S);
}

static void
usage (void)
{
  fprintf (stderr, "usage: bench-queue [--quick] [--json] [ITERATIONS]\n");
  exit (2);
}

int
main (int argc, char **argv)
{
  uint64_t n = 0;
  uint64_t size = zc_queues_footprint (2);
  struct sigaction sa = {.sa_handler = bench_on_alarm };
  bool quick = false;
  zc_queues_t qs;
  futex_pair *fp;
  _Atomic uint64_t *stamps;
  uint64_t *one_way;
  void *mem;

  for (int i = 1; i < argc; i++) {
    char *end;

    if (strcmp (argv[i], "--quick") == 0)
      quick = true;
    else if (strcmp (argv[i], "--json") == 0)
      json = true;
    else if (n == 0 && argv[i][0] >= '0' && argv[i][0] <= '9') {
      errno = 0;
      n = strtoull (argv[i], &end, 10);
      if (errno != 0 || *end != '\0' || n > UINT32_MAX / 2)
        usage ();
    } else
      usage ();
  }
  if (n == 0)
    n = quick ? N_QUICK : N_DEFAULT;
  if (n < 10)
    n = 10;
  if (sigaction (SIGALRM, &sa, NULL) < 0)
    die ("sigaction");
  mem = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
      -1, 0);
  fp = mmap (NULL, sizeof (*fp), PROT_READ | PROT_WRITE,
      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  stamps = mmap (NULL, PACED_N_1000 * sizeof (*stamps),
      PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  one_way = calloc (n > PACED_N_1000 ? n : PACED_N_1000, sizeof (uint64_t));
  if (mem == MAP_FAILED || fp == MAP_FAILED || stamps == MAP_FAILED
      || one_way == NULL)
    die ("memory");
  if (zc_queues_construct (&qs, mem, size, 2) < 0)
    die ("zc_queues_construct");

  if (!json)
    printf ("one-way latency, %" PRIu64 " round trips each, one-way = round "
        "trip / 2, 256-byte messages\n", n);
  begin_row ();
  bench_eventfd_ping_pong (n, one_way);
  begin_row ();
  bench_futex_ping_pong (fp, n, one_way);
  begin_row ();
  bench_queue_ping_pong ("queue sleep", zc_queues_get (&qs, 0),
      zc_queues_get (&qs, 1), n, 0, one_way);
  begin_row ();
  bench_queue_ping_pong ("queue spin 20us", zc_queues_get (&qs, 0),
      zc_queues_get (&qs, 1), n, SPIN_NS, one_way);
  begin_row ();
  bench_socket_ping_pong ("socket recv", n, false, one_way);
  begin_row ();
  bench_socket_ping_pong ("socket poll+recv", n, true, one_way);
  if (!json)
    printf ("paced one-way: a reader asleep for every message\n");
  begin_row ();
  bench_paced_one_way ("eventfd one-way 1000/s", 1000,
      quick ? PACED_N_1000 / PACED_QUICK_DIVISOR : PACED_N_1000, false,
      stamps, one_way);
  begin_row ();
  bench_paced_one_way ("eventfd one-way 30/s", 30,
      quick ? PACED_N_30 / PACED_QUICK_DIVISOR : PACED_N_30, false,
      stamps, one_way);
  begin_row ();
  bench_paced_one_way ("eventfd one-way 30/s threads", 30,
      quick ? PACED_N_30 / PACED_QUICK_DIVISOR : PACED_N_30, true,
      stamps, one_way);
  if (!json)
    printf ("CPU of a reader that sleeps for every message\n");
  begin_row ();
  bench_wake_cpu (n);
  if (!json)
    printf ("throughput, one-way streams\n");
  begin_row ();
  bench_stream (zc_queues_get (&qs, 0), zc_queues_get (&qs, 1),
      n * STREAM_FACTOR);
  begin_row ();
  bench_socket_stream (n * STREAM_FACTOR);
  alarm (0);
  free (one_way);
  return 0;
}

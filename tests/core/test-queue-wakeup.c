/* Tests for the descriptor queues' wake-ups: the doorbell that wakes a
 * sleeping consumer and the producer's wait for space, in one process,
 * then revokes racing pops between threads, and both sides across
 * processes.
 *
 * zc_queue_spin, the watch before sleep, is here too.
 *
 * Cross-process tests put the queues in a memfd and re-execute this binary
 * as the other side ("--peer ROLE MEMFD EVENTFD REPORTFD ARG"), which
 * inherits the memfd, the consumer's eventfd and a pipe for its reports.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zc/error.h>
#include <zc/heartbeat.h>
#include <zc/queue.h>

#include "zc-test.h"
#include "queue-harness.h"

#define SECOND_NS INT64_C (1000000000)
/* How long anything may take before the test calls it lost. */
#define PATIENCE_S 30

static int
doorbell_new (void)
{
  int fd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);

  ZC_CHECK (fd >= 0);
  return fd;
}

/* The eventfd's counter, read (and so reset) without blocking. */
static uint64_t
doorbell_count (int fd)
{
  uint64_t count;

  if (read (fd, &count, sizeof (count)) == sizeof (count))
    return count;
  ZC_CHECK_EQ (errno, EAGAIN);
  return 0;
}

static uint64_t
now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* The state letter of /proc/PID/stat ('S' while asleep in a wait). */
static char
proc_state (pid_t pid)
{
  char path[64], buf[512], *p;
  ssize_t n;
  int fd;

  snprintf (path, sizeof (path), "/proc/%d/stat", (int) pid);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return '?';
  n = read (fd, buf, sizeof (buf) - 1);
  close (fd);
  if (n <= 0)
    return '?';
  buf[n] = '\0';
  p = strrchr (buf, ')');
  return p != NULL && p[1] == ' ' ? p[2] : '?';
}

/* Polls until @pid is asleep; false after @timeout_s. */
static bool
wait_until_asleep (pid_t pid, int timeout_s)
{
  uint64_t deadline = now_ms () + (uint64_t) timeout_s * 1000;

  while (proc_state (pid) != 'S') {
    struct timespec nap = { 0, 1000 * 1000 };

    if (now_ms () > deadline)
      return false;
    nanosleep (&nap, NULL);
  }
  return true;
}

/* ---- the doorbell and the wait for space, in one process ---- */

static void
test_doorbell_is_silent_while_the_reader_is_awake (void)
{
  shared_queues s = shared_queues_new (1, DEPTH);
  int bell = doorbell_new ();

  for (uint64_t i = 0; i < 5; i++)
    ZC_CHECK_OK (push_seq (s.q, i, bell));
  ZC_CHECK_EQ (doorbell_count (bell), 0);
  /* An entry is waiting: the reader must not sleep. */
  ZC_CHECK (zc_queue_prepare_sleep (s.q));
  zc_queue_finish_sleep (s.q, bell);
  ZC_CHECK_EQ (atomic_load (&s.q->reader_sleeping), 0);
  ZC_CHECK_OK (push_seq (s.q, 5, bell));
  ZC_CHECK_EQ (doorbell_count (bell), 0);
}

/* A burst pushed while the reader sleeps rings it once: the producer that
 * rings takes the flag down, the others see no sleeper. */
static void
test_doorbell_rings_once_per_sleep (void)
{
  shared_queues s = shared_queues_new (1, DEPTH);
  int bell = doorbell_new ();

  ZC_CHECK (!zc_queue_prepare_sleep (s.q));
  for (uint64_t i = 0; i < 3; i++)
    ZC_CHECK_OK (push_seq (s.q, i, bell));
  ZC_CHECK_EQ (doorbell_count (bell), 1);
  ZC_CHECK_EQ (atomic_load (&s.q->reader_sleeping), 0);
  zc_queue_finish_sleep (s.q, -1);
  for (uint64_t i = 0; i < 3; i++)
    pop_expect (s.q, i);
  /* The next sleep is rung again. */
  ZC_CHECK (!zc_queue_prepare_sleep (s.q));
  ZC_CHECK_OK (push_seq (s.q, 3, bell));
  ZC_CHECK_EQ (doorbell_count (bell), 1);
}

/* The reader says on which CPU it sleeps, so that a producer ringing from
 * that CPU knows to yield; anything else it claims means no. */
static void
test_reader_tells_the_cpu_it_sleeps_on (void)
{
  shared_queues s = shared_queues_new (1, DEPTH);
  cpu_set_t saved, one;
  int cpu;

  /* Pinned, so that the CPU we ask about is the one prepare_sleep saw. */
  ZC_CHECK (sched_getaffinity (0, sizeof (saved), &saved) == 0);
  cpu = sched_getcpu ();
  ZC_CHECK (cpu >= 0);
  CPU_ZERO (&one);
  CPU_SET (cpu, &one);
  ZC_CHECK (sched_setaffinity (0, sizeof (one), &one) == 0);
  ZC_CHECK (!zc_queue_sleeps_on_cpu (s.q, cpu));        /* never slept */
  ZC_CHECK (!zc_queue_prepare_sleep (s.q));
  ZC_CHECK (zc_queue_sleeps_on_cpu (s.q, cpu));
  ZC_CHECK (!zc_queue_sleeps_on_cpu (s.q, cpu + 1));
  ZC_CHECK (!zc_queue_sleeps_on_cpu (s.q, -1));
  ZC_CHECK (!zc_queue_sleeps_on_cpu (NULL, cpu));
  /* A hostile value matches no CPU a producer can be on. */
  atomic_store (&s.q->reader_cpu, UINT32_MAX);
  ZC_CHECK (!zc_queue_sleeps_on_cpu (s.q, cpu));
  ZC_CHECK (!zc_queue_sleeps_on_cpu (s.q, INT32_MAX));
  ZC_CHECK (sched_setaffinity (0, sizeof (saved), &saved) == 0);
}

static void
test_doorbell_rings_once_the_reader_prepared_to_sleep (void)
{
  shared_queues s = shared_queues_new (1, DEPTH);
  int bell = doorbell_new ();
  struct pollfd pfd = { bell, POLLIN, 0 };

  ZC_CHECK (!zc_queue_prepare_sleep (s.q));
  ZC_CHECK_EQ (poll (&pfd, 1, 0), 0);
  ZC_CHECK_OK (push_seq (s.q, 7, bell));
  ZC_CHECK_EQ (poll (&pfd, 1, 0), 1);
  ZC_CHECK (pfd.revents & POLLIN);

  zc_queue_finish_sleep (s.q, bell);
  ZC_CHECK_EQ (doorbell_count (bell), 0);       /* drained */
  pop_expect (s.q, 7);
  ZC_CHECK_OK (push_seq (s.q, 8, bell));
  ZC_CHECK_EQ (doorbell_count (bell), 0);
}

/* zc_queue_spin: sees an entry already there at once, gives up after its
 * budget on an empty queue (never before: a lower bound, which a loaded
 * machine only lengthens), and sees a push made while it watches. */
static void
test_spin_sees_what_is_queued_and_gives_up_on_nothing (void)
{
  shared_queues s = shared_queues_new (1, DEPTH);
  uint64_t start;

  start = zc_now_ns ();
  ZC_CHECK (!zc_queue_spin (s.q, 2000000));
  ZC_CHECK (zc_now_ns () - start >= 2000000);
  ZC_CHECK (!zc_queue_spin (s.q, 0));
  ZC_CHECK (!zc_queue_spin (NULL, 1000));
  ZC_CHECK_OK (push_seq (s.q, 0, -1));
  ZC_CHECK (zc_queue_spin (s.q, 0));
  ZC_CHECK (zc_queue_spin (s.q, UINT64_C (60) * SECOND_NS));
  /* Watching takes nothing: the entry is still the reader's to pop. */
  pop_expect (s.q, 0);
  ZC_CHECK (!zc_queue_spin (s.q, 1000));
}

static void *
push_later (void *data)
{
  struct zc_queue *q = data;
  struct timespec ts = { 0, 20 * 1000 * 1000 };

  nanosleep (&ts, NULL);
  ZC_CHECK_OK (push_seq (q, 1, -1));
  return NULL;
}

static void
test_spin_sees_a_push_from_another_thread (void)
{
  shared_queues s = shared_queues_new (1, DEPTH);
  pthread_t t;

  ZC_CHECK (pthread_create (&t, NULL, push_later, s.q) == 0);
  /* The budget only bounds a failure: the push ends the watch. */
  ZC_CHECK (zc_queue_spin (s.q, (uint64_t) PATIENCE_S * SECOND_NS));
  ZC_CHECK (pthread_join (t, NULL) == 0);
  pop_expect (s.q, 1);
}

static void
test_wait_space_ends_when_the_queue_is_freed (void)
{
  shared_queues s = shared_queues_new (1, 1);
  uint64_t start;
  pid_t pid;
  int status;

  ZC_CHECK_OK (push_seq (s.q, 0, -1));
  ZC_CHECK_EQ (zc_queue_wait_space (s.q, 20 * 1000 * 1000), -ETIMEDOUT);

  /* A forked helper plays the control thread that sees the consumer go:
   * once we sleep, it frees the queue and wakes us. */
  pid = fork ();
  ZC_CHECK (pid >= 0);
  if (pid == 0) {
    if (!wait_until_asleep (getppid (), PATIENCE_S))
      _exit (3);
    atomic_store_explicit (&s.q->state, ZC_QUEUE_FREE, memory_order_relaxed);
    zc_queue_wake_writer (s.q);
    _exit (0);
  }
  start = now_ms ();
  ZC_CHECK_EQ (zc_queue_wait_space (s.q, PATIENCE_S * SECOND_NS), ZC_ESTATE);
  ZC_CHECK (now_ms () - start < PATIENCE_S * 1000);
  status = zc_test_wait (pid, PATIENCE_S);
  ZC_CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
}

/* ---- threads: revokes racing pops ---- */

#define THREAD_SEQS 1000000

typedef struct
{
  struct zc_queue *q;
  int bell;
  _Atomic int done;
  uint8_t *got;                 /* written by the consumer only */
  uint8_t *revoked;             /* written by the producer only */
} race;

static void *
race_consumer (void *data)
{
  race *r = data;
  uint64_t next = 0;
  struct zc_desc d;

  for (;;) {
    int ret = zc_queue_pop (r->q, &d);

    if (ret == 0) {
      ZC_CHECK (desc_matches (&d));
      ZC_CHECK (d.sequence >= next && d.sequence < THREAD_SEQS);
      r->got[d.sequence]++;
      next = d.sequence + 1;
      zc_queue_note_release (r->q);
      continue;
    }
    ZC_CHECK_EQ (ret, -EAGAIN);
    /* The producer revokes nothing once done: empty now is empty for good. */
    if (atomic_load_explicit (&r->done, memory_order_acquire)) {
      if (zc_queue_pop (r->q, &d) == -EAGAIN)
        break;
      ZC_FAIL ("an entry arrived after the producer finished");
    }
    if (!zc_queue_prepare_sleep (r->q)) {
      struct pollfd pfd = { r->bell, POLLIN, 0 };
      /* A lost doorbell shows as this timeout. */
      ZC_CHECK_EQ (poll (&pfd, 1, PATIENCE_S * 1000), 1);
    }
    zc_queue_finish_sleep (r->q, r->bell);
  }
  return NULL;
}

static void
race_revoke (race *r, uint64_t * last_revoked)
{
  struct zc_desc d;

  if (zc_queue_revoke (r->q, &d) < 0)
    return;
  ZC_CHECK (desc_matches (&d));
  ZC_CHECK (d.sequence < THREAD_SEQS);
  ZC_CHECK (*last_revoked == UINT64_MAX || d.sequence > *last_revoked);
  *last_revoked = d.sequence;
  r->revoked[d.sequence]++;
}

/* The producer pushes sequences 0..THREAD_SEQS-1 with the consumer at
 * @limit, revoking now and then and whenever the consumer is full. */
static void
race_run (uint32_t limit)
{
  shared_queues s = shared_queues_new (1, limit);
  race r = {.q = s.q,.bell = doorbell_new () };
  uint64_t last_revoked = UINT64_MAX, n_got = 0, n_revoked = 0, one = 1;
  pthread_t consumer;

  r.got = calloc (THREAD_SEQS, 1);
  r.revoked = calloc (THREAD_SEQS, 1);
  ZC_CHECK (r.got != NULL && r.revoked != NULL);
  ZC_CHECK_OK (-pthread_create (&consumer, NULL, race_consumer, &r));

  for (uint64_t seq = 0; seq < THREAD_SEQS; seq++) {
    int ret;

    while ((ret = push_seq (s.q, seq, r.bell)) != 0) {
      ZC_CHECK_EQ (ret, -EAGAIN);
      /* Full: a third of the time the writer-first way, else lossless. */
      if (seq % 3 == 0)
        race_revoke (&r, &last_revoked);
      else
        ZC_CHECK_OK (zc_queue_wait_space (s.q, PATIENCE_S * SECOND_NS));
    }
    /* And now and then while the consumer is busy popping. */
    if (seq % 16 == 5)
      race_revoke (&r, &last_revoked);
  }
  atomic_store_explicit (&r.done, 1, memory_order_release);
  ZC_CHECK_EQ (write (r.bell, &one, sizeof (one)), sizeof (one));
  ZC_CHECK_OK (-pthread_join (consumer, NULL));

  for (uint64_t seq = 0; seq < THREAD_SEQS; seq++) {
    if (r.got[seq] + r.revoked[seq] != 1)
      ZC_FAIL ("sequence %" PRIu64 ": delivered %u, revoked %u", seq,
          r.got[seq], r.revoked[seq]);
    n_got += r.got[seq];
    n_revoked += r.revoked[seq];
  }
  ZC_CHECK_EQ (atomic_load (&s.q->revoked), n_revoked);
  ZC_CHECK_EQ (atomic_load (&s.q->delivered), THREAD_SEQS);
  ZC_CHECK_EQ (zc_queue_outstanding (s.q), 0);
  /* Both sides really raced (a drawn-out run could make either tiny). */
  ZC_CHECK (n_got > 0 && n_revoked > 0);
  printf ("# limit %u: %" PRIu64 " delivered, %" PRIu64 " revoked\n", limit,
      n_got, n_revoked);
  free (r.got);
  free (r.revoked);
}

static void
test_threads_deliver_or_revoke_every_sequence_exactly_once (void)
{
  /* A small limit: the producer mostly waits for space.  The full depth:
   * the ring itself fills, and a pop can find @head more than a ring
   * ahead of the @tail it read, moved on by revokes meanwhile. */
  race_run (8);
  race_run (ZC_QUEUE_DEPTH);
}

/* ---- separate processes ---- */

static pid_t
spawn_peer (const char *role, shared_queues * s, int bell, int report,
    uint64_t arg)
{
  char memfd_a[16], bell_a[16], report_a[16], arg_a[32];
  pid_t pid;

  snprintf (memfd_a, sizeof (memfd_a), "%d", s->memfd);
  snprintf (bell_a, sizeof (bell_a), "%d", bell);
  snprintf (report_a, sizeof (report_a), "%d", report);
  snprintf (arg_a, sizeof (arg_a), "%" PRIu64, arg);
  pid = fork ();
  ZC_CHECK (pid >= 0);
  if (pid == 0) {
    /* Only async-signal-safe calls until exec. */
    fcntl (s->memfd, F_SETFD, 0);
    fcntl (bell, F_SETFD, 0);
    fcntl (report, F_SETFD, 0);
    execl (zc_test_self (), zc_test_self (), "--peer", role, memfd_a, bell_a,
        report_a, arg_a, (char *) NULL);
    _exit (127);
  }
  return pid;
}

/* One 64-bit report from a peer, waited for at most PATIENCE_S. */
static uint64_t
read_report (int fd)
{
  struct pollfd pfd = { fd, POLLIN, 0 };
  uint64_t v;

  ZC_CHECK_EQ (poll (&pfd, 1, PATIENCE_S * 1000), 1);
  ZC_CHECK_EQ (read (fd, &v, sizeof (v)), sizeof (v));  /* 0: peer died */
  return v;
}

static void
expect_clean_exit (pid_t pid)
{
  int status = zc_test_wait (pid, PATIENCE_S);

  if (status == -1)
    ZC_FAIL ("peer %d hung", (int) pid);
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    ZC_FAIL ("peer %d failed: status 0x%x", (int) pid, status);
}

static void
test_producer_waiting_for_space_is_woken_by_a_consumer_process (void)
{
  shared_queues s = shared_queues_new (1, 2);
  int report[2];
  pid_t pid;

  ZC_CHECK_OK (pipe2 (report, O_CLOEXEC));
  ZC_CHECK_OK (push_seq (s.q, 0, -1));
  ZC_CHECK_OK (push_seq (s.q, 1, -1));
  ZC_CHECK_EQ (push_seq (s.q, 2, -1), -EAGAIN);

  pid = spawn_peer ("release-once-waited", &s, -1, report[1], 2);
  close (report[1]);
  ZC_CHECK_EQ (read_report (report[0]), 2);     /* popped both, holds them */
  ZC_CHECK_EQ (zc_queue_wait_space (s.q, 0), -ETIMEDOUT);
  /* The peer releases one block only once it saw us asleep in here. */
  ZC_CHECK_OK (zc_queue_wait_space (s.q, PATIENCE_S * SECOND_NS));
  ZC_CHECK_OK (push_seq (s.q, 2, -1));
  ZC_CHECK_EQ (push_seq (s.q, 3, -1), -EAGAIN);
  expect_clean_exit (pid);
}

static void
test_consumer_process_asleep_in_poll_is_woken_by_a_push (void)
{
  shared_queues s = shared_queues_new (1, DEPTH);
  int bell = doorbell_new ();
  int report[2];
  pid_t pid;

  ZC_CHECK_OK (pipe2 (report, O_CLOEXEC));
  pid = spawn_peer ("sleep-then-pop", &s, bell, report[1], 0);
  close (report[1]);
  ZC_CHECK_EQ (read_report (report[0]), 1);     /* about to poll */
  ZC_CHECK (wait_until_asleep (pid, PATIENCE_S));
  ZC_CHECK_EQ (atomic_load (&s.q->reader_sleeping), 1);
  ZC_CHECK_OK (push_seq (s.q, 42, bell));
  ZC_CHECK_EQ (read_report (report[0]), 42);
  expect_clean_exit (pid);
}

#define STREAM_SEQS 100000

static void
test_stream_across_processes_loses_nothing (void)
{
  shared_queues s = shared_queues_new (1, 8);
  int bell = doorbell_new ();
  uint64_t waits = 0;
  int report[2];
  pid_t pid;

  ZC_CHECK_OK (pipe2 (report, O_CLOEXEC));
  pid = spawn_peer ("consume", &s, bell, report[1], STREAM_SEQS);
  close (report[1]);
  for (uint64_t seq = 0; seq < STREAM_SEQS; seq++) {
    int ret;

    while ((ret = push_seq (s.q, seq, bell)) == -EAGAIN) {
      ZC_CHECK_OK (zc_queue_wait_space (s.q, PATIENCE_S * SECOND_NS));
      waits++;
    }
    ZC_CHECK_OK (ret);
  }
  ZC_CHECK_EQ (read_report (report[0]), STREAM_SEQS);
  printf ("# consumer slept %" PRIu64 " times, producer waited %" PRIu64
      " times\n", read_report (report[0]), waits);
  expect_clean_exit (pid);
  ZC_CHECK_EQ (zc_queue_outstanding (s.q), 0);
}

/* Peer: pops @n entries (holding them), reports, waits until the producer
 * (our parent) sleeps in zc_queue_wait_space(), then releases one. */
static int
peer_release_once_waited (struct zc_queue *q, int report, uint64_t n)
{
  struct zc_desc d;

  for (uint64_t i = 0; i < n; i++)
    if (zc_queue_pop (q, &d) < 0 || d.sequence != i)
      return 3;
  if (write (report, &n, sizeof (n)) != sizeof (n))
    return 4;
  if (!wait_until_asleep (getppid (), PATIENCE_S)
      || !atomic_load (&q->writer_waiting))
    return 5;
  zc_queue_note_release (q);
  return 0;
}

/* Peer: finds the queue empty, reports, sleeps in poll() on the doorbell
 * and reports the sequence that woke it. */
static int
peer_sleep_then_pop (struct zc_queue *q, int bell, int report)
{
  struct pollfd pfd = { bell, POLLIN, 0 };
  struct zc_desc d;
  uint64_t one = 1;

  if (zc_queue_pop (q, &d) != -EAGAIN || zc_queue_prepare_sleep (q))
    return 3;
  if (write (report, &one, sizeof (one)) != sizeof (one))
    return 4;
  if (poll (&pfd, 1, PATIENCE_S * 1000) != 1)
    return 5;
  zc_queue_finish_sleep (q, bell);
  if (zc_queue_pop (q, &d) < 0 || !desc_matches (&d))
    return 6;
  if (write (report, &d.sequence, sizeof (d.sequence)) != sizeof (uint64_t))
    return 7;
  return 0;
}

/* Peer: consumes sequences 0..@n-1 in order, sleeping on the doorbell
 * whenever the queue is empty; reports the count and the sleeps. */
static int
peer_consume (struct zc_queue *q, int bell, int report, uint64_t n)
{
  uint64_t next = 0, sleeps = 0;
  struct zc_desc d;

  while (next < n) {
    int ret = zc_queue_pop (q, &d);

    if (ret == 0) {
      if (d.sequence != next || !desc_matches (&d))
        return 3;
      next++;
      zc_queue_note_release (q);
      continue;
    }
    if (ret != -EAGAIN)
      return 4;
    if (!zc_queue_prepare_sleep (q)) {
      struct pollfd pfd = { bell, POLLIN, 0 };
      if (poll (&pfd, 1, PATIENCE_S * 1000) != 1)
        return 5;               /* a lost doorbell */
      sleeps++;
    }
    zc_queue_finish_sleep (q, bell);
  }
  if (write (report, &next, sizeof (next)) != sizeof (next)
      || write (report, &sleeps, sizeof (sleeps)) != sizeof (sleeps))
    return 6;
  return 0;
}

static int
peer_main (int argc, char **argv)
{
  int memfd, bell, report;
  uint64_t arg;
  struct stat st;
  zc_queues_t qs;
  void *mem;

  if (argc != 7)
    return 2;
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  memfd = atoi (argv[3]);
  bell = atoi (argv[4]);
  report = atoi (argv[5]);
  arg = strtoull (argv[6], NULL, 10);
  if (fstat (memfd, &st) < 0)
    return 2;
  mem = mmap (NULL, (size_t) st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
      memfd, 0);
  if (mem == MAP_FAILED || zc_queues_attach (&qs, mem, (uint64_t) st.st_size))
    return 2;

  if (strcmp (argv[2], "release-once-waited") == 0)
    return peer_release_once_waited (zc_queues_get (&qs, 0), report, arg);
  if (strcmp (argv[2], "sleep-then-pop") == 0)
    return peer_sleep_then_pop (zc_queues_get (&qs, 0), bell, report);
  if (strcmp (argv[2], "consume") == 0)
    return peer_consume (zc_queues_get (&qs, 0), bell, report, arg);
  return 2;
}

int
main (int argc, char **argv)
{
  static const zc_test_case tests[] = {
    ZC_TEST (test_doorbell_is_silent_while_the_reader_is_awake),
    ZC_TEST (test_doorbell_rings_once_the_reader_prepared_to_sleep),
    ZC_TEST (test_doorbell_rings_once_per_sleep),
    ZC_TEST (test_reader_tells_the_cpu_it_sleeps_on),
    ZC_TEST (test_spin_sees_what_is_queued_and_gives_up_on_nothing),
    ZC_TEST (test_spin_sees_a_push_from_another_thread),
    ZC_TEST (test_wait_space_ends_when_the_queue_is_freed),
    ZC_TEST (test_threads_deliver_or_revoke_every_sequence_exactly_once),
    ZC_TEST (test_producer_waiting_for_space_is_woken_by_a_consumer_process),
    ZC_TEST (test_consumer_process_asleep_in_poll_is_woken_by_a_push),
    ZC_TEST (test_stream_across_processes_loses_nothing),
  };

  if (argc > 2 && strcmp (argv[1], "--peer") == 0)
    return peer_main (argc, argv);
  return zc_test_main (argc, argv, tests, ZC_N_TESTS (tests));
}

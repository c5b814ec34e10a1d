/* Tests for the heartbeat block: slots, liveness checks and reclaim.
 *
 * Death is shown with real processes: peers are the test binary itself,
 * re-executed with "--peer ROLE ...", killed with SIGKILL.  Staleness and
 * pid reuse are staged by writing a slot's fields directly (a stale beat
 * is written as "two seconds ago" rather than waited for).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zc/error.h>
#include <zc/heartbeat.h>

#include "zc-test.h"

#define SECOND_NS UINT64_C (1000000000)
/* How long a test waits for a peer's report before failing. */
#define PEER_TIMEOUT_S 30

/* Heap memory for a heartbeat block, zeroed, cache-line aligned. */
static void *
hb_memory (uint32_t n_slots, uint64_t * size)
{
  uint64_t len = zc_heartbeat_footprint (n_slots);
  void *mem = aligned_alloc (64, len);

  ZC_CHECK (mem != NULL);
  memset (mem, 0, len);
  *size = len;
  return mem;
}

static zc_heartbeat_t
hb_new (uint32_t n_slots, void **mem)
{
  zc_heartbeat_t hb;
  uint64_t size;

  *mem = hb_memory (n_slots, &size);
  ZC_CHECK_OK (zc_heartbeat_construct (&hb, *mem, size, n_slots));
  return hb;
}

/* Starts the test binary as a peer: "--peer" followed by @args.  @keep_fd1
 * and @keep_fd2 (or -1) are inherited; every other descriptor of ours is O_CLOEXEC. */
static pid_t
spawn_peer (char *const args[], int keep_fd1, int keep_fd2)
{
  char *argv[8] = { (char *) zc_test_self (), (char *) "--peer" };
  int n = 2;
  pid_t pid;

  for (; args[n - 2] != NULL && n < 7; n++)
    argv[n] = args[n - 2];
  argv[n] = NULL;

  pid = fork ();
  ZC_CHECK (pid >= 0);
  if (pid == 0) {
    /* Only async-signal-safe calls until exec. */
    if (keep_fd1 >= 0)
      fcntl (keep_fd1, F_SETFD, 0);
    if (keep_fd2 >= 0)
      fcntl (keep_fd2, F_SETFD, 0);
    execv (argv[0], argv);
    _exit (127);
  }
  return pid;
}

/* Reads exactly @len bytes of a peer's report, bounded in time. */
static void
read_report (int fd, void *buf, size_t len)
{
  struct timespec start, now;
  size_t got = 0;

  clock_gettime (CLOCK_MONOTONIC, &start);
  while (got < len) {
    ssize_t n = read (fd, (char *) buf + got, len - got);
    if (n < 0 && errno == EINTR)
      continue;
    ZC_CHECK (n > 0);           /* 0: the peer died before reporting */
    got += (size_t) n;
    clock_gettime (CLOCK_MONOTONIC, &now);
    ZC_CHECK (now.tv_sec - start.tv_sec < PEER_TIMEOUT_S);
  }
}

static void
kill_and_reap (pid_t pid)
{
  int status;

  ZC_CHECK_OK (kill (pid, SIGKILL));
  ZC_CHECK_EQ (waitpid (pid, &status, 0), pid);
  ZC_CHECK (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
}

static void
test_slots_are_unique_until_exhausted (void)
{
  void *mem;
  zc_heartbeat_t hb = hb_new (8, &mem);
  uint64_t seen = 0;
  unsigned slot;

  for (int i = 0; i < 8; i++) {
    ZC_CHECK_OK (zc_heartbeat_allocate (&hb, &slot));
    ZC_CHECK (slot < 8);
    ZC_CHECK ((seen & (UINT64_C (1) << slot)) == 0);
    seen |= UINT64_C (1) << slot;
  }
  ZC_CHECK_EQ (seen, 0xff);
  ZC_CHECK_EQ (zc_heartbeat_allocate (&hb, &slot), -ENOSPC);
  free (mem);
}

static void
test_released_slot_is_reused_with_higher_generation (void)
{
  void *mem;
  zc_heartbeat_t hb = hb_new (4, &mem);
  unsigned a, b, again;
  uint32_t gen;

  ZC_CHECK_OK (zc_heartbeat_allocate (&hb, &a));
  ZC_CHECK_OK (zc_heartbeat_allocate (&hb, &b));
  gen = atomic_load (&hb.slots[a].generation);

  ZC_CHECK_OK (zc_heartbeat_release (&hb, a));
  ZC_CHECK_EQ (zc_heartbeat_check (&hb, a, 0), ZC_PEER_FREE);
  ZC_CHECK_EQ (zc_heartbeat_release (&hb, a), ZC_ESTATE);

  ZC_CHECK_OK (zc_heartbeat_allocate (&hb, &again));
  ZC_CHECK_EQ (again, a);
  ZC_CHECK (atomic_load (&hb.slots[a].generation) > gen);
  ZC_CHECK_EQ (zc_heartbeat_check (&hb, again, 0), ZC_PEER_ALIVE);
  free (mem);
}

static void
test_own_slot_is_alive (void)
{
  void *mem;
  zc_heartbeat_t hb = hb_new (4, &mem);
  unsigned slot;

  ZC_CHECK_OK (zc_heartbeat_allocate (&hb, &slot));
  ZC_CHECK_EQ (atomic_load (&hb.slots[slot].pid), getpid ());
  ZC_CHECK_EQ (zc_heartbeat_check (&hb, slot, 0), ZC_PEER_ALIVE);
  ZC_CHECK_EQ (zc_heartbeat_check (&hb, slot, 60 * SECOND_NS), ZC_PEER_ALIVE);
  ZC_CHECK_EQ (zc_heartbeat_find_dead (&hb, 60 * SECOND_NS), 0);
  free (mem);
}

/* Peer: attaches to the heartbeat block in the inherited memfd, takes a
 * slot, reports it, then waits to be killed. */
static int
peer_allocate_and_wait (int memfd, uint64_t size, int report_fd)
{
  zc_heartbeat_t hb;
  unsigned slot;
  void *mem;

  prctl (PR_SET_PDEATHSIG, SIGKILL);
  mem = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
  if (mem == MAP_FAILED)
    return 3;
  if (zc_heartbeat_attach (&hb, mem, size) < 0)
    return 4;
  if (zc_heartbeat_allocate (&hb, &slot) < 0)
    return 5;
  if (write (report_fd, &slot, sizeof (slot)) != sizeof (slot))
    return 6;
  for (;;)
    pause ();
}

static void
test_killed_peer_slot_is_dead (void)
{
  uint64_t size = zc_heartbeat_footprint (4);
  int memfd = memfd_create ("test-heartbeat", MFD_CLOEXEC);
  int report[2];
  char fd_arg[16], size_arg[32], report_arg[16];
  char *args[5];
  siginfo_t info;
  zc_heartbeat_t hb;
  unsigned slot;
  void *mem;
  pid_t pid;

  ZC_CHECK (memfd >= 0);
  ZC_CHECK_OK (ftruncate (memfd, (off_t) size));
  mem = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
  ZC_CHECK (mem != MAP_FAILED);
  ZC_CHECK_OK (zc_heartbeat_construct (&hb, mem, size, 4));
  ZC_CHECK_OK (pipe2 (report, O_CLOEXEC));

  snprintf (fd_arg, sizeof (fd_arg), "%d", memfd);
  snprintf (size_arg, sizeof (size_arg), "%" PRIu64, size);
  snprintf (report_arg, sizeof (report_arg), "%d", report[1]);
  args[0] = (char *) "allocate";
  args[1] = fd_arg;
  args[2] = size_arg;
  args[3] = report_arg;
  args[4] = NULL;
  pid = spawn_peer (args, memfd, report[1]);
  close (report[1]);

  read_report (report[0], &slot, sizeof (slot));
  ZC_CHECK (slot < 4);
  ZC_CHECK_EQ (atomic_load (&hb.slots[slot].pid), pid);
  ZC_CHECK_EQ (zc_heartbeat_check (&hb, slot, 0), ZC_PEER_ALIVE);

  /* Killed but not reaped yet: a zombie keeps its pid and start time, but
   * will never beat or release again. */
  ZC_CHECK_OK (kill (pid, SIGKILL));
  ZC_CHECK_OK (waitid (P_PID, (id_t) pid, &info, WEXITED | WNOWAIT));
  ZC_CHECK_EQ (zc_heartbeat_check (&hb, slot, 0), ZC_PEER_DEAD);

  ZC_CHECK_EQ (waitpid (pid, NULL, 0), pid);
  ZC_CHECK_EQ (zc_heartbeat_check (&hb, slot, 0), ZC_PEER_DEAD);
  ZC_CHECK_EQ (zc_heartbeat_find_dead (&hb, 0), UINT64_C (1) << slot);

  munmap (mem, size);
  close (memfd);
  close (report[0]);
}

static void
test_slot_whose_pid_was_reused_is_dead (void)
{
  void *mem;
  zc_heartbeat_t hb = hb_new (4, &mem);
  uint64_t start;
  unsigned slot;

  ZC_CHECK_OK (zc_heartbeat_allocate (&hb, &slot));
  start = atomic_load (&hb.slots[slot].start_time);
  ZC_CHECK_EQ (zc_heartbeat_check (&hb, slot, 0), ZC_PEER_ALIVE);

  /* Our pid, but recorded for an older process that had it before. */
  atomic_store (&hb.slots[slot].start_time, start - 1);
  ZC_CHECK_EQ (zc_heartbeat_check (&hb, slot, 0), ZC_PEER_DEAD);

  /* A pid nobody has (above any pid_max), zero and a negative one. */
  atomic_store (&hb.slots[slot].start_time, start);
  atomic_store (&hb.slots[slot].pid, INT32_MAX);
  ZC_CHECK_EQ (zc_heartbeat_check (&hb, slot, 0), ZC_PEER_DEAD);
  atomic_store (&hb.slots[slot].pid, 0);
  ZC_CHECK_EQ (zc_heartbeat_check (&hb, slot, 0), ZC_PEER_DEAD);
  atomic_store (&hb.slots[slot].pid, -1);
  ZC_CHECK_EQ (zc_heartbeat_check (&hb, slot, 0), ZC_PEER_DEAD);
  free (mem);
}

static void
test_slot_without_recent_beat_is_stale_until_touched (void)
{
  void *mem;
  zc_heartbeat_t hb = hb_new (4, &mem);
  unsigned slot;

  ZC_CHECK_OK (zc_heartbeat_allocate (&hb, &slot));
  atomic_store (&hb.slots[slot].last_beat_ns, zc_now_ns () - 2 * SECOND_NS);
  ZC_CHECK_EQ (zc_heartbeat_check (&hb, slot, SECOND_NS), ZC_PEER_STALE);
  /* No timeout: age does not matter. */
  ZC_CHECK_EQ (zc_heartbeat_check (&hb, slot, 0), ZC_PEER_ALIVE);

  zc_heartbeat_touch (&hb, slot);
  ZC_CHECK_EQ (zc_heartbeat_check (&hb, slot, SECOND_NS), ZC_PEER_ALIVE);

  /* A beat from the future is not an age of 2^64 - x. */
  atomic_store (&hb.slots[slot].last_beat_ns, zc_now_ns () + 3600 * SECOND_NS);
  ZC_CHECK_EQ (zc_heartbeat_check (&hb, slot, SECOND_NS), ZC_PEER_ALIVE);
  free (mem);
}

static void
test_find_dead_returns_exactly_dead_and_stale_slots (void)
{
  void *mem;
  zc_heartbeat_t hb = hb_new (8, &mem);
  unsigned s[5];

  for (int i = 0; i < 5; i++)
    ZC_CHECK_OK (zc_heartbeat_allocate (&hb, &s[i]));
  ZC_CHECK_OK (zc_heartbeat_release (&hb, s[4]));       /* free: never dead */
  atomic_store (&hb.slots[s[1]].pid, INT32_MAX);        /* dead */
  atomic_store (&hb.slots[s[2]].last_beat_ns, zc_now_ns () - 2 * SECOND_NS);

  ZC_CHECK_EQ (zc_heartbeat_find_dead (&hb, SECOND_NS),
      (UINT64_C (1) << s[1]) | (UINT64_C (1) << s[2]));
  ZC_CHECK_EQ (zc_heartbeat_find_dead (&hb, 0), UINT64_C (1) << s[1]);

  /* A slot already being reclaimed is someone else's business. */
  ZC_CHECK_OK (zc_heartbeat_begin_reclaim (&hb, s[1]));
  ZC_CHECK_EQ (zc_heartbeat_check (&hb, s[1], 0), ZC_PEER_RECLAIMING);
  ZC_CHECK_EQ (zc_heartbeat_find_dead (&hb, SECOND_NS), UINT64_C (1) << s[2]);
  free (mem);
}

struct race
{
  zc_heartbeat_t *hb;
  unsigned slot;
  pthread_barrier_t *barrier;
  atomic_int *winners;
};

static void *
race_reclaim (void *data)
{
  struct race *r = data;

  pthread_barrier_wait (r->barrier);
  if (zc_heartbeat_begin_reclaim (r->hb, r->slot) == 0)
    atomic_fetch_add (r->winners, 1);
  return NULL;
}

static void
test_begin_reclaim_has_a_single_winner_among_threads (void)
{
  void *mem;
  zc_heartbeat_t hb = hb_new (4, &mem);
  pthread_barrier_t barrier;
  pthread_t threads[4];

  ZC_CHECK_OK (pthread_barrier_init (&barrier, NULL, 4));
  for (int round = 0; round < 200; round++) {
    atomic_int winners = 0;
    struct race r;
    unsigned slot;

    ZC_CHECK_OK (zc_heartbeat_allocate (&hb, &slot));
    r.hb = &hb;
    r.slot = slot;
    r.barrier = &barrier;
    r.winners = &winners;
    for (int i = 0; i < 4; i++)
      ZC_CHECK_OK (-pthread_create (&threads[i], NULL, race_reclaim, &r));
    for (int i = 0; i < 4; i++)
      ZC_CHECK_OK (-pthread_join (threads[i], NULL));
    ZC_CHECK_EQ (atomic_load (&winners), 1);
    ZC_CHECK_EQ (zc_heartbeat_check (&hb, slot, 0), ZC_PEER_RECLAIMING);
    zc_heartbeat_finish_reclaim (&hb, slot);
  }
  pthread_barrier_destroy (&barrier);
  free (mem);
}

static void
test_finish_reclaim_frees_the_slot_for_reuse (void)
{
  void *mem;
  zc_heartbeat_t hb = hb_new (1, &mem);
  unsigned slot, again;
  uint32_t gen;

  ZC_CHECK_OK (zc_heartbeat_allocate (&hb, &slot));
  gen = atomic_load (&hb.slots[slot].generation);
  ZC_CHECK_OK (zc_heartbeat_begin_reclaim (&hb, slot));
  /* While reclaimed: no second reclaimer, no release by the owner, and the
   * slot is not handed out. */
  ZC_CHECK_EQ (zc_heartbeat_begin_reclaim (&hb, slot), ZC_ESTATE);
  ZC_CHECK_EQ (zc_heartbeat_release (&hb, slot), ZC_ESTATE);
  ZC_CHECK_EQ (zc_heartbeat_allocate (&hb, &again), -ENOSPC);

  zc_heartbeat_finish_reclaim (&hb, slot);
  ZC_CHECK_EQ (zc_heartbeat_check (&hb, slot, 0), ZC_PEER_FREE);
  ZC_CHECK_EQ (atomic_load (&hb.slots[slot].pid), 0);
  ZC_CHECK_EQ (zc_heartbeat_begin_reclaim (&hb, slot), ZC_ESTATE);

  ZC_CHECK_OK (zc_heartbeat_allocate (&hb, &again));
  ZC_CHECK_EQ (again, slot);
  ZC_CHECK (atomic_load (&hb.slots[slot].generation) > gen);
  ZC_CHECK_EQ (zc_heartbeat_check (&hb, slot, 0), ZC_PEER_ALIVE);
  free (mem);
}

/* A scan found the slot dead, but before the reclaimer's CAS the slot was
 * freed and taken by a live process: confirm hands it back untouched. */
static void
test_confirm_reclaim_gives_a_live_occupant_its_slot_back (void)
{
  void *mem;
  zc_heartbeat_t hb = hb_new (2, &mem);
  unsigned live, dead;

  ZC_CHECK_OK (zc_heartbeat_allocate (&hb, &live));
  ZC_CHECK_OK (zc_heartbeat_begin_reclaim (&hb, live));
  ZC_CHECK_EQ (zc_heartbeat_confirm_reclaim (&hb, live, 0), ZC_ESTATE);
  ZC_CHECK_EQ (zc_heartbeat_check (&hb, live, 0), ZC_PEER_ALIVE);
  ZC_CHECK_OK (zc_heartbeat_release (&hb, live));

  /* A truly dead occupant (pid reused: start time off) is confirmed. */
  ZC_CHECK_OK (zc_heartbeat_allocate (&hb, &dead));
  atomic_fetch_add (&hb.slots[dead].start_time, 1);
  ZC_CHECK_OK (zc_heartbeat_begin_reclaim (&hb, dead));
  ZC_CHECK_OK (zc_heartbeat_confirm_reclaim (&hb, dead, 0));
  ZC_CHECK_EQ (zc_heartbeat_check (&hb, dead, 0), ZC_PEER_RECLAIMING);
  zc_heartbeat_finish_reclaim (&hb, dead);
  ZC_CHECK_EQ (zc_heartbeat_check (&hb, dead, 0), ZC_PEER_FREE);
  free (mem);
}

static void
test_process_start_time_of_self_and_of_no_process (void)
{
  uint64_t a = 0, b = 0;

  ZC_CHECK_OK (zc_process_start_time (getpid (), &a));
  ZC_CHECK_OK (zc_process_start_time (getpid (), &b));
  ZC_CHECK (a > 0);
  ZC_CHECK_EQ (a, b);
  ZC_CHECK_EQ (zc_process_start_time (INT32_MAX, &a), -ESRCH);
  ZC_CHECK_EQ (zc_process_start_time (0, &a), -ESRCH);
  ZC_CHECK_EQ (zc_process_start_time (getpid (), NULL), -EINVAL);
}

/* Peer: reports its start time read while its name was still plain, then
 * renames itself so that its /proc/PID/stat reads "(a) (b)". */
static int
peer_rename_and_wait (int report_fd)
{
  uint64_t start;

  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (zc_process_start_time (getpid (), &start) < 0)
    return 3;
  if (prctl (PR_SET_NAME, "a) (b") < 0)
    return 4;
  if (write (report_fd, &start, sizeof (start)) != sizeof (start))
    return 5;
  for (;;)
    pause ();
}

static void
test_process_start_time_parses_a_name_with_parentheses (void)
{
  char report_arg[16], path[64], comm[32] = { 0 };
  char *args[3];
  uint64_t reported, parsed = 0;
  int report[2], fd;
  pid_t pid;

  ZC_CHECK_OK (pipe2 (report, O_CLOEXEC));
  snprintf (report_arg, sizeof (report_arg), "%d", report[1]);
  args[0] = (char *) "rename";
  args[1] = report_arg;
  args[2] = NULL;
  pid = spawn_peer (args, report[1], -1);
  close (report[1]);
  read_report (report[0], &reported, sizeof (reported));

  /* The rename took: the name the parser must get past. */
  snprintf (path, sizeof (path), "/proc/%d/comm", (int) pid);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  ZC_CHECK (fd >= 0);
  ZC_CHECK (read (fd, comm, sizeof (comm) - 1) > 0);
  close (fd);
  ZC_CHECK (strcmp (comm, "a) (b\n") == 0);

  ZC_CHECK_OK (zc_process_start_time (pid, &parsed));
  ZC_CHECK_EQ (parsed, reported);

  kill_and_reap (pid);
  close (report[0]);
}

static void
test_attach_rejects_bad_magic_short_size_and_bad_slot_count (void)
{
  uint64_t size;
  void *mem = hb_memory (4, &size);
  struct zc_heartbeat_header *header = mem;
  zc_heartbeat_t hb;
  unsigned slot;

  ZC_CHECK_EQ (zc_heartbeat_footprint (4), 64 + 4 * 64);
  ZC_CHECK_EQ (zc_heartbeat_construct (&hb, mem, size, 0), -EINVAL);
  ZC_CHECK_EQ (zc_heartbeat_construct (&hb, mem, size, 65), -EINVAL);
  ZC_CHECK_EQ (zc_heartbeat_construct (&hb, mem, size, 5), ZC_EBOUNDS);
  ZC_CHECK_EQ (zc_heartbeat_construct (NULL, mem, size, 4), -EINVAL);
  ZC_CHECK_OK (zc_heartbeat_construct (&hb, mem, size, 4));

  ZC_CHECK_OK (zc_heartbeat_attach (&hb, mem, size));
  ZC_CHECK_EQ (zc_heartbeat_attach (&hb, mem, size - 1), ZC_EBOUNDS);
  ZC_CHECK_EQ (zc_heartbeat_attach (&hb, mem, 8), ZC_EBOUNDS);
  ZC_CHECK_EQ (zc_heartbeat_attach (NULL, mem, size), -EINVAL);

  header->n_slots = 0;
  ZC_CHECK_EQ (zc_heartbeat_attach (&hb, mem, size), ZC_EBOUNDS);
  header->n_slots = 65;
  ZC_CHECK_EQ (zc_heartbeat_attach (&hb, mem, size), ZC_EBOUNDS);
  header->n_slots = 5;          /* more slots than the memory holds */
  ZC_CHECK_EQ (zc_heartbeat_attach (&hb, mem, size), ZC_EBOUNDS);
  header->n_slots = 4;
  header->magic ^= 1;
  ZC_CHECK_EQ (zc_heartbeat_attach (&hb, mem, size), ZC_EBADMAGIC);
  header->magic ^= 1;

  /* The count is read once: a peer growing it later reaches nothing. */
  header->n_slots = 2;
  ZC_CHECK_OK (zc_heartbeat_attach (&hb, mem, size));
  header->n_slots = 64;
  ZC_CHECK_OK (zc_heartbeat_allocate (&hb, &slot));
  ZC_CHECK_OK (zc_heartbeat_allocate (&hb, &slot));
  ZC_CHECK_EQ (zc_heartbeat_allocate (&hb, &slot), -ENOSPC);
  ZC_CHECK_EQ (zc_heartbeat_check (&hb, 2, 0), ZC_PEER_FREE);
  ZC_CHECK_EQ (zc_heartbeat_release (&hb, 2), -EINVAL);
  ZC_CHECK_EQ (zc_heartbeat_begin_reclaim (&hb, 63), -EINVAL);
  free (mem);
}

static int
peer_main (int argc, char **argv)
{
  if (argc == 6 && strcmp (argv[2], "allocate") == 0)
    return peer_allocate_and_wait (atoi (argv[3]),
        strtoull (argv[4], NULL, 10), atoi (argv[5]));
  if (argc == 4 && strcmp (argv[2], "rename") == 0)
    return peer_rename_and_wait (atoi (argv[3]));
  return 2;
}

int
main (int argc, char **argv)
{
  static const zc_test_case tests[] = {
    ZC_TEST (test_slots_are_unique_until_exhausted),
    ZC_TEST (test_released_slot_is_reused_with_higher_generation),
    ZC_TEST (test_own_slot_is_alive),
    ZC_TEST (test_killed_peer_slot_is_dead),
    ZC_TEST (test_slot_whose_pid_was_reused_is_dead),
    ZC_TEST (test_slot_without_recent_beat_is_stale_until_touched),
    ZC_TEST (test_find_dead_returns_exactly_dead_and_stale_slots),
    ZC_TEST (test_begin_reclaim_has_a_single_winner_among_threads),
    ZC_TEST (test_confirm_reclaim_gives_a_live_occupant_its_slot_back),
    ZC_TEST (test_finish_reclaim_frees_the_slot_for_reuse),
    ZC_TEST (test_process_start_time_of_self_and_of_no_process),
    ZC_TEST (test_process_start_time_parses_a_name_with_parentheses),
    ZC_TEST (test_attach_rejects_bad_magic_short_size_and_bad_slot_count),
  };

  if (argc > 2 && strcmp (argv[1], "--peer") == 0)
    return peer_main (argc, argv);
  return zc_test_main (argc, argv, tests, ZC_N_TESTS (tests));
}

/* Tests of what the MessageRing survives: threads joining, leaving and
 * sending at once, many writers to one mailbox, a process killed in the
 * middle of a send (crash safety of mailboxes), and random bytes anywhere
 * in the component.  Peers are this binary re-executed with "--peer claim
 * FD". */
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>

#include <zc/heartbeat.h>
#include <zc/msgring.h>

#include "zc-test.h"
#include "msgring-harness.h"

/* Threads joining, sending, polling, ticking and leaving at once. */
static zc_msgring_t thread_ring;

static void *
churn (void *arg)
{
  unsigned slot = (unsigned) (uintptr_t) arg;
  msg_log *log = calloc (1, sizeof (*log));
  for (int i = 0; i < 2000; i++) {
    ZC_CHECK_OK (zc_msgring_join (&thread_ring, slot));
    zc_msg_t m = message (ZC_MSG_HEARTBEAT, ZC_MSG_BIDI, -1);
    int r = zc_msgring_send (&thread_ring, slot, &m);
    ZC_CHECK (r == 0 || r == -EAGAIN);
    ZC_CHECK_OK (zc_msgring_poll (&thread_ring, slot, zc_now_ns (), record,
            log));
    ZC_CHECK_OK (zc_msgring_duty_tick (&thread_ring, slot, zc_now_ns ()));
    ZC_CHECK_OK (zc_msgring_leave (&thread_ring, slot));
  }
  free (log);
  return NULL;
}

static void
test_join_leave_concurrency_threads (void)
{
  pthread_t t[8];
  thread_ring = make_ring (8, 0);
  for (unsigned i = 0; i < 8; i++)
    ZC_CHECK_EQ (pthread_create (&t[i], NULL, churn, (void *) (uintptr_t) i),
        0);
  for (unsigned i = 0; i < 8; i++)
    pthread_join (t[i], NULL);
  ZC_CHECK_EQ (zc_msgring_members (&thread_ring), 0);
  ZC_CHECK_EQ (zc_msgring_owner (&thread_ring, NULL), -ENOENT);
  for (unsigned s = 0; s < 8; s += 2)
    ZC_CHECK_OK (zc_msgring_join (&thread_ring, s));
  check_links (&thread_ring);
}

#define WRITERS 4
#define PER_WRITER 2000

static void *
write_to_zero (void *arg)
{
  uint64_t w = (uint64_t) (uintptr_t) arg;
  for (uint64_t seq = 0; seq < PER_WRITER;) {
    zc_msg_t m = message (ZC_MSG_SCALE_REQUEST, 0, 0);
    m.arg[0] = w;
    m.arg[1] = seq;
    int r = zc_msgring_send (&thread_ring, 1, &m);
    ZC_CHECK (r == 0 || r == -EAGAIN);
    if (r == 0)
      seq++;
    else
      sched_yield ();
  }
  return NULL;
}

/* Each (writer, seq) exactly once.  Order is not promised across polls
 * (msgring.h), so none is checked. */
static void
count_once (zc_msgring_t * ring, unsigned slot, const zc_msg_t * msg,
    void *data)
{
  uint8_t (*seen)[PER_WRITER] = data;
  (void) ring;
  (void) slot;
  ZC_CHECK (msg->arg[0] < WRITERS && msg->arg[1] < PER_WRITER);
  ZC_CHECK_EQ (seen[msg->arg[0]][msg->arg[1]], 0);
  seen[msg->arg[0]][msg->arg[1]] = 1;
}

static void
test_mailbox_many_writers_one_reader_threads (void)
{
  pthread_t t[WRITERS];
  static uint8_t seen[WRITERS][PER_WRITER];
  uint64_t got = 0;
  uint64_t deadline = zc_now_ns () + 100 * SECOND;
  thread_ring = make_ring (2, 0x3);
  for (unsigned i = 0; i < WRITERS; i++)
    ZC_CHECK_EQ (pthread_create (&t[i], NULL, write_to_zero,
            (void *) (uintptr_t) i), 0);
  while (got < WRITERS * PER_WRITER) {
    int r = zc_msgring_poll (&thread_ring, 0, zc_now_ns (), count_once,
        seen);
    ZC_CHECK_OK (r);
    got += (uint64_t) r;
    ZC_CHECK (zc_now_ns () < deadline);
    if (r == 0)
      sched_yield ();
  }
  for (unsigned i = 0; i < WRITERS; i++)
    pthread_join (t[i], NULL);
  ZC_CHECK_EQ (got, WRITERS * PER_WRITER);
}

/* Peer: claims every cell of node 0's left mailbox, as a sender would,
 * and dies before committing any. */
static int
peer_claim_and_die (int fd)
{
  uint64_t size = zc_msgring_footprint (2, 0);
  zc_msgring_t ring;
  void *mem = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (mem == MAP_FAILED || zc_msgring_attach (&ring, mem, size) < 0)
    return 3;
  uint32_t ms = (uint32_t) (zc_now_ns () / MS);
  for (unsigned i = 0; i < ZC_MSGRING_MAILBOX_SLOTS; i++) {
    struct zc_msgring_cell *cell = &ring.nodes[0].left.cells[i];
    uint64_t w = atomic_load (&cell->word);
    if (!atomic_compare_exchange_strong (&cell->word, &w,
            ZC_MSGRING_CELL_WORD (ZC_MSGRING_CELL_CLAIMED,
                ZC_MSGRING_CELL_LAP (w), ms)))
      return 4;
    memset (&cell->msg, 0xab, sizeof (cell->msg));     /* half written */
  }
  raise (SIGKILL);
  return 5;
}

static void
test_process_killed_mid_send_does_not_wedge_mailbox (void)
{
  uint64_t size = zc_msgring_footprint (2, 0);
  zc_msgring_t ring;
  msg_log log = { 0 };
  int fd;
  void *mem = shared_mem (size, &fd);
  ZC_CHECK_OK (zc_msgring_construct (&ring, mem, size, 2, 0, TIMEOUT));
  ZC_CHECK_OK (zc_msgring_join (&ring, 0));
  ZC_CHECK_OK (zc_msgring_join (&ring, 1));

  pid_t pid = spawn_peer ("claim", fd);
  int status = zc_test_wait (pid, 20);
  ZC_CHECK (status != -1 && WIFSIGNALED (status));
  ZC_CHECK_EQ (WTERMSIG (status), SIGKILL);

  zc_msg_t m = message (ZC_MSG_SCALE_REQUEST, 0, 0);
  ZC_CHECK_EQ (zc_msgring_send (&ring, 1, &m), -EAGAIN);
  uint64_t now = zc_now_ns ();
  ZC_CHECK_EQ (zc_msgring_poll (&ring, 0, now, record, &log), 0);
  ZC_CHECK_EQ (zc_msgring_send (&ring, 1, &m), -EAGAIN);  /* young claims */
  now += ZC_MSGRING_CLAIM_TIMEOUT_NS + SECOND;
  ZC_CHECK_EQ (zc_msgring_poll (&ring, 0, now, record, &log), 0);
  for (unsigned i = 0; i < ZC_MSGRING_MAILBOX_SLOTS; i++)
    ZC_CHECK_OK (zc_msgring_send (&ring, 1, &m));
  ZC_CHECK_EQ (zc_msgring_send (&ring, 1, &m), -EAGAIN);
  ZC_CHECK_EQ (zc_msgring_poll (&ring, 0, now, record, &log),
      ZC_MSGRING_MAILBOX_SLOTS);

  /* A writer merely stalled past the timeout cannot commit any more. */
  struct zc_msgring_cell *cell = &ring.nodes[0].left.cells[0];
  uint64_t w = atomic_load (&cell->word);
  uint64_t claimed = ZC_MSGRING_CELL_WORD (ZC_MSGRING_CELL_CLAIMED,
      ZC_MSGRING_CELL_LAP (w), (uint32_t) (zc_now_ns () / MS));
  ZC_CHECK (atomic_compare_exchange_strong (&cell->word, &w, claimed));
  ZC_CHECK_EQ (zc_msgring_poll (&ring, 0, now + SECOND, record, &log), 0);
  uint64_t expect = claimed;
  ZC_CHECK (!atomic_compare_exchange_strong (&cell->word, &expect,
          ZC_MSGRING_CELL_WORD (ZC_MSGRING_CELL_COMMITTED,
              ZC_MSGRING_CELL_LAP (claimed), 0)));
}

static uint64_t rng_state = 88172645463325252ull;

static uint64_t
rng (void)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static void
touch_payload (zc_msgring_t * ring, unsigned slot, const zc_msg_t * msg,
    void *data)
{
  const void *p;
  (void) slot;
  if (zc_msgring_payload (ring, msg, &p) == 0) {
    volatile uint8_t sum = 0;
    for (uint32_t i = 0; i < msg->payload_size; i++)
      sum += ((const uint8_t *) p)[i];
    (void) sum;
  }
  (*(int *) data)++;
}

/* Whatever is in the memory, the calls return. */
static void
exercise (zc_msgring_t * ring, uint64_t now)
{
  int count = 0;
  for (unsigned s = 0; s < ring->n_nodes && s < 8; s++) {
    unsigned p, n;
    zc_msg_t m = message ((uint16_t) (1 + rng () % 12),
        (uint16_t) (rng () % 16), (int) (rng () % (ring->n_nodes + 1)) - 1);
    zc_msgring_t child;
    zc_msgring_poll (ring, s, now + rng () % SECOND, touch_payload, &count);
    zc_msgring_send (ring, s, &m);
    zc_msgring_duty_tick (ring, s, now + rng () % SECOND);
    zc_msgring_hand_over (ring, s, (unsigned) rng () % ring->n_nodes);
    zc_msgring_links (ring, s, &p, &n);
    zc_msgring_pending (ring, s);
    if (zc_msgring_child (ring, s, &child) == 0) {
      zc_msgring_poll (&child, 0, now, touch_payload, &count);
      zc_msgring_send (&child, 1, &m);
    }
    if (rng () % 8 == 0)
      zc_msgring_evict (ring, s);
    if (rng () % 8 == 0)
      zc_msgring_join (ring, s);
  }
  zc_msgring_stats_t stats;
  zc_msgring_get_stats (ring, &stats);
  zc_msgring_owner (ring, NULL);
}

static void
test_fuzz_random_bytes_never_crash_or_hang (void)
{
  uint64_t size = zc_msgring_nested_footprint (4, 128, 1, 4, 64);
  uint8_t *mem = aligned_alloc (64, size);
  uint64_t now = zc_now_ns ();
  ZC_CHECK (mem != NULL);
  for (int iter = 0; iter < 10000; iter++) {
    zc_msgring_t ring, child;
    memset (mem, 0, size);
    ZC_CHECK_OK (zc_msgring_construct_nested (&ring, mem, size, 4, 128,
            TIMEOUT, 1u << 2, 4, 64));
    ZC_CHECK_OK (zc_msgring_child (&ring, 2, &child));
    for (unsigned s = 0; s < 4; s++) {
      ZC_CHECK_OK (zc_msgring_join (&ring, s));
      ZC_CHECK_OK (zc_msgring_join (&child, s));
    }
    zc_msgring_duty_tick (&child, 1, now);
    exercise (&ring, now);

    switch (iter % 4) {
      case 0:                  /* a few random bytes */
        for (int k = 1 + (int) (rng () % 32); k > 0; k--)
          mem[rng () % size] = (uint8_t) rng ();
        break;
      case 1:                  /* random words */
        for (int k = 1 + (int) (rng () % 16); k > 0; k--) {
          uint64_t v = rng ();
          memcpy (mem + (rng () % (size / 8)) * 8, &v, 8);
        }
        break;
      case 2:{                 /* a random range */
        uint64_t at = rng () % size, len = rng () % 512;
        for (uint64_t i = at; i < size && i < at + len; i++)
          mem[i] = (uint8_t) rng ();
        break;
      }
      default:                 /* all of it */
        for (uint64_t i = 0; i < size; i++)
          mem[i] = (uint8_t) rng ();
        break;
    }
    if (zc_msgring_attach (&ring, mem, size) == 0) {
      exercise (&ring, now);
      exercise (&ring, now + SECOND);
    }
  }
  free (mem);
}

int
main (int argc, char **argv)
{
  static const zc_test_case tests[] = {
    ZC_TEST (test_join_leave_concurrency_threads),
    ZC_TEST (test_mailbox_many_writers_one_reader_threads),
    ZC_TEST (test_process_killed_mid_send_does_not_wedge_mailbox),
    ZC_TEST (test_fuzz_random_bytes_never_crash_or_hang),
  };

  if (argc == 4 && strcmp (argv[1], "--peer") == 0) {
    if (strcmp (argv[2], "claim") == 0)
      return peer_claim_and_die (atoi (argv[3]));
    return 2;
  }
  return zc_test_main (argc, argv, tests, ZC_N_TESTS (tests));
}

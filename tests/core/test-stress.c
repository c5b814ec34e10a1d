/* Lock-free stress of the pool, the guards and the heartbeat block.
 *
 * Participants pass frames round a ring: each one acquires a block, fills
 * it with a pattern naming itself and a counter, checks nobody else wrote
 * into it, publishes it to the next participant and drops its own
 * reference; the next one opens a read guard, checks the pattern and the
 * header, and releases.  Blocks are far fewer than participants x frames,
 * so every block is claimed, shared and returned over and over, while
 * other participants claim and return their neighbours.
 *
 * Two flavours: threads of one process (run under ThreadSanitizer too),
 * and real processes (the test binary re-executed as peers, the segment
 * descriptors inherited, indices sent over SOCK_SEQPACKET socketpairs).
 *
 * At most n_blocks frames are ever in flight, so a queue of more entries
 * never fills, and a participant that finds no free block drains its
 * inbox before trying again: no one can wait on a block that only its own
 * unread inbox would return.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zc/error.h>
#include <zc/guard.h>
#include <zc/heartbeat.h>
#include <zc/pool.h>
#include <zc/region.h>
#include <zc/segment.h>

#include "zc-test.h"

#define BLOCK_SIZE 256u
#define WORDS (BLOCK_SIZE / 8u)
/* As many blocks as threads, and each sender may have CREDITS frames
 * queued to its receiver: enough to run the pool dry now and then (and
 * wait on its futex), not so many that a sleeping writer holds the
 * frames whose release it waits for. */
#define N_BLOCKS 4u
#define CREDITS 2u
#define N_THREADS 4
#define N_PEERS 3
#define THREAD_CYCLES 200000u
#define PEER_CYCLES 50000u
/* Wait for a block when the inbox had nothing to give back: short, since
 * a frame may land in the inbox just after it was found empty. */
#define ACQUIRE_TIMEOUT_NS INT64_C (1000000)
/* Longest a participant waits for its neighbour before failing. */
#define STALL_TIMEOUT_S 60

static const zc_region_config_t thread_config = {
  .n_slots = 8,
  .pool = {.block_size = BLOCK_SIZE,.n_blocks = N_BLOCKS,.flags = 0},
};

/* Peers cannot see each other's queues, so they run without credits: more
 * blocks keep the waits for a neighbour's unread frames rare. */
static const zc_region_config_t peer_config = {
  .n_slots = 8,
  .pool = {.block_size = BLOCK_SIZE,.n_blocks = 2 * N_BLOCKS,.flags = 0},
};

static uint64_t
pattern (unsigned slot, uint32_t counter, unsigned word)
{
  return ((uint64_t) slot << 56) ^ ((uint64_t) counter << 16) ^ word;
}

static void
fill_block (uint64_t * words, unsigned slot, uint32_t counter)
{
  for (unsigned w = 0; w < WORDS; w++)
    words[w] = pattern (slot, counter, w);
}

static bool
block_holds (const uint64_t * words, unsigned slot, uint32_t counter)
{
  for (unsigned w = 0; w < WORDS; w++)
    if (words[w] != pattern (slot, counter, w))
      return false;
  return true;
}

/* What a sender tells its receiver about a frame. */
struct frame_msg
{
  uint32_t index;
  uint32_t counter;
};

/* One direction of the ring between two participants: what the receiver
 * expects next and the sender it expects it from. */
struct receiver
{
  unsigned slot;
  unsigned sender_slot;
  uint32_t next_counter;
  uint64_t last_sequence;
};

/* Writer half of one cycle: claim, fill, check, publish to @to_slot, drop
 * our reference.  Returns the block index, or -1 when no block was free
 * within @timeout_ns (the caller drains its inbox and retries). */
static int64_t
send_one (zc_pool_t * pool, unsigned slot, unsigned to_slot, uint32_t counter,
    int64_t timeout_ns)
{
  zc_guard_t guard = ZC_GUARD_INIT;
  uint64_t capacity;
  void *data;
  uint32_t index;
  int ret;

  ret = zc_guard_acquire (pool, slot, timeout_ns, &guard);
  if (ret == -EAGAIN || ret == -ETIMEDOUT)
    return -1;
  ZC_CHECK_OK (ret);
  ZC_CHECK_OK (zc_guard_map_write (&guard, &data, &capacity));
  ZC_CHECK (capacity >= BLOCK_SIZE);
  fill_block (data, slot, counter);
  /* The claim is ours alone: nobody may have written in the meantime. */
  ZC_CHECK (block_holds (data, slot, counter));
  ZC_CHECK_OK (zc_guard_publish (&guard, BLOCK_SIZE, counter,
          UINT64_C (1) << to_slot, NULL));
  index = zc_guard_index (&guard);
  ZC_CHECK_OK (zc_guard_release (&guard));
  return index;
}

/* Reader half: open what the sender published to us, check it, release. */
static void
receive_one (zc_pool_t * pool, struct receiver *r, const struct frame_msg *m)
{
  zc_guard_t guard = ZC_GUARD_INIT;
  const struct zc_block_header *h;
  const void *data;
  uint64_t size;

  ZC_CHECK_EQ (m->counter, r->next_counter);
  ZC_CHECK_OK (zc_guard_open (pool, r->slot, m->index, &guard));
  ZC_CHECK_OK (zc_guard_map_read (&guard, &data, &size));
  ZC_CHECK_EQ (size, BLOCK_SIZE);
  h = zc_guard_header (&guard);
  ZC_CHECK_EQ (h->writer_id, r->sender_slot);
  ZC_CHECK_EQ (h->timestamp_ns, m->counter);
  ZC_CHECK (h->sequence > r->last_sequence);
  ZC_CHECK (block_holds (data, r->sender_slot, m->counter));
  r->last_sequence = h->sequence;
  r->next_counter++;
  ZC_CHECK_OK (zc_guard_release (&guard));
}

static void
check_pool_all_free (zc_region_t * region, const zc_region_config_t * config)
{
  zc_pool_stats_t stats;
  zc_heartbeat_t *hb = zc_region_heartbeat (region);

  zc_pool_get_stats (zc_region_pool (region), &stats);
  ZC_CHECK_EQ (stats.n_blocks, config->pool.n_blocks);
  ZC_CHECK_EQ (stats.n_free, config->pool.n_blocks);
  ZC_CHECK_EQ (stats.n_using, 0);
  ZC_CHECK_EQ (stats.n_published, 0);
  ZC_CHECK_EQ (stats.tripped, 0);
  ZC_CHECK_EQ (stats.trip_count, 0);
  for (unsigned i = 0; i < config->n_slots; i++)
    ZC_CHECK_EQ (zc_heartbeat_check (hb, i, 0), ZC_PEER_FREE);
  ZC_CHECK_EQ (zc_region_reclaim (region, 0, NULL), 0);
}

/* ---- threads ---------------------------------------------------------- */

/* Single-producer single-consumer queue of frames between two threads:
 * free-running indices modulo the size. */
#define QUEUE_SIZE 16u
_Static_assert (QUEUE_SIZE > N_BLOCKS, "a queue never fills");

struct spsc
{
  _Atomic uint32_t head;        /* written by the producer */
  _Atomic uint32_t tail;        /* written by the consumer */
  struct frame_msg items[QUEUE_SIZE];
};

static void
spsc_push (struct spsc *q, const struct frame_msg *m)
{
  uint32_t head = atomic_load_explicit (&q->head, memory_order_relaxed);
  /* Acquire: pairs with the consumer's release of @tail, so its read of
   * the slot we reuse is done. */
  uint32_t tail = atomic_load_explicit (&q->tail, memory_order_acquire);

  ZC_CHECK (head - tail < QUEUE_SIZE);
  q->items[head % QUEUE_SIZE] = *m;
  /* Release: pairs with spsc_pop's acquire of @head. */
  atomic_store_explicit (&q->head, head + 1, memory_order_release);
}

/* Whether the producer may queue one more frame (see CREDITS). */
static bool
spsc_has_credit (struct spsc *q)
{
  uint32_t head = atomic_load_explicit (&q->head, memory_order_relaxed);
  /* Relaxed: a stale tail only makes us wait a round longer. */
  uint32_t tail = atomic_load_explicit (&q->tail, memory_order_relaxed);

  return head - tail < CREDITS;
}

static bool
spsc_pop (struct spsc *q, struct frame_msg *m)
{
  uint32_t tail = atomic_load_explicit (&q->tail, memory_order_relaxed);

  if (atomic_load_explicit (&q->head, memory_order_acquire) == tail)
    return false;
  *m = q->items[tail % QUEUE_SIZE];
  atomic_store_explicit (&q->tail, tail + 1, memory_order_release);
  return true;
}

struct hammer_thread
{
  pthread_t thread;
  zc_region_t *region;
  pthread_barrier_t *ready;
  unsigned slot;
  _Atomic unsigned *slots;      /* every thread's slot, by thread number */
  int n;                        /* this thread's number */
  struct spsc *inbox;           /* from thread n - 1 */
  struct spsc *outbox;          /* to thread n + 1 */
};

/* Returns how many frames were received. */
static int
drain_inbox (zc_pool_t * pool, struct spsc *inbox, struct receiver *r)
{
  struct frame_msg m;
  int n = 0;

  for (; spsc_pop (inbox, &m); n++)
    receive_one (pool, r, &m);
  return n;
}

static void *
hammer_thread_main (void *data)
{
  struct hammer_thread *t = data;
  zc_pool_t *pool = zc_region_pool (t->region);
  zc_heartbeat_t *hb = zc_region_heartbeat (t->region);
  struct receiver r = { 0 };
  unsigned to_slot;
  struct timespec start, now;
  int64_t timeout_ns = 0;

  ZC_CHECK_OK (zc_heartbeat_allocate (hb, &t->slot));
  atomic_store (&t->slots[t->n], t->slot);
  /* Everyone's slot is known past the barrier (it orders the stores). */
  pthread_barrier_wait (t->ready);
  to_slot = atomic_load (&t->slots[(t->n + 1) % N_THREADS]);
  r.slot = t->slot;
  r.sender_slot = atomic_load (&t->slots[(t->n + N_THREADS - 1) % N_THREADS]);

  for (uint32_t counter = 0; counter < THREAD_CYCLES;) {
    bool credit = spsc_has_credit (t->outbox);
    int64_t index = -1;
    int received;

    if (credit)
      index = send_one (pool, t->slot, to_slot, counter, timeout_ns);

    if (index >= 0) {
      struct frame_msg m = { (uint32_t) index, counter };
      spsc_push (t->outbox, &m);
      counter++;
    }
    received = drain_inbox (pool, t->inbox, &r);
    /* Out of blocks and nothing of ours to give back: next time, sleep in
     * the pool until a neighbour returns one (the futex path). */
    timeout_ns = (credit && index < 0 && received == 0) ?
        ACQUIRE_TIMEOUT_NS : 0;
    /* Waiting for the receiver to catch up: let it run. */
    if (!credit && received == 0)
      sched_yield ();
    if ((counter & 1023) == 0)
      zc_heartbeat_touch (hb, t->slot);
  }

  /* Our predecessor may still be sending. */
  clock_gettime (CLOCK_MONOTONIC, &start);
  while (r.next_counter < THREAD_CYCLES) {
    drain_inbox (pool, t->inbox, &r);
    clock_gettime (CLOCK_MONOTONIC, &now);
    ZC_CHECK (now.tv_sec - start.tv_sec < STALL_TIMEOUT_S);
    sched_yield ();
  }
  return NULL;
}

static void
test_threads_hammer_acquire_release (void)
{
  struct hammer_thread threads[N_THREADS];
  struct spsc queues[N_THREADS];
  _Atomic unsigned slots[N_THREADS];
  pthread_barrier_t ready;
  zc_region_t *region;

  ZC_CHECK_OK (zc_region_create ("test-stress", &thread_config, &region));
  ZC_CHECK_OK (-pthread_barrier_init (&ready, NULL, N_THREADS));
  memset (queues, 0, sizeof (queues));

  for (int i = 0; i < N_THREADS; i++) {
    threads[i] = (struct hammer_thread) {
      .region = region,.ready = &ready,.slots = slots,.n = i,
      .inbox = &queues[(i + N_THREADS - 1) % N_THREADS],
      .outbox = &queues[i],
    };
    atomic_init (&slots[i], 0);
  }
  for (int i = 0; i < N_THREADS; i++)
    ZC_CHECK_OK (-pthread_create (&threads[i].thread, NULL,
            hammer_thread_main, &threads[i]));
  for (int i = 0; i < N_THREADS; i++)
    ZC_CHECK_OK (-pthread_join (threads[i].thread, NULL));

  for (int i = 0; i < N_THREADS; i++)
    ZC_CHECK_OK (zc_heartbeat_release (zc_region_heartbeat (region),
            threads[i].slot));
  check_pool_all_free (region, &thread_config);
  pthread_barrier_destroy (&ready);
  zc_region_close (region);
}

/* ---- processes -------------------------------------------------------- */

/* Receives one message; false if none is waiting (@wait_s 0) or, with a
 * wait, fails the peer after @wait_s seconds. */
static bool
recv_msg (int sock, void *msg, size_t len, int wait_s)
{
  for (;;) {
    ssize_t n = recv (sock, msg, len, MSG_DONTWAIT);
    struct pollfd pfd = { sock, POLLIN, 0 };

    if (n == (ssize_t) len)
      return true;
    ZC_CHECK (n < 0);           /* 0: hung up; other sizes: not ours */
    if (errno == EINTR)
      continue;
    ZC_CHECK (errno == EAGAIN || errno == EWOULDBLOCK);
    if (wait_s == 0)
      return false;
    ZC_CHECK (poll (&pfd, 1, wait_s * 1000) == 1);
  }
}

static void
send_msg (int sock, const void *msg, size_t len)
{
  ssize_t n;

  do
    n = send (sock, msg, len, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  ZC_CHECK_EQ (n, (ssize_t) len);
}

/* Peer: one participant of the ring.  @next_sock leads to the next peer
 * (frames out, its slot in), @prev_sock to the previous one (frames in,
 * our slot out). */
static int
peer_hammer (int meta_fd, int data_fd, int next_sock, int prev_sock)
{
  zc_region_t *region;
  zc_pool_t *pool;
  zc_heartbeat_t *hb;
  struct receiver r = { 0 };
  struct frame_msg m;
  unsigned slot, to_slot;
  int64_t timeout_ns = 0;

  prctl (PR_SET_PDEATHSIG, SIGKILL);
  ZC_CHECK_OK (zc_region_open (meta_fd, data_fd, &region));
  close (meta_fd);
  close (data_fd);
  pool = zc_region_pool (region);
  hb = zc_region_heartbeat (region);
  ZC_CHECK_OK (zc_heartbeat_allocate (hb, &slot));

  /* Slots both ways round the ring: all sends before any receive, so no
   * peer waits for one that waits in turn. */
  send_msg (prev_sock, &slot, sizeof (slot));
  send_msg (next_sock, &slot, sizeof (slot));
  recv_msg (next_sock, &to_slot, sizeof (to_slot), STALL_TIMEOUT_S);
  ZC_CHECK (to_slot < peer_config.n_slots && to_slot != slot);
  r.slot = slot;
  /* The sender's slot comes first on the frame socket, before frames. */
  recv_msg (prev_sock, &r.sender_slot, sizeof (r.sender_slot), STALL_TIMEOUT_S);

  for (uint32_t counter = 0; counter < PEER_CYCLES;) {
    int64_t index = send_one (pool, slot, to_slot, counter, timeout_ns);
    int received = 0;

    if (index >= 0) {
      m = (struct frame_msg) { (uint32_t) index, counter };
      send_msg (next_sock, &m, sizeof (m));
      counter++;
    }
    /* Once all frames are in, the sender may have left: stop asking. */
    for (; r.next_counter < PEER_CYCLES &&
        recv_msg (prev_sock, &m, sizeof (m), 0); received++)
      receive_one (pool, &r, &m);
    /* As in the threads' loop: sleep in the pool only with nothing of
     * ours to give back. */
    timeout_ns = (index < 0 && received == 0) ? ACQUIRE_TIMEOUT_NS : 0;
    if ((counter & 1023) == 0)
      zc_heartbeat_touch (hb, slot);
  }
  while (r.next_counter < PEER_CYCLES) {
    recv_msg (prev_sock, &m, sizeof (m), STALL_TIMEOUT_S);
    receive_one (pool, &r, &m);
  }

  ZC_CHECK_OK (zc_heartbeat_release (hb, slot));
  zc_region_close (region);
  close (next_sock);
  close (prev_sock);
  return 0;
}

static pid_t
spawn_hammer_peer (int meta_fd, int data_fd, int next_sock, int prev_sock)
{
  char args[4][16];
  char *argv[8];
  pid_t pid;

  snprintf (args[0], sizeof (args[0]), "%d", meta_fd);
  snprintf (args[1], sizeof (args[1]), "%d", data_fd);
  snprintf (args[2], sizeof (args[2]), "%d", next_sock);
  snprintf (args[3], sizeof (args[3]), "%d", prev_sock);
  argv[0] = (char *) zc_test_self ();
  argv[1] = (char *) "--peer";
  argv[2] = (char *) "hammer";
  for (int i = 0; i < 4; i++)
    argv[3 + i] = args[i];
  argv[7] = NULL;

  pid = fork ();
  ZC_CHECK (pid >= 0);
  if (pid == 0) {
    /* Only async-signal-safe calls until exec; everything else of ours is
     * O_CLOEXEC and stays behind. */
    fcntl (meta_fd, F_SETFD, 0);
    fcntl (data_fd, F_SETFD, 0);
    fcntl (next_sock, F_SETFD, 0);
    fcntl (prev_sock, F_SETFD, 0);
    execv (argv[0], argv);
    _exit (127);
  }
  return pid;
}

static void
test_processes_hammer_acquire_release (void)
{
  zc_region_t *region;
  int meta_fd, data_fd;
  int socks[N_PEERS][2];        /* [i][0]: peer i's out, [i][1]: peer i+1's in */
  pid_t pids[N_PEERS];

  ZC_CHECK_OK (zc_region_create ("test-stress", &peer_config, &region));
  ZC_CHECK_OK (zc_segment_writer_fds (zc_region_segment (region), &meta_fd,
          &data_fd));
  for (int i = 0; i < N_PEERS; i++)
    ZC_CHECK_OK (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
            socks[i]));

  for (int i = 0; i < N_PEERS; i++)
    pids[i] = spawn_hammer_peer (meta_fd, data_fd, socks[i][0],
        socks[(i + N_PEERS - 1) % N_PEERS][1]);
  /* Ours closed, a peer that dies is seen as a hang-up by its neighbours. */
  for (int i = 0; i < N_PEERS; i++) {
    close (socks[i][0]);
    close (socks[i][1]);
  }
  close (meta_fd);
  close (data_fd);

  for (int i = 0; i < N_PEERS; i++) {
    int status = zc_test_wait (pids[i], 2 * STALL_TIMEOUT_S);
    ZC_CHECK (status != -1);
    ZC_CHECK (WIFEXITED (status));
    ZC_CHECK_EQ (WEXITSTATUS (status), 0);
  }
  check_pool_all_free (region, &peer_config);
  zc_region_close (region);
}

int
main (int argc, char **argv)
{
  static const zc_test_case tests[] = {
    ZC_TEST (test_threads_hammer_acquire_release),
    ZC_TEST (test_processes_hammer_acquire_release),
  };

  if (argc == 7 && strcmp (argv[1], "--peer") == 0 &&
      strcmp (argv[2], "hammer") == 0)
    return peer_hammer (atoi (argv[3]), atoi (argv[4]), atoi (argv[5]),
        atoi (argv[6]));
  if (argc > 1 && strcmp (argv[1], "--peer") == 0)
    return 2;
  return zc_test_main (argc, argv, tests, ZC_N_TESTS (tests));
}

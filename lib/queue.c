/* gst-zerocopy core library: per-consumer descriptor queues.
 *
 * A queue is a ring of ZC_QUEUE_DEPTH descriptors with free-running 64-bit
 * positions: the producer writes at @head, the consumer reads at @tail,
 * both taken modulo the depth, so no wrap needs a special case.  The
 * producer creates the queues (zc_queues_construct), hands one to each
 * consumer that connects (zc_queue_reset), and from then on:
 *
 *   - push (producer) writes the entry, then stores @head; it refuses when
 *     the ring is full or the consumer is at its limit of queued + held;
 *   - pop (consumer) copies the entry out, then claims it by a CAS of
 *     @tail; revoke (producer) takes the oldest entry back by the same
 *     CAS.  The CAS decides who owns the entry; the loser's copy may have
 *     been torn by a later push into the same slot and is thrown away;
 *   - the consumer counts each popped entry in @taken and each block it
 *     gives back in @released; the producer sleeps on a futex while the
 *     consumer is at its limit (zc_queue_wait_space) and the consumer
 *     wakes it only when it knows the producer sleeps;
 *   - the consumer sleeps on a doorbell (an eventfd, the channel's) when
 *     the ring is empty, and the producer rings it only when the consumer
 *     said it sleeps.
 *
 * Concurrency: one producer thread and one consumer thread per queue, in
 * any processes.  zc_queue_outstanding() and zc_queue_wake_writer() may be
 * called from anywhere.  There is no lock; nothing a process killed
 * between two instructions leaves behind stops the other side for longer
 * than its own timeouts.
 *
 * Every word of a queue is writable by the consumer, so none is trusted:
 * ring indices are masked, position differences are bounded before use,
 * and no loop here runs for longer than a fixed number of rounds on what
 * it reads from the queue.
 *
 * The ring slots themselves are read and written one 64-bit word at a
 * time with relaxed atomics.  That is not for ordering (@head and @tail
 * do that) but because a pop racing with a revoke may copy a slot while
 * the producer reuses it; the copy is then discarded, but plain memcpy on
 * both sides would still be a data race in C11 terms (and ThreadSanitizer
 * says so).  Word-sized relaxed accesses cost the same as a memcpy here.
 */
#include <errno.h>
#include <stdint.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include <zc/error.h>
#include <zc/heartbeat.h>
#include <zc/queue.h>

#include "futex.h"

#define DEPTH ((uint64_t) ZC_QUEUE_DEPTH)
#define MASK (DEPTH - 1)
#define DESC_WORDS (sizeof (struct zc_desc) / sizeof (uint64_t))

_Static_assert ((ZC_QUEUE_DEPTH & (ZC_QUEUE_DEPTH - 1)) == 0,
    "depth is a power of two");
_Static_assert (sizeof (struct zc_desc) % sizeof (uint64_t) == 0,
    "descriptor copies go by 64-bit words");
_Static_assert (__builtin_offsetof (struct zc_queue, ring) % 8 == 0,
    "ring slots are 64-bit aligned");

/* A pop whose CAS keeps failing is being raced by a revoking producer (one
 * failure per revoke) or by a hostile one; after this many it gives up. */
#define POP_TRIES ZC_QUEUE_DEPTH

/* Lets the slot words be accessed as uint64_t whatever the descriptor's
 * own member types are. */
typedef uint64_t word_t __attribute__ ((may_alias));

uint64_t
zc_queues_footprint (uint32_t n_queues)
{
  return sizeof (struct zc_queues_header) +
      (uint64_t) n_queues * sizeof (struct zc_queue);
}

static bool
mem_is_aligned (const void *mem)
{
  return ((uintptr_t) mem % _Alignof (struct zc_queue)) == 0;
}

int
zc_queues_construct (zc_queues_t * qs, void *mem, uint64_t size,
    uint32_t n_queues)
{
  struct zc_queues_header *header = mem;

  if (qs == NULL || mem == NULL || !mem_is_aligned (mem))
    return -EINVAL;
  if (n_queues == 0 || n_queues > ZC_QUEUES_MAX)
    return -EINVAL;
  if (size < zc_queues_footprint (n_queues))
    return ZC_EBOUNDS;

  /* The memory is zeroed: every queue FREE, empty.  Nobody else sees it
   * before the region's construction bit is set with release order, so
   * plain stores are enough. */
  header->magic = ZC_QUEUES_MAGIC;
  header->n_queues = n_queues;
  header->depth = ZC_QUEUE_DEPTH;
  header->desc_size = sizeof (struct zc_desc);

  qs->header = header;
  qs->queues = (struct zc_queue *) (header + 1);
  qs->n_queues = n_queues;
  return 0;
}

int
zc_queues_attach (zc_queues_t * qs, void *mem, uint64_t size)
{
  volatile struct zc_queues_header *header = mem;
  uint32_t n_queues;

  if (qs == NULL || mem == NULL || !mem_is_aligned (mem))
    return -EINVAL;
  if (size < sizeof (struct zc_queues_header))
    return ZC_EBOUNDS;
  if (header->magic != ZC_QUEUES_MAGIC)
    return ZC_EBADMAGIC;
  if (header->depth != ZC_QUEUE_DEPTH
      || header->desc_size != sizeof (struct zc_desc))
    return ZC_EVERSION;

  /* Read the count once: the value checked is the value kept. */
  n_queues = header->n_queues;
  if (n_queues == 0 || n_queues > ZC_QUEUES_MAX)
    return ZC_EBOUNDS;
  if (size < zc_queues_footprint (n_queues))
    return ZC_EBOUNDS;

  qs->header = mem;
  qs->queues = (struct zc_queue *) (qs->header + 1);
  qs->n_queues = n_queues;
  return 0;
}

struct zc_queue *
zc_queues_get (const zc_queues_t * qs, uint32_t index)
{
  if (qs == NULL || qs->queues == NULL || index >= qs->n_queues)
    return NULL;
  return &qs->queues[index];
}

static uint32_t
clamp_limit (uint32_t limit)
{
  if (limit == 0)
    return 1;
  return limit > ZC_QUEUE_DEPTH ? ZC_QUEUE_DEPTH : limit;
}

void
zc_queue_reset (struct zc_queue *q, uint32_t limit)
{
  if (q == NULL)
    return;
  /* Relaxed: nobody uses the queue now; the new consumer learns about it
   * through the handshake, whose socket round trip orders all of this. */
  atomic_store_explicit (&q->head, 0, memory_order_relaxed);
  atomic_store_explicit (&q->tail, 0, memory_order_relaxed);
  atomic_store_explicit (&q->taken, 0, memory_order_relaxed);
  atomic_store_explicit (&q->released, 0, memory_order_relaxed);
  atomic_store_explicit (&q->delivered, 0, memory_order_relaxed);
  atomic_store_explicit (&q->dropped, 0, memory_order_relaxed);
  atomic_store_explicit (&q->revoked, 0, memory_order_relaxed);
  atomic_store_explicit (&q->reader_sleeping, 0, memory_order_relaxed);
  atomic_store_explicit (&q->writer_waiting, 0, memory_order_relaxed);
  atomic_store_explicit (&q->limit, clamp_limit (limit),
      memory_order_relaxed);
  /* Release: whoever sees ACTIVE (acquire) sees the zeroes above. */
  atomic_store_explicit (&q->state, ZC_QUEUE_ACTIVE, memory_order_release);
}

/* Entries between @tail and @head, at most the depth: a distance beyond it
 * (a @tail ahead of @head included, which wraps to a huge distance) can
 * only be corruption, and counts as a full ring so the producer stops. */
static uint64_t
queued_between (uint64_t head, uint64_t tail)
{
  uint64_t n = head - tail;

  return n > DEPTH ? DEPTH : n;
}

uint64_t
zc_queue_outstanding (const struct zc_queue *q)
{
  uint64_t head, tail, taken, released, queued, held;

  /* @tail first, with acquire: a pop counts its entry in @taken before
   * its CAS of @tail (release), so whenever we see the entry gone from the
   * ring we also see it held.  The reverse order could miss it in both,
   * and let the producer go one past the limit. */
  head = atomic_load_explicit (&q->head, memory_order_relaxed);
  tail = atomic_load_explicit (&q->tail, memory_order_acquire);
  /* seq_cst: the producer's half of the Dekker pair with the consumer's
   * updates of these two and its load of @writer_waiting (see
   * zc_queue_wait_space()). */
  taken = atomic_load_explicit (&q->taken, memory_order_seq_cst);
  released = atomic_load_explicit (&q->released, memory_order_seq_cst);

  queued = queued_between (head, tail);
  /* The counters are 64-bit and never wrap in practice: more released
   * than taken is a consumer's lie, counted as holding nothing. */
  held = taken > released ? taken - released : 0;
  return held > UINT64_MAX - queued ? UINT64_MAX : queued + held;
}

static uint32_t
current_limit (const struct zc_queue *q)
{
  /* Relaxed: a policy number, stale by a frame at worst. */
  return clamp_limit (atomic_load_explicit (&q->limit, memory_order_relaxed));
}

static void
desc_store (struct zc_desc *slot, const struct zc_desc *desc)
{
  uint64_t words[DESC_WORDS];
  word_t *dst = (word_t *) slot;

  memcpy (words, desc, sizeof (words));
  for (size_t i = 0; i < DESC_WORDS; i++)
    __atomic_store_n (&dst[i], words[i], __ATOMIC_RELAXED);
}

static void
desc_load (struct zc_desc *desc, const struct zc_desc *slot)
{
  uint64_t words[DESC_WORDS];
  const word_t *src = (const word_t *) slot;

  for (size_t i = 0; i < DESC_WORDS; i++)
    words[i] = __atomic_load_n (&src[i], __ATOMIC_RELAXED);
  memcpy (desc, words, sizeof (words));
}

/* Bumps the futex word, so a producer about to sleep on the old value
 * does not, and wakes one already asleep.  Every producer thread of every
 * process is woken: one producer per queue, but a process may also wait
 * from another thread while tearing down. */
static void
wake_space (struct zc_queue *q)
{
  atomic_fetch_add_explicit (&q->space_seq, 1, memory_order_seq_cst);
  zc_futex_wake_all (&q->space_seq);
}

/* The consumer's half of the Dekker pair: called after a seq_cst update
 * of @taken or @released that may have made room.  The flag is taken down
 * by whoever wakes the producer, so that the releases that follow, before
 * the producer is back on its feet, make no system call; a producer going
 * back to sleep raises it again first.  Loaded before the exchange: @head
 * shares the cache line, and a plain load keeps it shared. */
static void
space_made (struct zc_queue *q)
{
  if (atomic_load_explicit (&q->writer_waiting, memory_order_seq_cst)
      && atomic_exchange_explicit (&q->writer_waiting, 0,
          memory_order_seq_cst))
    wake_space (q);
}

void
zc_queue_ring (int fd)
{
  uint64_t one = 1;
  ssize_t r;

  /* EAGAIN means the counter is at its maximum: the reader will wake
   * anyway.  Any other error leaves the reader to its own timeout; the
   * entry is in the ring either way. */
  do
    r = write (fd, &one, sizeof (one));
  while (r < 0 && errno == EINTR);
}

int
zc_queue_push (struct zc_queue *q, const struct zc_desc *desc,
    int doorbell_fd)
{
  uint64_t head, tail;

  if (q == NULL || desc == NULL)
    return -EINVAL;

  /* Relaxed: @head is ours.  Acquire on @tail pairs with the release CAS
   * of the consumer: its copy out of the slot we are about to reuse is
   * done before we write it. */
  head = atomic_load_explicit (&q->head, memory_order_relaxed);
  tail = atomic_load_explicit (&q->tail, memory_order_acquire);
  /* Unsigned: a @tail ahead of @head gives a huge distance, refused too. */
  if (head - tail >= DEPTH)
    return -EAGAIN;
  /* Events (markers, end-of-stream) hold no block: the limit is about
   * blocks, and the ring keeps room above it for them (zc_queue_reset()
   * callers keep limits below the depth). */
  if (!(desc->flags & ZC_DESC_FLAG_NO_BLOCK)
      && zc_queue_outstanding (q) >= current_limit (q))
    return -EAGAIN;

  desc_store (&q->ring[head & MASK], desc);
  /* seq_cst: release for the slot written above (pairs with the acquire
   * load of @head in pop), and our half of the doorbell Dekker pair: of
   * this store and the consumer's store of @reader_sleeping, whichever
   * comes second in the single order sees the other.  Either we see the
   * consumer asleep and ring, or its re-check of @head sees the entry. */
  atomic_store_explicit (&q->head, head + 1, memory_order_seq_cst);
  /* Relaxed: a statistic, of frames. */
  if (!(desc->flags & ZC_DESC_FLAG_NO_BLOCK))
    atomic_fetch_add_explicit (&q->delivered, 1, memory_order_relaxed);

  if (doorbell_fd >= 0 && zc_queue_take_sleeper (q))
    zc_queue_ring (doorbell_fd);
  return 0;
}

bool
zc_queue_take_sleeper (struct zc_queue *q)
{
  /* seq_cst: the second half of the producer's side of the doorbell pair
   * (after its seq_cst store of @head in push).  Taking the flag down makes
   * this the one ring of the reader's sleep: a burst pushed before it wakes
   * costs one system call, not one each.  The plain load first keeps the
   * line shared while the reader is awake. */
  return q != NULL
      && atomic_load_explicit (&q->reader_sleeping, memory_order_seq_cst)
      && atomic_exchange_explicit (&q->reader_sleeping, 0,
      memory_order_seq_cst);
}

int
zc_queue_revoke (struct zc_queue *q, struct zc_desc *desc)
{
  uint64_t head, tail;
  struct zc_desc copy;

  if (q == NULL || desc == NULL)
    return -EINVAL;

  head = atomic_load_explicit (&q->head, memory_order_relaxed);
  tail = atomic_load_explicit (&q->tail, memory_order_relaxed);
  /* Nothing queued, or positions that make no sense: nothing to take. */
  if (head == tail || head - tail > DEPTH)
    return -EAGAIN;

  /* We wrote this slot ourselves and nobody else writes it, so the copy
   * is whole whatever the CAS below says. */
  desc_load (&copy, &q->ring[tail & MASK]);
  /* Events are never taken back: a marker lost would lose the control
   * message it orders.  Frames behind one wait their turn. */
  if (copy.flags & ZC_DESC_FLAG_NO_BLOCK)
    return -EAGAIN;
  /* acq_rel, as every move of @tail: if the consumer won instead, the
   * entry is its own and we return empty-handed. */
  if (!atomic_compare_exchange_strong_explicit (&q->tail, &tail, tail + 1,
          memory_order_acq_rel, memory_order_relaxed))
    return -EAGAIN;

  atomic_fetch_add_explicit (&q->revoked, 1, memory_order_relaxed);
  *desc = copy;
  return 0;
}

static inline void
cpu_relax (void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause ();
#elif defined(__aarch64__)
  __asm__ __volatile__ ("yield");
#endif
}

bool
zc_queue_spin (const struct zc_queue *q, uint64_t spin_ns)
{
  uint64_t end;

  if (q == NULL)
    return false;
  end = zc_now_ns () + spin_ns;
  do {
    /* A clock read per 64 looks: the watch costs cache hits, not calls. */
    for (unsigned i = 0; i < 64; i++) {
      /* Relaxed: a hint; zc_queue_pop() loads @head again with acquire
       * before it reads the slot. */
      if (atomic_load_explicit (&q->head, memory_order_relaxed) !=
          atomic_load_explicit (&q->tail, memory_order_relaxed))
        return true;
      cpu_relax ();
    }
  } while (zc_now_ns () < end);
  return false;
}

int
zc_queue_pop (struct zc_queue *q, struct zc_desc *desc)
{
  struct zc_desc copy;

  if (q == NULL || desc == NULL)
    return -EINVAL;

  for (unsigned tries = 0; tries < POP_TRIES; tries++) {
    uint64_t tail, head;

    /* Relaxed: only we and a revoking producer move @tail, each by a CAS
     * that tells whether the value we start from is still current. */
    tail = atomic_load_explicit (&q->tail, memory_order_relaxed);
    /* Acquire pairs with the seq_cst store of @head in push: the slot's
     * words are written before we copy them. */
    head = atomic_load_explicit (&q->head, memory_order_acquire);
    if (head == tail)
      return -EAGAIN;
    if (head - tail > DEPTH) {
      /* Legitimate when revokes moved @tail on and pushes moved @head
       * past our old @tail + depth between our two loads: look again.
       * Only a @tail that stands still is corrupt. */
      if (atomic_load_explicit (&q->tail, memory_order_relaxed) != tail)
        continue;
      return ZC_EBOUNDS;
    }

    desc_load (&copy, &q->ring[tail & MASK]);

    /* Counted as held before it leaves the ring, so the producer never
     * sees it in neither (see zc_queue_outstanding()).  seq_cst for the
     * undo below. */
    atomic_fetch_add_explicit (&q->taken, 1, memory_order_seq_cst);
    /* Release: our copy is done before the producer may reuse the slot
     * (pairs with its acquire load of @tail in push). */
    if (atomic_compare_exchange_strong_explicit (&q->tail, &tail, tail + 1,
            memory_order_acq_rel, memory_order_relaxed)) {
      *desc = copy;
      /* An event holds no block: it is done as soon as it is read. */
      if (copy.flags & ZC_DESC_FLAG_NO_BLOCK)
        zc_queue_note_release (q);
      return 0;
    }

    /* The producer revoked this entry first; our copy may be torn by a
     * later push into the same slot.  Take the count back, and since the
     * producer may have gone to sleep on the count we just undid, treat
     * it like a release. */
    atomic_fetch_sub_explicit (&q->taken, 1, memory_order_seq_cst);
    space_made (q);
  }
  return -EAGAIN;
}

void
zc_queue_note_release (struct zc_queue *q)
{
  if (q == NULL)
    return;
  /* seq_cst: the consumer's half of the Dekker pair with the producer's
   * store of @writer_waiting (see zc_queue_wait_space()). */
  atomic_fetch_add_explicit (&q->released, 1, memory_order_seq_cst);
  /* Hysteresis: a producer that outruns its consumer would otherwise be
   * woken for every single release and sleep again after one push, two
   * system calls and two context switches per frame.  It is woken once
   * half the limit is free, or as soon as the reader sleeps (here, or in
   * zc_queue_prepare_sleep()): a reader that waits for frames while it
   * holds more than half never stalls the producer.  seq_cst on
   * @reader_sleeping: a reader whose own check missed the producer's
   * @writer_waiting stored its flag before that store, which we saw, so
   * we see the flag (or a later 0: then the reader is awake and will
   * check again before it sleeps). */
  if (atomic_load_explicit (&q->writer_waiting, memory_order_seq_cst)
      && zc_queue_outstanding (q) > current_limit (q) / 2
      && !atomic_load_explicit (&q->reader_sleeping, memory_order_seq_cst))
    return;
  space_made (q);
}

bool
zc_queue_sleeps_on_cpu (const struct zc_queue *q, int cpu)
{
  return q != NULL && cpu >= 0 && atomic_load_explicit (&q->reader_cpu,
      memory_order_relaxed) == (uint32_t) cpu + 1;
}

bool
zc_queue_prepare_sleep (struct zc_queue *q)
{
  uint64_t head, tail;
  int cpu = sched_getcpu ();

  if (q == NULL)
    return false;
  /* Relaxed: a hint, read by a producer that saw us asleep. */
  atomic_store_explicit (&q->reader_cpu, cpu >= 0 ? (uint32_t) cpu + 1 : 0,
      memory_order_relaxed);
  /* seq_cst, with the load of @head below: the consumer's half of the
   * doorbell pair (see the store of @head in push). */
  atomic_store_explicit (&q->reader_sleeping, 1, memory_order_seq_cst);
  head = atomic_load_explicit (&q->head, memory_order_seq_cst);
  tail = atomic_load_explicit (&q->tail, memory_order_relaxed);
  /* A producer waiting for space while we hold frames and wait for more
   * (releases skipped its wake, see zc_queue_note_release()) goes on. */
  space_made (q);
  /* Corrupt positions count as "something there": pop then reports them
   * instead of the consumer sleeping on a queue that will never ring. */
  return head != tail;
}

void
zc_queue_finish_sleep (struct zc_queue *q, int doorbell_fd)
{
  uint64_t count;
  ssize_t r;

  if (q == NULL)
    return;
  /* Relaxed: a producer still seeing 1 rings once more, which costs a
   * spurious wake-up, nothing else.  Cleared before draining, so that
   * every ring that comes after the drain belongs to a later sleep. */
  atomic_store_explicit (&q->reader_sleeping, 0, memory_order_relaxed);
  if (doorbell_fd < 0)
    return;
  /* One read empties an eventfd (without EFD_SEMAPHORE). */
  do
    r = read (doorbell_fd, &count, sizeof (count));
  while (r < 0 && errno == EINTR);
}

/* Dekker between a waiting producer and a releasing consumer, seq_cst:
 *
 *   producer                           consumer
 *   writer_waiting = 1                 released++ (or taken--)
 *   seen = space_seq                   if (writer_waiting)
 *   outstanding >= limit?                space_seq++, FUTEX_WAKE
 *     FUTEX_WAIT (space_seq == seen?)
 *
 * If the producer's load of @released misses the increment, that load is
 * before the increment in the single order, so the store of
 * @writer_waiting is before the consumer's load of it: the consumer bumps
 * @space_seq, after our load of @seen, and the kernel either finds the
 * word changed or wakes us.  A missed wake-up would need both loads to
 * miss both stores, which seq_cst rules out.
 */
int
zc_queue_wait_space (struct zc_queue *q, int64_t timeout_ns)
{
  uint64_t deadline;
  int ret;

  if (q == NULL)
    return -EINVAL;
  deadline = timeout_ns > 0 ? zc_deadline_after (timeout_ns) : UINT64_MAX;

  for (;;) {
    uint32_t seen;

    atomic_store_explicit (&q->writer_waiting, 1, memory_order_seq_cst);
    /* Acquire, and before the checks: a release or a state change after
     * this load bumps the word, so the wait below returns at once. */
    seen = atomic_load_explicit (&q->space_seq, memory_order_acquire);

    if (zc_queue_outstanding (q) < current_limit (q)) {
      ret = 0;
      break;
    }
    /* Relaxed: wake_writer()'s bump, read above with acquire, orders it. */
    if (atomic_load_explicit (&q->state, memory_order_relaxed) !=
        ZC_QUEUE_ACTIVE) {
      ret = ZC_ESTATE;
      break;
    }
    if (timeout_ns == 0) {
      ret = -ETIMEDOUT;
      break;
    }
    /* Woken, word already changed or timed out: go round again, the
     * checks and the deadline decide.  A signal is the caller's. */
    ret = zc_futex_wait (&q->space_seq, seen, deadline);
    if (ret < 0)
      break;
  }

  /* Relaxed: a stale 1 only costs the consumer a needless wake. */
  atomic_store_explicit (&q->writer_waiting, 0, memory_order_relaxed);
  return ret;
}

void
zc_queue_wake_writer (struct zc_queue *q)
{
  if (q == NULL)
    return;
  wake_space (q);
}

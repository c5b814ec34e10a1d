/* gst-zerocopy core library: pools of equal-size blocks.
 *
 * The creator sizes a pool (zc_pool_footprint), builds it in place inside
 * a segment (zc_pool_construct), and every other participant attaches to
 * it (zc_pool_attach).  From then on any participant may claim a block,
 * hold references on blocks and drop them; the block layout and the life
 * of a block are drawn in pool.h.
 *
 * Who owns what:
 *   - the pool header's geometry (n_blocks, sizes, stride) is written once
 *     by the creator.  It sits in the metadata file, which every
 *     participant can write, so it is read exactly once, in attach, checked
 *     there, and the checked copies in zc_pool_t are the only ones used
 *     afterwards: a peer rewriting the header later cannot make us index
 *     outside our mappings;
 *   - a block's state word belongs to whoever won the FREE -> USING claim
 *     until it is published, then to nobody: only the last releaser moves
 *     it on, to CLEAN and FREE;
 *   - a block's holder mask is shared: participant i only ever clears bit i
 *     (or, once i is dead, the one participant reclaiming slot i does).
 *
 * Concurrency: every call may run at the same time in any number of
 * threads of any number of processes.  There is no lock.  A claim is one
 * CAS, a release one fetch_and; waiting for a free block sleeps on a
 * process-shared futex (FUTEX_WAIT without FUTEX_PRIVATE_FLAG: the key is
 * the shared page, so a release in one process wakes a sleeper in
 * another).  Nothing can be left half done by a process killed between two
 * instructions, except a claim whose holder bit is not yet written, which
 * zc_pool_reclaim_participant() recognises by the owner recorded in the
 * state word.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <zc/error.h>
#include <zc/pool.h>
#include <zc/segment.h>

#include "futex.h"

#define POOL_HEADER_SIZE ((uint64_t) sizeof (struct zc_pool_header))
#define BLOCK_CTL_SIZE ((uint64_t) sizeof (struct zc_block_ctl))
#define TRAILER_SIZE ((uint64_t) sizeof (struct zc_block_trailer))
#define CAPACITY_ALIGN 64u
#define MAX_BLOCK_SIZE (UINT64_C (1) << 30)
#define KNOWN_FLAGS (ZC_POOL_FLAG_CRC | ZC_POOL_FLAG_NO_BREAKER)

/* Both ranges must be cache-line aligned: the control lines are one line
 * each, and the user data of every block must start 64-byte aligned. */
#define RANGE_ALIGN 64u

#define STATE_MASK 0xffu
#define OWNER_SHIFT 8

/* Rounds @v up to @align (a power of two).  Callers bound @v far below
 * UINT64_MAX first. */
static uint64_t
align_up (uint64_t v, uint64_t align)
{
  return (v + align - 1) & ~(align - 1);
}

static uint32_t
using_state (unsigned slot)
{
  return ZC_BLOCK_USING | ((uint32_t) slot << OWNER_SHIFT);
}

/* The geometry of a pool of @block_size x @n_blocks, computed in one place
 * for the creator (footprint, construct) and for the checks of attach. */
static int
pool_geometry (uint64_t block_size, uint32_t n_blocks, uint64_t * capacity,
    uint64_t * stride, uint64_t * meta_size, uint64_t * data_size)
{
  uint64_t cap, str, data;

  if (block_size == 0 || n_blocks == 0 || n_blocks > ZC_POOL_MAX_BLOCKS)
    return -EINVAL;
  if (block_size > MAX_BLOCK_SIZE)
    return -EFBIG;

  /* block_size <= 2^30 and n_blocks <= 2^16: stride < 2^31 and the product
   * below stays under 2^47, so none of this can wrap. */
  cap = align_up (block_size, CAPACITY_ALIGN);
  str = align_up (ZC_BLOCK_HEADER_SIZE + cap + TRAILER_SIZE, ZC_BLOCK_ALIGN);
  data = str * n_blocks;
  if (data > ZC_SEGMENT_MAX_SIZE)
    return -EFBIG;

  *capacity = cap;
  *stride = str;
  *meta_size = POOL_HEADER_SIZE + BLOCK_CTL_SIZE * n_blocks;
  *data_size = data;
  return 0;
}

int
zc_pool_footprint (const zc_pool_config_t * config, uint64_t * meta_size,
    uint64_t * data_size)
{
  uint64_t capacity, stride;

  if (config == NULL || meta_size == NULL || data_size == NULL ||
      (config->flags & ~KNOWN_FLAGS) != 0)
    return -EINVAL;

  return pool_geometry (config->block_size, config->n_blocks, &capacity,
      &stride, meta_size, data_size);
}

int
zc_pool_construct (zc_pool_t * pool, const zc_pool_config_t * config,
    void *meta, uint64_t meta_size, void *data, uint64_t data_size)
{
  struct zc_pool_header *hdr = meta;
  uint64_t capacity, stride, meta_need, data_need;
  uint32_t i;
  int ret;

  if (pool == NULL || config == NULL || meta == NULL || data == NULL ||
      ((uintptr_t) meta % RANGE_ALIGN) != 0 ||
      ((uintptr_t) data % RANGE_ALIGN) != 0 ||
      (config->flags & ~KNOWN_FLAGS) != 0)
    return -EINVAL;
  ret = pool_geometry (config->block_size, config->n_blocks, &capacity,
      &stride, &meta_need, &data_need);
  if (ret < 0)
    return ret;
  if (meta_size < meta_need || data_size < data_need)
    return ZC_EBOUNDS;

  /* The ranges come zeroed from the segment: every control line is
   * already FREE with no holder.  Nobody else can see the pool until the
   * creator sets its construction bit (release), so plain stores do. */
  hdr->magic = ZC_POOL_MAGIC;
  hdr->n_blocks = config->n_blocks;
  hdr->block_size = config->block_size;
  hdr->block_capacity = capacity;
  hdr->block_stride = stride;
  hdr->flags = config->flags;

  memset (pool, 0, sizeof (*pool));
  pool->header = hdr;
  pool->ctl = (struct zc_block_ctl *) ((uint8_t *) meta + POOL_HEADER_SIZE);
  pool->data = data;
  pool->n_blocks = config->n_blocks;
  pool->flags = config->flags;
  pool->capacity = capacity;
  pool->stride = stride;
  pool->data_writable = true;
  atomic_init (&pool->flushing, false);

  for (i = 0; i < config->n_blocks; i++) {
    struct zc_block_header *bh = zc_pool_block_header (pool, i);
    struct zc_block_trailer *bt = zc_pool_block_trailer (pool, i);

    bh->magic = ZC_BLOCK_MAGIC;
    bh->index = i;
    bt->magic = ZC_TRAILER_MAGIC;
  }
  return 0;
}

int
zc_pool_attach (zc_pool_t * pool, void *meta, uint64_t meta_size,
    void *data, uint64_t data_size, bool data_writable)
{
  const struct zc_pool_header *hdr = meta;
  uint64_t block_size, capacity, stride, meta_need, data_need;
  uint32_t n_blocks, flags;

  if (pool == NULL || meta == NULL ||
      ((uintptr_t) meta % RANGE_ALIGN) != 0 ||
      (data == NULL && data_size != 0) || ((uintptr_t) data % RANGE_ALIGN) != 0)
    return -EINVAL;
  if (meta_size < POOL_HEADER_SIZE)
    return ZC_EBOUNDS;

  /* One read of each field: what is checked is what is used. */
  if (hdr->magic != ZC_POOL_MAGIC)
    return ZC_EBADMAGIC;
  n_blocks = hdr->n_blocks;
  block_size = hdr->block_size;
  flags = hdr->flags & KNOWN_FLAGS;     /* unknown bits: a newer creator's */

  if (pool_geometry (block_size, n_blocks, &capacity, &stride, &meta_need,
          &data_need) < 0)
    return ZC_EBOUNDS;
  if (hdr->block_capacity != capacity || hdr->block_stride != stride ||
      meta_size < meta_need || data_size < data_need)
    return ZC_EBOUNDS;

  memset (pool, 0, sizeof (*pool));
  pool->header = meta;
  pool->ctl = (struct zc_block_ctl *) ((uint8_t *) meta + POOL_HEADER_SIZE);
  pool->data = data;
  pool->n_blocks = n_blocks;
  pool->flags = flags;
  pool->capacity = capacity;
  pool->stride = stride;
  pool->data_writable = data_writable;
  atomic_init (&pool->flushing, false);
  return 0;
}

/* Wakes every sleeper of every process.  Waking one would be enough for
 * one returned block only if the woken acquirer were sure to take it, but
 * it may leave without a block (its deadline passed, its own process is
 * flushing, the pool tripped) and the wake-up would be lost for the others.
 * The herd is the number of writers blocked on one pool, typically one. */
static void
wake_all (zc_pool_t * pool)
{
  zc_futex_wake_all (&pool->header->release_seq);
}

/* Bumps the futex word so that a sleeper about to sleep sees a change,
 * and wakes the ones already asleep.  The comment on block_return() tells
 * why the seq_cst pair (bump, load of waiters) cannot miss a sleeper. */
static void
signal_waiters (zc_pool_t * pool)
{
  atomic_fetch_add_explicit (&pool->header->release_seq, 1,
      memory_order_seq_cst);
  if (atomic_load_explicit (&pool->header->waiters, memory_order_seq_cst) > 0)
    wake_all (pool);
}

/* The lowest free block: a pool larger than what is in flight then keeps
 * reusing the same few blocks, which are still in the CPU's caches (and
 * the TLB) from their last use.  Rotating through all of them (the block
 * released longest ago first) made every frame a cold one: 1080p frames
 * were drawn 30-50% slower from a 16-block pool than from a 3-block one. */
static bool
try_claim (zc_pool_t * pool, unsigned slot, uint32_t * index)
{
  uint32_t n = pool->n_blocks;

  for (uint32_t i = 0; i < n; i++) {
    struct zc_block_ctl *ctl = &pool->ctl[i];
    uint32_t expected = ZC_BLOCK_FREE;

    if (atomic_load_explicit (&ctl->state, memory_order_relaxed) != expected)
      continue;
    /* Acquire pairs with the release store of FREE by the block's last
     * releaser: every holder's reads of the old frame happen before our
     * writes of the new one. */
    if (!atomic_compare_exchange_strong_explicit (&ctl->state, &expected,
            using_state (slot), memory_order_acquire, memory_order_relaxed))
      continue;
    /* Relaxed: nobody else looks at a USING block's holders until the
     * publish (release store of PUBLISHED) or the reclaim of a dead @slot,
     * which both come later in an order of their own. */
    atomic_store_explicit (&ctl->holders, UINT64_C (1) << slot,
        memory_order_relaxed);
    *index = i;
    return true;
  }
  return false;
}

int
zc_pool_acquire (zc_pool_t * pool, unsigned slot, int64_t timeout_ns,
    uint32_t * index)
{
  struct zc_pool_header *hdr;
  uint64_t deadline;

  if (pool == NULL || index == NULL || slot >= ZC_MAX_PARTICIPANTS)
    return -EINVAL;
  if (!pool->data_writable)
    return ZC_EREADONLY;
  hdr = pool->header;
  deadline = timeout_ns > 0 ? zc_deadline_after (timeout_ns) : UINT64_MAX;

  for (;;) {
    uint32_t seen;
    int r;

    /* Read the futex word before looking at anything it announces: a
     * release, flush or trip after this load changes the word, so the
     * futex wait below returns at once instead of missing it.  The
     * acquire half also makes the flag loads below see whatever was
     * stored before the bump we read. */
    seen = atomic_load_explicit (&hdr->release_seq, memory_order_seq_cst);

    if (atomic_load_explicit (&pool->flushing, memory_order_relaxed))
      return -ECANCELED;
    if (!(pool->flags & ZC_POOL_FLAG_NO_BREAKER) &&
        atomic_load_explicit (&hdr->tripped, memory_order_relaxed))
      return ZC_ETRIPPED;
    if (try_claim (pool, slot, index))
      return 0;
    if (timeout_ns == 0)
      return -EAGAIN;

    /* seq_cst: our half of the Dekker pair drawn above block_return(). */
    atomic_fetch_add_explicit (&hdr->waiters, 1, memory_order_seq_cst);
    r = zc_futex_wait (&hdr->release_seq, seen, deadline);
    atomic_fetch_sub_explicit (&hdr->waiters, 1, memory_order_seq_cst);

    /* Woken, word already changed, signal or timed out: all go round
     * again, the deadline check decides. */
    if (r == -ETIMEDOUT)
      return r;
    if (r < 0 && r != -EINTR)
      return r;
  }
}

int
zc_pool_add_holders (zc_pool_t * pool, unsigned slot, uint32_t index,
    uint64_t holders)
{
  struct zc_block_ctl *ctl;
  uint64_t bit;

  if (pool == NULL || slot >= ZC_MAX_PARTICIPANTS)
    return -EINVAL;
  if (index >= pool->n_blocks)
    return ZC_EBOUNDS;
  ctl = &pool->ctl[index];
  bit = UINT64_C (1) << slot;

  /* Checking and then adding is safe: only @slot clears its own bit (or
   * the reclaim of @slot, once @slot is dead), so the block cannot be
   * returned between the two while the caller's reference is alive. */
  if (!(atomic_load_explicit (&ctl->holders, memory_order_relaxed) & bit))
    return ZC_ESTATE;
  /* Relaxed: the new holders learn the index through a queue or the
   * PUBLISHED store, whose own release orders this after. */
  atomic_fetch_or_explicit (&ctl->holders, holders, memory_order_relaxed);
  return 0;
}

/* Dekker between a releaser and a sleeping acquirer, both seq_cst:
 *
 *   releaser                          acquirer
 *   state = FREE         (release)    seen = release_seq
 *   release_seq++        (seq_cst)    scan: nothing FREE
 *   if (waiters > 0)     (seq_cst)    waiters++              (seq_cst)
 *     FUTEX_WAKE                      FUTEX_WAIT (release_seq == seen?)
 *
 * If the acquirer's load of release_seq saw the bump, it synchronizes with
 * it and its scan sees the FREE block.  Otherwise, in the single order of
 * seq_cst operations, either waiters++ comes before the releaser's load of
 * waiters, which then sees the sleeper and wakes it (and if the sleeper is
 * not yet in the kernel, the kernel's own check of release_seq under the
 * futex bucket lock sees the bump and does not sleep); or the load comes
 * first, so the bump precedes waiters++ and with it the kernel's check,
 * which again refuses to sleep.  Either way nobody sleeps past a release.
 */
static void
block_return (zc_pool_t * pool, struct zc_block_ctl *ctl)
{
  /* CLEAN marks "being returned" for stats and post-mortems; relaxed, the
   * FREE store below is the one that publishes. */
  atomic_store_explicit (&ctl->state, ZC_BLOCK_CLEAN, memory_order_relaxed);
  /* Release pairs with the acquire CAS of the next claim. */
  atomic_store_explicit (&ctl->state, ZC_BLOCK_FREE, memory_order_release);
  signal_waiters (pool);
}

int
zc_pool_release (zc_pool_t * pool, unsigned slot, uint32_t index)
{
  struct zc_block_ctl *ctl;
  uint64_t bit, old;

  if (pool == NULL || slot >= ZC_MAX_PARTICIPANTS)
    return -EINVAL;
  if (index >= pool->n_blocks)
    return ZC_EBOUNDS;
  ctl = &pool->ctl[index];
  bit = UINT64_C (1) << slot;

  /* acq_rel: release so our reads of the block happen before the last
   * releaser returns it; acquire so that, when we are the last, every other
   * holder's release (a chain of RMWs on this word) happens before ours. */
  old = atomic_fetch_and_explicit (&ctl->holders, ~bit, memory_order_acq_rel);
  if (!(old & bit))
    return ZC_ESTATE;
  if (old != bit)
    return 0;

  block_return (pool, ctl);
  return 1;
}

int
zc_pool_reclaim_participant (zc_pool_t * pool, unsigned slot)
{
  uint64_t bit;
  uint32_t i;
  int count = 0;

  if (pool == NULL || slot >= ZC_MAX_PARTICIPANTS)
    return -EINVAL;
  bit = UINT64_C (1) << slot;

  for (i = 0; i < pool->n_blocks; i++) {
    struct zc_block_ctl *ctl = &pool->ctl[i];
    uint32_t expected = using_state (slot);

    /* A block @slot claimed and never published: nobody else was ever
     * given its index (that happens after publish), so every holder bit on
     * it is @slot's doing, including the readers' bits of a publish cut
     * short, and the holder store may not even have happened yet.  Take
     * the block back whole.  Acquire: our clearing of the mask below stays
     * after the CAS that made the block ours. */
    if (atomic_compare_exchange_strong_explicit (&ctl->state, &expected,
            ZC_BLOCK_CLEAN, memory_order_acquire, memory_order_relaxed)) {
      /* CLEAN: no claim can take it while we clear the mask. */
      atomic_store_explicit (&ctl->holders, 0, memory_order_relaxed);
      block_return (pool, ctl);
      count++;
      continue;
    }
    if (atomic_load_explicit (&ctl->holders, memory_order_relaxed) & bit) {
      if (zc_pool_release (pool, slot, i) >= 0)
        count++;
    }
  }
  return count;
}

uint64_t
zc_pool_holders (const zc_pool_t * pool)
{
  uint64_t mask = 0;

  if (pool == NULL)
    return 0;
  /* Relaxed: a snapshot for a decision that is made again later (the
   * control thread's next tick), as zc_pool_get_stats(). */
  for (uint32_t i = 0; i < pool->n_blocks; i++)
    mask |= atomic_load_explicit (&pool->ctl[i].holders, memory_order_relaxed);
  return mask;
}

void
zc_pool_set_flushing (zc_pool_t * pool, bool flushing)
{
  if (pool == NULL)
    return;
  /* Relaxed: the seq_cst bump below releases it, and acquire reads the
   * bump before the flag (see zc_pool_acquire()). */
  atomic_store_explicit (&pool->flushing, flushing, memory_order_relaxed);
  if (flushing) {
    /* Our own sleepers share the futex with other processes' sleepers:
     * wake them all, the others just look again and go back to sleep. */
    atomic_fetch_add_explicit (&pool->header->release_seq, 1,
        memory_order_seq_cst);
    wake_all (pool);
  }
}

void
zc_pool_trip (zc_pool_t * pool)
{
  if (pool == NULL)
    return;
  /* Relaxed: a counter for diagnostics. */
  atomic_fetch_add_explicit (&pool->header->trip_count, 1,
      memory_order_relaxed);
  if (pool->flags & ZC_POOL_FLAG_NO_BREAKER)
    return;
  /* Relaxed, released by the bump, as the flushing flag. */
  atomic_store_explicit (&pool->header->tripped, 1, memory_order_relaxed);
  atomic_fetch_add_explicit (&pool->header->release_seq, 1,
      memory_order_seq_cst);
  wake_all (pool);
}

void
zc_pool_reset_trip (zc_pool_t * pool)
{
  if (pool == NULL)
    return;
  atomic_store_explicit (&pool->header->tripped, 0, memory_order_relaxed);
}

void
zc_pool_get_stats (const zc_pool_t * pool, zc_pool_stats_t * stats)
{
  struct zc_pool_header *hdr;
  uint32_t i;

  if (stats == NULL)
    return;
  memset (stats, 0, sizeof (*stats));
  if (pool == NULL)
    return;
  hdr = pool->header;

  /* A snapshot, not a consistent cut: relaxed loads throughout. */
  stats->n_blocks = pool->n_blocks;
  for (i = 0; i < pool->n_blocks; i++) {
    uint32_t s = atomic_load_explicit (&pool->ctl[i].state,
        memory_order_relaxed);

    switch (s & STATE_MASK) {
      case ZC_BLOCK_FREE:
        stats->n_free++;
        break;
      case ZC_BLOCK_USING:
        stats->n_using++;
        break;
      case ZC_BLOCK_PUBLISHED:
      case ZC_BLOCK_CLEAN:
        stats->n_published++;
        break;
      default:
        break;
    }
  }
  stats->tripped = atomic_load_explicit (&hdr->tripped, memory_order_relaxed);
  stats->trip_count = atomic_load_explicit (&hdr->trip_count,
      memory_order_relaxed);
  stats->waiters = atomic_load_explicit (&hdr->waiters, memory_order_relaxed);
  stats->sequence = atomic_load_explicit (&hdr->sequence, memory_order_relaxed);
}

struct zc_block_header *
zc_pool_block_header (const zc_pool_t * pool, uint32_t index)
{
  return (struct zc_block_header *) (pool->data +
      (size_t) (pool->stride * index));
}

struct zc_block_trailer *
zc_pool_block_trailer (const zc_pool_t * pool, uint32_t index)
{
  return (struct zc_block_trailer *) (pool->data +
      (size_t) (pool->stride * index) + ZC_BLOCK_HEADER_SIZE + pool->capacity);
}

uint8_t *
zc_pool_block_data (const zc_pool_t * pool, uint32_t index)
{
  return pool->data + (size_t) (pool->stride * index) + ZC_BLOCK_HEADER_SIZE;
}

/* gst-zerocopy core library: guards.
 *
 * A guard is one reference on one block, held by one participant slot of
 * this process, in caller storage.  The pool (pool.c) counts references;
 * the guard decides what may be done with the block while the reference
 * is held, and checks the block at every boundary it crosses:
 *
 *   zc_guard_acquire   claim a FREE block (write guard), arm its trailer
 *   zc_guard_publish   L0 check, stamp header + CRC (L2), add readers,
 *                      state PUBLISHED; the guard becomes a read guard
 *   zc_guard_open      read guard on a block published to us, all checked
 *   zc_guard_release   L0 check, drop the reference
 *   zc_guard_forget    leave the reference to another owner
 *
 * Any corruption found (trailer magic gone, CRC mismatch) trips the pool's
 * circuit breaker (L1, zc_pool_trip), so the writer stops filling blocks
 * until its owner looks at the cause.
 *
 * Trust: the block header and trailer live in the data file, which only
 * writers can write, but a buggy writer can still rewrite them at any time.
 * So a size read from a header is bounded by the pool's own capacity every
 * time it is used, not only when the guard is opened.
 *
 * Concurrency: a guard is used by one thread at a time (the caller's
 * locking otherwise).  Different guards on the same block, in any
 * processes, are independent: the publish store of PUBLISHED (release) and
 * the open load (acquire) are the only order they need.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include <zc/error.h>
#include <zc/guard.h>

static void
guard_clear (zc_guard_t * guard)
{
  guard->pool = NULL;
  guard->index = 0;
  guard->slot = 0;
  guard->mode = ZC_GUARD_NONE;
}

static bool
trailer_intact (const zc_guard_t * guard)
{
  const struct zc_block_trailer *t =
      zc_pool_block_trailer (guard->pool, guard->index);

  return t->magic == ZC_TRAILER_MAGIC;
}

/* The header's data size, bounded by what the block can hold: a writer
 * may rewrite the header after the checks of zc_guard_open(). */
static uint64_t
published_size (const zc_guard_t * guard)
{
  const volatile struct zc_block_header *h =
      zc_pool_block_header (guard->pool, guard->index);
  uint64_t size = h->data_size;

  return size <= guard->pool->capacity ? size : guard->pool->capacity;
}

int
zc_guard_acquire (zc_pool_t * pool, unsigned slot, int64_t timeout_ns,
    zc_guard_t * guard)
{
  struct zc_block_trailer *t;
  uint32_t index;
  int ret;

  if (pool == NULL || guard == NULL || slot >= ZC_MAX_PARTICIPANTS)
    return -EINVAL;
  guard_clear (guard);

  ret = zc_pool_acquire (pool, slot, timeout_ns, &index);
  if (ret < 0)
    return ret;

  /* Arm L0 for this frame: the trailer is whole when the writer starts, so
   * a damaged one at publish was damaged by this writer, and a stale CRC
   * of an earlier frame can never be mistaken for this one's. */
  t = zc_pool_block_trailer (pool, index);
  t->magic = ZC_TRAILER_MAGIC;
  t->crc32c = 0;
  t->has_crc = 0;

  guard->pool = pool;
  guard->index = index;
  guard->slot = (uint16_t) slot;
  guard->mode = ZC_GUARD_WRITE;
  return 0;
}

int
zc_guard_open (zc_pool_t * pool, unsigned slot, uint32_t index,
    zc_guard_t * guard)
{
  const struct zc_block_header *h;
  struct zc_block_ctl *ctl;

  if (pool == NULL || guard == NULL || slot >= ZC_MAX_PARTICIPANTS)
    return -EINVAL;
  guard_clear (guard);
  if (index >= pool->n_blocks)
    return ZC_EBOUNDS;
  ctl = &pool->ctl[index];

  /* Acquire pairs with the release store of PUBLISHED in
   * zc_guard_publish(): the header, the data, the trailer and the readers'
   * holder bits are all visible from here on. */
  if (atomic_load_explicit (&ctl->state, memory_order_acquire) !=
      ZC_BLOCK_PUBLISHED)
    return ZC_ESTATE;
  if (!(atomic_load_explicit (&ctl->holders, memory_order_relaxed) &
          (UINT64_C (1) << slot)))
    return ZC_ESTATE;

  h = zc_pool_block_header (pool, index);
  if (h->magic != ZC_BLOCK_MAGIC || h->index != index)
    return ZC_EBADMAGIC;
  if (h->data_size > pool->capacity)
    return ZC_EBOUNDS;

  guard->pool = pool;
  guard->index = index;
  guard->slot = (uint16_t) slot;
  guard->mode = ZC_GUARD_READ;
  return 0;
}

int
zc_guard_map_write (const zc_guard_t * guard, void **data, uint64_t * capacity)
{
  if (guard == NULL || data == NULL)
    return -EINVAL;
  if (guard->mode == ZC_GUARD_NONE)
    return ZC_ESTATE;
  if (guard->mode != ZC_GUARD_WRITE)
    return ZC_EREADONLY;

  *data = zc_pool_block_data (guard->pool, guard->index);
  if (capacity != NULL)
    *capacity = guard->pool->capacity;
  return 0;
}

int
zc_guard_map_read (const zc_guard_t * guard, const void **data, uint64_t * size)
{
  if (guard == NULL || data == NULL)
    return -EINVAL;
  if (guard->mode == ZC_GUARD_NONE)
    return ZC_ESTATE;

  *data = zc_pool_block_data (guard->pool, guard->index);
  if (size != NULL)
    *size = guard->mode == ZC_GUARD_WRITE ?
        guard->pool->capacity : published_size (guard);
  return 0;
}

int
zc_guard_publish (zc_guard_t * guard, uint64_t size, uint64_t timestamp_ns,
    uint64_t readers, uint64_t * sequence)
{
  zc_pool_t *pool;
  struct zc_block_ctl *ctl;
  struct zc_block_header *h;
  struct zc_block_trailer *t;
  uint64_t seq;
  uint32_t owned;

  if (guard == NULL)
    return -EINVAL;
  if (guard->mode == ZC_GUARD_NONE)
    return ZC_ESTATE;
  if (guard->mode != ZC_GUARD_WRITE)
    return ZC_EREADONLY;
  pool = guard->pool;
  if (size > pool->capacity)
    return -EINVAL;
  ctl = &pool->ctl[guard->index];

  /* A writer evicted as stalled had its claim taken back by
   * zc_pool_reclaim_participant(): the block is no longer ours to publish,
   * nor the reference ours to drop. */
  owned = ZC_BLOCK_USING | ((uint32_t) guard->slot << 8);
  if (atomic_load_explicit (&ctl->state, memory_order_relaxed) != owned) {
    guard_clear (guard);
    return ZC_ESTATE;
  }

  /* L0 first: a writer that ran past its capacity must not publish. */
  if (!trailer_intact (guard))
    goto overrun;

  h = zc_pool_block_header (pool, guard->index);
  t = zc_pool_block_trailer (pool, guard->index);
  /* Relaxed: frame ids only need to be unique and increasing per pool. */
  seq = atomic_fetch_add_explicit (&pool->header->sequence, 1,
      memory_order_relaxed) + 1;
  h->magic = ZC_BLOCK_MAGIC;
  h->index = guard->index;
  h->writer_id = guard->slot;
  h->flags = 0;
  h->data_size = size;
  h->timestamp_ns = timestamp_ns;
  h->sequence = seq;

  if (pool->flags & ZC_POOL_FLAG_CRC) {
    t->crc32c = zc_crc32c (0, zc_pool_block_data (pool, guard->index), size);
    t->has_crc = 1;
  } else {
    t->crc32c = 0;
    t->has_crc = 0;
  }

  /* The readers' references go in before the block turns PUBLISHED, so no
   * reader can open it without its bit; the writer's own bit is still set,
   * so no reader can return the block in between either.  Relaxed: the
   * release store below orders it. */
  atomic_fetch_or_explicit (&ctl->holders, readers, memory_order_relaxed);
  /* Release pairs with the acquire load in zc_guard_open(). */
  atomic_store_explicit (&ctl->state, ZC_BLOCK_PUBLISHED, memory_order_release);

  guard->mode = ZC_GUARD_READ;
  if (sequence != NULL)
    *sequence = seq;
  return 0;

overrun:
  zc_pool_trip (pool);
  zc_pool_release (pool, guard->slot, guard->index);
  guard_clear (guard);
  return ZC_EOVERRUN;
}

int
zc_guard_forget (zc_guard_t * guard, uint32_t * index)
{
  if (guard == NULL)
    return -EINVAL;
  if (guard->mode == ZC_GUARD_NONE)
    return ZC_ESTATE;
  if (index != NULL)
    *index = guard->index;
  guard_clear (guard);
  return 0;
}

int
zc_guard_release (zc_guard_t * guard)
{
  int ret = 0, r;

  if (guard == NULL)
    return -EINVAL;
  if (guard->mode == ZC_GUARD_NONE)
    return 0;

  /* L0 again: catches a writer that scribbled past a block after it was
   * published.  The reference goes all the same; the pool is tripped. */
  if (!trailer_intact (guard)) {
    zc_pool_trip (guard->pool);
    ret = ZC_EOVERRUN;
  }
  r = zc_pool_release (guard->pool, guard->slot, guard->index);
  guard_clear (guard);
  return r < 0 ? r : ret;
}

int
zc_guard_verify_crc (const zc_guard_t * guard)
{
  const struct zc_block_trailer *t;
  uint64_t size;
  uint32_t crc;

  if (guard == NULL)
    return -EINVAL;
  if (guard->mode != ZC_GUARD_READ)
    return ZC_ESTATE;
  t = zc_pool_block_trailer (guard->pool, guard->index);
  if (t->has_crc == 0)
    return -ENODATA;

  size = published_size (guard);
  crc = zc_crc32c (0, zc_pool_block_data (guard->pool, guard->index), size);
  if (crc != t->crc32c) {
    zc_pool_trip (guard->pool);
    return ZC_ECRC;
  }
  return 0;
}

uint32_t
zc_guard_index (const zc_guard_t * guard)
{
  return guard != NULL ? guard->index : 0;
}

const struct zc_block_header *
zc_guard_header (const zc_guard_t * guard)
{
  if (guard == NULL || guard->mode == ZC_GUARD_NONE)
    return NULL;
  return zc_pool_block_header (guard->pool, guard->index);
}

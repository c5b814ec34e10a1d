/* gst-zerocopy core library: pools of equal-size blocks.
 *
 * A pool is an array of n_blocks blocks.  Its metadata (pool header and one
 * control line per block) sits in the read-write metadata file; the blocks
 * themselves sit in the data file, which readers map read-only:
 *
 *   meta:  zc_pool_header | zc_block_ctl[0] | zc_block_ctl[1] | ...
 *   data:  block 0 | block 1 | ...        each block block_stride bytes:
 *
 *     +------------------+ 0
 *     | zc_block_header  |  64 B, written by the writer at publish
 *     +------------------+ 64              (user data 64-byte aligned)
 *     | user data        |  capacity = block_size rounded up to 64
 *     +------------------+ 64 + capacity
 *     | zc_block_trailer |  16 B: magic (L0 overrun check), CRC32C (L2)
 *     +------------------+
 *     | padding          |  up to a multiple of 512 bytes (block_stride)
 *     +------------------+
 *
 * This is seed 001's v1.3.2 block (header + data + trailer + padding to
 * 512), with the header split in two: what only the writer writes (size,
 * timestamp, sequence) stays with the data, where readers cannot forge it;
 * what every participant updates (state word and reference record) lives
 * in the block's control line in the metadata file.
 *
 * Life of a block:
 *
 *   FREE --acquire--> USING --publish--> PUBLISHED --last release--> CLEAN --> FREE
 *
 * Reference record: a 64-bit holder mask, one bit per participant slot
 * (see heartbeat.h).  Releasing is one atomic fetch_and that clears the
 * caller's bit and returns the previous mask: exactly one releaser sees its
 * own bit as the only one set, and that one returns the block.  No per-slot
 * flags to visit, no count that a crash could leave off by one: a dead
 * participant's references are exactly the blocks with its bit set.  The
 * price is a limit of 64 participants per segment.
 *
 * Allocation is lock-free and crash-safe: a block is claimed by one CAS of
 * its state word from FREE to USING|owner, so a claim is never half done.
 * A rotating hint makes the scan O(1) in the common case.  Nothing ever
 * takes a process-shared mutex that a dead process could hold.  A blocking
 * acquire sleeps on a futex in the pool header, woken by releases.
 */
#ifndef ZC_POOL_H
#define ZC_POOL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Participant slots per segment: bits in a holder mask. */
#define ZC_MAX_PARTICIPANTS 64u
/** Most blocks in one pool. */
#define ZC_POOL_MAX_BLOCKS 65536u
/** Block stride granularity (seed 001 v1.3.2). */
#define ZC_BLOCK_ALIGN 512u
/** Size of zc_block_header; user data starts this far into a block. */
#define ZC_BLOCK_HEADER_SIZE 64u

#define ZC_POOL_MAGIC UINT32_C (0x4c4f4f50)     /**< "POOL" */
#define ZC_BLOCK_MAGIC UINT32_C (0x4b4c425a)    /**< "ZBLK" */
#define ZC_TRAILER_MAGIC UINT32_C (0x4c494154)  /**< "TAIL" */

/** Block states, in the low byte of zc_block_ctl.state. */
enum zc_block_state
{
  ZC_BLOCK_FREE = 0,            /**< in the pool, nobody holds it */
  ZC_BLOCK_USING = 1,           /**< claimed by a writer, being filled */
  ZC_BLOCK_PUBLISHED = 2,       /**< handed to readers, read-only */
  ZC_BLOCK_CLEAN = 3,           /**< last holder gone, being returned */
};

/** Pool flags (zc_pool_config.flags, zc_pool_header.flags). */
#define ZC_POOL_FLAG_CRC        (1u << 0)  /**< L2: write CRC32C at publish */
#define ZC_POOL_FLAG_NO_BREAKER (1u << 1)  /**< L1 off: corruption does not stop the pool */

/** Pool configuration chosen by the creator. */
typedef struct zc_pool_config
{
  uint64_t block_size;          /**< user bytes per block, 1 to 1 GiB */
  uint32_t n_blocks;            /**< 1 to ZC_POOL_MAX_BLOCKS */
  uint32_t flags;               /**< ZC_POOL_FLAG_* */
} zc_pool_config_t;

/** Pool header, at the start of the pool component's metadata. */
struct zc_pool_header
{
  uint32_t magic;               /**< ZC_POOL_MAGIC */
  uint32_t n_blocks;            /**< blocks in the pool */
  uint64_t block_size;          /**< user bytes asked for */
  uint64_t block_capacity;      /**< usable user bytes: block_size rounded to 64 */
  uint64_t block_stride;        /**< bytes per block in the data file */
  uint32_t flags;               /**< ZC_POOL_FLAG_* */
  uint32_t reserved0;
  uint64_t reserved1[3];
  /* Bumped (seq_cst) on every return of a block to FREE and on flush; the
   * futex that blocking acquires sleep on.  Pairs with @waiters. */
  _Atomic uint32_t release_seq;
  /* Sleepers in zc_pool_acquire(); a releaser only makes the futex wake
   * syscall when this is non-zero.  seq_cst with @release_seq (Dekker). */
  _Atomic uint32_t waiters;
  /* L1 circuit breaker: non-zero once corruption was found. */
  _Atomic uint32_t tripped;
  /* Times corruption was found (trailer or CRC), ever. */
  _Atomic uint32_t trip_count;
  uint32_t reserved4;           /* zero */
  uint32_t reserved2;
  /* Frame ids, monotonic per pool; relaxed, only uniqueness matters. */
  _Atomic uint64_t sequence;
  uint64_t reserved3[4];
};
_Static_assert (sizeof (struct zc_pool_header) == 128, "pool header is shared ABI");

/** One block's shared control line (one cache line, no false sharing). */
struct zc_block_ctl
{
  /* Low byte: enum zc_block_state; bits 8..15: owner slot while USING.
   * Claimed by CAS FREE -> USING (acquire), returned with a release store. */
  _Atomic uint32_t state;
  uint32_t reserved0;
  /* Reference record: bit i set while participant slot i holds the block. */
  _Atomic uint64_t holders;
  uint64_t reserved[6];
};
_Static_assert (sizeof (struct zc_block_ctl) == 64, "block control is shared ABI");

/** Start of every block in the data file; written by the writer only. */
struct zc_block_header
{
  uint32_t magic;               /**< ZC_BLOCK_MAGIC */
  uint32_t index;               /**< this block's index, checked by readers */
  uint32_t writer_id;           /**< participant slot of the writer */
  uint32_t flags;               /**< reserved, 0 */
  uint64_t data_size;           /**< bytes of user data written, <= capacity */
  uint64_t timestamp_ns;        /**< writer's timestamp (CLOCK_MONOTONIC ns) */
  uint64_t sequence;            /**< frame id, monotonic per pool */
  uint64_t reserved[3];
};
_Static_assert (sizeof (struct zc_block_header) == ZC_BLOCK_HEADER_SIZE,
    "block header is shared ABI");

/** Right behind a block's user capacity. */
struct zc_block_trailer
{
  uint32_t magic;               /**< ZC_TRAILER_MAGIC: gone means overrun */
  uint32_t crc32c;              /**< CRC32C of data_size user bytes (L2) */
  uint32_t has_crc;             /**< 1 when @crc32c was written */
  uint32_t reserved;
};
_Static_assert (sizeof (struct zc_block_trailer) == 16, "trailer is shared ABI");

/** Live counters of a pool, counted by scanning the block states. */
typedef struct zc_pool_stats
{
  uint32_t n_blocks;
  uint32_t n_free;
  uint32_t n_using;
  uint32_t n_published;         /**< published or being cleaned */
  uint32_t tripped;             /**< circuit breaker state */
  uint32_t trip_count;
  uint32_t waiters;
  uint64_t sequence;            /**< last frame id handed out */
} zc_pool_stats_t;

/** Process-local view of a pool.  Fields are private; storage is the caller's. */
typedef struct zc_pool
{
  struct zc_pool_header *header;
  struct zc_block_ctl *ctl;
  uint8_t *data;
  uint32_t n_blocks;
  uint32_t flags;               /* ZC_POOL_FLAG_*, as checked by attach */
  uint64_t capacity;
  uint64_t stride;
  bool data_writable;
  _Atomic bool flushing;
} zc_pool_t;

/**
 * zc_pool_footprint:
 * @config: the pool wanted
 * @meta_size: (out): metadata bytes it needs
 * @data_size: (out): data bytes it needs
 *
 * Returns: 0, -EINVAL for a zero size or count, -EFBIG above 1 GiB.
 */
int zc_pool_footprint (const zc_pool_config_t * config, uint64_t * meta_size,
    uint64_t * data_size);

/**
 * zc_pool_construct:
 * @pool: (out): the local view
 * @config: the pool wanted
 * @meta, @meta_size: the component's zeroed metadata range
 * @data, @data_size: the component's zeroed, writable data range
 *
 * Builds the pool in place (creator only): every block FREE with its
 * header and trailer magic written.
 *
 * Returns: 0 or -EINVAL / ZC_EBOUNDS if the ranges are too small.
 */
int zc_pool_construct (zc_pool_t * pool, const zc_pool_config_t * config,
    void *meta, uint64_t meta_size, void *data, uint64_t data_size);

/**
 * zc_pool_attach:
 * @pool: (out): the local view
 * @meta, @meta_size: the component's metadata range
 * @data, @data_size: the component's data range
 * @data_writable: whether this process mapped the data writable
 *
 * Validates a pool built by another process: magic, counts, capacity and
 * stride against the real ranges, so that no later index can reach
 * outside them.
 *
 * Returns: 0, ZC_EBADMAGIC or ZC_EBOUNDS.
 */
int zc_pool_attach (zc_pool_t * pool, void *meta, uint64_t meta_size,
    void *data, uint64_t data_size, bool data_writable);

/**
 * zc_pool_acquire:
 * @pool: a pool whose data this process may write
 * @slot: caller's participant slot (< ZC_MAX_PARTICIPANTS)
 * @timeout_ns: 0 to try once, < 0 to wait forever, else how long to wait
 * @index: (out): the claimed block, now USING and held by @slot
 *
 * Claims a free block; sleeps on the pool's futex while none is free.
 *
 * Returns: 0, -EAGAIN (timeout 0, none free), -ETIMEDOUT, -ECANCELED
 * (pool flushing), ZC_ETRIPPED (circuit breaker), ZC_EREADONLY.
 */
int zc_pool_acquire (zc_pool_t * pool, unsigned slot, int64_t timeout_ns,
    uint32_t * index);

/**
 * zc_pool_add_holders:
 * @pool: a pool
 * @slot: the caller, who must hold @index
 * @index: the block
 * @holders: participant bits to add
 *
 * Adds references before handing a block to other participants.  The
 * caller's own reference keeps the block alive meanwhile.
 *
 * Returns: 0, ZC_EBOUNDS for a bad index, ZC_ESTATE if @slot does not hold it.
 */
int zc_pool_add_holders (zc_pool_t * pool, unsigned slot, uint32_t index,
    uint64_t holders);

/**
 * zc_pool_release:
 * @pool: a pool
 * @slot: the releasing participant
 * @index: the block
 *
 * Drops @slot's reference.  The one releaser that drops the last reference
 * returns the block to FREE and wakes a sleeping acquirer, if any.
 *
 * Returns: 1 if the block went back to the pool, 0 if others still hold
 * it, ZC_EBOUNDS or ZC_ESTATE (@slot did not hold it).
 */
int zc_pool_release (zc_pool_t * pool, unsigned slot, uint32_t index);

/**
 * zc_pool_reclaim_participant:
 * @pool: a pool
 * @slot: a participant known to be dead or evicted
 *
 * Drops every reference @slot holds and returns blocks it had claimed but
 * not yet referenced.  Must not run concurrently for the same @slot.
 *
 * Returns: the number of references dropped.
 */
int zc_pool_reclaim_participant (zc_pool_t * pool, unsigned slot);

/**
 * zc_pool_set_flushing:
 * @pool: a pool
 * @flushing: whether acquires in this process fail with -ECANCELED
 *
 * Like gst_buffer_pool_set_flushing(): a waiting zc_pool_acquire() in this
 * process returns at once.
 */
void zc_pool_set_flushing (zc_pool_t * pool, bool flushing);

/**
 * zc_pool_trip:
 * @pool: a pool
 *
 * Records corruption: bumps the trip count and, unless the pool was built
 * with ZC_POOL_FLAG_NO_BREAKER, opens the circuit breaker so every later
 * acquire fails with ZC_ETRIPPED.  Wakes sleepers so they see it.
 */
void zc_pool_trip (zc_pool_t * pool);

/**
 * zc_pool_reset_trip:
 * @pool: a pool
 *
 * Closes the circuit breaker again, after the owner dealt with the cause.
 */
void zc_pool_reset_trip (zc_pool_t * pool);

/**
 * zc_pool_get_stats:
 * @pool: a pool
 * @stats: (out): counters
 *
 * Counts block states by scanning: exact, even after crashes.
 */
void zc_pool_get_stats (const zc_pool_t * pool, zc_pool_stats_t * stats);

/**
 * zc_pool_holders:
 * @pool: a pool
 *
 * The participants that hold a reference on any block: the union of the
 * blocks' holder masks (bit N for slot N), scanned, a snapshot.
 *
 * Returns: the mask, 0 for a %NULL pool.
 */
uint64_t zc_pool_holders (const zc_pool_t * pool);

/** zc_pool_block_header: Returns: block @index's header (no bounds check). */
struct zc_block_header *zc_pool_block_header (const zc_pool_t * pool,
    uint32_t index);
/** zc_pool_block_trailer: Returns: block @index's trailer (no bounds check). */
struct zc_block_trailer *zc_pool_block_trailer (const zc_pool_t * pool,
    uint32_t index);
/** zc_pool_block_data: Returns: block @index's user data (no bounds check). */
uint8_t *zc_pool_block_data (const zc_pool_t * pool, uint32_t index);

#ifdef __cplusplus
}
#endif
#endif /* ZC_POOL_H */

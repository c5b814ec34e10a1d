/* gst-zerocopy core library: guards, the only way to touch a block.
 *
 * A guard stands for one reference that this process holds on one block.
 * It lives in caller storage (no allocation) and is not shared between
 * threads without the caller's own locking.
 *
 *   write guard   zc_guard_acquire(): a FREE block, claimed; writable.
 *                 zc_guard_publish() stamps header and trailer, adds the
 *                 readers' references and turns it into a read guard:
 *                 a published frame is never written again.
 *   read guard    zc_guard_open(): a block published to this participant.
 *                 It yields no writable pointer: zc_guard_map_write()
 *                 returns ZC_EREADONLY, and the data is mapped read-only.
 *   forget        zc_guard_forget(): the reference stays, the guard lets
 *                 go of it; used to hand the reference to another owner
 *                 (another process, a GstMemory) that releases it later.
 *   release       zc_guard_release(): drops the reference; the last one
 *                 returns the block to the pool.
 *
 * Layered safety (seed 001 v1.3.2):
 *   L0  trailer magic, checked on publish and on release, always on: a
 *       writer that ran past its block is caught at the next boundary.
 *   L1  circuit breaker, on by default: corruption found by L0 or L2 trips
 *       the pool (zc_pool_trip) and further acquires fail with ZC_ETRIPPED.
 *   L2  CRC32C of the user data, written at publish when the pool has
 *       ZC_POOL_FLAG_CRC, verified on request by zc_guard_verify_crc().
 */
#ifndef ZC_GUARD_H
#define ZC_GUARD_H

#include <stdbool.h>
#include <stdint.h>

#include <zc/pool.h>

#ifdef __cplusplus
extern "C" {
#endif

/** What a guard may do. */
typedef enum zc_guard_mode
{
  ZC_GUARD_NONE = 0,            /**< empty: released, forgotten or never set */
  ZC_GUARD_WRITE = 1,           /**< claimed block, writable, not yet published */
  ZC_GUARD_READ = 2,            /**< published block, read-only */
} zc_guard_mode_t;

/** One reference on one block.  Fields are private; storage is the caller's. */
typedef struct zc_guard
{
  zc_pool_t *pool;
  uint32_t index;
  uint16_t slot;
  uint16_t mode;                /**< zc_guard_mode_t */
} zc_guard_t;

/** Initializer for an empty guard. */
#define ZC_GUARD_INIT { NULL, 0, 0, ZC_GUARD_NONE }

/**
 * zc_guard_acquire:
 * @pool: a pool this process may write
 * @slot: caller's participant slot
 * @timeout_ns: as zc_pool_acquire()
 * @guard: (out): a write guard
 *
 * Returns: 0 or an error of zc_pool_acquire().
 */
int zc_guard_acquire (zc_pool_t * pool, unsigned slot, int64_t timeout_ns,
    zc_guard_t * guard);

/**
 * zc_guard_open:
 * @pool: a pool
 * @slot: caller's participant slot, whose bit must be set on the block
 * @index: block index received from the writer (untrusted)
 * @guard: (out): a read guard
 *
 * Takes over a reference the writer made for @slot.  Everything is
 * checked: index bounds, state PUBLISHED, @slot among the holders, header
 * magic, index and data size within capacity.  On a bad header the block
 * is not trusted; the reference stays for the caller to release.
 *
 * Returns: 0, ZC_EBOUNDS, ZC_ESTATE or ZC_EBADMAGIC.
 */
int zc_guard_open (zc_pool_t * pool, unsigned slot, uint32_t index,
    zc_guard_t * guard);

/**
 * zc_guard_map_write:
 * @guard: a write guard
 * @data: (out): the block's user data, writable
 * @capacity: (out) (optional): bytes usable
 *
 * Returns: 0, ZC_EREADONLY on a read guard, ZC_ESTATE on an empty one.
 */
int zc_guard_map_write (const zc_guard_t * guard, void **data,
    uint64_t * capacity);

/**
 * zc_guard_map_read:
 * @guard: a read or write guard
 * @data: (out): the block's user data
 * @size: (out) (optional): bytes written (read guard) or capacity (write)
 *
 * Returns: 0 or ZC_ESTATE on an empty guard.
 */
int zc_guard_map_read (const zc_guard_t * guard, const void **data,
    uint64_t * size);

/**
 * zc_guard_publish:
 * @guard: a write guard
 * @size: bytes of user data written, <= capacity
 * @timestamp_ns: timestamp to record (CLOCK_MONOTONIC ns, or any)
 * @readers: participant bits that receive a reference
 * @sequence: (out) (optional): the frame id assigned
 *
 * Checks the trailer (L0), writes the block header, the CRC32C (L2, if the
 * pool asks) and the readers' references.  The guard becomes a read guard
 * holding the writer's reference.
 *
 * Returns: 0, -EINVAL (@size too large), ZC_EREADONLY (not a write guard),
 * ZC_EOVERRUN (trailer damaged: the pool is tripped, the guard released).
 */
int zc_guard_publish (zc_guard_t * guard, uint64_t size,
    uint64_t timestamp_ns, uint64_t readers, uint64_t * sequence);

/**
 * zc_guard_forget:
 * @guard: a non-empty guard
 * @index: (out) (optional): the block index
 *
 * Leaves the reference in place and empties the guard: someone else now
 * owns the duty to release it (zc_pool_release() with the same slot).
 *
 * Returns: 0 or ZC_ESTATE.
 */
int zc_guard_forget (zc_guard_t * guard, uint32_t * index);

/**
 * zc_guard_release:
 * @guard: a guard; empty guards are ignored
 *
 * Checks the trailer (L0), then drops the reference.  A damaged trailer
 * trips the pool; the reference is dropped all the same.
 *
 * Returns: 0, ZC_EOVERRUN, or a zc_pool_release() error.
 */
int zc_guard_release (zc_guard_t * guard);

/**
 * zc_guard_verify_crc:
 * @guard: a read guard
 *
 * L2 check on request: recomputes the CRC32C of the user data and compares
 * it with the one written at publish.  A mismatch trips the pool.
 *
 * Returns: 0, ZC_ECRC, -ENODATA (published without a CRC), ZC_ESTATE.
 */
int zc_guard_verify_crc (const zc_guard_t * guard);

/** zc_guard_index: Returns: the block index of a non-empty guard. */
uint32_t zc_guard_index (const zc_guard_t * guard);
/** zc_guard_header: Returns: the block header (read-only), NULL if empty. */
const struct zc_block_header *zc_guard_header (const zc_guard_t * guard);

/**
 * zc_crc32c:
 * @crc: previous value, 0 to start
 * @data: bytes
 * @len: how many
 *
 * Returns: the CRC32C (Castagnoli) of @data, continuing @crc.
 */
uint32_t zc_crc32c (uint32_t crc, const void *data, uint64_t len);

/* The two implementations zc_crc32c() chooses from at load time, exposed
 * so that tests and benchmarks can check them against each other. */

/** zc_crc32c_sw: portable table-driven CRC32C, same contract as zc_crc32c(). */
uint32_t zc_crc32c_sw (uint32_t crc, const void *data, uint64_t len);
/** zc_crc32c_hw_supported: Returns: whether zc_crc32c_hw() uses the CPU's
 * CRC32 instruction (SSE4.2 on x86-64). */
bool zc_crc32c_hw_supported (void);
/** zc_crc32c_hw: CRC32C with the CPU instruction; the portable code where
 * zc_crc32c_hw_supported() is false. */
uint32_t zc_crc32c_hw (uint32_t crc, const void *data, uint64_t len);

#ifdef __cplusplus
}
#endif
#endif /* ZC_GUARD_H */

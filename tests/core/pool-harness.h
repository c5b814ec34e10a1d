/* What the pool tests share: a pool constructed in zeroed memory, plain
 * aligned heap memory or (shared) a shared anonymous mapping that a forked
 * process sees too, and a check that every block is back.
 *
 * Used by test-pool.c (sizing, a block's life, reclaim, the breaker,
 * attaching) and test-pool-concurrency.c (acquires that sleep and what
 * wakes them, and a threaded stress).  Helpers fail the running test
 * (ZC_CHECK) rather than return an error.
 */
#ifndef POOL_HARNESS_H
#define POOL_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include <zc/pool.h>

typedef struct
{
  zc_pool_t pool;
  uint8_t *meta;
  uint8_t *data;
  uint64_t meta_size;
  uint64_t data_size;
  bool shared;                  /* mmap'ed, visible to forked children */
} fixture;

/* A pool of @n_blocks blocks of @block_size bytes in fresh zeroed memory,
 * shared with forked children if @shared. */
void fixture_setup_full (fixture * f, uint64_t block_size, uint32_t n_blocks,
    uint32_t flags, bool shared);

/* fixture_setup_full() in heap memory, not shared. */
void fixture_setup (fixture * f, uint64_t block_size, uint32_t n_blocks,
    uint32_t flags);

void fixture_teardown (fixture * f);

/* Every block free, held by nobody. */
void check_all_free (const zc_pool_t * pool);

#endif /* POOL_HARNESS_H */

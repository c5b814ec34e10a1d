/* Helpers shared by the pool tests (see pool-harness.h): fixtures in heap
 * memory or a shared mapping, and the all-free check.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>

#include <zc/pool.h>

#include "zc-test.h"
#include "pool-harness.h"

static void *
alloc_zeroed (uint64_t size, bool shared)
{
  void *p;

  size = (size + 4095) & ~UINT64_C (4095);
  if (shared) {
    p = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
        -1, 0);
    ZC_CHECK (p != MAP_FAILED);
  } else {
    p = aligned_alloc (4096, size);
    ZC_CHECK (p != NULL);
    memset (p, 0, size);
  }
  return p;
}

void
fixture_setup_full (fixture * f, uint64_t block_size, uint32_t n_blocks,
    uint32_t flags, bool shared)
{
  zc_pool_config_t cfg = { block_size, n_blocks, flags };

  memset (f, 0, sizeof (*f));
  f->shared = shared;
  ZC_CHECK_OK (zc_pool_footprint (&cfg, &f->meta_size, &f->data_size));
  f->meta = alloc_zeroed (f->meta_size, shared);
  f->data = alloc_zeroed (f->data_size, shared);
  ZC_CHECK_OK (zc_pool_construct (&f->pool, &cfg, f->meta, f->meta_size,
          f->data, f->data_size));
}

void
fixture_setup (fixture * f, uint64_t block_size, uint32_t n_blocks,
    uint32_t flags)
{
  fixture_setup_full (f, block_size, n_blocks, flags, false);
}

void
fixture_teardown (fixture * f)
{
  if (f->shared) {
    munmap (f->meta, (f->meta_size + 4095) & ~UINT64_C (4095));
    munmap (f->data, (f->data_size + 4095) & ~UINT64_C (4095));
  } else {
    free (f->meta);
    free (f->data);
  }
}

void
check_all_free (const zc_pool_t * pool)
{
  zc_pool_stats_t st;

  zc_pool_get_stats (pool, &st);
  ZC_CHECK_EQ (st.n_free, pool->n_blocks);
  ZC_CHECK_EQ (st.n_using, 0);
  ZC_CHECK_EQ (st.n_published, 0);
  for (uint32_t i = 0; i < pool->n_blocks; i++)
    ZC_CHECK_EQ (atomic_load (&pool->ctl[i].holders), 0);
}

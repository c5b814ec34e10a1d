/* Tests of lib/pool.c in one thread: sizing, the life of a block, the
 * reference record, reclaim of a dead participant, the circuit breaker,
 * and attaching to a pool someone else built.  Acquires that sleep and
 * what wakes them, and the threaded stress, are in test-pool-concurrency.c.
 *
 * The pools live in plain aligned heap memory (pool-harness.c): segments
 * are tested in test-segment.c, and real peer processes over segments in
 * test-multiprocess.c. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <zc/error.h>
#include <zc/pool.h>
#include <zc/segment.h>

#include "zc-test.h"
#include "pool-harness.h"

/* ---- sizing ---------------------------------------------------------- */

static int
footprint (uint64_t block_size, uint32_t n_blocks, uint32_t flags,
    uint64_t * data_size)
{
  zc_pool_config_t c = { block_size, n_blocks, flags };
  uint64_t meta_size;

  return zc_pool_footprint (&c, &meta_size, data_size);
}

static void
test_footprint_refuses_zero_and_oversized (void)
{
  zc_pool_config_t c = { 4096, 4, 0 };
  uint64_t m, d;

  ZC_CHECK_EQ (footprint (0, 4, 0, &d), -EINVAL);
  ZC_CHECK_EQ (footprint ((UINT64_C (1) << 30) + 1, 1, 0, &d), -EFBIG);
  ZC_CHECK_EQ (footprint (UINT64_MAX, 1, 0, &d), -EFBIG);
  ZC_CHECK_EQ (footprint (4096, 0, 0, &d), -EINVAL);
  ZC_CHECK_EQ (footprint (4096, ZC_POOL_MAX_BLOCKS + 1, 0, &d), -EINVAL);
  ZC_CHECK_EQ (footprint (4096, UINT32_MAX, 0, &d), -EINVAL);
  /* Each alone is fine, together they exceed a segment. */
  ZC_CHECK_EQ (footprint (UINT64_C (1) << 30, 2, 0, &d), -EFBIG);
  ZC_CHECK_EQ (footprint (1 << 20, ZC_POOL_MAX_BLOCKS, 0, &d), -EFBIG);
  ZC_CHECK_EQ (footprint (4096, 4, 1u << 7, &d), -EINVAL);
  ZC_CHECK_EQ (zc_pool_footprint (NULL, &m, &d), -EINVAL);
  ZC_CHECK_EQ (zc_pool_footprint (&c, NULL, &d), -EINVAL);
  ZC_CHECK_EQ (zc_pool_footprint (&c, &m, NULL), -EINVAL);
  /* The largest block fits alone, and the most blocks of a small size. */
  ZC_CHECK_OK (footprint ((UINT64_C (1) << 30) - 4096, 1, 0, &d));
  ZC_CHECK (d <= ZC_SEGMENT_MAX_SIZE);
  ZC_CHECK_OK (footprint (1, ZC_POOL_MAX_BLOCKS, 0, &d));
  ZC_CHECK_EQ (d, UINT64_C (512) * ZC_POOL_MAX_BLOCKS);
}

static void
test_block_layout_is_aligned_with_trailer_behind_capacity (void)
{
  static const uint64_t sizes[] = { 1, 63, 64, 65, 431, 432, 433, 448, 1000,
    4096, 640 * 480 * 2 + 3
  };

  for (unsigned s = 0; s < sizeof (sizes) / sizeof (sizes[0]); s++) {
    fixture f;
    zc_pool_t *p = &f.pool;
    const uint32_t n = 3;

    fixture_setup (&f, sizes[s], n, 0);
    ZC_CHECK_EQ (f.meta_size, 128 + 64 * n);
    ZC_CHECK_EQ (p->stride % 512, 0);
    ZC_CHECK_EQ (f.data_size, p->stride * n);
    ZC_CHECK_EQ (p->capacity % 64, 0);
    ZC_CHECK (p->capacity >= sizes[s] && p->capacity - sizes[s] < 64);
    /* The smallest multiple of 512 that holds header, data and trailer. */
    ZC_CHECK (p->stride >= 64 + p->capacity + 16);
    ZC_CHECK (p->stride - 512 < 64 + p->capacity + 16);
    for (uint32_t i = 0; i < n; i++) {
      uint8_t *h = (uint8_t *) zc_pool_block_header (p, i);
      uint8_t *d = zc_pool_block_data (p, i);
      uint8_t *t = (uint8_t *) zc_pool_block_trailer (p, i);

      ZC_CHECK (h == f.data + (uint64_t) i * p->stride);
      ZC_CHECK (d == h + 64);
      ZC_CHECK_EQ ((uintptr_t) d % 64, 0);
      ZC_CHECK (t == d + p->capacity);
      ZC_CHECK (t + 16 <= f.data + (uint64_t) (i + 1) * p->stride);
      ZC_CHECK_EQ (zc_pool_block_header (p, i)->magic, ZC_BLOCK_MAGIC);
      ZC_CHECK_EQ (zc_pool_block_header (p, i)->index, i);
      ZC_CHECK_EQ (zc_pool_block_trailer (p, i)->magic, ZC_TRAILER_MAGIC);
    }
    fixture_teardown (&f);
  }
}

static void
test_construct_refuses_ranges_too_small (void)
{
  fixture f;
  zc_pool_config_t cfg = { 1000, 4, 0 };
  zc_pool_t p;

  fixture_setup (&f, 1000, 4, 0);
  memset (f.meta, 0, f.meta_size);
  ZC_CHECK_EQ (zc_pool_construct (&p, &cfg, f.meta, f.meta_size - 1, f.data,
          f.data_size), ZC_EBOUNDS);
  ZC_CHECK_EQ (zc_pool_construct (&p, &cfg, f.meta, f.meta_size, f.data,
          f.data_size - 1), ZC_EBOUNDS);
  ZC_CHECK_EQ (zc_pool_construct (&p, &cfg, NULL, f.meta_size, f.data,
          f.data_size), -EINVAL);
  ZC_CHECK_EQ (zc_pool_construct (&p, &cfg, f.meta + 8, f.meta_size, f.data,
          f.data_size), -EINVAL);
  fixture_teardown (&f);
}

/* ---- claiming and returning ------------------------------------------ */

static void
test_pool_starts_all_free (void)
{
  fixture f;
  zc_pool_stats_t st;

  fixture_setup (&f, 4096, 8, 0);
  zc_pool_get_stats (&f.pool, &st);
  ZC_CHECK_EQ (st.n_blocks, 8);
  ZC_CHECK_EQ (st.n_free, 8);
  ZC_CHECK_EQ (st.n_using, 0);
  ZC_CHECK_EQ (st.n_published, 0);
  ZC_CHECK_EQ (st.tripped, 0);
  ZC_CHECK_EQ (st.trip_count, 0);
  ZC_CHECK_EQ (st.waiters, 0);
  ZC_CHECK_EQ (st.sequence, 0);
  fixture_teardown (&f);
}

static void
test_acquire_until_exhausted_then_eagain (void)
{
  fixture f;
  bool seen[5] = { false };
  uint32_t idx;
  zc_pool_stats_t st;

  fixture_setup (&f, 100, 5, 0);
  for (int i = 0; i < 5; i++) {
    ZC_CHECK_OK (zc_pool_acquire (&f.pool, 2, 0, &idx));
    ZC_CHECK (idx < 5);
    ZC_CHECK (!seen[idx]);
    seen[idx] = true;
    ZC_CHECK_EQ (atomic_load (&f.pool.ctl[idx].holders), 1u << 2);
    ZC_CHECK_EQ (atomic_load (&f.pool.ctl[idx].state),
        ZC_BLOCK_USING | (2u << 8));
  }
  ZC_CHECK_EQ (zc_pool_acquire (&f.pool, 2, 0, &idx), -EAGAIN);
  zc_pool_get_stats (&f.pool, &st);
  ZC_CHECK_EQ (st.n_using, 5);
  ZC_CHECK_EQ (st.n_free, 0);

  ZC_CHECK_EQ (zc_pool_release (&f.pool, 2, 3), 1);
  ZC_CHECK_OK (zc_pool_acquire (&f.pool, 2, 0, &idx));
  ZC_CHECK_EQ (idx, 3);
  ZC_CHECK_EQ (zc_pool_acquire (&f.pool, 64, 0, &idx), -EINVAL);
  ZC_CHECK_EQ (zc_pool_acquire (&f.pool, 0, 0, NULL), -EINVAL);
  fixture_teardown (&f);
}

static void
test_exactly_one_releaser_is_last (void)
{
  fixture f;
  uint32_t idx;
  zc_pool_stats_t st;

  fixture_setup (&f, 100, 2, 0);
  ZC_CHECK_OK (zc_pool_acquire (&f.pool, 0, 0, &idx));
  ZC_CHECK_OK (zc_pool_add_holders (&f.pool, 0, idx, 1u << 7));
  ZC_CHECK_EQ (zc_pool_release (&f.pool, 0, idx), 0);
  zc_pool_get_stats (&f.pool, &st);
  ZC_CHECK_EQ (st.n_free, 1);
  ZC_CHECK_EQ (zc_pool_release (&f.pool, 7, idx), 1);
  check_all_free (&f.pool);
  fixture_teardown (&f);
}

static void
test_release_of_block_not_held_is_refused (void)
{
  fixture f;
  uint32_t idx;

  fixture_setup (&f, 100, 2, 0);
  ZC_CHECK_EQ (zc_pool_release (&f.pool, 0, 0), ZC_ESTATE);
  ZC_CHECK_OK (zc_pool_acquire (&f.pool, 0, 0, &idx));
  ZC_CHECK_EQ (zc_pool_release (&f.pool, 1, idx), ZC_ESTATE);
  ZC_CHECK_EQ (zc_pool_add_holders (&f.pool, 1, idx, 1u << 2), ZC_ESTATE);
  ZC_CHECK_EQ (atomic_load (&f.pool.ctl[idx].holders), 1u);
  ZC_CHECK_EQ (zc_pool_release (&f.pool, 0, idx), 1);
  /* A second release of the same reference. */
  ZC_CHECK_EQ (zc_pool_release (&f.pool, 0, idx), ZC_ESTATE);
  check_all_free (&f.pool);
  fixture_teardown (&f);
}

static void
test_out_of_range_index_is_refused (void)
{
  fixture f;

  fixture_setup (&f, 100, 4, 0);
  ZC_CHECK_EQ (zc_pool_release (&f.pool, 0, 4), ZC_EBOUNDS);
  ZC_CHECK_EQ (zc_pool_release (&f.pool, 0, UINT32_MAX), ZC_EBOUNDS);
  ZC_CHECK_EQ (zc_pool_add_holders (&f.pool, 0, 4, 1), ZC_EBOUNDS);
  ZC_CHECK_EQ (zc_pool_release (&f.pool, 64, 0), -EINVAL);
  ZC_CHECK_EQ (zc_pool_release (NULL, 0, 0), -EINVAL);
  fixture_teardown (&f);
}

static void
test_reclaim_drops_every_reference_of_a_dead_slot (void)
{
  fixture f;
  uint32_t shared, alone, unpublished, half_claimed, other;
  zc_pool_stats_t st;

  fixture_setup (&f, 100, 8, 0);
  /* Slot 3 shares one block with slot 0, holds one alone, has one
   * unpublished claim, and died between the claim CAS and the holder
   * store of another. */
  ZC_CHECK_OK (zc_pool_acquire (&f.pool, 0, 0, &shared));
  ZC_CHECK_OK (zc_pool_add_holders (&f.pool, 0, shared, 1u << 3));
  ZC_CHECK_OK (zc_pool_acquire (&f.pool, 3, 0, &alone));
  ZC_CHECK_OK (zc_pool_acquire (&f.pool, 3, 0, &unpublished));
  ZC_CHECK_OK (zc_pool_acquire (&f.pool, 3, 0, &half_claimed));
  atomic_store (&f.pool.ctl[half_claimed].holders, 0);
  /* Published to slot 3, which is then the only holder. */
  ZC_CHECK_OK (zc_pool_acquire (&f.pool, 0, 0, &other));
  ZC_CHECK_OK (zc_pool_add_holders (&f.pool, 0, other, 1u << 3));
  atomic_store (&f.pool.ctl[other].state, ZC_BLOCK_PUBLISHED);
  ZC_CHECK_EQ (zc_pool_release (&f.pool, 0, other), 0);
  atomic_store (&f.pool.ctl[alone].state, ZC_BLOCK_PUBLISHED);

  ZC_CHECK_EQ (zc_pool_reclaim_participant (&f.pool, 3), 5);

  ZC_CHECK_EQ (atomic_load (&f.pool.ctl[shared].holders), 1u);
  for (int i = 0; i < 8; i++)
    ZC_CHECK_EQ (atomic_load (&f.pool.ctl[i].holders) & (1u << 3), 0);
  zc_pool_get_stats (&f.pool, &st);
  ZC_CHECK_EQ (st.n_free, 7);
  ZC_CHECK_EQ (st.n_using, 1);
  /* Nothing left: a second reclaim finds nothing. */
  ZC_CHECK_EQ (zc_pool_reclaim_participant (&f.pool, 3), 0);
  ZC_CHECK_EQ (zc_pool_release (&f.pool, 0, shared), 1);
  check_all_free (&f.pool);
  fixture_teardown (&f);
}

/* ---- circuit breaker ------------------------------------------------- */

static void
test_tripped_pool_refuses_acquire_until_reset (void)
{
  fixture f;
  uint32_t idx;
  zc_pool_stats_t st;

  fixture_setup (&f, 100, 2, 0);
  zc_pool_trip (&f.pool);
  ZC_CHECK_EQ (zc_pool_acquire (&f.pool, 0, 0, &idx), ZC_ETRIPPED);
  ZC_CHECK_EQ (zc_pool_acquire (&f.pool, 0, -1, &idx), ZC_ETRIPPED);
  zc_pool_get_stats (&f.pool, &st);
  ZC_CHECK_EQ (st.tripped, 1);
  ZC_CHECK_EQ (st.trip_count, 1);
  zc_pool_reset_trip (&f.pool);
  ZC_CHECK_OK (zc_pool_acquire (&f.pool, 0, 0, &idx));
  zc_pool_get_stats (&f.pool, &st);
  ZC_CHECK_EQ (st.tripped, 0);
  ZC_CHECK_EQ (st.trip_count, 1);
  fixture_teardown (&f);
}

static void
test_no_breaker_pool_counts_trips_but_keeps_working (void)
{
  fixture f;
  uint32_t idx;
  zc_pool_stats_t st;

  fixture_setup (&f, 100, 2, ZC_POOL_FLAG_NO_BREAKER);
  zc_pool_trip (&f.pool);
  zc_pool_trip (&f.pool);
  ZC_CHECK_OK (zc_pool_acquire (&f.pool, 0, 0, &idx));
  zc_pool_get_stats (&f.pool, &st);
  ZC_CHECK_EQ (st.tripped, 0);
  ZC_CHECK_EQ (st.trip_count, 2);
  fixture_teardown (&f);
}

/* ---- attaching to a pool built by someone else ----------------------- */

static void
test_attach_accepts_a_constructed_pool (void)
{
  fixture f;
  zc_pool_t p;
  uint32_t idx;

  fixture_setup (&f, 1000, 4, ZC_POOL_FLAG_CRC);
  ZC_CHECK_OK (zc_pool_attach (&p, f.meta, f.meta_size, f.data, f.data_size,
          true));
  ZC_CHECK_EQ (p.n_blocks, 4);
  ZC_CHECK_EQ (p.capacity, f.pool.capacity);
  ZC_CHECK_EQ (p.stride, f.pool.stride);
  ZC_CHECK_EQ (p.flags, ZC_POOL_FLAG_CRC);
  /* Both views share the blocks. */
  ZC_CHECK_OK (zc_pool_acquire (&p, 1, 0, &idx));
  ZC_CHECK_EQ (zc_pool_release (&f.pool, 1, idx), 1);
  fixture_teardown (&f);
}

static void
test_attach_rejects_bad_magic (void)
{
  fixture f;
  zc_pool_t p;

  fixture_setup (&f, 1000, 4, 0);
  f.pool.header->magic ^= 1;
  ZC_CHECK_EQ (zc_pool_attach (&p, f.meta, f.meta_size, f.data, f.data_size,
          true), ZC_EBADMAGIC);
  fixture_teardown (&f);
}

static void
test_attach_rejects_block_count_too_large_for_ranges (void)
{
  fixture f;
  zc_pool_t p;

  fixture_setup (&f, 1000, 4, 0);
  f.pool.header->n_blocks = 5;
  ZC_CHECK_EQ (zc_pool_attach (&p, f.meta, f.meta_size, f.data, f.data_size,
          true), ZC_EBOUNDS);
  f.pool.header->n_blocks = 0;
  ZC_CHECK_EQ (zc_pool_attach (&p, f.meta, f.meta_size, f.data, f.data_size,
          true), ZC_EBOUNDS);
  f.pool.header->n_blocks = UINT32_MAX;
  ZC_CHECK_EQ (zc_pool_attach (&p, f.meta, f.meta_size, f.data, f.data_size,
          true), ZC_EBOUNDS);
  f.pool.header->n_blocks = 4;
  /* Ranges shorter than the header says. */
  ZC_CHECK_EQ (zc_pool_attach (&p, f.meta, f.meta_size - 64, f.data,
          f.data_size, true), ZC_EBOUNDS);
  ZC_CHECK_EQ (zc_pool_attach (&p, f.meta, f.meta_size, f.data,
          f.data_size - 512, true), ZC_EBOUNDS);
  ZC_CHECK_EQ (zc_pool_attach (&p, f.meta, 64, f.data, f.data_size, true),
      ZC_EBOUNDS);
  ZC_CHECK_OK (zc_pool_attach (&p, f.meta, f.meta_size, f.data, f.data_size,
          true));
  fixture_teardown (&f);
}

static void
test_attach_rejects_inconsistent_stride_or_capacity (void)
{
  fixture f;
  zc_pool_t p;
  struct zc_pool_header *h;

  fixture_setup (&f, 1000, 4, 0);
  h = f.pool.header;
  h->block_stride += 512;
  ZC_CHECK_EQ (zc_pool_attach (&p, f.meta, f.meta_size, f.data, f.data_size,
          true), ZC_EBOUNDS);
  h->block_stride -= 512;
  h->block_capacity += 64;
  ZC_CHECK_EQ (zc_pool_attach (&p, f.meta, f.meta_size, f.data, f.data_size,
          true), ZC_EBOUNDS);
  h->block_capacity -= 64;
  /* A block size whose capacity is larger than the stride allows. */
  h->block_size = 1000 + 512;
  ZC_CHECK_EQ (zc_pool_attach (&p, f.meta, f.meta_size, f.data, f.data_size,
          true), ZC_EBOUNDS);
  h->block_size = 0;
  ZC_CHECK_EQ (zc_pool_attach (&p, f.meta, f.meta_size, f.data, f.data_size,
          true), ZC_EBOUNDS);
  fixture_teardown (&f);
}

static void
test_attached_view_ignores_later_header_changes (void)
{
  fixture f;
  zc_pool_t p;

  fixture_setup (&f, 1000, 4, 0);
  ZC_CHECK_OK (zc_pool_attach (&p, f.meta, f.meta_size, f.data, f.data_size,
          true));
  f.pool.header->n_blocks = 60000;
  f.pool.header->block_stride = UINT64_C (1) << 40;
  ZC_CHECK_EQ (zc_pool_release (&p, 0, 4), ZC_EBOUNDS);
  ZC_CHECK_EQ (zc_pool_add_holders (&p, 0, 59999, 1), ZC_EBOUNDS);
  ZC_CHECK_EQ (zc_pool_reclaim_participant (&p, 0), 0);
  ZC_CHECK (zc_pool_block_trailer (&p, 3) ==
      zc_pool_block_trailer (&f.pool, 3));
  fixture_teardown (&f);
}

static void
test_acquire_without_writable_data_is_refused (void)
{
  fixture f;
  zc_pool_t p;
  uint32_t idx;

  fixture_setup (&f, 1000, 4, 0);
  ZC_CHECK_OK (zc_pool_attach (&p, f.meta, f.meta_size, f.data, f.data_size,
          false));
  ZC_CHECK_EQ (zc_pool_acquire (&p, 0, 0, &idx), ZC_EREADONLY);
  check_all_free (&f.pool);
  fixture_teardown (&f);
}

static const zc_test_case tests[] = {
  ZC_TEST (test_footprint_refuses_zero_and_oversized),
  ZC_TEST (test_block_layout_is_aligned_with_trailer_behind_capacity),
  ZC_TEST (test_construct_refuses_ranges_too_small),
  ZC_TEST (test_pool_starts_all_free),
  ZC_TEST (test_acquire_until_exhausted_then_eagain),
  ZC_TEST (test_exactly_one_releaser_is_last),
  ZC_TEST (test_release_of_block_not_held_is_refused),
  ZC_TEST (test_out_of_range_index_is_refused),
  ZC_TEST (test_reclaim_drops_every_reference_of_a_dead_slot),
  ZC_TEST (test_tripped_pool_refuses_acquire_until_reset),
  ZC_TEST (test_no_breaker_pool_counts_trips_but_keeps_working),
  ZC_TEST (test_attach_accepts_a_constructed_pool),
  ZC_TEST (test_attach_rejects_bad_magic),
  ZC_TEST (test_attach_rejects_block_count_too_large_for_ranges),
  ZC_TEST (test_attach_rejects_inconsistent_stride_or_capacity),
  ZC_TEST (test_attached_view_ignores_later_header_changes),
  ZC_TEST (test_acquire_without_writable_data_is_refused),
};

int
main (int argc, char **argv)
{
  return zc_test_main (argc, argv, tests, ZC_N_TESTS (tests));
}

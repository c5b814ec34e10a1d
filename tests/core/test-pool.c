/* Tests of lib/pool.c: sizing, the life of a block, the reference record,
 * blocking acquires and their wake-ups, reclaim of a dead participant, the
 * circuit breaker, attaching to a pool someone else built, and a threaded
 * stress that must stay clean under ThreadSanitizer.
 *
 * The pools live in plain aligned heap memory (or a shared anonymous
 * mapping when a forked process must see them): segments are tested in
 * test-segment.c, and real peer processes over segments in
 * test-multiprocess.c.  Waits are bounded loops on a real condition. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>

#include <zc/error.h>
#include <zc/pool.h>
#include <zc/segment.h>

#include "zc-test.h"

#define WAIT_LIMIT_NS (INT64_C (20) * 1000 * 1000 * 1000)

typedef struct
{
  zc_pool_t pool;
  uint8_t *meta;
  uint8_t *data;
  uint64_t meta_size;
  uint64_t data_size;
  bool shared;                  /* mmap'ed, visible to forked children */
} fixture;

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

static void
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

static void
fixture_setup (fixture * f, uint64_t block_size, uint32_t n_blocks,
    uint32_t flags)
{
  fixture_setup_full (f, block_size, n_blocks, flags, false);
}

static void
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

static uint64_t
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static void
nap (void)
{
  struct timespec ts = { 0, 1000 * 1000 };

  nanosleep (&ts, NULL);
}

/* Bounded wait for the pool's sleeper count to reach @n. */
static void
wait_for_waiters (const zc_pool_t * pool, uint32_t n)
{
  uint64_t deadline = now_ns () + (uint64_t) WAIT_LIMIT_NS;

  while (atomic_load (&pool->header->waiters) != n) {
    if (now_ns () > deadline)
      ZC_FAIL ("waiters never reached %u", n);
    nap ();
  }
}

static void
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
test_timed_acquire_waits_at_least_its_timeout (void)
{
  fixture f;
  uint32_t idx;
  const int64_t timeout = 50 * 1000 * 1000;
  uint64_t t0;

  fixture_setup (&f, 100, 1, 0);
  ZC_CHECK_OK (zc_pool_acquire (&f.pool, 0, 0, &idx));
  t0 = now_ns ();
  ZC_CHECK_EQ (zc_pool_acquire (&f.pool, 0, timeout, &idx), -ETIMEDOUT);
  ZC_CHECK (now_ns () - t0 >= (uint64_t) timeout);
  ZC_CHECK_EQ (atomic_load (&f.pool.header->waiters), 0);
  fixture_teardown (&f);
}

typedef struct
{
  zc_pool_t *pool;
  int64_t timeout_ns;
  int result;
  uint32_t index;
  atomic_bool done;
} waiter_arg;

static void *
waiter_thread (void *data)
{
  waiter_arg *w = data;

  w->result = zc_pool_acquire (w->pool, 1, w->timeout_ns, &w->index);
  atomic_store (&w->done, true);
  return NULL;
}

static void
join_waiter (pthread_t th, waiter_arg * w)
{
  uint64_t deadline = now_ns () + (uint64_t) WAIT_LIMIT_NS;

  while (!atomic_load (&w->done)) {
    if (now_ns () > deadline)
      ZC_FAIL ("blocked acquire never returned");
    nap ();
  }
  pthread_join (th, NULL);
}

static void
test_blocked_acquire_is_woken_by_release (void)
{
  fixture f;
  waiter_arg w = { &f.pool, -1, 1, UINT32_MAX, false };
  uint32_t a, b;
  pthread_t th;

  fixture_setup (&f, 100, 2, 0);
  ZC_CHECK_OK (zc_pool_acquire (&f.pool, 0, 0, &a));
  ZC_CHECK_OK (zc_pool_acquire (&f.pool, 0, 0, &b));
  ZC_CHECK_EQ (pthread_create (&th, NULL, waiter_thread, &w), 0);
  wait_for_waiters (&f.pool, 1);
  ZC_CHECK (!atomic_load (&w.done));

  ZC_CHECK_EQ (zc_pool_release (&f.pool, 0, b), 1);
  join_waiter (th, &w);
  ZC_CHECK_EQ (w.result, 0);
  ZC_CHECK_EQ (w.index, b);
  ZC_CHECK_EQ (atomic_load (&f.pool.ctl[b].holders), 1u << 1);
  ZC_CHECK_EQ (atomic_load (&f.pool.header->waiters), 0);
  fixture_teardown (&f);
}

/* The futex is process-shared: a release in one process wakes an acquirer
 * sleeping in another. */
static void
test_release_in_another_process_wakes_a_sleeper (void)
{
  fixture f;
  uint32_t a;
  pid_t pid;
  int status;

  fixture_setup_full (&f, 100, 1, 0, true);
  ZC_CHECK_OK (zc_pool_acquire (&f.pool, 0, 0, &a));
  pid = fork ();
  ZC_CHECK (pid >= 0);
  if (pid == 0) {
    uint32_t idx;
    int r = zc_pool_acquire (&f.pool, 5, WAIT_LIMIT_NS, &idx);

    _exit (r == 0 && idx == a ? 0 : 1);
  }
  wait_for_waiters (&f.pool, 1);
  ZC_CHECK_EQ (zc_pool_release (&f.pool, 0, a), 1);
  status = zc_test_wait (pid, 30);
  ZC_CHECK (status != -1 && WIFEXITED (status) && WEXITSTATUS (status) == 0);
  ZC_CHECK_EQ (atomic_load (&f.pool.ctl[a].holders), 1u << 5);
  fixture_teardown (&f);
}

static void
test_set_flushing_cancels_waiting_acquire (void)
{
  fixture f;
  waiter_arg w = { &f.pool, -1, 1, UINT32_MAX, false };
  uint32_t a;
  pthread_t th;

  fixture_setup (&f, 100, 1, 0);
  ZC_CHECK_OK (zc_pool_acquire (&f.pool, 0, 0, &a));
  ZC_CHECK_EQ (pthread_create (&th, NULL, waiter_thread, &w), 0);
  wait_for_waiters (&f.pool, 1);
  zc_pool_set_flushing (&f.pool, true);
  join_waiter (th, &w);
  ZC_CHECK_EQ (w.result, -ECANCELED);

  /* Flushing refuses at once, even with a free block... */
  ZC_CHECK_EQ (zc_pool_release (&f.pool, 0, a), 1);
  ZC_CHECK_EQ (zc_pool_acquire (&f.pool, 0, -1, &a), -ECANCELED);
  /* ...until it is turned off. */
  zc_pool_set_flushing (&f.pool, false);
  ZC_CHECK_OK (zc_pool_acquire (&f.pool, 0, -1, &a));
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
test_trip_wakes_a_waiting_acquire (void)
{
  fixture f;
  waiter_arg w = { &f.pool, -1, 1, UINT32_MAX, false };
  uint32_t a;
  pthread_t th;

  fixture_setup (&f, 100, 1, 0);
  ZC_CHECK_OK (zc_pool_acquire (&f.pool, 0, 0, &a));
  ZC_CHECK_EQ (pthread_create (&th, NULL, waiter_thread, &w), 0);
  wait_for_waiters (&f.pool, 1);
  zc_pool_trip (&f.pool);
  join_waiter (th, &w);
  ZC_CHECK_EQ (w.result, ZC_ETRIPPED);
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

/* ---- threaded stress ------------------------------------------------- */

#define STRESS_THREADS 4
#define STRESS_CYCLES 200000
#define STRESS_BLOCKS 8u
#define RING_SIZE 4u            /* power of two */

/* Single-producer single-consumer ring of (index, token) handed from
 * thread t to thread t + 1, which owns the extra reference. */
typedef struct
{
  _Atomic uint32_t head;        /* written by the consumer */
  _Atomic uint32_t tail;        /* written by the producer */
  uint32_t index[RING_SIZE];
  uint64_t token[RING_SIZE];
} ring;

typedef struct
{
  fixture *f;
  unsigned slot;
  ring *in;                     /* from the previous thread */
  ring *out;                    /* to the next thread */
  atomic_uint *finished;        /* threads done with their cycles */
  long failures;
} stress_arg;

/* Producer side: only the consumer changes the ring meanwhile, and it
 * only makes room, so a ring with room stays with room until we push. */
static bool
ring_has_room (ring * r)
{
  return atomic_load_explicit (&r->tail, memory_order_relaxed) -
      atomic_load_explicit (&r->head, memory_order_acquire) < RING_SIZE;
}

static void
ring_push (ring * r, uint32_t index, uint64_t token)
{
  uint32_t tail = atomic_load_explicit (&r->tail, memory_order_relaxed);

  r->index[tail % RING_SIZE] = index;
  r->token[tail % RING_SIZE] = token;
  atomic_store_explicit (&r->tail, tail + 1, memory_order_release);
}

static bool
ring_pop (ring * r, uint32_t * index, uint64_t * token)
{
  uint32_t head = atomic_load_explicit (&r->head, memory_order_relaxed);

  if (head == atomic_load_explicit (&r->tail, memory_order_acquire))
    return false;
  *index = r->index[head % RING_SIZE];
  *token = r->token[head % RING_SIZE];
  atomic_store_explicit (&r->head, head + 1, memory_order_release);
  return true;
}

static uint64_t
read_token (const fixture * f, uint32_t index, int end)
{
  uint64_t t;
  const uint8_t *d = zc_pool_block_data (&f->pool, index);

  memcpy (&t, end ? d + f->pool.capacity - 8 : d, 8);
  return t;
}

/* Drops the references handed to us, checking that nobody wrote the
 * blocks while we held them. */
static void
drain (stress_arg * a)
{
  uint32_t index;
  uint64_t token;

  while (ring_pop (a->in, &index, &token)) {
    if (read_token (a->f, index, 0) != token ||
        read_token (a->f, index, 1) != token)
      a->failures++;
    if (zc_pool_release (&a->f->pool, a->slot, index) < 0)
      a->failures++;
  }
}

static void *
stress_thread (void *data)
{
  stress_arg *a = data;
  zc_pool_t *pool = &a->f->pool;

  for (uint64_t n = 0; n < STRESS_CYCLES; n++) {
    uint64_t token = ((uint64_t) (a->slot + 1) << 32) | n;
    uint8_t *d;
    uint32_t index;
    int r;

    drain (a);
    /* Short waits: every sleeper may hold blocks in its ring that only it
     * can drop, so nobody sleeps for long without draining. */
    while ((r = zc_pool_acquire (pool, a->slot, 100 * 1000, &index)) ==
        -ETIMEDOUT)
      drain (a);
    if (r < 0) {
      a->failures++;
      break;
    }
    d = zc_pool_block_data (pool, index);
    memcpy (d, &token, 8);
    memcpy (d + pool->capacity - 8, &token, 8);
    if (read_token (a->f, index, 0) != token)
      a->failures++;

    if (n % 2 == 0 && ring_has_room (a->out)) {
      /* Hand a reference to the next thread, which drops it later, maybe
       * before we drop ours: either of us may be the last. */
      if (zc_pool_add_holders (pool, a->slot, index,
              UINT64_C (1) << ((a->slot + 1) % STRESS_THREADS)) < 0)
        a->failures++;
      ring_push (a->out, index, token);
    }
    if (read_token (a->f, index, 1) != token)
      a->failures++;
    if (zc_pool_release (pool, a->slot, index) < 0)
      a->failures++;
  }

  /* Keep dropping what the previous thread hands us until every thread is
   * done: blocks parked in our ring would starve the others otherwise. */
  atomic_fetch_add (a->finished, 1);
  while (atomic_load (a->finished) < STRESS_THREADS) {
    drain (a);
    sched_yield ();
  }
  drain (a);
  return NULL;
}

static void
test_threaded_stress_never_double_claims (void)
{
  fixture f;
  ring rings[STRESS_THREADS];
  stress_arg args[STRESS_THREADS];
  pthread_t th[STRESS_THREADS];
  atomic_uint finished = 0;

  fixture_setup (&f, 256, STRESS_BLOCKS, 0);
  memset (rings, 0, sizeof (rings));
  for (unsigned t = 0; t < STRESS_THREADS; t++) {
    args[t].f = &f;
    args[t].slot = t;
    args[t].in = &rings[t];
    args[t].out = &rings[(t + 1) % STRESS_THREADS];
    args[t].finished = &finished;
    args[t].failures = 0;
  }
  for (unsigned t = 0; t < STRESS_THREADS; t++)
    ZC_CHECK_EQ (pthread_create (&th[t], NULL, stress_thread, &args[t]), 0);
  for (unsigned t = 0; t < STRESS_THREADS; t++)
    pthread_join (th[t], NULL);
  for (unsigned t = 0; t < STRESS_THREADS; t++) {
    drain (&args[t]);
    ZC_CHECK_EQ (args[t].failures, 0);
  }
  check_all_free (&f.pool);
  ZC_CHECK_EQ (atomic_load (&f.pool.header->waiters), 0);
  fixture_teardown (&f);
}

static const zc_test_case tests[] = {
  ZC_TEST (test_footprint_refuses_zero_and_oversized),
  ZC_TEST (test_block_layout_is_aligned_with_trailer_behind_capacity),
  ZC_TEST (test_construct_refuses_ranges_too_small),
  ZC_TEST (test_pool_starts_all_free),
  ZC_TEST (test_acquire_until_exhausted_then_eagain),
  ZC_TEST (test_timed_acquire_waits_at_least_its_timeout),
  ZC_TEST (test_blocked_acquire_is_woken_by_release),
  ZC_TEST (test_release_in_another_process_wakes_a_sleeper),
  ZC_TEST (test_set_flushing_cancels_waiting_acquire),
  ZC_TEST (test_exactly_one_releaser_is_last),
  ZC_TEST (test_release_of_block_not_held_is_refused),
  ZC_TEST (test_out_of_range_index_is_refused),
  ZC_TEST (test_reclaim_drops_every_reference_of_a_dead_slot),
  ZC_TEST (test_tripped_pool_refuses_acquire_until_reset),
  ZC_TEST (test_trip_wakes_a_waiting_acquire),
  ZC_TEST (test_no_breaker_pool_counts_trips_but_keeps_working),
  ZC_TEST (test_attach_accepts_a_constructed_pool),
  ZC_TEST (test_attach_rejects_bad_magic),
  ZC_TEST (test_attach_rejects_block_count_too_large_for_ranges),
  ZC_TEST (test_attach_rejects_inconsistent_stride_or_capacity),
  ZC_TEST (test_attached_view_ignores_later_header_changes),
  ZC_TEST (test_acquire_without_writable_data_is_refused),
  ZC_TEST (test_threaded_stress_never_double_claims),
};

int
main (int argc, char **argv)
{
  return zc_test_main (argc, argv, tests, ZC_N_TESTS (tests));
}

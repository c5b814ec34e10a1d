/* Tests of lib/pool.c's concurrency: blocking acquires and their wake-ups
 * (a release from another thread or another process, flushing, a trip),
 * and a threaded stress that must stay clean under ThreadSanitizer.
 *
 * The pools live in pool-harness.c's fixtures, a shared anonymous mapping
 * when a forked process must see them.  Waits are bounded loops on a real
 * condition. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <zc/error.h>
#include <zc/pool.h>

#include "zc-test.h"
#include "pool-harness.h"

#define WAIT_LIMIT_NS (INT64_C (20) * 1000 * 1000 * 1000)

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

/* ---- blocking acquires and their wake-ups ---------------------------- */

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
  ZC_TEST (test_timed_acquire_waits_at_least_its_timeout),
  ZC_TEST (test_blocked_acquire_is_woken_by_release),
  ZC_TEST (test_release_in_another_process_wakes_a_sleeper),
  ZC_TEST (test_set_flushing_cancels_waiting_acquire),
  ZC_TEST (test_trip_wakes_a_waiting_acquire),
  ZC_TEST (test_threaded_stress_never_double_claims),
};

int
main (int argc, char **argv)
{
  return zc_test_main (argc, argv, tests, ZC_N_TESTS (tests));
}

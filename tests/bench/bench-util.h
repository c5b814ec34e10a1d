/* What the two-process libzc benchmarks (bench-queue, bench-channel)
 * share: sorting samples, pacing, and dying loudly when a row hangs. */
#ifndef ZC_BENCH_UTIL_H
#define ZC_BENCH_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* qsort() order of uint64_t samples. */
static inline int
bench_cmp_u64 (const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

  return x < y ? -1 : x > y;
}

/* Sleeps until CLOCK_MONOTONIC reads @due_ns: the pace of a paced row,
 * on an absolute clock so that late ticks do not drift the ones after. */
static inline void
bench_sleep_until (uint64_t due_ns)
{
  struct timespec ts = {
    (time_t) (due_ns / UINT64_C (1000000000)),
    (long) (due_ns % UINT64_C (1000000000))
  };

  while (clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
    continue;
}

/* SIGALRM handler of a row's processes: a row that outlives its alarm is
 * hung; say so (async-signal-safe) and exit 3. */
static inline void
bench_on_alarm (int sig)
{
  static const char msg[] = ": row timed out\n";
  const char *name = program_invocation_short_name;

  (void) sig;
  if (write (STDERR_FILENO, name, strlen (name)) < 0
      || write (STDERR_FILENO, msg, sizeof (msg) - 1) < 0)
    _exit (3);
  _exit (3);
}

#endif /* ZC_BENCH_UTIL_H */

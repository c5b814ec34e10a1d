/* gst-zerocopy core library: process-shared futex waits.  Internal.
 *
 * The words live in shared memory that other processes map, so none of
 * these use FUTEX_PRIVATE_FLAG: the kernel keys them by the page, not by
 * the address in this process.
 */
#ifndef ZC_FUTEX_H
#define ZC_FUTEX_H

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <zc/heartbeat.h>

/* The CLOCK_MONOTONIC deadline @timeout_ns (> 0) from now, saturating. */
static inline uint64_t
zc_deadline_after (int64_t timeout_ns)
{
  uint64_t now = zc_now_ns ();

  return (uint64_t) timeout_ns > UINT64_MAX - now ?
      UINT64_MAX : now + (uint64_t) timeout_ns;
}

/* Sleeps while *@word == @seen, until woken or @deadline (UINT64_MAX:
 * none).  Returns 0 (woken, word changed, or the wait timed out: the caller
 * looks again), -ETIMEDOUT when @deadline had passed before sleeping,
 * -EINTR on a signal, or another negative errno. */
static inline int
zc_futex_wait (_Atomic uint32_t * word, uint32_t seen, uint64_t deadline)
{
  struct timespec rel, *relp = NULL;
  long r;

  if (deadline != UINT64_MAX) {
    uint64_t now = zc_now_ns (), left;

    if (now >= deadline)
      return -ETIMEDOUT;
    left = deadline - now;
    rel.tv_sec = (time_t) (left / UINT64_C (1000000000));
    rel.tv_nsec = (long) (left % UINT64_C (1000000000));
    relp = &rel;
  }
  r = syscall (SYS_futex, word, FUTEX_WAIT, seen, relp, NULL, 0);
  if (r < 0 && errno != EAGAIN && errno != ETIMEDOUT)
    return -errno;
  return 0;
}

/* Wakes every sleeper on @word, in every process. */
static inline void
zc_futex_wake_all (_Atomic uint32_t * word)
{
  syscall (SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

#endif /* ZC_FUTEX_H */

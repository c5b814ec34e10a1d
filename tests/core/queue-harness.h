/* What the descriptor queue tests share: a queues component in a shared
 * memfd (which a peer process can inherit), and descriptors whose every
 * field derives from a sequence number, so that a torn or mixed-up copy
 * shows.
 *
 * Used by test-queue.c (order, limits, revoke, hostile values) and
 * test-queue-wakeup.c (the doorbell, the wait for space, threads and
 * processes).  Helpers fail the running test (ZC_CHECK) rather than return
 * an error.
 */
#ifndef QUEUE_HARNESS_H
#define QUEUE_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include <zc/queue.h>

#define DEPTH ZC_QUEUE_DEPTH

/* A queues component in a shared memfd, and queue 0 of it, ACTIVE. */
typedef struct
{
  zc_queues_t qs;
  struct zc_queue *q;
  void *mem;
  uint64_t size;
  int memfd;
} shared_queues;

/* @n_queues queues in a fresh memfd; queue 0 ACTIVE with @limit. */
shared_queues shared_queues_new (uint32_t n_queues, uint32_t limit);

/* A descriptor whose every field derives from @seq. */
void desc_fill (struct zc_desc *d, uint64_t seq);

/* Whether @d is whole: what desc_fill() makes of its sequence. */
bool desc_matches (const struct zc_desc *d);

/* Pushes the descriptor of @seq, ringing @doorbell (-1: none) if the
 * reader sleeps; zc_queue_push()'s result. */
int push_seq (struct zc_queue *q, uint64_t seq, int doorbell);

/* Pops one entry that must be there and be @seq, whole. */
void pop_expect (struct zc_queue *q, uint64_t seq);

#endif /* QUEUE_HARNESS_H */

/* Helpers shared by the descriptor queue tests (see queue-harness.h): the
 * queues in a shared memfd, and checkable descriptors.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <zc/error.h>
#include <zc/queue.h>

#include "zc-test.h"
#include "queue-harness.h"

shared_queues
shared_queues_new (uint32_t n_queues, uint32_t limit)
{
  shared_queues s;

  s.size = zc_queues_footprint (n_queues);
  s.memfd = memfd_create ("test-queue", MFD_CLOEXEC);
  ZC_CHECK (s.memfd >= 0);
  ZC_CHECK_OK (ftruncate (s.memfd, (off_t) s.size));
  s.mem = mmap (NULL, s.size, PROT_READ | PROT_WRITE, MAP_SHARED, s.memfd, 0);
  ZC_CHECK (s.mem != MAP_FAILED);
  ZC_CHECK_OK (zc_queues_construct (&s.qs, s.mem, s.size, n_queues));
  s.q = zc_queues_get (&s.qs, 0);
  ZC_CHECK (s.q != NULL);
  zc_queue_reset (s.q, limit);
  return s;
}

/* A descriptor whose every field derives from @seq, so a torn or mixed-up
 * copy is caught by desc_matches(). */
void
desc_fill (struct zc_desc *d, uint64_t seq)
{
  memset (d, 0, sizeof (*d));
  d->block = (uint32_t) seq;
  d->generation = (uint32_t) (seq >> 32) ^ 0x5a5a5a5au;
  d->sequence = seq;
  d->size = ~seq;
  d->pts = seq * 3;
  d->dts = seq * 5;
  d->duration = seq ^ UINT64_C (0x1234567890abcdef);
  d->offset = seq + 7;
  d->offset_end = seq + 11;
  d->flags = (uint32_t) seq & ZC_DESC_FLAG_EOS;      /* frames: never NO_BLOCK */
  d->buffer_flags = (uint32_t) (seq * 13);
  d->meta_size = (uint32_t) (seq % (ZC_DESC_META_SIZE + 1));
  for (unsigned i = 0; i < ZC_DESC_META_SIZE; i++)
    d->meta[i] = (uint8_t) (seq + i);
}

bool
desc_matches (const struct zc_desc *d)
{
  struct zc_desc want;

  desc_fill (&want, d->sequence);
  return memcmp (&want, d, sizeof (want)) == 0;
}

int
push_seq (struct zc_queue *q, uint64_t seq, int doorbell)
{
  struct zc_desc d;

  desc_fill (&d, seq);
  return zc_queue_push (q, &d, doorbell);
}

/* Pops one entry that must be there and be @seq, whole. */
void
pop_expect (struct zc_queue *q, uint64_t seq)
{
  struct zc_desc d;

  ZC_CHECK_OK (zc_queue_pop (q, &d));
  ZC_CHECK_EQ (d.sequence, seq);
  ZC_CHECK (desc_matches (&d));
}

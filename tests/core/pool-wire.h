/* The little wire protocol of test-multiprocess's pool-level peers.
 *
 * Below the channel layer on purpose: these tests exercise pools, guards
 * and heartbeats across processes on their own, so the writer tells each
 * reader which block to read over a plain Unix socket.
 *
 *   reader -> writer   (connect)
 *   writer -> reader   segment descriptors, zc_segment_send_fds()
 *   reader -> writer   struct pool_demo_hello: the reader's heartbeat slot
 *   writer -> reader   struct pool_demo_frame, one per published block,
 *                      then one with POOL_DEMO_END
 */
#ifndef POOL_WIRE_H
#define POOL_WIRE_H

#include <stdint.h>

#define POOL_DEMO_END 1u

struct pool_demo_hello
{
  uint32_t slot;                /* reader's participant slot */
  uint32_t reserved;
};
_Static_assert (sizeof (struct pool_demo_hello) == 8, "wire struct");

struct pool_demo_frame
{
  uint32_t index;               /* block index, a reference held for the reader */
  uint32_t flags;               /* POOL_DEMO_END: no block, stream over */
  uint64_t frame;               /* frame number the writer put in the block */
};
_Static_assert (sizeof (struct pool_demo_frame) == 16, "wire struct");

#endif /* POOL_WIRE_H */

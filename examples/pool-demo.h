/* The little wire protocol of the pool demo (pool-writer, pool-reader).
 *
 * A stand-in until channels (the next step of libzc) carry descriptors in
 * shared memory: here the writer tells each reader which block to read
 * over its Unix socket.
 *
 *   reader -> writer   (connect)
 *   writer -> reader   segment descriptors, zc_segment_send_fds()
 *   reader -> writer   struct pool_demo_hello: the reader's heartbeat slot
 *   writer -> reader   struct pool_demo_frame, one per published block,
 *                      then one with POOL_DEMO_END
 */
#ifndef POOL_DEMO_H
#define POOL_DEMO_H

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

#endif /* POOL_DEMO_H */

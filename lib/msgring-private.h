/* gst-zerocopy core library: MessageRing internals shared by msgring.c
 * (geometry, membership, duty) and msgring-route.c (mailboxes, routing,
 * relays).  Not installed. */
#ifndef ZC_MSGRING_PRIVATE_H
#define ZC_MSGRING_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include <zc/msgring.h>

#define NO_SLOT UINT32_MAX
#define NS_PER_MS UINT64_C (1000000)

static inline uint64_t
bits_below (unsigned k)
{
  return k >= 64 ? ~UINT64_C (0) : (UINT64_C (1) << k) - 1;
}

static inline bool
ring_ok (const zc_msgring_t * ring)
{
  return ring != NULL && ring->header != NULL && ring->n_nodes > 0 &&
      ring->n_nodes <= ZC_MSGRING_MAX_NODES;
}

/* A payload range inside the arena (all node slices), overflow-safe. */
static inline bool
payload_in_arena (const zc_msgring_t * ring, uint64_t offset, uint64_t size)
{
  uint64_t arena = (uint64_t) ring->n_nodes * ring->payload_bytes;
  return size <= arena && offset <= arena - size;
}

static inline uint64_t
slot_bit (unsigned slot)
{
  return UINT64_C (1) << slot;
}

/* The membership mask, clipped so that a forged bit above n_nodes never
 * becomes an index.  Acquire pairs with the release of join/leave: the
 * joiner's reset of its node is visible to whoever sees its bit. */
static inline uint64_t
load_members (const zc_msgring_t * ring)
{
  return atomic_load_explicit (&ring->header->members, memory_order_acquire)
      & bits_below (ring->n_nodes);
}

/* Next member after @slot going up, cyclically; @slot itself if it is the
 * only member.  @m must not be 0. */
static inline unsigned
next_of (unsigned slot, uint64_t m)
{
  uint64_t high = m & ~bits_below (slot + 1);
  return (unsigned) __builtin_ctzll (high ? high : m);
}

static inline unsigned
prev_of (unsigned slot, uint64_t m)
{
  uint64_t low = m & bits_below (slot);
  return 63u - (unsigned) __builtin_clzll (low ? low : m);
}

/* Slots strictly between @a and @b going up, cyclically (@a != @b). */
static inline uint64_t
range_up (unsigned a, unsigned b)
{
  if (a < b)
    return bits_below (b) & ~bits_below (a + 1);
  return ~bits_below (a + 1) | bits_below (b);
}

static inline unsigned
duty_owner (const zc_msgring_t * ring, uint64_t duty)
{
  unsigned low = (unsigned) (duty & 0xff);
  return (low == 0 || low > ring->n_nodes) ? NO_SLOT : low - 1;
}

static inline uint64_t
duty_token (uint64_t duty)
{
  return duty >> 8;
}

static inline uint64_t
duty_make (uint64_t token, unsigned owner)
{
  return (token << 8) | (owner == NO_SLOT ? 0 : owner + 1);
}

static inline uint32_t
ms_of (uint64_t ns)
{
  return (uint32_t) (ns / NS_PER_MS);
}

/* A claim older than ZC_MSGRING_CLAIM_TIMEOUT_NS.  Signed difference: a
 * claim stamped slightly after @now_ms by another process is young. */
static inline bool
claim_expired (uint64_t word, uint32_t now_ms)
{
  int32_t age = (int32_t) (now_ms - ZC_MSGRING_CELL_MS (word));
  return age > (int32_t) (ZC_MSGRING_CLAIM_TIMEOUT_NS / NS_PER_MS);
}

/* Frees a cell that is garbage (invalid state), committed (when
 * @committed_too) or claimed too long ago.  Returns true if it did. */
bool zc_msgring_priv_scavenge (struct zc_msgring_cell *cell, uint64_t word,
    uint32_t now_ms, bool committed_too);

/* Sends @msg from @slot (fills src, origin, id, ttl).  As zc_msgring_send
 * without argument checks. */
int zc_msgring_priv_send_from (zc_msgring_t * ring, unsigned slot,
    zc_msg_t * msg, uint64_t now_ns);

/* Rewrites every member's cached links from the mask, until the mask
 * stays put over one pass (bounded). */
void zc_msgring_priv_repair_links (zc_msgring_t * ring);

/* Forwards what waits in the mailboxes of @slot, just removed from the
 * mask, on its behalf, so that messages passing through a dead or
 * departed node are not lost with it. */
void zc_msgring_priv_salvage (zc_msgring_t * ring, unsigned slot,
    uint64_t now_ns);

/* Ring-side handling of a message for @slot: OWNER_TRANSFER acceptance
 * and the duty holder's workspace count. */
void zc_msgring_priv_accept (zc_msgring_t * ring, unsigned slot,
    const zc_msg_t * msg, uint64_t now_ns);

#endif /* ZC_MSGRING_PRIVATE_H */

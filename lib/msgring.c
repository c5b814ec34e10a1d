/* gst-zerocopy core library: the MessageRing, geometry, membership, duty.
 *
 * See msgring.h for the model.  This file builds and validates rings
 * (plain and nested), keeps membership (mask first, links derived), runs
 * the duty holder's election and workspace, and hands out payload space.
 * Routing, mailboxes and relays are in msgring-route.c.
 *
 * Why the mask, not the links, is the truth: a doubly linked insert or
 * unlink takes several stores, and a process killed between them would
 * leave a ring that no one can walk safely.  One fetch_or/fetch_and on a
 * 64-bit mask is all or nothing.  The links stored in the nodes are
 * recomputed from the mask after every change (and by each node's poll),
 * so they converge once changes stop; routing never follows them.
 *
 * Duty election: (token, owner) share one atomic word, so a takeover is
 * one CAS that exactly one contender wins, and the token grows with every
 * change of hand (no ABA).  The renewal time is a separate word; a
 * contender stores it before its CAS, so a second contender that reads it
 * after the first one's store sees a fresh duty and backs off, and one
 * that read it before fails the CAS on the changed word.  A slow owner
 * renewing at the very moment it is replaced loses the duty: it learns so
 * from its next tick.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <zc/error.h>
#include <zc/heartbeat.h>
#include <zc/msgring.h>

#include "msgring-private.h"

#define LINK_REPAIR_TRIES 4
#define PAYLOAD_ALLOC_TRIES 16

static uint64_t
round_up (uint64_t v, uint64_t to)
{
  return (v + to - 1) / to * to;
}

static uint64_t
read_once_u64 (const uint64_t * p)
{
  return *(const volatile uint64_t *) p;
}

static uint32_t
read_once_u32 (const uint32_t * p)
{
  return *(const volatile uint32_t *) p;
}

uint64_t
zc_msgring_footprint (uint32_t n_nodes, uint32_t payload_bytes)
{
  if (n_nodes == 0 || n_nodes > ZC_MSGRING_MAX_NODES ||
      payload_bytes > ZC_MSGRING_MAX_PAYLOAD)
    return 0;
  return sizeof (struct zc_msgring_header) +
      (uint64_t) n_nodes * sizeof (struct zc_msgring_node) +
      (uint64_t) n_nodes * round_up (payload_bytes, 64);
}

static void
view_init (zc_msgring_t * ring, void *mem, uint64_t size, uint32_t n_nodes,
    uint32_t payload_bytes, uint64_t duty_timeout_ns, uint64_t parent_offset)
{
  uint8_t *base = mem;

  ring->header = mem;
  ring->nodes = (struct zc_msgring_node *) (base +
      sizeof (struct zc_msgring_header));
  ring->payload = (uint8_t *) (ring->nodes + n_nodes);
  ring->size = size;
  ring->duty_timeout_ns = duty_timeout_ns;
  ring->parent_offset = parent_offset;
  ring->n_nodes = n_nodes;
  ring->payload_bytes = payload_bytes;
}

static int
construct_one (zc_msgring_t * ring, void *mem, uint64_t size,
    uint32_t n_nodes, uint32_t payload_bytes, uint64_t duty_timeout_ns,
    uint64_t parent_offset, uint32_t parent_node)
{
  struct zc_msgring_header *h = mem;
  uint64_t footprint = zc_msgring_footprint (n_nodes, payload_bytes);

  if (ring == NULL || mem == NULL || ((uintptr_t) mem % 64) != 0)
    return -EINVAL;
  if (footprint == 0)
    return -EINVAL;
  if (size < footprint)
    return ZC_EBOUNDS;
  if (duty_timeout_ns == 0)
    duty_timeout_ns = ZC_MSGRING_DEFAULT_DUTY_TIMEOUT_NS;

  /* Zeroed memory, unseen by anyone until the region publishes the
   * component (release): plain stores.  Zero is FREE for every cell, no
   * member, no owner, token 0. */
  payload_bytes = (uint32_t) round_up (payload_bytes, 64);
  h->magic = ZC_MSGRING_MAGIC;
  h->version = ZC_MSGRING_VERSION;
  h->n_nodes = n_nodes;
  h->mailbox_slots = ZC_MSGRING_MAILBOX_SLOTS;
  h->payload_bytes = payload_bytes;
  h->parent_node = parent_offset ? parent_node : NO_SLOT;
  h->duty_timeout_ns = duty_timeout_ns;
  h->nodes_offset = sizeof (struct zc_msgring_header);
  h->payload_offset = sizeof (struct zc_msgring_header) +
      (uint64_t) n_nodes * sizeof (struct zc_msgring_node);
  h->footprint = footprint;
  h->parent_offset = parent_offset;

  view_init (ring, mem, size, n_nodes, payload_bytes, duty_timeout_ns,
      parent_offset);
  for (uint32_t i = 0; i < n_nodes; i++) {
    atomic_store_explicit (&ring->nodes[i].prev, i, memory_order_relaxed);
    atomic_store_explicit (&ring->nodes[i].next, i, memory_order_relaxed);
  }
  return 0;
}

int
zc_msgring_construct (zc_msgring_t * ring, void *mem, uint64_t size,
    uint32_t n_nodes, uint32_t payload_bytes, uint64_t duty_timeout_ns)
{
  return construct_one (ring, mem, size, n_nodes, payload_bytes,
      duty_timeout_ns, 0, 0);
}

uint64_t
zc_msgring_nested_footprint (uint32_t n_nodes, uint32_t payload_bytes,
    uint32_t n_children, uint32_t child_nodes, uint32_t child_payload_bytes)
{
  uint64_t parent = zc_msgring_footprint (n_nodes, payload_bytes);
  uint64_t child = zc_msgring_footprint (child_nodes, child_payload_bytes);

  if (parent == 0 || n_children > n_nodes || (n_children > 0 && child == 0))
    return 0;
  return parent + (uint64_t) n_children * child;
}

int
zc_msgring_construct_nested (zc_msgring_t * parent, void *mem, uint64_t size,
    uint32_t n_nodes, uint32_t payload_bytes, uint64_t duty_timeout_ns,
    uint64_t child_mask, uint32_t child_nodes, uint32_t child_payload_bytes)
{
  uint32_t n_children = (uint32_t) __builtin_popcountll (child_mask);
  uint64_t total, parent_fp, child_fp, offset;
  int ret;

  if (n_nodes == 0 || n_nodes > ZC_MSGRING_MAX_NODES ||
      (child_mask & ~bits_below (n_nodes)) != 0)
    return -EINVAL;
  total = zc_msgring_nested_footprint (n_nodes, payload_bytes, n_children,
      child_nodes, child_payload_bytes);
  if (total == 0)
    return -EINVAL;
  if (size < total)
    return ZC_EBOUNDS;

  ret = construct_one (parent, mem, size, n_nodes, payload_bytes,
      duty_timeout_ns, 0, 0);
  if (ret < 0)
    return ret;
  parent_fp = zc_msgring_footprint (n_nodes, payload_bytes);
  child_fp = zc_msgring_footprint (child_nodes, child_payload_bytes);
  offset = parent_fp;
  for (unsigned node = 0; node < n_nodes; node++) {
    zc_msgring_t child;

    if (!(child_mask & slot_bit (node)))
      continue;
    ret = construct_one (&child, (uint8_t *) mem + offset, child_fp,
        child_nodes, child_payload_bytes, parent->duty_timeout_ns, offset,
        node);
    if (ret < 0)
      return ret;
    parent->nodes[node].child_offset = offset;
    offset += child_fp;
  }
  return 0;
}

int
zc_msgring_attach (zc_msgring_t * ring, void *mem, uint64_t size)
{
  struct zc_msgring_header *h = mem;
  uint32_t n_nodes, payload_bytes;
  uint64_t timeout, footprint, parent_offset;

  if (ring == NULL || mem == NULL || ((uintptr_t) mem % 64) != 0)
    return -EINVAL;
  if (size < sizeof (struct zc_msgring_header))
    return ZC_EBOUNDS;
  if (read_once_u32 (&h->magic) != ZC_MSGRING_MAGIC)
    return ZC_EBADMAGIC;
  if (read_once_u32 (&h->version) != ZC_MSGRING_VERSION)
    return ZC_EVERSION;

  /* Each field read once: the value checked is the value kept. */
  n_nodes = read_once_u32 (&h->n_nodes);
  payload_bytes = read_once_u32 (&h->payload_bytes);
  timeout = read_once_u64 (&h->duty_timeout_ns);
  parent_offset = read_once_u64 (&h->parent_offset);
  footprint = zc_msgring_footprint (n_nodes, payload_bytes);
  if (footprint == 0 || payload_bytes % 64 != 0 || timeout == 0 ||
      parent_offset % 64 != 0 ||
      read_once_u32 (&h->mailbox_slots) != ZC_MSGRING_MAILBOX_SLOTS)
    return ZC_EBOUNDS;
  if (read_once_u64 (&h->nodes_offset) != sizeof (struct zc_msgring_header)
      || read_once_u64 (&h->payload_offset) !=
      sizeof (struct zc_msgring_header) +
      (uint64_t) n_nodes * sizeof (struct zc_msgring_node)
      || read_once_u64 (&h->footprint) != footprint || size < footprint)
    return ZC_EBOUNDS;

  view_init (ring, mem, size, n_nodes, payload_bytes, timeout, parent_offset);
  return 0;
}

int
zc_msgring_child (const zc_msgring_t * parent, unsigned node,
    zc_msgring_t * child)
{
  uint64_t offset, parent_fp;
  int ret;

  if (!ring_ok (parent) || child == NULL || node >= parent->n_nodes)
    return -EINVAL;
  offset = read_once_u64 (&parent->nodes[node].child_offset);
  if (offset == 0)
    return -ENOENT;
  parent_fp = zc_msgring_footprint (parent->n_nodes, parent->payload_bytes);
  if (offset < parent_fp || offset % 64 != 0 || offset >= parent->size)
    return ZC_EBOUNDS;
  ret = zc_msgring_attach (child, (uint8_t *) parent->header + offset,
      parent->size - offset);
  if (ret < 0)
    return ret;
  /* The child must name this very place, or a forged offset could make
   * two parent nodes (or a node and its own ring) share one child. */
  if (child->parent_offset != offset ||
      read_once_u32 (&child->header->parent_node) != node)
    return ZC_EBOUNDS;
  return 0;
}

void
zc_msgring_priv_repair_links (zc_msgring_t * ring)
{
  for (int tries = 0; tries < LINK_REPAIR_TRIES; tries++) {
    uint64_t m = load_members (ring);

    for (uint64_t left = m; left != 0; left &= left - 1) {
      unsigned i = (unsigned) __builtin_ctzll (left);

      /* Relaxed: a cache for diagnostics, never followed by routing. */
      atomic_store_explicit (&ring->nodes[i].prev, prev_of (i, m),
          memory_order_relaxed);
      atomic_store_explicit (&ring->nodes[i].next, next_of (i, m),
          memory_order_relaxed);
    }
    if (load_members (ring) == m)
      return;
  }
}

static void
reset_mailbox (struct zc_msgring_mailbox *mb, uint32_t now_ms)
{
  for (unsigned i = 0; i < ZC_MSGRING_MAILBOX_SLOTS; i++) {
    struct zc_msgring_cell *cell = &mb->cells[i];
    uint64_t w = atomic_load_explicit (&cell->word, memory_order_acquire);

    /* Claimed cells are left to their writer (or to the claim timeout). */
    zc_msgring_priv_scavenge (cell, w, now_ms, true);
  }
}

int
zc_msgring_join (zc_msgring_t * ring, unsigned slot)
{
  struct zc_msgring_node *node;
  uint64_t old;

  if (!ring_ok (ring) || slot >= ring->n_nodes)
    return -EINVAL;
  if (load_members (ring) & slot_bit (slot))
    return ZC_ESTATE;

  node = &ring->nodes[slot];
  reset_mailbox (&node->left, ms_of (zc_now_ns ()));
  reset_mailbox (&node->right, ms_of (zc_now_ns ()));
  for (unsigned i = 0; i < ZC_MSGRING_DEDUPE; i++)
    atomic_store_explicit (&node->dedupe[i], 0, memory_order_relaxed);
  atomic_store_explicit (&node->replay_pending, 1, memory_order_relaxed);

  /* Release: the reset above happens before anything done by whoever
   * sees the bit (pairs with load_members). */
  old = atomic_fetch_or_explicit (&ring->header->members, slot_bit (slot),
      memory_order_acq_rel);
  if (old & slot_bit (slot))
    return ZC_ESTATE;
  zc_msgring_priv_repair_links (ring);
  return 0;
}

static int
remove_member (zc_msgring_t * ring, unsigned slot)
{
  uint64_t old, duty;

  if (!ring_ok (ring) || slot >= ring->n_nodes)
    return -EINVAL;
  old = atomic_fetch_and_explicit (&ring->header->members, ~slot_bit (slot),
      memory_order_acq_rel);
  if (!(old & slot_bit (slot)))
    return ZC_ESTATE;

  /* A departed owner gives the duty up now (token + 1, so that a
   * hand-over it had started cannot land any more) instead of making the
   * others wait for its timeout.  A failed CAS means the duty moved on. */
  duty = atomic_load_explicit (&ring->header->duty, memory_order_acquire);
  if (duty_owner (ring, duty) == slot)
    atomic_compare_exchange_strong_explicit (&ring->header->duty, &duty,
        duty_make (duty_token (duty) + 1, NO_SLOT), memory_order_acq_rel,
        memory_order_relaxed);
  zc_msgring_priv_repair_links (ring);
  zc_msgring_priv_salvage (ring, slot, zc_now_ns ());
  return 0;
}

int
zc_msgring_leave (zc_msgring_t * ring, unsigned slot)
{
  return remove_member (ring, slot);
}

int
zc_msgring_evict (zc_msgring_t * ring, unsigned slot)
{
  return remove_member (ring, slot);
}

uint64_t
zc_msgring_members (const zc_msgring_t * ring)
{
  return ring_ok (ring) ? load_members (ring) : 0;
}

int
zc_msgring_links (const zc_msgring_t * ring, unsigned slot, unsigned *prev,
    unsigned *next)
{
  uint32_t p, n;

  if (!ring_ok (ring) || slot >= ring->n_nodes || prev == NULL || next == NULL)
    return -EINVAL;
  p = atomic_load_explicit (&ring->nodes[slot].prev, memory_order_relaxed);
  n = atomic_load_explicit (&ring->nodes[slot].next, memory_order_relaxed);
  if (p >= ring->n_nodes || n >= ring->n_nodes)
    return ZC_EBOUNDS;
  *prev = p;
  *next = n;
  return 0;
}

static void
note_owner_change (zc_msgring_t * ring, uint64_t now_ns)
{
  /* Relaxed: workspace counters are estimates; called by the new owner. */
  atomic_fetch_add_explicit (&ring->header->workspace
      [ZC_MSGRING_OWNER_CHANGES], 1, memory_order_relaxed);
  atomic_store_explicit (&ring->header->workspace
      [ZC_MSGRING_LAST_TRANSFER_NS], now_ns, memory_order_relaxed);
}

int
zc_msgring_duty_tick (zc_msgring_t * ring, unsigned slot, uint64_t now_ns)
{
  struct zc_msgring_header *h;
  uint64_t m, duty, renew;
  unsigned owner;
  zc_msg_t announce;

  if (!ring_ok (ring) || slot >= ring->n_nodes)
    return -EINVAL;
  h = ring->header;
  m = load_members (ring);
  if (!(m & slot_bit (slot)))
    return ZC_ESTATE;

  duty = atomic_load_explicit (&h->duty, memory_order_acquire);
  owner = duty_owner (ring, duty);
  if (owner == slot) {
    atomic_store_explicit (&h->renew_ns, now_ns, memory_order_relaxed);
    return 1;
  }
  if (owner != NO_SLOT && (m & slot_bit (owner))) {
    renew = atomic_load_explicit (&h->renew_ns, memory_order_relaxed);
    /* A renewal "in the future" comes from a process whose clock read was
     * later than ours: fresh. */
    if (now_ns <= renew || now_ns - renew <= ring->duty_timeout_ns)
      return 0;
  }

  /* Before the CAS, see the top of the file. */
  atomic_store_explicit (&h->renew_ns, now_ns, memory_order_relaxed);
  if (!atomic_compare_exchange_strong_explicit (&h->duty, &duty,
          duty_make (duty_token (duty) + 1, slot), memory_order_acq_rel,
          memory_order_relaxed))
    return 0;
  note_owner_change (ring, now_ns);

  memset (&announce, 0, sizeof (announce));
  announce.type = ZC_MSG_OWNER_TRANSFER;
  announce.flags = ZC_MSG_BIDI;
  announce.token = duty_token (duty) + 1;
  announce.arg[0] = slot;
  announce.arg[1] = owner == NO_SLOT ? 0 : owner + 1;
  /* Best effort: the header is the truth, the broadcast only news. */
  (void) zc_msgring_priv_send_from (ring, slot, &announce, now_ns);
  return 1;
}

void
zc_msgring_priv_accept (zc_msgring_t * ring, unsigned slot,
    const zc_msg_t * msg, uint64_t now_ns)
{
  struct zc_msgring_header *h = ring->header;
  uint64_t duty = atomic_load_explicit (&h->duty, memory_order_acquire);

  if (msg->type == ZC_MSG_OWNER_TRANSFER && msg->dst == slot + 1 &&
      duty_owner (ring, duty) == msg->src &&
      duty_token (duty) == msg->token) {
    /* Renewal first, as in a takeover: nobody sees a fresh owner with a
     * stale renewal. */
    atomic_store_explicit (&h->renew_ns, now_ns, memory_order_relaxed);
    if (atomic_compare_exchange_strong_explicit (&h->duty, &duty,
            duty_make (duty_token (duty) + 1, slot), memory_order_acq_rel,
            memory_order_relaxed)) {
      note_owner_change (ring, now_ns);
      duty = duty_make (duty_token (duty) + 1, slot);
    }
  }
  if (duty_owner (ring, duty) == slot)
    atomic_fetch_add_explicit (&h->workspace[ZC_MSGRING_MESSAGES_HANDLED], 1,
        memory_order_relaxed);
}

int
zc_msgring_hand_over (zc_msgring_t * ring, unsigned slot, unsigned to)
{
  uint64_t m, duty;
  zc_msg_t msg;

  if (!ring_ok (ring) || slot >= ring->n_nodes || to >= ring->n_nodes ||
      to == slot)
    return -EINVAL;
  m = load_members (ring);
  if (!(m & slot_bit (slot)) || !(m & slot_bit (to)))
    return ZC_ESTATE;
  duty = atomic_load_explicit (&ring->header->duty, memory_order_acquire);
  if (duty_owner (ring, duty) != slot)
    return ZC_ESTATE;

  memset (&msg, 0, sizeof (msg));
  msg.type = ZC_MSG_OWNER_TRANSFER;
  msg.flags = ZC_MSG_BIDI;
  msg.dst = (uint8_t) (to + 1);
  msg.token = duty_token (duty);
  msg.arg[0] = to;
  msg.arg[1] = slot + 1;
  return zc_msgring_priv_send_from (ring, slot, &msg, zc_now_ns ());
}

int
zc_msgring_owner (const zc_msgring_t * ring, uint64_t * token)
{
  uint64_t duty;
  unsigned owner;

  if (!ring_ok (ring))
    return -EINVAL;
  duty = atomic_load_explicit (&ring->header->duty, memory_order_acquire);
  if (token != NULL)
    *token = duty_token (duty);
  owner = duty_owner (ring, duty);
  return owner == NO_SLOT ? -ENOENT : (int) owner;
}

int
zc_msgring_workspace_add (zc_msgring_t * ring, unsigned slot,
    enum zc_msgring_counter counter, uint64_t delta)
{
  _Atomic uint64_t *ws;

  if (!ring_ok (ring) || slot >= ring->n_nodes ||
      (unsigned) counter >= ZC_MSGRING_COUNTER_LAST)
    return -EINVAL;
  if (zc_msgring_owner (ring, NULL) != (int) slot)
    return ZC_ESTATE;
  ws = &ring->header->workspace[counter];
  if (counter == ZC_MSGRING_LAST_TRANSFER_NS)
    atomic_store_explicit (ws, delta, memory_order_relaxed);
  else
    atomic_fetch_add_explicit (ws, delta, memory_order_relaxed);
  return 0;
}

int
zc_msgring_get_stats (const zc_msgring_t * ring, zc_msgring_stats_t * stats)
{
  _Atomic uint64_t *ws;

  if (!ring_ok (ring) || stats == NULL)
    return -EINVAL;
  ws = ring->header->workspace;
  stats->messages_handled = atomic_load_explicit
      (&ws[ZC_MSGRING_MESSAGES_HANDLED], memory_order_relaxed);
  stats->reclaims = atomic_load_explicit (&ws[ZC_MSGRING_RECLAIMS],
      memory_order_relaxed);
  stats->crc_verifies = atomic_load_explicit (&ws[ZC_MSGRING_CRC_VERIFIES],
      memory_order_relaxed);
  stats->owner_changes = atomic_load_explicit (&ws[ZC_MSGRING_OWNER_CHANGES],
      memory_order_relaxed);
  stats->last_transfer_ns = atomic_load_explicit
      (&ws[ZC_MSGRING_LAST_TRANSFER_NS], memory_order_relaxed);
  stats->dropped = 0;
  for (unsigned i = 0; i < ring->n_nodes; i++)
    stats->dropped += atomic_load_explicit (&ring->nodes[i].dropped,
        memory_order_relaxed);
  return 0;
}

int
zc_msgring_payload_alloc (zc_msgring_t * ring, unsigned slot, uint32_t size,
    zc_msg_t * msg, void **ptr)
{
  _Atomic uint64_t *head;
  uint64_t slice;

  if (!ring_ok (ring) || slot >= ring->n_nodes || msg == NULL ||
      ptr == NULL || size == 0)
    return -EINVAL;
  slice = ring->payload_bytes;
  if (size > slice)
    return -EMSGSIZE;

  head = &ring->nodes[slot].payload_head;
  for (int tries = 0; tries < PAYLOAD_ALLOC_TRIES; tries++) {
    uint64_t h = atomic_load_explicit (head, memory_order_relaxed);
    uint64_t pos = h % slice, start = h;

    /* A payload never straddles the end: skip to the next lap. */
    if (pos + size > slice) {
      start = h + (slice - pos);
      pos = 0;
    }
    /* Relaxed: the payload bytes are published by the mailbox commit. */
    if (atomic_compare_exchange_weak_explicit (head, &h,
            start + round_up (size, 8), memory_order_relaxed,
            memory_order_relaxed)) {
      msg->payload_offset = (uint64_t) slot * slice + pos;
      msg->payload_size = size;
      *ptr = ring->payload + msg->payload_offset;
      return 0;
    }
  }
  return -EAGAIN;
}

int
zc_msgring_payload (const zc_msgring_t * ring, const zc_msg_t * msg,
    const void **ptr)
{
  if (!ring_ok (ring) || msg == NULL || ptr == NULL)
    return -EINVAL;
  if (msg->payload_size == 0)
    return -ENOENT;
  if (!payload_in_arena (ring, msg->payload_offset, msg->payload_size))
    return ZC_EBOUNDS;
  *ptr = ring->payload + msg->payload_offset;
  return 0;
}

/* gst-zerocopy core library: the MessageRing, mailboxes and routing.
 *
 * See msgring.h for the model.  Every move of a message is the same three
 * steps: claim a cell in each mailbox it goes to (a CAS each; a full
 * mailbox undoes the claims already made and reports -EAGAIN), free the
 * cell it came from (a CAS, which only one reader can win), commit the
 * claimed cells (a release CAS each).  So a message is never both
 * delivered and left behind, and a move that cannot finish leaves
 * nothing half done.
 *
 * Nothing here trusts the shared memory: the mask is clipped to the node
 * count, neighbours are recomputed from it, each message is checked
 * (type, flags, src, dst, ttl, payload range) before it is used, and a
 * message's copy dies when its ttl is spent, so no forged value can make
 * a message circle for ever.  Each poll visits each cell once.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <zc/error.h>
#include <zc/heartbeat.h>
#include <zc/msgring.h>

#include "msgring-private.h"

#define PERSIST_READ_TRIES 4
/* Duty timeouts during which a handled message waits for room to be
 * forwarded before it is dropped. */
#define FORWARD_TIMEOUTS 10
#define MAX_ENTRIES (2 * ZC_MSGRING_MAILBOX_SLOTS)

/* Cells claimed for one move. */
struct route
{
  unsigned n;
  struct zc_msgring_cell *cell[2];
  uint64_t word[2];
};

/* A committed cell seen by poll, with its message copied out. */
struct entry
{
  struct zc_msgring_cell *cell;
  uint64_t word;
  uint64_t ticket;
  bool toward_next;             /* left mailbox: travelling towards next */
  zc_msg_t msg;
};

bool
zc_msgring_priv_scavenge (struct zc_msgring_cell *cell, uint64_t word,
    uint32_t now_ms, bool committed_too)
{
  unsigned state = ZC_MSGRING_CELL_STATE (word);
  bool free_it = state > ZC_MSGRING_CELL_COMMITTED ||
      (state == ZC_MSGRING_CELL_COMMITTED && committed_too) ||
      (state == ZC_MSGRING_CELL_CLAIMED && claim_expired (word, now_ms));

  if (!free_it)
    return false;
  /* Release: our reads of the message happen before the next writer's
   * stores (pairs with the acquire of its claim).  The bumped lap makes a
   * late commit by a stalled writer fail. */
  return atomic_compare_exchange_strong_explicit (&cell->word, &word,
      ZC_MSGRING_CELL_WORD (ZC_MSGRING_CELL_FREE,
          ZC_MSGRING_CELL_LAP (word) + 1, 0), memory_order_acq_rel,
      memory_order_relaxed);
}

static bool
release_cell (struct zc_msgring_cell *cell, uint64_t word)
{
  return zc_msgring_priv_scavenge (cell, word, 0, true);
}

static void
drop_cell (zc_msgring_t * ring, unsigned slot, struct zc_msgring_cell *cell,
    uint64_t word)
{
  if (release_cell (cell, word))
    atomic_fetch_add_explicit (&ring->nodes[slot].dropped, 1,
        memory_order_relaxed);
}

static struct zc_msgring_cell *
claim_cell (struct zc_msgring_mailbox *mb, uint32_t now_ms, uint64_t * word)
{
  for (unsigned i = 0; i < ZC_MSGRING_MAILBOX_SLOTS; i++) {
    struct zc_msgring_cell *cell = &mb->cells[i];
    uint64_t w = atomic_load_explicit (&cell->word, memory_order_relaxed);
    uint64_t claimed;

    if (ZC_MSGRING_CELL_STATE (w) != ZC_MSGRING_CELL_FREE)
      continue;
    claimed = ZC_MSGRING_CELL_WORD (ZC_MSGRING_CELL_CLAIMED,
        ZC_MSGRING_CELL_LAP (w), now_ms);
    /* Acquire pairs with the reader's release of FREE: its copy of the
     * previous message is done before we overwrite it. */
    if (atomic_compare_exchange_strong_explicit (&cell->word, &w, claimed,
            memory_order_acquire, memory_order_relaxed)) {
      *word = claimed;
      return cell;
    }
  }
  return NULL;
}

static int
route_add (struct route *r, struct zc_msgring_mailbox *mb,
    const zc_msg_t * msg, uint32_t now_ms)
{
  uint64_t word;
  struct zc_msgring_cell *cell = claim_cell (mb, now_ms, &word);

  if (cell == NULL)
    return -EAGAIN;
  /* Relaxed: the ticket only orders reading, it publishes nothing. */
  cell->ticket = atomic_fetch_add_explicit (&mb->ticket, 1,
      memory_order_relaxed);
  cell->pending_since_ns = 0;
  cell->msg = *msg;
  r->cell[r->n] = cell;
  r->word[r->n] = word;
  r->n++;
  return 0;
}

/* Returns how many copies were committed. */
static unsigned
route_commit (struct route *r)
{
  unsigned committed = 0;

  for (unsigned i = 0; i < r->n; i++) {
    uint64_t w = r->word[i];

    /* Release pairs with the reader's acquire load: the message is
     * complete when seen.  If the CAS fails, a reader took us for dead
     * (stalled past the claim timeout) and freed the cell: that copy is
     * lost, as if the mailbox had been full. */
    committed += atomic_compare_exchange_strong_explicit (&r->cell[i]->word,
        &w, ZC_MSGRING_CELL_WORD (ZC_MSGRING_CELL_COMMITTED,
            ZC_MSGRING_CELL_LAP (w), ZC_MSGRING_CELL_MS (w)),
        memory_order_release, memory_order_relaxed);
  }
  return committed;
}

static void
route_cancel (struct route *r)
{
  for (unsigned i = 0; i < r->n; i++) {
    uint64_t w = r->word[i];

    atomic_compare_exchange_strong_explicit (&r->cell[i]->word, &w,
        ZC_MSGRING_CELL_WORD (ZC_MSGRING_CELL_FREE,
            ZC_MSGRING_CELL_LAP (w) + 1, 0), memory_order_release,
        memory_order_relaxed);
  }
  r->n = 0;
}

/* The mailbox of @slot's neighbour in one direction, per @m; NULL if
 * there is no other member. */
static struct zc_msgring_mailbox *
hop_mailbox (zc_msgring_t * ring, unsigned slot, bool toward_next,
    uint64_t m, unsigned *to)
{
  unsigned t;

  if ((m & ~slot_bit (slot)) == 0)
    return NULL;
  t = toward_next ? next_of (slot, m) : prev_of (slot, m);
  *to = t;
  /* Travelling towards next, we are the receiver's prev: its left box. */
  return toward_next ? &ring->nodes[t].left : &ring->nodes[t].right;
}

/* Claims the cells for a new message from @slot (src, id set). */
static int
route_new (zc_msgring_t * ring, unsigned slot, const zc_msg_t * msg,
    uint32_t now_ms, struct route *r)
{
  uint64_t m = load_members (ring);
  uint64_t others = m & ~slot_bit (slot);
  unsigned n_others = (unsigned) __builtin_popcountll (others);
  unsigned ttl_next, ttl_prev, to;
  zc_msg_t copy = *msg;

  r->n = 0;
  if (n_others == 0)
    return 0;
  if (msg->dst == 0) {
    /* A BIDI broadcast splits the others between its two copies, so
     * that they stop where they meet. */
    ttl_next = (msg->flags & ZC_MSG_BIDI) ? (n_others + 1) / 2 : n_others;
    ttl_prev = (msg->flags & ZC_MSG_BIDI) ? n_others / 2 : 0;
  } else if (msg->flags & ZC_MSG_BIDI) {
    ttl_next = ttl_prev = n_others;
  } else {
    /* The shorter way by position among the members; the dst need not
     * be one (then the message dies back at its source). */
    unsigned d = msg->dst - 1u;
    unsigned up = (unsigned) __builtin_popcountll (others & range_up (slot,
            d));
    unsigned down = (unsigned) __builtin_popcountll (others & range_up (d,
            slot));
    ttl_next = up <= down ? n_others : 0;
    ttl_prev = up <= down ? 0 : n_others;
  }

  if (ttl_next > 0) {
    copy.ttl = (uint8_t) ttl_next;
    if (route_add (r, hop_mailbox (ring, slot, true, m, &to), &copy,
            now_ms) < 0)
      goto full;
  }
  if (ttl_prev > 0) {
    copy.ttl = (uint8_t) ttl_prev;
    if (route_add (r, hop_mailbox (ring, slot, false, m, &to), &copy,
            now_ms) < 0)
      goto full;
  }
  return 0;

full:
  route_cancel (r);
  return -EAGAIN;
}

/* Keeps @msg as the last PERSIST message of its type.  The cell word is
 * a seqlock: claim (lap + 1), write, commit.  A concurrent writer of the
 * same type wins; a claim left by a dead writer expires. */
static void
persist_store (zc_msgring_t * ring, const zc_msg_t * msg, uint32_t now_ms)
{
  struct zc_msgring_cell *cell = &ring->header->persist[msg->type];
  uint64_t w = atomic_load_explicit (&cell->word, memory_order_relaxed);
  uint64_t claimed;

  if (ZC_MSGRING_CELL_STATE (w) == ZC_MSGRING_CELL_CLAIMED &&
      !claim_expired (w, now_ms))
    return;
  claimed = ZC_MSGRING_CELL_WORD (ZC_MSGRING_CELL_CLAIMED,
      ZC_MSGRING_CELL_LAP (w) + 1, now_ms);
  if (!atomic_compare_exchange_strong_explicit (&cell->word, &w, claimed,
          memory_order_acquire, memory_order_relaxed))
    return;
  cell->msg = *msg;
  cell->msg.ttl = 1;
  /* Release pairs with persist_read()'s acquire load. */
  atomic_compare_exchange_strong_explicit (&cell->word, &claimed,
      ZC_MSGRING_CELL_WORD (ZC_MSGRING_CELL_COMMITTED,
          ZC_MSGRING_CELL_LAP (claimed), now_ms), memory_order_release,
      memory_order_relaxed);
}

static bool
persist_read (struct zc_msgring_cell *cell, zc_msg_t * msg)
{
  for (int tries = 0; tries < PERSIST_READ_TRIES; tries++) {
    uint64_t w = atomic_load_explicit (&cell->word, memory_order_acquire);

    if (ZC_MSGRING_CELL_STATE (w) != ZC_MSGRING_CELL_COMMITTED)
      return false;
    memcpy (msg, &cell->msg, sizeof (*msg));
    /* Re-read with a release RMW (adding 0 changes nothing a writer's CAS
     * compares): the copy above cannot be reordered after it. */
    if (atomic_fetch_add_explicit (&cell->word, 0, memory_order_acq_rel) == w)
      return true;
  }
  return false;
}

static void
stamp (zc_msgring_t * ring, unsigned slot, zc_msg_t * msg)
{
  msg->src = (uint8_t) slot;
  if (!(msg->flags & ZC_MSG_RELAYED))
    msg->origin = (uint8_t) slot;
  /* Relaxed: a counter; threads sending as one slot only need distinct
   * values. */
  msg->id = atomic_fetch_add_explicit (&ring->nodes[slot].next_id, 1,
      memory_order_relaxed);
}

int
zc_msgring_priv_send_from (zc_msgring_t * ring, unsigned slot,
    zc_msg_t * msg, uint64_t now_ns)
{
  uint32_t now_ms = ms_of (now_ns);
  struct route r = { 0 };
  int ret;

  stamp (ring, slot, msg);
  if (msg->flags & ZC_MSG_UP) {
    zc_msg_t copy = *msg;

    copy.ttl = 1;
    if (route_add (&r, &ring->header->up, &copy, now_ms) < 0)
      return -EAGAIN;
    return route_commit (&r) > 0 ? 0 : -EAGAIN;
  }
  ret = route_new (ring, slot, msg, now_ms, &r);
  if (ret < 0)
    return ret;
  if (msg->flags & ZC_MSG_PERSIST)
    persist_store (ring, msg, now_ms);
  /* Only if every copy was lost to a stall may the caller resend. */
  return (r.n > 0 && route_commit (&r) == 0) ? -EAGAIN : 0;
}

int
zc_msgring_send (zc_msgring_t * ring, unsigned slot, zc_msg_t * msg)
{
  uint16_t flags;

  if (!ring_ok (ring) || msg == NULL || slot >= ring->n_nodes)
    return -EINVAL;
  flags = msg->flags;
  if (msg->type == 0 || (flags & ~(ZC_MSG_FLAGS_ALL & ~ZC_MSG_RELAYED)))
    return -EINVAL;
  if (flags & ZC_MSG_UP) {
    /* Payload offsets name this ring's arena: they do not travel up. */
    if (ring->parent_offset == 0 || msg->dst > ZC_MSGRING_MAX_NODES ||
        (flags & ZC_MSG_PERSIST) || msg->payload_size != 0)
      return -EINVAL;
  } else {
    if (msg->dst > ring->n_nodes || msg->dst == slot + 1)
      return -EINVAL;
    if ((flags & ZC_MSG_PERSIST) &&
        (msg->dst != 0 || msg->type >= ZC_MSG_TYPE_LAST))
      return -EINVAL;
    if (msg->payload_size != 0 &&
        !payload_in_arena (ring, msg->payload_offset, msg->payload_size))
      return -EINVAL;
  }
  if (!(load_members (ring) & slot_bit (slot)))
    return ZC_ESTATE;
  return zc_msgring_priv_send_from (ring, slot, msg, zc_now_ns ());
}

static bool
msg_valid (const zc_msgring_t * ring, const zc_msg_t * msg)
{
  return msg->type != 0 && (msg->flags & ~ZC_MSG_FLAGS_ALL) == 0 &&
      !(msg->flags & ZC_MSG_UP) && msg->src < ring->n_nodes &&
      msg->dst <= ring->n_nodes && msg->ttl >= 1 &&
      msg->ttl <= ZC_MSGRING_MAX_NODES &&
      (msg->payload_size == 0 ||
      payload_in_arena (ring, msg->payload_offset, msg->payload_size));
}

static bool
expired (const zc_msg_t * msg, uint64_t now_ns)
{
  return msg->deadline_ns != 0 && now_ns > msg->deadline_ns;
}

/* Records (src, id) as seen by @node; returns true if it already was. */
static bool
seen_before (struct zc_msgring_node *node, unsigned src, uint32_t id)
{
  uint64_t key = (UINT64_C (1) << 63) | ((uint64_t) src << 32) | id;
  uint32_t pos;

  /* Relaxed: only this node's poller uses the table. */
  for (unsigned i = 0; i < ZC_MSGRING_DEDUPE; i++)
    if (atomic_load_explicit (&node->dedupe[i], memory_order_relaxed) == key)
      return true;
  pos = atomic_load_explicit (&node->dedupe_pos, memory_order_relaxed);
  atomic_store_explicit (&node->dedupe[pos % ZC_MSGRING_DEDUPE], key,
      memory_order_relaxed);
  atomic_store_explicit (&node->dedupe_pos, pos + 1, memory_order_relaxed);
  return false;
}

/* Puts a broadcast handled at gateway @slot into its child's down box. */
static void
relay_down (zc_msgring_t * ring, unsigned slot, const zc_msg_t * msg,
    uint64_t now_ns)
{
  zc_msgring_t child;
  struct route r = { 0 };
  zc_msg_t copy = *msg;

  if (ring->nodes[slot].child_offset == 0 ||
      zc_msgring_child (ring, slot, &child) < 0)
    return;
  copy.flags = (msg->flags & ZC_MSG_URGENT) | ZC_MSG_RELAYED;
  copy.payload_offset = 0;
  copy.payload_size = 0;
  copy.ttl = 1;
  if (route_add (&r, &child.header->down, &copy, ms_of (now_ns)) < 0) {
    atomic_fetch_add_explicit (&ring->nodes[slot].dropped, 1,
        memory_order_relaxed);
    return;
  }
  route_commit (&r);
}

static void
deliver (zc_msgring_t * ring, unsigned slot, const zc_msg_t * msg,
    uint64_t now_ns, zc_msgring_handler_t handler, void *user_data,
    bool to_child)
{
  zc_msgring_priv_accept (ring, slot, msg, now_ns);
  if (handler != NULL)
    handler (ring, slot, msg, user_data);
  if (to_child && msg->dst == 0)
    relay_down (ring, slot, msg, now_ns);
}

/* A handled message that cannot move on stays in its cell, marked, and
 * is retried by later polls until it gives up. */
static void
keep_pending (zc_msgring_t * ring, unsigned slot, struct zc_msgring_cell *cell,
    uint64_t word, uint64_t now_ns)
{
  uint64_t since = cell->pending_since_ns;

  if (since == 0)
    cell->pending_since_ns = now_ns ? now_ns : 1;
  else if (now_ns > since &&
      now_ns - since > FORWARD_TIMEOUTS * ring->duty_timeout_ns)
    drop_cell (ring, slot, cell, word);
}

static int
process_entry (zc_msgring_t * ring, unsigned slot, struct entry *e,
    uint64_t now_ns, zc_msgring_handler_t handler, void *user_data)
{
  zc_msg_t *msg = &e->msg;
  bool pending = e->cell->pending_since_ns != 0;
  struct zc_msgring_mailbox *mb;
  struct route r = { 0 };
  unsigned to;
  int handled = 0;

  if (!msg_valid (ring, msg) || expired (msg, now_ns)) {
    drop_cell (ring, slot, e->cell, e->word);
    return 0;
  }
  if (msg->src == slot) {
    release_cell (e->cell, e->word);
    return 0;
  }
  if (!pending) {
    if (seen_before (&ring->nodes[slot], msg->src, msg->id)) {
      release_cell (e->cell, e->word);
      return 0;
    }
    if (msg->dst == 0 || msg->dst == slot + 1) {
      deliver (ring, slot, msg, now_ns, handler, user_data, true);
      handled = 1;
    }
    if (msg->dst == slot + 1) {
      release_cell (e->cell, e->word);
      return handled;
    }
  }

  mb = hop_mailbox (ring, slot, e->toward_next, load_members (ring), &to);
  if (msg->ttl <= 1 || mb == NULL || to == msg->src) {
    release_cell (e->cell, e->word);
    return handled;
  }
  msg->ttl--;
  if (route_add (&r, mb, msg, ms_of (now_ns)) < 0) {
    keep_pending (ring, slot, e->cell, e->word, now_ns);
    return handled;
  }
  if (release_cell (e->cell, e->word))
    route_commit (&r);
  else
    route_cancel (&r);
  return handled;
}

void
zc_msgring_priv_salvage (zc_msgring_t * ring, unsigned slot, uint64_t now_ns)
{
  struct zc_msgring_mailbox *boxes[2] = { &ring->nodes[slot].left,
    &ring->nodes[slot].right
  };

  for (unsigned b = 0; b < 2; b++) {
    for (unsigned i = 0; i < ZC_MSGRING_MAILBOX_SLOTS; i++) {
      struct zc_msgring_cell *cell = &boxes[b]->cells[i];
      uint64_t w = atomic_load_explicit (&cell->word, memory_order_acquire);
      struct zc_msgring_mailbox *mb;
      struct route r = { 0 };
      unsigned to;
      zc_msg_t msg;

      if (ZC_MSGRING_CELL_STATE (w) != ZC_MSGRING_CELL_COMMITTED)
        continue;
      msg = cell->msg;
      mb = hop_mailbox (ring, slot, b == 0, load_members (ring), &to);
      /* Its own messages, messages for it, spent or bogus ones end here. */
      if (!msg_valid (ring, &msg) || expired (&msg, now_ns) ||
          msg.src == slot || msg.dst == slot + 1 || msg.ttl <= 1 ||
          mb == NULL || to == msg.src) {
        release_cell (cell, w);
        continue;
      }
      msg.ttl--;                /* the departed node was one of its stops */
      if (route_add (&r, mb, &msg, ms_of (now_ns)) < 0) {
        drop_cell (ring, slot, cell, w);
        continue;
      }
      if (release_cell (cell, w))
        route_commit (&r);
      else
        route_cancel (&r);
    }
  }
}

static unsigned
collect (struct zc_msgring_mailbox *mb, bool toward_next, uint32_t now_ms,
    struct entry *entries, unsigned n)
{
  for (unsigned i = 0; i < ZC_MSGRING_MAILBOX_SLOTS; i++) {
    struct zc_msgring_cell *cell = &mb->cells[i];
    /* Acquire pairs with the writer's release commit. */
    uint64_t w = atomic_load_explicit (&cell->word, memory_order_acquire);

    if (ZC_MSGRING_CELL_STATE (w) != ZC_MSGRING_CELL_COMMITTED) {
      zc_msgring_priv_scavenge (cell, w, now_ms, false);
      continue;
    }
    entries[n].cell = cell;
    entries[n].word = w;
    entries[n].ticket = cell->ticket;
    entries[n].toward_next = toward_next;
    entries[n].msg = cell->msg;
    n++;
  }
  return n;
}

static bool
goes_before (const struct entry *a, const struct entry *b)
{
  bool ua = (a->msg.flags & ZC_MSG_URGENT) != 0;
  bool ub = (b->msg.flags & ZC_MSG_URGENT) != 0;

  if (ua != ub)
    return ua;
  return a->ticket < b->ticket;
}

static int
replay_persist (zc_msgring_t * ring, unsigned slot, uint64_t now_ns,
    zc_msgring_handler_t handler, void *user_data)
{
  int handled = 0;

  for (unsigned t = 1; t < ZC_MSG_TYPE_LAST; t++) {
    zc_msg_t msg;

    if (!persist_read (&ring->header->persist[t], &msg))
      continue;
    if (!msg_valid (ring, &msg) || msg.type != t || msg.dst != 0 ||
        msg.src == slot || expired (&msg, now_ns))
      continue;
    if (seen_before (&ring->nodes[slot], msg.src, msg.id))
      continue;
    deliver (ring, slot, &msg, now_ns, handler, user_data, true);
    handled++;
  }
  return handled;
}

/* Child ring, duty holder @slot: re-broadcasts what the gateway relayed
 * down, and handles it itself (a broadcast skips its source). */
static int
drain_down (zc_msgring_t * ring, unsigned slot, uint64_t now_ns,
    zc_msgring_handler_t handler, void *user_data)
{
  struct zc_msgring_mailbox *mb = &ring->header->down;
  int handled = 0;

  for (unsigned i = 0; i < ZC_MSGRING_MAILBOX_SLOTS; i++) {
    struct zc_msgring_cell *cell = &mb->cells[i];
    uint64_t w = atomic_load_explicit (&cell->word, memory_order_acquire);
    struct route r = { 0 };
    zc_msg_t in, out;

    if (ZC_MSGRING_CELL_STATE (w) != ZC_MSGRING_CELL_COMMITTED) {
      zc_msgring_priv_scavenge (cell, w, ms_of (now_ns), false);
      continue;
    }
    in = cell->msg;
    if (in.type == 0 || expired (&in, now_ns)) {
      drop_cell (ring, slot, cell, w);
      continue;
    }
    memset (&out, 0, sizeof (out));
    out.type = in.type;
    out.flags = (in.flags & ZC_MSG_URGENT) | ZC_MSG_BIDI | ZC_MSG_RELAYED;
    out.origin = in.origin;
    out.deadline_ns = in.deadline_ns;
    out.token = in.token;
    memcpy (out.arg, in.arg, sizeof (out.arg));
    stamp (ring, slot, &out);
    if (route_new (ring, slot, &out, ms_of (now_ns), &r) < 0) {
      keep_pending (ring, slot, cell, w, now_ns);
      continue;
    }
    /* Two duty holders for a moment: whoever frees the cell relays. */
    if (!release_cell (cell, w)) {
      route_cancel (&r);
      continue;
    }
    route_commit (&r);
    deliver (ring, slot, &out, now_ns, handler, user_data, true);
    handled++;
  }
  return handled;
}

/* Gateway @slot of a parent ring: sends on what its child's members sent
 * up, with itself as src and the child slot as origin. */
static int
drain_up (zc_msgring_t * ring, unsigned slot, uint64_t now_ns,
    zc_msgring_handler_t handler, void *user_data)
{
  zc_msgring_t child;
  int handled = 0;

  if (ring->nodes[slot].child_offset == 0 ||
      zc_msgring_child (ring, slot, &child) < 0)
    return 0;
  for (unsigned i = 0; i < ZC_MSGRING_MAILBOX_SLOTS; i++) {
    struct zc_msgring_cell *cell = &child.header->up.cells[i];
    uint64_t w = atomic_load_explicit (&cell->word, memory_order_acquire);
    struct route r = { 0 };
    zc_msg_t msg;

    if (ZC_MSGRING_CELL_STATE (w) != ZC_MSGRING_CELL_COMMITTED) {
      zc_msgring_priv_scavenge (cell, w, ms_of (now_ns), false);
      continue;
    }
    msg = cell->msg;
    if (msg.type == 0 || msg.dst > ring->n_nodes ||
        msg.src >= child.n_nodes || (msg.flags & ~ZC_MSG_FLAGS_ALL) ||
        expired (&msg, now_ns)) {
      drop_cell (ring, slot, cell, w);
      continue;
    }
    msg.flags = (msg.flags & (ZC_MSG_BIDI | ZC_MSG_URGENT)) | ZC_MSG_RELAYED;
    msg.origin = msg.src;
    msg.payload_offset = 0;
    msg.payload_size = 0;
    stamp (ring, slot, &msg);
    if (msg.dst != slot + 1 &&
        route_new (ring, slot, &msg, ms_of (now_ns), &r) < 0) {
      keep_pending (ring, slot, cell, w, now_ns);
      continue;
    }
    if (!release_cell (cell, w)) {
      route_cancel (&r);
      continue;
    }
    route_commit (&r);
    if (msg.dst == 0 || msg.dst == slot + 1) {
      msg.ttl = 1;
      deliver (ring, slot, &msg, now_ns, handler, user_data, false);
      handled++;
    }
  }
  return handled;
}

int
zc_msgring_poll (zc_msgring_t * ring, unsigned slot, uint64_t now_ns,
    zc_msgring_handler_t handler, void *user_data)
{
  struct entry entries[MAX_ENTRIES];
  struct zc_msgring_node *node;
  unsigned n = 0;
  uint64_t m;
  int handled = 0;

  if (!ring_ok (ring) || slot >= ring->n_nodes)
    return -EINVAL;
  m = load_members (ring);
  if (!(m & slot_bit (slot)))
    return ZC_ESTATE;
  node = &ring->nodes[slot];
  /* Relaxed: the links are a cache, see msgring.c. */
  atomic_store_explicit (&node->prev, prev_of (slot, m),
      memory_order_relaxed);
  atomic_store_explicit (&node->next, next_of (slot, m),
      memory_order_relaxed);

  if (atomic_exchange_explicit (&node->replay_pending, 0,
          memory_order_relaxed))
    handled += replay_persist (ring, slot, now_ns, handler, user_data);

  n = collect (&node->left, true, ms_of (now_ns), entries, n);
  n = collect (&node->right, false, ms_of (now_ns), entries, n);
  /* Insertion sort, stable: urgent first, then arrival order. */
  for (unsigned i = 1; i < n; i++) {
    struct entry e = entries[i];
    unsigned j = i;

    for (; j > 0 && goes_before (&e, &entries[j - 1]); j--)
      entries[j] = entries[j - 1];
    entries[j] = e;
  }
  for (unsigned i = 0; i < n; i++)
    handled += process_entry (ring, slot, &entries[i], now_ns, handler,
        user_data);

  if (ring->parent_offset != 0 && zc_msgring_owner (ring, NULL) == (int) slot)
    handled += drain_down (ring, slot, now_ns, handler, user_data);
  handled += drain_up (ring, slot, now_ns, handler, user_data);
  return handled;
}

int
zc_msgring_pending (const zc_msgring_t * ring, unsigned slot)
{
  const struct zc_msgring_node *node;
  int n = 0;

  if (!ring_ok (ring) || slot >= ring->n_nodes)
    return -EINVAL;
  node = &ring->nodes[slot];
  for (unsigned i = 0; i < ZC_MSGRING_MAILBOX_SLOTS; i++) {
    uint64_t l = atomic_load_explicit (&node->left.cells[i].word,
        memory_order_relaxed);
    uint64_t r = atomic_load_explicit (&node->right.cells[i].word,
        memory_order_relaxed);

    n += ZC_MSGRING_CELL_STATE (l) == ZC_MSGRING_CELL_COMMITTED;
    n += ZC_MSGRING_CELL_STATE (r) == ZC_MSGRING_CELL_COMMITTED;
  }
  return n;
}

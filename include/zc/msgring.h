/* gst-zerocopy core library: the MessageRing, a channel's control plane.
 *
 * Seed 001 section 4, in shared memory: one ring structure per component
 * (metadata, read-write for every participant), lock-free and crash-safe.
 * No lock exists that a killed process could hold.
 *
 *   header | node[0] | node[1] | ... | payload slice[0] | slice[1] | ...
 *
 * Nodes.  One per participant slot (the heartbeat slot index, heartbeat.h).
 * The 64-bit membership mask in the header is the truth about who is in
 * the ring; a node joins and leaves with one atomic fetch_or / fetch_and,
 * so a process killed at any point leaves the ring either with or without
 * it, never half-linked.  Each node's prev/next fields are a cache derived
 * from the mask, rewritten after every change and by each node's poll;
 * routing always recomputes neighbours from the mask, so a stale or forged
 * link can never send a message out of the ring.
 *
 * Mailboxes.  Each node has a left mailbox (written by its prev neighbour,
 * carrying messages that travel towards next) and a right one (written by
 * its next neighbour, travelling towards prev); ZC_MSGRING_MAILBOX_SLOTS
 * cells each.  A cell is claimed by CAS of one 64-bit word
 * (state | lap | claim time), filled, and committed by a second CAS; the
 * node's poll reads it and frees it with the lap bumped.  Any number of
 * writers may share a mailbox.  A writer killed between claim and commit
 * leaves a CLAIMED cell that the reader frees once its claim time is
 * ZC_MSGRING_CLAIM_TIMEOUT_NS old; the late writer's commit then fails on
 * the bumped lap.  A full mailbox makes send return -EAGAIN.
 *
 * Routing (zc_msgring_send, zc_msgring_poll).  UNI takes the shorter way
 * round by position among the joined nodes; BIDI sends a copy each way.
 * Every node on the way handles the message if it is for it (dst, or
 * broadcast) and forwards it otherwise.  A message dies at its dst, back
 * at its source, at its deadline, or when its copy has visited as many
 * nodes as were joined at send time (ttl; the two copies of a BIDI
 * broadcast split the ring between them so that they stop where they
 * meet).  Each node remembers the last ZC_MSGRING_DEDUPE (src, id) pairs
 * it saw and drops repeats.  URGENT messages are handled first within a
 * poll, the rest in mailbox arrival order within a poll; there is no FIFO
 * guarantee across polls (a message committed while a poll scans the
 * cells may be read before an older one, which then waits for the next
 * poll).  A PERSIST broadcast is also kept in the header (the last one per
 * type) and replayed to nodes joining later.
 *
 * Duty holder.  The header holds (owner slot, ownership token) in one
 * atomic word and the last renewal time.  zc_msgring_duty_tick: the owner
 * renews; any other member that finds the renewal older than the ring's
 * duty timeout (or the owner gone from the mask) takes over with one CAS
 * (token + 1) and broadcasts ZC_MSG_OWNER_TRANSFER.  Only one CAS wins.
 * The first member to tick on an ownerless ring takes token 1.
 * zc_msgring_hand_over sends the token to a chosen member instead.  The
 * duty holder alone writes the shared workspace (zc_msgring_stats_t).
 *
 * Nested rings.  A node may stand for a child ring laid out in the same
 * area (zc_msgring_construct_nested); the child's header records where its
 * parent is and which parent node stands for it.  The participant polling
 * that parent node is the gateway: broadcasts it handles are relayed into
 * the child's down mailbox, which the child's duty holder re-broadcasts in
 * the child; a child member sends to the parent ring with ZC_MSG_UP, which
 * puts the message into the child's up mailbox, and the gateway's poll
 * sends it on in the parent with itself as src (origin keeps the child
 * slot).
 *
 * Trust.  Every byte here may be written by a hostile peer.  Counts and
 * offsets are read once at attach and checked; indices, slots, ttl and
 * payload ranges in messages are checked before use; a corrupt message is
 * dropped, a corrupt mask is clipped to the node count.  Loops over shared
 * data are bounded by the node and cell counts.
 *
 * Concurrency: any process may join, leave, evict, send and tick at any
 * time.  Poll of a given slot is meant to be called by that slot's
 * participant only (one poller per node); a second poller cannot corrupt
 * anything, but may see a message twice.
 */
#ifndef ZC_MSGRING_H
#define ZC_MSGRING_H

#include <stdatomic.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZC_MSGRING_MAGIC UINT32_C (0x5247534d)  /**< "MSGR" */
/** Incremented for each incompatible change of the structures below. */
#define ZC_MSGRING_VERSION 1u
#define ZC_MSGRING_MAX_NODES 64u
#define ZC_MSGRING_MAILBOX_SLOTS 8u
#define ZC_MSGRING_DEDUPE 32u
/** Largest payload slice per node. */
#define ZC_MSGRING_MAX_PAYLOAD (1u << 20)
/** Default duty timeout (seed: 100 ms without renewal). */
#define ZC_MSGRING_DEFAULT_DUTY_TIMEOUT_NS UINT64_C (100000000)
/** Age at which a claimed, never committed mailbox cell is freed. */
#define ZC_MSGRING_CLAIM_TIMEOUT_NS UINT64_C (1000000000)

/**
 * zc_msg_type:
 *
 * Message types; numbering from seed 001, never to change.  Types the
 * ring does not know are routed like any other (the protocol may grow).
 */
typedef enum zc_msg_type
{
  /* Channel layer.  arg[0] = a participant slot that looks dead; the duty
   * holder should check it (heartbeat.h) and reclaim it. */
  ZC_MSG_CLEAN_HINT = 1,
  /* Reserved: forwarded; a handler may ignore it. */
  ZC_MSG_MERGE_COMPLETE = 2,
  /* Channel layer, optional.  A renewal broadcast by the duty holder:
   * arg[0] = its slot; token = its token. */
  ZC_MSG_HEARTBEAT = 3,
  /* Channel layer.  A consumer asks the producer for more blocks:
   * arg[0] = blocks wanted. */
  ZC_MSG_SCALE_REQUEST = 4,
  /* Reserved: forwarded; a handler may ignore it. */
  ZC_MSG_VOTE_POOL_RESIZE = 5,
  /* Reserved: forwarded; a handler may ignore it. */
  ZC_MSG_VOTE_STRATEGY_CHANGE = 6,
  /* Ring itself.  Directed (hand_over): the dst becomes owner when it
   * handles it, if token still matches the ring's token and src is still
   * the owner.  Broadcast: announces a takeover; token = the new token,
   * arg[0] = the new owner, arg[1] = the previous owner + 1 (0 none).  The
   * handler sees both kinds after the ring has acted. */
  ZC_MSG_OWNER_TRANSFER = 7,
  /* Channel layer, usually URGENT.  A pool's circuit breaker tripped:
   * arg[0] = the pool generation. */
  ZC_MSG_GUARD_TRIP = 8,
  /* Channel layer.  Please verify a block's CRC: arg[0] = block index,
   * arg[1] = block generation. */
  ZC_MSG_CRC_VERIFY_REQUEST = 9,
  /* Channel layer.  Answer to a request, directed to its src: arg[0] =
   * block index, arg[1] = generation, arg[2] = result (0 or a negative
   * ZC_E* code, as an int64). */
  ZC_MSG_CRC_VERIFY_REPLY = 10,
  ZC_MSG_TYPE_LAST = 11         /**< not part of ABI */
} zc_msg_type_t;

/* zc_msg.flags */
#define ZC_MSG_UNI      0x0000u /**< one copy, the shorter way round */
#define ZC_MSG_BIDI     0x0001u /**< one copy each way */
#define ZC_MSG_PERSIST  0x0002u /**< broadcast kept for later joiners */
#define ZC_MSG_URGENT   0x0004u /**< handled before non-urgent ones */
#define ZC_MSG_UP       0x0008u /**< dst is a slot of the parent ring */
#define ZC_MSG_RELAYED  0x0010u /**< set by the ring: crossed a ring boundary */
#define ZC_MSG_FLAGS_ALL 0x001fu        /**< not part of ABI */

/**
 * zc_msg:
 *
 * One message: plain data, the same bytes in every process.  Payload is an
 * offset into the ring's payload arena (zc_msgring_payload_alloc), never a
 * pointer.  A handler must copy what it needs from a payload: the
 * sender's slice wraps around.
 */
typedef struct zc_msg
{
  uint16_t type;                /**< zc_msg_type_t */
  uint16_t flags;               /**< ZC_MSG_* */
  uint8_t src;                  /**< set by send: sender's slot in this ring */
  uint8_t dst;                  /**< destination slot + 1; 0 = broadcast */
  uint8_t ttl;                  /**< ring-private: nodes this copy may still visit */
  uint8_t origin;               /**< slot in the ring where it was first sent */
  uint32_t id;                  /**< set by send: with src, the dedupe key */
  uint32_t payload_size;        /**< bytes; 0 = no payload */
  uint64_t deadline_ns;         /**< CLOCK_MONOTONIC; 0 = none */
  uint64_t payload_offset;      /**< from the start of the payload arena */
  uint64_t token;               /**< ownership token, when carried */
  uint64_t arg[3];              /**< inline arguments, see zc_msg_type */
} zc_msg_t;
_Static_assert (sizeof (zc_msg_t) == 64, "zc_msg is shared ABI");
_Static_assert (__builtin_offsetof (zc_msg_t, deadline_ns) == 16,
    "zc_msg is shared ABI");
_Static_assert (__builtin_offsetof (zc_msg_t, arg) == 40,
    "zc_msg is shared ABI");

/* Mailbox cell word: bits 0-1 state, 2-31 lap, 32-63 claim time in ms
 * (CLOCK_MONOTONIC, truncated: only differences are used). */
#define ZC_MSGRING_CELL_FREE      0u
#define ZC_MSGRING_CELL_CLAIMED   1u
#define ZC_MSGRING_CELL_COMMITTED 2u
#define ZC_MSGRING_CELL_WORD(state, lap, ms) \
  (((uint64_t) (uint32_t) (ms) << 32) | \
   (((uint64_t) (lap) & UINT64_C (0x3fffffff)) << 2) | (uint64_t) (state))
#define ZC_MSGRING_CELL_STATE(w) ((unsigned) ((w) & 3u))
#define ZC_MSGRING_CELL_LAP(w) ((uint32_t) (((w) >> 2) & 0x3fffffffu))
#define ZC_MSGRING_CELL_MS(w) ((uint32_t) ((w) >> 32))

/**
 * zc_msgring_cell:
 *
 *   FREE(lap) --writer CAS--> CLAIMED(lap, t) --writer CAS--> COMMITTED(lap, t)
 *      ^                         |                                |
 *      +--- reader CAS (lap+1) --+ (t too old)                    |
 *      +--- reader CAS (lap+1), after copying the message --------+
 *
 * The writer's claim is acquire (pairs with the reader's release of FREE:
 * the reader's copy is done before the writer overwrites), its commit is
 * release (pairs with the reader's acquire load: the message is visible).
 */
struct zc_msgring_cell
{
  _Atomic uint64_t word;        /**< ZC_MSGRING_CELL_WORD */
  uint64_t ticket;              /**< writer: mailbox order, for FIFO reading */
  uint64_t pending_since_ns;    /**< reader-private: handled, forward retrying */
  uint64_t reserved[5];
  zc_msg_t msg;
};
_Static_assert (sizeof (struct zc_msgring_cell) == 128,
    "msgring cell is shared ABI");

struct zc_msgring_mailbox
{
  _Atomic uint64_t ticket;      /**< next ticket; relaxed, orders nothing */
  uint64_t reserved[7];
  struct zc_msgring_cell cells[ZC_MSGRING_MAILBOX_SLOTS];
};
_Static_assert (sizeof (struct zc_msgring_mailbox) == 64 + 128 * 8,
    "msgring mailbox is shared ABI");

/** One node; written by its own poller except the mailboxes. */
struct zc_msgring_node
{
  _Atomic uint32_t prev;        /**< cached link (slot), derived from the mask */
  _Atomic uint32_t next;        /**< cached link (slot), derived from the mask */
  _Atomic uint32_t next_id;     /**< message ids for this sender */
  _Atomic uint32_t replay_pending;      /**< set at join: replay PERSIST */
  _Atomic uint64_t payload_head;        /**< bytes ever allocated in its slice */
  uint64_t child_offset;        /**< child ring, from this ring's start; 0 none */
  _Atomic uint64_t dropped;     /**< messages this node dropped */
  _Atomic uint32_t dedupe_pos;
  uint32_t reserved0;
  uint64_t reserved[2];
  /* (src << 32 | id) | 1 << 63 of the last messages seen; 0 empty. */
  _Atomic uint64_t dedupe[ZC_MSGRING_DEDUPE];
  struct zc_msgring_mailbox left;       /**< written by prev */
  struct zc_msgring_mailbox right;      /**< written by next */
};
_Static_assert (sizeof (struct zc_msgring_node) % 64 == 0,
    "msgring node is shared ABI");
_Static_assert (__builtin_offsetof (struct zc_msgring_node, left) == 320,
    "msgring node is shared ABI");

/* Indices into zc_msgring_header.workspace. */
enum zc_msgring_counter
{
  ZC_MSGRING_MESSAGES_HANDLED = 0,      /**< messages the duty holders handled */
  ZC_MSGRING_RECLAIMS = 1,      /**< dead participants reclaimed */
  ZC_MSGRING_CRC_VERIFIES = 2,  /**< CRC verifications run */
  ZC_MSGRING_OWNER_CHANGES = 3, /**< duty changes of hand */
  ZC_MSGRING_LAST_TRANSFER_NS = 4,      /**< time of the last change */
  ZC_MSGRING_COUNTER_LAST = 5   /**< not part of ABI */
};

/** Ring header.  Geometry fields are written once, at construction. */
struct zc_msgring_header
{
  uint32_t magic;               /**< ZC_MSGRING_MAGIC */
  uint32_t version;             /**< ZC_MSGRING_VERSION */
  uint32_t n_nodes;             /**< 1 to ZC_MSGRING_MAX_NODES */
  uint32_t mailbox_slots;       /**< ZC_MSGRING_MAILBOX_SLOTS */
  uint32_t payload_bytes;       /**< per node slice, multiple of 64 */
  uint32_t parent_node;         /**< node standing for us in the parent */
  uint64_t duty_timeout_ns;
  uint64_t nodes_offset;        /**< from the ring start */
  uint64_t payload_offset;      /**< from the ring start */
  uint64_t footprint;           /**< bytes of this ring */
  uint64_t parent_offset;       /**< ring start - parent start; 0 = root */
  /* The membership truth, bit = slot. */
  _Atomic uint64_t members;
  /* (token << 8) | (owner slot + 1); 0 in the low byte = no owner. */
  _Atomic uint64_t duty;
  /* Last time the duty was asserted (renewal or takeover), relaxed: an
   * age estimate that orders nothing. */
  _Atomic uint64_t renew_ns;
  uint64_t reserved0[5];
  /* Shared workspace: written only by the duty holder, relaxed (plain
   * counters, read as estimates). */
  _Atomic uint64_t workspace[8];
  /* Last PERSIST broadcast per type; cell word used as a seqlock. */
  struct zc_msgring_cell persist[ZC_MSG_TYPE_LAST];
  struct zc_msgring_mailbox up;         /**< child -> gateway */
  struct zc_msgring_mailbox down;       /**< gateway -> child duty holder */
};
_Static_assert (__builtin_offsetof (struct zc_msgring_header, members) == 64,
    "msgring header is shared ABI");
_Static_assert (__builtin_offsetof (struct zc_msgring_header, workspace) == 128,
    "msgring header is shared ABI");
_Static_assert (sizeof (struct zc_msgring_header) % 64 == 0,
    "msgring header is shared ABI");

/** Process-local view.  Fields are private; storage is the caller's. */
typedef struct zc_msgring
{
  struct zc_msgring_header *header;
  struct zc_msgring_node *nodes;
  uint8_t *payload;
  uint64_t size;                /**< bytes given to construct/attach */
  uint64_t duty_timeout_ns;
  uint64_t parent_offset;
  uint32_t n_nodes;
  uint32_t payload_bytes;
} zc_msgring_t;

/** A snapshot of the shared workspace. */
typedef struct zc_msgring_stats
{
  uint64_t messages_handled;
  uint64_t reclaims;
  uint64_t crc_verifies;
  uint64_t owner_changes;
  uint64_t last_transfer_ns;
  uint64_t dropped;             /**< sum over the nodes (not workspace) */
} zc_msgring_stats_t;

/**
 * zc_msgring_handler_t:
 * @ring: the ring the message was handled in
 * @slot: the polling node
 * @msg: the message, a local copy
 * @user_data: as given to zc_msgring_poll()
 *
 * May call zc_msgring_send() (never zc_msgring_poll() on the same slot).
 */
typedef void (*zc_msgring_handler_t) (zc_msgring_t * ring, unsigned slot,
    const zc_msg_t * msg, void *user_data);

/**
 * zc_msgring_footprint:
 * @n_nodes: 1 to ZC_MSGRING_MAX_NODES
 * @payload_bytes: payload slice per node, up to ZC_MSGRING_MAX_PAYLOAD
 *
 * Returns: bytes of one ring, a multiple of 64; 0 if out of range.
 */
uint64_t zc_msgring_footprint (uint32_t n_nodes, uint32_t payload_bytes);

/**
 * zc_msgring_construct:
 * @ring: (out): local view
 * @mem, @size: zeroed memory, 64-byte aligned, at least the footprint
 * @n_nodes, @payload_bytes: as zc_msgring_footprint()
 * @duty_timeout_ns: 0 for ZC_MSGRING_DEFAULT_DUTY_TIMEOUT_NS
 *
 * Returns: 0, -EINVAL or ZC_EBOUNDS.
 */
int zc_msgring_construct (zc_msgring_t * ring, void *mem, uint64_t size,
    uint32_t n_nodes, uint32_t payload_bytes, uint64_t duty_timeout_ns);

/**
 * zc_msgring_nested_footprint:
 * @n_nodes, @payload_bytes: the parent ring
 * @n_children: child rings, 0 to @n_nodes
 * @child_nodes, @child_payload_bytes: each child ring
 *
 * Returns: bytes of the whole area; 0 if out of range.
 */
uint64_t zc_msgring_nested_footprint (uint32_t n_nodes,
    uint32_t payload_bytes, uint32_t n_children, uint32_t child_nodes,
    uint32_t child_payload_bytes);

/**
 * zc_msgring_construct_nested:
 * @parent: (out): view of the parent ring, at @mem
 * @mem, @size: zeroed memory, at least zc_msgring_nested_footprint()
 * @n_nodes, @payload_bytes, @duty_timeout_ns: the parent ring
 * @child_mask: parent nodes that stand for a child ring (bits < @n_nodes)
 * @child_nodes, @child_payload_bytes: each child ring (same duty timeout)
 *
 * Lays out the parent, then one child per bit of @child_mask in bit
 * order.  Reach a child with zc_msgring_child().
 *
 * Returns: 0, -EINVAL or ZC_EBOUNDS.
 */
int zc_msgring_construct_nested (zc_msgring_t * parent, void *mem,
    uint64_t size, uint32_t n_nodes, uint32_t payload_bytes,
    uint64_t duty_timeout_ns, uint64_t child_mask, uint32_t child_nodes,
    uint32_t child_payload_bytes);

/**
 * zc_msgring_attach:
 * @ring: (out): local view
 * @mem, @size: a ring built by another process (the whole area, for a
 *   nested layout)
 *
 * Validates magic, version, counts, offsets and footprint against @size.
 *
 * Returns: 0, -EINVAL, ZC_EBADMAGIC, ZC_EVERSION or ZC_EBOUNDS.
 */
int zc_msgring_attach (zc_msgring_t * ring, void *mem, uint64_t size);

/**
 * zc_msgring_child:
 * @parent: a ring
 * @node: a node of @parent
 * @child: (out): view of the child ring @node stands for
 *
 * Returns: 0; -ENOENT if @node has no child; ZC_EBOUNDS, ZC_EBADMAGIC or
 * ZC_EVERSION if the child is damaged or does not name @node as its place.
 */
int zc_msgring_child (const zc_msgring_t * parent, unsigned node,
    zc_msgring_t * child);

/**
 * zc_msgring_join:
 * @ring: a ring
 * @slot: this participant's slot (its heartbeat slot)
 *
 * Empties the node's mailboxes of messages left by an earlier occupant,
 * then adds it to the ring.  Its next poll replays PERSIST messages.
 *
 * Returns: 0, -EINVAL or ZC_ESTATE (already joined).
 */
int zc_msgring_join (zc_msgring_t * ring, unsigned slot);

/**
 * zc_msgring_leave:
 * @ring: a ring
 * @slot: this participant's slot
 *
 * Removes the node; if it held the duty, the duty is left ownerless (the
 * next member to tick takes it).  Messages waiting in its mailboxes are
 * forwarded on its behalf (those for it are dropped), so that traffic
 * passing through it goes on.
 *
 * Returns: 0, -EINVAL or ZC_ESTATE (not joined).
 */
int zc_msgring_leave (zc_msgring_t * ring, unsigned slot);

/**
 * zc_msgring_evict:
 * @ring: a ring
 * @slot: a dead participant's slot
 *
 * zc_msgring_leave() on behalf of @slot; the duty holder calls it for a
 * participant it found dead (heartbeat.h).  Until then, messages routed
 * through the dead node wait in its mailboxes; eviction sends them on.
 *
 * Returns: 0, -EINVAL or ZC_ESTATE (not joined).
 */
int zc_msgring_evict (zc_msgring_t * ring, unsigned slot);

/** zc_msgring_members: Returns: the membership mask, clipped to n_nodes. */
uint64_t zc_msgring_members (const zc_msgring_t * ring);

/**
 * zc_msgring_links:
 * @ring: a ring
 * @slot: a node
 * @prev, @next: (out): the node's cached links
 *
 * Returns: 0; -EINVAL; ZC_EBOUNDS if a stored link is out of range.
 */
int zc_msgring_links (const zc_msgring_t * ring, unsigned slot,
    unsigned *prev, unsigned *next);

/**
 * zc_msgring_send:
 * @ring: a ring
 * @slot: the sender's slot, joined
 * @msg: (inout): type, flags, dst, deadline, payload, token, args; src,
 *   origin, id and ttl are filled in
 *
 * Claims a cell in each neighbour mailbox the message goes to, then
 * commits them all, or none.  Sending to oneself is -EINVAL.  With no
 * other member the message goes nowhere (a PERSIST one is still kept).
 * With ZC_MSG_UP the message goes to the parent ring's gateway.
 *
 * Returns: 0; -EINVAL (bad slot, type, flags, dst or payload range);
 * ZC_ESTATE (@slot not joined); -EAGAIN (a mailbox is full: retry later).
 */
int zc_msgring_send (zc_msgring_t * ring, unsigned slot, zc_msg_t * msg);

/**
 * zc_msgring_poll:
 * @ring: a ring
 * @slot: the polling node, joined
 * @now_ns: CLOCK_MONOTONIC now
 * @handler: called for each message for this node (or broadcast)
 * @user_data: passed to @handler
 *
 * Reads each cell of the node's mailboxes once (URGENT first, then in
 * arrival order), handles, forwards or drops; replays PERSIST after a
 * join; relays for a child ring this node stands for; drains the down
 * mailbox if this is a child ring and @slot holds its duty.  A message
 * that cannot be forwarded (next mailbox full) stays and is retried by
 * later polls, without being handled again, until its deadline or ten
 * duty timeouts.
 *
 * Returns: messages handled (>= 0), -EINVAL or ZC_ESTATE (not joined).
 */
int zc_msgring_poll (zc_msgring_t * ring, unsigned slot, uint64_t now_ns,
    zc_msgring_handler_t handler, void *user_data);

/**
 * zc_msgring_pending:
 * @ring: a ring
 * @slot: a node
 *
 * Returns: committed messages waiting in the node's mailboxes, or -EINVAL.
 */
int zc_msgring_pending (const zc_msgring_t * ring, unsigned slot);

/**
 * zc_msgring_duty_tick:
 * @ring: a ring
 * @slot: the caller's slot, joined
 * @now_ns: CLOCK_MONOTONIC now
 *
 * The owner renews.  A member that finds no owner, an owner that left,
 * or a renewal older than the duty timeout takes the duty (token + 1) and
 * broadcasts ZC_MSG_OWNER_TRANSFER (BIDI; if a mailbox is full the
 * announcement is skipped: the header stays the truth).  Call it about
 * every duty timeout / 4.
 *
 * Returns: 1 if @slot holds the duty now, 0 if not, -EINVAL or
 * ZC_ESTATE (not joined).
 */
int zc_msgring_duty_tick (zc_msgring_t * ring, unsigned slot,
    uint64_t now_ns);

/**
 * zc_msgring_hand_over:
 * @ring: a ring
 * @slot: the duty holder
 * @to: a member to take the duty
 *
 * Sends ZC_MSG_OWNER_TRANSFER (BIDI, directed) carrying the current
 * token; @to becomes owner when it handles it, if nobody took the duty
 * meanwhile.  @slot keeps the duty until then.
 *
 * Returns: 0; -EINVAL; ZC_ESTATE (@slot not owner, or @to not joined);
 * -EAGAIN.
 */
int zc_msgring_hand_over (zc_msgring_t * ring, unsigned slot, unsigned to);

/**
 * zc_msgring_owner:
 * @ring: a ring
 * @token: (out) (optional): the ownership token
 *
 * Returns: the owner slot, or -ENOENT if there is none (or it is bogus).
 */
int zc_msgring_owner (const zc_msgring_t * ring, uint64_t * token);

/**
 * zc_msgring_workspace_add:
 * @ring: a ring
 * @slot: the caller's slot
 * @counter: ZC_MSGRING_RECLAIMS, ZC_MSGRING_CRC_VERIFIES, ...
 * @delta: added (for ZC_MSGRING_LAST_TRANSFER_NS: stored)
 *
 * Returns: 0, -EINVAL, or ZC_ESTATE if @slot does not hold the duty.
 */
int zc_msgring_workspace_add (zc_msgring_t * ring, unsigned slot,
    enum zc_msgring_counter counter, uint64_t delta);

/**
 * zc_msgring_get_stats:
 * @ring: a ring
 * @stats: (out): the shared workspace, as relaxed reads
 *
 * Returns: 0 or -EINVAL.
 */
int zc_msgring_get_stats (const zc_msgring_t * ring,
    zc_msgring_stats_t * stats);

/**
 * zc_msgring_payload_alloc:
 * @ring: a ring
 * @slot: the sender's slot
 * @size: bytes, 1 to the slice size
 * @msg: (inout): payload_offset and payload_size are set
 * @ptr: (out): where to write the payload
 *
 * Takes the next @size bytes of the sender's slice, wrapping round: an
 * older payload is overwritten once the slice has gone round.
 *
 * Returns: 0, -EINVAL, -EMSGSIZE or -EAGAIN (contended; retry).
 */
int zc_msgring_payload_alloc (zc_msgring_t * ring, unsigned slot,
    uint32_t size, zc_msg_t * msg, void **ptr);

/**
 * zc_msgring_payload:
 * @ring: a ring
 * @msg: a message
 * @ptr: (out): its payload, bounds-checked
 *
 * Returns: 0, -ENOENT (no payload) or ZC_EBOUNDS.
 */
int zc_msgring_payload (const zc_msgring_t * ring, const zc_msg_t * msg,
    const void **ptr);

#ifdef __cplusplus
}
#endif
#endif /* ZC_MSGRING_H */

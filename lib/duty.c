/* gst-zerocopy core library: a channel's MessageRing service.
 *
 * What each message type does in a channel (msgring.h lists them):
 *
 *   OWNER_TRANSFER      the ring's own: the duty changed hands
 *   CLEAN_HINT          a participant saw a dead peer (its pid is gone);
 *                       the duty holder checks and reclaims it
 *   CRC_VERIFY_REQUEST  the duty holder verifies the block's CRC32C and
 *   CRC_VERIFY_REPLY    answers the requester; a mismatch trips the pool
 *   GUARD_TRIP          a pool's breaker tripped: every participant learns
 *                       it at once (hooks.guard_trip); consumers then check
 *                       the CRC of every frame before handing it out
 *   SCALE_REQUEST       a consumer wants more blocks: the producer starts a
 *                       larger pool generation (hooks.scale_request)
 *   HEARTBEAT           not sent: the heartbeat block already shows life,
 *                       and duty renewal is a store, not a message
 *   MERGE_COMPLETE, VOTE_POOL_RESIZE, VOTE_STRATEGY_CHANGE
 *                       reserved: forwarded by the ring, ignored here
 *
 * The cleaner work of the duty holder is zc_region_reclaim() plus taking
 * the reclaimed participants out of the ring.  The producer holds the duty
 * while it lives (it services every tick, well inside the 100 ms duty
 * timeout); a consumer takes it over only when the producer stops
 * renewing, so that a hung producer does not keep dead consumers' blocks.
 */
#include <errno.h>
#include <string.h>

#include <zc/error.h>
#include <zc/guard.h>
#include <zc/heartbeat.h>

#include "duty.h"

/* Checked for dead peers (CLEAN_HINT) at most this often by non-holders. */
#define HINT_INTERVAL_NS 1000000000ull
/* The holder's cleaner runs at most this often: a consumer holder
 * services on every idle receive. */
#define CLEAN_INTERVAL_NS 20000000ull

int
zc_duty_verify_block (zc_pool_t * pool, uint32_t index)
{
  zc_guard_t view;

  if (index >= pool->n_blocks)
    return ZC_EBOUNDS;
  if ((atomic_load_explicit (&pool->ctl[index].state, memory_order_acquire)
          & 0xff) != ZC_BLOCK_PUBLISHED)
    return ZC_ESTATE;
  /* A view, not a reference: the requester's reference keeps the block
   * published while we read it, and this guard is never released. */
  view.pool = pool;
  view.index = index;
  view.slot = 0;
  view.mode = ZC_GUARD_READ;
  return zc_guard_verify_crc (&view);
}

static void
send_or_drop (zc_duty_t * duty, zc_msg_t * msg)
{
  /* A full mailbox means the neighbour is busy or dead: the message is
   * advisory, the sender retries when it matters. */
  zc_msgring_send (zc_region_msgring (duty->region), duty->slot, msg);
}

void
zc_duty_report_trip (zc_duty_t * duty)
{
  zc_msg_t msg = { 0 };

  msg.type = ZC_MSG_GUARD_TRIP;
  msg.flags = ZC_MSG_BIDI | ZC_MSG_URGENT;
  msg.arg[0] = duty->generation;
  send_or_drop (duty, &msg);
}

/* Reclaims one participant the way zc_region_reclaim() does, if it is
 * really dead or stale. */
static void
reclaim_slot (zc_duty_t * duty, unsigned slot)
{
  zc_heartbeat_t *hb = zc_region_heartbeat (duty->region);
  zc_msgring_t *ring = zc_region_msgring (duty->region);
  zc_peer_status_t st = zc_heartbeat_check (hb, slot, duty->stale_ns);

  if (st != ZC_PEER_DEAD && st != ZC_PEER_STALE)
    return;
  if (zc_heartbeat_begin_reclaim (hb, slot) != 0
      || zc_heartbeat_confirm_reclaim (hb, slot, duty->stale_ns) != 0)
    return;
  zc_pool_reclaim_participant (zc_region_pool (duty->region), slot);
  zc_heartbeat_finish_reclaim (hb, slot);
  zc_msgring_evict (ring, slot);
  zc_msgring_workspace_add (ring, duty->slot, ZC_MSGRING_RECLAIMS, 1);
}

static void
handle (zc_msgring_t * ring, unsigned slot, const zc_msg_t * msg, void *data)
{
  zc_duty_t *duty = data;
  zc_msg_t reply = { 0 };
  int64_t result;
  int owner;

  owner = zc_msgring_owner (ring, NULL);
  switch (msg->type) {
    case ZC_MSG_CLEAN_HINT:
      if (owner == (int) slot && msg->arg[0] < ZC_MAX_PARTICIPANTS
          && msg->arg[0] != slot)
        reclaim_slot (duty, (unsigned) msg->arg[0]);
      break;
    case ZC_MSG_CRC_VERIFY_REQUEST:
      if (owner != (int) slot || msg->src == slot)
        break;
      result = msg->arg[1] == duty->generation && msg->arg[0] <= UINT32_MAX ?
          zc_duty_verify_block (zc_region_pool (duty->region),
          (uint32_t) msg->arg[0]) : ZC_ESTATE;
      zc_msgring_workspace_add (ring, slot, ZC_MSGRING_CRC_VERIFIES, 1);
      reply.type = ZC_MSG_CRC_VERIFY_REPLY;
      reply.flags = ZC_MSG_UNI;
      reply.dst = (uint8_t) (msg->src + 1);
      reply.arg[0] = msg->arg[0];
      reply.arg[1] = msg->arg[1];
      reply.arg[2] = (uint64_t) result;
      send_or_drop (duty, &reply);
      if (result == ZC_ECRC)
        zc_duty_report_trip (duty);
      break;
    case ZC_MSG_CRC_VERIFY_REPLY:
      if (duty->hooks.crc_reply && msg->arg[1] == duty->generation
          && msg->arg[0] <= UINT32_MAX)
        duty->hooks.crc_reply (duty->hooks.user_data, (uint32_t) msg->arg[0],
            (int64_t) msg->arg[2]);
      break;
    case ZC_MSG_GUARD_TRIP:
      if (duty->hooks.guard_trip && msg->arg[0] <= UINT32_MAX)
        duty->hooks.guard_trip (duty->hooks.user_data, msg->src,
            (uint32_t) msg->arg[0]);
      break;
    case ZC_MSG_SCALE_REQUEST:
      if (duty->hooks.scale_request)
        duty->hooks.scale_request (duty->hooks.user_data, msg->src,
            msg->arg[0]);
      break;
    default:
      break;                    /* OWNER_TRANSFER: the ring acted; reserved */
  }
  if (owner == (int) slot)
    zc_msgring_workspace_add (ring, slot, ZC_MSGRING_MESSAGES_HANDLED, 1);
}

int
zc_duty_join (zc_duty_t * duty, zc_region_t * region, unsigned slot,
    uint32_t generation, uint64_t stale_ns, const zc_duty_hooks_t * hooks)
{
  memset (duty, 0, sizeof (*duty));
  duty->region = region;
  duty->slot = slot;
  duty->generation = generation;
  duty->stale_ns = stale_ns;
  if (hooks)
    duty->hooks = *hooks;
  return zc_msgring_join (zc_region_msgring (region), slot);
}

/* Whether a participant other than @self has been silent for @quiet_ns.
 * The scans below ask the kernel about every participant (kill(0), a
 * /proc read): with 32 consumers that cost more than the frames.  Everyone
 * alive beats at least four times per heartbeat timeout, so while nobody
 * is quiet for half of it there is nobody to find; the dead are found
 * that much later (their sockets tell the producer at once anyway). */
static bool
someone_quiet (const zc_heartbeat_t * hb, unsigned self, uint64_t quiet_ns)
{
  for (unsigned s = 0; s < hb->n_slots; s++) {
    /* Relaxed: a hint for whether to look closer, which the scan does. */
    if (s != self && atomic_load_explicit (&hb->slots[s].state,
            memory_order_relaxed) == ZC_SLOT_ACTIVE
        && zc_heartbeat_age (hb, s) > quiet_ns)
      return true;
  }
  return false;
}

int
zc_duty_service (zc_duty_t * duty)
{
  zc_msgring_t *ring = zc_region_msgring (duty->region);
  zc_heartbeat_t *hb = zc_region_heartbeat (duty->region);
  uint64_t now = zc_now_ns ();
  uint64_t members, dead;
  int holder;

  zc_msgring_poll (ring, duty->slot, now, handle, duty);
  holder = zc_msgring_duty_tick (ring, duty->slot, now) == 1;

  if (holder && now >= duty->next_clean_ns) {
    /* The cleaner: dead or stalled participants, then ring nodes whose
     * participant is gone (left, reclaimed elsewhere). */
    duty->next_clean_ns = now + CLEAN_INTERVAL_NS;
    dead = 0;
    if (someone_quiet (hb, duty->slot, duty->stale_ns / 2))
      zc_region_reclaim (duty->region, duty->stale_ns, &dead);
    members = zc_msgring_members (ring);
    for (unsigned s = 0; s < ring->n_nodes && s < hb->n_slots; s++) {
      if (!(members & (UINT64_C (1) << s)) || s == duty->slot)
        continue;
      /* Acquire, as zc_heartbeat_check(): FREE is the last store of a
       * release or a reclaim. */
      if (atomic_load_explicit (&hb->slots[s].state, memory_order_acquire)
          == ZC_SLOT_FREE)
        zc_msgring_evict (ring, s);
    }
    if (dead)
      zc_msgring_workspace_add (ring, duty->slot, ZC_MSGRING_RECLAIMS,
          (uint64_t) __builtin_popcountll (dead));
  } else if (!holder && now >= duty->next_hint_check_ns) {
    /* Not ours to reclaim: tell the holder what we see. */
    dead = someone_quiet (hb, duty->slot, duty->stale_ns / 2) ?
        zc_heartbeat_find_dead (hb, 0) : 0;
    for (unsigned s = 0; dead && s < ZC_MAX_PARTICIPANTS; s++) {
      zc_msg_t hint = { 0 };

      if (!(dead & (UINT64_C (1) << s)))
        continue;
      hint.type = ZC_MSG_CLEAN_HINT;
      hint.flags = ZC_MSG_BIDI;
      hint.arg[0] = s;
      send_or_drop (duty, &hint);
    }
    duty->next_hint_check_ns = now + HINT_INTERVAL_NS;
  }
  return holder;
}

int
zc_duty_request_verify (zc_duty_t * duty, uint32_t index, int *local)
{
  zc_msgring_t *ring = zc_region_msgring (duty->region);
  zc_msg_t msg = { 0 };
  int owner = zc_msgring_owner (ring, NULL);

  if (owner < 0 || owner == (int) duty->slot) {
    int r = zc_duty_verify_block (zc_region_pool (duty->region), index);

    if (r == ZC_ECRC)
      zc_duty_report_trip (duty);
    *local = r;
    return 1;
  }
  msg.type = ZC_MSG_CRC_VERIFY_REQUEST;
  msg.flags = ZC_MSG_UNI;
  msg.dst = (uint8_t) (owner + 1);
  msg.arg[0] = index;
  msg.arg[1] = duty->generation;
  return zc_msgring_send (ring, duty->slot, &msg);
}

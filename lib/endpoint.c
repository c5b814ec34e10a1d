/* gst-zerocopy core library: what the producer and consumer ends share. */
#include <errno.h>
#include <string.h>

#include <zc/heartbeat.h>

#include "endpoint.h"

void
zc_endpoint_fill_stats (zc_region_t * region, uint32_t generation,
    zc_channel_stats_t * stats)
{
  zc_heartbeat_t *hb = zc_region_heartbeat (region);
  zc_queues_t *qs = zc_region_queues (region);
  unsigned slot;

  memset (stats, 0, sizeof (*stats));
  stats->generation = generation;
  zc_pool_get_stats (zc_region_pool (region), &stats->pool);
  {
    zc_msgring_t *ring = zc_region_msgring (region);
    zc_msgring_stats_t rs;

    stats->duty_slot = zc_msgring_owner (ring, &stats->duty_token);
    if (zc_msgring_get_stats (ring, &rs) == 0) {
      stats->ring_reclaims = rs.reclaims;
      stats->ring_crc_verifies = rs.crc_verifies;
      stats->ring_owner_changes = rs.owner_changes;
    }
  }

  for (slot = 1; slot < qs->n_queues; slot++) {
    struct zc_queue *q = zc_queues_get (qs, slot);
    zc_consumer_stats_t *c;
    uint64_t taken, released;

    if (q == NULL || stats->n_consumers >= ZC_CHANNEL_MAX_CONSUMERS)
      break;
    /* Relaxed throughout: counters for display, nothing is ordered by
     * them.  A hostile peer can only make its own figures wrong. */
    if (atomic_load_explicit (&q->state, memory_order_relaxed) !=
        ZC_QUEUE_ACTIVE)
      continue;
    c = &stats->consumers[stats->n_consumers++];
    c->slot = slot;
    c->pid = atomic_load_explicit (&hb->slots[slot].pid, memory_order_relaxed);
    c->frames = atomic_load_explicit (&q->delivered, memory_order_relaxed);
    c->drops = atomic_load_explicit (&q->dropped, memory_order_relaxed);
    c->revoked = atomic_load_explicit (&q->revoked, memory_order_relaxed);
    taken = atomic_load_explicit (&q->taken, memory_order_relaxed);
    released = atomic_load_explicit (&q->released, memory_order_relaxed);
    c->held = taken >= released && taken - released <= ZC_QUEUE_DEPTH ?
        (uint32_t) (taken - released) : 0;
    {
      uint64_t out = zc_queue_outstanding (q);
      c->queued = out >= c->held ? (uint32_t) (out - c->held) : 0;
    }
    c->heartbeat_age_ns = zc_heartbeat_age (hb, slot);
  }
}

int
zc_endpoint_socket_path (const char *name, const char *socket_path,
    char *path, size_t size)
{
  if (socket_path != NULL) {
    size_t n = strlen (socket_path);

    if (n == 0)
      return -EINVAL;
    if (n > ZC_SOCKET_PATH_MAX || n >= size)
      return -ENAMETOOLONG;
    memcpy (path, socket_path, n + 1);
    return 0;
  }
  return zc_channel_socket_path (name, path, size);
}

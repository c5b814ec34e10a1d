/* gst-zerocopy core library: regions, a segment with its components.
 *
 * A region is what a producer creates and what peers open: one segment
 * (segment.h) laid out as layout.h describes, holding a heartbeat block, a
 * pool, one descriptor queue per participant slot and the MessageRing.  zc_region_create()
 * runs the three construction phases; zc_region_open() validates the
 * layout and every component before it hands anything out.
 *
 * The creator owns destruction: zc_region_close() by the creator clears
 * READY, then takes the components down in reverse order.  Peers only
 * unmap.  The memory goes away when the last process lets go of it.
 */
#ifndef ZC_REGION_H
#define ZC_REGION_H

#include <stdbool.h>
#include <stdint.h>

#include <zc/guard.h>
#include <zc/heartbeat.h>
#include <zc/msgring.h>
#include <zc/pool.h>
#include <zc/queue.h>
#include <zc/segment.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Payload bytes per MessageRing node in a region. */
#define ZC_REGION_RING_PAYLOAD 1024u

/** What a region holds. */
typedef struct zc_region_config
{
  uint32_t n_slots;             /**< heartbeat slots (participants), 1 to 64 */
  zc_pool_config_t pool;        /**< the block pool */
} zc_region_config_t;

/** Process-local handle.  Opaque. */
typedef struct zc_region zc_region_t;

/**
 * zc_region_create:
 * @debug_name: shown in /proc/PID/fd; may be NULL
 * @config: what to hold
 * @out: (out): the new region, READY
 *
 * Returns: 0, -EINVAL, -EFBIG (above 1 GiB) or a negative errno.
 */
int zc_region_create (const char *debug_name, const zc_region_config_t * config,
    zc_region_t ** out);

/**
 * zc_region_open:
 * @meta_fd: metadata descriptor (read-write)
 * @data_fd: data descriptor (read-only for readers)
 * @out: (out): the region
 *
 * Maps and validates: layout (zc_layout_validate), then each component.
 * The descriptors are duplicated; the caller keeps its own.
 *
 * Returns: 0 or a negative code naming what is wrong with the segment.
 */
int zc_region_open (int meta_fd, int data_fd, zc_region_t ** out);

/**
 * zc_region_close:
 * @region: (nullable): a region
 *
 * Creator: destructs in reverse order, then unmaps.  Others: unmap only.
 */
void zc_region_close (zc_region_t * region);

/** zc_region_segment: Returns: the region's segment. */
zc_segment_t *zc_region_segment (zc_region_t * region);
/** zc_region_pool: Returns: the region's pool. */
zc_pool_t *zc_region_pool (zc_region_t * region);
/** zc_region_heartbeat: Returns: the region's heartbeat block. */
zc_heartbeat_t *zc_region_heartbeat (zc_region_t * region);
/** zc_region_queues: Returns: the region's descriptor queues. */
zc_queues_t *zc_region_queues (zc_region_t * region);
/** zc_region_msgring: Returns: the region's MessageRing. */
zc_msgring_t *zc_region_msgring (zc_region_t * region);
/** zc_region_is_creator: Returns: whether this handle built the region. */
bool zc_region_is_creator (const zc_region_t * region);

/**
 * zc_region_reclaim:
 * @region: a region
 * @stale_ns: beat age past which a live participant is evicted; 0 never
 * @reclaimed: (out) (optional): slots that were reclaimed
 *
 * Finds dead and stale participants, drops every block reference they
 * held (blocks nobody else holds go back to the pool) and frees their
 * slots.  Safe to run from several processes at once.
 *
 * Returns: the number of participants reclaimed.
 */
int zc_region_reclaim (zc_region_t * region, uint64_t stale_ns,
    uint64_t * reclaimed);

#ifdef __cplusplus
}
#endif
#endif /* ZC_REGION_H */

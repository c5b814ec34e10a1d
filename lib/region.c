/* gst-zerocopy core library: regions, a segment with its components.
 *
 * A region is the unit a producer creates and peers open: one segment
 * (segment.c) laid out as layout.c describes, holding today
 *
 *   component 0   heartbeat block (heartbeat.c): participant slots
 *   component 1   pool (pool.c): block control lines in meta, blocks in data
 *   component 2   descriptor queues (queue.c): one per participant slot
 *   component 3   MessageRing (msgring.c): a node per participant slot
 *
 * Creation runs the three phases of layout.h: reserve (size the components,
 * create the sealed files), header (region header and component table),
 * construct (each component in place, its bit set after it, READY last).
 * Opening trusts nothing: zc_layout_validate() checks the table against
 * the real file sizes, then each component validates its own header.
 *
 * Ownership: the creator alone takes the region down, READY first, then
 * the components in reverse order.  Nothing is freed under a peer: the
 * memory stays until the last process unmaps it, so a peer that still
 * reads when the creator leaves reads valid (if stale) memory.
 *
 * Reclaim may run in every process at once: zc_heartbeat_begin_reclaim()
 * lets exactly one of them own each dead slot, and only that one drops
 * the slot's references.
 *
 * A zc_region_t is process-local; like the pool view it holds, it is shared
 * between threads only for calls that the pool and heartbeat allow.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <zc/error.h>
#include <zc/layout.h>
#include <zc/region.h>

/* Construction order, which is also the component table order. */
enum
{
  REGION_HEARTBEAT = 0,
  REGION_POOL = 1,
  REGION_QUEUES = 2,
  REGION_MSGRING = 3,
  REGION_N_COMPONENTS
};

struct zc_region
{
  zc_segment_t *seg;
  zc_heartbeat_t hb;
  zc_pool_t pool;
  zc_queues_t queues;
  zc_msgring_t ring;
  bool creator;
};

static zc_region_t *
region_new (void)
{
  return calloc (1, sizeof (zc_region_t));
}

int
zc_region_create (const char *debug_name, const zc_region_config_t * config,
    zc_region_t ** out)
{
  struct zc_component_spec specs[REGION_N_COMPONENTS];
  struct zc_layout_plan plan;
  const struct zc_component_entry *hb_e, *pool_e, *q_e, *ring_e;
  struct zc_region_header *hdr;
  zc_region_t *region = NULL;
  uint64_t pool_meta, pool_data, start_time;
  uint8_t *meta, *data;
  int ret;

  if (config == NULL || out == NULL)
    return -EINVAL;
  if (config->n_slots < 1 || config->n_slots > ZC_HEARTBEAT_MAX_SLOTS)
    return -EINVAL;

  /* Phase 1: reserve. */
  ret = zc_pool_footprint (&config->pool, &pool_meta, &pool_data);
  if (ret < 0)
    return ret;
  specs[REGION_HEARTBEAT].kind = ZC_COMPONENT_HEARTBEAT;
  specs[REGION_HEARTBEAT].meta_size = zc_heartbeat_footprint (config->n_slots);
  specs[REGION_HEARTBEAT].data_size = 0;
  specs[REGION_POOL].kind = ZC_COMPONENT_POOL;
  specs[REGION_POOL].meta_size = pool_meta;
  specs[REGION_POOL].data_size = pool_data;
  specs[REGION_QUEUES].kind = ZC_COMPONENT_QUEUES;
  specs[REGION_QUEUES].meta_size = zc_queues_footprint (config->n_slots);
  specs[REGION_QUEUES].data_size = 0;
  specs[REGION_MSGRING].kind = ZC_COMPONENT_MSGRING;
  specs[REGION_MSGRING].meta_size = zc_msgring_footprint (config->n_slots,
      ZC_REGION_RING_PAYLOAD);
  specs[REGION_MSGRING].data_size = 0;
  ret = zc_layout_plan_components (specs, REGION_N_COMPONENTS, &plan);
  if (ret < 0)
    return ret;

  region = region_new ();
  if (region == NULL)
    return -ENOMEM;
  region->creator = true;
  ret = zc_segment_create (debug_name, plan.meta_size, plan.data_size,
      &region->seg);
  if (ret < 0)
    goto failed;
  meta = zc_segment_meta (region->seg);
  data = zc_segment_data (region->seg);

  /* Phase 2: header.  The creator fields are plain stores, published to
   * openers by the release of the first construction bit below. */
  ret = zc_process_start_time (getpid (), &start_time);
  if (ret < 0)
    goto failed;
  zc_layout_write_header (meta, &plan);
  hdr = (struct zc_region_header *) meta;
  hdr->creator_pid = (int32_t) getpid ();
  hdr->creator_start_time = start_time;

  /* Phase 3: construct, in table order; READY last.  The plan is our own,
   * so its ranges are trusted here. */
  hb_e = &plan.components[REGION_HEARTBEAT];
  ret = zc_heartbeat_construct (&region->hb, meta + hb_e->meta_offset,
      hb_e->meta_size, config->n_slots);
  if (ret < 0)
    goto failed;
  zc_layout_mark_constructed (meta, REGION_HEARTBEAT);

  pool_e = &plan.components[REGION_POOL];
  ret = zc_pool_construct (&region->pool, &config->pool,
      meta + pool_e->meta_offset, pool_e->meta_size,
      data + pool_e->data_offset, pool_e->data_size);
  if (ret < 0)
    goto failed;
  zc_layout_mark_constructed (meta, REGION_POOL);

  q_e = &plan.components[REGION_QUEUES];
  ret = zc_queues_construct (&region->queues, meta + q_e->meta_offset,
      q_e->meta_size, config->n_slots);
  if (ret < 0)
    goto failed;
  zc_layout_mark_constructed (meta, REGION_QUEUES);

  ring_e = &plan.components[REGION_MSGRING];
  ret = zc_msgring_construct (&region->ring, meta + ring_e->meta_offset,
      ring_e->meta_size, config->n_slots, ZC_REGION_RING_PAYLOAD,
      ZC_MSGRING_DEFAULT_DUTY_TIMEOUT_NS);
  if (ret < 0)
    goto failed;
  zc_layout_mark_constructed (meta, REGION_MSGRING);

  zc_layout_mark_constructed (meta, -1);
  *out = region;
  return 0;

failed:
  /* Nobody has the descriptors yet: no one can have seen a partial region. */
  zc_segment_close (region->seg);
  free (region);
  return ret;
}

/* Finds the first component of @kind and copies its entry, bounding it
 * again: the table lives in memory every participant can write, and it
 * may have changed since zc_layout_validate() looked at it. */
static int
find_component (const zc_segment_t * seg, uint32_t kind,
    struct zc_component_entry *entry)
{
  const struct zc_region_header *hdr = zc_segment_meta (seg);
  uint64_t meta_size = zc_segment_meta_size (seg);
  uint64_t data_size = zc_segment_data_size (seg);
  int index;

  index = zc_layout_find (hdr, kind, 0);
  if (index < 0)
    return index;
  *entry = hdr->components[index];
  if (entry->kind != kind)
    return ZC_EKIND;
  if (entry->meta_offset > meta_size ||
      entry->meta_size > meta_size - entry->meta_offset ||
      entry->data_offset > data_size ||
      entry->data_size > data_size - entry->data_offset)
    return ZC_EBOUNDS;
  return index;
}

int
zc_region_open (int meta_fd, int data_fd, zc_region_t ** out)
{
  struct zc_component_entry hb_e, pool_e, q_e, ring_e;
  zc_region_t *region;
  uint8_t *meta, *data;
  int ret;

  if (meta_fd < 0 || out == NULL)
    return -EINVAL;

  region = region_new ();
  if (region == NULL)
    return -ENOMEM;
  ret = zc_segment_open (meta_fd, data_fd, &region->seg);
  if (ret < 0)
    goto failed;
  meta = zc_segment_meta (region->seg);
  data = zc_segment_data (region->seg);

  ret = zc_layout_validate (meta, zc_segment_meta_size (region->seg),
      zc_segment_data_size (region->seg));
  if (ret < 0)
    goto failed;

  ret = find_component (region->seg, ZC_COMPONENT_HEARTBEAT, &hb_e);
  if (ret < 0)
    goto failed;
  ret = find_component (region->seg, ZC_COMPONENT_POOL, &pool_e);
  if (ret < 0)
    goto failed;
  ret = find_component (region->seg, ZC_COMPONENT_QUEUES, &q_e);
  if (ret < 0)
    goto failed;
  ret = find_component (region->seg, ZC_COMPONENT_MSGRING, &ring_e);
  if (ret < 0)
    goto failed;

  ret = zc_heartbeat_attach (&region->hb, meta + hb_e.meta_offset,
      hb_e.meta_size);
  if (ret < 0)
    goto failed;
  /* A pool always has blocks, so a segment without data fails the pool's
   * own bounds check: hand it a NULL range rather than NULL + offset. */
  ret = zc_pool_attach (&region->pool, meta + pool_e.meta_offset,
      pool_e.meta_size, data ? data + pool_e.data_offset : NULL,
      data ? pool_e.data_size : 0, zc_segment_data_writable (region->seg));
  if (ret < 0)
    goto failed;
  ret = zc_queues_attach (&region->queues, meta + q_e.meta_offset,
      q_e.meta_size);
  if (ret < 0)
    goto failed;
  ret = zc_msgring_attach (&region->ring, meta + ring_e.meta_offset,
      ring_e.meta_size);
  if (ret < 0)
    goto failed;

  *out = region;
  return 0;

failed:
  zc_segment_close (region->seg);
  free (region);
  return ret;
}

void
zc_region_close (zc_region_t * region)
{
  void *meta;

  if (region == NULL)
    return;

  if (region->creator) {
    meta = zc_segment_meta (region->seg);
    /* READY first: from here on no new opener accepts the region.  Then
     * the components in reverse order.  Neither holds resources outside
     * the segment, so taking one down is clearing its bit; peers that
     * opened earlier keep a valid mapping. */
    zc_layout_mark_destructed (meta, -1);
    zc_layout_mark_destructed (meta, REGION_MSGRING);
    zc_layout_mark_destructed (meta, REGION_QUEUES);
    zc_layout_mark_destructed (meta, REGION_POOL);
    zc_layout_mark_destructed (meta, REGION_HEARTBEAT);
  }
  zc_segment_close (region->seg);
  free (region);
}

zc_segment_t *
zc_region_segment (zc_region_t * region)
{
  return region ? region->seg : NULL;
}

zc_pool_t *
zc_region_pool (zc_region_t * region)
{
  return region ? &region->pool : NULL;
}

zc_heartbeat_t *
zc_region_heartbeat (zc_region_t * region)
{
  return region ? &region->hb : NULL;
}

zc_queues_t *
zc_region_queues (zc_region_t * region)
{
  return region ? &region->queues : NULL;
}

zc_msgring_t *
zc_region_msgring (zc_region_t * region)
{
  return region ? &region->ring : NULL;
}

bool
zc_region_is_creator (const zc_region_t * region)
{
  return region ? region->creator : false;
}

int
zc_region_reclaim (zc_region_t * region, uint64_t stale_ns,
    uint64_t * reclaimed)
{
  uint64_t dead, done = 0;
  unsigned slot;
  int count = 0;

  if (region == NULL)
    return -EINVAL;

  dead = zc_heartbeat_find_dead (&region->hb, stale_ns);
  for (slot = 0; slot < ZC_HEARTBEAT_MAX_SLOTS; slot++) {
    if (!(dead & (UINT64_C (1) << slot)))
      continue;
    /* Only the winner of ACTIVE -> RECLAIMING drops the references, so
     * each is dropped once even when several processes scan at once. */
    if (zc_heartbeat_begin_reclaim (&region->hb, slot) != 0
        || zc_heartbeat_confirm_reclaim (&region->hb, slot, stale_ns) != 0)
      continue;
    zc_pool_reclaim_participant (&region->pool, slot);
    zc_heartbeat_finish_reclaim (&region->hb, slot);
    done |= UINT64_C (1) << slot;
    count++;
  }
  if (reclaimed)
    *reclaimed = done;
  return count;
}

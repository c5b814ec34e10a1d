/* gst-zerocopy core library: a channel's MessageRing service.  Internal.
 *
 * Every participant calls zc_duty_service() from time to time (the
 * producer's control thread on every tick, a consumer whenever it waits).
 * It pumps the participant's ring node and, when this participant holds the
 * duty, runs the cleaner work no daemon is there to run.
 */
#ifndef ZC_DUTY_H
#define ZC_DUTY_H

#include <zc/region.h>

typedef struct zc_duty_hooks
{
  /* Producer: a consumer asks for at least @blocks blocks. */
  void (*scale_request) (void *user_data, unsigned from, uint64_t blocks);
  /* Any: a pool tripped its circuit breaker somewhere. */
  void (*guard_trip) (void *user_data, unsigned from, uint32_t generation);
  /* Consumer: the answer to our CRC_VERIFY_REQUEST. */
  void (*crc_reply) (void *user_data, uint32_t block, int64_t result);
  void *user_data;
} zc_duty_hooks_t;

typedef struct zc_duty
{
  zc_region_t *region;
  unsigned slot;                /* ours, in this region */
  uint32_t generation;          /* this region's pool generation */
  uint64_t stale_ns;            /* heartbeat timeout */
  uint64_t next_hint_check_ns;
  uint64_t next_clean_ns;       /* holder: when the cleaner may scan again */
  zc_duty_hooks_t hooks;
} zc_duty_t;

/* Joins @slot to the region's ring. */
int zc_duty_join (zc_duty_t * duty, zc_region_t * region, unsigned slot,
    uint32_t generation, uint64_t stale_ns, const zc_duty_hooks_t * hooks);

/* Pumps our node, renews or takes the duty, and if we hold it reclaims
 * dead and stalled participants.  Returns 1 if we hold the duty. */
int zc_duty_service (zc_duty_t * duty);

/* Asks the duty holder to verify the CRC of block @index (we must hold
 * it); the answer comes through hooks.crc_reply.  When we hold the duty
 * ourselves, verifies here: returns 1 with the answer in @local.  Returns
 * 0 when sent, or a negative code. */
int zc_duty_request_verify (zc_duty_t * duty, uint32_t index, int *local);

/* Broadcasts GUARD_TRIP (urgent, both ways) for our generation. */
void zc_duty_report_trip (zc_duty_t * duty);

/* Verifies block @index of @pool as a duty holder would: the requester's
 * reference keeps it published meanwhile.  0, ZC_ECRC, -ENODATA,
 * ZC_EBOUNDS or ZC_ESTATE. */
int zc_duty_verify_block (zc_pool_t * pool, uint32_t index);

#endif /* ZC_DUTY_H */

/* gst-zerocopy core library: heartbeat block, the participants' registry.
 *
 * A fixed array of slots in the metadata file; a participant's slot index
 * is also its bit in every block's holder mask (pool.h).  A slot records
 * who holds it (pid and process start time, so a recycled pid is not
 * mistaken for the old process), a generation bumped at every reuse and
 * the time of the last beat (CLOCK_MONOTONIC ns, same clock system-wide).
 *
 *   FREE --allocate--> ACTIVE --release--> FREE
 *                        |
 *                        +--(dead or stale)--begin_reclaim--> RECLAIMING
 *                                 --(references dropped)--finish_reclaim--> FREE
 *
 * Death is found two ways: the pid is gone or belongs to a newer process
 * (kill(pid, 0) and /proc/PID/stat start time: no lag), or the last beat
 * is older than a timeout (a hung process).  Only the process that wins the
 * ACTIVE -> RECLAIMING CAS reclaims, so references are dropped once.
 * No daemon: any participant may run the scan.
 */
#ifndef ZC_HEARTBEAT_H
#define ZC_HEARTBEAT_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZC_HEARTBEAT_MAGIC UINT32_C (0x54424548)        /**< "HEBT" */
#define ZC_HEARTBEAT_MAX_SLOTS 64u

/** Slot states. */
enum zc_slot_state
{
  ZC_SLOT_FREE = 0,
  ZC_SLOT_ACTIVE = 1,
  ZC_SLOT_RECLAIMING = 2,
};

/** Heartbeat block header. */
struct zc_heartbeat_header
{
  uint32_t magic;               /**< ZC_HEARTBEAT_MAGIC */
  uint32_t n_slots;             /**< 1 to ZC_HEARTBEAT_MAX_SLOTS */
  uint64_t reserved[7];
};
_Static_assert (sizeof (struct zc_heartbeat_header) == 64,
    "heartbeat header is shared ABI");

/** One participant slot; one cache line so beats do not false-share. */
struct zc_heartbeat_slot
{
  /* enum zc_slot_state.  Claimed by CAS FREE -> ACTIVE (acq_rel); the
   * identity fields below are written after the claim and published by
   * the release store of @generation. */
  _Atomic uint32_t state;
  /* Bumped (release) when the slot is taken and when it is freed; readers
   * that cache a slot compare it to see a reuse. */
  _Atomic uint32_t generation;
  _Atomic int32_t pid;          /**< holder's pid */
  uint32_t reserved0;
  _Atomic uint64_t start_time;  /**< holder's start time, clock ticks since boot */
  /* Last beat, CLOCK_MONOTONIC ns.  Relaxed: an age estimate, it orders
   * nothing. */
  _Atomic uint64_t last_beat_ns;
  uint64_t reserved[4];
};
_Static_assert (sizeof (struct zc_heartbeat_slot) == 64,
    "heartbeat slot is shared ABI");

/** Process-local view.  Fields are private; storage is the caller's. */
typedef struct zc_heartbeat
{
  struct zc_heartbeat_header *header;
  struct zc_heartbeat_slot *slots;
  uint32_t n_slots;
} zc_heartbeat_t;

/** What zc_heartbeat_check() found. */
typedef enum zc_peer_status
{
  ZC_PEER_FREE = 0,             /**< slot not in use */
  ZC_PEER_ALIVE = 1,            /**< process there, beating */
  ZC_PEER_DEAD = 2,             /**< process gone, or pid reused */
  ZC_PEER_STALE = 3,            /**< process there, no beat within timeout */
  ZC_PEER_RECLAIMING = 4,       /**< someone is reclaiming it */
} zc_peer_status_t;

/** zc_heartbeat_footprint: Returns: metadata bytes for @n_slots slots. */
uint64_t zc_heartbeat_footprint (uint32_t n_slots);

/**
 * zc_heartbeat_construct:
 * @hb: (out): local view
 * @mem, @size: zeroed component metadata
 * @n_slots: 1 to ZC_HEARTBEAT_MAX_SLOTS
 *
 * Returns: 0, -EINVAL or ZC_EBOUNDS.
 */
int zc_heartbeat_construct (zc_heartbeat_t * hb, void *mem, uint64_t size,
    uint32_t n_slots);

/**
 * zc_heartbeat_attach:
 * @hb: (out): local view
 * @mem, @size: component metadata built by another process
 *
 * Returns: 0, ZC_EBADMAGIC or ZC_EBOUNDS.
 */
int zc_heartbeat_attach (zc_heartbeat_t * hb, void *mem, uint64_t size);

/**
 * zc_heartbeat_allocate:
 * @hb: heartbeat block
 * @slot: (out): the slot now ACTIVE for this process, beaten once
 *
 * Returns: 0, -ENOSPC when every slot is taken.
 */
int zc_heartbeat_allocate (zc_heartbeat_t * hb, unsigned *slot);

/**
 * zc_heartbeat_assign:
 * @hb: heartbeat block
 * @slot: the slot to fill, which must be FREE
 * @pid: the process it is for (a consumer the producer admits; its pid
 * comes from SO_PEERCRED)
 * @generation: (out) (optional): the slot's generation after the claim
 *
 * Claims a given slot on behalf of another process, so that a producer
 * can hand every consumer the same slot index in every pool generation.
 *
 * Returns: 0, -EINVAL, -ESRCH (no such process) or ZC_ESTATE (taken).
 */
int zc_heartbeat_assign (zc_heartbeat_t * hb, unsigned slot, pid_t pid,
    uint32_t * generation);

/**
 * zc_heartbeat_generation:
 * @hb: heartbeat block
 * @slot: a slot
 *
 * Returns: its generation (acquire), bumped at every take and free; 0 for
 * a bad slot.
 */
uint32_t zc_heartbeat_generation (const zc_heartbeat_t * hb, unsigned slot);

/**
 * zc_heartbeat_touch:
 * @hb: heartbeat block
 * @slot: this process's slot
 *
 * Records a beat now.  Cheap (a clock read and a relaxed store).
 */
void zc_heartbeat_touch (zc_heartbeat_t * hb, unsigned slot);

/**
 * zc_heartbeat_release:
 * @hb: heartbeat block
 * @slot: this process's slot, holding no more references
 *
 * Returns: 0, -EINVAL or ZC_ESTATE (not ACTIVE).
 */
int zc_heartbeat_release (zc_heartbeat_t * hb, unsigned slot);

/**
 * zc_heartbeat_age:
 * @hb: heartbeat block
 * @slot: a slot
 *
 * A plain read of the slot's last beat, no system call: a fresh beat is
 * the cheap proof of life, to look at before zc_heartbeat_check() (which
 * asks the kernel about the process: kill(0) and /proc).
 *
 * Returns: nanoseconds since @slot last showed life; 0 for a beat from
 * the future or a slot out of range.
 */
uint64_t zc_heartbeat_age (const zc_heartbeat_t * hb, unsigned slot);

/**
 * zc_heartbeat_check:
 * @hb: heartbeat block
 * @slot: a slot
 * @stale_ns: beat age that makes a live process stale; 0 never
 *
 * Returns: the slot's zc_peer_status_t.
 */
zc_peer_status_t zc_heartbeat_check (const zc_heartbeat_t * hb, unsigned slot,
    uint64_t stale_ns);

/**
 * zc_heartbeat_find_dead:
 * @hb: heartbeat block
 * @stale_ns: as zc_heartbeat_check()
 *
 * Returns: a mask of the ACTIVE slots that are dead or stale.
 */
uint64_t zc_heartbeat_find_dead (const zc_heartbeat_t * hb, uint64_t stale_ns);

/**
 * zc_heartbeat_begin_reclaim:
 * @hb: heartbeat block
 * @slot: a dead or stale slot
 *
 * Returns: 0 if this caller won the slot (now RECLAIMING) and must confirm
 * (zc_heartbeat_confirm_reclaim), drop its references, then call
 * zc_heartbeat_finish_reclaim(); ZC_ESTATE if it is
 * not ACTIVE (another process is on it, or it is free).
 */
int zc_heartbeat_begin_reclaim (zc_heartbeat_t * hb, unsigned slot);

/**
 * zc_heartbeat_confirm_reclaim:
 * @hb: heartbeat block
 * @slot: a slot this caller won with zc_heartbeat_begin_reclaim()
 * @stale_ns: as zc_heartbeat_check()
 *
 * Looks once more at the slot's occupant, now frozen by RECLAIMING: the
 * slot may have been freed and taken by a live process between the scan
 * that found it dead and the winning CAS.  Call it before dropping any
 * reference.
 *
 * Returns: 0 if the occupant is dead or stale (go on reclaiming);
 * ZC_ESTATE if it is alive, in which case the slot is ACTIVE again and
 * must be left alone.
 */
int zc_heartbeat_confirm_reclaim (zc_heartbeat_t * hb, unsigned slot,
    uint64_t stale_ns);

/**
 * zc_heartbeat_finish_reclaim:
 * @hb: heartbeat block
 * @slot: a slot this caller is reclaiming
 *
 * Frees the slot for reuse.
 */
void zc_heartbeat_finish_reclaim (zc_heartbeat_t * hb, unsigned slot);

/** zc_now_ns: Returns: CLOCK_MONOTONIC in nanoseconds. */
uint64_t zc_now_ns (void);

/**
 * zc_process_start_time:
 * @pid: a process
 * @start_time: (out): its start time in clock ticks since boot
 *
 * Returns: 0, -ESRCH if there is no such process, or -EPROTO if /proc
 * could not be parsed.
 */
int zc_process_start_time (pid_t pid, uint64_t * start_time);

#ifdef __cplusplus
}
#endif
#endif /* ZC_HEARTBEAT_H */

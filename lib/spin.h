/* gst-zerocopy core library: when a reader should spin before it sleeps.
 * Internal to libzc.
 *
 * Sleeping on the doorbell and being woken costs the reader ~5-10 us of
 * CPU and the producer a doorbell write per frame.  A stream whose frames
 * come closer together than that is cheaper watched (zc_queue_spin())
 * than slept on: 1 KiB audio buffers or small video frames.  This is the
 * policy; the watching is the queue's.  It spins for twice the smoothed
 * gap between frames, and backs off (exponentially) after spins that
 * caught nothing: the producer paused, or runs on the reader's CPU and
 * cannot push while the reader spins.  A paced stream (30 fps) never
 * spins.  State of one receiving thread: no locking.
 */
#ifndef ZC_SPIN_H
#define ZC_SPIN_H

#include <stdbool.h>
#include <stdint.h>

/* Spin only for frames closer together than this: about what a sleep and
 * a wake-up cost the reader, plus the producer's doorbell write.  A spin
 * lasts twice the gap, so never more than twice this. */
#define ZC_SPIN_GAP_NS 10000u
/* Most chances to spin skipped after spins that kept missing. */
#define ZC_SPIN_BACKOFF_MAX 256u

typedef struct
{
  uint64_t last_frame_ns;       /* 0: no frame yet */
  uint64_t gap_ns;              /* smoothed; UINT64_MAX: unknown */
  unsigned skip;                /* chances left to skip */
  unsigned backoff;             /* chances the next miss skips */
} zc_spin_t;

/* No stream yet: no spinning until two frames gave a gap. */
void zc_spin_init (zc_spin_t * s);

/* A frame arrived at @now_ns: the gap moves a quarter of the way to the
 * new one, so one long pause ends spinning at once and a dense stream
 * takes a few frames to start it. */
void zc_spin_note_frame (zc_spin_t * s, uint64_t now_ns);

/* The queue is empty and the reader would sleep: how long to spin first,
 * in ns (0: sleep now; a skipped chance is counted here). */
uint64_t zc_spin_budget (zc_spin_t * s);

/* What the spin zc_spin_budget() allowed did: @caught, a frame came (the
 * back-off ends); else the next miss skips twice as many chances. */
void zc_spin_result (zc_spin_t * s, bool caught);

#endif /* ZC_SPIN_H */

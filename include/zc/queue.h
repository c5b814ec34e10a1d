/* gst-zerocopy core library: per-consumer descriptor queues with a doorbell.
 *
 * The data path of a channel.  The producer publishes a block by writing a
 * descriptor (block index, generation, sequence, size, timestamps, flags,
 * a small opaque meta area) into the queue of every consumer that gets it.
 * Queues live in the metadata file of the region, one per participant slot
 * (the slot index is also the consumer's bit in the block holder masks).
 *
 *   producer                         consumer
 *   --------                         --------
 *   write ring[head % depth]
 *   head++ (release)  ----------->   load head (acquire), copy ring[tail]
 *   reader_sleeping? ring doorbell   CAS tail -> tail + 1: the entry is ours
 *                                    ... uses the block ...
 *   writer_waiting? <-- wake futex   released++ (release); no syscall unless
 *                                    the producer sleeps on space
 *
 * Single producer, single consumer, plus one twist: the producer may take
 * back ("revoke") the oldest entry the consumer has not claimed yet, by the
 * same CAS on @tail the consumer uses.  Whoever wins the CAS owns the entry,
 * so a revoked frame is never also delivered.  That is how the `drop`
 * policy stays writer-first even when every block sits in slow queues.
 *
 * Doorbell: an eventfd, which a poll loop can wait on together with a
 * cancel fd (GstBaseSrc unlock) and the control socket.  The channel has
 * one for all its consumers, watched edge-triggered and never read, so one
 * write after a frame has gone to every queue wakes every sleeper.  The
 * consumer announces sleep in @reader_sleeping and re-checks @head; the
 * producer stores @head and then looks at @reader_sleeping.  Both sides use
 * seq_cst for this pair (Dekker), so one of them always sees the other:
 * the bell is rung only when a reader really may sleep, never per frame,
 * and at most once per sleep: the producer that rings takes the flag down.
 *
 * Every field here can be written by any participant.  The queue code
 * bounds its own indices; a descriptor's contents (block index, sizes, meta
 * length) are validated by the channel code before use.
 */
#ifndef ZC_QUEUE_H
#define ZC_QUEUE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZC_QUEUES_MAGIC UINT32_C (0x53455551)   /**< "QUES" */
/** Most queues a component holds: one per participant slot. */
#define ZC_QUEUES_MAX 64u
/** Entries per queue; a power of two.  Also the largest per-consumer limit. */
#define ZC_QUEUE_DEPTH 64u
/** Opaque meta bytes a descriptor carries (video meta, ...). */
#define ZC_DESC_META_SIZE 176u
/** "No timestamp", as GST_CLOCK_TIME_NONE. */
#define ZC_TIME_NONE UINT64_MAX

/** Descriptor flags (zc_desc.flags). */
#define ZC_DESC_FLAG_EOS        (1u << 0)  /**< end of stream; no block */
#define ZC_DESC_FLAG_NO_BLOCK   (1u << 1)  /**< an event without a block */
/** A control message (sequence = its ctl_seq) waits on the socket; it
 * takes effect here, in order with the frames. */
#define ZC_DESC_FLAG_CONTROL    (1u << 2)
/** A flush: the producer took back what it could of the frames queued
 * before it; with ZC_DESC_FLAG_NO_BLOCK. */
#define ZC_DESC_FLAG_FLUSH      (1u << 3)

/** One published frame, as the consumer sees it.  Plain data. */
struct zc_desc
{
  uint32_t block;               /**< block index in the pool */
  uint32_t generation;          /**< pool generation the block belongs to */
  uint64_t sequence;            /**< frame id, monotonic per channel */
  uint64_t size;                /**< user bytes in the block */
  uint64_t pts;                 /**< ns or ZC_TIME_NONE */
  uint64_t dts;                 /**< ns or ZC_TIME_NONE */
  uint64_t duration;            /**< ns or ZC_TIME_NONE */
  uint64_t offset;              /**< opaque (GstBuffer offset) */
  uint64_t offset_end;          /**< opaque (GstBuffer offset_end) */
  uint32_t flags;               /**< ZC_DESC_FLAG_* */
  uint32_t buffer_flags;        /**< opaque (GstBufferFlags) */
  uint32_t meta_size;           /**< bytes used in @meta, <= ZC_DESC_META_SIZE */
  uint32_t reserved;
  uint8_t meta[ZC_DESC_META_SIZE];
};
_Static_assert (sizeof (struct zc_desc) == 256, "descriptor is shared ABI");

/** Queue states (zc_queue.state). */
enum zc_queue_state
{
  ZC_QUEUE_FREE = 0,            /**< no consumer */
  ZC_QUEUE_ACTIVE = 1,          /**< a consumer is attached */
};

/** One consumer's queue.  Two cache lines of control, then the ring. */
struct zc_queue
{
  /* --- written by the producer --- */
  /* Next position to write.  Stored seq_cst after the entry is written:
   * release for the entry, and the Dekker half with @reader_sleeping. */
  _Atomic uint64_t head;
  _Atomic uint64_t delivered;   /**< frames queued to this consumer (relaxed) */
  _Atomic uint64_t dropped;     /**< frames this consumer missed (relaxed) */
  _Atomic uint64_t revoked;     /**< entries taken back unread (relaxed) */
  /* Most blocks the consumer may hold plus have queued (1..ZC_QUEUE_DEPTH);
   * relaxed, a policy number. */
  _Atomic uint32_t limit;
  _Atomic uint32_t state;       /**< enum zc_queue_state */
  /* Non-zero while the producer sleeps on @space_seq (seq_cst, Dekker with
   * @released). */
  _Atomic uint32_t writer_waiting;
  uint32_t reserved0;
  uint64_t reserved1[2];
  /* --- written by the consumer (and @tail by a revoking producer) --- */
  /* Next position to read.  Advanced only by CAS (acq_rel). */
  _Atomic uint64_t tail;
  /* Entries the consumer claimed, and blocks it released.  held = taken -
   * released; released is stored seq_cst (Dekker with @writer_waiting). */
  _Atomic uint64_t taken;
  _Atomic uint64_t released;
  /* Non-zero while the consumer may sleep on its doorbell and nobody rang
   * yet (seq_cst; the ringing producer exchanges it to 0). */
  _Atomic uint32_t reader_sleeping;
  /* Futex word the producer sleeps on while it waits for space: bumped by
   * the consumer on a release that sees @writer_waiting. */
  _Atomic uint32_t space_seq;
  /* The CPU the consumer was on when it last announced sleep, plus one
   * (0: unknown).  A hint (relaxed), see zc_queue_sleeps_on_cpu(). */
  _Atomic uint32_t reader_cpu;
  uint32_t reserved3;
  uint64_t reserved2[3];
  struct zc_desc ring[ZC_QUEUE_DEPTH];
};
_Static_assert (sizeof (struct zc_queue) == 128 + 256 * ZC_QUEUE_DEPTH,
    "queue is shared ABI");
_Static_assert (__builtin_offsetof (struct zc_queue, tail) == 64,
    "consumer fields on their own cache line");

/** Queues component header. */
struct zc_queues_header
{
  uint32_t magic;               /**< ZC_QUEUES_MAGIC */
  uint32_t n_queues;            /**< one per participant slot */
  uint32_t depth;               /**< ZC_QUEUE_DEPTH */
  uint32_t desc_size;           /**< sizeof (struct zc_desc) */
  uint64_t reserved[6];
};
_Static_assert (sizeof (struct zc_queues_header) == 64,
    "queues header is shared ABI");

/** Process-local view of the queues component.  Fields private. */
typedef struct zc_queues
{
  struct zc_queues_header *header;
  struct zc_queue *queues;
  uint32_t n_queues;
} zc_queues_t;

/** zc_queues_footprint: Returns: metadata bytes for @n_queues queues. */
uint64_t zc_queues_footprint (uint32_t n_queues);

/**
 * zc_queues_construct:
 * @qs: (out): local view
 * @mem, @size: zeroed component metadata
 * @n_queues: 1 to ZC_QUEUES_MAX
 *
 * Returns: 0, -EINVAL (NULL, misaligned @mem or bad @n_queues) or
 * ZC_EBOUNDS (@size too small).
 */
int zc_queues_construct (zc_queues_t * qs, void *mem, uint64_t size,
    uint32_t n_queues);

/**
 * zc_queues_attach:
 * @qs: (out): local view
 * @mem, @size: component metadata built by another process
 *
 * Returns: 0, -EINVAL (NULL or misaligned @mem), ZC_EBADMAGIC, ZC_EVERSION
 * (other depth or descriptor size) or ZC_EBOUNDS (queue count outside
 * 1..ZC_QUEUES_MAX, or more queues than @size holds).
 */
int zc_queues_attach (zc_queues_t * qs, void *mem, uint64_t size);

/** zc_queues_get: Returns: queue @index, or NULL when out of range. */
struct zc_queue *zc_queues_get (const zc_queues_t * qs, uint32_t index);

/**
 * zc_queue_reset:
 * @q: a queue nobody uses
 * @limit: the consumer's limit, clamped to 1..ZC_QUEUE_DEPTH
 *
 * Producer, before handing the queue to a new consumer: positions and
 * counters to zero, state ACTIVE.
 */
void zc_queue_reset (struct zc_queue *q, uint32_t limit);

/**
 * zc_queue_outstanding:
 * @q: a queue
 *
 * Returns: entries queued plus blocks the consumer holds, as the producer
 * sees them (saturating; a hostile consumer cannot make it wrap).
 */
uint64_t zc_queue_outstanding (const struct zc_queue *q);

/**
 * zc_queue_push:
 * @q: a queue
 * @desc: the descriptor to queue
 * @doorbell_fd: the eventfd the consumer sleeps on, rung if it sleeps; -1
 *   to leave that to the caller (zc_queue_take_sleeper(), zc_queue_ring():
 *   one ring for many queues)
 *
 * Producer only.  Counts the entry in @delivered; @dropped is left to the
 * caller, whose policy decides what a refused push means.
 *
 * Returns: 0, or -EAGAIN when the consumer is at its limit (outstanding
 * >= limit) or the ring is full (which includes positions a hostile
 * consumer made nonsensical).
 */
int zc_queue_push (struct zc_queue *q, const struct zc_desc *desc,
    int doorbell_fd);

/**
 * zc_queue_take_sleeper:
 * @q: a queue
 *
 * Producer, after zc_queue_push() with no doorbell: whether the consumer
 * announced sleep and nobody has rung for it yet.  Takes the announcement
 * down, so the caller must ring (once for any number of queues whose
 * consumers watch the same doorbell).
 *
 * Returns: true if the consumer sleeps and needs a ring.
 */
bool zc_queue_take_sleeper (struct zc_queue *q);

/**
 * zc_queue_sleeps_on_cpu:
 * @q: a queue
 * @cpu: a CPU number (sched_getcpu())
 *
 * Producer, after zc_queue_take_sleeper() said true: whether the consumer
 * went to sleep on @cpu.  The scheduler tends to wake a reader where it
 * slept, and where that is the ringing producer's CPU (machines whose
 * CPUs share no cache level the kernel knows of: many VMs), the reader
 * waits for the producer to block or be preempted, tens of microseconds
 * or the producer's whole next frame.  A producer that sees this yields
 * after it rings.  A hint the consumer writes: a wrong one costs a
 * needless yield, nothing else.
 *
 * Returns: true if the consumer said it sleeps on @cpu.
 */
bool zc_queue_sleeps_on_cpu (const struct zc_queue *q, int cpu);

/**
 * zc_queue_ring:
 * @doorbell_fd: an eventfd
 *
 * Rings a doorbell: adds 1 to the eventfd.  A full counter (the reader
 * never drains it) is left as it is: it is readable anyway.
 */
void zc_queue_ring (int doorbell_fd);

/**
 * zc_queue_revoke:
 * @q: a queue
 * @desc: (out): the entry taken back
 *
 * Producer only: takes back the oldest entry the consumer has not claimed.
 * The caller then drops the consumer's reference on its block.  Counts the
 * entry in @revoked.
 *
 * Returns: 0, or -EAGAIN when nothing is queued, the oldest entry is an
 * event (ZC_DESC_FLAG_NO_BLOCK: never revoked), or the consumer won.
 */
int zc_queue_revoke (struct zc_queue *q, struct zc_desc *desc);

/**
 * zc_queue_spin:
 * @q: a queue
 * @spin_ns: how long to watch, at most
 *
 * Consumer, before it announces sleep: watches @q for an entry for up to
 * @spin_ns, without a system call.  Sleeping and being woken costs the
 * reader ~5-10 us of CPU and the producer a doorbell write; a stream whose
 * entries come closer together than that is cheaper watched than slept
 * on.  Worth it only while the producer runs on another CPU: on ours, it
 * cannot push while we spin (the caller backs off after a spin that
 * caught nothing).
 *
 * Returns: true if an entry is there (zc_queue_pop() takes it).
 */
bool zc_queue_spin (const struct zc_queue *q, uint64_t spin_ns);

/**
 * zc_queue_pop:
 * @q: a queue
 * @desc: (out): the oldest entry, now the consumer's
 *
 * Consumer only.  Counts the entry as taken (held until
 * zc_queue_note_release()).  The descriptor's contents are the producer's
 * word: validate them before use.
 *
 * Returns: 0, -EAGAIN when nothing is queued (or the producer kept
 * revoking under us), or ZC_EBOUNDS when @head and @tail are further apart
 * than the ring is deep (a corrupt queue: give up on the channel).
 */
int zc_queue_pop (struct zc_queue *q, struct zc_desc *desc);

/**
 * zc_queue_note_release:
 * @q: a queue
 *
 * Consumer, after it dropped its reference on a block it popped: counts it
 * and wakes the producer if it sleeps in zc_queue_wait_space().  No system
 * call otherwise.
 */
void zc_queue_note_release (struct zc_queue *q);

/**
 * zc_queue_prepare_sleep:
 * @q: a queue
 *
 * Consumer, before it waits on its doorbell: announces the sleep.
 *
 * Returns: true if an entry arrived meanwhile (do not sleep; call
 * zc_queue_finish_sleep() and pop), false if it may sleep.
 */
bool zc_queue_prepare_sleep (struct zc_queue *q);

/**
 * zc_queue_finish_sleep:
 * @q: a queue
 * @doorbell_fd: the eventfd to drain (non-blocking read), or -1: a
 *   doorbell watched edge-triggered (as libzc's consumer does) needs no
 *   read, and neither does a level-triggered one that the wait saw silent
 *   (a ring that raced a wake-up only makes the next wait return at once)
 *
 * Consumer, after the wait.
 */
void zc_queue_finish_sleep (struct zc_queue *q, int doorbell_fd);

/**
 * zc_queue_wait_space:
 * @q: a queue
 * @timeout_ns: < 0 forever, else how long
 *
 * Producer: sleeps until the consumer is below its limit, or the queue is
 * no longer ACTIVE (whoever frees it stores the state first, then calls
 * zc_queue_wake_writer()).  A timeout of 0 only checks.
 *
 * Returns: 0 when there is space, ZC_ESTATE when the queue is not ACTIVE,
 * -ETIMEDOUT, or -EINTR (a signal; the caller decides whether to go on).
 */
int zc_queue_wait_space (struct zc_queue *q, int64_t timeout_ns);

/**
 * zc_queue_wake_writer:
 * @q: a queue
 *
 * Wakes a producer in zc_queue_wait_space() (used when the consumer goes
 * away, so the producer re-evaluates at once).  A producer woken while the
 * queue is still ACTIVE and at its limit goes back to sleep.
 */
void zc_queue_wake_writer (struct zc_queue *q);

#ifdef __cplusplus
}
#endif
#endif /* ZC_QUEUE_H */

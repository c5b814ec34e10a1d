/* gst-zerocopy core library: the consumer end of a channel.
 *
 * A consumer attaches to a channel by name.  It may exist before the
 * producer (it waits), join a running stream (it gets the format and the
 * sticky blobs first), and outlive a producer: when the producer leaves or
 * dies it reports ZC_EVENT_DISCONNECTED at once (socket hang-up, no
 * heartbeat lag), and the next zc_consumer_receive() waits for a new
 * producer of the same name.
 *
 * Frames arrive as descriptors in shared memory; the data is mapped
 * read-only and never copied.  zc_consumer_release() gives a block back
 * with no system call unless the producer sleeps waiting for it.
 *
 * Threads: receive and get_stats from one thread; release and cancel from
 * any thread.  Release every frame before zc_consumer_free().
 */
#ifndef ZC_CONSUMER_H
#define ZC_CONSUMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zc/channel.h>

#ifdef __cplusplus
extern "C" {
#endif

/** What zc_consumer_receive() returned. */
typedef enum zc_event_type
{
  ZC_EVENT_CONNECTED = 1,       /**< attached; @data holds the format */
  ZC_EVENT_FORMAT = 2,          /**< new format; @data holds it */
  ZC_EVENT_STICKY = 3,          /**< sticky blob @sticky_id; @data (size 0: removed) */
  ZC_EVENT_FRAME = 4,           /**< @frame is ours until released */
  ZC_EVENT_EOS = 5,             /**< end of stream, in order after the frames */
  ZC_EVENT_DISCONNECTED = 6,    /**< producer gone; @code says how */
  ZC_EVENT_FLUSH = 7,           /**< the producer flushed: drop what is
                                 * downstream (a seek, a restart) */
} zc_event_type_t;

/** One thing received.  @data stays valid until the next receive. */
typedef struct zc_event
{
  zc_event_type_t type;
  zc_frame_t frame;
  const void *data;
  size_t size;
  uint32_t sticky_id;
  /** DISCONNECTED: 0 clean goodbye, -ECONNRESET producer died,
   * ZC_EEVICTED we were evicted, or the protocol error seen. */
  int code;
} zc_event_t;

/** Consumer settings; start from zc_consumer_config_init(). */
typedef struct zc_consumer_config
{
  const char *name;             /**< channel name, or NULL with @socket_path */
  const char *socket_path;      /**< explicit control socket, or NULL */
  uint32_t max_held;            /**< held + queued blocks; 0: producer's default */
} zc_consumer_config_t;

typedef struct zc_consumer zc_consumer_t;

/** zc_consumer_config_init: @config: (out): defaults (no name, max_held 0). */
void zc_consumer_config_init (zc_consumer_config_t * config);

/**
 * zc_consumer_new:
 * @config: settings (copied)
 * @out: (out): a consumer, not yet attached
 *
 * Returns: 0, -EINVAL for a bad name, or a negative errno.
 */
int zc_consumer_new (const zc_consumer_config_t * config,
    zc_consumer_t ** out);

/**
 * zc_consumer_free:
 * @consumer: (nullable): a consumer whose frames are all released
 */
void zc_consumer_free (zc_consumer_t * consumer);

/**
 * zc_consumer_receive:
 * @consumer: a consumer
 * @event: (out): what arrived
 * @timeout_ns: < 0 forever, 0 do not wait, else how long
 *
 * Attaches first if needed (waiting for a producer to appear), then
 * returns the next event.  Shows life to the producer while it waits.
 * When frames come less than 10 us apart (small buffers, unpaced), a
 * waiting call watches the queue for twice that gap before it sleeps,
 * which saves the wake-up per frame; it backs off when that catches
 * nothing.  Timeout 0 never waits, so never watches.
 *
 * Returns: the event type (> 0), -ETIMEDOUT (-EAGAIN for timeout 0),
 * -ECANCELED (zc_consumer_cancel), -EACCES/-EPERM or another negative
 * code when the producer refused us (the reason is in the error log of
 * zc_consumer_last_error()).
 */
int zc_consumer_receive (zc_consumer_t * consumer, zc_event_t * event,
    int64_t timeout_ns);

/**
 * zc_consumer_release:
 * @consumer: a consumer
 * @frame: a frame from ZC_EVENT_FRAME
 *
 * Returns: 0, or ZC_ESTATE if the block had already been reclaimed
 * (we were evicted).
 */
int zc_consumer_release (zc_consumer_t * consumer, zc_frame_t * frame);

/**
 * zc_consumer_verify:
 * @consumer: a consumer
 * @frame: a frame we hold
 * @timeout_ns: how long to wait for the answer (< 0: 1 s)
 *
 * Asks the channel's duty holder (the producer, normally) over the
 * MessageRing to check the frame's CRC32C (L2; the producer must have
 * @crc on).  A mismatch trips the pool's circuit breaker and is broadcast
 * to every participant (GUARD_TRIP).  Call from the receiving thread.
 *
 * Returns: 0 when the data is intact, ZC_ECRC, -ENODATA (published without
 * a CRC), -ETIMEDOUT, or a negative code.
 */
int zc_consumer_verify (zc_consumer_t * consumer, const zc_frame_t * frame,
    int64_t timeout_ns);

/**
 * zc_consumer_request_blocks:
 * @consumer: an attached consumer
 * @n_blocks: pool size wanted (the producer grants up to 1024)
 *
 * Asks the producer over the MessageRing (SCALE_REQUEST) for a larger
 * pool, e.g. because this consumer must hold more frames at once than the
 * pool allows.  The producer starts a new pool generation with its next
 * frame; the consumer follows as with any generation change.
 *
 * Returns: 0 when sent, -ENOTCONN, -EAGAIN (ring busy: try again).
 */
int zc_consumer_request_blocks (zc_consumer_t * consumer, uint32_t n_blocks);

/**
 * zc_consumer_keepalive:
 * @consumer: a consumer
 *
 * Shows life to the producer without receiving, for an application that
 * stops calling zc_consumer_receive() on purpose for longer than the
 * producer's heartbeat timeout (a paused pipeline): without it, the
 * producer evicts the consumer as hung.  Safe to call from any thread,
 * also while another one receives.  It keeps the frames coming into the
 * queue, not out of it: in `drop` policy frames the consumer does not
 * take are missed; in `block` policy a consumer at its limit that keeps
 * the producer waiting for longer than the heartbeat timeout is evicted
 * all the same (a stall, whatever the heartbeat says).
 *
 * Returns: nanoseconds until the next call is due (a quarter of the
 * producer's heartbeat timeout; 100 ms while no producer is attached).
 */
uint64_t zc_consumer_keepalive (zc_consumer_t * consumer);

/**
 * zc_consumer_cancel:
 * @consumer: a consumer
 * @cancel: true: a receive in progress or to come returns -ECANCELED until
 * it is called again with false (GstBaseSrc unlock / unlock_stop)
 */
void zc_consumer_cancel (zc_consumer_t * consumer, bool cancel);

/**
 * zc_consumer_fd:
 * @consumer: a consumer
 *
 * Returns: a descriptor that polls readable when zc_consumer_receive()
 * has something, after it returned -EAGAIN once (that return arms it).
 * The doorbell behind it is the channel's, so it may also wake for a
 * frame that went to another consumer (and once after attaching): receive
 * then says -EAGAIN again.
 */
int zc_consumer_fd (const zc_consumer_t * consumer);

/**
 * zc_consumer_get_stats:
 * @consumer: a consumer
 * @stats: (out): the channel's counters, as shared memory shows them
 *
 * Returns: 0, or -ENOTCONN when not attached.
 */
int zc_consumer_get_stats (zc_consumer_t * consumer,
    zc_channel_stats_t * stats);

/**
 * zc_consumer_drops:
 * @consumer: a consumer
 *
 * The frames the producer could not queue for us (drop policy, our queue
 * full), as the current generation's queue counts them: the figure
 * zc_consumer_get_stats() gives for our slot, read from our queue alone,
 * cheap enough for every frame.  Same thread as zc_consumer_receive().
 *
 * Returns: the count, or 0 when not attached.
 */
uint64_t zc_consumer_drops (const zc_consumer_t * consumer);

/**
 * zc_consumer_last_error:
 * @consumer: a consumer
 *
 * Returns: the producer's reason for the last refusal or disconnect, or "".
 */
const char *zc_consumer_last_error (const zc_consumer_t * consumer);

/** zc_consumer_slot: Returns: our participant slot, or -1 when detached. */
int zc_consumer_slot (const zc_consumer_t * consumer);

#ifdef __cplusplus
}
#endif
#endif /* ZC_CONSUMER_H */

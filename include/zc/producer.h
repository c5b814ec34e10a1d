/* gst-zerocopy core library: the producer end of a channel.
 *
 * A producer creates a channel by name: a region (segment with heartbeat
 * slots, a block pool, one descriptor queue per consumer and the
 * MessageRing) and a control socket where consumers attach.  It then
 * acquires blocks, fills them and publishes each to every attached
 * consumer: a descriptor in each consumer's queue, no copy, no system call
 * unless a consumer sleeps.
 *
 * A control thread inside the producer answers the socket: handshakes
 * (version, peer credentials, name), consumers leaving or crashing (their
 * references go back to the pool at once), consumers that stopped showing
 * life for the heartbeat timeout (evicted, in every policy).
 *
 * Threads: acquire may run in one thread while another publishes (a
 * GstBufferPool upstream of a sink); publish, set_format, set_sticky,
 * resize and send_eos from one thread at a time; discard, release,
 * set_flushing and get_stats from any.
 */
#ifndef ZC_PRODUCER_H
#define ZC_PRODUCER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <zc/channel.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Why the consumer callback is called. */
typedef enum zc_consumer_change
{
  ZC_CONSUMER_ATTACHED = 1,
  ZC_CONSUMER_LEFT = 2,         /**< closed, or its process died */
  ZC_CONSUMER_EVICTED = 3,      /**< stalled past the heartbeat timeout */
} zc_consumer_change_t;

/** Producer settings; start from zc_producer_config_init(). */
typedef struct zc_producer_config
{
  const char *name;             /**< channel name, or NULL with @socket_path */
  const char *socket_path;      /**< explicit control socket, or NULL */
  uint64_t block_size;          /**< user bytes per block */
  uint32_t n_blocks;            /**< blocks in the pool */
  uint32_t max_consumers;       /**< 1 to ZC_CHANNEL_MAX_CONSUMERS */
  zc_policy_t policy;
  uint32_t permissions;         /**< ZC_PERMIT_* beyond the same user */
  uint32_t default_limit;       /**< held + queued per consumer, if it asks none */
  bool crc;                     /**< write CRC32C at publish (L2) */
  uint64_t heartbeat_timeout_ns;        /**< eviction after this much silence */
  /** Called from the control thread; may be NULL. */
  void (*consumer_changed) (void *user_data, zc_consumer_change_t change,
      unsigned slot, pid_t pid);
  void *user_data;
} zc_producer_config_t;

typedef struct zc_producer zc_producer_t;

/**
 * zc_producer_config_init:
 * @config: (out): defaults: 16 blocks of 4096 bytes, 32 consumers, block
 * policy, same user only, limit 4, no CRC, 2 s heartbeat timeout.
 */
void zc_producer_config_init (zc_producer_config_t * config);

/**
 * zc_producer_new:
 * @config: settings (copied)
 * @out: (out): the producer, listening
 *
 * Returns: 0, -EINVAL for a bad name or setting, -EADDRINUSE when a live
 * producer already owns the channel, -EFBIG, or a negative errno.
 */
int zc_producer_new (const zc_producer_config_t * config,
    zc_producer_t ** out);

/**
 * zc_producer_free:
 * @producer: (nullable): a producer
 *
 * Tells every consumer goodbye, removes the socket file and unmaps.
 * Blocks still held by consumers stay valid for them.
 */
void zc_producer_free (zc_producer_t * producer);

/**
 * zc_producer_set_format:
 * @producer: a producer
 * @format: opaque bytes (caps for GStreamer), up to 60000
 * @size: their length
 *
 * Sent to every consumer in order with the frames, and first thing to
 * consumers that attach later.
 *
 * Returns: 0, -EINVAL or -EMSGSIZE.
 */
int zc_producer_set_format (zc_producer_t * producer, const void *format,
    size_t size);

/**
 * zc_producer_set_sticky:
 * @producer: a producer
 * @id: which sticky blob (a later one with the same id replaces it)
 * @data: opaque bytes, up to 60000
 * @size: their length; 0 removes the blob
 *
 * Like set_format, for sticky events (stream-start, segment, tags).
 *
 * Returns: 0, -EINVAL, -EMSGSIZE or -ENOSPC (more than 32 blobs).
 */
int zc_producer_set_sticky (zc_producer_t * producer, uint32_t id,
    const void *data, size_t size);

/**
 * zc_producer_resize:
 * @producer: a producer
 * @block_size: new user bytes per block
 * @n_blocks: new block count, or 0 to keep it
 *
 * Starts a new pool generation.  Consumers follow after the frames they
 * already have queued; old blocks drain as they are released.
 *
 * Returns: 0 or a negative code; on failure the old pool stays.
 */
int zc_producer_resize (zc_producer_t * producer, uint64_t block_size,
    uint32_t n_blocks);

/**
 * zc_producer_acquire:
 * @producer: a producer
 * @frame: (out): a writable block
 * @timeout_ns: < 0 forever, 0 try once, else how long
 *
 * In the drop policy a full pool first takes back frames consumers have
 * not picked up yet (the oldest first) before it waits.
 *
 * Returns: 0, -EAGAIN, -ETIMEDOUT, -ECANCELED (see zc_producer_set_flushing),
 * ZC_ETRIPPED.
 */
int zc_producer_acquire (zc_producer_t * producer, zc_frame_t * frame,
    int64_t timeout_ns);

/**
 * zc_producer_publish:
 * @producer: a producer
 * @frame: an acquired frame; desc.size, timestamps, offsets, flags and
 * meta set by the caller
 * @timeout_ns: block policy: longest wait for a slow consumer (< 0 forever)
 *
 * Hands the frame to every attached consumer and lets go of it.  The
 * frame is consumed whatever the result.
 *
 * Returns: the number of consumers that got it (0 for a frame acquired
 * before a resize: its generation has no readers any more), -EINVAL
 * (size above capacity, meta too long), or -ETIMEDOUT when a consumer
 * stayed full past @timeout_ns (those that got it keep it).
 */
int zc_producer_publish (zc_producer_t * producer, zc_frame_t * frame,
    int64_t timeout_ns);

/**
 * zc_producer_publish_keep:
 * @producer: a producer
 * @frame: as zc_producer_publish()
 * @timeout_ns: as zc_producer_publish()
 *
 * Like zc_producer_publish(), but the producer keeps its own (now
 * read-only) reference: the block cannot go back to the pool while this
 * process still reads it (a GstMemory in a tee branch, say).  Drop it with
 * zc_producer_release().  On -EINVAL the frame is consumed.
 *
 * Returns: as zc_producer_publish().
 */
int zc_producer_publish_keep (zc_producer_t * producer, zc_frame_t * frame,
    int64_t timeout_ns);

/**
 * zc_producer_release:
 * @producer: a producer
 * @frame: a frame published with zc_producer_publish_keep()
 *
 * Drops the producer's reference; the last holder returns the block.
 */
void zc_producer_release (zc_producer_t * producer, zc_frame_t * frame);

/**
 * zc_producer_discard:
 * @producer: a producer
 * @frame: an acquired frame, given back unpublished
 */
void zc_producer_discard (zc_producer_t * producer, zc_frame_t * frame);

/**
 * zc_producer_flush:
 * @producer: a producer
 *
 * Takes back every frame still queued, unread, to each consumer (up to
 * the first control marker in a queue, which keeps its place) and queues
 * a flush event after what remains: each consumer gets ZC_EVENT_FLUSH in
 * order, and drops what it holds downstream (GStreamer: FLUSH_START and
 * FLUSH_STOP after zcsink saw them).
 *
 * Returns: the number of consumers told.
 */
int zc_producer_flush (zc_producer_t * producer);

/**
 * zc_producer_send_eos:
 * @producer: a producer
 *
 * Queues end-of-stream to every consumer, in order after the frames.
 *
 * Returns: the number of consumers told.
 */
int zc_producer_send_eos (zc_producer_t * producer);

/**
 * zc_producer_set_flushing:
 * @producer: a producer
 * @flushing: whether waits in acquire and publish return -ECANCELED
 */
void zc_producer_set_flushing (zc_producer_t * producer, bool flushing);

/**
 * zc_producer_wait_consumers:
 * @producer: a producer
 * @n: consumers to wait for
 * @timeout_ns: < 0 forever
 *
 * Returns: the number attached (>= @n), or -ETIMEDOUT.
 */
int zc_producer_wait_consumers (zc_producer_t * producer, unsigned n,
    int64_t timeout_ns);

/**
 * zc_producer_get_stats:
 * @producer: a producer
 * @stats: (out): current counters
 */
void zc_producer_get_stats (zc_producer_t * producer,
    zc_channel_stats_t * stats);

/** zc_producer_socket_path: Returns: the control socket path in use. */
const char *zc_producer_socket_path (const zc_producer_t * producer);

#ifdef __cplusplus
}
#endif
#endif /* ZC_PRODUCER_H */

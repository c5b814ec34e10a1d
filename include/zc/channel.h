/* gst-zerocopy core library: channels, found by name.
 *
 * A channel is one producer and up to N consumers, found by a name of 1 to
 * 255 characters from [A-Za-z0-9_-].  Its control socket lives in a
 * per-user directory: $XDG_RUNTIME_DIR/zerocopy/, or /tmp/zerocopy-UID/
 * when XDG_RUNTIME_DIR is unset, or at an explicit path the user gives.
 *
 * A Unix socket path holds at most 107 bytes, fewer than the longest name:
 * a name that does not fit is stored as "h-" and a 128-bit hash of it.
 * The handshake carries the full name, so a collision is refused rather
 * than misrouted.
 *
 * This file holds the naming part; the producer and consumer endpoints
 * (handshake, descriptor queues, policies) build on it.
 */
#ifndef ZC_CHANNEL_H
#define ZC_CHANNEL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <zc/guard.h>
#include <zc/pool.h>
#include <zc/queue.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Longest channel name. */
#define ZC_CHANNEL_NAME_MAX 255u
/** Longest socket path, without the NUL (sizeof sun_path - 1). */
#define ZC_SOCKET_PATH_MAX 107u
/** Most consumers of one channel (participant slots minus the producer). */
#define ZC_CHANNEL_MAX_CONSUMERS 63u

/** What the producer does about a consumer at its limit. */
typedef enum zc_policy
{
  /** Lossless: the producer waits until the slowest consumer has room. */
  ZC_POLICY_BLOCK = 0,
  /** Writer first: a consumer at its limit misses the frame (counted). */
  ZC_POLICY_DROP = 1,
} zc_policy_t;

/** Who besides the producer's own user may attach (bit mask). */
#define ZC_PERMIT_GROUP  (1u << 0)  /**< processes of the producer's group */
#define ZC_PERMIT_OTHERS (1u << 1)  /**< any user */

/**
 * zc_frame_t:
 * One block as an endpoint holds it.  A producer fills @data (up to
 * @capacity) and the descriptor's size, timestamps and meta; the library
 * fills block, generation and sequence.  A consumer gets @data mapped
 * read-only (a write faults) and the descriptor as the producer sent it,
 * validated.
 */
typedef struct zc_frame
{
  struct zc_desc desc;
  void *data;
  uint64_t capacity;
  /* private */
  void *priv;                   /* the generation the block belongs to */
  zc_guard_t guard;             /* our reference on the block */
} zc_frame_t;

/** One consumer as any participant sees it in shared memory. */
typedef struct zc_consumer_stats
{
  uint32_t slot;
  int32_t pid;
  uint64_t frames;              /**< frames queued to it */
  uint64_t drops;               /**< frames it missed (drop policy) */
  uint64_t revoked;             /**< queued frames taken back unread */
  uint32_t held;                /**< blocks it holds now */
  uint32_t queued;              /**< frames waiting in its queue */
  uint64_t heartbeat_age_ns;    /**< time since it last showed life */
} zc_consumer_stats_t;

/** A channel's counters, read from shared memory. */
typedef struct zc_channel_stats
{
  uint32_t generation;          /**< current pool generation */
  uint32_t n_consumers;
  zc_pool_stats_t pool;         /**< occupancy of the current pool */
  int32_t duty_slot;            /**< MessageRing duty holder, -1 none */
  uint64_t duty_token;          /**< bumped at every change of holder */
  uint64_t ring_reclaims;       /**< participants the duty holders reclaimed */
  uint64_t ring_crc_verifies;   /**< CRC checks the duty holders ran */
  uint64_t ring_owner_changes;  /**< duty take-overs and hand-overs */
  zc_consumer_stats_t consumers[ZC_CHANNEL_MAX_CONSUMERS];
} zc_channel_stats_t;

/**
 * zc_channel_name_validate:
 * @name: a channel name from the user (untrusted)
 *
 * Returns: 0 if @name is 1 to ZC_CHANNEL_NAME_MAX characters of
 * [A-Za-z0-9_-], -EINVAL otherwise (NULL included).
 */
int zc_channel_name_validate (const char *name);

/**
 * zc_channel_socket_dir:
 * @dir: (out): buffer for the directory path
 * @size: its size
 *
 * Finds, and creates if needed (mode 0700), the per-user socket
 * directory: $XDG_RUNTIME_DIR/zerocopy when XDG_RUNTIME_DIR is an
 * absolute path, else /tmp/zerocopy-UID.  An existing directory is used
 * only if it is a real directory (not a symlink) owned by this user with no
 * access for group or others: /tmp is shared, and another user could have
 * made it first.
 *
 * Returns: 0, -ENAMETOOLONG if @size is too small, -EPERM for a directory
 * that fails the ownership or mode check, or the negative errno of a
 * failing mkdir/lstat.
 */
int zc_channel_socket_dir (char *dir, size_t size);

/**
 * zc_channel_socket_path:
 * @name: a channel name
 * @path: (out): buffer of at least ZC_SOCKET_PATH_MAX + 1 bytes
 * @size: its size
 *
 * The control socket path of channel @name in zc_channel_socket_dir():
 * DIR/NAME.sock when it fits in a socket address, else DIR/h-HASH.sock.
 *
 * Returns: 0, -EINVAL for a bad name, -ENAMETOOLONG when even the hashed
 * form does not fit (a very long directory), or a zc_channel_socket_dir()
 * error.
 */
int zc_channel_socket_path (const char *name, char *path, size_t size);

/**
 * zc_channel_listen:
 * @path: socket path (from zc_channel_socket_path() or the user)
 * @fd: (out): a listening SOCK_SEQPACKET socket, close-on-exec
 *
 * Binds the control socket of a producer.  A socket file left by a
 * crashed producer refuses connections (ECONNREFUSED): it is replaced
 * under the same name, so a restart never needs cleaning up by hand.  A
 * file that accepts belongs to a live producer and is left alone.
 *
 * Returns: 0, -EADDRINUSE when a live producer owns @path,
 * -ENAMETOOLONG for a path longer than ZC_SOCKET_PATH_MAX, or a negative
 * errno.
 */
int zc_channel_listen (const char *path, int *fd);

/**
 * zc_channel_connect:
 * @path: socket path
 * @fd: (out): a connected SOCK_SEQPACKET socket, close-on-exec
 *
 * Returns: 0, -ENOENT or -ECONNREFUSED when no producer is there (yet),
 * -ENAMETOOLONG, or a negative errno.
 */
int zc_channel_connect (const char *path, int *fd);

#ifdef __cplusplus
}
#endif
#endif /* ZC_CHANNEL_H */

/* gst-zerocopy core library: what the producer and consumer ends share.
 * Internal to libzc. */
#ifndef ZC_ENDPOINT_H
#define ZC_ENDPOINT_H

#include <zc/channel.h>
#include <zc/region.h>

/* The producer's participant slot in every generation; consumers get
 * 1..max_consumers. */
#define ZC_PRODUCER_SLOT 0u
/* Queue entries kept free of frames for control markers and EOS: a
 * consumer's limit never goes above this. */
#define ZC_LIMIT_MAX (ZC_QUEUE_DEPTH - 8u)
/* Longest wait for the rest of a handshake or a control message whose
 * marker was seen: both are already sent when we wait. */
#define ZC_CONTROL_TIMEOUT_MS 2000

/* Fills @stats from the shared memory of @region (any participant). */
void zc_endpoint_fill_stats (zc_region_t * region, uint32_t generation,
    zc_channel_stats_t * stats);

/* The socket path for a name or an explicit path, into @path. */
int zc_endpoint_socket_path (const char *name, const char *socket_path,
    char *path, size_t size);

/* Takes an exclusive flock on directory @dir; returns its fd (closing it
 * unlocks) or a negative errno.  Socket files in @dir are replaced or
 * removed only under it. */
int zc_endpoint_lock_dir (const char *dir);

/* The directory part of @path ("." when it has none). */
int zc_endpoint_parent_dir (const char *path, char *dir, size_t size);

#endif /* ZC_ENDPOINT_H */

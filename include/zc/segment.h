/* gst-zerocopy core library: shared segments.
 *
 * A segment is the shared memory of one channel (or one pool generation).
 * It is made of two anonymous memory files (memfd_create), never a name in
 * /dev/shm, so nothing can be left behind whatever crashes:
 *
 *   meta  small, read-write for every participant: headers, heartbeats,
 *         block state words and reference records, queues.
 *   data  the block payloads, read-write for the creator only.  Peers are
 *         handed a descriptor reopened O_RDONLY, so the kernel, not a
 *         convention, refuses a writable mapping: a buggy reader cannot
 *         scribble over frames that others see.
 *
 * Both files are sized once and sealed (F_SEAL_SHRINK | F_SEAL_GROW |
 * F_SEAL_SEAL): no peer can truncate them under another's mapping and turn
 * its reads into SIGBUS.  An opener refuses a file without these seals.
 *
 * Segments travel between processes only as file descriptors over a Unix
 * socket (SCM_RIGHTS): zc_segment_send_fds() / zc_segment_recv_fds().
 */
#ifndef ZC_SEGMENT_H
#define ZC_SEGMENT_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Largest segment (meta + data) libzc creates or opens: 1 GiB. */
#define ZC_SEGMENT_MAX_SIZE (UINT64_C (1) << 30)

/** Process-local handle on a mapped segment.  Opaque. */
typedef struct zc_segment zc_segment_t;

/**
 * zc_segment_create:
 * @debug_name: name shown in /proc/PID/fd (not a path); may be NULL
 * @meta_size: bytes of the read-write metadata file, > 0
 * @data_size: bytes of the data file, may be 0
 * @out: (out): the new segment, mapped read-write
 *
 * Creates, sizes, seals and maps both memory files.  The contents are zero.
 *
 * Returns: 0, -EINVAL for a zero @meta_size, -EFBIG when the sum is above
 * %ZC_SEGMENT_MAX_SIZE, or the negative errno of the failing system call.
 */
int zc_segment_create (const char *debug_name, uint64_t meta_size,
    uint64_t data_size, zc_segment_t ** out);

/**
 * zc_segment_open:
 * @meta_fd: descriptor of a metadata file (must be open read-write)
 * @data_fd: descriptor of a data file, or -1 when there is no data file
 * @out: (out): the mapped segment
 *
 * Maps a segment received from another process.  The descriptors are
 * duplicated, the caller keeps its own.  The data file is mapped writable
 * only when @data_fd was opened O_RDWR.  Sizes come from fstat(), never
 * from the peer; both files must carry the resize seals.
 *
 * Returns: 0, ZC_ESEALS for an unsealed file, -EFBIG for an oversized one,
 * -EINVAL for a descriptor that is not a readable memory file, or a
 * negative errno.
 */
int zc_segment_open (int meta_fd, int data_fd, zc_segment_t ** out);

/**
 * zc_segment_close:
 * @seg: (nullable): a segment
 *
 * Unmaps and closes this process's view.  The memory itself lives until the
 * last process holding a descriptor or mapping lets go.
 */
void zc_segment_close (zc_segment_t * seg);

/** zc_segment_meta: Returns: the read-write metadata mapping. */
void *zc_segment_meta (const zc_segment_t * seg);
/** zc_segment_meta_size: Returns: the metadata size in bytes. */
uint64_t zc_segment_meta_size (const zc_segment_t * seg);
/** zc_segment_data: Returns: the data mapping (read-only unless
 * zc_segment_data_writable()), or NULL when the data file is empty. */
void *zc_segment_data (const zc_segment_t * seg);
/** zc_segment_data_size: Returns: the data size in bytes. */
uint64_t zc_segment_data_size (const zc_segment_t * seg);
/** zc_segment_data_writable: Returns: whether this process may write data. */
bool zc_segment_data_writable (const zc_segment_t * seg);

/**
 * zc_segment_reader_fds:
 * @seg: a segment
 * @meta_fd: (out): a new read-write descriptor of the metadata file
 * @data_fd: (out): a new descriptor of the data file, opened read-only, or
 *   -1 when the segment has no data
 *
 * Makes the descriptors to hand to a reader.  The data descriptor is
 * reopened through /proc/self/fd with O_RDONLY, so the kernel refuses any
 * PROT_WRITE mapping of it.  The caller closes both (O_CLOEXEC is set).
 *
 * Returns: 0 or a negative errno.
 */
int zc_segment_reader_fds (const zc_segment_t * seg, int *meta_fd,
    int *data_fd);

/**
 * zc_segment_writer_fds:
 * @seg: a segment whose data this process may write
 * @meta_fd: (out): a new read-write descriptor of the metadata file
 * @data_fd: (out): a new read-write descriptor of the data file, or -1
 *
 * Makes the descriptors to hand to another writer of the same pool (a
 * trusted peer: it can write every block).  The caller closes both.
 *
 * Returns: 0, ZC_EREADONLY when this process cannot write the data, or a
 * negative errno.
 */
int zc_segment_writer_fds (const zc_segment_t * seg, int *meta_fd,
    int *data_fd);

/**
 * zc_segment_send_fds:
 * @sock: a connected Unix stream or seqpacket socket
 * @meta_fd: metadata descriptor to pass
 * @data_fd: data descriptor to pass, or -1
 *
 * Sends both descriptors in one SCM_RIGHTS message with a small fixed
 * payload that zc_segment_recv_fds() checks.
 *
 * Returns: 0 or a negative errno.
 */
int zc_segment_send_fds (int sock, int meta_fd, int data_fd);

/**
 * zc_segment_recv_fds:
 * @sock: a connected Unix socket
 * @timeout_ms: how long to wait, -1 forever
 * @meta_fd: (out): received metadata descriptor
 * @data_fd: (out): received data descriptor or -1
 *
 * Receives what zc_segment_send_fds() sent.  Anything else (no or too many
 * descriptors, a wrong payload, a truncated message) is refused with every
 * received descriptor closed.
 *
 * Returns: 0, -ETIMEDOUT, -EPROTO for a malformed message, -ECONNRESET if the
 * peer hung up, or a negative errno.
 */
int zc_segment_recv_fds (int sock, int timeout_ms, int *meta_fd,
    int *data_fd);

#ifdef __cplusplus
}
#endif
#endif /* ZC_SEGMENT_H */

/* gst-zerocopy core library: the channel control protocol on the wire.
 *
 * Internal to libzc.  One SOCK_SEQPACKET datagram per message, so message
 * boundaries come from the kernel; every message starts with the fixed
 * header below and is checked against the exact length its type allows
 * before a single field is used.  Descriptors travel as SCM_RIGHTS with
 * the count fixed per type; a message with any other count is refused
 * and every descriptor it brought is closed.
 *
 *   consumer                               producer
 *   HELLO (version, name, max_held)  -->    SO_PEERCRED check, name check
 *                                   <--    WELCOME (slot, generation, limit,
 *                                            heartbeat timeout) + meta/data
 *                                            fds + the channel's doorbell
 *                                   <--    FORMAT, STICKY...   (ctl_seq n)
 *                                   <--    REFUSE (code, reason) instead
 *   ...frames travel in shared memory (queue.h)...
 *                                   <--    FORMAT / STICKY / GENERATION
 *                                          (+ fds), each announced in order
 *                                          by a marker descriptor in the
 *                                          queue carrying its ctl_seq
 *                                   <--    BYE (producer leaves cleanly)
 *
 * The queue marker is what keeps control messages in order with frames:
 * a consumer reads the socket only up to the ctl_seq a marker names.
 */
#ifndef ZC_WIRE_H
#define ZC_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZC_WIRE_MAGIC UINT32_C (0x4c4e435a)     /* "ZCNL" */
/* Bumped for every incompatible change of anything in this file.
 * 2: the doorbell is the producer's, one per channel, sent in WELCOME. */
#define ZC_WIRE_VERSION 2u
/* Largest datagram either side accepts. */
#define ZC_WIRE_MAX_SIZE 65536u
/* Most descriptors in one message. */
#define ZC_WIRE_MAX_FDS 3u

enum zc_wire_type
{
  ZC_WIRE_HELLO = 1,
  ZC_WIRE_WELCOME = 2,
  ZC_WIRE_REFUSE = 3,
  ZC_WIRE_FORMAT = 4,
  ZC_WIRE_STICKY = 5,
  ZC_WIRE_GENERATION = 6,
  ZC_WIRE_BYE = 7,
};

struct zc_wire_header
{
  uint32_t magic;               /* ZC_WIRE_MAGIC */
  uint16_t version;             /* ZC_WIRE_VERSION */
  uint16_t type;                /* enum zc_wire_type */
  uint32_t length;              /* whole message, header included */
  uint32_t ctl_seq;             /* order of control messages, from 1 */
};
_Static_assert (sizeof (struct zc_wire_header) == 16, "wire ABI");

/* Consumer -> producer, no fd. */
struct zc_wire_hello
{
  struct zc_wire_header h;
  uint32_t max_held;            /* blocks the consumer may hold + have queued */
  uint32_t name_len;            /* 1..255, the channel name follows */
  /* char name[name_len], no NUL */
};
_Static_assert (sizeof (struct zc_wire_hello) == 24, "wire ABI");

/* Producer -> consumer, with 3 fds (meta, data, doorbell): you are in.
 * The doorbell is an eventfd the producer writes when a consumer that
 * announced sleep has something new (queue.h); consumers only watch it. */
struct zc_wire_welcome
{
  struct zc_wire_header h;
  uint32_t slot;                /* participant slot in this generation */
  uint32_t slot_generation;     /* heartbeat slot generation at assignment */
  uint32_t generation;          /* pool generation */
  uint32_t limit;               /* held + queued blocks allowed */
  uint64_t heartbeat_timeout_ns;
  uint32_t n_sticky;            /* STICKY messages that follow the FORMAT */
  uint32_t policy;              /* enum zc_policy */
};
_Static_assert (sizeof (struct zc_wire_welcome) == 48, "wire ABI");

/* GENERATION: same body as WELCOME, with 2 fds of the new region. */

/* Producer -> consumer: refused; the socket closes after it. */
struct zc_wire_refuse
{
  struct zc_wire_header h;
  int32_t code;                 /* negative libzc/errno code */
  uint32_t reason_len;          /* text follows, no NUL */
};
_Static_assert (sizeof (struct zc_wire_refuse) == 24, "wire ABI");

/* FORMAT: header + opaque bytes (the GStreamer layer puts caps there).
 * STICKY: header + uint32 id + opaque bytes. */
struct zc_wire_sticky
{
  struct zc_wire_header h;
  uint32_t id;
  uint32_t reserved;
};
_Static_assert (sizeof (struct zc_wire_sticky) == 24, "wire ABI");

/**
 * zc_wire_send:
 * Sends one message: @body (starting with a zc_wire_header whose magic,
 * version, type and length this fills in) plus @n_fds descriptors.
 * Returns: 0, -EPIPE/-ECONNRESET when the peer is gone, or a negative errno.
 */
int zc_wire_send (int sock, uint16_t type, uint32_t ctl_seq, void *body,
    size_t length, const int *fds, unsigned n_fds);

/**
 * zc_wire_recv:
 * Receives one message into @buf (at least ZC_WIRE_MAX_SIZE bytes) and
 * checks its header: magic, version, length equal to the datagram's.
 * Descriptors land in @fds (-1 filled); the caller checks the count for
 * the type and closes them.  Anything malformed is refused with every
 * descriptor closed.
 * Returns: the message length, -EAGAIN (nothing yet, non-blocking),
 * -ETIMEDOUT, -ECONNRESET (peer gone, orderly or not), -EPROTO (malformed),
 * ZC_EVERSION, or a negative errno.
 */
int zc_wire_recv (int sock, int timeout_ms, void *buf, size_t size,
    int fds[ZC_WIRE_MAX_FDS], unsigned *n_fds);

/* Closes the descriptors zc_wire_recv() returned and resets them to -1. */
void zc_wire_close_fds (int fds[ZC_WIRE_MAX_FDS], unsigned *n_fds);

/* Whether @fd is an eventfd (what a doorbell must be: a pipe or a socket
 * in its place could be kept readable, or block the side that writes). */
bool zc_wire_is_eventfd (int fd);

#endif /* ZC_WIRE_H */

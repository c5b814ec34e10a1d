/* What the MessageRing tests share: rings in zeroed shared memory (a
 * memfd a peer process can inherit), messages, a handler that logs what
 * each node handled, a pump that polls every member until the ring is
 * quiet, a check of the ring's links, and peers: this binary re-executed
 * with "--peer ROLE FD".
 *
 * Used by test-msgring.c (messages, routing, nested rings),
 * test-msgring-duty.c (the duty holder's hand-over) and
 * test-msgring-stress.c (threads, a sender killed mid-send, a fuzz).
 * Helpers fail the running test (ZC_CHECK) rather than return an error.
 */
#ifndef MSGRING_HARNESS_H
#define MSGRING_HARNESS_H

#include <stdint.h>
#include <sys/types.h>

#include <zc/msgring.h>

#define MS INT64_C (1000000)
#define SECOND INT64_C (1000000000)
#define TIMEOUT (100 * MS)

/* What record() saw: every message, the slot that handled it, and a
 * count per slot. */
typedef struct
{
  int n;
  int at[ZC_MSGRING_MAX_NODES];         /* handled per slot */
  unsigned slot[256];
  zc_msg_t msgs[256];
} msg_log;

/* A zc_msgring_poll() handler that appends to the msg_log @data. */
void record (zc_msgring_t * ring, unsigned slot, const zc_msg_t * msg,
    void *data);

/* Zeroed memory shared with children; *fd (if asked) passes it on exec. */
void *shared_mem (uint64_t size, int *fd);

/* A ring of @n_nodes nodes (mailboxes of 256 payload bytes, duty timeout
 * TIMEOUT) in shared memory, the slots in the mask @members joined. */
zc_msgring_t make_ring (unsigned n_nodes, uint64_t members);

/* A message of @type and @flags to @dst_slot (-1: broadcast). */
zc_msg_t message (uint16_t type, uint16_t flags, int dst_slot);

/* Messages waiting in every mailbox of @ring. */
int total_pending (zc_msgring_t * ring);

/* Polls every member until no mailbox holds anything. */
void pump (zc_msgring_t * ring, uint64_t now, msg_log * log);

/* next(prev(s)) == s for every member, and next visits all of them. */
void check_links (zc_msgring_t * ring);

/* Starts this binary as a peer of role @role ("--peer ROLE FD"), handing
 * it the descriptor @fd; the peer dies with the test. */
pid_t spawn_peer (const char *role, int fd);

#endif /* MSGRING_HARNESS_H */

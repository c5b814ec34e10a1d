/* What the handshake tests share: a private XDG_RUNTIME_DIR and channel
 * name per test, a producer and consumers in the test process, frames
 * checked byte by byte, and descriptor counts.
 *
 * Used by test-handshake.c (who is admitted), test-handshake-hostile.c
 * (hostile clients) and test-handshake-doorbell.c (the consumer's wake-ups).
 * Every helper fails the running test (ZC_FAIL) rather than return an error.
 */
#ifndef HANDSHAKE_HARNESS_H
#define HANDSHAKE_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include <zc/zc.h>

#define SECOND INT64_C (1000000000)
/* Generous: anything the producer does here takes milliseconds. */
#define DEADLINE_S 10
#define FRAME_SIZE 1000u
#define N_ELEMENTS(a) (sizeof (a) / sizeof ((a)[0]))

/* The test's XDG_RUNTIME_DIR and channel name, set by setup(). */
extern char runtime_dir[64];
extern char channel[64];

void nap_ms (int ms);

/* A fresh XDG_RUNTIME_DIR and a channel name no other test uses. */
void setup (const char *what);

/* Entries in the directory @path, "." and ".." aside (0 if none). */
int dir_entries (const char *path);

/* Frees @p and checks it left nothing in the socket directory. */
void finish (zc_producer_t * p);

/* Descriptors open in this process. */
int count_fds (void);

/* Waits (up to the deadline) for count_fds() to come back to @expected. */
void check_fds_back_to (int expected);

unsigned n_consumers (zc_producer_t * p);

/* Waits (up to the deadline) for @p to have @n consumers. */
void wait_n_consumers (zc_producer_t * p, unsigned n);

/* A producer of @name (or at @path) that never evicts for lack of
 * heartbeats. */
zc_producer_t *make_producer (const char *name, const char *path,
    unsigned max_consumers, uint32_t permissions);

/* setup(), and a producer of the channel. */
zc_producer_t *start (const char *what);

/* Publishes frame @n once @n_expected consumers are attached. */
void publish_one (zc_producer_t * p, unsigned n_expected, uint64_t n);

zc_consumer_t *make_consumer (const char *name, const char *path);

/* Receives frame @n, checks it byte by byte and gives it back. */
void receive_frame (zc_consumer_t * c, uint64_t n);

/* A well-behaved consumer attaches, gets a frame whole and leaves: the
 * producer survived whatever came before. */
void check_serves_a_frame (zc_producer_t * p, const char *name);

#endif /* HANDSHAKE_HARNESS_H */

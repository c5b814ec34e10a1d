/* What the endpoint tests share: a private XDG_RUNTIME_DIR per test, peers
 * that are this binary re-executed with a role (peer_main), and a producer
 * in the test process publishing frame-pattern.h's checkable frames.
 *
 * Used by test-endpoints.c (the stream between live endpoints) and
 * test-endpoints-liveness.c (endpoints that die, stall, pause or hang).
 * Every helper fails the running test (ZC_FAIL) rather than return an error.
 */
#ifndef ENDPOINTS_HARNESS_H
#define ENDPOINTS_HARNESS_H

#include <stdint.h>
#include <sys/types.h>

#include <zc/zc.h>

#define MS 1000000ll
#define SEC 1000000000ll

/* Polls @cond every millisecond until it holds or @timeout_ms passes
 * (needs zc-test.h). */
#define WAIT_FOR(cond, timeout_ms) do { \
    uint64_t _end = zc_now_ns () + (uint64_t) (timeout_ms) * MS; \
    while (!(cond)) { \
      if (zc_now_ns () > _end) \
        ZC_FAIL ("timed out waiting for %s", #cond); \
      usleep (1000); \
    } } while (0)

/* The socket directory of the test's runtime dir. */
extern char sock_dir[128];

/* A private runtime dir, so the socket directory is ours to inspect. */
void private_runtime_dir (void);

/* Entries of @dir, "." and ".." and other software's /dev/shm names
 * aside (0 if there is no @dir). */
int count_entries (const char *dir);

int count_shm (void);

/* Every test ends here: the socket directory must be empty, then it and
 * the runtime dir go. */
void leave_nothing_behind (void);

/* Starts this binary as a peer of role @role (see peer_main) on channel
 * @name; the read end of its report pipe goes to @result (if not NULL). */
pid_t spawn (const char *role, const char *name, uint64_t arg, int *result);

/* Reads one 8-byte report from a peer, within @timeout_ms. */
uint64_t read_report (int fd, int timeout_ms);

void expect_exit_ok (pid_t pid, int timeout_s);

zc_producer_t *make_producer (const char *name, zc_policy_t policy,
    uint64_t size, uint32_t blocks, uint64_t heartbeat_ns);

/* A consumer in this process, attached. */
zc_consumer_t *local_consumer (const char *name);

/* Publishes frame number @n of @size bytes. */
int publish (zc_producer_t * p, uint64_t n, uint64_t size, int64_t timeout);

unsigned pool_free (zc_producer_t * p);
/* Consumers attached, as the producer's stats count them. */
unsigned n_consumers (zc_producer_t * p);

/* The peer's side, for main() on "--peer ROLE NAME ARG FD": runs @role
 * against channel @name, writing its reports to @fd; returns the exit
 * status. */
int peer_main (const char *role, const char *name, uint64_t arg, int fd);

#endif /* ENDPOINTS_HARNESS_H */

/* Helpers shared by the MessageRing tests (see msgring-harness.h): rings
 * in shared memory, messages, the pump and the peers.
 */
#include <sys/mman.h>
#include <sys/prctl.h>

#include <zc/msgring.h>

#include "zc-test.h"
#include "msgring-harness.h"

void
record (zc_msgring_t * ring, unsigned slot, const zc_msg_t * msg, void *data)
{
  msg_log *log = data;
  (void) ring;
  if (log->n < 256) {
    log->slot[log->n] = slot;
    log->msgs[log->n] = *msg;
  }
  log->n++;
  log->at[slot]++;
}

/* Zeroed memory shared with children; *fd (if asked) passes it on exec. */
void *
shared_mem (uint64_t size, int *fd)
{
  int f = memfd_create ("test-msgring", 0);
  ZC_CHECK (f >= 0);
  ZC_CHECK_OK (ftruncate (f, (off_t) size));
  void *p = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0);
  ZC_CHECK (p != MAP_FAILED);
  if (fd)
    *fd = f;
  else
    close (f);
  return p;
}

zc_msgring_t
make_ring (unsigned n_nodes, uint64_t members)
{
  zc_msgring_t ring;
  uint64_t size = zc_msgring_footprint (n_nodes, 256);
  ZC_CHECK_OK (zc_msgring_construct (&ring, shared_mem (size, NULL), size,
          n_nodes, 256, TIMEOUT));
  for (unsigned s = 0; s < n_nodes; s++)
    if (members & (UINT64_C (1) << s))
      ZC_CHECK_OK (zc_msgring_join (&ring, s));
  return ring;
}

zc_msg_t
message (uint16_t type, uint16_t flags, int dst_slot)
{
  zc_msg_t m;
  memset (&m, 0, sizeof (m));
  m.type = type;
  m.flags = flags;
  m.dst = (uint8_t) (dst_slot + 1);     /* -1: broadcast */
  return m;
}

int
total_pending (zc_msgring_t * ring)
{
  int n = 0;
  for (unsigned s = 0; s < ring->n_nodes; s++)
    n += zc_msgring_pending (ring, s);
  return n;
}

/* Polls every member until no mailbox holds anything. */
void
pump (zc_msgring_t * ring, uint64_t now, msg_log * log)
{
  for (int round = 0; round < 256; round++) {
    uint64_t m = zc_msgring_members (ring);
    for (unsigned s = 0; s < ring->n_nodes; s++)
      if (m & (UINT64_C (1) << s))
        ZC_CHECK_OK (zc_msgring_poll (ring, s, now, record, log));
    if (total_pending (ring) == 0)
      return;
  }
  ZC_FAIL ("ring never went quiet");
}

/* next(prev(s)) == s for every member, and next visits all of them. */
void
check_links (zc_msgring_t * ring)
{
  uint64_t m = zc_msgring_members (ring), seen = 0;
  unsigned s = (unsigned) __builtin_ctzll (m), prev, next, p2, n2;
  for (int i = 0; i < __builtin_popcountll (m); i++) {
    ZC_CHECK_OK (zc_msgring_links (ring, s, &prev, &next));
    ZC_CHECK (m & (UINT64_C (1) << next));
    ZC_CHECK_OK (zc_msgring_links (ring, next, &p2, &n2));
    ZC_CHECK_EQ (p2, s);
    seen |= UINT64_C (1) << s;
    s = next;
  }
  ZC_CHECK_EQ (seen, m);
  ZC_CHECK_EQ (s, (unsigned) __builtin_ctzll (m));
}

pid_t
spawn_peer (const char *role, int fd)
{
  pid_t pid = fork ();
  ZC_CHECK (pid >= 0);
  if (pid == 0) {
    char a[16];
    /* A failed test must not leave its peers running. */
    prctl (PR_SET_PDEATHSIG, SIGKILL);
    snprintf (a, sizeof (a), "%d", fd);
    execl (zc_test_self (), zc_test_self (), "--peer", role, a, (char *) NULL);
    _exit (127);
  }
  return pid;
}

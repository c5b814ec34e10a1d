/* Tests of the MessageRing (msgring.h): routing (TC-RING-1), the duty
 * holder's hand-over between real processes (TC-RING-2), nested rings
 * (TC-RING-3), concurrency, crash safety of mailboxes and a fuzz of the
 * whole component.  Peers are this binary re-executed with "--peer". */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include <zc/heartbeat.h>
#include <zc/msgring.h>

#include "zc-test.h"

#define MS INT64_C (1000000)
#define SECOND INT64_C (1000000000)
#define TIMEOUT (100 * MS)

typedef struct
{
  int n;
  int at[ZC_MSGRING_MAX_NODES];         /* handled per slot */
  unsigned slot[256];
  zc_msg_t msgs[256];
} msg_log;

static void
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
static void *
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

static zc_msgring_t
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

static zc_msg_t
message (uint16_t type, uint16_t flags, int dst_slot)
{
  zc_msg_t m;
  memset (&m, 0, sizeof (m));
  m.type = type;
  m.flags = flags;
  m.dst = (uint8_t) (dst_slot + 1);     /* -1: broadcast */
  return m;
}

static int
total_pending (zc_msgring_t * ring)
{
  int n = 0;
  for (unsigned s = 0; s < ring->n_nodes; s++)
    n += zc_msgring_pending (ring, s);
  return n;
}

/* Polls every member until no mailbox holds anything. */
static void
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
static void
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

static void
test_TC_RING_1_uni_routing_takes_shorter_way (void)
{
  zc_msgring_t ring = make_ring (8, 0xff);
  msg_log log = { 0 };
  uint64_t now = zc_now_ns ();
  zc_msg_t m = message (ZC_MSG_SCALE_REQUEST, ZC_MSG_UNI, 2);

  ZC_CHECK_OK (zc_msgring_send (&ring, 0, &m));
  ZC_CHECK_EQ (m.src, 0);
  ZC_CHECK_EQ (zc_msgring_pending (&ring, 1), 1);
  ZC_CHECK_EQ (zc_msgring_pending (&ring, 7), 0);
  pump (&ring, now, &log);
  ZC_CHECK_EQ (log.n, 1);
  ZC_CHECK_EQ (log.slot[0], 2);

  m = message (ZC_MSG_SCALE_REQUEST, ZC_MSG_UNI, 6);
  ZC_CHECK_OK (zc_msgring_send (&ring, 0, &m));
  ZC_CHECK_EQ (zc_msgring_pending (&ring, 7), 1);
  ZC_CHECK_EQ (zc_msgring_pending (&ring, 1), 0);
  pump (&ring, now, &log);
  ZC_CHECK_EQ (log.n, 2);
  ZC_CHECK_EQ (log.slot[1], 6);

  /* Positions among joined nodes, not slot numbers: members 0 3 5 6. */
  zc_msgring_t sparse = make_ring (8, 0x69);
  m = message (ZC_MSG_SCALE_REQUEST, ZC_MSG_UNI, 6);
  ZC_CHECK_OK (zc_msgring_send (&sparse, 0, &m));
  ZC_CHECK_EQ (zc_msgring_pending (&sparse, 6), 1);
  ZC_CHECK_EQ (zc_msgring_pending (&sparse, 3), 0);
  pump (&sparse, now, &log);
  m = message (ZC_MSG_SCALE_REQUEST, ZC_MSG_UNI, 5);
  ZC_CHECK_OK (zc_msgring_send (&sparse, 0, &m));
  ZC_CHECK_EQ (zc_msgring_pending (&sparse, 3), 1);     /* a tie goes next */
  ZC_CHECK_EQ (zc_msgring_pending (&sparse, 6), 0);
  pump (&sparse, now, &log);
  ZC_CHECK_EQ (log.n, 4);
  ZC_CHECK_EQ (log.slot[2], 6);
  ZC_CHECK_EQ (log.slot[3], 5);
}

static void
test_TC_RING_1_bidi_reaches_both_ways (void)
{
  zc_msgring_t ring = make_ring (8, 0xff);
  msg_log log = { 0 };
  zc_msg_t m = message (ZC_MSG_CRC_VERIFY_REQUEST, ZC_MSG_BIDI, 4);

  m.arg[0] = 17;
  ZC_CHECK_OK (zc_msgring_send (&ring, 0, &m));
  ZC_CHECK_EQ (zc_msgring_pending (&ring, 1), 1);
  ZC_CHECK_EQ (zc_msgring_pending (&ring, 7), 1);
  pump (&ring, zc_now_ns (), &log);
  ZC_CHECK_EQ (log.n, 1);       /* the second copy is a repeat */
  ZC_CHECK_EQ (log.slot[0], 4);
  ZC_CHECK_EQ (log.msgs[0].arg[0], 17);
}

static void
test_TC_RING_1_broadcast_handled_once_per_node (void)
{
  static const struct
  {
    unsigned n;
    uint64_t members;
    uint16_t flags;
  } cases[] = {
    {8, 0xff, ZC_MSG_BIDI}, {8, 0x7f, ZC_MSG_BIDI}, {8, 0xff, ZC_MSG_UNI},
    {2, 0x3, ZC_MSG_BIDI}, {64, ~UINT64_C (0), ZC_MSG_BIDI},
    {64, 0x8000000000000421, ZC_MSG_BIDI},
  };
  for (unsigned c = 0; c < sizeof (cases) / sizeof (cases[0]); c++) {
    zc_msgring_t ring = make_ring (cases[c].n, cases[c].members);
    msg_log log = { 0 };
    zc_msg_t m = message (ZC_MSG_CLEAN_HINT, cases[c].flags, -1);
    ZC_CHECK_OK (zc_msgring_send (&ring, 0, &m));
    pump (&ring, zc_now_ns (), &log);
    for (unsigned s = 0; s < cases[c].n; s++)
      ZC_CHECK_EQ (log.at[s], (s != 0 && (cases[c].members >> s) & 1));
  }
}

static void
test_TC_RING_1_directed_message_dies_at_dst (void)
{
  zc_msgring_t ring = make_ring (8, 0xff);
  msg_log log = { 0 };
  uint64_t now = zc_now_ns ();
  zc_msg_t m = message (ZC_MSG_SCALE_REQUEST, ZC_MSG_UNI, 2);

  ZC_CHECK_OK (zc_msgring_send (&ring, 0, &m));
  ZC_CHECK_EQ (zc_msgring_poll (&ring, 1, now, record, &log), 0);
  ZC_CHECK_EQ (zc_msgring_pending (&ring, 2), 1);
  ZC_CHECK_EQ (zc_msgring_poll (&ring, 2, now, record, &log), 1);
  ZC_CHECK_EQ (total_pending (&ring), 0);
  ZC_CHECK_EQ (log.at[2], 1);
}

static void
test_TC_RING_1_message_dies_back_at_source (void)
{
  zc_msgring_t ring = make_ring (8, 0x0f);
  msg_log log = { 0 };
  uint64_t now = zc_now_ns ();
  zc_msg_t m = message (ZC_MSG_HEARTBEAT, ZC_MSG_UNI, -1);

  ZC_CHECK_OK (zc_msgring_send (&ring, 0, &m));
  for (unsigned s = 1; s < 4; s++)
    ZC_CHECK_EQ (zc_msgring_poll (&ring, s, now, record, &log), 1);
  ZC_CHECK_EQ (total_pending (&ring), 0);       /* not back into 0 */

  /* For a slot that is not joined: round once, then gone. */
  m = message (ZC_MSG_SCALE_REQUEST, ZC_MSG_BIDI, 6);
  ZC_CHECK_OK (zc_msgring_send (&ring, 0, &m));
  pump (&ring, now, &log);
  ZC_CHECK_EQ (log.n, 3);
}

static void
test_evicting_a_dead_node_sends_its_traffic_on (void)
{
  zc_msgring_t ring = make_ring (4, 0xf);
  msg_log log = { 0 };
  uint64_t now = zc_now_ns ();
  zc_msg_t m = message (ZC_MSG_CLEAN_HINT, ZC_MSG_UNI, -1);

  ZC_CHECK_OK (zc_msgring_send (&ring, 0, &m));
  ZC_CHECK_EQ (zc_msgring_poll (&ring, 1, now, record, &log), 1);
  ZC_CHECK_EQ (zc_msgring_pending (&ring, 2), 1);       /* 2 is "dead" */
  ZC_CHECK_OK (zc_msgring_evict (&ring, 2));
  ZC_CHECK_EQ (zc_msgring_evict (&ring, 2), ZC_ESTATE);
  ZC_CHECK_EQ (zc_msgring_pending (&ring, 2), 0);
  ZC_CHECK_EQ (zc_msgring_pending (&ring, 3), 1);
  pump (&ring, now, &log);
  ZC_CHECK_EQ (log.at[3], 1);
  ZC_CHECK_EQ (log.at[2], 0);
  check_links (&ring);
}

static void
test_TC_RING_1_deadline_expiry_drops_it (void)
{
  zc_msgring_t ring = make_ring (8, 0xff);
  msg_log log = { 0 };
  zc_msgring_stats_t stats;
  uint64_t now = zc_now_ns ();
  zc_msg_t m = message (ZC_MSG_SCALE_REQUEST, ZC_MSG_UNI, 2);

  m.deadline_ns = now + SECOND;
  ZC_CHECK_OK (zc_msgring_send (&ring, 0, &m));
  ZC_CHECK_EQ (zc_msgring_poll (&ring, 1, now + 2 * SECOND, record, &log), 0);
  ZC_CHECK_EQ (total_pending (&ring), 0);
  ZC_CHECK_OK (zc_msgring_get_stats (&ring, &stats));
  ZC_CHECK_EQ (stats.dropped, 1);
  ZC_CHECK_EQ (log.n, 0);
}

static void
test_TC_RING_1_urgent_first (void)
{
  zc_msgring_t ring = make_ring (4, 0xf);
  msg_log log = { 0 };
  for (int i = 1; i <= 4; i++) {
    zc_msg_t m = message (i == 4 ? ZC_MSG_GUARD_TRIP : ZC_MSG_SCALE_REQUEST,
        i == 4 ? ZC_MSG_URGENT : 0, 1);
    m.arg[0] = (uint64_t) i;
    ZC_CHECK_OK (zc_msgring_send (&ring, 0, &m));
  }
  ZC_CHECK_EQ (zc_msgring_poll (&ring, 1, zc_now_ns (), record, &log), 4);
  ZC_CHECK_EQ (log.msgs[0].arg[0], 4);
  ZC_CHECK_EQ (log.msgs[1].arg[0], 1);
  ZC_CHECK_EQ (log.msgs[2].arg[0], 2);
  ZC_CHECK_EQ (log.msgs[3].arg[0], 3);
}

static void
test_TC_RING_1_persist_seen_by_late_joiner (void)
{
  zc_msgring_t ring = make_ring (4, 0x3);
  msg_log log = { 0 };
  uint64_t now = zc_now_ns ();
  zc_msg_t m = message (ZC_MSG_GUARD_TRIP, ZC_MSG_BIDI | ZC_MSG_PERSIST, -1);

  m.arg[0] = 7;
  ZC_CHECK_OK (zc_msgring_send (&ring, 0, &m));
  pump (&ring, now, &log);
  ZC_CHECK_EQ (log.at[1], 1);
  m.arg[0] = 8;                 /* replaces the first */
  ZC_CHECK_OK (zc_msgring_send (&ring, 0, &m));
  pump (&ring, now, &log);
  ZC_CHECK_EQ (log.at[1], 2);

  ZC_CHECK_OK (zc_msgring_join (&ring, 2));
  ZC_CHECK_EQ (zc_msgring_poll (&ring, 2, now, record, &log), 1);
  ZC_CHECK_EQ (log.msgs[log.n - 1].arg[0], 8);
  ZC_CHECK_EQ (zc_msgring_poll (&ring, 2, now, record, &log), 0);
  pump (&ring, now, &log);
  ZC_CHECK_EQ (log.at[1], 2);
  ZC_CHECK_EQ (log.at[2], 1);

  /* Not a broadcast, or not a known type: refused. */
  m = message (ZC_MSG_GUARD_TRIP, ZC_MSG_PERSIST, 1);
  ZC_CHECK_EQ (zc_msgring_send (&ring, 0, &m), -EINVAL);
}

static void
test_payload_is_bounds_checked (void)
{
  zc_msgring_t ring = make_ring (4, 0xf);
  msg_log log = { 0 };
  zc_msg_t m = message (ZC_MSG_CLEAN_HINT, 0, 1);
  const void *got;
  void *p;

  ZC_CHECK_OK (zc_msgring_payload_alloc (&ring, 0, 100, &m, &p));
  memcpy (p, "hello", 6);
  ZC_CHECK_OK (zc_msgring_send (&ring, 0, &m));
  ZC_CHECK_EQ (zc_msgring_poll (&ring, 1, zc_now_ns (), record, &log), 1);
  ZC_CHECK_OK (zc_msgring_payload (&ring, &log.msgs[0], &got));
  ZC_CHECK (strcmp (got, "hello") == 0);
  ZC_CHECK_EQ (zc_msgring_payload_alloc (&ring, 0, 257, &m, &p), -EMSGSIZE);
  m.payload_offset = 4 * 256 - 8;
  m.payload_size = 9;
  ZC_CHECK_EQ (zc_msgring_payload (&ring, &m, &got), ZC_EBOUNDS);
  ZC_CHECK_EQ (zc_msgring_send (&ring, 0, &m), -EINVAL);
  m.payload_offset = UINT64_MAX - 4;
  ZC_CHECK_EQ (zc_msgring_payload (&ring, &m, &got), ZC_EBOUNDS);
}

static void
test_attach_validates_the_component (void)
{
  uint64_t size = zc_msgring_footprint (8, 128);
  uint8_t *mem = shared_mem (size, NULL);
  zc_msgring_t ring, other;

  ZC_CHECK_EQ (zc_msgring_footprint (0, 0), 0);
  ZC_CHECK_EQ (zc_msgring_footprint (65, 0), 0);
  ZC_CHECK_EQ (zc_msgring_construct (&ring, mem, size - 1, 8, 128, 0),
      ZC_EBOUNDS);
  ZC_CHECK_OK (zc_msgring_construct (&ring, mem, size, 8, 128, 0));
  ZC_CHECK_EQ (ring.duty_timeout_ns, ZC_MSGRING_DEFAULT_DUTY_TIMEOUT_NS);
  ZC_CHECK_OK (zc_msgring_attach (&other, mem, size));
  ZC_CHECK_EQ (other.n_nodes, 8);
  ZC_CHECK_EQ (zc_msgring_attach (&other, mem, size - 64), ZC_EBOUNDS);
  ZC_CHECK_EQ (zc_msgring_child (&other, 3, &ring), -ENOENT);
  ring.header->n_nodes = 9;
  ZC_CHECK_EQ (zc_msgring_attach (&other, mem, size), ZC_EBOUNDS);
  ring.header->n_nodes = 8;
  ring.header->version = 2;
  ZC_CHECK_EQ (zc_msgring_attach (&other, mem, size), ZC_EVERSION);
  ring.header->magic = 0;
  ZC_CHECK_EQ (zc_msgring_attach (&other, mem, size), ZC_EBADMAGIC);
}

static void
test_TC_RING_2_hand_over_and_timeout_in_process (void)
{
  zc_msgring_t ring = make_ring (4, 0xf);
  msg_log log = { 0 };
  zc_msgring_stats_t stats;
  uint64_t now = zc_now_ns (), token;

  ZC_CHECK_EQ (zc_msgring_owner (&ring, NULL), -ENOENT);
  ZC_CHECK_EQ (zc_msgring_duty_tick (&ring, 0, now), 1);
  ZC_CHECK_EQ (zc_msgring_owner (&ring, &token), 0);
  ZC_CHECK_EQ (token, 1);       /* seed: the first owner has token 1 */
  ZC_CHECK_EQ (zc_msgring_duty_tick (&ring, 1, now), 0);
  pump (&ring, now, &log);
  ZC_CHECK_EQ (log.n, 3);
  for (int i = 0; i < 3; i++) {
    ZC_CHECK_EQ (log.msgs[i].type, ZC_MSG_OWNER_TRANSFER);
    ZC_CHECK_EQ (log.msgs[i].token, 1);
  }
  ZC_CHECK_EQ (zc_msgring_workspace_add (&ring, 1, ZC_MSGRING_RECLAIMS, 1),
      ZC_ESTATE);
  ZC_CHECK_OK (zc_msgring_workspace_add (&ring, 0, ZC_MSGRING_RECLAIMS, 1));

  /* Voluntary: the token travels to 2, who takes it on handling. */
  ZC_CHECK_EQ (zc_msgring_hand_over (&ring, 1, 2), ZC_ESTATE);
  ZC_CHECK_OK (zc_msgring_hand_over (&ring, 0, 2));
  ZC_CHECK_EQ (zc_msgring_owner (&ring, NULL), 0);
  pump (&ring, now, &log);
  ZC_CHECK_EQ (zc_msgring_owner (&ring, &token), 2);
  ZC_CHECK_EQ (token, 2);
  ZC_CHECK_EQ (zc_msgring_duty_tick (&ring, 0, now), 0);
  ZC_CHECK_EQ (zc_msgring_duty_tick (&ring, 2, now), 1);

  /* Within the timeout nobody takes over; after it, the first ticker. */
  ZC_CHECK_EQ (zc_msgring_duty_tick (&ring, 3, now + TIMEOUT / 2), 0);
  ZC_CHECK_EQ (zc_msgring_duty_tick (&ring, 3, now + 2 * TIMEOUT), 1);
  ZC_CHECK_EQ (zc_msgring_duty_tick (&ring, 1, now + 2 * TIMEOUT), 0);
  ZC_CHECK_EQ (zc_msgring_owner (&ring, &token), 3);
  ZC_CHECK_EQ (token, 3);

  /* An owner that leaves frees the duty at once. */
  ZC_CHECK_OK (zc_msgring_leave (&ring, 3));
  ZC_CHECK_EQ (zc_msgring_owner (&ring, NULL), -ENOENT);
  ZC_CHECK_EQ (zc_msgring_duty_tick (&ring, 1, now + 2 * TIMEOUT), 1);
  ZC_CHECK_OK (zc_msgring_get_stats (&ring, &stats));
  ZC_CHECK_EQ (stats.owner_changes, 4);
  ZC_CHECK_EQ (stats.reclaims, 1);
  check_links (&ring);
}

/* TC-RING-2 with real processes: shared memory layout. */
struct proc_ctl
{
  _Atomic uint32_t stop;
  _Atomic int32_t pid[8];
  _Atomic uint64_t transfers_seen[8];
  _Atomic uint64_t last_token_seen[8];
};

static uint64_t
round64 (uint64_t v)
{
  return (v + 63) & ~UINT64_C (63);
}

static void
proc_layout (uint64_t * hb_off, uint64_t * ctl_off, uint64_t * total)
{
  *hb_off = round64 (zc_msgring_footprint (8, 0));
  *ctl_off = round64 (*hb_off + zc_heartbeat_footprint (8));
  *total = *ctl_off + sizeof (struct proc_ctl);
}

static void
peer_on_msg (zc_msgring_t * ring, unsigned slot, const zc_msg_t * msg,
    void *data)
{
  struct proc_ctl *ctl = data;
  (void) ring;
  if (msg->type == ZC_MSG_OWNER_TRANSFER && msg->dst == 0) {
    atomic_fetch_add (&ctl->transfers_seen[slot], 1);
    atomic_store (&ctl->last_token_seen[slot], msg->token);
  }
}

static int
peer_ring_member (int fd)
{
  uint64_t hb_off, ctl_off, total, last_scan = 0;
  zc_msgring_t ring;
  zc_heartbeat_t hb;
  unsigned slot;

  proc_layout (&hb_off, &ctl_off, &total);
  uint8_t *mem = mmap (NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (mem == MAP_FAILED)
    return 3;
  struct proc_ctl *ctl = (struct proc_ctl *) (mem + ctl_off);
  if (zc_msgring_attach (&ring, mem, hb_off) < 0 ||
      zc_heartbeat_attach (&hb, mem + hb_off, ctl_off - hb_off) < 0 ||
      zc_heartbeat_allocate (&hb, &slot) < 0 || slot >= 8 ||
      zc_msgring_join (&ring, slot) < 0)
    return 4;
  atomic_store (&ctl->pid[slot], getpid ());

  while (!atomic_load (&ctl->stop)) {
    uint64_t now = zc_now_ns ();
    zc_heartbeat_touch (&hb, slot);
    int owner = zc_msgring_duty_tick (&ring, slot, now);
    if (owner < 0 || zc_msgring_poll (&ring, slot, now, peer_on_msg, ctl) < 0)
      return 5;
    /* The duty: reclaim participants found dead, evict their nodes. */
    if (owner == 1 && now - last_scan > 10 * MS) {
      uint64_t dead = zc_heartbeat_find_dead (&hb, 0);
      last_scan = now;
      for (unsigned s = 0; s < 8; s++) {
        if (!(dead & (UINT64_C (1) << s)) ||
            zc_heartbeat_begin_reclaim (&hb, s) < 0)
          continue;
        if (zc_heartbeat_confirm_reclaim (&hb, s, 0) < 0)
          continue;
        zc_msgring_evict (&ring, s);
        zc_msgring_workspace_add (&ring, slot, ZC_MSGRING_RECLAIMS, 1);
        zc_heartbeat_finish_reclaim (&hb, s);
      }
    }
    struct timespec nap = { 0, 1 * MS };
    nanosleep (&nap, NULL);
  }
  return 0;
}

static pid_t
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

/* Polls @cond every millisecond until it holds or @deadline passes. */
#define WAIT_UNTIL(cond, deadline) do { \
    while (!(cond)) { \
      if (zc_now_ns () > (deadline)) ZC_FAIL ("timed out waiting: %s", #cond); \
      struct timespec _nap = { 0, 1 * MS }; nanosleep (&_nap, NULL); \
    } } while (0)

static void
test_TC_RING_2_owner_timeout_hand_over_processes (void)
{
  uint64_t hb_off, ctl_off, total, token, new_token;
  zc_msgring_t ring;
  zc_heartbeat_t hb;
  zc_msgring_stats_t stats;
  pid_t pids[4];
  int fd;

  proc_layout (&hb_off, &ctl_off, &total);
  uint8_t *mem = shared_mem (total, &fd);
  struct proc_ctl *ctl = (struct proc_ctl *) (mem + ctl_off);
  ZC_CHECK_OK (zc_msgring_construct (&ring, mem, hb_off, 8, 0, TIMEOUT));
  ZC_CHECK_OK (zc_heartbeat_construct (&hb, mem + hb_off, ctl_off - hb_off,
          8));
  for (int i = 0; i < 4; i++)
    pids[i] = spawn_peer ("member", fd);

  WAIT_UNTIL (__builtin_popcountll (zc_msgring_members (&ring)) == 4 &&
      zc_msgring_owner (&ring, NULL) >= 0, zc_now_ns () + 0 + 20 * SECOND);
  int owner = zc_msgring_owner (&ring, &token);
  ZC_CHECK (owner >= 0 && owner < 8);
  pid_t victim = atomic_load (&ctl->pid[owner]);
  for (int i = 0; i < 4; i++)
    if (pids[i] == victim)
      pids[i] = 0;

  uint64_t t0 = zc_now_ns ();
  ZC_CHECK_OK (kill (victim, SIGKILL));
  ZC_CHECK (zc_test_wait (victim, 10) != -1);
  WAIT_UNTIL (zc_msgring_owner (&ring, &new_token) >= 0 &&
      zc_msgring_owner (&ring, NULL) != owner && new_token > token,
      t0 + 10 * SECOND);
  uint64_t took = zc_now_ns () - t0;
  if (took >= 2 * (uint64_t) SECOND)
    ZC_FAIL ("takeover took %" PRIu64 " ms", took / MS);
  int new_owner = zc_msgring_owner (&ring, &new_token);

  /* The other survivors handled the announcement of the new token. */
  for (unsigned s = 0; s < 8; s++) {
    if ((int) s == owner || (int) s == new_owner ||
        !(zc_msgring_members (&ring) & (UINT64_C (1) << s)))
      continue;
    WAIT_UNTIL (atomic_load (&ctl->last_token_seen[s]) >= new_token,
        t0 + 20 * SECOND);
  }
  /* The new owner found the dead one and evicted it. */
  WAIT_UNTIL (__builtin_popcountll (zc_msgring_members (&ring)) == 3,
      t0 + 20 * SECOND);
  ZC_CHECK (!(zc_msgring_members (&ring) & (UINT64_C (1) << owner)));
  ZC_CHECK_OK (zc_msgring_get_stats (&ring, &stats));
  ZC_CHECK (stats.reclaims >= 1);
  ZC_CHECK (stats.owner_changes >= 2);
  check_links (&ring);

  atomic_store (&ctl->stop, 1);
  for (int i = 0; i < 4; i++) {
    if (pids[i] == 0)
      continue;
    int status = zc_test_wait (pids[i], 20);
    ZC_CHECK (status != -1 && WIFEXITED (status));
    ZC_CHECK_EQ (WEXITSTATUS (status), 0);
  }
}

static zc_msgring_t
make_nested (zc_msgring_t * child)
{
  zc_msgring_t parent;
  uint64_t size = zc_msgring_nested_footprint (4, 0, 1, 4, 0);
  ZC_CHECK (size > 0);
  ZC_CHECK_OK (zc_msgring_construct_nested (&parent, shared_mem (size, NULL),
          size, 4, 0, TIMEOUT, 1u << 1, 4, 0));
  ZC_CHECK_OK (zc_msgring_child (&parent, 1, child));
  ZC_CHECK_EQ (zc_msgring_child (&parent, 2, child), -ENOENT);
  ZC_CHECK_OK (zc_msgring_child (&parent, 1, child));
  for (unsigned s = 0; s < 4; s++) {
    ZC_CHECK_OK (zc_msgring_join (&parent, s));
    ZC_CHECK_OK (zc_msgring_join (child, s));
  }
  msg_log ignore = { 0 };
  ZC_CHECK_EQ (zc_msgring_duty_tick (child, 0, zc_now_ns ()), 1);
  pump (child, zc_now_ns (), &ignore);
  return parent;
}

static void
test_TC_RING_3_nested_ring_broadcast_reaches_child_nodes (void)
{
  zc_msgring_t child, parent = make_nested (&child);
  msg_log plog = { 0 }, clog = { 0 };
  uint64_t now = zc_now_ns ();
  zc_msg_t m = message (ZC_MSG_GUARD_TRIP, ZC_MSG_BIDI, -1);

  m.arg[0] = 5;
  ZC_CHECK_OK (zc_msgring_send (&parent, 0, &m));
  pump (&parent, now, &plog);
  ZC_CHECK_EQ (plog.n, 3);
  pump (&child, now, &clog);
  ZC_CHECK_EQ (clog.n, 4);
  for (unsigned s = 0; s < 4; s++)
    ZC_CHECK_EQ (clog.at[s], 1);
  for (int i = 0; i < 4; i++) {
    ZC_CHECK_EQ (clog.msgs[i].type, ZC_MSG_GUARD_TRIP);
    ZC_CHECK_EQ (clog.msgs[i].arg[0], 5);
    ZC_CHECK (clog.msgs[i].flags & ZC_MSG_RELAYED);
  }
}

static void
test_TC_RING_3_child_node_message_reaches_parent_node (void)
{
  zc_msgring_t child, parent = make_nested (&child);
  msg_log plog = { 0 }, clog = { 0 };
  uint64_t now = zc_now_ns ();
  zc_msg_t m = message (ZC_MSG_CRC_VERIFY_REQUEST, ZC_MSG_UP, 3);

  m.arg[0] = 9;
  ZC_CHECK_OK (zc_msgring_send (&child, 2, &m));
  m = message (ZC_MSG_SCALE_REQUEST, ZC_MSG_UP, 1);     /* the gateway itself */
  ZC_CHECK_OK (zc_msgring_send (&child, 2, &m));
  pump (&child, now, &clog);
  ZC_CHECK_EQ (clog.n, 0);
  pump (&parent, now, &plog);
  ZC_CHECK_EQ (plog.n, 2);
  ZC_CHECK_EQ (plog.at[3], 1);
  ZC_CHECK_EQ (plog.at[1], 1);
  for (int i = 0; i < 2; i++) {
    ZC_CHECK_EQ (plog.msgs[i].src, 1);
    ZC_CHECK_EQ (plog.msgs[i].origin, 2);
    if (plog.slot[i] == 3)
      ZC_CHECK_EQ (plog.msgs[i].arg[0], 9);
  }
  /* UP from a ring with no parent is refused. */
  m = message (ZC_MSG_SCALE_REQUEST, ZC_MSG_UP, 1);
  ZC_CHECK_EQ (zc_msgring_send (&parent, 2, &m), -EINVAL);
}

/* Threads joining, sending, polling, ticking and leaving at once. */
static zc_msgring_t thread_ring;

static void *
churn (void *arg)
{
  unsigned slot = (unsigned) (uintptr_t) arg;
  msg_log *log = calloc (1, sizeof (*log));
  for (int i = 0; i < 2000; i++) {
    ZC_CHECK_OK (zc_msgring_join (&thread_ring, slot));
    zc_msg_t m = message (ZC_MSG_HEARTBEAT, ZC_MSG_BIDI, -1);
    int r = zc_msgring_send (&thread_ring, slot, &m);
    ZC_CHECK (r == 0 || r == -EAGAIN);
    ZC_CHECK_OK (zc_msgring_poll (&thread_ring, slot, zc_now_ns (), record,
            log));
    ZC_CHECK_OK (zc_msgring_duty_tick (&thread_ring, slot, zc_now_ns ()));
    ZC_CHECK_OK (zc_msgring_leave (&thread_ring, slot));
  }
  free (log);
  return NULL;
}

static void
test_join_leave_concurrency_threads (void)
{
  pthread_t t[8];
  thread_ring = make_ring (8, 0);
  for (unsigned i = 0; i < 8; i++)
    ZC_CHECK_EQ (pthread_create (&t[i], NULL, churn, (void *) (uintptr_t) i),
        0);
  for (unsigned i = 0; i < 8; i++)
    pthread_join (t[i], NULL);
  ZC_CHECK_EQ (zc_msgring_members (&thread_ring), 0);
  ZC_CHECK_EQ (zc_msgring_owner (&thread_ring, NULL), -ENOENT);
  for (unsigned s = 0; s < 8; s += 2)
    ZC_CHECK_OK (zc_msgring_join (&thread_ring, s));
  check_links (&thread_ring);
}

#define WRITERS 4
#define PER_WRITER 2000

static void *
write_to_zero (void *arg)
{
  uint64_t w = (uint64_t) (uintptr_t) arg;
  for (uint64_t seq = 0; seq < PER_WRITER;) {
    zc_msg_t m = message (ZC_MSG_SCALE_REQUEST, 0, 0);
    m.arg[0] = w;
    m.arg[1] = seq;
    int r = zc_msgring_send (&thread_ring, 1, &m);
    ZC_CHECK (r == 0 || r == -EAGAIN);
    if (r == 0)
      seq++;
    else
      sched_yield ();
  }
  return NULL;
}

/* Each (writer, seq) exactly once.  Order is not promised across polls
 * (msgring.h), so none is checked. */
static void
count_once (zc_msgring_t * ring, unsigned slot, const zc_msg_t * msg,
    void *data)
{
  uint8_t (*seen)[PER_WRITER] = data;
  (void) ring;
  (void) slot;
  ZC_CHECK (msg->arg[0] < WRITERS && msg->arg[1] < PER_WRITER);
  ZC_CHECK_EQ (seen[msg->arg[0]][msg->arg[1]], 0);
  seen[msg->arg[0]][msg->arg[1]] = 1;
}

static void
test_mailbox_many_writers_one_reader_threads (void)
{
  pthread_t t[WRITERS];
  static uint8_t seen[WRITERS][PER_WRITER];
  uint64_t got = 0;
  uint64_t deadline = zc_now_ns () + 100 * SECOND;
  thread_ring = make_ring (2, 0x3);
  for (unsigned i = 0; i < WRITERS; i++)
    ZC_CHECK_EQ (pthread_create (&t[i], NULL, write_to_zero,
            (void *) (uintptr_t) i), 0);
  while (got < WRITERS * PER_WRITER) {
    int r = zc_msgring_poll (&thread_ring, 0, zc_now_ns (), count_once,
        seen);
    ZC_CHECK_OK (r);
    got += (uint64_t) r;
    ZC_CHECK (zc_now_ns () < deadline);
    if (r == 0)
      sched_yield ();
  }
  for (unsigned i = 0; i < WRITERS; i++)
    pthread_join (t[i], NULL);
  ZC_CHECK_EQ (got, WRITERS * PER_WRITER);
}

/* Peer: claims every cell of node 0's left mailbox, as a sender would,
 * and dies before committing any. */
static int
peer_claim_and_die (int fd)
{
  uint64_t size = zc_msgring_footprint (2, 0);
  zc_msgring_t ring;
  void *mem = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (mem == MAP_FAILED || zc_msgring_attach (&ring, mem, size) < 0)
    return 3;
  uint32_t ms = (uint32_t) (zc_now_ns () / MS);
  for (unsigned i = 0; i < ZC_MSGRING_MAILBOX_SLOTS; i++) {
    struct zc_msgring_cell *cell = &ring.nodes[0].left.cells[i];
    uint64_t w = atomic_load (&cell->word);
    if (!atomic_compare_exchange_strong (&cell->word, &w,
            ZC_MSGRING_CELL_WORD (ZC_MSGRING_CELL_CLAIMED,
                ZC_MSGRING_CELL_LAP (w), ms)))
      return 4;
    memset (&cell->msg, 0xab, sizeof (cell->msg));     /* half written */
  }
  raise (SIGKILL);
  return 5;
}

static void
test_process_killed_mid_send_does_not_wedge_mailbox (void)
{
  uint64_t size = zc_msgring_footprint (2, 0);
  zc_msgring_t ring;
  msg_log log = { 0 };
  int fd;
  void *mem = shared_mem (size, &fd);
  ZC_CHECK_OK (zc_msgring_construct (&ring, mem, size, 2, 0, TIMEOUT));
  ZC_CHECK_OK (zc_msgring_join (&ring, 0));
  ZC_CHECK_OK (zc_msgring_join (&ring, 1));

  pid_t pid = spawn_peer ("claim", fd);
  int status = zc_test_wait (pid, 20);
  ZC_CHECK (status != -1 && WIFSIGNALED (status));
  ZC_CHECK_EQ (WTERMSIG (status), SIGKILL);

  zc_msg_t m = message (ZC_MSG_SCALE_REQUEST, 0, 0);
  ZC_CHECK_EQ (zc_msgring_send (&ring, 1, &m), -EAGAIN);
  uint64_t now = zc_now_ns ();
  ZC_CHECK_EQ (zc_msgring_poll (&ring, 0, now, record, &log), 0);
  ZC_CHECK_EQ (zc_msgring_send (&ring, 1, &m), -EAGAIN);  /* young claims */
  now += ZC_MSGRING_CLAIM_TIMEOUT_NS + SECOND;
  ZC_CHECK_EQ (zc_msgring_poll (&ring, 0, now, record, &log), 0);
  for (unsigned i = 0; i < ZC_MSGRING_MAILBOX_SLOTS; i++)
    ZC_CHECK_OK (zc_msgring_send (&ring, 1, &m));
  ZC_CHECK_EQ (zc_msgring_send (&ring, 1, &m), -EAGAIN);
  ZC_CHECK_EQ (zc_msgring_poll (&ring, 0, now, record, &log),
      ZC_MSGRING_MAILBOX_SLOTS);

  /* A writer merely stalled past the timeout cannot commit any more. */
  struct zc_msgring_cell *cell = &ring.nodes[0].left.cells[0];
  uint64_t w = atomic_load (&cell->word);
  uint64_t claimed = ZC_MSGRING_CELL_WORD (ZC_MSGRING_CELL_CLAIMED,
      ZC_MSGRING_CELL_LAP (w), (uint32_t) (zc_now_ns () / MS));
  ZC_CHECK (atomic_compare_exchange_strong (&cell->word, &w, claimed));
  ZC_CHECK_EQ (zc_msgring_poll (&ring, 0, now + SECOND, record, &log), 0);
  uint64_t expect = claimed;
  ZC_CHECK (!atomic_compare_exchange_strong (&cell->word, &expect,
          ZC_MSGRING_CELL_WORD (ZC_MSGRING_CELL_COMMITTED,
              ZC_MSGRING_CELL_LAP (claimed), 0)));
}

static uint64_t rng_state = 88172645463325252ull;

static uint64_t
rng (void)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static void
touch_payload (zc_msgring_t * ring, unsigned slot, const zc_msg_t * msg,
    void *data)
{
  const void *p;
  (void) slot;
  if (zc_msgring_payload (ring, msg, &p) == 0) {
    volatile uint8_t sum = 0;
    for (uint32_t i = 0; i < msg->payload_size; i++)
      sum += ((const uint8_t *) p)[i];
    (void) sum;
  }
  (*(int *) data)++;
}

/* Whatever is in the memory, the calls return. */
static void
exercise (zc_msgring_t * ring, uint64_t now)
{
  int count = 0;
  for (unsigned s = 0; s < ring->n_nodes && s < 8; s++) {
    unsigned p, n;
    zc_msg_t m = message ((uint16_t) (1 + rng () % 12),
        (uint16_t) (rng () % 16), (int) (rng () % (ring->n_nodes + 1)) - 1);
    zc_msgring_t child;
    zc_msgring_poll (ring, s, now + rng () % SECOND, touch_payload, &count);
    zc_msgring_send (ring, s, &m);
    zc_msgring_duty_tick (ring, s, now + rng () % SECOND);
    zc_msgring_hand_over (ring, s, (unsigned) rng () % ring->n_nodes);
    zc_msgring_links (ring, s, &p, &n);
    zc_msgring_pending (ring, s);
    if (zc_msgring_child (ring, s, &child) == 0) {
      zc_msgring_poll (&child, 0, now, touch_payload, &count);
      zc_msgring_send (&child, 1, &m);
    }
    if (rng () % 8 == 0)
      zc_msgring_evict (ring, s);
    if (rng () % 8 == 0)
      zc_msgring_join (ring, s);
  }
  zc_msgring_stats_t stats;
  zc_msgring_get_stats (ring, &stats);
  zc_msgring_owner (ring, NULL);
}

static void
test_fuzz_random_bytes_never_crash_or_hang (void)
{
  uint64_t size = zc_msgring_nested_footprint (4, 128, 1, 4, 64);
  uint8_t *mem = aligned_alloc (64, size);
  uint64_t now = zc_now_ns ();
  ZC_CHECK (mem != NULL);
  for (int iter = 0; iter < 10000; iter++) {
    zc_msgring_t ring, child;
    memset (mem, 0, size);
    ZC_CHECK_OK (zc_msgring_construct_nested (&ring, mem, size, 4, 128,
            TIMEOUT, 1u << 2, 4, 64));
    ZC_CHECK_OK (zc_msgring_child (&ring, 2, &child));
    for (unsigned s = 0; s < 4; s++) {
      ZC_CHECK_OK (zc_msgring_join (&ring, s));
      ZC_CHECK_OK (zc_msgring_join (&child, s));
    }
    zc_msgring_duty_tick (&child, 1, now);
    exercise (&ring, now);

    switch (iter % 4) {
      case 0:                  /* a few random bytes */
        for (int k = 1 + (int) (rng () % 32); k > 0; k--)
          mem[rng () % size] = (uint8_t) rng ();
        break;
      case 1:                  /* random words */
        for (int k = 1 + (int) (rng () % 16); k > 0; k--) {
          uint64_t v = rng ();
          memcpy (mem + (rng () % (size / 8)) * 8, &v, 8);
        }
        break;
      case 2:{                 /* a random range */
        uint64_t at = rng () % size, len = rng () % 512;
        for (uint64_t i = at; i < size && i < at + len; i++)
          mem[i] = (uint8_t) rng ();
        break;
      }
      default:                 /* all of it */
        for (uint64_t i = 0; i < size; i++)
          mem[i] = (uint8_t) rng ();
        break;
    }
    if (zc_msgring_attach (&ring, mem, size) == 0) {
      exercise (&ring, now);
      exercise (&ring, now + SECOND);
    }
  }
  free (mem);
}

int
main (int argc, char **argv)
{
  static const zc_test_case tests[] = {
    ZC_TEST (test_TC_RING_1_uni_routing_takes_shorter_way),
    ZC_TEST (test_TC_RING_1_bidi_reaches_both_ways),
    ZC_TEST (test_TC_RING_1_broadcast_handled_once_per_node),
    ZC_TEST (test_TC_RING_1_directed_message_dies_at_dst),
    ZC_TEST (test_TC_RING_1_message_dies_back_at_source),
    ZC_TEST (test_evicting_a_dead_node_sends_its_traffic_on),
    ZC_TEST (test_TC_RING_1_deadline_expiry_drops_it),
    ZC_TEST (test_TC_RING_1_urgent_first),
    ZC_TEST (test_TC_RING_1_persist_seen_by_late_joiner),
    ZC_TEST (test_payload_is_bounds_checked),
    ZC_TEST (test_attach_validates_the_component),
    ZC_TEST (test_TC_RING_2_hand_over_and_timeout_in_process),
    ZC_TEST (test_TC_RING_2_owner_timeout_hand_over_processes),
    ZC_TEST (test_TC_RING_3_nested_ring_broadcast_reaches_child_nodes),
    ZC_TEST (test_TC_RING_3_child_node_message_reaches_parent_node),
    ZC_TEST (test_join_leave_concurrency_threads),
    ZC_TEST (test_mailbox_many_writers_one_reader_threads),
    ZC_TEST (test_process_killed_mid_send_does_not_wedge_mailbox),
    ZC_TEST (test_fuzz_random_bytes_never_crash_or_hang),
  };

  if (argc == 4 && strcmp (argv[1], "--peer") == 0) {
    if (strcmp (argv[2], "member") == 0)
      return peer_ring_member (atoi (argv[3]));
    if (strcmp (argv[2], "claim") == 0)
      return peer_claim_and_die (atoi (argv[3]));
    return 2;
  }
  return zc_test_main (argc, argv, tests, ZC_N_TESTS (tests));
}

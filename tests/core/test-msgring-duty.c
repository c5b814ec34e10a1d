/* Tests of the MessageRing's duty (TC-RING-2): one member holds the duty
 * and its token, hands it over on purpose or loses it when it stops
 * ticking, in one process and between real processes, where the new
 * holder reclaims a member killed with the duty.  Peers are this binary
 * re-executed with "--peer member FD". */
#include <sys/mman.h>

#include <zc/heartbeat.h>
#include <zc/msgring.h>

#include "zc-test.h"
#include "msgring-harness.h"

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

int
main (int argc, char **argv)
{
  static const zc_test_case tests[] = {
    ZC_TEST (test_TC_RING_2_hand_over_and_timeout_in_process),
    ZC_TEST (test_TC_RING_2_owner_timeout_hand_over_processes),
  };

  if (argc == 4 && strcmp (argv[1], "--peer") == 0) {
    if (strcmp (argv[2], "member") == 0)
      return peer_ring_member (atoi (argv[3]));
    return 2;
  }
  return zc_test_main (argc, argv, tests, ZC_N_TESTS (tests));
}

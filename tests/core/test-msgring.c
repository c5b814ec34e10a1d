/* Tests of the MessageRing (msgring.h): routing of directed messages and
 * broadcasts (TC-RING-1), deadlines, priorities, persistent messages,
 * payloads and attaching, and nested rings (TC-RING-3).  The duty holder's
 * hand-over (TC-RING-2) is in test-msgring-duty.c; threads, crashes and a
 * fuzz in test-msgring-stress.c. */
#include <zc/heartbeat.h>
#include <zc/msgring.h>

#include "zc-test.h"
#include "msgring-harness.h"

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
    ZC_TEST (test_TC_RING_3_nested_ring_broadcast_reaches_child_nodes),
    ZC_TEST (test_TC_RING_3_child_node_message_reaches_parent_node),
  };

  return zc_test_main (argc, argv, tests, ZC_N_TESTS (tests));
}

/* Hostile clients against the producer's control socket.
 *
 * The producer runs in the test process; a raw client connects to its
 * socket and sends crafted datagrams.  For each, the producer must end the
 * connection (a REFUSE with the right code, or a plain close) within a
 * deadline, keep no consumer, leak no descriptor, and still serve a real
 * zc_consumer afterwards.  Clients that connect and say nothing must not
 * keep a real consumer waiting either.  Each test has its own
 * XDG_RUNTIME_DIR, checked empty once the producer is freed.
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <zc/zc.h>

#include "zc-test.h"
#include "../../lib/wire.h"
#include "handshake-harness.h"

/* await_close() results besides a REFUSE code. */
#define CLOSED_PLAIN 1          /* closed without a REFUSE */
#define PROTO_ERROR 2           /* expectation: CLOSED_PLAIN or -EPROTO */

static int
raw_connect (zc_producer_t * p)
{
  int sock;

  ZC_CHECK_OK (zc_channel_connect (zc_producer_socket_path (p), &sock));
  return sock;
}

/* One datagram with @n_fds descriptors.  Returns 0 or -errno. */
static int
send_raw (int sock, const void *buf, size_t len, const int *fds,
    unsigned n_fds)
{
  union
  {
    char buf[CMSG_SPACE (32 * sizeof (int))];
    struct cmsghdr align;
  } control;
  struct iovec iov = { (void *) buf, len };
  struct msghdr msg = { 0 };

  ZC_CHECK (n_fds <= 32);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (n_fds) {
    struct cmsghdr *cmsg;

    memset (&control, 0, sizeof (control));
    msg.msg_control = control.buf;
    msg.msg_controllen = CMSG_SPACE (n_fds * sizeof (int));
    cmsg = CMSG_FIRSTHDR (&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN (n_fds * sizeof (int));
    memcpy (CMSG_DATA (cmsg), fds, n_fds * sizeof (int));
  }
  return sendmsg (sock, &msg, MSG_NOSIGNAL) == (ssize_t) len ? 0 : -errno;
}

static void
fill_header (struct zc_wire_header *h, uint16_t type, size_t length)
{
  h->magic = ZC_WIRE_MAGIC;
  h->version = ZC_WIRE_VERSION;
  h->type = type;
  h->length = (uint32_t) length;
  h->ctl_seq = 0;
}

/* The message being crafted. */
static union
{
  struct zc_wire_hello hello;
  uint8_t bytes[1024];
} msg;

/* A HELLO in msg carrying @name, claiming @name_len; returns its length. */
static size_t
make_hello (const char *name, uint32_t name_len)
{
  size_t n = strlen (name);

  memset (&msg, 0, sizeof (msg));
  fill_header (&msg.hello.h, ZC_WIRE_HELLO, sizeof (msg.hello) + n);
  msg.hello.name_len = name_len;
  memcpy (msg.bytes + sizeof (msg.hello), name, n);
  return sizeof (msg.hello) + n;
}

/* Reads until the producer closes us.  Returns the code of the one REFUSE
 * it sent, or CLOSED_PLAIN; fails if it is still open at the deadline or
 * sends anything but a well-formed REFUSE. */
static int
await_close (int sock)
{
  static uint8_t buf[ZC_WIRE_MAX_SIZE];
  uint64_t deadline = zc_now_ns () + DEADLINE_S * SECOND;
  int code = CLOSED_PLAIN;

  for (;;) {
    struct pollfd pfd = { sock, POLLIN, 0 };
    struct zc_wire_refuse r;
    uint64_t now = zc_now_ns ();
    ssize_t n;

    if (now >= deadline)
      ZC_FAIL ("the producer kept a hostile connection open");
    poll (&pfd, 1, (int) ((deadline - now) / 1000000) + 1);
    n = recv (sock, buf, sizeof (buf), MSG_DONTWAIT | MSG_TRUNC);
    /* ECONNRESET: the producer closed with our bytes unread; what it
     * sent before that (a REFUSE) is still there to read. */
    if (n < 0 && (errno == EAGAIN || errno == EINTR || errno == ECONNRESET))
      continue;
    if (n == 0)
      return code;
    ZC_CHECK (n >= (ssize_t) sizeof (r) && n <= (ssize_t) sizeof (buf));
    memcpy (&r, buf, sizeof (r));
    ZC_CHECK_EQ (r.h.magic, ZC_WIRE_MAGIC);
    ZC_CHECK_EQ (r.h.type, ZC_WIRE_REFUSE);
    ZC_CHECK_EQ (r.h.length, n);
    ZC_CHECK_EQ (r.reason_len, n - (ssize_t) sizeof (r));
    ZC_CHECK (code == CLOSED_PLAIN);    /* one REFUSE, then the close */
    ZC_CHECK (r.code < 0);
    code = r.code;
  }
}

static void
check_code (int code, int expect)
{
  if (expect == PROTO_ERROR)
    ZC_CHECK (code == CLOSED_PLAIN || code == -EPROTO);
  else
    ZC_CHECK_EQ (code, expect);
}

/* Sends one datagram as a fresh client; the producer must end it with
 * @expect, keep no consumer and no descriptor of it. */
static void
hostile (zc_producer_t * p, const void *buf, size_t len, const int *fds,
    unsigned n_fds, int expect)
{
  int before = count_fds ();
  int sock = raw_connect (p);

  ZC_CHECK_OK (send_raw (sock, buf, len, fds, n_fds));
  check_code (await_close (sock), expect);
  close (sock);
  ZC_CHECK_EQ (n_consumers (p), 0);
  check_fds_back_to (before);
}

static void
test_garbage_datagrams_never_get_a_consumer_in (void)
{
  unsigned seed = (unsigned) time (NULL);
  zc_producer_t *p = start ("garbage");

  fprintf (stderr, "# seed %u\n", seed);
  srand (seed);
  for (int i = 0; i < 1000; i++) {
    size_t len = 1 + (size_t) rand () % sizeof (msg.bytes);

    for (size_t k = 0; k < len; k++)
      msg.bytes[k] = (uint8_t) rand ();
    /* Half of them get past the header checks into the HELLO parser. */
    if (i % 2 && len >= sizeof (struct zc_wire_header))
      fill_header (&msg.hello.h, (uint16_t) (rand () % 9),
          rand () % 2 ? len : (size_t) rand ());
    hostile (p, msg.bytes, len, NULL, 0, PROTO_ERROR);
    if (i % 250 == 0)
      check_serves_a_frame (p, channel);
  }
  check_serves_a_frame (p, channel);
  finish (p);
}

static void
test_truncated_and_mislabelled_headers_are_refused (void)
{
  const uint16_t types[] = { 0, ZC_WIRE_WELCOME, ZC_WIRE_REFUSE,
    ZC_WIRE_FORMAT, ZC_WIRE_STICKY, ZC_WIRE_GENERATION, ZC_WIRE_BYE, 999
  };
  zc_producer_t *p = start ("headers");
  size_t n = make_hello (channel, (uint32_t) strlen (channel));
  const uint32_t lengths[] = { 0, 16, (uint32_t) n - 1, (uint32_t) n + 1,
    ZC_WIRE_MAX_SIZE, UINT32_MAX
  };

  for (size_t len = 1; len < sizeof (struct zc_wire_header); len++)
    hostile (p, msg.bytes, len, NULL, 0, PROTO_ERROR);
  /* A length that is not the datagram's. */
  for (unsigned i = 0; i < N_ELEMENTS (lengths); i++) {
    msg.hello.h.length = lengths[i];
    hostile (p, msg.bytes, n, NULL, 0, PROTO_ERROR);
  }
  make_hello (channel, (uint32_t) strlen (channel));
  msg.hello.h.magic ^= 0x20;
  hostile (p, msg.bytes, n, NULL, 0, PROTO_ERROR);
  /* Anything but HELLO first. */
  for (unsigned i = 0; i < N_ELEMENTS (types); i++) {
    make_hello (channel, (uint32_t) strlen (channel));
    msg.hello.h.type = types[i];
    hostile (p, msg.bytes, n, NULL, 0, PROTO_ERROR);
  }
  check_serves_a_frame (p, channel);
  finish (p);
}

static void
test_unknown_protocol_version_is_refused_with_eversion (void)
{
  const uint16_t versions[] = { 0, ZC_WIRE_VERSION + 1, UINT16_MAX };
  zc_producer_t *p = start ("version");

  for (unsigned i = 0; i < N_ELEMENTS (versions); i++) {
    size_t n = make_hello (channel, (uint32_t) strlen (channel));

    /* Otherwise a perfect HELLO. */
    msg.hello.h.version = versions[i];
    hostile (p, msg.bytes, n, NULL, 0, ZC_EVERSION);
  }
  check_serves_a_frame (p, channel);
  finish (p);
}

static void
test_oversized_datagram_is_refused (void)
{
  const size_t sizes[] = { ZC_WIRE_MAX_SIZE + 1, 100000, 200000 };
  struct zc_wire_hello *big = calloc (1, 200000);
  zc_producer_t *p = start ("oversized");

  ZC_CHECK (big != NULL);
  for (unsigned i = 0; i < N_ELEMENTS (sizes); i++) {
    int before = count_fds (), sock = raw_connect (p), sndbuf = 400000;
    int ret;

    /* Truthful header: only the size is wrong. */
    fill_header (&big->h, ZC_WIRE_HELLO, sizes[i]);
    big->name_len = (uint32_t) (sizes[i] - sizeof (*big));
    setsockopt (sock, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof (sndbuf));
    ret = send_raw (sock, big, sizes[i], NULL, 0);
    /* The kernel may refuse a datagram beyond the socket buffer itself. */
    if (i > 0 && (ret == -EMSGSIZE || ret == -ENOBUFS)) {
      close (sock);
      continue;
    }
    ZC_CHECK_OK (ret);
    check_code (await_close (sock), PROTO_ERROR);
    close (sock);
    ZC_CHECK_EQ (n_consumers (p), 0);
    check_fds_back_to (before);
  }
  free (big);
  check_serves_a_frame (p, channel);
  finish (p);
}

static void
test_malformed_hello_is_refused (void)
{
  char long_name[ZC_CHANNEL_NAME_MAX + 2];
  int efd[20], pipefd[2], sv[2];
  zc_producer_t *p = start ("hello");
  uint32_t len = (uint32_t) strlen (channel);
  size_t n;

  for (unsigned i = 0; i < N_ELEMENTS (efd); i++)
    ZC_CHECK ((efd[i] = eventfd (0, EFD_CLOEXEC)) >= 0);
  ZC_CHECK (pipe2 (pipefd, O_CLOEXEC) == 0);
  ZC_CHECK (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  /* Shorter than a HELLO, with a length that matches. */
  for (size_t k = sizeof (struct zc_wire_header);
      k < sizeof (struct zc_wire_hello); k++) {
    make_hello (channel, len);
    msg.hello.h.length = (uint32_t) k;
    hostile (p, msg.bytes, k, NULL, 0, PROTO_ERROR);
  }
  /* name_len above 255, the datagram long enough for it; too long for
   * the datagram; too short. */
  memset (long_name, 'a', sizeof (long_name) - 1);
  long_name[sizeof (long_name) - 1] = '\0';
  n = make_hello (long_name, ZC_CHANNEL_NAME_MAX + 1);
  hostile (p, msg.bytes, n, NULL, 0, PROTO_ERROR);
  const uint32_t name_lens[] = { UINT32_MAX, len + 1, len - 1 };
  for (unsigned i = 0; i < N_ELEMENTS (name_lens); i++) {
    n = make_hello (channel, name_lens[i]);
    hostile (p, msg.bytes, n, NULL, 0, PROTO_ERROR);
  }
  /* No descriptor of any kind: the doorbell is the producer's.  20
   * descriptors are more than the producer's control buffer takes
   * (MSG_CTRUNC); every one is closed all the same. */
  n = make_hello (channel, len);
  hostile (p, msg.bytes, n, efd, 1, PROTO_ERROR);
  hostile (p, msg.bytes, n, efd, 2, PROTO_ERROR);
  hostile (p, msg.bytes, n, efd, 3, PROTO_ERROR);
  hostile (p, msg.bytes, n, efd, N_ELEMENTS (efd), PROTO_ERROR);
  hostile (p, msg.bytes, n, &pipefd[0], 1, PROTO_ERROR);
  hostile (p, msg.bytes, n, &pipefd[1], 1, PROTO_ERROR);
  hostile (p, msg.bytes, n, &sv[0], 1, PROTO_ERROR);
  for (unsigned i = 0; i < N_ELEMENTS (efd); i++)
    close (efd[i]);
  close (pipefd[0]);
  close (pipefd[1]);
  close (sv[0]);
  close (sv[1]);
  check_serves_a_frame (p, channel);
  finish (p);
}

static void
test_hello_for_another_channel_is_refused_with_enamemismatch (void)
{
  zc_producer_t *p = start ("name");
  char other[80];
  const char *names[] = { "other", channel, channel + 1 };
  size_t n;

  /* Another name, ours with a byte more, less, or one byte changed. */
  for (unsigned i = 0; i < N_ELEMENTS (names) + 1; i++) {
    snprintf (other, sizeof (other), "%s%s", i < 3 ? names[i] : channel,
        i == 1 ? "x" : "");
    other[0] ^= i == 3;
    n = make_hello (other, (uint32_t) strlen (other));
    hostile (p, msg.bytes, n, NULL, 0, ZC_ENAMEMISMATCH);
  }
  /* Our name and a NUL after it. */
  n = make_hello (channel, (uint32_t) strlen (channel) + 1) + 1;
  msg.hello.h.length = (uint32_t) n;
  hostile (p, msg.bytes, n, NULL, 0, ZC_ENAMEMISMATCH);
  check_serves_a_frame (p, channel);
  finish (p);
}

/* A raw client that says HELLO right and takes its WELCOME and FORMAT. */
static int
raw_attach (zc_producer_t * p)
{
  static uint8_t buf[ZC_WIRE_MAX_SIZE];
  const uint16_t types[] = { ZC_WIRE_WELCOME, ZC_WIRE_FORMAT };
  int sock = raw_connect (p), fds[ZC_WIRE_MAX_FDS];
  unsigned n_fds;

  ZC_CHECK_OK (send_raw (sock, msg.bytes, make_hello (channel,
              (uint32_t) strlen (channel)), NULL, 0));
  for (unsigned i = 0; i < N_ELEMENTS (types); i++) {
    struct zc_wire_header h;
    int n = zc_wire_recv (sock, DEADLINE_S * 1000, buf, sizeof (buf), fds,
        &n_fds);

    ZC_CHECK (n >= (int) sizeof (h));
    memcpy (&h, buf, sizeof (h));
    ZC_CHECK_EQ (h.type, types[i]);
    /* WELCOME: the region's two files and the channel's doorbell. */
    ZC_CHECK_EQ (n_fds, i == 0 ? 3 : 0);
    zc_wire_close_fds (fds, &n_fds);
  }
  wait_n_consumers (p, 1);
  return sock;
}

static void
test_consumer_that_talks_after_welcome_is_dropped (void)
{
  zc_producer_t *p = start ("talker");
  int before = count_fds (), sock;
  size_t n = make_hello (channel, (uint32_t) strlen (channel));

  /* Another HELLO, or a single stray byte: consumers say nothing after
   * HELLO. */
  for (int i = 0; i < 2; i++) {
    sock = raw_attach (p);
    ZC_CHECK_OK (i == 0 ? send_raw (sock, msg.bytes, n, NULL, 0)
        : send_raw (sock, "x", 1, NULL, 0));
    ZC_CHECK_EQ (await_close (sock), -EPROTO);
    close (sock);
    wait_n_consumers (p, 0);
  }
  /* One that says HELLO and hangs up before the WELCOME.  Connections
   * are read in the order they came: once a later one is closed, the
   * producer has refused or admitted the first, and must then drop it. */
  sock = raw_connect (p);
  ZC_CHECK_OK (send_raw (sock, msg.bytes, n, NULL, 0));
  close (sock);
  sock = raw_connect (p);
  ZC_CHECK_OK (send_raw (sock, "x", 1, NULL, 0));
  check_code (await_close (sock), PROTO_ERROR);
  close (sock);
  wait_n_consumers (p, 0);
  check_fds_back_to (before);
  check_serves_a_frame (p, channel);
  finish (p);
}

static void
test_silent_client_times_out_without_delaying_a_real_consumer (void)
{
  struct pollfd pfd;
  zc_producer_t *p;
  uint64_t t0;
  int before, sock;

  p = start ("silent");
  before = count_fds ();
  sock = raw_connect (p);
  t0 = zc_now_ns ();
  check_serves_a_frame (p, channel);
  /* Served while the silent one still waits: nobody waited for it. */
  pfd = (struct pollfd) { sock, POLLIN, 0 };
  ZC_CHECK_EQ (poll (&pfd, 1, 0), 0);
  ZC_CHECK_EQ (await_close (sock), CLOSED_PLAIN);
  /* Not before the pending timeout (2 s); half of it leaves slack. */
  ZC_CHECK (zc_now_ns () - t0 >= SECOND);
  close (sock);
  ZC_CHECK_EQ (n_consumers (p), 0);
  check_fds_back_to (before);
  finish (p);
}

static void
test_forty_silent_clients_do_not_lock_out_a_real_consumer (void)
{
  int socks[40], before;
  zc_producer_t *p;
  zc_consumer_t *c;
  zc_event_t ev;

  p = start ("flood");
  before = count_fds ();
  for (unsigned i = 0; i < N_ELEMENTS (socks); i++)
    socks[i] = raw_connect (p);
  /* More than the pending slots: the real one gets in once they time
   * out, within its own receive timeout. */
  c = make_consumer (channel, NULL);
  ZC_CHECK_EQ (zc_consumer_receive (c, &ev, DEADLINE_S * SECOND),
      ZC_EVENT_CONNECTED);
  for (unsigned i = 0; i < N_ELEMENTS (socks); i++) {
    ZC_CHECK_EQ (await_close (socks[i]), CLOSED_PLAIN);
    close (socks[i]);
  }
  publish_one (p, 1, 7);
  receive_frame (c, 7);
  zc_consumer_free (c);
  wait_n_consumers (p, 0);
  check_fds_back_to (before);
  finish (p);
}

int
main (int argc, char **argv)
{
  static const zc_test_case tests[] = {
    ZC_TEST (test_garbage_datagrams_never_get_a_consumer_in),
    ZC_TEST (test_truncated_and_mislabelled_headers_are_refused),
    ZC_TEST (test_unknown_protocol_version_is_refused_with_eversion),
    ZC_TEST (test_oversized_datagram_is_refused),
    ZC_TEST (test_malformed_hello_is_refused),
    ZC_TEST (test_hello_for_another_channel_is_refused_with_enamemismatch),
    ZC_TEST (test_consumer_that_talks_after_welcome_is_dropped),
    ZC_TEST (test_silent_client_times_out_without_delaying_a_real_consumer),
    ZC_TEST (test_forty_silent_clients_do_not_lock_out_a_real_consumer),
  };
  return zc_test_main (argc, argv, tests, ZC_N_TESTS (tests));
}

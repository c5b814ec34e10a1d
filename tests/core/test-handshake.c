/* Hostile clients against the producer's control socket.
 *
 * The producer runs in the test process; a raw client connects to its
 * socket and sends crafted datagrams.  For each, the producer must end the
 * connection (a REFUSE with the right code, or a plain close) within a
 * deadline, keep no consumer, leak no descriptor, and still serve a real
 * zc_consumer afterwards.  Each test has its own XDG_RUNTIME_DIR, checked
 * empty once the producer is freed.
 */
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <zc/zc.h>

#include "zc-test.h"
#include "../../lib/producer-private.h"
#include "../../lib/wire.h"
#include "../examples/frame-pattern.h"

#define SECOND INT64_C (1000000000)
/* Generous: anything the producer does here takes milliseconds. */
#define DEADLINE_S 10
#define FRAME_SIZE 1000u
/* await_close() results besides a REFUSE code. */
#define CLOSED_PLAIN 1          /* closed without a REFUSE */
#define PROTO_ERROR 2           /* expectation: CLOSED_PLAIN or -EPROTO */
#define NOBODY 65534
#define N_ELEMENTS(a) (sizeof (a) / sizeof ((a)[0]))

static char runtime_dir[64];
static char channel[64];

static void
nap_ms (int ms)
{
  struct timespec ts = { 0, ms * 1000000L };
  nanosleep (&ts, NULL);
}

/* A fresh XDG_RUNTIME_DIR and a channel name no other test uses. */
static void
setup (const char *what)
{
  snprintf (runtime_dir, sizeof (runtime_dir), "/tmp/zc-hs-XXXXXX");
  ZC_CHECK (mkdtemp (runtime_dir) != NULL);
  ZC_CHECK (setenv ("XDG_RUNTIME_DIR", runtime_dir, 1) == 0);
  snprintf (channel, sizeof (channel), "hs-%d-%s", (int) getpid (), what);
}

static int
dir_entries (const char *path)
{
  DIR *d = opendir (path);
  struct dirent *e;
  int n = 0;

  if (d == NULL)
    return 0;
  while ((e = readdir (d)) != NULL)
    if (strcmp (e->d_name, ".") != 0 && strcmp (e->d_name, "..") != 0)
      n++;
  closedir (d);
  return n;
}

/* Frees @p and checks it left nothing in the socket directory. */
static void
finish (zc_producer_t * p)
{
  char dir[128];

  zc_producer_free (p);
  snprintf (dir, sizeof (dir), "%s/zerocopy", runtime_dir);
  ZC_CHECK_EQ (dir_entries (dir), 0);
  rmdir (dir);
  ZC_CHECK (rmdir (runtime_dir) == 0);
}

static int
count_fds (void)
{
  return dir_entries ("/proc/self/fd") - 1;    /* the listing's own */
}

/* The control thread closes its ends a moment after we see ours close. */
static void
check_fds_back_to (int expected)
{
  uint64_t deadline = zc_now_ns () + DEADLINE_S * SECOND;
  int n;

  while ((n = count_fds ()) != expected && zc_now_ns () < deadline)
    nap_ms (1);
  ZC_CHECK_EQ (n, expected);
}

static unsigned
n_consumers (zc_producer_t * p)
{
  zc_channel_stats_t st;

  zc_producer_get_stats (p, &st);
  return st.n_consumers;
}

static void
wait_n_consumers (zc_producer_t * p, unsigned n)
{
  uint64_t deadline = zc_now_ns () + DEADLINE_S * SECOND;

  while (n_consumers (p) != n && zc_now_ns () < deadline)
    nap_ms (1);
  ZC_CHECK_EQ (n_consumers (p), n);
}

static zc_producer_t *
make_producer (const char *name, const char *path, unsigned max_consumers,
    uint32_t permissions)
{
  zc_producer_config_t cfg;
  zc_producer_t *p;

  zc_producer_config_init (&cfg);
  cfg.name = name;
  cfg.socket_path = path;
  cfg.max_consumers = max_consumers;
  cfg.permissions = permissions;
  /* Consumers here idle between steps: no eviction in the way. */
  cfg.heartbeat_timeout_ns = 60 * SECOND;
  ZC_CHECK_OK (zc_producer_new (&cfg, &p));
  return p;
}

/* setup(), and a producer of the channel. */
static zc_producer_t *
start (const char *what)
{
  setup (what);
  return make_producer (channel, NULL, 4, 0);
}

/* Publishes frame @n once @n_expected consumers are attached. */
static void
publish_one (zc_producer_t * p, unsigned n_expected, uint64_t n)
{
  zc_frame_t f;

  ZC_CHECK (zc_producer_wait_consumers (p, n_expected,
          DEADLINE_S * SECOND) >= (int) n_expected);
  ZC_CHECK_OK (zc_producer_acquire (p, &f, DEADLINE_S * SECOND));
  frame_pattern_fill (f.data, FRAME_SIZE, n);
  f.desc.size = FRAME_SIZE;
  ZC_CHECK_EQ (zc_producer_publish (p, &f, DEADLINE_S * SECOND), n_expected);
}

static zc_consumer_t *
make_consumer (const char *name, const char *path)
{
  zc_consumer_config_t cc;
  zc_consumer_t *c;

  zc_consumer_config_init (&cc);
  cc.name = name;
  cc.socket_path = path;
  ZC_CHECK_OK (zc_consumer_new (&cc, &c));
  return c;
}

/* Receives frame @n, checks it byte by byte and gives it back. */
static void
receive_frame (zc_consumer_t * c, uint64_t n)
{
  zc_event_t ev;
  uint64_t got;

  ZC_CHECK_EQ (zc_consumer_receive (c, &ev, DEADLINE_S * SECOND),
      ZC_EVENT_FRAME);
  ZC_CHECK_EQ (ev.frame.desc.size, FRAME_SIZE);
  ZC_CHECK (frame_pattern_check (ev.frame.data, FRAME_SIZE, &got));
  ZC_CHECK_EQ (got, n);
  ZC_CHECK_OK (zc_consumer_release (c, &ev.frame));
}

/* A well-behaved consumer attaches, gets a frame whole and leaves: the
 * producer survived whatever came before. */
static void
check_serves_a_frame (zc_producer_t * p, const char *name)
{
  unsigned before = n_consumers (p);
  zc_consumer_t *c = make_consumer (name, name ? NULL :
      zc_producer_socket_path (p));
  zc_event_t ev;

  ZC_CHECK_EQ (zc_consumer_receive (c, &ev, DEADLINE_S * SECOND),
      ZC_EVENT_CONNECTED);
  publish_one (p, before + 1, 42);
  receive_frame (c, 42);
  zc_consumer_free (c);
  wait_n_consumers (p, before);
}

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

/* Whether @fd polls readable within @timeout_ms. */
static bool
readable (int fd, int timeout_ms)
{
  struct pollfd pfd = { fd, POLLIN, 0 };

  return poll (&pfd, 1, timeout_ms) == 1 && (pfd.revents & POLLIN);
}

/* Two applications' poll loops on zc_consumer_fd(): one publish wakes
 * both (they share the channel's doorbell: one ring for every sleeper),
 * a spent ring no longer wakes, and the producer's goodbye does. */
static void
test_poll_loop_on_consumer_fd_wakes_for_frames_and_goodbye (void)
{
  zc_producer_t *p = start ("pollfd");
  zc_consumer_t *c[2];
  zc_event_t ev;

  for (int i = 0; i < 2; i++) {
    c[i] = make_consumer (channel, NULL);
    ZC_CHECK_EQ (zc_consumer_receive (c[i], &ev, 0), ZC_EVENT_CONNECTED);
  }
  for (uint64_t n = 1; n <= 3; n++) {
    /* Nothing there: the call arms the descriptor, which stays quiet. */
    for (int i = 0; i < 2; i++) {
      ZC_CHECK_EQ (zc_consumer_receive (c[i], &ev, 0), -EAGAIN);
      ZC_CHECK (!readable (zc_consumer_fd (c[i]), 0));
    }
    publish_one (p, 2, n);
    for (int i = 0; i < 2; i++) {
      uint64_t got;

      ZC_CHECK (readable (zc_consumer_fd (c[i]), DEADLINE_S * 1000));
      ZC_CHECK_EQ (zc_consumer_receive (c[i], &ev, 0), ZC_EVENT_FRAME);
      ZC_CHECK (frame_pattern_check (ev.frame.data, FRAME_SIZE, &got));
      ZC_CHECK_EQ (got, n);
      ZC_CHECK_OK (zc_consumer_release (c[i], &ev.frame));
    }
  }
  /* The last ring is spent by the -EAGAIN that re-arms. */
  for (int i = 0; i < 2; i++) {
    ZC_CHECK_EQ (zc_consumer_receive (c[i], &ev, 0), -EAGAIN);
    ZC_CHECK (!readable (zc_consumer_fd (c[i]), 0));
  }
  finish (p);
  for (int i = 0; i < 2; i++) {
    ZC_CHECK (readable (zc_consumer_fd (c[i]), DEADLINE_S * 1000));
    ZC_CHECK_EQ (zc_consumer_receive (c[i], &ev, 0), ZC_EVENT_DISCONNECTED);
    ZC_CHECK_EQ (ev.code, 0);
    zc_consumer_free (c[i]);
  }
}

/* Every consumer holds the channel's doorbell, so a hostile one can read
 * its count back to zero between a ring and another consumer's wait.
 * That must not take the ring from the other: it still wakes, and finds
 * its frame. */
static void
test_a_peer_emptying_the_doorbell_takes_no_wake_up (void)
{
  zc_producer_t *p = start ("drained");
  zc_consumer_t *c = make_consumer (channel, NULL);
  zc_event_t ev;
  uint64_t count, got;

  ZC_CHECK_EQ (zc_consumer_receive (c, &ev, 0), ZC_EVENT_CONNECTED);
  for (uint64_t n = 1; n <= 3; n++) {
    ZC_CHECK_EQ (zc_consumer_receive (c, &ev, 0), -EAGAIN);
    ZC_CHECK (!readable (zc_consumer_fd (c), 0));
    publish_one (p, 1, n);
    /* The peer: the producer's end is the same file as everyone's. */
    ZC_CHECK (read (p->doorbell, &count, sizeof (count)) ==
        (ssize_t) sizeof (count));
    ZC_CHECK (count >= 1);
    ZC_CHECK (readable (zc_consumer_fd (c), DEADLINE_S * 1000));
    ZC_CHECK_EQ (zc_consumer_receive (c, &ev, 0), ZC_EVENT_FRAME);
    ZC_CHECK (frame_pattern_check (ev.frame.data, FRAME_SIZE, &got));
    ZC_CHECK_EQ (got, n);
    ZC_CHECK_OK (zc_consumer_release (c, &ev.frame));
  }
  zc_consumer_free (c);
  finish (p);
}

/* A fake producer at @path (forked): takes one HELLO and answers with a
 * WELCOME carrying @n_fds descriptors, the last of them @bell (-1: all
 * eventfds); then waits for the consumer to hang up. */
static pid_t
fake_producer (const char *path, unsigned n_fds, int bell)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int lsock = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  pid_t pid;

  ZC_CHECK (lsock >= 0 && strlen (path) < sizeof (addr.sun_path));
  memcpy (addr.sun_path, path, strlen (path) + 1);
  ZC_CHECK (bind (lsock, (struct sockaddr *) &addr, sizeof (addr)) == 0);
  ZC_CHECK (listen (lsock, 1) == 0);
  pid = fork ();
  ZC_CHECK (pid >= 0);
  if (pid == 0) {
    static uint8_t buf[ZC_WIRE_MAX_SIZE];
    struct zc_wire_welcome w = { 0 };
    int fds[ZC_WIRE_MAX_FDS], got[ZC_WIRE_MAX_FDS];
    int sock = accept (lsock, NULL, NULL);
    unsigned n_got;

    alarm (DEADLINE_S);
    for (unsigned i = 0; i < n_fds; i++)
      fds[i] = i + 1 == n_fds && bell >= 0 ? bell : eventfd (0, EFD_CLOEXEC);
    if (sock < 0 || zc_wire_recv (sock, DEADLINE_S * 1000, buf, sizeof (buf),
            got, &n_got) <= 0)
      _exit (1);
    w.heartbeat_timeout_ns = SECOND;
    if (zc_wire_send (sock, ZC_WIRE_WELCOME, 0, &w, sizeof (w), fds,
            n_fds) < 0)
      _exit (1);
    _exit (recv (sock, buf, 1, 0) == 0 ? 0 : 1);
  }
  close (lsock);
  return pid;
}

/* The doorbell a WELCOME brings must be an eventfd, and there must be
 * one: anything else is refused and every descriptor that came is closed
 * (a pipe kept readable by its writer would make the consumer spin). */
static void
test_welcome_without_an_eventfd_doorbell_is_refused (void)
{
  int pipefd[2], sv[2];
  char path[96];

  setup ("welcome");
  ZC_CHECK (pipe2 (pipefd, O_CLOEXEC) == 0);
  ZC_CHECK (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  snprintf (path, sizeof (path), "%s/fake.sock", runtime_dir);
  for (int i = 0; i < 4; i++) {
    const int bells[] = { pipefd[0], sv[0], pipefd[1], -1 };
    int before = count_fds (), status;
    /* The last one: the two descriptors of protocol version 1. */
    pid_t pid = fake_producer (path, i < 3 ? 3 : 2, bells[i]);
    zc_consumer_t *c = make_consumer (NULL, path);
    zc_event_t ev;

    ZC_CHECK_EQ (zc_consumer_receive (c, &ev, DEADLINE_S * SECOND), -EPROTO);
    zc_consumer_free (c);
    ZC_CHECK (waitpid (pid, &status, 0) == pid);
    ZC_CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    ZC_CHECK (unlink (path) == 0);
    check_fds_back_to (before);
  }
  close (pipefd[0]);
  close (pipefd[1]);
  close (sv[0]);
  close (sv[1]);
  ZC_CHECK (rmdir (runtime_dir) == 0);
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

/* In a child that became @uid/@gid: a consumer of @path either refused for
 * permission, or given frame 9. */
static pid_t
spawn_other_user (const char *path, uid_t uid, gid_t gid, bool admitted)
{
  pid_t pid = fork ();
  zc_consumer_t *c;
  zc_event_t ev;
  int ret;

  ZC_CHECK (pid >= 0);
  if (pid > 0)
    return pid;
  ZC_CHECK (setgroups (0, NULL) == 0 && setgid (gid) == 0
      && setuid (uid) == 0);
  c = make_consumer (NULL, path);
  ret = zc_consumer_receive (c, &ev, DEADLINE_S * SECOND);
  if (!admitted) {
    if (ret != -EACCES || !strcasestr (zc_consumer_last_error (c), "permission"))
      ZC_FAIL ("uid %d: receive gave %d (%s), last error \"%s\"", (int) uid,
          ret, zc_strerror (ret), zc_consumer_last_error (c));
  } else {
    ZC_CHECK_EQ (ret, ZC_EVENT_CONNECTED);
    receive_frame (c, 9);
  }
  zc_consumer_free (c);
  _exit (0);
}

static void
check_other_user (const char *dir, uint32_t permissions, gid_t gid,
    bool admitted, bool open_socket_file)
{
  char path[ZC_SOCKET_PATH_MAX + 1];
  zc_producer_t *p;
  pid_t pid;
  int status;

  snprintf (path, sizeof (path), "%s/ch.sock", dir);
  p = make_producer (NULL, path, 4, permissions);
  /* As if an ACL or a careless chmod let anyone connect: the peer
   * credentials are checked all the same. */
  if (open_socket_file)
    ZC_CHECK (chmod (path, 0777) == 0);
  pid = spawn_other_user (path, NOBODY, gid, admitted);
  if (admitted)
    publish_one (p, 1, 9);
  status = zc_test_wait (pid, 3 * DEADLINE_S);
  ZC_CHECK (status != -1 && WIFEXITED (status)
      && WEXITSTATUS (status) == 0);
  wait_n_consumers (p, 0);
  zc_producer_free (p);
  ZC_CHECK_EQ (dir_entries (dir), 0);
}

static void
test_other_user_is_refused_unless_permitted (void)
{
  char dir[] = "/tmp/zc-hs-open-XXXXXX";

  if (geteuid () != 0) {
    fprintf (stderr, "# SKIP: needs root to become another user\n");
    return;
  }
  setup ("uid");
  /* Per-user socket dirs are 0700: the other user needs a path it can
   * reach. */
  ZC_CHECK (mkdtemp (dir) != NULL && chmod (dir, 0777) == 0);
  check_other_user (dir, 0, NOBODY, false, true);
  check_other_user (dir, ZC_PERMIT_GROUP, NOBODY, false, true);
  check_other_user (dir, ZC_PERMIT_GROUP, getegid (), true, false);
  check_other_user (dir, ZC_PERMIT_OTHERS, NOBODY, true, false);
  /* The socket file as the producer made it keeps the other user out at
   * connect(): the consumer must still say why. */
  check_other_user (dir, 0, NOBODY, false, false);
  ZC_CHECK (rmdir (dir) == 0);
  ZC_CHECK (rmdir (runtime_dir) == 0);
}

static void
test_third_consumer_over_max_consumers_waits_for_a_free_slot (void)
{
  zc_consumer_t *c[3];
  zc_producer_t *p;
  zc_event_t ev;

  setup ("full");
  p = make_producer (channel, NULL, 2, 0);
  for (unsigned i = 0; i < 3; i++)
    c[i] = make_consumer (channel, NULL);
  ZC_CHECK_EQ (zc_consumer_receive (c[0], &ev, DEADLINE_S * SECOND),
      ZC_EVENT_CONNECTED);
  ZC_CHECK_EQ (zc_consumer_receive (c[1], &ev, DEADLINE_S * SECOND),
      ZC_EVENT_CONNECTED);
  ZC_CHECK_EQ (zc_consumer_receive (c[2], &ev, DEADLINE_S * SECOND),
      -EUSERS);
  ZC_CHECK (strstr (zc_consumer_last_error (c[2]), "max-consumers"));
  ZC_CHECK_EQ (zc_consumer_slot (c[2]), -1);
  ZC_CHECK_EQ (n_consumers (p), 2);

  zc_consumer_free (c[0]);
  wait_n_consumers (p, 1);
  ZC_CHECK_EQ (zc_consumer_receive (c[2], &ev, DEADLINE_S * SECOND),
      ZC_EVENT_CONNECTED);
  publish_one (p, 2, 3);
  receive_frame (c[1], 3);
  receive_frame (c[2], 3);
  zc_consumer_free (c[1]);
  zc_consumer_free (c[2]);
  wait_n_consumers (p, 0);
  finish (p);
}

static void
test_longest_name_works_and_invalid_names_are_refused (void)
{
  static const char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
  char longest[ZC_CHANNEL_NAME_MAX + 1], too_long[ZC_CHANNEL_NAME_MAX + 2];
  zc_producer_config_t cfg;
  zc_consumer_config_t cc;
  zc_producer_t *p;
  zc_consumer_t *c;
  char dir[128];

  setup ("names");
  for (unsigned i = 0; i < ZC_CHANNEL_NAME_MAX; i++)
    longest[i] = alphabet[(i + (unsigned) getpid ()) % (sizeof (alphabet) - 1)];
  longest[ZC_CHANNEL_NAME_MAX] = '\0';
  p = make_producer (longest, NULL, 4, 0);
  ZC_CHECK (strlen (zc_producer_socket_path (p)) <= ZC_SOCKET_PATH_MAX);
  check_serves_a_frame (p, longest);
  zc_producer_free (p);

  memset (too_long, 'a', sizeof (too_long) - 1);
  too_long[sizeof (too_long) - 1] = '\0';
  const char *bad[] = { "", too_long, "/", "a/b", ".", "..", "a.b", " ",
    "a b", "a\tb", "a\nb", "caf\xc3\xa9", "\xe2\x82\xac", "\xff", "a:b",
    "*", "../x"
  };
  zc_producer_config_init (&cfg);
  zc_consumer_config_init (&cc);
  for (unsigned i = 0; i < N_ELEMENTS (bad); i++) {
    cfg.name = cc.name = bad[i];
    ZC_CHECK_EQ (zc_producer_new (&cfg, &p), -EINVAL);
    ZC_CHECK_EQ (zc_consumer_new (&cc, &c), -EINVAL);
  }
  snprintf (dir, sizeof (dir), "%s/zerocopy", runtime_dir);
  ZC_CHECK_EQ (dir_entries (dir), 0);
  rmdir (dir);
  ZC_CHECK (rmdir (runtime_dir) == 0);
}

/* "--producer NAME FD": a producer that says so on FD, then waits to be
 * killed. */
static int
producer_main (const char *name, int ready_fd)
{
  zc_producer_t *p = make_producer (name, NULL, 4, 0);

  (void) p;
  ZC_CHECK_EQ (write (ready_fd, "p", 1), 1);
  for (;;)
    pause ();
}

/* Starts this binary again as a producer of the channel, in a process
 * group of its own (its janitor child with it); returns once it listens. */
static pid_t
spawn_producer (void)
{
  int pipefd[2];
  pid_t pid;
  char c;

  ZC_CHECK (pipe2 (pipefd, O_CLOEXEC) == 0);
  pid = fork ();
  ZC_CHECK (pid >= 0);
  if (pid == 0) {
    char fd[16];

    setpgid (0, 0);
    fcntl (pipefd[1], F_SETFD, 0);
    snprintf (fd, sizeof (fd), "%d", pipefd[1]);
    execl (zc_test_self (), zc_test_self (), "--producer", channel, fd,
        (char *) NULL);
    _exit (127);
  }
  setpgid (pid, pid);           /* either of us may win the race */
  close (pipefd[1]);
  ZC_CHECK_EQ (read (pipefd[0], &c, 1), 1);
  close (pipefd[0]);
  return pid;
}

static void
restart_after_kill (bool whole_group)
{
  char path[ZC_SOCKET_PATH_MAX + 1];
  struct stat st;
  zc_producer_t *p;
  pid_t pid = spawn_producer ();
  int sock;

  kill (whole_group ? -pid : pid, SIGKILL);
  ZC_CHECK (zc_test_wait (pid, DEADLINE_S) != -1);
  if (whole_group) {
    uint64_t deadline = zc_now_ns () + DEADLINE_S * SECOND;
    int ret;

    /* Nobody left to clean up: a file nobody answers on, once the
     * janitor (which may still hold a copy of the listening socket for an
     * instant after its fork) is gone too. */
    ZC_CHECK_OK (zc_channel_socket_path (channel, path, sizeof (path)));
    while ((ret = zc_channel_connect (path, &sock)) == 0
        && zc_now_ns () < deadline) {
      close (sock);
      nap_ms (1);
    }
    ZC_CHECK_EQ (ret, -ECONNREFUSED);
    ZC_CHECK (lstat (path, &st) == 0 && S_ISSOCK (st.st_mode));
  }
  /* Alone, its janitor may still be about to clean up: it must not take
   * the new producer's socket with it. */
  p = make_producer (channel, NULL, 4, 0);
  check_serves_a_frame (p, channel);
  nap_ms (50);
  check_serves_a_frame (p, channel);
  zc_producer_free (p);
}

static void
test_stale_socket_of_a_killed_producer_is_replaced (void)
{
  char dir[128];

  setup ("stale");
  restart_after_kill (false);
  /* A channel of its own: the janitor of the first round may still be
   * retrying (up to 2 s), and would rightly take a socket nobody answers
   * on under its name, which this round must find in place. */
  snprintf (channel, sizeof (channel), "hs-%d-stale-group", (int) getpid ());
  restart_after_kill (true);
  snprintf (dir, sizeof (dir), "%s/zerocopy", runtime_dir);
  ZC_CHECK_EQ (dir_entries (dir), 0);
  rmdir (dir);
  ZC_CHECK (rmdir (runtime_dir) == 0);
}

int
main (int argc, char **argv)
{
  if (argc == 4 && strcmp (argv[1], "--producer") == 0)
    return producer_main (argv[2], atoi (argv[3]));

  static const zc_test_case tests[] = {
    ZC_TEST (test_garbage_datagrams_never_get_a_consumer_in),
    ZC_TEST (test_truncated_and_mislabelled_headers_are_refused),
    ZC_TEST (test_unknown_protocol_version_is_refused_with_eversion),
    ZC_TEST (test_oversized_datagram_is_refused),
    ZC_TEST (test_malformed_hello_is_refused),
    ZC_TEST (test_hello_for_another_channel_is_refused_with_enamemismatch),
    ZC_TEST (test_consumer_that_talks_after_welcome_is_dropped),
    ZC_TEST (test_poll_loop_on_consumer_fd_wakes_for_frames_and_goodbye),
    ZC_TEST (test_a_peer_emptying_the_doorbell_takes_no_wake_up),
    ZC_TEST (test_welcome_without_an_eventfd_doorbell_is_refused),
    ZC_TEST (test_silent_client_times_out_without_delaying_a_real_consumer),
    ZC_TEST (test_forty_silent_clients_do_not_lock_out_a_real_consumer),
    ZC_TEST (test_other_user_is_refused_unless_permitted),
    ZC_TEST (test_third_consumer_over_max_consumers_waits_for_a_free_slot),
    ZC_TEST (test_longest_name_works_and_invalid_names_are_refused),
    ZC_TEST (test_stale_socket_of_a_killed_producer_is_replaced),
  };
  return zc_test_main (argc, argv, tests, ZC_N_TESTS (tests));
}

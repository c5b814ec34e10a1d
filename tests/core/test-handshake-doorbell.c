/* The consumer's side of the doorbell: the eventfd every consumer of a
 * channel shares, which the producer rings at each publish.
 *
 * An application's poll loop on zc_consumer_fd() wakes for frames and for
 * the producer's goodbye, a peer reading the doorbell empty takes no
 * wake-up from the others, and a WELCOME whose doorbell is no eventfd (from
 * a fake producer) is refused.  Each test has its own XDG_RUNTIME_DIR.
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <zc/zc.h>

#include "zc-test.h"
#include "../../lib/producer-private.h"
#include "../../lib/wire.h"
#include "../examples/frame-pattern.h"
#include "handshake-harness.h"

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

int
main (int argc, char **argv)
{
  static const zc_test_case tests[] = {
    ZC_TEST (test_poll_loop_on_consumer_fd_wakes_for_frames_and_goodbye),
    ZC_TEST (test_a_peer_emptying_the_doorbell_takes_no_wake_up),
    ZC_TEST (test_welcome_without_an_eventfd_doorbell_is_refused),
  };
  return zc_test_main (argc, argv, tests, ZC_N_TESTS (tests));
}

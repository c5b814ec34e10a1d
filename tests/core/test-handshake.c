/* Who the producer's handshake admits, with real consumers.
 *
 * Another user only when the producer's permissions say so (and told why
 * when not), no more consumers than max_consumers (a refused one gets in
 * once a slot frees), channel names from the longest allowed to the
 * invalid ones, and a new producer in place of a killed one whose socket
 * file was left behind.  Each test has its own XDG_RUNTIME_DIR, checked
 * empty once the producer is freed.
 */
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <zc/zc.h>

#include "zc-test.h"
#include "handshake-harness.h"

#define NOBODY 65534

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
    ZC_TEST (test_other_user_is_refused_unless_permitted),
    ZC_TEST (test_third_consumer_over_max_consumers_waits_for_a_free_slot),
    ZC_TEST (test_longest_name_works_and_invalid_names_are_refused),
    ZC_TEST (test_stale_socket_of_a_killed_producer_is_replaced),
  };
  return zc_test_main (argc, argv, tests, ZC_N_TESTS (tests));
}

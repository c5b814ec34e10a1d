/* Tests of channel naming: which names are valid, where sockets live. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <zc/channel.h>

#include "zc-test.h"

/* Points XDG_RUNTIME_DIR at a fresh private directory of this test. */
static const char *
private_runtime_dir (void)
{
  static char dir[] = "/tmp/zc-test-channel.XXXXXX";
  ZC_CHECK (mkdtemp (dir) != NULL);
  ZC_CHECK_OK (setenv ("XDG_RUNTIME_DIR", dir, 1));
  return dir;
}

/* Removes what private_runtime_dir() and the code under test made. */
static void
remove_runtime_dir (const char *rt)
{
  char dir[256];
  snprintf (dir, sizeof (dir), "%s/zerocopy", rt);
  rmdir (dir);
  ZC_CHECK_OK (rmdir (rt));
}

static void
test_names_of_allowed_characters_are_valid (void)
{
  ZC_CHECK_OK (zc_channel_name_validate ("cam0"));
  ZC_CHECK_OK (zc_channel_name_validate ("a"));
  ZC_CHECK_OK (zc_channel_name_validate ("Front_Camera-2"));
  ZC_CHECK_OK (zc_channel_name_validate
      ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"));
}

static void
test_names_with_other_characters_are_refused (void)
{
  const char *bad[] = { "", "a/b", "..", "a.b", "a b", "caf\xc3\xa9", "a\tb",
    "a:b", "*", "a\\b", NULL
  };
  for (int i = 0; bad[i]; i++)
    ZC_CHECK_EQ (zc_channel_name_validate (bad[i]), -EINVAL);
  ZC_CHECK_EQ (zc_channel_name_validate (NULL), -EINVAL);
}

static void
test_name_of_255_characters_works_and_256_is_refused (void)
{
  char name[257], path[ZC_SOCKET_PATH_MAX + 1];
  memset (name, 'x', 256);
  name[255] = '\0';
  const char *rt = private_runtime_dir ();
  ZC_CHECK_OK (zc_channel_name_validate (name));
  ZC_CHECK_OK (zc_channel_socket_path (name, path, sizeof (path)));
  ZC_CHECK (strlen (path) <= ZC_SOCKET_PATH_MAX);
  ZC_CHECK (strstr (path, "/h-") != NULL);
  name[255] = 'x';
  name[256] = '\0';
  ZC_CHECK_EQ (zc_channel_name_validate (name), -EINVAL);
  ZC_CHECK_EQ (zc_channel_socket_path (name, path, sizeof (path)), -EINVAL);
  remove_runtime_dir (rt);
}

static void
test_long_names_that_differ_get_different_paths (void)
{
  char a[256], b[256], pa[ZC_SOCKET_PATH_MAX + 1], pb[ZC_SOCKET_PATH_MAX + 1];
  memset (a, 'q', 255);
  a[255] = '\0';
  memcpy (b, a, sizeof (a));
  b[254] = 'r';
  const char *rt = private_runtime_dir ();
  ZC_CHECK_OK (zc_channel_socket_path (a, pa, sizeof (pa)));
  ZC_CHECK_OK (zc_channel_socket_path (b, pb, sizeof (pb)));
  ZC_CHECK (strcmp (pa, pb) != 0);
  remove_runtime_dir (rt);
}

static void
test_socket_lives_in_the_runtime_dir_which_is_made_private (void)
{
  const char *rt = private_runtime_dir ();
  char path[ZC_SOCKET_PATH_MAX + 1], want[256];
  struct stat st;

  ZC_CHECK_OK (zc_channel_socket_path ("cam0", path, sizeof (path)));
  snprintf (want, sizeof (want), "%s/zerocopy/cam0.sock", rt);
  ZC_CHECK (strcmp (path, want) == 0);
  snprintf (want, sizeof (want), "%s/zerocopy", rt);
  ZC_CHECK_OK (lstat (want, &st));
  ZC_CHECK (S_ISDIR (st.st_mode));
  ZC_CHECK_EQ (st.st_mode & 0777, 0700);
  remove_runtime_dir (rt);
}

static void
test_without_runtime_dir_the_fallback_is_per_user_in_tmp (void)
{
  char dir[128], want[64];
  unsetenv ("XDG_RUNTIME_DIR");
  ZC_CHECK_OK (zc_channel_socket_dir (dir, sizeof (dir)));
  snprintf (want, sizeof (want), "/tmp/zerocopy-%u", (unsigned) geteuid ());
  ZC_CHECK (strcmp (dir, want) == 0);
  /* A relative XDG_RUNTIME_DIR is not trusted either. */
  ZC_CHECK_OK (setenv ("XDG_RUNTIME_DIR", "relative/dir", 1));
  ZC_CHECK_OK (zc_channel_socket_dir (dir, sizeof (dir)));
  ZC_CHECK (strcmp (dir, want) == 0);
}

static void
test_socket_dir_open_to_others_is_refused (void)
{
  const char *rt = private_runtime_dir ();
  char dir[256];
  snprintf (dir, sizeof (dir), "%s/zerocopy", rt);
  ZC_CHECK_OK (mkdir (dir, 0700));
  ZC_CHECK_OK (chmod (dir, 0777));
  ZC_CHECK_EQ (zc_channel_socket_dir (dir, sizeof (dir)), -EPERM);
  remove_runtime_dir (rt);
}

static void
test_socket_dir_that_is_a_symlink_is_refused (void)
{
  const char *rt = private_runtime_dir ();
  char dir[256], target[256];
  snprintf (target, sizeof (target), "%s/elsewhere", rt);
  snprintf (dir, sizeof (dir), "%s/zerocopy", rt);
  ZC_CHECK_OK (mkdir (target, 0700));
  ZC_CHECK_OK (symlink (target, dir));
  ZC_CHECK_EQ (zc_channel_socket_dir (dir, sizeof (dir)), -EPERM);
  snprintf (dir, sizeof (dir), "%s/zerocopy", rt);
  unlink (dir);
  rmdir (target);
  rmdir (rt);
}

static void
test_socket_dir_owned_by_another_user_is_refused (void)
{
  const char *rt = private_runtime_dir ();
  char dir[256];
  snprintf (dir, sizeof (dir), "%s/zerocopy", rt);
  ZC_CHECK_OK (mkdir (dir, 0700));
  if (geteuid () == 0) {
    ZC_CHECK_OK (chown (dir, 65534, 65534));
    ZC_CHECK_EQ (zc_channel_socket_dir (dir, sizeof (dir)), -EPERM);
  } else {
    /* Not root: a directory we cannot give away; the mode check above and
     * the uid comparison share the same path, so prove the latter holds
     * for our own directory. */
    ZC_CHECK_OK (zc_channel_socket_dir (dir, sizeof (dir)));
  }
  remove_runtime_dir (rt);
}

static void
test_small_buffers_are_refused (void)
{
  char tiny[4];
  const char *rt = private_runtime_dir ();
  ZC_CHECK_EQ (zc_channel_socket_dir (tiny, sizeof (tiny)), -ENAMETOOLONG);
  ZC_CHECK_EQ (zc_channel_socket_path ("cam0", tiny, sizeof (tiny)),
      -ENAMETOOLONG);
  remove_runtime_dir (rt);
}

/* Starts this binary again as a producer listening on @path; returns once
 * it listens. */
static pid_t
spawn_listener (const char *path)
{
  int p[2];
  char c;
  ZC_CHECK_OK (pipe2 (p, O_CLOEXEC));
  pid_t pid = fork ();
  ZC_CHECK (pid >= 0);
  if (pid == 0) {
    char fd[16];
    fcntl (p[1], F_SETFD, 0);
    snprintf (fd, sizeof (fd), "%d", p[1]);
    execl (zc_test_self (), zc_test_self (), "--listen", path, fd,
        (char *) NULL);
    _exit (127);
  }
  close (p[1]);
  ZC_CHECK_EQ (read (p[0], &c, 1), 1);
  close (p[0]);
  return pid;
}

static int
listener_main (const char *path, int ready_fd)
{
  int fd;
  ZC_CHECK_OK (zc_channel_listen (path, &fd));
  ZC_CHECK_EQ (write (ready_fd, "l", 1), 1);
  for (;;)
    pause ();
}

static void
test_stale_socket_of_a_killed_producer_is_replaced (void)
{
  const char *rt = private_runtime_dir ();
  char path[ZC_SOCKET_PATH_MAX + 1];
  struct stat st;
  int fd, client;

  ZC_CHECK_OK (zc_channel_socket_path ("cam0", path, sizeof (path)));
  pid_t pid = spawn_listener (path);
  kill (pid, SIGKILL);
  ZC_CHECK (zc_test_wait (pid, 30) != -1);
  /* What shmsink leaves behind too: a file nobody answers on. */
  ZC_CHECK_OK (lstat (path, &st));
  ZC_CHECK_EQ (zc_channel_connect (path, &client), -ECONNREFUSED);

  ZC_CHECK_OK (zc_channel_listen (path, &fd));
  ZC_CHECK_OK (zc_channel_connect (path, &client));
  close (client);
  close (fd);
  unlink (path);
  remove_runtime_dir (rt);
}

static void
test_live_producer_keeps_its_socket (void)
{
  const char *rt = private_runtime_dir ();
  char path[ZC_SOCKET_PATH_MAX + 1];
  int fd, client;

  ZC_CHECK_OK (zc_channel_socket_path ("cam0", path, sizeof (path)));
  pid_t pid = spawn_listener (path);
  ZC_CHECK_EQ (zc_channel_listen (path, &fd), -EADDRINUSE);
  ZC_CHECK_OK (zc_channel_connect (path, &client));
  close (client);
  kill (pid, SIGKILL);
  ZC_CHECK (zc_test_wait (pid, 30) != -1);
  unlink (path);
  remove_runtime_dir (rt);
}

static void
test_a_file_that_is_not_a_socket_is_left_alone (void)
{
  const char *rt = private_runtime_dir ();
  char path[ZC_SOCKET_PATH_MAX + 1];
  struct stat st;
  int fd;

  ZC_CHECK_OK (zc_channel_socket_path ("cam0", path, sizeof (path)));
  int f = open (path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  ZC_CHECK (f >= 0);
  close (f);
  ZC_CHECK_EQ (zc_channel_listen (path, &fd), -EADDRINUSE);
  ZC_CHECK_OK (lstat (path, &st));
  ZC_CHECK (S_ISREG (st.st_mode));
  unlink (path);
  remove_runtime_dir (rt);
}

static void
test_connect_without_producer_and_overlong_paths_fail_clearly (void)
{
  char longpath[200];
  int fd;
  memset (longpath, 'a', sizeof (longpath) - 1);
  longpath[0] = '/';
  longpath[sizeof (longpath) - 1] = '\0';
  ZC_CHECK_EQ (zc_channel_connect ("/nonexistent/zc/cam0.sock", &fd), -ENOENT);
  ZC_CHECK_EQ (zc_channel_connect (longpath, &fd), -ENAMETOOLONG);
  ZC_CHECK_EQ (zc_channel_listen (longpath, &fd), -ENAMETOOLONG);
  ZC_CHECK_EQ (zc_channel_listen ("", &fd), -EINVAL);
}

int
main (int argc, char **argv)
{
  if (argc == 4 && strcmp (argv[1], "--listen") == 0)
    return listener_main (argv[2], atoi (argv[3]));

  static const zc_test_case tests[] = {
    ZC_TEST (test_names_of_allowed_characters_are_valid),
    ZC_TEST (test_names_with_other_characters_are_refused),
    ZC_TEST (test_name_of_255_characters_works_and_256_is_refused),
    ZC_TEST (test_long_names_that_differ_get_different_paths),
    ZC_TEST (test_socket_lives_in_the_runtime_dir_which_is_made_private),
    ZC_TEST (test_without_runtime_dir_the_fallback_is_per_user_in_tmp),
    ZC_TEST (test_socket_dir_open_to_others_is_refused),
    ZC_TEST (test_socket_dir_that_is_a_symlink_is_refused),
    ZC_TEST (test_socket_dir_owned_by_another_user_is_refused),
    ZC_TEST (test_small_buffers_are_refused),
    ZC_TEST (test_stale_socket_of_a_killed_producer_is_replaced),
    ZC_TEST (test_live_producer_keeps_its_socket),
    ZC_TEST (test_a_file_that_is_not_a_socket_is_left_alone),
    ZC_TEST (test_connect_without_producer_and_overlong_paths_fail_clearly),
  };
  return zc_test_main (argc, argv, tests, ZC_N_TESTS (tests));
}

/* A small test runner for the core library's tests.
 *
 * Each test runs in its own forked child, so that a crash, an abort or a
 * deliberate fault fails (or passes) that test alone, and under a time
 * limit, so that no test can hang the suite.  Results are printed as TAP,
 * which meson counts test by test:
 *
 *   static void test_pool_starts_free (void) { ... ZC_CHECK (...); }
 *   static const zc_test_case tests[] = { ZC_TEST (test_pool_starts_free), };
 *   int main (int argc, char **argv) { return zc_test_main (argc, argv, tests, ZC_N_TESTS (tests)); }
 *
 * "prog NAME" runs one test in the foreground (no fork), for gdb.
 * Tests that need peers re-execute the test binary itself (zc_test_self())
 * with their own arguments: real, separate processes, not forks.
 */
#ifndef ZC_TEST_H
#define ZC_TEST_H

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zc/error.h>

typedef struct
{
  const char *name;
  void (*func) (void);
} zc_test_case;

#define ZC_TEST(f) { #f, f }
#define ZC_N_TESTS(a) ((int) (sizeof (a) / sizeof ((a)[0])))

/* Seconds a single test may take before it is killed and failed. */
#ifndef ZC_TEST_TIMEOUT_S
#define ZC_TEST_TIMEOUT_S 240
#endif

#define ZC_FAIL(...) do { \
    fprintf (stderr, "# %s:%d: ", __FILE__, __LINE__); \
    fprintf (stderr, __VA_ARGS__); fputc ('\n', stderr); \
    fflush (stderr); _exit (1); } while (0)

#define ZC_CHECK(cond) do { if (!(cond)) \
      ZC_FAIL ("check failed: %s", #cond); } while (0)

/* Compares two integer expressions, printing both values on failure. */
#define ZC_CHECK_EQ(a, b) do { long long _a = (long long) (a); \
    long long _b = (long long) (b); if (_a != _b) \
      ZC_FAIL ("%s == %s failed: %lld != %lld", #a, #b, _a, _b); } while (0)

/* A libzc call that must succeed (return >= 0). */
#define ZC_CHECK_OK(expr) do { long long _r = (long long) (expr); if (_r < 0) \
      ZC_FAIL ("%s failed: %lld (%s)", #expr, _r, zc_strerror ((int) _r)); \
  } while (0)

/* The path of the running test binary, for re-executing it as a peer. */
/* /dev/shm names that other software makes while our tests run: GStreamer's
 * shmsink ("shmpipe.PID.N"), which the benchmark test runs beside them.
 * libzc itself never makes any (memfd only): the tests that check that
 * /dev/shm stays clean skip these names. */
static inline int
zc_test_foreign_shm (const char *name)
{
  return strncmp (name, "shmpipe.", 8) == 0;
}

static inline const char *
zc_test_self (void)
{
  static char path[4096];
  if (!path[0]) {
    ssize_t n = readlink ("/proc/self/exe", path, sizeof (path) - 1);
    if (n <= 0)
      ZC_FAIL ("readlink /proc/self/exe: %s", strerror (errno));
    path[n] = '\0';
  }
  return path;
}

/* Waits for @pid up to @timeout_s seconds; kills it after that.
 * Returns the raw wait status, or -1 on timeout. */
static inline int
zc_test_wait (pid_t pid, int timeout_s)
{
  struct timespec start, now;
  clock_gettime (CLOCK_MONOTONIC, &start);
  for (;;) {
    int status;
    pid_t r = waitpid (pid, &status, WNOHANG);
    if (r == pid)
      return status;
    if (r < 0 && errno != EINTR)
      ZC_FAIL ("waitpid: %s", strerror (errno));
    clock_gettime (CLOCK_MONOTONIC, &now);
    if (now.tv_sec - start.tv_sec >= timeout_s) {
      kill (pid, SIGKILL);
      waitpid (pid, &status, 0);
      return -1;
    }
    struct timespec nap = { 0, 2 * 1000 * 1000 };
    nanosleep (&nap, NULL);
  }
}

static inline int
zc_test_main (int argc, char **argv, const zc_test_case * tests, int n)
{
  if (argc > 1) {
    for (int i = 0; i < n; i++)
      if (strcmp (argv[1], tests[i].name) == 0) {
        tests[i].func ();
        printf ("ok 1 - %s\n", tests[i].name);
        return 0;
      }
    fprintf (stderr, "no test named %s\n", argv[1]);
    return 2;
  }

  int failed = 0;
  printf ("1..%d\n", n);
  fflush (stdout);
  for (int i = 0; i < n; i++) {
    pid_t pid = fork ();
    if (pid < 0)
      ZC_FAIL ("fork: %s", strerror (errno));
    if (pid == 0) {
      tests[i].func ();
      fflush (NULL);
      _exit (0);
    }
    int status = zc_test_wait (pid, ZC_TEST_TIMEOUT_S);
    if (status == -1) {
      printf ("not ok %d - %s # timed out after %d s\n", i + 1,
          tests[i].name, ZC_TEST_TIMEOUT_S);
      failed++;
    } else if (WIFEXITED (status) && WEXITSTATUS (status) == 0) {
      printf ("ok %d - %s\n", i + 1, tests[i].name);
    } else {
      if (WIFSIGNALED (status))
        printf ("not ok %d - %s # killed by signal %d\n", i + 1,
            tests[i].name, WTERMSIG (status));
      else
        printf ("not ok %d - %s # exit status %d\n", i + 1, tests[i].name,
            WEXITSTATUS (status));
      failed++;
    }
    fflush (stdout);
  }
  return failed ? 1 : 0;
}

#endif /* ZC_TEST_H */

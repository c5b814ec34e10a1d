/* Helpers shared by the endpoint tests (see endpoints-harness.h), and the
 * peers: this binary re-executed with a role (peer_main), so each is a
 * real, separate process that maps the segment itself.
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>

#include <zc/zc.h>

#include "zc-test.h"
#include "../examples/frame-pattern.h"
#include "endpoints-harness.h"

static char runtime_dir[64];
char sock_dir[128];

/* A private runtime dir, so the socket directory is ours to inspect. */
void
private_runtime_dir (void)
{
  snprintf (runtime_dir, sizeof (runtime_dir), "/tmp/zc-endpoints-XXXXXX");
  ZC_CHECK (mkdtemp (runtime_dir) != NULL);
  setenv ("XDG_RUNTIME_DIR", runtime_dir, 1);
  snprintf (sock_dir, sizeof (sock_dir), "%s/zerocopy", runtime_dir);
}

int
count_entries (const char *dir)
{
  DIR *d = opendir (dir);
  struct dirent *e;
  int n = 0;

  if (d == NULL)
    return 0;
  while ((e = readdir (d)) != NULL)
    if (strcmp (e->d_name, ".") && strcmp (e->d_name, "..")
        && !zc_test_foreign_shm (e->d_name))
      n++;
  closedir (d);
  return n;
}

int
count_shm (void)
{
  return count_entries ("/dev/shm");
}

/* Every test ends here: the socket directory must be empty (a killed
 * producer's janitor may take a moment), then it and the runtime dir go. */
void
leave_nothing_behind (void)
{
  WAIT_FOR (count_entries (sock_dir) == 0, 5000);
  ZC_CHECK (rmdir (sock_dir) == 0 || errno == ENOENT);
  ZC_CHECK (rmdir (runtime_dir) == 0);
}

/* Starts this binary as a peer: --peer ROLE NAME ARG FD, FD the write end
 * of a pipe whose read end we return in @result. */
pid_t
spawn (const char *role, const char *name, uint64_t arg, int *result)
{
  int p[2];
  pid_t pid;

  ZC_CHECK (pipe (p) == 0);
  pid = fork ();
  ZC_CHECK (pid >= 0);
  if (pid == 0) {
    char fd[16], a[32];

    /* A failing test must not leave peers behind. */
    prctl (PR_SET_PDEATHSIG, SIGKILL);
    close (p[0]);
    snprintf (fd, sizeof (fd), "%d", p[1]);
    snprintf (a, sizeof (a), "%llu", (unsigned long long) arg);
    execl (zc_test_self (), zc_test_self (), "--peer", role, name, a, fd,
        (char *) NULL);
    _exit (127);
  }
  close (p[1]);
  if (result)
    *result = p[0];
  else
    close (p[0]);
  return pid;
}

/* Reads one 8-byte report from a peer, within @timeout_ms. */
uint64_t
read_report (int fd, int timeout_ms)
{
  struct pollfd pfd = { fd, POLLIN, 0 };
  uint64_t v;

  ZC_CHECK (poll (&pfd, 1, timeout_ms) == 1);
  ZC_CHECK_EQ (read (fd, &v, sizeof (v)), sizeof (v));
  return v;
}

void
expect_exit_ok (pid_t pid, int timeout_s)
{
  int status = zc_test_wait (pid, timeout_s);

  ZC_CHECK (status != -1);
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    ZC_FAIL ("peer %d ended with status 0x%x", (int) pid, status);
}

zc_producer_t *
make_producer (const char *name, zc_policy_t policy, uint64_t size,
    uint32_t blocks, uint64_t heartbeat_ns)
{
  zc_producer_config_t cfg;
  zc_producer_t *p;

  zc_producer_config_init (&cfg);
  cfg.name = name;
  cfg.policy = policy;
  cfg.block_size = size;
  cfg.n_blocks = blocks;
  if (heartbeat_ns)
    cfg.heartbeat_timeout_ns = heartbeat_ns;
  ZC_CHECK_OK (zc_producer_new (&cfg, &p));
  return p;
}

/* A consumer in this process, attached (receive attaches; the producer's
 * control thread answers meanwhile). */
zc_consumer_t *
local_consumer (const char *name)
{
  zc_consumer_config_t cfg;
  zc_consumer_t *c;
  zc_event_t ev;

  zc_consumer_config_init (&cfg);
  cfg.name = name;
  ZC_CHECK_OK (zc_consumer_new (&cfg, &c));
  ZC_CHECK_EQ (zc_consumer_receive (c, &ev, 20 * SEC), ZC_EVENT_CONNECTED);
  return c;
}

/* Publishes frame number @n of @size bytes. */
int
publish (zc_producer_t * p, uint64_t n, uint64_t size, int64_t timeout)
{
  zc_frame_t f;
  int r = zc_producer_acquire (p, &f, timeout);

  if (r < 0)
    return r;
  frame_pattern_fill (f.data, size, n);
  f.desc.size = size;
  f.desc.pts = n;
  return zc_producer_publish (p, &f, timeout);
}

unsigned
pool_free (zc_producer_t * p)
{
  zc_channel_stats_t st;

  zc_producer_get_stats (p, &st);
  return st.pool.n_free;
}

unsigned
n_consumers (zc_producer_t * p)
{
  zc_channel_stats_t st;

  zc_producer_get_stats (p, &st);
  return st.n_consumers;
}

/* ---- peers ---- */

static void
report (int fd, uint64_t v)
{
  if (write (fd, &v, sizeof (v)) != sizeof (v))
    _exit (3);
}

static zc_consumer_t *
peer_consumer (const char *name, uint32_t max_held)
{
  zc_consumer_config_t cfg;
  zc_consumer_t *c;

  zc_consumer_config_init (&cfg);
  cfg.name = name;
  cfg.max_held = max_held;
  if (zc_consumer_new (&cfg, &c) < 0)
    _exit (4);
  return c;
}

#define PEER_CHECK(cond) do { if (!(cond)) { \
      fprintf (stderr, "# peer %s: %s:%d: %s\n", role, __FILE__, __LINE__, \
          #cond); _exit (1); } } while (0)

int
peer_main (const char *role, const char *name, uint64_t arg, int fd)
{
  zc_consumer_t *c;
  zc_event_t ev;
  uint64_t n, count = 0, expected = 0;
  int r;

  if (strcmp (role, "produce") == 0) {
    zc_producer_t *p = make_producer (name, ZC_POLICY_DROP, 4096, 8, 0);

    PEER_CHECK (zc_producer_wait_consumers (p, (unsigned) arg, 20 * SEC) ==
        (int) arg);
    for (n = 0;; n++) {
      publish (p, n, 4096, SEC);
      if (n == 50)
        report (fd, arg);
      usleep (1000);
    }
  }

  if (strcmp (role, "keepalive") == 0) {
    /* Takes @arg frames and keeps them, then only shows life, as a paused
     * pipeline does: its limit is @arg + 2, so two more frames queue. */
    c = peer_consumer (name, (uint32_t) arg + 2);
    for (n = 0; n < arg;) {
      r = zc_consumer_receive (c, &ev, 20 * SEC);
      PEER_CHECK (r > 0);
      if (ev.type == ZC_EVENT_FRAME)
        n++;
    }
    report (fd, arg);
    for (;;)
      usleep ((useconds_t) (zc_consumer_keepalive (c) / 1000));
  }

  /* Holders may queue 8 more than they hold: the test's producer must
   * not block on them before it learns they hold what they should. */
  c = peer_consumer (name, strcmp (role, "hold") == 0 ? (uint32_t) arg + 8 : 0);
  if (strcmp (role, "hold") == 0) {
    /* Takes @arg frames and never releases them; then shows no life. */
    for (n = 0; n < arg;) {
      r = zc_consumer_receive (c, &ev, 20 * SEC);
      PEER_CHECK (r > 0);
      if (ev.type == ZC_EVENT_FRAME)
        n++;
    }
    report (fd, arg);
    for (;;)
      pause ();
  }

  if (strcmp (role, "crc") == 0) {
    /* Asks for a check of frame 0, then of frame 1 once it sees frame 1
     * damaged; reports both answers. */
    for (n = 0; n < 2;) {
      uint64_t num;

      r = zc_consumer_receive (c, &ev, 30 * SEC);
      PEER_CHECK (r > 0);
      if (ev.type != ZC_EVENT_FRAME)
        continue;
      if (n == 1) {
        uint64_t end = zc_now_ns () + 10 * SEC;
        while (frame_pattern_check (ev.frame.data, ev.frame.desc.size, &num)
            && zc_now_ns () < end)
          usleep (100);
      }
      report (fd, (uint64_t) (int64_t) zc_consumer_verify (c, &ev.frame,
              10 * SEC));
      zc_consumer_release (c, &ev.frame);
      n++;
    }
    for (;;) {
      r = zc_consumer_receive (c, &ev, 30 * SEC);
      PEER_CHECK (r > 0);
      if (ev.type == ZC_EVENT_DISCONNECTED)
        break;
    }
    zc_consumer_free (c);
    return 0;
  }

  if (strcmp (role, "duty") == 0) {
    /* Receives until it holds the ring's duty and the duty holders have
     * reclaimed someone; reports the pool's free blocks then. */
    zc_channel_stats_t st;
    uint64_t end = zc_now_ns () + 60 * SEC;

    while (zc_now_ns () < end) {
      r = zc_consumer_receive (c, &ev, 100 * MS);
      if (r == ZC_EVENT_FRAME)
        zc_consumer_release (c, &ev.frame);
      if (zc_consumer_get_stats (c, &st) == 0
          && st.duty_slot == zc_consumer_slot (c) && st.ring_reclaims > 0) {
        report (fd, st.pool.n_free);
        for (;;)
          pause ();
      }
    }
    return 1;
  }

  if (strcmp (role, "follow") == 0) {
    /* Reports 1 at the first frame, the time it saw the producer go, and
     * exits at the end-of-stream of a later producer. */
    bool reported = false, second = false;

    for (;;) {
      r = zc_consumer_receive (c, &ev, 30 * SEC);
      PEER_CHECK (r > 0);
      if (ev.type == ZC_EVENT_FRAME) {
        PEER_CHECK (frame_pattern_check (ev.frame.data, ev.frame.desc.size,
                &n));
        zc_consumer_release (c, &ev.frame);
        if (!reported) {
          report (fd, 1);
          reported = true;
        }
      } else if (ev.type == ZC_EVENT_DISCONNECTED) {
        report (fd, zc_now_ns ());
        PEER_CHECK (ev.code == -ECONNRESET);
        second = true;
      } else if (ev.type == ZC_EVENT_EOS) {
        PEER_CHECK (second);
        break;
      }
    }
    zc_consumer_free (c);
    return 0;
  }

  /* scale: asks for @arg blocks at its first frame, then as verify. */
  /* verify, lossy, latejoin, resize: every frame checked, in order, to EOS. */
  bool connected = false, switched = false;
  uint64_t size = 0;
  zc_frame_t old = { 0 };
  unsigned sticky = 0;

  for (;;) {
    r = zc_consumer_receive (c, &ev, 30 * SEC);
    PEER_CHECK (r > 0);
    if (ev.type == ZC_EVENT_CONNECTED) {
      connected = true;
      if (strcmp (role, "latejoin") == 0)
        PEER_CHECK (ev.size == 5 && memcmp (ev.data, "fmt-A", 5) == 0);
      if (strcmp (role, "resize") == 0)
        size = strtoull ((const char *) ev.data + 5, NULL, 10);
    } else if (ev.type == ZC_EVENT_STICKY) {
      PEER_CHECK (strcmp (role, "latejoin") == 0 && count == 0);
      PEER_CHECK (ev.sticky_id == ++sticky);
      PEER_CHECK (sticky != 1 || memcmp (ev.data, "stream-start", 12) == 0);
      PEER_CHECK (sticky != 2 || memcmp (ev.data, "segment", 7) == 0);
    } else if (ev.type == ZC_EVENT_FORMAT) {
      PEER_CHECK (strcmp (role, "resize") == 0);
      size = strtoull ((const char *) ev.data + 5, NULL, 10);
      switched = true;
    } else if (ev.type == ZC_EVENT_FRAME) {
      PEER_CHECK (connected);
      PEER_CHECK (frame_pattern_check (ev.frame.data, ev.frame.desc.size, &n));
      if (count == 0 && strcmp (role, "scale") == 0)
        PEER_CHECK (zc_consumer_request_blocks (c, (uint32_t) arg) == 0);
      if (count == 0 && strcmp (role, "latejoin") == 0) {
        PEER_CHECK (sticky == 2);
        expected = n;           /* joined mid-stream */
      }
      if (strcmp (role, "lossy") == 0)
        PEER_CHECK (n >= expected);     /* in order, gaps allowed */
      else
        PEER_CHECK (n == expected);     /* lossless, in order */
      expected = n + 1;
      count++;
      if (strcmp (role, "resize") == 0) {
        PEER_CHECK (ev.frame.desc.size == size);
        if (n == 49) {
          old = ev.frame;       /* held across the generation switch */
          continue;
        }
        if (n == 50) {
          PEER_CHECK (switched);
          PEER_CHECK (frame_pattern_check (old.data, old.desc.size, &n));
          PEER_CHECK (n == 49);
          PEER_CHECK (zc_consumer_release (c, &old) == 0);
        }
      }
      zc_consumer_release (c, &ev.frame);
    } else if (ev.type == ZC_EVENT_EOS) {
      break;
    } else {
      PEER_CHECK (!"unexpected event");
    }
  }
  PEER_CHECK (arg == 0 || strcmp (role, "scale") == 0 || count == arg);
  /* After EOS the producer leaves cleanly: a goodbye, not a crash. */
  r = zc_consumer_receive (c, &ev, 30 * SEC);
  PEER_CHECK (r == ZC_EVENT_DISCONNECTED);
  PEER_CHECK (ev.code == 0);
  zc_consumer_free (c);
  return 0;
}

/* Helpers shared by the handshake tests (see handshake-harness.h): each
 * test's private runtime dir and channel, a producer and consumers in the
 * test process, and descriptor counts.
 */
#include <dirent.h>

#include <zc/zc.h>

#include "zc-test.h"
#include "../examples/frame-pattern.h"
#include "handshake-harness.h"

char runtime_dir[64];
char channel[64];

void
nap_ms (int ms)
{
  struct timespec ts = { 0, ms * 1000000L };
  nanosleep (&ts, NULL);
}

/* A fresh XDG_RUNTIME_DIR and a channel name no other test uses. */
void
setup (const char *what)
{
  snprintf (runtime_dir, sizeof (runtime_dir), "/tmp/zc-hs-XXXXXX");
  ZC_CHECK (mkdtemp (runtime_dir) != NULL);
  ZC_CHECK (setenv ("XDG_RUNTIME_DIR", runtime_dir, 1) == 0);
  snprintf (channel, sizeof (channel), "hs-%d-%s", (int) getpid (), what);
}

int
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
void
finish (zc_producer_t * p)
{
  char dir[128];

  zc_producer_free (p);
  snprintf (dir, sizeof (dir), "%s/zerocopy", runtime_dir);
  ZC_CHECK_EQ (dir_entries (dir), 0);
  rmdir (dir);
  ZC_CHECK (rmdir (runtime_dir) == 0);
}

int
count_fds (void)
{
  return dir_entries ("/proc/self/fd") - 1;    /* the listing's own */
}

/* The control thread closes its ends a moment after we see ours close. */
void
check_fds_back_to (int expected)
{
  uint64_t deadline = zc_now_ns () + DEADLINE_S * SECOND;
  int n;

  while ((n = count_fds ()) != expected && zc_now_ns () < deadline)
    nap_ms (1);
  ZC_CHECK_EQ (n, expected);
}

unsigned
n_consumers (zc_producer_t * p)
{
  zc_channel_stats_t st;

  zc_producer_get_stats (p, &st);
  return st.n_consumers;
}

void
wait_n_consumers (zc_producer_t * p, unsigned n)
{
  uint64_t deadline = zc_now_ns () + DEADLINE_S * SECOND;

  while (n_consumers (p) != n && zc_now_ns () < deadline)
    nap_ms (1);
  ZC_CHECK_EQ (n_consumers (p), n);
}

zc_producer_t *
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
zc_producer_t *
start (const char *what)
{
  setup (what);
  return make_producer (channel, NULL, 4, 0);
}

/* Publishes frame @n once @n_expected consumers are attached. */
void
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

zc_consumer_t *
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
void
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
void
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

/* gst-zerocopy core library: the consumer's control side.
 *
 * Everything done over the control socket, for the frame path
 * (consumer.c), which itself only reads the queue and waits:
 *
 *   - attach: connect, HELLO, then WELCOME (region and doorbell), the
 *     format and the sticky blobs, each checked before use and queued as
 *     events;
 *   - the control messages whose marker the frame path reached (format,
 *     sticky blob, new generation), applied in order;
 *   - a goodbye, an eviction notice or a dead producer seen on the socket,
 *     and detach, which lets go of socket, doorbell and generation.
 *
 * The epoll watch helpers live here too: zc_consumer_new() builds the set
 * zc_consumer_fd() returns with them, attach and detach change it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zc/error.h>
#include <zc/heartbeat.h>

#include "consumer-private.h"
#include "wire.h"

int
zc_consumer_watch_in (int epoll_fd, int fd, uint32_t events, bool add)
{
  struct epoll_event ev = { .events = events };

  ev.data.fd = fd;
  return epoll_ctl (epoll_fd, add ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &ev);
}

int
zc_consumer_watch (zc_consumer_t * c, int fd, bool add)
{
  return zc_consumer_watch_in (c->epoll_fd, fd, EPOLLIN, add);
}

/* The doorbell is the producer's, shared by every consumer of the channel
 * and never read by us: watched edge-triggered, each write is one
 * wake-up, and the count only grows (2^64 writes: not in this universe).
 * EPOLLOUT too, although only writes wake us: epoll checks a woken file
 * again before it reports it, and drops the edge if the file no longer
 * has the events asked for.  A peer (any consumer holds the descriptor)
 * that read() the count back to zero would so swallow our wake-up if we
 * asked for EPOLLIN alone; an eventfd is always writable, so with EPOLLOUT
 * every ring is reported.  The cost: one spurious wake-up when the
 * doorbell is added, and one per read by such a peer. */
#define DOORBELL_EVENTS (EPOLLIN | EPOLLOUT | EPOLLET)

static int
watch_doorbell (zc_consumer_t * c, bool add)
{
  if (zc_consumer_watch_in (c->epoll_fd, c->doorbell, DOORBELL_EVENTS,
          add) < 0
      || zc_consumer_watch_in (c->quiet_fd, c->doorbell, DOORBELL_EVENTS,
          add) < 0)
    return -errno;
  return 0;
}

static void
guard_tripped (void *user_data, unsigned from, uint32_t generation)
{
  zc_consumer_t *c = user_data;

  (void) from;
  if (c->gen && c->gen->generation == generation)
    c->trip_seen = true;
}

/* Leaves the ring of a generation we stop reading. */
static void
cgen_detach (struct cgen *g)
{
  atomic_store_explicit (&g->queue->reader_sleeping, 0, memory_order_relaxed);
  zc_msgring_leave (zc_region_msgring (g->region), g->slot);
  zc_consumer_cgen_unref (g);
}

static void
set_error (zc_consumer_t * c, const char *text, size_t n)
{
  if (n >= sizeof (c->last_error))
    n = sizeof (c->last_error) - 1;
  /* Text from the producer: keep it printable. */
  for (size_t i = 0; i < n; i++)
    c->last_error[i] = text[i] >= 0x20 && text[i] < 0x7f ? text[i] : '?';
  c->last_error[n] = '\0';
}

void
zc_consumer_clear_backlog (zc_consumer_t * c)
{
  while (c->backlog_n) {
    free (c->backlog[c->backlog_head].data);
    c->backlog_head = (c->backlog_head + 1) % BACKLOG_LEN;
    c->backlog_n--;
  }
}

static int
push_event (zc_consumer_t * c, zc_event_type_t type, uint32_t id,
    const void *data, size_t size)
{
  struct pending_event *e;

  if (c->backlog_n == BACKLOG_LEN)
    return -EPROTO;             /* a producer flooding us with control */
  e = &c->backlog[(c->backlog_head + c->backlog_n) % BACKLOG_LEN];
  e->type = type;
  e->sticky_id = id;
  e->size = size;
  e->data = malloc (size ? size : 1);
  if (e->data == NULL)
    return -ENOMEM;
  if (size)
    memcpy (e->data, data, size);
  c->backlog_n++;
  return 0;
}

void
zc_consumer_detach (zc_consumer_t * c)
{
  if (c->sock >= 0) {
    zc_consumer_watch (c, c->sock, false);
    close (c->sock);
    c->sock = -1;
  }
  if (c->doorbell >= 0) {
    watch_doorbell (c, false);
    close (c->doorbell);
    c->doorbell = -1;
  }
  if (c->gen) {
    pthread_mutex_lock (&c->gen_lock);
    cgen_detach (c->gen);
    c->gen = NULL;
    pthread_mutex_unlock (&c->gen_lock);
  }
  c->hangup = 0;
}

/* The REFUSE message of length @n in c->msg: its reason becomes our last
 * error.  Returns its code. */
static int
take_refusal (zc_consumer_t * c, int n)
{
  struct zc_wire_refuse r;

  if (n < (int) sizeof (r))
    return -EPROTO;
  memcpy (&r, c->msg, sizeof (r));
  set_error (c, (const char *) c->msg + sizeof (r),
      r.reason_len <= n - sizeof (r) ? r.reason_len : n - sizeof (r));
  /* Only codes of ours: a producer cannot make us report success. */
  return r.code < 0 && r.code > ZC_ERROR_LAST ? r.code : ZC_EREFUSED;
}

/* Reads the next control message, which must be number ctl_seq + 1.
 * Returns its length or a negative code; fds as zc_wire_recv(). */
static int
read_control (zc_consumer_t * c, int fds[ZC_WIRE_MAX_FDS], unsigned *n_fds)
{
  struct zc_wire_header h;
  int n;

  n = zc_wire_recv (c->sock, ZC_CONTROL_TIMEOUT_MS, c->msg, sizeof (c->msg),
      fds, n_fds);
  if (n < 0)
    return n == -ETIMEDOUT ? -EPROTO : n;
  memcpy (&h, c->msg, sizeof (h));
  if (h.type == ZC_WIRE_REFUSE) {
    zc_wire_close_fds (fds, n_fds);
    return take_refusal (c, n);
  }
  if (h.type != ZC_WIRE_BYE && h.type != ZC_WIRE_WELCOME
      && h.ctl_seq != c->ctl_seq + 1) {
    zc_wire_close_fds (fds, n_fds);
    return -EPROTO;
  }
  if (h.type != ZC_WIRE_WELCOME)
    c->ctl_seq = h.ctl_seq;
  return n;
}

static void
crc_replied (void *user_data, uint32_t block, int64_t result)
{
  zc_consumer_t *c = user_data;

  if (block == c->verify_block) {
    c->verify_answered = true;
    c->verify_result = result < ZC_ERROR_LAST || result > 0 ? -EPROTO :
        (int) result;
  }
}

/* Maps the region of a WELCOME or GENERATION message. */
static int
open_generation (zc_consumer_t * c, int n, int fds[ZC_WIRE_MAX_FDS],
    unsigned *n_fds, struct cgen **out)
{
  struct zc_wire_welcome w;
  struct cgen *g;
  int ret;

  if (n != (int) sizeof (w) || *n_fds != 2) {
    zc_wire_close_fds (fds, n_fds);
    return -EPROTO;
  }
  memcpy (&w, c->msg, sizeof (w));
  g = calloc (1, sizeof (*g));
  if (g == NULL) {
    zc_wire_close_fds (fds, n_fds);
    return -ENOMEM;
  }
  ret = zc_region_open (fds[0], fds[1], &g->region);
  zc_wire_close_fds (fds, n_fds);
  if (ret < 0) {
    free (g);
    return ret;
  }
  g->pool = zc_region_pool (g->region);
  g->hb = zc_region_heartbeat (g->region);
  g->queue = zc_queues_get (zc_region_queues (g->region), w.slot);
  /* The slot must be ours: assigned to us, in range, not the producer's. */
  if (g->queue == NULL || w.slot == ZC_PRODUCER_SLOT
      || w.slot >= g->hb->n_slots
      || zc_heartbeat_generation (g->hb, w.slot) != w.slot_generation
      || atomic_load_explicit (&g->hb->slots[w.slot].pid,
          memory_order_relaxed) != getpid ()
      || w.heartbeat_timeout_ns < 10000000ull) {
    zc_region_close (g->region);
    free (g);
    return -EPROTO;
  }
  g->slot = w.slot;
  g->slot_generation = w.slot_generation;
  g->generation = w.generation;
  atomic_init (&g->refs, 1);
  {
    zc_duty_hooks_t hooks = { NULL, guard_tripped, crc_replied, c };

    ret = zc_duty_join (&g->duty, g->region, g->slot, g->generation,
        w.heartbeat_timeout_ns, &hooks);
    if (ret < 0) {
      zc_region_close (g->region);
      free (g);
      return ret;
    }
  }
  c->heartbeat_timeout_ns = w.heartbeat_timeout_ns;
  *out = g;
  return (int) w.n_sticky;
}

/* Queues the STICKY message of length @n in c->msg as an event. */
static int
sticky_event (zc_consumer_t * c, int n)
{
  struct zc_wire_sticky s;

  if (n < (int) sizeof (s))
    return -EPROTO;
  memcpy (&s, c->msg, sizeof (s));
  return push_event (c, ZC_EVENT_STICKY, s.id, c->msg + sizeof (s),
      (size_t) n - sizeof (s));
}

/* Messages read past a generation that would not open, looking for the
 * reason: what a producer sends between two ticks is far fewer. */
#define REFUSAL_LOOKAHEAD 256

/* A generation we were sent would not open (@failed): the producer has
 * taken it down, which it does under a consumer only once it has let that
 * consumer go (evicted it, e.g. for staying behind).  Its reason is
 * further on in the socket, after the messages sent meanwhile: read on to
 * it, without waiting for anything not sent yet. */
static int
refusal_behind (zc_consumer_t * c, int failed)
{
  for (unsigned i = 0; i < REFUSAL_LOOKAHEAD; i++) {
    struct zc_wire_header h;
    int fds[ZC_WIRE_MAX_FDS];
    unsigned n_fds;
    int n;

    n = zc_wire_recv (c->sock, 0, c->msg, sizeof (c->msg), fds, &n_fds);
    zc_wire_close_fds (fds, &n_fds);
    if (n < (int) sizeof (h))
      break;
    memcpy (&h, c->msg, sizeof (h));
    if (h.type == ZC_WIRE_REFUSE)
      return take_refusal (c, n);
  }
  return failed;
}

/* Handles one control message whose marker we reached. */
int
zc_consumer_apply_control (zc_consumer_t * c)
{
  int fds[ZC_WIRE_MAX_FDS];
  struct zc_wire_header h;
  struct cgen *g;
  unsigned n_fds;
  int n, ret;

  n = read_control (c, fds, &n_fds);
  if (n < 0)
    return n;
  memcpy (&h, c->msg, sizeof (h));
  if (h.type != ZC_WIRE_GENERATION && n_fds) {
    zc_wire_close_fds (fds, &n_fds);
    return -EPROTO;
  }
  switch (h.type) {
    case ZC_WIRE_FORMAT:
      return push_event (c, ZC_EVENT_FORMAT, 0, c->msg + sizeof (h),
          (size_t) n - sizeof (h));
    case ZC_WIRE_STICKY:
      return sticky_event (c, n);
    case ZC_WIRE_GENERATION:
      ret = open_generation (c, n, fds, &n_fds, &g);
      if (ret < 0)
        return refusal_behind (c, ret);
      /* Everything before the marker came from the old queue; the old
       * generation lives on while its frames are held. */
      pthread_mutex_lock (&c->gen_lock);
      cgen_detach (c->gen);
      c->gen = g;
      pthread_mutex_unlock (&c->gen_lock);
      return 0;
    default:
      zc_wire_close_fds (fds, &n_fds);
      return -EPROTO;
  }
}

/* Connects and runs the handshake.  Returns 0 when attached, -EAGAIN when
 * no producer is there yet, or the refusal / protocol error. */
int
zc_consumer_attach (zc_consumer_t * c)
{
  struct zc_wire_hello *hello = (struct zc_wire_hello *) c->msg;
  size_t name_len = strlen (c->name);
  int fds[ZC_WIRE_MAX_FDS];
  struct zc_wire_header h;
  struct cgen *g;
  unsigned n_fds;
  int n, n_sticky, ret;

  ret = zc_channel_connect (c->path, &c->sock);
  if (ret == -ENOENT || ret == -ECONNREFUSED)
    return -EAGAIN;
  if (ret == -EACCES || ret == -EPERM) {
    /* The socket file's mode kept us out before any REFUSE could. */
    snprintf (c->last_error, sizeof (c->last_error),
        "permission denied: this user may not connect to %s (see the "
        "producer's permissions)", c->path);
    return ret;
  }
  if (ret < 0)
    return ret;
  c->ctl_seq = 0;
  hello->max_held = c->max_held;
  hello->name_len = (uint32_t) name_len;
  memcpy (c->msg + sizeof (*hello), c->name, name_len);
  ret = zc_wire_send (c->sock, ZC_WIRE_HELLO, 0, hello,
      sizeof (*hello) + name_len, NULL, 0);
  if (ret < 0) {
    /* Closed before it read us (pending slots full, or dying): retry. */
    ret = ret == -ECONNRESET ? -EAGAIN : ret;
    goto failed;
  }

  n = read_control (c, fds, &n_fds);
  if (n < 0) {
    ret = n == -ECONNRESET ? -EAGAIN : n;       /* producer went away */
    goto failed;
  }
  memcpy (&h, c->msg, sizeof (h));
  if (h.type != ZC_WIRE_WELCOME || n_fds != 3
      || !zc_wire_is_eventfd (fds[2])) {
    zc_wire_close_fds (fds, &n_fds);
    ret = -EPROTO;
    goto failed;
  }
  c->doorbell = fds[2];
  fds[2] = -1;
  n_fds = 2;
  ret = watch_doorbell (c, true);
  if (ret < 0) {
    zc_wire_close_fds (fds, &n_fds);
    goto failed;
  }
  n_sticky = open_generation (c, n, fds, &n_fds, &g);
  if (n_sticky < 0) {
    ret = n_sticky;
    goto failed;
  }
  pthread_mutex_lock (&c->gen_lock);
  c->gen = g;
  pthread_mutex_unlock (&c->gen_lock);
  zc_heartbeat_touch (c->gen->hb, c->gen->slot);

  /* The format, then the sticky blobs: they come first, as events. */
  n = read_control (c, fds, &n_fds);
  memcpy (&h, c->msg, sizeof (h));
  if (n < 0 || h.type != ZC_WIRE_FORMAT || n_fds) {
    zc_wire_close_fds (fds, &n_fds);
    ret = n < 0 ? n : -EPROTO;
    goto failed;
  }
  zc_consumer_clear_backlog (c);
  ret = push_event (c, ZC_EVENT_CONNECTED, 0, c->msg + sizeof (h),
      (size_t) n - sizeof (h));
  for (int i = 0; ret == 0 && i < n_sticky; i++) {
    n = read_control (c, fds, &n_fds);
    memcpy (&h, c->msg, sizeof (h));
    if (n < 0 || h.type != ZC_WIRE_STICKY || n_fds) {
      zc_wire_close_fds (fds, &n_fds);
      ret = n < 0 ? n : -EPROTO;
      break;
    }
    ret = sticky_event (c, n);
  }
  if (ret < 0)
    goto failed;
  zc_consumer_watch (c, c->sock, true);
  c->last_error[0] = '\0';
  return 0;

failed:
  zc_consumer_detach (c);
  zc_consumer_clear_backlog (c);
  return ret;
}

/* The control socket woke us while the queue was empty: a goodbye, an
 * eviction notice, a crash, or a control message whose marker is on its
 * way.  Returns true for the last case. */
bool
zc_consumer_check_socket (zc_consumer_t * c)
{
  struct zc_wire_header h;
  int fds[ZC_WIRE_MAX_FDS];
  unsigned n_fds;
  ssize_t n;
  int ret;

  n = recv (c->sock, &h, sizeof (h), MSG_PEEK | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return true;
  if (n <= 0) {
    c->hangup = -1;             /* the kernel closed it: the producer died */
    c->hangup_code = -ECONNRESET;
    return false;
  }
  if (n == (ssize_t) sizeof (h) && h.type != ZC_WIRE_BYE
      && h.type != ZC_WIRE_REFUSE)
    return true;
  ret = read_control (c, fds, &n_fds);
  zc_wire_close_fds (fds, &n_fds);
  c->hangup = 1;
  c->hangup_code = ret > 0 && h.type == ZC_WIRE_BYE ? 0 : ret < 0 ? ret :
      -EPROTO;
  return false;
}

/* gst-zerocopy core library: the consumer end of a channel.
 *
 * States: DETACHED (no producer: connect attempts until one appears),
 * ATTACHED (frames flow), and back to DETACHED when the producer leaves.
 * Each pool generation the consumer was given is a `cgen`: the region
 * mapping, our slot in it, our queue.  A cgen lives as long as it is
 * current or a frame from it is held: one reference each, atomic, so the
 * last release on any thread unmaps it.
 *
 * Everything the producer hands us is checked before use: the handshake
 * field by field, each descriptor through zc_guard_open() (index bound,
 * block PUBLISHED, our bit set, header magic, size within capacity).  A
 * producer that breaks the protocol is disconnected, never trusted.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <zc/consumer.h>
#include <zc/error.h>
#include <zc/heartbeat.h>

#include "duty.h"
#include "endpoint.h"
#include "wire.h"

/* How often a detached consumer looks for a producer. */
#define RETRY_NS 10000000ull
/* zc_consumer_keepalive()'s answer while there is no producer to show
 * life to: how soon to look again. */
#define KEEPALIVE_DETACHED_NS 100000000ull

struct cgen
{
  zc_region_t *region;
  zc_pool_t *pool;
  zc_heartbeat_t *hb;
  struct zc_queue *queue;
  unsigned slot;
  uint32_t slot_generation;
  uint32_t generation;
  zc_duty_t duty;               /* our node in this generation's ring */
  _Atomic int refs;
};

/* An event waiting to be returned (handshake state, control messages). */
struct pending_event
{
  zc_event_type_t type;
  uint32_t sticky_id;
  size_t size;
  uint8_t *data;
};

#define BACKLOG_MAX (ZC_WIRE_MAX_SIZE / 16)

struct zc_consumer
{
  char name[ZC_CHANNEL_NAME_MAX + 1];
  char path[ZC_SOCKET_PATH_MAX + 1];
  uint32_t max_held;
  int sock;                     /* -1: detached */
  int doorbell;                 /* the producer's eventfd; -1: detached */
  int cancel_fd;                /* eventfd: readable while cancelled */
  int epoll_fd;                 /* zc_consumer_fd(): all three */
  int quiet_fd;                 /* epoll of doorbell and cancel only */
  _Atomic bool cancelled;
  /* Current generation when attached.  Written by the receiving thread
   * only, under @gen_lock, which zc_consumer_keepalive() takes to read it
   * from another thread. */
  struct cgen *gen;
  pthread_mutex_t gen_lock;
  uint32_t ctl_seq;             /* last control message read */
  uint64_t heartbeat_timeout_ns;
  int hangup;                   /* 1 clean bye, -1 died, 0 none */
  int hangup_code;
  struct pending_event backlog[64];
  unsigned backlog_head, backlog_n;
  uint8_t *returned;            /* data of the last returned event */
  uint8_t msg[ZC_WIRE_MAX_SIZE];
  char last_error[256];
  /* CRC_VERIFY_REPLY we wait for in zc_consumer_verify(). */
  uint32_t verify_block;
  bool verify_answered;
  int verify_result;
  /* A GUARD_TRIP was broadcast for our generation: from then on every
   * frame's CRC is checked before it is handed out. */
  bool trip_seen;
};

static void
cgen_unref (struct cgen *g)
{
  if (g && atomic_fetch_sub_explicit (&g->refs, 1, memory_order_acq_rel) == 1) {
    zc_region_close (g->region);
    free (g);
  }
}

static int
watch_in (int epoll_fd, int fd, uint32_t events, bool add)
{
  struct epoll_event ev = { .events = events };

  ev.data.fd = fd;
  return epoll_ctl (epoll_fd, add ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &ev);
}

static int
watch (zc_consumer_t * c, int fd, bool add)
{
  return watch_in (c->epoll_fd, fd, EPOLLIN, add);
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
  if (watch_in (c->epoll_fd, c->doorbell, DOORBELL_EVENTS, add) < 0
      || watch_in (c->quiet_fd, c->doorbell, DOORBELL_EVENTS, add) < 0)
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
  cgen_unref (g);
}

void
zc_consumer_config_init (zc_consumer_config_t * config)
{
  memset (config, 0, sizeof (*config));
}

int
zc_consumer_new (const zc_consumer_config_t * config, zc_consumer_t ** out)
{
  zc_consumer_t *c;
  int ret;

  if (config == NULL || out == NULL)
    return -EINVAL;
  if (config->name == NULL && config->socket_path == NULL)
    return -EINVAL;
  if (config->name && zc_channel_name_validate (config->name) < 0)
    return -EINVAL;
  if (config->max_held > ZC_LIMIT_MAX)
    return -EINVAL;

  c = calloc (1, sizeof (*c));
  if (c == NULL)
    return -ENOMEM;
  c->sock = c->doorbell = c->cancel_fd = c->epoll_fd = c->quiet_fd = -1;
  pthread_mutex_init (&c->gen_lock, NULL);
  if (config->name)
    snprintf (c->name, sizeof (c->name), "%s", config->name);
  c->max_held = config->max_held;
  ret = zc_endpoint_socket_path (config->name, config->socket_path, c->path,
      sizeof (c->path));
  if (ret < 0)
    goto failed;
  c->cancel_fd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (c->cancel_fd < 0) {
    ret = -errno;
    goto failed;
  }
  /* One descriptor for an application's poll loop: cancel and, while
   * attached, the doorbell and the control socket.  The quiet set leaves
   * the socket out, for waits while a control message that is already
   * readable waits for its marker. */
  c->epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
  c->quiet_fd = epoll_create1 (EPOLL_CLOEXEC);
  if (c->epoll_fd < 0 || c->quiet_fd < 0
      || watch (c, c->cancel_fd, true) < 0
      || watch_in (c->quiet_fd, c->cancel_fd, EPOLLIN, true) < 0) {
    ret = -errno;
    goto failed;
  }
  *out = c;
  return 0;

failed:
  zc_consumer_free (c);
  return ret;
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

static void
clear_backlog (zc_consumer_t * c)
{
  while (c->backlog_n) {
    free (c->backlog[c->backlog_head].data);
    c->backlog_head = (c->backlog_head + 1) % 64;
    c->backlog_n--;
  }
}

static int
push_event (zc_consumer_t * c, zc_event_type_t type, uint32_t id,
    const void *data, size_t size)
{
  struct pending_event *e;

  if (c->backlog_n == 64)
    return -EPROTO;             /* a producer flooding us with control */
  e = &c->backlog[(c->backlog_head + c->backlog_n) % 64];
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

static void
detach (zc_consumer_t * c)
{
  if (c->sock >= 0) {
    watch (c, c->sock, false);
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

void
zc_consumer_free (zc_consumer_t * c)
{
  if (c == NULL)
    return;
  detach (c);
  clear_backlog (c);
  free (c->returned);
  if (c->cancel_fd >= 0)
    close (c->cancel_fd);
  if (c->epoll_fd >= 0)
    close (c->epoll_fd);
  if (c->quiet_fd >= 0)
    close (c->quiet_fd);
  pthread_mutex_destroy (&c->gen_lock);
  free (c);
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
    struct zc_wire_refuse r;

    zc_wire_close_fds (fds, n_fds);
    if (n < (int) sizeof (r))
      return -EPROTO;
    memcpy (&r, c->msg, sizeof (r));
    set_error (c, (const char *) c->msg + sizeof (r),
        r.reason_len <= n - sizeof (r) ? r.reason_len : n - sizeof (r));
    /* Only codes of ours: a producer cannot make us report success. */
    return r.code < 0 && r.code > ZC_ERROR_LAST ? r.code : ZC_EREFUSED;
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

/* Handles one control message whose marker we reached. */
static int
apply_control (zc_consumer_t * c)
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
        return ret;
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
static int
attach (zc_consumer_t * c)
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
  clear_backlog (c);
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
  watch (c, c->sock, true);
  c->last_error[0] = '\0';
  return 0;

failed:
  detach (c);
  clear_backlog (c);
  return ret;
}

/* The control socket woke us while the queue was empty: a goodbye, an
 * eviction notice, a crash, or a control message whose marker is on its
 * way.  Returns true for the last case. */
static bool
check_socket (zc_consumer_t * c)
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

static int
return_event (zc_consumer_t * c, zc_event_t * ev)
{
  struct pending_event *e = &c->backlog[c->backlog_head];

  c->backlog_head = (c->backlog_head + 1) % 64;
  c->backlog_n--;
  ev->type = e->type;
  ev->sticky_id = e->sticky_id;
  ev->data = e->data;
  ev->size = e->size;
  c->returned = e->data;        /* freed at the next receive */
  return ev->type;
}

static int
disconnected (zc_consumer_t * c, zc_event_t * ev, int code)
{
  detach (c);
  ev->type = ZC_EVENT_DISCONNECTED;
  ev->code = code;
  return ev->type;
}

/* Turns a descriptor into a frame.  Returns false for one that does not
 * check out (dropped, its reference given back when we can). */
static bool
open_frame (zc_consumer_t * c, const struct zc_desc *d, zc_frame_t * frame)
{
  struct cgen *g = c->gen;
  const void *data;
  uint64_t size;

  memset (frame, 0, sizeof (*frame));
  if (d->generation != g->generation || d->meta_size > ZC_DESC_META_SIZE
      || zc_guard_open (g->pool, g->slot, d->block, &frame->guard) < 0) {
    if (d->block < g->pool->n_blocks
        && zc_pool_release (g->pool, g->slot, d->block) >= 0)
      zc_queue_note_release (g->queue);
    return false;
  }
  zc_guard_map_read (&frame->guard, &data, &size);
  if (size != d->size || (c->trip_seen
          && zc_guard_verify_crc (&frame->guard) == ZC_ECRC)) {
    zc_guard_release (&frame->guard);
    zc_queue_note_release (g->queue);
    return false;
  }
  frame->desc = *d;
  frame->data = (void *) data;
  frame->capacity = g->pool->capacity;
  frame->priv = g;
  atomic_fetch_add_explicit (&g->refs, 1, memory_order_relaxed);
  return true;
}

/* Sleeps until the doorbell rings, a cancel, or (@watch_sock) the control
 * socket has something, at most @timeout_ms (0: only collects what is
 * pending, which also spends the doorbell's edge: nothing to read after).
 * Returns whether the socket has something.  The kernel keeps an epoll
 * set's watches armed between waits, where poll() would set up and tear
 * down three of them on every frame.  Without the socket (a control
 * message whose marker is still on its way, readable all along), the
 * quiet set. */
static bool
wait_events (zc_consumer_t * c, bool watch_sock, int timeout_ms)
{
  struct epoll_event evs[3];
  bool socket = false;
  int n;

  n = epoll_wait (watch_sock ? c->epoll_fd : c->quiet_fd, evs, 3,
      timeout_ms);
  for (int i = 0; i < n; i++)
    socket |= evs[i].data.fd == c->sock;
  return socket;
}

int
zc_consumer_receive (zc_consumer_t * c, zc_event_t * ev, int64_t timeout_ns)
{
  uint64_t deadline;
  bool watch_sock = true, socket_seen = false, socket_readable;

  if (c == NULL || ev == NULL)
    return -EINVAL;
  deadline = timeout_ns < 0 ? UINT64_MAX : zc_now_ns () + (uint64_t) timeout_ns;
  free (c->returned);
  c->returned = NULL;
  memset (ev, 0, sizeof (*ev));

  for (;;) {
    struct pollfd fds[3];
    struct zc_desc d;
    uint64_t now, wait_ns;
    int ret;

    if (atomic_load_explicit (&c->cancelled, memory_order_acquire))
      return -ECANCELED;
    if (c->backlog_n)
      return return_event (c, ev);

    if (c->sock < 0) {
      ret = attach (c);
      if (ret == 0)
        continue;
      if (ret != -EAGAIN)
        return ret;
      now = zc_now_ns ();
      if (timeout_ns == 0)
        return -EAGAIN;
      if (now >= deadline)
        return -ETIMEDOUT;
      wait_ns = deadline - now < RETRY_NS ? deadline - now : RETRY_NS;
      fds[0] = (struct pollfd) { c->cancel_fd, POLLIN, 0 };
      poll (fds, 1, (int) ((wait_ns + 999999) / 1000000));
      continue;
    }

    zc_heartbeat_touch (c->gen->hb, c->gen->slot);
    ret = zc_queue_pop (c->gen->queue, &d);
    if (ret < 0 && ret != -EAGAIN)
      return disconnected (c, ev, -EPROTO);     /* queue corrupted */
    if (ret == 0) {
      if (d.flags & ZC_DESC_FLAG_CONTROL) {
        ret = d.sequence == (uint64_t) c->ctl_seq + 1 ? apply_control (c) :
            -EPROTO;
        if (ret < 0)
          return disconnected (c, ev, ret);
        continue;
      }
      if (d.flags & ZC_DESC_FLAG_EOS) {
        ev->type = ZC_EVENT_EOS;
        return ev->type;
      }
      if (d.flags & ZC_DESC_FLAG_FLUSH) {
        ev->type = ZC_EVENT_FLUSH;
        return ev->type;
      }
      if (d.flags & ZC_DESC_FLAG_NO_BLOCK)
        continue;               /* an event kind we do not know: skip */
      if (!open_frame (c, &d, &ev->frame))
        continue;
      ev->type = ZC_EVENT_FRAME;
      return ev->type;
    }
    /* Queue drained: only now does a hang-up count, so that frames sent
     * before a producer left are not lost. */
    if (c->hangup)
      return disconnected (c, ev, c->hangup_code);

    /* Idle: pump our ring node; takes the duty if the producer hangs. */
    zc_duty_service (&c->gen->duty);
    /* A caller polling zc_consumer_fd() was woken by a ring that is spent
     * now, or by the socket: collected before arming, so that only a later
     * ring wakes it.  The socket is looked at once per call (a control
     * message may wait for its marker; a hang-up ends the loop above). */
    if (timeout_ns == 0 && wait_events (c, true, 0) && !socket_seen) {
      socket_seen = true;
      if (!check_socket (c))
        continue;
    }
    if (zc_queue_prepare_sleep (c->gen->queue)) {
      zc_queue_finish_sleep (c->gen->queue, -1);
      continue;
    }
    if (timeout_ns == 0)
      return -EAGAIN;           /* armed: zc_consumer_fd() will wake */
    now = zc_now_ns ();
    if (now >= deadline) {
      zc_queue_finish_sleep (c->gen->queue, -1);
      return -ETIMEDOUT;
    }
    /* Wake up in time to beat: the producer evicts after the timeout. */
    wait_ns = c->heartbeat_timeout_ns / 4;
    if (deadline - now < wait_ns)
      wait_ns = deadline - now;
    if (!watch_sock && wait_ns > 1000000)
      wait_ns = 1000000;        /* a hang-up would go unseen meanwhile */
    socket_readable = wait_events (c, watch_sock,
        (int) ((wait_ns + 999999) / 1000000));
    zc_queue_finish_sleep (c->gen->queue, -1);
    /* A message already readable that waits for its marker: leave the
     * socket out of the next wait (check_socket() says true). */
    watch_sock = !socket_readable || !check_socket (c);
  }
}

int
zc_consumer_release (zc_consumer_t * c, zc_frame_t * frame)
{
  struct cgen *g;
  int ret;

  if (c == NULL || frame == NULL || frame->priv == NULL)
    return -EINVAL;
  g = frame->priv;
  frame->priv = NULL;
  /* Evicted: our references were dropped for us and the slot may be
   * someone else's now.  Touching the block would drop theirs. */
  if (zc_heartbeat_generation (g->hb, g->slot) != g->slot_generation) {
    zc_guard_forget (&frame->guard, NULL);
    ret = ZC_ESTATE;
  } else {
    ret = zc_guard_release (&frame->guard);
    zc_queue_note_release (g->queue);
    zc_heartbeat_touch (g->hb, g->slot);
  }
  cgen_unref (g);
  return ret;
}

int
zc_consumer_verify (zc_consumer_t * c, const zc_frame_t * frame,
    int64_t timeout_ns)
{
  struct cgen *g;
  uint64_t deadline;
  int ret, local;

  if (c == NULL || frame == NULL || frame->priv == NULL)
    return -EINVAL;
  g = frame->priv;
  c->verify_block = frame->desc.block;
  c->verify_answered = false;
  ret = zc_duty_request_verify (&g->duty, frame->desc.block, &local);
  if (ret < 0)
    return ret;
  if (ret == 1)
    return local;
  deadline = zc_now_ns () + (timeout_ns < 0 ? 1000000000ull :
      (uint64_t) timeout_ns);
  /* The duty holder answers from its next service: a producer within a
   * tick (<= 50 ms). */
  while (!c->verify_answered) {
    struct timespec nap = { 0, 500000 };

    if (zc_now_ns () >= deadline)
      return -ETIMEDOUT;
    zc_duty_service (&g->duty);
    nanosleep (&nap, NULL);
  }
  return c->verify_result;
}

int
zc_consumer_request_blocks (zc_consumer_t * c, uint32_t n_blocks)
{
  zc_msg_t msg = { 0 };

  if (c == NULL)
    return -EINVAL;
  if (c->gen == NULL)
    return -ENOTCONN;
  msg.type = ZC_MSG_SCALE_REQUEST;
  msg.flags = ZC_MSG_UNI;
  msg.dst = ZC_PRODUCER_SLOT + 1;
  msg.arg[0] = n_blocks;
  return zc_msgring_send (zc_region_msgring (c->gen->region), c->gen->slot,
      &msg);
}

void
zc_consumer_cancel (zc_consumer_t * c, bool cancel)
{
  uint64_t value = 1;

  if (c == NULL)
    return;
  atomic_store_explicit (&c->cancelled, cancel, memory_order_release);
  if (cancel) {
    if (write (c->cancel_fd, &value, sizeof (value)) < 0) {
      /* full counter: readable already */
    }
  } else if (read (c->cancel_fd, &value, sizeof (value)) < 0) {
    /* EAGAIN: was not set */
  }
}

uint64_t
zc_consumer_keepalive (zc_consumer_t * c)
{
  uint64_t interval = KEEPALIVE_DETACHED_NS;

  if (c == NULL)
    return interval;
  pthread_mutex_lock (&c->gen_lock);
  if (c->gen) {
    zc_heartbeat_touch (c->gen->hb, c->gen->slot);
    interval = c->gen->duty.stale_ns / 4;     /* fixed per generation */
  }
  pthread_mutex_unlock (&c->gen_lock);
  return interval;
}

int
zc_consumer_fd (const zc_consumer_t * c)
{
  return c ? c->epoll_fd : -1;
}

int
zc_consumer_get_stats (zc_consumer_t * c, zc_channel_stats_t * stats)
{
  if (c == NULL || stats == NULL)
    return -EINVAL;
  if (c->gen == NULL)
    return -ENOTCONN;
  zc_endpoint_fill_stats (c->gen->region, c->gen->generation, stats);
  return 0;
}

const char *
zc_consumer_last_error (const zc_consumer_t * c)
{
  return c ? c->last_error : "";
}

int
zc_consumer_slot (const zc_consumer_t * c)
{
  return c && c->gen ? (int) c->gen->slot : -1;
}

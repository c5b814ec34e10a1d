/* gst-zerocopy core library: the consumer end of a channel, frame path.
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
 *
 * This file holds the public lifecycle and the frame path; the handshake,
 * the control messages and the hang-ups are consumer-control.c's.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <zc/consumer.h>
#include <zc/error.h>
#include <zc/heartbeat.h>

#include "consumer-private.h"

/* How often a detached consumer looks for a producer. */
#define RETRY_NS 10000000ull
/* zc_consumer_keepalive()'s answer while there is no producer to show
 * life to: how soon to look again. */
#define KEEPALIVE_DETACHED_NS 100000000ull

void
zc_consumer_cgen_unref (struct cgen *g)
{
  if (g && atomic_fetch_sub_explicit (&g->refs, 1, memory_order_acq_rel) == 1) {
    zc_region_close (g->region);
    free (g);
  }
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
  zc_spin_init (&c->spin);
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
      || zc_consumer_watch (c, c->cancel_fd, true) < 0
      || zc_consumer_watch_in (c->quiet_fd, c->cancel_fd, EPOLLIN, true) < 0) {
    ret = -errno;
    goto failed;
  }
  *out = c;
  return 0;

failed:
  zc_consumer_free (c);
  return ret;
}

void
zc_consumer_free (zc_consumer_t * c)
{
  if (c == NULL)
    return;
  zc_consumer_detach (c);
  zc_consumer_clear_backlog (c);
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

static int
return_event (zc_consumer_t * c, zc_event_t * ev)
{
  struct pending_event *e = &c->backlog[c->backlog_head];

  c->backlog_head = (c->backlog_head + 1) % BACKLOG_LEN;
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
  zc_consumer_detach (c);
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

/* Queue drained, about to sleep: a dense stream is watched for a while
 * first (spin.h). */
static bool
spin_for_frame (zc_consumer_t * c)
{
  uint64_t spin_ns = zc_spin_budget (&c->spin);
  bool caught;

  if (spin_ns == 0)
    return false;
  caught = zc_queue_spin (c->gen->queue, spin_ns);
  zc_spin_result (&c->spin, caught);
  return caught;
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
      ret = zc_consumer_attach (c);
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
        ret = d.sequence == (uint64_t) c->ctl_seq + 1 ?
            zc_consumer_apply_control (c) : -EPROTO;
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
      zc_spin_note_frame (&c->spin, zc_now_ns ());
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
      if (!zc_consumer_check_socket (c))
        continue;
    }
    if (timeout_ns != 0 && spin_for_frame (c))
      continue;
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
     * socket out of the next wait (zc_consumer_check_socket() says true). */
    watch_sock = !socket_readable || !zc_consumer_check_socket (c);
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
  zc_consumer_cgen_unref (g);
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

uint64_t
zc_consumer_drops (const zc_consumer_t * c)
{
  /* Relaxed: a counter for display, it orders nothing.  The producer
   * writes it; a hostile one can only make our figure wrong. */
  return c && c->gen ? atomic_load_explicit (&c->gen->queue->dropped,
      memory_order_relaxed) : 0;
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

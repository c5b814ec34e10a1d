/* gst-zerocopy core library: the producer end of a channel, data path.
 *
 * A generation is one region (segment + pool + queues); resize starts a
 * new one and keeps the old ones until their blocks drain.  Each consumer
 * has the same slot index in every generation, so its bit in the holder
 * masks and its queue are found the same way everywhere.
 *
 * One mutex (process-local, never in shared memory) guards the consumer
 * table against the control thread (producer-control.c).  The publish path
 * holds it while it writes descriptors and drops it only to sleep in the
 * block policy, re-checking the consumer afterwards.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <zc/error.h>
#include <zc/heartbeat.h>
#include <zc/producer.h>

#include "producer-private.h"
#include "wire.h"

void
zc_producer_config_init (zc_producer_config_t * config)
{
  memset (config, 0, sizeof (*config));
  config->block_size = 4096;
  config->n_blocks = 16;
  config->max_consumers = 32;
  config->policy = ZC_POLICY_BLOCK;
  config->default_limit = 4;
  config->heartbeat_timeout_ns = 2000000000ull;
}

/* Drops a reference taken by acquire (one per outstanding frame).  The
 * producer's own list holds the last one; the control thread frees an old
 * generation when that is all that is left. */
static void
gen_unref (struct zc_gen *gen)
{
  /* Release: our last use of its memory happens before the control
   * thread's acquire load that lets it unmap. */
  atomic_fetch_sub_explicit (&gen->refs, 1, memory_order_release);
}

void
zc_producer_gen_free (struct zc_gen *gen)
{
  if (gen == NULL)
    return;
  zc_region_close (gen->region);
  free (gen);
}

/* SCALE_REQUEST, from the control thread: remembered for the publishing
 * thread, which alone may start a generation (zc_producer_acquire). */
static void
scale_requested (void *user_data, unsigned from, uint64_t blocks)
{
  zc_producer_t *p = user_data;
  uint32_t want = blocks > ZC_SCALE_MAX ? ZC_SCALE_MAX : (uint32_t) blocks;
  uint32_t cur = atomic_load_explicit (&p->scale_wanted, memory_order_relaxed);

  (void) from;
  while (want > cur && !atomic_compare_exchange_weak_explicit
      (&p->scale_wanted, &cur, want, memory_order_relaxed,
          memory_order_relaxed));
}

struct zc_gen *
zc_producer_gen_new (zc_producer_t * p, uint64_t block_size,
    uint32_t n_blocks, uint32_t generation)
{
  zc_duty_hooks_t hooks = { scale_requested, NULL, NULL, p };
  zc_region_config_t rc;
  struct zc_gen *gen;
  int ret;

  gen = calloc (1, sizeof (*gen));
  if (gen == NULL)
    return NULL;
  rc.n_slots = p->cfg.max_consumers + 1;
  rc.pool.block_size = block_size;
  rc.pool.n_blocks = n_blocks;
  rc.pool.flags = p->cfg.crc ? ZC_POOL_FLAG_CRC : 0;
  ret = zc_region_create ("zc-channel", &rc, &gen->region);
  if (ret == 0)
    ret = zc_heartbeat_assign (zc_region_heartbeat (gen->region),
        ZC_PRODUCER_SLOT, getpid (), NULL);
  if (ret < 0) {
    zc_region_close (gen->region);
    free (gen);
    errno = -ret;
    return NULL;
  }
  gen->pool = zc_region_pool (gen->region);
  gen->hb = zc_region_heartbeat (gen->region);
  gen->queues = zc_region_queues (gen->region);
  gen->generation = generation;
  atomic_init (&gen->refs, 1);        /* the producer's list */
  ret = zc_duty_join (&gen->duty, gen->region, ZC_PRODUCER_SLOT, generation,
      p->cfg.heartbeat_timeout_ns, &hooks);
  /* Take the duty before any consumer can see the region: the first
   * consumer to attach would otherwise find it ownerless and keep it. */
  if (ret == 0)
    zc_duty_service (&gen->duty);
  if (ret < 0) {
    zc_region_close (gen->region);
    free (gen);
    errno = -ret;
    return NULL;
  }
  return gen;
}

static int
check_config (const zc_producer_config_t * c)
{
  if (c->name == NULL && c->socket_path == NULL)
    return -EINVAL;
  if (c->name != NULL && zc_channel_name_validate (c->name) < 0)
    return -EINVAL;
  if (c->max_consumers < 1 || c->max_consumers > ZC_CHANNEL_MAX_CONSUMERS)
    return -EINVAL;
  if (c->policy != ZC_POLICY_BLOCK && c->policy != ZC_POLICY_DROP)
    return -EINVAL;
  if (c->permissions & ~(ZC_PERMIT_GROUP | ZC_PERMIT_OTHERS))
    return -EINVAL;
  if (c->heartbeat_timeout_ns < 10000000ull)   /* 10 ms: below is noise */
    return -EINVAL;
  return 0;
}

int
zc_producer_new (const zc_producer_config_t * config, zc_producer_t ** out)
{
  zc_producer_t *p;
  int ret;

  if (config == NULL || out == NULL)
    return -EINVAL;
  ret = check_config (config);
  if (ret < 0)
    return ret;

  p = calloc (1, sizeof (*p));
  if (p == NULL)
    return -ENOMEM;
  p->cfg = *config;
  p->doorbell = -1;
  p->listen_fd = p->wake_fd = p->epoll_fd = p->janitor_fd = -1;
  for (unsigned i = 0; i < ZC_MAX_PARTICIPANTS; i++)
    p->consumers[i].sock = -1;
  if (config->name)
    snprintf (p->name, sizeof (p->name), "%s", config->name);
  p->cfg.name = config->name ? p->name : NULL;
  p->cfg.socket_path = NULL;
  if (p->cfg.default_limit < 1)
    p->cfg.default_limit = 1;
  if (p->cfg.default_limit > ZC_LIMIT_MAX)
    p->cfg.default_limit = ZC_LIMIT_MAX;
  pthread_mutex_init (&p->lock, NULL);
  pthread_mutex_init (&p->resize_lock, NULL);
  pthread_cond_init (&p->changed, NULL);

  ret = zc_endpoint_socket_path (config->name, config->socket_path, p->path,
      sizeof (p->path));
  if (ret < 0)
    goto failed;
  p->doorbell = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (p->doorbell < 0) {
    ret = -errno;
    goto failed;
  }
  p->gen = zc_producer_gen_new (p, config->block_size, config->n_blocks, 1);
  if (p->gen == NULL) {
    ret = -errno;
    goto failed;
  }
  ret = zc_producer_control_start (p);
  if (ret < 0)
    goto failed;
  *out = p;
  return 0;

failed:
  zc_producer_gen_free (p->gen);
  if (p->doorbell >= 0)
    close (p->doorbell);
  pthread_mutex_destroy (&p->lock);
  pthread_mutex_destroy (&p->resize_lock);
  pthread_cond_destroy (&p->changed);
  free (p);
  return ret;
}

void
zc_producer_free (zc_producer_t * p)
{
  struct zc_wire_header bye;

  if (p == NULL)
    return;
  zc_producer_control_stop (p);

  for (unsigned slot = 1; slot < ZC_MAX_PARTICIPANTS; slot++) {
    if (p->consumers[slot].sock < 0)
      continue;
    /* Best effort: a consumer that reads it reports a clean goodbye
     * rather than a crash. */
    zc_wire_send (p->consumers[slot].sock, ZC_WIRE_BYE,
        ++p->consumers[slot].ctl_seq, &bye, sizeof (bye), NULL, 0);
    zc_producer_remove_consumer (p, slot, 0, NULL);
  }
  while (p->gen) {
    struct zc_gen *older = p->gen->older;

    zc_producer_gen_free (p->gen);
    p->gen = older;
  }
  free (p->format);
  for (unsigned i = 0; i < p->n_sticky; i++)
    free (p->sticky[i].data);
  close (p->doorbell);
  pthread_mutex_destroy (&p->lock);
  pthread_mutex_destroy (&p->resize_lock);
  pthread_cond_destroy (&p->changed);
  free (p);
}

const char *
zc_producer_socket_path (const zc_producer_t * p)
{
  return p ? p->path : NULL;
}

/* Queues a marker for control message @ctl_seq, which was just sent on the
 * consumer's socket: it takes effect in order with the frames. */
static int
push_marker (zc_producer_t * p, struct zc_gen *gen, unsigned slot,
    uint32_t flags, uint64_t ctl_seq)
{
  struct zc_desc d = { 0 };

  d.flags = ZC_DESC_FLAG_NO_BLOCK | flags;
  d.sequence = ctl_seq;
  d.pts = d.dts = d.duration = ZC_TIME_NONE;
  return zc_queue_push (zc_queues_get (gen->queues, slot), &d, p->doorbell);
}

/* Sends one control message to every consumer, then its marker.  A
 * consumer that cannot take it (socket full: it has not read for a long
 * time) is evicted.  Lock held. */
static void
broadcast_control (zc_producer_t * p, uint16_t type, void *msg, size_t len)
{
  for (unsigned slot = 1; slot < ZC_MAX_PARTICIPANTS; slot++) {
    struct zc_consumer_entry *c = &p->consumers[slot];

    if (!(p->active_mask & (UINT64_C (1) << slot)))
      continue;
    c->ctl_seq++;
    if (zc_wire_send (c->sock, type, c->ctl_seq, msg, len, NULL, 0) < 0
        || push_marker (p, p->gen, slot, ZC_DESC_FLAG_CONTROL, c->ctl_seq) < 0)
      zc_producer_remove_consumer (p, slot, ZC_EEVICTED, "control message "
          "not accepted: consumer stopped reading");
  }
}

int
zc_producer_set_format (zc_producer_t * p, const void *format, size_t size)
{
  uint8_t *copy, *msg;

  if (p == NULL || (format == NULL && size > 0))
    return -EINVAL;
  if (size > ZC_FORMAT_MAX)
    return -EMSGSIZE;
  copy = malloc (size ? size : 1);
  msg = malloc (sizeof (struct zc_wire_header) + size);
  if (copy == NULL || msg == NULL) {
    free (copy);
    free (msg);
    return -ENOMEM;
  }
  if (size)
    memcpy (copy, format, size);
  memcpy (msg + sizeof (struct zc_wire_header), format, size);

  pthread_mutex_lock (&p->lock);
  free (p->format);
  p->format = copy;
  p->format_size = size;
  broadcast_control (p, ZC_WIRE_FORMAT, msg,
      sizeof (struct zc_wire_header) + size);
  pthread_mutex_unlock (&p->lock);
  free (msg);
  return 0;
}

int
zc_producer_set_sticky (zc_producer_t * p, uint32_t id, const void *data,
    size_t size)
{
  struct zc_sticky *s = NULL;
  struct zc_wire_sticky *msg;
  uint8_t *copy = NULL;
  int ret = 0;

  if (p == NULL || (data == NULL && size > 0))
    return -EINVAL;
  if (size > ZC_FORMAT_MAX)
    return -EMSGSIZE;
  msg = malloc (sizeof (*msg) + size);
  if (msg == NULL)
    return -ENOMEM;
  if (size > 0 && (copy = malloc (size)) == NULL) {
    free (msg);
    return -ENOMEM;
  }
  msg->id = id;
  msg->reserved = 0;
  if (size) {
    memcpy (copy, data, size);
    memcpy (msg + 1, data, size);
  }

  pthread_mutex_lock (&p->lock);
  for (unsigned i = 0; i < p->n_sticky; i++)
    if (p->sticky[i].id == id)
      s = &p->sticky[i];
  if (s == NULL && size > 0) {
    if (p->n_sticky == ZC_STICKY_MAX) {
      ret = -ENOSPC;
      goto out;
    }
    s = &p->sticky[p->n_sticky++];
    s->id = id;
    s->data = NULL;
  }
  if (s != NULL) {
    free (s->data);
    s->data = copy;
    s->size = size;
    copy = NULL;
    if (size == 0)              /* removed: keep the array dense */
      *s = p->sticky[--p->n_sticky];
  }
  broadcast_control (p, ZC_WIRE_STICKY, msg, sizeof (*msg) + size);
out:
  pthread_mutex_unlock (&p->lock);
  free (copy);
  free (msg);
  return ret;
}

int
zc_producer_resize (zc_producer_t * p, uint64_t block_size, uint32_t n_blocks)
{
  struct zc_gen *gen;

  uint32_t next;

  if (p == NULL)
    return -EINVAL;
  /* One resize at a time (the publishing thread's, or a SCALE_REQUEST's in
   * the acquiring thread); the region is built outside the main lock. */
  pthread_mutex_lock (&p->resize_lock);
  pthread_mutex_lock (&p->lock);
  if (n_blocks == 0)
    n_blocks = p->gen->pool->n_blocks;
  next = p->gen->generation + 1;
  pthread_mutex_unlock (&p->lock);
  gen = zc_producer_gen_new (p, block_size, n_blocks, next);
  if (gen == NULL) {
    int ret = -errno;

    pthread_mutex_unlock (&p->resize_lock);
    return ret;
  }

  pthread_mutex_lock (&p->lock);
  for (unsigned slot = 1; slot < ZC_MAX_PARTICIPANTS; slot++) {
    if (!(p->active_mask & (UINT64_C (1) << slot)))
      continue;
    if (zc_producer_admit_to_gen (p, gen, slot, ZC_WIRE_GENERATION) < 0)
      zc_producer_remove_consumer (p, slot, ZC_EEVICTED,
          "could not follow the new pool generation");
  }
  gen->older = p->gen;
  p->gen = gen;
  pthread_mutex_unlock (&p->lock);
  pthread_mutex_unlock (&p->resize_lock);
  return 0;
}

/* The consumer with the longest queue, for a revoke; 0 if none. */
static unsigned
longest_queue (zc_producer_t * p, uint64_t tried)
{
  uint64_t best = 0;
  unsigned best_slot = 0;

  for (unsigned slot = 1; slot < ZC_MAX_PARTICIPANTS; slot++) {
    struct zc_queue *q;
    uint64_t queued;

    if (!(p->active_mask & ~tried & (UINT64_C (1) << slot)))
      continue;
    q = zc_queues_get (p->gen->queues, slot);
    queued = atomic_load_explicit (&q->head, memory_order_relaxed) -
        atomic_load_explicit (&q->tail, memory_order_relaxed);
    if (queued > best && queued <= ZC_QUEUE_DEPTH) {
      best = queued;
      best_slot = slot;
    }
  }
  return best_slot;
}

/* Drop policy, pool empty: takes back unread frames, oldest first from the
 * longest queue, until one block is free.  Lock held. */
static bool
revoke_until_free (zc_producer_t * p)
{
  uint64_t tried = 0;
  unsigned slot;

  while ((slot = longest_queue (p, tried)) != 0) {
    struct zc_queue *q = zc_queues_get (p->gen->queues, slot);
    struct zc_desc d;

    if (zc_queue_revoke (q, &d) < 0) {
      tried |= UINT64_C (1) << slot;
      continue;
    }
    /* The consumer never saw it: its reference is ours to drop.  The
     * index came from shared memory; pool_release bounds it, and only
     * this consumer's bit is touched. */
    if (zc_pool_release (p->gen->pool, slot, d.block) == 1)
      return true;
  }
  return false;
}

int
zc_producer_acquire (zc_producer_t * p, zc_frame_t * frame, int64_t timeout_ns)
{
  struct zc_gen *gen;
  uint32_t index;
  int ret;

  if (p == NULL || frame == NULL)
    return -EINVAL;
  /* A consumer asked for a larger pool: the next frame starts it.  One
   * attempt per request: a pool that cannot grow (1 GiB segment limit,
   * memory) stays as it is. */
  {
    uint32_t want = atomic_exchange_explicit (&p->scale_wanted, 0,
        memory_order_relaxed);

    if (want > 0) {
      uint32_t have;
      uint64_t size;

      pthread_mutex_lock (&p->lock);
      have = p->gen->pool->n_blocks;
      size = p->gen->pool->header->block_size;
      pthread_mutex_unlock (&p->lock);
      if (want > have)
        zc_producer_resize (p, size, want);
    }
  }
  /* The generation is pinned by a reference, so that a resize in another
   * thread cannot unmap it under a waiting acquire; the frame inherits it. */
  pthread_mutex_lock (&p->lock);
  gen = p->gen;
  atomic_fetch_add_explicit (&gen->refs, 1, memory_order_relaxed);
  pthread_mutex_unlock (&p->lock);

  memset (frame, 0, sizeof (*frame));
  ret = zc_guard_acquire (gen->pool, ZC_PRODUCER_SLOT, 0, &frame->guard);
  if (ret == -EAGAIN && p->cfg.policy == ZC_POLICY_DROP) {
    pthread_mutex_lock (&p->lock);
    if (gen == p->gen)
      revoke_until_free (p);
    pthread_mutex_unlock (&p->lock);
    ret = zc_guard_acquire (gen->pool, ZC_PRODUCER_SLOT, 0, &frame->guard);
  }
  /* Still none: consumers hold them all.  Releases and the control
   * thread's evictions wake this sleep. */
  if (ret == -EAGAIN && timeout_ns != 0)
    ret = zc_guard_acquire (gen->pool, ZC_PRODUCER_SLOT, timeout_ns,
        &frame->guard);
  if (ret < 0) {
    gen_unref (gen);
    return ret;
  }
  index = zc_guard_index (&frame->guard);

  frame->desc.block = index;
  frame->desc.generation = gen->generation;
  frame->desc.pts = frame->desc.dts = frame->desc.duration = ZC_TIME_NONE;
  frame->desc.offset = frame->desc.offset_end = ZC_TIME_NONE;
  frame->data = zc_pool_block_data (gen->pool, index);
  frame->capacity = gen->pool->capacity;
  frame->priv = gen;
  return 0;
}

void
zc_producer_discard (zc_producer_t * p, zc_frame_t * frame)
{
  struct zc_gen *gen;

  if (p == NULL || frame == NULL || frame->priv == NULL)
    return;
  gen = frame->priv;
  frame->priv = NULL;
  /* Block first, then the generation: the control thread unmaps a
   * drained generation only once nobody here holds a reference. */
  zc_guard_release (&frame->guard);
  gen_unref (gen);
}

/* Block policy: sleeps until consumer @slot releases something (or 100 ms
 * pass, to look at the flushing flag), lock dropped meanwhile.  Returns 0
 * to try the push again, -ETIMEDOUT, -ECANCELED, or -ENOENT when the
 * consumer went away (its references are gone already). */
static int
wait_for_room (zc_producer_t * p, unsigned slot, struct zc_queue *q,
    uint64_t deadline)
{
  uint64_t now = zc_now_ns ();
  int64_t left = 100000000;

  if (atomic_load_explicit (&p->flushing, memory_order_relaxed))
    return -ECANCELED;
  if (deadline != UINT64_MAX) {
    if (now >= deadline)
      return -ETIMEDOUT;
    if (deadline - now < (uint64_t) left)
      left = (int64_t) (deadline - now);
  }
  /* The control thread's stall watch (tick()) starts here. */
  if (p->consumers[slot].waiting_since_ns == 0)
    p->consumers[slot].waiting_since_ns = now;
  pthread_mutex_unlock (&p->lock);
  zc_queue_wait_space (q, left);
  pthread_mutex_lock (&p->lock);
  return p->active_mask & (UINT64_C (1) << slot) ? 0 : -ENOENT;
}

static int publish (zc_producer_t * p, zc_frame_t * frame, int64_t timeout_ns,
    bool keep);

int
zc_producer_publish (zc_producer_t * p, zc_frame_t * frame, int64_t timeout_ns)
{
  return publish (p, frame, timeout_ns, false);
}

int
zc_producer_publish_keep (zc_producer_t * p, zc_frame_t * frame,
    int64_t timeout_ns)
{
  return publish (p, frame, timeout_ns, true);
}

void
zc_producer_release (zc_producer_t * p, zc_frame_t * frame)
{
  zc_producer_discard (p, frame);
}

/* Frames at most 1000/s: see the yield in publish(). */
#define YIELD_GAP_NS UINT64_C (1000000)

static int
publish (zc_producer_t * p, zc_frame_t * frame, int64_t timeout_ns, bool keep)
{
  uint64_t deadline, now, gap;
  struct zc_gen *gen;
  int delivered = 0, ret = 0, cpu = -2;
  bool ring = false, yield = false;

  if (p == NULL || frame == NULL || frame->priv == NULL)
    return -EINVAL;
  gen = frame->priv;
  if (frame->desc.size > frame->capacity
      || frame->desc.meta_size > ZC_DESC_META_SIZE) {
    zc_producer_discard (p, frame);
    return -EINVAL;
  }
  deadline = timeout_ns < 0 ? UINT64_MAX : zc_now_ns () + (uint64_t) timeout_ns;
  frame->desc.flags &= ~(ZC_DESC_FLAG_NO_BLOCK | ZC_DESC_FLAG_CONTROL |
      ZC_DESC_FLAG_EOS);
  frame->desc.generation = gen->generation;
  frame->desc.sequence = ++p->sequence;
  /* Header, trailer check (L0) and CRC (L2); readers are added one by one
   * below, each just before its descriptor. */
  now = zc_now_ns ();
  gap = now - p->last_publish_ns;
  p->last_publish_ns = now;
  ret = zc_guard_publish (&frame->guard, frame->desc.size, now, 0,
      NULL);
  if (ret < 0) {
    /* The guard let go of the block (overrun: the pool tripped). */
    frame->priv = NULL;
    gen_unref (gen);
    return ret;
  }
  ret = 0;

  pthread_mutex_lock (&p->lock);
  /* Acquired before a resize: its consumers have moved on to the new
   * generation, nobody reads this pool any more.  Nobody gets it. */
  for (unsigned slot = 1; gen == p->gen && slot < ZC_MAX_PARTICIPANTS;
      slot++) {
    uint64_t bit = UINT64_C (1) << slot;
    struct zc_queue *q;
    int r;

    if (!(p->active_mask & bit))
      continue;
    q = zc_queues_get (gen->queues, slot);
    /* The reference goes first: the consumer may release the block the
     * moment the descriptor is visible. */
    zc_pool_add_holders (gen->pool, ZC_PRODUCER_SLOT, frame->desc.block, bit);
    while ((r = zc_queue_push (q, &frame->desc, -1)) == -EAGAIN) {
      if (p->cfg.policy == ZC_POLICY_DROP) {
        atomic_fetch_add_explicit (&q->dropped, 1, memory_order_relaxed);
        break;
      }
      /* Those served so far should not wait with us. */
      if (ring)
        zc_queue_ring (p->doorbell);
      ring = false;
      r = wait_for_room (p, slot, q, deadline);
      if (r == 0 && gen != p->gen)
        r = -ESTALE;            /* resized meanwhile: see above */
      if (r < 0)
        break;
    }
    p->consumers[slot].waiting_since_ns = 0;
    if (r == 0) {
      /* One ring for every sleeper, after the loop (see doorbell). */
      if (zc_queue_take_sleeper (q)) {
        ring = true;
        if (gap >= YIELD_GAP_NS && cpu == -2)
          cpu = sched_getcpu ();
        yield |= gap >= YIELD_GAP_NS && zc_queue_sleeps_on_cpu (q, cpu);
      }
      delivered++;
      continue;
    }
    /* Not delivered: take the consumer's reference back, unless it left
     * and the control thread has dropped it already. */
    if (r != -ENOENT)
      zc_pool_release (gen->pool, slot, frame->desc.block);
    if (r == -ETIMEDOUT || r == -ECANCELED)
      ret = r;
  }
  pthread_mutex_unlock (&p->lock);
  if (ring)
    zc_queue_ring (p->doorbell);
  /* A reader woken on our CPU would wait for us (zc_queue_sleeps_on_cpu):
   * let it have the CPU now, not after our next frame.  Only for frames a
   * while apart: a quick stream has us block or be preempted soon, and a
   * yield per frame there costs more than the wait it saves. */
  if (yield)
    sched_yield ();

  /* Our own reference last: with no consumer the block is free again.
   * Kept, it is a read reference until zc_producer_release(). */
  if (!keep)
    zc_producer_discard (p, frame);
  return ret < 0 ? ret : delivered;
}

int
zc_producer_flush (zc_producer_t * p)
{
  int told = 0;

  if (p == NULL)
    return -EINVAL;
  pthread_mutex_lock (&p->lock);
  for (unsigned slot = 1; slot < ZC_MAX_PARTICIPANTS; slot++) {
    struct zc_queue *q;
    struct zc_desc d;

    if (!(p->active_mask & (UINT64_C (1) << slot)))
      continue;
    q = zc_queues_get (p->gen->queues, slot);
    /* Unread, so the consumer's reference is ours to drop (as in the drop
     * policy); bounded by the depth, revoke stops at the first marker. */
    for (unsigned n = 0; n < ZC_QUEUE_DEPTH && zc_queue_revoke (q, &d) == 0;
        n++)
      zc_pool_release (p->gen->pool, slot, d.block);
    if (push_marker (p, p->gen, slot, ZC_DESC_FLAG_FLUSH, 0) == 0)
      told++;
  }
  pthread_mutex_unlock (&p->lock);
  return told;
}

int
zc_producer_send_eos (zc_producer_t * p)
{
  int told = 0;

  if (p == NULL)
    return -EINVAL;
  pthread_mutex_lock (&p->lock);
  for (unsigned slot = 1; slot < ZC_MAX_PARTICIPANTS; slot++) {
    if ((p->active_mask & (UINT64_C (1) << slot))
        && push_marker (p, p->gen, slot, ZC_DESC_FLAG_EOS, 0) == 0)
      told++;
  }
  pthread_mutex_unlock (&p->lock);
  return told;
}

void
zc_producer_set_flushing (zc_producer_t * p, bool flushing)
{
  if (p == NULL)
    return;
  atomic_store_explicit (&p->flushing, flushing, memory_order_relaxed);
  /* Wake a publish asleep on a consumer so it sees the flag. */
  pthread_mutex_lock (&p->lock);
  for (struct zc_gen * g = p->gen; g; g = g->older)
    zc_pool_set_flushing (g->pool, flushing);
  for (unsigned slot = 1; slot < ZC_MAX_PARTICIPANTS; slot++)
    if (p->active_mask & (UINT64_C (1) << slot))
      zc_queue_wake_writer (zc_queues_get (p->gen->queues, slot));
  pthread_mutex_unlock (&p->lock);
}

void
zc_producer_get_stats (zc_producer_t * p, zc_channel_stats_t * stats)
{
  if (p == NULL || stats == NULL)
    return;
  pthread_mutex_lock (&p->lock);
  zc_endpoint_fill_stats (p->gen->region, p->gen->generation, stats);
  pthread_mutex_unlock (&p->lock);
}

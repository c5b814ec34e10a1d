/* gst-zerocopy core library: the producer's control thread.
 *
 * It owns the listening socket and every consumer's control socket:
 *
 *   - a new connection waits (at most ZC_PENDING_TIMEOUT_NS) for one HELLO,
 *     which is checked field by field: version, length, name, no
 *     descriptor, the peer's credentials against `permissions`;
 *   - a consumer socket that hangs up (clean close or kill -9: the kernel
 *     closes it either way) has its references dropped at once;
 *   - every tick, a consumer whose heartbeat is older than the timeout is
 *     evicted, whatever the policy, so one stalled peer cannot hold the
 *     pool; drained old generations are unmapped.
 *
 * Consumers never send anything after HELLO: any byte from them is a
 * protocol violation and ends the connection.
 *
 * It waits on an epoll set, not poll(): poll() hands the kernel every
 * socket at every tick, and with 32 consumers that was most of the
 * thread's time (their poll callbacks, a page for the table, per tick).
 * Each socket is in the set from its accept to its close.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zc/error.h>
#include <zc/heartbeat.h>

#include "producer-private.h"
#include "wire.h"

/* Changes to report once the lock is dropped: the callback may call us. */
struct change_list
{
  unsigned n;
  struct
  {
    zc_consumer_change_t change;
    unsigned slot;
    pid_t pid;
  } items[ZC_MAX_PARTICIPANTS + ZC_PENDING_MAX];
};

static void
note_change (struct change_list *list, zc_consumer_change_t change,
    unsigned slot, pid_t pid)
{
  if (list && list->n < sizeof (list->items) / sizeof (list->items[0])) {
    list->items[list->n].change = change;
    list->items[list->n].slot = slot;
    list->items[list->n].pid = pid;
    list->n++;
  }
}

/* Who an epoll entry is for: a consumer's slot (1..63), a pending
 * connection (OWNER_PENDING + index), or one of these. */
#define OWNER_WAKE (-1)
#define OWNER_LISTEN (-2)
#define OWNER_PENDING 1000

/* Adds @fd to the control thread's set, or moves it to a new @owner.  The
 * entry carries the fd too: an event is acted on only while its owner
 * still has that fd. */
static int
watch (zc_producer_t * p, int op, int fd, int owner)
{
  struct epoll_event ev = {
    .events = EPOLLIN,
    .data.u64 = (uint64_t) (uint32_t) fd << 32 | (uint32_t) owner,
  };

  return epoll_ctl (p->epoll_fd, op, fd, &ev) < 0 ? -errno : 0;
}

/* Before every close of a watched socket: a copy of the descriptor that
 * a fork() of the application keeps open would otherwise keep the entry,
 * and its hang-up, in the set. */
static void
close_watched (zc_producer_t * p, int fd)
{
  if (p->epoll_fd >= 0)
    epoll_ctl (p->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
  close (fd);
}

static void
send_refuse (int sock, int code, const char *reason)
{
  struct
  {
    struct zc_wire_refuse r;
    char text[256];
  } msg;
  size_t n = strlen (reason);

  if (n > sizeof (msg.text))
    n = sizeof (msg.text);
  msg.r.code = code;
  msg.r.reason_len = (uint32_t) n;
  memcpy (msg.text, reason, n);
  zc_wire_send (sock, ZC_WIRE_REFUSE, 0, &msg, sizeof (msg.r) + n, NULL, 0);
}

pid_t
zc_producer_remove_consumer (zc_producer_t * p, unsigned slot, int code,
    const char *reason)
{
  struct zc_consumer_entry *c = &p->consumers[slot];
  pid_t pid = c->pid;

  if (c->sock < 0)
    return 0;
  if (code != 0)
    send_refuse (c->sock, code, reason);
  p->active_mask &= ~(UINT64_C (1) << slot);
  close_watched (p, c->sock);
  c->sock = -1;
  c->pid = 0;

  /* Every generation it may hold blocks in.  Its queue goes FREE first so
   * no late descriptor lands there; the references then go back, which
   * wakes a producer waiting for a block. */
  for (struct zc_gen * g = p->gen; g; g = g->older) {
    struct zc_queue *q = zc_queues_get (g->queues, slot);

    atomic_store_explicit (&q->state, ZC_QUEUE_FREE, memory_order_relaxed);
    zc_queue_wake_writer (q);
    zc_pool_reclaim_participant (g->pool, slot);
    zc_heartbeat_release (g->hb, slot);
    zc_msgring_evict (zc_region_msgring (g->region), slot);
  }
  pthread_cond_broadcast (&p->changed);
  return pid;
}

/* Sends the format and every sticky blob, in order, each numbered. */
static int
send_state (zc_producer_t * p, struct zc_consumer_entry *c)
{
  uint8_t *msg = malloc (sizeof (struct zc_wire_sticky) + ZC_FORMAT_MAX);
  int ret;

  if (msg == NULL)
    return -ENOMEM;
  if (p->format_size)
    memcpy (msg + sizeof (struct zc_wire_header), p->format, p->format_size);
  ret = zc_wire_send (c->sock, ZC_WIRE_FORMAT, ++c->ctl_seq, msg,
      sizeof (struct zc_wire_header) + p->format_size, NULL, 0);
  for (unsigned i = 0; ret == 0 && i < p->n_sticky; i++) {
    struct zc_wire_sticky *s = (struct zc_wire_sticky *) msg;

    s->id = p->sticky[i].id;
    s->reserved = 0;
    memcpy (s + 1, p->sticky[i].data, p->sticky[i].size);
    ret = zc_wire_send (c->sock, ZC_WIRE_STICKY, ++c->ctl_seq, msg,
        sizeof (*s) + p->sticky[i].size, NULL, 0);
  }
  free (msg);
  return ret;
}

int
zc_producer_admit_to_gen (zc_producer_t * p, struct zc_gen *gen,
    unsigned slot, uint16_t type)
{
  struct zc_consumer_entry *c = &p->consumers[slot];
  struct zc_wire_welcome w = { 0 };
  int fds[3] = { -1, -1, p->doorbell };
  uint32_t slot_gen;
  int ret;

  ret = zc_heartbeat_assign (gen->hb, slot, c->pid, &slot_gen);
  if (ret < 0)
    return ret;
  zc_queue_reset (zc_queues_get (gen->queues, slot), c->limit);

  ret = zc_segment_reader_fds (zc_region_segment (gen->region), &fds[0],
      &fds[1]);
  if (ret < 0)
    goto failed;
  w.slot = slot;
  w.slot_generation = slot_gen;
  w.generation = gen->generation;
  w.limit = c->limit;
  w.heartbeat_timeout_ns = p->cfg.heartbeat_timeout_ns;
  w.n_sticky = p->n_sticky;
  w.policy = p->cfg.policy;
  ret = zc_wire_send (c->sock, type, type == ZC_WIRE_WELCOME ? 0 :
      ++c->ctl_seq, &w, sizeof (w), fds, type == ZC_WIRE_WELCOME ? 3 : 2);
  close (fds[0]);
  if (fds[1] >= 0)
    close (fds[1]);
  if (ret < 0)
    goto failed;

  if (type == ZC_WIRE_WELCOME) {
    ret = send_state (p, c);
  } else {
    struct zc_desc d = { 0 };

    /* The consumer switches when it reaches this in its old queue. */
    d.flags = ZC_DESC_FLAG_NO_BLOCK | ZC_DESC_FLAG_CONTROL;
    d.sequence = c->ctl_seq;
    ret = zc_queue_push (zc_queues_get (p->gen->queues, slot), &d,
        p->doorbell);
  }
  if (ret < 0)
    goto failed;
  return 0;

failed:
  atomic_store_explicit (&zc_queues_get (gen->queues, slot)->state,
      ZC_QUEUE_FREE, memory_order_relaxed);
  zc_heartbeat_release (gen->hb, slot);
  return ret;
}

/* Whether the peer's credentials may attach. */
static bool
peer_permitted (const zc_producer_t * p, const struct ucred *cred)
{
  if (cred->uid == geteuid ())
    return true;
  if ((p->cfg.permissions & ZC_PERMIT_GROUP) && cred->gid == getegid ())
    return true;
  return (p->cfg.permissions & ZC_PERMIT_OTHERS) != 0;
}

static unsigned
free_slot (const zc_producer_t * p)
{
  for (unsigned slot = 1; slot <= p->cfg.max_consumers; slot++)
    if (p->consumers[slot].sock < 0)
      return slot;
  return 0;
}

/* Reads and checks the HELLO of a pending connection.  Returns 1 when the
 * consumer is in, 0 to keep waiting, < 0 when the connection was closed. */
static int
handle_hello (zc_producer_t * p, int sock, struct change_list *changes)
{
  static uint8_t buf[ZC_WIRE_MAX_SIZE];   /* control thread only */
  struct zc_wire_hello hello;
  struct zc_consumer_entry *c;
  struct ucred cred;
  socklen_t len = sizeof (cred);
  int fds[ZC_WIRE_MAX_FDS];
  unsigned n_fds, slot;
  const char *why;
  int n, code;

  n = zc_wire_recv (sock, 0, buf, sizeof (buf), fds, &n_fds);
  if (n == -EAGAIN)
    return 0;
  if (n == ZC_EVERSION) {
    send_refuse (sock, ZC_EVERSION, "protocol version not supported: "
        "update gst-zerocopy on both sides");
    goto close;
  }
  if (n < 0)
    goto close;

  code = -EPROTO;
  memcpy (&hello, buf, n >= (int) sizeof (hello) ? sizeof (hello) : 0);
  if (n < (int) sizeof (hello) || hello.h.type != ZC_WIRE_HELLO) {
    why = "expected HELLO";
    goto refuse;
  }
  if (hello.name_len > ZC_CHANNEL_NAME_MAX
      || (uint64_t) n != sizeof (hello) + hello.name_len) {
    why = "HELLO length does not match its name";
    goto refuse;
  }
  if (n_fds != 0) {
    why = "HELLO carries no descriptor";
    goto refuse;
  }
  /* An empty name is a consumer that came by explicit socket path. */
  if (hello.name_len > 0 && (p->cfg.name == NULL
          || strlen (p->cfg.name) != hello.name_len
          || memcmp (p->cfg.name, buf + sizeof (hello), hello.name_len))) {
    code = ZC_ENAMEMISMATCH;
    why = "this socket serves a channel of another name";
    goto refuse;
  }
  if (getsockopt (sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0
      || !peer_permitted (p, &cred)) {
    code = -EACCES;
    why = "permission denied: this user may not attach (see the producer's "
        "permissions)";
    goto refuse;
  }
  slot = free_slot (p);
  if (slot == 0) {
    code = -EUSERS;
    why = "channel full: max-consumers reached";
    goto refuse;
  }

  c = &p->consumers[slot];
  c->sock = sock;
  c->pid = cred.pid;
  c->ctl_seq = 0;
  c->waiting_since_ns = 0;
  c->limit = hello.max_held ? hello.max_held : p->cfg.default_limit;
  if (c->limit > ZC_LIMIT_MAX)
    c->limit = ZC_LIMIT_MAX;
  code = watch (p, EPOLL_CTL_MOD, sock, (int) slot);
  if (code == 0)
    code = zc_producer_admit_to_gen (p, p->gen, slot, ZC_WIRE_WELCOME);
  if (code < 0) {
    c->sock = -1;
    why = "could not set up the consumer";
    goto refuse;
  }
  p->active_mask |= UINT64_C (1) << slot;
  pthread_cond_broadcast (&p->changed);
  note_change (changes, ZC_CONSUMER_ATTACHED, slot, cred.pid);
  return 1;

refuse:
  send_refuse (sock, code, why);
  zc_wire_close_fds (fds, &n_fds);
close:
  close_watched (p, sock);
  return -1;
}

/* A consumer socket became readable or hung up: either way it is over.
 * A hang-up is a consumer leaving (closed, or its process died); bytes are
 * a protocol violation, answered before we close. */
static void
handle_consumer_socket (zc_producer_t * p, unsigned slot,
    struct change_list *changes)
{
  char byte;
  ssize_t n = recv (p->consumers[slot].sock, &byte, 1,
      MSG_PEEK | MSG_DONTWAIT);
  pid_t pid;

  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  pid = n > 0 ? zc_producer_remove_consumer (p, slot, -EPROTO,
      "protocol violation: consumers send nothing after HELLO")
      : zc_producer_remove_consumer (p, slot, 0, NULL);
  note_change (changes, ZC_CONSUMER_LEFT, slot, pid);
}

static void
accept_all (zc_producer_t * p)
{
  int sock;

  while ((sock = accept4 (p->listen_fd, NULL, NULL,
              SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
    unsigned i;

    for (i = 0; i < ZC_PENDING_MAX && p->pending[i].sock >= 0; i++);
    if (i == ZC_PENDING_MAX
        || watch (p, EPOLL_CTL_ADD, sock, OWNER_PENDING + (int) i) < 0) {
      close (sock);             /* flooded: the client will retry */
      continue;
    }
    p->pending[i].sock = sock;
    p->pending[i].since_ns = zc_now_ns ();
  }
}

/* The periodic part: stalled or dead consumers, drained generations. */

/* Whether @q, a consumer's queue in some generation, still holds entries
 * the consumer has not read. */
static bool
queue_unread (struct zc_queue *q)
{
  /* Acquire on tail: the consumer's pop of the last entry came before. */
  return q != NULL && atomic_load_explicit (&q->state,
      memory_order_relaxed) != ZC_QUEUE_FREE
      && atomic_load_explicit (&q->tail, memory_order_acquire) !=
      atomic_load_explicit (&q->head, memory_order_relaxed);
}

/* Whether every consumer admitted to old generation @g has read its queue
 * there to the end, the marker that moves it on included: one that has
 * not may still have to open @g (two resizes in a row, the middle one
 * not yet reached), and a region taken down is refused to new openers.
 * Only consumers attached now count (our own mask, not the queues' shared
 * state, which a consumer we let go could still write).  The indices are
 * the consumer's to write, so a hostile one can keep @g here, as holding
 * a block would, until bound_generations() evicts it. */
static bool
gen_passed (const zc_producer_t * p, struct zc_gen *g)
{
  for (unsigned slot = 1; slot < ZC_MAX_PARTICIPANTS; slot++) {
    if ((p->active_mask & (UINT64_C (1) << slot))
        && queue_unread (zc_queues_get (g->queues, slot)))
      return false;
  }
  return true;
}

/* Old generations stay while a consumer is in one, and a consumer that
 * stops reading (a paused pipeline, drop policy) would keep every one made
 * after it stopped: a whole pool per format change, without end.  Past
 * ZC_OLD_GENERATIONS_MAX, whoever is still in the oldest (an unread entry
 * in its queue there, or a block of it held) is evicted; a zcsrc with
 * reconnect comes back in the current one.  The generation then goes like
 * any other, once the producer's own frames of it are back. */
static void
bound_generations (zc_producer_t * p, struct change_list *changes)
{
  struct zc_gen *oldest = NULL;
  uint64_t laggards;
  unsigned n = 0;

  for (struct zc_gen * g = p->gen->older; g; g = g->older, n++)
    oldest = g;
  if (n <= ZC_OLD_GENERATIONS_MAX)
    return;
  laggards = zc_pool_holders (oldest->pool);
  for (unsigned slot = 1; slot < ZC_MAX_PARTICIPANTS; slot++)
    if (queue_unread (zc_queues_get (oldest->queues, slot)))
      laggards |= UINT64_C (1) << slot;
  laggards &= p->active_mask;
  for (unsigned slot = 1; slot < ZC_MAX_PARTICIPANTS; slot++) {
    if (laggards & (UINT64_C (1) << slot)) {
      pid_t pid = zc_producer_remove_consumer (p, slot, ZC_EEVICTED,
          "evicted: stopped reading while the format kept changing "
          "(the old pools it held up are freed)");
      note_change (changes, ZC_CONSUMER_EVICTED, slot, pid);
    }
  }
}

static void
tick (zc_producer_t * p, struct change_list *changes)
{
  uint64_t now = zc_now_ns ();
  struct zc_gen **link;

  zc_heartbeat_touch (p->gen->hb, ZC_PRODUCER_SLOT);
  for (unsigned slot = 1; slot < ZC_MAX_PARTICIPANTS; slot++) {
    zc_peer_status_t st;
    uint64_t since;

    if (!(p->active_mask & (UINT64_C (1) << slot)))
      continue;
    /* A fresh beat is enough: asking the kernel about every consumer at
     * every tick cost more than the frames with 32 consumers, and a
     * consumer that dies closes its socket, which the poll sees at once. */
    st = ZC_PEER_ALIVE;
    if (zc_heartbeat_age (p->gen->hb, slot) > p->cfg.heartbeat_timeout_ns)
      st = zc_heartbeat_check (p->gen->hb, slot, p->cfg.heartbeat_timeout_ns);
    /* FREE or RECLAIMING: a duty holder reclaimed it while we were not
     * looking (we were hung); it is gone all the same. */
    if (st != ZC_PEER_ALIVE) {
      pid_t pid = zc_producer_remove_consumer (p, slot, ZC_EEVICTED,
          "evicted: no sign of life within the heartbeat timeout");
      note_change (changes, ZC_CONSUMER_EVICTED, slot, pid);
      continue;
    }
    /* Alive (zc_consumer_keepalive() beats for a paused consumer) but
     * holding the producer up: one bad peer may not freeze the channel. */
    since = p->consumers[slot].waiting_since_ns;
    if (since && now > since && now - since > p->cfg.heartbeat_timeout_ns) {
      pid_t pid = zc_producer_remove_consumer (p, slot, ZC_EEVICTED,
          "evicted: kept the producer waiting for room (block policy) for "
          "longer than the heartbeat timeout");
      note_change (changes, ZC_CONSUMER_EVICTED, slot, pid);
    }
  }
  /* After our own checks, so the ring's cleaner finds nothing of ours
   * left to reclaim; keeps the duty and answers ring messages. */
  zc_duty_service (&p->gen->duty);
  for (unsigned i = 0; i < ZC_PENDING_MAX; i++) {
    if (p->pending[i].sock >= 0
        && now - p->pending[i].since_ns > ZC_PENDING_TIMEOUT_NS) {
      close_watched (p, p->pending[i].sock);
      p->pending[i].sock = -1;
    }
  }
  /* An old generation goes when its last block came back and every
   * consumer has passed through it. */
  bound_generations (p, changes);
  link = &p->gen->older;
  while (*link) {
    struct zc_gen *g = *link;
    zc_pool_stats_t st;

    zc_pool_get_stats (g->pool, &st);
    /* Acquire pairs with gen_unref(): no thread here touches it still. */
    if (st.n_free == st.n_blocks && gen_passed (p, g)
        && atomic_load_explicit (&g->refs, memory_order_acquire) == 1) {
      *link = g->older;
      zc_producer_gen_free (g);
    } else {
      link = &g->older;
    }
  }
}

static void *
control_thread (void *data)
{
  zc_producer_t *p = data;
  struct epoll_event evs[2 + ZC_PENDING_MAX + ZC_MAX_PARTICIPANTS];
  /* Ticks often enough that eviction comes within a quarter of the
   * timeout of the deadline, and never slower than 50 ms. */
  int tick_ms = (int) (p->cfg.heartbeat_timeout_ns / 4000000);

  if (tick_ms > 50)
    tick_ms = 50;
  if (tick_ms < 1)
    tick_ms = 1;

  while (!atomic_load_explicit (&p->stopping, memory_order_relaxed)) {
    struct change_list changes = { 0 };
    int n = epoll_wait (p->epoll_fd, evs, sizeof (evs) / sizeof (evs[0]),
        tick_ms);

    if (n < 0 && errno != EINTR)
      break;

    pthread_mutex_lock (&p->lock);
    for (int i = 0; i < n; i++) {
      int fd = (int) (evs[i].data.u64 >> 32);
      int owner = (int) (uint32_t) evs[i].data.u64;

      if (owner == OWNER_LISTEN) {
        accept_all (p);
      } else if (owner >= OWNER_PENDING) {
        unsigned k = (unsigned) (owner - OWNER_PENDING);

        if (p->pending[k].sock == fd
            && handle_hello (p, fd, &changes) != 0)
          p->pending[k].sock = -1;
      } else if (owner > 0 && p->consumers[owner].sock == fd) {
        handle_consumer_socket (p, (unsigned) owner, &changes);
      }
    }
    tick (p, &changes);
    pthread_mutex_unlock (&p->lock);

    for (unsigned i = 0; i < changes.n && p->cfg.consumer_changed; i++)
      p->cfg.consumer_changed (p->cfg.user_data, changes.items[i].change,
          changes.items[i].slot, changes.items[i].pid);
  }
  return NULL;
}

/* The janitor's one job, in the child: remove @path if it is still the
 * socket of the dead producer.  Two things make it a loop.  Inode numbers
 * are reused at once (ext4): a new producer's socket may carry ours, so
 * only a socket nobody answers on (ECONNREFUSED) is ours.  And the kernel
 * closes a dying process's descriptors one by one: the pipe that woke us
 * may close before the listening socket, which then still answers for a
 * moment.  So: look again every 10 ms for 2 s.  The directory lock is
 * held only while looking, never while sleeping. */
static void
janitor_sweep (const char *path, const char *dir, const struct stat *ours)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };

  memcpy (addr.sun_path, path, strlen (path));
  for (int tries = 0; tries < 200; tries++) {
    struct timespec nap = { 0, 10000000 };
    struct stat now;
    bool done = true;
    int lock, probe;

    lock = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (lock >= 0)
      flock (lock, LOCK_EX);
    if (lstat (path, &now) == 0 && now.st_dev == ours->st_dev
        && now.st_ino == ours->st_ino && S_ISSOCK (now.st_mode)) {
      probe = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC,
          0);
      if (probe >= 0 && connect (probe, (struct sockaddr *) &addr,
              sizeof (addr)) < 0 && errno == ECONNREFUSED)
        unlink (path);
      else
        done = false;           /* answered: still closing, or a new one */
      if (probe >= 0)
        close (probe);
    }
    if (lock >= 0)
      close (lock);
    if (done)
      return;
    nanosleep (&nap, NULL);
  }
}

/* The janitor: a small child process that outlives us only to remove our
 * socket file.  It waits for end-of-file on a pipe whose only writer is
 * this process, which the kernel closes however we end (kill -9
 * included).  Then, under the directory lock, it removes the file if it is
 * still ours (same inode: a new producer may have replaced it).  Between
 * fork and _exit it makes system calls only, as a child of a threaded
 * process must. */
static int
start_janitor (zc_producer_t * p)
{
  char dir[ZC_SOCKET_PATH_MAX + 1];
  struct stat st;
  int pipefd[2], ready[2], ret;
  pid_t pid;
  char sync;

  ret = zc_endpoint_parent_dir (p->path, dir, sizeof (dir));
  if (ret < 0)
    return ret;
  if (lstat (p->path, &st) < 0 || pipe2 (pipefd, O_CLOEXEC) < 0)
    return -errno;
  if (pipe2 (ready, O_CLOEXEC) < 0) {
    ret = -errno;
    close (pipefd[0]);
    close (pipefd[1]);
    return ret;
  }
  pid = fork ();
  if (pid < 0) {
    ret = -errno;
    close (pipefd[0]);
    close (pipefd[1]);
    close (ready[0]);
    close (ready[1]);
    return ret;
  }
  if (pid == 0) {
    char byte;

    /* Ctrl-C reaches the whole process group: the producer handles it,
     * the janitor must see it through. */
    signal (SIGINT, SIG_IGN);
    signal (SIGTERM, SIG_IGN);
    signal (SIGHUP, SIG_IGN);
    signal (SIGQUIT, SIG_IGN);
    /* Nothing of the producer's may stay open here: a copy of the
     * listening socket would keep accepting for a dead producer. */
    if (pipefd[0] > 0)
      close_range (0, (unsigned) pipefd[0] - 1, 0);
    close_range ((unsigned) pipefd[0] + 1, ~0u, 0);
    while (read (pipefd[0], &byte, 1) < 0 && errno == EINTR);
    janitor_sweep (p->path, dir, &st);
    _exit (0);
  }
  close (pipefd[0]);
  /* Until its close_range() the janitor holds a copy of the listening
   * socket: a consumer could connect to it after we die, and a new
   * producer's probe would find the name taken.  Its copy of ready[1]
   * goes in the same close_range(): EOF here means it is done. */
  close (ready[1]);
  while (read (ready[0], &sync, 1) < 0 && errno == EINTR);
  close (ready[0]);
  p->janitor_fd = pipefd[1];
  p->janitor_pid = pid;
  return 0;
}

static void
stop_janitor (zc_producer_t * p)
{
  if (p->janitor_pid <= 0)
    return;
  close (p->janitor_fd);
  while (waitpid (p->janitor_pid, NULL, 0) < 0 && errno == EINTR);
  p->janitor_pid = 0;
  p->janitor_fd = -1;
}

int
zc_producer_control_start (zc_producer_t * p)
{
  mode_t mode = S_IRUSR | S_IWUSR;
  int ret;

  for (unsigned i = 0; i < ZC_PENDING_MAX; i++)
    p->pending[i].sock = -1;
  ret = zc_channel_listen (p->path, &p->listen_fd);
  if (ret < 0)
    return ret;
  /* connect() needs write access to the socket file: open it as far as
   * `permissions` allows (SO_PEERCRED is checked all the same). */
  if (p->cfg.permissions & ZC_PERMIT_GROUP)
    mode |= S_IRGRP | S_IWGRP;
  if (p->cfg.permissions & ZC_PERMIT_OTHERS)
    mode |= S_IROTH | S_IWOTH;
  if (chmod (p->path, mode) < 0
      || fcntl (p->listen_fd, F_SETFL, O_NONBLOCK) < 0) {
    ret = -errno;
    goto failed;
  }
  ret = start_janitor (p);
  if (ret < 0)
    goto failed;
  p->wake_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  p->epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
  if (p->wake_fd < 0 || p->epoll_fd < 0) {
    ret = -errno;
    goto failed;
  }
  if ((ret = watch (p, EPOLL_CTL_ADD, p->wake_fd, OWNER_WAKE)) < 0
      || (ret = watch (p, EPOLL_CTL_ADD, p->listen_fd, OWNER_LISTEN)) < 0)
    goto failed;
  ret = -pthread_create (&p->thread, NULL, control_thread, p);
  if (ret < 0)
    goto failed;
  p->thread_started = true;
  return 0;

failed:
  if (p->wake_fd >= 0)
    close (p->wake_fd);
  if (p->epoll_fd >= 0)
    close (p->epoll_fd);
  unlink (p->path);
  stop_janitor (p);
  close (p->listen_fd);
  p->listen_fd = p->wake_fd = p->epoll_fd = -1;
  return ret;
}

void
zc_producer_control_stop (zc_producer_t * p)
{
  uint64_t one = 1;

  if (!p->thread_started)
    return;
  atomic_store_explicit (&p->stopping, true, memory_order_relaxed);
  if (write (p->wake_fd, &one, sizeof (one)) < 0) {
    /* an eventfd write only fails when the counter is full: awake anyway */
  }
  pthread_join (p->thread, NULL);
  p->thread_started = false;
  /* The socket file first, so no consumer connects to a dying producer. */
  unlink (p->path);
  close (p->listen_fd);
  stop_janitor (p);
  close (p->wake_fd);
  for (unsigned i = 0; i < ZC_PENDING_MAX; i++)
    if (p->pending[i].sock >= 0)
      close (p->pending[i].sock);
  /* Consumer sockets stay (zc_producer_free() says goodbye on them) and
   * may be closed without the set: nothing waits on it any more. */
  close (p->epoll_fd);
  p->epoll_fd = -1;
}

int
zc_producer_wait_consumers (zc_producer_t * p, unsigned n, int64_t timeout_ns)
{
  struct timespec ts;
  int count, ret = 0;

  if (p == NULL)
    return -EINVAL;
  clock_gettime (CLOCK_REALTIME, &ts);
  if (timeout_ns >= 0) {
    ts.tv_sec += timeout_ns / 1000000000;
    ts.tv_nsec += timeout_ns % 1000000000;
    if (ts.tv_nsec >= 1000000000) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000;
    }
  }
  pthread_mutex_lock (&p->lock);
  while ((count = __builtin_popcountll (p->active_mask)) < (int) n
      && ret == 0)
    ret = timeout_ns < 0 ? pthread_cond_wait (&p->changed, &p->lock)
        : pthread_cond_timedwait (&p->changed, &p->lock, &ts);
  pthread_mutex_unlock (&p->lock);
  return count >= (int) n ? count : -ETIMEDOUT;
}

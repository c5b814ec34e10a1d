/* gst-zerocopy core library: the heartbeat block.
 *
 * Every participant of a segment (writer or reader, one process each, or
 * one per thread) owns a slot here for as long as it takes part.  The slot
 * index is the participant's bit in every block's holder mask, so the
 * slot is what reclaiming a dead participant's references is keyed on.
 *
 * Life of a slot (see heartbeat.h for the diagram):
 *
 *   - allocate: the first FREE slot is claimed by one CAS to ACTIVE; the
 *     claimer then writes its identity (pid, process start time, a first
 *     beat) and publishes it by bumping the generation with release order.
 *     The generation is therefore odd exactly while an identity is
 *     published, and even between the claim and the publication.
 *   - touch: the owner records a beat now and then (a relaxed store).
 *   - release: the owner gives the slot back, holding no references.
 *   - check / find_dead: anyone may look at any slot and ask whether its
 *     process is gone (kill(pid, 0)), replaced by a newer process with the
 *     same pid (start time in /proc/PID/stat), or hung (beat too old).
 *   - begin_reclaim / finish_reclaim: a CAS ACTIVE -> RECLAIMING elects
 *     one reclaimer among all the processes that noticed the death; that
 *     one drops the references, then frees the slot.
 *
 * Concurrency: everything here is lock-free and every process may run
 * every function at once.  The only writers of a slot's identity are the
 * process that won its claim (allocate, release) and the process that won
 * its reclaim (finish_reclaim); the state CAS makes them take turns.  The
 * shared n_slots is read once, when attaching, and never trusted again: a
 * peer rewriting it cannot steer an index out of the block.
 *
 * Known limit: a slot claimed but not yet published (even generation) is
 * taken for a live claimer.  A process killed in the handful of stores
 * between its claim and its publication leaves such a slot behind, and
 * nothing here can tell it from one being claimed right now.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zc/error.h>
#include <zc/heartbeat.h>

/* Tries at reading one consistent identity while the slot is reused under
 * our eyes; a slot that keeps changing belongs to someone alive. */
#define IDENTITY_TRIES 4

uint64_t
zc_heartbeat_footprint (uint32_t n_slots)
{
  return sizeof (struct zc_heartbeat_header) +
      (uint64_t) n_slots * sizeof (struct zc_heartbeat_slot);
}

static bool
mem_is_aligned (const void *mem)
{
  return ((uintptr_t) mem % _Alignof (struct zc_heartbeat_slot)) == 0;
}

int
zc_heartbeat_construct (zc_heartbeat_t * hb, void *mem, uint64_t size,
    uint32_t n_slots)
{
  struct zc_heartbeat_header *header = mem;

  if (hb == NULL || mem == NULL || !mem_is_aligned (mem))
    return -EINVAL;
  if (n_slots == 0 || n_slots > ZC_HEARTBEAT_MAX_SLOTS)
    return -EINVAL;
  if (size < zc_heartbeat_footprint (n_slots))
    return ZC_EBOUNDS;

  /* The memory is zeroed: every slot FREE, generation 0 (no identity).
   * Nobody else sees the block before the region's construction bit for
   * it is set with release order, so plain stores are enough. */
  header->magic = ZC_HEARTBEAT_MAGIC;
  header->n_slots = n_slots;

  hb->header = header;
  hb->slots = (struct zc_heartbeat_slot *) (header + 1);
  hb->n_slots = n_slots;
  return 0;
}

int
zc_heartbeat_attach (zc_heartbeat_t * hb, void *mem, uint64_t size)
{
  struct zc_heartbeat_header *header = mem;
  uint32_t n_slots;

  if (hb == NULL || mem == NULL || !mem_is_aligned (mem))
    return -EINVAL;
  if (size < sizeof (struct zc_heartbeat_header))
    return ZC_EBOUNDS;
  if (header->magic != ZC_HEARTBEAT_MAGIC)
    return ZC_EBADMAGIC;

  /* Read the count once: the value checked is the value kept. */
  n_slots = *(volatile uint32_t *) &header->n_slots;
  if (n_slots == 0 || n_slots > ZC_HEARTBEAT_MAX_SLOTS)
    return ZC_EBOUNDS;
  if (size < zc_heartbeat_footprint (n_slots))
    return ZC_EBOUNDS;

  hb->header = header;
  hb->slots = (struct zc_heartbeat_slot *) (header + 1);
  hb->n_slots = n_slots;
  return 0;
}

/* Claims slot @i for @pid if it is free.  acq_rel: acquire pairs with the
 * release store of FREE by the last releaser or reclaimer (its clearing
 * happens before our writes); release pairs with the acquire load of the
 * state in check(). */
static bool
claim_slot (zc_heartbeat_t * hb, unsigned i, pid_t pid, uint64_t start_time)
{
  struct zc_heartbeat_slot *s = &hb->slots[i];
  uint32_t expected = ZC_SLOT_FREE;

  if (!atomic_compare_exchange_strong_explicit (&s->state, &expected,
          ZC_SLOT_ACTIVE, memory_order_acq_rel, memory_order_relaxed))
    return false;

  atomic_store_explicit (&s->start_time, start_time, memory_order_relaxed);
  atomic_store_explicit (&s->last_beat_ns, zc_now_ns (), memory_order_relaxed);
  atomic_store_explicit (&s->pid, pid, memory_order_relaxed);
  /* Publishes the three stores above: pairs with the acquire load of the
   * generation in read_identity(). */
  atomic_fetch_add_explicit (&s->generation, 1, memory_order_release);
  return true;
}

int
zc_heartbeat_allocate (zc_heartbeat_t * hb, unsigned *slot)
{
  pid_t pid = getpid ();
  uint64_t start_time;
  int ret;

  if (hb == NULL || hb->slots == NULL || slot == NULL)
    return -EINVAL;

  /* Before claiming anything: the fewer steps between the claim and the
   * publication, the smaller the window in which a kill leaves a slot
   * claimed without an identity. */
  ret = zc_process_start_time (pid, &start_time);
  if (ret < 0)
    return ret;

  for (unsigned i = 0; i < hb->n_slots; i++) {
    if (claim_slot (hb, i, pid, start_time)) {
      *slot = i;
      return 0;
    }
  }
  return -ENOSPC;
}

int
zc_heartbeat_assign (zc_heartbeat_t * hb, unsigned slot, pid_t pid,
    uint32_t * generation)
{
  uint64_t start_time;
  int ret;

  if (hb == NULL || hb->slots == NULL || slot >= hb->n_slots || pid <= 0)
    return -EINVAL;
  ret = zc_process_start_time (pid, &start_time);
  if (ret < 0)
    return ret;
  if (!claim_slot (hb, slot, pid, start_time))
    return ZC_ESTATE;
  if (generation)
    *generation = atomic_load_explicit (&hb->slots[slot].generation,
        memory_order_relaxed);
  return 0;
}

uint32_t
zc_heartbeat_generation (const zc_heartbeat_t * hb, unsigned slot)
{
  if (hb == NULL || hb->slots == NULL || slot >= hb->n_slots)
    return 0;
  return atomic_load_explicit (&hb->slots[slot].generation,
      memory_order_acquire);
}

void
zc_heartbeat_touch (zc_heartbeat_t * hb, unsigned slot)
{
  if (hb == NULL || hb->slots == NULL || slot >= hb->n_slots)
    return;
  /* Relaxed: an age estimate, it orders nothing. */
  atomic_store_explicit (&hb->slots[slot].last_beat_ns, zc_now_ns (),
      memory_order_relaxed);
}

/* Clears the identity and frees a slot this caller has exclusive use of
 * (it won the claim or the reclaim), leaving it in state @from. */
static bool
free_slot (struct zc_heartbeat_slot *s, uint32_t from)
{
  /* The generation goes even again: no identity published.  Release, as
   * the header promises to readers that cache a slot's generation. */
  atomic_fetch_add_explicit (&s->generation, 1, memory_order_release);
  atomic_store_explicit (&s->pid, 0, memory_order_relaxed);
  atomic_store_explicit (&s->start_time, 0, memory_order_relaxed);
  /* Release: the next claimer's acq_rel CAS sees the slot cleared.  A CAS
   * and not a store, so that a reclaimer that won the slot meanwhile is
   * not overwritten. */
  return atomic_compare_exchange_strong_explicit (&s->state, &from,
      ZC_SLOT_FREE, memory_order_release, memory_order_relaxed);
}

int
zc_heartbeat_release (zc_heartbeat_t * hb, unsigned slot)
{
  struct zc_heartbeat_slot *s;

  if (hb == NULL || hb->slots == NULL || slot >= hb->n_slots)
    return -EINVAL;
  s = &hb->slots[slot];

  /* Relaxed: our own slot; the state only tells whether it still is. */
  if (atomic_load_explicit (&s->state, memory_order_relaxed) != ZC_SLOT_ACTIVE)
    return ZC_ESTATE;
  /* If a reclaimer took the slot in between (it thought us dead or
   * stale), it finishes the job and frees the slot itself. */
  if (!free_slot (s, ZC_SLOT_ACTIVE))
    return ZC_ESTATE;
  return 0;
}

/* One consistent snapshot of a slot's identity, seqlock style: the
 * generation is read before and after, and must not have moved.  Returns
 * false when there is no published identity (claim in progress) or the
 * slot keeps being reused: both mean someone is alive there. */
static bool
read_identity (const struct zc_heartbeat_slot *s, pid_t * pid,
    uint64_t * start_time, uint64_t * last_beat)
{
  for (int i = 0; i < IDENTITY_TRIES; i++) {
    /* Acquire: pairs with the release fetch_add in allocate(). */
    uint32_t gen = atomic_load_explicit (&s->generation, memory_order_acquire);

    if ((gen & 1) == 0)
      return false;
    /* Acquire, each, rather than a fence (which ThreadSanitizer cannot
     * follow): keeps every load of the snapshot before the second read of
     * the generation below. */
    *pid = atomic_load_explicit (&s->pid, memory_order_acquire);
    *start_time = atomic_load_explicit (&s->start_time, memory_order_acquire);
    *last_beat = atomic_load_explicit (&s->last_beat_ns, memory_order_acquire);
    if (atomic_load_explicit (&s->generation, memory_order_relaxed) == gen)
      return true;
  }
  return false;
}

/* Reads field 3 (state) and field 22 (starttime) of /proc/PID/stat. */
static int
read_proc_stat (pid_t pid, char *state, uint64_t * start_time)
{
  char path[64], buf[1024];
  const char *p, *end;
  size_t len = 0;
  ssize_t n;
  int fd, field;

  if (pid <= 0)
    return -ESRCH;
  snprintf (path, sizeof (path), "/proc/%d/stat", (int) pid);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? -ESRCH : -errno;
  while (len < sizeof (buf) - 1) {
    n = read (fd, buf + len, sizeof (buf) - 1 - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      /* The process was reaped between open and read. */
      int err = errno;
      close (fd);
      return err == ESRCH ? -ESRCH : -err;
    }
    if (n == 0)
      break;
    len += (size_t) n;
  }
  close (fd);
  buf[len] = '\0';

  /* Field 2 is the command name in parentheses, and the name itself may
   * hold spaces and parentheses ("a) (b"): the fields that follow start
   * after the LAST ')'. */
  p = memrchr (buf, ')', len);
  if (p == NULL)
    return -EPROTO;
  end = buf + len;
  p++;

  /* Fields 3.. are single tokens, one space apart. */
  for (field = 3;; field++) {
    if (p >= end || *p != ' ')
      return -EPROTO;
    p++;
    if (field == 3) {
      if (p >= end)
        return -EPROTO;
      *state = *p;
    } else if (field == 22) {
      uint64_t v = 0;
      const char *digits = p;

      for (; p < end && *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9) / 10)
          return -EPROTO;
        v = v * 10 + (uint64_t) (*p - '0');
      }
      if (p == digits || (p < end && *p != ' ' && *p != '\n'))
        return -EPROTO;
      *start_time = v;
      return 0;
    }
    while (p < end && *p != ' ')
      p++;
  }
}

int
zc_process_start_time (pid_t pid, uint64_t * start_time)
{
  char state;

  if (start_time == NULL)
    return -EINVAL;
  return read_proc_stat (pid, &state, start_time);
}

static zc_peer_status_t check_identity (const struct zc_heartbeat_slot *s,
    uint64_t stale_ns);

/* The status of @slot; *active tells whether it was ACTIVE, the only
 * state whose DEAD or STALE means anything to a reclaimer. */
static zc_peer_status_t
check_slot (const zc_heartbeat_t * hb, unsigned slot, uint64_t stale_ns,
    bool *active)
{
  const struct zc_heartbeat_slot *s = &hb->slots[slot];
  uint32_t state;

  *active = false;
  /* Acquire: pairs with the claim CAS and with the FREE store. */
  state = atomic_load_explicit (&s->state, memory_order_acquire);
  if (state == ZC_SLOT_FREE)
    return ZC_PEER_FREE;
  if (state == ZC_SLOT_RECLAIMING)
    return ZC_PEER_RECLAIMING;
  if (state != ZC_SLOT_ACTIVE)
    return ZC_PEER_DEAD;        /* garbage: nobody can own it */
  *active = true;
  return check_identity (s, stale_ns);
}

/* Whether the process recorded in @s is alive, dead or stale, whatever
 * the slot's state. */
static zc_peer_status_t
check_identity (const struct zc_heartbeat_slot *s, uint64_t stale_ns)
{
  uint64_t start_time, now_start, last_beat, now;
  pid_t pid;
  char proc_state = '?';
  int ret;

  if (!read_identity (s, &pid, &start_time, &last_beat))
    return ZC_PEER_ALIVE;

  if (pid <= 0)
    return ZC_PEER_DEAD;
  /* EPERM means the process exists under another uid: go on. */
  if (kill (pid, 0) < 0 && errno == ESRCH)
    return ZC_PEER_DEAD;
  ret = read_proc_stat (pid, &proc_state, &now_start);
  if (ret == -ESRCH)
    return ZC_PEER_DEAD;
  if (ret == 0) {
    if (now_start != start_time)
      return ZC_PEER_DEAD;      /* the pid was reused */
    /* A zombie will never beat again nor drop a reference. */
    if (proc_state == 'Z' || proc_state == 'X')
      return ZC_PEER_DEAD;
  }
  /* Any other /proc failure: we cannot tell, so do not evict on it. */

  if (stale_ns != 0) {
    now = zc_now_ns ();
    /* A beat from the future (a hostile or broken peer) counts as now. */
    if (now > last_beat && now - last_beat > stale_ns)
      return ZC_PEER_STALE;
  }
  return ZC_PEER_ALIVE;
}

uint64_t
zc_heartbeat_age (const zc_heartbeat_t * hb, unsigned slot)
{
  uint64_t beat, now;

  if (hb == NULL || hb->slots == NULL || slot >= hb->n_slots)
    return 0;
  /* Relaxed: an age, not a hand-over of anything. */
  beat = atomic_load_explicit (&hb->slots[slot].last_beat_ns,
      memory_order_relaxed);
  now = zc_now_ns ();
  return now > beat ? now - beat : 0;
}

zc_peer_status_t
zc_heartbeat_check (const zc_heartbeat_t * hb, unsigned slot, uint64_t stale_ns)
{
  bool active;

  if (hb == NULL || hb->slots == NULL || slot >= hb->n_slots)
    return ZC_PEER_FREE;
  return check_slot (hb, slot, stale_ns, &active);
}

uint64_t
zc_heartbeat_find_dead (const zc_heartbeat_t * hb, uint64_t stale_ns)
{
  uint64_t mask = 0;

  if (hb == NULL || hb->slots == NULL)
    return 0;
  for (unsigned i = 0; i < hb->n_slots; i++) {
    bool active;
    zc_peer_status_t status = check_slot (hb, i, stale_ns, &active);

    if (active && (status == ZC_PEER_DEAD || status == ZC_PEER_STALE))
      mask |= UINT64_C (1) << i;
  }
  return mask;
}

int
zc_heartbeat_begin_reclaim (zc_heartbeat_t * hb, unsigned slot)
{
  uint32_t expected = ZC_SLOT_ACTIVE;

  if (hb == NULL || hb->slots == NULL || slot >= hb->n_slots)
    return -EINVAL;
  /* The single-winner election.  Acquire: pairs with the claim CAS of the
   * dead owner, so its identity is what we see while reclaiming. */
  if (!atomic_compare_exchange_strong_explicit (&hb->slots[slot].state,
          &expected, ZC_SLOT_RECLAIMING, memory_order_acquire,
          memory_order_relaxed))
    return ZC_ESTATE;
  return 0;
}

int
zc_heartbeat_confirm_reclaim (zc_heartbeat_t * hb, unsigned slot,
    uint64_t stale_ns)
{
  zc_peer_status_t status;
  uint32_t expected = ZC_SLOT_RECLAIMING;

  if (hb == NULL || hb->slots == NULL || slot >= hb->n_slots)
    return -EINVAL;
  /* Between the scan that found this slot dead and the winning CAS, its
   * reclaim may have finished elsewhere and a live process taken the slot.
   * RECLAIMING freezes the identity (allocate needs FREE, release needs
   * ACTIVE), so one more look tells for sure. */
  status = check_identity (&hb->slots[slot], stale_ns);
  if (status == ZC_PEER_DEAD || status == ZC_PEER_STALE)
    return 0;
  /* Alive: give the slot back.  Release: pairs with the acquire of the
   * next reclaimer's CAS, as the owner's own stores would. */
  atomic_compare_exchange_strong_explicit (&hb->slots[slot].state, &expected,
      ZC_SLOT_ACTIVE, memory_order_release, memory_order_relaxed);
  return ZC_ESTATE;
}

void
zc_heartbeat_finish_reclaim (zc_heartbeat_t * hb, unsigned slot)
{
  if (hb == NULL || hb->slots == NULL || slot >= hb->n_slots)
    return;
  /* Only the winner of begin_reclaim gets here; if the slot is not
   * RECLAIMING the CAS in free_slot() leaves it alone. */
  if (atomic_load_explicit (&hb->slots[slot].state, memory_order_relaxed) !=
      ZC_SLOT_RECLAIMING)
    return;
  free_slot (&hb->slots[slot], ZC_SLOT_RECLAIMING);
}

uint64_t
zc_now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * UINT64_C (1000000000) + (uint64_t) ts.tv_nsec;
}

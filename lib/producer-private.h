/* gst-zerocopy core library: producer internals shared by producer.c (data
 * path) and producer-control.c (control thread).  Internal to libzc. */
#ifndef ZC_PRODUCER_PRIVATE_H
#define ZC_PRODUCER_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include <zc/producer.h>
#include <zc/region.h>

#include "duty.h"
#include "endpoint.h"

/* Largest format or sticky blob: a control message must fit a datagram. */
#define ZC_FORMAT_MAX 60000u
#define ZC_STICKY_MAX 32u
/* Most blocks a SCALE_REQUEST can get. */
#define ZC_SCALE_MAX 1024u
/* Connections that have not said HELLO yet, and how long they may wait. */
#define ZC_PENDING_MAX 16u
/* Old generations kept for consumers still in them; past this many, those
 * in the oldest are evicted (producer-control.c, bound_generations). */
#define ZC_OLD_GENERATIONS_MAX 4u
#define ZC_PENDING_TIMEOUT_NS 2000000000ull

/* One pool generation: a region of its own. */
struct zc_gen
{
  zc_region_t *region;
  zc_pool_t *pool;
  zc_heartbeat_t *hb;
  zc_queues_t *queues;
  uint32_t generation;
  zc_duty_t duty;               /* our node in this generation's ring */
  /* 1 for the producer's list, plus one per frame this process holds
   * (acquired, or published and kept); see gen_unref(). */
  _Atomic int refs;
  struct zc_gen *older;         /* generations still draining */
};

struct zc_consumer_entry
{
  int sock;                     /* -1: slot free */
  pid_t pid;
  uint32_t limit;
  uint32_t ctl_seq;             /* last control message sent */
  /* Since when publish has been waiting for room in this consumer's queue
   * without a push getting through (block policy), 0 when it is not: past
   * the heartbeat timeout, the consumer is evicted as stalled. */
  uint64_t waiting_since_ns;
};

struct zc_sticky
{
  uint32_t id;
  void *data;
  size_t size;
};

struct zc_pending
{
  int sock;
  uint64_t since_ns;
};

struct zc_producer
{
  zc_producer_config_t cfg;
  char name[ZC_CHANNEL_NAME_MAX + 1];
  char path[ZC_SOCKET_PATH_MAX + 1];
  int listen_fd;
  int wake_fd;                  /* eventfd that stops the control thread */
  int epoll_fd;                 /* what the control thread waits on */
  /* The channel's doorbell, an eventfd every consumer watches (edge
   * triggered, never read): one write wakes every consumer that sleeps,
   * however many there are. */
  int doorbell;
  int janitor_fd;               /* its EOF tells the janitor we are gone */
  pid_t janitor_pid;
  pthread_t thread;
  bool thread_started;
  _Atomic bool stopping;
  _Atomic bool flushing;

  pthread_mutex_t resize_lock;  /* one zc_producer_resize() at a time */
  pthread_mutex_t lock;         /* everything below */
  pthread_cond_t changed;       /* signalled when consumers come or go */
  struct zc_gen *gen;           /* current generation; ->older the rest */
  struct zc_consumer_entry consumers[ZC_MAX_PARTICIPANTS];
  uint64_t active_mask;         /* slots with an attached consumer */
  struct zc_pending pending[ZC_PENDING_MAX];
  void *format;
  size_t format_size;
  struct zc_sticky sticky[ZC_STICKY_MAX];
  unsigned n_sticky;
  uint64_t sequence;            /* last frame id (publishing thread only) */
  uint64_t last_publish_ns;     /* when the last frame went (same) */
  _Atomic uint32_t scale_wanted;        /* blocks a consumer asked for */
};

struct zc_gen *zc_producer_gen_new (zc_producer_t * p, uint64_t block_size,
    uint32_t n_blocks, uint32_t generation);
void zc_producer_gen_free (struct zc_gen *gen);

int zc_producer_control_start (zc_producer_t * p);
void zc_producer_control_stop (zc_producer_t * p);

/* Lock held.  Gives consumer @slot a place in @gen: heartbeat slot, fresh
 * queue, then WELCOME (type ZC_WIRE_WELCOME, with format and sticky blobs
 * after it) or GENERATION (followed by a marker in the current queue). */
int zc_producer_admit_to_gen (zc_producer_t * p, struct zc_gen *gen,
    unsigned slot, uint16_t type);

/* Lock held.  Detaches consumer @slot: tells it @code/@reason when @code is
 * not 0, closes its socket, drops every reference it held in every
 * generation and frees its slots.  Returns its pid. */
pid_t zc_producer_remove_consumer (zc_producer_t * p, unsigned slot,
    int code, const char *reason);

#endif /* ZC_PRODUCER_PRIVATE_H */

/* gst-zerocopy core library: consumer internals shared by consumer.c (frame
 * path) and consumer-control.c (handshake and control messages).  Internal
 * to libzc. */
#ifndef ZC_CONSUMER_PRIVATE_H
#define ZC_CONSUMER_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <zc/consumer.h>
#include <zc/region.h>

#include "duty.h"
#include "endpoint.h"
#include "spin.h"
#include "wire.h"

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

/* Control events held until the application receives them; more than
 * this unreceived is a producer flooding us (-EPROTO). */
#define BACKLOG_LEN 64

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
  struct pending_event backlog[BACKLOG_LEN];
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
  /* Whether to spin before sleeping (receiving thread only). */
  zc_spin_t spin;
};

/* Drops one reference to @g (current, or a held frame's); the last unmaps. */
void zc_consumer_cgen_unref (struct cgen *g);

/* Adds (@add) or removes @fd, for @events, in the epoll set @epoll_fd. */
int zc_consumer_watch_in (int epoll_fd, int fd, uint32_t events, bool add);

/* Adds or removes @fd, for EPOLLIN, in the set zc_consumer_fd() returns. */
int zc_consumer_watch (zc_consumer_t * c, int fd, bool add);

/* Frees every event still waiting to be returned. */
void zc_consumer_clear_backlog (zc_consumer_t * c);

/* Closes socket and doorbell, leaves the current generation, clears hangup. */
void zc_consumer_detach (zc_consumer_t * c);

/* Connects and runs the handshake: 0 attached, -EAGAIN no producer yet. */
int zc_consumer_attach (zc_consumer_t * c);

/* Reads and applies the control message whose queue marker was reached. */
int zc_consumer_apply_control (zc_consumer_t * c);

/* Socket woke us, queue empty: true if a message awaits its marker. */
bool zc_consumer_check_socket (zc_consumer_t * c);

#endif /* ZC_CONSUMER_PRIVATE_H */

/* gst-zerocopy core library (libzc): everything in one include. */
#ifndef ZC_ZC_H
#define ZC_ZC_H

#include <zc/channel.h>
#include <zc/consumer.h>
#include <zc/error.h>
#include <zc/guard.h>
#include <zc/heartbeat.h>
#include <zc/layout.h>
#include <zc/msgring.h>
#include <zc/pool.h>
#include <zc/producer.h>
#include <zc/queue.h>
#include <zc/region.h>
#include <zc/segment.h>

#endif /* ZC_ZC_H */

/* gst-zerocopy: GstZcAllocator against a real producer and consumer in one
 * process.  The channel's own counters (zc_producer_get_stats) tell when a
 * block is back in the pool, so every test checks the moment a reference
 * goes, not just that nothing crashes.
 *
 * Each test gets a fresh channel in a private XDG_RUNTIME_DIR made in
 * main(), removed at the end.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gst/check/gstcheck.h>
#include <gst/zc/gstzcallocator.h>

#include "zc-check.h"

#define BLOCK_SIZE 4096
#define N_BLOCKS 4
#define SECOND_NS G_GINT64_CONSTANT (5000000000)

typedef struct
{
  GstAllocator *palloc;         /* owns the producer */
  GstAllocator *calloc;         /* owns the consumer */
  zc_producer_t *producer;
  zc_consumer_t *consumer;
} Channel;

static void
channel_open (Channel * ch)
{
  static int counter;
  zc_producer_config_t pcfg;
  zc_consumer_config_t ccfg;
  zc_event_t ev;
  gchar *name;

  name = g_strdup_printf ("test-allocator-%d-%d", (int) getpid (), counter++);
  zc_producer_config_init (&pcfg);
  pcfg.name = name;
  pcfg.block_size = BLOCK_SIZE;
  pcfg.n_blocks = N_BLOCKS;
  pcfg.default_limit = N_BLOCKS;
  fail_unless_equals_int (zc_producer_new (&pcfg, &ch->producer), 0);
  zc_consumer_config_init (&ccfg);
  ccfg.name = name;
  fail_unless_equals_int (zc_consumer_new (&ccfg, &ch->consumer), 0);
  fail_unless_equals_int (zc_consumer_receive (ch->consumer, &ev, SECOND_NS),
      ZC_EVENT_CONNECTED);
  fail_unless (zc_producer_wait_consumers (ch->producer, 1, SECOND_NS) >= 1);
  g_free (name);

  ch->palloc = gst_zc_allocator_new_producer (ch->producer);
  ch->calloc = gst_zc_allocator_new_consumer (ch->consumer);
}

static void
channel_close (Channel * ch)
{
  gst_object_unref (ch->calloc);
  gst_object_unref (ch->palloc);
}

static guint
n_free (Channel * ch)
{
  zc_channel_stats_t *stats = g_new0 (zc_channel_stats_t, 1);
  guint n;

  zc_producer_get_stats (ch->producer, stats);
  n = stats->pool.n_free;
  g_free (stats);
  return n;
}

static void
fill (GstMemory * mem, guint8 seed)
{
  GstMapInfo map;

  fail_unless (gst_memory_map (mem, &map, GST_MAP_WRITE));
  for (gsize i = 0; i < map.size; i++)
    map.data[i] = (guint8) (seed + i * 7);
  gst_memory_unmap (mem, &map);
}

static gboolean
has_pattern (GstMemory * mem, guint8 seed, gsize from)
{
  GstMapInfo map;
  gboolean ok = TRUE;

  fail_unless (gst_memory_map (mem, &map, GST_MAP_READ));
  for (gsize i = 0; i < map.size && ok; i++)
    ok = map.data[i] == (guint8) (seed + (from + i) * 7);
  gst_memory_unmap (mem, &map);
  return ok;
}

/* Publishes a filled block of @size bytes; returns the consumer's memory. */
static GstMemory *
send_frame (Channel * ch, gsize size, guint8 seed, GstMemory ** pmem)
{
  GstMemory *mem;
  zc_event_t ev;
  int err = 0;

  mem = gst_zc_allocator_acquire (GST_ZC_ALLOCATOR (ch->palloc), -1, &err);
  fail_unless (mem != NULL, "acquire: %s", zc_strerror (err));
  gst_memory_resize (mem, 0, size);
  fill (mem, seed);
  gst_zc_memory_get_frame (mem)->desc.pts = 42;
  fail_unless_equals_int (gst_zc_memory_publish (mem, SECOND_NS), 1);
  fail_unless_equals_int (zc_consumer_receive (ch->consumer, &ev, SECOND_NS),
      ZC_EVENT_FRAME);
  fail_unless_equals_uint64 (ev.frame.desc.pts, 42);
  *pmem = mem;
  return gst_zc_allocator_wrap_frame (GST_ZC_ALLOCATOR (ch->calloc),
      &ev.frame);
}

GST_START_TEST (test_producer_memory_is_a_whole_writable_block)
{
  GstMemory *mem;
  Channel ch;
  GstMapInfo map;

  channel_open (&ch);
  mem = gst_zc_allocator_acquire (GST_ZC_ALLOCATOR (ch.palloc), 0, NULL);
  fail_unless (mem != NULL);
  fail_unless (gst_is_zc_memory (mem));
  fail_unless (gst_memory_is_type (mem, GST_ZC_MEMORY_TYPE));
  fail_unless (mem->size >= BLOCK_SIZE);
  fail_unless_equals_uint64 (mem->size, gst_zc_memory_get_frame (mem)->capacity);
  fail_unless (gst_memory_map (mem, &map, GST_MAP_WRITE));
  fail_unless (map.data == gst_zc_memory_get_frame (mem)->data);
  gst_memory_unmap (mem, &map);
  fail_unless_equals_int (n_free (&ch), N_BLOCKS - 1);

  /* Never published: the unref gives the whole block back. */
  gst_memory_unref (mem);
  fail_unless_equals_int (n_free (&ch), N_BLOCKS);
  channel_close (&ch);
}

GST_END_TEST;

GST_START_TEST (test_consumer_memory_is_readonly_with_the_same_bytes)
{
  GstMemory *pmem, *cmem;
  Channel ch;
  GstMapInfo map;

  channel_open (&ch);
  cmem = send_frame (&ch, 1000, 3, &pmem);
  fail_unless (gst_is_zc_memory (cmem));
  fail_unless_equals_int (cmem->size, 1000);
  fail_unless (GST_MEMORY_IS_READONLY (cmem));
  fail_if (gst_memory_map (cmem, &map, GST_MAP_WRITE));
  fail_unless (has_pattern (cmem, 3, 0));
  /* Published, the producer's memory is read-only too. */
  fail_unless (GST_MEMORY_IS_READONLY (pmem));
  fail_if (gst_memory_map (pmem, &map, GST_MAP_WRITE));

  /* Both processes' references hold the block; the last returns it. */
  gst_memory_unref (pmem);
  fail_unless_equals_int (n_free (&ch), N_BLOCKS - 1);
  gst_memory_unref (cmem);
  fail_unless_equals_int (n_free (&ch), N_BLOCKS);
  channel_close (&ch);
}

GST_END_TEST;

GST_START_TEST (test_shared_sub_memory_holds_the_block)
{
  GstMemory *mem, *sub;
  Channel ch;
  GstMapInfo map, smap;

  channel_open (&ch);
  mem = gst_zc_allocator_acquire (GST_ZC_ALLOCATOR (ch.palloc), 0, NULL);
  fill (mem, 9);
  sub = gst_memory_share (mem, 10, 100);
  fail_unless (gst_is_zc_memory (sub));
  fail_unless (gst_zc_memory_get_frame (sub) == gst_zc_memory_get_frame (mem));
  fail_unless_equals_int (sub->size, 100);
  fail_unless (gst_memory_map (sub, &smap, GST_MAP_READ));
  fail_unless (gst_memory_map (mem, &map, GST_MAP_READ));
  fail_unless (smap.data == map.data + 10);
  gst_memory_unmap (mem, &map);
  gst_memory_unmap (sub, &smap);
  fail_unless (has_pattern (sub, 9, 10));

  gst_memory_unref (mem);
  fail_unless_equals_int (n_free (&ch), N_BLOCKS - 1);
  gst_memory_unref (sub);
  fail_unless_equals_int (n_free (&ch), N_BLOCKS);
  channel_close (&ch);
}

GST_END_TEST;

GST_START_TEST (test_block_returns_when_the_last_buffer_goes)
{
  GstBuffer *buf, *copy, *region;
  GstMemory *pmem, *cmem;
  Channel ch;

  channel_open (&ch);
  cmem = send_frame (&ch, 2000, 5, &pmem);
  gst_memory_unref (pmem);
  buf = gst_buffer_new ();
  gst_buffer_append_memory (buf, cmem);
  copy = gst_buffer_copy (buf);
  region = gst_buffer_copy_region (buf, GST_BUFFER_COPY_MEMORY, 8, 16);
  fail_unless (gst_is_zc_memory (gst_buffer_peek_memory (region, 0)));
  fail_unless (gst_buffer_peek_memory (region, 0)->parent == cmem);
  fail_unless (has_pattern (gst_buffer_peek_memory (region, 0), 5, 8));

  gst_buffer_unref (buf);
  fail_unless_equals_int (n_free (&ch), N_BLOCKS - 1);
  gst_buffer_unref (copy);
  fail_unless_equals_int (n_free (&ch), N_BLOCKS - 1);
  gst_buffer_unref (region);
  fail_unless_equals_int (n_free (&ch), N_BLOCKS);
  channel_close (&ch);
}

GST_END_TEST;

GST_START_TEST (test_copy_is_system_memory_with_the_same_bytes)
{
  GstMemory *pmem, *cmem, *copy, *part;
  Channel ch;
  GstMapInfo map;

  channel_open (&ch);
  cmem = send_frame (&ch, 3000, 11, &pmem);
  gst_memory_unref (pmem);
  copy = gst_memory_copy (cmem, 0, -1);
  part = gst_memory_copy (cmem, 100, 50);
  gst_memory_unref (cmem);
  /* The copies hold no block. */
  fail_unless_equals_int (n_free (&ch), N_BLOCKS);

  fail_if (gst_is_zc_memory (copy));
  fail_unless_equals_int (copy->size, 3000);
  fail_unless (has_pattern (copy, 11, 0));
  fail_unless (gst_memory_map (copy, &map, GST_MAP_WRITE));
  gst_memory_unmap (copy, &map);
  fail_unless_equals_int (part->size, 50);
  fail_unless (has_pattern (part, 11, 100));
  gst_memory_unref (copy);
  gst_memory_unref (part);
  channel_close (&ch);
}

GST_END_TEST;

GST_START_TEST (test_generic_alloc_takes_a_block_when_it_fits)
{
  GstAllocationParams params;
  GstMemory *mem, *mems[N_BLOCKS];
  Channel ch;

  channel_open (&ch);
  fail_unless (GST_OBJECT_FLAG_IS_SET (ch.palloc,
          GST_ALLOCATOR_FLAG_CUSTOM_ALLOC));
  gst_allocation_params_init (&params);
  params.prefix = 16;
  params.flags = GST_MEMORY_FLAG_ZERO_PREFIXED;
  mem = gst_allocator_alloc (ch.palloc, 100, &params);
  fail_unless (mem != NULL && gst_is_zc_memory (mem));
  fail_unless_equals_int (mem->size, 100);
  fail_unless_equals_int (mem->offset, 16);
  gst_memory_unref (mem);

  fail_unless (gst_allocator_alloc (ch.palloc, 1 << 20, NULL) == NULL);
  fail_unless (gst_allocator_alloc (ch.calloc, 100, NULL) == NULL);
  fail_unless_equals_int (n_free (&ch), N_BLOCKS);

  /* Never waits: an empty pool gives NULL at once. */
  for (int i = 0; i < N_BLOCKS; i++)
    fail_unless ((mems[i] = gst_allocator_alloc (ch.palloc, 10, NULL)));
  fail_unless (gst_allocator_alloc (ch.palloc, 10, NULL) == NULL);
  for (int i = 0; i < N_BLOCKS; i++)
    gst_memory_unref (mems[i]);
  fail_unless_equals_int (n_free (&ch), N_BLOCKS);
  channel_close (&ch);
}

GST_END_TEST;

static Suite *
zc_allocator_suite (void)
{
  Suite *s = suite_create ("zcallocator");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_producer_memory_is_a_whole_writable_block);
  tcase_add_test (tc, test_consumer_memory_is_readonly_with_the_same_bytes);
  tcase_add_test (tc, test_shared_sub_memory_holds_the_block);
  tcase_add_test (tc, test_block_returns_when_the_last_buffer_goes);
  tcase_add_test (tc, test_copy_is_system_memory_with_the_same_bytes);
  tcase_add_test (tc, test_generic_alloc_takes_a_block_when_it_fits);
  return s;
}

int
main (int argc, char **argv)
{
  return zc_check_main (argc, argv, zc_allocator_suite, "zcallocator", __FILE__);
}

/* gst-zerocopy: GstZcBufferPool on a real producer (no consumer needed:
 * unpublished blocks go back to the pool on their unref).  Exhaustion is
 * real: the producer has few blocks and the test holds them all.
 */
#include <stdlib.h>
#include <unistd.h>

#include <gst/check/gstcheck.h>
#include <gst/video/video.h>
#include <gst/zc/gstzcbufferpool.h>

#include "zc-check.h"

#define BLOCK_SIZE 4096
#define N_BLOCKS 2
#define I420_CAPS "video/x-raw,format=I420,width=320,height=240,framerate=30/1"

typedef struct
{
  zc_producer_t *producer;
  GstAllocator *alloc;
  GstBufferPool *pool;
} Fixture;

static void
fixture_open (Fixture * f)
{
  static int counter;
  zc_producer_config_t cfg;
  gchar *name;

  name = g_strdup_printf ("test-bufferpool-%d-%d", (int) getpid (),
      counter++);
  zc_producer_config_init (&cfg);
  cfg.name = name;
  cfg.block_size = BLOCK_SIZE;
  cfg.n_blocks = N_BLOCKS;
  fail_unless_equals_int (zc_producer_new (&cfg, &f->producer), 0);
  g_free (name);
  f->alloc = gst_zc_allocator_new_producer (f->producer);
  f->pool = gst_zc_buffer_pool_new (GST_ZC_ALLOCATOR (f->alloc));
}

static void
fixture_close (Fixture * f)
{
  fail_unless (gst_buffer_pool_set_active (f->pool, FALSE));
  gst_object_unref (f->pool);
  gst_object_unref (f->alloc);
}

static void
get_stats (Fixture * f, zc_channel_stats_t * out)
{
  zc_channel_stats_t *stats = g_new0 (zc_channel_stats_t, 1);

  zc_producer_get_stats (f->producer, stats);
  *out = *stats;
  g_free (stats);
}

/* Free blocks in the producer's current pool. */
static guint
free_blocks (Fixture * f)
{
  zc_channel_stats_t stats;

  get_stats (f, &stats);
  return stats.pool.n_free;
}

/* Configures the pool and activates it; min and max as given. */
static void
configure (Fixture * f, const gchar * caps_str, guint size, guint min,
    guint max, gboolean video_meta, const GstVideoAlignment * align)
{
  GstStructure *config = gst_buffer_pool_get_config (f->pool);
  GstCaps *caps = caps_str ? gst_caps_from_string (caps_str) : NULL;

  gst_buffer_pool_config_set_params (config, caps, size, min, max);
  if (video_meta)
    gst_buffer_pool_config_add_option (config,
        GST_BUFFER_POOL_OPTION_VIDEO_META);
  if (align) {
    gst_buffer_pool_config_add_option (config,
        GST_BUFFER_POOL_OPTION_VIDEO_ALIGNMENT);
    gst_buffer_pool_config_set_video_alignment (config, align);
  }
  fail_unless (gst_buffer_pool_set_config (f->pool, config));
  fail_unless (gst_buffer_pool_set_active (f->pool, TRUE));
  if (caps)
    gst_caps_unref (caps);
}

/* The pool configured for I420_CAPS with video meta; @info: its layout. */
static void
configure_i420 (Fixture * f, GstVideoInfo * info)
{
  GstCaps *caps = gst_caps_from_string (I420_CAPS);

  fail_unless (gst_video_info_from_caps (info, caps));
  gst_caps_unref (caps);
  configure (f, I420_CAPS, info->size, 0, 0, TRUE, NULL);
}

GST_START_TEST (test_video_buffers_carry_video_meta_in_zc_memory)
{
  GstVideoInfo info;
  GstBuffer *buf;
  GstVideoMeta *meta;
  zc_channel_stats_t stats;
  Fixture f;

  fixture_open (&f);
  configure_i420 (&f, &info);

  fail_unless_equals_int (gst_buffer_pool_acquire_buffer (f.pool, &buf, NULL),
      GST_FLOW_OK);
  fail_unless_equals_int (gst_buffer_get_size (buf), info.size);
  fail_unless_equals_int (gst_buffer_n_memory (buf), 1);
  fail_unless (gst_is_zc_memory (gst_buffer_peek_memory (buf, 0)));
  fail_unless (gst_buffer_is_writable (buf));
  meta = gst_buffer_get_video_meta (buf);
  fail_unless (meta != NULL);
  fail_unless_equals_int (meta->format, GST_VIDEO_FORMAT_I420);
  fail_unless_equals_int (meta->width, 320);
  fail_unless_equals_int (meta->height, 240);
  fail_unless_equals_int (meta->n_planes, 3);
  for (guint i = 0; i < 3; i++) {
    fail_unless_equals_int (meta->stride[i], info.stride[i]);
    fail_unless_equals_uint64 (meta->offset[i], info.offset[i]);
  }
  /* The 4096-byte blocks could not hold a frame: a new generation. */
  get_stats (&f, &stats);
  fail_unless_equals_int (stats.generation, 2);
  fail_unless_equals_int (stats.pool.n_free, stats.pool.n_blocks - 1);
  gst_buffer_unref (buf);
  get_stats (&f, &stats);
  fail_unless_equals_int (stats.pool.n_free, stats.pool.n_blocks);
  fixture_close (&f);
}

GST_END_TEST;

GST_START_TEST (test_video_alignment_gives_padded_strides)
{
  GstVideoAlignment align;
  GstStructure *config;
  GstBuffer *buf;
  GstVideoMeta *meta;
  Fixture f;

  fixture_open (&f);
  gst_video_alignment_reset (&align);
  align.padding_right = 32;
  align.padding_bottom = 16;
  configure (&f, I420_CAPS, 0, 0, 0, TRUE, &align);

  fail_unless_equals_int (gst_buffer_pool_acquire_buffer (f.pool, &buf, NULL),
      GST_FLOW_OK);
  meta = gst_buffer_get_video_meta (buf);
  fail_unless (meta != NULL);
  fail_unless (meta->stride[0] >= 320 + 32);
  /* Luma plane of 256 padded rows before the first chroma plane. */
  fail_unless (meta->offset[1] >= (gsize) meta->stride[0] * (240 + 16));
  fail_unless (gst_buffer_get_size (buf) >= meta->offset[2]
      + (gsize) meta->stride[2] * (240 + 16) / 2);

  config = gst_buffer_pool_get_config (f.pool);
  fail_unless (gst_buffer_pool_config_has_option (config,
          GST_BUFFER_POOL_OPTION_VIDEO_ALIGNMENT));
  gst_structure_free (config);
  gst_buffer_unref (buf);
  fixture_close (&f);
}

GST_END_TEST;

GST_START_TEST (test_dontwait_on_an_exhausted_pool_gives_eos)
{
  GstBufferPoolAcquireParams params = { 0, };
  GstBuffer *a, *b, *c = NULL;
  zc_channel_stats_t stats;
  Fixture f;

  fixture_open (&f);
  configure (&f, NULL, 1000, 0, 0, FALSE, NULL);
  get_stats (&f, &stats);
  fail_unless_equals_int (stats.generation, 1);

  params.flags = GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT;
  fail_unless_equals_int (gst_buffer_pool_acquire_buffer (f.pool, &a, &params),
      GST_FLOW_OK);
  fail_unless_equals_int (gst_buffer_get_size (a), 1000);
  fail_if (gst_buffer_get_video_meta (a));
  fail_unless_equals_int (gst_buffer_pool_acquire_buffer (f.pool, &b, &params),
      GST_FLOW_OK);
  fail_unless_equals_int (gst_buffer_pool_acquire_buffer (f.pool, &c, &params),
      GST_FLOW_EOS);
  fail_unless (c == NULL);

  /* Its block is free again. */
  gst_buffer_unref (a);
  fail_unless_equals_int (gst_buffer_pool_acquire_buffer (f.pool, &c, &params),
      GST_FLOW_OK);
  gst_buffer_unref (b);
  gst_buffer_unref (c);
  fail_unless_equals_int (free_blocks (&f), N_BLOCKS);
  fixture_close (&f);
}

GST_END_TEST;

static GQuark
mark_quark (void)
{
  return g_quark_from_static_string ("test-bufferpool-mark");
}

static void
set_true (gpointer flag)
{
  *(gboolean *) flag = TRUE;
}

/* Marks @buf: the mark goes with the GstBuffer object, and *@freed turns
 * TRUE when that object is freed. */
static void
mark (GstBuffer * buf, gboolean * freed)
{
  *freed = FALSE;
  gst_mini_object_set_qdata (GST_MINI_OBJECT_CAST (buf), mark_quark (), freed,
      set_true);
}

/* A buffer from the pool, marked. */
static GstBuffer *
acquire_marked (Fixture * f, gboolean * freed)
{
  GstBuffer *buf = NULL;

  fail_unless_equals_int (gst_buffer_pool_acquire_buffer (f->pool, &buf, NULL),
      GST_FLOW_OK);
  mark (buf, freed);
  return buf;
}

static gboolean
is_marked (GstBuffer * buf, gboolean * freed)
{
  return gst_mini_object_get_qdata (GST_MINI_OBJECT_CAST (buf),
      mark_quark ()) == freed;
}

/* Back from use, a buffer keeps its memory and video meta and gives its
 * block back; acquired again, it claims a block, writable even after a
 * publish made the last one READONLY: nothing allocated per frame. */
GST_START_TEST (test_buffers_are_kept_and_their_blocks_given_back)
{
  GstVideoInfo info;
  GstBuffer *buf, *again;
  GstMemory *mem;
  GstVideoMeta *meta;
  GstMapInfo map;
  zc_channel_stats_t stats;
  gboolean freed;
  guint round;
  Fixture f;

  fixture_open (&f);
  configure_i420 (&f, &info);

  buf = acquire_marked (&f, &freed);
  mem = gst_buffer_peek_memory (buf, 0);
  meta = gst_buffer_get_video_meta (buf);
  for (round = 0; round < 3; round++) {
    GST_BUFFER_PTS (buf) = round;
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
    if (round == 1)
      fail_unless_equals_int (gst_zc_memory_publish (mem, 0), 0);
    get_stats (&f, &stats);
    fail_unless_equals_int (stats.pool.n_free, stats.pool.n_blocks - 1);
    gst_buffer_unref (buf);
    fail_if (freed);
    get_stats (&f, &stats);
    fail_unless_equals_int (stats.pool.n_free, stats.pool.n_blocks);

    fail_unless_equals_int (gst_buffer_pool_acquire_buffer (f.pool, &again,
            NULL), GST_FLOW_OK);
    fail_unless (is_marked (again, &freed));
    buf = again;
    fail_unless (gst_buffer_peek_memory (buf, 0) == mem);
    fail_unless (gst_buffer_get_video_meta (buf) == meta);
    fail_unless_equals_int (gst_buffer_get_size (buf), info.size);
    fail_unless (!GST_BUFFER_PTS_IS_VALID (buf));
    fail_if (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DISCONT));
    fail_unless (gst_buffer_map (buf, &map, GST_MAP_WRITE));
    map.data[0] = (guint8) round;
    gst_buffer_unmap (buf, &map);
  }
  gst_buffer_unref (buf);
  fixture_close (&f);
  fail_unless (freed);
}

GST_END_TEST;

/* A buffer whose memory is still held when it comes back is not kept: the
 * holder keeps the block until its own unref. */
GST_START_TEST (test_a_buffer_whose_memory_is_held_is_not_kept)
{
  GstBuffer *buf, *copy;
  GstMemory *mem;
  gboolean freed;
  Fixture f;

  fixture_open (&f);
  configure (&f, NULL, 1000, 0, 0, FALSE, NULL);

  buf = acquire_marked (&f, &freed);
  mem = gst_memory_ref (gst_buffer_peek_memory (buf, 0));
  gst_buffer_unref (buf);
  fail_unless (freed);
  fail_unless_equals_int (free_blocks (&f), N_BLOCKS - 1);
  gst_memory_unref (mem);
  fail_unless_equals_int (free_blocks (&f), N_BLOCKS);

  buf = acquire_marked (&f, &freed);
  copy = gst_buffer_copy (buf);
  gst_buffer_unref (buf);
  fail_unless (freed);
  fail_unless_equals_int (free_blocks (&f), N_BLOCKS - 1);
  gst_buffer_unref (copy);
  fail_unless_equals_int (free_blocks (&f), N_BLOCKS);
  fixture_close (&f);
}

GST_END_TEST;

/* The last unref of a pool still active: GstBufferPool deactivates it on
 * its way out; the kept buffers go with their memories (the leaks
 * tracer), and every block is free. */
GST_START_TEST (test_a_pool_dropped_while_active_frees_what_it_kept)
{
  GstBuffer *buf;
  gboolean freed;
  Fixture f;

  fixture_open (&f);
  configure (&f, NULL, 1000, 0, 0, FALSE, NULL);
  buf = acquire_marked (&f, &freed);
  gst_buffer_unref (buf);
  fail_if (freed);
  gst_object_unref (f.pool);
  fail_unless (freed);
  fail_unless_equals_int (free_blocks (&f), N_BLOCKS);
  gst_object_unref (f.alloc);
}

GST_END_TEST;

static gpointer
blocking_acquire (gpointer data)
{
  GstBufferPool *pool = data;
  GstBuffer *buf = NULL;
  GstFlowReturn ret;

  ret = gst_buffer_pool_acquire_buffer (pool, &buf, NULL);
  if (buf)
    gst_buffer_unref (buf);
  return GINT_TO_POINTER (ret);
}

GST_START_TEST (test_flushing_wakes_a_blocked_acquire)
{
  GstBuffer *a, *b;
  GThread *thread;
  zc_channel_stats_t stats;
  gint64 deadline;
  Fixture f;

  fixture_open (&f);
  configure (&f, NULL, 1000, 0, 0, FALSE, NULL);
  fail_unless_equals_int (gst_buffer_pool_acquire_buffer (f.pool, &a, NULL),
      GST_FLOW_OK);
  fail_unless_equals_int (gst_buffer_pool_acquire_buffer (f.pool, &b, NULL),
      GST_FLOW_OK);

  thread = g_thread_new ("acquire", blocking_acquire, f.pool);
  /* The pool counts its sleepers: wait until the thread is one. */
  deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;
  do {
    get_stats (&f, &stats);
    if (stats.pool.waiters > 0)
      break;
    g_usleep (1000);
  } while (g_get_monotonic_time () < deadline);
  fail_unless (stats.pool.waiters > 0, "the acquire never waited");

  gst_buffer_pool_set_flushing (f.pool, TRUE);
  fail_unless_equals_int (GPOINTER_TO_INT (g_thread_join (thread)),
      GST_FLOW_FLUSHING);

  /* Still flushing: refused without waiting; after it, served again. */
  fail_unless_equals_int (GPOINTER_TO_INT (blocking_acquire (f.pool)),
      GST_FLOW_FLUSHING);
  gst_buffer_pool_set_flushing (f.pool, FALSE);
  gst_buffer_unref (a);
  fail_unless_equals_int (GPOINTER_TO_INT (blocking_acquire (f.pool)),
      GST_FLOW_OK);
  gst_buffer_unref (b);
  fixture_close (&f);
}

GST_END_TEST;

GST_START_TEST (test_bigger_size_or_max_starts_a_new_generation)
{
  GstBuffer *buf;
  zc_channel_stats_t stats;
  Fixture f;

  fixture_open (&f);
  configure (&f, NULL, BLOCK_SIZE, 0, 0, FALSE, NULL);
  get_stats (&f, &stats);
  fail_unless_equals_int (stats.generation, 1);
  fail_unless (gst_buffer_pool_set_active (f.pool, FALSE));

  configure (&f, NULL, 3 * BLOCK_SIZE, 0, 0, FALSE, NULL);
  get_stats (&f, &stats);
  fail_unless_equals_int (stats.generation, 2);
  fail_unless_equals_int (gst_buffer_pool_acquire_buffer (f.pool, &buf, NULL),
      GST_FLOW_OK);
  fail_unless_equals_int (gst_buffer_get_size (buf), 3 * BLOCK_SIZE);
  fail_unless (gst_buffer_peek_memory (buf, 0)->maxsize >= 3 * BLOCK_SIZE);
  gst_buffer_unref (buf);
  fail_unless (gst_buffer_pool_set_active (f.pool, FALSE));

  /* max-buffers beyond the pool: more blocks, same size. */
  configure (&f, NULL, 3 * BLOCK_SIZE, 2, 6, FALSE, NULL);
  get_stats (&f, &stats);
  fail_unless_equals_int (stats.generation, 3);
  fail_unless (stats.pool.n_blocks >= 6);
  fixture_close (&f);
}

GST_END_TEST;

static Suite *
zc_buffer_pool_suite (void)
{
  Suite *s = suite_create ("zcbufferpool");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_video_buffers_carry_video_meta_in_zc_memory);
  tcase_add_test (tc, test_video_alignment_gives_padded_strides);
  tcase_add_test (tc, test_dontwait_on_an_exhausted_pool_gives_eos);
  tcase_add_test (tc, test_buffers_are_kept_and_their_blocks_given_back);
  tcase_add_test (tc, test_a_buffer_whose_memory_is_held_is_not_kept);
  tcase_add_test (tc, test_a_pool_dropped_while_active_frees_what_it_kept);
  tcase_add_test (tc, test_flushing_wakes_a_blocked_acquire);
  tcase_add_test (tc, test_bigger_size_or_max_starts_a_new_generation);
  return s;
}

int
main (int argc, char **argv)
{
  return zc_check_main (argc, argv, zc_buffer_pool_suite, "zcbufferpool", __FILE__);
}

/* gst-zerocopy: the wire format (gstzcwire.c), with gst-check.
 *
 * What the elements put beside the frame bytes: sticky events as blobs,
 * buffer metas as records in the descriptor, and whether a clock's times
 * can cross as they are.  Each format is written and read back; the
 * readers are also fed hostile bytes, as a consumer must not trust what
 * the other process wrote.  No element and no channel: the functions are
 * called directly.
 */
#include <string.h>

#include <gst/check/gstcheck.h>
#include <gst/check/gsttestclock.h>
#include <gst/audio/audio.h>
#include <gst/video/video.h>

#include "gstzcwire.h"
#include "zc-check.h"

/* --- clocks --- */

/* Wire times are on CLOCK_MONOTONIC: only a system clock of that type
 * needs no measured offset; the answer is remembered per clock. */
GST_START_TEST (test_clock_is_monotonic)
{
  GstClock *system = gst_system_clock_obtain ();
  GstClock *realtime = g_object_new (GST_TYPE_SYSTEM_CLOCK, "clock-type",
      GST_CLOCK_TYPE_REALTIME, NULL);
  GstClock *test = gst_test_clock_new ();
  GstClockType type = GST_CLOCK_TYPE_REALTIME;

  g_object_get (system, "clock-type", &type, NULL);
  fail_unless_equals_int (gst_zc_clock_is_monotonic (system),
      type == GST_CLOCK_TYPE_MONOTONIC);
  fail_if (gst_zc_clock_is_monotonic (realtime));
  /* Again, now from what was remembered on the clock. */
  fail_if (gst_zc_clock_is_monotonic (realtime));
  fail_if (gst_zc_clock_is_monotonic (test));

  gst_object_unref (test);
  gst_object_unref (realtime);
  gst_object_unref (system);
}

GST_END_TEST;

/* An element's clock is looked at per buffer: the one found monotonic is
 * kept, and a change of clock shows at the next call, either way. */
GST_START_TEST (test_element_time_base_follows_its_clock)
{
  GstElement *e = gst_element_factory_make ("identity", NULL);
  GstClock *mono = g_object_new (GST_TYPE_SYSTEM_CLOCK, "clock-type",
      GST_CLOCK_TYPE_MONOTONIC, NULL);
  GstClock *realtime = g_object_new (GST_TYPE_SYSTEM_CLOCK, "clock-type",
      GST_CLOCK_TYPE_REALTIME, NULL);
  GstClock *kept = NULL;
  GstClockTime base = 1;
  GstClockTimeDiff diff = 1, before;
  guint i;

  fail_unless (e != NULL);
  gst_element_set_base_time (e, 5 * GST_SECOND);
  fail_if (gst_zc_element_time_base (e, &kept, &base, &diff));
  fail_unless (diff == 0 && kept == NULL);

  for (i = 0; i < 2; i++) {
    fail_unless (gst_element_set_clock (e, mono));
    fail_unless (gst_zc_element_time_base (e, &kept, &base, &diff));
    fail_unless_equals_uint64 (base, 5 * GST_SECOND);
    fail_unless (diff == 0);
    fail_unless (kept == mono);

    /* CLOCK_REALTIME runs decades ahead of CLOCK_MONOTONIC (boot). */
    fail_unless (gst_element_set_clock (e, realtime));
    before = GST_CLOCK_DIFF ((GstClockTime) zc_now_ns (),
        gst_clock_get_time (realtime));
    fail_unless (gst_zc_element_time_base (e, &kept, &base, &diff));
    fail_unless (ABS (diff - before) < GST_SECOND, "diff %" G_GINT64_FORMAT
        ", measured %" G_GINT64_FORMAT, diff, before);
    fail_unless (kept == mono);
  }

  gst_clear_object (&kept);
  gst_object_unref (e);
  gst_object_unref (realtime);
  gst_object_unref (mono);
}

GST_END_TEST;

/* --- sticky events --- */

static GstEvent *
round_trip_event (GstEvent * ev)
{
  GstEvent *back;
  guint32 id = 0;
  gchar *blob = NULL;

  fail_unless (gst_zc_event_serialize (ev, &id, &blob));
  back = gst_zc_event_deserialize (id, blob, strlen (blob) + 1);
  fail_unless (back != NULL, "did not parse back: %s", blob);
  fail_unless_equals_int (GST_EVENT_TYPE (back), GST_EVENT_TYPE (ev));
  g_free (blob);
  gst_event_unref (ev);
  return back;
}

GST_START_TEST (test_wire_events_round_trip)
{
  const gchar *stream_id;
  const GstSegment *got;
  GstStreamFlags flags;
  GstTagList *tags, *got_tags;
  GstSegment seg;
  GstEvent *ev;
  guint group;
  guint32 id;
  gchar *blob;

  ev = gst_event_new_stream_start ("a \"quoted\", odd; id");
  gst_event_set_stream_flags (ev, GST_STREAM_FLAG_SPARSE);
  gst_event_set_group_id (ev, 42);
  ev = round_trip_event (ev);
  gst_event_parse_stream_start (ev, &stream_id);
  fail_unless_equals_string (stream_id, "a \"quoted\", odd; id");
  gst_event_parse_stream_flags (ev, &flags);
  fail_unless_equals_int (flags, GST_STREAM_FLAG_SPARSE);
  fail_unless (gst_event_parse_group_id (ev, &group));
  fail_unless_equals_int (group, 42);
  gst_event_unref (ev);

  gst_segment_init (&seg, GST_FORMAT_TIME);
  seg.rate = -2.5;
  seg.applied_rate = 0.1;
  seg.flags = GST_SEGMENT_FLAG_RESET | GST_SEGMENT_FLAG_SKIP;
  seg.base = 30 * GST_SECOND;
  seg.offset = 3;
  seg.start = GST_SECOND;
  seg.stop = 9 * GST_SECOND;
  seg.time = 5;
  seg.position = 2 * GST_SECOND;
  seg.duration = G_MAXUINT64 - 1;
  ev = round_trip_event (gst_event_new_segment (&seg));
  gst_event_parse_segment (ev, &got);
  fail_unless (gst_segment_is_equal (got, &seg));
  fail_unless (got->rate == seg.rate && got->applied_rate == seg.applied_rate);
  fail_unless_equals_int (got->flags, seg.flags);
  gst_event_unref (ev);

  tags = gst_tag_list_new (GST_TAG_TITLE, "t\"itle, with; =odd",
      GST_TAG_BITRATE, 128000, NULL);
  gst_tag_list_set_scope (tags, GST_TAG_SCOPE_GLOBAL);
  ev = round_trip_event (gst_event_new_tag (gst_tag_list_ref (tags)));
  gst_event_parse_tag (ev, &got_tags);
  fail_unless (gst_tag_list_is_equal (got_tags, tags));
  fail_unless_equals_int (gst_tag_list_get_scope (got_tags),
      GST_TAG_SCOPE_GLOBAL);
  gst_event_unref (ev);
  gst_tag_list_unref (tags);

  ev = gst_event_new_eos ();
  fail_if (gst_zc_event_serialize (ev, &id, &blob));
  gst_event_unref (ev);
}

GST_END_TEST;

static void
check_blob_refused (guint32 id, const gchar * data, gsize size)
{
  GstEvent *ev = gst_zc_event_deserialize (id, data, size);

  fail_unless (ev == NULL, "accepted %u: %.*s", id, (int) size, data);
}

static void
check_str_refused (guint32 id, const gchar * str)
{
  check_blob_refused (id, str, strlen (str) + 1);
}

GST_START_TEST (test_wire_events_hostile_blobs_refused)
{
  const gchar ok[] = "zc-stream-start, stream-id=(string)x, "
      "flags=(uint)0, group-id=(uint)0";
  const gchar seg_fmt[] = "zc-segment, flags=(uint)0, rate=(double)%s, "
      "applied-rate=(double)1, format=(int)%d, base=(guint64)0, "
      "offset=(guint64)0, start=(guint64)%s, stop=(guint64)%s, "
      "time=(guint64)0, position=(guint64)0, duration=(guint64)0";
  gchar *str, *big;
  GstEvent *ev;

  ev = gst_zc_event_deserialize (GST_ZC_STICKY_STREAM_START, ok, sizeof ok);
  fail_unless (ev != NULL);
  gst_event_unref (ev);

  check_blob_refused (GST_ZC_STICKY_STREAM_START, ok, sizeof ok - 1);
  check_blob_refused (GST_ZC_STICKY_STREAM_START, ok, 0);
  check_blob_refused (GST_ZC_STICKY_STREAM_START, NULL, 10);
  check_blob_refused (GST_ZC_STICKY_STREAM_START, "zc-stream-start\0x", 18);
  check_str_refused (99, ok);
  check_str_refused (GST_ZC_STICKY_SEGMENT, ok);
  check_str_refused (GST_ZC_STICKY_STREAM_START, "\"\\,;=(((");
  check_str_refused (GST_ZC_STICKY_STREAM_START,
      "zc-stream-start, flags=(uint)0, group-id=(uint)0");
  check_str_refused (GST_ZC_STICKY_STREAM_START,
      "zc-stream-start, stream-id=(int)3, flags=(uint)0, group-id=(uint)0");

  str = g_strdup_printf (seg_fmt, "0", GST_FORMAT_TIME, "0", "0");
  check_str_refused (GST_ZC_STICKY_SEGMENT, str);
  g_free (str);
  str = g_strdup_printf (seg_fmt, "1", 0, "0", "0");
  check_str_refused (GST_ZC_STICKY_SEGMENT, str);
  g_free (str);
  str = g_strdup_printf (seg_fmt, "1", 77, "0", "0");
  check_str_refused (GST_ZC_STICKY_SEGMENT, str);
  g_free (str);
  str = g_strdup_printf (seg_fmt, "1", GST_FORMAT_TIME, "9", "3");
  check_str_refused (GST_ZC_STICKY_SEGMENT, str);
  g_free (str);
  str = g_strdup_printf (seg_fmt, "1", GST_FORMAT_TIME, "0", "3");
  ev = gst_zc_event_deserialize (GST_ZC_STICKY_SEGMENT, str,
      strlen (str) + 1);
  fail_unless (ev != NULL);
  gst_event_unref (ev);
  g_free (str);

  check_str_refused (GST_ZC_STICKY_TAG,
      "zc-tag, taglist=(string)\"taglist;\", scope=(int)7");
  check_str_refused (GST_ZC_STICKY_TAG,
      "zc-tag, taglist=(string)\"(((\", scope=(int)0");

  big = g_malloc (GST_ZC_STICKY_MAX + 2);
  memset (big, 'a', GST_ZC_STICKY_MAX + 1);
  big[GST_ZC_STICKY_MAX + 1] = '\0';
  check_blob_refused (GST_ZC_STICKY_STREAM_START, big, GST_ZC_STICKY_MAX + 2);
  g_free (big);
}

GST_END_TEST;

/* --- metas --- */

static const GstMetaInfo *
test_custom_meta_info (void)
{
  static const GstMetaInfo *info = NULL;
  static const gchar *tags[] = { NULL };

  if (g_once_init_enter (&info))
    g_once_init_leave (&info, gst_meta_register_custom ("ZcTestMeta", tags,
            NULL, NULL, NULL));
  return info;
}

#define META_BUF_SIZE (64 * 48 * 2 + 4096)

GST_START_TEST (test_wire_metas_round_trip)
{
  gsize voff[4] = { 64, 64 + 48 * 80 + 16, 64 + 48 * 80 + 16 + 24 * 40, 0 };
  gint vstride[4] = { 80, 40, 40, 0 };
  gsize aoff[2] = { 1000, 100 };
  GstBuffer *src = gst_buffer_new_allocate (NULL, META_BUF_SIZE, NULL);
  GstBuffer *dst = gst_buffer_new_allocate (NULL, META_BUF_SIZE, NULL);
  GstCaps *unix_caps = gst_caps_from_string ("timestamp/x-unix");
  GstReferenceTimestampMeta *rm;
  GstCustomMeta *cm;
  struct zc_desc desc;
  GstAudioInfo ainfo;
  GstVideoMeta *vm;
  GstAudioMeta *am;
  gint answer = 0;
  guint i;

  test_custom_meta_info ();
  gst_buffer_add_video_meta_full (src, GST_VIDEO_FRAME_FLAG_INTERLACED,
      GST_VIDEO_FORMAT_I420, 64, 48, 3, voff, vstride);
  gst_audio_info_set_format (&ainfo, GST_AUDIO_FORMAT_S16LE, 48000, 2, NULL);
  ainfo.layout = GST_AUDIO_LAYOUT_NON_INTERLEAVED;
  gst_buffer_add_audio_meta (src, &ainfo, 100, aoff);
  gst_buffer_add_reference_timestamp_meta (src, unix_caps, 123456789, 1000);

  memset (&desc, 0xAA, sizeof desc);
  gst_zc_desc_set_metas (&desc, src);
  fail_unless (desc.meta_size > 0 && desc.meta_size <= ZC_DESC_META_SIZE);
  fail_unless (gst_zc_buffer_add_metas (dst, &desc));

  vm = gst_buffer_get_video_meta (dst);
  fail_unless (vm != NULL);
  fail_unless_equals_int (vm->format, GST_VIDEO_FORMAT_I420);
  fail_unless_equals_int (vm->flags, GST_VIDEO_FRAME_FLAG_INTERLACED);
  fail_unless (vm->width == 64 && vm->height == 48 && vm->n_planes == 3);
  for (i = 0; i < 3; i++) {
    fail_unless_equals_uint64 (vm->offset[i], voff[i]);
    fail_unless_equals_int (vm->stride[i], vstride[i]);
  }
  am = gst_buffer_get_audio_meta (dst);
  fail_unless (am != NULL);
  fail_unless_equals_int (GST_AUDIO_INFO_FORMAT (&am->info),
      GST_AUDIO_FORMAT_S16LE);
  fail_unless (am->info.rate == 48000 && am->info.channels == 2);
  fail_unless_equals_int (am->info.layout, GST_AUDIO_LAYOUT_NON_INTERLEAVED);
  fail_unless_equals_uint64 (am->samples, 100);
  fail_unless (am->offsets[0] == 1000 && am->offsets[1] == 100);
  rm = gst_buffer_get_reference_timestamp_meta (dst, unix_caps);
  fail_unless (rm != NULL);
  fail_unless_equals_uint64 (rm->timestamp, 123456789);
  fail_unless_equals_uint64 (rm->duration, 1000);
  /* Those three fill the 176 bytes: the custom meta crosses alone. */
  gst_buffer_unref (dst);
  gst_buffer_unref (src);
  src = gst_buffer_new_allocate (NULL, 16, NULL);
  dst = gst_buffer_new_allocate (NULL, 16, NULL);
  cm = gst_buffer_add_custom_meta (src, "ZcTestMeta");
  gst_structure_set (gst_custom_meta_get_structure (cm), "answer", G_TYPE_INT,
      42, NULL);
  gst_zc_desc_set_metas (&desc, src);
  fail_unless (gst_zc_buffer_add_metas (dst, &desc));
  cm = gst_buffer_get_custom_meta (dst, "ZcTestMeta");
  fail_unless (cm != NULL);
  fail_unless (gst_structure_get_int (gst_custom_meta_get_structure (cm),
          "answer", &answer));
  fail_unless_equals_int (answer, 42);

  gst_caps_unref (unix_caps);
  gst_buffer_unref (src);
  gst_buffer_unref (dst);
}

GST_END_TEST;

/* A video meta already on the buffer (a pooled buffer's, from its last
 * frame) is filled again from the record, or removed without one. */
GST_START_TEST (test_wire_video_meta_filled_again_or_removed)
{
  gsize off[GST_VIDEO_MAX_PLANES] = { 0, 1024, 1280 };
  gint stride[GST_VIDEO_MAX_PLANES] = { 32, 16, 16 };
  gsize goff[GST_VIDEO_MAX_PLANES] = { 0 };
  gint gstride[GST_VIDEO_MAX_PLANES] = { 64 };
  GstBuffer *src = gst_buffer_new_allocate (NULL, 4096, NULL);
  GstBuffer *dst = gst_buffer_new_allocate (NULL, 4096, NULL);
  GstBuffer *bare = gst_buffer_new_allocate (NULL, 4096, NULL);
  struct zc_desc desc;
  GstVideoMeta *old, *vm;

  old = gst_buffer_add_video_meta_full (dst, GST_VIDEO_FRAME_FLAG_INTERLACED,
      GST_VIDEO_FORMAT_I420, 32, 32, 3, off, stride);
  gst_buffer_add_video_meta_full (src, GST_VIDEO_FRAME_FLAG_NONE,
      GST_VIDEO_FORMAT_GRAY8, 64, 16, 1, goff, gstride);
  memset (&desc, 0, sizeof desc);
  gst_zc_desc_set_metas (&desc, src);
  fail_unless (gst_zc_buffer_add_metas (dst, &desc));
  fail_unless (gst_buffer_get_n_meta (dst, GST_VIDEO_META_API_TYPE) == 1);
  vm = gst_buffer_get_video_meta (dst);
  fail_unless (vm == old);
  fail_unless_equals_int (vm->format, GST_VIDEO_FORMAT_GRAY8);
  fail_unless_equals_int (vm->flags, GST_VIDEO_FRAME_FLAG_NONE);
  fail_unless (vm->width == 64 && vm->height == 16 && vm->n_planes == 1);
  fail_unless (vm->offset[0] == 0 && vm->stride[0] == 64);
  fail_unless (vm->offset[1] == 0 && vm->stride[1] == 0);

  memset (&desc, 0, sizeof desc);
  gst_zc_desc_set_metas (&desc, bare);
  fail_unless (gst_zc_buffer_add_metas (dst, &desc));
  fail_unless (gst_buffer_get_video_meta (dst) == NULL);

  gst_buffer_unref (src);
  gst_buffer_unref (dst);
  gst_buffer_unref (bare);
}

GST_END_TEST;

GST_START_TEST (test_wire_metas_that_do_not_fit_are_dropped)
{
  GstBuffer *src = gst_buffer_new_allocate (NULL, 64 * 48 * 4, NULL);
  GstBuffer *dst = gst_buffer_new_allocate (NULL, 64 * 48 * 4, NULL);
  struct zc_desc desc;
  guint i, n = 0;
  gpointer state = NULL;

  gst_buffer_add_video_meta (src, 0, GST_VIDEO_FORMAT_RGBA, 64, 48);
  for (i = 0; i < 20; i++) {
    gchar *str = g_strdup_printf ("timestamp/x-test-%u", i);
    GstCaps *caps = gst_caps_from_string (str);

    gst_buffer_add_reference_timestamp_meta (src, caps, i, 0);
    gst_caps_unref (caps);
    g_free (str);
  }
  gst_zc_desc_set_metas (&desc, src);
  fail_unless (desc.meta_size <= ZC_DESC_META_SIZE);
  fail_unless (gst_zc_buffer_add_metas (dst, &desc));
  fail_unless (gst_buffer_get_video_meta (dst) != NULL);
  while (gst_buffer_iterate_meta_filtered (dst, &state,
          GST_REFERENCE_TIMESTAMP_META_API_TYPE))
    n++;
  fail_unless (n > 0 && n < 20, "%u reference timestamps crossed", n);
  gst_buffer_unref (src);
  gst_buffer_unref (dst);
}

GST_END_TEST;

/* One record of @type with @len payload bytes from @payload. */
static void
desc_one_record (struct zc_desc *desc, guint16 type, const void *payload,
    guint16 len)
{
  memset (desc, 0, sizeof (*desc));
  memcpy (desc->meta, &type, 2);
  memcpy (desc->meta + 2, &len, 2);
  memcpy (desc->meta + 4, payload, len);
  desc->meta_size = 4u + len;
}

static void
check_desc_refused (const struct zc_desc *desc)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, 64 * 48 * 4, NULL);
  gpointer state = NULL;

  fail_if (gst_zc_buffer_add_metas (buf, desc));
  fail_unless (gst_buffer_iterate_meta (buf, &state) == NULL);
  gst_buffer_unref (buf);
}

typedef struct
{
  guint32 format, width, height, n_planes, flags;
  guint64 offset[4];
  gint32 stride[4];
} __attribute__ ((packed)) VideoRecord;

GST_START_TEST (test_wire_hostile_metas_refused)
{
  VideoRecord good = { GST_VIDEO_FORMAT_RGBA, 64, 48, 1, 0, {0}, {256} };
  VideoRecord v;
  struct zc_desc desc;
  GstBuffer *buf;
  guint8 junk[40];

  G_STATIC_ASSERT (sizeof (VideoRecord) == 68);
  buf = gst_buffer_new_allocate (NULL, 64 * 48 * 4, NULL);
  desc_one_record (&desc, GST_ZC_META_VIDEO, &good, sizeof good);
  fail_unless (gst_zc_buffer_add_metas (buf, &desc));
  fail_unless (gst_buffer_get_video_meta (buf) != NULL);
  gst_buffer_unref (buf);

  desc.meta_size = ZC_DESC_META_SIZE + 1;
  check_desc_refused (&desc);
  desc_one_record (&desc, GST_ZC_META_VIDEO, &good, sizeof good);
  desc.meta[2] = 200;           /* length past the end */
  check_desc_refused (&desc);
  desc_one_record (&desc, GST_ZC_META_VIDEO, &good, sizeof good - 1);
  check_desc_refused (&desc);
  v = good;
  v.n_planes = 5;
  desc_one_record (&desc, GST_ZC_META_VIDEO, &v, sizeof v);
  check_desc_refused (&desc);
  v = good;
  v.offset[0] = 1;              /* one row too far */
  desc_one_record (&desc, GST_ZC_META_VIDEO, &v, sizeof v);
  check_desc_refused (&desc);
  v = good;
  v.offset[0] = G_MAXUINT64 - 10;
  desc_one_record (&desc, GST_ZC_META_VIDEO, &v, sizeof v);
  check_desc_refused (&desc);
  v = good;
  v.stride[0] = -256;
  desc_one_record (&desc, GST_ZC_META_VIDEO, &v, sizeof v);
  check_desc_refused (&desc);
  v = good;
  v.format = 100000;
  desc_one_record (&desc, GST_ZC_META_VIDEO, &v, sizeof v);
  check_desc_refused (&desc);
  v = good;
  v.height = 0xffffffff;
  desc_one_record (&desc, GST_ZC_META_VIDEO, &v, sizeof v);
  check_desc_refused (&desc);

  /* Audio: two planes of 100 S16 samples at offsets 0 and 100 overlap. */
  {
    guint32 a[8] = { GST_AUDIO_FORMAT_S16LE, 48000, 2, 1, 100, 0, 2, 0 };
    guint64 offs[2] = { 0, 100 };
    guint8 rec[48];

    memcpy (rec, a, 32);
    memcpy (rec + 32, offs, 16);
    desc_one_record (&desc, GST_ZC_META_AUDIO, rec, sizeof rec);
    check_desc_refused (&desc);
    offs[1] = G_MAXUINT64 - 100;
    memcpy (rec + 32, offs, 16);
    desc_one_record (&desc, GST_ZC_META_AUDIO, rec, sizeof rec);
    check_desc_refused (&desc);
  }

  /* Reference timestamp whose caps string has no NUL. */
  memset (junk, 'x', sizeof junk);
  desc_one_record (&desc, GST_ZC_META_REFTS, junk, sizeof junk);
  check_desc_refused (&desc);
  /* Custom meta: name and structure, the structure not terminated. */
  memcpy (junk, "ZcTestMeta\0abc", 14);
  test_custom_meta_info ();
  desc_one_record (&desc, GST_ZC_META_CUSTOM, junk, 14);
  check_desc_refused (&desc);

  /* Unknown types are skipped, not refused. */
  desc_one_record (&desc, 999, junk, sizeof junk);
  buf = gst_buffer_new_allocate (NULL, 16, NULL);
  fail_unless (gst_zc_buffer_add_metas (buf, &desc));
  gst_buffer_unref (buf);
}

GST_END_TEST;

/* A video record found valid once is not checked again when the same
 * bytes come with a buffer of the same size (the planes' bounds depend on
 * the size).  The same bytes with a smaller buffer are checked, and
 * refused; a record refused is never taken for a valid one. */
GST_START_TEST (test_wire_video_record_checked_again_for_another_size)
{
  VideoRecord good = { GST_VIDEO_FORMAT_RGBA, 64, 48, 1, 0, {0}, {256} };
  VideoRecord bad = good;
  struct zc_desc desc, bad_desc;
  GstBuffer *buf;
  guint round;

  bad.offset[0] = 256;          /* one row too far */
  desc_one_record (&bad_desc, GST_ZC_META_VIDEO, &bad, sizeof bad);
  desc_one_record (&desc, GST_ZC_META_VIDEO, &good, sizeof good);
  for (round = 0; round < 2; round++) {
    buf = gst_buffer_new_allocate (NULL, 64 * 48 * 4, NULL);
    fail_unless (gst_zc_buffer_add_metas (buf, &desc));
    fail_unless (gst_buffer_get_video_meta (buf) != NULL);
    gst_buffer_unref (buf);
    /* The same bytes, one row short of room. */
    buf = gst_buffer_new_allocate (NULL, 64 * 47 * 4, NULL);
    fail_if (gst_zc_buffer_add_metas (buf, &desc));
    fail_unless (gst_buffer_get_video_meta (buf) == NULL);
    gst_buffer_unref (buf);
    check_desc_refused (&bad_desc);
    check_desc_refused (&bad_desc);
  }
}

GST_END_TEST;

static Suite *
zcwire_suite (void)
{
  Suite *s = suite_create ("zcwire");
  TCase *tc = tcase_create ("wire");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_clock_is_monotonic);
  tcase_add_test (tc, test_element_time_base_follows_its_clock);
  tcase_add_test (tc, test_wire_events_round_trip);
  tcase_add_test (tc, test_wire_events_hostile_blobs_refused);
  tcase_add_test (tc, test_wire_metas_round_trip);
  tcase_add_test (tc, test_wire_video_meta_filled_again_or_removed);
  tcase_add_test (tc, test_wire_metas_that_do_not_fit_are_dropped);
  tcase_add_test (tc, test_wire_hostile_metas_refused);
  tcase_add_test (tc, test_wire_video_record_checked_again_for_another_size);
  return s;
}

int
main (int argc, char **argv)
{
  return zc_check_main (argc, argv, zcwire_suite, "zcwire", __FILE__);
}

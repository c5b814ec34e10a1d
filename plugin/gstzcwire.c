/* gst-zerocopy plugin: sticky events and buffer metas on the wire.
 *
 * The formats are described in gstzcwire.h.  The writer side runs in the
 * producer and trusts its own buffers; the reader side parses bytes any
 * process on the channel may have written, so each reader below checks a
 * length before it reads, a NUL before it treats bytes as a string, and a
 * value's range before it hands it to a GStreamer function that would
 * g_critical (or worse) on it.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <math.h>
#include <string.h>

#include <gst/audio/audio.h>
#include <gst/video/video.h>

#include "gstzcwire.h"

GST_DEBUG_CATEGORY_STATIC (zcwire_debug);
#define GST_CAT_DEFAULT zcwire_debug

/* The API types of the metas that cross, looked up once: per frame each
 * lookup is a call into another library, cold again by the next frame. */
static GType video_meta_api, audio_meta_api, refts_meta_api;

/* The debug category and the meta API types, once per process. */
static void
wire_init (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done)) {
    GST_DEBUG_CATEGORY_INIT (zcwire_debug, "zcwire", 0,
        "zerocopy events and metas on the wire");
    video_meta_api = GST_VIDEO_META_API_TYPE;
    audio_meta_api = GST_AUDIO_META_API_TYPE;
    refts_meta_api = GST_REFERENCE_TIMESTAMP_META_API_TYPE;
    g_once_init_leave (&done, 1);
  }
}

/* Record header: u16 type, u16 len.  Payloads are packed, read and
 * written with memcpy (no alignment in the meta area). */
#define TLV_HEADER 4u

/* Bounds on what a consumer accepts: far above any real stream, low
 * enough that no size computed from them overflows 64 bits. */
#define MAX_DIMENSION 65536u
#define MAX_AUDIO_CHANNELS 64u
#define MAX_AUDIO_RATE 16000000u

/* ---------------------------------------------------------------------
 * Sticky events
 * --------------------------------------------------------------------- */

#define STREAM_START_NAME "zc-stream-start"
#define SEGMENT_NAME "zc-segment"
#define TAG_NAME "zc-tag"

gboolean
gst_zc_event_serialize (GstEvent * ev, guint32 * id, gchar ** blob)
{
  GstStructure *s = NULL;

  g_return_val_if_fail (GST_IS_EVENT (ev), FALSE);
  g_return_val_if_fail (id != NULL && blob != NULL, FALSE);

  switch (GST_EVENT_TYPE (ev)) {
    case GST_EVENT_STREAM_START:{
      const gchar *stream_id = NULL;
      GstStreamFlags flags = GST_STREAM_FLAG_NONE;
      guint group_id = GST_GROUP_ID_INVALID;

      gst_event_parse_stream_start (ev, &stream_id);
      gst_event_parse_stream_flags (ev, &flags);
      if (!gst_event_parse_group_id (ev, &group_id))
        group_id = GST_GROUP_ID_INVALID;
      s = gst_structure_new (STREAM_START_NAME,
          "stream-id", G_TYPE_STRING, stream_id ? stream_id : "",
          "flags", G_TYPE_UINT, (guint) flags,
          "group-id", G_TYPE_UINT, group_id, NULL);
      *id = GST_ZC_STICKY_STREAM_START;
      break;
    }
    case GST_EVENT_SEGMENT:{
      const GstSegment *seg;

      gst_event_parse_segment (ev, &seg);
      s = gst_structure_new (SEGMENT_NAME,
          "flags", G_TYPE_UINT, (guint) seg->flags,
          "rate", G_TYPE_DOUBLE, seg->rate,
          "applied-rate", G_TYPE_DOUBLE, seg->applied_rate,
          "format", G_TYPE_INT, (gint) seg->format,
          "base", G_TYPE_UINT64, seg->base,
          "offset", G_TYPE_UINT64, seg->offset,
          "start", G_TYPE_UINT64, seg->start,
          "stop", G_TYPE_UINT64, seg->stop,
          "time", G_TYPE_UINT64, seg->time,
          "position", G_TYPE_UINT64, seg->position,
          "duration", G_TYPE_UINT64, seg->duration, NULL);
      *id = GST_ZC_STICKY_SEGMENT;
      break;
    }
    case GST_EVENT_TAG:{
      GstTagList *tags = NULL;
      gchar *str;

      gst_event_parse_tag (ev, &tags);
      str = gst_tag_list_to_string (tags);
      s = gst_structure_new (TAG_NAME,
          "taglist", G_TYPE_STRING, str ? str : "taglist;",
          "scope", G_TYPE_INT, (gint) gst_tag_list_get_scope (tags), NULL);
      g_free (str);
      *id = GST_ZC_STICKY_TAG;
      break;
    }
    default:
      return FALSE;
  }

  *blob = gst_structure_to_string (s);
  gst_structure_free (s);
  return TRUE;
}

static GstEvent *
stream_start_from_structure (const GstStructure * s)
{
  const gchar *stream_id;
  guint flags, group_id;
  GstEvent *ev;

  stream_id = gst_structure_get_string (s, "stream-id");
  if (stream_id == NULL || !gst_structure_get_uint (s, "flags", &flags)
      || !gst_structure_get_uint (s, "group-id", &group_id))
    return NULL;
  ev = gst_event_new_stream_start (stream_id);
  /* Unknown flag bits are the producer's business; GstStreamFlags is a
   * plain bit set, any value is safe to carry. */
  gst_event_set_stream_flags (ev, (GstStreamFlags) flags);
  if (group_id != GST_GROUP_ID_INVALID)
    gst_event_set_group_id (ev, group_id);
  return ev;
}

static GstEvent *
segment_from_structure (const GstStructure * s)
{
  GstSegment seg;
  guint flags;
  gint format;

  gst_segment_init (&seg, GST_FORMAT_TIME);
  if (!gst_structure_get_uint (s, "flags", &flags)
      || !gst_structure_get_double (s, "rate", &seg.rate)
      || !gst_structure_get_double (s, "applied-rate", &seg.applied_rate)
      || !gst_structure_get_int (s, "format", &format)
      || !gst_structure_get_uint64 (s, "base", &seg.base)
      || !gst_structure_get_uint64 (s, "offset", &seg.offset)
      || !gst_structure_get_uint64 (s, "start", &seg.start)
      || !gst_structure_get_uint64 (s, "stop", &seg.stop)
      || !gst_structure_get_uint64 (s, "time", &seg.time)
      || !gst_structure_get_uint64 (s, "position", &seg.position)
      || !gst_structure_get_uint64 (s, "duration", &seg.duration))
    return NULL;

  /* gst_event_new_segment() refuses (g_critical) a zero rate and an
   * undefined format; downstream arithmetic wants finite rates and
   * start <= stop. */
  if (!isfinite (seg.rate) || seg.rate == 0.0
      || !isfinite (seg.applied_rate) || seg.applied_rate == 0.0)
    return NULL;
  if (format != GST_FORMAT_DEFAULT && format != GST_FORMAT_BYTES
      && format != GST_FORMAT_TIME && format != GST_FORMAT_BUFFERS
      && format != GST_FORMAT_PERCENT)
    return NULL;
  if (seg.stop != GST_CLOCK_TIME_NONE && seg.start > seg.stop)
    return NULL;
  seg.format = (GstFormat) format;
  seg.flags = (GstSegmentFlags) flags;
  return gst_event_new_segment (&seg);
}

static GstEvent *
tag_from_structure (const GstStructure * s)
{
  const gchar *str;
  GstTagList *tags;
  gint scope;

  str = gst_structure_get_string (s, "taglist");
  if (str == NULL || !gst_structure_get_int (s, "scope", &scope))
    return NULL;
  if (scope != GST_TAG_SCOPE_STREAM && scope != GST_TAG_SCOPE_GLOBAL)
    return NULL;
  /* gst_tag_list_new_from_string() g_criticals on anything else. */
  if (!g_str_has_prefix (str, "taglist"))
    return NULL;
  tags = gst_tag_list_new_from_string (str);
  if (tags == NULL)
    return NULL;
  gst_tag_list_set_scope (tags, (GstTagScope) scope);
  return gst_event_new_tag (tags);
}

GstEvent *
gst_zc_event_deserialize (guint32 id, const void *data, gsize size)
{
  const gchar *expect, *str = data;
  GstStructure *s;
  GstEvent *ev = NULL;

  wire_init ();
  switch (id) {
    case GST_ZC_STICKY_STREAM_START:
      expect = STREAM_START_NAME;
      break;
    case GST_ZC_STICKY_SEGMENT:
      expect = SEGMENT_NAME;
      break;
    case GST_ZC_STICKY_TAG:
      expect = TAG_NAME;
      break;
    default:
      GST_DEBUG ("unknown sticky id %u ignored", id);
      return NULL;
  }
  /* Exactly one NUL, the last byte: the string is what the producer
   * meant, and nothing after it hides from the parser. */
  if (data == NULL || size == 0 || size > GST_ZC_STICKY_MAX
      || memchr (str, '\0', size) != str + size - 1) {
    GST_WARNING ("sticky blob %u of %" G_GSIZE_FORMAT " bytes refused: not "
        "one NUL-terminated string", id, size);
    return NULL;
  }

  s = gst_structure_from_string (str, NULL);
  if (s == NULL || !gst_structure_has_name (s, expect)) {
    GST_WARNING ("sticky blob %u refused: not a %s structure", id, expect);
    goto done;
  }
  switch (id) {
    case GST_ZC_STICKY_STREAM_START:
      ev = stream_start_from_structure (s);
      break;
    case GST_ZC_STICKY_SEGMENT:
      ev = segment_from_structure (s);
      break;
    default:
      ev = tag_from_structure (s);
      break;
  }
  if (ev == NULL)
    GST_WARNING ("sticky blob %u refused: missing or invalid fields", id);

done:
  if (s)
    gst_structure_free (s);
  return ev;
}

/* ---------------------------------------------------------------------
 * Metas: writer
 * --------------------------------------------------------------------- */

/* Appends one record, or leaves @desc untouched when it does not fit. */
static gboolean
tlv_append (struct zc_desc *desc, guint16 type, const void *payload,
    gsize len)
{
  guint16 len16 = (guint16) len;
  gsize at = desc->meta_size;

  if (len > G_MAXUINT16 || at > ZC_DESC_META_SIZE
      || ZC_DESC_META_SIZE - at < TLV_HEADER + len) {
    GST_DEBUG ("meta record type %u (%" G_GSIZE_FORMAT " bytes) dropped: "
        "%" G_GSIZE_FORMAT " of %u descriptor bytes left", type, len,
        at > ZC_DESC_META_SIZE ? 0 : ZC_DESC_META_SIZE - at,
        ZC_DESC_META_SIZE);
    return FALSE;
  }
  memcpy (desc->meta + at, &type, 2);
  memcpy (desc->meta + at + 2, &len16, 2);
  memcpy (desc->meta + at + TLV_HEADER, payload, len);
  desc->meta_size = (uint32_t) (at + TLV_HEADER + len);
  return TRUE;
}

/* Payload builder: a small stack buffer with a cursor. */
typedef struct
{
  guint8 bytes[ZC_DESC_META_SIZE];
  gsize len;
  gboolean overflow;
} Payload;

static void
put (Payload * p, const void *v, gsize n)
{
  if (p->overflow || sizeof (p->bytes) - p->len < n) {
    p->overflow = TRUE;
    return;
  }
  memcpy (p->bytes + p->len, v, n);
  p->len += n;
}

static void
put_u32 (Payload * p, guint32 v)
{
  put (p, &v, 4);
}

static void
put_u64 (Payload * p, guint64 v)
{
  put (p, &v, 8);
}

static void
put_string (Payload * p, const gchar * s)
{
  put (p, s, strlen (s) + 1);
}

static void
emit (struct zc_desc *desc, guint16 type, const Payload * p)
{
  if (p->overflow) {
    GST_DEBUG ("meta record type %u dropped: larger than the descriptor's "
        "meta area", type);
    return;
  }
  tlv_append (desc, type, p->bytes, p->len);
}

static void
write_video_meta (struct zc_desc *desc, const GstVideoMeta * vm)
{
  Payload p = { {0}, 0, FALSE };
  guint i;

  put_u32 (&p, (guint32) vm->format);
  put_u32 (&p, vm->width);
  put_u32 (&p, vm->height);
  put_u32 (&p, vm->n_planes);
  put_u32 (&p, (guint32) vm->flags);
  for (i = 0; i < 4; i++)
    put_u64 (&p, vm->offset[i]);
  for (i = 0; i < 4; i++)
    put_u32 (&p, (guint32) vm->stride[i]);
  emit (desc, GST_ZC_META_VIDEO, &p);
}

static void
write_audio_meta (struct zc_desc *desc, const GstAudioMeta * am)
{
  Payload p = { {0}, 0, FALSE };
  guint32 n_planes = 0, i;

  if (am->info.layout == GST_AUDIO_LAYOUT_NON_INTERLEAVED)
    n_planes = (guint32) am->info.channels;
  put_u32 (&p, (guint32) GST_AUDIO_INFO_FORMAT (&am->info));
  put_u32 (&p, (guint32) am->info.rate);
  put_u32 (&p, (guint32) am->info.channels);
  put_u32 (&p, (guint32) am->info.layout);
  put_u64 (&p, am->samples);
  put_u32 (&p, n_planes);
  put_u32 (&p, 0);
  for (i = 0; i < n_planes && am->offsets; i++)
    put_u64 (&p, am->offsets[i]);
  emit (desc, GST_ZC_META_AUDIO, &p);
}

static void
write_refts_meta (struct zc_desc *desc, const GstReferenceTimestampMeta * rm)
{
  Payload p = { {0}, 0, FALSE };
  gchar *caps;

  if (rm->reference == NULL)
    return;
  caps = gst_caps_to_string (rm->reference);
  put_u64 (&p, rm->timestamp);
  put_u64 (&p, rm->duration);
  put_string (&p, caps);
  g_free (caps);
  emit (desc, GST_ZC_META_REFTS, &p);
}

static void
write_custom_meta (struct zc_desc *desc, GstMeta * meta)
{
  Payload p = { {0}, 0, FALSE };
  const GstStructure *s;
  gchar *str;

  s = gst_custom_meta_get_structure ((GstCustomMeta *) meta);
  if (s == NULL)
    return;
  str = gst_structure_to_string (s);
  put_string (&p, g_type_name (meta->info->type));
  put_string (&p, str);
  g_free (str);
  emit (desc, GST_ZC_META_CUSTOM, &p);
}

void
gst_zc_desc_set_metas (struct zc_desc *desc, GstBuffer * buf)
{
  /* More records than these can never fit: each takes 5 bytes or more. */
  GstMeta *refts[ZC_DESC_META_SIZE / (TLV_HEADER + 1)];
  GstMeta *custom[ZC_DESC_META_SIZE / (TLV_HEADER + 1)];
  GstMeta *video = NULL, *audio = NULL, *meta;
  guint n_refts = 0, n_custom = 0, i;
  gpointer state = NULL;

  g_return_if_fail (desc != NULL);
  g_return_if_fail (GST_IS_BUFFER (buf));

  wire_init ();
  desc->meta_size = 0;
  memset (desc->meta, 0, sizeof (desc->meta));

  /* One walk over the metas, then the records in priority order: the
   * first video meta (what makes a frame readable at all, with
   * non-default strides: it always fits), the first audio meta, every
   * reference timestamp, every custom meta, each kind in buffer order. */
  while ((meta = gst_buffer_iterate_meta (buf, &state))) {
    GType api = meta->info->api;

    if (api == video_meta_api) {
      if (video == NULL)
        video = meta;
    } else if (api == audio_meta_api) {
      if (audio == NULL)
        audio = meta;
    } else if (api == refts_meta_api) {
      if (n_refts < G_N_ELEMENTS (refts))
        refts[n_refts++] = meta;
    } else if (gst_meta_info_is_custom (meta->info)) {
      if (n_custom < G_N_ELEMENTS (custom))
        custom[n_custom++] = meta;
    } else {
      GST_DEBUG ("meta %s does not cross the channel",
          g_type_name (meta->info->type));
    }
  }
  if (video)
    write_video_meta (desc, (GstVideoMeta *) video);
  if (audio)
    write_audio_meta (desc, (GstAudioMeta *) audio);
  for (i = 0; i < n_refts; i++)
    write_refts_meta (desc, (GstReferenceTimestampMeta *) refts[i]);
  for (i = 0; i < n_custom; i++)
    write_custom_meta (desc, custom[i]);
}

/* ---------------------------------------------------------------------
 * Metas: reader (untrusted bytes)
 * --------------------------------------------------------------------- */

typedef struct
{
  const guint8 *p;
  gsize left;
  gboolean bad;
} Reader;

static void
get (Reader * r, void *v, gsize n)
{
  if (r->bad || r->left < n) {
    r->bad = TRUE;
    memset (v, 0, n);
    return;
  }
  memcpy (v, r->p, n);
  r->p += n;
  r->left -= n;
}

static guint32
get_u32 (Reader * r)
{
  guint32 v;

  get (r, &v, 4);
  return v;
}

static guint64
get_u64 (Reader * r)
{
  guint64 v;

  get (r, &v, 8);
  return v;
}

/* A NUL-terminated string inside the remaining bytes, or NULL. */
static const gchar *
get_string (Reader * r)
{
  const guint8 *nul;
  const gchar *s;

  if (r->bad || (nul = memchr (r->p, '\0', r->left)) == NULL) {
    r->bad = TRUE;
    return NULL;
  }
  s = (const gchar *) r->p;
  r->left -= (gsize) (nul - r->p) + 1;
  r->p = nul + 1;
  return s;
}

/* The *_get_info() functions g_critical on values past their tables:
 * look the value up among the raw formats first. */
static gboolean
is_raw_video_format (guint32 format)
{
  const GstVideoFormat *formats;
  guint i, n = 0;

  formats = gst_video_formats_raw (&n);
  for (i = 0; i < n; i++)
    if ((guint32) formats[i] == format)
      return TRUE;
  return FALSE;
}

static gboolean
is_raw_audio_format (guint32 format)
{
  const GstAudioFormat *formats;
  guint i, n = 0;

  formats = gst_audio_formats_raw (&n);
  for (i = 0; i < n; i++)
    if ((guint32) formats[i] == format)
      return TRUE;
  return FALSE;
}

/* A video record: format, width, height, n_planes, flags, then 4 offsets
 * (u64) and 4 strides (u32), as write_video_meta() puts them. */
#define VIDEO_RECORD_SIZE (5 * 4 + 4 * 8 + 4 * 4)

/* The last video record this thread found valid, and the buffer size it
 * was checked against.  The frames of a stream carry the same record, and
 * checking it reads the format tables, cold again by the next frame at
 * 30 fps (~2 us).  The check depends on these bytes and the size alone,
 * so the same bytes with the same size need no second look. */
static __thread struct
{
  gsize size;
  guint8 record[VIDEO_RECORD_SIZE];
  gboolean set;
} valid_video_record;

/* Whether the record's values describe planes that lie inside @size
 * bytes, in a raw video format this GStreamer knows. */
static gboolean
video_record_is_valid (gsize size, guint32 format, guint32 width,
    guint32 height, guint32 n_planes, const gsize * offset, const gint * stride)
{
  const GstVideoFormatInfo *finfo;
  guint32 i;

  if (!is_raw_video_format (format)
      || (finfo = gst_video_format_get_info ((GstVideoFormat) format)) == NULL
      || finfo->format != (GstVideoFormat) format)
    return FALSE;
  if (width == 0 || height == 0 || width > MAX_DIMENSION
      || height > MAX_DIMENSION)
    return FALSE;
  if (n_planes == 0 || n_planes > GST_VIDEO_MAX_PLANES
      || n_planes != GST_VIDEO_FORMAT_INFO_N_PLANES (finfo))
    return FALSE;

  for (i = 0; i < n_planes; i++) {
    gint comp[GST_VIDEO_MAX_COMPONENTS];
    guint64 rows;

    if (offset[i] > size)
      return FALSE;
    /* Tiled formats pack tile counts into the stride; their extent is
     * the tiling's business, the offset bound above still holds. */
    if (GST_VIDEO_FORMAT_INFO_IS_TILED (finfo))
      continue;
    if (stride[i] <= 0)
      return FALSE;
    gst_video_format_info_component (finfo, i, comp);
    rows = comp[0] >= 0
        ? (guint64) GST_VIDEO_FORMAT_INFO_SCALE_HEIGHT (finfo, comp[0],
        height) : height;
    /* rows <= 65536 and stride < 2^31: no overflow. */
    if (rows * (guint64) stride[i] > size - offset[i])
      return FALSE;
  }
  return TRUE;
}

static gboolean
read_video_meta (GstBuffer * buf, Reader * r)
{
  gsize size = gst_buffer_get_size (buf), offset[GST_VIDEO_MAX_PLANES];
  gint stride[GST_VIDEO_MAX_PLANES];
  guint8 record[VIDEO_RECORD_SIZE];
  Reader own = { record, sizeof (record), FALSE };
  gboolean seen;
  GstVideoMeta *meta;
  guint32 format, width, height, n_planes, flags, i;

  /* Our own copy, read once: the values used and the bytes compared with
   * the memo are the same, whoever writes the descriptor meanwhile. */
  if (r->left != sizeof (record))
    return FALSE;
  get (r, record, sizeof (record));
  format = get_u32 (&own);
  width = get_u32 (&own);
  height = get_u32 (&own);
  n_planes = get_u32 (&own);
  flags = get_u32 (&own);
  for (i = 0; i < 4; i++)
    offset[i] = get_u64 (&own);
  for (i = 0; i < 4; i++)
    stride[i] = (gint) get_u32 (&own);
  if (own.bad || own.left != 0)
    return FALSE;

  seen = valid_video_record.set && valid_video_record.size == size
      && memcmp (valid_video_record.record, record, VIDEO_RECORD_SIZE) == 0;
  if (!seen) {
    if (!video_record_is_valid (size, format, width, height, n_planes,
            offset, stride))
      return FALSE;
    valid_video_record.size = size;
    memcpy (valid_video_record.record, record, VIDEO_RECORD_SIZE);
    valid_video_record.set = TRUE;
  }
  for (i = n_planes; i < GST_VIDEO_MAX_PLANES; i++) {
    offset[i] = 0;
    stride[i] = 0;
  }

  /* A pooled buffer's meta from its last frame (gstzcframepool.c): filled
   * again, as gst_buffer_add_video_meta_full() would a new one. */
  meta = gst_buffer_get_video_meta (buf);
  if (meta == NULL)
    return gst_buffer_add_video_meta_full (buf, (GstVideoFrameFlags) flags,
        (GstVideoFormat) format, width, height, n_planes, offset,
        stride) != NULL;
  meta->flags = (GstVideoFrameFlags) flags;
  meta->format = (GstVideoFormat) format;
  meta->id = 0;
  meta->width = width;
  meta->height = height;
  meta->n_planes = n_planes;
  for (i = 0; i < GST_VIDEO_MAX_PLANES; i++) {
    meta->offset[i] = offset[i];
    meta->stride[i] = stride[i];
  }
  gst_video_alignment_reset (&meta->alignment);
  return TRUE;
}

static gboolean
read_audio_meta (GstBuffer * buf, Reader * r)
{
  gsize size = gst_buffer_get_size (buf), offsets[MAX_AUDIO_CHANNELS];
  guint32 format, rate, channels, layout, n_planes, i, j;
  const GstAudioFormatInfo *finfo;
  guint64 samples, plane_size, bps;
  GstAudioInfo info;

  format = get_u32 (r);
  rate = get_u32 (r);
  channels = get_u32 (r);
  layout = get_u32 (r);
  samples = get_u64 (r);
  n_planes = get_u32 (r);
  (void) get_u32 (r);
  if (r->bad)
    return FALSE;

  if (!is_raw_audio_format (format)
      || (finfo = gst_audio_format_get_info ((GstAudioFormat) format)) == NULL
      || finfo->format != (GstAudioFormat) format || finfo->width <= 0)
    return FALSE;
  if (rate == 0 || rate > MAX_AUDIO_RATE || channels == 0
      || channels > MAX_AUDIO_CHANNELS)
    return FALSE;
  bps = (guint64) finfo->width / 8;
  /* Every sample lies inside the buffer: bounds @samples before any
   * multiplication can overflow. */
  if (samples > size)
    return FALSE;
  plane_size = samples * bps;

  if (layout == GST_AUDIO_LAYOUT_INTERLEAVED) {
    if (n_planes != 0 || r->left != 0 || plane_size * channels > size)
      return FALSE;
  } else if (layout == GST_AUDIO_LAYOUT_NON_INTERLEAVED) {
    if (n_planes != channels || r->left != (gsize) n_planes * 8)
      return FALSE;
    for (i = 0; i < n_planes; i++) {
      offsets[i] = get_u64 (r);
      if (offsets[i] > size || plane_size > size - offsets[i])
        return FALSE;
    }
    /* gst_buffer_add_audio_meta() g_criticals on overlapping planes. */
    for (i = 0; i < n_planes; i++)
      for (j = i + 1; j < n_planes; j++)
        if (!(offsets[j] + plane_size <= offsets[i]
                || offsets[i] + plane_size <= offsets[j]))
          return FALSE;
  } else {
    return FALSE;
  }

  gst_audio_info_init (&info);
  gst_audio_info_set_format (&info, (GstAudioFormat) format, (gint) rate,
      (gint) channels, NULL);
  info.layout = (GstAudioLayout) layout;
  if (!GST_AUDIO_INFO_IS_VALID (&info))
    return FALSE;
  return gst_buffer_add_audio_meta (buf, &info, samples,
      layout == GST_AUDIO_LAYOUT_NON_INTERLEAVED ? offsets : NULL) != NULL;
}

static gboolean
read_refts_meta (GstBuffer * buf, Reader * r)
{
  guint64 timestamp, duration;
  const gchar *str;
  GstCaps *caps;

  timestamp = get_u64 (r);
  duration = get_u64 (r);
  str = get_string (r);
  if (r->bad || r->left != 0 || str[0] == '\0')
    return FALSE;
  caps = gst_caps_from_string (str);
  if (caps == NULL)
    return FALSE;
  if (gst_caps_is_empty (caps) || gst_caps_is_any (caps)) {
    gst_caps_unref (caps);
    return FALSE;
  }
  gst_buffer_add_reference_timestamp_meta (buf, caps, timestamp, duration);
  gst_caps_unref (caps);
  return TRUE;
}

static gboolean
copy_field (GQuark field, const GValue * value, gpointer dest)
{
  gst_structure_id_set_value (dest, field, value);
  return TRUE;
}

static gboolean
read_custom_meta (GstBuffer * buf, Reader * r)
{
  const gchar *name, *str;
  const GstMetaInfo *info;
  GstCustomMeta *cm;
  GstStructure *s;

  name = get_string (r);
  str = get_string (r);
  if (r->bad || r->left != 0)
    return FALSE;
  info = gst_meta_get_info (name);
  if (info == NULL || !gst_meta_info_is_custom (info)) {
    /* Not an error: this process simply does not know the meta. */
    GST_DEBUG ("custom meta %s not registered here, dropped", name);
    return TRUE;
  }
  s = gst_structure_from_string (str, NULL);
  if (s == NULL)
    return FALSE;
  cm = gst_buffer_add_custom_meta (buf, name);
  if (cm)
    gst_structure_foreach (s, copy_field, gst_custom_meta_get_structure (cm));
  gst_structure_free (s);
  return cm != NULL;
}

/* *@video_set: whether a video record was read into @buf's video meta. */
static gboolean
read_meta_records (GstBuffer * buf, const struct zc_desc *desc,
    gboolean * video_set)
{
  gboolean all_ok = TRUE;
  gsize at = 0, end;

  /* Copy the bound once: @desc may sit in memory the peer still writes. */
  end = desc->meta_size;
  if (end > ZC_DESC_META_SIZE) {
    GST_WARNING ("descriptor meta size %" G_GSIZE_FORMAT " above %u: metas "
        "dropped", end, ZC_DESC_META_SIZE);
    return FALSE;
  }

  /* Each pass consumes at least the 4-byte header: at most 44 records. */
  while (end - at >= TLV_HEADER) {
    guint16 type, len;
    Reader r;
    gboolean ok;

    memcpy (&type, desc->meta + at, 2);
    memcpy (&len, desc->meta + at + 2, 2);
    at += TLV_HEADER;
    if (len > end - at) {
      GST_WARNING ("meta record type %u overruns the descriptor", type);
      return FALSE;
    }
    r.p = desc->meta + at;
    r.left = len;
    r.bad = FALSE;
    at += len;

    switch (type) {
      case GST_ZC_META_VIDEO:
        ok = read_video_meta (buf, &r);
        *video_set |= ok;
        break;
      case GST_ZC_META_AUDIO:
        ok = read_audio_meta (buf, &r);
        break;
      case GST_ZC_META_REFTS:
        ok = read_refts_meta (buf, &r);
        break;
      case GST_ZC_META_CUSTOM:
        ok = read_custom_meta (buf, &r);
        break;
      default:
        GST_DEBUG ("unknown meta record type %u skipped", type);
        ok = TRUE;
        break;
    }
    if (!ok) {
      GST_WARNING ("meta record type %u (%u bytes) refused: invalid", type,
          len);
      all_ok = FALSE;
    }
  }
  if (at != end) {
    GST_WARNING ("%" G_GSIZE_FORMAT " stray bytes after the meta records",
        end - at);
    all_ok = FALSE;
  }
  return all_ok;
}

gboolean
gst_zc_buffer_add_metas (GstBuffer * buf, const struct zc_desc *desc)
{
  gboolean ok, video_set = FALSE;
  GstVideoMeta *stale;

  g_return_val_if_fail (GST_IS_BUFFER (buf), FALSE);
  g_return_val_if_fail (desc != NULL, FALSE);

  wire_init ();
  ok = read_meta_records (buf, desc, &video_set);
  /* The last frame's, and this frame has none (or a refused one). */
  if (!video_set && (stale = gst_buffer_get_video_meta (buf)) != NULL)
    gst_buffer_remove_meta (buf, (GstMeta *) stale);
  return ok;
}

static G_DEFINE_QUARK (gst-zc-clock-monotonic, clock_monotonic);

gboolean
gst_zc_clock_is_monotonic (GstClock * clock)
{
  GQuark quark = clock_monotonic_quark ();
  gpointer known;

  known = g_object_get_qdata (G_OBJECT (clock), quark);
  if (known == NULL) {
    GstClockType type = GST_CLOCK_TYPE_REALTIME;

    if (GST_IS_SYSTEM_CLOCK (clock))
      g_object_get (clock, "clock-type", &type, NULL);
    /* 1 and 2, as NULL means not looked up yet. */
    known = GINT_TO_POINTER (type == GST_CLOCK_TYPE_MONOTONIC ? 1 : 2);
    g_object_set_qdata (G_OBJECT (clock), quark, known);
  }
  return known == GINT_TO_POINTER (1);
}

gboolean
gst_zc_element_time_base (GstElement * element, GstClock ** monotonic,
    GstClockTime * base_time, GstClockTimeDiff * diff)
{
  GstClock *clock;

  g_return_val_if_fail (GST_IS_ELEMENT (element), FALSE);
  g_return_val_if_fail (monotonic != NULL, FALSE);

  GST_OBJECT_LOCK (element);
  clock = GST_ELEMENT_CLOCK (element);
  *base_time = GST_ELEMENT_CAST (element)->base_time;
  *diff = 0;
  /* @monotonic holds a reference: the same address is the same clock. */
  if (clock != NULL && clock == *monotonic) {
    GST_OBJECT_UNLOCK (element);
    return TRUE;
  }
  if (clock != NULL)
    gst_object_ref (clock);
  GST_OBJECT_UNLOCK (element);
  if (clock == NULL)
    return FALSE;

  if (gst_zc_clock_is_monotonic (clock)) {
    gst_object_replace ((GstObject **) monotonic, GST_OBJECT_CAST (clock));
  } else {
    *diff = GST_CLOCK_DIFF ((GstClockTime) zc_now_ns (),
        gst_clock_get_time (clock));
  }
  gst_object_unref (clock);
  return TRUE;
}

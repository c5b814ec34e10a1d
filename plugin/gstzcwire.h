/* gst-zerocopy plugin: what zcsink and zcsrc say to each other beyond the
 * frame bytes.  Internal to the plugin; both elements use it.
 *
 * Sticky events travel as libzc sticky blobs (zc_producer_set_sticky), one
 * slot per kind so a later event of the same kind replaces the earlier:
 *
 *   id                           blob (NUL-terminated, gst_structure_to_string)
 *   GST_ZC_STICKY_STREAM_START   zc-stream-start, stream-id=(string),
 *                                flags=(uint), group-id=(uint)
 *   GST_ZC_STICKY_SEGMENT        zc-segment, flags, rate, applied-rate,
 *                                format, base, offset, start, stop, time,
 *                                position, duration (uint / double / int)
 *   GST_ZC_STICKY_TAG            zc-tag, taglist=(string) the
 *                                gst_tag_list_to_string form, scope=(int)
 *
 * Buffer metas travel in the descriptor's opaque meta area (176 bytes) as
 * TLV records, in this order of priority, each dropped (GST_DEBUG) when it
 * no longer fits:
 *
 *   u16 type (GST_ZC_META_*), u16 len, len bytes of payload; no padding
 *   (read with memcpy), host byte order (both ends are one machine).
 *
 *   GST_ZC_META_VIDEO  u32 format, u32 width, u32 height, u32 n_planes,
 *                      u32 flags, u64 offset[4], i32 stride[4]    (68 bytes)
 *   GST_ZC_META_AUDIO  u32 format, u32 rate, u32 channels, u32 layout,
 *                      u64 samples, u32 n_planes, u32 reserved,
 *                      u64 offset[n_planes]           (32 + 8 * n_planes)
 *   GST_ZC_META_REFTS  u64 timestamp, u64 duration, then the reference
 *                      caps as a NUL-terminated string (short, e.g.
 *                      "timestamp/x-unix")
 *   GST_ZC_META_CUSTOM a GstCustomMeta: its registered name, NUL, then
 *                      its structure as gst_structure_to_string, NUL;
 *                      added on the consumer only if the name is
 *                      registered there as a custom meta too
 *
 * Unknown types are skipped by their length, so either side may learn new
 * ones.  Buffer flags and offsets go in desc.buffer_flags / offset /
 * offset_end directly, not here.
 *
 * The format (zc_producer_set_format) is the caps, gst_caps_to_string,
 * sent with its terminating NUL (size = strlen + 1).
 *
 * Timestamps (desc.pts, dts; set by zcsink, not here) cross as running
 * time on CLOCK_MONOTONIC, as unixfdsink does since 1.24: the producer's
 * running time plus its base time when its pipeline clock is the
 * monotonic system clock; with another clock, converted to
 * CLOCK_MONOTONIC through that clock's current time; with no clock at all
 * (no pipeline, e.g. GstHarness), the bare running time.  ZC_TIME_NONE
 * stays "none"; duration crosses as it is.  A consumer on the monotonic
 * clock subtracts its own base time to get its running time.
 *
 * Everything read back comes from another process: every length, count,
 * enum value and string is checked before use, and a bad record makes the
 * reader drop that meta (or the event), never crash.
 */
#ifndef __GST_ZC_WIRE_H__
#define __GST_ZC_WIRE_H__

#include <gst/gst.h>
#include <zc/zc.h>

G_BEGIN_DECLS

/* Sticky blob ids (zc_producer_set_sticky).  Never renumber: wire ABI. */
#define GST_ZC_STICKY_STREAM_START 1
#define GST_ZC_STICKY_SEGMENT      2
#define GST_ZC_STICKY_TAG          3
/* "zc-clock, base-time=(guint64)N": what the producer adds to running time
 * to make the wire's CLOCK_MONOTONIC times (its base time, shifted to the
 * monotonic clock); lets a non-live zcsrc recover the producer's running
 * time, and from it positions in the producer's segment. */
#define GST_ZC_STICKY_CLOCK        4

/* TLV record types in zc_desc.meta.  Never renumber: wire ABI. */
#define GST_ZC_META_VIDEO  1
#define GST_ZC_META_AUDIO  2
#define GST_ZC_META_REFTS  3
#define GST_ZC_META_CUSTOM 4

/* Longest sticky blob either side accepts (libzc's own bound). */
#define GST_ZC_STICKY_MAX  60000

/**
 * gst_zc_event_serialize:
 * @ev: a sticky event
 * @id: (out): its blob id, GST_ZC_STICKY_*
 * @blob: (out) (transfer full): a NUL-terminated string, g_free it; send
 *   strlen (@blob) + 1 bytes
 *
 * Returns: TRUE for stream-start, segment and tag events; FALSE (nothing
 * set) for any other event, which does not cross.
 */
gboolean gst_zc_event_serialize (GstEvent * ev, guint32 * id, gchar ** blob);

/**
 * gst_zc_event_deserialize:
 * @id: the blob id, from the producer
 * @data: the blob, untrusted
 * @size: its length in bytes, including the terminating NUL
 *
 * Returns: (transfer full) (nullable): the event, or NULL for an unknown
 * id, a blob without its NUL (or with one before the end), above
 * GST_ZC_STICKY_MAX, or that does not parse into valid fields.
 */
GstEvent *gst_zc_event_deserialize (guint32 id, const void *data, gsize size);

/**
 * gst_zc_desc_set_metas:
 * @desc: the descriptor to fill; meta and meta_size are overwritten
 * @buf: the buffer whose metas to carry
 *
 * Writes the TLV records for @buf's video, audio, reference-timestamp and
 * custom metas, as many as fit.  Only meta fields: size, timestamps,
 * offsets and flags are the caller's.
 */
void gst_zc_desc_set_metas (struct zc_desc *desc, GstBuffer * buf);

/**
 * gst_zc_buffer_add_metas:
 * @buf: a writable buffer holding the frame's bytes (its size is used to
 *   bound the plane offsets)
 * @desc: a descriptor from the producer, untrusted
 *
 * Adds the metas @desc carries.  A record that fails validation (length,
 * n_planes > 4, a plane offset outside the buffer, an unknown format, a
 * string without NUL, ...) is skipped.  A #GstVideoMeta already on @buf
 * (a pooled buffer's, kept from its last frame) is filled again from
 * @desc's video record, or removed when @desc has none: no allocation for
 * it per frame.
 *
 * Returns: TRUE if every record was valid (or skipped as unknown), FALSE
 * if at least one was refused.
 */
gboolean gst_zc_buffer_add_metas (GstBuffer * buf,
    const struct zc_desc *desc);

/**
 * gst_zc_clock_is_monotonic:
 * @clock: a pipeline clock
 *
 * Whether @clock reads CLOCK_MONOTONIC, the clock wire times are on (a
 * GstSystemClock of type MONOTONIC: GStreamer's default).  Then no offset
 * is measured, and two pipelines line up exactly.  Asked for every buffer
 * on a clock that is not (gst_zc_element_time_base() keeps a monotonic
 * one), so remembered on the clock: a clock's type does not change while
 * it runs (its time would jump).
 */
gboolean gst_zc_clock_is_monotonic (GstClock * clock);

/**
 * gst_zc_element_time_base:
 * @element: the element whose running time is mapped
 * @monotonic: (inout) (nullable): the clock last found monotonic for
 *   @element (a reference), kept between calls by the element's streaming
 *   thread; cleared by the element when it stops
 * @base_time: (out): @element's base time
 * @diff: (out): @element's clock minus CLOCK_MONOTONIC, now; 0 on a
 *   monotonic clock
 *
 * What maps @element's running time onto CLOCK_MONOTONIC, once per buffer:
 * running time + @base_time - @diff.  The clock found monotonic stays in
 * @monotonic, so that while the element keeps it, a buffer reads the
 * element alone: the clock's own lines are cold again by the next frame
 * at 30 fps.
 *
 * Returns: FALSE when @element has no clock (@diff is then 0).
 */
gboolean gst_zc_element_time_base (GstElement * element,
    GstClock ** monotonic, GstClockTime * base_time, GstClockTimeDiff * diff);

G_END_DECLS
#endif /* __GST_ZC_WIRE_H__ */

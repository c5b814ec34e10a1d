/* gst-zerocopy core library: the segment layout.
 *
 * The region header at offset 0 of every metadata file says where each
 * component lives: a row of the component table per component, offsets
 * relative to the file they point into.  This file plans a layout (phase 1),
 * writes the header (phase 2), flips the construction bits (phase 3 and
 * teardown), and validates a header written by somebody else.
 *
 * Who writes what: only the creator writes the header, before it hands
 * out any descriptor, and afterwards only the construction word.  But the
 * metadata file is read-write for every participant, so an opener treats
 * every byte of it as hostile: zc_layout_validate() works on a private
 * copy of the table, checks each field against the real file sizes, and
 * never reads outside [meta, meta + meta_size).  A caller that reads an
 * entry again later must bound it again (region.c does).
 *
 * Concurrency: the construction word is the only field that changes while
 * others may look.  The creator sets a component's bit with release after
 * building it; an opener loads the word with acquire before reading
 * anything else, so a set bit guarantees it sees the built component.
 */
#include <errno.h>
#include <string.h>

#include <zc/error.h>
#include <zc/layout.h>
#include <zc/segment.h>

/* Data offsets are page-aligned so a component's data could be mapped on
 * its own (and so blocks start on a page, good for DMA and huge frames). */
#define ZC_LAYOUT_DATA_ALIGN 4096u

#define HEADER_SIZE ((uint64_t) sizeof (struct zc_region_header))

/* Rounds @v up to @align (a power of two).  Callers bound @v by
 * ZC_SEGMENT_MAX_SIZE first, so this cannot wrap. */
static uint64_t
align_up (uint64_t v, uint64_t align)
{
  return (v + align - 1) & ~(align - 1);
}

int
zc_layout_plan_components (const struct zc_component_spec *specs,
    uint32_t n_specs, struct zc_layout_plan *plan)
{
  uint64_t meta_end = HEADER_SIZE, data_end = 0;
  uint32_t i;

  if (specs == NULL || plan == NULL || n_specs == 0 ||
      n_specs > ZC_MAX_COMPONENTS)
    return -EINVAL;

  for (i = 0; i < n_specs; i++) {
    if (specs[i].kind == ZC_COMPONENT_NONE ||
        specs[i].kind >= ZC_COMPONENT_KIND_LAST || specs[i].meta_size == 0)
      return -EINVAL;
  }

  memset (plan, 0, sizeof (*plan));
  for (i = 0; i < n_specs; i++) {
    struct zc_component_entry *e = &plan->components[i];

    /* Every running end stays <= ZC_SEGMENT_MAX_SIZE (2^30), and every
     * size added is checked against that bound first: no sum can wrap. */
    if (specs[i].meta_size > ZC_SEGMENT_MAX_SIZE ||
        specs[i].data_size > ZC_SEGMENT_MAX_SIZE)
      return -EFBIG;

    e->kind = specs[i].kind;
    e->meta_offset = align_up (meta_end, ZC_LAYOUT_ALIGN);
    e->meta_size = specs[i].meta_size;
    meta_end = e->meta_offset + e->meta_size;
    if (meta_end > ZC_SEGMENT_MAX_SIZE)
      return -EFBIG;

    if (specs[i].data_size > 0) {
      e->data_offset = align_up (data_end, ZC_LAYOUT_DATA_ALIGN);
      e->data_size = specs[i].data_size;
      data_end = e->data_offset + e->data_size;
      if (data_end > ZC_SEGMENT_MAX_SIZE)
        return -EFBIG;
    }
  }
  if (meta_end + data_end > ZC_SEGMENT_MAX_SIZE)
    return -EFBIG;

  plan->n_components = n_specs;
  plan->meta_size = meta_end;
  plan->data_size = data_end;
  return 0;
}

void
zc_layout_write_header (void *meta, const struct zc_layout_plan *plan)
{
  struct zc_region_header *hdr = meta;
  uint32_t n;

  if (meta == NULL || plan == NULL)
    return;
  n = plan->n_components <= ZC_MAX_COMPONENTS ?
      plan->n_components : ZC_MAX_COMPONENTS;

  hdr->magic = ZC_REGION_MAGIC;
  hdr->version = ZC_LAYOUT_VERSION;
  hdr->header_size = (uint32_t) HEADER_SIZE;
  hdr->meta_size = plan->meta_size;
  hdr->data_size = plan->data_size;
  hdr->n_components = n;
  memcpy (hdr->components, plan->components, n * sizeof (hdr->components[0]));
  /* Relaxed: nothing is built yet, and whatever publishes the header (the
   * first mark_constructed, or handing out the descriptors) orders it. */
  atomic_store_explicit (&hdr->construction, 0, memory_order_relaxed);
}

static uint32_t
construction_bit (int index)
{
  if (index == -1)
    return ZC_CONSTRUCTION_READY;
  if (index >= 0 && (unsigned) index < ZC_MAX_COMPONENTS)
    return UINT32_C (1) << index;
  return 0;
}

void
zc_layout_mark_constructed (void *meta, int index)
{
  struct zc_region_header *hdr = meta;
  uint32_t bit = construction_bit (index);

  if (meta == NULL || bit == 0)
    return;
  /* Release: the component's construction (and the header before it)
   * happens-before any opener whose acquire load in zc_layout_validate()
   * sees this bit. */
  atomic_fetch_or_explicit (&hdr->construction, bit, memory_order_release);
}

void
zc_layout_mark_destructed (void *meta, int index)
{
  struct zc_region_header *hdr = meta;
  uint32_t bit = construction_bit (index);

  if (meta == NULL || bit == 0)
    return;
  /* Release orders our earlier use of the component before the clear.
   * Acquire too, because the promise is "cleared first, then torn down":
   * the teardown that follows must not move before the clear, so a new
   * opener that still sees the bit does not find a half-dismantled
   * component.  (Openers that validated earlier are not protected by the
   * word at all; the kernel keeps the memory mapped under them.) */
  atomic_fetch_and_explicit (&hdr->construction, ~bit, memory_order_acq_rel);
}

/* Whether [off, off + size) fits in [0, limit), without overflow. */
static int
range_fits (uint64_t off, uint64_t size, uint64_t limit)
{
  return off <= limit && size <= limit - off;
}

static int
ranges_overlap (uint64_t a_off, uint64_t a_size, uint64_t b_off,
    uint64_t b_size)
{
  /* Both ranges were bounded by range_fits(): the sums cannot wrap. */
  return a_off < b_off + b_size && b_off < a_off + a_size;
}

static int
check_entry (const struct zc_component_entry *e, uint64_t meta_size,
    uint64_t data_size)
{
  if (e->kind == ZC_COMPONENT_NONE || e->kind >= ZC_COMPONENT_KIND_LAST)
    return ZC_EKIND;

  /* Metadata: behind the header, aligned, inside the file. */
  if (e->meta_size == 0 || e->meta_offset < HEADER_SIZE ||
      e->meta_offset % ZC_LAYOUT_ALIGN != 0 ||
      !range_fits (e->meta_offset, e->meta_size, meta_size))
    return ZC_EBOUNDS;

  /* Data: none at all, or page aligned and inside the data file. */
  if (e->data_size == 0) {
    if (e->data_offset != 0)
      return ZC_EBOUNDS;
  } else if (e->data_offset % ZC_LAYOUT_DATA_ALIGN != 0 ||
      !range_fits (e->data_offset, e->data_size, data_size)) {
    return ZC_EBOUNDS;
  }
  return 0;
}

int
zc_layout_validate (const void *meta, uint64_t meta_size, uint64_t data_size)
{
  const struct zc_region_header *hdr = meta;
  struct zc_component_entry table[ZC_MAX_COMPONENTS];
  uint32_t construction, n, i, j;
  int ret;

  if (meta == NULL)
    return -EINVAL;
  if (meta_size < HEADER_SIZE)
    return ZC_ETRUNCATED;

  /* Acquire, and before reading anything else: pairs with the release in
   * zc_layout_mark_constructed(), so that what the bits announce (header
   * included) is what we read below.  Judged last, so that a malformed
   * header is reported as such rather than as "not ready". */
  construction = atomic_load_explicit (&hdr->construction,
      memory_order_acquire);

  if (hdr->magic != ZC_REGION_MAGIC)
    return ZC_EBADMAGIC;
  if (hdr->version != ZC_LAYOUT_VERSION || hdr->header_size != HEADER_SIZE)
    return ZC_EVERSION;

  if (hdr->meta_size > meta_size || hdr->data_size > data_size)
    return ZC_ETRUNCATED;
  if (hdr->meta_size != meta_size || hdr->data_size != data_size)
    return ZC_EBOUNDS;

  /* Every participant can write this memory: read the count once and
   * check a private copy of the table, so that nothing can change between
   * a check and the next one. */
  n = hdr->n_components;
  if (n > ZC_MAX_COMPONENTS)
    return ZC_EBOUNDS;
  memcpy (table, hdr->components, n * sizeof (table[0]));

  for (i = 0; i < n; i++) {
    ret = check_entry (&table[i], meta_size, data_size);
    if (ret < 0)
      return ret;
    for (j = 0; j < i; j++) {
      if (ranges_overlap (table[i].meta_offset, table[i].meta_size,
              table[j].meta_offset, table[j].meta_size))
        return ZC_EBOUNDS;
      if (table[i].data_size > 0 && table[j].data_size > 0 &&
          ranges_overlap (table[i].data_offset, table[i].data_size,
              table[j].data_offset, table[j].data_size))
        return ZC_EBOUNDS;
    }
  }

  if (!(construction & ZC_CONSTRUCTION_READY))
    return ZC_ENOTREADY;
  for (i = 0; i < n; i++)
    if (!(construction & (UINT32_C (1) << i)))
      return ZC_ENOTREADY;
  return 0;
}

int
zc_layout_find (const void *meta, uint32_t kind, uint32_t nth)
{
  const struct zc_region_header *hdr = meta;
  uint32_t n, i;

  if (meta == NULL)
    return -EINVAL;
  /* Clamped again: the count may have been rewritten since validation. */
  n = hdr->n_components;
  if (n > ZC_MAX_COMPONENTS)
    n = ZC_MAX_COMPONENTS;
  for (i = 0; i < n; i++) {
    if (hdr->components[i].kind != kind)
      continue;
    if (nth == 0)
      return (int) i;
    nth--;
  }
  return ZC_EKIND;
}

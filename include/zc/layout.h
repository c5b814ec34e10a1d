/* gst-zerocopy core library: the segment layout.
 *
 * The metadata file of every segment starts with a region header:
 *
 *   +--------------------------------+ 0
 *   | zc_region_header               |  magic, version, sizes, creator,
 *   |   components[ZC_MAX_COMPONENTS] |  component table, construction word
 *   +--------------------------------+ header_size (512)
 *   | component 0 metadata           |  e.g. heartbeat block
 *   | component 1 metadata           |  e.g. pool header + block states
 *   | ...                            |
 *   +--------------------------------+ meta_size
 *
 * and a component may also own a range of the data file (a pool's blocks).
 * Offsets are relative to the start of the file they point into: never
 * pointers, since every process maps the segment at its own address.
 *
 * Construction runs in three phases (after iceoryx's RouDi):
 *   1. reserve:   size every component, create the memory files;
 *   2. header:    write the region header and the component table;
 *   3. construct: build each component in place and set its bit in
 *                 @construction; set ZC_CONSTRUCTION_READY last.
 * Destruction is the creator's alone, in reverse order, READY cleared
 * first.  Openers never construct or destruct anything.
 *
 * An opener trusts none of it: zc_layout_validate() checks every field
 * against the real file sizes before any component is touched.
 *
 * Compatibility: ZC_LAYOUT_VERSION is incremented for every incompatible
 * change of any structure in a segment.
 */
#ifndef ZC_LAYOUT_H
#define ZC_LAYOUT_H

#include <stdatomic.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** "ZCREGION" read as a little-endian 64-bit integer. */
#define ZC_REGION_MAGIC UINT64_C (0x4e4f49474552435a)
/** Layout version; bumped on every incompatible change. */
#define ZC_LAYOUT_VERSION 1u
/** Entries in the component table. */
#define ZC_MAX_COMPONENTS 8u
/** Every component offset is aligned to a cache line. */
#define ZC_LAYOUT_ALIGN 64u
/** Set in zc_region_header.construction once every component is built. */
#define ZC_CONSTRUCTION_READY (UINT32_C (1) << 31)

/** Kinds of component a segment may hold. */
enum zc_component_kind
{
  ZC_COMPONENT_NONE = 0,
  ZC_COMPONENT_HEARTBEAT = 1,   /**< zc_heartbeat: participant slots */
  ZC_COMPONENT_POOL = 2,        /**< zc_pool: block states (meta) + blocks (data) */
  ZC_COMPONENT_MSGRING = 3,     /**< MessageRing (control plane) */
  ZC_COMPONENT_QUEUES = 4,      /**< per-consumer descriptor queues */
  ZC_COMPONENT_KIND_LAST        /**< not part of ABI */
};

/** One row of the component table. */
struct zc_component_entry
{
  uint32_t kind;                /**< enum zc_component_kind */
  uint32_t reserved;            /**< 0 */
  uint64_t meta_offset;         /**< in the metadata file, ZC_LAYOUT_ALIGN aligned */
  uint64_t meta_size;           /**< bytes of metadata owned */
  uint64_t data_offset;         /**< in the data file, page aligned; 0 if none */
  uint64_t data_size;           /**< bytes of data owned; 0 if none */
  uint64_t reserved2;           /**< 0 */
};
_Static_assert (sizeof (struct zc_component_entry) == 48,
    "component entry is shared ABI");

/** The region header at offset 0 of every metadata file. */
struct zc_region_header
{
  uint64_t magic;               /**< ZC_REGION_MAGIC */
  uint32_t version;             /**< ZC_LAYOUT_VERSION */
  uint32_t header_size;         /**< sizeof (struct zc_region_header) */
  uint64_t meta_size;           /**< size of the metadata file, as created */
  uint64_t data_size;           /**< size of the data file, as created */
  int32_t creator_pid;          /**< pid of the creator (diagnostics) */
  uint32_t n_components;        /**< used rows of @components */
  /* Bit i: component i constructed; ZC_CONSTRUCTION_READY: all are.
   * Written with release by the creator after the component it announces,
   * read with acquire by openers before they touch that component. */
  _Atomic uint32_t construction;
  uint32_t reserved0;
  uint64_t creator_start_time;  /**< creator's start time (clock ticks since boot) */
  uint64_t reserved[9];
  struct zc_component_entry components[ZC_MAX_COMPONENTS];
};
_Static_assert (sizeof (struct zc_region_header) == 512,
    "region header is shared ABI");
_Static_assert (__builtin_offsetof (struct zc_region_header, construction) == 40,
    "construction word is shared ABI");
_Static_assert (__builtin_offsetof (struct zc_region_header, components) == 128,
    "component table is shared ABI");

/** What phase 1 needs to know of a component. */
struct zc_component_spec
{
  uint32_t kind;                /**< enum zc_component_kind */
  uint64_t meta_size;           /**< metadata bytes wanted (> 0) */
  uint64_t data_size;           /**< data bytes wanted (may be 0) */
};

/** Result of phase 1: where every component goes, how big the files are. */
struct zc_layout_plan
{
  uint32_t n_components;
  uint64_t meta_size;
  uint64_t data_size;
  struct zc_component_entry components[ZC_MAX_COMPONENTS];
};

/**
 * zc_layout_plan_components:
 * @specs: the components, in construction order
 * @n_specs: how many, 1 to ZC_MAX_COMPONENTS
 * @plan: (out): offsets and file sizes
 *
 * Phase 1 (reserve): places the components one after the other, aligned,
 * behind the region header, and computes the two file sizes.
 *
 * Returns: 0, -EINVAL for a bad spec, -EFBIG if the result would exceed
 * ZC_SEGMENT_MAX_SIZE.
 */
int zc_layout_plan_components (const struct zc_component_spec *specs,
    uint32_t n_specs, struct zc_layout_plan *plan);

/**
 * zc_layout_write_header:
 * @meta: start of a zeroed metadata file of plan->meta_size bytes
 * @plan: the plan from phase 1
 *
 * Phase 2: writes the region header and the component table.  The
 * construction word stays 0 until zc_layout_mark_constructed().
 */
void zc_layout_write_header (void *meta, const struct zc_layout_plan *plan);

/**
 * zc_layout_mark_constructed:
 * @meta: the metadata mapping
 * @index: component index, or -1 to set ZC_CONSTRUCTION_READY
 *
 * Phase 3: announces (release order) that component @index is built.
 */
void zc_layout_mark_constructed (void *meta, int index);

/**
 * zc_layout_mark_destructed:
 * @meta: the metadata mapping
 * @index: component index, or -1 to clear ZC_CONSTRUCTION_READY
 *
 * Clears a construction bit: the creator calls it for READY first, then
 * for each component in reverse order as it tears them down.
 */
void zc_layout_mark_destructed (void *meta, int index);

/**
 * zc_layout_validate:
 * @meta: the metadata mapping, at least @meta_size readable bytes
 * @meta_size: real size of the metadata file (from fstat)
 * @data_size: real size of the data file (from fstat)
 *
 * Checks the region header and every component entry against the real
 * sizes: magic, version, header size, recorded sizes, component count and
 * kinds, offset alignment, overflow, bounds and overlap, and that
 * construction is complete.  Reads nothing outside [meta, meta+meta_size).
 *
 * Returns: 0, or ZC_ETRUNCATED, ZC_EBADMAGIC, ZC_EVERSION, ZC_EBOUNDS,
 * ZC_EKIND or ZC_ENOTREADY naming the first problem found.
 */
int zc_layout_validate (const void *meta, uint64_t meta_size,
    uint64_t data_size);

/**
 * zc_layout_find:
 * @meta: a validated metadata mapping
 * @kind: component kind wanted
 * @nth: 0 for the first of that kind, 1 for the second, ...
 *
 * Returns: the component index, or ZC_EKIND if there is no such component.
 */
int zc_layout_find (const void *meta, uint32_t kind, uint32_t nth);

#ifdef __cplusplus
}
#endif
#endif /* ZC_LAYOUT_H */

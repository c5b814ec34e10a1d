/* Tests of lib/guard.c and lib/crc32c.c: what a write guard and a read
 * guard let their holder do, every check zc_guard_open() makes on an index
 * it cannot trust, the layered safety (L0 trailer at publish and release,
 * L1 circuit breaker, L2 CRC32C on request), and the CRC itself against
 * published check values, software against hardware.
 *
 * Writer and readers are participant slots of one process here; the same
 * calls across real processes are tested in test-multiprocess.c. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <zc/error.h>
#include <zc/guard.h>
#include <zc/pool.h>

#include "zc-test.h"

#define WRITER 0u
#define READER 5u
#define OTHER 9u

typedef struct
{
  zc_pool_t pool;
  uint8_t *meta;
  uint8_t *data;
} fixture;

static void *
alloc_zeroed (uint64_t size)
{
  void *p;

  size = (size + 4095) & ~UINT64_C (4095);
  p = aligned_alloc (4096, size);
  ZC_CHECK (p != NULL);
  memset (p, 0, size);
  return p;
}

static void
fixture_setup (fixture * f, uint32_t n_blocks, uint32_t flags)
{
  zc_pool_config_t cfg = { 1000, n_blocks, flags };
  uint64_t meta_size, data_size;

  ZC_CHECK_OK (zc_pool_footprint (&cfg, &meta_size, &data_size));
  f->meta = alloc_zeroed (meta_size);
  f->data = alloc_zeroed (data_size);
  ZC_CHECK_OK (zc_pool_construct (&f->pool, &cfg, f->meta, meta_size,
          f->data, data_size));
}

static void
fixture_teardown (fixture * f)
{
  free (f->meta);
  free (f->data);
}

static uint32_t
n_free (const zc_pool_t * pool)
{
  zc_pool_stats_t st;

  zc_pool_get_stats (pool, &st);
  return st.n_free;
}

/* Acquires, fills @size bytes with a pattern and publishes to @readers. */
static void
publish_frame (fixture * f, zc_guard_t * w, uint64_t size, uint64_t readers)
{
  void *data;

  ZC_CHECK_OK (zc_guard_acquire (&f->pool, WRITER, 0, w));
  ZC_CHECK_OK (zc_guard_map_write (w, &data, NULL));
  for (uint64_t i = 0; i < size; i++)
    ((uint8_t *) data)[i] = (uint8_t) (i * 7 + 1);
  ZC_CHECK_OK (zc_guard_publish (w, size, 1234, readers, NULL));
}

/* ---- what each kind of guard may do ---------------------------------- */

static void
test_write_guard_maps_capacity_for_writing (void)
{
  fixture f;
  zc_guard_t g = ZC_GUARD_INIT;
  void *data;
  const void *rdata;
  uint64_t cap = 0, size = 0;

  fixture_setup (&f, 2, 0);
  ZC_CHECK_OK (zc_guard_acquire (&f.pool, WRITER, 0, &g));
  ZC_CHECK_OK (zc_guard_map_write (&g, &data, &cap));
  ZC_CHECK_EQ (cap, f.pool.capacity);
  ZC_CHECK_EQ (cap, 1024);
  ZC_CHECK (data == zc_pool_block_data (&f.pool, zc_guard_index (&g)));
  memset (data, 0xab, cap);
  ZC_CHECK_OK (zc_guard_map_read (&g, &rdata, &size));
  ZC_CHECK (rdata == data);
  ZC_CHECK_EQ (size, cap);
  ZC_CHECK_EQ (zc_guard_map_write (&g, NULL, NULL), -EINVAL);
  ZC_CHECK_OK (zc_guard_release (&g));
  fixture_teardown (&f);
}

static void
test_read_guard_refuses_write_mapping_and_reads_published_size (void)
{
  fixture f;
  zc_guard_t w, r;
  void *data = NULL;
  const void *rdata;
  uint64_t size = 0;

  fixture_setup (&f, 2, 0);
  publish_frame (&f, &w, 300, UINT64_C (1) << READER);
  ZC_CHECK_OK (zc_guard_open (&f.pool, READER, zc_guard_index (&w), &r));
  ZC_CHECK_EQ (zc_guard_map_write (&r, &data, NULL), ZC_EREADONLY);
  ZC_CHECK (data == NULL);
  /* The writer's own guard is a read guard after publish, too. */
  ZC_CHECK_EQ (zc_guard_map_write (&w, &data, NULL), ZC_EREADONLY);
  ZC_CHECK_OK (zc_guard_map_read (&r, &rdata, &size));
  ZC_CHECK_EQ (size, 300);
  for (int i = 0; i < 300; i++)
    ZC_CHECK_EQ (((const uint8_t *) rdata)[i], (uint8_t) (i * 7 + 1));
  ZC_CHECK_OK (zc_guard_release (&r));
  ZC_CHECK_OK (zc_guard_release (&w));
  ZC_CHECK_EQ (n_free (&f.pool), 2);
  fixture_teardown (&f);
}

static void
test_publish_larger_than_capacity_is_refused (void)
{
  fixture f;
  zc_guard_t g;

  fixture_setup (&f, 1, 0);
  ZC_CHECK_OK (zc_guard_acquire (&f.pool, WRITER, 0, &g));
  ZC_CHECK_EQ (zc_guard_publish (&g, f.pool.capacity + 1, 0, 0, NULL), -EINVAL);
  ZC_CHECK_EQ (zc_guard_publish (&g, UINT64_MAX, 0, 0, NULL), -EINVAL);
  /* Nothing changed: still a write guard that can publish. */
  ZC_CHECK_EQ (atomic_load (&f.pool.ctl[0].state),
      ZC_BLOCK_USING | (WRITER << 8));
  ZC_CHECK_OK (zc_guard_publish (&g, f.pool.capacity, 0, 0, NULL));
  ZC_CHECK_OK (zc_guard_release (&g));
  fixture_teardown (&f);
}

static void
test_publish_stamps_header_and_lets_readers_open (void)
{
  fixture f;
  zc_guard_t w, r1, r2;
  uint64_t seq = 0;
  const struct zc_block_header *h;
  uint32_t idx;
  void *data;

  fixture_setup (&f, 4, 0);
  ZC_CHECK_OK (zc_guard_acquire (&f.pool, WRITER, 0, &w));
  idx = zc_guard_index (&w);
  ZC_CHECK_OK (zc_guard_map_write (&w, &data, NULL));
  memcpy (data, "frame", 5);
  ZC_CHECK_OK (zc_guard_publish (&w, 5, 987654321,
          (UINT64_C (1) << READER) | (UINT64_C (1) << OTHER), &seq));
  ZC_CHECK_EQ (seq, 1);
  ZC_CHECK_EQ (w.mode, ZC_GUARD_READ);
  ZC_CHECK_EQ (atomic_load (&f.pool.ctl[idx].state), ZC_BLOCK_PUBLISHED);
  ZC_CHECK_EQ (atomic_load (&f.pool.ctl[idx].holders),
      (1u << WRITER) | (1u << READER) | (1u << OTHER));

  h = zc_guard_header (&w);
  ZC_CHECK (h != NULL);
  ZC_CHECK_EQ (h->magic, ZC_BLOCK_MAGIC);
  ZC_CHECK_EQ (h->index, idx);
  ZC_CHECK_EQ (h->writer_id, WRITER);
  ZC_CHECK_EQ (h->data_size, 5);
  ZC_CHECK_EQ (h->timestamp_ns, 987654321);
  ZC_CHECK_EQ (h->sequence, 1);

  ZC_CHECK_OK (zc_guard_open (&f.pool, READER, idx, &r1));
  ZC_CHECK_OK (zc_guard_open (&f.pool, OTHER, idx, &r2));
  ZC_CHECK (zc_guard_header (&r1) == h);
  ZC_CHECK_OK (zc_guard_release (&w));
  ZC_CHECK_OK (zc_guard_release (&r1));
  ZC_CHECK_EQ (n_free (&f.pool), 3);
  ZC_CHECK_OK (zc_guard_release (&r2));
  ZC_CHECK_EQ (n_free (&f.pool), 4);

  /* Frame ids keep counting. */
  publish_frame (&f, &w, 1, 0);
  ZC_CHECK_EQ (zc_guard_header (&w)->sequence, 2);
  ZC_CHECK_OK (zc_guard_release (&w));
  fixture_teardown (&f);
}

static void
test_abandoned_write_guard_returns_its_block (void)
{
  fixture f;
  zc_guard_t g, g2 = { &f.pool, 7, 7, ZC_GUARD_WRITE };

  fixture_setup (&f, 1, 0);
  ZC_CHECK_OK (zc_guard_acquire (&f.pool, WRITER, 0, &g));
  ZC_CHECK_EQ (zc_guard_acquire (&f.pool, WRITER, 0, &g2), -EAGAIN);
  /* A failed acquire leaves an empty guard behind, not a stale one. */
  ZC_CHECK_EQ (g2.mode, ZC_GUARD_NONE);
  /* Dropping a write guard without publishing gives the block back. */
  ZC_CHECK_OK (zc_guard_release (&g));
  ZC_CHECK_EQ (n_free (&f.pool), 1);
  ZC_CHECK_OK (zc_guard_acquire (&f.pool, WRITER, 0, &g2));
  fixture_teardown (&f);
}

/* ---- zc_guard_open trusts no index ----------------------------------- */

static void
test_open_refuses_out_of_range_index (void)
{
  fixture f;
  zc_guard_t r;

  fixture_setup (&f, 4, 0);
  ZC_CHECK_EQ (zc_guard_open (&f.pool, READER, 4, &r), ZC_EBOUNDS);
  ZC_CHECK_EQ (zc_guard_open (&f.pool, READER, UINT32_MAX, &r), ZC_EBOUNDS);
  ZC_CHECK_EQ (r.mode, ZC_GUARD_NONE);
  ZC_CHECK_EQ (zc_guard_open (&f.pool, 64, 0, &r), -EINVAL);
  fixture_teardown (&f);
}

static void
test_open_refuses_unpublished_block (void)
{
  fixture f;
  zc_guard_t w, r;

  fixture_setup (&f, 2, 0);
  /* FREE */
  ZC_CHECK_EQ (zc_guard_open (&f.pool, READER, 1, &r), ZC_ESTATE);
  /* USING, even with the reader's bit already added */
  ZC_CHECK_OK (zc_guard_acquire (&f.pool, WRITER, 0, &w));
  ZC_CHECK_OK (zc_pool_add_holders (&f.pool, WRITER, zc_guard_index (&w),
          UINT64_C (1) << READER));
  ZC_CHECK_EQ (zc_guard_open (&f.pool, READER, zc_guard_index (&w), &r),
      ZC_ESTATE);
  fixture_teardown (&f);
}

static void
test_open_refuses_slot_not_among_holders (void)
{
  fixture f;
  zc_guard_t w, r;

  fixture_setup (&f, 2, 0);
  publish_frame (&f, &w, 10, UINT64_C (1) << READER);
  ZC_CHECK_EQ (zc_guard_open (&f.pool, OTHER, zc_guard_index (&w), &r),
      ZC_ESTATE);
  ZC_CHECK_EQ (r.mode, ZC_GUARD_NONE);
  fixture_teardown (&f);
}

static void
test_open_refuses_forged_header (void)
{
  fixture f;
  zc_guard_t w, r;
  struct zc_block_header *h;
  uint32_t idx;

  fixture_setup (&f, 2, 0);
  publish_frame (&f, &w, 10, UINT64_C (1) << READER);
  idx = zc_guard_index (&w);
  h = zc_pool_block_header (&f.pool, idx);

  h->magic ^= 0x100;
  ZC_CHECK_EQ (zc_guard_open (&f.pool, READER, idx, &r), ZC_EBADMAGIC);
  h->magic ^= 0x100;
  h->index = idx ^ 1;
  ZC_CHECK_EQ (zc_guard_open (&f.pool, READER, idx, &r), ZC_EBADMAGIC);
  h->index = idx;
  h->data_size = f.pool.capacity + 1;
  ZC_CHECK_EQ (zc_guard_open (&f.pool, READER, idx, &r), ZC_EBOUNDS);
  ZC_CHECK_EQ (r.mode, ZC_GUARD_NONE);

  /* The reference stays for the reader to drop by hand. */
  ZC_CHECK (atomic_load (&f.pool.ctl[idx].holders) & (1u << READER));
  ZC_CHECK_EQ (zc_pool_release (&f.pool, READER, idx), 0);
  ZC_CHECK_OK (zc_guard_release (&w));
  ZC_CHECK_EQ (n_free (&f.pool), 2);
  fixture_teardown (&f);
}

/* A writer may rewrite its header after a reader opened the block: the
 * size a reader gets is still bounded by the capacity. */
static void
test_read_size_stays_bounded_after_header_rewrite (void)
{
  fixture f;
  zc_guard_t w, r;
  const void *rdata;
  uint64_t size;

  fixture_setup (&f, 2, ZC_POOL_FLAG_CRC);
  publish_frame (&f, &w, 10, UINT64_C (1) << READER);
  ZC_CHECK_OK (zc_guard_open (&f.pool, READER, zc_guard_index (&w), &r));
  zc_pool_block_header (&f.pool, zc_guard_index (&w))->data_size = UINT64_MAX;
  ZC_CHECK_OK (zc_guard_map_read (&r, &rdata, &size));
  ZC_CHECK_EQ (size, f.pool.capacity);
  /* Reads capacity bytes, not UINT64_MAX: a mismatch, not a crash. */
  ZC_CHECK_EQ (zc_guard_verify_crc (&r), ZC_ECRC);
  fixture_teardown (&f);
}

/* ---- forget and release ---------------------------------------------- */

static void
test_forget_keeps_the_reference (void)
{
  fixture f;
  zc_guard_t w, r;
  uint32_t idx = UINT32_MAX, idx2 = UINT32_MAX;

  fixture_setup (&f, 2, 0);
  publish_frame (&f, &w, 10, UINT64_C (1) << READER);
  ZC_CHECK_OK (zc_guard_open (&f.pool, READER, zc_guard_index (&w), &r));
  ZC_CHECK_OK (zc_guard_forget (&r, &idx));
  ZC_CHECK_EQ (idx, zc_guard_index (&w));
  ZC_CHECK_EQ (r.mode, ZC_GUARD_NONE);
  ZC_CHECK_EQ (zc_guard_forget (&r, NULL), ZC_ESTATE);
  ZC_CHECK_OK (zc_guard_forget (&w, &idx2));
  ZC_CHECK_EQ (idx2, idx);
  ZC_CHECK_EQ (atomic_load (&f.pool.ctl[idx].holders),
      (1u << WRITER) | (1u << READER));

  ZC_CHECK_EQ (zc_pool_release (&f.pool, READER, idx), 0);
  ZC_CHECK_EQ (zc_pool_release (&f.pool, WRITER, idx), 1);
  ZC_CHECK_EQ (n_free (&f.pool), 2);
  fixture_teardown (&f);
}

static void
test_empty_guard_is_refused_or_ignored (void)
{
  zc_guard_t g = ZC_GUARD_INIT;
  void *data;
  const void *rdata;

  ZC_CHECK_EQ (zc_guard_release (&g), 0);
  ZC_CHECK_EQ (zc_guard_release (&g), 0);
  ZC_CHECK_EQ (zc_guard_map_write (&g, &data, NULL), ZC_ESTATE);
  ZC_CHECK_EQ (zc_guard_map_read (&g, &rdata, NULL), ZC_ESTATE);
  ZC_CHECK_EQ (zc_guard_publish (&g, 0, 0, 0, NULL), ZC_ESTATE);
  ZC_CHECK_EQ (zc_guard_verify_crc (&g), ZC_ESTATE);
  ZC_CHECK_EQ (zc_guard_forget (&g, NULL), ZC_ESTATE);
  ZC_CHECK (zc_guard_header (&g) == NULL);
  ZC_CHECK_EQ (zc_guard_release (NULL), -EINVAL);
}

static void
test_publish_by_evicted_writer_is_refused (void)
{
  fixture f;
  zc_guard_t w, other;

  fixture_setup (&f, 1, 0);
  ZC_CHECK_OK (zc_guard_acquire (&f.pool, WRITER, 0, &w));
  /* The writer was declared dead; the block went back and to another. */
  ZC_CHECK_EQ (zc_pool_reclaim_participant (&f.pool, WRITER), 1);
  ZC_CHECK_OK (zc_guard_acquire (&f.pool, OTHER, 0, &other));
  ZC_CHECK_EQ (zc_guard_publish (&w, 1, 0, UINT64_C (1) << READER, NULL),
      ZC_ESTATE);
  ZC_CHECK_EQ (w.mode, ZC_GUARD_NONE);
  ZC_CHECK_EQ (atomic_load (&f.pool.ctl[0].holders), 1u << OTHER);
  fixture_teardown (&f);
}

/* ---- L0 trailer and L1 circuit breaker ------------------------------- */

static void
test_overrun_is_caught_at_publish_and_trips_pool (void)
{
  fixture f;
  zc_guard_t g, g2;
  zc_pool_stats_t st;
  void *data;
  uint64_t cap;

  fixture_setup (&f, 2, 0);
  ZC_CHECK_OK (zc_guard_acquire (&f.pool, WRITER, 0, &g));
  ZC_CHECK_OK (zc_guard_map_write (&g, &data, &cap));
  memset (data, 0x55, cap + 4); /* four bytes too many */
  ZC_CHECK_EQ (zc_guard_publish (&g, cap, 0, UINT64_C (1) << READER, NULL),
      ZC_EOVERRUN);
  ZC_CHECK_EQ (g.mode, ZC_GUARD_NONE);

  zc_pool_get_stats (&f.pool, &st);
  ZC_CHECK_EQ (st.tripped, 1);
  ZC_CHECK_EQ (st.trip_count, 1);
  ZC_CHECK_EQ (st.n_free, 2);   /* the block was returned */
  ZC_CHECK_EQ (st.sequence, 0); /* and never published */
  ZC_CHECK_EQ (zc_guard_acquire (&f.pool, WRITER, 0, &g2), ZC_ETRIPPED);

  /* Once the owner resets the breaker the pool works again, the damaged
   * block included: its trailer is re-armed at the next acquire. */
  zc_pool_reset_trip (&f.pool);
  ZC_CHECK_OK (zc_guard_acquire (&f.pool, WRITER, 0, &g));
  ZC_CHECK_OK (zc_guard_acquire (&f.pool, WRITER, 0, &g2));
  ZC_CHECK_OK (zc_guard_publish (&g, 1, 0, 0, NULL));
  ZC_CHECK_OK (zc_guard_publish (&g2, 1, 0, 0, NULL));
  ZC_CHECK_OK (zc_guard_release (&g));
  ZC_CHECK_OK (zc_guard_release (&g2));
  fixture_teardown (&f);
}

static void
test_trailer_damaged_after_publish_is_caught_at_release (void)
{
  fixture f;
  zc_guard_t w, r;
  zc_pool_stats_t st;
  uint32_t idx;

  fixture_setup (&f, 2, 0);
  publish_frame (&f, &w, 10, UINT64_C (1) << READER);
  idx = zc_guard_index (&w);
  ZC_CHECK_OK (zc_guard_open (&f.pool, READER, idx, &r));
  zc_pool_block_trailer (&f.pool, idx)->magic = 0;

  ZC_CHECK_EQ (zc_guard_release (&r), ZC_EOVERRUN);
  ZC_CHECK_EQ (r.mode, ZC_GUARD_NONE);
  /* The reference was dropped all the same. */
  ZC_CHECK_EQ (atomic_load (&f.pool.ctl[idx].holders), 1u << WRITER);
  zc_pool_get_stats (&f.pool, &st);
  ZC_CHECK_EQ (st.tripped, 1);
  ZC_CHECK_EQ (st.trip_count, 1);

  ZC_CHECK_EQ (zc_guard_release (&w), ZC_EOVERRUN);
  ZC_CHECK_EQ (n_free (&f.pool), 2);
  fixture_teardown (&f);
}

/* ---- L2 CRC32C ------------------------------------------------------- */

/* Seed test TC-CRC-1: a byte flipped after publish is caught on demand. */
static void
test_TC_CRC_1_on_demand_crc_catches_flipped_byte (void)
{
  fixture f;
  zc_guard_t w, r;
  void *data;
  zc_pool_stats_t st;
  uint32_t idx;

  fixture_setup (&f, 2, ZC_POOL_FLAG_CRC);
  ZC_CHECK_OK (zc_guard_acquire (&f.pool, WRITER, 0, &w));
  idx = zc_guard_index (&w);
  ZC_CHECK_OK (zc_guard_map_write (&w, &data, NULL));
  for (int i = 0; i < 777; i++)
    ((uint8_t *) data)[i] = (uint8_t) (i ^ 0x5a);
  ZC_CHECK_OK (zc_guard_publish (&w, 777, 0, UINT64_C (1) << READER, NULL));
  ZC_CHECK_EQ (zc_pool_block_trailer (&f.pool, idx)->has_crc, 1);
  ZC_CHECK_EQ (zc_pool_block_trailer (&f.pool, idx)->crc32c,
      zc_crc32c (0, data, 777));

  ZC_CHECK_OK (zc_guard_open (&f.pool, READER, idx, &r));
  ZC_CHECK_EQ (zc_guard_verify_crc (&r), 0);
  ZC_CHECK_EQ (zc_guard_verify_crc (&w), 0);

  /* The writer keeps its old pointer and scribbles on a published frame. */
  ((uint8_t *) data)[400] ^= 0x01;
  ZC_CHECK_EQ (zc_guard_verify_crc (&r), ZC_ECRC);
  zc_pool_get_stats (&f.pool, &st);
  ZC_CHECK_EQ (st.tripped, 1);
  ZC_CHECK_EQ (st.trip_count, 1);
  ZC_CHECK_EQ (zc_guard_acquire (&f.pool, WRITER, 0, &w), ZC_ETRIPPED);
  fixture_teardown (&f);
}

static void
test_verify_crc_without_crc_flag_reports_no_data (void)
{
  fixture f;
  zc_guard_t w, r, g;

  fixture_setup (&f, 2, 0);
  publish_frame (&f, &w, 100, UINT64_C (1) << READER);
  ZC_CHECK_OK (zc_guard_open (&f.pool, READER, zc_guard_index (&w), &r));
  ZC_CHECK_EQ (zc_guard_verify_crc (&r), -ENODATA);
  /* Nothing to verify on a frame still being written. */
  ZC_CHECK_OK (zc_guard_acquire (&f.pool, WRITER, 0, &g));
  ZC_CHECK_EQ (zc_guard_verify_crc (&g), ZC_ESTATE);
  ZC_CHECK_EQ (n_free (&f.pool), 0);
  fixture_teardown (&f);
}

static void
test_crc32c_matches_published_check_values (void)
{
  static const uint8_t check[] = "123456789";
  uint8_t buf[32];
  uint32_t (*const impl[]) (uint32_t, const void *, uint64_t) = {
    zc_crc32c, zc_crc32c_sw, zc_crc32c_hw,
  };

  for (unsigned k = 0; k < 3; k++) {
    ZC_CHECK_EQ (impl[k] (0, check, 9), 0xE3069283u);
    ZC_CHECK_EQ (impl[k] (0, check, 0), 0);
    /* A CRC continues over a split buffer. */
    ZC_CHECK_EQ (impl[k] (impl[k] (0, check, 4), check + 4, 5), 0xE3069283u);
    /* RFC 3720 (iSCSI) B.4 test vectors. */
    memset (buf, 0, sizeof (buf));
    ZC_CHECK_EQ (impl[k] (0, buf, 32), 0x8A9136AAu);
    memset (buf, 0xff, sizeof (buf));
    ZC_CHECK_EQ (impl[k] (0, buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
      buf[i] = (uint8_t) i;
    ZC_CHECK_EQ (impl[k] (0, buf, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
      buf[i] = (uint8_t) (31 - i);
    ZC_CHECK_EQ (impl[k] (0, buf, 32), 0x113FDB5Cu);
  }
}

static uint64_t
xorshift (uint64_t * s)
{
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

#define RANDOM_MAX 8192

static void
test_crc32c_software_and_hardware_agree_on_random_data (void)
{
  uint8_t *buf = malloc (RANDOM_MAX + 8);
  uint64_t seed = 0x9e3779b97f4a7c15u;

  ZC_CHECK (buf != NULL);
  if (!zc_crc32c_hw_supported ())
    printf ("# no CRC32 instruction here: hardware path is the software one\n");
  for (int i = 0; i < RANDOM_MAX + 8; i++)
    buf[i] = (uint8_t) xorshift (&seed);
  for (int round = 0; round < 2000; round++) {
    uint64_t off = xorshift (&seed) % 8;        /* unaligned starts too */
    uint64_t len =
        round < 64 ? (uint64_t) round : xorshift (&seed) % RANDOM_MAX;
    uint32_t init = (uint32_t) xorshift (&seed);
    uint32_t sw = zc_crc32c_sw (init, buf + off, len);

    ZC_CHECK_EQ (zc_crc32c_hw (init, buf + off, len), sw);
    ZC_CHECK_EQ (zc_crc32c (init, buf + off, len), sw);
  }
  free (buf);
}

static const zc_test_case tests[] = {
  ZC_TEST (test_write_guard_maps_capacity_for_writing),
  ZC_TEST (test_read_guard_refuses_write_mapping_and_reads_published_size),
  ZC_TEST (test_publish_larger_than_capacity_is_refused),
  ZC_TEST (test_publish_stamps_header_and_lets_readers_open),
  ZC_TEST (test_abandoned_write_guard_returns_its_block),
  ZC_TEST (test_open_refuses_out_of_range_index),
  ZC_TEST (test_open_refuses_unpublished_block),
  ZC_TEST (test_open_refuses_slot_not_among_holders),
  ZC_TEST (test_open_refuses_forged_header),
  ZC_TEST (test_read_size_stays_bounded_after_header_rewrite),
  ZC_TEST (test_forget_keeps_the_reference),
  ZC_TEST (test_empty_guard_is_refused_or_ignored),
  ZC_TEST (test_publish_by_evicted_writer_is_refused),
  ZC_TEST (test_overrun_is_caught_at_publish_and_trips_pool),
  ZC_TEST (test_trailer_damaged_after_publish_is_caught_at_release),
  ZC_TEST (test_TC_CRC_1_on_demand_crc_catches_flipped_byte),
  ZC_TEST (test_verify_crc_without_crc_flag_reports_no_data),
  ZC_TEST (test_crc32c_matches_published_check_values),
  ZC_TEST (test_crc32c_software_and_hardware_agree_on_random_data),
};

int
main (int argc, char **argv)
{
  return zc_test_main (argc, argv, tests, ZC_N_TESTS (tests));
}

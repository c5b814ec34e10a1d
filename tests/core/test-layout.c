/* Tests of lib/layout.c: planning, the three construction phases, and
 * validation of a header that every participant could have scribbled on.
 * Each malformation has its own test and its own code; the last test
 * throws thousands of random corruptions at the validator (run it under
 * AddressSanitizer: the metadata buffer is exactly meta_size bytes, so any
 * read past it is caught). */
#include <stdint.h>

#include <zc/layout.h>
#include <zc/segment.h>

#include "zc-test.h"

/* A layout like a region's: heartbeat (meta only) and two pools (meta and
 * data), so that both meta and data ranges can be made to overlap. */
static const struct zc_component_spec test_specs[] = {
  {ZC_COMPONENT_HEARTBEAT, 64 + 4 * 64, 0},
  {ZC_COMPONENT_POOL, 128 + 8 * 64, 8 * 1024},
  {ZC_COMPONENT_POOL, 100, 5000},
};

#define N_SPECS 3u

typedef struct
{
  struct zc_layout_plan plan;
  uint8_t *meta;                /* exactly plan.meta_size bytes */
  struct zc_region_header *hdr;
} fixture;

/* Phases 1 to 3 on a heap buffer: a valid, READY layout. */
static void
fixture_setup_unmarked (fixture * f)
{
  ZC_CHECK_OK (zc_layout_plan_components (test_specs, N_SPECS, &f->plan));
  f->meta = calloc (1, f->plan.meta_size);
  ZC_CHECK (f->meta != NULL);
  zc_layout_write_header (f->meta, &f->plan);
  f->hdr = (struct zc_region_header *) f->meta;
}

static void
fixture_setup (fixture * f)
{
  fixture_setup_unmarked (f);
  for (int i = 0; i < (int) N_SPECS; i++)
    zc_layout_mark_constructed (f->meta, i);
  zc_layout_mark_constructed (f->meta, -1);
}

static int
fixture_validate (const fixture * f)
{
  return zc_layout_validate (f->meta, f->plan.meta_size, f->plan.data_size);
}

static void
fixture_teardown (fixture * f)
{
  free (f->meta);
}

static void
test_valid_plan_validates (void)
{
  fixture f;

  fixture_setup (&f);
  ZC_CHECK_OK (fixture_validate (&f));
  fixture_teardown (&f);
}

static void
test_plan_places_components_aligned_behind_the_header (void)
{
  struct zc_layout_plan plan;
  uint64_t meta_end = 512, data_end = 0;

  ZC_CHECK_OK (zc_layout_plan_components (test_specs, N_SPECS, &plan));
  ZC_CHECK_EQ (plan.n_components, N_SPECS);
  ZC_CHECK_EQ (plan.components[0].meta_offset, 512);
  for (unsigned i = 0; i < N_SPECS; i++) {
    const struct zc_component_entry *e = &plan.components[i];

    ZC_CHECK_EQ (e->kind, test_specs[i].kind);
    ZC_CHECK_EQ (e->meta_offset % ZC_LAYOUT_ALIGN, 0);
    ZC_CHECK (e->meta_offset >= meta_end);
    ZC_CHECK_EQ (e->meta_size, test_specs[i].meta_size);
    meta_end = e->meta_offset + e->meta_size;
    ZC_CHECK_EQ (e->data_size, test_specs[i].data_size);
    if (e->data_size > 0) {
      ZC_CHECK_EQ (e->data_offset % 4096, 0);
      ZC_CHECK (e->data_offset >= data_end);
      data_end = e->data_offset + e->data_size;
    } else {
      ZC_CHECK_EQ (e->data_offset, 0);
    }
  }
  ZC_CHECK_EQ (plan.meta_size, meta_end);
  ZC_CHECK_EQ (plan.data_size, data_end);
  /* Third component's data starts on the page after the second's 8 KiB. */
  ZC_CHECK_EQ (plan.components[2].data_offset, 8192);
}

static void
test_plan_refuses_bad_specs (void)
{
  struct zc_component_spec specs[ZC_MAX_COMPONENTS + 1];
  struct zc_layout_plan plan;

  for (unsigned i = 0; i <= ZC_MAX_COMPONENTS; i++)
    specs[i] = test_specs[0];
  ZC_CHECK_EQ (zc_layout_plan_components (specs, 0, &plan), -EINVAL);
  ZC_CHECK_EQ (zc_layout_plan_components (specs, ZC_MAX_COMPONENTS + 1,
          &plan), -EINVAL);
  ZC_CHECK_OK (zc_layout_plan_components (specs, ZC_MAX_COMPONENTS, &plan));
  ZC_CHECK_EQ (zc_layout_plan_components (NULL, 1, &plan), -EINVAL);
  ZC_CHECK_EQ (zc_layout_plan_components (specs, 1, NULL), -EINVAL);

  specs[0].kind = ZC_COMPONENT_NONE;
  ZC_CHECK_EQ (zc_layout_plan_components (specs, 1, &plan), -EINVAL);
  specs[0].kind = ZC_COMPONENT_KIND_LAST;
  ZC_CHECK_EQ (zc_layout_plan_components (specs, 1, &plan), -EINVAL);
  specs[0].kind = ZC_COMPONENT_POOL;
  specs[0].meta_size = 0;
  ZC_CHECK_EQ (zc_layout_plan_components (specs, 1, &plan), -EINVAL);
}

static void
test_plan_above_one_gib_is_too_big (void)
{
  struct zc_component_spec specs[2] = {
    {ZC_COMPONENT_POOL, 64, ZC_SEGMENT_MAX_SIZE / 2},
    {ZC_COMPONENT_POOL, 64, ZC_SEGMENT_MAX_SIZE / 2},
  };
  struct zc_layout_plan plan;

  /* Each fits, the sum with the header does not. */
  ZC_CHECK_OK (zc_layout_plan_components (specs, 1, &plan));
  ZC_CHECK_EQ (zc_layout_plan_components (specs, 2, &plan), -EFBIG);
  specs[0].data_size = UINT64_MAX;      /* would wrap */
  ZC_CHECK_EQ (zc_layout_plan_components (specs, 1, &plan), -EFBIG);
  specs[0].data_size = 0;
  specs[0].meta_size = UINT64_MAX - 100;
  ZC_CHECK_EQ (zc_layout_plan_components (specs, 1, &plan), -EFBIG);
}

static void
test_truncated_meta_is_refused (void)
{
  fixture f;

  fixture_setup (&f);
  ZC_CHECK_EQ (zc_layout_validate (f.meta, 511, f.plan.data_size),
      ZC_ETRUNCATED);
  ZC_CHECK_EQ (zc_layout_validate (f.meta, 0, f.plan.data_size), ZC_ETRUNCATED);
  /* Shorter than the header says, in either file. */
  ZC_CHECK_EQ (zc_layout_validate (f.meta, f.plan.meta_size - 1,
          f.plan.data_size), ZC_ETRUNCATED);
  ZC_CHECK_EQ (zc_layout_validate (f.meta, f.plan.meta_size,
          f.plan.data_size - 1), ZC_ETRUNCATED);
  fixture_teardown (&f);
}

static void
test_files_larger_than_recorded_are_refused (void)
{
  fixture f;
  uint8_t *bigger;

  fixture_setup (&f);
  bigger = calloc (1, f.plan.meta_size + 64);
  ZC_CHECK (bigger != NULL);
  memcpy (bigger, f.meta, f.plan.meta_size);
  ZC_CHECK_EQ (zc_layout_validate (bigger, f.plan.meta_size + 64,
          f.plan.data_size), ZC_EBOUNDS);
  ZC_CHECK_EQ (zc_layout_validate (f.meta, f.plan.meta_size,
          f.plan.data_size + 4096), ZC_EBOUNDS);
  free (bigger);
  fixture_teardown (&f);
}

static void
test_wrong_magic_is_refused (void)
{
  fixture f;

  fixture_setup (&f);
  f.hdr->magic ^= 1;
  ZC_CHECK_EQ (fixture_validate (&f), ZC_EBADMAGIC);
  memset (f.meta, 0, 8);
  ZC_CHECK_EQ (fixture_validate (&f), ZC_EBADMAGIC);
  fixture_teardown (&f);
}

static void
test_wrong_version_is_refused (void)
{
  fixture f;

  fixture_setup (&f);
  f.hdr->version = ZC_LAYOUT_VERSION + 1;
  ZC_CHECK_EQ (fixture_validate (&f), ZC_EVERSION);
  f.hdr->version = ZC_LAYOUT_VERSION;
  f.hdr->header_size = 256;
  ZC_CHECK_EQ (fixture_validate (&f), ZC_EVERSION);
  fixture_teardown (&f);
}

static void
test_out_of_bounds_offset_is_refused (void)
{
  fixture f;
  struct zc_component_entry *e;

  fixture_setup (&f);
  e = &f.hdr->components[2];
  e->meta_offset = (f.plan.meta_size + 63) & ~UINT64_C (63);
  ZC_CHECK_EQ (fixture_validate (&f), ZC_EBOUNDS);
  fixture_teardown (&f);

  fixture_setup (&f);
  e = &f.hdr->components[2];
  e->data_offset += 4096;       /* last byte now past the data file */
  ZC_CHECK_EQ (fixture_validate (&f), ZC_EBOUNDS);
  fixture_teardown (&f);

  fixture_setup (&f);
  f.hdr->components[0].meta_size += 64 * 1024;
  ZC_CHECK_EQ (fixture_validate (&f), ZC_EBOUNDS);
  fixture_teardown (&f);
}

static void
test_overflowing_offset_plus_size_is_refused (void)
{
  fixture f;
  struct zc_component_entry *e;

  /* offset + size wraps to a small number that would "fit". */
  fixture_setup (&f);
  e = &f.hdr->components[1];
  e->meta_offset = UINT64_MAX & ~UINT64_C (4095);
  e->meta_size = UINT64_C (1) << 12;
  ZC_CHECK_EQ (fixture_validate (&f), ZC_EBOUNDS);
  fixture_teardown (&f);

  fixture_setup (&f);
  e = &f.hdr->components[1];
  e->meta_size = UINT64_MAX - 1000;
  ZC_CHECK_EQ (fixture_validate (&f), ZC_EBOUNDS);
  fixture_teardown (&f);

  fixture_setup (&f);
  e = &f.hdr->components[1];
  e->data_offset = UINT64_MAX & ~UINT64_C (4095);
  e->data_size = 8192;
  ZC_CHECK_EQ (fixture_validate (&f), ZC_EBOUNDS);
  fixture_teardown (&f);
}

static void
test_overlapping_components_are_refused (void)
{
  fixture f;

  /* Two components sharing metadata. */
  fixture_setup (&f);
  f.hdr->components[2].meta_offset = f.hdr->components[1].meta_offset + 64;
  ZC_CHECK_EQ (fixture_validate (&f), ZC_EBOUNDS);
  fixture_teardown (&f);

  /* Two pools sharing blocks. */
  fixture_setup (&f);
  f.hdr->components[2].data_offset = 4096;
  ZC_CHECK_EQ (fixture_validate (&f), ZC_EBOUNDS);
  fixture_teardown (&f);

  /* A component over the region header itself. */
  fixture_setup (&f);
  f.hdr->components[0].meta_offset = 0;
  ZC_CHECK_EQ (fixture_validate (&f), ZC_EBOUNDS);
  f.hdr->components[0].meta_offset = 448;
  ZC_CHECK_EQ (fixture_validate (&f), ZC_EBOUNDS);
  fixture_teardown (&f);
}

static void
test_misaligned_offset_is_refused (void)
{
  fixture f;

  /* Moved by 8 bytes but still inside the file and clear of the others:
   * only the alignment is wrong. */
  fixture_setup (&f);
  f.hdr->components[2].meta_offset += 8;
  f.hdr->components[2].meta_size -= 8;
  ZC_CHECK_EQ (fixture_validate (&f), ZC_EBOUNDS);
  fixture_teardown (&f);

  fixture_setup (&f);
  f.hdr->components[2].data_offset += 64;
  f.hdr->components[2].data_size -= 64; /* still inside the file */
  ZC_CHECK_EQ (fixture_validate (&f), ZC_EBOUNDS);
  fixture_teardown (&f);

  /* A component without data must say so with a zero offset. */
  fixture_setup (&f);
  f.hdr->components[0].data_offset = 4096;
  ZC_CHECK_EQ (fixture_validate (&f), ZC_EBOUNDS);
  fixture_teardown (&f);
}

static void
test_too_many_components_is_refused (void)
{
  fixture f;

  fixture_setup (&f);
  f.hdr->n_components = ZC_MAX_COMPONENTS + 1;
  ZC_CHECK_EQ (fixture_validate (&f), ZC_EBOUNDS);
  f.hdr->n_components = UINT32_MAX;
  ZC_CHECK_EQ (fixture_validate (&f), ZC_EBOUNDS);
  fixture_teardown (&f);
}

static void
test_unknown_kind_is_refused (void)
{
  fixture f;

  fixture_setup (&f);
  f.hdr->components[1].kind = ZC_COMPONENT_KIND_LAST;
  ZC_CHECK_EQ (fixture_validate (&f), ZC_EKIND);
  f.hdr->components[1].kind = ZC_COMPONENT_NONE;
  ZC_CHECK_EQ (fixture_validate (&f), ZC_EKIND);
  f.hdr->components[1].kind = 0xdeadbeef;
  ZC_CHECK_EQ (fixture_validate (&f), ZC_EKIND);
  fixture_teardown (&f);
}

static void
test_not_ready_is_refused (void)
{
  fixture f;

  /* Phase 2 done, phase 3 not started. */
  fixture_setup_unmarked (&f);
  ZC_CHECK_EQ (fixture_validate (&f), ZC_ENOTREADY);
  /* Every component built, READY not yet set. */
  for (int i = 0; i < (int) N_SPECS; i++)
    zc_layout_mark_constructed (f.meta, i);
  ZC_CHECK_EQ (fixture_validate (&f), ZC_ENOTREADY);
  zc_layout_mark_constructed (f.meta, -1);
  ZC_CHECK_OK (fixture_validate (&f));
  /* The creator's teardown: READY cleared first. */
  zc_layout_mark_destructed (f.meta, -1);
  ZC_CHECK_EQ (fixture_validate (&f), ZC_ENOTREADY);
  fixture_teardown (&f);
}

static void
test_ready_with_a_component_bit_missing_is_refused (void)
{
  fixture f;

  fixture_setup (&f);
  zc_layout_mark_destructed (f.meta, 1);
  ZC_CHECK (atomic_load (&f.hdr->construction) & ZC_CONSTRUCTION_READY);
  ZC_CHECK_EQ (fixture_validate (&f), ZC_ENOTREADY);
  zc_layout_mark_constructed (f.meta, 1);
  ZC_CHECK_OK (fixture_validate (&f));
  /* Out-of-range indices are ignored, not undefined shifts. */
  zc_layout_mark_constructed (f.meta, 31);
  zc_layout_mark_destructed (f.meta, -2);
  ZC_CHECK_EQ (atomic_load (&f.hdr->construction), ZC_CONSTRUCTION_READY | 0x7);
  fixture_teardown (&f);
}

static void
test_find_returns_components_by_kind_and_rank (void)
{
  fixture f;

  fixture_setup (&f);
  ZC_CHECK_EQ (zc_layout_find (f.meta, ZC_COMPONENT_HEARTBEAT, 0), 0);
  ZC_CHECK_EQ (zc_layout_find (f.meta, ZC_COMPONENT_POOL, 0), 1);
  ZC_CHECK_EQ (zc_layout_find (f.meta, ZC_COMPONENT_POOL, 1), 2);
  ZC_CHECK_EQ (zc_layout_find (f.meta, ZC_COMPONENT_POOL, 2), ZC_EKIND);
  ZC_CHECK_EQ (zc_layout_find (f.meta, ZC_COMPONENT_MSGRING, 0), ZC_EKIND);
  /* A count rewritten after validation does not walk off the table. */
  f.hdr->n_components = UINT32_MAX;
  ZC_CHECK_EQ (zc_layout_find (f.meta, ZC_COMPONENT_QUEUES, 0), ZC_EKIND);
  fixture_teardown (&f);
}

/* xorshift64*: a fixed seed makes every run see the same corruptions. */
static uint64_t
next_random (uint64_t * state)
{
  uint64_t x = *state;

  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return x * UINT64_C (0x2545f4914f6cdd1d);
}

/* An independent check of what validation promises: every range of an
 * accepted table lies inside the files, behind the header, disjoint. */
static void
check_accepted_layout_is_sound (const fixture * f)
{
  const struct zc_region_header *h = f->hdr;
  __uint128_t meta_size = f->plan.meta_size, data_size = f->plan.data_size;

  ZC_CHECK (h->n_components <= ZC_MAX_COMPONENTS);
  for (uint32_t i = 0; i < h->n_components; i++) {
    const struct zc_component_entry *a = &h->components[i];

    ZC_CHECK (a->kind > 0 && a->kind < ZC_COMPONENT_KIND_LAST);
    ZC_CHECK (a->meta_offset >= 512);
    ZC_CHECK_EQ (a->meta_offset % ZC_LAYOUT_ALIGN, 0);
    ZC_CHECK_EQ (a->data_offset % 4096, 0);
    ZC_CHECK ((__uint128_t) a->meta_offset + a->meta_size <= meta_size);
    ZC_CHECK ((__uint128_t) a->data_offset + a->data_size <= data_size);
    for (uint32_t j = 0; j < i; j++) {
      const struct zc_component_entry *b = &h->components[j];
      ZC_CHECK (a->meta_offset + a->meta_size <= b->meta_offset ||
          b->meta_offset + b->meta_size <= a->meta_offset);
    }
  }
}

static void
test_hostile_bytes_never_crash (void)
{
  static const uint64_t words[] = {
    0, 1, 63, 64, 511, 512, 4096, UINT32_MAX, (uint64_t) INT64_MAX,
    UINT64_MAX, UINT64_MAX - 63, UINT64_C (1) << 30, UINT64_C (1) << 63,
  };
  uint64_t state = UINT64_C (0x5eed2024c0ffee11);
  unsigned accepted = 0, refused = 0;
  fixture f;
  uint8_t *pristine;

  fixture_setup (&f);
  pristine = malloc (f.plan.meta_size);
  ZC_CHECK (pristine != NULL);
  memcpy (pristine, f.meta, f.plan.meta_size);

  for (int round = 0; round < 20000; round++) {
    unsigned n_hits = 1 + next_random (&state) % 3;
    int ret;

    memcpy (f.meta, pristine, f.plan.meta_size);
    for (unsigned k = 0; k < n_hits; k++) {
      uint64_t r = next_random (&state);
      if (r & 1) {
        /* A single byte anywhere in the header. */
        f.meta[(r >> 8) % 512] = (uint8_t) (r >> 32);
      } else {
        /* An aligned 64-bit word: a random value or a nasty one. */
        uint64_t v = (r & 2) ? next_random (&state) :
            words[(r >> 40) % (sizeof (words) / sizeof (words[0]))];
        memcpy (f.meta + ((r >> 8) % 64) * 8, &v, sizeof (v));
      }
    }
    ret = fixture_validate (&f);
    ZC_CHECK (ret <= 0);
    if (ret == 0) {
      check_accepted_layout_is_sound (&f);
      accepted++;
    } else {
      ZC_CHECK (ret == ZC_ETRUNCATED || ret == ZC_EBADMAGIC ||
          ret == ZC_EVERSION || ret == ZC_EBOUNDS || ret == ZC_EKIND ||
          ret == ZC_ENOTREADY);
      refused++;
    }
  }
  /* Both outcomes occurred: the corruptions were neither all harmless
   * (reserved bytes) nor all caught by the magic check alone. */
  ZC_CHECK (accepted > 100);
  ZC_CHECK (refused > 100);
  free (pristine);
  fixture_teardown (&f);
}

static void
test_bad_arguments_are_invalid (void)
{
  ZC_CHECK_EQ (zc_layout_validate (NULL, 4096, 0), -EINVAL);
  ZC_CHECK_EQ (zc_layout_find (NULL, ZC_COMPONENT_POOL, 0), -EINVAL);
  zc_layout_write_header (NULL, NULL);
  zc_layout_mark_constructed (NULL, 0);
  zc_layout_mark_destructed (NULL, 0);
}

static const zc_test_case tests[] = {
  ZC_TEST (test_valid_plan_validates),
  ZC_TEST (test_plan_places_components_aligned_behind_the_header),
  ZC_TEST (test_plan_refuses_bad_specs),
  ZC_TEST (test_plan_above_one_gib_is_too_big),
  ZC_TEST (test_truncated_meta_is_refused),
  ZC_TEST (test_files_larger_than_recorded_are_refused),
  ZC_TEST (test_wrong_magic_is_refused),
  ZC_TEST (test_wrong_version_is_refused),
  ZC_TEST (test_out_of_bounds_offset_is_refused),
  ZC_TEST (test_overflowing_offset_plus_size_is_refused),
  ZC_TEST (test_overlapping_components_are_refused),
  ZC_TEST (test_misaligned_offset_is_refused),
  ZC_TEST (test_too_many_components_is_refused),
  ZC_TEST (test_unknown_kind_is_refused),
  ZC_TEST (test_not_ready_is_refused),
  ZC_TEST (test_ready_with_a_component_bit_missing_is_refused),
  ZC_TEST (test_find_returns_components_by_kind_and_rank),
  ZC_TEST (test_hostile_bytes_never_crash),
  ZC_TEST (test_bad_arguments_are_invalid),
};

int
main (int argc, char **argv)
{
  return zc_test_main (argc, argv, tests, ZC_N_TESTS (tests));
}

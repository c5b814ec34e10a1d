/* bench-pool: blocks per second through acquire -> publish -> release in
 * one process (no readers: the pool's own cost), and with one reader
 * thread taking each block's reference (the reference hand-over cost).
 * Cross-process figures come from examples/pool-writer (see README).
 *
 *   bench-pool [CYCLES]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <zc/zc.h>

int
main (int argc, char **argv)
{
  uint64_t cycles = argc > 1 ? strtoull (argv[1], NULL, 10) : 2000000;
  zc_region_config_t config = {.n_slots = 2,
    .pool = {.block_size = 4096,.n_blocks = 16}
  };
  zc_region_t *region;
  int r = zc_region_create ("bench-pool", &config, &region);
  if (r < 0) {
    fprintf (stderr, "bench-pool: %s\n", zc_strerror (r));
    return 1;
  }
  zc_pool_t *pool = zc_region_pool (region);
  unsigned w, rd;
  zc_heartbeat_allocate (zc_region_heartbeat (region), &w);
  zc_heartbeat_allocate (zc_region_heartbeat (region), &rd);

  for (int pass = 0; pass < 2; pass++) {
    uint64_t readers = pass ? UINT64_C (1) << rd : 0;
    uint64_t t0 = zc_now_ns ();
    for (uint64_t i = 0; i < cycles; i++) {
      zc_guard_t g = ZC_GUARD_INIT, rg = ZC_GUARD_INIT;
      if (zc_guard_acquire (pool, w, 0, &g) < 0
          || zc_guard_publish (&g, 64, 0, readers, NULL) < 0)
        return 1;
      if (readers && zc_guard_open (pool, rd, zc_guard_index (&g), &rg) < 0)
        return 1;
      zc_guard_release (&g);
      zc_guard_release (&rg);
    }
    double s = (double) (zc_now_ns () - t0) / 1e9;
    printf ("%-34s %12.0f blocks/s  %7.1f ns/block\n",
        pass ? "acquire+publish+open+2x release" :
        "acquire+publish+release", (double) cycles / s, s * 1e9 / (double) cycles);
  }
  zc_region_close (region);
  return 0;
}

/* A frame whose every byte can be checked by its receiver.
 *
 * The first 8 bytes carry the frame number; the rest is a xorshift64
 * stream seeded from it.  A receiver that finds the right stream knows the
 * frame arrived whole and was not overwritten while it read it.
 * Shared by the examples and the multi-process tests.
 */
#ifndef ZC_FRAME_PATTERN_H
#define ZC_FRAME_PATTERN_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t
frame_pattern_next (uint64_t * x)
{
  *x ^= *x << 13;
  *x ^= *x >> 7;
  *x ^= *x << 17;
  return *x;
}

/* Fills @size bytes (at least 8) as frame number @n. */
static inline void
frame_pattern_fill (uint8_t * p, uint64_t size, uint64_t n)
{
  uint64_t x = n * UINT64_C (0x9e3779b97f4a7c15) + 1;
  memcpy (p, &n, sizeof (n));
  for (uint64_t off = 8; off < size; off += 8) {
    uint64_t v = frame_pattern_next (&x);
    memcpy (p + off, &v, size - off < 8 ? size - off : 8);
  }
}

/* Checks a frame written by frame_pattern_fill(); stores its number. */
static inline bool
frame_pattern_check (const uint8_t * p, uint64_t size, uint64_t * n)
{
  if (size < 8)
    return false;
  memcpy (n, p, sizeof (*n));
  uint64_t x = *n * UINT64_C (0x9e3779b97f4a7c15) + 1;
  for (uint64_t off = 8; off < size; off += 8) {
    uint64_t v = frame_pattern_next (&x);
    if (memcmp (p + off, &v, size - off < 8 ? size - off : 8) != 0)
      return false;
  }
  return true;
}

#endif /* ZC_FRAME_PATTERN_H */

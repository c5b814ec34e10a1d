/* gst-zerocopy core library: CRC32C (Castagnoli), the L2 check of guards.
 *
 * CRC32C rather than zlib's CRC32 because x86-64 computes it in hardware
 * (SSE4.2 `crc32`, 8 bytes per instruction) and ARMv8 has it too: verifying
 * a whole video frame stays cheap enough to turn on in debug runs.
 *
 * Two implementations, one result:
 *   - portable: slice-by-8, eight 256-entry tables, 8 bytes per step;
 *   - SSE4.2: compiled with a per-function target attribute so the rest of
 *     the library keeps the baseline ISA, and used only when the CPU says
 *     it has the instruction.
 * The choice and the tables are made once, in a load-time constructor,
 * before any thread of the program can call in: afterwards everything here
 * is read-only and may be used from any thread without synchronization.
 *
 * Conventions are the usual ones (reflected polynomial 0x82F63B78, initial
 * and final inversion), so crc32c ("123456789") is 0xE3069283 and a CRC
 * can be continued: zc_crc32c (zc_crc32c (0, a, n), b, m) is the CRC of a
 * followed by b.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <zc/guard.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define ZC_CRC32C_HAVE_SSE42 1
#include <nmmintrin.h>
#else
#define ZC_CRC32C_HAVE_SSE42 0
#endif

#define CRC32C_POLY UINT32_C (0x82f63b78)      /* reflected */

static uint32_t crc_table[8][256];
static bool crc_hw;

static void __attribute__((constructor))
crc32c_init (void)
{
  uint32_t i, k;

  for (i = 0; i < 256; i++) {
    uint32_t c = i;

    for (k = 0; k < 8; k++)
      c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
    crc_table[0][i] = c;
  }
  /* crc_table[k][i]: the CRC of byte i followed by k zero bytes, so that
   * eight table lookups fold eight bytes at once. */
  for (k = 1; k < 8; k++)
    for (i = 0; i < 256; i++)
      crc_table[k][i] = (crc_table[k - 1][i] >> 8) ^
          crc_table[0][crc_table[k - 1][i] & 0xff];

#if ZC_CRC32C_HAVE_SSE42
  __builtin_cpu_init ();
  crc_hw = __builtin_cpu_supports ("sse4.2");
#endif
}

uint32_t
zc_crc32c_sw (uint32_t crc, const void *data, uint64_t len)
{
  const uint8_t *p = data;
  uint32_t c = ~crc;

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  while (len >= 8) {
    uint64_t w;

    memcpy (&w, p, 8);          /* unaligned-safe; one load once optimized */
    w ^= c;
    c = crc_table[7][w & 0xff] ^ crc_table[6][(w >> 8) & 0xff] ^
        crc_table[5][(w >> 16) & 0xff] ^ crc_table[4][(w >> 24) & 0xff] ^
        crc_table[3][(w >> 32) & 0xff] ^ crc_table[2][(w >> 40) & 0xff] ^
        crc_table[1][(w >> 48) & 0xff] ^ crc_table[0][w >> 56];
    p += 8;
    len -= 8;
  }
#endif
  while (len-- > 0)
    c = crc_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
  return ~c;
}

#if ZC_CRC32C_HAVE_SSE42
static uint32_t __attribute__((target ("sse4.2")))
crc32c_sse42 (uint32_t crc, const void *data, uint64_t len)
{
  const uint8_t *p = data;
  uint64_t c = ~crc;

  /* Aligned 8-byte loads from here on: an unaligned one may cross a cache
   * line and cost a second access. */
  while (len > 0 && ((uintptr_t) p & 7) != 0) {
    c = _mm_crc32_u8 ((uint32_t) c, *p++);
    len--;
  }
  while (len >= 8) {
    uint64_t w;

    memcpy (&w, p, 8);
    c = _mm_crc32_u64 (c, w);
    p += 8;
    len -= 8;
  }
  while (len-- > 0)
    c = _mm_crc32_u8 ((uint32_t) c, *p++);
  return ~(uint32_t) c;
}
#endif

bool
zc_crc32c_hw_supported (void)
{
  return crc_hw;
}

uint32_t
zc_crc32c_hw (uint32_t crc, const void *data, uint64_t len)
{
#if ZC_CRC32C_HAVE_SSE42
  if (crc_hw)
    return crc32c_sse42 (crc, data, len);
#endif
  return zc_crc32c_sw (crc, data, len);
}

uint32_t
zc_crc32c (uint32_t crc, const void *data, uint64_t len)
{
  if (data == NULL)
    return crc;
  return zc_crc32c_hw (crc, data, len);
}

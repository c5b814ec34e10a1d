/* gst-zerocopy core library: error strings.
 *
 * libzc reports failures as negative numbers: errno values as they are,
 * and the ZC_E* codes of error.h for what errno cannot say.  This file
 * turns either into text a user can act on.
 */
#include <string.h>

#include <zc/error.h>

/* In the order of enum zc_error, from ZC_ERROR_BASE + 1 on. */
static const char *const zc_error_strings[] = {
  "bad magic number: not a gst-zerocopy segment, or overwritten",
  "unsupported layout or protocol version",
  "segment is smaller than its header says (truncated)",
  "offset, size or count out of bounds of the segment",
  "segment construction is not finished",
  "write access through a read-only guard",
  "pool stopped by its circuit breaker after corruption was detected",
  "block trailer damaged: data was written past the end of a block",
  "CRC32C mismatch: block data changed after it was published",
  "block or slot is not in the state this operation needs",
  "segment file is not sealed against resizing",
  "unknown or unexpected component kind",
  "evicted by the producer: this consumer stalled past the heartbeat timeout",
  "the producer refused this consumer",
  "the socket belongs to a channel of another name",
};

_Static_assert (sizeof (zc_error_strings) / sizeof (zc_error_strings[0]) ==
    (unsigned) (-(ZC_ERROR_LAST) - ZC_ERROR_BASE - 1),
    "every ZC_E* code has a string");

const char *
zc_strerror (int code)
{
  if (code == 0)
    return "success";
  if (code > 0)
    return "not an error code";
  if (code < -ZC_ERROR_BASE) {
    unsigned i = (unsigned) (-code - ZC_ERROR_BASE - 1);
    if (i < sizeof (zc_error_strings) / sizeof (zc_error_strings[0]))
      return zc_error_strings[i];
    return "unknown gst-zerocopy error";
  }
  /* strerror() may return a buffer shared between threads for unknown
   * values; every value below ZC_ERROR_BASE that we return is a known
   * errno, so the static table entry is what comes back. */
  return strerror (-code);
}

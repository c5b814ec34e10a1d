/* The picture gst-send draws and gst-receive checks, byte by byte.
 *
 * Plane 0 is a diagonal ramp moving with the frame number, the chroma
 * planes ramps of their own; the first 8 bytes of plane 0 carry the frame
 * number.  The checksum folds every visible byte (64-bit FNV-1a), so both
 * ends can print the same number for the same stream.
 */
#ifndef GST_PATTERN_H
#define GST_PATTERN_H

#include <glib.h>

#define FNV_OFFSET G_GUINT64_CONSTANT (0xcbf29ce484222325)
#define FNV_PRIME G_GUINT64_CONSTANT (0x100000001b3)

/* The byte at (@x, @y) of plane @plane of frame @n. */
static inline guint8
pattern_byte (guint plane, guint x, guint y, guint64 n)
{
  switch (plane) {
    case 0:
      return (guint8) (x + y + 2 * n);
    case 1:
      return (guint8) (x + 3 * n);
    default:
      return (guint8) (y + 5 * n);
  }
}

#endif /* GST_PATTERN_H */

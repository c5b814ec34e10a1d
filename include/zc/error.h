/* gst-zerocopy core library: error codes.
 *
 * Every libzc function that can fail returns an int: 0 (or a non-negative
 * value where documented) on success, a negative code on failure.  Plain
 * system failures are reported as negative errno values (-EINVAL, -ENOMEM,
 * -ETIMEDOUT, ...); failures that errno has no word for use the ZC_E*
 * codes below, which live far above any errno value so the two never meet.
 */
#ifndef ZC_ERROR_H
#define ZC_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/** Base of the libzc-specific codes; they are returned negated. */
#define ZC_ERROR_BASE 4096

enum zc_error
{
  ZC_EBADMAGIC = -(ZC_ERROR_BASE + 1),  /**< a magic number is wrong: not ours, or overwritten */
  ZC_EVERSION = -(ZC_ERROR_BASE + 2),   /**< layout or protocol version we do not speak */
  ZC_ETRUNCATED = -(ZC_ERROR_BASE + 3), /**< segment smaller than its header says */
  ZC_EBOUNDS = -(ZC_ERROR_BASE + 4),    /**< an offset, size or count points outside the segment */
  ZC_ENOTREADY = -(ZC_ERROR_BASE + 5),  /**< segment construction not finished (READY bit unset) */
  ZC_EREADONLY = -(ZC_ERROR_BASE + 6),  /**< write access asked through a read guard */
  ZC_ETRIPPED = -(ZC_ERROR_BASE + 7),   /**< pool circuit breaker tripped after corruption was found */
  ZC_EOVERRUN = -(ZC_ERROR_BASE + 8),   /**< block trailer damaged: someone wrote past the block */
  ZC_ECRC = -(ZC_ERROR_BASE + 9),       /**< CRC32C of the block data does not match */
  ZC_ESTATE = -(ZC_ERROR_BASE + 10),    /**< block or slot not in the state the call needs */
  ZC_ESEALS = -(ZC_ERROR_BASE + 11),    /**< segment file is not sealed against resizing */
  ZC_EKIND = -(ZC_ERROR_BASE + 12),     /**< component of an unknown or unexpected kind */
  ZC_EEVICTED = -(ZC_ERROR_BASE + 13),  /**< the producer evicted this consumer (stalled too long) */
  ZC_EREFUSED = -(ZC_ERROR_BASE + 14),  /**< the producer refused the handshake (reason in the log) */
  ZC_ENAMEMISMATCH = -(ZC_ERROR_BASE + 15),     /**< socket belongs to a channel of another name */
  ZC_ERROR_LAST = -(ZC_ERROR_BASE + 16) /**< not part of ABI */
};

/**
 * zc_strerror:
 * @code: a value returned by a libzc function
 *
 * Returns: a static, human-readable description of @code.  Negative errno
 * values are described by the C library; 0 is "success".  Never NULL.
 */
const char *zc_strerror (int code);

#ifdef __cplusplus
}
#endif
#endif /* ZC_ERROR_H */

/* Tests for zc_strerror(): every code a user can meet has a message. */
#include <errno.h>
#include <string.h>

#include <zc/error.h>

#include "zc-test.h"

static void
test_every_zc_code_has_its_own_message (void)
{
  for (int code = ZC_EBADMAGIC; code > ZC_ERROR_LAST; code--) {
    const char *msg = zc_strerror (code);
    ZC_CHECK (msg != NULL);
    ZC_CHECK (strcmp (msg, "unknown gst-zerocopy error") != 0);
    /* no two codes share a message */
    for (int other = ZC_EBADMAGIC; other > code; other--)
      ZC_CHECK (strcmp (msg, zc_strerror (other)) != 0);
  }
}

static void
test_errno_codes_use_the_c_library_text (void)
{
  ZC_CHECK (strcmp (zc_strerror (-ETIMEDOUT), strerror (ETIMEDOUT)) == 0);
  ZC_CHECK (strcmp (zc_strerror (-EINVAL), strerror (EINVAL)) == 0);
}

static void
test_success_and_out_of_range_codes_are_named (void)
{
  ZC_CHECK (strcmp (zc_strerror (0), "success") == 0);
  ZC_CHECK (strcmp (zc_strerror (ZC_ERROR_LAST),
          "unknown gst-zerocopy error") == 0);
  ZC_CHECK (strcmp (zc_strerror (5), "not an error code") == 0);
}

int
main (int argc, char **argv)
{
  static const zc_test_case tests[] = {
    ZC_TEST (test_every_zc_code_has_its_own_message),
    ZC_TEST (test_errno_codes_use_the_c_library_text),
    ZC_TEST (test_success_and_out_of_range_codes_are_named),
  };
  return zc_test_main (argc, argv, tests, ZC_N_TESTS (tests));
}

/* What the gst-check tests of gst-zerocopy share: a main() that gives the
 * suite a private XDG_RUNTIME_DIR and fails the run if any producer left
 * its socket file behind. */
#ifndef ZC_CHECK_H
#define ZC_CHECK_H

#include <glib.h>
#include <gst/check/gstcheck.h>
#include <stdlib.h>
#include <unistd.h>

static inline int
zc_check_main (int argc, char **argv, Suite * (*make_suite) (void),
    const char *name, const char *file)
{
  gchar *runtime_dir = g_strdup_printf ("/tmp/zc-%s-XXXXXX", name);
  gchar *socket_dir;
  int failed;

  if (mkdtemp (runtime_dir) == NULL)
    return 1;
  setenv ("XDG_RUNTIME_DIR", runtime_dir, 1);
  gst_check_init (&argc, &argv);
  failed = gst_check_run_suite (make_suite (), name, file);
  /* Every producer removed its socket: both directories are empty. */
  socket_dir = g_build_filename (runtime_dir, "zerocopy", NULL);
  if (g_file_test (socket_dir, G_FILE_TEST_IS_DIR) && rmdir (socket_dir) != 0)
    failed = 1;
  if (rmdir (runtime_dir) != 0)
    failed = 1;
  g_free (socket_dir);
  g_free (runtime_dir);
  return failed;
}

#endif /* ZC_CHECK_H */

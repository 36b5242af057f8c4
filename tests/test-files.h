/* test-files.h — writing the files that the reader tests feed the engine. */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>

/* Test files need no fsync (g_file_set_contents does one when replacing a
 * file, which costs seconds on a busy disk). In-place writes do not
 * truncate on GLib 2.74, hence the unlink. */
static inline gboolean
write_test_file (const char *path, const void *data, gsize len, GError **error)
{
  g_unlink (path);
  return g_file_set_contents_full (path, data, (gssize) len,
                                   G_FILE_SET_CONTENTS_NONE, 0666, error);
}

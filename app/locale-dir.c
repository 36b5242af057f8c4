/* locale-dir.c — where the programs find their translations.
 *
 * Installed, in LOCALEDIR. Run uninstalled, in the build tree: `meson
 * devenv` says so through DIGITLAB_LOCALEDIR, and a program started
 * straight from <build>/app or <build>/ui finds <build>/po by itself, so
 * that `LANGUAGE=de build/ui/digitlab` speaks German as the installed one
 * does. */
#include "config.h"

#include "locale-dir.h"

const char *
digitlab_locale_dir (void)
{
  static char *dir;
  const char *from_environment = g_getenv ("DIGITLAB_LOCALEDIR");
  g_autofree char *program = NULL;
  g_autofree char *build_root = NULL;
  g_autofree char *ninja_file = NULL;

  if (from_environment != NULL)
    return from_environment;
  if (dir != NULL)
    return dir;

  program = g_file_read_link ("/proc/self/exe", NULL);
  if (program != NULL)
    {
      g_autofree char *program_dir = g_path_get_dirname (program);

      build_root = g_path_get_dirname (program_dir);
      ninja_file = g_build_filename (build_root, "build.ninja", NULL);
    }
  /* A meson build tree has build.ninja at its root. */
  if (ninja_file != NULL && g_file_test (ninja_file, G_FILE_TEST_IS_REGULAR))
    dir = g_build_filename (build_root, "po", NULL);
  else
    dir = g_strdup (LOCALEDIR);
  return dir;
}

/* digit-settings.c — GSettings that also work from the build tree.
 *
 * g_settings_new() aborts the program when the schema is not installed. An
 * app run straight from its build directory (by a developer or a test
 * harness) would die before showing a window, so the schema is looked up
 * first and the build tree's compiled schemas are tried as well. */
#include "config.h"

#include "digit-settings.h"

static GSettingsSchema *
lookup_in_build_tree (void)
{
  g_autofree char *program = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *program_dir = NULL;
  g_autofree char *schema_dir = NULL;
  g_autoptr(GSettingsSchemaSource) source = NULL;

  if (program == NULL)
    return NULL;
  /* The program is <build>/ui/digitlab; the schemas compile into
   * <build>/resources. */
  program_dir = g_path_get_dirname (program);
  schema_dir = g_build_filename (program_dir, "..", "resources", NULL);
  if (!g_file_test (schema_dir, G_FILE_TEST_IS_DIR))
    return NULL;
  source = g_settings_schema_source_new_from_directory (schema_dir,
                                                        g_settings_schema_source_get_default (),
                                                        FALSE, NULL);
  if (source == NULL)
    return NULL;
  return g_settings_schema_source_lookup (source, APP_ID, FALSE);
}

GSettings *
digit_settings_new (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;

  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, APP_ID, TRUE);
  if (schema == NULL)
    schema = lookup_in_build_tree ();
  if (schema == NULL)
    {
      g_message ("The settings schema %s is not installed; "
                 "set GSETTINGS_SCHEMA_DIR to the folder holding its compiled form. "
                 "Settings will not be remembered.", APP_ID);
      return NULL;
    }
  return g_settings_new_full (schema, NULL, NULL);
}

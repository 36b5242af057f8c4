/* cli-info.c — digitlab-cli info: what a model file holds (architecture
 * layer by layer, parameter count, file size, every metadata entry). */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <stdio.h>

#include "cli-common.h"

static void
print_indented (const char *text)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    if (*lines[i] != '\0')
      printf ("  %s\n", lines[i]);
}

int
cli_info_main (int argc, char **argv)
{
  g_autofree char *model_path = NULL;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(NnModel) model = NULL;
  g_autofree char *description = NULL;
  g_auto(GStrv) keys = NULL;
  const GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path,
      N_("Model file to describe (default: the built-in model)"), N_("FILE") },
    { NULL }
  };

  context = cli_option_context_new ("info", NULL,
                                    _("Shows a model’s architecture layer by layer, its "
                                      "parameter count, its file size and all its metadata."),
                                    entries);
  if (!cli_parse_options (context, "info", &argc, &argv))
    return CLI_EXIT_USAGE;
  if (argc > 1)
    return cli_usage ("info", _("unexpected argument “%s” (use --model FILE)"), argv[1]);

  model = cli_load_model (model_path, &error);
  if (model == NULL)
    return cli_fail_error (error);

  if (model_path != NULL)
    {
      GStatBuf st;
      g_autofree char *size = NULL;

      if (g_stat (model_path, &st) != 0)
        return cli_fail (_("%s: cannot read its size"), model_path);
      size = g_format_size_full (st.st_size, G_FORMAT_SIZE_LONG_FORMAT);
      printf (_("file: %s, %s\n"), model_path, size);
    }
  else
    {
      printf (_("file: the built-in default model\n"));
    }
  /* Checked when the file was loaded: a file that says otherwise is refused. */
  printf (_("format: %s %s (safetensors)\n"), NN_MODEL_FORMAT, NN_MODEL_FORMAT_VERSION);
  printf (_("input: %s\n"), NN_MODEL_INPUT);

  printf (_("architecture: %s\n"), nn_model_get_spec (model));
  printf (_("parameters: %lu\n"), (unsigned long) nn_model_get_param_count (model));
  printf (_("layers:\n"));
  description = nn_model_describe (model);
  print_indented (description);

  keys = nn_model_list_metadata (model);
  printf (_("metadata:\n"));
  if (keys[0] == NULL)
    printf ("  %s\n", _("(none)"));
  for (guint i = 0; keys[i] != NULL; i++)
    printf ("  %s: %s\n", keys[i], nn_model_get_metadata (model, keys[i]));
  return CLI_EXIT_OK;
}

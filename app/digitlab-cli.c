/* digitlab-cli.c — the command line's entry point: picks the subcommand
 * (train, eval, predict, info, bench) and hands it the rest of argv.
 * docs/cli.md is the reference for every command. */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "cli-common.h"
#include "locale-dir.h"

typedef struct {
  const char *name;
  int       (*main) (int argc, char **argv);
  const char *summary;   /* translated when shown */
} CliCommand;

static const CliCommand commands[] = {
  { "train",   cli_train_main,   N_("Train a model on MNIST and save it") },
  { "eval",    cli_eval_main,    N_("Measure a model’s accuracy on the MNIST test set") },
  { "predict", cli_predict_main, N_("Recognise digits in images or recorded drawings") },
  { "info",    cli_info_main,    N_("Describe a model file: architecture, size, metadata") },
  { "bench",   cli_bench_main,   N_("Measure training and prediction speed") },
};

static void
print_usage (FILE *out)
{
  fprintf (out, "%s\n  digitlab-cli %s\n\n%s\n", _("Usage:"), _("COMMAND [OPTION…]"),
           _("Commands:"));
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-9s %s\n", commands[i].name, _(commands[i].summary));
  fprintf (out, "\n%s\n  %-9s %s\n  %-9s %s\n\n%s\n",
           _("Options:"),
           "--help", _("Show this help"),
           "--version", _("Show the version"),
           _("Run “digitlab-cli COMMAND --help” for a command’s options."));
}

int
main (int argc, char **argv)
{
  const char *name;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, digitlab_locale_dir ());
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  if (argc < 2)
    {
      g_set_prgname ("digitlab-cli");
      print_usage (stderr);
      return CLI_EXIT_USAGE;
    }

  name = argv[1];
  if (strcmp (name, "--help") == 0 || strcmp (name, "-h") == 0 || strcmp (name, "help") == 0)
    {
      print_usage (stdout);
      return CLI_EXIT_OK;
    }
  if (strcmp (name, "--version") == 0)
    {
      printf ("digitlab-cli %s\n", PACKAGE_VERSION);
      return CLI_EXIT_OK;
    }

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (name, commands[i].name) == 0)
      {
        /* GOption's --help prints "Usage: <prgname> [OPTION…]". */
        g_autofree char *prgname = g_strconcat ("digitlab-cli ", name, NULL);

        g_set_prgname (prgname);
        return commands[i].main (argc - 1, argv + 1);
      }

  g_set_prgname ("digitlab-cli");
  if (name[0] == '-')
    return cli_usage (NULL, _("unknown option %s (options go after the command)"), name);
  return cli_usage (NULL, _("unknown command “%s”"), name);
}

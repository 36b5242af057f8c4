/* cli-common.c — option parsing, error reporting, data and model loading,
 * and JSON output shared by the digitlab-cli subcommands. */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <errno.h>
#include <inttypes.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli-common.h"

/* ---- Options and errors ----------------------------------------------- */

GOptionContext *
cli_option_context_new (const char         *command,
                        const char         *parameter_string,
                        const char         *summary,
                        const GOptionEntry *entries)
{
  GOptionContext *context = g_option_context_new (parameter_string);

  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context, summary);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  return context;
}

gboolean
cli_parse_options (GOptionContext *context,
                   const char     *command,
                   int            *argc,
                   char         ***argv)
{
  g_autoptr(GError) error = NULL;

  if (g_option_context_parse (context, argc, argv, &error))
    return TRUE;
  cli_usage (command, "%s", error->message);
  return FALSE;
}

static void
print_message (const char *format, va_list args)
{
  g_autofree char *message = g_strdup_vprintf (format, args);

  /* Keep a progress line, if one is showing, from running into the message. */
  fflush (stdout);
  fprintf (stderr, "digitlab-cli: %s\n", message);
}

int
cli_fail (const char *format, ...)
{
  va_list args;

  va_start (args, format);
  print_message (format, args);
  va_end (args);
  return CLI_EXIT_FAILURE;
}

int
cli_fail_error (const GError *error)
{
  return cli_fail ("%s", error->message);
}

int
cli_usage (const char *command, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  print_message (format, args);
  va_end (args);
  if (command != NULL)
    fprintf (stderr, _("Try “digitlab-cli %s --help” for more information.\n"), command);
  else
    fprintf (stderr, _("Try “digitlab-cli --help” for more information.\n"));
  return CLI_EXIT_USAGE;
}

gboolean
cli_parse_uint (const char *command,
                const char *option,
                const char *text,
                guint64     min,
                guint64     max,
                guint64    *out)
{
  gint64 negative;

  if (g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT64, out, NULL))
    {
      if (*out < min)
        cli_usage (command, _("%s must be at least %" PRIu64 ", not %s"), option, min, text);
      else if (*out > max)
        cli_usage (command, _("%s must be at most %" PRIu64 ", not %s"), option, max, text);
      return *out >= min && *out <= max;
    }
  if (g_ascii_string_to_signed (text, 10, G_MININT64, -1, &negative, NULL))
    cli_usage (command, _("%s must be at least %" PRIu64 ", not %s"), option, min, text);
  else
    cli_usage (command, _("%s: “%s” is not a whole number"), option, text);
  return FALSE;
}

gboolean
cli_parse_double (const char *command,
                  const char *option,
                  const char *text,
                  double     *out)
{
  char *end = NULL;

  *out = g_ascii_strtod (text, &end);
  if (*text != '\0' && end != NULL && *end == '\0' && isfinite (*out))
    return TRUE;
  cli_usage (command, _("%s: “%s” is not a number"), option, text);
  return FALSE;
}

gboolean
cli_apply_threads (const char *command, int n_threads)
{
  if (n_threads < 0)
    {
      cli_usage (command, _("--threads must be 0 (all cores) or more, not %d"), n_threads);
      return FALSE;
    }
  nn_set_threads (n_threads);
  return TRUE;
}

/* ---- Data and models -------------------------------------------------- */

static char *
user_data_mnist_dir (void)
{
  return g_build_filename (g_get_user_data_dir (), "digitlab", "mnist", NULL);
}

char *
cli_default_data_dir (void)
{
  const char *from_env = g_getenv ("DIGITLAB_MNIST_DIR");
  g_autofree char *user_dir = user_data_mnist_dir ();

  if (from_env != NULL && *from_env != '\0')
    return g_strdup (from_env);
  if (g_file_test (user_dir, G_FILE_TEST_IS_DIR))
    return g_steal_pointer (&user_dir);
  return g_strdup (MNIST_DEFAULT_DIR);
}

gboolean
cli_load_data (const char  *dir,
               NnDataset  **train,
               NnDataset  **test,
               GError     **error)
{
  g_autofree char *default_dir = NULL;

  if (dir == NULL)
    dir = default_dir = cli_default_data_dir ();

  /* The engine explains missing files; a missing folder more often means
   * MNIST was never downloaded, so say where it is looked for. */
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_autofree char *user_dir = user_data_mnist_dir ();

      g_set_error (error, NN_ERROR, NN_ERROR_IDX_MISSING,
                   _("No MNIST folder at %s: put the four MNIST files in %s or pass "
                     "--data DIR (docs/mnist.md says where to get them)"),
                   dir, user_dir);
      return FALSE;
    }
  return nn_dataset_load_dir (dir, train, test, error);
}

NnModel *
cli_load_model (const char *path, GError **error)
{
  if (path == NULL)
    return nn_model_load_default (error);
  return nn_model_load (path, error);
}

/* ---- Output ----------------------------------------------------------- */

gboolean
cli_is_replaceable (const char *path)
{
  GStatBuf st;

  /* lstat: a symbolic link such as /dev/stdout is not replaced either. */
  return g_lstat (path, &st) != 0 ? errno == ENOENT : S_ISREG (st.st_mode);
}

gboolean
cli_write_output (const char *path, const char *data, gsize len, GError **error)
{
  FILE *out;
  int saved_errno;

  if (strcmp (path, "-") != 0 && cli_is_replaceable (path))
    return g_file_set_contents (path, data, len, error);

  out = strcmp (path, "-") == 0 ? stdout : g_fopen (path, "w");
  if (out != NULL && fwrite (data, 1, len, out) == len && fflush (out) == 0
      && (out == stdout || fclose (g_steal_pointer (&out)) == 0))
    return TRUE;

  saved_errno = errno;
  if (out != NULL && out != stdout)
    fclose (out);
  g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
               _("cannot write %s: %s"), path, g_strerror (saved_errno));
  return FALSE;
}

guint
cli_argmax (const float probs[NN_CLASSES])
{
  guint best = 0;

  for (guint i = 1; i < NN_CLASSES; i++)
    if (probs[i] > probs[best])
      best = i;
  return best;
}

void
cli_json_append_string (GString *out, const char *text)
{
  g_autoptr(JsonNode) node = json_node_init_string (json_node_alloc (), text);
  g_autofree char *quoted = json_to_string (node, FALSE);

  g_string_append (out, quoted);
}

/* The fewest significant digits (from 1 to @max_digits) that read back as
 * exactly @value, in the C locale whatever the user's locale is. */
static void
append_shortest (GString *out, double value, int max_digits, gboolean as_float)
{
  static const char *const formats[] = {
    "%.1g", "%.2g", "%.3g", "%.4g", "%.5g", "%.6g", "%.7g", "%.8g", "%.9g",
    "%.10g", "%.11g", "%.12g", "%.13g", "%.14g", "%.15g", "%.16g", "%.17g",
  };
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  if (!isfinite (value))
    {
      g_string_append (out, "null");
      return;
    }
  for (int digits = 1; digits <= max_digits; digits++)
    {
      double back;

      g_ascii_formatd (buffer, sizeof buffer, formats[digits - 1], value);
      back = g_ascii_strtod (buffer, NULL);
      if (as_float ? (float) back == (float) value : back == value)
        break;
    }
  g_string_append (out, buffer);
}

void
cli_json_append_number (GString *out, double value)
{
  append_shortest (out, value, 17, FALSE);
}

void
cli_json_append_float (GString *out, float value)
{
  append_shortest (out, value, 9, TRUE);
}

char *
cli_float_to_string (float value)
{
  GString *out = g_string_new (NULL);

  append_shortest (out, value, 9, TRUE);
  return g_string_free (out, FALSE);
}

void
cli_json_append_probabilities (GString *out, const float probs[NN_CLASSES])
{
  g_string_append_c (out, '[');
  for (guint i = 0; i < NN_CLASSES; i++)
    {
      if (i > 0)
        g_string_append (out, ", ");
      cli_json_append_float (out, probs[i]);
    }
  g_string_append_c (out, ']');
}

/* cli-eval.c — digitlab-cli eval: a model's accuracy and confusion matrix on
 * the MNIST test set, as text or JSON, and optionally every image's ten
 * probabilities (what the independent NumPy reader is checked against). */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <stdio.h>

#include "cli-common.h"

/* Images per forward pass when writing probabilities: large enough to keep
 * the engine's threads busy, small enough to stay in cache. */
#define PREDICT_BATCH 256

static void
print_confusion (guint confusion[NN_CLASSES][NN_CLASSES])
{
  printf ("%s\n", _("confusion matrix (rows: true digit, columns: predicted digit)"));
  printf ("%9s", _("true\\pred"));
  for (guint p = 0; p < NN_CLASSES; p++)
    printf (" %6u", p);
  printf ("\n");
  for (guint t = 0; t < NN_CLASSES; t++)
    {
      printf ("%9u", t);
      for (guint p = 0; p < NN_CLASSES; p++)
        printf (" %6u", confusion[t][p]);
      printf ("\n");
    }
}

static void
print_json (double accuracy, guint count, guint confusion[NN_CLASSES][NN_CLASSES])
{
  g_autoptr(GString) out = g_string_new ("{\"accuracy\": ");

  cli_json_append_number (out, accuracy);
  g_string_append_printf (out, ", \"count\": %u, \"confusion\": [", count);
  for (guint t = 0; t < NN_CLASSES; t++)
    {
      g_string_append (out, t > 0 ? ", [" : "[");
      for (guint p = 0; p < NN_CLASSES; p++)
        g_string_append_printf (out, p > 0 ? ", %u" : "%u", confusion[t][p]);
      g_string_append_c (out, ']');
    }
  g_string_append (out, "]}\n");
  fputs (out->str, stdout);
}

/* One JSON array of ten probabilities per image, in data set order. */
static gboolean
write_probabilities (NnModel          *model,
                     const NnDataset  *dataset,
                     const char       *path,
                     GError          **error)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autofree float *images = g_new (float, (gsize) PREDICT_BATCH * NN_IMAGE_PIXELS);
  g_autofree float *probs = g_new (float, (gsize) PREDICT_BATCH * NN_CLASSES);

  for (guint start = 0; start < dataset->count; start += PREDICT_BATCH)
    {
      guint n = MIN (PREDICT_BATCH, dataset->count - start);

      for (guint i = 0; i < n; i++)
        nn_dataset_get_image (dataset, start + i, images + (gsize) i * NN_IMAGE_PIXELS);
      nn_model_predict (model, images, n, probs);
      for (guint i = 0; i < n; i++)
        {
          cli_json_append_probabilities (out, probs + (gsize) i * NN_CLASSES);
          g_string_append_c (out, '\n');
        }
    }
  return cli_write_output (path, out->str, out->len, error);
}

int
cli_eval_main (int argc, char **argv)
{
  g_autofree char *model_path = NULL;
  g_autofree char *data_dir = NULL;
  g_autofree char *probabilities_path = NULL;
  g_autofree char *limit_text = NULL;
  guint64 limit = 0;
  gboolean json = FALSE;
  int n_threads = 0;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(NnModel) model = NULL;
  g_autoptr(NnDataset) test = NULL;
  guint confusion[NN_CLASSES][NN_CLASSES] = { { 0 } };
  double accuracy;
  const GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path,
      N_("Model file to evaluate (default: the built-in model)"), N_("FILE") },
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data_dir,
      N_("Folder with the MNIST files (default: $DIGITLAB_MNIST_DIR or ~/.local/share/digitlab/mnist)"),
      N_("DIR") },
    { "limit", 'n', 0, G_OPTION_ARG_STRING, &limit_text,
      N_("Evaluate on the first N test images only"), N_("N") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json,
      N_("Print one JSON object: accuracy, count, confusion"), NULL },
    { "probabilities", 0, 0, G_OPTION_ARG_FILENAME, &probabilities_path,
      N_("Also write each image’s ten probabilities to FILE, one JSON array per line"),
      N_("FILE") },
    { "threads", 't', 0, G_OPTION_ARG_INT, &n_threads,
      N_("Threads to use (default 0: all cores)"), N_("T") },
    { NULL }
  };

  context = cli_option_context_new ("eval", NULL,
                                    _("Measures a model’s accuracy on the MNIST test set "
                                      "(t10k) and shows its confusion matrix: true digits in "
                                      "rows, predicted digits in columns."),
                                    entries);
  if (!cli_parse_options (context, "eval", &argc, &argv))
    return CLI_EXIT_USAGE;
  if (argc > 1)
    return cli_usage ("eval", _("unexpected argument “%s”"), argv[1]);
  if (limit_text != NULL && !cli_parse_uint ("eval", "--limit", limit_text, 1, G_MAXUINT, &limit))
    return CLI_EXIT_USAGE;
  if (!cli_apply_threads ("eval", n_threads))
    return CLI_EXIT_USAGE;

  model = cli_load_model (model_path, &error);
  if (model == NULL)
    return cli_fail_error (error);
  if (!cli_load_data (data_dir, NULL, &test, &error))
    return cli_fail_error (error);
  if (limit > 0 && limit < test->count)
    {
      NnDataset *subset = nn_dataset_subset (test, 0, limit);

      nn_dataset_free (test);
      test = subset;
    }

  accuracy = nn_model_evaluate (model, test, confusion);

  if (probabilities_path != NULL
      && !write_probabilities (model, test, probabilities_path, &error))
    return cli_fail_error (error);

  if (json)
    {
      print_json (accuracy, test->count, confusion);
    }
  else
    {
      printf (_("accuracy: %.4f\n"), accuracy);
      printf (_("images: %u\n"), test->count);
      printf ("\n");
      print_confusion (confusion);
    }
  return CLI_EXIT_OK;
}

/* digit-model-info.c — a model's name, architecture and accuracy for people.
 *
 * The metadata keys are the ones docs/model-format.md lists. Accuracy may be
 * written as a fraction ("0.991") or as a percentage ("99.1"); both are
 * accepted, because files written by other tools are opened too. */
#include "config.h"

#include <math.h>
#include <glib/gi18n-lib.h>

#include "digit-model-info.h"

static const char * const name_keys[] = { "name", "title" };
static const char * const accuracy_keys[] = { "test_accuracy", "test-accuracy", "accuracy" };

char *
digit_model_info_name (const NnModel *model, const char *fallback)
{
  for (guint i = 0; i < G_N_ELEMENTS (name_keys); i++)
    {
      const char *value = nn_model_get_metadata (model, name_keys[i]);

      if (value != NULL && *value != '\0')
        return g_strdup (value);
    }
  return g_strdup (fallback);
}

char *
digit_model_info_architecture (const NnModel *model)
{
  const char *spec = nn_model_get_spec (model);
  const NnPreset *presets;
  guint n_presets = 0;

  presets = nn_presets (&n_presets);
  for (guint i = 0; i < n_presets; i++)
    {
      if (g_strcmp0 (nn_spec_expand (presets[i].name), spec) == 0)
        return g_strdup (presets[i].name);
    }
  return g_strdup (spec);
}

double
digit_model_info_test_accuracy (const NnModel *model)
{
  for (guint i = 0; i < G_N_ELEMENTS (accuracy_keys); i++)
    {
      const char *value = nn_model_get_metadata (model, accuracy_keys[i]);
      char *end = NULL;
      double accuracy;

      if (value == NULL)
        continue;
      accuracy = g_ascii_strtod (value, &end);
      if (end == value || !isfinite (accuracy) || accuracy < 0)
        continue;
      if (accuracy > 1.0)
        accuracy /= 100.0;
      if (accuracy <= 1.0)
        return accuracy;
    }
  return -1.0;
}

char *
digit_model_info_summary (const NnModel *model)
{
  g_autofree char *architecture = digit_model_info_architecture (model);
  double accuracy = digit_model_info_test_accuracy (model);

  if (accuracy < 0)
    return g_steal_pointer (&architecture);
  /* Translators: the model's architecture, then its accuracy on the
   * MNIST test set, e.g. "lenet5 · 99.1% test accuracy". */
  return g_strdup_printf (_("%s · %.1f%% test accuracy"), architecture, accuracy * 100.0);
}

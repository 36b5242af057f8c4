/* digit-model-info.h — how a model is named in the window.
 *
 * A model file carries free-form metadata; these helpers turn it into the
 * few words the header bar shows: a name, the architecture (the preset's
 * name when the spec is a preset), and the test accuracy if it is known.
 */
#pragma once

#include <glib.h>
#include "nn.h"

G_BEGIN_DECLS

/* The metadata "name", else @fallback (e.g. the file's base name). */
char *digit_model_info_name         (const NnModel *model, const char *fallback);
/* "lenet5" when the spec is a preset's, else the spec itself. */
char *digit_model_info_architecture (const NnModel *model);
/* Test accuracy in [0, 1] from the metadata, or a negative number. */
double digit_model_info_test_accuracy (const NnModel *model);
/* "lenet5 · 99.1% test accuracy", or just the architecture. */
char *digit_model_info_summary      (const NnModel *model);

G_END_DECLS

/* digit-train-form.h — the settings of the next training run: the data,
 * the model and the training settings, remembered in GSettings and
 * checked as they are typed. */
#pragma once

#include <adwaita.h>

#include "nn.h"
#include "digit-training-data.h"

G_BEGIN_DECLS

#define DIGIT_TYPE_TRAIN_FORM (digit_train_form_get_type ())
G_DECLARE_FINAL_TYPE (DigitTrainForm, digit_train_form, DIGIT, TRAIN_FORM, AdwBin)

GtkWidget         *digit_train_form_new          (void);
/* Binds every field to @settings (may be NULL: nothing is remembered).
 * The chosen data set is loaded when the form is first shown. */
void               digit_train_form_set_settings (DigitTrainForm *self,
                                                  GSettings      *settings);
/* Starts loading the chosen data set now, if it is not loaded or loading. */
void               digit_train_form_load_data    (DigitTrainForm *self);
/* The data set, once loaded (else NULL). */
DigitTrainingData *digit_train_form_get_data     (DigitTrainForm *self);
gboolean           digit_train_form_is_loading   (DigitTrainForm *self);
/* Whether the architecture and the training settings are all valid. */
gboolean           digit_train_form_is_valid     (DigitTrainForm *self);
/* The first thing the form says is wrong, one sentence, else NULL; it
 * changes with the "problem" property. */
const char        *digit_train_form_get_problem  (DigitTrainForm *self);
/* The next run's settings; FALSE with the reason when one is impossible.
 * @train_limit: 0 for every training image. */
gboolean           digit_train_form_get_run_settings (DigitTrainForm  *self,
                                                      char           **spec,
                                                      NnTrainConfig   *config,
                                                      guint           *train_limit,
                                                      GError         **error);

G_END_DECLS

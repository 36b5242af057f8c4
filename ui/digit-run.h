/* digit-run.h — one training run: its settings, its curves as they grow,
 * its results and its model.
 *
 * A run builds its model and trainer off the main thread, trains on a
 * DigitTrainingWorker, and when it ends keeps the trained model and
 * evaluates it on the test set. Finished runs stay in the session to be
 * compared, used or saved.
 */
#pragma once

#include <gdk/gdk.h>

#include "nn.h"
#include "digit-checkpoint.h"
#include "digit-evaluation.h"
#include "digit-training-data.h"
#include "digit-training-worker.h"

G_BEGIN_DECLS

typedef enum {
  DIGIT_RUN_NEW,
  DIGIT_RUN_PREPARING,   /* building the model and the trainer */
  DIGIT_RUN_TRAINING,
  DIGIT_RUN_PAUSING,     /* the batch in progress finishes first */
  DIGIT_RUN_PAUSED,
  DIGIT_RUN_STOPPING,
  DIGIT_RUN_FINISHED,    /* every epoch trained */
  DIGIT_RUN_STOPPED,     /* ended early: its model is what it had learnt */
  DIGIT_RUN_FAILED,
} DigitRunState;

#define DIGIT_TYPE_RUN_STATE (digit_run_state_get_type ())
GType digit_run_state_get_type (void) G_GNUC_CONST;

#define DIGIT_TYPE_RUN (digit_run_get_type ())
G_DECLARE_FINAL_TYPE (DigitRun, digit_run, DIGIT, RUN, GObject)

/* A run of @spec with @config on @data (the full set; @train_limit > 0
 * keeps only that many training images). */
DigitRun            *digit_run_new                (const char          *name,
                                                   const char          *spec,
                                                   const NnTrainConfig *config,
                                                   DigitTrainingData   *data,
                                                   guint                train_limit,
                                                   guint                color_index);
/* The run described by @info, to be continued from the checkpoint on
 * disk; @data is the full data set of info->data_folder. It loads as
 * PREPARING and becomes PAUSED (or FAILED). */
DigitRun            *digit_run_new_from_checkpoint (const DigitCheckpointInfo *info,
                                                    DigitTrainingData         *data);

/* Builds the model and starts training. With @checkpoint, the run keeps
 * its checkpoint up to date after every epoch and deletes it at its end. */
void                 digit_run_start              (DigitRun   *self,
                                                   gboolean    checkpoint);
void                 digit_run_pause              (DigitRun   *self);
void                 digit_run_resume             (DigitRun   *self);
void                 digit_run_stop               (DigitRun   *self);
/* Whether a thread is (or is about to be) working for this run. */
gboolean             digit_run_is_active          (DigitRun   *self);

/* A copy of the model as it is now (between two batches while training),
 * with its metadata (name, data, settings, accuracy). @callback gets NULL
 * when the run has no model (it failed, or was stopped before it had one). */
void                 digit_run_copy_model         (DigitRun            *self,
                                                   DigitModelCallback   callback,
                                                   gpointer             user_data);
/* Whether there is a model to copy: one being trained, or the trained one. */
gboolean             digit_run_has_model          (DigitRun   *self);
/* Evaluates the model as it is now on the whole test set ("evaluated"
 * when done). Runs do this by themselves when they end. */
void                 digit_run_evaluate           (DigitRun   *self);
gboolean             digit_run_is_evaluating      (DigitRun   *self);
DigitEvaluation     *digit_run_get_evaluation     (DigitRun   *self);

const char          *digit_run_get_name           (DigitRun   *self);
void                 digit_run_set_name           (DigitRun   *self,
                                                   const char *name);
DigitRunState        digit_run_get_state          (DigitRun   *self);
const GError        *digit_run_get_error          (DigitRun   *self);
gboolean             digit_run_get_shown          (DigitRun   *self);
void                 digit_run_set_shown          (DigitRun   *self,
                                                   gboolean    shown);
guint                digit_run_get_color_index    (DigitRun   *self);
void                 digit_run_get_color          (DigitRun   *self,
                                                   GdkRGBA    *color);
/* As typed, and canonical once the model is built. */
const char          *digit_run_get_spec           (DigitRun   *self);
/* The preset's name when the spec is a preset's, else NULL. */
const char          *digit_run_get_preset         (DigitRun   *self);
const NnTrainConfig *digit_run_get_config         (DigitRun   *self);
DigitTrainingData   *digit_run_get_data           (DigitRun   *self);
guint                digit_run_get_n_train_images (DigitRun   *self);
gsize                digit_run_get_param_count    (DigitRun   *self);

/* The curves: DigitPlotPoint arrays. Losses per batch at x = epochs
 * trained (fractional); accuracies in % at x = epochs completed. */
GArray              *digit_run_get_loss_curve     (DigitRun   *self);
GArray              *digit_run_get_train_accuracy_curve (DigitRun *self);
GArray              *digit_run_get_test_accuracy_curve  (DigitRun *self);
/* The last batch's report, or NULL before the first. */
const NnBatchReport *digit_run_get_last_batch     (DigitRun   *self);
guint                digit_run_get_epochs_done    (DigitRun   *self);
/* Epochs trained so far, fractional (2.5 = half way through the third). */
double               digit_run_get_progress       (DigitRun   *self);
double               digit_run_get_train_seconds  (DigitRun   *self);
/* Test accuracy in [0, 1]: the evaluation's if there is one, else the last
 * epoch's; negative when unknown. */
double               digit_run_get_test_accuracy  (DigitRun   *self);

/* What to write beside the checkpoint for this run. */
DigitCheckpointInfo *digit_run_describe           (DigitRun   *self);

/* "mlp" for "dense:256 relu dense:128 relu dense:10", else NULL. */
const char          *digit_preset_for_spec        (const char *spec);
/* How people see a preset ("Plain Neural Network" for "mlp"), translated;
 * NULL for a name that is not a preset's. */
const char          *digit_preset_label           (const char *preset);

G_END_DECLS

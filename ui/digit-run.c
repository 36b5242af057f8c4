/* digit-run.c — a training run from its settings to its trained model.
 *
 * The main thread owns everything here. Building a model (He-initialising
 * millions of weights), copying a data subset and loading a checkpoint are
 * done in GTasks; training in the DigitTrainingWorker; evaluating in a
 * DigitEvaluation task. The run only gathers what they report.
 */
#include "config.h"

#include <math.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "digit-background.h"
#include "digit-plot.h"
#include "digit-run.h"

G_DEFINE_ENUM_TYPE (DigitRunState, digit_run_state,
  G_DEFINE_ENUM_VALUE (DIGIT_RUN_NEW, "new"),
  G_DEFINE_ENUM_VALUE (DIGIT_RUN_PREPARING, "preparing"),
  G_DEFINE_ENUM_VALUE (DIGIT_RUN_TRAINING, "training"),
  G_DEFINE_ENUM_VALUE (DIGIT_RUN_PAUSING, "pausing"),
  G_DEFINE_ENUM_VALUE (DIGIT_RUN_PAUSED, "paused"),
  G_DEFINE_ENUM_VALUE (DIGIT_RUN_STOPPING, "stopping"),
  G_DEFINE_ENUM_VALUE (DIGIT_RUN_FINISHED, "finished"),
  G_DEFINE_ENUM_VALUE (DIGIT_RUN_STOPPED, "stopped"),
  G_DEFINE_ENUM_VALUE (DIGIT_RUN_FAILED, "failed"))

struct _DigitRun
{
  GObject              parent_instance;

  char                *name;
  char                *spec;
  NnTrainConfig        config;
  DigitTrainingData   *full_data;
  DigitTrainingData   *data;          /* what it trains on, once prepared */
  guint                train_limit;
  guint                color_index;
  gboolean             shown;
  DigitRunState        state;
  GError              *error;
  gsize                n_params;
  gboolean             checkpoint;
  char                *checkpoint_path;
  gboolean             checkpoint_failed;
  gboolean             stop_when_prepared;

  DigitTrainingWorker *worker;
  GCancellable        *cancellable;   /* preparing and evaluating */

  GArray              *losses;
  GArray              *train_accuracy;
  GArray              *test_accuracy;
  NnBatchReport        last_batch;
  gboolean             has_batch;
  guint                epochs_done;
  double               seconds_before;  /* from a checkpoint's earlier sessions */
  double               epoch_seconds;   /* of the epochs finished here */
  double               last_test_accuracy;

  NnModel             *model;           /* the trained model, once it ended */
  DigitEvaluation     *evaluation;
  gboolean             evaluating;
};

G_DEFINE_FINAL_TYPE (DigitRun, digit_run, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_NAME,
  PROP_STATE,
  PROP_SHOWN,
  PROP_EVALUATING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  BATCHES,
  EPOCH,
  EVALUATED,
  CHECKPOINT_FAILED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* Distinct in light and dark styles, and for the common colour
 * blindnesses in the first few (blue, orange, green, purple, ...). */
static const char *const palette[] = {
  "#3584e4", "#e66100", "#26a269", "#9141ac", "#c64600", "#1c71d8",
  "#986a44", "#c01c28", "#2190a4", "#a347ba",
};

static void start_evaluation (DigitRun *self, NnModel *model);

static void
set_state (DigitRun      *self,
           DigitRunState  state)
{
  if (self->state == state)
    return;
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

/* ---- Metadata ------------------------------------------------------------------ */

/* The shortest decimal that reads back as the same float. */
static char *
float_text (float value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  for (int digits = 1; digits <= 9; digits++)
    {
      char format[8];

      g_snprintf (format, sizeof format, "%%.%dg", digits);
      g_ascii_formatd (buffer, sizeof buffer, format, value);
      if ((float) g_ascii_strtod (buffer, NULL) == value)
        break;
    }
  return g_strdup (buffer);
}

static void
set_metadata_uint (NnModel    *model,
                   const char *key,
                   guint64     value)
{
  g_autofree char *text = g_strdup_printf ("%" G_GUINT64_FORMAT, value);

  nn_model_set_metadata (model, key, text);
}

static void
set_metadata_float (NnModel    *model,
                    const char *key,
                    float       value)
{
  g_autofree char *text = float_text (value);

  nn_model_set_metadata (model, key, text);
}

/* The keys docs/model-format.md lists, as the command line writes them. */
static void
describe_model (DigitRun *self,
                NnModel  *model)
{
  const NnTrainConfig *c = &self->config;
  DigitTrainingData *data = self->data != NULL ? self->data : self->full_data;
  const NnDataset *test = data != NULL ? digit_training_data_get_test (data) : NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *created = g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
  char text[G_ASCII_DTOSTR_BUF_SIZE];
  double accuracy = digit_run_get_test_accuracy (self);

  nn_model_set_metadata (model, "name", self->name);
  if (data != NULL)
    {
      g_autofree char *folder = g_path_get_basename (digit_training_data_get_folder (data));

      nn_model_set_metadata (model, "dataset", folder);
      set_metadata_uint (model, "train_images", digit_training_data_get_train (data)->count);
      set_metadata_uint (model, "test_images", test != NULL ? test->count : 0);
    }
  set_metadata_uint (model, "epochs", c->epochs);
  nn_model_set_metadata (model, "optimizer", nn_optimizer_to_string (c->optimizer));
  set_metadata_float (model, "lr", c->learning_rate);
  set_metadata_uint (model, "batch", c->batch_size);
  set_metadata_uint (model, "seed", c->seed);
  nn_model_set_metadata (model, "augment", c->augment ? "true" : "false");
  nn_model_set_metadata (model, "digit_styles", c->digit_styles ? "true" : "false");
  nn_model_set_metadata (model, "schedule", nn_schedule_to_string (c->schedule));
  if (c->optimizer == NN_OPTIMIZER_SGD)
    set_metadata_float (model, "momentum", c->momentum);
  set_metadata_float (model, "weight_decay", c->weight_decay);
  set_metadata_float (model, "label_smoothing", c->label_smoothing);

  /* A run stopped early says how far it got. */
  nn_model_set_metadata (model, "epochs_done",
                         self->state == DIGIT_RUN_FINISHED
                           ? NULL : g_ascii_formatd (text, sizeof text, "%.2f", digit_run_get_progress (self)));
  if (accuracy >= 0)
    nn_model_set_metadata (model, "test_accuracy",
                           g_ascii_formatd (text, sizeof text, "%.4f", accuracy));
  nn_model_set_metadata (model, "train_seconds",
                         g_ascii_formatd (text, sizeof text, "%.1f", digit_run_get_train_seconds (self)));
  nn_model_set_metadata (model, "created", created);
}

/* ---- The worker's reports ---------------------------------------------------------- */

static void
on_worker_batches (DigitTrainingWorker *worker,
                   const NnBatchReport *reports,
                   guint                n_reports,
                   DigitRun            *self)
{
  guint first = self->losses->len;

  for (guint i = 0; i < n_reports; i++)
    {
      const NnBatchReport *r = &reports[i];
      DigitPlotPoint point;

      point.x = r->epoch + (r->batch + 1.0) / MAX (r->batches_per_epoch, 1u);
      point.y = r->loss;
      g_array_append_val (self->losses, point);
    }
  self->last_batch = reports[n_reports - 1];
  self->has_batch = TRUE;
  g_signal_emit (self, signals[BATCHES], 0, first, n_reports);
}

static void
on_worker_epoch (DigitTrainingWorker *worker,
                 const NnEpochReport *report,
                 const GError        *checkpoint_error,
                 DigitRun            *self)
{
  DigitPlotPoint point = { report->epoch + 1.0, 100.0 * report->train_accuracy };

  g_array_append_val (self->train_accuracy, point);
  if (report->test_accuracy >= 0)
    {
      point.y = 100.0 * report->test_accuracy;
      g_array_append_val (self->test_accuracy, point);
      self->last_test_accuracy = report->test_accuracy;
    }
  self->epochs_done = report->epoch + 1;
  self->epoch_seconds += report->seconds;

  if (self->checkpoint)
    {
      if (checkpoint_error == NULL)
        {
          digit_checkpoint_save_info (digit_run_describe (self));
        }
      else if (!self->checkpoint_failed)
        {
          /* Said once; training goes on without a safety net. */
          self->checkpoint_failed = TRUE;
          g_signal_emit (self, signals[CHECKPOINT_FAILED], 0, checkpoint_error);
        }
    }
  g_signal_emit (self, signals[EPOCH], 0, report);
}

static void
on_worker_finished (DigitTrainingWorker  *worker,
                    DigitTrainingOutcome  outcome,
                    const GError         *error,
                    DigitRun             *self)
{
  switch (outcome)
    {
    case DIGIT_TRAINING_PAUSED:
      set_state (self, DIGIT_RUN_PAUSED);
      return;

    case DIGIT_TRAINING_FAILED:
      g_clear_error (&self->error);
      self->error = error != NULL ? g_error_copy (error)
                                  : g_error_new_literal (NN_ERROR, NN_ERROR_FAILED, _("Training failed."));
      break;

    case DIGIT_TRAINING_DONE:
    case DIGIT_TRAINING_STOPPED:
      self->model = digit_training_worker_steal_final_model (worker);
      break;
    }

  /* It is over: the trainer's memory goes, the checkpoint too. */
  g_signal_handlers_disconnect_by_data (worker, self);
  g_clear_object (&self->worker);
  if (self->checkpoint)
    digit_checkpoint_discard ();
  set_state (self, outcome == DIGIT_TRAINING_DONE ? DIGIT_RUN_FINISHED
                   : outcome == DIGIT_TRAINING_STOPPED ? DIGIT_RUN_STOPPED
                   : DIGIT_RUN_FAILED);
  if (self->model != NULL)
    start_evaluation (self, nn_model_copy (self->model));
}

static void
attach_worker (DigitRun            *self,
               DigitTrainingWorker *worker)
{
  self->worker = worker;
  g_signal_connect (worker, "batches", G_CALLBACK (on_worker_batches), self);
  g_signal_connect (worker, "epoch", G_CALLBACK (on_worker_epoch), self);
  g_signal_connect (worker, "finished", G_CALLBACK (on_worker_finished), self);
}

/* ---- Preparing ------------------------------------------------------------------ */

typedef struct {
  /* In */
  char              *spec;
  NnTrainConfig      config;
  DigitTrainingData *full_data;
  guint              train_limit;
  char              *checkpoint_path;   /* to load from, when resuming */
  /* Out */
  DigitTrainingData *data;
  NnModel           *model;             /* NULL when the trainer owns it */
  NnTrainer         *trainer;
} PrepareJob;

static void
prepare_job_free (gpointer user_data)
{
  PrepareJob *job = user_data;

  g_free (job->spec);
  g_free (job->checkpoint_path);
  g_clear_object (&job->full_data);
  g_clear_object (&job->data);
  g_clear_pointer (&job->trainer, nn_trainer_free);
  g_clear_pointer (&job->model, nn_model_free);
  g_free (job);
}

static void
prepare_in_thread (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  PrepareJob *job = task_data;
  GError *error = NULL;
  const NnDataset *train, *test;

  job->data = digit_training_data_limit (job->full_data, job->train_limit);
  train = digit_training_data_get_train (job->data);
  test = digit_training_data_get_test (job->data);

  if (job->checkpoint_path != NULL)
    {
      job->trainer = nn_trainer_load_checkpoint (job->checkpoint_path, train, test, &error);
    }
  else
    {
      job->model = nn_model_new (job->spec, job->config.seed, &error);
      if (job->model != NULL)
        job->trainer = nn_trainer_new (job->model, train, test, &job->config, &error);
    }
  if (job->trainer == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
truncate_points (GArray *points,
                 double  x_max)
{
  guint keep = points->len;

  while (keep > 0 && g_array_index (points, DigitPlotPoint, keep - 1).x > x_max + 1e-9)
    keep--;
  g_array_set_size (points, keep);
}

static void
on_prepared (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(DigitRun) self = user_data;
  PrepareJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  DigitTrainingWorker *worker;
  NnModel *model;
  gboolean resuming = job->checkpoint_path != NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error) || self->stop_when_prepared)
    {
      /* Stopped before it began: nothing was trained, there is no model. */
      if (error == NULL || self->stop_when_prepared
          || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          set_state (self, DIGIT_RUN_STOPPED);
          return;
        }
      self->error = g_steal_pointer (&error);
      set_state (self, DIGIT_RUN_FAILED);
      return;
    }

  g_set_object (&self->data, job->data);
  model = nn_trainer_get_model (job->trainer);
  g_free (self->spec);
  self->spec = g_strdup (nn_model_get_spec (model));
  self->n_params = nn_model_get_param_count (model);
  if (resuming)
    {
      /* Training continues from the checkpoint's epoch: what the curves
       * had beyond it will be trained (and drawn) again. */
      self->epochs_done = nn_trainer_get_epoch (job->trainer);
      truncate_points (self->losses, self->epochs_done);
      truncate_points (self->train_accuracy, self->epochs_done);
      truncate_points (self->test_accuracy, self->epochs_done);
    }
  /* In the model from the start, so that its checkpoints describe it. */
  describe_model (self, model);

  worker = digit_training_worker_new (g_steal_pointer (&job->trainer), g_steal_pointer (&job->model),
                                      self->data, self->checkpoint ? self->checkpoint_path : NULL);
  attach_worker (self, worker);
  if (resuming)
    {
      set_state (self, DIGIT_RUN_PAUSED);
    }
  else
    {
      set_state (self, DIGIT_RUN_TRAINING);
      digit_training_worker_run (worker);
    }
}

static void
prepare (DigitRun   *self,
         const char *load_from)
{
  g_autoptr(GTask) task = NULL;
  PrepareJob *job = g_new0 (PrepareJob, 1);

  job->spec = g_strdup (self->spec);
  job->config = self->config;
  job->full_data = g_object_ref (self->full_data);
  job->train_limit = self->train_limit;
  job->checkpoint_path = g_strdup (load_from);

  set_state (self, DIGIT_RUN_PREPARING);
  task = g_task_new (NULL, self->cancellable, on_prepared, g_object_ref (self));
  g_task_set_source_tag (task, prepare);
  g_task_set_task_data (task, job, prepare_job_free);
  digit_background_run_task (task, prepare_in_thread);
}

void
digit_run_start (DigitRun *self,
                 gboolean  checkpoint)
{
  g_return_if_fail (DIGIT_IS_RUN (self));
  g_return_if_fail (self->state == DIGIT_RUN_NEW);

  self->checkpoint = checkpoint;
  if (checkpoint)
    {
      g_autofree char *folder = NULL;

      self->checkpoint_path = digit_checkpoint_path ();
      folder = g_path_get_dirname (self->checkpoint_path);
      /* The training thread writes there; if it cannot, the first epoch
       * says so ("checkpoint-failed"). */
      g_mkdir_with_parents (folder, 0700);
    }
  prepare (self, NULL);
}

/* ---- Controls ----------------------------------------------------------------------- */

void
digit_run_pause (DigitRun *self)
{
  g_return_if_fail (DIGIT_IS_RUN (self));

  if (self->state != DIGIT_RUN_TRAINING)
    return;
  set_state (self, DIGIT_RUN_PAUSING);
  digit_training_worker_pause (self->worker);
}

void
digit_run_resume (DigitRun *self)
{
  g_return_if_fail (DIGIT_IS_RUN (self));

  if (self->state != DIGIT_RUN_PAUSED)
    return;
  set_state (self, DIGIT_RUN_TRAINING);
  digit_training_worker_run (self->worker);
}

void
digit_run_stop (DigitRun *self)
{
  g_return_if_fail (DIGIT_IS_RUN (self));

  switch (self->state)
    {
    case DIGIT_RUN_NEW:
      set_state (self, DIGIT_RUN_STOPPED);
      break;
    case DIGIT_RUN_PREPARING:
      /* The model and trainer may be ready a moment later; then stop. */
      self->stop_when_prepared = TRUE;
      g_cancellable_cancel (self->cancellable);
      break;
    case DIGIT_RUN_TRAINING:
    case DIGIT_RUN_PAUSING:
    case DIGIT_RUN_PAUSED:
      set_state (self, DIGIT_RUN_STOPPING);
      digit_training_worker_stop (self->worker);
      break;
    default:
      break;
    }
}

gboolean
digit_run_is_active (DigitRun *self)
{
  g_return_val_if_fail (DIGIT_IS_RUN (self), FALSE);

  return self->state == DIGIT_RUN_PREPARING || self->state == DIGIT_RUN_TRAINING
         || self->state == DIGIT_RUN_PAUSING || self->state == DIGIT_RUN_PAUSED
         || self->state == DIGIT_RUN_STOPPING;
}

/* ---- The model ------------------------------------------------------------------------ */

typedef struct {
  DigitRun           *run;
  DigitModelCallback  callback;
  gpointer            user_data;
  NnModel            *model;
} CopyJob;

static void
finish_copy (NnModel  *model,
             gpointer  user_data)
{
  CopyJob *job = user_data;

  if (model != NULL)
    describe_model (job->run, model);
  job->callback (model, job->user_data);
  g_object_unref (job->run);
  g_free (job);
}

static void
finish_copy_later (gpointer user_data)
{
  CopyJob *job = user_data;

  finish_copy (g_steal_pointer (&job->model), job);
}

void
digit_run_copy_model (DigitRun           *self,
                      DigitModelCallback  callback,
                      gpointer            user_data)
{
  CopyJob *job;

  g_return_if_fail (DIGIT_IS_RUN (self));
  g_return_if_fail (callback != NULL);

  job = g_new0 (CopyJob, 1);
  job->run = g_object_ref (self);
  job->callback = callback;
  job->user_data = user_data;
  if (self->worker != NULL)
    {
      digit_training_worker_copy_model (self->worker, finish_copy, job);
      return;
    }
  if (self->model != NULL)
    job->model = nn_model_copy (self->model);
  g_idle_add_once (finish_copy_later, job);
}

gboolean
digit_run_has_model (DigitRun *self)
{
  g_return_val_if_fail (DIGIT_IS_RUN (self), FALSE);

  return self->worker != NULL || self->model != NULL;
}

static void
on_evaluated (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(DigitRun) self = user_data;
  g_autoptr(GError) error = NULL;
  DigitEvaluation *evaluation = digit_evaluation_run_finish (result, &error);

  self->evaluating = FALSE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EVALUATING]);
  if (evaluation == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_message ("Could not evaluate “%s”: %s", self->name, error->message);
      return;
    }
  g_clear_pointer (&self->evaluation, digit_evaluation_unref);
  self->evaluation = evaluation;
  g_signal_emit (self, signals[EVALUATED], 0);
}

static void
start_evaluation (DigitRun *self,
                  NnModel  *model)
{
  DigitTrainingData *data = self->data != NULL ? self->data : self->full_data;

  if (model == NULL || data == NULL || digit_training_data_get_test (data) == NULL)
    {
      g_clear_pointer (&model, nn_model_free);
      return;
    }
  self->evaluating = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EVALUATING]);
  digit_evaluation_run_async (model, data, self->cancellable, on_evaluated, g_object_ref (self));
}

static void
evaluate_copy (NnModel  *model,
               gpointer  user_data)
{
  g_autoptr(DigitRun) self = user_data;

  start_evaluation (self, model);
}

void
digit_run_evaluate (DigitRun *self)
{
  g_return_if_fail (DIGIT_IS_RUN (self));

  if (self->evaluating)
    return;
  if (self->worker != NULL)
    digit_training_worker_copy_model (self->worker, evaluate_copy, g_object_ref (self));
  else if (self->model != NULL)
    start_evaluation (self, nn_model_copy (self->model));
}

gboolean
digit_run_is_evaluating (DigitRun *self)
{
  g_return_val_if_fail (DIGIT_IS_RUN (self), FALSE);

  return self->evaluating;
}

DigitEvaluation *
digit_run_get_evaluation (DigitRun *self)
{
  g_return_val_if_fail (DIGIT_IS_RUN (self), NULL);

  return self->evaluation;
}

/* ---- Accessors ------------------------------------------------------------------------ */

const char *
digit_run_get_name (DigitRun *self)
{
  g_return_val_if_fail (DIGIT_IS_RUN (self), NULL);

  return self->name;
}

void
digit_run_set_name (DigitRun   *self,
                    const char *name)
{
  g_autofree char *stripped = NULL;

  g_return_if_fail (DIGIT_IS_RUN (self));
  g_return_if_fail (name != NULL);

  stripped = g_strstrip (g_strdup (name));
  if (*stripped == '\0' || g_strcmp0 (stripped, self->name) == 0)
    return;
  g_free (self->name);
  self->name = g_steal_pointer (&stripped);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NAME]);
}

DigitRunState
digit_run_get_state (DigitRun *self)
{
  g_return_val_if_fail (DIGIT_IS_RUN (self), DIGIT_RUN_FAILED);

  return self->state;
}

const GError *
digit_run_get_error (DigitRun *self)
{
  g_return_val_if_fail (DIGIT_IS_RUN (self), NULL);

  return self->error;
}

gboolean
digit_run_get_shown (DigitRun *self)
{
  g_return_val_if_fail (DIGIT_IS_RUN (self), FALSE);

  return self->shown;
}

void
digit_run_set_shown (DigitRun *self,
                     gboolean  shown)
{
  g_return_if_fail (DIGIT_IS_RUN (self));

  if (self->shown == !!shown)
    return;
  self->shown = !!shown;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SHOWN]);
}

guint
digit_run_get_color_index (DigitRun *self)
{
  g_return_val_if_fail (DIGIT_IS_RUN (self), 0);

  return self->color_index;
}

void
digit_run_get_color (DigitRun *self,
                     GdkRGBA  *color)
{
  g_return_if_fail (DIGIT_IS_RUN (self));
  g_return_if_fail (color != NULL);

  gdk_rgba_parse (color, palette[self->color_index % G_N_ELEMENTS (palette)]);
}

const char *
digit_run_get_spec (DigitRun *self)
{
  g_return_val_if_fail (DIGIT_IS_RUN (self), NULL);

  return self->spec;
}

const char *
digit_preset_for_spec (const char *spec)
{
  const NnPreset *presets;
  guint n_presets;
  const char *expanded;

  g_return_val_if_fail (spec != NULL, NULL);

  expanded = nn_spec_expand (spec);
  presets = nn_presets (&n_presets);
  for (guint i = 0; i < n_presets; i++)
    if (g_strcmp0 (presets[i].spec, expanded) == 0)
      return presets[i].name;
  return NULL;
}

const char *
digit_preset_label (const char *preset)
{
  static const struct {
    const char *name;
    const char *label;
  } labels[] = {
    { "mlp", N_("Plain Neural Network") },
    { "lenet5", N_("LeNet-5") },
    { "bench-cnn", N_("Benchmark CNN") },
    { "default", N_("Default CNN") },
  };

  for (guint i = 0; i < G_N_ELEMENTS (labels); i++)
    if (g_strcmp0 (preset, labels[i].name) == 0)
      return _(labels[i].label);
  return NULL;
}

const char *
digit_run_get_preset (DigitRun *self)
{
  g_return_val_if_fail (DIGIT_IS_RUN (self), NULL);

  return digit_preset_for_spec (self->spec);
}

const NnTrainConfig *
digit_run_get_config (DigitRun *self)
{
  g_return_val_if_fail (DIGIT_IS_RUN (self), NULL);

  return &self->config;
}

DigitTrainingData *
digit_run_get_data (DigitRun *self)
{
  g_return_val_if_fail (DIGIT_IS_RUN (self), NULL);

  return self->data != NULL ? self->data : self->full_data;
}

guint
digit_run_get_n_train_images (DigitRun *self)
{
  guint full;

  g_return_val_if_fail (DIGIT_IS_RUN (self), 0);

  if (self->data != NULL)
    return digit_training_data_get_train (self->data)->count;
  full = digit_training_data_get_train (self->full_data)->count;
  return self->train_limit > 0 ? MIN (self->train_limit, full) : full;
}

gsize
digit_run_get_param_count (DigitRun *self)
{
  g_return_val_if_fail (DIGIT_IS_RUN (self), 0);

  if (self->n_params == 0)
    nn_spec_validate (self->spec, &self->n_params, NULL);
  return self->n_params;
}

GArray *
digit_run_get_loss_curve (DigitRun *self)
{
  g_return_val_if_fail (DIGIT_IS_RUN (self), NULL);

  return self->losses;
}

GArray *
digit_run_get_train_accuracy_curve (DigitRun *self)
{
  g_return_val_if_fail (DIGIT_IS_RUN (self), NULL);

  return self->train_accuracy;
}

GArray *
digit_run_get_test_accuracy_curve (DigitRun *self)
{
  g_return_val_if_fail (DIGIT_IS_RUN (self), NULL);

  return self->test_accuracy;
}

const NnBatchReport *
digit_run_get_last_batch (DigitRun *self)
{
  g_return_val_if_fail (DIGIT_IS_RUN (self), NULL);

  return self->has_batch ? &self->last_batch : NULL;
}

guint
digit_run_get_epochs_done (DigitRun *self)
{
  g_return_val_if_fail (DIGIT_IS_RUN (self), 0);

  return self->epochs_done;
}

double
digit_run_get_progress (DigitRun *self)
{
  g_return_val_if_fail (DIGIT_IS_RUN (self), 0.0);

  if (self->losses->len > 0)
    return MAX (self->epochs_done,
                g_array_index (self->losses, DigitPlotPoint, self->losses->len - 1).x);
  return self->epochs_done;
}

double
digit_run_get_train_seconds (DigitRun *self)
{
  g_return_val_if_fail (DIGIT_IS_RUN (self), 0.0);

  /* The epochs finished, and the part of the current one trained so far. */
  if (self->has_batch && self->last_batch.epoch >= self->epochs_done && self->last_batch.images_per_s > 0)
    {
      double images = (self->last_batch.batch + 1.0) * self->config.batch_size;

      return self->seconds_before + self->epoch_seconds + images / self->last_batch.images_per_s;
    }
  return self->seconds_before + self->epoch_seconds;
}

double
digit_run_get_test_accuracy (DigitRun *self)
{
  g_return_val_if_fail (DIGIT_IS_RUN (self), -1.0);

  if (self->evaluation != NULL)
    return digit_evaluation_get_accuracy (self->evaluation);
  return self->last_test_accuracy;
}

DigitCheckpointInfo *
digit_run_describe (DigitRun *self)
{
  DigitCheckpointInfo *info;
  DigitTrainingData *data;

  g_return_val_if_fail (DIGIT_IS_RUN (self), NULL);

  data = self->full_data;
  info = digit_checkpoint_info_new ();
  info->name = g_strdup (self->name);
  info->data_folder = g_strdup (digit_training_data_get_folder (data));
  info->data_name = g_strdup (digit_training_data_get_name (data));
  info->train_limit = self->train_limit;
  info->spec = g_strdup (self->spec);
  info->config = self->config;
  info->color_index = self->color_index;
  info->epochs_done = self->epochs_done;
  info->seconds = self->seconds_before + self->epoch_seconds;
  g_array_append_vals (info->losses, self->losses->data, self->losses->len);
  g_array_append_vals (info->train_accuracy, self->train_accuracy->data, self->train_accuracy->len);
  g_array_append_vals (info->test_accuracy, self->test_accuracy->data, self->test_accuracy->len);
  return info;
}

/* ---- GObject ------------------------------------------------------------------------- */

static void
digit_run_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  DigitRun *self = DIGIT_RUN (object);

  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_SHOWN:
      g_value_set_boolean (value, self->shown);
      break;
    case PROP_EVALUATING:
      g_value_set_boolean (value, self->evaluating);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
digit_run_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  DigitRun *self = DIGIT_RUN (object);

  switch (prop_id)
    {
    case PROP_NAME:
      digit_run_set_name (self, g_value_get_string (value));
      break;
    case PROP_SHOWN:
      digit_run_set_shown (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
digit_run_dispose (GObject *object)
{
  DigitRun *self = DIGIT_RUN (object);

  g_cancellable_cancel (self->cancellable);
  if (self->worker != NULL)
    {
      /* The thread stops after its batch; the worker outlives us until
       * it has. */
      g_signal_handlers_disconnect_by_data (self->worker, self);
      digit_training_worker_pause (self->worker);
      g_clear_object (&self->worker);
    }

  G_OBJECT_CLASS (digit_run_parent_class)->dispose (object);
}

static void
digit_run_finalize (GObject *object)
{
  DigitRun *self = DIGIT_RUN (object);

  g_free (self->name);
  g_free (self->spec);
  g_free (self->checkpoint_path);
  g_clear_object (&self->full_data);
  g_clear_object (&self->data);
  g_clear_object (&self->cancellable);
  g_clear_error (&self->error);
  g_array_unref (self->losses);
  g_array_unref (self->train_accuracy);
  g_array_unref (self->test_accuracy);
  g_clear_pointer (&self->model, nn_model_free);
  g_clear_pointer (&self->evaluation, digit_evaluation_unref);

  G_OBJECT_CLASS (digit_run_parent_class)->finalize (object);
}

static void
digit_run_class_init (DigitRunClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = digit_run_get_property;
  object_class->set_property = digit_run_set_property;
  object_class->dispose = digit_run_dispose;
  object_class->finalize = digit_run_finalize;

  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, DIGIT_TYPE_RUN_STATE, DIGIT_RUN_NEW,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SHOWN] =
    g_param_spec_boolean ("shown", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_EVALUATING] =
    g_param_spec_boolean ("evaluating", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * DigitRun::batches:
   * @first: the index in digit_run_get_loss_curve() of the first new loss
   * @n: how many losses came
   */
  signals[BATCHES] = g_signal_new ("batches", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_UINT);
  /**
   * DigitRun::epoch:
   * @report: the NnEpochReport of the epoch just finished
   */
  signals[EPOCH] = g_signal_new ("epoch", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                 0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[EVALUATED] = g_signal_new ("evaluated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                     0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /**
   * DigitRun::checkpoint-failed:
   * @error: why the checkpoint could not be written
   */
  signals[CHECKPOINT_FAILED] = g_signal_new ("checkpoint-failed", G_TYPE_FROM_CLASS (klass),
                                             G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                             G_TYPE_NONE, 1, G_TYPE_POINTER);
}

static void
digit_run_init (DigitRun *self)
{
  self->shown = TRUE;
  self->state = DIGIT_RUN_NEW;
  self->cancellable = g_cancellable_new ();
  self->losses = g_array_new (FALSE, FALSE, sizeof (DigitPlotPoint));
  self->train_accuracy = g_array_new (FALSE, FALSE, sizeof (DigitPlotPoint));
  self->test_accuracy = g_array_new (FALSE, FALSE, sizeof (DigitPlotPoint));
  self->last_test_accuracy = -1.0;
}

DigitRun *
digit_run_new (const char          *name,
               const char          *spec,
               const NnTrainConfig *config,
               DigitTrainingData   *data,
               guint                train_limit,
               guint                color_index)
{
  DigitRun *self;

  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (spec != NULL, NULL);
  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (DIGIT_IS_TRAINING_DATA (data), NULL);

  self = g_object_new (DIGIT_TYPE_RUN, NULL);
  self->name = g_strdup (name);
  self->spec = g_strdup (spec);
  self->config = *config;
  self->full_data = g_object_ref (data);
  self->train_limit = train_limit;
  self->color_index = color_index;
  return self;
}

DigitRun *
digit_run_new_from_checkpoint (const DigitCheckpointInfo *info,
                               DigitTrainingData         *data)
{
  DigitRun *self;
  g_autofree char *path = digit_checkpoint_path ();

  g_return_val_if_fail (info != NULL, NULL);
  g_return_val_if_fail (DIGIT_IS_TRAINING_DATA (data), NULL);

  self = digit_run_new (info->name, info->spec, &info->config, data,
                        info->train_limit, info->color_index);
  g_array_append_vals (self->losses, info->losses->data, info->losses->len);
  g_array_append_vals (self->train_accuracy, info->train_accuracy->data, info->train_accuracy->len);
  g_array_append_vals (self->test_accuracy, info->test_accuracy->data, info->test_accuracy->len);
  if (self->test_accuracy->len > 0)
    self->last_test_accuracy =
      g_array_index (self->test_accuracy, DigitPlotPoint, self->test_accuracy->len - 1).y / 100.0;
  self->epochs_done = info->epochs_done;
  self->seconds_before = info->seconds;
  self->checkpoint = TRUE;
  self->checkpoint_path = g_strdup (path);
  prepare (self, path);
  return self;
}

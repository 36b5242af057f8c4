/* test-training-worker.c — the training page's machinery without its
 * widgets: the worker thread and its throttled reports, pause and resume,
 * stopping, model copies, checkpoints and their description, runs from
 * start to evaluation, and a run continued from a checkpoint after a
 * "crash" ending bit for bit where an uninterrupted one does.
 *
 * Trains small networks on the first few hundred MNIST images
 * ($DIGITLAB_MNIST_DIR; skipped visibly without it). */
#include "config.h"

#include <locale.h>
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "digit-checkpoint.h"
#include "digit-evaluation.h"
#include "digit-run.h"
#include "digit-training-data.h"
#include "digit-training-worker.h"

#define SPEC "dense:32 relu dense:10"
#define N_TRAIN 600
#define BATCH 20

static DigitTrainingData *mnist;     /* the full set, loaded once */
static char *state_home;

/* ---- Helpers ---------------------------------------------------------------- */

static void
on_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GError **error = user_data;

  mnist = digit_training_data_load_finish (result, error);
}

static gboolean
have_mnist (void)
{
  if (mnist == NULL)
    {
      g_test_skip ("MNIST not found ($DIGITLAB_MNIST_DIR)");
      return FALSE;
    }
  return TRUE;
}

static gboolean
keep_waking (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Runs the main loop until @done (@data), failing after @timeout_s: a
 * timer wakes the loop, so that a wait for an event that never comes
 * fails instead of hanging. */
static void
iterate_while_not (gboolean (*done) (gconstpointer data), gconstpointer data, double timeout_s)
{
  gint64 end = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);
  guint waker = g_timeout_add (100, keep_waking, NULL);

  while (!done (data))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, end);
      g_main_context_iteration (NULL, TRUE);
    }
  g_source_remove (waker);
}

static gboolean
flag_set (gconstpointer data)
{
  return *(const gboolean *) data;
}

static gboolean
model_given (gconstpointer data)
{
  return *(NnModel *const *) data != NULL;
}

static void
iterate_until (gboolean *condition, double timeout_s)
{
  iterate_while_not (flag_set, condition, timeout_s);
}

/* Until a copy callback has put a model in *@model. */
static void
iterate_until_copied (NnModel **model, double timeout_s)
{
  iterate_while_not (model_given, model, timeout_s);
}

static NnTrainConfig
small_config (guint epochs)
{
  NnTrainConfig config;

  nn_train_config_init (&config);
  config.epochs = epochs;
  config.batch_size = BATCH;
  config.seed = 7;
  return config;
}

static gboolean
models_equal (NnModel *a, NnModel *b)
{
  if (nn_model_get_n_tensors (a) != nn_model_get_n_tensors (b))
    return FALSE;
  for (guint i = 0; i < nn_model_get_n_tensors (a); i++)
    {
      NnTensor ta, tb;

      nn_model_get_tensor (a, i, &ta);
      nn_model_get_tensor (b, i, &tb);
      if (ta.n_elements != tb.n_elements || memcmp (ta.data, tb.data, ta.n_elements * sizeof (float)) != 0)
        return FALSE;
    }
  return TRUE;
}

/* A worker over a fresh model of SPEC on the first N_TRAIN images. */
typedef struct {
  DigitTrainingData   *data;
  DigitTrainingWorker *worker;
  GArray              *batches;       /* NnBatchReport, as delivered */
  guint                deliveries;
  guint                epochs;
  gboolean             finished;
  DigitTrainingOutcome outcome;
  gint64               first_delivery_us, last_delivery_us;
  guint                pause_after_deliveries;   /* 0: never */
  guint                pauses;
} Run;

static void
on_batches (DigitTrainingWorker *worker, const NnBatchReport *reports, guint n, Run *run)
{
  gint64 now = g_get_monotonic_time ();

  if (run->deliveries++ == 0)
    run->first_delivery_us = now;
  run->last_delivery_us = now;
  g_array_append_vals (run->batches, reports, n);
  if (run->pause_after_deliveries > 0 && run->deliveries % run->pause_after_deliveries == 0)
    digit_training_worker_pause (worker);
}

static void
on_epoch (DigitTrainingWorker *worker, const NnEpochReport *report, const GError *error, Run *run)
{
  g_assert_no_error ((GError *) error);
  g_assert_cmpuint (report->epoch, ==, run->epochs);
  g_assert_cmpfloat (report->test_accuracy, >=, 0.0);
  run->epochs++;
}

static void
on_finished (DigitTrainingWorker *worker, DigitTrainingOutcome outcome, const GError *error, Run *run)
{
  g_assert_false (digit_training_worker_is_running (worker));
  if (outcome == DIGIT_TRAINING_PAUSED)
    {
      /* Paused: continue at once, as the page's Resume does. */
      run->pauses++;
      digit_training_worker_run (worker);
      return;
    }
  run->outcome = outcome;
  run->finished = TRUE;
}

static void
run_init (Run *run, guint epochs, const char *checkpoint)
{
  NnTrainConfig config = small_config (epochs);
  g_autoptr(GError) error = NULL;
  NnModel *model;
  NnTrainer *trainer;

  memset (run, 0, sizeof *run);
  run->data = digit_training_data_limit (mnist, N_TRAIN);
  model = nn_model_new (SPEC, config.seed, &error);
  g_assert_no_error (error);
  trainer = nn_trainer_new (model, digit_training_data_get_train (run->data),
                            digit_training_data_get_test (run->data), &config, &error);
  g_assert_no_error (error);
  run->worker = digit_training_worker_new (trainer, model, run->data, checkpoint);
  run->batches = g_array_new (FALSE, FALSE, sizeof (NnBatchReport));
  g_signal_connect (run->worker, "batches", G_CALLBACK (on_batches), run);
  g_signal_connect (run->worker, "epoch", G_CALLBACK (on_epoch), run);
  g_signal_connect (run->worker, "finished", G_CALLBACK (on_finished), run);
}

static void
run_clear (Run *run)
{
  g_clear_object (&run->worker);
  g_clear_object (&run->data);
  g_clear_pointer (&run->batches, g_array_unref);
}

/* ---- The worker ------------------------------------------------------------ */

static void
test_worker_reports_every_batch (void)
{
  Run run;
  guint per_epoch = N_TRAIN / BATCH;
  double seconds, allowed;
  g_autoptr(NnModel) model = NULL;

  if (!have_mnist ())
    return;
  run_init (&run, 3, NULL);
  digit_training_worker_run (run.worker);
  g_assert_true (digit_training_worker_is_running (run.worker));
  iterate_until (&run.finished, 120);

  g_assert_cmpint (run.outcome, ==, DIGIT_TRAINING_DONE);
  g_assert_cmpuint (run.epochs, ==, 3);
  /* Every batch, once, in order. */
  g_assert_cmpuint (run.batches->len, ==, 3 * per_epoch);
  for (guint i = 0; i < run.batches->len; i++)
    {
      const NnBatchReport *r = &g_array_index (run.batches, NnBatchReport, i);

      g_assert_cmpuint (r->epoch, ==, i / per_epoch);
      g_assert_cmpuint (r->batch, ==, i % per_epoch);
      g_assert_cmpuint (r->batches_per_epoch, ==, per_epoch);
      g_assert_true (isfinite (r->loss));
    }
  /* Throttled: no more deliveries than the rate allows over the time they
   * took (plus the first, and the immediate ones at epoch ends). */
  seconds = (run.last_delivery_us - run.first_delivery_us) / (double) G_USEC_PER_SEC;
  allowed = seconds * DIGIT_TRAINING_WORKER_HZ + 1 + 2 * run.epochs;
  g_test_message ("%u batches in %u deliveries over %.2f s", run.batches->len, run.deliveries, seconds);
  g_assert_cmpfloat (run.deliveries, <=, allowed);
  g_assert_cmpuint (run.deliveries, <, run.batches->len);

  model = digit_training_worker_steal_final_model (run.worker);
  g_assert_nonnull (model);
  g_assert_cmpstr (nn_model_get_spec (model), ==, SPEC);
  run_clear (&run);
}

static void
test_pause_resume_is_exact (void)
{
  Run straight, paused;
  g_autoptr(NnModel) a = NULL;
  g_autoptr(NnModel) b = NULL;

  if (!have_mnist ())
    return;
  run_init (&straight, 4, NULL);
  digit_training_worker_run (straight.worker);
  iterate_until (&straight.finished, 120);

  /* Paused at every delivery, resumed at once each time. */
  run_init (&paused, 4, NULL);
  paused.pause_after_deliveries = 1;
  digit_training_worker_run (paused.worker);
  iterate_until (&paused.finished, 120);
  g_test_message ("paused and resumed %u times", paused.pauses);
  g_assert_cmpuint (paused.pauses, >, 0);
  g_assert_cmpint (paused.outcome, ==, DIGIT_TRAINING_DONE);
  g_assert_cmpuint (paused.batches->len, ==, straight.batches->len);

  a = digit_training_worker_steal_final_model (straight.worker);
  b = digit_training_worker_steal_final_model (paused.worker);
  g_assert_true (models_equal (a, b));
  run_clear (&straight);
  run_clear (&paused);
}

static void
on_copy (NnModel *model, gpointer user_data)
{
  NnModel **out = user_data;

  *out = model;
}

static void
stop_on_first_batches (DigitTrainingWorker *worker, const NnBatchReport *reports, guint n, gpointer data)
{
  digit_training_worker_stop (worker);
}

static void
test_copy_and_stop (void)
{
  Run run;
  NnModel *copy = NULL;
  g_autoptr(NnModel) final = NULL;
  float image[NN_IMAGE_PIXELS], probabilities[NN_CLASSES], sum = 0;

  if (!have_mnist ())
    return;
  run_init (&run, 50, NULL);
  digit_training_worker_run (run.worker);
  /* A copy taken between two batches while the thread trains. */
  digit_training_worker_copy_model (run.worker, on_copy, &copy);
  iterate_until_copied (&copy, 60);
  g_assert_true (digit_training_worker_is_running (run.worker));
  g_assert_cmpstr (nn_model_get_spec (copy), ==, SPEC);
  nn_dataset_get_image (digit_training_data_get_test (run.data), 0, image);
  nn_model_predict (copy, image, 1, probabilities);
  for (guint i = 0; i < NN_CLASSES; i++)
    sum += probabilities[i];
  g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-4);
  nn_model_free (copy);

  /* Stopped while training: over at the next batch, long before 50
   * epochs, with the model as it was. */
  g_signal_connect (run.worker, "batches", G_CALLBACK (stop_on_first_batches), NULL);
  iterate_until (&run.finished, 60);
  g_assert_cmpint (run.outcome, ==, DIGIT_TRAINING_STOPPED);
  g_assert_cmpuint (run.epochs, <, 50);
  final = digit_training_worker_steal_final_model (run.worker);
  g_assert_nonnull (final);
  /* Stopped is final: running again does nothing. */
  digit_training_worker_run (run.worker);
  g_assert_false (digit_training_worker_is_running (run.worker));
  run_clear (&run);
}

static void
test_stop_when_paused (void)
{
  Run run;
  g_autoptr(NnModel) final = NULL;

  if (!have_mnist ())
    return;
  /* Never started counts as paused: stopping ends it at once. */
  run_init (&run, 1, NULL);
  digit_training_worker_stop (run.worker);
  digit_training_worker_stop (run.worker);   /* twice is harmless */
  iterate_until (&run.finished, 10);
  g_assert_cmpint (run.outcome, ==, DIGIT_TRAINING_STOPPED);
  final = digit_training_worker_steal_final_model (run.worker);
  g_assert_nonnull (final);
  g_assert_null (digit_training_worker_steal_final_model (run.worker));
  run_clear (&run);
}

static void
test_checkpoint_every_epoch (void)
{
  g_autofree char *path = g_build_filename (state_home, "worker-checkpoint.safetensors", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(NnTrainer) loaded = NULL;
  Run run;

  if (!have_mnist ())
    return;
  run_init (&run, 2, path);
  digit_training_worker_run (run.worker);
  iterate_until (&run.finished, 120);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));

  loaded = nn_trainer_load_checkpoint (path, digit_training_data_get_train (run.data),
                                       digit_training_data_get_test (run.data), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (nn_trainer_get_epoch (loaded), ==, 2);
  g_assert_true (nn_trainer_is_done (loaded));
  g_unlink (path);
  run_clear (&run);
}

/* ---- Checkpoint descriptions ---------------------------------------------------- */

static void
test_checkpoint_info_round_trip (void)
{
  g_autoptr(DigitCheckpointInfo) info = digit_checkpoint_info_new ();
  g_autoptr(DigitCheckpointInfo) back = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *json = NULL;
  DigitPlotPoint points[] = { { 0.25, 2.3 }, { 0.5, NAN }, { 1.0, 0.125 } };

  info->name = g_strdup ("Run “1”\n");
  info->data_folder = g_strdup ("/data/mnist");
  info->data_name = g_strdup ("MNIST");
  info->train_limit = 2000;
  info->spec = g_strdup ("lenet5");
  info->config.epochs = 5;
  info->config.optimizer = NN_OPTIMIZER_SGD;
  info->config.schedule = NN_SCHEDULE_ONECYCLE;
  info->config.seed = G_GUINT64_CONSTANT (18446744073709551615);
  info->config.learning_rate = 0.0123f;
  info->config.augment = TRUE;
  info->config.digit_styles = TRUE;
  info->color_index = 3;
  info->epochs_done = 2;
  info->seconds = 12.5;
  g_array_append_vals (info->losses, points, G_N_ELEMENTS (points));
  g_array_append_val (info->test_accuracy, points[2]);

  json = digit_checkpoint_info_to_json (info);
  back = digit_checkpoint_info_from_json (json, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back->name, ==, info->name);
  g_assert_cmpstr (back->data_folder, ==, "/data/mnist");
  g_assert_cmpuint (back->train_limit, ==, 2000);
  g_assert_cmpstr (back->spec, ==, "lenet5");
  g_assert_cmpuint (back->config.epochs, ==, 5);
  g_assert_cmpint (back->config.optimizer, ==, NN_OPTIMIZER_SGD);
  g_assert_cmpint (back->config.schedule, ==, NN_SCHEDULE_ONECYCLE);
  g_assert_true (back->config.seed == G_GUINT64_CONSTANT (18446744073709551615));
  g_assert_true (back->config.learning_rate == 0.0123f);
  g_assert_true (back->config.augment);
  g_assert_true (back->config.digit_styles);
  g_assert_cmpuint (back->color_index, ==, 3);
  g_assert_cmpuint (back->epochs_done, ==, 2);
  g_assert_cmpuint (back->losses->len, ==, 3);
  g_assert_true (isnan (g_array_index (back->losses, DigitPlotPoint, 1).y));
  g_assert_cmpfloat (g_array_index (back->losses, DigitPlotPoint, 2).y, ==, 0.125);
  g_assert_cmpuint (back->test_accuracy->len, ==, 1);
  g_assert_cmpuint (back->train_accuracy->len, ==, 0);

  /* Damaged descriptions are refused, not half-read. */
  g_clear_pointer (&back, digit_checkpoint_info_free);
  back = digit_checkpoint_info_from_json ("{\"version\": 1}", &error);
  g_assert_null (back);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);
  back = digit_checkpoint_info_from_json ("[1, 2", &error);
  g_assert_null (back);
  g_assert_nonnull (error);
}

/* ---- Runs ------------------------------------------------------------------------- */

static void
on_state (DigitRun *run, GParamSpec *pspec, gpointer user_data)
{
  gboolean *ended = user_data;
  DigitRunState state = digit_run_get_state (run);

  if (state == DIGIT_RUN_FINISHED || state == DIGIT_RUN_STOPPED || state == DIGIT_RUN_FAILED)
    *ended = TRUE;
}

static void
on_evaluated (DigitRun *run, gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
}

static void
checkpoint_failed (DigitRun *run, const GError *error, gpointer user_data)
{
  g_error ("checkpoint not written: %s", error->message);
}

static void
test_run_to_evaluation (void)
{
  NnTrainConfig config = small_config (2);
  g_autoptr(DigitRun) run = NULL;
  g_autoptr(NnModel) copy = NULL;
  g_autoptr(GArray) cell = NULL;
  g_autofree char *checkpoint = digit_checkpoint_path ();
  guint confusion[NN_CLASSES][NN_CLASSES] = { { 0 } };
  gboolean ended = FALSE, evaluated = FALSE;
  DigitEvaluation *evaluation;
  double accuracy;
  guint total = 0, diagonal_count;

  if (!have_mnist ())
    return;
  run = digit_run_new ("First run", "mlp", &config, mnist, N_TRAIN, 0);
  g_signal_connect (run, "notify::state", G_CALLBACK (on_state), &ended);
  g_signal_connect (run, "evaluated", G_CALLBACK (on_evaluated), &evaluated);
  g_signal_connect (run, "checkpoint-failed", G_CALLBACK (checkpoint_failed), NULL);
  g_assert_cmpuint (digit_run_get_n_train_images (run), ==, N_TRAIN);
  digit_run_start (run, TRUE);
  g_assert_cmpint (digit_run_get_state (run), ==, DIGIT_RUN_PREPARING);
  g_assert_true (digit_run_is_active (run));
  iterate_until (&ended, 120);

  g_assert_cmpint (digit_run_get_state (run), ==, DIGIT_RUN_FINISHED);
  g_assert_false (digit_run_is_active (run));
  /* The spec became canonical; the preset is recognised in it. */
  g_assert_cmpstr (digit_run_get_spec (run), ==, nn_spec_expand ("mlp"));
  g_assert_cmpstr (digit_run_get_preset (run), ==, "mlp");
  g_assert_cmpuint (digit_run_get_loss_curve (run)->len, ==, 2 * N_TRAIN / BATCH);
  g_assert_cmpuint (digit_run_get_train_accuracy_curve (run)->len, ==, 2);
  g_assert_cmpuint (digit_run_get_test_accuracy_curve (run)->len, ==, 2);
  g_assert_cmpuint (digit_run_get_epochs_done (run), ==, 2);
  g_assert_cmpfloat (digit_run_get_progress (run), ==, 2.0);
  g_assert_cmpfloat (digit_run_get_train_seconds (run), >, 0.0);
  /* A finished run leaves no checkpoint to resume. */
  digit_checkpoint_sync ();
  g_assert_false (g_file_test (checkpoint, G_FILE_TEST_EXISTS));
  g_assert_null (digit_checkpoint_find (NULL));

  iterate_until (&evaluated, 120);
  evaluation = digit_run_get_evaluation (run);
  g_assert_nonnull (evaluation);
  g_assert_cmpuint (digit_evaluation_get_n_images (evaluation), ==, 10000);

  /* The engine's own evaluation agrees, cell by cell. */
  digit_run_copy_model (run, on_copy, &copy);
  iterate_until_copied (&copy, 60);
  accuracy = nn_model_evaluate (copy, digit_training_data_get_test (mnist), confusion);
  g_assert_cmpfloat_with_epsilon (digit_evaluation_get_accuracy (evaluation), accuracy, 1e-9);
  g_assert_cmpfloat_with_epsilon (digit_run_get_test_accuracy (run), accuracy, 1e-9);
  for (guint t = 0; t < NN_CLASSES; t++)
    for (guint p = 0; p < NN_CLASSES; p++)
      {
        g_assert_cmpuint (digit_evaluation_get_count (evaluation, t, p), ==, confusion[t][p]);
        total += confusion[t][p];
      }
  g_assert_cmpuint (total, ==, 10000);
  g_test_message ("600 images, 2 epochs: test accuracy %.4f", accuracy);
  g_assert_cmpfloat (accuracy, >, 0.5);

  /* A cell's images are those of that class read as that digit, most
   * confident first. */
  diagonal_count = digit_evaluation_get_count (evaluation, 1, 1);
  cell = digit_evaluation_get_cell (evaluation, 1, 1);
  g_assert_cmpuint (cell->len, ==, diagonal_count);
  for (guint i = 0; i < cell->len; i++)
    {
      guint index = g_array_index (cell, guint, i);
      const float *probabilities = digit_evaluation_get_probabilities (evaluation, index);

      g_assert_cmpuint (digit_evaluation_get_label (evaluation, index), ==, 1);
      for (guint d = 0; d < NN_CLASSES; d++)
        g_assert_cmpfloat (probabilities[1], >=, probabilities[d]);
      if (i > 0)
        g_assert_cmpfloat (probabilities[1], <=,
                           digit_evaluation_get_probabilities (evaluation, g_array_index (cell, guint, i - 1))[1]);
    }

  /* The copy carries what docs/model-format.md says a trained model does. */
  g_assert_cmpstr (nn_model_get_metadata (copy, "name"), ==, "First run");
  g_assert_cmpstr (nn_model_get_metadata (copy, "train_images"), ==, "600");
  g_assert_cmpstr (nn_model_get_metadata (copy, "test_images"), ==, "10000");
  g_assert_cmpstr (nn_model_get_metadata (copy, "epochs"), ==, "2");
  g_assert_cmpstr (nn_model_get_metadata (copy, "batch"), ==, "20");
  g_assert_cmpstr (nn_model_get_metadata (copy, "optimizer"), ==, "adam");
  g_assert_cmpstr (nn_model_get_metadata (copy, "lr"), ==, "0.001");
  g_assert_cmpstr (nn_model_get_metadata (copy, "seed"), ==, "7");
  g_assert_nonnull (nn_model_get_metadata (copy, "test_accuracy"));
  g_assert_nonnull (nn_model_get_metadata (copy, "created"));
  g_assert_null (nn_model_get_metadata (copy, "epochs_done"));
}

static void
pause_after_first_epoch (DigitRun *run, const NnEpochReport *report, gpointer user_data)
{
  if (report->epoch == 0)
    digit_run_pause (run);
}

static void
on_paused (DigitRun *run, GParamSpec *pspec, gpointer user_data)
{
  if (digit_run_get_state (run) == DIGIT_RUN_PAUSED)
    *(gboolean *) user_data = TRUE;
}

static void
test_run_resumed_from_checkpoint (void)
{
  /* Enough epochs that the main loop pauses the run before its thread
   * gets through them all: 5 epochs of this small network ended before
   * the first epoch's report reached the main loop. */
  NnTrainConfig config = small_config (40);
  g_autoptr(DigitRun) straight = NULL;
  g_autoptr(DigitRun) crashed = NULL;
  g_autoptr(DigitRun) resumed = NULL;
  g_autoptr(DigitCheckpointInfo) info = NULL;
  g_autoptr(GError) error = NULL;
  NnModel *a = NULL, *b = NULL;
  gboolean ended = FALSE, paused = FALSE, loaded = FALSE;

  if (!have_mnist ())
    return;
  straight = digit_run_new ("Straight", SPEC, &config, mnist, N_TRAIN, 0);
  g_signal_connect (straight, "notify::state", G_CALLBACK (on_state), &ended);
  digit_run_start (straight, FALSE);
  iterate_until (&ended, 120);

  /* A run that gets through an epoch or two (the thread runs ahead of
   * the main loop that pauses it), then the app "crashes": the run object
   * is dropped without stopping, as at a crash nothing is cleaned. */
  crashed = digit_run_new ("Crashed", SPEC, &config, mnist, N_TRAIN, 4);
  g_signal_connect (crashed, "checkpoint-failed", G_CALLBACK (checkpoint_failed), NULL);
  g_signal_connect (crashed, "epoch", G_CALLBACK (pause_after_first_epoch), NULL);
  g_signal_connect (crashed, "notify::state", G_CALLBACK (on_paused), &paused);
  digit_run_start (crashed, TRUE);
  iterate_until (&paused, 120);
  g_clear_object (&crashed);
  digit_checkpoint_sync ();

  info = digit_checkpoint_find (&error);
  g_assert_no_error (error);
  g_assert_nonnull (info);
  g_test_message ("paused after %u of %u epochs", info->epochs_done, config.epochs);
  g_assert_cmpstr (info->name, ==, "Crashed");
  g_assert_cmpuint (info->epochs_done, >=, 1);
  g_assert_cmpuint (info->epochs_done, <, config.epochs);
  g_assert_cmpuint (info->train_limit, ==, N_TRAIN);
  g_assert_cmpuint (info->color_index, ==, 4);
  g_assert_cmpuint (info->test_accuracy->len, ==, info->epochs_done);
  g_assert_cmpuint (info->losses->len, >=, info->epochs_done * N_TRAIN / BATCH);

  /* At the next start: the run comes back paused, its curves with it. */
  resumed = digit_run_new_from_checkpoint (info, mnist);
  g_signal_connect (resumed, "notify::state", G_CALLBACK (on_paused), &loaded);
  iterate_until (&loaded, 60);
  g_assert_cmpuint (digit_run_get_epochs_done (resumed), ==, info->epochs_done);
  g_assert_cmpuint (digit_run_get_loss_curve (resumed)->len, ==, info->epochs_done * N_TRAIN / BATCH);
  g_assert_cmpuint (digit_run_get_test_accuracy_curve (resumed)->len, ==, info->epochs_done);
  g_assert_cmpstr (digit_run_get_name (resumed), ==, "Crashed");

  ended = FALSE;
  g_signal_connect (resumed, "notify::state", G_CALLBACK (on_state), &ended);
  digit_run_resume (resumed);
  iterate_until (&ended, 120);
  g_assert_cmpint (digit_run_get_state (resumed), ==, DIGIT_RUN_FINISHED);
  g_assert_cmpuint (digit_run_get_loss_curve (resumed)->len, ==, config.epochs * N_TRAIN / BATCH);
  g_assert_cmpuint (digit_run_get_test_accuracy_curve (resumed)->len, ==, config.epochs);

  /* Bit for bit the model of the run that never stopped. */
  digit_run_copy_model (straight, on_copy, &a);
  digit_run_copy_model (resumed, on_copy, &b);
  iterate_until_copied (&a, 60);
  iterate_until_copied (&b, 60);
  g_assert_true (models_equal (a, b));
  nn_model_free (a);
  nn_model_free (b);

  digit_checkpoint_sync ();
  g_assert_null (digit_checkpoint_find (NULL));
}

static void
test_stop_while_preparing (void)
{
  NnTrainConfig config = small_config (1);
  g_autoptr(DigitRun) run = NULL;
  gboolean ended = FALSE;

  if (!have_mnist ())
    return;
  run = digit_run_new ("Quick", SPEC, &config, mnist, 0, 0);
  g_signal_connect (run, "notify::state", G_CALLBACK (on_state), &ended);
  digit_run_start (run, FALSE);
  digit_run_stop (run);
  iterate_until (&ended, 60);
  g_assert_cmpint (digit_run_get_state (run), ==, DIGIT_RUN_STOPPED);
  g_assert_cmpuint (digit_run_get_loss_curve (run)->len, ==, 0);
}

int
main (int argc, char *argv[])
{
  const char *mnist_dir = g_getenv ("DIGITLAB_MNIST_DIR");
  g_autoptr(GError) error = NULL;
  int status;

  setlocale (LC_ALL, "C");
  /* Checkpoints go to a folder of the test's own. */
  state_home = g_dir_make_tmp ("digitlab-test-XXXXXX", NULL);
  g_setenv ("XDG_STATE_HOME", state_home, TRUE);
  g_test_init (&argc, &argv, NULL);

  if (mnist_dir != NULL && digit_training_data_folder_has_files (mnist_dir))
    {
      digit_training_data_load_async (mnist_dir, "MNIST", NULL, on_loaded, &error);
      while (mnist == NULL && error == NULL)
        g_main_context_iteration (NULL, TRUE);
      g_assert_no_error (error);
    }

  g_test_add_func ("/training/worker/every-batch-throttled", test_worker_reports_every_batch);
  g_test_add_func ("/training/worker/pause-resume-exact", test_pause_resume_is_exact);
  g_test_add_func ("/training/worker/copy-and-stop", test_copy_and_stop);
  g_test_add_func ("/training/worker/stop-when-paused", test_stop_when_paused);
  g_test_add_func ("/training/worker/checkpoint-every-epoch", test_checkpoint_every_epoch);
  g_test_add_func ("/training/checkpoint/info-round-trip", test_checkpoint_info_round_trip);
  g_test_add_func ("/training/run/to-evaluation", test_run_to_evaluation);
  g_test_add_func ("/training/run/resumed-from-checkpoint", test_run_resumed_from_checkpoint);
  g_test_add_func ("/training/run/stop-while-preparing", test_stop_while_preparing);
  status = g_test_run ();

  g_clear_object (&mnist);
  {
    g_autofree char *folder = g_build_filename (state_home, "digitlab", NULL);

    g_rmdir (folder);
    g_rmdir (state_home);
  }
  return status;
}

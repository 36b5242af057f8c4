/* test-train.c — the trainer: it learns, it reports, it stops when asked,
 * it refuses what it cannot do; and prediction and evaluation agree.
 */
#include "test-util.h"

#include <math.h>

#define SMALL_CNN "conv3x3:8 relu maxpool dense:32 relu dense:10"

typedef struct {
  guint   batches;
  guint   epochs;
  guint   last_epoch;
  guint   last_batch;
  float   first_loss;
  float   last_loss;
  float   last_test_accuracy;
  float   last_train_accuracy;
  double  last_eta;
  double  last_elapsed;
  guint   batches_per_epoch;
  GCancellable *cancel_at_batch;   /* cancelled when ... */
  guint   cancel_after;            /* ... this many batches were reported */
  NnModel *model;                  /* with @test: each epoch's test accuracy */
  const NnDataset *test;           /* is checked against a fresh copy's */
} Log;

static void
on_batch (const NnBatchReport *report, gpointer user_data)
{
  Log *log = user_data;

  g_assert_cmpuint (report->batch, <, report->batches_per_epoch);
  g_assert_cmpuint (report->epoch, <, report->epochs);
  g_assert_true (isfinite (report->loss));
  g_assert_cmpfloat (report->accuracy, >=, 0);
  g_assert_cmpfloat (report->accuracy, <=, 1);
  g_assert_cmpfloat (report->learning_rate, >, 0);
  g_assert_cmpfloat (report->images_per_s, >=, 0);
  g_assert_cmpfloat (report->elapsed_s, >=, log->last_elapsed);
  if (log->batches > 0)
    g_assert_cmpuint (report->epoch * report->batches_per_epoch + report->batch, ==,
                      log->last_epoch * report->batches_per_epoch + log->last_batch + 1);
  if (log->batches == 0)
    log->first_loss = report->loss;
  log->last_loss = report->loss;
  log->last_epoch = report->epoch;
  log->last_batch = report->batch;
  log->last_eta = report->eta_s;
  log->last_elapsed = report->elapsed_s;
  log->batches_per_epoch = report->batches_per_epoch;
  log->batches++;
  if (log->cancel_at_batch != NULL && log->batches == log->cancel_after)
    g_cancellable_cancel (log->cancel_at_batch);
}

static void
on_epoch (const NnEpochReport *report, gpointer user_data)
{
  Log *log = user_data;

  g_assert_cmpuint (report->epoch, ==, log->epochs);
  g_assert_true (isfinite (report->train_loss));
  /* A copy prepares its weights from scratch: the trainer's evaluation,
   * between steps that change them, must see the weights as they are. */
  if (log->model != NULL)
    {
      g_autoptr (NnModel) copy = nn_model_copy (log->model);
      float image[NN_IMAGE_PIXELS], probs[NN_CLASSES], fresh[NN_CLASSES];

      g_assert_cmpfloat_with_epsilon (report->test_accuracy,
                                      nn_model_evaluate (copy, log->test, NULL), 1e-6);
      nn_dataset_get_image (log->test, 0, image);
      nn_model_predict (log->model, image, 1, probs);
      nn_model_predict (copy, image, 1, fresh);
      g_assert_true (test_floats_equal (probs, fresh, NN_CLASSES));
    }
  log->last_test_accuracy = report->test_accuracy;
  log->last_train_accuracy = report->train_accuracy;
  log->epochs++;
}

static const NnTrainCallbacks callbacks = { on_batch, on_epoch, NULL };

static NnTrainCallbacks
callbacks_for (Log *log)
{
  NnTrainCallbacks c = callbacks;

  c.user_data = log;
  return c;
}

/* Twenty random images with arbitrary labels can only be learnt by heart:
 * a working network and trainer manage it completely. */
static void
test_overfit (void)
{
  g_autoptr (NnDataset) data = test_random_dataset (20, 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (NnModel) model = nn_model_new (SMALL_CNN, 3, &error);
  g_autoptr (NnTrainer) trainer = NULL;
  guint confusion[NN_CLASSES][NN_CLASSES];
  NnTrainCallbacks c;
  NnTrainConfig config;
  Log log = { 0 };
  double before, after;

  g_assert_no_error (error);
  nn_train_config_init (&config);
  config.epochs = 60;
  config.batch_size = 6;     /* four batches, the last of 2 */
  config.learning_rate = 3e-3f;

  before = nn_model_evaluate (model, data, NULL);
  trainer = nn_trainer_new (model, data, NULL, &config, &error);
  g_assert_no_error (error);
  g_assert_false (nn_trainer_is_done (trainer));
  g_assert_true (nn_trainer_get_model (trainer) == model);

  c = callbacks_for (&log);
  g_assert_true (nn_trainer_run (trainer, &c, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (nn_trainer_is_done (trainer));
  g_assert_cmpuint (nn_trainer_get_epoch (trainer), ==, 60);

  g_assert_cmpuint (log.batches_per_epoch, ==, 4);
  g_assert_cmpuint (log.batches, ==, 60 * 4);
  g_assert_cmpuint (log.epochs, ==, 60);
  g_assert_cmpfloat (log.last_test_accuracy, ==, -1);    /* no test set */
  g_assert_cmpfloat (log.last_loss, <, log.first_loss / 10);
  g_assert_cmpfloat (log.last_eta, <, 1.0);

  after = nn_model_evaluate (model, data, confusion);
  g_test_message ("training accuracy %.0f%% before, %.0f%% after; loss %.3f -> %.4f",
                  100 * before, 100 * after, log.first_loss, log.last_loss);
  g_assert_cmpfloat (after, ==, 1.0);
  for (guint t = 0; t < NN_CLASSES; t++)
    for (guint p = 0; p < NN_CLASSES; p++)
      g_assert_cmpuint (confusion[t][p], ==, t == p ? 2 : 0);

  /* Running a finished trainer again does nothing and succeeds. */
  g_assert_true (nn_trainer_run (trainer, NULL, NULL, &error));
  g_assert_cmpuint (log.batches, ==, 60 * 4);
}

/* A learnable task (bars at ten angles) generalises to images never seen,
 * with every kind of layer and every training option in play. */
static void
test_generalises (void)
{
  g_autoptr (NnDataset) train = test_bars_dataset (1500, 10);
  g_autoptr (NnDataset) test = test_bars_dataset (300, 11);
  g_autoptr (GError) error = NULL;
  g_autoptr (NnModel) model =
    nn_model_new ("conv5x5:8 batchnorm relu maxpool conv3x3:16 relu maxpool dropout:0.2 "
                  "dense:32 batchnorm relu dense:10", 5, &error);
  g_autoptr (NnTrainer) trainer = NULL;
  NnTrainCallbacks c;
  NnTrainConfig config;
  Log log = { 0 };
  guint confusion[NN_CLASSES][NN_CLASSES];
  guint total = 0, diagonal = 0;
  double accuracy;

  g_assert_no_error (error);
  nn_train_config_init (&config);
  config.epochs = 3;
  config.batch_size = 32;
  config.optimizer = NN_OPTIMIZER_SGD;
  config.learning_rate = 0.05f;
  config.momentum = 0.9f;
  config.weight_decay = 1e-4f;
  config.schedule = NN_SCHEDULE_ONECYCLE;
  config.label_smoothing = 0.1f;

  trainer = nn_trainer_new (model, train, test, &config, &error);
  g_assert_no_error (error);
  log.model = model;
  log.test = test;
  c = callbacks_for (&log);
  g_assert_true (nn_trainer_run (trainer, &c, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (log.epochs, ==, 3);

  accuracy = nn_model_evaluate (model, test, confusion);
  for (guint t = 0; t < NN_CLASSES; t++)
    for (guint p = 0; p < NN_CLASSES; p++)
      {
        total += confusion[t][p];
        diagonal += t == p ? confusion[t][p] : 0;
      }
  g_test_message ("bars: train accuracy %.1f%%, test accuracy %.1f%%",
                  100 * log.last_train_accuracy, 100 * accuracy);
  g_assert_cmpuint (total, ==, 300);
  g_assert_cmpfloat_with_epsilon (accuracy, diagonal / 300.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (log.last_test_accuracy, accuracy, 1e-6);
  g_assert_cmpfloat (accuracy, >=, 0.9);
}

/* Cancelling stops between batches with NN_ERROR_CANCELLED and leaves the
 * trainer ready to go on; going on finishes the run. */
static void
test_cancel (void)
{
  g_autoptr (NnDataset) data = test_random_dataset (50, 2);
  g_autoptr (GError) error = NULL;
  g_autoptr (NnModel) model = nn_model_new ("mlp", 3, &error);
  g_autoptr (NnTrainer) trainer = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  NnTrainCallbacks c;
  NnTrainConfig config;
  Log log = { 0 };

  nn_train_config_init (&config);
  config.epochs = 3;
  config.batch_size = 10;
  trainer = nn_trainer_new (model, data, NULL, &config, &error);
  g_assert_no_error (error);

  log.cancel_at_batch = cancellable;
  log.cancel_after = 7;
  c = callbacks_for (&log);
  g_assert_false (nn_trainer_run (trainer, &c, cancellable, &error));
  g_assert_error (error, NN_ERROR, NN_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpuint (log.batches, ==, 7);
  g_assert_cmpuint (nn_trainer_get_epoch (trainer), ==, 1);
  g_assert_false (nn_trainer_is_done (trainer));

  /* Still cancelled: stops again before doing anything. */
  g_assert_false (nn_trainer_run (trainer, &c, cancellable, &error));
  g_assert_error (error, NN_ERROR, NN_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpuint (log.batches, ==, 7);

  g_cancellable_reset (cancellable);
  g_assert_true (nn_trainer_run (trainer, &c, cancellable, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (log.batches, ==, 15);
  g_assert_cmpuint (log.epochs, ==, 3);
  g_assert_true (nn_trainer_is_done (trainer));
}

static void
test_refusals (void)
{
  g_autoptr (NnDataset) data = test_random_dataset (10, 2);
  g_autoptr (NnDataset) empty = nn_dataset_subset (data, 0, 0);
  g_autoptr (NnDataset) wrong_size = nn_dataset_subset (data, 0, 10);
  g_autoptr (NnDataset) wrong_label = nn_dataset_subset (data, 0, 10);
  g_autoptr (GError) error = NULL;
  g_autoptr (NnModel) model = nn_model_new ("mlp", 3, &error);
  NnTrainConfig config;

  nn_train_config_init (&config);
  config.learning_rate = -1;
  g_assert_null (nn_trainer_new (model, data, NULL, &config, &error));
  g_assert_error (error, NN_ERROR, NN_ERROR_PARAMETER);
  g_clear_error (&error);

  nn_train_config_init (&config);
  g_assert_null (nn_trainer_new (model, empty, NULL, &config, &error));
  g_assert_error (error, NN_ERROR, NN_ERROR_PARAMETER);
  g_clear_error (&error);

  wrong_size->rows = 14;
  wrong_size->cols = 56;
  g_assert_null (nn_trainer_new (model, data, wrong_size, &config, &error));
  g_assert_error (error, NN_ERROR, NN_ERROR_PARAMETER);
  g_test_message ("%s", error->message);
  g_clear_error (&error);

  wrong_label->labels[3] = 10;
  g_assert_null (nn_trainer_new (model, wrong_label, NULL, &config, &error));
  g_assert_error (error, NN_ERROR, NN_ERROR_PARAMETER);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
}

/* Probabilities sum to one, and an image gets bitwise the same answer alone
 * as in a batch (a batch of 70 crosses the inference batch of 64). */
static void
test_predict (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NnModel) model = nn_model_new ("default", 4, &error);
  g_autoptr (NnDataset) data = test_bars_dataset (70, 3);
  g_autofree float *images = g_new (float, 70 * NN_IMAGE_PIXELS);
  g_autofree float *probs = g_new (float, 70 * NN_CLASSES);
  float alone[NN_CLASSES];
  guint correct = 0;

  g_assert_no_error (error);
  for (guint i = 0; i < 70; i++)
    nn_dataset_get_image (data, i, images + i * NN_IMAGE_PIXELS);
  nn_model_predict (model, images, 70, probs);

  for (guint i = 0; i < 70; i++)
    {
      double sum = 0;
      guint best = 0;

      for (guint k = 0; k < NN_CLASSES; k++)
        {
          g_assert_cmpfloat (probs[i * NN_CLASSES + k], >=, 0);
          sum += probs[i * NN_CLASSES + k];
          if (probs[i * NN_CLASSES + k] > probs[i * NN_CLASSES + best])
            best = k;
        }
      g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-5);
      correct += best == data->labels[i];
    }
  for (guint i = 0; i < 70; i += 23)
    {
      nn_model_predict (model, images + i * NN_IMAGE_PIXELS, 1, alone);
      g_assert_true (test_floats_equal (alone, probs + i * NN_CLASSES, NN_CLASSES));
    }
  /* evaluate counts what predict's largest probability says */
  g_assert_cmpfloat_with_epsilon (nn_model_evaluate (model, data, NULL), correct / 70.0, 1e-12);
}

/* @model's answer for @image is bitwise a fresh copy's, whose workspace
 * packs the weights anew, and differs from @before. */
static void
assert_answer_current (NnModel *model, const float *image, const float *before, float *probs)
{
  g_autoptr (NnModel) copy = nn_model_copy (model);
  float fresh[NN_CLASSES];

  nn_model_predict (model, image, 1, probs);
  nn_model_predict (copy, image, 1, fresh);
  g_assert_true (test_floats_equal (probs, fresh, NN_CLASSES));
  g_assert_false (test_floats_equal (probs, before, NN_CLASSES));
}

/* Predictions keep the convolution weights packed between calls: every
 * way of changing the weights must reach the next prediction. */
static void
test_predict_after_weight_change (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NnModel) model = nn_model_new ("conv3x3:8 relu maxpool conv3x3:16 relu maxpool dense:10",
                                            2, &error);
  g_autoptr (NnDataset) data = test_bars_dataset (1, 3);
  g_autofree float *grads = NULL, *m = NULL, *v = NULL;
  float image[NN_IMAGE_PIXELS], before[NN_CLASSES], after[NN_CLASSES];
  NnTrainConfig config;
  NnTensor conv2;

  g_assert_no_error (error);
  nn_dataset_get_image (data, 0, image);
  nn_model_predict (model, image, 1, before);
  nn_model_predict (model, image, 1, after);
  g_assert_true (test_floats_equal (before, after, NN_CLASSES));

  /* Written through a tensor just asked for. */
  nn_model_get_tensor (model, 2, &conv2);
  g_assert_cmpstr (conv2.name, ==, "layers.3.weight");
  for (gsize i = 0; i < conv2.n_elements; i += 2)
    conv2.data[i] = -conv2.data[i];
  assert_answer_current (model, image, before, after);

  /* Written later through the same pointer, then announced. */
  memcpy (before, after, sizeof before);
  for (gsize i = 0; i < conv2.n_elements; i += 3)
    conv2.data[i] *= 1.5f;
  nn_model_weights_changed (model);
  assert_answer_current (model, image, before, after);

  /* An optimiser step. */
  memcpy (before, after, sizeof before);
  grads = g_new (float, model->n_params);
  m = g_new0 (float, model->n_params);
  v = g_new0 (float, model->n_params);
  for (gsize i = 0; i < model->n_params; i++)
    grads[i] = (i % 7) * 0.01f - 0.03f;
  nn_train_config_init (&config);
  nn_optimizer_step (model, &config, 0.01f, 1, grads, m, v);
  assert_answer_current (model, image, before, after);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/train/overfit", test_overfit);
  g_test_add_func ("/train/generalises", test_generalises);
  g_test_add_func ("/train/cancel", test_cancel);
  g_test_add_func ("/train/refusals", test_refusals);
  g_test_add_func ("/train/predict", test_predict);
  g_test_add_func ("/train/predict-after-weight-change", test_predict_after_weight_change);

  test_trap_fp_exceptions ();
  return g_test_run ();
}

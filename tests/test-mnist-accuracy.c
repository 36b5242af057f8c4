/* test-mnist-accuracy.c — the whole engine on the real task.
 *
 * bench-cnn, one epoch of MNIST with the trainer's defaults (Adam at 1e-3
 * decaying along a cosine, batch 64, seed 1, no augmentation) must reach
 * 98.5% test accuracy. Prints the epoch's time and speed. The cosine decay
 * is what clears the bar: with a constant rate, as PyTorch's reference run
 * used (98.4%), the same recipe lands at 98.3% to 98.4% depending on the
 * seed (98.44% at seed 1).
 */
#include "test-util.h"

typedef struct {
  double seconds;
  float  test_accuracy;
  float  train_loss;
} Outcome;

static void
on_epoch (const NnEpochReport *report, gpointer user_data)
{
  Outcome *outcome = user_data;

  outcome->seconds = report->seconds;
  outcome->test_accuracy = report->test_accuracy;
  outcome->train_loss = report->train_loss;
}

static void
test_bench_cnn_one_epoch (void)
{
  const char *dir = g_getenv ("DIGITLAB_MNIST_DIR");
  g_autoptr (NnDataset) train = NULL;
  g_autoptr (NnDataset) test = NULL;
  g_autoptr (NnModel) model = NULL;
  g_autoptr (NnTrainer) trainer = NULL;
  g_autoptr (GError) error = NULL;
  NnTrainCallbacks callbacks = { NULL, on_epoch, NULL };
  NnTrainConfig config;
  Outcome outcome = { 0 };
  double accuracy;

  if (dir == NULL || !g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("MNIST not found: set DIGITLAB_MNIST_DIR");
      return;
    }
  /* Skipped only when the files are not there; present but unreadable is a
   * failure, of the data or of the reader. */
  if (!nn_dataset_load_dir (dir, &train, &test, &error)
      && g_error_matches (error, NN_ERROR, NN_ERROR_IDX_MISSING))
    {
      g_autofree char *why = g_strdup_printf ("MNIST not found in %s: %s", dir, error->message);

      g_test_skip (why);
      return;
    }
  g_assert_no_error (error);

  nn_train_config_init (&config);   /* Adam, 1e-3 cosine, batch 64, 1 epoch, seed 1 */
  g_assert_cmpint (config.optimizer, ==, NN_OPTIMIZER_ADAM);
  g_assert_cmpuint (config.batch_size, ==, 64);
  g_assert_cmpint (config.schedule, ==, NN_SCHEDULE_COSINE);
  g_assert_false (config.augment);

  model = nn_model_new ("bench-cnn", config.seed, &error);
  g_assert_no_error (error);
  trainer = nn_trainer_new (model, train, test, &config, &error);
  g_assert_no_error (error);
  callbacks.user_data = &outcome;
  g_assert_true (nn_trainer_run (trainer, &callbacks, NULL, &error));
  g_assert_no_error (error);

  accuracy = nn_model_evaluate (model, test, NULL);
  g_test_message ("bench-cnn, 1 epoch, %d threads: %.1f s, %.0f images/s, "
                  "train loss %.4f, test accuracy %.2f%%",
                  nn_get_threads (), outcome.seconds, train->count / outcome.seconds,
                  outcome.train_loss, 100 * accuracy);
  /* The epoch report's figure is the same evaluation. */
  g_assert_cmpfloat_with_epsilon (outcome.test_accuracy, accuracy, 1e-6);
  g_assert_cmpfloat (accuracy, >=, 0.985);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/mnist/bench-cnn-one-epoch", test_bench_cnn_one_epoch);
  return g_test_run ();
}

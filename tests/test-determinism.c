/* test-determinism.c — a seed names a run, bit for bit.
 *
 * The same seed gives the same weights with 1 thread or 2; a run paused
 * anywhere (cancelled from the batch callback) and run again ends exactly
 * as one never paused; and a checkpoint saved, loaded into a new trainer
 * and finished ends exactly the same too. The network has every kind of
 * layer, the last batch of each epoch is partial, and dropout,
 * augmentation, weight decay, label smoothing and a schedule are all on.
 * A prediction is the same whatever the number of threads sharing an
 * image.
 */
#include "test-util.h"

#include <glib/gstdio.h>

#include "nn-safetensors.h"

#define SPEC "conv3x3:6 batchnorm relu conv5x5:8:valid relu maxpool dropout:0.25 " \
             "conv1x1:12 relu maxpool dense:24 batchnorm relu dropout:0.5 dense:10"

typedef struct {
  NnDataset *train;
  NnDataset *test;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->train = test_bars_dataset (100, 21);   /* batches of 16: the last has 4 */
  f->test = test_bars_dataset (40, 22);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  nn_dataset_free (f->train);
  nn_dataset_free (f->test);
  nn_set_threads (0);
}

static void
config_for (NnTrainConfig *config, NnOptimizer optimizer, gboolean augment)
{
  nn_train_config_init (config);
  config->epochs = 3;
  config->batch_size = 16;
  config->optimizer = optimizer;
  config->learning_rate = optimizer == NN_OPTIMIZER_SGD ? 0.05f : 2e-3f;
  config->weight_decay = 0.01f;
  config->schedule = NN_SCHEDULE_COSINE;
  config->label_smoothing = 0.05f;
  config->seed = 77;
  config->augment = augment;
}

static gboolean
models_equal (const NnModel *a, const NnModel *b)
{
  return a->n_params == b->n_params
         && test_floats_equal (a->params, b->params, a->n_params)
         && test_floats_equal (a->buffers, b->buffers, a->n_buffers);
}

/* ---- Pausing from the batch callback ----------------------------------- */

typedef struct {
  GCancellable *cancellable;
  guint         seen;
  guint         stop_at;      /* cancel when this many batches were done */
  float         losses[64];   /* every batch's loss, across all calls */
} Pauser;

static void
pause_batch (const NnBatchReport *report, gpointer user_data)
{
  Pauser *p = user_data;

  if (p->seen < G_N_ELEMENTS (p->losses))
    p->losses[p->seen] = report->loss;
  p->seen++;
  if (p->cancellable != NULL && p->seen == p->stop_at)
    g_cancellable_cancel (p->cancellable);
}

/* Trains a fresh model to the end, stopping after each batch count in
 * @stops (0-terminated) and starting again. */
static NnModel *
train (Fixture *f, const NnTrainConfig *config, const guint *stops, Pauser *pauser)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  NnModel *model = nn_model_new (SPEC, config->seed, &error);
  NnTrainCallbacks callbacks = { pause_batch, NULL, pauser };
  g_autoptr (NnTrainer) trainer = NULL;

  g_assert_no_error (error);
  trainer = nn_trainer_new (model, f->train, f->test, config, &error);
  g_assert_no_error (error);
  pauser->cancellable = cancellable;
  for (guint i = 0; stops != NULL && stops[i] != 0; i++)
    {
      pauser->stop_at = stops[i];
      g_assert_false (nn_trainer_run (trainer, &callbacks, cancellable, &error));
      g_assert_error (error, NN_ERROR, NN_ERROR_CANCELLED);
      g_clear_error (&error);
      g_assert_cmpuint (pauser->seen, ==, stops[i]);
      g_cancellable_reset (cancellable);
    }
  g_assert_true (nn_trainer_run (trainer, &callbacks, cancellable, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (pauser->seen, ==, 3 * 7);
  return model;
}

static void
test_same_seed_same_model (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NnModel) a = nn_model_new (SPEC, 5, &error);
  g_autoptr (NnModel) b = nn_model_new (SPEC, 5, &error);
  g_autoptr (NnModel) c = nn_model_new (SPEC, 6, &error);

  g_assert_true (models_equal (a, b));
  g_assert_false (models_equal (a, c));
}

/* Same seed, 1 thread and 2: bitwise the same weights, running statistics
 * and losses, for both optimisers, with and without augmentation, and with
 * scribbles in place of some images. */
static void
test_threads (Fixture *f, gconstpointer data)
{
  for (guint variant = 0; variant < 4; variant++)
    {
      NnTrainConfig config;
      Pauser one = { 0 }, two = { 0 };
      g_autoptr (NnModel) single = NULL;
      g_autoptr (NnModel) dual = NULL;
      g_autoptr (NnModel) untrained = NULL;
      g_autoptr (GError) error = NULL;

      config_for (&config, variant == 1 ? NN_OPTIMIZER_SGD : NN_OPTIMIZER_ADAM, variant >= 2);
      config.scribbles = variant == 3 ? 0.3f : 0.0f;
      nn_set_threads (1);
      single = train (f, &config, NULL, &one);
      nn_set_threads (2);
      dual = train (f, &config, NULL, &two);

      untrained = nn_model_new (SPEC, config.seed, &error);
      g_assert_false (models_equal (single, untrained));   /* it did train */
      g_assert_true (models_equal (single, dual));
      g_assert_true (test_floats_equal (one.losses, two.losses, 21));
      g_test_message ("%s%s%s: 1 and 2 threads agree bitwise (last loss %.4f)",
                      nn_optimizer_to_string (config.optimizer),
                      config.augment ? " + augmentation" : "",
                      config.scribbles > 0 ? " + scribbles" : "", one.losses[20]);
    }
}

/* With fewer images than threads and enough work per image, the threads
 * share each image (nn-forward.c): the probabilities are bitwise those of
 * one thread taking it whole, for bench-cnn (staged convolutions, rows
 * split 14 + 14 and 7 + 7) and for a run with an unstaged convolution, a
 * standalone pooling of odd planes, a dropout and uneven splits. */
static void
test_predict_threads (Fixture *f, gconstpointer data)
{
  const char *specs[] = {
    "bench-cnn",
    "conv5x5:48 conv3x3:40:valid relu dropout:0.2 maxpool conv3x3:24 relu maxpool dense:10",
  };
  const guint n = 3;

  for (guint s = 0; s < G_N_ELEMENTS (specs); s++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (NnModel) model = nn_model_new (specs[s], 9, &error);
      float images[3 * NN_IMAGE_PIXELS], whole[3 * NN_CLASSES];
      NnRng rng;

      g_assert_no_error (error);
      nn_rng_init (&rng, 31 + s);
      test_fill_uniform (&rng, images, G_N_ELEMENTS (images), 0, 1);
      nn_set_threads (1);
      nn_model_predict (model, images, n, whole);
      for (guint threads = 2; threads <= 4; threads++)
        {
          float shared[3 * NN_CLASSES];

          nn_set_threads (threads);
          for (guint i = 0; i < n; i++)
            nn_model_predict (model, images + i * NN_IMAGE_PIXELS, 1, shared + i * NN_CLASSES);
          g_assert_true (test_floats_equal (whole, shared, G_N_ELEMENTS (whole)));
          nn_model_predict (model, images, n, shared);
          g_assert_true (test_floats_equal (whole, shared, G_N_ELEMENTS (whole)));
        }
    }
}

/* Stops anywhere, including right after an epoch's last batch (7) and
 * several times in a row, then going on: bitwise the same run. */
static void
test_pause_resume (Fixture *f, gconstpointer data)
{
  static const guint stops[][4] = {
    { 3, 0 }, { 7, 0 }, { 1, 8, 20, 0 },
  };
  NnTrainConfig config;
  Pauser reference_log = { 0 };
  g_autoptr (NnModel) reference = NULL;

  config_for (&config, NN_OPTIMIZER_ADAM, TRUE);
  reference = train (f, &config, NULL, &reference_log);
  for (guint s = 0; s < G_N_ELEMENTS (stops); s++)
    {
      Pauser log = { 0 };
      g_autoptr (NnModel) resumed = train (f, &config, stops[s], &log);

      g_assert_true (models_equal (reference, resumed));
      g_assert_true (test_floats_equal (reference_log.losses, log.losses, 21));
    }
}

/* Saved after @stop batches, loaded into a new trainer (and a new model),
 * finished: the same weights as never stopping. */
static void
check_checkpoint (Fixture *f, NnOptimizer optimizer, guint stop, float scribbles)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autofree char *dir = g_dir_make_tmp ("digitlab-checkpoint-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "run.safetensors", NULL);
  g_autoptr (NnModel) reference = NULL;
  g_autoptr (NnModel) model = NULL;
  g_autoptr (NnTrainer) trainer = NULL;
  g_autoptr (NnTrainer) loaded = NULL;
  NnTrainConfig config;
  Pauser reference_log = { 0 }, log = { 0 };
  NnTrainCallbacks callbacks = { pause_batch, NULL, &log };

  g_assert_no_error (error);
  config_for (&config, optimizer, FALSE);
  config.scribbles = scribbles;
  reference = train (f, &config, NULL, &reference_log);

  model = nn_model_new (SPEC, config.seed, &error);
  nn_model_set_metadata (model, "name", "checkpointed");
  trainer = nn_trainer_new (model, f->train, f->test, &config, &error);
  g_assert_no_error (error);
  log.cancellable = cancellable;
  log.stop_at = stop;
  g_assert_false (nn_trainer_run (trainer, &callbacks, cancellable, &error));
  g_assert_error (error, NN_ERROR, NN_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_true (nn_trainer_save_checkpoint (trainer, path, &error));
  g_assert_no_error (error);
  g_clear_pointer (&trainer, nn_trainer_free);
  g_clear_pointer (&model, nn_model_free);

  loaded = nn_trainer_load_checkpoint (path, f->train, f->test, &error);
  g_assert_no_error (error);
  g_assert_nonnull (loaded);
  g_assert_cmpuint (nn_trainer_get_epoch (loaded), ==, stop / 7);
  g_assert_cmpstr (nn_model_get_metadata (nn_trainer_get_model (loaded), "name"), ==, "checkpointed");
  log.cancellable = NULL;
  g_assert_true (nn_trainer_run (loaded, &callbacks, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (nn_trainer_is_done (loaded));
  g_assert_true (models_equal (reference, nn_trainer_get_model (loaded)));
  g_assert_true (test_floats_equal (reference_log.losses, log.losses, 21));

  /* A different training set is refused. */
  {
    g_autoptr (NnDataset) other = test_bars_dataset (100, 99);
    NnTrainer *refused = nn_trainer_load_checkpoint (path, other, NULL, &error);

    g_assert_null (refused);
    g_assert_error (error, NN_ERROR, NN_ERROR_PARAMETER);
    g_clear_error (&error);
  }

  g_unlink (path);
  g_rmdir (dir);
}

static void
test_checkpoint_between_epochs (Fixture *f, gconstpointer data)
{
  check_checkpoint (f, NN_OPTIMIZER_ADAM, 7, 0.0f);
  check_checkpoint (f, NN_OPTIMIZER_SGD, 14, 0.0f);
}

static void
test_checkpoint_mid_epoch (Fixture *f, gconstpointer data)
{
  check_checkpoint (f, NN_OPTIMIZER_ADAM, 10, 0.0f);
  /* Scribbles drawn for the rest of the epoch as if never stopped. */
  check_checkpoint (f, NN_OPTIMIZER_ADAM, 10, 0.25f);
}

/* Files that are not checkpoints are refused with the right error. */
static void
test_checkpoint_refusals (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("digitlab-checkpoint-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "model.safetensors", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing.safetensors", NULL);
  g_autoptr (NnModel) model = nn_model_new ("mlp", 1, &error);
  NnStTensorRef ref = { "x", 1, { 3 }, (const float[]) { 1, 2, 3 } };

  g_assert_null (nn_trainer_load_checkpoint (missing, f->train, NULL, &error));
  g_assert_error (error, NN_ERROR, NN_ERROR_IO);
  g_clear_error (&error);

  g_assert_true (nn_safetensors_write (path, &ref, 1, NULL, &error));
  g_assert_no_error (error);
  g_assert_null (nn_trainer_load_checkpoint (path, f->train, NULL, &error));
  g_assert_error (error, NN_ERROR, NN_ERROR_MODEL_VERSION);
  g_clear_error (&error);

  g_unlink (path);
  g_rmdir (dir);
}

/* The batch's fixed chunks: every image in exactly one, none empty, the
 * front half's shrinking and the back half's growing (but for rounding),
 * and for 64 images 7 at both ends and one image each in the middle,
 * where the threads taking them from both ends meet. */
static void
test_chunks (void)
{
  for (guint batch = 1; batch <= 300; batch++)
    {
      guint n = nn_chunk_count (batch), previous = G_MAXUINT;

      g_assert_cmpuint (n, ==, MIN (batch, NN_CHUNKS));
      g_assert_cmpuint (nn_chunk_start (batch, n, 0), ==, 0);
      g_assert_cmpuint (nn_chunk_start (batch, n, n), ==, batch);
      for (guint c = 0; c < n; c++)
        {
          guint size = nn_chunk_start (batch, n, c + 1) - nn_chunk_start (batch, n, c);

          g_assert_cmpuint (size, >=, 1);
          /* Rounding may let a size differ by one the wrong way. */
          if (c < (n + 1) / 2)
            g_assert_cmpuint (size, <=, previous == G_MAXUINT ? batch : previous + 1);
          else if (c > (n + 1) / 2)
            g_assert_cmpuint (size + 1, >=, previous);
          previous = size;
        }
    }
  g_assert_cmpuint (nn_chunk_start (64, 16, 1), ==, 7);
  g_assert_cmpuint (nn_chunk_start (64, 16, 7), ==, 31);
  g_assert_cmpuint (nn_chunk_start (64, 16, 8), ==, 32);
  g_assert_cmpuint (nn_chunk_start (64, 16, 9), ==, 33);
  g_assert_cmpuint (nn_chunk_start (64, 16, 15), ==, 57);
}

/* Items taken from both ends: each exactly once, the front half of the
 * threads counting up from 0 and the back half down from the last. */
typedef struct {
  NnTeamCounter counter;
  guint         count;
  guint         size;          /* threads the job ran on */
  gint          seen[1000];
  gboolean      ordered[8];
} EndsJob;

static void
take_from_ends_work (const NnTeamMember *me, gpointer data)
{
  EndsJob *job = data;
  guint item, last = G_MAXUINT;

  job->size = me->size;
  job->ordered[me->index] = TRUE;
  while (nn_team_take_from_ends (&job->counter, job->count, me, &item))
    {
      g_atomic_int_inc (&job->seen[item]);
      /* A thread of a pair keeps to its end. */
      if (me->index % 2 == 0 && me->index != me->size - 1 && last != G_MAXUINT && item <= last)
        job->ordered[me->index] = FALSE;
      if (me->index % 2 == 1 && last != G_MAXUINT && item >= last)
        job->ordered[me->index] = FALSE;
      last = item;
    }
}

static void
test_take_from_ends (void)
{
  int saved = nn_get_threads ();

  for (guint threads = 1; threads <= 4; threads++)
    for (guint count = 0; count <= 1000; count += 37)
      {
        EndsJob *job = g_new0 (EndsJob, 1);

        job->count = count;
        nn_set_threads ((int) threads);
        nn_team_run (threads, take_from_ends_work, job);
        for (guint i = 0; i < count; i++)
          g_assert_cmpint (job->seen[i], ==, 1);
        /* Builds without OpenMP run every job on one thread. */
        g_assert_cmpuint (job->size, >=, 1);
        g_assert_cmpuint (job->size, <=, threads);
        for (guint t = 0; t < job->size; t++)
          g_assert_true (job->ordered[t]);
        g_free (job);
      }
  nn_set_threads (saved);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/determinism/same-seed", test_same_seed_same_model);
  ADD ("/determinism/threads", test_threads);
  ADD ("/determinism/predict-threads", test_predict_threads);
  ADD ("/determinism/pause-resume", test_pause_resume);
  ADD ("/determinism/checkpoint/between-epochs", test_checkpoint_between_epochs);
  ADD ("/determinism/checkpoint/mid-epoch", test_checkpoint_mid_epoch);
  ADD ("/determinism/checkpoint/refusals", test_checkpoint_refusals);
#undef ADD
  g_test_add_func ("/determinism/chunks", test_chunks);
  g_test_add_func ("/determinism/take-from-ends", test_take_from_ends);

  test_trap_fp_exceptions ();
  return g_test_run ();
}

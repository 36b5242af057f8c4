/* nn-train.c — the training loop, with pause and resume.
 *
 * Everything a run depends on is in the trainer: the shuffling generator,
 * this epoch's order, the position (epoch, batch, step) and the optimiser
 * state. Dropout and augmentation draw from seeds derived from the run seed
 * and the position, not from a generator that advances, so stopping between
 * any two batches and running again continues the very same computation.
 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "nn-augment.h"
#include "nn-private.h"

/* Streams of randomness derived from the run seed. */
#define STREAM_SHUFFLE 0x73687566666c65ull   /* "shuffle" */
#define STREAM_DROPOUT 0x64726f706f7574ull   /* "dropout" */
#define STREAM_SCRIBBLE 0x73637269626c65ull  /* "scrible" */

/* The optimiser updates every parameter on its own, so threads can share
 * the update: each one hands nn_optimizer_step() a view of the model that
 * lists only its pieces of the trainable tensors, small enough that a
 * thread the host holds up leaves the rest to the others. */
#define OPTIMIZER_PIECE 32768

static void
cut_pieces (NnTrainer *trainer)
{
  const NnModel *model = trainer->model;
  GArray *pieces = g_array_new (FALSE, TRUE, sizeof (NnTensorInfo));

  for (guint t = 0; t < model->n_tensors; t++)
    {
      const NnTensorInfo *info = &model->tensors[t];

      if (!info->trainable)
        continue;
      for (gsize at = 0; at < info->n_elements; at += OPTIMIZER_PIECE)
        {
          NnTensorInfo piece = *info;

          piece.name = NULL;
          piece.offset = info->offset + at;
          piece.n_elements = MIN (OPTIMIZER_PIECE, info->n_elements - at);
          piece.ndim = 1;
          piece.shape[0] = (guint) piece.n_elements;
          g_array_append_val (pieces, piece);
        }
    }
  trainer->n_pieces = pieces->len;
  trainer->pieces = (NnTensorInfo *) g_array_free (pieces, FALSE);
}

typedef struct {
  NnTrainer *trainer;
  float      learning_rate;
} StepJob;

static void
optimizer_range (gpointer data, gsize first, gsize last)
{
  StepJob *job = data;
  NnTrainer *trainer = job->trainer;
  NnModel view = *trainer->model;

  view.tensors = trainer->pieces + first;
  view.n_tensors = (guint) (last - first);
  nn_optimizer_step (&view, &trainer->config, job->learning_rate, trainer->step,
                     trainer->grads, trainer->opt_m, trainer->opt_v);
  /* Ready for the next step's gradients, which are added up. */
  for (gsize i = first; i < last; i++)
    memset (trainer->grads + trainer->pieces[i].offset, 0,
            trainer->pieces[i].n_elements * sizeof (float));
}

static float *
state_block (gsize n)
{
  return g_aligned_alloc0 (MAX (n, 1), sizeof (float), 64);
}

static gboolean
check_dataset (const NnDataset *dataset, const char *role, GError **error)
{
  if (dataset->rows != NN_IMAGE_SIDE || dataset->cols != NN_IMAGE_SIDE)
    {
      /* TRANSLATORS: %s is "training" or "test" */
      g_set_error (error, NN_ERROR, NN_ERROR_PARAMETER,
                   _("The %s images are %ux%u; the networks take %ux%u"),
                   role, dataset->rows, dataset->cols, NN_IMAGE_SIDE, NN_IMAGE_SIDE);
      return FALSE;
    }
  for (guint i = 0; i < dataset->count; i++)
    if (dataset->labels[i] >= NN_CLASSES)
      {
        g_set_error (error, NN_ERROR, NN_ERROR_PARAMETER,
                     _("The %s label of item %u is %u, not a digit"), role, i, dataset->labels[i]);
        return FALSE;
      }
  return TRUE;
}

NnTrainer *
nn_trainer_new_full (NnModel *model, gboolean owns_model,
                     const NnDataset *train, const NnDataset *test,
                     const NnTrainConfig *config, GError **error)
{
  NnTrainer *trainer;

  g_return_val_if_fail (model != NULL, NULL);
  g_return_val_if_fail (train != NULL, NULL);
  g_return_val_if_fail (config != NULL, NULL);

  if (!nn_train_config_validate (config, error))
    return NULL;
  if (train->count == 0)
    {
      g_set_error (error, NN_ERROR, NN_ERROR_PARAMETER, _("The training set is empty"));
      return NULL;
    }
  if (!check_dataset (train, _("training"), error)
      || (test != NULL && !check_dataset (test, _("test"), error)))
    return NULL;

  trainer = g_new0 (NnTrainer, 1);
  trainer->model = model;
  trainer->owns_model = owns_model;
  trainer->train = train;
  trainer->test = test;
  trainer->config = *config;
  nn_rng_init (&trainer->rng, nn_seed_mix (config->seed, STREAM_SHUFFLE));
  trainer->order = g_new (guint32, train->count);
  trainer->batches_per_epoch = (train->count + config->batch_size - 1) / config->batch_size;

  trainer->grads = state_block (model->n_params);
  trainer->opt_m = state_block (model->n_params);
  if (config->optimizer == NN_OPTIMIZER_ADAM)
    trainer->opt_v = state_block (model->n_params);
  trainer->workspace = nn_workspace_new (model, MIN (config->batch_size, train->count), TRUE);
  cut_pieces (trainer);
  trainer->batch_labels = g_new (guint8, config->batch_size);
  return trainer;
}

NnTrainer *
nn_trainer_new (NnModel             *model,
                const NnDataset     *train,
                const NnDataset     *test,
                const NnTrainConfig *config,
                GError             **error)
{
  return nn_trainer_new_full (model, FALSE, train, test, config, error);
}

void
nn_trainer_free (NnTrainer *trainer)
{
  if (trainer == NULL)
    return;
  g_clear_pointer (&trainer->workspace, nn_workspace_free);
  g_aligned_free (trainer->grads);
  g_aligned_free (trainer->opt_m);
  if (trainer->opt_v != NULL)
    g_aligned_free (trainer->opt_v);
  g_free (trainer->order);
  g_free (trainer->batch_labels);
  g_free (trainer->pieces);
  if (trainer->owns_model)
    nn_model_free (trainer->model);
  g_free (trainer);
}

gboolean
nn_trainer_is_done (const NnTrainer *trainer)
{
  g_return_val_if_fail (trainer != NULL, TRUE);
  return trainer->epoch >= trainer->config.epochs;
}

guint
nn_trainer_get_epoch (const NnTrainer *trainer)
{
  g_return_val_if_fail (trainer != NULL, 0);
  return trainer->epoch;
}

NnModel *
nn_trainer_get_model (NnTrainer *trainer)
{
  g_return_val_if_fail (trainer != NULL, NULL);
  return trainer->model;
}

/* ---- One batch --------------------------------------------------------- */

typedef struct {
  NnTrainer      *trainer;
  guint           start;
  NnAugmentParams params;
} BatchJob;

/* Plain images per batch from which the threads share fetching them. */
#define ASSEMBLE_SHARED_MIN_IMAGES 16

/* Whether training image @index of @epoch is replaced by a scribble, and
 * which: drawn from (seed, epoch, index) alone, so the batch is the same
 * whatever the threads and wherever a run was resumed. */
static gboolean
scribble_instead (const NnTrainConfig *config, guint epoch, guint index, guint64 *scribble_seed)
{
  NnRng rng;

  if (config->scribbles <= 0.0f)
    return FALSE;
  nn_rng_init (&rng, nn_seed_mix (nn_augment_seed (config->seed, epoch, index), STREAM_SCRIBBLE));
  *scribble_seed = nn_rng_next (&rng);
  return nn_rng_uniform (&rng) < config->scribbles;
}

static void
assemble_range (gpointer data, gsize first, gsize last)
{
  BatchJob *job = data;
  NnTrainer *trainer = job->trainer;
  const NnDataset *train = trainer->train;
  const NnTrainConfig *config = &trainer->config;

  for (gsize i = first; i < last; i++)
    {
      guint index = trainer->order[job->start + i];
      const guint8 *bytes = train->images + (gsize) index * NN_IMAGE_PIXELS;
      float *dest = trainer->workspace->input + i * NN_IMAGE_PIXELS;
      guint64 scribble_seed;

      if (scribble_instead (config, trainer->epoch, index, &scribble_seed))
        {
          nn_scribble_image (scribble_seed, dest);
          trainer->batch_labels[i] = NN_LABEL_NO_DIGIT;
          continue;
        }
      if (config->augment)
        nn_augment_digit (&job->params, nn_augment_seed (config->seed, trainer->epoch, index),
                          train->labels[index], bytes, dest);
      else
        nn_bytes_to_floats (bytes, NN_IMAGE_PIXELS, dest);
      trainer->batch_labels[i] = train->labels[index];
    }
}

/* The batch's images as floats (distorted when augmenting) and its labels. */
static void
assemble_batch (NnTrainer *trainer, guint start, guint count)
{
  BatchJob job = { trainer, start };
  gboolean share;

  if (trainer->config.augment)
    nn_augment_params_default (&job.params);
  if (trainer->config.augment && trainer->config.digit_styles)
    nn_augment_params_add_digit_styles (&job.params);
  /* Distorting an image or drawing a scribble is slow enough to share;
   * converting one is not, but fetching a batch of shuffled images from
   * all over a large data set is: a batch of 64 from MNIST's training set
   * took 75 us on one thread, 47 on two. */
  share = trainer->config.augment || trainer->config.scribbles > 0.0f
          || count >= ASSEMBLE_SHARED_MIN_IMAGES;
  nn_team_for (count, share ? (guint) nn_get_threads () : 1, assemble_range, &job);
}

typedef struct {
  guint  count;
  guint  digits;             /* count less the scribbles */
  double loss;
  guint  correct;
  float  learning_rate;
} BatchResult;

static BatchResult
train_batch (NnTrainer *trainer)
{
  const NnTrainConfig *config = &trainer->config;
  NnModel *model = trainer->model;
  NnWorkspace *ws = trainer->workspace;
  guint start = trainer->batch * config->batch_size;
  guint64 total_steps = (guint64) config->epochs * trainer->batches_per_epoch;
  BatchResult result = { 0 };
  StepJob step;
  const float *logits;

  result.count = MIN (config->batch_size, trainer->train->count - start);
  assemble_batch (trainer, start, result.count);

  logits = nn_model_forward (model, ws, result.count, TRUE,
                             nn_seed_mix (nn_seed_mix (config->seed, STREAM_DROPOUT),
                                          trainer->step));
  result.loss = nn_softmax_cross_entropy (result.count, logits, trainer->batch_labels,
                                          config->label_smoothing, ws->dlogits,
                                          &result.correct);
  result.digits = result.count;
  for (guint i = 0; i < result.count; i++)
    result.digits -= trainer->batch_labels[i] == NN_LABEL_NO_DIGIT;

  nn_model_backward (model, ws, result.count, ws->dlogits, trainer->grads);

  result.learning_rate = nn_schedule_rate (config->schedule, config->learning_rate,
                                           trainer->step, total_steps);
  trainer->step++;
  step.trainer = trainer;
  step.learning_rate = result.learning_rate;
  nn_team_for (trainer->n_pieces,
               model->n_params >= NN_PARALLEL_MIN_WORK ? (guint) nn_get_threads () : 1,
               optimizer_range, &step);
  /* The steps went through views of the model: the change is said here,
   * on the model itself, or its next evaluation would use the weights
   * packed before. */
  nn_model_weights_changed (model);
  return result;
}

/* ---- The loop ---------------------------------------------------------- */

static void
start_epoch (NnTrainer *trainer)
{
  for (guint i = 0; i < trainer->train->count; i++)
    trainer->order[i] = i;
  nn_rng_shuffle (&trainer->rng, trainer->order, trainer->train->count);
  trainer->order_ready = TRUE;
  trainer->epoch_loss_sum = 0.0;
  trainer->epoch_correct = 0;
  trainer->epoch_seen = 0;
  trainer->epoch_digits = 0;
  trainer->epoch_seconds = 0.0;
}

static void
report_batch (NnTrainer *trainer, const NnTrainCallbacks *callbacks, const BatchResult *result)
{
  const NnTrainConfig *config = &trainer->config;
  NnBatchReport report = { 0 };
  double rate = trainer->epoch_seconds > 0 ? trainer->epoch_seen / trainer->epoch_seconds : 0.0;
  double remaining = (double) (config->epochs - trainer->epoch) * trainer->train->count
                     - trainer->epoch_seen;

  report.epoch = trainer->epoch;
  report.epochs = config->epochs;
  report.batch = trainer->batch;
  report.batches_per_epoch = trainer->batches_per_epoch;
  report.loss = (float) result->loss;
  /* Of the digits: a scribble has no right answer. */
  report.accuracy = (float) result->correct / MAX (result->digits, 1);
  report.learning_rate = result->learning_rate;
  report.images_per_s = rate;
  report.elapsed_s = trainer->elapsed_seconds;
  report.eta_s = rate > 0 ? remaining / rate : 0.0;
  callbacks->batch_done (&report, callbacks->user_data);
}

static void
finish_epoch (NnTrainer *trainer, const NnTrainCallbacks *callbacks)
{
  NnEpochReport report = { 0 };

  report.epoch = trainer->epoch;
  report.epochs = trainer->config.epochs;
  report.train_loss = (float) (trainer->epoch_loss_sum / MAX (trainer->epoch_seen, 1));
  report.train_accuracy = (float) trainer->epoch_correct / MAX (trainer->epoch_digits, 1);
  report.test_accuracy = trainer->test != NULL
                         ? (float) nn_model_evaluate (trainer->model, trainer->test, NULL)
                         : -1.0f;
  report.seconds = trainer->epoch_seconds;

  trainer->epoch++;
  trainer->batch = 0;
  trainer->order_ready = FALSE;
  if (callbacks != NULL && callbacks->epoch_done != NULL)
    callbacks->epoch_done (&report, callbacks->user_data);
}

static gboolean
stopped (GCancellable *cancellable, GError **error)
{
  if (!g_cancellable_is_cancelled (cancellable))
    return FALSE;
  g_set_error (error, NN_ERROR, NN_ERROR_CANCELLED, _("Training was stopped"));
  return TRUE;
}

gboolean
nn_trainer_run (NnTrainer              *trainer,
                const NnTrainCallbacks *callbacks,
                GCancellable           *cancellable,
                GError                **error)
{
  gint64 run_start = g_get_monotonic_time ();
  double elapsed_before = trainer->elapsed_seconds;
  NnWorkspace *ws;

  g_return_val_if_fail (trainer != NULL, FALSE);

  /* More threads than the scratch was made for: make it again now, never
   * inside the loop. The numbers do not change, only the speed. */
  ws = trainer->workspace;
  if (ws->n_scratch < MIN ((guint) nn_get_threads (), ws->max_batch))
    {
      guint max_batch = ws->max_batch;

      nn_workspace_free (ws);
      trainer->workspace = nn_workspace_new (trainer->model, max_batch, TRUE);
    }

  while (!nn_trainer_is_done (trainer))
    {
      /* Checked before shuffling too, so a pause between epochs leaves a
       * clean epoch boundary behind. */
      if (stopped (cancellable, error))
        return FALSE;
      if (!trainer->order_ready)
        start_epoch (trainer);

      while (trainer->batch < trainer->batches_per_epoch)
        {
          gint64 batch_start;
          BatchResult result;

          if (stopped (cancellable, error))
            return FALSE;

          batch_start = g_get_monotonic_time ();
          result = train_batch (trainer);
          trainer->epoch_seconds += (g_get_monotonic_time () - batch_start) / 1e6;
          trainer->elapsed_seconds = elapsed_before + (g_get_monotonic_time () - run_start) / 1e6;
          trainer->epoch_loss_sum += result.loss * result.count;
          trainer->epoch_correct += result.correct;
          trainer->epoch_seen += result.count;
          trainer->epoch_digits += result.digits;

          if (callbacks != NULL && callbacks->batch_done != NULL)
            report_batch (trainer, callbacks, &result);
          trainer->batch++;
        }

      finish_epoch (trainer, callbacks);
      trainer->elapsed_seconds = elapsed_before + (g_get_monotonic_time () - run_start) / 1e6;
    }
  return TRUE;
}

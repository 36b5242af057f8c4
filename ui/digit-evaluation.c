/* digit-evaluation.c — the test set through a model, on a worker thread.
 *
 * nn_model_evaluate() gives the confusion matrix but not which images
 * fell where; predicting in batches here keeps every image's ten
 * probabilities (400 KB for 10,000 images) so that clicking a cell can
 * show its images at once.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "digit-background.h"
#include "digit-evaluation.h"

/* Images per nn_model_predict call: big enough for the engine's threads,
 * small enough that cancelling is quick. */
#define BATCH 500

struct _DigitEvaluation
{
  gatomicrefcount    ref_count;
  DigitTrainingData *data;
  guint              n_images;
  float             *probabilities;   /* n_images * NN_CLASSES */
  guint8            *predicted;
  guint              confusion[NN_CLASSES][NN_CLASSES];
  double             accuracy;
};

G_DEFINE_BOXED_TYPE (DigitEvaluation, digit_evaluation, digit_evaluation_ref, digit_evaluation_unref)

DigitEvaluation *
digit_evaluation_ref (DigitEvaluation *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
digit_evaluation_unref (DigitEvaluation *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_clear_object (&self->data);
  g_free (self->probabilities);
  g_free (self->predicted);
  g_free (self);
}

typedef struct {
  NnModel           *model;
  DigitTrainingData *data;
} EvaluationJob;

static void
evaluation_job_free (gpointer user_data)
{
  EvaluationJob *job = user_data;

  g_clear_pointer (&job->model, nn_model_free);
  g_clear_object (&job->data);
  g_free (job);
}

static guint
argmax (const float *probabilities)
{
  guint best = 0;

  for (guint i = 1; i < NN_CLASSES; i++)
    if (probabilities[i] > probabilities[best])
      best = i;
  return best;
}

static void
evaluate_in_thread (GTask        *task,
                    gpointer      source_object,
                    gpointer      task_data,
                    GCancellable *cancellable)
{
  EvaluationJob *job = task_data;
  const NnDataset *test = digit_training_data_get_test (job->data);
  g_autofree float *images = NULL;
  DigitEvaluation *self;
  guint correct = 0;

  if (test == NULL || test->count == 0)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                               _("There is no test set to evaluate the model on."));
      return;
    }

  self = g_new0 (DigitEvaluation, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->data = g_object_ref (job->data);
  self->n_images = test->count;
  self->probabilities = g_new (float, (gsize) test->count * NN_CLASSES);
  self->predicted = g_new (guint8, test->count);
  images = g_new (float, (gsize) BATCH * NN_IMAGE_PIXELS);

  for (guint start = 0; start < test->count; start += BATCH)
    {
      guint n = MIN (BATCH, test->count - start);

      if (g_cancellable_is_cancelled (cancellable))
        {
          digit_evaluation_unref (self);
          g_task_return_error_if_cancelled (task);
          return;
        }
      for (guint i = 0; i < n; i++)
        nn_dataset_get_image (test, start + i, images + (gsize) i * NN_IMAGE_PIXELS);
      nn_model_predict (job->model, images, n, self->probabilities + (gsize) start * NN_CLASSES);
      for (guint i = start; i < start + n; i++)
        {
          guint predicted = argmax (self->probabilities + (gsize) i * NN_CLASSES);

          self->predicted[i] = predicted;
          self->confusion[test->labels[i]][predicted]++;
          correct += predicted == test->labels[i];
        }
    }
  self->accuracy = (double) correct / test->count;
  g_task_return_pointer (task, self, (GDestroyNotify) digit_evaluation_unref);
}

void
digit_evaluation_run_async (NnModel             *model,
                            DigitTrainingData   *data,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  EvaluationJob *job;

  g_return_if_fail (model != NULL);
  g_return_if_fail (DIGIT_IS_TRAINING_DATA (data));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, digit_evaluation_run_async);
  job = g_new0 (EvaluationJob, 1);
  job->model = model;
  job->data = g_object_ref (data);
  g_task_set_task_data (task, job, evaluation_job_free);
  digit_background_run_task (task, evaluate_in_thread);
}

DigitEvaluation *
digit_evaluation_run_finish (GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

double
digit_evaluation_get_accuracy (DigitEvaluation *self)
{
  g_return_val_if_fail (self != NULL, 0.0);

  return self->accuracy;
}

guint
digit_evaluation_get_n_images (DigitEvaluation *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->n_images;
}

guint
digit_evaluation_get_count (DigitEvaluation *self,
                            guint            truth,
                            guint            predicted)
{
  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (truth < NN_CLASSES && predicted < NN_CLASSES, 0);

  return self->confusion[truth][predicted];
}

static int
by_confidence (gconstpointer a,
               gconstpointer b,
               gpointer      user_data)
{
  DigitEvaluation *self = user_data;
  guint ia = *(const guint *) a, ib = *(const guint *) b;
  float pa = self->probabilities[(gsize) ia * NN_CLASSES + self->predicted[ia]];
  float pb = self->probabilities[(gsize) ib * NN_CLASSES + self->predicted[ib]];

  if (pa != pb)
    return pa > pb ? -1 : 1;
  return ia < ib ? -1 : ia > ib;
}

GArray *
digit_evaluation_get_cell (DigitEvaluation *self,
                           guint            truth,
                           guint            predicted)
{
  const NnDataset *test;
  GArray *cell;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (truth < NN_CLASSES && predicted < NN_CLASSES, NULL);

  test = digit_training_data_get_test (self->data);
  cell = g_array_sized_new (FALSE, FALSE, sizeof (guint), self->confusion[truth][predicted]);
  for (guint i = 0; i < self->n_images; i++)
    if (test->labels[i] == truth && self->predicted[i] == predicted)
      g_array_append_val (cell, i);
  g_array_sort_with_data (cell, by_confidence, self);
  return cell;
}

const float *
digit_evaluation_get_probabilities (DigitEvaluation *self,
                                    guint            index)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (index < self->n_images, NULL);

  return self->probabilities + (gsize) index * NN_CLASSES;
}

guint
digit_evaluation_get_label (DigitEvaluation *self,
                            guint            index)
{
  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (index < self->n_images, 0);

  return digit_training_data_get_test (self->data)->labels[index];
}

void
digit_evaluation_get_image (DigitEvaluation *self,
                            guint            index,
                            float           *out)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (index < self->n_images);

  nn_dataset_get_image (digit_training_data_get_test (self->data), index, out);
}

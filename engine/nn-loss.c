/* nn-loss.c — softmax and the fused softmax + cross-entropy loss.
 *
 * Fused because the gradient of cross-entropy through softmax is simply
 * probabilities minus targets, which is both cheaper and more accurate than
 * chaining the two. Every row is shifted by its largest logit before
 * exponentiating, and the sums run in double, so huge logits are harmless.
 */
#include <math.h>

#include "nn-private.h"

void
nn_softmax (guint batch, const float *logits, float *probs)
{
  for (guint b = 0; b < batch; b++)
    {
      const float *row = logits + b * NN_CLASSES;
      float *p = probs + b * NN_CLASSES;
      float top = row[0];
      double sum = 0.0;

      for (guint k = 1; k < NN_CLASSES; k++)
        top = MAX (top, row[k]);
      for (guint k = 0; k < NN_CLASSES; k++)
        sum += exp ((double) row[k] - top);
      for (guint k = 0; k < NN_CLASSES; k++)
        p[k] = (float) (exp ((double) row[k] - top) / sum);
    }
}

/* With smoothing e, the target puts 1 - e + e/K on the label and e/K on
 * every class, as PyTorch's CrossEntropyLoss(label_smoothing=e) does. An
 * image that is no digit (NN_LABEL_NO_DIGIT) has 1/K on every class. */
double
nn_softmax_cross_entropy (guint batch, const float *logits, const guint8 *labels,
                          float smoothing, float *dlogits, guint *n_correct)
{
  const double off_target = (double) smoothing / NN_CLASSES;
  double total = 0.0;
  guint correct = 0;

  for (guint b = 0; b < batch; b++)
    {
      const float *row = logits + b * NN_CLASSES;
      guint label = labels[b], best = 0;
      double sum = 0.0, log_sum, loss = 0.0;

      for (guint k = 1; k < NN_CLASSES; k++)
        if (row[k] > row[best])
          best = k;
      for (guint k = 0; k < NN_CLASSES; k++)
        sum += exp ((double) row[k] - row[best]);
      log_sum = row[best] + log (sum);

      for (guint k = 0; k < NN_CLASSES; k++)
        {
          double target = label == NN_LABEL_NO_DIGIT ? 1.0 / NN_CLASSES
                          : off_target + (k == label ? 1.0 - smoothing : 0.0);

          loss -= target * ((double) row[k] - log_sum);
          if (dlogits != NULL)
            dlogits[b * NN_CLASSES + k] =
              (float) ((exp ((double) row[k] - log_sum) - target) / batch);
        }
      total += loss;
      correct += best == label;
    }

  if (n_correct != NULL)
    *n_correct = correct;
  return batch > 0 ? total / batch : 0.0;
}

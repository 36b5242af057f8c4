/* nn-confidence.c — when to say "not sure" instead of naming a digit.
 *
 * The network always answers with ten probabilities, even for a scribble or
 * half a digit. Naming its top digit then would assert a guess; below a
 * threshold, or when two digits tie, the app says it is not sure instead.
 * Both were chosen on data (bench/unsure-threshold, docs/default-model.md):
 * to catch scribbles and likely errors, while the default model still names
 * all but one in 1,000 of the MNIST test digits it reads right, so that
 * "not sure" does not stand in for accuracy.
 */
#include "nn.h"

#include <math.h>

gboolean
nn_prediction_is_unsure (const float probabilities[NN_CLASSES])
{
  float top = 0.0f, second = 0.0f;
  float sum = 0.0f;

  g_return_val_if_fail (probabilities != NULL, TRUE);

  for (guint i = 0; i < NN_CLASSES; i++)
    {
      /* Probabilities that are not probabilities say nothing reliable. */
      if (!isfinite (probabilities[i]) || probabilities[i] < 0.0f)
        return TRUE;
      if (probabilities[i] > top)
        {
          second = top;
          top = probabilities[i];
        }
      else
        second = MAX (second, probabilities[i]);
      sum += probabilities[i];
    }
  if (sum <= 0.0f)
    return TRUE;
  /* Divided by the sum, so a caller's rounding does not move the line. */
  return top / sum < NN_UNSURE_THRESHOLD || second >= NN_UNSURE_TIE * top;
}

/* test-confidence.c — the "not sure" rule (nn_prediction_is_unsure) on
 * known answers: clear and split votes, the exact threshold, probabilities
 * that do not sum to one, and values that are not probabilities. How often
 * it fires with the real default model is test-default-model.py's. */
#include "config.h"

#include <math.h>

#include "nn.h"

/* Ten probabilities: @top for digit @digit, the rest shared evenly. */
static void
make_vote (float probabilities[NN_CLASSES], guint digit, float top)
{
  for (guint i = 0; i < NN_CLASSES; i++)
    probabilities[i] = (1.0f - top) / (NN_CLASSES - 1);
  probabilities[digit] = top;
}

static void
test_clear_and_split (void)
{
  float p[NN_CLASSES];

  make_vote (p, 7, 1.0f);
  g_assert_false (nn_prediction_is_unsure (p));
  make_vote (p, 0, 0.99f);
  g_assert_false (nn_prediction_is_unsure (p));

  /* Every digit as likely as the others. */
  make_vote (p, 3, 0.1f);
  g_assert_true (nn_prediction_is_unsure (p));

  /* A 1 that might be a 7: two digits share nearly everything. */
  for (guint i = 0; i < NN_CLASSES; i++)
    p[i] = 0.0f;
  p[1] = 0.52f;
  p[7] = 0.48f;
  g_assert_true (nn_prediction_is_unsure (p));
}

static void
test_threshold (void)
{
  float p[NN_CLASSES];

  /* At the threshold the digit is named; just below it, it is not (the
   * rest spread over the other nine, far from a tie). */
  make_vote (p, 4, NN_UNSURE_THRESHOLD);
  g_assert_false (nn_prediction_is_unsure (p));
  make_vote (p, 4, NN_UNSURE_THRESHOLD - 1e-4f);
  g_assert_true (nn_prediction_is_unsure (p));

  /* The rule is about the top digit's share, wherever it is. */
  for (guint digit = 0; digit < NN_CLASSES; digit++)
    {
      make_vote (p, digit, NN_UNSURE_THRESHOLD + 0.05f);
      g_assert_false (nn_prediction_is_unsure (p));
      make_vote (p, digit, NN_UNSURE_THRESHOLD - 0.05f);
      g_assert_true (nn_prediction_is_unsure (p));
    }
}

/* Two digits close together are a tie however sure the pair is: the second
 * at NN_UNSURE_TIE of the first or more is "not sure", just under it not. */
static void
test_tie (void)
{
  float p[NN_CLASSES] = { 0 };

  p[1] = 0.6f;
  p[7] = 0.4f;
  g_assert_false (nn_prediction_is_unsure (p));

  p[1] = 0.5f;
  p[7] = 0.5f * NN_UNSURE_TIE;
  p[3] = 1.0f - p[1] - p[7];
  g_assert_true (nn_prediction_is_unsure (p));
  p[7] = 0.5f * NN_UNSURE_TIE - 1e-3f;
  p[3] = 1.0f - p[1] - p[7];
  g_assert_false (nn_prediction_is_unsure (p));

  /* The order of the two does not matter. */
  p[7] = 0.5f;
  p[1] = 0.5f * NN_UNSURE_TIE;
  p[3] = 1.0f - p[1] - p[7];
  g_assert_true (nn_prediction_is_unsure (p));
}

/* Probabilities rounded by a caller, or scaled, mean the same. */
static void
test_unnormalised (void)
{
  float p[NN_CLASSES];

  make_vote (p, 2, NN_UNSURE_THRESHOLD + 0.05f);
  for (guint i = 0; i < NN_CLASSES; i++)
    p[i] *= 3.0f;
  g_assert_false (nn_prediction_is_unsure (p));

  make_vote (p, 2, NN_UNSURE_THRESHOLD - 0.05f);
  for (guint i = 0; i < NN_CLASSES; i++)
    p[i] *= 0.25f;
  g_assert_true (nn_prediction_is_unsure (p));
}

static void
test_not_probabilities (void)
{
  float p[NN_CLASSES];

  make_vote (p, 5, 1.0f);
  p[0] = NAN;
  g_assert_true (nn_prediction_is_unsure (p));

  make_vote (p, 5, 1.0f);
  p[8] = INFINITY;
  g_assert_true (nn_prediction_is_unsure (p));

  make_vote (p, 5, 1.0f);
  p[1] = -0.5f;
  g_assert_true (nn_prediction_is_unsure (p));

  for (guint i = 0; i < NN_CLASSES; i++)
    p[i] = 0.0f;
  g_assert_true (nn_prediction_is_unsure (p));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/confidence/clear-and-split", test_clear_and_split);
  g_test_add_func ("/confidence/threshold", test_threshold);
  g_test_add_func ("/confidence/tie", test_tie);
  g_test_add_func ("/confidence/unnormalised", test_unnormalised);
  g_test_add_func ("/confidence/not-probabilities", test_not_probabilities);

  return g_test_run ();
}

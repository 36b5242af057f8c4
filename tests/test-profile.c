/* test-profile.c — nn_model_profile_layers: one entry per layer with the
 * known FLOP counts, the training pass's rules about which layers have a
 * backward pass, a model left bitwise as it was, and bad arguments refused. */
#include <math.h>
#include <string.h>

#include "nn.h"

/* Every tensor's floats, in order, to compare a model before and after. */
static GArray *
snapshot (NnModel *model)
{
  GArray *values = g_array_new (FALSE, FALSE, sizeof (float));

  for (guint i = 0; i < nn_model_get_n_tensors (model); i++)
    {
      NnTensor tensor;

      nn_model_get_tensor (model, i, &tensor);
      g_array_append_vals (values, tensor.data, tensor.n_elements);
    }
  return values;
}

static void
test_bench_cnn_flops (void)
{
  const guint batch = 8;
  const char *words[] = { "conv5x5:32", "relu", "maxpool", "conv5x5:64", "relu",
                          "maxpool", "dense:128", "relu", "dense:10" };
  /* Multiply-adds x 2 per image. */
  const double conv1 = 2.0 * 32 * 28 * 28 * 1 * 25;
  const double conv2 = 2.0 * 64 * 14 * 14 * 32 * 25;
  const double dense1 = 2.0 * 3136 * 128;
  const double dense2 = 2.0 * 128 * 10;
  g_autoptr(GError) error = NULL;
  g_autoptr(NnModel) model = nn_model_new ("bench-cnn", 3, &error);
  g_autofree NnLayerProfile *profile = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (nn_model_get_n_layers (model), ==, G_N_ELEMENTS (words));

  profile = nn_model_profile_layers (model, batch, 3, &error);
  g_assert_no_error (error);
  g_assert_nonnull (profile);

  for (guint i = 0; i < G_N_ELEMENTS (words); i++)
    {
      g_assert_cmpstr (profile[i].name, ==, words[i]);
      g_assert_cmpfloat (profile[i].forward_s, >, 0.0);
      g_assert_cmpfloat (profile[i].backward_s, >, 0.0);
      g_assert_true (isfinite (profile[i].forward_s) && profile[i].forward_s < 10.0);
      /* The fastest of the runs can be no slower than their median. */
      g_assert_cmpfloat (profile[i].forward_best_s, >, 0.0);
      g_assert_cmpfloat (profile[i].forward_best_s, <=, profile[i].forward_s);
      g_assert_cmpfloat (profile[i].backward_best_s, >, 0.0);
      g_assert_cmpfloat (profile[i].backward_best_s, <=, profile[i].backward_s);
    }

  /* The first layer computes no input gradient: its backward pass is the
   * weight gradient alone, as much arithmetic as its forward pass. */
  g_assert_cmpfloat_with_epsilon (profile[0].forward_flop, conv1 * batch, 0.5);
  g_assert_cmpfloat_with_epsilon (profile[0].backward_flop, conv1 * batch, 0.5);
  g_assert_cmpfloat_with_epsilon (profile[3].forward_flop, conv2 * batch, 0.5);
  g_assert_cmpfloat_with_epsilon (profile[3].backward_flop, 2 * conv2 * batch, 0.5);
  g_assert_cmpfloat_with_epsilon (profile[6].forward_flop, dense1 * batch, 0.5);
  g_assert_cmpfloat_with_epsilon (profile[6].backward_flop, 2 * dense1 * batch, 0.5);
  g_assert_cmpfloat_with_epsilon (profile[8].forward_flop, dense2 * batch, 0.5);
  g_assert_cmpfloat_with_epsilon (profile[8].backward_flop, 2 * dense2 * batch, 0.5);
  for (guint i = 0; i < G_N_ELEMENTS (words); i++)
    if (i != 0 && i != 3 && i != 6 && i != 8)
      {
        g_assert_cmpfloat (profile[i].forward_flop, ==, 0.0);
        g_assert_cmpfloat (profile[i].backward_flop, ==, 0.0);
      }

  /* bench-cnn is "about 22 MFLOP per image forward, 65 forward+backward". */
  double forward = 0, total = 0;
  for (guint i = 0; i < G_N_ELEMENTS (words); i++)
    {
      forward += profile[i].forward_flop / batch;
      total += (profile[i].forward_flop + profile[i].backward_flop) / batch;
    }
  g_assert_cmpfloat (fabs (forward - 22.13e6), <, 0.01e6);
  g_assert_cmpfloat (fabs (total - 65.14e6), <, 0.01e6);
}

/* Layers before the first one with parameters get no backward pass in
 * training, so none is timed or counted; "valid" convolutions shrink. */
static void
test_leading_layers_and_valid (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NnModel) model = nn_model_new ("maxpool conv3x3:4:valid relu dense:10", 5, &error);
  g_autofree NnLayerProfile *profile = NULL;
  const double conv = 2.0 * 4 * 12 * 12 * 1 * 9;   /* 14x14 in, 12x12 out */

  g_assert_no_error (error);
  profile = nn_model_profile_layers (model, 4, 3, &error);
  g_assert_no_error (error);

  g_assert_cmpstr (profile[0].name, ==, "maxpool");
  g_assert_cmpfloat (profile[0].backward_s, ==, 0.0);
  g_assert_cmpfloat (profile[0].backward_best_s, ==, 0.0);
  g_assert_cmpfloat (profile[0].backward_flop, ==, 0.0);
  g_assert_cmpfloat (profile[0].forward_s, >, 0.0);

  g_assert_cmpstr (profile[1].name, ==, "conv3x3:4:valid");
  g_assert_cmpfloat_with_epsilon (profile[1].forward_flop, conv * 4, 0.5);
  g_assert_cmpfloat_with_epsilon (profile[1].backward_flop, conv * 4, 0.5);
  g_assert_cmpfloat (profile[1].backward_s, >, 0.0);

  g_assert_cmpfloat_with_epsilon (profile[3].forward_flop, 2.0 * 4 * 12 * 12 * 10 * 4, 0.5);
}

/* Profiling runs training passes, which move batchnorm's running
 * statistics: they, the weights and so the predictions must come back
 * exactly as they were. */
static void
test_model_unchanged (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NnModel) model = nn_model_new ("conv3x3:8 bn relu maxpool dropout:0.5 dense:16 bn relu dense:10",
                                           7, &error);
  g_autoptr(GArray) before = NULL;
  g_autoptr(GArray) after = NULL;
  g_autofree NnLayerProfile *profile = NULL;
  float image[NN_IMAGE_PIXELS], probs_before[NN_CLASSES], probs_after[NN_CLASSES];

  g_assert_no_error (error);
  for (guint i = 0; i < NN_IMAGE_PIXELS; i++)
    image[i] = (float) ((i * 37) % 101) / 100.0f;

  before = snapshot (model);
  nn_model_predict (model, image, 1, probs_before);
  profile = nn_model_profile_layers (model, 16, 2, &error);
  g_assert_no_error (error);
  after = snapshot (model);
  nn_model_predict (model, image, 1, probs_after);

  g_assert_cmpuint (before->len, ==, after->len);
  g_assert_cmpmem (before->data, before->len * sizeof (float),
                   after->data, after->len * sizeof (float));
  g_assert_cmpmem (probs_before, sizeof probs_before, probs_after, sizeof probs_after);

  g_assert_cmpstr (profile[1].name, ==, "batchnorm");
  g_assert_cmpstr (profile[4].name, ==, "dropout:0.5");
  g_assert_cmpfloat (profile[1].forward_s, >, 0.0);
  g_assert_cmpfloat (profile[1].backward_s, >, 0.0);
}

static void
test_bad_arguments (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NnModel) model = nn_model_new ("mlp", 1, &error);
  NnLayerProfile *profile;

  g_assert_no_error (error);
  profile = nn_model_profile_layers (model, 0, 3, &error);
  g_assert_null (profile);
  g_assert_error (error, NN_ERROR, NN_ERROR_PARAMETER);
  g_clear_error (&error);

  profile = nn_model_profile_layers (model, 4097, 3, &error);
  g_assert_null (profile);
  g_assert_error (error, NN_ERROR, NN_ERROR_PARAMETER);
  g_clear_error (&error);

  profile = nn_model_profile_layers (model, 8, 0, &error);
  g_assert_null (profile);
  g_assert_error (error, NN_ERROR, NN_ERROR_PARAMETER);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  nn_set_threads (2);
  g_test_add_func ("/profile/bench-cnn-flops", test_bench_cnn_flops);
  g_test_add_func ("/profile/leading-layers-and-valid", test_leading_layers_and_valid);
  g_test_add_func ("/profile/model-unchanged", test_model_unchanged);
  g_test_add_func ("/profile/bad-arguments", test_bad_arguments);
  return g_test_run ();
}

/* test-spec.c — architecture specs: presets and their parameter counts,
 * canonical forms, tensor names and shapes, descriptions, and a table of
 * wrong specs that must each fail with the layer named.
 */
#include "test-util.h"

/* Parameter counts worked out layer by layer:
 *  bench-cnn: conv 1*25*32+32 = 832, conv 32*25*64+64 = 51264,
 *             dense 64*7*7*128+128 = 401536, dense 128*10+10 = 1290
 *  lenet5:    conv 1*25*6+6 = 156, conv 6*25*16+16 = 2416 (valid: 14 -> 10),
 *             dense 16*5*5*120+120 = 48120, 120*84+84 = 10164, 84*10+10 = 850
 *  mlp:       784*256+256 = 200960, 256*128+128 = 32896, 1290
 *  default:   conv 320, bn 64, conv 9248, bn 64, conv 18496, bn 128,
 *             conv 36928, bn 128, dense 3136*128+128 = 401536, bn 256, 1290 */
static void
test_presets (void)
{
  static const struct { const char *name; gsize params; guint layers; } expected[] = {
    { "bench-cnn", 832 + 51264 + 401536 + 1290, 9 },
    { "lenet5", 156 + 2416 + 48120 + 10164 + 850, 11 },
    { "mlp", 200960 + 32896 + 1290, 5 },
    { "default", 320 + 64 + 9248 + 64 + 18496 + 128 + 36928 + 128 + 401536 + 256 + 1290, 19 },
  };
  guint n_presets = 0;
  const NnPreset *presets = nn_presets (&n_presets);

  g_assert_cmpuint (n_presets, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (NnModel) model = NULL;
      gsize n_params = 0;
      gboolean found = FALSE;

      g_assert_true (nn_spec_validate (expected[i].name, &n_params, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (n_params, ==, expected[i].params);
      g_test_message ("%s: %" G_GSIZE_FORMAT " parameters", expected[i].name, n_params);

      model = nn_model_new (expected[i].name, 1, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (nn_model_get_param_count (model), ==, expected[i].params);
      g_assert_cmpuint (nn_model_get_n_layers (model), ==, expected[i].layers);
      g_assert_cmpstr (nn_model_get_spec (model), ==, nn_spec_expand (expected[i].name));

      for (guint p = 0; p < n_presets; p++)
        if (g_str_equal (presets[p].name, expected[i].name))
          {
            found = TRUE;
            g_assert_cmpstr (presets[p].spec, ==, nn_spec_expand (expected[i].name));
            g_assert_cmpstr (presets[p].description, !=, "");
          }
      g_assert_true (found);
    }

  g_assert_cmpstr (nn_spec_expand ("bench-cnn"), ==,
                   "conv5x5:32 relu maxpool conv5x5:64 relu maxpool dense:128 relu dense:10");
  g_assert_cmpstr (nn_spec_expand (" LeNet5 "), ==, nn_spec_expand ("lenet5"));
  g_assert_cmpstr (nn_spec_expand ("relu dense:10"), ==, "relu dense:10");
}

/* Aliases, commas, capitals and extra spaces all come out canonical. */
static void
test_canonical (void)
{
  static const struct { const char *typed, *canonical; } cases[] = {
    { "  fc:32 ,RELU,, bn   dense:10 ", "dense:32 relu batchnorm dense:10" },
    { "conv3x3:8:same pool conv3x3:8:valid dropout dense:10",
      "conv3x3:8 maxpool conv3x3:8:valid dropout:0.5 dense:10" },
    { "conv1x1:4:valid dropout:0.25 dense:10", "conv1x1:4 dropout:0.25 dense:10" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (NnModel) model = nn_model_new (cases[i].typed, 1, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (nn_model_get_spec (model), ==, cases[i].canonical);
    }
}

/* Tensor names, shapes and order as PyTorch's nn.Sequential state_dict. */
static void
test_tensors (void)
{
  static const struct { const char *name; guint ndim; guint shape[4]; gboolean trainable; } expected[] = {
    { "layers.0.weight", 4, { 4, 1, 3, 3 }, TRUE },
    { "layers.0.bias", 1, { 4 }, TRUE },
    { "layers.1.weight", 1, { 4 }, TRUE },
    { "layers.1.bias", 1, { 4 }, TRUE },
    { "layers.1.running_mean", 1, { 4 }, FALSE },
    { "layers.1.running_var", 1, { 4 }, FALSE },
    { "layers.4.weight", 2, { 10, 4 * 14 * 14 }, TRUE },
    { "layers.4.bias", 1, { 10 }, TRUE },
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (NnModel) model = nn_model_new ("conv3x3:4 bn relu maxpool dense:10", 1, &error);
  gsize trainable = 0;

  g_assert_no_error (error);
  g_assert_cmpuint (nn_model_get_n_tensors (model), ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      NnTensor tensor;
      gsize n = 1;

      nn_model_get_tensor (model, i, &tensor);
      g_assert_cmpstr (tensor.name, ==, expected[i].name);
      g_assert_cmpuint (tensor.ndim, ==, expected[i].ndim);
      for (guint d = 0; d < tensor.ndim; d++)
        {
          g_assert_cmpuint (tensor.shape[d], ==, expected[i].shape[d]);
          n *= tensor.shape[d];
        }
      g_assert_cmpuint (tensor.n_elements, ==, n);
      g_assert_cmpint (tensor.trainable, ==, expected[i].trainable);
      if (tensor.trainable)
        trainable += n;
    }
  g_assert_cmpuint (trainable, ==, nn_model_get_param_count (model));

  /* Initial values: batchnorm is the identity, biases zero, running
   * variance one, and conv weights He-scaled (std sqrt(2/9) = 0.47). */
  {
    NnTensor w, bn_w, bn_var, bias;
    double sum_squares = 0;
    NnModel *big = nn_model_new ("dense:10", 3, &error);

    nn_model_get_tensor (model, 2, &bn_w);
    nn_model_get_tensor (model, 5, &bn_var);
    nn_model_get_tensor (model, 1, &bias);
    for (guint c = 0; c < 4; c++)
      {
        g_assert_cmpfloat (bn_w.data[c], ==, 1.0f);
        g_assert_cmpfloat (bn_var.data[c], ==, 1.0f);
        g_assert_cmpfloat (bias.data[c], ==, 0.0f);
      }
    /* 7840 weights with std sqrt(2/784) = 0.0505: the sample variance is
     * within 5% of 2/784 with overwhelming probability. */
    nn_model_get_tensor (big, 0, &w);
    for (gsize i = 0; i < w.n_elements; i++)
      sum_squares += (double) w.data[i] * w.data[i];
    g_assert_cmpfloat (sum_squares / w.n_elements, >, 0.95 * 2.0 / 784);
    g_assert_cmpfloat (sum_squares / w.n_elements, <, 1.05 * 2.0 / 784);
    nn_model_free (big);
  }
}

static void
test_describe (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NnModel) model = nn_model_new ("bench-cnn", 1, &error);
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;

  g_assert_no_error (error);
  text = nn_model_describe (model);
  g_test_message ("%s", text);
  lines = g_strsplit (g_strchomp (text), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 9);
  g_assert_cmpstr (lines[0], ==, "conv5x5:32   1x28x28 -> 32x28x28  832 params");
  g_assert_cmpstr (lines[2], ==, "maxpool     32x28x28 -> 32x14x14");
  g_assert_cmpstr (lines[6], ==, "dense:128     64x7x7 -> 128       401536 params");
  g_assert_cmpstr (lines[7], ==, "relu             128 -> 128");
  g_assert_cmpstr (lines[8], ==, "dense:10         128 -> 10        1290 params");
}

static void
test_metadata_and_copy (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NnModel) model = nn_model_new ("lenet5", 9, &error);
  g_autoptr (NnModel) copy = NULL;
  g_autoptr (NnModel) same_seed = nn_model_new ("lenet5", 9, &error);
  g_autoptr (NnModel) other_seed = nn_model_new ("lenet5", 10, &error);
  g_auto (GStrv) keys = NULL;

  g_assert_no_error (error);
  nn_model_set_metadata (model, "name", "first");
  nn_model_set_metadata (model, "author", "someone");
  nn_model_set_metadata (model, "name", "renamed");
  g_assert_cmpstr (nn_model_get_metadata (model, "name"), ==, "renamed");
  g_assert_null (nn_model_get_metadata (model, "missing"));
  keys = nn_model_list_metadata (model);
  g_assert_cmpuint (g_strv_length (keys), ==, 2);
  g_assert_cmpstr (keys[0], ==, "author");
  g_assert_cmpstr (keys[1], ==, "name");

  copy = nn_model_copy (model);
  g_assert_cmpstr (nn_model_get_metadata (copy, "name"), ==, "renamed");
  g_assert_cmpstr (nn_model_get_spec (copy), ==, nn_model_get_spec (model));
  g_assert_true (test_floats_equal (copy->params, model->params, model->n_params));
  /* A copy is independent. */
  copy->params[0] += 1;
  nn_model_set_metadata (copy, "name", "copy");
  g_assert_cmpstr (nn_model_get_metadata (model, "name"), ==, "renamed");
  g_assert_false (test_floats_equal (copy->params, model->params, model->n_params));

  /* The same seed gives bitwise the same weights; another seed does not. */
  g_assert_true (test_floats_equal (same_seed->params, model->params, model->n_params));
  g_assert_false (test_floats_equal (other_seed->params, model->params, model->n_params));
}

/* Each wrong spec fails with NN_ERROR_SPEC, and the message names the
 * layer (1-based) and quotes the word at fault. */
static void
test_errors (void)
{
  static const struct { const char *spec; guint layer; const char *word; } cases[] = {
    { "conv5x4:32 relu dense:10", 1, "conv5x4:32" },
    { "relu relu conv4x4:8 dense:10", 3, "conv4x4:8" },
    { "conv5x5 dense:10", 1, "conv5x5" },
    { "conv5x5:0 dense:10", 1, "conv5x5:0" },
    { "conv5x5:-3 dense:10", 1, "conv5x5:-3" },
    { "conv5x5:8:diagonal dense:10", 1, "conv5x5:8:diagonal" },
    { "convolution:8 dense:10", 1, "convolution:8" },
    { "conv17x17:8 dense:10", 1, "conv17x17:8" },
    { "dense:10 conv3x3:8 dense:10", 2, "conv3x3:8" },
    { "dense:64 maxpool dense:10", 2, "maxpool" },
    { "maxpool maxpool maxpool maxpool maxpool dense:10", 5, "maxpool" },
    { "conv5x5:4:valid maxpool conv5x5:4:valid maxpool conv5x5:4:valid dense:10", 5,
      "conv5x5:4:valid" },
    { "relu softmax dense:10", 2, "softmax" },
    { "dense dense:10", 1, "dense" },
    { "dense:abc dense:10", 1, "dense:abc" },
    { "fc:1e3 dense:10", 1, "fc:1e3" },
    { "relu:2 dense:10", 1, "relu:2" },
    { "dropout:1 dense:10", 1, "dropout:1" },
    { "dropout:-0.1 dense:10", 1, "dropout:-0.1" },
    { "dropout:nan dense:10", 1, "dropout:nan" },
    { "conv3x3:8 relu", 2, "relu" },
    { "dense:128 relu dense:9", 3, "dense:9" },
    { "dense:10 relu", 2, "relu" },
    { "conv3x3:1024 conv3x3:1024 conv3x3:1024 dense:10", 4, "dense:10" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *layer = g_strdup_printf ("layer %u ", cases[i].layer);
      g_autofree char *quoted = g_strdup_printf ("“%s”", cases[i].word);
      gsize n_params = 12345;

      g_assert_false (nn_spec_validate (cases[i].spec, &n_params, &error));
      g_assert_error (error, NN_ERROR, NN_ERROR_SPEC);
      g_test_message ("%-50s %s", cases[i].spec, error->message);
      if (strstr (error->message, layer) == NULL || strstr (error->message, quoted) == NULL)
        g_error ("“%s”: the message “%s” should name %s and %s",
                 cases[i].spec, error->message, layer, quoted);
      g_assert_cmpuint (n_params, ==, 12345);
      g_clear_error (&error);
      g_assert_null (nn_model_new (cases[i].spec, 1, &error));
      g_assert_error (error, NN_ERROR, NN_ERROR_SPEC);
    }

  /* Nothing at all. */
  {
    g_autoptr (GError) error = NULL;

    g_assert_false (nn_spec_validate (" , ", NULL, &error));
    g_assert_error (error, NN_ERROR, NN_ERROR_SPEC);
  }
}

/* Messages say what was expected, not just that something is wrong. */
static void
test_error_wording (void)
{
  static const struct { const char *spec, *fragment; } cases[] = {
    { "conv5x4:32 dense:10", "square and odd, like conv5x5" },
    { "conv3x3:8 relu", "the last layer must be dense:10" },
    { "maxpool maxpool maxpool maxpool maxpool dense:10", "cannot pool a 1x1 map" },
    { "conv5x5:4:valid maxpool conv5x5:4:valid maxpool conv5x5:4:valid dense:10",
      "larger than its 4x4 input" },
    { "relu softmax dense:10", "expected convKxK:N, maxpool, dense:N, relu, dropout:P or batchnorm" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;

      g_assert_false (nn_spec_validate (cases[i].spec, NULL, &error));
      if (strstr (error->message, cases[i].fragment) == NULL)
        g_error ("“%s” gave “%s”, which should say “%s”",
                 cases[i].spec, error->message, cases[i].fragment);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/spec/presets", test_presets);
  g_test_add_func ("/spec/canonical", test_canonical);
  g_test_add_func ("/spec/tensors", test_tensors);
  g_test_add_func ("/spec/describe", test_describe);
  g_test_add_func ("/spec/metadata-and-copy", test_metadata_and_copy);
  g_test_add_func ("/spec/errors", test_errors);
  g_test_add_func ("/spec/error-wording", test_error_wording);

  return g_test_run ();
}

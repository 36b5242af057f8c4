/* test-layers.c — every layer's forward pass against answers worked out by
 * hand on inputs small enough to check on paper (the arithmetic is in the
 * comments), plus the GEMM against a naive triple loop.
 */
#include "test-util.h"

#include <math.h>

#include "nn-gemm.h"

static void
assert_floats (const float *got, const float *expected, gsize n, float tolerance)
{
  for (gsize i = 0; i < n; i++)
    if (fabsf (got[i] - expected[i]) > tolerance)
      g_error ("element %" G_GSIZE_FORMAT ": got %.7g, expected %.7g", i, got[i], expected[i]);
}

static float *
conv_scratch (const NnLayer *layer)
{
  return g_new0 (float, nn_conv_scratch_size (layer) * nn_get_threads ());
}

/* Input 4x4 holding 1..16 row by row, one asymmetric 3x3 kernel
 *   1 2 0
 *   0 1 0
 *   0 0 -1     and bias 0.5,
 * applied as cross-correlation (PyTorch's convolution):
 *   out(y, x) = in(y-1, x-1) + 2 in(y-1, x) + in(y, x) - in(y+1, x+1) + 0.5
 * with in(r, c) = 4 r + c + 1 and zero outside. */
static const float conv_input[16] = {
  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
};
static const float conv_kernel[9] = { 1, 2, 0, 0, 1, 0, 0, 0, -1 };
static const float conv_bias[1] = { 0.5f };

static void
test_conv_same (void)
{
  NnLayer layer = test_layer (NN_LAYER_CONV, 1, 4, 4, 3, FALSE, 1);
  g_autofree float *scratch = conv_scratch (&layer);
  float out[16];
  /* Row 0: in(0,x) - in(1,x+1): 1-6, 2-7, 3-8, 4-0.
   * Row 1: 0+2+5-10, 1+4+6-11, 2+6+7-12, 3+8+8-0.
   * Row 2: 0+10+9-14, 5+12+10-15, 6+14+11-16, 7+16+12-0.
   * Row 3: 0+18+13, 9+20+14, 10+22+15, 11+24+16. Then + 0.5. */
  static const float expected[16] = {
    -4.5f, -4.5f, -4.5f, 4.5f,
    -2.5f, 0.5f, 3.5f, 19.5f,
    5.5f, 12.5f, 15.5f, 35.5f,
    31.5f, 43.5f, 47.5f, 51.5f,
  };

  g_assert_cmpuint (layer.out_h, ==, 4);
  nn_conv_forward (&layer, 1, conv_input, conv_kernel, conv_bias, out, scratch, nn_get_threads ());
  assert_floats (out, expected, 16, 0.0f);
}

static void
test_conv_valid (void)
{
  NnLayer layer = test_layer (NN_LAYER_CONV, 1, 4, 4, 3, TRUE, 1);
  g_autofree float *scratch = conv_scratch (&layer);
  float out[4];
  /* The inner four of the "same" result: 0, 3, 12, 15, plus 0.5. */
  static const float expected[4] = { 0.5f, 3.5f, 12.5f, 15.5f };

  g_assert_cmpuint (layer.out_h, ==, 2);
  g_assert_cmpuint (layer.out_w, ==, 2);
  nn_conv_forward (&layer, 1, conv_input, conv_kernel, conv_bias, out, scratch, nn_get_threads ());
  assert_floats (out, expected, 4, 0.0f);
}

/* Two images, two input channels, two output channels, a 1x1 kernel:
 * out[o] = sum_c w[o][c] in[c] + b[o], pixel by pixel. */
static void
test_conv_channels (void)
{
  NnLayer layer = test_layer (NN_LAYER_CONV, 2, 1, 2, 1, FALSE, 2);
  g_autofree float *scratch = conv_scratch (&layer);
  /* image 0: channel 0 = (1, 2), channel 1 = (3, 4); image 1: (5, 6), (7, 8) */
  static const float in[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
  static const float weight[4] = { 1, -1, 2, 0.5f };   /* w[0] = (1, -1), w[1] = (2, 0.5) */
  static const float bias[2] = { 10, 20 };
  /* image 0: o0 = (1-3, 2-4) + 10 = (8, 8); o1 = (2+1.5, 4+2) + 20 = (23.5, 26)
   * image 1: o0 = (5-7, 6-8) + 10 = (8, 8); o1 = (10+3.5, 12+4) + 20 = (33.5, 36) */
  static const float expected[8] = { 8, 8, 23.5f, 26, 8, 8, 33.5f, 36 };
  float out[8];

  nn_conv_forward (&layer, 2, in, weight, bias, out, scratch, nn_get_threads ());
  assert_floats (out, expected, 8, 0.0f);
}

/* A 5x5 map pools to 2x2: the last row and column are dropped. Ties go to
 * the first in reading order; the gradient goes to the winner alone. */
static void
test_maxpool (void)
{
  NnLayer layer = test_layer (NN_LAYER_MAXPOOL, 1, 5, 5, 0, FALSE, 0);
  static const float in[25] = {
    1, 5, 2, 2, 99,
    3, 4, 0, -1, 99,
    -5, -6, 7, 7, 99,
    -7, -8, 7, 6, 99,
    99, 99, 99, 99, 99,
  };
  static const float expected[4] = { 5, 2, -5, 7 };
  static const gint32 expected_winners[4] = { 1, 2, 10, 12 };
  static const float dout[4] = { 10, 20, 30, 40 };
  float out[4], din[25], expected_din[25] = { 0 };
  gint32 winners[4];

  g_assert_cmpuint (layer.out_h, ==, 2);
  nn_maxpool_forward (&layer, 1, in, out, winners);
  assert_floats (out, expected, 4, 0.0f);
  for (guint i = 0; i < 4; i++)
    g_assert_cmpint (winners[i], ==, expected_winners[i]);

  nn_maxpool_backward (&layer, 1, dout, winners, din);
  expected_din[1] = 10;
  expected_din[2] = 20;
  expected_din[10] = 30;
  expected_din[12] = 40;
  assert_floats (din, expected_din, 25, 0.0f);
}

/* in (1, 2, 3), W = [[1, 0, -1], [2, 1, 0]], b = (0.5, -1):
 * out = (1 - 3 + 0.5, 2 + 2 - 1) = (-1.5, 3); a second image (0, 0, 1)
 * gives (-1 + 0.5, -1) = (-0.5, -1). */
static void
test_dense (void)
{
  NnLayer layer = test_layer (NN_LAYER_DENSE, 3, 1, 1, 0, FALSE, 2);
  static const float in[6] = { 1, 2, 3, 0, 0, 1 };
  static const float weight[6] = { 1, 0, -1, 2, 1, 0 };
  static const float bias[2] = { 0.5f, -1 };
  static const float expected[4] = { -1.5f, 3, -0.5f, -1 };
  float out[4];

  nn_dense_forward (&layer, 2, in, weight, bias, out);
  assert_floats (out, expected, 4, 0.0f);
}

/* A dense layer flattens its input in C, H, W order, as PyTorch does. */
static void
test_dense_flattens_chw (void)
{
  NnLayer layer = test_layer (NN_LAYER_DENSE, 2, 1, 2, 0, FALSE, 1);
  static const float in[4] = { 1, 10, 100, 1000 };   /* c0 = (1, 10), c1 = (100, 1000) */
  static const float weight[4] = { 1, 2, 3, 4 };
  static const float bias[1] = { 0 };
  float out[1];

  nn_dense_forward (&layer, 1, in, weight, bias, out);
  g_assert_cmpfloat (out[0], ==, 1 + 20 + 300 + 4000);
}

static void
test_relu (void)
{
  static const float in[5] = { -2, -0.0f, 0, 0.5f, 3 };
  static const float expected[5] = { 0, 0, 0, 0.5f, 3 };
  static const float dout[5] = { 1, 1, 1, 1, 1 };
  static const float expected_din[5] = { 0, 0, 0, 1, 1 };
  float out[5], din[5];

  nn_relu_forward (5, in, out);
  assert_floats (out, expected, 5, 0.0f);
  nn_relu_backward (5, out, dout, din);
  assert_floats (din, expected_din, 5, 0.0f);
}

/* Inverted dropout: each value is dropped or scaled by 1 / (1 - rate), the
 * expected sum is kept, and a seed always gives the same mask. */
static void
test_dropout (void)
{
  const gsize per_image = 5000;
  const float rate = 0.3f;
  g_autofree float *in = g_new (float, 2 * per_image);
  g_autofree float *out = g_new (float, 2 * per_image);
  g_autofree float *mask = g_new (float, 2 * per_image);
  g_autofree float *mask2 = g_new (float, 2 * per_image);
  gsize dropped = 0;

  for (gsize i = 0; i < 2 * per_image; i++)
    in[i] = 1.0f;
  nn_dropout_forward (per_image, 2, rate, 42, in, out, mask);
  for (gsize i = 0; i < 2 * per_image; i++)
    {
      g_assert_true (mask[i] == 0.0f || mask[i] == 1.0f / (1.0f - rate));
      g_assert_cmpfloat (out[i], ==, mask[i]);
      dropped += mask[i] == 0.0f;
    }
  /* 10000 draws at p = 0.3: the standard deviation of the count is 46. */
  g_assert_cmpuint (dropped, >, 3000 - 250);
  g_assert_cmpuint (dropped, <, 3000 + 250);
  /* The two images get different masks. */
  g_assert_false (test_floats_equal (mask, mask + per_image, per_image));

  nn_dropout_forward (per_image, 2, rate, 42, in, in, mask2);
  g_assert_true (test_floats_equal (mask, mask2, 2 * per_image));
  g_assert_true (test_floats_equal (in, out, 2 * per_image));
}

/* One channel, two images of 1x2: values 1, 2 | 3, 4. Mean 2.5, biased
 * variance 1.25, so out = (x - 2.5) / sqrt(1.25 + 1e-5) * gamma + beta. The
 * running mean moves from 0 to 0.1 * 2.5 = 0.25 and the running variance
 * from 1 to 0.9 + 0.1 * 5/3 (unbiased: 5/4 * 4/3) = 1.0666667. */
static void
test_batchnorm (void)
{
  NnLayer layer = test_layer (NN_LAYER_BATCHNORM, 1, 1, 2, 0, FALSE, 0);
  static const float in[4] = { 1, 2, 3, 4 };
  const float gamma[1] = { 2 }, beta[1] = { 1 };
  float running_mean[1] = { 0 }, running_var[1] = { 1 };
  float out[4], mean[1], invstd[1];
  const double s = sqrt (1.25 + 1e-5);

  nn_batchnorm_forward_train (&layer, 2, in, gamma, beta, running_mean, running_var,
                              out, mean, invstd);
  for (guint i = 0; i < 4; i++)
    g_assert_cmpfloat_with_epsilon (out[i], (in[i] - 2.5) / s * 2 + 1, 1e-6);
  g_assert_cmpfloat_with_epsilon (running_mean[0], 0.25, 1e-7);
  g_assert_cmpfloat_with_epsilon (running_var[0], 0.9 + 0.1 * 5.0 / 3.0, 1e-6);

  /* Inference uses the running estimates: (x - 0.25) / sqrt(1.0666667) * 2 + 1. */
  nn_batchnorm_forward_infer (&layer, 2, in, gamma, beta, running_mean, running_var, out);
  for (guint i = 0; i < 4; i++)
    g_assert_cmpfloat_with_epsilon (out[i], (in[i] - 0.25) / sqrt (running_var[0] + 1e-5) * 2 + 1,
                                    1e-6);
}

/* Per feature after a dense layer: features are columns of the batch. */
static void
test_batchnorm_features (void)
{
  NnLayer layer = test_layer (NN_LAYER_BATCHNORM, 2, 1, 1, 0, FALSE, 0);
  /* feature 0 over 3 images: 0, 3, 6 (mean 3, var 6); feature 1: 5, 5, 5 */
  static const float in[6] = { 0, 5, 3, 5, 6, 5 };
  const float gamma[2] = { 1, 1 }, beta[2] = { 0, 0 };
  float running_mean[2] = { 0, 0 }, running_var[2] = { 1, 1 };
  float out[6], mean[2], invstd[2];
  const double s = sqrt (6 + 1e-5);

  nn_batchnorm_forward_train (&layer, 3, in, gamma, beta, running_mean, running_var,
                              out, mean, invstd);
  g_assert_cmpfloat_with_epsilon (out[0], -3 / s, 1e-6);
  g_assert_cmpfloat_with_epsilon (out[2], 0, 1e-6);
  g_assert_cmpfloat_with_epsilon (out[4], 3 / s, 1e-6);
  g_assert_cmpfloat (out[1], ==, 0);   /* a constant feature normalises to 0 */
  g_assert_cmpfloat_with_epsilon (mean[1], 5, 1e-6);
  g_assert_cmpfloat_with_epsilon (running_var[0], 0.9 + 0.1 * 9, 1e-6);   /* unbiased: 18/2 */
}

/* Equal logits: every class has probability 1/10, the loss is ln 10 with
 * or without smoothing, and the gradient is (0.1 - target) / batch. */
static void
test_cross_entropy_uniform (void)
{
  float logits[2 * NN_CLASSES] = { 0 }, dlogits[2 * NN_CLASSES];
  const guint8 labels[2] = { 3, 7 };
  guint correct = 99;
  double loss;

  loss = nn_softmax_cross_entropy (2, logits, labels, 0.0f, dlogits, &correct);
  g_assert_cmpfloat_with_epsilon (loss, log (10.0), 1e-12);
  g_assert_cmpfloat_with_epsilon (dlogits[3], (0.1 - 1.0) / 2, 1e-7);
  g_assert_cmpfloat_with_epsilon (dlogits[0], 0.1 / 2, 1e-7);
  g_assert_cmpfloat_with_epsilon (dlogits[NN_CLASSES + 7], (0.1 - 1.0) / 2, 1e-7);
  /* The first of equal logits is the prediction: class 0, wrong both times. */
  g_assert_cmpuint (correct, ==, 0);

  loss = nn_softmax_cross_entropy (2, logits, labels, 0.1f, dlogits, NULL);
  g_assert_cmpfloat_with_epsilon (loss, log (10.0), 1e-12);
  /* target on the label 0.9 + 0.01, elsewhere 0.01 */
  g_assert_cmpfloat_with_epsilon (dlogits[3], (0.1 - 0.91) / 2, 1e-7);
  g_assert_cmpfloat_with_epsilon (dlogits[0], (0.1 - 0.01) / 2, 1e-7);
}

/* Logits (2, 0, ..., 0): p0 = e^2 / (e^2 + 9), so for label 0 the loss is
 * ln(e^2 + 9) - 2 = 0.79661380, and for label 1 it is ln(e^2 + 9). */
static void
test_cross_entropy_values (void)
{
  float logits[NN_CLASSES] = { 2 }, dlogits[NN_CLASSES], probs[NN_CLASSES];
  guint8 label = 0;
  guint correct;
  const double lse = log (exp (2.0) + 9.0);
  double loss;

  loss = nn_softmax_cross_entropy (1, logits, &label, 0.0f, dlogits, &correct);
  g_assert_cmpfloat_with_epsilon (loss, 0.7966138010382244, 1e-12);
  g_assert_cmpuint (correct, ==, 1);
  g_assert_cmpfloat_with_epsilon (dlogits[0], exp (2.0 - lse) - 1.0, 1e-7);
  g_assert_cmpfloat_with_epsilon (dlogits[5], exp (-lse), 1e-7);

  label = 1;
  loss = nn_softmax_cross_entropy (1, logits, &label, 0.0f, NULL, &correct);
  g_assert_cmpfloat_with_epsilon (loss, lse, 1e-12);
  g_assert_cmpuint (correct, ==, 0);

  /* Smoothing 0.2: target 0.82 on class 1 and 0.02 on the others, so
   * loss = lse - 0.02 * 2 (class 0's logit is the only non-zero one). */
  loss = nn_softmax_cross_entropy (1, logits, &label, 0.2f, NULL, NULL);
  g_assert_cmpfloat_with_epsilon (loss, lse - 0.02 * 2, 1e-7);

  nn_softmax (1, logits, probs);
  g_assert_cmpfloat_with_epsilon (probs[0], exp (2.0) / (exp (2.0) + 9), 1e-7);
}

/* An image that is no digit has the target 1/10 everywhere, whatever the
 * smoothing: with logits (2, 0, ..., 0) the loss is ln(e^2 + 9) - 2/10 and
 * the gradient p - 1/10; it never counts as correct. */
static void
test_cross_entropy_no_digit (void)
{
  float logits[2 * NN_CLASSES] = { 2 }, dlogits[2 * NN_CLASSES];
  const guint8 labels[2] = { NN_LABEL_NO_DIGIT, NN_LABEL_NO_DIGIT };
  const double lse = log (exp (2.0) + 9.0);
  guint correct = 99;
  double loss;

  loss = nn_softmax_cross_entropy (1, logits, labels, 0.0f, dlogits, &correct);
  g_assert_cmpfloat_with_epsilon (loss, lse - 0.2, 1e-7);
  g_assert_cmpfloat_with_epsilon (dlogits[0], exp (2.0 - lse) - 0.1, 1e-7);
  g_assert_cmpfloat_with_epsilon (dlogits[4], exp (-lse) - 0.1, 1e-7);
  g_assert_cmpuint (correct, ==, 0);

  loss = nn_softmax_cross_entropy (1, logits, labels, 0.3f, NULL, NULL);
  g_assert_cmpfloat_with_epsilon (loss, lse - 0.2, 1e-7);

  /* Equal logits already say "no digit": nothing to learn. */
  memset (logits, 0, sizeof logits);
  loss = nn_softmax_cross_entropy (2, logits, labels, 0.0f, dlogits, NULL);
  g_assert_cmpfloat_with_epsilon (loss, log (10.0), 1e-12);
  for (guint k = 0; k < 2 * NN_CLASSES; k++)
    g_assert_cmpfloat_with_epsilon (dlogits[k], 0.0, 1e-7);
}

/* Huge logits neither overflow nor lose the answer. */
static void
test_cross_entropy_stable (void)
{
  float logits[NN_CLASSES] = { 1000, -1000, 500 }, dlogits[NN_CLASSES], probs[NN_CLASSES];
  guint8 label = 2;
  double loss;

  loss = nn_softmax_cross_entropy (1, logits, &label, 0.0f, dlogits, NULL);
  g_assert_cmpfloat_with_epsilon (loss, 500, 1e-9);
  g_assert_cmpfloat_with_epsilon (dlogits[0], 1, 1e-7);
  g_assert_cmpfloat_with_epsilon (dlogits[2], -1, 1e-7);
  nn_softmax (1, logits, probs);
  g_assert_cmpfloat (probs[0], ==, 1.0f);
  g_assert_cmpfloat (probs[1], ==, 0.0f);
}

/* ---- GEMM -------------------------------------------------------------- */

static void
naive_gemm (gboolean ta, gboolean tb, gsize m, gsize n, gsize k, float alpha,
            const float *a, gsize lda, const float *b, gsize ldb, float beta, float *c, gsize ldc)
{
  for (gsize i = 0; i < m; i++)
    for (gsize j = 0; j < n; j++)
      {
        double sum = 0;

        for (gsize p = 0; p < k; p++)
          sum += (double) (ta ? a[p * lda + i] : a[i * lda + p])
                 * (tb ? b[j * ldb + p] : b[p * ldb + j]);
        c[i * ldc + j] = (float) (alpha * sum + (beta == 0 ? 0 : beta * c[i * ldc + j]));
      }
}

/* Every transpose combination, sizes around the tile and block edges,
 * leading dimensions wider than the matrices, alpha and beta; and the
 * threaded version bitwise equal to the plain one. */
static void
test_gemm (void)
{
  static const gsize sizes[][3] = {
    { 1, 1, 1 }, { 5, 17, 3 }, { 6, 16, 256 }, { 7, 33, 257 }, { 97, 130, 300 },
    { 64, 800, 196 }, { 13, 1030, 9 }, { 200, 5, 513 },
  };
  NnRng rng;

  nn_rng_init (&rng, 7);
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    for (guint t = 0; t < 4; t++)
      {
        gboolean ta = t & 1, tb = t & 2;
        gsize m = sizes[s][0], n = sizes[s][1], k = sizes[s][2];
        gsize lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2;
        g_autofree float *a = g_new (float, (ta ? k : m) * lda);
        g_autofree float *b = g_new (float, (tb ? n : k) * ldb);
        g_autofree float *c = g_new (float, m * ldc);
        g_autofree float *c_threaded = g_new (float, m * ldc);
        g_autofree float *expected = g_new (float, m * ldc);
        float alpha = t == 3 ? 0.5f : 1.0f, beta = s % 3 == 0 ? 0.0f : s % 3 == 1 ? 1.0f : -2.0f;

        test_fill_uniform (&rng, a, (ta ? k : m) * lda, -1, 1);
        test_fill_uniform (&rng, b, (tb ? n : k) * ldb, -1, 1);
        test_fill_uniform (&rng, c, m * ldc, -1, 1);
        if (beta == 0)
          for (gsize i = 0; i < m * ldc; i++)
            c[i] = NAN;   /* beta 0 must not read C */
        memcpy (c_threaded, c, m * ldc * sizeof (float));
        memcpy (expected, c, m * ldc * sizeof (float));

        naive_gemm (ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, expected, ldc);
        nn_sgemm (ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        nn_sgemm_threaded (ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c_threaded, ldc);
        for (gsize i = 0; i < m; i++)
          for (gsize j = 0; j < n; j++)
            {
              float got = c[i * ldc + j], want = expected[i * ldc + j];

              if (!(fabsf (got - want) <= 1e-5f * sqrtf ((float) k) * 4 + 1e-6f))
                g_error ("%" G_GSIZE_FORMAT "x%" G_GSIZE_FORMAT "x%" G_GSIZE_FORMAT
                         " ta=%d tb=%d at (%" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT "): %g vs %g",
                         m, n, k, ta, tb, i, j, got, want);
              g_assert_true (memcmp (&got, &c_threaded[i * ldc + j], sizeof got) == 0);
            }
      }
  g_test_message ("GEMM kernel: %s", nn_sgemm_kernel_name ());
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/layers/conv/same", test_conv_same);
  g_test_add_func ("/layers/conv/valid", test_conv_valid);
  g_test_add_func ("/layers/conv/channels", test_conv_channels);
  g_test_add_func ("/layers/maxpool", test_maxpool);
  g_test_add_func ("/layers/dense", test_dense);
  g_test_add_func ("/layers/dense/flattens-chw", test_dense_flattens_chw);
  g_test_add_func ("/layers/relu", test_relu);
  g_test_add_func ("/layers/dropout", test_dropout);
  g_test_add_func ("/layers/batchnorm/channels", test_batchnorm);
  g_test_add_func ("/layers/batchnorm/features", test_batchnorm_features);
  g_test_add_func ("/layers/cross-entropy/uniform", test_cross_entropy_uniform);
  g_test_add_func ("/layers/cross-entropy/values", test_cross_entropy_values);
  g_test_add_func ("/layers/cross-entropy/stable", test_cross_entropy_stable);
  g_test_add_func ("/layers/cross-entropy/no-digit", test_cross_entropy_no_digit);
  g_test_add_func ("/layers/gemm", test_gemm);

  test_trap_fp_exceptions ();
  return g_test_run ();
}

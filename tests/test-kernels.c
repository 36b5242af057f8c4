/* test-kernels.c — every fast kernel against a naive reference.
 *
 * The register tiles, dot tiles, transposes, copies and pooling rows of
 * nn-tile.c on random shapes (every block size and edge, every mode, bias
 * and ReLU), and the convolution built on them, forward and backward, on
 * every path (planar and channels last, same and valid, kernels of 1 to
 * 7, channel counts that are and are not multiples of 16) against a
 * convolution written out in double precision. Also: nothing outside the
 * output is written; 1 and 2 threads agree bitwise; and the AVX2 and
 * AVX-512 kernels agree bitwise. meson runs this program once per kernel:
 * --kernel avx2|generic sets DIGITLAB_GEMM_KERNEL before anything is
 * computed.
 */
#include "test-util.h"

#include <float.h>
#include <stdio.h>

#include "nn-tile.h"

static float
tolerance (double magnitude, gsize terms)
{
  return (float) (1e-5 * (magnitude + 1.0) * sqrt ((double) terms + 1.0));
}

/* ---- Broadcast tiles --------------------------------------------------- */

static void
check_tile (NnRng *rng, guint rows, guint cols, guint steps, guint segments, guint groups,
            guint line_rows, NnTileMode mode, gboolean transposed_a, guint bias,
            gboolean relu)
{
  /* A stored with gaps between its segments and groups, and between its
   * lines of rows when it has some, B with spare columns, C inside a
   * larger buffer that must stay untouched. */
  const gsize ldc = cols + 5, b_width = nn_tile_round_up (cols) + 3;
  const gsize k_total = (gsize) steps * segments * groups;
  const gssize a_ts = transposed_a ? (gssize) rows + 2 : 1;
  const gssize a_rs = transposed_a ? 1 : (gssize) k_total + 7;
  const gssize a_ls = (gssize) line_rows * a_rs + 5;
  const gssize a_ss = (gssize) steps * a_ts + 3, a_gs = a_ss * segments + 1;
  const gssize b_ss = (gssize) steps * b_width + 2 * b_width, b_gs = b_ss * segments + b_width;
  gsize a_size = (gsize) (a_gs * groups + (a_rs + (line_rows > 0 ? a_ls : 0)) * rows + 8);
  gsize b_size = (gsize) (b_gs * groups + 16);
  g_autofree float *a = g_new (float, a_size);
  g_autofree float *b = g_new (float, b_size);
  g_autofree float *c = g_new (float, (rows + 2) * ldc);
  g_autofree float *before = NULL;
  g_autofree float *col_bias = g_new (float, cols);
  g_autofree float *row_bias = g_new (float, rows);
  float alpha = 0.75f, beta = mode == NN_TILE_SCALE ? -0.5f : 1.0f;
  NnTile tile = { 0 };

  test_fill_uniform (rng, a, a_size, -1, 1);
  test_fill_uniform (rng, b, b_size, -1, 1);
  test_fill_uniform (rng, c, (rows + 2) * ldc, -1, 1);
  test_fill_uniform (rng, col_bias, cols, -1, 1);
  test_fill_uniform (rng, row_bias, rows, -1, 1);
  before = g_memdup2 (c, (rows + 2) * ldc * sizeof (float));

  tile.a = a;
  tile.a_rs = a_rs;
  tile.a_ts = a_ts;
  tile.a_ss = a_ss;
  tile.a_gs = a_gs;
  tile.b = b;
  tile.b_ts = (gssize) b_width;
  tile.b_ss = b_ss;
  tile.b_gs = b_gs;
  tile.steps = steps;
  tile.segments = segments;
  tile.groups = groups;
  tile.line_rows = line_rows;
  tile.a_ls = a_ls;
  tile.c = c + ldc + 1;
  tile.c_rs = (gssize) ldc;
  tile.rows = rows;
  tile.cols = cols;
  tile.mode = mode;
  tile.alpha = alpha;
  tile.beta = beta;
  /* @bias: 1 a column bias, 2 a row bias, 3 both. */
  tile.col_bias = bias & 1 ? col_bias : NULL;
  tile.row_bias = bias & 2 ? row_bias : NULL;
  tile.relu = relu;
  nn_tile_run (&tile);

  for (guint i = 0; i < rows + 2; i++)
    for (guint j = 0; j < ldc; j++)
      {
        gboolean inside = i >= 1 && i <= rows && j >= 1 && j <= cols;
        float got = c[i * ldc + j];
        double want = 0.0, magnitude = 0.0;
        gssize row;

        if (!inside)
          {
            g_assert_cmpfloat (got, ==, before[i * ldc + j]);
            continue;
          }
        row = line_rows == 0 ? (i - 1) * a_rs
              : (i - 1) % line_rows * a_rs + (i - 1) / line_rows * a_ls;
        for (guint g = 0; g < groups; g++)
          for (guint s = 0; s < segments; s++)
            for (guint t = 0; t < steps; t++)
              {
                double term = (double) a[row + g * a_gs + s * a_ss + t * a_ts]
                              * b[g * b_gs + s * b_ss + t * b_width + (j - 1)];

                want += term;
                magnitude += fabs (term);
              }
        if (mode == NN_TILE_ACCUMULATE)
          want += before[i * ldc + j];
        else if (mode == NN_TILE_SCALE)
          want = alpha * want + beta * before[i * ldc + j];
        if (bias & 1)
          want += col_bias[j - 1];
        if (bias & 2)
          want += row_bias[i - 1];
        if (relu)
          want = MAX (want, 0.0);
        if (!(fabs (got - want) <= tolerance (magnitude + fabs (before[i * ldc + j]) + 2, k_total)))
          g_error ("tile %ux%u k=%ux%ux%u lines of %u mode %d%s%s%s: (%u, %u) is %g, not %g",
                   rows, cols, steps, segments, groups, line_rows, mode,
                   bias & 1 ? " column bias" : "", bias & 2 ? " row bias" : "",
                   relu ? " relu" : "", i - 1, j - 1, got, want);
      }
}

static void
test_tiles (void)
{
  NnRng rng;

  nn_rng_init (&rng, 11);
  /* Every row count a block can have, and past it, with every unit count
   * and partial last units; some in lines of rows that blocks run over. */
  for (guint rows = 1; rows <= 30; rows++)
    for (guint cols = 1; cols <= 70; cols += rows % 7 + 3)
      check_tile (&rng, rows, cols, 1 + nn_rng_below (&rng, 9), 1, 1,
                  cols % 3 == 0 ? 1 + rows % 5 : 0, NN_TILE_STORE, rows % 2, 0, FALSE);
  for (guint round = 0; round < 200; round++)
    check_tile (&rng, 1 + nn_rng_below (&rng, 40), 1 + nn_rng_below (&rng, 100),
                1 + nn_rng_below (&rng, 12), 1 + nn_rng_below (&rng, 4), 1 + nn_rng_below (&rng, 3),
                round % 3 == 0 ? 1 + nn_rng_below (&rng, 15) : 0,
                (NnTileMode) nn_rng_below (&rng, 3), nn_rng_below (&rng, 2),
                nn_rng_below (&rng, 4), nn_rng_below (&rng, 2));
  /* One run of steps with a row bias, the first convolution's shape,
   * which has a kernel of its own. */
  for (guint round = 0; round < 60; round++)
    check_tile (&rng, 1 + nn_rng_below (&rng, 40), 1 + nn_rng_below (&rng, 100),
                1 + nn_rng_below (&rng, 30), 1, 1, 0, (NnTileMode) nn_rng_below (&rng, 2),
                FALSE, nn_rng_below (&rng, 2) * 2, nn_rng_below (&rng, 2));
  g_test_message ("kernel: %s", nn_tile_kernel_name ());
}

/* ---- Dot tiles --------------------------------------------------------- */

static void
check_dot (NnRng *rng, guint rows, guint cols, gsize length, guint segments, guint groups,
           NnTileMode mode)
{
  const gssize a_ss = (gssize) length + 3, a_gs = a_ss * segments + 5;
  const gssize a_rs = a_gs * groups + 1;
  const gssize b_ss = (gssize) length + 1, b_gs = b_ss * segments + 2;
  const gssize b_rs = b_gs * groups + 7;
  const gsize ldc = cols + 3;
  gsize a_size = (gsize) (a_rs * rows), b_size = (gsize) (b_rs * cols);
  g_autofree float *a = g_new (float, a_size);
  g_autofree float *b = g_new (float, b_size);
  g_autofree float *c = g_new (float, (rows + 2) * ldc);
  g_autofree float *before = NULL;
  NnDotTile tile = { 0 };

  test_fill_uniform (rng, a, a_size, -1, 1);
  test_fill_uniform (rng, b, b_size, -1, 1);
  test_fill_uniform (rng, c, (rows + 2) * ldc, -1, 1);
  before = g_memdup2 (c, (rows + 2) * ldc * sizeof (float));

  tile.a = a;
  tile.a_rs = a_rs;
  tile.a_ss = a_ss;
  tile.a_gs = a_gs;
  tile.b = b;
  tile.b_rs = b_rs;
  tile.b_ss = b_ss;
  tile.b_gs = b_gs;
  tile.length = length;
  tile.segments = segments;
  tile.groups = groups;
  tile.c = c + ldc + 1;
  tile.c_rs = (gssize) ldc;
  tile.c_cs = 1;
  tile.rows = rows;
  tile.cols = cols;
  tile.mode = mode;
  tile.alpha = 1.5f;
  tile.beta = 0.25f;
  nn_dot_tile_run (&tile);

  for (guint i = 0; i < rows + 2; i++)
    for (guint j = 0; j < ldc; j++)
      {
        gboolean inside = i >= 1 && i <= rows && j >= 1 && j <= cols;
        double want = 0.0, magnitude = 0.0;
        float got = c[i * ldc + j];

        if (!inside)
          {
            g_assert_cmpfloat (got, ==, before[i * ldc + j]);
            continue;
          }
        for (guint g = 0; g < groups; g++)
          for (guint s = 0; s < segments; s++)
            for (gsize k = 0; k < length; k++)
              {
                double term = (double) a[(i - 1) * a_rs + g * a_gs + s * a_ss + k]
                              * b[(j - 1) * b_rs + g * b_gs + s * b_ss + k];

                want += term;
                magnitude += fabs (term);
              }
        if (mode == NN_TILE_ACCUMULATE)
          want += before[i * ldc + j];
        else if (mode == NN_TILE_SCALE)
          want = 1.5 * want + 0.25 * before[i * ldc + j];
        if (!(fabs (got - want) <= tolerance (magnitude + 2, length * segments * groups)))
          g_error ("dot %ux%u length %" G_GSIZE_FORMAT "x%ux%u mode %d: (%u, %u) is %g, not %g",
                   rows, cols, length, segments, groups, mode, i - 1, j - 1, got, want);
      }
}

static void
test_dots (void)
{
  NnRng rng;

  nn_rng_init (&rng, 12);
  for (guint rows = 1; rows <= 9; rows++)
    for (guint cols = 1; cols <= 11; cols++)
      check_dot (&rng, rows, cols, 1 + nn_rng_below (&rng, 70), 1, 1, NN_TILE_STORE);
  for (guint round = 0; round < 100; round++)
    check_dot (&rng, 1 + nn_rng_below (&rng, 12), 1 + nn_rng_below (&rng, 12),
               1 + nn_rng_below (&rng, 100), 1 + nn_rng_below (&rng, 3), 1 + nn_rng_below (&rng, 3),
               (NnTileMode) nn_rng_below (&rng, 3));
}

/* A fused ReLU gives what the ReLU layer gives, bit for bit: 0 for a NaN,
 * +0 for -0 and for negative infinity, every positive value unchanged. */
static void
test_tile_relu_edges (void)
{
  static const float values[NN_TILE_UNIT] = {
    NAN, -0.0f, 0.0f, -2.0f, 3.0f, -INFINITY, INFINITY, 1e-40f,
    -1e-40f, FLT_MIN, -FLT_MAX, FLT_MAX, 0.5f, -0.5f, -NAN, 7.0f,
  };
  static const float one = 1.0f;

  /* Comparing with a NaN raises the invalid flag, as the ReLU layer's
   * comparison does. */
#if defined(__GLIBC__) && defined(FE_INVALID)
  fedisableexcept (FE_INVALID);
#endif
  for (guint scaled = 0; scaled < 2; scaled++)
    {
      float plain[NN_TILE_UNIT], fused[NN_TILE_UNIT];
      NnTile tile = { 0 };

      tile.a = &one;
      tile.b = values;
      tile.steps = tile.segments = tile.groups = 1;
      tile.rows = 1;
      tile.cols = NN_TILE_UNIT;
      /* Scaled by -1, a zero sum becomes -0. */
      tile.mode = scaled ? NN_TILE_SCALE : NN_TILE_STORE;
      tile.alpha = -1.0f;
      tile.c = plain;
      nn_tile_run (&tile);
      tile.relu = TRUE;
      tile.c = fused;
      nn_tile_run (&tile);
      for (guint j = 0; j < NN_TILE_UNIT; j++)
        {
          float want;

          nn_relu_forward_serial (1, &plain[j], &want);
          if (memcmp (&fused[j], &want, sizeof want) != 0)
            g_error ("ReLU of %g in a tile is %g, not %g", plain[j], fused[j], want);
        }
    }
}

/* ---- Transposes and copies --------------------------------------------- */

static void
test_transpose_copy (void)
{
  NnRng rng;

  nn_rng_init (&rng, 13);
  for (guint round = 0; round < 300; round++)
    {
      guint rows = 1 + nn_rng_below (&rng, 40), cols = 1 + nn_rng_below (&rng, 40);
      gsize src_stride = cols + nn_rng_below (&rng, 5), dst_stride = rows + nn_rng_below (&rng, 5);
      gsize dst_size = cols * dst_stride + 3;
      g_autofree float *src = g_new (float, rows * src_stride);
      g_autofree float *dst = g_new (float, dst_size);
      g_autofree float *copy = g_new (float, rows * src_stride + 3);
      g_autofree float *sums = g_new (float, rows + 3);
      g_autofree float *expected = g_new (float, rows + 3);

      test_fill_uniform (&rng, src, rows * src_stride, -1, 1);
      for (gsize i = 0; i < dst_size; i++)
        dst[i] = 7.0f;
      nn_transpose (src, src_stride, rows, cols, dst, dst_stride);
      for (guint j = 0; j < cols; j++)
        for (gsize i = 0; i < dst_stride; i++)
          g_assert_cmpfloat (dst[j * dst_stride + i], ==, i < rows ? src[i * src_stride + j] : 7.0f);
      for (gsize i = cols * dst_stride; i < dst_size; i++)
        g_assert_cmpfloat (dst[i], ==, 7.0f);

      /* With row sums: the same transposition, and each row added to its
       * sum one value after the other, as a scalar loop rounds them. */
      test_fill_uniform (&rng, sums, rows, -1, 1);
      for (guint i = rows; i < rows + 3; i++)
        sums[i] = 7.0f;
      memcpy (expected, sums, (rows + 3) * sizeof (float));
      for (guint i = 0; i < rows; i++)
        for (guint j = 0; j < cols; j++)
          expected[i] = expected[i] + src[i * src_stride + j];
      for (gsize i = 0; i < dst_size; i++)
        dst[i] = 7.0f;
      nn_transpose_sum (src, src_stride, rows, cols, dst, dst_stride, sums);
      for (guint j = 0; j < cols; j++)
        for (gsize i = 0; i < dst_stride; i++)
          g_assert_cmpfloat (dst[j * dst_stride + i], ==, i < rows ? src[i * src_stride + j] : 7.0f);
      for (guint i = 0; i < rows + 3; i++)
        g_assert_cmpfloat (sums[i], ==, expected[i]);

      for (gsize i = 0; i < rows * src_stride + 3; i++)
        copy[i] = 7.0f;
      nn_copy_block (src, src_stride, rows, cols, copy, src_stride);
      for (guint i = 0; i < rows; i++)
        for (gsize j = 0; j < src_stride; j++)
          g_assert_cmpfloat (copy[i * src_stride + j], ==, j < cols ? src[i * src_stride + j] : 7.0f);
    }
}

/* ---- Max-pooling ------------------------------------------------------- */

/* Planes of odd and even sizes, values from a small set (ties) with NaNs
 * sprinkled in: the first maximum in reading order wins, and the first
 * NaN of a window, as the scalar rule and PyTorch; and the backward pass,
 * alone and with the ReLU before it. */
static void
test_maxpool (void)
{
  NnRng rng;

  /* Comparing with a NaN raises the invalid flag, as PyTorch's does. */
#if defined(__GLIBC__) && defined(FE_INVALID)
  fedisableexcept (FE_INVALID);
#endif
  nn_rng_init (&rng, 17);
  for (guint round = 0; round < 200; round++)
    {
      guint c = 1 + nn_rng_below (&rng, 3), h = 2 + nn_rng_below (&rng, 40);
      guint w = 2 + nn_rng_below (&rng, 40), batch = 1 + nn_rng_below (&rng, 2);
      NnLayer layer = test_layer (NN_LAYER_MAXPOOL, c, h, w, 0, FALSE, 0);
      gsize n_in = batch * nn_layer_in_size (&layer), n_out = batch * nn_layer_out_size (&layer);
      g_autofree float *in = g_new (float, n_in);
      g_autofree float *out = g_new (float, n_out);
      g_autofree gint32 *argmax = g_new (gint32, n_out);

      for (gsize i = 0; i < n_in; i++)
        in[i] = round % 3 == 0 && nn_rng_below (&rng, 50) == 0 ? NAN
                : (float) nn_rng_below (&rng, 4) - 1.5f;
      nn_maxpool_forward_planes (&layer, in, out, argmax, 0, batch * c);
      for (guint p = 0; p < batch * c; p++)
        for (guint oy = 0; oy < layer.out_h; oy++)
          for (guint ox = 0; ox < layer.out_w; ox++)
            {
              const float *plane = in + (gsize) p * h * w;
              gint32 at[4] = { (gint32) (2 * oy * w + 2 * ox), (gint32) (2 * oy * w + 2 * ox + 1),
                               (gint32) ((2 * oy + 1) * w + 2 * ox),
                               (gint32) ((2 * oy + 1) * w + 2 * ox + 1) };
              gsize o = ((gsize) p * layer.out_h + oy) * layer.out_w + ox;
              gint32 best = at[0];

              for (guint i = 0; i < 4; i++)
                if (isnan (plane[at[i]]))
                  {
                    best = at[i];
                    break;
                  }
                else if (!isnan (plane[best]) && plane[at[i]] > plane[best])
                  best = at[i];
              g_assert_cmpint (argmax[o], ==, best);
              if (isnan (plane[best]))
                g_assert_true (isnan (out[o]));
              else
                g_assert_cmpfloat (out[o], ==, plane[best]);
            }

      /* Backward: each winner gets its window's gradient, every other
       * input zero (odd last rows and columns too); with the ReLU before
       * it, only where the winner is positive. */
      for (guint fused = 0; fused < 2; fused++)
        {
          g_autofree float *dout = g_new (float, n_out);
          g_autofree float *din = g_new (float, n_in);
          g_autofree float *relu_out = g_new (float, n_in);
          g_autofree float *pooled = g_new (float, n_out);
          g_autofree gint32 *winners = g_new (gint32, n_out);

          /* The ReLU's output: no NaNs, zeros where it cut. */
          test_fill_uniform (&rng, dout, n_out, -1, 1);
          for (gsize i = 0; i < n_in; i++)
            {
              din[i] = 99.0f;
              relu_out[i] = MAX ((float) nn_rng_below (&rng, 3) - 1.0f, 0.0f);
            }
          nn_maxpool_forward_planes (&layer, relu_out, pooled, winners, 0, batch * c);
          memcpy (argmax, winners, n_out * sizeof (gint32));
          nn_maxpool_relu_backward_planes (&layer, dout, argmax, fused ? pooled : NULL, din,
                                           0, batch * c);
          for (guint p = 0; p < batch * c; p++)
            for (guint i = 0; i < h * w; i++)
              {
                float want = 0.0f;

                for (guint o = 0; o < layer.out_h * layer.out_w; o++)
                  if (argmax[(gsize) p * layer.out_h * layer.out_w + o] == (gint32) i)
                    want = dout[(gsize) p * layer.out_h * layer.out_w + o];
                if (fused && !(relu_out[(gsize) p * h * w + i] > 0.0f))
                  want = 0.0f;
                g_assert_cmpfloat (din[(gsize) p * h * w + i], ==, want);
              }
        }
    }
  test_trap_fp_exceptions ();
}

/* ---- Convolutions ------------------------------------------------------ */

typedef struct {
  guint c, h, w, o, k;
  gboolean valid;
} ConvShape;

static const ConvShape conv_shapes[] = {
  { 1, 28, 28, 32, 5, FALSE },    /* bench-cnn's first layer: planar */
  { 32, 14, 14, 64, 5, FALSE },   /* its second: channels last */
  { 1, 9, 7, 5, 3, TRUE },
  { 3, 10, 11, 17, 3, FALSE },    /* planar, odd output channels */
  { 2, 6, 5, 3, 1, FALSE },
  { 4, 8, 9, 20, 3, FALSE },      /* channels last, first past planar */
  { 6, 10, 10, 8, 5, TRUE },
  { 17, 7, 6, 33, 3, FALSE },     /* channels not multiples of 16 */
  { 5, 5, 5, 3, 7, FALSE },       /* kernel wider than the image */
  { 16, 4, 4, 16, 1, TRUE },      /* pointwise */
  { 40, 3, 5, 6, 3, TRUE },
};

typedef struct {
  NnLayer layer;
  guint   batch;
  float  *x, *w, *b, *dy;
  float  *y, *dx, *dw, *db;
  float  *scratch, *partials;
} ConvCase;

static void
conv_case_init (ConvCase *cc, const ConvShape *shape, guint batch, NnRng *rng)
{
  gsize n_in, n_out, n_w;

  cc->layer = test_layer (NN_LAYER_CONV, shape->c, shape->h, shape->w, shape->k,
                          shape->valid, shape->o);
  cc->batch = batch;
  n_in = batch * nn_layer_in_size (&cc->layer);
  n_out = batch * nn_layer_out_size (&cc->layer);
  n_w = nn_layer_weight_size (&cc->layer);
  cc->x = g_new (float, n_in);
  cc->dx = g_new (float, n_in);
  cc->w = g_new (float, n_w);
  cc->dw = g_new (float, n_w);
  cc->b = g_new (float, shape->o);
  cc->db = g_new (float, shape->o);
  cc->y = g_new (float, n_out);
  cc->dy = g_new (float, n_out);
  cc->scratch = g_new (float, nn_conv_scratch_size (&cc->layer) * 2);
  cc->partials = g_new (float, nn_conv_partials_size (&cc->layer) * nn_chunk_count (batch));
  test_fill_uniform (rng, cc->x, n_in, -1, 1);
  test_fill_uniform (rng, cc->w, n_w, -1, 1);
  test_fill_uniform (rng, cc->b, shape->o, -1, 1);
  test_fill_uniform (rng, cc->dy, n_out, -1, 1);
}

static void
conv_case_clear (ConvCase *cc)
{
  g_free (cc->x); g_free (cc->dx); g_free (cc->w); g_free (cc->dw); g_free (cc->b);
  g_free (cc->db); g_free (cc->y); g_free (cc->dy); g_free (cc->scratch); g_free (cc->partials);
}

static void
conv_run (ConvCase *cc, gboolean relu, gboolean with_din)
{
  const NnLayer *l = &cc->layer;

  nn_conv_forward_full (l, cc->batch, cc->x, cc->w, cc->b, cc->y, cc->scratch, 2, relu);
  /* Gradients are added: start them from a known value. */
  for (gsize i = 0; i < nn_layer_weight_size (l); i++)
    cc->dw[i] = 0.5f;
  for (guint o = 0; o < l->units; o++)
    cc->db[o] = -0.25f;
  nn_conv_backward (l, cc->batch, cc->x, cc->dy, cc->w, cc->dw, cc->db,
                    with_din ? cc->dx : NULL, cc->scratch, 2, cc->partials);
}

static float
input_at (const ConvCase *cc, guint b, guint c, int y, int x)
{
  const NnLayer *l = &cc->layer;

  if (y < 0 || x < 0 || y >= (int) l->in_h || x >= (int) l->in_w)
    return 0.0f;
  return cc->x[((gsize) (b * l->in_c + c) * l->in_h + y) * l->in_w + x];
}

static void
check_close (const char *what, const ConvShape *s, float got, double want, double magnitude,
             gsize terms)
{
  if (!(fabs (got - want) <= tolerance (magnitude, terms)))
    g_error ("conv c%u %ux%u o%u k%u %s: %s is %g, not %g", s->c, s->h, s->w, s->o, s->k,
             s->valid ? "valid" : "same", what, got, want);
}

/* Forward, weight, bias and input gradients against sums in double. */
static void
check_conv (const ConvShape *shape, const ConvCase *cc, gboolean relu)
{
  const NnLayer *l = &cc->layer;
  const int pad = (int) l->pad, k = (int) l->kernel;

  for (guint b = 0; b < cc->batch; b++)
    for (guint o = 0; o < l->units; o++)
      for (guint y = 0; y < l->out_h; y++)
        for (guint x = 0; x < l->out_w; x++)
          {
            double want = cc->b[o], magnitude = fabs (cc->b[o]);

            for (guint c = 0; c < l->in_c; c++)
              for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++)
                  {
                    double term = (double) cc->w[((o * l->in_c + c) * k + ky) * k + kx]
                                  * input_at (cc, b, c, (int) y + ky - pad, (int) x + kx - pad);

                    want += term;
                    magnitude += fabs (term);
                  }
            if (relu)
              want = MAX (want, 0.0);
            check_close ("output", shape,
                         cc->y[((gsize) (b * l->units + o) * l->out_h + y) * l->out_w + x],
                         want, magnitude, l->in_c * k * k);
          }

  for (guint o = 0; o < l->units; o++)
    {
      double want_b = -0.25, magnitude_b = 0.25;

      for (guint c = 0; c < l->in_c; c++)
        for (int ky = 0; ky < k; ky++)
          for (int kx = 0; kx < k; kx++)
            {
              double want = 0.5, magnitude = 0.5;

              for (guint b = 0; b < cc->batch; b++)
                for (guint y = 0; y < l->out_h; y++)
                  for (guint x = 0; x < l->out_w; x++)
                    {
                      double term = (double) cc->dy[((gsize) (b * l->units + o) * l->out_h + y)
                                                    * l->out_w + x]
                                    * input_at (cc, b, c, (int) y + ky - pad, (int) x + kx - pad);

                      want += term;
                      magnitude += fabs (term);
                    }
              check_close ("weight gradient", shape,
                           cc->dw[((o * l->in_c + c) * k + ky) * k + kx], want, magnitude,
                           cc->batch * l->out_h * l->out_w);
            }
      for (guint b = 0; b < cc->batch; b++)
        for (gsize i = 0; i < (gsize) l->out_h * l->out_w; i++)
          {
            double term = cc->dy[(gsize) (b * l->units + o) * l->out_h * l->out_w + i];

            want_b += term;
            magnitude_b += fabs (term);
          }
      check_close ("bias gradient", shape, cc->db[o], want_b, magnitude_b,
                   cc->batch * l->out_h * l->out_w);
    }

  for (guint b = 0; b < cc->batch; b++)
    for (guint c = 0; c < l->in_c; c++)
      for (int y = 0; y < (int) l->in_h; y++)
        for (int x = 0; x < (int) l->in_w; x++)
          {
            double want = 0.0, magnitude = 0.0;

            for (guint o = 0; o < l->units; o++)
              for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++)
                  {
                    int oy = y + pad - ky, ox = x + pad - kx;
                    double term;

                    if (oy < 0 || ox < 0 || oy >= (int) l->out_h || ox >= (int) l->out_w)
                      continue;
                    term = (double) cc->w[((o * l->in_c + c) * k + ky) * k + kx]
                           * cc->dy[((gsize) (b * l->units + o) * l->out_h + oy) * l->out_w + ox];
                    want += term;
                    magnitude += fabs (term);
                  }
            check_close ("input gradient", shape,
                         cc->dx[((gsize) (b * l->in_c + c) * l->in_h + y) * l->in_w + x],
                         want, magnitude, l->units * k * k);
          }
}

static void
test_conv_reference (void)
{
  static const guint batches[] = { 1, 3, 21 };
  NnRng rng;

  nn_rng_init (&rng, 14);
  for (guint s = 0; s < G_N_ELEMENTS (conv_shapes); s++)
    for (guint i = 0; i < G_N_ELEMENTS (batches); i++)
      {
        ConvCase cc;

        conv_case_init (&cc, &conv_shapes[s], batches[i], &rng);
        conv_run (&cc, i == 1, TRUE);
        check_conv (&conv_shapes[s], &cc, i == 1);
        conv_case_clear (&cc);
      }
}

/* 1 and 2 threads: the same bits; and no input gradient asked, the same
 * weight gradients. */
static void
test_conv_threads (void)
{
  static const guint batches[] = { 1, 2, 5, 40 };
  NnRng rng;

  nn_rng_init (&rng, 15);
  for (guint s = 0; s < G_N_ELEMENTS (conv_shapes); s++)
    for (guint i = 0; i < G_N_ELEMENTS (batches); i++)
      {
        ConvCase cc;
        gsize n_out, n_in, n_w;
        g_autofree float *y1 = NULL, *dx1 = NULL, *dw1 = NULL, *db1 = NULL;

        conv_case_init (&cc, &conv_shapes[s], batches[i], &rng);
        n_out = cc.batch * nn_layer_out_size (&cc.layer);
        n_in = cc.batch * nn_layer_in_size (&cc.layer);
        n_w = nn_layer_weight_size (&cc.layer);
        nn_set_threads (1);
        conv_run (&cc, FALSE, TRUE);
        y1 = g_memdup2 (cc.y, n_out * sizeof (float));
        dx1 = g_memdup2 (cc.dx, n_in * sizeof (float));
        dw1 = g_memdup2 (cc.dw, n_w * sizeof (float));
        db1 = g_memdup2 (cc.db, cc.layer.units * sizeof (float));

        nn_set_threads (2);
        conv_run (&cc, FALSE, TRUE);
        g_assert_true (test_floats_equal (y1, cc.y, n_out));
        g_assert_true (test_floats_equal (dx1, cc.dx, n_in));
        g_assert_true (test_floats_equal (dw1, cc.dw, n_w));
        g_assert_true (test_floats_equal (db1, cc.db, cc.layer.units));

        conv_run (&cc, FALSE, FALSE);
        g_assert_true (test_floats_equal (dw1, cc.dw, n_w));
        conv_case_clear (&cc);
      }
  nn_set_threads (0);
}

/* ---- AVX2 against AVX-512 ---------------------------------------------- */

/* A digest of bench-cnn's second layer, forward and backward. */
static guint64
conv_digest (void)
{
  ConvCase cc;
  NnRng rng;
  guint64 hash = 1469598103934665603ull;

  nn_rng_init (&rng, 16);
  conv_case_init (&cc, &conv_shapes[1], 3, &rng);
  conv_run (&cc, FALSE, TRUE);
  for (guint part = 0; part < 3; part++)
    {
      const float *data = part == 0 ? cc.y : part == 1 ? cc.dx : cc.dw;
      gsize n = part == 0 ? 3 * nn_layer_out_size (&cc.layer)
                : part == 1 ? 3 * nn_layer_in_size (&cc.layer) : nn_layer_weight_size (&cc.layer);

      for (gsize i = 0; i < n; i++)
        {
          guint32 bits;

          memcpy (&bits, &data[i], sizeof bits);
          hash = (hash ^ bits) * 1099511628211ull;
        }
    }
  conv_case_clear (&cc);
  return hash;
}

static void
test_isa_agree (void)
{
  g_autofree char *expected = NULL;

  if (g_test_subprocess ())
    {
      printf ("digest %" G_GINT64_MODIFIER "x\n", conv_digest ());
      return;
    }
  if (g_strcmp0 (nn_tile_kernel_name (), "avx512") != 0)
    {
      g_test_skip ("the CPU (or DIGITLAB_GEMM_KERNEL) does not run the AVX-512 kernels");
      return;
    }
  expected = g_strdup_printf ("*digest %" G_GINT64_MODIFIER "x*", conv_digest ());
  g_setenv ("DIGITLAB_GEMM_KERNEL", "avx2", TRUE);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_unsetenv ("DIGITLAB_GEMM_KERNEL");
  g_test_trap_assert_passed ();
  g_test_trap_assert_stdout (expected);
}

int
main (int argc, char **argv)
{
  for (int i = 1; i + 1 < argc; i++)
    if (strcmp (argv[i], "--kernel") == 0)
      {
        g_setenv ("DIGITLAB_GEMM_KERNEL", argv[i + 1], TRUE);
        memmove (&argv[i], &argv[i + 2], (argc - i - 1) * sizeof (char *));
        argc -= 2;
        break;
      }
  g_test_init (&argc, &argv, NULL);
  test_trap_fp_exceptions ();

  g_test_add_func ("/kernels/tiles", test_tiles);
  g_test_add_func ("/kernels/tiles/relu-edges", test_tile_relu_edges);
  g_test_add_func ("/kernels/dots", test_dots);
  g_test_add_func ("/kernels/transpose-copy", test_transpose_copy);
  g_test_add_func ("/kernels/maxpool", test_maxpool);
  g_test_add_func ("/kernels/conv/reference", test_conv_reference);
  g_test_add_func ("/kernels/conv/threads", test_conv_threads);
  g_test_add_func ("/kernels/isa-agree", test_isa_agree);
  return g_test_run ();
}

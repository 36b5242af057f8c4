/* nn-batchnorm.c — batch normalisation, per channel or per feature.
 *
 * PyTorch semantics: training normalises with the batch mean and biased
 * variance and moves the running estimates 10% towards the batch's (with
 * the unbiased variance); inference normalises with the running estimates.
 * The input is N x C x S (S = H W, or 1 after a dense layer). Threads split
 * by channel, and each channel's sums run in one fixed order, in double.
 */
#include <math.h>

#include "nn-private.h"

/* Sums run in LANES double accumulators, element i going to lane i % LANES
 * of its row: a fixed order (threads never change it) that the compiler
 * can vectorise, unlike one long chain of dependent additions. */
#define LANES 8

static inline double
total (const double lanes[LANES])
{
  double sum = 0.0;

  for (guint j = 0; j < LANES; j++)
    sum += lanes[j];
  return sum;
}

static inline void
add_values (const float *x, gsize n, double lanes[LANES])
{
  gsize i = 0;

  for (; i + LANES <= n; i += LANES)
    for (guint j = 0; j < LANES; j++)
      lanes[j] += x[i + j];
  for (guint j = 0; i < n; i++, j++)
    lanes[j] += x[i];
}

static inline void
add_squares (const float *x, gsize n, double mu, double lanes[LANES])
{
  gsize i = 0;

  for (; i + LANES <= n; i += LANES)
    for (guint j = 0; j < LANES; j++)
      lanes[j] += (x[i + j] - mu) * (x[i + j] - mu);
  for (guint j = 0; i < n; i++, j++)
    lanes[j] += (x[i] - mu) * (x[i] - mu);
}

/* sum dy and sum dy * xhat, with xhat = (x - m) r */
static inline void
add_gradients (const float *x, const float *dy, gsize n, float m, float r,
               double dy_lanes[LANES], double dy_xhat_lanes[LANES])
{
  gsize i = 0;

  for (; i + LANES <= n; i += LANES)
    for (guint j = 0; j < LANES; j++)
      {
        dy_lanes[j] += dy[i + j];
        dy_xhat_lanes[j] += dy[i + j] * ((x[i + j] - m) * r);
      }
  for (guint j = 0; i < n; i++, j++)
    {
      dy_lanes[j] += dy[i];
      dy_xhat_lanes[j] += dy[i] * ((x[i] - m) * r);
    }
}

void
nn_batchnorm_forward_train (const NnLayer *layer, guint batch,
                            const float *in, const float *gamma, const float *beta,
                            float *running_mean, float *running_var,
                            float *out, float *mean, float *invstd)
{
  const guint channels = layer->in_c;
  const gsize s = (gsize) layer->in_h * layer->in_w;
  const gsize count = (gsize) batch * s;

#pragma omp parallel for num_threads (nn_get_threads ()) schedule (static) \
                         if (count * channels >= NN_PARALLEL_MIN_WORK)
  for (guint c = 0; c < channels; c++)
    {
      double sums[LANES] = { 0 }, squares[LANES] = { 0 }, mu, var;
      float m, r;

      for (guint b = 0; b < batch; b++)
        add_values (in + ((gsize) b * channels + c) * s, s, sums);
      mu = total (sums) / count;
      /* Two passes: the variance from a sum of squares minus a square
       * would cancel catastrophically for large means. */
      for (guint b = 0; b < batch; b++)
        add_squares (in + ((gsize) b * channels + c) * s, s, mu, squares);
      var = total (squares) / count;

      m = (float) mu;
      r = (float) (1.0 / sqrt (var + NN_BATCHNORM_EPS));
      mean[c] = m;
      invstd[c] = r;
      for (guint b = 0; b < batch; b++)
        {
          const float *x = in + ((gsize) b * channels + c) * s;
          float *y = out + ((gsize) b * channels + c) * s;

          for (gsize i = 0; i < s; i++)
            y[i] = (x[i] - m) * r * gamma[c] + beta[c];
        }

      running_mean[c] = (1.0f - NN_BATCHNORM_MOMENTUM) * running_mean[c]
                        + NN_BATCHNORM_MOMENTUM * m;
      running_var[c] = (1.0f - NN_BATCHNORM_MOMENTUM) * running_var[c]
                       + NN_BATCHNORM_MOMENTUM * (float) (count > 1 ? var * count / (count - 1) : var);
    }
}

void
nn_batchnorm_forward_infer (const NnLayer *layer, guint batch,
                            const float *in, const float *gamma, const float *beta,
                            const float *running_mean, const float *running_var,
                            float *out)
{
  const guint channels = layer->in_c;
  const gsize s = (gsize) layer->in_h * layer->in_w;

#pragma omp parallel for num_threads (nn_get_threads ()) schedule (static) collapse (2) \
                         if ((gsize) batch * channels * s >= NN_PARALLEL_MIN_WORK)
  for (guint b = 0; b < batch; b++)
    for (guint c = 0; c < channels; c++)
      {
        const float scale = gamma[c] / sqrtf (running_var[c] + NN_BATCHNORM_EPS);
        const float shift = beta[c] - running_mean[c] * scale;
        const float *x = in + ((gsize) b * channels + c) * s;
        float *y = out + ((gsize) b * channels + c) * s;

        for (gsize i = 0; i < s; i++)
          y[i] = x[i] * scale + shift;
      }
}

void
nn_batchnorm_backward (const NnLayer *layer, guint batch,
                       const float *in, const float *dout, const float *gamma,
                       const float *mean, const float *invstd,
                       float *dgamma, float *dbeta, float *din)
{
  const guint channels = layer->in_c;
  const gsize s = (gsize) layer->in_h * layer->in_w;
  const gsize count = (gsize) batch * s;

#pragma omp parallel for num_threads (nn_get_threads ()) schedule (static) \
                         if (count * channels >= NN_PARALLEL_MIN_WORK)
  for (guint c = 0; c < channels; c++)
    {
      const float m = mean[c], r = invstd[c];
      double dy_lanes[LANES] = { 0 }, dy_xhat_lanes[LANES] = { 0 }, sum_dy, sum_dy_xhat;
      float mean_dy, mean_dy_xhat, scale;

      for (guint b = 0; b < batch; b++)
        add_gradients (in + ((gsize) b * channels + c) * s, dout + ((gsize) b * channels + c) * s,
                       s, m, r, dy_lanes, dy_xhat_lanes);
      sum_dy = total (dy_lanes);
      sum_dy_xhat = total (dy_xhat_lanes);
      dgamma[c] += (float) sum_dy_xhat;
      dbeta[c] += (float) sum_dy;
      if (din == NULL)
        continue;

      /* dx = gamma / sigma * (dy - mean(dy) - xhat * mean(dy * xhat)) */
      mean_dy = (float) (sum_dy / count);
      mean_dy_xhat = (float) (sum_dy_xhat / count);
      scale = gamma[c] * r;
      for (guint b = 0; b < batch; b++)
        {
          const float *x = in + ((gsize) b * channels + c) * s;
          const float *dy = dout + ((gsize) b * channels + c) * s;
          float *dx = din + ((gsize) b * channels + c) * s;

          for (gsize i = 0; i < s; i++)
            dx[i] = scale * (dy[i] - mean_dy - (x[i] - m) * r * mean_dy_xhat);
        }
    }
}

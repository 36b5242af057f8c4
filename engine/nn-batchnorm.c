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
      double sum = 0.0, squares = 0.0, mu, var;
      float m, r;

      for (guint b = 0; b < batch; b++)
        {
          const float *x = in + ((gsize) b * channels + c) * s;

          for (gsize i = 0; i < s; i++)
            sum += x[i];
        }
      mu = sum / count;
      for (guint b = 0; b < batch; b++)
        {
          const float *x = in + ((gsize) b * channels + c) * s;

          for (gsize i = 0; i < s; i++)
            squares += (x[i] - mu) * (x[i] - mu);
        }
      var = squares / count;

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
      double sum_dy = 0.0, sum_dy_xhat = 0.0;
      float mean_dy, mean_dy_xhat, scale;

      for (guint b = 0; b < batch; b++)
        {
          const float *x = in + ((gsize) b * channels + c) * s;
          const float *dy = dout + ((gsize) b * channels + c) * s;

          for (gsize i = 0; i < s; i++)
            {
              sum_dy += dy[i];
              sum_dy_xhat += dy[i] * ((x[i] - m) * r);
            }
        }
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

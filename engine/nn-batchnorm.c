/* nn-batchnorm.c — batch normalisation, per channel or per feature.
 *
 * PyTorch semantics: training normalises with the batch mean and biased
 * variance and moves the running estimates 10% towards the batch's (with
 * the unbiased variance); inference normalises with the running estimates.
 * The input is N x C x S (S = H W, or 1 after a dense layer). Threads split
 * by channel (nn-team.h), and each channel's sums run in one fixed order,
 * in double.
 */
#include <math.h>

#include "nn-private.h"

/* Sums run in LANES double accumulators, element i going to lane i % LANES
 * of its row: a fixed order (threads never change it) that the compiler
 * can vectorise, in enough independent chains to hide the latency of
 * each addition. */
#define LANES 32

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

/* Everything one call works on; threads take ranges of channels (or of
 * whole planes, at inference). */
typedef struct {
  const NnLayer *layer;
  guint          batch;
  const float   *in, *dout, *gamma, *beta;
  float         *running_mean, *running_var;
  const float   *mean_in, *invstd_in;
  float         *out, *mean, *invstd, *dgamma, *dbeta;
} Batchnorm;

static guint
batchnorm_threads (const NnLayer *layer, guint batch)
{
  gsize work = (gsize) batch * layer->in_c * layer->in_h * layer->in_w;

  return work >= NN_PARALLEL_MIN_WORK ? (guint) nn_get_threads () : 1;
}

NN_WIDE_VECTORS static void
forward_train_range (gpointer data, gsize first, gsize last)
{
  const Batchnorm *j = data;
  const guint channels = j->layer->in_c, batch = j->batch;
  const gsize s = (gsize) j->layer->in_h * j->layer->in_w;
  const gsize count = (gsize) batch * s;
  const float *in = j->in, *gamma = j->gamma, *beta = j->beta;
  float *out = j->out, *mean = j->mean, *invstd = j->invstd;
  float *running_mean = j->running_mean, *running_var = j->running_var;

  for (gsize c = first; c < last; c++)
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
nn_batchnorm_forward_train (const NnLayer *layer, guint batch,
                            const float *in, const float *gamma, const float *beta,
                            float *running_mean, float *running_var,
                            float *out, float *mean, float *invstd)
{
  Batchnorm j = { layer, batch, in, NULL, gamma, beta, running_mean, running_var,
                  NULL, NULL, out, mean, invstd, NULL, NULL };

  nn_team_for (layer->in_c, batchnorm_threads (layer, batch), forward_train_range, &j);
}

/* Planes [first, last): plane p is image p / C, channel p % C. */
NN_WIDE_VECTORS static void
forward_infer_range (gpointer data, gsize first, gsize last)
{
  const Batchnorm *j = data;
  const guint channels = j->layer->in_c;
  const gsize s = (gsize) j->layer->in_h * j->layer->in_w;
  const float *gamma = j->gamma, *beta = j->beta;
  const float *running_mean = j->running_mean, *running_var = j->running_var;

  for (gsize p = first; p < last; p++)
      {
        const gsize c = p % channels;
        const float scale = gamma[c] / sqrtf (running_var[c] + NN_BATCHNORM_EPS);
        const float shift = beta[c] - running_mean[c] * scale;
        const float *x = j->in + p * s;
        float *y = j->out + p * s;

        for (gsize i = 0; i < s; i++)
          y[i] = x[i] * scale + shift;
      }
}

void
nn_batchnorm_forward_infer (const NnLayer *layer, guint batch,
                            const float *in, const float *gamma, const float *beta,
                            const float *running_mean, const float *running_var,
                            float *out)
{
  Batchnorm j = { layer, batch, in, NULL, gamma, beta, (float *) running_mean,
                  (float *) running_var, NULL, NULL, out, NULL, NULL, NULL, NULL };

  nn_team_for ((gsize) batch * layer->in_c, batchnorm_threads (layer, batch),
               forward_infer_range, &j);
}

NN_WIDE_VECTORS static void
backward_range (gpointer data, gsize first, gsize last)
{
  const Batchnorm *j = data;
  const guint channels = j->layer->in_c, batch = j->batch;
  const gsize s = (gsize) j->layer->in_h * j->layer->in_w;
  const gsize count = (gsize) batch * s;
  const float *in = j->in, *dout = j->dout, *gamma = j->gamma;
  const float *mean = j->mean_in, *invstd = j->invstd_in;
  float *dgamma = j->dgamma, *dbeta = j->dbeta, *din = j->out;

  for (gsize c = first; c < last; c++)
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

void
nn_batchnorm_backward (const NnLayer *layer, guint batch,
                       const float *in, const float *dout, const float *gamma,
                       const float *mean, const float *invstd,
                       float *dgamma, float *dbeta, float *din)
{
  Batchnorm j = { layer, batch, in, dout, gamma, NULL, NULL, NULL, mean, invstd,
                  din, NULL, NULL, dgamma, dbeta };

  nn_team_for (layer->in_c, batchnorm_threads (layer, batch), backward_range, &j);
}

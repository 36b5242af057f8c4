/* nn-activation.c — ReLU and inverted dropout.
 *
 * Both work element by element and may run in place, which is how the
 * model uses them: they add no activation memory of their own.
 */
#include "nn-private.h"


void
nn_relu_forward (gsize n, const float *in, float *out)
{
#pragma omp parallel for num_threads (nn_get_threads ()) schedule (static) if (n >= NN_PARALLEL_MIN_WORK)
  for (gsize i = 0; i < n; i++)
    out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

void
nn_relu_backward (gsize n, const float *out, const float *dout, float *din)
{
#pragma omp parallel for num_threads (nn_get_threads ()) schedule (static) if (n >= NN_PARALLEL_MIN_WORK)
  for (gsize i = 0; i < n; i++)
    {
      /* Loaded unconditionally, so the select vectorises. */
      float gradient = dout[i];

      din[i] = out[i] > 0.0f ? gradient : 0.0f;
    }
}

void
nn_dropout_forward (gsize per_image, guint batch, float rate, guint64 seed,
                    const float *in, float *out, float *mask)
{
  const float keep_scale = 1.0f / (1.0f - rate);

  /* One generator per image, seeded from the image's place in the batch:
   * the masks do not depend on which thread draws them. */
#pragma omp parallel for num_threads (nn_get_threads ()) schedule (static) \
                         if (batch * per_image >= NN_PARALLEL_MIN_WORK)
  for (guint b = 0; b < batch; b++)
    {
      NnRng rng;

      nn_rng_init (&rng, nn_seed_mix (seed, b));
      for (gsize i = b * per_image; i < (b + 1) * per_image; i++)
        {
          mask[i] = nn_rng_uniform (&rng) < rate ? 0.0f : keep_scale;
          out[i] = in[i] * mask[i];
        }
    }
}

void
nn_dropout_backward (gsize n, const float *mask, const float *dout, float *din)
{
#pragma omp parallel for num_threads (nn_get_threads ()) schedule (static) if (n >= NN_PARALLEL_MIN_WORK)
  for (gsize i = 0; i < n; i++)
    din[i] = dout[i] * mask[i];
}

/* nn-activation.c — ReLU and inverted dropout.
 *
 * Both work element by element and may run in place, which is how the
 * model uses them: they add no activation memory of their own. The
 * _serial and _image forms run on the calling thread alone, for callers
 * that run layers image by image inside their own parallel region.
 */
#include "nn-private.h"


void
nn_relu_forward_serial (gsize n, const float *in, float *out)
{
  for (gsize i = 0; i < n; i++)
    out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

void
nn_relu_backward_serial (gsize n, const float *out, const float *dout, float *din)
{
  for (gsize i = 0; i < n; i++)
    {
      /* Loaded unconditionally, so the select vectorises. */
      float gradient = dout[i];

      din[i] = out[i] > 0.0f ? gradient : 0.0f;
    }
}

void
nn_relu_forward (gsize n, const float *in, float *out)
{
#pragma omp parallel num_threads (nn_get_threads ()) if (n >= NN_PARALLEL_MIN_WORK)
  {
    int t = nn_thread_index (), parts = nn_thread_count ();
    gsize first = n * t / parts, last = n * (t + 1) / parts;

    nn_relu_forward_serial (last - first, in + first, out + first);
  }
}

void
nn_relu_backward (gsize n, const float *out, const float *dout, float *din)
{
#pragma omp parallel num_threads (nn_get_threads ()) if (n >= NN_PARALLEL_MIN_WORK)
  {
    int t = nn_thread_index (), parts = nn_thread_count ();
    gsize first = n * t / parts, last = n * (t + 1) / parts;

    nn_relu_backward_serial (last - first, out + first, dout + first, din + first);
  }
}

void
nn_dropout_forward_image (gsize per_image, guint image, float rate, guint64 seed,
                          const float *in, float *out, float *mask)
{
  const float keep_scale = 1.0f / (1.0f - rate);
  NnRng rng;

  /* One generator per image, seeded from the image's place in the batch:
   * the masks do not depend on which thread draws them. */
  nn_rng_init (&rng, nn_seed_mix (seed, image));
  for (gsize i = 0; i < per_image; i++)
    {
      mask[i] = nn_rng_uniform (&rng) < rate ? 0.0f : keep_scale;
      out[i] = in[i] * mask[i];
    }
}

void
nn_dropout_forward (gsize per_image, guint batch, float rate, guint64 seed,
                    const float *in, float *out, float *mask)
{
#pragma omp parallel for num_threads (nn_get_threads ()) schedule (static) \
                         if (batch * per_image >= NN_PARALLEL_MIN_WORK)
  for (guint b = 0; b < batch; b++)
    nn_dropout_forward_image (per_image, b, rate, seed, in + b * per_image,
                              out + b * per_image, mask + b * per_image);
}

void
nn_dropout_backward_serial (gsize n, const float *mask, const float *dout, float *din)
{
  for (gsize i = 0; i < n; i++)
    din[i] = dout[i] * mask[i];
}

void
nn_dropout_backward (gsize n, const float *mask, const float *dout, float *din)
{
#pragma omp parallel num_threads (nn_get_threads ()) if (n >= NN_PARALLEL_MIN_WORK)
  {
    int t = nn_thread_index (), parts = nn_thread_count ();
    gsize first = n * t / parts, last = n * (t + 1) / parts;

    nn_dropout_backward_serial (last - first, mask + first, dout + first, din + first);
  }
}

/* nn-activation.c — ReLU and inverted dropout.
 *
 * Both work element by element and may run in place, which is how the
 * model uses them: they add no activation memory of their own. The
 * _serial and _image forms run on the calling thread alone, for callers
 * that run layers image by image in their own job of the team.
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

typedef struct {
  const float *a, *b;
  float       *out;
} Elementwise;

static guint
elementwise_threads (gsize n)
{
  return n >= NN_PARALLEL_MIN_WORK ? (guint) nn_get_threads () : 1;
}

static void
relu_forward_range (gpointer data, gsize first, gsize last)
{
  Elementwise *e = data;

  nn_relu_forward_serial (last - first, e->a + first, e->out + first);
}

void
nn_relu_forward (gsize n, const float *in, float *out)
{
  Elementwise e = { in, NULL, out };

  nn_team_for (n, elementwise_threads (n), relu_forward_range, &e);
}

static void
relu_backward_range (gpointer data, gsize first, gsize last)
{
  Elementwise *e = data;

  nn_relu_backward_serial (last - first, e->a + first, e->b + first, e->out + first);
}

void
nn_relu_backward (gsize n, const float *out, const float *dout, float *din)
{
  Elementwise e = { out, dout, din };

  nn_team_for (n, elementwise_threads (n), relu_backward_range, &e);
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

typedef struct {
  gsize        per_image;
  float        rate;
  guint64      seed;
  const float *in;
  float       *out, *mask;
} DropoutJob;

static void
dropout_forward_range (gpointer data, gsize first, gsize last)
{
  DropoutJob *job = data;

  for (gsize b = first; b < last; b++)
    nn_dropout_forward_image (job->per_image, (guint) b, job->rate, job->seed,
                              job->in + b * job->per_image, job->out + b * job->per_image,
                              job->mask + b * job->per_image);
}

void
nn_dropout_forward (gsize per_image, guint batch, float rate, guint64 seed,
                    const float *in, float *out, float *mask)
{
  DropoutJob job = { per_image, rate, seed, in, out, mask };

  nn_team_for (batch, elementwise_threads (batch * per_image), dropout_forward_range, &job);
}

void
nn_dropout_backward_serial (gsize n, const float *mask, const float *dout, float *din)
{
  for (gsize i = 0; i < n; i++)
    din[i] = dout[i] * mask[i];
}

static void
dropout_backward_range (gpointer data, gsize first, gsize last)
{
  Elementwise *e = data;

  nn_dropout_backward_serial (last - first, e->a + first, e->b + first, e->out + first);
}

void
nn_dropout_backward (gsize n, const float *mask, const float *dout, float *din)
{
  Elementwise e = { mask, dout, din };

  nn_team_for (n, elementwise_threads (n), dropout_backward_range, &e);
}

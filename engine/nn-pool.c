/* nn-pool.c — 2x2 max-pooling with stride 2.
 *
 * Odd sizes are floored (the last row or column is dropped), as PyTorch's
 * MaxPool2d(2) does. The forward pass remembers which input won each
 * window so the backward pass routes the gradient there alone. Planes go
 * through the vector kernels of nn-tile.c; a plane holding a NaN, or a
 * CPU without them, takes the scalar code below, which gives the same
 * answers. Threads split the work by (image, channel) plane; the
 * plane-range functions serve callers that run layers image by image in
 * their own job of the team.
 */
#include <math.h>
#include <string.h>

#include "nn-private.h"
#include "nn-tile.h"

/* Planes [first, last) of the batch (plane p is image p / C, channel
 * p % C). */
void
nn_maxpool_forward_planes (const NnLayer *layer, const float *in, float *out, gint32 *argmax,
                           gsize first, gsize last)
{
  const guint h = layer->in_h, w = layer->in_w, oh = layer->out_h, ow = layer->out_w;

  for (gsize p = first; p < last; p++)
    {
      const float *src = in + p * h * w;
      float *dest = out + p * oh * ow;
      gint32 *winners = argmax ? argmax + p * oh * ow : NULL;

      if (nn_maxpool_plane (src, w, oh, ow, dest, winners))
        continue;
      for (guint oy = 0; oy < oh; oy++)
        {
          const float *r0 = src + (gsize) 2 * oy * w, *r1 = r0 + w;
          float *top_row = dest + (gsize) oy * ow;

          /* Selects, not branches (the winner is unpredictable), so the
           * loop vectorises; the first maximum in reading order wins ties. */
          for (guint ox = 0; ox < ow; ox++)
            {
              float a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1];
              float ab = b > a ? b : a, cd = d > c ? d : c;
              float top = cd > ab ? cd : ab;

              top_row[ox] = top;
            }
          if (winners != NULL)
            {
              gint32 *row = winners + (gsize) oy * ow;

              for (guint ox = 0; ox < ow; ox++)
                {
                  float top = top_row[ox];
                  gint32 first_at = (gint32) (2 * oy * w + 2 * ox);
                  gint32 at = first_at + (gint32) w + 1;

                  at = r1[2 * ox] == top ? first_at + (gint32) w : at;
                  at = r0[2 * ox + 1] == top ? first_at + 1 : at;
                  at = r0[2 * ox] == top ? first_at : at;
                  row[ox] = at;
                }
            }
          /* A NaN shows instead of vanishing, as in PyTorch: rare, so
           * checked apart from the fast loop above. */
          for (guint ox = 0; ox < ow; ox++)
            if (G_UNLIKELY (isnan (r0[2 * ox]) || isnan (r0[2 * ox + 1])
                            || isnan (r1[2 * ox]) || isnan (r1[2 * ox + 1])))
              {
                const float *window[4] = { r0 + 2 * ox, r0 + 2 * ox + 1, r1 + 2 * ox, r1 + 2 * ox + 1 };
                guint i = 0;

                while (!isnan (*window[i]))
                  i++;
                top_row[ox] = *window[i];
                if (winners != NULL)
                  winners[(gsize) oy * ow + ox] = (gint32) (window[i] - src);
              }
        }
    }
}

typedef struct {
  const NnLayer *layer;
  const float   *in;
  float         *out;
  gint32        *argmax;
  const gint32  *winners;
} PoolJob;

static void
forward_range (gpointer data, gsize first, gsize last)
{
  PoolJob *job = data;

  nn_maxpool_forward_planes (job->layer, job->in, job->out, job->argmax, first, last);
}

static guint
pool_threads (const NnLayer *layer, gsize planes)
{
  return planes * layer->in_h * layer->in_w >= NN_PARALLEL_MIN_WORK ? (guint) nn_get_threads () : 1;
}

void
nn_maxpool_forward (const NnLayer *layer, guint batch,
                    const float *in, float *out, gint32 *argmax)
{
  const gsize planes = (gsize) batch * layer->in_c;
  PoolJob job = { layer, in, out, argmax, NULL };

  nn_team_for (planes, pool_threads (layer, planes), forward_range, &job);
}

void
nn_maxpool_backward_planes (const NnLayer *layer, const float *dout, const gint32 *argmax,
                            float *din, gsize first, gsize last)
{
  nn_maxpool_relu_backward_planes (layer, dout, argmax, NULL, din, first, last);
}

/* Every input of a window is written once, the winner's gradient or zero,
 * rather than the plane cleared and the winners scattered: one pass over
 * the memory instead of two. A ReLU before the pooling passed the
 * gradient only where its output was positive: at the winner, that output
 * is the pooling's own (@pooled). */
void
nn_maxpool_relu_backward_planes (const NnLayer *layer, const float *dout, const gint32 *argmax,
                                 const float *pooled, float *din, gsize first, gsize last)
{
  const guint h = layer->in_h, w = layer->in_w, oh = layer->out_h, ow = layer->out_w;
  const gsize in_plane = (gsize) h * w, out_plane = (gsize) oh * ow;

  for (gsize p = first; p < last; p++)
    {
      float *dest = din + p * in_plane;

      for (guint oy = 0; oy < oh; oy++)
        {
          gsize at = p * out_plane + (gsize) oy * ow;

          nn_maxpool_backward_row (dout + at, argmax + at, pooled != NULL ? pooled + at : NULL,
                                   w, oy, ow, dest);
          /* An odd width's last column is in no window. */
          for (guint x = 2 * ow; x < w; x++)
            dest[(gsize) 2 * oy * w + x] = dest[(gsize) (2 * oy + 1) * w + x] = 0.0f;
        }
      /* Nor an odd height's last row. */
      for (gsize i = (gsize) 2 * oh * w; i < in_plane; i++)
        dest[i] = 0.0f;
    }
}

static void
backward_range (gpointer data, gsize first, gsize last)
{
  PoolJob *job = data;

  nn_maxpool_backward_planes (job->layer, job->in, job->winners, job->out, first, last);
}

void
nn_maxpool_backward (const NnLayer *layer, guint batch,
                     const float *dout, const gint32 *argmax, float *din)
{
  const gsize planes = (gsize) batch * layer->in_c;
  PoolJob job = { layer, dout, din, NULL, argmax };

  nn_team_for (planes, pool_threads (layer, planes), backward_range, &job);
}

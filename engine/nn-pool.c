/* nn-pool.c — 2x2 max-pooling with stride 2.
 *
 * Odd sizes are floored (the last row or column is dropped), as PyTorch's
 * MaxPool2d(2) does. The forward pass remembers which input won each window
 * so the backward pass routes the gradient there alone. Threads split the
 * work by (image, channel) plane.
 */
#include <math.h>
#include <string.h>

#include "nn-private.h"

void
nn_maxpool_forward (const NnLayer *layer, guint batch,
                    const float *in, float *out, gint32 *argmax)
{
  const guint h = layer->in_h, w = layer->in_w, oh = layer->out_h, ow = layer->out_w;
  const gsize planes = (gsize) batch * layer->in_c;

#pragma omp parallel for num_threads (nn_get_threads ()) schedule (static)
  for (gsize p = 0; p < planes; p++)
    {
      const float *src = in + p * h * w;
      float *dest = out + p * oh * ow;
      gint32 *winners = argmax ? argmax + p * oh * ow : NULL;

      for (guint oy = 0; oy < oh; oy++)
        for (guint ox = 0; ox < ow; ox++)
          {
            static const guint dy[4] = { 0, 0, 1, 1 }, dx[4] = { 0, 1, 0, 1 };
            guint best = (2 * oy) * w + 2 * ox;

            /* The first maximum in reading order wins ties; a NaN wins
             * outright, so it shows instead of vanishing (as in PyTorch). */
            for (guint i = 1; i < 4; i++)
              {
                guint at = (2 * oy + dy[i]) * w + 2 * ox + dx[i];

                if (src[at] > src[best] || isnan (src[at]))
                  best = at;
              }
            dest[oy * ow + ox] = src[best];
            if (winners)
              winners[oy * ow + ox] = (gint32) best;
          }
    }
}

void
nn_maxpool_backward (const NnLayer *layer, guint batch,
                     const float *dout, const gint32 *argmax, float *din)
{
  const gsize in_plane = (gsize) layer->in_h * layer->in_w;
  const gsize out_plane = (gsize) layer->out_h * layer->out_w;
  const gsize planes = (gsize) batch * layer->in_c;

#pragma omp parallel for num_threads (nn_get_threads ()) schedule (static)
  for (gsize p = 0; p < planes; p++)
    {
      float *dest = din + p * in_plane;

      memset (dest, 0, in_plane * sizeof (float));
      /* Windows do not overlap, so each input receives at most one value. */
      for (gsize i = 0; i < out_plane; i++)
        dest[argmax[p * out_plane + i]] = dout[p * out_plane + i];
    }
}

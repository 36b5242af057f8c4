/* nn-conv.c — 2-D convolution, stride 1, "same" or "valid" padding.
 *
 * Each image is unrolled (im2col) into a (C k k) x (H W) matrix so that the
 * convolution is one matrix product with the (out_c) x (C k k) weights;
 * the backward pass uses the same unrolling for the weight gradient and
 * folds the input gradient back (col2im).
 *
 * Threads own what they write: the forward pass and the input gradient are
 * split by image; weight gradients are summed per fixed chunk of images and
 * the chunks are then added in order, so the sums do not depend on the
 * number of threads.
 */
#include <string.h>

#include "nn-gemm.h"
#include "nn-private.h"

gsize
nn_conv_scratch_size (const NnLayer *layer)
{
  return (gsize) layer->in_c * layer->kernel * layer->kernel * layer->out_h * layer->out_w;
}

gsize
nn_conv_partials_size (const NnLayer *layer)
{
  return nn_layer_weight_size (layer) + layer->units;
}

/* A 1x1 kernel without padding needs no unrolling: the image is the matrix. */
static inline gboolean
is_pointwise (const NnLayer *layer)
{
  return layer->kernel == 1 && layer->pad == 0;
}

/* The columns [x0, x1) of an output row that read inside the input for
 * kernel column @kx; the rest read padding. */
static inline void
valid_columns (const NnLayer *layer, guint kx, guint *x0, guint *x1)
{
  int first = (int) layer->pad - (int) kx;
  int last = (int) layer->in_w + (int) layer->pad - (int) kx;

  *x0 = (guint) CLAMP (first, 0, (int) layer->out_w);
  *x1 = (guint) CLAMP (last, (int) *x0, (int) layer->out_w);
}

NN_INLINE_COPIES static void
im2col (const NnLayer *layer, const float *in, float *col)
{
  const guint k = layer->kernel, h = layer->in_h, w = layer->in_w;
  const guint oh = layer->out_h, ow = layer->out_w;

  for (guint c = 0; c < layer->in_c; c++)
    for (guint ky = 0; ky < k; ky++)
      for (guint kx = 0; kx < k; kx++)
        {
          const float *plane = in + (gsize) c * h * w;
          float *row = col + ((gsize) (c * k + ky) * k + kx) * oh * ow;
          guint x0, x1;

          valid_columns (layer, kx, &x0, &x1);
          for (guint oy = 0; oy < oh; oy++)
            {
              int iy = (int) (oy + ky) - (int) layer->pad;
              float *dest = row + (gsize) oy * ow;
              const float *src;

              if (iy < 0 || iy >= (int) h)
                {
                  for (guint ox = 0; ox < ow; ox++)
                    dest[ox] = 0.0f;
                  continue;
                }
              src = plane + (gsize) iy * w + kx - layer->pad;
              for (guint ox = 0; ox < x0; ox++)
                dest[ox] = 0.0f;
              for (guint ox = x0; ox < x1; ox++)
                dest[ox] = src[ox];
              for (guint ox = x1; ox < ow; ox++)
                dest[ox] = 0.0f;
            }
        }
}

/* The adjoint of im2col: adds each unrolled value back where it came from. */
NN_INLINE_COPIES static void
col2im (const NnLayer *layer, const float *col, float *din)
{
  const guint k = layer->kernel, h = layer->in_h, w = layer->in_w;
  const guint oh = layer->out_h, ow = layer->out_w;
  const gsize in_size = nn_layer_in_size (layer);

  for (gsize i = 0; i < in_size; i++)
    din[i] = 0.0f;
  for (guint c = 0; c < layer->in_c; c++)
    for (guint ky = 0; ky < k; ky++)
      for (guint kx = 0; kx < k; kx++)
        {
          float *plane = din + (gsize) c * h * w;
          const float *row = col + ((gsize) (c * k + ky) * k + kx) * oh * ow;
          guint x0, x1;

          valid_columns (layer, kx, &x0, &x1);
          for (guint oy = 0; oy < oh; oy++)
            {
              int iy = (int) (oy + ky) - (int) layer->pad;
              const float *src = row + (gsize) oy * ow;
              float *dest;

              if (iy < 0 || iy >= (int) h)
                continue;
              dest = plane + (gsize) iy * w + kx - layer->pad;
              for (guint ox = x0; ox < x1; ox++)
                dest[ox] += src[ox];
            }
        }
}

static void
add_bias (const NnLayer *layer, const float *bias, float *out)
{
  const gsize hw = (gsize) layer->out_h * layer->out_w;

  for (guint o = 0; o < layer->units; o++)
    for (gsize i = 0; i < hw; i++)
      out[o * hw + i] += bias[o];
}

/* out (units x HW) = weight (units x C k k) * columns (C k k x HW) + bias. */
static void
forward_image (const NnLayer *layer, const float *in, const float *weight, const float *bias,
               float *out, float *col, gboolean threaded)
{
  const gsize hw = (gsize) layer->out_h * layer->out_w;
  const gsize depth = (gsize) layer->in_c * layer->kernel * layer->kernel;
  const float *columns = in;

  if (!is_pointwise (layer))
    {
      im2col (layer, in, col);
      columns = col;
    }
  (threaded ? nn_sgemm_threaded : nn_sgemm) (FALSE, FALSE, layer->units, hw, depth,
                                             1.0f, weight, depth, columns, hw,
                                             0.0f, out, hw);
  add_bias (layer, bias, out);
}

void
nn_conv_forward (const NnLayer *layer, guint batch,
                 const float *in, const float *weight, const float *bias,
                 float *out, float *scratch, guint n_scratch)
{
  const gsize in_size = nn_layer_in_size (layer), out_size = nn_layer_out_size (layer);
  const gsize col_size = nn_conv_scratch_size (layer);
  G_GNUC_UNUSED const gsize depth = (gsize) layer->in_c * layer->kernel * layer->kernel;
  int n_threads = (int) MIN ((guint) nn_get_threads (), n_scratch);

  /* Fewer images than threads (a drawing being recognised): split each
   * product instead, which gives the same numbers. */
  if ((int) batch < n_threads)
    {
      for (guint b = 0; b < batch; b++)
        forward_image (layer, in + b * in_size, weight, bias, out + b * out_size,
                       scratch, TRUE);
      return;
    }

#pragma omp parallel num_threads (n_threads) if (batch * out_size * depth >= 4 * NN_PARALLEL_MIN_WORK)
  {
    float *col = scratch + nn_thread_index () * col_size;

#pragma omp for schedule (static)
    for (guint b = 0; b < batch; b++)
      forward_image (layer, in + b * in_size, weight, bias, out + b * out_size, col, FALSE);
  }
}

void
nn_conv_backward (const NnLayer *layer, guint batch,
                  const float *in, const float *dout, const float *weight,
                  float *dweight, float *dbias, float *din,
                  float *scratch, guint n_scratch, float *partials)
{
  const gsize in_size = nn_layer_in_size (layer), out_size = nn_layer_out_size (layer);
  const gsize col_size = nn_conv_scratch_size (layer);
  const gsize hw = (gsize) layer->out_h * layer->out_w;
  const gsize depth = (gsize) layer->in_c * layer->kernel * layer->kernel;
  const gsize n_weights = nn_layer_weight_size (layer);
  const gsize partial_size = nn_conv_partials_size (layer);
  const guint n_chunks = nn_chunk_count (batch);
  G_GNUC_UNUSED int n_threads = (int) MIN ((guint) nn_get_threads (), n_scratch);

#pragma omp parallel num_threads (n_threads) if (batch * out_size * depth >= 4 * NN_PARALLEL_MIN_WORK)
  {
    float *col = scratch + nn_thread_index () * col_size;

#pragma omp for schedule (static)
    for (guint chunk = 0; chunk < n_chunks; chunk++)
      {
        float *dw = partials + chunk * partial_size;
        float *db = dw + n_weights;
        guint first = nn_chunk_start (batch, n_chunks, chunk);
        guint last = nn_chunk_start (batch, n_chunks, chunk + 1);

        memset (db, 0, layer->units * sizeof (float));
        for (guint b = first; b < last; b++)
          {
            const float *x = in + b * in_size;
            const float *dy = dout + b * out_size;
            const float *columns = x;

            if (!is_pointwise (layer))
              {
                im2col (layer, x, col);
                columns = col;
              }
            /* dW (units x C k k) += dY (units x HW) * columns^T */
            nn_sgemm (FALSE, TRUE, layer->units, depth, hw,
                      1.0f, dy, hw, columns, hw,
                      b == first ? 0.0f : 1.0f, dw, depth);
            for (guint o = 0; o < layer->units; o++)
              {
                float sum = 0.0f;

                for (gsize i = 0; i < hw; i++)
                  sum += dy[o * hw + i];
                db[o] += sum;
              }

            if (din == NULL)
              continue;
            /* dcolumns (C k k x HW) = W^T * dY, folded back into dX */
            if (is_pointwise (layer))
              nn_sgemm (TRUE, FALSE, depth, hw, layer->units,
                        1.0f, weight, depth, dy, hw, 0.0f, din + b * in_size, hw);
            else
              {
                nn_sgemm (TRUE, FALSE, depth, hw, layer->units,
                          1.0f, weight, depth, dy, hw, 0.0f, col, hw);
                col2im (layer, col, din + b * in_size);
              }
          }
      }

    /* The chunks' sums, added in chunk order whoever computed them. */
#pragma omp for schedule (static)
    for (gsize i = 0; i < partial_size; i++)
      {
        float sum = partials[i];

        for (guint chunk = 1; chunk < n_chunks; chunk++)
          sum += partials[chunk * partial_size + i];
        if (i < n_weights)
          dweight[i] += sum;
        else
          dbias[i - n_weights] += sum;
      }
  }
}

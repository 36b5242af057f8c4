/* nn-dense.c — fully connected layers.
 *
 * Weights are [outputs, inputs] as in PyTorch's nn.Linear, and the input is
 * whatever came before, flattened in C, H, W order. All three products go
 * through nn_sgemm_threaded, which splits the output matrix, never a sum.
 */
#include "nn-gemm.h"
#include "nn-private.h"

void
nn_dense_forward (const NnLayer *layer, guint batch,
                  const float *in, const float *weight, const float *bias,
                  float *out)
{
  const gsize n_in = nn_layer_in_size (layer), n_out = layer->units;

  /* out (batch x n_out) = in (batch x n_in) * weight^T; fewer images than
   * threads (a drawing being recognised) stay on one, like the layers
   * before (see run_threads() in nn-forward.c). */
  ((int) batch < nn_get_threads () ? nn_sgemm : nn_sgemm_threaded)
    (FALSE, TRUE, batch, n_out, n_in, 1.0f, in, n_in, weight, n_in, 0.0f, out, n_out);
  for (guint b = 0; b < batch; b++)
    for (gsize o = 0; o < n_out; o++)
      out[b * n_out + o] += bias[o];
}

void
nn_dense_backward (const NnLayer *layer, guint batch,
                   const float *in, const float *dout, const float *weight,
                   float *dweight, float *dbias, float *din)
{
  const gsize n_in = nn_layer_in_size (layer), n_out = layer->units;

  /* dweight (n_out x n_in) += dout^T (n_out x batch) * in */
  nn_sgemm_threaded (TRUE, FALSE, n_out, n_in, batch,
                     1.0f, dout, n_out, in, n_in, 1.0f, dweight, n_in);
  for (gsize o = 0; o < n_out; o++)
    {
      float sum = 0.0f;

      for (guint b = 0; b < batch; b++)
        sum += dout[b * n_out + o];
      dbias[o] += sum;
    }
  /* din (batch x n_in) = dout (batch x n_out) * weight */
  if (din != NULL)
    nn_sgemm_threaded (FALSE, FALSE, batch, n_in, n_out,
                       1.0f, dout, n_out, weight, n_in, 0.0f, din, n_in);
}

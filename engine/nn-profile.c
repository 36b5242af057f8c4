/* nn-profile.c — times each layer of a model on its own, as training runs it.
 *
 * The benchmark holds every convolution against the machine's FMA peak, so
 * it needs each layer's forward and backward time separately, with the
 * arithmetic each one does. The layers run through the same functions and
 * the same workspace scratch as nn_model_forward/backward, on activations a
 * real training forward pass produced; only the output buffers are the
 * profiler's own, so that in-place layers (ReLU, dropout) can be repeated
 * without feeding on their own results. A staged convolution (see
 * nn-forward.c) is timed as training runs it, each image's output going to
 * a one-image buffer of its thread; its output, which training keeps
 * nowhere, is made once, untimed, for the ReLU and pooling after it.
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn-private.h"

static gint64
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * G_GINT64_CONSTANT (1000000000) + ts.tv_nsec;
}

static int
compare_gint64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return (x > y) - (x < y);
}

static double
median_seconds (gint64 *times_ns, guint n)
{
  qsort (times_ns, n, sizeof *times_ns, compare_gint64);
  return (n % 2 ? times_ns[n / 2] : (times_ns[n / 2 - 1] + times_ns[n / 2]) / 2.0) * 1e-9;
}

/* Everything one layer reads and writes while it is timed. */
typedef struct {
  const NnLayer *layer;
  guint          batch;
  gboolean       staged;      /* a staged convolution */
  const float   *in;          /* its input from a real forward pass */
  float         *out;         /* the profiler's, never the workspace's */
  const float   *dout;        /* a gradient from the layer above */
  float         *din;         /* NULL where training computes none */
  const float   *params;      /* the layer's weight (or gamma), bias follows */
  float         *grads;       /* laid out like params */
  float         *buffers;     /* batchnorm running statistics */
  gint32        *argmax;
  float         *mask;
  float         *mean;
  float         *invstd;
  NnWorkspace   *ws;          /* conv scratch and partial sums */
} LayerRun;

static void
layer_forward (const LayerRun *run)
{
  const NnLayer *layer = run->layer;
  gsize n = (gsize) run->batch * nn_layer_out_size (layer);

  switch (layer->kind)
    {
    case NN_LAYER_CONV:
      if (run->staged)
        nn_conv_forward_staged (layer, run->batch, run->in, run->params,
                                run->params + nn_layer_weight_size (layer), run->out,
                                run->ws->scratch, run->ws->n_scratch);
      else
        nn_conv_forward (layer, run->batch, run->in, run->params,
                         run->params + nn_layer_weight_size (layer), run->out,
                         run->ws->scratch, run->ws->n_scratch);
      break;
    case NN_LAYER_MAXPOOL:
      nn_maxpool_forward (layer, run->batch, run->in, run->out, run->argmax);
      break;
    case NN_LAYER_DENSE:
      nn_dense_forward (layer, run->batch, run->in, run->params,
                        run->params + nn_layer_weight_size (layer), run->out);
      break;
    case NN_LAYER_RELU:
      nn_relu_forward (n, run->in, run->out);
      break;
    case NN_LAYER_DROPOUT:
      if (layer->rate > 0.0f)
        nn_dropout_forward (nn_layer_out_size (layer), run->batch, layer->rate, 1,
                            run->in, run->out, run->mask);
      break;
    case NN_LAYER_BATCHNORM:
      nn_batchnorm_forward_train (layer, run->batch, run->in, run->params,
                                  run->params + layer->in_c, run->buffers,
                                  run->buffers + layer->in_c, run->out, run->mean, run->invstd);
      break;
    }
}

static void
layer_backward (const LayerRun *run)
{
  const NnLayer *layer = run->layer;
  gsize n = (gsize) run->batch * nn_layer_out_size (layer);

  switch (layer->kind)
    {
    case NN_LAYER_CONV:
      if (run->staged)
        nn_conv_backward_staged (layer, run->batch, run->in, run->dout, run->params,
                                 run->grads, run->grads + nn_layer_weight_size (layer),
                                 run->din, run->ws->scratch, run->ws->n_scratch,
                                 run->ws->partials);
      else
        nn_conv_backward (layer, run->batch, run->in, run->dout, run->params,
                          run->grads, run->grads + nn_layer_weight_size (layer), run->din,
                          run->ws->scratch, run->ws->n_scratch, run->ws->partials);
      break;
    case NN_LAYER_MAXPOOL:
      if (run->din != NULL)
        nn_maxpool_backward (layer, run->batch, run->dout, run->argmax, run->din);
      break;
    case NN_LAYER_DENSE:
      nn_dense_backward (layer, run->batch, run->in, run->dout, run->params,
                         run->grads, run->grads + nn_layer_weight_size (layer), run->din);
      break;
    case NN_LAYER_RELU:
      if (run->din != NULL)
        nn_relu_backward (n, run->out, run->dout, run->din);
      break;
    case NN_LAYER_DROPOUT:
      if (run->din != NULL && layer->rate > 0.0f)
        nn_dropout_backward (n, run->mask, run->dout, run->din);
      break;
    case NN_LAYER_BATCHNORM:
      nn_batchnorm_backward (layer, run->batch, run->in, run->dout, run->params,
                             run->mean, run->invstd, run->grads,
                             run->grads + layer->in_c, run->din);
      break;
    }
}

/* Multiply-adds count 2; layers that only compare or move data count 0,
 * since a GFLOP/s figure means nothing for them. */
static void
layer_flop (const NnLayer *layer, guint batch, gboolean has_din,
            double *forward, double *backward)
{
  double per_image = 0.0;

  if (layer->kind == NN_LAYER_CONV)
    per_image = 2.0 * layer->out_c * layer->out_h * layer->out_w
                * layer->in_c * layer->kernel * layer->kernel;
  else if (layer->kind == NN_LAYER_DENSE)
    per_image = 2.0 * nn_layer_in_size (layer) * layer->units;

  *forward = per_image * batch;
  /* The weight gradient costs as much as the forward pass, and so does the
   * input gradient when there is one to compute. */
  *backward = per_image * batch * (has_din ? 2 : 1);
}

NnLayerProfile *
nn_model_profile_layers (NnModel *model,
                         guint    batch_size,
                         guint    repeats,
                         GError **error)
{
  g_autoptr(NnWorkspace) ws = NULL;
  g_autofree NnLayerProfile *profile = NULL;
  g_autofree float *saved_buffers = NULL;
  g_autofree float *grads = NULL;
  float *out = NULL, *din = NULL, *dout = NULL, *mask = NULL, *staged_out = NULL;
  g_autofree float *mean = NULL, *invstd = NULL;
  gint32 *argmax = NULL;
  g_autofree gint64 *forward_ns = NULL, *backward_ns = NULL;
  gsize largest = NN_IMAGE_PIXELS, widest_channels = 1;
  guint first_trainable = 0;
  NnRng rng;

  g_return_val_if_fail (model != NULL, NULL);

  if (batch_size < 1 || batch_size > 4096 || repeats < 1 || repeats > 100000)
    {
      g_set_error (error, NN_ERROR, NN_ERROR_PARAMETER,
                   _("Profiling needs a batch of 1 to 4096 images and at least one run, "
                     "not a batch of %u and %u runs"), batch_size, repeats);
      return NULL;
    }

  /* As in nn_model_backward: layers before the first one with parameters
   * have no backward pass, and that one computes no input gradient. */
  while (first_trainable < model->n_layers && model->layers[first_trainable].n_params == 0)
    first_trainable++;
  for (guint i = 0; i < model->n_layers; i++)
    {
      largest = MAX (largest, nn_layer_out_size (&model->layers[i]));
      widest_channels = MAX (widest_channels, model->layers[i].out_c);
    }

  /* Training forward passes move the batchnorm running statistics; the
   * model is to be left as it was. */
  saved_buffers = g_memdup2 (model->buffers, model->n_buffers * sizeof (float));

  ws = nn_workspace_new (model, batch_size, TRUE);
  nn_rng_init (&rng, 0x9e3779b97f4a7c15ull);
  for (gsize i = 0; i < (gsize) batch_size * NN_IMAGE_PIXELS; i++)
    ws->input[i] = nn_rng_uniform (&rng);
  nn_model_forward (model, ws, batch_size, TRUE, 1);

  grads = g_new0 (float, MAX (model->n_params, 1));
  /* Aligned as the workspace's buffers are: a layer's stores would
   * otherwise straddle cache lines that they do not in training. */
  out = g_aligned_alloc ((gsize) batch_size * largest, sizeof (float), 64);
  din = g_aligned_alloc ((gsize) batch_size * largest, sizeof (float), 64);
  dout = g_aligned_alloc ((gsize) batch_size * largest, sizeof (float), 64);
  mask = g_aligned_alloc ((gsize) batch_size * largest, sizeof (float), 64);
  staged_out = g_aligned_alloc ((gsize) batch_size * largest, sizeof (float), 64);
  argmax = g_aligned_alloc ((gsize) batch_size * largest, sizeof (gint32), 64);
  mean = g_new (float, widest_channels);
  invstd = g_new (float, widest_channels);
  for (gsize i = 0; i < (gsize) batch_size * largest; i++)
    dout[i] = (nn_rng_uniform (&rng) - 0.5f) * 1e-2f;

  profile = g_new0 (NnLayerProfile, model->n_layers);
  forward_ns = g_new (gint64, repeats);
  backward_ns = g_new (gint64, repeats);

  for (guint i = 0; i < model->n_layers; i++)
    {
      const NnLayer *layer = &model->layers[i];
      g_autofree char *word = nn_layer_to_word (layer);
      const float *in = i == 0 ? ws->input : ws->out[i - 1];
      gboolean staged = nn_model_layer_staged (model, i);

      if (staged)
        nn_conv_forward_full (layer, batch_size, in, model->params + layer->param_offset,
                              model->params + layer->param_offset + nn_layer_weight_size (layer),
                              staged_out, ws->scratch, ws->n_scratch, TRUE);
      if (in == NULL)
        in = staged_out;

      LayerRun run = {
        .layer = layer,
        .batch = batch_size,
        .staged = staged,
        .in = in,
        .out = out,
        .dout = dout,
        .din = i > first_trainable ? din : NULL,
        .params = model->params + layer->param_offset,
        .grads = grads + layer->param_offset,
        .buffers = model->buffers != NULL ? model->buffers + layer->buffer_offset : NULL,
        .argmax = argmax,
        .mask = mask,
        .mean = mean,
        .invstd = invstd,
        .ws = ws,
      };

      gboolean has_backward = i >= first_trainable;

      g_strlcpy (profile[i].name, word, sizeof profile[i].name);
      layer_flop (layer, batch_size, run.din != NULL,
                  &profile[i].forward_flop, &profile[i].backward_flop);
      if (!has_backward)
        profile[i].backward_flop = 0.0;

      /* One untimed pass each: caches, page faults, lazily made threads. */
      layer_forward (&run);
      if (has_backward)
        layer_backward (&run);
      for (guint r = 0; r < repeats; r++)
        {
          gint64 t0 = now_ns ();
          layer_forward (&run);
          gint64 t1 = now_ns ();
          if (has_backward)
            layer_backward (&run);
          gint64 t2 = now_ns ();

          forward_ns[r] = t1 - t0;
          backward_ns[r] = has_backward ? t2 - t1 : 0;
        }
      /* median_seconds sorts, so the fastest run is first afterwards. */
      profile[i].forward_s = median_seconds (forward_ns, repeats);
      profile[i].backward_s = median_seconds (backward_ns, repeats);
      profile[i].forward_best_s = forward_ns[0] * 1e-9;
      profile[i].backward_best_s = backward_ns[0] * 1e-9;
    }

  if (model->n_buffers > 0)
    memcpy (model->buffers, saved_buffers, model->n_buffers * sizeof (float));
  g_aligned_free (out);
  g_aligned_free (din);
  g_aligned_free (dout);
  g_aligned_free (mask);
  g_aligned_free (staged_out);
  g_aligned_free (argmax);
  return g_steal_pointer (&profile);
}

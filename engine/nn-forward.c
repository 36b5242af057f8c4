/* nn-forward.c — running a model: workspaces, forward, backward, predict.
 *
 * A workspace holds every buffer a pass writes, allocated once for a
 * maximum batch so that nothing is allocated while training. A training
 * workspace keeps each layer's output for the backward pass (ReLU and
 * dropout work in place, adding nothing); an inference workspace needs only
 * two activation buffers, used in turn.
 */
#include <string.h>

#include "nn-private.h"

/* Images per inference pass: large enough for efficient products, small
 * enough that recognising one drawing needs little memory. */
#define INFERENCE_BATCH 64

/* ---- Workspaces -------------------------------------------------------- */

/* Hands out pieces of one block; a first pass with no block only counts.
 * Pieces are 64-byte aligned for vector loads. */
typedef struct {
  float *block;
  gsize  used;
} Arena;

static float *
take (Arena *arena, gsize n)
{
  float *piece = arena->block ? arena->block + arena->used : NULL;

  arena->used += (n + 15) & ~(gsize) 15;
  return piece;
}

static gboolean
works_in_place (const NnLayer *layer)
{
  return layer->kind == NN_LAYER_RELU || layer->kind == NN_LAYER_DROPOUT;
}

static void
lay_out_workspace (NnWorkspace *ws, const NnModel *model, Arena *arena)
{
  const guint n = ws->max_batch;
  gsize largest = NN_IMAGE_PIXELS, scratch = 0, partials = 0;
  float *ping, *pong;
  float *previous;

  for (guint i = 0; i < model->n_layers; i++)
    {
      const NnLayer *layer = &model->layers[i];

      largest = MAX (largest, nn_layer_out_size (layer));
      if (layer->kind == NN_LAYER_CONV)
        {
          scratch = MAX (scratch, nn_conv_scratch_size (layer));
          partials = MAX (partials, nn_conv_partials_size (layer));
        }
    }

  ws->input = take (arena, (gsize) n * NN_IMAGE_PIXELS);
  ws->scratch = take (arena, scratch * ws->n_scratch);
  ping = ws->training ? NULL : take (arena, (gsize) n * largest);
  pong = ws->training ? NULL : take (arena, (gsize) n * largest);

  previous = ws->input;
  for (guint i = 0; i < model->n_layers; i++)
    {
      const NnLayer *layer = &model->layers[i];
      gsize size = (gsize) n * nn_layer_out_size (layer);

      if (works_in_place (layer))
        ws->out[i] = previous;
      else if (ws->training)
        ws->out[i] = take (arena, size);
      else
        ws->out[i] = previous == ping ? pong : ping;
      previous = ws->out[i];

      if (!ws->training)
        continue;
      if (layer->kind == NN_LAYER_MAXPOOL)
        ws->argmax[i] = (gint32 *) take (arena, size);
      else if (layer->kind == NN_LAYER_DROPOUT)
        ws->mask[i] = take (arena, size);
      else if (layer->kind == NN_LAYER_BATCHNORM)
        {
          ws->mean[i] = take (arena, layer->in_c);
          ws->invstd[i] = take (arena, layer->in_c);
        }
    }

  if (ws->training)
    {
      ws->partials = take (arena, partials * nn_chunk_count (n));
      ws->grad_a = take (arena, (gsize) n * largest);
      ws->grad_b = take (arena, (gsize) n * largest);
      ws->dlogits = take (arena, (gsize) n * NN_CLASSES);
    }
}

NnWorkspace *
nn_workspace_new (const NnModel *model, guint max_batch, gboolean training)
{
  NnWorkspace *ws = g_new0 (NnWorkspace, 1);
  Arena arena = { NULL, 0 };

  g_return_val_if_fail (max_batch > 0, NULL);

  ws->max_batch = max_batch;
  ws->training = training;
  ws->n_scratch = MAX (1, MIN ((guint) nn_get_threads (), max_batch));
  ws->out = g_new0 (float *, model->n_layers);
  ws->argmax = g_new0 (gint32 *, model->n_layers);
  ws->mask = g_new0 (float *, model->n_layers);
  ws->mean = g_new0 (float *, model->n_layers);
  ws->invstd = g_new0 (float *, model->n_layers);

  lay_out_workspace (ws, model, &arena);
  ws->block = g_aligned_alloc0 (MAX (arena.used, 1), sizeof (float), 64);
  arena = (Arena) { ws->block, 0 };
  lay_out_workspace (ws, model, &arena);
  return ws;
}

void
nn_workspace_free (NnWorkspace *ws)
{
  if (ws == NULL)
    return;
  g_aligned_free (ws->block);
  g_free (ws->out);
  g_free (ws->argmax);
  g_free (ws->mask);
  g_free (ws->mean);
  g_free (ws->invstd);
  g_free (ws);
}

/* ---- Passes ------------------------------------------------------------ */

static const float *
layer_input (const NnWorkspace *ws, guint index)
{
  return index == 0 ? ws->input : ws->out[index - 1];
}

const float *
nn_model_forward (NnModel *model, NnWorkspace *ws, guint batch,
                  gboolean training, guint64 dropout_seed)
{
  g_return_val_if_fail (batch >= 1 && batch <= ws->max_batch, NULL);
  g_return_val_if_fail (ws->training || !training, NULL);

  for (guint i = 0; i < model->n_layers; i++)
    {
      const NnLayer *layer = &model->layers[i];
      const float *in = layer_input (ws, i);
      float *out = ws->out[i];
      const float *params = model->params + layer->param_offset;
      const float *bias = params + nn_layer_weight_size (layer);
      float *buffers = model->buffers + layer->buffer_offset;
      gsize size = (gsize) batch * nn_layer_out_size (layer);

      switch (layer->kind)
        {
        case NN_LAYER_CONV:
          nn_conv_forward (layer, batch, in, params, bias, out, ws->scratch, ws->n_scratch);
          break;
        case NN_LAYER_MAXPOOL:
          nn_maxpool_forward (layer, batch, in, out, training ? ws->argmax[i] : NULL);
          break;
        case NN_LAYER_DENSE:
          nn_dense_forward (layer, batch, in, params, bias, out);
          break;
        case NN_LAYER_RELU:
          nn_relu_forward (size, in, out);
          break;
        case NN_LAYER_DROPOUT:
          if (training && layer->rate > 0.0f)
            nn_dropout_forward (nn_layer_out_size (layer), batch, layer->rate,
                                nn_seed_mix (dropout_seed, i), in, out, ws->mask[i]);
          break;
        case NN_LAYER_BATCHNORM:
          if (training)
            nn_batchnorm_forward_train (layer, batch, in, params, bias,
                                        buffers, buffers + layer->in_c,
                                        out, ws->mean[i], ws->invstd[i]);
          else
            nn_batchnorm_forward_infer (layer, batch, in, params, bias,
                                        buffers, buffers + layer->in_c, out);
          break;
        }
    }
  return ws->out[model->n_layers - 1];
}

void
nn_model_backward (NnModel *model, NnWorkspace *ws, guint batch,
                   const float *dlogits, float *grads)
{
  const float *dout = dlogits;
  guint first_trainable = 0;

  g_return_if_fail (ws->training);
  g_return_if_fail (batch >= 1 && batch <= ws->max_batch);

  while (first_trainable < model->n_layers && model->layers[first_trainable].n_params == 0)
    first_trainable++;

  for (guint i = model->n_layers; i-- > first_trainable;)
    {
      const NnLayer *layer = &model->layers[i];
      const float *in = layer_input (ws, i);
      const float *params = model->params + layer->param_offset;
      float *dparams = grads + layer->param_offset;
      float *dbias = dparams + nn_layer_weight_size (layer);
      gsize size = (gsize) batch * nn_layer_out_size (layer);
      /* Layers before the first one with parameters need no gradient. */
      float *din = i > first_trainable ? (dout == ws->grad_a ? ws->grad_b : ws->grad_a) : NULL;

      switch (layer->kind)
        {
        case NN_LAYER_CONV:
          nn_conv_backward (layer, batch, in, dout, params, dparams, dbias, din,
                            ws->scratch, ws->n_scratch, ws->partials);
          break;
        case NN_LAYER_MAXPOOL:
          nn_maxpool_backward (layer, batch, dout, ws->argmax[i], din);
          break;
        case NN_LAYER_DENSE:
          nn_dense_backward (layer, batch, in, dout, params, dparams, dbias, din);
          break;
        case NN_LAYER_RELU:
          nn_relu_backward (size, ws->out[i], dout, din);
          break;
        case NN_LAYER_DROPOUT:
          if (layer->rate > 0.0f)
            nn_dropout_backward (size, ws->mask[i], dout, din);
          else
            din = (float *) dout;
          break;
        case NN_LAYER_BATCHNORM:
          nn_batchnorm_backward (layer, batch, in, dout, params,
                                 ws->mean[i], ws->invstd[i], dparams, dbias, din);
          break;
        }
      dout = din;
    }
}

/* ---- Inference --------------------------------------------------------- */

static NnWorkspace *
inference_workspace (NnModel *model)
{
  NnWorkspace *ws = model->inference;

  /* Made again only if more threads were asked for since. */
  if (ws != NULL && ws->n_scratch < MIN ((guint) nn_get_threads (), ws->max_batch))
    g_clear_pointer (&model->inference, nn_workspace_free);
  if (model->inference == NULL)
    model->inference = nn_workspace_new (model, INFERENCE_BATCH, FALSE);
  return model->inference;
}

void
nn_model_predict (NnModel *model, const float *images, guint n, float *probs)
{
  NnWorkspace *ws;

  g_return_if_fail (model != NULL);
  g_return_if_fail (n == 0 || (images != NULL && probs != NULL));

  ws = inference_workspace (model);
  for (guint start = 0; start < n; start += ws->max_batch)
    {
      guint count = MIN (ws->max_batch, n - start);
      const float *logits;

      memcpy (ws->input, images + (gsize) start * NN_IMAGE_PIXELS,
              (gsize) count * NN_IMAGE_PIXELS * sizeof (float));
      logits = nn_model_forward (model, ws, count, FALSE, 0);
      nn_softmax (count, logits, probs + (gsize) start * NN_CLASSES);
    }
}

double
nn_model_evaluate (NnModel *model, const NnDataset *dataset,
                   guint confusion[NN_CLASSES][NN_CLASSES])
{
  NnWorkspace *ws;
  const gsize pixels = (gsize) dataset->rows * dataset->cols;
  guint correct = 0;

  g_return_val_if_fail (model != NULL, 0.0);
  g_return_val_if_fail (dataset != NULL, 0.0);
  g_return_val_if_fail (pixels == NN_IMAGE_PIXELS, 0.0);

  if (confusion != NULL)
    memset (confusion, 0, sizeof (guint) * NN_CLASSES * NN_CLASSES);
  if (dataset->count == 0)
    return 0.0;

  ws = inference_workspace (model);
  for (guint start = 0; start < dataset->count; start += ws->max_batch)
    {
      guint count = MIN (ws->max_batch, dataset->count - start);
      const float *logits;

      nn_bytes_to_floats (dataset->images + (gsize) start * pixels, count * pixels, ws->input);
      logits = nn_model_forward (model, ws, count, FALSE, 0);
      for (guint b = 0; b < count; b++)
        {
          const float *row = logits + b * NN_CLASSES;
          guint label = dataset->labels[start + b], best = 0;

          for (guint k = 1; k < NN_CLASSES; k++)
            if (row[k] > row[best])
              best = k;
          correct += best == label;
          if (confusion != NULL && label < NN_CLASSES)
            confusion[label][best]++;
        }
    }
  return (double) correct / dataset->count;
}

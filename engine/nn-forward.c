/* nn-forward.c — running a model: workspaces, forward, backward, predict.
 *
 * A workspace holds every buffer a pass writes, allocated once for a
 * maximum batch so that nothing is allocated while training. Each layer
 * has its own output (ReLU and dropout work in place, adding nothing):
 * the backward pass needs them, and images going through a run of layers
 * at different paces (below) must not share buffers.
 *
 * Layers that work on each image alone (convolution, ReLU, pooling,
 * dropout) are run together: a run of them is one job for the threads of
 * nn-team.h, in which each thread takes whole images through every layer
 * of the run (chunks of images, backward), so an image's activations are
 * still in cache from one layer to the next and the threads meet once per
 * run rather than once per layer. A ReLU after a convolution is applied as the
 * convolution stores its output.
 *
 * A convolution followed by a ReLU and a pooling is "staged": its output
 * is only the pooling's input (the backward pass takes the ReLU's mask
 * from the pooled values), so each image's goes to a buffer of the
 * thread, one image long, and is pooled at once. Written to the batch's
 * buffer instead, a first layer's 6 MB of output would stream out of the
 * cache on every pass. Likewise the backward pass takes each chunk of
 * images one image at a time through the run, the gradients between its
 * layers passing through two one-image buffers of the thread.
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

gboolean
nn_model_layer_staged (const NnModel *model, guint i)
{
  return i + 2 < model->n_layers && model->layers[i].kind == NN_LAYER_CONV
         && model->layers[i + 1].kind == NN_LAYER_RELU
         && model->layers[i + 2].kind == NN_LAYER_MAXPOOL;
}

static void
lay_out_workspace (NnWorkspace *ws, const NnModel *model, Arena *arena)
{
  const guint n = ws->max_batch;
  gsize largest = NN_IMAGE_PIXELS, scratch = 0, partials = 0;
  float *previous;

  ws->stage_size = 0;
  for (guint i = 0; i < model->n_layers; i++)
    {
      const NnLayer *layer = &model->layers[i];

      largest = MAX (largest, nn_layer_out_size (layer));
      if (layer->kind == NN_LAYER_CONV)
        {
          scratch = MAX (scratch, nn_conv_scratch_size (layer));
          partials = MAX (partials, nn_conv_partials_size (layer));
        }
      if (nn_model_layer_staged (model, i))
        ws->stage_size = MAX (ws->stage_size, (nn_layer_out_size (layer) + 15) & ~(gsize) 15);
    }

  ws->largest = largest;
  ws->input = take (arena, (gsize) n * NN_IMAGE_PIXELS);
  ws->scratch = take (arena, scratch * ws->n_scratch);
  ws->stages = take (arena, ws->stage_size * ws->n_scratch);
  if (ws->training)
    ws->chains = take (arena, 2 * largest * ws->n_scratch);
  for (guint i = 0; i < model->n_layers; i++)
    if (model->layers[i].kind == NN_LAYER_CONV)
      {
        ws->packed[i] = take (arena, nn_conv_packed_size (&model->layers[i]));
        ws->share_size = MAX (ws->share_size, nn_conv_share_size (&model->layers[i]));
        if (ws->training)
          ws->conv_partials[i] = take (arena, nn_conv_partials_size (&model->layers[i])
                                              * nn_chunk_count (n));
      }
  previous = ws->input;
  for (guint i = 0; i < model->n_layers; i++)
    {
      const NnLayer *layer = &model->layers[i];
      gsize size = (gsize) n * nn_layer_out_size (layer);

      /* A staged convolution's output (and its ReLU's) has no buffer. */
      if (nn_model_layer_staged (model, i))
        ws->out[i] = NULL;
      else
        ws->out[i] = works_in_place (layer) ? previous : take (arena, size);
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
      for (guint g = 0; g < G_N_ELEMENTS (ws->grads); g++)
        ws->grads[g] = take (arena, (gsize) n * largest);
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
  ws->packed = g_new0 (float *, model->n_layers);
  ws->packed_for = g_new (guint64, model->n_layers);
  for (guint i = 0; i < model->n_layers; i++)
    ws->packed_for[i] = G_MAXUINT64;
  ws->conv_partials = g_new0 (float *, model->n_layers);
  ws->douts = g_new0 (const float *, model->n_layers);
  ws->dins = g_new0 (float *, model->n_layers);
  ws->dout_strides = g_new0 (gsize, model->n_layers);
  ws->din_strides = g_new0 (gsize, model->n_layers);

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
  g_free (ws->packed);
  g_free (ws->packed_for);
  g_free (ws->conv_partials);
  g_free (ws->douts);
  g_free (ws->dins);
  g_free (ws->dout_strides);
  g_free (ws->din_strides);
  g_free (ws);
}

/* ---- Passes ------------------------------------------------------------ */

static const float *
layer_input (const NnWorkspace *ws, guint index)
{
  return index == 0 ? ws->input : ws->out[index - 1];
}

static gboolean
per_image (const NnLayer *layer)
{
  return layer->kind == NN_LAYER_CONV || layer->kind == NN_LAYER_MAXPOOL
         || layer->kind == NN_LAYER_RELU || layer->kind == NN_LAYER_DROPOUT;
}

/* The end of the run of per-image layers that starts at @first. */
static guint
run_end (const NnModel *model, guint first)
{
  guint last = first;

  while (last < model->n_layers && per_image (&model->layers[last]))
    last++;
  return last;
}

/* A ReLU right after a convolution is applied by the convolution. */
static gboolean
fused_relu (const NnModel *model, guint index, guint last)
{
  return model->layers[index].kind == NN_LAYER_CONV && index + 1 < last
         && model->layers[index + 1].kind == NN_LAYER_RELU;
}

/* Multiply-adds (or elements touched) of a run on @batch images: below
 * NN_PARALLEL_MIN_WORK it stays on one thread. */
static double
run_work (const NnModel *model, guint first, guint last, guint batch)
{
  double work = 0.0;

  for (guint i = first; i < last; i++)
    {
      const NnLayer *layer = &model->layers[i];

      work += (double) batch * nn_layer_out_size (layer)
              * (layer->kind == NN_LAYER_CONV ? layer->in_c * layer->kernel * layer->kernel : 1);
    }
  return work;
}

/* Layer @i on image @b, with @share and @stage the thread's conv scratch
 * and stage. Returns the layers done: 2 when a ReLU was fused, 3 when a
 * ReLU and a pooling were. */
static guint
forward_image (NnModel *model, NnWorkspace *ws, guint i, guint last, guint b,
               gboolean training, guint64 dropout_seed, float *share, float *stage)
{
  const NnLayer *layer = &model->layers[i];
  const gsize in_size = nn_layer_in_size (layer), out_size = nn_layer_out_size (layer);
  const float *in = layer_input (ws, i) + b * in_size;
  const float *params = model->params + layer->param_offset;

  switch (layer->kind)
    {
    case NN_LAYER_CONV:
      {
        gboolean relu = fused_relu (model, i, last);

        if (nn_model_layer_staged (model, i))
          {
            const NnLayer *pool = &model->layers[i + 2];
            const gsize pooled = nn_layer_out_size (pool);

            nn_conv_forward_rows (layer, in, params, ws->packed[i],
                                  params + nn_layer_weight_size (layer), TRUE, stage, share,
                                  0, layer->out_h);
            nn_maxpool_forward_planes (pool, stage, ws->out[i + 2] + b * pooled,
                                       training ? ws->argmax[i + 2] + b * pooled : NULL,
                                       0, pool->in_c);
            return 3;
          }
        nn_conv_forward_rows (layer, in, params, ws->packed[i],
                              params + nn_layer_weight_size (layer), relu,
                              ws->out[i] + b * out_size, share, 0, layer->out_h);
        return relu ? 2 : 1;
      }
    case NN_LAYER_MAXPOOL:
      nn_maxpool_forward_planes (layer, layer_input (ws, i), ws->out[i],
                                 training ? ws->argmax[i] : NULL,
                                 (gsize) b * layer->in_c, (gsize) (b + 1) * layer->in_c);
      return 1;
    case NN_LAYER_RELU:
      nn_relu_forward_serial (out_size, in, ws->out[i] + b * out_size);
      return 1;
    case NN_LAYER_DROPOUT:
      if (training && layer->rate > 0.0f)
        nn_dropout_forward_image (out_size, b, layer->rate, nn_seed_mix (dropout_seed, i),
                                  in, ws->out[i] + b * out_size, ws->mask[i] + b * out_size);
      return 1;
    default:
      g_assert_not_reached ();
    }
}

typedef struct {
  NnModel      *model;
  NnWorkspace  *ws;
  guint         first, last, batch;
  gboolean      training;
  guint64       dropout_seed;
  float        *grads;
  gboolean      pack;       /* the run's conv weights need packing */
  gboolean      shared;     /* the threads share each image */
  NnTeamCounter next;
} RunJob;

/* Multiply-adds of one image's pass through a run from which, with fewer
 * images than threads, the threads share each image (bench-cnn's first
 * run: 10.7 million; the default model's second and fourth: 7.2 million).
 * Below it one thread takes each image: on a desktop shared with other
 * programs, threads that meet after every layer of a pass of a few tens
 * of microseconds wait for each other longer than the work they share. */
#define SPLIT_IMAGE_MIN_WORK 4e6

/* Threads for a run that hands out whole images: no more than there are
 * images. */
static guint
run_threads (const NnModel *model, const NnWorkspace *ws, guint first, guint last,
             guint batch, double factor)
{
  if (factor * run_work (model, first, last, batch) < 4.0 * NN_PARALLEL_MIN_WORK)
    return 1;
  return MIN (ws->n_scratch, batch);
}

/* Layer @i of image @b, the threads of @me's job sharing it (inference
 * only): a convolution by output rows, into the batch's buffer or, when
 * staged, into thread 0's stage, which they then pool by channel; a
 * pooling by channel; a ReLU by element. They meet after each, so that
 * the next layer finds its whole input. Every value is computed as when
 * one thread takes the whole image. Returns the layers done. */
static guint
forward_image_shared (NnModel *model, NnWorkspace *ws, const NnTeamMember *me, guint i,
                      guint last, guint b, float *share)
{
  const NnLayer *layer = &model->layers[i];
  const gsize in_size = nn_layer_in_size (layer), out_size = nn_layer_out_size (layer);
  const float *in = layer_input (ws, i) + b * in_size;
  const float *params = model->params + layer->param_offset;
  guint done = 1;
  gsize first, end;

  switch (layer->kind)
    {
    case NN_LAYER_CONV:
      {
        const float *bias = params + nn_layer_weight_size (layer);

        nn_team_split (me, layer->out_h, &first, &end);
        if (nn_model_layer_staged (model, i))
          {
            const NnLayer *pool = &model->layers[i + 2];
            const gsize pooled = nn_layer_out_size (pool);

            nn_conv_forward_rows (layer, in, params, ws->packed[i], bias, TRUE, ws->stages,
                                  share, (guint) first, (guint) end);
            nn_team_barrier (me);
            nn_team_split (me, pool->in_c, &first, &end);
            nn_maxpool_forward_planes (pool, ws->stages, ws->out[i + 2] + b * pooled, NULL,
                                       first, end);
            done = 3;
          }
        else
          {
            gboolean relu = fused_relu (model, i, last);

            nn_conv_forward_rows (layer, in, params, ws->packed[i], bias, relu,
                                  ws->out[i] + b * out_size, share, (guint) first, (guint) end);
            done = relu ? 2 : 1;
          }
        break;
      }
    case NN_LAYER_MAXPOOL:
      nn_team_split (me, layer->in_c, &first, &end);
      nn_maxpool_forward_planes (layer, layer_input (ws, i), ws->out[i], NULL,
                                 (gsize) b * layer->in_c + first, (gsize) b * layer->in_c + end);
      break;
    case NN_LAYER_RELU:
      nn_team_split (me, out_size, &first, &end);
      nn_relu_forward_serial (end - first, in + first, ws->out[i] + b * out_size + first);
      break;
    case NN_LAYER_DROPOUT:
      /* Nothing to do outside training. */
      return 1;
    default:
      g_assert_not_reached ();
    }
  nn_team_barrier (me);
  return done;
}

/* Whole images to each thread, or, with @job->shared, every image shared
 * by all of them. */
static void
forward_run_work (const NnTeamMember *me, gpointer data)
{
  RunJob *job = data;
  NnModel *model = job->model;
  NnWorkspace *ws = job->ws;
  float *share = ws->scratch + me->index * ws->share_size;
  float *stage = ws->stages + me->index * ws->stage_size;
  guint b;

  /* The threads of @me's job pack the run's conv weights, when they need it. */
  for (guint i = job->first; i < job->last && job->pack; i++)
    if (model->layers[i].kind == NN_LAYER_CONV)
      nn_conv_pack_forward (me, &model->layers[i], model->params + model->layers[i].param_offset,
                            ws->packed[i]);

  if (job->shared)
    for (b = 0; b < job->batch; b++)
      for (guint i = job->first; i < job->last;)
        i += forward_image_shared (model, ws, me, i, job->last, b, share);
  else
    while (nn_team_take_from_ends (&job->next, job->batch, me, &b))
      for (guint i = job->first; i < job->last;)
        i += forward_image (model, ws, i, job->last, b, job->training, job->dropout_seed, share,
                            stage);
}

/* Layers [first, last), all per image, on @batch images. */
static void
forward_run (NnModel *model, NnWorkspace *ws, guint first, guint last, guint batch,
             gboolean training, guint64 dropout_seed)
{
  RunJob job = { model, ws, first, last, batch, training, dropout_seed, NULL, FALSE, FALSE,
                 { 0 } };

  /* Training changes the weights between passes; an inference workspace
   * keeps them packed until they change (a prediction on the canvas
   * would otherwise spend a tenth of its time packing). */
  for (guint i = first; i < last; i++)
    if (model->layers[i].kind == NN_LAYER_CONV
        && (ws->training || ws->packed_for[i] != model->weights_version))
      job.pack = TRUE;
  job.shared = !training && batch < ws->n_scratch
               && run_work (model, first, last, 1) >= SPLIT_IMAGE_MIN_WORK;
  nn_team_run (job.shared ? ws->n_scratch : run_threads (model, ws, first, last, batch, 1.0),
               forward_run_work, &job);
  if (!ws->training)
    for (guint i = first; i < last; i++)
      ws->packed_for[i] = model->weights_version;
}

/* One layer that works on the whole batch at once. */
static void
forward_layer (NnModel *model, NnWorkspace *ws, guint i, guint batch,
               gboolean training)
{
  const NnLayer *layer = &model->layers[i];
  const float *in = layer_input (ws, i);
  float *out = ws->out[i];
  const float *params = model->params + layer->param_offset;
  const float *bias = params + nn_layer_weight_size (layer);
  float *buffers = model->buffers + layer->buffer_offset;

  switch (layer->kind)
    {
    case NN_LAYER_DENSE:
      nn_dense_forward (layer, batch, in, params, bias, out);
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
    default:
      g_assert_not_reached ();
    }
}

const float *
nn_model_forward (NnModel *model, NnWorkspace *ws, guint batch,
                  gboolean training, guint64 dropout_seed)
{
  g_return_val_if_fail (batch >= 1 && batch <= ws->max_batch, NULL);
  g_return_val_if_fail (ws->training || !training, NULL);

  for (guint i = 0; i < model->n_layers;)
    {
      guint last = run_end (model, i);

      if (last > i)
        {
          forward_run (model, ws, i, last, batch, training, dropout_seed);
          i = last;
        }
      else
        forward_layer (model, ws, i++, batch, training);
    }
  return ws->out[model->n_layers - 1];
}

/* A ReLU right before a pooling layer takes its backward pass with it. */
static gboolean
fused_relu_backward (const NnModel *model, guint index, guint first)
{
  return model->layers[index].kind == NN_LAYER_MAXPOOL && index > first
         && model->layers[index - 1].kind == NN_LAYER_RELU;
}

/* The backward pass of layer @i, and of the ReLU before it when fused, on
 * image @b of chunk @chunk: from @dy to @dx. A convolution adds its
 * weight gradient to the chunk's partial sums, which it starts afresh
 * unless @accumulate. */
static void
backward_image (NnModel *model, NnWorkspace *ws, guint i, gboolean fused, guint b,
                guint chunk, gboolean accumulate, const float *dy, float *dx, float *share)
{
  const NnLayer *layer = &model->layers[i];
  const gsize out_size = nn_layer_out_size (layer), in_size = nn_layer_in_size (layer);

  switch (layer->kind)
    {
    case NN_LAYER_CONV:
      nn_conv_backward_images (layer, b, b + 1, accumulate, layer_input (ws, i), dy, 0,
                               ws->packed[i],
                               ws->conv_partials[i] + chunk * nn_conv_partials_size (layer),
                               dx, 0, share);
      break;
    case NN_LAYER_MAXPOOL:
      nn_maxpool_relu_backward_planes (layer, dy, ws->argmax[i] + b * out_size,
                                       fused ? ws->out[i] + b * out_size : NULL,
                                       dx, 0, layer->in_c);
      break;
    case NN_LAYER_RELU:
      nn_relu_backward_serial (out_size, ws->out[i] + b * out_size, dy, dx);
      break;
    case NN_LAYER_DROPOUT:
      if (layer->rate > 0.0f)
        nn_dropout_backward_serial (out_size, ws->mask[i] + b * out_size, dy, dx);
      else
        memcpy (dx, dy, in_size * sizeof (float));
      break;
    default:
      g_assert_not_reached ();
    }
}

static void
backward_run_work (const NnTeamMember *me, gpointer data)
{
  RunJob *job = data;
  NnModel *model = job->model;
  NnWorkspace *ws = job->ws;
  float *share = ws->scratch + me->index * ws->share_size;
  float *chain = ws->chains + me->index * 2 * ws->largest;
  const guint top = job->last - 1, n_chunks = nn_chunk_count (job->batch);
  guint chunk;

  /* Every layer of a run but its bottom one passes a gradient down. */
  for (guint i = job->first; i < job->last; i++)
    if (model->layers[i].kind == NN_LAYER_CONV && (i > job->first || ws->dins[i] != NULL))
      nn_conv_pack_backward (me, &model->layers[i], model->params + model->layers[i].param_offset,
                             ws->packed[i], share);

  while (nn_team_take_from_ends (&job->next, n_chunks, me, &chunk))
    {
      guint first = nn_chunk_start (job->batch, n_chunks, chunk);
      guint last = nn_chunk_start (job->batch, n_chunks, chunk + 1);

      for (guint b = first; b < last; b++)
        {
          const float *dy = ws->douts[top] + b * ws->dout_strides[top];
          guint slot = 0;

          for (guint i = job->last; i-- > job->first;)
            {
              gboolean fused = fused_relu_backward (model, i, job->first);
              guint lowest = fused ? i - 1 : i;
              float *dx = chain + slot * ws->largest;

              /* The run's own input gradient goes to the batch's buffer. */
              if (lowest == job->first)
                dx = ws->dins[lowest] != NULL ? ws->dins[lowest] + b * ws->din_strides[lowest]
                                              : NULL;
              backward_image (model, ws, i, fused, b, chunk, b > first, dy, dx, share);
              dy = dx;
              slot ^= 1;
              i = lowest;
            }
        }
    }
  nn_team_barrier (me);

  for (guint i = job->first; i < job->last; i++)
    if (model->layers[i].kind == NN_LAYER_CONV)
      {
        const NnLayer *layer = &model->layers[i];
        float *dparams = job->grads + layer->param_offset;

        nn_conv_reduce (me, layer, job->batch, ws->conv_partials[i], dparams,
                        dparams + nn_layer_weight_size (layer));
      }
}

/* Layers [first, last), all per image, backward. */
static void
backward_run (NnModel *model, NnWorkspace *ws, guint first, guint last, guint batch,
              float *grads)
{
  RunJob job = { model, ws, first, last, batch, TRUE, 0, grads, FALSE, FALSE, { 0 } };

  nn_team_run (run_threads (model, ws, first, last, batch, 2.0), backward_run_work, &job);
}

/* One layer that works on the whole batch at once, backward. */
static void
backward_layer (NnModel *model, NnWorkspace *ws, guint i, guint batch,
                const float *dout, float *din, float *grads)
{
  const NnLayer *layer = &model->layers[i];
  const float *in = layer_input (ws, i);
  const float *params = model->params + layer->param_offset;
  float *dparams = grads + layer->param_offset;
  float *dbias = dparams + nn_layer_weight_size (layer);

  switch (layer->kind)
    {
    case NN_LAYER_DENSE:
      nn_dense_backward (layer, batch, in, dout, params, dparams, dbias, din);
      break;
    case NN_LAYER_BATCHNORM:
      nn_batchnorm_backward (layer, batch, in, dout, params,
                             ws->mean[i], ws->invstd[i], dparams, dbias, din);
      break;
    default:
      g_assert_not_reached ();
    }
}

/* The first of the workspace's gradient buffers that is not @a. */
static float *
free_buffer (NnWorkspace *ws, const float *a)
{
  for (guint g = 0; g < G_N_ELEMENTS (ws->grads); g++)
    if (ws->grads[g] != a)
      return ws->grads[g];
  g_assert_not_reached ();
}

/* Where each layer from @first_trainable up that takes the whole batch
 * reads its output gradient and writes its input gradient, image after
 * image; and where each run of per-image layers reads its incoming
 * gradient (at its top layer) and writes its outgoing one (at its bottom
 * layer). The gradients inside a run go through the threads' chains.
 * Layers before the first one with parameters need none. */
static void
assign_gradients (NnModel *model, NnWorkspace *ws, const float *dlogits, guint first_trainable)
{
  const float *dout = dlogits;
  gsize dout_stride = NN_CLASSES;

  for (guint top = model->n_layers; top-- > first_trainable;)
    {
      guint bottom = top;
      float *outgoing;

      if (per_image (&model->layers[top]))
        while (bottom > first_trainable && per_image (&model->layers[bottom - 1]))
          bottom--;

      /* Not the buffer the output gradient is in: */
      outgoing = bottom == first_trainable ? NULL : free_buffer (ws, dout);
      ws->douts[top] = dout;
      ws->dout_strides[top] = dout_stride;
      ws->dins[bottom] = outgoing;
      ws->din_strides[bottom] = outgoing != NULL ? nn_layer_in_size (&model->layers[bottom]) : 0;
      dout = outgoing;
      dout_stride = ws->din_strides[bottom];
      top = bottom;
    }
}

void
nn_model_backward (NnModel *model, NnWorkspace *ws, guint batch,
                   const float *dlogits, float *grads)
{
  guint first_trainable = 0;

  g_return_if_fail (ws->training);
  g_return_if_fail (batch >= 1 && batch <= ws->max_batch);

  while (first_trainable < model->n_layers && model->layers[first_trainable].n_params == 0)
    first_trainable++;
  if (first_trainable == model->n_layers)
    return;
  assign_gradients (model, ws, dlogits, first_trainable);

  for (guint top = model->n_layers; top-- > first_trainable;)
    {
      guint bottom = top;

      if (per_image (&model->layers[top]))
        {
          while (bottom > first_trainable && per_image (&model->layers[bottom - 1]))
            bottom--;
          backward_run (model, ws, bottom, top + 1, batch, grads);
        }
      else
        backward_layer (model, ws, top, batch, ws->douts[top], ws->dins[top], grads);
      top = bottom;
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

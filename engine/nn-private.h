/* nn-private.h — the engine's internals: layers, models, workspaces.
 *
 * Shared by the engine's own files and by the tests that check layers one
 * by one; the app and the CLI never include it. Every layer is a pair of
 * functions, forward and backward, over plain float buffers whose shapes are
 * spelt out in an NnLayer. Activations are NCHW; a dense layer's input is
 * flattened in C, H, W order, as PyTorch does.
 */
#pragma once

#include "nn.h"
#include "nn-team.h"

#ifndef _OPENMP
/* Built without OpenMP (a supported configuration): the loops of the few
 * files that still use it run on one thread, and their pragmas are meant
 * to be skipped silently. */
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
#endif

G_BEGIN_DECLS

/* ---- Threads ----------------------------------------------------------- */

/* Elements touched (or multiply-adds done) below which a loop runs on one
 * thread: starting and joining threads costs microseconds, far more when
 * the machine is busy and a thread must wait to be scheduled. Results do
 * not change, only where they are computed. The engine's own loops run on
 * the threads of nn-team.h. */
#define NN_PARALLEL_MIN_WORK (1 << 16)

/* Work is split into this many fixed chunks of a batch wherever per-chunk
 * partial sums are needed (convolution weight gradients). The number does
 * not depend on the thread count, so neither do the sums. */
#define NN_CHUNKS 16

/* Images [0, @batch) in @n_chunks chunks that shrink from first to last,
 * every one at least an image: one image plus a share of the rest that
 * falls linearly with @chunk, rounded. The first image of @chunk. */
static inline guint
nn_shrinking_chunk_start (guint batch, guint n_chunks, guint chunk)
{
  guint64 extra = batch - n_chunks, all = (guint64) n_chunks * n_chunks;
  guint64 left = n_chunks - chunk;

  return chunk + (guint) ((extra * (all - left * left) + all / 2) / all);
}

/* The first image of chunk @chunk out of @n_chunks over @batch images.
 * Chunks shrink from both ends towards the middle (64 images: 7, 6, 5, 4,
 * 4, 3, 2, 1, then 1, 2, 3, 4, 4, 5, 6, 7), where the threads, taking
 * them from both ends (nn_team_take_from_ends), meet: the one that
 * finishes first then waits at most for a small chunk, where equal chunks
 * of 4 left it waiting half of one on average (6% of bench-cnn's backward
 * pass on 2 threads). */
static inline guint
nn_chunk_start (guint batch, guint n_chunks, guint chunk)
{
  guint front = (n_chunks + 1) / 2, front_images = batch * front / n_chunks;

  if (chunk <= front)
    return nn_shrinking_chunk_start (front_images, front, chunk);
  return batch - nn_shrinking_chunk_start (batch - front_images, n_chunks - front,
                                           n_chunks - chunk);
}

static inline guint
nn_chunk_count (guint batch)
{
  return MIN (batch, NN_CHUNKS);
}

/* Loops compiled for AVX-512 and AVX2 too, the copy for the CPU chosen
 * when the program loads (plain vector code outside nn-tile.c). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NN_WIDE_VECTORS __attribute__ ((target_clones ("avx512f", "avx2", "default")))
#else
#define NN_WIDE_VECTORS
#endif

/* For loops that copy or clear a few floats at a time (im2col, packing):
 * GCC would otherwise turn each into a call to memcpy or memset, which for
 * rows of 5 to 28 floats costs more than the copy. */
#if defined(__GNUC__) && !defined(__clang__)
#define NN_INLINE_COPIES __attribute__ ((optimize ("no-tree-loop-distribute-patterns")))
#else
#define NN_INLINE_COPIES
#endif

/* ---- Random numbers ---------------------------------------------------- */

/* A well-mixed 64-bit value from two inputs: derives independent seeds
 * (per image, per layer, per step) from one run seed. */
guint64 nn_seed_mix (guint64 a, guint64 b);

/* ---- Architectures ----------------------------------------------------- */

typedef enum {
  NN_LAYER_CONV,
  NN_LAYER_MAXPOOL,
  NN_LAYER_DENSE,
  NN_LAYER_RELU,
  NN_LAYER_DROPOUT,
  NN_LAYER_BATCHNORM,
} NnLayerKind;

/* One layer with the shapes it sees. A flat (dense) activation of F
 * features is the shape F x 1 x 1, so batchnorm after a dense layer is
 * per-feature and after a convolution per-channel with the same code. */
typedef struct {
  NnLayerKind kind;
  guint       kernel;      /* conv: side of the square kernel (odd) */
  guint       pad;         /* conv: (kernel - 1) / 2 for "same", 0 for "valid" */
  guint       units;       /* conv: output channels; dense: outputs */
  float       rate;        /* dropout: probability of dropping */
  gboolean    flat;        /* the output is a feature vector (after dense) */

  guint in_c, in_h, in_w;
  guint out_c, out_h, out_w;

  gsize n_params;          /* trainable floats: weight then bias */
  gsize n_buffers;         /* batchnorm: running mean then running var */
  gsize param_offset;      /* into NnModel.params (set by the model) */
  gsize buffer_offset;     /* into NnModel.buffers */
} NnLayer;

static inline gsize
nn_layer_in_size (const NnLayer *layer)
{
  return (gsize) layer->in_c * layer->in_h * layer->in_w;
}

static inline gsize
nn_layer_out_size (const NnLayer *layer)
{
  return (gsize) layer->out_c * layer->out_h * layer->out_w;
}

/* Floats in a conv or dense weight (the bias follows it). */
gsize   nn_layer_weight_size (const NnLayer *layer);

/* Parses @spec_or_preset into layers with their shapes and parameter counts
 * (offsets left at 0). @canonical receives the canonical spec text. */
NnLayer *nn_spec_parse (const char *spec_or_preset,
                        guint      *n_layers,
                        char      **canonical,
                        GError    **error);
/* The layer as its canonical spec word ("conv3x3:16:valid"). */
char    *nn_layer_to_word (const NnLayer *layer);

/* ---- Layers ------------------------------------------------------------ */

/* Convolution, stride 1, on the tiles of nn-tile.h (see nn-conv.c).
 * @scratch holds nn_conv_scratch_size() floats for each of @n_scratch
 * threads (at most that many threads run); @partials
 * nn_conv_partials_size() floats for each of nn_chunk_count (batch)
 * chunks. Gradients are added to @dweight and @dbias; @din may be NULL
 * (first layer). nn_conv_forward_full can apply a ReLU to its output,
 * which is then what a ReLU layer after it would have made. */
gsize nn_conv_scratch_size  (const NnLayer *layer);
gsize nn_conv_partials_size (const NnLayer *layer);
void  nn_conv_forward  (const NnLayer *layer, guint batch,
                        const float *in, const float *weight, const float *bias,
                        float *out, float *scratch, guint n_scratch);
void  nn_conv_forward_full (const NnLayer *layer, guint batch,
                            const float *in, const float *weight, const float *bias,
                            float *out, float *scratch, guint n_scratch, gboolean relu);
void  nn_conv_backward (const NnLayer *layer, guint batch,
                        const float *in, const float *dout, const float *weight,
                        float *dweight, float *dbias, float *din,
                        float *scratch, guint n_scratch, float *partials);
/* The same as nn-forward.c runs a "staged" convolution (a ReLU and a
 * pooling follow it): each image's output, with the ReLU, goes to a
 * buffer of the thread computing it, one image long, and is used at once,
 * so that it never leaves the cache; its output gradient is read from
 * such a buffer and its input gradient written to one. @stage,
 * @dout_stage and @din_stage hold one image per thread. The profiler
 * times staged layers with these. */
void  nn_conv_forward_staged  (const NnLayer *layer, guint batch,
                               const float *in, const float *weight, const float *bias,
                               float *stage, float *scratch, guint n_scratch);
void  nn_conv_backward_staged (const NnLayer *layer, guint batch,
                               const float *in, const float *dout_stage, const float *weight,
                               float *dweight, float *dbias, float *din_stage,
                               float *scratch, guint n_scratch, float *partials);

/* The same in pieces, for a caller that runs several layers image by image
 * in one job of the team (nn-forward.c). @packed holds
 * nn_conv_packed_size() floats of weights prepared for the kernels, made
 * by nn_conv_pack_forward (and nn_conv_pack_backward for input gradients)
 * whenever the weights change; @share is one thread's
 * nn_conv_share_size() floats. Every thread of @me's job must call the
 * pack and reduce functions, which share the work and end at a barrier
 * (NN_TEAM_SOLO outside a job). */
gsize nn_conv_packed_size   (const NnLayer *layer);
gsize nn_conv_share_size    (const NnLayer *layer);
void  nn_conv_pack_forward  (const NnTeamMember *me, const NnLayer *layer,
                             const float *weight, float *packed);
void  nn_conv_pack_backward (const NnTeamMember *me, const NnLayer *layer,
                             const float *weight, float *packed, float *share);
/* Output rows [y0, y1) of one image. */
void  nn_conv_forward_rows  (const NnLayer *layer, const float *in, const float *weight,
                             const float *packed, const float *bias, gboolean relu,
                             float *out, float *share, guint y0, guint y1);
/* Images [first, last) of a chunk of nn_chunk_count (batch): their
 * gradients into @partial (that chunk's nn_conv_partials_size() floats),
 * added to it when @accumulate, and their input gradients into @din (may
 * be NULL). Image b is at in + b nn_layer_in_size(), its gradients at
 * dout + b dout_stride and din + b din_stride. Taking a chunk image by
 * image, accumulating after the first, gives the same sums as all at
 * once. */
void  nn_conv_backward_images (const NnLayer *layer, guint first, guint last,
                               gboolean accumulate, const float *in,
                               const float *dout, gsize dout_stride,
                               const float *packed, float *partial,
                               float *din, gsize din_stride, float *share);
/* Adds every chunk's partial sums to @dweight and @dbias, in chunk order. */
void  nn_conv_reduce        (const NnTeamMember *me, const NnLayer *layer, guint batch,
                             float *partials, float *dweight, float *dbias);

/* 2x2 max-pooling, stride 2, floor. @argmax (one per output, may be NULL
 * when not training) records which input won, for the backward pass. */
void  nn_maxpool_forward  (const NnLayer *layer, guint batch,
                           const float *in, float *out, gint32 *argmax);
void  nn_maxpool_backward (const NnLayer *layer, guint batch,
                           const float *dout, const gint32 *argmax, float *din);
/* Planes [first, last) of the batch only (plane p: image p / C, channel
 * p % C), on the calling thread. */
void  nn_maxpool_forward_planes  (const NnLayer *layer, const float *in, float *out,
                                  gint32 *argmax, gsize first, gsize last);
void  nn_maxpool_backward_planes (const NnLayer *layer, const float *dout,
                                  const gint32 *argmax, float *din, gsize first, gsize last);
/* The backward passes of a ReLU and the pooling after it in one, given the
 * pooling's output. */
void  nn_maxpool_relu_backward_planes (const NnLayer *layer, const float *dout,
                                       const gint32 *argmax, const float *pooled,
                                       float *din, gsize first, gsize last);

/* Fully connected: out[b, o] = sum_i in[b, i] * weight[o, i] + bias[o]. */
void  nn_dense_forward  (const NnLayer *layer, guint batch,
                         const float *in, const float *weight, const float *bias,
                         float *out);
void  nn_dense_backward (const NnLayer *layer, guint batch,
                         const float *in, const float *dout, const float *weight,
                         float *dweight, float *dbias, float *din);

/* ReLU; @in and @out (@dout and @din) may be the same buffer. The backward
 * pass reads the forward output: out > 0 exactly where in > 0. */
void  nn_relu_forward  (gsize n, const float *in, float *out);
void  nn_relu_backward (gsize n, const float *out, const float *dout, float *din);
void  nn_relu_forward_serial  (gsize n, const float *in, float *out);
void  nn_relu_backward_serial (gsize n, const float *out, const float *dout, float *din);

/* Inverted dropout (training only): @mask receives 0 or 1 / (1 - rate) per
 * element, drawn per image from nn_seed_mix (@seed, image). In place is
 * allowed. */
void  nn_dropout_forward  (gsize per_image, guint batch, float rate, guint64 seed,
                           const float *in, float *out, float *mask);
void  nn_dropout_backward (gsize n, const float *mask, const float *dout, float *din);
/* Image @image of the batch alone (its mask is the one the batch call
 * draws for it), and the backward pass on the calling thread. */
void  nn_dropout_forward_image   (gsize per_image, guint image, float rate, guint64 seed,
                                  const float *in, float *out, float *mask);
void  nn_dropout_backward_serial (gsize n, const float *mask, const float *dout, float *din);

/* Batch normalisation over N x H x W per channel (PyTorch semantics:
 * biased variance to normalise, unbiased in the running estimate).
 * Training saves each channel's @mean and @invstd for the backward pass. */
#define NN_BATCHNORM_EPS      1e-5f
#define NN_BATCHNORM_MOMENTUM 0.1f
void  nn_batchnorm_forward_train (const NnLayer *layer, guint batch,
                                  const float *in, const float *gamma, const float *beta,
                                  float *running_mean, float *running_var,
                                  float *out, float *mean, float *invstd);
void  nn_batchnorm_forward_infer (const NnLayer *layer, guint batch,
                                  const float *in, const float *gamma, const float *beta,
                                  const float *running_mean, const float *running_var,
                                  float *out);
void  nn_batchnorm_backward      (const NnLayer *layer, guint batch,
                                  const float *in, const float *dout, const float *gamma,
                                  const float *mean, const float *invstd,
                                  float *dgamma, float *dbeta, float *din);

/* Softmax of each row of @logits (batch x NN_CLASSES). */
void   nn_softmax (guint batch, const float *logits, float *probs);
/* The label of a training image that is no digit (nn_scribble_image): its
 * target is one tenth for every digit. */
#define NN_LABEL_NO_DIGIT NN_CLASSES

/* Fused, numerically stable softmax + cross-entropy against @labels with
 * label smoothing: the mean loss over the batch. @dlogits (may be NULL)
 * receives d(mean loss)/d(logits); @n_correct (may be NULL) how many rows
 * have their label as the largest logit (rows labelled NN_LABEL_NO_DIGIT
 * are never correct: callers count digits apart). */
double nn_softmax_cross_entropy (guint batch, const float *logits, const guint8 *labels,
                                 float smoothing, float *dlogits, guint *n_correct);

/* ---- Models ------------------------------------------------------------ */

typedef struct {
  char    *name;
  guint    ndim;
  guint    shape[4];
  gsize    n_elements;
  gboolean trainable;     /* in params (else in buffers) */
  gboolean decay;         /* weight decay applies (conv and dense weights) */
  gsize    offset;        /* into params or buffers */
} NnTensorInfo;

/* A convolution whose ReLU and pooling follow at once: its output for each
 * image is pooled straight away and kept nowhere (see nn-forward.c). */
gboolean nn_model_layer_staged (const NnModel *model, guint i);

/* Everything a forward and backward pass writes, allocated once for up to
 * @max_batch images as one block described by per-layer pointers. */
typedef struct {
  guint    max_batch;
  gboolean training;      /* has what backward needs */
  float   *block;
  float   *input;         /* max_batch * NN_IMAGE_PIXELS */
  float  **out;           /* per layer; ReLU and dropout share their input's;
                           * NULL for a staged convolution and its ReLU */
  gint32 **argmax;        /* per maxpool layer */
  float  **mask;          /* per dropout layer */
  float  **mean;          /* per batchnorm layer */
  float  **invstd;
  float   *scratch;       /* conv scratch, one nn_conv_scratch_size per thread */
  guint    n_scratch;     /* threads it has room for */
  gsize    share_size;    /* the largest nn_conv_share_size */
  float   *stages;        /* per thread: a staged convolution's output for one
                           * image (nn-forward.c), stage_size floats */
  gsize    stage_size;
  float   *chains;        /* training, per thread: two gradients of one image
                           * (largest floats each) passed inside a run */
  float   *partials;      /* conv weight-gradient partial sums (profiler) */
  float  **packed;        /* per conv layer: its weights packed for the kernels */
  guint64 *packed_for;    /* inference: the weights_version packed[i] holds, or
                           * G_MAXUINT64; training packs on every pass */
  float  **conv_partials; /* per conv layer: its chunks' weight-gradient sums */
  const float **douts;    /* backward, per whole-batch layer and run top: where
                           * its output gradient is */
  float  **dins;          /* and per whole-batch layer and run bottom: where
                           * it writes its input gradient, */
  gsize   *dout_strides;  /* with these many floats from one image to the next */
  gsize   *din_strides;
  gsize    largest;       /* floats in the largest activation of one image */
  float   *grads[2];      /* activation gradients of the batch, used in turn */
  float   *dlogits;
} NnWorkspace;

struct _NnModel {
  char         *spec;
  NnLayer      *layers;
  guint         n_layers;
  float        *params;      /* every trainable tensor, one allocation */
  gsize         n_params;
  float        *buffers;     /* running statistics */
  gsize         n_buffers;
  NnTensorInfo *tensors;
  guint         n_tensors;
  GHashTable   *metadata;
  NnWorkspace  *inference;   /* for predict and evaluate, made on demand */
  guint64       weights_version; /* counts changes to params (nn_model_weights_changed) */
};

NnWorkspace *nn_workspace_new  (const NnModel *model, guint max_batch, gboolean training);
void         nn_workspace_free (NnWorkspace *ws);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NnWorkspace, nn_workspace_free)

/* Runs @batch images from ws->input through the model and returns the
 * logits (batch x NN_CLASSES, inside @ws). Training mode uses batch
 * statistics (and updates the running ones) and dropout seeded by
 * @dropout_seed; inference mode neither. */
const float *nn_model_forward  (NnModel *model, NnWorkspace *ws, guint batch,
                                gboolean training, guint64 dropout_seed);
/* Back-propagates @dlogits through the last training forward pass, adding
 * the parameter gradients to @grads (laid out like model->params). */
void         nn_model_backward (NnModel *model, NnWorkspace *ws, guint batch,
                                const float *dlogits, float *grads);

/* Bytes 0..255 to floats in [0, 1], exactly as PyTorch's ToTensor. */
static inline void
nn_bytes_to_floats (const guint8 *bytes, gsize n, float *out)
{
  for (gsize i = 0; i < n; i++)
    out[i] = (float) bytes[i] / 255.0f;
}

/* ---- Optimisers and schedules ------------------------------------------ */

/* The learning rate at @step (0-based) of @total_steps. */
float nn_schedule_rate (NnSchedule schedule, float base_rate,
                        guint64 step, guint64 total_steps);

/* One update of every trainable tensor of @model from @grads. @m and @v
 * are the optimiser's state (v only for Adam), laid out like the params;
 * @step is 1 for the first update (Adam's bias correction). Decoupled
 * weight decay multiplies decayed weights by 1 - lr * weight_decay first. */
void  nn_optimizer_step (NnModel *model, const NnTrainConfig *config,
                         float learning_rate, guint64 step,
                         const float *grads, float *m, float *v);

/* ---- Training ---------------------------------------------------------- */

struct _NnTrainer {
  NnModel         *model;
  gboolean         owns_model;
  const NnDataset *train;
  const NnDataset *test;
  NnTrainConfig    config;

  NnRng    rng;              /* shuffling, advanced once per epoch */
  guint32 *order;            /* this epoch's permutation of the training set */
  gboolean order_ready;      /* order is shuffled for the current epoch */
  guint    epoch;            /* epochs finished */
  guint    batch;            /* batches finished in the current epoch */
  guint    batches_per_epoch;
  guint64  step;             /* optimiser updates so far */

  /* Running sums of the current epoch, kept across pause and resume. */
  double   epoch_loss_sum;   /* sum over batches of batch mean loss * size */
  guint64  epoch_correct;
  guint64  epoch_seen;
  guint64  epoch_digits;     /* epoch_seen less the scribbles */
  double   epoch_seconds;
  double   elapsed_seconds;  /* over the whole run */

  float       *grads;       /* zero between steps */
  float       *opt_m;
  float       *opt_v;
  NnTensorInfo *pieces;     /* the trainable tensors cut for the optimiser's threads */
  guint        n_pieces;
  NnWorkspace *workspace;
  guint8      *batch_labels;
};

/* Builds a trainer around @model (taking ownership when @owns_model) with
 * its position at the very start; used by nn_trainer_new and checkpoints. */
NnTrainer *nn_trainer_new_full (NnModel *model, gboolean owns_model,
                                const NnDataset *train, const NnDataset *test,
                                const NnTrainConfig *config, GError **error);

G_END_DECLS

/* nn-conv.c — 2-D convolution, stride 1, "same" or "valid" padding.
 *
 * No im2col: the tiles of nn-tile.h walk the (channel, kernel row, kernel
 * column) sum straight through a zero-padded copy of each image, so the
 * unrolled matrix is never written. Two layouts, chosen per layer:
 *
 *  - Channels last (C innermost, "NHWC") for layers with many input
 *    channels. One kernel row's (kx, c) values are then contiguous for a
 *    position, the output positions are a tile whose A rows are that copy
 *    at a stride of C, a line per output row (nn-tile.h), and B is the
 *    weights packed [ky][kx][c][o].
 *    The input gradient is the same product with the output gradient
 *    padded by k-1-pad and the weights flipped, and the weight gradient
 *    walks the positions with (kx, c) as the rows. The activations between
 *    layers stay planar (NCHW): converting a copy costs a few percent.
 *  - Planar (NCHW) for layers with few input channels, like the first one,
 *    whose (c, ky, kx) sums are too short for the walk above: there the
 *    classic unrolled matrix is small (25 rows for a 5x5 kernel on one
 *    channel), so it is made, a band of a few output rows at a time so
 *    that it stays in L1, in the weights' own (c, ky, kx) order: a tile
 *    is then output channels (weights as stored, broadcast) x the band's
 *    positions, one unbroken sum of C K K steps, written straight into the
 *    planar output. The weight gradient reads the padded copy in place
 *    instead (a tile per channel, whose rows are the kernel positions,
 *    a line of them per kernel row), broadcast against the band's output
 *    gradient transposed to channels last, and adds band after band.
 *
 * Threads (nn-team.h) own what they write: whole images in the forward
 * pass; fixed chunks of the batch, each with its own weight gradient
 * partial sum, in the backward pass; the partial sums are then added in
 * chunk order. Nothing depends on the number of threads.
 */
#include <string.h>

#include "nn-private.h"
#include "nn-team.h"
#include "nn-tile.h"

/* Layers with fewer input channels than this are computed planar. */
#define PLANAR_MAX_CHANNELS 4

/* Floats after every padded copy, so that no vector read can leave it. */
#define SLACK (2 * NN_TILE_UNIT)

/* Floats of unrolled input a planar band aims at: 8 rows of 28 positions
 * for a 5x5 kernel (23 KB), in L1. A forward tile's sums are short (25
 * steps), so wider bands, fewer and longer tile runs, measured faster than
 * 4 rows (3 points of the FMA peak); backward, the band's output gradient
 * then half spills to L2, which measured no slower. */
#define PLANAR_BAND_FLOATS 8192

typedef struct {
  const NnLayer *layer;
  guint  c, h, w, o, k, pad, oh, ow;
  guint  hp, wp;            /* the input padded by pad */
  guint  q, hq, wq;         /* the output gradient padded by k - 1 - pad */
  guint  c_pad, o_pad;      /* channel counts rounded up to a tile unit */
  gsize  kk, ckk;
  gboolean planar;
  guint  band;              /* planar: output rows unrolled at a time */
  gsize  band_stride;       /* planar: floats per unrolled row */

  /* Weights packed for the tiles, shared by the threads: */
  gsize  packed_size;                /* CL: [ky][kx][c][o_pad] */
  gsize  flipped_size;               /* [ky][kx][o_pad][c_pad], flipped; after it */

  /* Each thread's scratch, in floats from the start of its share: */
  gsize  padded_at, padded_size;     /* planar: padded input [c][y][x] */
  gsize  cols_at, cols_size;         /* planar: unrolled [c][ky][kx][y][x] */
  gsize  grad_t_at;                  /* planar: output gradient [y][x][o_pad] */
  gsize  image_at, image_size;       /* CL: padded input [y][x][c] */
  gsize  out_at;                     /* CL: output rows [y][x][o_pad] */
  gsize  grad_at, grad_size;         /* CL: padded output gradient [y][x][o_pad] */
  gsize  din_at;                     /* CL: input gradient [y][x][c_pad] */
  gsize  share;                      /* floats per thread */
} ConvPlan;

static guint
gcd (guint a, guint b)
{
  while (b != 0)
    {
      guint r = a % b;

      a = b;
      b = r;
    }
  return a;
}

static gsize
align_floats (gsize n)
{
  return (n + 15) & ~(gsize) 15;
}

static void
plan_conv (const NnLayer *layer, ConvPlan *p)
{
  gsize at = 0, forward_end, backward_end;

  memset (p, 0, sizeof *p);
  p->layer = layer;
  p->c = layer->in_c;
  p->h = layer->in_h;
  p->w = layer->in_w;
  p->o = layer->units;
  p->k = layer->kernel;
  p->pad = layer->pad;
  p->oh = layer->out_h;
  p->ow = layer->out_w;
  p->hp = p->h + 2 * p->pad;
  p->wp = p->w + 2 * p->pad;
  p->q = p->k - 1 - p->pad;
  p->hq = p->oh + 2 * p->q;
  p->wq = p->ow + 2 * p->q;
  p->c_pad = (guint) nn_tile_round_up (p->c);
  p->o_pad = (guint) nn_tile_round_up (p->o);
  p->kk = (gsize) p->k * p->k;
  p->ckk = p->c * p->kk;
  p->planar = p->c < PLANAR_MAX_CHANNELS;
  p->band = (guint) CLAMP (PLANAR_BAND_FLOATS / (p->ckk * MAX (p->ow, 1)), 1, MAX (p->oh, 1));
  /* Bands of whole vectors of positions when that fits (4 rows of 28),
   * so that every band of an aligned output plane starts aligned. */
  {
    guint whole = NN_TILE_UNIT / gcd (MAX (p->ow, 1), NN_TILE_UNIT);

    if (p->band >= whole)
      p->band -= p->band % whole;
  }
  p->band_stride = nn_tile_round_up ((gsize) p->band * p->ow);

  /* Planar layers compute their input gradient channels last too, so
   * every layer has the channels-last pieces. */
  p->packed_size = p->planar ? 0 : align_floats (p->ckk * p->o_pad);
  p->flipped_size = align_floats (p->kk * p->o_pad * p->c_pad);
  p->padded_size = align_floats ((gsize) p->c * p->hp * p->wp);
  p->padded_at = at;
  p->cols_size = align_floats (p->ckk * p->band_stride + SLACK);
  p->cols_at = at + p->padded_size;
  p->grad_t_at = p->cols_at + p->cols_size;
  if (p->planar)
    at = p->grad_t_at + align_floats ((gsize) p->band * p->ow * p->o_pad);
  p->image_size = align_floats ((gsize) p->hp * p->wp * p->c + SLACK);
  p->image_at = at;
  at += p->image_size;
  p->out_at = at;
  forward_end = at + (p->planar ? 0 : align_floats ((gsize) p->oh * p->ow * p->o_pad));
  p->grad_size = align_floats ((gsize) p->hq * p->wq * p->o_pad + SLACK);
  p->grad_at = at;
  at += p->grad_size;
  p->din_at = at;
  backward_end = at + align_floats ((gsize) p->h * p->w * p->c_pad);
  /* nn_conv_pack_backward transposes one output channel's weights here. */
  p->share = MAX (MAX (forward_end, backward_end), align_floats (p->kk * p->c_pad));
}

gsize
nn_conv_packed_size (const NnLayer *layer)
{
  ConvPlan p;

  plan_conv (layer, &p);
  return p.packed_size + p.flipped_size;
}

gsize
nn_conv_share_size (const NnLayer *layer)
{
  ConvPlan p;

  plan_conv (layer, &p);
  return p.share;
}

/* nn_conv_forward and nn_conv_backward keep the packed weights at the start
 * of the scratch, then each thread's share. */
gsize
nn_conv_scratch_size (const NnLayer *layer)
{
  ConvPlan p;

  plan_conv (layer, &p);
  return p.packed_size + p.flipped_size + p.share;
}

gsize
nn_conv_partials_size (const NnLayer *layer)
{
  ConvPlan p;

  plan_conv (layer, &p);
  /* The weight gradient as the kernels write it, [ky][kx][c][o_pad]
   * ([c][ky][kx][o_pad] when planar), then the bias. */
  return p.ckk * p.o_pad + p.o_pad;
}

/* ---- Copies between layouts ---------------------------------------------- */

/* One image (C x H x W) into a zero-padded planar copy, C x hp x wp. */
static void
pad_planar (const ConvPlan *p, const float *in, float *dest)
{
  const gsize plane = (gsize) p->hp * p->wp;

  for (guint c = 0; c < p->c; c++)
    {
      float *d = dest + c * plane;

      memset (d, 0, p->pad * p->wp * sizeof (float));
      for (guint y = 0; y < p->h; y++)
        {
          float *row = d + (gsize) (y + p->pad) * p->wp;

          memset (row, 0, p->pad * sizeof (float));
          memset (row + p->pad + p->w, 0, p->pad * sizeof (float));
        }
      nn_copy_block (in + (gsize) c * p->h * p->w, p->w, p->h, p->w,
                     d + (gsize) p->pad * p->wp + p->pad, p->wp);
      memset (d + (gsize) (p->pad + p->h) * p->wp, 0, p->pad * p->wp * sizeof (float));
    }
}

/* Output rows [y0, y1) of one image unrolled: row (c, ky, kx) of @cols
 * (@stride floats apart), the weights' own order, holds the input values
 * those positions multiply by that weight, read from the padded copy
 * @padded. */
static void
unroll (const ConvPlan *p, const float *padded, guint y0, guint y1, float *cols, gsize stride)
{
  const gsize plane = (gsize) p->hp * p->wp;

  for (guint c = 0; c < p->c; c++)
    for (guint ky = 0; ky < p->k; ky++)
      for (guint kx = 0; kx < p->k; kx++)
        nn_copy_block (padded + c * plane + (gsize) (y0 + ky) * p->wp + kx, p->wp,
                       y1 - y0, p->ow,
                       cols + ((gsize) c * p->kk + ky * p->k + kx) * stride, p->ow);
}

/* @channels planes of @h x @w (planar) into a channels-last copy padded by
 * @pad on every side, @stride floats per position (channels past
 * @channels are zero), with zeros up to @dest_size after it. */
NN_INLINE_COPIES static void
pad_channels_last (const float *in, guint channels, guint h, guint w, guint pad,
                   guint stride, float *dest, gsize dest_size)
{
  const gsize wp = w + 2 * pad, row_size = wp * stride;

  memset (dest, 0, pad * row_size * sizeof (float));
  for (guint y = 0; y < h; y++)
    {
      float *row = dest + (y + pad) * row_size;

      memset (row, 0, pad * stride * sizeof (float));
      nn_transpose (in + (gsize) y * w, (gsize) h * w, channels, w, row + pad * stride, stride);
      if (stride > channels)
        for (guint x = 0; x < w; x++)
          for (guint c = channels; c < stride; c++)
            row[(pad + x) * stride + c] = 0.0f;
      memset (row + (pad + w) * stride, 0, pad * stride * sizeof (float));
    }
  memset (dest + (h + pad) * row_size, 0, (dest_size - (h + pad) * row_size) * sizeof (float));
}

/* Rows [y0, y1) of a channels-last image (positions of @w, @stride floats
 * each) into planar rows of @channels planes of @h x @w. */
static void
to_planar (const float *src, guint channels, guint h, guint w, guint stride,
           guint y0, guint y1, float *out)
{
  nn_transpose (src + (gsize) y0 * w * stride, stride, (y1 - y0) * w, channels,
                out + (gsize) y0 * w, (gsize) h * w);
}

/* Weights [o][c][ky][kx] as B for channels-last tiles: [ky][kx][c][o_pad].
 * The threads of @me's job share the work (by input channel) and meet
 * when it is done. Each channel's [o][ky][kx] block is transposed straight
 * into its rows, C rows apart: one pass, and no copy in between to push
 * other data (a dense layer's weights, when one image is being
 * recognised) out of the cache. */
void
nn_conv_pack_forward (const NnTeamMember *me, const NnLayer *layer, const float *weight,
                      float *packed)
{
  gsize first, last;
  ConvPlan p;

  plan_conv (layer, &p);
  if (p.planar)
    return;
  nn_team_split (me, p.c, &first, &last);
  for (gsize c = first; c < last; c++)
    {
      nn_transpose (weight + c * p.kk, p.ckk, p.o, (guint) p.kk, packed + c * p.o_pad,
                    (gsize) p.c * p.o_pad);
      if (p.o_pad > p.o)
        for (gsize kpos = 0; kpos < p.kk; kpos++)
          memset (packed + (kpos * p.c + c) * p.o_pad + p.o, 0, (p.o_pad - p.o) * sizeof (float));
    }
  nn_team_barrier (me);
}

/* The weights for the input gradient, after the forward ones:
 * [ky][kx][o_pad][c_pad] holding W[o][c][k-1-ky][k-1-kx], zero past O or
 * C; shared by output channel, each one's [c][ky][kx] transposed through
 * @share. */
void
nn_conv_pack_backward (const NnTeamMember *me, const NnLayer *layer, const float *weight,
                       float *packed, float *share)
{
  float *flipped, *transposed = share;
  gsize first, last;
  ConvPlan p;

  plan_conv (layer, &p);
  flipped = packed + p.packed_size;
  nn_team_split (me, p.o_pad, &first, &last);
  for (gsize o = first; o < last; o++)
    {
      if (o < p.o)
        nn_transpose (weight + o * p.ckk, p.kk, p.c, (guint) p.kk, transposed, p.c_pad);
      for (gsize kpos = 0; kpos < p.kk; kpos++)
        {
          float *row = flipped + ((p.kk - 1 - kpos) * p.o_pad + o) * p.c_pad;
          guint valid = o < p.o ? p.c : 0;

          nn_copy_block (transposed + kpos * p.c_pad, 0, 1, valid, row, 0);
          memset (row + valid, 0, (p.c_pad - valid) * sizeof (float));
        }
    }
  nn_team_barrier (me);
}

/* ---- Forward ------------------------------------------------------------- */

/* Output rows [y0, y1) of one image. */
static void
forward_rows (const ConvPlan *p, const float *in, const float *weight, const float *packed,
              const float *bias, gboolean relu, float *out, float *share,
              guint y0, guint y1)
{
  const gsize out_plane = (gsize) p->oh * p->ow;
  float *image;
  NnTile tile = { 0 };

  tile.relu = relu;
  if (p->planar)
    {
      float *cols = share + p->cols_at;

      pad_planar (p, in, share + p->padded_at);
      /* Output channels x positions: A is the weights as stored
       * ([o][c][ky][kx]), the unrolled rows' order, so the whole sum is
       * one run of steps. */
      tile.a = weight;
      tile.a_rs = (gssize) p->ckk;
      tile.a_ts = 1;
      tile.b = cols;
      tile.b_ts = (gssize) p->band_stride;
      tile.steps = (guint) p->ckk;
      tile.segments = 1;
      tile.groups = 1;
      tile.c_rs = (gssize) out_plane;
      tile.rows = p->o;
      tile.mode = NN_TILE_STORE;
      tile.row_bias = bias;
      for (guint band = y0; band < y1; band += p->band)
        {
          guint band_end = MIN (band + p->band, y1);

          guint positions = (band_end - band) * p->ow;
          gsize unused = nn_tile_round_up (positions) - positions;

          unroll (p, share + p->padded_at, band, band_end, cols, p->band_stride);
          /* The tile multiplies whole vectors: zeros, not stale values that
           * could overflow, past the band's positions. */
          if (unused > 0)
            for (gsize r = 0; r < p->ckk; r++)
              memset (cols + r * p->band_stride + positions, 0, unused * sizeof (float));
          tile.c = out + (gsize) band * p->ow;
          tile.cols = positions;
          nn_tile_run (&tile);
        }
      return;
    }

  image = share + p->image_at;
  pad_channels_last (in, p->c, p->h, p->w, p->pad, p->c, image, p->image_size);
  /* The rows' output positions x all output channels: A is the padded
   * copy, one position every C floats, each kernel row's (kx, c)
   * contiguous, a line of A per output row. One tile for all the rows,
   * whose blocks run over the ends of rows: conv5x5:64's rows of 14 were
   * blocks of 5, 5 and 4 positions, and are now of 6 but for two. */
  tile.a = image + (gsize) y0 * p->wp * p->c;
  tile.a_rs = p->c;
  tile.line_rows = p->ow;
  tile.a_ls = (gssize) p->wp * p->c;
  tile.a_ts = 1;
  tile.a_ss = (gssize) p->wp * p->c;
  tile.b = packed;
  tile.b_ts = p->o_pad;
  tile.b_ss = (gssize) p->k * p->c * p->o_pad;
  tile.steps = p->k * p->c;
  tile.segments = p->k;
  tile.groups = 1;
  tile.c = share + p->out_at + (gsize) y0 * p->ow * p->o_pad;
  tile.c_rs = p->o_pad;
  tile.rows = (y1 - y0) * p->ow;
  tile.cols = p->o;
  tile.mode = NN_TILE_STORE;
  tile.col_bias = bias;
  nn_tile_run (&tile);
  to_planar (share + p->out_at, p->o, p->oh, p->ow, p->o_pad, y0, y1, out);
}

void
nn_conv_forward_rows (const NnLayer *layer, const float *in, const float *weight,
                      const float *packed, const float *bias, gboolean relu,
                      float *out, float *share, guint y0, guint y1)
{
  ConvPlan p;

  plan_conv (layer, &p);
  forward_rows (&p, in, weight, packed, bias, relu, out, share, y0, y1);
}

typedef struct {
  const NnLayer *layer;
  ConvPlan       plan;
  guint          batch;
  const float   *in, *weight, *bias;
  float         *out, *packed, *shares;
  gsize          partial_size;
  float         *partials, *dweight, *dbias;
  const float   *dout;
  float         *din;
  gboolean       relu;
  gboolean       staged;    /* one image of out, dout and din per thread */
  NnTeamCounter  next;
} ConvJob;

static void
forward_work (const NnTeamMember *me, gpointer data)
{
  ConvJob *job = data;
  const ConvPlan *p = &job->plan;
  const gsize in_size = nn_layer_in_size (job->layer), out_size = nn_layer_out_size (job->layer);
  float *share = job->shares + me->index * p->share;
  guint b;

  nn_conv_pack_forward (me, job->layer, job->weight, job->packed);
  while (nn_team_take (&job->next, job->batch, &b))
    forward_rows (p, job->in + b * in_size, job->weight, job->packed, job->bias, job->relu,
                  job->out + (job->staged ? me->index : b) * out_size, share, 0, p->oh);
}

static void
conv_forward_job (const NnLayer *layer, guint batch, const float *in, const float *weight,
                  const float *bias, float *out, float *scratch, guint n_scratch,
                  gboolean relu, gboolean staged)
{
  const double work = (double) batch * nn_layer_out_size (layer) * layer->in_c
                      * layer->kernel * layer->kernel;
  ConvJob job = { 0 };

  job.layer = layer;
  plan_conv (layer, &job.plan);
  job.batch = batch;
  job.in = in;
  job.weight = weight;
  job.bias = bias;
  job.out = out;
  job.relu = relu;
  job.staged = staged;
  job.packed = scratch;
  job.shares = scratch + job.plan.packed_size + job.plan.flipped_size;
  /* Whole images to each thread (see run_threads() in nn-forward.c). */
  nn_team_run (work < NN_PARALLEL_MIN_WORK ? 1 : MIN (n_scratch, batch), forward_work, &job);
}

void
nn_conv_forward_full (const NnLayer *layer, guint batch,
                      const float *in, const float *weight, const float *bias,
                      float *out, float *scratch, guint n_scratch, gboolean relu)
{
  conv_forward_job (layer, batch, in, weight, bias, out, scratch, n_scratch, relu, FALSE);
}

void
nn_conv_forward (const NnLayer *layer, guint batch,
                 const float *in, const float *weight, const float *bias,
                 float *out, float *scratch, guint n_scratch)
{
  conv_forward_job (layer, batch, in, weight, bias, out, scratch, n_scratch, FALSE, FALSE);
}

void
nn_conv_forward_staged (const NnLayer *layer, guint batch,
                        const float *in, const float *weight, const float *bias,
                        float *stage, float *scratch, guint n_scratch)
{
  conv_forward_job (layer, batch, in, weight, bias, stage, scratch, n_scratch, TRUE, TRUE);
}

/* ---- Backward ------------------------------------------------------------ */

/* Per output channel, the sum of the gradient over the image's positions,
 * in 64 lanes (a fixed order, in independent chains that vectorise) added
 * up at the end. */
static void
add_bias_gradient (const ConvPlan *p, const float *dy, float *db)
{
  const gsize plane = (gsize) p->oh * p->ow, whole = plane / 64 * 64;

  for (guint o = 0; o < p->o; o++)
    {
      const float *x = dy + o * plane;
      float lanes[64] = { 0 };

      for (gsize i = 0; i < whole; i += 64)
        for (guint l = 0; l < 64; l++)
          lanes[l] += x[i + l];
      for (gsize i = whole; i < plane; i++)
        lanes[i - whole] += x[i];
      for (guint half = 32; half > 0; half /= 2)
        for (guint l = 0; l < half; l++)
          lanes[l] += lanes[l + half];
      db[o] += lanes[0];
    }
}

/* Planar: the weight and bias gradients of images [first, last) into @dw
 * (added to it when @accumulate; [c][ky][kx][o_pad], then the bias's
 * [o_pad]), band after band of output rows: the band's output gradient
 * transposed to [y][x][o_pad] is B, and A, broadcast, is read straight
 * from the padded image, one tile per channel whose rows are (ky, kx), a
 * line per kernel row (nn-tile.h); the bias's sums are taken by the
 * transposition. Every sum runs over the positions in reading order, as
 * an unrolled matrix's would. */
static void
planar_weight_gradient (const ConvPlan *p, const float *in, const float *dout,
                        gsize dout_stride, guint first, guint last, gboolean accumulate,
                        float *dw, float *share)
{
  const gsize in_size = nn_layer_in_size (p->layer);
  const gsize plane = (gsize) p->oh * p->ow, padded_plane = (gsize) p->hp * p->wp;
  const float *padded = share + p->padded_at;
  float *grad = share + p->grad_t_at, *db = dw + p->ckk * p->o_pad;
  NnTile tile = { 0 };

  tile.b = grad;
  tile.b_ts = p->o_pad;
  tile.b_ss = (gssize) p->ow * p->o_pad;
  tile.groups = 1;
  tile.c_rs = p->o_pad;
  tile.cols = p->o_pad;
  tile.a_rs = 1;
  tile.a_ts = 1;
  tile.a_ss = p->wp;
  tile.line_rows = p->k;
  tile.a_ls = p->wp;
  tile.rows = (guint) p->kk;

  if (p->o_pad > p->o)
    for (gsize i = 0; i < (gsize) p->band * p->ow; i++)
      memset (grad + i * p->o_pad + p->o, 0, (p->o_pad - p->o) * sizeof (float));
  if (!accumulate)
    memset (db, 0, p->o_pad * sizeof (float));
  for (guint b = first; b < last; b++)
    {
      pad_planar (p, in + b * in_size, share + p->padded_at);
      for (guint band = 0; band < p->oh; band += p->band)
        {
          guint band_end = MIN (band + p->band, p->oh);

          /* dB[o] += sum over (y, x) of dy[o][y][x], on the way. */
          nn_transpose_sum (dout + b * dout_stride + (gsize) band * p->ow, plane, p->o,
                            (band_end - band) * p->ow, grad, p->o_pad, db);
          tile.steps = p->ow;
          tile.segments = band_end - band;
          tile.mode = !accumulate && b == first && band == 0 ? NN_TILE_STORE : NN_TILE_ACCUMULATE;

          /* dW[c][ky][kx][o] += sum over (y, x) of x[c][y+ky][x+kx] dy[y][x][o]:
           * a tile per channel, whose rows are (ky, kx), a line per ky. */
          for (guint c = 0; c < p->c; c++)
            {
              tile.a = padded + c * padded_plane + (gsize) band * p->wp;
              tile.c = dw + (gsize) c * p->kk * p->o_pad;
              nn_tile_run (&tile);
            }
        }
    }
}

/* Channels last: one image's weight gradient merged into @dw
 * ([ky][kx][c][o_pad]) and its input gradient (when @din) written. */
static void
channels_last_backward_image (const ConvPlan *p, const float *in, const float *dy,
                              const float *flipped, float *dw, NnTileMode mode,
                              float *din, float *share)
{
  float *image = share + p->image_at, *grad = share + p->grad_at;
  NnTile tile = { 0 };

  pad_channels_last (dy, p->o, p->oh, p->ow, p->q, p->o_pad, grad, p->grad_size);
  if (dw == NULL)
    goto input_gradient;
  pad_channels_last (in, p->c, p->h, p->w, p->pad, p->c, image, p->image_size);

  /* dW[ky][kx][c][o] += sum over positions of x[y+ky][x+kx][c] dy[y][x][o]:
   * rows are one kernel row's (kx, c), the sum walks the positions. */
  tile.a_rs = 1;
  tile.a_ts = p->c;
  tile.a_ss = (gssize) p->wp * p->c;
  tile.b = grad + ((gsize) p->q * p->wq + p->q) * p->o_pad;
  tile.b_ts = p->o_pad;
  tile.b_ss = (gssize) p->wq * p->o_pad;
  tile.steps = p->ow;
  tile.segments = p->oh;
  tile.groups = 1;
  tile.c_rs = p->o_pad;
  tile.rows = p->k * p->c;
  tile.cols = p->o_pad;
  tile.mode = mode;
  for (guint ky = 0; ky < p->k; ky++)
    {
      tile.a = image + (gsize) ky * p->wp * p->c;
      tile.c = dw + (gsize) ky * p->k * p->c * p->o_pad;
      nn_tile_run (&tile);
    }

  if (din == NULL)
    return;

input_gradient:
  /* dX[y][x][c] = sum over (ky, kx, o) of dyq[y+ky][x+kx][o] Wflip: the
   * forward product on the padded gradient, skipping padded channels, in
   * one tile for the whole image likewise. */
  memset (&tile, 0, sizeof tile);
  tile.a = grad;
  tile.a_rs = p->o_pad;
  tile.line_rows = p->w;
  tile.a_ls = (gssize) p->wq * p->o_pad;
  tile.a_ts = 1;
  tile.a_ss = (gssize) p->wq * p->o_pad;
  tile.a_gs = p->o_pad;
  tile.b = flipped;
  tile.b_ts = p->c_pad;
  tile.b_ss = (gssize) p->k * p->o_pad * p->c_pad;
  tile.b_gs = (gssize) p->o_pad * p->c_pad;
  tile.steps = p->o;
  tile.segments = p->k;
  tile.groups = p->k;
  tile.c = share + p->din_at;
  tile.c_rs = p->c_pad;
  tile.rows = p->h * p->w;
  tile.cols = p->c;
  tile.mode = NN_TILE_STORE;
  nn_tile_run (&tile);
  to_planar (share + p->din_at, p->c, p->h, p->w, p->c_pad, 0, p->h, din);
}

/* Images [first, last): their bias and weight gradients into @partial
 * (added to what it holds when @accumulate, in image order, so that a
 * chunk taken in pieces sums as one), and their input gradients. Layers
 * computed planar take their input gradient channels last as well: few
 * input channels make it cheap either way. */
void
nn_conv_backward_images (const NnLayer *layer, guint first, guint last, gboolean accumulate,
                         const float *in, const float *dout, gsize dout_stride,
                         const float *packed, float *partial, float *din, gsize din_stride,
                         float *share)
{
  const gsize in_size = nn_layer_in_size (layer);
  const float *flipped;
  gsize dw_size;
  float *db;
  ConvPlan p;

  plan_conv (layer, &p);
  flipped = packed + p.packed_size;
  dw_size = p.ckk * p.o_pad;
  db = partial + dw_size;

  if (p.planar)
    {
      planar_weight_gradient (&p, in, dout, dout_stride, first, last, accumulate, partial, share);
      if (din != NULL)
        for (guint b = first; b < last; b++)
          channels_last_backward_image (&p, in + b * in_size, dout + b * dout_stride, flipped,
                                        NULL, NN_TILE_STORE, din + b * din_stride, share);
      return;
    }
  if (!accumulate)
    memset (db, 0, p.o_pad * sizeof (float));
  for (guint b = first; b < last; b++)
    {
      add_bias_gradient (&p, dout + b * dout_stride, db);
      channels_last_backward_image (&p, in + b * in_size, dout + b * dout_stride, flipped,
                                    partial, !accumulate && b == first ? NN_TILE_STORE
                                                                       : NN_TILE_ACCUMULATE,
                                    din != NULL ? din + b * din_stride : NULL, share);
    }
}

/* Floats of partial sums added up at a time: all chunks' values for a
 * piece go through registers once, and the pieces are handed out to the
 * threads. */
#define REDUCE_PIECE 1024

/* Outputs whose weight gradients are written together: a cache line of
 * partial sums. */
#define REDUCE_OUTPUTS 16

/* Floats summed in registers at a time: four AVX-512 vectors. */
#define REDUCE_LANES 64

/* @n floats of every one of @n_chunks partial sums, @stride apart, added
 * in chunk order into the first. One pass with the sums in registers: a
 * pass per chunk costs a load and a store of every float each time, and
 * was most of the reduction's time. */
NN_WIDE_VECTORS static void
sum_chunks (float *restrict first, const float *restrict rest, gsize stride,
            guint n_chunks, gsize n)
{
  gsize i0;

  for (i0 = 0; i0 + REDUCE_LANES <= n; i0 += REDUCE_LANES)
    {
      float sum[REDUCE_LANES];

      for (guint j = 0; j < REDUCE_LANES; j++)
        sum[j] = first[i0 + j];
      for (guint chunk = 1; chunk < n_chunks; chunk++)
        for (guint j = 0; j < REDUCE_LANES; j++)
          sum[j] += rest[(chunk - 1) * stride + i0 + j];
      for (guint j = 0; j < REDUCE_LANES; j++)
        first[i0 + j] = sum[j];
    }
  for (; i0 < n; i0++)
    for (guint chunk = 1; chunk < n_chunks; chunk++)
      first[i0] += rest[(chunk - 1) * stride + i0];
}

/* The chunks' partial sums added into @dweight and @dbias, in chunk order
 * whoever computed them; the threads of @me's job share the work. */
void
nn_conv_reduce (const NnTeamMember *me, const NnLayer *layer, guint batch, float *partials,
                float *dweight, float *dbias)
{
  const guint n_chunks = nn_chunk_count (batch);
  const gsize partial_size = nn_conv_partials_size (layer);
  gsize dw_size, first, last;
  ConvPlan p;

  plan_conv (layer, &p);
  dw_size = partial_size - p.o_pad;

  /* First into the first chunk's sums... */
  nn_team_split (me, (partial_size + REDUCE_PIECE - 1) / REDUCE_PIECE, &first, &last);
  for (gsize i0 = first * REDUCE_PIECE; i0 < MIN (last * REDUCE_PIECE, partial_size);
       i0 += REDUCE_PIECE)
    sum_chunks (partials + i0, partials + partial_size + i0, partial_size, n_chunks,
                MIN (REDUCE_PIECE, partial_size - i0));

  nn_team_barrier (me);

  /* ... then into the weights' own layout [o][c][ky][kx] (from
   * [ky][kx][c][o_pad]; planar layers' sums are in [c][ky][kx][o_pad]),
   * REDUCE_OUTPUTS outputs at a time: a row of sums is then one cache
   * line, read once, and the outputs' weights are written in order. */
  nn_team_split (me, (p.o + REDUCE_OUTPUTS - 1) / REDUCE_OUTPUTS, &first, &last);
  for (gsize o0 = first * REDUCE_OUTPUTS; o0 < MIN (last * REDUCE_OUTPUTS, p.o);
       o0 += REDUCE_OUTPUTS)
    {
      gsize n = MIN (REDUCE_OUTPUTS, p.o - o0);

      for (gsize r = 0; r < p.ckk; r++)
        {
          gsize c = r / p.kk, kpos = r % p.kk;
          const float *row = partials + (p.planar ? r : kpos * p.c + c) * p.o_pad + o0;

          for (gsize j = 0; j < n; j++)
            dweight[(o0 + j) * p.ckk + r] += row[j];
        }
      for (gsize j = 0; j < n; j++)
        dbias[o0 + j] += partials[dw_size + o0 + j];
    }
  nn_team_barrier (me);
}

static void
backward_work (const NnTeamMember *me, gpointer data)
{
  ConvJob *job = data;
  float *share = job->shares + me->index * job->plan.share;
  const gsize in_size = nn_layer_in_size (job->layer), out_size = nn_layer_out_size (job->layer);
  const guint n_chunks = nn_chunk_count (job->batch);
  const float *dout = job->staged ? job->dout + me->index * out_size : job->dout;
  float *din = job->din != NULL && job->staged ? job->din + me->index * in_size : job->din;
  guint chunk;

  if (job->din != NULL)
    nn_conv_pack_backward (me, job->layer, job->weight, job->packed, share);
  while (nn_team_take_from_ends (&job->next, n_chunks, me, &chunk))
    nn_conv_backward_images (job->layer, nn_chunk_start (job->batch, n_chunks, chunk),
                             nn_chunk_start (job->batch, n_chunks, chunk + 1), FALSE,
                             job->in, dout, job->staged ? 0 : out_size, job->packed,
                             job->partials + chunk * job->partial_size, din,
                             job->staged ? 0 : in_size, share);
  nn_team_barrier (me);
  nn_conv_reduce (me, job->layer, job->batch, job->partials, job->dweight, job->dbias);
}

static void
conv_backward_job (const NnLayer *layer, guint batch,
                   const float *in, const float *dout, const float *weight,
                   float *dweight, float *dbias, float *din,
                   float *scratch, guint n_scratch, float *partials, gboolean staged)
{
  const double work = (double) batch * nn_layer_out_size (layer) * layer->in_c
                      * layer->kernel * layer->kernel;
  ConvJob job = { 0 };

  job.layer = layer;
  plan_conv (layer, &job.plan);
  job.batch = batch;
  job.in = in;
  job.weight = weight;
  job.dout = dout;
  job.din = din;
  job.dweight = dweight;
  job.dbias = dbias;
  job.partials = partials;
  job.partial_size = nn_conv_partials_size (layer);
  job.staged = staged;
  job.packed = scratch;
  job.shares = scratch + job.plan.packed_size + job.plan.flipped_size;
  nn_team_run (work < NN_PARALLEL_MIN_WORK ? 1 : n_scratch, backward_work, &job);
}

void
nn_conv_backward (const NnLayer *layer, guint batch,
                  const float *in, const float *dout, const float *weight,
                  float *dweight, float *dbias, float *din,
                  float *scratch, guint n_scratch, float *partials)
{
  conv_backward_job (layer, batch, in, dout, weight, dweight, dbias, din,
                     scratch, n_scratch, partials, FALSE);
}

void
nn_conv_backward_staged (const NnLayer *layer, guint batch,
                         const float *in, const float *dout_stage, const float *weight,
                         float *dweight, float *dbias, float *din_stage,
                         float *scratch, guint n_scratch, float *partials)
{
  conv_backward_job (layer, batch, in, dout_stage, weight, dweight, dbias, din_stage,
                     scratch, n_scratch, partials, TRUE);
}

/* nn-tile.h — the register-tiled inner kernels every product runs on.
 *
 * Convolutions and matrix products in the engine are all written as small
 * blocks of output computed in vector registers, with their operands read
 * where they already lie (strides describe them) instead of being copied
 * into a standard layout first. Two shapes of kernel:
 *
 *  - NnTile, "broadcast" kernels: C[i][j] = sum_k A(i, k) B(k, j), one
 *    value of A broadcast against a 16-float vector of B's row k. The
 *    reduction index k walks groups of segments of steps, each level with
 *    its own strides, so that a convolution's (channel, kernel row, kernel
 *    column) walk is one tile with no unrolled copy of the image.
 *  - NnDotTile, "dot" kernels: C[i][j] = sum_k A[i][k] B[j][k] with both
 *    operands contiguous along k, summed 16 lanes at a time and reduced at
 *    the end: the shape of a weight gradient with few outputs and a long
 *    sum, and of a dense layer's forward pass.
 *
 * Each kernel is compiled for AVX-512, AVX2+FMA and plain C, and the best
 * the CPU runs is picked at first use (DIGITLAB_GEMM_KERNEL=generic|avx2
 * asks for a lesser one). Sums always run in the same order whatever the
 * tiling, the ISA (AVX-512 and AVX2 round alike) or the thread that runs
 * them, so results never depend on how work is divided.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Floats in one vector "unit" of columns; layouts meant for the kernels pad
 * their column counts to a multiple of it. */
#define NN_TILE_UNIT 16

static inline gsize
nn_tile_round_up (gsize n)
{
  return (n + NN_TILE_UNIT - 1) / NN_TILE_UNIT * NN_TILE_UNIT;
}

typedef enum {
  NN_TILE_STORE,        /* C = sum */
  NN_TILE_ACCUMULATE,   /* the sum starts from C: C = C + a0 b0 + a1 b1 + ... */
  NN_TILE_SCALE,        /* C = alpha sum + beta C */
} NnTileMode;

typedef struct {
  /* A(i, k) for step t of segment s of group g is
   *   a[i a_rs + g a_gs + s a_ss + t a_ts]
   * and B's row k the 16-float vectors at
   *   b + g b_gs + s b_ss + t b_ts + 16 u,  u < units. */
  const float *a;
  gssize       a_rs, a_ts, a_ss, a_gs;
  const float *b;
  gssize       b_ts, b_ss, b_gs;
  guint        steps, segments, groups;   /* all >= 1 */
  /* With @line_rows > 0, the rows lie in lines of that many: row i of A
   * starts at a + (i % line_rows) a_rs + (i / line_rows) a_ls instead,
   * so that one tile takes the positions of several rows of an image
   * through its padded copy, in blocks that run over the ends of rows. */
  guint        line_rows;
  gssize       a_ls;
  guint        first_row;   /* the dispatcher's: where a block starts */

  float       *c;         /* row i at c + i c_rs */
  gssize       c_rs;
  guint        rows;      /* >= 1, any number */
  guint        cols;      /* >= 1, any number; B holds round_up (cols) */

  NnTileMode   mode;
  float        alpha, beta;          /* NN_TILE_SCALE only */
  const float *col_bias;             /* added per column, may be NULL */
  const float *row_bias;             /* added per row, may be NULL */
  gboolean     relu;                 /* max (0, .) after the bias */
} NnTile;

/* Runs @tile, splitting it into register blocks. Thread-safe: it writes
 * only C. Never reads B past column round_up (cols). */
void nn_tile_run (const NnTile *tile);

typedef struct {
  /* A's row i is a + i a_rs + g a_gs + s a_ss, B's row j is
   * b + j b_rs + g b_gs + s b_ss, for segment s of group g; each segment
   * is @length floats. */
  const float *a;
  gssize       a_rs, a_ss, a_gs;
  const float *b;
  gssize       b_rs, b_ss, b_gs;
  gsize        length;
  guint        segments, groups;   /* both >= 1 */
  float       *c;         /* C[i][j] at c + i c_rs + j c_cs */
  gssize       c_rs, c_cs;
  guint        rows, cols;
  NnTileMode   mode;      /* ACCUMULATE here is C + the whole sum */
  float        alpha, beta;
} NnDotTile;

void nn_dot_tile_run (const NnDotTile *tile);

/* dst[j dst_stride + i] = src[i src_stride + j] for i < rows, j < cols:
 * 16 x 16 blocks transposed in registers. */
void nn_transpose (const float *src, gsize src_stride, guint rows, guint cols,
                   float *dst, gsize dst_stride);

/* The same, and row i's values added to @sums[i] one after the other in
 * column order, rounded as a tile's sum over them would be: a bias
 * gradient computed on the way. */
void nn_transpose_sum (const float *src, gsize src_stride, guint rows, guint cols,
                       float *dst, gsize dst_stride, float *sums);

/* @rows runs of @len floats from @src to @dst, @src_stride and
 * @dst_stride apart: short rows in whole vectors, the last one ending at
 * @len over floats already copied (masked only when @len is shorter than
 * a vector). */
void nn_copy_block (const float *src, gsize src_stride, guint rows, guint len,
                    float *dst, gsize dst_stride);

/* The @oh rows of @ow values of 2x2 max-pooling over a plane @w floats
 * wide, into @out, and with @argmax (may be NULL) the index in the plane
 * each came from, the first in reading order on ties. Returns FALSE when
 * the plane holds a NaN (or the ISA has no vector version): the caller
 * computes that plane itself. */
gboolean nn_maxpool_plane (const float *src, guint w, guint oh, guint ow, float *out,
                           gint32 *argmax);

/* The backward pass of output row @oy (@ow gradients @g, @argmax from the
 * forward pass) into the plane @din, @w floats wide: the winner of each
 * window gets its gradient, the other three inputs zero; with @pooled
 * (the forward output, may be NULL) only where that is positive, which is
 * the backward pass of a ReLU before the pooling too. */
void nn_maxpool_backward_row (const float *g, const gint32 *argmax, const float *pooled,
                              guint w, guint oy, guint ow, float *din);

/* "avx512", "avx2" or "generic". */
const char *nn_tile_kernel_name (void);

G_END_DECLS

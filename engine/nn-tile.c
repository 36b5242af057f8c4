/* nn-tile.c — picks a kernel of nn-tile-body.h for the CPU and splits
 * tiles into the register blocks it has.
 *
 * The blocks a kernel keeps in registers depend on the ISA: AVX-512 has 32
 * vector registers of 16 floats, room for 28 accumulators (6 rows x 4
 * units, 14 x 2, ...); AVX2 needs two of its 16 registers per unit. The
 * dispatcher chooses the division of a tile that a small cost model (FMA
 * throughput, loads, FMA latency) expects to run fastest; since every
 * element is summed in the same order by every block, the choice changes
 * the speed only.
 */
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_X86_KERNELS 1
#endif

#include "nn-tile.h"

typedef float v16 __attribute__ ((vector_size (64)));
typedef gint32 v16i __attribute__ ((vector_size (64)));
typedef gint32 v16iu __attribute__ ((vector_size (64), aligned (4), may_alias));
typedef float v16u __attribute__ ((vector_size (64), aligned (4), may_alias));
typedef float v8 __attribute__ ((vector_size (32)));
typedef gint32 v8i __attribute__ ((vector_size (32)));
typedef gint32 v8iu __attribute__ ((vector_size (32), aligned (4), may_alias));
typedef float v8u __attribute__ ((vector_size (32), aligned (4), may_alias));
typedef float v4 __attribute__ ((vector_size (16)));
typedef gint32 v4i __attribute__ ((vector_size (16)));
typedef gint32 v4iu __attribute__ ((vector_size (16), aligned (4), may_alias));
typedef float v4u __attribute__ ((vector_size (16), aligned (4), may_alias));

/* A kernel runs @blocks register blocks side by side along the columns,
 * in each of @strips strips of its rows one under the other. */
typedef void (*TileFn) (const NnTile *t, guint blocks, guint strips);
typedef void (*DotFn) (const NnDotTile *t);

/* Bytes of L1 data cache to plan for (48 KiB on Zen 4 and 5, 32 to 48 on
 * recent Intel cores). */
#define L1_BYTES (32 * 1024)

#define TILE_MAX_UNITS 4
#define TILE_MAX_ROWS  14
#define DOT_MAX_ROWS   4
#define DOT_MAX_COLS   5

/* ---- Plain C: 4-float vectors (SSE2, NEON) ------------------------------ */

#define TILE_SHAPES(X) X (1, 1) X (2, 1) X (3, 1)
#define DOT_SHAPES(X) X (1, 1) X (1, 2) X (2, 1) X (2, 2)
#define TILE_ISA generic
#define TILE_VW 4
#define tvec v4
#define tvecu v4u
#define tveci v4i
#define tveciu v4iu
#include "nn-tile-body.h"
#undef TILE_ISA
#undef TILE_VW
#undef tvec
#undef tvecu
#undef tveci
#undef tveciu
#undef TILE_SHAPES
#undef DOT_SHAPES

#ifdef HAVE_X86_KERNELS

/* ---- AVX2 + FMA: 16 registers of 8 floats ------------------------------- */

/* No 3 x 2 block: its 12 accumulators, 4 vectors of B and a broadcast are
 * one register too many, and it ran at half the speed of two 3 x 1 blocks
 * (Zen 3). */
#pragma GCC push_options
#pragma GCC target ("avx2,fma")
#define TILE_SHAPES(X) X (1, 1) X (2, 1) X (3, 1) X (4, 1) X (5, 1) X (6, 1) \
                       X (1, 2) X (2, 2)
#define DOT_SHAPES(X) X (1, 1) X (1, 2) X (2, 1) X (2, 2)
#define TILE_ISA avx2
#define TILE_VW 8
#define tvec v8
#define tvecu v8u
#define tveci v8i
#define tveciu v8iu
#include "nn-tile-body.h"
#undef TILE_ISA
#undef TILE_VW
#undef tvec
#undef tvecu
#undef tveci
#undef tveciu
#undef TILE_SHAPES
#undef DOT_SHAPES
#pragma GCC pop_options

/* ---- AVX-512: 32 registers of 16 floats --------------------------------- */

#pragma GCC push_options
#pragma GCC target ("avx512f,avx2,fma")
#define ROWS_1_TO_6(X, NU) X (1, NU) X (2, NU) X (3, NU) X (4, NU) X (5, NU) X (6, NU)
#define ROWS_1_TO_8(X, NU) ROWS_1_TO_6 (X, NU) X (7, NU) X (8, NU)
#define ROWS_1_TO_14(X, NU) ROWS_1_TO_8 (X, NU) X (9, NU) X (10, NU) X (11, NU) \
                            X (12, NU) X (13, NU) X (14, NU)
#define TILE_SHAPES(X) ROWS_1_TO_14 (X, 1) ROWS_1_TO_14 (X, 2) ROWS_1_TO_8 (X, 3) \
                       ROWS_1_TO_6 (X, 4)
#define DOT_COLS(X, MR) X (MR, 1) X (MR, 2) X (MR, 3) X (MR, 4) X (MR, 5)
#define DOT_SHAPES(X) DOT_COLS (X, 1) DOT_COLS (X, 2) DOT_COLS (X, 3) DOT_COLS (X, 4)
#define TILE_ISA avx512
#define TILE_VW 16
#define tvec v16
#define tvecu v16u
#define tveci v16i
#define tveciu v16iu
#include "nn-tile-body.h"
#undef TILE_ISA
#undef TILE_VW
#undef tvec
#undef tvecu
#undef tveci
#undef tveciu
#undef TILE_SHAPES
#undef DOT_SHAPES
#pragma GCC pop_options

#endif

/* ---- Choosing ----------------------------------------------------------- */

typedef void (*TransposeFn) (const float *src, gsize src_stride, guint rows, guint cols,
                             float *dst, gsize dst_stride);
typedef void (*TransposeSumFn) (const float *src, gsize src_stride, guint rows, guint cols,
                                float *dst, gsize dst_stride, float *sums);

typedef struct {
  const char *name;
  const TileFn (*tiles)[TILE_MAX_ROWS];
  const DotFn (*dots)[DOT_MAX_COLS];
  TransposeFn transpose;
  TransposeSumFn transpose_sum;
  TransposeFn copy_block;
  gboolean  (*maxpool_plane) (const float *src, guint w, guint oh, guint ow, float *out,
                              gint32 *argmax);
  void      (*maxpool_backward_row) (const float *g, const gint32 *argmax, const float *pooled,
                                     guint w, guint oy, guint ow, float *din);
  guint vector_floats;      /* floats per hardware vector */
} Kernels;

static const Kernels *
kernels (void)
{
  static Kernels chosen;
  static gsize initialised;

  if (g_once_init_enter (&initialised))
    {
      /* DIGITLAB_GEMM_KERNEL=generic|avx2 asks for a lesser kernel, to
       * compare or time them. */
      G_GNUC_UNUSED const char *wanted = g_getenv ("DIGITLAB_GEMM_KERNEL");

      chosen = (Kernels) { "generic", tiles_generic, dots_generic, transpose_generic, transpose_sum_generic, copy_block_generic, maxpool_plane_generic, maxpool_backward_row_generic, 4 };
#ifdef HAVE_X86_KERNELS
      __builtin_cpu_init ();
      if (g_strcmp0 (wanted, "generic") != 0)
        {
          if (__builtin_cpu_supports ("avx512f") && g_strcmp0 (wanted, "avx2") != 0)
            chosen = (Kernels) { "avx512", tiles_avx512, dots_avx512, transpose_avx512, transpose_sum_avx512, copy_block_avx512, maxpool_plane_avx512, maxpool_backward_row_avx512, 16 };
          else if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
            chosen = (Kernels) { "avx2", tiles_avx2, dots_avx2, transpose_avx2, transpose_sum_avx2, copy_block_avx2, maxpool_plane_avx2, maxpool_backward_row_avx2, 8 };
        }
#endif
      g_once_init_leave (&initialised, 1);
    }
  return &chosen;
}

const char *
nn_tile_kernel_name (void)
{
  return kernels ()->name;
}

static guint
max_rows (const Kernels *k, guint units)
{
  guint rows = 0;

  while (rows < TILE_MAX_ROWS && k->tiles[units - 1][rows] != NULL)
    rows++;
  return rows;
}

/* Estimated cycles per reduction step of a rows x units block: FMAs issue
 * two per cycle, loads (broadcasts and B vectors) about two per cycle, and
 * each accumulator waits ~4 cycles for its previous FMA. */
static guint
block_cost (const Kernels *k, guint rows, guint units)
{
  guint per_unit = NN_TILE_UNIT / k->vector_floats;
  guint fmas = rows * units * per_unit;
  guint loads = rows + units * per_unit;

  return MAX (MAX (fmas, loads), 8);
}

/* The rows go to as few strips as the widest block allows, of heights
 * that differ by one at most: 32 rows are 11 + 11 + 10, not 14 + 14 + 4,
 * whose last block would wait on its few accumulators' latency. */
static guint
strip_count (const Kernels *k, guint rows, guint unit_step)
{
  guint tallest = max_rows (k, unit_step);

  return (rows + tallest - 1) / tallest;
}

/* Cost of covering @rows x @units with blocks of @unit_step units (the
 * last block of columns may have fewer). */
static guint
plan_cost (const Kernels *k, guint rows, guint units, guint unit_step)
{
  guint strips = strip_count (k, rows, unit_step);
  guint low = rows / strips, taller = rows % strips;
  guint full_groups = units / unit_step, last_units = units % unit_step;
  guint per_group = taller * block_cost (k, low + 1, unit_step)
                    + (strips - taller) * block_cost (k, low, unit_step);
  guint last_group = last_units == 0 ? 0
                     : taller * block_cost (k, low + 1, last_units)
                       + (strips - taller) * block_cost (k, low, last_units);

  return full_groups * per_group + last_group;
}

void
nn_tile_run (const NnTile *tile)
{
  const Kernels *k = kernels ();
  guint units = (guint) (nn_tile_round_up (tile->cols) / NN_TILE_UNIT);
  guint best_step = 1, best_cost = G_MAXUINT, strips, low, taller;
  gsize steps_bytes;
  gboolean column_major;

  g_return_if_fail (tile->rows > 0 && tile->cols > 0);

  for (guint step = 1; step <= MIN (units, TILE_MAX_UNITS); step++)
    {
      guint cost;

      if (k->tiles[step - 1][0] == NULL)
        break;
      cost = plan_cost (k, tile->rows, units, step);
      if (cost < best_cost)
        {
          best_cost = cost;
          best_step = step;
        }
    }
  /* A block with fewer units holds at least as many rows. */
  strips = strip_count (k, tile->rows, best_step);

  /* Row-major order, each strip of rows meeting all of B in one kernel
   * call, when B stays in L1 meanwhile; otherwise, when a block of B's
   * columns fits in L1 beside its strip of A, every strip meets it there
   * before the next block. */
  steps_bytes = (gsize) tile->steps * tile->segments * tile->groups * NN_TILE_UNIT * sizeof (float);
  column_major = steps_bytes * units > L1_BYTES * 3 / 4
                 && steps_bytes * best_step <= L1_BYTES / 2;
  /* The taller strips first, so that strips of one height follow each
   * other: column-major, one kernel call then takes all of them, where a
   * call per block made conv5x5:64's backward pass (27 strips of 6 and 5
   * rows in its weight gradient) 2 to 7% slower. */
  low = tile->rows / strips;
  taller = tile->rows % strips;
  for (guint outer = 0; outer < (column_major ? units : strips);
       outer += column_major ? best_step : 1)
    for (guint inner = 0; inner < (column_major ? 2 : units);)
      {
        /* Column-major, @inner is the taller strips, then the others. */
        guint strip = column_major ? (inner == 0 ? 0 : taller) : outer;
        guint u0 = column_major ? outer : inner;
        guint count = !column_major ? 1 : inner == 0 ? taller : strips - taller;
        guint mr = strip < taller ? low + 1 : low;
        guint r0 = strip * low + MIN (strip, taller);
        guint nu = MIN (best_step, units - u0);
        /* Row-major, every whole block of the strip in one call, then a
         * narrower last one. */
        guint blocks = column_major || nu < best_step ? 1 : (units - u0) / best_step;
        NnTile block = *tile;

        inner += column_major ? 1 : blocks * nu;
        if (count == 0)
          continue;
        block.first_row = tile->first_row + r0;
        block.b = tile->b + u0 * NN_TILE_UNIT;
        block.c = tile->c + (gssize) r0 * tile->c_rs + u0 * NN_TILE_UNIT;
        block.rows = mr * count;
        block.cols = MIN (tile->cols - u0 * NN_TILE_UNIT, blocks * nu * NN_TILE_UNIT);
        block.col_bias = tile->col_bias ? tile->col_bias + u0 * NN_TILE_UNIT : NULL;
        block.row_bias = tile->row_bias ? tile->row_bias + r0 : NULL;
        k->tiles[nu - 1][mr - 1] (&block, blocks, count);
      }
}

void
nn_dot_tile_run (const NnDotTile *tile)
{
  const Kernels *k = kernels ();
  guint rows_step = 0, cols_step = 0;

  /* Every ISA has every combination up to its largest block. */
  while (rows_step < DOT_MAX_ROWS && k->dots[rows_step][0] != NULL)
    rows_step++;
  while (cols_step < DOT_MAX_COLS && k->dots[0][cols_step] != NULL)
    cols_step++;

  for (guint r0 = 0; r0 < tile->rows; r0 += rows_step)
    for (guint c0 = 0; c0 < tile->cols; c0 += cols_step)
      {
        guint mr = MIN (rows_step, tile->rows - r0);
        guint nc = MIN (cols_step, tile->cols - c0);
        NnDotTile block = *tile;

        block.a = tile->a + (gssize) r0 * tile->a_rs;
        block.b = tile->b + (gssize) c0 * tile->b_rs;
        block.c = tile->c + (gssize) r0 * tile->c_rs + (gssize) c0 * tile->c_cs;
        block.rows = mr;
        block.cols = nc;
        k->dots[mr - 1][nc - 1] (&block);
      }
}

void
nn_transpose (const float *src, gsize src_stride, guint rows, guint cols,
              float *dst, gsize dst_stride)
{
  if (rows > 0 && cols > 0)
    kernels ()->transpose (src, src_stride, rows, cols, dst, dst_stride);
}

void
nn_transpose_sum (const float *src, gsize src_stride, guint rows, guint cols,
                  float *dst, gsize dst_stride, float *sums)
{
  if (rows > 0 && cols > 0)
    kernels ()->transpose_sum (src, src_stride, rows, cols, dst, dst_stride, sums);
}

void
nn_copy_block (const float *src, gsize src_stride, guint rows, guint len,
               float *dst, gsize dst_stride)
{
  if (rows > 0 && len > 0)
    kernels ()->copy_block (src, src_stride, rows, len, dst, dst_stride);
}

gboolean
nn_maxpool_plane (const float *src, guint w, guint oh, guint ow, float *out, gint32 *argmax)
{
  return kernels ()->maxpool_plane (src, w, oh, ow, out, argmax);
}

void
nn_maxpool_backward_row (const float *g, const gint32 *argmax, const float *pooled,
                         guint w, guint oy, guint ow, float *din)
{
  kernels ()->maxpool_backward_row (g, argmax, pooled, w, oy, ow, din);
}

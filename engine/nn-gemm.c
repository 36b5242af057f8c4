/* nn-gemm.c — single-precision matrix multiply on the engine's tiles.
 *
 * op(B) untransposed is read where it lies by broadcast tiles (nn-tile.h):
 * a value of op(A) times 16 consecutive values of a row of B, accumulated
 * in registers. Only a last partial unit of columns is copied, zero-padded,
 * so that no vector reads past a row's end. With B transposed both operands
 * are contiguous along k, which is the shape of the dot tiles. Only A and B
 * both transposed, which the engine never asks for, copies B whole.
 *
 * Blocks of KC steps along k (DOT_KC for dot tiles) and NC columns keep the
 * working set in L2. Determinism: the k-blocks are always [0, KC),
 * [KC, 2 KC), ..., each one summed and merged into C in that order, and a
 * tile's sums do not depend on its size, so an element of C comes out the
 * same however rows and columns are divided among calls or threads.
 */
#include <string.h>

#include "nn-gemm.h"
#include "nn-private.h"
#include "nn-team.h"
#include "nn-tile.h"

#define KC 256       /* steps of k per block */
#define DOT_KC 1024  /* dot tiles reduce their lanes once per block: longer ones */
#define NC 256     /* columns of B per block; a multiple of NN_TILE_UNIT */

const char *
nn_sgemm_kernel_name (void)
{
  return nn_tile_kernel_name ();
}

/* ---- Scratch ------------------------------------------------------------ */

/* Each thread copies into its own buffer, made on its first multiply and
 * freed when the thread ends. */
static void
pack_buffer_free (gpointer data)
{
  g_aligned_free (data);
}

static GPrivate pack_key = G_PRIVATE_INIT (pack_buffer_free);

static float *
pack_buffer (void)
{
  float *buffer = g_private_get (&pack_key);

  if (buffer == NULL)
    {
      buffer = g_aligned_alloc (KC * NC, sizeof (float), 64);
      g_private_set (&pack_key, buffer);
    }
  return buffer;
}

/* How block number @block along k merges into C. Only STORE skips reading
 * C, so garbage in an output buffer is never touched. */
static NnTileMode
block_mode (gsize block, float alpha, float beta, float *block_alpha, float *block_beta)
{
  *block_alpha = alpha;
  *block_beta = block == 0 ? beta : 1.0f;
  if (alpha != 1.0f)
    return NN_TILE_SCALE;
  if (*block_beta == 0.0f)
    return NN_TILE_STORE;
  return *block_beta == 1.0f ? NN_TILE_ACCUMULATE : NN_TILE_SCALE;
}

static void
scale_c (gsize m, gsize n, float beta, float *c, gsize ldc)
{
  for (gsize i = 0; i < m; i++)
    for (gsize j = 0; j < n; j++)
      c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
}

/* ---- B untransposed: broadcast tiles ------------------------------------ */

/* Columns [0, n) of rows [0, kc) of B into rows of NN_TILE_UNIT floats,
 * zero-padded; @transposed reads B's rows as columns. */
NN_INLINE_COPIES static void
pack_columns (gboolean transposed, gsize kc, gsize n, const float *b, gsize ldb,
              float *dest, gsize width)
{
  for (gsize p = 0; p < kc; p++)
    {
      float *row = dest + p * width;
      gsize j;

      for (j = 0; j < n; j++)
        row[j] = transposed ? b[j * ldb + p] : b[p * ldb + j];
      for (; j < width; j++)
        row[j] = 0.0f;
    }
}

static void
gemm_broadcast (gboolean trans_a, gboolean trans_b, gsize m, gsize n, gsize k,
                float alpha, const float *a, gsize lda, const float *b, gsize ldb,
                float beta, float *c, gsize ldc)
{
  float *packed = pack_buffer ();
  NnTile tile = { 0 };

  tile.a_rs = trans_a ? 1 : (gssize) lda;
  tile.a_ts = trans_a ? (gssize) lda : 1;
  tile.segments = 1;
  tile.groups = 1;
  tile.c_rs = (gssize) ldc;
  tile.rows = (guint) m;

  for (gsize jc = 0; jc < n; jc += NC)
    {
      gsize nc = MIN (NC, n - jc);
      /* Whole units are read in place (unless B is transposed); the rest
       * goes through a zero-padded copy. */
      gsize direct = trans_b ? 0 : nc / NN_TILE_UNIT * NN_TILE_UNIT;

      for (gsize pc = 0, block = 0; pc < k; pc += KC, block++)
        {
          gsize kc = MIN (KC, k - pc);

          tile.mode = block_mode (block, alpha, beta, &tile.alpha, &tile.beta);
          tile.a = a + (trans_a ? pc * lda : pc);
          tile.steps = (guint) kc;
          if (direct > 0)
            {
              tile.b = b + pc * ldb + jc;
              tile.b_ts = (gssize) ldb;
              tile.c = c + jc;
              tile.cols = (guint) direct;
              nn_tile_run (&tile);
            }
          if (direct < nc)
            {
              gsize width = nn_tile_round_up (nc - direct);
              const float *source = trans_b ? b + (jc + direct) * ldb + pc
                                            : b + pc * ldb + jc + direct;

              pack_columns (trans_b, kc, nc - direct, source, ldb, packed, width);
              tile.b = packed;
              tile.b_ts = (gssize) width;
              tile.c = c + jc + direct;
              tile.cols = (guint) (nc - direct);
              nn_tile_run (&tile);
            }
        }
    }
}

/* ---- B transposed: dot tiles -------------------------------------------- */

static void
gemm_dot (gsize m, gsize n, gsize k, float alpha, const float *a, gsize lda,
          const float *b, gsize ldb, float beta, float *c, gsize ldc)
{
  NnDotTile tile = { 0 };

  tile.a_rs = (gssize) lda;
  tile.b_rs = (gssize) ldb;
  tile.segments = 1;
  tile.groups = 1;
  tile.c_rs = (gssize) ldc;
  tile.c_cs = 1;
  tile.rows = (guint) m;

  for (gsize jc = 0; jc < n; jc += NC)
    for (gsize pc = 0, block = 0; pc < k; pc += DOT_KC, block++)
      {
        tile.mode = block_mode (block, alpha, beta, &tile.alpha, &tile.beta);
        tile.a = a + pc;
        tile.b = b + jc * ldb + pc;
        tile.c = c + jc;
        tile.cols = (guint) MIN (NC, n - jc);
        tile.length = MIN (DOT_KC, k - pc);
        nn_dot_tile_run (&tile);
      }
}

void
nn_sgemm (gboolean trans_a, gboolean trans_b,
          gsize m, gsize n, gsize k,
          float alpha, const float *a, gsize lda,
          const float *b, gsize ldb,
          float beta, float *c, gsize ldc)
{
  if (m == 0 || n == 0)
    return;
  if (k == 0)
    {
      scale_c (m, n, beta, c, ldc);
      return;
    }
  if (trans_b && !trans_a)
    gemm_dot (m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  else
    gemm_broadcast (trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* Below this many multiply-adds a parallel job costs more than it saves. */
#define THREADED_MIN_WORK (1 << 18)

typedef struct {
  gboolean     trans_a, trans_b, split_columns;
  gsize        m, n, k, unit;
  float        alpha, beta;
  const float *a, *b;
  gsize        lda, ldb, ldc;
  float       *c;
} GemmJob;

static void
gemm_range (gpointer data, gsize first_part, gsize last_part)
{
  const GemmJob *j = data;
  gsize first = first_part * j->unit;
  gsize last = MIN (last_part * j->unit, j->split_columns ? j->n : j->m);

  if (first >= last)
    return;
  if (j->split_columns)
    nn_sgemm (j->trans_a, j->trans_b, j->m, last - first, j->k, j->alpha, j->a, j->lda,
              j->trans_b ? j->b + first * j->ldb : j->b + first, j->ldb,
              j->beta, j->c + first, j->ldc);
  else
    nn_sgemm (j->trans_a, j->trans_b, last - first, j->n, j->k, j->alpha,
              j->trans_a ? j->a + first : j->a + first * j->lda, j->lda, j->b, j->ldb,
              j->beta, j->c + first * j->ldc, j->ldc);
}

void
nn_sgemm_threaded (gboolean trans_a, gboolean trans_b,
                   gsize m, gsize n, gsize k,
                   float alpha, const float *a, gsize lda,
                   const float *b, gsize ldb,
                   float beta, float *c, gsize ldc)
{
  guint n_threads = (guint) MAX (nn_get_threads (), 1);
  GemmJob job = { trans_a, trans_b, FALSE, m, n, k, 1, alpha, beta, a, b, lda, ldb, ldc, c };
  gsize parts;

  if (n_threads <= 1 || (double) m * n * k < THREADED_MIN_WORK)
    {
      nn_sgemm (trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
      return;
    }

  /* Columns in whole units when there are enough of them, else rows; any
   * split gives the same numbers. */
  job.split_columns = n >= (gsize) n_threads * NN_TILE_UNIT * 2 || n >= m;
  job.unit = job.split_columns ? NN_TILE_UNIT : 1;
  /* Dot tiles stream all of A again for every part of the columns, so
   * one part per thread (bench-cnn's forward pass on 2 threads: 0.6%
   * faster than parts of one unit). */
  if (job.split_columns && trans_b && !trans_a)
    job.unit = nn_tile_round_up ((n + n_threads - 1) / n_threads);
  parts = ((job.split_columns ? n : m) + job.unit - 1) / job.unit;
  nn_team_for (parts, n_threads, gemm_range, &job);
}

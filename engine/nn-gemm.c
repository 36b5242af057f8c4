/* nn-gemm.c — a blocked single-precision matrix multiply.
 *
 * The classic Goto/BLIS structure: op(B) is packed in k x NR panels,
 * op(A) in MR x k panels, and a register-tiled micro-kernel accumulates an
 * MR x NR block of C over one k-block at a time. The micro-kernel is written
 * once with GCC vector types and compiled for AVX-512, AVX2+FMA and the
 * baseline; the best one the CPU has is picked on first use.
 *
 * Determinism: the k-blocks are always [0, KC), [KC, 2 KC), ... and each
 * block is added to C in order, and partial tiles are computed like full
 * ones (zero-padded panels), so an element of C comes out the same however
 * the rows and columns are divided among calls or threads.
 */
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "nn-gemm.h"
#include "nn-private.h"

#define MR 6
#define NR 16
#define KC 256
#define MC 96     /* a multiple of MR; MC x KC of A stays in L1/L2 */
#define NC 1024   /* a multiple of NR; KC x NC of B stays in L2 */

typedef float v16 __attribute__ ((vector_size (NR * sizeof (float))));
typedef float v16u __attribute__ ((vector_size (NR * sizeof (float)), aligned (4), may_alias));

/* ---- Packing ----------------------------------------------------------- */

/* Rows [0, mc) x columns [0, kc) of op(A) into MR-row panels; each panel
 * is kc steps of MR values, rows past mc are zero. */
NN_INLINE_COPIES static void
pack_a (gboolean trans, gsize mc, gsize kc, const float *a, gsize lda, float *dest)
{
  for (gsize ir = 0; ir < mc; ir += MR)
    {
      gsize rows = MIN (MR, mc - ir);
      float *panel = dest + ir * kc;

      if (!trans)
        {
          for (gsize i = 0; i < rows; i++)
            {
              const float *src = a + (ir + i) * lda;

              for (gsize p = 0; p < kc; p++)
                panel[p * MR + i] = src[p];
            }
          for (gsize i = rows; i < MR; i++)
            for (gsize p = 0; p < kc; p++)
              panel[p * MR + i] = 0.0f;
        }
      else
        {
          for (gsize p = 0; p < kc; p++)
            {
              const float *src = a + p * lda + ir;
              gsize i;

              for (i = 0; i < rows; i++)
                panel[p * MR + i] = src[i];
              for (; i < MR; i++)
                panel[p * MR + i] = 0.0f;
            }
        }
    }
}

/* Rows [0, kc) x columns [0, nc) of op(B) into NR-column panels; each panel
 * is kc steps of NR values, columns past nc are zero. */
NN_INLINE_COPIES static void
pack_b (gboolean trans, gsize kc, gsize nc, const float *b, gsize ldb, float *dest)
{
  for (gsize jr = 0; jr < nc; jr += NR)
    {
      gsize cols = MIN (NR, nc - jr);
      float *panel = dest + jr * kc;

      if (!trans)
        {
          for (gsize p = 0; p < kc; p++)
            {
              const float *src = b + p * ldb + jr;
              float *row = panel + p * NR;
              gsize j;

              for (j = 0; j < cols; j++)
                row[j] = src[j];
              for (; j < NR; j++)
                row[j] = 0.0f;
            }
        }
      else
        {
          for (gsize j = 0; j < cols; j++)
            {
              const float *src = b + (jr + j) * ldb;

              for (gsize p = 0; p < kc; p++)
                panel[p * NR + j] = src[p];
            }
          for (gsize j = cols; j < NR; j++)
            for (gsize p = 0; p < kc; p++)
              panel[p * NR + j] = 0.0f;
        }
    }
}

/* ---- Kernels ----------------------------------------------------------- */

/* How a k-block's sums reach C. Only STORE skips reading C, so garbage in
 * an output buffer is never touched; alpha == 1 and beta in {0, 1} avoid
 * multiplies, so FMA contraction cannot make full and partial tiles round
 * differently. */
typedef enum { MERGE_STORE, MERGE_ADD, MERGE_SCALE } Merge;

static inline __attribute__ ((always_inline)) float
merge (Merge how, float c, float acc, float alpha, float beta)
{
  float v = alpha == 1.0f ? acc : alpha * acc;

  switch (how)
    {
    case MERGE_STORE: return v;
    case MERGE_ADD:   return c + v;
    default:          return beta * c + v;
    }
}

static inline __attribute__ ((always_inline)) void
merge_row (Merge how, float *c, const v16 *acc, float alpha, float beta)
{
  v16 v = alpha == 1.0f ? *acc : alpha * *acc;

  if (how == MERGE_STORE)
    *(v16u *) c = v;
  else if (how == MERGE_ADD)
    *(v16u *) c = *(v16u *) c + v;
  else
    *(v16u *) c = beta * *(v16u *) c + v;
}

/* C[mc x nc] merged with packed A (mc x kc) times packed B (kc x nc). */
static inline __attribute__ ((always_inline)) void
macro_kernel_body (gsize mc, gsize nc, gsize kc,
                   const float *restrict ap, const float *restrict bp,
                   float *restrict c, gsize ldc,
                   float alpha, float beta, gboolean first)
{
  Merge how = !first || beta == 1.0f ? MERGE_ADD : beta == 0.0f ? MERGE_STORE : MERGE_SCALE;

  for (gsize jr = 0; jr < nc; jr += NR)
    {
      const float *bpanel = bp + jr * kc;
      gsize cols = MIN (NR, nc - jr);

      for (gsize ir = 0; ir < mc; ir += MR)
        {
          const float *apanel = ap + ir * kc;
          gsize rows = MIN (MR, mc - ir);
          v16 c0 = { 0 }, c1 = { 0 }, c2 = { 0 }, c3 = { 0 }, c4 = { 0 }, c5 = { 0 };

          for (gsize p = 0; p < kc; p++)
            {
              v16 bv = *(const v16 *) (bpanel + p * NR);
              const float *av = apanel + p * MR;

              c0 += av[0] * bv;
              c1 += av[1] * bv;
              c2 += av[2] * bv;
              c3 += av[3] * bv;
              c4 += av[4] * bv;
              c5 += av[5] * bv;
            }

          if (rows == MR && cols == NR)
            {
              float *ct = c + ir * ldc + jr;

              merge_row (how, ct + 0 * ldc, &c0, alpha, beta);
              merge_row (how, ct + 1 * ldc, &c1, alpha, beta);
              merge_row (how, ct + 2 * ldc, &c2, alpha, beta);
              merge_row (how, ct + 3 * ldc, &c3, alpha, beta);
              merge_row (how, ct + 4 * ldc, &c4, alpha, beta);
              merge_row (how, ct + 5 * ldc, &c5, alpha, beta);
            }
          else
            {
              float tile[MR][NR] __attribute__ ((aligned (64)));

              memcpy (tile[0], &c0, sizeof c0);
              memcpy (tile[1], &c1, sizeof c1);
              memcpy (tile[2], &c2, sizeof c2);
              memcpy (tile[3], &c3, sizeof c3);
              memcpy (tile[4], &c4, sizeof c4);
              memcpy (tile[5], &c5, sizeof c5);
              for (gsize i = 0; i < rows; i++)
                {
                  float *crow = c + (ir + i) * ldc + jr;

                  for (gsize j = 0; j < cols; j++)
                    crow[j] = merge (how, crow[j], tile[i][j], alpha, beta);
                }
            }
        }
    }
}

typedef void (*MacroKernel) (gsize mc, gsize nc, gsize kc,
                             const float *ap, const float *bp,
                             float *c, gsize ldc,
                             float alpha, float beta, gboolean first);

static void
macro_kernel_generic (gsize mc, gsize nc, gsize kc, const float *ap, const float *bp,
                      float *c, gsize ldc, float alpha, float beta, gboolean first)
{
  macro_kernel_body (mc, nc, kc, ap, bp, c, ldc, alpha, beta, first);
}

#if (defined (__x86_64__) || defined (__i386__)) && defined (__GNUC__)
#define HAVE_X86_KERNELS 1

__attribute__ ((target ("avx2,fma"))) static void
macro_kernel_avx2 (gsize mc, gsize nc, gsize kc, const float *ap, const float *bp,
                   float *c, gsize ldc, float alpha, float beta, gboolean first)
{
  macro_kernel_body (mc, nc, kc, ap, bp, c, ldc, alpha, beta, first);
}

__attribute__ ((target ("avx512f,avx2,fma"))) static void
macro_kernel_avx512 (gsize mc, gsize nc, gsize kc, const float *ap, const float *bp,
                     float *c, gsize ldc, float alpha, float beta, gboolean first)
{
  macro_kernel_body (mc, nc, kc, ap, bp, c, ldc, alpha, beta, first);
}
#endif

typedef struct {
  MacroKernel kernel;
  const char *name;
} KernelChoice;

static const KernelChoice *
kernel_choice (void)
{
  static KernelChoice choice;
  static gsize initialised;

  if (g_once_init_enter (&initialised))
    {
      /* DIGITLAB_GEMM_KERNEL=generic|avx2 asks for a lesser kernel, to
       * compare or time them. AVX2 and AVX-512 do the same FMAs in the
       * same order, so they give bitwise the same results. */
      const char *wanted = g_getenv ("DIGITLAB_GEMM_KERNEL");

      choice = (KernelChoice) { macro_kernel_generic, "generic" };
#ifdef HAVE_X86_KERNELS
      __builtin_cpu_init ();
      if (g_strcmp0 (wanted, "generic") != 0)
        {
          if (__builtin_cpu_supports ("avx512f") && g_strcmp0 (wanted, "avx2") != 0)
            choice = (KernelChoice) { macro_kernel_avx512, "avx512" };
          else if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
            choice = (KernelChoice) { macro_kernel_avx2, "avx2" };
        }
#endif
      g_once_init_leave (&initialised, 1);
    }
  return &choice;
}

const char *
nn_sgemm_kernel_name (void)
{
  return kernel_choice ()->name;
}

/* ---- Driver ------------------------------------------------------------ */

/* Each thread packs into its own buffers, made on its first multiply and
 * freed when the thread ends. */
static void
pack_buffers_free (gpointer data)
{
  g_aligned_free (data);
}

static GPrivate pack_key = G_PRIVATE_INIT (pack_buffers_free);

static float *
pack_buffers (void)
{
  float *buffers = g_private_get (&pack_key);

  if (buffers == NULL)
    {
      buffers = g_aligned_alloc (MC * KC + KC * NC, sizeof (float), 64);
      g_private_set (&pack_key, buffers);
    }
  return buffers;
}

static void
scale_c (gsize m, gsize n, float beta, float *c, gsize ldc)
{
  for (gsize i = 0; i < m; i++)
    for (gsize j = 0; j < n; j++)
      c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
}

void
nn_sgemm (gboolean trans_a, gboolean trans_b,
          gsize m, gsize n, gsize k,
          float alpha, const float *a, gsize lda,
          const float *b, gsize ldb,
          float beta, float *c, gsize ldc)
{
  MacroKernel kernel;
  float *packed_a, *packed_b;

  if (m == 0 || n == 0)
    return;
  if (k == 0)
    {
      scale_c (m, n, beta, c, ldc);
      return;
    }

  kernel = kernel_choice ()->kernel;
  packed_a = pack_buffers ();
  packed_b = packed_a + MC * KC;

  for (gsize jc = 0; jc < n; jc += NC)
    {
      gsize nc = MIN (NC, n - jc);

      for (gsize pc = 0; pc < k; pc += KC)
        {
          gsize kc = MIN (KC, k - pc);
          const float *b_block = trans_b ? b + jc * ldb + pc : b + pc * ldb + jc;

          pack_b (trans_b, kc, nc, b_block, ldb, packed_b);
          for (gsize ic = 0; ic < m; ic += MC)
            {
              gsize mc = MIN (MC, m - ic);
              const float *a_block = trans_a ? a + pc * lda + ic : a + ic * lda + pc;

              pack_a (trans_a, mc, kc, a_block, lda, packed_a);
              kernel (mc, nc, kc, packed_a, packed_b, c + ic * ldc + jc, ldc,
                      alpha, beta, pc == 0);
            }
        }
    }
}

/* Below this many multiply-adds a parallel region costs more than it saves. */
#define THREADED_MIN_WORK (1 << 18)

void
nn_sgemm_threaded (gboolean trans_a, gboolean trans_b,
                   gsize m, gsize n, gsize k,
                   float alpha, const float *a, gsize lda,
                   const float *b, gsize ldb,
                   float beta, float *c, gsize ldc)
{
  int n_threads = nn_get_threads ();
  gboolean split_columns;
  gsize tiles, unit;

  if (n_threads <= 1 || (double) m * n * k < THREADED_MIN_WORK)
    {
      nn_sgemm (trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
      return;
    }

  /* Split the dimension that gives each thread more whole tiles. Splits
   * fall on tile boundaries, so every tile is computed as it would be in
   * one call. */
  split_columns = (n + NR - 1) / NR >= (m + MR - 1) / MR;
  unit = split_columns ? NR : MR;
  tiles = ((split_columns ? n : m) + unit - 1) / unit;
  n_threads = (int) MIN ((gsize) n_threads, tiles);

#pragma omp parallel for num_threads (n_threads) schedule (static, 1)
  for (int t = 0; t < n_threads; t++)
    {
      gsize first = tiles * t / n_threads * unit;
      gsize last = MIN (tiles * (t + 1) / n_threads * unit, split_columns ? n : m);

      if (first >= last)
        continue;
      if (split_columns)
        nn_sgemm (trans_a, trans_b, m, last - first, k, alpha, a, lda,
                  trans_b ? b + first * ldb : b + first, ldb,
                  beta, c + first, ldc);
      else
        nn_sgemm (trans_a, trans_b, last - first, n, k, alpha,
                  trans_a ? a + first : a + first * lda, lda, b, ldb,
                  beta, c + first * ldc, ldc);
    }
}

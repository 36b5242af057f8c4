/* nn-gemm.h — the matrix multiply under convolutions and dense layers.
 *
 * One small BLAS-like interface so the kernel behind it can be tuned (or
 * swapped for a BLAS) without touching the layers. Row-major throughout.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* C (m x n) = alpha * op(A) op(B) + beta * C, where op(A) is m x k and
 * op(B) is k x n; op transposes when asked. With beta == 0, C is written
 * without being read. Single-threaded, so it can be called from inside a
 * parallel loop. Each element of C is summed over k in the same order
 * however the work is split, so results never depend on the split. */
void nn_sgemm          (gboolean trans_a, gboolean trans_b,
                        gsize m, gsize n, gsize k,
                        float alpha, const float *a, gsize lda,
                        const float *b, gsize ldb,
                        float beta, float *c, gsize ldc);

/* The same, split over nn_get_threads() threads by blocks of C (never
 * along k); bitwise equal to nn_sgemm. Inside a job of the team it runs on
 * its caller alone. */
void nn_sgemm_threaded (gboolean trans_a, gboolean trans_b,
                        gsize m, gsize n, gsize k,
                        float alpha, const float *a, gsize lda,
                        const float *b, gsize ldb,
                        float beta, float *c, gsize ldc);

/* The name of the kernel in use ("avx512", "avx2" or "generic"). */
const char *nn_sgemm_kernel_name (void);

G_END_DECLS

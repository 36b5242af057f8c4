/* nn-threads.c — how many threads the engine's OpenMP loops use.
 *
 * Kept in one process-wide value rather than OpenMP's per-thread setting,
 * because training runs on a worker thread while the app sets the number
 * from its main thread. Every parallel loop passes nn_get_threads() as its
 * num_threads clause.
 */
#include "nn.h"

#ifdef _OPENMP
#include <omp.h>
#endif

static gint requested_threads;   /* 0 = not set: use all cores */
#ifdef _OPENMP
static gint default_threads;     /* found on first use */
#endif

void
nn_set_threads (int n_threads)
{
  g_atomic_int_set (&requested_threads, MAX (n_threads, 0));
}

int
nn_get_threads (void)
{
#ifdef _OPENMP
  int n = g_atomic_int_get (&requested_threads);

  if (n > 0)
    return n;
  n = g_atomic_int_get (&default_threads);
  if (n == 0)
    {
      /* OMP_NUM_THREADS, when set, is what "all" means to whoever runs us. */
      n = MAX (omp_get_max_threads (), 1);
      g_atomic_int_set (&default_threads, n);
    }
  return n;
#else
  return 1;
#endif
}

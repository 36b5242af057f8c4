/* nn-threads.c — how many threads the engine's parallel loops use.
 *
 * Kept in one process-wide value, because training runs on a worker
 * thread while the app sets the number from its main thread. The loops
 * run on the team of nn-team.h, sized by nn_get_threads(); "all cores"
 * is what OpenMP reports (OMP_NUM_THREADS when set), and a build without
 * OpenMP runs everything on the calling thread.
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

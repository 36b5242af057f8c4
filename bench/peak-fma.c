/* peak-fma.c — measures this machine's single-precision FMA peak.
 *
 * The engine's kernels are judged against this figure ("every conv layer at
 * 60% of peak"), so it has to be the real ceiling: many independent FMA
 * chains on the widest vectors the CPU runs, enough of them to hide the FMA
 * latency on every pipe, timed on one core and on N threads at once.
 *
 *   peak-fma [--threads N] [--seconds S] [--isa auto|avx512|avx2] [--json]
 */
#include <glib.h>
#include <immintrin.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Per thread, each call of a kernel runs this many FMA instructions per
 * accumulator; the caller repeats calls until the time budget is spent. */
#define INNER_ITERATIONS 4096

/* 16 accumulators cover latency x pipes on every current core (4-cycle
 * latency, two FMA pipes needs 8); the AVX2 kernel has only 16 ymm
 * registers, two of which hold the constants, so it uses 12. */
#define AVX512_CHAINS 16
#define AVX2_CHAINS   12

typedef struct {
  const char *name;
  guint       lanes;    /* floats per vector */
  guint       chains;   /* independent accumulators */
  float     (*run) (guint64 calls);
} FmaKernel;

/* The multiplier and addend keep every accumulator near 1, far from
 * denormals and infinities whose slow paths would distort the timing. */
#define FMA_MUL 0.99999f
#define FMA_ADD 0.00001f

#define CHAIN_STEP_16(fma, acc, m, a) \
  acc[0] = fma (acc[0], m, a);   acc[1] = fma (acc[1], m, a);   \
  acc[2] = fma (acc[2], m, a);   acc[3] = fma (acc[3], m, a);   \
  acc[4] = fma (acc[4], m, a);   acc[5] = fma (acc[5], m, a);   \
  acc[6] = fma (acc[6], m, a);   acc[7] = fma (acc[7], m, a);   \
  acc[8] = fma (acc[8], m, a);   acc[9] = fma (acc[9], m, a);   \
  acc[10] = fma (acc[10], m, a); acc[11] = fma (acc[11], m, a); \
  acc[12] = fma (acc[12], m, a); acc[13] = fma (acc[13], m, a); \
  acc[14] = fma (acc[14], m, a); acc[15] = fma (acc[15], m, a);

#define CHAIN_STEP_12(fma, acc, m, a) \
  acc[0] = fma (acc[0], m, a);   acc[1] = fma (acc[1], m, a);   \
  acc[2] = fma (acc[2], m, a);   acc[3] = fma (acc[3], m, a);   \
  acc[4] = fma (acc[4], m, a);   acc[5] = fma (acc[5], m, a);   \
  acc[6] = fma (acc[6], m, a);   acc[7] = fma (acc[7], m, a);   \
  acc[8] = fma (acc[8], m, a);   acc[9] = fma (acc[9], m, a);   \
  acc[10] = fma (acc[10], m, a); acc[11] = fma (acc[11], m, a);

__attribute__ ((target ("avx512f")))
static float
fma_run_avx512 (guint64 calls)
{
  __m512 acc[AVX512_CHAINS];
  const __m512 mul = _mm512_set1_ps (FMA_MUL);
  const __m512 add = _mm512_set1_ps (FMA_ADD);

  for (guint c = 0; c < AVX512_CHAINS; c++)
    acc[c] = _mm512_set1_ps (1.0f + c * 1e-3f);

  for (guint64 call = 0; call < calls; call++)
    for (guint i = 0; i < INNER_ITERATIONS; i++)
      {
        CHAIN_STEP_16 (_mm512_fmadd_ps, acc, mul, add)
      }

  /* Returning the sum keeps the compiler from dropping the chains. */
  __m512 sum = acc[0];
  for (guint c = 1; c < AVX512_CHAINS; c++)
    sum = _mm512_add_ps (sum, acc[c]);
  return _mm512_reduce_add_ps (sum);
}

__attribute__ ((target ("avx2,fma")))
static float
fma_run_avx2 (guint64 calls)
{
  __m256 acc[AVX2_CHAINS];
  const __m256 mul = _mm256_set1_ps (FMA_MUL);
  const __m256 add = _mm256_set1_ps (FMA_ADD);

  for (guint c = 0; c < AVX2_CHAINS; c++)
    acc[c] = _mm256_set1_ps (1.0f + c * 1e-3f);

  for (guint64 call = 0; call < calls; call++)
    for (guint i = 0; i < INNER_ITERATIONS; i++)
      {
        CHAIN_STEP_12 (_mm256_fmadd_ps, acc, mul, add)
      }

  __m256 sum = acc[0];
  for (guint c = 1; c < AVX2_CHAINS; c++)
    sum = _mm256_add_ps (sum, acc[c]);
  float lanes[8];
  _mm256_storeu_ps (lanes, sum);
  float total = 0.0f;
  for (guint l = 0; l < 8; l++)
    total += lanes[l];
  return total;
}

static const FmaKernel kernel_avx512 = { "avx512", 16, AVX512_CHAINS, fma_run_avx512 };
static const FmaKernel kernel_avx2   = { "avx2",    8, AVX2_CHAINS,   fma_run_avx2 };

static double
flops_per_call (const FmaKernel *kernel)
{
  return 2.0 * kernel->lanes * kernel->chains * INNER_ITERATIONS;
}

/* ---- Running on N threads at once -------------------------------------- */

typedef struct {
  const FmaKernel *kernel;
  guint64          calls;
  gint            *go;        /* all threads start together */
  gint            *ready;
  gint64           end_us;
  float            sink;
} FmaWorker;

static gpointer
fma_worker (gpointer data)
{
  FmaWorker *worker = data;

  g_atomic_int_inc (worker->ready);
  while (!g_atomic_int_get (worker->go))
    ;
  worker->sink = worker->kernel->run (worker->calls);
  worker->end_us = g_get_monotonic_time ();
  return NULL;
}

/* GFLOP/s of @n_threads threads each running @calls kernel calls: the flops
 * of all threads over the time until the last one finished. */
static double
fma_measure (const FmaKernel *kernel, guint n_threads, guint64 calls)
{
  g_autofree FmaWorker *workers = g_new0 (FmaWorker, n_threads);
  g_autofree GThread **threads = g_new0 (GThread *, n_threads);
  gint go = 0, ready = 0;

  for (guint t = 0; t < n_threads; t++)
    {
      workers[t] = (FmaWorker) { kernel, calls, &go, &ready, 0, 0.0f };
      threads[t] = g_thread_new ("fma", fma_worker, &workers[t]);
    }
  while (g_atomic_int_get (&ready) < (gint) n_threads)
    g_thread_yield ();

  gint64 start_us = g_get_monotonic_time ();
  g_atomic_int_set (&go, 1);

  gint64 last_us = start_us;
  float sink = 0.0f;
  for (guint t = 0; t < n_threads; t++)
    {
      g_thread_join (threads[t]);
      last_us = MAX (last_us, workers[t].end_us);
      sink += workers[t].sink;
    }
  if (sink != sink)   /* never: only makes the result observable */
    g_printerr ("NaN\n");

  double seconds = MAX (last_us - start_us, 1) * 1e-6;
  return flops_per_call (kernel) * calls * n_threads / seconds * 1e-9;
}

/* Best of several runs of about @seconds / repeats each: the peak is what
 * the hardware can do, so noise (other processes, frequency ramp-up) only
 * ever lowers a run. */
static double
fma_peak (const FmaKernel *kernel, guint n_threads, double seconds)
{
  const guint repeats = 5;
  guint64 calls = 16;

  /* Calibrate on one thread so a run lasts the wanted time. */
  for (;;)
    {
      gint64 t0 = g_get_monotonic_time ();
      volatile float sink = kernel->run (calls);
      (void) sink;
      double elapsed = (g_get_monotonic_time () - t0) * 1e-6;
      if (elapsed > 0.02)
        {
          calls = MAX (1, (guint64) (calls * (seconds / repeats) / elapsed));
          break;
        }
      calls *= 4;
    }

  double best = 0.0;
  for (guint r = 0; r < repeats; r++)
    best = MAX (best, fma_measure (kernel, n_threads, calls));
  return best;
}

static const FmaKernel *
pick_kernel (const char *isa, GError **error)
{
  __builtin_cpu_init ();
  gboolean has_avx512 = __builtin_cpu_supports ("avx512f");
  gboolean has_avx2 = __builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma");

  if (g_strcmp0 (isa, "auto") == 0 || isa == NULL)
    {
      if (has_avx512)
        return &kernel_avx512;
      if (has_avx2)
        return &kernel_avx2;
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                   "this CPU has neither AVX-512 nor AVX2 with FMA");
      return NULL;
    }
  if (g_strcmp0 (isa, "avx512") == 0 && has_avx512)
    return &kernel_avx512;
  if (g_strcmp0 (isa, "avx2") == 0 && has_avx2)
    return &kernel_avx2;
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
               "ISA “%s” is unknown or not supported by this CPU (auto, avx512, avx2)", isa);
  return NULL;
}

int
main (int argc, char **argv)
{
  int n_threads = (int) g_get_num_processors ();
  double seconds = 1.0;
  g_autofree char *isa = NULL;
  gboolean json = FALSE;
  g_autoptr(GError) error = NULL;
  GOptionEntry entries[] = {
    { "threads", 't', 0, G_OPTION_ARG_INT, &n_threads, "Threads for the multi-thread figure (default: all cores)", "N" },
    { "seconds", 's', 0, G_OPTION_ARG_DOUBLE, &seconds, "Time spent on each figure (default 1)", "S" },
    { "isa", 0, 0, G_OPTION_ARG_STRING, &isa, "auto, avx512 or avx2", "ISA" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("— single-precision FMA peak");

  /* GOption prints its messages in the locale's encoding. */
  setlocale (LC_ALL, "");
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (context,
    "Times independent FMA chains on the widest vectors the CPU supports,\n"
    "first on one thread, then on N threads at once. The result is the\n"
    "ceiling the engine's kernels are measured against.");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("peak-fma: %s\n", error->message);
      return 2;
    }
  if (n_threads < 1 || n_threads > 1024 || !(seconds > 0.0 && seconds < 3600.0))
    {
      g_printerr ("peak-fma: --threads must be 1..1024 and --seconds positive\n");
      return 2;
    }

  const FmaKernel *kernel = pick_kernel (isa ? isa : "auto", &error);
  if (kernel == NULL)
    {
      g_printerr ("peak-fma: %s\n", error->message);
      return 2;
    }

  double one = fma_peak (kernel, 1, seconds);
  double many = n_threads == 1 ? one : fma_peak (kernel, n_threads, seconds);

  if (json)
    {
      printf ("{\"isa\": \"%s\", \"vector_bits\": %u, \"chains\": %u, "
              "\"gflops_1_thread\": %.2f, \"threads\": %d, \"gflops_n_threads\": %.2f, "
              "\"gflops_per_core\": %.2f}\n",
              kernel->name, kernel->lanes * 32, kernel->chains,
              one, n_threads, many, many / n_threads);
    }
  else
    {
      printf ("FP32 FMA peak (%s, %u-bit vectors, %u chains)\n",
              kernel->name, kernel->lanes * 32, kernel->chains);
      printf ("  1 thread:   %8.1f GFLOP/s\n", one);
      printf ("  %d threads: %8.1f GFLOP/s  (%.1f per thread, %.2fx one)\n",
              n_threads, many, many / n_threads, many / one);
    }
  return 0;
}

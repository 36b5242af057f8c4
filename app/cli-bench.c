/* cli-bench.c — digitlab-cli bench: how fast the engine trains and answers.
 *
 * Four figures, each measured the way the app uses the engine: training
 * images/s through the real trainer (shuffling, batching, forward, backward,
 * Adam) after warm-up batches; batch-1 latency of nn_model_predict, as the
 * canvas calls it on every stroke (median and p90 over many calls); batched
 * inference images/s, as evaluation runs; and the process's peak RSS. With
 * --layers, each layer's forward and backward time and GFLOP/s, against the
 * FMA peak when --peak says what it is (bench/peak-fma measures it).
 * bench/compare-pytorch reads the --json output; bench/README.md explains
 * the figures. */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cli-common.h"

#define MNIST_TRAIN_COUNT 60000

typedef struct {
  char    *arch;
  int      threads;
  int      batch;
  int      batches;
  int      warmup;
  int      latency_calls;
  int      infer_batch;
  int      infer_rounds;
  int      layer_repeats;
  double   peak_gflops;
  char    *data_dir;
  gint64   seed;
  gboolean full_epoch;
  gboolean layers;
  gboolean json;
  gboolean quick;
} BenchOptions;

typedef struct {
  const char *data;          /* "synthetic" or the MNIST folder */
  guint       batches;       /* timed */
  double      train_images_per_s;
  float       train_last_loss;
  double      latency_median_us;
  double      latency_p90_us;
  double      infer_images_per_s;
  double      peak_rss_mb;
  NnLayerProfile *layers;
  guint       n_layers;
} BenchResult;

static gint64
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * G_GINT64_CONSTANT (1000000000) + ts.tv_nsec;
}

/* Random images of MNIST's shape from a seeded generator: speed does not
 * depend on the pixel values, and no data set needs to be around. */
static NnDataset *
synthetic_dataset (guint count, guint64 seed)
{
  NnDataset *dataset = g_new0 (NnDataset, 1);
  gsize n_bytes = (gsize) count * NN_IMAGE_PIXELS;
  NnRng rng;

  nn_rng_init (&rng, seed);
  dataset->images = g_malloc (n_bytes);
  dataset->labels = g_malloc (count);
  dataset->count = count;
  dataset->rows = NN_IMAGE_SIDE;
  dataset->cols = NN_IMAGE_SIDE;
  for (gsize i = 0; i < n_bytes; i++)
    dataset->images[i] = (guint8) nn_rng_below (&rng, 256);
  for (guint i = 0; i < count; i++)
    dataset->labels[i] = (guint8) nn_rng_below (&rng, NN_CLASSES);
  return dataset;
}

static float *
synthetic_images (guint count, guint64 seed)
{
  float *images = g_new (float, (gsize) count * NN_IMAGE_PIXELS);
  NnRng rng;

  nn_rng_init (&rng, seed);
  for (gsize i = 0; i < (gsize) count * NN_IMAGE_PIXELS; i++)
    images[i] = nn_rng_uniform (&rng);
  return images;
}

/* The images the trainer goes through: the first ones of MNIST's training
 * set with --data, else random ones; --full-epoch takes all 60,000. */
static NnDataset *
training_images (const BenchOptions *options, guint count, BenchResult *result, GError **error)
{
  g_autoptr(NnDataset) train = NULL;
  g_autoptr(NnDataset) test = NULL;

  if (options->data_dir == NULL)
    {
      result->data = "synthetic";
      return synthetic_dataset (count, (guint64) options->seed);
    }
  if (!cli_load_data (options->data_dir, &train, &test, error))
    return NULL;
  result->data = options->data_dir;
  if (options->full_epoch || count >= train->count)
    return g_steal_pointer (&train);
  return nn_dataset_subset (train, 0, count);
}

typedef struct {
  guint  warmup;
  gint64 start_ns;
  gint64 end_ns;
  guint  batches_done;
  float  last_loss;
} TrainTiming;

static void
on_batch_done (const NnBatchReport *report, gpointer user_data)
{
  TrainTiming *timing = user_data;

  timing->batches_done++;
  timing->last_loss = report->loss;
  timing->end_ns = now_ns ();
  if (timing->batches_done == timing->warmup)
    timing->start_ns = timing->end_ns;
}

static gboolean
bench_training (NnModel *model, const BenchOptions *options, BenchResult *result, GError **error)
{
  guint count = options->full_epoch ? MNIST_TRAIN_COUNT
                                    : (guint) (options->warmup + options->batches) * options->batch;
  g_autoptr(NnDataset) images = training_images (options, count, result, error);
  g_autoptr(NnTrainer) trainer = NULL;
  NnTrainConfig config;
  TrainTiming timing = { .warmup = (guint) options->warmup };
  NnTrainCallbacks callbacks = { on_batch_done, NULL, &timing };
  guint batches_per_epoch;

  if (images == NULL)
    return FALSE;
  batches_per_epoch = (images->count + options->batch - 1) / options->batch;
  if (batches_per_epoch <= (guint) options->warmup)
    {
      g_set_error (error, NN_ERROR, NN_ERROR_PARAMETER,
                   _("%u images make only %u batches: not enough to time after %d warm-up batches"),
                   images->count, batches_per_epoch, options->warmup);
      return FALSE;
    }

  /* The recipe the targets are stated for: Adam 1e-3, one pass, nothing
   * that PyTorch's side would not do too. */
  nn_train_config_init (&config);
  config.epochs = 1;
  config.batch_size = (guint) options->batch;
  config.optimizer = NN_OPTIMIZER_ADAM;
  config.learning_rate = 1e-3f;
  config.schedule = NN_SCHEDULE_CONSTANT;
  config.augment = FALSE;
  config.seed = (guint64) options->seed;

  trainer = nn_trainer_new (model, images, NULL, &config, error);
  if (trainer == NULL)
    return FALSE;
  timing.start_ns = now_ns ();
  if (!nn_trainer_run (trainer, &callbacks, NULL, error))
    return FALSE;

  result->batches = timing.batches_done - timing.warmup;
  /* The last batch may be short (--full-epoch); count the images it had. */
  gsize timed_images = MIN ((gsize) images->count - (gsize) timing.warmup * options->batch,
                            (gsize) result->batches * options->batch);
  result->train_images_per_s = timed_images / ((timing.end_ns - timing.start_ns) * 1e-9);
  result->train_last_loss = timing.last_loss;
  return TRUE;
}

static int
compare_gint64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return (x > y) - (x < y);
}

/* One image at a time, as the canvas asks on every stroke. */
static void
bench_latency (NnModel *model, const BenchOptions *options, BenchResult *result)
{
  const guint n_distinct = 64;
  g_autofree float *images = synthetic_images (n_distinct, (guint64) options->seed + 1);
  g_autofree gint64 *times = g_new (gint64, options->latency_calls);
  float probs[NN_CLASSES];
  guint n = (guint) options->latency_calls;

  for (guint i = 0; i < 20; i++)
    nn_model_predict (model, images + (gsize) (i % n_distinct) * NN_IMAGE_PIXELS, 1, probs);
  for (guint i = 0; i < n; i++)
    {
      const float *image = images + (gsize) (i % n_distinct) * NN_IMAGE_PIXELS;
      gint64 start = now_ns ();

      nn_model_predict (model, image, 1, probs);
      times[i] = now_ns () - start;
    }
  qsort (times, n, sizeof *times, compare_gint64);
  result->latency_median_us = (n % 2 ? times[n / 2] : (times[n / 2 - 1] + times[n / 2]) / 2.0) * 1e-3;
  result->latency_p90_us = times[MIN (n - 1, (guint) (0.9 * n))] * 1e-3;
}

static void
bench_inference (NnModel *model, const BenchOptions *options, BenchResult *result)
{
  guint n = (guint) options->infer_batch;
  g_autofree float *images = synthetic_images (n, (guint64) options->seed + 2);
  g_autofree float *probs = g_new (float, (gsize) n * NN_CLASSES);
  gint64 start;

  nn_model_predict (model, images, n, probs);
  start = now_ns ();
  for (int r = 0; r < options->infer_rounds; r++)
    nn_model_predict (model, images, n, probs);
  result->infer_images_per_s = (double) n * options->infer_rounds / ((now_ns () - start) * 1e-9);
}

static double
peak_rss_mb (void)
{
  struct rusage usage;

  if (getrusage (RUSAGE_SELF, &usage) != 0)
    return NAN;
  return usage.ru_maxrss / 1024.0;   /* kilobytes on Linux */
}

/* ---- Output ----------------------------------------------------------- */

static double
gflops (double flop, double seconds)
{
  return flop > 0 && seconds > 0 ? flop / seconds * 1e-9 : NAN;
}

static void
append_key (GString *out, const char *key)
{
  g_string_append (out, ", ");
  cli_json_append_string (out, key);
  g_string_append (out, ": ");
}

/* Rounded to @decimals places: timings are not exact to 17 digits. */
static void
append_rounded_key (GString *out, const char *key, double value, int decimals)
{
  double scale = pow (10.0, decimals);

  append_key (out, key);
  cli_json_append_number (out, round (value * scale) / scale);
}

static void
append_number_key (GString *out, const char *key, double value)
{
  append_rounded_key (out, key, value, 1);
}

static void
append_layer_json (GString *out, guint index, const NnLayerProfile *layer, double peak)
{
  double forward = gflops (layer->forward_flop, layer->forward_s);
  double backward = gflops (layer->backward_flop, layer->backward_s);

  g_string_append_printf (out, "{\"index\": %u", index);
  append_key (out, "name");
  cli_json_append_string (out, layer->name);
  append_rounded_key (out, "forward_us", layer->forward_s * 1e6, 2);
  append_rounded_key (out, "backward_us", layer->backward_s * 1e6, 2);
  append_rounded_key (out, "forward_mflop", layer->forward_flop * 1e-6, 4);
  append_rounded_key (out, "backward_mflop", layer->backward_flop * 1e-6, 4);
  append_rounded_key (out, "forward_gflops", forward, 2);
  append_rounded_key (out, "backward_gflops", backward, 2);
  append_rounded_key (out, "forward_best_us", layer->forward_best_s * 1e6, 2);
  append_rounded_key (out, "backward_best_us", layer->backward_best_s * 1e6, 2);
  append_rounded_key (out, "forward_best_gflops",
                      gflops (layer->forward_flop, layer->forward_best_s), 2);
  append_rounded_key (out, "backward_best_gflops",
                      gflops (layer->backward_flop, layer->backward_best_s), 2);
  if (peak > 0)
    {
      append_number_key (out, "forward_peak_percent", 100.0 * forward / peak);
      append_number_key (out, "backward_peak_percent", 100.0 * backward / peak);
    }
  g_string_append_c (out, '}');
}

static void
print_json (NnModel *model, const BenchOptions *options, int threads, const BenchResult *result)
{
  g_autoptr(GString) out = g_string_new ("{\"framework\": ");

  {
    g_autofree char *framework = g_strdup_printf ("digitlab %s", PACKAGE_VERSION);
    cli_json_append_string (out, framework);
  }
  append_key (out, "arch");
  cli_json_append_string (out, nn_model_get_spec (model));
  g_string_append_printf (out, ", \"threads\": %d, \"batch\": %d, \"batches\": %u, \"warmup\": %d",
                          threads, options->batch, result->batches, options->warmup);
  append_key (out, "data");
  cli_json_append_string (out, result->data);
  append_number_key (out, "train_images_per_s", result->train_images_per_s);
  append_key (out, "train_last_loss");
  cli_json_append_float (out, result->train_last_loss);
  append_number_key (out, "latency_b1_median_us", result->latency_median_us);
  append_number_key (out, "latency_b1_p90_us", result->latency_p90_us);
  g_string_append_printf (out, ", \"latency_calls\": %d, \"infer_batch\": %d",
                          options->latency_calls, options->infer_batch);
  append_number_key (out, "infer_images_per_s", result->infer_images_per_s);
  append_number_key (out, "peak_rss_mb", result->peak_rss_mb);
  if (options->peak_gflops > 0)
    append_number_key (out, "peak_gflops", options->peak_gflops);
  if (result->layers != NULL)
    {
      g_string_append_printf (out, ", \"layer_repeats\": %d, \"layers\": [", options->layer_repeats);
      for (guint i = 0; i < result->n_layers; i++)
        {
          if (i > 0)
            g_string_append (out, ", ");
          append_layer_json (out, i, &result->layers[i], options->peak_gflops);
        }
      g_string_append_c (out, ']');
    }
  g_string_append (out, "}\n");
  fputs (out->str, stdout);
}

/* @text in @width characters (not bytes: "µs" is three), right-aligned, or
 * left-aligned when @width is negative. */
static void
print_column (const char *text, int width)
{
  int pad = MAX (0, ABS (width) - (int) g_utf8_strlen (text, -1));

  if (width < 0)
    printf ("%s%*s", text, pad, "");
  else
    printf ("%*s%s", pad, "", text);
}

/* "-" where a figure means nothing: GFLOP/s of layers that only move data. */
static void
print_rate (double gflops_value, double peak)
{
  if (isfinite (gflops_value))
    printf (" %9.1f", gflops_value);
  else
    printf (" %9s", "-");
  if (peak > 0 && isfinite (gflops_value))
    printf (" %6.1f%%", 100.0 * gflops_value / peak);
  else if (peak > 0)
    printf (" %7s", "-");
}

static void
print_layer_row (guint index, const NnLayerProfile *layer, double peak)
{
  printf ("  %2u  %-14s %10.1f", index, layer->name, layer->forward_s * 1e6);
  print_rate (gflops (layer->forward_flop, layer->forward_s), peak);
  printf (" %11.1f", layer->backward_s * 1e6);
  print_rate (gflops (layer->backward_flop, layer->backward_s), peak);
  printf ("\n");
}

static void
print_text (NnModel *model, const BenchOptions *options, int threads, const BenchResult *result)
{
  printf (_("Digit Lab %s, %d thread(s): %s\n"), PACKAGE_VERSION, threads, nn_model_get_spec (model));
  printf (_("  training:        %9.1f images/s (batch %d, %u batches after %d warm-up, %s data; "
            "last loss %.3f)\n"),
          result->train_images_per_s, options->batch, result->batches, options->warmup,
          result->data, result->train_last_loss);
  printf (_("  batch-1 latency: %9.1f µs median, %.1f µs p90 (%d calls)\n"),
          result->latency_median_us, result->latency_p90_us, options->latency_calls);
  printf (_("  inference:       %9.1f images/s (batch %d)\n"),
          result->infer_images_per_s, options->infer_batch);
  printf (_("  peak RSS:        %9.1f MB\n"), result->peak_rss_mb);
  if (result->layers == NULL)
    return;

  printf (_("  layers (batch %d, median of %d runs"), options->batch, options->layer_repeats);
  if (options->peak_gflops > 0)
    printf (_(", %% of a %.1f GFLOP/s FMA peak"), options->peak_gflops);
  printf ("):\n");
  printf ("   #  ");
  print_column (_("layer"), -14);
  print_column (_("fwd µs"), 11);
  print_column (_("GFLOP/s"), 10);
  if (options->peak_gflops > 0)
    print_column (_("peak"), 8);
  print_column (_("bwd µs"), 12);
  print_column (_("GFLOP/s"), 10);
  if (options->peak_gflops > 0)
    print_column (_("peak"), 8);
  printf ("\n");
  for (guint i = 0; i < result->n_layers; i++)
    print_layer_row (i, &result->layers[i], options->peak_gflops);
}

/* ---- The command ------------------------------------------------------ */

static gboolean
check_options (BenchOptions *options)
{
  if (options->quick)
    {
      /* A few seconds: enough to check the figures are there and sane. */
      options->batches = MIN (options->batches, 8);
      options->warmup = MIN (options->warmup, 2);
      options->latency_calls = MIN (options->latency_calls, 50);
      options->infer_rounds = 1;
      options->layer_repeats = MIN (options->layer_repeats, 3);
    }
  if (options->batch < 1 || options->batch > 4096)
    {
      cli_usage ("bench", _("--batch must be 1 to 4096, not %d"), options->batch);
      return FALSE;
    }
  if (options->batches < 1 || options->warmup < 0 || options->latency_calls < 1
      || options->infer_batch < 1 || options->infer_rounds < 1 || options->layer_repeats < 1)
    {
      cli_usage ("bench", _("--batches, --latency-calls, --infer-batch, --infer-rounds and "
                            "--layer-repeats must be positive, --warmup 0 or more"));
      return FALSE;
    }
  if ((gint64) (options->warmup + options->batches) * options->batch > 100 * MNIST_TRAIN_COUNT)
    {
      cli_usage ("bench", _("(--warmup + --batches) × --batch is more than 6,000,000 images"));
      return FALSE;
    }
  if (!(options->peak_gflops >= 0 && isfinite (options->peak_gflops)))
    {
      cli_usage ("bench", _("--peak must be a positive number of GFLOP/s"));
      return FALSE;
    }
  return cli_apply_threads ("bench", options->threads);
}

int
cli_bench_main (int argc, char **argv)
{
  BenchOptions options = {
    .threads = 0, .batch = 64, .batches = 100, .warmup = 10, .latency_calls = 1000,
    .infer_batch = 1000, .infer_rounds = 5, .layer_repeats = 10, .seed = 1,
  };
  BenchResult result = { 0 };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(NnModel) model = NULL;
  g_autofree NnLayerProfile *layers = NULL;
  int threads;
  const GOptionEntry entries[] = {
    { "arch", 'a', 0, G_OPTION_ARG_STRING, &options.arch,
      N_("Architecture spec or preset (default: bench-cnn)"), N_("SPEC") },
    { "threads", 't', 0, G_OPTION_ARG_INT, &options.threads,
      N_("Threads (default 0: all cores)"), N_("T") },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &options.batch,
      N_("Training batch size (default 64)"), N_("B") },
    { "batches", 'n', 0, G_OPTION_ARG_INT, &options.batches,
      N_("Timed training batches (default 100)"), N_("N") },
    { "warmup", 'w', 0, G_OPTION_ARG_INT, &options.warmup,
      N_("Untimed training batches first (default 10)"), N_("N") },
    { "full-epoch", 0, 0, G_OPTION_ARG_NONE, &options.full_epoch,
      N_("Train one whole epoch of 60,000 images instead of --batches"), NULL },
    { "latency-calls", 0, 0, G_OPTION_ARG_INT, &options.latency_calls,
      N_("Batch-1 predictions timed one by one (default 1000)"), N_("N") },
    { "infer-batch", 0, 0, G_OPTION_ARG_INT, &options.infer_batch,
      N_("Images per batched prediction (default 1000)"), N_("N") },
    { "infer-rounds", 0, 0, G_OPTION_ARG_INT, &options.infer_rounds,
      N_("Batched predictions timed (default 5)"), N_("N") },
    { "layers", 'l', 0, G_OPTION_ARG_NONE, &options.layers,
      N_("Also time each layer’s forward and backward pass"), NULL },
    { "layer-repeats", 0, 0, G_OPTION_ARG_INT, &options.layer_repeats,
      N_("Runs per layer, the median is reported (default 10)"), N_("N") },
    { "peak", 0, 0, G_OPTION_ARG_DOUBLE, &options.peak_gflops,
      /* GOption prints this as is: its "%" is not a printf directive.
       * xgettext:no-c-format */
      N_("FMA peak of the threads used, to show layers as % of it (bench/peak-fma)"), N_("GFLOPS") },
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &options.data_dir,
      N_("Train on MNIST from this folder (default: random images)"), N_("DIR") },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &options.seed,
      N_("Seed for the weights and the random images (default 1)"), N_("SEED") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &options.json,
      N_("Print one JSON object"), NULL },
    { "quick", 'q', 0, G_OPTION_ARG_NONE, &options.quick,
      N_("A few seconds only, to check that everything runs"), NULL },
    { NULL }
  };

  context = cli_option_context_new ("bench", NULL,
                                    _("Measures training images/s, batch-1 prediction latency, "
                                      "batched prediction images/s and peak memory; with --layers, "
                                      "each layer’s speed. bench/README.md explains the figures."),
                                    entries);
  if (!cli_parse_options (context, "bench", &argc, &argv))
    return CLI_EXIT_USAGE;
  if (argc > 1)
    return cli_usage ("bench", _("unexpected argument “%s”"), argv[1]);
  if (!check_options (&options))
    return CLI_EXIT_USAGE;
  threads = nn_get_threads () > 0 ? nn_get_threads () : (int) g_get_num_processors ();

  model = nn_model_new (options.arch != NULL ? options.arch : "bench-cnn",
                        (guint64) options.seed, &error);
  if (model == NULL)
    return cli_usage ("bench", "%s", error->message);

  if (!bench_training (model, &options, &result, &error))
    return cli_fail_error (error);
  bench_latency (model, &options, &result);
  bench_inference (model, &options, &result);
  if (options.layers)
    {
      layers = nn_model_profile_layers (model, (guint) options.batch,
                                        (guint) options.layer_repeats, &error);
      if (layers == NULL)
        return cli_fail_error (error);
      result.layers = layers;
      result.n_layers = nn_model_get_n_layers (model);
    }
  result.peak_rss_mb = peak_rss_mb ();

  if (options.json)
    print_json (model, &options, threads, &result);
  else
    print_text (model, &options, threads, &result);
  g_free (options.arch);
  g_free (options.data_dir);
  return CLI_EXIT_OK;
}

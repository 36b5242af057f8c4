/* cli-train.c — digitlab-cli train: trains a model on MNIST and saves it
 * with its metadata.
 *
 * Everything is checked before any data is read; the run itself is
 * cli-train-run.c. The model file is written once, atomically, at the end;
 * with --checkpoint a checkpoint is written at every epoch boundary, from
 * which --resume continues bit for bit. */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli-common.h"
#include "cli-train-run.h"

/* The command line. Numbers stay text until checked, so that NULL means
 * "not given" (--resume refuses settings the checkpoint holds). */
typedef struct {
  char    *data_dir;
  char    *arch;
  char    *optimizer;
  char    *schedule;
  char    *out;
  char    *name;
  char    *checkpoint;
  char    *resume;
  char    *epochs;
  char    *batch;
  char    *lr;
  char    *momentum;
  char    *weight_decay;
  char    *label_smoothing;
  char    *scribbles;
  char    *seed;
  char    *limit;
  char    *test_limit;
  int      threads;
  gboolean augment;
  gboolean digit_styles;
} TrainOptions;

/* How much of the data to use: 0 = all training images; -1 = all test
 * images, 0 = no testing. */
typedef struct {
  guint64 limit;
  gint64  test_limit;
} TrainData;

static void
train_options_clear (TrainOptions *options)
{
  g_free (options->data_dir);
  g_free (options->arch);
  g_free (options->optimizer);
  g_free (options->schedule);
  g_free (options->out);
  g_free (options->name);
  g_free (options->checkpoint);
  g_free (options->resume);
  g_free (options->epochs);
  g_free (options->batch);
  g_free (options->lr);
  g_free (options->momentum);
  g_free (options->weight_decay);
  g_free (options->label_smoothing);
  g_free (options->scribbles);
  g_free (options->seed);
  g_free (options->limit);
  g_free (options->test_limit);
}

/* ---- Setting up ------------------------------------------------------------ */

/* Settings a checkpoint already holds cannot be changed on --resume. */
static const char *
first_setting_given (const TrainOptions *o)
{
  const struct { const char *value; const char *option; } settings[] = {
    { o->arch, "--arch" }, { o->epochs, "--epochs" }, { o->batch, "--batch" },
    { o->lr, "--lr" }, { o->optimizer, "--optimizer" }, { o->seed, "--seed" },
    { o->schedule, "--schedule" }, { o->momentum, "--momentum" },
    { o->weight_decay, "--weight-decay" }, { o->label_smoothing, "--label-smoothing" },
    { o->scribbles, "--scribbles" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (settings); i++)
    if (settings[i].value != NULL)
      return settings[i].option;
  if (o->digit_styles)
    return "--digit-styles";
  return o->augment ? "--augment" : NULL;
}

/* @text, when given, as a float setting. */
static gboolean
parse_float_option (const char *option, const char *text, float *out)
{
  double value;

  if (text == NULL)
    return TRUE;
  if (!cli_parse_double ("train", option, text, &value))
    return FALSE;
  *out = value;
  return TRUE;
}

/* The configuration from the options, checked by the engine. Exit code on
 * failure, -1 on success. */
static int
build_config (const TrainOptions *o, NnTrainConfig *config)
{
  g_autoptr(GError) error = NULL;
  guint64 value;

  nn_train_config_init (config);
  if (o->epochs != NULL)
    {
      if (!cli_parse_uint ("train", "--epochs", o->epochs, 1, G_MAXUINT, &value))
        return CLI_EXIT_USAGE;
      config->epochs = value;
    }
  if (o->batch != NULL)
    {
      if (!cli_parse_uint ("train", "--batch", o->batch, 1, G_MAXUINT, &value))
        return CLI_EXIT_USAGE;
      config->batch_size = value;
    }
  if (o->seed != NULL && !cli_parse_uint ("train", "--seed", o->seed, 0, G_MAXUINT64, &config->seed))
    return CLI_EXIT_USAGE;
  if (o->optimizer != NULL && !nn_optimizer_from_string (o->optimizer, &config->optimizer))
    return cli_usage ("train", _("unknown optimizer “%s” (choose adam or sgd)"), o->optimizer);
  if (o->schedule != NULL && !nn_schedule_from_string (o->schedule, &config->schedule))
    return cli_usage ("train", _("unknown schedule “%s” (choose constant, cosine or onecycle)"),
                      o->schedule);
  if (!parse_float_option ("--lr", o->lr, &config->learning_rate)
      || !parse_float_option ("--momentum", o->momentum, &config->momentum)
      || !parse_float_option ("--weight-decay", o->weight_decay, &config->weight_decay)
      || !parse_float_option ("--label-smoothing", o->label_smoothing, &config->label_smoothing)
      || !parse_float_option ("--scribbles", o->scribbles, &config->scribbles))
    return CLI_EXIT_USAGE;
  config->augment = o->augment;
  if (o->digit_styles && !o->augment)
    return cli_usage ("train", _("--digit-styles is part of --augment: give both"));
  config->digit_styles = o->digit_styles;

  if (!nn_train_config_validate (config, &error))
    return cli_usage ("train", "%s", error->message);
  return -1;
}

/* Checked before training, or the run would be lost at the end. Files are
 * written to a temporary name and renamed over @path, which must not
 * replace a link, a device, a pipe or a folder. */
static gboolean
check_output_path (const char *path, GError **error)
{
  g_autofree char *folder = g_path_get_dirname (path);

  if (!cli_is_replaceable (path))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                   _("cannot write %s: it exists and is not a regular file"), path);
      return FALSE;
    }
  if (g_file_test (folder, G_FILE_TEST_IS_DIR) && access (folder, W_OK) == 0)
    return TRUE;
  g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
               _("cannot write %s: the folder %s does not exist or is not writable"),
               path, folder);
  return FALSE;
}

static void
set_metadata_uint (NnModel *model, const char *key, guint64 value)
{
  g_autofree char *text = g_strdup_printf ("%" G_GUINT64_FORMAT, value);

  nn_model_set_metadata (model, key, text);
}

static void
set_metadata_float (NnModel *model, const char *key, float value)
{
  g_autofree char *text = cli_float_to_string (value);

  nn_model_set_metadata (model, key, text);
}

/* What the run was: set before training starts, so checkpoints carry it
 * and a resumed run still describes itself. */
static void
describe_run (NnModel *model, const NnTrainConfig *config)
{
  set_metadata_uint (model, "epochs", config->epochs);
  nn_model_set_metadata (model, "optimizer", nn_optimizer_to_string (config->optimizer));
  set_metadata_float (model, "lr", config->learning_rate);
  set_metadata_uint (model, "batch", config->batch_size);
  set_metadata_uint (model, "seed", config->seed);
  nn_model_set_metadata (model, "augment", config->augment ? "true" : "false");
  nn_model_set_metadata (model, "digit_styles", config->digit_styles ? "true" : "false");
  nn_model_set_metadata (model, "schedule", nn_schedule_to_string (config->schedule));
  if (config->optimizer == NN_OPTIMIZER_SGD)
    set_metadata_float (model, "momentum", config->momentum);
  set_metadata_float (model, "weight_decay", config->weight_decay);
  set_metadata_float (model, "label_smoothing", config->label_smoothing);
  set_metadata_float (model, "scribbles", config->scribbles);
}

/* @word as a shell reads it: quoted only when it has to be. */
static char *
shell_word (const char *word)
{
  for (const char *c = word; *c != '\0'; c++)
    if (!g_ascii_isalnum (*c) && strchr ("._:,/+-", *c) == NULL)
      return g_shell_quote (word);
  return *word != '\0' ? g_strdup (word) : g_shell_quote (word);
}

/* The command that trains this model again, every setting spelled out
 * (defaults included) so it still means the same if a default changes.
 * Paths are left out but the output's name: they belong to one machine. */
static void
describe_recipe (NnModel *model, const TrainOptions *o, const NnTrainConfig *config,
                 guint64 limit)
{
  g_autoptr(GString) recipe = g_string_new ("digitlab-cli train");
  g_autofree char *arch = shell_word (o->arch != NULL ? o->arch : "default");
  g_autofree char *lr = cli_float_to_string (config->learning_rate);
  g_autofree char *decay = cli_float_to_string (config->weight_decay);
  g_autofree char *smoothing = cli_float_to_string (config->label_smoothing);
  g_autofree char *scribbles = cli_float_to_string (config->scribbles);
  g_autofree char *out_name = g_path_get_basename (o->out);
  g_autofree char *out = shell_word (out_name);

  g_string_append_printf (recipe, " --arch %s --epochs %u --batch %u --lr %s --optimizer %s"
                          " --schedule %s", arch, config->epochs, config->batch_size, lr,
                          nn_optimizer_to_string (config->optimizer),
                          nn_schedule_to_string (config->schedule));
  if (config->optimizer == NN_OPTIMIZER_SGD)
    {
      g_autofree char *momentum = cli_float_to_string (config->momentum);
      g_string_append_printf (recipe, " --momentum %s", momentum);
    }
  g_string_append_printf (recipe, " --weight-decay %s --label-smoothing %s%s%s --seed %"
                          G_GUINT64_FORMAT, decay, smoothing,
                          config->augment ? " --augment" : "",
                          config->digit_styles ? " --digit-styles" : "", config->seed);
  if (config->scribbles > 0.0f)
    g_string_append_printf (recipe, " --scribbles %s", scribbles);
  if (limit > 0)
    g_string_append_printf (recipe, " --limit %" G_GUINT64_FORMAT, limit);
  g_string_append_printf (recipe, " --out %s", out);
  nn_model_set_metadata (model, "recipe", recipe->str);
}

static void
describe_data (NnModel *model, const char *data_dir, const NnDataset *train,
               const NnDataset *test)
{
  g_autofree char *folder = g_path_get_basename (data_dir);

  nn_model_set_metadata (model, "dataset", folder);
  set_metadata_uint (model, "train_images", train->count);
  set_metadata_uint (model, "test_images", test != NULL ? test->count : 0);
}

/* Keeps the first @limit items of *@dataset (all if it has fewer). */
static void
keep_first (NnDataset **dataset, guint limit)
{
  if (limit < (*dataset)->count)
    {
      NnDataset *subset = nn_dataset_subset (*dataset, 0, limit);

      nn_dataset_free (*dataset);
      *dataset = subset;
    }
}

static int
report_stopped (NnTrainer *trainer, const CliTrainResult *result, const char *checkpoint)
{
  guint done = nn_trainer_get_epoch (trainer);
  g_autofree char *what = g_strdup_printf (ngettext ("training stopped with %u epoch finished; "
                                                     "no model saved",
                                                     "training stopped with %u epochs finished; "
                                                     "no model saved", done),
                                           done);

  /* Every finished epoch was checkpointed, so the checkpoint is current. */
  if (checkpoint != NULL && result->checkpointed_epoch > 0)
    cli_fail (_("%s; to continue, train again with --resume %s"), what, checkpoint);
  else
    cli_fail ("%s", what);
  return 128 + result->stop_signal;
}

/* Everything that can be checked before any data is read. Returns an exit
 * code, or -1 when all is well. */
static int
check_options (const TrainOptions *o, int argc, char **argv,
               NnTrainConfig *config, TrainData *data)
{
  g_autoptr(GError) error = NULL;
  const char *given;
  guint64 test_limit;
  int status;

  if (argc > 1)
    return cli_usage ("train", _("unexpected argument “%s”"), argv[1]);
  if (o->out == NULL)
    return cli_usage ("train", _("--out FILE is required: where to save the model"));
  data->limit = 0;
  if (o->limit != NULL && !cli_parse_uint ("train", "--limit", o->limit, 1, G_MAXUINT, &data->limit))
    return CLI_EXIT_USAGE;
  data->test_limit = -1;
  if (o->test_limit != NULL)
    {
      if (!cli_parse_uint ("train", "--test-limit", o->test_limit, 0, G_MAXUINT, &test_limit))
        return CLI_EXIT_USAGE;
      data->test_limit = test_limit;
    }
  if (o->checkpoint != NULL && strcmp (o->checkpoint, o->out) == 0)
    return cli_usage ("train", _("--checkpoint and --out must be different files"));
  if (o->resume != NULL && (given = first_setting_given (o)) != NULL)
    return cli_usage ("train", _("%s cannot be given with --resume: the checkpoint holds "
                                 "the run’s settings"), given);
  if (o->resume == NULL)
    {
      if ((status = build_config (o, config)) != -1)
        return status;
      if (!nn_spec_validate (o->arch != NULL ? o->arch : "default", NULL, &error))
        return cli_usage ("train", "%s", error->message);
    }
  if (!cli_apply_threads ("train", o->threads))
    return CLI_EXIT_USAGE;
  if (!check_output_path (o->out, &error)
      || (o->checkpoint != NULL && !check_output_path (o->checkpoint, &error)))
    return cli_fail_error (error);
  return -1;
}

/* The model's name: --name, else the one a resumed run already had, else
 * the output file's name without its extension. */
static void
name_model (NnModel *model, const TrainOptions *o)
{
  g_autofree char *file_name = g_path_get_basename (o->out);
  char *dot = strrchr (file_name, '.');

  if (dot != NULL && dot != file_name)
    *dot = '\0';
  if (o->name != NULL)
    nn_model_set_metadata (model, "name", o->name);
  else if (nn_model_get_metadata (model, "name") == NULL)
    nn_model_set_metadata (model, "name", file_name);
}

/* Records the results and writes the model file (atomically). */
static int
save_model (NnModel *model, const NnDataset *test, const CliTrainResult *result,
            const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *created = g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
  float test_accuracy = result->test_accuracy;
  char text[G_ASCII_DTOSTR_BUF_SIZE];

  /* A run resumed after its last epoch trained nothing here. */
  if (test_accuracy < 0 && test != NULL)
    test_accuracy = nn_model_evaluate (model, test, NULL);
  if (test_accuracy >= 0)
    nn_model_set_metadata (model, "test_accuracy",
                           g_ascii_formatd (text, sizeof text, "%.4f", test_accuracy));
  cli_set_train_seconds (model, result->seconds);
  nn_model_set_metadata (model, "created", created);

  if (!nn_model_save (model, path, &error))
    return cli_fail_error (error);
  if (test_accuracy >= 0)
    printf (_("test accuracy: %.4f\n"), test_accuracy);
  printf (_("saved %s\n"), path);
  return CLI_EXIT_OK;
}

static int
train (const TrainOptions *o, int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *data_dir = NULL;
  g_autoptr(NnDataset) train = NULL;
  g_autoptr(NnDataset) test = NULL;
  g_autoptr(NnModel) own_model = NULL;
  g_autoptr(NnTrainer) trainer = NULL;
  NnTrainConfig config;
  TrainData data;
  NnModel *model;
  CliTrainResult result = { 0 };
  const char *seconds_so_far;
  int status;

  if ((status = check_options (o, argc, argv, &config, &data)) != -1)
    return status;

  data_dir = o->data_dir != NULL ? g_strdup (o->data_dir) : cli_default_data_dir ();
  if (!cli_load_data (data_dir, &train, &test, &error))
    return cli_fail_error (error);
  if (data.limit > 0)
    keep_first (&train, data.limit);
  if (data.test_limit == 0)
    g_clear_pointer (&test, nn_dataset_free);
  else if (data.test_limit > 0)
    keep_first (&test, data.test_limit);

  if (o->resume != NULL)
    {
      trainer = nn_trainer_load_checkpoint (o->resume, train, test, &error);
    }
  else
    {
      own_model = nn_model_new (o->arch != NULL ? o->arch : "default", config.seed, &error);
      if (own_model != NULL)
        {
          describe_run (own_model, &config);
          describe_recipe (own_model, o, &config, data.limit);
          trainer = nn_trainer_new (own_model, train, test, &config, &error);
        }
    }
  if (trainer == NULL)
    return cli_fail_error (error);

  model = nn_trainer_get_model (trainer);
  describe_data (model, data_dir, train, test);
  name_model (model, o);

  printf (_("training %s (%lu parameters) on %u images, testing on %u\n"),
          nn_model_get_spec (model), (unsigned long) nn_model_get_param_count (model),
          train->count, test != NULL ? test->count : 0);
  fflush (stdout);

  seconds_so_far = nn_model_get_metadata (model, "train_seconds");
  cli_train_run (trainer, o->checkpoint,
                 seconds_so_far != NULL ? g_ascii_strtod (seconds_so_far, NULL) : 0.0,
                 &result);

  if (!result.ok)
    {
      if (result.stop_signal != 0 && g_error_matches (result.error, NN_ERROR, NN_ERROR_CANCELLED))
        status = report_stopped (trainer, &result, o->checkpoint);
      else
        status = cli_fail_error (result.error);
      cli_train_result_clear (&result);
      return status;
    }
  return save_model (model, test, &result, o->out);
}

int
cli_train_main (int argc, char **argv)
{
  TrainOptions o = { 0 };
  const GOptionEntry entries[] = {
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &o.data_dir,
      N_("Folder with the MNIST files (default: $DIGITLAB_MNIST_DIR or ~/.local/share/digitlab/mnist)"),
      N_("DIR") },
    { "arch", 'a', 0, G_OPTION_ARG_STRING, &o.arch,
      N_("Architecture: a preset (mlp, lenet5, bench-cnn, default) or a spec such as "
         "“conv5x5:16 relu maxpool dense:10” (default: default)"), N_("SPEC") },
    { "epochs", 'e', 0, G_OPTION_ARG_STRING, &o.epochs, N_("Passes over the training set (default 1)"), N_("N") },
    { "batch", 'b', 0, G_OPTION_ARG_STRING, &o.batch, N_("Images per batch (default 64)"), N_("B") },
    { "lr", 0, 0, G_OPTION_ARG_STRING, &o.lr, N_("Learning rate (default 0.001)"), N_("X") },
    { "optimizer", 0, 0, G_OPTION_ARG_STRING, &o.optimizer, N_("adam or sgd (default adam)"), N_("NAME") },
    { "schedule", 0, 0, G_OPTION_ARG_STRING, &o.schedule,
      N_("Learning-rate schedule: constant, cosine or onecycle (default cosine)"), N_("NAME") },
    { "momentum", 0, 0, G_OPTION_ARG_STRING, &o.momentum, N_("SGD momentum, in [0, 1) (default 0.9)"), N_("X") },
    { "weight-decay", 0, 0, G_OPTION_ARG_STRING, &o.weight_decay,
      N_("Decoupled weight decay (default 0)"), N_("X") },
    { "label-smoothing", 0, 0, G_OPTION_ARG_STRING, &o.label_smoothing,
      N_("Label smoothing, in [0, 1) (default 0)"), N_("X") },
    { "augment", 0, 0, G_OPTION_ARG_NONE, &o.augment,
      N_("Distort training images at random (rotation, scale, shear, shift, elastic, stroke width)"),
      NULL },
    { "digit-styles", 0, 0, G_OPTION_ARG_NONE, &o.digit_styles,
      N_("With --augment, also give some 1s a flag and some 7s a bar, as much of the world writes them"),
      NULL },
    { "scribbles", 0, 0, G_OPTION_ARG_STRING, &o.scribbles,
      N_("Replace this share of training images (0 to 0.5) by scribbles that are no digit, "
         "so the model learns to be unsure of them (default 0)"), N_("X") },
    { "seed", 0, 0, G_OPTION_ARG_STRING, &o.seed,
      N_("Random seed for initial weights, shuffling, dropout, augmentation (default 1)"), N_("S") },
    { "limit", 'n', 0, G_OPTION_ARG_STRING, &o.limit, N_("Train on the first N training images only"), N_("N") },
    { "test-limit", 0, 0, G_OPTION_ARG_STRING, &o.test_limit,
      N_("Test on the first N test images only (0: no testing)"), N_("N") },
    { "threads", 't', 0, G_OPTION_ARG_INT, &o.threads, N_("Threads to use (default 0: all cores)"), N_("T") },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &o.out, N_("Where to save the trained model (required)"), N_("FILE") },
    { "name", 0, 0, G_OPTION_ARG_STRING, &o.name,
      N_("The model’s name, saved in its metadata (default: the file name)"), N_("TEXT") },
    { "checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &o.checkpoint,
      N_("Write a checkpoint to FILE after every epoch"), N_("FILE") },
    { "resume", 0, 0, G_OPTION_ARG_FILENAME, &o.resume,
      N_("Continue the run saved in checkpoint FILE (same --data, --limit and --test-limit)"),
      N_("FILE") },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  int status;

  context = cli_option_context_new ("train", NULL,
                                    _("Trains a model on MNIST and saves it as a safetensors "
                                      "file with its metadata. Ctrl+C stops at the next batch "
                                      "and saves nothing half-written."),
                                    entries);
  if (cli_parse_options (context, "train", &argc, &argv))
    status = train (&o, argc, argv);
  else
    status = CLI_EXIT_USAGE;
  train_options_clear (&o);
  return status;
}

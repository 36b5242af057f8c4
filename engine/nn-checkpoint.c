/* nn-checkpoint.c — saving a training run and picking it up again.
 *
 * A checkpoint is one safetensors file holding everything the run's future
 * depends on: the model's tensors under their own names, the optimiser's
 * moving averages as "optimizer.m.<name>" (and "optimizer.v.<name>" for
 * Adam), this epoch's order as "trainer.order" when saved mid-epoch, and in
 * the metadata the spec, every training setting, the position, the
 * shuffling generator's state and a digest of the training set. Numbers are
 * written so that they read back exactly, so a resumed run ends bitwise
 * where an uninterrupted one would. Format: "digitlab-checkpoint" version 1.
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "nn-private.h"
#include "nn-safetensors.h"

#define CHECKPOINT_FORMAT  "digitlab-checkpoint"
#define CHECKPOINT_VERSION "1"
#define MODEL_META_PREFIX  "model."
/* Positions in the order are stored as floats, exact below 2^24. */
#define MAX_ORDERED_ITEMS  (1u << 24)

/* FNV-1a over the images and labels: catches resuming on other data. */
static char *
dataset_digest (const NnDataset *dataset)
{
  guint64 hash = G_GUINT64_CONSTANT (0xcbf29ce484222325);
  const gsize n_pixels = (gsize) dataset->count * dataset->rows * dataset->cols;

  for (gsize i = 0; i < n_pixels; i++)
    hash = (hash ^ dataset->images[i]) * G_GUINT64_CONSTANT (0x100000001b3);
  for (guint i = 0; i < dataset->count; i++)
    hash = (hash ^ dataset->labels[i]) * G_GUINT64_CONSTANT (0x100000001b3);
  return g_strdup_printf ("%016" G_GINT64_MODIFIER "x", hash);
}

/* ---- Saving ------------------------------------------------------------ */

static void
put (GHashTable *metadata, const char *key, char *value)
{
  g_hash_table_replace (metadata, g_strdup (key), value);
}

/* %.9g reads back as the same float, %.17g as the same double. */
static char *
float_text (float value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  return g_strdup (g_ascii_formatd (buffer, sizeof buffer, "%.9g", value));
}

static char *
double_text (double value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  return g_strdup (g_ascii_formatd (buffer, sizeof buffer, "%.17g", value));
}

static char *
uint_text (guint64 value)
{
  return g_strdup_printf ("%" G_GUINT64_FORMAT, value);
}

static GHashTable *
checkpoint_metadata (NnTrainer *trainer)
{
  GHashTable *metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  const NnTrainConfig *config = &trainer->config;
  GHashTableIter iter;
  gpointer key, value;

  put (metadata, "format", g_strdup (CHECKPOINT_FORMAT));
  put (metadata, "format_version", g_strdup (CHECKPOINT_VERSION));
  put (metadata, "spec", g_strdup (trainer->model->spec));

  put (metadata, "config.epochs", uint_text (config->epochs));
  put (metadata, "config.batch_size", uint_text (config->batch_size));
  put (metadata, "config.learning_rate", float_text (config->learning_rate));
  put (metadata, "config.optimizer", g_strdup (nn_optimizer_to_string (config->optimizer)));
  put (metadata, "config.momentum", float_text (config->momentum));
  put (metadata, "config.weight_decay", float_text (config->weight_decay));
  put (metadata, "config.schedule", g_strdup (nn_schedule_to_string (config->schedule)));
  put (metadata, "config.seed", uint_text (config->seed));
  put (metadata, "config.augment", g_strdup (config->augment ? "true" : "false"));
  put (metadata, "config.digit_styles", g_strdup (config->digit_styles ? "true" : "false"));
  put (metadata, "config.label_smoothing", float_text (config->label_smoothing));
  put (metadata, "config.scribbles", float_text (config->scribbles));

  put (metadata, "train.count", uint_text (trainer->train->count));
  put (metadata, "train.digest", dataset_digest (trainer->train));
  put (metadata, "position.epoch", uint_text (trainer->epoch));
  put (metadata, "position.batch", uint_text (trainer->batch));
  put (metadata, "position.step", uint_text (trainer->step));
  put (metadata, "position.order_ready", g_strdup (trainer->order_ready ? "true" : "false"));
  put (metadata, "rng", g_strdup_printf ("%016" G_GINT64_MODIFIER "x%016" G_GINT64_MODIFIER "x"
                                         "%016" G_GINT64_MODIFIER "x%016" G_GINT64_MODIFIER "x",
                                         trainer->rng.s[0], trainer->rng.s[1],
                                         trainer->rng.s[2], trainer->rng.s[3]));
  put (metadata, "epoch.loss_sum", double_text (trainer->epoch_loss_sum));
  put (metadata, "epoch.correct", uint_text (trainer->epoch_correct));
  put (metadata, "epoch.seen", uint_text (trainer->epoch_seen));
  put (metadata, "epoch.digits", uint_text (trainer->epoch_digits));
  put (metadata, "epoch.seconds", double_text (trainer->epoch_seconds));
  put (metadata, "elapsed_seconds", double_text (trainer->elapsed_seconds));

  g_hash_table_iter_init (&iter, trainer->model->metadata);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_hash_table_replace (metadata, g_strconcat (MODEL_META_PREFIX, key, NULL), g_strdup (value));
  return metadata;
}

static NnStTensorRef
tensor_ref (const char *name, const NnTensorInfo *info, const float *data)
{
  NnStTensorRef ref = { name, info->ndim, { 0 }, data };

  for (guint d = 0; d < info->ndim; d++)
    ref.shape[d] = info->shape[d];
  return ref;
}

gboolean
nn_trainer_save_checkpoint (NnTrainer *trainer, const char *path, GError **error)
{
  NnModel *model;
  g_autoptr (GArray) refs = g_array_new (FALSE, TRUE, sizeof (NnStTensorRef));
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GHashTable) metadata = NULL;
  g_autofree float *order = NULL;

  g_return_val_if_fail (trainer != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  model = trainer->model;
  for (guint t = 0; t < model->n_tensors; t++)
    {
      const NnTensorInfo *info = &model->tensors[t];
      const float *data = (info->trainable ? model->params : model->buffers) + info->offset;
      NnStTensorRef ref = tensor_ref (info->name, info, data);

      g_array_append_val (refs, ref);
    }
  for (guint t = 0; t < model->n_tensors; t++)
    {
      const NnTensorInfo *info = &model->tensors[t];
      char *name;
      NnStTensorRef ref;

      if (!info->trainable)
        continue;
      name = g_strconcat ("optimizer.m.", info->name, NULL);
      g_ptr_array_add (names, name);
      ref = tensor_ref (name, info, trainer->opt_m + info->offset);
      g_array_append_val (refs, ref);
      if (trainer->opt_v == NULL)
        continue;
      name = g_strconcat ("optimizer.v.", info->name, NULL);
      g_ptr_array_add (names, name);
      ref = tensor_ref (name, info, trainer->opt_v + info->offset);
      g_array_append_val (refs, ref);
    }

  if (trainer->order_ready)
    {
      NnStTensorRef ref = { "trainer.order", 1, { trainer->train->count }, NULL };

      if (trainer->train->count > MAX_ORDERED_ITEMS)
        {
          g_set_error (error, NN_ERROR, NN_ERROR_FAILED,
                       _("Training sets of more than %u images can only be saved between epochs"),
                       MAX_ORDERED_ITEMS);
          return FALSE;
        }
      order = g_new (float, trainer->train->count);
      for (guint i = 0; i < trainer->train->count; i++)
        order[i] = (float) trainer->order[i];
      ref.data = order;
      g_array_append_val (refs, ref);
    }

  metadata = checkpoint_metadata (trainer);
  return nn_safetensors_write (path, (NnStTensorRef *) refs->data, refs->len, metadata, error);
}

/* ---- Loading ----------------------------------------------------------- */

static const char *
require (NnSafetensors *st, const char *key, GError **error)
{
  const char *value = nn_safetensors_get_metadata (st, key);

  if (value == NULL)
    g_set_error (error, NN_ERROR, NN_ERROR_MODEL_METADATA,
                 _("The checkpoint has no “%s” entry"), key);
  return value;
}

static void
set_bad_value (GError **error, const char *key, const char *value)
{
  g_set_error (error, NN_ERROR, NN_ERROR_MODEL_METADATA,
               _("The checkpoint’s “%s” entry (“%s”) is not usable"), key, value);
}

static gboolean
read_uint (NnSafetensors *st, const char *key, guint64 max, guint64 *out, GError **error)
{
  const char *text = require (st, key, error);

  if (text == NULL)
    return FALSE;
  if (!g_ascii_string_to_unsigned (text, 10, 0, max, out, NULL))
    {
      set_bad_value (error, key, text);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_guint (NnSafetensors *st, const char *key, guint *out, GError **error)
{
  guint64 value;

  if (!read_uint (st, key, G_MAXUINT, &value, error))
    return FALSE;
  *out = (guint) value;
  return TRUE;
}

static gboolean
read_double (NnSafetensors *st, const char *key, double *out, GError **error)
{
  const char *text = require (st, key, error);
  char *end = NULL;

  if (text == NULL)
    return FALSE;
  *out = g_ascii_strtod (text, &end);
  if (text[0] == '\0' || *end != '\0' || !isfinite (*out))
    {
      set_bad_value (error, key, text);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_float (NnSafetensors *st, const char *key, float *out, GError **error)
{
  double value;

  if (!read_double (st, key, &value, error))
    return FALSE;
  *out = (float) value;
  return TRUE;
}

static gboolean
read_bool (NnSafetensors *st, const char *key, gboolean *out, GError **error)
{
  const char *text = require (st, key, error);

  if (text == NULL)
    return FALSE;
  if (strcmp (text, "true") != 0 && strcmp (text, "false") != 0)
    {
      set_bad_value (error, key, text);
      return FALSE;
    }
  *out = strcmp (text, "true") == 0;
  return TRUE;
}

static gboolean
read_config (NnSafetensors *st, NnTrainConfig *config, GError **error)
{
  const char *text;
  guint64 seed;

  nn_train_config_init (config);
  if (!read_guint (st, "config.epochs", &config->epochs, error)
      || !read_guint (st, "config.batch_size", &config->batch_size, error)
      || !read_float (st, "config.learning_rate", &config->learning_rate, error)
      || !read_float (st, "config.momentum", &config->momentum, error)
      || !read_float (st, "config.weight_decay", &config->weight_decay, error)
      || !read_uint (st, "config.seed", G_MAXUINT64, &seed, error)
      || !read_bool (st, "config.augment", &config->augment, error)
      || !read_float (st, "config.label_smoothing", &config->label_smoothing, error))
    return FALSE;
  config->seed = seed;
  /* Checkpoints from before digit styles existed trained without them. */
  if (nn_safetensors_get_metadata (st, "config.digit_styles") != NULL
      && !read_bool (st, "config.digit_styles", &config->digit_styles, error))
    return FALSE;
  /* Nor scribbles. */
  if (nn_safetensors_get_metadata (st, "config.scribbles") != NULL
      && !read_float (st, "config.scribbles", &config->scribbles, error))
    return FALSE;

  if ((text = require (st, "config.optimizer", error)) == NULL)
    return FALSE;
  if (!nn_optimizer_from_string (text, &config->optimizer))
    {
      set_bad_value (error, "config.optimizer", text);
      return FALSE;
    }
  if ((text = require (st, "config.schedule", error)) == NULL)
    return FALSE;
  if (!nn_schedule_from_string (text, &config->schedule))
    {
      set_bad_value (error, "config.schedule", text);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_rng (NnSafetensors *st, NnRng *rng, GError **error)
{
  const char *text = require (st, "rng", error);

  if (text == NULL)
    return FALSE;
  if (strlen (text) != 64)
    {
      set_bad_value (error, "rng", text);
      return FALSE;
    }
  for (guint i = 0; i < 4; i++)
    {
      char word[17];

      memcpy (word, text + 16 * i, 16);
      word[16] = '\0';
      if (!g_ascii_string_to_unsigned (word, 16, 0, G_MAXUINT64, &rng->s[i], NULL))
        {
          set_bad_value (error, "rng", text);
          return FALSE;
        }
    }
  if ((rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]) == 0)
    {
      /* xoshiro's one state that never leaves itself */
      set_bad_value (error, "rng", text);
      return FALSE;
    }
  return TRUE;
}

static gboolean
copy_state (NnSafetensors *st, const char *prefix, const NnModel *model, float *dest,
            GError **error)
{
  for (guint t = 0; t < model->n_tensors; t++)
    {
      const NnTensorInfo *info = &model->tensors[t];
      g_autofree char *name = NULL;

      if (!info->trainable)
        continue;
      name = g_strconcat (prefix, info->name, NULL);
      if (!nn_safetensors_copy_tensor (st, name, dest + info->offset, info->n_elements, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
read_order (NnSafetensors *st, NnTrainer *trainer, GError **error)
{
  const guint count = trainer->train->count;
  g_autofree float *order = g_new (float, count);
  g_autofree guint8 *seen = g_new0 (guint8, count);

  if (!nn_safetensors_copy_tensor (st, "trainer.order", order, count, error))
    return FALSE;
  /* It must be a permutation, or batches would read past the data. */
  for (guint i = 0; i < count; i++)
    {
      float v = order[i];

      if (!(v >= 0 && v < count && v == floorf (v)) || seen[(guint) v])
        {
          g_set_error (error, NN_ERROR, NN_ERROR_MODEL_METADATA,
                       _("The checkpoint’s order of training images is not a permutation"));
          return FALSE;
        }
      seen[(guint) v] = 1;
      trainer->order[i] = (guint32) v;
    }
  return TRUE;
}

static gboolean
read_position (NnSafetensors *st, NnTrainer *trainer, GError **error)
{
  guint64 correct, seen;

  if (!read_guint (st, "position.epoch", &trainer->epoch, error)
      || !read_guint (st, "position.batch", &trainer->batch, error)
      || !read_uint (st, "position.step", G_MAXUINT64, &trainer->step, error)
      || !read_bool (st, "position.order_ready", &trainer->order_ready, error)
      || !read_rng (st, &trainer->rng, error)
      || !read_double (st, "epoch.loss_sum", &trainer->epoch_loss_sum, error)
      || !read_uint (st, "epoch.correct", G_MAXUINT64, &correct, error)
      || !read_uint (st, "epoch.seen", G_MAXUINT64, &seen, error)
      || !read_double (st, "epoch.seconds", &trainer->epoch_seconds, error)
      || !read_double (st, "elapsed_seconds", &trainer->elapsed_seconds, error))
    return FALSE;
  trainer->epoch_correct = correct;
  trainer->epoch_seen = seen;
  /* Checkpoints from before scribbles saw digits only. */
  trainer->epoch_digits = seen;
  if (nn_safetensors_get_metadata (st, "epoch.digits") != NULL)
    {
      guint64 digits;

      if (!read_uint (st, "epoch.digits", seen, &digits, error))
        return FALSE;
      trainer->epoch_digits = digits;
    }

  /* The position must be one this run can reach. */
  if (trainer->epoch > trainer->config.epochs
      || trainer->batch > trainer->batches_per_epoch
      || (trainer->batch > 0 && !trainer->order_ready)
      || trainer->step != (guint64) trainer->epoch * trainer->batches_per_epoch + trainer->batch
      || seen > trainer->train->count || correct > seen)
    {
      g_set_error (error, NN_ERROR, NN_ERROR_MODEL_METADATA,
                   _("The checkpoint’s position in training is inconsistent"));
      return FALSE;
    }
  if (trainer->order_ready)
    return read_order (st, trainer, error);
  return TRUE;
}

NnTrainer *
nn_trainer_load_checkpoint (const char       *path,
                            const NnDataset  *train,
                            const NnDataset  *test,
                            GError          **error)
{
  g_autoptr (NnSafetensors) st = NULL;
  g_autoptr (NnModel) model = NULL;
  g_autoptr (NnTrainer) trainer = NULL;
  g_autofree char *digest = NULL;
  g_auto (GStrv) keys = NULL;
  NnTrainConfig config;
  const char *text;
  guint count;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (train != NULL, NULL);

  st = nn_safetensors_read (path, error);
  if (st == NULL)
    return NULL;

  text = nn_safetensors_get_metadata (st, "format");
  if (g_strcmp0 (text, CHECKPOINT_FORMAT) != 0
      || g_strcmp0 (nn_safetensors_get_metadata (st, "format_version"), CHECKPOINT_VERSION) != 0)
    {
      g_set_error (error, NN_ERROR, NN_ERROR_MODEL_VERSION,
                   _("“%s” is not a Digit Lab training checkpoint of a version this program reads"),
                   path);
      return NULL;
    }

  if (!read_config (st, &config, error) || !nn_train_config_validate (&config, error))
    return NULL;
  if (!read_guint (st, "train.count", &count, error))
    return NULL;
  digest = dataset_digest (train);
  if (count != train->count || g_strcmp0 (nn_safetensors_get_metadata (st, "train.digest"), digest) != 0)
    {
      g_set_error (error, NN_ERROR, NN_ERROR_PARAMETER,
                   _("The checkpoint was made with a different training set (%u images)"), count);
      return NULL;
    }

  if ((text = require (st, "spec", error)) == NULL)
    return NULL;
  model = nn_model_new (text, 0, error);
  if (model == NULL)
    return NULL;
  for (guint t = 0; t < model->n_tensors; t++)
    {
      const NnTensorInfo *info = &model->tensors[t];
      float *dest = (info->trainable ? model->params : model->buffers) + info->offset;

      if (!nn_safetensors_copy_tensor (st, info->name, dest, info->n_elements, error))
        return NULL;
    }
  nn_model_weights_changed (model);
  keys = nn_safetensors_list_metadata (st);
  for (guint i = 0; keys[i] != NULL; i++)
    if (g_str_has_prefix (keys[i], MODEL_META_PREFIX))
      nn_model_set_metadata (model, keys[i] + strlen (MODEL_META_PREFIX),
                             nn_safetensors_get_metadata (st, keys[i]));

  trainer = nn_trainer_new_full (model, TRUE, train, test, &config, error);
  if (trainer == NULL)
    return NULL;
  g_steal_pointer (&model);   /* the trainer owns it now */

  if (!copy_state (st, "optimizer.m.", trainer->model, trainer->opt_m, error)
      || (trainer->opt_v != NULL
          && !copy_state (st, "optimizer.v.", trainer->model, trainer->opt_v, error))
      || !read_position (st, trainer, error))
    return NULL;
  return g_steal_pointer (&trainer);
}

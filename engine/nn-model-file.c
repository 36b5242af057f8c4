/* nn-model-file.c — models saved as safetensors files (docs/model-format.md).
 *
 * A model file is a plain safetensors file that any safetensors reader can
 * open: the tensors under PyTorch's names and shapes, and in "__metadata__"
 * the format tag, its version, the architecture spec that rebuilds the model
 * and whatever the trainer recorded. Loading trusts nothing: the container
 * is checked by nn-safetensors.c, then every tensor against the
 * architecture. Only nn.h's public model API is used here. */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "nn-safetensors.h"

#define MODEL_FORMAT         NN_MODEL_FORMAT
#define MODEL_FORMAT_VERSION NN_MODEL_FORMAT_VERSION
#define MODEL_INPUT          NN_MODEL_INPUT

/* Written by this file from the model itself; never taken from, or given
 * back to, the model's own metadata. */
static const char *const reserved_keys[] = { "format", "format_version", "arch", "input" };

static gboolean
is_reserved_key (const char *key)
{
  for (guint i = 0; i < G_N_ELEMENTS (reserved_keys); i++)
    if (strcmp (key, reserved_keys[i]) == 0)
      return TRUE;
  return FALSE;
}

/* ---- Saving ------------------------------------------------------------- */

/* What a model file holds, pointing into the model: valid while the model
 * is alive and unchanged. */
typedef struct {
  NnStTensorRef *tensors;
  guint          n_tensors;
  GHashTable    *metadata;   /* borrowed strings */
  char         **keys;       /* owns the model's key strings */
} ModelFileParts;

static void
model_file_parts_init (ModelFileParts *parts, NnModel *model)
{
  parts->n_tensors = nn_model_get_n_tensors (model);
  parts->tensors = g_new0 (NnStTensorRef, parts->n_tensors);
  for (guint i = 0; i < parts->n_tensors; i++)
    {
      NnTensor tensor;

      nn_model_get_tensor (model, i, &tensor);
      parts->tensors[i].name = tensor.name;
      parts->tensors[i].ndim = tensor.ndim;
      for (guint d = 0; d < tensor.ndim; d++)
        parts->tensors[i].shape[d] = tensor.shape[d];
      parts->tensors[i].data = tensor.data;
    }

  parts->metadata = g_hash_table_new (g_str_hash, g_str_equal);
  parts->keys = nn_model_list_metadata (model);
  for (guint i = 0; parts->keys[i] != NULL; i++)
    if (!is_reserved_key (parts->keys[i]))
      g_hash_table_insert (parts->metadata, parts->keys[i],
                           (gpointer) nn_model_get_metadata (model, parts->keys[i]));
  g_hash_table_insert (parts->metadata, "format", MODEL_FORMAT);
  g_hash_table_insert (parts->metadata, "format_version", MODEL_FORMAT_VERSION);
  g_hash_table_insert (parts->metadata, "arch", (gpointer) nn_model_get_spec (model));
  g_hash_table_insert (parts->metadata, "input", MODEL_INPUT);
}

static void
model_file_parts_clear (ModelFileParts *parts)
{
  g_free (parts->tensors);
  g_hash_table_unref (parts->metadata);
  g_strfreev (parts->keys);
}

gboolean
nn_model_save (NnModel *model, const char *path, GError **error)
{
  ModelFileParts parts;
  gboolean saved;

  g_return_val_if_fail (model != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  model_file_parts_init (&parts, model);
  saved = nn_safetensors_write (path, parts.tensors, parts.n_tensors, parts.metadata, error);
  model_file_parts_clear (&parts);
  return saved;
}

GBytes *
nn_model_save_to_bytes (NnModel *model)
{
  ModelFileParts parts;
  GBytes *bytes;

  g_return_val_if_fail (model != NULL, NULL);

  model_file_parts_init (&parts, model);
  bytes = nn_safetensors_serialize (parts.tensors, parts.n_tensors, parts.metadata);
  model_file_parts_clear (&parts);
  return bytes;
}

/* ---- Loading ------------------------------------------------------------ */

static char *
shape_to_string (guint ndim, const guint64 *shape)
{
  GString *text = g_string_new ("[");

  for (guint d = 0; d < ndim; d++)
    g_string_append_printf (text, d == 0 ? "%" G_GUINT64_FORMAT : ", %" G_GUINT64_FORMAT, shape[d]);
  g_string_append_c (text, ']');
  return g_string_free (text, FALSE);
}

static gboolean
check_format (NnSafetensors *st, GError **error)
{
  const char *format = nn_safetensors_get_metadata (st, "format");
  const char *version = nn_safetensors_get_metadata (st, "format_version");

  if (format == NULL)
    {
      g_set_error (error, NN_ERROR, NN_ERROR_MODEL_VERSION,
                   _("this safetensors file is not a Digit Lab model "
                     "(its metadata has no “format”)"));
      return FALSE;
    }
  if (strcmp (format, MODEL_FORMAT) != 0)
    {
      g_set_error (error, NN_ERROR, NN_ERROR_MODEL_VERSION,
                   _("this safetensors file is not a Digit Lab model "
                     "(its metadata “format” is “%s”, not “%s”)"),
                   format, MODEL_FORMAT);
      return FALSE;
    }
  if (version == NULL || strcmp (version, MODEL_FORMAT_VERSION) != 0)
    {
      g_set_error (error, NN_ERROR, NN_ERROR_MODEL_VERSION,
                   _("the model file format version is “%s”, but this version "
                     "of Digit Lab reads version %s"),
                   version != NULL ? version : "", MODEL_FORMAT_VERSION);
      return FALSE;
    }
  return TRUE;
}

/* Every tensor the architecture has must be in the file with the same
 * shape, and the file must have no other: a file that only half fits is
 * some other model. */
static gboolean
check_tensors (NnModel *model, NnSafetensors *st, GError **error)
{
  g_autoptr(GHashTable) expected = g_hash_table_new (g_str_hash, g_str_equal);
  g_auto(GStrv) names = nn_safetensors_list_tensors (st);

  for (guint i = 0; i < nn_model_get_n_tensors (model); i++)
    {
      NnTensor tensor;
      guint ndim;
      guint64 shape[4], wanted[4] = { 0 };
      gboolean same;

      nn_model_get_tensor (model, i, &tensor);
      g_hash_table_add (expected, (gpointer) tensor.name);

      if (!nn_safetensors_get_shape (st, tensor.name, &ndim, shape))
        {
          g_set_error (error, NN_ERROR, NN_ERROR_MODEL_MISSING_TENSOR,
                       _("the architecture needs a tensor “%s”, which the file lacks"),
                       tensor.name);
          return FALSE;
        }
      for (guint d = 0; d < tensor.ndim; d++)
        wanted[d] = tensor.shape[d];
      same = ndim == tensor.ndim;
      for (guint d = 0; same && d < ndim; d++)
        same = shape[d] == wanted[d];
      if (!same)
        {
          g_autofree char *found_text = shape_to_string (ndim, shape);
          g_autofree char *wanted_text = shape_to_string (tensor.ndim, wanted);
          g_set_error (error, NN_ERROR, NN_ERROR_MODEL_SHAPE,
                       _("tensor “%s” has shape %s in the file, but the "
                         "architecture needs %s"),
                       tensor.name, found_text, wanted_text);
          return FALSE;
        }
    }

  for (guint i = 0; names[i] != NULL; i++)
    if (!g_hash_table_contains (expected, names[i]))
      {
        g_set_error (error, NN_ERROR, NN_ERROR_MODEL_EXTRA_TENSOR,
                     _("the file has a tensor “%s” that the architecture does not"),
                     names[i]);
        return FALSE;
      }
  return TRUE;
}

static NnModel *
model_from_safetensors (NnSafetensors *st, GError **error)
{
  g_autoptr(NnModel) model = NULL;
  g_autoptr(GError) spec_error = NULL;
  g_auto(GStrv) keys = NULL;
  const char *arch;

  if (!check_format (st, error))
    return NULL;

  arch = nn_safetensors_get_metadata (st, "arch");
  if (arch == NULL)
    {
      g_set_error (error, NN_ERROR, NN_ERROR_MODEL_METADATA,
                   _("the metadata has no “arch”, so the model cannot be rebuilt"));
      return NULL;
    }
  model = nn_model_new (arch, 0, &spec_error);
  if (model == NULL)
    {
      g_set_error (error, NN_ERROR, NN_ERROR_MODEL_METADATA,
                   _("the architecture “%s” is not valid: %s"), arch, spec_error->message);
      return NULL;
    }

  if (!check_tensors (model, st, error))
    return NULL;

  for (guint i = 0; i < nn_model_get_n_tensors (model); i++)
    {
      NnTensor tensor;

      nn_model_get_tensor (model, i, &tensor);
      if (!nn_safetensors_copy_tensor (st, tensor.name, tensor.data, tensor.n_elements, error))
        return NULL;
    }

  keys = nn_safetensors_list_metadata (st);
  for (guint i = 0; keys[i] != NULL; i++)
    if (!is_reserved_key (keys[i]))
      nn_model_set_metadata (model, keys[i], nn_safetensors_get_metadata (st, keys[i]));

  return g_steal_pointer (&model);
}

NnModel *
nn_model_load_from_bytes (GBytes *bytes, GError **error)
{
  g_autoptr(NnSafetensors) st = NULL;

  g_return_val_if_fail (bytes != NULL, NULL);

  st = nn_safetensors_parse (bytes, error);
  if (st == NULL)
    return NULL;
  return model_from_safetensors (st, error);
}

NnModel *
nn_model_load (const char *path, GError **error)
{
  g_autofree char *display = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  NnModel *model;
  char *contents;
  gsize len;

  g_return_val_if_fail (path != NULL, NULL);

  display = g_filename_display_name (path);
  if (!g_file_get_contents (path, &contents, &len, &local_error))
    {
      g_set_error (error, NN_ERROR, NN_ERROR_IO,
                   _("Could not read “%s”: %s"), display, local_error->message);
      return NULL;
    }
  bytes = g_bytes_new_take (contents, len);

  model = nn_model_load_from_bytes (bytes, error);
  if (model == NULL)
    g_prefix_error (error, _("“%s” is not a usable model: "), display);
  return model;
}

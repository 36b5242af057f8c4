/* nn-model.c — models: layers, parameters, tensors, metadata.
 *
 * All trainable parameters live in one allocation (and running statistics
 * in another), laid out layer by layer as weight then bias, so gradients
 * and optimiser state can share the layout and be updated in one loop. The
 * tensor table names each piece as PyTorch's nn.Sequential would.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "nn-private.h"

static float *
float_block (gsize n)
{
  float *block = g_aligned_alloc0 (MAX (n, 1), sizeof (float), 64);

  return block;
}

static void
add_tensor (GArray *tensors, guint layer_index, const char *suffix, gboolean trainable,
            gboolean decay, gsize offset, guint ndim, guint d0, guint d1, guint d2, guint d3)
{
  NnTensorInfo info = { 0 };
  guint dims[4] = { d0, d1, d2, d3 };

  info.name = g_strdup_printf ("layers.%u.%s", layer_index, suffix);
  info.ndim = ndim;
  info.n_elements = 1;
  for (guint i = 0; i < ndim; i++)
    {
      info.shape[i] = dims[i];
      info.n_elements *= dims[i];
    }
  info.trainable = trainable;
  info.decay = decay;
  info.offset = offset;
  g_array_append_val (tensors, info);
}

/* Gives each layer its place in the parameter and buffer blocks and lists
 * the tensors in PyTorch's state_dict order. */
static void
lay_out (NnModel *model)
{
  g_autoptr (GArray) tensors = g_array_new (FALSE, TRUE, sizeof (NnTensorInfo));

  model->n_params = 0;
  model->n_buffers = 0;
  for (guint i = 0; i < model->n_layers; i++)
    {
      NnLayer *layer = &model->layers[i];
      gsize weights = nn_layer_weight_size (layer);

      layer->param_offset = model->n_params;
      layer->buffer_offset = model->n_buffers;
      switch (layer->kind)
        {
        case NN_LAYER_CONV:
          add_tensor (tensors, i, "weight", TRUE, TRUE, layer->param_offset, 4,
                      layer->units, layer->in_c, layer->kernel, layer->kernel);
          add_tensor (tensors, i, "bias", TRUE, FALSE, layer->param_offset + weights, 1,
                      layer->units, 0, 0, 0);
          break;
        case NN_LAYER_DENSE:
          add_tensor (tensors, i, "weight", TRUE, TRUE, layer->param_offset, 2,
                      layer->units, (guint) nn_layer_in_size (layer), 0, 0);
          add_tensor (tensors, i, "bias", TRUE, FALSE, layer->param_offset + weights, 1,
                      layer->units, 0, 0, 0);
          break;
        case NN_LAYER_BATCHNORM:
          add_tensor (tensors, i, "weight", TRUE, FALSE, layer->param_offset, 1,
                      layer->in_c, 0, 0, 0);
          add_tensor (tensors, i, "bias", TRUE, FALSE, layer->param_offset + layer->in_c, 1,
                      layer->in_c, 0, 0, 0);
          add_tensor (tensors, i, "running_mean", FALSE, FALSE, layer->buffer_offset, 1,
                      layer->in_c, 0, 0, 0);
          add_tensor (tensors, i, "running_var", FALSE, FALSE, layer->buffer_offset + layer->in_c, 1,
                      layer->in_c, 0, 0, 0);
          break;
        default:
          break;
        }
      model->n_params += layer->n_params;
      model->n_buffers += layer->n_buffers;
    }
  model->n_tensors = tensors->len;
  model->tensors = (NnTensorInfo *) g_array_free (g_steal_pointer (&tensors), FALSE);
}

/* He initialisation (normal, std sqrt(2 / fan_in)) for weights, zero
 * biases, batchnorm as the identity; drawn in layer order from @seed. */
static void
initialise (NnModel *model, guint64 seed)
{
  NnRng rng;

  nn_rng_init (&rng, seed);
  for (guint i = 0; i < model->n_layers; i++)
    {
      const NnLayer *layer = &model->layers[i];
      float *params = model->params + layer->param_offset;
      float *buffers = model->buffers + layer->buffer_offset;
      gsize weights = nn_layer_weight_size (layer);

      switch (layer->kind)
        {
        case NN_LAYER_CONV:
        case NN_LAYER_DENSE:
          {
            gsize fan_in = weights / layer->units;
            float std = (float) sqrt (2.0 / fan_in);

            for (gsize j = 0; j < weights; j++)
              params[j] = nn_rng_normal (&rng) * std;
            memset (params + weights, 0, layer->units * sizeof (float));
          }
          break;
        case NN_LAYER_BATCHNORM:
          for (guint c = 0; c < layer->in_c; c++)
            {
              params[c] = 1.0f;
              params[layer->in_c + c] = 0.0f;
              buffers[c] = 0.0f;
              buffers[layer->in_c + c] = 1.0f;
            }
          break;
        default:
          break;
        }
    }
}

NnModel *
nn_model_new (const char *spec_or_preset,
              guint64     seed,
              GError    **error)
{
  g_autoptr (NnModel) model = g_new0 (NnModel, 1);

  g_return_val_if_fail (spec_or_preset != NULL, NULL);

  model->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  model->layers = nn_spec_parse (spec_or_preset, &model->n_layers, &model->spec, error);
  if (model->layers == NULL)
    return NULL;
  lay_out (model);
  model->params = float_block (model->n_params);
  model->buffers = float_block (model->n_buffers);
  initialise (model, seed);
  return g_steal_pointer (&model);
}

NnModel *
nn_model_copy (const NnModel *model)
{
  NnModel *copy;
  GHashTableIter iter;
  gpointer key, value;

  g_return_val_if_fail (model != NULL, NULL);

  copy = g_new0 (NnModel, 1);
  copy->spec = g_strdup (model->spec);
  copy->n_layers = model->n_layers;
  copy->layers = g_memdup2 (model->layers, model->n_layers * sizeof (NnLayer));
  lay_out (copy);
  copy->params = float_block (model->n_params);
  memcpy (copy->params, model->params, model->n_params * sizeof (float));
  copy->buffers = float_block (model->n_buffers);
  memcpy (copy->buffers, model->buffers, model->n_buffers * sizeof (float));
  copy->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_iter_init (&iter, model->metadata);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_hash_table_insert (copy->metadata, g_strdup (key), g_strdup (value));
  return copy;
}

void
nn_model_free (NnModel *model)
{
  if (model == NULL)
    return;
  g_clear_pointer (&model->inference, nn_workspace_free);
  for (guint i = 0; i < model->n_tensors; i++)
    g_free (model->tensors[i].name);
  g_free (model->tensors);
  g_aligned_free (model->params);
  g_aligned_free (model->buffers);
  g_free (model->layers);
  g_free (model->spec);
  g_clear_pointer (&model->metadata, g_hash_table_unref);
  g_free (model);
}

const char *
nn_model_get_spec (const NnModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  return model->spec;
}

gsize
nn_model_get_param_count (const NnModel *model)
{
  g_return_val_if_fail (model != NULL, 0);
  return model->n_params;
}

guint
nn_model_get_n_layers (const NnModel *model)
{
  g_return_val_if_fail (model != NULL, 0);
  return model->n_layers;
}

static char *
shape_text (guint c, guint h, guint w, gboolean flat)
{
  if (flat)
    return g_strdup_printf ("%u", c);
  return g_strdup_printf ("%ux%ux%u", c, h, w);
}

char *
nn_model_describe (const NnModel *model)
{
  g_autoptr (GPtrArray) words = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) inputs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) outputs = g_ptr_array_new_with_free_func (g_free);
  int word_width = 0, in_width = 0, out_width = 0;
  GString *text = g_string_new (NULL);

  g_return_val_if_fail (model != NULL, NULL);

  for (guint i = 0; i < model->n_layers; i++)
    {
      const NnLayer *layer = &model->layers[i];
      gboolean flat_in = i > 0 && model->layers[i - 1].flat;

      g_ptr_array_add (words, nn_layer_to_word (layer));
      g_ptr_array_add (inputs, shape_text (layer->in_c, layer->in_h, layer->in_w, flat_in));
      g_ptr_array_add (outputs, shape_text (layer->out_c, layer->out_h, layer->out_w, layer->flat));
      word_width = MAX (word_width, (int) strlen (words->pdata[i]));
      in_width = MAX (in_width, (int) strlen (inputs->pdata[i]));
      out_width = MAX (out_width, (int) strlen (outputs->pdata[i]));
    }

  for (guint i = 0; i < model->n_layers; i++)
    {
      gsize n_params = model->layers[i].n_params;

      g_string_append_printf (text, "%-*s  %*s -> %-*s",
                              word_width, (char *) words->pdata[i],
                              in_width, (char *) inputs->pdata[i],
                              n_params > 0 ? out_width : 0, (char *) outputs->pdata[i]);
      if (n_params > 0)
        {
          g_string_append (text, "  ");
          /* TRANSLATORS: the number of trainable parameters of one layer */
          g_string_append_printf (text, g_dngettext (GETTEXT_PACKAGE,
                                                     "%zu param",
                                                     "%zu params", n_params),
                                  n_params);
        }
      g_string_append_c (text, '\n');
    }
  return g_string_free (text, FALSE);
}

guint
nn_model_get_n_tensors (const NnModel *model)
{
  g_return_val_if_fail (model != NULL, 0);
  return model->n_tensors;
}

void
nn_model_get_tensor (NnModel *model, guint index, NnTensor *out)
{
  const NnTensorInfo *info;

  g_return_if_fail (model != NULL);
  g_return_if_fail (index < model->n_tensors);
  g_return_if_fail (out != NULL);

  info = &model->tensors[index];
  out->name = info->name;
  out->ndim = info->ndim;
  memcpy (out->shape, info->shape, sizeof out->shape);
  out->n_elements = info->n_elements;
  out->data = (info->trainable ? model->params : model->buffers) + info->offset;
  out->trainable = info->trainable;
  /* The caller may be about to write to it. */
  nn_model_weights_changed (model);
}

void
nn_model_weights_changed (NnModel *model)
{
  g_return_if_fail (model != NULL);
  model->weights_version++;
}

void
nn_model_set_metadata (NnModel *model, const char *key, const char *value)
{
  g_return_if_fail (model != NULL);
  g_return_if_fail (key != NULL);

  if (value == NULL)
    g_hash_table_remove (model->metadata, key);
  else
    g_hash_table_replace (model->metadata, g_strdup (key), g_strdup (value));
}

const char *
nn_model_get_metadata (const NnModel *model, const char *key)
{
  g_return_val_if_fail (model != NULL, NULL);
  g_return_val_if_fail (key != NULL, NULL);
  return g_hash_table_lookup (model->metadata, key);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

char **
nn_model_list_metadata (const NnModel *model)
{
  guint n = 0;
  char **keys;

  g_return_val_if_fail (model != NULL, NULL);

  keys = (char **) g_hash_table_get_keys_as_array (model->metadata, &n);
  for (guint i = 0; i < n; i++)
    keys[i] = g_strdup (keys[i]);
  qsort (keys, n, sizeof (char *), compare_strings);
  return keys;
}

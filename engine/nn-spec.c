/* nn-spec.c — architecture specs: presets, parsing, shape checking.
 *
 * A spec is what a person types ("conv5x5:32 relu maxpool dense:10"). It is
 * parsed into NnLayers with every shape worked out, so a spec that does not
 * fit a 28x28 input fails here, with the layer and the word named, and not
 * later inside a forward pass.
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "nn-private.h"

#define MAX_KERNEL        15
#define MAX_CHANNELS      1024
#define MAX_UNITS         16384
#define MAX_CONV_INPUTS   16384      /* in_channels * kernel^2: im2col rows */
#define MAX_PARAMS        20000000

static const NnPreset presets[] = {
  { "default",
    "conv3x3:32 batchnorm relu conv3x3:32 batchnorm relu maxpool "
    "conv3x3:64 batchnorm relu conv3x3:64 batchnorm relu maxpool "
    "dense:128 batchnorm relu dropout:0.3 dense:10",
    N_("A small, strong convolutional network with batch normalisation") },
  { "mlp",
    "dense:256 relu dense:128 relu dense:10",
    N_("Fully connected layers only, no convolutions") },
  { "lenet5",
    "conv5x5:6 relu maxpool conv5x5:16:valid relu maxpool dense:120 relu dense:84 relu dense:10",
    N_("LeNet-5, the classic convolutional network of 1998") },
  { "bench-cnn",
    "conv5x5:32 relu maxpool conv5x5:64 relu maxpool dense:128 relu dense:10",
    N_("The benchmark network, the same as PyTorch’s MNIST example") },
};

const NnPreset *
nn_presets (guint *n_presets)
{
  static NnPreset translated[G_N_ELEMENTS (presets)];
  static gsize initialised;

  if (g_once_init_enter (&initialised))
    {
      for (guint i = 0; i < G_N_ELEMENTS (presets); i++)
        {
          translated[i] = presets[i];
          translated[i].description = g_dgettext (GETTEXT_PACKAGE, presets[i].description);
        }
      g_once_init_leave (&initialised, 1);
    }
  if (n_presets != NULL)
    *n_presets = G_N_ELEMENTS (presets);
  return translated;
}

const char *
nn_spec_expand (const char *spec_or_preset)
{
  g_autofree char *name = NULL;

  g_return_val_if_fail (spec_or_preset != NULL, "");

  name = g_strstrip (g_ascii_strdown (spec_or_preset, -1));
  for (guint i = 0; i < G_N_ELEMENTS (presets); i++)
    if (strcmp (name, presets[i].name) == 0)
      return presets[i].spec;
  return spec_or_preset;
}

gsize
nn_layer_weight_size (const NnLayer *layer)
{
  switch (layer->kind)
    {
    case NN_LAYER_CONV:
      return (gsize) layer->units * layer->in_c * layer->kernel * layer->kernel;
    case NN_LAYER_DENSE:
      return (gsize) layer->units * nn_layer_in_size (layer);
    case NN_LAYER_BATCHNORM:
      return layer->in_c;
    default:
      return 0;
    }
}

char *
nn_layer_to_word (const NnLayer *layer)
{
  char rate[G_ASCII_DTOSTR_BUF_SIZE];

  switch (layer->kind)
    {
    case NN_LAYER_CONV:
      return g_strdup_printf ("conv%ux%u:%u%s", layer->kernel, layer->kernel, layer->units,
                              layer->pad == 0 && layer->kernel > 1 ? ":valid" : "");
    case NN_LAYER_MAXPOOL:
      return g_strdup ("maxpool");
    case NN_LAYER_DENSE:
      return g_strdup_printf ("dense:%u", layer->units);
    case NN_LAYER_RELU:
      return g_strdup ("relu");
    case NN_LAYER_DROPOUT:
      /* %g keeps "0.3" as typed rather than the float's 0.30000001. */
      g_ascii_formatd (rate, sizeof rate, "%g", layer->rate);
      return g_strdup_printf ("dropout:%s", rate);
    case NN_LAYER_BATCHNORM:
      return g_strdup ("batchnorm");
    default:
      g_assert_not_reached ();
    }
}

/* ---- Parsing one word -------------------------------------------------- */

static gboolean
parse_count (const char *text, guint max, guint *out)
{
  guint64 value;

  if (text == NULL || !g_ascii_isdigit (text[0]))
    return FALSE;
  if (!g_ascii_string_to_unsigned (text, 10, 1, max, &value, NULL))
    return FALSE;
  *out = (guint) value;
  return TRUE;
}

G_GNUC_PRINTF (4, 5) static void
set_layer_error (GError **error, guint number, const char *word, const char *format, ...)
{
  g_autofree char *reason = NULL;
  va_list args;

  va_start (args, format);
  reason = g_strdup_vprintf (format, args);
  va_end (args);
  /* TRANSLATORS: the first %s is a word of an architecture spec such as
   * "conv5x5:32", the second says what is wrong with it. */
  g_set_error (error, NN_ERROR, NN_ERROR_SPEC, _("layer %u (“%s”): %s"), number, word, reason);
}

static gboolean
parse_conv (const char *word, guint number, const char *original, NnLayer *layer, GError **error)
{
  g_auto (GStrv) parts = g_strsplit (word + strlen ("conv"), ":", -1);
  guint n_parts = g_strv_length (parts);
  g_auto (GStrv) sides = NULL;
  guint k1, k2;

  sides = g_strsplit (parts[0], "x", -1);
  if (g_strv_length (sides) != 2
      || !parse_count (sides[0], 1000, &k1) || !parse_count (sides[1], 1000, &k2))
    {
      set_layer_error (error, number, original,
                       _("the kernel must be written as its size, like conv5x5:32"));
      return FALSE;
    }
  if (k1 != k2 || k1 % 2 == 0)
    {
      set_layer_error (error, number, original,
                       _("the kernel must be square and odd, like conv5x5"));
      return FALSE;
    }
  if (k1 > MAX_KERNEL)
    {
      set_layer_error (error, number, original,
                       _("the kernel can be at most %ux%u"), MAX_KERNEL, MAX_KERNEL);
      return FALSE;
    }
  if (n_parts < 2 || parts[1][0] == '\0')
    {
      set_layer_error (error, number, original,
                       _("say how many channels it makes, like conv%ux%u:32"), k1, k1);
      return FALSE;
    }
  if (!parse_count (parts[1], MAX_CHANNELS, &layer->units))
    {
      set_layer_error (error, number, original,
                       _("the number of channels must be a whole number from 1 to %u"),
                       MAX_CHANNELS);
      return FALSE;
    }
  if (n_parts > 3 || (n_parts == 3 && strcmp (parts[2], "same") != 0
                      && strcmp (parts[2], "valid") != 0))
    {
      set_layer_error (error, number, original,
                       _("the padding must be “same” or “valid”, like conv3x3:16:valid"));
      return FALSE;
    }
  layer->kind = NN_LAYER_CONV;
  layer->kernel = k1;
  layer->pad = n_parts == 3 && strcmp (parts[2], "valid") == 0 ? 0 : (k1 - 1) / 2;
  return TRUE;
}

static gboolean
parse_word (const char *original, guint number, NnLayer *layer, GError **error)
{
  g_autofree char *word = g_ascii_strdown (original, -1);
  const char *colon = strchr (word, ':');
  g_autofree char *name = g_strndup (word, colon ? (gsize) (colon - word) : strlen (word));
  const char *argument = colon ? colon + 1 : NULL;

  memset (layer, 0, sizeof *layer);

  if (g_str_has_prefix (word, "conv"))
    return parse_conv (word, number, original, layer, error);

  if (strcmp (name, "maxpool") == 0 || strcmp (name, "pool") == 0
      || strcmp (name, "relu") == 0 || strcmp (name, "batchnorm") == 0
      || strcmp (name, "bn") == 0)
    {
      if (argument != NULL)
        {
          set_layer_error (error, number, original, _("“%s” takes no argument"), name);
          return FALSE;
        }
      layer->kind = name[0] == 'r' ? NN_LAYER_RELU
                  : name[0] == 'b' ? NN_LAYER_BATCHNORM
                  : NN_LAYER_MAXPOOL;
      return TRUE;
    }

  if (strcmp (name, "dense") == 0 || strcmp (name, "fc") == 0)
    {
      if (argument == NULL || argument[0] == '\0')
        {
          set_layer_error (error, number, original,
                           _("say how many outputs it has, like dense:128"));
          return FALSE;
        }
      if (!parse_count (argument, MAX_UNITS, &layer->units))
        {
          set_layer_error (error, number, original,
                           _("the number of outputs must be a whole number from 1 to %u"),
                           MAX_UNITS);
          return FALSE;
        }
      layer->kind = NN_LAYER_DENSE;
      return TRUE;
    }

  if (strcmp (name, "dropout") == 0)
    {
      double rate = 0.5;   /* PyTorch's default */
      char *end = NULL;

      if (argument != NULL)
        {
          rate = g_ascii_strtod (argument, &end);
          if (argument[0] == '\0' || *end != '\0' || !isfinite (rate) || rate < 0 || rate >= 1)
            {
              set_layer_error (error, number, original,
                               _("the rate must be a number from 0 up to (not including) 1, like dropout:0.25"));
              return FALSE;
            }
        }
      layer->kind = NN_LAYER_DROPOUT;
      layer->rate = (float) rate;
      return TRUE;
    }

  set_layer_error (error, number, original,
                   _("unknown layer; expected convKxK:N, maxpool, dense:N, relu, dropout:P or batchnorm"));
  return FALSE;
}

/* ---- Shapes ------------------------------------------------------------ */

/* Fills in @layer's output shape and sizes from its input shape. */
static gboolean
fit_layer (NnLayer *layer, guint number, const char *word, GError **error)
{
  layer->out_c = layer->in_c;
  layer->out_h = layer->in_h;
  layer->out_w = layer->in_w;

  switch (layer->kind)
    {
    case NN_LAYER_CONV:
      if (layer->flat)
        {
          set_layer_error (error, number, word,
                           _("a convolution needs an image, but a dense layer comes before it"));
          return FALSE;
        }
      if (layer->pad == 0 && (layer->kernel > layer->in_h || layer->kernel > layer->in_w))
        {
          set_layer_error (error, number, word,
                           _("the %ux%u kernel is larger than its %ux%u input"),
                           layer->kernel, layer->kernel, layer->in_h, layer->in_w);
          return FALSE;
        }
      if ((gsize) layer->in_c * layer->kernel * layer->kernel > MAX_CONV_INPUTS)
        {
          set_layer_error (error, number, word,
                           _("each output would depend on %u inputs; the limit is %u"),
                           layer->in_c * layer->kernel * layer->kernel, MAX_CONV_INPUTS);
          return FALSE;
        }
      layer->out_c = layer->units;
      layer->out_h = layer->in_h + 2 * layer->pad - layer->kernel + 1;
      layer->out_w = layer->in_w + 2 * layer->pad - layer->kernel + 1;
      layer->n_params = nn_layer_weight_size (layer) + layer->units;
      break;

    case NN_LAYER_MAXPOOL:
      if (layer->flat)
        {
          set_layer_error (error, number, word,
                           _("pooling needs an image, but a dense layer comes before it"));
          return FALSE;
        }
      if (layer->in_h < 2 || layer->in_w < 2)
        {
          set_layer_error (error, number, word, _("cannot pool a %ux%u map"),
                           layer->in_h, layer->in_w);
          return FALSE;
        }
      layer->out_h = layer->in_h / 2;
      layer->out_w = layer->in_w / 2;
      break;

    case NN_LAYER_DENSE:
      layer->out_c = layer->units;
      layer->out_h = layer->out_w = 1;
      layer->flat = TRUE;
      layer->n_params = nn_layer_weight_size (layer) + layer->units;
      break;

    case NN_LAYER_BATCHNORM:
      layer->n_params = 2 * (gsize) layer->in_c;
      layer->n_buffers = 2 * (gsize) layer->in_c;
      break;

    case NN_LAYER_RELU:
    case NN_LAYER_DROPOUT:
      break;
    }
  return TRUE;
}

NnLayer *
nn_spec_parse (const char *spec_or_preset,
               guint      *n_layers,
               char      **canonical,
               GError    **error)
{
  const char *spec;
  g_auto (GStrv) tokens = NULL;
  g_autoptr (GArray) layers = g_array_new (FALSE, TRUE, sizeof (NnLayer));
  g_autoptr (GPtrArray) words = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) typed = g_ptr_array_new ();   /* the words as given */
  gsize total_params = 0;
  guint c = 1, h = NN_IMAGE_SIDE, w = NN_IMAGE_SIDE;
  gboolean flat = FALSE;

  g_return_val_if_fail (spec_or_preset != NULL, NULL);

  spec = nn_spec_expand (spec_or_preset);
  tokens = g_regex_split_simple ("[\\s,]+", spec, 0, 0);

  for (guint i = 0; tokens[i] != NULL; i++)
    {
      NnLayer layer;
      guint number = layers->len + 1;

      if (tokens[i][0] == '\0')
        continue;
      if (!parse_word (tokens[i], number, &layer, error))
        return NULL;

      layer.in_c = c;
      layer.in_h = h;
      layer.in_w = w;
      layer.flat = flat;
      if (!fit_layer (&layer, number, tokens[i], error))
        return NULL;

      total_params += layer.n_params;
      if (total_params > MAX_PARAMS)
        {
          set_layer_error (error, number, tokens[i],
                           _("the network would have more than %u parameters"), MAX_PARAMS);
          return NULL;
        }

      c = layer.out_c;
      h = layer.out_h;
      w = layer.out_w;
      flat = layer.flat;
      g_array_append_val (layers, layer);
      g_ptr_array_add (words, nn_layer_to_word (&layer));
      g_ptr_array_add (typed, tokens[i]);
    }

  if (layers->len == 0)
    {
      g_set_error (error, NN_ERROR, NN_ERROR_SPEC,
                   _("the architecture is empty; list layers such as “conv5x5:32 relu maxpool dense:10”"));
      return NULL;
    }
  {
    const NnLayer *last = &g_array_index (layers, NnLayer, layers->len - 1);

    if (last->kind != NN_LAYER_DENSE || last->units != NN_CLASSES)
      {
        set_layer_error (error, layers->len, typed->pdata[layers->len - 1],
                         _("the last layer must be dense:10, one output per digit"));
        return NULL;
      }
  }

  if (canonical != NULL)
    {
      g_ptr_array_add (words, NULL);
      *canonical = g_strjoinv (" ", (char **) words->pdata);
    }
  if (n_layers != NULL)
    *n_layers = layers->len;
  return (NnLayer *) g_array_free (g_steal_pointer (&layers), FALSE);
}

gboolean
nn_spec_validate (const char *spec_or_preset,
                  gsize      *n_params,
                  GError    **error)
{
  g_autofree NnLayer *layers = NULL;
  guint n_layers = 0;
  gsize total = 0;

  g_return_val_if_fail (spec_or_preset != NULL, FALSE);

  layers = nn_spec_parse (spec_or_preset, &n_layers, NULL, error);
  if (layers == NULL)
    return FALSE;
  for (guint i = 0; i < n_layers; i++)
    total += layers[i].n_params;
  if (n_params != NULL)
    *n_params = total;
  return TRUE;
}

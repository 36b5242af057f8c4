/* augment-preview.c — a grid of distorted MNIST digits, to judge by eye.
 *
 * Built with the tests but not run by them: the defaults in nn-augment.c
 * were tuned by looking at its output. Each row is one training digit: the
 * original on the left, then distorted copies.
 *
 *   augment-preview [--only=affine|elastic|stroke|thin|thick|styles]
 *                   [--digit-styles] [--digit=D] [--seed=N]
 *                   [--rows=N] [--columns=N] OUT.pgm
 *   convert OUT.pgm OUT.png
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn-augment.h"

#define SIDE NN_IMAGE_SIDE
#define GAP  2

static gboolean
restrict_params (NnAugmentParams *params, const char *only, GError **error)
{
  NnAugmentParams defaults = *params;
  nn_augment_params_identity (params);
  params->stroke_width_min = defaults.stroke_width_min;
  params->stroke_width_max = defaults.stroke_width_max;

  if (g_str_equal (only, "all"))
    *params = defaults;
  else if (g_str_equal (only, "affine"))
    {
      params->rotation_deg = defaults.rotation_deg;
      params->scale_min = defaults.scale_min;
      params->scale_max = defaults.scale_max;
      params->aspect = defaults.aspect;
      params->shear = defaults.shear;
      params->translate_px = defaults.translate_px;
    }
  else if (g_str_equal (only, "elastic"))
    {
      params->elastic_alpha = defaults.elastic_alpha;
      params->elastic_sigma = defaults.elastic_sigma;
      params->elastic_probability = 1.0f;
    }
  else if (g_str_equal (only, "stroke"))
    {
      params->stroke_min = defaults.stroke_min;
      params->stroke_max = defaults.stroke_max;
    }
  else if (g_str_equal (only, "styles"))
    {
      nn_augment_params_add_digit_styles (params);
      params->one_flag_probability = params->seven_bar_probability = 1.0f;
    }
  else if (g_str_equal (only, "thin"))
    params->stroke_min = params->stroke_max = defaults.stroke_min;
  else if (g_str_equal (only, "thick"))
    params->stroke_min = params->stroke_max = defaults.stroke_max;
  else
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "unknown --only value “%s”", only);
      return FALSE;
    }
  return TRUE;
}

int
main (int argc, char **argv)
{
  g_autofree char *only = g_strdup ("all");
  g_autofree char *dir = g_strdup (g_getenv ("DIGITLAB_MNIST_DIR"));
  gint64 seed = 1;
  int rows = 12, columns = 12, first = 0;
  double elastic_alpha = -1, elastic_sigma = -1;
  gboolean digit_styles = FALSE;
  int digit = -1;
  GOptionEntry entries[] = {
    { "only", 0, 0, G_OPTION_ARG_STRING, &only, "Distortions to apply: all, affine, elastic, stroke, thin, thick, styles (every 1 flagged, every 7 crossed)", "WHICH" },
    { "digit-styles", 0, 0, G_OPTION_ARG_NONE, &digit_styles, "Add the digit styles to the distortions, as training does with --digit-styles", NULL },
    { "digit", 0, 0, G_OPTION_ARG_INT, &digit, "Show only training digits with this label", "D" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Run seed", "N" },
    { "rows", 0, 0, G_OPTION_ARG_INT, &rows, "Digits, one per row", "N" },
    { "columns", 0, 0, G_OPTION_ARG_INT, &columns, "Distorted copies per digit", "N" },
    { "first", 0, 0, G_OPTION_ARG_INT, &first, "Index of the first training digit", "N" },
    { "mnist", 0, 0, G_OPTION_ARG_FILENAME, &dir, "MNIST folder", "DIR" },
    { "alpha", 0, 0, G_OPTION_ARG_DOUBLE, &elastic_alpha, "Override the elastic alpha", "PX" },
    { "sigma", 0, 0, G_OPTION_ARG_DOUBLE, &elastic_sigma, "Override the elastic sigma", "PX" },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("OUT.pgm");
  g_option_context_add_main_entries (context, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc != 2)
    {
      g_printerr ("%s\n", error ? error->message : "give one output file");
      return 2;
    }

  NnAugmentParams params;
  nn_augment_params_default (&params);
  if (digit_styles)
    nn_augment_params_add_digit_styles (&params);
  if (elastic_alpha >= 0)
    params.elastic_alpha = elastic_alpha;
  if (elastic_sigma >= 0)
    params.elastic_sigma = elastic_sigma;
  if (!restrict_params (&params, only, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }

  g_autoptr (NnDataset) train = NULL;
  g_autoptr (NnDataset) test = NULL;
  if (!nn_dataset_load_dir (dir ? dir : MNIST_DEFAULT_DIR, &train, &test, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  rows = CLAMP (rows, 1, (int) MIN (train->count, 200));
  columns = CLAMP (columns, 1, 200);
  first = CLAMP (first, 0, (int) train->count - rows);

  int width = (columns + 1) * (SIDE + GAP) + GAP;
  int height = rows * (SIDE + GAP) + GAP;
  g_autofree guint8 *canvas = g_malloc (width * height);
  /* Mid grey between cells, so the edges of each 28x28 box show. */
  memset (canvas, 96, width * height);

  guint index = first;
  for (int r = 0; r < rows; r++, index++)
    {
      while (digit >= 0 && index < train->count && train->labels[index] != digit)
        index++;
      if (index >= train->count)
        break;
      const guint8 *image = train->images + (gsize) index * NN_IMAGE_PIXELS;
      for (int c = 0; c <= columns; c++)
        {
          float out[NN_IMAGE_PIXELS];
          if (c == 0)
            {
              NnAugmentTransform identity;
              nn_augment_transform_identity (&identity);
              nn_augment_image_with (&identity, image, out);
            }
          else
            nn_augment_digit (&params, nn_augment_seed (seed, c - 1, index),
                              train->labels[index], image, out);
          /* White paper, black ink, as people draw it. */
          int left = GAP + c * (SIDE + GAP), top = GAP + r * (SIDE + GAP);
          for (int y = 0; y < SIDE; y++)
            for (int x = 0; x < SIDE; x++)
              canvas[(top + y) * width + left + x] =
                (guint8) (255.0f - 255.0f * out[y * SIDE + x] + 0.5f);
        }
    }

  FILE *file = fopen (argv[1], "wb");
  if (!file)
    {
      g_printerr ("cannot write %s\n", argv[1]);
      return 1;
    }
  fprintf (file, "P5\n%d %d\n255\n", width, height);
  fwrite (canvas, 1, width * height, file);
  fclose (file);
  return 0;
}

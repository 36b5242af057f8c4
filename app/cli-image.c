/* cli-image.c — from a picture of a digit to an ink raster for
 * nn_preprocess: which pixels are paper and which are ink, decided from the
 * picture itself. */
#include "config.h"

#include <math.h>

#include "cli-image.h"

/* Ink fainter than this (after stretching the contrast) is paper noise: a
 * scan's grain or JPEG ringing would otherwise widen the digit's bounding
 * box and shrink the digit when it is fitted into 20x20. */
#define NOISE_FLOOR 0.1f

static int
compare_floats (gconstpointer a, gconstpointer b)
{
  float x = *(const float *) a, y = *(const float *) b;

  return (x > y) - (x < y);
}

/* The median of @values on the picture's outermost pixels: the border is
 * almost always paper, and the median ignores a stroke that touches it. */
static float
border_median (const float *values, guint width, guint height)
{
  g_autoptr(GArray) border = g_array_new (FALSE, FALSE, sizeof (float));
  float median;

  for (guint y = 0; y < height; y++)
    for (guint x = 0; x < width; x++)
      if (y == 0 || y == height - 1 || x == 0 || x == width - 1)
        g_array_append_val (border, values[(gsize) y * width + x]);
  g_array_sort (border, compare_floats);
  median = g_array_index (border, float, border->len / 2);
  return median;
}

/* Maps @values linearly so that @paper becomes 0 and the value farthest
 * from it on the ink's side becomes 1, then drops the noise floor. Ink is
 * darker than light paper and lighter than dark paper; the other side (a
 * lighter smudge on white paper) is not ink. A picture with no contrast
 * comes out blank, which nn_preprocess reports as an empty drawing. */
static void
stretch_to_ink (float *values, gsize n, float paper)
{
  float direction = paper >= 0.5f ? -1.0f : 1.0f;
  float farthest = 0.0f;

  for (gsize i = 0; i < n; i++)
    farthest = MAX (farthest, direction * (values[i] - paper));

  for (gsize i = 0; i < n; i++)
    {
      float ink = farthest > 0.0f ? direction * (values[i] - paper) / farthest : 0.0f;

      values[i] = CLAMP ((ink - NOISE_FLOOR) / (1.0f - NOISE_FLOOR), 0.0f, 1.0f);
    }
}

float *
cli_image_to_ink (GdkPixbuf *pixbuf, guint *width, guint *height)
{
  g_autoptr(GdkPixbuf) oriented = gdk_pixbuf_apply_embedded_orientation (pixbuf);
  guint w = gdk_pixbuf_get_width (oriented);
  guint h = gdk_pixbuf_get_height (oriented);
  int stride = gdk_pixbuf_get_rowstride (oriented);
  int channels = gdk_pixbuf_get_n_channels (oriented);
  gboolean has_alpha = gdk_pixbuf_get_has_alpha (oriented);
  const guint8 *pixels = gdk_pixbuf_read_pixels (oriented);
  gsize n = (gsize) w * h;
  g_autofree float *luminance = g_new (float, n);
  g_autofree float *alpha = g_new (float, n);

  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      {
        const guint8 *p = pixels + (gsize) y * stride + (gsize) x * channels;
        gsize i = (gsize) y * w + x;

        /* Rec. 601 luma: what a grayscale scan of the page would give. */
        luminance[i] = (0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2]) / 255.0f;
        alpha[i] = has_alpha ? p[3] / 255.0f : 1.0f;
      }

  *width = w;
  *height = h;

  /* Ink on a transparent background, as drawing programs export it: the
   * opacity is the ink, whatever colour it was painted in. */
  if (has_alpha && border_median (alpha, w, h) < 0.5f)
    {
      stretch_to_ink (alpha, n, 0.0f);
      return g_steal_pointer (&alpha);
    }

  /* Otherwise the picture as it would look on white paper. */
  for (gsize i = 0; i < n; i++)
    luminance[i] = alpha[i] * luminance[i] + (1.0f - alpha[i]);
  stretch_to_ink (luminance, n, border_median (luminance, w, h));
  return g_steal_pointer (&luminance);
}

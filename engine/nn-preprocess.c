/* nn-preprocess.c — turns a raster of any size into a 28x28 MNIST image.
 *
 * The network only knows MNIST, so a drawing must be normalised the way
 * MNIST's digits were (LeCun et al.): the ink's bounding box is scaled so its
 * longer side is 20 pixels, keeping the aspect ratio, with anti-aliasing, and
 * the result is placed in a 28x28 frame so that its centre of mass is at the
 * centre. A drawing is first rendered as the app's canvas renders it, at
 * NN_DRAWING_RASTER_SIDE pixels on its longer side, whatever size it was
 * recorded at. docs/preprocessing.md explains each choice. */
#include "config.h"

#include <float.h>
#include <glib/gi18n-lib.h>
#include <math.h>
#include <string.h>

#include "nn.h"

/* The side of the box the ink is fitted into, as in MNIST. */
#define FIT_SIDE 20
/* Anything a byte raster would store as non-zero counts as ink: MNIST's
 * bounding boxes include their faintest anti-aliased pixels (every MNIST
 * test digit's box is exactly 20 pixels long, grey edges included). */
#define INK_EPSILON (0.5f / 255.0f)
/* The centre of mass goes to pixel index 14 on both axes: measured over
 * MNIST's test set, the mean is (13.99, 14.01) with a spread of 0.29, which
 * is what whole-pixel shifts towards 14 give. */
#define CENTRE 14.0

/* Box-filter weights along one axis: output pixel j covers source
 * coordinates [j / scale, (j + 1) / scale), and its weight for source pixel
 * k is the overlap, as a fraction of the output pixel. */
typedef struct {
  guint   n_out;
  guint   stride;   /* weights per output pixel */
  guint  *first;    /* first source pixel of output j */
  guint  *count;    /* how many source pixels it covers */
  double *weight;   /* n_out * stride */
} AxisWeights;

static void
axis_weights_init (AxisWeights *axis, guint n_src, double scale, guint n_out)
{
  axis->n_out = n_out;
  axis->stride = (guint) ceil (1.0 / scale) + 2;
  axis->first = g_new0 (guint, n_out);
  axis->count = g_new0 (guint, n_out);
  axis->weight = g_new0 (double, (gsize) n_out * axis->stride);

  for (guint j = 0; j < n_out; j++)
    {
      double begin = j / scale, end = (j + 1) / scale;
      guint k0 = (guint) floor (begin);
      guint k1 = MIN ((guint) ceil (end), n_src);

      axis->first[j] = k0;
      for (guint k = k0; k < k1 && axis->count[j] < axis->stride; k++)
        {
          double overlap = MIN (end, k + 1.0) - MAX (begin, (double) k);
          axis->weight[(gsize) j * axis->stride + axis->count[j]++] = MAX (overlap, 0.0) * scale;
        }
    }
}

static void
axis_weights_clear (AxisWeights *axis)
{
  g_free (axis->first);
  g_free (axis->count);
  g_free (axis->weight);
}

gboolean
nn_preprocess (const float *raster,
               guint        width,
               guint        height,
               float        out[NN_IMAGE_PIXELS],
               GError     **error)
{
  guint x0 = width, y0 = height, x1 = 0, y1 = 0;
  guint crop_w, crop_h, box_w, box_h;
  double scale, mass = 0, mass_x = 0, mass_y = 0;
  int shift_x, shift_y;
  AxisWeights wx, wy;
  g_autofree double *rows = NULL;
  double box[FIT_SIDE * FIT_SIDE] = { 0 };

  g_return_val_if_fail (raster != NULL && width > 0 && height > 0, FALSE);

  for (guint y = 0; y < height; y++)
    for (guint x = 0; x < width; x++)
      if (raster[(gsize) y * width + x] > INK_EPSILON)
        {
          x0 = MIN (x0, x);
          x1 = MAX (x1, x);
          y0 = MIN (y0, y);
          y1 = MAX (y1, y);
        }
  if (x0 > x1 || y0 > y1)
    {
      g_set_error (error, NN_ERROR, NN_ERROR_EMPTY_DRAWING,
                   _("There is no ink to recognise: draw a digit first"));
      return FALSE;
    }

  /* Fit the longer side to 20 pixels; the shorter one keeps the aspect
   * ratio, and its last pixel may be partly covered. */
  crop_w = x1 - x0 + 1;
  crop_h = y1 - y0 + 1;
  scale = (double) FIT_SIDE / MAX (crop_w, crop_h);
  box_w = MIN ((guint) ceil (crop_w * scale - 1e-6), FIT_SIDE);
  box_h = MIN ((guint) ceil (crop_h * scale - 1e-6), FIT_SIDE);

  /* Area averaging, separable: first along rows, then along columns. Each
   * output pixel is exactly the ink its area covers, so shrinking a large
   * canvas anti-aliases, and the total ink only scales by scale². */
  axis_weights_init (&wx, crop_w, scale, box_w);
  axis_weights_init (&wy, crop_h, scale, box_h);
  rows = g_new0 (double, (gsize) crop_h * box_w);
  for (guint l = 0; l < crop_h; l++)
    {
      const float *src = raster + (gsize) (y0 + l) * width + x0;
      for (guint j = 0; j < box_w; j++)
        {
          const double *w = wx.weight + (gsize) j * wx.stride;
          double sum = 0;
          for (guint c = 0; c < wx.count[j]; c++)
            sum += w[c] * src[wx.first[j] + c];
          rows[(gsize) l * box_w + j] = sum;
        }
    }
  for (guint i = 0; i < box_h; i++)
    {
      const double *w = wy.weight + (gsize) i * wy.stride;
      for (guint c = 0; c < wy.count[i]; c++)
        {
          const double *row = rows + (gsize) (wy.first[i] + c) * box_w;
          for (guint j = 0; j < box_w; j++)
            box[i * FIT_SIDE + j] += w[c] * row[j];
        }
    }
  axis_weights_clear (&wx);
  axis_weights_clear (&wy);

  for (guint i = 0; i < box_h; i++)
    for (guint j = 0; j < box_w; j++)
      {
        double v = box[i * FIT_SIDE + j];
        mass += v;
        mass_x += v * j;
        mass_y += v * i;
      }

  /* Whole-pixel shifts, as MNIST made them: no extra blur, and the box
   * stays exactly 20 pixels long. The shift is limited so that no ink
   * leaves the frame, which only matters for very lopsided shapes. Exact
   * halves round up; the 1e-6 keeps rounding errors in the sums from
   * deciding which way a symmetric shape goes. */
  shift_x = (int) floor (CENTRE - mass_x / mass + 0.5 + 1e-6);
  shift_y = (int) floor (CENTRE - mass_y / mass + 0.5 + 1e-6);
  shift_x = CLAMP (shift_x, 0, NN_IMAGE_SIDE - (int) box_w);
  shift_y = CLAMP (shift_y, 0, NN_IMAGE_SIDE - (int) box_h);

  memset (out, 0, NN_IMAGE_PIXELS * sizeof (float));
  for (guint i = 0; i < box_h; i++)
    for (guint j = 0; j < box_w; j++)
      out[(i + shift_y) * NN_IMAGE_SIDE + j + shift_x] =
        (float) CLAMP (box[i * FIT_SIDE + j], 0.0, 1.0);

  return TRUE;
}

/* @drawing mapped as the app's canvas holds it: one uniform scale takes its
 * longer side to NN_DRAWING_RASTER_SIDE pixels, points and pen alike. The
 * canvas keeps its strokes in those logical pixels whatever its size on
 * screen, so the same strokes recorded in screen pixels give the same
 * raster. NULL when the drawing has that size already: it is rendered as it
 * is, bit for bit. */
static NnDrawing *
drawing_at_raster_side (const NnDrawing *drawing)
{
  guint width = nn_drawing_get_width (drawing);
  guint height = nn_drawing_get_height (drawing);
  guint side = MAX (width, height);
  double scale = (double) NN_DRAWING_RASTER_SIDE / side;
  NnDrawing *scaled;

  if (side == NN_DRAWING_RASTER_SIDE)
    return NULL;

  /* ceil (width * scale) in whole numbers: in floating point, 511 times
   * 280 / 511 may come out a hair above 280 and add a column. */
  scaled = nn_drawing_new ((width * NN_DRAWING_RASTER_SIDE + side - 1) / side,
                           (height * NN_DRAWING_RASTER_SIDE + side - 1) / side);
  /* A pen too thin to leave ink stays so (a width must be above 0). */
  nn_drawing_set_pen_width (scaled, MAX ((float) (nn_drawing_get_pen_width (drawing) * scale),
                                         FLT_MIN));
  for (guint s = 0; s < nn_drawing_get_n_strokes (drawing); s++)
    {
      guint n;
      const NnPoint *points = nn_drawing_get_stroke (drawing, s, &n);

      nn_drawing_begin_stroke (scaled, (float) (points[0].x * scale),
                               (float) (points[0].y * scale));
      for (guint i = 1; i < n; i++)
        nn_drawing_extend_stroke (scaled, (float) (points[i].x * scale),
                                  (float) (points[i].y * scale));
    }
  return scaled;
}

gboolean
nn_drawing_to_image (const NnDrawing *drawing,
                     float            out[NN_IMAGE_PIXELS],
                     GError         **error)
{
  g_autoptr(NnDrawing) scaled = NULL;
  g_autofree float *raster = NULL;

  g_return_val_if_fail (drawing != NULL, FALSE);

  if (nn_drawing_is_empty (drawing))
    {
      g_set_error (error, NN_ERROR, NN_ERROR_EMPTY_DRAWING,
                   _("There is no ink to recognise: draw a digit first"));
      return FALSE;
    }
  scaled = drawing_at_raster_side (drawing);
  if (scaled != NULL)
    drawing = scaled;
  raster = nn_drawing_rasterize (drawing);
  return nn_preprocess (raster, nn_drawing_get_width (drawing),
                        nn_drawing_get_height (drawing), out, error);
}

/* test-augment.c — the random distortions applied to training images.
 *
 * Exact answers where geometry gives them (identity, integer shifts, quarter
 * turns, a bar made one pixel wider), statistics where it does not (the
 * elastic field's size, how often it is used, ink gained or lost), and
 * determinism, which resuming and multi-threaded training rely on. */
#include "nn-augment.h"

#include <math.h>
#include <string.h>
#include <time.h>

#define SIDE NN_IMAGE_SIDE
#define PIXELS NN_IMAGE_PIXELS

/* Every byte value somewhere, no symmetry: any misplaced pixel shows. */
static void
fill_noise (guint8 image[PIXELS], guint32 seed)
{
  NnRng rng;
  nn_rng_init (&rng, seed);
  for (int i = 0; i < PIXELS; i++)
    image[i] = (guint8) nn_rng_below (&rng, 256);
}

/* Anti-aliased strokes of width @pen through @points (x, y pairs, NaN
 * starts a new stroke), as a digit in the middle 20x20 box would look. */
static void
render_strokes (guint8 image[PIXELS], const double *points, int n_points, double pen)
{
  int stride = cairo_format_stride_for_width (CAIRO_FORMAT_A8, SIDE);
  g_autofree guint8 *pixels = g_malloc0 (stride * SIDE);
  cairo_surface_t *surface = cairo_image_surface_create_for_data (pixels, CAIRO_FORMAT_A8,
                                                                  SIDE, SIDE, stride);
  cairo_t *cr = cairo_create (surface);
  cairo_set_line_width (cr, pen);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  gboolean start = TRUE;
  for (int i = 0; i < n_points; i++)
    {
      double x = points[2 * i], y = points[2 * i + 1];
      if (isnan (x))
        {
          start = TRUE;
          continue;
        }
      if (start)
        cairo_move_to (cr, x, y);
      else
        cairo_line_to (cr, x, y);
      start = FALSE;
    }
  cairo_stroke (cr);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  for (int y = 0; y < SIDE; y++)
    memcpy (image + y * SIDE, pixels + y * stride, SIDE);
  cairo_surface_destroy (surface);
}

static void
render_four (guint8 image[PIXELS], double pen)
{
  static const double four[] = {
    16, 5, 8, 17, 20, 17, NAN, NAN, 16, 5, 16, 24,
  };
  render_strokes (image, four, G_N_ELEMENTS (four) / 2, pen);
}

static void
render_two (guint8 image[PIXELS], double pen)
{
  static const double two[] = {
    9, 9, 11, 6, 15, 5, 18, 7, 19, 10, 17, 14, 9, 23, 20, 23,
  };
  render_strokes (image, two, G_N_ELEMENTS (two) / 2, pen);
}

static double
total_ink (const float image[PIXELS])
{
  double sum = 0.0;
  for (int i = 0; i < PIXELS; i++)
    sum += image[i];
  return sum;
}

static void
centre_of_mass (const float image[PIXELS], double *cx, double *cy)
{
  double sum = 0.0, sx = 0.0, sy = 0.0;
  for (int y = 0; y < SIDE; y++)
    for (int x = 0; x < SIDE; x++)
      {
        double v = image[y * SIDE + x];
        sum += v;
        sx += v * x;
        sy += v * y;
      }
  *cx = sx / sum;
  *cy = sy / sum;
}

static void
to_floats (const guint8 in[PIXELS], float out[PIXELS])
{
  for (int i = 0; i < PIXELS; i++)
    out[i] = in[i] / 255.0f;
}

static void
assert_valid_image (const float image[PIXELS])
{
  for (int i = 0; i < PIXELS; i++)
    {
      g_assert_true (isfinite (image[i]));
      g_assert_cmpfloat (image[i], >=, 0.0f);
      g_assert_cmpfloat (image[i], <=, 1.0f);
    }
}

static void
test_identity (void)
{
  NnAugmentParams params;
  nn_augment_params_identity (&params);
  guint8 in[PIXELS];
  float expected[PIXELS], out[PIXELS];

  for (guint32 trial = 0; trial < 20; trial++)
    {
      fill_noise (in, trial);
      to_floats (in, expected);
      nn_augment_image (&params, nn_augment_seed (7, 0, trial), in, out);
      g_assert_cmpmem (out, sizeof out, expected, sizeof expected);
    }

  /* Zero-width ranges around non-zero values are not identity... */
  params.stroke_min = params.stroke_max = 0.5f;
  render_four (in, 2.0);
  to_floats (in, expected);
  nn_augment_image (&params, 1, in, out);
  g_assert_true (memcmp (out, expected, sizeof out) != 0);

  /* ...and an elastic field that may be picked with probability 0 is not
   * picked. */
  nn_augment_params_identity (&params);
  params.elastic_alpha = 3.0f;
  params.elastic_sigma = 4.0f;
  params.elastic_probability = 0.0f;
  for (guint32 trial = 0; trial < 20; trial++)
    {
      nn_augment_image (&params, trial, in, out);
      g_assert_cmpmem (out, sizeof out, expected, sizeof expected);
    }
}

static void
test_deterministic (void)
{
  NnAugmentParams params;
  nn_augment_params_default (&params);
  params.elastic_probability = 1.0f;   /* every part of the pipeline runs */
  guint8 in[PIXELS];
  float a[PIXELS], b[PIXELS], c[PIXELS];
  render_two (in, 2.2);

  for (guint index = 0; index < 50; index++)
    {
      guint64 seed = nn_augment_seed (42, 3, index);
      nn_augment_image (&params, seed, in, a);
      nn_augment_image (&params, seed, in, b);
      g_assert_cmpmem (a, sizeof a, b, sizeof b);

      nn_augment_image (&params, nn_augment_seed (42, 3, index + 1), in, c);
      g_assert_true (memcmp (a, c, sizeof a) != 0);
    }
}

/* Several threads distort the same images in different orders at once; each
 * result must be bitwise the serial one: no state shared between calls. */
#define THREAD_IMAGES 64

typedef struct {
  const guint8 *inputs;
  float        *outputs;
  guint         stride;   /* visiting order: index * stride mod count */
} ThreadWork;

static gpointer
augment_in_thread (gpointer data)
{
  ThreadWork *work = data;
  NnAugmentParams params;
  nn_augment_params_default (&params);
  params.elastic_probability = 1.0f;
  for (guint k = 0; k < THREAD_IMAGES; k++)
    {
      guint i = (k * work->stride) % THREAD_IMAGES;
      nn_augment_image (&params, nn_augment_seed (77, 1, i),
                        work->inputs + i * PIXELS, work->outputs + i * PIXELS);
    }
  return NULL;
}

static void
test_threads (void)
{
  g_autofree guint8 *inputs = g_malloc (THREAD_IMAGES * PIXELS);
  for (guint i = 0; i < THREAD_IMAGES; i++)
    {
      if (i % 2)
        render_two (inputs + i * PIXELS, 1.5 + 0.05 * i);
      else
        render_four (inputs + i * PIXELS, 1.5 + 0.05 * i);
    }

  g_autofree float *serial = g_new (float, THREAD_IMAGES * PIXELS);
  ThreadWork alone = { inputs, serial, 1 };
  augment_in_thread (&alone);

  static const guint strides[] = { 1, 3, 5, 7 };
  GThread *threads[G_N_ELEMENTS (strides)];
  ThreadWork work[G_N_ELEMENTS (strides)];
  for (guint t = 0; t < G_N_ELEMENTS (strides); t++)
    {
      work[t] = (ThreadWork) { inputs, g_new (float, THREAD_IMAGES * PIXELS), strides[t] };
      threads[t] = g_thread_new ("augment", augment_in_thread, &work[t]);
    }
  for (guint t = 0; t < G_N_ELEMENTS (strides); t++)
    {
      g_thread_join (threads[t]);
      g_assert_cmpmem (work[t].outputs, THREAD_IMAGES * PIXELS * sizeof (float),
                       serial, THREAD_IMAGES * PIXELS * sizeof (float));
      g_free (work[t].outputs);
    }
}

static void
test_seed_mixing (void)
{
  /* Neighbouring (run, epoch, index) triples, which a weak combination such
   * as run + epoch * n + index would confuse, all get different seeds. */
  g_autoptr (GHashTable) seen = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autofree gint64 *seeds = g_new (gint64, 3 * 40 * 40);
  guint n = 0;
  for (guint64 run = 0; run < 3; run++)
    for (guint epoch = 0; epoch < 40; epoch++)
      for (guint index = 0; index < 40; index++)
        {
          seeds[n] = (gint64) nn_augment_seed (run, epoch, index);
          g_assert_false (g_hash_table_contains (seen, &seeds[n]));
          g_hash_table_add (seen, &seeds[n]);
          n++;
        }

  g_assert_cmpuint (nn_augment_seed (5, 6, 7), ==, nn_augment_seed (5, 6, 7));
  g_assert_cmpuint (nn_augment_seed (0, 1, 0), !=, nn_augment_seed (0, 0, 1));

  /* Well mixed: flipping one input bit flips about half the output bits. */
  double flipped = 0.0;
  int trials = 0;
  for (guint bit = 0; bit < 32; bit++)
    {
      guint64 base = nn_augment_seed (1234, 5, 6789);
      flipped += __builtin_popcountll (base ^ nn_augment_seed (1234, 5, 6789u ^ (1u << bit)));
      flipped += __builtin_popcountll (base ^ nn_augment_seed (1234, 5u ^ (1u << bit), 6789));
      flipped += __builtin_popcountll (base ^ nn_augment_seed (1234ull ^ (1ull << bit), 5, 6789));
      trials += 3;
    }
  g_assert_cmpfloat_with_epsilon (flipped / trials, 32.0, 3.0);
}

static void
test_translate_exact (void)
{
  guint8 in[PIXELS];
  float out[PIXELS];
  fill_noise (in, 99);

  static const int shifts[][2] = { { 3, -2 }, { -1, 5 }, { 0, 1 }, { -27, 0 } };
  for (guint s = 0; s < G_N_ELEMENTS (shifts); s++)
    {
      NnAugmentTransform t;
      nn_augment_transform_identity (&t);
      t.translate_x = shifts[s][0];
      t.translate_y = shifts[s][1];
      nn_augment_image_with (&t, in, out);

      for (int y = 0; y < SIDE; y++)
        for (int x = 0; x < SIDE; x++)
          {
            int sx = x - shifts[s][0], sy = y - shifts[s][1];
            float expected = (sx >= 0 && sx < SIDE && sy >= 0 && sy < SIDE)
                             ? in[sy * SIDE + sx] / 255.0f : 0.0f;
            g_assert_cmpfloat (out[y * SIDE + x], ==, expected);
          }
    }

  /* A half-pixel shift averages neighbours: bilinear, not nearest. */
  NnAugmentTransform t;
  nn_augment_transform_identity (&t);
  t.translate_x = 0.5f;
  nn_augment_image_with (&t, in, out);
  for (int y = 0; y < SIDE; y++)
    for (int x = 1; x < SIDE; x++)
      g_assert_cmpfloat_with_epsilon (out[y * SIDE + x],
                                      (in[y * SIDE + x - 1] + in[y * SIDE + x]) / 510.0f,
                                      1e-6);
}

static void
test_rotate_quarter_turn (void)
{
  guint8 in[PIXELS];
  float out[PIXELS], back[PIXELS];
  fill_noise (in, 1234);

  NnAugmentTransform t;
  nn_augment_transform_identity (&t);
  t.rotation_deg = 90.0f;
  nn_augment_image_with (&t, in, out);

  /* Anticlockwise on screen: the right edge becomes the top edge. */
  for (int r = 0; r < SIDE; r++)
    for (int c = 0; c < SIDE; c++)
      g_assert_cmpfloat (out[r * SIDE + c], ==, in[c * SIDE + (SIDE - 1 - r)] / 255.0f);

  /* -90 turns the other way: back to where we started. */
  guint8 turned[PIXELS];
  for (int i = 0; i < PIXELS; i++)
    turned[i] = (guint8) lrintf (out[i] * 255.0f);
  t.rotation_deg = -90.0f;
  nn_augment_image_with (&t, turned, back);
  for (int i = 0; i < PIXELS; i++)
    g_assert_cmpfloat (back[i], ==, in[i] / 255.0f);

  /* A half turn is a point reflection through the centre. */
  t.rotation_deg = 180.0f;
  nn_augment_image_with (&t, in, out);
  for (int i = 0; i < PIXELS; i++)
    g_assert_cmpfloat (out[i], ==, in[PIXELS - 1 - i] / 255.0f);
}

static void
test_scale_and_shear (void)
{
  /* One ink pixel at (17, 13), 3.5 px right of and 0.5 above the centre
   * (13.5, 13.5). Doubling the width sends it to 13.5 + 7 = 20.5 and
   * spreads it over the four pixels within two of that (a tent of weights
   * 1/4, 3/4, 3/4, 1/4): twice the ink, as the area doubled. A shear of 2
   * then moves it by 2 * (-0.5) = -1 in x. */
  guint8 in[PIXELS] = { 0 };
  in[13 * SIDE + 17] = 255;
  float out[PIXELS];
  static const float tent[] = { 0.25f, 0.75f, 0.75f, 0.25f };

  NnAugmentTransform t;
  nn_augment_transform_identity (&t);
  t.scale_x = 2.0f;
  nn_augment_image_with (&t, in, out);
  for (int k = 0; k < 4; k++)
    g_assert_cmpfloat_with_epsilon (out[13 * SIDE + 19 + k], tent[k], 1e-6);
  g_assert_cmpfloat_with_epsilon (total_ink (out), 2.0, 1e-5);

  t.shear = 2.0f;
  nn_augment_image_with (&t, in, out);
  for (int k = 0; k < 4; k++)
    g_assert_cmpfloat_with_epsilon (out[13 * SIDE + 18 + k], tent[k], 1e-6);
  g_assert_cmpfloat_with_epsilon (total_ink (out), 2.0, 1e-5);

  /* Squeezing to nothing gives an empty image, not NaNs. */
  t.scale_x = 0.0f;
  t.shear = 0.0f;
  nn_augment_image_with (&t, in, out);
  g_assert_cmpfloat (total_ink (out), ==, 0.0);
}

static void
test_stroke_known_answer (void)
{
  /* A hard-edged vertical bar, columns 12..15, rows 4..23. Made 1 px wider,
   * each edge moves out by half a pixel: columns 11 and 16 become half ink.
   * Made 1 px thinner, columns 12 and 15 become half ink. */
  guint8 in[PIXELS] = { 0 };
  for (int y = 4; y <= 23; y++)
    for (int x = 12; x <= 15; x++)
      in[y * SIDE + x] = 255;

  NnAugmentTransform t;
  nn_augment_transform_identity (&t);
  float out[PIXELS];

  t.stroke = 1.0f;
  nn_augment_image_with (&t, in, out);
  for (int y = 6; y <= 21; y++)
    for (int x = 0; x < SIDE; x++)
      {
        float expected = x >= 12 && x <= 15 ? 1.0f : x == 11 || x == 16 ? 0.5f : 0.0f;
        g_assert_cmpfloat_with_epsilon (out[y * SIDE + x], expected, 1e-6);
      }

  t.stroke = -1.0f;
  nn_augment_image_with (&t, in, out);
  for (int y = 6; y <= 21; y++)
    for (int x = 0; x < SIDE; x++)
      {
        float expected = x == 13 || x == 14 ? 1.0f : x == 12 || x == 15 ? 0.5f : 0.0f;
        g_assert_cmpfloat_with_epsilon (out[y * SIDE + x], expected, 1e-6);
      }

  /* An anti-aliased edge moves too: when the edge in the middle of the
   * half-covered columns moves out by half a pixel, they become fully
   * covered and the next columns out stay empty (but for the rounding of
   * 128 / 255 above one half). */
  for (int y = 4; y <= 23; y++)
    {
      in[y * SIDE + 11] = 128;
      in[y * SIDE + 16] = 128;
    }
  t.stroke = 1.0f;
  nn_augment_image_with (&t, in, out);
  for (int y = 6; y <= 21; y++)
    {
      g_assert_cmpfloat_with_epsilon (out[y * SIDE + 11], 1.0f, 1e-6);
      g_assert_cmpfloat_with_epsilon (out[y * SIDE + 10], 128 / 255.0f - 0.5f, 1e-6);
      g_assert_cmpfloat_with_epsilon (out[y * SIDE + 17], 128 / 255.0f - 0.5f, 1e-6);
      g_assert_cmpfloat_with_epsilon (out[y * SIDE + 16], 1.0f, 1e-6);
    }
}

static void
test_stroke_ink_and_centre (void)
{
  /* On digit-like strokes of several pens, thickening adds ink and thinning
   * removes it, both in proportion to the amount, while the ink's centre of
   * mass stays put: strokes grow and shrink on both sides. */
  for (int shape = 0; shape < 2; shape++)
    for (double pen = 1.6; pen <= 3.01; pen += 0.7)
      {
        guint8 in[PIXELS];
        if (shape == 0)
          render_four (in, pen);
        else
          render_two (in, pen);
        float original[PIXELS];
        to_floats (in, original);
        double ink = total_ink (original), cx, cy;
        centre_of_mass (original, &cx, &cy);

        double previous = 0.0;
        static const float widths[] = { -0.8f, -0.4f, 0.4f, 0.8f, 1.5f };
        for (guint w = 0; w < G_N_ELEMENTS (widths); w++)
          {
            NnAugmentTransform t;
            nn_augment_transform_identity (&t);
            t.stroke = widths[w];
            float out[PIXELS];
            nn_augment_image_with (&t, in, out);

            double changed = total_ink (out), ox, oy;
            centre_of_mass (out, &ox, &oy);
            g_test_message ("shape %d pen %.1f width %+.1f: ink %.1f -> %.1f, "
                            "centre moved (%.2f, %.2f)", shape, pen, widths[w],
                            ink, changed, ox - cx, oy - cy);
            if (widths[w] < 0)
              g_assert_cmpfloat (changed, <, ink);
            else
              g_assert_cmpfloat (changed, >, ink);
            /* Monotonic in the width. */
            g_assert_cmpfloat (changed, >, previous);
            previous = changed;
            /* About (length of the outline) * width / 2 of ink: a stroke of
             * pen p and ink I is about I / p long, with two sides. */
            double expected = ink + ink / pen * widths[w];
            g_assert_cmpfloat (fabs (changed - expected), <, 0.45 * fabs (expected - ink));
            /* Thinning never wipes a stroke out. */
            g_assert_cmpfloat (changed, >, 0.4 * ink);
            g_assert_cmpfloat (hypot (ox - cx, oy - cy), <, 0.3);
          }
      }
}

/* The same estimate as the engine's, written out independently: twice the
 * ink over the length of its outline, the outline measured as the total
 * variation over the peak. */
static double
stroke_width (const float image[PIXELS])
{
  double area = 0.0, outline = 0.0, peak = 0.0;
  for (int y = 0; y < SIDE; y++)
    for (int x = 0; x < SIDE; x++)
      {
        double v = image[y * SIDE + x];
        double left = x > 0 ? image[y * SIDE + x - 1] : 0.0;
        double up = y > 0 ? image[(y - 1) * SIDE + x] : 0.0;
        area += v;
        outline += hypot (v - left, v - up);
        peak = MAX (peak, v);
      }
  return 2.0 * area * peak / outline;
}

static void
render_bar (guint8 image[PIXELS], int left, int width)
{
  memset (image, 0, PIXELS);
  for (int y = 2; y < SIDE - 2; y++)
    for (int x = left; x < left + width; x++)
      image[y * SIDE + x] = 255;
}

static void
test_stroke_limits (void)
{
  guint8 in[PIXELS];
  float original[PIXELS], out[PIXELS], unlimited[PIXELS];
  NnAugmentTransform t;
  nn_augment_transform_identity (&t);
  t.stroke_width_min = 1.3f;
  t.stroke_width_max = 4.0f;

  /* Already past a limit: left alone, not pulled back. */
  render_bar (in, 11, 6);
  to_floats (in, original);
  g_assert_cmpfloat (stroke_width (original), >, 4.0);
  t.stroke = 2.0f;
  nn_augment_image_with (&t, in, out);
  g_assert_cmpmem (out, sizeof out, original, sizeof original);
  t.stroke = -1.0f;
  nn_augment_image_with (&t, in, out);
  g_assert_cmpfloat (total_ink (out), <, total_ink (original));

  render_bar (in, 13, 1);
  to_floats (in, original);
  g_assert_cmpfloat (stroke_width (original), <, 1.3);
  t.stroke = -0.8f;
  nn_augment_image_with (&t, in, out);
  g_assert_cmpmem (out, sizeof out, original, sizeof original);

  /* Within the limits: stops at them. A 2 px bar asked to grow by 3 px
   * grows to about 4 px; asked to shrink by 1 px, to about 1.3 px. "About":
   * the estimate counts the bar's ends as outline, which grows too. */
  render_bar (in, 13, 2);
  to_floats (in, original);
  t.stroke = 3.0f;
  nn_augment_image_with (&t, in, out);
  NnAugmentTransform free_growth = t;
  free_growth.stroke_width_min = free_growth.stroke_width_max = 0.0f;
  nn_augment_image_with (&free_growth, in, unlimited);
  g_test_message ("2 px bar +3 px: width %.2f -> %.2f (%.2f without limits)",
                  stroke_width (original), stroke_width (out), stroke_width (unlimited));
  g_assert_cmpfloat_with_epsilon (stroke_width (out), 4.0, 0.45);
  g_assert_cmpfloat (stroke_width (out), <, stroke_width (unlimited) - 0.5);
  g_assert_cmpfloat (total_ink (out), <, total_ink (unlimited));

  t.stroke = -1.0f;
  nn_augment_image_with (&t, in, out);
  g_test_message ("2 px bar -1 px: width %.2f -> %.2f",
                  stroke_width (original), stroke_width (out));
  g_assert_cmpfloat_with_epsilon (stroke_width (out), 1.3, 0.25);
}

static void
test_mnist_digits (void)
{
  /* On real training digits, the defaults keep every digit a digit: ink
   * neither vanishes nor floods, and stays near the middle. */
  const char *dir = g_getenv ("DIGITLAB_MNIST_DIR");
  g_autoptr (NnDataset) train = NULL;
  g_autoptr (NnDataset) test = NULL;
  g_autoptr (GError) error = NULL;
  if (!dir || !nn_dataset_load_dir (dir, &train, &test, &error))
    {
      g_test_skip_printf ("no MNIST at %s: %s", dir ? dir : "(unset)",
                          error ? error->message : "DIGITLAB_MNIST_DIR not set");
      return;
    }

  NnAugmentParams params;
  nn_augment_params_default (&params);
  double width_sum = 0.0, original_width_sum = 0.0, max_shift = 0.0;
  guint n = MIN (train->count, 1000);
  for (guint i = 0; i < n; i++)
    {
      const guint8 *image = train->images + (gsize) i * PIXELS;
      float original[PIXELS], out[PIXELS];
      to_floats (image, original);
      nn_augment_image (&params, nn_augment_seed (9, 0, i), image, out);
      assert_valid_image (out);

      double ink = total_ink (original), changed = total_ink (out), cx, cy, ox, oy;
      g_assert_cmpfloat (changed, >, 0.3 * ink);
      g_assert_cmpfloat (changed, <, 4.0 * ink);
      /* Thickening stops at about 4 px (the estimate is rough: filled
       * corners and merged strokes count as width); scaling up can still
       * widen an already thick digit. */
      NnAugmentTransform t;
      nn_augment_draw (&params, nn_augment_seed (9, 0, i), &t);
      t.stroke = 0.0f;
      float unstroked[PIXELS];
      nn_augment_image_with (&t, image, unstroked);
      g_assert_cmpfloat (stroke_width (out), <, 1.2 * MAX (4.0, stroke_width (unstroked)));
      /* Translation moves it by at most 2.8 px; the rest is scaling and
       * shearing about the centre of the box, and the elastic field. */
      centre_of_mass (out, &cx, &cy);
      centre_of_mass (original, &ox, &oy);
      max_shift = MAX (max_shift, hypot (cx - ox, cy - oy));
      g_assert_cmpfloat (hypot (cx - ox, cy - oy), <, 3.5);
      width_sum += stroke_width (out);
      original_width_sum += stroke_width (original);
    }
  g_test_message ("mean stroke width %.2f px before, %.2f after; centre of "
                  "mass moved up to %.2f px", original_width_sum / n,
                  width_sum / n, max_shift);
}

static void
test_elastic_field (void)
{
  /* On a horizontal ramp (byte = 9 * x) the bilinear sample at x + d is
   * 9 * (x + d): the output reveals each displacement. The field is white
   * noise smoothed by a Gaussian of sigma, so displacements r apart
   * correlate as exp(-r^2 / (4 sigma^2)) and differ, in RMS, by
   * alpha * sqrt(2 (1 - that)). Differences are also blind to the shift
   * of the whole field that is removed. */
  const float alpha = 1.5f, sigma = 4.0f;
  guint8 ramp[PIXELS], column[PIXELS];
  for (int y = 0; y < SIDE; y++)
    for (int x = 0; x < SIDE; x++)
      {
        ramp[y * SIDE + x] = (guint8) (9 * x);
        column[y * SIDE + x] = (guint8) (9 * y);
      }

  static const int gaps[] = { 2, 4, 8 };
  for (int axis = 0; axis < 2; axis++)
    for (guint g = 0; g < G_N_ELEMENTS (gaps); g++)
      {
        int gap = gaps[g];
        double sum_squares = 0.0;
        int n = 0;
        for (guint64 seed = 1; seed <= 2000; seed++)
          {
            NnAugmentTransform t;
            nn_augment_transform_identity (&t);
            t.elastic_alpha = alpha;
            t.elastic_sigma = sigma;
            t.elastic_seed = seed;
            float out[PIXELS];
            nn_augment_image_with (&t, axis == 0 ? ramp : column, out);
            /* Pairs along the axis, about the middle, so that the
             * ramp's values stay within 0..255 after displacement. */
            for (int k = 13; k <= 14; k++)
              {
                int a = 14 - gap / 2, b = a + gap;
                int ia = axis == 0 ? k * SIDE + a : a * SIDE + k;
                int ib = axis == 0 ? k * SIDE + b : b * SIDE + k;
                double da = out[ia] * 255.0 / 9.0 - a;
                double db = out[ib] * 255.0 / 9.0 - b;
                sum_squares += (db - da) * (db - da);
                n++;
              }
          }
        double rms = sqrt (sum_squares / n);
        double expected = alpha * sqrt (2.0 * (1.0 - exp (-gap * gap / (4.0 * sigma * sigma))));
        g_test_message ("axis %d, %d px apart: displacements differ by %.3f px "
                        "RMS, expected %.3f", axis, gap, rms, expected);
        g_assert_cmpfloat_with_epsilon (rms, expected, 0.1 * expected);
      }
}

static void
test_elastic_keeps_centre (void)
{
  /* Only bends: the digit's centre of mass stays put (to first order; the
   * bilinear resampling and the image edge add a little). */
  guint8 in[PIXELS];
  render_two (in, 2.2);
  float original[PIXELS], out[PIXELS];
  to_floats (in, original);
  double cx, cy, sum = 0.0, worst = 0.0;
  centre_of_mass (original, &cx, &cy);

  const int n = 300;
  for (int seed = 1; seed <= n; seed++)
    {
      NnAugmentTransform t;
      nn_augment_transform_identity (&t);
      t.elastic_alpha = 1.5f;
      t.elastic_sigma = 4.0f;
      t.elastic_seed = seed;
      nn_augment_image_with (&t, in, out);
      double ox, oy;
      centre_of_mass (out, &ox, &oy);
      double shift = hypot (ox - cx, oy - cy);
      sum += shift;
      worst = MAX (worst, shift);
    }
  g_test_message ("elastic field moves the centre of mass by %.3f px on "
                  "average, %.3f at most", sum / n, worst);
  g_assert_cmpfloat (sum / n, <, 0.25);
  g_assert_cmpfloat (worst, <, 0.8);
}

static void
test_draw_ranges (void)
{
  NnAugmentParams params;
  nn_augment_params_default (&params);
  int elastic = 0, n = 4000;
  float min_rotation = G_MAXFLOAT, max_rotation = -G_MAXFLOAT;
  float min_stroke = G_MAXFLOAT, max_stroke = -G_MAXFLOAT;

  for (int i = 0; i < n; i++)
    {
      NnAugmentTransform t;
      nn_augment_draw (&params, nn_augment_seed (3, 1, i), &t);
      g_assert_cmpfloat (fabsf (t.rotation_deg), <=, params.rotation_deg);
      float scale = sqrtf (t.scale_x * t.scale_y);
      g_assert_cmpfloat (scale, >=, params.scale_min - 1e-5f);
      g_assert_cmpfloat (scale, <=, params.scale_max + 1e-5f);
      g_assert_cmpfloat (fabsf (logf (t.scale_x / t.scale_y)) * 0.5f, <=, params.aspect + 1e-5f);
      g_assert_cmpfloat (fabsf (t.shear), <=, params.shear);
      g_assert_cmpfloat (fabsf (t.translate_x), <=, params.translate_px);
      g_assert_cmpfloat (fabsf (t.translate_y), <=, params.translate_px);
      g_assert_cmpfloat (t.stroke, >=, params.stroke_min);
      g_assert_cmpfloat (t.stroke, <=, params.stroke_max);
      if (t.elastic_alpha > 0.0f)
        {
          g_assert_cmpfloat (t.elastic_alpha, ==, params.elastic_alpha);
          g_assert_cmpfloat (t.elastic_sigma, ==, params.elastic_sigma);
          elastic++;
        }
      min_rotation = MIN (min_rotation, t.rotation_deg);
      max_rotation = MAX (max_rotation, t.rotation_deg);
      min_stroke = MIN (min_stroke, t.stroke);
      max_stroke = MAX (max_stroke, t.stroke);
    }

  /* The whole range is used, and the elastic field as often as asked. */
  g_assert_cmpfloat (min_rotation, <, -0.95f * params.rotation_deg);
  g_assert_cmpfloat (max_rotation, >, 0.95f * params.rotation_deg);
  g_assert_cmpfloat (min_stroke, <, params.stroke_min + 0.05f);
  g_assert_cmpfloat (max_stroke, >, params.stroke_max - 0.05f);
  g_assert_cmpfloat_with_epsilon ((double) elastic / n, params.elastic_probability, 0.04);
}

static void
test_finite_and_in_range (void)
{
  guint8 digit[PIXELS], noise[PIXELS], full[PIXELS];
  render_four (digit, 2.5);
  fill_noise (noise, 5);
  memset (full, 255, sizeof full);
  const guint8 *inputs[] = { digit, noise, full };

  NnAugmentParams params;
  nn_augment_params_default (&params);
  NnAugmentParams wild = {
    .rotation_deg = 180.0f, .scale_min = 0.2f, .scale_max = 3.0f,
    .aspect = 1.0f, .shear = 2.0f, .translate_px = 20.0f,
    .elastic_alpha = 10.0f, .elastic_sigma = 30.0f, .elastic_probability = 1.0f,
    .stroke_min = -10.0f, .stroke_max = 10.0f,
  };
  NnAugmentParams sharp = wild;
  sharp.elastic_sigma = 0.0f;   /* unsmoothed noise: still finite */

  float out[PIXELS];
  for (guint k = 0; k < G_N_ELEMENTS (inputs); k++)
    for (guint i = 0; i < 300; i++)
      {
        nn_augment_image (&params, nn_augment_seed (11, k, i), inputs[k], out);
        assert_valid_image (out);
        nn_augment_image (&wild, nn_augment_seed (12, k, i), inputs[k], out);
        assert_valid_image (out);
        nn_augment_image (&sharp, nn_augment_seed (13, k, i), inputs[k], out);
        assert_valid_image (out);
      }

  /* Nonsense values degrade to an empty image rather than NaNs. */
  NnAugmentTransform t;
  nn_augment_transform_identity (&t);
  t.rotation_deg = NAN;
  nn_augment_image_with (&t, digit, out);
  assert_valid_image (out);
  nn_augment_transform_identity (&t);
  t.scale_y = INFINITY;
  nn_augment_image_with (&t, digit, out);
  assert_valid_image (out);
  nn_augment_transform_identity (&t);
  t.stroke = NAN;
  t.translate_x = NAN;
  nn_augment_image_with (&t, digit, out);
  assert_valid_image (out);
  static const float sigmas[] = { 1e30f, INFINITY, NAN, -3.0f };
  for (guint k = 0; k < G_N_ELEMENTS (sigmas); k++)
    {
      nn_augment_transform_identity (&t);
      t.elastic_alpha = 1e30f;
      t.elastic_sigma = sigmas[k];
      t.elastic_seed = k;
      t.stroke = 1e30f;
      nn_augment_image_with (&t, digit, out);
      assert_valid_image (out);
    }
}

/* CPU time of this thread, so that other work on the machine does not
 * count. */
static double
thread_seconds (void)
{
  struct timespec now;
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &now);
  return now.tv_sec + now.tv_nsec * 1e-9;
}

static void
test_timing (void)
{
  /* The fastest of several rounds: sharing the core only ever slows a
   * round down (caches, frequency). */
  guint8 in[PIXELS];
  render_two (in, 2.2);
  float out[PIXELS];
  NnAugmentParams params;
  const int rounds = 12, per_round = 1000;

  static const float probabilities[] = { 0.0f, 1.0f, -1.0f };
  for (guint p = 0; p < G_N_ELEMENTS (probabilities); p++)
    {
      nn_augment_params_default (&params);
      if (probabilities[p] >= 0.0f)
        params.elastic_probability = probabilities[p];
      double sink = 0.0, best = G_MAXDOUBLE;
      for (int r = 0; r < rounds; r++)
        {
          double start = thread_seconds ();
          for (int i = 0; i < per_round; i++)
            {
              nn_augment_image (&params, nn_augment_seed (1, r, i), in, out);
              sink += out[14 * SIDE + 14];
            }
          best = MIN (best, (thread_seconds () - start) * 1e6 / per_round);
        }
      g_test_message ("%.2f us per image, one thread, elastic probability %.1f "
                      "(checksum %.1f)", best, params.elastic_probability, sink);
    }
}

/* Ink in the rectangle [x0, x1) x [y0, y1). */
static double
ink_in (const float image[PIXELS], int x0, int y0, int x1, int y1)
{
  double ink = 0.0;
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++)
      ink += image[y * SIDE + x];
  return ink;
}

/* A flag is drawn on 1s only, from the top of the stem down to the left,
 * as long and as steep as asked; a bar crosses 7s only, at the height
 * asked, on both sides of the stem. */
static void
test_digit_styles_geometry (void)
{
  /* An upright 1 from (14, 4) to (14, 23) and a 7 whose stem runs from
   * (19, 4) to (12, 23), both 2 px wide. */
  static const double one[] = { 14, 4, 14, 23 };
  static const double seven[] = { 8, 4, 19, 4, 12, 23 };
  guint8 one_image[PIXELS], seven_image[PIXELS];
  float plain[PIXELS], styled[PIXELS];
  render_strokes (one_image, one, 2, 2.0);
  render_strokes (seven_image, seven, 3, 2.0);

  NnAugmentTransform t;
  nn_augment_transform_identity (&t);
  nn_augment_image_with (&t, one_image, plain);
  t.one_flag_length = 0.35f;      /* of 20 rows of ink: 7 px */
  t.one_flag_angle_deg = 45.0f;
  nn_augment_image_with (&t, one_image, styled);
  /* The flag's ink is all up and to the left of the stem... */
  double added_left = ink_in (styled, 0, 0, 13, 14) - ink_in (plain, 0, 0, 13, 14);
  double added_elsewhere = ink_in (styled, 0, 0, SIDE, SIDE) - ink_in (plain, 0, 0, SIDE, SIDE)
                           - added_left;
  g_assert_cmpfloat (added_left, >, 7.0);      /* ~5 px long, 2 wide, beside the stem */
  g_assert_cmpfloat (added_elsewhere, <, 0.25 * added_left);
  /* ... and reaches about 7 * sin 45 = 4.9 px left and down of the top. */
  g_assert_cmpfloat (styled[(4 + 5) * SIDE + 9], >, 0.5);
  g_assert_cmpfloat (styled[(4 + 1) * SIDE + 5], <, 0.05);   /* not level */
  g_assert_cmpfloat (styled[(4 + 9) * SIDE + 9], <, 0.05);   /* not along the stem */

  nn_augment_transform_identity (&t);
  nn_augment_image_with (&t, seven_image, plain);
  t.seven_bar_length = 0.5f;      /* 10 px across */
  t.seven_bar_position = 0.5f;
  nn_augment_image_with (&t, seven_image, styled);
  /* Mid-height (row 14), the stem is near x = 15.5: ink on both sides. */
  double left = ink_in (styled, 9, 13, 14, 16) - ink_in (plain, 9, 13, 14, 16);
  double right = ink_in (styled, 18, 13, 22, 16) - ink_in (plain, 18, 13, 22, 16);
  g_assert_cmpfloat (left, >, 4.0);
  g_assert_cmpfloat (right, >, 4.0);
  g_assert_cmpfloat (fabs (ink_in (styled, 0, 0, SIDE, 10) - ink_in (plain, 0, 0, SIDE, 10)), <, 1e-6);
}

/* nn_augment_digit applies a style to its own digit only, and with the
 * styles off it is nn_augment_image for every label. */
static void
test_digit_styles_by_label (void)
{
  static const double one[] = { 14, 4, 14, 23 };
  guint8 image[PIXELS];
  float a[PIXELS], b[PIXELS];
  NnAugmentParams params;
  render_strokes (image, one, 2, 2.0);

  nn_augment_params_default (&params);
  for (guint label = 0; label < 10; label++)
    for (guint64 seed = 0; seed < 20; seed++)
      {
        nn_augment_digit (&params, seed, label, image, a);
        nn_augment_image (&params, seed, image, b);
        g_assert_cmpmem (a, sizeof a, b, sizeof b);
      }

  nn_augment_params_add_digit_styles (&params);
  params.one_flag_probability = params.seven_bar_probability = 1.0f;
  guint differ = 0;
  for (guint label = 0; label < 10; label++)
    for (guint64 seed = 0; seed < 20; seed++)
      {
        nn_augment_digit (&params, seed, label, image, a);
        nn_augment_image (&params, seed, image, b);
        gboolean same = memcmp (a, b, sizeof a) == 0;
        if (label == 1)
          differ += !same;
        else if (label != 7)
          g_assert_true (same);
      }
  g_assert_cmpuint (differ, ==, 20);

  /* The styles are drawn after every other value: turning them on changes
   * no other part of a distortion. */
  NnAugmentParams off;
  NnAugmentTransform with, without;
  nn_augment_params_default (&off);
  for (guint64 seed = 0; seed < 50; seed++)
    {
      nn_augment_draw (&params, seed, &with);
      nn_augment_draw (&off, seed, &without);
      g_assert_cmpfloat (with.rotation_deg, ==, without.rotation_deg);
      g_assert_cmpfloat (with.scale_x, ==, without.scale_x);
      g_assert_cmpfloat (with.stroke, ==, without.stroke);
      g_assert_cmpuint (with.elastic_seed, ==, without.elastic_seed);
      g_assert_cmpfloat (with.one_flag_length, >=, params.one_flag_length_min);
      g_assert_cmpfloat (with.one_flag_length, <=, params.one_flag_length_max);
      g_assert_cmpfloat (with.one_flag_angle_deg, >=, params.one_flag_angle_min);
      g_assert_cmpfloat (with.one_flag_angle_deg, <=, params.one_flag_angle_max);
      g_assert_cmpfloat (with.seven_bar_length, >=, params.seven_bar_length_min);
      g_assert_cmpfloat (with.seven_bar_length, <=, params.seven_bar_length_max);
      g_assert_cmpfloat (without.one_flag_length, ==, 0.0f);
      g_assert_cmpfloat (without.seven_bar_length, ==, 0.0f);
    }
}

/* Scribbles: the same seed gives the same one, other seeds others; each is
 * prepared as a drawing on the canvas is: ink in [0, 1] fitted to a
 * 20-pixel box, its centre of mass within a pixel or two of the image's
 * centre. */
static void
test_scribbles (void)
{
  float a[PIXELS], b[PIXELS];
  guint differing = 0;

  nn_scribble_image (42, a);
  nn_scribble_image (42, b);
  g_assert_cmpmem (a, sizeof a, b, sizeof b);

  for (guint64 seed = 1000; seed < 1200; seed++)
    {
      guint top = SIDE, bottom = 0, left = SIDE, right = 0;
      double cx, cy;

      nn_scribble_image (seed, b);
      differing += memcmp (a, b, sizeof a) != 0;
      for (guint y = 0; y < SIDE; y++)
        for (guint x = 0; x < SIDE; x++)
          {
            float v = b[y * SIDE + x];

            g_assert_true (isfinite (v) && v >= 0.0f && v <= 1.0f);
            if (v > 0.0f)
              {
                top = MIN (top, y), bottom = MAX (bottom, y);
                left = MIN (left, x), right = MAX (right, x);
              }
          }
      g_assert_cmpuint (bottom - top + 1, <=, 20);
      g_assert_cmpuint (right - left + 1, <=, 20);
      /* The fitted side is the full 20 pixels, less anti-aliasing. */
      g_assert_cmpuint (MAX (bottom - top, right - left) + 1, >=, 19);
      centre_of_mass (b, &cx, &cy);
      g_assert_cmpfloat (fabs (cx - 14.0), <, 2.0);
      g_assert_cmpfloat (fabs (cy - 14.0), <, 2.0);
      g_assert_cmpfloat (total_ink (b), >, 5.0);
    }
  g_assert_cmpuint (differing, ==, 200);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/augment/identity", test_identity);
  g_test_add_func ("/augment/deterministic", test_deterministic);
  g_test_add_func ("/augment/threads", test_threads);
  g_test_add_func ("/augment/seed-mixing", test_seed_mixing);
  g_test_add_func ("/augment/translate-exact", test_translate_exact);
  g_test_add_func ("/augment/rotate-quarter-turn", test_rotate_quarter_turn);
  g_test_add_func ("/augment/scale-and-shear", test_scale_and_shear);
  g_test_add_func ("/augment/stroke-known-answer", test_stroke_known_answer);
  g_test_add_func ("/augment/stroke-ink-and-centre", test_stroke_ink_and_centre);
  g_test_add_func ("/augment/stroke-limits", test_stroke_limits);
  g_test_add_func ("/augment/elastic-field", test_elastic_field);
  g_test_add_func ("/augment/elastic-keeps-centre", test_elastic_keeps_centre);
  g_test_add_func ("/augment/draw-ranges", test_draw_ranges);
  g_test_add_func ("/augment/finite-and-in-range", test_finite_and_in_range);
  g_test_add_func ("/augment/mnist-digits", test_mnist_digits);
  g_test_add_func ("/augment/digit-styles-geometry", test_digit_styles_geometry);
  g_test_add_func ("/augment/digit-styles-by-label", test_digit_styles_by_label);
  g_test_add_func ("/augment/scribbles", test_scribbles);
  g_test_add_func ("/augment/timing", test_timing);
  return g_test_run ();
}

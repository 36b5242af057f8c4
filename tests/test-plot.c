/* test-plot.c — DigitPlot's ticks, its geometry, and its pixels.
 *
 * Plots are rendered into Cairo image surfaces (no display needed) with a
 * white background and black text, and read back pixel by pixel: the axes
 * are where the data area says, a known line crosses the right pixels, a
 * spike among 100,000 points survives decimation, hidden series leave no
 * trace, the legend shows, large text takes more room. */
#include "config.h"

#include <locale.h>
#include <math.h>

#include "digit-plot.h"

#define WIDTH  480
#define HEIGHT 320

static const GdkRGBA red = { 0.9, 0.1, 0.1, 1.0 };
static const GdkRGBA blue = { 0.1, 0.2, 0.9, 1.0 };
static const GdkRGBA black = { 0, 0, 0, 1 };
static const GdkRGBA white = { 1, 1, 1, 1 };

/* ---- Helpers ------------------------------------------------------------- */

static DigitPlot *
new_plot (void)
{
  DigitPlot *plot = digit_plot_new ();

  digit_plot_set_colors (plot, &black, &white);
  return plot;
}

static cairo_surface_t *
render (DigitPlot *plot, int width, int height)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cairo_t *cr = cairo_create (surface);

  digit_plot_render (plot, cr, width, height);
  g_assert_cmpint (cairo_status (cr), ==, CAIRO_STATUS_SUCCESS);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  /* To look at what a test saw: DIGITLAB_PLOT_PNG_DIR=/tmp/plots */
  if (g_getenv ("DIGITLAB_PLOT_PNG_DIR") != NULL)
    {
      static guint n;
      g_autofree char *name = g_strdup_printf ("%s-%u.png", g_test_get_path (), n++);
      g_autofree char *path = NULL;

      g_strdelimit (name, "/", '_');
      path = g_build_filename (g_getenv ("DIGITLAB_PLOT_PNG_DIR"), name, NULL);
      cairo_surface_write_to_png (surface, path);
    }
  return surface;
}

typedef struct { int r, g, b; } Rgb;

static Rgb
pixel (cairo_surface_t *surface, int x, int y)
{
  const guint8 *data = cairo_image_surface_get_data (surface);
  int stride = cairo_image_surface_get_stride (surface);
  guint32 value;

  g_assert_cmpint (x, >=, 0);
  g_assert_cmpint (y, >=, 0);
  g_assert_cmpint (x, <, cairo_image_surface_get_width (surface));
  g_assert_cmpint (y, <, cairo_image_surface_get_height (surface));
  value = *(const guint32 *) (data + y * stride + x * 4);
  /* Opaque everywhere (white background), so no un-premultiplying. */
  return (Rgb) { (value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff };
}

static gboolean
is_reddish (Rgb p)
{
  return p.r > 150 && p.g < 120 && p.b < 120;
}

static gboolean
is_bluish (Rgb p)
{
  return p.b > 150 && p.r < 120 && p.g < 140;
}

static gboolean
is_white (Rgb p)
{
  return p.r > 245 && p.g > 245 && p.b > 245;
}

static gboolean
is_grey_ink (Rgb p)
{
  /* Black at some alpha over white: equal channels, clearly darker. */
  return p.r < 200 && abs (p.r - p.g) < 12 && abs (p.g - p.b) < 12;
}

/* Whether a pixel of @match lies within @radius pixels of (x, y). */
static gboolean
near (cairo_surface_t *surface, double x, double y, int radius, gboolean (*match) (Rgb))
{
  int w = cairo_image_surface_get_width (surface);
  int h = cairo_image_surface_get_height (surface);

  for (int dy = -radius; dy <= radius; dy++)
    for (int dx = -radius; dx <= radius; dx++)
      {
        int px = (int) floor (x) + dx, py = (int) floor (y) + dy;

        if (px >= 0 && py >= 0 && px < w && py < h && match (pixel (surface, px, py)))
          return TRUE;
      }
  return FALSE;
}

static guint
count_matching (cairo_surface_t *surface, int x0, int y0, int x1, int y1, gboolean (*match) (Rgb))
{
  guint n = 0;

  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++)
      if (match (pixel (surface, x, y)))
        n++;
  return n;
}

static double
tick_values_equal (GArray *ticks, const double *expected, guint n)
{
  if (ticks->len != n)
    return FALSE;
  for (guint i = 0; i < n; i++)
    if (fabs (g_array_index (ticks, DigitPlotTick, i).value - expected[i]) > 1e-9 * MAX (1.0, fabs (expected[i])))
      return FALSE;
  return TRUE;
}

/* ---- Ticks --------------------------------------------------------------- */

static void
test_nice_step (void)
{
  g_assert_cmpfloat_with_epsilon (digit_plot_nice_step (10.0, 5), 2.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (digit_plot_nice_step (2.3, 5), 0.5, 1e-12);
  g_assert_cmpfloat_with_epsilon (digit_plot_nice_step (100.0, 10), 10.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (digit_plot_nice_step (0.025, 5), 0.005, 1e-15);
  g_assert_cmpfloat_with_epsilon (digit_plot_nice_step (7.0, 1), 10.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (digit_plot_nice_step (1.0, 1), 1.0, 1e-12);
}

static void
test_linear_ticks (void)
{
  double min = 0.0, max = 2.3;
  g_autoptr(GArray) loss = digit_plot_linear_ticks (&min, &max, 6, 0, TRUE);
  static const double loss_expected[] = { 0.0, 0.5, 1.0, 1.5, 2.0, 2.5 };
  g_autoptr(GArray) accuracy = NULL;
  g_autoptr(GArray) epochs = NULL;
  g_autoptr(GArray) flat = NULL;
  static const double accuracy_expected[] = { 97.0, 97.5, 98.0, 98.5, 99.0, 99.5 };
  static const double epochs_expected[] = { 0, 1, 2, 3 };

  g_assert_true (tick_values_equal (loss, loss_expected, G_N_ELEMENTS (loss_expected)));
  g_assert_cmpfloat (min, ==, 0.0);
  g_assert_cmpfloat_with_epsilon (max, 2.5, 1e-12);

  min = 97.1;
  max = 99.4;
  accuracy = digit_plot_linear_ticks (&min, &max, 6, 0, TRUE);
  g_assert_true (tick_values_equal (accuracy, accuracy_expected, G_N_ELEMENTS (accuracy_expected)));

  /* Three epochs with room for twenty labels: still whole epochs. */
  min = 0;
  max = 3;
  epochs = digit_plot_linear_ticks (&min, &max, 20, 1.0, FALSE);
  g_assert_true (tick_values_equal (epochs, epochs_expected, G_N_ELEMENTS (epochs_expected)));

  /* A single value is widened around itself, not divided by zero. */
  min = max = 5.0;
  flat = digit_plot_linear_ticks (&min, &max, 5, 0, TRUE);
  g_assert_cmpfloat (min, <, 5.0);
  g_assert_cmpfloat (max, >, 5.0);
  g_assert_cmpuint (flat->len, >=, 2);
}

static void
test_log_ticks (void)
{
  double min = 0.023, max = 2.31;
  g_autoptr(GArray) ticks = digit_plot_log_ticks (&min, &max, 10, TRUE);
  g_autoptr(GArray) wide = NULL;
  guint labelled = 0, grid = 0;

  /* Out to the nearest 1-2-5 values. */
  g_assert_cmpfloat_with_epsilon (min, 0.02, 1e-12);
  g_assert_cmpfloat_with_epsilon (max, 5.0, 1e-12);
  for (guint i = 0; i < ticks->len; i++)
    {
      const DigitPlotTick *tick = &g_array_index (ticks, DigitPlotTick, i);

      if (tick->labelled)
        labelled++;
      else
        grid++;
      /* Increasing, inside the range. */
      if (i > 0)
        g_assert_cmpfloat (tick->value, >, g_array_index (ticks, DigitPlotTick, i - 1).value);
      g_assert_cmpfloat (tick->value, >=, min * (1 - 1e-9));
      g_assert_cmpfloat (tick->value, <=, max * (1 + 1e-9));
    }
  /* 0.02 0.05 0.1 0.2 0.5 1 2 5 labelled (three decades fit 1-2-5). */
  g_assert_cmpuint (labelled, ==, 8);
  g_assert_cmpuint (grid, >, 0);

  /* Eight decades with room for four labels: every other decade. */
  min = 1e-6;
  max = 50.0;
  wide = digit_plot_log_ticks (&min, &max, 4, TRUE);
  labelled = 0;
  for (guint i = 0; i < wide->len; i++)
    if (g_array_index (wide, DigitPlotTick, i).labelled)
      labelled++;
  g_assert_cmpuint (labelled, <=, 4);
  g_assert_cmpuint (labelled, >=, 3);

  /* A short axis over four decades still names two of them, counted from
   * the top: 1 and 0.01. */
  {
    g_autoptr(GArray) tight = NULL;
    double values[2];
    guint n = 0;

    min = 0.0003;
    max = 2.3;
    tight = digit_plot_log_ticks (&min, &max, 2, TRUE);
    for (guint i = 0; i < tight->len; i++)
      if (g_array_index (tight, DigitPlotTick, i).labelled && n < 2)
        values[n++] = g_array_index (tight, DigitPlotTick, i).value;
    g_assert_cmpuint (n, ==, 2);
    g_assert_cmpfloat_with_epsilon (values[0], 0.01, 1e-12);
    g_assert_cmpfloat_with_epsilon (values[1], 1.0, 1e-12);
  }
}

static void
test_format_tick (void)
{
  g_autofree char *half = digit_plot_format_tick (0.5, 0.5);
  g_autofree char *whole = digit_plot_format_tick (3.0, 1.0);
  g_autofree char *zero = digit_plot_format_tick (-1e-17, 0.1);
  g_autofree char *small = digit_plot_format_tick (0.005, 0.005);
  g_autofree char *big = digit_plot_format_tick (20000, 5000);

  g_assert_cmpstr (half, ==, "0.5");
  g_assert_cmpstr (whole, ==, "3");
  g_assert_cmpstr (zero, ==, "0.0");
  g_assert_cmpstr (small, ==, "0.005");
  g_assert_cmpstr (big, ==, "20000");   /* C locale: no grouping */
}

/* ---- Pixels -------------------------------------------------------------- */

static void
test_axes_present (void)
{
  g_autoptr(DigitPlot) plot = new_plot ();
  cairo_surface_t *surface;
  cairo_rectangle_t area;
  guint left_ink, bottom_ink;
  int x, y;

  digit_plot_set_x_title (plot, "Epoch", NULL);
  digit_plot_set_y_title (plot, "Loss", NULL);
  digit_plot_append (plot, 12345, 0, 0);   /* no such series: ignored */
  digit_plot_append (plot, digit_plot_add_series (plot, "loss", &red, DIGIT_PLOT_LINE), 0, 1);

  digit_plot_get_data_area (plot, WIDTH, HEIGHT, &area);
  /* Room was left for labels on the left and below, and little else. */
  g_assert_cmpfloat (area.x, >, 10);
  g_assert_cmpfloat (area.y, >, 10);
  g_assert_cmpfloat (area.x + area.width, <, WIDTH);
  g_assert_cmpfloat (area.y + area.height, <, HEIGHT - 20);
  g_assert_cmpfloat (area.width, >, WIDTH * 0.7);
  g_assert_cmpfloat (area.height, >, HEIGHT * 0.6);

  surface = render (plot, WIDTH, HEIGHT);
  /* The y axis: a grey line down the left edge of the data area. */
  x = (int) floor (area.x);
  left_ink = count_matching (surface, x, (int) area.y, x + 1, (int) (area.y + area.height), is_grey_ink);
  g_assert_cmpuint (left_ink, >, 0.9 * area.height);
  /* The x axis along its bottom. */
  y = (int) floor (area.y + area.height);
  bottom_ink = count_matching (surface, (int) area.x, y, (int) (area.x + area.width), y + 1, is_grey_ink);
  g_assert_cmpuint (bottom_ink, >, 0.9 * area.width);
  /* Tick labels left of the y axis and below the x axis: some dark text. */
  g_assert_cmpuint (count_matching (surface, 0, (int) area.y, x - 2, (int) (area.y + area.height),
                                    is_grey_ink), >, 20);
  g_assert_cmpuint (count_matching (surface, (int) area.x, y + 3, (int) (area.x + area.width), HEIGHT,
                                    is_grey_ink), >, 40);
  /* Inside the data area, away from the grid lines, it is white. */
  g_assert_true (is_white (pixel (surface, x + 3, (int) (area.y + area.height) - 3)));
  cairo_surface_destroy (surface);
}

static void
test_line_position (void)
{
  g_autoptr(DigitPlot) plot = new_plot ();
  cairo_surface_t *surface;
  double px, py, px2, py2;
  guint flat, diagonal;

  /* A flat line at y = 0.5 and a diagonal from (0, 0) to (1, 1) in a plot
   * held to [0, 1] on both axes. */
  digit_plot_set_y_limits (plot, 0.0, 1.0);
  digit_plot_set_x_range_hint (plot, 0.0, 1.0);
  digit_plot_set_legend_visible (plot, FALSE);
  flat = digit_plot_add_series (plot, "flat", &red, DIGIT_PLOT_LINE);
  diagonal = digit_plot_add_series (plot, "diagonal", &blue, DIGIT_PLOT_LINE);
  digit_plot_append (plot, flat, 0.0, 0.5);
  digit_plot_append (plot, flat, 1.0, 0.5);
  digit_plot_append (plot, diagonal, 0.0, 0.0);
  digit_plot_append (plot, diagonal, 1.0, 1.0);
  g_assert_cmpuint (digit_plot_get_n_points (plot, flat), ==, 2);

  /* The mapping itself: 0.5 halfway up the data area. */
  g_assert_true (digit_plot_data_to_pixel (plot, WIDTH, HEIGHT, 0.0, 0.0, &px, &py));
  g_assert_true (digit_plot_data_to_pixel (plot, WIDTH, HEIGHT, 1.0, 1.0, &px2, &py2));
  g_assert_cmpfloat (px2, >, px);
  g_assert_cmpfloat (py2, <, py);   /* up is smaller y */

  surface = render (plot, WIDTH, HEIGHT);
  for (double x = 0.1; x < 0.95; x += 0.1)
    {
      /* Where the lines cross, the one drawn last shows. */
      if (fabs (x - 0.5) < 0.05)
        continue;
      g_assert_true (digit_plot_data_to_pixel (plot, WIDTH, HEIGHT, x, 0.5, &px, &py));
      g_assert_true (near (surface, px, py, 1, is_reddish));
      /* ... and not 10 pixels above or below it. */
      g_assert_false (near (surface, px, py - 10, 2, is_reddish));
      g_assert_false (near (surface, px, py + 10, 2, is_reddish));
        {
          g_assert_true (digit_plot_data_to_pixel (plot, WIDTH, HEIGHT, x, x, &px, &py));
          g_assert_true (near (surface, px, py, 1, is_bluish));
          g_assert_false (near (surface, px, py - 12, 2, is_bluish));
        }
    }
  cairo_surface_destroy (surface);
}

static void
test_log_scale (void)
{
  g_autoptr(DigitPlot) plot = new_plot ();
  cairo_surface_t *surface;
  double y_low, y_mid, y_high, px, py;
  guint series;

  digit_plot_set_y_scale (plot, DIGIT_PLOT_SCALE_LOG);
  series = digit_plot_add_series (plot, "loss", &red, DIGIT_PLOT_LINE);
  digit_plot_append (plot, series, 0, 1.0);
  digit_plot_append (plot, series, 1, 0.1);
  digit_plot_append (plot, series, 2, 0.0);     /* not on a log axis: skipped */
  digit_plot_append (plot, series, 3, 0.01);

  g_assert_true (digit_plot_data_to_pixel (plot, WIDTH, HEIGHT, 0, 0.01, NULL, &y_low));
  g_assert_true (digit_plot_data_to_pixel (plot, WIDTH, HEIGHT, 0, 0.1, NULL, &y_mid));
  g_assert_true (digit_plot_data_to_pixel (plot, WIDTH, HEIGHT, 0, 1.0, NULL, &y_high));
  g_assert_false (digit_plot_data_to_pixel (plot, WIDTH, HEIGHT, 0, 0.0, NULL, NULL));
  /* Equal ratios, equal distances. */
  g_assert_cmpfloat_with_epsilon (y_low - y_mid, y_mid - y_high, 1e-6);

  surface = render (plot, WIDTH, HEIGHT);
  g_assert_true (digit_plot_data_to_pixel (plot, WIDTH, HEIGHT, 0.5, sqrt (0.1), &px, &py));
  g_assert_true (near (surface, px, py, 1, is_reddish));
  /* The point after the gap stands alone, and shows as a dot. */
  g_assert_true (digit_plot_data_to_pixel (plot, WIDTH, HEIGHT, 3, 0.01, &px, &py));
  g_assert_true (near (surface, px, py - 0.5, 1, is_reddish));
  /* Nothing joins it to the points before the gap. */
  g_assert_true (digit_plot_data_to_pixel (plot, WIDTH, HEIGHT, 2, sqrt (0.1 * 0.01), &px, &py));
  g_assert_false (near (surface, px, py, 3, is_reddish));
  cairo_surface_destroy (surface);
}

static void
test_spike_survives_decimation (void)
{
  g_autoptr(DigitPlot) plot = new_plot ();
  g_autoptr(GArray) points = g_array_new (FALSE, FALSE, sizeof (DigitPlotPoint));
  cairo_surface_t *surface;
  double px, py, flat_y;
  gint64 started;
  double render_ms;
  guint series;

  for (guint i = 0; i < 100000; i++)
    {
      DigitPlotPoint p = { i / 100000.0, i == 61234 ? 1.0 : 0.1 };

      g_array_append_val (points, p);
    }
  digit_plot_set_legend_visible (plot, FALSE);
  series = digit_plot_add_series (plot, "noisy", &red, DIGIT_PLOT_LINE);
  digit_plot_append_points (plot, series, (DigitPlotPoint *) points->data, points->len);
  g_assert_cmpuint (digit_plot_get_n_points (plot, series), ==, 100000);

  /* The first rendering in a process loads fonts; time the second (for
   * information: speed is for benchmarks, not tests). */
  cairo_surface_destroy (render (plot, WIDTH, HEIGHT));
  started = g_get_monotonic_time ();
  surface = render (plot, WIDTH, HEIGHT);
  render_ms = (g_get_monotonic_time () - started) / 1000.0;
  g_test_message ("100,000 points rendered in %.1f ms", render_ms);

  /* The one spike at x = 0.61234 reaches y = 1. */
  g_assert_true (digit_plot_data_to_pixel (plot, WIDTH, HEIGHT, 0.61234, 0.98, &px, &py));
  g_assert_true (near (surface, px, py, 1, is_reddish));
  /* Elsewhere at that height there is nothing. */
  g_assert_true (digit_plot_data_to_pixel (plot, WIDTH, HEIGHT, 0.3, 0.98, &px, &py));
  g_assert_false (near (surface, px, py, 2, is_reddish));
  /* And the flat part is there. */
  g_assert_true (digit_plot_data_to_pixel (plot, WIDTH, HEIGHT, 0.3, 0.1, &px, &flat_y));
  g_assert_true (near (surface, px, flat_y, 1, is_reddish));
  cairo_surface_destroy (surface);
}

static gboolean
is_pinkish (Rgb p)
{
  /* Red at a low alpha over white. */
  return p.r > 200 && p.g < 235 && p.b < 235 && p.r - p.g > 25 && abs (p.g - p.b) < 20;
}

/* A raw line with more points than columns is drawn as the band it covers
 * in each column: a spike still shows, faintly, and the band spans the
 * noise and no more. */
static void
test_raw_band (void)
{
  g_autoptr(DigitPlot) plot = new_plot ();
  cairo_surface_t *surface;
  double px, py, top_y, bottom_y;
  guint series;

  digit_plot_set_y_limits (plot, 0.0, 1.0);
  digit_plot_set_legend_visible (plot, FALSE);
  series = digit_plot_add_series (plot, "loss", &red, DIGIT_PLOT_RAW_SMOOTHED);
  /* Noise between 0.3 and 0.5, and one spike to 0.9. */
  for (guint i = 0; i < 20000; i++)
    digit_plot_append (plot, series, i / 20000.0, i == 12345 ? 0.9 : (i % 2 ? 0.5 : 0.3));

  surface = render (plot, WIDTH, HEIGHT);
  g_assert_true (digit_plot_data_to_pixel (plot, WIDTH, HEIGHT, 12345 / 20000.0, 0.88, &px, &py));
  g_assert_true (near (surface, px, py, 1, is_pinkish));
  g_assert_true (digit_plot_data_to_pixel (plot, WIDTH, HEIGHT, 0.3, 0.88, &px, &py));
  g_assert_false (near (surface, px, py, 2, is_pinkish));
  /* The band fills the noise's range, and stops at its edges. */
  g_assert_true (digit_plot_data_to_pixel (plot, WIDTH, HEIGHT, 0.3, 0.35, &px, &py));
  g_assert_true (near (surface, px, py, 0, is_pinkish));
  g_assert_true (digit_plot_data_to_pixel (plot, WIDTH, HEIGHT, 0.3, 0.5, &px, &top_y));
  g_assert_true (digit_plot_data_to_pixel (plot, WIDTH, HEIGHT, 0.3, 0.3, &px, &bottom_y));
  g_assert_true (is_white (pixel (surface, (int) px, (int) top_y - 3)));
  g_assert_true (is_white (pixel (surface, (int) px, (int) bottom_y + 3)));
  cairo_surface_destroy (surface);
}

static void
test_smoothing (void)
{
  g_autoptr(DigitPlot) plot = new_plot ();
  cairo_surface_t *surface;
  double px, py;
  guint series;
  DigitPlotPick pick;

  /* Alternating 0.2 and 0.8: the raw line zigzags faintly, the average
   * runs through the middle, solid. */
  digit_plot_set_y_limits (plot, 0.0, 1.0);
  digit_plot_set_legend_visible (plot, FALSE);
  series = digit_plot_add_series (plot, "loss", &red, DIGIT_PLOT_RAW_SMOOTHED);
  digit_plot_set_series_smoothing (plot, series, 0.95);
  for (guint i = 0; i < 400; i++)
    digit_plot_append (plot, series, i, i % 2 ? 0.8 : 0.2);

  surface = render (plot, WIDTH, HEIGHT);
  g_assert_true (digit_plot_data_to_pixel (plot, WIDTH, HEIGHT, 300, 0.5, &px, &py));
  g_assert_true (near (surface, px, py, 1, is_reddish));

  /* Picking near the middle finds the average, and reports the raw value. */
  g_assert_true (digit_plot_pick (plot, WIDTH, HEIGHT, px, py, 5.0, &pick));
  g_assert_cmpuint (pick.series, ==, series);
  g_assert_cmpfloat_with_epsilon (pick.smoothed, 0.5, 0.02);
  g_assert_true (pick.y == 0.2 || pick.y == 0.8);
  g_assert_cmpfloat_with_epsilon (pick.x, 300, 3);
  cairo_surface_destroy (surface);
}

static void
test_hidden_series_and_legend (void)
{
  g_autoptr(DigitPlot) plot = new_plot ();
  cairo_surface_t *surface;
  cairo_rectangle_t area;
  guint shown, hidden, red_pixels, red_in_header;

  digit_plot_set_y_title (plot, "Accuracy", "%");
  digit_plot_set_y_limits (plot, 0.0, 100.0);
  shown = digit_plot_add_series (plot, "Test", &blue, DIGIT_PLOT_LINE | DIGIT_PLOT_MARKERS);
  hidden = digit_plot_add_series (plot, "Train", &red, DIGIT_PLOT_DASHED);
  for (guint i = 1; i <= 5; i++)
    {
      digit_plot_append (plot, shown, i, 90 + i);
      digit_plot_append (plot, hidden, i, 80 + i);
    }
  digit_plot_set_series_visible (plot, hidden, FALSE);

  surface = render (plot, WIDTH, HEIGHT);
  red_pixels = count_matching (surface, 0, 0, WIDTH, HEIGHT, is_reddish);
  g_assert_cmpuint (red_pixels, ==, 0);
  /* The legend: a blue swatch in the header above the data area, at the
   * right. */
  digit_plot_get_data_area (plot, WIDTH, HEIGHT, &area);
  g_assert_cmpuint (count_matching (surface, WIDTH / 2, 0, WIDTH, (int) area.y - 4, is_bluish), >, 10);
  cairo_surface_destroy (surface);

  /* Shown again: red in the plot and in the legend. */
  digit_plot_set_series_visible (plot, hidden, TRUE);
  surface = render (plot, WIDTH, HEIGHT);
  digit_plot_get_data_area (plot, WIDTH, HEIGHT, &area);
  red_in_header = count_matching (surface, WIDTH / 2, 0, WIDTH, (int) area.y - 4, is_reddish);
  g_assert_cmpuint (red_in_header, >, 5);
  g_assert_cmpuint (count_matching (surface, 0, 0, WIDTH, HEIGHT, is_reddish), >, red_in_header + 50);
  cairo_surface_destroy (surface);

  /* Without the legend, the header holds no colour. */
  digit_plot_set_legend_visible (plot, FALSE);
  surface = render (plot, WIDTH, HEIGHT);
  digit_plot_get_data_area (plot, WIDTH, HEIGHT, &area);
  g_assert_cmpuint (count_matching (surface, WIDTH / 2, 0, WIDTH, (int) area.y - 8, is_bluish), ==, 0);
  cairo_surface_destroy (surface);

  /* Removing a series removes its line. */
  digit_plot_remove_series (plot, hidden);
  surface = render (plot, WIDTH, HEIGHT);
  g_assert_cmpuint (count_matching (surface, 0, 0, WIDTH, HEIGHT, is_reddish), ==, 0);
  cairo_surface_destroy (surface);
}

/* Reads the legend swatch drawn in @match's colour in the header of
 * @surface: how many columns between its first and last coloured column
 * are background all the way across the swatch's rows, left and right of
 * its middle. */
static void
swatch_gaps (cairo_surface_t *surface,
             int              header_height,
             gboolean       (*match) (Rgb),
             guint           *left_gaps,
             guint           *right_gaps)
{
  int x0 = WIDTH, x1 = -1, y0 = header_height, y1 = -1;

  for (int y = 0; y < header_height; y++)
    for (int x = 0; x < WIDTH; x++)
      if (match (pixel (surface, x, y)))
        {
          x0 = MIN (x0, x);
          x1 = MAX (x1, x);
          y0 = MIN (y0, y);
          y1 = MAX (y1, y);
        }
  g_assert_cmpint (x1, >, x0 + 10);
  *left_gaps = *right_gaps = 0;
  for (int x = x0; x <= x1; x++)
    {
      gboolean clear = TRUE;

      for (int y = y0; y <= y1 && clear; y++)
        clear = is_white (pixel (surface, x, y));
      if (clear && 2 * x < x0 + x1)
        (*left_gaps)++;
      else if (clear)
        (*right_gaps)++;
    }
}

/* A dashed series' swatch shows gaps either side of its marker, a solid
 * one none, at both text sizes: the marker must not hide the dashes. */
static void
test_legend_swatches (void)
{
  for (guint large = 0; large <= 1; large++)
    {
      g_autoptr(DigitPlot) plot = new_plot ();
      cairo_surface_t *surface;
      cairo_rectangle_t area;
      guint solid, dashed, left, right;

      digit_plot_set_large_text (plot, large);
      digit_plot_set_y_limits (plot, 0.0, 100.0);
      solid = digit_plot_add_series (plot, "Run 1, test", &blue, DIGIT_PLOT_LINE | DIGIT_PLOT_MARKERS);
      dashed = digit_plot_add_series (plot, "Run 1, training", &red,
                                      DIGIT_PLOT_DASHED | DIGIT_PLOT_MARKERS);
      for (guint i = 1; i <= 5; i++)
        {
          digit_plot_append (plot, solid, i, 90 + i);
          digit_plot_append (plot, dashed, i, 80 + i);
        }
      surface = render (plot, WIDTH, HEIGHT);
      digit_plot_get_data_area (plot, WIDTH, HEIGHT, &area);

      swatch_gaps (surface, (int) area.y - 4, is_bluish, &left, &right);
      g_assert_cmpuint (left, ==, 0);
      g_assert_cmpuint (right, ==, 0);
      swatch_gaps (surface, (int) area.y - 4, is_reddish, &left, &right);
      g_assert_cmpuint (left, >=, 4);
      g_assert_cmpuint (right, >=, 4);
      cairo_surface_destroy (surface);
    }
}

static void
test_large_text (void)
{
  g_autoptr(DigitPlot) plot = new_plot ();
  cairo_rectangle_t normal, large;
  guint series;

  /* Whole numbers on both axes, so the labels are the same words at both
   * sizes, whatever ticks fit. */
  digit_plot_set_x_title (plot, "Epoch", NULL);
  digit_plot_set_y_title (plot, "Accuracy", "%");
  digit_plot_set_y_limits (plot, 0, 100);
  series = digit_plot_add_series (plot, "accuracy", &red, DIGIT_PLOT_LINE);
  digit_plot_append (plot, series, 0, 0);
  digit_plot_append (plot, series, 10, 100);
  digit_plot_get_data_area (plot, WIDTH, HEIGHT, &normal);
  digit_plot_set_large_text (plot, TRUE);
  g_assert_true (digit_plot_get_large_text (plot));
  digit_plot_get_data_area (plot, WIDTH, HEIGHT, &large);
  /* Bigger labels take more room on every side. */
  g_assert_cmpfloat (large.x, >, normal.x + 3);
  g_assert_cmpfloat (large.y, >, normal.y + 3);
  g_assert_cmpfloat (large.y + large.height, <, normal.y + normal.height - 3);
}

static void
test_empty_plot (void)
{
  g_autoptr(DigitPlot) plot = new_plot ();
  cairo_surface_t *surface;
  cairo_rectangle_t area;
  guint series;

  digit_plot_set_placeholder (plot, "No data yet");
  digit_plot_set_y_scale (plot, DIGIT_PLOT_SCALE_LOG);
  series = digit_plot_add_series (plot, "nothing", &red, DIGIT_PLOT_RAW_SMOOTHED);
  digit_plot_append (plot, series, 0, NAN);
  digit_plot_append (plot, series, 1, -1);

  /* Nothing to draw, and nothing breaks: axes and the placeholder. */
  surface = render (plot, WIDTH, HEIGHT);
  digit_plot_get_data_area (plot, WIDTH, HEIGHT, &area);
  g_assert_cmpuint (count_matching (surface, (int) (area.x + area.width * 0.25), (int) (area.y + area.height * 0.4),
                                    (int) (area.x + area.width * 0.75), (int) (area.y + area.height * 0.6),
                                    is_grey_ink), >, 20);
  /* The legend names the series; the data area has none of it. */
  g_assert_cmpuint (count_matching (surface, (int) area.x + 1, (int) area.y, WIDTH, HEIGHT, is_reddish), ==, 0);
  cairo_surface_destroy (surface);

  /* Tiny sizes do not crash either. */
  surface = render (plot, 3, 2);
  cairo_surface_destroy (surface);
}

static void
count_change (DigitPlot *plot, guint *count)
{
  (*count)++;
}

static void
test_changed_signal (void)
{
  g_autoptr(DigitPlot) plot = new_plot ();
  guint count = 0;
  guint series;
  DigitPlotPoint points[3] = { { 0, 1 }, { 1, 2 }, { 2, 3 } };

  g_signal_connect (plot, "changed", G_CALLBACK (count_change), &count);
  series = digit_plot_add_series (plot, "s", &red, DIGIT_PLOT_LINE);
  g_assert_cmpuint (count, ==, 1);
  /* Many points, one redraw. */
  digit_plot_append_points (plot, series, points, 3);
  g_assert_cmpuint (count, ==, 2);
  /* Setting what already is asks for none. */
  digit_plot_set_colors (plot, &black, &white);
  digit_plot_set_large_text (plot, FALSE);
  g_assert_cmpuint (count, ==, 2);
  digit_plot_clear_series (plot, series);
  g_assert_cmpuint (count, ==, 3);
  g_assert_cmpuint (digit_plot_get_n_points (plot, series), ==, 0);
}

int
main (int argc, char *argv[])
{
  /* Labels in the C locale, whatever the machine's. */
  setlocale (LC_ALL, "C");
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/plot/ticks/nice-step", test_nice_step);
  g_test_add_func ("/plot/ticks/linear", test_linear_ticks);
  g_test_add_func ("/plot/ticks/log", test_log_ticks);
  g_test_add_func ("/plot/ticks/format", test_format_tick);
  g_test_add_func ("/plot/render/axes", test_axes_present);
  g_test_add_func ("/plot/render/line-position", test_line_position);
  g_test_add_func ("/plot/render/log-scale", test_log_scale);
  g_test_add_func ("/plot/render/decimation-keeps-spikes", test_spike_survives_decimation);
  g_test_add_func ("/plot/render/raw-band", test_raw_band);
  g_test_add_func ("/plot/render/smoothing", test_smoothing);
  g_test_add_func ("/plot/render/hidden-and-legend", test_hidden_series_and_legend);
  g_test_add_func ("/plot/render/legend-swatches", test_legend_swatches);
  g_test_add_func ("/plot/render/large-text", test_large_text);
  g_test_add_func ("/plot/render/empty", test_empty_plot);
  g_test_add_func ("/plot/changed-signal", test_changed_signal);
  return g_test_run ();
}

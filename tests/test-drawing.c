/* test-drawing.c — drawings: history (undo, redo, clear), JSON, and the
 * rasterizer: ink exactly where the pen rule says, smooth curves, fast
 * flicks without gaps, dots. */
#include <math.h>
#include <string.h>

#include "nn.h"

/* ---- History ------------------------------------------------------------ */

static void
draw_line (NnDrawing *drawing, float x0, float y0, float x1, float y1)
{
  nn_drawing_begin_stroke (drawing, x0, y0);
  nn_drawing_extend_stroke (drawing, x1, y1);
}

static float
first_x (NnDrawing *drawing, guint stroke)
{
  return nn_drawing_get_stroke (drawing, stroke, NULL)[0].x;
}

static void
test_new (void)
{
  g_autoptr(NnDrawing) drawing = nn_drawing_new (280, 200);

  g_assert_cmpuint (nn_drawing_get_width (drawing), ==, 280);
  g_assert_cmpuint (nn_drawing_get_height (drawing), ==, 200);
  g_assert_cmpfloat (nn_drawing_get_pen_width (drawing), ==, 200.0f / 14.0f);
  g_assert_true (nn_drawing_is_empty (drawing));
  g_assert_false (nn_drawing_can_undo (drawing));
  g_assert_false (nn_drawing_can_redo (drawing));
  g_assert_false (nn_drawing_undo (drawing));
  g_assert_false (nn_drawing_redo (drawing));

  /* The pen rule: 1/14 of the shorter side, times the scale. */
  g_assert_cmpfloat (nn_pen_width_for_size (280, 280, 1.0f), ==, 20.0f);
  g_assert_cmpfloat (nn_pen_width_for_size (280, 140, 1.0f), ==, 10.0f);
  g_assert_cmpfloat (nn_pen_width_for_size (280, 280, 1.5f), ==, 30.0f);

  nn_drawing_set_pen_width (drawing, 7.5f);
  g_assert_cmpfloat (nn_drawing_get_pen_width (drawing), ==, 7.5f);
}

static void
test_strokes (void)
{
  g_autoptr(NnDrawing) drawing = nn_drawing_new (100, 100);
  const NnPoint *points;
  guint n;

  nn_drawing_begin_stroke (drawing, 10, 20);
  nn_drawing_extend_stroke (drawing, 30, 40);
  nn_drawing_extend_stroke (drawing, 30, 40);   /* repeated: dropped */
  nn_drawing_extend_stroke (drawing, 50.5f, 60.25f);
  nn_drawing_begin_stroke (drawing, 5, 5);

  g_assert_false (nn_drawing_is_empty (drawing));
  g_assert_cmpuint (nn_drawing_get_n_strokes (drawing), ==, 2);
  points = nn_drawing_get_stroke (drawing, 0, &n);
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpfloat (points[0].x, ==, 10);
  g_assert_cmpfloat (points[1].y, ==, 40);
  g_assert_cmpfloat (points[2].x, ==, 50.5f);
  g_assert_cmpfloat (points[2].y, ==, 60.25f);
  points = nn_drawing_get_stroke (drawing, 1, &n);
  g_assert_cmpuint (n, ==, 1);
}

static void
test_undo_redo (void)
{
  g_autoptr(NnDrawing) drawing = nn_drawing_new (100, 100);

  draw_line (drawing, 1, 1, 2, 2);
  draw_line (drawing, 3, 3, 4, 4);
  draw_line (drawing, 5, 5, 6, 6);

  g_assert_true (nn_drawing_undo (drawing));
  g_assert_cmpuint (nn_drawing_get_n_strokes (drawing), ==, 2);
  g_assert_true (nn_drawing_can_redo (drawing));
  g_assert_true (nn_drawing_undo (drawing));
  g_assert_cmpuint (nn_drawing_get_n_strokes (drawing), ==, 1);
  g_assert_true (nn_drawing_redo (drawing));
  g_assert_cmpuint (nn_drawing_get_n_strokes (drawing), ==, 2);
  /* Redo brings the same stroke back, whole. */
  g_assert_cmpfloat (first_x (drawing, 1), ==, 3);
  {
    guint n;
    nn_drawing_get_stroke (drawing, 1, &n);
    g_assert_cmpuint (n, ==, 2);
  }

  /* A new stroke forgets what could be redone. */
  g_assert_true (nn_drawing_can_redo (drawing));
  draw_line (drawing, 7, 7, 8, 8);
  g_assert_false (nn_drawing_can_redo (drawing));
  g_assert_false (nn_drawing_redo (drawing));
  g_assert_cmpuint (nn_drawing_get_n_strokes (drawing), ==, 3);
  g_assert_cmpfloat (first_x (drawing, 2), ==, 7);

  while (nn_drawing_undo (drawing))
    ;
  g_assert_true (nn_drawing_is_empty (drawing));
  g_assert_false (nn_drawing_can_undo (drawing));
  g_assert_true (nn_drawing_can_redo (drawing));

  /* Extending after an undo in mid-drag starts a fresh stroke rather than
   * touching one that was undone. */
  nn_drawing_redo (drawing);
  nn_drawing_begin_stroke (drawing, 50, 50);
  nn_drawing_undo (drawing);
  nn_drawing_extend_stroke (drawing, 60, 60);
  g_assert_cmpuint (nn_drawing_get_n_strokes (drawing), ==, 2);
  g_assert_cmpfloat (first_x (drawing, 1), ==, 60);
}

static void
test_clear (void)
{
  g_autoptr(NnDrawing) drawing = nn_drawing_new (100, 100);

  /* Clearing nothing makes no history. */
  nn_drawing_clear (drawing);
  g_assert_false (nn_drawing_can_undo (drawing));

  draw_line (drawing, 1, 1, 2, 2);
  draw_line (drawing, 3, 3, 4, 4);
  nn_drawing_clear (drawing);
  g_assert_true (nn_drawing_is_empty (drawing));
  g_assert_true (nn_drawing_can_undo (drawing));

  /* Undo brings every stroke back, redo clears again. */
  g_assert_true (nn_drawing_undo (drawing));
  g_assert_cmpuint (nn_drawing_get_n_strokes (drawing), ==, 2);
  g_assert_cmpfloat (first_x (drawing, 0), ==, 1);
  g_assert_cmpfloat (first_x (drawing, 1), ==, 3);
  g_assert_true (nn_drawing_redo (drawing));
  g_assert_true (nn_drawing_is_empty (drawing));

  /* Drawing after a clear, then undoing twice: first the new stroke goes,
   * then the cleared ones return. */
  draw_line (drawing, 9, 9, 10, 10);
  g_assert_cmpuint (nn_drawing_get_n_strokes (drawing), ==, 1);
  g_assert_true (nn_drawing_undo (drawing));
  g_assert_true (nn_drawing_is_empty (drawing));
  g_assert_true (nn_drawing_undo (drawing));
  g_assert_cmpuint (nn_drawing_get_n_strokes (drawing), ==, 2);
  g_assert_true (nn_drawing_undo (drawing));
  g_assert_true (nn_drawing_undo (drawing));
  g_assert_true (nn_drawing_is_empty (drawing));
  g_assert_false (nn_drawing_undo (drawing));

  /* And all the way forward again. */
  while (nn_drawing_redo (drawing))
    ;
  g_assert_cmpuint (nn_drawing_get_n_strokes (drawing), ==, 1);
  g_assert_cmpfloat (first_x (drawing, 0), ==, 9);
}

static void
test_copy (void)
{
  g_autoptr(NnDrawing) drawing = nn_drawing_new (100, 50);
  g_autoptr(NnDrawing) copy = NULL;

  draw_line (drawing, 1, 1, 2, 2);
  draw_line (drawing, 3, 3, 4, 4);
  nn_drawing_clear (drawing);
  draw_line (drawing, 5, 5, 6, 6);
  nn_drawing_set_pen_width (drawing, 3.0f);

  copy = nn_drawing_copy (drawing);
  g_assert_cmpuint (nn_drawing_get_width (copy), ==, 100);
  g_assert_cmpuint (nn_drawing_get_height (copy), ==, 50);
  g_assert_cmpfloat (nn_drawing_get_pen_width (copy), ==, 3.0f);
  g_assert_cmpuint (nn_drawing_get_n_strokes (copy), ==, 1);

  /* The copy has its own history. */
  nn_drawing_undo (copy);
  nn_drawing_undo (copy);
  g_assert_cmpuint (nn_drawing_get_n_strokes (copy), ==, 2);
  g_assert_cmpuint (nn_drawing_get_n_strokes (drawing), ==, 1);
  g_assert_cmpfloat (first_x (drawing, 0), ==, 5);
}

/* ---- JSON --------------------------------------------------------------- */

static void
assert_same_drawing (NnDrawing *a, NnDrawing *b)
{
  g_assert_cmpuint (nn_drawing_get_width (a), ==, nn_drawing_get_width (b));
  g_assert_cmpuint (nn_drawing_get_height (a), ==, nn_drawing_get_height (b));
  g_assert_cmpfloat (nn_drawing_get_pen_width (a), ==, nn_drawing_get_pen_width (b));
  g_assert_cmpuint (nn_drawing_get_n_strokes (a), ==, nn_drawing_get_n_strokes (b));
  for (guint s = 0; s < nn_drawing_get_n_strokes (a); s++)
    {
      guint na, nb;
      const NnPoint *pa = nn_drawing_get_stroke (a, s, &na);
      const NnPoint *pb = nn_drawing_get_stroke (b, s, &nb);
      g_assert_cmpuint (na, ==, nb);
      g_assert_cmpmem (pa, na * sizeof (NnPoint), pb, nb * sizeof (NnPoint));
    }
}

static void
test_json_round_trip (void)
{
  g_autoptr(NnDrawing) drawing = nn_drawing_new (300, 200);
  g_autoptr(NnDrawing) back = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *json = NULL;
  g_autofree float *raster_a = NULL;
  g_autofree float *raster_b = NULL;

  nn_drawing_begin_stroke (drawing, 10.1f, 20.2f);
  nn_drawing_extend_stroke (drawing, 1.0f / 3.0f, 199.99f);
  nn_drawing_extend_stroke (drawing, -5.5f, 210.0f);   /* a little outside */
  nn_drawing_begin_stroke (drawing, 150, 100);          /* a dot */
  nn_drawing_set_pen_width (drawing, 0.1f);

  json = nn_drawing_to_json (drawing);
  g_test_message ("%s", json);
  back = nn_drawing_from_json (json, &error);
  g_assert_no_error (error);
  assert_same_drawing (drawing, back);
  /* A loaded drawing has no history to undo. */
  g_assert_false (nn_drawing_can_undo (back));

  raster_a = nn_drawing_rasterize (drawing);
  raster_b = nn_drawing_rasterize (back);
  g_assert_cmpmem (raster_a, 300 * 200 * sizeof (float), raster_b, 300 * 200 * sizeof (float));

  /* Hand-written, with integers, no pen width (the default applies) and an
   * empty stroke list. */
  {
    g_autoptr(NnDrawing) d = nn_drawing_from_json ("{\"width\": 140, \"height\": 280, \"strokes\": [[[1, 2], [3.5, 4]], [[7, 8]]]}", &error);
    const NnPoint *p;
    guint n;

    g_assert_no_error (error);
    g_assert_cmpfloat (nn_drawing_get_pen_width (d), ==, 10.0f);
    p = nn_drawing_get_stroke (d, 0, &n);
    g_assert_cmpuint (n, ==, 2);
    g_assert_cmpfloat (p[1].x, ==, 3.5f);
    p = nn_drawing_get_stroke (d, 1, &n);
    g_assert_cmpuint (n, ==, 1);
    g_assert_cmpfloat (p[0].y, ==, 8.0f);
  }
  {
    g_autoptr(NnDrawing) d = nn_drawing_from_json ("{\"width\": 1, \"height\": 4096, \"strokes\": []}", &error);
    g_assert_no_error (error);
    g_assert_true (nn_drawing_is_empty (d));
  }
}

static void
test_json_errors (void)
{
  static const struct { const char *json; const char *says; } cases[] = {
    { "", "JSON" },
    { "{\"width\": 10,", "JSON" },
    { "[1, 2]", "object" },
    { "{\"height\": 10, \"strokes\": []}", "width" },
    { "{\"width\": 10, \"strokes\": []}", "height" },
    { "{\"width\": 0, \"height\": 10, \"strokes\": []}", "width" },
    { "{\"width\": 4097, \"height\": 10, \"strokes\": []}", "width" },
    { "{\"width\": 10.5, \"height\": 10, \"strokes\": []}", "width" },
    { "{\"width\": \"10\", \"height\": 10, \"strokes\": []}", "width" },
    { "{\"width\": 10, \"height\": -3, \"strokes\": []}", "height" },
    { "{\"width\": 10, \"height\": 10}", "strokes" },
    { "{\"width\": 10, \"height\": 10, \"strokes\": {}}", "strokes" },
    { "{\"width\": 10, \"height\": 10, \"strokes\": [[]]}", "Stroke 1" },
    { "{\"width\": 10, \"height\": 10, \"strokes\": [[[1, 2]], 5]}", "Stroke 2" },
    { "{\"width\": 10, \"height\": 10, \"strokes\": [[[1, 2], [3]]]}", "Point 2 of stroke 1" },
    { "{\"width\": 10, \"height\": 10, \"strokes\": [[[1, 2, 3]]]}", "Point 1 of stroke 1" },
    { "{\"width\": 10, \"height\": 10, \"strokes\": [[[1, \"2\"]]]}", "Point 1 of stroke 1" },
    { "{\"width\": 10, \"height\": 10, \"strokes\": [[[1, null]]]}", "Point 1 of stroke 1" },
    { "{\"width\": 10, \"height\": 10, \"strokes\": [[[1, 1e999]]]}", "Point 1 of stroke 1" },
    { "{\"width\": 10, \"height\": 10, \"strokes\": [[[1, 2]], [[3, 4], [5000, 4]]]}", "far outside" },
    { "{\"width\": 10, \"height\": 10, \"pen_width\": 0, \"strokes\": []}", "pen_width" },
    { "{\"width\": 10, \"height\": 10, \"pen_width\": 11, \"strokes\": []}", "pen_width" },
    { "{\"width\": 10, \"height\": 10, \"pen_width\": \"thin\", \"strokes\": []}", "pen_width" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(NnDrawing) drawing = nn_drawing_from_json (cases[i].json, &error);

      g_test_message ("%s -> %s", cases[i].json, error ? error->message : "(accepted)");
      g_assert_null (drawing);
      g_assert_error (error, NN_ERROR, NN_ERROR_DRAWING);
      g_assert_nonnull (strstr (error->message, cases[i].says));
    }

  /* Nested a million deep: refused before json-glib's parser, which
   * recurses, could overflow the stack. */
  {
    GString *deep = g_string_new ("{\"width\": 10, \"height\": 10, \"strokes\": ");
    g_autoptr(GError) error = NULL;
    g_autoptr(NnDrawing) drawing = NULL;

    for (int i = 0; i < 1000000; i++)
      g_string_append_c (deep, '[');
    drawing = nn_drawing_from_json (deep->str, &error);
    g_assert_null (drawing);
    g_assert_error (error, NN_ERROR, NN_ERROR_DRAWING);
    g_assert_nonnull (strstr (error->message, "deeply"));
    g_string_free (deep, TRUE);
  }
}

/* ---- Rendering ---------------------------------------------------------- */

static float
pixel (const float *raster, guint width, int x, int y)
{
  return raster[(gsize) y * width + x];
}

static double
total_ink (const float *raster, gsize n)
{
  double sum = 0;
  for (gsize i = 0; i < n; i++)
    sum += raster[i];
  return sum;
}

static void
test_horizontal_stroke (void)
{
  /* 280x280: the pen rule gives 20 px, so a stroke along y = 140 covers
   * rows 130 to 149 exactly, and its round caps reach 10 px past its
   * ends. */
  g_autoptr(NnDrawing) drawing = nn_drawing_new (280, 280);
  g_autofree float *raster = NULL;

  g_assert_cmpfloat (nn_drawing_get_pen_width (drawing), ==, 20.0f);
  draw_line (drawing, 60, 140, 220, 140);
  raster = nn_drawing_rasterize (drawing);

  for (int x = 60; x < 220; x += 7)
    for (int y = 0; y < 280; y++)
      {
        float v = pixel (raster, 280, x, y);
        if (y >= 130 && y <= 149)
          g_assert_cmpfloat (v, ==, 1.0f);
        else
          g_assert_cmpfloat (v, ==, 0.0f);
      }
  /* Caps: ink just inside the ends, none just past the pen's radius. */
  g_assert_cmpfloat (pixel (raster, 280, 52, 140), ==, 1.0f);
  g_assert_cmpfloat (pixel (raster, 280, 227, 139), ==, 1.0f);
  g_assert_cmpfloat (pixel (raster, 280, 48, 140), ==, 0.0f);
  g_assert_cmpfloat (pixel (raster, 280, 231, 140), ==, 0.0f);
  /* Area: a 160x20 band plus two half discs. */
  g_assert_cmpfloat_with_epsilon (total_ink (raster, 280 * 280), 160 * 20 + G_PI * 100, 5.0);
}

static void
test_flick (void)
{
  /* Two points 200 px apart, as a fast flick of the mouse gives: the line
   * between them is solid all the way. */
  g_autoptr(NnDrawing) drawing = nn_drawing_new (280, 280);
  g_autofree float *raster = NULL;
  const double x0 = 30, y0 = 60, x1 = 30 + 160, y1 = 60 + 120;   /* 200 px */
  double length = hypot (x1 - x0, y1 - y0);

  g_assert_cmpfloat_with_epsilon (length, 200.0, 1e-9);
  draw_line (drawing, x0, y0, x1, y1);
  raster = nn_drawing_rasterize (drawing);

  for (double t = 0; t <= 1.0; t += 0.5 / length)
    {
      double x = x0 + t * (x1 - x0), y = y0 + t * (y1 - y0);
      g_assert_cmpfloat (pixel (raster, 280, (int) x, (int) y), >=, 0.99f);
    }
  /* And it is a line of the pen's width, not a blob. */
  g_assert_cmpfloat_with_epsilon (total_ink (raster, 280 * 280), 200 * 20 + G_PI * 100, 6.0);
}

static void
test_dot (void)
{
  g_autoptr(NnDrawing) drawing = nn_drawing_new (280, 280);
  g_autofree float *raster = NULL;

  nn_drawing_begin_stroke (drawing, 100, 100);
  raster = nn_drawing_rasterize (drawing);

  /* A disc of the pen's diameter around the point. */
  g_assert_cmpfloat (pixel (raster, 280, 100, 100), ==, 1.0f);
  g_assert_cmpfloat (pixel (raster, 280, 92, 100), ==, 1.0f);
  g_assert_cmpfloat (pixel (raster, 280, 100, 107), ==, 1.0f);
  g_assert_cmpfloat (pixel (raster, 280, 111, 100), ==, 0.0f);
  g_assert_cmpfloat (pixel (raster, 280, 108, 108), ==, 0.0f);
  g_assert_cmpfloat_with_epsilon (total_ink (raster, 280 * 280), G_PI * 100, 3.0);

  /* A stroke whose points never moved is a dot too. */
  {
    g_autoptr(NnDrawing) still = nn_drawing_from_json ("{\"width\": 280, \"height\": 280, \"strokes\": [[[100, 100], [100, 100]]]}", NULL);
    g_autofree float *raster2 = nn_drawing_rasterize (still);
    g_assert_cmpmem (raster, 280 * 280 * sizeof (float), raster2, 280 * 280 * sizeof (float));
  }
}

static void
test_smooth_corner (void)
{
  /* A coarse V: (40, 40) (140, 240) (240, 40). Drawn as straight lines it
   * would reach its corner at (140, 240); the smooth curve turns through
   * the midpoints instead and bottoms out at y = 190. */
  g_autoptr(NnDrawing) drawing = nn_drawing_new (280, 280);
  g_autofree float *raster = NULL;

  nn_drawing_begin_stroke (drawing, 40, 40);
  nn_drawing_extend_stroke (drawing, 140, 240);
  nn_drawing_extend_stroke (drawing, 240, 40);
  raster = nn_drawing_rasterize (drawing);

  g_assert_cmpfloat (pixel (raster, 280, 140, 190), ==, 1.0f);
  g_assert_cmpfloat (pixel (raster, 280, 140, 198), ==, 1.0f);
  g_assert_cmpfloat (pixel (raster, 280, 140, 202), ==, 0.0f);
  g_assert_cmpfloat (pixel (raster, 280, 140, 235), ==, 0.0f);
  /* Both ends are still reached. */
  g_assert_cmpfloat (pixel (raster, 280, 40, 40), ==, 1.0f);
  g_assert_cmpfloat (pixel (raster, 280, 240, 40), ==, 1.0f);
}

static void
test_paint_is_raster (void)
{
  /* What the canvas paints is what the network gets: painting onto a
   * surface of our own gives the rasterizer's bytes, and a canvas shown at
   * twice the size (HiDPI) scales the pen with it. */
  g_autoptr(NnDrawing) drawing = nn_drawing_from_json (
    "{\"width\": 100, \"height\": 100, \"strokes\": [[[20, 20], [50, 80], [80, 30]], [[70, 70]]]}", NULL);
  g_autofree float *raster = nn_drawing_rasterize (drawing);
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_A8, 100, 100);
  cairo_surface_t *big = cairo_image_surface_create (CAIRO_FORMAT_A8, 200, 200);
  cairo_t *cr = cairo_create (surface);
  const guint8 *data;
  int stride;
  double big_ink = 0;

  cairo_set_source_rgba (cr, 1, 1, 1, 1);
  nn_drawing_paint (drawing, cr);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  data = cairo_image_surface_get_data (surface);
  stride = cairo_image_surface_get_stride (surface);
  for (int y = 0; y < 100; y++)
    for (int x = 0; x < 100; x++)
      g_assert_cmpfloat (data[y * stride + x] / 255.0f, ==, raster[y * 100 + x]);

  cr = cairo_create (big);
  cairo_scale (cr, 2, 2);
  cairo_set_source_rgba (cr, 1, 1, 1, 1);
  nn_drawing_paint (drawing, cr);
  cairo_destroy (cr);
  cairo_surface_flush (big);
  data = cairo_image_surface_get_data (big);
  stride = cairo_image_surface_get_stride (big);
  for (int y = 0; y < 200; y++)
    for (int x = 0; x < 200; x++)
      big_ink += data[y * stride + x] / 255.0;
  g_assert_cmpfloat_with_epsilon (big_ink / 4, total_ink (raster, 100 * 100), 0.01 * big_ink / 4);

  cairo_surface_destroy (surface);
  cairo_surface_destroy (big);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/drawing/new", test_new);
  g_test_add_func ("/drawing/strokes", test_strokes);
  g_test_add_func ("/drawing/undo-redo", test_undo_redo);
  g_test_add_func ("/drawing/clear", test_clear);
  g_test_add_func ("/drawing/copy", test_copy);
  g_test_add_func ("/drawing/json-round-trip", test_json_round_trip);
  g_test_add_func ("/drawing/json-errors", test_json_errors);
  g_test_add_func ("/drawing/horizontal-stroke", test_horizontal_stroke);
  g_test_add_func ("/drawing/flick", test_flick);
  g_test_add_func ("/drawing/dot", test_dot);
  g_test_add_func ("/drawing/smooth-corner", test_smooth_corner);
  g_test_add_func ("/drawing/paint-is-raster", test_paint_is_raster);

  return g_test_run ();
}

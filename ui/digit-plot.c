/* digit-plot.c — line plots rendered with Cairo and Pango.
 *
 * Everything is computed from the data at render time: the ranges, the
 * ticks (digit-plot-axis.c), the margins the labels need. A "frame" holds
 * the result for one size, so drawing, hit-testing and the tests all place
 * things the same way.
 *
 * Long series (tens of thousands of per-batch losses) are drawn one pixel
 * column at a time: each column keeps the first, lowest, highest and last
 * point that fall in it, in their order. The line looks the same as with
 * every point, spikes included, and costs a few segments per column, so a
 * redraw stays well under a millisecond whatever the run's length.
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <pango/pangocairo.h>

#include "digit-plot.h"

#define DEFAULT_FONT        "Sans 10"
#define LARGE_TEXT_SCALE    1.6
#define DEFAULT_SMOOTHING   0.9
#define TICK_LENGTH         4.0
#define LABEL_GAP           6.0
#define PADDING             6.0
/* Long enough that a dashed swatch shows a whole dash and gap either side
 * of its marker: at 18 px the marker hid the only gap, and dashed and
 * solid series looked the same in the legend. */
#define LEGEND_SWATCH       30.0
#define LEGEND_GAP          14.0
#define MARKER_RADIUS       3.0
#define DASH_ON             6.0
#define DASH_OFF            4.0
/* Labels want about three times their height between them on the y axis
 * and their width plus a gap on the x axis. */
#define Y_LABEL_SPACING     2.2
#define X_LABEL_SPACING     2.5

typedef struct {
  guint           id;
  char           *name;
  GdkRGBA         color;
  DigitPlotStyle  style;
  gboolean        visible;
  double          smoothing;
  GArray         *points;      /* DigitPlotPoint */
  GArray         *smoothed;    /* double, one per point, for RAW_SMOOTHED */
  double          ema;         /* the moving average before bias correction */
  guint           n_ema;
  gboolean        monotone;    /* x never decreases */
  /* The ranges of the usable points, kept as they come so that a redraw
   * does not go through them all. */
  double          x_min, x_max;
  double          y_min, y_max;
  double          y_min_positive;  /* for log scales */
} Series;

struct _DigitPlot
{
  GObject               parent_instance;

  GPtrArray            *series;          /* Series */
  guint                 next_id;

  char                 *x_title;
  char                 *x_unit;
  char                 *y_title;
  char                 *y_unit;
  DigitPlotScale        y_scale;
  double                x_hint_min, x_hint_max;
  gboolean              has_x_hint;
  double                x_min_step;
  double                y_limit_min, y_limit_max;
  char                 *placeholder;
  gboolean              legend_visible;
  gboolean              large_text;
  GdkRGBA               foreground;
  GdkRGBA               background;
  PangoFontDescription *font;
  guint                 highlight_series;
  guint                 highlight_index;

  PangoContext         *pango;
};

G_DEFINE_FINAL_TYPE (DigitPlot, digit_plot, G_TYPE_OBJECT)

enum {
  CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* One rendering's layout, for one size. */
typedef struct {
  double             scale;      /* 1, or more for large text */
  double             line_height;
  cairo_rectangle_t  area;       /* where the data goes */
  double             x_min, x_max;
  double             y_min, y_max;
  GArray            *x_ticks;
  GArray            *y_ticks;
  double             header_height;
  gboolean           has_data;
} Frame;

/* ---- Series ---------------------------------------------------------------- */

static void
series_free (gpointer data)
{
  Series *series = data;

  g_free (series->name);
  g_array_unref (series->points);
  g_array_unref (series->smoothed);
  g_free (series);
}

static Series *
find_series (DigitPlot *self,
             guint      id)
{
  for (guint i = 0; i < self->series->len; i++)
    {
      Series *series = g_ptr_array_index (self->series, i);

      if (series->id == id)
        return series;
    }
  return NULL;
}

static void
reset_ranges (Series *series)
{
  series->x_min = series->y_min = series->y_min_positive = INFINITY;
  series->x_max = series->y_max = -INFINITY;
}

static void
changed (DigitPlot *self)
{
  g_signal_emit (self, signals[CHANGED], 0);
}

guint
digit_plot_add_series (DigitPlot      *self,
                       const char     *name,
                       const GdkRGBA  *color,
                       DigitPlotStyle  style)
{
  Series *series;

  g_return_val_if_fail (DIGIT_IS_PLOT (self), 0);
  g_return_val_if_fail (color != NULL, 0);

  series = g_new0 (Series, 1);
  series->id = ++self->next_id;
  series->name = g_strdup (name);
  series->color = *color;
  series->style = style;
  series->visible = TRUE;
  series->smoothing = DEFAULT_SMOOTHING;
  series->points = g_array_new (FALSE, FALSE, sizeof (DigitPlotPoint));
  series->smoothed = g_array_new (FALSE, FALSE, sizeof (double));
  series->monotone = TRUE;
  reset_ranges (series);
  g_ptr_array_add (self->series, series);
  changed (self);
  return series->id;
}

void
digit_plot_remove_series (DigitPlot *self,
                          guint      id)
{
  Series *series;

  g_return_if_fail (DIGIT_IS_PLOT (self));

  if ((series = find_series (self, id)) == NULL)
    return;
  if (self->highlight_series == id)
    self->highlight_series = 0;
  g_ptr_array_remove (self->series, series);
  changed (self);
}

static void
append_one (Series *series,
            double  x,
            double  y)
{
  DigitPlotPoint point = { x, y };
  double smoothed = y;

  if (isfinite (x) && isfinite (y))
    {
      series->x_min = MIN (series->x_min, x);
      series->x_max = MAX (series->x_max, x);
      series->y_min = MIN (series->y_min, y);
      series->y_max = MAX (series->y_max, y);
      if (y > 0)
        series->y_min_positive = MIN (series->y_min_positive, y);
    }

  if (series->points->len > 0
      && x < g_array_index (series->points, DigitPlotPoint, series->points->len - 1).x)
    series->monotone = FALSE;
  g_array_append_val (series->points, point);

  /* The average starts at zero, so it is divided by the weight it has
   * gathered (as in Adam's bias correction): the first values are not
   * pulled towards zero. */
  if (isfinite (y))
    {
      series->ema = series->smoothing * series->ema + (1.0 - series->smoothing) * y;
      series->n_ema++;
      smoothed = series->ema / (1.0 - pow (series->smoothing, series->n_ema));
    }
  g_array_append_val (series->smoothed, smoothed);
}

void
digit_plot_append (DigitPlot *self,
                   guint      id,
                   double     x,
                   double     y)
{
  DigitPlotPoint point = { x, y };

  digit_plot_append_points (self, id, &point, 1);
}

void
digit_plot_append_points (DigitPlot            *self,
                          guint                 id,
                          const DigitPlotPoint *points,
                          guint                 n_points)
{
  Series *series;

  g_return_if_fail (DIGIT_IS_PLOT (self));
  g_return_if_fail (points != NULL || n_points == 0);

  if ((series = find_series (self, id)) == NULL || n_points == 0)
    return;
  for (guint i = 0; i < n_points; i++)
    append_one (series, points[i].x, points[i].y);
  changed (self);
}

void
digit_plot_clear_series (DigitPlot *self,
                         guint      id)
{
  Series *series;

  g_return_if_fail (DIGIT_IS_PLOT (self));

  if ((series = find_series (self, id)) == NULL)
    return;
  g_array_set_size (series->points, 0);
  g_array_set_size (series->smoothed, 0);
  series->ema = 0.0;
  series->n_ema = 0;
  series->monotone = TRUE;
  reset_ranges (series);
  if (self->highlight_series == id)
    self->highlight_series = 0;
  changed (self);
}

guint
digit_plot_get_n_points (DigitPlot *self,
                         guint      id)
{
  Series *series;

  g_return_val_if_fail (DIGIT_IS_PLOT (self), 0);

  series = find_series (self, id);
  return series != NULL ? series->points->len : 0;
}

void
digit_plot_set_series_name (DigitPlot  *self,
                            guint       id,
                            const char *name)
{
  Series *series;

  g_return_if_fail (DIGIT_IS_PLOT (self));

  if ((series = find_series (self, id)) == NULL)
    return;
  g_free (series->name);
  series->name = g_strdup (name);
  changed (self);
}

const char *
digit_plot_get_series_name (DigitPlot *self,
                            guint      id)
{
  Series *series;

  g_return_val_if_fail (DIGIT_IS_PLOT (self), NULL);

  series = find_series (self, id);
  return series != NULL ? series->name : NULL;
}

void
digit_plot_set_series_color (DigitPlot     *self,
                             guint          id,
                             const GdkRGBA *color)
{
  Series *series;

  g_return_if_fail (DIGIT_IS_PLOT (self));
  g_return_if_fail (color != NULL);

  if ((series = find_series (self, id)) == NULL)
    return;
  series->color = *color;
  changed (self);
}

void
digit_plot_set_series_visible (DigitPlot *self,
                               guint      id,
                               gboolean   visible)
{
  Series *series;

  g_return_if_fail (DIGIT_IS_PLOT (self));

  if ((series = find_series (self, id)) == NULL || series->visible == !!visible)
    return;
  series->visible = !!visible;
  if (!visible && self->highlight_series == id)
    self->highlight_series = 0;
  changed (self);
}

void
digit_plot_set_series_smoothing (DigitPlot *self,
                                 guint      id,
                                 double     weight)
{
  Series *series;
  g_autoptr(GArray) points = NULL;

  g_return_if_fail (DIGIT_IS_PLOT (self));
  g_return_if_fail (weight >= 0.0 && weight < 1.0);

  if ((series = find_series (self, id)) == NULL)
    return;
  /* Recomputed from the start with the new weight. */
  points = g_array_ref (series->points);
  series->points = g_array_new (FALSE, FALSE, sizeof (DigitPlotPoint));
  g_array_set_size (series->smoothed, 0);
  series->ema = 0.0;
  series->n_ema = 0;
  series->monotone = TRUE;
  reset_ranges (series);
  series->smoothing = weight;
  for (guint i = 0; i < points->len; i++)
    {
      const DigitPlotPoint *p = &g_array_index (points, DigitPlotPoint, i);

      append_one (series, p->x, p->y);
    }
  changed (self);
}

/* ---- Settings -------------------------------------------------------------- */

static void
replace_string (char       **field,
                const char  *value)
{
  g_free (*field);
  *field = g_strdup (value);
}

void
digit_plot_set_x_title (DigitPlot  *self,
                        const char *title,
                        const char *unit)
{
  g_return_if_fail (DIGIT_IS_PLOT (self));

  replace_string (&self->x_title, title);
  replace_string (&self->x_unit, unit);
  changed (self);
}

void
digit_plot_set_y_title (DigitPlot  *self,
                        const char *title,
                        const char *unit)
{
  g_return_if_fail (DIGIT_IS_PLOT (self));

  replace_string (&self->y_title, title);
  replace_string (&self->y_unit, unit);
  changed (self);
}

const char *
digit_plot_get_x_title (DigitPlot *self)
{
  g_return_val_if_fail (DIGIT_IS_PLOT (self), NULL);

  return self->x_title;
}

const char *
digit_plot_get_y_title (DigitPlot *self)
{
  g_return_val_if_fail (DIGIT_IS_PLOT (self), NULL);

  return self->y_title;
}

void
digit_plot_set_y_scale (DigitPlot      *self,
                        DigitPlotScale  scale)
{
  g_return_if_fail (DIGIT_IS_PLOT (self));

  self->y_scale = scale;
  changed (self);
}

void
digit_plot_set_x_range_hint (DigitPlot *self,
                             double     min,
                             double     max)
{
  g_return_if_fail (DIGIT_IS_PLOT (self));

  self->has_x_hint = isfinite (min) && isfinite (max) && max > min;
  self->x_hint_min = min;
  self->x_hint_max = max;
  changed (self);
}

void
digit_plot_set_x_min_step (DigitPlot *self,
                           double     step)
{
  g_return_if_fail (DIGIT_IS_PLOT (self));

  self->x_min_step = MAX (step, 0.0);
  changed (self);
}

void
digit_plot_set_y_limits (DigitPlot *self,
                         double     min,
                         double     max)
{
  g_return_if_fail (DIGIT_IS_PLOT (self));
  g_return_if_fail (max > min);

  self->y_limit_min = min;
  self->y_limit_max = max;
  changed (self);
}

void
digit_plot_set_placeholder (DigitPlot  *self,
                            const char *text)
{
  g_return_if_fail (DIGIT_IS_PLOT (self));

  replace_string (&self->placeholder, text);
  changed (self);
}

void
digit_plot_set_legend_visible (DigitPlot *self,
                               gboolean   visible)
{
  g_return_if_fail (DIGIT_IS_PLOT (self));

  self->legend_visible = !!visible;
  changed (self);
}

void
digit_plot_set_large_text (DigitPlot *self,
                           gboolean   large_text)
{
  g_return_if_fail (DIGIT_IS_PLOT (self));

  if (self->large_text == !!large_text)
    return;
  self->large_text = !!large_text;
  changed (self);
}

gboolean
digit_plot_get_large_text (DigitPlot *self)
{
  g_return_val_if_fail (DIGIT_IS_PLOT (self), FALSE);

  return self->large_text;
}

void
digit_plot_set_colors (DigitPlot     *self,
                       const GdkRGBA *foreground,
                       const GdkRGBA *background)
{
  g_return_if_fail (DIGIT_IS_PLOT (self));
  g_return_if_fail (foreground != NULL);

  if (gdk_rgba_equal (&self->foreground, foreground)
      && (background == NULL ? self->background.alpha == 0
                             : gdk_rgba_equal (&self->background, background)))
    return;
  self->foreground = *foreground;
  self->background = background != NULL ? *background : (GdkRGBA) { 0, 0, 0, 0 };
  changed (self);
}

void
digit_plot_set_font (DigitPlot                  *self,
                     const PangoFontDescription *font)
{
  g_return_if_fail (DIGIT_IS_PLOT (self));
  g_return_if_fail (font != NULL);

  if (pango_font_description_equal (self->font, font))
    return;
  pango_font_description_free (self->font);
  self->font = pango_font_description_copy (font);
  changed (self);
}

void
digit_plot_set_highlight (DigitPlot *self,
                          guint      series,
                          guint      index)
{
  g_return_if_fail (DIGIT_IS_PLOT (self));

  if (self->highlight_series == series && (series == 0 || self->highlight_index == index))
    return;
  self->highlight_series = series;
  self->highlight_index = index;
  changed (self);
}

/* ---- Text ------------------------------------------------------------------ */

static double
frame_scale (DigitPlot *self)
{
  return self->large_text ? LARGE_TEXT_SCALE : 1.0;
}

static PangoLayout *
new_layout (DigitPlot  *self,
            const char *text,
            double      size_factor,
            gboolean    bold)
{
  PangoLayout *layout = pango_layout_new (self->pango);
  g_autoptr(PangoFontDescription) font = pango_font_description_copy (self->font);
  int size = pango_font_description_get_size (font);

  if (size <= 0)
    size = 10 * PANGO_SCALE;
  size = (int) round (size * size_factor * frame_scale (self));
  if (pango_font_description_get_size_is_absolute (font))
    pango_font_description_set_absolute_size (font, size);
  else
    pango_font_description_set_size (font, size);
  if (bold)
    pango_font_description_set_weight (font, PANGO_WEIGHT_BOLD);
  pango_layout_set_font_description (layout, font);
  pango_layout_set_text (layout, text, -1);
  return layout;
}

static void
text_size (DigitPlot  *self,
           const char *text,
           double      size_factor,
           gboolean    bold,
           double     *width,
           double     *height)
{
  g_autoptr(PangoLayout) layout = new_layout (self, text, size_factor, bold);
  int w, h;

  pango_layout_get_pixel_size (layout, &w, &h);
  if (width != NULL)
    *width = w;
  if (height != NULL)
    *height = h;
}

static char *
axis_title (const char *title,
            const char *unit)
{
  if (title == NULL)
    return NULL;
  if (unit == NULL || *unit == '\0')
    return g_strdup (title);
  /* Translators: an axis title and its unit, e.g. "Accuracy (%)". */
  return g_strdup_printf (C_("plot axis", "%s (%s)"), title, unit);
}

/* ---- Layout ---------------------------------------------------------------- */

static gboolean
usable_y (DigitPlot *self,
          double     y)
{
  return isfinite (y) && (self->y_scale != DIGIT_PLOT_SCALE_LOG || y > 0);
}

static void
data_ranges (DigitPlot *self,
             double    *x_min,
             double    *x_max,
             double    *y_min,
             double    *y_max)
{
  *x_min = *y_min = INFINITY;
  *x_max = *y_max = -INFINITY;
  for (guint i = 0; i < self->series->len; i++)
    {
      Series *series = g_ptr_array_index (self->series, i);

      double low;

      if (!series->visible)
        continue;
      low = self->y_scale == DIGIT_PLOT_SCALE_LOG ? series->y_min_positive : series->y_min;
      if (!isfinite (low) || !usable_y (self, series->y_max))
        continue;
      *x_min = MIN (*x_min, series->x_min);
      *x_max = MAX (*x_max, series->x_max);
      *y_min = MIN (*y_min, low);
      *y_max = MAX (*y_max, series->y_max);
    }
}

static double
y_transform (DigitPlot *self,
             double     y)
{
  return self->y_scale == DIGIT_PLOT_SCALE_LOG ? log10 (y) : y;
}

static GArray *
compute_y_ticks (DigitPlot *self,
                 Frame     *frame,
                 int        max_labels)
{
  double min = frame->y_min, max = frame->y_max;
  GArray *ticks;

  if (self->y_scale == DIGIT_PLOT_SCALE_LOG)
    {
      ticks = digit_plot_log_ticks (&min, &max, max_labels, TRUE);
      if (self->y_limit_min > 0)
        min = MAX (min, self->y_limit_min);
    }
  else
    {
      ticks = digit_plot_linear_ticks (&min, &max, max_labels, 0.0, TRUE);
      min = MAX (min, self->y_limit_min);
    }
  max = MIN (max, self->y_limit_max);
  frame->y_min = min;
  frame->y_max = max;
  /* Ticks that the limits cut off go. */
  for (guint i = ticks->len; i-- > 0;)
    {
      double value = g_array_index (ticks, DigitPlotTick, i).value;

      if (value < min - 1e-9 * fabs (max - min) || value > max + 1e-9 * fabs (max - min))
        g_array_remove_index (ticks, i);
    }
  return ticks;
}

static double
widest_label (DigitPlot *self,
              GArray    *ticks)
{
  double widest = 0.0;

  for (guint i = 0; i < ticks->len; i++)
    {
      const DigitPlotTick *tick = &g_array_index (ticks, DigitPlotTick, i);
      g_autofree char *label = NULL;
      double width;

      if (!tick->labelled)
        continue;
      label = digit_plot_format_tick (tick->value, tick->step);
      text_size (self, label, 0.9, FALSE, &width, NULL);
      widest = MAX (widest, width);
    }
  return widest;
}

/* The legend's entries laid out in rows from the right edge; returns the
 * number of rows for @available pixels. */
static guint
legend_rows (DigitPlot *self,
             double     available)
{
  double s = frame_scale (self);
  double row_width = 0.0;
  guint rows = 0;

  if (!self->legend_visible)
    return 0;
  for (guint i = 0; i < self->series->len; i++)
    {
      Series *series = g_ptr_array_index (self->series, i);
      double width;

      if (!series->visible || series->name == NULL)
        continue;
      text_size (self, series->name, 0.9, FALSE, &width, NULL);
      width += (LEGEND_SWATCH + 4.0) * s;
      if (rows == 0 || row_width + LEGEND_GAP * s + width > available)
        {
          rows++;
          row_width = width;
        }
      else
        {
          row_width += LEGEND_GAP * s + width;
        }
    }
  return rows;
}

static void
frame_clear (Frame *frame)
{
  g_clear_pointer (&frame->x_ticks, g_array_unref);
  g_clear_pointer (&frame->y_ticks, g_array_unref);
}

static void
compute_frame (DigitPlot *self,
               int        width,
               int        height,
               Frame     *frame)
{
  double s = frame_scale (self);
  double label_height, title_width = 0.0, title_height = 0.0;
  double left, right, top, bottom, x_label_width, y_label_width;
  g_autofree char *y_title = axis_title (self->y_title, self->y_unit);
  g_autofree char *x_title = axis_title (self->x_title, self->x_unit);
  guint rows;
  int max_labels;

  memset (frame, 0, sizeof *frame);
  frame->scale = s;
  text_size (self, "0123456789", 0.9, FALSE, NULL, &label_height);
  frame->line_height = label_height;

  /* Ranges from the data, with the hints. */
  data_ranges (self, &frame->x_min, &frame->x_max, &frame->y_min, &frame->y_max);
  frame->has_data = isfinite (frame->x_min);
  if (self->has_x_hint)
    {
      frame->x_min = MIN (frame->x_min, self->x_hint_min);
      frame->x_max = MAX (frame->x_max, self->x_hint_max);
    }
  if (!isfinite (frame->x_min))
    {
      frame->x_min = 0.0;
      frame->x_max = 1.0;
    }
  if (!frame->has_data)
    {
      /* An empty plot spans its limits when it has them (0 to 100 %). */
      if (self->y_scale == DIGIT_PLOT_SCALE_LOG)
        {
          frame->y_min = 0.1;
          frame->y_max = 1.0;
        }
      else
        {
          frame->y_min = isfinite (self->y_limit_min) ? self->y_limit_min : 0.0;
          frame->y_max = isfinite (self->y_limit_max) ? self->y_limit_max : 1.0;
        }
      if (frame->y_max <= frame->y_min)
        frame->y_max = frame->y_min + 1.0;
    }

  /* The header: the y axis title on the left, the legend on the right. */
  if (y_title != NULL)
    text_size (self, y_title, 1.0, TRUE, &title_width, &title_height);
  rows = legend_rows (self, MAX (width - title_width - 3 * LEGEND_GAP * s, 40.0));
  frame->header_height = MAX (title_height, rows * (label_height + 2.0 * s));
  top = PADDING * s + frame->header_height + (frame->header_height > 0 ? 8.0 * s : 0.0)
        + label_height / 2.0;

  bottom = PADDING * s + (TICK_LENGTH + 2.0) * s + label_height;
  if (x_title != NULL)
    {
      double h;

      text_size (self, x_title, 0.95, FALSE, NULL, &h);
      bottom += 2.0 * s + h;
    }

  /* The y ticks depend on the height left; the left margin on their
   * labels' width. */
  max_labels = (int) MAX (2.0, (height - top - bottom) / (Y_LABEL_SPACING * label_height));
  frame->y_ticks = compute_y_ticks (self, frame, max_labels);
  y_label_width = widest_label (self, frame->y_ticks);
  left = PADDING * s + y_label_width + (TICK_LENGTH + LABEL_GAP) * s;

  /* The x ticks likewise; a first guess at their width, then the real one. */
  {
    double guess_min = frame->x_min, guess_max = frame->x_max;
    g_autoptr(GArray) guess = digit_plot_linear_ticks (&guess_min, &guess_max, 10,
                                                       self->x_min_step, FALSE);

    x_label_width = MAX (widest_label (self, guess), label_height);
  }
  right = PADDING * s + x_label_width / 2.0;
  max_labels = (int) MAX (2.0, (width - left - right) / (X_LABEL_SPACING * x_label_width) + 1.0);
  frame->x_ticks = digit_plot_linear_ticks (&frame->x_min, &frame->x_max, max_labels,
                                            self->x_min_step, FALSE);

  frame->area.x = floor (left) + 0.5;
  frame->area.y = floor (top) + 0.5;
  frame->area.width = MAX (1.0, floor (width - right - left));
  frame->area.height = MAX (1.0, floor (height - bottom - top));
}

static double
frame_px (const Frame *frame,
          double       x)
{
  return frame->area.x + (x - frame->x_min) / (frame->x_max - frame->x_min) * frame->area.width;
}

static double
frame_py (DigitPlot   *self,
          const Frame *frame,
          double       y)
{
  double low = y_transform (self, frame->y_min);
  double high = y_transform (self, frame->y_max);

  return frame->area.y + frame->area.height
         - (y_transform (self, y) - low) / (high - low) * frame->area.height;
}

/* ---- Drawing --------------------------------------------------------------- */

static void
set_color (cairo_t       *cr,
           const GdkRGBA *color,
           double         alpha)
{
  cairo_set_source_rgba (cr, color->red, color->green, color->blue, color->alpha * alpha);
}

static void
show_text (DigitPlot     *self,
           cairo_t       *cr,
           const char    *text,
           double         size_factor,
           gboolean       bold,
           double         x,
           double         y,
           double         x_align,   /* 0 left, 0.5 centre, 1 right */
           double         y_align)
{
  g_autoptr(PangoLayout) layout = new_layout (self, text, size_factor, bold);
  int w, h;

  pango_layout_get_pixel_size (layout, &w, &h);
  cairo_move_to (cr, round (x - w * x_align), round (y - h * y_align));
  pango_cairo_show_layout (cr, layout);
}

static void
draw_grid_and_axes (DigitPlot   *self,
                    cairo_t     *cr,
                    const Frame *frame)
{
  const cairo_rectangle_t *a = &frame->area;
  double s = frame->scale;

  cairo_save (cr);
  cairo_set_line_width (cr, 1.0);

  /* Horizontal grid lines; the unlabelled ones fainter. */
  for (guint i = 0; i < frame->y_ticks->len; i++)
    {
      const DigitPlotTick *tick = &g_array_index (frame->y_ticks, DigitPlotTick, i);
      double y = floor (frame_py (self, frame, tick->value)) + 0.5;

      set_color (cr, &self->foreground, tick->labelled ? 0.12 : 0.05);
      cairo_move_to (cr, a->x, y);
      cairo_line_to (cr, a->x + a->width, y);
      cairo_stroke (cr);
      if (tick->labelled)
        {
          g_autofree char *label = digit_plot_format_tick (tick->value, tick->step);

          set_color (cr, &self->foreground, 0.5);
          cairo_move_to (cr, a->x - TICK_LENGTH * s, y);
          cairo_line_to (cr, a->x, y);
          cairo_stroke (cr);
          set_color (cr, &self->foreground, 0.75);
          show_text (self, cr, label, 0.9, FALSE, a->x - (TICK_LENGTH + LABEL_GAP) * s, y, 1.0, 0.5);
        }
    }

  for (guint i = 0; i < frame->x_ticks->len; i++)
    {
      const DigitPlotTick *tick = &g_array_index (frame->x_ticks, DigitPlotTick, i);
      double x = floor (frame_px (frame, tick->value)) + 0.5;
      g_autofree char *label = digit_plot_format_tick (tick->value, tick->step);

      set_color (cr, &self->foreground, 0.12);
      cairo_move_to (cr, x, a->y);
      cairo_line_to (cr, x, a->y + a->height);
      cairo_stroke (cr);
      set_color (cr, &self->foreground, 0.5);
      cairo_move_to (cr, x, a->y + a->height);
      cairo_line_to (cr, x, a->y + a->height + TICK_LENGTH * s);
      cairo_stroke (cr);
      set_color (cr, &self->foreground, 0.75);
      show_text (self, cr, label, 0.9, FALSE, x, a->y + a->height + (TICK_LENGTH + 2.0) * s, 0.5, 0.0);
    }

  /* The axes themselves: left and bottom. */
  set_color (cr, &self->foreground, 0.6);
  cairo_set_line_width (cr, 1.0);
  cairo_move_to (cr, a->x, a->y);
  cairo_line_to (cr, a->x, a->y + a->height);
  cairo_line_to (cr, a->x + a->width, a->y + a->height);
  cairo_stroke (cr);
  cairo_restore (cr);
}

static void
draw_titles (DigitPlot   *self,
             cairo_t     *cr,
             const Frame *frame,
             int          width,
             int          height)
{
  g_autofree char *y_title = axis_title (self->y_title, self->y_unit);
  g_autofree char *x_title = axis_title (self->x_title, self->x_unit);
  double s = frame->scale;

  if (y_title != NULL)
    {
      set_color (cr, &self->foreground, 1.0);
      show_text (self, cr, y_title, 1.0, TRUE, PADDING * s, PADDING * s, 0.0, 0.0);
    }
  if (x_title != NULL)
    {
      set_color (cr, &self->foreground, 0.75);
      show_text (self, cr, x_title, 0.95, FALSE,
                 frame->area.x + frame->area.width / 2.0, height - PADDING * s, 0.5, 1.0);
    }
}

static void
set_line_style (cairo_t        *cr,
                DigitPlotStyle  style,
                double          s)
{
  if (style & DIGIT_PLOT_DASHED)
    {
      const double dashes[] = { DASH_ON * s, DASH_OFF * s };

      cairo_set_dash (cr, dashes, G_N_ELEMENTS (dashes), 0.0);
    }
  else
    {
      cairo_set_dash (cr, NULL, 0, 0.0);
    }
}

static void
draw_swatch (DigitPlot    *self,
             cairo_t      *cr,
             const Series *series,
             double        x,
             double        y,
             double        s)
{
  double length = LEGEND_SWATCH * s;

  cairo_save (cr);
  set_color (cr, &series->color, 1.0);
  cairo_set_line_width (cr, 2.0 * s);
  if (series->style & DIGIT_PLOT_DASHED)
    {
      /* The plot's dashes, shifted so that one lies in the middle, under
       * the marker: the gaps either side of it stay clear, and square ends
       * keep them as wide as in the pattern. */
      const double dashes[] = { DASH_ON * s, DASH_OFF * s };
      double period = (DASH_ON + DASH_OFF) * s;
      double start = fmod ((length - DASH_ON * s) / 2.0, period);

      cairo_set_dash (cr, dashes, G_N_ELEMENTS (dashes), fmod (period - start, period));
    }
  cairo_move_to (cr, x, y);
  cairo_line_to (cr, x + length, y);
  cairo_stroke (cr);
  if (series->style & DIGIT_PLOT_MARKERS)
    {
      cairo_arc (cr, x + length / 2.0, y, MARKER_RADIUS * s, 0, 2 * G_PI);
      cairo_fill (cr);
    }
  cairo_restore (cr);
}

static void
draw_legend (DigitPlot   *self,
             cairo_t     *cr,
             const Frame *frame,
             int          width)
{
  double s = frame->scale;
  double row_height = frame->line_height + 2.0 * s;
  double right_edge = width - PADDING * s;
  double title_width = 0.0;
  g_autofree char *y_title = axis_title (self->y_title, self->y_unit);
  g_autoptr(GPtrArray) row = g_ptr_array_new ();
  double row_width = 0.0, y = PADDING * s;
  guint i = 0;

  if (!self->legend_visible)
    return;
  if (y_title != NULL)
    text_size (self, y_title, 1.0, TRUE, &title_width, NULL);

  /* Rows filled left to right, each placed against the right edge. */
  for (;;)
    {
      Series *series = i < self->series->len ? g_ptr_array_index (self->series, i) : NULL;
      double entry_width = 0.0;
      double available = MAX (width - title_width - 3 * LEGEND_GAP * s, 40.0);

      if (series != NULL && (!series->visible || series->name == NULL))
        {
          i++;
          continue;
        }
      if (series != NULL)
        {
          text_size (self, series->name, 0.9, FALSE, &entry_width, NULL);
          entry_width += (LEGEND_SWATCH + 4.0) * s;
        }
      if (series == NULL || (row->len > 0 && row_width + LEGEND_GAP * s + entry_width > available))
        {
          double x = right_edge - row_width;

          for (guint j = 0; j < row->len; j++)
            {
              Series *entry = g_ptr_array_index (row, j);
              double name_width;

              text_size (self, entry->name, 0.9, FALSE, &name_width, NULL);
              draw_swatch (self, cr, entry, x, y + row_height / 2.0, s);
              set_color (cr, &self->foreground, 0.85);
              show_text (self, cr, entry->name, 0.9, FALSE,
                         x + (LEGEND_SWATCH + 4.0) * s, y + row_height / 2.0, 0.0, 0.5);
              x += (LEGEND_SWATCH + 4.0) * s + name_width + LEGEND_GAP * s;
            }
          y += row_height;
          g_ptr_array_set_size (row, 0);
          row_width = 0.0;
          if (series == NULL)
            break;
        }
      row_width += (row->len > 0 ? LEGEND_GAP * s : 0.0) + entry_width;
      g_ptr_array_add (row, series);
      i++;
    }
}

/* Adds the series' line to the path, one or a few segments per pixel
 * column when there are more points than columns. A value the axis cannot
 * show (NaN, or <= 0 on a log scale) breaks the line. */
static void
append_line (DigitPlot    *self,
             cairo_t      *cr,
             const Frame  *frame,
             const Series *series,
             gboolean      smoothed)
{
  const DigitPlotPoint *points = (const DigitPlotPoint *) series->points->data;
  const double *averages = (const double *) series->smoothed->data;
  guint n = series->points->len;
  gboolean decimate = series->monotone && n > 2 * frame->area.width;
  gboolean pen_down = FALSE;
  /* The current column's first, lowest, highest and last points. */
  double column = NAN;
  double first_y = 0, low_y = 0, high_y = 0, last_y = 0, column_x = 0;
  guint low_at = 0, high_at = 0;

#define VALUE_AT(i) (smoothed ? averages[i] : points[i].y)

  for (guint i = 0; i <= n; i++)
    {
      double px = 0, py = 0;
      gboolean usable = FALSE;

      if (i < n)
        {
          usable = isfinite (points[i].x) && usable_y (self, VALUE_AT (i));
          if (usable)
            {
              px = frame_px (frame, points[i].x);
              py = frame_py (self, frame, VALUE_AT (i));
            }
        }

      if (!decimate)
        {
          if (i == n)
            break;
          if (!usable)
            pen_down = FALSE;
          else if (pen_down)
            cairo_line_to (cr, px, py);
          else
            {
              /* A segment of no length: a point on its own still shows,
               * as a dot the size of the line's width. */
              cairo_move_to (cr, px, py);
              cairo_line_to (cr, px, py);
              pen_down = TRUE;
            }
          continue;
        }

      /* Decimated: flush the column when leaving it (or at a break). */
      if (!isnan (column) && (i == n || !usable || floor (px) != column))
        {
          double order[4] = { first_y, 0, 0, last_y };

          order[1] = low_at <= high_at ? low_y : high_y;
          order[2] = low_at <= high_at ? high_y : low_y;
          for (guint k = 0; k < 4; k++)
            {
              if (pen_down)
                cairo_line_to (cr, column_x, order[k]);
              else
                {
                  cairo_move_to (cr, column_x, order[k]);
                  pen_down = TRUE;
                }
            }
          column = NAN;
        }
      if (i == n)
        break;
      if (!usable)
        {
          pen_down = FALSE;
          continue;
        }
      if (isnan (column))
        {
          column = floor (px);
          column_x = column + 0.5;
          first_y = low_y = high_y = py;
          low_at = high_at = i;
        }
      if (py < low_y)
        {
          low_y = py;
          low_at = i;
        }
      if (py > high_y)
        {
          high_y = py;
          high_at = i;
        }
      last_y = py;
    }
#undef VALUE_AT
}

/* The raw line of a series with more points than pixel columns, as the
 * band it covers in each column: from its lowest to its highest point,
 * joined to the column before, half a line width beyond. It looks as the
 * stroked zigzag would, and costs a rectangle per column instead of a
 * join per point (stroking thousands of noisy batch losses took most of a
 * frame). */
static void
append_envelope (DigitPlot    *self,
                 cairo_t      *cr,
                 const Frame  *frame,
                 const Series *series,
                 double        line_width)
{
  const DigitPlotPoint *points = (const DigitPlotPoint *) series->points->data;
  guint n = series->points->len;
  double column = NAN, low = 0, high = 0, last = NAN, left = NAN;

  for (guint i = 0; i <= n; i++)
    {
      gboolean usable = i < n && isfinite (points[i].x) && usable_y (self, points[i].y);
      double px = usable ? frame_px (frame, points[i].x) : 0;
      double py = usable ? frame_py (self, frame, points[i].y) : 0;

      if (!isnan (column) && (!usable || floor (px) != column))
        {
          /* Columns without a point of their own belong to the next one.
           * Whole pixels, which Cairo fills as boxes, many times faster
           * than a polygon: the band is faint, its edges need no more. */
          double x = isnan (left) ? column : left;
          double top = floor (low - line_width / 2), bottom = ceil (high + line_width / 2);
          cairo_rectangle (cr, x, top, column + 1.0 - x, bottom - top);
          left = column + 1.0;
          column = NAN;
        }
      if (!usable)
        {
          last = left = NAN;
          continue;
        }
      if (isnan (column))
        {
          column = floor (px);
          /* Joined to where the line left the column before. */
          low = high = isnan (last) ? py : last;
        }
      low = MIN (low, py);
      high = MAX (high, py);
      last = py;
    }
}

static void
draw_markers (DigitPlot    *self,
              cairo_t      *cr,
              const Frame  *frame,
              const Series *series)
{
  double s = frame->scale;

  for (guint i = 0; i < series->points->len; i++)
    {
      const DigitPlotPoint *p = &g_array_index (series->points, DigitPlotPoint, i);

      if (!isfinite (p->x) || !usable_y (self, p->y))
        continue;
      cairo_new_sub_path (cr);
      cairo_arc (cr, frame_px (frame, p->x), frame_py (self, frame, p->y),
                 MARKER_RADIUS * s, 0, 2 * G_PI);
    }
  cairo_fill (cr);
}

static void
draw_series (DigitPlot    *self,
             cairo_t      *cr,
             const Frame  *frame,
             const Series *series)
{
  double s = frame->scale;

  cairo_save (cr);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  set_line_style (cr, series->style, s);

  if (series->style & DIGIT_PLOT_RAW_SMOOTHED)
    {
      set_color (cr, &series->color, 0.3);
      cairo_set_line_width (cr, 1.0 * s);
      if (series->monotone && series->points->len > frame->area.width
          && !(series->style & DIGIT_PLOT_DASHED))
        {
          append_envelope (self, cr, frame, series, 1.0 * s);
          cairo_fill (cr);
        }
      else
        {
          append_line (self, cr, frame, series, FALSE);
          cairo_stroke (cr);
        }
      set_color (cr, &series->color, 1.0);
      cairo_set_line_width (cr, 2.0 * s);
      /* Round joins on every point of a dense line cost more than the
       * rest of the plot; at a pixel apart they look no different. */
      if (series->points->len > frame->area.width)
        cairo_set_line_join (cr, CAIRO_LINE_JOIN_BEVEL);
      append_line (self, cr, frame, series, TRUE);
      cairo_stroke (cr);
    }
  else
    {
      set_color (cr, &series->color, 1.0);
      cairo_set_line_width (cr, 2.0 * s);
      append_line (self, cr, frame, series, FALSE);
      cairo_stroke (cr);
    }
  if (series->style & DIGIT_PLOT_MARKERS)
    {
      set_color (cr, &series->color, 1.0);
      draw_markers (self, cr, frame, series);
    }
  cairo_restore (cr);
}

static void
draw_highlight (DigitPlot   *self,
                cairo_t     *cr,
                const Frame *frame)
{
  Series *series = find_series (self, self->highlight_series);
  double s = frame->scale, y, px, py;

  if (series == NULL || !series->visible || self->highlight_index >= series->points->len)
    return;
  y = (series->style & DIGIT_PLOT_RAW_SMOOTHED)
        ? g_array_index (series->smoothed, double, self->highlight_index)
        : g_array_index (series->points, DigitPlotPoint, self->highlight_index).y;
  if (!usable_y (self, y))
    return;
  px = frame_px (frame, g_array_index (series->points, DigitPlotPoint, self->highlight_index).x);
  py = frame_py (self, frame, y);

  cairo_save (cr);
  set_color (cr, &self->foreground, 0.25);
  cairo_set_line_width (cr, 1.0);
  cairo_move_to (cr, floor (px) + 0.5, frame->area.y);
  cairo_line_to (cr, floor (px) + 0.5, frame->area.y + frame->area.height);
  cairo_stroke (cr);
  cairo_arc (cr, px, py, 5.0 * s, 0, 2 * G_PI);
  set_color (cr, &series->color, 1.0);
  cairo_fill_preserve (cr);
  cairo_set_line_width (cr, 2.0 * s);
  if (self->background.alpha > 0)
    set_color (cr, &self->background, 1.0);
  else
    cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_stroke (cr);
  cairo_restore (cr);
}

void
digit_plot_render (DigitPlot *self,
                   cairo_t   *cr,
                   int        width,
                   int        height)
{
  Frame frame;

  g_return_if_fail (DIGIT_IS_PLOT (self));
  g_return_if_fail (cr != NULL);

  if (width <= 0 || height <= 0)
    return;
  pango_cairo_update_context (cr, self->pango);
  compute_frame (self, width, height, &frame);

  cairo_save (cr);
  if (self->background.alpha > 0)
    {
      set_color (cr, &self->background, 1.0);
      cairo_rectangle (cr, 0, 0, width, height);
      cairo_fill (cr);
    }
  draw_grid_and_axes (self, cr, &frame);
  draw_titles (self, cr, &frame, width, height);
  draw_legend (self, cr, &frame, width);

  /* A little room beyond the data area for thick lines and markers at its
   * edges; nothing spills into the labels. */
  cairo_rectangle (cr, frame.area.x - 4 * frame.scale, frame.area.y - 4 * frame.scale,
                   frame.area.width + 8 * frame.scale, frame.area.height + 8 * frame.scale);
  cairo_clip (cr);
  for (guint i = 0; i < self->series->len; i++)
    {
      Series *series = g_ptr_array_index (self->series, i);

      if (series->visible && series->points->len > 0)
        draw_series (self, cr, &frame, series);
    }
  draw_highlight (self, cr, &frame);
  cairo_reset_clip (cr);

  if (!frame.has_data && self->placeholder != NULL)
    {
      set_color (cr, &self->foreground, 0.55);
      show_text (self, cr, self->placeholder, 1.0, FALSE,
                 frame.area.x + frame.area.width / 2.0, frame.area.y + frame.area.height / 2.0,
                 0.5, 0.5);
    }
  cairo_restore (cr);
  frame_clear (&frame);
}

/* ---- Geometry -------------------------------------------------------------- */

void
digit_plot_get_data_area (DigitPlot         *self,
                          int                width,
                          int                height,
                          cairo_rectangle_t *area)
{
  Frame frame;

  g_return_if_fail (DIGIT_IS_PLOT (self));
  g_return_if_fail (area != NULL);

  compute_frame (self, width, height, &frame);
  *area = frame.area;
  frame_clear (&frame);
}

gboolean
digit_plot_data_to_pixel (DigitPlot *self,
                          int        width,
                          int        height,
                          double     x,
                          double     y,
                          double    *px,
                          double    *py)
{
  Frame frame;

  g_return_val_if_fail (DIGIT_IS_PLOT (self), FALSE);

  if (!isfinite (x) || !usable_y (self, y))
    return FALSE;
  compute_frame (self, width, height, &frame);
  if (px != NULL)
    *px = frame_px (&frame, x);
  if (py != NULL)
    *py = frame_py (self, &frame, y);
  frame_clear (&frame);
  return TRUE;
}

/* The first point with x >= @x in a monotone series. */
static guint
lower_bound (const Series *series,
             double        x)
{
  guint low = 0, high = series->points->len;

  while (low < high)
    {
      guint mid = low + (high - low) / 2;

      if (g_array_index (series->points, DigitPlotPoint, mid).x < x)
        low = mid + 1;
      else
        high = mid;
    }
  return low;
}

gboolean
digit_plot_pick (DigitPlot     *self,
                 int            width,
                 int            height,
                 double         px,
                 double         py,
                 double         radius,
                 DigitPlotPick *pick)
{
  Frame frame;
  double best = radius * radius;
  gboolean found = FALSE;

  g_return_val_if_fail (DIGIT_IS_PLOT (self), FALSE);
  g_return_val_if_fail (pick != NULL, FALSE);

  compute_frame (self, width, height, &frame);
  for (guint i = 0; i < self->series->len; i++)
    {
      Series *series = g_ptr_array_index (self->series, i);
      guint start = 0, end = series->points->len;

      if (!series->visible)
        continue;
      if (series->monotone && end > 0)
        {
          /* Only the points within @radius pixels across. */
          double per_pixel = (frame.x_max - frame.x_min) / frame.area.width;
          double x = frame.x_min + (px - frame.area.x) * per_pixel;

          start = lower_bound (series, x - radius * per_pixel);
          end = MIN (end, lower_bound (series, x + radius * per_pixel) + 1);
        }
      for (guint j = start; j < end; j++)
        {
          const DigitPlotPoint *p = &g_array_index (series->points, DigitPlotPoint, j);
          double shown = (series->style & DIGIT_PLOT_RAW_SMOOTHED)
                           ? g_array_index (series->smoothed, double, j) : p->y;
          double dx, dy, distance;

          if (!isfinite (p->x) || !usable_y (self, shown))
            continue;
          dx = frame_px (&frame, p->x) - px;
          dy = frame_py (self, &frame, shown) - py;
          distance = dx * dx + dy * dy;
          if (distance <= best)
            {
              best = distance;
              found = TRUE;
              pick->series = series->id;
              pick->index = j;
              pick->x = p->x;
              pick->y = p->y;
              pick->smoothed = shown;
            }
        }
    }
  frame_clear (&frame);
  return found;
}

char *
digit_plot_format_y (DigitPlot *self,
                     double     y)
{
  g_autofree char *number = NULL;
  double magnitude = fabs (y);

  g_return_val_if_fail (DIGIT_IS_PLOT (self), NULL);

  /* Four significant digits, in the locale's notation. */
  if (magnitude >= 1000 || magnitude == 0)
    number = g_strdup_printf ("%'.0f", y);
  else
    number = g_strdup_printf ("%.*f", MAX (0, 3 - (int) floor (log10 (magnitude))), y);
  if (self->y_unit == NULL || *self->y_unit == '\0')
    return g_steal_pointer (&number);
  if (g_strcmp0 (self->y_unit, "%") == 0)
    return g_strdup_printf ("%s %%", number);
  return g_strdup_printf ("%s %s", number, self->y_unit);
}

/* ---- GObject --------------------------------------------------------------- */

static void
digit_plot_finalize (GObject *object)
{
  DigitPlot *self = DIGIT_PLOT (object);

  g_ptr_array_unref (self->series);
  g_free (self->x_title);
  g_free (self->x_unit);
  g_free (self->y_title);
  g_free (self->y_unit);
  g_free (self->placeholder);
  pango_font_description_free (self->font);
  g_object_unref (self->pango);

  G_OBJECT_CLASS (digit_plot_parent_class)->finalize (object);
}

static void
digit_plot_class_init (DigitPlotClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = digit_plot_finalize;

  /**
   * DigitPlot::changed:
   *
   * Anything that changes the picture changed: data, looks or size of
   * text. A view redraws.
   */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
digit_plot_init (DigitPlot *self)
{
  self->series = g_ptr_array_new_with_free_func (series_free);
  self->y_scale = DIGIT_PLOT_SCALE_LINEAR;
  self->y_limit_min = -INFINITY;
  self->y_limit_max = INFINITY;
  self->legend_visible = TRUE;
  self->foreground = (GdkRGBA) { 0, 0, 0, 0.8 };
  self->font = pango_font_description_from_string (DEFAULT_FONT);
  self->pango = pango_font_map_create_context (pango_cairo_font_map_get_default ());
  pango_cairo_context_set_resolution (self->pango, 96.0);
}

DigitPlot *
digit_plot_new (void)
{
  return g_object_new (DIGIT_TYPE_PLOT, NULL);
}

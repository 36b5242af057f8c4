/* digit-plot.h — a line plot drawn with Cairo: named, coloured series of
 * (x, y) points, axes with nice ticks, titles and units, and a legend.
 *
 * DigitPlot is the plot itself, not a widget: it knows nothing of
 * training, and renders to any cairo_t, so it can be drawn into an image
 * without a display (the tests do). DigitPlotView shows one in a window.
 */
#pragma once

#include <cairo.h>
#include <gdk/gdk.h>
#include <pango/pango.h>

#include "digit-plot-axis.h"

G_BEGIN_DECLS

#define DIGIT_TYPE_PLOT (digit_plot_get_type ())
G_DECLARE_FINAL_TYPE (DigitPlot, digit_plot, DIGIT, PLOT, GObject)

typedef enum {
  DIGIT_PLOT_LINE           = 0,        /* a solid line through the points */
  DIGIT_PLOT_DASHED         = 1 << 0,   /* dashed instead of solid */
  DIGIT_PLOT_MARKERS        = 1 << 1,   /* a dot on every point */
  /* The points as a faint line, and over it an exponential moving average
   * of them, bold: noisy per-batch values and their trend at once. */
  DIGIT_PLOT_RAW_SMOOTHED   = 1 << 2,
} DigitPlotStyle;

typedef struct {
  double x;
  double y;
} DigitPlotPoint;

/* What is under the pointer (digit_plot_pick). */
typedef struct {
  guint  series;
  guint  index;      /* of the point within its series */
  double x;
  double y;          /* the point's own value (raw, not smoothed) */
  double smoothed;   /* its smoothed value, for RAW_SMOOTHED; else y */
} DigitPlotPick;

DigitPlot  *digit_plot_new                  (void);

/* ---- Series ----------------------------------------------------------- */

/* Adds a series and returns its id (never 0). @name is shown in the legend
 * and tooltips; NULL keeps it out of the legend. */
guint       digit_plot_add_series           (DigitPlot      *self,
                                             const char     *name,
                                             const GdkRGBA  *color,
                                             DigitPlotStyle  style);
void        digit_plot_remove_series        (DigitPlot      *self,
                                             guint           series);
/* Points should come in increasing x (as training produces them): long
 * series are then drawn one pixel column at a time, keeping every spike. */
void        digit_plot_append               (DigitPlot      *self,
                                             guint           series,
                                             double          x,
                                             double          y);
void        digit_plot_append_points        (DigitPlot      *self,
                                             guint           series,
                                             const DigitPlotPoint *points,
                                             guint           n_points);
void        digit_plot_clear_series         (DigitPlot      *self,
                                             guint           series);
guint       digit_plot_get_n_points         (DigitPlot      *self,
                                             guint           series);
void        digit_plot_set_series_name      (DigitPlot      *self,
                                             guint           series,
                                             const char     *name);
const char *digit_plot_get_series_name      (DigitPlot      *self,
                                             guint           series);
void        digit_plot_set_series_color     (DigitPlot      *self,
                                             guint           series,
                                             const GdkRGBA  *color);
void        digit_plot_set_series_visible   (DigitPlot      *self,
                                             guint           series,
                                             gboolean        visible);
/* For RAW_SMOOTHED: the weight of the past in the moving average, in
 * [0, 1); 0.9 (the default) averages over roughly the last ten points. */
void        digit_plot_set_series_smoothing (DigitPlot      *self,
                                             guint           series,
                                             double          weight);

/* ---- Axes and looks --------------------------------------------------- */

/* Titles with their units, e.g. ("Epoch", NULL) and ("Accuracy", "%"):
 * drawn as "Accuracy (%)". */
void        digit_plot_set_x_title          (DigitPlot      *self,
                                             const char     *title,
                                             const char     *unit);
void        digit_plot_set_y_title          (DigitPlot      *self,
                                             const char     *title,
                                             const char     *unit);
void        digit_plot_set_y_scale          (DigitPlot      *self,
                                             DigitPlotScale  scale);
/* The x range always shows at least [@min, @max] (say, 0 to the number of
 * epochs), so that it does not jump as points arrive. */
void        digit_plot_set_x_range_hint     (DigitPlot      *self,
                                             double          min,
                                             double          max);
/* The smallest x step between labels (1 for whole epochs; 0 for any). */
void        digit_plot_set_x_min_step       (DigitPlot      *self,
                                             double          step);
/* The y axis never goes beyond [@min, @max] (say, 0 to 100 %), however
 * nice the ticks would be outside. */
void        digit_plot_set_y_limits         (DigitPlot      *self,
                                             double          min,
                                             double          max);
/* Shown in the middle when no visible series has a point. */
void        digit_plot_set_placeholder      (DigitPlot      *self,
                                             const char     *text);
void        digit_plot_set_legend_visible   (DigitPlot      *self,
                                             gboolean        visible);
/* Bigger text and thicker lines, to read from the back of a classroom. */
void        digit_plot_set_large_text       (DigitPlot      *self,
                                             gboolean        large_text);
gboolean    digit_plot_get_large_text       (DigitPlot      *self);
/* The text and axis colour, and the background (transparent by default). */
void        digit_plot_set_colors           (DigitPlot      *self,
                                             const GdkRGBA  *foreground,
                                             const GdkRGBA  *background);
void        digit_plot_set_font             (DigitPlot      *self,
                                             const PangoFontDescription *font);
/* A point to mark (the one under the pointer), or series 0 for none. */
void        digit_plot_set_highlight        (DigitPlot      *self,
                                             guint           series,
                                             guint           index);

/* ---- Drawing and geometry --------------------------------------------- */

/* Draws the plot into the rectangle (0, 0, @width, @height) of @cr. */
void        digit_plot_render               (DigitPlot      *self,
                                             cairo_t        *cr,
                                             int             width,
                                             int             height);
/* Where the data area lies when rendered at @width x @height. */
void        digit_plot_get_data_area        (DigitPlot      *self,
                                             int             width,
                                             int             height,
                                             cairo_rectangle_t *area);
/* Data coordinates to device coordinates at that size; FALSE for a value
 * the axis cannot show (y <= 0 on a log scale). */
gboolean    digit_plot_data_to_pixel        (DigitPlot      *self,
                                             int             width,
                                             int             height,
                                             double          x,
                                             double          y,
                                             double         *px,
                                             double         *py);
/* The visible point nearest to (@px, @py), if one is within @radius
 * pixels. */
gboolean    digit_plot_pick                 (DigitPlot      *self,
                                             int             width,
                                             int             height,
                                             double          px,
                                             double          py,
                                             double          radius,
                                             DigitPlotPick  *pick);
/* The y value's text as the axis would write it, with the unit. */
char       *digit_plot_format_y             (DigitPlot      *self,
                                             double          y);
const char *digit_plot_get_x_title          (DigitPlot      *self);
const char *digit_plot_get_y_title          (DigitPlot      *self);

G_END_DECLS

/* digit-plot-axis.h — where a plot's axis puts its ticks, and how it
 * labels them: "nice" numbers (1, 2 and 5 times a power of ten) on linear
 * and logarithmic scales. No drawing here; DigitPlot draws. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  DIGIT_PLOT_SCALE_LINEAR,
  DIGIT_PLOT_SCALE_LOG,
} DigitPlotScale;

typedef struct {
  double   value;
  gboolean labelled;   /* a major tick, with a label; else a grid line only */
  double   step;       /* the spacing its label is written for */
} DigitPlotTick;

/* The smallest 1, 2 or 5 × 10^k that splits @range into at most
 * @max_intervals intervals (at least one interval). @range > 0. */
double  digit_plot_nice_step    (double range,
                                 int    max_intervals);

/* Ticks for [*min, *max] with at most @max_labels labels. With @expand the
 * range is widened to the ticks just outside it, so the data sits between
 * two labelled values. @min_step (0 for none) keeps the step at least that,
 * e.g. 1 for whole epochs. Returns an array of DigitPlotTick in increasing
 * order. A range of zero width is widened around its value first. */
GArray *digit_plot_linear_ticks (double  *min,
                                 double  *max,
                                 int      max_labels,
                                 double   min_step,
                                 gboolean expand);
/* The same on a logarithmic scale; both bounds must be > 0. Powers of ten
 * are labelled (every few when they are many), and 2 and 5 within them
 * when there is room; every 1..9 × 10^k gets a grid line. With @expand the bounds go out to the nearest 1, 2 or
 * 5 × 10^k. */
GArray *digit_plot_log_ticks    (double  *min,
                                 double  *max,
                                 int      max_labels,
                                 gboolean expand);

/* A tick's label in the user's locale (decimal separator, thousands
 * grouping), with as many decimals as @step needs and no "-0". */
char   *digit_plot_format_tick  (double value,
                                 double step);

G_END_DECLS

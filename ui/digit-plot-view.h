/* digit-plot-view.h — a widget that shows a DigitPlot, in the theme's
 * colours and font, with the value under the pointer as a tooltip. */
#pragma once

#include <gtk/gtk.h>

#include "digit-plot.h"

G_BEGIN_DECLS

#define DIGIT_TYPE_PLOT_VIEW (digit_plot_view_get_type ())
G_DECLARE_FINAL_TYPE (DigitPlotView, digit_plot_view, DIGIT, PLOT_VIEW, GtkWidget)

GtkWidget *digit_plot_view_new      (DigitPlot     *plot);
void       digit_plot_view_set_plot (DigitPlotView *self,
                                     DigitPlot     *plot);
DigitPlot *digit_plot_view_get_plot (DigitPlotView *self);

G_END_DECLS

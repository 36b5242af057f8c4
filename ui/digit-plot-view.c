/* digit-plot-view.c — DigitPlot on screen.
 *
 * The plot takes the widget's text colour and font, so it follows the
 * light and dark styles and the user's font size. Hovering marks the
 * nearest point and tells its values in a tooltip.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "digit-plot-view.h"

#define PICK_RADIUS 14.0

struct _DigitPlotView
{
  GtkWidget  parent_instance;

  DigitPlot *plot;
  gulong     changed_id;
  double     pointer_x, pointer_y;
  gboolean   pointer_inside;
};

G_DEFINE_FINAL_TYPE (DigitPlotView, digit_plot_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_PLOT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
on_plot_changed (DigitPlot     *plot,
                 DigitPlotView *self)
{
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
sync_style (DigitPlotView *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  const PangoFontDescription *font;
  GdkRGBA color;

  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &color);
  digit_plot_set_colors (self->plot, &color, NULL);
  font = pango_context_get_font_description (gtk_widget_get_pango_context (widget));
  if (font != NULL)
    digit_plot_set_font (self->plot, font);
}

static void
digit_plot_view_snapshot (GtkWidget   *widget,
                          GtkSnapshot *snapshot)
{
  DigitPlotView *self = DIGIT_PLOT_VIEW (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  cairo_t *cr;

  if (self->plot == NULL || width <= 0 || height <= 0)
    return;
  /* Colours and font are read here, where they are current; setting them
   * to what they already are changes nothing. */
  g_signal_handler_block (self->plot, self->changed_id);
  sync_style (self);
  g_signal_handler_unblock (self->plot, self->changed_id);

  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  digit_plot_render (self->plot, cr, width, height);
  cairo_destroy (cr);
}

static void
update_highlight (DigitPlotView *self)
{
  DigitPlotPick pick;
  GtkWidget *widget = GTK_WIDGET (self);

  if (self->plot == NULL)
    return;
  if (self->pointer_inside
      && digit_plot_pick (self->plot, gtk_widget_get_width (widget), gtk_widget_get_height (widget),
                          self->pointer_x, self->pointer_y, PICK_RADIUS, &pick))
    digit_plot_set_highlight (self->plot, pick.series, pick.index);
  else
    digit_plot_set_highlight (self->plot, 0, 0);
}

static void
on_motion (GtkEventControllerMotion *controller,
           double                    x,
           double                    y,
           DigitPlotView            *self)
{
  self->pointer_x = x;
  self->pointer_y = y;
  self->pointer_inside = TRUE;
  update_highlight (self);
}

static void
on_leave (GtkEventControllerMotion *controller,
          DigitPlotView            *self)
{
  self->pointer_inside = FALSE;
  update_highlight (self);
}

static gboolean
on_query_tooltip (GtkWidget  *widget,
                  int         x,
                  int         y,
                  gboolean    keyboard_mode,
                  GtkTooltip *tooltip,
                  gpointer    user_data)
{
  DigitPlotView *self = DIGIT_PLOT_VIEW (widget);
  DigitPlotPick pick;
  g_autofree char *value = NULL;
  g_autofree char *text = NULL;
  const char *name, *x_title, *y_title;

  if (self->plot == NULL || keyboard_mode
      || !digit_plot_pick (self->plot, gtk_widget_get_width (widget), gtk_widget_get_height (widget),
                           x, y, PICK_RADIUS, &pick))
    return FALSE;

  name = digit_plot_get_series_name (self->plot, pick.series);
  x_title = digit_plot_get_x_title (self->plot);
  y_title = digit_plot_get_y_title (self->plot);
  value = digit_plot_format_y (self->plot, pick.y);
  if (pick.smoothed != pick.y)
    {
      g_autofree char *smoothed = digit_plot_format_y (self->plot, pick.smoothed);

      /* Translators: a plot's tooltip: series name, x axis title and
       * value, y axis title, value and its moving average. */
      text = g_strdup_printf (_("<b>%s</b>\n%s %.2f\n%s %s (smoothed %s)"),
                              name != NULL ? name : "", x_title != NULL ? x_title : "x", pick.x,
                              y_title != NULL ? y_title : "y", value, smoothed);
    }
  else
    {
      /* Translators: a plot's tooltip: series name, x axis title and
       * value, y axis title and value. */
      text = g_strdup_printf (_("<b>%s</b>\n%s %.2f\n%s %s"),
                              name != NULL ? name : "", x_title != NULL ? x_title : "x", pick.x,
                              y_title != NULL ? y_title : "y", value);
    }
  gtk_tooltip_set_markup (tooltip, text);
  return TRUE;
}

static void
digit_plot_view_measure (GtkWidget      *widget,
                         GtkOrientation  orientation,
                         int             for_size,
                         int            *minimum,
                         int            *natural,
                         int            *minimum_baseline,
                         int            *natural_baseline)
{
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = 220;
      *natural = 480;
    }
  else
    {
      /* Two plots and the page around them fit the window's smallest size. */
      *minimum = 80;
      *natural = 260;
    }
}

static void
digit_plot_view_css_changed (GtkWidget         *widget,
                             GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS (digit_plot_view_parent_class)->css_changed (widget, change);
  gtk_widget_queue_draw (widget);
}

void
digit_plot_view_set_plot (DigitPlotView *self,
                          DigitPlot     *plot)
{
  g_return_if_fail (DIGIT_IS_PLOT_VIEW (self));
  g_return_if_fail (plot == NULL || DIGIT_IS_PLOT (plot));

  if (self->plot == plot)
    return;
  if (self->plot != NULL)
    g_clear_signal_handler (&self->changed_id, self->plot);
  g_set_object (&self->plot, plot);
  if (plot != NULL)
    self->changed_id = g_signal_connect (plot, "changed", G_CALLBACK (on_plot_changed), self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PLOT]);
}

DigitPlot *
digit_plot_view_get_plot (DigitPlotView *self)
{
  g_return_val_if_fail (DIGIT_IS_PLOT_VIEW (self), NULL);

  return self->plot;
}

static void
digit_plot_view_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  DigitPlotView *self = DIGIT_PLOT_VIEW (object);

  switch (prop_id)
    {
    case PROP_PLOT:
      g_value_set_object (value, self->plot);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
digit_plot_view_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  DigitPlotView *self = DIGIT_PLOT_VIEW (object);

  switch (prop_id)
    {
    case PROP_PLOT:
      digit_plot_view_set_plot (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
digit_plot_view_dispose (GObject *object)
{
  DigitPlotView *self = DIGIT_PLOT_VIEW (object);

  if (self->plot != NULL)
    g_clear_signal_handler (&self->changed_id, self->plot);
  g_clear_object (&self->plot);

  G_OBJECT_CLASS (digit_plot_view_parent_class)->dispose (object);
}

static void
digit_plot_view_class_init (DigitPlotViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = digit_plot_view_dispose;
  object_class->get_property = digit_plot_view_get_property;
  object_class->set_property = digit_plot_view_set_property;
  widget_class->snapshot = digit_plot_view_snapshot;
  widget_class->measure = digit_plot_view_measure;
  widget_class->css_changed = digit_plot_view_css_changed;

  properties[PROP_PLOT] =
    g_param_spec_object ("plot", NULL, NULL, DIGIT_TYPE_PLOT,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name (widget_class, "digitplot");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
digit_plot_view_init (DigitPlotView *self)
{
  GtkEventController *motion = gtk_event_controller_motion_new ();

  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (motion, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);
  g_signal_connect (self, "query-tooltip", G_CALLBACK (on_query_tooltip), NULL);
}

GtkWidget *
digit_plot_view_new (DigitPlot *plot)
{
  return g_object_new (DIGIT_TYPE_PLOT_VIEW, "plot", plot, NULL);
}

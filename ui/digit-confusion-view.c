/* digit-confusion-view.c — the confusion matrix, drawn with Cairo.
 *
 * Each cell is coloured by its share of the row (how often images of
 * that digit were read this way): the diagonal in the accent blue, the
 * mistakes in red on a square-root scale, so that a handful of errors
 * among a thousand still shows. The counts are written in the cells when
 * they fit, and are always in the tooltip.
 */
#include "config.h"

#include <math.h>
#include <glib/gi18n-lib.h>

#include "digit-confusion-view.h"

#define MIN_CELL     14.0     /* the smallest a cell gets */
#define TEXT_CELL    22.0     /* from this size on, cells show their counts */
#define MAX_CELL     64.0
#define GAP          2.0
#define LABEL_SPACE  28.0
#define TITLE_SPACE  22.0

struct _DigitConfusionView
{
  GtkWidget        parent_instance;

  DigitEvaluation *evaluation;
  char           **class_names;
  int              hover_truth, hover_predicted;      /* -1: none */
  int              cursor_truth, cursor_predicted;    /* the keyboard's cell */
};

G_DEFINE_FINAL_TYPE (DigitConfusionView, digit_confusion_view, GTK_TYPE_WIDGET)

enum {
  CELL_ACTIVATED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

typedef struct {
  double x0, y0;     /* the top-left of cell (0, 0) */
  double cell;       /* side of a cell, gap included */
} Grid;

static void
compute_grid (DigitConfusionView *self,
              Grid               *grid)
{
  double width = gtk_widget_get_width (GTK_WIDGET (self));
  double height = gtk_widget_get_height (GTK_WIDGET (self));
  double left = TITLE_SPACE + LABEL_SPACE, top = TITLE_SPACE + LABEL_SPACE;
  double side;

  grid->cell = floor (MIN ((width - left) / NN_CLASSES, (height - top) / NN_CLASSES));
  grid->cell = CLAMP (grid->cell, 4.0, MAX_CELL);
  side = grid->cell * NN_CLASSES;
  /* Centred as a whole, labels included. */
  grid->x0 = floor ((width - side - left) / 2.0) + left;
  grid->y0 = floor ((height - side - top) / 2.0) + top;
}

static gboolean
cell_at (DigitConfusionView *self,
         double              x,
         double              y,
         int                *truth,
         int                *predicted)
{
  Grid grid;
  int column, row;

  compute_grid (self, &grid);
  column = (int) floor ((x - grid.x0) / grid.cell);
  row = (int) floor ((y - grid.y0) / grid.cell);
  if (column < 0 || row < 0 || column >= NN_CLASSES || row >= NN_CLASSES)
    return FALSE;
  *truth = row;
  *predicted = column;
  return TRUE;
}

static guint
row_total (DigitEvaluation *evaluation,
           guint            truth)
{
  guint total = 0;

  for (guint p = 0; p < NN_CLASSES; p++)
    total += digit_evaluation_get_count (evaluation, truth, p);
  return total;
}

static char *
class_name (DigitConfusionView *self,
            guint               index)
{
  if (self->class_names != NULL && index < g_strv_length (self->class_names))
    /* Translators: a class number and its name, e.g. "9 (ankle boot)". */
    return g_strdup_printf (_("%u (%s)"), index, self->class_names[index]);
  return g_strdup_printf ("%u", index);
}

/* ---- Drawing ---------------------------------------------------------------- */

static void
show_centred (cairo_t     *cr,
              PangoLayout *layout,
              const char  *text,
              double       x,
              double       y)
{
  int w, h;

  pango_layout_set_text (layout, text, -1);
  pango_layout_get_pixel_size (layout, &w, &h);
  cairo_move_to (cr, round (x - w / 2.0), round (y - h / 2.0));
  pango_cairo_show_layout (cr, layout);
}

static void
digit_confusion_view_snapshot (GtkWidget   *widget,
                               GtkSnapshot *snapshot)
{
  DigitConfusionView *self = DIGIT_CONFUSION_VIEW (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  g_autoptr(PangoLayout) layout = gtk_widget_create_pango_layout (widget, NULL);
  g_autoptr(PangoLayout) small = gtk_widget_create_pango_layout (widget, NULL);
  g_autoptr(PangoFontDescription) small_font = NULL;
  GdkRGBA fg, accent = { 0.208, 0.518, 0.894, 1 }, mistake = { 0.878, 0.106, 0.141, 1 };
  Grid grid;
  cairo_t *cr;

  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);
  compute_grid (self, &grid);
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));

  /* Titles: what the columns and the rows are. */
  cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, fg.alpha * 0.7);
  show_centred (cr, layout, _("Read as"), grid.x0 + grid.cell * NN_CLASSES / 2.0,
                grid.y0 - LABEL_SPACE - TITLE_SPACE / 2.0);
  cairo_save (cr);
  cairo_translate (cr, grid.x0 - LABEL_SPACE - TITLE_SPACE / 2.0, grid.y0 + grid.cell * NN_CLASSES / 2.0);
  cairo_rotate (cr, -G_PI / 2);
  show_centred (cr, layout, _("True digit"), 0, 0);
  cairo_restore (cr);

  /* Row and column labels. */
  cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, fg.alpha);
  for (guint i = 0; i < NN_CLASSES; i++)
    {
      char text[4];

      g_snprintf (text, sizeof text, "%u", i);
      show_centred (cr, layout, text, grid.x0 + (i + 0.5) * grid.cell, grid.y0 - LABEL_SPACE / 2.0);
      show_centred (cr, layout, text, grid.x0 - LABEL_SPACE / 2.0, grid.y0 + (i + 0.5) * grid.cell);
    }

  /* The cells. */
  small_font = pango_font_description_copy (pango_context_get_font_description (pango_layout_get_context (small)));
  pango_font_description_set_absolute_size (small_font, MAX (6.0, grid.cell * 0.3) * PANGO_SCALE);
  pango_font_description_set_weight (small_font, PANGO_WEIGHT_SEMIBOLD);
  pango_layout_set_font_description (small, small_font);
  for (guint t = 0; t < NN_CLASSES; t++)
    {
      guint total = self->evaluation != NULL ? row_total (self->evaluation, t) : 0;

      for (guint p = 0; p < NN_CLASSES; p++)
        {
          guint count = self->evaluation != NULL ? digit_evaluation_get_count (self->evaluation, t, p) : 0;
          double share = total > 0 ? (double) count / total : 0.0;
          double x = grid.x0 + p * grid.cell, y = grid.y0 + t * grid.cell;
          double side = grid.cell - GAP;
          const GdkRGBA *hue = t == p ? &accent : &mistake;
          double strength;

          /* Diagonal shares run from 0.9 to 1 in a good model; mistakes
           * from 0 to a few percent. */
          strength = t == p ? 0.15 + 0.85 * share : (count > 0 ? MIN (1.0, 0.12 + 2.5 * sqrt (share)) : 0.0);
          cairo_rectangle (cr, x, y, side, side);
          if (strength > 0)
            cairo_set_source_rgba (cr, hue->red, hue->green, hue->blue, strength);
          else
            cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.04);
          cairo_fill (cr);

          if (count > 0 && grid.cell >= TEXT_CELL)
            {
              char text[16];

              g_snprintf (text, sizeof text, "%u", count);
              if (strength > 0.55)
                cairo_set_source_rgb (cr, 1, 1, 1);
              else
                cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, fg.alpha * 0.85);
              show_centred (cr, small, text, x + side / 2.0, y + side / 2.0);
            }
        }
    }

  /* The cell under the pointer, and the keyboard's when focused. */
  cairo_set_line_width (cr, 2.0);
  if (self->hover_truth >= 0)
    {
      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.8);
      cairo_rectangle (cr, grid.x0 + self->hover_predicted * grid.cell + 1,
                       grid.y0 + self->hover_truth * grid.cell + 1, grid.cell - GAP - 2, grid.cell - GAP - 2);
      cairo_stroke (cr);
    }
  if (gtk_widget_has_visible_focus (widget))
    {
      const double dashes[] = { 3.0, 2.0 };

      cairo_set_dash (cr, dashes, G_N_ELEMENTS (dashes), 0);
      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 1.0);
      cairo_rectangle (cr, grid.x0 + self->cursor_predicted * grid.cell - 1,
                       grid.y0 + self->cursor_truth * grid.cell - 1, grid.cell - GAP + 2, grid.cell - GAP + 2);
      cairo_stroke (cr);
    }
  cairo_destroy (cr);
}

static void
digit_confusion_view_measure (GtkWidget      *widget,
                              GtkOrientation  orientation,
                              int             for_size,
                              int            *minimum,
                              int            *natural,
                              int            *minimum_baseline,
                              int            *natural_baseline)
{
  *minimum = (int) (TITLE_SPACE + LABEL_SPACE + NN_CLASSES * MIN_CELL);
  *natural = (int) (TITLE_SPACE + LABEL_SPACE + NN_CLASSES * 44);
}

/* ---- Interaction ---------------------------------------------------------------- */

static void
set_hover (DigitConfusionView *self,
           int                 truth,
           int                 predicted)
{
  if (self->hover_truth == truth && self->hover_predicted == predicted)
    return;
  self->hover_truth = truth;
  self->hover_predicted = predicted;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_motion (GtkEventControllerMotion *controller,
           double                    x,
           double                    y,
           DigitConfusionView       *self)
{
  int truth, predicted;

  if (cell_at (self, x, y, &truth, &predicted))
    set_hover (self, truth, predicted);
  else
    set_hover (self, -1, -1);
}

static void
on_leave (GtkEventControllerMotion *controller,
          DigitConfusionView       *self)
{
  set_hover (self, -1, -1);
}

static void
activate_cell (DigitConfusionView *self,
               int                 truth,
               int                 predicted)
{
  if (self->evaluation == NULL || digit_evaluation_get_count (self->evaluation, truth, predicted) == 0)
    {
      gtk_widget_error_bell (GTK_WIDGET (self));
      return;
    }
  g_signal_emit (self, signals[CELL_ACTIVATED], 0, (guint) truth, (guint) predicted);
}

static void
on_released (GtkGestureClick    *gesture,
             int                 n_press,
             double              x,
             double              y,
             DigitConfusionView *self)
{
  int truth, predicted;

  if (!cell_at (self, x, y, &truth, &predicted))
    return;
  self->cursor_truth = truth;
  self->cursor_predicted = predicted;
  gtk_widget_grab_focus (GTK_WIDGET (self));
  activate_cell (self, truth, predicted);
}

static gboolean
on_key_pressed (GtkEventControllerKey *controller,
                guint                  keyval,
                guint                  keycode,
                GdkModifierType        state,
                DigitConfusionView    *self)
{
  int dt = 0, dp = 0;

  switch (keyval)
    {
    case GDK_KEY_Up:
    case GDK_KEY_KP_Up:
      dt = -1;
      break;
    case GDK_KEY_Down:
    case GDK_KEY_KP_Down:
      dt = 1;
      break;
    case GDK_KEY_Left:
    case GDK_KEY_KP_Left:
      dp = -1;
      break;
    case GDK_KEY_Right:
    case GDK_KEY_KP_Right:
      dp = 1;
      break;
    case GDK_KEY_Return:
    case GDK_KEY_KP_Enter:
    case GDK_KEY_space:
      activate_cell (self, self->cursor_truth, self->cursor_predicted);
      return TRUE;
    default:
      return FALSE;
    }
  self->cursor_truth = CLAMP (self->cursor_truth + dt, 0, NN_CLASSES - 1);
  self->cursor_predicted = CLAMP (self->cursor_predicted + dp, 0, NN_CLASSES - 1);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  return TRUE;
}

static char *
describe_cell (DigitConfusionView *self,
               guint               truth,
               guint               predicted)
{
  guint count = digit_evaluation_get_count (self->evaluation, truth, predicted);
  guint total = row_total (self->evaluation, truth);
  g_autofree char *truth_name = class_name (self, truth);
  g_autofree char *predicted_name = class_name (self, predicted);
  double percent = total > 0 ? 100.0 * count / total : 0.0;

  if (truth == predicted)
    /* Translators: a confusion matrix cell: "7 read right: 1,010 of 1,028
     * images (98.2%)". */
    return g_strdup_printf (_("%s read right: %'u of %'u images (%.1f%%)"),
                            truth_name, count, total, percent);
  /* Translators: a confusion matrix cell: "4 read as 9: 12 of 982 images
   * (1.2%)". */
  return g_strdup_printf (_("%s read as %s: %'u of %'u images (%.1f%%)"),
                          truth_name, predicted_name, count, total, percent);
}

static gboolean
on_query_tooltip (GtkWidget  *widget,
                  int         x,
                  int         y,
                  gboolean    keyboard_mode,
                  GtkTooltip *tooltip,
                  gpointer    user_data)
{
  DigitConfusionView *self = DIGIT_CONFUSION_VIEW (widget);
  g_autofree char *text = NULL;
  int truth, predicted;

  if (self->evaluation == NULL)
    return FALSE;
  if (keyboard_mode)
    {
      truth = self->cursor_truth;
      predicted = self->cursor_predicted;
    }
  else if (!cell_at (self, x, y, &truth, &predicted))
    {
      return FALSE;
    }
  text = describe_cell (self, truth, predicted);
  if (digit_evaluation_get_count (self->evaluation, truth, predicted) > 0)
    {
      g_autofree char *with_hint = g_strdup_printf ("%s\n<small>%s</small>", text,
                                                    _("Click to see these images"));

      gtk_tooltip_set_markup (tooltip, with_hint);
    }
  else
    {
      gtk_tooltip_set_text (tooltip, text);
    }
  return TRUE;
}

/* For screen readers: the accuracy and the most common mistake. */
static void
update_description (DigitConfusionView *self)
{
  g_autofree char *description = NULL;
  guint worst_count = 0, worst_truth = 0, worst_predicted = 0;

  if (self->evaluation == NULL)
    {
      gtk_accessible_reset_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION);
      return;
    }
  for (guint t = 0; t < NN_CLASSES; t++)
    for (guint p = 0; p < NN_CLASSES; p++)
      if (t != p && digit_evaluation_get_count (self->evaluation, t, p) > worst_count)
        {
          worst_count = digit_evaluation_get_count (self->evaluation, t, p);
          worst_truth = t;
          worst_predicted = p;
        }
  if (worst_count > 0)
    {
      g_autofree char *worst = describe_cell (self, worst_truth, worst_predicted);

      /* Translators: %.2f%% is the test accuracy, %s the most frequent
       * mistake as a cell describes it. */
      description = g_strdup_printf (_("%.2f%% read right. Most frequent mistake: %s"),
                                     100.0 * digit_evaluation_get_accuracy (self->evaluation), worst);
    }
  else
    {
      description = g_strdup_printf (_("%.2f%% read right."),
                                     100.0 * digit_evaluation_get_accuracy (self->evaluation));
    }
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, description, -1);
}

void
digit_confusion_view_set_evaluation (DigitConfusionView *self,
                                     DigitEvaluation    *evaluation)
{
  g_return_if_fail (DIGIT_IS_CONFUSION_VIEW (self));

  if (self->evaluation == evaluation)
    return;
  g_clear_pointer (&self->evaluation, digit_evaluation_unref);
  if (evaluation != NULL)
    self->evaluation = digit_evaluation_ref (evaluation);
  update_description (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
digit_confusion_view_set_class_names (DigitConfusionView *self,
                                      const char * const *names)
{
  g_return_if_fail (DIGIT_IS_CONFUSION_VIEW (self));

  g_strfreev (self->class_names);
  self->class_names = g_strdupv ((char **) names);
  update_description (self);
}

static void
on_focus_changed (DigitConfusionView *self)
{
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
digit_confusion_view_dispose (GObject *object)
{
  DigitConfusionView *self = DIGIT_CONFUSION_VIEW (object);

  g_clear_pointer (&self->evaluation, digit_evaluation_unref);
  g_clear_pointer (&self->class_names, g_strfreev);

  G_OBJECT_CLASS (digit_confusion_view_parent_class)->dispose (object);
}

static void
digit_confusion_view_class_init (DigitConfusionViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = digit_confusion_view_dispose;
  widget_class->snapshot = digit_confusion_view_snapshot;
  widget_class->measure = digit_confusion_view_measure;

  /**
   * DigitConfusionView::cell-activated:
   * @truth: the row: what the images are
   * @predicted: the column: what they were read as
   */
  signals[CELL_ACTIVATED] = g_signal_new ("cell-activated", G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                          G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_UINT);

  gtk_widget_class_set_css_name (widget_class, "digitconfusion");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
digit_confusion_view_init (DigitConfusionView *self)
{
  GtkEventController *motion = gtk_event_controller_motion_new ();
  GtkGesture *click = gtk_gesture_click_new ();
  GtkEventController *keys = gtk_event_controller_key_new ();
  GtkEventController *focus = gtk_event_controller_focus_new ();

  self->hover_truth = self->hover_predicted = -1;

  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (motion, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);
  g_signal_connect (click, "released", G_CALLBACK (on_released), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));
  g_signal_connect (keys, "key-pressed", G_CALLBACK (on_key_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), keys);
  g_signal_connect_swapped (focus, "enter", G_CALLBACK (on_focus_changed), self);
  g_signal_connect_swapped (focus, "leave", G_CALLBACK (on_focus_changed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), focus);

  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);
  g_signal_connect (self, "query-tooltip", G_CALLBACK (on_query_tooltip), NULL);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Confusion matrix"), -1);
}

GtkWidget *
digit_confusion_view_new (void)
{
  return g_object_new (DIGIT_TYPE_CONFUSION_VIEW, NULL);
}

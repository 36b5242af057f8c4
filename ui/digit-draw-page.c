/* digit-draw-page.c — live recognition of what is being drawn.
 *
 * While the pen moves, the drawing is recognised at most every
 * LIVE_INTERVAL_US: a prediction is made at once if the last one is old
 * enough, otherwise a timeout coalesces everything drawn meanwhile into
 * one prediction when the interval is up. A batch-1 forward pass takes
 * about a millisecond, so this runs on the main thread without ever falling
 * behind the pen. Lifting the pen gives one more, final, prediction.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "digit-canvas.h"
#include "digit-draw-page.h"
#include "digit-event-log.h"
#include "digit-prediction-view.h"
#include "digit-preview.h"

/* About thirty predictions per second while drawing. */
#define LIVE_INTERVAL_US (33 * G_TIME_SPAN_MILLISECOND)

struct _DigitDrawPage
{
  AdwBin               parent_instance;

  DigitCanvas         *canvas;
  GtkWidget           *hint;
  GtkAdjustment       *pen_adjustment;
  DigitPredictionView *prediction_view;
  DigitPreview        *preview;

  NnModel             *model;          /* borrowed */
  char                *no_model_reason;

  guint                live_source;
  gboolean             pending_final;
  gint64               last_prediction_us;
};

G_DEFINE_FINAL_TYPE (DigitDrawPage, digit_draw_page, ADW_TYPE_BIN)

static void
show_no_prediction (DigitDrawPage *self)
{
  if (self->model != NULL)
    digit_prediction_view_clear (self->prediction_view);
  else
    digit_prediction_view_set_unavailable (self->prediction_view, self->no_model_reason);
}

static void
predict (DigitDrawPage *self,
         gboolean       final)
{
  const NnDrawing *drawing = digit_canvas_get_drawing (self->canvas);
  float image[NN_IMAGE_PIXELS];
  float probabilities[NN_CLASSES];
  g_autoptr(GError) error = NULL;

  g_clear_handle_id (&self->live_source, g_source_remove);
  self->pending_final = FALSE;
  self->last_prediction_us = g_get_monotonic_time ();

  /* Ink drawn entirely off the canvas leaves nothing to recognise either. */
  if (nn_drawing_is_empty (drawing) || !nn_drawing_to_image (drawing, image, &error))
    {
      if (error != NULL && !g_error_matches (error, NN_ERROR, NN_ERROR_EMPTY_DRAWING))
        g_debug ("Could not prepare the drawing: %s", error->message);
      digit_preview_set_image (self->preview, NULL);
      show_no_prediction (self);
      return;
    }

  digit_preview_set_image (self->preview, image);
  if (self->model == NULL)
    {
      show_no_prediction (self);
      return;
    }
  nn_model_predict (self->model, image, 1, probabilities);
  digit_prediction_view_set_probabilities (self->prediction_view, probabilities);
  /* What was recognised, so that a test can replay it through the CLI. */
  if (final)
    digit_event_log_drawing (drawing);
  digit_event_log_prediction (probabilities, final,
                              digit_canvas_get_n_strokes (self->canvas));
}

static gboolean
on_live_timeout (gpointer user_data)
{
  DigitDrawPage *self = user_data;

  self->live_source = 0;
  predict (self, self->pending_final);
  return G_SOURCE_REMOVE;
}

static void
schedule_prediction (DigitDrawPage *self,
                     gboolean       final)
{
  gint64 wait_us;

  self->pending_final |= final;
  if (self->live_source != 0)
    return;
  wait_us = self->last_prediction_us + LIVE_INTERVAL_US - g_get_monotonic_time ();
  if (wait_us <= 0)
    predict (self, self->pending_final);
  else
    self->live_source = g_timeout_add_full (G_PRIORITY_DEFAULT,
                                            (guint) ((wait_us + 999) / 1000),
                                            on_live_timeout, self, NULL);
}

static void
on_ink_changed (DigitCanvas   *canvas,
                DigitDrawPage *self)
{
  schedule_prediction (self, FALSE);
}

static void
on_stroke_finished (DigitCanvas   *canvas,
                    DigitDrawPage *self)
{
  predict (self, TRUE);
}

static void
on_pen_scale_changed (DigitCanvas   *canvas,
                      GParamSpec    *pspec,
                      DigitDrawPage *self)
{
  /* A thicker pen changes the raster, and so the prediction. The drawing
   * itself is at rest, hence "final". */
  if (!digit_canvas_is_empty (canvas))
    schedule_prediction (self, TRUE);
}

static void
update_actions (DigitDrawPage *self)
{
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "drawing.undo",
                                 digit_canvas_can_undo (self->canvas));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "drawing.redo",
                                 digit_canvas_can_redo (self->canvas));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "drawing.clear",
                                 !digit_canvas_is_empty (self->canvas));
  gtk_widget_set_visible (self->hint, digit_canvas_is_empty (self->canvas));
}

static void
on_canvas_state_changed (DigitCanvas   *canvas,
                         GParamSpec    *pspec,
                         DigitDrawPage *self)
{
  update_actions (self);
}

static void
on_canvas_area_changed (DigitCanvas   *canvas,
                        DigitDrawPage *self)
{
  GdkRectangle area;

  if (digit_canvas_get_surface_area (canvas, &area))
    digit_event_log_ready (area.x, area.y, area.width, area.height,
                           gtk_widget_get_scale_factor (GTK_WIDGET (canvas)));
}

static void
clear_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  DigitDrawPage *self = DIGIT_DRAW_PAGE (widget);

  if (!digit_canvas_clear (self->canvas))
    return;
  digit_event_log_cleared ();
  predict (self, TRUE);
}

static void
undo_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  DigitDrawPage *self = DIGIT_DRAW_PAGE (widget);

  if (!digit_canvas_undo (self->canvas))
    return;
  digit_event_log_history ("undo", digit_canvas_get_n_strokes (self->canvas));
  predict (self, TRUE);
}

static void
redo_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  DigitDrawPage *self = DIGIT_DRAW_PAGE (widget);

  if (!digit_canvas_redo (self->canvas))
    return;
  digit_event_log_history ("redo", digit_canvas_get_n_strokes (self->canvas));
  predict (self, TRUE);
}

/* The drawing shortcuts work wherever the focus is in the window, but only
 * while this page is shown (GTK skips shortcuts of unmapped widgets). */
static void
add_shortcuts (DigitDrawPage *self)
{
  static const struct {
    const char *trigger;
    const char *action;
  } shortcuts[] = {
    { "Delete", "drawing.clear" },
    { "Escape", "drawing.clear" },
    { "<Control>z", "drawing.undo" },
    { "<Shift><Control>z", "drawing.redo" },
    { "<Control>y", "drawing.redo" },
  };
  GtkEventController *controller = gtk_shortcut_controller_new ();

  gtk_shortcut_controller_set_scope (GTK_SHORTCUT_CONTROLLER (controller),
                                     GTK_SHORTCUT_SCOPE_MANAGED);
  for (guint i = 0; i < G_N_ELEMENTS (shortcuts); i++)
    gtk_shortcut_controller_add_shortcut (GTK_SHORTCUT_CONTROLLER (controller),
                                          gtk_shortcut_new (gtk_shortcut_trigger_parse_string (shortcuts[i].trigger),
                                                            gtk_named_action_new (shortcuts[i].action)));
  gtk_widget_add_controller (GTK_WIDGET (self), controller);
}

static void
digit_draw_page_dispose (GObject *object)
{
  DigitDrawPage *self = DIGIT_DRAW_PAGE (object);

  g_clear_handle_id (&self->live_source, g_source_remove);
  self->model = NULL;

  G_OBJECT_CLASS (digit_draw_page_parent_class)->dispose (object);
}

static void
digit_draw_page_finalize (GObject *object)
{
  DigitDrawPage *self = DIGIT_DRAW_PAGE (object);

  g_free (self->no_model_reason);

  G_OBJECT_CLASS (digit_draw_page_parent_class)->finalize (object);
}

static void
digit_draw_page_class_init (DigitDrawPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = digit_draw_page_dispose;
  object_class->finalize = digit_draw_page_finalize;

  g_type_ensure (DIGIT_TYPE_CANVAS);
  g_type_ensure (DIGIT_TYPE_PREDICTION_VIEW);
  g_type_ensure (DIGIT_TYPE_PREVIEW);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/digitlab/DigitLab/digit-draw-page.ui");
  gtk_widget_class_bind_template_child (widget_class, DigitDrawPage, canvas);
  gtk_widget_class_bind_template_child (widget_class, DigitDrawPage, hint);
  gtk_widget_class_bind_template_child (widget_class, DigitDrawPage, pen_adjustment);
  gtk_widget_class_bind_template_child (widget_class, DigitDrawPage, prediction_view);
  gtk_widget_class_bind_template_child (widget_class, DigitDrawPage, preview);

  gtk_widget_class_install_action (widget_class, "drawing.clear", NULL, clear_action);
  gtk_widget_class_install_action (widget_class, "drawing.undo", NULL, undo_action);
  gtk_widget_class_install_action (widget_class, "drawing.redo", NULL, redo_action);
}

static void
digit_draw_page_init (DigitDrawPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->no_model_reason = g_strdup ("");

  g_signal_connect (self->canvas, "ink-changed", G_CALLBACK (on_ink_changed), self);
  g_signal_connect (self->canvas, "stroke-finished", G_CALLBACK (on_stroke_finished), self);
  g_signal_connect (self->canvas, "area-changed", G_CALLBACK (on_canvas_area_changed), self);
  g_signal_connect (self->canvas, "notify::empty", G_CALLBACK (on_canvas_state_changed), self);
  g_signal_connect (self->canvas, "notify::can-undo", G_CALLBACK (on_canvas_state_changed), self);
  g_signal_connect (self->canvas, "notify::can-redo", G_CALLBACK (on_canvas_state_changed), self);
  g_signal_connect (self->canvas, "notify::pen-scale", G_CALLBACK (on_pen_scale_changed), self);
  g_object_bind_property (self->pen_adjustment, "value",
                          self->canvas, "pen-scale",
                          G_BINDING_SYNC_CREATE);

  add_shortcuts (self);
  update_actions (self);
}

GtkWidget *
digit_draw_page_new (void)
{
  return g_object_new (DIGIT_TYPE_DRAW_PAGE, NULL);
}

void
digit_draw_page_set_model (DigitDrawPage *self,
                           NnModel       *model,
                           const char    *why)
{
  g_return_if_fail (DIGIT_IS_DRAW_PAGE (self));

  self->model = model;
  g_free (self->no_model_reason);
  self->no_model_reason = g_strdup (why != NULL ? why : "");
  /* A new model may read the same drawing differently. */
  predict (self, TRUE);
}

GtkAdjustment *
digit_draw_page_get_pen_adjustment (DigitDrawPage *self)
{
  g_return_val_if_fail (DIGIT_IS_DRAW_PAGE (self), NULL);

  return self->pen_adjustment;
}

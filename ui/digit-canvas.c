/* digit-canvas.c — drawing digits with the pointer, painted by the engine.
 *
 * Input: a drag gesture draws with the mouse, a touchpad or a finger; a
 * stylus gesture draws with a tablet's pen, taking every position the
 * tablet reported. Pen events reach both gestures, so the drag gesture
 * leaves events with a device tool alone, and a stroke belongs to the
 * gesture that began it: nothing is drawn twice.
 *
 * Coordinates: the drawing lives in a fixed square of
 * DIGIT_CANVAS_LOGICAL_SIZE logical pixels, and the widget maps it onto the
 * largest centred square it has. Resizing the window then only changes the
 * mapping: strokes keep their shape, the pen keeps its width relative to
 * the canvas, and the raster the network sees is the same at any window
 * size, so a drawing is recognised the same way whatever the zoom.
 */
#include "config.h"

#include <math.h>
#include <glib/gi18n-lib.h>

#include "digit-canvas.h"

/* Limits for the pen scale, matching the settings schema's range. */
#define PEN_SCALE_MIN 0.5
#define PEN_SCALE_MAX 2.0

struct _DigitCanvas
{
  GtkWidget  parent_instance;

  NnDrawing *drawing;
  double     pen_scale;

  /* Where the current drag started, in widget coordinates. */
  double      drag_start_x;
  double      drag_start_y;
  /* The gesture drawing the current stroke; NULL between strokes. */
  GtkGesture *stroke_gesture;

  /* What was last notified, so that notifications fire on change only. */
  gboolean   was_empty;
  gboolean   could_undo;
  gboolean   could_redo;

  /* The area last announced with ::area-changed, in surface coordinates. */
  GdkRectangle   announced_area;
  GdkFrameClock *frame_clock;
  gulong         after_paint_id;
};

G_DEFINE_FINAL_TYPE (DigitCanvas, digit_canvas, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_EMPTY,
  PROP_CAN_UNDO,
  PROP_CAN_REDO,
  PROP_PEN_SCALE,
  N_PROPS
};

enum {
  INK_CHANGED,
  STROKE_FINISHED,
  AREA_CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* The drawing square inside the widget: its side and top-left corner. */
static void
get_square (DigitCanvas *self,
            double      *side,
            double      *x,
            double      *y)
{
  double width = gtk_widget_get_width (GTK_WIDGET (self));
  double height = gtk_widget_get_height (GTK_WIDGET (self));

  *side = MIN (width, height);
  *x = (width - *side) / 2.0;
  *y = (height - *side) / 2.0;
}

static void
widget_to_drawing (DigitCanvas *self,
                   double       widget_x,
                   double       widget_y,
                   float       *drawing_x,
                   float       *drawing_y)
{
  double side, x0, y0, scale;

  get_square (self, &side, &x0, &y0);
  scale = side > 0 ? DIGIT_CANVAS_LOGICAL_SIZE / side : 1.0;
  *drawing_x = (float) ((widget_x - x0) * scale);
  *drawing_y = (float) ((widget_y - y0) * scale);
}

static void
update_state (DigitCanvas *self)
{
  gboolean empty = nn_drawing_is_empty (self->drawing);
  gboolean can_undo = nn_drawing_can_undo (self->drawing);
  gboolean can_redo = nn_drawing_can_redo (self->drawing);

  if (empty != self->was_empty)
    {
      self->was_empty = empty;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EMPTY]);
    }
  if (can_undo != self->could_undo)
    {
      self->could_undo = can_undo;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CAN_UNDO]);
    }
  if (can_redo != self->could_redo)
    {
      self->could_redo = can_redo;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CAN_REDO]);
    }
}

static void
extend_stroke (DigitCanvas *self,
               double       widget_x,
               double       widget_y)
{
  float x, y;

  widget_to_drawing (self, widget_x, widget_y, &x, &y);
  nn_drawing_extend_stroke (self->drawing, x, y);
}

/* GTK merges the motion events that arrive within one frame; their
 * positions are kept in the event's history. Adding them too keeps a fast
 * flick's curve as the hand drew it instead of a straight chord. */
static void
extend_stroke_with_history (DigitCanvas *self,
                            GdkEvent    *event)
{
  GtkNative *native;
  GdkTimeCoord *history;
  guint n_history = 0;
  double surface_x, surface_y;

  if (event == NULL || gdk_event_get_event_type (event) != GDK_MOTION_NOTIFY)
    return;
  native = gtk_widget_get_native (GTK_WIDGET (self));
  if (native == NULL)
    return;
  history = gdk_event_get_history (event, &n_history);
  if (history == NULL)
    return;

  gtk_native_get_surface_transform (native, &surface_x, &surface_y);
  for (guint i = 0; i < n_history; i++)
    {
      graphene_point_t in_native, in_widget;

      if ((history[i].flags & (GDK_AXIS_FLAG_X | GDK_AXIS_FLAG_Y)) !=
          (GDK_AXIS_FLAG_X | GDK_AXIS_FLAG_Y))
        continue;
      in_native = GRAPHENE_POINT_INIT (history[i].axes[GDK_AXIS_X] - surface_x,
                                       history[i].axes[GDK_AXIS_Y] - surface_y);
      if (gtk_widget_compute_point (GTK_WIDGET (native), GTK_WIDGET (self),
                                    &in_native, &in_widget))
        extend_stroke (self, in_widget.x, in_widget.y);
    }
  g_free (history);
}

/* One stroke at a time: a second device coming down while one draws is
 * ignored until the first lifts. */
static gboolean
begin_stroke (DigitCanvas *self,
              GtkGesture  *gesture,
              double       widget_x,
              double       widget_y)
{
  float x, y;

  if (self->stroke_gesture != NULL)
    return FALSE;
  self->stroke_gesture = gesture;

  widget_to_drawing (self, widget_x, widget_y, &x, &y);
  nn_drawing_begin_stroke (self->drawing, x, y);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  update_state (self);
  g_signal_emit (self, signals[INK_CHANGED], 0);
  return TRUE;
}

/* A pen's events carry its device tool; they are the stylus gesture's. */
static gboolean
is_tool_event (GtkGesture *gesture)
{
  GdkEvent *event = gtk_event_controller_get_current_event (GTK_EVENT_CONTROLLER (gesture));

  return event != NULL && gdk_event_get_device_tool (event) != NULL;
}

static void
on_drag_begin (GtkGestureDrag *gesture,
               double          start_x,
               double          start_y,
               DigitCanvas    *self)
{
  if (is_tool_event (GTK_GESTURE (gesture)))
    return;
  if (!begin_stroke (self, GTK_GESTURE (gesture), start_x, start_y))
    return;
  self->drag_start_x = start_x;
  self->drag_start_y = start_y;
}

static void
on_drag_update (GtkGestureDrag *gesture,
                double          offset_x,
                double          offset_y,
                DigitCanvas    *self)
{
  if (self->stroke_gesture != GTK_GESTURE (gesture))
    return;
  extend_stroke_with_history (self,
                              gtk_event_controller_get_current_event (GTK_EVENT_CONTROLLER (gesture)));
  extend_stroke (self, self->drag_start_x + offset_x, self->drag_start_y + offset_y);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_signal_emit (self, signals[INK_CHANGED], 0);
}

static void
finish_stroke (DigitCanvas *self)
{
  if (self->stroke_gesture == NULL)
    return;
  self->stroke_gesture = NULL;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_signal_emit (self, signals[STROKE_FINISHED], 0);
}

static void
on_drag_end (GtkGestureDrag *gesture,
             double          offset_x,
             double          offset_y,
             DigitCanvas    *self)
{
  if (self->stroke_gesture != GTK_GESTURE (gesture))
    return;
  extend_stroke (self, self->drag_start_x + offset_x, self->drag_start_y + offset_y);
  finish_stroke (self);
}

/* A grab elsewhere or a touch sequence taken over: keep what was drawn. */
static void
on_gesture_cancel (GtkGesture       *gesture,
                   GdkEventSequence *sequence,
                   DigitCanvas      *self)
{
  if (self->stroke_gesture == gesture)
    finish_stroke (self);
}

/* Whether the press or release at hand is the pen's tip: the stylus
 * gesture reports the pen's side buttons as presses and releases too. */
static gboolean
is_tip_event (GtkGestureStylus *gesture)
{
  GdkEvent *event = gtk_event_controller_get_current_event (GTK_EVENT_CONTROLLER (gesture));
  GdkEventType type;

  if (event == NULL)
    return FALSE;
  type = gdk_event_get_event_type (event);
  return (type == GDK_BUTTON_PRESS || type == GDK_BUTTON_RELEASE) &&
         gdk_button_event_get_button (event) == GDK_BUTTON_PRIMARY;
}

static void
on_stylus_down (GtkGestureStylus *gesture,
                double            x,
                double            y,
                DigitCanvas      *self)
{
  GdkDeviceTool *tool = gtk_gesture_stylus_get_device_tool (gesture);

  /* The eraser end would draw ink where the hand means to rub it out. */
  if (tool != NULL && gdk_device_tool_get_tool_type (tool) == GDK_DEVICE_TOOL_TYPE_ERASER)
    return;
  if (!is_tip_event (gesture))
    return;
  begin_stroke (self, GTK_GESTURE (gesture), x, y);
}

/* A tablet reports positions far more often than the screen refreshes, and
 * GTK merges those within a frame into one event; the backlog holds the
 * merged ones, in widget coordinates, so the stroke gets every one. */
static void
on_stylus_motion (GtkGestureStylus *gesture,
                  double            x,
                  double            y,
                  DigitCanvas      *self)
{
  GdkTimeCoord *backlog = NULL;
  guint n_backlog = 0;

  if (self->stroke_gesture != GTK_GESTURE (gesture))
    return;
  if (gtk_gesture_stylus_get_backlog (gesture, &backlog, &n_backlog))
    {
      for (guint i = 0; i < n_backlog; i++)
        if ((backlog[i].flags & (GDK_AXIS_FLAG_X | GDK_AXIS_FLAG_Y)) ==
            (GDK_AXIS_FLAG_X | GDK_AXIS_FLAG_Y))
          extend_stroke (self, backlog[i].axes[GDK_AXIS_X], backlog[i].axes[GDK_AXIS_Y]);
      g_free (backlog);
    }
  extend_stroke (self, x, y);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_signal_emit (self, signals[INK_CHANGED], 0);
}

static void
on_stylus_up (GtkGestureStylus *gesture,
              double            x,
              double            y,
              DigitCanvas      *self)
{
  if (self->stroke_gesture != GTK_GESTURE (gesture) || !is_tip_event (gesture))
    return;
  extend_stroke (self, x, y);
  finish_stroke (self);
}

static void
on_after_paint (GdkFrameClock *frame_clock,
                DigitCanvas   *self)
{
  GdkRectangle area;

  if (!digit_canvas_get_surface_area (self, &area))
    return;
  if (gdk_rectangle_equal (&area, &self->announced_area))
    return;
  self->announced_area = area;
  g_signal_emit (self, signals[AREA_CHANGED], 0);
}

static void
digit_canvas_map (GtkWidget *widget)
{
  DigitCanvas *self = DIGIT_CANVAS (widget);

  GTK_WIDGET_CLASS (digit_canvas_parent_class)->map (widget);

  /* The area is announced once a frame has been painted with it: by then
   * the window is on screen and input sent to that area reaches us. */
  self->frame_clock = g_object_ref (gtk_widget_get_frame_clock (widget));
  self->after_paint_id = g_signal_connect (self->frame_clock, "after-paint",
                                           G_CALLBACK (on_after_paint), self);
  self->announced_area = (GdkRectangle) { 0, 0, -1, -1 };
}

static void
digit_canvas_unmap (GtkWidget *widget)
{
  DigitCanvas *self = DIGIT_CANVAS (widget);

  g_clear_signal_handler (&self->after_paint_id, self->frame_clock);
  g_clear_object (&self->frame_clock);

  GTK_WIDGET_CLASS (digit_canvas_parent_class)->unmap (widget);
}

static void
digit_canvas_snapshot (GtkWidget   *widget,
                       GtkSnapshot *snapshot)
{
  DigitCanvas *self = DIGIT_CANVAS (widget);
  double side, x0, y0;
  GdkRGBA ink;
  cairo_t *cr;

  if (nn_drawing_is_empty (self->drawing))
    return;
  get_square (self, &side, &x0, &y0);
  if (side <= 0)
    return;

  /* The ink follows the style (light ink on a dark canvas in dark mode);
   * the raster sent to the network is always ink on background. */
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &ink);

  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (x0, y0, side, side));
  cairo_rectangle (cr, x0, y0, side, side);
  cairo_clip (cr);
  cairo_translate (cr, x0, y0);
  cairo_scale (cr, side / DIGIT_CANVAS_LOGICAL_SIZE, side / DIGIT_CANVAS_LOGICAL_SIZE);
  gdk_cairo_set_source_rgba (cr, &ink);
  nn_drawing_paint (self->drawing, cr);
  cairo_destroy (cr);
}

static void
digit_canvas_measure (GtkWidget      *widget,
                      GtkOrientation  orientation,
                      int             for_size,
                      int            *minimum,
                      int            *natural,
                      int            *minimum_baseline,
                      int            *natural_baseline)
{
  *minimum = 160;
  *natural = 480;
}

static void
digit_canvas_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  DigitCanvas *self = DIGIT_CANVAS (object);

  switch (prop_id)
    {
    case PROP_EMPTY:
      g_value_set_boolean (value, digit_canvas_is_empty (self));
      break;
    case PROP_CAN_UNDO:
      g_value_set_boolean (value, digit_canvas_can_undo (self));
      break;
    case PROP_CAN_REDO:
      g_value_set_boolean (value, digit_canvas_can_redo (self));
      break;
    case PROP_PEN_SCALE:
      g_value_set_double (value, self->pen_scale);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
digit_canvas_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  DigitCanvas *self = DIGIT_CANVAS (object);

  switch (prop_id)
    {
    case PROP_PEN_SCALE:
      digit_canvas_set_pen_scale (self, g_value_get_double (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
digit_canvas_dispose (GObject *object)
{
  DigitCanvas *self = DIGIT_CANVAS (object);

  g_clear_signal_handler (&self->after_paint_id, self->frame_clock);
  g_clear_object (&self->frame_clock);

  G_OBJECT_CLASS (digit_canvas_parent_class)->dispose (object);
}

static void
digit_canvas_finalize (GObject *object)
{
  DigitCanvas *self = DIGIT_CANVAS (object);

  g_clear_pointer (&self->drawing, nn_drawing_free);

  G_OBJECT_CLASS (digit_canvas_parent_class)->finalize (object);
}

static void
digit_canvas_class_init (DigitCanvasClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = digit_canvas_get_property;
  object_class->set_property = digit_canvas_set_property;
  object_class->dispose = digit_canvas_dispose;
  object_class->finalize = digit_canvas_finalize;

  widget_class->snapshot = digit_canvas_snapshot;
  widget_class->measure = digit_canvas_measure;
  widget_class->map = digit_canvas_map;
  widget_class->unmap = digit_canvas_unmap;

  properties[PROP_EMPTY] =
    g_param_spec_boolean ("empty", NULL, NULL, TRUE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CAN_UNDO] =
    g_param_spec_boolean ("can-undo", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CAN_REDO] =
    g_param_spec_boolean ("can-redo", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PEN_SCALE] =
    g_param_spec_double ("pen-scale", NULL, NULL, PEN_SCALE_MIN, PEN_SCALE_MAX, 1.0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* Ink was added: the drawing is still under the pen. */
  signals[INK_CHANGED] =
    g_signal_new ("ink-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* The pen was lifted. */
  signals[STROKE_FINISHED] =
    g_signal_new ("stroke-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* The drawing area moved or changed size on screen (see
   * digit_canvas_get_surface_area()). */
  signals[AREA_CHANGED] =
    g_signal_new ("area-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_css_name (widget_class, "digitcanvas");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
digit_canvas_init (DigitCanvas *self)
{
  GtkGesture *drag, *stylus;

  self->drawing = nn_drawing_new (DIGIT_CANVAS_LOGICAL_SIZE, DIGIT_CANVAS_LOGICAL_SIZE);
  self->pen_scale = 1.0;
  self->was_empty = TRUE;
  self->announced_area = (GdkRectangle) { 0, 0, -1, -1 };

  drag = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (drag), GDK_BUTTON_PRIMARY);
  g_signal_connect (drag, "drag-begin", G_CALLBACK (on_drag_begin), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (on_drag_update), self);
  g_signal_connect (drag, "drag-end", G_CALLBACK (on_drag_end), self);
  g_signal_connect (drag, "cancel", G_CALLBACK (on_gesture_cancel), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drag));

  stylus = gtk_gesture_stylus_new ();
  g_signal_connect (stylus, "down", G_CALLBACK (on_stylus_down), self);
  g_signal_connect (stylus, "motion", G_CALLBACK (on_stylus_motion), self);
  g_signal_connect (stylus, "up", G_CALLBACK (on_stylus_up), self);
  g_signal_connect (stylus, "cancel", G_CALLBACK (on_gesture_cancel), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (stylus));

  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), "crosshair");
  gtk_widget_set_overflow (GTK_WIDGET (self), GTK_OVERFLOW_HIDDEN);

  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Drawing canvas"),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                  _("Draw a digit here with the mouse, a touchpad, a pen or a finger"),
                                  -1);
}

GtkWidget *
digit_canvas_new (void)
{
  return g_object_new (DIGIT_TYPE_CANVAS, NULL);
}

const NnDrawing *
digit_canvas_get_drawing (DigitCanvas *self)
{
  g_return_val_if_fail (DIGIT_IS_CANVAS (self), NULL);

  return self->drawing;
}

gboolean
digit_canvas_is_empty (DigitCanvas *self)
{
  g_return_val_if_fail (DIGIT_IS_CANVAS (self), TRUE);

  return nn_drawing_is_empty (self->drawing);
}

guint
digit_canvas_get_n_strokes (DigitCanvas *self)
{
  g_return_val_if_fail (DIGIT_IS_CANVAS (self), 0);

  return nn_drawing_get_n_strokes (self->drawing);
}

gboolean
digit_canvas_can_undo (DigitCanvas *self)
{
  g_return_val_if_fail (DIGIT_IS_CANVAS (self), FALSE);

  return nn_drawing_can_undo (self->drawing);
}

gboolean
digit_canvas_can_redo (DigitCanvas *self)
{
  g_return_val_if_fail (DIGIT_IS_CANVAS (self), FALSE);

  return nn_drawing_can_redo (self->drawing);
}

/* Clearing, undoing or redoing in the middle of a stroke would pull the
 * stroke being drawn from under the pen; the stroke is ended first. */
static void
end_stroke_for_edit (DigitCanvas *self)
{
  if (self->stroke_gesture == NULL)
    return;
  self->stroke_gesture = NULL;
  g_signal_emit (self, signals[STROKE_FINISHED], 0);
}

gboolean
digit_canvas_clear (DigitCanvas *self)
{
  g_return_val_if_fail (DIGIT_IS_CANVAS (self), FALSE);

  end_stroke_for_edit (self);
  if (nn_drawing_is_empty (self->drawing))
    return FALSE;
  nn_drawing_clear (self->drawing);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  update_state (self);
  return TRUE;
}

gboolean
digit_canvas_undo (DigitCanvas *self)
{
  g_return_val_if_fail (DIGIT_IS_CANVAS (self), FALSE);

  end_stroke_for_edit (self);
  if (!nn_drawing_undo (self->drawing))
    return FALSE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  update_state (self);
  return TRUE;
}

gboolean
digit_canvas_redo (DigitCanvas *self)
{
  g_return_val_if_fail (DIGIT_IS_CANVAS (self), FALSE);

  end_stroke_for_edit (self);
  if (!nn_drawing_redo (self->drawing))
    return FALSE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  update_state (self);
  return TRUE;
}

double
digit_canvas_get_pen_scale (DigitCanvas *self)
{
  g_return_val_if_fail (DIGIT_IS_CANVAS (self), 1.0);

  return self->pen_scale;
}

void
digit_canvas_set_pen_scale (DigitCanvas *self,
                            double       pen_scale)
{
  g_return_if_fail (DIGIT_IS_CANVAS (self));

  pen_scale = CLAMP (pen_scale, PEN_SCALE_MIN, PEN_SCALE_MAX);
  if (pen_scale == self->pen_scale)
    return;
  self->pen_scale = pen_scale;
  nn_drawing_set_pen_width (self->drawing,
                            nn_pen_width_for_size (DIGIT_CANVAS_LOGICAL_SIZE,
                                                   DIGIT_CANVAS_LOGICAL_SIZE,
                                                   (float) pen_scale));
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PEN_SCALE]);
}

gboolean
digit_canvas_get_surface_area (DigitCanvas  *self,
                               GdkRectangle *area)
{
  GtkWidget *widget = GTK_WIDGET (self);
  GtkNative *native;
  graphene_point_t corner, in_native;
  double side, x0, y0, surface_x, surface_y;

  g_return_val_if_fail (DIGIT_IS_CANVAS (self), FALSE);

  native = gtk_widget_get_native (widget);
  if (native == NULL || !gtk_widget_get_mapped (widget))
    return FALSE;
  get_square (self, &side, &x0, &y0);
  corner = GRAPHENE_POINT_INIT (x0, y0);
  if (!gtk_widget_compute_point (widget, GTK_WIDGET (native), &corner, &in_native))
    return FALSE;
  /* Widget coordinates of the native start inside its CSD shadow, if any. */
  gtk_native_get_surface_transform (native, &surface_x, &surface_y);
  area->x = (int) floor (in_native.x + surface_x + 0.5);
  area->y = (int) floor (in_native.y + surface_y + 0.5);
  area->width = area->height = (int) floor (side + 0.5);
  return area->width > 0;
}

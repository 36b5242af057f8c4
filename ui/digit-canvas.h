/* digit-canvas.h — the square surface people draw digits on.
 *
 * The canvas turns pointer, touch and stylus drags into strokes of an
 * NnDrawing and paints them with nn_drawing_paint(), the very code that
 * rasterizes them for recognition: what you see is what is recognised.
 */
#pragma once

#include <gtk/gtk.h>
#include "nn.h"

G_BEGIN_DECLS

/* The drawing's fixed coordinate space, in logical pixels on each side:
 * the engine's raster size, so the strokes are recognised as they are held. */
#define DIGIT_CANVAS_LOGICAL_SIZE NN_DRAWING_RASTER_SIDE

#define DIGIT_TYPE_CANVAS (digit_canvas_get_type ())
G_DECLARE_FINAL_TYPE (DigitCanvas, digit_canvas, DIGIT, CANVAS, GtkWidget)

GtkWidget       *digit_canvas_new           (void);
/* Owned by the canvas; read it, do not change it behind its back. */
const NnDrawing *digit_canvas_get_drawing   (DigitCanvas *self);
gboolean         digit_canvas_is_empty      (DigitCanvas *self);
guint            digit_canvas_get_n_strokes (DigitCanvas *self);
gboolean         digit_canvas_can_undo      (DigitCanvas *self);
gboolean         digit_canvas_can_redo      (DigitCanvas *self);

/* Each returns FALSE when there was nothing to do. */
gboolean         digit_canvas_clear         (DigitCanvas *self);
gboolean         digit_canvas_undo          (DigitCanvas *self);
gboolean         digit_canvas_redo          (DigitCanvas *self);

/* Pen width as a multiple of nn_pen_width_for_size()'s rule. */
double           digit_canvas_get_pen_scale (DigitCanvas *self);
void             digit_canvas_set_pen_scale (DigitCanvas *self, double pen_scale);

/* The drawing area (the square the strokes live in) in the coordinates of
 * the window's surface. FALSE while the canvas is not on screen. */
gboolean         digit_canvas_get_surface_area (DigitCanvas  *self,
                                                GdkRectangle *area);

G_END_DECLS

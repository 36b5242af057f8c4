/* digit-event-log.h — machine-readable events on standard output.
 *
 * With `digitlab --log-predictions` (or DIGITLAB_LOG_PREDICTIONS=1) the app
 * writes one JSON object per line for everything a test needs to follow:
 * where the canvas is, each prediction (and the drawing behind each final
 * one), clear/undo/redo, model changes.
 * Every line is flushed at once, so a reading process sees it immediately.
 */
#pragma once

#include <glib.h>
#include "nn.h"

G_BEGIN_DECLS

void     digit_event_log_set_enabled (gboolean enabled);
gboolean digit_event_log_is_enabled  (void);

/* {"event":"ready","canvas":{"x":X,"y":Y,"width":W,"height":H},"scale":S}
 * The canvas in surface coordinates (logical pixels); @scale is the
 * surface's scale factor, device pixels per logical pixel. */
void digit_event_log_ready      (int x, int y, int width, int height, int scale);
/* {"event":"prediction","digit":D,"confidence":C,"unsure":B,
 *  "probabilities":[...],"final":B,"strokes":N}; "unsure" is true when the
 * window says "Not sure" instead of showing D. */
void digit_event_log_prediction (const float probabilities[NN_CLASSES],
                                 gboolean    final,
                                 guint       n_strokes);
/* {"event":"drawing","drawing":{"width":W,"height":H,"pen_width":P,
 *  "strokes":[...]}}, the drawing as nn_drawing_to_json writes it, on one
 * line: what the app recognised, for replaying through digitlab-cli predict
 * --strokes. Written before each final prediction. */
void digit_event_log_drawing    (const NnDrawing *drawing);
/* {"event":"cleared"} */
void digit_event_log_cleared    (void);
/* {"event":"undo","strokes":N} or {"event":"redo","strokes":N} */
void digit_event_log_history    (const char *event, guint n_strokes);
/* {"event":"active","active":B}: the window gained or lost the keyboard
 * focus (GtkWindow:is-active); focus rings show only in an active window. */
void digit_event_log_active     (gboolean active);
/* {"event":"focus","widget":TYPE,"visible":B}: the keyboard focus moved to a
 * widget of type TYPE (null: none), or focus rings were turned on or off
 * (GtkWindow:focus-visible). */
void digit_event_log_focus      (const char *widget_type, gboolean visible);
/* {"event":"model","name":...,"arch":...}; NULLs are written as null. */
void digit_event_log_model      (const char *name, const char *arch);

/* The index of the most probable class (the first one on a tie). */
guint digit_argmax (const float probabilities[NN_CLASSES]);

G_END_DECLS

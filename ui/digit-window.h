/* digit-window.h — Digit Lab's main window. */
#pragma once

#include <adwaita.h>

#include "nn.h"

G_BEGIN_DECLS

#define DIGIT_TYPE_WINDOW (digit_window_get_type ())
G_DECLARE_FINAL_TYPE (DigitWindow, digit_window, DIGIT, WINDOW, AdwApplicationWindow)

DigitWindow *digit_window_new                (GtkApplication *application);
/* Loads the model to start with: @requested if not NULL (from --model),
 * else the last model opened, else the embedded default. Every failure
 * falls back to the next choice and says so in the window. */
void         digit_window_load_startup_model (DigitWindow *self,
                                              GFile       *requested);
/* Opens a model file; on failure shows why and keeps the current model.
 * @remember: store it as the model to load at the next start. */
gboolean     digit_window_open_model         (DigitWindow *self,
                                              GFile       *file,
                                              gboolean     remember);
/* Makes @model (taken) the one drawings are recognised with, at once,
 * under @name; the training page hands its trained models over this way.
 * It is not remembered for the next start, having no file. */
void         digit_window_set_model          (DigitWindow *self,
                                              NnModel     *model,
                                              const char  *name);

G_END_DECLS

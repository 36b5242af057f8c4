/* digit-draw-page.h — the "Draw" page: canvas, controls and live prediction. */
#pragma once

#include <adwaita.h>
#include "nn.h"

G_BEGIN_DECLS

#define DIGIT_TYPE_DRAW_PAGE (digit_draw_page_get_type ())
G_DECLARE_FINAL_TYPE (DigitDrawPage, digit_draw_page, DIGIT, DRAW_PAGE, AdwBin)

GtkWidget     *digit_draw_page_new                (void);
/* The model to recognise with; the page only borrows it, and the caller
 * must set another (or NULL) before freeing it. With NULL, @why says in the
 * prediction's place why there is no model. */
void           digit_draw_page_set_model          (DigitDrawPage *self,
                                                   NnModel       *model,
                                                   const char    *why);
/* The pen width control's value, for the window to remember it. */
GtkAdjustment *digit_draw_page_get_pen_adjustment (DigitDrawPage *self);

G_END_DECLS

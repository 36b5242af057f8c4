/* digit-confusion-view.h — a 10x10 confusion matrix: which digit each
 * test image was, and which it was read as. Cells are coloured by the
 * share of their row; hovering tells the count; clicking a cell (or Enter
 * on the focused one) asks to see its images. */
#pragma once

#include <gtk/gtk.h>

#include "digit-evaluation.h"

G_BEGIN_DECLS

#define DIGIT_TYPE_CONFUSION_VIEW (digit_confusion_view_get_type ())
G_DECLARE_FINAL_TYPE (DigitConfusionView, digit_confusion_view, DIGIT, CONFUSION_VIEW, GtkWidget)

GtkWidget *digit_confusion_view_new            (void);
/* The evaluation to show, or NULL for an empty grid. */
void       digit_confusion_view_set_evaluation (DigitConfusionView *self,
                                                DigitEvaluation    *evaluation);
/* The class names of the rows and columns: NULL for the digits 0-9. */
void       digit_confusion_view_set_class_names (DigitConfusionView *self,
                                                 const char * const *names);

G_END_DECLS

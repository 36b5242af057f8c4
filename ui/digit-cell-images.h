/* digit-cell-images.h — a window with the test images of one cell of the
 * confusion matrix, enlarged, each with what the model thought of it. */
#pragma once

#include <adwaita.h>

#include "digit-evaluation.h"

G_BEGIN_DECLS

#define DIGIT_TYPE_CELL_IMAGES (digit_cell_images_get_type ())
G_DECLARE_FINAL_TYPE (DigitCellImages, digit_cell_images, DIGIT, CELL_IMAGES, AdwWindow)

/* The images of class @truth read as @predicted; @title names the run. */
GtkWidget *digit_cell_images_new (GtkWindow       *parent,
                                  DigitEvaluation *evaluation,
                                  guint            truth,
                                  guint            predicted,
                                  const char      *title);

G_END_DECLS

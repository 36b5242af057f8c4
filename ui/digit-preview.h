/* digit-preview.h — "What the network sees": the 28x28 input, enlarged. */
#pragma once

#include <gtk/gtk.h>
#include "nn.h"

G_BEGIN_DECLS

#define DIGIT_TYPE_PREVIEW (digit_preview_get_type ())
G_DECLARE_FINAL_TYPE (DigitPreview, digit_preview, DIGIT, PREVIEW, GtkWidget)

GtkWidget *digit_preview_new       (void);
/* NN_IMAGE_PIXELS values in [0, 1] (copied), or NULL for a blank image. */
void       digit_preview_set_image (DigitPreview *self, const float *image);

G_END_DECLS

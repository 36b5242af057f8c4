/* digit-prediction-view.h — the recognised digit and the ten probabilities. */
#pragma once

#include <adwaita.h>
#include "nn.h"

G_BEGIN_DECLS

#define DIGIT_TYPE_PREDICTION_VIEW (digit_prediction_view_get_type ())
G_DECLARE_FINAL_TYPE (DigitPredictionView, digit_prediction_view, DIGIT, PREDICTION_VIEW, AdwBin)

GtkWidget *digit_prediction_view_new               (void);
/* Shows the most probable digit, its confidence and all ten bars. */
void       digit_prediction_view_set_probabilities (DigitPredictionView *self,
                                                    const float          probabilities[NN_CLASSES]);
/* Nothing drawn: a placeholder instead of a guess. */
void       digit_prediction_view_clear             (DigitPredictionView *self);
/* No model to predict with; @message says why. */
void       digit_prediction_view_set_unavailable   (DigitPredictionView *self,
                                                    const char          *message);

G_END_DECLS

/* digit-evaluation.h — a model's answers on a whole test set: accuracy,
 * confusion matrix, and every image's probabilities, so that any cell of
 * the matrix can show the images in it. */
#pragma once

#include <gio/gio.h>

#include "nn.h"
#include "digit-training-data.h"

G_BEGIN_DECLS

typedef struct _DigitEvaluation DigitEvaluation;

#define DIGIT_TYPE_EVALUATION (digit_evaluation_get_type ())
GType            digit_evaluation_get_type        (void) G_GNUC_CONST;

/* Predicts every test image of @data with @model (taken, and freed when
 * done) on a worker thread. */
void             digit_evaluation_run_async       (NnModel             *model,
                                                   DigitTrainingData   *data,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
DigitEvaluation *digit_evaluation_run_finish      (GAsyncResult        *result,
                                                   GError             **error);

DigitEvaluation *digit_evaluation_ref             (DigitEvaluation *self);
void             digit_evaluation_unref           (DigitEvaluation *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DigitEvaluation, digit_evaluation_unref)

double           digit_evaluation_get_accuracy    (DigitEvaluation *self);
guint            digit_evaluation_get_n_images    (DigitEvaluation *self);
/* How many images of class @truth were read as @predicted. */
guint            digit_evaluation_get_count       (DigitEvaluation *self,
                                                   guint            truth,
                                                   guint            predicted);
/* The test images of one cell, most confident first: indices into the
 * test set. Free with g_array_unref. */
GArray          *digit_evaluation_get_cell        (DigitEvaluation *self,
                                                   guint            truth,
                                                   guint            predicted);
/* The ten probabilities the model gave image @index. */
const float     *digit_evaluation_get_probabilities (DigitEvaluation *self,
                                                     guint            index);
guint            digit_evaluation_get_label       (DigitEvaluation *self,
                                                   guint            index);
/* The image as 784 floats into @out. */
void             digit_evaluation_get_image       (DigitEvaluation *self,
                                                   guint            index,
                                                   float           *out);

G_END_DECLS

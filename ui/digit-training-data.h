/* digit-training-data.h — a data set loaded for training: its training and
 * test halves, where they came from, and where data sets are found.
 *
 * Once loaded it never changes, so the training thread, the evaluation
 * thread and the main thread may all read it; runs keep a reference for
 * as long as they need its images.
 */
#pragma once

#include <gio/gio.h>

#include "nn.h"

G_BEGIN_DECLS

#define DIGIT_TYPE_TRAINING_DATA (digit_training_data_get_type ())
G_DECLARE_FINAL_TYPE (DigitTrainingData, digit_training_data, DIGIT, TRAINING_DATA, GObject)

/* Where Debian's dataset-fashion-mnist package puts Fashion-MNIST. */
#define DIGIT_FASHION_MNIST_FOLDER "/usr/share/datasets/fashion-mnist"

/* The MNIST folder to offer: $DIGITLAB_MNIST_DIR when set, else the user's
 * data folder (~/.local/share/digitlab/mnist) when it exists, else the
 * folder this build was configured with when that exists, else the user's
 * data folder (where the instructions say to put the files). */
char              *digit_training_data_default_folder (void);
/* ~/.local/share/digitlab/mnist, more exactly $XDG_DATA_HOME/... */
char              *digit_training_data_user_folder    (void);
/* TRUE when @folder holds the four MNIST-format files (gzipped or not). */
gboolean           digit_training_data_folder_has_files (const char *folder);

/* Reads both halves of the data set in @folder on a worker thread.
 * @name is how people will see it ("MNIST"). */
void               digit_training_data_load_async  (const char          *folder,
                                                    const char          *name,
                                                    GCancellable        *cancellable,
                                                    GAsyncReadyCallback  callback,
                                                    gpointer             user_data);
DigitTrainingData *digit_training_data_load_finish (GAsyncResult        *result,
                                                    GError             **error);

/* The same data with only the first @n_train training images (the test
 * set is shared). Copies the images: call it off the main thread when @n
 * is large. Returns a new reference to @self when @n_train is 0 or covers
 * all of them. */
DigitTrainingData *digit_training_data_limit       (DigitTrainingData *self,
                                                    guint              n_train);

const NnDataset   *digit_training_data_get_train   (DigitTrainingData *self);
/* NULL when the folder has no test set. */
const NnDataset   *digit_training_data_get_test    (DigitTrainingData *self);
const char        *digit_training_data_get_folder  (DigitTrainingData *self);
const char        *digit_training_data_get_name    (DigitTrainingData *self);
/* How many training images the full set has (before any limit). */
guint              digit_training_data_get_full_train_count (DigitTrainingData *self);

G_END_DECLS

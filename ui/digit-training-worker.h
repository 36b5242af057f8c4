/* digit-training-worker.h — one NnTrainer run on a thread of its own, its
 * reports brought back to the main loop.
 *
 * The worker never touches widgets: the trainer's callbacks (on the
 * training thread) only queue their reports, and the main loop delivers
 * them as signals at most DIGIT_TRAINING_WORKER_HZ times a second, every
 * batch included, however fast the batches come: smooth enough for curves
 * and numbers, and little enough work that the main loop stays free. Pausing cancels the run
 * and keeps the trainer, so running again continues exactly where it
 * stopped; stopping cancels it for good.
 */
#pragma once

#include <gio/gio.h>

#include "nn.h"
#include "digit-training-data.h"

G_BEGIN_DECLS

/* Deliveries per second at most. */
#define DIGIT_TRAINING_WORKER_HZ 12

#define DIGIT_TYPE_TRAINING_WORKER (digit_training_worker_get_type ())
G_DECLARE_FINAL_TYPE (DigitTrainingWorker, digit_training_worker, DIGIT, TRAINING_WORKER, GObject)

typedef enum {
  DIGIT_TRAINING_DONE,      /* every epoch trained */
  DIGIT_TRAINING_PAUSED,    /* cancelled by pause(): run() continues it */
  DIGIT_TRAINING_STOPPED,   /* cancelled by stop(): over */
  DIGIT_TRAINING_FAILED,
} DigitTrainingOutcome;

/* Called on the main thread with a copy of the model, which it owns. */
typedef void (*DigitModelCallback) (NnModel  *model,
                                    gpointer  user_data);

/* Takes @trainer, and @model when not NULL (a model the trainer does not
 * own, freed after it). @data keeps the trainer's data sets alive. With a
 * @checkpoint_path, a checkpoint is written there (atomically) at the end
 * of every epoch, on the training thread. */
DigitTrainingWorker *digit_training_worker_new     (NnTrainer         *trainer,
                                                    NnModel           *model,
                                                    DigitTrainingData *data,
                                                    const char        *checkpoint_path);
/* Starts the training thread, or continues a paused run. */
void      digit_training_worker_run                (DigitTrainingWorker *self);
/* Stops after the batch in progress; "finished" then says PAUSED. */
void      digit_training_worker_pause              (DigitTrainingWorker *self);
/* Stops after the batch in progress, for good ("finished" says STOPPED);
 * a paused worker is stopped at once. */
void      digit_training_worker_stop               (DigitTrainingWorker *self);
gboolean  digit_training_worker_is_running         (DigitTrainingWorker *self);
/* A copy of the model as it is now: taken between two batches when the
 * thread is training, at once when it is not. @callback runs on the main
 * thread, later. */
void      digit_training_worker_copy_model         (DigitTrainingWorker *self,
                                                    DigitModelCallback   callback,
                                                    gpointer             user_data);
/* The trained model, for the caller to keep, once the outcome is DONE or
 * STOPPED (copied on the training thread as it ended); NULL otherwise. */
NnModel  *digit_training_worker_steal_final_model  (DigitTrainingWorker *self);
/* The trainer, only while the thread is not running. */
NnTrainer *digit_training_worker_get_trainer       (DigitTrainingWorker *self);

G_END_DECLS

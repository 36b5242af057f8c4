/* digit-training-worker.c — the training thread and its mailbox.
 *
 * The trainer's callbacks run on the training thread between batches.
 * They copy their reports into a queue under a mutex and, if no delivery
 * is pending, schedule one on the main context, no sooner than
 * 1/DIGIT_TRAINING_WORKER_HZ s after the last. The main loop then empties
 * the queue in one go: a burst of fast batches costs one delivery, and a
 * slow one is shown at once.
 *
 * The training thread runs at a lower scheduling priority, and so do the
 * OpenMP threads it starts (digit-background.h): on a machine with few
 * cores the main loop still gets the processor the moment it wants it, so
 * drawing, live recognition and the plots stay smooth while training
 * takes every spare cycle.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "digit-background.h"
#include "digit-training-worker.h"

#define DELIVERY_INTERVAL_US (G_USEC_PER_SEC / DIGIT_TRAINING_WORKER_HZ)

typedef struct {
  NnEpochReport  report;
  GError        *checkpoint_error;
} EpochMessage;

typedef struct {
  DigitModelCallback  callback;
  gpointer            user_data;
  NnModel            *model;       /* filled in when the copy is taken */
} CopyRequest;

struct _DigitTrainingWorker
{
  GObject              parent_instance;

  NnTrainer           *trainer;
  NnModel             *own_model;
  DigitTrainingData   *data;
  char                *checkpoint_path;
  GMainContext        *context;

  /* The main thread's. */
  GThread             *thread;
  GCancellable        *cancellable;
  NnModel             *final_model;
  gint                 stop_requested;     /* atomic: read by the thread */

  /* Shared with the training thread, under @lock. */
  GMutex               lock;
  GArray              *batches;            /* NnBatchReport */
  GArray              *epochs;             /* EpochMessage */
  GSList              *copy_requests;      /* CopyRequest, for the thread */
  GSList              *copies_ready;       /* CopyRequest, for the main loop */
  gboolean             ended;
  DigitTrainingOutcome outcome;
  GError              *error;
  NnModel             *ended_model;
  gboolean             delivery_scheduled;
  gint64               last_delivery_us;
};

G_DEFINE_FINAL_TYPE (DigitTrainingWorker, digit_training_worker, G_TYPE_OBJECT)

enum {
  BATCHES,
  EPOCH,
  FINISHED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
epoch_message_clear (gpointer data)
{
  EpochMessage *message = data;

  g_clear_error (&message->checkpoint_error);
}

static void
copy_request_free (gpointer data)
{
  CopyRequest *request = data;

  g_clear_pointer (&request->model, nn_model_free);
  g_free (request);
}

/* ---- Delivery on the main loop --------------------------------------------- */

static gboolean deliver (gpointer user_data);

/* With @lock held. @now skips the interval (the end of a run). */
static void
schedule_delivery_locked (DigitTrainingWorker *self,
                          gboolean             now)
{
  gint64 wait_us = 0;
  GSource *source;

  if (self->delivery_scheduled)
    return;
  if (!now)
    wait_us = MAX (0, self->last_delivery_us + DELIVERY_INTERVAL_US - g_get_monotonic_time ());
  source = g_timeout_source_new ((guint) ((wait_us + 999) / 1000));
  g_source_set_name (source, "[digitlab] training reports");
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, deliver, g_object_ref (self), g_object_unref);
  g_source_attach (source, self->context);
  g_source_unref (source);
  self->delivery_scheduled = TRUE;
}

static gboolean
deliver (gpointer user_data)
{
  DigitTrainingWorker *self = user_data;
  g_autoptr(GArray) batches = NULL;
  g_autoptr(GArray) epochs = NULL;
  GSList *copies;
  gboolean ended;
  DigitTrainingOutcome outcome;
  g_autoptr(GError) error = NULL;

  g_mutex_lock (&self->lock);
  batches = g_steal_pointer (&self->batches);
  self->batches = g_array_new (FALSE, FALSE, sizeof (NnBatchReport));
  epochs = g_steal_pointer (&self->epochs);
  self->epochs = g_array_new (FALSE, FALSE, sizeof (EpochMessage));
  g_array_set_clear_func (self->epochs, epoch_message_clear);
  copies = g_slist_reverse (g_steal_pointer (&self->copies_ready));
  ended = self->ended;
  self->ended = FALSE;
  outcome = self->outcome;
  error = g_steal_pointer (&self->error);
  if (ended)
    self->final_model = g_steal_pointer (&self->ended_model);
  self->delivery_scheduled = FALSE;
  self->last_delivery_us = g_get_monotonic_time ();
  g_mutex_unlock (&self->lock);

  /* A finished thread is joined before anyone is told, so that the
   * trainer is free for whatever the handlers do next. */
  if (ended && self->thread != NULL)
    {
      g_thread_join (g_steal_pointer (&self->thread));
      g_clear_object (&self->cancellable);
    }

  if (batches->len > 0)
    g_signal_emit (self, signals[BATCHES], 0, batches->data, batches->len);
  for (guint i = 0; i < epochs->len; i++)
    {
      EpochMessage *message = &g_array_index (epochs, EpochMessage, i);

      g_signal_emit (self, signals[EPOCH], 0, &message->report, message->checkpoint_error);
    }
  for (GSList *l = copies; l != NULL; l = l->next)
    {
      CopyRequest *request = l->data;

      request->callback (g_steal_pointer (&request->model), request->user_data);
    }
  g_slist_free_full (copies, copy_request_free);
  if (ended)
    {
      g_signal_emit (self, signals[FINISHED], 0, outcome, error);
      /* The reference the thread held. */
      g_object_unref (self);
    }
  return G_SOURCE_REMOVE;
}

/* ---- The training thread ----------------------------------------------------- */

/* With @lock held, on the thread that owns the model. */
static void
serve_copy_requests_locked (DigitTrainingWorker *self)
{
  NnModel *model = nn_trainer_get_model (self->trainer);

  while (self->copy_requests != NULL)
    {
      CopyRequest *request = self->copy_requests->data;

      self->copy_requests = g_slist_delete_link (self->copy_requests, self->copy_requests);
      request->model = nn_model_copy (model);
      self->copies_ready = g_slist_prepend (self->copies_ready, request);
    }
}

static void
on_batch_done (const NnBatchReport *report,
               gpointer             user_data)
{
  DigitTrainingWorker *self = user_data;

  g_mutex_lock (&self->lock);
  g_array_append_val (self->batches, *report);
  /* Between two batches the model is whole: the moment for a copy. */
  if (self->copy_requests != NULL)
    serve_copy_requests_locked (self);
  schedule_delivery_locked (self, FALSE);
  g_mutex_unlock (&self->lock);
}

static void
on_epoch_done (const NnEpochReport *report,
               gpointer             user_data)
{
  DigitTrainingWorker *self = user_data;
  EpochMessage message = { *report, NULL };

  /* At the epoch boundary itself, the state a checkpoint holds; written
   * to a temporary file and renamed, so a crash leaves the last one
   * whole. */
  if (self->checkpoint_path != NULL)
    nn_trainer_save_checkpoint (self->trainer, self->checkpoint_path, &message.checkpoint_error);

  g_mutex_lock (&self->lock);
  g_array_append_val (self->epochs, message);
  schedule_delivery_locked (self, TRUE);
  g_mutex_unlock (&self->lock);
}

static gpointer
train_thread (gpointer user_data)
{
  DigitTrainingWorker *self = user_data;
  const NnTrainCallbacks callbacks = { on_batch_done, on_epoch_done, self };
  GError *error = NULL;
  DigitTrainingOutcome outcome;
  NnModel *final_model = NULL;

  digit_background_lower_priority ();

  if (nn_trainer_run (self->trainer, &callbacks, self->cancellable, &error))
    outcome = DIGIT_TRAINING_DONE;
  else if (g_error_matches (error, NN_ERROR, NN_ERROR_CANCELLED))
    outcome = g_atomic_int_get (&self->stop_requested) ? DIGIT_TRAINING_STOPPED
                                                       : DIGIT_TRAINING_PAUSED;
  else
    outcome = DIGIT_TRAINING_FAILED;
  if (outcome != DIGIT_TRAINING_FAILED)
    g_clear_error (&error);

  /* Copied here rather than on the main loop: a large model takes a while. */
  if (outcome == DIGIT_TRAINING_DONE || outcome == DIGIT_TRAINING_STOPPED)
    final_model = nn_model_copy (nn_trainer_get_model (self->trainer));

  g_mutex_lock (&self->lock);
  serve_copy_requests_locked (self);
  self->ended = TRUE;
  self->outcome = outcome;
  self->error = error;
  self->ended_model = final_model;
  schedule_delivery_locked (self, TRUE);
  g_mutex_unlock (&self->lock);
  return NULL;
}

/* ---- Controls ------------------------------------------------------------------ */

void
digit_training_worker_run (DigitTrainingWorker *self)
{
  g_return_if_fail (DIGIT_IS_TRAINING_WORKER (self));
  g_return_if_fail (self->thread == NULL);

  if (g_atomic_int_get (&self->stop_requested) || nn_trainer_is_done (self->trainer))
    return;
  self->cancellable = g_cancellable_new ();
  /* Released when the end is delivered. */
  g_object_ref (self);
  self->thread = g_thread_new ("digitlab-train", train_thread, self);
}

void
digit_training_worker_pause (DigitTrainingWorker *self)
{
  g_return_if_fail (DIGIT_IS_TRAINING_WORKER (self));

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
}

void
digit_training_worker_stop (DigitTrainingWorker *self)
{
  g_return_if_fail (DIGIT_IS_TRAINING_WORKER (self));

  if (!g_atomic_int_compare_and_exchange (&self->stop_requested, FALSE, TRUE))
    return;
  if (self->thread != NULL)
    {
      g_cancellable_cancel (self->cancellable);
      return;
    }
  /* Paused (or never started): the model is at rest, copy it here. */
  g_mutex_lock (&self->lock);
  self->ended = TRUE;
  self->outcome = DIGIT_TRAINING_STOPPED;
  self->ended_model = nn_model_copy (nn_trainer_get_model (self->trainer));
  /* deliver() drops the reference a thread would have held. */
  g_object_ref (self);
  schedule_delivery_locked (self, TRUE);
  g_mutex_unlock (&self->lock);
}

gboolean
digit_training_worker_is_running (DigitTrainingWorker *self)
{
  g_return_val_if_fail (DIGIT_IS_TRAINING_WORKER (self), FALSE);

  return self->thread != NULL;
}

void
digit_training_worker_copy_model (DigitTrainingWorker *self,
                                  DigitModelCallback   callback,
                                  gpointer             user_data)
{
  CopyRequest *request;

  g_return_if_fail (DIGIT_IS_TRAINING_WORKER (self));
  g_return_if_fail (callback != NULL);

  request = g_new0 (CopyRequest, 1);
  request->callback = callback;
  request->user_data = user_data;

  g_mutex_lock (&self->lock);
  if (self->thread != NULL)
    {
      /* Taken by the thread at the next batch, or as it ends. */
      self->copy_requests = g_slist_append (self->copy_requests, request);
    }
  else
    {
      request->model = nn_model_copy (self->final_model != NULL ? self->final_model
                                                                : nn_trainer_get_model (self->trainer));
      self->copies_ready = g_slist_prepend (self->copies_ready, request);
      schedule_delivery_locked (self, TRUE);
    }
  g_mutex_unlock (&self->lock);
}

NnModel *
digit_training_worker_steal_final_model (DigitTrainingWorker *self)
{
  g_return_val_if_fail (DIGIT_IS_TRAINING_WORKER (self), NULL);

  return g_steal_pointer (&self->final_model);
}

NnTrainer *
digit_training_worker_get_trainer (DigitTrainingWorker *self)
{
  g_return_val_if_fail (DIGIT_IS_TRAINING_WORKER (self), NULL);

  return self->thread == NULL ? self->trainer : NULL;
}

/* ---- GObject --------------------------------------------------------------------- */

static void
digit_training_worker_finalize (GObject *object)
{
  DigitTrainingWorker *self = DIGIT_TRAINING_WORKER (object);

  /* The thread holds a reference while it runs, so it has been joined. */
  g_assert (self->thread == NULL);

  g_clear_pointer (&self->trainer, nn_trainer_free);
  g_clear_pointer (&self->own_model, nn_model_free);
  g_clear_pointer (&self->final_model, nn_model_free);
  g_clear_pointer (&self->ended_model, nn_model_free);
  g_clear_object (&self->data);
  g_clear_object (&self->cancellable);
  g_free (self->checkpoint_path);
  g_main_context_unref (self->context);
  g_array_unref (self->batches);
  g_array_unref (self->epochs);
  g_slist_free_full (self->copy_requests, copy_request_free);
  g_slist_free_full (self->copies_ready, copy_request_free);
  g_clear_error (&self->error);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (digit_training_worker_parent_class)->finalize (object);
}

static void
digit_training_worker_class_init (DigitTrainingWorkerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = digit_training_worker_finalize;

  /**
   * DigitTrainingWorker::batches:
   * @reports: (array length=n_reports): an NnBatchReport for every batch
   *   trained since the last emission, in order
   * @n_reports: how many
   */
  signals[BATCHES] = g_signal_new ("batches", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                                   G_TYPE_POINTER, G_TYPE_UINT);
  /**
   * DigitTrainingWorker::epoch:
   * @report: the NnEpochReport of the epoch just finished
   * @checkpoint_error: (nullable): why its checkpoint could not be written
   */
  signals[EPOCH] = g_signal_new ("epoch", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                 0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                                 G_TYPE_POINTER, G_TYPE_POINTER);
  /**
   * DigitTrainingWorker::finished:
   * @outcome: a DigitTrainingOutcome
   * @error: (nullable): what went wrong, for DIGIT_TRAINING_FAILED
   *
   * The thread has ended (and been joined).
   */
  signals[FINISHED] = g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                    0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                                    G_TYPE_INT, G_TYPE_POINTER);
}

static void
digit_training_worker_init (DigitTrainingWorker *self)
{
  g_mutex_init (&self->lock);
  self->batches = g_array_new (FALSE, FALSE, sizeof (NnBatchReport));
  self->epochs = g_array_new (FALSE, FALSE, sizeof (EpochMessage));
  g_array_set_clear_func (self->epochs, epoch_message_clear);
  self->context = g_main_context_ref_thread_default ();
}

DigitTrainingWorker *
digit_training_worker_new (NnTrainer         *trainer,
                           NnModel           *model,
                           DigitTrainingData *data,
                           const char        *checkpoint_path)
{
  DigitTrainingWorker *self;

  g_return_val_if_fail (trainer != NULL, NULL);
  g_return_val_if_fail (DIGIT_IS_TRAINING_DATA (data), NULL);

  self = g_object_new (DIGIT_TYPE_TRAINING_WORKER, NULL);
  self->trainer = trainer;
  self->own_model = model;
  self->data = g_object_ref (data);
  self->checkpoint_path = g_strdup (checkpoint_path);
  return self;
}

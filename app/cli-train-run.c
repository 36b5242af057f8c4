/* cli-train-run.c — digitlab-cli train's run: the trainer on a worker
 * thread while the main thread runs a main loop that draws the progress
 * line, prints each epoch's summary, and turns SIGINT/SIGTERM into a
 * cancellation the trainer sees at the next batch. */
#include "config.h"

#include <glib-unix.h>
#include <glib/gi18n-lib.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "cli-train-run.h"

/* How often the progress line is redrawn on a terminal. */
#define PROGRESS_INTERVAL_MS 200
/* Weight of the past in the running loss: about the last 50 batches. */
#define LOSS_SMOOTHING 0.98

/* One training run, shared by the main thread and the worker. */
typedef struct {
  NnTrainer    *trainer;
  NnModel      *model;             /* the trainer's; only the worker touches it */
  const char   *checkpoint;
  GCancellable *cancellable;
  GMainLoop    *loop;
  gboolean      tty;
  int           stop_signal;       /* atomic: the signal that stopped us, or 0 */

  /* Written by the worker, read by the main thread under @lock. */
  GMutex        lock;
  NnBatchReport batch;
  gboolean      have_batch;
  double        loss_average;      /* exponential moving average, biased */
  guint         n_losses;

  /* The main thread's own: the batch the progress line shows. */
  guint         shown_epoch;
  guint         shown_batch;

  /* The worker's own until it is joined. */
  gboolean      ok;
  GError       *error;
  double        seconds;           /* training time, earlier runs included */
  float         test_accuracy;     /* after the last epoch run here, or -1 */
  guint         checkpointed_epoch;/* epochs finished in the last checkpoint */
  GError       *checkpoint_error;  /* why a checkpoint could not be written */
} TrainRun;

/* ---- Progress ------------------------------------------------------------ */

static char *
format_duration (double seconds)
{
  guint s = (guint) MAX (0.0, round (seconds));

  if (s >= 3600)
    return g_strdup_printf ("%u:%02u:%02u", s / 3600, s / 60 % 60, s % 60);
  return g_strdup_printf ("%u:%02u", s / 60, s % 60);
}

/* Back to the start of the progress line and clear it ("erase to end of
 * line"), so the line is rewritten in place. */
static void
erase_progress (TrainRun *run)
{
  if (run->tty)
    fputs ("\r\033[K", stderr);
}

static gboolean
draw_progress (gpointer user_data)
{
  TrainRun *run = user_data;
  NnBatchReport batch;
  gboolean have_batch;
  double loss;
  g_autofree char *eta = NULL;

  g_mutex_lock (&run->lock);
  batch = run->batch;
  have_batch = run->have_batch;
  /* Divided by the weight the average has gathered so far, so the first
   * batches are not pulled towards zero. */
  loss = run->n_losses > 0
           ? run->loss_average / (1.0 - pow (LOSS_SMOOTHING, run->n_losses))
           : NAN;
  g_mutex_unlock (&run->lock);

  if (!have_batch || (batch.epoch == run->shown_epoch && batch.batch == run->shown_batch))
    return G_SOURCE_CONTINUE;
  run->shown_epoch = batch.epoch;
  run->shown_batch = batch.batch;
  eta = format_duration (batch.eta_s);
  erase_progress (run);
  fprintf (stderr, _("epoch %u/%u  %3.0f%%  %.0f images/s  loss %.4f  ETA %s"),
           batch.epoch + 1, batch.epochs,
           100.0 * (batch.batch + 1) / MAX (batch.batches_per_epoch, 1u),
           batch.images_per_s, loss, eta);
  fflush (stderr);
  return G_SOURCE_CONTINUE;
}

static void
on_batch_done (const NnBatchReport *report, gpointer user_data)
{
  TrainRun *run = user_data;

  g_mutex_lock (&run->lock);
  run->batch = *report;
  run->have_batch = TRUE;
  if (isfinite (report->loss))
    {
      run->loss_average = LOSS_SMOOTHING * run->loss_average
                          + (1.0 - LOSS_SMOOTHING) * report->loss;
      run->n_losses++;
    }
  g_mutex_unlock (&run->lock);
}

void
cli_set_train_seconds (NnModel *model, double seconds)
{
  char text[G_ASCII_DTOSTR_BUF_SIZE];

  nn_model_set_metadata (model, "train_seconds",
                         g_ascii_formatd (text, sizeof text, "%.1f", seconds));
}

typedef struct {
  TrainRun      *run;
  NnEpochReport  report;
} EpochLine;

/* On the main thread, so it never interleaves with the progress line. */
static gboolean
print_epoch_line (gpointer user_data)
{
  EpochLine *line = user_data;
  const NnEpochReport *r = &line->report;
  g_autoptr(GString) text = g_string_new (NULL);

  g_string_printf (text, _("epoch %u/%u: loss %.4f, train accuracy %.4f"),
                   r->epoch + 1, r->epochs, r->train_loss, r->train_accuracy);
  if (r->test_accuracy >= 0)
    g_string_append_printf (text, _(", test accuracy %.4f"), r->test_accuracy);
  g_string_append_printf (text, _(", %.1f s"), r->seconds);

  erase_progress (line->run);
  printf ("%s\n", text->str);
  fflush (stdout);
  return G_SOURCE_REMOVE;
}

static void
on_epoch_done (const NnEpochReport *report, gpointer user_data)
{
  TrainRun *run = user_data;
  EpochLine *line = g_new (EpochLine, 1);

  line->run = run;
  line->report = *report;
  g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, print_epoch_line, line, g_free);

  /* No progress line for a finished epoch once its summary is printed. */
  g_mutex_lock (&run->lock);
  run->have_batch = FALSE;
  g_mutex_unlock (&run->lock);

  run->seconds += report->seconds;
  run->test_accuracy = report->test_accuracy;
  /* Kept in the model as it goes, so a checkpoint carries it to --resume. */
  cli_set_train_seconds (run->model, run->seconds);

  /* The trainer calls this at the epoch boundary itself: the next epoch's
   * shuffle has not been drawn yet, the very state a checkpoint holds. A
   * run that cannot keep its checkpoints stops rather than go on without. */
  if (run->checkpoint != NULL)
    {
      if (nn_trainer_save_checkpoint (run->trainer, run->checkpoint, &run->checkpoint_error))
        run->checkpointed_epoch = report->epoch + 1;
      else
        g_cancellable_cancel (run->cancellable);
    }
}

/* ---- The worker ---------------------------------------------------------- */

static gboolean
quit_loop (gpointer user_data)
{
  TrainRun *run = user_data;

  g_main_loop_quit (run->loop);
  return G_SOURCE_REMOVE;
}

static gpointer
train_thread (gpointer user_data)
{
  TrainRun *run = user_data;
  const NnTrainCallbacks callbacks = { on_batch_done, on_epoch_done, run };

  run->ok = nn_trainer_run (run->trainer, &callbacks, run->cancellable, &run->error);
  /* The last epoch's checkpoint can fail after the trainer is done. */
  if (run->checkpoint_error != NULL)
    run->ok = FALSE;

  /* After the epoch lines already queued, at the same priority. */
  g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, quit_loop, run, NULL);
  return NULL;
}

static gboolean
on_stop_signal (TrainRun *run, int signum)
{
  g_atomic_int_set (&run->stop_signal, signum);
  g_cancellable_cancel (run->cancellable);
  erase_progress (run);
  fprintf (stderr, "%s\n", _("Stopping after the current batch… (press Ctrl+C again to quit at once)"));
  /* Removing the handler restores the default action for a second signal. */
  return G_SOURCE_REMOVE;
}

static gboolean
on_sigint (gpointer user_data)
{
  return on_stop_signal (user_data, SIGINT);
}

static gboolean
on_sigterm (gpointer user_data)
{
  return on_stop_signal (user_data, SIGTERM);
}

void
cli_train_run (NnTrainer      *trainer,
               const char     *checkpoint,
               double          seconds_so_far,
               CliTrainResult *result)
{
  TrainRun run = {
    .trainer = trainer,
    .model = nn_trainer_get_model (trainer),
    .checkpoint = checkpoint,
    .tty = isatty (STDERR_FILENO),
    .shown_epoch = G_MAXUINT,
    .seconds = seconds_so_far,
    .test_accuracy = -1.0f,
  };
  g_autoptr(GThread) thread = NULL;
  guint progress_id = 0;

  run.loop = g_main_loop_new (NULL, FALSE);
  run.cancellable = g_cancellable_new ();
  g_mutex_init (&run.lock);

  g_unix_signal_add (SIGINT, on_sigint, &run);
  g_unix_signal_add (SIGTERM, on_sigterm, &run);
  if (run.tty)
    progress_id = g_timeout_add (PROGRESS_INTERVAL_MS, draw_progress, &run);

  thread = g_thread_new ("train", train_thread, &run);
  g_main_loop_run (run.loop);
  g_thread_join (g_steal_pointer (&thread));

  if (progress_id != 0)
    g_source_remove (progress_id);
  erase_progress (&run);
  /* A signal source that has not fired stays until exit: its handler
   * keeps a late Ctrl+C from killing the process while the model file is
   * being written. It is never dispatched again, so @run may go. */
  g_mutex_clear (&run.lock);
  g_clear_object (&run.cancellable);
  g_clear_pointer (&run.loop, g_main_loop_unref);

  result->ok = run.ok;
  /* A failed checkpoint is what stopped the run, whatever else happened. */
  if (run.checkpoint_error != NULL)
    {
      g_clear_error (&run.error);
      run.error = g_steal_pointer (&run.checkpoint_error);
    }
  result->error = g_steal_pointer (&run.error);
  result->stop_signal = g_atomic_int_get (&run.stop_signal);
  result->checkpointed_epoch = run.checkpointed_epoch;
  result->seconds = run.seconds;
  result->test_accuracy = run.test_accuracy;
}

void
cli_train_result_clear (CliTrainResult *result)
{
  g_clear_error (&result->error);
}

/* digit-train-page.c — the "Train" page: runs, their curves, their status
 * and their test results.
 *
 * Everything here happens on the main thread and only reacts to the runs'
 * signals, which the training worker delivers at most twelve times a
 * second: a delivery appends the new losses to the plot (a few hundred
 * points at worst) and rewrites a few labels, and the plot redraws at the
 * next frame in well under a millisecond. So the main loop stays free for
 * drawing on the canvas and for live recognition, which goes on with the
 * window's own model while a run trains its own.
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "digit-cell-images.h"
#include "digit-run-row.h"
#include "digit-train-events.h"
#include "digit-train-page-private.h"

/* How often the status card's text follows a training run. */
#define STATUS_INTERVAL_US (G_USEC_PER_SEC / 4)

G_DEFINE_FINAL_TYPE (DigitTrainPage, digit_train_page, ADW_TYPE_BIN)

/* ---- Helpers ------------------------------------------------------------------ */

static RunEntry *
find_entry (DigitTrainPage *self,
            DigitRun       *run)
{
  for (guint i = 0; i < self->runs->len; i++)
    {
      RunEntry *entry = g_ptr_array_index (self->runs, i);

      if (entry->run == run)
        return entry;
    }
  return NULL;
}

static char *
format_duration (double seconds)
{
  guint s = (guint) MAX (0.0, round (seconds));

  if (s >= 3600)
    return g_strdup_printf ("%u:%02u:%02u", s / 3600, s / 60 % 60, s % 60);
  return g_strdup_printf ("%u:%02u", s / 60, s % 60);
}

void
digit_train_page_show_toast (DigitTrainPage *self,
                             const char     *message)
{
  GtkWidget *overlay = gtk_widget_get_ancestor (GTK_WIDGET (self), ADW_TYPE_TOAST_OVERLAY);
  AdwToast *toast;

  if (overlay == NULL)
    {
      g_message ("%s", message);
      return;
    }
  toast = adw_toast_new (message);
  adw_toast_set_timeout (toast, 5);
  adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (overlay), toast);
}

DigitRun *
digit_train_page_get_shown_run (DigitTrainPage *self)
{
  return self->active != NULL ? self->active : self->selected;
}

/* ---- Status card ---------------------------------------------------------------- */

static void
describe_next_run (DigitTrainPage *self,
                   char          **title,
                   char          **details)
{
  DigitTrainingData *data = digit_train_form_get_data (self->form);

  *title = g_strdup (_("Ready to Train"));
  if (digit_train_form_get_problem (self->form) != NULL)
    /* Start is off until it is corrected (digit_train_page_update). */
    *details = g_strdup (digit_train_form_get_problem (self->form));
  else if (data != NULL)
    /* Translators: under "Ready to Train"; %s is a data set's name. */
    *details = g_strdup_printf (_("Choose a model and settings on the left, then start training on %s."),
                                digit_training_data_get_name (data));
  else if (digit_train_form_is_loading (self->form))
    *details = g_strdup (_("Loading the data set…"));
  else
    *details = g_strdup (_("Choose where the MNIST files are, on the left."));
}

/* A short title (the card shares its line with the buttons) and the
 * details under it, which start with the run's name. */
static void
describe_run (DigitTrainPage *self,
              DigitRun       *run,
              char          **title,
              char          **details,
              double         *fraction)
{
  const NnBatchReport *batch = digit_run_get_last_batch (run);
  guint epochs = digit_run_get_config (run)->epochs;
  double progress = digit_run_get_progress (run);
  double accuracy = digit_run_get_test_accuracy (run);
  const char *name = digit_run_get_name (run);
  g_autofree char *duration = format_duration (digit_run_get_train_seconds (run));
  g_autoptr(GString) text = g_string_new (name);

  *fraction = CLAMP (progress / MAX (epochs, 1u), 0.0, 1.0);
  /* Translators: separates the parts of the status line, "Run 1 · ...". */
#define SEPARATOR _(" · ")
  switch (digit_run_get_state (run))
    {
    case DIGIT_RUN_NEW:
    case DIGIT_RUN_PREPARING:
      *title = g_strdup (_("Starting"));
      g_string_append (text, SEPARATOR);
      g_string_append_printf (text, _("Building the model and preparing %'u training images…"),
                              digit_run_get_n_train_images (run));
      break;

    case DIGIT_RUN_TRAINING:
      {
        guint epoch = batch != NULL ? batch->epoch + 1 : digit_run_get_epochs_done (run) + 1;

        /* Translators: the epoch being trained, "Epoch 2 of 5". */
        *title = g_strdup_printf (_("Epoch %u of %u"), MIN (epoch, epochs), epochs);
        g_string_append (text, SEPARATOR);
        if (batch != NULL)
          {
            g_autofree char *left = format_duration (batch->eta_s);

            /* Translators: training speed and time left, "1,234 images/s · 1:23 left". */
            g_string_append_printf (text, _("%'.0f images/s · %s left"), batch->images_per_s, left);
          }
        else
          {
            g_string_append (text, _("the first batches are on their way…"));
          }
        if (accuracy >= 0)
          {
            g_string_append (text, SEPARATOR);
            /* Translators: the test accuracy after the last epoch. */
            g_string_append_printf (text, _("test accuracy %.2f%%"), 100.0 * accuracy);
          }
      }
      break;

    case DIGIT_RUN_PAUSING:
      *title = g_strdup (_("Pausing"));
      g_string_append (text, SEPARATOR);
      g_string_append (text, _("the batch in progress finishes first…"));
      break;

    case DIGIT_RUN_PAUSED:
      *title = g_strdup (_("Paused"));
      g_string_append (text, SEPARATOR);
      /* Translators: %.2f is the epochs trained so far, e.g. "1.42 of 5". */
      g_string_append_printf (text, _("%.2f of %u epochs trained in %s. Resume carries on exactly where it stopped."),
                              progress, epochs, duration);
      break;

    case DIGIT_RUN_STOPPING:
      *title = g_strdup (_("Stopping"));
      g_string_append (text, SEPARATOR);
      g_string_append (text, _("the batch in progress finishes first…"));
      break;

    case DIGIT_RUN_FINISHED:
      *title = g_strdup (_("Finished"));
      g_string_append (text, SEPARATOR);
      g_string_append_printf (text, ngettext ("%u epoch in %s", "%u epochs in %s", epochs), epochs, duration);
      if (accuracy >= 0)
        {
          g_string_append (text, SEPARATOR);
          g_string_append_printf (text, _("test accuracy %.2f%%"), 100.0 * accuracy);
        }
      break;

    case DIGIT_RUN_STOPPED:
      *title = g_strdup (_("Stopped"));
      g_string_append (text, SEPARATOR);
      /* Translators: "after 1.42 of 5 epochs (0:35)" */
      g_string_append_printf (text, _("after %.2f of %u epochs (%s)"), progress, epochs, duration);
      if (accuracy >= 0)
        {
          g_string_append (text, SEPARATOR);
          g_string_append_printf (text, _("test accuracy %.2f%%"), 100.0 * accuracy);
        }
      break;

    case DIGIT_RUN_FAILED:
    default:
      *title = g_strdup (_("Failed"));
      g_string_append (text, SEPARATOR);
      g_string_append (text, digit_run_get_error (run) != NULL ? digit_run_get_error (run)->message
                                                             : _("Training failed."));
      break;
    }
#undef SEPARATOR
  *details = g_string_free (g_steal_pointer (&text), FALSE);
}

static void
update_status (DigitTrainPage *self)
{
  DigitRun *run = digit_train_page_get_shown_run (self);
  g_autofree char *title = NULL;
  g_autofree char *details = NULL;
  double fraction = 0.0;
  DigitRunState state = run != NULL ? digit_run_get_state (run) : DIGIT_RUN_NEW;
  gboolean active = run != NULL && digit_run_is_active (run);

  if (run == NULL)
    describe_next_run (self, &title, &details);
  else
    describe_run (self, run, &title, &details, &fraction);
  if (self->start_pending && (run == NULL || !active))
    {
      g_clear_pointer (&details, g_free);
      details = g_strdup (_("Training starts as soon as the data set is loaded…"));
    }
  self->status_shown_us = g_get_monotonic_time ();
  gtk_label_set_text (self->status_title, title);
  gtk_label_set_text (self->status_details, details);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->status_details), details);
  gtk_progress_bar_set_fraction (self->progress_bar, fraction);
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), run != NULL);

  gtk_widget_set_visible (GTK_WIDGET (self->start_button), !active);
  gtk_widget_set_visible (GTK_WIDGET (self->pause_button),
                          state == DIGIT_RUN_TRAINING || state == DIGIT_RUN_PAUSING
                          || state == DIGIT_RUN_PREPARING || state == DIGIT_RUN_STOPPING);
  gtk_widget_set_visible (GTK_WIDGET (self->resume_button), state == DIGIT_RUN_PAUSED);
  gtk_widget_set_visible (GTK_WIDGET (self->stop_button), active);
  gtk_widget_set_visible (GTK_WIDGET (self->use_button), run != NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->save_button), run != NULL);
}

/* ---- Results ---------------------------------------------------------------------- */

static void
update_results (DigitTrainPage *self)
{
  DigitRun *run = self->selected;
  DigitEvaluation *evaluation = run != NULL ? digit_run_get_evaluation (run) : NULL;
  guint n_images;
  g_autoptr(GString) mistakes = NULL;

  gtk_spinner_set_spinning (self->evaluating_spinner, run != NULL && digit_run_is_evaluating (run));
  if (evaluation == NULL)
    {
      digit_confusion_view_set_evaluation (self->confusion_view, NULL);
      gtk_stack_set_visible_child_name (self->results_content,
                                        run != NULL && digit_run_is_evaluating (run) ? "evaluating" : "none");
      return;
    }

  n_images = digit_evaluation_get_n_images (evaluation);
  gtk_label_set_text (self->results_run_label, digit_run_get_name (run));
  {
    g_autofree char *accuracy = g_strdup_printf ("%.2f%%", 100.0 * digit_evaluation_get_accuracy (evaluation));
    /* Translators: under the test accuracy, e.g. "of 10,000 test images read right". */
    g_autofree char *caption = g_strdup_printf (ngettext ("of %'u test image read right",
                                                          "of %'u test images read right", n_images),
                                                n_images);

    gtk_label_set_text (self->accuracy_label, accuracy);
    gtk_label_set_text (self->accuracy_caption, caption);
  }

  /* The three most frequent mistakes, as a short list. */
  {
    guint best[3][3] = { { 0 } };   /* count, truth, predicted */

    for (guint t = 0; t < NN_CLASSES; t++)
      for (guint p = 0; p < NN_CLASSES; p++)
        {
          guint count = digit_evaluation_get_count (evaluation, t, p);
          guint k = 3;

          if (t == p || count == 0)
            continue;
          /* Insertion into the top three, largest first. */
          while (k > 0 && count > best[k - 1][0])
            {
              if (k < 3)
                memcpy (best[k], best[k - 1], sizeof best[k]);
              k--;
            }
          if (k < 3)
            {
              best[k][0] = count;
              best[k][1] = t;
              best[k][2] = p;
            }
        }
    mistakes = g_string_new (NULL);
    if (best[0][0] > 0)
      {
        g_autofree char *heading = g_markup_escape_text (_("Most frequent mistakes"), -1);

        g_string_append_printf (mistakes, "<b>%s</b>", heading);
        for (guint k = 0; k < 3 && best[k][0] > 0; k++)
          /* Translators: one mistake: "4 read as 9: 12 times". */
          g_string_append_printf (mistakes, ngettext ("\n%u read as %u: %u time", "\n%u read as %u: %u times",
                                                      best[k][0]),
                                  best[k][1], best[k][2], best[k][0]);
      }
  }
  gtk_label_set_markup (self->mistakes_label, mistakes->str);
  {
    /* Fashion-MNIST's classes are clothes; their names go in the tooltips. */
    static const char *const fashion[] = {
      N_("T-shirt"), N_("trouser"), N_("pullover"), N_("dress"), N_("coat"),
      N_("sandal"), N_("shirt"), N_("sneaker"), N_("bag"), N_("ankle boot"), NULL
    };
    const char *names[G_N_ELEMENTS (fashion)] = { NULL };
    gboolean is_fashion = g_strcmp0 (digit_training_data_get_name (digit_run_get_data (run)),
                                     "Fashion-MNIST") == 0;

    for (guint i = 0; is_fashion && fashion[i] != NULL; i++)
      names[i] = _(fashion[i]);
    digit_confusion_view_set_class_names (self->confusion_view, is_fashion ? names : NULL);
  }
  digit_confusion_view_set_evaluation (self->confusion_view, evaluation);
  gtk_stack_set_visible_child_name (self->results_content, "matrix");
}

static void
update_hint (DigitTrainPage *self)
{
  gboolean curves = g_strcmp0 (gtk_stack_get_visible_child_name (self->results_stack), "curves") == 0;

  gtk_label_set_text (self->hint_label,
                      curves && self->runs->len > 1 ? _("Tick runs below to compare their curves")
                                                    : "");
}

void
digit_train_page_update (DigitTrainPage *self)
{
  update_status (self);
  update_results (self);
  update_hint (self);
  digit_train_page_update_actions (self);
  /* A new run waits for the settings the form marks as wrong; a paused
   * run goes on with the settings it started with. */
  if (self->start_action != NULL && self->active == NULL && !digit_train_form_is_valid (self->form))
    g_simple_action_set_enabled (self->start_action, FALSE);
}

/* ---- Plots -------------------------------------------------------------------------- */

static void
setup_plots (DigitTrainPage *self)
{
  self->loss_plot = digit_plot_new ();
  /* Translators: the x axis of the training plots. */
  digit_plot_set_x_title (self->loss_plot, _("Epoch"), NULL);
  /* Translators: the y axis of the loss plot. */
  digit_plot_set_y_title (self->loss_plot, _("Loss per batch"), NULL);
  digit_plot_set_y_scale (self->loss_plot, DIGIT_PLOT_SCALE_LOG);
  digit_plot_set_x_min_step (self->loss_plot, 1.0);
  digit_plot_set_x_range_hint (self->loss_plot, 0.0, 1.0);
  digit_plot_set_placeholder (self->loss_plot, _("The loss of every batch appears here as it trains"));
  digit_plot_view_set_plot (self->loss_view, self->loss_plot);

  self->accuracy_plot = digit_plot_new ();
  digit_plot_set_x_title (self->accuracy_plot, _("Epoch"), NULL);
  /* Translators: the y axis of the accuracy plot; its unit is "%". */
  digit_plot_set_y_title (self->accuracy_plot, _("Accuracy"), "%");
  digit_plot_set_y_limits (self->accuracy_plot, 0.0, 100.0);
  digit_plot_set_x_min_step (self->accuracy_plot, 1.0);
  digit_plot_set_x_range_hint (self->accuracy_plot, 0.0, 1.0);
  digit_plot_set_placeholder (self->accuracy_plot, _("Training and test accuracy appear after each epoch"));
  digit_plot_view_set_plot (self->accuracy_view, self->accuracy_plot);
}

/* The x axes cover the longest run shown, so curves do not rescale as
 * points arrive. */
static void
update_x_ranges (DigitTrainPage *self)
{
  guint epochs = 1;

  for (guint i = 0; i < self->runs->len; i++)
    {
      RunEntry *entry = g_ptr_array_index (self->runs, i);

      if (digit_run_get_shown (entry->run))
        epochs = MAX (epochs, digit_run_get_config (entry->run)->epochs);
    }
  digit_plot_set_x_range_hint (self->loss_plot, 0.0, epochs);
  digit_plot_set_x_range_hint (self->accuracy_plot, 0.0, epochs);
}

static void
name_series (DigitTrainPage *self,
             RunEntry       *entry)
{
  const char *name = digit_run_get_name (entry->run);
  /* Translators: legend entries: a run's test and training accuracy. */
  g_autofree char *test = g_strdup_printf (_("%s, test"), name);
  g_autofree char *train = g_strdup_printf (_("%s, training"), name);

  digit_plot_set_series_name (self->loss_plot, entry->loss_series, name);
  digit_plot_set_series_name (self->accuracy_plot, entry->test_series, test);
  digit_plot_set_series_name (self->accuracy_plot, entry->train_series, train);
}

static void
show_series (DigitTrainPage *self,
             RunEntry       *entry)
{
  gboolean shown = digit_run_get_shown (entry->run);

  digit_plot_set_series_visible (self->loss_plot, entry->loss_series, shown);
  digit_plot_set_series_visible (self->accuracy_plot, entry->test_series, shown);
  digit_plot_set_series_visible (self->accuracy_plot, entry->train_series, shown);
  update_x_ranges (self);
}

/* ---- A run's signals ---------------------------------------------------------------- */

static void
on_run_batches (DigitRun       *run,
                guint           first,
                guint           n,
                DigitTrainPage *self)
{
  RunEntry *entry = find_entry (self, run);
  GArray *losses = digit_run_get_loss_curve (run);
  const NnBatchReport *last = digit_run_get_last_batch (run);

  digit_plot_append_points (self->loss_plot, entry->loss_series,
                            &g_array_index (losses, DigitPlotPoint, first), n);
  if (last != NULL)
    digit_train_events_progress (digit_run_get_name (run), last);
  /* New text in a label resizes the window's layout: a few times a second
   * is plenty for numbers people read, while the bar moves every time. */
  if (run == digit_train_page_get_shown_run (self))
    {
      gint64 now = g_get_monotonic_time ();

      if (now - self->status_shown_us >= STATUS_INTERVAL_US)
        update_status (self);
      else
        gtk_progress_bar_set_fraction (self->progress_bar,
                                       CLAMP (digit_run_get_progress (run) / MAX (digit_run_get_config (run)->epochs, 1u),
                                              0.0, 1.0));
    }
}

static void
on_run_epoch (DigitRun            *run,
              const NnEpochReport *report,
              DigitTrainPage      *self)
{
  RunEntry *entry = find_entry (self, run);
  GArray *train = digit_run_get_train_accuracy_curve (run);
  GArray *test = digit_run_get_test_accuracy_curve (run);

  digit_plot_append_points (self->accuracy_plot, entry->train_series,
                            &g_array_index (train, DigitPlotPoint, train->len - 1), 1);
  if (test->len > (guint) digit_plot_get_n_points (self->accuracy_plot, entry->test_series))
    digit_plot_append_points (self->accuracy_plot, entry->test_series,
                              &g_array_index (test, DigitPlotPoint, test->len - 1), 1);
  digit_train_events_epoch (digit_run_get_name (run), report);
  if (run == digit_train_page_get_shown_run (self))
    update_status (self);
}

static void
on_run_checkpoint_failed (DigitRun       *run,
                          const GError   *error,
                          DigitTrainPage *self)
{
  /* Translators: %s says why the file could not be written. */
  g_autofree char *message = g_strdup_printf (_("Progress cannot be saved for after a crash: %s"),
                                              error->message);

  digit_train_page_show_toast (self, message);
}

static void
show_results (AdwToast       *toast,
              DigitTrainPage *self)
{
  gtk_stack_set_visible_child_name (self->results_stack, "results");
}

static void
on_run_evaluated (DigitRun       *run,
                  DigitTrainPage *self)
{
  DigitEvaluation *evaluation = digit_run_get_evaluation (run);
  GtkWidget *overlay;

  digit_train_events_evaluated (digit_run_get_name (run), digit_evaluation_get_accuracy (evaluation),
                                digit_evaluation_get_n_images (evaluation));
  if (run == self->selected)
    update_results (self);
  update_status (self);

  /* The first evaluation of a run that has just ended is news. */
  overlay = gtk_widget_get_ancestor (GTK_WIDGET (self), ADW_TYPE_TOAST_OVERLAY);
  if (overlay != NULL && !g_object_get_data (G_OBJECT (run), "digit-announced"))
    {
      /* Translators: a run's name, then its test accuracy, "Run 1: 98.91% of the test images read right". */
      g_autofree char *message = g_strdup_printf (_("%s: %.2f%% of the test images read right"),
                                                  digit_run_get_name (run),
                                                  100.0 * digit_evaluation_get_accuracy (evaluation));
      AdwToast *toast = adw_toast_new (message);

      g_object_set_data (G_OBJECT (run), "digit-announced", GINT_TO_POINTER (TRUE));
      adw_toast_set_button_label (toast, _("_See Results"));
      adw_toast_set_timeout (toast, 6);
      g_signal_connect_object (toast, "button-clicked", G_CALLBACK (show_results), self, 0);
      adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (overlay), toast);
    }
}

static void
on_run_evaluating (DigitRun       *run,
                   GParamSpec     *pspec,
                   DigitTrainPage *self)
{
  if (run == self->selected)
    update_results (self);
}

static void
log_run_end (DigitTrainPage *self,
             DigitRun       *run)
{
  const char *events[] = { "train-finished", "train-stopped", "train-failed" };
  DigitRunState state = digit_run_get_state (run);
  const char *event = state == DIGIT_RUN_FINISHED ? events[0]
                      : state == DIGIT_RUN_STOPPED ? events[1] : events[2];

  digit_train_events_ended (event, digit_run_get_name (run), digit_run_get_progress (run),
                            digit_run_get_test_accuracy (run), digit_run_get_train_seconds (run),
                            digit_stall_monitor_get_max_ms (self->stall_monitor),
                            digit_run_get_error (run) != NULL ? digit_run_get_error (run)->message : NULL);
}

static void
on_run_state (DigitRun       *run,
              GParamSpec     *pspec,
              DigitTrainPage *self)
{
  DigitRunState state = digit_run_get_state (run);

  switch (state)
    {
    case DIGIT_RUN_TRAINING:
      /* Measured from the moment the training thread runs until the run
       * ends (pauses included), as the GUI tests want it. */
      if (run == self->active && !digit_stall_monitor_is_running (self->stall_monitor))
        digit_stall_monitor_start (self->stall_monitor);
      break;

    case DIGIT_RUN_PAUSED:
      if (self->resume_when_ready)
        {
          /* A run brought back from its checkpoint, asked to go on. */
          self->resume_when_ready = FALSE;
          digit_train_events_pause ("train-resumed", digit_run_get_name (run), digit_run_get_progress (run));
          digit_run_resume (run);
          return;
        }
      digit_train_events_pause ("train-paused", digit_run_get_name (run), digit_run_get_progress (run));
      break;

    case DIGIT_RUN_FINISHED:
    case DIGIT_RUN_STOPPED:
    case DIGIT_RUN_FAILED:
      if (run == self->active)
        {
          log_run_end (self, run);
          digit_stall_monitor_stop (self->stall_monitor);
          digit_train_page_set_active (self, NULL);
        }
      if (state == DIGIT_RUN_FAILED)
        {
          /* Translators: %s is a run's name, then why it failed. */
          g_autofree char *message = g_strdup_printf (_("%s failed: %s"), digit_run_get_name (run),
                                                      digit_run_get_error (run)->message);

          digit_train_page_show_toast (self, message);
        }
      break;

    default:
      break;
    }
  digit_train_page_update (self);
}

static void
on_run_name (DigitRun       *run,
             GParamSpec     *pspec,
             DigitTrainPage *self)
{
  name_series (self, find_entry (self, run));
  digit_train_page_update (self);
}

static void
on_run_shown (DigitRun       *run,
              GParamSpec     *pspec,
              DigitTrainPage *self)
{
  show_series (self, find_entry (self, run));
}

static void
on_row_activated (DigitRunRow    *row,
                  const char     *item,
                  DigitTrainPage *self)
{
  DigitRun *run = digit_run_row_get_run (row);

  if (g_strcmp0 (item, "use-model") == 0)
    digit_train_page_use_model (self, run);
  else if (g_strcmp0 (item, "save-model") == 0)
    digit_train_page_save_model (self, run);
  else if (g_strcmp0 (item, "evaluate") == 0)
    {
      digit_train_page_select_run (self, run);
      gtk_stack_set_visible_child_name (self->results_stack, "results");
      digit_run_evaluate (run);
    }
  else if (g_strcmp0 (item, "remove") == 0)
    digit_train_page_remove_run (self, run);
}

/* ---- Runs ------------------------------------------------------------------------------ */

static void
run_entry_free (gpointer data)
{
  RunEntry *entry = data;

  g_signal_handlers_disconnect_by_data (entry->run, entry->page);
  g_object_unref (entry->run);
  g_free (entry);
}

void
digit_train_page_add_run (DigitTrainPage *self,
                          DigitRun       *run)
{
  RunEntry *entry = g_new0 (RunEntry, 1);
  GdkRGBA color;

  entry->page = self;
  entry->run = g_object_ref (run);
  digit_run_get_color (run, &color);
  entry->loss_series = digit_plot_add_series (self->loss_plot, NULL, &color, DIGIT_PLOT_RAW_SMOOTHED);
  entry->test_series = digit_plot_add_series (self->accuracy_plot, NULL, &color,
                                              DIGIT_PLOT_LINE | DIGIT_PLOT_MARKERS);
  entry->train_series = digit_plot_add_series (self->accuracy_plot, NULL, &color,
                                               DIGIT_PLOT_DASHED | DIGIT_PLOT_MARKERS);
  /* Curves already drawn (a run brought back from its checkpoint). */
  {
    GArray *losses = digit_run_get_loss_curve (run);
    GArray *train = digit_run_get_train_accuracy_curve (run);
    GArray *test = digit_run_get_test_accuracy_curve (run);

    digit_plot_append_points (self->loss_plot, entry->loss_series, (DigitPlotPoint *) losses->data, losses->len);
    digit_plot_append_points (self->accuracy_plot, entry->train_series, (DigitPlotPoint *) train->data, train->len);
    digit_plot_append_points (self->accuracy_plot, entry->test_series, (DigitPlotPoint *) test->data, test->len);
  }
  name_series (self, entry);
  g_ptr_array_add (self->runs, entry);

  g_signal_connect (run, "batches", G_CALLBACK (on_run_batches), self);
  g_signal_connect (run, "epoch", G_CALLBACK (on_run_epoch), self);
  g_signal_connect (run, "evaluated", G_CALLBACK (on_run_evaluated), self);
  g_signal_connect (run, "checkpoint-failed", G_CALLBACK (on_run_checkpoint_failed), self);
  g_signal_connect (run, "notify::state", G_CALLBACK (on_run_state), self);
  g_signal_connect (run, "notify::evaluating", G_CALLBACK (on_run_evaluating), self);
  g_signal_connect (run, "notify::name", G_CALLBACK (on_run_name), self);
  g_signal_connect (run, "notify::shown", G_CALLBACK (on_run_shown), self);

  entry->row = digit_run_row_new (run);
  g_signal_connect (entry->row, "activated", G_CALLBACK (on_row_activated), self);
  gtk_flow_box_append (self->runs_box, entry->row);
  gtk_widget_set_visible (GTK_WIDGET (self->runs_scroller), TRUE);
  show_series (self, entry);
}

/* A removed run is only hidden, its row, curves and model intact, while
 * its toast offers Undo: a mis-click must not lose minutes of training.
 * It goes for good when the toast goes without Undo, or with the page.
 * The records hang on the page as object data: one at most, since a new
 * removal ends the one before. */
typedef struct {
  DigitTrainPage *page;
  RunEntry       *entry;
  AdwToast       *toast;
  guint           index;        /* in page->runs, to go back to */
  gboolean        was_selected;
  gboolean        restored;
} RemovedRun;

#define REMOVED_KEY "digit-removed-runs"

static GPtrArray *
get_removed (DigitTrainPage *self)
{
  GPtrArray *removed = g_object_get_data (G_OBJECT (self), REMOVED_KEY);

  if (removed == NULL)
    {
      removed = g_ptr_array_new ();
      g_object_set_data_full (G_OBJECT (self), REMOVED_KEY, removed, (GDestroyNotify) g_ptr_array_unref);
    }
  return removed;
}

static void
hide_entry (DigitTrainPage *self,
            RunEntry       *entry)
{
  gtk_widget_set_visible (gtk_widget_get_parent (entry->row), FALSE);
  /* The run's own "shown" stays as it is, for Undo to bring back. */
  digit_plot_set_series_visible (self->loss_plot, entry->loss_series, FALSE);
  digit_plot_set_series_visible (self->accuracy_plot, entry->test_series, FALSE);
  digit_plot_set_series_visible (self->accuracy_plot, entry->train_series, FALSE);
  /* An evaluation still on its way must not reach a run off the page. */
  g_signal_handlers_block_matched (entry->run, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, self);
}

static void
unhide_entry (DigitTrainPage *self,
              RunEntry       *entry)
{
  g_signal_handlers_unblock_matched (entry->run, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, self);
  gtk_widget_set_visible (gtk_widget_get_parent (entry->row), TRUE);
  show_series (self, entry);
}

static void
free_entry_for_good (DigitTrainPage *self,
                     RunEntry       *entry)
{
  digit_plot_remove_series (self->loss_plot, entry->loss_series);
  digit_plot_remove_series (self->accuracy_plot, entry->test_series);
  digit_plot_remove_series (self->accuracy_plot, entry->train_series);
  gtk_flow_box_remove (self->runs_box, gtk_widget_get_parent (entry->row));
  run_entry_free (entry);
}

/* After a run left the list: the results follow the last run left. */
static void
runs_changed (DigitTrainPage *self)
{
  gtk_widget_set_visible (GTK_WIDGET (self->runs_scroller), self->runs->len > 0);
  if (self->selected == NULL && self->runs->len > 0)
    digit_train_page_select_run (self, ((RunEntry *) g_ptr_array_index (self->runs, self->runs->len - 1))->run);
  update_x_ranges (self);
  digit_train_page_update (self);
}

static void
on_removed_undo (AdwToast   *toast,
                 RemovedRun *removed)
{
  DigitTrainPage *self = removed->page;
  RunEntry *entry = removed->entry;

  removed->restored = TRUE;
  g_ptr_array_insert (self->runs, MIN (removed->index, self->runs->len), entry);
  unhide_entry (self, entry);
  digit_train_events_run ("run-restored", digit_run_get_name (entry->run));
  gtk_widget_set_visible (GTK_WIDGET (self->runs_scroller), TRUE);
  if (removed->was_selected)
    digit_train_page_select_run (self, entry->run);
  else
    digit_train_page_update (self);
}

static void
removed_run_free (RemovedRun *removed)
{
  g_signal_handlers_disconnect_by_data (removed->toast, removed);
  g_object_unref (removed->toast);
  g_free (removed);
}

/* The toast went: by its close button, its timeout, Undo (which comes
 * first), or a later removal. */
static void
on_removed_dismissed (AdwToast   *toast,
                      RemovedRun *removed)
{
  DigitTrainPage *self = removed->page;

  if (!removed->restored)
    free_entry_for_good (self, removed->entry);
  g_ptr_array_remove (get_removed (self), removed);
  removed_run_free (removed);
}

/* The page goes: runs still waiting for their toast go with it, and the
 * toast, left to time out, no longer answers. */
static void
forget_removed (DigitTrainPage *self)
{
  GPtrArray *pending = g_object_get_data (G_OBJECT (self), REMOVED_KEY);

  while (pending != NULL && pending->len > 0)
    {
      RemovedRun *removed = g_ptr_array_steal_index (pending, pending->len - 1);

      if (!removed->restored)
        run_entry_free (removed->entry);
      removed_run_free (removed);
    }
}

void
digit_train_page_remove_run (DigitTrainPage *self,
                             DigitRun       *run)
{
  RunEntry *entry = find_entry (self, run);
  GtkWidget *overlay = gtk_widget_get_ancestor (GTK_WIDGET (self), ADW_TYPE_TOAST_OVERLAY);
  GPtrArray *pending = get_removed (self);
  g_autofree char *message = NULL;
  RemovedRun *removed;
  guint index;

  if (entry == NULL || digit_run_is_active (run))
    return;
  /* Undo is for the last removal: the ones before go for good now. */
  while (pending->len > 0)
    adw_toast_dismiss (((RemovedRun *) g_ptr_array_index (pending, pending->len - 1))->toast);

  g_ptr_array_find (self->runs, entry, &index);
  g_ptr_array_steal_index (self->runs, index);
  digit_train_events_run ("run-removed", digit_run_get_name (run));
  removed = g_new0 (RemovedRun, 1);
  removed->page = self;
  removed->entry = entry;
  removed->index = index;
  removed->was_selected = self->selected == run;
  if (self->selected == run)
    g_clear_object (&self->selected);
  if (overlay == NULL)
    {
      /* No window to show a toast in, so no Undo either. */
      g_free (removed);
      free_entry_for_good (self, entry);
      runs_changed (self);
      return;
    }

  hide_entry (self, entry);
  /* Translators: a toast with an Undo button; %s is a run's name, "“Run 1” removed". */
  message = g_strdup_printf (_("“%s” removed"), digit_run_get_name (run));
  removed->toast = g_object_ref (adw_toast_new (message));
  adw_toast_set_button_label (removed->toast, _("_Undo"));
  /* Now, while the click that removed it is fresh; a toast up is queued. */
  adw_toast_set_priority (removed->toast, ADW_TOAST_PRIORITY_HIGH);
  g_signal_connect (removed->toast, "button-clicked", G_CALLBACK (on_removed_undo), removed);
  g_signal_connect (removed->toast, "dismissed", G_CALLBACK (on_removed_dismissed), removed);
  g_ptr_array_add (pending, removed);
  runs_changed (self);
  adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (overlay), removed->toast);
}

void
digit_train_page_select_run (DigitTrainPage *self,
                             DigitRun       *run)
{
  RunEntry *entry = run != NULL ? find_entry (self, run) : NULL;

  g_set_object (&self->selected, run);
  if (entry != NULL)
    {
      GtkWidget *child = gtk_widget_get_parent (entry->row);

      if (!gtk_flow_box_child_is_selected (GTK_FLOW_BOX_CHILD (child)))
        gtk_flow_box_select_child (self->runs_box, GTK_FLOW_BOX_CHILD (child));
    }
  digit_train_page_update (self);
}

void
digit_train_page_set_active (DigitTrainPage *self,
                             DigitRun       *run)
{
  g_set_object (&self->active, run);
}

static void
on_selected_children_changed (GtkFlowBox     *box,
                              DigitTrainPage *self)
{
  g_autoptr(GList) selected = gtk_flow_box_get_selected_children (box);
  GtkWidget *row;

  if (selected == NULL)
    return;
  row = gtk_flow_box_child_get_child (selected->data);
  if (digit_run_row_get_run (DIGIT_RUN_ROW (row)) != self->selected)
    digit_train_page_select_run (self, digit_run_row_get_run (DIGIT_RUN_ROW (row)));
}

static void
on_cell_activated (DigitConfusionView *view,
                   guint               truth,
                   guint               predicted,
                   DigitTrainPage     *self)
{
  DigitEvaluation *evaluation;
  GtkWidget *window;
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  if (self->selected == NULL || (evaluation = digit_run_get_evaluation (self->selected)) == NULL)
    return;
  window = digit_cell_images_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, evaluation,
                                  truth, predicted, digit_run_get_name (self->selected));
  gtk_window_present (GTK_WINDOW (window));
}

static void
on_form_changed (DigitTrainPage *self)
{
  if (digit_train_form_get_data (self->form) != NULL)
    digit_train_page_data_ready (self);
  digit_train_page_update (self);
}

static void
on_large_text (DigitTrainPage *self)
{
  gboolean large = gtk_toggle_button_get_active (self->large_text_button);

  digit_plot_set_large_text (self->loss_plot, large);
  digit_plot_set_large_text (self->accuracy_plot, large);
}

/* ---- Public ------------------------------------------------------------------------------ */

void
digit_train_page_set_settings (DigitTrainPage *self,
                               GSettings      *settings)
{
  g_return_if_fail (DIGIT_IS_TRAIN_PAGE (self));

  if (settings != NULL && self->settings == NULL)
    {
      self->settings = g_object_ref (settings);
      g_settings_bind (settings, "plot-large-text", self->large_text_button, "active",
                       G_SETTINGS_BIND_DEFAULT);
    }
  digit_train_form_set_settings (self->form, settings);
  digit_train_page_offer_interrupted (self);
  digit_train_page_update (self);
}

/* ---- GObject ------------------------------------------------------------------------------ */

static void
digit_train_page_dispose (GObject *object)
{
  DigitTrainPage *self = DIGIT_TRAIN_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  if (self->save_chooser != NULL)
    gtk_native_dialog_destroy (self->save_chooser);
  g_clear_object (&self->save_chooser);
  /* Training threads stop at their next batch; the last checkpoint stays
   * for the next session to offer. */
  g_clear_object (&self->active);
  g_clear_object (&self->selected);
  forget_removed (self);
  g_clear_pointer (&self->runs, g_ptr_array_unref);
  g_clear_pointer (&self->stall_monitor, digit_stall_monitor_free);
  g_clear_object (&self->settings);
  g_clear_object (&self->start_action);
  g_clear_object (&self->pause_action);
  g_clear_object (&self->resume_action);
  g_clear_object (&self->stop_action);
  g_clear_object (&self->use_model_action);
  gtk_widget_dispose_template (GTK_WIDGET (self), DIGIT_TYPE_TRAIN_PAGE);

  G_OBJECT_CLASS (digit_train_page_parent_class)->dispose (object);
}

static void
digit_train_page_finalize (GObject *object)
{
  DigitTrainPage *self = DIGIT_TRAIN_PAGE (object);

  g_clear_object (&self->loss_plot);
  g_clear_object (&self->accuracy_plot);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->interrupted, digit_checkpoint_info_free);

  G_OBJECT_CLASS (digit_train_page_parent_class)->finalize (object);
}

static void
digit_train_page_class_init (DigitTrainPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = digit_train_page_dispose;
  object_class->finalize = digit_train_page_finalize;

  g_type_ensure (DIGIT_TYPE_TRAIN_FORM);
  g_type_ensure (DIGIT_TYPE_PLOT_VIEW);
  g_type_ensure (DIGIT_TYPE_CONFUSION_VIEW);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/digitlab/DigitLab/digit-train-page.ui");
#define CHILD(name) gtk_widget_class_bind_template_child (widget_class, DigitTrainPage, name)
  CHILD (form);
  CHILD (resume_revealer);
  CHILD (resume_label);
  CHILD (status_title);
  CHILD (status_details);
  CHILD (progress_bar);
  CHILD (use_button);
  CHILD (save_button);
  CHILD (start_button);
  CHILD (pause_button);
  CHILD (resume_button);
  CHILD (stop_button);
  CHILD (hint_label);
  CHILD (large_text_button);
  CHILD (results_stack);
  CHILD (results_content);
  CHILD (loss_view);
  CHILD (accuracy_view);
  CHILD (evaluating_spinner);
  CHILD (results_run_label);
  CHILD (accuracy_label);
  CHILD (accuracy_caption);
  CHILD (mistakes_label);
  CHILD (confusion_view);
  CHILD (runs_scroller);
  CHILD (runs_box);
#undef CHILD

  digit_train_page_class_add_actions (widget_class);
}

static void
digit_train_page_init (DigitTrainPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->runs = g_ptr_array_new_with_free_func (run_entry_free);
  self->next_run_number = 1;
  self->stall_monitor = digit_stall_monitor_new ();
  self->cancellable = g_cancellable_new ();
  setup_plots (self);

  g_signal_connect_swapped (self->form, "notify::data", G_CALLBACK (on_form_changed), self);
  g_signal_connect_swapped (self->form, "notify::loading", G_CALLBACK (on_form_changed), self);
  /* Validity changes with the problem too. */
  g_signal_connect_swapped (self->form, "notify::problem", G_CALLBACK (digit_train_page_update), self);
  g_signal_connect_swapped (self->large_text_button, "toggled", G_CALLBACK (on_large_text), self);
  g_signal_connect_swapped (self->results_stack, "notify::visible-child", G_CALLBACK (update_hint), self);
  g_signal_connect (self->runs_box, "selected-children-changed",
                    G_CALLBACK (on_selected_children_changed), self);
  g_signal_connect (self->confusion_view, "cell-activated", G_CALLBACK (on_cell_activated), self);

  digit_train_page_update (self);
}

GtkWidget *
digit_train_page_new (void)
{
  return g_object_new (DIGIT_TYPE_TRAIN_PAGE, NULL);
}

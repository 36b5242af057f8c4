/* digit-train-page-actions.c — what the training page does when asked:
 * start, pause, resume and stop runs; hand a model to the window or save
 * it; resume or discard a run an earlier session left unfinished.
 *
 * Start, pause, resume, stop and use-model are application actions
 * ("app.train.start", ...): they carry the accelerators, the page's
 * buttons point at them, and D-Bus reaches them, which is how the GUI
 * tests drive a run.
 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "digit-event-log.h"
#include "digit-train-events.h"
#include "digit-train-page-private.h"
#include "digit-window.h"

/* Longer than a double-click (GTK's default is 400 ms), far shorter than
 * anyone takes to decide a run was a mistake. */
#define STOP_GRACE_US (500 * G_TIME_SPAN_MILLISECOND)

#define MODEL_SUFFIX "safetensors"

/* ---- Starting and steering ---------------------------------------------------- */

/* The N of a name "Run N" as this locale writes it, or 0 for any other
 * name. */
static guint
run_number_of (const char *name)
{
  /* Translators: the name of a new run, "Run 1", "Run 2", ... */
  const char *format = _("Run %u");
  const char *hole = strstr (format, "%u");
  const char *digits;
  char *end;
  guint64 number;

  if (hole == NULL || strncmp (name, format, hole - format) != 0)
    return 0;
  digits = name + (hole - format);
  if (!g_ascii_isdigit (*digits))
    return 0;
  number = g_ascii_strtoull (digits, &end, 10);
  if (strcmp (end, hole + 2) != 0 || number >= G_MAXUINT)
    return 0;
  return number;
}

static gboolean
run_name_is_taken (DigitTrainPage *self,
                   const char     *name)
{
  for (guint i = 0; i < self->runs->len; i++)
    {
      RunEntry *entry = g_ptr_array_index (self->runs, i);

      if (g_strcmp0 (digit_run_get_name (entry->run), name) == 0)
        return TRUE;
    }
  return FALSE;
}

/* "Run N" with the first N from next_run_number on that no run of the
 * session is called: a resumed run keeps the name an earlier session gave
 * it, and a run can be renamed, so the count alone could repeat a name. */
static char *
next_run_name (DigitTrainPage *self)
{
  for (;;)
    {
      /* Translators: the name of a new run, "Run 1", "Run 2", ... */
      g_autofree char *name = g_strdup_printf (_("Run %u"), self->next_run_number++);

      if (!run_name_is_taken (self, name))
        return g_steal_pointer (&name);
    }
}

static void
discard_interrupted (DigitTrainPage *self)
{
  if (self->interrupted == NULL)
    return;
  digit_checkpoint_discard ();
  g_clear_pointer (&self->interrupted, digit_checkpoint_info_free);
  gtk_revealer_set_reveal_child (self->resume_revealer, FALSE);
}

static void
begin_run (DigitTrainPage *self,
           DigitRun       *run)
{
  digit_train_page_add_run (self, run);
  digit_train_page_set_active (self, run);
  digit_train_page_select_run (self, run);
  gtk_stack_set_visible_child_name (self->results_stack, "curves");
}

static void
start_training (DigitTrainPage *self)
{
  g_autofree char *spec = NULL;
  g_autofree char *name = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(DigitRun) run = NULL;
  DigitTrainingData *data;
  NnTrainConfig config;
  guint train_limit;

  if (self->active != NULL)
    {
      /* One run at a time: it has every core. Start on a paused run goes on. */
      if (digit_run_get_state (self->active) == DIGIT_RUN_PAUSED)
        {
          digit_train_events_pause ("train-resumed", digit_run_get_name (self->active),
                                    digit_run_get_progress (self->active));
          digit_run_resume (self->active);
        }
      return;
    }
  if (!digit_train_form_get_run_settings (self->form, &spec, &config, &train_limit, &error))
    {
      /* Translators: %s says which setting is wrong and why. */
      g_autofree char *message = g_strdup_printf (_("Cannot start: %s"), error->message);

      digit_train_page_show_toast (self, message);
      return;
    }
  data = digit_train_form_get_data (self->form);
  if (data == NULL)
    {
      /* Started from the keyboard or D-Bus before the page was shown. */
      digit_train_form_load_data (self->form);
      if (digit_train_form_is_loading (self->form))
        {
          self->start_pending = TRUE;
          digit_train_page_update (self);
          return;
        }
      digit_train_page_show_toast (self, _("There is nothing to train on yet: choose the folder with the MNIST files."));
      return;
    }

  self->start_pending = FALSE;
  /* The new run's checkpoints take the old one's place. */
  discard_interrupted (self);
  name = next_run_name (self);
  run = digit_run_new (name, spec, &config, data, train_limit, self->next_color++);
  begin_run (self, run);
  digit_train_events_started (name, nn_spec_expand (spec), digit_run_get_n_train_images (run),
                              config.epochs, config.batch_size);
  digit_run_start (run, TRUE);
  self->started_us = g_get_monotonic_time ();
  digit_train_page_update (self);
}

void
digit_train_page_data_ready (DigitTrainPage *self)
{
  if (self->start_pending)
    start_training (self);
}

static void
on_start (GSimpleAction *action,
          GVariant      *parameter,
          gpointer       user_data)
{
  start_training (DIGIT_TRAIN_PAGE (user_data));
}

static void
on_pause (GSimpleAction *action,
          GVariant      *parameter,
          gpointer       user_data)
{
  DigitTrainPage *self = DIGIT_TRAIN_PAGE (user_data);

  if (self->active != NULL)
    digit_run_pause (self->active);
}

static void resume_interrupted (DigitTrainPage *self);

/* Resumes the paused run, or else the one an earlier session left. */
static void
on_resume (GSimpleAction *action,
           GVariant      *parameter,
           gpointer       user_data)
{
  DigitTrainPage *self = DIGIT_TRAIN_PAGE (user_data);

  if (self->active != NULL && digit_run_get_state (self->active) == DIGIT_RUN_PAUSED)
    {
      digit_train_events_pause ("train-resumed", digit_run_get_name (self->active),
                                digit_run_get_progress (self->active));
      digit_run_resume (self->active);
    }
  else if (self->active == NULL)
    {
      resume_interrupted (self);
    }
}

static void
on_stop (GSimpleAction *action,
         GVariant      *parameter,
         gpointer       user_data)
{
  DigitTrainPage *self = DIGIT_TRAIN_PAGE (user_data);

  /* Stop takes Start's place in the status card, so the second click of a
   * double-click on Start would stop the run it just started: a stop that
   * soon after a start is taken for that. */
  if (self->active != NULL && g_get_monotonic_time () - self->started_us < STOP_GRACE_US)
    return;
  self->start_pending = FALSE;
  if (self->active != NULL)
    digit_run_stop (self->active);
  digit_train_page_update (self);
}

/* ---- Using and saving models ------------------------------------------------------ */

typedef struct {
  GWeakRef  page;
  char     *name;
  char     *path;      /* for saving */
} ModelJob;

static ModelJob *
model_job_new (DigitTrainPage *self,
               DigitRun       *run)
{
  ModelJob *job = g_new0 (ModelJob, 1);

  g_weak_ref_init (&job->page, self);
  job->name = g_strdup (digit_run_get_name (run));
  return job;
}

static void
model_job_free (ModelJob *job)
{
  g_weak_ref_clear (&job->page);
  g_free (job->name);
  g_free (job->path);
  g_free (job);
}

static void
on_model_to_use (NnModel  *model,
                 gpointer  user_data)
{
  ModelJob *job = user_data;
  g_autoptr(DigitTrainPage) self = g_weak_ref_get (&job->page);
  GtkRoot *root;

  if (self == NULL || model == NULL)
    {
      if (self != NULL)
        digit_train_page_show_toast (self, _("This run has no model to use yet."));
      g_clear_pointer (&model, nn_model_free);
      model_job_free (job);
      return;
    }
  root = gtk_widget_get_root (GTK_WIDGET (self));
  if (DIGIT_IS_WINDOW (root))
    {
      /* Translators: %s is a run's name. */
      g_autofree char *message = g_strdup_printf (_("Drawings are now recognised by “%s”"), job->name);

      digit_window_set_model (DIGIT_WINDOW (root), model, job->name);
      digit_train_page_show_toast (self, message);
    }
  else
    {
      nn_model_free (model);
    }
  model_job_free (job);
}

void
digit_train_page_use_model (DigitTrainPage *self,
                            DigitRun       *run)
{
  if (run == NULL || !digit_run_has_model (run))
    {
      digit_train_page_show_toast (self, _("This run has no model to use yet."));
      return;
    }
  /* While training: a copy taken between two batches. */
  digit_run_copy_model (run, on_model_to_use, model_job_new (self, run));
}

static void
save_in_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  NnModel *model = task_data;
  const char *path = g_object_get_data (G_OBJECT (task), "path");
  GError *error = NULL;

  if (nn_model_save (model, path, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
on_saved (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  ModelJob *job = user_data;
  g_autoptr(DigitTrainPage) self = g_weak_ref_get (&job->page);
  g_autoptr(GError) error = NULL;

  if (self != NULL)
    {
      g_autofree char *basename = g_path_get_basename (job->path);
      g_autofree char *message = NULL;

      if (g_task_propagate_boolean (G_TASK (result), &error))
        /* Translators: %s is the file a model was saved to. */
        message = g_strdup_printf (_("Model saved as “%s”"), basename);
      else
        /* Translators: %s says why the model could not be saved. */
        message = g_strdup_printf (_("Could not save the model: %s"), error->message);
      digit_train_page_show_toast (self, message);
    }
  model_job_free (job);
}

static void
on_model_to_save (NnModel  *model,
                  gpointer  user_data)
{
  ModelJob *job = user_data;
  g_autoptr(GTask) task = NULL;

  if (model == NULL)
    {
      g_autoptr(DigitTrainPage) self = g_weak_ref_get (&job->page);

      if (self != NULL)
        digit_train_page_show_toast (self, _("This run has no model to save yet."));
      model_job_free (job);
      return;
    }
  /* Written off the main thread: the file is synced to disk. */
  task = g_task_new (NULL, NULL, on_saved, job);
  g_object_set_data_full (G_OBJECT (task), "path", g_strdup (job->path), g_free);
  g_task_set_task_data (task, model, (GDestroyNotify) nn_model_free);
  g_task_run_in_thread (task, save_in_thread);
}

/* A name typed without any extension gets ours, so that the Open dialog
 * finds the file later. */
static char *
path_with_suffix (const char *path)
{
  g_autofree char *basename = g_path_get_basename (path);

  if (strchr (basename, '.') != NULL || g_file_test (path, G_FILE_TEST_EXISTS))
    return g_strdup (path);
  return g_strconcat (path, "." MODEL_SUFFIX, NULL);
}

static void
on_save_response (GtkNativeDialog *dialog,
                  int              response,
                  DigitTrainPage  *self)
{
  DigitRun *run = g_object_get_data (G_OBJECT (dialog), "run");

  if (response == GTK_RESPONSE_ACCEPT && run != NULL)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;

      if (path == NULL)
        {
          digit_train_page_show_toast (self, _("Models can only be saved to files on this computer."));
        }
      else
        {
          ModelJob *job = model_job_new (self, run);

          job->path = path_with_suffix (path);
          digit_run_copy_model (run, on_model_to_save, job);
        }
    }
  g_clear_object (&self->save_chooser);
}

void
digit_train_page_save_model (DigitTrainPage *self,
                             DigitRun       *run)
{
  GtkFileChooserNative *chooser;
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();
  g_autofree char *file_name = NULL;
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  if (run == NULL || self->save_chooser != NULL)
    return;
  if (!digit_run_has_model (run))
    {
      digit_train_page_show_toast (self, _("This run has no model to save yet."));
      return;
    }
  chooser = gtk_file_chooser_native_new (_("Save Model"), GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                         GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"), _("_Cancel"));
  gtk_file_filter_set_name (filter, _("Models (safetensors)"));
  gtk_file_filter_add_suffix (filter, MODEL_SUFFIX);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  file_name = g_strconcat (digit_run_get_name (run), "." MODEL_SUFFIX, NULL);
  g_strdelimit (file_name, "/\\:*?\"<>|", '-');
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), file_name);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_object_set_data_full (G_OBJECT (chooser), "run", g_object_ref (run), g_object_unref);
  g_signal_connect (chooser, "response", G_CALLBACK (on_save_response), self);
  self->save_chooser = GTK_NATIVE_DIALOG (chooser);
  gtk_native_dialog_show (self->save_chooser);
}

/* Brings the page into view (the "Show" button of the interrupted-run
 * toast, and scripts). */
static void
on_show (GSimpleAction *action,
         GVariant      *parameter,
         gpointer       user_data)
{
  DigitTrainPage *self = DIGIT_TRAIN_PAGE (user_data);
  GtkWidget *stack = gtk_widget_get_ancestor (GTK_WIDGET (self), ADW_TYPE_VIEW_STACK);
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  /* The page is the stack's child itself. */
  if (stack != NULL)
    adw_view_stack_set_visible_child (ADW_VIEW_STACK (stack), GTK_WIDGET (self));
  if (GTK_IS_WINDOW (root))
    gtk_window_present (GTK_WINDOW (root));
}

static void
on_use_model (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       user_data)
{
  DigitTrainPage *self = DIGIT_TRAIN_PAGE (user_data);

  digit_train_page_use_model (self, digit_train_page_get_shown_run (self));
}

static void
save_model_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  DigitTrainPage *self = DIGIT_TRAIN_PAGE (widget);

  digit_train_page_save_model (self, digit_train_page_get_shown_run (self));
}

/* ---- A run left unfinished by an earlier session --------------------------------- */

static void
show_train_page (AdwToast       *toast,
                 DigitTrainPage *self)
{
  on_show (NULL, NULL, self);
}

void
digit_train_page_offer_interrupted (DigitTrainPage *self)
{
  g_autoptr(GError) error = NULL;
  DigitCheckpointInfo *info;
  g_autofree char *text = NULL;
  const char *preset;
  GtkWidget *overlay;

  if (self->interrupted != NULL || self->active != NULL)
    return;
  info = digit_checkpoint_find (&error);
  if (info == NULL)
    {
      if (error != NULL)
        {
          /* Nothing to be done with a description that does not read. */
          g_message ("Forgetting the interrupted training run: %s", error->message);
          digit_checkpoint_discard ();
        }
      return;
    }
  self->interrupted = info;
  preset = digit_preset_for_spec (info->spec);
  /* Translators: a run interrupted by closing the app or a crash: its
   * name, its architecture, its data set, and how far it got. */
  text = g_strdup_printf (_("“%s” (%s on %s) had finished %u of %u epochs. Resume it to carry on "
                            "from there; starting a new run discards it."),
                          info->name, preset != NULL ? digit_preset_label (preset) : _("Custom"),
                          info->data_name, info->epochs_done, info->config.epochs);
  gtk_label_set_text (self->resume_label, text);
  gtk_revealer_set_reveal_child (self->resume_revealer, TRUE);
  digit_train_events_interrupted (info->name, info->epochs_done, info->config.epochs);

  /* Said in the window too, wherever the person is. */
  overlay = gtk_widget_get_ancestor (GTK_WIDGET (self), ADW_TYPE_TOAST_OVERLAY);
  if (overlay != NULL)
    {
      AdwToast *toast = adw_toast_new (_("A training run was interrupted and can be resumed"));

      adw_toast_set_button_label (toast, _("_Show"));
      adw_toast_set_timeout (toast, 8);
      g_signal_connect_object (toast, "button-clicked", G_CALLBACK (show_train_page), self, 0);
      adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (overlay), toast);
    }
}

static void
continue_interrupted (DigitTrainPage    *self,
                      DigitTrainingData *data)
{
  g_autoptr(DigitCheckpointInfo) info = g_steal_pointer (&self->interrupted);
  g_autoptr(DigitRun) run = NULL;

  gtk_revealer_set_reveal_child (self->resume_revealer, FALSE);
  self->next_color = MAX (self->next_color, info->color_index + 1);
  /* After resuming "Run 4", the next new run is "Run 5", not "Run 1". */
  self->next_run_number = MAX (self->next_run_number, run_number_of (info->name) + 1);
  run = digit_run_new_from_checkpoint (info, data);
  /* It loads as paused; then on_run_state() resumes it. */
  self->resume_when_ready = TRUE;
  begin_run (self, run);
  digit_train_page_update (self);
}

static void
on_interrupted_data (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DigitTrainingData) data = digit_training_data_load_finish (result, &error);
  DigitTrainPage *self;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = DIGIT_TRAIN_PAGE (user_data);
  if (data == NULL)
    {
      /* Translators: %s says why the data set could not be read. */
      g_autofree char *message = g_strdup_printf (_("Cannot resume: %s"), error->message);

      digit_train_page_show_toast (self, message);
      gtk_revealer_set_reveal_child (self->resume_revealer, TRUE);
      return;
    }
  if (self->interrupted != NULL && self->active == NULL)
    continue_interrupted (self, data);
}

static void
resume_interrupted (DigitTrainPage *self)
{
  DigitTrainingData *data = digit_train_form_get_data (self->form);

  if (self->interrupted == NULL || self->active != NULL)
    return;
  if (data != NULL && g_strcmp0 (digit_training_data_get_folder (data), self->interrupted->data_folder) == 0)
    {
      continue_interrupted (self, data);
      return;
    }
  /* Its data is not the one loaded: read it first. */
  gtk_revealer_set_reveal_child (self->resume_revealer, FALSE);
  digit_training_data_load_async (self->interrupted->data_folder, self->interrupted->data_name,
                                  self->cancellable, on_interrupted_data, self);
}

static void
resume_interrupted_action (GtkWidget  *widget,
                           const char *action_name,
                           GVariant   *parameter)
{
  resume_interrupted (DIGIT_TRAIN_PAGE (widget));
}

static void
discard_interrupted_action (GtkWidget  *widget,
                            const char *action_name,
                            GVariant   *parameter)
{
  discard_interrupted (DIGIT_TRAIN_PAGE (widget));
}

/* ---- Registration ----------------------------------------------------------------- */

void
digit_train_page_update_actions (DigitTrainPage *self)
{
  DigitRun *shown = digit_train_page_get_shown_run (self);
  DigitRunState state = self->active != NULL ? digit_run_get_state (self->active) : DIGIT_RUN_NEW;
  gboolean has_model = shown != NULL && digit_run_has_model (shown);

  if (self->start_action != NULL)
    {
      g_simple_action_set_enabled (self->start_action, self->active == NULL || state == DIGIT_RUN_PAUSED);
      g_simple_action_set_enabled (self->pause_action, state == DIGIT_RUN_TRAINING);
      g_simple_action_set_enabled (self->resume_action,
                                   state == DIGIT_RUN_PAUSED || (self->active == NULL && self->interrupted != NULL));
      g_simple_action_set_enabled (self->stop_action,
                                   state == DIGIT_RUN_PREPARING || state == DIGIT_RUN_TRAINING
                                   || state == DIGIT_RUN_PAUSING || state == DIGIT_RUN_PAUSED);
      g_simple_action_set_enabled (self->use_model_action, has_model);
    }
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train-page.save-model", has_model);
}

static GSimpleAction *
add_action (GActionMap  *map,
            const char  *name,
            GCallback    callback,
            gpointer     user_data)
{
  GSimpleAction *action = g_simple_action_new (name, NULL);

  g_signal_connect_object (action, "activate", callback, user_data, 0);
  g_action_map_add_action (map, G_ACTION (action));
  return action;
}

/* With --log-predictions the app runs as an instance of its own
 * (G_APPLICATION_NON_UNIQUE), which exports its actions on the session
 * bus but does not take the application id. Taking the id when nobody
 * holds it lets scripts address this instance as any other:
 * `gapplication action io.github.digitlab.DigitLab train.stop`. */
static void
claim_application_id (GApplication *application)
{
  GDBusConnection *connection = g_application_get_dbus_connection (application);

  if (connection == NULL || !(g_application_get_flags (application) & G_APPLICATION_NON_UNIQUE)
      || !digit_event_log_is_enabled ())
    return;
  g_bus_own_name_on_connection (connection, g_application_get_application_id (application),
                                G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE, NULL, NULL, NULL, NULL);
}

void
digit_train_page_add_actions (DigitTrainPage *self,
                              GActionMap     *map)
{
  static const struct {
    const char *action;
    const char *accels[3];
  } accels[] = {
    { "app.train.start", { "<Control>Return", "<Control>KP_Enter", NULL } },
    { "app.train.pause", { "<Control>p", NULL } },
    { "app.train.stop", { "<Control>period", NULL } },
    { "app.train.use-model", { "<Control>u", NULL } },
  };

  g_return_if_fail (DIGIT_IS_TRAIN_PAGE (self));
  g_return_if_fail (G_IS_ACTION_MAP (map));

  g_clear_object (&self->start_action);
  g_clear_object (&self->pause_action);
  g_clear_object (&self->resume_action);
  g_clear_object (&self->stop_action);
  g_clear_object (&self->use_model_action);
  g_object_unref (add_action (map, "train.show", G_CALLBACK (on_show), self));
  self->start_action = add_action (map, "train.start", G_CALLBACK (on_start), self);
  self->pause_action = add_action (map, "train.pause", G_CALLBACK (on_pause), self);
  self->resume_action = add_action (map, "train.resume", G_CALLBACK (on_resume), self);
  self->stop_action = add_action (map, "train.stop", G_CALLBACK (on_stop), self);
  self->use_model_action = add_action (map, "train.use-model", G_CALLBACK (on_use_model), self);

  if (GTK_IS_APPLICATION (map))
    for (guint i = 0; i < G_N_ELEMENTS (accels); i++)
      gtk_application_set_accels_for_action (GTK_APPLICATION (map), accels[i].action, accels[i].accels);
  if (G_IS_APPLICATION (map))
    claim_application_id (G_APPLICATION (map));
  digit_train_page_update_actions (self);
}

void
digit_train_page_class_add_actions (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "train-page.save-model", NULL, save_model_action);
  gtk_widget_class_install_action (widget_class, "train-page.resume-interrupted", NULL,
                                   resume_interrupted_action);
  gtk_widget_class_install_action (widget_class, "train-page.discard-interrupted", NULL,
                                   discard_interrupted_action);
}

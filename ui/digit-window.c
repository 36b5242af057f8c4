/* digit-window.c — the main window: which model is in use, and its pages.
 *
 * The window owns the model; the pages borrow it. Loading is synchronous:
 * a model file is a few megabytes at most and validates in milliseconds,
 * which is quicker than any progress indicator could be shown.
 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "digit-application.h"
#include "digit-event-log.h"
#include "digit-model-info.h"
#include "digit-window-private.h"

G_DEFINE_FINAL_TYPE (DigitWindow, digit_window, ADW_TYPE_APPLICATION_WINDOW)

/* The header bar's model button: name and accuracy on it, the details in
 * its popover; and the view switcher's title, shown when the window is too
 * narrow for the switcher. */
static void
update_title (DigitWindow *self)
{
  g_autofree char *summary = NULL;
  g_autofree char *params = NULL;
  g_autofree char *spoken = NULL;
  const char *title;

  if (self->model == NULL)
    {
      title = _("No Model");
      summary = g_strdup (_("Open a model to recognise digits"));
      gtk_label_set_text (self->model_details_spec, "");
      gtk_widget_set_visible (GTK_WIDGET (self->model_details_spec), FALSE);
    }
  else
    {
      title = self->model_name;
      summary = digit_model_info_summary (self->model);
      gsize n_params = nn_model_get_param_count (self->model);

      /* Translators: the size of a network, e.g. "454,922 parameters". */
      params = g_strdup_printf (ngettext ("%'zu parameter", "%'zu parameters", n_params), n_params);
      gtk_label_set_text (self->model_details_spec, nn_model_get_spec (self->model));
      gtk_widget_set_visible (GTK_WIDGET (self->model_details_spec), TRUE);
    }

  adw_view_switcher_title_set_title (self->switcher_title, title);
  adw_view_switcher_title_set_subtitle (self->switcher_title, summary);
  gtk_label_set_text (self->model_button_title, title);
  gtk_label_set_text (self->model_button_subtitle, summary);
  gtk_label_set_text (self->model_details_title, title);
  gtk_label_set_text (self->model_details_summary, summary);
  gtk_label_set_text (self->model_details_params, params != NULL ? params : "");
  gtk_widget_set_visible (GTK_WIDGET (self->model_details_params), params != NULL);

  /* Translators: what a screen reader says of the model button, e.g.
   * "Model: Built-in Model, default · 99.6% test accuracy". */
  spoken = g_strdup_printf (_("Model: %s, %s"), title, summary);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->model_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, spoken,
                                  -1);
}

/* Takes @model (which may be NULL, with @why saying why). */
static void
set_model (DigitWindow *self,
           NnModel     *model,
           const char  *name,
           const char  *why)
{
  NnModel *old_model = self->model;

  self->model = model;
  g_free (self->model_name);
  self->model_name = g_strdup (name);
  /* Announced before the page predicts with it, so that a reader of the
   * events knows which model each prediction came from. */
  digit_event_log_model (model != NULL ? self->model_name : NULL,
                         model != NULL ? nn_model_get_spec (model) : NULL);
  /* The page lets go of the old model before it is freed. */
  digit_draw_page_set_model (self->draw_page, model, why);
  g_clear_pointer (&old_model, nn_model_free);

  update_title (self);
  digit_window_update_actions (self);
}

static void
load_default_model (DigitWindow *self)
{
  g_autoptr(GError) error = NULL;
  NnModel *model = nn_model_load_default (&error);

  if (model == NULL)
    {
      /* The engine's message already says what to do instead. */
      set_model (self, NULL, NULL, error->message);
      return;
    }
  /* Named for what it is to the person using it, in their language; its
   * file name ("default") says nothing to them. */
  set_model (self, model, _("Built-in Model"), NULL);
}

static NnModel *
load_model_file (GFile   *file,
                 char   **name,
                 GError **error)
{
  g_autofree char *path = g_file_get_path (file);
  g_autofree char *basename = NULL;
  char *extension;
  NnModel *model;

  if (path == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   _("Only files on this computer can be opened as models."));
      return NULL;
    }
  model = nn_model_load (path, error);
  if (model == NULL)
    return NULL;

  basename = g_path_get_basename (path);
  extension = strrchr (basename, '.');
  if (extension != NULL && extension != basename)
    *extension = '\0';
  *name = digit_model_info_name (model, basename);
  return model;
}

void
digit_window_set_model (DigitWindow *self,
                        NnModel     *model,
                        const char  *name)
{
  g_return_if_fail (DIGIT_IS_WINDOW (self));
  g_return_if_fail (model != NULL);

  set_model (self, model, name, NULL);
}

gboolean
digit_window_open_model (DigitWindow *self,
                         GFile       *file,
                         gboolean     remember)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  NnModel *model;

  g_return_val_if_fail (DIGIT_IS_WINDOW (self), FALSE);
  g_return_val_if_fail (G_IS_FILE (file), FALSE);

  model = load_model_file (file, &name, &error);
  if (model == NULL)
    {
      digit_window_show_error (self, _("Could Not Open Model"), error->message);
      return FALSE;
    }
  set_model (self, model, name, NULL);
  if (remember && self->settings != NULL)
    {
      g_autofree char *path = g_file_get_path (file);

      g_settings_set_string (self->settings, "last-model", path);
    }
  return TRUE;
}

void
digit_window_load_startup_model (DigitWindow *self,
                                 GFile       *requested)
{
  g_autofree char *last_model = NULL;

  g_return_if_fail (DIGIT_IS_WINDOW (self));

  if (requested != NULL)
    {
      if (digit_window_open_model (self, requested, FALSE))
        return;
      load_default_model (self);
      return;
    }

  if (self->settings != NULL)
    last_model = g_settings_get_string (self->settings, "last-model");
  if (last_model != NULL && *last_model != '\0')
    {
      g_autoptr(GFile) file = g_file_new_for_path (last_model);
      g_autoptr(GError) error = NULL;
      g_autofree char *name = NULL;
      NnModel *model = load_model_file (file, &name, &error);

      if (model != NULL)
        {
          set_model (self, model, name, NULL);
          return;
        }
      else
        {
          g_autofree char *basename = g_path_get_basename (last_model);
          g_autofree char *message =
            g_strdup_printf (_("Could not open the last model, “%s”; using the built-in model"), basename);

          g_message ("%s: %s", last_model, error->message);
          digit_window_show_toast (self, message);
          /* Forget it, rather than failing again at every start. */
          g_settings_set_string (self->settings, "last-model", "");
        }
    }
  load_default_model (self);
}

void
digit_window_show_toast (DigitWindow *self,
                         const char  *message)
{
  AdwToast *toast = adw_toast_new (message);

  adw_toast_set_timeout (toast, 4);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static void
present_later (gpointer user_data)
{
  g_autoptr(GtkWindow) dialog = user_data;

  gtk_window_present (dialog);
}

void
digit_window_show_error (DigitWindow *self,
                         const char  *heading,
                         const char  *message)
{
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), heading, message);

  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _("_Close"));
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "close");
  /* At start-up the window is not shown yet; a dialog must not come
   * before its parent. */
  if (gtk_widget_get_mapped (GTK_WIDGET (self)))
    gtk_window_present (GTK_WINDOW (dialog));
  else
    g_idle_add_once (present_later, g_object_ref (dialog));
}

static void
restore_window_state (DigitWindow *self)
{
  if (self->settings == NULL)
    return;
  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));
}

static gboolean
digit_window_close_request (GtkWindow *window)
{
  DigitWindow *self = DIGIT_WINDOW (window);

  if (self->settings != NULL)
    {
      int width, height;

      /* The default size follows the window as it is resized, but not
       * while maximized: what is saved is the size to unmaximize to. */
      gtk_window_get_default_size (window, &width, &height);
      g_settings_delay (self->settings);
      g_settings_set_int (self->settings, "window-width", width);
      g_settings_set_int (self->settings, "window-height", height);
      g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (window));
      g_settings_apply (self->settings);
    }

  return GTK_WINDOW_CLASS (digit_window_parent_class)->close_request (window);
}

static void
digit_window_constructed (GObject *object)
{
  DigitWindow *self = DIGIT_WINDOW (object);
  /* Not gtk_window_get_application(): "application" is an ordinary
   * property, which GObject sets only after constructed() has run. */
  GApplication *application = g_application_get_default ();

  G_OBJECT_CLASS (digit_window_parent_class)->constructed (object);

  if (DIGIT_IS_APPLICATION (application))
    self->settings = digit_application_get_settings (DIGIT_APPLICATION (application));
  if (self->settings != NULL)
    {
      g_object_ref (self->settings);
      g_settings_bind (self->settings, "pen-scale",
                       digit_draw_page_get_pen_adjustment (self->draw_page), "value",
                       G_SETTINGS_BIND_DEFAULT);
    }
  digit_train_page_set_settings (self->train_page, self->settings);
  if (application != NULL)
    digit_train_page_add_actions (self->train_page, G_ACTION_MAP (application));
  restore_window_state (self);
}

static void
digit_window_dispose (GObject *object)
{
  DigitWindow *self = DIGIT_WINDOW (object);

  if (self->file_chooser != NULL)
    gtk_native_dialog_destroy (self->file_chooser);
  g_clear_object (&self->file_chooser);
  if (self->draw_page != NULL)
    digit_draw_page_set_model (self->draw_page, NULL, NULL);
  g_clear_pointer (&self->model, nn_model_free);

  G_OBJECT_CLASS (digit_window_parent_class)->dispose (object);
}

static void
digit_window_finalize (GObject *object)
{
  DigitWindow *self = DIGIT_WINDOW (object);

  g_clear_object (&self->settings);
  g_free (self->model_name);

  G_OBJECT_CLASS (digit_window_parent_class)->finalize (object);
}

static void
digit_window_class_init (DigitWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->constructed = digit_window_constructed;
  object_class->dispose = digit_window_dispose;
  object_class->finalize = digit_window_finalize;
  window_class->close_request = digit_window_close_request;

  g_type_ensure (DIGIT_TYPE_DRAW_PAGE);
  g_type_ensure (DIGIT_TYPE_TRAIN_PAGE);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/digitlab/DigitLab/digit-window.ui");
  gtk_widget_class_bind_template_child (widget_class, DigitWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, DigitWindow, switcher_title);
  gtk_widget_class_bind_template_child (widget_class, DigitWindow, model_button);
  gtk_widget_class_bind_template_child (widget_class, DigitWindow, model_button_title);
  gtk_widget_class_bind_template_child (widget_class, DigitWindow, model_button_subtitle);
  gtk_widget_class_bind_template_child (widget_class, DigitWindow, model_details_title);
  gtk_widget_class_bind_template_child (widget_class, DigitWindow, model_details_summary);
  gtk_widget_class_bind_template_child (widget_class, DigitWindow, model_details_spec);
  gtk_widget_class_bind_template_child (widget_class, DigitWindow, model_details_params);
  gtk_widget_class_bind_template_child (widget_class, DigitWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, DigitWindow, draw_page);
  gtk_widget_class_bind_template_child (widget_class, DigitWindow, train_page);

  digit_window_class_add_actions (widget_class);
}

static void
on_is_active_changed (DigitWindow *self)
{
  digit_event_log_active (gtk_window_is_active (GTK_WINDOW (self)));
}

static void
on_focus_changed (DigitWindow *self)
{
  GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (self));

  digit_event_log_focus (focus != NULL ? G_OBJECT_TYPE_NAME (focus) : NULL,
                         gtk_window_get_focus_visible (GTK_WINDOW (self)));
}

static void
digit_window_init (DigitWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  g_signal_connect (self, "notify::is-active", G_CALLBACK (on_is_active_changed), NULL);
  g_signal_connect (self, "notify::focus-widget", G_CALLBACK (on_focus_changed), NULL);
  g_signal_connect (self, "notify::focus-visible", G_CALLBACK (on_focus_changed), NULL);

  digit_window_update_actions (self);
}

DigitWindow *
digit_window_new (GtkApplication *application)
{
  return g_object_new (DIGIT_TYPE_WINDOW,
                       "application", application,
                       NULL);
}

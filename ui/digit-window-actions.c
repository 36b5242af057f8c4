/* digit-window-actions.c — the window's actions: opening and saving models.
 *
 * The drawing actions (clear, undo, redo) belong to the draw page; these
 * are the ones that concern the window as a whole.
 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "digit-model-info.h"
#include "digit-window-private.h"

#define MODEL_SUFFIX "safetensors"

static GtkFileFilter *
new_model_filter (void)
{
  GtkFileFilter *filter = gtk_file_filter_new ();

  gtk_file_filter_set_name (filter, _("Models (safetensors)"));
  gtk_file_filter_add_suffix (filter, MODEL_SUFFIX);
  return filter;
}

/* Opens the chooser where the last model was, when there was one. */
static void
set_folder_of_last_model (DigitWindow    *self,
                          GtkFileChooser *chooser)
{
  g_autofree char *last_model = NULL;
  g_autofree char *folder_path = NULL;
  g_autoptr(GFile) folder = NULL;

  if (self->settings == NULL)
    return;
  last_model = g_settings_get_string (self->settings, "last-model");
  if (*last_model == '\0')
    return;
  folder_path = g_path_get_dirname (last_model);
  if (!g_file_test (folder_path, G_FILE_TEST_IS_DIR))
    return;
  folder = g_file_new_for_path (folder_path);
  gtk_file_chooser_set_current_folder (chooser, folder, NULL);
}

static void
forget_file_chooser (DigitWindow *self)
{
  g_clear_object (&self->file_chooser);
}

static void
on_open_response (GtkNativeDialog *dialog,
                  int              response,
                  DigitWindow     *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));

      if (file != NULL && digit_window_open_model (self, file, TRUE))
        {
          /* Translators: %s is the name of the model just opened. */
          g_autofree char *message = g_strdup_printf (_("Opened “%s”"), self->model_name);

          digit_window_show_toast (self, message);
        }
    }
  forget_file_chooser (self);
}

static void
open_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  DigitWindow *self = DIGIT_WINDOW (widget);
  GtkFileChooserNative *chooser;
  g_autoptr(GtkFileFilter) filter = new_model_filter ();

  if (self->file_chooser != NULL)
    return;

  chooser = gtk_file_chooser_native_new (_("Open Model"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_OPEN,
                                         _("_Open"), _("_Cancel"));
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  set_folder_of_last_model (self, GTK_FILE_CHOOSER (chooser));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect (chooser, "response", G_CALLBACK (on_open_response), self);
  self->file_chooser = GTK_NATIVE_DIALOG (chooser);
  gtk_native_dialog_show (self->file_chooser);
}

/* A name typed without any extension gets ours, so that the file shows up
 * in the Open dialog later; a name with another extension is respected, and
 * so is an existing file (the chooser already confirmed overwriting it). */
static char *
path_with_suffix (const char *path)
{
  g_autofree char *basename = g_path_get_basename (path);
  g_autofree char *with_suffix = NULL;

  if (strchr (basename, '.') != NULL || g_file_test (path, G_FILE_TEST_EXISTS))
    return g_strdup (path);
  with_suffix = g_strconcat (path, "." MODEL_SUFFIX, NULL);
  if (g_file_test (with_suffix, G_FILE_TEST_EXISTS))
    return g_strdup (path);
  return g_steal_pointer (&with_suffix);
}

static void
on_save_response (GtkNativeDialog *dialog,
                  int              response,
                  DigitWindow     *self)
{
  g_autoptr(GFile) file = NULL;
  g_autofree char *chosen_path = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;

  if (response != GTK_RESPONSE_ACCEPT || self->model == NULL)
    goto out;
  file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
  if (file == NULL)
    goto out;
  chosen_path = g_file_get_path (file);
  if (chosen_path == NULL)
    {
      digit_window_show_error (self, _("Could Not Save Model"),
                               _("Models can only be saved to files on this computer."));
      goto out;
    }
  path = path_with_suffix (chosen_path);
  if (!nn_model_save (self->model, path, &error))
    {
      digit_window_show_error (self, _("Could Not Save Model"), error->message);
      goto out;
    }
  {
    g_autofree char *basename = g_path_get_basename (path);
    /* Translators: %s is the file name the model was saved to. */
    g_autofree char *message = g_strdup_printf (_("Model saved as “%s”"), basename);

    digit_window_show_toast (self, message);
  }

out:
  forget_file_chooser (self);
}

static char *
suggested_file_name (DigitWindow *self)
{
  g_autofree char *name = g_strdup (self->model_name != NULL ? self->model_name : "model");

  /* Characters that are troublesome in file names on some systems. */
  g_strdelimit (name, "/\\:*?\"<>|", '-');
  return g_strconcat (name, "." MODEL_SUFFIX, NULL);
}

static void
save_as_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  DigitWindow *self = DIGIT_WINDOW (widget);
  GtkFileChooserNative *chooser;
  g_autoptr(GtkFileFilter) filter = new_model_filter ();
  g_autofree char *file_name = NULL;

  if (self->file_chooser != NULL || self->model == NULL)
    return;

  chooser = gtk_file_chooser_native_new (_("Save Model As"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_SAVE,
                                         _("_Save"), _("_Cancel"));
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  set_folder_of_last_model (self, GTK_FILE_CHOOSER (chooser));
  file_name = suggested_file_name (self);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), file_name);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect (chooser, "response", G_CALLBACK (on_save_response), self);
  self->file_chooser = GTK_NATIVE_DIALOG (chooser);
  gtk_native_dialog_show (self->file_chooser);
}

void
digit_window_update_actions (DigitWindow *self)
{
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.save-as", self->model != NULL);
}

void
digit_window_class_add_actions (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "win.open", NULL, open_action);
  gtk_widget_class_install_action (widget_class, "win.save-as", NULL, save_as_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK, "win.open", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_s, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                       "win.save-as", NULL);
}

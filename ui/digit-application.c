/* digit-application.c — start-up, command line and the app-wide actions.
 *
 * Command line:
 *   --model FILE        start with this model (or open it in the running
 *                       instance)
 *   --log-predictions   JSON lines on standard output for scripted tests,
 *                       also turned on by DIGITLAB_LOG_PREDICTIONS=1; the
 *                       process then runs as an instance of its own so the
 *                       lines come out of the process that was started.
 *   --version
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "digit-application.h"
#include "digit-event-log.h"
#include "digit-settings.h"
#include "digit-window.h"

struct _DigitApplication
{
  AdwApplication parent_instance;

  GSettings     *settings;
};

G_DEFINE_FINAL_TYPE (DigitApplication, digit_application, ADW_TYPE_APPLICATION)

static const GOptionEntry option_entries[] = {
  { "model", 'm', G_OPTION_FLAG_NONE, G_OPTION_ARG_FILENAME, NULL,
    N_("Start with the model in FILE"), N_("FILE") },
  { "log-predictions", 0, G_OPTION_FLAG_NONE, G_OPTION_ARG_NONE, NULL,
    N_("Write every prediction and drawing event to standard output as a line of JSON"), NULL },
  { "version", 0, G_OPTION_FLAG_NONE, G_OPTION_ARG_NONE, NULL,
    N_("Show the version and exit"), NULL },
  { NULL }
};

static gboolean
log_requested_by_environment (void)
{
  const char *value = g_getenv ("DIGITLAB_LOG_PREDICTIONS");

  return value != NULL && *value != '\0' && g_strcmp0 (value, "0") != 0;
}

static int
digit_application_handle_local_options (GApplication *application,
                                        GVariantDict *options)
{
  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("digitlab %s\n", PACKAGE_VERSION);
      return 0;
    }
  if (g_variant_dict_contains (options, "log-predictions") || log_requested_by_environment ())
    {
      digit_event_log_set_enabled (TRUE);
      g_application_set_flags (application,
                               g_application_get_flags (application) | G_APPLICATION_NON_UNIQUE);
    }
  return G_APPLICATION_CLASS (digit_application_parent_class)->handle_local_options (application, options);
}

static DigitWindow *
find_window (DigitApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  return DIGIT_IS_WINDOW (window) ? DIGIT_WINDOW (window) : NULL;
}

static void
present_window (DigitApplication *self,
                GFile            *model_file)
{
  DigitWindow *window = find_window (self);

  if (window == NULL)
    {
      window = digit_window_new (GTK_APPLICATION (self));
      digit_window_load_startup_model (window, model_file);
    }
  else if (model_file != NULL)
    {
      digit_window_open_model (window, model_file, FALSE);
    }
  gtk_window_present (GTK_WINDOW (window));
}

static int
digit_application_command_line (GApplication            *application,
                                GApplicationCommandLine *command_line)
{
  DigitApplication *self = DIGIT_APPLICATION (application);
  GVariantDict *options = g_application_command_line_get_options_dict (command_line);
  g_autoptr(GFile) model_file = NULL;
  const char *model_path = NULL;

  if (g_variant_dict_lookup (options, "model", "^&ay", &model_path))
    model_file = g_application_command_line_create_file_for_arg (command_line, model_path);
  present_window (self, model_file);
  return 0;
}

static void
digit_application_activate (GApplication *application)
{
  present_window (DIGIT_APPLICATION (application), NULL);
}

static void
about_action (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       user_data)
{
  GtkApplication *application = user_data;
  static const char *developers[] = { "The Digit Lab developers", NULL };
  GtkWidget *about;

  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "transient-for", gtk_application_get_active_window (application),
                        "application-name", _("Digit Lab"),
                        "application-icon", APP_ID,
                        "version", PACKAGE_VERSION,
                        "developer-name", _("The Digit Lab developers"),
                        "developers", developers,
                        "comments", _("Draw digits and watch a neural network recognise them, live. "
                                      "The network is written from scratch and runs on your processor."),
                        "copyright", _("© 2026 The Digit Lab developers"),
                        "license-type", GTK_LICENSE_GPL_3_0,
                        /* Translators: replace with your name and email
                         * address, one translator per line. */
                        "translator-credits", _("translator-credits"),
                        NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static void
quit_action (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  GtkApplication *application = user_data;
  GList *windows = gtk_application_get_windows (application);

  /* Closing (rather than quitting outright) lets each window save its
   * size; the application ends with its last window. */
  for (GList *l = windows; l != NULL;)
    {
      GtkWindow *window = l->data;

      l = l->next;
      gtk_window_close (window);
    }
}

static const GActionEntry app_actions[] = {
  { "about", about_action },
  { "quit", quit_action },
};

static void
digit_application_startup (GApplication *application)
{
  static const char *quit_accels[] = { "<Control>q", NULL };
  static const char *close_accels[] = { "<Control>w", NULL };
  DigitApplication *self = DIGIT_APPLICATION (application);

  G_APPLICATION_CLASS (digit_application_parent_class)->startup (application);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions,
                                   G_N_ELEMENTS (app_actions), self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "window.close", close_accels);

  self->settings = digit_settings_new ();
}

static void
digit_application_finalize (GObject *object)
{
  DigitApplication *self = DIGIT_APPLICATION (object);

  g_clear_object (&self->settings);

  G_OBJECT_CLASS (digit_application_parent_class)->finalize (object);
}

static void
digit_application_class_init (DigitApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *application_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = digit_application_finalize;

  application_class->handle_local_options = digit_application_handle_local_options;
  application_class->command_line = digit_application_command_line;
  application_class->activate = digit_application_activate;
  application_class->startup = digit_application_startup;
}

static void
digit_application_init (DigitApplication *self)
{
  g_application_add_main_option_entries (G_APPLICATION (self), option_entries);
  g_application_set_option_context_summary (G_APPLICATION (self),
                                            _("Draw digits and watch a neural network recognise them."));
}

DigitApplication *
digit_application_new (void)
{
  return g_object_new (DIGIT_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", G_APPLICATION_HANDLES_COMMAND_LINE,
                       "resource-base-path", "/io/github/digitlab/DigitLab",
                       NULL);
}

GSettings *
digit_application_get_settings (DigitApplication *self)
{
  g_return_val_if_fail (DIGIT_IS_APPLICATION (self), NULL);

  return self->settings;
}

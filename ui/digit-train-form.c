/* digit-train-form.c — the training page's settings column.
 *
 * Every field is bound to its GSettings key, so the next session starts
 * where this one left off. The data set loads as soon as it is chosen (on
 * a worker thread), so that pressing Start rarely waits; the architecture
 * is checked on every keystroke (nn_spec_validate is cheap), each number
 * field's text too (digit_field_check), and the training settings together
 * on every change (nn_train_config_validate, which has the last word).
 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "digit-field-check.h"
#include "digit-run.h"
#include "digit-train-events.h"
#include "digit-train-form.h"

/* The number fields, in the order of the form. */
typedef enum {
  FIELD_LIMIT,
  FIELD_EPOCHS,
  FIELD_BATCH,
  FIELD_LEARNING_RATE,
  FIELD_SEED,
  FIELD_MOMENTUM,
  FIELD_WEIGHT_DECAY,
  FIELD_LABEL_SMOOTHING,
  N_FIELDS
} Field;

struct _DigitTrainForm
{
  AdwBin                parent_instance;

  /* Template children */
  AdwComboRow          *data_set_row;
  GtkStringList        *data_sets;
  AdwActionRow         *folder_row;
  GtkButton            *folder_button;
  AdwActionRow         *data_status_row;
  GtkStack             *data_status_icon;
  GtkSpinner           *data_spinner;
  GtkButton            *help_button;
  AdwExpanderRow       *limit_row;
  GtkSpinButton        *limit_spin;
  GtkAdjustment        *limit_adjustment;
  GtkLabel             *limit_status;
  AdwComboRow          *arch_row;
  GtkStringList        *architectures;
  AdwEntryRow          *spec_row;
  GtkLabel             *spec_status;
  GtkSpinButton        *epochs_spin;
  GtkSpinButton        *batch_spin;
  GtkSpinButton        *learning_rate_spin;
  GtkSpinButton        *seed_spin;
  GtkSpinButton        *momentum_spin;
  GtkSpinButton        *weight_decay_spin;
  GtkSpinButton        *label_smoothing_spin;
  GtkAdjustment        *epochs_adjustment;
  GtkAdjustment        *batch_adjustment;
  GtkAdjustment        *learning_rate_adjustment;
  GtkAdjustment        *seed_adjustment;
  GtkAdjustment        *momentum_adjustment;
  GtkAdjustment        *weight_decay_adjustment;
  GtkAdjustment        *label_smoothing_adjustment;
  AdwComboRow          *optimizer_row;
  AdwComboRow          *schedule_row;
  GtkSwitch            *augment_switch;
  AdwActionRow         *momentum_row;
  GtkLabel             *config_status;

  GtkSpinButton        *fields[N_FIELDS];
  GtkSpinButton        *kept;          /* its wrong text stays on screen */
  GSettings            *settings;
  char                 *folder;        /* the MNIST folder when there are no settings */
  gboolean              fashion_available;
  DigitTrainingData    *data;
  char                 *loaded_folder;
  GCancellable         *load_cancellable;
  gboolean              loading;
  gboolean              wanted;        /* shown, or asked for: load the data */
  gboolean              spec_valid;
  gboolean              config_valid;
  char                 *problem;
  GtkNativeDialog      *chooser;
};

G_DEFINE_FINAL_TYPE (DigitTrainForm, digit_train_form, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_DATA,
  PROP_LOADING,
  PROP_VALID,
  PROP_PROBLEM,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* The architecture list: the presets in order of size, then a spec of
 * one's own. */
static const struct {
  const char *preset;
} architectures[] = {
  { "mlp" },
  { "lenet5" },
  { "bench-cnn" },
  { "default" },
  { "custom" },
};
#define CUSTOM_INDEX (G_N_ELEMENTS (architectures) - 1)

/* What each field takes, said when it holds something else. */
static const char *const field_messages[N_FIELDS] = {
  /* Translators: the two %s are the field's bounds, e.g. "from 10 to 60000". */
  N_("The number of training images must be a whole number from %s to %s."),
  /* Translators: the two %s are the field's bounds, e.g. "from 1 to 1000". */
  N_("Epochs must be a whole number from %s to %s."),
  /* Translators: the two %s are the field's bounds, e.g. "from 1 to 4096". */
  N_("The batch size must be a whole number from %s to %s."),
  /* Translators: the two %s are the field's bounds, e.g. "from 0.00001 to 10". */
  N_("The learning rate must be a number from %s to %s."),
  /* Translators: the two %s are the field's bounds, e.g. "from 0 to 4294967295". */
  N_("The random seed must be a whole number from %s to %s."),
  /* Translators: the two %s are the field's bounds, e.g. "from 0 to 0.999". */
  N_("Momentum must be a number from %s to %s."),
  /* Translators: the two %s are the field's bounds, e.g. "from 0 to 1". */
  N_("Weight decay must be a number from %s to %s."),
  /* Translators: the two %s are the field's bounds, e.g. "from 0 to 0.99". */
  N_("Label smoothing must be a number from %s to %s."),
};

static const char *const data_set_ids[] = { "mnist", "fashion-mnist" };
static const char *const optimizer_ids[] = { "adam", "sgd" };
static const char *const schedule_ids[] = { "constant", "cosine", "onecycle" };

/* ---- Data ------------------------------------------------------------------ */

static gboolean
fashion_selected (DigitTrainForm *self)
{
  return self->fashion_available && adw_combo_row_get_selected (self->data_set_row) == 1;
}

static char *
mnist_folder (DigitTrainForm *self)
{
  g_autofree char *chosen = NULL;

  if (self->settings != NULL)
    chosen = g_settings_get_string (self->settings, "data-folder");
  else
    chosen = g_strdup (self->folder);
  if (chosen != NULL && *chosen != '\0')
    return g_steal_pointer (&chosen);
  return digit_training_data_default_folder ();
}

static char *
chosen_folder (DigitTrainForm *self)
{
  if (fashion_selected (self))
    return g_strdup (DIGIT_FASHION_MNIST_FOLDER);
  return mnist_folder (self);
}

static void
set_loading (DigitTrainForm *self,
             gboolean        loading)
{
  if (self->loading == loading)
    return;
  self->loading = loading;
  gtk_spinner_set_spinning (self->data_spinner, loading);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADING]);
}

static void
show_data_status (DigitTrainForm *self,
                  const char     *icon,
                  const char     *title,
                  const char     *subtitle,
                  gboolean        offer_help)
{
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->data_status_row), NULL);
  gtk_stack_set_visible_child_name (self->data_status_icon, icon);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->data_status_row), title);
  adw_action_row_set_subtitle (self->data_status_row, subtitle);
  gtk_widget_set_visible (GTK_WIDGET (self->help_button), offer_help);
}

static void
on_data_loaded (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DigitTrainingData) data = digit_training_data_load_finish (result, &error);
  DigitTrainForm *self;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = DIGIT_TRAIN_FORM (user_data);
  set_loading (self, FALSE);
  g_clear_object (&self->load_cancellable);

  if (data == NULL)
    {
      g_autofree char *folder = chosen_folder (self);

      gboolean missing = g_error_matches (error, NN_ERROR, NN_ERROR_IDX_MISSING)
                         || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);

      digit_train_events_data_failed (folder, error->message);
      /* The engine's message is long and exact; the row says it briefly
       * and keeps the whole of it in its tooltip. */
      show_data_status (self, "failed",
                        fashion_selected (self) ? _("Fashion-MNIST could not be read")
                        : missing ? _("MNIST is not in this folder")
                                  : _("The MNIST files could not be read"),
                        missing ? _("The four MNIST files are not there yet.") : error->message,
                        !fashion_selected (self));
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->data_status_row), error->message);
      return;
    }

  {
    const NnDataset *train = digit_training_data_get_train (data);
    const NnDataset *test = digit_training_data_get_test (data);
    /* Translators: how much data was loaded, e.g. "60,000 training images". */
    g_autofree char *train_text = g_strdup_printf (ngettext ("%'u training image", "%'u training images",
                                                             train->count), train->count);
    g_autofree char *title = NULL;

    if (test != NULL)
      {
        g_autofree char *test_text = g_strdup_printf (ngettext ("%'u test image", "%'u test images",
                                                                test->count), test->count);

        /* Translators: "60,000 training images, 10,000 test images" */
        title = g_strdup_printf (_("%s, %s"), train_text, test_text);
      }
    else
      {
        title = g_steal_pointer (&train_text);
      }
    show_data_status (self, "loaded", title, digit_training_data_get_name (data), FALSE);
    gtk_adjustment_set_upper (self->limit_adjustment, train->count);
    digit_train_events_data_loaded (digit_training_data_get_name (data),
                                    digit_training_data_get_folder (data),
                                    train->count, test != NULL ? test->count : 0);
  }
  g_free (self->loaded_folder);
  self->loaded_folder = g_strdup (digit_training_data_get_folder (data));
  g_set_object (&self->data, data);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DATA]);
}

static void
load_data (DigitTrainForm *self,
           gboolean        again)
{
  g_autofree char *folder = chosen_folder (self);
  g_autofree char *display = g_filename_display_name (folder);
  const char *name = fashion_selected (self) ? "Fashion-MNIST" : "MNIST";

  adw_action_row_set_subtitle (self->folder_row, display);
  gtk_widget_set_sensitive (GTK_WIDGET (self->folder_button), !fashion_selected (self));
  if (!again && !self->loading && g_strcmp0 (folder, self->loaded_folder) == 0)
    return;

  if (self->load_cancellable != NULL)
    g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  if (self->data != NULL)
    {
      g_clear_object (&self->data);
      g_clear_pointer (&self->loaded_folder, g_free);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DATA]);
    }

  self->load_cancellable = g_cancellable_new ();
  set_loading (self, TRUE);
  {
    /* Translators: %s is a data set's name, "MNIST" or "Fashion-MNIST". */
    g_autofree char *title = g_strdup_printf (_("Loading %s…"), name);

    show_data_status (self, "loading", title, NULL, FALSE);
  }
  digit_training_data_load_async (folder, name, self->load_cancellable, on_data_loaded, self);
}

static void
on_data_set_selected (DigitTrainForm *self)
{
  if (self->wanted)
    load_data (self, FALSE);
}

static void
on_folder_chosen (GtkNativeDialog *dialog,
                  int              response,
                  DigitTrainForm  *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;

      if (path != NULL)
        {
          if (self->settings != NULL)
            g_settings_set_string (self->settings, "data-folder", path);
          g_free (self->folder);
          self->folder = g_strdup (path);
          load_data (self, TRUE);
        }
    }
  g_clear_object (&self->chooser);
}

static void
choose_folder_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  DigitTrainForm *self = DIGIT_TRAIN_FORM (widget);
  GtkFileChooserNative *chooser;
  g_autofree char *folder = mnist_folder (self);
  GtkRoot *root = gtk_widget_get_root (widget);

  if (self->chooser != NULL)
    return;
  chooser = gtk_file_chooser_native_new (_("Choose the MNIST Folder"),
                                         GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                         GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                         _("_Select"), _("_Cancel"));
  if (g_file_test (folder, G_FILE_TEST_IS_DIR))
    {
      g_autoptr(GFile) file = g_file_new_for_path (folder);

      gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (chooser), file, NULL);
    }
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect (chooser, "response", G_CALLBACK (on_folder_chosen), self);
  self->chooser = GTK_NATIVE_DIALOG (chooser);
  gtk_native_dialog_show (self->chooser);
}

/* Forgets the folder chosen for MNIST: the default one is read from now on. */
static void
forget_chosen_folder (DigitTrainForm *self)
{
  if (self->settings != NULL)
    g_settings_reset (self->settings, "data-folder");
  g_clear_pointer (&self->folder, g_free);
}

static void
on_help_response (AdwMessageDialog *dialog,
                  const char       *response,
                  DigitTrainForm   *self)
{
  g_autofree char *folder = mnist_folder (self);

  if (g_strcmp0 (response, "open") == 0)
    {
      g_autoptr(GFile) file = g_file_new_for_path (folder);
      g_autofree char *uri = g_file_get_uri (file);

      g_mkdir_with_parents (folder, 0755);
      gtk_show_uri (GTK_WINDOW (gtk_widget_get_root (GTK_WIDGET (self))), uri, GDK_CURRENT_TIME);
    }
  else if (g_strcmp0 (response, "retry") == 0)
    {
      g_autofree char *fallback = digit_training_data_default_folder ();

      /* The dialog names the chosen folder, but the files may have gone
       * where the docs (and older versions of this dialog) say: the
       * default folder. When only that one has them, a second failure on
       * the chosen folder would help nobody; the default folder becomes
       * the chosen one again, as if no folder had ever been chosen. */
      if (!digit_training_data_folder_has_files (folder)
          && g_strcmp0 (folder, fallback) != 0
          && digit_training_data_folder_has_files (fallback))
        forget_chosen_folder (self);
      load_data (self, TRUE);
    }
}

static void
mnist_help_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  DigitTrainForm *self = DIGIT_TRAIN_FORM (widget);
  /* The folder Try Again reads: the chosen one, else the default. */
  g_autofree char *folder = mnist_folder (self);
  g_autofree char *display = g_filename_display_name (folder);
  g_autofree char *body = NULL;
  g_autofree char *commands = NULL;
  GtkWidget *dialog, *label, *card;

  /* Translators: %s is a folder, e.g. /home/ada/.local/share/digitlab/mnist. */
  body = g_strdup_printf (_("Digit Lab learns from MNIST, 70,000 handwritten digits in four "
                            "files that are not included. Download them once into %s (for "
                            "instance with these commands), then press “Try Again”, or choose "
                            "a folder that already holds them. Mirrors and checksums are "
                            "listed in docs/mnist.md."), display);
  dialog = adw_message_dialog_new (GTK_WINDOW (gtk_widget_get_root (widget)), _("Getting MNIST"), body);
  commands = g_markup_printf_escaped ("<tt>mkdir -p '%s'\n"
                                      "cd '%s'\n"
                                      "url=https://ossci-datasets.s3.amazonaws.com/mnist\n"
                                      "for f in train-images-idx3-ubyte train-labels-idx1-ubyte \\\n"
                                      "         t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do\n"
                                      "  curl -fLO \"$url/$f.gz\"\n"
                                      "done</tt>", folder, folder);
  label = gtk_label_new (NULL);
  gtk_label_set_markup (GTK_LABEL (label), commands);
  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_xalign (GTK_LABEL (label), 0.0f);
  gtk_widget_set_margin_top (label, 10);
  gtk_widget_set_margin_bottom (label, 10);
  gtk_widget_set_margin_start (label, 12);
  gtk_widget_set_margin_end (label, 12);
  card = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  gtk_widget_add_css_class (card, "card");
  gtk_widget_set_margin_top (card, 6);
  gtk_box_append (GTK_BOX (card), label);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), card);

  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "close", _("_Close"),
                                    "open", _("_Open the Folder"),
                                    "retry", _("_Try Again"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "retry",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "retry");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "close");
  g_signal_connect (dialog, "response", G_CALLBACK (on_help_response), self);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* ---- Validation ---------------------------------------------------------------- */

static const char *
selected_spec (DigitTrainForm *self)
{
  guint selected = adw_combo_row_get_selected (self->arch_row);

  if (selected >= CUSTOM_INDEX)
    return gtk_editable_get_text (GTK_EDITABLE (self->spec_row));
  return architectures[selected].preset;
}

/* The first of the messages the form shows, for the page's status card:
 * the message itself may be scrolled out of sight under its group. */
static void
update_problem (DigitTrainForm *self)
{
  GtkLabel *labels[] = { self->spec_status, self->limit_status, self->config_status };
  g_autofree char *problem = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (labels) && problem == NULL; i++)
    if (labels[i] == self->spec_status ? !self->spec_valid
                                       : gtk_widget_get_visible (GTK_WIDGET (labels[i])))
      {
        const char *text = gtk_label_get_text (labels[i]);

        problem = g_strndup (text, strcspn (text, "\n"));
      }
  if (g_strcmp0 (problem, self->problem) == 0)
    return;
  g_free (self->problem);
  self->problem = g_steal_pointer (&problem);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROBLEM]);
}

static void
set_valid (DigitTrainForm *self,
           gboolean        spec_valid,
           gboolean        config_valid)
{
  gboolean was = self->spec_valid && self->config_valid;

  self->spec_valid = spec_valid;
  self->config_valid = config_valid;
  if (was != (spec_valid && config_valid))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VALID]);
  update_problem (self);
}

static void
check_spec (DigitTrainForm *self)
{
  guint selected = adw_combo_row_get_selected (self->arch_row);
  gboolean custom = selected >= CUSTOM_INDEX;
  const char *spec = selected_spec (self);
  g_autoptr(GError) error = NULL;
  gsize n_params = 0;
  gboolean valid;

  gtk_widget_set_visible (GTK_WIDGET (self->spec_row), custom);
  valid = *spec != '\0' && nn_spec_validate (spec, &n_params, &error);
  if (valid)
    {
      /* Translators: the size of a network, e.g. "454,922 parameters". */
      g_autofree char *count = g_strdup_printf (ngettext ("%'zu parameter", "%'zu parameters", n_params),
                                                n_params);

      if (custom)
        gtk_label_set_text (self->spec_status, count);
      else
        {
          /* Translators: a network's size, then its layers. */
          g_autofree char *text = g_strdup_printf (_("%s: %s"), count, nn_spec_expand (spec));

          gtk_label_set_text (self->spec_status, text);
        }
      gtk_widget_remove_css_class (GTK_WIDGET (self->spec_status), "error");
      gtk_widget_add_css_class (GTK_WIDGET (self->spec_status), "dim-label");
      gtk_widget_remove_css_class (GTK_WIDGET (self->spec_row), "error");
    }
  else
    {
      gtk_label_set_text (self->spec_status,
                          error != NULL ? error->message : _("Type the layers of the network."));
      gtk_widget_add_css_class (GTK_WIDGET (self->spec_status), "error");
      gtk_widget_remove_css_class (GTK_WIDGET (self->spec_status), "dim-label");
      gtk_widget_add_css_class (GTK_WIDGET (self->spec_row), "error");
    }

  if (!custom)
    {
      const NnPreset *presets;
      guint n_presets;

      presets = nn_presets (&n_presets);
      for (guint i = 0; i < n_presets; i++)
        if (g_strcmp0 (presets[i].name, spec) == 0)
          adw_action_row_set_subtitle (ADW_ACTION_ROW (self->arch_row), presets[i].description);
    }
  else
    {
      adw_action_row_set_subtitle (ADW_ACTION_ROW (self->arch_row),
                                   _("Your own layers, typed below"));
    }
  set_valid (self, valid, self->config_valid);
}

static void
read_config (DigitTrainForm *self,
             NnTrainConfig  *config)
{
  nn_train_config_init (config);
  config->epochs = (guint) gtk_adjustment_get_value (self->epochs_adjustment);
  config->batch_size = (guint) gtk_adjustment_get_value (self->batch_adjustment);
  config->learning_rate = gtk_adjustment_get_value (self->learning_rate_adjustment);
  config->optimizer = adw_combo_row_get_selected (self->optimizer_row) == 1 ? NN_OPTIMIZER_SGD
                                                                              : NN_OPTIMIZER_ADAM;
  config->momentum = gtk_adjustment_get_value (self->momentum_adjustment);
  config->weight_decay = gtk_adjustment_get_value (self->weight_decay_adjustment);
  config->label_smoothing = gtk_adjustment_get_value (self->label_smoothing_adjustment);
  switch (adw_combo_row_get_selected (self->schedule_row))
    {
    case 1:
      config->schedule = NN_SCHEDULE_COSINE;
      break;
    case 2:
      config->schedule = NN_SCHEDULE_ONECYCLE;
      break;
    default:
      config->schedule = NN_SCHEDULE_CONSTANT;
      break;
    }
  config->seed = (guint64) gtk_adjustment_get_value (self->seed_adjustment);
  config->augment = gtk_switch_get_active (self->augment_switch);
  /* Flagged 1s and crossed 7s are digits' styles: not for clothes. */
  config->digit_styles = config->augment && !fashion_selected (self);
}

/* The message for a field whose text it cannot take, else NULL. */
static char *
field_error (DigitTrainForm *self,
             Field           field)
{
  GtkSpinButton *spin = self->fields[field];
  GtkAdjustment *adjustment = gtk_spin_button_get_adjustment (spin);

  return digit_field_check (gtk_editable_get_text (GTK_EDITABLE (spin)),
                            gtk_adjustment_get_lower (adjustment),
                            gtk_adjustment_get_upper (adjustment),
                            gtk_spin_button_get_digits (spin),
                            _(field_messages[field]));
}

/* Whether a field takes part in the next run: one switched off or
 * greyed out cannot be corrected, so it must not hold Start back. */
static gboolean
field_counts (DigitTrainForm *self,
              Field           field)
{
  switch (field)
    {
    case FIELD_LIMIT:
      return adw_expander_row_get_enable_expansion (self->limit_row);
    case FIELD_MOMENTUM:
      return adw_combo_row_get_selected (self->optimizer_row) == 1;
    default:
      return TRUE;
    }
}

static void
show_status (GtkLabel   *label,
             const char *message)
{
  gboolean shown = message != NULL && *message != '\0';

  gtk_label_set_text (label, shown ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (label), shown);
}

static void
check_config (DigitTrainForm *self)
{
  NnTrainConfig config;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) messages = g_string_new (NULL);
  g_autofree char *limit_message = NULL;

  read_config (self, &config);
  gtk_widget_set_sensitive (GTK_WIDGET (self->momentum_row), config.optimizer == NN_OPTIMIZER_SGD);

  /* Every wrong field is named, each on its line, under its group. */
  for (Field field = 0; field < N_FIELDS; field++)
    {
      g_autofree char *message = field_counts (self, field) ? field_error (self, field) : NULL;

      if (message != NULL)
        gtk_widget_add_css_class (GTK_WIDGET (self->fields[field]), "error");
      else
        gtk_widget_remove_css_class (GTK_WIDGET (self->fields[field]), "error");
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->fields[field]), message);
      if (message == NULL)
        continue;
      if (field == FIELD_LIMIT)
        {
          limit_message = g_steal_pointer (&message);
          continue;
        }
      if (messages->len > 0)
        g_string_append_c (messages, '\n');
      g_string_append (messages, message);
    }
  /* With every field right, the engine checks the settings together
   * (weight decay against the learning rate). */
  if (messages->len == 0 && !nn_train_config_validate (&config, &error))
    g_string_append (messages, error->message);

  show_status (self->limit_status, limit_message);
  show_status (self->config_status, messages->str);
  set_valid (self, self->spec_valid, limit_message == NULL && messages->len == 0);
}

/* A spin button reads its text when it is left or Enter is pressed, and
 * would move a number out of range to the nearest bound: 0 epochs became 1
 * without a word. The fields update only "if-valid" (see the .ui file), so
 * a wrong number is not read at all, and "output" below leaves it on
 * screen as typed, beside the message that says what the field takes. The
 * value stays the last right one, and Start stays off until it is fixed. */
static int
on_field_input (GtkSpinButton  *spin,
                double         *value,
                DigitTrainForm *self)
{
  GtkAdjustment *adjustment = gtk_spin_button_get_adjustment (spin);

  self->kept = NULL;
  if (digit_field_parse (gtk_editable_get_text (GTK_EDITABLE (spin)),
                         gtk_adjustment_get_lower (adjustment), gtk_adjustment_get_upper (adjustment),
                         gtk_spin_button_get_digits (spin), value))
    return TRUE;
  self->kept = spin;
  return GTK_INPUT_ERROR;
}

/* After a refused input GTK shows the kept value again; any other time
 * (the arrows, the settings) the new value is shown as usual. */
static gboolean
on_field_output (GtkSpinButton  *spin,
                 DigitTrainForm *self)
{
  if (self->kept != spin)
    return FALSE;
  self->kept = NULL;
  return TRUE;
}

/* The first wrong field's message, for a run started while one is wrong. */
static gboolean
check_fields (DigitTrainForm  *self,
              GError         **error)
{
  for (Field field = 0; field < N_FIELDS; field++)
    {
      g_autofree char *message = field_counts (self, field) ? field_error (self, field) : NULL;

      if (message != NULL)
        {
          g_set_error_literal (error, NN_ERROR, NN_ERROR_PARAMETER, message);
          return FALSE;
        }
    }
  return TRUE;
}

/* ---- Settings ------------------------------------------------------------------- */

typedef struct {
  const char *const *ids;
  guint              n_ids;
} Choices;

static const Choices data_set_choices = { data_set_ids, G_N_ELEMENTS (data_set_ids) };
static const Choices optimizer_choices = { optimizer_ids, G_N_ELEMENTS (optimizer_ids) };
static const Choices schedule_choices = { schedule_ids, G_N_ELEMENTS (schedule_ids) };

static gboolean
choice_to_index (GValue   *value,
                 GVariant *variant,
                 gpointer  user_data)
{
  const Choices *choices = user_data;
  const char *id = g_variant_get_string (variant, NULL);

  g_value_set_uint (value, 0);
  for (guint i = 0; i < choices->n_ids; i++)
    if (g_strcmp0 (id, choices->ids[i]) == 0)
      g_value_set_uint (value, i);
  return TRUE;
}

static GVariant *
index_to_choice (const GValue       *value,
                 const GVariantType *expected_type,
                 gpointer            user_data)
{
  const Choices *choices = user_data;
  guint index = g_value_get_uint (value);

  return g_variant_new_string (choices->ids[MIN (index, choices->n_ids - 1)]);
}

static gboolean
architecture_to_index (GValue   *value,
                       GVariant *variant,
                       gpointer  user_data)
{
  const char *id = g_variant_get_string (variant, NULL);

  /* Unknown names (an old preset) fall back to LeNet-5. */
  g_value_set_uint (value, 1);
  for (guint i = 0; i < G_N_ELEMENTS (architectures); i++)
    if (g_strcmp0 (id, architectures[i].preset) == 0)
      g_value_set_uint (value, i);
  return TRUE;
}

static GVariant *
index_to_architecture (const GValue       *value,
                       const GVariantType *expected_type,
                       gpointer            user_data)
{
  guint index = g_value_get_uint (value);

  return g_variant_new_string (architectures[MIN (index, CUSTOM_INDEX)].preset);
}

void
digit_train_form_set_settings (DigitTrainForm *self,
                               GSettings      *settings)
{
  g_return_if_fail (DIGIT_IS_TRAIN_FORM (self));
  g_return_if_fail (settings == NULL || G_IS_SETTINGS (settings));

  if (settings != NULL && self->settings == NULL)
    {
      self->settings = g_object_ref (settings);
      if (self->fashion_available)
        g_settings_bind_with_mapping (settings, "data-set", self->data_set_row, "selected",
                                      G_SETTINGS_BIND_DEFAULT, choice_to_index, index_to_choice,
                                      (gpointer) &data_set_choices, NULL);
      g_settings_bind (settings, "train-limit-enabled", self->limit_row, "enable-expansion",
                       G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (settings, "train-limit", self->limit_adjustment, "value", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind_with_mapping (settings, "train-architecture", self->arch_row, "selected",
                                    G_SETTINGS_BIND_DEFAULT, architecture_to_index, index_to_architecture,
                                    NULL, NULL);
      g_settings_bind (settings, "train-custom-spec", self->spec_row, "text", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (settings, "train-epochs", self->epochs_adjustment, "value", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (settings, "train-batch-size", self->batch_adjustment, "value", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (settings, "train-learning-rate", self->learning_rate_adjustment, "value",
                       G_SETTINGS_BIND_DEFAULT);
      g_settings_bind_with_mapping (settings, "train-optimizer", self->optimizer_row, "selected",
                                    G_SETTINGS_BIND_DEFAULT, choice_to_index, index_to_choice,
                                    (gpointer) &optimizer_choices, NULL);
      g_settings_bind_with_mapping (settings, "train-schedule", self->schedule_row, "selected",
                                    G_SETTINGS_BIND_DEFAULT, choice_to_index, index_to_choice,
                                    (gpointer) &schedule_choices, NULL);
      g_settings_bind (settings, "train-momentum", self->momentum_adjustment, "value", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (settings, "train-weight-decay", self->weight_decay_adjustment, "value",
                       G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (settings, "train-label-smoothing", self->label_smoothing_adjustment, "value",
                       G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (settings, "train-augment", self->augment_switch, "active", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (settings, "train-seed", self->seed_adjustment, "value", G_SETTINGS_BIND_DEFAULT);
    }
  check_spec (self);
  check_config (self);
  /* Loaded when first shown: a session spent drawing never pays for it. */
  if (self->wanted)
    load_data (self, FALSE);
}

static void
digit_train_form_map (GtkWidget *widget)
{
  DigitTrainForm *self = DIGIT_TRAIN_FORM (widget);

  GTK_WIDGET_CLASS (digit_train_form_parent_class)->map (widget);
  self->wanted = TRUE;
  if (self->data == NULL && !self->loading)
    load_data (self, FALSE);
}

void
digit_train_form_load_data (DigitTrainForm *self)
{
  g_return_if_fail (DIGIT_IS_TRAIN_FORM (self));

  self->wanted = TRUE;
  if (self->data == NULL && !self->loading)
    load_data (self, FALSE);
}

/* ---- Public ----------------------------------------------------------------------- */

DigitTrainingData *
digit_train_form_get_data (DigitTrainForm *self)
{
  g_return_val_if_fail (DIGIT_IS_TRAIN_FORM (self), NULL);

  return self->data;
}

gboolean
digit_train_form_is_loading (DigitTrainForm *self)
{
  g_return_val_if_fail (DIGIT_IS_TRAIN_FORM (self), FALSE);

  return self->loading;
}

gboolean
digit_train_form_is_valid (DigitTrainForm *self)
{
  g_return_val_if_fail (DIGIT_IS_TRAIN_FORM (self), FALSE);

  return self->spec_valid && self->config_valid;
}

const char *
digit_train_form_get_problem (DigitTrainForm *self)
{
  g_return_val_if_fail (DIGIT_IS_TRAIN_FORM (self), NULL);

  return self->problem;
}

gboolean
digit_train_form_get_run_settings (DigitTrainForm  *self,
                                   char           **spec,
                                   NnTrainConfig   *config,
                                   guint           *train_limit,
                                   GError         **error)
{
  GtkSpinButton **spins = self->fields;

  g_return_val_if_fail (DIGIT_IS_TRAIN_FORM (self), FALSE);

  /* A number typed but not yet confirmed counts; a wrong one stops here. */
  for (Field field = 0; field < N_FIELDS; field++)
    gtk_spin_button_update (spins[field]);
  if (!check_fields (self, error))
    return FALSE;

  if (!nn_spec_validate (selected_spec (self), NULL, error))
    return FALSE;
  read_config (self, config);
  if (!nn_train_config_validate (config, error))
    return FALSE;
  *spec = g_strdup (selected_spec (self));
  *train_limit = adw_expander_row_get_enable_expansion (self->limit_row)
                   ? (guint) gtk_adjustment_get_value (self->limit_adjustment) : 0;
  return TRUE;
}

/* ---- GObject ------------------------------------------------------------------------ */

static void
digit_train_form_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  DigitTrainForm *self = DIGIT_TRAIN_FORM (object);

  switch (prop_id)
    {
    case PROP_DATA:
      g_value_set_object (value, self->data);
      break;
    case PROP_LOADING:
      g_value_set_boolean (value, self->loading);
      break;
    case PROP_VALID:
      g_value_set_boolean (value, digit_train_form_is_valid (self));
      break;
    case PROP_PROBLEM:
      g_value_set_string (value, self->problem);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
digit_train_form_dispose (GObject *object)
{
  DigitTrainForm *self = DIGIT_TRAIN_FORM (object);

  if (self->load_cancellable != NULL)
    g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (self->chooser);
  g_clear_object (&self->chooser);
  g_clear_object (&self->data);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (digit_train_form_parent_class)->dispose (object);
}

static void
digit_train_form_finalize (GObject *object)
{
  DigitTrainForm *self = DIGIT_TRAIN_FORM (object);

  g_free (self->folder);
  g_free (self->loaded_folder);
  g_free (self->problem);

  G_OBJECT_CLASS (digit_train_form_parent_class)->finalize (object);
}

static void
digit_train_form_class_init (DigitTrainFormClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = digit_train_form_get_property;
  object_class->dispose = digit_train_form_dispose;
  object_class->finalize = digit_train_form_finalize;
  widget_class->map = digit_train_form_map;

  properties[PROP_DATA] =
    g_param_spec_object ("data", NULL, NULL, DIGIT_TYPE_TRAINING_DATA,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LOADING] =
    g_param_spec_boolean ("loading", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_VALID] =
    g_param_spec_boolean ("valid", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PROBLEM] =
    g_param_spec_string ("problem", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/digitlab/DigitLab/digit-train-form.ui");
#define CHILD(name) gtk_widget_class_bind_template_child (widget_class, DigitTrainForm, name)
  CHILD (data_set_row);
  CHILD (data_sets);
  CHILD (folder_row);
  CHILD (folder_button);
  CHILD (data_status_row);
  CHILD (data_status_icon);
  CHILD (data_spinner);
  CHILD (help_button);
  CHILD (limit_row);
  CHILD (limit_spin);
  CHILD (limit_adjustment);
  CHILD (limit_status);
  CHILD (arch_row);
  CHILD (architectures);
  CHILD (spec_row);
  CHILD (spec_status);
  CHILD (epochs_spin);
  CHILD (batch_spin);
  CHILD (learning_rate_spin);
  CHILD (seed_spin);
  CHILD (momentum_spin);
  CHILD (weight_decay_spin);
  CHILD (label_smoothing_spin);
  CHILD (epochs_adjustment);
  CHILD (batch_adjustment);
  CHILD (learning_rate_adjustment);
  CHILD (seed_adjustment);
  CHILD (momentum_adjustment);
  CHILD (weight_decay_adjustment);
  CHILD (label_smoothing_adjustment);
  CHILD (optimizer_row);
  CHILD (schedule_row);
  CHILD (augment_switch);
  CHILD (momentum_row);
  CHILD (config_status);
#undef CHILD

  gtk_widget_class_install_action (widget_class, "train-form.choose-folder", NULL, choose_folder_action);
  gtk_widget_class_install_action (widget_class, "train-form.mnist-help", NULL, mnist_help_action);
}

static void
digit_train_form_init (DigitTrainForm *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  gtk_string_list_append (self->data_sets, "MNIST");
  self->fashion_available = digit_training_data_folder_has_files (DIGIT_FASHION_MNIST_FOLDER);
  if (self->fashion_available)
    gtk_string_list_append (self->data_sets, "Fashion-MNIST");
  gtk_widget_set_visible (GTK_WIDGET (self->data_set_row), self->fashion_available);
  for (guint i = 0; i < CUSTOM_INDEX; i++)
    gtk_string_list_append (self->architectures, digit_preset_label (architectures[i].preset));
  gtk_string_list_append (self->architectures, _("Custom"));
  adw_combo_row_set_selected (self->arch_row, 1);

  g_signal_connect_swapped (self->data_set_row, "notify::selected", G_CALLBACK (on_data_set_selected), self);
  g_signal_connect_swapped (self->arch_row, "notify::selected", G_CALLBACK (check_spec), self);
  g_signal_connect_swapped (self->spec_row, "changed", G_CALLBACK (check_spec), self);
  g_signal_connect_swapped (self->optimizer_row, "notify::selected", G_CALLBACK (check_config), self);
  g_signal_connect_swapped (self->schedule_row, "notify::selected", G_CALLBACK (check_config), self);
  g_signal_connect_swapped (self->augment_switch, "notify::active", G_CALLBACK (check_config), self);
  g_signal_connect_swapped (self->limit_row, "notify::enable-expansion", G_CALLBACK (check_config), self);
  /* Its upper bound is the data set's size, known once it is loaded. */
  g_signal_connect_swapped (self->limit_adjustment, "changed", G_CALLBACK (check_config), self);
  self->fields[FIELD_LIMIT] = self->limit_spin;
  self->fields[FIELD_EPOCHS] = self->epochs_spin;
  self->fields[FIELD_BATCH] = self->batch_spin;
  self->fields[FIELD_LEARNING_RATE] = self->learning_rate_spin;
  self->fields[FIELD_SEED] = self->seed_spin;
  self->fields[FIELD_MOMENTUM] = self->momentum_spin;
  self->fields[FIELD_WEIGHT_DECAY] = self->weight_decay_spin;
  self->fields[FIELD_LABEL_SMOOTHING] = self->label_smoothing_spin;
  for (Field field = 0; field < N_FIELDS; field++)
    {
      /* Checked as typed, not only once the field is left. */
      g_signal_connect_swapped (self->fields[field], "changed", G_CALLBACK (check_config), self);
      g_signal_connect (self->fields[field], "input", G_CALLBACK (on_field_input), self);
      g_signal_connect (self->fields[field], "output", G_CALLBACK (on_field_output), self);
    }
  {
    GtkAdjustment *config_adjustments[] = {
      self->epochs_adjustment, self->batch_adjustment, self->learning_rate_adjustment,
      self->seed_adjustment, self->momentum_adjustment, self->weight_decay_adjustment,
      self->label_smoothing_adjustment,
    };

    for (guint i = 0; i < G_N_ELEMENTS (config_adjustments); i++)
      g_signal_connect_swapped (config_adjustments[i], "value-changed", G_CALLBACK (check_config), self);
  }

  check_spec (self);
  check_config (self);
}

GtkWidget *
digit_train_form_new (void)
{
  return g_object_new (DIGIT_TYPE_TRAIN_FORM, NULL);
}

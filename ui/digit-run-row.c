/* digit-run-row.c — one run of the session, as a compact row.
 *
 * The check button says whether the run's curves are overlaid in the
 * plots; the swatch is their colour. Renaming happens in a popover on the
 * row; the other menu items are the page's to carry out.
 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "digit-run-row.h"

struct _DigitRunRow
{
  GtkWidget       parent_instance;

  GtkWidget      *box;
  GtkCheckButton *shown_check;
  GtkDrawingArea *swatch;
  GtkLabel       *name_label;
  GtkLabel       *detail_label;
  GtkMenuButton  *menu_button;
  GtkPopover     *rename_popover;
  GtkEntry       *rename_entry;
  GtkButton      *rename_button;

  DigitRun       *run;
  GBinding       *shown_binding;
};

G_DEFINE_FINAL_TYPE (DigitRunRow, digit_run_row, GTK_TYPE_WIDGET)

enum {
  ACTIVATED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

char *
digit_run_describe_briefly (DigitRun *run)
{
  const char *preset = digit_run_get_preset (run);
  const char *architecture = preset != NULL ? digit_preset_label (preset) : _("Custom");
  double accuracy = digit_run_get_test_accuracy (run);
  double progress = digit_run_get_progress (run);
  guint epochs = digit_run_get_config (run)->epochs;

  switch (digit_run_get_state (run))
    {
    case DIGIT_RUN_NEW:
    case DIGIT_RUN_PREPARING:
      /* Translators: a run's state under its name; %s is its architecture. */
      return g_strdup_printf (_("%s · Starting…"), architecture);
    case DIGIT_RUN_TRAINING:
    case DIGIT_RUN_PAUSING:
    case DIGIT_RUN_STOPPING:
      /* Translators: %s is an architecture, %.0f%% how far training is. */
      return g_strdup_printf (_("%s · Training · %.0f%%"), architecture, 100.0 * progress / MAX (epochs, 1u));
    case DIGIT_RUN_PAUSED:
      return g_strdup_printf (_("%s · Paused · %.0f%%"), architecture, 100.0 * progress / MAX (epochs, 1u));
    case DIGIT_RUN_FAILED:
      return g_strdup_printf (_("%s · Failed"), architecture);
    case DIGIT_RUN_FINISHED:
    case DIGIT_RUN_STOPPED:
    default:
      if (accuracy >= 0)
        /* Translators: an architecture, then the test accuracy, e.g.
         * "LeNet-5 · 98.91%". */
        return g_strdup_printf (_("%s · %.2f%%"), architecture, 100.0 * accuracy);
      return g_strdup (architecture);
    }
}

void
digit_run_row_update (DigitRunRow *self)
{
  g_autofree char *detail = NULL;
  g_autofree char *tooltip = NULL;
  const NnTrainConfig *config;
  DigitTrainingData *data;

  g_return_if_fail (DIGIT_IS_RUN_ROW (self));

  detail = digit_run_describe_briefly (self->run);
  gtk_label_set_text (self->name_label, digit_run_get_name (self->run));
  gtk_label_set_text (self->detail_label, detail);
  gtk_widget_queue_draw (GTK_WIDGET (self->swatch));

  config = digit_run_get_config (self->run);
  data = digit_run_get_data (self->run);
  /* Translators: a run's tooltip: its layers, then its data and settings. */
  tooltip = g_strdup_printf (_("%s\n%s, %'u training images · %u epochs · batch %u · %s, learning rate %g%s"),
                             digit_run_get_spec (self->run),
                             digit_training_data_get_name (data),
                             digit_run_get_n_train_images (self->run),
                             config->epochs, config->batch_size,
                             config->optimizer == NN_OPTIMIZER_SGD ? "SGD" : "Adam",
                             config->learning_rate,
                             config->augment ? _(" · augmented") : "");
  gtk_widget_set_tooltip_text (self->box, tooltip);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, digit_run_get_name (self->run),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, detail,
                                  -1);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "run.remove", !digit_run_is_active (self->run));
}

static void
draw_swatch (GtkDrawingArea *area,
             cairo_t        *cr,
             int             width,
             int             height,
             gpointer        user_data)
{
  DigitRunRow *self = user_data;
  GdkRGBA color;

  digit_run_get_color (self->run, &color);
  gdk_cairo_set_source_rgba (cr, &color);
  cairo_arc (cr, width / 2.0, height / 2.0, MIN (width, height) / 2.0, 0, 2 * G_PI);
  cairo_fill (cr);
}

static void
on_run_changed (DigitRunRow *self)
{
  digit_run_row_update (self);
}

static void
emit_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  /* "run.use-model" -> "use-model" */
  g_signal_emit (widget, signals[ACTIVATED], 0, strchr (action_name, '.') + 1);
}

static void
apply_rename (DigitRunRow *self)
{
  digit_run_set_name (self->run, gtk_editable_get_text (GTK_EDITABLE (self->rename_entry)));
  gtk_popover_popdown (self->rename_popover);
}

static void
rename_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  DigitRunRow *self = DIGIT_RUN_ROW (widget);

  gtk_editable_set_text (GTK_EDITABLE (self->rename_entry), digit_run_get_name (self->run));
  gtk_popover_popup (self->rename_popover);
  gtk_widget_grab_focus (GTK_WIDGET (self->rename_entry));
}

static void
digit_run_row_measure (GtkWidget      *widget,
                       GtkOrientation  orientation,
                       int             for_size,
                       int            *minimum,
                       int            *natural,
                       int            *minimum_baseline,
                       int            *natural_baseline)
{
  DigitRunRow *self = DIGIT_RUN_ROW (widget);

  gtk_widget_measure (self->box, orientation, for_size, minimum, natural,
                      minimum_baseline, natural_baseline);
}

/* By hand rather than with a layout manager: the rename popover is a
 * child too, and is presented rather than allocated. */
static void
digit_run_row_size_allocate (GtkWidget *widget,
                             int        width,
                             int        height,
                             int        baseline)
{
  DigitRunRow *self = DIGIT_RUN_ROW (widget);

  gtk_widget_size_allocate (self->box, &(GtkAllocation) { 0, 0, width, height }, baseline);
  gtk_popover_present (self->rename_popover);
}

static void
digit_run_row_dispose (GObject *object)
{
  DigitRunRow *self = DIGIT_RUN_ROW (object);

  if (self->run != NULL)
    g_signal_handlers_disconnect_by_data (self->run, self);
  g_clear_pointer (&self->shown_binding, g_binding_unbind);
  g_clear_object (&self->run);
  gtk_widget_dispose_template (GTK_WIDGET (self), DIGIT_TYPE_RUN_ROW);

  G_OBJECT_CLASS (digit_run_row_parent_class)->dispose (object);
}

static void
digit_run_row_class_init (DigitRunRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = digit_run_row_dispose;
  widget_class->measure = digit_run_row_measure;
  widget_class->size_allocate = digit_run_row_size_allocate;

  /**
   * DigitRunRow::activated:
   * @item: "use-model", "save-model", "evaluate" or "remove"
   */
  signals[ACTIVATED] = g_signal_new ("activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                     0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/digitlab/DigitLab/digit-run-row.ui");
  gtk_widget_class_bind_template_child (widget_class, DigitRunRow, box);
  gtk_widget_class_bind_template_child (widget_class, DigitRunRow, shown_check);
  gtk_widget_class_bind_template_child (widget_class, DigitRunRow, swatch);
  gtk_widget_class_bind_template_child (widget_class, DigitRunRow, name_label);
  gtk_widget_class_bind_template_child (widget_class, DigitRunRow, detail_label);
  gtk_widget_class_bind_template_child (widget_class, DigitRunRow, menu_button);
  gtk_widget_class_bind_template_child (widget_class, DigitRunRow, rename_popover);
  gtk_widget_class_bind_template_child (widget_class, DigitRunRow, rename_entry);
  gtk_widget_class_bind_template_child (widget_class, DigitRunRow, rename_button);

  gtk_widget_class_install_action (widget_class, "run.use-model", NULL, emit_action);
  gtk_widget_class_install_action (widget_class, "run.save-model", NULL, emit_action);
  gtk_widget_class_install_action (widget_class, "run.evaluate", NULL, emit_action);
  gtk_widget_class_install_action (widget_class, "run.remove", NULL, emit_action);
  gtk_widget_class_install_action (widget_class, "run.rename", NULL, rename_action);

  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
digit_run_row_init (DigitRunRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  gtk_drawing_area_set_draw_func (self->swatch, draw_swatch, self, NULL);
  g_signal_connect_swapped (self->rename_entry, "activate", G_CALLBACK (apply_rename), self);
  g_signal_connect_swapped (self->rename_button, "clicked", G_CALLBACK (apply_rename), self);
}

GtkWidget *
digit_run_row_new (DigitRun *run)
{
  DigitRunRow *self;

  g_return_val_if_fail (DIGIT_IS_RUN (run), NULL);

  self = g_object_new (DIGIT_TYPE_RUN_ROW, NULL);
  self->run = g_object_ref (run);
  self->shown_binding = g_object_bind_property (run, "shown", self->shown_check, "active",
                                                G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  g_signal_connect_swapped (run, "notify::name", G_CALLBACK (on_run_changed), self);
  g_signal_connect_swapped (run, "notify::state", G_CALLBACK (on_run_changed), self);
  g_signal_connect_swapped (run, "evaluated", G_CALLBACK (on_run_changed), self);
  g_signal_connect_swapped (run, "epoch", G_CALLBACK (on_run_changed), self);
  digit_run_row_update (self);
  return GTK_WIDGET (self);
}

DigitRun *
digit_run_row_get_run (DigitRunRow *self)
{
  g_return_val_if_fail (DIGIT_IS_RUN_ROW (self), NULL);

  return self->run;
}

/* digit-prediction-view.c — shows what the network recognised.
 *
 * Updated up to thirty times a second while the pen moves, so it only sets
 * texts and values: no widgets are created or destroyed per prediction.
 */
#include "config.h"

#include <math.h>
#include <glib/gi18n-lib.h>

#include "digit-event-log.h"
#include "digit-prediction-view.h"

struct _DigitPredictionView
{
  AdwBin     parent_instance;

  GtkStack  *headline_stack;
  GtkLabel  *digit_label;
  GtkLabel  *confidence_label;
  GtkLabel  *verdict_label;
  GtkLabel  *unavailable_label;
  GtkGrid   *bars_grid;

  GtkWidget *bar_digits[NN_CLASSES];
  GtkLevelBar *bars[NN_CLASSES];
  GtkLabel  *bar_percents[NN_CLASSES];
  int        top_digit;   /* highlighted row, -1 for none */
};

G_DEFINE_FINAL_TYPE (DigitPredictionView, digit_prediction_view, ADW_TYPE_BIN)

static char *
format_percent (float probability)
{
  /* Translators: a probability as a whole percentage, e.g. "98%". */
  return g_strdup_printf (_("%.0f%%"), floor (probability * 100.0f + 0.5f));
}

/* Under "not sure" (NN_UNSURE_THRESHOLD) no digit is named at all; above
 * it, a digit read with less than 60% is named but not called sure. */
static const char *
describe_confidence (float confidence)
{
  if (confidence >= 0.9f)
    return _("Confident");
  if (confidence >= 0.6f)
    return _("Fairly sure");
  return _("Unsure");
}

static void
set_top_digit (DigitPredictionView *self,
               int                  top_digit)
{
  if (top_digit == self->top_digit)
    return;
  if (self->top_digit >= 0)
    {
      gtk_widget_remove_css_class (self->bar_digits[self->top_digit], "top");
      gtk_widget_remove_css_class (GTK_WIDGET (self->bars[self->top_digit]), "top");
      gtk_widget_remove_css_class (GTK_WIDGET (self->bar_percents[self->top_digit]), "top");
    }
  self->top_digit = top_digit;
  if (top_digit >= 0)
    {
      gtk_widget_add_css_class (self->bar_digits[top_digit], "top");
      gtk_widget_add_css_class (GTK_WIDGET (self->bars[top_digit]), "top");
      gtk_widget_add_css_class (GTK_WIDGET (self->bar_percents[top_digit]), "top");
    }
}

static void
reset_bars (DigitPredictionView *self)
{
  set_top_digit (self, -1);
  for (guint i = 0; i < NN_CLASSES; i++)
    {
      gtk_level_bar_set_value (self->bars[i], 0.0);
      gtk_label_set_text (self->bar_percents[i], "");
    }
  gtk_widget_set_sensitive (GTK_WIDGET (self->bars_grid), FALSE);
}

static void
add_bar_row (DigitPredictionView *self,
             guint                digit)
{
  g_autofree char *digit_text = g_strdup_printf ("%u", digit);
  /* Translators: the accessible name of the bar showing how likely it is
   * that the drawing is the digit %u. */
  g_autofree char *bar_name = g_strdup_printf (_("Probability of %u"), digit);
  GtkWidget *label, *bar, *percent;

  label = gtk_label_new (digit_text);
  gtk_widget_add_css_class (label, "bar-digit");
  gtk_widget_add_css_class (label, "numeric");
  gtk_accessible_update_property (GTK_ACCESSIBLE (label),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, bar_name, -1);

  bar = gtk_level_bar_new_for_interval (0.0, 1.0);
  /* The default offsets colour a bar by its level (low, high, full); here
   * every bar is the same kind of quantity, so none of them apply. */
  gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_LOW);
  gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_HIGH);
  gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_FULL);
  gtk_widget_set_hexpand (bar, TRUE);
  gtk_widget_set_valign (bar, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (bar, "probability-bar");
  gtk_accessible_update_property (GTK_ACCESSIBLE (bar),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, bar_name, -1);

  percent = gtk_label_new ("");
  gtk_label_set_xalign (GTK_LABEL (percent), 1.0f);
  gtk_label_set_width_chars (GTK_LABEL (percent), 4);
  gtk_widget_add_css_class (percent, "bar-percent");
  gtk_widget_add_css_class (percent, "numeric");
  gtk_accessible_update_relation (GTK_ACCESSIBLE (bar),
                                  GTK_ACCESSIBLE_RELATION_DESCRIBED_BY, percent, NULL,
                                  -1);

  gtk_grid_attach (self->bars_grid, label, 0, (int) digit, 1, 1);
  gtk_grid_attach (self->bars_grid, bar, 1, (int) digit, 1, 1);
  gtk_grid_attach (self->bars_grid, percent, 2, (int) digit, 1, 1);

  self->bar_digits[digit] = label;
  self->bars[digit] = GTK_LEVEL_BAR (bar);
  self->bar_percents[digit] = GTK_LABEL (percent);
}

static void
digit_prediction_view_class_init (DigitPredictionViewClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/digitlab/DigitLab/digit-prediction-view.ui");
  gtk_widget_class_bind_template_child (widget_class, DigitPredictionView, headline_stack);
  gtk_widget_class_bind_template_child (widget_class, DigitPredictionView, digit_label);
  gtk_widget_class_bind_template_child (widget_class, DigitPredictionView, confidence_label);
  gtk_widget_class_bind_template_child (widget_class, DigitPredictionView, verdict_label);
  gtk_widget_class_bind_template_child (widget_class, DigitPredictionView, unavailable_label);
  gtk_widget_class_bind_template_child (widget_class, DigitPredictionView, bars_grid);

  gtk_widget_class_set_css_name (widget_class, "digitpredictionview");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
digit_prediction_view_init (DigitPredictionView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->top_digit = -1;
  for (guint i = 0; i < NN_CLASSES; i++)
    add_bar_row (self, i);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Prediction"),
                                  -1);
  digit_prediction_view_clear (self);
}

GtkWidget *
digit_prediction_view_new (void)
{
  return g_object_new (DIGIT_TYPE_PREDICTION_VIEW, NULL);
}

void
digit_prediction_view_set_probabilities (DigitPredictionView *self,
                                         const float          probabilities[NN_CLASSES])
{
  guint digit;
  float confidence;
  g_autofree char *digit_text = NULL;
  g_autofree char *confidence_text = NULL;
  g_autofree char *verdict_text = NULL;
  g_autofree char *spoken = NULL;

  g_return_if_fail (DIGIT_IS_PREDICTION_VIEW (self));

  digit = digit_argmax (probabilities);
  confidence = probabilities[digit];
  if (nn_prediction_is_unsure (probabilities))
    {
      /* Naming a digit here would assert a guess; the bars still show
       * which digits the network hesitates between. */
      guint runner_up = digit == 0 ? 1 : 0;

      for (guint i = 0; i < NN_CLASSES; i++)
        if (i != digit && probabilities[i] > probabilities[runner_up])
          runner_up = i;
      digit_text = g_strdup ("?");
      confidence_text = g_strdup (_("Not sure"));
      /* Translators: the two digits the network hesitates between, the
       * likelier first, e.g. "Maybe 1 or 7". */
      verdict_text = g_strdup_printf (_("Maybe %u or %u"), digit, runner_up);
      /* Translators: what a screen reader says when the network cannot
       * tell, e.g. "Not sure: maybe 1 or 7". */
      spoken = g_strdup_printf (_("Not sure: maybe %u or %u"), digit, runner_up);
    }
  else
    {
      digit_text = g_strdup_printf ("%u", digit);
      confidence_text = format_percent (confidence);
      verdict_text = g_strdup (describe_confidence (confidence));
      /* Translators: what a screen reader says about the prediction, e.g.
       * "Recognised 7, 98 percent". */
      spoken = g_strdup_printf (_("Recognised %u, %.0f percent"),
                                digit, floor (confidence * 100.0f + 0.5f));
    }

  gtk_label_set_text (self->digit_label, digit_text);
  gtk_label_set_text (self->confidence_label, confidence_text);
  gtk_label_set_text (self->verdict_label, verdict_text);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->digit_label),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, spoken,
                                  -1);
  gtk_stack_set_visible_child_name (self->headline_stack, "result");

  gtk_widget_set_sensitive (GTK_WIDGET (self->bars_grid), TRUE);
  for (guint i = 0; i < NN_CLASSES; i++)
    {
      g_autofree char *percent = format_percent (probabilities[i]);

      gtk_level_bar_set_value (self->bars[i], CLAMP (probabilities[i], 0.0f, 1.0f));
      gtk_label_set_text (self->bar_percents[i], percent);
    }
  set_top_digit (self, (int) digit);
}

void
digit_prediction_view_clear (DigitPredictionView *self)
{
  g_return_if_fail (DIGIT_IS_PREDICTION_VIEW (self));

  gtk_stack_set_visible_child_name (self->headline_stack, "empty");
  reset_bars (self);
}

void
digit_prediction_view_set_unavailable (DigitPredictionView *self,
                                       const char          *message)
{
  g_return_if_fail (DIGIT_IS_PREDICTION_VIEW (self));

  gtk_label_set_text (self->unavailable_label, message != NULL ? message : "");
  gtk_stack_set_visible_child_name (self->headline_stack, "unavailable");
  reset_bars (self);
}

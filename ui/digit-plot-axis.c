/* digit-plot-axis.c — nice ticks for linear and logarithmic axes.
 *
 * Labels are steps of 1, 2 or 5 times a power of ten (Heckbert's "nice
 * numbers"), the sequence people read fastest; 2.5 or 3 are left out
 * because their multiples do not stay round. */
#include "config.h"

#include <math.h>

#include "digit-plot-axis.h"

/* Rounding slack, relative to the step: ticks computed as k * step land a
 * hair off the bounds they should equal. */
#define EPSILON 1e-9

double
digit_plot_nice_step (double range,
                      int    max_intervals)
{
  static const double mantissas[] = { 1.0, 2.0, 5.0, 10.0 };
  double raw, power;

  g_return_val_if_fail (range > 0 && isfinite (range), 1.0);

  raw = range / MAX (max_intervals, 1);
  power = pow (10.0, floor (log10 (raw)));
  for (guint i = 0; i < G_N_ELEMENTS (mantissas); i++)
    if (mantissas[i] * power >= raw * (1.0 - EPSILON))
      return mantissas[i] * power;
  return 10.0 * power;
}

static void
widen_empty_range (double *min,
                   double *max)
{
  if (*max > *min)
    return;
  if (*min == 0.0)
    {
      *min = -1.0;
      *max = 1.0;
    }
  else
    {
      double half = fabs (*min) * 0.1;

      *max = *min + half;
      *min -= half;
    }
}

static void
append_tick (GArray  *ticks,
             double   value,
             gboolean labelled,
             double   step)
{
  DigitPlotTick tick = { value, labelled, step };

  g_array_append_val (ticks, tick);
}

GArray *
digit_plot_linear_ticks (double  *min,
                         double  *max,
                         int      max_labels,
                         double   min_step,
                         gboolean expand)
{
  GArray *ticks = g_array_new (FALSE, FALSE, sizeof (DigitPlotTick));
  double step, first, last;

  g_return_val_if_fail (min != NULL && max != NULL, ticks);
  if (!isfinite (*min) || !isfinite (*max))
    {
      *min = 0.0;
      *max = 1.0;
    }
  widen_empty_range (min, max);

  /* Labels at both ends of the range count, hence one interval fewer. */
  step = digit_plot_nice_step (*max - *min, MAX (max_labels - 1, 1));
  if (min_step > 0 && step < min_step)
    step = min_step;
  if (expand)
    {
      *min = floor (*min / step + EPSILON) * step;
      *max = ceil (*max / step - EPSILON) * step;
    }
  first = ceil (*min / step - EPSILON);
  last = floor (*max / step + EPSILON);
  for (double k = first; k <= last; k++)
    {
      double value = k * step;

      /* Exactly zero, not 1e-17, so it is labelled "0". */
      if (fabs (value) < step * EPSILON)
        value = 0.0;
      append_tick (ticks, value, TRUE, step);
    }
  return ticks;
}

/* The nearest of 1, 2, 5 × 10^k at or below (@down) or above @value. */
static double
round_125 (double   value,
           gboolean down)
{
  static const double mantissas[] = { 1.0, 2.0, 5.0, 10.0 };
  double power = pow (10.0, floor (log10 (value) + EPSILON));

  if (down)
    {
      for (int i = G_N_ELEMENTS (mantissas) - 1; i >= 0; i--)
        if (mantissas[i] * power <= value * (1.0 + EPSILON))
          return mantissas[i] * power;
      return power / 2.0;
    }
  for (guint i = 0; i < G_N_ELEMENTS (mantissas); i++)
    if (mantissas[i] * power >= value * (1.0 - EPSILON))
      return mantissas[i] * power;
  return 10.0 * power;
}

GArray *
digit_plot_log_ticks (double  *min,
                      double  *max,
                      int      max_labels,
                      gboolean expand)
{
  GArray *ticks = g_array_new (FALSE, FALSE, sizeof (DigitPlotTick));
  int first_decade, last_decade, n_decades, n_powers, decade_stride;
  gboolean label_125, label_5;

  g_return_val_if_fail (min != NULL && max != NULL, ticks);
  if (!(*min > 0) || !isfinite (*min))
    *min = 1e-3;
  if (!(*max > 0) || !isfinite (*max))
    *max = 1.0;
  if (*max <= *min)
    {
      *max = *min * 2.0;
      *min /= 2.0;
    }
  if (expand)
    {
      *min = round_125 (*min, TRUE);
      *max = round_125 (*max, FALSE);
    }

  first_decade = (int) floor (log10 (*min) + EPSILON);
  last_decade = (int) floor (log10 (*max) + EPSILON);
  n_decades = last_decade - first_decade + 1;
  max_labels = MAX (max_labels, 2);
  /* The powers of ten inside the range are labelled, all of them or every
   * few counting down from the largest; 2 and 5 as well when there is
   * room, and 5 when the range holds fewer than two powers of ten. */
  n_powers = 0;
  for (int decade = first_decade; decade <= last_decade; decade++)
    if (pow (10.0, decade) >= *min * (1.0 - EPSILON))
      n_powers++;
  label_125 = n_decades * 3 <= max_labels;
  label_5 = label_125 || n_powers < 2;
  decade_stride = MAX (1, (n_powers + max_labels - 1) / max_labels);

  for (int decade = first_decade; decade <= last_decade; decade++)
    {
      double power = pow (10.0, decade);

      for (int m = 1; m <= 9; m++)
        {
          double value = m * power;
          gboolean labelled;

          if (value < *min * (1.0 - EPSILON) || value > *max * (1.0 + EPSILON))
            continue;
          if (m == 1)
            labelled = (last_decade - decade) % decade_stride == 0;
          else
            labelled = (m == 2 && label_125) || (m == 5 && label_5);
          append_tick (ticks, value, labelled, power);
        }
    }
  return ticks;
}

char *
digit_plot_format_tick (double value,
                        double step)
{
  int decimals = 0;

  if (step > 0 && isfinite (step))
    decimals = MAX (0, (int) -floor (log10 (step) + EPSILON));
  if (fabs (value) < step * EPSILON)
    value = 0.0;
  /* The ' flag groups thousands the way the locale does. */
  return g_strdup_printf ("%'.*f", decimals, value);
}

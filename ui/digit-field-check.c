/* digit-field-check.c — number fields' text against their ranges.
 *
 * Parsing goes through g_strtod(), as GtkSpinButton's own does, so a text
 * accepted here is read to the same value when the field is left. */
#include "config.h"

#include <locale.h>
#include <math.h>
#include <string.h>

#include "digit-field-check.h"

gboolean
digit_field_parse (const char *text,
                   double      lower,
                   double      upper,
                   guint       digits,
                   double     *value)
{
  g_autofree char *trimmed = g_strstrip (g_strdup (text != NULL ? text : ""));
  char *end = NULL;
  double number;

  if (*trimmed == '\0')
    return FALSE;
  number = g_strtod (trimmed, &end);
  if (end == trimmed || *end != '\0' || !isfinite (number))
    return FALSE;
  if (digits == 0 && number != floor (number))
    return FALSE;
  if (number < lower || number > upper)
    return FALSE;
  if (value != NULL)
    *value = number;
  return TRUE;
}

char *
digit_field_format (double value,
                    guint  digits)
{
  char *text = g_strdup_printf ("%.*f", (int) digits, value);
  const char *point = localeconv ()->decimal_point;
  gsize length = strlen (text);

  /* "10.00000" is 10, and "0.00100" is 0.001. */
  if (digits > 0 && point != NULL && strstr (text, point) != NULL)
    {
      while (length > 0 && text[length - 1] == '0')
        text[--length] = '\0';
      if (length >= strlen (point) && strcmp (text + length - strlen (point), point) == 0)
        text[length - strlen (point)] = '\0';
    }
  return text;
}

char *
digit_field_check (const char *text,
                   double      lower,
                   double      upper,
                   guint       digits,
                   const char *message)
{
  g_autofree char *low = NULL;
  g_autofree char *high = NULL;

  if (digit_field_parse (text, lower, upper, digits, NULL))
    return NULL;
  low = digit_field_format (lower, digits);
  high = digit_field_format (upper, digits);
  return g_strdup_printf (message, low, high);
}

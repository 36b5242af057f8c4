/* digit-field-check.h — whether a number typed into a form field is one
 * the field can take, and what to say when it is not.
 *
 * GtkSpinButton quietly moves a number outside its adjustment to the
 * nearest bound; the Train page's form checks the text itself instead, as
 * it is typed, so that a wrong number is kept and explained. No widgets
 * here: the tests call these directly.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Reads @text as a spin button reads it (the locale's decimal point or a
 * dot, spaces around it ignored). TRUE with *@value when it is a number
 * from @lower to @upper, a whole one when @digits (the decimals the field
 * shows) is 0; FALSE when it is empty, not a number or out of range. */
gboolean digit_field_parse  (const char *text,
                             double      lower,
                             double      upper,
                             guint       digits,
                             double     *value);
/* @value with at most @digits decimals and no trailing zeros, in the
 * locale's notation: "0.00001", "10", "4294967295". */
char    *digit_field_format (double      value,
                             guint       digits);
/* NULL when @text is right for the field, else @message filled in: a
 * format whose two %s are the bounds, as digit_field_format() writes them. */
char    *digit_field_check  (const char *text,
                             double      lower,
                             double      upper,
                             guint       digits,
                             const char *message);

G_END_DECLS

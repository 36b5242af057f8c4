/* digit-application.h — Digit Lab as a GApplication: options, app actions. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define DIGIT_TYPE_APPLICATION (digit_application_get_type ())
G_DECLARE_FINAL_TYPE (DigitApplication, digit_application, DIGIT, APPLICATION, AdwApplication)

DigitApplication *digit_application_new          (void);
/* The app's settings, or NULL when the schema cannot be found. */
GSettings        *digit_application_get_settings (DigitApplication *self);

G_END_DECLS

/* digitlab.c — the desktop app's entry point: draw a digit, watch it
 * recognised live. Everything else is in ui/ (the widgets) and engine/. */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <locale.h>

#include "digit-application.h"
#include "locale-dir.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(DigitApplication) application = NULL;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, digitlab_locale_dir ());
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  application = digit_application_new ();
  return g_application_run (G_APPLICATION (application), argc, argv);
}

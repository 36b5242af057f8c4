/* digitlab.c — the desktop app's entry point: draw a digit, watch it
 * recognised live. Everything else is in ui/ (the widgets) and engine/. */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <locale.h>

#include "digit-application.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(DigitApplication) application = NULL;
  const char *localedir;

  setlocale (LC_ALL, "");
  /* Run uninstalled, `meson devenv` points this at the catalogues in the
   * build tree. */
  localedir = g_getenv ("DIGITLAB_LOCALEDIR");
  bindtextdomain (GETTEXT_PACKAGE, localedir != NULL ? localedir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  application = digit_application_new ();
  return g_application_run (G_APPLICATION (application), argc, argv);
}

/* digit-settings.h — the app's GSettings, found installed or in the build tree. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The io.github.digitlab.DigitLab settings. The schema is looked up where
 * GSettings looks (GSETTINGS_SCHEMA_DIR, then the installed schemas) and
 * then beside the program in the build tree (<build>/resources), so an
 * uninstalled `digitlab` runs as is. NULL when there is no schema anywhere:
 * the app then works but remembers nothing. */
GSettings *digit_settings_new (void);

G_END_DECLS

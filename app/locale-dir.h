/* locale-dir.h — where the programs find their translations. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

const char *digitlab_locale_dir (void);

G_END_DECLS

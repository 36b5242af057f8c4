/* nn-default-model.c — the model compiled into the program.
 *
 * resources/default.safetensors is built into the engine as a GResource, so
 * the app and every CLI command have a working model with no file on disk. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "nn.h"

#include "nn-model-resources.h"

#define DEFAULT_MODEL_PATH "/io/github/digitlab/DigitLab/model/default.safetensors"

NnModel *
nn_model_load_default (GError **error)
{
  /* Looked up in our own GResource object rather than the global registry:
   * that also keeps the linker from dropping it out of the static library. */
  g_autoptr(GBytes) bytes = g_resource_lookup_data (nn_default_model_get_resource (),
                                                    DEFAULT_MODEL_PATH,
                                                    G_RESOURCE_LOOKUP_FLAGS_NONE,
                                                    error);
  if (bytes == NULL)
    return NULL;
  return nn_model_load_from_bytes (bytes, error);
}

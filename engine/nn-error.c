/* nn-error.c — the engine's GError domain.
 *
 * One domain for the whole engine; the NnError codes in nn.h tell callers
 * and tests which kind of failure happened, the message says where. */
#include "nn.h"

G_DEFINE_QUARK (nn-error-quark, nn_error)

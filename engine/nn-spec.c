/* nn-spec.c — (being written) */
#include "nn.h"

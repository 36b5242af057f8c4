/* nn-error.c — (being written) */
#include "nn.h"

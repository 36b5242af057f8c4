/* nn-activation.c — (being written) */
#include "nn.h"

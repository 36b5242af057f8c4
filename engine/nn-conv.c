/* nn-conv.c — (being written) */
#include "nn.h"
